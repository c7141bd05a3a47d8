/*
 * api internals shared by the body and stream code: loading JSON safely,
 * locating tokens in the original bytes, splicing edits into them.
 */
#ifndef VIGIE_API_INTERNAL_H
#define VIGIE_API_INTERNAL_H

#include <jansson.h>

#include "api/api.h"

/* Longest pseudonym token the detect module writes ("[" label "_" n "]"); a
 * token is restored only when its ']' lies within this many bytes of '['
 * (detect_revmap_restore), so a held-back prefix is always shorter. */
#define API_TOKEN_MAX 64u

void api_error_set(struct api_error *err, enum api_why why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int api_why_code(enum api_why why);
/* Copies an answer's "model" string into dst (API_MODEL_NAME_MAX bytes) once. */
void api_model_copy(char *dst, const json_t *m);
const struct api_limits *api_limits_or_default(const struct api_limits *lim,
                                               struct api_limits *tmp);

/* Pre-scans buf iteratively (size, nesting), then parses it with jansson
 * (duplicates rejected). Returns VIGIE_OK and a new reference in *out, or an
 * error described in err. */
/* Why api_json_parse refused a document. */
enum api_json_err {
    API_JSON_OK = 0,
    API_JSON_SYNTAX = 1,    /* not JSON, or not an object/array at the top */
    API_JSON_UTF8 = 2,      /* invalid UTF-8 in a string */
    API_JSON_NUL = 3,       /* \u0000 in a string */
    API_JSON_DUPLICATE = 4, /* a key twice in one object */
    API_JSON_RANGE = 5,     /* an integer that does not fit, a real that overflows */
    API_JSON_DEPTH = 6,     /* deeper than depth_max */
    API_JSON_NOMEM = 7,
};

/* Parses buf into jansson values, accepting exactly what
 * json_loadb(JSON_REJECT_DUPLICATES) accepts (jsonparse.c says why it
 * exists). Returns the value with one reference, or NULL with the reason and
 * the byte offset where it was found. */
json_t *api_json_parse(const char *buf, size_t len, unsigned depth_max, enum api_json_err *err,
                       size_t *err_at);

int api_json_load(const char *buf, size_t len, const struct api_limits *lim, json_t **out,
                  struct api_error *err);

/* A place in the original bytes, named by the tree: the value of key `key`
 * (or element `index`) of container `parent`, or, with key NULL and index
 * SIZE_MAX, the container itself. The anchor walk fills `ordinal`, the
 * token's rank in document order (every value and every key is a token). */
struct api_place {
    const json_t *parent;
    const char *key;
    size_t index;
    size_t ordinal; /* SIZE_MAX until found */
    size_t tag;     /* the caller's, carried through the sort */
};

/* Fills the ordinals of places (any order) by walking root in document
 * order: jansson keeps objects in insertion order, which is document order
 * because duplicates were refused. Depth is bounded by the pre-scan. */
int api_places_resolve(const json_t *root, struct api_place *places, size_t n);

enum api_edit_op {
    API_EDIT_REPLACE = 0, /* replace the token at the ordinal by bytes */
    API_EDIT_INSERT = 1,  /* insert bytes as the first member/element of the
                             object or array at the ordinal (comma added) */
};

struct api_edit {
    size_t ordinal;
    enum api_edit_op op;
    const char *bytes; /* JSON text, already encoded */
    size_t len;
};

/* Writes src with the edits applied into out (appended). Edits are sorted
 * here by ordinal (stable). Returns VIGIE_OK, VIGIE_ERR_TOO_BIG,
 * VIGIE_ERR_NOMEM or VIGIE_ERR_INVAL (an ordinal not found, or an edit on
 * the wrong kind of token: a broken invariant the caller must fail on). */
int api_splice(const char *src, size_t len, struct api_edit *edits, size_t n,
               struct vigie_buf *out);

#endif
