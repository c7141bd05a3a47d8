/*
 * Validators: check digits, length registries and issuer tables that tell an
 * identifier from a number of the same shape.
 *
 * Every validator takes the canonical form (detect_canon: only [0-9A-Z]) and
 * is a pure function of it: no allocation, no I/O, no global state, bounded by
 * the length it is given, and safe on any length including 0 and on NULL.
 * Lower-case letters are *rejected*: upper-casing is detect_canon's job, and a
 * validator that quietly folded case would hide a caller that skipped it.
 *
 * Sources for each algorithm are in /work/shared/research/pii.md (§3.4-§3.13);
 * python-stdnum is the reference implementation the vectors were checked with.
 */
#include <stdint.h>
#include <string.h>

#include "detect/validate.h"

/* ---- character classes (ASCII only, whatever the locale) ---------------- */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static int is_canon(char c)
{
    return is_digit(c) || is_upper(c);
}

/* c is one of the characters of set (never true for NUL, unlike strchr). */
static int one_of(char c, const char *set)
{
    return c != '\0' && strchr(set, c) != NULL;
}

static int all_digits(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_digit(s[i]))
            return 0;
    return 1;
}

static int all_upper(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_upper(s[i]))
            return 0;
    return 1;
}

static int all_canon(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_canon(s[i]))
            return 0;
    return 1;
}

/* Value of a run of digits the caller has checked; len <= 19 fits in 64 bits. */
static uint64_t digits_value(const char *s, size_t len)
{
    uint64_t v = 0;

    for (size_t i = 0; i < len; i++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    return v;
}

/* ---- Luhn ---------------------------------------------------------------- */

/* Luhn (ISO/IEC 7812-1 annex B) over digits[0..len): from the right, every
 * second digit doubled and its digits summed; valid when the total is a
 * multiple of 10. Returns 0 for len < 2 (a lone digit has no check digit) and
 * for any non-digit. */
int detect_luhn(const char *digits, size_t len)
{
    /* doubled[d] = digit sum of 2*d */
    static const unsigned doubled[10] = {0, 2, 4, 6, 8, 1, 3, 5, 7, 9};
    unsigned sum = 0;

    if (digits == NULL || len < 2)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = digits[len - 1 - i];

        if (!is_digit(c))
            return 0;
        sum += (i & 1) ? doubled[c - '0'] : (unsigned)(c - '0');
    }
    return sum % 10 == 0;
}

/* ---- payment cards ------------------------------------------------------- */

/* An issuer range: the first `digits` digits of the PAN, read as a number,
 * within [lo, hi], and the PAN length one of the bits set in `lengths`. */
struct iin_range {
    uint32_t lo, hi;
    uint8_t digits;
    uint32_t lengths; /* bit n set: n digits allowed */
};

#define LEN1(a) (1u << (a))
#define LENS(a, b) ((1u << ((b) + 1)) - (1u << (a))) /* a..b inclusive */

/* pii.md §3.7. Ranges overlap (Maestro 56-69 covers Discover and UnionPay);
 * that is harmless since any match is enough. The table refuses about 60 % of
 * Luhn-valid 16-digit numbers (9999 9999 9999 9995, 1234...), which is most
 * of what Luhn alone lets through from order and tracking numbers. */
static const struct iin_range iin_table[] = {
    {4, 4, 1, LEN1(13) | LEN1(16) | LEN1(19)},    /* Visa */
    {51, 55, 2, LEN1(16)},                        /* Mastercard */
    {2221, 2720, 4, LEN1(16)},                    /* Mastercard 2-series */
    {34, 34, 2, LEN1(15)},                        /* Amex */
    {37, 37, 2, LEN1(15)},                        /* Amex */
    {300, 305, 3, LENS(14, 19)},                  /* Diners Club */
    {36, 36, 2, LENS(14, 19)},                    /* Diners Club */
    {38, 39, 2, LENS(14, 19)},                    /* Diners Club */
    {6011, 6011, 4, LENS(16, 19)},                /* Discover */
    {644, 649, 3, LENS(16, 19)},                  /* Discover */
    {65, 65, 2, LENS(16, 19)},                    /* Discover */
    {622126, 622925, 6, LENS(16, 19)},            /* Discover (co-branded UnionPay) */
    {3528, 3589, 4, LENS(16, 19)},                /* JCB */
    {62, 62, 2, LENS(16, 19)},                    /* UnionPay */
    {2200, 2204, 4, LENS(16, 19)},                /* Mir */
    {50, 50, 2, LENS(12, 19)},                    /* Maestro */
    {56, 69, 2, LENS(12, 19)},                    /* Maestro */
};

/* A payment card number: 12-19 digits, Luhn, and a length allowed for a known
 * issuer range. */
int detect_valid_card(const char *s, size_t len)
{
    if (s == NULL || len < 12 || len > 19 || !all_digits(s, len))
        return 0;
    if (!detect_luhn(s, len))
        return 0;
    for (size_t i = 0; i < sizeof(iin_table) / sizeof(iin_table[0]); i++) {
        const struct iin_range *r = &iin_table[i];
        uint64_t prefix = digits_value(s, r->digits);

        if (prefix >= r->lo && prefix <= r->hi && (r->lengths & LEN1(len)) != 0)
            return 1;
    }
    return 0;
}

/* ---- IBAN and the French RIB key --------------------------------------- */

/* The SWIFT IBAN registry (89 countries, as of release 102): total IBAN
 * length per country, sorted by code. Cross-checked against a public table of
 * release 102 and, for the countries it has, python-stdnum's older iban.dat.
 * Lengths only: per-country BBAN layouts would add little behind mod 97. */
static const struct {
    char cc[3];
    uint8_t len;
} iban_registry[] = {
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

/* Countries whose BBAN is the French RIB (bank 5n, branch 5n, account 11c,
 * key 2n), so the RIB key can be checked too. FR and MC are in the registry.
 * The overseas codes are not: the registry files their accounts under "FR"
 * and real IBANs there start with FR. Some software still prints them with
 * their own code (length 27), and with two independent checksums behind it
 * accepting that costs almost nothing in false positives, so we accept it. */
static const char rib_countries[][3] = {
    "FR", "MC", "BL", "GF", "GP", "MF", "MQ", "NC", "PF", "PM", "RE", "TF", "WF", "YT",
};

static int uses_rib(const char *cc)
{
    for (size_t i = 0; i < sizeof(rib_countries) / sizeof(rib_countries[0]); i++)
        if (rib_countries[i][0] == cc[0] && rib_countries[i][1] == cc[1])
            return 1;
    return 0;
}

static size_t iban_length_for(const char *cc)
{
    for (size_t i = 0; i < sizeof(iban_registry) / sizeof(iban_registry[0]); i++)
        if (iban_registry[i].cc[0] == cc[0] && iban_registry[i].cc[1] == cc[1])
            return iban_registry[i].len;
    /* Only the overseas codes get here: FR and MC matched above. */
    return uses_rib(cc) ? 27 : 0;
}

/* The RIB letter substitution (pii.md §3.5): A-I -> 1-9, J-R -> 1-9,
 * S-Z -> 2-9. The gap at S is not a slip: the values are the digit halves of
 * the letters' punched-card (EBCDIC) codes, where S is 0xE2, and that is what
 * banks compute. */
static unsigned rib_char(char c)
{
    if (is_digit(c))
        return (unsigned)(c - '0');
    if (c <= 'I')
        return (unsigned)(c - 'A') + 1;
    if (c <= 'R')
        return (unsigned)(c - 'J') + 1;
    return (unsigned)(c - 'S') + 2;
}

/* French RIB: b[0..23) = bank 5n, branch 5n, account 11c, key 2n, with
 * key = 97 - ((89 bank + 15 branch + 3 account') mod 97). */
static int rib_ok(const char *b)
{
    uint64_t bank, branch, account = 0, key;
    unsigned expect;

    if (!all_digits(b, 10) || !all_canon(b + 10, 11) || !all_digits(b + 21, 2))
        return 0;
    bank = digits_value(b, 5);
    branch = digits_value(b + 5, 5);
    for (size_t i = 10; i < 21; i++)
        account = account * 10 + rib_char(b[i]);
    key = digits_value(b + 21, 2);
    expect = 97 - (unsigned)((89 * bank + 15 * branch + 3 * account) % 97);
    return key == expect;
}

/* mod 97 of the ISO 7064 expansion of s (digits as themselves, letters as two
 * digits A=10 ... Z=35), folded one character at a time so the remainder never
 * exceeds 96 * 100 + 35. */
static unsigned iban_mod_step(unsigned r, char c)
{
    if (is_digit(c))
        return (r * 10 + (unsigned)(c - '0')) % 97;
    return (r * 100 + (unsigned)(c - 'A') + 10) % 97;
}

/* ISO 13616 IBAN: country (2 letters) + check digits (2) + BBAN, total length
 * that of the SWIFT registry for the country, check digits 02-98, and the
 * rearranged number (BBAN, then the first four) mod 97 == 1. 00, 01 and 99
 * can satisfy the modulus (they are 97, 98 and 2 in disguise) but are never
 * issued, so they are refused. For RIB countries the RIB key must hold too. */
int detect_valid_iban(const char *s, size_t len)
{
    unsigned r = 0, check;

    if (s == NULL || len < 5 || !all_upper(s, 2) || !all_digits(s + 2, 2) || !all_canon(s, len))
        return 0;
    if (iban_length_for(s) != len)
        return 0;
    check = (unsigned)digits_value(s + 2, 2);
    if (check < 2 || check > 98)
        return 0;
    for (size_t i = 4; i < len; i++)
        r = iban_mod_step(r, s[i]);
    for (size_t i = 0; i < 4; i++)
        r = iban_mod_step(r, s[i]);
    if (r != 1)
        return 0;
    if (uses_rib(s) && !rib_ok(s + 4))
        return 0;
    return 1;
}

/* A French RIB written on its own (23 characters: 5n 5n 11c 2n). */
static int valid_rib(const char *s, size_t len)
{
    return s != NULL && len == 23 && rib_ok(s);
}

/* ---- NIR ------------------------------------------------------------------ */

/* French NIR (INSEE number): sex (1, 2; 3, 4, 7, 8 for NIA and provisional
 * numbers), YY, MM, department (2 digits or 2A/2B), commune 3, order 3, key 2.
 * key = 97 - (N mod 97) with N the 13-character body where 2A reads 19 and 2B
 * reads 18 (stdnum's convention, equal to INSEE's "subtract 1 000 000 /
 * 2 000 000"). Month and department values are not checked: INSEE uses
 * fictitious months for unknown dates and the key is the real filter. */
int detect_valid_nir(const char *s, size_t len)
{
    unsigned r = 0;

    if (s == NULL || len != 15)
        return 0;
    /* pii.md §10: only these sex digits exist; refusing the others removes
     * 40 % of 15-digit order numbers before the 1 % key test. */
    if (!one_of(s[0], "123478"))
        return 0;
    if (!all_digits(s, 5) || !all_digits(s + 7, 8))
        return 0;
    for (size_t i = 0; i < 13; i++) {
        char c = s[i];

        if (i == 5 && s[5] == '2' && (s[6] == 'A' || s[6] == 'B')) {
            /* 2A -> 19, 2B -> 18: consume both characters here */
            r = (r * 100 + (s[6] == 'A' ? 19u : 18u)) % 97;
            i++;
            continue;
        }
        if (!is_digit(c))
            return 0;
        r = (r * 10 + (unsigned)(c - '0')) % 97;
    }
    return digits_value(s + 13, 2) == 97 - r;
}

/* ---- SIREN, SIRET, TVA, EORI ------------------------------------------------ */

/* SIREN: 9 digits, Luhn, and not 000000000 (which is Luhn-valid but never
 * issued, and is what a zero-filled form field looks like). */
int detect_valid_siren(const char *s, size_t len)
{
    if (s == NULL || len != 9 || !all_digits(s, 9))
        return 0;
    if (memcmp(s, "000000000", 9) == 0)
        return 0;
    return detect_luhn(s, 9);
}

/* SIRET: 14 digits, a valid SIREN in front, Luhn over all 14. La Poste's
 * establishments (SIREN 356000000) were numbered before the rule and instead
 * have a digit sum that is a multiple of 5; its head office 35600000000048
 * follows Luhn (stdnum fr/siret.py). */
int detect_valid_siret(const char *s, size_t len)
{
    if (s == NULL || len != 14 || !all_digits(s, 14))
        return 0;
    if (!detect_valid_siren(s, 9))
        return 0;
    if (memcmp(s, "356000000", 9) == 0 && memcmp(s, "35600000000048", 14) != 0) {
        unsigned sum = 0;

        for (size_t i = 0; i < 14; i++)
            sum += (unsigned)(s[i] - '0');
        return sum % 5 == 0;
    }
    return detect_luhn(s, 14);
}

/* The TVA key alphabet: digits, then letters without I and O. Returns the
 * index, or -1 for a character outside it. */
static int tva_alpha_index(char c)
{
    static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";

    return one_of(c, alphabet) ? (int)(strchr(alphabet, c) - alphabet) : -1;
}

/* French VAT number: FR + key (2) + SIREN (9). The SIREN must be valid except
 * for Monaco, whose numbers start with 000 and are not SIRENs.
 * Numeric key: (12 + 3 (SIREN mod 97)) mod 97 (stdnum's int(SIREN + "12") mod
 * 97, since 100 = 3 mod 97). Keys with a letter are the "new style" of
 * stdnum fr/tva.py, implemented exactly as there: with c0, c1 the indexes of
 * the two key characters in the alphabet above,
 *   check = c0 * 24 + c1 - 10   when the first is a digit,
 *   check = c0 * 34 + c1 - 100  when it is a letter,
 * and valid when (SIREN + 1 + check / 11) mod 11 == check mod 11. */
int detect_valid_fr_vat(const char *s, size_t len)
{
    const char *siren;
    int c0, c1;
    unsigned check;
    uint64_t n;

    if (s == NULL || len != 13 || s[0] != 'F' || s[1] != 'R')
        return 0;
    siren = s + 4;
    if (!all_digits(siren, 9) || memcmp(siren, "000000000", 9) == 0)
        return 0;
    if (memcmp(siren, "000", 3) != 0 && !detect_valid_siren(siren, 9))
        return 0;
    c0 = tva_alpha_index(s[2]);
    c1 = tva_alpha_index(s[3]);
    if (c0 < 0 || c1 < 0)
        return 0;
    n = digits_value(siren, 9);
    if (c0 < 10 && c1 < 10)
        return (unsigned)(c0 * 10 + c1) == (unsigned)((12 + 3 * (n % 97)) % 97);
    /* c0 >= 10 (a letter) makes the second form at least 240, so both are
     * non-negative. */
    check = c0 < 10 ? (unsigned)(c0 * 24 + c1 - 10) : (unsigned)(c0 * 34 + c1 - 100);
    return (n + 1 + check / 11) % 11 == check % 11;
}

/* French EORI: FR + SIRET (14 digits). Other FR forms exist (pii.md §10) but
 * have no check digit, so they are left to context rules. */
int detect_valid_eori_fr(const char *s, size_t len)
{
    if (s == NULL || len != 16 || s[0] != 'F' || s[1] != 'R')
        return 0;
    return detect_valid_siret(s + 2, 14);
}

/* French tax number (SPI): 13 digits, first 0-3, and the first ten mod 511
 * equal to the last three (stdnum fr/nif.py). All zeros satisfies that but is
 * a blank form field, not a number. */
int detect_valid_fr_nif(const char *s, size_t len)
{
    if (s == NULL || len != 13 || !all_digits(s, 13) || s[0] > '3')
        return 0;
    if (memcmp(s, "0000000000000", 13) == 0)
        return 0;
    return digits_value(s, 10) % 511 == digits_value(s + 10, 3);
}

/* ---- ISO 6346 and MRN ------------------------------------------------------ */

/* ISO 6346 letter values: A=10 counting up, skipping multiples of 11. The MRN
 * check (DG XXI/0879/99) uses the same values. */
static unsigned iso6346_value(char c)
{
    static const unsigned char letters[26] = {
        10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 23, 24,
        25, 26, 27, 28, 29, 30, 31, 32, 34, 35, 36, 37, 38,
    };

    return is_digit(c) ? (unsigned)(c - '0') : letters[c - 'A'];
}

/* Sum of value(s[i]) * 2^i over s[0..n) mod 11; the caller has checked s is
 * canonical. n <= 17 keeps the sum below 38 * 2^17. */
static unsigned iso6346_sum_mod11(const char *s, size_t n)
{
    uint32_t sum = 0;

    for (size_t i = 0; i < n; i++)
        sum += iso6346_value(s[i]) << i;
    return sum % 11;
}

/* Container number: owner code (3 letters), equipment category (U freight,
 * J detachable equipment, Z trailer or chassis), serial (6 digits), check
 * digit = (weighted sum mod 11) mod 10. */
int detect_valid_iso6346(const char *s, size_t len)
{
    if (s == NULL || len != 11 || !all_upper(s, 3) || !one_of(s[3], "UJZ") ||
        !all_digits(s + 4, 7))
        return 0;
    return (unsigned)(s[10] - '0') == iso6346_sum_mod11(s, 10) % 10;
}

/* MRN (UCC Annex B): YY (2 digits), country (2 letters), 13 alphanumerics
 * (identifier and procedure letter; pre-UCC MRNs had 13 there too), check
 * character: the ISO 6346 sum over the first 17 mod 11, with 10 written 0.
 * An NCTS fallback MRN ends in F instead and carries no checksum
 * (MRNTypeWithFallback in the NCTS-P5 XSD, pii.md §3.12), so it is accepted
 * on its structure alone. The country is not checked against ISO 3166:
 * customs uses codes outside it (XI for Northern Ireland). */
int detect_valid_mrn(const char *s, size_t len)
{
    if (s == NULL || len != 18 || !all_digits(s, 2) || !all_upper(s + 2, 2) ||
        !all_canon(s + 4, 14))
        return 0;
    if (s[17] == 'F')
        return 1;
    if (!is_digit(s[17]))
        return 0;
    return (unsigned)(s[17] - '0') == iso6346_sum_mod11(s, 17) % 10;
}

/* ---- BIC -------------------------------------------------------------------- */

/* ISO 3166-1 alpha-2 (all 249 assigned codes) plus XK (Kosovo), as stdnum's
 * list. Concatenated pairs, sorted. */
static const char iso3166[] =
    "ADAEAFAGAIALAMAOAQARASATAUAWAXAZ"
    "BABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBTBVBWBYBZ"
    "CACCCDCFCGCHCICKCLCMCNCOCRCUCVCWCXCYCZ"
    "DEDJDKDMDODZ"
    "ECEEEGEHERESET"
    "FIFJFKFMFOFR"
    "GAGBGDGEGFGGGHGIGLGMGNGPGQGRGSGTGUGWGY"
    "HKHMHNHRHTHU"
    "IDIEILIMINIOIQIRISIT"
    "JEJMJOJP"
    "KEKGKHKIKMKNKPKRKWKYKZ"
    "LALBLCLILKLRLSLTLULVLY"
    "MAMCMDMEMFMGMHMKMLMMMNMOMPMQMRMSMTMUMVMWMXMYMZ"
    "NANCNENFNGNINLNONPNRNUNZ"
    "OM"
    "PAPEPFPGPHPKPLPMPNPRPSPTPWPY"
    "QA"
    "RERORSRURW"
    "SASBSCSDSESGSHSISJSKSLSMSNSOSRSSSTSVSXSYSZ"
    "TCTDTFTGTHTJTKTLTMTNTOTRTTTVTWTZ"
    "UAUGUMUSUYUZ"
    "VAVCVEVGVIVNVU"
    "WFWS"
    "XK"
    "YEYT"
    "ZAZMZW";

static int is_country(const char *cc)
{
    for (size_t i = 0; i + 1 < sizeof(iso3166) - 1; i += 2)
        if (iso3166[i] == cc[0] && iso3166[i + 1] == cc[1])
            return 1;
    return 0;
}

/* BIC (ISO 9362): bank (4 letters), country (ISO 3166 or XK), location (2
 * alphanumerics, the first not 0 or 1, the second not the letter O: the usual
 * implementation, pii.md §3.6), optional branch (3 alphanumerics). Dictionary
 * words pass this (BUSINESS, DOUANIER): a BIC rule needs context. */
static int valid_bic(const char *s, size_t len)
{
    if (s == NULL || (len != 8 && len != 11))
        return 0;
    if (!all_upper(s, 6) || !all_canon(s + 6, len - 6) || !is_country(s + 4))
        return 0;
    if (s[6] == '0' || s[6] == '1' || s[7] == 'O')
        return 0;
    return 1;
}

/* ---- canonical form and the table -------------------------------------------- */

/* Keeps the ASCII letters and digits of in[0..len), letters upper-cased; every
 * other byte (separators, NBSP and any UTF-8 sequence) is dropped. Writes at
 * most outsz bytes to out and returns the length, or (size_t)-1 when the
 * canonical form does not fit (out then holds a truncated prefix, which the
 * caller must not use). */
size_t detect_canon(const char *in, size_t len, char *out, size_t outsz)
{
    size_t n = 0;

    if (in == NULL)
        return len == 0 ? 0 : (size_t)-1;
    if (out == NULL)
        outsz = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];

        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        else if (!is_canon(c))
            continue;
        if (n >= outsz)
            return (size_t)-1;
        out[n++] = c;
    }
    return n;
}

static const struct detect_validator validators[] = {
    {"luhn", "Luhn check digit over 2 or more digits", detect_luhn, 0},
    {"card", "payment card: 12-19 digits, Luhn, known issuer range and length",
     detect_valid_card, 0},
    {"iban", "IBAN: SWIFT registry length, mod 97, and the RIB key for FR/MC",
     detect_valid_iban, 0},
    {"rib", "French RIB: bank 5, branch 5, account 11, RIB key 2", valid_rib, 0},
    {"bic", "BIC/SWIFT: 8 or 11 characters, ISO 3166 country (structure only)", valid_bic, 0},
    {"nir", "French NIR (social security number): 15 characters, key mod 97, 2A/2B",
     detect_valid_nir, 0},
    {"siren", "French SIREN: 9 digits, Luhn", detect_valid_siren, 0},
    {"siret", "French SIRET: 14 digits, Luhn on SIREN and SIRET (La Poste: sum mod 5)",
     detect_valid_siret, 0},
    {"fr_vat", "French VAT number: FR, key (numeric or new-style), SIREN",
     detect_valid_fr_vat, 0},
    {"fr_nif", "French tax number (SPI): 13 digits, first ten mod 511", detect_valid_fr_nif, 0},
    {"eori_fr", "French EORI: FR followed by a valid SIRET", detect_valid_eori_fr, 0},
    {"mrn", "customs MRN: 18 characters, ISO 6346 check (or NCTS fallback F)",
     detect_valid_mrn, 0},
    {"iso6346", "container number (ISO 6346): owner, U/J/Z, serial, check digit",
     detect_valid_iso6346, 0},
    {"e164", "international phone number: known country code, 8 to 15 digits in all",
     detect_valid_e164, 0},
    {"siv_plate", "French SIV plate AA-123-AA: no I, O, U; not SS; not 000",
     detect_valid_siv_plate, 0},
    {"ipv4", "IPv4 address: four decimal bytes, no leading zeros", detect_valid_ipv4, 1},
    {"ipv6", "IPv6 address, as inet_pton reads it", detect_valid_ipv6, 1},
    {"gps", "latitude, longitude: in range, at least 4 decimals (or degrees-minutes-seconds)",
     detect_valid_gps, 1},
    {"date", "a real calendar date (numeric, ISO, French or English words), year 1900-2099",
     detect_valid_date, 1},
    {"mrz", "machine-readable zone line of an ID document: ICAO 9303 check digits",
     detect_valid_mrz, 1},
    {"entropy", "a random-looking token: Shannon entropy of at least 3 bits per character",
     detect_valid_entropy, 1},
    {NULL, NULL, NULL, 0},
};

/* Exact, case-sensitive name lookup: pack names are written in lower case,
 * and a near miss is reported by the caller with the list from
 * detect_validator_all(). */
const struct detect_validator *detect_validator_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (const struct detect_validator *v = validators; v->name != NULL; v++)
        if (strcmp(v->name, name) == 0)
            return v;
    return NULL;
}

/* The whole table, terminated by an entry whose name is NULL. */
const struct detect_validator *detect_validator_all(void)
{
    return validators;
}
