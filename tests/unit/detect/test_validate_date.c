/*
 * Tests for proxy/detect/validate_date.c: the raw "date" and "mrz" validators.
 *
 * Both are raw: they get the text as written in the normalised view, so the
 * tests pass strings exactly as a pattern would match them.
 *
 * MRZ vectors: the ICAO 9303 specimens (TD3 "L898902C3...", TD1 "D23145890"),
 * the old French identity card and the French driving licence lines of
 * cheminfo/mrz's tests (pii.md §3.15-§3.18, §9), each recomputed. Generated
 * lines get their check digits from a small implementation written here
 * (a weight table indexed by position), not from validate_date.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "detect/validate.h"
#include "test.h"
#include "validate_helpers.h"

#define DATE(text, want)                                                                           \
    do {                                                                                           \
        int got_ = detect_valid_date((text), strlen(text));                                        \
        if (got_ != (want))                                                                        \
            T_FAIL("date(\"%s\") = %d, expected %d", (text), got_, (want));                        \
    } while (0)

#define MRZ(text, want)                                                                            \
    do {                                                                                           \
        int got_ = detect_valid_mrz((text), strlen(text));                                         \
        if (got_ != (want))                                                                        \
            T_FAIL("mrz(\"%s\") = %d, expected %d", (text), got_, (want));                         \
    } while (0)

static void test_registered(void)
{
    const struct detect_validator *d = detect_validator_find("date");
    const struct detect_validator *m = detect_validator_find("mrz");

    T_ASSERT(d != NULL && m != NULL);
    if (d == NULL || m == NULL)
        return;
    T_ASSERT(d->fn == detect_valid_date);
    T_ASSERT(m->fn == detect_valid_mrz);
    T_EQ_INT(d->raw, 1);
    T_EQ_INT(m->raw, 1);
}

static void test_null_and_bounds(void)
{
    T_EQ_INT(detect_valid_date(NULL, 0), 0);
    T_EQ_INT(detect_valid_date(NULL, 20), 0);
    T_EQ_INT(detect_valid_date("", 0), 0);
    T_EQ_INT(detect_valid_mrz(NULL, 0), 0);
    T_EQ_INT(detect_valid_mrz(NULL, 20), 0);
    T_EQ_INT(detect_valid_mrz(NULL, 44), 0);
    T_EQ_INT(detect_valid_mrz("", 0), 0);
    /* len is the end: what follows is not read */
    T_EQ_INT(detect_valid_date("14/07/1981", 8), 0);   /* "14/07/19" */
    T_EQ_INT(detect_valid_date("14/07/19812", 10), 1); /* "14/07/1981" */
}

static void test_numeric(void)
{
    DATE("14/07/1981", 1);
    DATE("14-07-1981", 1);
    DATE("14.07.1981", 1);
    DATE("14 07 1981", 1);
    DATE("1/7/1981", 1);
    DATE("1981-07-14", 1);
    DATE("1981/07/14", 1);
    DATE("1981-7-4", 1);
    DATE("01/01/1900", 1);
    DATE("31/12/2099", 1);
    DATE("30/04/2024", 1); /* a date: whether it is a birth date is the rule's context */
    /* American month/day/year: accepted when it is a real date that way */
    DATE("03/14/1990", 1);
    DATE("12/31/1999", 1);
    /* not a calendar date */
    DATE("31/02/1990", 0);
    DATE("30/02/2000", 0);
    DATE("31/04/1981", 0);
    DATE("32/01/1990", 0);
    DATE("00/01/1990", 0);
    DATE("14/00/1990", 0);
    DATE("14/13/1981", 0);
    DATE("13/14/1981", 0);
    DATE("1981-13-01", 0);
    DATE("1981-02-30", 0);
    DATE("1981-00-10", 0);
    /* years */
    DATE("14/07/1899", 0);
    DATE("14/07/2100", 0);
    DATE("14/07/81", 0); /* two digits: century unknown */
    DATE("14/07/19811", 0);
    DATE("0014/07/14", 0);
    /* separators */
    DATE("14/07-1981", 0);
    DATE("14.07/1981", 0);
    DATE("14/07/1981/", 0);
    DATE("14//07/1981", 0);
    DATE("14071981", 0);
    DATE("14:07:1981", 0);
    DATE(" 14/07/1981", 0);
    /* customs look-alikes */
    DATE("8471.30.00", 0);
    DATE("8471 30 00", 0);
    DATE("952/2013", 0);
    DATE("2015/2447", 0);
    DATE("236-1", 0);
    DATE("1.234.567", 0);
    DATE("123/45/1990", 0);
}

static void test_leap_years(void)
{
    DATE("29/02/2000", 1); /* divisible by 400 */
    DATE("29/02/1996", 1);
    DATE("29/02/2024", 1);
    DATE("29/02/1900", 0); /* divisible by 100, not 400 */
    DATE("29/02/2001", 0);
    DATE("29/02/2023", 0);
    DATE("2000-02-29", 1);
    DATE("1900-02-29", 0);
    DATE("29 février 2000", 1);
    DATE("29 février 1900", 0);
    DATE("February 29, 1996", 1);
    DATE("February 29, 1997", 0);
}

static void test_french_words(void)
{
    DATE("1er janvier 1985", 1);
    DATE("1ER JANVIER 1985", 1);
    DATE("1 janvier 1985", 1);
    DATE("14 juillet 1981", 1);
    DATE("14 JUILLET 1981", 1);
    DATE("14 Juillet 1981", 1);
    DATE("14 juil. 1981", 1);
    DATE("14 juil 1981", 1);
    DATE("3 février 1990", 1);
    DATE("3 fevrier 1990", 1);
    DATE("3 FÉVRIER 1990", 1);
    DATE("3 févr. 1990", 1);
    DATE("3 fév. 1990", 1);
    DATE("15 août 1969", 1);
    DATE("15 aout 1969", 1);
    DATE("15 AOÛT 1969", 1);
    DATE("24 déc. 1975", 1);
    DATE("24 DÉC. 1975", 1);
    DATE("24 décembre 1975", 1);
    DATE("2 sept. 1964", 1);
    DATE("9 mai 1950", 1);
    DATE("mardi 14 juillet 1981", 1);
    DATE("mardi, 14 juillet 1981", 1);
    /* not dates */
    DATE("2er janvier 1985", 0); /* "er" is for the first only */
    DATE("31 février 1990", 0);
    DATE("31 juin 1990", 0);
    DATE("14 juillett 1981", 0);
    DATE("14 jui 1981", 0);
    DATE("14 julio 1981", 0);
    DATE("juillet 1981", 0);
    DATE("14 juillet", 0);
    DATE("14 juillet 81", 0);
    DATE("14 juillet 1981 à Lyon", 0);
    DATE("14juillet1981", 0);
    DATE("14 juil.. 1981", 0);
    DATE("lundi", 0);
    DATE("le 14 juillet 1981", 0); /* the rule's pattern starts at the day */
    DATE("14 juillet 1881", 0);
    DATE("14 çà 1981", 0);
}

static void test_english_words(void)
{
    DATE("March 3, 1990", 1);
    DATE("March 3 1990", 1);
    DATE("march 3, 1990", 1);
    DATE("MARCH 3, 1990", 1);
    DATE("Mar. 3, 1990", 1);
    DATE("Mar 3rd, 1990", 1);
    DATE("3rd March 1990", 1);
    DATE("3rd of March, 1990", 1);
    DATE("3 March 1990", 1);
    DATE("1st May 1985", 1);
    DATE("2nd May 1985", 1);
    DATE("21st June 2001", 1);
    DATE("22nd June 2001", 1);
    DATE("23rd June 2001", 1);
    DATE("11th June 2001", 1);
    DATE("12th June 2001", 1);
    DATE("13th June 2001", 1);
    DATE("Saturday, March 3, 1990", 1);
    DATE("Sept. 9, 1999", 1);
    /* not dates */
    DATE("3th March 1990", 0);
    DATE("11st June 2001", 0);
    DATE("12nd June 2001", 0);
    DATE("1th May 1985", 0);
    DATE("March 32, 1990", 0);
    DATE("April 31, 1990", 0);
    DATE("March, 1990", 0);
    DATE("March 3,, 1990", 0);
    DATE("Marc 3, 1990", 0);
    DATE("Saturday", 0);
    DATE("Saturday March", 0);
    DATE("May", 0);
}

/* ---- MRZ ------------------------------------------------------------------ */

/* ICAO 9303 check digit of s[0..n), by a weight table on the position. */
static char ref_check(const char *s, size_t n)
{
    static const unsigned weight[] = {7, 3, 1};
    unsigned sum = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (s[i] == '<')
            v = 0;
        else if (s[i] >= '0' && s[i] <= '9')
            v = (unsigned)(s[i] - '0');
        else
            v = (unsigned)(s[i] - 'A') + 10;
        sum += v * weight[i % 3];
    }
    return (char)('0' + sum % 10);
}

static const char td3_line2[] = "L898902C36UTO7408122F1204159ZE184226B<<<<<10";
static const char td1_line1[] = "I<UTOD231458907<<<<<<<<<<<<<<<";
static const char td1_line2[] = "7408122F1204159UTO<<<<<<<<<<<6";
static const char cni_line2[] = "1710GVA123451ROBERTA<<<<<<<9112311F2";
static const char licence[] = "D1FRA13AA000026181231MARTIN<<9";

static void test_mrz_specimens(void)
{
    MRZ(td3_line2, 1);
    MRZ(td1_line1, 1);
    MRZ(td1_line2, 1);
    MRZ(cni_line2, 1);
    MRZ(licence, 1);
    /* the new French identity card's first line (specimen X4RTBPFW4, check 6) */
    MRZ("IDFRAX4RTBPFW46<<<<<<<<<<<<<<<", 1);
    MRZ("IDFRAX4RTBPFW47<<<<<<<<<<<<<<<", 0);
    /* name lines carry no check digit: the names rule's pattern decides */
    MRZ("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", 0);
    MRZ("ERIKSSON<<ANNA<MARIA<<<<<<<<<<", 0);
    MRZ("IDFRATEST<NAME<<<<<<<<<<<<<<<<0CHE02", 0);
}

/* Every digit of a valid line changed, one at a time: the line must fail
 * unless that position is covered by no check (TD1 line 2's and the old
 * identity card's composite digit cover the other line too, so changing a
 * character that only they cover goes unseen). */
static void every_digit_changed(const char *line, const char *unchecked)
{
    char buf[48];
    size_t n = strlen(line);

    for (size_t i = 0; i < n; i++) {
        if (line[i] < '0' || line[i] > '9' || unchecked[i] == 'x')
            continue;
        memcpy(buf, line, n + 1);
        buf[i] = (char)('0' + (line[i] - '0' + 1) % 10);
        if (detect_valid_mrz(buf, n) != 0)
            T_FAIL("mrz(\"%s\") accepted (position %zu changed)", buf, i);
    }
}

static void test_mrz_altered(void)
{
    /* the second string marks with 'x' the positions no check digit covers */
    every_digit_changed(td3_line2, "                                            ");
    every_digit_changed(td1_line1, "               xxxxxxxxxxxxxxx");
    every_digit_changed(td1_line2, "                  xxxxxxxxxxxx");
    every_digit_changed(cni_line2, "                                   x");
    every_digit_changed(licence, "                              ");
    /* wrong lengths */
    MRZ("L898902C36UTO7408122F1204159ZE184226B<<<<<1", 0);
    MRZ("L898902C36UTO7408122F1204159ZE184226B<<<<<100", 0);
    MRZ("7408122F1204159UTO<<<<<<<<<<<", 0);
    /* lower case is not MRZ */
    MRZ("l898902c36uto7408122f1204159ze184226b<<<<<10", 0);
    /* impossible dates with right check digits */
    {
        char buf[32];
        memcpy(buf, "7413322F1204159UTO<<<<<<<<<<<6", 31); /* month 13 */
        buf[6] = ref_check(buf, 6);
        MRZ(buf, 0);
    }
    /* a long document number continued in the optional data (ICAO note j):
     * "D23145890AB" with '<' in the check position and its check digit
     * after the overflow */
    {
        char buf[32], num[12] = "D23145890AB";
        memcpy(buf, "I<UTOD23145890<AB?<<<<<<<<<<<<", 31);
        buf[17] = ref_check(num, 11);
        MRZ(buf, 1);
        buf[17] = (char)('0' + (buf[17] - '0' + 1) % 10);
        MRZ(buf, 0);
    }
    /* structure */
    MRZ("X<UTOD231458907<<<<<<<<<<<<<<<", 0); /* document code */
    MRZ("IDFRAX4RTBPFW46<ABCDEFGHIJKLMN", 0); /* TD1 line 1 without two fillers in a row */
    MRZ("7408122Q1204159UTO<<<<<<<<<<<6", 0); /* sex */
    MRZ("<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<", 0);
    MRZ("000000000000000000000000000000", 0);
}


static void put_date(char *p)
{
    unsigned y = rnd(100), m = 1 + rnd(12), d = 1 + rnd(28);
    p[0] = (char)('0' + y / 10);
    p[1] = (char)('0' + y % 10);
    p[2] = (char)('0' + m / 10);
    p[3] = (char)('0' + m % 10);
    p[4] = (char)('0' + d / 10);
    p[5] = (char)('0' + d % 10);
}

/* Random TD3 lines: valid with their digits; a single check digit moved
 * makes them invalid. */
static void test_mrz_generated_td3(void)
{
    static const char alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    static const size_t checks[] = {9, 19, 27, 42, 43};
    int reported = 0;

    for (int iter = 0; iter < 2000; iter++) {
        char l[45], comp[40];
        size_t k = 0;

        for (size_t i = 0; i < 9; i++)
            l[i] = alnum[rnd(36)];
        l[9] = ref_check(l, 9);
        memcpy(l + 10, "FRA", 3);
        put_date(l + 13);
        l[19] = ref_check(l + 13, 6);
        l[20] = "MFX<"[rnd(4)];
        put_date(l + 21);
        l[27] = ref_check(l + 21, 6);
        for (size_t i = 28; i < 42; i++)
            l[i] = rnd(2) ? '<' : alnum[rnd(36)];
        l[42] = ref_check(l + 28, 14);
        memcpy(comp + k, l, 10), k += 10;
        memcpy(comp + k, l + 13, 7), k += 7;
        memcpy(comp + k, l + 21, 22), k += 22;
        l[43] = ref_check(comp, k);
        l[44] = '\0';
        if (detect_valid_mrz(l, 44) != 1 && reported++ < 5)
            T_FAIL("generated TD3 line \"%s\" refused", l);
        for (size_t c = 0; c < sizeof(checks) / sizeof(checks[0]); c++) {
            char saved = l[checks[c]];
            l[checks[c]] = (char)('0' + (saved - '0' + 1 + rnd(9)) % 10);
            if (detect_valid_mrz(l, 44) != 0 && reported++ < 5)
                T_FAIL("TD3 line \"%s\" with check %zu changed accepted", l, checks[c]);
            l[checks[c]] = saved;
        }
    }
}

/* Random text of the right shape is almost never a checked line: count the
 * random 30/36/44-character strings of [A-Z0-9<] accepted. */
static void test_mrz_random_shape(void)
{
    static const char set[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<";
    static const size_t lens[] = {30, 36, 44};
    unsigned accepted = 0;

    for (int iter = 0; iter < 30000; iter++) {
        char l[45];
        size_t n = lens[iter % 3];
        for (size_t i = 0; i < n; i++)
            l[i] = set[rnd(37)];
        accepted += (unsigned)detect_valid_mrz(l, n);
    }
    if (accepted > 3)
        T_FAIL("%u of 30000 random MRZ-shaped lines accepted", accepted);
}

int main(void)
{
    T_RUN(test_registered);
    T_RUN(test_null_and_bounds);
    T_RUN(test_numeric);
    T_RUN(test_leap_years);
    T_RUN(test_french_words);
    T_RUN(test_english_words);
    T_RUN(test_mrz_specimens);
    T_RUN(test_mrz_altered);
    T_RUN(test_mrz_generated_td3);
    T_RUN(test_mrz_random_shape);
    return T_DONE();
}
