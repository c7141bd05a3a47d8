/*
 * echo: the built-in model. Reads the forwarded body with jansson, writes
 * the answer by hand into one bounded buffer (the received body is spliced
 * in byte for byte: re-serialising it would change its numbers).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "api/api.h"
#include "net/echo.h"

/* Bytes of answer text per streamed event: small, so that a pseudonym
 * ("[EMAIL_1]") is always cut across events and the stream filter's
 * hold-back is exercised by every demo. */
#define PIECE 7u
/* The most an answer may be: what vigie accepts from any upstream. */
#define REPLY_MAX VIGIE_HTTP_RESPONSE_BODY_MAX

/* What the echo read from a request. */
struct req {
    enum policy_endpoint ep;
    const char *body; /* the received bytes */
    size_t len;
    json_t *root;
    const char *model;
    int stream, include_usage;
    struct vigie_buf text; /* the answer: content, completion text or tool arguments */
    const char *tool;      /* chat with tools: the tool called; NULL otherwise */
    size_t prompt_bytes;   /* received text, for usage */
    char hex[17];          /* 16 hex digits of a SHA-256 of the body */
};

/* An output buffer with a sticky error: after one failed append (which
 * frees the buffer) every later one is skipped. */
struct out {
    struct vigie_buf *b;
    int rc;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->rc == VIGIE_OK)
        o->rc = vigie_buf_append(o->b, s, n);
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void put_json(struct out *o, const char *s, size_t n)
{
    if (o->rc == VIGIE_OK)
        o->rc = vigie_buf_json_str(o->b, s, n);
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct out *o, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    VIGIE_ASSERT(n >= 0 && (size_t)n < sizeof(tmp)); /* numbers and ids only */
    put(o, tmp, (size_t)n);
}

static int dump_cb(const char *s, size_t n, void *data)
{
    struct out *o = data;

    put(o, s, n);
    return o->rc == VIGIE_OK ? 0 : -1;
}

/* A JSON value as compact text (token lists and other non-string inputs). */
static void put_compact(struct out *o, const json_t *j)
{
    if (o->rc == VIGIE_OK && json_dump_callback(j, dump_cb, o, JSON_COMPACT | JSON_ENCODE_ANY) &&
        o->rc == VIGIE_OK)
        o->rc = VIGIE_ERR_NOMEM;
}

static size_t tokens(size_t bytes)
{
    return (bytes + 3) / 4;
}

static void sha256(const void *p, size_t n, unsigned char md[32])
{
    unsigned int mdlen = 0;

    VIGIE_ASSERT(EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen == 32);
}

/* ---- reading the request ------------------------------------------------------------ */

/* Appends a message's content: a string, or its text parts joined with a
 * space. Counts the text in *bytes. */
static void content_text(struct out *o, const json_t *content, size_t *bytes)
{
    const json_t *part;
    size_t i, n = 0;

    if (json_is_string(content)) {
        put(o, json_string_value(content), json_string_length(content));
        *bytes += json_string_length(content);
        return;
    }
    json_array_foreach(content, i, part) {
        const json_t *t = json_object_get(part, "text");

        if (!json_is_string(t))
            continue; /* images, audio, files: not text */
        if (n++ > 0)
            put(o, " ", 1);
        put(o, json_string_value(t), json_string_length(t));
        *bytes += json_string_length(t);
    }
}

/* "<role>: tool_call <name> <arguments>" for a {name, arguments} object. */
static void tool_call_line(struct out *o, const char *role, const json_t *fn, size_t *bytes)
{
    const json_t *name = json_object_get(fn, "name"), *args = json_object_get(fn, "arguments");

    puts_(o, role);
    puts_(o, ": tool_call ");
    if (json_is_string(name)) {
        put(o, json_string_value(name), json_string_length(name));
        *bytes += json_string_length(name);
    }
    puts_(o, " ");
    if (json_is_string(args)) {
        put(o, json_string_value(args), json_string_length(args));
        *bytes += json_string_length(args);
    } else if (args != NULL) {
        put_compact(o, args);
    }
}

/* One message's lines, each preceded by a newline unless it is the first. */
static void message_lines(struct out *o, const json_t *m, int *first, size_t *bytes)
{
    const char *role = json_string_value(json_object_get(m, "role"));
    const json_t *content = json_object_get(m, "content");
    const json_t *calls = json_object_get(m, "tool_calls"), *fc = json_object_get(m, "function_call");
    const json_t *call;
    size_t i, ncalls = json_is_array(calls) ? json_array_size(calls) : 0;

    if (role == NULL)
        role = "unknown";
    /* A message that only calls tools has no text line (its content is null). */
    if ((content != NULL && !json_is_null(content)) || (ncalls == 0 && fc == NULL)) {
        puts_(o, *first ? "" : "\n");
        puts_(o, role);
        puts_(o, ": ");
        content_text(o, content, bytes);
        *first = 0;
    }
    json_array_foreach(calls, i, call) {
        puts_(o, *first ? "" : "\n");
        tool_call_line(o, role, json_object_get(call, "function"), bytes);
        *first = 0;
    }
    if (json_is_object(fc)) {
        puts_(o, *first ? "" : "\n");
        tool_call_line(o, role, fc, bytes);
        *first = 0;
    }
}

/* The answer to a chat request: the messages, or a call of the first tool
 * with {"echo": <last user text>}. VIGIE_OK, VIGIE_ERR_PARSE (a 400: *why
 * says what is missing) or an error of the text buffer. */
static int read_chat(struct req *q, const char **why)
{
    const json_t *msgs = json_object_get(q->root, "messages"), *tools, *m, *last = NULL;
    struct out o = {&q->text, VIGIE_OK};
    struct vigie_buf user;
    size_t i, ignored = 0;
    int first = 1;

    if (!json_is_array(msgs)) {
        *why = "the request has no messages array";
        return VIGIE_ERR_PARSE;
    }
    json_array_foreach(msgs, i, m) {
        const char *role = json_string_value(json_object_get(m, "role"));

        if (!json_is_object(m)) {
            *why = "a message is not an object";
            return VIGIE_ERR_PARSE;
        }
        if (role != NULL && strcmp(role, "user") == 0)
            last = m;
    }
    tools = json_object_get(q->root, "tools");
    if (!json_is_array(tools) || json_array_size(tools) == 0) {
        json_array_foreach(msgs, i, m)
            message_lines(&o, m, &first, &q->prompt_bytes);
        return o.rc;
    }
    /* Tools: the messages still count as prompt; the answer is the call. */
    vigie_buf_init(&user, VIGIE_API_OUT_MAX);
    o.b = &user;
    json_array_foreach(msgs, i, m)
        message_lines(&o, m, &first, &q->prompt_bytes);
    vigie_buf_reset(&user);
    if (last != NULL)
        content_text(&o, json_object_get(last, "content"), &ignored);
    q->tool = json_string_value(
        json_object_get(json_object_get(json_array_get(tools, 0), "function"), "name"));
    if (q->tool == NULL)
        q->tool = "tool";
    o.b = &q->text;
    puts_(&o, "{\"echo\":");
    put_json(&o, user.data ? user.data : "", user.len);
    puts_(&o, "}");
    vigie_buf_free(&user);
    return o.rc;
}

/* One item of a prompt or input list: a string as it is, anything else
 * (token ids) as compact JSON. Counts the bytes in *bytes. */
static void item_text(struct out *o, const json_t *item, size_t *bytes)
{
    size_t from = o->b->len;

    if (json_is_string(item))
        put(o, json_string_value(item), json_string_length(item));
    else
        put_compact(o, item);
    if (o->rc == VIGIE_OK)
        *bytes += o->b->len - from;
}

/* The completion text: the prompt, a list's items joined by newlines. */
static int read_completions(struct req *q, const char **why)
{
    const json_t *prompt = json_object_get(q->root, "prompt"), *item;
    struct out o = {&q->text, VIGIE_OK};
    size_t i;

    if (json_is_string(prompt)) {
        item_text(&o, prompt, &q->prompt_bytes);
        return o.rc;
    }
    if (!json_is_array(prompt)) {
        *why = "the request has no prompt";
        return VIGIE_ERR_PARSE;
    }
    json_array_foreach(prompt, i, item) {
        if (i > 0)
            put(&o, "\n", 1);
        item_text(&o, item, &q->prompt_bytes);
    }
    return o.rc;
}

/* ---- writing answers ---------------------------------------------------------------- */

static void put_head(struct out *o, const struct req *q, const char *object)
{
    putf(o, "{\"id\":\"%s-echo-%s\",\"object\":\"%s\",\"created\":0,\"model\":",
         q->ep == POLICY_EP_CHAT ? "chatcmpl" : "cmpl", q->hex, object);
    put_json(o, q->model, strlen(q->model));
}

static void put_usage(struct out *o, const struct req *q)
{
    size_t p = tokens(q->prompt_bytes), c = tokens(q->text.len);

    putf(o, "\"usage\":{\"prompt_tokens\":%zu,\"completion_tokens\":%zu,\"total_tokens\":%zu}", p,
         c, p + c);
}

static void put_received(struct out *o, const struct req *q)
{
    puts_(o, ",\"vigie_echo\":{\"received\":");
    put(o, q->body, q->len);
    puts_(o, "}}");
}

static void put_tool_call(struct out *o, const struct req *q, int with_id)
{
    puts_(o, "{");
    if (with_id)
        putf(o, "\"id\":\"call_echo_%s\",\"type\":\"function\",", q->hex);
    puts_(o, "\"function\":{\"name\":");
    put_json(o, q->tool, strlen(q->tool));
    puts_(o, ",\"arguments\":");
    put_json(o, q->text.data ? q->text.data : "", q->text.len);
    puts_(o, "}}");
}

static void full_chat(struct out *o, const struct req *q)
{
    put_head(o, q, "chat.completion");
    puts_(o, ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":");
    if (q->tool != NULL) {
        puts_(o, "null,\"tool_calls\":[");
        put_tool_call(o, q, 1);
        puts_(o, "]},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],");
    } else {
        put_json(o, q->text.data ? q->text.data : "", q->text.len);
        puts_(o, "},\"logprobs\":null,\"finish_reason\":\"stop\"}],");
    }
    put_usage(o, q);
    put_received(o, q);
}

static void full_completion(struct out *o, const struct req *q)
{
    put_head(o, q, "text_completion");
    puts_(o, ",\"choices\":[{\"index\":0,\"text\":");
    put_json(o, q->text.data ? q->text.data : "", q->text.len);
    puts_(o, ",\"logprobs\":null,\"finish_reason\":\"stop\"}],");
    put_usage(o, q);
    put_received(o, q);
}

/* The end of the piece starting at pos: PIECE bytes on, stepped back to the
 * start of a UTF-8 character so that no event carries half of one. */
static size_t piece_end(const char *s, size_t len, size_t pos)
{
    size_t end = len - pos > PIECE ? pos + PIECE : len;

    while (end < len && end > pos && ((unsigned char)s[end] & 0xc0) == 0x80)
        end--;
    /* Only invalid UTF-8 (a run of continuation bytes) gets here. */
    return end > pos ? end : (len - pos > PIECE ? pos + PIECE : len);
}

/* "data: {head,"choices":[{"index":0,<choice>...}]}\n\n": the opening. */
static void chunk_open(struct out *o, const struct req *q)
{
    puts_(o, "data: ");
    put_head(o, q, q->ep == POLICY_EP_CHAT ? "chat.completion.chunk" : "text_completion");
    puts_(o, ",\"choices\":[{\"index\":0,");
}

static void chunk_close(struct out *o, const char *finish)
{
    putf(o, ",\"logprobs\":null,\"finish_reason\":%s}]}\n\n", finish);
}

/* One piece of answer text as the choice of a chunk. */
static void put_piece(struct out *o, const struct req *q, const char *s, size_t n)
{
    if (q->ep == POLICY_EP_COMPLETIONS) {
        puts_(o, "\"text\":");
        put_json(o, s, n);
    } else if (q->tool != NULL) {
        puts_(o, "\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":");
        put_json(o, s, n);
        puts_(o, "}}]}");
    } else {
        puts_(o, "\"delta\":{\"content\":");
        put_json(o, s, n);
        puts_(o, "}");
    }
}

/* chat: the role chunk, and with tools the call's id and name. */
static void stream_start(struct out *o, const struct req *q)
{
    if (q->ep != POLICY_EP_CHAT)
        return;
    chunk_open(o, q);
    puts_(o, "\"delta\":{\"role\":\"assistant\",\"content\":");
    puts_(o, q->tool != NULL ? "null}" : "\"\"}");
    chunk_close(o, "null");
    if (q->tool == NULL)
        return;
    chunk_open(o, q);
    puts_(o, "\"delta\":{\"tool_calls\":[{\"index\":0,");
    putf(o, "\"id\":\"call_echo_%s\",\"type\":\"function\",\"function\":{\"name\":", q->hex);
    put_json(o, q->tool, strlen(q->tool));
    puts_(o, ",\"arguments\":\"\"}}]}");
    chunk_close(o, "null");
}

static void stream_answer(struct out *o, const struct req *q)
{
    const char *s = q->text.data ? q->text.data : "";
    size_t pos, end;

    stream_start(o, q);
    for (pos = 0; pos < q->text.len && o->rc == VIGIE_OK; pos = end) {
        end = piece_end(s, q->text.len, pos);
        chunk_open(o, q);
        put_piece(o, q, s + pos, end - pos);
        chunk_close(o, "null");
    }
    chunk_open(o, q);
    if (q->ep == POLICY_EP_COMPLETIONS)
        puts_(o, "\"text\":\"\"");
    else
        puts_(o, "\"delta\":{}");
    chunk_close(o, q->tool != NULL ? "\"tool_calls\"" : "\"stop\"");
    if (q->include_usage) {
        puts_(o, "data: ");
        put_head(o, q, q->ep == POLICY_EP_CHAT ? "chat.completion.chunk" : "text_completion");
        puts_(o, ",\"choices\":[],");
        put_usage(o, q);
        puts_(o, "}\n\n");
    }
    puts_(o, "data: [DONE]\n\n");
}

/* One input's vector: the 8 big-endian 32-bit words of its SHA-256, mapped
 * to [-1, 1]. */
static void put_vector(struct out *o, const char *s, size_t n)
{
    unsigned char md[32];
    size_t i;

    sha256(s, n, md);
    for (i = 0; i < 8; i++) {
        unsigned long w = (unsigned long)md[4 * i] << 24 | (unsigned long)md[4 * i + 1] << 16 |
                          (unsigned long)md[4 * i + 2] << 8 | md[4 * i + 3];

        putf(o, "%s%.6f", i ? "," : "[", (double)w / 4294967295.0 * 2.0 - 1.0);
    }
    puts_(o, "]");
}

/* 1 when input is a non-empty list of numbers: token ids, one input. */
static int token_list(const json_t *input)
{
    const json_t *item;
    size_t i;

    json_array_foreach(input, i, item)
        if (!json_is_number(item))
            return 0;
    return json_array_size(input) > 0;
}

/* The i-th input, or NULL past the last: a string is one input, and so is
 * a token list; any other list is one input per item. */
static const json_t *input_at(const json_t *input, int tokens_list, size_t i)
{
    if (json_is_array(input) && !tokens_list)
        return json_array_get(input, i);
    return i == 0 ? input : NULL;
}

/* Embeddings: one vector per input. */
static int full_embeddings(struct out *o, struct req *q, const char **why)
{
    const json_t *input = json_object_get(q->root, "input"), *item;
    struct vigie_buf one;
    struct out t = {&one, VIGIE_OK};
    size_t i, p;
    int tl = token_list(input);

    if (!json_is_string(input) && !json_is_array(input)) {
        *why = "the request has no input";
        return VIGIE_ERR_PARSE;
    }
    puts_(o, "{\"object\":\"list\",\"data\":[");
    vigie_buf_init(&one, VIGIE_API_OUT_MAX);
    for (i = 0; t.rc == VIGIE_OK && (item = input_at(input, tl, i)) != NULL; i++) {
        vigie_buf_reset(&one);
        item_text(&t, item, &q->prompt_bytes);
        putf(o, "%s{\"object\":\"embedding\",\"index\":%zu,\"embedding\":", i ? "," : "", i);
        put_vector(o, one.data ? one.data : "", one.len);
        puts_(o, "}");
    }
    vigie_buf_free(&one);
    p = tokens(q->prompt_bytes);
    puts_(o, "],\"model\":");
    put_json(o, q->model, strlen(q->model));
    putf(o, ",\"usage\":{\"prompt_tokens\":%zu,\"total_tokens\":%zu}", p, p);
    put_received(o, q);
    return t.rc != VIGIE_OK ? t.rc : o->rc;
}

/* ---- entry points ---------------------------------------------------------------------- */

static int error_reply(struct echo_reply *r, int status, const char *msg, const char *code)
{
    struct out o = {&r->body, VIGIE_OK};

    vigie_buf_free(&r->body);
    vigie_buf_init(&r->body, REPLY_MAX);
    r->status = status;
    r->content_type = "application/json";
    r->stream = 0;
    puts_(&o, "{\"error\":{\"message\":");
    put_json(&o, msg, strlen(msg));
    putf(&o, ",\"type\":\"invalid_request_error\",\"code\":\"%s\"}}", code);
    return o.rc;
}

/* Parses the body into q: VIGIE_OK, or VIGIE_ERR_PARSE with the message of
 * a 400 answer in msg. */
static int read_request(struct req *q, char *msg, size_t msgsz)
{
    const json_t *model, *so;
    json_error_t e;

    q->root = json_loadb(q->body, q->len, JSON_REJECT_DUPLICATES, &e);
    if (q->root == NULL) {
        /* The position only: jansson's text may quote the body. */
        snprintf(msg, msgsz, "the request body is not valid JSON (line %d, column %d)", e.line,
                 e.column);
        return VIGIE_ERR_PARSE;
    }
    if (!json_is_object(q->root)) {
        snprintf(msg, msgsz, "the request body is not a JSON object");
        return VIGIE_ERR_PARSE;
    }
    model = json_object_get(q->root, "model");
    q->model = json_is_string(model) ? json_string_value(model) : "echo";
    q->stream = q->ep != POLICY_EP_EMBEDDINGS && json_is_true(json_object_get(q->root, "stream"));
    so = json_object_get(q->root, "stream_options");
    q->include_usage = json_is_true(json_object_get(so, "include_usage"));
    return VIGIE_OK;
}

static void set_hex(struct req *q)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[32];
    size_t i;

    sha256(q->body, q->len, md);
    for (i = 0; i < 8; i++) {
        q->hex[2 * i] = digits[md[i] >> 4];
        q->hex[2 * i + 1] = digits[md[i] & 15];
    }
    q->hex[16] = '\0';
}

/* Reads the request and writes the whole answer into out->body. */
static int answer(struct req *q, struct echo_reply *out, const char **why)
{
    struct out o = {&out->body, VIGIE_OK};
    int rc = VIGIE_OK;

    if (q->ep == POLICY_EP_CHAT)
        rc = read_chat(q, why);
    else if (q->ep == POLICY_EP_COMPLETIONS)
        rc = read_completions(q, why);
    if (rc != VIGIE_OK)
        return rc;
    out->status = 200;
    out->content_type = q->stream ? "text/event-stream" : "application/json";
    out->stream = q->stream;
    if (q->ep == POLICY_EP_EMBEDDINGS)
        return full_embeddings(&o, q, why);
    if (q->stream)
        stream_answer(&o, q);
    else if (q->ep == POLICY_EP_CHAT)
        full_chat(&o, q);
    else
        full_completion(&o, q);
    return o.rc;
}

int echo_reply(enum policy_endpoint ep, const char *body, size_t len, struct echo_reply *out)
{
    struct req q;
    const char *why = NULL;
    char msg[160];
    int rc;

    api_init();
    memset(out, 0, sizeof(*out));
    if (ep != POLICY_EP_CHAT && ep != POLICY_EP_COMPLETIONS && ep != POLICY_EP_EMBEDDINGS)
        return error_reply(out, 404, "the echo model does not serve this endpoint",
                           "unknown_url");
    if (len > VIGIE_API_OUT_MAX)
        return error_reply(out, 413, "the request body is too large", "body");
    memset(&q, 0, sizeof(q));
    q.ep = ep;
    q.body = body ? body : "";
    q.len = len;
    vigie_buf_init(&q.text, VIGIE_API_OUT_MAX);
    vigie_buf_init(&out->body, REPLY_MAX);
    set_hex(&q);
    rc = read_request(&q, msg, sizeof(msg));
    if (rc == VIGIE_OK)
        rc = answer(&q, out, &why);
    if (rc == VIGIE_ERR_PARSE) /* the request's fault: an answer, not an error */
        rc = error_reply(out, 400, why ? why : msg, why ? "missing_field" : "invalid_json");
    vigie_buf_free(&q.text);
    json_decref(q.root);
    if (rc != VIGIE_OK)
        echo_reply_free(out);
    return rc;
}

void echo_reply_free(struct echo_reply *r)
{
    if (r == NULL)
        return;
    vigie_buf_free(&r->body);
    r->status = 0;
    r->stream = 0;
}
