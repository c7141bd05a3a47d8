/*
 * Scanning: evasions found at their original span, overlaps, context,
 * allow-lists, fail-closed engine errors, prefilter equivalence.
 */
#include "helpers.h"

static struct detect_set *rules;
static struct detect_scanner *sc;

/* Scans text and returns the number of findings; *f gets them. */
static size_t scan(const char *text, const struct detect_finding **f)
{
    size_t n = 0;
    int rc = detect_scan(sc, text, strlen(text), NULL, 0);

    if (rc != VIGIE_OK) {
        T_FAIL("scan failed: %s", vigie_strerror(rc));
        *f = NULL;
        return 0;
    }
    *f = detect_scanner_findings(sc, &n);
    return n;
}

static int has(const char *text, const char *rule, const char *value)
{
    const struct detect_finding *f;
    size_t n = scan(text, &f), i, vs = (size_t)(strstr(text, value) - text);

    for (i = 0; i < n; i++)
        if (strcmp(detect_rule_id(f[i].rule), rule) == 0 && f[i].start == vs &&
            f[i].end == vs + strlen(value))
            return 1;
    return 0;
}

static void test_zero_width_space_email(void)
{
    /* U+200B inside the domain: found, and the original span (with the ZWSP)
     * is what is reported. */
    const char *t = "Contact : jean.dupont@exam\xE2\x80\x8Bple.fr merci";

    T_ASSERT(has(t, "contact.email", "jean.dupont@exam\xE2\x80\x8Bple.fr"));
}

static void test_fullwidth_phone(void)
{
    const char *t = "Appelez le \xEF\xBC\x90\xEF\xBC\x96 \xEF\xBC\x91\xEF\xBC\x92 "
                    "\xEF\xBC\x93\xEF\xBC\x94 \xEF\xBC\x95\xEF\xBC\x96 \xEF\xBC\x97\xEF\xBC\x98 "
                    "demain";
    const char *start = strstr(t, "\xEF\xBC\x90");
    const char *end = strstr(t, " demain");
    const struct detect_finding *f;
    size_t n = scan(t, &f);

    T_EQ_INT(n, 1);
    if (n == 1) {
        T_EQ_STR(detect_rule_id(f[0].rule), "contact.phone.fr");
        T_EQ_INT(f[0].start, start - t);
        T_EQ_INT(f[0].end, end - t);
    }
}

static void test_nbsp_and_narrow_nbsp(void)
{
    T_ASSERT(has("Tel. 06\xC2\xA0"
                 "39\xC2\xA0"
                 "98\xC2\xA0"
                 "00\xC2\xA0"
                 "01.",
                 "contact.phone.fr",
                 "06\xC2\xA0"
                 "39\xC2\xA0"
                 "98\xC2\xA0"
                 "00\xC2\xA0"
                 "01"));
    T_ASSERT(has("NIR 1\xE2\x80\xAF"
                 "85\xE2\x80\xAF"
                 "05\xE2\x80\xAF"
                 "78\xE2\x80\xAF"
                 "006\xE2\x80\xAF"
                 "084\xE2\x80\xAF"
                 "91",
                 "identity.nir",
                 "1\xE2\x80\xAF"
                 "85\xE2\x80\xAF"
                 "05\xE2\x80\xAF"
                 "78\xE2\x80\xAF"
                 "006\xE2\x80\xAF"
                 "084\xE2\x80\xAF"
                 "91"));
}

static void test_arabic_indic_digits_card(void)
{
    /* 4111 1111 1111 1111 in Arabic-Indic digits (U+0661 = D9 A1, U+0664 = D9 A4). */
    const char *t = "carte \xD9\xA4\xD9\xA1\xD9\xA1\xD9\xA1 \xD9\xA1\xD9\xA1\xD9\xA1\xD9\xA1 "
                    "\xD9\xA1\xD9\xA1\xD9\xA1\xD9\xA1 \xD9\xA1\xD9\xA1\xD9\xA1\xD9\xA1";
    const struct detect_finding *f;
    size_t n = scan(t, &f);

    T_EQ_INT(n, 1);
    if (n == 1) {
        T_EQ_STR(detect_rule_id(f[0].rule), "finance.card");
        T_EQ_INT(f[0].start, 6);
        T_EQ_INT(f[0].end, strlen(t));
    }
}

static void test_soft_hyphen_in_iban(void)
{
    /* A soft hyphen (U+00AD) between groups, and a Cyrillic 'Е' for 'E'. */
    const char *t = "IBAN FR76 3000\xC2\xAD 6000 0112 3456 7890 189";

    T_ASSERT(has(t, "finance.iban", "FR76 3000\xC2\xAD 6000 0112 3456 7890 189"));
    T_ASSERT(has("GB82 W\xD0\x95ST 1234 5698 7654 32", "finance.iban",
                 "GB82 W\xD0\x95ST 1234 5698 7654 32"));
}

static void test_checksums_filter(void)
{
    const struct detect_finding *f;

    T_EQ_INT(scan("IBAN FR76 3000 6000 0112 3456 7890 198", &f), 0);
    T_EQ_INT(scan("carte 4111 1111 1111 1112", &f), 0);
    T_EQ_INT(scan("NIR 1 85 05 78 006 084 36", &f), 0);
    T_EQ_INT(scan("TARIC 8471 30 00 00, article 414 du code des douanes, 1 234,56 EUR", &f), 0);
}

static void test_iban_trimmed(void)
{
    T_ASSERT(has("Virement FR76 3000 6000 0112 3456 7890 189 SARL Dupont", "finance.iban",
                 "FR76 3000 6000 0112 3456 7890 189"));
}

static void test_several_findings_sorted(void)
{
    const char *t = "M. Dupont, jean.dupont@example.fr, 06 39 98 00 01, IBAN "
                    "FR76 3000 6000 0112 3456 7890 189, NIR 2 53 07 2A 073 004 43.";
    const struct detect_finding *f;
    size_t n = scan(t, &f), i;

    T_EQ_INT(n, 5);
    for (i = 1; i < n; i++)
        T_ASSERT(f[i - 1].end <= f[i].start);
    if (n == 5) {
        /* The title is context, the name alone is the finding. */
        T_EQ_STR(detect_rule_category(f[0].rule), "identity.person_name");
        T_EQ_INT(f[0].start, 3);
        T_EQ_INT(f[0].end, 9);
        T_EQ_STR(detect_rule_id(f[1].rule), "contact.email");
        T_EQ_STR(detect_rule_id(f[2].rule), "contact.phone.fr");
        T_EQ_STR(detect_rule_id(f[3].rule), "finance.iban");
        T_EQ_STR(detect_rule_id(f[4].rule), "identity.nir");
    }
}

static void test_overlap_priority_then_length(void)
{
    struct detect_set *s = pack_ok(
        "pack: t\ndetectors:\n"
        "  - id: t.long\n    category: t.long\n    description: d\n"
        "    pattern: 'AB\\d{6}'\n    priority: 10\n"
        "    examples: {match: [AB123456], no_match: [AB1]}\n"
        "  - id: t.short\n    category: t.short\n    description: d\n"
        "    pattern: '\\d{4}'\n    priority: 20\n"
        "    examples: {match: ['1234'], no_match: ['12']}\n"
        "  - id: t.longer\n    category: t.longer\n    description: d\n"
        "    pattern: 'AB\\d{6}CD'\n    priority: 10\n"
        "    examples: {match: [AB123456CD], no_match: [AB1]}\n");
    struct detect_scanner *s2;
    const struct detect_finding *f;
    size_t n = 0;

    if (s == NULL)
        return;
    s2 = detect_scanner_new(s, 1 << 20);
    /* Higher priority wins over length: \d{4} (20) takes 1234, then the
     * second group 5678 as well (the AB rules lose every overlap). */
    T_EQ_INT(detect_scan(s2, "AB12345678CD", 12, NULL, 0), VIGIE_OK);
    f = detect_scanner_findings(s2, &n);
    T_EQ_INT(n, 2);
    if (n == 2) {
        T_EQ_STR(detect_rule_id(f[0].rule), "t.short");
        T_EQ_INT(f[0].start, 2);
        T_EQ_INT(f[0].end, 6);
    }
    /* only_rule: the longer AB rule alone finds its span (equal priority
     * against the other AB rule is checked with a second set below). */
    T_EQ_INT(detect_scan(s2, "xx AB123456CD", 13, detect_set_find(s, "t.longer"), 0), VIGIE_OK);
    f = detect_scanner_findings(s2, &n);
    T_EQ_INT(n, 1);
    detect_scanner_free(s2);
    detect_set_free(s);

    /* Same priority, different lengths, on one text. */
    s = pack_ok("pack: t\ndetectors:\n"
                  "  - id: t.a\n    category: t.a\n    description: d\n"
                  "    pattern: 'AB\\d{6}'\n"
                  "    examples: {match: [AB123456], no_match: [AB1]}\n"
                  "  - id: t.b\n    category: t.b\n    description: d\n"
                  "    pattern: 'AB\\d{6}CD'\n"
                  "    examples: {match: [AB123456CD], no_match: [AB1]}\n");
    T_ASSERT(s != NULL);
    if (s != NULL) {
        s2 = detect_scanner_new(s, 1 << 20);
        T_EQ_INT(detect_scan(s2, "AB123456CD", 10, NULL, 0), VIGIE_OK);
        f = detect_scanner_findings(s2, &n);
        T_EQ_INT(n, 1);
        if (n == 1)
            T_EQ_STR(detect_rule_id(f[0].rule), "t.b");
        detect_scanner_free(s2);
    }
    detect_set_free(s);
}

static const char *ctx_pack =
    "pack: t\ndetectors:\n"
    "  - id: t.siren\n    category: company.siren\n    description: d\n"
    "    pattern: '(?<!\\d)\\d{3} ?\\d{3} ?\\d{3}(?!\\d)'\n"
    "    validator: siren\n"
    "    trigger: {digits: 9}\n"
    "    context: {words: [siren, rcs, 'numéro d''entreprise'], suppress: [euros], required: true, "
    "window: 30}\n"
    "    allow: ['552 100 554']\n"
    "    examples:\n"
    "      match: [{text: 'SIREN 404 833 048', find: '404 833 048'}]\n"
    "      no_match: ['404 833 048', 'SIREN 404 833 047']\n";

static void test_context_required_and_suppress(void)
{
    struct detect_set *s = pack_ok(ctx_pack);
    struct detect_scanner *s2;
    const struct detect_finding *f;
    size_t n = 0;
    const char *t;

    if (s == NULL)
        return;
    s2 = detect_scanner_new(s, 1 << 20);
    /* Accent- and case-insensitive context, before the value. */
    t = "NUMERO D'ENTREPRISE : 404 833 048";
    T_EQ_INT(detect_scan(s2, t, strlen(t), NULL, 0), VIGIE_OK);
    f = detect_scanner_findings(s2, &n);
    T_EQ_INT(n, 1);
    if (n == 1)
        T_EQ_INT(f[0].context, 1);
    /* Context after the value counts too. */
    t = "404 833 048 est le SIREN";
    T_EQ_INT(detect_scan(s2, t, strlen(t), NULL, 0), VIGIE_OK);
    detect_scanner_findings(s2, &n);
    T_EQ_INT(n, 1);
    /* Out of the window: not found. */
    t = "SIREN, voir plus bas, beaucoup plus bas dans le texte : 404 833 048";
    T_EQ_INT(detect_scan(s2, t, strlen(t), NULL, 0), VIGIE_OK);
    detect_scanner_findings(s2, &n);
    T_EQ_INT(n, 0);
    /* A word inside another word is not context ("siren" in "sirenes"). */
    t = "les sirenes 404 833 048";
    T_EQ_INT(detect_scan(s2, t, strlen(t), NULL, 0), VIGIE_OK);
    detect_scanner_findings(s2, &n);
    T_EQ_INT(n, 0);
    /* Suppressed by a nearby veto word. */
    t = "SIREN 404 833 048 euros";
    T_EQ_INT(detect_scan(s2, t, strlen(t), NULL, 0), VIGIE_OK);
    detect_scanner_findings(s2, &n);
    T_EQ_INT(n, 0);
    /* Allow-listed, written without its spaces: canonical comparison. */
    t = "SIREN 552100554";
    T_EQ_INT(detect_scan(s2, t, strlen(t), NULL, 0), VIGIE_OK);
    detect_scanner_findings(s2, &n);
    T_EQ_INT(n, 0);
    detect_scanner_free(s2);
    detect_set_free(s);
}

static void test_context_flag_without_requirement(void)
{
    const struct detect_finding *f;
    size_t n = scan("mon courriel : a.b@example.org", &f);

    T_EQ_INT(n, 1);
    if (n == 1)
        T_EQ_INT(f[0].context, 1);
    n = scan("a.b@example.org", &f);
    T_EQ_INT(n, 1);
    if (n == 1)
        T_EQ_INT(f[0].context, 0);
}

static void test_match_limit_fails_closed(void)
{
    /* (a|aa)+ is exponential on long runs of 'a' after an 'x'. The load
     * check's subjects come from the examples ("xaay", "xaa"), which have
     * short runs, so the pack loads; a scan then meets a long run and the
     * engine's match limit must surface as an error, never as "no match". */
    struct detect_set *s = pack_ok("pack: t\ndetectors:\n"
                                     "  - id: t.exp\n    category: t.exp\n    description: d\n"
                                     "    pattern: 'x(?:a|aa)+y'\n"
                                     "    examples: {match: [xaay], no_match: [xy]}\n");
    struct detect_scanner *s2;
    char text[128];

    if (s == NULL)
        return;
    s2 = detect_scanner_new(s, 1 << 20);
    memset(text, 'a', sizeof(text));
    text[0] = 'x';
    /* The 'y' at the very end keeps PCRE2 from skipping the subject because a
     * required character is missing. */
    text[sizeof(text) - 2] = '!';
    text[sizeof(text) - 1] = 'y';
    T_EQ_INT(detect_scan(s2, text, sizeof(text), NULL, 0), VIGIE_ERR_MATCH);
    detect_scanner_free(s2);
    detect_set_free(s);
}

static void test_too_big(void)
{
    struct detect_scanner *small = detect_scanner_new(rules, 16);

    T_ASSERT(small != NULL);
    T_EQ_INT(detect_scan(small, "0123456789abcdefg", 17, NULL, 0), VIGIE_ERR_TOO_BIG);
    T_EQ_INT(detect_scan(small, "0123456789abcdef", 16, NULL, 0), VIGIE_OK);
    detect_scanner_free(small);
}

static void test_empty_and_binary(void)
{
    const struct detect_finding *f;
    static const char bin[] = "\x00\xff\xfe\x80 06 39 98 00 01 \xc3";
    size_t n = 0;

    T_EQ_INT(detect_scan(sc, "", 0, NULL, 0), VIGIE_OK);
    detect_scanner_findings(sc, &n);
    T_EQ_INT(n, 0);
    /* Invalid UTF-8 and NUL around a phone number: still found, at the
     * right original bytes. */
    T_EQ_INT(detect_scan(sc, bin, sizeof(bin) - 1, NULL, 0), VIGIE_OK);
    f = detect_scanner_findings(sc, &n);
    T_EQ_INT(n, 1);
    if (n == 1) {
        T_EQ_INT(f[0].start, 5);
        T_EQ_INT(f[0].end, 19);
    }
}

static void test_prefilter_matches_full_scan(void)
{
    /* The prefilter must not change what is found: compare with the
     * reference mode on a text that mixes every rule, dense and sparse. */
    const char *t =
        "Bonjour, je suis M. Jean Dupont (jean.dupont@example.fr, tél. +33 (0)1 99 00 12 34).\n"
        "Mon IBAN : FR14 2004 1010 0505 0001 3M02 606 ; carte 3782 822463 10005.\n"
        "NIR : 2 53 07 2A 073 004 43. TARIC 0901 21 00 00. Facture 2024-000123 du 30/04/2024.\n"
        "a@b.fr,0612345678,0033639981234;GB82WEST12345698765432|4111-1111-1111-1111\n";
    struct detect_finding a[16];
    const struct detect_finding *f;
    size_t n1, n2, i;

    n1 = scan(t, &f);
    T_ASSERT(n1 <= 16 && n1 >= 8);
    if (n1 > 16)
        return;
    memcpy(a, f, n1 * sizeof(*f));
    T_EQ_INT(detect_scan(sc, t, strlen(t), NULL, DETECT_SCAN_FULL), VIGIE_OK);
    f = detect_scanner_findings(sc, &n2);
    T_EQ_INT(n1, n2);
    for (i = 0; i < n1 && i < n2; i++) {
        T_EQ_INT(a[i].start, f[i].start);
        T_EQ_INT(a[i].end, f[i].end);
        T_ASSERT(a[i].rule == f[i].rule);
    }
}

static void test_hostile_inputs_complete(void)
{
    /* Digit soup, '@' storms and long tokens: the scan completes without an
     * engine error. (Speed is measured in bench/, not asserted here.) */
    static const char *const units[] = {"0", "1 ", "4111 ", "a@", "@", "a.", "FR76 ", "06 "};
    size_t size = 1 << 20, i, k;
    char *buf = malloc(size);

    T_ASSERT(buf != NULL);
    if (buf == NULL)
        return;
    for (k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
        size_t ul = strlen(units[k]);
        for (i = 0; i < size; i++)
            buf[i] = units[k][i % ul];
        T_EQ_INT(detect_scan(sc, buf, size, NULL, 0), VIGIE_OK);
    }
    free(buf);
}

static void test_only_rule(void)
{
    const char *t = "jean.dupont@example.fr 06 39 98 00 01";
    size_t n = 0;
    const struct detect_finding *f;

    T_EQ_INT(detect_scan(sc, t, strlen(t), detect_set_find(rules, "contact.phone.fr"), 0),
             VIGIE_OK);
    f = detect_scanner_findings(sc, &n);
    T_EQ_INT(n, 1);
    if (n == 1)
        T_EQ_STR(detect_rule_id(f[0].rule), "contact.phone.fr");
}

static void test_long_region_chunks(void)
{
    /* 300 KB of '@'-dense filler makes one merged region as long as the text,
     * which the scanner matches in chunks of 64 KiB starting where the last
     * match ended. The addresses are placed from that arithmetic:
     *  - the second would be cut to "marie.curie@example.fr" by the chunk's
     *    end (its TLD is "frances"): the scanner must match it again whole;
     *  - the third straddles the end of a chunk with no match in it: the
     *    scanner must go on from before the end, not after it. */
    const size_t chunk = 65536, size = 300 * 1024;
    const char *addr[] = {"jean.dupont@example.fr", "marie.curie@example.frances",
                          "jean.dupont@example.fr", "paul.martin@example.org"};
    size_t at[4], i, k, n = 0;
    char *buf = malloc(size);
    const struct detect_finding *f;
    unsigned mode;

    T_ASSERT(buf != NULL);
    if (buf == NULL)
        return;
    at[0] = 10;
    at[1] = at[0] + strlen(addr[0]) + chunk - 22; /* "...@example.fr" ends at the cut */
    at[2] = at[1] + strlen(addr[1]) + chunk - 10; /* straddles the next cut */
    at[3] = size - 40;
    for (i = 0; i < size; i++)
        buf[i] = (i % 3 == 2) ? ' ' : (i % 3 == 1 ? '@' : 'a');
    for (k = 0; k < 4; k++) {
        buf[at[k] - 1] = ' ';
        memcpy(buf + at[k], addr[k], strlen(addr[k]));
        buf[at[k] + strlen(addr[k])] = ' ';
    }
    for (mode = 0; mode <= DETECT_SCAN_FULL; mode += DETECT_SCAN_FULL) {
        T_EQ_INT(detect_scan(sc, buf, size, NULL, mode), VIGIE_OK);
        f = detect_scanner_findings(sc, &n);
        T_EQ_INT(n, 4);
        for (k = 0; k < n && k < 4; k++) {
            T_EQ_INT(f[k].start, at[k]);
            T_EQ_INT(f[k].end, at[k] + strlen(addr[k]));
        }
    }
    free(buf);
}

static void test_exact_keywords(void)
{
    /* An exact key word wakes its rule only as written: the pattern accepts
     * any case, so a lower-case "dr who" is found in the reference mode but
     * not through the trigger, and "Dr Who" is found both ways. */
    struct detect_set *s = pack_ok("pack: t\ndetectors:\n"
                                     "  - id: t.title\n    category: t.title\n    description: d\n"
                                     "    pattern: '(?i)dr [a-z]+'\n"
                                     "    trigger: {keywords: [professeur], exact: ['Dr ']}\n"
                                     "    examples: {match: [Dr Who, {text: 'professeur dr x', find: 'dr x'}], "
                                     "no_match: [drone]}\n");
    struct detect_scanner *s2;
    size_t n = 9;

    if (s == NULL)
        return;
    s2 = detect_scanner_new(s, 1 << 20);
    T_EQ_INT(detect_scan(s2, "le dr who", 9, NULL, 0), VIGIE_OK);
    detect_scanner_findings(s2, &n);
    T_EQ_INT(n, 0);
    T_EQ_INT(detect_scan(s2, "le dr who", 9, NULL, DETECT_SCAN_FULL), VIGIE_OK);
    detect_scanner_findings(s2, &n);
    T_EQ_INT(n, 1);
    T_EQ_INT(detect_scan(s2, "le Dr Who", 9, NULL, 0), VIGIE_OK);
    detect_scanner_findings(s2, &n);
    T_EQ_INT(n, 1);
    detect_scanner_free(s2);
    detect_set_free(s);
}

static void test_anchored_rule(void)
{
    /* An anchored rule is tried only from its window's start to the end of
     * each place: "ZX" after a key word is found, the same value far after
     * it (but inside the window) is left to the reference mode, and two
     * places close together give each its own match. Allow-list patterns
     * share the match context and must not see the offset limit. */
    struct detect_set *s = pack_ok("pack: t\ndetectors:\n"
                                     "  - id: t.ref\n    category: t.ref\n    description: d\n"
                                     "    pattern: '(?:ref|REF)[ ]?\\KZX\\d{4}'\n"
                                     "    trigger: {keywords: [ref]}\n"
                                     "    window: {before: 0, after: 40, anchored: true}\n"
                                     "    allow_pattern: 'ZX0000'\n"
                                     "    examples: {match: [{text: 'ref ZX1234', find: ZX1234}], "
                                     "no_match: [ref ZX0000]}\n");
    const char *t1 = "la ref ZX1234 et la REF ZX5678, ref ZX0000.";
    const char *t2 = "la ref puis ZX1234 ref ZX9999";
    const struct detect_finding *f;
    struct detect_scanner *s2;
    size_t n = 9;

    if (s == NULL)
        return;
    s2 = detect_scanner_new(s, 1 << 20);
    T_EQ_INT(detect_scan(s2, t1, strlen(t1), NULL, 0), VIGIE_OK);
    f = detect_scanner_findings(s2, &n);
    T_EQ_INT(n, 2);
    if (n == 2) {
        T_EQ_INT(f[0].start, 7);
        T_EQ_INT(f[1].start, 24);
    }
    T_EQ_INT(detect_scan(s2, t2, strlen(t2), NULL, 0), VIGIE_OK);
    f = detect_scanner_findings(s2, &n);
    T_EQ_INT(n, 1);
    if (n == 1)
        T_EQ_INT(f[0].start, 23);
    detect_scanner_free(s2);
    detect_set_free(s);
}

int main(void)
{
    rules = shipped_rules();
    if (rules == NULL) {
        fprintf(stderr, "shipped rules do not load\n");
        return 1;
    }
    sc = detect_scanner_new(rules, VIGIE_SCAN_INPUT_MAX);
    T_RUN(test_zero_width_space_email);
    T_RUN(test_fullwidth_phone);
    T_RUN(test_nbsp_and_narrow_nbsp);
    T_RUN(test_arabic_indic_digits_card);
    T_RUN(test_soft_hyphen_in_iban);
    T_RUN(test_checksums_filter);
    T_RUN(test_iban_trimmed);
    T_RUN(test_several_findings_sorted);
    T_RUN(test_overlap_priority_then_length);
    T_RUN(test_context_required_and_suppress);
    T_RUN(test_context_flag_without_requirement);
    T_RUN(test_match_limit_fails_closed);
    T_RUN(test_too_big);
    T_RUN(test_empty_and_binary);
    T_RUN(test_prefilter_matches_full_scan);
    T_RUN(test_hostile_inputs_complete);
    T_RUN(test_only_rule);
    T_RUN(test_long_region_chunks);
    T_RUN(test_exact_keywords);
    T_RUN(test_anchored_rule);
    detect_scanner_free(sc);
    detect_set_free(rules);
    return T_DONE();
}
