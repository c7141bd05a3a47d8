/*
 * net: the gateway. libevent bufferevents (plain and OpenSSL) carry bytes
 * between chatbot clients and models; everything they carry is parsed by
 * proxy/http, read by proxy/api and decided by proxy/policy before a byte
 * reaches a model.
 *
 * Threads: one main thread (signals, reload, drain, the admin listener) and N
 * workers, each with its own event base, SO_REUSEPORT listeners, upstream
 * connection pool and policy_ctx. Workers share nothing hot: the only shared
 * object is the runtime snapshot (struct net_snap: policy, pseudonym key,
 * upstream table), reference-counted and swapped in one step on reload.
 *
 * net is the only module that includes event2/ headers. It never logs a
 * prompt, a value, a header value or a credential (proxy/net/log.h).
 * docs/internals/net.md describes the exchange state machine.
 */
#ifndef VIGIE_NET_H
#define VIGIE_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "audit/audit.h"
#include "core/core.h"
#include "http/http.h"

#define NET_TLS_CERTS_MAX 4
#define NET_LISTEN_MAX 16

enum net_client_cert {
    NET_CLIENT_CERT_NONE = 0,
    NET_CLIENT_CERT_OPTIONAL = 1,
    NET_CLIENT_CERT_REQUIRED = 2,
};

/* One listening address; TLS when ncerts > 0. */
struct net_listen {
    char *address; /* as written: "127.0.0.1:8080", "[::1]:8443" */
    struct sockaddr_storage ss;
    socklen_t sslen;
    char *certs[NET_TLS_CERTS_MAX];
    char *keys[NET_TLS_CERTS_MAX];
    size_t ncerts;
    char *client_ca;
    enum net_client_cert client_cert;
};

/* Every timeout, in milliseconds (DESIGN.md "Limits"). */
struct net_timeouts {
    unsigned head_ms;            /* request head received within: 408, close */
    unsigned body_ms;            /* between two reads of a request body: 408, close */
    unsigned keepalive_ms;       /* idle keep-alive connection: close */
    unsigned up_connect_ms;      /* upstream connect and TLS handshake: 502 */
    unsigned up_first_byte_ms;   /* request sent to first answer byte: 504 */
    unsigned up_idle_ms;         /* between two reads of an answer: 504 or cut */
    unsigned drain_ms;           /* SIGTERM: in-flight requests get this long */
};

/* The gateway's configuration: the file (-c), then the command line. */
struct net_config {
    char *file; /* NULL: command line only */
    struct net_listen listens[NET_LISTEN_MAX];
    size_t nlistens;
    char *admin; /* "127.0.0.1:8081"; NULL: no admin listener */
    char *policy_file;
    char *rules_dir;     /* packs for a policy that names none */
    char *upstream_url;  /* --upstream: every upstream points here */
    unsigned workers;
    char *key_file;      /* HMAC key of keyed pseudonyms */
    char *upstream_ca_file;
    struct net_timeouts t;
    struct http_limits req_limits;
    size_t body_max;
    unsigned conn_max;   /* per worker */
    size_t pipeline_max; /* bytes read ahead of the request in progress */
    struct audit_config audit; /* file and key_file NULL: not configured */
    int audit_off;       /* explicitly without records (--no-audit, audit: off) */
    int stream_usage_off; /* audit.stream_usage: off */
    int log_level;
    int demo;            /* no argument from the source tree */
    /* SIGHUP: builds the configuration again (the file read anew, the command
     * line laid over it) into a zeroed struct; NULL: the policy side only. */
    int (*reload)(struct net_config *cfg, void *arg, struct vigie_diag *diag);
    void *reload_arg;
};

/* Defaults (DESIGN.md) for everything; no listener, no policy. */
void net_config_defaults(struct net_config *c);

/* Reads a gateway configuration file into c (over its defaults). Every
 * problem goes to diag as FILE:LINE:COL: message. Relative paths are taken
 * beside the file. Returns VIGIE_OK or VIGIE_ERR_CONFIG. */
int net_config_load(struct net_config *c, const char *path, struct vigie_diag *diag);

/* Parses "ADDR:PORT" ("127.0.0.1:8080", "[::1]:8443", "localhost:80") into
 * l->ss. Returns VIGIE_OK or VIGIE_ERR_CONFIG with a reason in err. */
int net_address_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len, char *err,
                      size_t errsz);

/* Checks what the file and the command line give together (a listener, a
 * policy, TLS files readable). */
int net_config_check(struct net_config *c, struct vigie_diag *diag);

void net_config_fini(struct net_config *c);

/* Parses "10s", "250ms", "2m" or a bare number of seconds; 0 on success. */
int net_duration_parse(const char *s, unsigned *ms);

/* Runs the gateway until SIGTERM or SIGINT and a drain. Returns the process
 * exit status: 0 after a drain, 1 when the runtime could not start. */
int net_serve(struct net_config *c);

#endif
