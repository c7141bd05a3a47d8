/*
 * tls: the gateway's OpenSSL contexts, on both sides.
 *
 * The listener side terminates TLS for clients: one SSL_CTX per TLS listener,
 * serving an RSA and an ECDSA certificate side by side, optionally asking for
 * a client certificate (mTLS) whose verified subject becomes the caller's
 * identity. The upstream side verifies the model's certificate: always
 * SSL_VERIFY_PEER, always a host name or IP address checked, SNI for names.
 * Every protocol setting (versions, ciphers, groups, ALPN, renegotiation) is
 * chosen here once, with the reason beside it in tls.c; nothing else in vigie
 * configures OpenSSL.
 *
 * tls never performs I/O and never includes an event2/ header: the
 * connection code hands the SSL objects made here to libevent. It never
 * trusts an unverified certificate: tls_peer_subject() answers only for a
 * chain that verified. It never logs; errors come back as messages naming the
 * file and OpenSSL's reason.
 */
#ifndef VIGIE_NET_TLS_H
#define VIGIE_NET_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

/* Certificates one listener serves: an RSA and an ECDSA one typically, at
 * most one per key type (OpenSSL keeps one per type; a second would silently
 * replace the first, so tls_server_ctx_new refuses it). */
#define TLS_CERTS_MAX 4u

/* Whether a listener asks clients for a certificate. */
enum tls_client_cert {
    TLS_CLIENT_CERT_NONE = 0, /* never asked: identity from headers only */
    TLS_CLIENT_CERT_OPTIONAL, /* asked; a client without one, or with one that
                                 does not verify, still connects, without a
                                 certificate identity */
    TLS_CLIENT_CERT_REQUIRED  /* a client without a verified one is refused
                                 during the handshake */
};

struct tls_cert_pair {
    const char *cert; /* PEM: the certificate, then its chain */
    const char *key;  /* PEM private key, unencrypted */
};

/* What a TLS listener needs. Paths are borrowed for the call only. */
struct tls_server_opts {
    struct tls_cert_pair certs[TLS_CERTS_MAX];
    size_t ncerts;         /* 1..TLS_CERTS_MAX */
    const char *client_ca; /* PEM CA(s) of client certificates;
                              required unless client_cert is NONE */
    enum tls_client_cert client_cert;
};

/* "none", "optional" or "required" (the configuration's words) to *out.
 * Returns 0, or -1 for any other word (*out untouched). */
int tls_client_cert_parse(const char *word, enum tls_client_cert *out);

/* A server context for one listener: TLS 1.2 and 1.3, Mozilla "intermediate"
 * ciphers, ALPN http/1.1 only, every certificate pair of o loaded and checked
 * against its key, client certificates asked for as o->client_cert says.
 * Returns the context (SSL_CTX_free it), or NULL with a message in err that
 * names the file at fault and OpenSSL's reason. Safe to share between worker
 * threads once made. */
SSL_CTX *tls_server_ctx_new(const struct tls_server_opts *o, char *err, size_t errsz);

/* A client context for upstream connections: TLS 1.2 and 1.3, the same
 * ciphers, SSL_VERIFY_PEER always. Trusts the CAs of ca_file (PEM), or the
 * system's default paths when ca_file is NULL. Returns the context, or NULL
 * with a message in err naming ca_file and OpenSSL's reason. */
SSL_CTX *tls_client_ctx_new(const char *ca_file, char *err, size_t errsz);

/* One upstream connection's SSL, in connect state, that will only complete a
 * handshake with a certificate valid for host: a DNS name (also sent as SNI)
 * or an IP literal ("127.0.0.1", "::1" or "[::1]": checked against the
 * certificate's IP addresses, no SNI, as RFC 6066 says). Offers ALPN
 * http/1.1. Returns the SSL (SSL_free it), or NULL with a message in err. */
SSL *tls_client_ssl_new(SSL_CTX *ctx, const char *host, char *err, size_t errsz);

/* The RFC 2253 subject of the client certificate of a server-side ssl whose
 * handshake is done, e.g. "CN=Service juridique,OU=Bureau JC,O=DGDDI,C=FR"
 * (OpenSSL's XN_FLAG_RFC2253: non-ASCII bytes come out as \XX escapes).
 * Returns 1 and the NUL-terminated subject in out; 0 when the client sent no
 * certificate or its certificate did not verify (optional mode lets such a
 * client in: it must get no certificate identity); -1 when the subject does
 * not fit in outsz bytes, NUL included, or memory ran out (out is then "").
 * A caller treats -1 as no identity, never as a truncated one. */
int tls_peer_subject(SSL *ssl, char *out, size_t outsz);

/* Why the peer's certificate failed verification, for logs ("certificate has
 * expired", "hostname mismatch", "ok"). A static string; never NULL. */
const char *tls_verify_reason(const SSL *ssl);

/* Empties this thread's OpenSSL error queue into out as a short message: the
 * distinct reasons, oldest first, separated by "; " ("No such file or
 * directory; system lib"), truncated to outsz. Call it after every failed
 * OpenSSL call whose queue is not otherwise drained: a stale error would be
 * blamed on the next connection handled by this thread. Returns out ("unknown
 * TLS error" when the queue was empty). */
const char *tls_error_drain(char *out, size_t outsz);

#endif
