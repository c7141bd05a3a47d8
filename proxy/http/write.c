/*
 * The HTTP writer: upstream requests rebuilt from a parsed message, and the
 * gateway's own responses. Nothing here copies a client's framing: the
 * request that leaves has one Content-Length computed here, and no field
 * that only meant something on the client's connection.
 */
#include <inttypes.h>
#include <string.h>

#include "http/chars.h"
#include "http/http.h"

/* No CR, LF, NUL or other CTL, and not empty: a string from configuration or
 * from the net layer that goes into a head must not be able to end a line. */
static int safe_value(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!http_vchar_ws((unsigned char)s[i]))
            return 0;
    return 1;
}

static int safe_token(const char *s, size_t n)
{
    size_t i;

    if (n == 0)
        return 0;
    for (i = 0; i < n; i++)
        if (!http_tchar((unsigned char)s[i]))
            return 0;
    return 1;
}

static int name_is(const char *name, size_t n, const char *other)
{
    size_t l = strlen(other);

    return l == n && http_ci_eqn(name, other, n);
}

/* Whether the client's field must not reach the upstream. */
static int dropped(const struct http_parser *p, const struct http_forward *fw,
                   const struct http_field *f)
{
    static const char *const own[] = {
        "host",            /* rewritten from configuration or kept, written first */
        "content-length",  /* recomputed for the body that actually leaves */
        "expect",          /* answered by the gateway itself */
        "accept-encoding", /* answers must come back uncoded for the stream filter */
        "forwarded",       /* set by the gateway only */
    };
    size_t i;

    if (http_is_hop_by_hop(f->name, f->name_len) || http_parser_conn_names(p, f->name, f->name_len))
        return 1;
    for (i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        if (name_is(f->name, f->name_len, own[i]))
            return 1;
    /* Client-supplied X-Forwarded-* lie as easily as they tell the truth. */
    if (f->name_len >= 12 && http_ci_eqn(f->name, "x-forwarded-", 12))
        return 1;
    for (i = 0; fw->drop != NULL && fw->drop[i] != NULL; i++)
        if (name_is(f->name, f->name_len, fw->drop[i]))
            return 1;
    /* A field the route sets replaces the client's (credentials). */
    for (i = 0; i < fw->n_add; i++)
        if (f->name_len == fw->add[i].name_len &&
            http_ci_eqn(f->name, fw->add[i].name, f->name_len))
            return 1;
    return 0;
}

static int append_field(struct vigie_buf *out, const char *name, size_t nl, const char *value,
                        size_t vl)
{
    int rc;

    if ((rc = vigie_buf_append(out, name, nl)) != VIGIE_OK ||
        (rc = vigie_buf_append(out, ": ", 2)) != VIGIE_OK ||
        (rc = vigie_buf_append(out, value, vl)) != VIGIE_OK)
        return rc;
    return vigie_buf_append(out, "\r\n", 2);
}

int http_write_request(const struct http_parser *p, const struct http_forward *fw,
                       struct vigie_buf *out)
{
    struct http_forward none;
    struct http_field f;
    const char *method, *target, *host;
    size_t ml, tl, hl, i;
    int rc, xff_started = 0;

    if (fw == NULL) {
        memset(&none, 0, sizeof(none));
        fw = &none;
    }
    method = http_parser_method_name(p, &ml);
    if (method == NULL)
        return VIGIE_ERR_INVAL;
    if (fw->target != NULL) {
        target = fw->target;
        tl = strlen(target);
        if (tl == 0 || memchr(target, ' ', tl) != NULL || !safe_value(target, tl))
            return VIGIE_ERR_INVAL;
    } else {
        target = http_parser_target(p, &tl);
    }
    if (fw->host != NULL) {
        host = fw->host;
        hl = strlen(host);
    } else {
        host = http_parser_get(p, "host", &hl);
    }
    if (host == NULL || hl == 0 || !safe_value(host, hl))
        return VIGIE_ERR_INVAL;
    if (fw->client_addr != NULL &&
        (fw->client_addr[0] == '\0' || !safe_value(fw->client_addr, strlen(fw->client_addr))))
        return VIGIE_ERR_INVAL;
    for (i = 0; i < fw->n_add; i++)
        if (!safe_token(fw->add[i].name, fw->add[i].name_len) ||
            !safe_value(fw->add[i].value, fw->add[i].value_len))
            return VIGIE_ERR_INVAL;

    /* The upstream always hears HTTP/1.1, whatever the client spoke. */
    if ((rc = vigie_buf_append(out, method, ml)) != VIGIE_OK ||
        (rc = vigie_buf_appendc(out, ' ')) != VIGIE_OK ||
        (rc = vigie_buf_append(out, target, tl)) != VIGIE_OK ||
        (rc = vigie_buf_append(out, " HTTP/1.1\r\n", 11)) != VIGIE_OK ||
        (rc = append_field(out, "Host", 4, host, hl)) != VIGIE_OK)
        return rc;
    for (i = 0; http_parser_field(p, i, &f) == VIGIE_OK; i++) {
        if (dropped(p, fw, &f))
            continue;
        if ((rc = append_field(out, f.name, f.name_len, f.value, f.value_len)) != VIGIE_OK)
            return rc;
    }
    for (i = 0; i < fw->n_add; i++)
        if ((rc = append_field(out, fw->add[i].name, fw->add[i].name_len, fw->add[i].value,
                               fw->add[i].value_len)) != VIGIE_OK)
            return rc;
    /* One Content-Length for the body that actually leaves; none for a
     * bodiless GET, so the upstream request means what the client's did. */
    if (fw->body_len > 0 || (http_parser_flags(p) & (HTTP_F_LENGTH | HTTP_F_CHUNKED)) ||
        http_parser_method(p) == HTTP_M_POST || http_parser_method(p) == HTTP_M_PUT ||
        http_parser_method(p) == HTTP_M_PATCH) {
        if ((rc = vigie_buf_printf(out, "Content-Length: %zu\r\n", fw->body_len)) != VIGIE_OK)
            return rc;
    }
    if (fw->client_addr != NULL) {
        if ((rc = vigie_buf_append(out, "X-Forwarded-For: ", 17)) != VIGIE_OK)
            return rc;
        /* The client's chain, only when the operator trusts what is in
         * front of the gateway to have set it. */
        for (i = 0; fw->append_xff && http_parser_field(p, i, &f) == VIGIE_OK; i++) {
            if (!name_is(f.name, f.name_len, "x-forwarded-for") || f.value_len == 0)
                continue;
            if ((xff_started && (rc = vigie_buf_append(out, ", ", 2)) != VIGIE_OK) ||
                (rc = vigie_buf_append(out, f.value, f.value_len)) != VIGIE_OK)
                return rc;
            xff_started = 1;
        }
        if ((xff_started && (rc = vigie_buf_append(out, ", ", 2)) != VIGIE_OK) ||
            (rc = vigie_buf_append(out, fw->client_addr, strlen(fw->client_addr))) != VIGIE_OK ||
            (rc = vigie_buf_append(out, "\r\n", 2)) != VIGIE_OK)
            return rc;
    }
    if ((rc = vigie_buf_append(out, "\r\n", 2)) != VIGIE_OK)
        return rc;
    if (fw->body != NULL && fw->body_len > 0)
        return vigie_buf_append(out, fw->body, fw->body_len);
    return VIGIE_OK;
}

const char *http_status_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 417:
        return "Expectation Failed";
    case 421:
        return "Misdirected Request";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "";
    }
}

int http_write_response_head(struct vigie_buf *out, int status, const char *content_type,
                             uint64_t content_length, unsigned flags)
{
    int rc;

    if (status < 100 || status > 599)
        return VIGIE_ERR_INVAL;
    if (content_type != NULL && !safe_value(content_type, strlen(content_type)))
        return VIGIE_ERR_INVAL;
    if ((rc = vigie_buf_printf(out, "HTTP/1.1 %d %s\r\n", status, http_status_reason(status))) !=
        VIGIE_OK)
        return rc;
    if (content_type != NULL &&
        (rc = vigie_buf_printf(out, "Content-Type: %s\r\n", content_type)) != VIGIE_OK)
        return rc;
    if (content_length != HTTP_LENGTH_NONE &&
        (rc = vigie_buf_printf(out, "Content-Length: %" PRIu64 "\r\n", content_length)) != VIGIE_OK)
        return rc;
    if ((flags & HTTP_W_CLOSE) &&
        (rc = vigie_buf_append(out, "Connection: close\r\n", 19)) != VIGIE_OK)
        return rc;
    return vigie_buf_append(out, "\r\n", 2);
}

int http_write_continue(struct vigie_buf *out)
{
    return vigie_buf_append(out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
}

/* Messages, types and codes are short constants or configuration. */
#define HTTP_ERROR_BODY_MAX (64u * 1024)

int http_write_error_json(struct vigie_buf *out, int status, const char *message, const char *type,
                          const char *code, unsigned flags)
{
    struct vigie_buf body;
    int rc;

    if (message == NULL || type == NULL)
        return VIGIE_ERR_INVAL;
    vigie_buf_init(&body, HTTP_ERROR_BODY_MAX);
    if ((rc = vigie_buf_append(&body, "{\"error\":{\"message\":", 20)) != VIGIE_OK ||
        (rc = vigie_buf_json_str(&body, message, strlen(message))) != VIGIE_OK ||
        (rc = vigie_buf_append(&body, ",\"type\":", 8)) != VIGIE_OK ||
        (rc = vigie_buf_json_str(&body, type, strlen(type))) != VIGIE_OK ||
        (rc = vigie_buf_append(&body, ",\"code\":", 8)) != VIGIE_OK ||
        (rc = code != NULL ? vigie_buf_json_str(&body, code, strlen(code))
                           : vigie_buf_append(&body, "null", 4)) != VIGIE_OK ||
        (rc = vigie_buf_append(&body, "}}", 2)) != VIGIE_OK)
        goto fail;
    if ((rc = http_write_response_head(out, status, "application/json", body.len, flags)) !=
            VIGIE_OK ||
        (rc = vigie_buf_append(out, body.data, body.len)) != VIGIE_OK)
        goto fail;
    vigie_buf_free(&body);
    return VIGIE_OK;
fail:
    vigie_buf_free(&body);
    return rc;
}

int http_write_parse_error(struct vigie_buf *out, const struct http_parser *p)
{
    enum http_error e = http_parser_error(p);

    if (e == HTTP_E_NONE)
        return VIGIE_ERR_INVAL;
    return http_write_error_json(out, http_parser_error_status(p), http_error_message(e),
                                 p->kind == HTTP_RESPONSE ? "upstream_error"
                                                          : "invalid_request_error",
                                 http_error_code(e), HTTP_W_CLOSE);
}
