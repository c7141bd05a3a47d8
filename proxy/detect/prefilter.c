/*
 * The prefilter: find the few places in a text where a detector could match,
 * so that no regex runs over every byte.
 *
 * One pass over the normalised view records spots of four kinds: each '@',
 * each run of digits (single or double separators allowed between digits, so
 * "06 12 34 56 78" and "+33 (0)1 99 00 12 34" are runs), each run of capitals
 * and digits, and each occurrence of a key word. A rule's regex then runs only
 * in windows of `window` bytes around the spots of its trigger kind (before and
 * after may differ: an e-mail's local part is short, its domain long); windows
 * that touch are merged, so a text dense with spots costs one pass per rule,
 * never more: the work stays linear in the text size.
 *
 * The price of speed is a contract a rule author must keep: a rule's match
 * lies within its window around a spot of its trigger. Each pack's examples
 * run through this same path at load, and tests compare prefiltered scans
 * with full scans (DETECT_SCAN_FULL) on the corpus.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detect_int.h"

/* Byte classes of the view (ASCII; all bytes >= 0x80 are class 0). */
#define C_DIGIT 0x1
#define C_UPPER 0x2
#define C_SEP 0x4 /* may separate digit groups */
#define C_AT 0x8

#define D C_DIGIT
#define U C_UPPER
#define S C_SEP
/* A constant table, not one filled on first use: sets may be built by several
 * threads at once (a reload while workers scan). */
static const unsigned char cls[256] = {
    ['\t'] = S, [' '] = S, ['('] = S, [')'] = S, ['+'] = S, ['-'] = S, ['.'] = S, ['/'] = S,
    ['0'] = D, ['1'] = D, ['2'] = D, ['3'] = D, ['4'] = D, ['5'] = D, ['6'] = D, ['7'] = D,
    ['8'] = D, ['9'] = D, ['@'] = C_AT,
    ['A'] = U, ['B'] = U, ['C'] = U, ['D'] = U, ['E'] = U, ['F'] = U, ['G'] = U, ['H'] = U,
    ['I'] = U, ['J'] = U, ['K'] = U, ['L'] = U, ['M'] = U, ['N'] = U, ['O'] = U, ['P'] = U,
    ['Q'] = U, ['R'] = U, ['S'] = U, ['T'] = U, ['U'] = U, ['V'] = U, ['W'] = U, ['X'] = U,
    ['Y'] = U, ['Z'] = U,
};
#undef D
#undef U
#undef S

/* ASCII lower case, as a table: the key-word loop folds two bytes per
 * position and a branch there mispredicts on mixed-case text. */
static unsigned char lct[256];

static void lct_fill(void)
{
    unsigned c;

    for (c = 0; c < 256; c++)
        lct[c] = (unsigned char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
}

/* Filled once, before any set exists (pthread_once: sets may be built by
 * several threads). */
static void lct_init_once(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, lct_fill);
}

static unsigned char lc(unsigned char c)
{
    return lct[c];
}

/* Index of a word in the set's table, or nkws. */
static size_t kw_find(const struct detect_set *set, const char *word, int exact)
{
    size_t k;

    for (k = 0; k < set->nkws; k++)
        if (set->kws[k].exact == exact && strcmp(set->kws[k].word, word) == 0)
            return k;
    return set->nkws;
}

static int kw_cmp(const void *a, const void *b)
{
    const struct detect_kw *x = a, *y = b;
    int r;

    if (x->pair != y->pair)
        return x->pair < y->pair ? -1 : 1;
    r = strcmp(x->word, y->word);
    return r != 0 ? r : x->exact - y->exact;
}

/* Hashes of the folded first 2, 3 and 4 bytes, for kw_hash2/3/4 (4096,
 * 4096 and 16384 bits). */
static unsigned kw_h2(uint32_t w)
{
    return ((w & 0xFFFFu) * 0x9E3779B1u) >> 20;
}

static unsigned kw_h3(uint32_t w)
{
    return ((w & 0xFFFFFFu) * 0x9E3779B1u) >> 20;
}

static unsigned kw_h4(uint32_t w)
{
    return (w * 0x9E3779B1u) >> 18;
}

static void bit_set(uint64_t *bits, unsigned k)
{
    bits[k >> 6] |= 1ull << (k & 63);
}

static int bit_get(const uint64_t *bits, unsigned k)
{
    return (bits[k >> 6] >> (k & 63)) & 1;
}

/* The first four bytes of t, ASCII-folded, little end first; bytes past n
 * are 0 (no word has a NUL). */
static uint32_t folded4(const unsigned char *t, size_t n)
{
    uint32_t w = 0;
    size_t j;

    for (j = 0; j < 4 && j < n; j++)
        w |= (uint32_t)lct[t[j]] << (8 * j);
    return w;
}

/* Fills kw_class and kw_next (see detect_int.h) from the set's words. */
static void kw_filter_build(struct detect_set *set)
{
    unsigned char folded_class[256] = {0};
    unsigned c, next_class = 0;
    size_t k, j;

    /* Classes are given to folded bytes in the order met; past 63, classes
     * are shared, which lets more places through the filter, never fewer. */
    for (k = 0; k < set->nkws; k++) {
        const struct detect_kw *kw = &set->kws[k];
        for (j = 0; j < 3 && j < kw->len; j++) {
            unsigned char f = lc((unsigned char)kw->word[j]);
            if (folded_class[f] == 0)
                folded_class[f] = (unsigned char)(1 + next_class++ % 63);
        }
    }
    for (c = 0; c < 256; c++)
        set->kw_class[c] = folded_class[lc((unsigned char)c)];
    for (k = 0; k < set->nkws; k++) {
        const struct detect_kw *kw = &set->kws[k];
        unsigned c0 = folded_class[lc((unsigned char)kw->word[0])];
        unsigned c1 = folded_class[lc((unsigned char)kw->word[1])];
        uint32_t w = folded4((const unsigned char *)kw->word, kw->len);
        if (kw->len == 2)
            set->kw_next[c0 << 6 | c1] = ~0ull;
        else
            set->kw_next[c0 << 6 | c1] |= 1ull << folded_class[lc((unsigned char)kw->word[2])];
        if (kw->len == 2)
            bit_set(set->kw_hash2, kw_h2(w));
        else if (kw->len == 3)
            bit_set(set->kw_hash3, kw_h3(w));
        else
            bit_set(set->kw_hash4, kw_h4(w));
    }
}

int detect_prefilter_build(struct detect_set *set, struct vigie_diag *diag)
{
    size_t i, j, k, total = 0;

    set->need = 0;
    set->digits_min = ~0u;
    set->upper_min = ~0u;
    for (k = 0; k < 5; k++)
        set->merge_gap[k] = SIZE_MAX;
    for (i = 0; i < set->nrules; i++) {
        struct detect_rule *r = set->rules[i];
        uint32_t lb = 0;
        size_t cw = 0;

        /* How far a region's scan reads outside it (detect_int.h): the
         * pattern's look-behind, in characters of up to 4 bytes (\b and \A
         * count as one), and the context window, which check_match() widens
         * to character boundaries (up to 3 bytes). The margin of 8 covers
         * reads of the byte at a region's end and of the one before its
         * start, whatever the pattern. */
        if (r->code != NULL && pcre2_pattern_info(r->code, PCRE2_INFO_MAXLOOKBEHIND, &lb) != 0)
            lb = UINT32_MAX / 8;
        if (r->ctx.n > 0 || r->suppress.n > 0)
            cw = (size_t)r->ctx_window + 4;
        r->reach_before = 4 * (size_t)lb > cw ? 4 * (size_t)lb : cw;
        r->reach_before = r->reach_before > 8 ? r->reach_before : 8;
        r->reach_after = cw > 8 ? cw : 8;
        set->need |= 1u << r->trig;
        if ((size_t)r->before + r->after < set->merge_gap[r->trig])
            set->merge_gap[r->trig] = (size_t)r->before + r->after;
        if (r->trig == DETECT_TRIG_DIGITS && r->trig_min < set->digits_min)
            set->digits_min = r->trig_min;
        if (r->trig == DETECT_TRIG_UPPER && r->trig_min < set->upper_min)
            set->upper_min = r->trig_min;
        if (r->trig == DETECT_TRIG_KEYWORDS)
            total += r->keywords.n + r->exact.n;
    }
    lct_init_once();
    free(set->kws);
    free(set->kw_pairs);
    free(set->kw_pair_of);
    set->kws = NULL;
    set->kw_pairs = NULL;
    set->kw_pair_of = NULL;
    set->nkws = 0;
    memset(set->kw_class, 0, sizeof(set->kw_class));
    memset(set->kw_next, 0, sizeof(set->kw_next));
    memset(set->kw_hash2, 0, sizeof(set->kw_hash2));
    memset(set->kw_hash3, 0, sizeof(set->kw_hash3));
    memset(set->kw_hash4, 0, sizeof(set->kw_hash4));
    if (total == 0)
        return VIGIE_OK;

    /* Distinct words of all rules, sorted by their first two bytes (folded:
     * exact words share the folded pair index and are compared byte for byte
     * after). Words are borrowed from the rules, which outlive the table. */
    set->kws = calloc(total, sizeof(*set->kws));
    if (set->kws == NULL)
        return VIGIE_ERR_NOMEM;
    for (i = 0; i < set->nrules; i++) {
        const struct detect_rule *r = set->rules[i];
        int ex;
        if (r->trig != DETECT_TRIG_KEYWORDS)
            continue;
        for (ex = 0; ex <= 1; ex++) {
            const struct detect_words *w = ex ? &r->exact : &r->keywords;
            for (j = 0; j < w->n; j++) {
                struct detect_kw *kw = &set->kws[set->nkws];
                if (kw_find(set, w->v[j], ex) < set->nkws)
                    continue;
                kw->word = w->v[j];
                kw->len = w->len[j];
                kw->exact = ex;
                kw->pair = (uint16_t)(((unsigned)lc((unsigned char)kw->word[0]) << 8) |
                                      lc((unsigned char)kw->word[1]));
                set->nkws++;
            }
        }
    }
    qsort(set->kws, set->nkws, sizeof(*set->kws), kw_cmp);
    set->kw_pairs = calloc(set->nkws, sizeof(*set->kw_pairs));
    set->kw_pair_of = calloc(65536, sizeof(*set->kw_pair_of));
    if (set->kw_pairs == NULL || set->kw_pair_of == NULL)
        return VIGIE_ERR_NOMEM;
    for (k = 0, j = 0; k < set->nkws; k++) {
        const struct detect_kw *kw = &set->kws[k];
        struct detect_kw_pair *p;
        if (k == 0 || kw->pair != set->kws[k - 1].pair) {
            p = &set->kw_pairs[j];
            p->first = (uint32_t)k;
            set->kw_pair_of[kw->pair] = (uint16_t)j++;
        }
        p = &set->kw_pairs[set->kw_pair_of[kw->pair]];
        p->count++;
        if (kw->len == 2) {
            p->has2 = 1;
        } else {
            unsigned c3 = lc((unsigned char)kw->word[2]);
            p->third[c3 >> 6] |= 1ull << (c3 & 63);
        }
    }
    kw_filter_build(set);
    /* Each rule learns the table ids of its words, to filter spots. */
    for (i = 0; i < set->nrules; i++) {
        struct detect_rule *r = set->rules[i];
        if (r->trig != DETECT_TRIG_KEYWORDS)
            continue;
        /* A bitset, so that filtering a spot is one test however many words
         * the rule has. */
        free(r->kw_bits);
        r->kw_bits = calloc((set->nkws + 63) / 64, sizeof(*r->kw_bits));
        if (r->kw_bits == NULL)
            return VIGIE_ERR_NOMEM;
        for (j = 0; j < r->keywords.n; j++)
            if ((k = kw_find(set, r->keywords.v[j], 0)) < set->nkws)
                r->kw_bits[k >> 6] |= 1ull << (k & 63);
        for (j = 0; j < r->exact.n; j++)
            if ((k = kw_find(set, r->exact.v[j], 1)) < set->nkws)
                r->kw_bits[k >> 6] |= 1ull << (k & 63);
    }
    (void)diag;
    return VIGIE_OK;
}

/* Records a spot, or extends the last one when their windows would overlap
 * for every rule of this kind anyway (gap <= the smallest before + after): a text
 * dense with '@' or digits then costs a few spots, not 24 bytes per byte. The
 * merged spot keeps the largest count, so a rule's window may cover a little
 * more than its own spots: more text scanned, never less. Key words merge
 * only with the same word, since their count is the word's id. */
/* Out of line on purpose: inlined into the scanning loops below, it cost them
 * 40% of their speed on text with no spot at all (register pressure). */
__attribute__((noinline)) static int spot_push(struct detect_spots *s, size_t gap, int same_id,
                                               size_t start, size_t end, size_t count)
{
    if (s->n > 0 && start - s->v[s->n - 1].end <= gap &&
        (!same_id || s->v[s->n - 1].count == count)) {
        struct detect_spot *last = &s->v[s->n - 1];
        last->end = end;
        if (count > last->count)
            last->count = count;
        return VIGIE_OK;
    }
    if (VIGIE_ARRAY_RESERVE(s->v, s->n, s->cap, 64) != VIGIE_OK)
        return VIGIE_ERR_NOMEM;
    s->v[s->n].start = start;
    s->v[s->n].end = end;
    s->v[s->n].count = count;
    s->n++;
    return VIGIE_OK;
}

/* A digit run starting at i: digits, with at most two separator bytes between
 * two digits. Returns the end of the run (after its last digit). */
static size_t digit_run(const unsigned char *t, size_t n, size_t i, size_t *ndigits)
{
    size_t end = i, cnt = 0;

    while (i < n) {
        if (cls[t[i]] & C_DIGIT) {
            cnt++;
            end = ++i;
            continue;
        }
        if ((cls[t[i]] & C_SEP) && i + 1 < n) {
            if (cls[t[i + 1]] & C_DIGIT) {
                i += 1;
                continue;
            }
            if ((cls[t[i + 1]] & C_SEP) && i + 2 < n && (cls[t[i + 2]] & C_DIGIT)) {
                i += 2;
                continue;
            }
        }
        break;
    }
    *ndigits = cnt;
    return end;
}

/* The key words that start at i, compared in full; called only where the
 * class filter lets i through (a few percent of the bytes of prose). Out of
 * line so that the filter loop keeps its registers. */
__attribute__((noinline)) static int kw_verify(struct detect_scanner *sc, const unsigned char *t,
                                               size_t n, size_t i)
{
    const struct detect_set *set = sc->set;
    struct detect_spots *out = &sc->spots[DETECT_TRIG_KEYWORDS];
    unsigned pair = ((unsigned)lct[t[i]] << 8) | lct[t[i + 1]];
    const struct detect_kw_pair *p;
    uint32_t w = n - i >= 4 ? (uint32_t)lct[t[i]] | (uint32_t)lct[t[i + 1]] << 8 |
                                  (uint32_t)lct[t[i + 2]] << 16 | (uint32_t)lct[t[i + 3]] << 24
                            : folded4(t + i, n - i);
    size_t k;

    if (!bit_get(set->kw_hash2, kw_h2(w)) && !bit_get(set->kw_hash3, kw_h3(w)) &&
        !bit_get(set->kw_hash4, kw_h4(w)))
        return VIGIE_OK;
    /* Classes may be shared: the pair itself may start no word. */
    p = &set->kw_pairs[set->kw_pair_of[pair]];
    if (set->kws[p->first].pair != pair)
        return VIGIE_OK;
    if (!p->has2) {
        unsigned c3;
        if (i + 2 >= n)
            return VIGIE_OK;
        c3 = lct[t[i + 2]];
        if (!(p->third[c3 >> 6] & (1ull << (c3 & 63))))
            return VIGIE_OK;
    }
    for (k = p->first; k < p->first + p->count; k++) {
        const struct detect_kw *kw = &set->kws[k];
        size_t j;
        if (kw->len > n - i)
            continue;
        if (kw->exact) {
            j = memcmp(t + i, kw->word, kw->len) == 0 ? kw->len : 0;
        } else {
            for (j = 2; j < kw->len; j++)
                if (lc(t[i + j]) != (unsigned char)kw->word[j])
                    break;
        }
        if (j == kw->len &&
            spot_push(out, set->merge_gap[DETECT_TRIG_KEYWORDS], 1, i, i + kw->len, k) != VIGIE_OK)
            return VIGIE_ERR_NOMEM;
        if (j == kw->len)
            sc->kw_seen[k >> 6] |= 1ull << (k & 63);
    }
    return VIGIE_OK;
}

/* Key-word spots, in text order. The loop costs one class lookup and one
 * table lookup per byte, with no dependency from one byte to the next but
 * the two classes carried in registers; the filter is exact on the first
 * three bytes while classes are not shared, so kw_verify runs only where a
 * word's first three bytes are (about 2% of French prose). */
static int kw_scan(struct detect_scanner *sc, const unsigned char *t, size_t n)
{
    const uint8_t *cl = sc->set->kw_class;
    const uint64_t *next = sc->set->kw_next;
    unsigned c0, c1, c2;
    size_t i;
    int rc;

    if (n < 2)
        return VIGIE_OK;
    c0 = cl[t[0]];
    c1 = cl[t[1]];
    /* Four places per turn. Each test is a branch on a bit (bt): rarely
     * taken, so well predicted, and cheaper than shifting by a variable. */
    for (i = 0; i + 5 < n; i += 4) {
        unsigned c3, c4, c5;
        c2 = cl[t[i + 2]];
        c3 = cl[t[i + 3]];
        c4 = cl[t[i + 4]];
        c5 = cl[t[i + 5]];
        if ((next[c0 << 6 | c1] & (1ull << c2)) && (rc = kw_verify(sc, t, n, i)) != VIGIE_OK)
            return rc;
        if ((next[c1 << 6 | c2] & (1ull << c3)) && (rc = kw_verify(sc, t, n, i + 1)) != VIGIE_OK)
            return rc;
        if ((next[c2 << 6 | c3] & (1ull << c4)) && (rc = kw_verify(sc, t, n, i + 2)) != VIGIE_OK)
            return rc;
        if ((next[c3 << 6 | c4] & (1ull << c5)) && (rc = kw_verify(sc, t, n, i + 3)) != VIGIE_OK)
            return rc;
        c0 = c4;
        c1 = c5;
    }
    for (; i + 2 < n; i++) {
        c2 = cl[t[i + 2]];
        if (((next[c0 << 6 | c1] >> c2) & 1) && (rc = kw_verify(sc, t, n, i)) != VIGIE_OK)
            return rc;
        c0 = c1;
        c1 = c2;
    }
    /* The last two bytes: only a 2-byte word fits, and those set bit 0. */
    if ((next[c0 << 6 | c1] & 1) && (rc = kw_verify(sc, t, n, i)) != VIGIE_OK)
        return rc;
    return VIGIE_OK;
}

/* Bit k of the result is set when byte i + k is one the pass below must look
 * at: a digit or '@' in *dig_at (as want asks), a capital in *up -- only one
 * followed by a capital or a digit when upper_min >= 2, since a run with two
 * capitals has such a capital and a run with one is never wanted then. Reads
 * t[i .. i + 16], the last byte only when i + 16 < n. */
#if defined(__SSE2__)
#include <emmintrin.h>

static void block_masks(const unsigned char *t, size_t n, size_t i, unsigned want, int pair,
                        unsigned *dig_at, unsigned *up)
{
    __m128i v, w, dg, at, u, ud;

    if (i + 16 >= n) {
        /* The text's last bytes: a copy padded with a byte of no class. */
        unsigned char tail[17] = {0};
        memcpy(tail, t + i, n - i);
        v = _mm_loadu_si128((const __m128i *)tail);
        w = _mm_loadu_si128((const __m128i *)(tail + 1));
    } else {
        v = _mm_loadu_si128((const __m128i *)(t + i));
        w = _mm_loadu_si128((const __m128i *)(t + i + 1));
    }
    /* Signed compares: bytes >= 0x80 are negative, below every range. */
    dg = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                       _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
    at = _mm_cmpeq_epi8(v, _mm_set1_epi8('@'));
    u = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('A' - 1)),
                      _mm_cmplt_epi8(v, _mm_set1_epi8('Z' + 1)));
    *dig_at = (unsigned)_mm_movemask_epi8(dg) & ((want & C_DIGIT) ? 0xFFFFu : 0);
    *dig_at |= (unsigned)_mm_movemask_epi8(at) & ((want & C_AT) ? 0xFFFFu : 0);
    if (!(want & C_UPPER)) {
        *up = 0;
        return;
    }
    if (pair) {
        ud = _mm_or_si128(_mm_and_si128(_mm_cmpgt_epi8(w, _mm_set1_epi8('A' - 1)),
                                        _mm_cmplt_epi8(w, _mm_set1_epi8('Z' + 1))),
                          _mm_and_si128(_mm_cmpgt_epi8(w, _mm_set1_epi8('0' - 1)),
                                        _mm_cmplt_epi8(w, _mm_set1_epi8('9' + 1))));
        u = _mm_and_si128(u, ud);
    }
    *up = (unsigned)_mm_movemask_epi8(u);
}
#else
static void block_masks(const unsigned char *t, size_t n, size_t i, unsigned want, int pair,
                        unsigned *dig_at, unsigned *up)
{
    size_t k;

    *dig_at = *up = 0;
    for (k = 0; k < 16 && i + k < n; k++) {
        unsigned c = cls[t[i + k]];
        unsigned next = i + k + 1 < n ? cls[t[i + k + 1]] : 0;
        if (c & want & (C_DIGIT | C_AT))
            *dig_at |= 1u << k;
        if ((c & want & C_UPPER) && (!pair || (next & (C_UPPER | C_DIGIT))))
            *up |= 1u << k;
    }
}
#endif

/* '@', digit runs and runs of capitals and digits, in one pass over blocks of
 * 16 bytes: prose has a capital or a digit every few dozen bytes, so most
 * blocks are skipped after a few vector instructions. Each kind keeps where
 * its last run ended, and a byte is looked at by each kind at most once, so a
 * run such as "24FRXDL2K0000413R6", both a digit spot and a capital spot,
 * costs two walks, never more. */
static int class_scan(struct detect_scanner *sc, const unsigned char *t, size_t n, unsigned want)
{
    const struct detect_set *set = sc->set;
    int pair = set->upper_min >= 2;
    size_t i, dig_end = 0, up_end = 0;
    int rc;

    for (i = 0; i < n; i += 16) {
        unsigned md, mu;

        block_masks(t, n, i, want, pair, &md, &mu);
        while (md != 0) {
            size_t p = i + (size_t)__builtin_ctz(md);
            md &= md - 1;
            if (p < dig_end)
                continue; /* inside the digit run just taken */
            if (t[p] == '@') {
                if ((rc = spot_push(&sc->spots[DETECT_TRIG_AT], set->merge_gap[DETECT_TRIG_AT], 0,
                                    p, p + 1, 1)) != VIGIE_OK)
                    return rc;
                continue;
            }
            {
                size_t nd, end = digit_run(t, n, p, &nd);
                if (nd >= set->digits_min && nd > sc->spot_max[DETECT_TRIG_DIGITS])
                    sc->spot_max[DETECT_TRIG_DIGITS] = nd;
                if (nd >= set->digits_min &&
                    (rc = spot_push(&sc->spots[DETECT_TRIG_DIGITS],
                                    set->merge_gap[DETECT_TRIG_DIGITS], 0, p, end, nd)) !=
                        VIGIE_OK)
                    return rc;
                dig_end = end;
            }
        }
        while (mu != 0) {
            size_t p = i + (size_t)__builtin_ctz(mu), start, end, nup = 0;
            mu &= mu - 1;
            if (p < up_end)
                continue; /* inside the run just taken */
            /* The run may start before p (digits, or one capital when
             * upper_min < 2 is not the case): the byte at up_end ends the
             * previous run, so the walk back stops after it. */
            start = p;
            while (start > up_end && (cls[t[start - 1]] & (C_UPPER | C_DIGIT)))
                start--;
            for (end = start; end < n && (cls[t[end]] & (C_UPPER | C_DIGIT)); end++)
                nup += (cls[t[end]] & C_UPPER) != 0;
            up_end = end;
            if (nup >= set->upper_min && nup > sc->spot_max[DETECT_TRIG_UPPER])
                sc->spot_max[DETECT_TRIG_UPPER] = nup;
            if (nup >= set->upper_min &&
                (rc = spot_push(&sc->spots[DETECT_TRIG_UPPER], set->merge_gap[DETECT_TRIG_UPPER],
                                0, start, end, nup)) != VIGIE_OK)
                return rc;
        }
    }
    return VIGIE_OK;
}

int detect_prefilter_run(struct detect_scanner *sc, const char *text, size_t n)
{
    const struct detect_set *set = sc->set;
    const unsigned char *t = (const unsigned char *)text;
    unsigned want = 0;
    size_t k;
    int rc;

    for (k = 0; k < 5; k++) {
        sc->spots[k].n = 0;
        sc->spot_max[k] = 0;
    }
    memset(sc->kw_seen, 0, (set->nkws / 64 + 1) * sizeof(*sc->kw_seen));
    if (set->need & (1u << DETECT_TRIG_DIGITS))
        want |= C_DIGIT;
    if (set->need & (1u << DETECT_TRIG_UPPER))
        want |= C_UPPER;
    if (set->need & (1u << DETECT_TRIG_AT))
        want |= C_AT;
    if (want != 0 && (rc = class_scan(sc, t, n, want)) != VIGIE_OK)
        return rc;
    if ((set->need & (1u << DETECT_TRIG_KEYWORDS)) && set->nkws > 0)
        return kw_scan(sc, t, n);
    return VIGIE_OK;
}

static int region_push(struct detect_scanner *sc, size_t a, size_t b)
{
    if (sc->nregions > 0 && a <= sc->regions[sc->nregions - 1].end) {
        if (b > sc->regions[sc->nregions - 1].end)
            sc->regions[sc->nregions - 1].end = b;
        return VIGIE_OK;
    }
    if (VIGIE_ARRAY_RESERVE(sc->regions, sc->nregions, sc->regions_cap, 64) != VIGIE_OK)
        return VIGIE_ERR_NOMEM;
    sc->regions[sc->nregions].start = a;
    sc->regions[sc->nregions].end = b;
    sc->nregions++;
    return VIGIE_OK;
}

int detect_regions_for(struct detect_scanner *sc, const struct detect_rule *r,
                       const char *t, size_t n)
{
    const struct detect_spots *s;
    size_t i;
    int rc;

    sc->nregions = 0;
    if (r->trig == DETECT_TRIG_ALWAYS)
        return n > 0 ? region_push(sc, 0, n) : VIGIE_OK;
    /* No spot can wake r: no walk over the spots (most rules, on prose). */
    if ((r->trig == DETECT_TRIG_DIGITS || r->trig == DETECT_TRIG_UPPER) &&
        r->trig_min > sc->spot_max[r->trig])
        return VIGIE_OK;
    if (r->trig == DETECT_TRIG_KEYWORDS) {
        size_t w, any = 0;
        for (w = 0; w < (sc->set->nkws + 63) / 64; w++)
            any |= r->kw_bits[w] & sc->kw_seen[w];
        if (any == 0)
            return VIGIE_OK;
    }
    s = &sc->spots[r->trig];
    /* Spots are in text order within one kind, so merged windows stay
     * sorted. Key words are the exception: recorded in text order too, since
     * kw_scan walks the text once. */
    for (i = 0; i < s->n; i++) {
        const struct detect_spot *sp = &s->v[i];
        size_t a, b;

        if (!detect_spot_wakes(r, sp))
            continue;
        /* Windows start and end on character boundaries of the view. */
        a = detect_window_start(r, sp, t);
        b = n - sp->end > r->after ? sp->end + r->after : n;
        while (b < n && ((unsigned char)t[b] & 0xC0) == 0x80)
            b++;
        if ((rc = region_push(sc, a, b)) != VIGIE_OK)
            return rc;
    }
    return VIGIE_OK;
}
