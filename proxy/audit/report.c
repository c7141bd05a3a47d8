/*
 * audit report (report.h): reads audit logs line by line, aggregates the
 * records into tables keyed by caller, group, model, ..., and writes them as
 * text, CSV, JSON or a self-contained HTML page.
 *
 * Layout of this file:
 *   1. time: the records' ts, --since/--until
 *   2. the line scanner: one record, strict JSON, without building a tree
 *   3. tables: open addressing on owned keys, stats per row; the report and
 *      the aggregation of one record
 *   4. reading: files in large blocks, lines, unreadable lines
 *   5. ordering rows and reading cells (shared by every format)
 *   6. text, 7. CSV, 8. JSON, 9. HTML
 *
 * Why a scanner of our own: json_loadb costs about 15 us per record, our
 * api_json_parse about 5; a million records would take 5 to 15 s. This scanner
 * checks what jansson checks (grammar, UTF-8, escapes, \u0000, integer range,
 * depth; a key twice among the fields it reads) in one pass over the bytes,
 * keeping pointers into the line for the strings it needs (decoded into a
 * scratch area only when escaped): about 1.5 us per record, aggregation
 * included. A line jansson refuses is never counted (a unit test holds it to
 * that). Unknown keys are skipped, so that a record with more fields than this
 * reader knows is still counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/report.h"

/* ==== 1. time ==================================================================== */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)((int64_t)yoe + era * 400 + (*m <= 2));
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned char dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

/* n digits at p as a number, or -1. */
static int digits(const char *p, size_t n)
{
    int v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

static int64_t to_ms(int y, int mo, int d, int h, int mi, int s, int ms)
{
    return ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 24 + h) * 60 + mi) * 60000 +
           (int64_t)s * 1000 + ms;
}

static int date_ok(int y, int mo, int d, int h, int mi, int s)
{
    return y >= 1970 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 &&
           (unsigned)d <= days_in_month(y, (unsigned)mo) && h >= 0 && h <= 23 && mi >= 0 &&
           mi <= 59 && s >= 0 && s <= 59;
}

/* A record's ts: exactly "YYYY-MM-DDTHH:MM:SS.mmmZ", as the writer puts it. */
static int ts_parse(const char *p, size_t n, int64_t *out)
{
    int y, mo, d, h, mi, s, ms;

    if (n != 24 || p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' || p[16] != ':' ||
        p[19] != '.' || p[23] != 'Z')
        return -1;
    y = digits(p, 4), mo = digits(p + 5, 2), d = digits(p + 8, 2);
    h = digits(p + 11, 2), mi = digits(p + 14, 2), s = digits(p + 17, 2);
    ms = digits(p + 20, 3);
    if (ms < 0 || !date_ok(y, mo, d, h, mi, s))
        return -1;
    *out = to_ms(y, mo, d, h, mi, s, ms);
    return 0;
}

/* ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" (with_ms) or "...:SSZ". */
static void ts_format(int64_t ms, int with_ms, char *out, size_t sz)
{
    int64_t days = ms >= 0 ? ms / 86400000 : (ms - 86399999) / 86400000;
    int64_t rest = ms - days * 86400000;
    unsigned m, d;
    int y;

    civil_from_days(days, &y, &m, &d);
    if (with_ms)
        snprintf(out, sz, "%04d-%02u-%02uT%02u:%02u:%02u.%03uZ", y, m, d,
                 (unsigned)(rest / 3600000), (unsigned)(rest / 60000 % 60),
                 (unsigned)(rest / 1000 % 60), (unsigned)(rest % 1000));
    else
        snprintf(out, sz, "%04d-%02u-%02uT%02u:%02u:%02uZ", y, m, d, (unsigned)(rest / 3600000),
                 (unsigned)(rest / 60000 % 60), (unsigned)(rest / 1000 % 60));
}

int audit_report_parse_time(const char *s, int64_t *ms, char *err, size_t errsz)
{
    size_t n = strlen(s), i = 10;
    int y, mo, d, h = 0, mi = 0, sec = 0, milli = 0;

    if (n < 10 || s[4] != '-' || s[7] != '-' || (y = digits(s, 4)) < 0 ||
        (mo = digits(s + 5, 2)) < 0 || (d = digits(s + 8, 2)) < 0)
        goto bad;
    if (i < n && (s[i] == 'T' || s[i] == ' ')) {
        if (n < i + 6 || s[i + 3] != ':' || (h = digits(s + i + 1, 2)) < 0 ||
            (mi = digits(s + i + 4, 2)) < 0)
            goto bad;
        i += 6;
        if (i < n && s[i] == ':') {
            if (n < i + 3 || (sec = digits(s + i + 1, 2)) < 0)
                goto bad;
            i += 3;
            if (i < n && s[i] == '.') {
                size_t k = 0;
                int scale = 100;
                for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, k++) {
                    milli += (s[i] - '0') * scale;
                    scale /= 10;
                }
                if (k == 0 || k > 3)
                    goto bad;
            }
        }
    }
    if (i < n && s[i] == 'Z')
        i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        vigie_errf(err, errsz, "'%s': times are UTC: end with Z or nothing, not an offset", s);
        return VIGIE_ERR_PARSE;
    }
    if (i != n)
        goto bad;
    if (!date_ok(y, mo, d, h, mi, sec)) {
        vigie_errf(err, errsz, "'%s': no such date or time", s);
        return VIGIE_ERR_PARSE;
    }
    *ms = to_ms(y, mo, d, h, mi, sec, milli);
    return VIGIE_OK;
bad:
    vigie_errf(err, errsz,
               "'%s': expected a UTC time such as 2026-11-01, 2026-11-01T10:00 or "
               "2026-11-01T10:00:00Z",
               s);
    return VIGIE_ERR_PARSE;
}

/* ==== 2. the line scanner ========================================================== */

/* A string of the line (or of the scratch area when it was escaped); null is
 * JSON null. Valid until the next line. */
struct sv {
    const char *p;
    uint32_t n;
    uint8_t null;
};

struct finding {
    struct sv rule, category, action;
    uint64_t count;
};

/* The fields this reader knows, in the order the writer puts them in an
 * exchange (the lookup tries the next one first). */
enum field {
    FLD_V = 0,
    FLD_SEQ,
    FLD_TS,
    FLD_TYPE,
    FLD_ID,
    FLD_CALLER,
    FLD_GROUPS,
    FLD_CLIENT,
    FLD_ENDPOINT,
    FLD_MODEL,
    FLD_MODEL_SERVED,
    FLD_UPSTREAM,
    FLD_TRUST,
    FLD_POLICY,
    FLD_DECISION,
    FLD_FINDINGS,
    FLD_STREAM,
    FLD_TOKENS_IN,
    FLD_TOKENS_OUT,
    FLD_BYTES_IN,
    FLD_BYTES_OUT,
    FLD_STATUS,
    FLD_CODE,
    FLD_MS,
    FLD_VIGIE_MS,
    FLD_OK,
    FLD_REFUSED,
    FLD_PREV,
    FLD_MAC,
    FLD_COUNT,
};

static const char *const field_names[FLD_COUNT] = {
    "v",          "seq",      "ts",        "type",     "id",           "caller",
    "groups",     "client",   "endpoint",  "model",    "model_served", "upstream",
    "trust",      "policy",   "decision",  "findings", "stream",       "tokens_in",
    "tokens_out", "bytes_in", "bytes_out", "status",   "code",         "ms",
    "vigie_ms",   "ok",       "refused",   "prev",     "mac",
};

#define BIT(f) (1u << (f))
#define REQ_ALL                                                                                    \
    (BIT(FLD_V) | BIT(FLD_SEQ) | BIT(FLD_TS) | BIT(FLD_TYPE) | BIT(FLD_PREV) | BIT(FLD_MAC))
#define REQ_EXCHANGE                                                                               \
    (BIT(FLD_ID) | BIT(FLD_CALLER) | BIT(FLD_GROUPS) | BIT(FLD_CLIENT) | BIT(FLD_ENDPOINT) |       \
     BIT(FLD_MODEL) | BIT(FLD_MODEL_SERVED) | BIT(FLD_UPSTREAM) | BIT(FLD_TRUST) |                 \
     BIT(FLD_POLICY) | BIT(FLD_DECISION) | BIT(FLD_FINDINGS) | BIT(FLD_STREAM) |                   \
     BIT(FLD_TOKENS_IN) | BIT(FLD_TOKENS_OUT) | BIT(FLD_BYTES_IN) | BIT(FLD_BYTES_OUT) |           \
     BIT(FLD_STATUS) | BIT(FLD_CODE) | BIT(FLD_MS) | BIT(FLD_VIGIE_MS))

/* A number field: known (not null), as an integer or a real. */
struct num {
    int known;
    uint64_t u;
    double d;
};

/* One record as read. */
struct rec {
    uint32_t seen; /* BIT(field) of the fields present */
    uint64_t seq;
    int64_t ts_ms;
    const char *ts; /* its 24 bytes */
    struct sv type, caller, model, upstream, trust, decision, mode;
    const struct finding *findings;
    size_t nfindings;
    struct num tokens_in, tokens_out, bytes_in, bytes_out, status, ms, vigie_ms;
    int ok;
    uint64_t refused;
    size_t ngroups;
    struct sv groups[AUDIT_REPORT_GROUPS_MAX]; /* last: not cleared for each line */
};

#define SCAN_DEPTH_MAX 16u /* records are flat; deeper values are not ours */

struct scan {
    const unsigned char *p, *end;
    char *scratch; /* decoded strings; as large as the longest line */
    size_t used;
    const char *why; /* the first reason the line is not a record */
    char whybuf[96];
    struct finding *f;
    size_t nf, fcap;
};

static int fail(struct scan *s, const char *why)
{
    if (s->why == NULL)
        s->why = why;
    return -1;
}

/* A reason naming a field ("\"tokens_in\": expected a count"). */
static int fail_field(struct scan *s, enum field f, const char *what)
{
    if (s->why == NULL) {
        snprintf(s->whybuf, sizeof(s->whybuf), "\"%s\": %s", field_names[f], what);
        s->why = s->whybuf;
    }
    return -1;
}

static void ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' || *s->p == '\n'))
        s->p++;
}

static int peek(struct scan *s)
{
    ws(s);
    return s->p < s->end ? *s->p : -1;
}

static int eat(struct scan *s, unsigned char c, const char *why)
{
    if (peek(s) != c)
        return fail(s, why);
    s->p++;
    return 0;
}

static int hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0, i;

    for (i = 0; i < 4; i++) {
        unsigned c = p[i];
        if (c >= '0' && c <= '9')
            c -= '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            c = (c | 0x20) - 'a' + 10;
        else
            return -1;
        v = v << 4 | c;
    }
    *out = v;
    return 0;
}

/* The escaped part of a string, from q (after the plain prefix [p, q)), decoded
 * into the scratch area. */
static int str_escaped(struct scan *s, const unsigned char *p, const unsigned char *q,
                       struct sv *out)
{
    char *d0 = s->scratch + s->used, *d = d0;

    memcpy(d, p, (size_t)(q - p));
    d += q - p;
    for (;;) {
        unsigned c, cp, lo;
        size_t l;

        if (q >= s->end)
            return fail(s, "a string does not end");
        c = *q;
        if (c == '"')
            break;
        if (c < 0x20)
            return fail(s, "a control character in a string");
        if (c >= 0x80) {
            if ((l = vigie_utf8_len(q, (size_t)(s->end - q))) == 0)
                return fail(s, "invalid UTF-8 in a string");
            memcpy(d, q, l);
            d += l, q += l;
            continue;
        }
        if (c != '\\') {
            *d++ = (char)c;
            q++;
            continue;
        }
        if (q + 1 >= s->end)
            return fail(s, "a string does not end");
        switch (q[1]) {
        case '"':
            *d++ = '"';
            break;
        case '\\':
            *d++ = '\\';
            break;
        case '/':
            *d++ = '/';
            break;
        case 'b':
            *d++ = '\b';
            break;
        case 'f':
            *d++ = '\f';
            break;
        case 'n':
            *d++ = '\n';
            break;
        case 'r':
            *d++ = '\r';
            break;
        case 't':
            *d++ = '\t';
            break;
        case 'u':
            if (s->end - q < 6 || hex4(q + 2, &cp) != 0)
                return fail(s, "a bad \\u escape");
            q += 4; /* the common += 2 below ends past the 6 bytes */
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return fail(s, "a lone surrogate in a \\u escape");
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (s->end - q < 8 || q[2] != '\\' || q[3] != 'u' || hex4(q + 4, &lo) != 0 ||
                    lo < 0xdc00 || lo > 0xdfff)
                    return fail(s, "a lone surrogate in a \\u escape");
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                q += 6;
            }
            if (cp == 0)
                return fail(s, "\\u0000 in a string");
            if (cp < 0x80) {
                *d++ = (char)cp;
            } else if (cp < 0x800) {
                *d++ = (char)(0xc0 | cp >> 6);
                *d++ = (char)(0x80 | (cp & 0x3f));
            } else if (cp < 0x10000) {
                *d++ = (char)(0xe0 | cp >> 12);
                *d++ = (char)(0x80 | (cp >> 6 & 0x3f));
                *d++ = (char)(0x80 | (cp & 0x3f));
            } else {
                *d++ = (char)(0xf0 | cp >> 18);
                *d++ = (char)(0x80 | (cp >> 12 & 0x3f));
                *d++ = (char)(0x80 | (cp >> 6 & 0x3f));
                *d++ = (char)(0x80 | (cp & 0x3f));
            }
            break;
        default:
            return fail(s, "an unknown escape in a string");
        }
        q += 2;
    }
    /* Decoded text is never longer than its escaped form, and the scratch
     * area is as large as a line: this cannot overflow. */
    out->p = d0;
    out->n = (uint32_t)(d - d0);
    out->null = 0;
    s->used += (size_t)(d - d0);
    s->p = q + 1;
    return 0;
}

/* A string at s->p. Plain strings (no escape) stay in the line. */
static int str(struct scan *s, struct sv *out)
{
    const unsigned char *p, *q;

    if (peek(s) != '"')
        return fail(s, "expected a string");
    p = q = s->p + 1;
    /* Fast path: the closing quote by memchr, then one branch-free pass that
     * the compiler vectorises; anything unusual (an escape, a control byte,
     * UTF-8) takes the careful loop below from the start. */
    {
        const unsigned char *z = memchr(p, '"', (size_t)(s->end - p));
        if (z != NULL) {
            unsigned odd = 0;
            size_t i, n = (size_t)(z - p);
            for (i = 0; i < n; i++)
                odd |=
                    (unsigned)(p[i] < 0x20) | (unsigned)(p[i] == '\\') | (unsigned)(p[i] >= 0x80);
            if (!odd) {
                out->p = (const char *)p;
                out->n = (uint32_t)n;
                out->null = 0;
                s->p = z + 1;
                return 0;
            }
        }
    }
    while (q < s->end) {
        unsigned c = *q;
        size_t l;
        if (c == '"') {
            out->p = (const char *)p;
            out->n = (uint32_t)(q - p);
            out->null = 0;
            s->p = q + 1;
            return 0;
        }
        if (c == '\\')
            return str_escaped(s, p, q, out);
        if (c < 0x20)
            return fail(s, "a control character in a string");
        if (c < 0x80) {
            q++;
            continue;
        }
        if ((l = vigie_utf8_len(q, (size_t)(s->end - q))) == 0)
            return fail(s, "invalid UTF-8 in a string");
        q += l;
    }
    return fail(s, "a string does not end");
}

static int literal(struct scan *s, const char *word, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return fail(s, "expected a value");
    s->p += n;
    return 0;
}

static int is_digit(const unsigned char *p, const unsigned char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

/* A JSON number. Integers must fit in 64 bits signed (as in jansson); *neg and
 * *real say what it was. */
static int number(struct scan *s, struct num *out, int *neg, int *real)
{
    const unsigned char *p = s->p, *b = p;
    char tmp[72];
    size_t len;

    *neg = *real = 0;
    if (p < s->end && *p == '-')
        p++, *neg = 1;
    if (!is_digit(p, s->end))
        return fail(s, "expected a value");
    if (*p == '0')
        p++;
    else
        while (is_digit(p, s->end))
            p++;
    if (p < s->end && *p == '.') {
        p++;
        if (!is_digit(p, s->end))
            return fail(s, "a bad number");
        while (is_digit(p, s->end))
            p++;
        *real = 1;
    }
    if (p < s->end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < s->end && (*p == '+' || *p == '-'))
            p++;
        if (!is_digit(p, s->end))
            return fail(s, "a bad number");
        while (is_digit(p, s->end))
            p++;
        *real = 1;
    }
    len = (size_t)(p - b);
    if (len > VIGIE_API_NUMBER_MAX)
        return fail(s, "a number too long");
    s->p = p;
    out->known = 1;
    if (!*real) {
        uint64_t v = 0, lim = *neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        for (p = b + *neg; p < s->p; p++) {
            unsigned dgt = (unsigned)(*p - '0');
            if (v > (lim - dgt) / 10)
                return fail(s, "an integer out of range");
            v = v * 10 + dgt;
        }
        out->u = v;
        out->d = *neg ? -(double)v : (double)v;
        return 0;
    }
    {
        /* Plain decimals of up to 15 digits ("0.355", as durations are
         * written) without strtod: both integers are exact in a double and
         * the division is correctly rounded, so the result is strtod's. */
        static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
        uint64_t m = 0;
        size_t digits_n = 0, frac = 0;
        int dot = 0, simple = 1;
        for (p = b + *neg; p < s->p && simple; p++) {
            if (*p == '.') {
                dot = 1;
            } else if (*p >= '0' && *p <= '9') {
                m = m * 10 + (uint64_t)(*p - '0');
                digits_n++;
                frac += (size_t)dot;
            } else {
                simple = 0;
            }
        }
        if (simple && digits_n <= 15 && frac < sizeof(pow10) / sizeof(pow10[0])) {
            out->d = (double)m / pow10[frac];
            if (*neg)
                out->d = -out->d;
            out->u = 0;
            return 0;
        }
    }
    memcpy(tmp, b, len);
    tmp[len] = '\0';
    out->d = strtod(tmp, NULL);
    if (out->d > DBL_MAX || out->d < -DBL_MAX)
        return fail(s, "a real number out of range");
    out->u = 0;
    return 0;
}

/* Any value, checked and dropped. */
static int skip_value(struct scan *s, unsigned depth)
{
    struct sv tmp;
    struct num n;
    int c = peek(s), neg, real;

    if (depth > SCAN_DEPTH_MAX)
        return fail(s, "nested too deep");
    switch (c) {
    case '"':
        return str(s, &tmp);
    case 't':
        return literal(s, "true", 4);
    case 'f':
        return literal(s, "false", 5);
    case 'n':
        return literal(s, "null", 4);
    case '{':
        s->p++;
        if (peek(s) == '}') {
            s->p++;
            return 0;
        }
        for (;;) {
            if (str(s, &tmp) != 0 || eat(s, ':', "expected ':'") != 0 ||
                skip_value(s, depth + 1) != 0)
                return -1;
            c = peek(s);
            s->p++;
            if (c == '}')
                return 0;
            if (c != ',')
                return fail(s, "expected ',' or '}'");
        }
    case '[':
        s->p++;
        if (peek(s) == ']') {
            s->p++;
            return 0;
        }
        for (;;) {
            if (skip_value(s, depth + 1) != 0)
                return -1;
            c = peek(s);
            s->p++;
            if (c == ']')
                return 0;
            if (c != ',')
                return fail(s, "expected ',' or ']'");
        }
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return number(s, &n, &neg, &real);
        return fail(s, "expected a value");
    }
}

static int is_null(struct scan *s)
{
    if (peek(s) == 'n') {
        if (literal(s, "null", 4) != 0)
            return -1;
        return 1;
    }
    return 0;
}

/* A string or null. */
static int str_or_null(struct scan *s, enum field f, struct sv *out)
{
    int r = is_null(s);

    if (r < 0)
        return -1;
    if (r > 0) {
        out->p = "";
        out->n = 0;
        out->null = 1;
        return 0;
    }
    if (peek(s) != '"')
        return fail_field(s, f, "expected a string or null");
    return str(s, out);
}

/* A non-negative integer, or null when allowed; or any non-negative number
 * when real is allowed (durations). */
static int count(struct scan *s, enum field f, struct num *out, int nullable, int real_ok)
{
    int c = peek(s), r, neg, real;

    memset(out, 0, sizeof(*out));
    if (nullable && (r = is_null(s)) != 0)
        return r < 0 ? -1 : 0;
    if (c != '-' && (c < '0' || c > '9'))
        return fail_field(s, f, real_ok ? "expected a number" : "expected a count");
    if (number(s, out, &neg, &real) != 0)
        return -1;
    if (neg && (out->u != 0 || real))
        return fail_field(s, f, "negative");
    if (real && !real_ok)
        return fail_field(s, f, "expected a count");
    return 0;
}

static int hex64(const struct sv *v)
{
    const unsigned char *p = (const unsigned char *)v->p;
    unsigned bad = 0;
    uint32_t i;

    if (v->n != AUDIT_HASH_HEX)
        return -1;
    /* Branch-free, so that it vectorises: two of these per record. */
    for (i = 0; i < AUDIT_HASH_HEX; i++)
        bad |= (unsigned)((unsigned char)(p[i] - '0') >= 10) &
               (unsigned)((unsigned char)(p[i] - 'a') >= 6);
    return bad ? -1 : 0;
}

static int sv_is(const struct sv *v, const char *lit)
{
    /* The first byte settles most comparisons without a strlen. */
    if (v->null || v->n == 0 || v->p[0] != lit[0])
        return 0;
    return v->n == strlen(lit) && memcmp(v->p, lit, v->n) == 0;
}

/* "policy":{"id","version","mode"} or null: the mode is kept. */
static int policy_obj(struct scan *s, struct rec *r)
{
    struct sv key;
    int c, n = is_null(s);

    r->mode.p = "", r->mode.n = 0, r->mode.null = 1;
    if (n != 0)
        return n < 0 ? -1 : 0;
    if (eat(s, '{', "\"policy\": expected an object or null") != 0)
        return -1;
    if (peek(s) == '}') {
        s->p++;
        return 0;
    }
    for (;;) {
        if (str(s, &key) != 0 || eat(s, ':', "expected ':'") != 0)
            return -1;
        if (key.n == 4 && memcmp(key.p, "mode", 4) == 0) {
            if (str_or_null(s, FLD_POLICY, &r->mode) != 0)
                return -1;
        } else if (skip_value(s, 2) != 0) {
            return -1;
        }
        c = peek(s);
        s->p++;
        if (c == '}')
            return 0;
        if (c != ',')
            return fail(s, "expected ',' or '}'");
    }
}

static int groups_arr(struct scan *s, struct rec *r)
{
    int c, n = is_null(s);

    r->ngroups = 0;
    if (n != 0)
        return n < 0 ? -1 : 0;
    if (eat(s, '[', "\"groups\": expected an array") != 0)
        return -1;
    if (peek(s) == ']') {
        s->p++;
        return 0;
    }
    for (;;) {
        struct sv g;
        size_t i;
        if (peek(s) != '"')
            return fail_field(s, FLD_GROUPS, "expected strings");
        if (str(s, &g) != 0)
            return -1;
        /* A group named twice counts once. */
        for (i = 0; i < r->ngroups; i++)
            if (r->groups[i].n == g.n && memcmp(r->groups[i].p, g.p, g.n) == 0)
                break;
        if (i == r->ngroups) {
            if (r->ngroups == AUDIT_REPORT_GROUPS_MAX)
                return fail_field(s, FLD_GROUPS, "too many groups");
            r->groups[r->ngroups++] = g;
        }
        c = peek(s);
        s->p++;
        if (c == ']')
            return 0;
        if (c != ',')
            return fail(s, "expected ',' or ']'");
    }
}

/* One finding: {"rule","category","count","action"}, each once. */
static int finding_obj(struct scan *s, struct finding *f)
{
    struct sv key;
    struct num n;
    unsigned seen = 0, bit;
    int c;

    if (eat(s, '{', "\"findings\": expected objects") != 0)
        return -1;
    if (peek(s) != '}') {
        for (;;) {
            if (str(s, &key) != 0 || eat(s, ':', "expected ':'") != 0)
                return -1;
            bit = 0;
            if (key.n == 4 && memcmp(key.p, "rule", 4) == 0) {
                bit = 1;
                if (peek(s) != '"' || str(s, &f->rule) != 0)
                    return fail(s, "a finding's \"rule\": expected a string");
            } else if (key.n == 8 && memcmp(key.p, "category", 8) == 0) {
                bit = 2;
                if (peek(s) != '"' || str(s, &f->category) != 0)
                    return fail(s, "a finding's \"category\": expected a string");
            } else if (key.n == 5 && memcmp(key.p, "count", 5) == 0) {
                bit = 4;
                if (count(s, FLD_FINDINGS, &n, 0, 0) != 0)
                    return fail(s, "a finding's \"count\": expected a count");
                f->count = n.u;
            } else if (key.n == 6 && memcmp(key.p, "action", 6) == 0) {
                bit = 8;
                if (peek(s) != '"' || str(s, &f->action) != 0)
                    return fail(s, "a finding's \"action\": expected a string");
            } else if (skip_value(s, 3) != 0) {
                return -1;
            }
            if (seen & bit)
                return fail(s, "a finding names a key twice");
            seen |= bit;
            c = peek(s);
            s->p++;
            if (c == '}')
                break;
            if (c != ',')
                return fail(s, "expected ',' or '}'");
        }
    } else {
        s->p++;
    }
    if (seen != 15)
        return fail(s, "a finding lacks \"rule\", \"category\", \"count\" or \"action\"");
    return 0;
}

static int findings_arr(struct scan *s)
{
    int c, n = is_null(s);

    s->nf = 0;
    if (n != 0)
        return n < 0 ? -1 : 0;
    if (eat(s, '[', "\"findings\": expected an array") != 0)
        return -1;
    if (peek(s) == ']') {
        s->p++;
        return 0;
    }
    for (;;) {
        if (s->nf == AUDIT_REPORT_FINDINGS_MAX)
            return fail_field(s, FLD_FINDINGS, "too many findings");
        if (VIGIE_ARRAY_RESERVE(s->f, s->nf, s->fcap, 16) != VIGIE_OK)
            return fail(s, "out of memory");
        if (finding_obj(s, &s->f[s->nf]) != 0)
            return -1;
        s->nf++;
        c = peek(s);
        s->p++;
        if (c == ']')
            return 0;
        if (c != ',')
            return fail(s, "expected ',' or ']'");
    }
}

static enum field field_lookup(const struct sv *k, enum field hint)
{
    static uint8_t len[FLD_COUNT];
    size_t i;

    if (len[0] == 0)
        for (i = 0; i < FLD_COUNT; i++)
            len[i] = (uint8_t)strlen(field_names[i]);
    if (hint < FLD_COUNT && len[hint] == k->n && memcmp(field_names[hint], k->p, k->n) == 0)
        return hint;
    for (i = 0; i < FLD_COUNT; i++)
        if (len[i] == k->n && memcmp(field_names[i], k->p, k->n) == 0)
            return (enum field)i;
    return FLD_COUNT;
}

static int field_value(struct scan *s, struct rec *r, enum field f)
{
    struct sv v;
    struct num n;
    int c;

    switch (f) {
    case FLD_V:
        if (count(s, f, &n, 0, 0) != 0)
            return -1;
        if (n.u != AUDIT_FORMAT)
            return fail(s, "a record of another format version (this vigie reads v 1)");
        return 0;
    case FLD_SEQ:
        if (count(s, f, &n, 0, 0) != 0)
            return -1;
        r->seq = n.u;
        return 0;
    case FLD_TS:
        if (peek(s) != '"' || str(s, &v) != 0 || ts_parse(v.p, v.n, &r->ts_ms) != 0)
            return fail_field(s, f, "expected a UTC time such as 2026-11-26T21:00:00.123Z");
        r->ts = v.p;
        return 0;
    case FLD_TYPE:
        if (peek(s) != '"')
            return fail_field(s, f, "expected a string");
        return str(s, &r->type);
    case FLD_PREV:
    case FLD_MAC:
        if (peek(s) != '"' || str(s, &v) != 0 || hex64(&v) != 0)
            return fail_field(s, f, "expected 64 hex digits");
        return 0;
    case FLD_CALLER:
        return str_or_null(s, f, &r->caller);
    case FLD_MODEL:
        return str_or_null(s, f, &r->model);
    case FLD_UPSTREAM:
        return str_or_null(s, f, &r->upstream);
    case FLD_TRUST:
        return str_or_null(s, f, &r->trust);
    case FLD_DECISION:
        return str_or_null(s, f, &r->decision);
    case FLD_GROUPS:
        return groups_arr(s, r);
    case FLD_POLICY:
        return policy_obj(s, r);
    case FLD_FINDINGS:
        if (findings_arr(s) != 0)
            return -1;
        r->findings = s->f;
        r->nfindings = s->nf;
        return 0;
    case FLD_TOKENS_IN:
        return count(s, f, &r->tokens_in, 1, 0);
    case FLD_TOKENS_OUT:
        return count(s, f, &r->tokens_out, 1, 0);
    case FLD_BYTES_IN:
        return count(s, f, &r->bytes_in, 1, 0);
    case FLD_BYTES_OUT:
        return count(s, f, &r->bytes_out, 1, 0);
    case FLD_STATUS:
        return count(s, f, &r->status, 1, 0);
    case FLD_MS:
        return count(s, f, &r->ms, 1, 1);
    case FLD_VIGIE_MS:
        return count(s, f, &r->vigie_ms, 1, 1);
    case FLD_REFUSED:
        if (count(s, f, &n, 1, 0) != 0)
            return -1;
        r->refused = n.u;
        return 0;
    case FLD_OK:
        c = peek(s);
        r->ok = c == 't';
        if (c == 't')
            return literal(s, "true", 4);
        if (c == 'f')
            return literal(s, "false", 5);
        return fail_field(s, f, "expected true or false");
    default:
        /* Known but not reported on (id, client, endpoint, model_served,
         * stream, code): checked as JSON only. */
        return skip_value(s, 1);
    }
}

/* Reads one line into r. Returns 0, or -1 with the reason in s->why. */
static int parse_record(struct scan *s, struct rec *r, const char *line, size_t len)
{
    enum field hint = FLD_V, f;
    struct sv key;
    int c;

    memset(r, 0, offsetof(struct rec, groups));
    r->caller.null = r->model.null = r->upstream.null = r->trust.null = r->decision.null = 1;
    r->mode.null = 1;
    s->p = (const unsigned char *)line;
    s->end = s->p + len;
    s->used = 0;
    s->why = NULL;
    s->nf = 0;
    if (len == 0)
        return fail(s, "an empty line");
    if (eat(s, '{', "not a JSON object") != 0)
        return -1;
    if (peek(s) != '}') {
        for (;;) {
            if (str(s, &key) != 0 || eat(s, ':', "expected ':'") != 0)
                return -1;
            f = field_lookup(&key, hint);
            if (f == FLD_COUNT) {
                if (skip_value(s, 1) != 0)
                    return -1;
            } else {
                if (r->seen & BIT(f))
                    return fail_field(s, f, "named twice");
                r->seen |= BIT(f);
                if (field_value(s, r, f) != 0)
                    return -1;
                hint = (enum field)(f + 1);
            }
            c = peek(s);
            s->p++;
            if (c == '}')
                break;
            if (c != ',')
                return fail(s, "expected ',' or '}'");
        }
    } else {
        s->p++;
    }
    if (peek(s) != -1)
        return fail(s, "bytes after the record");
    if ((r->seen & REQ_ALL) != REQ_ALL ||
        (sv_is(&r->type, "exchange") && (r->seen & REQ_EXCHANGE) != REQ_EXCHANGE)) {
        uint32_t need = REQ_ALL | (sv_is(&r->type, "exchange") ? REQ_EXCHANGE : 0);
        for (f = FLD_V; f < FLD_COUNT; f++)
            if ((need & BIT(f)) && !(r->seen & BIT(f)))
                return fail_field(s, f, "missing");
    }
    if (sv_is(&r->type, "reload") && !(r->seen & BIT(FLD_OK)))
        return fail_field(s, FLD_OK, "missing");
    return 0;
}

/* ==== 3. tables ==================================================================== */

/* Decisions and finding actions, as columns. */
enum dec {
    DEC_ALLOW = 0,
    DEC_MASK,
    DEC_REROUTE,
    DEC_BLOCK,
    DEC_DENY,
    DEC_ERROR,
    DEC_PASSTHROUGH,
    DEC_OTHER, /* none, or a name this reader does not know */
    DEC_COUNT,
};
static const char *const dec_names[DEC_COUNT] = {"allow", "mask",  "reroute",     "block",
                                                 "deny",  "error", "passthrough", "none"};

enum act {
    ACT_FLAG = 0,
    ACT_PSEUDONYMISE,
    ACT_MASK,
    ACT_REROUTE,
    ACT_BLOCK,
    ACT_OTHER,
    ACT_COUNT,
};
static const char *const act_names[ACT_COUNT] = {"flag",    "pseudonymise", "mask",
                                                 "reroute", "block",        "other"};

enum trust { TRUST_INTERNAL = 0, TRUST_EXTERNAL = 1, TRUST_NONE = 2 };

/* Durations: a fixed-bucket histogram in microseconds, 8 buckets per power of
 * two, so a percentile read from it is within 1/16 (6.25 %) of the true value,
 * from 1 us to 2^36 us (19 h; longer ones land in the last bucket). */
#define HIST_K_MAX 35u
#define HIST_N     (8u + (HIST_K_MAX - 2u) * 8u)

struct hist {
    uint32_t b[HIST_N]; /* saturating: one key past 4e9 records is not a concern */
    uint64_t n;
    double min, max; /* ms, to clamp the estimate */
};

static unsigned hist_index(uint64_t us)
{
    unsigned k;

    if (us < 8)
        return (unsigned)us;
    k = 63u - (unsigned)__builtin_clzll(us);
    if (k > HIST_K_MAX)
        return HIST_N - 1;
    return 8u + (k - 3u) * 8u + (unsigned)((us >> (k - 3u)) & 7u);
}

/* Bucket b's lower bound and width, in us. */
static void hist_bucket(unsigned b, double *low, double *width)
{
    unsigned k, sub;

    if (b < 8) {
        *low = b;
        *width = 1;
        return;
    }
    k = (b - 8) / 8 + 3;
    sub = (b - 8) % 8;
    *low = (double)((uint64_t)(8 + sub) << (k - 3));
    *width = (double)((uint64_t)1 << (k - 3));
}

static void hist_add(struct hist *h, double ms)
{
    unsigned i;

    if (!(ms >= 0) || ms > 1e12)
        return;
    i = hist_index((uint64_t)(ms * 1000.0 + 0.5));
    if (h->b[i] != UINT32_MAX)
        h->b[i]++;
    if (h->n == 0 || ms < h->min)
        h->min = ms;
    if (h->n == 0 || ms > h->max)
        h->max = ms;
    h->n++;
}

/* The p-quantile (0 < p <= 1) in ms, or -1 when nothing was measured. The
 * values of a bucket are taken as spread evenly across it, so that estimates
 * move smoothly rather than jump from one bucket to the next. */
static double hist_quantile(const struct hist *h, double p)
{
    uint64_t want, cum = 0, total = 0;
    unsigned i;
    double low, width, v;

    for (i = 0; i < HIST_N; i++)
        total += h->b[i];
    if (total == 0)
        return -1;
    want = (uint64_t)(p * (double)total + 0.999999);
    if (want < 1)
        want = 1;
    for (i = 0; i + 1 < HIST_N; i++) {
        if (cum + h->b[i] >= want)
            break;
        cum += h->b[i];
    }
    hist_bucket(i, &low, &width);
    v = (low + width * ((double)(want - cum) - 0.5) / (double)(h->b[i] ? h->b[i] : 1)) / 1000.0;
    if (v < h->min)
        v = h->min;
    if (v > h->max)
        v = h->max;
    return v;
}

/* A row of exchanges (caller, group, model, upstream, trust, day). */
struct xstats {
    uint64_t requests;
    uint64_t dec[DEC_COUNT];
    uint64_t tokens_in, tokens_out, bytes_in, bytes_out;
    uint64_t findings;      /* sum of the findings' counts */
    uint64_t with_findings; /* exchanges with at least one finding */
    uint64_t internal, external;
    struct hist ms;
};

/* A row of findings (category, rule, or one of them with another key). */
struct fstats {
    uint64_t exchanges; /* exchanges with at least one of these findings */
    uint64_t findings;  /* sum of counts */
    uint64_t act[ACT_COUNT];
    uint64_t internal, external; /* by the exchange's trust */
    uint64_t ext_as_written;     /* sent to an external model unchanged (flag, monitor) */
    uint64_t ext_replaced;       /* sent to an external model masked or pseudonymised */
    uint64_t stopped;            /* in a refused exchange: sent to no model at all */
};

struct row {
    char *key; /* parts joined by '\0'; a part "\xff" is null, the key "\xfe" is "(other)" */
    uint32_t klen;
    uint32_t hash;
    uint64_t serial; /* the last exchange counted here (finding rows count it once) */
};

#define KEY_NULL  '\xff'
#define KEY_OTHER "\xfe"

struct table {
    enum audit_dim dims[AUDIT_REPORT_BY_MAX];
    size_t ndims;
    int findings; /* rows of findings (fstats), else of exchanges (xstats) */
    struct row *rows;
    size_t n, cap;
    void *stats;     /* cap elements of xstats or fstats */
    uint32_t *slots; /* row index + 1; 0 is empty */
    size_t nslots;
    size_t other; /* the "(other)" row, or SIZE_MAX */
};

static int dim_is_finding(enum audit_dim d)
{
    return d == AUDIT_DIM_CATEGORY || d == AUDIT_DIM_RULE;
}

static size_t stat_size(const struct table *t)
{
    return t->findings ? sizeof(struct fstats) : sizeof(struct xstats);
}

static struct xstats *xst(const struct table *t, size_t i)
{
    return (struct xstats *)t->stats + i;
}

static struct fstats *fst(const struct table *t, size_t i)
{
    return (struct fstats *)t->stats + i;
}

static void table_init(struct table *t, const enum audit_dim *dims, size_t ndims)
{
    size_t i;

    memset(t, 0, sizeof(*t));
    for (i = 0; i < ndims; i++) {
        t->dims[i] = dims[i];
        if (dim_is_finding(dims[i]))
            t->findings = 1;
    }
    t->ndims = ndims;
    t->other = SIZE_MAX;
}

static void table_fini(struct table *t)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        free(t->rows[i].key);
    free(t->rows);
    free(t->stats);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

static uint32_t key_hash(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    size_t i;

    for (i = 0; i < n; i++)
        h = (h ^ (unsigned char)k[i]) * 1099511628211ull;
    return (uint32_t)(h ^ h >> 32);
}

static int slots_grow(struct table *t)
{
    size_t nslots = t->nslots ? t->nslots * 2 : 64, i;
    uint32_t *slots = calloc(nslots, sizeof(*slots));

    if (slots == NULL)
        return VIGIE_ERR_NOMEM;
    for (i = 0; i < t->n; i++) {
        size_t j = t->rows[i].hash & (nslots - 1);
        while (slots[j] != 0)
            j = (j + 1) & (nslots - 1);
        slots[j] = (uint32_t)(i + 1);
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return VIGIE_OK;
}

static int row_add(struct table *t, const char *key, size_t klen, uint32_t h, size_t *idx)
{
    char *k;

    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        struct row *rows = realloc(t->rows, cap * sizeof(*rows));
        void *st;
        if (rows == NULL)
            return VIGIE_ERR_NOMEM;
        t->rows = rows;
        if ((st = realloc(t->stats, cap * stat_size(t))) == NULL)
            return VIGIE_ERR_NOMEM;
        t->stats = st;
        t->cap = cap;
    }
    if ((k = malloc(klen + 1)) == NULL)
        return VIGIE_ERR_NOMEM;
    memcpy(k, key, klen);
    k[klen] = '\0';
    t->rows[t->n].key = k;
    t->rows[t->n].klen = (uint32_t)klen;
    t->rows[t->n].hash = h;
    t->rows[t->n].serial = 0;
    memset((char *)t->stats + t->n * stat_size(t), 0, stat_size(t));
    *idx = t->n++;
    return VIGIE_OK;
}

/* The row of key, made when new. Past AUDIT_REPORT_ROWS_MAX keys, new keys go
 * to the "(other)" row (*other set), so memory stays bounded whatever the
 * input. Returns VIGIE_OK or VIGIE_ERR_NOMEM. */
static int table_row(struct table *t, const char *key, size_t klen, size_t *idx, int *other)
{
    uint32_t h = key_hash(key, klen);
    size_t j;
    int rc;

    *other = 0;
    if ((t->n + 1) * 10 > t->nslots * 7 && (rc = slots_grow(t)) != VIGIE_OK)
        return rc;
    for (j = h & (t->nslots - 1); t->slots[j] != 0; j = (j + 1) & (t->nslots - 1)) {
        const struct row *r = &t->rows[t->slots[j] - 1];
        if (r->hash == h && r->klen == klen && memcmp(r->key, key, klen) == 0) {
            *idx = t->slots[j] - 1;
            return VIGIE_OK;
        }
    }
    if (t->n >= AUDIT_REPORT_ROWS_MAX) {
        *other = 1;
        if (t->other == SIZE_MAX) {
            /* The one row past the cap: found by index, never by hash. */
            if ((rc = row_add(t, KEY_OTHER, 1, 0, &t->other)) != VIGIE_OK)
                return rc;
        }
        *idx = t->other;
        return VIGIE_OK;
    }
    if ((rc = row_add(t, key, klen, h, idx)) != VIGIE_OK)
        return rc;
    t->slots[j] = (uint32_t)(*idx + 1);
    return VIGIE_OK;
}

/* Per-exchange facts every table needs, worked out once. */
struct xfacts {
    enum dec dec;
    enum trust trust;
    int forwarded; /* the request went to the upstream */
    int monitor;   /* the policy was in monitor mode: findings left as written */
    uint64_t findings;
};

static enum dec dec_of(const struct sv *d)
{
    unsigned i;

    if (d->null)
        return DEC_OTHER;
    for (i = 0; i < DEC_OTHER; i++)
        if (sv_is(d, dec_names[i]))
            return (enum dec)i;
    return DEC_OTHER;
}

static enum act act_of(const struct sv *a)
{
    unsigned i;

    for (i = 0; i < ACT_OTHER; i++)
        if (sv_is(a, act_names[i]))
            return (enum act)i;
    return ACT_OTHER;
}

static void xstats_add(struct xstats *x, const struct rec *r, const struct xfacts *xf)
{
    x->requests++;
    x->dec[xf->dec]++;
    x->tokens_in += r->tokens_in.u;
    x->tokens_out += r->tokens_out.u;
    x->bytes_in += r->bytes_in.u;
    x->bytes_out += r->bytes_out.u;
    x->findings += xf->findings;
    x->with_findings += xf->findings > 0;
    if (xf->trust == TRUST_INTERNAL)
        x->internal++;
    else if (xf->trust == TRUST_EXTERNAL)
        x->external++;
    if (r->ms.known)
        hist_add(&x->ms, r->ms.d);
}

static void fstats_add(struct fstats *s, struct row *row, uint64_t serial, const struct xfacts *xf,
                       const struct finding *f)
{
    enum act a = act_of(&f->action);

    if (row->serial != serial) {
        row->serial = serial;
        s->exchanges++;
    }
    s->findings += f->count;
    s->act[a] += f->count;
    if (xf->trust == TRUST_INTERNAL)
        s->internal += f->count;
    else if (xf->trust == TRUST_EXTERNAL)
        s->external += f->count;
    /* A refused exchange (block, deny, error) went to no model: the gateway
     * records no upstream for it, so "stopped" does not depend on trust. */
    if (!xf->forwarded) {
        s->stopped += f->count;
    } else if (xf->trust == TRUST_EXTERNAL) {
        /* Only a replaced value is safe: a flag, a monitored clause, or an
         * action this reader does not know went out as written. */
        if (!xf->monitor && (a == ACT_MASK || a == ACT_PSEUDONYMISE))
            s->ext_replaced += f->count;
        else
            s->ext_as_written += f->count;
    }
}

/* ---- the report: options, and the aggregation of one record ----------------------- */

enum rtype {
    RT_EXCHANGE = 0,
    RT_START,
    RT_STOP,
    RT_RELOAD,
    RT_SEGMENT,
    RT_CHECKPOINT,
    RT_RECOVERED,
    RT_STORAGE_ERROR,
    RT_OTHER,
    RT_COUNT,
};
static const char *const rtype_names[RT_COUNT] = {"exchange",  "start",         "stop",
                                                  "reload",    "segment",       "checkpoint",
                                                  "recovered", "storage_error", "other"};

struct file_stat {
    char *path;
    uint64_t lines, records, unreadable;
};

#define READ_BLOCK (1u << 20) /* bytes per read(); more than AUDIT_LINE_MAX */

struct audit_report {
    struct audit_report_opts o;
    struct table single[AUDIT_DIM_COUNT]; /* one table per key, always */
    struct table pair;                    /* --by K1,K2 */
    int has_pair;
    struct xstats total;
    struct fstats ftotal; /* every finding */
    struct row frow;      /* ftotal's serial */
    struct hist vigie_ms;
    uint64_t types[RT_COUNT];
    uint64_t reload_failed, refused, monitor;
    int64_t first_ms, last_ms;
    uint64_t serial;
    int cut; /* a key of the current record was cut */
    struct file_stat *files;
    size_t nfiles, fcap;
    struct audit_report_status st;
    struct scan sc;
    char *block; /* READ_BLOCK bytes */
};

void audit_report_opts_init(struct audit_report_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->since_ms = INT64_MIN;
    o->until_ms = INT64_MAX;
    o->top = 10;
}

const char *audit_dim_name(enum audit_dim d)
{
    static const char *const names[AUDIT_DIM_COUNT] = {"caller", "group", "model",    "upstream",
                                                       "trust",  "day",   "category", "rule"};
    return (unsigned)d < AUDIT_DIM_COUNT ? names[d] : "?";
}

int audit_report_parse_by(const char *s, enum audit_dim *by, size_t *nby, char *err, size_t errsz)
{
    const char *p = s;
    size_t n = 0;

    while (*p != '\0') {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        unsigned d;
        for (d = 0; d < AUDIT_DIM_COUNT; d++)
            if (strlen(audit_dim_name((enum audit_dim)d)) == len &&
                memcmp(audit_dim_name((enum audit_dim)d), p, len) == 0)
                break;
        if (d == AUDIT_DIM_COUNT) {
            vigie_errf(err, errsz,
                       "'%s': expected caller, group, model, upstream, trust, day, category "
                       "or rule (two may be joined: caller,model)",
                       s);
            return VIGIE_ERR_PARSE;
        }
        if (n == AUDIT_REPORT_BY_MAX) {
            vigie_errf(err, errsz, "'%s': at most %d keys", s, AUDIT_REPORT_BY_MAX);
            return VIGIE_ERR_PARSE;
        }
        if (n == 1 && by[0] == (enum audit_dim)d) {
            vigie_errf(err, errsz, "'%s': the same key twice", s);
            return VIGIE_ERR_PARSE;
        }
        by[n++] = (enum audit_dim)d;
        if (e == NULL)
            break;
        p = e + 1;
    }
    if (n == 0) {
        vigie_errf(err, errsz, "an empty --by");
        return VIGIE_ERR_PARSE;
    }
    *nby = n;
    return VIGIE_OK;
}

int audit_report_new(struct audit_report **out, const struct audit_report_opts *o)
{
    struct audit_report *r = calloc(1, sizeof(*r));
    unsigned d;

    *out = NULL;
    if (r == NULL)
        return VIGIE_ERR_NOMEM;
    r->o = *o;
    if (r->o.top == 0)
        r->o.top = 10;
    if (r->o.top > AUDIT_REPORT_TOP_MAX)
        r->o.top = AUDIT_REPORT_TOP_MAX;
    if (r->o.nby > AUDIT_REPORT_BY_MAX)
        r->o.nby = AUDIT_REPORT_BY_MAX;
    for (d = 0; d < AUDIT_DIM_COUNT; d++) {
        enum audit_dim dim = (enum audit_dim)d;
        table_init(&r->single[d], &dim, 1);
    }
    if (r->o.nby == 2) {
        table_init(&r->pair, r->o.by, 2);
        r->has_pair = 1;
    }
    r->sc.scratch = malloc(AUDIT_LINE_MAX + 16);
    r->block = malloc(READ_BLOCK);
    if (r->sc.scratch == NULL || r->block == NULL) {
        audit_report_free(r);
        return VIGIE_ERR_NOMEM;
    }
    *out = r;
    return VIGIE_OK;
}

void audit_report_free(struct audit_report *r)
{
    size_t i;

    if (r == NULL)
        return;
    for (i = 0; i < AUDIT_DIM_COUNT; i++)
        table_fini(&r->single[i]);
    table_fini(&r->pair);
    for (i = 0; i < r->nfiles; i++)
        free(r->files[i].path);
    free(r->files);
    free(r->sc.scratch);
    free(r->sc.f);
    free(r->block);
    free(r);
}

void audit_report_get_status(const struct audit_report *r, struct audit_report_status *st)
{
    *st = r->st;
}

/* Values of an exchange key for one record; null groups: one null value. */
struct keyvals {
    const struct sv *v[AUDIT_DIM_COUNT];
    size_t n[AUDIT_DIM_COUNT];
};

/* Appends a key part, cut at AUDIT_REPORT_KEY_MAX bytes on a character
 * boundary and marked with "…". Returns the new length. */
static size_t key_part(struct audit_report *r, char *k, size_t at, const struct sv *v)
{
    size_t n = v->n;

    if (v->null) {
        k[at] = KEY_NULL;
        return at + 1;
    }
    if (n > AUDIT_REPORT_KEY_MAX) {
        n = AUDIT_REPORT_KEY_MAX;
        while (n > 0 && ((unsigned char)v->p[n] & 0xc0) == 0x80)
            n--;
        memcpy(k + at, v->p, n);
        memcpy(k + at + n, "\xe2\x80\xa6", 3);
        r->cut = 1;
        return at + n + 3;
    }
    memcpy(k + at, v->p, n);
    return at + n;
}

#define KEY_BUF (AUDIT_REPORT_BY_MAX * (AUDIT_REPORT_KEY_MAX + 4))

/* Adds one exchange (and, for tables of findings, one finding f) to t, once
 * for every combination of its keys' values (an exchange in two groups counts
 * in both). */
static int table_add(struct audit_report *r, struct table *t, const struct keyvals *kv,
                     const struct rec *rec, const struct xfacts *xf, const struct finding *f)
{
    enum audit_dim d0 = t->dims[0], d1 = t->ndims > 1 ? t->dims[1] : d0;
    size_t n0 = kv->n[d0], n1 = t->ndims > 1 ? kv->n[d1] : 1, i, j, idx, len;
    char k[KEY_BUF];
    int rc, other;

    for (i = 0; i < n0; i++) {
        for (j = 0; j < n1; j++) {
            len = key_part(r, k, 0, &kv->v[d0][i]);
            if (t->ndims > 1) {
                k[len++] = '\0';
                len = key_part(r, k, len, &kv->v[d1][j]);
            }
            if ((rc = table_row(t, k, len, &idx, &other)) != VIGIE_OK)
                return rc;
            r->st.other_rows += (uint64_t)other;
            if (t->findings)
                fstats_add(fst(t, idx), &t->rows[idx], r->serial, xf, f);
            else
                xstats_add(xst(t, idx), rec, xf);
        }
    }
    return VIGIE_OK;
}

static int add_exchange(struct audit_report *r, const struct rec *rec)
{
    static const struct sv none = {"", 0, 1};
    struct sv day = {rec->ts, 10, 0};
    struct keyvals kv;
    struct xfacts xf;
    size_t i, t;
    int rc;

    memset(&xf, 0, sizeof(xf));
    xf.dec = dec_of(&rec->decision);
    xf.trust = sv_is(&rec->trust, "internal")   ? TRUST_INTERNAL
               : sv_is(&rec->trust, "external") ? TRUST_EXTERNAL
                                                : TRUST_NONE;
    xf.forwarded = xf.dec == DEC_ALLOW || xf.dec == DEC_MASK || xf.dec == DEC_REROUTE ||
                   xf.dec == DEC_PASSTHROUGH;
    xf.monitor = sv_is(&rec->mode, "monitor");
    for (i = 0; i < rec->nfindings; i++)
        xf.findings += rec->findings[i].count;
    r->serial++;
    r->monitor += (uint64_t)xf.monitor;
    r->cut = 0;

    kv.v[AUDIT_DIM_CALLER] = &rec->caller, kv.n[AUDIT_DIM_CALLER] = 1;
    kv.v[AUDIT_DIM_GROUP] = rec->ngroups ? rec->groups : &none;
    kv.n[AUDIT_DIM_GROUP] = rec->ngroups ? rec->ngroups : 1;
    kv.v[AUDIT_DIM_MODEL] = &rec->model, kv.n[AUDIT_DIM_MODEL] = 1;
    kv.v[AUDIT_DIM_UPSTREAM] = &rec->upstream, kv.n[AUDIT_DIM_UPSTREAM] = 1;
    kv.v[AUDIT_DIM_TRUST] = &rec->trust, kv.n[AUDIT_DIM_TRUST] = 1;
    kv.v[AUDIT_DIM_DAY] = &day, kv.n[AUDIT_DIM_DAY] = 1;
    kv.n[AUDIT_DIM_CATEGORY] = kv.n[AUDIT_DIM_RULE] = 1;

    xstats_add(&r->total, rec, &xf);
    if (rec->vigie_ms.known)
        hist_add(&r->vigie_ms, rec->vigie_ms.d);
    for (t = 0; t <= AUDIT_DIM_COUNT; t++) {
        struct table *tb = t < AUDIT_DIM_COUNT ? &r->single[t] : &r->pair;
        if (t == AUDIT_DIM_COUNT && !r->has_pair)
            break;
        if (!tb->findings) {
            if ((rc = table_add(r, tb, &kv, rec, &xf, NULL)) != VIGIE_OK)
                return rc;
            continue;
        }
        for (i = 0; i < rec->nfindings; i++) {
            if (t == AUDIT_DIM_CATEGORY)
                fstats_add(&r->ftotal, &r->frow, r->serial, &xf, &rec->findings[i]);
            kv.v[AUDIT_DIM_CATEGORY] = &rec->findings[i].category;
            kv.v[AUDIT_DIM_RULE] = &rec->findings[i].rule;
            if ((rc = table_add(r, tb, &kv, rec, &xf, &rec->findings[i])) != VIGIE_OK)
                return rc;
        }
    }
    r->st.cut_keys += (uint64_t)r->cut;
    return VIGIE_OK;
}

static void unreadable(struct audit_report *r, struct file_stat *fs, const char *file,
                       uint64_t lineno, const char *why)
{
    r->st.unreadable++;
    if (fs != NULL)
        fs->unreadable++;
    if (r->st.first_unreadable[0] == '\0')
        snprintf(r->st.first_unreadable, sizeof(r->st.first_unreadable), "%s:%" PRIu64 ": %s", file,
                 lineno, why);
}

static int add_line(struct audit_report *r, struct file_stat *fs, const char *line, size_t len,
                    const char *file, uint64_t lineno)
{
    struct rec rec;
    unsigned t;

    r->st.lines++;
    if (fs != NULL)
        fs->lines++;
    if (len > AUDIT_LINE_MAX) {
        unreadable(r, fs, file, lineno, "longer than the longest record (65536 bytes)");
        return VIGIE_OK;
    }
    if (parse_record(&r->sc, &rec, line, len) != 0) {
        if (r->sc.why != NULL && strcmp(r->sc.why, "out of memory") == 0)
            return VIGIE_ERR_NOMEM;
        unreadable(r, fs, file, lineno, r->sc.why ? r->sc.why : "not a record");
        return VIGIE_OK;
    }
    if (rec.ts_ms < r->o.since_ms || rec.ts_ms >= r->o.until_ms) {
        r->st.outside++;
        return VIGIE_OK;
    }
    r->st.records++;
    if (fs != NULL)
        fs->records++;
    if (r->st.records == 1 || rec.ts_ms < r->first_ms)
        r->first_ms = rec.ts_ms;
    if (r->st.records == 1 || rec.ts_ms > r->last_ms)
        r->last_ms = rec.ts_ms;
    for (t = 0; t < RT_OTHER; t++)
        if (sv_is(&rec.type, rtype_names[t]))
            break;
    r->types[t]++;
    if (t == RT_RELOAD && !rec.ok)
        r->reload_failed++;
    if (t == RT_STORAGE_ERROR)
        r->refused += rec.refused;
    if (t != RT_EXCHANGE)
        return VIGIE_OK;
    r->st.exchanges++;
    return add_exchange(r, &rec);
}

int audit_report_add_line(struct audit_report *r, const char *line, size_t len, const char *file,
                          uint64_t lineno)
{
    return add_line(r, NULL, line, len, file, lineno);
}

/* ==== 4. reading ======================================================================= */

static int read_fd(struct audit_report *r, int fd, struct file_stat *fs, char *err, size_t errsz)
{
    size_t have = 0, start;
    uint64_t lineno = 0;
    int skipping = 0, rc;

    for (;;) {
        ssize_t n = read(fd, r->block + have, READ_BLOCK - have);
        char *nl;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            vigie_errf(err, errsz, "%s: %s", fs->path, strerror(errno));
            return VIGIE_ERR_IO;
        }
        if (n == 0)
            break;
        have += (size_t)n;
        start = 0;
        while ((nl = memchr(r->block + start, '\n', have - start)) != NULL) {
            size_t len = (size_t)(nl - (r->block + start));
            if (skipping) {
                skipping = 0; /* the end of a line already counted as too long */
            } else if ((rc = add_line(r, fs, r->block + start, len, fs->path, ++lineno)) !=
                       VIGIE_OK) {
                return rc;
            }
            start += len + 1;
        }
        if (skipping) {
            have = 0;
            continue;
        }
        memmove(r->block, r->block + start, have - start);
        have -= start;
        if (have > AUDIT_LINE_MAX) {
            /* No newline within a record's length: count the line now and
             * drop the rest of it as it comes. */
            if ((rc = add_line(r, fs, r->block, have, fs->path, ++lineno)) != VIGIE_OK)
                return rc;
            skipping = 1;
            have = 0;
        }
    }
    /* A last line without its newline (a torn write, or a file still being
     * written): counted like any other. */
    if (have > 0 && !skipping)
        return add_line(r, fs, r->block, have, fs->path, ++lineno);
    return VIGIE_OK;
}

int audit_report_read_file(struct audit_report *r, const char *path, char *err, size_t errsz)
{
    struct file_stat *fs;
    int fd, rc, use_stdin = strcmp(path, "-") == 0;

    if (VIGIE_ARRAY_RESERVE(r->files, r->nfiles, r->fcap, 8) != VIGIE_OK)
        return VIGIE_ERR_NOMEM;
    fs = &r->files[r->nfiles];
    memset(fs, 0, sizeof(*fs));
    if ((fs->path = strdup(use_stdin ? "(stdin)" : path)) == NULL)
        return VIGIE_ERR_NOMEM;
    fd = use_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        vigie_errf(err, errsz, "%s: %s", path, strerror(errno));
        free(fs->path);
        return VIGIE_ERR_IO;
    }
    r->nfiles++;
    rc = read_fd(r, fd, fs, err, errsz);
    if (!use_stdin)
        close(fd);
    return rc;
}

/* ==== 5. ordering rows and reading cells ============================================ */

enum kpart { KP_VALUE = 0, KP_NULL, KP_OTHER };

struct part {
    enum kpart kind;
    const char *p;
    size_t n;
};

/* Splits a row's key into its parts. */
static void key_parts(const struct table *t, const struct row *row, struct part *parts)
{
    const char *p = row->key, *end = row->key + row->klen;
    size_t i;

    for (i = 0; i < t->ndims; i++) {
        const char *z = memchr(p, '\0', (size_t)(end - p));
        size_t n = z ? (size_t)(z - p) : (size_t)(end - p);
        if (row->klen == 1 && row->key[0] == KEY_OTHER[0])
            parts[i].kind = KP_OTHER;
        else if (n == 1 && p[0] == KEY_NULL)
            parts[i].kind = KP_NULL;
        else
            parts[i].kind = KP_VALUE;
        parts[i].p = p;
        parts[i].n = n;
        p = z ? z + 1 : end;
    }
}

static int row_is_other(const struct table *t, size_t i)
{
    return i == t->other;
}

static uint64_t row_metric(const struct table *t, size_t i)
{
    return t->findings ? fst(t, i)->findings : xst(t, i)->requests;
}

struct ord {
    size_t idx;
    uint64_t rank; /* position of the first key part (pairs), or 0 */
    uint64_t metric;
    const struct row *row;
    int other, by_key; /* by_key: the first part in key order (days) */
    size_t part1;      /* bytes of the first part */
};

static int ord_cmp(const void *a, const void *b)
{
    const struct ord *x = a, *y = b;
    size_t n;
    int c;

    if (x->other != y->other)
        return x->other - y->other;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    if (x->by_key) {
        n = x->part1 < y->part1 ? x->part1 : y->part1;
        if ((c = memcmp(x->row->key, y->row->key, n)) != 0)
            return c;
        if (x->part1 != y->part1)
            return x->part1 < y->part1 ? -1 : 1;
    }
    if (x->metric != y->metric)
        return x->metric > y->metric ? -1 : 1;
    n = x->row->klen < y->row->klen ? x->row->klen : y->row->klen;
    if ((c = memcmp(x->row->key, y->row->key, n)) != 0)
        return c;
    return x->row->klen < y->row->klen ? -1 : x->row->klen > y->row->klen;
}

/* Row i's index in t, by key, or SIZE_MAX. */
static size_t table_find(const struct table *t, const char *key, size_t klen)
{
    uint32_t h = key_hash(key, klen);
    size_t j;

    if (t->nslots == 0)
        return SIZE_MAX;
    for (j = h & (t->nslots - 1); t->slots[j] != 0; j = (j + 1) & (t->nslots - 1)) {
        const struct row *r = &t->rows[t->slots[j] - 1];
        if (r->hash == h && r->klen == klen && memcmp(r->key, key, klen) == 0 &&
            t->slots[j] - 1 != t->other)
            return t->slots[j] - 1;
    }
    return SIZE_MAX;
}

/* The rows of t in report order: days in date order; other keys by requests
 * (findings for rows of findings), largest first; pairs grouped by their
 * first key in that key's own order; "(other)" last. *order is malloc'ed. */
static int table_order(const struct audit_report *r, const struct table *t, size_t **order)
{
    struct ord *o = NULL;
    size_t *rank = NULL, *first = NULL, i, nfirst = 0;
    int by_key = t->dims[0] == AUDIT_DIM_DAY, rc = VIGIE_ERR_NOMEM;

    *order = NULL;
    if ((o = calloc(t->n + 1, sizeof(*o))) == NULL ||
        (*order = calloc(t->n + 1, sizeof(**order))) == NULL)
        goto out;
    if (t->ndims > 1 && !by_key) {
        const struct table *s = &r->single[t->dims[0]];
        if ((rc = table_order(r, s, &first)) != VIGIE_OK)
            goto out;
        rc = VIGIE_ERR_NOMEM;
        nfirst = s->n;
        if ((rank = calloc(nfirst + 1, sizeof(*rank))) == NULL)
            goto out;
        for (i = 0; i < nfirst; i++)
            rank[first[i]] = i;
    }
    for (i = 0; i < t->n; i++) {
        const struct row *row = &t->rows[i];
        const char *z = memchr(row->key, '\0', row->klen);
        o[i].idx = i;
        o[i].row = row;
        o[i].metric = row_metric(t, i);
        o[i].other = row_is_other(t, i);
        o[i].part1 = z ? (size_t)(z - row->key) : row->klen;
        o[i].by_key = by_key;
        if (rank != NULL && !o[i].other) {
            size_t k = table_find(&r->single[t->dims[0]], row->key, o[i].part1);
            o[i].rank = k == SIZE_MAX ? UINT64_MAX : rank[k];
        }
    }
    qsort(o, t->n, sizeof(*o), ord_cmp);
    for (i = 0; i < t->n; i++)
        (*order)[i] = o[i].idx;
    rc = VIGIE_OK;
out:
    if (rc != VIGIE_OK) {
        free(*order);
        *order = NULL;
    }
    free(o);
    free(rank);
    free(first);
    return rc;
}

/* Columns: rows of exchanges, then rows of findings. */
enum col {
    COL_REQUESTS = 0,
    COL_ALLOWED,
    COL_MASKED,
    COL_REROUTED,
    COL_BLOCKED,
    COL_DENIED,
    COL_ERRORS,
    COL_PASSTHROUGH,
    COL_OTHER_DEC,
    COL_TOKENS_IN,
    COL_TOKENS_OUT,
    COL_BYTES_IN,
    COL_BYTES_OUT,
    COL_FINDINGS,
    COL_EXTERNAL,
    COL_EXT_SHARE,
    COL_P50,
    COL_P95,
    COL_F_EXCHANGES,
    COL_F_FINDINGS,
    COL_F_FLAG,
    COL_F_PSEUDO,
    COL_F_MASK,
    COL_F_REROUTE,
    COL_F_BLOCK,
    COL_F_OTHER,
    COL_F_INTERNAL,
    COL_F_EXTERNAL,
    COL_F_AS_WRITTEN,
    COL_F_REPLACED,
    COL_F_STOPPED,
    COL_COUNT,
};

static const struct {
    const char *name; /* CSV header and JSON member */
    const char *head; /* text and HTML header */
} cols[COL_COUNT] = {
    {"requests", "requests"},
    {"allowed", "allowed"},
    {"masked", "masked"},
    {"rerouted", "rerouted"},
    {"blocked", "blocked"},
    {"denied", "denied"},
    {"errors", "errors"},
    {"passthrough", "passthru"},
    {"other_decision", "other"},
    {"tokens_in", "tokens in"},
    {"tokens_out", "tokens out"},
    {"bytes_in", "bytes in"},
    {"bytes_out", "bytes out"},
    {"findings", "findings"},
    {"external", "external"},
    {"external_share", "ext %"},
    {"p50_ms", "p50 ms"},
    {"p95_ms", "p95 ms"},
    {"exchanges", "exchanges"},
    {"findings", "findings"},
    {"flag", "flag"},
    {"pseudonymise", "pseudo"},
    {"mask", "mask"},
    {"reroute", "reroute"},
    {"block", "block"},
    {"other_action", "other"},
    {"internal", "internal"},
    {"external", "external"},
    {"external_as_written", "ext as written"},
    {"external_replaced", "ext replaced"},
    {"stopped", "stopped"},
};

static const enum col xcols_all[] = {
    COL_REQUESTS,  COL_ALLOWED,     COL_MASKED,    COL_REROUTED,  COL_BLOCKED,    COL_DENIED,
    COL_ERRORS,    COL_PASSTHROUGH, COL_OTHER_DEC, COL_TOKENS_IN, COL_TOKENS_OUT, COL_BYTES_IN,
    COL_BYTES_OUT, COL_FINDINGS,    COL_EXTERNAL,  COL_EXT_SHARE, COL_P50,        COL_P95};
static const enum col fcols_all[] = {
    COL_F_EXCHANGES,  COL_F_FINDINGS, COL_F_FLAG,   COL_F_PSEUDO,   COL_F_MASK,
    COL_F_REROUTE,    COL_F_BLOCK,    COL_F_OTHER,  COL_F_INTERNAL, COL_F_EXTERNAL,
    COL_F_AS_WRITTEN, COL_F_REPLACED, COL_F_STOPPED};
/* The summary's shorter tables. */
static const enum col xcols_top[] = {COL_REQUESTS,   COL_ALLOWED,  COL_MASKED,    COL_REROUTED,
                                     COL_BLOCKED,    COL_DENIED,   COL_ERRORS,    COL_TOKENS_IN,
                                     COL_TOKENS_OUT, COL_FINDINGS, COL_EXT_SHARE, COL_P95};
static const enum col xcols_trust[] = {
    COL_REQUESTS, COL_ALLOWED,     COL_MASKED,    COL_REROUTED,  COL_BLOCKED,    COL_DENIED,
    COL_ERRORS,   COL_PASSTHROUGH, COL_OTHER_DEC, COL_TOKENS_IN, COL_TOKENS_OUT, COL_FINDINGS};
static const enum col fcols_top[] = {COL_F_FINDINGS, COL_F_EXCHANGES, COL_F_FLAG,
                                     COL_F_PSEUDO,   COL_F_MASK,      COL_F_REROUTE,
                                     COL_F_BLOCK,    COL_F_EXTERNAL,  COL_F_AS_WRITTEN};
static const enum col fcols_ext[] = {COL_F_EXTERNAL, COL_F_AS_WRITTEN, COL_F_REPLACED,
                                     COL_F_STOPPED};

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

enum vkind { V_U64 = 0, V_SHARE, V_MS, V_NONE };

struct cell {
    enum vkind k;
    uint64_t u;
    double d;
};

static struct cell u64cell(uint64_t u)
{
    struct cell c = {V_U64, u, 0};
    return c;
}

static struct cell xcell(const struct xstats *x, enum col c)
{
    struct cell v = {V_NONE, 0, 0};

    switch (c) {
    case COL_REQUESTS:
        return u64cell(x->requests);
    case COL_ALLOWED:
        return u64cell(x->dec[DEC_ALLOW]);
    case COL_MASKED:
        return u64cell(x->dec[DEC_MASK]);
    case COL_REROUTED:
        return u64cell(x->dec[DEC_REROUTE]);
    case COL_BLOCKED:
        return u64cell(x->dec[DEC_BLOCK]);
    case COL_DENIED:
        return u64cell(x->dec[DEC_DENY]);
    case COL_ERRORS:
        return u64cell(x->dec[DEC_ERROR]);
    case COL_PASSTHROUGH:
        return u64cell(x->dec[DEC_PASSTHROUGH]);
    case COL_OTHER_DEC:
        return u64cell(x->dec[DEC_OTHER]);
    case COL_TOKENS_IN:
        return u64cell(x->tokens_in);
    case COL_TOKENS_OUT:
        return u64cell(x->tokens_out);
    case COL_BYTES_IN:
        return u64cell(x->bytes_in);
    case COL_BYTES_OUT:
        return u64cell(x->bytes_out);
    case COL_FINDINGS:
        return u64cell(x->findings);
    case COL_EXTERNAL:
        return u64cell(x->external);
    case COL_EXT_SHARE:
        if (x->requests > 0) {
            v.k = V_SHARE;
            v.d = (double)x->external / (double)x->requests;
        }
        return v;
    case COL_P50:
    case COL_P95:
        v.d = hist_quantile(&x->ms, c == COL_P50 ? 0.50 : 0.95);
        v.k = v.d < 0 ? V_NONE : V_MS;
        return v;
    default:
        return v;
    }
}

static struct cell fcell(const struct fstats *f, enum col c)
{
    struct cell v = {V_NONE, 0, 0};

    switch (c) {
    case COL_F_EXCHANGES:
        return u64cell(f->exchanges);
    case COL_F_FINDINGS:
        return u64cell(f->findings);
    case COL_F_FLAG:
        return u64cell(f->act[ACT_FLAG]);
    case COL_F_PSEUDO:
        return u64cell(f->act[ACT_PSEUDONYMISE]);
    case COL_F_MASK:
        return u64cell(f->act[ACT_MASK]);
    case COL_F_REROUTE:
        return u64cell(f->act[ACT_REROUTE]);
    case COL_F_BLOCK:
        return u64cell(f->act[ACT_BLOCK]);
    case COL_F_OTHER:
        return u64cell(f->act[ACT_OTHER]);
    case COL_F_INTERNAL:
        return u64cell(f->internal);
    case COL_F_EXTERNAL:
        return u64cell(f->external);
    case COL_F_AS_WRITTEN:
        return u64cell(f->ext_as_written);
    case COL_F_REPLACED:
        return u64cell(f->ext_replaced);
    case COL_F_STOPPED:
        return u64cell(f->stopped);
    default:
        return v;
    }
}

static struct cell row_cell(const struct table *t, size_t i, enum col c)
{
    return t->findings ? fcell(fst(t, i), c) : xcell(xst(t, i), c);
}

/* The columns of a full table of t. */
static const enum col *table_cols(const struct table *t, size_t *n)
{
    *n = t->findings ? NCOLS(fcols_all) : NCOLS(xcols_all);
    return t->findings ? fcols_all : xcols_all;
}

/* The table the rows come from: the pair, or the one key's table (caller
 * when nothing was asked). */
static const struct table *rows_table(const struct audit_report *r)
{
    if (r->has_pair)
        return &r->pair;
    return &r->single[r->o.nby > 0 ? r->o.by[0] : AUDIT_DIM_CALLER];
}

/* 1234567 -> "1,234,567" */
static const char *fmt_num(char *buf, size_t sz, uint64_t v)
{
    char tmp[32];
    size_t n = (size_t)snprintf(tmp, sizeof(tmp), "%" PRIu64, v), i, o = 0;

    for (i = 0; i < n && o + 2 < sz; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = '\0';
    return buf;
}

static const char *fmt_ms(char *buf, size_t sz, double ms)
{
    if (ms < 0)
        snprintf(buf, sz, "-");
    else if (ms < 1)
        snprintf(buf, sz, "%.2f", ms);
    else if (ms < 100)
        snprintf(buf, sz, "%.1f", ms);
    else
        snprintf(buf, sz, "%.0f", ms);
    return buf;
}

static const char *fmt_share(char *buf, size_t sz, uint64_t part, uint64_t whole)
{
    if (whole == 0)
        snprintf(buf, sz, "-");
    else
        snprintf(buf, sz, "%.1f%%", 100.0 * (double)part / (double)whole);
    return buf;
}

/* A cell as text (text and HTML): grouped digits when sep. */
static const char *cell_text(char *buf, size_t sz, struct cell v, int sep)
{
    switch (v.k) {
    case V_U64:
        if (sep)
            return fmt_num(buf, sz, v.u);
        snprintf(buf, sz, "%" PRIu64, v.u);
        return buf;
    case V_SHARE:
        snprintf(buf, sz, "%.1f%%", 100.0 * v.d);
        return buf;
    case V_MS:
        return fmt_ms(buf, sz, v.d);
    default:
        snprintf(buf, sz, "-");
        return buf;
    }
}

/* A cell as a number (CSV and JSON): shares as fractions, ms to 3 decimals,
 * nothing measured as "" (CSV) or null (JSON). */
static void cell_number(FILE *f, struct cell v, const char *none)
{
    switch (v.k) {
    case V_U64:
        fprintf(f, "%" PRIu64, v.u);
        break;
    case V_SHARE:
        fprintf(f, "%.4f", v.d);
        break;
    case V_MS:
        fprintf(f, "%.3f", v.d);
        break;
    default:
        fputs(none, f);
        break;
    }
}

/* ==== 6. text ============================================================================ */

/* The code point of a valid UTF-8 sequence of l bytes. */
static unsigned utf8_cp(const unsigned char *p, size_t l)
{
    switch (l) {
    case 1:
        return p[0];
    case 2:
        return (p[0] & 0x1fu) << 6 | (p[1] & 0x3fu);
    case 3:
        return (p[0] & 0x0fu) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu);
    default:
        return (p[0] & 0x07u) << 18 | (p[1] & 0x3fu) << 12 | (p[2] & 0x3fu) << 6 | (p[3] & 0x3fu);
    }
}

/* Characters a terminal or a page would act on instead of showing: C0 and
 * C1 controls, DEL, and the bidirectional controls that reorder a line. */
static int cp_hidden(unsigned cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x61c || cp == 0x200e || cp == 0x200f ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* A value made safe to show: hidden characters written as \xNN or \u{NNNN};
 * at most maxw characters, cut with "…". Returns the width in characters. */
static size_t text_escape(char *out, size_t sz, const char *s, size_t n, size_t maxw)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, o = 0, w = 0, total = 0, pass;

    for (pass = 0; pass < 2; pass++) {
        size_t limit = pass == 0 ? SIZE_MAX : (total > maxw ? maxw - 1 : maxw);
        i = 0;
        w = 0;
        while (i < n) {
            size_t l = vigie_utf8_len(p + i, n - i);
            char piece[16];
            size_t pl, pw;
            unsigned cp = l ? utf8_cp(p + i, l) : p[i];
            if (l == 0 || cp_hidden(cp)) {
                if (cp < 0x100)
                    pl = (size_t)snprintf(piece, sizeof(piece), "\\x%02x", cp);
                else
                    pl = (size_t)snprintf(piece, sizeof(piece), "\\u{%04x}", cp);
                pw = pl;
            } else {
                memcpy(piece, p + i, l);
                pl = l;
                pw = 1;
            }
            if (l == 0)
                l = 1;
            if (w + pw > limit)
                break;
            if (pass == 1 && o + pl < sz) {
                memcpy(out + o, piece, pl);
                o += pl;
            }
            w += pw;
            i += l;
        }
        if (pass == 0)
            total = w;
    }
    if (total > maxw && o + 3 < sz) {
        memcpy(out + o, "\xe2\x80\xa6", 3);
        o += 3;
        w++;
    }
    out[o < sz ? o : sz - 1] = '\0';
    return w;
}

#define TEXT_KEY_W 40u /* widest key column in text */

/* A key part as text; returns its width. */
static size_t part_text(char *out, size_t sz, const struct part *pt)
{
    if (pt->kind != KP_VALUE) {
        snprintf(out, sz, "%s", pt->kind == KP_NULL ? "(none)" : "(other)");
        return strlen(out);
    }
    return text_escape(out, sz, pt->p, pt->n, TEXT_KEY_W);
}

static void pad(FILE *f, size_t n)
{
    while (n-- > 0)
        fputc(' ', f);
}

/* Rows of t (in order, at most nrows) as an aligned table. */
static void text_rows(FILE *f, const char *indent, const struct table *t, const size_t *order,
                      size_t nrows, const enum col *cs, size_t ncs)
{
    size_t kw[AUDIT_REPORT_BY_MAX], cw[COL_COUNT], i, c, w;
    char buf[512];
    struct part parts[AUDIT_REPORT_BY_MAX];

    for (c = 0; c < t->ndims; c++)
        kw[c] = strlen(audit_dim_name(t->dims[c]));
    for (c = 0; c < ncs; c++)
        cw[c] = strlen(cols[cs[c]].head);
    for (i = 0; i < nrows; i++) {
        key_parts(t, &t->rows[order[i]], parts);
        for (c = 0; c < t->ndims; c++)
            if ((w = part_text(buf, sizeof(buf), &parts[c])) > kw[c])
                kw[c] = w;
        for (c = 0; c < ncs; c++)
            if ((w = strlen(cell_text(buf, sizeof(buf), row_cell(t, order[i], cs[c]), 0))) > cw[c])
                cw[c] = w;
    }
    fputs(indent, f);
    for (c = 0; c < t->ndims; c++) {
        fputs(audit_dim_name(t->dims[c]), f);
        pad(f, kw[c] - strlen(audit_dim_name(t->dims[c])) + 2);
    }
    for (c = 0; c < ncs; c++)
        fprintf(f, "%*s%s", (int)cw[c], cols[cs[c]].head, c + 1 < ncs ? "  " : "\n");
    for (i = 0; i < nrows; i++) {
        key_parts(t, &t->rows[order[i]], parts);
        fputs(indent, f);
        for (c = 0; c < t->ndims; c++) {
            w = part_text(buf, sizeof(buf), &parts[c]);
            fputs(buf, f);
            pad(f, kw[c] - w + 2);
        }
        for (c = 0; c < ncs; c++)
            fprintf(f, "%*s%s", (int)cw[c],
                    cell_text(buf, sizeof(buf), row_cell(t, order[i], cs[c]), 0),
                    c + 1 < ncs ? "  " : "\n");
    }
}

static void text_head(const struct audit_report *r, FILE *f)
{
    char a[40], b[40], n1[32];
    size_t i;

    ts_format(r->o.generated_ms, 0, a, sizeof(a));
    fprintf(f, "vigie usage report\n");
    fprintf(f, "Generated   %s\n", a);
    if (r->nfiles <= 8) {
        for (i = 0; i < r->nfiles; i++) {
            char name[512];
            text_escape(name, sizeof(name), r->files[i].path, strlen(r->files[i].path), 100);
            fprintf(f, "%s %s (%s lines)\n", i == 0 ? "Files      " : "           ", name,
                    fmt_num(n1, sizeof(n1), r->files[i].lines));
        }
    } else {
        fprintf(f, "Files       %zu (%s lines)\n", r->nfiles, fmt_num(n1, sizeof(n1), r->st.lines));
    }
    if (r->st.records > 0) {
        ts_format(r->first_ms, 1, a, sizeof(a));
        ts_format(r->last_ms, 1, b, sizeof(b));
        fprintf(f, "Period      %s to %s (first and last record, UTC)\n", a, b);
    } else {
        fprintf(f, "Period      no records\n");
    }
    if (r->o.since_ms != INT64_MIN || r->o.until_ms != INT64_MAX) {
        if (r->o.since_ms != INT64_MIN)
            ts_format(r->o.since_ms, 1, a, sizeof(a));
        if (r->o.until_ms != INT64_MAX)
            ts_format(r->o.until_ms, 1, b, sizeof(b));
        fprintf(f, "Range       since %s, until %s (excluded): %s records outside\n",
                r->o.since_ms != INT64_MIN ? a : "the start",
                r->o.until_ms != INT64_MAX ? b : "the end", fmt_num(n1, sizeof(n1), r->st.outside));
    }
    if (r->st.unreadable > 0)
        fprintf(f, "Unreadable  %s lines, not counted; the first: %s\n",
                fmt_num(n1, sizeof(n1), r->st.unreadable), r->st.first_unreadable);
}

/* One table of the summary: the first `top` rows of a key's table. */
static int text_top(const struct audit_report *r, FILE *f, enum audit_dim d, const char *title,
                    const enum col *cs, size_t ncs)
{
    const struct table *t = &r->single[d];
    size_t *order, n = t->n < r->o.top ? t->n : r->o.top;
    int rc;

    if ((rc = table_order(r, t, &order)) != VIGIE_OK)
        return rc;
    fprintf(f, "\n%s (%zu of %zu, by %s)\n", title, n, t->n, t->findings ? "findings" : "requests");
    if (n > 0)
        text_rows(f, "  ", t, order, n, cs, ncs);
    free(order);
    return VIGIE_OK;
}

static int dec_forwarded(unsigned d)
{
    return d == DEC_ALLOW || d == DEC_MASK || d == DEC_REROUTE || d == DEC_PASSTHROUGH;
}

static void text_external(const struct audit_report *r, FILE *f)
{
    const struct table *tt = &r->single[AUDIT_DIM_TRUST];
    size_t ext = table_find(tt, "external", 8);
    const struct xstats *x = ext != SIZE_MAX ? xst(tt, ext) : NULL;
    uint64_t fwd = 0;
    char a[32];
    unsigned i;

    for (i = 0; x != NULL && i < DEC_COUNT; i++)
        if (dec_forwarded(i))
            fwd += x->dec[i];
    fprintf(f, "\nExternal models\n");
    fprintf(f, "  %s exchanges were sent to an external model", fmt_num(a, sizeof(a), fwd));
    if (fwd > 0) {
        const char *sep = " (";
        for (i = 0; i < DEC_COUNT; i++) {
            if (!dec_forwarded(i) || x->dec[i] == 0)
                continue;
            fprintf(f, "%s%s %s", sep, dec_names[i], fmt_num(a, sizeof(a), x->dec[i]));
            sep = ", ";
        }
        fputs(")", f);
    }
    if (x != NULL && x->requests > fwd)
        fprintf(f, "; %s more were routed there and refused",
                fmt_num(a, sizeof(a), x->requests - fwd));
    fputs("\n", f);
    fprintf(f,
            "  findings sent as written  %s   flagged, or decided in monitor mode: the value "
            "reached the model\n",
            fmt_num(a, sizeof(a), r->ftotal.ext_as_written));
    fprintf(f, "  findings sent replaced    %s   masked or pseudonymised before leaving\n",
            fmt_num(a, sizeof(a), r->ftotal.ext_replaced));
    fprintf(f,
            "  findings stopped          %s   in refused exchanges (blocked, denied, failed): "
            "sent to no model\n",
            fmt_num(a, sizeof(a), r->ftotal.stopped));
    if (r->monitor > 0)
        fprintf(f, "  %s exchanges were decided under a policy in monitor mode\n",
                fmt_num(a, sizeof(a), r->monitor));
}

static int text_summary(const struct audit_report *r, FILE *f)
{
    const struct xstats *x = &r->total;
    static const char *const labels[DEC_COUNT] = {"allowed",     "masked",      "rerouted",
                                                  "blocked",     "denied",      "errors",
                                                  "passthrough", "other (none)"};
    static const enum dec order[DEC_COUNT] = {DEC_ALLOW, DEC_MASK, DEC_REROUTE, DEC_PASSTHROUGH,
                                              DEC_BLOCK, DEC_DENY, DEC_ERROR,   DEC_OTHER};
    char a[32], b[32], c[32], d[32];
    size_t *ord;
    unsigned i;
    int rc;

    text_head(r, f);
    fprintf(f, "\nExchanges          %14s\n", fmt_num(a, sizeof(a), x->requests));
    for (i = 0; i < DEC_COUNT; i++)
        fprintf(f, "  %-16s %14s  %6s\n", labels[order[i]], fmt_num(a, sizeof(a), x->dec[order[i]]),
                fmt_share(b, sizeof(b), x->dec[order[i]], x->requests));
    fprintf(f, "Tokens             %14s in, %s out\n", fmt_num(a, sizeof(a), x->tokens_in),
            fmt_num(b, sizeof(b), x->tokens_out));
    fprintf(f, "Bytes              %14s in, %s out\n", fmt_num(a, sizeof(a), x->bytes_in),
            fmt_num(b, sizeof(b), x->bytes_out));
    fprintf(f, "Findings           %14s in %s exchanges\n", fmt_num(a, sizeof(a), x->findings),
            fmt_num(b, sizeof(b), x->with_findings));
    fprintf(f, "Duration (ms)      p50 %s, p95 %s; in vigie p50 %s, p95 %s (within about 6%%)\n",
            fmt_ms(a, sizeof(a), hist_quantile(&x->ms, 0.5)),
            fmt_ms(b, sizeof(b), hist_quantile(&x->ms, 0.95)),
            fmt_ms(c, sizeof(c), hist_quantile(&r->vigie_ms, 0.5)),
            fmt_ms(d, sizeof(d), hist_quantile(&r->vigie_ms, 0.95)));

    if ((rc = table_order(r, &r->single[AUDIT_DIM_TRUST], &ord)) != VIGIE_OK)
        return rc;
    fprintf(f, "\nInternal and external models\n");
    if (r->single[AUDIT_DIM_TRUST].n > 0)
        text_rows(f, "  ", &r->single[AUDIT_DIM_TRUST], ord, r->single[AUDIT_DIM_TRUST].n,
                  xcols_trust, NCOLS(xcols_trust));
    free(ord);
    text_external(r, f);
    if ((rc = table_order(r, &r->single[AUDIT_DIM_CATEGORY], &ord)) != VIGIE_OK)
        return rc;
    if (r->ftotal.external > 0 || r->ftotal.stopped > 0) {
        /* Categories sent to an external model or stopped. */
        const struct table *t = &r->single[AUDIT_DIM_CATEGORY];
        size_t *ext = calloc(t->n + 1, sizeof(*ext)), n = 0;
        if (ext == NULL) {
            free(ord);
            return VIGIE_ERR_NOMEM;
        }
        for (i = 0; i < t->n; i++)
            if (fst(t, ord[i])->external > 0 || fst(t, ord[i])->stopped > 0)
                ext[n++] = ord[i];
        fputs("\n", f);
        text_rows(f, "  ", t, ext, n, fcols_ext, NCOLS(fcols_ext));
        free(ext);
    }
    free(ord);
    if ((rc = text_top(r, f, AUDIT_DIM_CALLER, "Top callers", xcols_top, NCOLS(xcols_top))) ||
        (rc = text_top(r, f, AUDIT_DIM_GROUP, "Groups", xcols_top, NCOLS(xcols_top))) ||
        (rc = text_top(r, f, AUDIT_DIM_MODEL, "Models", xcols_top, NCOLS(xcols_top))) ||
        (rc = text_top(r, f, AUDIT_DIM_CATEGORY, "Categories", fcols_top, NCOLS(fcols_top))) ||
        (rc = text_top(r, f, AUDIT_DIM_RULE, "Top rules", fcols_top, NCOLS(fcols_top))))
        return rc;
    fprintf(f, "\nOther records\n");
    fprintf(f, "  start %s, stop %s, reload %s (%s failed), ",
            fmt_num(a, sizeof(a), r->types[RT_START]), fmt_num(b, sizeof(b), r->types[RT_STOP]),
            fmt_num(c, sizeof(c), r->types[RT_RELOAD]), fmt_num(d, sizeof(d), r->reload_failed));
    fprintf(f, "checkpoint %s, segment %s,\n", fmt_num(a, sizeof(a), r->types[RT_CHECKPOINT]),
            fmt_num(b, sizeof(b), r->types[RT_SEGMENT]));
    fprintf(f, "  recovered %s, storage_error %s (%s requests refused while the log was broken)",
            fmt_num(a, sizeof(a), r->types[RT_RECOVERED]),
            fmt_num(b, sizeof(b), r->types[RT_STORAGE_ERROR]), fmt_num(c, sizeof(c), r->refused));
    if (r->types[RT_OTHER] > 0)
        fprintf(f, ", of other types %s", fmt_num(a, sizeof(a), r->types[RT_OTHER]));
    fputs("\n", f);
    return VIGIE_OK;
}

static int text_by(const struct audit_report *r, FILE *f)
{
    const struct table *t = rows_table(r);
    const enum col *cs;
    size_t *order, ncs;
    int rc;

    text_head(r, f);
    if ((rc = table_order(r, t, &order)) != VIGIE_OK)
        return rc;
    cs = table_cols(t, &ncs);
    fputs("\n", f);
    if (t->n > 0)
        text_rows(f, "", t, order, t->n, cs, ncs);
    else
        fputs("(no rows)\n", f);
    free(order);
    return VIGIE_OK;
}

/* ==== 7. CSV ============================================================================== */

/* One field, RFC 4180: quoted when it holds a comma, a quote or a line break.
 * A value that a spreadsheet would run as a formula (= + - @, tab, CR first)
 * gets a leading apostrophe: callers and models are named by clients and
 * policies, not by whoever opens the file. */
static void csv_field(FILE *f, const char *p, size_t n)
{
    int guard = n > 0 && strchr("=+-@\t\r", p[0]) != NULL;
    int quote = memchr(p, ',', n) || memchr(p, '"', n) || memchr(p, '\n', n) || memchr(p, '\r', n);
    size_t i;

    if (quote)
        fputc('"', f);
    if (guard)
        fputc('\'', f);
    for (i = 0; i < n; i++) {
        if (p[i] == '"')
            fputc('"', f);
        fputc(p[i], f);
    }
    if (quote)
        fputc('"', f);
}

static void csv_part(FILE *f, const struct part *pt)
{
    if (pt->kind == KP_NULL)
        fputs("(none)", f);
    else if (pt->kind == KP_OTHER)
        fputs("(other)", f);
    else
        csv_field(f, pt->p, pt->n);
}

static int csv_write(const struct audit_report *r, FILE *f)
{
    const struct table *t = rows_table(r);
    struct part parts[AUDIT_REPORT_BY_MAX];
    const enum col *cs;
    size_t *order, ncs, i, c;
    int rc;

    if ((rc = table_order(r, t, &order)) != VIGIE_OK)
        return rc;
    cs = table_cols(t, &ncs);
    for (c = 0; c < t->ndims; c++)
        fprintf(f, "%s,", audit_dim_name(t->dims[c]));
    for (c = 0; c < ncs; c++)
        fprintf(f, "%s%s", cols[cs[c]].name, c + 1 < ncs ? "," : "\r\n");
    for (i = 0; i < t->n; i++) {
        key_parts(t, &t->rows[order[i]], parts);
        for (c = 0; c < t->ndims; c++) {
            csv_part(f, &parts[c]);
            fputc(',', f);
        }
        for (c = 0; c < ncs; c++) {
            cell_number(f, row_cell(t, order[i], cs[c]), "");
            fputs(c + 1 < ncs ? "," : "\r\n", f);
        }
    }
    free(order);
    return VIGIE_OK;
}

/* ==== 8. JSON ============================================================================= */

/* A JSON string, escaped by the one escaper of the program
 * (vigie_buf_json_str); keys are at most AUDIT_REPORT_KEY_MAX bytes. */
static void json_str(FILE *f, const char *s, size_t n)
{
    struct vigie_buf b;

    vigie_buf_init(&b, 8 * n + 16);
    if (vigie_buf_json_str(&b, s, n) == VIGIE_OK)
        fwrite(b.data, 1, b.len, f);
    else
        fputs("null", f); /* out of memory: a valid document all the same */
    vigie_buf_free(&b);
}

static void json_cstr(FILE *f, const char *s)
{
    json_str(f, s, strlen(s));
}

static void json_time(FILE *f, int64_t ms, int known)
{
    char b[40];

    if (!known) {
        fputs("null", f);
        return;
    }
    ts_format(ms, 1, b, sizeof(b));
    json_cstr(f, b);
}

static void json_cells_x(FILE *f, const struct xstats *x)
{
    size_t c;

    for (c = 0; c < NCOLS(xcols_all); c++) {
        fprintf(f, "%s\"%s\":", c ? "," : "", cols[xcols_all[c]].name);
        cell_number(f, xcell(x, xcols_all[c]), "null");
    }
}

static void json_row(FILE *f, const struct table *t, size_t i, const enum col *cs, size_t ncs)
{
    struct part parts[AUDIT_REPORT_BY_MAX];
    size_t c;

    key_parts(t, &t->rows[i], parts);
    fputc('{', f);
    for (c = 0; c < t->ndims; c++) {
        fprintf(f, "\"%s\":", audit_dim_name(t->dims[c]));
        if (parts[c].kind == KP_NULL)
            fputs("null", f);
        else if (parts[c].kind == KP_OTHER)
            fputs("\"(other)\"", f);
        else
            json_str(f, parts[c].p, parts[c].n);
        fputc(',', f);
    }
    if (row_is_other(t, i))
        fputs("\"other\":true,", f);
    for (c = 0; c < ncs; c++) {
        fprintf(f, "%s\"%s\":", c ? "," : "", cols[cs[c]].name);
        cell_number(f, row_cell(t, i, cs[c]), "null");
    }
    fputc('}', f);
}

static int json_table(const struct audit_report *r, FILE *f, const struct table *t,
                      const enum col *cs, size_t ncs, int ext_only)
{
    size_t *order, i, k = 0;
    int rc;

    if ((rc = table_order(r, t, &order)) != VIGIE_OK)
        return rc;
    fputc('[', f);
    for (i = 0; i < t->n; i++) {
        if (ext_only && fst(t, order[i])->external == 0 && fst(t, order[i])->stopped == 0)
            continue;
        fputs(k++ ? ",\n" : "\n", f);
        json_row(f, t, order[i], cs, ncs);
    }
    fputs("]", f);
    free(order);
    return VIGIE_OK;
}

static int json_write(const struct audit_report *r, FILE *f)
{
    const struct table *t = rows_table(r), *tt = &r->single[AUDIT_DIM_TRUST];
    size_t ext = table_find(tt, "external", 8), i, ncs;
    const struct xstats *x = ext != SIZE_MAX ? xst(tt, ext) : NULL;
    static const struct xstats zero;
    const enum col *cs;
    char b[40];
    int rc;

    if (x == NULL)
        x = &zero;
    ts_format(r->o.generated_ms, 0, b, sizeof(b));
    fprintf(f, "{\"generated\":\"%s\",\"vigie\":\"%s\",\n\"files\":[", b, VIGIE_VERSION);
    for (i = 0; i < r->nfiles; i++) {
        fputs(i ? ",\n" : "\n", f);
        fputs("{\"path\":", f);
        json_cstr(f, r->files[i].path);
        fprintf(f, ",\"lines\":%" PRIu64 ",\"records\":%" PRIu64 ",\"unreadable\":%" PRIu64 "}",
                r->files[i].lines, r->files[i].records, r->files[i].unreadable);
    }
    fputs("],\n\"range\":{\"since\":", f);
    json_time(f, r->o.since_ms, r->o.since_ms != INT64_MIN);
    fputs(",\"until\":", f);
    json_time(f, r->o.until_ms, r->o.until_ms != INT64_MAX);
    fputs(",\"first\":", f);
    json_time(f, r->first_ms, r->st.records > 0);
    fputs(",\"last\":", f);
    json_time(f, r->last_ms, r->st.records > 0);
    fprintf(f,
            "},\n\"records\":{\"lines\":%" PRIu64 ",\"records\":%" PRIu64
            ",\"outside_range\":%" PRIu64 ",\"unreadable\":%" PRIu64 ",\"first_unreadable\":",
            r->st.lines, r->st.records, r->st.outside, r->st.unreadable);
    if (r->st.unreadable > 0)
        json_cstr(f, r->st.first_unreadable);
    else
        fputs("null", f);
    fputs(",\"types\":{", f);
    for (i = 0; i < RT_COUNT; i++)
        fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", rtype_names[i], r->types[i]);
    fprintf(f, "},\"reload_failed\":%" PRIu64 ",\"refused_while_broken\":%" PRIu64 "},\n",
            r->reload_failed, r->refused);
    fputs("\"totals\":{", f);
    json_cells_x(f, &r->total);
    fprintf(f, ",\"with_findings\":%" PRIu64 ",\"vigie_p50_ms\":", r->total.with_findings);
    {
        struct cell c50 = {V_MS, 0, hist_quantile(&r->vigie_ms, 0.5)};
        struct cell c95 = {V_MS, 0, hist_quantile(&r->vigie_ms, 0.95)};
        if (c50.d < 0)
            c50.k = c95.k = V_NONE;
        cell_number(f, c50, "null");
        fputs(",\"vigie_p95_ms\":", f);
        cell_number(f, c95, "null");
    }
    fputs("},\n\"decisions\":{", f);
    for (i = 0; i < DEC_COUNT; i++)
        fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", dec_names[i], r->total.dec[i]);
    fputs("},\n\"trust\":", f);
    if ((rc = json_table(r, f, tt, xcols_all, NCOLS(xcols_all), 0)) != VIGIE_OK)
        return rc;
    fprintf(f,
            ",\n\"external\":{\"exchanges\":%" PRIu64 ",\"forwarded\":%" PRIu64 ",\"decisions\":{",
            x->requests,
            x->dec[DEC_ALLOW] + x->dec[DEC_MASK] + x->dec[DEC_REROUTE] + x->dec[DEC_PASSTHROUGH]);
    for (i = 0; i < DEC_COUNT; i++)
        fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", dec_names[i], x->dec[i]);
    fprintf(f,
            "},\"findings\":%" PRIu64 ",\"findings_sent_as_written\":%" PRIu64
            ",\"findings_sent_replaced\":%" PRIu64 ",\"findings_stopped\":%" PRIu64
            ",\"monitor_exchanges\":%" PRIu64 ",\"categories\":",
            r->ftotal.external, r->ftotal.ext_as_written, r->ftotal.ext_replaced, r->ftotal.stopped,
            r->monitor);
    if ((rc = json_table(r, f, &r->single[AUDIT_DIM_CATEGORY], fcols_ext, NCOLS(fcols_ext), 1)) !=
        VIGIE_OK)
        return rc;
    fprintf(f,
            "},\n\"limits\":{\"key_bytes\":%u,\"rows\":%u,\"cut_keys\":%" PRIu64
            ",\"other_rows\":%" PRIu64 "},\n\"by\":[",
            AUDIT_REPORT_KEY_MAX, AUDIT_REPORT_ROWS_MAX, r->st.cut_keys, r->st.other_rows);
    for (i = 0; i < t->ndims; i++)
        fprintf(f, "%s\"%s\"", i ? "," : "", audit_dim_name(t->dims[i]));
    fputs("],\n\"rows\":", f);
    cs = table_cols(t, &ncs);
    if ((rc = json_table(r, f, t, cs, ncs, 0)) != VIGIE_OK)
        return rc;
    fputs("}\n", f);
    return VIGIE_OK;
}

/* ==== 9. HTML ============================================================================= */

/* One page, readable offline and printable: inline CSS, inline SVG, no script,
 * no font or image from anywhere. Every value from the records is escaped;
 * hidden characters are shown as \xNN like in text. */

static const char *const dec_colors[DEC_COUNT] = {"#2e7d32", "#1e88e5", "#8e24aa", "#c62828",
                                                  "#ef6c00", "#6d4c41", "#00897b", "#9e9e9e"};
static const char *const dec_labels[DEC_COUNT] = {"allowed", "masked", "rerouted",    "blocked",
                                                  "denied",  "errors", "passthrough", "other"};
/* Decisions in the order charts stack them: forwarded first, refused after. */
static const enum dec dec_order[DEC_COUNT] = {DEC_ALLOW, DEC_MASK, DEC_REROUTE, DEC_PASSTHROUGH,
                                              DEC_BLOCK, DEC_DENY, DEC_ERROR,   DEC_OTHER};
static const char *const act_colors[ACT_COUNT] = {"#f9a825", "#64b5f6", "#1565c0",
                                                  "#8e24aa", "#c62828", "#9e9e9e"};
static const char *const trust_colors[3] = {"#26a69a", "#5c6bc0", "#bdbdbd"};
#define TOKENS_IN_COLOR  "#3949ab"
#define TOKENS_OUT_COLOR "#9fa8da"

static void html_text(FILE *f, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        size_t l = vigie_utf8_len(p + i, n - i);
        unsigned cp = l ? utf8_cp(p + i, l) : p[i];
        if (l == 0 || cp_hidden(cp)) {
            if (cp < 0x100)
                fprintf(f, "\\x%02x", cp);
            else
                fprintf(f, "\\u{%04x}", cp);
            i += l ? l : 1;
            continue;
        }
        switch (cp) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            fwrite(p + i, 1, l, f);
            break;
        }
        i += l;
    }
}

static void html_cstr(FILE *f, const char *s)
{
    html_text(f, s, strlen(s));
}

/* A key part as HTML; at most maxw characters (0: all), the rest cut with "…".
 * Inside SVG, no HTML element: an <i> there would end the drawing. */
static void html_part(FILE *f, const struct part *pt, size_t maxw, int svg)
{
    size_t i = 0, w = 0;

    if (pt->kind != KP_VALUE) {
        const char *name = pt->kind == KP_NULL ? "(none)" : "(other)";
        if (svg)
            fprintf(f, "<tspan font-style=\"italic\">%s</tspan>", name);
        else
            fprintf(f, "<i>%s</i>", name);
        return;
    }
    if (maxw == 0) {
        html_text(f, pt->p, pt->n);
        return;
    }
    while (i < pt->n && w < maxw) {
        size_t l = vigie_utf8_len((const unsigned char *)pt->p + i, pt->n - i);
        i += l ? l : 1;
        w++;
    }
    html_text(f, pt->p, i);
    if (i < pt->n)
        fputs("\xe2\x80\xa6", f);
}

/* Key parts joined by " · " (pairs), for chart labels (svg) and titles. */
static void html_key(FILE *f, const struct table *t, size_t row, size_t maxw, int svg)
{
    struct part parts[AUDIT_REPORT_BY_MAX];
    size_t c;

    key_parts(t, &t->rows[row], parts);
    for (c = 0; c < t->ndims; c++) {
        if (c > 0)
            fputs(" \xc2\xb7 ", f);
        if (!svg && parts[c].kind != KP_VALUE)
            fputs(parts[c].kind == KP_NULL ? "(none)" : "(other)", f);
        else
            html_part(f, &parts[c], maxw, svg);
    }
}

/* 1234 -> "1.2k", for chart labels (tables keep every digit). */
static const char *fmt_short(char *buf, size_t sz, uint64_t v)
{
    static const char units[] = "kMGTPE";
    double d = (double)v;
    char *dot;
    size_t u = 0;

    if (v < 10000) {
        snprintf(buf, sz, "%" PRIu64, v);
        return buf;
    }
    for (d /= 1e3; d >= 999.95 && u + 1 < sizeof(units) - 1; u++)
        d /= 1e3;
    snprintf(buf, sz, "%.1f%c", d, units[u]);
    /* "500.0k" reads better as "500k". */
    if ((dot = strstr(buf, ".0")) != NULL && dot[2] != '\0' && (dot[2] < '0' || dot[2] > '9'))
        memmove(dot, dot + 2, strlen(dot + 2) + 1);
    return buf;
}

/* The smallest of 1, 2, 2.5, 5 times a power of ten that is >= v. */
static uint64_t nice_ceil(uint64_t v)
{
    uint64_t p = 1;

    if (v <= 1)
        return 1;
    while (p <= v / 10)
        p *= 10;
    if (p >= v)
        return p;
    if (2 * p >= v)
        return 2 * p;
    if (5 * p / 2 >= v && p >= 10)
        return 5 * p / 2;
    if (5 * p >= v)
        return 5 * p;
    return 10 * p;
}

/* A donut of n shares with the total in the middle. */
static void svg_donut(FILE *f, const uint64_t *v, const char *const *colors, size_t n,
                      uint64_t total, const char *label)
{
    const double r = 60, circ = 2 * 3.14159265358979 * 60;
    double at = 0;
    char b[32];
    size_t i;

    fprintf(f,
            "<svg class=\"donut\" viewBox=\"0 0 170 170\" width=\"170\" height=\"170\" "
            "role=\"img\" aria-label=\"%s\">",
            label);
    fprintf(f,
            "<circle cx=\"85\" cy=\"85\" r=\"%.0f\" fill=\"none\" stroke=\"#eceff1\" "
            "stroke-width=\"26\"/>",
            r);
    for (i = 0; i < n && total > 0; i++) {
        double len = circ * (double)v[i] / (double)total;
        if (v[i] == 0)
            continue;
        fprintf(f,
                "<circle cx=\"85\" cy=\"85\" r=\"%.0f\" fill=\"none\" stroke=\"%s\" "
                "stroke-width=\"26\" stroke-dasharray=\"%.2f %.2f\" "
                "stroke-dashoffset=\"%.2f\" transform=\"rotate(-90 85 85)\"/>",
                r, colors[i], len, circ - len, -at);
        at += len;
    }
    fprintf(f,
            "<text x=\"85\" y=\"82\" text-anchor=\"middle\" class=\"big\">%s</text>"
            "<text x=\"85\" y=\"100\" text-anchor=\"middle\" class=\"small\">%s</text></svg>",
            fmt_short(b, sizeof(b), total), label);
}

/* The legend of a donut: swatch, name, count, share. */
static void html_legend(FILE *f, const uint64_t *v, const char *const *colors,
                        const char *const *names, size_t n, uint64_t total)
{
    char a[32], b[32];
    size_t i;

    fputs("<table class=\"legend\">", f);
    for (i = 0; i < n; i++)
        fprintf(f,
                "<tr%s><td><span class=\"sw\" style=\"background:%s\"></span>%s</td>"
                "<td class=\"n\">%s</td><td class=\"n\">%s</td></tr>",
                v[i] ? "" : " class=\"zero\"", colors[i], names[i], fmt_num(a, sizeof(a), v[i]),
                fmt_share(b, sizeof(b), v[i], total));
    fputs("</table>", f);
}

/* Bars per day, stacked: requests by decision (tokens = 0) or tokens in/out. */
static int svg_days(const struct audit_report *r, FILE *f, int tokens)
{
    const struct table *t = &r->single[AUDIT_DIM_DAY];
    const double W = 1100, H = 250, L = 64, B = 34, T = 12, PW = W - L - 12, PH = H - B - T;
    int64_t d0, d1, nd, i;
    uint64_t max = 0, top;
    double slot, bw;
    char a[32], b[32], c[32];
    unsigned k, every;

    if (r->st.exchanges == 0 || t->n == 0) {
        fputs("<p class=\"none\">No exchanges.</p>", f);
        return VIGIE_OK;
    }
    d0 = r->first_ms / 86400000;
    d1 = r->last_ms / 86400000;
    nd = d1 - d0 + 1;
    for (i = 0; i < (int64_t)t->n; i++) {
        const struct xstats *x = xst(t, (size_t)i);
        uint64_t v = tokens ? x->tokens_in + x->tokens_out : x->requests;
        if (v > max)
            max = v;
    }
    top = nice_ceil(max);
    slot = PW / (double)nd;
    bw = slot > 3 ? slot * 0.8 : slot;
    fprintf(f,
            "<svg viewBox=\"0 0 %.0f %.0f\" class=\"chart\" role=\"img\" aria-label=\"%s per "
            "day\">",
            W, H, tokens ? "tokens" : "requests");
    for (k = 0; k <= 4; k++) {
        double y = T + PH - PH * k / 4.0;
        fprintf(f,
                "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
                "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\" class=\"axis\">%s</text>",
                L, W - 12, y, y, L - 6, y + 4, fmt_short(a, sizeof(a), top * k / 4));
    }
    every = (unsigned)((nd + 13) / 14);
    for (i = 0; i < nd; i++) {
        char day[40];
        size_t idx;
        double bx = L + slot * (double)i + (slot - bw) / 2, y = T + PH;
        ts_format((d0 + i) * 86400000, 0, day, sizeof(day));
        idx = table_find(t, day, 10);
        if (i % every == 0)
            fprintf(f,
                    "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\" class=\"axis\">%.5s"
                    "</text>",
                    L + slot * ((double)i + 0.5), H - B + 16, day + 5);
        if (idx == SIZE_MAX)
            continue;
        {
            const struct xstats *x = xst(t, idx);
            fprintf(f, "<g><title>%.10s: ", day);
            if (tokens) {
                fprintf(f, "%s tokens in, %s out", fmt_num(a, sizeof(a), x->tokens_in),
                        fmt_num(b, sizeof(b), x->tokens_out));
            } else {
                fprintf(f, "%s requests", fmt_num(a, sizeof(a), x->requests));
                for (k = 0; k < DEC_COUNT; k++)
                    if (x->dec[dec_order[k]] > 0)
                        fprintf(f, ", %s %s", dec_labels[dec_order[k]],
                                fmt_num(c, sizeof(c), x->dec[dec_order[k]]));
            }
            fputs("</title>", f);
            for (k = 0; k < (tokens ? 2u : (unsigned)DEC_COUNT); k++) {
                uint64_t v =
                    tokens ? (k == 0 ? x->tokens_in : x->tokens_out) : x->dec[dec_order[k]];
                double h = PH * (double)v / (double)top;
                if (v == 0)
                    continue;
                y -= h;
                fprintf(f,
                        "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                        "fill=\"%s\"/>",
                        bx, y, bw, h,
                        tokens ? (k == 0 ? TOKENS_IN_COLOR : TOKENS_OUT_COLOR)
                               : dec_colors[dec_order[k]]);
            }
            fputs("</g>", f);
        }
    }
    fprintf(f, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.0f\" y2=\"%.0f\" class=\"base\"/></svg>", L,
            W - 12, T + PH, T + PH);
    return VIGIE_OK;
}

/* Horizontal bars for the first rows of a key's table: requests by decision
 * with a thin tokens bar under each (rows of exchanges), or findings by
 * action (rows of findings). */
static int svg_hbars(const struct audit_report *r, FILE *f, enum audit_dim d)
{
    const struct table *t = &r->single[d];
    const double W = 540, L = 186, RW = 100, ROW = 34, PW = W - L - RW;
    size_t *order, n, i, k;
    uint64_t max = 0, tmax = 0;
    char a[32], b[32];
    int rc;

    if (t->n == 0) {
        fprintf(f, "<p class=\"none\">No %s.</p>", t->findings ? "findings" : "exchanges");
        return VIGIE_OK;
    }
    if ((rc = table_order(r, t, &order)) != VIGIE_OK)
        return rc;
    n = t->n < r->o.top ? t->n : r->o.top;
    for (i = 0; i < n; i++) {
        uint64_t v = row_metric(t, order[i]);
        if (v > max)
            max = v;
        if (!t->findings && xst(t, order[i])->tokens_in + xst(t, order[i])->tokens_out > tmax)
            tmax = xst(t, order[i])->tokens_in + xst(t, order[i])->tokens_out;
    }
    if (max == 0)
        max = 1;
    if (tmax == 0)
        tmax = 1;
    fprintf(f, "<svg viewBox=\"0 0 %.0f %.0f\" class=\"chart\" role=\"img\" aria-label=\"%s\">", W,
            ROW * (double)n + 6, audit_dim_name(d));
    for (i = 0; i < n; i++) {
        double y = ROW * (double)i + 4, x = L;
        fputs("<g><title>", f);
        html_key(f, t, order[i], 0, 0);
        if (t->findings) {
            const struct fstats *s = fst(t, order[i]);
            fprintf(f, ": %s findings in %s exchanges", fmt_num(a, sizeof(a), s->findings),
                    fmt_num(b, sizeof(b), s->exchanges));
            for (k = 0; k < ACT_COUNT; k++)
                if (s->act[k] > 0)
                    fprintf(f, ", %s %s", act_names[k], fmt_num(a, sizeof(a), s->act[k]));
        } else {
            const struct xstats *s = xst(t, order[i]);
            fprintf(f, ": %s requests, %s tokens in, %s out", fmt_num(a, sizeof(a), s->requests),
                    fmt_num(b, sizeof(b), s->tokens_in), fmt_num(a, sizeof(a), s->tokens_out));
        }
        fprintf(f, "</title><text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\" class=\"label\">",
                L - 8, y + 14);
        html_key(f, t, order[i], 26, 1);
        fputs("</text>", f);
        if (t->findings) {
            const struct fstats *s = fst(t, order[i]);
            for (k = 0; k < ACT_COUNT; k++) {
                double w = PW * (double)s->act[k] / (double)max;
                if (s->act[k] == 0)
                    continue;
                fprintf(f,
                        "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"18\" "
                        "fill=\"%s\"/>",
                        x, y + 1, w, act_colors[k]);
                x += w;
            }
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"val\">%s</text>", x + 6, y + 14,
                    fmt_short(a, sizeof(a), s->findings));
        } else {
            const struct xstats *s = xst(t, order[i]);
            for (k = 0; k < DEC_COUNT; k++) {
                uint64_t v = s->dec[dec_order[k]];
                double w = PW * (double)v / (double)max;
                if (v == 0)
                    continue;
                fprintf(f,
                        "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"16\" "
                        "fill=\"%s\"/>",
                        x, y, w, dec_colors[dec_order[k]]);
                x += w;
            }
            {
                double wi = PW * (double)s->tokens_in / (double)tmax;
                double wo = PW * (double)s->tokens_out / (double)tmax;
                fprintf(f,
                        "<rect x=\"%.0f\" y=\"%.1f\" width=\"%.2f\" height=\"6\" fill=\"%s\"/>"
                        "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"6\" "
                        "fill=\"%s\"/>",
                        L, y + 19, wi, TOKENS_IN_COLOR, L + wi, y + 19, wo, TOKENS_OUT_COLOR);
                fprintf(f,
                        "<text x=\"%.0f\" y=\"%.1f\" class=\"val\">%s req</text>"
                        "<text x=\"%.0f\" y=\"%.1f\" class=\"val tok\">%s tok</text>",
                        W - RW + 8, y + 12, fmt_short(a, sizeof(a), s->requests), W - RW + 8,
                        y + 25, fmt_short(b, sizeof(b), s->tokens_in + s->tokens_out));
            }
        }
        fputs("</g>", f);
    }
    fputs("</svg>", f);
    if (n < t->n)
        fprintf(f, "<p class=\"note\">The first %zu of %zu.</p>", n, t->n);
    free(order);
    return VIGIE_OK;
}

static void html_swatches(FILE *f, int findings)
{
    size_t k;

    fputs("<p class=\"keys\">", f);
    if (findings) {
        for (k = 0; k < ACT_COUNT; k++)
            fprintf(f, "<span><span class=\"sw\" style=\"background:%s\"></span>%s</span>",
                    act_colors[k], act_names[k]);
    } else {
        for (k = 0; k < DEC_COUNT; k++)
            fprintf(f, "<span><span class=\"sw\" style=\"background:%s\"></span>%s</span>",
                    dec_colors[dec_order[k]], dec_labels[dec_order[k]]);
    }
    fputs("</p>", f);
}

/* Rows of a table as an HTML table, at most max rows; zeros dimmed. */
static void html_rows(FILE *f, const struct table *t, const size_t *order, size_t nrows,
                      const enum col *cs, size_t ncs, int flag_as_written)
{
    struct part parts[AUDIT_REPORT_BY_MAX];
    char buf[64];
    size_t i, c;

    fputs("<div class=\"scroll\"><table class=\"data\"><thead><tr>", f);
    for (c = 0; c < t->ndims; c++)
        fprintf(f, "<th>%s</th>", audit_dim_name(t->dims[c]));
    for (c = 0; c < ncs; c++)
        fprintf(f, "<th class=\"n\">%s</th>", cols[cs[c]].head);
    fputs("</tr></thead><tbody>", f);
    for (i = 0; i < nrows; i++) {
        key_parts(t, &t->rows[order[i]], parts);
        fputs("<tr>", f);
        for (c = 0; c < t->ndims; c++) {
            fputs("<td class=\"k\">", f);
            html_part(f, &parts[c], 0, 0);
            fputs("</td>", f);
        }
        for (c = 0; c < ncs; c++) {
            struct cell v = row_cell(t, order[i], cs[c]);
            const char *cls = "n";
            if (v.k == V_U64 && v.u == 0)
                cls = "n zero";
            else if (flag_as_written && cs[c] == COL_F_AS_WRITTEN && v.u > 0)
                cls = "n warn";
            fprintf(f, "<td class=\"%s\">%s</td>", cls, cell_text(buf, sizeof(buf), v, 1));
        }
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table></div>", f);
}

static const char html_css[] =
    ":root{--fg:#1f2933;--muted:#607080;--line:#e3e8ee;--bg:#f6f8fa;--card:#fff}"
    "*{box-sizing:border-box}"
    "body{margin:0;background:var(--bg);color:var(--fg);"
    "font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,"
    "sans-serif}"
    "main{max-width:1320px;margin:0 auto;padding:24px 28px 40px}"
    "h1{font-size:24px;margin:0 0 4px}h2{font-size:16px;margin:0 0 10px}"
    ".meta{color:var(--muted);margin:0}.meta b{color:var(--fg);font-weight:600}"
    "section,.box{background:var(--card);border:1px solid var(--line);border-radius:8px;"
    "padding:16px 18px;margin:16px 0;break-inside:avoid}"
    ".grid2{display:grid;grid-template-columns:1fr 1fr;gap:16px;background:none;border:0;"
    "padding:0}.grid2>.box{margin:0}"
    ".cards{display:grid;grid-template-columns:repeat(6,1fr);gap:12px;background:none;"
    "border:0;padding:0}"
    ".card{background:var(--card);border:1px solid var(--line);border-radius:8px;"
    "padding:12px 14px}"
    ".card .v{font-size:22px;font-weight:650;font-variant-numeric:tabular-nums}"
    ".card .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}"
    ".card .s{color:var(--muted);font-size:12px}"
    ".card.ok{border-left:4px solid #2e7d32}.card.alert{border-left:4px solid #e65100;"
    "background:#fff8e1}"
    ".pair{display:flex;gap:18px;align-items:center;flex-wrap:wrap}"
    "table{border-collapse:collapse;font-variant-numeric:tabular-nums}"
    "table.legend td{padding:2px 8px 2px 0}"
    "table.data{width:100%;font-size:11.5px}"
    "table.data th{text-align:left;font-weight:600;color:var(--muted);border-bottom:2px solid "
    "var(--line);padding:6px 4px;white-space:nowrap;background:#fff}"
    "table.data td{border-bottom:1px solid var(--line);padding:4px 4px;white-space:nowrap}"
    "table.data tbody tr:nth-child(even){background:#fafbfc}"
    ".n{text-align:right}th.n{text-align:right}.zero{color:#b0b8c0}"
    ".warn{color:#b71c1c;font-weight:650;background:#fff3e0}"
    "table.data td.k{min-width:8em;max-width:22em;white-space:normal;overflow-wrap:anywhere}"
    ".scroll{overflow-x:auto}"
    ".sw{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:6px;"
    "vertical-align:-1px}"
    ".keys{margin:6px 0 0;color:var(--muted);font-size:12px}.keys>span{margin-right:14px;"
    "white-space:nowrap}"
    "svg{font-family:inherit}svg.chart{width:100%;height:auto;display:block}"
    "svg text{fill:var(--fg);font-size:12px}svg .axis{fill:var(--muted);font-size:11px}"
    "svg .label{font-size:12px}svg .val{font-size:11px;fill:var(--muted)}"
    "svg .tok{fill:#7986cb}"
    "svg .big{font-size:20px;font-weight:650}svg .small{font-size:11px;fill:var(--muted)}"
    "svg .grid{stroke:var(--line)}svg .base{stroke:#9aa5b1}"
    ".callout{border-radius:6px;padding:10px 14px;margin:0 0 12px}"
    ".callout.ok{background:#e8f5e9;border:1px solid #a5d6a7}"
    ".callout.alert{background:#fff3e0;border:1px solid #ffb74d}"
    ".note,.none{color:var(--muted);font-size:12px;margin:6px 0 0}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}"
    "dt{color:var(--muted)}dd{margin:0}"
    "footer{color:var(--muted);font-size:12px;margin-top:18px}"
    "@media (max-width:900px){.grid2{grid-template-columns:1fr}.cards{grid-template-columns:"
    "repeat(2,1fr)}}"
    "@page{size:A4 landscape;margin:12mm}"
    "@media print{body{background:#fff;font-size:12px}main{max-width:none;padding:0}"
    "section,.box,.card{border-color:#ccc}*{-webkit-print-color-adjust:exact;"
    "print-color-adjust:exact}.scroll{overflow:visible}table.data{font-size:10px}}";

static void html_card(FILE *f, const char *cls, const char *label, const char *value,
                      const char *sub)
{
    fprintf(f,
            "<div class=\"card%s%s\"><div class=\"l\">%s</div><div class=\"v\">%s</div>"
            "<div class=\"s\">%s</div></div>",
            cls[0] ? " " : "", cls, label, value, sub);
}

static int html_write(const struct audit_report *r, FILE *f)
{
    const struct xstats *x = &r->total;
    const struct table *tt = &r->single[AUDIT_DIM_TRUST], *rt = rows_table(r);
    size_t ext = table_find(tt, "external", 8), in = table_find(tt, "internal", 8), i, n, ncs;
    uint64_t trust_v[3] = {0, 0, 0}, dec_v[DEC_COUNT], fwd = 0;
    static const char *const trust_names[3] = {"internal", "external", "not routed"};
    const char *dcolors[DEC_COUNT], *dnames[DEC_COUNT];
    const enum col *cs;
    size_t *order;
    char a[48], b[48], c[200], g[48];
    int rc;

    if (in != SIZE_MAX)
        trust_v[0] = xst(tt, in)->requests;
    if (ext != SIZE_MAX) {
        const struct xstats *e = xst(tt, ext);
        trust_v[1] = e->requests;
        fwd = e->dec[DEC_ALLOW] + e->dec[DEC_MASK] + e->dec[DEC_REROUTE] + e->dec[DEC_PASSTHROUGH];
    }
    trust_v[2] = x->requests - trust_v[0] - trust_v[1];
    for (i = 0; i < DEC_COUNT; i++) {
        dec_v[i] = x->dec[dec_order[i]];
        dcolors[i] = dec_colors[dec_order[i]];
        dnames[i] = dec_labels[dec_order[i]];
    }

    ts_format(r->o.generated_ms, 0, g, sizeof(g));
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">",
          f);
    fprintf(f, "<meta name=\"generator\" content=\"vigie %s\"><title>vigie usage report",
            VIGIE_VERSION);
    if (r->st.records > 0) {
        ts_format(r->first_ms, 0, a, sizeof(a));
        ts_format(r->last_ms, 0, b, sizeof(b));
        fprintf(f, " %.10s to %.10s", a, b);
    }
    fprintf(f, "</title><style>%s</style></head><body><main>\n", html_css);

    /* Header: what was read, and when. */
    fputs("<header><h1>Usage report</h1><p class=\"meta\">", f);
    if (r->st.records > 0) {
        ts_format(r->first_ms, 1, a, sizeof(a));
        ts_format(r->last_ms, 1, b, sizeof(b));
        fprintf(f, "From <b>%s</b> to <b>%s</b> (first and last record, UTC)", a, b);
    } else {
        fputs("No records", f);
    }
    fprintf(f, " &middot; %zu file%s, %s lines &middot; generated %s by vigie %s</p>", r->nfiles,
            r->nfiles == 1 ? "" : "s", fmt_num(c, sizeof(c), r->st.lines), g, VIGIE_VERSION);
    if (r->o.since_ms != INT64_MIN || r->o.until_ms != INT64_MAX) {
        if (r->o.since_ms != INT64_MIN)
            ts_format(r->o.since_ms, 1, a, sizeof(a));
        if (r->o.until_ms != INT64_MAX)
            ts_format(r->o.until_ms, 1, b, sizeof(b));
        fprintf(f,
                "<p class=\"meta\">Range: since %s, until %s (excluded); %s records outside.</p>",
                r->o.since_ms != INT64_MIN ? a : "the start",
                r->o.until_ms != INT64_MAX ? b : "the end", fmt_num(c, sizeof(c), r->st.outside));
    }
    fputs("</header>\n", f);
    if (r->st.unreadable > 0) {
        fprintf(f,
                "<div class=\"box callout alert\"><b>%s unreadable lines</b> were not counted. "
                "The first: ",
                fmt_num(a, sizeof(a), r->st.unreadable));
        html_cstr(f, r->st.first_unreadable);
        fputs("</div>\n", f);
    }

    /* Key figures. */
    fputs("<section class=\"cards\">", f);
    html_card(f, "", "Exchanges", fmt_num(a, sizeof(a), x->requests), "requests through vigie");
    snprintf(c, sizeof(c), "%s in &middot; %s out", fmt_short(a, sizeof(a), x->tokens_in),
             fmt_short(b, sizeof(b), x->tokens_out));
    html_card(f, "", "Tokens", fmt_short(g, sizeof(g), x->tokens_in + x->tokens_out), c);
    snprintf(c, sizeof(c), "in %s exchanges", fmt_num(a, sizeof(a), x->with_findings));
    html_card(f, "", "Findings", fmt_num(b, sizeof(b), x->findings), c);
    snprintf(c, sizeof(c), "%s of %s exchanges", fmt_num(a, sizeof(a), trust_v[1]),
             fmt_num(g, sizeof(g), x->requests));
    html_card(f, "", "To external models", fmt_share(b, sizeof(b), trust_v[1], x->requests), c);
    snprintf(c, sizeof(c), "%s blocked &middot; %s denied &middot; %s errors",
             fmt_num(a, sizeof(a), x->dec[DEC_BLOCK]), fmt_num(g, sizeof(g), x->dec[DEC_DENY]),
             fmt_num(b, sizeof(b), x->dec[DEC_ERROR]));
    html_card(f, "", "Refused",
              fmt_num(b, sizeof(b), x->dec[DEC_BLOCK] + x->dec[DEC_DENY] + x->dec[DEC_ERROR]), c);
    html_card(f, r->ftotal.ext_as_written ? "alert" : "ok", "Sent as written",
              fmt_num(a, sizeof(a), r->ftotal.ext_as_written),
              "findings that reached an external model unchanged");
    fputs("</section>\n", f);

    /* Decisions, internal and external. */
    fputs("<section class=\"grid2\"><div class=\"box\"><h2>Decisions</h2><div class=\"pair\">", f);
    svg_donut(f, dec_v, dcolors, DEC_COUNT, x->requests, "exchanges");
    html_legend(f, dec_v, dcolors, dnames, DEC_COUNT, x->requests);
    fputs("</div></div><div class=\"box\"><h2>Internal and external models</h2>"
          "<div class=\"pair\">",
          f);
    svg_donut(f, trust_v, trust_colors, 3, x->requests, "exchanges");
    html_legend(f, trust_v, trust_colors, trust_names, 3, x->requests);
    fputs("</div></div></section>\n", f);

    /* Per day. */
    fputs("<section><h2>Requests per day</h2>", f);
    if ((rc = svg_days(r, f, 0)) != VIGIE_OK)
        return rc;
    html_swatches(f, 0);
    fputs("</section>\n<section><h2>Tokens per day</h2>", f);
    if ((rc = svg_days(r, f, 1)) != VIGIE_OK)
        return rc;
    fprintf(f,
            "<p class=\"keys\"><span><span class=\"sw\" style=\"background:%s\"></span>tokens "
            "in (prompts)</span><span><span class=\"sw\" style=\"background:%s\"></span>"
            "tokens out (answers)</span></p></section>\n",
            TOKENS_IN_COLOR, TOKENS_OUT_COLOR);

    /* Groups and models; categories and rules. */
    fputs("<section class=\"grid2\"><div class=\"box\"><h2>Groups</h2>", f);
    if ((rc = svg_hbars(r, f, AUDIT_DIM_GROUP)) != VIGIE_OK)
        return rc;
    html_swatches(f, 0);
    fputs("<p class=\"note\">Bars: requests by decision; thin bars: tokens in and out. An "
          "exchange by a caller in several groups counts in each.</p></div>"
          "<div class=\"box\"><h2>Models</h2>",
          f);
    if ((rc = svg_hbars(r, f, AUDIT_DIM_MODEL)) != VIGIE_OK)
        return rc;
    html_swatches(f, 0);
    fputs("<p class=\"note\">The model asked for (a rerouted request was served by another). "
          "Thin bars: tokens in and out.</p></div></section>\n",
          f);
    fputs("<section class=\"grid2\"><div class=\"box\"><h2>Findings per category</h2>", f);
    if ((rc = svg_hbars(r, f, AUDIT_DIM_CATEGORY)) != VIGIE_OK)
        return rc;
    html_swatches(f, 1);
    fputs("</div><div class=\"box\"><h2>Top rules</h2>", f);
    if ((rc = svg_hbars(r, f, AUDIT_DIM_RULE)) != VIGIE_OK)
        return rc;
    html_swatches(f, 1);
    fputs("</div></section>\n", f);

    /* External models: what left, and how. */
    fputs("<section><h2>External models</h2>", f);
    if (r->ftotal.ext_as_written > 0)
        fprintf(f,
                "<div class=\"callout alert\"><b>%s findings reached an external model as "
                "written</b> (flagged, or decided in monitor mode).</div>",
                fmt_num(a, sizeof(a), r->ftotal.ext_as_written));
    else
        fputs("<div class=\"callout ok\"><b>No finding reached an external model as "
              "written.</b></div>",
              f);
    fprintf(f, "<dl><dt>Sent to an external model</dt><dd>%s exchanges",
            fmt_num(a, sizeof(a), fwd));
    if (trust_v[1] > fwd)
        fprintf(f, " (and %s routed there but refused)", fmt_num(b, sizeof(b), trust_v[1] - fwd));
    fputs("</dd>", f);
    fprintf(f,
            "<dt>Findings sent as written</dt><dd>%s (flagged, or decided in monitor mode: "
            "the value reached the model)</dd>",
            fmt_num(a, sizeof(a), r->ftotal.ext_as_written));
    fprintf(f,
            "<dt>Findings sent replaced</dt><dd>%s (masked or pseudonymised before leaving)"
            "</dd>",
            fmt_num(a, sizeof(a), r->ftotal.ext_replaced));
    fprintf(f,
            "<dt>Findings stopped</dt><dd>%s (in refused exchanges: blocked, denied or "
            "failed; sent to no model)</dd>",
            fmt_num(a, sizeof(a), r->ftotal.stopped));
    if (r->monitor > 0)
        fprintf(f,
                "<dt>Monitor mode</dt><dd>%s exchanges were decided under a policy in "
                "monitor mode</dd>",
                fmt_num(a, sizeof(a), r->monitor));
    fputs("</dl>", f);
    {
        const struct table *t = &r->single[AUDIT_DIM_CATEGORY];
        size_t *ext_rows, k = 0;
        if ((rc = table_order(r, t, &order)) != VIGIE_OK)
            return rc;
        if ((ext_rows = calloc(t->n + 1, sizeof(*ext_rows))) == NULL) {
            free(order);
            return VIGIE_ERR_NOMEM;
        }
        for (i = 0; i < t->n; i++)
            if (fst(t, order[i])->external > 0 || fst(t, order[i])->stopped > 0)
                ext_rows[k++] = order[i];
        if (k > 0) {
            fputs("<h2 style=\"margin-top:14px\">By category</h2>", f);
            html_rows(f, t, ext_rows, k, fcols_ext, NCOLS(fcols_ext), 1);
        }
        free(ext_rows);
        free(order);
    }
    fputs("</section>\n", f);

    /* The table: --by, or callers. */
    if ((rc = table_order(r, rt, &order)) != VIGIE_OK)
        return rc;
    n = rt->n < AUDIT_REPORT_HTML_ROWS_MAX ? rt->n : AUDIT_REPORT_HTML_ROWS_MAX;
    cs = table_cols(rt, &ncs);
    fputs("<section><h2>By ", f);
    for (i = 0; i < rt->ndims; i++)
        fprintf(f, "%s%s", i ? " and " : "", audit_dim_name(rt->dims[i]));
    fputs("</h2>", f);
    if (n > 0)
        html_rows(f, rt, order, n, cs, ncs, 1);
    else
        fputs("<p class=\"none\">No rows.</p>", f);
    if (n < rt->n)
        fprintf(f, "<p class=\"note\">The first %zu of %zu rows; --format csv has them all.</p>", n,
                rt->n);
    free(order);
    fputs("</section>\n", f);

    /* What else the logs hold. */
    fputs("<section><h2>Records</h2><dl>", f);
    fprintf(f, "<dt>Lines read</dt><dd>%s, %s records in the range, %s outside</dd>",
            fmt_num(a, sizeof(a), r->st.lines), fmt_num(b, sizeof(b), r->st.records),
            fmt_num(c, sizeof(c), r->st.outside));
    fprintf(f, "<dt>Unreadable lines</dt><dd>%s</dd>", fmt_num(a, sizeof(a), r->st.unreadable));
    fprintf(f, "<dt>Starts, stops</dt><dd>%s, %s</dd>", fmt_num(a, sizeof(a), r->types[RT_START]),
            fmt_num(b, sizeof(b), r->types[RT_STOP]));
    fprintf(f, "<dt>Reloads</dt><dd>%s (%s failed)</dd>",
            fmt_num(a, sizeof(a), r->types[RT_RELOAD]), fmt_num(b, sizeof(b), r->reload_failed));
    fprintf(f, "<dt>Checkpoints, segments</dt><dd>%s, %s</dd>",
            fmt_num(a, sizeof(a), r->types[RT_CHECKPOINT]),
            fmt_num(b, sizeof(b), r->types[RT_SEGMENT]));
    fprintf(f, "<dt>Storage errors</dt><dd>%s (%s requests refused while the log was broken)</dd>",
            fmt_num(a, sizeof(a), r->types[RT_STORAGE_ERROR]), fmt_num(b, sizeof(b), r->refused));
    fprintf(f, "<dt>Recovered torn lines</dt><dd>%s</dd>",
            fmt_num(a, sizeof(a), r->types[RT_RECOVERED]));
    fprintf(f, "<dt>Duration</dt><dd>p50 %s ms, p95 %s ms; in vigie p50 %s ms, p95 %s ms</dd>",
            fmt_ms(a, sizeof(a), hist_quantile(&x->ms, 0.5)),
            fmt_ms(b, sizeof(b), hist_quantile(&x->ms, 0.95)),
            fmt_ms(c, sizeof(c), hist_quantile(&r->vigie_ms, 0.5)),
            fmt_ms(g, sizeof(g), hist_quantile(&r->vigie_ms, 0.95)));
    fputs("<dt>Files</dt><dd>", f);
    for (i = 0; i < r->nfiles && i < 50; i++) {
        fputs(i ? "<br>" : "", f);
        html_cstr(f, r->files[i].path);
        fprintf(f, " (%s lines)", fmt_num(a, sizeof(a), r->files[i].lines));
    }
    if (r->nfiles > 50)
        fprintf(f, "<br>and %zu more", r->nfiles - 50);
    fputs("</dd></dl></section>\n", f);
    fputs("<footer>Durations: p50 and p95 come from a histogram with 8 buckets per doubling, "
          "within about 6%. Run <code>vigie verify</code> on the same files to know that no "
          "record was changed, removed or added.</footer>\n</main></body></html>\n",
          f);
    return VIGIE_OK;
}

/* ==== writing ============================================================================== */

int audit_report_write(struct audit_report *r, enum audit_report_format fmt, FILE *out)
{
    int rc;

    switch (fmt) {
    case AUDIT_REPORT_CSV:
        rc = csv_write(r, out);
        break;
    case AUDIT_REPORT_JSON:
        rc = json_write(r, out);
        break;
    case AUDIT_REPORT_HTML:
        rc = html_write(r, out);
        break;
    default:
        rc = r->o.nby > 0 ? text_by(r, out) : text_summary(r, out);
        break;
    }
    if (rc == VIGIE_OK && (fflush(out) != 0 || ferror(out)))
        rc = VIGIE_ERR_IO;
    return rc;
}
