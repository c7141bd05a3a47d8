/*
 * Rule packs: YAML files of detectors, read into compiled rules.
 *
 * A pack is trusted only after it proves itself: every field is checked with
 * its position, every pattern compiles (JIT where available) and does not
 * match the empty string, every rule finds each of its `match` examples and
 * none of its `no_match` ones through the same path as a real scan (trigger,
 * window, validator, context), and every pattern stays fast on generated
 * hostile input. A pack with any problem adds nothing to the set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "detect/detect_int.h"

#define PATTERN_MAX 4096u

static const char *const pack_keys[] = {"pack", "description", "detectors", NULL};
static const char *const rule_keys[] = {
    "id",     "category", "description", "pattern",   "validator", "trigger",
    "window", "context",  "allow",       "allow_pattern", "priority", "action",
    "mask",   "keep",     "pseudonym",   "label",     "examples",  "trim", NULL};
static const char *const context_keys[] = {"words", "suppress", "window", "required", NULL};
static const char *const examples_keys[] = {"match", "no_match", NULL};
static const char *const example_keys[] = {"text", "find", NULL};
static const char *const trigger_keys[] = {"digits", "upper", "keywords", "exact", NULL};
static const char *const window_keys[] = {"before", "after", "anchored", NULL};

const char *detect_action_name(enum detect_action a)
{
    switch (a) {
    case DETECT_ACT_ALLOW:
        return "allow";
    case DETECT_ACT_FLAG:
        return "flag";
    case DETECT_ACT_MASK:
        return "mask";
    case DETECT_ACT_PSEUDONYMISE:
        return "pseudonymise";
    case DETECT_ACT_BLOCK:
        return "block";
    }
    return "?";
}

/* ---- rules ----------------------------------------------------------------- */

static void words_free(struct detect_words *w)
{
    size_t i;

    for (i = 0; i < w->n; i++)
        free(w->v[i]);
    free(w->v);
    free(w->len);
    memset(w, 0, sizeof(*w));
}

void detect_rule_free(struct detect_rule *r)
{
    size_t i;

    if (r == NULL)
        return;
    free(r->id);
    free(r->category);
    free(r->label);
    free(r->description);
    free(r->pack);
    free(r->file);
    free(r->pattern);
    pcre2_code_free(r->code);
    words_free(&r->keywords);
    words_free(&r->exact);
    free(r->kw_bits);
    words_free(&r->ctx);
    words_free(&r->suppress);
    for (i = 0; i < r->nallow; i++)
        free(r->allow[i]);
    free(r->allow);
    free(r->allow_len);
    pcre2_code_free(r->allow_re);
    free(r);
}

const char *detect_rule_id(const struct detect_rule *r)
{
    return r->id;
}
const char *detect_rule_category(const struct detect_rule *r)
{
    return r->category;
}
const char *detect_rule_label(const struct detect_rule *r)
{
    return r->label;
}
const char *detect_rule_pack(const struct detect_rule *r)
{
    return r->pack;
}
enum detect_action detect_rule_action(const struct detect_rule *r)
{
    return r->action;
}
size_t detect_rule_index(const struct detect_rule *r)
{
    return r->index;
}

/* ---- field readers ----------------------------------------------------------- */

/* Names: ids, categories and pack names are lower-case dotted words, so that
 * policies, metrics and audit records can carry them without escaping. */
static int valid_name(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || len > 64 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
        return 0;
    for (i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

static int valid_label(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || len > 32 || !(s[0] >= 'A' && s[0] <= 'Z'))
        return 0;
    for (i = 0; i < len; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

static char *dup_str(const char *s, size_t len)
{
    char *p = malloc(len + 1);

    if (p != NULL) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

/* Reads a required or optional string field; *out is a fresh copy. */
static int read_str(const struct conf_node *map, const char *key, int required, char **out,
                    const struct conf_node **where, struct vigie_diag *diag)
{
    const struct conf_node *n = conf_map_get(map, key);
    const char *s;
    size_t len;

    *out = NULL;
    if (where)
        *where = n;
    if (n == NULL) {
        if (required)
            conf_diag(diag, map, "missing required field '%s'", key);
        return required ? VIGIE_ERR_CONFIG : VIGIE_OK;
    }
    if (conf_get_str(n, &s, &len, diag) != VIGIE_OK)
        return VIGIE_ERR_CONFIG;
    if (memchr(s, '\0', len) != NULL) {
        conf_diag(diag, n, "'%s' contains a NUL character", key);
        return VIGIE_ERR_CONFIG;
    }
    *out = dup_str(s, len);
    return *out ? VIGIE_OK : VIGIE_ERR_NOMEM;
}

static int read_uint(const struct conf_node *map, const char *key, unsigned long min,
                     unsigned long max, unsigned long dflt, unsigned long *out,
                     struct vigie_diag *diag)
{
    const struct conf_node *n = conf_map_get(map, key);

    *out = dflt;
    if (n == NULL)
        return VIGIE_OK;
    return conf_get_uint(n, min, max, out, diag);
}

/* A list of words: each folded the way the scanner folds text. Key words
 * (keywords = 1) are matched ASCII-case-insensitively only (they run over
 * every byte), exact key words (keywords = 2) byte for byte, context words
 * (keywords = 0) case- and accent-insensitively. */
static int read_words(const struct conf_node *n, const char *what, int keywords,
                      struct detect_words *w, struct vigie_diag *diag)
{
    size_t i;
    int bad = 0;

    if (n->kind != CONF_SEQ) {
        conf_diag(diag, n, "'%s' must be a list of words, found %s", what,
                  conf_kind_name(n->kind));
        return VIGIE_ERR_CONFIG;
    }
    if (n->n == 0) {
        conf_diag(diag, n, "'%s' is empty", what);
        return VIGIE_ERR_CONFIG;
    }
    if (n->n > VIGIE_RULE_WORDS_MAX) {
        conf_diag(diag, n, "'%s' has %zu words, more than the %u allowed", what, n->n,
                  VIGIE_RULE_WORDS_MAX);
        return VIGIE_ERR_CONFIG;
    }
    w->v = calloc(n->n, sizeof(*w->v));
    w->len = calloc(n->n, sizeof(*w->len));
    if (w->v == NULL || w->len == NULL)
        return VIGIE_ERR_NOMEM;
    for (i = 0; i < n->n; i++) {
        const struct conf_node *it = n->vals[i];
        const char *s;
        size_t len, j;
        char *f;

        if (conf_get_str(it, &s, &len, diag) != VIGIE_OK) {
            bad = 1;
            continue;
        }
        if (len < (keywords ? 2u : 1u) || len > 128 || memchr(s, '\0', len) != NULL) {
            conf_diag(diag, it, "%s must be %s to 128 bytes long", keywords ? "a key word" : "a word",
                      keywords ? "2" : "1");
            bad = 1;
            continue;
        }
        f = malloc(2 * len + 1);
        if (f == NULL)
            return VIGIE_ERR_NOMEM;
        if (keywords == 2) {
            memcpy(f, s, len); /* exact: as written */
            w->len[w->n] = len;
        } else if (keywords) {
            for (j = 0; j < len; j++)
                f[j] = (char)((s[j] >= 'A' && s[j] <= 'Z') ? s[j] + 32 : s[j]);
            w->len[w->n] = len;
        } else {
            w->len[w->n] = text_fold(s, len, f, 2 * len);
        }
        f[w->len[w->n]] = '\0';
        if (w->len[w->n] == 0) {
            /* Folding can empty a word; such a word matches wherever a word
             * could start, so every byte must be looked at. */
            memset(w->first, 0xFF, sizeof(w->first));
        } else {
            unsigned char c0 = (unsigned char)f[0];
            w->first[c0 >> 6] |= 1ull << (c0 & 63);
        }
        w->v[w->n++] = f;
    }
    return bad ? VIGIE_ERR_CONFIG : VIGIE_OK;
}

static int parse_enum(const struct conf_node *map, const char *key, const char *const *names,
                      int dflt, int *out, struct vigie_diag *diag)
{
    const struct conf_node *n = conf_map_get(map, key);
    const char *s;
    size_t len;
    int i;
    char list[256] = "";

    *out = dflt;
    if (n == NULL)
        return VIGIE_OK;
    if (conf_get_str(n, &s, &len, diag) != VIGIE_OK)
        return VIGIE_ERR_CONFIG;
    for (i = 0; names[i] != NULL; i++) {
        if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0) {
            *out = i;
            return VIGIE_OK;
        }
        if (i > 0)
            strncat(list, ", ", sizeof(list) - strlen(list) - 1);
        strncat(list, names[i], sizeof(list) - strlen(list) - 1);
    }
    conf_diag(diag, n, "unknown %s '%.*s' (expected one of: %s)", key, (int)(len > 64 ? 64 : len),
              s, list);
    return VIGIE_ERR_CONFIG;
}

static const char *const action_names[] = {"allow", "flag", "mask", "pseudonymise", "block",
                                           NULL};
static const char *const masker_names[] = {"label", "partial", NULL};
static const char *const pseudo_names[] = {"number", "keyed", NULL};

static int read_trigger(const struct conf_node *map, struct detect_rule *r,
                        struct vigie_diag *diag)
{
    const struct conf_node *n = conf_map_get(map, "trigger");
    unsigned long v;

    r->trig = DETECT_TRIG_ALWAYS;
    r->trig_min = 0;
    if (n == NULL)
        return VIGIE_OK;
    if (n->kind == CONF_SCALAR) {
        if (n->len == 2 && memcmp(n->str, "at", 2) == 0)
            r->trig = DETECT_TRIG_AT;
        else if (n->len == 6 && memcmp(n->str, "always", 6) == 0)
            r->trig = DETECT_TRIG_ALWAYS;
        else if (n->len == 6 && memcmp(n->str, "digits", 6) == 0) {
            r->trig = DETECT_TRIG_DIGITS;
            r->trig_min = 1;
        } else if (n->len == 5 && memcmp(n->str, "upper", 5) == 0) {
            r->trig = DETECT_TRIG_UPPER;
            r->trig_min = 1;
        } else {
            conf_diag(diag, n,
                      "unknown trigger '%.*s' (expected at, always, digits, upper, "
                      "{digits: N}, {upper: N} or {keywords: [...]})",
                      (int)(n->len > 64 ? 64 : n->len), n->str);
            return VIGIE_ERR_CONFIG;
        }
        return VIGIE_OK;
    }
    if (n->kind != CONF_MAP || n->n < 1 || n->n > 2 ||
        (n->n == 2 && (conf_map_get(n, "keywords") == NULL || conf_map_get(n, "exact") == NULL))) {
        conf_diag(diag, n, "trigger must be a word or a mapping with one of digits, upper, or "
                           "keywords and/or exact");
        return VIGIE_ERR_CONFIG;
    }
    if (conf_map_check_keys(n, trigger_keys, diag) > 0)
        return VIGIE_ERR_CONFIG;
    if (conf_map_get(n, "digits") != NULL) {
        if (conf_get_uint(conf_map_get(n, "digits"), 1, 64, &v, diag) != VIGIE_OK)
            return VIGIE_ERR_CONFIG;
        r->trig = DETECT_TRIG_DIGITS;
        r->trig_min = (unsigned)v;
    } else if (conf_map_get(n, "upper") != NULL) {
        if (conf_get_uint(conf_map_get(n, "upper"), 1, 64, &v, diag) != VIGIE_OK)
            return VIGIE_ERR_CONFIG;
        r->trig = DETECT_TRIG_UPPER;
        r->trig_min = (unsigned)v;
    } else {
        /* keywords: ASCII case-insensitive; exact: case-sensitive, for short
         * abbreviations whose lower-case form is everywhere ("Me" the title,
         * "me" in "comme"). */
        const struct conf_node *kw = conf_map_get(n, "keywords"), *ex = conf_map_get(n, "exact");
        int rc = VIGIE_OK;
        r->trig = DETECT_TRIG_KEYWORDS;
        if (kw != NULL)
            rc = read_words(kw, "keywords", 1, &r->keywords, diag);
        if (ex != NULL && read_words(ex, "exact", 2, &r->exact, diag) != VIGIE_OK)
            rc = VIGIE_ERR_CONFIG;
        return rc;
    }
    return VIGIE_OK;
}

/* window: N (both sides) or {before: N, after: N, anchored: B}. Defaults: 256
 * for '@' and key words (an address or a secret extends well past its
 * anchor), 32 else. anchored: the author's promise that every match starts
 * between `before` bytes before a place and the place's end (a title, a house
 * number); the examples, run through the scanner at load, hold it to it. */
static int read_window(const struct conf_node *map, struct detect_rule *r,
                       struct vigie_diag *diag)
{
    const struct conf_node *n = conf_map_get(map, "window"), *an;
    unsigned long dflt = r->trig == DETECT_TRIG_AT || r->trig == DETECT_TRIG_KEYWORDS
                             ? 256
                             : VIGIE_WINDOW_DEFAULT,
                  b = dflt, a = dflt;
    int bad = 0;

    if (n != NULL && n->kind == CONF_MAP) {
        if (conf_map_check_keys(n, window_keys, diag) > 0)
            bad = 1;
        if (read_uint(n, "before", 0, VIGIE_WINDOW_MAX, dflt, &b, diag) != VIGIE_OK ||
            read_uint(n, "after", 0, VIGIE_WINDOW_MAX, dflt, &a, diag) != VIGIE_OK)
            bad = 1;
        if ((an = conf_map_get(n, "anchored")) != NULL) {
            if (conf_get_bool(an, &r->anchored, diag) != VIGIE_OK)
                bad = 1;
            else if (r->anchored && r->trig == DETECT_TRIG_ALWAYS) {
                conf_diag(diag, an, "rule '%s': 'anchored' needs a trigger", r->id);
                bad = 1;
            }
        }
    } else if (n != NULL) {
        if (conf_get_uint(n, 0, VIGIE_WINDOW_MAX, &b, diag) != VIGIE_OK)
            bad = 1;
        a = b;
    }
    r->before = (unsigned)b;
    r->after = (unsigned)a;
    return bad ? VIGIE_ERR_CONFIG : VIGIE_OK;
}

static pcre2_code *compile_pattern(const char *pat, size_t len, uint32_t extra, int *errcode,
                                   PCRE2_SIZE *erroff)
{
    pcre2_compile_context *cctx = pcre2_compile_context_create(NULL);
    pcre2_code *code;

    if (cctx == NULL) {
        *errcode = PCRE2_ERROR_NOMEMORY;
        *erroff = 0;
        return NULL;
    }
    /* Nesting beyond this is never needed by a detector and is how patterns
     * blow PCRE2's own stack at compile time. */
    pcre2_set_parens_nest_limit(cctx, 50);
    /* UTF: the view is valid UTF-8. Not UCP: \d stays ASCII, since other
     * digits are folded to ASCII by normalisation and a checksum needs their
     * values. \C could split a character: refused. */
    code = pcre2_compile((PCRE2_SPTR)pat, len, PCRE2_UTF | PCRE2_NEVER_BACKSLASH_C | extra,
                         errcode, erroff, cctx);
    pcre2_compile_context_free(cctx);
    return code;
}

static void pcre2_msg(int code, char *buf, size_t sz)
{
    if (pcre2_get_error_message(code, (PCRE2_UCHAR *)buf, sz) < 0)
        snprintf(buf, sz, "error %d", code);
}

static int read_allow(const struct conf_node *map, struct detect_rule *r, struct vigie_diag *diag)
{
    const struct conf_node *n = conf_map_get(map, "allow"), *p;
    size_t i;
    int bad = 0;

    if (n != NULL) {
        if (n->kind != CONF_SEQ) {
            conf_diag(diag, n, "'allow' must be a list of values, found %s",
                      conf_kind_name(n->kind));
            return VIGIE_ERR_CONFIG;
        }
        r->allow = calloc(n->n ? n->n : 1, sizeof(*r->allow));
        r->allow_len = calloc(n->n ? n->n : 1, sizeof(*r->allow_len));
        if (r->allow == NULL || r->allow_len == NULL)
            return VIGIE_ERR_NOMEM;
        for (i = 0; i < n->n; i++) {
            const char *s;
            size_t len;
            char canon[VIGIE_VALUE_MAX];
            if (conf_get_str(n->vals[i], &s, &len, diag) != VIGIE_OK) {
                bad = 1;
                continue;
            }
            len = detect_value_canon(r, s, len, canon, sizeof(canon));
            if (len == (size_t)-1 || len == 0) {
                conf_diag(diag, n->vals[i], "allowed value is empty or too long");
                bad = 1;
                continue;
            }
            r->allow[r->nallow] = dup_str(canon, len);
            if (r->allow[r->nallow] == NULL)
                return VIGIE_ERR_NOMEM;
            r->allow_len[r->nallow++] = len;
        }
    }
    p = conf_map_get(map, "allow_pattern");
    if (p != NULL) {
        const char *s;
        size_t len;
        int ec;
        PCRE2_SIZE off;
        char msg[256];
        if (conf_get_str(p, &s, &len, diag) != VIGIE_OK)
            return VIGIE_ERR_CONFIG;
        r->allow_re = compile_pattern(s, len, 0, &ec, &off);
        if (r->allow_re == NULL) {
            pcre2_msg(ec, msg, sizeof(msg));
            conf_diag(diag, p, "rule '%s': invalid allow_pattern at offset %zu: %s", r->id,
                      (size_t)off, msg);
            return VIGIE_ERR_CONFIG;
        }
        pcre2_jit_compile(r->allow_re, PCRE2_JIT_COMPLETE);
    }
    return bad ? VIGIE_ERR_CONFIG : VIGIE_OK;
}

/* The label defaults to the last part of the category in capitals:
 * contact.email -> EMAIL, identity.nir -> NIR. */
static char *default_label(const char *category)
{
    const char *p = strrchr(category, '.');
    char *l, *q;

    p = p ? p + 1 : category;
    l = dup_str(p, strlen(p));
    if (l == NULL)
        return NULL;
    for (q = l; *q; q++) {
        if (*q >= 'a' && *q <= 'z')
            *q = (char)(*q - 32);
        else if (!((*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9')))
            *q = '_';
    }
    return l;
}

static struct detect_rule *rule_parse(const struct conf_node *m, const char *pack, size_t index,
                                      struct vigie_diag *diag)
{
    struct detect_rule *r = calloc(1, sizeof(*r));
    const struct conf_node *n, *where;
    unsigned long v;
    int bad = 0, e;
    char *vname = NULL;

    if (r == NULL)
        return NULL;
    r->magic = DETECT_RULE_MAGIC;
    r->line = m->line;
    r->col = m->col;
    r->pack = dup_str(pack, strlen(pack));
    r->file = dup_str(conf_doc_file(m->doc), strlen(conf_doc_file(m->doc)));
    if (conf_map_check_keys(m, rule_keys, diag) > 0)
        bad = 1;

    if (read_str(m, "id", 1, &r->id, &where, diag) != VIGIE_OK) {
        bad = 1;
    } else if (!valid_name(r->id, strlen(r->id))) {
        conf_diag(diag, where,
                  "invalid id '%s': use lower-case letters, digits, '.', '_' and '-' "
                  "(at most 64)",
                  r->id);
        bad = 1;
    }
    if (r->id == NULL) {
        char tmp[32];
        snprintf(tmp, sizeof(tmp), "#%zu", index + 1);
        r->id = dup_str(tmp, strlen(tmp));
    }
    if (read_str(m, "category", 1, &r->category, &where, diag) != VIGIE_OK) {
        bad = 1;
    } else if (!valid_name(r->category, strlen(r->category))) {
        conf_diag(diag, where, "rule '%s': invalid category '%s'", r->id, r->category);
        bad = 1;
    }
    if (read_str(m, "description", 1, &r->description, NULL, diag) != VIGIE_OK)
        bad = 1;
    if (read_str(m, "label", 0, &r->label, &where, diag) != VIGIE_OK) {
        bad = 1;
    } else if (r->label != NULL && !valid_label(r->label, strlen(r->label))) {
        conf_diag(diag, where, "rule '%s': label must be capitals, digits and '_' (at most 32)",
                  r->id);
        bad = 1;
    }
    if (r->label == NULL && r->category != NULL && (r->label = default_label(r->category)) == NULL)
        goto nomem;

    if (read_str(m, "validator", 0, &vname, &where, diag) != VIGIE_OK) {
        bad = 1;
    } else if (vname != NULL) {
        r->validator = detect_validator_find(vname);
        if (r->validator == NULL) {
            const struct detect_validator *all = detect_validator_all();
            char list[512] = "";
            size_t i;
            for (i = 0; all[i].name != NULL; i++) {
                if (i > 0)
                    strncat(list, ", ", sizeof(list) - strlen(list) - 1);
                strncat(list, all[i].name, sizeof(list) - strlen(list) - 1);
            }
            conf_diag(diag, where, "rule '%s': unknown validator '%s' (known: %s)", r->id, vname,
                      list);
            bad = 1;
        }
    }

    if ((n = conf_map_get(m, "trim")) != NULL) {
        if (conf_get_bool(n, &r->trim, diag) != VIGIE_OK)
            bad = 1;
        else if (r->trim && r->validator == NULL && vname == NULL) {
            conf_diag(diag, n, "rule '%s': 'trim' needs a validator to say which cut is valid",
                      r->id);
            bad = 1;
        }
    }
    free(vname);
    vname = NULL;
    if (read_trigger(m, r, diag) != VIGIE_OK)
        bad = 1;
    if (read_window(m, r, diag) != VIGIE_OK)
        bad = 1;

    r->ctx_window = VIGIE_CONTEXT_WINDOW_DEFAULT;
    if ((n = conf_map_get(m, "context")) != NULL) {
        const struct conf_node *c;
        if (n->kind != CONF_MAP) {
            conf_diag(diag, n, "'context' must be a mapping (words, suppress, window, required)");
            bad = 1;
        } else {
            if (conf_map_check_keys(n, context_keys, diag) > 0)
                bad = 1;
            if ((c = conf_map_get(n, "words")) != NULL &&
                read_words(c, "words", 0, &r->ctx, diag) != VIGIE_OK)
                bad = 1;
            if ((c = conf_map_get(n, "suppress")) != NULL &&
                read_words(c, "suppress", 0, &r->suppress, diag) != VIGIE_OK)
                bad = 1;
            if (read_uint(n, "window", 1, VIGIE_WINDOW_MAX, VIGIE_CONTEXT_WINDOW_DEFAULT, &v,
                          diag) != VIGIE_OK)
                bad = 1;
            r->ctx_window = (unsigned)v;
            if ((c = conf_map_get(n, "required")) != NULL &&
                conf_get_bool(c, &r->ctx_required, diag) != VIGIE_OK)
                bad = 1;
            if (r->ctx_required && r->ctx.n == 0) {
                conf_diag(diag, n, "rule '%s': context is required but no words are given",
                          r->id);
                bad = 1;
            }
        }
    }

    if (read_uint(m, "priority", 0, 1000, 50, &v, diag) != VIGIE_OK)
        bad = 1;
    r->priority = (int)v;
    if (parse_enum(m, "action", action_names, DETECT_ACT_MASK, &e, diag) != VIGIE_OK)
        bad = 1;
    r->action = (enum detect_action)e;
    if (parse_enum(m, "mask", masker_names, DETECT_MASK_LABEL, &e, diag) != VIGIE_OK)
        bad = 1;
    r->masker = (enum detect_masker)e;
    if (read_uint(m, "keep", 1, 32, 4, &v, diag) != VIGIE_OK)
        bad = 1;
    r->keep = (unsigned)v;
    if (parse_enum(m, "pseudonym", pseudo_names, DETECT_PSEUDO_NUMBER, &e, diag) != VIGIE_OK)
        bad = 1;
    r->pseudo = (enum detect_pseudonym)e;

    /* The pattern last among scalars: its messages name the rule. */
    if (read_str(m, "pattern", 1, &r->pattern, &where, diag) != VIGIE_OK) {
        bad = 1;
    } else if (strlen(r->pattern) > PATTERN_MAX) {
        conf_diag(diag, where, "rule '%s': pattern longer than %u bytes", r->id, PATTERN_MAX);
        bad = 1;
    } else {
        int ec;
        PCRE2_SIZE off;
        char msg[256];
        /* An anchored rule's search is bounded by an offset limit. */
        r->code = compile_pattern(r->pattern, strlen(r->pattern),
                                  r->anchored ? PCRE2_USE_OFFSET_LIMIT : 0, &ec, &off);
        if (r->code == NULL) {
            pcre2_msg(ec, msg, sizeof(msg));
            conf_diag(diag, where, "rule '%s': invalid pattern at offset %zu: %s", r->id,
                      (size_t)off, msg);
            bad = 1;
        } else {
            pcre2_match_data *md = pcre2_match_data_create(1, NULL);
            int rc;
            /* JIT is what makes the scan fast; without it (an exotic
             * platform) the interpreter gives the same answers, slower. */
            if (pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE) == 0) {
                size_t jsz = 0;
                r->jit = pcre2_pattern_info(r->code, PCRE2_INFO_JITSIZE, &jsz) == 0 && jsz > 0;
            }
            if (md == NULL)
                goto nomem;
            rc = pcre2_match(r->code, (PCRE2_SPTR) "", 0, 0, 0, md, NULL);
            pcre2_match_data_free(md);
            if (rc >= 0) {
                conf_diag(diag, where,
                          "rule '%s': pattern matches the empty string, so it would match "
                          "everywhere",
                          r->id);
                bad = 1;
            }
        }
    }
    if (read_allow(m, r, diag) != VIGIE_OK)
        bad = 1;
    if (!bad)
        return r;
    detect_rule_free(r);
    return NULL;
nomem:
    detect_rule_free(r);
    return NULL;
}

/* ---- examples ---------------------------------------------------------------- */

struct example {
    const struct conf_node *node;
    const char *text;
    size_t len;
    const char *find; /* NULL: the whole text */
    size_t findlen;
};

static int read_examples(const struct conf_node *list, const char *what, int allow_find,
                         struct example **out, size_t *nout, struct vigie_diag *diag)
{
    struct example *ex;
    size_t i;
    int bad = 0;

    *out = NULL;
    *nout = 0;
    if (list->kind != CONF_SEQ || list->n == 0) {
        conf_diag(diag, list, "'%s' must be a non-empty list of examples", what);
        return VIGIE_ERR_CONFIG;
    }
    if (list->n > VIGIE_RULE_EXAMPLES_MAX) {
        conf_diag(diag, list, "'%s' has more than %u examples", what, VIGIE_RULE_EXAMPLES_MAX);
        return VIGIE_ERR_CONFIG;
    }
    ex = calloc(list->n, sizeof(*ex));
    if (ex == NULL)
        return VIGIE_ERR_NOMEM;
    for (i = 0; i < list->n; i++) {
        const struct conf_node *it = list->vals[i];
        ex[i].node = it;
        if (it->kind == CONF_MAP && allow_find) {
            const struct conf_node *t = conf_map_get(it, "text"), *f = conf_map_get(it, "find");
            if (conf_map_check_keys(it, example_keys, diag) > 0 || t == NULL || f == NULL) {
                if (t == NULL || f == NULL)
                    conf_diag(diag, it, "an example mapping needs both 'text' and 'find'");
                bad = 1;
                continue;
            }
            if (conf_get_str(t, &ex[i].text, &ex[i].len, diag) != VIGIE_OK ||
                conf_get_str(f, &ex[i].find, &ex[i].findlen, diag) != VIGIE_OK) {
                bad = 1;
                continue;
            }
            if (ex[i].findlen == 0 || memmem(ex[i].text, ex[i].len, ex[i].find,
                                             ex[i].findlen) == NULL) {
                conf_diag(diag, f, "'find' must be a part of 'text'");
                bad = 1;
            }
        } else if (conf_get_str(it, &ex[i].text, &ex[i].len, diag) != VIGIE_OK) {
            bad = 1;
        }
    }
    *out = ex;
    *nout = list->n;
    return bad ? VIGIE_ERR_CONFIG : VIGIE_OK;
}

static void quote(char *buf, size_t sz, const char *s, size_t len)
{
    size_t i, o = 0;

    for (i = 0; i < len && o + 5 < sz; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(buf + o, sz - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    if (i < len && o + 4 < sz)
        o += (size_t)snprintf(buf + o, sz - o, "...");
    buf[o] = '\0';
}

/* Runs a rule's examples through a one-rule set, the same path as a real scan. */
static int run_examples(struct detect_rule *r, const struct conf_node *exnode,
                        struct vigie_diag *diag)
{
    struct detect_set tmp;
    struct detect_rule *one[1] = {r};
    struct detect_scanner *sc = NULL;
    const struct conf_node *mn, *nn;
    struct example *mex = NULL, *nex = NULL;
    size_t nm = 0, nnm = 0, i, j, nf;
    const char **texts = NULL;
    char q[160], q2[160], why[256];
    int bad = 0, rc;

    memset(&tmp, 0, sizeof(tmp));
    if (exnode == NULL) {
        vigie_diag_add(diag, r->file, r->line, r->col,
                       "rule '%s' has no examples: give values it must find ('match') and "
                       "look-alikes it must leave ('no_match')",
                       r->id);
        return VIGIE_ERR_CONFIG;
    }
    if (exnode->kind != CONF_MAP) {
        conf_diag(diag, exnode, "'examples' must be a mapping with 'match' and 'no_match'");
        return VIGIE_ERR_CONFIG;
    }
    if (conf_map_check_keys(exnode, examples_keys, diag) > 0)
        return VIGIE_ERR_CONFIG;
    mn = conf_map_get(exnode, "match");
    nn = conf_map_get(exnode, "no_match");
    if (mn == NULL || nn == NULL) {
        conf_diag(diag, exnode,
                  "rule '%s': examples need both 'match' (values it must find) and "
                  "'no_match' (look-alikes it must leave)",
                  r->id);
        return VIGIE_ERR_CONFIG;
    }
    if (read_examples(mn, "match", 1, &mex, &nm, diag) != VIGIE_OK ||
        read_examples(nn, "no_match", 0, &nex, &nnm, diag) != VIGIE_OK) {
        bad = 1;
        goto out;
    }

    tmp.rules = one;
    tmp.nrules = 1;
    tmp.borrowed = 1;
    if (detect_prefilter_build(&tmp, diag) != VIGIE_OK)
        goto nomem;
    tmp.finished = 1;
    sc = detect_scanner_new(&tmp, VIGIE_SCAN_INPUT_MAX);
    if (sc == NULL)
        goto nomem;

    for (i = 0; i < nm; i++) {
        const struct example *e = &mex[i];
        const struct detect_finding *f;
        size_t want_s = 0, want_e = e->len;
        int ok = 0;

        if (e->find != NULL) {
            want_s = (size_t)((const char *)memmem(e->text, e->len, e->find, e->findlen) -
                              e->text);
            want_e = want_s + e->findlen;
        }
        rc = detect_scan(sc, e->text, e->len, r, 0);
        if (rc != VIGIE_OK) {
            conf_diag(diag, e->node, "rule '%s': example failed to scan: %s", r->id,
                      vigie_strerror(rc));
            bad = 1;
            continue;
        }
        f = detect_scanner_findings(sc, &nf);
        for (j = 0; j < nf; j++)
            if (f[j].start == want_s && f[j].end == want_e)
                ok = 1;
        if (ok)
            continue;
        bad = 1;
        quote(q, sizeof(q), e->find ? e->find : e->text, e->find ? e->findlen : e->len);
        if (nf > 0) {
            quote(q2, sizeof(q2), e->text + f[0].start, f[0].end - f[0].start);
            conf_diag(diag, e->node, "rule '%s': example \"%s\" is found as \"%s\" instead",
                      r->id, q, q2);
            continue;
        }
        /* Say why, when the trigger is what hides it: the most common slip. */
        rc = detect_scan(sc, e->text, e->len, r, DETECT_SCAN_FULL);
        detect_scanner_findings(sc, &nf);
        if (rc == VIGIE_OK && nf > 0 && r->trig != DETECT_TRIG_ALWAYS)
            conf_diag(diag, e->node,
                      "rule '%s': example \"%s\" matches the pattern but not through its "
                      "trigger and window (%u bytes before, %u after): change the trigger or "
                      "widen the window",
                      r->id, q, r->before, r->after);
        else
            conf_diag(diag, e->node, "rule '%s': example \"%s\" is not found", r->id, q);
    }
    for (i = 0; i < nnm; i++) {
        const struct example *e = &nex[i];
        const struct detect_finding *f;
        /* Look-alikes must pass in both modes: a trigger must not be what
         * keeps a rule quiet. */
        rc = detect_scan(sc, e->text, e->len, r, DETECT_SCAN_FULL);
        if (rc != VIGIE_OK) {
            conf_diag(diag, e->node, "rule '%s': example failed to scan: %s", r->id,
                      vigie_strerror(rc));
            bad = 1;
            continue;
        }
        f = detect_scanner_findings(sc, &nf);
        if (nf > 0) {
            quote(q, sizeof(q), e->text, e->len);
            quote(q2, sizeof(q2), e->text + f[0].start, f[0].end - f[0].start);
            conf_diag(diag, e->node, "rule '%s': must-not-match example \"%s\" is found (\"%s\")",
                      r->id, q, q2);
            bad = 1;
        }
    }
    if (bad)
        goto out;

    texts = calloc(nm, sizeof(*texts));
    if (texts == NULL)
        goto nomem;
    for (i = 0; i < nm; i++)
        texts[i] = mex[i].find ? mex[i].find : mex[i].text;
    if (detect_hostile_check(r, texts, nm, why, sizeof(why)) != VIGIE_OK) {
        vigie_diag_add(diag, r->file, r->line, r->col, "rule '%s': pattern refused: %s", r->id,
                       why);
        bad = 1;
    }
out:
    free(texts);
    free(mex);
    free(nex);
    detect_scanner_free(sc);
    free(tmp.kws);
    free(tmp.kw_pairs);
    free(tmp.kw_pair_of);
    return bad ? VIGIE_ERR_CONFIG : VIGIE_OK;
nomem:
    free(texts);
    free(mex);
    free(nex);
    detect_scanner_free(sc);
    free(tmp.kws);
    free(tmp.kw_pairs);
    free(tmp.kw_pair_of);
    return VIGIE_ERR_NOMEM;
}

/* ---- sets ------------------------------------------------------------------------ */

struct detect_set *detect_set_new(void)
{
    return calloc(1, sizeof(struct detect_set));
}

void detect_set_free(struct detect_set *set)
{
    size_t i;

    if (set == NULL)
        return;
    if (!set->borrowed)
        for (i = 0; i < set->nrules; i++)
            detect_rule_free(set->rules[i]);
    free(set->rules);
    for (i = 0; i < set->npacks; i++)
        free(set->packs[i]);
    free(set->packs);
    free(set->kws);
    free(set->kw_pairs);
    free(set->kw_pair_of);
    free(set);
}

size_t detect_set_nrules(const struct detect_set *set)
{
    return set->nrules;
}

const struct detect_rule *detect_set_rule(const struct detect_set *set, size_t i)
{
    return i < set->nrules ? set->rules[i] : NULL;
}

const struct detect_rule *detect_set_find(const struct detect_set *set, const char *id)
{
    size_t i;

    for (i = 0; i < set->nrules; i++)
        if (strcmp(set->rules[i]->id, id) == 0)
            return set->rules[i];
    return NULL;
}

size_t detect_set_npacks(const struct detect_set *set)
{
    return set->npacks;
}

const char *detect_set_pack_name(const struct detect_set *set, size_t i)
{
    return i < set->npacks ? set->packs[i] : NULL;
}

int detect_set_add_pack(struct detect_set *set, const char *file, const char *buf, size_t len,
                        struct vigie_diag *diag)
{
    struct conf_doc *doc;
    const struct conf_node *root, *dets, *n;
    struct detect_rule **rules = NULL;
    size_t nrules = 0, i, j, before = diag->n + diag->dropped;
    char *pack = NULL;
    int rc = VIGIE_ERR_CONFIG;

    if (set->finished) {
        vigie_diag_add(diag, file, 0, 0, "rule set already finished");
        return VIGIE_ERR_INVAL;
    }
    doc = conf_doc_parse(file, buf, len, diag);
    if (doc == NULL)
        return VIGIE_ERR_CONFIG;
    root = conf_doc_root(doc);
    if (root == NULL) {
        vigie_diag_add(diag, file, 0, 0, "empty rule pack");
        goto out;
    }
    if (root->kind != CONF_MAP) {
        conf_diag(diag, root, "a rule pack must be a mapping with 'pack' and 'detectors'");
        goto out;
    }
    conf_map_check_keys(root, pack_keys, diag);
    if (read_str(root, "pack", 1, &pack, &n, diag) == VIGIE_OK &&
        !valid_name(pack, strlen(pack))) {
        conf_diag(diag, n, "invalid pack name '%s'", pack);
    }
    for (i = 0; pack != NULL && i < set->npacks; i++)
        if (strcmp(set->packs[i], pack) == 0)
            conf_diag(diag, n, "pack '%s' is loaded twice", pack);
    if ((n = conf_map_get(root, "description")) != NULL) {
        const char *s;
        size_t l;
        conf_get_str(n, &s, &l, diag);
    }
    dets = conf_map_get(root, "detectors");
    if (dets == NULL) {
        conf_diag(diag, root, "missing required field 'detectors'");
        goto out;
    }
    if (dets->kind != CONF_SEQ || dets->n == 0) {
        conf_diag(diag, dets, "'detectors' must be a non-empty list");
        goto out;
    }
    if (set->nrules + dets->n > VIGIE_PACK_RULES_MAX) {
        conf_diag(diag, dets, "more than %u detectors in all", VIGIE_PACK_RULES_MAX);
        goto out;
    }
    rules = calloc(dets->n, sizeof(*rules));
    if (rules == NULL) {
        rc = VIGIE_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < dets->n; i++) {
        const struct conf_node *m = dets->vals[i];
        struct detect_rule *r;
        if (m->kind != CONF_MAP) {
            conf_diag(diag, m, "a detector must be a mapping, found %s", conf_kind_name(m->kind));
            continue;
        }
        r = rule_parse(m, pack ? pack : "?", i, diag);
        if (r == NULL)
            continue;
        for (j = 0; j < nrules; j++)
            if (strcmp(rules[j]->id, r->id) == 0)
                conf_diag(diag, conf_map_get(m, "id"), "duplicate rule id '%s' (first at %u:%u)",
                          r->id, rules[j]->line, rules[j]->col);
        if (detect_set_find(set, r->id) != NULL)
            conf_diag(diag, conf_map_get(m, "id"), "rule id '%s' is already defined in pack '%s'",
                      r->id, detect_set_find(set, r->id)->pack);
        /* Examples only for rules that parsed: their messages would
         * otherwise repeat the parse errors. */
        if (run_examples(r, conf_map_get(m, "examples"), diag) == VIGIE_ERR_NOMEM) {
            detect_rule_free(r);
            rc = VIGIE_ERR_NOMEM;
            goto out;
        }
        rules[nrules++] = r;
    }
    if (diag->n + diag->dropped != before)
        goto out;

    /* Whole pack valid: move its rules into the set. */
    {
        struct detect_rule **nv;
        char **np;
        nv = realloc(set->rules, (set->nrules + nrules) * sizeof(*nv));
        if (nv == NULL) {
            rc = VIGIE_ERR_NOMEM;
            goto out;
        }
        set->rules = nv;
        np = realloc(set->packs, (set->npacks + 1) * sizeof(*np));
        if (np == NULL) {
            rc = VIGIE_ERR_NOMEM;
            goto out;
        }
        set->packs = np;
        for (i = 0; i < nrules; i++) {
            rules[i]->index = set->nrules;
            set->rules[set->nrules++] = rules[i];
        }
        nrules = 0;
        set->packs[set->npacks++] = pack;
        pack = NULL;
        rc = VIGIE_OK;
    }
out:
    for (i = 0; i < nrules; i++)
        detect_rule_free(rules[i]);
    free(rules);
    free(pack);
    conf_doc_free(doc);
    return rc;
}

int detect_set_finish(struct detect_set *set, struct vigie_diag *diag)
{
    int rc;

    if (set->nrules == 0) {
        vigie_diag_add(diag, NULL, 0, 0,
                       "no detectors loaded: refusing to run a scanner that finds nothing");
        return VIGIE_ERR_CONFIG;
    }
    rc = detect_prefilter_build(set, diag);
    if (rc != VIGIE_OK)
        return rc;
    set->finished = 1;
    return VIGIE_OK;
}
