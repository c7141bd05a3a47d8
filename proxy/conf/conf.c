/*
 * Strict YAML to a positioned tree, from libyaml's event stream.
 *
 * The tree is built without recursion: an explicit stack of open containers
 * (bounded by VIGIE_CONF_DEPTH_MAX) and one "pending" array that collects the
 * children of every open container, each container remembering where its own
 * children start. When a container closes, its children are copied into
 * arrays of their final size and dropped from the pending array.
 *
 * Every node, string and child array lives in an arena owned by the document,
 * so conf_doc_free walks a flat list of blocks and never the tree.
 *
 * Policy on errors: problems that only make the document invalid (an anchor,
 * a tag, a duplicate key) are reported and parsing goes on, so that one run
 * shows every such problem. Problems that say the input is hostile or broken
 * (a limit passed, a syntax error, a second document) stop parsing at once.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "conf/conf.h"

/* ---- arena ----------------------------------------------------------------- */

/* Big enough that a typical rule pack fits in a handful of blocks, small
 * enough that a tiny policy file does not pin much memory. */
#define ARENA_BLOCK_SIZE (64u * 1024)

struct arena_block {
    struct arena_block *next;
    size_t used;
    size_t cap;
    max_align_t mem[]; /* max_align_t so that offset 0 suits any object */
};

struct arena {
    struct arena_block *head; /* most recent block first */
};

static void *arena_alloc(struct arena *a, size_t size, size_t align)
{
    struct arena_block *b = a->head;
    size_t off, cap;

    if (b != NULL) {
        off = (b->used + align - 1) & ~(align - 1);
        if (off <= b->cap && size <= b->cap - off) {
            b->used = off + size;
            return (char *)b->mem + off;
        }
    }
    /* A request larger than a block (a long scalar, a big child array) gets
     * a block of its own size; the bound on the request is the caller's. */
    cap = size > ARENA_BLOCK_SIZE ? size : ARENA_BLOCK_SIZE;
    if (cap > SIZE_MAX - sizeof(*b))
        return NULL;
    b = malloc(sizeof(*b) + cap);
    if (b == NULL)
        return NULL;
    b->next = a->head;
    b->cap = cap;
    b->used = size;
    a->head = b;
    return b->mem;
}

static void arena_free(struct arena *a)
{
    struct arena_block *b = a->head, *next;

    while (b != NULL) {
        next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

/* ---- document -------------------------------------------------------------- */

struct conf_doc {
    char *file;
    struct conf_node *root;
    struct arena arena;
};

/* One open container while parsing. */
struct frame {
    struct conf_node *node;
    size_t first; /* index in the pending array of its first child */
};

/* Everything the event loop needs, so that helpers take one argument. */
struct builder {
    struct conf_doc *doc;
    struct vigie_diag *diag;
    const char *buf;
    size_t len;
    struct frame stack[VIGIE_CONF_DEPTH_MAX];
    size_t depth;
    struct conf_node **pending;
    size_t npending;
    size_t cap_pending;
    size_t nnodes;
    unsigned ndocs;
    int invalid; /* set by any reported problem; the document is refused at the end */
};

static void report(struct vigie_diag *diag, const char *file, unsigned line, unsigned col,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void report(struct vigie_diag *diag, const char *file, unsigned line, unsigned col,
                   const char *fmt, ...)
{
    va_list ap;

    if (diag == NULL)
        return;
    va_start(ap, fmt);
    vigie_diag_vadd(diag, file, line, col, fmt, ap);
    va_end(ap);
}

/* libyaml marks are 0-based; ours are 1-based. Inputs are capped at
 * VIGIE_CONF_FILE_MAX, so the clamp never bites in practice. */
static unsigned mark_line(const yaml_mark_t *m)
{
    return m->line < UINT_MAX ? (unsigned)m->line + 1 : UINT_MAX;
}

static unsigned mark_col(const yaml_mark_t *m)
{
    return m->column < UINT_MAX ? (unsigned)m->column + 1 : UINT_MAX;
}

/* Renders a scalar for a message: bounded, with control bytes escaped, so a
 * hostile key cannot forge extra diagnostic lines or flood the terminal. */
static const char *show(const char *s, size_t len, char *out, size_t outsz)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, o = 0;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (o + 8 >= outsz) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c == 0x7f) {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return out;
}

/* Line and column of a byte offset. Reader errors (bad UTF-8, control
 * characters) carry only an offset, not a mark; columns count characters like
 * libyaml's do, so continuation bytes are skipped. */
static void offset_pos(const char *buf, size_t len, size_t off, unsigned *line, unsigned *col)
{
    size_t i;
    unsigned l = 1, c = 1;

    if (off > len)
        off = len;
    for (i = 0; i < off; i++) {
        unsigned char ch = (unsigned char)buf[i];

        if (ch == '\n' || (ch == '\r' && (i + 1 >= len || buf[i + 1] != '\n'))) {
            l++;
            c = 1;
        } else if (ch != '\r' && (ch & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

static void report_yaml_error(struct builder *b, const yaml_parser_t *p)
{
    const char *file = b->doc->file;
    const char *problem = p->problem != NULL ? p->problem : "invalid YAML";
    unsigned line, col;

    switch (p->error) {
    case YAML_MEMORY_ERROR:
        report(b->diag, file, 0, 0, "out of memory while parsing YAML");
        return;
    case YAML_READER_ERROR:
        offset_pos(b->buf, b->len, p->problem_offset, &line, &col);
        if (p->problem_value >= 0)
            report(b->diag, file, line, col, "%s (found 0x%02X)", problem,
                   (unsigned)p->problem_value);
        else
            report(b->diag, file, line, col, "%s", problem);
        return;
    default:
        break;
    }
    line = mark_line(&p->problem_mark);
    col = mark_col(&p->problem_mark);
    /* The context ("while scanning a quoted scalar") often points at where
     * the real mistake is, e.g. the opening quote of an unclosed string. */
    if (p->context != NULL)
        report(b->diag, file, line, col, "%s (%s at %u:%u)", problem, p->context,
               mark_line(&p->context_mark), mark_col(&p->context_mark));
    else
        report(b->diag, file, line, col, "%s", problem);
}

static int pending_push(struct builder *b, struct conf_node *n)
{
    if (b->npending == b->cap_pending) {
        size_t ncap = b->cap_pending ? b->cap_pending * 2 : 64;
        struct conf_node **nv;

        /* npending <= nnodes <= VIGIE_CONF_NODES_MAX: this never overflows. */
        nv = realloc(b->pending, ncap * sizeof(*nv));
        if (nv == NULL)
            return VIGIE_ERR_NOMEM;
        b->pending = nv;
        b->cap_pending = ncap;
    }
    b->pending[b->npending++] = n;
    return VIGIE_OK;
}

/* Creates a node at mark and attaches it to the open container (or makes it
 * the root). Returns NULL after reporting when a limit is passed or memory
 * runs out: both stop the parse. */
static struct conf_node *node_new(struct builder *b, enum conf_kind kind, const yaml_mark_t *m)
{
    struct conf_node *n;
    unsigned line = mark_line(m), col = mark_col(m);

    if (b->nnodes >= VIGIE_CONF_NODES_MAX) {
        report(b->diag, b->doc->file, line, col, "more than %u nodes in one document",
               VIGIE_CONF_NODES_MAX);
        return NULL;
    }
    n = arena_alloc(&b->doc->arena, sizeof(*n), _Alignof(struct conf_node));
    if (n == NULL)
        goto nomem;
    memset(n, 0, sizeof(*n));
    n->kind = kind;
    n->line = line;
    n->col = col;
    n->doc = b->doc;
    n->str = "";
    b->nnodes++;

    if (b->depth == 0) {
        b->doc->root = n;
        return n;
    }
    {
        const struct frame *f = &b->stack[b->depth - 1];

        /* In a mapping, children alternate key, value: an even count so far
         * means this node is a key. A key that is a mapping or list has no
         * name a reader could look up, and would make messages ambiguous. */
        if (f->node->kind == CONF_MAP && (b->npending - f->first) % 2 == 0 && kind != CONF_SCALAR) {
            report(b->diag, b->doc->file, line, col, "mapping keys must be strings");
            b->invalid = 1;
        }
    }
    if (pending_push(b, n) != VIGIE_OK)
        goto nomem;
    return n;

nomem:
    report(b->diag, b->doc->file, 0, 0, "out of memory while loading");
    return NULL;
}

/* Refuses anchors and tags on a node. Anchors are only useful with aliases,
 * which we refuse; tags would let a file change what a value means. */
static void check_props(struct builder *b, const yaml_mark_t *m, const yaml_char_t *anchor,
                        const yaml_char_t *tag)
{
    char shown[80];

    if (anchor != NULL) {
        report(b->diag, b->doc->file, mark_line(m), mark_col(m),
               "anchors and aliases are not allowed (anchor '&%s')",
               show((const char *)anchor, strlen((const char *)anchor), shown, sizeof(shown)));
        b->invalid = 1;
    }
    if (tag != NULL) {
        report(b->diag, b->doc->file, mark_line(m), mark_col(m),
               "tags are not allowed (found '%s')",
               show((const char *)tag, strlen((const char *)tag), shown, sizeof(shown)));
        b->invalid = 1;
    }
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
    struct conf_node *n;
    char *s;
    size_t len = ev->data.scalar.length;

    check_props(b, &ev->start_mark, ev->data.scalar.anchor, ev->data.scalar.tag);
    if (len > VIGIE_CONF_SCALAR_MAX) {
        report(b->diag, b->doc->file, mark_line(&ev->start_mark), mark_col(&ev->start_mark),
               "value longer than %u bytes", VIGIE_CONF_SCALAR_MAX);
        return VIGIE_ERR_TOO_BIG;
    }
    n = node_new(b, CONF_SCALAR, &ev->start_mark);
    if (n == NULL)
        return VIGIE_ERR_CONFIG;
    s = arena_alloc(&b->doc->arena, len + 1, 1);
    if (s == NULL) {
        report(b->diag, b->doc->file, 0, 0, "out of memory while loading");
        return VIGIE_ERR_NOMEM;
    }
    if (len > 0)
        memcpy(s, ev->data.scalar.value, len);
    s[len] = '\0';
    n->str = s;
    n->len = len;
    n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    return VIGIE_OK;
}

static int on_alias(struct builder *b, const yaml_event_t *ev)
{
    char shown[80];
    const char *a = (const char *)ev->data.alias.anchor;

    report(b->diag, b->doc->file, mark_line(&ev->start_mark), mark_col(&ev->start_mark),
           "anchors and aliases are not allowed (alias '*%s')",
           show(a, a != NULL ? strlen(a) : 0, shown, sizeof(shown)));
    b->invalid = 1;
    /* An empty placeholder keeps the key/value alternation of the enclosing
     * mapping right, so later problems are still reported where they are. */
    return node_new(b, CONF_SCALAR, &ev->start_mark) != NULL ? VIGIE_OK : VIGIE_ERR_CONFIG;
}

static int on_start(struct builder *b, const yaml_event_t *ev, enum conf_kind kind)
{
    struct conf_node *n;

    if (kind == CONF_MAP)
        check_props(b, &ev->start_mark, ev->data.mapping_start.anchor, ev->data.mapping_start.tag);
    else
        check_props(b, &ev->start_mark, ev->data.sequence_start.anchor,
                    ev->data.sequence_start.tag);
    if (b->depth >= VIGIE_CONF_DEPTH_MAX) {
        report(b->diag, b->doc->file, mark_line(&ev->start_mark), mark_col(&ev->start_mark),
               "nesting deeper than %u levels", VIGIE_CONF_DEPTH_MAX);
        return VIGIE_ERR_TOO_BIG;
    }
    n = node_new(b, kind, &ev->start_mark);
    if (n == NULL)
        return VIGIE_ERR_CONFIG;
    b->stack[b->depth].node = n;
    b->stack[b->depth].first = b->npending;
    b->depth++;
    return VIGIE_OK;
}

/* For duplicate detection: keys sorted by bytes, ties broken by file order so
 * the first of a group is the first occurrence. */
struct keyref {
    const struct conf_node *key;
    size_t idx;
    size_t first; /* idx of the first key with the same bytes, or idx itself */
};

static int keyref_cmp_bytes(const void *pa, const void *pb)
{
    const struct keyref *a = pa, *b = pb;
    size_t n = a->key->len < b->key->len ? a->key->len : b->key->len;
    int c = n > 0 ? memcmp(a->key->str, b->key->str, n) : 0;

    if (c != 0)
        return c;
    if (a->key->len != b->key->len)
        return a->key->len < b->key->len ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int keyref_cmp_idx(const void *pa, const void *pb)
{
    const struct keyref *a = pa, *b = pb;

    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Sorting rather than comparing every pair: a mapping may have up to
 * VIGIE_CONF_NODES_MAX / 2 keys, and a quadratic check would be a CPU bomb. */
static int check_duplicates(struct builder *b, const struct conf_node *map)
{
    struct keyref *refs;
    size_t i, n = 0;
    char shown[80];

    if (map->n < 2)
        return VIGIE_OK;
    refs = malloc(map->n * sizeof(*refs));
    if (refs == NULL)
        return VIGIE_ERR_NOMEM;
    for (i = 0; i < map->n; i++) {
        /* Non-scalar keys were reported when they were opened. */
        if (map->keys[i]->kind != CONF_SCALAR)
            continue;
        refs[n].key = map->keys[i];
        refs[n].idx = i;
        refs[n].first = i;
        n++;
    }
    qsort(refs, n, sizeof(*refs), keyref_cmp_bytes);
    for (i = 1; i < n; i++) {
        if (refs[i - 1].key->len == refs[i].key->len &&
            memcmp(refs[i - 1].key->str, refs[i].key->str, refs[i].key->len) == 0)
            refs[i].first = refs[i - 1].first;
    }
    /* Report in file order, which is the order a reader fixes them in. */
    qsort(refs, n, sizeof(*refs), keyref_cmp_idx);
    for (i = 0; i < n; i++) {
        const struct conf_node *k = refs[i].key, *f;

        if (refs[i].first == refs[i].idx)
            continue;
        f = map->keys[refs[i].first];
        report(b->diag, b->doc->file, k->line, k->col, "duplicate key '%s' (first at %u:%u)",
               show(k->str, k->len, shown, sizeof(shown)), f->line, f->col);
        b->invalid = 1;
    }
    free(refs);
    return VIGIE_OK;
}

static int on_end(struct builder *b)
{
    struct frame *f;
    struct conf_node *n, **kids;
    size_t count, i;

    /* libyaml only emits balanced events, so an end always has a start. */
    VIGIE_ASSERT(b->depth > 0);
    f = &b->stack[--b->depth];
    n = f->node;
    count = b->npending - f->first;
    /* No child yet anywhere: pending is still NULL, and NULL + 0 is undefined. */
    kids = b->pending != NULL ? b->pending + f->first : NULL;
    if (n->kind == CONF_MAP) {
        VIGIE_ASSERT(count % 2 == 0);
        n->n = count / 2;
    } else {
        n->n = count;
    }
    if (n->n > 0) {
        n->vals = arena_alloc(&b->doc->arena, n->n * sizeof(*n->vals), _Alignof(void *));
        if (n->vals == NULL)
            goto nomem;
        if (n->kind == CONF_MAP) {
            n->keys = arena_alloc(&b->doc->arena, n->n * sizeof(*n->keys), _Alignof(void *));
            if (n->keys == NULL)
                goto nomem;
            for (i = 0; i < n->n; i++) {
                n->keys[i] = kids[2 * i];
                n->vals[i] = kids[2 * i + 1];
            }
        } else {
            memcpy(n->vals, kids, count * sizeof(*kids));
        }
    }
    b->npending = f->first;
    if (n->kind == CONF_MAP && check_duplicates(b, n) != VIGIE_OK)
        goto nomem;
    return VIGIE_OK;

nomem:
    report(b->diag, b->doc->file, 0, 0, "out of memory while loading");
    return VIGIE_ERR_NOMEM;
}

/* Handles one event. Returns VIGIE_OK to go on, 1 at the end of the stream,
 * or a negative error to stop (already reported). */
static int on_event(struct builder *b, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_NO_EVENT:
    case YAML_STREAM_START_EVENT:
    case YAML_DOCUMENT_END_EVENT:
        return VIGIE_OK;
    case YAML_STREAM_END_EVENT:
        return 1;
    case YAML_DOCUMENT_START_EVENT:
        /* A second document would be silently ignored by some tools and read
         * by others; refuse rather than guess which one the author meant. */
        if (++b->ndocs > 1) {
            report(b->diag, b->doc->file, mark_line(&ev->start_mark), mark_col(&ev->start_mark),
                   "only one YAML document per file");
            return VIGIE_ERR_CONFIG;
        }
        return VIGIE_OK;
    case YAML_ALIAS_EVENT:
        return on_alias(b, ev);
    case YAML_SCALAR_EVENT:
        return on_scalar(b, ev);
    case YAML_SEQUENCE_START_EVENT:
        return on_start(b, ev, CONF_SEQ);
    case YAML_MAPPING_START_EVENT:
        return on_start(b, ev, CONF_MAP);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return on_end(b);
    }
    return VIGIE_OK;
}

/* Contract: parses buf[0..len) (need not be NUL-terminated; may be NULL when
 * len is 0). Returns a document owned by the caller, or NULL with every
 * problem found added to diag (which may be NULL to discard them). file is
 * copied. */
struct conf_doc *conf_doc_parse(const char *file, const char *buf, size_t len,
                                struct vigie_diag *diag)
{
    struct builder b;
    struct conf_doc *doc = NULL;
    yaml_parser_t parser;
    yaml_event_t ev;
    int parser_ok = 0, rc;

    memset(&b, 0, sizeof(b));
    if (file == NULL)
        file = "<input>";
    if (buf == NULL && len > 0) {
        report(diag, file, 0, 0, "no input");
        goto fail;
    }
    if (len > VIGIE_CONF_FILE_MAX) {
        report(diag, file, 0, 0, "file larger than %u bytes", VIGIE_CONF_FILE_MAX);
        goto fail;
    }
    doc = calloc(1, sizeof(*doc));
    if (doc == NULL || (doc->file = strdup(file)) == NULL) {
        report(diag, file, 0, 0, "out of memory while loading");
        goto fail;
    }
    b.doc = doc;
    b.diag = diag;
    b.buf = buf != NULL ? buf : "";
    b.len = len;

    if (!yaml_parser_initialize(&parser)) {
        report(diag, file, 0, 0, "out of memory while loading");
        goto fail;
    }
    parser_ok = 1;
    yaml_parser_set_input_string(&parser, (const unsigned char *)b.buf, len);
    /* Forced UTF-8: a UTF-16 byte-order mark is then refused as invalid
     * UTF-8, and reader error offsets are byte offsets into buf. */
    yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

    for (;;) {
        if (!yaml_parser_parse(&parser, &ev)) {
            report_yaml_error(&b, &parser);
            goto fail;
        }
        rc = on_event(&b, &ev);
        yaml_event_delete(&ev);
        if (rc == 1)
            break;
        if (rc < 0)
            goto fail;
    }
    if (b.invalid)
        goto fail;

    /* "---" with nothing after it is an empty document, like an empty file;
     * libyaml reports it as one empty plain scalar. */
    if (doc->root != NULL && doc->root->kind == CONF_SCALAR && doc->root->len == 0 &&
        !doc->root->quoted)
        doc->root = NULL;

    yaml_parser_delete(&parser);
    free(b.pending);
    return doc;

fail:
    if (parser_ok)
        yaml_parser_delete(&parser);
    free(b.pending);
    conf_doc_free(doc);
    return NULL;
}

/* Contract: the root node, or NULL for an empty document (or a NULL doc). */
const struct conf_node *conf_doc_root(const struct conf_doc *d)
{
    return d != NULL ? d->root : NULL;
}

/* Contract: the file name given to conf_doc_parse, owned by the document. */
const char *conf_doc_file(const struct conf_doc *d)
{
    return d != NULL ? d->file : NULL;
}

/* Contract: frees the document and every node in it; accepts NULL. Pointers
 * into the tree (strings included) are invalid afterwards. */
void conf_doc_free(struct conf_doc *d)
{
    if (d == NULL)
        return;
    arena_free(&d->arena);
    free(d->file);
    free(d);
}

/* ---- lookups and typed reads ---------------------------------------------- */

static int scalar_is(const struct conf_node *n, const char *s)
{
    size_t l = strlen(s);

    return n->len == l && memcmp(n->str, s, l) == 0;
}

/* YAML 1.2 core schema nulls, plain only: a quoted "null" is a string. */
static int is_null(const struct conf_node *n)
{
    return n->kind == CONF_SCALAR && !n->quoted &&
           (n->len == 0 || scalar_is(n, "~") || scalar_is(n, "null") || scalar_is(n, "Null") ||
            scalar_is(n, "NULL"));
}

/* Contract: the value for key in map, comparing key bytes exactly (a key
 * with an embedded NUL never matches). NULL when absent or map is not a
 * mapping. Duplicate keys were refused at parse time, so the first match is
 * the only one. */
const struct conf_node *conf_map_get(const struct conf_node *map, const char *key)
{
    size_t i;

    if (map == NULL || key == NULL || map->kind != CONF_MAP)
        return NULL;
    for (i = 0; i < map->n; i++) {
        const struct conf_node *k = map->keys[i];

        if (k->kind == CONF_SCALAR && scalar_is(k, key))
            return map->vals[i];
    }
    return NULL;
}

/* Longest allowed key we compute a suggestion for; key names in vigie are
 * short words, and the bound keeps the distance rows on the stack. */
#define SUGGEST_LEN_MAX 64u

/* Optimal string alignment distance (Levenshtein plus adjacent swaps, the
 * usual typo set), or a value > 2 when the strings are obviously further
 * apart than a suggestion allows. */
static unsigned edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    unsigned rows[3][SUGGEST_LEN_MAX + 1];
    unsigned *pp, *prev, *cur;
    size_t i, j;

    if (lb > SUGGEST_LEN_MAX || (la > lb ? la - lb : lb - la) > 2)
        return 3;
    for (j = 0; j <= lb; j++)
        rows[1][j] = (unsigned)j;
    pp = rows[0];
    prev = rows[1];
    cur = rows[2];
    for (i = 1; i <= la; i++) {
        unsigned *tmp;

        cur[0] = (unsigned)i;
        for (j = 1; j <= lb; j++) {
            unsigned cost = a[i - 1] == b[j - 1] ? 0 : 1;
            unsigned v = prev[j] + 1;

            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (prev[j - 1] + cost < v)
                v = prev[j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            cur[j] = v;
        }
        tmp = pp;
        pp = prev;
        prev = cur;
        cur = tmp;
    }
    return prev[lb];
}

/* Contract: reports each key of map not in allowed (NULL-terminated) at the
 * key's position, with the closest allowed key within distance 2 as a
 * suggestion (the first listed wins a tie). Returns the number of unknown
 * keys; 0 when map is not a mapping (the caller checks the kind). */
int conf_map_check_keys(const struct conf_node *map, const char *const *allowed,
                        struct vigie_diag *diag)
{
    size_t i, j;
    int unknown = 0;
    char shown[80], shown2[80];

    if (map == NULL || map->kind != CONF_MAP || allowed == NULL)
        return 0;
    for (i = 0; i < map->n; i++) {
        const struct conf_node *k = map->keys[i];
        const char *best = NULL;
        unsigned bestd = 3;
        int found = 0;

        for (j = 0; allowed[j] != NULL; j++) {
            if (scalar_is(k, allowed[j])) {
                found = 1;
                break;
            }
        }
        if (found)
            continue;
        unknown++;
        for (j = 0; allowed[j] != NULL; j++) {
            unsigned d = edit_distance(k->str, k->len, allowed[j], strlen(allowed[j]));

            if (d < bestd) {
                bestd = d;
                best = allowed[j];
            }
        }
        show(k->str, k->len, shown, sizeof(shown));
        if (best != NULL)
            conf_diag(diag, k, "unknown key '%s' (did you mean '%s'?)", shown,
                      show(best, strlen(best), shown2, sizeof(shown2)));
        else
            conf_diag(diag, k, "unknown key '%s'", shown);
    }
    return unknown;
}

/* What a node is, for "expected X, found Y": quoted and null scalars are
 * named as such because that is usually the mistake. Returns NULL for a
 * plain non-null scalar, whose value the caller then shows. */
static const char *found_what(const struct conf_node *n)
{
    if (n->kind != CONF_SCALAR)
        return conf_kind_name(n->kind);
    if (is_null(n))
        return "null";
    if (n->quoted)
        return "a quoted string";
    return NULL;
}

/* Contract: *out = 1 or 0 for a plain true/True/TRUE or false/False/FALSE.
 * Anything else is reported at n and VIGIE_ERR_CONFIG returned, *out
 * untouched. NULL n (an absent key) returns VIGIE_ERR_INVAL without a
 * message: only the caller knows which key was missing and where. */
int conf_get_bool(const struct conf_node *n, int *out, struct vigie_diag *diag)
{
    static const char *const yaml11[] = {"y",  "Y",  "yes", "Yes", "YES", "n",   "N",   "no",
                                         "No", "NO", "on",  "On",  "ON",  "off", "Off", "OFF"};
    const char *what;
    char shown[80];
    size_t i;

    if (n == NULL || out == NULL)
        return VIGIE_ERR_INVAL;
    what = found_what(n);
    if (what != NULL) {
        conf_diag(diag, n, "expected true or false, found %s", what);
        return VIGIE_ERR_CONFIG;
    }
    if (scalar_is(n, "true") || scalar_is(n, "True") || scalar_is(n, "TRUE")) {
        *out = 1;
        return VIGIE_OK;
    }
    if (scalar_is(n, "false") || scalar_is(n, "False") || scalar_is(n, "FALSE")) {
        *out = 0;
        return VIGIE_OK;
    }
    show(n->str, n->len, shown, sizeof(shown));
    for (i = 0; i < sizeof(yaml11) / sizeof(yaml11[0]); i++) {
        /* Other tools read these as booleans, vigie would not: the same file
         * would mean two things, so say why it is refused. */
        if (scalar_is(n, yaml11[i])) {
            conf_diag(diag, n,
                      "expected true or false, found '%s' (YAML 1.1 booleans are not accepted)",
                      shown);
            return VIGIE_ERR_CONFIG;
        }
    }
    conf_diag(diag, n, "expected true or false, found '%s'", shown);
    return VIGIE_ERR_CONFIG;
}

/* Contract: *out = the value of a plain scalar of ASCII digits in [min, max].
 * Signs, hex, underscores, exponents and quotes are refused so that a value
 * means the same thing to every reader; overflow is detected, not wrapped.
 * Errors as for conf_get_bool. */
int conf_get_uint(const struct conf_node *n, unsigned long min, unsigned long max,
                  unsigned long *out, struct vigie_diag *diag)
{
    const char *what;
    char shown[80];
    unsigned long v = 0;
    size_t i;

    if (n == NULL || out == NULL)
        return VIGIE_ERR_INVAL;
    what = found_what(n);
    if (what != NULL) {
        conf_diag(diag, n, "expected a whole number between %lu and %lu, found %s", min, max, what);
        return VIGIE_ERR_CONFIG;
    }
    for (i = 0; i < n->len; i++) {
        unsigned d = (unsigned char)n->str[i] - '0';

        if (d > 9 || v > (ULONG_MAX - d) / 10)
            goto bad;
        v = v * 10 + d;
    }
    if (v < min || v > max)
        goto bad;
    *out = v;
    return VIGIE_OK;

bad:
    conf_diag(diag, n, "expected a whole number between %lu and %lu, found '%s'", min, max,
              show(n->str, n->len, shown, sizeof(shown)));
    return VIGIE_ERR_CONFIG;
}

/* Contract: *out = the scalar's bytes (NUL-terminated, owned by the doc) and
 * *len its length. A plain null (empty, ~, null) is refused. When len is
 * NULL the caller will treat the value as a C string, so a value with an
 * embedded NUL (a "\0" escape) is refused rather than silently cut short.
 * Errors as for conf_get_bool. */
int conf_get_str(const struct conf_node *n, const char **out, size_t *len, struct vigie_diag *diag)
{
    if (n == NULL || out == NULL)
        return VIGIE_ERR_INVAL;
    if (n->kind != CONF_SCALAR) {
        conf_diag(diag, n, "expected a string, found %s", conf_kind_name(n->kind));
        return VIGIE_ERR_CONFIG;
    }
    if (is_null(n)) {
        conf_diag(diag, n, "expected a string, found null");
        return VIGIE_ERR_CONFIG;
    }
    if (len == NULL && memchr(n->str, '\0', n->len) != NULL) {
        conf_diag(diag, n, "NUL characters are not allowed in this value");
        return VIGIE_ERR_CONFIG;
    }
    *out = n->str;
    if (len != NULL)
        *len = n->len;
    return VIGIE_OK;
}

/* Contract: adds "FILE:LINE:COL: message" at n, or the bare message when n
 * is NULL (no node, so no file either). diag may be NULL. */
void conf_diag(struct vigie_diag *diag, const struct conf_node *n, const char *fmt, ...)
{
    va_list ap;

    if (diag == NULL)
        return;
    va_start(ap, fmt);
    if (n != NULL)
        vigie_diag_vadd(diag, n->doc != NULL ? n->doc->file : NULL, n->line, n->col, fmt, ap);
    else
        vigie_diag_vadd(diag, NULL, 0, 0, fmt, ap);
    va_end(ap);
}

/* Contract: a constant English noun phrase for k, for messages. */
const char *conf_kind_name(enum conf_kind k)
{
    switch (k) {
    case CONF_SCALAR:
        return "a string";
    case CONF_MAP:
        return "a mapping";
    case CONF_SEQ:
        return "a list";
    }
    return "an unknown node";
}
