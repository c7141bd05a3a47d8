/*
 * A client connection and the exchanges it carries, one at a time.
 *
 * The whole request is read before anything is sent upstream (nginx's
 * "read the whole body, then start the upstream"): the body is inspected as a
 * whole, and a refused request never costs the model a byte. The answer then
 * flows back as it comes: a streamed answer event by event through the
 * pseudonym-restoring filter, a non-streamed one restored as a whole.
 *
 * Connection states (struct gw_conn.state):
 *
 *   IDLE --byte--> HEAD --head ok--> BODY --complete--> UPSTREAM --answer head--> RESPONDING
 *    ^                |                |                   |                          |
 *    |                +-- refused -----+--> CLOSING <------+--- failed / close -------+
 *    +------------------------------ keep-alive: answer complete ---------------------+
 *
 * Pipelined bytes wait in the input buffer (bounded by the read watermark)
 * until the exchange in progress ends; they are never parsed ahead of it.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent_ssl.h>

#include "net/echo.h"
#include "net/gw.h"
#include "net/log.h"
#include "net/tls.h"

#define CONN_OUT_HIGH (1u << 20) /* client output buffered before the model is paused */
#define ANSWER_TAIL 256u          /* text of a streamed answer kept to judge the next piece */
#define ANSWER_STREAMS 8u         /* (choice, field) streams judged per answer */

enum conn_state {
    CS_IDLE = 0,       /* 0: between requests (keep-alive) or before the first */
    CS_HEAD = 1,       /* 1: request head arriving */
    CS_BODY = 2,       /* 2: request body arriving */
    CS_UPSTREAM = 3,   /* 3: decided and sent; no answer byte to the client yet */
    CS_RESPONDING = 4, /* 4: answer head sent; body flowing */
    CS_CLOSING = 5,    /* 5: last bytes flushing, then close */
};

enum resp_mode {
    RM_BUFFER = 0, /* whole answer read, restored, sent with Content-Length */
    RM_SSE = 1,    /* text/event-stream, filtered event by event, chunked */
    RM_NDJSON = 2, /* application/x-ndjson, line by line, chunked */
    RM_PASS = 3,   /* passthrough: passed on as it comes, chunked */
};

struct gw_conn {
    unsigned magic;
    struct gw_worker *w;
    struct bufferevent *bev;
    struct event *timer;
    struct event *resume; /* parse pipelined bytes after an exchange, without recursion */
    enum conn_state state;
    struct gw_conn *prev, *next;
    char peer[64];
    struct gw_tunables tun; /* copied from the snapshot at accept and at each request */
    int tls;
    int subject_known;
    char subject[512];
    unsigned served;
    int close_after;
    struct http_parser req;

    /* ---- the exchange in progress ---- */
    char id[17];
    uint64_t t0, t_body_done, t_up_sent, t_up_done;
    struct gw_snap *snap;
    struct policy_identity who;
    int who_ok;
    int ep; /* enum policy_endpoint, -1 unknown */
    int passthrough; /* a policy passthrough path: forwarded and answered uninspected */
    const char *lang;
    struct vigie_buf body;
    size_t body_max;
    struct api_body *api;      /* the request: the decision's strings point into it */
    struct api_body *api_resp; /* a non-streamed answer */
    struct policy_decision d;
    int d_inited;
    const char *decision; /* for logs and metrics */
    const struct gw_upstream *up;
    struct gw_upconn *uc;
    int status;
    const char *code;
    enum resp_mode mode;
    struct api_stream *flt;
    struct vigie_buf resp;
    struct vigie_buf out;
    char ctype[128];
    /* Answer clauses on a streamed answer: each released piece is judged with
     * the end of the text before it, so a value split across events is seen
     * whole once its last piece arrives (and that piece never goes out). */
    struct answer_tail {
        int64_t choice;
        int field;
        size_t len;
        char text[ANSWER_TAIL];
    } *tails; /* ANSWER_STREAMS of them, only while such an answer streams */
    size_t ntails;
    const char *stop_code;
    int head_sent;
    uint64_t bytes_in, bytes_out;
    struct api_usage usage;
    char model_asked[API_MODEL_NAME_MAX]; /* "" unknown to the policy or absent */
    int stream;       /* the client asked for a stream */
    int committed;    /* the audit record is written (or was tried) */
    int no_record;    /* 503 audit_unavailable: nothing can be recorded */
    int retry_after;  /* add Retry-After to the answer */
    int hide_usage;   /* vigie asked for usage the client did not: hide its chunk */
};

static void process_input(struct gw_conn *c);
static void exchange_end(struct gw_conn *c, int close);
static int commit(struct gw_conn *c, size_t tail);
static void respond_unrecorded(struct gw_conn *c, int close);

/* ---- small helpers ----------------------------------------------------------- */

static void arm(struct gw_conn *c, unsigned ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
}

static void conn_free(struct gw_conn *c)
{
    struct gw_worker *w = c->w;

    gw_upstream_cancel(c->uc);
    c->uc = NULL;
    if (c->bev != NULL) {
        SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
        if (ssl != NULL)
            SSL_set_shutdown(ssl, SSL_RECEIVED_SHUTDOWN);
        bufferevent_free(c->bev);
    }
    if (c->timer != NULL)
        event_free(c->timer);
    if (c->resume != NULL)
        event_free(c->resume);
    http_parser_fini(&c->req);
    vigie_buf_free(&c->body);
    vigie_buf_free(&c->resp);
    vigie_buf_free(&c->out);
    api_body_free(c->api);
    api_body_free(c->api_resp);
    api_stream_free(c->flt);
    if (c->tails != NULL) {
        vigie_wipe(c->tails, ANSWER_STREAMS * sizeof(*c->tails));
        free(c->tails);
    }
    if (c->d_inited)
        policy_decision_fini(&c->d);
    gw_snap_unref(c->snap);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->magic = 0;
    free(c);
    gw_worker_conn_closed(w);
}

static int out_write(struct gw_conn *c, const void *p, size_t n)
{
    c->bytes_out += n;
    return bufferevent_write(c->bev, p, n);
}

/* Head of an answer vigie writes itself, into h (768 bytes); its length. */
static size_t format_head(struct gw_conn *c, int status, const char *ctype, uint64_t length,
                          int close, char *h, size_t hsz)
{
    int n;

    n = snprintf(h, hsz, "HTTP/1.1 %d %s\r\n", status, http_status_reason(status));
    if (ctype != NULL && ctype[0] != '\0')
        n += snprintf(h + n, hsz - (size_t)n, "Content-Type: %s\r\n", ctype);
    if (length == HTTP_LENGTH_NONE)
        n += snprintf(h + n, hsz - (size_t)n,
                      "Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n");
    else
        n += snprintf(h + n, hsz - (size_t)n, "Content-Length: %llu\r\n",
                      (unsigned long long)length);
    n += snprintf(h + n, hsz - (size_t)n, "x-request-id: %s\r\n", c->id);
    if (c->decision != NULL && status < 400 &&
        (strcmp(c->decision, "allow") == 0 || strcmp(c->decision, "mask") == 0 ||
         strcmp(c->decision, "reroute") == 0))
        n += snprintf(h + n, hsz - (size_t)n, "x-vigie-decision: %s\r\n", c->decision);
    if (c->retry_after)
        n += snprintf(h + n, hsz - (size_t)n, "Retry-After: 5\r\n");
    if (close)
        n += snprintf(h + n, hsz - (size_t)n, "Connection: close\r\n");
    n += snprintf(h + n, hsz - (size_t)n, "\r\n");
    VIGIE_ASSERT(n > 0 && (size_t)n < hsz);
    return (size_t)n;
}

static void write_head(struct gw_conn *c, int status, const char *ctype, uint64_t length,
                       int close)
{
    char h[768];
    size_t n = format_head(c, status, ctype, length, close, h, sizeof(h));

    out_write(c, h, n);
    c->head_sent = 1;
    c->status = status;
}

/* An answer vigie writes whole (head and body), after its audit record:
 * the one way a complete answer leaves without streaming. When the record
 * cannot be written the answer is withheld (503). Ends the exchange. */
static void respond_whole(struct gw_conn *c, int status, const char *ctype, const char *body,
                          size_t len, int close)
{
    char h[768];
    size_t hn;

    c->status = status;
    hn = format_head(c, status, ctype, len, close, h, sizeof(h));
    if (commit(c, hn + len) != 0) {
        respond_unrecorded(c, close || c->close_after);
        return;
    }
    out_write(c, h, hn);
    c->head_sent = 1;
    out_write(c, body, len);
    exchange_end(c, close);
}

/* A refusal or failure in OpenAI's error shape; ends the exchange. */
static void respond_error(struct gw_conn *c, int status, const char *type, const char *code,
                          const char *message, int close)
{
    struct vigie_buf b;

    vigie_buf_init(&b, 8192);
    if (vigie_buf_append(&b, "{\"error\":{\"message\":", 20) != VIGIE_OK ||
        vigie_buf_json_str(&b, message, strlen(message)) != VIGIE_OK ||
        vigie_buf_append(&b, ",\"type\":", 8) != VIGIE_OK ||
        vigie_buf_json_str(&b, type, strlen(type)) != VIGIE_OK ||
        vigie_buf_append(&b, ",\"code\":", 8) != VIGIE_OK ||
        vigie_buf_json_str(&b, code, strlen(code)) != VIGIE_OK ||
        vigie_buf_append(&b, "}}\n", 3) != VIGIE_OK) {
        close = 1;
        vigie_buf_init(&b, 64);
        vigie_buf_append(&b, "{\"error\":{\"message\":\"internal\"}}\n", 33);
    }
    c->code = code;
    if (c->decision == NULL)
        c->decision = "none";
    respond_whole(c, status, "application/json", b.data, b.len, close);
    vigie_buf_free(&b);
}

/* The audit log cannot take this exchange's record: the answer does not go
 * out. 503 with Retry-After, and nothing recorded (there is nowhere to). */
static void respond_unrecorded(struct gw_conn *c, int close)
{
    c->no_record = 1;
    c->retry_after = 1;
    c->decision = "none";
    respond_error(c, 503, "server_error", "audit_unavailable",
                  c->lang != NULL && strcmp(c->lang, "en") == 0
                      ? "the audit log cannot be written: the request was not served; retry later"
                      : "le journal d'audit ne peut pas être écrit : la requête n'a pas été "
                        "traitée ; réessayez plus tard",
                  close);
}

static const char *why_code(enum policy_why why)
{
    return policy_why_name(why);
}

static int why_status(enum policy_why why)
{
    switch (why) {
    case POLICY_WHY_UNKNOWN_CALLER: return 401;
    case POLICY_WHY_ENDPOINT:
    case POLICY_WHY_MODEL:
    case POLICY_WHY_BLOCKED:
    case POLICY_WHY_RESTRICTED: return 403;
    case POLICY_WHY_BODY: return 413;
    case POLICY_WHY_MESSAGES: return 400;
    case POLICY_WHY_BUDGET:
    case POLICY_WHY_DETECTOR: return 422;
    default: return 500;
    }
}

static void respond_policy(struct gw_conn *c, enum policy_why why, int close)
{
    const char *msg = policy_message(c->snap->policy, why, c->lang);
    int status = why_status(why);

    respond_error(c, status, status >= 500 ? "server_error" : "policy_error", why_code(why),
                  msg != NULL ? msg : policy_why_name(why), close);
}

/* ---- the audit record, logs and metrics of one exchange ------------------------- */

/* The model named in a request, for records: only a name the policy knows
 * (a client could put anything in that field, even the data we protect). */
static void note_model(struct gw_conn *c, const char *model)
{
    const struct policy *p = c->snap->policy;
    size_t i, j, n;

    c->model_asked[0] = '\0';
    if (model == NULL || (n = strlen(model)) >= sizeof(c->model_asked))
        return;
    for (i = 0; i < policy_nupstreams(p); i++) {
        struct policy_upstream_info ui;
        policy_upstream_info(policy_upstream_at(p, i), &ui);
        for (j = 0; j < ui.nmodels; j++) {
            if (strcmp(ui.models[j], model) == 0) {
                memcpy(c->model_asked, model, n + 1);
                return;
            }
        }
    }
}

/* Hits are counted per rule (and per action with by_action) for records
 * and logs: the size of hit i's group when i is its first member, else 0. */
static size_t hit_group(const struct policy_decision *d, size_t i, int by_action)
{
    const struct policy_hit *h = &d->hits[i];
    size_t j, n = 0;

    for (j = 0; j < d->nhits; j++) {
        int same = d->hits[j].rule == h->rule && (!by_action || d->hits[j].applied == h->applied);
        if (same && j < i)
            return 0;
        n += same;
    }
    return n;
}

static void json_str_or_null(struct vigie_buf *f, const char *s)
{
    if (s == NULL || s[0] == '\0')
        vigie_buf_append(f, "null", 4);
    else
        vigie_buf_json_str(f, s, strlen(s));
}

/* Writes the exchange's audit record (docs/audit.md), once, before the
 * answer's last `tail` bytes are queued: a client never holds a complete
 * answer whose record is not in the log. Returns 0, or -1 when the log
 * cannot take it (the answer must not complete). */
static int commit(struct gw_conn *c, size_t tail)
{
    struct vigie_buf f;
    uint64_t now = gw_now_ns(), upstream = 0, total;
    const struct policy *p;
    size_t i;
    int rc;

    if (c->committed || c->no_record || gw.audit == NULL)
        return 0;
    c->committed = 1;
    total = now - c->t0;
    if (c->t_up_sent != 0 && c->t_up_done >= c->t_up_sent)
        upstream = c->t_up_done - c->t_up_sent;
    p = c->snap != NULL ? c->snap->policy : NULL;
    vigie_buf_init(&f, AUDIT_LINE_MAX - 512);
    vigie_buf_printf(&f, "\"id\":\"%s\",\"caller\":", c->id);
    json_str_or_null(&f, c->who_ok ? c->who.id : NULL);
    vigie_buf_printf(&f, ",\"groups\":[");
    for (i = 0; c->who_ok && i < c->who.ngroups; i++) {
        const char *g = policy_group_name(c->who.groups[i]);
        if (i > 0)
            vigie_buf_appendc(&f, ',');
        vigie_buf_json_str(&f, g, strlen(g));
    }
    vigie_buf_printf(&f, "],\"client\":");
    json_str_or_null(&f, c->peer);
    vigie_buf_printf(&f, ",\"endpoint\":");
    json_str_or_null(&f, c->ep >= 0 ? policy_endpoint_name((enum policy_endpoint)c->ep)
                                    : c->passthrough ? "passthrough" : NULL);
    vigie_buf_printf(&f, ",\"model\":");
    json_str_or_null(&f, c->model_asked);
    vigie_buf_printf(&f, ",\"model_served\":");
    json_str_or_null(&f, c->usage.model);
    vigie_buf_printf(&f, ",\"upstream\":");
    json_str_or_null(&f, c->up != NULL ? c->up->name : NULL);
    vigie_buf_printf(&f, ",\"trust\":");
    json_str_or_null(&f, c->up == NULL ? NULL
                         : c->up->trust == POLICY_TRUST_EXTERNAL ? "external" : "internal");
    vigie_buf_appendc(&f, ',');
    gw_audit_policy(&f, p);
    vigie_buf_printf(&f, ",\"decision\":\"%s\",\"findings\":[",
                     c->decision != NULL ? c->decision : "none");
    /* one entry per (rule, action): rule id, category, count; never a value */
    for (i = 0; c->d_inited && i < c->d.nhits; i++) {
        const struct policy_hit *h = &c->d.hits[i];
        size_t n = hit_group(&c->d, i, 1);
        if (n == 0)
            continue;
        vigie_buf_printf(&f, "%s{\"rule\":", f.data != NULL && f.data[f.len - 1] == '[' ? "" : ",");
        json_str_or_null(&f, detect_rule_id(h->rule));
        vigie_buf_printf(&f, ",\"category\":");
        json_str_or_null(&f, detect_rule_category(h->rule));
        vigie_buf_printf(&f, ",\"count\":%zu,\"action\":\"%s\"}", n,
                         policy_action_name(h->applied));
    }
    vigie_buf_printf(&f, "],\"stream\":%s,", c->stream ? "true" : "false");
    if (c->usage.present)
        vigie_buf_printf(&f, "\"tokens_in\":%lld,\"tokens_out\":%lld,",
                         (long long)c->usage.prompt_tokens,
                         (long long)c->usage.completion_tokens);
    else
        vigie_buf_printf(&f, "\"tokens_in\":null,\"tokens_out\":null,");
    vigie_buf_printf(&f,
                     "\"bytes_in\":%llu,\"bytes_out\":%llu,\"status\":%d,\"code\":",
                     (unsigned long long)c->bytes_in, (unsigned long long)(c->bytes_out + tail),
                     c->status);
    json_str_or_null(&f, c->code);
    vigie_buf_printf(&f, ",\"ms\":%.3f,\"vigie_ms\":%.3f", (double)total / 1e6,
                     (double)(total - (upstream < total ? upstream : total)) / 1e6);
    rc = f.data != NULL ? audit_write(gw.audit, "exchange", f.data, f.len) : VIGIE_ERR_NOMEM;
    vigie_buf_free(&f);
    if (rc != VIGIE_OK) {
        struct vlog_rec r;
        /* counted for the storage_error record: refused, or served unrecorded */
        audit_refused(gw.audit);
        vlog_begin(&r, VLOG_ERROR, "audit_failed");
        vlog_str(&r, "id", c->id);
        vlog_str(&r, "reason", vigie_strerror(rc));
        vlog_end(&r);
        /* The answer does not go out unrecorded (a broken log, or a record
         * that cannot be written at all), unless the policy says
         * audit_failure: serve. */
        return c->snap != NULL && policy_audit_fail_open(c->snap->policy) ? 0 : -1;
    }
    return 0;
}

static void account(struct gw_conn *c)
{
    uint64_t now = gw_now_ns();
    double total = (double)(now - c->t0) / 1e9;
    double inspect = c->d_inited ? (double)c->d.inspect_ns / 1e9 : -1.0;
    double upstream = 0, added;
    const char *upname = c->up != NULL ? c->up->name : "none";
    size_t i;

    /* An exchange cut short (client gone, stream cut) is recorded here; a
     * complete answer was recorded before its last bytes. */
    (void)commit(c, 0);
    if (c->t_up_sent != 0 && c->t_up_done >= c->t_up_sent)
        upstream = (double)(c->t_up_done - c->t_up_sent) / 1e9;
    added = total - upstream;
    if (added < 0)
        added = 0;
    metrics_request(c->w->metrics, c->status, c->decision != NULL ? c->decision : "none",
                    upname, total, inspect, added);
    if (c->d_inited) {
        for (i = 0; i < c->d.nhits; i++)
            metrics_finding(c->w->metrics, detect_rule_category(c->d.hits[i].rule),
                            policy_action_name(c->d.hits[i].applied), 1);
    }
    if (vlog_enabled(VLOG_INFO)) {
        struct vlog_rec r;
        struct vigie_buf f;
        vlog_begin(&r, VLOG_INFO, "request");
        vlog_str(&r, "id", c->id);
        vlog_str(&r, "peer", c->peer);
        if (c->who_ok) {
            vlog_str(&r, "caller", c->who.id);
            vigie_buf_init(&f, 2048);
            vigie_buf_appendc(&f, '[');
            for (i = 0; i < c->who.ngroups; i++) {
                const char *g = policy_group_name(c->who.groups[i]);
                if (i > 0)
                    vigie_buf_appendc(&f, ',');
                vigie_buf_json_str(&f, g, strlen(g));
            }
            if (vigie_buf_appendc(&f, ']') == VIGIE_OK)
                vlog_raw(&r, "groups", f.data);
            vigie_buf_free(&f);
        }
        if (c->ep >= 0)
            vlog_str(&r, "endpoint", policy_endpoint_name((enum policy_endpoint)c->ep));
        /* the model names the policy knows; a client's free text never */
        if (c->model_asked[0] != '\0')
            vlog_str(&r, "model", c->model_asked);
        if (c->d_inited && c->d.model != NULL && c->up != NULL &&
            strcmp(c->d.model, c->model_asked) != 0)
            vlog_str(&r, "model_sent", c->d.model);
        vlog_str(&r, "upstream", upname);
        vlog_str(&r, "decision", c->decision != NULL ? c->decision : "none");
        vlog_int(&r, "status", c->status);
        if (c->code != NULL)
            vlog_str(&r, "code", c->code);
        if (c->d_inited && c->d.nhits > 0) {
            /* rule id -> count, never a value */
            vigie_buf_init(&f, 3000);
            vigie_buf_appendc(&f, '{');
            for (i = 0; i < c->d.nhits; i++) {
                const struct detect_rule *rule = c->d.hits[i].rule;
                size_t n = hit_group(&c->d, i, 0);
                if (n == 0)
                    continue;
                if (f.len > 1)
                    vigie_buf_appendc(&f, ',');
                vigie_buf_json_str(&f, detect_rule_id(rule), strlen(detect_rule_id(rule)));
                vigie_buf_printf(&f, ":%zu", n);
            }
            if (vigie_buf_appendc(&f, '}') == VIGIE_OK)
                vlog_raw(&r, "findings", f.data);
            vigie_buf_free(&f);
        }
        if (c->usage.present) {
            vlog_int(&r, "tokens_in", c->usage.prompt_tokens);
            vlog_int(&r, "tokens_out", c->usage.completion_tokens);
        }
        vlog_uint(&r, "bytes_in", c->bytes_in);
        vlog_uint(&r, "bytes_out", c->bytes_out);
        vlog_double(&r, "ms", total * 1000, 3);
        if (inspect >= 0)
            vlog_double(&r, "inspect_ms", inspect * 1000, 3);
        vlog_double(&r, "added_ms", added * 1000, 3);
        vlog_end(&r);
    }
}

/* Frees what one exchange held (prompt bytes wiped) and readies the next. */
static void exchange_reset(struct gw_conn *c)
{
    gw_upstream_cancel(c->uc);
    c->uc = NULL;
    vigie_buf_reset(&c->body);
    vigie_buf_free(&c->resp);
    vigie_buf_free(&c->out);
    api_body_free(c->api);
    c->api = NULL;
    api_body_free(c->api_resp);
    c->api_resp = NULL;
    api_stream_free(c->flt);
    c->flt = NULL;
    if (c->d_inited)
        policy_decision_fini(&c->d);
    c->d_inited = 0;
    gw_snap_unref(c->snap);
    c->snap = NULL;
    memset(&c->who, 0, sizeof(c->who));
    c->who_ok = 0;
    c->ep = -1;
    c->passthrough = 0;
    c->decision = NULL;
    c->up = NULL;
    c->status = 0;
    c->code = NULL;
    c->mode = RM_BUFFER;
    if (c->tails != NULL) {
        vigie_wipe(c->tails, ANSWER_STREAMS * sizeof(*c->tails));
        free(c->tails);
        c->tails = NULL;
    }
    c->ntails = 0;
    c->stop_code = NULL;
    c->head_sent = 0;
    c->bytes_in = c->bytes_out = 0;
    c->t_body_done = c->t_up_sent = c->t_up_done = 0;
    memset(&c->usage, 0, sizeof(c->usage));
    c->model_asked[0] = '\0';
    c->stream = c->committed = c->no_record = c->retry_after = c->hide_usage = 0;
}

static void exchange_end(struct gw_conn *c, int close)
{
    account(c);
    c->served++;
    if (!close && (c->close_after || c->w->draining ||
                   !(http_parser_flags(&c->req) & HTTP_F_KEEP_ALIVE)))
        close = 1;
    exchange_reset(c);
    if (close) {
        c->state = CS_CLOSING;
        evtimer_del(c->timer);
        bufferevent_disable(c->bev, EV_READ);
        arm(c, 5000); /* bounded flush of the last bytes */
        if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
            event_active(c->resume, EV_TIMEOUT, 0);
        return;
    }
    http_parser_reset(&c->req);
    c->state = CS_IDLE;
    arm(c, c->tun.t.keepalive_ms);
    bufferevent_enable(c->bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
        event_active(c->resume, EV_TIMEOUT, 0);
}

/* ---- the answer ------------------------------------------------------------------ */

static int write_chunk(struct gw_conn *c, const char *p, size_t n)
{
    char h[24];
    int k;

    if (n == 0)
        return 0;
    k = snprintf(h, sizeof(h), "%zx\r\n", n);
    if (out_write(c, h, (size_t)k) != 0 || out_write(c, p, n) != 0 ||
        out_write(c, "\r\n", 2) != 0)
        return -1;
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) > CONN_OUT_HIGH && c->uc != NULL)
        gw_upstream_pause(c->uc, 1);
    return 0;
}

/* The stream filter's observer: judges each released piece of a streamed
 * answer with the tail of its stream before it. A piece that completes a
 * value an answer clause masks or blocks stops the stream before it goes out:
 * what was sent before cannot be masked any more, so the stream ends with an
 * error event rather than carry on (fail closed). */
static int answer_observe(void *arg, int64_t choice, int field, const char *text, size_t len)
{
    struct gw_conn *c = arg;
    struct answer_tail *t = NULL;
    struct vigie_buf win, out;
    size_t i, keep;
    int changed = 0, blocked = 0, rc;

    GW_CHECK(c, GW_CONN_MAGIC);
    for (i = 0; i < c->ntails && t == NULL; i++)
        if (c->tails[i].choice == choice && c->tails[i].field == field)
            t = &c->tails[i];
    if (t == NULL) {
        if (c->ntails == ANSWER_STREAMS) {
            c->stop_code = "answer_streams";
            return -1;
        }
        t = &c->tails[c->ntails++];
        t->choice = choice;
        t->field = field;
        t->len = 0;
    }
    vigie_buf_init(&win, ANSWER_TAIL + len + 1);
    vigie_buf_init(&out, VIGIE_API_OUT_MAX);
    if (vigie_buf_append(&win, t->text, t->len) != VIGIE_OK ||
        vigie_buf_append(&win, text, len) != VIGIE_OK) {
        c->stop_code = "internal";
        return -1;
    }
    rc = policy_filter_response(c->w->pctx, c->snap->policy, &c->who, win.data, win.len, &out,
                                &changed, &blocked);
    vigie_buf_free(&out);
    if (rc != VIGIE_OK || changed || blocked) {
        c->stop_code = rc != VIGIE_OK ? "detector" : blocked ? "answer_blocked" : "answer_masked";
        vigie_buf_free(&win);
        return -1;
    }
    /* The new tail: the window's last bytes, from a character boundary. */
    keep = win.len < ANSWER_TAIL ? win.len : ANSWER_TAIL;
    while (keep > 0 && ((unsigned char)win.data[win.len - keep] & 0xC0) == 0x80)
        keep--;
    memcpy(t->text, win.data + win.len - keep, keep);
    t->len = keep;
    vigie_buf_free(&win);
    return 0;
}

/* What a client reads when an answer clause refused the model's answer. */
static const char *answer_message(const struct gw_conn *c)
{
    return strcmp(c->lang, "en") == 0
               ? "The model's answer held data the policy does not let through: it was stopped."
               : "La réponse du modèle contenait des données que la politique ne laisse pas "
                 "passer : elle a été interrompue.";
}

/* Ends a streamed answer that an answer clause stopped: the events already
 * judged, then an error event in the stream's own format, then the end of
 * the chunked body. The model's connection is closed. */
static void stop_stream(struct gw_conn *c)
{
    const char *msg = answer_message(c);
    struct vigie_buf e;

    gw_upstream_cancel(c->uc);
    c->uc = NULL;
    c->code = c->stop_code != NULL ? c->stop_code : "answer_blocked";
    write_chunk(c, c->out.data, c->out.len);
    vigie_buf_init(&e, 4096);
    vigie_buf_printf(&e, "%s{\"error\":{\"message\":", c->mode == RM_SSE ? "data: " : "");
    vigie_buf_json_str(&e, msg, strlen(msg));
    vigie_buf_printf(&e, ",\"type\":\"policy_error\",\"code\":");
    vigie_buf_json_str(&e, c->code, strlen(c->code));
    if (vigie_buf_printf(&e, "}}%s", c->mode == RM_SSE ? "\n\n" : "\n") == VIGIE_OK)
        write_chunk(c, e.data, e.len);
    vigie_buf_free(&e);
    if (commit(c, 5) != 0) {
        exchange_end(c, 1); /* no last chunk: the client sees a cut answer */
        return;
    }
    out_write(c, "0\r\n\r\n", 5);
    exchange_end(c, 0);
}

static void on_up_head(void *arg, struct http_parser *p)
{
    struct gw_conn *c = arg;
    size_t len = 0;
    const char *ct = http_parser_get(p, "content-type", &len);
    int status = http_parser_status(p);

    GW_CHECK(c, GW_CONN_MAGIC);
    c->t_up_done = gw_now_ns(); /* moved on by every later byte */
    c->ctype[0] = '\0';
    if (ct != NULL && len < sizeof(c->ctype)) {
        memcpy(c->ctype, ct, len);
        c->ctype[len] = '\0';
    }
    c->status = status;
    if (c->passthrough) {
        c->mode = RM_PASS;
        write_head(c, status, c->ctype, HTTP_LENGTH_NONE, c->close_after);
        c->state = CS_RESPONDING;
        return;
    }
    if (status >= 200 && status < 300 && strncasecmp(c->ctype, "text/event-stream", 17) == 0)
        c->mode = RM_SSE;
    else if (status >= 200 && status < 300 &&
             strncasecmp(c->ctype, "application/x-ndjson", 20) == 0)
        c->mode = RM_NDJSON;
    else
        c->mode = RM_BUFFER;
    if (c->mode != RM_BUFFER) {
        struct api_limits lim;
        api_limits_default(&lim);
        c->flt = c->mode == RM_SSE ? api_sse_new(c->d.map, &lim) : api_ndjson_new(c->d.map, &lim);
        vigie_buf_init(&c->out, VIGIE_API_EVENT_MAX * 2u);
        if (c->flt != NULL && c->hide_usage)
            api_stream_hide_usage(c->flt);
        if (c->flt == NULL) {
            c->mode = RM_BUFFER; /* on_body refuses it: nothing unfiltered goes out */
            c->status = 0;
            return;
        }
        if (policy_answer_clauses(c->w->pctx, c->snap->policy, &c->who)) {
            /* Without room to judge the answer, it does not go out. */
            if ((c->tails = calloc(ANSWER_STREAMS, sizeof(*c->tails))) == NULL) {
                api_stream_free(c->flt);
                c->flt = NULL;
                c->mode = RM_BUFFER;
                c->status = 0;
                return;
            }
            api_stream_set_observer(c->flt, answer_observe, c);
        }
        write_head(c, status, c->ctype, HTTP_LENGTH_NONE, c->close_after);
        c->state = CS_RESPONDING;
    } else {
        vigie_buf_init(&c->resp, VIGIE_API_OUT_MAX);
    }
}

static int on_up_body(void *arg, const char *data, size_t len)
{
    struct gw_conn *c = arg;
    struct api_error err;

    GW_CHECK(c, GW_CONN_MAGIC);
    c->t_up_done = gw_now_ns();
    if (c->mode == RM_BUFFER) {
        if (c->status == 0 || vigie_buf_append(&c->resp, data, len) != VIGIE_OK) {
            gw_upstream_cancel(c->uc);
            c->uc = NULL;
            respond_error(c, 502, "upstream_error", "upstream_too_big",
                          "the model's answer is larger than the gateway accepts", 1);
            return -1;
        }
        return 0;
    }
    if (c->mode == RM_PASS) {
        if (write_chunk(c, data, len) != 0) {
            gw_upstream_cancel(c->uc);
            c->uc = NULL;
            exchange_end(c, 1);
            return -1;
        }
        return 0;
    }
    vigie_buf_reset(&c->out);
    if (api_stream_feed(c->flt, data, len, &c->out, &err) != VIGIE_OK) {
        if (err.why == API_WHY_STOPPED) {
            stop_stream(c);
            return -1;
        }
        /* An event we cannot filter is never passed on: cut the stream. */
        vigie_buf_init(&c->out, VIGIE_API_EVENT_MAX * 2u);
        gw_upstream_cancel(c->uc);
        c->uc = NULL;
        c->code = "upstream_event";
        exchange_end(c, 1);
        return -1;
    }
    if (write_chunk(c, c->out.data, c->out.len) != 0) {
        gw_upstream_cancel(c->uc);
        c->uc = NULL;
        exchange_end(c, 1);
        return -1;
    }
    return 0;
}

/* Restores pseudonyms in a non-streamed JSON answer and applies the answer
 * clauses. Returns 0 with the bytes to send in *out (pointing at resp or
 * c->out), or an HTTP status to refuse with. */
static int finish_buffered(struct gw_conn *c, const char **out, size_t *outlen)
{
    struct api_limits lim;
    struct api_error err;
    size_t i, n;
    int changed = 0;

    *out = c->resp.data != NULL ? c->resp.data : "";
    *outlen = c->resp.len;
    if (c->status < 200 || c->status >= 300 || c->ep == POLICY_EP_EMBEDDINGS ||
        strncasecmp(c->ctype, "application/json", 16) != 0)
        return 0;
    api_limits_default(&lim);
    api_body_free(c->api_resp);
    c->api_resp = NULL;
    if (api_response_parse((enum policy_endpoint)c->ep, *out, *outlen, &lim, &c->api_resp, &err) !=
        VIGIE_OK)
        return 0; /* not an answer we know: nothing to restore, passed as it came */
    api_body_usage(c->api_resp, &c->usage);
    if (c->d.map != NULL && api_body_restore(c->api_resp, c->d.map) != VIGIE_OK)
        return 502;
    /* Answer clauses (mask, block) on the restored texts. */
    n = api_body_ntexts(c->api_resp);
    for (i = 0; i < n; i++) {
        const struct policy_text *t = &api_body_texts(c->api_resp)[i];
        struct vigie_buf fb;
        int ch = 0, blocked = 0;
        vigie_buf_init(&fb, VIGIE_API_OUT_MAX);
        if (policy_filter_response(c->w->pctx, c->snap->policy, &c->who, t->s, t->len, &fb,
                                   &ch, &blocked) != VIGIE_OK) {
            vigie_buf_free(&fb);
            return 422;
        }
        if (blocked) {
            vigie_buf_free(&fb);
            return 403;
        }
        if (ch && api_body_set_text(c->api_resp, i, fb.data, fb.len) != VIGIE_OK) {
            vigie_buf_free(&fb);
            return 500;
        }
        changed |= ch;
        vigie_buf_free(&fb);
    }
    (void)changed;
    if (!api_body_changed(c->api_resp))
        return 0;
    vigie_buf_init(&c->out, VIGIE_API_OUT_MAX);
    if (api_body_write(c->api_resp, &c->out, &err) != VIGIE_OK)
        return 502;
    *out = c->out.data;
    *outlen = c->out.len;
    return 0;
}

static void on_up_done(void *arg)
{
    struct gw_conn *c = arg;
    struct api_error err;

    GW_CHECK(c, GW_CONN_MAGIC);
    c->uc = NULL;
    c->t_up_done = gw_now_ns();
    if (c->mode == RM_BUFFER) {
        const char *body;
        size_t len;
        int rc = finish_buffered(c, &body, &len);
        if (rc == 403) {
            respond_error(c, 403, "policy_error", "answer_blocked", answer_message(c), 0);
            return;
        }
        if (rc != 0) {
            respond_error(c, rc, "server_error", rc == 422 ? "detector" : "answer",
                          "the model's answer could not be checked", 0);
            return;
        }
        respond_whole(c, c->status, c->ctype, body, len, c->close_after);
        return;
    }
    if (c->mode == RM_PASS) {
        if (commit(c, 5) != 0) {
            exchange_end(c, 1);
            return;
        }
        out_write(c, "0\r\n\r\n", 5);
        exchange_end(c, 0);
        return;
    }
    vigie_buf_reset(&c->out);
    if (api_stream_finish(c->flt, &c->out, &err) != VIGIE_OK) {
        if (err.why == API_WHY_STOPPED)
            stop_stream(c);
        else
            exchange_end(c, 1);
        return;
    }
    api_stream_usage(c->flt, &c->usage);
    if (write_chunk(c, c->out.data, c->out.len) != 0 || commit(c, 5) != 0) {
        exchange_end(c, 1);
        return;
    }
    out_write(c, "0\r\n\r\n", 5);
    exchange_end(c, 0);
}

static void on_up_error(void *arg, int status, const char *code, int got_bytes)
{
    struct gw_conn *c = arg;
    static const struct {
        const char *code, *msg;
    } msgs[] = {
        {"upstream_connect", "the model could not be reached"},
        {"upstream_tls", "the model's TLS certificate did not verify"},
        {"upstream_timeout", "the model did not answer in time"},
        {"upstream_framing", "the model's answer was malformed"},
        {"upstream_truncated", "the model's answer was cut short"},
        {"upstream_closed", "the model closed the connection without answering"},
    };
    const char *msg = "the model failed";
    size_t i;

    GW_CHECK(c, GW_CONN_MAGIC);
    c->uc = NULL;
    c->t_up_done = gw_now_ns();
    for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
        if (strcmp(msgs[i].code, code) == 0)
            msg = msgs[i].msg;
    (void)got_bytes;
    if (c->head_sent) {
        /* Mid-stream: the client sees the chunked body end without its last
         * chunk, which every HTTP client reports as an error. */
        c->code = code;
        exchange_end(c, 1);
        return;
    }
    respond_error(c, status, "upstream_error", code, msg, 0);
}

static const struct gw_up_events up_events = {on_up_head, on_up_body, on_up_done, on_up_error};

/* ---- deciding ----------------------------------------------------------------------- */

static void answer_models(struct gw_conn *c)
{
    const struct policy *p = c->snap->policy;
    struct vigie_buf b;
    size_t i, j;
    int first = 1;

    vigie_buf_init(&b, 1u << 20);
    vigie_buf_printf(&b, "{\"object\":\"list\",\"data\":[");
    for (i = 0; i < policy_nupstreams(p); i++) {
        struct policy_upstream_info ui;
        policy_upstream_info(policy_upstream_at(p, i), &ui);
        for (j = 0; j < ui.nmodels; j++) {
            if (!policy_model_allowed(p, &c->who, ui.models[j]))
                continue;
            vigie_buf_printf(&b, "%s{\"id\":", first ? "" : ",");
            vigie_buf_json_str(&b, ui.models[j], strlen(ui.models[j]));
            vigie_buf_printf(&b, ",\"object\":\"model\",\"created\":0,\"owned_by\":");
            vigie_buf_json_str(&b, ui.name, strlen(ui.name));
            vigie_buf_appendc(&b, '}');
            first = 0;
        }
    }
    if (vigie_buf_printf(&b, "]}\n") != VIGIE_OK) {
        respond_error(c, 500, "server_error", "internal", "out of memory", 1);
        return;
    }
    c->decision = "allow";
    respond_whole(c, 200, "application/json", b.data, b.len, c->close_after);
    vigie_buf_free(&b);
}

static const struct gw_upstream *runtime_upstream(const struct gw_snap *s,
                                                  const struct policy_upstream *pu)
{
    size_t i;

    for (i = 0; i < s->nups; i++)
        if (s->ups[i].pu == pu)
            return &s->ups[i];
    return NULL;
}

/* Answers through the echo model, in-process, as if it were an upstream. */
static void send_echo(struct gw_conn *c, const char *body, size_t len)
{
    struct echo_reply er;
    struct http_parser fake;

    memset(&er, 0, sizeof(er));
    if (echo_reply((enum policy_endpoint)c->ep, body, len, &er) != VIGIE_OK) {
        echo_reply_free(&er);
        respond_error(c, 500, "server_error", "internal", "the echo model failed", 0);
        return;
    }
    c->t_up_sent = gw_now_ns();
    /* The echo's head goes through the same path as a model's: a parsed
     * response head. */
    {
        struct vigie_buf h;
        size_t used;
        vigie_buf_init(&h, 512);
        vigie_buf_printf(&h, "HTTP/1.1 %d OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                         er.status, er.content_type, er.body.len);
        http_parser_init(&fake, HTTP_RESPONSE, NULL);
        if (h.data == NULL || http_parse(&fake, h.data, h.len, &used) != HTTP_HEAD_DONE) {
            vigie_buf_free(&h);
            http_parser_fini(&fake);
            echo_reply_free(&er);
            respond_error(c, 500, "server_error", "internal", "the echo model failed", 0);
            return;
        }
        vigie_buf_free(&h);
    }
    on_up_head(c, &fake);
    http_parser_fini(&fake);
    if (on_up_body(c, er.body.data != NULL ? er.body.data : "", er.body.len) == 0)
        on_up_done(c);
    echo_reply_free(&er);
}

/* Sends the request upstream: rebuilt from the parsed head (one
 * Content-Length, no hop-by-hop field, none of the client's credentials or
 * identity header, the upstream's credential added, X-Forwarded-For set)
 * with body as its body; or answered by the echo model in-process. */
static void forward(struct gw_conn *c, const char *body, size_t blen)
{
    static const char *const drop[] = {"authorization", "x-api-key", "cookie", NULL};
    const char *dropu[5];
    struct http_forward fw;
    struct vigie_buf upreq;
    char target[1024];
    size_t tlen, k;
    const char *t = http_parser_target(&c->req, &tlen);
    const char *uh = policy_user_header(c->snap->policy);

    c->state = CS_UPSTREAM;
    if (c->up->kind == GW_UP_ECHO) {
        send_echo(c, body, blen);
        return;
    }
    for (k = 0; drop[k] != NULL; k++)
        dropu[k] = drop[k];
    if (uh != NULL)
        dropu[k++] = uh;
    dropu[k] = NULL;
    if (snprintf(target, sizeof(target), "%s%.*s", c->up->prefix, (int)tlen, t) >=
        (int)sizeof(target)) {
        respond_error(c, 414, "invalid_request_error", "target", "target too long", 1);
        return;
    }
    memset(&fw, 0, sizeof(fw));
    fw.host = c->up->hostport;
    fw.target = target;
    fw.client_addr = c->peer;
    fw.drop = dropu;
    fw.add = c->up->cred_value != NULL ? &c->up->cred : NULL;
    fw.n_add = c->up->cred_value != NULL ? 1 : 0;
    fw.body = body;
    fw.body_len = blen;
    vigie_buf_init(&upreq, VIGIE_API_OUT_MAX + 64u * 1024);
    if (http_write_request(&c->req, &fw, &upreq) != VIGIE_OK) {
        respond_policy(c, POLICY_WHY_INTERNAL, 0);
        return;
    }
    c->t_up_sent = gw_now_ns();
    c->uc = gw_upstream_send(c->w, c->up, &c->snap->tun, &upreq, 0, &up_events, c);
}

static void decide_and_forward(struct gw_conn *c)
{
    const struct policy *p = c->snap->policy;
    struct api_limits lim;
    struct api_error err;
    struct api_request_info info;
    struct policy_request req;
    struct vigie_buf fwd;
    const char *body;
    size_t blen;
    int rc;

    if (c->ep == POLICY_EP_MODELS) {
        answer_models(c);
        return;
    }
    if (c->passthrough) {
        forward(c, c->body.data != NULL ? c->body.data : "", c->body.len);
        return;
    }
    api_limits_default(&lim);
    lim.body_max = c->body_max;
    rc = api_request_parse((enum policy_endpoint)c->ep, c->body.data != NULL ? c->body.data : "",
                           c->body.len, &lim, &c->api, &err);
    if (rc != VIGIE_OK) {
        int st = api_why_status(err.why);
        respond_error(c, st, st >= 500 ? "server_error" : "invalid_request_error",
                      api_why_name(err.why), err.msg, 0);
        return;
    }
    api_body_request_info(c->api, &info);
    note_model(c, info.model);
    c->stream = info.stream;
    memset(&req, 0, sizeof(req));
    req.who = &c->who;
    req.endpoint = (enum policy_endpoint)c->ep;
    req.model = info.model;
    req.body_len = c->body.len;
    req.nmessages = info.nmessages;
    req.texts = api_body_texts(c->api);
    req.ntexts = api_body_ntexts(c->api);
    policy_decision_init(&c->d);
    c->d_inited = 1;
    rc = policy_decide(c->w->pctx, p, &req, c->snap->key, c->snap->keylen, &c->d);
    c->decision = policy_verdict_name(c->d.verdict);
    if (rc != VIGIE_OK || c->d.verdict == POLICY_ERROR) {
        respond_policy(c, rc != VIGIE_OK ? POLICY_WHY_INTERNAL : c->d.why, 0);
        return;
    }
    if (c->d.verdict == POLICY_BLOCK || c->d.verdict == POLICY_DENY) {
        respond_policy(c, c->d.why, 0);
        return;
    }
    if ((c->up = runtime_upstream(c->snap, c->d.upstream)) == NULL) {
        respond_policy(c, POLICY_WHY_INTERNAL, 0);
        return;
    }
    /* The body that leaves: the original bytes, or the rewrite spliced in. */
    body = c->body.data != NULL ? c->body.data : "";
    blen = c->body.len;
    vigie_buf_init(&fwd, VIGIE_API_OUT_MAX);
    if (c->d.changed &&
        api_body_apply(c->api, c->d.out, c->d.out_changed, c->d.ntexts) != VIGIE_OK) {
        respond_policy(c, POLICY_WHY_INTERNAL, 0);
        return;
    }
    if (c->d.model != NULL && (info.model == NULL || strcmp(c->d.model, info.model) != 0) &&
        api_request_set_model(c->api, c->d.model) != VIGIE_OK) {
        respond_policy(c, POLICY_WHY_INTERNAL, 0);
        return;
    }
    /* Tokens for the record: a stream carries usage only when asked. */
    if (info.stream && !info.include_usage && c->tun.stream_usage &&
        (c->ep == POLICY_EP_CHAT || c->ep == POLICY_EP_COMPLETIONS)) {
        if (api_request_ask_usage(c->api) != VIGIE_OK) {
            respond_policy(c, POLICY_WHY_INTERNAL, 0);
            return;
        }
        c->hide_usage = 1;
    }
    if (api_body_changed(c->api)) {
        if (api_body_write(c->api, &fwd, &err) != VIGIE_OK) {
            vigie_buf_free(&fwd);
            respond_error(c, api_why_status(err.why), "server_error", api_why_name(err.why),
                          err.msg, 0);
            return;
        }
        body = fwd.data;
        blen = fwd.len;
    }
    forward(c, body, blen);
    vigie_buf_free(&fwd);
}

/* ---- the request head --------------------------------------------------------------- */

static void read_identity(struct gw_conn *c, struct policy_who *who, char *key, size_t keysz)
{
    size_t len;
    const char *v;
    const char *uh;

    memset(who, 0, sizeof(*who));
    who->peer = c->peer;
    if ((v = http_parser_get(&c->req, "authorization", &len)) != NULL && len > 7 &&
        strncasecmp(v, "Bearer ", 7) == 0 && len - 7 < keysz) {
        memcpy(key, v + 7, len - 7);
        key[len - 7] = '\0';
        who->api_key = key;
        who->api_key_len = len - 7;
    } else if ((v = http_parser_get(&c->req, "x-api-key", &len)) != NULL && len < keysz) {
        memcpy(key, v, len);
        key[len] = '\0';
        who->api_key = key;
        who->api_key_len = len;
    }
    if (c->tls && !c->subject_known) {
        SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
        c->subject_known = 1;
        if (ssl == NULL || tls_peer_subject(ssl, c->subject, sizeof(c->subject)) != 1)
            c->subject[0] = '\0';
    }
    if (c->subject[0] != '\0')
        who->cert_subject = c->subject;
    uh = policy_user_header(c->snap->policy);
    if (uh != NULL && (v = http_parser_get(&c->req, uh, &len)) != NULL) {
        /* parser values are NUL-free; copy to terminate */
        static __thread char user[256];
        if (len < sizeof(user)) {
            memcpy(user, v, len);
            user[len] = '\0';
            who->user = user;
        }
    }
}

static int route(const char *t, size_t len)
{
    static const struct {
        const char *path;
        int ep;
    } routes[] = {{"/v1/chat/completions", POLICY_EP_CHAT},
                  {"/v1/completions", POLICY_EP_COMPLETIONS},
                  {"/v1/embeddings", POLICY_EP_EMBEDDINGS},
                  {"/v1/models", POLICY_EP_MODELS}};
    size_t i, plen = len;
    const char *q = memchr(t, '?', len);

    if (q != NULL)
        plen = (size_t)(q - t);
    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (strlen(routes[i].path) == plen && memcmp(routes[i].path, t, plen) == 0)
            return routes[i].ep;
    return -1;
}

/* Whether a Content-Type names JSON in UTF-8: "application/json", with at
 * most a charset parameter that says utf-8 (row 42 of the malformed-request
 * table: a body read as another charset or type would not be the text we
 * inspected). */
static int json_content_type(const char *v, size_t len)
{
    size_t i = 16;

    if (v == NULL || len < 16 || strncasecmp(v, "application/json", 16) != 0)
        return 0;
    while (i < len && (v[i] == ' ' || v[i] == '\t'))
        i++;
    if (i == len)
        return 1;
    if (v[i++] != ';')
        return 0;
    while (i < len && (v[i] == ' ' || v[i] == '\t'))
        i++;
    if (len - i >= 8 && strncasecmp(v + i, "charset=", 8) == 0) {
        const char *cs = v + i + 8;
        size_t n = len - i - 8;
        while (n > 0 && (cs[n - 1] == ' ' || cs[n - 1] == '\t'))
            n--;
        if (n >= 2 && cs[0] == '"' && cs[n - 1] == '"')
            cs++, n -= 2;
        return (n == 5 && strncasecmp(cs, "utf-8", 5) == 0) ||
               (n == 4 && strncasecmp(cs, "utf8", 4) == 0);
    }
    return 0;
}

/* Identifies the caller of the head just parsed (API key, verified client
 * certificate, user header from a trusted proxy). Returns 0, or -1 after
 * answering 401. The key read from the head is wiped at once. */
static int identify(struct gw_conn *c)
{
    struct policy_who who;
    char key[512];

    read_identity(c, &who, key, sizeof(key));
    c->who_ok = policy_identify(c->snap->policy, &who, &c->who) == 0;
    vigie_wipe(key, sizeof(key));
    if (c->who_ok)
        return 0;
    policy_identity_of(c->snap->policy, "anonymous", &c->who);
    c->decision = "deny";
    respond_policy(c, POLICY_WHY_UNKNOWN_CALLER, 1);
    return -1;
}

/* The head is accepted: the body may come. Its limit is the caller's (413
 * at once when Content-Length says more: the body is never read); the
 * buffer of the previous request on this connection is kept (its bytes were
 * wiped) under the new cap; 100 Continue goes only now, after the head
 * validated. Returns 0, or -1 after answering. */
static int expect_body(struct gw_conn *c)
{
    struct policy_limits lim;
    uint64_t cl = http_parser_content_length(&c->req);

    policy_limits_of(c->snap->policy, &c->who, &lim);
    c->body_max = lim.body_max < c->tun.body_max ? lim.body_max : c->tun.body_max;
    if (cl != HTTP_LENGTH_NONE && cl > c->body_max) {
        c->decision = "deny";
        respond_policy(c, POLICY_WHY_BODY, 1);
        return -1;
    }
    if (c->body.cap > c->body_max)
        vigie_buf_free(&c->body);
    c->body.max = c->body_max;
    if (http_parser_flags(&c->req) & HTTP_F_EXPECT_CONTINUE) {
        struct vigie_buf b;
        vigie_buf_init(&b, 64);
        if (http_write_continue(&b) == VIGIE_OK)
            bufferevent_write(c->bev, b.data, b.len);
        vigie_buf_free(&b);
    }
    return 0;
}

/* A path that is not an inspected endpoint: forwarded, uninspected, only if
 * a passthrough entry of the policy names it for this caller and method (to
 * an internal upstream: the policy refuses anything else at load). */
static int on_head_passthrough(struct gw_conn *c)
{
    const struct policy *p = c->snap->policy;
    const struct policy_upstream *pu;
    char method[16];
    size_t tlen, mlen, plen;
    const char *t = http_parser_target(&c->req, &tlen);
    const char *mn = http_parser_method_name(&c->req, &mlen);
    const char *q = memchr(t, '?', tlen);

    plen = q != NULL ? (size_t)(q - t) : tlen;
    if (policy_npassthrough(p) == 0 || mlen >= sizeof(method))
        goto unknown;
    if (identify(c) != 0)
        return -1;
    memcpy(method, mn, mlen);
    method[mlen] = '\0';
    if ((pu = policy_passthrough(p, &c->who, method, t, plen, NULL)) == NULL ||
        (c->up = runtime_upstream(c->snap, pu)) == NULL)
        goto unknown;
    c->passthrough = 1;
    c->decision = "passthrough";
    return expect_body(c);
unknown:
    respond_error(c, 404, "invalid_request_error", "unknown_url",
                  "unknown URL: vigie serves /v1/chat/completions, /v1/completions, "
                  "/v1/embeddings and /v1/models, and the paths its policy lets through",
                  1);
    return -1;
}

/* The head is complete and valid: route, identify, check what can be checked
 * before the body. Returns 0 to read the body, -1 when refused (answered). */
static int on_head(struct gw_conn *c)
{
    size_t len;
    const char *t = http_parser_target(&c->req, &len);
    const char *al;
    enum http_method m = http_parser_method(&c->req);
    int ep = route(t, len);

    al = http_parser_get(&c->req, "accept-language", &len);
    c->lang = (al != NULL && len >= 2 && strncasecmp(al, "en", 2) == 0) ? "en" : "fr";
    if (c->snap == NULL) {
        respond_error(c, 503, "server_error", "unavailable", "the gateway has no policy", 1);
        return -1;
    }
    if (!audit_usable(gw.audit)) {
        /* Fail closed: what cannot be recorded is not served (unless the
         * policy says audit_failure: serve). The body is never read. */
        audit_refused(gw.audit);
        c->no_record = 1;
        c->retry_after = 1;
        c->ep = ep;
        respond_unrecorded(c, 1); /* the body, if any, is not read */
        return -1;
    }
    c->ep = ep;
    if (ep < 0)
        return on_head_passthrough(c);
    if ((ep == POLICY_EP_MODELS) != (m == HTTP_M_GET) || (ep != POLICY_EP_MODELS && m != HTTP_M_POST)) {
        respond_error(c, 405, "invalid_request_error", "method_not_allowed",
                      ep == POLICY_EP_MODELS ? "use GET" : "use POST", 1);
        return -1;
    }
    if (ep != POLICY_EP_MODELS) {
        const char *ct = http_parser_get(&c->req, "content-type", &len);
        if (!json_content_type(ct, len)) {
            respond_error(c, 415, "invalid_request_error", "content_type",
                          "the body must be JSON in UTF-8: Content-Type: application/json", 1);
            return -1;
        }
    }
    if (identify(c) != 0)
        return -1;
    if (!policy_endpoint_allowed(c->snap->policy, &c->who, (enum policy_endpoint)ep)) {
        c->decision = "deny";
        respond_policy(c, POLICY_WHY_ENDPOINT, 1);
        return -1;
    }
    return expect_body(c);
}

/* ---- reading ---------------------------------------------------------------------------- */

static void begin_request(struct gw_conn *c)
{
    struct gw_worker *w = c->w;
    uint64_t n = ++w->next_id;

    snprintf(c->id, sizeof(c->id), "%016llx",
             (unsigned long long)(((uint64_t)w->index << 56) ^ (n * 0x9E3779B97F4A7C15ull)));
    c->t0 = gw_now_ns();
    c->state = CS_HEAD;
    /* The snapshot this request will be decided with: its settings apply
     * from now on (a reload changes them for the next request). */
    gw_snap_unref(c->snap);
    if ((c->snap = gw_snap_get()) != NULL)
        c->tun = c->snap->tun;
    arm(c, c->tun.t.head_ms);
}

static void parse_error(struct gw_conn *c)
{
    const struct http_parser *p = &c->req;
    enum http_error e = http_parser_error(p);

    if (c->t0 == 0)
        begin_request(c);
    respond_error(c, http_parser_error_status(p),
                  http_parser_error_status(p) >= 500 ? "server_error" : "invalid_request_error",
                  http_error_code(e), http_parser_error_message(p), 1);
}

static void process_input(struct gw_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);

    while (c->state == CS_IDLE || c->state == CS_HEAD || c->state == CS_BODY) {
        struct evbuffer_iovec v;
        size_t used = 0;
        enum http_result r;

        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1) {
            v.iov_base = NULL;
            v.iov_len = 0;
        }
        if (c->state == CS_IDLE) {
            if (v.iov_len == 0)
                return;
            begin_request(c);
        }
        r = http_parse(&c->req, v.iov_base, v.iov_len, &used);
        c->bytes_in += used;
        switch (r) {
        case HTTP_NEED_MORE:
            evbuffer_drain(in, used);
            if (v.iov_len == 0 || evbuffer_get_length(in) == 0)
                return;
            break;
        case HTTP_HEAD_DONE:
            evbuffer_drain(in, used);
            if (on_head(c) != 0)
                return;
            c->state = CS_BODY;
            arm(c, c->tun.t.body_ms);
            break;
        case HTTP_BODY_CHUNK: {
            size_t blen;
            const char *b = http_parser_body(&c->req, &blen);
            int rc = vigie_buf_append(&c->body, b, blen);
            evbuffer_drain(in, used);
            if (rc != VIGIE_OK) {
                c->decision = "deny";
                respond_policy(c, rc == VIGIE_ERR_TOO_BIG ? POLICY_WHY_BODY : POLICY_WHY_INTERNAL,
                               1);
                return;
            }
            break;
        }
        case HTTP_MESSAGE_DONE:
            evbuffer_drain(in, used);
            evtimer_del(c->timer);
            c->t_body_done = gw_now_ns();
            c->state = CS_UPSTREAM;
            decide_and_forward(c);
            return;
        case HTTP_ERROR:
            parse_error(c);
            return;
        }
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct gw_conn *c = arg;

    GW_CHECK(c, GW_CONN_MAGIC);
    if (c->state == CS_BODY)
        arm(c, c->tun.t.body_ms);
    process_input(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    struct gw_conn *c = arg;

    GW_CHECK(c, GW_CONN_MAGIC);
    if (c->state == CS_CLOSING) {
        conn_free(c);
        return;
    }
    if (c->uc != NULL)
        gw_upstream_pause(c->uc, 0);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct gw_conn *c = arg;

    GW_CHECK(c, GW_CONN_MAGIC);
    if (what & BEV_EVENT_CONNECTED)
        return; /* the TLS handshake is done; the request follows */
    if (what & BEV_EVENT_EOF) {
        if (c->state == CS_HEAD || c->state == CS_BODY) {
            /* Bytes still buffered first: a request may be complete. */
            process_input(c);
            if (c->state == CS_HEAD || c->state == CS_BODY) {
                c->code = "client_closed";
                c->status = 400;
                account(c);
                conn_free(c);
            }
            return;
        }
        if (c->state == CS_IDLE || c->state == CS_CLOSING) {
            conn_free(c);
            return;
        }
        /* UPSTREAM or RESPONDING: keep going only if bytes remain to send... */
    }
    if (c->state == CS_UPSTREAM || c->state == CS_RESPONDING) {
        /* The client went away: the model's connection is closed, not pooled. */
        c->code = "client_closed";
        if (!c->head_sent)
            c->status = 499;
        account(c);
    }
    conn_free(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct gw_conn *c = arg;

    GW_CHECK(c, GW_CONN_MAGIC);
    switch (c->state) {
    case CS_IDLE:
    case CS_CLOSING:
        conn_free(c);
        return;
    case CS_HEAD:
    case CS_BODY:
        respond_error(c, 408, "invalid_request_error", "request_timeout",
                      "the request was not received in time", 1);
        return;
    default:
        return;
    }
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    struct gw_conn *c = arg;

    GW_CHECK(c, GW_CONN_MAGIC);
    if (c->state == CS_CLOSING) {
        if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
            conn_free(c);
        return;
    }
    process_input(c);
}

void gw_conn_accept(struct gw_worker *w, evutil_socket_t fd, const struct sockaddr *sa,
                    int salen, SSL_CTX *ssl_ctx)
{
    struct gw_conn *c = calloc(1, sizeof(*c));
    int one = 1;

    if (c == NULL) {
        evutil_closesocket(fd);
        gw_worker_conn_closed(w); /* the worker counted it */
        return;
    }
    c->magic = GW_CONN_MAGIC;
    c->w = w;
    c->ep = -1;
    {
        struct gw_snap *snap = gw_snap_get();
        VIGIE_ASSERT(snap != NULL); /* installed before any listener exists */
        c->tun = snap->tun;
        gw_snap_unref(snap);
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, c->peer, sizeof(c->peer));
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, c->peer,
                  sizeof(c->peer));
    http_parser_init(&c->req, HTTP_REQUEST, &c->tun.req);
    vigie_buf_init(&c->body, VIGIE_HTTP_BODY_MAX);
    c->next = w->conns;
    if (w->conns != NULL)
        w->conns->prev = c;
    w->conns = c;
    if (ssl_ctx != NULL) {
        SSL *ssl = SSL_new(ssl_ctx);
        c->tls = 1;
        if (ssl != NULL)
            c->bev = bufferevent_openssl_socket_new(w->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                    BEV_OPT_CLOSE_ON_FREE);
        if (c->bev == NULL) {
            if (ssl != NULL)
                SSL_free(ssl);
            evutil_closesocket(fd);
        } else {
            bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
        }
    } else {
        c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
        if (c->bev == NULL)
            evutil_closesocket(fd);
    }
    c->timer = evtimer_new(w->base, on_timer, c);
    c->resume = event_new(w->base, -1, 0, on_resume, c);
    if (c->bev == NULL || c->timer == NULL || c->resume == NULL) {
        conn_free(c);
        return;
    }
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_setwatermark(c->bev, EV_READ, 0, c->tun.pipeline_max);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->state = CS_IDLE;
    arm(c, c->tun.t.head_ms);
}

void gw_conn_drain_all(struct gw_worker *w)
{
    struct gw_conn *c = w->conns, *next;

    for (; c != NULL; c = next) {
        next = c->next;
        c->close_after = 1;
        if (c->state == CS_IDLE && evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
            conn_free(c);
    }
}

void gw_conn_free_all(struct gw_worker *w)
{
    while (w->conns != NULL)
        conn_free(w->conns);
}
