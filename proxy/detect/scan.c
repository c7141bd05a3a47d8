/*
 * Scanning: normalise, prefilter, run each rule's regex in its windows, check
 * each match (validator, allow-list, context), resolve overlaps, map spans
 * back to the original text.
 */
#include <stdlib.h>
#include <string.h>

#include "detect/detect_int.h"

pcre2_match_context *detect_match_context_new(pcre2_jit_stack **jit_out)
{
    pcre2_match_context *mctx = pcre2_match_context_create(NULL);
    pcre2_jit_stack *jit = NULL;

    if (mctx == NULL)
        return NULL;
    /* PCRE2's defaults (10 million) let one hostile subject hold an event
     * loop for seconds; ours fail within milliseconds, and a failure blocks. */
    pcre2_set_match_limit(mctx, VIGIE_PCRE2_MATCH_LIMIT);
    pcre2_set_depth_limit(mctx, VIGIE_PCRE2_DEPTH_LIMIT);
    jit = pcre2_jit_stack_create(VIGIE_PCRE2_JIT_STACK_START, VIGIE_PCRE2_JIT_STACK_MAX, NULL);
    if (jit == NULL) {
        pcre2_match_context_free(mctx);
        return NULL;
    }
    pcre2_jit_stack_assign(mctx, NULL, jit);
    *jit_out = jit;
    return mctx;
}

struct detect_scanner *detect_scanner_new(const struct detect_set *set, size_t max_input)
{
    struct detect_scanner *sc;

    if (set == NULL || !set->finished)
        return NULL;
    sc = calloc(1, sizeof(*sc));
    if (sc == NULL)
        return NULL;
    sc->set = set;
    sc->max_input = max_input;
    text_norm_init(&sc->norm, max_input);
    text_norm_init(&sc->norm_prev, max_input);
    /* One ovector pair is all we use: the whole match. */
    vigie_buf_init(&sc->pass_buf[0], 3 * max_input + 4096);
    vigie_buf_init(&sc->pass_buf[1], 3 * max_input + 4096);
    sc->kw_seen = calloc(set->nkws / 64 + 1, sizeof(*sc->kw_seen));
    sc->md = pcre2_match_data_create(1, NULL);
    sc->mctx = detect_match_context_new(&sc->jit);
    if (sc->md == NULL || sc->mctx == NULL || sc->kw_seen == NULL) {
        detect_scanner_free(sc);
        return NULL;
    }
    return sc;
}

void detect_scanner_free(struct detect_scanner *sc)
{
    size_t k;

    if (sc == NULL)
        return;
    text_norm_fini(&sc->norm);
    text_norm_fini(&sc->norm_prev);
    for (k = 0; k < 2; k++) {
        free(sc->rec[k].v);
        free(sc->rec[k].cand);
        free(sc->rec[k].place);
    }
    pcre2_match_data_free(sc->md);
    pcre2_match_context_free(sc->mctx);
    if (sc->jit != NULL)
        pcre2_jit_stack_free(sc->jit);
    for (k = 0; k < 5; k++)
        free(sc->spots[k].v);
    free(sc->regions);
    free(sc->kw_seen);
    free(sc->cand);
    free(sc->found);
    free(sc->covered);
    free(sc->all);
    free(sc->utok);
    vigie_buf_free(&sc->pass_buf[0]);
    vigie_buf_free(&sc->pass_buf[1]);
    for (k = 0; k < VIGIE_REDACT_PASSES; k++)
        free(sc->repl[k]);
    vigie_wipe(sc->before, sizeof(sc->before));
    vigie_wipe(sc->after, sizeof(sc->after));
    vigie_wipe(sc->canon, sizeof(sc->canon));
    free(sc);
}

const struct detect_finding *detect_scanner_findings(const struct detect_scanner *sc,
                                                     size_t *n)
{
    *n = sc->nfound;
    return sc->found;
}

size_t detect_value_canon(const struct detect_rule *r, const char *v, size_t len, char *out,
                          size_t outsz)
{
    size_t i, o = 0;

    /* Numbers are compared without their separators ("06 39 98 00 01" is
     * "0639980001"); other values without white space and case. */
    if (r->validator != NULL && !r->validator->raw)
        return detect_canon(v, len, out, outsz);
    for (i = 0; i < len; i++)
        if (!strchr("0123456789 .-/()+\t", v[i]) || v[i] == '\0')
            break;
    if (i == len) {
        for (i = 0; i < len; i++) {
            if (v[i] < '0' || v[i] > '9')
                continue;
            if (o >= outsz)
                return (size_t)-1;
            out[o++] = v[i];
        }
        if (o > 0)
            return o;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            continue;
        if (o >= outsz)
            return (size_t)-1;
        out[o++] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
    }
    return o;
}

static int is_word_byte(unsigned char c)
{
    /* After folding, letters with diacritics are ASCII; any other non-ASCII
     * byte (another script) also counts as part of a word. */
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

int detect_words_in(const struct detect_words *w, const char *f, size_t n)
{
    size_t p, i;

    /* One pass over the places where a word may start (the start of the
     * text, or after a byte that is not part of a word), each compared with
     * the words beginning with its byte: the same occurrences as a search
     * for each word with its boundaries checked, without a memmem() per word
     * (whose set-up cost more than the search on these 100-byte windows). */
    for (p = 0; p < n; p++) {
        unsigned char c = (unsigned char)f[p];
        if (p > 0 && is_word_byte((unsigned char)f[p - 1]))
            continue;
        if (!((w->first[c >> 6] >> (c & 63)) & 1))
            continue;
        for (i = 0; i < w->n; i++) {
            size_t l = w->len[i];
            if (l > n - p || (l > 0 && (unsigned char)w->v[i][0] != c))
                continue;
            if (memcmp(f + p, w->v[i], l) == 0 &&
                (p + l == n || !is_word_byte((unsigned char)f[p + l])))
                return 1;
        }
    }
    return 0;
}

/* Start of the character boundary at or before off. */
static size_t char_floor(const char *t, size_t off)
{
    while (off > 0 && ((unsigned char)t[off] & 0xC0) == 0x80)
        off--;
    return off;
}

static size_t char_ceil(const char *t, size_t n, size_t off)
{
    while (off < n && ((unsigned char)t[off] & 0xC0) == 0x80)
        off++;
    return off;
}

static int cand_push(struct detect_scanner *sc, const struct detect_rule *r, size_t s,
                     size_t e, unsigned ctx)
{
    struct detect_finding *f;

    if (sc->ncand >= VIGIE_FINDINGS_MAX)
        return VIGIE_ERR_TOO_BIG;
    if (VIGIE_ARRAY_RESERVE(sc->cand, sc->ncand, sc->cand_cap, 32) != VIGIE_OK)
        return VIGIE_ERR_NOMEM;
    f = &sc->cand[sc->ncand++];
    f->rule = r;
    f->nstart = s;
    f->nend = e;
    f->start = f->end = 0;
    f->context = ctx;
    return VIGIE_OK;
}

/* Decides whether view span [s, e) found by r's regex is a finding. Returns 1
 * (keep, *ctx set), 0 (drop) or a negative error. */
static int check_match(struct detect_scanner *sc, const struct detect_rule *r, const char *t,
                       size_t n, size_t s, size_t e, unsigned *ctx)
{
    size_t clen, i, a, b;

    *ctx = 0;
    if (r->validator != NULL && r->validator->raw && !r->validator->fn(t + s, e - s))
        return 0;
    if ((r->validator != NULL && !r->validator->raw) || r->nallow > 0) {
        clen = detect_value_canon(r, t + s, e - s, sc->canon, sizeof(sc->canon));
        if (clen == (size_t)-1)
            return 0; /* longer than any identifier we validate */
        if (r->validator != NULL && !r->validator->raw && !r->validator->fn(sc->canon, clen))
            return 0;
        for (i = 0; i < r->nallow; i++)
            if (r->allow_len[i] == clen && memcmp(r->allow[i], sc->canon, clen) == 0)
                return 0;
    }
    if (r->allow_re != NULL) {
        int rc = pcre2_match(r->allow_re, (PCRE2_SPTR)(t + s), e - s, 0,
                             PCRE2_NO_UTF_CHECK | PCRE2_ANCHORED | PCRE2_ENDANCHORED, sc->md,
                             sc->mctx);
        if (rc >= 0)
            return 0;
        if (rc != PCRE2_ERROR_NOMATCH)
            return VIGIE_ERR_MATCH;
    }
    if (r->ctx.n > 0 || r->suppress.n > 0) {
        a = char_floor(t, s > r->ctx_window ? s - r->ctx_window : 0);
        b = char_ceil(t, n, n - e > r->ctx_window ? e + r->ctx_window : n);
        size_t nb, na;
        /* The match itself is not its own context: look before and after,
         * each side folded once for both word lists. */
        nb = text_fold(t + a, s - a, sc->before, sizeof(sc->before));
        na = text_fold(t + e, b - e, sc->after, sizeof(sc->after));
        if (detect_words_in(&r->suppress, sc->before, nb) ||
            detect_words_in(&r->suppress, sc->after, na))
            return 0;
        *ctx = detect_words_in(&r->ctx, sc->before, nb) || detect_words_in(&r->ctx, sc->after, na);
        if (r->ctx_required && !*ctx)
            return 0;
    }
    return 1;
}

/* Runs r's regex over view region [a, b) and records its findings. The
 * regex sees the whole text before a (look-behind is exact) and the region's
 * end as the end of the subject.
 *
 * A long region is matched in chunks of DETECT_CHUNK bytes that overlap by
 * DETECT_OVERLAP: PCRE2 drops its "required character" shortcut when more
 * than 500,000 bytes of subject remain, which made a 4 MiB '@' storm cost
 * five times more per byte than a small one. A match that ends near a chunk's
 * end is retried with a chunk starting at the match, so only matches longer
 * than DETECT_CHUNK - DETECT_OVERLAP could differ from one pass over the
 * region; no detector's match comes near that. */
#define DETECT_CHUNK (64u * 1024)
#define DETECT_OVERLAP (4u * 1024)

/*
 * Matches may start anywhere up to max_start (SIZE_MAX: anywhere in the
 * region). *pos_out, when given, receives where a next search may start: past
 * max_start when every start up to it failed, else where the last search
 * started or, when later, where the last match kept ended. A next search from
 * there re-tries nothing, so anchored rules stay linear like merged windows. */
static int scan_region(struct detect_scanner *sc, const struct detect_rule *r, const char *t,
                       size_t n, size_t a, size_t b, size_t max_start, size_t *pos_out)
{
    size_t pos = a;

    while (pos <= b && pos <= max_start) {
        PCRE2_SIZE *ov;
        size_t s, e, lim;
        unsigned ctx;
        int rc;

        if (pos_out != NULL)
            *pos_out = pos;
        lim = b - pos > DETECT_CHUNK ? char_ceil(t, n, pos + DETECT_CHUNK) : b;
        /* The limit is set for this call only: the match context is shared
         * with patterns compiled without PCRE2_USE_OFFSET_LIMIT, which
         * refuse one. */
        if (max_start != SIZE_MAX)
            pcre2_set_offset_limit(sc->mctx, max_start);
        /* JIT-compiled patterns skip pcre2_match()'s argument checks and
         * dispatch (about a third of the cost of a call that finds nothing
         * in a short window): the arguments are valid by construction, and
         * pcre2_match() would call the same JIT code. */
        if (r->jit)
            rc = pcre2_jit_match(r->code, (PCRE2_SPTR)t, lim, pos, PCRE2_NO_UTF_CHECK, sc->md,
                                 sc->mctx);
        else
            rc = pcre2_match(r->code, (PCRE2_SPTR)t, lim, pos, PCRE2_NO_UTF_CHECK, sc->md,
                             sc->mctx);
        if (max_start != SIZE_MAX)
            pcre2_set_offset_limit(sc->mctx, PCRE2_UNSET);
        if (rc == PCRE2_ERROR_NOMATCH) {
            if (lim >= b) {
                /* Every start up to max_start has been tried. */
                if (pos_out != NULL && max_start != SIZE_MAX)
                    *pos_out = char_ceil(t, n, max_start + 1);
                return VIGIE_OK;
            }
            /* Nothing starts before the overlap; what starts in it may have
             * been cut by the chunk's end: go on from there. */
            pos = char_floor(t, lim - DETECT_OVERLAP);
            continue;
        }
        if (rc < 0)
            return VIGIE_ERR_MATCH; /* match or depth limit, JIT stack, ...: fail closed */
        ov = pcre2_get_ovector_pointer(sc->md);
        s = ov[0];
        e = ov[1];
        if (lim < b && e + DETECT_OVERLAP > lim && s > pos) {
            /* Might continue past the chunk: match again from its start. */
            pos = s;
            continue;
        }
        if (e <= s) {
            /* Empty matches are refused at load; should one happen anyway
             * (\K tricks), step over a character rather than loop. */
            if (s >= b)
                return VIGIE_OK;
            pos = char_ceil(t, n, s + 1);
            continue;
        }
        rc = check_match(sc, r, t, n, s, e, &ctx);
        if (rc < 0)
            return rc;
        if (rc == 0 && r->trim) {
            /* Cut back at each separator, longest first, until the validator
             * accepts: bounded by the match length. */
            size_t p = e;
            while (rc == 0 && --p > s) {
                if (t[p] != ' ' && t[p] != '-')
                    continue;
                while (p > s && (t[p - 1] == ' ' || t[p - 1] == '-'))
                    p--;
                rc = check_match(sc, r, t, n, s, p, &ctx);
                if (rc < 0)
                    return rc;
                if (rc == 1)
                    e = p;
            }
        }
        if (rc == 1) {
            if ((rc = cand_push(sc, r, s, e, ctx)) != VIGIE_OK)
                return rc;
            pos = e;
            if (pos_out != NULL)
                *pos_out = pos;
        } else {
            /* A rejected match may hide a valid one starting inside it
             * ("FR76 ... 189 SARL" grabbed too long): retry one character
             * on. Patterns are bounded, so this stays linear in practice,
             * and the load-time hostile check measures it. */
            pos = char_ceil(t, n, s + 1);
        }
    }
    return VIGIE_OK;
}

/* ---- records, for detect_redact's rescans -------------------------------------- */

/* Makes room for the records of r's regions (sc->regions) in the current
 * scan: one check per rule, so that recording a region costs a few stores.
 * Recording is an optimisation of later rescans: when memory or
 * DETECT_RECS_MAX runs out, the scan goes on unrecorded, and its rescan scans
 * everything. */
static void rec_reserve(struct detect_scanner *sc)
{
    struct detect_recs *rs = &sc->rec[sc->rec_cur];
    size_t want = rs->n + sc->nregions, cap;
    struct detect_rec *nv;

    if (rs->overflow || want <= rs->cap)
        return;
    if (want > DETECT_RECS_MAX) {
        rs->overflow = 1;
        return;
    }
    cap = rs->cap ? rs->cap : 64;
    while (cap < want)
        cap *= 2;
    nv = realloc(rs->v, cap * sizeof(*nv));
    if (nv == NULL) {
        rs->overflow = 1;
        return;
    }
    rs->v = nv;
    rs->cap = cap;
}

/* Starts the record of r's region [a, b) (room made by rec_reserve). */
static inline void rec_open(struct detect_scanner *sc, const struct detect_rule *r, size_t a,
                            size_t b)
{
    struct detect_recs *rs = &sc->rec[sc->rec_cur];
    struct detect_rec *g;

    if (rs->overflow)
        return;
    g = &rs->v[rs->n++];
    g->rule = r->index;
    g->a = a;
    g->b = b;
    g->c0 = g->c1 = sc->ncand;
    g->p0 = g->p1 = rs->nplace;
}

/* A place an anchored rule searches in the region just opened: its window's
 * start and the spot's end. */
static void rec_place(struct detect_scanner *sc, size_t a, size_t end)
{
    struct detect_recs *rs = &sc->rec[sc->rec_cur];

    if (rs->overflow)
        return;
    if (rs->nplace >= DETECT_RECS_MAX ||
        VIGIE_ARRAY_RESERVE(rs->place, rs->nplace, rs->place_cap, 64) != VIGIE_OK) {
        rs->overflow = 1;
        return;
    }
    rs->place[rs->nplace].start = a;
    rs->place[rs->nplace].end = end;
    rs->nplace++;
    rs->v[rs->n - 1].p1 = rs->nplace;
}

static inline void rec_close(struct detect_scanner *sc)
{
    struct detect_recs *rs = &sc->rec[sc->rec_cur];

    if (!rs->overflow)
        rs->v[rs->n - 1].c1 = sc->ncand;
}

/*
 * In a rescan (detect_redact's later passes), the region just opened for r,
 * [a2, b2) of view t[0..n), may be one the last scan already ran r over: the
 * same bytes, with the same reach_before / reach_after bytes around them
 * (or, where those are cut by the text's start or end, cut at the same
 * distance, and then at the same offsets), and for an anchored rule the same
 * places searched. The scan of a region reads nothing else: PCRE2 sees the
 * subject from its start to the region's end, but reads before the region
 * only through look-behinds (PCRE2_INFO_MAXLOOKBEHIND, which counts \b, \B
 * and \A), the validators and allow-lists read the match, and the context
 * words are looked for within ctx_window of it. Its candidates are then those
 * of the last scan, shifted: they are pushed, and 1 is returned. 0: scan it.
 * Negative: an error of cand_push, which scanning would have met too.
 */
static int rescan_try(struct detect_scanner *sc, const struct detect_rule *r, const char *t,
                      size_t n)
{
    const struct detect_recs *prev = &sc->rec[sc->rec_cur ^ 1];
    const struct detect_recs *cur = &sc->rec[sc->rec_cur];
    const struct detect_rec *g2, *g;
    const char *pt = sc->norm_prev.text;
    size_t pn = sc->norm_prev.len, a, b, lo, hi, lo2, hi2, k, l, u;
    ptrdiff_t d = 0;
    int rc;

    if (!prev->valid || prev->only != sc->only || cur->overflow)
        return 0;
    g2 = &cur->v[cur->n - 1];
    /* Where [a2, b2) was before masking, if the views differ only by the
     * replacements: shifted by those that start before it. */
    for (l = 0, u = sc->rescan_nrepl; l < u;) {
        size_t mid = (l + u) / 2;
        if (sc->rescan_repl[mid].vs < g2->a)
            l = mid + 1;
        else
            u = mid;
    }
    if (l > 0)
        d = sc->rescan_repl[l - 1].shift;
    if ((d > 0 && g2->a < (size_t)d) || (d < 0 && g2->a + (size_t)-d < g2->a))
        return 0;
    a = g2->a - (size_t)d;
    b = a + (g2->b - g2->a);
    if (b > pn || b < a)
        return 0;
    /* The last scan's record of r there. Records are sorted by rule, then
     * region, and a rescan asks in that order, so a cursor finds it; a
     * guess that goes back (a region starting inside a replacement longer
     * than what it replaced) only misses, and the region is scanned. */
    while (sc->rescan_next < prev->n &&
           (prev->v[sc->rescan_next].rule < r->index ||
            (prev->v[sc->rescan_next].rule == r->index && prev->v[sc->rescan_next].a < a)))
        sc->rescan_next++;
    if (sc->rescan_next == prev->n)
        return 0;
    g = &prev->v[sc->rescan_next];
    if (g->rule != r->index || g->a != a || g->b != b)
        return 0;
    /* The same bytes, reach included, cut the same way at either end. */
    lo = a < r->reach_before ? a : r->reach_before;
    lo2 = g2->a < r->reach_before ? g2->a : r->reach_before;
    hi = pn - b < r->reach_after ? pn - b : r->reach_after;
    hi2 = n - g2->b < r->reach_after ? n - g2->b : r->reach_after;
    if (lo != lo2 || hi != hi2 || memcmp(pt + a - lo, t + g2->a - lo, lo + (b - a) + hi) != 0)
        return 0;
    if (g->p1 - g->p0 != g2->p1 - g2->p0)
        return 0;
    for (k = 0; k < g->p1 - g->p0; k++) {
        const struct detect_region *p = &prev->place[g->p0 + k], *p2 = &cur->place[g2->p0 + k];
        if (p->start - a != p2->start - g2->a || p->end - a != p2->end - g2->a)
            return 0;
    }
    for (k = g->c0; k < g->c1; k++) {
        const struct detect_finding *c = &prev->cand[k];
        if ((rc = cand_push(sc, r, c->nstart - a + g2->a, c->nend - a + g2->a, c->context)) !=
            VIGIE_OK)
            return rc;
    }
    return 1;
}

/* The first scan of a text is no rescan: one test, inline. */
static inline int rescan_reuse(struct detect_scanner *sc, const struct detect_rule *r,
                               const char *t, size_t n)
{
    return sc->rescan ? rescan_try(sc, r, t, n) : 0;
}

/* scan_anchored() in a rescan: region by region, the places first, so that
 * a region whose bytes and places the last scan had takes its candidates
 * (rescan_reuse), and the searches of the others. Same searches as
 * scan_anchored() otherwise; pos starts afresh in each region, since what an
 * earlier region's searches left there never passes the next region's
 * start, which is beyond the earlier region's end. */
static int rescan_anchored(struct detect_scanner *sc, const struct detect_rule *r,
                           const char *t, size_t n)
{
    const struct detect_spots *sp = &sc->spots[r->trig];
    size_t i = 0, j, k;
    int rc;

    for (k = 0; k < sc->nregions; k++) {
        const struct detect_region *g = &sc->regions[k];
        size_t first = i, pos = 0;

        rec_open(sc, r, g->start, g->end);
        /* This region's places: the waking spots whose window starts in it
         * (every window lies in a region, and window starts only grow). */
        for (; i < sp->n; i++) {
            size_t a;
            if (!detect_spot_wakes(r, &sp->v[i]))
                continue;
            a = detect_window_start(r, &sp->v[i], t);
            if (a >= g->end)
                break;
            rec_place(sc, a, sp->v[i].end);
        }
        if ((rc = rescan_reuse(sc, r, t, n)) < 0)
            return rc;
        /* pos starts afresh in each region: what an earlier region's
         * searches left there never passes the next region's start, which
         * is beyond the earlier region's end. */
        for (j = first; rc == 0 && j < i; j++) {
            size_t a;
            if (!detect_spot_wakes(r, &sp->v[j]))
                continue;
            a = detect_window_start(r, &sp->v[j], t);
            if (a < pos)
                a = pos;
            if (a > sp->v[j].end)
                continue; /* the last match covers this place */
            if ((rc = scan_region(sc, r, t, n, a, g->end, sp->v[j].end, &pos)) != VIGIE_OK)
                return rc;
        }
        rec_close(sc);
    }
    return VIGIE_OK;
}

/* An anchored rule (see pack.c): one search per place that wakes it, from its
 * window's start (or where the last match ended) and starting no later than
 * the place's end, instead of a scan of the whole window. The subject ends
 * where the merged region ends, as for other rules, so a match is cut where
 * it would be cut without the anchor. sc->regions must hold r's regions. */
static int scan_anchored(struct detect_scanner *sc, const struct detect_rule *r, const char *t,
                         size_t n)
{
    const struct detect_spots *sp = &sc->spots[r->trig];
    size_t i, k = 0, open = SIZE_MAX, pos = 0;
    int rc;

    if (sc->rescan)
        return rescan_anchored(sc, r, t, n);
    for (i = 0; i < sp->n; i++) {
        size_t a;
        if (!detect_spot_wakes(r, &sp->v[i]))
            continue;
        a = detect_window_start(r, &sp->v[i], t);
        /* Spots and regions are both in text order. */
        while (k < sc->nregions && sc->regions[k].end <= a)
            k++;
        if (k == sc->nregions)
            break;
        if (k != open) {
            /* A record per region, with the places searched in it, for a
             * rescan of this text once masked (rescan_anchored). */
            if (open != SIZE_MAX)
                rec_close(sc);
            rec_open(sc, r, sc->regions[k].start, sc->regions[k].end);
            open = k;
        }
        rec_place(sc, a, sp->v[i].end);
        if (a < pos)
            a = pos;
        if (a > sp->v[i].end)
            continue; /* the last match covers this place */
        if ((rc = scan_region(sc, r, t, n, a, sc->regions[k].end, sp->v[i].end, &pos)) !=
            VIGIE_OK)
            return rc;
    }
    if (open != SIZE_MAX)
        rec_close(sc);
    return VIGIE_OK;
}

static int cand_order(const void *x, const void *y)
{
    const struct detect_finding *a = x, *b = y;
    size_t la = a->nend - a->nstart, lb = b->nend - b->nstart;

    if (a->rule->priority != b->rule->priority)
        return a->rule->priority > b->rule->priority ? -1 : 1;
    if (la != lb)
        return la > lb ? -1 : 1;
    if (a->nstart != b->nstart)
        return a->nstart < b->nstart ? -1 : 1;
    if (a->rule->index != b->rule->index)
        return a->rule->index < b->rule->index ? -1 : 1;
    return 0;
}

static int found_order(const void *x, const void *y)
{
    const struct detect_finding *a = x, *b = y;

    if (a->nstart != b->nstart)
        return a->nstart < b->nstart ? -1 : 1;
    return 0;
}

static int range_free(const uint64_t *bits, size_t s, size_t e)
{
    size_t i;

    for (i = s; i < e; i++) {
        if ((i & 63) == 0 && i + 64 <= e) {
            if (bits[i >> 6] != 0)
                return 0;
            i += 63;
            continue;
        }
        if (bits[i >> 6] & (1ull << (i & 63)))
            return 0;
    }
    return 1;
}

static void range_take(uint64_t *bits, size_t s, size_t e)
{
    size_t i;

    for (i = s; i < e; i++)
        bits[i >> 6] |= 1ull << (i & 63);
}

/* Keeps the best of overlapping candidates: higher priority, then longer,
 * then earlier. Greedy over that order with a bitmap of taken bytes: linear in
 * the total length of the candidates, whatever their number. */
static int resolve(struct detect_scanner *sc, size_t n)
{
    size_t words = (n + 63) / 64 + 1, i;

    sc->nfound = 0;
    if (sc->ncand == 0)
        return VIGIE_OK;
    if (sc->ncand > sc->found_cap) {
        struct detect_finding *nv = realloc(sc->found, sc->ncand * sizeof(*nv));
        if (nv == NULL)
            return VIGIE_ERR_NOMEM;
        sc->found = nv;
        sc->found_cap = sc->ncand;
    }
    if (words > sc->covered_words) {
        uint64_t *nb = realloc(sc->covered, words * sizeof(*nb));
        if (nb == NULL)
            return VIGIE_ERR_NOMEM;
        sc->covered = nb;
        sc->covered_words = words;
    }
    memset(sc->covered, 0, words * sizeof(*sc->covered));
    qsort(sc->cand, sc->ncand, sizeof(*sc->cand), cand_order);
    sc->nfound = 0;
    for (i = 0; i < sc->ncand; i++) {
        struct detect_finding *f = &sc->cand[i];
        if (!range_free(sc->covered, f->nstart, f->nend))
            continue;
        range_take(sc->covered, f->nstart, f->nend);
        sc->found[sc->nfound++] = *f;
    }
    qsort(sc->found, sc->nfound, sizeof(*sc->found), found_order);
    return VIGIE_OK;
}

void detect_scanner_only(struct detect_scanner *sc, const unsigned char *only)
{
    sc->only = only;
}

int detect_scan(struct detect_scanner *sc, const char *text, size_t len,
                const struct detect_rule *only_rule, unsigned flags)
{
    const struct detect_set *set = sc->set;
    const char *t;
    size_t n, i, k;
    int rc;

    struct detect_recs *rs = &sc->rec[sc->rec_cur];

    sc->ncand = 0;
    sc->nfound = 0;
    sc->last_text = NULL;
    sc->last_len = 0;
    /* Whole-set scans are recorded, for a rescan of this text once masked
     * (detect_redact); scans of one rule or of every byte are not. */
    rs->n = rs->nplace = rs->ncand = 0;
    rs->valid = 0;
    rs->overflow = only_rule != NULL || (flags & DETECT_SCAN_FULL);
    if (len > sc->max_input)
        return VIGIE_ERR_TOO_BIG;
    if ((rc = text_normalise(&sc->norm, text, len)) != VIGIE_OK)
        return rc;
    t = sc->norm.text;
    n = sc->norm.len;
    if (!(flags & DETECT_SCAN_FULL) && (rc = detect_prefilter_run(sc, t, n)) != VIGIE_OK)
        return rc;
    for (i = 0; i < set->nrules; i++) {
        const struct detect_rule *r = set->rules[i];
        if ((only_rule != NULL && r != only_rule) || (sc->only != NULL && !sc->only[i]))
            continue;
        if (flags & DETECT_SCAN_FULL) {
            rc = scan_region(sc, r, t, n, 0, n, SIZE_MAX, NULL);
            if (rc != VIGIE_OK)
                return rc;
            continue;
        }
        if ((rc = detect_regions_for(sc, r, t, n)) != VIGIE_OK)
            return rc;
        rec_reserve(sc);
        if (r->anchored && r->trig != DETECT_TRIG_ALWAYS) {
            if ((rc = scan_anchored(sc, r, t, n)) != VIGIE_OK)
                return rc;
        } else {
            for (k = 0; k < sc->nregions; k++) {
                rec_open(sc, r, sc->regions[k].start, sc->regions[k].end);
                if ((rc = rescan_reuse(sc, r, t, n)) < 0)
                    return rc;
                if (rc == 0 && (rc = scan_region(sc, r, t, n, sc->regions[k].start,
                                                 sc->regions[k].end, SIZE_MAX, NULL)) != VIGIE_OK)
                    return rc;
                rec_close(sc);
            }
        }
    }
    if (!rs->overflow && sc->ncand > DETECT_RECS_MAX)
        rs->overflow = 1;
    if (!rs->overflow) {
        /* The candidates in the order the regions produced them: resolve()
         * sorts them in place. */
        if (sc->ncand > rs->cand_cap) {
            struct detect_finding *nv = realloc(rs->cand, sc->ncand * sizeof(*nv));
            if (nv == NULL)
                rs->overflow = 1;
            else {
                rs->cand = nv;
                rs->cand_cap = sc->ncand;
            }
        }
        if (!rs->overflow) {
            if (sc->ncand > 0)
                memcpy(rs->cand, sc->cand, sc->ncand * sizeof(*rs->cand));
            rs->ncand = sc->ncand;
            rs->only = sc->only;
        }
    }
    if ((rc = resolve(sc, n)) != VIGIE_OK)
        return rc;
    rs->valid = !rs->overflow;
    for (i = 0; i < sc->nfound; i++) {
        struct detect_finding *f = &sc->found[i];
        f->start = text_norm_map_start(&sc->norm, f->nstart);
        f->end = text_norm_map_end(&sc->norm, f->nend);
    }
    sc->last_text = text;
    sc->last_len = len;
    return VIGIE_OK;
}
