/*
 * vlog: JSON lines built in a bounded stack buffer, written with one
 * write(2). See log.h; never a prompt, a value, a header value or a
 * credential.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "net/log.h"

#if defined(PIPE_BUF)
_Static_assert(VLOG_LINE_MAX <= PIPE_BUF, "a log line must be written atomically");
#endif

/* What a truncated record ends with; the body always leaves room for it. */
#define TAIL_TRUNCATED ",\"truncated\":true}\n"
#define BODY_MAX (VLOG_LINE_MAX - (sizeof(TAIL_TRUNCATED) - 1))

/* Settings read by every thread at every record: atomics, so vlog_open() may
 * run while workers log. */
static atomic_int log_fd = 2;
static atomic_int log_min = VLOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void vlog_open(int fd, enum vlog_level min)
{
    atomic_store_explicit(&log_fd, fd, memory_order_relaxed);
    atomic_store_explicit(&log_min, (int)min, memory_order_relaxed);
}

int vlog_level_parse(const char *s)
{
    size_t i;

    if (s == NULL)
        return -1;
    for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return (int)i;
    if (strcasecmp(s, "warning") == 0)
        return VLOG_WARN;
    return -1;
}

const char *vlog_level_name(enum vlog_level level)
{
    return (unsigned)level < sizeof(level_names) / sizeof(level_names[0]) ? level_names[level]
                                                                          : "unknown";
}

int vlog_enabled(enum vlog_level level)
{
    return (int)level >= atomic_load_explicit(&log_min, memory_order_relaxed);
}

/* ---- the bounded buffer ----------------------------------------------------- */

static int put(struct vlog_rec *r, const char *s, size_t n)
{
    if (n > BODY_MAX - r->len)
        return -1;
    memcpy(r->buf + r->len, s, n);
    r->len += n;
    return 0;
}


enum put_result { PUT_WHOLE = 0, PUT_CUT = 1, PUT_NONE = 2 };

/* Appends s[0..len) as a JSON string, quotes included. When it does not fit,
 * writes as many whole characters (and whole escapes) as fit and closes the
 * quote: PUT_CUT. PUT_NONE when not even "" fits (nothing written). */
static enum put_result put_str(struct vlog_rec *r, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, room;

    if (BODY_MAX - r->len < 2)
        return PUT_NONE;
    r->buf[r->len++] = '"';
    room = BODY_MAX - 1; /* the closing quote always fits */
    while (i < len) {
        unsigned char c = p[i];
        char esc[8];
        const char *out = esc;
        size_t n = 1, used = 1;

        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            esc[0] = (char)c;
        } else if (c >= 0x80) {
            used = vigie_utf8_len(p + i, len - i);
            if (used > 0)
                out = s + i, n = used;
            else
                out = "\\ufffd", n = 6, used = 1;
        } else if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c, n = 2;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            esc[0] = '\\', esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't', n = 2;
        } else {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            n = 6;
        }
        if (n > room - r->len)
            break;
        memcpy(r->buf + r->len, out, n);
        r->len += n;
        i += used;
    }
    r->buf[r->len++] = '"';
    return i < len ? PUT_CUT : PUT_WHOLE;
}

/* ",\"key\":" unless the record is off or already cut. Returns 0 and the
 * length to roll back to in *mark, or -1 (nothing to add). */
static int field_begin(struct vlog_rec *r, const char *key, size_t *mark)
{
    if (!r->on || r->truncated)
        return -1;
    *mark = r->len;
    if (put(r, ",", 1) != 0 || put_str(r, key, strlen(key)) != PUT_WHOLE ||
        put(r, ":", 1) != 0) {
        r->len = *mark;
        r->truncated = 1;
        return -1;
    }
    return 0;
}

/* A value that must go in whole or not at all. */
static void field_atom(struct vlog_rec *r, const char *key, const char *val, size_t n)
{
    size_t mark;

    if (field_begin(r, key, &mark) != 0)
        return;
    if (put(r, val, n) != 0) {
        r->len = mark;
        r->truncated = 1;
    }
}

/* ---- records ------------------------------------------------------------------ */

/* "2026-11-26T10:00:00.123Z" into out. */
static void timestamp(char *out, size_t n)
{
    struct timespec ts;
    struct tm tm;
    char sec[24];

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || gmtime_r(&ts.tv_sec, &tm) == NULL ||
        strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        snprintf(out, n, "1970-01-01T00:00:00.000Z");
        return;
    }
    snprintf(out, n, "%s.%03uZ", sec, (unsigned)(ts.tv_nsec / 1000000) % 1000u);
}

void vlog_begin(struct vlog_rec *r, enum vlog_level level, const char *event)
{
    char head[128], ts[48];
    int n;

    r->len = 0;
    r->truncated = 0;
    r->on = vlog_enabled(level);
    if (!r->on)
        return;
    timestamp(ts, sizeof(ts));
    n = snprintf(head, sizeof(head), "{\"ts\":\"%s\",\"level\":\"%s\",\"event\":", ts,
                 vlog_level_name(level));
    /* The head is far shorter than a line: both always fit. */
    put(r, head, (size_t)n);
    if (put_str(r, event ? event : "", event ? strlen(event) : 0) != PUT_WHOLE)
        r->truncated = 1;
}

void vlog_str(struct vlog_rec *r, const char *key, const char *val)
{
    vlog_strn(r, key, val, val ? strlen(val) : 0);
}

void vlog_strn(struct vlog_rec *r, const char *key, const char *val, size_t len)
{
    size_t mark;
    enum put_result res;

    if (val == NULL) {
        field_atom(r, key, "null", 4);
        return;
    }
    if (field_begin(r, key, &mark) != 0)
        return;
    res = put_str(r, val, len);
    if (res == PUT_NONE)
        r->len = mark;
    if (res != PUT_WHOLE)
        r->truncated = 1;
}

void vlog_int(struct vlog_rec *r, const char *key, int64_t val)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%lld", (long long)val);

    field_atom(r, key, num, (size_t)n);
}

void vlog_uint(struct vlog_rec *r, const char *key, uint64_t val)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%llu", (unsigned long long)val);

    field_atom(r, key, num, (size_t)n);
}

void vlog_double(struct vlog_rec *r, const char *key, double val, int decimals)
{
    char num[48];
    int n;

    if (!isfinite(val)) {
        field_atom(r, key, "null", 4);
        return;
    }
    if (decimals < 0)
        decimals = 0;
    if (decimals > 9)
        decimals = 9;
    /* %f of a huge number is hundreds of digits: switch to an exponent. */
    if (val >= 1e15 || val <= -1e15)
        n = snprintf(num, sizeof(num), "%.17g", val);
    else
        n = snprintf(num, sizeof(num), "%.*f", decimals, val);
    field_atom(r, key, num, (size_t)n);
}

void vlog_bool(struct vlog_rec *r, const char *key, int val)
{
    field_atom(r, key, val ? "true" : "false", val ? 4 : 5);
}

void vlog_raw(struct vlog_rec *r, const char *key, const char *json)
{
    if (json == NULL)
        json = "null";
    field_atom(r, key, json, strlen(json));
}

/* Writes all of buf, retrying after EINTR and partial writes. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int vlog_end(struct vlog_rec *r)
{
    static const char tail_plain[] = "}\n", tail_cut[] = TAIL_TRUNCATED;
    const char *tail = r->truncated ? tail_cut : tail_plain;
    size_t tl = r->truncated ? sizeof(tail_cut) - 1 : sizeof(tail_plain) - 1;

    if (!r->on)
        return 0;
    /* BODY_MAX leaves room for the longer tail: this cannot overflow. */
    memcpy(r->buf + r->len, tail, tl);
    r->len += tl;
    r->on = 0; /* a second vlog_end() writes nothing */
    return write_all(atomic_load_explicit(&log_fd, memory_order_relaxed), r->buf, r->len);
}
