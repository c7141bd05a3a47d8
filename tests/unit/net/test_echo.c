/*
 * echo: each endpoint answers as the contract says, streamed and not; the
 * streamed deltas add up to the non-streamed answer and never cut a UTF-8
 * character; tools get a tool call; bad requests get a 400; and vigie's own
 * stream filter passes the echo's streams through unchanged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/api.h"
#include "net/echo.h"
#include "test.h"

/* ---- helpers ---------------------------------------------------------------------- */

static json_t *load(const char *s, size_t n)
{
    json_error_t e;
    json_t *j = json_loadb(s, n, JSON_REJECT_DUPLICATES, &e);

    if (j == NULL)
        T_FAIL("not JSON (%s): %.*s", e.text, (int)(n > 300 ? 300 : n), s);
    return j;
}

/* The echo's answer to body, parsed (non-streamed); the raw reply in *r. */
static json_t *ask(enum policy_endpoint ep, const char *body, struct echo_reply *r)
{
    int rc = echo_reply(ep, body, strlen(body), r);

    if (rc != VIGIE_OK || r->body.data == NULL) {
        T_FAIL("echo_reply: %d", rc);
        return NULL;
    }
    return load(r->body.data, r->body.len);
}

/* A streamed answer split into its events: every event is "data: X\n\n";
 * the JSON ones go in *events (an array), and the stream must end with
 * exactly one data: [DONE]. */
static json_t *events_of(const struct echo_reply *r)
{
    const char *p = r->body.data, *end = p + r->body.len;
    json_t *events = json_array();
    int done = 0;

    T_EQ_INT(r->status, 200);
    T_EQ_STR(r->content_type, "text/event-stream");
    T_ASSERT(r->stream);
    while (p < end) {
        const char *sep = strstr(p, "\n\n");

        if (sep == NULL || strncmp(p, "data: ", 6) != 0 || done) {
            T_FAIL("bad event at byte %zu", (size_t)(p - r->body.data));
            break;
        }
        if (sep - p == 12 && strncmp(p, "data: [DONE]", 12) == 0)
            done = 1;
        else
            json_array_append_new(events, load(p + 6, (size_t)(sep - p - 6)));
        p = sep + 2;
    }
    T_ASSERT(done);
    return events;
}

/* The value at path: "a.b.0.c", objects by key, arrays by index. */
static const json_t *at(const json_t *j, const char *path)
{
    char key[64];
    const char *p = path;

    while (j != NULL && *p != '\0') {
        size_t n = strcspn(p, ".");

        snprintf(key, sizeof(key), "%.*s", (int)n, p);
        if (json_is_array(j))
            j = json_array_get(j, strtoul(key, NULL, 10));
        else
            j = json_object_get(j, key);
        p += n + (p[n] == '.');
    }
    return j;
}

static const char *str_at(const json_t *j, const char *path)
{
    return json_string_value(at(j, path));
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

/* Concatenation of the text field at path of every event that has it;
 * checks each piece is at most 7 bytes and starts on a character. */
static void concat(const json_t *events, const char *path, struct vigie_buf *out, size_t *n)
{
    const json_t *ev;
    size_t i;

    *n = 0;
    json_array_foreach(events, i, ev) {
        const json_t *t = at(ev, path);
        const char *s = json_string_value(t);
        size_t l = json_string_length(t);

        if (s == NULL || l == 0)
            continue;
        (*n)++;
        T_ASSERT(l <= 7);
        T_ASSERT(((unsigned char)s[0] & 0xc0) != 0x80);
        vigie_buf_append(out, s, l);
    }
}

/* The stream filter with no pseudonyms to restore passes the stream as it
 * came, whatever the cut of the reads. */
static void through_filter(const struct echo_reply *r)
{
    static const size_t cuts[] = {1, 3, 7, 64, 100000};
    size_t c;

    for (c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
        struct api_stream *s = api_sse_new(NULL, NULL);
        struct vigie_buf out;
        struct api_error err;
        struct api_usage u;
        size_t pos, n;
        int rc = VIGIE_OK;

        vigie_buf_init(&out, 1 << 24);
        for (pos = 0; pos < r->body.len && rc == VIGIE_OK; pos += n) {
            n = r->body.len - pos < cuts[c] ? r->body.len - pos : cuts[c];
            rc = api_stream_feed(s, r->body.data + pos, n, &out, &err);
        }
        if (rc == VIGIE_OK)
            rc = api_stream_finish(s, &out, &err);
        T_EQ_INT(rc, VIGIE_OK);
        T_ASSERT(out.len == r->body.len && memcmp(out.data, r->body.data, out.len) == 0);
        api_stream_usage(s, &u);
        (void)u;
        api_stream_free(s);
        vigie_buf_free(&out);
    }
}

static int is_hex16(const char *s)
{
    size_t i;

    for (i = 0; i < 16; i++)
        if (!s[i] || !strchr("0123456789abcdef", s[i]))
            return 0;
    return s[16] == '\0';
}

/* ---- chat ----------------------------------------------------------------------------- */

#define CHAT_MESSAGES                                                                     \
    "\"messages\":["                                                                      \
    "{\"role\":\"system\",\"content\":\"sys\"},"                                          \
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"part one\"},"          \
    "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:x\"}},"                        \
    "{\"type\":\"text\",\"text\":\"part two\"}]},"                                        \
    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":"   \
    "\"function\",\"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\"q\\\":\\\"x\\\"}\"}}]}," \
    "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"result\"},"                 \
    "{\"role\":\"user\",\"content\":\"mail [EMAIL_1] \\u00e9t\\u00e9 \\u20ac \\ud83d\\ude00 ok\"}]"

static const char *chat_content = "system: sys\n"
                                  "user: part one part two\n"
                                  "assistant: tool_call lookup {\"q\":\"x\"}\n"
                                  "tool: result\n"
                                  "user: mail [EMAIL_1] \xc3\xa9t\xc3\xa9 \xe2\x82\xac "
                                  "\xf0\x9f\x98\x80 ok";

static void test_chat(void)
{
    const char *body = "{\"model\":\"onprem-llm\",\"temperature\":0.7,\"n\":1e2," CHAT_MESSAGES "}";
    struct echo_reply r;
    json_t *j = ask(POLICY_EP_CHAT, body, &r), *sent;
    char id[64];
    size_t prompt = 3 + 8 + 8 + 6 + 9 + 6 + strlen("mail [EMAIL_1] \xc3\xa9t\xc3\xa9 \xe2\x82\xac "
                                                  "\xf0\x9f\x98\x80 ok");

    if (j == NULL)
        return;
    T_EQ_INT(r.status, 200);
    T_EQ_STR(r.content_type, "application/json");
    T_ASSERT(!r.stream);
    T_EQ_STR(str_at(j, "object"), "chat.completion");
    T_EQ_STR(str_at(j, "model"), "onprem-llm");
    snprintf(id, sizeof(id), "%s", nz(str_at(j, "id")));
    T_ASSERT(strncmp(id, "chatcmpl-echo-", 14) == 0 && is_hex16(id + 14));
    T_EQ_STR(str_at(j, "choices.0.message.role"), "assistant");
    T_EQ_STR(str_at(j, "choices.0.message.content"), chat_content);
    T_EQ_STR(str_at(j, "choices.0.finish_reason"), "stop");
    T_EQ_INT(json_integer_value(at(j, "usage.prompt_tokens")), (prompt + 3) / 4);
    T_EQ_INT(json_integer_value(at(j, "usage.completion_tokens")), (strlen(chat_content) + 3) / 4);
    T_EQ_INT(json_integer_value(at(j, "usage.total_tokens")),
             (prompt + 3) / 4 + (strlen(chat_content) + 3) / 4);
    /* vigie_echo.received is the body, byte for byte: 0.7 and 1e2 as sent. */
    sent = load(body, strlen(body));
    T_ASSERT(json_equal(at(j, "vigie_echo.received"), sent));
    T_CONTAINS(r.body.data, body);
    json_decref(sent);
    json_decref(j);
    echo_reply_free(&r);
    echo_reply_free(&r); /* twice is fine */

    /* The same body always gets the same id. */
    j = ask(POLICY_EP_CHAT, body, &r);
    T_EQ_STR(str_at(j, "id"), id);
    json_decref(j);
    echo_reply_free(&r);
}

static void test_chat_stream(void)
{
    const char *body = "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
        CHAT_MESSAGES "}";
    struct echo_reply r;
    struct vigie_buf text;
    json_t *events;
    size_t n, pieces, i;
    int split = 0;

    T_EQ_INT(echo_reply(POLICY_EP_CHAT, body, strlen(body), &r), VIGIE_OK);
    events = events_of(&r);
    n = json_array_size(events);
    T_ASSERT(n > 4);
    if (n <= 4)
        goto out;
    /* Role first, then content pieces, the finish, the usage. */
    T_EQ_STR(str_at(events, "0.choices.0.delta.role"), "assistant");
    T_EQ_STR(str_at(events, "0.object"), "chat.completion.chunk");
    T_EQ_STR(str_at(events, "0.model"), "m");
    vigie_buf_init(&text, 1 << 20);
    concat(events, "choices.0.delta.content", &text, &pieces);
    T_ASSERT(text.data != NULL && strcmp(text.data, chat_content) == 0);
    T_EQ_INT(pieces, n - 3);
    T_ASSERT(pieces >= strlen(chat_content) / 7);
    vigie_buf_free(&text);
    for (i = 1; i + 2 < n; i++) {
        const char *s = str_at(json_array_get(events, i), "choices.0.delta.content");

        split |= s != NULL && strstr(s, "[EMAIL_1]") == NULL && strchr(s, '[') != NULL;
        T_ASSERT(json_is_null(at(json_array_get(events, i), "choices.0.finish_reason")));
    }
    T_ASSERT(split); /* the placeholder is cut across events */
    T_EQ_STR(str_at(events, "0.id"), str_at(json_array_get(events, n - 1), "id"));
    T_EQ_STR(str_at(json_array_get(events, n - 2), "choices.0.finish_reason"), "stop");
    T_EQ_INT(json_array_size(at(json_array_get(events, n - 1), "choices")), 0);
    T_EQ_INT(json_integer_value(at(json_array_get(events, n - 1), "usage.completion_tokens")),
             (strlen(chat_content) + 3) / 4);
    T_ASSERT(strstr(r.body.data, "vigie_echo") == NULL);
    through_filter(&r);
out:
    json_decref(events);
    echo_reply_free(&r);
}

/* Texts made of 2-, 3- and 4-byte characters at every offset: no piece
 * starts inside a character and the pieces add up to the text. */
static void test_utf8_pieces(void)
{
    static const char *const units[] = {"\\u00e9", "\\u20ac", "\\ud83d\\ude00"};
    char body[2048], raw[1024];
    size_t u, shift, k;

    for (u = 0; u < 3; u++) {
        for (shift = 0; shift < 7; shift++) {
            struct echo_reply r, plain;
            struct vigie_buf text;
            json_t *events, *j;
            size_t pieces, len;

            len = (size_t)snprintf(body, sizeof(body),
                                   "{\"stream\":true,\"messages\":[{\"role\":\"u\",\"content\":\"%.*s",
                                   (int)shift, "abcdefg");
            for (k = 0; k < 20; k++)
                len += (size_t)snprintf(body + len, sizeof(body) - len, "%s", units[u]);
            snprintf(body + len, sizeof(body) - len, "\"}]}");
            T_EQ_INT(echo_reply(POLICY_EP_CHAT, body, strlen(body), &r), VIGIE_OK);
            events = events_of(&r);
            vigie_buf_init(&text, 1 << 20);
            concat(events, "choices.0.delta.content", &text, &pieces);
            /* the same request, not streamed */
            memcpy(body + 10, "null", 4);
            j = ask(POLICY_EP_CHAT, body, &plain);
            snprintf(raw, sizeof(raw), "%s", nz(str_at(j, "choices.0.message.content")));
            T_ASSERT(text.data != NULL && strcmp(text.data, raw) == 0);
            T_ASSERT(pieces > 1);
            through_filter(&r);
            vigie_buf_free(&text);
            json_decref(events);
            json_decref(j);
            echo_reply_free(&r);
            echo_reply_free(&plain);
        }
    }
}

static void test_tools(void)
{
    const char *body =
        "{\"model\":\"m\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"search\","
        "\"parameters\":{}}},{\"type\":\"function\",\"function\":{\"name\":\"other\"}}],"
        "\"messages\":[{\"role\":\"user\",\"content\":\"first\"},"
        "{\"role\":\"assistant\",\"content\":\"a\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"say \\\"hi\\\"\"},"
        "{\"type\":\"text\",\"text\":\"\\u00e9\\u00e9\\u00e9\\u00e9 [EMAIL_2]\"}]}]}";
    const char *sbody =
        "{\"model\":\"m\",\"stream\":true,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"search\","
        "\"parameters\":{}}},{\"type\":\"function\",\"function\":{\"name\":\"other\"}}],"
        "\"messages\":[{\"role\":\"user\",\"content\":\"first\"},"
        "{\"role\":\"assistant\",\"content\":\"a\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"say \\\"hi\\\"\"},"
        "{\"type\":\"text\",\"text\":\"\\u00e9\\u00e9\\u00e9\\u00e9 [EMAIL_2]\"}]}]}";
    struct echo_reply r;
    struct vigie_buf args;
    json_t *j = ask(POLICY_EP_CHAT, body, &r), *a, *events;
    const char *want;
    size_t pieces, n;

    if (j == NULL)
        return;
    T_ASSERT(json_is_null(at(j, "choices.0.message.content")));
    T_EQ_STR(str_at(j, "choices.0.finish_reason"), "tool_calls");
    T_EQ_STR(str_at(j, "choices.0.message.tool_calls.0.type"), "function");
    T_EQ_STR(str_at(j, "choices.0.message.tool_calls.0.function.name"), "search");
    T_ASSERT(strncmp(nz(str_at(j, "choices.0.message.tool_calls.0.id")), "call_echo_", 10) == 0);
    want = str_at(j, "choices.0.message.tool_calls.0.function.arguments");
    a = want ? load(want, strlen(want)) : NULL;
    T_EQ_STR(str_at(a, "echo"), "say \"hi\" \xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 [EMAIL_2]");
    T_EQ_INT(json_object_size(a), 1);
    json_decref(a);
    T_ASSERT(json_integer_value(at(j, "usage.completion_tokens")) ==
             (long long)(strlen(want ? want : "") + 3) / 4);

    echo_reply_free(&r);
    T_EQ_INT(echo_reply(POLICY_EP_CHAT, sbody, strlen(sbody), &r), VIGIE_OK);
    events = events_of(&r);
    n = json_array_size(events);
    T_EQ_STR(str_at(events, "0.choices.0.delta.role"), "assistant");
    T_EQ_STR(str_at(events, "1.choices.0.delta.tool_calls.0.function.name"), "search");
    T_ASSERT(strncmp(nz(str_at(events, "1.choices.0.delta.tool_calls.0.id")), "call_echo_",
                     10) == 0);
    vigie_buf_init(&args, 1 << 20);
    concat(events, "choices.0.delta.tool_calls.0.function.arguments", &args, &pieces);
    T_ASSERT(args.data != NULL && want != NULL && strcmp(args.data, want) == 0);
    T_ASSERT(pieces > 3);
    T_EQ_STR(str_at(json_array_get(events, n - 1), "choices.0.finish_reason"), "tool_calls");
    through_filter(&r);
    vigie_buf_free(&args);
    json_decref(events);
    json_decref(j);
    echo_reply_free(&r);
}

/* ---- completions and embeddings ----------------------------------------------------------- */

static void test_completions(void)
{
    const char *body = "{\"model\":\"c\",\"prompt\":[\"line one\",\"deux \\u00e9\",[1,2]]}";
    const char *sbody = "{\"model\":\"c\",\"stream\":true,\"prompt\":\"just one prompt, long enough\"}";
    struct echo_reply r;
    struct vigie_buf text;
    json_t *j = ask(POLICY_EP_COMPLETIONS, body, &r), *events;
    size_t pieces, n;
    const char *id;

    if (j == NULL)
        return;
    T_EQ_STR(str_at(j, "object"), "text_completion");
    T_EQ_STR(str_at(j, "choices.0.text"), "line one\ndeux \xc3\xa9\n[1,2]");
    T_EQ_STR(str_at(j, "choices.0.finish_reason"), "stop");
    T_EQ_STR(str_at(j, "model"), "c");
    id = str_at(j, "id");
    T_ASSERT(id != NULL && strncmp(id, "cmpl-echo-", 10) == 0 && is_hex16(id + 10));
    T_EQ_INT(json_integer_value(at(j, "usage.prompt_tokens")), (8 + 7 + 5 + 3) / 4);
    T_EQ_STR(str_at(j, "vigie_echo.received.prompt.0"), "line one");
    json_decref(j);
    echo_reply_free(&r);

    T_EQ_INT(echo_reply(POLICY_EP_COMPLETIONS, sbody, strlen(sbody), &r), VIGIE_OK);
    events = events_of(&r);
    n = json_array_size(events);
    vigie_buf_init(&text, 1 << 20);
    concat(events, "choices.0.text", &text, &pieces);
    T_EQ_STR(text.data, "just one prompt, long enough");
    T_EQ_INT(pieces, n - 1); /* no role chunk, no usage chunk */
    T_EQ_STR(str_at(json_array_get(events, n - 1), "choices.0.finish_reason"), "stop");
    T_EQ_STR(str_at(events, "0.object"), "text_completion");
    T_ASSERT(json_array_get(events, n - 1) && at(json_array_get(events, n - 1), "usage") == NULL);
    through_filter(&r);
    vigie_buf_free(&text);
    json_decref(events);
    echo_reply_free(&r);

    /* An empty prompt still streams a finish and [DONE]. */
    T_EQ_INT(echo_reply(POLICY_EP_COMPLETIONS, "{\"prompt\":\"\",\"stream\":true}",
                         strlen("{\"prompt\":\"\",\"stream\":true}"), &r),
             VIGIE_OK);
    events = events_of(&r);
    T_EQ_INT(json_array_size(events), 1);
    T_EQ_STR(str_at(events, "0.model"), "echo");
    json_decref(events);
    echo_reply_free(&r);
}

static void test_embeddings(void)
{
    const char *list = "{\"model\":\"e\",\"input\":[\"alpha\",\"beta\",\"alpha\"],\"stream\":true}";
    const char *one = "{\"model\":\"e\",\"input\":\"alpha\"}";
    const char *toks = "{\"model\":\"e\",\"input\":[1,2,3]}";
    struct echo_reply r;
    json_t *j = ask(POLICY_EP_EMBEDDINGS, list, &r), *k;
    size_t i, d;

    if (j == NULL)
        return;
    T_EQ_STR(r.content_type, "application/json");
    T_EQ_STR(str_at(j, "object"), "list");
    T_EQ_STR(str_at(j, "model"), "e");
    T_EQ_INT(json_array_size(at(j, "data")), 3);
    for (i = 0; i < 3; i++) {
        const json_t *v = at(json_array_get(at(j, "data"), i), "embedding");

        T_EQ_STR(str_at(json_array_get(at(j, "data"), i), "object"), "embedding");
        T_EQ_INT(json_integer_value(at(json_array_get(at(j, "data"), i), "index")), i);
        T_EQ_INT(json_array_size(v), 8);
        for (d = 0; d < 8; d++) {
            double x = json_number_value(json_array_get(v, d));

            T_ASSERT(json_is_number(json_array_get(v, d)) && x >= -1 && x <= 1);
        }
    }
    T_ASSERT(json_equal(at(j, "data.0.embedding"), at(j, "data.2.embedding")));
    T_ASSERT(!json_equal(at(j, "data.0.embedding"), at(j, "data.1.embedding")));
    T_EQ_INT(json_integer_value(at(j, "usage.prompt_tokens")), (5 + 4 + 5 + 3) / 4);
    T_EQ_INT(json_integer_value(at(j, "usage.total_tokens")), (5 + 4 + 5 + 3) / 4);
    T_ASSERT(json_is_object(at(j, "vigie_echo.received")));
    echo_reply_free(&r);

    k = ask(POLICY_EP_EMBEDDINGS, one, &r);
    T_EQ_INT(json_array_size(at(k, "data")), 1);
    T_ASSERT(json_equal(at(j, "data.0.embedding"), at(k, "data.0.embedding")));
    json_decref(k);
    echo_reply_free(&r);
    k = ask(POLICY_EP_EMBEDDINGS, toks, &r);
    T_EQ_INT(json_array_size(at(k, "data")), 1); /* token ids: one input */
    json_decref(k);
    echo_reply_free(&r);
    json_decref(j);
}

/* ---- refusals ------------------------------------------------------------------------------- */

static void expect_error(enum policy_endpoint ep, const char *body, int status, const char *code)
{
    struct echo_reply r;
    json_t *j = ask(ep, body, &r);

    T_EQ_INT(r.status, status);
    T_EQ_STR(r.content_type, "application/json");
    T_EQ_STR(str_at(j, "error.type"), "invalid_request_error");
    T_EQ_STR(str_at(j, "error.code"), code);
    T_ASSERT(str_at(j, "error.message") != NULL);
    /* The message never quotes the body. */
    T_ASSERT(strstr(r.body.data, "s3cret") == NULL);
    json_decref(j);
    echo_reply_free(&r);
}

static void test_errors(void)
{
    struct echo_reply r;

    expect_error(POLICY_EP_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"s3cret", 400,
                 "invalid_json");
    expect_error(POLICY_EP_CHAT, "s3cret", 400, "invalid_json");
    expect_error(POLICY_EP_CHAT, "", 400, "invalid_json");
    expect_error(POLICY_EP_CHAT, "[\"s3cret\"]", 400, "invalid_json");
    expect_error(POLICY_EP_CHAT, "{\"a\":1,\"a\":2}", 400, "invalid_json");
    expect_error(POLICY_EP_CHAT, "{\"prompt\":\"s3cret\"}", 400, "missing_field");
    expect_error(POLICY_EP_CHAT, "{\"messages\":\"s3cret\"}", 400, "missing_field");
    expect_error(POLICY_EP_CHAT, "{\"messages\":[\"s3cret\"]}", 400, "missing_field");
    expect_error(POLICY_EP_COMPLETIONS, "{\"messages\":[]}", 400, "missing_field");
    expect_error(POLICY_EP_COMPLETIONS, "{\"prompt\":null}", 400, "missing_field");
    expect_error(POLICY_EP_EMBEDDINGS, "{\"prompt\":\"s3cret\"}", 400, "missing_field");
    expect_error(POLICY_EP_MODELS, "{}", 404, "unknown_url");

    /* No messages is an empty conversation, not an error. */
    T_EQ_INT(echo_reply(POLICY_EP_CHAT, "{\"messages\":[]}", strlen("{\"messages\":[]}"), &r), VIGIE_OK);
    T_EQ_INT(r.status, 200);
    echo_reply_free(&r);
    T_EQ_INT(echo_reply(POLICY_EP_CHAT, NULL, 0, &r), VIGIE_OK);
    T_EQ_INT(r.status, 400);
    echo_reply_free(&r);
}

int main(void)
{
    api_init();
    T_RUN(test_chat);
    T_RUN(test_chat_stream);
    T_RUN(test_utf8_pieces);
    T_RUN(test_tools);
    T_RUN(test_completions);
    T_RUN(test_embeddings);
    T_RUN(test_errors);
    return T_DONE();
}
