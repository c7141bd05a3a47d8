/*
 * Tests for proxy/detect/validate_secret.c: the entropy validator.
 *
 * Expected values were computed independently (Python: collections.Counter
 * and math.log2 over the UTF-8 bytes, with the same prefix rule), and are
 * quoted next to each case. Test tokens are made up (EXAMPLE, runs of one
 * letter, alphabets); none is a real credential.
 */
#include <stdlib.h>
#include <string.h>

#include "detect/validate.h"
#include "test.h"
#include "validate_helpers.h"

static int ent(const char *s)
{
    return detect_valid_entropy(s, strlen(s));
}

/* The validator on an exact-size heap copy: ASan sees any read past len. */
static int ent_exact(const char *s, size_t len)
{
    return validate_exact(detect_valid_entropy, s, len);
}

static void test_null_and_empty(void)
{
    T_EQ_INT(detect_valid_entropy(NULL, 20), 0);
    T_EQ_INT(detect_valid_entropy(NULL, 0), 0);
    T_EQ_INT(detect_valid_entropy("", 0), 0);
    T_EQ_INT(detect_valid_entropy("abcdefghijklmnop", 0), 0);
}

static void test_threshold(void)
{
    /* n distinct bytes: log2(n) bits per byte. 8 is the exact tie (3.0). */
    T_EQ_INT(ent("abcdefgh"), 1);
    T_EQ_INT(ent("abcdefg"), 0);   /* 2.807 */
    T_EQ_INT(ent("abcdefghi"), 1); /* 3.170 */
    /* 16 bytes, 8 symbols twice each: exactly 3.0 again. */
    T_EQ_INT(ent("aabbccddeeffgghh"), 1);
    /* 16 bytes, 7 symbols (a3 b3 c2 d2 e2 f2 g2): 2.781. */
    T_EQ_INT(ent("abcdefgabcdefgab"), 0);
    /* One symbol, two symbols. */
    T_EQ_INT(ent("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), 0);
    T_EQ_INT(ent("abababababababababababababababab"), 0);
}

static void test_tokens(void)
{
    /* AWS documentation samples: 3.684 and 4.663. */
    T_EQ_INT(ent("AKIAIOSFODNN7EXAMPLE"), 1);
    T_EQ_INT(ent("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), 1);
    /* The jwt.io sample signature: 4.8. */
    T_EQ_INT(ent("SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"), 1);
    /* Basic credentials "user:password" in base64: 3.922. */
    T_EQ_INT(ent("dXNlcjpwYXNzd29yZA=="), 1);
    /* Placeholders. */
    T_EQ_INT(ent("ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), 0);
    T_EQ_INT(ent("XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"), 0);
    T_EQ_INT(ent("00000000000000000000"), 0);
    /* Long words stay near the threshold, one each side: the packs never
     * rely on entropy alone. internationalisation 2.946,
     * anticonstitutionnellement 3.175. */
    T_EQ_INT(ent("internationalisation"), 0);
    T_EQ_INT(ent("anticonstitutionnellement"), 1);
    /* A weak password is low: why the password rules do not use entropy. */
    T_EQ_INT(ent("Soleil2024"), 0); /* 2.922 */
}

static void test_prefix(void)
{
    /* Whole string 3.076, body after "hf_" 2.781: the prefix is skipped. */
    T_EQ_INT(ent("hf_abcdefgabcdefgab"), 0);
    /* Same with two segments: "sk_live_" (whole 3.574). */
    T_EQ_INT(ent("sk_live_abcdefgabcdefgab"), 0);
    /* Three segments at most: "sk-ant-api03-" then the body. */
    T_EQ_INT(ent("sk-ant-api03-abcdefgabcdefgab"), 0);
    T_EQ_INT(ent("sk-ant-api03-EXAMPLEqWv3Lz9RkTn"), 1);
    /* A fourth segment is not skipped: "xy-" stays in the body, whose
     * three extra symbols lift it to 3.221. */
    T_EQ_INT(ent("a-b-c-xy-abcdefgabcdefgab"), 1);
    /* A segment is not skipped when fewer than 16 bytes would remain: here
     * "hf_" stays and the whole string (3.102) is measured. */
    T_EQ_INT(ent("hf_abcdefgabcdefg"), 1);
    /* Segment shapes: 12 characters is the longest skipped (body 2.781);
     * 13 characters, a leading digit or a capital are no prefix, and the
     * whole string is measured (3.581, 4.032, 3.046). */
    T_EQ_INT(ent("abcdefghijkl_abcdefgabcdefgab"), 0);
    T_EQ_INT(ent("abcdefghijklm_abcdefgabcdefgab"), 1);
    T_EQ_INT(ent("1234567890-abcdefgabcdefgab"), 1);
    T_EQ_INT(ent("Abc_abcdefgabcdefgab"), 1);
}

static void test_bounds(void)
{
    static const char buf[] = "abcdefghijklmnop";
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char big[4096];
    size_t i;

    /* Only s[0..len) counts, on an exact-size buffer. */
    T_EQ_INT(ent_exact(buf, 7), 0);
    T_EQ_INT(ent_exact(buf, 8), 1);
    T_EQ_INT(ent_exact(buf, 16), 1);
    /* Non-ASCII bytes are symbols like any other: "é" x 10 is 2 symbols. */
    T_EQ_INT(ent("éééééééééé"), 0);
    /* A long varied buffer (a linear congruential sequence over 64
     * symbols) passes; a long uniform one does not. */
    for (i = 0; i < sizeof(big); i++)
        big[i] = alphabet[(i * 37u + 11u) % 64u];
    T_EQ_INT(ent_exact(big, sizeof(big)), 1);
    memset(big, 'q', sizeof(big));
    T_EQ_INT(ent_exact(big, sizeof(big)), 0);
}

static void test_registered(void)
{
    const struct detect_validator *v = detect_validator_find("entropy");

    T_ASSERT(v != NULL);
    if (v == NULL)
        return;
    T_EQ_INT(v->raw, 1);
    T_ASSERT(v->fn == detect_valid_entropy);
}

int main(void)
{
    T_RUN(test_null_and_empty);
    T_RUN(test_threshold);
    T_RUN(test_tokens);
    T_RUN(test_prefix);
    T_RUN(test_bounds);
    T_RUN(test_registered);
    return T_DONE();
}
