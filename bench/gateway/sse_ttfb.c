/* sse_ttfb: time to the first SSE event, over many sequential requests,
 * interleaved between several targets (part of bench/gateway.sh).
 *
 *   sse_ttfb -b BODY [-H 'Name: value']... [-n N] [-w WARMUP] [-m MARKER] [-T SECONDS]
 *            NAME=HOST:PORT/PATH...
 *
 * One keep-alive connection per target (reopened if the server closes it).
 * Round i sends one request to every target, starting with target i mod T, so
 * that no target always follows the same other one. For each request:
 *   ttfb  = from just before write() of the request to the read that brings
 *           the first "data:" of the (de-chunked) body;
 *   total = to the end of the response.
 * A request counts as an error unless the status is 200, the Content-Type is
 * text/event-stream, the body holds MARKER and "data: [DONE]", and the number
 * of events equals that of the first good answer of the first target (the
 * direct one): the stream went through one event for one event.
 * Prints one JSON object on stdout. Exit 1 if any request failed. */
#define _GNU_SOURCE
#include "httpmini.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAXT 8
#define MAXH 8

struct target {
    const char *name;
    char hostport[64];
    const char *path;
    struct sockaddr_in sa;
    int fd;
    char *req;
    size_t reqlen;
    double *ttfb, *total;
    int n, errors, non200, reconnects;
    int events, events_bad, chunks;
    char first_error[200];
};

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int connect_to(struct target *t)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {.tv_sec = 3};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&t->sa, sizeof t->sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int count_events(const char *b, size_t n)
{
    int c = 0;
    for (size_t i = 0; i + 5 <= n; i++)
        if ((i == 0 || b[i - 1] == '\n') && memcmp(b + i, "data:", 5) == 0)
            c++;
    return c;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    if (n == 0)
        return -1;
    int i = (int)(p / 100.0 * n);
    if (i >= n)
        i = n - 1;
    return v[i];
}

static void fail(struct target *t, const char *why)
{
    t->errors++;
    if (t->first_error[0] == 0)
        snprintf(t->first_error, sizeof t->first_error, "%s", why);
}

/* One request; returns 0 and fills ttfb/total, or -1. */
static int one(struct target *t, struct resp *r, const char *marker, double *ttfb, double *total,
               int *events_first)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (t->fd < 0) {
            t->fd = connect_to(t);
            if (t->fd < 0) {
                fail(t, "connect failed");
                return -1;
            }
            t->reconnects++;
        }
        resp_init(r);
        double t0 = now_us(), tf = -1;
        size_t sent = 0;
        while (sent < t->reqlen) {
            ssize_t w = write(t->fd, t->req + sent, t->reqlen - sent);
            if (w <= 0)
                break;
            sent += (size_t)w;
        }
        if (sent < t->reqlen) {
            close(t->fd);
            t->fd = -1;
            continue;
        }
        char buf[65536];
        int st = 0, got_any = 0;
        for (;;) {
            ssize_t k = read(t->fd, buf, sizeof buf);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0) {
                st = k == 0 ? resp_eof(r) : -1;
                break;
            }
            got_any = 1;
            st = resp_feed(r, buf, (size_t)k);
            if (tf < 0 && r->body_len >= 5 && memmem(r->body, r->body_len, "data:", 5) != NULL)
                tf = now_us();
            if (st != 0)
                break;
        }
        double t1 = now_us();
        if (st != 1) {
            close(t->fd);
            t->fd = -1;
            if (!got_any && attempt == 0)
                continue; /* the server had closed the idle connection: retry once */
            fail(t, st < 0 ? "read error, timeout or bad framing" : "incomplete answer");
            return -1;
        }
        if (r->conn_close || r->close_delimited) {
            close(t->fd);
            t->fd = -1;
        }
        if (r->status != 200) {
            t->non200++;
            char why[64];
            snprintf(why, sizeof why, "status %d", r->status);
            fail(t, why);
            return -1;
        }
        if (strstr(r->ctype, "text/event-stream") == NULL) {
            fail(t, "content-type is not text/event-stream");
            return -1;
        }
        if (memmem(r->body, r->body_len, marker, strlen(marker)) == NULL) {
            fail(t, "the mock's content is missing from the answer");
            return -1;
        }
        if (memmem(r->body, r->body_len, "data: [DONE]", 12) == NULL) {
            fail(t, "no data: [DONE]");
            return -1;
        }
        int ev = count_events(r->body, r->body_len);
        if (*events_first < 0)
            *events_first = ev;
        t->events = ev;
        t->chunks = r->chunked ? (int)r->nchunks : 0;
        if (ev != *events_first) {
            t->events_bad++;
            fail(t, "event count differs from the direct answer");
            return -1;
        }
        *ttfb = tf - t0;
        *total = t1 - t0;
        return 0;
    }
    fail(t, "write failed");
    return -1;
}

int main(int argc, char **argv)
{
    const char *bodyfile = NULL, *marker = "data:";
    const char *hdrs[MAXH];
    int nh = 0, n = 1000, warm = 50;
    double tlimit = 30;
    int opt;
    while ((opt = getopt(argc, argv, "b:H:n:w:m:T:")) != -1) {
        switch (opt) {
        case 'b': bodyfile = optarg; break;
        case 'H': if (nh < MAXH) hdrs[nh++] = optarg; break;
        case 'n': n = (int)strtol(optarg, NULL, 10); break;
        case 'w': warm = (int)strtol(optarg, NULL, 10); break;
        case 'm': marker = optarg; break;
        case 'T': tlimit = strtod(optarg, NULL); break;
        default: goto usage;
        }
    }
    int nt = argc - optind;
    if (bodyfile == NULL || nt < 1 || nt > MAXT || n < 1) {
    usage:
        fprintf(stderr, "usage: sse_ttfb -b BODY [-H HDR]... [-n N] [-w WARMUP] [-m MARKER] "
                        "[-T SECONDS] NAME=HOST:PORT/PATH...\n");
        return 2;
    }
    size_t blen;
    char *body = read_file(bodyfile, &blen);
    struct target t[MAXT];
    memset(t, 0, sizeof t);
    for (int i = 0; i < nt; i++) {
        char *spec = argv[optind + i], *eq = strchr(spec, '='), *slash, *colon;
        if (eq == NULL || (slash = strchr(eq, '/')) == NULL || (colon = strchr(eq, ':')) == NULL ||
            colon > slash || (size_t)(slash - eq - 1) >= sizeof t[i].hostport)
            goto usage;
        *eq = 0;
        t[i].name = spec;
        memcpy(t[i].hostport, eq + 1, (size_t)(slash - eq - 1));
        t[i].path = slash;
        *colon = 0;
        t[i].sa.sin_family = AF_INET;
        t[i].sa.sin_port = htons((uint16_t)(int)strtol(colon + 1, NULL, 10));
        if (inet_pton(AF_INET, eq + 1, &t[i].sa.sin_addr) != 1)
            goto usage;
        t[i].fd = -1;
        t[i].req = build_post(t[i].hostport, t[i].path, hdrs, nh, body, blen, &t[i].reqlen);
        t[i].ttfb = calloc((size_t)n, sizeof(double));
        t[i].total = calloc((size_t)n, sizeof(double));
    }
    struct resp r = {0};
    resp_init(&r);
    int events_first = -1;
    double start = now_us();
    int rounds = 0, timed_out = 0;
    for (int i = -warm; i < n; i++) {
        if ((now_us() - start) / 1e6 > tlimit) {
            timed_out = 1;
            break;
        }
        for (int j = 0; j < nt; j++) {
            struct target *x = &t[((i + warm) + j) % nt];
            double a, b;
            int e0 = x->errors;
            if (one(x, &r, marker, &a, &b, &events_first) == 0 && i >= 0) {
                x->ttfb[x->n] = a;
                x->total[x->n] = b;
                x->n++;
            } else if (i < 0 && x->errors > e0) {
                /* errors in warm-up count too */
            }
        }
        if (i >= 0)
            rounds++;
    }
    int bad = 0;
    printf("{\"rounds\":%d,\"timed_out\":%s,\"events_per_answer\":%d,\"targets\":{", rounds,
           timed_out ? "true" : "false", events_first);
    for (int i = 0; i < nt; i++) {
        struct target *x = &t[i];
        double sum = 0;
        for (int k = 0; k < x->n; k++)
            sum += x->ttfb[k];
        qsort(x->ttfb, (size_t)x->n, sizeof(double), cmpd);
        qsort(x->total, (size_t)x->n, sizeof(double), cmpd);
        if (x->errors)
            bad = 1;
        printf("%s\"%s\":{\"n\":%d,\"errors\":%d,\"non200\":%d,\"reconnects\":%d,"
               "\"events\":%d,\"http_chunks\":%d,"
               "\"ttfb_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"mean\":%.1f,\"min\":%.1f,"
               "\"max\":%.1f},"
               "\"total_us\":{\"p50\":%.1f,\"p99\":%.1f},\"first_error\":\"%s\"}",
               i ? "," : "", x->name, x->n, x->errors, x->non200, x->reconnects - 1, x->events,
               x->chunks, pct(x->ttfb, x->n, 50), pct(x->ttfb, x->n, 90), pct(x->ttfb, x->n, 99),
               x->n ? sum / x->n : -1, x->n ? x->ttfb[0] : -1, x->n ? x->ttfb[x->n - 1] : -1,
               pct(x->total, x->n, 50), pct(x->total, x->n, 99), x->first_error);
    }
    printf("}}\n");
    return bad;
}
