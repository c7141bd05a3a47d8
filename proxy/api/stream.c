/*
 * Stream filters: restore pseudonyms in streamed answers (SSE and NDJSON)
 * as they pass, holding back only what could still become a token.
 *
 * Each text stream (a choice's content, its completion text, one of its tool
 * calls' arguments) keeps at most one held-back tail: the bytes from a '['
 * that are a proper prefix of some token of the map ("[EM", "[EMAIL_1" when
 * "[EMAIL_12]" exists). Everything before it is restored and sent in the
 * event it came in. The tail is put in front of the same stream's text in
 * its next event, and sent whatever it is when the choice finishes, at
 * [DONE], or at the end of the stream. detect_revmap_restore decides at each
 * '[' by the first ']' within API_TOKEN_MAX bytes, so a '[' whose tail is not
 * the start of a known token is decided already: this is what makes the
 * streamed result equal restoring the whole text at once (fuzz_api checks it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

enum format {
    FMT_SSE = 0,    /* text/event-stream, OpenAI style */
    FMT_NDJSON = 1, /* one JSON object per line, Ollama style */
};

/* The text fields a stream carries. */
enum field {
    F_CONTENT = 0,  /* choices[].delta.content / message.content (NDJSON) */
    F_TEXT = 1,     /* choices[].text (completions) */
    F_TOOL = 2,     /* choices[].delta.tool_calls[].function.arguments */
    F_RESPONSE = 3, /* response (NDJSON /api/generate) */
};

struct held {
    int64_t choice;
    int64_t tool; /* tool call index for F_TOOL, else 0 */
    enum field field;
    size_t len;
    char text[API_TOKEN_MAX];
    int consumed; /* set while an event uses it */
};

struct tok {
    const char *s;
    size_t len;
};

struct api_stream {
    enum format fmt;
    const struct detect_revmap *map;
    struct api_limits lim;
    struct tok *tok; /* the map's tokens, sorted, for prefix queries */
    size_t ntok;
    struct vigie_buf ev;  /* bytes of the event not yet complete */
    size_t scan;          /* ev[0..scan) holds no event end */
    size_t line_start;    /* start of the current line in ev */
    struct held *held;
    size_t nheld, held_cap;
    json_t *tmpl;         /* top-level fields of the last chunk, for synthesized ones */
    int crlf;             /* the last event ended its lines with CRLF */
    struct api_usage usage;
    size_t events, unparsed;
    int hide_usage; /* api_stream_hide_usage */
    struct vigie_buf tmp, data;
    api_stream_observe_fn observe; /* sees every restored text as it is released */
    void *observe_arg;
    int stopped;                   /* the observer stopped the stream */
};

/* An edit of the current event, with its bytes in ctx.enc at [off, off+len). */
struct pedit {
    struct api_place place;
    enum api_edit_op op;
    size_t off, len;
};

struct ctx {
    struct api_stream *s;
    struct vigie_buf enc;
    struct pedit *e;
    size_t ne, cap;
};

/* ---- tokens ------------------------------------------------------------------------ */

static int tok_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);

    return c != 0 ? c : (al < bl ? -1 : al > bl);
}

static int tok_order(const void *x, const void *y)
{
    const struct tok *a = x, *b = y;

    return tok_cmp(a->s, a->len, b->s, b->len);
}

/* Whether s[0..len) is a proper prefix of a token of the map. */
static int token_prefix(const struct api_stream *st, const char *s, size_t len)
{
    size_t lo = 0, hi = st->ntok;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tok_cmp(st->tok[mid].s, st->tok[mid].len, s, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < st->ntok && st->tok[lo].len > len && memcmp(st->tok[lo].s, s, len) == 0;
}

/* Where the held-back tail of t starts (len: nothing held). Only a '[' in the
 * last API_TOKEN_MAX bytes with no ']' after it can still open a token. */
static size_t holdback(const struct api_stream *st, const char *t, size_t len)
{
    size_t i = len >= API_TOKEN_MAX ? len - (API_TOKEN_MAX - 1) : 0;

    if (st->ntok == 0)
        return len;
    for (; i < len; i++) {
        const char *p = memchr(t + i, '[', len - i);
        if (p == NULL)
            return len;
        i = (size_t)(p - t);
        if (memchr(p, ']', len - i) == NULL && token_prefix(st, p, len - i))
            return i;
    }
    return len;
}

/* ---- life cycle ---------------------------------------------------------------------- */

static struct api_stream *stream_new(enum format fmt, const struct detect_revmap *map,
                                     const struct api_limits *lim)
{
    struct api_limits dflt;
    struct api_stream *s;
    size_t i, n = map != NULL ? detect_revmap_count(map) : 0;

    api_init();
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->fmt = fmt;
    s->map = map;
    s->lim = *api_limits_or_default(lim, &dflt);
    vigie_buf_init(&s->ev, s->lim.event_max + 2);
    vigie_buf_init(&s->tmp, s->lim.event_max + API_TOKEN_MAX + VIGIE_VALUE_MAX * 64);
    vigie_buf_init(&s->data, s->lim.event_max + 2);
    if (n > 0) {
        s->tok = calloc(n, sizeof(*s->tok));
        if (s->tok == NULL) {
            free(s);
            return NULL;
        }
        for (i = 0; i < n; i++) {
            const char *v;
            size_t vl;
            detect_revmap_entry(map, i, &s->tok[i].s, &s->tok[i].len, &v, &vl);
        }
        qsort(s->tok, n, sizeof(*s->tok), tok_order);
        s->ntok = n;
    }
    return s;
}

struct api_stream *api_sse_new(const struct detect_revmap *map, const struct api_limits *lim)
{
    return stream_new(FMT_SSE, map, lim);
}

struct api_stream *api_ndjson_new(const struct detect_revmap *map, const struct api_limits *lim)
{
    return stream_new(FMT_NDJSON, map, lim);
}

void api_stream_set_observer(struct api_stream *s, api_stream_observe_fn fn, void *arg)
{
    s->observe = fn;
    s->observe_arg = arg;
}

void api_stream_free(struct api_stream *s)
{
    if (s == NULL)
        return;
    if (s->held != NULL) {
        vigie_wipe(s->held, s->held_cap * sizeof(*s->held));
        free(s->held);
    }
    free(s->tok);
    vigie_buf_free(&s->ev);
    vigie_buf_free(&s->tmp);
    vigie_buf_free(&s->data);
    json_decref(s->tmpl);
    free(s);
}

void api_stream_hide_usage(struct api_stream *s)
{
    s->hide_usage = 1;
}

void api_stream_usage(const struct api_stream *s, struct api_usage *out)
{
    *out = s->usage;
}

void api_stream_counts(const struct api_stream *s, size_t *events, size_t *unparsed)
{
    *events = s->events;
    *unparsed = s->unparsed;
}

/* ---- held tails -------------------------------------------------------------------- */

static struct held *held_find(struct api_stream *s, int64_t choice, enum field f, int64_t tool)
{
    size_t i;

    for (i = 0; i < s->nheld; i++)
        if (s->held[i].choice == choice && s->held[i].field == f && s->held[i].tool == tool)
            return &s->held[i];
    return NULL;
}

static void held_drop(struct api_stream *s, struct held *h)
{
    size_t i = (size_t)(h - s->held);

    vigie_wipe(h, sizeof(*h));
    s->held[i] = s->held[--s->nheld];
    vigie_wipe(&s->held[s->nheld], sizeof(*h));
}

/* ---- edits of one event ----------------------------------------------------------------- */

static struct pedit *edit_add(struct ctx *c, const json_t *parent, const char *key, size_t index,
                              enum api_edit_op op)
{
    struct pedit *e;

    if (VIGIE_ARRAY_RESERVE(c->e, c->ne, c->cap, 8) != VIGIE_OK)
        return NULL;
    e = &c->e[c->ne++];
    memset(e, 0, sizeof(*e));
    e->place.parent = parent;
    e->place.key = key;
    e->place.index = key != NULL ? SIZE_MAX : index;
    e->op = op;
    e->off = c->enc.len;
    return e;
}

/* Shows released text to the observer; its refusal stops the stream. */
static int observe(struct api_stream *s, int64_t choice, enum field f, const char *t, size_t len)
{
    if (s->observe == NULL || len == 0)
        return VIGIE_OK;
    if (s->observe(s->observe_arg, choice, (int)f, t, len) != 0) {
        s->stopped = 1;
        return VIGIE_ERR_MATCH;
    }
    return VIGIE_OK;
}

/* Restores text[0..len) of stream (choice, f) into c->enc as a JSON string,
 * after the observer has seen the restored text. */
static int enc_restored(struct ctx *c, int64_t choice, enum field f, const char *text,
                        size_t len)
{
    struct api_stream *s = c->s;
    int rc;

    vigie_buf_reset(&s->tmp);
    if (s->map != NULL) {
        if ((rc = detect_revmap_restore(s->map, text, len, &s->tmp)) != VIGIE_OK) {
            vigie_buf_init(&s->tmp, s->lim.event_max + API_TOKEN_MAX + VIGIE_VALUE_MAX * 64);
            return rc;
        }
        text = s->tmp.data != NULL ? s->tmp.data : "";
        len = s->tmp.len;
    }
    if ((rc = observe(s, choice, f, text, len)) != VIGIE_OK)
        return rc;
    return vigie_buf_json_str(&c->enc, text, len);
}

/* One streamed string: parent[key|index] holds value, part of stream
 * (choice, f, tool). Puts any held tail in front, restores, holds back a new
 * tail unless the stream ends here (fin). */
static int stream_text(struct ctx *c, const json_t *parent, const char *key, size_t index,
                       const json_t *value, int64_t choice, enum field f, int64_t tool, int fin)
{
    struct api_stream *s = c->s;
    struct held *h = held_find(s, choice, f, tool);
    const char *v = json_string_value(value);
    size_t vlen = json_string_length(value), cut, hl = h != NULL ? h->len : 0;
    struct vigie_buf join;
    struct pedit *e;
    const char *t;
    size_t tl;
    int rc;

    if (h != NULL)
        h->consumed = 1;
    if (hl == 0 && (s->ntok == 0 || memchr(v, '[', vlen) == NULL))
        return observe(s, choice, f, v, vlen); /* the common case: nothing to restore, nothing held */
    vigie_buf_init(&join, s->lim.event_max + API_TOKEN_MAX);
    if ((rc = vigie_buf_append(&join, h != NULL ? h->text : "", hl)) != VIGIE_OK ||
        (rc = vigie_buf_append(&join, v, vlen)) != VIGIE_OK)
        goto out;
    t = join.data;
    tl = join.len;
    cut = fin ? tl : holdback(s, t, tl);
    if (h == NULL && cut < tl) {
        if (s->nheld >= VIGIE_API_STREAMS_MAX) {
            rc = VIGIE_ERR_TOO_BIG;
            goto out;
        }
        if ((rc = VIGIE_ARRAY_RESERVE(s->held, s->nheld, s->held_cap, 4)) != VIGIE_OK)
            goto out;
        h = &s->held[s->nheld++];
        memset(h, 0, sizeof(*h));
        h->choice = choice;
        h->field = f;
        h->tool = tool;
        h->consumed = 1;
    }
    if ((e = edit_add(c, parent, key, index, API_EDIT_REPLACE)) == NULL) {
        rc = VIGIE_ERR_NOMEM;
        goto out;
    }
    if ((rc = enc_restored(c, choice, f, t, cut)) != VIGIE_OK)
        goto out;
    e->len = c->enc.len - e->off;
    if (cut < tl) {
        VIGIE_ASSERT(tl - cut < API_TOKEN_MAX);
        memcpy(h->text, t + cut, tl - cut);
        h->len = tl - cut;
    } else if (h != NULL) {
        held_drop(s, h);
    }
out:
    vigie_buf_free(&join);
    return rc;
}

/* Appends "key":<restored held text> to c->enc. */
static int enc_member(struct ctx *c, const char *key, const struct held *h)
{
    int rc;

    if ((rc = vigie_buf_json_str(&c->enc, key, strlen(key))) != VIGIE_OK ||
        (rc = vigie_buf_appendc(&c->enc, ':')) != VIGIE_OK)
        return rc;
    return enc_restored(c, h->choice, h->field, h->text, h->len);
}

/* {"index":j,"function":{"arguments":<text>}} */
static int enc_tool(struct ctx *c, const struct held *h)
{
    int rc;

    if ((rc = vigie_buf_printf(&c->enc, "{\"index\":%lld,\"function\":{", (long long)h->tool)) !=
            VIGIE_OK ||
        (rc = enc_member(c, "arguments", h)) != VIGIE_OK)
        return rc;
    return vigie_buf_append(&c->enc, "}}", 2);
}

/* Writes "key":value or replaces the value of key in obj, or inserts the
 * member: the held text of one stream. */
static int put_member(struct ctx *c, const json_t *obj, const char *key, const struct held *h)
{
    int replace = json_object_get(obj, key) != NULL; /* present but not a string: null */
    struct pedit *e = replace ? edit_add(c, obj, key, SIZE_MAX, API_EDIT_REPLACE)
                              : edit_add(c, obj, NULL, SIZE_MAX, API_EDIT_INSERT);
    int rc;

    if (e == NULL)
        return VIGIE_ERR_NOMEM;
    rc = replace ? enc_restored(c, h->choice, h->field, h->text, h->len) : enc_member(c, key, h);
    e->len = c->enc.len - e->off;
    return rc;
}

/* Appends [tool, tool, ...] for the held tool-call tails of a choice. */
static int enc_tools(struct ctx *c, int64_t choice)
{
    struct api_stream *s = c->s;
    size_t i;
    int rc, first = 1;

    if ((rc = vigie_buf_appendc(&c->enc, '[')) != VIGIE_OK)
        return rc;
    for (i = 0; i < s->nheld; i++) {
        const struct held *h = &s->held[i];
        if (h->choice != choice || h->consumed || h->field != F_TOOL)
            continue;
        if ((!first && (rc = vigie_buf_appendc(&c->enc, ',')) != VIGIE_OK) ||
            (rc = enc_tool(c, h)) != VIGIE_OK)
            return rc;
        first = 0;
    }
    return vigie_buf_appendc(&c->enc, ']');
}

/* A choice (SSE) or the answer (NDJSON) finished while some of its streams
 * still hold a tail this event did not carry: each tail goes into this event,
 * as the value of its field (replacing a null) or as a new member. owner is
 * the choice (SSE) or the root (NDJSON); inner its delta or message object,
 * or NULL when it has none. One member per key: a second would be a
 * duplicate key. */
static int flush_into(struct ctx *c, const json_t *owner, const json_t *inner, int64_t choice)
{
    struct api_stream *s = c->s;
    const char *inner_key = s->fmt == FMT_NDJSON ? "message" : "delta";
    struct held *content = NULL, *tail = NULL;
    size_t i, ntools = 0;
    int rc;

    for (i = 0; i < s->nheld; i++) {
        struct held *h = &s->held[i];
        if (h->choice != choice || h->consumed)
            continue;
        if (h->field == F_CONTENT)
            content = h;
        else if (h->field == F_TOOL)
            ntools++;
        else
            tail = h; /* F_TEXT or F_RESPONSE: a member of the owner */
    }
    if (tail != NULL &&
        (rc = put_member(c, owner, tail->field == F_TEXT ? "text" : "response", tail)) != VIGIE_OK)
        return rc;
    if (inner != NULL) {
        const json_t *tc = json_object_get(inner, "tool_calls");
        if (content != NULL && (rc = put_member(c, inner, "content", content)) != VIGIE_OK)
            return rc;
        if (ntools > 0 && json_is_array(tc)) {
            /* New elements at the front of the existing array. */
            for (i = 0; i < s->nheld; i++) {
                struct held *h = &s->held[i];
                struct pedit *e;
                if (h->choice != choice || h->consumed || h->field != F_TOOL)
                    continue;
                if ((e = edit_add(c, tc, NULL, SIZE_MAX, API_EDIT_INSERT)) == NULL)
                    return VIGIE_ERR_NOMEM;
                if ((rc = enc_tool(c, h)) != VIGIE_OK)
                    return rc;
                e->len = c->enc.len - e->off;
            }
        } else if (ntools > 0) {
            struct pedit *e = tc != NULL
                                  ? edit_add(c, inner, "tool_calls", SIZE_MAX, API_EDIT_REPLACE)
                                  : edit_add(c, inner, NULL, SIZE_MAX, API_EDIT_INSERT);
            if (e == NULL)
                return VIGIE_ERR_NOMEM;
            if ((tc == NULL && (rc = vigie_buf_append(&c->enc, "\"tool_calls\":", 13)) != VIGIE_OK) ||
                (rc = enc_tools(c, choice)) != VIGIE_OK)
                return rc;
            e->len = c->enc.len - e->off;
        }
    } else if (content != NULL || ntools > 0) {
        /* No delta (message) object: one is written with every tail in it,
         * replacing a non-object value of the key if there is one. */
        int replace = json_object_get(owner, inner_key) != NULL;
        struct pedit *e = replace ? edit_add(c, owner, inner_key, SIZE_MAX, API_EDIT_REPLACE)
                                  : edit_add(c, owner, NULL, SIZE_MAX, API_EDIT_INSERT);
        if (e == NULL)
            return VIGIE_ERR_NOMEM;
        if (!replace && (rc = vigie_buf_printf(&c->enc, "\"%s\":", inner_key)) != VIGIE_OK)
            return rc;
        if ((rc = vigie_buf_appendc(&c->enc, '{')) != VIGIE_OK)
            return rc;
        if (s->fmt == FMT_NDJSON &&
            (rc = vigie_buf_append(&c->enc, "\"role\":\"assistant\",", 19)) != VIGIE_OK)
            return rc;
        if (content != NULL && (rc = enc_member(c, "content", content)) != VIGIE_OK)
            return rc;
        if (ntools > 0 && ((content != NULL && (rc = vigie_buf_appendc(&c->enc, ',')) != VIGIE_OK) ||
                           (rc = vigie_buf_append(&c->enc, "\"tool_calls\":", 13)) != VIGIE_OK ||
                           (rc = enc_tools(c, choice)) != VIGIE_OK))
            return rc;
        if ((rc = vigie_buf_appendc(&c->enc, '}')) != VIGIE_OK)
            return rc;
        e->len = c->enc.len - e->off;
    }
    /* Everything of this choice went out. */
    for (i = 0; i < s->nheld;) {
        if (s->held[i].choice == choice)
            held_drop(s, &s->held[i]);
        else
            i++;
    }
    return VIGIE_OK;
}

static int64_t index_of(const json_t *o, size_t pos)
{
    const json_t *ix = json_object_get(o, "index");

    return json_is_integer(ix) ? (int64_t)json_integer_value(ix) : (int64_t)pos;
}

static int sse_choice(struct ctx *c, const json_t *ch, size_t pos)
{
    const json_t *delta = json_object_get(ch, "delta"), *v, *tcs;
    const json_t *fr = json_object_get(ch, "finish_reason");
    int64_t choice = index_of(ch, pos);
    int fin = fr != NULL && !json_is_null(fr);
    size_t i;
    int rc;

    if (!json_is_object(delta))
        delta = NULL;
    if (delta != NULL) {
        v = json_object_get(delta, "content");
        if (json_is_string(v) &&
            (rc = stream_text(c, delta, "content", SIZE_MAX, v, choice, F_CONTENT, 0, fin)) !=
                VIGIE_OK)
            return rc;
        tcs = json_object_get(delta, "tool_calls");
        for (i = 0; json_is_array(tcs) && i < json_array_size(tcs); i++) {
            const json_t *tc = json_array_get(tcs, i), *fn;
            if (!json_is_object(tc))
                continue;
            fn = json_object_get(tc, "function");
            v = json_is_object(fn) ? json_object_get(fn, "arguments") : NULL;
            if (json_is_string(v) &&
                (rc = stream_text(c, fn, "arguments", SIZE_MAX, v, choice, F_TOOL,
                                  index_of(tc, i), fin)) != VIGIE_OK)
                return rc;
        }
    }
    v = json_object_get(ch, "text");
    if (json_is_string(v) &&
        (rc = stream_text(c, ch, "text", SIZE_MAX, v, choice, F_TEXT, 0, fin)) != VIGIE_OK)
        return rc;
    return fin ? flush_into(c, ch, delta, choice) : VIGIE_OK;
}

static void read_usage(struct api_stream *s, const json_t *u)
{
    if (!json_is_object(u))
        return;
    s->usage.present = 1;
    s->usage.prompt_tokens = json_integer_value(json_object_get(u, "prompt_tokens"));
    s->usage.completion_tokens = json_integer_value(json_object_get(u, "completion_tokens"));
    s->usage.total_tokens = json_integer_value(json_object_get(u, "total_tokens"));
}

/* Keeps the identifying top-level fields of a chunk for synthesized ones. */
static void keep_template(struct api_stream *s, const json_t *root)
{
    static const char *const sse_keys[] = {"id", "object", "created", "model",
                                           "system_fingerprint", NULL};
    static const char *const nd_keys[] = {"model", "created_at", NULL};
    const char *const *k = s->fmt == FMT_SSE ? sse_keys : nd_keys;
    json_t *t = json_object();

    if (t == NULL)
        return;
    for (; *k != NULL; k++) {
        json_t *v = json_object_get(root, *k);
        if (v != NULL && (json_is_string(v) || json_is_integer(v)))
            json_object_set(t, *k, v);
    }
    json_decref(s->tmpl);
    s->tmpl = t;
}

/* Works out the edits of one JSON chunk. */
static int chunk_edits(struct ctx *c, const json_t *root)
{
    struct api_stream *s = c->s;
    size_t i;
    int rc;

    for (i = 0; i < s->nheld; i++)
        s->held[i].consumed = 0;
    api_model_copy(s->usage.model, json_object_get(root, "model"));
    if (s->fmt == FMT_SSE) {
        const json_t *chs = json_object_get(root, "choices");
        read_usage(s, json_object_get(root, "usage"));
        for (i = 0; json_is_array(chs) && i < json_array_size(chs); i++) {
            const json_t *ch = json_array_get(chs, i);
            if (json_is_object(ch) && (rc = sse_choice(c, ch, i)) != VIGIE_OK)
                return rc;
        }
    } else {
        const json_t *msg = json_object_get(root, "message"), *v;
        int fin = json_is_true(json_object_get(root, "done"));
        if (fin) {
            const json_t *pe = json_object_get(root, "prompt_eval_count");
            const json_t *ec = json_object_get(root, "eval_count");
            if (pe != NULL || ec != NULL) {
                s->usage.present = 1;
                s->usage.prompt_tokens = json_integer_value(pe);
                s->usage.completion_tokens = json_integer_value(ec);
                s->usage.total_tokens = s->usage.prompt_tokens + s->usage.completion_tokens;
            }
        }
        if (!json_is_object(msg))
            msg = NULL;
        v = msg != NULL ? json_object_get(msg, "content") : NULL;
        if (json_is_string(v) &&
            (rc = stream_text(c, msg, "content", SIZE_MAX, v, 0, F_CONTENT, 0, fin)) != VIGIE_OK)
            return rc;
        v = json_object_get(root, "response");
        if (json_is_string(v) &&
            (rc = stream_text(c, root, "response", SIZE_MAX, v, 0, F_RESPONSE, 0, fin)) !=
                VIGIE_OK)
            return rc;
        if (fin && (rc = flush_into(c, root, msg, 0)) != VIGIE_OK)
            return rc;
    }
    keep_template(s, root);
    return VIGIE_OK;
}

/* Applies the edits to json[0..len) into out. */
static int splice_chunk(struct ctx *c, const json_t *root, const char *json, size_t len,
                        struct vigie_buf *out)
{
    struct api_place *pl;
    struct api_edit *ed;
    size_t i;
    int rc = VIGIE_ERR_NOMEM;

    pl = calloc(c->ne, sizeof(*pl));
    ed = calloc(c->ne, sizeof(*ed));
    if (pl == NULL || ed == NULL)
        goto out;
    for (i = 0; i < c->ne; i++) {
        pl[i] = c->e[i].place;
        pl[i].tag = i;
        ed[i].op = c->e[i].op;
        ed[i].bytes = c->enc.data + c->e[i].off;
        ed[i].len = c->e[i].len;
    }
    rc = api_places_resolve(root, pl, c->ne);
    if (rc == VIGIE_OK) {
        for (i = 0; i < c->ne; i++)
            ed[pl[i].tag].ordinal = pl[i].ordinal;
        rc = api_splice(json, len, ed, c->ne, out);
    }
out:
    free(pl);
    free(ed);
    return rc;
}

/* ---- synthesized chunks --------------------------------------------------------------- */

/* Appends the template's fields as members ("id":..,) to b. */
static int tmpl_members(struct api_stream *s, struct vigie_buf *b)
{
    const char *k;
    json_t *v;
    int rc;

    if (s->tmpl == NULL)
        return VIGIE_OK;
    json_object_foreach(s->tmpl, k, v) {
        if ((rc = vigie_buf_json_str(b, k, strlen(k))) != VIGIE_OK ||
            (rc = vigie_buf_appendc(b, ':')) != VIGIE_OK)
            return rc;
        if (json_is_integer(v))
            rc = vigie_buf_printf(b, "%lld", (long long)json_integer_value(v));
        else
            rc = vigie_buf_json_str(b, json_string_value(v), json_string_length(v));
        if (rc != VIGIE_OK || (rc = vigie_buf_appendc(b, ',')) != VIGIE_OK)
            return rc;
    }
    return VIGIE_OK;
}

/* The stream ends ([DONE], end of input) with tails still held: each goes out
 * in a chunk of its own, shaped like the chunks before it. */
static int flush_all(struct api_stream *s, struct vigie_buf *out)
{
    const char *nl = s->crlf ? "\r\n" : "\n";
    struct ctx c;
    int rc = VIGIE_OK;

    memset(&c, 0, sizeof(c));
    c.s = s;
    vigie_buf_init(&c.enc, s->lim.event_max);
    while (s->nheld > 0 && rc == VIGIE_OK) {
        struct held *h = &s->held[0];
        vigie_buf_reset(&c.enc);
        if (s->fmt == FMT_SSE) {
            rc = vigie_buf_append(&c.enc, "data: {", 7);
            if (rc == VIGIE_OK)
                rc = tmpl_members(s, &c.enc);
            if (rc == VIGIE_OK)
                rc = vigie_buf_printf(&c.enc, "\"choices\":[{\"index\":%lld,", (long long)h->choice);
            if (rc == VIGIE_OK) {
                if (h->field == F_TEXT) {
                    rc = enc_member(&c, "text", h);
                } else if (h->field == F_TOOL) {
                    rc = vigie_buf_append(&c.enc, "\"delta\":{\"tool_calls\":[", 23);
                    if (rc == VIGIE_OK)
                        rc = enc_tool(&c, h);
                    if (rc == VIGIE_OK)
                        rc = vigie_buf_append(&c.enc, "]}", 2);
                } else {
                    rc = vigie_buf_append(&c.enc, "\"delta\":{", 9);
                    if (rc == VIGIE_OK)
                        rc = enc_member(&c, "content", h);
                    if (rc == VIGIE_OK)
                        rc = vigie_buf_appendc(&c.enc, '}');
                }
            }
            if (rc == VIGIE_OK)
                rc = vigie_buf_printf(&c.enc, ",\"finish_reason\":null}]}%s%s", nl, nl);
        } else {
            rc = vigie_buf_appendc(&c.enc, '{');
            if (rc == VIGIE_OK)
                rc = tmpl_members(s, &c.enc);
            if (rc == VIGIE_OK) {
                if (h->field == F_RESPONSE) {
                    rc = enc_member(&c, "response", h);
                } else {
                    rc = vigie_buf_append(&c.enc, "\"message\":{\"role\":\"assistant\",", 31);
                    if (rc == VIGIE_OK)
                        rc = enc_member(&c, "content", h);
                    if (rc == VIGIE_OK)
                        rc = vigie_buf_appendc(&c.enc, '}');
                }
            }
            if (rc == VIGIE_OK)
                rc = vigie_buf_printf(&c.enc, ",\"done\":false}\n");
        }
        if (rc == VIGIE_OK)
            rc = vigie_buf_append(out, c.enc.data, c.enc.len);
        held_drop(s, h);
    }
    vigie_buf_free(&c.enc);
    return rc;
}

/* ---- events --------------------------------------------------------------------------- */

/* Parses and rewrites the JSON of one event: VIGIE_OK with *changed and the
 * new JSON in out, or VIGIE_OK with *changed 0 when it is not JSON. */
static int process_json(struct api_stream *s, const char *json, size_t len, struct vigie_buf *out,
                        int *changed)
{
    struct api_limits lim = s->lim;
    struct ctx c;
    json_t *root = NULL;
    int rc;

    *changed = 0;
    lim.body_max = s->lim.event_max;
    if (api_json_load(json, len, &lim, &root, NULL) != VIGIE_OK || !json_is_object(root)) {
        /* Not ours to judge: a non-JSON event carries no text we restore
         * (pseudonyms left in it reveal nothing), so it passes as it came. */
        s->unparsed++;
        json_decref(root);
        return VIGIE_OK;
    }
    memset(&c, 0, sizeof(c));
    c.s = s;
    if (s->hide_usage && s->fmt == FMT_SSE && json_is_object(json_object_get(root, "usage"))) {
        const json_t *chs = json_object_get(root, "choices");
        if (json_is_array(chs) && json_array_size(chs) == 0) {
            /* the usage chunk the client did not ask for: read, not passed on */
            read_usage(s, json_object_get(root, "usage"));
            api_model_copy(s->usage.model, json_object_get(root, "model"));
            json_decref(root);
            *changed = -1;
            return VIGIE_OK;
        }
    }
    vigie_buf_init(&c.enc, s->lim.event_max + API_TOKEN_MAX + VIGIE_VALUE_MAX * 64);
    rc = chunk_edits(&c, root);
    if (rc == VIGIE_OK && c.ne > 0) {
        rc = splice_chunk(&c, root, json, len, out);
        *changed = rc == VIGIE_OK;
    }
    vigie_buf_free(&c.enc);
    free(c.e);
    json_decref(root);
    return rc;
}

/* One complete SSE event ev[0..len), its blank line included. */
static int sse_event(struct api_stream *s, const char *ev, size_t len, struct vigie_buf *out)
{
    size_t i = 0, ndata = 0, first_data = SIZE_MAX;
    struct vigie_buf js;
    int rc, changed = 0;

    s->events++;
    vigie_buf_reset(&s->data);
    while (i < len) {
        const char *nlp = memchr(ev + i, '\n', len - i);
        size_t end = nlp != NULL ? (size_t)(nlp - ev) : len, l = end - i;
        const char *line = ev + i;
        if (l > 0 && line[l - 1] == '\r') {
            l--;
            s->crlf = 1;
        } else if (nlp != NULL) {
            s->crlf = 0;
        }
        if (l >= 5 && memcmp(line, "data", 4) == 0 && (line[4] == ':')) {
            size_t vo = 5 + (l > 5 && line[5] == ' ');
            if (first_data == SIZE_MAX)
                first_data = i;
            if ((ndata++ > 0 && (rc = vigie_buf_appendc(&s->data, '\n')) != VIGIE_OK) ||
                (rc = vigie_buf_append(&s->data, line + vo, l - vo)) != VIGIE_OK)
                return rc;
        } else if (l == 4 && memcmp(line, "data", 4) == 0) {
            if (first_data == SIZE_MAX)
                first_data = i;
            if (ndata++ > 0 && (rc = vigie_buf_appendc(&s->data, '\n')) != VIGIE_OK)
                return rc;
        }
        i = end + 1;
    }
    if (ndata == 0)
        return vigie_buf_append(out, ev, len);
    if (s->data.len == 6 && memcmp(s->data.data, "[DONE]", 6) == 0) {
        if ((rc = flush_all(s, out)) != VIGIE_OK)
            return rc;
        return vigie_buf_append(out, ev, len);
    }
    vigie_buf_init(&js, s->lim.event_max * 2 + VIGIE_VALUE_MAX * 64);
    rc = process_json(s, s->data.data != NULL ? s->data.data : "", s->data.len, &js, &changed);
    if (rc == VIGIE_OK && changed < 0) {
        /* dropped whole */
    } else if (rc == VIGIE_OK && !changed) {
        rc = vigie_buf_append(out, ev, len);
    } else if (rc == VIGIE_OK) {
        /* The lines as they came, the data lines replaced by one. */
        for (i = 0; i < len && rc == VIGIE_OK;) {
            const char *nlp = memchr(ev + i, '\n', len - i);
            size_t end = nlp != NULL ? (size_t)(nlp - ev) + 1 : len;
            int is_data = len - i >= 4 && memcmp(ev + i, "data", 4) == 0 &&
                          (end - i == 4 || ev[i + 4] == ':' || ev[i + 4] == '\r' ||
                           ev[i + 4] == '\n');
            if (i == first_data) {
                const char *term = ev + end - (end - i >= 2 && ev[end - 2] == '\r' ? 2 : 1);
                rc = vigie_buf_append(out, "data: ", 6);
                if (rc == VIGIE_OK)
                    rc = vigie_buf_append(out, js.data, js.len);
                if (rc == VIGIE_OK && nlp != NULL)
                    rc = vigie_buf_append(out, term, (size_t)(ev + end - term));
            } else if (!is_data) {
                rc = vigie_buf_append(out, ev + i, end - i);
            }
            i = end;
        }
    }
    vigie_buf_free(&js);
    return rc;
}

/* One complete NDJSON line (its '\n' included, unless the stream ended). */
static int ndjson_line(struct api_stream *s, const char *ln, size_t len, struct vigie_buf *out)
{
    size_t l = len;
    struct vigie_buf js;
    int rc, changed = 0;

    s->events++;
    while (l > 0 && (ln[l - 1] == '\n' || ln[l - 1] == '\r'))
        l--;
    if (l == 0)
        return vigie_buf_append(out, ln, len);
    vigie_buf_init(&js, s->lim.event_max * 2 + VIGIE_VALUE_MAX * 64);
    rc = process_json(s, ln, l, &js, &changed);
    if (rc == VIGIE_OK && !changed)
        rc = vigie_buf_append(out, ln, len);
    else if (rc == VIGIE_OK && (rc = vigie_buf_append(out, js.data, js.len)) == VIGIE_OK)
        rc = vigie_buf_append(out, ln + l, len - l);
    vigie_buf_free(&js);
    return rc;
}

/* Cuts complete events off the front of s->ev and passes them on. */
static int drain(struct api_stream *s, struct vigie_buf *out)
{
    size_t consumed = 0;
    int rc = VIGIE_OK;

    while (s->scan < s->ev.len) {
        const char *d = s->ev.data;
        const char *nlp = memchr(d + s->scan, '\n', s->ev.len - s->scan);
        size_t p, ls;
        if (nlp == NULL) {
            s->scan = s->ev.len;
            break;
        }
        p = (size_t)(nlp - d);
        ls = s->line_start;
        s->scan = p + 1;
        s->line_start = p + 1;
        if (s->fmt == FMT_NDJSON) {
            rc = ndjson_line(s, d + consumed, p + 1 - consumed, out);
        } else if (p == ls || (p == ls + 1 && d[ls] == '\r')) {
            /* A blank line ends the event (a lone one is passed on as is). */
            rc = sse_event(s, d + consumed, p + 1 - consumed, out);
        } else {
            continue;
        }
        if (rc != VIGIE_OK)
            return rc;
        consumed = p + 1;
    }
    if (consumed > 0) {
        size_t rest = s->ev.len - consumed;
        memmove(s->ev.data, s->ev.data + consumed, rest);
        vigie_wipe(s->ev.data + rest, consumed);
        s->ev.len = rest;
        s->ev.data[rest] = '\0';
        s->scan -= consumed;
        s->line_start -= consumed;
    }
    return rc;
}

static int fail(const struct api_stream *s, struct api_error *err, int rc)
{
    if (s->stopped)
        api_error_set(err, API_WHY_STOPPED, "the answer was stopped by its observer");
    else if (rc == VIGIE_ERR_TOO_BIG)
        api_error_set(err, API_WHY_EVENT_TOO_BIG, "a streamed event or line is over the limit");
    else if (rc == VIGIE_ERR_NOMEM)
        api_error_set(err, API_WHY_NOMEM, "out of memory");
    else
        api_error_set(err, API_WHY_INTERNAL, "stream filter failed (%s)", vigie_strerror(rc));
    return rc;
}

int api_stream_feed(struct api_stream *s, const char *in, size_t len, struct vigie_buf *out,
                    struct api_error *err)
{
    int rc;

    /* Slices keep the pending event bounded whatever the caller feeds. */
    while (len > 0) {
        size_t room = s->lim.event_max + 1 - s->ev.len, n = len < room ? len : room;
        if ((rc = vigie_buf_append(&s->ev, in, n)) != VIGIE_OK) {
            vigie_buf_init(&s->ev, s->lim.event_max + 2);
            return fail(s, err, rc);
        }
        in += n;
        len -= n;
        if ((rc = drain(s, out)) != VIGIE_OK)
            return fail(s, err, rc);
        if (s->ev.len > s->lim.event_max)
            return fail(s, err, VIGIE_ERR_TOO_BIG);
    }
    return VIGIE_OK;
}

int api_stream_finish(struct api_stream *s, struct vigie_buf *out, struct api_error *err)
{
    int rc = VIGIE_OK;

    /* An unterminated last event is still an event (the SSE spec drops it;
     * passing it on loses nothing and shows the client what came). */
    if (s->ev.len > 0) {
        if (s->fmt == FMT_NDJSON)
            rc = ndjson_line(s, s->ev.data, s->ev.len, out);
        else
            rc = sse_event(s, s->ev.data, s->ev.len, out);
        /* Chunks synthesized below must not run into its last line. */
        if (rc == VIGIE_OK && s->nheld > 0)
            rc = vigie_buf_append(out, s->fmt == FMT_NDJSON ? "\n" : "\n\n",
                                  s->fmt == FMT_NDJSON ? 1 : 2);
        vigie_buf_reset(&s->ev);
        s->scan = s->line_start = 0;
    }
    if (rc == VIGIE_OK)
        rc = flush_all(s, out);
    return rc == VIGIE_OK ? VIGIE_OK : fail(s, err, rc);
}
