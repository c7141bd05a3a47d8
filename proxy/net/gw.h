/*
 * The gateway's internals, shared by server.c (threads, listeners, reload,
 * admin), conn.c (a client connection and its exchanges) and upstream.c
 * (connections to models and their pools). Not a public header.
 */
#ifndef VIGIE_NET_GW_H
#define VIGIE_NET_GW_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "api/api.h"
#include "http/http.h"
#include "net/metrics.h"
#include "net/net.h"
#include "policy/policy.h"

/* Struct magics, checked where a pointer comes back through void * (Varnish). */
#define GW_WORKER_MAGIC 0x57524b52u
#define GW_CONN_MAGIC 0x434f4e4eu
#define GW_UPCONN_MAGIC 0x5550434eu
#define GW_SNAP_MAGIC 0x534e4150u
#define GW_CHECK(p, m) VIGIE_ASSERT((p) != NULL && (p)->magic == (m))

enum gw_up_kind {
    GW_UP_ECHO = 0,  /* builtin:echo, answered in-process */
    GW_UP_HTTP = 1,
    GW_UP_HTTPS = 2,
};

/* An upstream as the runtime reaches it: the policy's URL resolved once per
 * (re)load. Index i matches policy_upstream_at(policy, i). */
struct gw_upstream {
    const struct policy_upstream *pu;
    const char *name;
    enum policy_trust trust;
    enum gw_up_kind kind;
    char host[256];     /* for SNI, the certificate check and Host */
    char hostport[300]; /* Host field: "host" or "host:port" */
    char prefix[256];   /* the URL's path, without a trailing "/v1" or "/" */
    char key[600];      /* pool key: scheme, address, host, CA */
    struct sockaddr_storage ss;
    socklen_t sslen;
    SSL_CTX *ssl_ctx; /* GW_UP_HTTPS */
    struct http_field cred;
    char *cred_value; /* "Bearer KEY", wiped on free */
};

/* The settings a reload may change for new connections: a connection copies
 * them when it is accepted (and again at each request), an upstream
 * connection when it is used. Listeners, workers and TLS certificates are
 * read at start only. */
struct gw_tunables {
    struct net_timeouts t;
    struct http_limits req; /* request parser limits */
    size_t body_max;
    size_t pipeline_max;
    int stream_usage; /* ask models for usage on streams the client did not ask it for */
};

/* What a request needs from configuration, shared read-only by the workers
 * and replaced as a whole on reload. */
struct gw_snap {
    unsigned magic;
    atomic_uint refs;
    struct policy *policy;
    unsigned char *key; /* pseudonym HMAC key, wiped on free */
    size_t keylen;
    struct gw_upstream *ups;
    size_t nups;
    struct gw_tunables tun;
    uint64_t generation;
};

struct gw_snap *gw_snap_get(void);
void gw_snap_unref(struct gw_snap *s);

struct gw_upconn;
struct gw_conn;

/* One worker thread. */
struct gw_worker {
    unsigned magic;
    unsigned index;
    pthread_t thread;
    struct event_base *base;
    struct evconnlistener *listeners[NET_LISTEN_MAX];
    size_t nlisteners;
    SSL_CTX **server_ctx; /* per listener, NULL for plain; shared, owned by server */
    const struct net_config *cfg;
    struct policy_ctx *pctx;
    struct metrics_shard *metrics;
    struct event *drain_ev;
    struct event *drain_timer;
    int draining;
    int listeners_paused;
    unsigned nconns;
    struct gw_conn *conns; /* every open client connection (drain walks it) */
    struct gw_upconn *idle; /* pooled upstream connections */
    unsigned nidle;
    uint64_t next_id;
};

/* Global runtime. */
struct gw_server {
    const struct net_config *cfg;
    struct metrics *metrics;
    struct audit_log *audit; /* NULL: --no-audit */
    atomic_int draining;
};
extern struct gw_server gw;

/* ---- client connections (conn.c) ------------------------------------------ */

/* A new accepted connection; ssl_ctx NULL for plain HTTP. */
void gw_conn_accept(struct gw_worker *w, evutil_socket_t fd, const struct sockaddr *sa,
                    int salen, SSL_CTX *ssl_ctx);
/* Drain: close idle connections now, the others after their exchange. */
void gw_conn_drain_all(struct gw_worker *w);
/* Frees every connection (after the worker's loop ended). */
void gw_conn_free_all(struct gw_worker *w);
/* Called by conn.c when a connection is freed. */
void gw_worker_conn_closed(struct gw_worker *w);

/* ---- upstream connections (upstream.c) ------------------------------------- */

/* What upstream.c tells the exchange that uses a connection. */
struct gw_up_events {
    /* The answer's head is complete (p's head is readable). */
    void (*on_head)(void *arg, struct http_parser *p);
    /* Body bytes (already de-chunked). Return 0 to go on, -1 to abort. */
    int (*on_body)(void *arg, const char *data, size_t len);
    /* The answer is complete. */
    void (*on_done)(void *arg);
    /* The exchange failed: status (502/504), code ("upstream_connect", ...), whether any
     * byte of the answer was received. The connection is already released. */
    void (*on_error)(void *arg, int status, const char *code, int got_bytes);
};

/* Sends req (the rebuilt request, taken: buf is emptied) to upstream up, on a
 * pooled connection or a new one, and reports the answer through ev. Returns
 * the connection (to cancel), or NULL after on_error was called synchronously. */
struct gw_upconn *gw_upstream_send(struct gw_worker *w, const struct gw_upstream *up,
                                   const struct gw_tunables *tun, struct vigie_buf *req,
                                   int head_request, const struct gw_up_events *ev, void *arg);
/* Flow control: stop or resume reading the answer (client output is full). */
void gw_upstream_pause(struct gw_upconn *uc, int paused);
/* The exchange gives up (client gone, refusal): the connection is closed,
 * never pooled, and no event is reported after this. */
void gw_upstream_cancel(struct gw_upconn *uc);
/* Closes every pooled connection of the worker. */
void gw_upstream_close_idle(struct gw_worker *w);

/* Appends "policy":{"id","version","mode"} (or "policy":null) for audit
 * records (server.c). */
void gw_audit_policy(struct vigie_buf *f, const struct policy *p);

/* Monotonic nanoseconds. */
uint64_t gw_now_ns(void);

#endif
