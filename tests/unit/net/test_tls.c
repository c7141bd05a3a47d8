/*
 * proxy/net/tls: the contexts against a real test PKI (tests/e2e/pki.sh, made
 * in a temporary directory), with both ends of each handshake in this process
 * over an in-memory BIO pair: no socket, no network. Listener side: versions,
 * certificate choice by cipher, ALPN, client certificates (required and
 * optional, good and unknown), resumption keeping the identity. Upstream side:
 * a good certificate by name and by IP, and each bad certificate failing with
 * its own X509_V_ERR code. Loading errors name the file at fault.
 */
#include <ftw.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "net/tls.h"
#include "test.h"

extern char **environ;

#define SUBJECT "CN=Service juridique,OU=Bureau JC,O=DGDDI,C=FR"

static char pki_dir[128];

/* DIR/name, in one of a few rotating buffers (enough for one opts struct). */
static const char *pki(const char *name)
{
    static char bufs[8][256];
    static unsigned next;
    char *b = bufs[next++ % 8];

    snprintf(b, sizeof(bufs[0]), "%s/%s", pki_dir, name);
    return b;
}

/* Runs tests/e2e/pki.sh into a fresh temporary directory. 0 or -1. */
static int pki_make(void)
{
    char script[] = VIGIE_SRC_DIR "/tests/e2e/pki.sh";
    char sh[] = "sh";
    char *argv[] = {sh, script, pki_dir, NULL};
    const char *tmp = getenv("TMPDIR");
    pid_t pid;
    int status;

    if (tmp == NULL || tmp[0] == '\0' || strlen(tmp) > sizeof(pki_dir) - 20)
        tmp = "/tmp";
    snprintf(pki_dir, sizeof(pki_dir), "%s/vigie-tls-XXXXXX", tmp);
    if (mkdtemp(pki_dir) == NULL)
        return -1;
    if (posix_spawnp(&pid, "sh", NULL, NULL, argv, environ) != 0)
        return -1;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void pki_remove(void)
{
    if (pki_dir[0] != '\0')
        nftw(pki_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* ---- handshakes over a BIO pair ------------------------------------------ */

enum side_state { PENDING = 0, DONE = 1, FAILED = -1 };

struct hs {
    enum side_state client, server;
    char client_err[256], server_err[256]; /* OpenSSL's reasons when FAILED */
};

/* One handshake step of one side. OpenSSL empties the error queue when a
 * step starts, so a failure's reasons are taken at once, into err. */
static void step(SSL *ssl, enum side_state *st, char *err, size_t errsz)
{
    int r, e;

    if (*st != PENDING)
        return;
    r = SSL_do_handshake(ssl);
    if (r == 1) {
        *st = DONE;
        return;
    }
    e = SSL_get_error(ssl, r);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        *st = FAILED;
        tls_error_drain(err, errsz);
    }
}

/* Connects c to s and runs both handshakes, alternately, until neither can
 * progress. A side that fails stops; the other then waits forever for data,
 * which the round bound ends. */
static void handshake(SSL *c, SSL *s, struct hs *r)
{
    BIO *bc, *bs;
    int round;

    memset(r, 0, sizeof(*r));
    if (BIO_new_bio_pair(&bc, 0, &bs, 0) != 1) {
        T_FAIL("BIO_new_bio_pair");
        r->client = r->server = FAILED;
        return;
    }
    SSL_set_bio(c, bc, bc);
    SSL_set_bio(s, bs, bs);
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    for (round = 0; round < 64 && (r->client == PENDING || r->server == PENDING); round++) {
        step(c, &r->client, r->client_err, sizeof(r->client_err));
        step(s, &r->server, r->server_err, sizeof(r->server_err));
        if (r->client == FAILED || r->server == FAILED) {
            /* Let the other side read the alert. */
            step(c, &r->client, r->client_err, sizeof(r->client_err));
            step(s, &r->server, r->server_err, sizeof(r->server_err));
            break;
        }
    }
    ERR_clear_error();
}

/* The listener every gateway-side case uses: RSA and ECDSA side by side. */
static SSL_CTX *listener(enum tls_client_cert mode)
{
    struct tls_server_opts o = {
        .certs = {{pki("rsa.crt"), pki("rsa.key")}, {pki("ecdsa.crt"), pki("ecdsa.key")}},
        .ncerts = 2,
        .client_ca = pki("client-ca.crt"),
        .client_cert = mode,
    };
    char err[512] = "";
    SSL_CTX *ctx = tls_server_ctx_new(&o, err, sizeof(err));

    if (ctx == NULL)
        T_FAIL("tls_server_ctx_new: %s", err);
    return ctx;
}

/* A listener serving one pair, as a mock model would. */
static SSL_CTX *listener_one(const char *crt, const char *key)
{
    struct tls_server_opts o = {.certs = {{pki(crt), pki(key)}}, .ncerts = 1};
    char err[512] = "";
    SSL_CTX *ctx = tls_server_ctx_new(&o, err, sizeof(err));

    if (ctx == NULL)
        T_FAIL("tls_server_ctx_new(%s): %s", crt, err);
    return ctx;
}

/* A client that trusts the test CA; with client.crt or client-unknown.crt
 * when cert is not NULL ("client" or "client-unknown"). */
static SSL_CTX *client_ctx(const char *cert)
{
    char err[512] = "", crt[64], key[64];
    SSL_CTX *ctx = tls_client_ctx_new(pki("ca.crt"), err, sizeof(err));

    if (ctx == NULL) {
        T_FAIL("tls_client_ctx_new: %s", err);
        return NULL;
    }
    if (cert != NULL) {
        snprintf(crt, sizeof(crt), "%s.crt", cert);
        snprintf(key, sizeof(key), "%s.key", cert);
        if (SSL_CTX_use_certificate_file(ctx, pki(crt), SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, pki(key), SSL_FILETYPE_PEM) != 1)
            T_FAIL("cannot load %s", cert);
    }
    return ctx;
}

/* One connection: its two SSL objects and the handshake's outcome. */
struct conn {
    SSL *c, *s;
    struct hs r;
};

static void conn_run(struct conn *k, SSL_CTX *cctx, SSL_CTX *sctx, const char *host)
{
    char err[256] = "";

    memset(k, 0, sizeof(*k));
    k->c = cctx ? tls_client_ssl_new(cctx, host, err, sizeof(err)) : NULL;
    k->s = sctx ? SSL_new(sctx) : NULL;
    if (k->c == NULL || k->s == NULL) {
        T_FAIL("no SSL: %s", err);
        k->r.client = k->r.server = FAILED;
        return;
    }
    handshake(k->c, k->s, &k->r);
}

/* Frees both ends, after a clean close of a completed handshake: OpenSSL
 * marks the session of an SSL freed without close_notify not resumable. */
static void conn_free(struct conn *k)
{
    if (k->r.client == DONE && k->r.server == DONE) {
        SSL_shutdown(k->c);
        SSL_shutdown(k->s);
    }
    ERR_clear_error();
    SSL_free(k->c);
    SSL_free(k->s);
}

static int key_type_of_peer(SSL *c)
{
    X509 *peer = SSL_get0_peer_certificate(c);

    return peer ? EVP_PKEY_get_base_id(X509_get0_pubkey(peer)) : NID_undef;
}

static void expect_alpn(SSL *ssl, const char *want)
{
    const unsigned char *p = NULL;
    unsigned int n = 0;
    char got[32] = "";

    SSL_get0_alpn_selected(ssl, &p, &n);
    if (p != NULL && n < sizeof(got))
        memcpy(got, p, n);
    T_EQ_STR(got, want);
}

/* ---- listener side --------------------------------------------------------- */

static void tls13_default(void)
{
    SSL_CTX *s = listener(TLS_CLIENT_CERT_NONE), *c = client_ctx(NULL);
    char subject[256];
    struct conn k;

    conn_run(&k, c, s, "localhost");
    T_EQ_INT(k.r.client, DONE);
    T_EQ_INT(k.r.server, DONE);
    T_EQ_INT(SSL_version(k.c), TLS1_3_VERSION);
    T_EQ_INT(SSL_get_verify_result(k.c), X509_V_OK);
    T_EQ_STR(SSL_get_servername(k.s, TLSEXT_NAMETYPE_host_name), "localhost");
    expect_alpn(k.c, "http/1.1");
    expect_alpn(k.s, "http/1.1");
    T_EQ_INT(tls_peer_subject(k.s, subject, sizeof(subject)), 0);
    T_EQ_STR(subject, "");
    T_EQ_STR(tls_verify_reason(k.c), "ok");
    conn_free(&k);
    SSL_CTX_free(c);
    SSL_CTX_free(s);
}

static void tls12_forced(void)
{
    SSL_CTX *s = listener(TLS_CLIENT_CERT_NONE), *c = client_ctx(NULL);
    struct conn k;

    SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION);
    conn_run(&k, c, s, "localhost");
    T_EQ_INT(k.r.client, DONE);
    T_EQ_INT(k.r.server, DONE);
    T_EQ_INT(SSL_version(k.c), TLS1_2_VERSION);
    T_CONTAINS(SSL_get_cipher_name(k.c), "ECDHE-");
    expect_alpn(k.c, "http/1.1");
    conn_free(&k);
    SSL_CTX_free(c);
    SSL_CTX_free(s);
}

/* A client that can only speak TLS 1.1 (with the security level lowered so
 * that it really offers it) is refused by the listener. */
static void tls11_refused(void)
{
    SSL_CTX *s = listener(TLS_CLIENT_CERT_NONE), *c = SSL_CTX_new(TLS_client_method());
    struct conn k = {0};

    T_ASSERT(c != NULL);
    SSL_CTX_set_min_proto_version(c, TLS1_1_VERSION);
    SSL_CTX_set_max_proto_version(c, TLS1_1_VERSION);
    SSL_CTX_set_cipher_list(c, "DEFAULT:@SECLEVEL=0");
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    k.c = SSL_new(c);
    k.s = SSL_new(s);
    handshake(k.c, k.s, &k.r);
    T_EQ_INT(k.r.server, FAILED);
    T_ASSERT(k.r.client != DONE);
    T_CONTAINS(k.r.server_err, "unsupported protocol");
    T_CONTAINS(k.r.client_err, "protocol version");
    conn_free(&k);
    SSL_CTX_free(c);
    SSL_CTX_free(s);
}

/* With an RSA and an ECDSA certificate side by side, a TLS 1.2 client that
 * only accepts one kind of suite gets the matching certificate. */
static void cert_by_cipher(void)
{
    static const struct {
        const char *cipher;
        int key_type;
    } cases[] = {
        {"ECDHE-RSA-AES128-GCM-SHA256", EVP_PKEY_RSA},
        {"ECDHE-ECDSA-AES128-GCM-SHA256", EVP_PKEY_EC},
        {"DHE-RSA-AES256-GCM-SHA384", EVP_PKEY_RSA},
    };
    SSL_CTX *s = listener(TLS_CLIENT_CERT_NONE);
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        SSL_CTX *c = client_ctx(NULL);
        struct conn k;

        SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION);
        T_ASSERT(SSL_CTX_set_cipher_list(c, cases[i].cipher) == 1);
        conn_run(&k, c, s, "localhost");
        if (k.r.client != DONE || k.r.server != DONE)
            T_FAIL("%s: handshake failed: client %s, server %s", cases[i].cipher, k.r.client_err,
                   k.r.server_err);
        T_EQ_STR(SSL_get_cipher_name(k.c), cases[i].cipher);
        T_EQ_INT(key_type_of_peer(k.c), cases[i].key_type);
        conn_free(&k);
        SSL_CTX_free(c);
    }
    SSL_CTX_free(s);
}

static void alpn_h2_only_gets_none(void)
{
    static const unsigned char h2[] = "\x02h2";
    static const unsigned char both[] = "\x02h2\x08http/1.1";
    SSL_CTX *s = listener(TLS_CLIENT_CERT_NONE), *c = client_ctx(NULL);
    struct conn k;
    SSL *cs;
    char err[256];

    /* h2 only: the handshake goes on, without ALPN. */
    cs = tls_client_ssl_new(c, "localhost", err, sizeof(err));
    T_ASSERT(cs != NULL && SSL_set_alpn_protos(cs, h2, sizeof(h2) - 1) == 0);
    k.c = cs;
    k.s = SSL_new(s);
    handshake(k.c, k.s, &k.r);
    T_EQ_INT(k.r.client, DONE);
    T_EQ_INT(k.r.server, DONE);
    expect_alpn(k.c, "");
    expect_alpn(k.s, "");
    conn_free(&k);

    /* h2 first, then http/1.1: http/1.1. */
    cs = tls_client_ssl_new(c, "localhost", err, sizeof(err));
    T_ASSERT(cs != NULL && SSL_set_alpn_protos(cs, both, sizeof(both) - 1) == 0);
    k.c = cs;
    k.s = SSL_new(s);
    handshake(k.c, k.s, &k.r);
    T_EQ_INT(k.r.server, DONE);
    expect_alpn(k.s, "http/1.1");
    conn_free(&k);
    SSL_CTX_free(c);
    SSL_CTX_free(s);
}

/* ---- client certificates --------------------------------------------------- */

static void mtls_required(void)
{
    SSL_CTX *s = listener(TLS_CLIENT_CERT_REQUIRED);
    SSL_CTX *none = client_ctx(NULL), *good = client_ctx("client"),
            *unknown = client_ctx("client-unknown");
    char subject[256];
    struct conn k;

    /* No certificate: refused (TLS 1.3 and 1.2). */
    conn_run(&k, none, s, "localhost");
    T_EQ_INT(k.r.server, FAILED);
    T_CONTAINS(k.r.server_err, "peer did not return a certificate");
    conn_free(&k);
    SSL_CTX_set_max_proto_version(none, TLS1_2_VERSION);
    conn_run(&k, none, s, "localhost");
    T_EQ_INT(k.r.server, FAILED);
    T_ASSERT(k.r.client != DONE);
    conn_free(&k);

    /* A certificate from a CA the listener does not trust: refused. */
    conn_run(&k, unknown, s, "localhost");
    T_EQ_INT(k.r.server, FAILED);
    T_EQ_INT(SSL_get_verify_result(k.s), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    T_CONTAINS(k.r.server_err, "certificate verify failed");
    T_EQ_INT(tls_peer_subject(k.s, subject, sizeof(subject)), 0);
    conn_free(&k);

    /* The good one: its subject, RFC 2253. */
    conn_run(&k, good, s, "localhost");
    T_EQ_INT(k.r.client, DONE);
    T_EQ_INT(k.r.server, DONE);
    T_EQ_INT(tls_peer_subject(k.s, subject, sizeof(subject)), 1);
    T_EQ_STR(subject, SUBJECT);
    conn_free(&k);

    SSL_CTX_free(none);
    SSL_CTX_free(good);
    SSL_CTX_free(unknown);
    SSL_CTX_free(s);
}

static void mtls_optional(void)
{
    SSL_CTX *s = listener(TLS_CLIENT_CERT_OPTIONAL);
    SSL_CTX *none = client_ctx(NULL), *good = client_ctx("client"),
            *unknown = client_ctx("client-unknown");
    char subject[256], tiny[sizeof(SUBJECT) - 1];
    struct conn k;

    /* No certificate: in, without a certificate identity. */
    conn_run(&k, none, s, "localhost");
    T_EQ_INT(k.r.client, DONE);
    T_EQ_INT(k.r.server, DONE);
    T_EQ_INT(tls_peer_subject(k.s, subject, sizeof(subject)), 0);
    conn_free(&k);

    /* A good certificate: its subject; a buffer one byte short: -1. */
    conn_run(&k, good, s, "localhost");
    T_EQ_INT(k.r.server, DONE);
    T_EQ_INT(tls_peer_subject(k.s, subject, sizeof(subject)), 1);
    T_EQ_STR(subject, SUBJECT);
    T_EQ_INT(tls_peer_subject(k.s, tiny, sizeof(tiny)), -1);
    T_EQ_STR(tiny, "");
    T_EQ_INT(tls_peer_subject(k.s, subject, sizeof(SUBJECT)), 1);
    conn_free(&k);

    /* A certificate that does not verify: in, but never an identity. */
    conn_run(&k, unknown, s, "localhost");
    T_EQ_INT(k.r.client, DONE);
    T_EQ_INT(k.r.server, DONE);
    T_ASSERT(SSL_get0_peer_certificate(k.s) != NULL);
    T_EQ_INT(tls_peer_subject(k.s, subject, sizeof(subject)), 0);
    T_EQ_STR(subject, "");
    T_EQ_STR(tls_verify_reason(k.s), "unable to get local issuer certificate");
    conn_free(&k);

    SSL_CTX_free(none);
    SSL_CTX_free(good);
    SSL_CTX_free(unknown);
    SSL_CTX_free(s);
}

/* Reads nothing but lets the client process what the server sent after its
 * handshake (TLS 1.3 session tickets). */
static void client_read_pending(SSL *c)
{
    char b[1];

    T_ASSERT(SSL_read(c, b, 1) <= 0);
    T_EQ_INT(SSL_get_error(c, -1), SSL_ERROR_WANT_READ);
    ERR_clear_error();
}

/* A resumed session (ticket, no server cache) keeps the verified identity. */
static void resumption_keeps_identity(void)
{
    static const int versions[] = {TLS1_3_VERSION, TLS1_2_VERSION};
    SSL_CTX *s = listener(TLS_CLIENT_CERT_OPTIONAL);
    size_t i;

    for (i = 0; i < 2; i++) {
        SSL_CTX *c = client_ctx("client");
        SSL_SESSION *sess;
        char subject[256];
        struct conn k;

        SSL_CTX_set_max_proto_version(c, versions[i]);
        conn_run(&k, c, s, "localhost");
        T_EQ_INT(k.r.server, DONE);
        client_read_pending(k.c);
        sess = SSL_get1_session(k.c);
        T_ASSERT(sess != NULL && SSL_SESSION_is_resumable(sess));
        conn_free(&k);

        memset(&k, 0, sizeof(k));
        k.c = tls_client_ssl_new(c, "localhost", subject, sizeof(subject));
        k.s = SSL_new(s);
        T_ASSERT(k.c != NULL && SSL_set_session(k.c, sess) == 1);
        handshake(k.c, k.s, &k.r);
        T_EQ_INT(k.r.server, DONE);
        T_EQ_INT(SSL_session_reused(k.s), 1);
        T_EQ_INT(tls_peer_subject(k.s, subject, sizeof(subject)), 1);
        T_EQ_STR(subject, SUBJECT);
        conn_free(&k);
        SSL_SESSION_free(sess);
        SSL_CTX_free(c);
    }
    SSL_CTX_free(s);
}

/* ---- upstream side --------------------------------------------------------- */

static void upstream_verification(void)
{
    static const struct {
        const char *cert, *host;
        long verify; /* X509_V_OK: the handshake must succeed */
    } cases[] = {
        {"upstream-good", "localhost", X509_V_OK},
        {"upstream-good", "127.0.0.1", X509_V_OK},
        {"upstream-good", "[::1]", X509_V_ERR_IP_ADDRESS_MISMATCH},
        {"upstream-good", "other.localhost", X509_V_ERR_HOSTNAME_MISMATCH},
        {"upstream-expired", "localhost", X509_V_ERR_CERT_HAS_EXPIRED},
        {"upstream-wrongname", "localhost", X509_V_ERR_HOSTNAME_MISMATCH},
        {"upstream-wrongname", "127.0.0.1", X509_V_ERR_IP_ADDRESS_MISMATCH},
        {"upstream-unknownca", "localhost", X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY},
        {"upstream-selfsigned", "localhost", X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT},
    };
    SSL_CTX *c = client_ctx(NULL);
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char crt[64], key[64];
        SSL_CTX *s;
        struct conn k;

        snprintf(crt, sizeof(crt), "%s.crt", cases[i].cert);
        snprintf(key, sizeof(key), "%s.key", cases[i].cert);
        s = listener_one(crt, key);
        conn_run(&k, c, s, cases[i].host);
        if ((k.r.client == DONE) != (cases[i].verify == X509_V_OK))
            T_FAIL("%s for %s: client %d (%s)", cases[i].cert, cases[i].host, k.r.client,
                   k.r.client_err);
        if (cases[i].verify != X509_V_OK)
            T_CONTAINS(k.r.client_err, "certificate verify failed");
        if (SSL_get_verify_result(k.c) != cases[i].verify)
            T_FAIL("%s for %s: verify result %ld (%s), expected %ld", cases[i].cert, cases[i].host,
                   SSL_get_verify_result(k.c), tls_verify_reason(k.c), cases[i].verify);
        conn_free(&k);
        SSL_CTX_free(s);
    }
    SSL_CTX_free(c);
}

/* SNI carries a DNS name, never an IP literal; ALPN offers http/1.1. */
static void upstream_sni(void)
{
    SSL_CTX *s = listener_one("upstream-good.crt", "upstream-good.key"), *c = client_ctx(NULL);
    struct conn k;

    conn_run(&k, c, s, "127.0.0.1");
    T_EQ_INT(k.r.client, DONE);
    T_ASSERT(SSL_get_servername(k.s, TLSEXT_NAMETYPE_host_name) == NULL);
    expect_alpn(k.c, "http/1.1");
    conn_free(&k);
    SSL_CTX_free(c);
    SSL_CTX_free(s);
}

/* ---- errors ------------------------------------------------------------------ */

static void load_errors(void)
{
    struct tls_server_opts o = {.certs = {{"/nonexistent/vigie.crt", pki("rsa.key")}}, .ncerts = 1};
    char err[512] = "";
    SSL_CTX *ctx;

    T_ASSERT(tls_server_ctx_new(&o, err, sizeof(err)) == NULL);
    T_CONTAINS(err, "/nonexistent/vigie.crt");
    T_CONTAINS(err, "No such file or directory");
    T_EQ_INT(ERR_peek_error(), 0);

    o.certs[0].cert = pki("rsa.crt");
    o.certs[0].key = "/nonexistent/vigie.key";
    T_ASSERT(tls_server_ctx_new(&o, err, sizeof(err)) == NULL);
    T_CONTAINS(err, "/nonexistent/vigie.key");

    /* A key that is not the certificate's, of the same type or not. */
    o.certs[0].key = pki("ecdsa.key");
    T_ASSERT(tls_server_ctx_new(&o, err, sizeof(err)) == NULL);
    T_CONTAINS(err, "does not match");
    T_CONTAINS(err, "rsa.crt");
    o.certs[0].cert = pki("ecdsa.crt");
    o.certs[0].key = pki("upstream-good.key");
    T_ASSERT(tls_server_ctx_new(&o, err, sizeof(err)) == NULL);
    T_CONTAINS(err, "ecdsa.crt");

    /* Two ECDSA certificates: the second would replace the first. */
    o.certs[0].key = pki("ecdsa.key");
    o.certs[1].cert = pki("upstream-good.crt");
    o.certs[1].key = pki("upstream-good.key");
    o.ncerts = 2;
    T_ASSERT(tls_server_ctx_new(&o, err, sizeof(err)) == NULL);
    T_CONTAINS(err, "already loaded");

    o.ncerts = 0;
    T_ASSERT(tls_server_ctx_new(&o, err, sizeof(err)) == NULL);
    o.ncerts = 1;
    o.client_cert = TLS_CLIENT_CERT_REQUIRED;
    T_ASSERT(tls_server_ctx_new(&o, err, sizeof(err)) == NULL);
    T_CONTAINS(err, "client_ca");
    o.client_ca = "/nonexistent/clients.pem";
    T_ASSERT(tls_server_ctx_new(&o, err, sizeof(err)) == NULL);
    T_CONTAINS(err, "/nonexistent/clients.pem");
    o.client_ca = pki("client-ca.crt");
    ctx = tls_server_ctx_new(&o, err, sizeof(err));
    T_ASSERT(ctx != NULL);
    SSL_CTX_free(ctx);

    T_ASSERT(tls_client_ctx_new("/nonexistent/ca.pem", err, sizeof(err)) == NULL);
    T_CONTAINS(err, "/nonexistent/ca.pem");
    T_EQ_INT(ERR_peek_error(), 0);

    /* The system's bundle (may be empty here: only loading is checked). */
    ctx = tls_client_ctx_new(NULL, err, sizeof(err));
    T_ASSERT(ctx != NULL);
    T_ASSERT(tls_client_ssl_new(ctx, "", err, sizeof(err)) == NULL);
    T_CONTAINS(err, "invalid upstream host");
    SSL_CTX_free(ctx);
}

static void error_drain_and_parse(void)
{
    char msg[128];
    enum tls_client_cert m = TLS_CLIENT_CERT_NONE;

    T_EQ_STR(tls_error_drain(msg, sizeof(msg)), "unknown TLS error");
    ERR_raise(ERR_LIB_SSL, SSL_R_UNSUPPORTED_PROTOCOL);
    ERR_raise(ERR_LIB_SSL, SSL_R_UNSUPPORTED_PROTOCOL);
    ERR_raise(ERR_LIB_SSL, SSL_R_NO_SHARED_CIPHER);
    T_EQ_STR(tls_error_drain(msg, sizeof(msg)), "unsupported protocol; no shared cipher");
    T_EQ_INT(ERR_peek_error(), 0);
    ERR_raise(ERR_LIB_SSL, SSL_R_NO_SHARED_CIPHER);
    T_EQ_STR(tls_error_drain(msg, 6), "no sh");
    T_EQ_INT(ERR_peek_error(), 0);

    T_EQ_INT(tls_client_cert_parse("optional", &m), 0);
    T_EQ_INT(m, TLS_CLIENT_CERT_OPTIONAL);
    T_EQ_INT(tls_client_cert_parse("required", &m), 0);
    T_EQ_INT(m, TLS_CLIENT_CERT_REQUIRED);
    T_EQ_INT(tls_client_cert_parse("none", &m), 0);
    T_EQ_INT(m, TLS_CLIENT_CERT_NONE);
    T_EQ_INT(tls_client_cert_parse("Required", &m), -1);
    T_EQ_INT(m, TLS_CLIENT_CERT_NONE);
}

int main(void)
{
    int rc;

    if (pki_make() != 0) {
        fprintf(stderr, "cannot make the test PKI in %s\n", pki_dir);
        pki_remove();
        return 1;
    }
    T_RUN(tls13_default);
    T_RUN(tls12_forced);
    T_RUN(tls11_refused);
    T_RUN(cert_by_cipher);
    T_RUN(alpn_h2_only_gets_none);
    T_RUN(mtls_required);
    T_RUN(mtls_optional);
    T_RUN(resumption_keeps_identity);
    T_RUN(upstream_verification);
    T_RUN(upstream_sni);
    T_RUN(load_errors);
    T_RUN(error_drain_and_parse);
    rc = T_DONE();
    pki_remove();
    return rc;
}
