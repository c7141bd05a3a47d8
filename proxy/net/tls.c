/*
 * tls: the gateway's OpenSSL contexts (see tls.h).
 *
 * Why each setting:
 * - Versions: TLS 1.2 minimum (1.0 and 1.1 are deprecated by RFC 8996 and
 *   refused by every supported client), 1.3 maximum.
 * - Ciphers: Mozilla's "intermediate" profile: only AEAD suites with forward
 *   secrecy for TLS 1.2, OpenSSL's three default suites for TLS 1.3 (written
 *   out so that a system-wide openssl.cnf cannot change them under us). The
 *   client's preference order wins, as in the profile: every suite offered is
 *   strong, and clients without AES hardware rightly prefer ChaCha20.
 * - Groups: X25519, P-256, P-384 — the profile's list; FFDHE for the DHE-RSA
 *   suites comes from OpenSSL's built-in groups (dh_auto).
 * - No compression (CRIME), no renegotiation (a client-triggered
 *   renegotiation costs the server CPU and has a history of attacks; nothing
 *   in HTTP/1.1 to a gateway needs it).
 * - Session tickets on (stateless resumption, the key rotates with each
 *   context, so with each reload); the server-side session cache off: with
 *   tickets it only duplicates them, and it would keep up to 20,480 sessions
 *   (client certificates included) in memory behind one lock shared by every
 *   worker.
 * - ALPN: http/1.1 only. A client offering only h2 gets no ALPN answer and may
 *   fall back; it must never be told we speak h2.
 * - SSL_MODE_RELEASE_BUFFERS: an idle connection frees its read and write
 *   record buffers (about 34 KB together); with 10,000 idle keep-alive
 *   connections that is about 340 MB given back.
 * - SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER: libevent retries a write from an
 *   evbuffer whose memory may have moved since the first attempt.
 * - Server side only, SSL_OP_IGNORE_UNEXPECTED_EOF: clients routinely close
 *   without close_notify; HTTP framing (Content-Length, chunked) already tells
 *   a truncated request from a complete one. Not on the upstream side, where
 *   an answer delimited by the connection's end could otherwise be truncated
 *   by an attacker on the path without anyone noticing.
 * - Upstream side: SSL_VERIFY_PEER always, host names checked by OpenSSL
 *   during the handshake (never after), no partial wildcards, never the
 *   subject's CN (browsers stopped in 2017; a certificate without SAN is
 *   refused).
 */
#include "net/tls.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "core/core.h"

/* Mozilla "intermediate", TLS 1.2 part. */
static const char TLS12_CIPHERS[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
static const char TLS13_SUITES[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
static const char GROUPS[] = "X25519:prime256v1:secp384r1";

/* ALPN wire format: one length byte, then the name. */
static const unsigned char ALPN_HTTP11[] = "\x08http/1.1";
#define ALPN_HTTP11_LEN (sizeof(ALPN_HTTP11) - 1)

/* Resumption of a session whose client certificate was verified needs a
 * session id context; ticket keys are per context, so one constant is
 * enough to keep listeners apart. */
static const unsigned char SESSION_ID_CONTEXT[] = "vigie";

/* Longest chain of client certificate CAs accepted (leaf excluded): deep
 * enough for government PKIs (root, two intermediates), short enough to bound
 * the work a hostile chain costs. */
#define CLIENT_VERIFY_DEPTH 4

/* Longest DNS name (RFC 1035); also bounds what goes into SNI. */
#define HOST_MAX 253u

int tls_client_cert_parse(const char *word, enum tls_client_cert *out)
{
    if (word == NULL)
        return -1;
    if (strcmp(word, "none") == 0)
        *out = TLS_CLIENT_CERT_NONE;
    else if (strcmp(word, "optional") == 0)
        *out = TLS_CLIENT_CERT_OPTIONAL;
    else if (strcmp(word, "required") == 0)
        *out = TLS_CLIENT_CERT_REQUIRED;
    else
        return -1;
    return 0;
}

/* OpenSSL's reason for error e, in buf if it has to be formatted. System
 * errors (errno from fopen...) have no static reason string: their text is
 * the last field of ERR_error_string_n's "error:CODE:LIB:FUNC:REASON". */
static const char *error_reason(unsigned long e, char *buf, size_t bufsz)
{
    const char *reason = ERR_reason_error_string(e), *p = buf;
    int colons = 0;

    if (reason != NULL)
        return reason;
    ERR_error_string_n(e, buf, bufsz);
    while (*p != '\0' && colons < 4)
        if (*p++ == ':')
            colons++;
    return colons == 4 && *p != '\0' ? p : buf;
}

const char *tls_error_drain(char *out, size_t outsz)
{
    unsigned long e;
    size_t len = 0;

    if (out == NULL || outsz == 0) {
        ERR_clear_error();
        return "";
    }
    out[0] = '\0';
    /* Bounded: OpenSSL's queue holds at most ERR_NUM_ERRORS entries. */
    while ((e = ERR_get_error()) != 0) {
        char buf[256];
        const char *reason = error_reason(e, buf, sizeof(buf));
        int n;

        /* The same reason often comes from several layers (BIO, PEM, SSL). */
        if (len >= outsz - 1 || strstr(out, reason) != NULL)
            continue;
        n = snprintf(out + len, outsz - len, "%s%s", len ? "; " : "", reason);
        len = n < 0 || (size_t)n >= outsz - len ? outsz - 1 : len + (size_t)n;
    }
    if (out[0] == '\0')
        snprintf(out, outsz, "unknown TLS error");
    return out;
}

/* Writes "<what>: <OpenSSL's reasons>" to err and empties the queue. */
static void fail_with_queue(char *err, size_t errsz, const char *what)
{
    char why[256];

    vigie_errf(err, errsz, "%s: %s", what, tls_error_drain(why, sizeof(why)));
}

/* Versions, ciphers, groups and modes common to both sides. 0 or -1. */
static int protocol_setup(SSL_CTX *ctx, char *err, size_t errsz)
{
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1 ||
        SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES) != 1 ||
        SSL_CTX_set1_groups_list(ctx, GROUPS) != 1) {
        fail_with_queue(err, errsz, "TLS protocol settings");
        return -1;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return 0;
}

/* ALPN: picks "http/1.1" if the client offers it, else answers nothing
 * (SSL_TLSEXT_ERR_NOACK: the handshake goes on without ALPN). OpenSSL has
 * already checked that in[0..inlen) is a well-formed list. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    unsigned int i = 0;

    (void)ssl;
    (void)arg;
    while (i < inlen) {
        unsigned int n = in[i];

        if (n > inlen - i - 1)
            break;
        if (n == ALPN_HTTP11_LEN - 1 && memcmp(in + i, ALPN_HTTP11, ALPN_HTTP11_LEN) == 0) {
            *out = in + i + 1;
            *outlen = (unsigned char)n;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + n;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

/* Server-only settings: see the module comment. 0 or -1. */
static int server_setup(SSL_CTX *ctx, char *err, size_t errsz)
{
    SSL_CTX_clear_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    if (SSL_CTX_set_dh_auto(ctx, 1) != 1 ||
        SSL_CTX_set_session_id_context(ctx, SESSION_ID_CONTEXT, sizeof(SESSION_ID_CONTEXT) - 1) !=
            1) {
        fail_with_queue(err, errsz, "TLS server settings");
        return -1;
    }
    return 0;
}

/* Loads one certificate chain and its key into ctx, after checking that no
 * earlier pair (types[0..i)) had a key of the same type: OpenSSL keeps one
 * certificate per key type and would replace the earlier one silently.
 * Records this pair's key type in types[i]. 0 or -1, err naming the file. */
static int load_pair(SSL_CTX *ctx, const struct tls_cert_pair *p, int *types, size_t i, char *err,
                     size_t errsz)
{
    char what[512];
    X509 *cert;
    size_t j;

    if (p->cert == NULL || p->key == NULL) {
        vigie_errf(err, errsz, "certificate %zu: both cert and key are required", i + 1);
        return -1;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, p->cert) != 1) {
        snprintf(what, sizeof(what), "%s: cannot load the certificate chain", p->cert);
        fail_with_queue(err, errsz, what);
        return -1;
    }
    cert = SSL_CTX_get0_certificate(ctx);
    types[i] = EVP_PKEY_get_base_id(X509_get0_pubkey(cert));
    for (j = 0; j < i; j++) {
        if (types[j] == types[i]) {
            vigie_errf(err, errsz, "%s: a certificate with a %s key is already loaded", p->cert,
                       OBJ_nid2sn(types[i]));
            return -1;
        }
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, p->key, SSL_FILETYPE_PEM) != 1) {
        snprintf(what, sizeof(what), "%s: cannot load the private key for %s", p->key, p->cert);
        fail_with_queue(err, errsz, what);
        return -1;
    }
    /* A key of another type lands in another slot and makes that slot
     * current: the check below would then test the wrong certificate. */
    if (SSL_CTX_get0_certificate(ctx) != cert || SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(what, sizeof(what), "%s: the private key does not match %s", p->key, p->cert);
        fail_with_queue(err, errsz, what);
        return -1;
    }
    return 0;
}

/* The SSL ex_data slot where verify_optional() keeps the first verification
 * error of a connection; -1 if OpenSSL could not give one. */
static int first_error_idx = -1;
static pthread_once_t first_error_once = PTHREAD_ONCE_INIT;

static void first_error_idx_init(void)
{
    first_error_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* Optional client certificates: lets the handshake go on whatever the chain's
 * verification says; OpenSSL still stores the failure as the SSL's verify
 * result, which tls_peer_subject() checks: a certificate that failed is never
 * an identity. Going on past an error makes OpenSSL report the last error
 * ("unable to verify the first certificate") rather than its cause ("unable
 * to get local issuer certificate"), so the first one is recorded and put
 * back after each later one: the logs then name the cause. */
static int verify_optional(int preverify_ok, X509_STORE_CTX *x)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
    intptr_t first;

    if (preverify_ok || ssl == NULL || first_error_idx < 0)
        return 1;
    first = (intptr_t)SSL_get_ex_data(ssl, first_error_idx);
    if (first == X509_V_OK)
        SSL_set_ex_data(ssl, first_error_idx, (void *)(intptr_t)X509_STORE_CTX_get_error(x));
    else
        X509_STORE_CTX_set_error(x, (int)first);
    return 1;
}

/* Asks for client certificates as o->client_cert says, trusting the CAs of
 * o->client_ca and naming them in the CertificateRequest (so that a client
 * holding several certificates picks the right one). 0 or -1. */
static int client_verify_setup(SSL_CTX *ctx, const struct tls_server_opts *o, char *err,
                               size_t errsz)
{
    char what[512];
    STACK_OF(X509_NAME) * names;

    if (o->client_cert == TLS_CLIENT_CERT_NONE)
        return 0;
    if (o->client_ca == NULL) {
        vigie_errf(err, errsz, "client certificates need a client_ca file");
        return -1;
    }
    names = SSL_load_client_CA_file(o->client_ca);
    if (names == NULL || SSL_CTX_load_verify_locations(ctx, o->client_ca, NULL) != 1) {
        sk_X509_NAME_pop_free(names, X509_NAME_free);
        snprintf(what, sizeof(what), "%s: cannot load the client CA certificates", o->client_ca);
        fail_with_queue(err, errsz, what);
        return -1;
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify_depth(ctx, CLIENT_VERIFY_DEPTH);
    if (o->client_cert == TLS_CLIENT_CERT_REQUIRED) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        return 0;
    }
    /* Without the slot, the cause of a failure is not kept; the failure
     * itself still is, and that is all trust depends on. */
    pthread_once(&first_error_once, first_error_idx_init);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_optional);
    return 0;
}

SSL_CTX *tls_server_ctx_new(const struct tls_server_opts *o, char *err, size_t errsz)
{
    int types[TLS_CERTS_MAX];
    SSL_CTX *ctx;
    size_t i;

    if (o == NULL || o->ncerts == 0 || o->ncerts > TLS_CERTS_MAX) {
        vigie_errf(err, errsz, "a TLS listener needs 1 to %u certificates", TLS_CERTS_MAX);
        return NULL;
    }
    /* Errors left by an unrelated earlier call would end up in our message. */
    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        fail_with_queue(err, errsz, "SSL_CTX_new");
        return NULL;
    }
    if (protocol_setup(ctx, err, errsz) != 0 || server_setup(ctx, err, errsz) != 0)
        goto fail;
    for (i = 0; i < o->ncerts; i++)
        if (load_pair(ctx, &o->certs[i], types, i, err, errsz) != 0)
            goto fail;
    if (client_verify_setup(ctx, o, err, errsz) != 0)
        goto fail;
    return ctx;
fail:
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return NULL;
}

SSL_CTX *tls_client_ctx_new(const char *ca_file, char *err, size_t errsz)
{
    char what[512];
    SSL_CTX *ctx;

    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        fail_with_queue(err, errsz, "SSL_CTX_new");
        return NULL;
    }
    if (protocol_setup(ctx, err, errsz) != 0)
        goto fail;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (ca_file != NULL && SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
        snprintf(what, sizeof(what), "%s: cannot load the CA certificates", ca_file);
        fail_with_queue(err, errsz, what);
        goto fail;
    }
    if (ca_file == NULL && SSL_CTX_set_default_verify_paths(ctx) != 1) {
        fail_with_queue(err, errsz, "the system's CA certificates");
        goto fail;
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return NULL;
}

/* Whether host is an IP literal ("192.0.2.1", "::1", "[::1]"); if so, the
 * address without brackets goes to ip[0..ipsz). */
static int ip_literal(const char *host, char *ip, size_t ipsz)
{
    unsigned char addr[sizeof(struct in6_addr)];
    size_t len = strlen(host);

    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        host++;
        len -= 2;
    }
    if (len >= ipsz)
        return 0;
    memcpy(ip, host, len);
    ip[len] = '\0';
    return inet_pton(AF_INET, ip, addr) == 1 || inet_pton(AF_INET6, ip, addr) == 1;
}

/* Names the peer must prove: an IP address, or a DNS name also sent as SNI
 * (RFC 6066 forbids IP literals in SNI). 0, or -1 with OpenSSL's queue set. */
static int set_peer_name(SSL *ssl, const char *host)
{
    char ip[INET6_ADDRSTRLEN + 1];

    if (ip_literal(host, ip, sizeof(ip)))
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip) == 1 ? 0 : -1;
    SSL_set_hostflags(ssl,
                      X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
    if (SSL_set_tlsext_host_name(ssl, host) != 1 || SSL_set1_host(ssl, host) != 1)
        return -1;
    return 0;
}

SSL *tls_client_ssl_new(SSL_CTX *ctx, const char *host, char *err, size_t errsz)
{
    char what[320];
    SSL *ssl;

    if (ctx == NULL || host == NULL || host[0] == '\0' || strnlen(host, HOST_MAX + 1) > HOST_MAX) {
        vigie_errf(err, errsz, "invalid upstream host for TLS");
        return NULL;
    }
    ERR_clear_error();
    ssl = SSL_new(ctx);
    if (ssl == NULL) {
        fail_with_queue(err, errsz, "SSL_new");
        return NULL;
    }
    if (set_peer_name(ssl, host) != 0) {
        snprintf(what, sizeof(what), "%s: cannot set the name to verify", host);
        fail_with_queue(err, errsz, what);
        goto fail;
    }
    /* SSL_set_alpn_protos returns 0 on success, unlike its neighbours. */
    if (SSL_set_alpn_protos(ssl, ALPN_HTTP11, ALPN_HTTP11_LEN) != 0) {
        fail_with_queue(err, errsz, "ALPN");
        goto fail;
    }
    SSL_set_connect_state(ssl);
    return ssl;
fail:
    SSL_free(ssl);
    ERR_clear_error();
    return NULL;
}

int tls_peer_subject(SSL *ssl, char *out, size_t outsz)
{
    X509 *peer;
    BIO *bio;
    char *p;
    long len;
    int rc = -1;

    if (out == NULL || outsz == 0)
        return -1;
    out[0] = '\0';
    peer = SSL_get0_peer_certificate(ssl);
    /* X509_V_OK is also the verify result of a client that sent nothing:
     * both conditions are needed. */
    if (peer == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
        return 0;
    bio = BIO_new(BIO_s_mem());
    if (bio == NULL)
        goto done;
    if (X509_NAME_print_ex(bio, X509_get_subject_name(peer), 0, XN_FLAG_RFC2253) < 0)
        goto done;
    len = BIO_get_mem_data(bio, &p);
    /* RFC 2253 escaping leaves no NUL; one would cut an identity short. */
    if (len < 0 || (size_t)len >= outsz || memchr(p, '\0', (size_t)len) != NULL)
        goto done;
    memcpy(out, p, (size_t)len);
    out[len] = '\0';
    rc = 1;
done:
    BIO_free(bio);
    ERR_clear_error();
    return rc;
}

const char *tls_verify_reason(const SSL *ssl)
{
    return X509_verify_cert_error_string(SSL_get_verify_result(ssl));
}
