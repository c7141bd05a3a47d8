/* httpmini.h: just enough HTTP/1.1 response parsing for the bench clients
 * (sse_ttfb.c, idle_conns.c). Not the gateway's parser, and not hardened: it
 * reads answers from servers the benchmark started itself.
 *
 * Feed the raw bytes of one response as they arrive (resp_feed); the parser
 * keeps the decoded body (chunked or Content-Length or until close), and says
 * when the response is complete. */
#ifndef BENCH_HTTPMINI_H
#define BENCH_HTTPMINI_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RESP_MAX_RAW (1u << 20)

struct resp {
    char *raw;          /* bytes received for this response (capped) */
    size_t raw_len;
    size_t off;         /* parse position in raw */
    int head_done;
    int status;
    int chunked;
    int close_delimited;
    int conn_close;     /* "Connection: close" */
    long long clen;     /* -1: none */
    char ctype[128];
    char vigie_decision[32];
    /* decoded body */
    char *body;
    size_t body_len;
    /* chunked state */
    int cstate;         /* 0 size line, 1 data, 2 data CRLF, 3 trailer */
    size_t crem;
    unsigned nchunks;   /* data chunks seen (chunked answers) */
    int done;
};

static inline void resp_init(struct resp *r)
{
    char *raw = r->raw, *body = r->body;
    memset(r, 0, sizeof *r);
    r->raw = raw ? raw : malloc(RESP_MAX_RAW);
    r->body = body ? body : malloc(RESP_MAX_RAW);
    if (r->raw == NULL || r->body == NULL) {
        perror("malloc");
        exit(2);
    }
    r->clen = -1;
}

static inline void resp_free(struct resp *r)
{
    free(r->raw);
    free(r->body);
    r->raw = r->body = NULL;
}

static inline void resp_header(struct resp *r, const char *name, size_t nlen, const char *val,
                               size_t vlen)
{
#define IS(h) (nlen == sizeof(h) - 1 && strncasecmp(name, h, nlen) == 0)
    if (IS("content-length")) {
        r->clen = strtoll(val, NULL, 10);
    } else if (IS("transfer-encoding")) {
        if (vlen >= 7 && strncasecmp(val + vlen - 7, "chunked", 7) == 0)
            r->chunked = 1;
    } else if (IS("connection")) {
        if (vlen >= 5 && strncasecmp(val, "close", 5) == 0)
            r->conn_close = 1;
    } else if (IS("content-type")) {
        size_t n = vlen < sizeof r->ctype - 1 ? vlen : sizeof r->ctype - 1;
        memcpy(r->ctype, val, n);
        r->ctype[n] = 0;
    } else if (IS("x-vigie-decision")) {
        size_t n = vlen < sizeof r->vigie_decision - 1 ? vlen : sizeof r->vigie_decision - 1;
        memcpy(r->vigie_decision, val, n);
        r->vigie_decision[n] = 0;
    }
#undef IS
}

static inline int resp_parse_head(struct resp *r)
{
    char *end = NULL;
    for (size_t i = 3; i < r->raw_len; i++)
        if (r->raw[i] == '\n' && r->raw[i - 1] == '\r' && r->raw[i - 2] == '\n' &&
            r->raw[i - 3] == '\r') {
            end = r->raw + i + 1;
            break;
        }
    if (end == NULL)
        return r->raw_len >= 65536 ? -1 : 0;
    if (r->raw_len < 12 || strncmp(r->raw, "HTTP/1.", 7) != 0)
        return -1;
    r->status = (int)strtol(r->raw + 9, NULL, 10);
    char *p = memchr(r->raw, '\n', (size_t)(end - r->raw)) + 1;
    while (p < end - 2) {
        char *eol = memchr(p, '\r', (size_t)(end - p));
        char *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon != NULL) {
            char *v = colon + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            size_t vlen = (size_t)(eol - v);
            while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
                vlen--;
            resp_header(r, p, (size_t)(colon - p), v, vlen);
        }
        p = eol + 2;
    }
    r->off = (size_t)(end - r->raw);
    r->head_done = 1;
    if (r->status == 204 || r->status == 304 || (r->status >= 100 && r->status < 200)) {
        r->done = 1;
    } else if (!r->chunked && r->clen < 0) {
        r->close_delimited = 1;
    } else if (!r->chunked && r->clen == 0) {
        r->done = 1;
    }
    return 1;
}

static inline int resp_body_add(struct resp *r, const char *p, size_t n)
{
    if (r->body_len + n > RESP_MAX_RAW)
        return -1;
    memcpy(r->body + r->body_len, p, n);
    r->body_len += n;
    return 0;
}

/* Parses what raw holds. Returns 1 complete, 0 need more, -1 error. */
static inline int resp_parse(struct resp *r)
{
    if (!r->head_done) {
        int h = resp_parse_head(r);
        if (h <= 0)
            return h;
    }
    if (r->done)
        return 1;
    if (!r->chunked) {
        size_t avail = r->raw_len - r->off;
        if (r->clen >= 0 && avail > (size_t)r->clen - r->body_len)
            avail = (size_t)r->clen - r->body_len;
        if (resp_body_add(r, r->raw + r->off, avail) < 0)
            return -1;
        r->off += avail;
        if (r->clen >= 0 && r->body_len == (size_t)r->clen)
            r->done = 1;
        return r->done;
    }
    for (;;) {
        char *p = r->raw + r->off;
        size_t avail = r->raw_len - r->off;
        if (r->cstate == 0 || r->cstate == 3) {
            char *eol = avail ? memchr(p, '\n', avail) : NULL;
            if (eol == NULL)
                return 0;
            size_t linelen = (size_t)(eol - p) + 1;
            if (r->cstate == 0) {
                char *e;
                unsigned long long n = strtoull(p, &e, 16);
                if (e == p)
                    return -1;
                r->off += linelen;
                if (n == 0) {
                    r->cstate = 3;
                } else {
                    r->crem = (size_t)n;
                    r->cstate = 1;
                    r->nchunks++;
                }
            } else {
                r->off += linelen;
                if (linelen <= 2) { /* empty line: end of trailer */
                    r->done = 1;
                    return 1;
                }
            }
        } else if (r->cstate == 1) {
            if (avail == 0)
                return 0;
            size_t n = avail < r->crem ? avail : r->crem;
            if (resp_body_add(r, p, n) < 0)
                return -1;
            r->off += n;
            r->crem -= n;
            if (r->crem == 0)
                r->cstate = 2;
        } else { /* CRLF after the data */
            if (avail < 2)
                return 0;
            if (p[0] != '\r' || p[1] != '\n')
                return -1;
            r->off += 2;
            r->cstate = 0;
        }
    }
}

/* Appends received bytes and parses. Returns as resp_parse. */
static inline int resp_feed(struct resp *r, const char *p, size_t n)
{
    if (r->raw_len + n > RESP_MAX_RAW)
        return -1;
    memcpy(r->raw + r->raw_len, p, n);
    r->raw_len += n;
    return resp_parse(r);
}

/* The connection closed: complete if the body was close-delimited. */
static inline int resp_eof(struct resp *r)
{
    if (r->head_done && r->close_delimited) {
        r->done = 1;
        return 1;
    }
    return -1;
}

/* Builds "POST path HTTP/1.1" with the body; returns a malloc'd string. */
static inline char *build_post(const char *hostport, const char *path, const char *const *hdrs,
                               int nhdrs, const char *body, size_t blen, size_t *outlen)
{
    size_t cap = 1024 + blen + strlen(path) + strlen(hostport);
    for (int i = 0; i < nhdrs; i++)
        cap += strlen(hdrs[i]) + 2;
    char *s = malloc(cap);
    if (s == NULL)
        exit(2);
    int n = snprintf(s, cap,
                     "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n",
                     path, hostport, blen);
    for (int i = 0; i < nhdrs; i++)
        n += snprintf(s + n, cap - (size_t)n, "%s\r\n", hdrs[i]);
    n += snprintf(s + n, cap - (size_t)n, "\r\n");
    memcpy(s + n, body, blen);
    *outlen = (size_t)n + blen;
    return s;
}

static inline char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s == NULL || fread(s, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        exit(2);
    }
    s[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return s;
}

#endif
