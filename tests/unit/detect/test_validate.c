/*
 * Tests for proxy/detect/validate.c.
 *
 * Fixed vectors come from /work/shared/research/pii.md §9, each recomputed
 * before use (python-stdnum's algorithms; all §9 values agreed). Generated
 * cases build check digits with small independent implementations written
 * here in a different way from validate.c (64-bit arithmetic, chunked mod 97,
 * weight tables), then assert that the validator accepts the value and
 * rejects it once a check digit is altered.
 *
 * Validators take the canonical form: [0-9A-Z] only. Printed values (spaces,
 * NBSP, lower case) go through detect_canon first; passed raw they are
 * rejected, and the tests assert both.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "detect/validate.h"
#include "test.h"

/* ---- helpers --------------------------------------------------------------- */

/* Runs the named validator on the canonical form of text: 1 or 0, or -1 when
 * there is no such validator or the text does not canonicalise. */
static int run_canon(const char *name, const char *text)
{
    const struct detect_validator *v = detect_validator_find(name);
    char buf[128];
    size_t n;

    if (v == NULL)
        return -1;
    n = detect_canon(text, strlen(text), buf, sizeof(buf));
    if (n == (size_t)-1)
        return -1;
    return v->fn(buf, n);
}

/* Runs the named validator on text exactly as given (no canonicalisation). */
static int run_raw(const char *name, const char *text)
{
    const struct detect_validator *v = detect_validator_find(name);

    if (v == NULL)
        return -1;
    return v->fn(text, strlen(text));
}

#define VALID(name, text)                                                                 \
    do {                                                                                  \
        int got_ = run_canon((name), (text));                                             \
        if (got_ != 1)                                                                    \
            T_FAIL("%s(\"%s\") = %d, expected valid", (name), (text), got_);              \
    } while (0)

#define INVALID(name, text)                                                               \
    do {                                                                                  \
        int got_ = run_canon((name), (text));                                             \
        if (got_ != 0)                                                                    \
            T_FAIL("%s(\"%s\") = %d, expected invalid", (name), (text), got_);            \
    } while (0)

#define RAW(name, text, want)                                                             \
    do {                                                                                  \
        int got_ = run_raw((name), (text));                                               \
        if (got_ != (want))                                                               \
            T_FAIL("%s raw \"%s\" = %d, expected %d", (name), (text), got_, (want));      \
    } while (0)

/* For generated loops: report the first few failures only. */
static int gen_reported;

#define GEN_EXPECT(cond, value)                                                           \
    do {                                                                                  \
        if (!(cond) && gen_reported++ < 5)                                                \
            T_FAIL("%s fails for generated \"%s\"", #cond, (value));                      \
    } while (0)

/* xorshift64*: a fixed seed, so a failure reproduces. */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (unsigned)((rng_state * 0x2545F4914F6CDD1Du) >> 33) % n;
}

static char rnd_digit(void)
{
    return (char)('0' + rnd(10));
}

static char rnd_letter(void)
{
    return (char)('A' + rnd(26));
}

static char rnd_alnum(void)
{
    return rnd(3) == 0 ? rnd_letter() : rnd_digit();
}

/* The digit that completes body[0..n) for Luhn: weights 2,1,2,... from the
 * rightmost body digit, products' digits summed. */
static char ref_luhn_digit(const char *body, size_t n)
{
    unsigned sum = 0;

    for (size_t k = 0; k < n; k++) {
        unsigned d = (unsigned)(body[n - 1 - k] - '0');
        unsigned p = (k % 2 == 0) ? 2 * d : d;

        sum += p / 10 + p % 10;
    }
    return (char)('0' + (10 - sum % 10) % 10);
}

static uint64_t ref_value(const char *s, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    return v;
}

/* ISO 7064 mod 97 of a string of [0-9A-Z]: expand letters to two digits, then
 * reduce nine digits at a time (validate.c reduces one character at a time). */
static unsigned ref_mod97(const char *s, size_t n)
{
    char digits[160];
    size_t m = 0;
    uint64_t r = 0, chunk = 0, scale = 1;

    for (size_t i = 0; i < n; i++) {
        if (s[i] >= 'A' && s[i] <= 'Z') {
            int v = s[i] - 'A' + 10;

            digits[m++] = (char)('0' + v / 10);
            digits[m++] = (char)('0' + v % 10);
        } else {
            digits[m++] = s[i];
        }
    }
    for (size_t i = 0; i < m; i++) {
        chunk = chunk * 10 + (uint64_t)(digits[i] - '0');
        scale *= 10;
        if (scale == 1000000000u) {
            r = (r * scale + chunk) % 97;
            chunk = 0;
            scale = 1;
        }
    }
    return (unsigned)((r * scale + chunk) % 97);
}

/* Writes the IBAN check digits for iban[0..n) (country at 0, BBAN from 4). */
static void ref_iban_fill_check(char *iban, size_t n)
{
    char tmp[64];
    unsigned check;

    memcpy(tmp, iban + 4, n - 4);
    memcpy(tmp + n - 4, iban, 2);
    memcpy(tmp + n - 2, "00", 2);
    check = 98 - ref_mod97(tmp, n);
    iban[2] = (char)('0' + check / 10);
    iban[3] = (char)('0' + check % 10);
}

/* The RIB key for bank 5n + branch 5n + account 11c. */
static unsigned ref_rib_key(const char *b)
{
    static const char map[] = "12345678912345678923456789"; /* A..Z */
    char acct[12];

    for (int i = 0; i < 11; i++) {
        char c = b[10 + i];

        acct[i] = (c >= 'A' && c <= 'Z') ? map[c - 'A'] : c;
    }
    acct[11] = '\0';
    return 97 - (unsigned)((89 * ref_value(b, 5) + 15 * ref_value(b + 5, 5) +
                            3 * ref_value(acct, 11)) %
                           97);
}

/* ISO 6346 value: A=10, then upwards skipping 11, 22, 33. */
static uint64_t ref_6346_value(char c)
{
    unsigned v;

    if (c >= '0' && c <= '9')
        return (uint64_t)(c - '0');
    v = 10 + (unsigned)(c - 'A');
    v += (v >= 11);
    v += (v >= 22);
    v += (v >= 33);
    return v;
}

static char ref_6346_digit(const char *s, size_t n)
{
    uint64_t sum = 0;

    for (size_t i = 0; i < n; i++)
        sum += ref_6346_value(s[i]) * ((uint64_t)1 << i);
    return (char)('0' + sum % 11 % 10);
}

/* ---- canonical form and the table ------------------------------------------ */

static void test_canon(void)
{
    char out[64];
    size_t n;

    n = detect_canon("FR76 3000-6000.0112", 19, out, sizeof(out));
    T_EQ_INT(n, 16);
    T_ASSERT(memcmp(out, "FR76300060000112", 16) == 0);

    /* lower case is upper-cased; NBSP (C2 A0), NNBSP (E2 80 AF) are dropped */
    const char *nb = "fr76\xc2\xa0" "3000\xe2\x80\xaf" "6000";
    n = detect_canon(nb, strlen(nb), out, sizeof(out));
    T_EQ_INT(n, 12);
    T_ASSERT(memcmp(out, "FR7630006000", 12) == 0);

    /* bytes >= 0x80 never survive, whatever the signedness of char */
    n = detect_canon("\xff\x80z", 3, out, sizeof(out));
    T_EQ_INT(n, 1);
    T_EQ_INT(out[0], 'Z');

    T_EQ_INT(detect_canon("", 0, out, sizeof(out)), 0);
    T_EQ_INT(detect_canon(NULL, 0, out, sizeof(out)), 0);
    T_EQ_INT(detect_canon(" - ", 3, NULL, 0), 0);

    /* exact fit, and one byte short; separators do not count */
    T_EQ_INT(detect_canon("a b c", 5, out, 3), 3);
    T_EQ_INT(detect_canon("abcd", 4, out, 3), (size_t)-1);
    T_EQ_INT(detect_canon("a", 1, NULL, 0), (size_t)-1);

    /* len is honoured: nothing after it is read */
    T_EQ_INT(detect_canon("ab\0cd", 5, out, sizeof(out)), 4);
    T_EQ_INT(detect_canon("abcd", 2, out, sizeof(out)), 2);
}

static void test_table(void)
{
    static const char *const expected[] = {"luhn", "card", "iban", "rib", "bic",
                                           "nir", "siren", "siret", "fr_vat", "fr_nif",
                                           "eori_fr", "mrn", "iso6346", "e164",
                                           "siv_plate", "ipv4", "ipv6", "gps", "date",
                                           "mrz", "entropy"};
    const struct detect_validator *all = detect_validator_all();
    size_t n = 0;

    T_ASSERT(all != NULL);
    for (; all[n].name != NULL; n++) {
        T_ASSERT(all[n].description != NULL && all[n].description[0] != '\0');
        T_ASSERT(strchr(all[n].description, '\n') == NULL);
        T_ASSERT(all[n].fn != NULL);
        T_ASSERT(detect_validator_find(all[n].name) == &all[n]);
        for (size_t j = 0; j < n; j++)
            T_ASSERT(strcmp(all[j].name, all[n].name) != 0);
        /* every validator survives empty and NULL input */
        T_EQ_INT(all[n].fn("", 0), 0);
        T_EQ_INT(all[n].fn(NULL, 0), 0);
        T_EQ_INT(all[n].fn(NULL, 20), 0);
    }
    T_EQ_INT(n, sizeof(expected) / sizeof(expected[0]));
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
        T_ASSERT(detect_validator_find(expected[i]) != NULL);

    T_ASSERT(detect_validator_find("nope") == NULL);
    T_ASSERT(detect_validator_find("") == NULL);
    T_ASSERT(detect_validator_find(NULL) == NULL);
    T_ASSERT(detect_validator_find("lu") == NULL);    /* exact, not prefix */
    T_ASSERT(detect_validator_find("luhnx") == NULL);
    T_ASSERT(detect_validator_find("LUHN") == NULL);  /* case-sensitive */
    T_ASSERT(detect_validator_find("iban")->fn == detect_valid_iban);
    T_ASSERT(detect_validator_find("luhn")->fn == detect_luhn);
}

/* Every validator, on every length from 0 to 40, of strings of one repeated
 * character. The value is placed at the very end of its buffer and is not
 * NUL-terminated, so a validator reading past len trips ASan. */
static void test_any_length(void)
{
    static const char fill[] = {'0', '9', 'A', 'Z', 'a', ' ', '\xc3'};
    const struct detect_validator *all = detect_validator_all();

    for (size_t f = 0; f < sizeof(fill); f++) {
        for (size_t len = 0; len <= 40; len++) {
            char buf[40];

            memset(buf, fill[f], sizeof(buf));
            for (size_t k = 0; all[k].name != NULL; k++) {
                int got = all[k].fn(buf + (sizeof(buf) - len), len);

                /* Luhn-valid by arithmetic: any run of zeros, and runs of
                 * nines whose length is a multiple of 10 (sum 9n). Nothing
                 * else may accept these. */
                int want = strcmp(all[k].name, "luhn") == 0 && len >= 2 &&
                           (fill[f] == '0' || (fill[f] == '9' && len % 10 == 0));

                if (got != want)
                    T_FAIL("%s(%zu x '%c') = %d, expected %d", all[k].name, len, fill[f],
                           got, want);
            }
        }
    }
}

/* ---- Luhn and cards ------------------------------------------------------------ */

static void test_luhn(void)
{
    T_EQ_INT(detect_luhn("4970101234567893", 16), 1);
    T_EQ_INT(detect_luhn("4970101234567894", 16), 0);
    T_EQ_INT(detect_luhn("404833048", 9), 1);
    T_EQ_INT(detect_luhn("18", 2), 1);  /* shortest: 1*2 + 8 = 10 */
    T_EQ_INT(detect_luhn("59", 2), 1);  /* 5*2 = 10 -> 1, + 9 */
    T_EQ_INT(detect_luhn("19", 2), 0);
    T_EQ_INT(detect_luhn("0", 1), 0);   /* no check digit */
    T_EQ_INT(detect_luhn("", 0), 0);
    T_EQ_INT(detect_luhn(NULL, 0), 0);
    T_EQ_INT(detect_luhn("4970 1012", 9), 0);
    T_EQ_INT(detect_luhn("4A", 2), 0);
    VALID("luhn", "4970 1012 3456 7893");
}

static void test_card(void)
{
    static const char *const valid[] = {
        "4970 1012 3456 7893", "4111 1111 1111 1111", "5555 5555 5555 4444",
        "2223 0000 4840 0011", "3782 822463 10005",   "6011 1111 1111 1117",
        "3530 1113 3330 0000", "3056 9309 0259 04",
    };
    static const char *const invalid[] = {
        "4111 1111 1111 1112", "4970 1012 3456 7894", /* Luhn */
        "1234 5678 9012 3456",                        /* no IIN, no Luhn */
        "9999 9999 9999 9995",                        /* Luhn OK, no IIN */
    };

    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
        VALID("card", valid[i]);
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        INVALID("card", invalid[i]);
    T_EQ_INT(detect_luhn("9999999999999995", 16), 1);

    RAW("card", "4111 1111 1111 1111", 0); /* not canonical */
    RAW("card", "4111111111111111", 1);
    RAW("card", "411111111111111A", 0);
    RAW("card", "41111111111", 0);          /* 11 digits */
    RAW("card", "", 0);
}

/* Issuer ranges and lengths at their edges, each Luhn-completed here so the
 * IIN table is the only thing deciding. */
static void test_card_ranges(void)
{
    static const struct {
        const char *prefix;
        size_t len;
        int valid;
    } cases[] = {
        {"4", 13, 1},      {"4", 16, 1},      {"4", 19, 1},      {"4", 15, 0},
        {"4", 12, 0},      {"51", 16, 1},     {"55", 16, 1},     {"51", 15, 0},
        {"2221", 16, 1},   {"2720", 16, 1},   {"2220", 16, 0},   {"2721", 16, 0},
        {"34", 15, 1},     {"37", 15, 1},     {"34", 16, 0},     {"35", 15, 0},
        {"300", 14, 1},    {"305", 19, 1},    {"306", 14, 0},    {"36", 14, 1},
        {"38", 17, 1},     {"39", 14, 1},     {"36", 13, 0},     {"6011", 16, 1},
        {"6011", 19, 1},   {"644", 16, 1},    {"649", 19, 1},    {"65", 16, 1},
        {"622126", 16, 1}, {"622925", 19, 1}, {"3528", 16, 1},   {"3589", 19, 1},
        {"3527", 16, 0},   {"3590", 16, 0},   {"62", 16, 1},     {"62", 19, 1},
        {"2200", 16, 1},   {"2204", 19, 1},   {"2205", 16, 0},   {"2200", 15, 0},
        {"50", 12, 1},     {"56", 12, 1},     {"69", 19, 1},     {"50", 11, 0},
        {"60", 20, 0},     {"1", 16, 0},      {"7", 16, 0},      {"8", 16, 0},
        {"9", 16, 0},      {"0", 16, 0},      {"3", 16, 0},      {"57", 12, 1},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char pan[24];
        size_t plen = strlen(cases[i].prefix);

        memcpy(pan, cases[i].prefix, plen);
        for (size_t k = plen; k + 1 < cases[i].len; k++)
            pan[k] = (char)('0' + (k * 7) % 10);
        pan[cases[i].len - 1] = ref_luhn_digit(pan, cases[i].len - 1);
        pan[cases[i].len] = '\0';
        T_EQ_INT(detect_luhn(pan, cases[i].len), 1);
        if (detect_valid_card(pan, cases[i].len) != cases[i].valid)
            T_FAIL("card %s (prefix %s, %zu digits): expected %d", pan, cases[i].prefix,
                   cases[i].len, cases[i].valid);
    }

    /* random bodies in the valid ranges: accepted once Luhn-completed, and
     * refused after any single-digit substitution (Luhn catches them all) */
    gen_reported = 0;
    for (int round = 0; round < 3000; round++) {
        size_t i = rnd(sizeof(cases) / sizeof(cases[0]));
        size_t n = cases[i].len, plen = strlen(cases[i].prefix);
        char pan[24];

        if (!cases[i].valid)
            continue;
        memcpy(pan, cases[i].prefix, plen);
        for (size_t k = plen; k + 1 < n; k++)
            pan[k] = rnd_digit();
        pan[n - 1] = ref_luhn_digit(pan, n - 1);
        pan[n] = '\0';
        GEN_EXPECT(detect_valid_card(pan, n) == 1, pan);
        for (size_t k = 0; k < n; k++) {
            char keep = pan[k];

            pan[k] = (char)('0' + (keep - '0' + 1 + rnd(9)) % 10);
            GEN_EXPECT(detect_valid_card(pan, n) == 0, pan);
            pan[k] = keep;
        }
    }
}

/* ---- IBAN and RIB ----------------------------------------------------------------- */

static void test_iban_vectors(void)
{
    static const char *const valid[] = {
        "FR76 3000 6000 0112 3456 7890 189",
        "FR14 2004 1010 0505 0001 3M02 606",
        "FR58 3000 4005 5000 0123 4567 A61", /* synthetic, letter in the account */
        "DE89 3704 0044 0532 0130 00",
        "GB82 WEST 1234 5698 7654 32",
        "BE68 5390 0754 7034",
        "NL91 ABNA 0417 1643 00",
        "MC58 1122 2000 0101 2345 6789 030",
        "ES91 2100 0418 4502 0005 1332",
        "fr76 3000 6000 0112 3456 7890 189", /* lower case, via detect_canon */
        "FR76\xc2\xa0" "3000\xc2\xa0" "6000\xe2\x80\xaf" "0112 3456-7890 189",
        "GP73 3000 6000 0112 3456 7890 189", /* overseas code, French BBAN */
    };
    static const char *const invalid[] = {
        "FR76 3000 6000 0112 3456 7890 198", /* mod 97 and RIB key */
        "DE89 3704 0044 0532 0130 01",
        "FR7630006000011234567890189X",      /* FR is 27 long */
        "FR7630006000011234567890 18",       /* 26 */
        "FR06 3000 6000 0112 3456 7890 188", /* mod 97 fine, RIB key 88 should be 89 */
        "MC31 1122 2000 0101 2345 6789 031", /* same for Monaco */
        "XX89 3704 0044 0532 0130 00",       /* no such country */
    };

    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
        VALID("iban", valid[i]);
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        INVALID("iban", invalid[i]);

    /* the validator itself wants the canonical form */
    RAW("iban", "FR7630006000011234567890189", 1);
    RAW("iban", "FR76 3000 6000 0112 3456 7890 189", 0);
    RAW("iban", "fr7630006000011234567890189", 0);
    RAW("iban", "FR7630006000011234567890189 ", 0);
    RAW("iban", "7630006000011234567890189FR", 0);
    RAW("iban", "FR", 0);
    RAW("iban", "FR76", 0);
    RAW("iban", "", 0);
    /* DE is 22: the same digits under a 20-long country are not an IBAN */
    RAW("iban", "AT89370400440532013000", 0);
}

/* Check digits 00, 01 and 99 are 97, 98 and 02 modulo 97: they pass the
 * modulus but are never issued. Find BBANs whose real check is 97, 98 and 02
 * and check the aliases are refused. */
static void test_iban_check_aliases(void)
{
    static const struct {
        unsigned real;
        const char *alias;
    } want[] = {{97, "00"}, {98, "01"}, {2, "99"}};

    for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
        char iban[23] = "DE00370400440000000000";
        int found = 0;

        for (unsigned acct = 0; acct < 100000 && !found; acct++) {
            snprintf(iban + 12, 11, "%010u", acct);
            ref_iban_fill_check(iban, 22);
            if (ref_value(iban + 2, 2) != want[w].real)
                continue;
            found = 1;
            T_EQ_INT(detect_valid_iban(iban, 22), 1);
            memcpy(iban + 2, want[w].alias, 2);
            {
                char tmp[23];

                memcpy(tmp, iban + 4, 18);
                memcpy(tmp + 18, iban, 4);
                T_EQ_INT(ref_mod97(tmp, 22), 1); /* the alias does pass mod 97 */
            }
            T_EQ_INT(detect_valid_iban(iban, 22), 0);
        }
        T_ASSERT(found);
    }
}

/* The registry as given to us (89 countries); the validator's own table is a
 * separate copy, so a slip in either shows here. Each country gets a
 * generated IBAN of its length (valid), and of its length +-1 (invalid). */
static const struct {
    const char *cc;
    size_t len;
} registry[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
    {"BG", 22}, {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22},
    {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20},
    {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22},
    {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HN", 28}, {"HR", 21},
    {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30},
    {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20},
    {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20},
    {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23},
    {"PK", 24}, {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22},
    {"RU", 33}, {"SA", 24}, {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24},
    {"SM", 27}, {"SO", 23}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26},
    {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30},
};

static int is_rib_country(const char *cc)
{
    static const char *const rib[] = {"FR", "MC", "BL", "GF", "GP", "MF", "MQ",
                                      "NC", "PF", "PM", "RE", "TF", "WF", "YT"};

    for (size_t i = 0; i < sizeof(rib) / sizeof(rib[0]); i++)
        if (memcmp(cc, rib[i], 2) == 0)
            return 1;
    return 0;
}

/* A random IBAN of length n for cc; French-style BBANs get a RIB key. The
 * last character is always a digit, so tests can alter it. */
static void make_iban(char *iban, const char *cc, size_t n)
{
    memcpy(iban, cc, 2);
    if (is_rib_country(cc)) {
        unsigned key;

        for (size_t i = 4; i < 14; i++)
            iban[i] = rnd_digit();
        for (size_t i = 14; i < 25; i++)
            iban[i] = rnd_alnum();
        key = ref_rib_key(iban + 4);
        iban[25] = (char)('0' + key / 10);
        iban[26] = (char)('0' + key % 10);
    } else {
        for (size_t i = 4; i + 1 < n; i++)
            iban[i] = rnd_alnum();
        iban[n - 1] = rnd_digit();
    }
    iban[n] = '\0';
    ref_iban_fill_check(iban, n);
}

static void test_iban_registry(void)
{
    char iban[40];

    T_EQ_INT(sizeof(registry) / sizeof(registry[0]), 89);
    for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++) {
        const char *cc = registry[i].cc;
        size_t n = registry[i].len;

        make_iban(iban, cc, n);
        if (detect_valid_iban(iban, n) != 1)
            T_FAIL("%s length %zu: %s refused", cc, n, iban);
        if (is_rib_country(cc))
            continue; /* a RIB BBAN has one length; covered by the vectors */
        for (int d = -1; d <= 1; d += 2) {
            size_t m = (size_t)((long)n + d);

            make_iban(iban, cc, m);
            if (detect_valid_iban(iban, m) != 0)
                T_FAIL("%s length %zu: %s accepted", cc, m, iban);
        }
    }

    /* overseas codes that are not in the registry but carry a French BBAN */
    static const char *const overseas[] = {"BL", "GF", "GP", "MF", "MQ", "NC",
                                           "PF", "PM", "RE", "TF", "WF", "YT"};

    for (size_t i = 0; i < sizeof(overseas) / sizeof(overseas[0]); i++) {
        make_iban(iban, overseas[i], 27);
        if (detect_valid_iban(iban, 27) != 1)
            T_FAIL("%s refused", iban);
        make_iban(iban, overseas[i], 26);
        if (detect_valid_iban(iban, 26) != 0)
            T_FAIL("%s accepted", iban);
    }

    /* correct mod 97, but no such country in the registry */
    static const char *const unknown[] = {"US", "XX", "AA", "ZZ", "JP", "CA", "QQ"};

    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        for (size_t n = 15; n <= 34; n++) {
            make_iban(iban, unknown[i], n);
            if (detect_valid_iban(iban, n) != 0)
                T_FAIL("unknown country: %s accepted", iban);
        }
    }
}

static void test_iban_generated(void)
{
    char iban[40];

    gen_reported = 0;
    for (int round = 0; round < 2000; round++) {
        size_t i = rnd(sizeof(registry) / sizeof(registry[0]));
        size_t n = registry[i].len;
        char last;

        make_iban(iban, registry[i].cc, n);
        GEN_EXPECT(detect_valid_iban(iban, n) == 1, iban);
        last = iban[n - 1];
        for (char d = '0'; d <= '9'; d++) {
            if (d == last)
                continue;
            iban[n - 1] = d;
            GEN_EXPECT(detect_valid_iban(iban, n) == 0, iban);
        }
        iban[n - 1] = last;
        /* a single-digit change anywhere in a numeric run is caught by mod 97 */
        for (size_t k = 4; k < n; k++) {
            char c = iban[k];

            if (c < '0' || c > '9')
                continue;
            iban[k] = (char)('0' + (c - '0' + 1 + rnd(9)) % 10);
            GEN_EXPECT(detect_valid_iban(iban, n) == 0, iban);
            iban[k] = c;
        }
        /* lower-casing a letter of the BBAN makes it non-canonical */
        for (size_t k = 4; k < n; k++) {
            if (iban[k] >= 'A' && iban[k] <= 'Z') {
                iban[k] = (char)(iban[k] - 'A' + 'a');
                GEN_EXPECT(detect_valid_iban(iban, n) == 0, iban);
                break;
            }
        }
    }
}

static void test_rib(void)
{
    char rib[24];

    VALID("rib", "30006 00001 12345678901 89");
    VALID("rib", "20041 01005 0500013M026 06");
    VALID("rib", "30004 00550 0001234567A 61");
    INVALID("rib", "30006 00001 12345678901 88");
    INVALID("rib", "30006 00001 12345678901 8");
    INVALID("rib", "3000A 00001 12345678901 89"); /* letters only in the account */
    INVALID("rib", "30006 00001 12345678901 8A");
    RAW("rib", "300060000112345678901 89", 0);

    /* letters map A,J -> 1; B,K,S -> 2; ... so S and B are interchangeable,
     * and swapping A for J keeps the key */
    memcpy(rib, "300060000112345678ABS", 21);
    {
        unsigned key = ref_rib_key(rib);

        rib[21] = (char)('0' + key / 10);
        rib[22] = (char)('0' + key % 10);
        rib[23] = '\0';
        T_EQ_INT(run_raw("rib", rib), 1);
        rib[18] = 'J';
        rib[19] = 'K';
        rib[20] = 'B';
        T_EQ_INT(run_raw("rib", rib), 1);
        rib[20] = 'C'; /* C -> 3: a different key */
        T_EQ_INT(run_raw("rib", rib), 0);
    }
}

/* ---- NIR ---------------------------------------------------------------------------- */

static void test_nir(void)
{
    static const char *const valid[] = {
        "2 95 10 99 126 111 93", "1 85 05 78 006 084 91", "2 53 07 2A 073 004 43",
        "253072B07300470",       "180127512345642",       "259071353812205",
        "279102B53996307",       "177062A23848962",
    };
    static const char *const invalid[] = {
        "295109912611199",       /* key should be 93 */
        "253072C07300443",       /* department 2C */
        "1 85 05 78 006 084 36", /* published doc example; key is 91 */
        "2 84 05 88 321 025 30", /* CNAM README example; key is 32 */
        "185057800608437",       /* an order number */
    };

    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
        VALID("nir", valid[i]);
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        INVALID("nir", invalid[i]);

    /* Corsica: the key depends on the letter */
    RAW("nir", "253072A07300443", 1);
    RAW("nir", "253072B07300443", 0);
    RAW("nir", "253072B07300470", 1);
    RAW("nir", "253072A07300470", 0);
    RAW("nir", "253072a07300443", 0); /* canonical is upper case */
    VALID("nir", "253072a07300443");  /* ...which detect_canon provides */
    /* the key of 2A is the key of the same body with 19 in its place */
    RAW("nir", "253071907300443", 1);
    RAW("nir", "2530A2207300443", 0); /* a letter outside the department */
    RAW("nir", "25307AA07300443", 0);
    RAW("nir", "253072A0730044A", 0);
    RAW("nir", "A53072A07300443", 0);
    /* length */
    RAW("nir", "18505780060849", 0);
    RAW("nir", "1850578006084911", 0);
    RAW("nir", "1 85 05 78 006 084 91", 0);
    /* sex digit: 5, 6, 9, 0 do not exist; keys computed for these bodies */
    {
        char nir[16] = "185057800608491";
        static const char sex[] = "0569";

        for (size_t i = 0; i < 4; i++) {
            unsigned key;

            nir[0] = sex[i];
            key = 97 - (unsigned)(ref_value(nir, 13) % 97);
            nir[13] = (char)('0' + key / 10);
            nir[14] = (char)('0' + key % 10);
            T_EQ_INT(detect_valid_nir(nir, 15), 0);
        }
        for (const char *p = "123478"; *p != '\0'; p++) {
            unsigned key;

            nir[0] = *p;
            key = 97 - (unsigned)(ref_value(nir, 13) % 97);
            nir[13] = (char)('0' + key / 10);
            nir[14] = (char)('0' + key % 10);
            T_EQ_INT(detect_valid_nir(nir, 15), 1);
        }
    }
}

/* A body with N mod 97 == 0 has key 97; no body has key 00, 98 or 99. */
static void test_nir_key_edges(void)
{
    char nir[16];
    uint64_t n = 1000000000000ull; /* 1 000000 00000 0: sex digit 1 */

    while (n % 97 != 0)
        n++;
    snprintf(nir, sizeof(nir), "%013llu97", (unsigned long long)n);
    T_EQ_INT(detect_valid_nir(nir, 15), 1);
    memcpy(nir + 13, "00", 2);
    T_EQ_INT(detect_valid_nir(nir, 15), 0);
    n++; /* N mod 97 == 1: key 96 */
    snprintf(nir, sizeof(nir), "%013llu96", (unsigned long long)n);
    T_EQ_INT(detect_valid_nir(nir, 15), 1);
    memcpy(nir + 13, "98", 2);
    T_EQ_INT(detect_valid_nir(nir, 15), 0);
    memcpy(nir + 13, "99", 2);
    T_EQ_INT(detect_valid_nir(nir, 15), 0);
}

static void test_nir_generated(void)
{
    static const char sexes[] = "123478";
    char nir[16];

    gen_reported = 0;
    for (int round = 0; round < 5000; round++) {
        uint64_t body;
        unsigned key;
        unsigned dep = rnd(100);

        nir[0] = sexes[rnd(6)];
        for (int i = 1; i < 5; i++)
            nir[i] = rnd_digit();
        /* one in five in Corsica */
        if (round % 5 == 0) {
            nir[5] = '2';
            nir[6] = (round % 10 == 0) ? 'A' : 'B';
        } else {
            nir[5] = (char)('0' + dep / 10);
            nir[6] = (char)('0' + dep % 10);
        }
        for (int i = 7; i < 13; i++)
            nir[i] = rnd_digit();
        /* independent key: the 13-digit body as a 64-bit number, with the
         * Corsican department read as 19 (2A) or 18 (2B) */
        {
            char digits[13];

            memcpy(digits, nir, 13);
            if (nir[6] == 'A')
                memcpy(digits + 5, "19", 2);
            else if (nir[6] == 'B')
                memcpy(digits + 5, "18", 2);
            body = ref_value(digits, 13);
        }
        key = 97 - (unsigned)(body % 97);
        nir[13] = (char)('0' + key / 10);
        nir[14] = (char)('0' + key % 10);
        nir[15] = '\0';
        GEN_EXPECT(detect_valid_nir(nir, 15) == 1, nir);

        /* every other last digit fails, and so does any single-digit change
         * (97 is prime and larger than any digit difference) */
        for (char d = '0'; d <= '9'; d++) {
            char keep = nir[14];

            if (d == keep)
                continue;
            nir[14] = d;
            GEN_EXPECT(detect_valid_nir(nir, 15) == 0, nir);
            nir[14] = keep;
        }
        for (int i = 1; i < 13; i++) {
            char keep = nir[i];

            if (keep < '0' || keep > '9')
                continue;
            nir[i] = (char)('0' + (keep - '0' + 1 + rnd(9)) % 10);
            GEN_EXPECT(detect_valid_nir(nir, 15) == 0, nir);
            nir[i] = keep;
        }
        /* 2C, 2D... never */
        if (nir[5] == '2' && (nir[6] == 'A' || nir[6] == 'B')) {
            char keep = nir[6];

            nir[6] = (char)('C' + rnd(24));
            GEN_EXPECT(detect_valid_nir(nir, 15) == 0, nir);
            nir[6] = keep;
        }
    }
}

/* ---- SIREN, SIRET, TVA, EORI, NIF ------------------------------------------------------ */

static void test_siren_siret(void)
{
    VALID("siren", "404 833 048");
    VALID("siren", "732 829 320");
    VALID("siren", "552 081 317");
    VALID("siren", "552 100 554");
    INVALID("siren", "404 833 047");
    INVALID("siren", "123 456 789");
    INVALID("siren", "000 000 000"); /* Luhn-valid, never issued */
    RAW("siren", "40483304", 0);
    RAW("siren", "4048330480", 0);
    RAW("siren", "40483304A", 0);

    VALID("siret", "732 829 320 00074");
    VALID("siret", "356 000 000 00048"); /* La Poste head office: plain Luhn */
    VALID("siret", "35600000010000");    /* La Poste rule: digit sum 15 */
    INVALID("siret", "732 829 320 00079");
    INVALID("siret", "552 081 317 00019");
    VALID("siret", "552 081 317 00018");  /* the Luhn completion of the above */
    INVALID("siret", "356 000 000 49847"); /* Luhn OK, digit sum 46 */
    T_EQ_INT(detect_luhn("35600000049847", 14), 1);
    T_EQ_INT(detect_luhn("35600000010000", 14), 0);
    INVALID("siret", "00000000000000");
    RAW("siret", "7328293200007", 0);
    RAW("siret", "732829320000740", 0);
    /* a Luhn-valid SIRET whose SIREN is not: 40483304700000 + completion */
    {
        char s[15] = "4048330470000";

        s[13] = ref_luhn_digit(s, 13);
        s[14] = '\0';
        T_EQ_INT(detect_luhn(s, 14), 1);
        T_EQ_INT(detect_valid_siret(s, 14), 0);
    }
}

static void test_fr_vat(void)
{
    static const char *const valid[] = {
        "FR40303265045", "FR83404833048", "FR44732829320", "FR23334175221",
        "FR03552081317", "FR 40 303 265 045", "fr83404833048",
        "FRK7399859412", "FR4Z123456782", /* new-style keys (stdnum doctests) */
        "FR34000123456", /* Monaco: SIREN 000123456 is not Luhn-valid */
    };
    static const char *const invalid[] = {
        "FR41303265045", "FR84323140391", /* stdnum doctest */
        "FRK8399859412", "FRK6399859412", "FR4Y123456782", "FR5Z123456782",
        "FRIO334175221",                   /* I and O are not key letters */
        "FR0I334175221",
        "FR12000000000",                   /* all-zero SIREN */
        "DE83404833048", "FR8340483304",  "FR834048330480",
        "FR83404833047",                   /* SIREN not Luhn */
        "83404833048",
    };

    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
        VALID("fr_vat", valid[i]);
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        INVALID("fr_vat", invalid[i]);
    T_EQ_INT(detect_luhn("000123456", 9), 0);
    RAW("fr_vat", "fr83404833048", 0);
    RAW("fr_vat", "FRk7399859412", 0);

    /* exactly one numeric key per SIREN */
    {
        char v[14] = "FR00404833048";
        int n = 0;

        for (int k = 0; k < 100; k++) {
            v[2] = (char)('0' + k / 10);
            v[3] = (char)('0' + k % 10);
            n += detect_valid_fr_vat(v, 13);
        }
        T_EQ_INT(n, 1);
    }
}

static void test_siren_family_generated(void)
{
    char siren[10], siret[15], vat[14], eori[17];

    gen_reported = 0;
    for (int round = 0; round < 3000; round++) {
        unsigned key;

        siren[0] = (char)('1' + rnd(9));
        for (int i = 1; i < 8; i++)
            siren[i] = rnd_digit();
        siren[8] = ref_luhn_digit(siren, 8);
        siren[9] = '\0';
        GEN_EXPECT(detect_valid_siren(siren, 9) == 1, siren);
        GEN_EXPECT(detect_luhn(siren, 9) == 1, siren);
        /* Luhn catches every single-digit substitution */
        for (int i = 0; i < 9; i++) {
            char keep = siren[i];

            for (char d = '0'; d <= '9'; d++) {
                if (d == keep)
                    continue;
                siren[i] = d;
                GEN_EXPECT(detect_luhn(siren, 9) == 0, siren);
            }
            siren[i] = keep;
        }

        if (memcmp(siren, "356000000", 9) == 0)
            continue;
        memcpy(siret, siren, 9);
        for (int i = 9; i < 13; i++)
            siret[i] = rnd_digit();
        siret[13] = ref_luhn_digit(siret, 13);
        siret[14] = '\0';
        GEN_EXPECT(detect_valid_siret(siret, 14) == 1, siret);
        memcpy(eori, "FR", 2);
        memcpy(eori + 2, siret, 15);
        GEN_EXPECT(detect_valid_eori_fr(eori, 16) == 1, eori);
        for (char d = '0'; d <= '9'; d++) {
            char keep = siret[13];

            if (d == keep)
                continue;
            siret[13] = d;
            eori[15] = d;
            GEN_EXPECT(detect_valid_siret(siret, 14) == 0, siret);
            GEN_EXPECT(detect_valid_eori_fr(eori, 16) == 0, eori);
            siret[13] = keep;
            eori[15] = keep;
        }

        /* TVA key: SIREN * 100 + 12 mod 97, computed in 64 bits */
        key = (unsigned)((ref_value(siren, 9) * 100 + 12) % 97);
        snprintf(vat, sizeof(vat), "FR%02u%s", key, siren);
        GEN_EXPECT(detect_valid_fr_vat(vat, 13) == 1, vat);
        vat[3] = (char)('0' + (vat[3] - '0' + 1 + rnd(9)) % 10);
        GEN_EXPECT(detect_valid_fr_vat(vat, 13) == 0, vat);
    }

    /* La Poste establishments: digit sum a multiple of 5, Luhn irrelevant */
    for (int round = 0; round < 500; round++) {
        unsigned sum = 3 + 5 + 6;
        char keep;

        memcpy(siret, "356000000", 9);
        for (int i = 9; i < 13; i++) {
            siret[i] = rnd_digit();
            sum += (unsigned)(siret[i] - '0');
        }
        siret[13] = (char)('0' + (10 - sum % 5) % 5 + 5 * rnd(2));
        siret[14] = '\0';
        if (memcmp(siret, "35600000000048", 14) == 0)
            continue;
        GEN_EXPECT(detect_valid_siret(siret, 14) == 1, siret);
        keep = siret[13];
        for (char d = '0'; d <= '9'; d++) {
            if (d == keep || d == keep + 5 || d == keep - 5)
                continue;
            siret[13] = d;
            GEN_EXPECT(detect_valid_siret(siret, 14) == 0, siret);
        }
        siret[13] = keep;
    }
}

static void test_eori_nif(void)
{
    VALID("eori_fr", "FR73282932000074");
    VALID("eori_fr", "FR 732 829 320 00074");
    INVALID("eori_fr", "FR73282932000079");
    INVALID("eori_fr", "DE73282932000074");
    INVALID("eori_fr", "FR732829320000740");
    INVALID("eori_fr", "FR7328293200007");
    VALID("eori_fr", "FR35600000010000"); /* La Poste rule applies inside */
    RAW("eori_fr", "fr73282932000074", 0);

    VALID("fr_nif", "30 23 217 600 053");
    INVALID("fr_nif", "3023217600054");
    INVALID("fr_nif", "3017620422003"); /* an EAN-13 starting with 3 */
    INVALID("fr_nif", "302321760005");
    INVALID("fr_nif", "30232176000530");
    /* first digit 4-9: the same arithmetic holds, but no such SPI exists */
    {
        char v[14] = "4023217600000";
        unsigned r = (unsigned)(ref_value(v, 10) % 511);

        snprintf(v + 10, 4, "%03u", r);
        T_EQ_INT(detect_valid_fr_nif(v, 13), 0);
        v[0] = '0';
        r = (unsigned)(ref_value(v, 10) % 511);
        snprintf(v + 10, 4, "%03u", r);
        T_EQ_INT(detect_valid_fr_nif(v, 13), 1);
    }

    gen_reported = 0;
    for (int round = 0; round < 3000; round++) {
        char v[14];
        unsigned r;

        v[0] = (char)('0' + rnd(4));
        for (int i = 1; i < 10; i++)
            v[i] = rnd_digit();
        r = (unsigned)(ref_value(v, 10) % 511);
        snprintf(v + 10, 4, "%03u", r);
        GEN_EXPECT(detect_valid_fr_nif(v, 13) == 1, v);
        v[12] = (char)('0' + (v[12] - '0' + 1 + rnd(9)) % 10);
        GEN_EXPECT(detect_valid_fr_nif(v, 13) == 0, v);
    }
}

/* ---- MRN and containers ---------------------------------------------------------------- */

static void test_mrn(void)
{
    static const char *const valid[] = {
        "06DE586600006143E1", "10NL5663962BE1E825", "24FR00000000000124",
        "25FR123456789012J0", "25FR00000000001RA0", "24FRXDL2K0000413R6",
        "06de586600006143e1", /* via detect_canon */
    };
    static const char *const invalid[] = {
        "06DE586600006143E2",
        "22FIE43300041250U9", /* Finnish customs illustration: check is 0 */
        "06DE586600006143E",  "06DE586600006143E11",
        "0ADE586600006143E1", "06D1586600006143E1", /* structure */
        "06DE586600006143EA",                       /* a letter, not F */
    };

    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
        VALID("mrn", valid[i]);
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        INVALID("mrn", invalid[i]);
    VALID("mrn", "22FIE43300041250U0"); /* the corrected value */
    RAW("mrn", "06de586600006143e1", 0);

    /* NCTS fallback: a final F carries no checksum */
    VALID("mrn", "06DE586600006143EF");
    VALID("mrn", "22FIE43300041250UF");
    RAW("mrn", "06DE586600006143Ef", 0);
    RAW("mrn", "06DE58660000614 EF", 0);
    RAW("mrn", "0ADE586600006143EF", 0); /* structure still checked */

    /* the weighted sum 1 181 324 of pii.md §3.12 has remainder 1; a value
     * whose remainder is 10 must end in 0 */
    {
        char m[19] = "24FR0000000000000";
        int found = 0;

        for (unsigned k = 0; k < 1000 && !found; k++) {
            uint64_t sum = 0;

            snprintf(m + 13, 5, "%04u", k);
            for (int i = 0; i < 17; i++)
                sum += ref_6346_value(m[i]) << i;
            if (sum % 11 != 10)
                continue;
            found = 1;
            m[17] = '0';
            m[18] = '\0';
            T_EQ_INT(detect_valid_mrn(m, 18), 1);
        }
        T_ASSERT(found);
    }

    gen_reported = 0;
    for (int round = 0; round < 3000; round++) {
        char m[19];

        m[0] = rnd_digit();
        m[1] = rnd_digit();
        m[2] = rnd_letter();
        m[3] = rnd_letter();
        for (int i = 4; i < 17; i++)
            m[i] = rnd_alnum();
        m[17] = ref_6346_digit(m, 17);
        m[18] = '\0';
        GEN_EXPECT(detect_valid_mrn(m, 18) == 1, m);
        for (char d = '0'; d <= '9'; d++) {
            char keep = m[17];

            if (d == keep)
                continue;
            m[17] = d;
            GEN_EXPECT(detect_valid_mrn(m, 18) == 0, m);
            m[17] = keep;
        }
    }
}

static void test_iso6346(void)
{
    VALID("iso6346", "CSQU3054383");
    VALID("iso6346", "CSQU 305438 3");
    VALID("iso6346", "MSKU1234565");
    VALID("iso6346", "csqu3054383");
    INVALID("iso6346", "CSQU3054384");
    INVALID("iso6346", "CSQX3054383"); /* category must be U, J or Z */
    INVALID("iso6346", "CSQU305438");
    INVALID("iso6346", "CSQU30543833");
    INVALID("iso6346", "C5QU3054383");
    INVALID("iso6346", "CSQU30543A3");
    RAW("iso6346", "csqu3054383", 0);

    gen_reported = 0;
    for (int round = 0; round < 3000; round++) {
        char c[12];

        for (int i = 0; i < 3; i++)
            c[i] = rnd_letter();
        c[3] = "UJZ"[rnd(3)];
        for (int i = 4; i < 10; i++)
            c[i] = rnd_digit();
        c[10] = ref_6346_digit(c, 10);
        c[11] = '\0';
        GEN_EXPECT(detect_valid_iso6346(c, 11) == 1, c);
        for (char d = '0'; d <= '9'; d++) {
            char keep = c[10];

            if (d == keep)
                continue;
            c[10] = d;
            GEN_EXPECT(detect_valid_iso6346(c, 11) == 0, c);
            c[10] = keep;
        }
    }
}

/* ---- BIC ---------------------------------------------------------------------------------- */

static void test_bic(void)
{
    VALID("bic", "BNPAFRPPXXX");
    VALID("bic", "AGRIFRPP882");
    VALID("bic", "SOGEFRPP");
    VALID("bic", "ABNA BE 2A");
    VALID("bic", "ABCDXK22");        /* Kosovo is accepted */
    VALID("bic", "DEUTDEFF");
    INVALID("bic", "BNPAXXPP");      /* XX is not a country */
    INVALID("bic", "BNPAUKPP");      /* UK is not ISO 3166 (GB is) */
    INVALID("bic", "AGRIF2PP");      /* digits in the country */
    INVALID("bic", "AGRIFRPP8");     /* 9 characters */
    INVALID("bic", "AGRIFRPP88");
    INVALID("bic", "AGRIFR0P");      /* location starting with 0 */
    INVALID("bic", "AGRIFR1P");      /* ... or 1 */
    INVALID("bic", "AGRIFRPO");      /* second location character O */
    INVALID("bic", "AGR1FRPP");      /* bank code letters only */
    RAW("bic", "agrifrpp", 0);
    /* structure alone cannot tell a BIC from a word: context must */
    VALID("bic", "DECLARATION");
    VALID("bic", "BUSINESS");
}

int main(void)
{
    T_RUN(test_canon);
    T_RUN(test_table);
    T_RUN(test_any_length);
    T_RUN(test_luhn);
    T_RUN(test_card);
    T_RUN(test_card_ranges);
    T_RUN(test_iban_vectors);
    T_RUN(test_iban_check_aliases);
    T_RUN(test_iban_registry);
    T_RUN(test_iban_generated);
    T_RUN(test_rib);
    T_RUN(test_nir);
    T_RUN(test_nir_key_edges);
    T_RUN(test_nir_generated);
    T_RUN(test_siren_siret);
    T_RUN(test_fr_vat);
    T_RUN(test_siren_family_generated);
    T_RUN(test_eori_nif);
    T_RUN(test_mrn);
    T_RUN(test_iso6346);
    T_RUN(test_bic);
    return T_DONE();
}
