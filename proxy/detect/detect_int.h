/*
 * Internals of proxy/detect shared by its files; not for other modules.
 */
#ifndef VIGIE_DETECT_INT_H
#define VIGIE_DETECT_INT_H

#include <pcre2.h>

#include "detect/detect.h"
#include "detect/validate.h"
#include "text/text.h"

/* What a rule needs to be present before its regex is worth running. */
enum detect_trigger {
    DETECT_TRIG_ALWAYS = 0,   /* run over the whole text */
    DETECT_TRIG_AT = 1,       /* an '@' */
    DETECT_TRIG_DIGITS = 2,   /* a run of at least trig_min digits (separators allowed) */
    DETECT_TRIG_UPPER = 3,    /* a run of at least trig_min capitals */
    DETECT_TRIG_KEYWORDS = 4, /* one of the rule's key words (ASCII case-insensitive) */
};

#define DETECT_RULE_MAGIC 0x56445255u /* "VDRU" */

/* A list of words, folded (lower case, no diacritics) at load. */
struct detect_words {
    char **v;
    size_t *len;
    size_t n;
    /* Bit c set when some word starts with byte c (every bit when a word is
     * empty), so that detect_words_in() compares words only where one can
     * start. */
    uint64_t first[4];
};

struct detect_rule {
    unsigned magic;
    size_t index; /* position in its set */
    char *id;
    char *category;
    char *label;
    char *description;
    char *pack;
    char *file;
    unsigned line, col;

    char *pattern;
    pcre2_code *code;
    int jit; /* code was JIT-compiled: scans call pcre2_jit_match() directly */
    const struct detect_validator *validator;
    int trim; /* on a validator failure, retry the match cut back at separators */

    enum detect_trigger trig;
    unsigned trig_min;
    unsigned before, after;      /* window: bytes before and after a trigger spot */
    int anchored; /* every match starts from `before` bytes before a spot to its end */
    struct detect_words keywords; /* for DETECT_TRIG_KEYWORDS (ASCII lower case) */
    struct detect_words exact;    /* and those matched byte for byte */
    uint64_t *kw_bits;            /* their ids in the set's keyword table, as a bitset */

    struct detect_words ctx;      /* context words */
    struct detect_words suppress; /* words that veto a match nearby */
    unsigned ctx_window;
    int ctx_required;

    char **allow; /* canonical values never reported */
    size_t *allow_len;
    size_t nallow;
    pcre2_code *allow_re; /* anchored, whole value */

    /* How far outside a region [a, b) its scan may read the view: look-behind
     * (4 bytes a character) and the context window before a, the context
     * window after b; set by detect_prefilter_build(). A region whose bytes
     * from a - reach_before to b + reach_after are those of a region of the
     * last scan finds what that one found (see detect_rescan_reuse). */
    size_t reach_before, reach_after;

    int priority;
    enum detect_action action;
    enum detect_masker masker;
    unsigned keep;
    enum detect_pseudonym pseudo;
};

/* Keyword table shared by the set: every distinct key word of every rule. */
struct detect_kw {
    char *word; /* ASCII lower case, or as written when exact */
    size_t len;
    int exact;
    uint16_t pair; /* first two bytes, for the bitmap */
};

/* The key words sharing a first pair of bytes: where they start in the
 * sorted table, and the third bytes that can follow (so that a common pair
 * such as "me" costs a lookup only before the right third byte). */
struct detect_kw_pair {
    uint32_t first, count;
    int has2;           /* a 2-byte word has this pair: no third-byte filter */
    uint64_t third[4];  /* bitset of folded third bytes of the longer words */
};

struct detect_set {
    struct detect_rule **rules;
    size_t nrules, cap;
    char **packs;
    size_t npacks;
    int borrowed; /* rules belong to another set (example runs) */
    int finished;

    /* Prefilter tables, built by detect_set_finish(). */
    unsigned need; /* bit (1 << trigger) for each trigger some rule uses */
    unsigned digits_min;  /* smallest trig_min of digit rules */
    size_t merge_gap[5];  /* spots of a kind this close merge: smallest before + after */
    unsigned upper_min;
    struct detect_kw *kws; /* sorted by pair, then word */
    size_t nkws;
    /* The key-word filter, one table lookup per byte of text. Each byte has a
     * class: 0 when no word has it (ASCII-folded) among its first three bytes,
     * else 1..63 (shared only when a pack set uses more than 63 such bytes).
     * Bit c2 of kw_next[c0 << 6 | c1] is set when some word starts with bytes
     * of classes c0 c1 c2; every bit, for a 2-byte word. A set bit only says
     * "look here": the words themselves are compared after. */
    uint8_t kw_class[256];
    uint64_t kw_next[64 * 64];
    /* Second look, before the words are compared: hashed bitsets of the
     * folded first 2 bytes of 2-byte words, first 3 of 3-byte words, first 4
     * of longer ones. Most places the filter lets through ("mon" for
     * "monsieur" in "montant") stop here. */
    uint64_t kw_hash2[64], kw_hash3[64], kw_hash4[256];
    struct detect_kw_pair *kw_pairs; /* one per distinct pair, with its filters */
    uint16_t *kw_pair_of;            /* pair -> index in kw_pairs (65536 entries) */
};

/* A candidate place found by the prefilter, in view offsets. */
struct detect_spot {
    size_t start, end;
    size_t count; /* digits or capitals in the run; keyword id for key words */
};

struct detect_spots {
    struct detect_spot *v;
    size_t n, cap;
};

struct detect_region {
    size_t start, end;
};

/* A token-shaped string ("[LABEL_x]") already present in a text being masked,
 * so that numbered tokens never reuse one. */
struct detect_utok {
    uint64_t hash;
    size_t off, len;
};

/* One replacement written by a masking pass: in[s, e) became out[os, oe);
 * [ns, ne) is the replaced span in the view of in. */
struct detect_repl {
    size_t s, e, os, oe;
    size_t ns, ne;
    /* Where the replacement starts in the view of out, and how much longer
     * the view of out is than that of in after it (negative: shorter), on
     * the assumption that the view of out differs from that of in only by
     * the replacements. Only a guess of where a region of out was in in:
     * the rescan compares the bytes before it takes anything. */
    size_t vs;
    ptrdiff_t shift;
};

/* What one scan found, region by region, so that detect_redact's rescan of
 * the masked text runs a rule's regex only in the regions that masking
 * changed. A region's candidates are a function of its rule, its bytes and
 * reach_before / reach_after bytes around them, and, for an anchored rule,
 * the places searched in it: where all of these are equal, the rescan takes
 * the candidates of the earlier scan, shifted. */
struct detect_rec {
    size_t rule;   /* index in the set */
    size_t a, b;   /* the region, view offsets */
    size_t c0, c1; /* its candidates, [c0, c1) in cand */
    size_t p0, p1; /* anchored rules: the places searched, [p0, p1) in place */
};

struct detect_recs {
    struct detect_rec *v;
    size_t n, cap;
    struct detect_finding *cand; /* the scan's candidates, before overlap resolution */
    size_t ncand, cand_cap;
    struct detect_region *place; /* window start and end of each spot searched */
    size_t nplace, place_cap;
    int valid;    /* complete record of the last whole-set scan */
    int overflow; /* more than DETECT_RECS_MAX regions: not recorded */
    const unsigned char *only; /* the rule filter of that scan */
};

/* Regions, places and candidates a scan records for its rescan: at most
 * VIGIE_DETECT_RECS_MAX (core/limits.h). */
#define DETECT_RECS_MAX VIGIE_DETECT_RECS_MAX

struct detect_scanner {
    const struct detect_set *set;
    size_t max_input;
    const unsigned char *only; /* per rule index: scan only these (NULL: all) */
    struct text_norm norm;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit;
    struct detect_spots spots[5]; /* indexed by enum detect_trigger */
    /* What the last prefilter run saw, so that a rule no spot can wake is
     * skipped without a walk over the spots: the largest count of digit and
     * capital spots, and the key words found (a bitset over the set's
     * table). */
    size_t spot_max[5];
    uint64_t *kw_seen;
    struct detect_region *regions;
    size_t nregions, regions_cap;
    struct detect_finding *cand; /* candidates before overlap resolution */
    size_t ncand, cand_cap;
    struct detect_finding *found; /* the result */
    size_t nfound, found_cap;
    uint64_t *covered; /* bitmap over the view, for overlap resolution */
    size_t covered_words;
    char before[2 * VIGIE_WINDOW_MAX + 8]; /* folded context, before a match */
    char after[2 * VIGIE_WINDOW_MAX + 8];  /* and after it */
    char canon[VIGIE_VALUE_MAX];
    /* detect_redact(): findings of all passes, in original offsets, and the
     * replacements of each pass (spans in the pass's input and output). */
    struct detect_finding *all;
    size_t nall, all_cap;
    struct detect_repl *repl[VIGIE_REDACT_PASSES];
    size_t nrepl[VIGIE_REDACT_PASSES], repl_cap[VIGIE_REDACT_PASSES];
    /* Intermediate texts of detect_redact's passes: kept between calls so
     * that a large text does not cost fresh pages on every call; wiped
     * after each use, since they hold the text. */
    struct vigie_buf pass_buf[2];
    /* Records of the last scan and of the one before (rec[cur ^ 1]), the
     * view of the one before, and what a rescan needs to find its regions:
     * set by detect_redact() for the scans of its later passes only. */
    struct detect_recs rec[2];
    int rec_cur;
    struct text_norm norm_prev;
    const struct detect_repl *rescan_repl; /* the replacements between the two */
    size_t rescan_nrepl;
    size_t rescan_next; /* cursor in the earlier scan's records */
    int rescan;
    /* Token-shaped strings of the text being masked (built on first need). */
    struct detect_utok *utok;
    size_t nutok, utok_cap;
    int utok_built;
    /* The text of the last scan, to check detect_mask gets the same. */
    const char *last_text;
    size_t last_len;
};

/* prefilter.c */
int detect_prefilter_build(struct detect_set *set, struct vigie_diag *diag);
int detect_prefilter_run(struct detect_scanner *sc, const char *t, size_t n);
/* Whether spot sp (of r's trigger kind) wakes rule r. Inline: called for
 * every spot of every rule. */
static inline int detect_spot_wakes(const struct detect_rule *r, const struct detect_spot *sp)
{
    if ((r->trig == DETECT_TRIG_DIGITS || r->trig == DETECT_TRIG_UPPER) &&
        sp->count < r->trig_min)
        return 0;
    if (r->trig == DETECT_TRIG_KEYWORDS && !((r->kw_bits[sp->count >> 6] >> (sp->count & 63)) & 1))
        return 0;
    return 1;
}

/* Start of r's window around sp, on a character boundary of view t. */
static inline size_t detect_window_start(const struct detect_rule *r,
                                         const struct detect_spot *sp, const char *t)
{
    size_t a = sp->start > r->before ? sp->start - r->before : 0;

    while (a > 0 && ((unsigned char)t[a] & 0xC0) == 0x80)
        a--;
    return a;
}
/* Fills sc->regions for rule r from the spots of the last prefilter run. */
int detect_regions_for(struct detect_scanner *sc, const struct detect_rule *r,
                       const char *t, size_t n);

/* scan.c: match contexts with vigie's limits, for scanners and load checks. */
pcre2_match_context *detect_match_context_new(pcre2_jit_stack **jit_out);
/* Whether one of w's words is in folded text f[0..n), on word boundaries. */
int detect_words_in(const struct detect_words *w, const char *f, size_t n);
/* Canonical form of a matched value, for validators, allow-lists and numbering. */
size_t detect_value_canon(const struct detect_rule *r, const char *v, size_t len, char *out,
                          size_t outsz);

/* hostile.c: the load-time check that a pattern stays linear on hostile input. */
int detect_hostile_check(const struct detect_rule *r, const char *const *examples,
                         size_t nexamples, char *why, size_t whysz);

/* pack.c */
void detect_rule_free(struct detect_rule *r);

#endif
