/*
 * Dates and MRZ lines: the raw validators "date" and "mrz".
 *
 * Both receive the matched text of the normalised view as it stands (digits
 * are ASCII, odd spaces are ' ', dashes are '-'; letters keep their case and
 * their accents), because the punctuation carries meaning: "14/07/1981" is a
 * date, "14/07-1981" is not, and an MRZ filler '<' is a field value.
 *
 * Pure functions of their input; they never read past len and never
 * allocate; NULL or empty input gives 0.
 */
#include <string.h>

#include "detect/validate.h"

/* ---- calendar -------------------------------------------------------------- */

#define YEAR_MIN 1900u
#define YEAR_MAX 2099u

static int is_leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in(unsigned month, int leap)
{
    static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (month < 1 || month > 12)
        return 0;
    return days[month - 1] + (month == 2 && leap);
}

static int real_date(unsigned d, unsigned m, unsigned y)
{
    if (y < YEAR_MIN || y > YEAR_MAX)
        return 0;
    return d >= 1 && d <= days_in(m, is_leap(y));
}

/* ---- date: a cursor over the text ----------------------------------------- */

struct cur {
    const char *s;
    size_t i, n;
};

static int at_digit(const struct cur *c)
{
    return c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9';
}

/* Reads a run of digits (at most 4 kept: a longer run fails). Returns the
 * number of digits read, 0 when none or too many. */
static size_t read_num(struct cur *c, unsigned *v)
{
    size_t k = 0;

    *v = 0;
    while (at_digit(c)) {
        if (++k > 4)
            return 0;
        *v = *v * 10 + (unsigned)(c->s[c->i] - '0');
        c->i++;
    }
    return k;
}

/* Reads a word of letters into w (lower-case ASCII, the accents of French
 * month names folded: é è ê -> e, û -> u), at most wsz - 1 letters. Returns
 * its length, 0 when no word starts here or it does not fit. */
static size_t read_word(struct cur *c, char *w, size_t wsz)
{
    size_t k = 0;

    while (c->i < c->n) {
        unsigned char b = (unsigned char)c->s[c->i];
        char out;

        if (b >= 'a' && b <= 'z') {
            out = (char)b;
            c->i++;
        } else if (b >= 'A' && b <= 'Z') {
            out = (char)(b + 32);
            c->i++;
        } else if (b == 0xC3 && c->i + 1 < c->n) {
            unsigned char b2 = (unsigned char)c->s[c->i + 1];
            /* U+00E8-U+00EA, U+00C8-U+00CA: è é ê and capitals; U+00FB, U+00DB: û */
            if ((b2 >= 0xA8 && b2 <= 0xAA) || (b2 >= 0x88 && b2 <= 0x8A))
                out = 'e';
            else if (b2 == 0xBB || b2 == 0x9B)
                out = 'u';
            else
                return 0; /* another accented letter: no month or weekday has it */
            c->i += 2;
        } else {
            break;
        }
        if (k + 1 >= wsz)
            return 0;
        w[k++] = out;
    }
    w[k] = '\0';
    return k;
}

/* Skips spaces, then at most one of the punctuation marks in `marks` and the
 * spaces after it. Returns the number of bytes skipped. */
static size_t skip_gap(struct cur *c, const char *marks)
{
    size_t start = c->i;

    while (c->i < c->n && c->s[c->i] == ' ')
        c->i++;
    if (c->i < c->n && c->s[c->i] != '\0' && strchr(marks, c->s[c->i]) != NULL) {
        c->i++;
        while (c->i < c->n && c->s[c->i] == ' ')
            c->i++;
    }
    return c->i - start;
}

struct month_name {
    const char *name;
    unsigned month;
};

/* French and English month names with their usual abbreviations, accents
 * folded (read_word does the same to the text). */
static const struct month_name months[] = {
    {"janvier", 1},   {"janv", 1},      {"jan", 1},       {"january", 1},   {"fevrier", 2},
    {"fevr", 2},      {"fev", 2},       {"february", 2},  {"feb", 2},       {"mars", 3},
    {"mar", 3},       {"march", 3},     {"avril", 4},     {"avr", 4},       {"april", 4},
    {"apr", 4},       {"mai", 5},       {"may", 5},       {"juin", 6},      {"june", 6},
    {"jun", 6},       {"juillet", 7},   {"juil", 7},      {"july", 7},      {"jul", 7},
    {"aout", 8},      {"august", 8},    {"aug", 8},       {"septembre", 9}, {"sept", 9},
    {"sep", 9},       {"september", 9}, {"octobre", 10},  {"oct", 10},      {"october", 10},
    {"novembre", 11}, {"nov", 11},      {"november", 11}, {"decembre", 12}, {"dec", 12},
    {"december", 12},
};

static const char *const weekdays[] = {
    "lundi",  "mardi",   "mercredi",  "jeudi",    "vendredi", "samedi",   "dimanche",
    "monday", "tuesday", "wednesday", "thursday", "friday",   "saturday", "sunday",
};

static unsigned month_of(const char *w)
{
    for (size_t i = 0; i < sizeof(months) / sizeof(months[0]); i++)
        if (strcmp(months[i].name, w) == 0)
            return months[i].month;
    return 0;
}

static int is_weekday(const char *w)
{
    for (size_t i = 0; i < sizeof(weekdays) / sizeof(weekdays[0]); i++)
        if (strcmp(weekdays[i], w) == 0)
            return 1;
    return 0;
}

/* A day number, 1 or 2 digits, and the ordinal suffix glued to it if any:
 * "1er" (French, only for the first), "1st", "2nd", "3rd", "4th"...
 * (English, the right one for the number). Returns the day or 0. */
static unsigned read_day(struct cur *c)
{
    unsigned d;
    size_t k = read_num(c, &d);
    char w[4];
    const char *want;

    if (k == 0 || k > 2)
        return 0;
    if (c->i >= c->n || !((c->s[c->i] | 0x20) >= 'a' && (c->s[c->i] | 0x20) <= 'z'))
        return d;
    if (read_word(c, w, sizeof(w)) == 0)
        return 0;
    if (strcmp(w, "er") == 0)
        return d == 1 ? d : 0;
    if (d % 10 == 1 && d != 11)
        want = "st";
    else if (d % 10 == 2 && d != 12)
        want = "nd";
    else if (d % 10 == 3 && d != 13)
        want = "rd";
    else
        want = "th";
    return strcmp(w, want) == 0 ? d : 0;
}

/* "14/07/1981", "14-07-1981", "14.07.1981", "14 07 1981", "1981-07-14":
 * one separator, the same twice. Day-month-year is read first (the French
 * and European order); month-day-year (American) is accepted too when it is
 * a real date, since the text does not say which was meant. */
static int numeric_date(const char *s, size_t n)
{
    struct cur c = {s, 0, n};
    unsigned a, b, y;
    size_t ka, kb, ky;
    char sep;

    ka = read_num(&c, &a);
    if (ka == 0 || c.i >= n || strchr("/-. ", s[c.i]) == NULL || s[c.i] == '\0')
        return 0;
    sep = s[c.i++];
    kb = read_num(&c, &b);
    if (kb == 0 || kb > 2 || c.i >= n || s[c.i] != sep)
        return 0;
    c.i++;
    ky = read_num(&c, &y);
    if (ky == 0 || c.i != n)
        return 0;
    if (ka == 4) /* ISO order: year, month, day */
        return ky <= 2 && real_date(y, b, a);
    if (ka > 2 || ky != 4)
        return 0;
    return real_date(a, b, y) || real_date(b, a, y);
}

/* "1er janvier 1985", "14 juil. 1981", "3rd March 1990", "3rd of March,
 * 1990", "March 3, 1990", "Mar. 3rd 1990", each optionally after a weekday
 * ("lundi 14 juillet 1981", "Monday, March 3, 1990"). */
static int text_date(const char *s, size_t n)
{
    struct cur c = {s, 0, n};
    unsigned d, m, y;
    char w[16];

    if (!at_digit(&c)) {
        if (read_word(&c, w, sizeof(w)) == 0)
            return 0;
        if (is_weekday(w)) {
            if (skip_gap(&c, ",") == 0)
                return 0;
            if (!at_digit(&c) && read_word(&c, w, sizeof(w)) == 0)
                return 0;
        }
    }
    if (at_digit(&c)) {
        /* day first */
        d = read_day(&c);
        if (d == 0 || skip_gap(&c, "") == 0 || read_word(&c, w, sizeof(w)) == 0)
            return 0;
        if (strcmp(w, "of") == 0 && (skip_gap(&c, "") == 0 || read_word(&c, w, sizeof(w)) == 0))
            return 0;
        if ((m = month_of(w)) == 0)
            return 0;
        if (c.i < n && s[c.i] == '.')
            c.i++;
        if (skip_gap(&c, ",") == 0)
            return 0;
    } else {
        /* month first (English) */
        if ((m = month_of(w)) == 0)
            return 0;
        if (c.i < n && s[c.i] == '.')
            c.i++;
        if (skip_gap(&c, "") == 0 || (d = read_day(&c)) == 0)
            return 0;
        if (skip_gap(&c, ",") == 0)
            return 0;
    }
    if (read_num(&c, &y) != 4 || c.i != n)
        return 0;
    return real_date(d, m, y);
}

/* A real calendar date, year 1900-2099, written with digits only or with a
 * French or English month name. Two-digit years are refused: the century
 * is unknown, and with it whether 29/02 exists. */
int detect_valid_date(const char *s, size_t len)
{
    if (s == NULL || len == 0 || len > 64)
        return 0;
    return numeric_date(s, len) || text_date(s, len);
}

/* ---- MRZ -------------------------------------------------------------------- */

/* ICAO 9303 part 3 §4.9: '<' = 0, digits their value, A = 10 ... Z = 35;
 * weights 7, 3, 1 repeated; the check digit is the sum mod 10. */
static int mrz_value(char ch)
{
    if (ch == '<')
        return 0;
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A' + 10;
    return -1;
}

static int mrz_sum(const char *s, size_t a, size_t b, unsigned *acc, size_t *pos)
{
    static const unsigned w[3] = {7, 3, 1};

    for (size_t i = a; i < b; i++) {
        int v = mrz_value(s[i]);
        if (v < 0)
            return 0;
        *acc += (unsigned)v * w[(*pos)++ % 3];
    }
    return 1;
}

/* s[a..b) has the check digit s[at]. */
static int mrz_check(const char *s, size_t a, size_t b, size_t at)
{
    unsigned acc = 0;
    size_t pos = 0;

    if (s[at] < '0' || s[at] > '9' || !mrz_sum(s, a, b, &acc, &pos))
        return 0;
    return acc % 10 == (unsigned)(s[at] - '0');
}

static int all_in(const char *s, size_t a, size_t b, int digits, int letters, int filler)
{
    for (size_t i = a; i < b; i++) {
        char ch = s[i];
        if (!((digits && ch >= '0' && ch <= '9') || (letters && ch >= 'A' && ch <= 'Z') ||
              (filler && ch == '<')))
            return 0;
    }
    return 1;
}

/* YYMMDD with a month and a day that exist (the century is unknown: 29
 * February is allowed in years divisible by 4, 00 included). */
static int mrz_date(const char *s, size_t a)
{
    unsigned yy, mm, dd;

    if (!all_in(s, a, a + 6, 1, 0, 0))
        return 0;
    yy = (unsigned)(s[a] - '0') * 10 + (unsigned)(s[a + 1] - '0');
    mm = (unsigned)(s[a + 2] - '0') * 10 + (unsigned)(s[a + 3] - '0');
    dd = (unsigned)(s[a + 4] - '0') * 10 + (unsigned)(s[a + 5] - '0');
    return dd >= 1 && dd <= days_in(mm, yy % 4 == 0);
}

/* A date field and its check digit at `at`. */
static int mrz_date_checked(const char *s, size_t a, size_t at)
{
    return mrz_date(s, a) && mrz_check(s, a, a + 6, at);
}

static int mrz_sex(char ch)
{
    return ch == 'M' || ch == 'F' || ch == 'X' || ch == '<';
}

/* TD3 (passport) line 2, 44 characters: document number, nationality,
 * birth date, sex, expiry, personal number, and five check digits, all
 * verified. The personal number's check digit may be '<' when it is empty. */
static int mrz_td3_line2(const char *s)
{
    unsigned acc = 0;
    size_t pos = 0;

    if (!mrz_check(s, 0, 9, 9) || !all_in(s, 10, 13, 0, 1, 1) || !mrz_date_checked(s, 13, 19) ||
        !mrz_sex(s[20]) || !mrz_date_checked(s, 21, 27))
        return 0;
    if (all_in(s, 28, 42, 0, 0, 1)) {
        if (s[42] != '<' && s[42] != '0')
            return 0;
    } else if (!mrz_check(s, 28, 42, 42)) {
        return 0;
    }
    if (s[43] < '0' || s[43] > '9' || !mrz_sum(s, 0, 10, &acc, &pos) ||
        !mrz_sum(s, 13, 20, &acc, &pos) || !mrz_sum(s, 21, 43, &acc, &pos))
        return 0;
    return acc % 10 == (unsigned)(s[43] - '0');
}

/* Old French identity card (1988-2021), line 2, 36 characters: issue YYMM,
 * office code, serial, check digit over the 12 characters before it, first
 * names, birth date and its check digit, sex, and the composite check digit
 * (which covers line 1 as well, so only its being a digit is checked). */
static int mrz_cni_line2(const char *s)
{
    return all_in(s, 0, 4, 1, 0, 0) && all_in(s, 4, 7, 1, 1, 1) && all_in(s, 7, 12, 1, 0, 0) &&
           mrz_check(s, 0, 12, 12) && all_in(s, 13, 27, 0, 1, 1) && s[13] != '<' &&
           mrz_date_checked(s, 27, 33) && mrz_sex(s[34]) && s[35] >= '0' && s[35] <= '9';
}

/* TD2 line 2, 36 characters: the TD3 layout with 7 characters of optional
 * data and the composite check digit at the end. */
static int mrz_td2_line2(const char *s)
{
    unsigned acc = 0;
    size_t pos = 0;

    if (!mrz_check(s, 0, 9, 9) || !all_in(s, 10, 13, 0, 1, 1) || !mrz_date_checked(s, 13, 19) ||
        !mrz_sex(s[20]) || !mrz_date_checked(s, 21, 27))
        return 0;
    if (s[35] < '0' || s[35] > '9' || !mrz_sum(s, 0, 10, &acc, &pos) ||
        !mrz_sum(s, 13, 20, &acc, &pos) || !mrz_sum(s, 21, 35, &acc, &pos))
        return 0;
    return acc % 10 == (unsigned)(s[35] - '0');
}

/* Two fillers in a row somewhere in s[0..n): real lines always have some
 * (an unused optional field, a short name), random upper-case tokens of the
 * same length seldom do. */
static int has_fillers(const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == '<' && s[i + 1] == '<')
            return 1;
    return 0;
}

/* TD1 (identity card) line 1, 30 characters: document code (A, C or I),
 * issuing state, document number and its check digit, optional data. A
 * number longer than 9 characters continues in the optional data (ICAO 9303
 * part 5 §4.2.2 note j): '<' in the check position, and the real check digit
 * is the last character before the next filler. The new French card
 * (2021) is "IDFRA" + 9 characters + check digit. */
static int mrz_td1_line1(const char *s)
{
    unsigned acc = 0;
    size_t pos = 0, end;

    if ((s[0] != 'A' && s[0] != 'C' && s[0] != 'I') || !all_in(s, 1, 5, 0, 1, 1) ||
        !all_in(s, 5, 30, 1, 1, 1) || !has_fillers(s, 30))
        return 0;
    if (s[14] != '<')
        return mrz_check(s, 5, 14, 14);
    for (end = 15; end < 30 && s[end] != '<'; end++)
        ;
    if (end < 17) /* at least one more character and the check digit */
        return 0;
    if (!mrz_sum(s, 5, 14, &acc, &pos) || !mrz_sum(s, 15, end - 1, &acc, &pos))
        return 0;
    return s[end - 1] >= '0' && s[end - 1] <= '9' && acc % 10 == (unsigned)(s[end - 1] - '0');
}

/* TD1 line 2, 30 characters: birth date and check, sex, expiry and check,
 * nationality, optional data, composite check digit (covers line 1: only
 * its being a digit is checked). */
static int mrz_td1_line2(const char *s)
{
    return mrz_date_checked(s, 0, 6) && mrz_sex(s[7]) && mrz_date_checked(s, 8, 14) &&
           all_in(s, 15, 18, 0, 1, 1) && all_in(s, 18, 29, 1, 1, 1) && s[29] >= '0' && s[29] <= '9';
}

/* French driving licence (since 2013), one line of 30 characters: "D1" (or
 * "D" and another version character), issuing state, the 9-character licence
 * number, a check digit over the 14 characters before it, a date, the
 * surname on 8 characters, and a check digit over the 29 characters before
 * it. Layout: cheminfo/mrz frenchDrivingLicenceFields. */
static int mrz_fr_licence(const char *s)
{
    return s[0] == 'D' && all_in(s, 1, 2, 1, 1, 1) && all_in(s, 2, 5, 0, 1, 0) &&
           all_in(s, 5, 14, 1, 1, 0) && mrz_check(s, 0, 14, 14) && mrz_date(s, 15) &&
           all_in(s, 21, 29, 0, 1, 1) && mrz_check(s, 0, 29, 29);
}

/* One machine-readable-zone line that carries check digits: TD3 line 2
 * (44), old French identity card line 2 or TD2 line 2 (36), TD1 line 1 or
 * line 2 or French driving licence (30). Lines without any check digit
 * (the name lines) are not this validator's business: their pattern alone
 * decides. */
int detect_valid_mrz(const char *s, size_t len)
{
    if (s == NULL)
        return 0;
    switch (len) {
    case 44:
        return mrz_td3_line2(s);
    case 36:
        return mrz_cni_line2(s) || mrz_td2_line2(s);
    case 30:
        return mrz_td1_line1(s) || mrz_td1_line2(s) || mrz_fr_licence(s);
    default:
        return 0;
    }
}
