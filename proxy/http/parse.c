/*
 * The strict HTTP/1.1 parser: see http.h for the contract and
 * docs/internals/http.md for the states and what is refused.
 *
 * Two ways of reading, one rule. The head (start line, field lines) is
 * collected line by line into the arena and each line is judged when its LF
 * arrives; the chunk-size lines and the trailers are read one byte at a time,
 * with no buffer at all. Either way, an error is decided by a byte at a fixed
 * position of the message, never by where a read happened to end, which is
 * why any split of the input gives the same result (the fuzz driver checks
 * it).
 */
#include <stdlib.h>
#include <string.h>

#include "http/chars.h"
#include "http/http.h"

#define HTTP_PARSER_MAGIC 0x48545450u /* "HTTP" */

/* Internal: a state handler changed state and the main loop goes on. */
#define CONTINUE (-1)

static const struct {
    int status;
    const char *code;
    const char *message;
} errors[HTTP_E__COUNT] = {
    [HTTP_E_NONE] = {0, "none", "no error"},
    [HTTP_E_NOMEM] = {500, "out_of_memory", "out of memory while reading the request"},
    [HTTP_E_BARE_LF] = {400, "bare_lf", "line ended by LF without CR"},
    [HTTP_E_BARE_CR] = {400, "bare_cr", "CR not followed by LF"},
    [HTTP_E_REQUEST_LINE] = {400, "bad_request_line", "malformed request line"},
    [HTTP_E_METHOD] = {400, "bad_method", "method is not a token"},
    [HTTP_E_METHOD_UNKNOWN] = {501, "unknown_method", "method not implemented"},
    [HTTP_E_METHOD_NOT_ALLOWED] = {405, "method_not_allowed", "method not allowed"},
    [HTTP_E_TARGET] = {400, "bad_target", "malformed request target"},
    [HTTP_E_ABSOLUTE_FORM] = {400, "absolute_form", "absolute-form target not accepted"},
    [HTTP_E_VERSION] = {400, "bad_version", "malformed HTTP version"},
    [HTTP_E_VERSION_UNSUPPORTED] = {505, "version_not_supported",
                                    "only HTTP/1.1 and HTTP/1.0 are supported"},
    [HTTP_E_LINE_TOO_LONG] = {414, "request_line_too_long", "request line too long"},
    [HTTP_E_HEAD_TOO_LARGE] = {431, "header_section_too_large", "header section too large"},
    [HTTP_E_TOO_MANY_FIELDS] = {431, "too_many_fields", "too many header fields"},
    [HTTP_E_LEADING_WS] = {400, "leading_whitespace",
                           "whitespace line before the first header field"},
    [HTTP_E_OBS_FOLD] = {400, "obs_fold", "folded header field (obs-fold)"},
    [HTTP_E_FIELD_NAME] = {400, "bad_field_name", "malformed header field name"},
    [HTTP_E_SPACE_BEFORE_COLON] = {400, "space_before_colon",
                                   "whitespace between field name and colon"},
    [HTTP_E_NO_COLON] = {400, "no_colon", "header field line without a colon"},
    [HTTP_E_FIELD_VALUE] = {400, "bad_field_value", "control character in a header value"},
    [HTTP_E_NAME_LOOKALIKE] = {400, "field_name_lookalike", "underscore in a framing header name"},
    [HTTP_E_HOST_MISSING] = {400, "host_missing", "Host header missing"},
    [HTTP_E_HOST_DUPLICATE] = {400, "host_duplicate", "more than one Host header"},
    [HTTP_E_HOST_INVALID] = {400, "host_invalid", "malformed Host header"},
    [HTTP_E_CL_INVALID] = {400, "bad_content_length", "malformed Content-Length"},
    [HTTP_E_CL_DUPLICATE] = {400, "duplicate_content_length", "more than one Content-Length"},
    [HTTP_E_TE_CL] = {400, "te_and_content_length",
                      "Transfer-Encoding together with Content-Length"},
    [HTTP_E_TE_DUPLICATE] = {400, "duplicate_transfer_encoding",
                             "chunked applied twice or Transfer-Encoding repeated"},
    [HTTP_E_TE_NOT_CHUNKED] = {400, "te_not_chunked",
                               "Transfer-Encoding does not end with chunked"},
    [HTTP_E_TE_UNSUPPORTED] = {501, "te_unsupported", "transfer coding not implemented"},
    [HTTP_E_TE_HTTP10] = {400, "te_in_http10", "Transfer-Encoding in an HTTP/1.0 request"},
    [HTTP_E_BODY_NOT_ALLOWED] = {400, "body_not_allowed", "GET or HEAD request with a body"},
    [HTTP_E_EXPECT] = {417, "expectation_failed", "only Expect: 100-continue is supported"},
    [HTTP_E_CONTENT_ENCODING] = {415, "content_encoding",
                                 "encoded request bodies are not accepted"},
    [HTTP_E_CONNECTION] = {400, "bad_connection", "malformed Connection header"},
    [HTTP_E_BODY_TOO_LARGE] = {413, "body_too_large", "request body too large"},
    [HTTP_E_CHUNK_SIZE] = {400, "bad_chunk_size", "malformed chunk size"},
    [HTTP_E_CHUNK_SIZE_OVERFLOW] = {400, "chunk_size_overflow", "chunk size too large"},
    [HTTP_E_CHUNK_EXT] = {400, "bad_chunk_extension", "malformed chunk extension"},
    [HTTP_E_CHUNK_EXT_TOO_LONG] = {400, "chunk_extension_too_long",
                                   "chunk extensions over the limit"},
    [HTTP_E_CHUNK_DATA_CRLF] = {400, "bad_chunk_data", "chunk data not followed by CRLF"},
    [HTTP_E_TRAILER_REFUSED] = {400, "trailer_refused", "trailer fields are not accepted"},
    [HTTP_E_TRAILER_TOO_LARGE] = {431, "trailer_too_large", "trailer section too large"},
    [HTTP_E_TRUNCATED] = {400, "truncated", "connection closed before the message ended"},
    [HTTP_E_STATUS_LINE] = {502, "bad_status_line", "malformed status line from upstream"},
    [HTTP_E_INTERIM] = {502, "bad_interim_response", "unexpected 1xx response from upstream"},
};

static const struct {
    const char *name;
    enum http_method m;
} methods[] = {
    {"GET", HTTP_M_GET},     {"HEAD", HTTP_M_HEAD},       {"POST", HTTP_M_POST},
    {"PUT", HTTP_M_PUT},     {"DELETE", HTTP_M_DELETE},   {"OPTIONS", HTTP_M_OPTIONS},
    {"PATCH", HTTP_M_PATCH}, {"CONNECT", HTTP_M_CONNECT}, {"TRACE", HTTP_M_TRACE},
};

/* Names that decide framing or routing; a name equal to one of them once '_'
 * is read as '-' is refused (row 46): a backend that folds '_' into '-' (as
 * CGI-style stacks do) would see a field we never judged. */
static const char *const lookalikes[] = {"content-length",  "transfer-encoding",
                                         "keep-alive",      "content-encoding",
                                         "x-forwarded-for", "proxy-connection"};

/* --- limits and lifetime ------------------------------------------------- */

void http_limits_default(struct http_limits *l, enum http_kind kind)
{
    memset(l, 0, sizeof(*l));
    l->line_max = VIGIE_HTTP_LINE_MAX;
    l->section_max = VIGIE_HTTP_SECTION_MAX;
    l->fields_max = VIGIE_HTTP_FIELDS_MAX;
    l->body_max = kind == HTTP_RESPONSE ? VIGIE_HTTP_RESPONSE_BODY_MAX : VIGIE_HTTP_BODY_MAX;
    l->chunk_ext_max = VIGIE_HTTP_CHUNK_EXT_MAX;
    l->chunk_ext_count = VIGIE_HTTP_CHUNK_EXT_COUNT;
    l->trailer_max = VIGIE_HTTP_TRAILER_MAX;
    l->own_authority = NULL;
    l->refuse_content_encoding = 1;
}

static void clear_message(struct http_parser *p)
{
    vigie_buf_reset(&p->arena);
    if (p->fields != NULL)
        memset(p->fields, 0, p->nfields * sizeof(*p->fields));
    p->nfields = 0;
    p->line_start = 0;
    p->section_used = 0;
    p->method = HTTP_M_UNKNOWN;
    memset(&p->method_s, 0, sizeof(p->method_s));
    memset(&p->target_s, 0, sizeof(p->target_s));
    memset(&p->reason_s, 0, sizeof(p->reason_s));
    p->target_root = 0;
    p->version = 0;
    p->status_code = 0;
    p->flags = 0;
    p->n_host = p->n_cl = p->n_te = p->n_expect = 0;
    p->conn_close = p->conn_keep_alive = 0;
    p->conn_tokens = 0;
    p->content_length = UINT64_MAX;
    p->body_left = 0;
    p->body_total = 0;
    p->chunk_digits = 0;
    p->chunk_ext_len = p->chunk_ext_n = 0;
    p->trailer_used = 0;
    p->chunk = NULL;
    p->chunk_len = 0;
}

void http_parser_init(struct http_parser *p, enum http_kind kind, const struct http_limits *limits)
{
    memset(p, 0, sizeof(*p));
    p->magic = HTTP_PARSER_MAGIC;
    p->kind = kind;
    if (limits != NULL)
        p->lim = *limits;
    else
        http_limits_default(&p->lim, kind);
    /* The limits are added, so a hostile configuration could wrap them. */
    VIGIE_ASSERT(p->lim.line_max <= SIZE_MAX / 4 && p->lim.section_max <= SIZE_MAX / 4);
    /* Spans are 32-bit: the head can never reach 4 GiB. */
    VIGIE_ASSERT(p->lim.line_max + p->lim.section_max < UINT32_MAX);
    vigie_buf_init(&p->arena, p->lim.line_max + p->lim.section_max);
    p->state = HTTP_S_START;
    clear_message(p);
}

void http_parser_fini(struct http_parser *p)
{
    if (p == NULL)
        return;
    vigie_buf_free(&p->arena);
    if (p->fields != NULL) {
        vigie_wipe(p->fields, p->fields_cap * sizeof(*p->fields));
        free(p->fields);
    }
    p->fields = NULL;
    p->nfields = p->fields_cap = 0;
    p->magic = 0;
}

void http_parser_reset(struct http_parser *p)
{
    VIGIE_ASSERT(p->magic == HTTP_PARSER_MAGIC);
    /* After an error the rest of the stream is untrusted (row 40): the
     * connection closes, the parser never reads again. */
    if (p->state == HTTP_S_ERROR)
        return;
    clear_message(p);
    p->interim = 0;
    p->head_request = 0;
    p->state = HTTP_S_START;
}

void http_parser_set_head_request(struct http_parser *p, int is_head)
{
    VIGIE_ASSERT(p->magic == HTTP_PARSER_MAGIC);
    p->head_request = is_head != 0;
}

static int fail(struct http_parser *p, enum http_error e)
{
    p->err = e;
    p->state = HTTP_S_ERROR;
    p->flags = (p->flags & ~HTTP_F_KEEP_ALIVE) | HTTP_F_NO_REUSE;
    p->chunk = NULL;
    p->chunk_len = 0;
    return HTTP_ERROR;
}

/* --- start lines ---------------------------------------------------------- */

static struct http_span span(const struct http_parser *p, const char *s, size_t n)
{
    struct http_span r;

    r.off = (uint32_t)(s - p->arena.data);
    r.len = (uint32_t)n;
    return r;
}

/* "HTTP/" DIGIT "." DIGIT; anything else is malformed (400), a well-formed
 * version other than 1.0 and 1.1 is unsupported (505). */
static enum http_error parse_version(const char *v, size_t n, int *version)
{
    if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
        v[7] < '0' || v[7] > '9')
        return HTTP_E_VERSION;
    if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
        return HTTP_E_VERSION_UNSUPPORTED;
    *version = v[7] == '1' ? 11 : 10;
    return HTTP_E_NONE;
}

/* pchar minus '%' (checked apart), plus '/' and '?' (RFC 3986 §3.3, §3.4). */
static int target_char(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    switch (c) {
    case '-':
    case '.':
    case '_':
    case '~': /* unreserved */
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')': /* sub-delims */
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
    case ':':
    case '@':
    case '/':
    case '?':
        return 1;
    default:
        return 0;
    }
}

/* origin-form = absolute-path [ "?" query ]. Refused besides bad bytes: '%'
 * not followed by two hex digits, %00 (a NUL smuggled past us), and in the
 * path "." and ".." segments, literal or as %2e: a route matched on
 * "/v1/chat/.." must be the route the upstream serves. */
static int check_origin(const char *t, size_t n)
{
    size_t i, seg = 1;
    int query = 0;

    if (n == 0 || t[0] != '/')
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];

        if (c == '%') {
            int hi, lo;
            if (i + 2 >= n)
                return 0;
            hi = http_hexval((unsigned char)t[i + 1]);
            lo = http_hexval((unsigned char)t[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return 0;
            if (!query && hi == 2 && (lo == 0xe))
                return 0; /* %2e in the path: an encoded dot segment */
            i += 2;
            continue;
        }
        if (!target_char(c))
            return 0;
        if (query)
            continue;
        if (c == '?' || c == '/') {
            /* The segment t[seg..i) ends here. */
            size_t l = i - seg;
            if ((l == 1 && t[seg] == '.') || (l == 2 && t[seg] == '.' && t[seg + 1] == '.'))
                return 0;
            seg = i + 1;
            if (c == '?')
                query = 1;
        }
    }
    if (!query) {
        size_t l = n - seg;
        if ((l == 1 && t[seg] == '.') || (l == 2 && t[seg] == '.' && t[seg + 1] == '.'))
            return 0;
    }
    return 1;
}

/* absolute-form: accepted only when configured and naming our own authority
 * (row 21); the target becomes its path, and nothing routes on the
 * authority. Returns HTTP_E_NONE, HTTP_E_ABSOLUTE_FORM or HTTP_E_TARGET. */
static enum http_error absolute_form(struct http_parser *p, const char *t, size_t n)
{
    const char *own = p->lim.own_authority;
    size_t i = 0, a, alen;

    while (i < n &&
           ((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
            (i > 0 && ((t[i] >= '0' && t[i] <= '9') || t[i] == '+' || t[i] == '-' || t[i] == '.'))))
        i++;
    if (i == 0 || n - i < 3 || memcmp(t + i, "://", 3) != 0)
        return HTTP_E_TARGET;
    if (own == NULL)
        return HTTP_E_ABSOLUTE_FORM;
    if (!http_ci_eq(t, i, "http") && !http_ci_eq(t, i, "https"))
        return HTTP_E_ABSOLUTE_FORM;
    a = i + 3;
    for (i = a; i < n && t[i] != '/' && t[i] != '?'; i++)
        ;
    alen = i - a;
    if (alen != strlen(own) || !http_ci_eqn(t + a, own, alen))
        return HTTP_E_ABSOLUTE_FORM;
    if (i == n) {
        p->target_root = 1;
        p->target_s = span(p, t + n, 0);
        return HTTP_E_NONE;
    }
    if (t[i] != '/' || !check_origin(t + i, n - i))
        return HTTP_E_TARGET;
    p->target_s = span(p, t + i, n - i);
    return HTTP_E_NONE;
}

static int request_line(struct http_parser *p, const char *c, size_t n)
{
    const char *sp1, *sp2, *v;
    size_t ml, tl, vl, i;
    enum http_error e;

    /* Exactly one SP between the parts (RFC 9112 §3): a double SP makes an
     * empty target, a third SP a malformed version. */
    sp1 = memchr(c, ' ', n);
    if (sp1 == NULL)
        return fail(p, HTTP_E_REQUEST_LINE);
    sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - c));
    if (sp2 == NULL)
        return fail(p, HTTP_E_REQUEST_LINE);
    ml = (size_t)(sp1 - c);
    tl = (size_t)(sp2 - sp1 - 1);
    v = sp2 + 1;
    vl = n - (size_t)(v - c);
    if (ml == 0 || tl == 0)
        return fail(p, HTTP_E_REQUEST_LINE);
    for (i = 0; i < ml; i++)
        if (!http_tchar((unsigned char)c[i]))
            return fail(p, HTTP_E_METHOD);
    if ((e = parse_version(v, vl, &p->version)) != HTTP_E_NONE)
        return fail(p, e);
    p->method_s = span(p, c, ml);
    p->method = HTTP_M_UNKNOWN;
    for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strlen(methods[i].name) == ml && memcmp(methods[i].name, c, ml) == 0)
            p->method = methods[i].m;
    if (p->method == HTTP_M_UNKNOWN)
        return fail(p, HTTP_E_METHOD_UNKNOWN);
    /* CONNECT would make us a tunnel and TRACE reflects credentials: known,
     * never served. */
    if (p->method == HTTP_M_CONNECT || p->method == HTTP_M_TRACE)
        return fail(p, HTTP_E_METHOD_NOT_ALLOWED);
    if (tl == 1 && sp1[1] == '*') {
        if (p->method != HTTP_M_OPTIONS)
            return fail(p, HTTP_E_TARGET);
        p->target_s = span(p, sp1 + 1, 1);
    } else if (sp1[1] == '/') {
        if (!check_origin(sp1 + 1, tl))
            return fail(p, HTTP_E_TARGET);
        p->target_s = span(p, sp1 + 1, tl);
    } else if ((e = absolute_form(p, sp1 + 1, tl)) != HTTP_E_NONE) {
        return fail(p, e);
    }
    return CONTINUE;
}

/* status-line = HTTP-version SP 3DIGIT SP [ reason-phrase ]. The SP before an
 * empty reason may be missing: that is not a framing question, and some
 * upstreams omit it. */
static int status_line(struct http_parser *p, const char *c, size_t n)
{
    size_t i;

    if (n < 12 || parse_version(c, 8, &p->version) != HTTP_E_NONE || c[8] != ' ' || c[9] < '1' ||
        c[9] > '5' || c[10] < '0' || c[10] > '9' || c[11] < '0' || c[11] > '9')
        return fail(p, HTTP_E_STATUS_LINE);
    p->status_code = (c[9] - '0') * 100 + (c[10] - '0') * 10 + (c[11] - '0');
    if (n > 12) {
        if (c[12] != ' ')
            return fail(p, HTTP_E_STATUS_LINE);
        for (i = 13; i < n; i++)
            if (!http_vchar_ws((unsigned char)c[i]))
                return fail(p, HTTP_E_STATUS_LINE);
        p->reason_s = span(p, c + 13, n - 13);
    }
    return CONTINUE;
}

/* --- field lines ---------------------------------------------------------- */

/* uri-host [ ":" port ] (RFC 9110 §7.2): reg-name or IP-literal, port of 1 to
 * 5 digits up to 65535. Empty hosts, userinfo and paths are refused. */
static int check_host(const char *v, size_t n)
{
    size_t i = 0, pd;
    unsigned long port = 0;

    if (n == 0)
        return 0;
    if (v[0] == '[') {
        for (i = 1; i < n && v[i] != ']'; i++)
            if (http_hexval((unsigned char)v[i]) < 0 && v[i] != ':' && v[i] != '.')
                return 0;
        if (i == n || i == 1)
            return 0;
        i++;
    } else {
        for (; i < n && v[i] != ':'; i++) {
            unsigned char c = (unsigned char)v[i];
            if (c == '%') {
                if (i + 2 >= n || http_hexval((unsigned char)v[i + 1]) < 0 ||
                    http_hexval((unsigned char)v[i + 2]) < 0 ||
                    (v[i + 1] == '0' && v[i + 2] == '0'))
                    return 0;
                i += 2;
                continue;
            }
            if (!target_char(c) || c == '/' || c == '?' || c == '@' || c == ':')
                return 0;
        }
        if (i == 0)
            return 0;
    }
    if (i == n)
        return 1;
    if (v[i] != ':')
        return 0;
    for (pd = 0, i++; i < n; i++, pd++) {
        if (v[i] < '0' || v[i] > '9' || pd == 5)
            return 0;
        port = port * 10 + (unsigned long)(v[i] - '0');
    }
    return pd > 0 && port <= 65535;
}

/* Content-Length = 1*DIGIT, decimal even with leading zeros (row 5), at most
 * 2^63 - 1 (row 4). No sign, space, comma list or other byte. */
static int parse_cl(const char *v, size_t n, uint64_t *out)
{
    uint64_t x = 0;
    size_t i;

    if (n == 0)
        return 0;
    for (i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return 0;
        if (x > (UINT64_C(0x7fffffffffffffff) - (uint64_t)(v[i] - '0')) / 10)
            return 0;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return 1;
}

/* Transfer-Encoding: the only coding we decode is chunked, and it must be the
 * last (RFC 9112 §6.3(4): otherwise the length is unknowable, 400) and come
 * once (§7: never chunked twice). A well-formed list that ends in chunked
 * with another coding before it is well framed but unsupported: 501. Any
 * element that is not a bare token ("chunked;x=1", "\"chunked\"", an empty
 * one as in ",chunked") makes the list malformed: 400. */
static enum http_error parse_te(const char *v, size_t n)
{
    size_t i = 0, s, e, elems = 0, chunked = 0;
    int last_chunked = 0;

    for (;;) {
        while (i < n && http_ows((unsigned char)v[i]))
            i++;
        s = i;
        while (i < n && v[i] != ',')
            i++;
        e = i;
        while (e > s && http_ows((unsigned char)v[e - 1]))
            e--;
        if (e == s)
            return HTTP_E_TE_NOT_CHUNKED;
        for (size_t k = s; k < e; k++)
            if (!http_tchar((unsigned char)v[k]))
                return HTTP_E_TE_NOT_CHUNKED;
        last_chunked = http_ci_eq(v + s, e - s, "chunked");
        if (last_chunked && ++chunked > 1)
            return HTTP_E_TE_DUPLICATE;
        elems++;
        if (i == n)
            break;
        i++; /* the comma */
    }
    if (!last_chunked)
        return HTTP_E_TE_NOT_CHUNKED;
    return elems > 1 ? HTTP_E_TE_UNSUPPORTED : HTTP_E_NONE;
}

/* Connection = #token. Empty elements are ignored (RFC 9110 §5.6.1.2);
 * anything else but a token is refused, and the total is bounded because the
 * writer compares every field against every token. */
static enum http_error parse_connection(struct http_parser *p, const char *v, size_t n)
{
    size_t i = 0, s, e;

    for (;;) {
        while (i < n && http_ows((unsigned char)v[i]))
            i++;
        s = i;
        while (i < n && v[i] != ',')
            i++;
        e = i;
        while (e > s && http_ows((unsigned char)v[e - 1]))
            e--;
        if (e > s) {
            for (size_t k = s; k < e; k++)
                if (!http_tchar((unsigned char)v[k]))
                    return HTTP_E_CONNECTION;
            if (++p->conn_tokens > VIGIE_HTTP_CONN_TOKENS_MAX)
                return HTTP_E_CONNECTION;
            if (http_ci_eq(v + s, e - s, "close"))
                p->conn_close = 1;
            else if (http_ci_eq(v + s, e - s, "keep-alive"))
                p->conn_keep_alive = 1;
        }
        if (i == n)
            break;
        i++;
    }
    return HTTP_E_NONE;
}

static int is_lookalike(const char *name, size_t n)
{
    size_t i, k;

    if (memchr(name, '_', n) == NULL)
        return 0;
    for (k = 0; k < sizeof(lookalikes) / sizeof(lookalikes[0]); k++) {
        const char *l = lookalikes[k];
        if (strlen(l) != n)
            continue;
        for (i = 0; i < n; i++) {
            unsigned char c = http_lower((unsigned char)name[i]);
            if ((c == '_' ? '-' : c) != (unsigned char)l[i])
                break;
        }
        if (i == n)
            return 1;
    }
    return 0;
}

/* The meaning of the fields that decide framing, routing and the
 * connection, judged as each arrives. */
static enum http_error field_semantics(struct http_parser *p, const char *name, size_t nl,
                                       const char *v, size_t vl)
{
    int req = p->kind == HTTP_REQUEST;
    enum http_error e;

    if (is_lookalike(name, nl))
        return HTTP_E_NAME_LOOKALIKE;
    if (http_ci_eq(name, nl, "content-length")) {
        if (++p->n_cl > 1)
            return HTTP_E_CL_DUPLICATE;
        if (!parse_cl(v, vl, &p->content_length))
            return HTTP_E_CL_INVALID;
    } else if (http_ci_eq(name, nl, "transfer-encoding")) {
        /* HTTP/1.0 has no chunked coding: its framing is faulty (RFC 9112
         * §6.1), whatever the value says. */
        if (req && p->version == 10)
            return HTTP_E_TE_HTTP10;
        if (++p->n_te > 1)
            return HTTP_E_TE_DUPLICATE;
        if ((e = parse_te(v, vl)) != HTTP_E_NONE)
            return e;
    } else if (http_ci_eq(name, nl, "connection")) {
        if ((e = parse_connection(p, v, vl)) != HTTP_E_NONE)
            return e;
    } else if (!req) {
        return HTTP_E_NONE;
    } else if (http_ci_eq(name, nl, "host")) {
        if (++p->n_host > 1)
            return HTTP_E_HOST_DUPLICATE;
        if (!check_host(v, vl))
            return HTTP_E_HOST_INVALID;
    } else if (http_ci_eq(name, nl, "expect")) {
        if (++p->n_expect > 1 || !http_ci_eq(v, vl, "100-continue"))
            return HTTP_E_EXPECT;
    } else if (http_ci_eq(name, nl, "upgrade")) {
        p->flags |= HTTP_F_UPGRADE;
    } else if (http_ci_eq(name, nl, "content-encoding")) {
        if (p->lim.refuse_content_encoding)
            return HTTP_E_CONTENT_ENCODING;
    }
    return HTTP_E_NONE;
}

static int field_line(struct http_parser *p, const char *c, size_t n)
{
    size_t i = 0, vs, ve;
    enum http_error e;

    /* A line starting with whitespace continues the previous one in
     * obsolete folding (row 13); before any field it is the whitespace line
     * some parsers take as the end of the head (row 14). */
    if (http_ows((unsigned char)c[0]))
        return fail(p, p->nfields == 0 ? HTTP_E_LEADING_WS : HTTP_E_OBS_FOLD);
    while (i < n && http_tchar((unsigned char)c[i]))
        i++;
    if (i == n || (c[i] != ':' && memchr(c + i, ':', n - i) == NULL))
        return fail(p, HTTP_E_NO_COLON);
    if (c[i] != ':')
        return fail(p,
                    http_ows((unsigned char)c[i]) ? HTTP_E_SPACE_BEFORE_COLON : HTTP_E_FIELD_NAME);
    if (i == 0)
        return fail(p, HTTP_E_FIELD_NAME);
    vs = i + 1;
    ve = n;
    while (vs < ve && http_ows((unsigned char)c[vs]))
        vs++;
    while (ve > vs && http_ows((unsigned char)c[ve - 1]))
        ve--;
    for (size_t k = vs; k < ve; k++)
        if (!http_vchar_ws((unsigned char)c[k]))
            return fail(p, HTTP_E_FIELD_VALUE);
    if (p->nfields >= p->lim.fields_max)
        return fail(p, HTTP_E_TOO_MANY_FIELDS);
    if (VIGIE_ARRAY_RESERVE(p->fields, p->nfields, p->fields_cap, 16) != VIGIE_OK)
        return fail(p, HTTP_E_NOMEM);
    p->fields[p->nfields].name = span(p, c, i);
    p->fields[p->nfields].value = span(p, c + vs, ve - vs);
    p->nfields++;
    if ((e = field_semantics(p, c, i, c + vs, ve - vs)) != HTTP_E_NONE)
        return fail(p, e);
    return CONTINUE;
}

/* --- end of head: framing ------------------------------------------------- */

static int request_head_done(struct http_parser *p)
{
    int bodyless = p->method == HTTP_M_GET || p->method == HTTP_M_HEAD;

    if (p->n_host == 0 && p->version == 11)
        return fail(p, HTTP_E_HOST_MISSING);
    /* Both framings at once is the classic desync (row 1): RFC 9112 §6.1
     * lets us reject, and we must close either way. */
    if (p->n_te > 0 && p->n_cl > 0)
        return fail(p, HTTP_E_TE_CL);
    /* GET and HEAD bodies have no meaning and some servers ignore them,
     * leaving the body to be read as the next request (row 36). */
    if (bodyless && (p->n_te > 0 || (p->n_cl > 0 && p->content_length > 0)))
        return fail(p, HTTP_E_BODY_NOT_ALLOWED);
    if (p->n_te > 0) {
        p->flags |= HTTP_F_CHUNKED;
        p->state = HTTP_S_CHUNK_SIZE0;
    } else if (p->n_cl > 0) {
        /* Refused before a byte of the body is read, and before any 100
         * Continue could have been sent (rows 35, 37). */
        if (p->content_length > p->lim.body_max)
            return fail(p, HTTP_E_BODY_TOO_LARGE);
        p->flags |= HTTP_F_LENGTH;
        p->body_left = p->content_length;
        p->state = p->body_left > 0 ? HTTP_S_BODY_LENGTH : HTTP_S_DONE;
    } else {
        p->state = HTTP_S_DONE;
    }
    /* An HTTP/1.0 server ignores 100-continue (RFC 9110 §10.1.1). */
    if (p->n_expect > 0 && p->version == 11)
        p->flags |= HTTP_F_EXPECT_CONTINUE;
    if (p->version == 11 ? !p->conn_close : (p->conn_keep_alive && !p->conn_close))
        p->flags |= HTTP_F_KEEP_ALIVE;
    return HTTP_HEAD_DONE;
}

static int response_head_done(struct http_parser *p)
{
    int st = p->status_code;

    if (st < 200) {
        /* 101 would switch protocols we never asked for. Other 1xx are
         * skipped, a bounded number of them. */
        if (st == 101 || ++p->interim > VIGIE_HTTP_INTERIM_MAX)
            return fail(p, HTTP_E_INTERIM);
        clear_message(p);
        p->state = HTTP_S_START;
        return CONTINUE;
    }
    if (p->n_te > 0 && p->n_cl > 0)
        return fail(p, HTTP_E_TE_CL);
    if (p->head_request || st == 204 || st == 304) {
        /* No body, whatever the fields say (RFC 9112 §6.3(1)). A 204 that
         * announces one may well send it: that connection is not reused. */
        if (st == 204 && (p->n_te > 0 || (p->n_cl > 0 && p->content_length > 0)))
            p->flags |= HTTP_F_NO_REUSE;
        p->state = HTTP_S_DONE;
    } else if (p->n_te > 0) {
        p->flags |= HTTP_F_CHUNKED;
        p->state = HTTP_S_CHUNK_SIZE0;
    } else if (p->n_cl > 0) {
        if (p->content_length > p->lim.body_max)
            return fail(p, HTTP_E_BODY_TOO_LARGE);
        p->flags |= HTTP_F_LENGTH;
        p->body_left = p->content_length;
        p->state = p->body_left > 0 ? HTTP_S_BODY_LENGTH : HTTP_S_DONE;
    } else {
        p->flags |= HTTP_F_UNTIL_CLOSE | HTTP_F_NO_REUSE;
        p->state = HTTP_S_BODY_CLOSE;
    }
    if ((p->version == 11 ? !p->conn_close : (p->conn_keep_alive && !p->conn_close)) &&
        !(p->flags & HTTP_F_NO_REUSE))
        p->flags |= HTTP_F_KEEP_ALIVE;
    else
        p->flags |= HTTP_F_NO_REUSE;
    return HTTP_HEAD_DONE;
}

/* A complete line sits at arena[line_start..len), its LF last. */
static int on_line(struct http_parser *p)
{
    const char *c = p->arena.data + p->line_start;
    size_t n = p->arena.len - p->line_start;
    int rc;

    if (n < 2 || c[n - 2] != '\r')
        return fail(p, HTTP_E_BARE_LF);
    n -= 2;
    /* Some parsers end lines at a lone CR (row 15): none may survive here. */
    if (memchr(c, '\r', n) != NULL)
        return fail(p, HTTP_E_BARE_CR);
    if (p->state == HTTP_S_START_LINE) {
        if (n == 0) /* an empty line before the start line: refused, not skipped */
            return fail(p, p->kind == HTTP_REQUEST ? HTTP_E_REQUEST_LINE : HTTP_E_STATUS_LINE);
        rc = p->kind == HTTP_REQUEST ? request_line(p, c, n) : status_line(p, c, n);
        if (rc != CONTINUE)
            return rc;
        p->state = HTTP_S_FIELD_LINE;
        p->section_used = 0;
    } else {
        p->section_used += n + 2;
        if (n == 0)
            return p->kind == HTTP_REQUEST ? request_head_done(p) : response_head_done(p);
        if ((rc = field_line(p, c, n)) != CONTINUE)
            return rc;
    }
    p->line_start = p->arena.len;
    return CONTINUE;
}

/* Collects head lines. A line may be at most as long as what is left of its
 * limit; the first byte past it decides the error, wherever the split. */
static int on_head(struct http_parser *p, const char *buf, size_t len, size_t *pos)
{
    for (;;) {
        size_t avail, used, limit, budget, n, take;
        const char *lf;
        int rc;

        if (*pos == len)
            return HTTP_NEED_MORE;
        if (p->state == HTTP_S_START) {
            p->state = HTTP_S_START_LINE;
            p->line_start = p->arena.len;
        }
        if (p->state == HTTP_S_START_LINE) {
            used = p->arena.len - p->line_start;
            limit = p->lim.line_max;
        } else {
            used = p->section_used + (p->arena.len - p->line_start);
            limit = p->lim.section_max;
        }
        VIGIE_ASSERT(used <= limit);
        avail = len - *pos;
        budget = limit - used;
        n = avail < budget ? avail : budget;
        lf = n > 0 ? memchr(buf + *pos, '\n', n) : NULL;
        take = lf != NULL ? (size_t)(lf - (buf + *pos)) + 1 : n;
        if (take > 0 && vigie_buf_append(&p->arena, buf + *pos, take) != VIGIE_OK)
            return fail(p, HTTP_E_NOMEM);
        *pos += take;
        if (lf == NULL) {
            if (avail <= budget)
                return HTTP_NEED_MORE;
            if (p->state == HTTP_S_START_LINE)
                return fail(p, p->kind == HTTP_REQUEST ? HTTP_E_LINE_TOO_LONG : HTTP_E_STATUS_LINE);
            return fail(p, HTTP_E_HEAD_TOO_LARGE);
        }
        rc = on_line(p);
        if (rc != CONTINUE)
            return rc;
        if (p->state != HTTP_S_START_LINE && p->state != HTTP_S_FIELD_LINE &&
            p->state != HTTP_S_START)
            return CONTINUE;
    }
}

/* --- body ----------------------------------------------------------------- */

/* Content-Length data, chunk data, or a close-delimited response: hands out
 * what the buffer holds, borrowed. */
static int on_data(struct http_parser *p, const char *buf, size_t len, size_t *pos)
{
    size_t avail = len - *pos, n;

    if (avail == 0)
        return HTTP_NEED_MORE;
    if (p->state == HTTP_S_BODY_CLOSE) {
        uint64_t room = p->lim.body_max - p->body_total;
        /* Pass on up to the limit, then fail on the first byte past it, so
         * a split never changes what was passed on. */
        if (room == 0)
            return fail(p, HTTP_E_BODY_TOO_LARGE);
        n = (uint64_t)avail < room ? avail : (size_t)room;
        p->body_total += n;
    } else {
        n = (uint64_t)avail < p->body_left ? avail : (size_t)p->body_left;
        p->body_left -= n;
        if (p->state == HTTP_S_BODY_LENGTH)
            p->body_total += n;
        if (p->body_left == 0)
            p->state = p->state == HTTP_S_BODY_LENGTH ? HTTP_S_DONE : HTTP_S_CHUNK_DATA_CR;
    }
    p->chunk = buf + *pos;
    p->chunk_len = n;
    *pos += n;
    return HTTP_BODY_CHUNK;
}

/* The chunk size is complete: refuse it now if the body would pass its limit
 * (row 34), before a byte of its data is read. */
static int chunk_size_done(struct http_parser *p)
{
    if (p->body_left > p->lim.body_max - p->body_total)
        return fail(p, HTTP_E_BODY_TOO_LARGE);
    p->body_total += p->body_left;
    return CONTINUE;
}

/* One more byte of chunk extension, within the limits (row 31). */
static int ext_byte(struct http_parser *p)
{
    if (++p->chunk_ext_len > p->lim.chunk_ext_max)
        return fail(p, HTTP_E_CHUNK_EXT_TOO_LONG);
    return CONTINUE;
}

/* A ';' opening one more extension. */
static int ext_start(struct http_parser *p)
{
    if (p->lim.chunk_ext_max == 0)
        return fail(p, HTTP_E_CHUNK_EXT);
    if (++p->chunk_ext_n > p->lim.chunk_ext_count)
        return fail(p, HTTP_E_CHUNK_EXT_TOO_LONG);
    p->state = HTTP_S_CHUNK_EXT_NAME0;
    return ext_byte(p);
}

/* qdtext and the second byte of a quoted-pair: HTAB, SP, VCHAR, obs-text. */
static int qchar(unsigned char c)
{
    return http_vchar_ws(c);
}

/* chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF (RFC 9112 §7.1),
 * strictly: 1 to 16 HEXDIG, no whitespace anywhere (BWS included), extensions
 * as token [ "=" ( token / quoted-string ) ], then CRLF exactly. */
static int on_chunk_line(struct http_parser *p, const char *buf, size_t len, size_t *pos)
{
    while (*pos < len) {
        unsigned char c = (unsigned char)buf[*pos];
        int hv = http_hexval(c), rc = CONTINUE;

        /* A LF anywhere but after the line's CR is a bare LF (row 16). */
        if (c == '\n' && p->state != HTTP_S_CHUNK_SIZE_LF && p->state != HTTP_S_CHUNK_DATA_LF)
            return fail(p, HTTP_E_BARE_LF);
        switch (p->state) {
        case HTTP_S_CHUNK_SIZE0:
            if (hv < 0)
                return fail(p, HTTP_E_CHUNK_SIZE);
            p->body_left = (uint64_t)hv;
            p->chunk_digits = 1;
            p->chunk_ext_len = p->chunk_ext_n = 0;
            p->state = HTTP_S_CHUNK_SIZE;
            break;
        case HTTP_S_CHUNK_SIZE:
            if (hv >= 0) {
                if (p->chunk_digits == VIGIE_HTTP_CHUNK_DIGITS_MAX)
                    return fail(p, HTTP_E_CHUNK_SIZE_OVERFLOW);
                p->body_left = (p->body_left << 4) | (uint64_t)hv;
                p->chunk_digits++;
            } else if (c == ';') {
                if ((rc = chunk_size_done(p)) == CONTINUE)
                    rc = ext_start(p);
            } else if (c == '\r') {
                if ((rc = chunk_size_done(p)) == CONTINUE)
                    p->state = HTTP_S_CHUNK_SIZE_LF;
            } else {
                return fail(p, HTTP_E_CHUNK_SIZE);
            }
            break;
        case HTTP_S_CHUNK_EXT_NAME0:
            if (!http_tchar(c))
                return fail(p, HTTP_E_CHUNK_EXT);
            p->state = HTTP_S_CHUNK_EXT_NAME;
            rc = ext_byte(p);
            break;
        case HTTP_S_CHUNK_EXT_NAME:
        case HTTP_S_CHUNK_EXT_TOKEN:
        case HTTP_S_CHUNK_EXT_QEND:
            if (c == '\r') {
                p->state = HTTP_S_CHUNK_SIZE_LF;
            } else if (c == ';') {
                rc = ext_start(p);
            } else if (c == '=' && p->state == HTTP_S_CHUNK_EXT_NAME) {
                p->state = HTTP_S_CHUNK_EXT_VAL0;
                rc = ext_byte(p);
            } else if (http_tchar(c) && p->state != HTTP_S_CHUNK_EXT_QEND) {
                rc = ext_byte(p);
            } else {
                return fail(p, HTTP_E_CHUNK_EXT);
            }
            break;
        case HTTP_S_CHUNK_EXT_VAL0:
            if (c == '"')
                p->state = HTTP_S_CHUNK_EXT_QUOTED;
            else if (http_tchar(c))
                p->state = HTTP_S_CHUNK_EXT_TOKEN;
            else
                return fail(p, HTTP_E_CHUNK_EXT);
            rc = ext_byte(p);
            break;
        case HTTP_S_CHUNK_EXT_QUOTED:
            if (c == '"')
                p->state = HTTP_S_CHUNK_EXT_QEND;
            else if (c == '\\')
                p->state = HTTP_S_CHUNK_EXT_QPAIR;
            else if (!qchar(c))
                return fail(p, HTTP_E_CHUNK_EXT); /* CTL, NUL, CR in a quoted value (row 30) */
            rc = ext_byte(p);
            break;
        case HTTP_S_CHUNK_EXT_QPAIR:
            if (!qchar(c))
                return fail(p, HTTP_E_CHUNK_EXT);
            p->state = HTTP_S_CHUNK_EXT_QUOTED;
            rc = ext_byte(p);
            break;
        case HTTP_S_CHUNK_SIZE_LF:
            if (c != '\n')
                return fail(p, HTTP_E_BARE_CR); /* "2\r\r;a" (row 30) */
            (*pos)++;
            if (p->body_left == 0) {
                p->trailer_used = 0;
                p->state = HTTP_S_TRAILER0;
            } else {
                p->state = HTTP_S_CHUNK_DATA;
            }
            return CONTINUE;
        case HTTP_S_CHUNK_DATA_CR:
            /* Data longer than its size said (row 29). */
            if (c != '\r')
                return fail(p, HTTP_E_CHUNK_DATA_CRLF);
            p->state = HTTP_S_CHUNK_DATA_LF;
            break;
        case HTTP_S_CHUNK_DATA_LF:
            if (c != '\n')
                return fail(p, HTTP_E_CHUNK_DATA_CRLF);
            p->state = HTTP_S_CHUNK_SIZE0;
            (*pos)++;
            return CONTINUE;
        default:
            VIGIE_ASSERT(!"on_chunk_line: not a chunk-line state");
        }
        if (rc != CONTINUE)
            return rc;
        (*pos)++;
    }
    return HTTP_NEED_MORE;
}

/* trailer-section = *( field-line CRLF ) CRLF. Read to find the end of the
 * message, judged like header fields, bounded, and discarded: a trailer is
 * never forwarded nor believed (row 33). */
static int on_trailer(struct http_parser *p, const char *buf, size_t len, size_t *pos)
{
    while (*pos < len) {
        unsigned char c = (unsigned char)buf[*pos];

        if (p->state == HTTP_S_TRAILER0 && c == '\r') {
            p->state = HTTP_S_TRAILER_END_LF;
            (*pos)++;
            continue;
        }
        if (p->state == HTTP_S_TRAILER_END_LF) {
            if (c != '\n')
                return fail(p, HTTP_E_BARE_CR);
            (*pos)++;
            p->state = HTTP_S_DONE;
            return CONTINUE;
        }
        if (c == '\n' && p->state != HTTP_S_TRAILER_LF)
            return fail(p, HTTP_E_BARE_LF);
        if (++p->trailer_used > p->lim.trailer_max)
            return fail(p, p->lim.trailer_max == 0 ? HTTP_E_TRAILER_REFUSED
                                                   : HTTP_E_TRAILER_TOO_LARGE);
        switch (p->state) {
        case HTTP_S_TRAILER0:
            if (http_ows(c))
                return fail(p, HTTP_E_OBS_FOLD);
            if (!http_tchar(c))
                return fail(p, HTTP_E_FIELD_NAME);
            p->state = HTTP_S_TRAILER_NAME;
            break;
        case HTTP_S_TRAILER_NAME:
            if (c == ':')
                p->state = HTTP_S_TRAILER_VALUE;
            else if (http_ows(c))
                return fail(p, HTTP_E_SPACE_BEFORE_COLON);
            else if (c == '\r')
                return fail(p, HTTP_E_NO_COLON);
            else if (!http_tchar(c))
                return fail(p, HTTP_E_FIELD_NAME);
            break;
        case HTTP_S_TRAILER_VALUE:
            if (c == '\r')
                p->state = HTTP_S_TRAILER_LF;
            else if (!http_vchar_ws(c))
                return fail(p, HTTP_E_FIELD_VALUE);
            break;
        case HTTP_S_TRAILER_LF:
            if (c != '\n')
                return fail(p, HTTP_E_BARE_CR);
            p->state = HTTP_S_TRAILER0;
            break;
        default:
            VIGIE_ASSERT(!"on_trailer: not a trailer state");
        }
        (*pos)++;
    }
    return HTTP_NEED_MORE;
}

enum http_result http_parse(struct http_parser *p, const char *buf, size_t len, size_t *consumed)
{
    size_t pos = 0;
    int rc = HTTP_ERROR;

    VIGIE_ASSERT(p->magic == HTTP_PARSER_MAGIC);
    VIGIE_ASSERT(buf != NULL || len == 0);
    p->chunk = NULL;
    p->chunk_len = 0;
    /* Each pass either consumes a byte, reports an event or changes to a
     * state that does one of those: the loop is bounded by len plus the
     * number of states in a message. */
    for (;;) {
        switch (p->state) {
        case HTTP_S_START:
        case HTTP_S_START_LINE:
        case HTTP_S_FIELD_LINE:
            rc = on_head(p, buf, len, &pos);
            break;
        case HTTP_S_BODY_LENGTH:
        case HTTP_S_BODY_CLOSE:
        case HTTP_S_CHUNK_DATA:
            rc = on_data(p, buf, len, &pos);
            break;
        case HTTP_S_CHUNK_SIZE0:
        case HTTP_S_CHUNK_SIZE:
        case HTTP_S_CHUNK_EXT_NAME0:
        case HTTP_S_CHUNK_EXT_NAME:
        case HTTP_S_CHUNK_EXT_VAL0:
        case HTTP_S_CHUNK_EXT_TOKEN:
        case HTTP_S_CHUNK_EXT_QUOTED:
        case HTTP_S_CHUNK_EXT_QPAIR:
        case HTTP_S_CHUNK_EXT_QEND:
        case HTTP_S_CHUNK_SIZE_LF:
        case HTTP_S_CHUNK_DATA_CR:
        case HTTP_S_CHUNK_DATA_LF:
            rc = on_chunk_line(p, buf, len, &pos);
            break;
        case HTTP_S_TRAILER0:
        case HTTP_S_TRAILER_NAME:
        case HTTP_S_TRAILER_VALUE:
        case HTTP_S_TRAILER_LF:
        case HTTP_S_TRAILER_END_LF:
            rc = on_trailer(p, buf, len, &pos);
            break;
        case HTTP_S_DONE:
            rc = HTTP_MESSAGE_DONE;
            break;
        case HTTP_S_ERROR:
            rc = HTTP_ERROR;
            break;
        default:
            VIGIE_ASSERT(!"http_parse: unknown state");
        }
        if (rc != CONTINUE)
            break;
    }
    VIGIE_ASSERT(pos <= len);
    *consumed = pos;
    return (enum http_result)rc;
}

enum http_result http_parse_eof(struct http_parser *p)
{
    VIGIE_ASSERT(p->magic == HTTP_PARSER_MAGIC);
    switch (p->state) {
    case HTTP_S_START:
        return HTTP_NEED_MORE;
    case HTTP_S_BODY_CLOSE:
        p->state = HTTP_S_DONE;
        return HTTP_MESSAGE_DONE;
    case HTTP_S_DONE:
        return HTTP_MESSAGE_DONE;
    case HTTP_S_ERROR:
        return HTTP_ERROR;
    default:
        return (enum http_result)fail(p, HTTP_E_TRUNCATED);
    }
}

/* --- accessors ------------------------------------------------------------ */

const char *http_parser_body(const struct http_parser *p, size_t *len)
{
    *len = p->chunk_len;
    return p->chunk;
}

enum http_error http_parser_error(const struct http_parser *p)
{
    return p->err;
}

int http_error_status(enum http_error e)
{
    return (unsigned)e < HTTP_E__COUNT ? errors[e].status : 500;
}

const char *http_error_message(enum http_error e)
{
    return (unsigned)e < HTTP_E__COUNT ? errors[e].message : "unknown error";
}

const char *http_error_code(enum http_error e)
{
    return (unsigned)e < HTTP_E__COUNT ? errors[e].code : "unknown";
}

int http_parser_error_status(const struct http_parser *p)
{
    if (p->err == HTTP_E_NONE)
        return 0;
    /* Whatever an upstream did wrong, the client hears 502 (HAProxy). */
    return p->kind == HTTP_RESPONSE ? 502 : http_error_status(p->err);
}

const char *http_parser_error_message(const struct http_parser *p)
{
    return http_error_message(p->err);
}

/* The head is readable once HTTP_HEAD_DONE was reported. */
static int head_ready(const struct http_parser *p)
{
    return p->state != HTTP_S_START && p->state != HTTP_S_START_LINE &&
           p->state != HTTP_S_FIELD_LINE && p->state != HTTP_S_ERROR;
}

enum http_method http_parser_method(const struct http_parser *p)
{
    return head_ready(p) ? p->method : HTTP_M_UNKNOWN;
}

const char *http_parser_method_name(const struct http_parser *p, size_t *len)
{
    if (!head_ready(p) || p->kind != HTTP_REQUEST) {
        *len = 0;
        return NULL;
    }
    *len = p->method_s.len;
    return p->arena.data + p->method_s.off;
}

const char *http_parser_target(const struct http_parser *p, size_t *len)
{
    if (!head_ready(p) || p->kind != HTTP_REQUEST) {
        *len = 0;
        return NULL;
    }
    if (p->target_root) {
        *len = 1;
        return "/";
    }
    *len = p->target_s.len;
    return p->arena.data + p->target_s.off;
}

int http_parser_version(const struct http_parser *p)
{
    return p->version;
}

int http_parser_status(const struct http_parser *p)
{
    return p->status_code;
}

unsigned http_parser_flags(const struct http_parser *p)
{
    return p->flags;
}

uint64_t http_parser_content_length(const struct http_parser *p)
{
    return p->n_cl > 0 ? p->content_length : UINT64_MAX;
}

size_t http_parser_field_count(const struct http_parser *p)
{
    return head_ready(p) ? p->nfields : 0;
}

int http_parser_field(const struct http_parser *p, size_t i, struct http_field *f)
{
    if (!head_ready(p) || i >= p->nfields)
        return VIGIE_ERR_INVAL;
    f->name = p->arena.data + p->fields[i].name.off;
    f->name_len = p->fields[i].name.len;
    f->value = p->arena.data + p->fields[i].value.off;
    f->value_len = p->fields[i].value.len;
    return VIGIE_OK;
}

const char *http_parser_get(const struct http_parser *p, const char *name, size_t *len)
{
    struct http_field f;
    size_t i, nl = strlen(name);

    for (i = 0; http_parser_field(p, i, &f) == VIGIE_OK; i++)
        if (f.name_len == nl && http_ci_eqn(f.name, name, nl)) {
            *len = f.value_len;
            return f.value;
        }
    *len = 0;
    return NULL;
}

int http_is_hop_by_hop(const char *name, size_t len)
{
    static const char *const hop[] = {"connection", "keep-alive",        "te",
                                      "trailer",    "transfer-encoding", "upgrade"};
    size_t i;

    for (i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
        if (http_ci_eq(name, len, hop[i]))
            return 1;
    return len >= 6 && http_ci_eqn(name, "proxy-", 6);
}

int http_parser_conn_names(const struct http_parser *p, const char *name, size_t len)
{
    struct http_field f;
    size_t i;

    for (i = 0; http_parser_field(p, i, &f) == VIGIE_OK; i++) {
        size_t k = 0;
        if (!http_ci_eq(f.name, f.name_len, "connection"))
            continue;
        /* Tokens were validated when the field arrived. */
        while (k < f.value_len) {
            size_t s, e;
            while (k < f.value_len && (http_ows((unsigned char)f.value[k]) || f.value[k] == ','))
                k++;
            s = k;
            while (k < f.value_len && f.value[k] != ',' && !http_ows((unsigned char)f.value[k]))
                k++;
            e = k;
            if (e > s && e - s == len && http_ci_eqn(f.value + s, name, len))
                return 1;
        }
    }
    return 0;
}
