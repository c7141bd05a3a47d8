/*
 * proxy/http: every row of the malformed-request table (research/reliability.md
 * §3.2) that belongs to HTTP framing, with its exact status and reason, each
 * fed in one piece, byte by byte and in 7-byte pieces (the results must be
 * identical); valid requests, responses, and the writer's output byte for
 * byte.
 */
#include <stdlib.h>

#include "http/http.h"
#include "test.h"

#define M(s) s, sizeof(s) - 1

/* What feeding a whole message produced. */
struct outcome {
    enum http_result last; /* MESSAGE_DONE, ERROR, or NEED_MORE if input ran out */
    enum http_error err;
    int status;      /* error status */
    int heads;       /* HEAD_DONE events */
    size_t consumed; /* bytes consumed when the message ended */
    unsigned flags;
    int code; /* response status */
    char body[8192];
    size_t body_len;
};

/* Feeds msg[0..len) in pieces of step bytes (0: one piece), advancing by
 * what each call consumed, until the message ends, fails, or input runs out. */
static void feed(struct http_parser *p, const char *msg, size_t len, size_t step, struct outcome *o)
{
    size_t pos = 0, end = step == 0 || step > len ? len : step, n, bl;
    const char *b;
    int guard = 0;

    memset(o, 0, sizeof(*o));
    for (;;) {
        enum http_result r = http_parse(p, msg + pos, end - pos, &n);

        if (n > end - pos || ++guard > 10000000) {
            T_FAIL("consumed %zu of %zu", n, end - pos);
            return;
        }
        pos += n;
        switch (r) {
        case HTTP_HEAD_DONE:
            o->heads++;
            o->flags = http_parser_flags(p);
            o->code = http_parser_status(p);
            break;
        case HTTP_BODY_CHUNK:
            b = http_parser_body(p, &bl);
            if (bl == 0 || b < msg || b + bl > msg + len)
                T_FAIL("body chunk outside the input");
            else if (o->body_len + bl <= sizeof(o->body))
                memcpy(o->body + o->body_len, b, bl);
            o->body_len += bl;
            break;
        case HTTP_MESSAGE_DONE:
        case HTTP_ERROR:
            o->last = r;
            o->err = http_parser_error(p);
            o->status = http_parser_error_status(p);
            o->consumed = pos;
            o->flags = http_parser_flags(p);
            return;
        case HTTP_NEED_MORE:
            if (pos != end)
                T_FAIL("NEED_MORE with %zu bytes unconsumed", end - pos);
            if (end == len) {
                o->last = HTTP_NEED_MORE;
                o->consumed = pos;
                return;
            }
            end = step == 0 || end + step > len ? len : end + step;
            break;
        }
    }
}

/* Runs msg one-shot, byte by byte and in 7-byte pieces; checks that all three
 * agree; returns the one-shot outcome in *o. */
static void run(enum http_kind kind, const struct http_limits *lim, const char *msg, size_t len,
                struct outcome *o)
{
    static const size_t steps[] = {1, 7};
    struct http_parser p;
    struct outcome s;
    size_t i;

    http_parser_init(&p, kind, lim);
    feed(&p, msg, len, 0, o);
    http_parser_fini(&p);
    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        http_parser_init(&p, kind, lim);
        feed(&p, msg, len, steps[i], &s);
        http_parser_fini(&p);
        if (s.last != o->last || s.err != o->err || s.heads != o->heads ||
            s.body_len != o->body_len || memcmp(s.body, o->body, o->body_len) != 0 ||
            (o->last == HTTP_MESSAGE_DONE && s.consumed != o->consumed) || s.flags != o->flags)
            T_FAIL("split %zu differs: result %d/%d, error %s/%s, heads %d/%d, body %zu/%zu",
                   steps[i], s.last, o->last, http_error_code(s.err), http_error_code(o->err),
                   s.heads, o->heads, s.body_len, o->body_len);
    }
}

static void expect_err_lim(int row, const struct http_limits *lim, enum http_kind kind,
                           const char *msg, size_t len, enum http_error err, int status)
{
    struct outcome o;

    run(kind, lim, msg, len, &o);
    if (o.last != HTTP_ERROR || o.err != err || o.status != status)
        T_FAIL("row %d: %.*s -> result %d, %s (%d); expected %s (%d)", row,
               (int)(len > 60 ? 60 : len), msg, o.last, http_error_code(o.err), o.status,
               http_error_code(err), status);
}

static void expect_err(int row, const char *msg, size_t len, enum http_error err, int status)
{
    expect_err_lim(row, NULL, HTTP_REQUEST, msg, len, err, status);
}

static void expect_ok_lim(int row, const struct http_limits *lim, const char *msg, size_t len,
                          const char *body, struct outcome *o)
{
    run(HTTP_REQUEST, lim, msg, len, o);
    if (o->last != HTTP_MESSAGE_DONE || o->heads != 1)
        T_FAIL("row %d: %.*s -> result %d, %s; expected a complete message", row,
               (int)(len > 60 ? 60 : len), msg, o->last, http_error_code(o->err));
    else if (o->consumed != len)
        T_FAIL("row %d: consumed %zu of %zu", row, o->consumed, len);
    else if (body != NULL && (o->body_len != strlen(body) || memcmp(o->body, body, o->body_len)))
        T_FAIL("row %d: body is \"%.*s\", expected \"%s\"", row, (int)o->body_len, o->body, body);
}

static void expect_ok(int row, const char *msg, size_t len, const char *body)
{
    struct outcome o;

    expect_ok_lim(row, NULL, msg, len, body, &o);
}

#define POST    "POST /v1/chat HTTP/1.1\r\nHost: gw\r\n"
#define CHUNKED POST "Transfer-Encoding: chunked\r\n\r\n"

/* --- the table, row by row ---------------------------------------------- */

static void test_row01_te_and_cl(void)
{
    expect_err(1, M(POST "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
               HTTP_E_TE_CL, 400);
    expect_err(1, M(POST "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"),
               HTTP_E_TE_CL, 400);
}

static void test_row02_03_duplicate_cl(void)
{
    expect_err(2, M(POST "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
               HTTP_E_CL_DUPLICATE, 400);
    expect_err(3, M(POST "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello"),
               HTTP_E_CL_DUPLICATE, 400);
    expect_err(3, M(POST "Content-Length: 42, 42\r\n\r\n"), HTTP_E_CL_INVALID, 400);
}

static void test_row04_bad_cl(void)
{
    static const char *const bad[] = {"",
                                      "+1",
                                      "-1",
                                      "0x10",
                                      "1Z",
                                      "1_0",
                                      "1 2",
                                      "1.0",
                                      "1000,1000",
                                      "9223372036854775808",
                                      "99999999999999999999999"};
    char msg[256];
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int n = snprintf(msg, sizeof(msg), POST "Content-Length: %s\r\n\r\n", bad[i]);
        expect_err(4, msg, (size_t)n, HTTP_E_CL_INVALID, 400);
    }
    /* " 1 2": the OWS before the value is not part of it, "1 2" still is. */
    expect_err(4, M(POST "Content-Length:  1 2\r\n\r\n"), HTTP_E_CL_INVALID, 400);
}

static void test_row05_leading_zeros_decimal(void)
{
    struct outcome o;

    expect_ok_lim(5, NULL, M(POST "Content-Length: 010\r\n\r\n0123456789"), "0123456789", &o);
    T_ASSERT(o.flags & HTTP_F_LENGTH);
}

static void test_row06_to_10_transfer_encoding(void)
{
    struct {
        int row;
        const char *te;
        enum http_error err;
        int status;
    } cases[] = {
        {6, "gzip", HTTP_E_TE_NOT_CHUNKED, 400},
        {7, "chunked, gzip", HTTP_E_TE_NOT_CHUNKED, 400},
        {8, "chunked, chunked", HTTP_E_TE_DUPLICATE, 400},
        {8, "chunked,chunked", HTTP_E_TE_DUPLICATE, 400},
        {9, "gzip, chunked", HTTP_E_TE_UNSUPPORTED, 501},
        {10, "identity", HTTP_E_TE_NOT_CHUNKED, 400},
        {10, "xchunked", HTTP_E_TE_NOT_CHUNKED, 400},
        {10, "chunk", HTTP_E_TE_NOT_CHUNKED, 400},
        {10, "\"chunked\"", HTTP_E_TE_NOT_CHUNKED, 400},
        {10, "chunked;x=1", HTTP_E_TE_NOT_CHUNKED, 400},
        {10, ",chunked", HTTP_E_TE_NOT_CHUNKED, 400},
        {10, "chunked,", HTTP_E_TE_NOT_CHUNKED, 400},
        {10, "chunked\x0b", HTTP_E_FIELD_VALUE, 400},
        {10, "cow, chunked", HTTP_E_TE_UNSUPPORTED, 501},
    };
    char msg[256];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int n =
            snprintf(msg, sizeof(msg), POST "Transfer-Encoding: %s\r\n\r\n0\r\n\r\n", cases[i].te);
        expect_err(cases[i].row, msg, (size_t)n, cases[i].err, cases[i].status);
    }
    expect_err(8,
               M(POST "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
               HTTP_E_TE_DUPLICATE, 400);
    /* Case does not matter for the one coding we accept. */
    expect_ok(10, M(POST "Transfer-Encoding: ChUnKeD\r\n\r\n0\r\n\r\n"), "");
}

static void test_row11_te_http10(void)
{
    expect_err(11, M("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
               HTTP_E_TE_HTTP10, 400);
}

static void test_row12_space_before_colon(void)
{
    expect_err(12, M(POST "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n"),
               HTTP_E_SPACE_BEFORE_COLON, 400);
    expect_err(12, M(POST "Content-Length\t: 0\r\n\r\n"), HTTP_E_SPACE_BEFORE_COLON, 400);
}

static void test_row13_obs_fold(void)
{
    expect_err(13, M(POST "X-A: a\r\n b\r\n\r\n"), HTTP_E_OBS_FOLD, 400);
    expect_err(13, M(POST "X-A: a\r\n\tb\r\n\r\n"), HTTP_E_OBS_FOLD, 400);
}

static void test_row14_whitespace_line(void)
{
    expect_err(14, M("GET / HTTP/1.1\r\n \r\nHost: gw\r\n\r\n"), HTTP_E_LEADING_WS, 400);
    expect_err(14, M("GET / HTTP/1.1\r\n\tHost: gw\r\n\r\n"), HTTP_E_LEADING_WS, 400);
}

static void test_row15_bare_cr(void)
{
    expect_err(15, M("GET / HTTP/1.1\r\nHost: gw\rX-A: b\r\n\r\n"), HTTP_E_BARE_CR, 400);
    expect_err(15, M("GET /\r HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_BARE_CR, 400);
    expect_err(15, M("GET / HTTP/1.1\r\nHost: gw\r\n\r\r\n"), HTTP_E_BARE_CR, 400);
}

static void test_row16_bare_lf(void)
{
    expect_err(16, M("GET / HTTP/1.1\nHost: gw\r\n\r\n"), HTTP_E_BARE_LF, 400);
    expect_err(16, M("GET / HTTP/1.1\r\nHost: gw\n\r\n"), HTTP_E_BARE_LF, 400);
    expect_err(16, M("GET / HTTP/1.1\r\nHost: gw\r\n\n"), HTTP_E_BARE_LF, 400);
    expect_err(16, M(CHUNKED "5\nhello\r\n0\r\n\r\n"), HTTP_E_BARE_LF, 400);
    expect_err(16, M(CHUNKED "5\r\nhello\n0\r\n\r\n"), HTTP_E_BARE_LF, 400);
    expect_err(16, M(CHUNKED "5\r\nhello\r\n0\n\r\n"), HTTP_E_BARE_LF, 400);
    expect_err(16, M(CHUNKED "5\r\nhello\r\n0\r\n\n"), HTTP_E_BARE_LF, 400);
    expect_err(16, M(CHUNKED "5;a=b\nhello\r\n0\r\n\r\n"), HTTP_E_BARE_LF, 400);
}

static void test_row17_ctl_in_value(void)
{
    expect_err(17, M(POST "X-User: admin\0evil\r\n\r\n"), HTTP_E_FIELD_VALUE, 400);
    expect_err(17, M(POST "X-User: admin\x01\r\n\r\n"), HTTP_E_FIELD_VALUE, 400);
    expect_err(17, M(POST "X-User: admin\x7f\r\n\r\n"), HTTP_E_FIELD_VALUE, 400);
    expect_err(17, M(POST "X-User: ad\rmin\r\n\r\n"), HTTP_E_BARE_CR, 400);
    /* A LF inside a value ends the line early, without its CR. */
    expect_err(17, M(POST "X-User: ad\nmin\r\n\r\n"), HTTP_E_BARE_LF, 400);
    /* obs-text and HTAB are allowed. */
    expect_ok(17, M("GET / HTTP/1.1\r\nHost: gw\r\nX-N: caf\xc3\xa9\tok\r\n\r\n"), NULL);
}

static void test_row18_bad_field_name(void)
{
    static const char *const names[] = {"X\"A",      "X(A",      "X/A", "X;A", "X@A",
                                        "X\x80\x41", "\xa0Host", "X=A", "X{A"};
    char msg[128];
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        int n = snprintf(msg, sizeof(msg), POST "%s: v\r\n\r\n", names[i]);
        expect_err(18, msg, (size_t)n, HTTP_E_FIELD_NAME, 400);
    }
    expect_err(18, M(POST "X\0A: v\r\n\r\n"), HTTP_E_FIELD_NAME, 400);
    expect_err(18, M(POST ": v\r\n\r\n"), HTTP_E_FIELD_NAME, 400);
    expect_err(18, M(POST "X A: v\r\n\r\n"), HTTP_E_SPACE_BEFORE_COLON, 400);
    expect_err(18, M(POST "X\tA: v\r\n\r\n"), HTTP_E_SPACE_BEFORE_COLON, 400);
}

static void test_row19_no_colon(void)
{
    expect_err(19, M(POST "X-Name value\r\n\r\n"), HTTP_E_NO_COLON, 400);
    expect_err(19, M(POST "X-Name\r\n\r\n"), HTTP_E_NO_COLON, 400);
}

static void test_row20_host(void)
{
    static const char *const bad[] = {"a b",  "a/b", "u@a", "a:",   "a:99999", "a:123456",
                                      "[::1", "[]",  ":80", "a%00", "a?b",     "a:8x"};
    char msg[128];
    size_t i;

    expect_err(20, M("GET / HTTP/1.1\r\n\r\n"), HTTP_E_HOST_MISSING, 400);
    expect_err(20, M("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), HTTP_E_HOST_DUPLICATE, 400);
    expect_err(20, M("GET / HTTP/1.1\r\nHost:\r\n\r\n"), HTTP_E_HOST_INVALID, 400);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int n = snprintf(msg, sizeof(msg), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", bad[i]);
        expect_err(20, msg, (size_t)n, HTTP_E_HOST_INVALID, 400);
    }
    expect_ok(20, M("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), NULL);
    expect_ok(20, M("GET / HTTP/1.1\r\nHost: gw.example.fr:443\r\n\r\n"), NULL);
    /* HTTP/1.0 may omit Host, never repeat it. */
    expect_ok(20, M("GET / HTTP/1.0\r\n\r\n"), NULL);
    expect_err(20, M("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), HTTP_E_HOST_DUPLICATE, 400);
}

static void test_row21_absolute_form(void)
{
    struct http_limits lim;
    struct outcome o;
    struct http_parser p;
    const char *t;
    size_t tl, n;
    static const char req[] = "POST https://gw.example/v1/chat?x=1 HTTP/1.1\r\nHost: "
                              "gw.example\r\nContent-Length: 0\r\n\r\n";

    expect_err(21, M("GET http://gw/v1 HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_ABSOLUTE_FORM, 400);
    http_limits_default(&lim, HTTP_REQUEST);
    lim.own_authority = "gw.example";
    expect_err_lim(21, &lim, HTTP_REQUEST,
                   M("GET http://evil.example/ HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_ABSOLUTE_FORM,
                   400);
    expect_err_lim(21, &lim, HTTP_REQUEST, M("GET ftp://gw.example/ HTTP/1.1\r\nHost: gw\r\n\r\n"),
                   HTTP_E_ABSOLUTE_FORM, 400);
    expect_err_lim(21, &lim, HTTP_REQUEST,
                   M("GET http://u@gw.example/ HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_ABSOLUTE_FORM,
                   400);
    expect_ok_lim(21, &lim, M(req), "", &o);
    http_parser_init(&p, HTTP_REQUEST, &lim);
    T_EQ_INT(http_parse(&p, req, sizeof(req) - 1, &n), HTTP_HEAD_DONE);
    t = http_parser_target(&p, &tl);
    T_ASSERT(tl == 12 && memcmp(t, "/v1/chat?x=1", 12) == 0);
    http_parser_fini(&p);
    http_parser_init(&p, HTTP_REQUEST, &lim);
    T_EQ_INT(http_parse(&p, M("GET HTTPS://GW.EXAMPLE HTTP/1.1\r\nHost: gw\r\n\r\n"), &n),
             HTTP_HEAD_DONE);
    t = http_parser_target(&p, &tl);
    T_ASSERT(tl == 1 && t[0] == '/');
    http_parser_fini(&p);
}

static void test_row22_23_methods(void)
{
    expect_err(22, M("CONNECT gw:443 HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_METHOD_NOT_ALLOWED,
               405);
    expect_err(22, M("TRACE / HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_METHOD_NOT_ALLOWED, 405);
    expect_err(22, M("BREW / HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_METHOD_UNKNOWN, 501);
    expect_err(22, M("get / HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_METHOD_UNKNOWN, 501);
    expect_err(23, M("G=\":<>(e) / HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_METHOD, 400);
    expect_err(23, M("GET\x01 / HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_METHOD, 400);
}

static void test_row24_version(void)
{
    expect_err(24, M("GET / HTTP/1.32\r\nHost: gw\r\n\r\n"), HTTP_E_VERSION, 400);
    expect_err(24, M("GET / HTTP/4294967295.255\r\nHost: gw\r\n\r\n"), HTTP_E_VERSION, 400);
    expect_err(24, M("GET / http/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_VERSION, 400);
    expect_err(24, M("GET / HTTP/1.1 \r\nHost: gw\r\n\r\n"), HTTP_E_VERSION, 400);
    expect_err(24, M("GET / HTTP/2.0\r\nHost: gw\r\n\r\n"), HTTP_E_VERSION_UNSUPPORTED, 505);
    expect_err(24, M("GET / HTTP/1.2\r\nHost: gw\r\n\r\n"), HTTP_E_VERSION_UNSUPPORTED, 505);
    expect_err(24, M("GET / HTTP/0.9\r\nHost: gw\r\n\r\n"), HTTP_E_VERSION_UNSUPPORTED, 505);
    /* A real HTTP/0.9 request has no version at all. */
    expect_err(24, M("GET /\r\n"), HTTP_E_REQUEST_LINE, 400);
}

static void test_request_line_shape(void)
{
    expect_err(0, M("GET  / HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_REQUEST_LINE, 400);
    expect_err(0, M(" GET / HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_REQUEST_LINE, 400);
    expect_err(0, M("GET\t/ HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_REQUEST_LINE, 400);
    /* No empty line is skipped before a request: strict, not lenient. */
    expect_err(0, M("\r\nGET / HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_REQUEST_LINE, 400);
    expect_err(0, M("GET * HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_TARGET, 400);
    expect_err(0, M("GET v1 HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_TARGET, 400);
    expect_err(0, M("GET /a#b HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_TARGET, 400);
    expect_err(0, M("GET /a\\b HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_TARGET, 400);
    expect_err(0, M("GET /a%00 HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_TARGET, 400);
    expect_err(0, M("GET /a%4 HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_TARGET, 400);
    expect_err(0, M("GET /a%zz HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_TARGET, 400);
    expect_err(0, M("GET /v1/../admin HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_TARGET, 400);
    expect_err(0, M("GET /v1/./x HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_TARGET, 400);
    expect_err(0, M("GET /v1/.. HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_TARGET, 400);
    expect_err(0, M("GET /v1/%2e%2e/admin HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_TARGET, 400);
    expect_err(0, M("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: gw\r\n\r\n"), HTTP_E_TARGET, 400);
    /* Dots inside names, and anything in the query, are fine. */
    expect_ok(0, M("GET /v1/a.b/..c/?x=../.&y=%2e HTTP/1.1\r\nHost: gw\r\n\r\n"), NULL);
    expect_ok(0, M("OPTIONS * HTTP/1.1\r\nHost: gw\r\n\r\n"), NULL);
}

static void test_row25_request_line_too_long(void)
{
    size_t n = VIGIE_HTTP_LINE_MAX + 100, i;
    char *m = malloc(n + 64);
    struct http_limits lim;

    memcpy(m, "GET /", 5);
    for (i = 5; i < n; i++)
        m[i] = 'a';
    memcpy(m + n, " HTTP/1.1\r\nHost: gw\r\n\r\n", 23);
    expect_err(25, m, n + 23, HTTP_E_LINE_TOO_LONG, 414);
    /* Exactly at the limit, CRLF included: accepted. */
    memcpy(m + VIGIE_HTTP_LINE_MAX - 11, " HTTP/1.1\r\nHost: gw\r\n\r\n", 23);
    expect_ok(25, m, VIGIE_HTTP_LINE_MAX - 11 + 23, NULL);
    memcpy(m + VIGIE_HTTP_LINE_MAX - 10, " HTTP/1.1\r\nHost: gw\r\n\r\n", 23);
    expect_err(25, m, VIGIE_HTTP_LINE_MAX - 10 + 23, HTTP_E_LINE_TOO_LONG, 414);
    /* Configurable. */
    http_limits_default(&lim, HTTP_REQUEST);
    lim.line_max = 20;
    expect_err_lim(25, &lim, HTTP_REQUEST, M("GET /0123456789 HTTP/1.1\r\nHost: gw\r\n\r\n"),
                   HTTP_E_LINE_TOO_LONG, 414);
    free(m);
}

static void test_row26_header_section(void)
{
    char *m = malloc(64 * 1024);
    size_t n, i;
    struct http_limits lim;

    /* 101 fields. */
    n = (size_t)snprintf(m, 64 * 1024, "GET / HTTP/1.1\r\nHost: gw\r\n");
    for (i = 0; i < 100; i++)
        n += (size_t)snprintf(m + n, 64 * 1024 - n, "X-%zu: v\r\n", i);
    n += (size_t)snprintf(m + n, 64 * 1024 - n, "\r\n");
    expect_err(26, m, n, HTTP_E_TOO_MANY_FIELDS, 431);
    /* 100 fields: accepted. */
    n = (size_t)snprintf(m, 64 * 1024, "GET / HTTP/1.1\r\nHost: gw\r\n");
    for (i = 0; i < 99; i++)
        n += (size_t)snprintf(m + n, 64 * 1024 - n, "X-%zu: v\r\n", i);
    n += (size_t)snprintf(m + n, 64 * 1024 - n, "\r\n");
    expect_ok(26, m, n, NULL);
    /* One field of 33 KiB. */
    n = (size_t)snprintf(m, 64 * 1024, "GET / HTTP/1.1\r\nHost: gw\r\nX-Big: ");
    for (i = 0; i < 33 * 1024; i++)
        m[n++] = 'v';
    memcpy(m + n, "\r\n\r\n", 4);
    expect_err(26, m, n + 4, HTTP_E_HEAD_TOO_LARGE, 431);
    /* Many fields, 32 KiB exceeded only by the final CRLF. */
    http_limits_default(&lim, HTTP_REQUEST);
    lim.section_max = 20; /* "Host: gw\r\n" + "X-A: 12\r\n" = 19, + CRLF = 21 */
    expect_err_lim(26, &lim, HTTP_REQUEST, M("GET / HTTP/1.1\r\nHost: gw\r\nX-A: 12\r\n\r\n"),
                   HTTP_E_HEAD_TOO_LARGE, 431);
    lim.section_max = 21;
    {
        struct outcome o;
        expect_ok_lim(26, &lim, M("GET / HTTP/1.1\r\nHost: gw\r\nX-A: 12\r\n\r\n"), NULL, &o);
    }
    lim.section_max = VIGIE_HTTP_SECTION_MAX;
    lim.fields_max = 2;
    expect_err_lim(26, &lim, HTTP_REQUEST, M("GET / HTTP/1.1\r\nHost: gw\r\nA: 1\r\nB: 2\r\n\r\n"),
                   HTTP_E_TOO_MANY_FIELDS, 431);
    free(m);
}

static void test_row27_28_chunk_size(void)
{
    static const char *const bad[] = {"0x1", "+1", "-0", " 1", "1_0", "Z", "", "1 ", "\t1"};
    char msg[256];
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int n = snprintf(msg, sizeof(msg), CHUNKED "%s\r\nx\r\n0\r\n\r\n", bad[i]);
        expect_err(27, msg, (size_t)n, HTTP_E_CHUNK_SIZE, 400);
    }
    expect_err(28, M(CHUNKED "00000000000000001\r\nx\r\n0\r\n\r\n"), HTTP_E_CHUNK_SIZE_OVERFLOW,
               400);
    expect_err(28, M(CHUNKED "fffffffffffffffff\r\n"), HTTP_E_CHUNK_SIZE_OVERFLOW, 400);
    /* 16 digits fit, and are then far over the body limit. */
    expect_err(28, M(CHUNKED "ffffffffffffffff\r\n"), HTTP_E_BODY_TOO_LARGE, 413);
    expect_ok(27, M(CHUNKED "000000000000000A\r\n0123456789\r\n0\r\n\r\n"), "0123456789");
}

static void test_row29_chunk_data_overrun(void)
{
    expect_err(29, M(CHUNKED "5\r\nhelloXX\r\n0\r\n\r\n"), HTTP_E_CHUNK_DATA_CRLF, 400);
    expect_err(29, M(CHUNKED "5\r\nhello\rX0\r\n\r\n"), HTTP_E_CHUNK_DATA_CRLF, 400);
}

static void test_row30_31_chunk_ext(void)
{
    char *m;
    size_t n, i;
    struct http_limits lim;

    expect_err(30, M(CHUNKED "5;\0ext\r\nhello\r\n0\r\n\r\n"), HTTP_E_CHUNK_EXT, 400);
    expect_err(30, M(CHUNKED "2\r\r;a\r\nab\r\n0\r\n\r\n"), HTTP_E_BARE_CR, 400);
    expect_err(30, M(CHUNKED "2;a\rb\r\nab\r\n0\r\n\r\n"), HTTP_E_BARE_CR, 400);
    expect_err(30, M(CHUNKED "2;a=\"x\x01\"\r\nab\r\n0\r\n\r\n"), HTTP_E_CHUNK_EXT, 400);
    expect_err(30, M(CHUNKED "2;a=\"x\r\nab\r\n0\r\n\r\n"), HTTP_E_CHUNK_EXT, 400);
    expect_err(30, M(CHUNKED "2; a=b\r\nab\r\n0\r\n\r\n"), HTTP_E_CHUNK_EXT, 400);
    expect_err(30, M(CHUNKED "2 ;a\r\nab\r\n0\r\n\r\n"), HTTP_E_CHUNK_SIZE, 400);
    expect_err(30, M(CHUNKED "2;=b\r\nab\r\n0\r\n\r\n"), HTTP_E_CHUNK_EXT, 400);
    expect_err(30, M(CHUNKED "2;a=\r\nab\r\n0\r\n\r\n"), HTTP_E_CHUNK_EXT, 400);
    expect_err(30, M(CHUNKED "2;a=\"b\"c\r\nab\r\n0\r\n\r\n"), HTTP_E_CHUNK_EXT, 400);
    /* 17 extensions. */
    expect_err(31, M(CHUNKED "1;a;b;c;d;e;f;g;h;i;j;k;l;m;n;o;p;q\r\nx\r\n0\r\n\r\n"),
               HTTP_E_CHUNK_EXT_TOO_LONG, 400);
    expect_ok(31, M(CHUNKED "1;a;b;c;d;e;f;g;h;i;j;k;l;m;n;o;p\r\nx\r\n0\r\n\r\n"), "x");
    /* 4 KiB + 1 of extension. */
    m = malloc(8192);
    n = (size_t)snprintf(m, 8192, CHUNKED "1;a=");
    for (i = 0; i < VIGIE_HTTP_CHUNK_EXT_MAX; i++)
        m[n++] = 'v';
    memcpy(m + n, "\r\nx\r\n0\r\n\r\n", 10);
    expect_err(31, m, n + 10, HTTP_E_CHUNK_EXT_TOO_LONG, 400);
    free(m);
    /* Extensions refused altogether when configured so. */
    http_limits_default(&lim, HTTP_REQUEST);
    lim.chunk_ext_max = 0;
    expect_err_lim(31, &lim, HTTP_REQUEST, M(CHUNKED "1;a\r\nx\r\n0\r\n\r\n"), HTTP_E_CHUNK_EXT,
                   400);
}

static void test_row32_missing_last_chunk(void)
{
    struct http_parser p;
    size_t n;

    /* "\r\n\r\n" where "0\r\n\r\n" belongs: an empty chunk size. */
    expect_err(32, M(CHUNKED "5\r\nhello\r\n\r\n"), HTTP_E_CHUNK_SIZE, 400);
    /* The peer closes before the last chunk. */
    http_parser_init(&p, HTTP_REQUEST, NULL);
    T_EQ_INT(http_parse(&p, M(CHUNKED), &n), HTTP_HEAD_DONE);
    T_EQ_INT(http_parse(&p, M("5\r\nhello\r\n"), &n), HTTP_BODY_CHUNK);
    T_EQ_INT(http_parse(&p, M("\r\n"), &n), HTTP_NEED_MORE);
    T_EQ_INT(http_parse_eof(&p), HTTP_ERROR);
    T_EQ_INT(http_parser_error(&p), HTTP_E_TRUNCATED);
    T_EQ_INT(http_parser_error_status(&p), 400);
    http_parser_fini(&p);
}

static void test_row33_trailers(void)
{
    struct http_limits lim;
    struct http_parser p;
    size_t n, vl;

    /* Read and discarded: the message completes, the trailer is nowhere. */
    expect_ok(33, M(CHUNKED "5\r\nhello\r\n0\r\nX-T: v\r\nContent-Length: 99\r\n\r\n"), "hello");
    http_parser_init(&p, HTTP_REQUEST, NULL);
    T_EQ_INT(http_parse(&p, M(CHUNKED), &n), HTTP_HEAD_DONE);
    T_EQ_INT(http_parse(&p, M("0\r\nX-T: v\r\n\r\n"), &n), HTTP_MESSAGE_DONE);
    T_ASSERT(http_parser_get(&p, "x-t", &vl) == NULL);
    http_parser_fini(&p);
    /* Judged like fields. */
    expect_err(33, M(CHUNKED "0\r\nX-T : v\r\n\r\n"), HTTP_E_SPACE_BEFORE_COLON, 400);
    expect_err(33, M(CHUNKED "0\r\nX-T: v\0\r\n\r\n"), HTTP_E_FIELD_VALUE, 400);
    expect_err(33, M(CHUNKED "0\r\nX-T\r\n\r\n"), HTTP_E_NO_COLON, 400);
    expect_err(33, M(CHUNKED "0\r\n v\r\n\r\n"), HTTP_E_OBS_FOLD, 400);
    expect_err(33, M(CHUNKED "0\r\nX-T: v\rX\r\n\r\n"), HTTP_E_BARE_CR, 400);
    expect_err(33, M(CHUNKED "0\r\n\rX"), HTTP_E_BARE_CR, 400);
    /* Bounded, or refused. */
    http_limits_default(&lim, HTTP_REQUEST);
    lim.trailer_max = 8;
    expect_err_lim(33, &lim, HTTP_REQUEST, M(CHUNKED "0\r\nX-T: 1234\r\n\r\n"),
                   HTTP_E_TRAILER_TOO_LARGE, 431);
    lim.trailer_max = 0;
    expect_err_lim(33, &lim, HTTP_REQUEST, M(CHUNKED "0\r\nX: 1\r\n\r\n"), HTTP_E_TRAILER_REFUSED,
                   400);
    {
        struct outcome o;
        expect_ok_lim(33, &lim, M(CHUNKED "0\r\n\r\n"), "", &o);
    }
}

static void test_row34_35_body_limit(void)
{
    struct http_limits lim;
    struct http_parser p;
    size_t n;

    http_limits_default(&lim, HTTP_REQUEST);
    lim.body_max = 10;
    expect_err_lim(34, &lim, HTTP_REQUEST, M(CHUNKED "6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n"),
                   HTTP_E_BODY_TOO_LARGE, 413);
    {
        struct outcome o;
        expect_ok_lim(34, &lim, M(CHUNKED "6\r\nabcdef\r\n4\r\nghij\r\n0\r\n\r\n"), "abcdefghij",
                      &o);
    }
    expect_err(35, M(POST "Content-Length: 4194305\r\n\r\n"), HTTP_E_BODY_TOO_LARGE, 413);
    /* Refused on the head alone: no HEAD_DONE, so no 100 Continue either. */
    http_parser_init(&p, HTTP_REQUEST, NULL);
    T_EQ_INT(http_parse(&p, M(POST "Expect: 100-continue\r\nContent-Length: 5000000\r\n\r\n"), &n),
             HTTP_ERROR);
    T_EQ_INT(http_parser_error_status(&p), 413);
    http_parser_fini(&p);
    expect_ok(35, M(POST "Content-Length: 0\r\n\r\n"), "");
}

static void test_row36_get_with_body(void)
{
    expect_err(36, M("GET / HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\n\r\nhello"),
               HTTP_E_BODY_NOT_ALLOWED, 400);
    expect_err(36, M("HEAD / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
               HTTP_E_BODY_NOT_ALLOWED, 400);
    expect_ok(36, M("GET / HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n\r\n"), "");
}

static void test_row37_38_expect(void)
{
    struct outcome o;
    struct http_parser p;
    size_t n;

    expect_ok_lim(37, NULL, M(POST "Expect: 100-Continue\r\nContent-Length: 2\r\n\r\nhi"), "hi",
                  &o);
    T_ASSERT(o.flags & HTTP_F_EXPECT_CONTINUE);
    /* The flag is there at HEAD_DONE, before any body byte is needed. */
    http_parser_init(&p, HTTP_REQUEST, NULL);
    T_EQ_INT(http_parse(&p, M(POST "Expect: 100-continue\r\nContent-Length: 2\r\n\r\n"), &n),
             HTTP_HEAD_DONE);
    T_ASSERT(http_parser_flags(&p) & HTTP_F_EXPECT_CONTINUE);
    http_parser_fini(&p);
    /* HTTP/1.0: ignored (RFC 9110 §10.1.1). */
    expect_ok_lim(37, NULL,
                  M("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n"), "",
                  &o);
    T_ASSERT(!(o.flags & HTTP_F_EXPECT_CONTINUE));
    expect_err(38, M(POST "Expect: 200-ok\r\n\r\n"), HTTP_E_EXPECT, 417);
    expect_err(38, M(POST "Expect: 100-continue, foo\r\n\r\n"), HTTP_E_EXPECT, 417);
    expect_err(38, M(POST "Expect: 100-continue\r\nExpect: 100-continue\r\n\r\n"), HTTP_E_EXPECT,
               417);
}

static void test_row39_upgrade_stripped(void)
{
    struct outcome o;

    expect_ok_lim(39, NULL,
                  M("GET / HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                    "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"),
                  NULL, &o);
    T_ASSERT(o.flags & HTTP_F_UPGRADE);
    expect_err(39, M(POST "Connection: close, \"x\"\r\n\r\n"), HTTP_E_CONNECTION, 400);
    expect_err(39, M(POST "Connection: a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q\r\n\r\n"),
               HTTP_E_CONNECTION, 400);
}

static void test_row40_nothing_after_error(void)
{
    struct http_parser p;
    size_t n;

    http_parser_init(&p, HTTP_REQUEST, NULL);
    T_EQ_INT(http_parse(&p, M("GET / HTTP/1.1\r\nHost: gw\r\nX : y\r\n\r\nGET / HTTP/1.1\r\n"), &n),
             HTTP_ERROR);
    T_EQ_INT(http_parse(&p, M("GET / HTTP/1.1\r\nHost: gw\r\n\r\n"), &n), HTTP_ERROR);
    T_EQ_INT(n, 0);
    http_parser_reset(&p);
    T_EQ_INT(http_parse(&p, M("GET / HTTP/1.1\r\nHost: gw\r\n\r\n"), &n), HTTP_ERROR);
    T_EQ_INT(n, 0);
    T_ASSERT(!(http_parser_flags(&p) & HTTP_F_KEEP_ALIVE));
    T_ASSERT(http_parser_flags(&p) & HTTP_F_NO_REUSE);
    http_parser_fini(&p);
}

static void test_row41_content_encoding(void)
{
    struct http_limits lim;
    struct outcome o;

    expect_err(41, M(POST "Content-Encoding: gzip\r\nContent-Length: 0\r\n\r\n"),
               HTTP_E_CONTENT_ENCODING, 415);
    http_limits_default(&lim, HTTP_REQUEST);
    lim.refuse_content_encoding = 0;
    expect_ok_lim(41, &lim, M(POST "Content-Encoding: gzip\r\nContent-Length: 0\r\n\r\n"), "", &o);
}

static void test_row46_lookalikes(void)
{
    expect_err(46, M(POST "Transfer_Encoding: chunked\r\nContent-Length: 0\r\n\r\n"),
               HTTP_E_NAME_LOOKALIKE, 400);
    expect_err(46, M(POST "content_length: 5\r\n\r\n"), HTTP_E_NAME_LOOKALIKE, 400);
    expect_err(46,
               M(POST "Tran\xc5\xbf"
                      "fer-Encoding: chunked\r\n\r\n"),
               HTTP_E_FIELD_NAME, 400);
    expect_err(46,
               M(POST "\xa0"
                      "Content-Length: 5\r\n\r\n"),
               HTTP_E_FIELD_NAME, 400);
    /* Other underscores are a backend's business. */
    expect_ok(46, M("GET / HTTP/1.1\r\nHost: gw\r\nX_Request_Id: 1\r\n\r\n"), NULL);
}

/* --- valid requests -------------------------------------------------------- */

static void test_simple_get_keep_alive(void)
{
    struct http_parser p;
    struct http_field f;
    const char *v;
    size_t n, vl;

    http_parser_init(&p, HTTP_REQUEST, NULL);
    T_EQ_INT(http_parse(&p,
                        M("GET /v1/models?x=1 HTTP/1.1\r\nHost: gw:8080\r\n"
                          "User-Agent:   curl/8 \t\r\nAccept: */*\r\n\r\n"),
                        &n),
             HTTP_HEAD_DONE);
    T_EQ_INT(http_parser_method(&p), HTTP_M_GET);
    v = http_parser_target(&p, &vl);
    T_ASSERT(vl == 14 && memcmp(v, "/v1/models?x=1", 14) == 0);
    T_EQ_INT(http_parser_version(&p), 11);
    T_EQ_INT(http_parser_field_count(&p), 3);
    T_EQ_INT(http_parser_field(&p, 1, &f), VIGIE_OK);
    T_ASSERT(f.name_len == 10 && memcmp(f.name, "User-Agent", 10) == 0);
    T_ASSERT(f.value_len == 6 && memcmp(f.value, "curl/8", 6) == 0);
    T_EQ_INT(http_parser_field(&p, 3, &f), VIGIE_ERR_INVAL);
    v = http_parser_get(&p, "HOST", &vl);
    T_ASSERT(v != NULL && vl == 7 && memcmp(v, "gw:8080", 7) == 0);
    T_EQ_INT(http_parser_flags(&p) & HTTP_F_KEEP_ALIVE, HTTP_F_KEEP_ALIVE);
    T_ASSERT(http_parser_content_length(&p) == UINT64_MAX);
    T_EQ_INT(http_parse(&p, NULL, 0, &n), HTTP_MESSAGE_DONE);
    T_EQ_INT(n, 0);
    T_EQ_INT(http_parse(&p, M("more"), &n), HTTP_MESSAGE_DONE);
    T_EQ_INT(n, 0);
    T_EQ_INT(http_parse_eof(&p), HTTP_MESSAGE_DONE);
    http_parser_fini(&p);
    http_parser_fini(&p); /* twice is fine */
}

static void test_connection_semantics(void)
{
    struct outcome o;

    expect_ok_lim(0, NULL, M("GET / HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n"), NULL, &o);
    T_ASSERT(!(o.flags & HTTP_F_KEEP_ALIVE));
    expect_ok_lim(0, NULL, M("GET / HTTP/1.0\r\n\r\n"), NULL, &o);
    T_ASSERT(!(o.flags & HTTP_F_KEEP_ALIVE));
    expect_ok_lim(0, NULL, M("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), NULL, &o);
    T_ASSERT(o.flags & HTTP_F_KEEP_ALIVE);
    expect_ok_lim(0, NULL, M("GET / HTTP/1.1\r\nHost: gw\r\nConnection: ,, keep-alive ,\r\n\r\n"),
                  NULL, &o);
    T_ASSERT(o.flags & HTTP_F_KEEP_ALIVE);
}

static void test_pipelined_left_unconsumed(void)
{
    static const char two[] = "POST /a HTTP/1.1\r\nHost: gw\r\nContent-Length: 3\r\n\r\nabc"
                              "GET /b HTTP/1.1\r\nHost: gw\r\n\r\n";
    size_t first = strlen("POST /a HTTP/1.1\r\nHost: gw\r\nContent-Length: 3\r\n\r\nabc");
    struct http_parser p;
    struct outcome o;
    const char *t;
    size_t tl;

    http_parser_init(&p, HTTP_REQUEST, NULL);
    feed(&p, M(two), 0, &o);
    T_EQ_INT(o.last, HTTP_MESSAGE_DONE);
    T_EQ_INT(o.consumed, first);
    T_ASSERT(o.body_len == 3 && memcmp(o.body, "abc", 3) == 0);
    http_parser_reset(&p);
    feed(&p, two + first, sizeof(two) - 1 - first, 0, &o);
    T_EQ_INT(o.last, HTTP_MESSAGE_DONE);
    T_EQ_INT(o.consumed, sizeof(two) - 1 - first);
    t = http_parser_target(&p, &tl);
    T_ASSERT(tl == 2 && memcmp(t, "/b", 2) == 0);
    http_parser_fini(&p);
    /* Byte by byte, the same split point. */
    http_parser_init(&p, HTTP_REQUEST, NULL);
    feed(&p, M(two), 1, &o);
    T_EQ_INT(o.consumed, first);
    http_parser_fini(&p);
}

static void test_chunked_with_extensions(void)
{
    struct outcome o;

    expect_ok_lim(0, NULL,
                  M(CHUNKED "5;name=val;flag;q=\"a \\\" b\"\r\nhello\r\n"
                            "6\r\n world\r\n0;last\r\n\r\n"),
                  "hello world", &o);
    T_ASSERT(o.flags & HTTP_F_CHUNKED);
    expect_ok(0, M(CHUNKED "A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n"),
              "01234567890123456789");
}

/* --- responses ------------------------------------------------------------- */

static void expect_resp(const char *msg, size_t len, int head_req, int code, const char *body,
                        unsigned flags_set, unsigned flags_clear, struct outcome *o)
{
    struct http_parser p;

    /* The HEAD variant cannot go through run(): set the flag by hand. */
    if (head_req) {
        http_parser_init(&p, HTTP_RESPONSE, NULL);
        http_parser_set_head_request(&p, 1);
        feed(&p, msg, len, 0, o);
        http_parser_fini(&p);
    } else {
        run(HTTP_RESPONSE, NULL, msg, len, o);
    }
    if (o->last == HTTP_NEED_MORE && (o->flags & HTTP_F_UNTIL_CLOSE)) {
        T_ASSERT(o->consumed == len);
    } else if (o->last != HTTP_MESSAGE_DONE || o->consumed != len) {
        T_FAIL("%.*s -> %d %s consumed %zu", (int)(len > 50 ? 50 : len), msg, o->last,
               http_error_code(o->err), o->consumed);
        return;
    }
    T_EQ_INT(o->heads, 1);
    T_EQ_INT(o->code, code);
    if (o->body_len != strlen(body) || memcmp(o->body, body, o->body_len) != 0)
        T_FAIL("body \"%.*s\", expected \"%s\"", (int)o->body_len, o->body, body);
    if ((o->flags & flags_set) != flags_set || (o->flags & flags_clear) != 0)
        T_FAIL("flags %#x, expected %#x set and %#x clear", o->flags, flags_set, flags_clear);
}

static void test_responses_framing(void)
{
    struct outcome o;
    struct http_parser p;
    size_t n;

    expect_resp(M("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), 0, 200, "ok",
                HTTP_F_KEEP_ALIVE | HTTP_F_LENGTH, HTTP_F_NO_REUSE, &o);
    expect_resp(M("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "7\r\ndata: x\r\n1\r\n\n\r\n0\r\n\r\n"),
                0, 200, "data: x\n", HTTP_F_KEEP_ALIVE | HTTP_F_CHUNKED, HTTP_F_NO_REUSE, &o);
    /* Close-delimited: all bytes are body, the connection is not reused. */
    expect_resp(M("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close"), 0, 200,
                "until close", HTTP_F_UNTIL_CLOSE | HTTP_F_NO_REUSE, HTTP_F_KEEP_ALIVE, &o);
    http_parser_init(&p, HTTP_RESPONSE, NULL);
    T_EQ_INT(http_parse(&p, M("HTTP/1.0 200 OK\r\n\r\nab"), &n), HTTP_HEAD_DONE);
    T_EQ_INT(http_parse(&p, M("ab"), &n), HTTP_BODY_CHUNK);
    T_EQ_INT(http_parse_eof(&p), HTTP_MESSAGE_DONE);
    http_parser_fini(&p);
    /* No body for 204, 304 and HEAD, whatever the fields say. */
    expect_resp(M("HTTP/1.1 204 No Content\r\n\r\n"), 0, 204, "", HTTP_F_KEEP_ALIVE,
                HTTP_F_NO_REUSE, &o);
    expect_resp(M("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n"), 0, 304, "",
                HTTP_F_KEEP_ALIVE, HTTP_F_NO_REUSE, &o);
    expect_resp(M("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"), 1, 200, "", HTTP_F_KEEP_ALIVE,
                HTTP_F_NO_REUSE, &o);
    /* A 204 that announces a body: the anomaly forbids reuse. */
    expect_resp(M("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"), 0, 204, "",
                HTTP_F_NO_REUSE, HTTP_F_KEEP_ALIVE, &o);
    /* HTTP/1.0 and Connection: close answers are not reused. */
    expect_resp(M("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"), 0, 200, "ok", HTTP_F_NO_REUSE,
                HTTP_F_KEEP_ALIVE, &o);
    expect_resp(M("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"), 0, 200,
                "ok", HTTP_F_NO_REUSE, HTTP_F_KEEP_ALIVE, &o);
    /* A reason may be empty, with or without its SP. */
    expect_resp(M("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n"), 0, 200, "", 0, 0, &o);
    expect_resp(M("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"), 0, 200, "", 0, 0, &o);
}

static void test_responses_interim(void)
{
    struct outcome o;

    expect_resp(M("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
                0, 200, "ok", HTTP_F_KEEP_ALIVE, 0, &o);
    expect_err_lim(0, NULL, HTTP_RESPONSE,
                   M("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n"), HTTP_E_INTERIM,
                   502);
    expect_err_lim(0, NULL, HTTP_RESPONSE,
                   M("HTTP/1.1 100 A\r\n\r\nHTTP/1.1 100 A\r\n\r\nHTTP/1.1 100 A\r\n\r\n"
                     "HTTP/1.1 100 A\r\n\r\nHTTP/1.1 100 A\r\n\r\nHTTP/1.1 100 A\r\n\r\n"
                     "HTTP/1.1 100 A\r\n\r\nHTTP/1.1 100 A\r\n\r\nHTTP/1.1 100 A\r\n\r\n"),
                   HTTP_E_INTERIM, 502);
}

static void test_responses_refused(void)
{
    expect_err_lim(0, NULL, HTTP_RESPONSE,
                   M("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"),
                   HTTP_E_TE_CL, 502);
    expect_err_lim(0, NULL, HTTP_RESPONSE, M("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n"),
                   HTTP_E_CL_INVALID, 502);
    expect_err_lim(0, NULL, HTTP_RESPONSE,
                   M("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok"),
                   HTTP_E_CL_DUPLICATE, 502);
    expect_err_lim(0, NULL, HTTP_RESPONSE, M("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"),
                   HTTP_E_TE_NOT_CHUNKED, 502);
    expect_err_lim(0, NULL, HTTP_RESPONSE, M("HTTP/1.1 20 OK\r\n\r\n"), HTTP_E_STATUS_LINE, 502);
    expect_err_lim(0, NULL, HTTP_RESPONSE, M("HTTP/1.1 600 X\r\n\r\n"), HTTP_E_STATUS_LINE, 502);
    expect_err_lim(0, NULL, HTTP_RESPONSE, M("HTTP/2 200 OK\r\n\r\n"), HTTP_E_STATUS_LINE, 502);
    expect_err_lim(0, NULL, HTTP_RESPONSE, M("HTTP/1.1  200 OK\r\n\r\n"), HTTP_E_STATUS_LINE, 502);
    expect_err_lim(0, NULL, HTTP_RESPONSE, M("HTTP/1.1 200 O\x01K\r\n\r\n"), HTTP_E_STATUS_LINE,
                   502);
    expect_err_lim(0, NULL, HTTP_RESPONSE, M("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"),
                   HTTP_E_BARE_LF, 502);
    expect_err_lim(0, NULL, HTTP_RESPONSE,
                   M("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX"),
                   HTTP_E_CHUNK_DATA_CRLF, 502);
}

static void test_response_body_limit_close_delimited(void)
{
    struct http_limits lim;
    struct outcome o;

    http_limits_default(&lim, HTTP_RESPONSE);
    T_ASSERT(lim.body_max == VIGIE_HTTP_RESPONSE_BODY_MAX);
    lim.body_max = 4;
    run(HTTP_RESPONSE, &lim, M("HTTP/1.1 200 OK\r\n\r\n12345"), &o);
    T_EQ_INT(o.last, HTTP_ERROR);
    T_EQ_INT(o.err, HTTP_E_BODY_TOO_LARGE);
    T_EQ_INT(o.status, 502);
    /* What was passed on before the error is the same in every split. */
    T_ASSERT(o.body_len == 4 && memcmp(o.body, "1234", 4) == 0);
}

/* --- writer ---------------------------------------------------------------- */

static void test_write_request(void)
{
    static const char in[] = "POST /v1/chat/completions HTTP/1.1\r\n"
                             "Host: gw.example\r\n"
                             "Connection: keep-alive, X-Secret\r\n"
                             "Keep-Alive: timeout=5\r\n"
                             "X-Secret: s\r\n"
                             "Proxy-Authorization: Basic x\r\n"
                             "TE: trailers\r\n"
                             "Trailer: X-T\r\n"
                             "Upgrade: h2c\r\n"
                             "Content-Type: application/json\r\n"
                             "Authorization: Bearer client\r\n"
                             "X-Forwarded-For: 1.2.3.4\r\n"
                             "X-Forwarded-Host: evil\r\n"
                             "Forwarded: for=1.2.3.4\r\n"
                             "Accept-Encoding: gzip\r\n"
                             "Expect: 100-continue\r\n"
                             "X-Request-Id: 42\r\n"
                             "Transfer-Encoding: chunked\r\n"
                             "\r\n"
                             "5\r\nhello\r\n0\r\n\r\n";
    static const char want[] = "POST /v1/chat/completions HTTP/1.1\r\n"
                               "Host: model.internal:8080\r\n"
                               "Content-Type: application/json\r\n"
                               "X-Request-Id: 42\r\n"
                               "Authorization: Bearer route\r\n"
                               "Content-Length: 7\r\n"
                               "X-Forwarded-For: 10.0.0.7\r\n"
                               "\r\n"
                               "{\"x\":1}";
    static const char want_xff[] = "POST /v1/chat/completions HTTP/1.1\r\n"
                                   "Host: gw.example\r\n"
                                   "Content-Type: application/json\r\n"
                                   "Authorization: Bearer client\r\n"
                                   "X-Request-Id: 42\r\n"
                                   "Content-Length: 5\r\n"
                                   "X-Forwarded-For: 1.2.3.4, 10.0.0.7\r\n"
                                   "\r\n";
    struct http_field add = {"Authorization", 13, "Bearer route", 12};
    struct http_forward fw;
    struct http_parser p;
    struct vigie_buf out;
    struct outcome o;

    http_parser_init(&p, HTTP_REQUEST, NULL);
    feed(&p, M(in), 0, &o);
    T_EQ_INT(o.last, HTTP_MESSAGE_DONE);
    memset(&fw, 0, sizeof(fw));
    fw.host = "model.internal:8080";
    fw.client_addr = "10.0.0.7";
    fw.add = &add;
    fw.n_add = 1;
    fw.body = "{\"x\":1}";
    fw.body_len = 7;
    vigie_buf_init(&out, 1 << 20);
    T_EQ_INT(http_write_request(&p, &fw, &out), VIGIE_OK);
    T_EQ_STR(out.data, want);
    vigie_buf_free(&out);

    /* Client's Host kept, XFF chain appended, head only (body streamed). */
    memset(&fw, 0, sizeof(fw));
    fw.client_addr = "10.0.0.7";
    fw.append_xff = 1;
    fw.body_len = 5;
    vigie_buf_init(&out, 1 << 20);
    T_EQ_INT(http_write_request(&p, &fw, &out), VIGIE_OK);
    T_EQ_STR(out.data, want_xff);
    vigie_buf_free(&out);

    /* Nothing that could end a line gets in from the caller either. */
    memset(&fw, 0, sizeof(fw));
    fw.host = "a\r\nX-Evil: 1";
    vigie_buf_init(&out, 1 << 20);
    T_EQ_INT(http_write_request(&p, &fw, &out), VIGIE_ERR_INVAL);
    fw.host = NULL;
    fw.client_addr = "1.2.3.4\n";
    T_EQ_INT(http_write_request(&p, &fw, &out), VIGIE_ERR_INVAL);
    fw.client_addr = NULL;
    add.name = "Bad Name";
    add.name_len = 8;
    fw.add = &add;
    fw.n_add = 1;
    T_EQ_INT(http_write_request(&p, &fw, &out), VIGIE_ERR_INVAL);
    vigie_buf_free(&out);
    http_parser_fini(&p);
}

static void test_write_request_get_http10(void)
{
    struct http_parser p;
    struct vigie_buf out;
    struct http_forward fw;
    struct outcome o;

    /* A bodiless GET stays without Content-Length; HTTP/1.0 leaves as 1.1. */
    http_parser_init(&p, HTTP_REQUEST, NULL);
    feed(&p, M("GET /v1/models HTTP/1.0\r\nAccept: */*\r\n\r\n"), 0, &o);
    memset(&fw, 0, sizeof(fw));
    vigie_buf_init(&out, 1 << 20);
    /* No Host anywhere: refused rather than invented. */
    T_EQ_INT(http_write_request(&p, &fw, &out), VIGIE_ERR_INVAL);
    fw.host = "model";
    T_EQ_INT(http_write_request(&p, &fw, &out), VIGIE_OK);
    T_EQ_STR(out.data, "GET /v1/models HTTP/1.1\r\nHost: model\r\nAccept: */*\r\n\r\n");
    vigie_buf_free(&out);
    http_parser_fini(&p);
    /* A POST without a body still says so. */
    http_parser_init(&p, HTTP_REQUEST, NULL);
    feed(&p, M("POST /x HTTP/1.1\r\nHost: gw\r\n\r\n"), 0, &o);
    vigie_buf_init(&out, 1 << 20);
    T_EQ_INT(http_write_request(&p, NULL, &out), VIGIE_OK);
    T_EQ_STR(out.data, "POST /x HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n\r\n");
    vigie_buf_free(&out);
    /* Not before the head is complete. */
    http_parser_reset(&p);
    vigie_buf_init(&out, 1 << 20);
    T_EQ_INT(http_write_request(&p, NULL, &out), VIGIE_ERR_INVAL);
    vigie_buf_free(&out);
    http_parser_fini(&p);
}

static void test_write_responses(void)
{
    struct vigie_buf out;
    struct http_parser p;
    size_t n;
    static const char want[] =
        "HTTP/1.1 413 Content Too Large\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 101\r\n"
        "Connection: close\r\n"
        "\r\n"
        "{\"error\":{\"message\":\"request body too large\",\"type\":\"invalid_request_error\","
        "\"code\":\"body_too_large\"}}";

    vigie_buf_init(&out, 1 << 20);
    T_EQ_INT(http_write_error_json(&out, 413, "request body too large", "invalid_request_error",
                                   "body_too_large", HTTP_W_CLOSE),
             VIGIE_OK);
    T_EQ_STR(out.data, want);
    T_EQ_INT(strlen(strstr(out.data, "\r\n\r\n") + 4), 101);
    vigie_buf_reset(&out);

    /* From a parser's error, with escaping and a null code. */
    http_parser_init(&p, HTTP_REQUEST, NULL);
    T_EQ_INT(http_parse(&p, M("GET / HTTP/1.1\r\nHost: gw\r\nExpect: x\r\n\r\n"), &n), HTTP_ERROR);
    T_EQ_INT(http_write_parse_error(&out, &p), VIGIE_OK);
    T_EQ_STR(out.data, "HTTP/1.1 417 Expectation Failed\r\n"
                       "Content-Type: application/json\r\n"
                       "Content-Length: 121\r\n"
                       "Connection: close\r\n\r\n"
                       "{\"error\":{\"message\":\"only Expect: 100-continue is supported\","
                       "\"type\":\"invalid_request_error\",\"code\":\"expectation_failed\"}}");
    http_parser_fini(&p);
    vigie_buf_reset(&out);
    T_EQ_INT(http_write_error_json(&out, 422, "say \"no\"\n", "policy_error", NULL, 0), VIGIE_OK);
    T_EQ_STR(out.data, "HTTP/1.1 422 Unprocessable Content\r\n"
                       "Content-Type: application/json\r\n"
                       "Content-Length: 70\r\n\r\n"
                       "{\"error\":{\"message\":\"say \\\"no\\\"\\n\",\"type\":\"policy_error\","
                       "\"code\":null}}");
    vigie_buf_reset(&out);
    T_EQ_INT(http_write_response_head(&out, 200, "text/event-stream", HTTP_LENGTH_NONE, 0),
             VIGIE_OK);
    T_EQ_STR(out.data, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n");
    vigie_buf_reset(&out);
    T_EQ_INT(http_write_continue(&out), VIGIE_OK);
    T_EQ_STR(out.data, "HTTP/1.1 100 Continue\r\n\r\n");
    vigie_buf_reset(&out);
    T_EQ_INT(http_write_response_head(&out, 200, "text/plain\r\nX: y", 0, 0), VIGIE_ERR_INVAL);
    T_EQ_INT(http_write_response_head(&out, 99, NULL, 0, 0), VIGIE_ERR_INVAL);
    vigie_buf_free(&out);
}

static void test_error_table_complete(void)
{
    int e;

    for (e = HTTP_E_NONE + 1; e < HTTP_E__COUNT; e++) {
        int st = http_error_status((enum http_error)e);
        T_ASSERT(st >= 400 && st <= 599);
        T_ASSERT(http_error_code((enum http_error)e) != NULL);
        T_ASSERT(http_error_message((enum http_error)e) != NULL);
        T_ASSERT(http_status_reason(st)[0] != '\0');
    }
    T_ASSERT(http_is_hop_by_hop("Proxy-Anything", 14));
    T_ASSERT(http_is_hop_by_hop("TE", 2));
    T_ASSERT(!http_is_hop_by_hop("Content-Type", 12));
}

int main(void)
{
    T_RUN(test_row01_te_and_cl);
    T_RUN(test_row02_03_duplicate_cl);
    T_RUN(test_row04_bad_cl);
    T_RUN(test_row05_leading_zeros_decimal);
    T_RUN(test_row06_to_10_transfer_encoding);
    T_RUN(test_row11_te_http10);
    T_RUN(test_row12_space_before_colon);
    T_RUN(test_row13_obs_fold);
    T_RUN(test_row14_whitespace_line);
    T_RUN(test_row15_bare_cr);
    T_RUN(test_row16_bare_lf);
    T_RUN(test_row17_ctl_in_value);
    T_RUN(test_row18_bad_field_name);
    T_RUN(test_row19_no_colon);
    T_RUN(test_row20_host);
    T_RUN(test_row21_absolute_form);
    T_RUN(test_row22_23_methods);
    T_RUN(test_row24_version);
    T_RUN(test_request_line_shape);
    T_RUN(test_row25_request_line_too_long);
    T_RUN(test_row26_header_section);
    T_RUN(test_row27_28_chunk_size);
    T_RUN(test_row29_chunk_data_overrun);
    T_RUN(test_row30_31_chunk_ext);
    T_RUN(test_row32_missing_last_chunk);
    T_RUN(test_row33_trailers);
    T_RUN(test_row34_35_body_limit);
    T_RUN(test_row36_get_with_body);
    T_RUN(test_row37_38_expect);
    T_RUN(test_row39_upgrade_stripped);
    T_RUN(test_row40_nothing_after_error);
    T_RUN(test_row41_content_encoding);
    T_RUN(test_row46_lookalikes);
    T_RUN(test_simple_get_keep_alive);
    T_RUN(test_connection_semantics);
    T_RUN(test_pipelined_left_unconsumed);
    T_RUN(test_chunked_with_extensions);
    T_RUN(test_responses_framing);
    T_RUN(test_responses_interim);
    T_RUN(test_responses_refused);
    T_RUN(test_response_body_limit_close_delimited);
    T_RUN(test_write_request);
    T_RUN(test_write_request_get_http10);
    T_RUN(test_write_responses);
    T_RUN(test_error_table_complete);
    return T_DONE();
}
