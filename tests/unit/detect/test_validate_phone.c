/*
 * Tests for proxy/detect/validate_phone.c: the "e164" validator.
 *
 * Numbers are the safe test ranges only: ARCEP fiction blocks (01 99 00,
 * 06 39 98), Ofcom drama numbers (07700 900xxx), NANP 555-01xx, the
 * Bundesnetzagentur drama block (030 23125 xxx). Other countries' numbers
 * are shapes written for length, not real subscribers.
 *
 * The validator takes the canonical form ([0-9A-Z]): printed numbers go
 * through detect_canon first, as the engine does.
 */
#include <stdio.h>
#include <string.h>

#include "detect/validate.h"
#include "test.h"

/* e164 of the canonical form of text: 1, 0, or -1 when it does not fit. */
static int e164(const char *text)
{
    char buf[64];
    size_t n = detect_canon(text, strlen(text), buf, sizeof(buf));

    if (n == (size_t)-1)
        return -1;
    return detect_valid_e164(buf, n);
}

#define VALID(text)                                                                                \
    do {                                                                                           \
        int got_ = e164(text);                                                                     \
        if (got_ != 1)                                                                             \
            T_FAIL("e164(\"%s\") = %d, expected valid", (text), got_);                             \
    } while (0)

#define INVALID(text)                                                                              \
    do {                                                                                           \
        int got_ = e164(text);                                                                     \
        if (got_ != 0)                                                                             \
            T_FAIL("e164(\"%s\") = %d, expected invalid", (text), got_);                           \
    } while (0)

static void test_registered(void)
{
    const struct detect_validator *v = detect_validator_find("e164");

    T_ASSERT(v != NULL);
    if (v == NULL)
        return;
    T_ASSERT(v->fn == detect_valid_e164);
    T_EQ_INT(v->raw, 0);
}

static void test_null_and_empty(void)
{
    T_EQ_INT(detect_valid_e164(NULL, 0), 0);
    T_EQ_INT(detect_valid_e164(NULL, 20), 0);
    T_EQ_INT(detect_valid_e164("", 0), 0);
    /* never reads past len: the digits after it would make it valid */
    T_EQ_INT(detect_valid_e164("447700900123", 5), 0);
    T_EQ_INT(detect_valid_e164("447700900123", 12), 1);
}

static void test_examples(void)
{
    VALID("+44 7700 900123");
    VALID("+1 202 555 0147");
    VALID("+1 (202) 555-0147");
    VALID("+49 30 23125 000");
    VALID("+262 692 12 34 56"); /* Réunion mobile */
    VALID("+590 690 12 34 56"); /* Guadeloupe */
    VALID("+594 694 12 34 56"); /* Guyane */
    VALID("+596 696 12 34 56"); /* Martinique */
    VALID("+269 773 12 34");    /* Comoros: 7 digits */
    VALID("+33 6 39 98 45 67");
    VALID("+33 1 99 00 12 34");
    VALID("+32 2 123 45 67");  /* Brussels: 8 digits */
    VALID("+32 470 12 34 56"); /* Belgian mobile: 9 */
    VALID("+41 22 345 67 89");
    VALID("+34 612 34 56 78");
    VALID("+31 6 12345678");
    VALID("+352 26 12 34"); /* Luxembourg: short numbers exist */
    VALID("+7 495 123 45 67");
    VALID("+86 10 1234 5678");
    VALID("+81 3 1234 5678");
}

static void test_prefixes(void)
{
    /* "00" is the international call prefix: dropped once */
    VALID("0044 7700 900123");
    VALID("0033 1 99 00 12 34");
    VALID("00 1 202 555 0147");
    INVALID("0000 44 7700 900123");
    /* a national number is not international */
    INVALID("07700 900123");
    INVALID("06 39 98 00 01");
    INVALID("0 1 99 00 12 34");
    /* "(0)": the trunk prefix kept in brackets is not counted */
    VALID("+33 (0)1 99 00 12 34");
    VALID("+44 (0)20 7946 0000");
    VALID("+41 (0)22 345 67 89");
    VALID("+49 (0)30 23125 000");
    /* ... but Italian fixed numbers really start with 0 */
    VALID("+39 06 6988 1234");
    VALID("+39 02 1234 5678");
    VALID("+39 333 123 4567"); /* Italian mobile, no 0 */
}

static void test_lengths(void)
{
    /* France: 9 digits after 33, no more, no less */
    INVALID("+33 6 39 98 45");
    INVALID("+33 6 39 98 45 678");
    INVALID("+33 (0)6 39 98 45");
    /* NANP: 10 */
    INVALID("+1 202 555 014");
    INVALID("+1 202 555 01477");
    /* UK: 9 or 10 */
    INVALID("+44 7700 9001");
    INVALID("+44 7700 900123 4");
    /* 8 to 15 in all */
    INVALID("+999 12");
    INVALID("+33 12");
    INVALID("+2");
    INVALID("+49 30 23125 000 123 45"); /* 16 digits */
    INVALID("+1 202 555 0147 2025550147");
}

static void test_country_codes(void)
{
    /* spare and withdrawn codes are refused at every length */
    static const char *const spare[] = {
        "210", "214", "215", "217", "219", "259", "280", "281", "289", "292", "293", "295",
        "296", "384", "388", "422", "424", "429", "671", "684", "693", "699", "801", "807",
        "809", "830", "839", "851", "854", "857", "859", "871", "874", "875", "879", "884",
        "885", "887", "889", "890", "899", "969", "978", "990", "997", "999"};
    char buf[24];

    for (size_t i = 0; i < sizeof(spare) / sizeof(spare[0]); i++) {
        for (size_t total = 8; total <= 15; total++) {
            size_t k;
            memcpy(buf, spare[i], 3);
            for (k = 3; k < total; k++)
                buf[k] = (char)('1' + k % 9);
            if (detect_valid_e164(buf, total) != 0)
                T_FAIL("spare code +%s accepted at length %zu", spare[i], total);
        }
    }
    /* one- and two-digit codes with their three-digit neighbours */
    VALID("+7 912 345 67 89");
    VALID("+20 10 1234 5678");
    VALID("+27 82 123 4567");
    VALID("+212 6 12 34 56 78");
    VALID("+213 5 51 23 45 67");
    VALID("+216 20 123 456");
    VALID("+221 77 123 45 67");
    VALID("+225 07 12 34 56 78"); /* Côte d'Ivoire: 10 digits, starts with 0 */
    VALID("+237 6 71 23 45 67");
    VALID("+687 75 12 34");      /* New Caledonia: 6 */
    VALID("+689 87 12 34 56");   /* French Polynesia: 8 */
    VALID("+508 55 12 34");      /* Saint-Pierre-et-Miquelon: 6 */
    VALID("+681 72 12 34");      /* Wallis-et-Futuna: 6 */
    VALID("+377 6 12 34 56 78"); /* Monaco */
    VALID("+380 44 123 4567");
    VALID("+420 601 123 456");
    VALID("+423 235 12 34");
    VALID("+880 1712 345678");
    VALID("+886 912 345 678");
    VALID("+971 50 123 4567");
    VALID("+998 90 123 45 67");
    INVALID("+42 123 456 789"); /* 42 alone is not a code */
    INVALID("+83 123 456 789");
    INVALID("+89 123 456 789");
}

static void test_not_digits(void)
{
    INVALID("+1 800 FLOWERS");
    T_EQ_INT(detect_valid_e164("44770090012A", 12), 0);
    T_EQ_INT(detect_valid_e164("+447700900123", 13), 0); /* canonical has no '+' */
    T_EQ_INT(detect_valid_e164("44 7700 900123", 14), 0);
}

int main(void)
{
    T_RUN(test_registered);
    T_RUN(test_null_and_empty);
    T_RUN(test_examples);
    T_RUN(test_prefixes);
    T_RUN(test_lengths);
    T_RUN(test_country_codes);
    T_RUN(test_not_digits);
    return T_DONE();
}
