/*
 * JSON for the api module: the wiping allocator, the pre-scan that bounds
 * what jansson is given, and the splice that writes edits into the original
 * bytes instead of re-serialising the tree.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

/* ---- allocator ------------------------------------------------------------------ */

/* jansson frees without a size, so each block carries its own, in a header
 * as large as the strictest alignment: the free can then wipe the whole
 * block. Decoded prompt strings, the lexer's scratch buffer and every key
 * pass through here. */
#define HDR (sizeof(max_align_t) > sizeof(size_t) ? sizeof(max_align_t) : sizeof(size_t))

static void *wipe_malloc(size_t n)
{
    unsigned char *p;

    if (n > SIZE_MAX - HDR)
        return NULL;
    p = malloc(n + HDR);
    if (p == NULL)
        return NULL;
    memcpy(p, &n, sizeof(n));
    return p + HDR;
}

static void wipe_free(void *q)
{
    unsigned char *p;
    size_t n;

    if (q == NULL)
        return;
    p = (unsigned char *)q - HDR;
    memcpy(&n, p, sizeof(n));
    vigie_wipe(p, n + HDR);
    free(p);
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init(void)
{
    json_set_alloc_funcs(wipe_malloc, wipe_free);
}

void api_init(void)
{
    pthread_once(&init_once, init);
}

/* ---- limits and errors -------------------------------------------------------------- */

void api_limits_default(struct api_limits *l)
{
    l->body_max = VIGIE_API_BODY_MAX;
    l->out_max = VIGIE_API_OUT_MAX;
    l->depth_max = VIGIE_API_DEPTH_MAX;
    l->texts_max = VIGIE_API_TEXTS_MAX;
    l->event_max = VIGIE_API_EVENT_MAX;
    l->allow_uninspectable = 0;
}

const struct api_limits *api_limits_or_default(const struct api_limits *lim,
                                               struct api_limits *tmp)
{
    if (lim != NULL)
        return lim;
    api_limits_default(tmp);
    return tmp;
}

static const struct {
    const char *name;
    int status;
    int code;
} whys[] = {
    [API_WHY_NONE] = {"none", 200, VIGIE_OK},
    [API_WHY_NOMEM] = {"out_of_memory", 500, VIGIE_ERR_NOMEM},
    [API_WHY_TOO_BIG] = {"too_big", 413, VIGIE_ERR_TOO_BIG},
    [API_WHY_TOO_DEEP] = {"too_deep", 400, VIGIE_ERR_PARSE},
    [API_WHY_JSON] = {"invalid_json", 400, VIGIE_ERR_PARSE},
    [API_WHY_DUPLICATE] = {"duplicate_key", 400, VIGIE_ERR_PARSE},
    [API_WHY_TYPE] = {"wrong_type", 400, VIGIE_ERR_PARSE},
    [API_WHY_UNINSPECTABLE] = {"uninspectable", 422, VIGIE_ERR_PARSE},
    [API_WHY_TOO_MANY_TEXTS] = {"too_many_texts", 413, VIGIE_ERR_TOO_BIG},
    [API_WHY_EVENT_TOO_BIG] = {"event_too_big", 502, VIGIE_ERR_TOO_BIG},
    [API_WHY_INTERNAL] = {"internal", 500, VIGIE_ERR_INVAL},
    [API_WHY_STOPPED] = {"stopped", 403, VIGIE_ERR_MATCH},
};

const char *api_why_name(enum api_why why)
{
    return (unsigned)why < sizeof(whys) / sizeof(whys[0]) ? whys[why].name : "unknown";
}

int api_why_status(enum api_why why)
{
    return (unsigned)why < sizeof(whys) / sizeof(whys[0]) ? whys[why].status : 500;
}

int api_why_code(enum api_why why)
{
    return (unsigned)why < sizeof(whys) / sizeof(whys[0]) ? whys[why].code : VIGIE_ERR_INVAL;
}

void api_error_set(struct api_error *err, enum api_why why, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return;
    err->why = why;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

/* ---- loading --------------------------------------------------------------------- */

/* Skips the string whose opening quote is at s[i]; returns the index after
 * its closing quote, or len if it does not end (the parser will say so). */
static size_t skip_string(const char *s, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        const char *q = memchr(s + i, '"', len - i);
        size_t k, bs = 0;

        if (q == NULL)
            return len;
        i = (size_t)(q - s);
        /* The quote ends the string unless an odd number of backslashes
         * precedes it. */
        for (k = i; k > 0 && s[k - 1] == '\\'; k--)
            bs++;
        if (bs % 2 == 0)
            return i + 1;
    }
    return len;
}

/* What the pre-scan found wrong, if anything. */
enum prescan_why {
    PRESCAN_OK = 0,
    PRESCAN_DEPTH = 1,    /* nesting deeper than depth_max */
    PRESCAN_ELEMENTS = 2, /* more values than VIGIE_API_ELEMENTS_MAX */
    PRESCAN_NUMBER = 3,   /* a number token longer than VIGIE_API_NUMBER_MAX */
};

/* Depth of nesting, element count and number length, counted without
 * recursion on the raw bytes: jansson recurses once per level up to 2048,
 * and our own walkers recurse too, so a hostile body must be refused before
 * either runs; a body of 200,000 tiny elements costs jansson a node each, and
 * a 10,000-digit number is nobody's prompt. Brackets and digits inside
 * strings do not count. Returns PRESCAN_OK, or the reason with *at the byte
 * offset where the limit was passed. */
static enum prescan_why prescan(const char *s, size_t len, unsigned depth_max, size_t *at)
{
    size_t i = 0, depth = 0, elements = 0, num = 0;

    while (i < len) {
        char ch = s[i];
        if ((ch >= '0' && ch <= '9') || ch == '-' || ch == '+' || ch == '.' || ch == 'e' ||
            ch == 'E') {
            if (++num > VIGIE_API_NUMBER_MAX) {
                *at = i;
                return PRESCAN_NUMBER;
            }
            i++;
            continue;
        }
        num = 0;
        switch (ch) {
        case '"':
            i = skip_string(s, len, i);
            continue;
        case '[':
        case '{':
            if (++depth > depth_max) {
                *at = i;
                return PRESCAN_DEPTH;
            }
            if (++elements > VIGIE_API_ELEMENTS_MAX) { /* a container is an element */
                *at = i;
                return PRESCAN_ELEMENTS;
            }
            break;
        case ',':
            if (++elements > VIGIE_API_ELEMENTS_MAX) {
                *at = i;
                return PRESCAN_ELEMENTS;
            }
            break;
        case ']':
        case '}':
            if (depth > 0)
                depth--;
            break;
        default:
            break;
        }
        i++;
    }
    return PRESCAN_OK;
}

int api_json_load(const char *buf, size_t len, const struct api_limits *lim, json_t **out,
                  struct api_error *err)
{
    enum api_json_err je;
    json_t *j;
    size_t at;

    api_init();
    *out = NULL;
    if (len > lim->body_max) {
        api_error_set(err, API_WHY_TOO_BIG, "body of %zu bytes is over the limit of %zu", len,
                      lim->body_max);
        return VIGIE_ERR_TOO_BIG;
    }
    switch (prescan(buf, len, lim->depth_max, &at)) {
    case PRESCAN_OK:
        break;
    case PRESCAN_DEPTH:
        api_error_set(err, API_WHY_TOO_DEEP, "nesting deeper than %u at byte %zu",
                      lim->depth_max, at);
        return VIGIE_ERR_PARSE;
    case PRESCAN_ELEMENTS:
        api_error_set(err, API_WHY_JSON, "more than %u elements (at byte %zu)",
                      VIGIE_API_ELEMENTS_MAX, at);
        return VIGIE_ERR_PARSE;
    case PRESCAN_NUMBER:
        api_error_set(err, API_WHY_JSON, "a number longer than %u characters at byte %zu",
                      VIGIE_API_NUMBER_MAX, at);
        return VIGIE_ERR_PARSE;
    }
    /* Duplicates refused: a backend that keeps the other copy of a key would
     * read text never inspected. NaN and Infinity are not JSON; nor are
     * \u0000, lone surrogates and bad UTF-8. The message names the byte,
     * never the token. */
    j = api_json_parse(buf, len, lim->depth_max, &je, &at);
    if (j == NULL) {
        switch (je) {
        case API_JSON_DUPLICATE:
            api_error_set(err, API_WHY_DUPLICATE, "duplicate key in an object at byte %zu", at);
            break;
        case API_JSON_NOMEM:
            api_error_set(err, API_WHY_NOMEM, "out of memory while parsing");
            return VIGIE_ERR_NOMEM;
        case API_JSON_DEPTH:
            api_error_set(err, API_WHY_TOO_DEEP, "nesting too deep at byte %zu", at);
            break;
        case API_JSON_UTF8:
            api_error_set(err, API_WHY_JSON, "invalid UTF-8 at byte %zu", at);
            break;
        case API_JSON_RANGE:
            api_error_set(err, API_WHY_JSON, "number out of range at byte %zu", at);
            break;
        case API_JSON_NUL:
            api_error_set(err, API_WHY_JSON, "\\u0000 in a string at byte %zu", at);
            break;
        default:
            api_error_set(err, API_WHY_JSON, "invalid JSON at byte %zu", at);
            break;
        }
        return VIGIE_ERR_PARSE;
    }
    *out = j;
    return VIGIE_OK;
}

/* ---- places: tree nodes to token ordinals ------------------------------------------- */

static int place_order(const void *x, const void *y)
{
    const struct api_place *a = x, *b = y;

    return a->parent < b->parent ? -1 : a->parent > b->parent;
}

/* Marks every place naming (parent, key/index) with ordinal. */
static void mark(struct api_place *p, size_t n, const json_t *parent, const char *key,
                 size_t index, size_t ordinal)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p[mid].parent < parent)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < n && p[lo].parent == parent; lo++) {
        if (key != NULL ? p[lo].key != NULL && strcmp(p[lo].key, key) == 0
                        : p[lo].key == NULL && p[lo].index == index)
            p[lo].ordinal = ordinal;
    }
}

/* Recursion is bounded: the pre-scan refused anything deeper than depth_max. */
static void walk(const json_t *v, size_t *ord, struct api_place *p, size_t n)
{
    size_t self = (*ord)++;

    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        mark(p, n, v, NULL, SIZE_MAX, self);
        json_object_foreach((json_t *)v, k, c) {
            (*ord)++; /* the key is a token too */
            mark(p, n, v, k, SIZE_MAX, *ord);
            walk(c, ord, p, n);
        }
    } else if (json_is_array(v)) {
        size_t i;
        mark(p, n, v, NULL, SIZE_MAX, self);
        for (i = 0; i < json_array_size(v); i++) {
            mark(p, n, v, NULL, i, *ord);
            walk(json_array_get(v, i), ord, p, n);
        }
    }
}

int api_places_resolve(const json_t *root, struct api_place *places, size_t n)
{
    size_t i, ord = 0;

    for (i = 0; i < n; i++)
        places[i].ordinal = SIZE_MAX;
    if (n > 1)
        qsort(places, n, sizeof(*places), place_order);
    walk(root, &ord, places, n);
    for (i = 0; i < n; i++)
        if (places[i].ordinal == SIZE_MAX)
            return VIGIE_ERR_INVAL;
    return VIGIE_OK;
}

/* ---- splice ------------------------------------------------------------------------ */

static int edit_order(const void *x, const void *y)
{
    const struct api_edit *a = x, *b = y;

    return a->ordinal < b->ordinal ? -1 : a->ordinal > b->ordinal;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The end of the token starting at s[i] (string or scalar). */
static size_t token_end(const char *s, size_t len, size_t i)
{
    if (s[i] == '"')
        return skip_string(s, len, i);
    while (i < len && !is_ws(s[i]) && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ':')
        i++;
    return i;
}

int api_splice(const char *src, size_t len, struct api_edit *edits, size_t n,
               struct vigie_buf *out)
{
    size_t i = 0, from = 0, ord = 0, e = 0;
    int rc;

    /* Stable order: inserts at one container keep the caller's order. */
    for (i = 1; i < n; i++) {
        struct api_edit t = edits[i];
        size_t k = i;
        while (k > 0 && edit_order(&edits[k - 1], &t) > 0) {
            edits[k] = edits[k - 1];
            k--;
        }
        edits[k] = t;
    }
    i = 0;
    /* Every value and every key is one token, numbered in document order,
     * exactly as api_places_resolve numbers the tree. */
    while (i < len && e < n) {
        char c = src[i];
        size_t end;

        if (is_ws(c) || c == ',' || c == ':' || c == ']' || c == '}') {
            i++;
            continue;
        }
        if (c == '{' || c == '[') {
            size_t k = i + 1;
            int empty;
            while (k < len && is_ws(src[k]))
                k++;
            empty = k < len && (src[k] == '}' || src[k] == ']');
            if (e < n && edits[e].ordinal == ord) {
                if ((rc = vigie_buf_append(out, src + from, i + 1 - from)) != VIGIE_OK)
                    return rc;
                from = i + 1;
            }
            while (e < n && edits[e].ordinal == ord) {
                if (edits[e].op != API_EDIT_INSERT)
                    return VIGIE_ERR_INVAL;
                if ((rc = vigie_buf_append(out, edits[e].bytes, edits[e].len)) != VIGIE_OK)
                    return rc;
                e++;
                if ((!empty || (e < n && edits[e].ordinal == ord)) &&
                    (rc = vigie_buf_appendc(out, ',')) != VIGIE_OK)
                    return rc;
            }
            ord++;
            i++;
            continue;
        }
        end = token_end(src, len, i);
        if (end == i)
            return VIGIE_ERR_INVAL; /* not JSON after all: never splice blind */
        if (edits[e].ordinal == ord) {
            if (edits[e].op != API_EDIT_REPLACE)
                return VIGIE_ERR_INVAL;
            if ((rc = vigie_buf_append(out, src + from, i - from)) != VIGIE_OK ||
                (rc = vigie_buf_append(out, edits[e].bytes, edits[e].len)) != VIGIE_OK)
                return rc;
            from = end;
            e++;
            if (e < n && edits[e].ordinal == ord)
                return VIGIE_ERR_INVAL; /* two replacements of one token */
        }
        ord++;
        i = end;
    }
    if (e < n)
        return VIGIE_ERR_INVAL;
    return vigie_buf_append(out, src + from, len - from);
}
