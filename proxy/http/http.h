/*
 * http: a strict HTTP/1.1 message parser and writer, for both directions of
 * the gateway (client requests in, upstream responses back).
 *
 * The parser is push-style and incremental: feed it whatever bytes a read
 * callback received, in any split, and it reports the same events with the
 * same results as if the message had arrived in one piece. It refuses, with a
 * precise reason and the status the gateway must answer, every ambiguity a
 * request-smuggling attack lives on (the malformed-request table of
 * research/reliability.md §3.2). Where the RFC allows "reject or repair", it
 * rejects. Every quantity is bounded by struct http_limits.
 *
 * The writer never copies a client's framing: each upstream request is rebuilt
 * from the parsed message with one Content-Length, no Transfer-Encoding and no
 * hop-by-hop header.
 *
 * http never performs I/O, never includes an event2/ header, never allocates
 * per byte (one bounded arena for the head, grown by doubling) and never
 * recurses. It never logs: a head holds credentials and a body holds prompts.
 */
#ifndef VIGIE_HTTP_H
#define VIGIE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

enum http_kind {
    HTTP_REQUEST = 0, /* a client's request: errors answer 4xx/5xx to the client */
    HTTP_RESPONSE     /* an upstream's answer: every error becomes 502 */
};

/* What one call of http_parse reports. */
enum http_result {
    HTTP_NEED_MORE = 0, /* every byte given was consumed; feed more */
    HTTP_HEAD_DONE,     /* the head is complete and valid: fields may be read */
    HTTP_BODY_CHUNK,    /* body bytes: http_parser_body(), borrowed from buf */
    HTTP_MESSAGE_DONE,  /* the message is complete; bytes after it are not consumed */
    HTTP_ERROR          /* refused: see http_parser_error*(); close the connection */
};

/* Why a message was refused. Each has one status and one constant message
 * (http_error_status, http_error_message) and a stable snake_case code for
 * JSON errors and audit records (http_error_code). */
enum http_error {
    HTTP_E_NONE = 0,
    HTTP_E_NOMEM,               /* 500: the head arena could not grow */
    HTTP_E_BARE_LF,             /* 400: a line ended by LF without CR (row 16) */
    HTTP_E_BARE_CR,             /* 400: a CR not followed by LF (row 15) */
    HTTP_E_REQUEST_LINE,        /* 400: not "method SP target SP version" (one SP each) */
    HTTP_E_METHOD,              /* 400: method is not a token (row 23) */
    HTTP_E_METHOD_UNKNOWN,      /* 501: a token, but no method we know (row 22) */
    HTTP_E_METHOD_NOT_ALLOWED,  /* 405: CONNECT, TRACE (row 22) */
    HTTP_E_TARGET,              /* 400: target not origin-form, bad byte, dot segment, %00 */
    HTTP_E_ABSOLUTE_FORM,       /* 400: absolute-form not for our own authority (row 21) */
    HTTP_E_VERSION,             /* 400: malformed HTTP-version (row 24) */
    HTTP_E_VERSION_UNSUPPORTED, /* 505: well-formed, but not 1.0 or 1.1 (row 24) */
    HTTP_E_LINE_TOO_LONG,       /* 414: request line over the limit (row 25) */
    HTTP_E_HEAD_TOO_LARGE,      /* 431: header section over the limit (row 26) */
    HTTP_E_TOO_MANY_FIELDS,     /* 431: more field lines than the limit (row 26) */
    HTTP_E_LEADING_WS,          /* 400: whitespace line before the first field (row 14) */
    HTTP_E_OBS_FOLD,            /* 400: a field line starting with SP or HTAB (row 13) */
    HTTP_E_FIELD_NAME,          /* 400: empty name or a non-tchar in it (row 18) */
    HTTP_E_SPACE_BEFORE_COLON,  /* 400: "Name : value" (row 12) */
    HTTP_E_NO_COLON,            /* 400: a field line without ':' (row 19) */
    HTTP_E_FIELD_VALUE,         /* 400: NUL or another CTL in a value (row 17) */
    HTTP_E_NAME_LOOKALIKE,      /* 400: "Transfer_Encoding" and its kind (row 46) */
    HTTP_E_HOST_MISSING,        /* 400: HTTP/1.1 without Host (row 20) */
    HTTP_E_HOST_DUPLICATE,      /* 400: two Host fields (row 20) */
    HTTP_E_HOST_INVALID,        /* 400: Host is not uri-host [":" port] (row 20) */
    HTTP_E_CL_INVALID,          /* 400: Content-Length not 1*DIGIT, or overflows (row 4) */
    HTTP_E_CL_DUPLICATE,        /* 400: two Content-Length, even equal (rows 2, 3) */
    HTTP_E_TE_CL,               /* 400: Transfer-Encoding with Content-Length (row 1) */
    HTTP_E_TE_DUPLICATE,        /* 400: chunked twice, or two TE fields (row 8) */
    HTTP_E_TE_NOT_CHUNKED,      /* 400: chunked is not the final coding (rows 6, 7, 10) */
    HTTP_E_TE_UNSUPPORTED,      /* 501: a coding before chunked (rows 9, 10) */
    HTTP_E_TE_HTTP10,           /* 400: Transfer-Encoding in an HTTP/1.0 request (row 11) */
    HTTP_E_BODY_NOT_ALLOWED,    /* 400: GET/HEAD with a body (row 36) */
    HTTP_E_EXPECT,              /* 417: Expect other than 100-continue (row 38) */
    HTTP_E_CONTENT_ENCODING,    /* 415: a coded request body we could not inspect (row 41) */
    HTTP_E_CONNECTION,          /* 400: Connection is not a list of tokens, or too long */
    HTTP_E_BODY_TOO_LARGE,      /* 413: body over the limit, found before reading it (34, 35) */
    HTTP_E_CHUNK_SIZE,          /* 400: chunk size not 1*HEXDIG (row 27, 32) */
    HTTP_E_CHUNK_SIZE_OVERFLOW, /* 400: more than 16 hex digits (row 28) */
    HTTP_E_CHUNK_EXT,           /* 400: malformed chunk extension (row 30) */
    HTTP_E_CHUNK_EXT_TOO_LONG,  /* 400: extensions over the byte or count limit (row 31) */
    HTTP_E_CHUNK_DATA_CRLF,     /* 400: chunk data not followed by CRLF (row 29) */
    HTTP_E_TRAILER_REFUSED,     /* 400: a trailer field when trailers are off (row 33) */
    HTTP_E_TRAILER_TOO_LARGE,   /* 431: trailer section over the limit */
    HTTP_E_TRUNCATED,           /* 400: the peer closed inside a message (row 32) */
    HTTP_E_STATUS_LINE,         /* 502: malformed status line */
    HTTP_E_INTERIM,             /* 502: 101 Switching Protocols, or too many 1xx */
    HTTP_E__COUNT
};

/* Every bound the parser enforces. Defaults from core/limits.h
 * (VIGIE_HTTP_*); the configuration may change any of them. */
struct http_limits {
    size_t line_max;        /* request or status line, CRLF included */
    size_t section_max;     /* header field lines and the final CRLF */
    size_t fields_max;      /* header field lines */
    uint64_t body_max;      /* body bytes (decoded, for chunked) */
    size_t chunk_ext_max;   /* extension bytes per chunk line; 0 refuses extensions */
    size_t chunk_ext_count; /* extensions per chunk line */
    size_t trailer_max;     /* trailer bytes read and discarded; 0 refuses trailers */
    /* Absolute-form request targets ("POST https://name/v1/... HTTP/1.1") are
     * refused unless their authority equals this name (case-insensitive);
     * then the target is taken as its path, and still never routed on. */
    const char *own_authority;
    int refuse_content_encoding; /* requests with Content-Encoding: 415 */
};

/* Fills l with the defaults for kind (a response's body limit is larger:
 * model answers stream long). */
void http_limits_default(struct http_limits *l, enum http_kind kind);

enum http_method {
    HTTP_M_UNKNOWN = 0,
    HTTP_M_GET,
    HTTP_M_HEAD,
    HTTP_M_POST,
    HTTP_M_PUT,
    HTTP_M_DELETE,
    HTTP_M_OPTIONS,
    HTTP_M_PATCH,
    HTTP_M_CONNECT, /* known, refused with 405 */
    HTTP_M_TRACE    /* known, refused with 405 */
};

/* Message flags, valid after HTTP_HEAD_DONE. */
#define HTTP_F_KEEP_ALIVE      0x01u /* the connection may carry another message */
#define HTTP_F_EXPECT_CONTINUE 0x02u /* HTTP/1.1 request with Expect: 100-continue */
#define HTTP_F_CHUNKED         0x04u /* body framed by chunked coding */
#define HTTP_F_LENGTH          0x08u /* body framed by Content-Length */
#define HTTP_F_UNTIL_CLOSE     0x10u /* response body ends when the upstream closes */
#define HTTP_F_UPGRADE         0x20u /* request asked for Upgrade: stripped, never honoured */
#define HTTP_F_NO_REUSE        0x40u /* framing anomaly or close: never reuse the connection */

/* One header field, borrowed from the parser's arena: valid from
 * HTTP_HEAD_DONE until http_parser_reset or http_parser_fini. The value has
 * no leading or trailing whitespace. */
struct http_field {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* Parser states, in the order a message goes through them. The chunk-line and
 * trailer states are byte-at-a-time; the head states collect whole lines in
 * the arena and judge each line when its LF arrives. */
enum http_state {
    HTTP_S_START = 0,        /* 0: nothing of this message yet */
    HTTP_S_START_LINE,       /* 1: collecting the request or status line */
    HTTP_S_FIELD_LINE,       /* 2: collecting a field line, or the empty line ending the head */
    HTTP_S_BODY_LENGTH,      /* 3: Content-Length body: body_left bytes to pass on */
    HTTP_S_BODY_CLOSE,       /* 4: response body delimited by the upstream's close */
    HTTP_S_CHUNK_SIZE0,      /* 5: first byte of a chunk-size line: must be a HEXDIG */
    HTTP_S_CHUNK_SIZE,       /* 6: more HEXDIG, ';' or CR */
    HTTP_S_CHUNK_EXT_NAME0,  /* 7: first byte of an extension name */
    HTTP_S_CHUNK_EXT_NAME,   /* 8: in an extension name */
    HTTP_S_CHUNK_EXT_VAL0,   /* 9: after '=': token or quoted-string */
    HTTP_S_CHUNK_EXT_TOKEN,  /* 10: in a token value */
    HTTP_S_CHUNK_EXT_QUOTED, /* 11: in a quoted-string value */
    HTTP_S_CHUNK_EXT_QPAIR,  /* 12: after a backslash in a quoted-string */
    HTTP_S_CHUNK_EXT_QEND,   /* 13: after the closing quote: ';' or CR */
    HTTP_S_CHUNK_SIZE_LF,    /* 14: CR of the chunk-size line seen; LF must follow */
    HTTP_S_CHUNK_DATA,       /* 15: chunk data: body_left bytes to pass on */
    HTTP_S_CHUNK_DATA_CR,    /* 16: CR must follow the data */
    HTTP_S_CHUNK_DATA_LF,    /* 17: LF must follow that CR */
    HTTP_S_TRAILER0,         /* 18: start of a trailer line, or CR of the final empty line */
    HTTP_S_TRAILER_NAME,     /* 19: in a trailer field name */
    HTTP_S_TRAILER_VALUE,    /* 20: in a trailer field value */
    HTTP_S_TRAILER_LF,       /* 21: CR after a trailer line seen; LF must follow */
    HTTP_S_TRAILER_END_LF,   /* 22: CR of the final empty line seen; LF must follow */
    HTTP_S_DONE,             /* 23: message complete; http_parser_reset for the next */
    HTTP_S_ERROR             /* 24: refused; stays here: nothing more is read */
};

struct http_span {
    uint32_t off, len;
};

struct http_fieldpos {
    struct http_span name, value;
};

/* The parser. Allocated by the caller (one per connection and direction);
 * every member is private: read it through the functions below. */
struct http_parser {
    unsigned magic;
    enum http_kind kind;
    enum http_state state;
    struct http_limits lim;
    struct vigie_buf arena;       /* the head's lines, as received */
    struct http_fieldpos *fields; /* spans into the arena */
    size_t nfields, fields_cap;
    size_t line_start;   /* arena offset of the line being collected */
    size_t section_used; /* header section bytes so far */
    /* start line */
    enum http_method method;
    struct http_span method_s, target_s, reason_s;
    int target_root;  /* absolute-form without a path: target is "/" */
    int version;      /* 10 or 11 */
    int status_code;  /* responses */
    unsigned interim; /* 1xx responses skipped */
    int head_request; /* responses: the request was HEAD */
    /* framing */
    unsigned flags;
    unsigned n_host, n_cl, n_te, n_expect;
    int conn_close, conn_keep_alive;
    unsigned conn_tokens;    /* tokens in Connection fields so far */
    uint64_t content_length; /* UINT64_MAX when absent */
    uint64_t body_left;      /* bytes left in this CL body or chunk */
    uint64_t body_total;     /* body bytes passed on so far */
    unsigned chunk_digits;
    size_t chunk_ext_len, chunk_ext_n;
    size_t trailer_used;
    /* the last BODY_CHUNK */
    const char *chunk;
    size_t chunk_len;
    enum http_error err;
};

/* Prepares p for a message of the given kind. limits may be NULL (the
 * defaults for kind); it is copied. Allocates nothing: the arena grows when
 * the first byte arrives. Pair with http_parser_fini. */
void http_parser_init(struct http_parser *p, enum http_kind kind, const struct http_limits *limits);

/* Wipes and frees the arena (a head holds credentials). Accepts a zeroed or
 * already finished parser. */
void http_parser_fini(struct http_parser *p);

/* Gets ready for the next message on the same connection (after
 * HTTP_MESSAGE_DONE), keeping the kind, the limits and the arena's memory;
 * the old head is wiped. A parser in HTTP_S_ERROR stays there: after an
 * error the connection must close (row 40). */
void http_parser_reset(struct http_parser *p);

/* Responses only: the request this response answers was HEAD, so it has no
 * body whatever its framing fields say. Call before feeding the response. */
void http_parser_set_head_request(struct http_parser *p, int is_head);

/* Feeds len bytes. Consumes bytes until an event and reports it; *consumed
 * (always <= len) tells how many, so the caller advances buf and calls again
 * with the rest: the result is the same whatever the split. HTTP_HEAD_DONE,
 * then zero or more HTTP_BODY_CHUNK, then HTTP_MESSAGE_DONE; an event that
 * needs no byte (MESSAGE_DONE after a bodiless head) is reported with
 * *consumed == 0, even when len == 0. After HTTP_MESSAGE_DONE nothing more is
 * consumed (pipelined bytes stay with the caller) until http_parser_reset.
 * After HTTP_ERROR nothing more is ever consumed. */
enum http_result http_parse(struct http_parser *p, const char *buf, size_t len, size_t *consumed);

/* The peer closed the connection. Returns HTTP_MESSAGE_DONE when that ends
 * the message (a close-delimited response body), HTTP_NEED_MORE when no
 * message was in progress (a clean close between messages), HTTP_ERROR
 * (HTTP_E_TRUNCATED) when a message was cut short. */
enum http_result http_parse_eof(struct http_parser *p);

/* After HTTP_BODY_CHUNK: the body bytes, pointing into the buf given to
 * http_parse (borrowed: copy them before the caller's buffer moves). */
const char *http_parser_body(const struct http_parser *p, size_t *len);

/* After HTTP_ERROR: the reason, the status to answer (a response parser's
 * errors are all 502) and a short constant message safe to send. */
enum http_error http_parser_error(const struct http_parser *p);
int http_parser_error_status(const struct http_parser *p);
const char *http_parser_error_message(const struct http_parser *p);
int http_error_status(enum http_error e);
const char *http_error_message(enum http_error e);
const char *http_error_code(enum http_error e);

/* The head, valid from HTTP_HEAD_DONE until reset or fini. */
enum http_method http_parser_method(const struct http_parser *p);
const char *http_parser_method_name(const struct http_parser *p, size_t *len);
/* Origin-form target (for an accepted absolute-form, its path and query). */
const char *http_parser_target(const struct http_parser *p, size_t *len);
int http_parser_version(const struct http_parser *p); /* 10 or 11 */
int http_parser_status(const struct http_parser *p);  /* responses: the final status */
unsigned http_parser_flags(const struct http_parser *p);
/* Content-Length, or UINT64_MAX when the message had none. */
uint64_t http_parser_content_length(const struct http_parser *p);
size_t http_parser_field_count(const struct http_parser *p);
/* Field i (0-based, in arrival order). Returns 0, or VIGIE_ERR_INVAL when i is
 * out of range. */
int http_parser_field(const struct http_parser *p, size_t i, struct http_field *f);
/* The first field named name (ASCII case-insensitive), or NULL; *len its
 * length. */
const char *http_parser_get(const struct http_parser *p, const char *name, size_t *len);

/* Whether a field of this name is hop-by-hop by itself (Connection,
 * Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding, Upgrade); the names a
 * Connection field lists are hop-by-hop too, see http_parser_conn_names. */
int http_is_hop_by_hop(const char *name, size_t len);
/* Whether the message's Connection fields name this field. */
int http_parser_conn_names(const struct http_parser *p, const char *name, size_t len);

/* How an upstream request is rebuilt. */
struct http_forward {
    const char *host;             /* Host sent upstream; NULL keeps the client's */
    const char *target;           /* NULL keeps the client's target */
    const char *client_addr;      /* the client's address, for X-Forwarded-For; NULL: none */
    int append_xff;               /* 1: keep the client's X-Forwarded-For chain and append;
                                     0 (default): drop every client X-Forwarded-* and Forwarded */
    const char *const *drop;      /* more names to drop (NULL-terminated), e.g. "authorization" */
    const struct http_field *add; /* fields to add (route credentials), n_add of them */
    size_t n_add;
    const char *body; /* appended after the head when not NULL */
    size_t body_len;  /* the (possibly rewritten) body's length: one Content-Length */
};

/* Writes the upstream request for the message p parsed (HTTP_HEAD_DONE or
 * later): "METHOD target HTTP/1.1", Host, the end-to-end fields in arrival
 * order, Content-Length (when there is a body or the method carries one),
 * X-Forwarded-For, the empty line, and the body when fw->body is set. Never
 * written: Connection and every name it lists, Keep-Alive, Proxy-*, TE,
 * Trailer, Transfer-Encoding, Upgrade, Content-Length, Host, Expect (the
 * gateway answered it), Accept-Encoding (answers must come back uncoded for
 * the stream filter). Returns 0, VIGIE_ERR_INVAL for a CR, LF or other CTL in
 * an fw string, or the vigie_buf error (out is then freed). */
int http_write_request(const struct http_parser *p, const struct http_forward *fw,
                       struct vigie_buf *out);

#define HTTP_LENGTH_NONE UINT64_MAX
#define HTTP_W_CLOSE     0x01u /* add "Connection: close" */

/* The reason phrase of a status ("Bad Request"), or "" for one we don't name. */
const char *http_status_reason(int status);

/* "HTTP/1.1 <status> <reason>", Content-Type when not NULL, Content-Length
 * unless HTTP_LENGTH_NONE, Connection: close with HTTP_W_CLOSE, empty line. */
int http_write_response_head(struct vigie_buf *out, int status, const char *content_type,
                             uint64_t content_length, unsigned flags);

/* "HTTP/1.1 100 Continue": send only after HTTP_HEAD_DONE, so that a request
 * refused on its head gets its final status without a 100 first (row 37). */
int http_write_continue(struct vigie_buf *out);

/* A complete JSON error response in the OpenAI shape:
 * {"error":{"message":...,"type":...,"code":...}} with its Content-Length.
 * code may be NULL (written as null). */
int http_write_error_json(struct vigie_buf *out, int status, const char *message, const char *type,
                          const char *code, unsigned flags);

/* The JSON error for a parser in HTTP_ERROR: its status, message and code,
 * type "invalid_request_error" (or "upstream_error" for a response parser),
 * and Connection: close. */
int http_write_parse_error(struct vigie_buf *out, const struct http_parser *p);

#endif
