/*
 * Masking: writing a text with its findings replaced, and the reversible map
 * that lets a later stage put pseudonymised values back into the answer.
 *
 * Replacements:
 *   label      [EMAIL]                       irreversible
 *   partial    **** **** **** 1111           irreversible, keeps the last `keep`
 *   number     [EMAIL_1] ... [EMAIL_1]       reversible; per map, same value same number
 *   keyed      [EMAIL_3f9a2c1b7e04]          reversible; HMAC-SHA-256(key, category,
 *                                            value): the same everywhere the key is
 * A numbered token stands for the exact bytes written, so restoring gives the
 * text back as written; a keyed token stands for the canonical value ("06 12
 * 34 56 78" and "0612345678" get one token), and restores the first spelling
 * seen.
 *
 * A token must never be confused with text the user wrote: a numbered token
 * already present in the input is skipped, and two values with one keyed token
 * is an error, not a silent merge.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "detect/detect_int.h"

#define TOKEN_MAX 64
#define KEYED_HEX 12 /* 48 bits: collisions are detected, and improbable per request */

struct rm_entry {
    char *token;
    size_t toklen;
    char *value;
    size_t vallen;
    char *key; /* label '\0' canonical value */
    size_t keylen;
};

struct rm_counter {
    char label[40];
    unsigned next;
};

struct detect_revmap {
    struct rm_entry *v;
    size_t n, cap;
    uint32_t *by_key; /* open addressing, entry index + 1, 0 = empty */
    uint32_t *by_tok;
    size_t hcap;      /* power of two */
    struct rm_counter *ctr;
    size_t nctr;
};

static uint64_t fnv(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

struct detect_revmap *detect_revmap_new(void)
{
    return calloc(1, sizeof(struct detect_revmap));
}

void detect_revmap_free(struct detect_revmap *m)
{
    size_t i;

    if (m == NULL)
        return;
    for (i = 0; i < m->n; i++) {
        /* Values are the personal data themselves; keys hold their
         * canonical form. Both are wiped. */
        vigie_wipe(m->v[i].value, m->v[i].vallen);
        vigie_wipe(m->v[i].key, m->v[i].keylen);
        free(m->v[i].value);
        free(m->v[i].key);
        free(m->v[i].token);
    }
    free(m->v);
    free(m->by_key);
    free(m->by_tok);
    free(m->ctr);
    free(m);
}

size_t detect_revmap_count(const struct detect_revmap *m)
{
    return m->n;
}

void detect_revmap_entry(const struct detect_revmap *m, size_t i, const char **token,
                         size_t *toklen, const char **value, size_t *vallen)
{
    *token = m->v[i].token;
    *toklen = m->v[i].toklen;
    *value = m->v[i].value;
    *vallen = m->v[i].vallen;
}

static long find_by(const struct detect_revmap *m, const uint32_t *tab, int bytok, const char *s,
                    size_t len)
{
    size_t mask, i;

    if (m->hcap == 0)
        return -1;
    mask = m->hcap - 1;
    for (i = fnv(s, len) & mask;; i = (i + 1) & mask) {
        const struct rm_entry *e;
        if (tab[i] == 0)
            return -1;
        e = &m->v[tab[i] - 1];
        if (bytok ? (e->toklen == len && memcmp(e->token, s, len) == 0)
                  : (e->keylen == len && memcmp(e->key, s, len) == 0))
            return (long)(tab[i] - 1);
    }
}

const char *detect_revmap_lookup(const struct detect_revmap *m, const char *token,
                                 size_t toklen, size_t *vallen)
{
    long i = find_by(m, m->by_tok, 1, token, toklen);

    if (i < 0)
        return NULL;
    *vallen = m->v[i].vallen;
    return m->v[i].value;
}

static void hash_put(uint32_t *tab, size_t hcap, const char *s, size_t len, uint32_t val)
{
    size_t i, mask = hcap - 1;

    for (i = fnv(s, len) & mask; tab[i] != 0; i = (i + 1) & mask)
        ;
    tab[i] = val;
}

static int rehash(struct detect_revmap *m)
{
    size_t ncap = m->hcap ? m->hcap * 2 : 64, i;
    uint32_t *bk = calloc(ncap, sizeof(*bk)), *bt = calloc(ncap, sizeof(*bt));

    if (bk == NULL || bt == NULL) {
        free(bk);
        free(bt);
        return VIGIE_ERR_NOMEM;
    }
    for (i = 0; i < m->n; i++) {
        hash_put(bk, ncap, m->v[i].key, m->v[i].keylen, (uint32_t)(i + 1));
        hash_put(bt, ncap, m->v[i].token, m->v[i].toklen, (uint32_t)(i + 1));
    }
    free(m->by_key);
    free(m->by_tok);
    m->by_key = bk;
    m->by_tok = bt;
    m->hcap = ncap;
    return VIGIE_OK;
}

static char *memdup(const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static int rm_add(struct detect_revmap *m, const char *token, size_t toklen, const char *value,
                  size_t vallen, const char *key, size_t keylen)
{
    struct rm_entry *e;

    if (m->n >= VIGIE_FINDINGS_MAX)
        return VIGIE_ERR_TOO_BIG;
    if ((m->n + 1) * 2 > m->hcap && rehash(m) != VIGIE_OK)
        return VIGIE_ERR_NOMEM;
    if (VIGIE_ARRAY_RESERVE(m->v, m->n, m->cap, 16) != VIGIE_OK)
        return VIGIE_ERR_NOMEM;
    e = &m->v[m->n];
    e->token = memdup(token, toklen);
    e->value = memdup(value, vallen);
    e->key = memdup(key, keylen);
    if (e->token == NULL || e->value == NULL || e->key == NULL) {
        free(e->token);
        if (e->value)
            vigie_wipe(e->value, vallen);
        free(e->value);
        free(e->key);
        return VIGIE_ERR_NOMEM;
    }
    e->toklen = toklen;
    e->vallen = vallen;
    e->keylen = keylen;
    m->n++;
    hash_put(m->by_key, m->hcap, key, keylen, (uint32_t)m->n);
    hash_put(m->by_tok, m->hcap, token, toklen, (uint32_t)m->n);
    return VIGIE_OK;
}

static struct rm_counter *counter(struct detect_revmap *m, const char *label)
{
    size_t i;
    struct rm_counter *nv;

    for (i = 0; i < m->nctr; i++)
        if (strcmp(m->ctr[i].label, label) == 0)
            return &m->ctr[i];
    nv = realloc(m->ctr, (m->nctr + 1) * sizeof(*nv));
    if (nv == NULL)
        return NULL;
    m->ctr = nv;
    snprintf(m->ctr[m->nctr].label, sizeof(m->ctr[m->nctr].label), "%s", label);
    m->ctr[m->nctr].next = 1;
    return &m->ctr[m->nctr++];
}

int detect_revmap_restore(const struct detect_revmap *m, const char *text, size_t len,
                          struct vigie_buf *out)
{
    size_t i = 0, from = 0;
    int rc;

    while (i < len) {
        const char *open = memchr(text + i, '[', len - i), *close;
        const char *val;
        size_t vlen, off;

        if (open == NULL)
            break;
        off = (size_t)(open - text);
        close = memchr(open, ']', len - off < TOKEN_MAX ? len - off : TOKEN_MAX);
        if (close == NULL) {
            i = off + 1;
            continue;
        }
        val = detect_revmap_lookup(m, open, (size_t)(close - open) + 1, &vlen);
        if (val == NULL) {
            i = off + 1;
            continue;
        }
        if ((rc = vigie_buf_append(out, text + from, off - from)) != VIGIE_OK ||
            (rc = vigie_buf_append(out, val, vlen)) != VIGIE_OK)
            return rc;
        i = from = (size_t)(close - text) + 1;
    }
    return vigie_buf_append(out, text + from, len - from);
}

/* ---- masking ------------------------------------------------------------------- */

enum detect_action detect_finding_action(const struct detect_finding *f,
                                         const struct detect_mask_opts *opts)
{
    if (opts != NULL && opts->decide != NULL)
        return opts->decide(opts->decide_arg, f);
    return f->rule->action;
}

static int is_sep(unsigned char c)
{
    return c == ' ' || c == '.' || c == '-' || c == '/' || c == '(' || c == ')' || c == '+' ||
           c == '\t' || c == '\n';
}

/* **** **** **** 1111: every character but separators starred, except the last
 * `keep` ones. Written from the view, so hidden characters do not survive. */
static int write_partial(struct vigie_buf *out, const char *v, size_t n, unsigned keep)
{
    size_t total = 0, seen = 0, i;
    int rc;

    for (i = 0; i < n; i++)
        if (!is_sep((unsigned char)v[i]) && ((unsigned char)v[i] & 0xC0) != 0x80)
            total++;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (is_sep(c)) {
            rc = vigie_buf_appendc(out, (char)c);
        } else if ((c & 0xC0) == 0x80) {
            continue; /* rest of a character already written */
        } else if (seen++ + keep >= total) {
            size_t l = 1;
            while (i + l < n && ((unsigned char)v[i + l] & 0xC0) == 0x80)
                l++;
            rc = vigie_buf_append(out, v + i, l);
        } else {
            rc = vigie_buf_appendc(out, '*');
        }
        if (rc != VIGIE_OK)
            return rc;
    }
    return VIGIE_OK;
}

/* The identity of a value for numbering and keyed tokens: its label (or
 * category, for keys) and its canonical form under rule r, or its exact bytes
 * when r is NULL; a SHA-256 of the bytes when the value is longer than any
 * identifier. */
static size_t value_key(const struct detect_rule *r, const char *prefix, const char *v, size_t n,
                        char *out, size_t outsz)
{
    size_t pl = strlen(prefix), cl;

    if (pl + 2 >= outsz)
        return 0;
    memcpy(out, prefix, pl);
    out[pl] = '\0';
    if (r == NULL) {
        /* The value as it is, byte for byte. */
        cl = n <= outsz - pl - 1 ? n : (size_t)-1;
        if (cl != (size_t)-1)
            memcpy(out + pl + 1, v, n);
    } else {
        cl = detect_value_canon(r, v, n, out + pl + 1, outsz - pl - 1);
    }
    if (cl == (size_t)-1) {
        unsigned char md[SHA256_DIGEST_LENGTH];
        /* The canonical form may have filled the buffer before it ran out:
         * wiped here, so that callers wipe only the key's length. */
        vigie_wipe(out + pl + 1, outsz - pl - 1);
        SHA256((const unsigned char *)v, n, md);
        if (pl + 1 + sizeof(md) > outsz)
            return 0;
        memcpy(out + pl + 1, md, sizeof(md));
        cl = sizeof(md);
    }
    return pl + 1 + cl;
}

static int utok_order(const void *x, const void *y)
{
    const struct detect_utok *a = x, *b = y;

    return a->hash < b->hash ? -1 : a->hash > b->hash;
}

/* Indexes every token-shaped string of text ('[' capitals, digits and '_' with
 * at least one '_', then ']'): one pass, then each check is a binary search.
 * Searching the text for each new token instead would cost O(text x values). */
static int utok_build(struct detect_scanner *sc, const char *text, size_t len)
{
    const char *p = text, *end = text + len;

    sc->nutok = 0;
    sc->utok_built = 1;
    while (p < end && (p = memchr(p, '[', (size_t)(end - p))) != NULL) {
        const char *q = p + 1;
        int us = 0;
        while (q < end && q - p < TOKEN_MAX &&
               ((*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '_' ||
                (*q >= 'a' && *q <= 'f'))) {
            us |= *q == '_';
            q++;
        }
        if (q < end && *q == ']' && us) {
            struct detect_utok *t;
            if (VIGIE_ARRAY_RESERVE(sc->utok, sc->nutok, sc->utok_cap, 16) != VIGIE_OK)
                return VIGIE_ERR_NOMEM;
            t = &sc->utok[sc->nutok++];
            t->off = (size_t)(p - text);
            t->len = (size_t)(q - p) + 1;
            t->hash = fnv(p, t->len);
        }
        p++;
    }
    if (sc->nutok > 1)
        qsort(sc->utok, sc->nutok, sizeof(*sc->utok), utok_order);
    return VIGIE_OK;
}

static int utok_has(const struct detect_scanner *sc, const char *text, const char *tok,
                    size_t tlen)
{
    uint64_t h = fnv(tok, tlen);
    size_t lo = 0, hi = sc->nutok;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (sc->utok[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < sc->nutok && sc->utok[lo].hash == h; lo++)
        if (sc->utok[lo].len == tlen && memcmp(text + sc->utok[lo].off, tok, tlen) == 0)
            return 1;
    return 0;
}

/* "[LABEL_n]" into tok, as snprintf(tok, cap, "[%s_%u]", label, n) writes
 * it, and the length snprintf returns: snprintf's cost was most of writing a
 * token. Labels are at most 32 bytes, so the fallback is never taken. */
static size_t numbered_token(char *tok, size_t cap, const char *label, unsigned n)
{
    char digits[16];
    size_t ll = strlen(label), nd = 0, o = 0;
    unsigned v = n;

    do {
        digits[nd++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    if (ll + nd + 3 >= cap)
        return (size_t)snprintf(tok, cap, "[%s_%u]", label, n);
    tok[o++] = '[';
    memcpy(tok + o, label, ll);
    o += ll;
    tok[o++] = '_';
    while (nd > 0)
        tok[o++] = digits[--nd];
    tok[o++] = ']';
    tok[o] = '\0';
    return o;
}

static int write_token(struct detect_scanner *sc, const struct detect_finding *f,
                       const char *text, size_t len, const struct detect_mask_opts *opts,
                       struct detect_revmap *map, struct vigie_buf *out)
{
    const struct detect_rule *r = f->rule;
    const char *view = sc->norm.text + f->nstart;
    size_t vlen = f->nend - f->nstart, klen, tlen;
    char key[VIGIE_VALUE_MAX + 48], tok[TOKEN_MAX + 1];
    long idx;
    int rc;

    /* Numbered tokens stand for the exact bytes the user wrote, so that
     * restoring gives back exactly their text (a token shared by "10005 Mme"
     * and "10005 MMe" would restore one spelling for both, and the fuzzer
     * showed that this changes what the rest of the text means). Keyed tokens
     * stand for the canonical value, to be the same across requests however
     * it is written. */
    if (r->pseudo == DETECT_PSEUDO_KEYED)
        klen = value_key(r, r->category, view, vlen, key, sizeof(key));
    else
        klen = value_key(NULL, r->label, text + f->start, f->end - f->start, key, sizeof(key));
    if (klen == 0) {
        vigie_wipe(key, sizeof(key));
        return VIGIE_ERR_TOO_BIG;
    }
    /* From here the key's bytes past klen were never written (value_key
     * wipes what an overlong value left), so only klen bytes are wiped: a
     * 1 KiB wipe per token was most of the cost of writing one. */
    idx = find_by(map, map->by_key, 0, key, klen);
    if (idx >= 0) {
        vigie_wipe(key, klen);
        return vigie_buf_append(out, map->v[idx].token, map->v[idx].toklen);
    }
    if (r->pseudo == DETECT_PSEUDO_KEYED) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int maclen = 0, i;
        char hex[KEYED_HEX + 1];
        if (opts == NULL || opts->key == NULL || opts->keylen == 0) {
            vigie_wipe(key, klen);
            return VIGIE_ERR_CONFIG;
        }
        if (HMAC(EVP_sha256(), opts->key, (int)opts->keylen, (const unsigned char *)key, klen,
                 mac, &maclen) == NULL) {
            vigie_wipe(key, klen);
            return VIGIE_ERR_NOMEM;
        }
        for (i = 0; i < KEYED_HEX / 2; i++) {
            hex[2 * i] = "0123456789abcdef"[mac[i] >> 4];
            hex[2 * i + 1] = "0123456789abcdef"[mac[i] & 15];
        }
        hex[KEYED_HEX] = '\0';
        tlen = (size_t)snprintf(tok, sizeof(tok), "[%s_%s]", r->label, hex);
        if (find_by(map, map->by_tok, 1, tok, tlen) >= 0) {
            vigie_wipe(key, klen);
            return VIGIE_ERR_COLLISION;
        }
    } else {
        struct rm_counter *c = counter(map, r->label);
        if (c == NULL) {
            vigie_wipe(key, klen);
            return VIGIE_ERR_NOMEM;
        }
        /* Skip numbers whose token the user already wrote, so that restoring
         * never rewrites their own text. */
        if (!sc->utok_built && (rc = utok_build(sc, text, len)) != VIGIE_OK) {
            vigie_wipe(key, klen);
            return rc;
        }
        for (;;) {
            tlen = numbered_token(tok, sizeof(tok), r->label, c->next++);
            if (find_by(map, map->by_tok, 1, tok, tlen) < 0 && !utok_has(sc, text, tok, tlen))
                break;
        }
    }
    rc = rm_add(map, tok, tlen, text + f->start, f->end - f->start, key, klen);
    vigie_wipe(key, klen);
    if (rc != VIGIE_OK)
        return rc;
    return vigie_buf_append(out, tok, tlen);
}

static int repl_push(struct detect_scanner *sc, int pass, const struct detect_finding *f,
                     size_t os, size_t oe)
{
    struct detect_repl *r;
    ptrdiff_t shift;

    if (pass < 0)
        return VIGIE_OK;
    if (VIGIE_ARRAY_RESERVE(sc->repl[pass], sc->nrepl[pass], sc->repl_cap[pass], 32) !=
        VIGIE_OK)
        return VIGIE_ERR_NOMEM;
    shift = sc->nrepl[pass] > 0 ? sc->repl[pass][sc->nrepl[pass] - 1].shift : 0;
    r = &sc->repl[pass][sc->nrepl[pass]++];
    r->s = f->start;
    r->e = f->end;
    r->os = os;
    r->oe = oe;
    r->ns = f->nstart;
    r->ne = f->nend;
    r->vs = (size_t)((ptrdiff_t)f->nstart + shift);
    r->shift = shift + (ptrdiff_t)(oe - os) - (ptrdiff_t)(f->nend - f->nstart);
    return VIGIE_OK;
}

/* "[LABEL]". */
static int write_label(struct vigie_buf *out, const char *label)
{
    int rc;

    if ((rc = vigie_buf_appendc(out, '[')) != VIGIE_OK ||
        (rc = vigie_buf_append(out, label, strlen(label))) != VIGIE_OK)
        return rc;
    return vigie_buf_appendc(out, ']');
}

/* One masking pass over the last scan's findings. With pass >= 0, each
 * replacement is recorded so that later passes can map their spans back. */
static int mask_pass(struct detect_scanner *sc, const char *text, size_t len,
                     const struct detect_mask_opts *opts, struct detect_revmap *map,
                     struct vigie_buf *out, int *blocked, int pass)
{
    size_t i, from = 0, base = out->len;
    int rc;

    *blocked = 0;
    /* The findings' offsets are only meaningful for the text just scanned. */
    if (sc->last_text != text || sc->last_len != len)
        return VIGIE_ERR_INVAL;
    if (pass >= 0)
        sc->nrepl[pass] = 0;
    sc->utok_built = 0;
    for (i = 0; i < sc->nfound; i++) {
        const struct detect_finding *f = &sc->found[i];
        enum detect_action a = detect_finding_action(f, opts);
        const struct detect_rule *r = f->rule;
        size_t os;

        if ((rc = vigie_buf_append(out, text + from, f->start - from)) != VIGIE_OK)
            return rc;
        from = f->start;
        os = out->len - base;
        switch (a) {
        case DETECT_ACT_ALLOW:
        case DETECT_ACT_FLAG:
            continue; /* the original bytes go out with the next copy */
        case DETECT_ACT_BLOCK:
            *blocked = 1;
            /* Masked all the same: a blocked text may still be shown to its
             * author or logged in a dry run, never with the value. */
            rc = write_label(out, r->label);
            break;
        case DETECT_ACT_MASK:
            if (r->masker == DETECT_MASK_PARTIAL)
                rc = write_partial(out, sc->norm.text + f->nstart, f->nend - f->nstart, r->keep);
            else
                rc = write_label(out, r->label);
            break;
        case DETECT_ACT_PSEUDONYMISE:
            if (map == NULL)
                return VIGIE_ERR_INVAL;
            rc = write_token(sc, f, text, len, opts, map, out);
            break;
        default:
            return VIGIE_ERR_INVAL;
        }
        if (rc != VIGIE_OK)
            return rc;
        if ((rc = repl_push(sc, pass, f, os, out->len - base)) != VIGIE_OK)
            return rc;
        from = f->end;
    }
    return vigie_buf_append(out, text + from, len - from);
}

int detect_mask(struct detect_scanner *sc, const char *text, size_t len,
                const struct detect_mask_opts *opts, struct detect_revmap *map,
                struct vigie_buf *out, int *blocked)
{
    return mask_pass(sc, text, len, opts, map, out, blocked, -1);
}

/* Maps an offset of a pass's output back to its input. A start inside a
 * replacement maps to the replacement's start, an end inside one to its end. */
static size_t map_back(const struct detect_repl *r, size_t n, size_t p, int is_end)
{
    size_t lo = 0, hi = n;

    /* Last replacement whose output starts before p (or at p, for starts). */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (is_end ? r[mid].os < p : r[mid].os <= p)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return p;
    r += lo - 1;
    if (is_end ? p <= r->oe : p < r->oe)
        return is_end ? r->e : r->s;
    return r->e + (p - r->oe);
}

static int replaces(enum detect_action a)
{
    return a == DETECT_ACT_MASK || a == DETECT_ACT_PSEUDONYMISE || a == DETECT_ACT_BLOCK;
}

static int all_push(struct detect_scanner *sc, const struct detect_finding *f, int pass)
{
    struct detect_finding *g;
    int k;

    if (sc->nall >= VIGIE_FINDINGS_MAX)
        return VIGIE_ERR_TOO_BIG;
    if (VIGIE_ARRAY_RESERVE(sc->all, sc->nall, sc->all_cap, 32) != VIGIE_OK)
        return VIGIE_ERR_NOMEM;
    g = &sc->all[sc->nall++];
    *g = *f;
    for (k = pass - 1; k >= 0; k--) {
        g->start = map_back(sc->repl[k], sc->nrepl[k], g->start, 0);
        g->end = map_back(sc->repl[k], sc->nrepl[k], g->end, 1);
    }
    /* View offsets are those of the pass that found it: meaningless now. */
    g->nstart = g->start;
    g->nend = g->end;
    return VIGIE_OK;
}

static int all_order(const void *x, const void *y)
{
    const struct detect_finding *a = x, *b = y;

    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return a->end < b->end ? -1 : a->end > b->end;
}

int detect_redact(struct detect_scanner *sc, const char *text, size_t len,
                  const struct detect_mask_opts *opts, struct detect_revmap *map,
                  struct vigie_buf *out, int *blocked)
{
    struct vigie_buf *tmp = sc->pass_buf;
    const char *in = text;
    size_t inlen = len, i, nrep;
    int pass, rc = VIGIE_OK, b;

    *blocked = 0;
    sc->nall = 0;
    for (pass = 0;; pass++) {
        struct vigie_buf *dst;

        if (pass > 0) {
            /* A rescan: the scan of the previous pass's text (its view and
             * records) is kept aside, and regions that masking left as they
             * were take that scan's candidates instead of running their
             * regex again (rescan_reuse() in scan.c). */
            struct text_norm keep = sc->norm;
            sc->norm = sc->norm_prev;
            sc->norm_prev = keep;
            sc->rec_cur ^= 1;
            sc->rescan_repl = sc->repl[pass - 1];
            sc->rescan_nrepl = sc->nrepl[pass - 1];
            sc->rescan_next = 0;
            sc->rescan = 1;
            rc = detect_scan(sc, in, inlen, NULL, 0);
            sc->rescan = 0;
            if (rc != VIGIE_OK)
                goto done;
        } else if ((opts == NULL || !opts->reuse_scan) &&
                   (rc = detect_scan(sc, in, inlen, NULL, 0)) != VIGIE_OK) {
            goto done;
        }
        for (i = 0, nrep = 0; i < sc->nfound; i++)
            nrep += replaces(detect_finding_action(&sc->found[i], opts));
        if (pass > 0 && nrep == 0) {
            /* Stable: the previous pass's output is the answer. */
            rc = vigie_buf_append(out, in, inlen);
            goto done;
        }
        if (pass == (int)VIGIE_REDACT_PASSES) {
            rc = VIGIE_ERR_MATCH; /* still changing: refuse rather than guess */
            goto done;
        }
        for (i = 0; i < sc->nfound; i++) {
            /* Later passes report only what they replace: what they merely
             * flag was reported by an earlier pass. */
            if (pass > 0 && !replaces(detect_finding_action(&sc->found[i], opts)))
                continue;
            if ((rc = all_push(sc, &sc->found[i], pass)) != VIGIE_OK)
                goto done;
        }
        if (nrep == 0) {
            /* Nothing replaced on the first pass: the text is its own
             * answer, no rescan needed. */
            rc = vigie_buf_append(out, text, len);
            goto done;
        }
        dst = &tmp[pass & 1];
        vigie_buf_reset(dst);
        if ((rc = mask_pass(sc, in, inlen, opts, map, dst, &b, pass)) != VIGIE_OK)
            goto done;
        *blocked |= b;
        in = dst->data;
        inlen = dst->len;
    }
done:
    /* Wiped (the length used), kept allocated for the next call. */
    vigie_buf_reset(&tmp[0]);
    vigie_buf_reset(&tmp[1]);
    if (rc == VIGIE_OK && sc->nall > 1)
        qsort(sc->all, sc->nall, sizeof(*sc->all), all_order);
    return rc;
}

const struct detect_finding *detect_redact_findings(const struct detect_scanner *sc, size_t *n)
{
    *n = sc->nall;
    return sc->all;
}
