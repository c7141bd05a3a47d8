/*
 * Bodies: the texts of an OpenAI-compatible request or answer, found by
 * walking the jansson tree along the fields the format defines, and the
 * splice that writes changed texts back into the original bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

#define PATH_MAX_LEN 192u

struct meta {
    const json_t *parent; /* container holding the text, and where in it */
    const char *key;
    size_t index;
    const json_t *str;    /* the original string */
    enum api_text_kind kind;
    const char *role;
    size_t message;
    size_t path_off;      /* into api_body.paths */
    struct vigie_buf repl;
    int set;              /* repl holds a value different from the original */
};

struct api_body {
    json_t *root;
    const char *src; /* the caller's bytes, borrowed until api_body_free */
    size_t srclen;
    struct api_limits lim;
    int is_request;
    struct policy_text *texts;
    size_t ntexts, texts_cap;
    struct meta *meta;
    size_t meta_cap;
    struct vigie_buf paths;  /* NUL-separated paths */
    struct api_request_info info;
    size_t uninspectable_off;
    struct api_usage usage;
    struct vigie_buf model;  /* set by api_request_set_model */
    int model_set;
    /* api_request_ask_usage: one edit, made at write time */
    int usage_set;
    int usage_insert;          /* insert usage_bytes as parent's first member, or */
    const json_t *usage_parent; /* replace the value of usage_key in it */
    const char *usage_key;
    const char *usage_bytes;
};

/* The walk's state: where we are (a JSON pointer of known keys only) and
 * which message we are in. */
struct walk {
    struct api_body *b;
    struct api_error *err;
    char path[PATH_MAX_LEN];
    size_t plen;
    const char *role;
    size_t message;
};

static size_t push_key(struct walk *w, const char *key)
{
    size_t save = w->plen;
    int n = snprintf(w->path + w->plen, sizeof(w->path) - w->plen, "/%s", key);

    if (n < 0)
        return save;
    /* Paths are for diagnostics: a truncated one is still a good pointer. */
    if ((size_t)n >= sizeof(w->path) - w->plen)
        w->plen = sizeof(w->path) - 1;
    else
        w->plen += (size_t)n;
    return save;
}

static size_t push_index(struct walk *w, size_t i)
{
    char k[24];

    snprintf(k, sizeof(k), "%zu", i);
    return push_key(w, k);
}

static void pop(struct walk *w, size_t save)
{
    w->plen = save;
    w->path[save] = '\0';
}

static int type_error(struct walk *w, const char *what)
{
    api_error_set(w->err, API_WHY_TYPE, "%s%s%s", w->path[0] ? w->path : "body",
                  w->path[0] ? ": " : " ", what);
    return VIGIE_ERR_PARSE;
}

/* Records the string at parent[key] (or parent[index]) as a text. The path
 * pushed by the caller names it. */
static int add_text(struct walk *w, const json_t *parent, const char *key, size_t index,
                    const json_t *str, enum api_text_kind kind)
{
    struct api_body *b = w->b;
    struct meta *m;
    int rc;

    if (b->ntexts >= b->lim.texts_max) {
        api_error_set(w->err, API_WHY_TOO_MANY_TEXTS, "more than %zu text fields",
                      b->lim.texts_max);
        return VIGIE_ERR_TOO_BIG;
    }
    if (VIGIE_ARRAY_RESERVE(b->texts, b->ntexts, b->texts_cap, 16) != VIGIE_OK ||
        VIGIE_ARRAY_RESERVE(b->meta, b->ntexts, b->meta_cap, 16) != VIGIE_OK)
        goto nomem;
    m = &b->meta[b->ntexts];
    memset(m, 0, sizeof(*m));
    m->parent = parent;
    m->key = key;
    m->index = index;
    m->str = str;
    m->kind = kind;
    m->role = w->role;
    m->message = w->message;
    m->path_off = b->paths.len;
    vigie_buf_init(&m->repl, b->lim.out_max);
    if ((rc = vigie_buf_append(&b->paths, w->path, w->plen + 1)) != VIGIE_OK)
        goto nomem;
    b->texts[b->ntexts].s = json_string_value(str);
    b->texts[b->ntexts].len = json_string_length(str);
    b->ntexts++;
    return VIGIE_OK;
nomem:
    api_error_set(w->err, API_WHY_NOMEM, "out of memory");
    return VIGIE_ERR_NOMEM;
}

/* parent[key] as a text when it is a string; absent and null are nothing;
 * any other type is an error (a client sending it means something we do
 * not read). */
static int opt_text(struct walk *w, const json_t *parent, const char *key,
                    enum api_text_kind kind)
{
    const json_t *v = json_object_get(parent, key);
    size_t save;
    int rc;

    if (v == NULL || json_is_null(v))
        return VIGIE_OK;
    save = push_key(w, key);
    rc = json_is_string(v) ? add_text(w, parent, key, SIZE_MAX, v, kind)
                           : type_error(w, "must be a string");
    pop(w, save);
    return rc;
}

/* Every string under a JSON schema (descriptions, enum values, titles,
 * defaults): the model reads the whole schema. Keys are property names the
 * client chose: they stay out of paths. Depth is bounded by the pre-scan. */
static int schema_strings(struct walk *w, const json_t *v, enum api_text_kind kind)
{
    int rc;

    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach((json_t *)v, k, c) {
            if (json_is_string(c))
                rc = add_text(w, v, k, SIZE_MAX, c, kind);
            else
                rc = schema_strings(w, c, kind);
            if (rc != VIGIE_OK)
                return rc;
        }
    } else if (json_is_array(v)) {
        size_t i;
        for (i = 0; i < json_array_size(v); i++) {
            const json_t *c = json_array_get(v, i);
            rc = json_is_string(c) ? add_text(w, v, NULL, i, c, kind)
                                   : schema_strings(w, c, kind);
            if (rc != VIGIE_OK)
                return rc;
        }
    }
    return VIGIE_OK;
}

/* Input the gateway cannot read (token ids): refused unless the limits say
 * to flag it for policy. */
static int uninspectable(struct walk *w)
{
    struct api_body *b = w->b;

    if (!b->lim.allow_uninspectable) {
        api_error_set(w->err, API_WHY_UNINSPECTABLE,
                      "%s: token ids cannot be inspected; send text", w->path);
        return VIGIE_ERR_PARSE;
    }
    if (b->info.nuninspectable++ == 0) {
        b->uninspectable_off = b->paths.len;
        if (vigie_buf_append(&b->paths, w->path, w->plen + 1) != VIGIE_OK) {
            api_error_set(w->err, API_WHY_NOMEM, "out of memory");
            return VIGIE_ERR_NOMEM;
        }
    }
    return VIGIE_OK;
}

/* A content part: text and refusal parts are text; images, audio and files
 * are counted (not text, not inspected here); any other type is refused as
 * uninspectable rather than passed unread. */
static int content_part(struct walk *w, const json_t *part, enum api_text_kind kind)
{
    const char *type;
    const json_t *t;

    if (!json_is_object(part))
        return type_error(w, "a content part must be an object");
    t = json_object_get(part, "type");
    if (!json_is_string(t))
        return type_error(w, "a content part needs a string \"type\"");
    type = json_string_value(t);
    if (strcmp(type, "text") == 0 || strcmp(type, "refusal") == 0 ||
        strcmp(type, "input_text") == 0 || strcmp(type, "output_text") == 0) {
        const char *key = strcmp(type, "refusal") == 0 ? "refusal" : "text";
        const json_t *s = json_object_get(part, key);
        size_t save;
        int rc;
        if (!json_is_string(s)) {
            save = push_key(w, key);
            rc = type_error(w, "must be a string");
            pop(w, save);
            return rc;
        }
        save = push_key(w, key);
        rc = add_text(w, part, key, SIZE_MAX, s, kind);
        pop(w, save);
        return rc;
    }
    if (strcmp(type, "image_url") == 0 || strcmp(type, "input_audio") == 0 ||
        strcmp(type, "file") == 0 || strcmp(type, "image") == 0) {
        w->b->info.nmedia++;
        return VIGIE_OK;
    }
    return uninspectable(w);
}

/* content: a string, an array of parts, or null. */
static int content(struct walk *w, const json_t *parent, enum api_text_kind kind)
{
    const json_t *v = json_object_get(parent, "content");
    size_t save, i;
    int rc = VIGIE_OK;

    if (v == NULL || json_is_null(v))
        return VIGIE_OK;
    save = push_key(w, "content");
    if (json_is_string(v)) {
        rc = add_text(w, parent, "content", SIZE_MAX, v, kind);
    } else if (json_is_array(v)) {
        for (i = 0; i < json_array_size(v) && rc == VIGIE_OK; i++) {
            size_t s2 = push_index(w, i);
            rc = content_part(w, json_array_get(v, i), kind);
            pop(w, s2);
        }
    } else {
        rc = type_error(w, "must be a string, an array of parts or null");
    }
    pop(w, save);
    return rc;
}

/* {name, arguments} of a tool call or legacy function_call. */
static int function_call(struct walk *w, const json_t *fn)
{
    int rc;

    if (!json_is_object(fn))
        return type_error(w, "must be an object");
    if ((rc = opt_text(w, fn, "name", API_TEXT_NAME)) != VIGIE_OK)
        return rc;
    return opt_text(w, fn, "arguments", API_TEXT_TOOL_ARGS);
}

static int tool_calls(struct walk *w, const json_t *parent)
{
    const json_t *v = json_object_get(parent, "tool_calls");
    size_t save, i;
    int rc = VIGIE_OK;

    if (v == NULL || json_is_null(v))
        return VIGIE_OK;
    save = push_key(w, "tool_calls");
    if (!json_is_array(v)) {
        rc = type_error(w, "must be an array");
    } else {
        for (i = 0; i < json_array_size(v) && rc == VIGIE_OK; i++) {
            const json_t *tc = json_array_get(v, i);
            size_t s2 = push_index(w, i);
            if (!json_is_object(tc)) {
                rc = type_error(w, "must be an object");
            } else if (json_object_get(tc, "function") != NULL) {
                size_t s3 = push_key(w, "function");
                rc = function_call(w, json_object_get(tc, "function"));
                pop(w, s3);
            }
            pop(w, s2);
        }
    }
    pop(w, save);
    return rc;
}

static int legacy_function_call(struct walk *w, const json_t *parent)
{
    const json_t *fc = json_object_get(parent, "function_call");
    size_t save;
    int rc;

    if (fc == NULL || json_is_null(fc))
        return VIGIE_OK;
    save = push_key(w, "function_call");
    rc = function_call(w, fc);
    pop(w, save);
    return rc;
}

static int message(struct walk *w, const json_t *m)
{
    const json_t *role;
    int rc;

    if (!json_is_object(m))
        return type_error(w, "a message must be an object");
    role = json_object_get(m, "role");
    if (role != NULL && !json_is_string(role)) {
        size_t save = push_key(w, "role");
        rc = type_error(w, "must be a string");
        pop(w, save);
        return rc;
    }
    w->role = role != NULL ? json_string_value(role) : NULL;
    if ((rc = opt_text(w, m, "name", API_TEXT_NAME)) != VIGIE_OK ||
        (rc = content(w, m, API_TEXT_CONTENT)) != VIGIE_OK ||
        (rc = opt_text(w, m, "refusal", API_TEXT_CONTENT)) != VIGIE_OK ||
        (rc = tool_calls(w, m)) != VIGIE_OK || (rc = legacy_function_call(w, m)) != VIGIE_OK)
        return rc;
    return VIGIE_OK;
}

/* A function's definition: name, description and parameter schema. */
static int function_spec(struct walk *w, const json_t *fn)
{
    const json_t *params;
    size_t save;
    int rc;

    if (!json_is_object(fn))
        return type_error(w, "must be an object");
    if ((rc = opt_text(w, fn, "name", API_TEXT_TOOL_SPEC)) != VIGIE_OK ||
        (rc = opt_text(w, fn, "description", API_TEXT_TOOL_SPEC)) != VIGIE_OK)
        return rc;
    params = json_object_get(fn, "parameters");
    if (params == NULL)
        return VIGIE_OK;
    save = push_key(w, "parameters");
    rc = schema_strings(w, params, API_TEXT_TOOL_SPEC);
    pop(w, save);
    return rc;
}

/* tools[] (each {type, function}) or the legacy functions[]. */
static int tool_specs(struct walk *w, const json_t *root, const char *key, int wrapped)
{
    const json_t *v = json_object_get(root, key);
    size_t save, i;
    int rc = VIGIE_OK;

    if (v == NULL || json_is_null(v))
        return VIGIE_OK;
    save = push_key(w, key);
    if (!json_is_array(v)) {
        rc = type_error(w, "must be an array");
    } else {
        for (i = 0; i < json_array_size(v) && rc == VIGIE_OK; i++) {
            const json_t *t = json_array_get(v, i);
            size_t s2 = push_index(w, i);
            if (!wrapped) {
                rc = function_spec(w, t);
            } else if (!json_is_object(t)) {
                rc = type_error(w, "must be an object");
            } else if (json_object_get(t, "function") != NULL) {
                size_t s3 = push_key(w, "function");
                rc = function_spec(w, json_object_get(t, "function"));
                pop(w, s3);
            } else {
                /* Other tool kinds (built-in tools) carry configuration, not
                 * prose; their strings are still read by nobody but the
                 * provider. Scan them anyway: cheap, and fails safe. */
                rc = schema_strings(w, t, API_TEXT_TOOL_SPEC);
            }
            pop(w, s2);
        }
    }
    pop(w, save);
    return rc;
}

static int response_format(struct walk *w, const json_t *root)
{
    const json_t *rf = json_object_get(root, "response_format"), *js;
    size_t save, s2;
    int rc;

    if (!json_is_object(rf))
        return VIGIE_OK;
    js = json_object_get(rf, "json_schema");
    if (!json_is_object(js))
        return VIGIE_OK;
    save = push_key(w, "response_format");
    s2 = push_key(w, "json_schema");
    rc = opt_text(w, js, "description", API_TEXT_SCHEMA);
    if (rc == VIGIE_OK && json_object_get(js, "schema") != NULL) {
        size_t s3 = push_key(w, "schema");
        rc = schema_strings(w, json_object_get(js, "schema"), API_TEXT_SCHEMA);
        pop(w, s3);
    }
    pop(w, s2);
    pop(w, save);
    return rc;
}

static int is_token_ids(const json_t *v)
{
    size_t i;

    if (!json_is_array(v) || json_array_size(v) == 0)
        return 0;
    for (i = 0; i < json_array_size(v); i++)
        if (!json_is_integer(json_array_get(v, i)))
            return 0;
    return 1;
}

/* prompt / input: a string, an array of strings, token ids, or an array of
 * token-id arrays. */
static int prompt_like(struct walk *w, const json_t *root, const char *key,
                       enum api_text_kind kind, int required)
{
    const json_t *v = json_object_get(root, key);
    size_t save, i;
    int rc = VIGIE_OK;

    if (v == NULL || json_is_null(v)) {
        if (!required)
            return VIGIE_OK;
        api_error_set(w->err, API_WHY_TYPE, "body: \"%s\" is required", key);
        return VIGIE_ERR_PARSE;
    }
    save = push_key(w, key);
    if (json_is_string(v)) {
        rc = add_text(w, root, key, SIZE_MAX, v, kind);
    } else if (is_token_ids(v)) {
        rc = uninspectable(w);
    } else if (json_is_array(v)) {
        for (i = 0; i < json_array_size(v) && rc == VIGIE_OK; i++) {
            const json_t *e = json_array_get(v, i);
            size_t s2 = push_index(w, i);
            if (json_is_string(e))
                rc = add_text(w, v, NULL, i, e, kind);
            else if (is_token_ids(e))
                rc = uninspectable(w);
            else
                rc = type_error(w, "must be a string or an array of token ids");
            pop(w, s2);
        }
    } else {
        rc = type_error(w, "must be a string or an array");
    }
    pop(w, save);
    return rc;
}

static int walk_request(struct walk *w, enum policy_endpoint ep)
{
    const json_t *root = w->b->root, *v, *so;
    size_t save, i;
    int rc = VIGIE_OK;

    v = json_object_get(root, "model");
    if (v != NULL && !json_is_string(v)) {
        save = push_key(w, "model");
        rc = type_error(w, "must be a string");
        pop(w, save);
        return rc;
    }
    w->b->info.model = v != NULL ? json_string_value(v) : NULL;
    v = json_object_get(root, "stream");
    if (v != NULL && !json_is_boolean(v) && !json_is_null(v)) {
        save = push_key(w, "stream");
        rc = type_error(w, "must be true or false");
        pop(w, save);
        return rc;
    }
    w->b->info.stream = json_is_true(v);
    so = json_object_get(root, "stream_options");
    w->b->info.include_usage =
        json_is_object(so) && json_is_true(json_object_get(so, "include_usage"));

    switch (ep) {
    case POLICY_EP_CHAT:
        v = json_object_get(root, "messages");
        if (!json_is_array(v)) {
            api_error_set(w->err, API_WHY_TYPE, "body: \"messages\" must be an array");
            return VIGIE_ERR_PARSE;
        }
        w->b->info.nmessages = json_array_size(v);
        save = push_key(w, "messages");
        for (i = 0; i < json_array_size(v) && rc == VIGIE_OK; i++) {
            size_t s2 = push_index(w, i);
            w->message = i;
            rc = message(w, json_array_get(v, i));
            pop(w, s2);
        }
        pop(w, save);
        w->message = SIZE_MAX;
        w->role = NULL;
        if (rc == VIGIE_OK)
            rc = tool_specs(w, root, "tools", 1);
        if (rc == VIGIE_OK)
            rc = tool_specs(w, root, "functions", 0);
        if (rc == VIGIE_OK)
            rc = response_format(w, root);
        return rc;
    case POLICY_EP_COMPLETIONS:
        if ((rc = prompt_like(w, root, "prompt", API_TEXT_PROMPT, 0)) != VIGIE_OK)
            return rc;
        return opt_text(w, root, "suffix", API_TEXT_PROMPT);
    case POLICY_EP_EMBEDDINGS:
        return prompt_like(w, root, "input", API_TEXT_INPUT, 1);
    default:
        api_error_set(w->err, API_WHY_TYPE, "this endpoint takes no body");
        return VIGIE_ERR_PARSE;
    }
}

/* The answer's model name, cut to fit (it is only a label for records). */
void api_model_copy(char *dst, const json_t *m)
{
    const char *s = json_string_value(m);
    size_t n;

    if (s == NULL || dst[0] != '\0')
        return;
    n = json_string_length(m);
    if (n >= API_MODEL_NAME_MAX)
        n = API_MODEL_NAME_MAX - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
    /* a name with a NUL or control byte is not a name */
    while (n > 0 && (unsigned char)dst[n - 1] >= 0x20)
        n--;
    if (n > 0)
        dst[0] = '\0';
}

static void read_usage(struct api_body *b)
{
    const json_t *u = json_object_get(b->root, "usage");

    api_model_copy(b->usage.model, json_object_get(b->root, "model"));
    if (!json_is_object(u))
        return;
    b->usage.present = 1;
    b->usage.prompt_tokens = json_integer_value(json_object_get(u, "prompt_tokens"));
    b->usage.completion_tokens = json_integer_value(json_object_get(u, "completion_tokens"));
    b->usage.total_tokens = json_integer_value(json_object_get(u, "total_tokens"));
}

static int walk_response(struct walk *w)
{
    const json_t *ch = json_object_get(w->b->root, "choices");
    size_t save, i;
    int rc = VIGIE_OK;

    read_usage(w->b);
    if (ch == NULL || json_is_null(ch))
        return VIGIE_OK; /* embeddings, errors */
    if (!json_is_array(ch)) {
        api_error_set(w->err, API_WHY_TYPE, "body: \"choices\" must be an array");
        return VIGIE_ERR_PARSE;
    }
    save = push_key(w, "choices");
    for (i = 0; i < json_array_size(ch) && rc == VIGIE_OK; i++) {
        const json_t *c = json_array_get(ch, i), *m;
        size_t s2 = push_index(w, i);
        if (!json_is_object(c)) {
            rc = type_error(w, "must be an object");
        } else {
            rc = opt_text(w, c, "text", API_TEXT_ANSWER);
            m = json_object_get(c, "message");
            if (rc == VIGIE_OK && json_is_object(m)) {
                size_t s3 = push_key(w, "message");
                rc = content(w, m, API_TEXT_ANSWER);
                if (rc == VIGIE_OK)
                    rc = opt_text(w, m, "refusal", API_TEXT_ANSWER);
                if (rc == VIGIE_OK)
                    rc = tool_calls(w, m);
                if (rc == VIGIE_OK)
                    rc = legacy_function_call(w, m);
                pop(w, s3);
            }
        }
        pop(w, s2);
    }
    pop(w, save);
    return rc;
}

static int parse(int is_request, enum policy_endpoint ep, const char *body, size_t len,
                 const struct api_limits *lim, struct api_body **out, struct api_error *err)
{
    struct api_limits tmp;
    struct api_body *b;
    struct walk w;
    int rc;

    *out = NULL;
    if (err != NULL) {
        err->why = API_WHY_NONE;
        err->msg[0] = '\0';
    }
    lim = api_limits_or_default(lim, &tmp);
    b = calloc(1, sizeof(*b));
    if (b == NULL) {
        api_error_set(err, API_WHY_NOMEM, "out of memory");
        return VIGIE_ERR_NOMEM;
    }
    b->src = body;
    b->srclen = len;
    b->lim = *lim;
    b->is_request = is_request;
    vigie_buf_init(&b->paths, SIZE_MAX / 2);
    vigie_buf_init(&b->model, 4096);
    if ((rc = api_json_load(body, len, lim, &b->root, err)) != VIGIE_OK)
        goto fail;
    if (!json_is_object(b->root)) {
        api_error_set(err, API_WHY_TYPE, "body must be a JSON object");
        rc = VIGIE_ERR_PARSE;
        goto fail;
    }
    memset(&w, 0, sizeof(w));
    w.b = b;
    w.err = err;
    w.message = SIZE_MAX;
    rc = is_request ? walk_request(&w, ep) : walk_response(&w);
    if (rc != VIGIE_OK)
        goto fail;
    if (b->info.nuninspectable > 0)
        b->info.uninspectable = b->paths.data + b->uninspectable_off;
    *out = b;
    return VIGIE_OK;
fail:
    api_body_free(b);
    return rc;
}

int api_request_parse(enum policy_endpoint ep, const char *body, size_t len,
                      const struct api_limits *lim, struct api_body **out,
                      struct api_error *err)
{
    return parse(1, ep, body, len, lim, out, err);
}

int api_response_parse(enum policy_endpoint ep, const char *body, size_t len,
                       const struct api_limits *lim, struct api_body **out,
                       struct api_error *err)
{
    return parse(0, ep, body, len, lim, out, err);
}

void api_body_free(struct api_body *b)
{
    size_t i;

    if (b == NULL)
        return;
    for (i = 0; i < b->ntexts; i++)
        vigie_buf_free(&b->meta[i].repl);
    free(b->texts);
    free(b->meta);
    vigie_buf_free(&b->paths);
    vigie_buf_free(&b->model);
    json_decref(b->root); /* strings wiped by the allocator api_init installed */
    free(b);
}

size_t api_body_ntexts(const struct api_body *b)
{
    return b->ntexts;
}

const struct policy_text *api_body_texts(const struct api_body *b)
{
    return b->texts;
}

void api_body_text_info(const struct api_body *b, size_t i, struct api_text_info *out)
{
    VIGIE_ASSERT(i < b->ntexts);
    out->path = b->paths.data + b->meta[i].path_off;
    out->kind = b->meta[i].kind;
    out->role = b->meta[i].role;
    out->message = b->meta[i].message;
}

void api_body_request_info(const struct api_body *b, struct api_request_info *out)
{
    *out = b->info;
    if (b->model_set)
        out->model = b->model.data;
}

void api_body_usage(const struct api_body *b, struct api_usage *out)
{
    *out = b->usage;
}

int api_body_set_text(struct api_body *b, size_t i, const char *s, size_t len)
{
    struct meta *m;
    const char *orig;
    size_t olen;
    int rc;

    VIGIE_ASSERT(i < b->ntexts);
    m = &b->meta[i];
    orig = json_string_value(m->str);
    olen = json_string_length(m->str);
    vigie_buf_reset(&m->repl);
    if (len == olen && memcmp(s, orig, len) == 0) {
        m->set = 0;
        b->texts[i].s = orig;
        b->texts[i].len = olen;
        return VIGIE_OK;
    }
    if ((rc = vigie_buf_append(&m->repl, s, len)) != VIGIE_OK) {
        /* The buffer freed itself; the text reads as the original, and the
         * caller must fail: a half-applied rewrite is never written. */
        m->set = 0;
        b->texts[i].s = orig;
        b->texts[i].len = olen;
        vigie_buf_init(&m->repl, b->lim.out_max);
        return rc;
    }
    m->set = 1;
    b->texts[i].s = m->repl.data;
    b->texts[i].len = m->repl.len;
    return VIGIE_OK;
}

int api_body_apply(struct api_body *b, const struct vigie_buf *texts, const int *changed,
                   size_t n)
{
    size_t i;
    int rc;

    if (n != b->ntexts)
        return VIGIE_ERR_INVAL;
    for (i = 0; i < n; i++)
        if (changed[i] && (rc = api_body_set_text(b, i, texts[i].data ? texts[i].data : "",
                                                  texts[i].len)) != VIGIE_OK)
            return rc;
    return VIGIE_OK;
}

int api_body_restore(struct api_body *b, const struct detect_revmap *map)
{
    struct vigie_buf tmp;
    size_t i;
    int rc = VIGIE_OK;

    if (map == NULL || detect_revmap_count(map) == 0)
        return VIGIE_OK;
    vigie_buf_init(&tmp, b->lim.out_max);
    for (i = 0; i < b->ntexts && rc == VIGIE_OK; i++) {
        if (memchr(b->texts[i].s, '[', b->texts[i].len) == NULL)
            continue;
        vigie_buf_reset(&tmp);
        if ((rc = detect_revmap_restore(map, b->texts[i].s, b->texts[i].len, &tmp)) != VIGIE_OK)
            break;
        if (tmp.len != b->texts[i].len || memcmp(tmp.data, b->texts[i].s, tmp.len) != 0)
            rc = api_body_set_text(b, i, tmp.data, tmp.len);
    }
    vigie_buf_free(&tmp);
    return rc;
}

int api_request_set_model(struct api_body *b, const char *model)
{
    size_t len = strlen(model);
    int rc;

    vigie_buf_reset(&b->model);
    b->model_set = 0;
    if (b->info.model != NULL && strcmp(b->info.model, model) == 0)
        return VIGIE_OK;
    if ((rc = vigie_buf_append(&b->model, model, len)) != VIGIE_OK) {
        vigie_buf_init(&b->model, 4096);
        return rc;
    }
    b->model_set = 1;
    return VIGIE_OK;
}

int api_request_ask_usage(struct api_body *b)
{
    const json_t *so = json_object_get(b->root, "stream_options"), *iu;

    if (b->info.include_usage || b->usage_set)
        return VIGIE_OK;
    /* One token edited or one member inserted: the client's other stream
     * options stay as they were written. */
    if (so == NULL) {
        b->usage_parent = b->root;
        b->usage_key = NULL;
        b->usage_insert = 1;
        b->usage_bytes = "\"stream_options\":{\"include_usage\":true}";
    } else if (!json_is_object(so)) {
        if (json_is_array(so))
            return VIGIE_OK; /* not options the model will read: left alone */
        b->usage_parent = b->root;
        b->usage_key = "stream_options";
        b->usage_insert = 0;
        b->usage_bytes = "{\"include_usage\":true}";
    } else if ((iu = json_object_get(so, "include_usage")) == NULL) {
        b->usage_parent = so;
        b->usage_key = NULL;
        b->usage_insert = 1;
        b->usage_bytes = "\"include_usage\":true";
    } else if (json_is_object(iu) || json_is_array(iu)) {
        return VIGIE_OK; /* not a flag: left alone */
    } else {
        b->usage_parent = so;
        b->usage_key = "include_usage";
        b->usage_insert = 0;
        b->usage_bytes = "true";
    }
    b->usage_set = 1;
    return VIGIE_OK;
}

int api_body_changed(const struct api_body *b)
{
    size_t i;

    if (b->model_set || b->usage_set)
        return 1;
    for (i = 0; i < b->ntexts; i++)
        if (b->meta[i].set)
            return 1;
    return 0;
}

int api_body_write(struct api_body *b, struct vigie_buf *out, struct api_error *err)
{
    struct api_place *places = NULL;
    struct api_edit *edits = NULL;
    size_t *encoff = NULL, n = 0, i, k, kmodel = SIZE_MAX, kusage = SIZE_MAX;
    struct vigie_buf enc;
    int rc = VIGIE_ERR_NOMEM;

    vigie_buf_free(out);
    vigie_buf_init(out, b->lim.out_max);
    vigie_buf_init(&enc, b->lim.out_max);
    for (i = 0; i < b->ntexts; i++)
        n += b->meta[i].set != 0;
    n += b->model_set != 0;
    n += b->usage_set != 0;
    if (n == 0) { /* nothing changed: the original is the answer */
        rc = vigie_buf_append(out, b->src, b->srclen);
        goto done;
    }
    places = calloc(n, sizeof(*places));
    edits = calloc(n, sizeof(*edits));
    encoff = calloc(n + 1, sizeof(*encoff));
    if (places == NULL || edits == NULL || encoff == NULL)
        goto done;
    /* Encode every replacement first (enc may move while it grows), then
     * point the edits into it. */
    for (i = 0, k = 0; i < b->ntexts; i++) {
        const struct meta *m = &b->meta[i];
        if (!m->set)
            continue;
        places[k].parent = m->parent;
        places[k].key = m->key;
        places[k].index = m->key != NULL ? SIZE_MAX : m->index;
        encoff[k] = enc.len;
        if ((rc = vigie_buf_json_str(&enc, m->repl.data, m->repl.len)) != VIGIE_OK)
            goto done;
        k++;
    }
    if (b->model_set) {
        kmodel = k;
        const json_t *mv = json_object_get(b->root, "model");
        places[k].parent = b->root;
        places[k].key = mv != NULL ? "model" : NULL;
        places[k].index = SIZE_MAX;
        encoff[k] = enc.len;
        if ((mv == NULL && (rc = vigie_buf_append(&enc, "\"model\":", 8)) != VIGIE_OK) ||
            (rc = vigie_buf_json_str(&enc, b->model.data, b->model.len)) != VIGIE_OK)
            goto done;
        k++;
    }
    if (b->usage_set) {
        kusage = k;
        places[k].parent = b->usage_parent;
        places[k].key = b->usage_key;
        places[k].index = SIZE_MAX;
        encoff[k] = enc.len;
        if ((rc = vigie_buf_append(&enc, b->usage_bytes, strlen(b->usage_bytes))) != VIGIE_OK)
            goto done;
        k++;
    }
    encoff[k] = enc.len;
    for (k = 0; k < n; k++) {
        places[k].tag = k;
        edits[k].op = API_EDIT_REPLACE;
        edits[k].bytes = enc.data + encoff[k];
        edits[k].len = encoff[k + 1] - encoff[k];
    }
    /* A model key that was absent, and stream_options or include_usage that
     * were, are inserted as their object's first member. */
    if (kmodel != SIZE_MAX && places[kmodel].key == NULL)
        edits[kmodel].op = API_EDIT_INSERT;
    if (kusage != SIZE_MAX && b->usage_insert)
        edits[kusage].op = API_EDIT_INSERT;
    if (api_places_resolve(b->root, places, n) != VIGIE_OK)
        goto internal;
    for (k = 0; k < n; k++)
        edits[places[k].tag].ordinal = places[k].ordinal;
    rc = api_splice(b->src, b->srclen, edits, n, out);
    if (rc == VIGIE_ERR_INVAL)
        goto internal;
    goto done;
internal:
    api_error_set(err, API_WHY_INTERNAL, "a changed text could not be located in the body");
    rc = VIGIE_ERR_INVAL;
done:
    if (rc == VIGIE_ERR_TOO_BIG)
        api_error_set(err, API_WHY_TOO_BIG, "rewritten body over %zu bytes", b->lim.out_max);
    else if (rc == VIGIE_ERR_NOMEM)
        api_error_set(err, API_WHY_NOMEM, "out of memory");
    if (rc != VIGIE_OK)
        vigie_buf_free(out);
    free(places);
    free(edits);
    free(encoff);
    vigie_buf_free(&enc);
    return rc;
}
