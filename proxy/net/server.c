/*
 * The gateway's threads: the main thread owns signals (SIGHUP reload,
 * SIGTERM/SIGINT drain), the admin listener and the runtime snapshot; N
 * workers each run an event base with their own SO_REUSEPORT listeners.
 *
 * Reload builds a whole new snapshot (policy, packs, credentials, pseudonym
 * key, upstream table with resolved addresses and TLS contexts) off to the
 * side, in the main thread, while the workers keep serving with the old one;
 * only a snapshot that loaded completely replaces it, in one pointer swap
 * under a mutex. Requests in flight keep the snapshot they started with (a
 * reference each).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/thread.h>
#include <openssl/rand.h>

#include "net/gw.h"
#include "net/log.h"
#include "net/tls.h"
#include "policy/load.h"

#ifndef VIGIE_VERSION
#define VIGIE_VERSION "0"
#endif

struct gw_server gw;

static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gw_snap *snap_current;
static uint64_t snap_generation;
/* Without a key file, keyed pseudonyms use a key drawn at start: stable for
 * the life of the process (across reloads), never written anywhere. */
static unsigned char process_key[32];

/* ---- snapshots ------------------------------------------------------------------ */

static void snap_free(struct gw_snap *s)
{
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < s->nups; i++) {
        struct gw_upstream *u = &s->ups[i];
        if (u->ssl_ctx != NULL)
            SSL_CTX_free(u->ssl_ctx);
        if (u->cred_value != NULL) {
            vigie_wipe(u->cred_value, strlen(u->cred_value));
            free(u->cred_value);
        }
    }
    free(s->ups);
    if (s->key != NULL && s->key != process_key) {
        vigie_wipe(s->key, s->keylen);
        free(s->key);
    }
    policy_unref(s->policy);
    s->magic = 0;
    free(s);
}

struct gw_snap *gw_snap_get(void)
{
    struct gw_snap *s;

    pthread_mutex_lock(&snap_lock);
    s = snap_current;
    if (s != NULL)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&snap_lock);
    return s;
}

void gw_snap_unref(struct gw_snap *s)
{
    if (s == NULL)
        return;
    GW_CHECK(s, GW_SNAP_MAGIC);
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        snap_free(s);
}

static void snap_install(struct gw_snap *s)
{
    struct gw_snap *old;

    pthread_mutex_lock(&snap_lock);
    old = snap_current;
    snap_current = s;
    pthread_mutex_unlock(&snap_lock);
    gw_snap_unref(old);
}

/* Splits an upstream URL and resolves its host (once per load: a model's
 * address changing is picked up by a reload). */
static int upstream_setup(const struct net_config *cfg, const struct policy_upstream_info *ui,
                          struct gw_upstream *u, struct vigie_diag *diag)
{
    const char *url = ui->url, *rest, *slash, *hend;
    char port[8];
    size_t hlen;
    struct addrinfo hints, *res = NULL;
    int rc, dport;

    u->name = ui->name;
    u->trust = ui->trust;
    if (strncmp(url, "builtin:", 8) == 0) {
        if (strcmp(url, "builtin:echo") != 0) {
            vigie_diag_add(diag, ui->where.file, ui->where.line, ui->where.col,
                           "upstream '%s': unknown built-in model '%s' (builtin:echo exists)",
                           ui->name, url);
            return -1;
        }
        u->kind = GW_UP_ECHO;
        snprintf(u->key, sizeof(u->key), "echo");
        return 0;
    }
    if (strncmp(url, "https://", 8) == 0) {
        u->kind = GW_UP_HTTPS;
        rest = url + 8;
        dport = 443;
    } else {
        u->kind = GW_UP_HTTP;
        rest = url + 7;
        dport = 80;
    }
    slash = strchr(rest, '/');
    hend = slash != NULL ? slash : rest + strlen(rest);
    snprintf(port, sizeof(port), "%d", dport);
    if (rest[0] == '[') {
        const char *rb = memchr(rest, ']', (size_t)(hend - rest));
        if (rb == NULL)
            goto bad;
        hlen = (size_t)(rb - rest - 1);
        if (hlen == 0 || hlen >= sizeof(u->host))
            goto bad;
        memcpy(u->host, rest + 1, hlen);
        u->host[hlen] = '\0';
        if (rb + 1 < hend) {
            if (rb[1] != ':' || (size_t)(hend - rb - 2) >= sizeof(port) || hend - rb - 2 < 1)
                goto bad;
            memcpy(port, rb + 2, (size_t)(hend - rb - 2));
            port[hend - rb - 2] = '\0';
        }
    } else {
        const char *colon = memchr(rest, ':', (size_t)(hend - rest));
        const char *hostend = colon != NULL ? colon : hend;
        hlen = (size_t)(hostend - rest);
        if (hlen == 0 || hlen >= sizeof(u->host))
            goto bad;
        memcpy(u->host, rest, hlen);
        u->host[hlen] = '\0';
        if (colon != NULL) {
            if ((size_t)(hend - colon - 1) >= sizeof(port) || hend - colon - 1 < 1)
                goto bad;
            memcpy(port, colon + 1, (size_t)(hend - colon - 1));
            port[hend - colon - 1] = '\0';
        }
    }
    if (strspn(port, "0123456789") != strlen(port))
        goto bad;
    {
        unsigned long pn = strtoul(port, NULL, 10);
        if (port[0] == '\0' || pn == 0 || pn > 65535)
            goto bad;
    }
    snprintf(u->hostport, sizeof(u->hostport), "%.*s", (int)(hend - rest), rest);
    /* The URL's path is put before each request's: "http://h/v1" and
     * "http://h" both lead to "/v1/chat/completions". */
    u->prefix[0] = '\0';
    if (slash != NULL) {
        size_t plen = strlen(slash);
        while (plen > 0 && slash[plen - 1] == '/')
            plen--;
        if (plen >= 3 && memcmp(slash + plen - 3, "/v1", 3) == 0)
            plen -= 3;
        if (plen >= sizeof(u->prefix) || memchr(slash, '?', plen) != NULL)
            goto bad;
        memcpy(u->prefix, slash, plen);
        u->prefix[plen] = '\0';
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    if ((rc = getaddrinfo(u->host, port, &hints, &res)) != 0 || res == NULL) {
        vigie_diag_add(diag, ui->where.file, ui->where.line, ui->where.col,
                       "upstream '%s': cannot resolve %s: %s", ui->name, u->host,
                       gai_strerror(rc));
        return -1;
    }
    memcpy(&u->ss, res->ai_addr, res->ai_addrlen);
    u->sslen = (socklen_t)res->ai_addrlen;
    freeaddrinfo(res);
    if (u->kind == GW_UP_HTTPS) {
        char err[512];
        const char *ca = ui->ca_file != NULL ? ui->ca_file : cfg->upstream_ca_file;
        if ((u->ssl_ctx = tls_client_ctx_new(ca, err, sizeof(err))) == NULL) {
            vigie_diag_add(diag, ui->where.file, ui->where.line, ui->where.col,
                           "upstream '%s': %s", ui->name, err);
            return -1;
        }
    }
    snprintf(u->key, sizeof(u->key), "%s|%s|%s|%s", u->kind == GW_UP_HTTPS ? "https" : "http",
             u->hostport, port, ui->ca_file != NULL ? ui->ca_file : "");
    if (ui->credential != NULL) {
        size_t sl = strlen(ui->cred_scheme), n = sl + 1 + ui->credential_len + 1;
        if ((u->cred_value = malloc(n)) == NULL)
            return -1;
        if (sl > 0)
            snprintf(u->cred_value, n, "%s %.*s", ui->cred_scheme, (int)ui->credential_len,
                     ui->credential);
        else
            snprintf(u->cred_value, n, "%.*s", (int)ui->credential_len, ui->credential);
        u->cred.name = ui->cred_header;
        u->cred.name_len = strlen(ui->cred_header);
        u->cred.value = u->cred_value;
        u->cred.value_len = strlen(u->cred_value);
    }
    return 0;
bad:
    vigie_diag_add(diag, ui->where.file, ui->where.line, ui->where.col,
                   "upstream '%s': malformed URL '%s'", ui->name, url);
    return -1;
}

static struct gw_snap *snap_build(const struct net_config *cfg, struct vigie_diag *diag)
{
    struct gw_snap *s = calloc(1, sizeof(*s));
    size_t i;
    int bad = 0;

    if (s == NULL)
        return NULL;
    s->magic = GW_SNAP_MAGIC;
    atomic_init(&s->refs, 1);
    s->policy = policy_load_file_at(cfg->policy_file, cfg->rules_dir, POLICY_LOAD_CREDENTIALS,
                                    cfg->upstream_url, diag);
    if (s->policy == NULL)
        goto fail;
    if (cfg->key_file != NULL) {
        struct vigie_buf kb;
        char err[512];
        if (vigie_file_read(cfg->key_file, 4096, &kb, err, sizeof(err)) != VIGIE_OK ||
            kb.len < 16) {
            vigie_diag_add(diag, cfg->key_file, 0, 0,
                           kb.data == NULL ? "%s" : "a pseudonym key needs 16 bytes or more%s",
                           kb.data == NULL ? err : "");
            vigie_buf_free(&kb);
            goto fail;
        }
        s->key = (unsigned char *)kb.data; /* taken: wiped in snap_free */
        s->keylen = kb.len;
    } else {
        s->key = process_key;
        s->keylen = sizeof(process_key);
    }
    s->nups = policy_nupstreams(s->policy);
    if ((s->ups = calloc(s->nups ? s->nups : 1, sizeof(*s->ups))) == NULL)
        goto fail;
    for (i = 0; i < s->nups; i++) {
        struct policy_upstream_info ui;
        s->ups[i].pu = policy_upstream_at(s->policy, i);
        policy_upstream_info(s->ups[i].pu, &ui);
        bad |= upstream_setup(cfg, &ui, &s->ups[i], diag) != 0;
    }
    if (bad)
        goto fail;
    s->tun.t = cfg->t;
    s->tun.req = cfg->req_limits;
    s->tun.body_max = cfg->body_max;
    s->tun.pipeline_max = cfg->pipeline_max;
    s->tun.stream_usage = !cfg->stream_usage_off;
    s->generation = ++snap_generation;
    return s;
fail:
    snap_free(s);
    return NULL;
}

static void log_diag(enum vlog_level level, const char *event, const struct vigie_diag *d)
{
    size_t i;

    for (i = 0; i < d->n; i++) {
        struct vlog_rec r;
        vlog_begin(&r, level, event);
        vlog_str(&r, "reason", d->msgs[i]);
        vlog_end(&r);
    }
}

static void log_policy(const char *event, const struct gw_snap *s)
{
    struct vlog_rec r;

    vlog_begin(&r, VLOG_INFO, event);
    vlog_str(&r, "policy", policy_id(s->policy));
    vlog_str(&r, "version", policy_version(s->policy));
    vlog_str(&r, "mode", policy_mode(s->policy) == POLICY_MODE_MONITOR ? "monitor" : "enforce");
    vlog_uint(&r, "generation", s->generation);
    vlog_end(&r);
}

/* ---- workers ------------------------------------------------------------------------ */

static struct gw_worker *workers;
static atomic_uint workers_done; /* workers whose loop has ended */

static uint32_t rand_u32(void)
{
    uint32_t v = 0;

    RAND_bytes((unsigned char *)&v, sizeof(v));
    return v;
}
static SSL_CTX *listen_ctx[NET_LISTEN_MAX];

void gw_worker_conn_closed(struct gw_worker *w)
{
    size_t i;

    w->nconns--;
    metrics_conn(w->metrics, -1);
    if (w->listeners_paused && !w->draining && w->nconns < w->cfg->conn_max) {
        for (i = 0; i < w->nlisteners; i++)
            evconnlistener_enable(w->listeners[i]);
        w->listeners_paused = 0;
    }
    if (w->draining && w->nconns == 0)
        event_base_loopbreak(w->base);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    struct gw_worker *w = arg;
    size_t i;

    GW_CHECK(w, GW_WORKER_MAGIC);
    w->nconns++;
    metrics_conn(w->metrics, +1);
    if (w->nconns >= w->cfg->conn_max && !w->listeners_paused) {
        /* Past the limit, new connections wait in the kernel's backlog. */
        for (i = 0; i < w->nlisteners; i++)
            evconnlistener_disable(w->listeners[i]);
        w->listeners_paused = 1;
    }
    for (i = 0; i < w->nlisteners; i++)
        if (w->listeners[i] == l)
            break;
    gw_conn_accept(w, fd, sa, salen, i < w->nlisteners ? listen_ctx[i] : NULL);
}

static void on_drain(evutil_socket_t fd, short what, void *arg)
{
    struct gw_worker *w = arg;
    struct timeval tv;
    size_t i;

    GW_CHECK(w, GW_WORKER_MAGIC);
    if (w->draining)
        return;
    w->draining = 1;
    for (i = 0; i < w->nlisteners; i++) {
        evconnlistener_free(w->listeners[i]);
        w->listeners[i] = NULL;
    }
    w->nlisteners = 0;
    gw_upstream_close_idle(w);
    gw_conn_drain_all(w);
    if (w->nconns == 0) {
        event_base_loopbreak(w->base);
        return;
    }
    tv.tv_sec = w->cfg->t.drain_ms / 1000;
    tv.tv_usec = (w->cfg->t.drain_ms % 1000) * 1000;
    evtimer_add(w->drain_timer, &tv);
}

static void on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct gw_worker *w = arg;

    event_base_loopbreak(w->base);
}

static void *worker_main(void *arg)
{
    struct gw_worker *w = arg;

    event_base_dispatch(w->base);
    gw_conn_free_all(w);
    gw_upstream_close_idle(w);
    atomic_fetch_add(&workers_done, 1);
    return NULL;
}

/* A listening socket with SO_REUSEPORT, so that each worker has its own and
 * the kernel spreads connections between them. */
static evutil_socket_t listen_socket(const struct sockaddr_storage *ss, socklen_t len,
                                     char *err, size_t errsz)
{
    evutil_socket_t fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;

    if (fd < 0) {
        vigie_errf(err, errsz, "socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (ss->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)ss, len) != 0 || listen(fd, 1024) != 0) {
        vigie_errf(err, errsz, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* SO_REUSEPORT lets any process of the same user bind the same address, and
 * the kernel would then split connections between two gateways, perhaps under
 * two policies. Before the workers' sockets are bound, one plain socket
 * without the option proves the address is free (and gives port 0 its
 * port); it is closed at once, and the workers bind the port it got. */
static int probe_address(struct net_listen *ln, char *err, size_t errsz)
{
    evutil_socket_t fd = socket(ln->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    socklen_t sl = sizeof(ln->ss);
    int one = 1;

    if (fd < 0) {
        vigie_errf(err, errsz, "socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ln->ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)&ln->ss, ln->sslen) != 0 ||
        getsockname(fd, (struct sockaddr *)&ln->ss, &sl) != 0) {
        vigie_errf(err, errsz, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

static void addr_text(const struct sockaddr_storage *ss, char *out, size_t n)
{
    char a[INET6_ADDRSTRLEN] = "?";

    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
        snprintf(out, n, "%s:%u", a, ntohs(s4->sin_port));
    } else {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
        snprintf(out, n, "[%s]:%u", a, ntohs(s6->sin6_port));
    }
}

/* ---- the admin listener (main thread) -------------------------------------------------- */

struct admin_conn {
    struct bufferevent *bev;
    struct http_parser p;
    struct admin_conn *prev, *next;
};

static struct admin_conn *admin_conns; /* main thread only */

static void admin_free(struct admin_conn *a)
{
    if (a->prev != NULL)
        a->prev->next = a->next;
    else
        admin_conns = a->next;
    if (a->next != NULL)
        a->next->prev = a->prev;
    bufferevent_free(a->bev);
    http_parser_fini(&a->p);
    free(a);
}

static void admin_reply(struct admin_conn *a, int status, const char *ctype,
                        const struct vigie_buf *body)
{
    struct vigie_buf h;

    vigie_buf_init(&h, 1024);
    vigie_buf_printf(&h, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                         "Connection: close\r\n\r\n",
                     status, http_status_reason(status), ctype, body->len);
    bufferevent_write(a->bev, h.data, h.len);
    bufferevent_write(a->bev, body->data, body->len);
    vigie_buf_free(&h);
    bufferevent_disable(a->bev, EV_READ);
}

/* The audit writer's counters, after the request metrics. */
static int audit_metrics(struct vigie_buf *b)
{
    struct audit_stats st;

    if (gw.audit == NULL)
        return VIGIE_OK;
    audit_get_stats(gw.audit, &st);
    return vigie_buf_printf(
        b,
        "# HELP vigie_audit_records_total Audit records written.\n"
        "# TYPE vigie_audit_records_total counter\n"
        "vigie_audit_records_total %llu\n"
        "# HELP vigie_audit_bytes_total Bytes of audit records written.\n"
        "# TYPE vigie_audit_bytes_total counter\n"
        "vigie_audit_bytes_total %llu\n"
        "# HELP vigie_audit_syncs_total fdatasync calls on the audit log.\n"
        "# TYPE vigie_audit_syncs_total counter\n"
        "vigie_audit_syncs_total %llu\n"
        "# HELP vigie_audit_checkpoints_total Checkpoints written and exported.\n"
        "# TYPE vigie_audit_checkpoints_total counter\n"
        "vigie_audit_checkpoints_total %llu\n"
        "# HELP vigie_audit_rotations_total Audit files rotated.\n"
        "# TYPE vigie_audit_rotations_total counter\n"
        "vigie_audit_rotations_total %llu\n"
        "# HELP vigie_audit_failures_total Times the audit log could not be written.\n"
        "# TYPE vigie_audit_failures_total counter\n"
        "vigie_audit_failures_total %llu\n"
        "# HELP vigie_audit_refused Requests refused (503) during the current or last failure.\n"
        "# TYPE vigie_audit_refused gauge\n"
        "vigie_audit_refused %llu\n"
        "# HELP vigie_audit_broken 1 while the audit log cannot be written.\n"
        "# TYPE vigie_audit_broken gauge\n"
        "vigie_audit_broken %d\n"
        "# HELP vigie_audit_unsynced_records Records written but not yet on disk.\n"
        "# TYPE vigie_audit_unsynced_records gauge\n"
        "vigie_audit_unsynced_records %llu\n",
        (unsigned long long)st.records, (unsigned long long)st.bytes,
        (unsigned long long)st.syncs, (unsigned long long)st.checkpoints,
        (unsigned long long)st.rotations, (unsigned long long)st.failures,
        (unsigned long long)st.refused, st.broken,
        (unsigned long long)(st.last_seq - st.synced_seq));
}

static void admin_serve(struct admin_conn *a)
{
    size_t len;
    const char *t = http_parser_target(&a->p, &len);
    struct vigie_buf b;

    vigie_buf_init(&b, 16u << 20);
    if (http_parser_method(&a->p) != HTTP_M_GET) {
        vigie_buf_printf(&b, "{\"error\":\"use GET\"}\n");
        admin_reply(a, 405, "application/json", &b);
    } else if (len == 8 && memcmp(t, "/healthz", 8) == 0) {
        struct gw_snap *s = gw_snap_get();
        int draining = atomic_load(&gw.draining);
        int audit_ok = audit_usable(gw.audit);
        vigie_buf_printf(&b, "{\"status\":\"%s\",\"policy\":{\"id\":",
                         draining ? "draining" : !audit_ok ? "degraded" : "ok");
        vigie_buf_json_str(&b, s ? policy_id(s->policy) : "", s ? strlen(policy_id(s->policy)) : 0);
        vigie_buf_printf(&b, ",\"version\":");
        vigie_buf_json_str(&b, s ? policy_version(s->policy) : "",
                           s ? strlen(policy_version(s->policy)) : 0);
        vigie_buf_printf(&b, "},\"draining\":%s,\"audit\":\"%s\"}\n",
                         draining ? "true" : "false",
                         gw.audit == NULL ? "off" : audit_ok ? "ok" : "broken");
        gw_snap_unref(s);
        admin_reply(a, draining || !audit_ok ? 503 : 200, "application/json", &b);
    } else if (len == 8 && memcmp(t, "/metrics", 8) == 0) {
        if (metrics_render(gw.metrics, &b) != VIGIE_OK || audit_metrics(&b) != VIGIE_OK) {
            vigie_buf_init(&b, 64);
            admin_reply(a, 500, "text/plain", &b);
        } else {
            admin_reply(a, 200, "text/plain; version=0.0.4", &b);
        }
    } else {
        vigie_buf_printf(&b, "{\"error\":\"not found: /healthz or /metrics\"}\n");
        admin_reply(a, 404, "application/json", &b);
    }
    vigie_buf_free(&b);
}

static void admin_read(struct bufferevent *bev, void *arg)
{
    struct admin_conn *a = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    for (;;) {
        struct evbuffer_iovec v;
        size_t used = 0;
        enum http_result r;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1) {
            v.iov_base = NULL; /* a bodiless message ends with no more byte */
            v.iov_len = 0;
        }
        r = http_parse(&a->p, v.iov_base, v.iov_len, &used);
        evbuffer_drain(in, used);
        if (r == HTTP_MESSAGE_DONE) {
            admin_serve(a);
            return;
        }
        if (r == HTTP_ERROR) {
            struct vigie_buf b;
            vigie_buf_init(&b, 4096);
            http_write_parse_error(&b, &a->p);
            bufferevent_write(bev, b.data, b.len);
            vigie_buf_free(&b);
            bufferevent_disable(bev, EV_READ);
            return;
        }
        if (r == HTTP_NEED_MORE && (v.iov_len == 0 || evbuffer_get_length(in) == 0))
            return;
    }
}

static void admin_write(struct bufferevent *bev, void *arg)
{
    struct admin_conn *a = arg;

    if (!(bufferevent_get_enabled(bev) & EV_READ))
        admin_free(a);
}

static void admin_event(struct bufferevent *bev, short what, void *arg)
{
    admin_free(arg);
}

static void admin_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                         int salen, void *arg)
{
    struct event_base *base = arg;
    struct admin_conn *a = calloc(1, sizeof(*a));
    struct timeval tv = {10, 0};

    if (a == NULL || (a->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
        free(a);
        evutil_closesocket(fd);
        return;
    }
    http_parser_init(&a->p, HTTP_REQUEST, NULL);
    a->next = admin_conns;
    if (admin_conns != NULL)
        admin_conns->prev = a;
    admin_conns = a;
    bufferevent_setcb(a->bev, admin_read, admin_write, admin_event, a);
    bufferevent_set_timeouts(a->bev, &tv, &tv);
    bufferevent_enable(a->bev, EV_READ | EV_WRITE);
}

/* ---- signals ------------------------------------------------------------------------------ */

/* What a reload cannot change in a running process: names of the settings
 * that differ, for the log ("listen,workers"), in out. */
static int same_str(const char *x, const char *y)
{
    return (x == NULL && y == NULL) || (x != NULL && y != NULL && strcmp(x, y) == 0);
}

static void restart_only(const struct net_config *a, const struct net_config *b, char *out,
                         size_t n)
{
    size_t i, j;
    int listen = a->nlistens != b->nlistens;

    out[0] = '\0';
    for (i = 0; !listen && i < a->nlistens; i++) {
        const struct net_listen *x = &a->listens[i], *y = &b->listens[i];
        listen |= strcmp(x->address, y->address) != 0 || x->ncerts != y->ncerts ||
                  x->client_cert != y->client_cert ||
                  (x->client_ca == NULL) != (y->client_ca == NULL) ||
                  (x->client_ca != NULL && strcmp(x->client_ca, y->client_ca) != 0);
        for (j = 0; !listen && j < x->ncerts; j++)
            listen |= strcmp(x->certs[j], y->certs[j]) != 0 || strcmp(x->keys[j], y->keys[j]) != 0;
    }
    if (listen)
        snprintf(out + strlen(out), n - strlen(out), "%slisten", out[0] ? "," : "");
    if ((a->admin == NULL) != (b->admin == NULL) ||
        (a->admin != NULL && strcmp(a->admin, b->admin) != 0))
        snprintf(out + strlen(out), n - strlen(out), "%sadmin", out[0] ? "," : "");
    if (a->workers != b->workers)
        snprintf(out + strlen(out), n - strlen(out), "%sworkers", out[0] ? "," : "");
    if (a->conn_max != b->conn_max)
        snprintf(out + strlen(out), n - strlen(out), "%slimits.connections", out[0] ? "," : "");
    if (a->t.drain_ms != b->t.drain_ms)
        snprintf(out + strlen(out), n - strlen(out), "%stimeouts.drain", out[0] ? "," : "");
    if (a->audit_off != b->audit_off || !same_str(a->audit.file, b->audit.file) ||
        !same_str(a->audit.key_file, b->audit.key_file) ||
        !same_str(a->audit.checkpoint_file, b->audit.checkpoint_file) ||
        a->audit.sync_interval_ms != b->audit.sync_interval_ms ||
        a->audit.sync_records != b->audit.sync_records ||
        a->audit.checkpoint_records != b->audit.checkpoint_records ||
        a->audit.checkpoint_interval_ms != b->audit.checkpoint_interval_ms ||
        a->audit.rotate_size != b->audit.rotate_size ||
        a->audit.rotate_interval_s != b->audit.rotate_interval_s)
        snprintf(out + strlen(out), n - strlen(out), "%saudit", out[0] ? "," : "");
}

/* A policy's identity for audit records: "policy":{"id","version","mode"},
 * or "policy":null. */
void gw_audit_policy(struct vigie_buf *f, const struct policy *p)
{
    if (p == NULL) {
        vigie_buf_printf(f, "\"policy\":null");
        return;
    }
    vigie_buf_printf(f, "\"policy\":{\"id\":");
    vigie_buf_json_str(f, policy_id(p), strlen(policy_id(p)));
    vigie_buf_printf(f, ",\"version\":");
    vigie_buf_json_str(f, policy_version(p), strlen(policy_version(p)));
    vigie_buf_printf(f, ",\"mode\":\"%s\"}",
                     policy_mode(p) == POLICY_MODE_MONITOR ? "monitor" : "enforce");
}

/* A reload's audit record: what is in force now, or that nothing changed. */
static void audit_reload(int ok, const struct gw_snap *s, size_t errors)
{
    struct vigie_buf f;

    if (gw.audit == NULL)
        return;
    vigie_buf_init(&f, 4096);
    if (ok) {
        vigie_buf_printf(&f, "\"ok\":true,");
        gw_audit_policy(&f, s->policy);
    } else {
        vigie_buf_printf(&f, "\"ok\":false,\"errors\":%zu", errors);
    }
    if (f.data == NULL || audit_write(gw.audit, "reload", f.data, f.len) != VIGIE_OK) {
        struct vlog_rec r;
        vlog_begin(&r, VLOG_ERROR, "audit_failed");
        vlog_str(&r, "record", "reload");
        vlog_end(&r);
    }
    vigie_buf_free(&f);
}

/* SIGHUP: the configuration file is read again (the command line laid over
 * it), then the policy, its packs, credentials, the pseudonym key and the
 * upstream table; timeouts and limits apply to connections from now on. All
 * of it is built beside the running snapshot and swapped in only if all of it
 * loaded. What only a restart can change is kept, and the log says so. */
static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
    const struct net_config *cfg = arg;
    struct net_config *nc = NULL;
    const struct net_config *use = cfg;
    struct vigie_diag diag;
    struct gw_snap *s;

    vigie_diag_init(&diag);
    if (cfg->reload != NULL) {
        if ((nc = calloc(1, sizeof(*nc))) == NULL ||
            cfg->reload(nc, cfg->reload_arg, &diag) != VIGIE_OK) {
            if (nc == NULL)
                vigie_diag_add(&diag, NULL, 0, 0, "out of memory");
            goto failed;
        }
        use = nc;
    }
    s = snap_build(use, &diag);
    if (s == NULL)
        goto failed;
    if (nc != NULL) {
        char kept[128];
        restart_only(cfg, nc, kept, sizeof(kept));
        if (kept[0] != '\0') {
            struct vlog_rec r;
            vlog_begin(&r, VLOG_WARN, "restart_needed");
            vlog_str(&r, "kept", kept);
            vlog_str(&r, "reason", "these settings are read at start only; the rest was reloaded");
            vlog_end(&r);
        }
        vlog_open(STDERR_FILENO, (enum vlog_level)nc->log_level);
        net_config_fini(nc);
        free(nc);
    }
    vigie_diag_free(&diag);
    snap_install(s);
    metrics_reload(gw.metrics, 1);
    metrics_set_policy(gw.metrics, policy_id(s->policy), policy_version(s->policy));
    audit_set_fail_open(gw.audit, policy_audit_fail_open(s->policy));
    audit_reload(1, s, 0);
    log_policy("reloaded", s);
    return;
failed:
    /* The running snapshot stays: a bad edit never takes the gateway down. */
    log_diag(VLOG_ERROR, "reload_failed", &diag);
    audit_reload(0, NULL, diag.n);
    metrics_reload(gw.metrics, 0);
    vigie_diag_free(&diag);
    if (nc != NULL) {
        net_config_fini(nc);
        free(nc);
    }
}

static struct event *drain_poll;

/* While the workers drain, the main loop goes on (the admin listener answers
 * /healthz with 503 "draining"); it ends when the last worker has stopped. */
static void on_drain_poll(evutil_socket_t fd, short what, void *arg)
{
    struct event_base *base = arg;
    struct timeval tv = {0, 50000};

    if (atomic_load(&workers_done) == gw.cfg->workers) {
        event_base_loopbreak(base);
        return;
    }
    evtimer_add(drain_poll, &tv);
}

static const char *stop_reason = "error";

/* SIGUSR1: logrotate moved the audit log; the writer opens the name again. */
static void on_sigusr1(evutil_socket_t sig, short what, void *arg)
{
    struct vlog_rec r;

    (void)sig, (void)what, (void)arg;
    audit_reopen(gw.audit);
    vlog_begin(&r, VLOG_INFO, "audit_reopen");
    vlog_end(&r);
}

static void on_sigterm(evutil_socket_t sig, short what, void *arg)
{
    struct event_base *base = arg;
    struct timeval tv = {0, 50000};
    unsigned i;
    struct vlog_rec r;

    if (atomic_exchange(&gw.draining, 1))
        return;
    stop_reason = sig == SIGINT ? "sigint" : "sigterm";
    vlog_begin(&r, VLOG_INFO, "draining");
    vlog_str(&r, "signal", sig == SIGINT ? "SIGINT" : "SIGTERM");
    vlog_end(&r);
    for (i = 0; i < gw.cfg->workers; i++)
        event_active(workers[i].drain_ev, EV_TIMEOUT, 0);
    if (drain_poll == NULL && (drain_poll = evtimer_new(base, on_drain_poll, base)) == NULL) {
        event_base_loopbreak(base);
        return;
    }
    evtimer_add(drain_poll, &tv);
}

/* ---- start and stop ---------------------------------------------------------------------- */

static int tls_contexts(const struct net_config *cfg)
{
    size_t i;

    for (i = 0; i < cfg->nlistens; i++) {
        const struct net_listen *ln = &cfg->listens[i];
        struct tls_server_opts o;
        char err[512];
        if (ln->ncerts == 0)
            continue;
        memset(&o, 0, sizeof(o));
        for (o.ncerts = 0; o.ncerts < ln->ncerts && o.ncerts < TLS_CERTS_MAX; o.ncerts++) {
            o.certs[o.ncerts].cert = ln->certs[o.ncerts];
            o.certs[o.ncerts].key = ln->keys[o.ncerts];
        }
        o.client_ca = ln->client_ca;
        o.client_cert = (enum tls_client_cert)ln->client_cert;
        if ((listen_ctx[i] = tls_server_ctx_new(&o, err, sizeof(err))) == NULL) {
            struct vlog_rec r;
            vlog_begin(&r, VLOG_ERROR, "tls_failed");
            vlog_str(&r, "listener", ln->address);
            vlog_str(&r, "reason", err);
            vlog_end(&r);
            return -1;
        }
    }
    return 0;
}

int net_serve(struct net_config *cfg)
{
    struct vigie_diag diag;
    struct gw_snap *s;
    struct event_base *base = NULL;
    struct event *ev_hup = NULL, *ev_term = NULL, *ev_int = NULL, *ev_usr1 = NULL;
    struct evconnlistener *admin = NULL;
    sigset_t all, old;
    unsigned i, started = 0;
    size_t j;
    int rc = 1;

    signal(SIGPIPE, SIG_IGN);
    /* A file size limit reached on the audit log is a write error (EFBIG)
     * that fails closed, not a reason to die. */
    signal(SIGXFSZ, SIG_IGN);
    api_init();
    evthread_use_pthreads();
    memset(&gw, 0, sizeof(gw));
    gw.cfg = cfg;
    if (RAND_bytes(process_key, sizeof(process_key)) != 1)
        return 1;
    if ((gw.metrics = metrics_new(cfg->workers, VIGIE_VERSION)) == NULL)
        return 1;
    vigie_diag_init(&diag);
    s = snap_build(cfg, &diag);
    if (s == NULL) {
        log_diag(VLOG_ERROR, "config_failed", &diag);
        for (j = 0; j < diag.n; j++)
            fprintf(stderr, "%s\n", diag.msgs[j]);
        vigie_diag_free(&diag);
        metrics_free(gw.metrics);
        return 1;
    }
    vigie_diag_free(&diag);
    snap_install(s);
    metrics_set_policy(gw.metrics, policy_id(s->policy), policy_version(s->policy));
    if (!cfg->audit_off) {
        /* The log opens before the first socket: a gateway that cannot
         * record does not start. */
        struct vigie_buf f;
        vigie_buf_init(&f, 4096);
        vigie_buf_printf(&f, "\"version\":\"%s\",\"pid\":%ld,\"workers\":%u,", VIGIE_VERSION,
                         (long)getpid(), cfg->workers);
        gw_audit_policy(&f, s->policy);
        vigie_diag_init(&diag);
        if (f.data == NULL || audit_open(&gw.audit, &cfg->audit, f.data, &diag) != VIGIE_OK) {
            log_diag(VLOG_ERROR, "audit_failed", &diag);
            for (j = 0; j < diag.n; j++)
                fprintf(stderr, "vigie serve: audit log: %s\n", diag.msgs[j]);
            vigie_diag_free(&diag);
            vigie_buf_free(&f);
            goto out;
        }
        vigie_diag_free(&diag);
        vigie_buf_free(&f);
        audit_set_fail_open(gw.audit, policy_audit_fail_open(s->policy));
    } else {
        struct vlog_rec r;
        vlog_begin(&r, VLOG_WARN, "audit_off");
        vlog_str(&r, "reason", "started with --no-audit or 'audit: off': no usage records");
        vlog_end(&r);
    }
    if (tls_contexts(cfg) != 0)
        goto out;
    if ((workers = calloc(cfg->workers, sizeof(*workers))) == NULL)
        goto out;
    /* Every socket is bound here, before any thread starts, so that a port
     * in use is reported at once; port 0 takes the first socket's port. */
    for (i = 0; i < cfg->workers; i++) {
        struct gw_worker *w = &workers[i];
        w->magic = GW_WORKER_MAGIC;
        w->index = i;
        w->cfg = cfg;
        w->metrics = metrics_shard(gw.metrics, i);
        w->next_id = ((uint64_t)rand_u32() << 20);
        if ((w->base = event_base_new()) == NULL || (w->pctx = policy_ctx_new()) == NULL)
            goto out;
        w->drain_ev = event_new(w->base, -1, 0, on_drain, w);
        w->drain_timer = evtimer_new(w->base, on_drain_timeout, w);
        for (j = 0; j < cfg->nlistens; j++) {
            struct net_listen *ln = &cfg->listens[j];
            char err[256];
            evutil_socket_t fd = -1;
            if (i == 0 && probe_address(ln, err, sizeof(err)) != 0)
                fd = -1;
            else
                fd = listen_socket(&ln->ss, ln->sslen, err, sizeof(err));
            if (fd < 0) {
                struct vlog_rec r;
                vlog_begin(&r, VLOG_ERROR, "listen_failed");
                vlog_str(&r, "address", ln->address);
                vlog_str(&r, "reason", err);
                vlog_end(&r);
                fprintf(stderr, "vigie serve: cannot listen on %s: %s\n", ln->address, err);
                goto out;
            }
            w->listeners[j] = evconnlistener_new(w->base, on_accept, w, LEV_OPT_CLOSE_ON_FREE,
                                                 -1, fd);
            if (w->listeners[j] == NULL) {
                close(fd);
                goto out;
            }
            w->nlisteners++;
        }
    }
    base = event_base_new();
    if (base == NULL)
        goto out;
    ev_hup = evsignal_new(base, SIGHUP, on_sighup, cfg);
    ev_term = evsignal_new(base, SIGTERM, on_sigterm, base);
    ev_int = evsignal_new(base, SIGINT, on_sigterm, base);
    ev_usr1 = evsignal_new(base, SIGUSR1, on_sigusr1, NULL);
    if (ev_hup == NULL || ev_term == NULL || ev_int == NULL || ev_usr1 == NULL ||
        evsignal_add(ev_hup, NULL) != 0 || evsignal_add(ev_term, NULL) != 0 ||
        evsignal_add(ev_int, NULL) != 0 || evsignal_add(ev_usr1, NULL) != 0)
        goto out;
    if (cfg->admin != NULL) {
        struct sockaddr_storage ss;
        socklen_t sl;
        char err[256];
        if (net_address_parse(cfg->admin, &ss, &sl, err, sizeof(err)) != VIGIE_OK)
            goto out;
        admin = evconnlistener_new_bind(base, admin_accept, base,
                                        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 128,
                                        (struct sockaddr *)&ss, (int)sl);
        if (admin == NULL) {
            fprintf(stderr, "vigie serve: cannot listen on %s (admin): %s\n", cfg->admin,
                    strerror(errno));
            goto out;
        }
    }
    /* Workers never take signals: the main thread's event base does. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (i = 0; i < cfg->workers; i++) {
        if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0)
            break;
        started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (started != cfg->workers) {
        atomic_store(&gw.draining, 1);
        for (i = 0; i < started; i++)
            event_active(workers[i].drain_ev, EV_TIMEOUT, 0);
        goto join;
    }
    for (j = 0; j < cfg->nlistens; j++) {
        struct vlog_rec r;
        char a[80];
        addr_text(&cfg->listens[j].ss, a, sizeof(a));
        vlog_begin(&r, VLOG_INFO, "listening");
        vlog_str(&r, "address", a);
        vlog_bool(&r, "tls", cfg->listens[j].ncerts > 0);
        vlog_end(&r);
    }
    {
        struct vlog_rec r;
        vlog_begin(&r, VLOG_INFO, "ready");
        vlog_str(&r, "version", VIGIE_VERSION);
        vlog_uint(&r, "workers", cfg->workers);
        vlog_str(&r, "policy", policy_id(s->policy));
        vlog_str(&r, "policy_version", policy_version(s->policy));
        if (cfg->admin != NULL)
            vlog_str(&r, "admin", cfg->admin);
        vlog_end(&r);
    }
    event_base_dispatch(base);
    rc = 0;
join:
    for (i = 0; i < started; i++)
        pthread_join(workers[i].thread, NULL);
    {
        struct vlog_rec r;
        vlog_begin(&r, VLOG_INFO, "stopped");
        vlog_end(&r);
    }
out:
    while (admin_conns != NULL)
        admin_free(admin_conns);
    if (drain_poll != NULL)
        event_free(drain_poll);
    drain_poll = NULL;
    if (admin != NULL)
        evconnlistener_free(admin);
    if (ev_hup != NULL)
        event_free(ev_hup);
    if (ev_term != NULL)
        event_free(ev_term);
    if (ev_int != NULL)
        event_free(ev_int);
    if (ev_usr1 != NULL)
        event_free(ev_usr1);
    if (base != NULL)
        event_base_free(base);
    for (i = 0; workers != NULL && i < cfg->workers; i++) {
        struct gw_worker *w = &workers[i];
        for (j = 0; j < w->nlisteners; j++)
            if (w->listeners[j] != NULL)
                evconnlistener_free(w->listeners[j]);
        if (w->drain_ev != NULL)
            event_free(w->drain_ev);
        if (w->drain_timer != NULL)
            event_free(w->drain_timer);
        if (w->base != NULL)
            event_base_free(w->base);
        policy_ctx_free(w->pctx);
    }
    free(workers);
    workers = NULL;
    for (j = 0; j < NET_LISTEN_MAX; j++) {
        if (listen_ctx[j] != NULL)
            SSL_CTX_free(listen_ctx[j]);
        listen_ctx[j] = NULL;
    }
    /* Every worker has ended: the stop record is the last one. */
    audit_close(gw.audit, rc == 0 ? stop_reason : "start_failed");
    gw.audit = NULL;
    snap_install(NULL);
    metrics_free(gw.metrics);
    gw.metrics = NULL;
    vigie_wipe(process_key, sizeof(process_key));
    return rc;
}
