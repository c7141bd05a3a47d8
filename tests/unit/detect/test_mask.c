/*
 * Maskers: labels, numbering consistent within a text, keyed pseudonyms
 * stable across scanners and maps, partial masks, and the reversible map.
 */
#include "helpers.h"

static struct detect_set *rules;
static struct detect_scanner *sc;

static const unsigned char key1[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char key2[32] = "fedcba9876543210fedcba9876543210";

/* Masks text with the shipped rules; returns a malloc'ed string or NULL. */
static char *mask_with(struct detect_scanner *s, const char *text,
                       const struct detect_mask_opts *o, struct detect_revmap *map,
                       int *blocked, int *rcout)
{
    struct vigie_buf out;
    int rc, b = 0;
    char *r = NULL;

    vigie_buf_init(&out, 1 << 22);
    rc = detect_redact(s, text, strlen(text), o, map, &out, &b);
    if (rcout)
        *rcout = rc;
    if (blocked)
        *blocked = b;
    if (rc == VIGIE_OK)
        r = strdup(out.data ? out.data : "");
    vigie_buf_free(&out);
    return r;
}

static char *mask(const char *text, struct detect_revmap *map)
{
    return mask_with(sc, text, NULL, map, NULL, NULL);
}

static void test_label_and_numbering(void)
{
    struct detect_revmap *map = detect_revmap_new();
    char *out = mask("Écrire à a.b@example.fr ou c.d@example.fr, puis encore a.b@example.fr ; "
                     "IBAN FR76 3000 6000 0112 3456 7890 189.",
                     map);

    T_EQ_STR(out, "Écrire à [EMAIL_1] ou [EMAIL_2], puis encore [EMAIL_1] ; IBAN [IBAN].");
    T_EQ_INT(detect_revmap_count(map), 2);
    free(out);
    detect_revmap_free(map);
}

static void test_numbering_by_exact_value(void)
{
    struct detect_revmap *map = detect_revmap_new();
    /* A numbered token stands for exactly what was written: the same bytes get
     * the same token; the same number written another way gets its own, so
     * that restoring gives back each spelling as written. */
    char *out = mask("06 39 98 00 01, 06.39.98.00.01 et 06 39 98 00 01 ; 01 99 00 12 34", map);
    struct vigie_buf back;

    T_EQ_STR(out, "[PHONE_1], [PHONE_2] et [PHONE_1] ; [PHONE_3]");
    vigie_buf_init(&back, 1 << 20);
    T_EQ_INT(detect_revmap_restore(map, out, strlen(out), &back), VIGIE_OK);
    T_EQ_STR(back.data, "06 39 98 00 01, 06.39.98.00.01 et 06 39 98 00 01 ; 01 99 00 12 34");
    vigie_buf_free(&back);
    free(out);
    detect_revmap_free(map);
}

static void test_numbering_skips_tokens_in_input(void)
{
    struct detect_revmap *map = detect_revmap_new();
    char *out = mask("J'ai écrit [EMAIL_1] moi-même ; a.b@example.fr", map);

    T_EQ_STR(out, "J'ai écrit [EMAIL_1] moi-même ; [EMAIL_2]");
    free(out);
    detect_revmap_free(map);
}

static void test_map_spans_texts(void)
{
    /* One map for the several texts of a request: same value, same token. */
    struct detect_revmap *map = detect_revmap_new();
    char *a = mask("a.b@example.fr", map);
    char *b = mask("x@example.org et a.b@example.fr", map);

    T_EQ_STR(a, "[EMAIL_1]");
    T_EQ_STR(b, "[EMAIL_2] et [EMAIL_1]");
    free(a);
    free(b);
    detect_revmap_free(map);
}

static void test_restore_round_trip(void)
{
    struct detect_revmap *map = detect_revmap_new();
    const char *orig = "Contact jean.dupont@exam\xE2\x80\x8Bple.fr, tél 06 39 98 00 01.";
    char *out = mask(orig, map);
    struct vigie_buf back;

    T_EQ_STR(out, "Contact [EMAIL_1], tél [PHONE_1].");
    vigie_buf_init(&back, 1 << 20);
    T_EQ_INT(detect_revmap_restore(map, out, strlen(out), &back), VIGIE_OK);
    /* The original surface form comes back, zero-width space included. */
    T_EQ_STR(back.data, orig);
    vigie_buf_reset(&back);
    /* An answer that reuses tokens, and one that is not ours. */
    T_EQ_INT(detect_revmap_restore(map, "[PHONE_1]/[PHONE_9]/[EMAIL_1", 28, &back), VIGIE_OK);
    T_EQ_STR(back.data, "06 39 98 00 01/[PHONE_9]/[EMAIL_1");
    vigie_buf_free(&back);
    free(out);
    detect_revmap_free(map);
}

static const char *keyed_pack = "pack: t\ndetectors:\n"
                                "  - id: t.email\n    category: contact.email\n"
                                "    description: d\n    label: EMAIL\n"
                                "    pattern: '[a-z.]+@[a-z]+\\.fr'\n    trigger: at\n"
                                "    action: pseudonymise\n    pseudonym: keyed\n"
                                "    examples: {match: [a.b@example.fr], no_match: ['a@b']}\n";

static void test_keyed_stable_across_scanners(void)
{
    struct detect_set *s = pack_ok(keyed_pack);
    struct detect_scanner *s1, *s2;
    struct detect_revmap *m1 = detect_revmap_new(), *m2 = detect_revmap_new(),
                         *m3 = detect_revmap_new();
    struct detect_mask_opts o1 = {key1, sizeof(key1), NULL, NULL, 0};
    struct detect_mask_opts o2 = {key2, sizeof(key2), NULL, NULL, 0};
    char *a, *b, *c, *d;
    int rc;

    if (s == NULL)
        return;
    s1 = detect_scanner_new(s, 1 << 20);
    s2 = detect_scanner_new(s, 1 << 20);
    a = mask_with(s1, "x a.b@example.fr", &o1, m1, NULL, NULL);
    b = mask_with(s2, "a.b@example.fr y", &o1, m2, NULL, NULL);
    c = mask_with(s2, "a.b@example.fr y", &o2, m3, NULL, NULL);
    T_ASSERT(a != NULL && b != NULL && c != NULL);
    if (a && b && c) {
        /* "[EMAIL_" + 12 hex + "]" */
        T_EQ_INT(strlen(a), 2 + 20);
        T_ASSERT(strncmp(a + 2, "[EMAIL_", 7) == 0);
        /* Same key: same token, in another scanner and map. */
        T_ASSERT(strncmp(a + 2, b, 20) == 0);
        /* Another key: another token. */
        T_ASSERT(strncmp(b, c, 20) != 0);
    }
    /* Without a key, keyed pseudonyms are refused, not silently weakened
     * (with a fresh map: one that already holds the value reuses its token). */
    d = mask_with(s1, "z.b@example.fr", NULL, m1, NULL, &rc);
    T_ASSERT(d == NULL);
    T_EQ_INT(rc, VIGIE_ERR_CONFIG);
    free(a);
    free(b);
    free(c);
    detect_revmap_free(m1);
    detect_revmap_free(m2);
    detect_revmap_free(m3);
    detect_scanner_free(s1);
    detect_scanner_free(s2);
    detect_set_free(s);
}

static void test_partial_card(void)
{
    char *out = mask("CB 4111 1111 1111 1111, Amex 3782-822463-10005", NULL);

    T_EQ_STR(out, "CB **** **** **** 1111, Amex ****-******-*0005");
    free(out);
}

static enum detect_action block_nir(void *arg, const struct detect_finding *f)
{
    (void)arg;
    if (strcmp(detect_rule_category(f->rule), "identity.nir") == 0)
        return DETECT_ACT_BLOCK;
    if (strcmp(detect_rule_category(f->rule), "contact.email") == 0)
        return DETECT_ACT_FLAG;
    return detect_rule_action(f->rule);
}

static void test_decide_and_block(void)
{
    struct detect_mask_opts o = {NULL, 0, block_nir, NULL, 0};
    struct detect_revmap *map = detect_revmap_new();
    int blocked = 0;
    char *out = mask_with(sc, "a@example.fr NIR 1 85 05 78 006 084 91", &o, map, &blocked, NULL);

    T_EQ_STR(out, "a@example.fr NIR [NIR]");
    T_EQ_INT(blocked, 1);
    free(out);
    out = mask_with(sc, "a@example.fr", &o, map, &blocked, NULL);
    T_EQ_STR(out, "a@example.fr");
    T_EQ_INT(blocked, 0);
    free(out);
    detect_revmap_free(map);
}

static void test_mask_requires_the_scanned_text(void)
{
    struct vigie_buf out;
    int blocked;
    char copy[] = "a.b@example.fr";

    vigie_buf_init(&out, 1024);
    T_EQ_INT(detect_scan(sc, "a.b@example.fr", 14, NULL, 0), VIGIE_OK);
    T_EQ_INT(detect_mask(sc, copy, 14, NULL, NULL, &out, &blocked), VIGIE_ERR_INVAL);
    vigie_buf_free(&out);
}

static void test_rescan_finds_nothing_to_mask(void)
{
    const char *t = "jean.dupont@example.fr 06 39 98 00 01 FR76 3000 6000 0112 3456 7890 189 "
                    "4111 1111 1111 1111 1 85 05 78 006 084 91";
    struct detect_revmap *map = detect_revmap_new();
    char *out = mask(t, map);
    const struct detect_finding *f;
    size_t n = 99;

    T_ASSERT(out != NULL);
    if (out != NULL) {
        T_EQ_INT(detect_scan(sc, out, strlen(out), NULL, 0), VIGIE_OK);
        f = detect_scanner_findings(sc, &n);
        T_EQ_INT(n, 0);
        if (n > 0)
            fprintf(stderr, "masked: %s\nfound %s at %zu-%zu\n", out, detect_rule_id(f[0].rule),
                    f[0].start, f[0].end);
    }
    free(out);
    detect_revmap_free(map);
}

static void test_fixpoint_reveals_hidden_value(void)
{
    /* The card's trailing digits run into the NIR ("... 1111 1 85 05 ..."),
     * so the card pattern refuses it on the first pass; once the NIR is
     * masked, the rescan finds the card, and its span is reported in the
     * original text. */
    const char *t = "4111 1111 1111 1111 1 85 05 78 006 084 91";
    struct detect_revmap *map = detect_revmap_new();
    char *out = mask(t, map);
    const struct detect_finding *f;
    size_t n = 0;

    T_EQ_STR(out, "**** **** **** 1111 [NIR]");
    f = detect_redact_findings(sc, &n);
    T_EQ_INT(n, 2);
    if (n == 2) {
        T_EQ_STR(detect_rule_id(f[0].rule), "finance.card");
        T_EQ_INT(f[0].start, 0);
        T_EQ_INT(f[0].end, 19);
        T_EQ_STR(detect_rule_id(f[1].rule), "identity.nir");
        T_EQ_INT(f[1].start, 20);
        T_EQ_INT(f[1].end, strlen(t));
    }
    free(out);
    detect_revmap_free(map);
}

static void test_single_pass_mask(void)
{
    /* detect_mask alone is one pass over the last scan: the hidden card
     * stays, which is why callers use detect_redact. */
    const char *t = "4111 1111 1111 1111 1 85 05 78 006 084 91";
    struct vigie_buf out;
    int blocked;

    vigie_buf_init(&out, 1024);
    T_EQ_INT(detect_scan(sc, t, strlen(t), NULL, 0), VIGIE_OK);
    T_EQ_INT(detect_mask(sc, t, strlen(t), NULL, NULL, &out, &blocked), VIGIE_OK);
    T_EQ_STR(out.data, "4111 1111 1111 1111 [NIR]");
    vigie_buf_free(&out);
}

static void test_many_distinct_values(void)
{
    /* 3000 distinct addresses, with tokens the user wrote themselves here and
     * there: every address gets its own number, and no number the user wrote
     * is reused. */
    struct vigie_buf in;
    struct detect_revmap *map = detect_revmap_new();
    char *out, tok[32];
    unsigned i;

    vigie_buf_init(&in, 1 << 22);
    vigie_buf_append(&in, "[EMAIL_2] [EMAIL_2999] ", 23);
    for (i = 0; i < 3000; i++)
        vigie_buf_printf(&in, "u%u@example.fr ", i);
    out = mask(in.data, map);
    T_ASSERT(out != NULL);
    if (out != NULL) {
        T_EQ_INT(detect_revmap_count(map), 3000);
        T_ASSERT(strncmp(out, "[EMAIL_2] [EMAIL_2999] [EMAIL_1] [EMAIL_3] [EMAIL_4] ", 53) == 0);
        /* 3000 values, numbers 2 and 2999 skipped: the last is 3002. */
        snprintf(tok, sizeof(tok), "[EMAIL_%u]", 3002u);
        T_ASSERT(strstr(out, tok) != NULL);
        T_ASSERT(strstr(out, "[EMAIL_3003]") == NULL);
    }
    free(out);
    vigie_buf_free(&in);
    detect_revmap_free(map);
}

static enum detect_action flag_cards(void *arg, const struct detect_finding *f)
{
    (void)arg;
    if (strcmp(detect_rule_id(f->rule), "finance.card") == 0)
        return DETECT_ACT_FLAG;
    return detect_rule_action(f->rule);
}

/* After detect_redact, the scanner holds the findings of its last pass, a
 * scan of its own output that reuses the regions masking left unchanged
 * (detect_int.h, struct detect_recs). They must be exactly those of a fresh
 * scan of that output by another scanner. */
static void check_rescan_is_fresh(const char *text, const struct detect_mask_opts *o, int reuse)
{
    struct detect_scanner *fresh = detect_scanner_new(rules, VIGIE_SCAN_INPUT_MAX);
    struct detect_revmap *map = detect_revmap_new();
    struct detect_mask_opts oo = {NULL, 0, NULL, NULL, 0};
    const struct detect_finding *a, *b;
    size_t na = 0, nb = 0, i;
    char *out;

    if (o != NULL)
        oo = *o;
    if (reuse) {
        T_EQ_INT(detect_scan(sc, text, strlen(text), NULL, 0), VIGIE_OK);
        oo.reuse_scan = 1;
    }
    out = mask_with(sc, text, &oo, map, NULL, NULL);
    T_ASSERT(out != NULL && fresh != NULL);
    if (out != NULL && fresh != NULL) {
        a = detect_scanner_findings(sc, &na);
        T_EQ_INT(detect_scan(fresh, out, strlen(out), NULL, 0), VIGIE_OK);
        b = detect_scanner_findings(fresh, &nb);
        T_EQ_INT(na, nb);
        for (i = 0; i < na && i < nb; i++) {
            T_EQ_STR(detect_rule_id(a[i].rule), detect_rule_id(b[i].rule));
            T_EQ_INT(a[i].start, b[i].start);
            T_EQ_INT(a[i].end, b[i].end);
            T_EQ_INT(a[i].nstart, b[i].nstart);
            T_EQ_INT(a[i].nend, b[i].nend);
            T_EQ_INT(a[i].context, b[i].context);
        }
    }
    free(out);
    detect_revmap_free(map);
    detect_scanner_free(fresh);
}

static void test_rescan_reuses_only_unchanged_regions(void)
{
    static const char *const texts[] = {
        /* The gateway benchmark's prompt, abridged: the signature and field
         * rules' regions ("Merci", " : ") are far from every value. */
        "Le déclarant, M. Jean-Pierre Lemaître, gérant de la société, conteste la valeur. "
        "Sa conseillère, Mme Hélène Durand, nous a écrit depuis l'adresse "
        "helene.durand@exemple.fr et peut être jointe au 06 39 98 00 01 en semaine. Elle "
        "indique le compte FR76 3000 6000 0112 3456 7890 189 ouvert au nom de la société. "
        "Le procès-verbal mentionne une facture commerciale dont le montant diffère. Merci "
        "de structurer la réponse en trois parties : les faits, le droit, la proposition.",
        /* Characters the view changes (no-break spaces, a zero-width space,
         * curly apostrophes) before, between and after the values: the view
         * and the text are offset differently on each side. */
        "L\u2019agent\u00a0: a.b@example.fr\u200b puis 06\u00a039\u00a098\u00a000\u00a001 "
        "et l\u2019IBAN FR76\u00a03000\u00a06000\u00a00112\u00a03456\u00a07890\u00a0189. "
        "Nom : Jean DUPONT. Cordialement,\nMarie Martin",
        /* Tokens longer and shorter than their values, several of a kind. */
        "x@y.fr, z@w.fr ; jean-christophe.de-la-fontaine-durand@sous.domaine.example.org ; "
        "Merci d\u2019avance. Mme Zoé Roux et M. Paul Henry-Martin sont joignables.",
        /* "Jean Roy" and "[NAME_1]" have the same length: regions keep
         * their bounds and change their bytes. */
        "Le dossier de M. Jean Roy est complet ; Merci de le transmettre : ok.",
        /* A value revealed by the first mask only (three passes). */
        "4111 1111 1111 1111 1 85 05 78 006 084 91, puis Mme Claire Dubois : ok.",
    };
    /* A flagged card number stays in the output; the word "visa" after it
     * is outside its rule's 8-byte window but inside its 48-byte context
     * window, and it disappears when the address that holds it is masked:
     * the card's region is unchanged, its context is not. */
    const char *ctx = "Voir 4111 1111 1111 1111 pour la suite, visa@example.fr fin.";
    struct detect_mask_opts flag = {NULL, 0, flag_cards, NULL, 0};
    char buf[2048];
    size_t i;
    int reuse;

    for (reuse = 0; reuse <= 1; reuse++) {
        for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
            /* The \u escapes above, as UTF-8. */
            const char *p = texts[i];
            size_t o = 0;
            while (*p != '\0' && o + 4 < sizeof(buf)) {
                unsigned cp;
                if (p[0] == '\\' && p[1] == 'u' && sscanf(p + 2, "%4x", &cp) == 1) {
                    if (cp < 0x800) {
                        buf[o++] = (char)(0xC0 | cp >> 6);
                    } else {
                        buf[o++] = (char)(0xE0 | cp >> 12);
                        buf[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                    }
                    buf[o++] = (char)(0x80 | (cp & 0x3F));
                    p += 6;
                } else {
                    buf[o++] = *p++;
                }
            }
            buf[o] = '\0';
            check_rescan_is_fresh(buf, NULL, reuse);
        }
        check_rescan_is_fresh(ctx, &flag, reuse);
    }
    /* And the context found on the rescan is the output's own. */
    {
        struct detect_revmap *map = detect_revmap_new();
        const struct detect_finding *f;
        size_t n = 0;
        char *out = mask_with(sc, ctx, &flag, map, NULL, NULL);

        T_EQ_STR(out, "Voir 4111 1111 1111 1111 pour la suite, [EMAIL_1] fin.");
        /* The first pass saw "visa" near the number, ... */
        f = detect_redact_findings(sc, &n);
        T_EQ_INT(n, 2);
        if (n == 2) {
            T_EQ_STR(detect_rule_id(f[0].rule), "finance.card");
            T_EQ_INT(f[0].context, 1);
        }
        /* ... the rescan of the output does not. */
        f = detect_scanner_findings(sc, &n);
        T_EQ_INT(n, 1);
        if (n == 1) {
            T_EQ_STR(detect_rule_id(f[0].rule), "finance.card");
            T_EQ_INT(f[0].context, 0);
        }
        free(out);
        detect_revmap_free(map);
    }
}

int main(void)
{
    rules = shipped_rules();
    if (rules == NULL) {
        fprintf(stderr, "shipped rules do not load\n");
        return 1;
    }
    sc = detect_scanner_new(rules, VIGIE_SCAN_INPUT_MAX);
    T_RUN(test_label_and_numbering);
    T_RUN(test_numbering_by_exact_value);
    T_RUN(test_numbering_skips_tokens_in_input);
    T_RUN(test_map_spans_texts);
    T_RUN(test_restore_round_trip);
    T_RUN(test_keyed_stable_across_scanners);
    T_RUN(test_partial_card);
    T_RUN(test_decide_and_block);
    T_RUN(test_mask_requires_the_scanned_text);
    T_RUN(test_rescan_finds_nothing_to_mask);
    T_RUN(test_fixpoint_reveals_hidden_value);
    T_RUN(test_single_pass_mask);
    T_RUN(test_many_distinct_values);
    T_RUN(test_rescan_reuses_only_unchanged_regions);
    detect_scanner_free(sc);
    detect_set_free(rules);
    return T_DONE();
}
