/*
 * Validators: the arithmetic that separates an identifier from a number of the
 * same shape. A pack names them ("validator: iban"); the engine runs one on the
 * canonical form of each regex match and drops the match if it fails.
 *
 * Canonical form: only [0-9A-Z] kept, letters upper-cased (see detect_canon).
 * Validators are pure functions of that string; they never allocate.
 */
#ifndef VIGIE_DETECT_VALIDATE_H
#define VIGIE_DETECT_VALIDATE_H

#include <stddef.h>

/* Returns 1 if s[0..len) (canonical) is valid, 0 if not. */
typedef int (*detect_validator_fn)(const char *s, size_t len);

struct detect_validator {
    const char *name;        /* as written in packs */
    const char *description; /* one line, for `vigie check` and docs */
    detect_validator_fn fn;
    /* 0: fn gets the canonical form ([0-9A-Z] only). 1: fn gets the matched
     * text of the normalised view as it stands (UTF-8, separators kept):
     * for values whose punctuation carries meaning (IP addresses, dates,
     * coordinates) or whose letters' case does (entropy of a token). */
    int raw;
};

/* NULL when no validator has that name. */
const struct detect_validator *detect_validator_find(const char *name);

/* The table, NULL-name terminated, for listing and "did you mean". */
const struct detect_validator *detect_validator_all(void);

/* Writes the canonical form of in[0..len) to out (at most outsz bytes; the
 * result is not NUL-terminated). Returns the canonical length, or (size_t)-1
 * when it would not fit. */
size_t detect_canon(const char *in, size_t len, char *out, size_t outsz);

/* The individual checks, exposed for unit tests and for other validators. */
int detect_luhn(const char *digits, size_t len);
int detect_valid_card(const char *s, size_t len);
int detect_valid_iban(const char *s, size_t len);
int detect_valid_nir(const char *s, size_t len);
int detect_valid_siren(const char *s, size_t len);
int detect_valid_siret(const char *s, size_t len);
int detect_valid_fr_vat(const char *s, size_t len);
int detect_valid_iso6346(const char *s, size_t len);
int detect_valid_mrn(const char *s, size_t len);
int detect_valid_fr_nif(const char *s, size_t len);
int detect_valid_eori_fr(const char *s, size_t len);

/* Canonical-form validators of the issue-3 packs, one file per theme. */
int detect_valid_e164(const char *s, size_t len);     /* validate_phone.c */
int detect_valid_siv_plate(const char *s, size_t len); /* validate_plate.c */

/* Raw validators (see struct detect_validator). */
int detect_valid_ipv4(const char *s, size_t len);  /* validate_net.c */
int detect_valid_ipv6(const char *s, size_t len);  /* validate_net.c */
int detect_valid_gps(const char *s, size_t len);   /* validate_net.c */
int detect_valid_date(const char *s, size_t len);  /* validate_date.c */
int detect_valid_mrz(const char *s, size_t len);   /* validate_date.c */
int detect_valid_entropy(const char *s, size_t len); /* validate_secret.c */

#endif
