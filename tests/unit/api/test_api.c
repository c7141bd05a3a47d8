/*
 * api: every text a model reads is found; rewrites are spliced byte for
 * byte; hostile JSON is refused before it can hurt; answers and streams get
 * their pseudonyms back, even when a token is cut across events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "api/api.h"
#include "test.h"

static struct detect_set *rules;
static struct detect_scanner *sc;
static struct detect_revmap *map; /* [EMAIL_1] .. [EMAIL_12] -> u1@example.fr .. */

/* One pack of our own, not the shipped rules: the test is about tokens, and
 * a small pack loads fast and the same way on a loaded machine. */
static const char *pack = "pack: t\ndetectors:\n"
                          "  - id: t.email\n    category: contact.email\n"
                          "    description: d\n    label: EMAIL\n"
                          "    pattern: '[a-z0-9.]+@[a-z]+\\.fr'\n    trigger: at\n"
                          "    action: pseudonymise\n"
                          "    examples: {match: [a.b@example.fr], no_match: ['a@b']}\n"
                          "  - id: t.ref\n    category: customs.ref\n"
                          "    description: d\n    label: REF\n"
                          "    pattern: 'REF-[0-9]{4}'\n    trigger: digits\n"
                          "    action: pseudonymise\n    pseudonym: keyed\n"
                          "    examples: {match: [REF-1234], no_match: ['REF-12']}\n";
static const unsigned char key[32] = "0123456789abcdef0123456789abcdef";
static char keyed[64]; /* the [REF_<hex>] token of REF-1234 */

static void setup(void)
{
    struct detect_mask_opts opts = {key, sizeof(key), NULL, NULL, 0};
    struct vigie_diag d;
    struct vigie_buf text, out;
    int blocked = 0, i;
    const char *tok, *val;
    size_t tl, vl;

    api_init();
    vigie_diag_init(&d);
    rules = detect_set_new();
    if (detect_set_add_pack(rules, "t.yaml", pack, strlen(pack), &d) != VIGIE_OK ||
        detect_set_finish(rules, &d) != VIGIE_OK) {
        for (i = 0; i < (int)d.n; i++)
            fprintf(stderr, "%s\n", d.msgs[i]);
        exit(1);
    }
    vigie_diag_free(&d);
    sc = detect_scanner_new(rules, 1 << 20);
    map = detect_revmap_new();
    vigie_buf_init(&text, 1 << 20);
    vigie_buf_init(&out, 1 << 20);
    for (i = 1; i <= 12; i++)
        vigie_buf_printf(&text, "u%d@example.fr ", i);
    vigie_buf_printf(&text, "REF-1234");
    if (detect_redact(sc, text.data, text.len, &opts, map, &out, &blocked) != VIGIE_OK ||
        detect_revmap_count(map) != 13) {
        fprintf(stderr, "map setup failed: %s\n", out.data ? out.data : "");
        exit(1);
    }
    detect_revmap_entry(map, 12, &tok, &tl, &val, &vl);
    snprintf(keyed, sizeof(keyed), "%.*s", (int)tl, tok);
    vigie_buf_free(&text);
    vigie_buf_free(&out);
}

static struct api_body *req(enum policy_endpoint ep, const char *body, struct api_error *err)
{
    struct api_body *b = NULL;
    struct api_error e;

    if (api_request_parse(ep, body, strlen(body), NULL, &b, err ? err : &e) != VIGIE_OK)
        return NULL;
    return b;
}

static const char *text_at(const struct api_body *b, size_t i, char *buf, size_t n)
{
    const struct policy_text *t = api_body_texts(b);

    snprintf(buf, n, "%.*s", (int)t[i].len, t[i].s);
    return buf;
}

static const char *path_at(const struct api_body *b, size_t i)
{
    struct api_text_info info;

    api_body_text_info(b, i, &info);
    return info.path;
}

/* ---- request texts --------------------------------------------------------------- */

static void test_chat_texts(void)
{
    const char *body =
        "{\"model\":\"gpt-x\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
        "\"messages\":["
        "{\"role\":\"system\",\"content\":\"sys prompt\"},"
        "{\"role\":\"developer\",\"content\":\"dev prompt\"},"
        "{\"role\":\"user\",\"name\":\"alice\",\"content\":["
        "{\"type\":\"text\",\"text\":\"part one\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,AAAA\"}},"
        "{\"type\":\"text\",\"text\":\"part two\"}]},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":"
        "\"function\",\"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\"q\\\":\\\"x\\\"}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"tool result\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"description\":"
        "\"Look up\",\"parameters\":{\"type\":\"object\",\"properties\":{\"q\":{\"type\":"
        "\"string\",\"description\":\"the query\"}}}}}],"
        "\"unknown\":{\"content\":\"not read\"}}";
    static const char *const want[][2] = {
        {"/messages/0/content", "sys prompt"},
        {"/messages/1/content", "dev prompt"},
        {"/messages/2/name", "alice"},
        {"/messages/2/content/0/text", "part one"},
        {"/messages/2/content/2/text", "part two"},
        {"/messages/3/tool_calls/0/function/name", "lookup"},
        {"/messages/3/tool_calls/0/function/arguments", "{\"q\":\"x\"}"},
        {"/messages/4/content", "tool result"},
        {"/tools/0/function/name", "lookup"},
        {"/tools/0/function/description", "Look up"},
        {"/tools/0/function/parameters", "object"},
        {"/tools/0/function/parameters", "string"},
        {"/tools/0/function/parameters", "the query"},
    };
    struct api_body *b = req(POLICY_EP_CHAT, body, NULL);
    struct api_request_info info;
    struct api_text_info ti;
    char buf[256];
    size_t i;

    T_ASSERT(b != NULL);
    if (b == NULL)
        return;
    T_EQ_INT(api_body_ntexts(b), sizeof(want) / sizeof(want[0]));
    for (i = 0; i < api_body_ntexts(b) && i < sizeof(want) / sizeof(want[0]); i++) {
        T_EQ_STR(path_at(b, i), want[i][0]);
        T_EQ_STR(text_at(b, i, buf, sizeof(buf)), want[i][1]);
    }
    api_body_text_info(b, 6, &ti);
    T_EQ_INT(ti.kind, API_TEXT_TOOL_ARGS);
    T_EQ_STR(ti.role, "assistant");
    T_EQ_INT(ti.message, 3);
    api_body_text_info(b, 7, &ti);
    T_EQ_STR(ti.role, "tool");
    api_body_text_info(b, 12, &ti);
    T_EQ_INT(ti.kind, API_TEXT_TOOL_SPEC);
    api_body_request_info(b, &info);
    T_EQ_STR(info.model, "gpt-x");
    T_EQ_INT(info.stream, 1);
    T_EQ_INT(info.include_usage, 1);
    T_EQ_INT(info.nmessages, 5);
    T_EQ_INT(info.nmedia, 1);
    T_EQ_INT(api_body_changed(b), 0);
    api_body_free(b);
}

static void test_chat_legacy_and_schema(void)
{
    const char *body =
        "{\"messages\":[{\"role\":\"assistant\",\"function_call\":{\"name\":\"f\",\"arguments\":"
        "\"{}\"}},{\"role\":\"assistant\",\"content\":[{\"type\":\"refusal\",\"refusal\":\"no\"}]}],"
        "\"functions\":[{\"name\":\"f\",\"description\":\"does f\"}],"
        "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"n\","
        "\"description\":\"schema desc\",\"schema\":{\"enum\":[\"A\",\"B\"]}}}}";
    struct api_body *b = req(POLICY_EP_CHAT, body, NULL);
    char buf[64];

    T_ASSERT(b != NULL);
    if (b == NULL)
        return;
    T_EQ_INT(api_body_ntexts(b), 8);
    T_EQ_STR(path_at(b, 1), "/messages/0/function_call/arguments");
    T_EQ_STR(path_at(b, 2), "/messages/1/content/0/refusal");
    T_EQ_STR(text_at(b, 2, buf, sizeof(buf)), "no");
    T_EQ_STR(path_at(b, 4), "/functions/0/description");
    T_EQ_STR(path_at(b, 5), "/response_format/json_schema/description");
    T_EQ_STR(text_at(b, 7, buf, sizeof(buf)), "B");
    api_body_free(b);
}

static void test_completions_and_embeddings(void)
{
    struct api_limits lim;
    struct api_request_info info;
    struct api_error err;
    struct api_body *b;
    char buf[64];

    b = req(POLICY_EP_COMPLETIONS, "{\"model\":\"m\",\"prompt\":\"once\",\"suffix\":\"end\"}", NULL);
    T_ASSERT(b != NULL && api_body_ntexts(b) == 2);
    if (b != NULL) {
        T_EQ_STR(path_at(b, 0), "/prompt");
        T_EQ_STR(path_at(b, 1), "/suffix");
    }
    api_body_free(b);
    b = req(POLICY_EP_COMPLETIONS, "{\"prompt\":[\"a\",\"bb\",\"ccc\"]}", NULL);
    T_ASSERT(b != NULL && api_body_ntexts(b) == 3);
    if (b != NULL) {
        T_EQ_STR(path_at(b, 2), "/prompt/2");
        T_EQ_STR(text_at(b, 2, buf, sizeof(buf)), "ccc");
    }
    api_body_free(b);
    b = req(POLICY_EP_EMBEDDINGS, "{\"input\":\"embed me\"}", NULL);
    T_ASSERT(b != NULL && api_body_ntexts(b) == 1);
    if (b != NULL)
        T_EQ_STR(path_at(b, 0), "/input");
    api_body_free(b);
    b = req(POLICY_EP_EMBEDDINGS, "{\"input\":[\"x\",\"y\"]}", NULL);
    T_ASSERT(b != NULL && api_body_ntexts(b) == 2);
    api_body_free(b);

    /* Token ids cannot be inspected: refused by default, flagged on request. */
    T_ASSERT(req(POLICY_EP_EMBEDDINGS, "{\"input\":[1,2,3]}", &err) == NULL);
    T_EQ_INT(err.why, API_WHY_UNINSPECTABLE);
    T_EQ_INT(api_why_status(err.why), 422);
    T_CONTAINS(err.msg, "/input");
    T_ASSERT(req(POLICY_EP_COMPLETIONS, "{\"prompt\":[[1,2],[3]]}", &err) == NULL);
    T_EQ_INT(err.why, API_WHY_UNINSPECTABLE);
    T_CONTAINS(err.msg, "/prompt/0");
    api_limits_default(&lim);
    lim.allow_uninspectable = 1;
    {
        const char *body = "{\"input\":[\"text\",[5,6]]}";
        T_EQ_INT(api_request_parse(POLICY_EP_EMBEDDINGS, body, strlen(body), &lim, &b, &err),
                 VIGIE_OK);
        api_body_request_info(b, &info);
        T_EQ_INT(info.nuninspectable, 1);
        T_EQ_STR(info.uninspectable, "/input/1");
        T_EQ_INT(api_body_ntexts(b), 1);
        api_body_free(b);
    }
    T_ASSERT(req(POLICY_EP_EMBEDDINGS, "{\"model\":\"m\"}", &err) == NULL);
    T_EQ_INT(err.why, API_WHY_TYPE);
    /* An unknown content part type is not passed unread. */
    T_ASSERT(req(POLICY_EP_CHAT,
                 "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"mystery\"}]}]}",
                 &err) == NULL);
    T_EQ_INT(err.why, API_WHY_UNINSPECTABLE);
}

/* ---- refusals ----------------------------------------------------------------------- */

static void expect_refused(enum policy_endpoint ep, const char *body, enum api_why why)
{
    struct api_error err;
    struct api_body *b = NULL;
    int rc = api_request_parse(ep, body, strlen(body), NULL, &b, &err);

    if (rc == VIGIE_OK || b != NULL || err.why != why)
        T_FAIL("body %.60s: rc %d why %s (%s), expected %s", body, rc, api_why_name(err.why),
               err.msg, api_why_name(why));
    api_body_free(b);
}

static void test_refusals(void)
{
    const enum policy_endpoint C = POLICY_EP_CHAT;

    expect_refused(C, "{\"messages\":[{\"role\":\"user\",\"content\":\"a\",\"content\":\"b\"}]}",
                   API_WHY_DUPLICATE);
    /* The same key spelled with an escape is the same key. */
    expect_refused(C, "{\"messages\":[],\"m\\u0065ssages\":[]}", API_WHY_DUPLICATE);
    expect_refused(C, "{\"messages\":[],\"x\":{\"a\":{\"b\":[{\"k\":1,\"k\":2}]}}}",
                   API_WHY_DUPLICATE);
    expect_refused(C, "{\"messages\":[", API_WHY_JSON);
    expect_refused(C, "{\"messages\":[],\"t\":NaN}", API_WHY_JSON);
    expect_refused(C, "{\"messages\":[],\"t\":Infinity}", API_WHY_JSON);
    expect_refused(C, "{\"messages\":[],\"t\":\"\\u0000\"}", API_WHY_JSON);
    expect_refused(C, "{\"messages\":[],\"t\":\"\xc0\xaf\"}", API_WHY_JSON);
    expect_refused(C, "{\"messages\":[],\"t\":1e400}", API_WHY_JSON);
    expect_refused(C, "[]", API_WHY_TYPE);
    expect_refused(C, "{\"messages\":{}}", API_WHY_TYPE);
    expect_refused(C, "{\"messages\":[{\"role\":\"user\",\"content\":42}]}", API_WHY_TYPE);
    expect_refused(C, "{\"messages\":[\"hello\"]}", API_WHY_TYPE);
    expect_refused(C, "{\"model\":7,\"messages\":[]}", API_WHY_TYPE);
    expect_refused(C, "{\"stream\":\"yes\",\"messages\":[]}", API_WHY_TYPE);
    expect_refused(C, "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":"
                      "{\"arguments\":{}}}]}]}",
                   API_WHY_TYPE);
    expect_refused(C, "{\"messages\":[{\"content\":[{\"type\":\"text\",\"text\":5}]}]}",
                   API_WHY_TYPE);
}

static char *nested(size_t depth, const char *inner)
{
    size_t il = strlen(inner), i;
    char *s = malloc(2 * depth + il + 32);

    memcpy(s, "{\"messages\":[],\"x\":", 19);
    for (i = 0; i < depth; i++)
        s[19 + i] = '[';
    memcpy(s + 19 + depth, inner, il);
    for (i = 0; i < depth; i++)
        s[19 + depth + il + i] = ']';
    memcpy(s + 19 + 2 * depth + il, "}", 2);
    return s;
}

static void test_depth_and_size(void)
{
    struct api_error err;
    struct api_limits lim;
    struct api_body *b = NULL;
    char *s;
    size_t n;
    clock_t t0;

    /* The root object is level 1: 63 arrays inside it make 64. */
    s = nested(63, "1");
    T_EQ_INT(api_request_parse(POLICY_EP_CHAT, s, strlen(s), NULL, &b, &err), VIGIE_OK);
    api_body_free(b);
    b = NULL;
    free(s);
    s = nested(64, "1");
    T_EQ_INT(api_request_parse(POLICY_EP_CHAT, s, strlen(s), NULL, &b, &err), VIGIE_ERR_PARSE);
    T_EQ_INT(err.why, API_WHY_TOO_DEEP);
    T_EQ_INT(api_why_status(err.why), 400);
    free(s);
    /* Brackets inside strings are text, not nesting. */
    s = nested(10, "\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[\"");
    T_EQ_INT(api_request_parse(POLICY_EP_CHAT, s, strlen(s), NULL, &b, &err), VIGIE_OK);
    api_body_free(b);
    b = NULL;
    free(s);
    /* A 1 MB bomb of '[' is refused at once, before jansson recurses. */
    n = 1u << 20;
    s = malloc(n + 1);
    memset(s, '[', n);
    s[n] = '\0';
    t0 = clock();
    T_EQ_INT(api_request_parse(POLICY_EP_CHAT, s, n, NULL, &b, &err), VIGIE_ERR_PARSE);
    T_EQ_INT(err.why, API_WHY_TOO_DEEP);
    T_ASSERT((double)(clock() - t0) / CLOCKS_PER_SEC < 0.5);
    memset(s, '{', n); /* and of '{' */
    T_EQ_INT(api_request_parse(POLICY_EP_CHAT, s, n, NULL, &b, &err), VIGIE_ERR_PARSE);
    T_EQ_INT(err.why, API_WHY_TOO_DEEP);
    free(s);
    /* Size. */
    api_limits_default(&lim);
    lim.body_max = 16;
    T_EQ_INT(api_request_parse(POLICY_EP_CHAT, "{\"messages\":[ ]} ", 17, &lim, &b, &err),
             VIGIE_ERR_TOO_BIG);
    T_EQ_INT(err.why, API_WHY_TOO_BIG);
    T_EQ_INT(api_why_status(err.why), 413);
    lim.body_max = VIGIE_API_BODY_MAX;
    lim.texts_max = 2;
    {
        const char *body = "{\"prompt\":[\"a\",\"b\",\"c\"]}";
        T_EQ_INT(api_request_parse(POLICY_EP_COMPLETIONS, body, strlen(body), &lim, &b, &err),
                 VIGIE_ERR_TOO_BIG);
        T_EQ_INT(err.why, API_WHY_TOO_MANY_TEXTS);
    }
}

/* ---- rewrite ----------------------------------------------------------------------------- */

static char *write_body(struct api_body *b)
{
    struct vigie_buf out = {0};
    struct api_error err;
    char *r = NULL;

    if (api_body_write(b, &out, &err) == VIGIE_OK)
        r = strdup(out.data ? out.data : "");
    else
        T_FAIL("write failed: %s", err.msg);
    vigie_buf_free(&out);
    return r;
}

static void test_rewrite_exact(void)
{
    /* Numbers, spacing, key order and unknown fields come out as they went in. */
    const char *body = "{ \"model\" : \"m1\", \"temperature\":0.7,\"big\":1e2,\n"
                       "  \"messages\": [ {\"role\":\"user\", \"content\" : \"mail a@b.fr now\"},"
                       "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"t\\u00e9l \\/ 1\"}]}"
                       " ], \"zzz\": [1.10, true, null] }";
    struct api_body *b = req(POLICY_EP_CHAT, body, NULL);
    const char *repl = "mail [EMAIL_1] \"now\"\n";
    char *out;

    T_ASSERT(b != NULL);
    if (b == NULL)
        return;
    T_EQ_INT(api_body_ntexts(b), 2);
    T_EQ_INT(api_body_set_text(b, 0, "mail a@b.fr now", 15), VIGIE_OK);
    T_EQ_INT(api_body_changed(b), 0); /* same value: no change */
    T_EQ_INT(api_body_set_text(b, 0, repl, strlen(repl)), VIGIE_OK);
    T_EQ_INT(api_body_changed(b), 1);
    T_EQ_INT(api_body_texts(b)[0].len, strlen(repl));
    out = write_body(b);
    T_EQ_STR(out, "{ \"model\" : \"m1\", \"temperature\":0.7,\"big\":1e2,\n"
                  "  \"messages\": [ {\"role\":\"user\", \"content\" : \"mail [EMAIL_1] \\\"now\\\"\\n\"},"
                  "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"t\\u00e9l \\/ 1\"}]}"
                  " ], \"zzz\": [1.10, true, null] }");
    free(out);
    /* The second text (a part, written with escapes) and a reroute. */
    T_EQ_INT(api_body_set_text(b, 1, "tél [X]", strlen("tél [X]")), VIGIE_OK);
    T_EQ_INT(api_request_set_model(b, "internal-7b"), VIGIE_OK);
    out = write_body(b);
    T_EQ_STR(out, "{ \"model\" : \"internal-7b\", \"temperature\":0.7,\"big\":1e2,\n"
                  "  \"messages\": [ {\"role\":\"user\", \"content\" : \"mail [EMAIL_1] \\\"now\\\"\\n\"},"
                  "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"tél [X]\"}]}"
                  " ], \"zzz\": [1.10, true, null] }");
    free(out);
    api_body_free(b);

    /* A model that was absent is added as the first member. */
    b = req(POLICY_EP_EMBEDDINGS, "{ \"input\":[\"a\", \"b@c.fr\"]}", NULL);
    T_ASSERT(b != NULL);
    if (b == NULL)
        return;
    T_EQ_INT(api_request_set_model(b, "local"), VIGIE_OK);
    T_EQ_INT(api_body_set_text(b, 1, "[EMAIL]", 7), VIGIE_OK);
    out = write_body(b);
    T_EQ_STR(out, "{\"model\":\"local\", \"input\":[\"a\", \"[EMAIL]\"]}");
    free(out);
    api_body_free(b);

    /* policy_decision's arrays apply as they are. */
    b = req(POLICY_EP_COMPLETIONS, "{\"prompt\":[\"x\",\"y\",\"z\"]}", NULL);
    {
        struct vigie_buf t[3];
        int changed[3] = {0, 1, 0};
        int i;
        for (i = 0; i < 3; i++)
            vigie_buf_init(&t[i], 64);
        vigie_buf_append(&t[1], "Y!", 2);
        T_EQ_INT(api_body_apply(b, t, changed, 3), VIGIE_OK);
        out = write_body(b);
        T_EQ_STR(out, "{\"prompt\":[\"x\",\"Y!\",\"z\"]}");
        free(out);
        for (i = 0; i < 3; i++)
            vigie_buf_free(&t[i]);
    }
    api_body_free(b);
}

static void test_rewrite_schema_strings(void)
{
    /* Strings deep in a schema, including keys that look like ours. */
    const char *body = "{\"messages\":[],\"tools\":[{\"type\":\"function\",\"function\":{"
                       "\"name\":\"f\",\"parameters\":{\"properties\":{\"content\":{\"description\":"
                       "\"a@b.fr\"},\"x\":{\"enum\":[\"p\",\"a@b.fr\"]}}}}}]}";
    struct api_body *b = req(POLICY_EP_CHAT, body, NULL);
    char *out;

    T_ASSERT(b != NULL && api_body_ntexts(b) == 4);
    if (b == NULL)
        return;
    T_EQ_INT(api_body_set_text(b, 1, "[E]", 3), VIGIE_OK);
    T_EQ_INT(api_body_set_text(b, 3, "[F]", 3), VIGIE_OK);
    out = write_body(b);
    T_EQ_STR(out, "{\"messages\":[],\"tools\":[{\"type\":\"function\",\"function\":{"
                  "\"name\":\"f\",\"parameters\":{\"properties\":{\"content\":{\"description\":"
                  "\"[E]\"},\"x\":{\"enum\":[\"p\",\"[F]\"]}}}}}]}");
    free(out);
    api_body_free(b);
}

/* ---- answers ----------------------------------------------------------------------------- */

static void test_response_restore(void)
{
    const char *body =
        "{\"id\":\"r1\",\"object\":\"chat.completion\",\"created\":1700000000,\"choices\":["
        "{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Write to [EMAIL_1] "
        "or [EMAIL_12], not [EMAIL_99].\",\"tool_calls\":[{\"id\":\"t\",\"type\":\"function\","
        "\"function\":{\"name\":\"send\",\"arguments\":\"{\\\"to\\\":\\\"[EMAIL_2]\\\"}\"}}]},"
        "\"finish_reason\":\"stop\"}],"
        "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":34,\"total_tokens\":46}}";
    struct api_body *b = NULL;
    struct api_error err;
    struct api_usage u;
    char *out;

    T_EQ_INT(api_response_parse(POLICY_EP_CHAT, body, strlen(body), NULL, &b, &err), VIGIE_OK);
    if (b == NULL)
        return;
    T_EQ_INT(api_body_ntexts(b), 3); /* content, tool name, arguments */
    api_body_usage(b, &u);
    T_EQ_INT(u.present, 1);
    T_EQ_INT(u.prompt_tokens, 12);
    T_EQ_INT(u.completion_tokens, 34);
    T_EQ_INT(u.total_tokens, 46);
    T_EQ_INT(api_body_restore(b, map), VIGIE_OK);
    T_EQ_INT(api_body_changed(b), 1);
    out = write_body(b);
    T_EQ_STR(out,
             "{\"id\":\"r1\",\"object\":\"chat.completion\",\"created\":1700000000,\"choices\":["
             "{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Write to "
             "u1@example.fr or u12@example.fr, not [EMAIL_99].\",\"tool_calls\":[{\"id\":\"t\","
             "\"type\":\"function\",\"function\":{\"name\":\"send\",\"arguments\":"
             "\"{\\\"to\\\":\\\"u2@example.fr\\\"}\"}}]},\"finish_reason\":\"stop\"}],"
             "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":34,\"total_tokens\":46}}");
    free(out);
    api_body_free(b);

    /* Completions text; embeddings have nothing but usage. */
    body = "{\"choices\":[{\"text\":\"[EMAIL_3]\",\"index\":0}]}";
    T_EQ_INT(api_response_parse(POLICY_EP_COMPLETIONS, body, strlen(body), NULL, &b, &err),
             VIGIE_OK);
    T_EQ_INT(api_body_restore(b, map), VIGIE_OK);
    out = write_body(b);
    T_EQ_STR(out, "{\"choices\":[{\"text\":\"u3@example.fr\",\"index\":0}]}");
    free(out);
    api_body_free(b);
    body = "{\"data\":[{\"embedding\":[0.1,0.2]}],\"usage\":{\"prompt_tokens\":5,\"total_tokens\":5}}";
    T_EQ_INT(api_response_parse(POLICY_EP_EMBEDDINGS, body, strlen(body), NULL, &b, &err),
             VIGIE_OK);
    T_EQ_INT(api_body_ntexts(b), 0);
    api_body_usage(b, &u);
    T_EQ_INT(u.prompt_tokens, 5);
    T_EQ_INT(api_body_restore(b, map), VIGIE_OK);
    T_EQ_INT(api_body_changed(b), 0);
    api_body_free(b);
}

/* ---- streams ----------------------------------------------------------------------------- */

/* What a client reassembles from a stream: per choice 0, the content (and
 * completions text), and the arguments of tool call 0. Counts data events. */
struct seen {
    struct vigie_buf content, args;
    int events, done, bad;
    long long usage_total;
};

static void seen_json(struct seen *s, const char *js, size_t len)
{
    json_error_t je;
    json_t *root = json_loadb(js, len, JSON_REJECT_DUPLICATES, &je), *chs;
    size_t i, k;

    if (root == NULL) {
        s->bad++;
        return;
    }
    if (json_is_object(json_object_get(root, "usage")))
        s->usage_total =
            json_integer_value(json_object_get(json_object_get(root, "usage"), "total_tokens"));
    chs = json_object_get(root, "choices");
    for (i = 0; i < json_array_size(chs); i++) {
        json_t *ch = json_array_get(chs, i), *d = json_object_get(ch, "delta"), *tcs, *v;
        if (json_integer_value(json_object_get(ch, "index")) != 0)
            continue;
        v = json_object_get(d, "content");
        if (json_is_string(v))
            vigie_buf_append(&s->content, json_string_value(v), json_string_length(v));
        v = json_object_get(ch, "text");
        if (json_is_string(v))
            vigie_buf_append(&s->content, json_string_value(v), json_string_length(v));
        tcs = json_object_get(d, "tool_calls");
        for (k = 0; k < json_array_size(tcs); k++) {
            json_t *tc = json_array_get(tcs, k);
            v = json_object_get(json_object_get(tc, "function"), "arguments");
            if (json_integer_value(json_object_get(tc, "index")) == 0 && json_is_string(v))
                vigie_buf_append(&s->args, json_string_value(v), json_string_length(v));
        }
    }
    json_decref(root);
}

/* Splits an SSE byte stream into events as a client would. */
static void seen_parse(struct seen *s, const char *p, size_t n)
{
    size_t i = 0;

    vigie_buf_init(&s->content, 1 << 22);
    vigie_buf_init(&s->args, 1 << 22);
    vigie_buf_append(&s->content, "", 0);
    vigie_buf_append(&s->args, "", 0);
    s->events = s->done = s->bad = 0;
    s->usage_total = -1;
    while (i < n) {
        const char *e = NULL;
        size_t k, el;
        for (k = i; k + 1 < n; k++) {
            if (p[k] == '\n' && p[k + 1] == '\n') {
                e = p + k;
                el = 2;
                break;
            }
            if (p[k] == '\n' && k + 2 < n && p[k + 1] == '\r' && p[k + 2] == '\n') {
                e = p + k;
                el = 3;
                break;
            }
        }
        if (e == NULL)
            break;
        if (strncmp(p + i, "data: ", 6) == 0) {
            size_t dl = (size_t)(e - (p + i)) - 6;
            if (dl > 0 && p[i + 6 + dl - 1] == '\r')
                dl--;
            s->events++;
            if (dl == 6 && memcmp(p + i + 6, "[DONE]", 6) == 0)
                s->done++;
            else
                seen_json(s, p + i + 6, dl);
        }
        i = (size_t)(e - p) + el;
    }
}

static void seen_free(struct seen *s)
{
    vigie_buf_free(&s->content);
    vigie_buf_free(&s->args);
}

static void add_event(struct vigie_buf *in, const char *field, const char *piece, size_t len,
                      const char *finish)
{
    vigie_buf_append(in, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                         "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{",
                     strlen("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                            "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{"));
    if (strcmp(field, "content") == 0) {
        vigie_buf_append(in, "\"content\":", 10);
        vigie_buf_json_str(in, piece, len);
    } else if (strcmp(field, "args") == 0) {
        const char *pre = "\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":";
        vigie_buf_append(in, pre, strlen(pre));
        vigie_buf_json_str(in, piece, len);
        vigie_buf_append(in, "}}]", 3);
    }
    vigie_buf_printf(in, "},\"finish_reason\":%s}]}\n\n", finish ? finish : "null");
}

/* Runs in[] through a filter, fed in slices of `step` bytes (0: at once). */
static int run_sse(const struct vigie_buf *in, size_t step, struct vigie_buf *out)
{
    struct api_stream *f = api_sse_new(map, NULL);
    struct api_error err;
    size_t i;
    int rc = VIGIE_OK;

    vigie_buf_init(out, 1 << 24);
    vigie_buf_append(out, "", 0);
    if (step == 0)
        step = in->len;
    for (i = 0; i < in->len && rc == VIGIE_OK; i += step)
        rc = api_stream_feed(f, in->data + i, in->len - i < step ? in->len - i : step, out, &err);
    if (rc == VIGIE_OK)
        rc = api_stream_finish(f, out, &err);
    api_stream_free(f);
    return rc;
}

static char *restored(const char *text)
{
    struct vigie_buf b;
    char *r;

    vigie_buf_init(&b, 1 << 20);
    vigie_buf_append(&b, "", 0);
    detect_revmap_restore(map, text, strlen(text), &b);
    r = strdup(b.data);
    vigie_buf_free(&b);
    return r;
}

static void check_splits(const char *field, const char *text, int three)
{
    size_t n = strlen(text), a, b;
    char *want = restored(text);
    int failures = 0;

    for (a = 0; a <= n && failures < 3; a++) {
        for (b = three ? a : n; b <= n && failures < 3; b++) {
            struct vigie_buf in, out;
            struct seen s;
            vigie_buf_init(&in, 1 << 20);
            add_event(&in, field, text, a, NULL);
            if (three)
                add_event(&in, field, text + a, b - a, NULL);
            add_event(&in, field, text + (three ? b : a), n - (three ? b : a), NULL);
            vigie_buf_append(&in, "data: [DONE]\n\n", 14);
            T_EQ_INT(run_sse(&in, 0, &out), VIGIE_OK);
            seen_parse(&s, out.data, out.len);
            if (strcmp(strcmp(field, "content") == 0 ? s.content.data : s.args.data, want) != 0 ||
                s.bad != 0 || s.done != 1) {
                T_FAIL("%s split at %zu,%zu: got \"%s\", want \"%s\"", field, a, b,
                       strcmp(field, "content") == 0 ? s.content.data : s.args.data, want);
                failures++;
            }
            /* Events pass one for one (no tail is left at [DONE] here). */
            T_EQ_INT(s.events, three ? 4 : 3);
            seen_free(&s);
            vigie_buf_free(&in);
            vigie_buf_free(&out);
        }
    }
    free(want);
}

static void test_sse_split_everywhere(void)
{
    /* [EMAIL_1] is a prefix of [EMAIL_12]: the filter must wait for the ']'. */
    check_splits("content", "Mail [EMAIL_12], [EMAIL_1] et [EMAIL_2]; [x] [EMAIL_ [EMAIL_7]!", 0);
    check_splits("content", "[EMAIL_1][EMAIL_12]x[[EMAIL_3]]", 1);
    check_splits("args", "{\"to\":\"[EMAIL_11]\",\"cc\":\"[EMAIL_1]\"}", 1);
    {
        char t[160];
        T_EQ_INT(strlen(keyed), 18); /* [REF_ + 12 hex + ] */
        snprintf(t, sizeof(t), "ref %s, [REF_0] %s.", keyed, keyed);
        check_splits("content", t, 1);
    }
}

static void test_sse_byte_by_byte(void)
{
    struct vigie_buf in, out1, out2;
    const char *t = "Hello [EMAIL_10] and [EMAIL_4].";

    vigie_buf_init(&in, 1 << 20);
    add_event(&in, "content", t, 11, NULL);
    add_event(&in, "content", t + 11, strlen(t) - 11, NULL);
    add_event(&in, "none", "", 0, "\"stop\"");
    vigie_buf_append(&in, "data: [DONE]\n\n", 14);
    T_EQ_INT(run_sse(&in, 0, &out1), VIGIE_OK);
    T_EQ_INT(run_sse(&in, 1, &out2), VIGIE_OK);
    T_EQ_STR(out2.data, out1.data);
    /* The second event starts with the restored token, the first lost its tail. */
    T_CONTAINS(out1.data, "\"content\":\"Hello \"");
    T_CONTAINS(out1.data, "\"content\":\"u10@example.fr and u4@example.fr.\"");
    vigie_buf_free(&in);
    vigie_buf_free(&out1);
    vigie_buf_free(&out2);
}

static void test_sse_flush_at_finish_and_done(void)
{
    struct vigie_buf in, out;
    struct seen s;

    /* A tail held when the choice finishes goes into the finishing chunk. */
    vigie_buf_init(&in, 1 << 20);
    add_event(&in, "content", "to [EMAIL_1", 11, NULL);
    add_event(&in, "none", "", 0, "\"stop\"");
    vigie_buf_append(&in, "data: [DONE]\n\n", 14);
    T_EQ_INT(run_sse(&in, 0, &out), VIGIE_OK);
    T_CONTAINS(out.data, "\"delta\":{\"content\":\"[EMAIL_1\"},\"finish_reason\":\"stop\"");
    seen_parse(&s, out.data, out.len);
    T_EQ_STR(s.content.data, "to [EMAIL_1");
    T_EQ_INT(s.events, 3);
    seen_free(&s);
    vigie_buf_free(&out);
    vigie_buf_free(&in);

    /* Held at [DONE] without a finish: a chunk of its own, before [DONE]. */
    vigie_buf_init(&in, 1 << 20);
    add_event(&in, "content", "to [EMAIL", 9, NULL);
    vigie_buf_append(&in, "data: [DONE]\n\n", 14);
    T_EQ_INT(run_sse(&in, 0, &out), VIGIE_OK);
    seen_parse(&s, out.data, out.len);
    T_EQ_STR(s.content.data, "to [EMAIL");
    T_EQ_INT(s.events, 3);
    T_EQ_INT(s.bad, 0);
    T_CONTAINS(out.data, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                         "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
                         "\"[EMAIL\"},\"finish_reason\":null}]}\n\ndata: [DONE]\n\n");
    seen_free(&s);
    vigie_buf_free(&out);
    vigie_buf_free(&in);

    /* Tool arguments held at finish_reason "tool_calls" with an empty delta. */
    vigie_buf_init(&in, 1 << 20);
    add_event(&in, "args", "{\"to\":\"[EMAIL_1", 15, NULL);
    add_event(&in, "none", "", 0, "\"tool_calls\"");
    T_EQ_INT(run_sse(&in, 0, &out), VIGIE_OK);
    seen_parse(&s, out.data, out.len);
    T_EQ_STR(s.args.data, "{\"to\":\"[EMAIL_1");
    T_CONTAINS(out.data, "\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
                         "\"[EMAIL_1\"}}]},\"finish_reason\":\"tool_calls\"");
    seen_free(&s);
    vigie_buf_free(&out);
    vigie_buf_free(&in);
}

/* Streamed requests ask the model for usage: stream_options is added, or
 * include_usage set in it with the client's other options kept; the model
 * key inserted beside it when a reroute names one. The usage chunk is then
 * read and not passed on, and the answer's model is kept for the record. */
static void test_ask_and_hide_usage(void)
{
    struct api_body *b;
    struct api_request_info info;
    struct api_stream *f;
    struct vigie_buf out;
    struct api_error err;
    struct api_usage u;
    char *w;
    const char *in = "data: {\"id\":\"c\",\"model\":\"m-served\",\"choices\":[{\"index\":0,"
                     "\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\n"
                     "data: {\"id\":\"c\",\"model\":\"m-served\",\"choices\":[],\"usage\":"
                     "{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}}\n\n"
                     "data: [DONE]\n\n";

    b = req(POLICY_EP_CHAT, "{\"model\":\"m\",\"stream\":true,\"messages\":[]}", NULL);
    T_ASSERT(b != NULL);
    if (b == NULL)
        return;
    T_EQ_INT(api_request_ask_usage(b), VIGIE_OK);
    T_EQ_INT(api_body_changed(b), 1);
    w = write_body(b);
    T_EQ_STR(w, "{\"stream_options\":{\"include_usage\":true},\"model\":\"m\",\"stream\":true,"
                "\"messages\":[]}");
    free(w);
    api_body_free(b);

    b = req(POLICY_EP_CHAT,
            "{\"stream\":true,\"stream_options\":{\"x\":1,\"include_usage\":false},"
            "\"messages\":[]}",
            NULL);
    T_ASSERT(b != NULL);
    if (b == NULL)
        return;
    T_EQ_INT(api_request_ask_usage(b), VIGIE_OK);
    T_EQ_INT(api_request_set_model(b, "local"), VIGIE_OK);
    w = write_body(b);
    T_EQ_STR(w, "{\"model\":\"local\",\"stream\":true,\"stream_options\":{\"x\":1,"
                "\"include_usage\":true},\"messages\":[]}");
    free(w);
    api_body_free(b);

    /* Options without the flag get it as their first member; options that
     * are null are replaced; options that are a list are left alone. */
    b = req(POLICY_EP_CHAT, "{\"stream\":true,\"stream_options\":{ \"x\" : 1 },\"messages\":[]}",
            NULL);
    T_ASSERT(b != NULL);
    if (b == NULL)
        return;
    T_EQ_INT(api_request_ask_usage(b), VIGIE_OK);
    w = write_body(b);
    T_EQ_STR(w, "{\"stream\":true,\"stream_options\":{\"include_usage\":true, \"x\" : 1 },"
                "\"messages\":[]}");
    free(w);
    api_body_free(b);
    b = req(POLICY_EP_CHAT, "{\"stream\":true,\"stream_options\":null,\"messages\":[]}", NULL);
    T_ASSERT(b != NULL);
    if (b == NULL)
        return;
    T_EQ_INT(api_request_ask_usage(b), VIGIE_OK);
    w = write_body(b);
    T_EQ_STR(w, "{\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[]}");
    free(w);
    api_body_free(b);
    b = req(POLICY_EP_CHAT, "{\"stream\":true,\"stream_options\":[1],\"messages\":[]}", NULL);
    T_ASSERT(b != NULL);
    if (b == NULL)
        return;
    T_EQ_INT(api_request_ask_usage(b), VIGIE_OK);
    T_EQ_INT(api_body_changed(b), 0);
    api_body_free(b);

    /* The client asked already: nothing changes. */
    b = req(POLICY_EP_CHAT,
            "{\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[]}",
            NULL);
    T_ASSERT(b != NULL);
    if (b == NULL)
        return;
    api_body_request_info(b, &info);
    T_EQ_INT(info.include_usage, 1);
    T_EQ_INT(api_request_ask_usage(b), VIGIE_OK);
    T_EQ_INT(api_body_changed(b), 0);
    api_body_free(b);

    f = api_sse_new(map, NULL);
    api_stream_hide_usage(f);
    vigie_buf_init(&out, 1 << 20);
    T_EQ_INT(api_stream_feed(f, in, strlen(in), &out, &err), VIGIE_OK);
    T_EQ_INT(api_stream_finish(f, &out, &err), VIGIE_OK);
    T_EQ_STR(out.data, "data: {\"id\":\"c\",\"model\":\"m-served\",\"choices\":[{\"index\":0,"
                       "\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\n"
                       "data: [DONE]\n\n");
    api_stream_usage(f, &u);
    T_EQ_INT(u.present, 1);
    T_EQ_INT(u.prompt_tokens, 3);
    T_EQ_INT(u.completion_tokens, 4);
    T_EQ_STR(u.model, "m-served");
    api_stream_free(f);
    vigie_buf_free(&out);
}

static void test_sse_passthrough(void)
{
    const char *in = ": keep-alive\n\n"
                     "event: ping\ndata: not json [EMAIL_1]\n\n"
                     "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,"
                     "\"completion_tokens\":4,\"total_tokens\":7}}\n\n"
                     "data: [DONE]\n\n";
    struct api_stream *f = api_sse_new(map, NULL);
    struct vigie_buf out;
    struct api_error err;
    struct api_usage u;
    size_t events, unparsed;

    vigie_buf_init(&out, 1 << 20);
    T_EQ_INT(api_stream_feed(f, in, strlen(in), &out, &err), VIGIE_OK);
    T_EQ_INT(api_stream_finish(f, &out, &err), VIGIE_OK);
    T_EQ_STR(out.data, in);
    api_stream_usage(f, &u);
    T_EQ_INT(u.present, 1);
    T_EQ_INT(u.prompt_tokens, 3);
    T_EQ_INT(u.completion_tokens, 4);
    api_stream_counts(f, &events, &unparsed);
    T_EQ_INT(events, 4);
    T_EQ_INT(unparsed, 1);
    api_stream_free(f);
    vigie_buf_free(&out);

    /* No map: nothing to restore, every byte passes. */
    f = api_sse_new(NULL, NULL);
    vigie_buf_init(&out, 1 << 20);
    T_EQ_INT(api_stream_feed(f, in, strlen(in), &out, &err), VIGIE_OK);
    T_EQ_INT(api_stream_finish(f, &out, &err), VIGIE_OK);
    T_EQ_STR(out.data, in);
    api_stream_free(f);
    vigie_buf_free(&out);
}

static void test_sse_crlf_and_multiline(void)
{
    const char *in = "id: 1\r\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a [EMA\"}}]}"
                     "\r\n\r\n"
                     "data: {\"choices\":[{\"index\":0,\r\ndata: \"delta\":{\"content\":\"IL_5] b\"}}]}"
                     "\r\n\r\n";
    struct api_stream *f = api_sse_new(map, NULL);
    struct vigie_buf out;
    struct api_error err;

    vigie_buf_init(&out, 1 << 20);
    T_EQ_INT(api_stream_feed(f, in, strlen(in), &out, &err), VIGIE_OK);
    T_EQ_INT(api_stream_finish(f, &out, &err), VIGIE_OK);
    T_EQ_STR(out.data, "id: 1\r\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a \"}}]}"
                       "\r\n\r\n"
                       "data: {\"choices\":[{\"index\":0,\n\"delta\":{\"content\":\"u5@example.fr b\"}}]}"
                       "\r\n\r\n");
    api_stream_free(f);
    vigie_buf_free(&out);
}

static void test_sse_event_cap(void)
{
    struct api_limits lim;
    struct api_stream *f;
    struct vigie_buf out, in;
    struct api_error err;
    size_t i;
    int rc = VIGIE_OK;

    api_limits_default(&lim);
    lim.event_max = 1024;
    f = api_sse_new(map, &lim);
    vigie_buf_init(&out, 1 << 20);
    vigie_buf_init(&in, 1 << 20);
    vigie_buf_append(&in, "data: \"", 7);
    for (i = 0; i < 2000; i++)
        vigie_buf_appendc(&in, 'x');
    for (i = 0; i < in.len && rc == VIGIE_OK; i += 100)
        rc = api_stream_feed(f, in.data + i, in.len - i < 100 ? in.len - i : 100, &out, &err);
    T_EQ_INT(rc, VIGIE_ERR_TOO_BIG);
    T_EQ_INT(err.why, API_WHY_EVENT_TOO_BIG);
    api_stream_free(f);
    vigie_buf_free(&out);
    vigie_buf_free(&in);
}

static void test_sse_choices_kept_apart(void)
{
    /* Two choices interleaved: each holds its own tail. */
    const char *in =
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"A [EMAIL_\"}},"
        "{\"index\":1,\"delta\":{\"content\":\"B [EMAIL_1\"}}]}\n\n"
        "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"2]\"}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"3]\"}}]}\n\n";
    struct api_stream *f = api_sse_new(map, NULL);
    struct vigie_buf out;
    struct api_error err;

    vigie_buf_init(&out, 1 << 20);
    T_EQ_INT(api_stream_feed(f, in, strlen(in), &out, &err), VIGIE_OK);
    T_EQ_INT(api_stream_finish(f, &out, &err), VIGIE_OK);
    T_EQ_STR(out.data,
             "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"A \"}},"
             "{\"index\":1,\"delta\":{\"content\":\"B \"}}]}\n\n"
             "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"u12@example.fr\"}}]}\n\n"
             "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"u3@example.fr\"}}]}\n\n");
    api_stream_free(f);
    vigie_buf_free(&out);
}

/* The observer: records what it was shown, per choice, and stops the stream
 * when a choice's text so far holds "STOP". */
struct obs_seen {
    char text[2][256];
    unsigned calls;
};

static int observe_cb(void *arg, int64_t choice, int field, const char *t, size_t len)
{
    struct obs_seen *s = arg;
    size_t have;

    T_ASSERT(choice >= 0 && choice < 2 && field == 0);
    have = strlen(s->text[choice]);
    T_ASSERT(have + len < sizeof(s->text[0]));
    memcpy(s->text[choice] + have, t, len);
    s->text[choice][have + len] = '\0';
    s->calls++;
    return strstr(s->text[choice], "STOP") != NULL ? -1 : 0;
}

static void test_sse_observer(void)
{
    /* It sees restored text, a split token whole, choices apart. */
    const char *in =
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"A [EMAIL_\"}},"
        "{\"index\":1,\"delta\":{\"content\":\"B\"}}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"3] z\"}}]}\n\n";
    const char *stop = "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"ST\"}}]}\n\n"
                       "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"OP!\"}}]}\n\n"
                       "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"never\"}}]}\n\n";
    struct api_stream *f = api_sse_new(map, NULL);
    struct vigie_buf out;
    struct api_error err;
    struct obs_seen s;

    memset(&s, 0, sizeof(s));
    api_stream_set_observer(f, observe_cb, &s);
    vigie_buf_init(&out, 1 << 20);
    T_EQ_INT(api_stream_feed(f, in, strlen(in), &out, &err), VIGIE_OK);
    T_EQ_STR(s.text[0], "A u3@example.fr z");
    T_EQ_STR(s.text[1], "B");
    /* The piece that completes "STOP" is refused: its event is not written,
     * the one before it is, and nothing after. */
    vigie_buf_reset(&out);
    T_EQ_INT(api_stream_feed(f, stop, strlen(stop), &out, &err), VIGIE_ERR_MATCH);
    T_EQ_INT(err.why, API_WHY_STOPPED);
    T_EQ_STR(out.data, "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"ST\"}}]}\n\n");
    T_EQ_STR(s.text[1], "BSTOP!");
    T_EQ_STR(s.text[0], "A u3@example.fr z");
    T_EQ_STR(api_why_name(err.why), "stopped");
    api_stream_free(f);
    vigie_buf_free(&out);
}

static void test_ndjson(void)
{
    const char *in =
        "{\"model\":\"llama\",\"created_at\":\"t\",\"message\":{\"role\":\"assistant\","
        "\"content\":\"hi [EMAIL\"},\"done\":false}\n"
        "{\"model\":\"llama\",\"created_at\":\"t\",\"message\":{\"role\":\"assistant\","
        "\"content\":\"_6]!\"},\"done\":false}\n"
        "{\"model\":\"llama\",\"created_at\":\"t\",\"response\":\"[EMAIL_7\",\"done\":false}\n"
        "{\"model\":\"llama\",\"done\":true,\"prompt_eval_count\":5,\"eval_count\":9}\n";
    struct api_stream *f = api_ndjson_new(map, NULL);
    struct vigie_buf out;
    struct api_error err;
    struct api_usage u;
    size_t i;

    vigie_buf_init(&out, 1 << 20);
    for (i = 0; i < strlen(in); i += 7)
        T_EQ_INT(api_stream_feed(f, in + i, strlen(in) - i < 7 ? strlen(in) - i : 7, &out, &err),
                 VIGIE_OK);
    T_EQ_INT(api_stream_finish(f, &out, &err), VIGIE_OK);
    T_EQ_STR(out.data,
             "{\"model\":\"llama\",\"created_at\":\"t\",\"message\":{\"role\":\"assistant\","
             "\"content\":\"hi \"},\"done\":false}\n"
             "{\"model\":\"llama\",\"created_at\":\"t\",\"message\":{\"role\":\"assistant\","
             "\"content\":\"u6@example.fr!\"},\"done\":false}\n"
             "{\"model\":\"llama\",\"created_at\":\"t\",\"response\":\"\",\"done\":false}\n"
             "{\"response\":\"[EMAIL_7\",\"model\":\"llama\",\"done\":true,\"prompt_eval_count\":5,"
             "\"eval_count\":9}\n");
    api_stream_usage(f, &u);
    T_EQ_INT(u.prompt_tokens, 5);
    T_EQ_INT(u.completion_tokens, 9);
    api_stream_free(f);
    vigie_buf_free(&out);
}

int main(void)
{
    setup();
    T_RUN(test_chat_texts);
    T_RUN(test_chat_legacy_and_schema);
    T_RUN(test_completions_and_embeddings);
    T_RUN(test_refusals);
    T_RUN(test_depth_and_size);
    T_RUN(test_rewrite_exact);
    T_RUN(test_rewrite_schema_strings);
    T_RUN(test_response_restore);
    T_RUN(test_sse_split_everywhere);
    T_RUN(test_sse_byte_by_byte);
    T_RUN(test_sse_flush_at_finish_and_done);
    T_RUN(test_sse_passthrough);
    T_RUN(test_ask_and_hide_usage);
    T_RUN(test_sse_crlf_and_multiline);
    T_RUN(test_sse_event_cap);
    T_RUN(test_sse_choices_kept_apart);
    T_RUN(test_sse_observer);
    T_RUN(test_ndjson);
    detect_revmap_free(map);
    detect_scanner_free(sc);
    detect_set_free(rules);
    return T_DONE();
}
