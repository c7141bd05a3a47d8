/*
 * libFuzzer driver for proxy/api. The first byte picks what runs:
 *
 *   0: request parse + rewrite. Every text is replaced; the written body must
 *      parse again (same endpoint) and show exactly the replacements, in the
 *      same places; a reroute's model must read back.
 *   1: SSE restore. The rest is a text (folded to printable ASCII); it is cut
 *      into content deltas and tool-argument deltas at points the input
 *      chooses, and the stream is fed in slices of chosen sizes. Invariant:
 *      what a client reassembles equals restoring the whole text at once.
 *   2: raw bytes into the SSE and NDJSON filters and the answer parser:
 *      no crash, no leak, errors only as documented.
 *
 * A failed check aborts, which both libFuzzer and the replay test report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/api.h"

#define CHECK(c)                                                                          \
    do {                                                                                  \
        if (!(c)) {                                                                       \
            fprintf(stderr, "fuzz_api: invariant failed at %s:%d: %s\n", __FILE__,        \
                    __LINE__, #c);                                                        \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

static struct detect_revmap *map;

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

/* A map of [EMAIL_1]..[EMAIL_12] (values hold '[' and ']' too, so restored
 * text looks like tokens) and one keyed [REF_<hex>]. */
static void setup(void)
{
    static const unsigned char key[32] = "0123456789abcdef0123456789abcdef";
    struct detect_mask_opts opts = {key, sizeof(key), NULL, NULL, 0};
    struct detect_set *set;
    struct detect_scanner *sc;
    struct vigie_diag d;
    struct vigie_buf text, out;
    int blocked = 0, i;

    api_init();
    vigie_diag_init(&d);
    set = detect_set_new();
    CHECK(detect_set_add_pack(set, "t.yaml", pack, strlen(pack), &d) == VIGIE_OK);
    CHECK(detect_set_finish(set, &d) == VIGIE_OK);
    vigie_diag_free(&d);
    sc = detect_scanner_new(set, 1 << 20);
    map = detect_revmap_new();
    vigie_buf_init(&text, 1 << 20);
    vigie_buf_init(&out, 1 << 20);
    for (i = 1; i <= 12; i++)
        vigie_buf_printf(&text, "u%d@example.fr ", i);
    vigie_buf_printf(&text, "REF-1234");
    CHECK(detect_redact(sc, text.data, text.len, &opts, map, &out, &blocked) == VIGIE_OK);
    vigie_buf_free(&text);
    vigie_buf_free(&out);
    detect_scanner_free(sc);
    detect_set_free(set); /* the map owns copies of its tokens and values */
}

/* ---- 0: request parse + rewrite ------------------------------------------------------ */

static void fuzz_request(const unsigned char *data, size_t size)
{
    enum policy_endpoint ep;
    struct api_body *b = NULL, *b2 = NULL;
    struct api_error err;
    struct vigie_buf out = {0}, *repl;
    size_t n, i;
    int rc;

    if (size < 1)
        return;
    ep = (enum policy_endpoint)(data[0] % 3);
    rc = api_request_parse(ep, (const char *)data + 1, size - 1, NULL, &b, &err);
    if (rc != VIGIE_OK) {
        CHECK(b == NULL && err.why != API_WHY_NONE);
        CHECK(rc == VIGIE_ERR_PARSE || rc == VIGIE_ERR_TOO_BIG || rc == VIGIE_ERR_NOMEM);
        return;
    }
    n = api_body_ntexts(b);
    repl = calloc(n + 1, sizeof(*repl));
    CHECK(repl != NULL);
    /* Each text becomes "<i>[X]" + the text with quotes and backslashes
     * doubled: escapes in the output get exercised. */
    for (i = 0; i < n; i++) {
        const struct policy_text *t = &api_body_texts(b)[i];
        size_t k;
        vigie_buf_init(&repl[i], 1 << 24);
        vigie_buf_printf(&repl[i], "%zu[X]", i);
        for (k = 0; k < t->len; k++) {
            if (t->s[k] == '"' || t->s[k] == '\\')
                vigie_buf_appendc(&repl[i], t->s[k]);
            vigie_buf_appendc(&repl[i], t->s[k]);
        }
        CHECK(api_body_set_text(b, i, repl[i].data, repl[i].len) == VIGIE_OK);
    }
    if (data[0] & 0x80)
        CHECK(api_request_set_model(b, "rerouted\"model") == VIGIE_OK);
    if (!api_body_changed(b)) {
        CHECK(n == 0);
        goto done;
    }
    rc = api_body_write(b, &out, &err);
    if (rc == VIGIE_ERR_TOO_BIG)
        goto done;
    CHECK(rc == VIGIE_OK);
    rc = api_request_parse(ep, out.data, out.len, NULL, &b2, &err);
    if (rc != VIGIE_OK) {
        /* Only limits may refuse what we wrote (it grew); never its syntax. */
        CHECK(err.why == API_WHY_TOO_BIG || err.why == API_WHY_TOO_MANY_TEXTS);
        goto done;
    }
    CHECK(api_body_ntexts(b2) == n);
    for (i = 0; i < n; i++) {
        struct api_text_info a, c;
        const struct policy_text *t = &api_body_texts(b2)[i];
        CHECK(t->len == repl[i].len && memcmp(t->s, repl[i].data, t->len) == 0);
        api_body_text_info(b, i, &a);
        api_body_text_info(b2, i, &c);
        CHECK(strcmp(a.path, c.path) == 0 && a.kind == c.kind);
    }
    if (data[0] & 0x80) {
        struct api_request_info info;
        api_body_request_info(b2, &info);
        CHECK(info.model != NULL && strcmp(info.model, "rerouted\"model") == 0);
    }
done:
    for (i = 0; i < n; i++)
        vigie_buf_free(&repl[i]);
    free(repl);
    vigie_buf_free(&out);
    api_body_free(b);
    api_body_free(b2);
}

/* ---- 1: SSE restore across cuts -------------------------------------------------------- */

struct seen {
    struct vigie_buf content, args;
};

static void seen_json(struct seen *s, const char *js, size_t len)
{
    json_error_t je;
    json_t *root = json_loadb(js, len, JSON_REJECT_DUPLICATES, &je), *chs;
    size_t i, k;

    CHECK(root != NULL); /* every event the filter writes is JSON */
    chs = json_object_get(root, "choices");
    for (i = 0; i < json_array_size(chs); i++) {
        json_t *ch = json_array_get(chs, i), *d = json_object_get(ch, "delta"), *tcs, *v;
        v = json_object_get(d, "content");
        if (json_is_string(v))
            vigie_buf_append(&s->content, json_string_value(v), json_string_length(v));
        tcs = json_object_get(d, "tool_calls");
        for (k = 0; k < json_array_size(tcs); k++) {
            v = json_object_get(json_object_get(json_array_get(tcs, k), "function"), "arguments");
            if (json_is_string(v))
                vigie_buf_append(&s->args, json_string_value(v), json_string_length(v));
        }
    }
    json_decref(root);
}

static void seen_parse(struct seen *s, const char *p, size_t n, int *events)
{
    size_t i = 0;

    *events = 0;
    while (i < n) {
        const char *e = strstr(p + i, "\n\n");
        size_t dl;
        CHECK(e != NULL);
        CHECK(strncmp(p + i, "data: ", 6) == 0);
        dl = (size_t)(e - (p + i)) - 6;
        (*events)++;
        if (!(dl == 6 && memcmp(p + i + 6, "[DONE]", 6) == 0))
            seen_json(s, p + i + 6, dl);
        i = (size_t)(e - p) + 2;
    }
}

static void event(struct vigie_buf *in, int args, const char *piece, size_t len)
{
    vigie_buf_append(in, "data: {\"id\":\"c\",\"created\":1,\"choices\":[{\"index\":0,\"delta\":{",
                     strlen("data: {\"id\":\"c\",\"created\":1,\"choices\":[{\"index\":0,\"delta\":{"));
    if (args) {
        const char *pre = "\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":";
        vigie_buf_append(in, pre, strlen(pre));
        vigie_buf_json_str(in, piece, len);
        vigie_buf_append(in, "}}]", 3);
    } else {
        vigie_buf_append(in, "\"content\":", 10);
        vigie_buf_json_str(in, piece, len);
    }
    vigie_buf_append(in, "},\"finish_reason\":null}]}\n\n", 27);
}

static void fuzz_sse(const unsigned char *data, size_t size)
{
    struct vigie_buf text, in, out, want_c, want_a, cat_c, cat_a;
    struct api_stream *f;
    struct api_error err;
    struct seen s;
    size_t i, pos, nin = 0;
    unsigned seed = 2166136261u;
    int events, finish_mode;

    if (size < 2)
        return;
    finish_mode = data[0] & 3; /* 0: [DONE]; 1: finish chunk; 2: end of input */
    vigie_buf_init(&text, 1 << 20);
    vigie_buf_append(&text, "", 0);
    for (i = 1; i < size; i++) {
        unsigned char c = data[i] & 0x7f;
        vigie_buf_appendc(&text, c < 0x20 || c == 0x7f ? ' ' : (char)c);
        seed = (seed ^ data[i]) * 16777619u;
    }
    /* Cut the text into pieces; each goes to content or to the arguments. */
    vigie_buf_init(&in, 1 << 24);
    vigie_buf_init(&cat_c, 1 << 20);
    vigie_buf_init(&cat_a, 1 << 20);
    vigie_buf_append(&cat_c, "", 0);
    vigie_buf_append(&cat_a, "", 0);
    for (pos = 0; pos < text.len || nin == 0;) {
        size_t len;
        int args;
        seed = seed * 1103515245u + 12345u;
        len = (seed >> 16) % 24;
        if (len > text.len - pos)
            len = text.len - pos;
        args = (seed >> 8) & 1;
        event(&in, args, text.data + pos, len);
        vigie_buf_append(args ? &cat_a : &cat_c, text.data + pos, len);
        pos += len;
        nin++;
    }
    if (finish_mode == 0) {
        vigie_buf_append(&in, "data: [DONE]\n\n", 14);
        nin++;
    } else if (finish_mode == 1) {
        const char *fin = "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":"
                          "\"stop\"}]}\n\n";
        vigie_buf_append(&in, fin, strlen(fin));
        nin++;
    }
    /* Feed in slices of varying size. */
    f = api_sse_new(map, NULL);
    CHECK(f != NULL);
    vigie_buf_init(&out, 1 << 26);
    vigie_buf_append(&out, "", 0);
    for (i = 0; i < in.len;) {
        size_t step;
        seed = seed * 1103515245u + 12345u;
        step = 1 + (seed >> 16) % 97;
        if (step > in.len - i)
            step = in.len - i;
        CHECK(api_stream_feed(f, in.data + i, step, &out, &err) == VIGIE_OK);
        i += step;
    }
    CHECK(api_stream_finish(f, &out, &err) == VIGIE_OK);
    api_stream_free(f);

    vigie_buf_init(&s.content, 1 << 24);
    vigie_buf_init(&s.args, 1 << 24);
    vigie_buf_append(&s.content, "", 0);
    vigie_buf_append(&s.args, "", 0);
    seen_parse(&s, out.data, out.len, &events);
    vigie_buf_init(&want_c, 1 << 24);
    vigie_buf_init(&want_a, 1 << 24);
    vigie_buf_append(&want_c, "", 0);
    vigie_buf_append(&want_a, "", 0);
    CHECK(detect_revmap_restore(map, cat_c.data, cat_c.len, &want_c) == VIGIE_OK);
    CHECK(detect_revmap_restore(map, cat_a.data, cat_a.len, &want_a) == VIGIE_OK);
    CHECK(s.content.len == want_c.len && memcmp(s.content.data, want_c.data, want_c.len) == 0);
    CHECK(s.args.len == want_a.len && memcmp(s.args.data, want_a.data, want_a.len) == 0);
    /* One out for one in; at most one extra chunk per held stream at the end. */
    CHECK((size_t)events >= nin && (size_t)events <= nin + 2);
    if (finish_mode == 1)
        CHECK((size_t)events == nin);
    vigie_buf_free(&s.content);
    vigie_buf_free(&s.args);
    vigie_buf_free(&want_c);
    vigie_buf_free(&want_a);
    vigie_buf_free(&cat_c);
    vigie_buf_free(&cat_a);
    vigie_buf_free(&text);
    vigie_buf_free(&in);
    vigie_buf_free(&out);
}

/* ---- 2: raw bytes ----------------------------------------------------------------------- */

static void fuzz_raw(const unsigned char *data, size_t size)
{
    struct api_limits lim;
    struct api_stream *f;
    struct api_body *b = NULL;
    struct api_error err;
    struct vigie_buf out;
    int k, rc;

    api_limits_default(&lim);
    lim.event_max = 4096;
    for (k = 0; k < 2; k++) {
        size_t i, step = 1 + (size > 0 ? data[0] % 64 : 0);
        f = k == 0 ? api_sse_new(map, &lim) : api_ndjson_new(map, &lim);
        CHECK(f != NULL);
        vigie_buf_init(&out, 1 << 26);
        rc = VIGIE_OK;
        for (i = 0; i < size && rc == VIGIE_OK; i += step)
            rc = api_stream_feed(f, (const char *)data + i, size - i < step ? size - i : step,
                                 &out, &err);
        if (rc == VIGIE_OK)
            rc = api_stream_finish(f, &out, &err);
        CHECK(rc == VIGIE_OK || rc == VIGIE_ERR_TOO_BIG);
        api_stream_free(f);
        vigie_buf_free(&out);
    }
    rc = api_response_parse(POLICY_EP_CHAT, (const char *)data, size, NULL, &b, &err);
    if (rc == VIGIE_OK) {
        vigie_buf_init(&out, 1 << 26);
        CHECK(api_body_restore(b, map) == VIGIE_OK);
        if (api_body_changed(b))
            CHECK(api_body_write(b, &out, &err) == VIGIE_OK);
        vigie_buf_free(&out);
        api_body_free(b);
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (map == NULL)
        setup();
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0:
        fuzz_request(data + 1, size - 1);
        break;
    case 1:
        fuzz_sse(data + 1, size - 1);
        break;
    default:
        fuzz_raw(data + 1, size - 1);
        break;
    }
    return 0;
}
