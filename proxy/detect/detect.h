/*
 * detect: rule packs compiled into detectors; scanning text for findings; masking.
 *
 * A rule set (struct detect_set) is built from YAML rule packs, compiled once,
 * checked against its own examples and against hostile input, and then never
 * changes: threads share it read-only. Each thread scans with its own
 * struct detect_scanner, which owns the PCRE2 match data, the JIT stack, the
 * normalised view and the findings of the last scan.
 *
 * How a scan runs (docs/internals/detect.md has the details):
 *   1. normalise the text (proxy/text), keeping a map back to the original;
 *   2. one cheap pass finds candidate places: '@', runs of digits, runs of
 *      capitals, key words; each rule declares which of these it needs
 *      (its "trigger"), and its regex runs only in windows around them;
 *   3. each match is checked: validator, allow-list, context words;
 *   4. overlaps are resolved by priority, then length, then position;
 *   5. spans are mapped back to the original bytes.
 *
 * Any regex engine error other than "no match" makes the scan fail with
 * VIGIE_ERR_MATCH: the caller must treat that text as unchecked and block it.
 *
 * detect never performs I/O: packs are parsed from buffers the caller read.
 */
#ifndef VIGIE_DETECT_H
#define VIGIE_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* What to do with a finding when no policy says otherwise. */
enum detect_action {
    DETECT_ACT_ALLOW = 0,    /* leave it, do not report it */
    DETECT_ACT_FLAG = 1,     /* leave it, report it */
    DETECT_ACT_MASK = 2,     /* replace irreversibly (label or partial) */
    DETECT_ACT_PSEUDONYMISE = 3, /* replace by a token restorable through the map */
    DETECT_ACT_BLOCK = 4,    /* the whole text must not leave */
};

/* How DETECT_ACT_MASK writes the replacement. */
enum detect_masker {
    DETECT_MASK_LABEL = 0,   /* [EMAIL] */
    DETECT_MASK_PARTIAL = 1, /* **** **** **** 1111 : keep the last `keep` alnums */
};

/* How DETECT_ACT_PSEUDONYMISE writes the token. */
enum detect_pseudonym {
    DETECT_PSEUDO_NUMBER = 0, /* [EMAIL_1], numbered per map, same bytes same number */
    DETECT_PSEUDO_KEYED = 1,  /* [EMAIL_3f9a2c1b7e04], HMAC-SHA-256 of the value */
};

struct detect_set;
struct detect_rule;
struct detect_scanner;

/* ---- building a rule set ------------------------------------------------- */

struct detect_set *detect_set_new(void);

/* Parses and compiles one pack from buf[0..len) (file names it in messages).
 * Every problem is added to diag as "FILE:LINE:COL: message"; the pack's rules
 * are kept only if the whole pack is valid. Each rule's own examples are run
 * and its pattern is tried on generated hostile subjects; a failing example or
 * a pattern too slow on hostile input is a load error naming the rule.
 * Returns VIGIE_OK or VIGIE_ERR_CONFIG (or VIGIE_ERR_NOMEM). */
int detect_set_add_pack(struct detect_set *set, const char *file, const char *buf,
                        size_t len, struct vigie_diag *diag);

/* Ends loading: checks ids are unique across packs and builds the shared
 * prefilter tables. After this the set is immutable. An empty set is an
 * error: a gateway with no detectors would pass everything. */
int detect_set_finish(struct detect_set *set, struct vigie_diag *diag);

void detect_set_free(struct detect_set *set);

size_t detect_set_nrules(const struct detect_set *set);
const struct detect_rule *detect_set_rule(const struct detect_set *set, size_t i);
/* NULL when absent. */
const struct detect_rule *detect_set_find(const struct detect_set *set, const char *id);
size_t detect_set_npacks(const struct detect_set *set);
const char *detect_set_pack_name(const struct detect_set *set, size_t i);

const char *detect_rule_id(const struct detect_rule *r);
const char *detect_rule_category(const struct detect_rule *r);
const char *detect_rule_label(const struct detect_rule *r);
const char *detect_rule_pack(const struct detect_rule *r);
enum detect_action detect_rule_action(const struct detect_rule *r);
size_t detect_rule_index(const struct detect_rule *r);

const char *detect_action_name(enum detect_action a);

/* ---- scanning -------------------------------------------------------------- */

struct detect_finding {
    const struct detect_rule *rule;
    size_t start, end;   /* byte span in the ORIGINAL text, end exclusive */
    size_t nstart, nend; /* the same span in the normalised view */
    unsigned context;    /* 1 if a context word of the rule was found nearby */
};

/* A scanner for one thread. max_input caps the text one scan accepts. */
struct detect_scanner *detect_scanner_new(const struct detect_set *set, size_t max_input);
void detect_scanner_free(struct detect_scanner *sc);

/* Restricts the scans that follow to the rules r with only[detect_rule_index(r)]
 * set (NULL: every rule). The array is borrowed until the next call. Overlap
 * resolution then happens between those rules alone. */
void detect_scanner_only(struct detect_scanner *sc, const unsigned char *only);

/* Scan flags. */
#define DETECT_SCAN_FULL 0x1u  /* ignore triggers: run every regex over all text
                                  (reference mode for tests and benchmarks) */

/* Scans text[0..len). On success the findings are available through
 * detect_scanner_findings() until the next scan, sorted by start and never
 * overlapping. only_rule, when not NULL, restricts the scan to that rule (and
 * skips overlap resolution with others): packs use it to run a rule's own
 * examples. Returns VIGIE_OK, VIGIE_ERR_TOO_BIG (over max_input),
 * VIGIE_ERR_MATCH (regex engine error: fail closed) or VIGIE_ERR_NOMEM. */
int detect_scan(struct detect_scanner *sc, const char *text, size_t len,
                const struct detect_rule *only_rule, unsigned flags);

const struct detect_finding *detect_scanner_findings(const struct detect_scanner *sc,
                                                     size_t *n);

/* ---- masking ----------------------------------------------------------------- */

/* The reversible map: token -> original value, for every pseudonym written.
 * A later stage restores values in the model's answer with it. It holds
 * personal data: it is wiped when freed and never logged. */
struct detect_revmap;

struct detect_revmap *detect_revmap_new(void);
void detect_revmap_free(struct detect_revmap *m);
size_t detect_revmap_count(const struct detect_revmap *m);
/* The i-th entry (insertion order). */
void detect_revmap_entry(const struct detect_revmap *m, size_t i, const char **token,
                         size_t *toklen, const char **value, size_t *vallen);
/* Looks a token up; NULL if unknown. */
const char *detect_revmap_lookup(const struct detect_revmap *m, const char *token,
                                 size_t toklen, size_t *vallen);
/* Writes text with every known token replaced by its value into out. */
int detect_revmap_restore(const struct detect_revmap *m, const char *text, size_t len,
                          struct vigie_buf *out);

/* Decides the action for one finding; the default is the rule's own action. */
typedef enum detect_action (*detect_decide_fn)(void *arg, const struct detect_finding *f);

struct detect_mask_opts {
    const unsigned char *key; /* HMAC key for keyed pseudonyms; NULL: keyed is an error */
    size_t keylen;
    detect_decide_fn decide;  /* NULL: use each rule's action */
    void *decide_arg;
    /* detect_redact only: the scanner's last scan was of exactly this text
     * (same bytes, same length), so its findings stand for the first pass and
     * the text is not scanned again. */
    int reuse_scan;
};

/* Writes text with the last scan's findings applied to out. The scan must
 * have been of exactly this text. Pseudonyms are recorded in map (which may
 * already hold earlier entries: the same value keeps its token across the
 * texts of one request). *blocked is set to 1 if any finding's action is
 * DETECT_ACT_BLOCK (the text is still written, masked where it could be).
 * Returns VIGIE_OK, VIGIE_ERR_TOO_BIG, VIGIE_ERR_NOMEM, VIGIE_ERR_CONFIG (keyed
 * pseudonym without a key) or VIGIE_ERR_COLLISION. */
int detect_mask(struct detect_scanner *sc, const char *text, size_t len,
                const struct detect_mask_opts *opts, struct detect_revmap *map,
                struct vigie_buf *out, int *blocked);

/* After detect_redact returned VIGIE_OK, detect_scanner_findings() holds the
 * findings of a scan of the text it wrote (the last pass scans its own
 * output), so an egress check of that text needs no other scan. */

/* Masks text until a rescan of the result finds nothing more to replace: the
 * entry point callers should use. Masking one value can reveal another
 * ("4111 1111 1111 1111 1 85 05 ..." hides a card behind the NIR's digits
 * until the NIR is masked), so the masked text is scanned again, at most
 * VIGIE_REDACT_PASSES times in all; a text still changing after that is
 * refused (VIGIE_ERR_MATCH) rather than sent half-masked. The findings of all
 * passes, with spans in the ORIGINAL text, are then available through
 * detect_redact_findings() (sorted by start; a later pass's span may enclose
 * an earlier replacement). Same arguments and errors as detect_mask. */
int detect_redact(struct detect_scanner *sc, const char *text, size_t len,
                  const struct detect_mask_opts *opts, struct detect_revmap *map,
                  struct vigie_buf *out, int *blocked);
const struct detect_finding *detect_redact_findings(const struct detect_scanner *sc, size_t *n);

/* The action that detect_mask applied (or would apply) to finding i of the last
 * scan, given opts: the same decision function, for reports. */
enum detect_action detect_finding_action(const struct detect_finding *f,
                                         const struct detect_mask_opts *opts);

#endif
