/*
 * Connections to models: connect (TCP, then TLS with the peer verified), send
 * the rebuilt request, parse the answer strictly (proxy/http, response side),
 * hand head and body to the exchange, and keep the connection for the next
 * request only when its framing was clean.
 *
 * A connection's states:
 *
 *   CONNECTING --connected--> WAITING --first byte--> READING --done--> IDLE (pool)
 *        |                      |                       |                  |
 *        +-- error/timeout ---->+---- error/timeout --->+--> closed  <-----+ EOF, idle timeout
 *
 * The exchange that owns a connection may cancel it at any time (its client
 * went away); a connection is never handed back to the pool after a framing
 * anomaly, an answer delimited by close, or bytes past the end of the answer.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "net/gw.h"
#include "net/log.h"
#include "net/tls.h"

#define UPCONN_IDLE_MAX 1024u /* pooled connections per worker */

enum upconn_state {
    UC_CONNECTING = 0, /* 0: TCP connect and TLS handshake under way */
    UC_WAITING = 1,    /* 1: request sent (or queued), no answer byte yet */
    UC_READING = 2,    /* 2: answer bytes arriving */
    UC_IDLE = 3,       /* 3: in the worker's pool */
    UC_DEAD = 4,       /* 4: cancelled inside a callback; freed when it returns */
};

struct gw_upconn {
    unsigned magic;
    struct gw_worker *w;
    struct bufferevent *bev;
    struct event *timer;
    enum upconn_state state;
    char key[600];
    struct http_parser resp;
    const struct gw_up_events *ev;
    void *arg;
    const char *upstream_name;
    struct gw_tunables tun; /* timeouts of the exchange that uses it */
    int got_bytes;
    int paused;
    int busy; /* inside a callback: free later */
    unsigned uses;
    struct gw_upconn *next; /* idle list */
};

uint64_t gw_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void arm(struct gw_upconn *uc, unsigned ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(uc->timer, &tv);
}

static void upconn_free(struct gw_upconn *uc)
{
    if (uc->busy) {
        uc->state = UC_DEAD;
        if (uc->bev != NULL)
            bufferevent_disable(uc->bev, EV_READ | EV_WRITE);
        evtimer_del(uc->timer);
        return;
    }
    if (uc->bev != NULL) {
        SSL *ssl = bufferevent_openssl_get_ssl(uc->bev);
        if (ssl != NULL)
            SSL_set_shutdown(ssl, SSL_RECEIVED_SHUTDOWN); /* no close_notify wait */
        bufferevent_free(uc->bev);
    }
    if (uc->timer != NULL)
        event_free(uc->timer);
    http_parser_fini(&uc->resp);
    uc->magic = 0;
    free(uc);
}

static void idle_remove(struct gw_upconn *uc)
{
    struct gw_upconn **pp;

    for (pp = &uc->w->idle; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == uc) {
            *pp = uc->next;
            uc->w->nidle--;
            return;
        }
    }
}

/* Reports a failure to the exchange (once), and closes. */
static void fail(struct gw_upconn *uc, int status, const char *code)
{
    const struct gw_up_events *ev = uc->ev;
    void *arg = uc->arg;
    int got = uc->got_bytes;

    uc->ev = NULL;
    if (gw.metrics != NULL && uc->upstream_name != NULL) {
        const char *kind = strcmp(code, "upstream_timeout") == 0   ? "timeout"
                           : strcmp(code, "upstream_tls") == 0     ? "tls"
                           : strcmp(code, "upstream_connect") == 0 ? "connect"
                                                                   : "framing";
        metrics_upstream_error(uc->w->metrics, uc->upstream_name, kind);
    }
    upconn_free(uc);
    if (ev != NULL)
        ev->on_error(arg, status, code, got);
}

/* The answer is complete: pool the connection if its framing allows, then
 * tell the exchange. */
static void finished(struct gw_upconn *uc, int reusable)
{
    const struct gw_up_events *ev = uc->ev;
    void *arg = uc->arg;
    struct gw_worker *w = uc->w;

    uc->ev = NULL;
    uc->arg = NULL;
    evtimer_del(uc->timer);
    if (reusable && !w->draining && w->nidle < UPCONN_IDLE_MAX && uc->state != UC_DEAD &&
        evbuffer_get_length(bufferevent_get_input(uc->bev)) == 0) {
        uc->state = UC_IDLE;
        uc->uses++;
        http_parser_reset(&uc->resp);
        uc->got_bytes = 0;
        uc->upstream_name = NULL;
        bufferevent_enable(uc->bev, EV_READ); /* an EOF while idle removes it */
        uc->next = w->idle;
        w->idle = uc;
        w->nidle++;
        arm(uc, uc->tun.t.keepalive_ms);
    } else {
        upconn_free(uc);
    }
    if (ev != NULL)
        ev->on_done(arg);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct gw_upconn *uc = arg;

    GW_CHECK(uc, GW_UPCONN_MAGIC);
    switch (uc->state) {
    case UC_CONNECTING:
        fail(uc, 502, "upstream_connect");
        break;
    case UC_WAITING:
    case UC_READING:
        fail(uc, 504, "upstream_timeout");
        break;
    case UC_IDLE:
        idle_remove(uc);
        upconn_free(uc);
        break;
    case UC_DEAD:
        break;
    }
}

/* Feeds the answer's bytes to the parser and the exchange. */
static void on_read(struct bufferevent *bev, void *arg)
{
    struct gw_upconn *uc = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    GW_CHECK(uc, GW_UPCONN_MAGIC);
    if (uc->state == UC_IDLE) {
        /* Bytes on an idle connection: the upstream is confused; drop it. */
        idle_remove(uc);
        upconn_free(uc);
        return;
    }
    if (uc->state == UC_DEAD || uc->ev == NULL)
        return;
    if (evbuffer_get_length(in) > 0 && !uc->got_bytes) {
        uc->got_bytes = 1;
        uc->state = UC_READING;
    }
    uc->busy++;
    while (uc->state == UC_READING && uc->ev != NULL && !uc->paused) {
        struct evbuffer_iovec v;
        size_t used = 0;
        enum http_result r;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            v.iov_len = 0, v.iov_base = NULL;
        r = http_parse(&uc->resp, v.iov_base, v.iov_len, &used);
        if (used > 0 && r != HTTP_BODY_CHUNK)
            evbuffer_drain(in, used);
        if (r == HTTP_NEED_MORE) {
            if (v.iov_len == 0)
                break;
            continue;
        }
        if (r == HTTP_ERROR) {
            uc->busy--;
            fail(uc, 502, "upstream_framing");
            return;
        }
        if (r == HTTP_HEAD_DONE) {
            uc->ev->on_head(uc->arg, &uc->resp);
        } else if (r == HTTP_BODY_CHUNK) {
            size_t blen;
            const char *b = http_parser_body(&uc->resp, &blen);
            int rc = uc->ev->on_body(uc->arg, b, blen);
            if (uc->state != UC_DEAD)
                evbuffer_drain(in, used);
            if (rc != 0 && uc->state != UC_DEAD) {
                /* the exchange gave up on this answer */
                uc->ev = NULL;
                uc->busy--;
                upconn_free(uc);
                return;
            }
        } else if (r == HTTP_MESSAGE_DONE) {
            unsigned f = http_parser_flags(&uc->resp);
            uc->busy--;
            finished(uc, (f & HTTP_F_KEEP_ALIVE) && !(f & HTTP_F_NO_REUSE));
            return;
        }
    }
    uc->busy--;
    if (uc->state == UC_DEAD) {
        upconn_free(uc);
        return;
    }
    if (uc->state == UC_READING && !uc->paused)
        arm(uc, uc->tun.t.up_idle_ms);
}

static int tls_failed(struct bufferevent *bev)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    unsigned long e;
    int any = 0;

    if (ssl == NULL)
        return 0;
    while ((e = bufferevent_get_openssl_error(bev)) != 0)
        any = 1;
    return any || SSL_get_verify_result(ssl) != X509_V_OK;
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct gw_upconn *uc = arg;

    GW_CHECK(uc, GW_UPCONN_MAGIC);
    if (what & BEV_EVENT_CONNECTED) {
        evutil_socket_t fd = bufferevent_getfd(bev);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        uc->state = UC_WAITING;
        arm(uc, uc->tun.t.up_first_byte_ms);
        return;
    }
    if (uc->state == UC_IDLE) {
        idle_remove(uc);
        upconn_free(uc);
        return;
    }
    if (uc->state == UC_DEAD)
        return;
    if (uc->state == UC_CONNECTING) {
        int tls = tls_failed(bev);
        if (tls && vlog_enabled(VLOG_WARN)) {
            struct vlog_rec r;
            SSL *ssl = bufferevent_openssl_get_ssl(bev);
            vlog_begin(&r, VLOG_WARN, "upstream_tls_failed");
            vlog_str(&r, "upstream", uc->upstream_name);
            vlog_str(&r, "reason", ssl != NULL ? tls_verify_reason(ssl) : "handshake");
            vlog_end(&r);
        }
        fail(uc, 502, tls ? "upstream_tls" : "upstream_connect");
        return;
    }
    if (what & BEV_EVENT_EOF) {
        /* Bytes still buffered belong to the answer: read them first. */
        if (evbuffer_get_length(bufferevent_get_input(bev)) > 0 && uc->ev != NULL) {
            on_read(bev, uc);
            if (uc->ev == NULL || uc->state == UC_DEAD)
                return;
        }
        switch (http_parse_eof(&uc->resp)) {
        case HTTP_MESSAGE_DONE:
            finished(uc, 0);
            return;
        default:
            fail(uc, 502, uc->got_bytes ? "upstream_truncated" : "upstream_closed");
            return;
        }
    }
    fail(uc, 502, uc->got_bytes ? "upstream_truncated" : "upstream_closed");
}

static struct gw_upconn *pool_take(struct gw_worker *w, const char *key)
{
    struct gw_upconn **pp;

    for (pp = &w->idle; *pp != NULL; pp = &(*pp)->next) {
        struct gw_upconn *uc = *pp;
        if (strcmp(uc->key, key) == 0) {
            *pp = uc->next;
            w->nidle--;
            uc->next = NULL;
            evtimer_del(uc->timer);
            return uc;
        }
    }
    return NULL;
}

static struct gw_upconn *connect_new(struct gw_worker *w, const struct gw_upstream *up,
                                     const struct gw_tunables *tun)
{
    struct gw_upconn *uc = calloc(1, sizeof(*uc));
    char err[256];

    if (uc == NULL)
        return NULL;
    uc->magic = GW_UPCONN_MAGIC;
    uc->w = w;
    uc->tun = *tun;
    snprintf(uc->key, sizeof(uc->key), "%s", up->key);
    http_parser_init(&uc->resp, HTTP_RESPONSE, NULL);
    uc->timer = evtimer_new(w->base, on_timer, uc);
    if (uc->timer == NULL)
        goto fail;
    if (up->kind == GW_UP_HTTPS) {
        SSL *ssl = tls_client_ssl_new(up->ssl_ctx, up->host, err, sizeof(err));
        if (ssl == NULL)
            goto fail;
        uc->bev = bufferevent_openssl_socket_new(w->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                                 BEV_OPT_CLOSE_ON_FREE);
        if (uc->bev == NULL) {
            SSL_free(ssl);
            goto fail;
        }
    } else {
        uc->bev = bufferevent_socket_new(w->base, -1, BEV_OPT_CLOSE_ON_FREE);
        if (uc->bev == NULL)
            goto fail;
    }
    bufferevent_setcb(uc->bev, on_read, NULL, on_event, uc);
    uc->state = UC_CONNECTING;
    if (bufferevent_socket_connect(uc->bev, (const struct sockaddr *)&up->ss, (int)up->sslen) !=
        0)
        goto fail;
    arm(uc, uc->tun.t.up_connect_ms);
    return uc;
fail:
    upconn_free(uc);
    return NULL;
}

struct gw_upconn *gw_upstream_send(struct gw_worker *w, const struct gw_upstream *up,
                                   const struct gw_tunables *tun, struct vigie_buf *req,
                                   int head_request, const struct gw_up_events *ev, void *arg)
{
    struct gw_upconn *uc = pool_take(w, up->key);

    if (uc != NULL)
        uc->tun = *tun;
    if (uc == NULL && (uc = connect_new(w, up, tun)) == NULL) {
        vigie_buf_free(req);
        metrics_upstream_error(w->metrics, up->name, "connect");
        ev->on_error(arg, 502, "upstream_connect", 0);
        return NULL;
    }
    uc->ev = ev;
    uc->arg = arg;
    uc->upstream_name = up->name;
    uc->paused = 0;
    http_parser_set_head_request(&uc->resp, head_request);
    /* The request bytes are the prompt: evbuffer copies them, and req is wiped
     * at once. The evbuffer's own chunks are not wiped when sent (libevent
     * frees them); a limit documented in docs/internals/net.md. */
    if (bufferevent_write(uc->bev, req->data, req->len) != 0) {
        vigie_buf_free(req);
        uc->ev = NULL;
        upconn_free(uc);
        ev->on_error(arg, 502, "upstream_connect", 0);
        return NULL;
    }
    vigie_buf_free(req);
    bufferevent_enable(uc->bev, EV_READ | EV_WRITE);
    if (uc->state == UC_IDLE) {
        uc->state = UC_WAITING;
        arm(uc, uc->tun.t.up_first_byte_ms);
    }
    return uc;
}

void gw_upstream_pause(struct gw_upconn *uc, int paused)
{
    GW_CHECK(uc, GW_UPCONN_MAGIC);
    if (uc->state == UC_DEAD || uc->paused == paused)
        return;
    uc->paused = paused;
    if (vlog_enabled(VLOG_DEBUG)) {
        struct vlog_rec r;
        vlog_begin(&r, VLOG_DEBUG, paused ? "upstream_paused" : "upstream_resumed");
        vlog_str(&r, "upstream", uc->upstream_name);
        vlog_end(&r);
    }
    if (paused) {
        bufferevent_disable(uc->bev, EV_READ);
        evtimer_del(uc->timer); /* a slow client is not the model's fault */
    } else {
        bufferevent_enable(uc->bev, EV_READ);
        if (uc->state == UC_READING || uc->state == UC_WAITING)
            arm(uc, uc->state == UC_READING ? uc->tun.t.up_idle_ms
                                             : uc->tun.t.up_first_byte_ms);
        /* bytes already buffered are not announced again by libevent */
        if (evbuffer_get_length(bufferevent_get_input(uc->bev)) > 0)
            on_read(uc->bev, uc);
    }
}

void gw_upstream_cancel(struct gw_upconn *uc)
{
    if (uc == NULL)
        return;
    GW_CHECK(uc, GW_UPCONN_MAGIC);
    uc->ev = NULL;
    upconn_free(uc);
}

void gw_upstream_close_idle(struct gw_worker *w)
{
    while (w->idle != NULL) {
        struct gw_upconn *uc = w->idle;
        w->idle = uc->next;
        w->nidle--;
        upconn_free(uc);
    }
}
