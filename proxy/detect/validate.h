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

#endif
