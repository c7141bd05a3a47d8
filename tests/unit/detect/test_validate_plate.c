/*
 * Tests for proxy/detect/validate_plate.c (SIV plates, canonical form).
 *
 * Fixed vectors: /work/shared/research/pii.md §3.17 and §9 (AB-123-CD and
 * WW-123-AB valid; SS-123-AB, AB-000-CD, IO-123-UA invalid). The exhaustive
 * case walks every letter in every letter position against an independent
 * statement of the rule (a string of the excluded letters).
 */
#include <string.h>

#include "detect/validate.h"
#include "test.h"

/* The validator by name, on the canonical form of text: 1, 0, or -1. */
static int plate(const char *text)
{
    const struct detect_validator *v = detect_validator_find("siv_plate");
    char buf[64];
    size_t n;

    if (v == NULL || v->raw)
        return -1;
    n = detect_canon(text, strlen(text), buf, sizeof(buf));
    if (n == (size_t)-1)
        return -1;
    return v->fn(buf, n);
}

static void test_plate_registered(void)
{
    const struct detect_validator *v = detect_validator_find("siv_plate");

    T_ASSERT(v != NULL);
    T_ASSERT(v != NULL && v->fn == detect_valid_siv_plate && v->raw == 0);
}

static void test_plate_valid(void)
{
    T_EQ_INT(plate("AB-123-CD"), 1);
    T_EQ_INT(plate("AB 123 CD"), 1);
    T_EQ_INT(plate("AB123CD"), 1);
    T_EQ_INT(plate("ab-123-cd"), 1); /* canonical form upper-cases */
    T_EQ_INT(plate("AA-001-AA"), 1); /* the first SIV number */
    T_EQ_INT(plate("ZZ-999-ZZ"), 1);
    T_EQ_INT(plate("WW-123-AB"), 1); /* provisional series: still a plate */
    T_EQ_INT(plate("GH-100-KL"), 1);
    T_EQ_INT(plate("AB-123-SS"), 1); /* SS only refused on the left: see the source */
}

static void test_plate_invalid(void)
{
    T_EQ_INT(plate("SS-123-AB"), 0);
    T_EQ_INT(plate("AB-000-CD"), 0);
    T_EQ_INT(plate("IO-123-UA"), 0);
    T_EQ_INT(plate("AI-123-CD"), 0);
    T_EQ_INT(plate("AB-123-CO"), 0);
    T_EQ_INT(plate("UB-123-CD"), 0);
    T_EQ_INT(plate("AB-1234-CD"), 0);
    T_EQ_INT(plate("AB-12-CD"), 0);
    T_EQ_INT(plate("A-123-CD"), 0);
    T_EQ_INT(plate("ABC-123-CD"), 0);
    T_EQ_INT(plate("AB-12A-CD"), 0);
    T_EQ_INT(plate("12-ABC-34"), 0);
    T_EQ_INT(plate("1234 AB 75"), 0); /* FNI: no validator of its own */
}

static void test_plate_bounds(void)
{
    /* NULL and empty are refused; a length of 7 is the only one read. */
    T_EQ_INT(detect_valid_siv_plate(NULL, 20), 0);
    T_EQ_INT(detect_valid_siv_plate(NULL, 7), 0);
    T_EQ_INT(detect_valid_siv_plate("", 0), 0);
    T_EQ_INT(detect_valid_siv_plate("AB123CD", 6), 0);
    T_EQ_INT(detect_valid_siv_plate("AB123CDE", 8), 0);
    /* Not canonical (lower case, separators): refused when passed directly. */
    T_EQ_INT(detect_valid_siv_plate("ab123cd", 7), 0);
    T_EQ_INT(detect_valid_siv_plate("AB-123-", 7), 0);
    /* Exactly len bytes are read: a valid plate followed by garbage. */
    T_EQ_INT(detect_valid_siv_plate("GH100KL!!", 7), 1);
}

static void test_plate_every_letter(void)
{
    static const char excluded[] = "IOU";
    char p[8];
    int bad = 0;

    for (int pos = 0; pos < 4; pos++) {
        static const int at[4] = {0, 1, 5, 6};
        for (char c = 'A'; c <= 'Z'; c++) {
            int want;
            memcpy(p, "BC234DF", 8);
            p[at[pos]] = c;
            want = strchr(excluded, c) == NULL;
            /* S in both left positions is covered below; one S is fine. */
            if (detect_valid_siv_plate(p, 7) != want && bad++ < 5)
                T_FAIL("siv_plate(%s) != %d", p, want);
        }
    }
    for (int d = 0; d < 1000; d++) {
        p[0] = 'B';
        p[1] = 'C';
        p[2] = (char)('0' + d / 100);
        p[3] = (char)('0' + d / 10 % 10);
        p[4] = (char)('0' + d % 10);
        p[5] = 'D';
        p[6] = 'F';
        if (detect_valid_siv_plate(p, 7) != (d != 0) && bad++ < 5)
            T_FAIL("siv_plate(%.7s) != %d", p, d != 0);
    }
    T_EQ_INT(detect_valid_siv_plate("SA123BC", 7), 1);
    T_EQ_INT(detect_valid_siv_plate("AS123BC", 7), 1);
    T_EQ_INT(detect_valid_siv_plate("SS123BC", 7), 0);
}

int main(void)
{
    T_RUN(test_plate_registered);
    T_RUN(test_plate_valid);
    T_RUN(test_plate_invalid);
    T_RUN(test_plate_bounds);
    T_RUN(test_plate_every_letter);
    return T_DONE();
}
