/* Shared helpers for the validator tests. */
#ifndef VIGIE_TEST_VALIDATE_HELPERS_H
#define VIGIE_TEST_VALIDATE_HELPERS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detect/validate.h"

/* Runs fn on a heap copy of s[0..len) of exactly len bytes, so that ASan
 * reports any read past the end. -1 if the copy cannot be made. */
static inline int validate_exact(detect_validator_fn fn, const char *s, size_t len)
{
    char *buf = malloc(len > 0 ? len : 1);
    int r;

    if (buf == NULL)
        return -1;
    memcpy(buf, s, len);
    r = fn(buf, len);
    free(buf);
    return r;
}

/* xorshift64*, fixed seed: generated cases are the same on every run. */
static uint64_t rng_state = 0x2545F4914F6CDD1Du;

static inline unsigned rnd(unsigned n)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (unsigned)((rng_state * 0x2545F4914F6CDD1Du) >> 33) % n;
}

#endif
