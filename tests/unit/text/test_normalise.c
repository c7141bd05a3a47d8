/*
 * Tests of the detection view (proxy/text/normalise.c) and of word folding
 * (proxy/text/fold.c). Besides the hand-written cases, two checks do not
 * trust the code's own tables: every code point is compared with a reference
 * written from the rules as lists, and random mixes of ordinary and evasive
 * characters are checked against an oracle built piece by piece.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "text/text.h"

#define FFFD "\xEF\xBF\xBD"

/* ---- helpers ----------------------------------------------------------- */

static int norm_str(struct text_norm *n, const char *s)
{
    return text_normalise(n, s, strlen(s));
}

/* The view as a NUL-terminated string (the view of the input itself is not
 * terminated), in a static buffer: tests only compare it at once. */
static const char *view(const struct text_norm *n)
{
    static char s[4096];
    size_t len = n->len < sizeof(s) - 1 ? n->len : sizeof(s) - 1;

    memcpy(s, n->text, len);
    s[len] = '\0';
    return s;
}

static int view_is(const struct text_norm *n, const char *want, size_t wantlen)
{
    return n->len == wantlen && memcmp(n->text, want, wantlen) == 0;
}

static size_t utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A well-formed view: the normaliser promises that the regex engine may skip
 * UTF-8 validation. */
static int utf8_valid(const char *p, size_t len)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t i = 0;

    while (i < len) {
        unsigned c = s[i];
        size_t need, k;
        uint32_t cp;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            need = 2, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            need = 3, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
            need = 4, cp = c & 0x07;
        else
            return 0;
        if (len - i < need)
            return 0;
        for (k = 1; k < need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += need;
    }
    return 1;
}

static size_t view_char_len(const struct text_norm *n, size_t i)
{
    unsigned c = (unsigned char)n->text[i];

    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* ---- hand-written cases ------------------------------------------------ */

static void test_ascii_identity(void)
{
    struct text_norm n;
    static const char s[] = "Hello, world!\tline\nNUL:\0 after {}[]~\x7F end";
    size_t len = sizeof(s) - 1, i;

    text_norm_init(&n, VIGIE_SCAN_INPUT_MAX);
    T_EQ_INT(text_normalise(&n, s, len), VIGIE_OK);
    T_ASSERT(n.text == s);
    T_EQ_INT(n.len, len);
    T_EQ_INT(n.nsegs, 0);
    T_ASSERT(n.orig == s);
    T_EQ_INT(n.orig_len, len);
    for (i = 0; i <= len; i++) {
        T_EQ_INT(text_norm_map_start(&n, i), i);
        T_EQ_INT(text_norm_map_end(&n, i), i);
    }
    text_norm_fini(&n);
}

static void test_french_identity(void)
{
    struct text_norm n;
    /* Accents, ligatures, guillemets, the euro sign: nothing to change. */
    const char *t = "Le numéro de téléphone à côté : ça coûte 12 € « naïve » Œuvre, "
                    "Ærø, Straße, ĳ, ő, Élève à l'école, façade, où, maïs, cœur, ÀÉÎÕÜ ÿ";

    text_norm_init(&n, VIGIE_SCAN_INPUT_MAX);
    T_EQ_INT(norm_str(&n, t), VIGIE_OK);
    T_ASSERT(n.text == t);
    T_EQ_INT(n.len, strlen(t));
    T_EQ_INT(n.nsegs, 0);
    T_EQ_INT(text_norm_map_start(&n, 5), 5);
    T_EQ_INT(text_norm_map_end(&n, n.len), strlen(t));
    text_norm_fini(&n);
}

static void test_latin1_words(void)
{
    /* The word loop skips ASCII and C3 pairs eight bytes at a time: an
     * accent at each offset of a word, then a change, must give the same
     * view and map as a byte-by-byte look; ill-formed C3 sequences and pairs
     * across two words leave the word loop for the careful path. */
    struct text_norm n;
    char in[64], want[64];
    size_t k;

    text_norm_init(&n, VIGIE_SCAN_INPUT_MAX);
    for (k = 0; k < 10; k++) {
        memset(in, 'a', k);
        memcpy(in + k, "\xC3\xA9\xC2\xA0x\xC3\xA9", 8);
        in[k + 8] = '\0';
        memset(want, 'a', k);
        memcpy(want + k, "\xC3\xA9 x\xC3\xA9", 7);
        want[k + 7] = '\0';
        T_EQ_INT(norm_str(&n, in), VIGIE_OK);
        T_EQ_STR(view(&n), want);
        T_EQ_INT(n.nsegs, 1);
        T_EQ_INT(text_norm_map_start(&n, k + 2), k + 2);
        T_EQ_INT(text_norm_map_end(&n, k + 3), k + 4);
        T_EQ_INT(text_norm_map_end(&n, k + 6), k + 7);
    }
    T_EQ_INT(norm_str(&n, "aaaaaa\xC3" "Azz"), VIGIE_OK);
    T_EQ_STR(view(&n), "aaaaaa\xEF\xBF\xBD" "Azz");
    T_EQ_INT(norm_str(&n, "aaaaaaa\xC3\xA9" "bbbbbbb"), VIGIE_OK);
    T_EQ_INT(n.nsegs, 0);
    T_EQ_INT(norm_str(&n, "\xC3\xA9\xA9" "aaaaa"), VIGIE_OK);
    T_EQ_STR(view(&n), "\xC3\xA9\xEF\xBF\xBD" "aaaaa");
    T_EQ_INT(norm_str(&n, "\xC3\xC3\xA9" "aaaaa"), VIGIE_OK);
    T_EQ_STR(view(&n), "\xEF\xBF\xBD\xC3\xA9" "aaaaa");
    text_norm_fini(&n);
}

static void test_zwsp_in_email(void)
{
    struct text_norm n;
    const char *s = "jean.dupont@exam\xE2\x80\x8Bple.fr";

    text_norm_init(&n, VIGIE_SCAN_INPUT_MAX);
    T_EQ_INT(norm_str(&n, s), VIGIE_OK);
    T_EQ_STR(view(&n), "jean.dupont@example.fr");
    T_EQ_INT(n.nsegs, 1);
    T_EQ_INT(n.segs[0].norm_off, 16);
    T_EQ_INT(n.segs[0].norm_len, 0);
    T_EQ_INT(n.segs[0].orig_off, 16);
    T_EQ_INT(n.segs[0].orig_len, 3);
    /* The whole address covers the whole original, ZWSP included. */
    T_EQ_INT(text_norm_map_start(&n, 0), 0);
    T_EQ_INT(text_norm_map_end(&n, n.len), strlen(s));
    /* "jean.dupont@exam" stops before the ZWSP... */
    T_EQ_INT(text_norm_map_end(&n, 16), 16);
    /* ...and "ple.fr" starts after it. */
    T_EQ_INT(text_norm_map_start(&n, 16), 19);
    T_EQ_INT(text_norm_map_start(&n, 15), 15);
    T_EQ_INT(text_norm_map_end(&n, 17), 20);
    T_EQ_INT(text_norm_map_start(&n, n.len), strlen(s));
    text_norm_fini(&n);
}

static void test_fullwidth_phone(void)
{
    struct text_norm n;
    /* Five groups of two full-width digits (3 bytes each), ASCII spaces. */
    const char *s = "\xEF\xBC\x90\xEF\xBC\x96 \xEF\xBC\x91\xEF\xBC\x92 \xEF\xBC\x93\xEF\xBC\x94 "
                    "\xEF\xBC\x95\xEF\xBC\x96 \xEF\xBC\x97\xEF\xBC\x98";
    size_t g;

    text_norm_init(&n, VIGIE_SCAN_INPUT_MAX);
    T_EQ_INT(norm_str(&n, s), VIGIE_OK);
    T_EQ_STR(view(&n), "06 12 34 56 78");
    T_EQ_INT(n.nsegs, 10);
    for (g = 0; g < 5; g++) {
        /* Group g: view [3g, 3g + 2), original [7g, 7g + 6). */
        T_EQ_INT(text_norm_map_start(&n, 3 * g), 7 * g);
        T_EQ_INT(text_norm_map_end(&n, 3 * g + 2), 7 * g + 6);
        /* The second digit alone. */
        T_EQ_INT(text_norm_map_start(&n, 3 * g + 1), 7 * g + 3);
        T_EQ_INT(text_norm_map_end(&n, 3 * g + 1), 7 * g + 3);
    }
    T_EQ_INT(text_norm_map_start(&n, 2), 6); /* the ASCII space */
    T_EQ_INT(text_norm_map_end(&n, 3), 7);
    T_EQ_INT(text_norm_map_end(&n, n.len), strlen(s));
    /* Full-width letters and signs fold too. */
    T_EQ_INT(norm_str(&n, "\xEF\xBC\xA1\xEF\xBD\x9A\xEF\xBC\xA0\xEF\xBC\x8D\xEF\xBD\x9E"),
             VIGIE_OK);
    T_EQ_STR(view(&n), "Az@-~");
    text_norm_fini(&n);
}

static void test_spaces(void)
{
    struct text_norm n;

    text_norm_init(&n, VIGIE_SCAN_INPUT_MAX);
    /* NBSP, NNBSP, thin space, ideographic space, line separator, MMSP. */
    T_EQ_INT(norm_str(&n, "06\xC2\xA0" "12\xE2\x80\xAF" "34\xE2\x80\x89" "56\xE3\x80\x80"
                          "78\xE2\x80\xA8" "9\xE2\x81\x9F" "0\xE1\x9A\x80" "1"),
             VIGIE_OK);
    T_EQ_STR(view(&n), "06 12 34 56 78 9 0 1");
    T_EQ_INT(n.nsegs, 7);
    /* "12" after the NBSP: view 3..5 is original 4..6. */
    T_EQ_INT(text_norm_map_start(&n, 3), 4);
    T_EQ_INT(text_norm_map_end(&n, 5), 6);
    /* The NBSP itself is one view byte for two original bytes. */
    T_EQ_INT(text_norm_map_start(&n, 2), 2);
    T_EQ_INT(text_norm_map_end(&n, 3), 4);
    text_norm_fini(&n);
}

static void test_dashes(void)
{
    struct text_norm n;

    text_norm_init(&n, VIGIE_SCAN_INPUT_MAX);
    T_EQ_INT(norm_str(&n, "a\xE2\x80\x90" "b\xE2\x80\x93" "c\xE2\x80\x94" "d\xE2\x80\x95"
                          "e\xE2\x88\x92" "f\xEF\xB9\x98" "g\xEF\xB9\xA3" "h\xEF\xBC\x8D" "i"),
             VIGIE_OK);
    T_EQ_STR(view(&n), "a-b-c-d-e-f-g-h-i");
    T_EQ_INT(norm_str(&n, "x\xEF\xB9\xABy"), VIGIE_OK); /* small commercial at */
    T_EQ_STR(view(&n), "x@y");
    text_norm_fini(&n);
}

static void test_digits(void)
{
    struct text_norm n;

    text_norm_init(&n, VIGIE_SCAN_INPUT_MAX);
    /* Arabic-Indic 0 6 1 2, then extended Arabic-Indic 3 4. */
    T_EQ_INT(norm_str(&n, "\xD9\xA0\xD9\xA6\xD9\xA1\xD9\xA2 \xDB\xB3\xDB\xB4"), VIGIE_OK);
    T_EQ_STR(view(&n), "0612 34");
    T_EQ_INT(text_norm_map_start(&n, 5), 9);
    T_EQ_INT(text_norm_map_end(&n, 7), 13);
    /* Devanagari 9 8 7, Thai 5, Bengali 1. */
    T_EQ_INT(norm_str(&n, "tel \xE0\xA5\xAF\xE0\xA5\xAE\xE0\xA5\xAD\xE0\xB9\x95\xE0\xA7\xA7"),
             VIGIE_OK);
    T_EQ_STR(view(&n), "tel 98751");
    /* Four-byte digits: mathematical bold 0, monospace 9, Adlam 4, segmented 7. */
    T_EQ_INT(norm_str(&n, "\xF0\x9D\x9F\x8E\xF0\x9D\x9F\xBF\xF0\x9E\xA5\x94\xF0\x9F\xAF\xB7"),
             VIGIE_OK);
    T_EQ_STR(view(&n), "0947");
    T_EQ_INT(text_norm_map_start(&n, 2), 8);
    T_EQ_INT(text_norm_map_end(&n, 3), 12);
    text_norm_fini(&n);
}

static void test_lookalikes(void)
{
    struct text_norm n;
    /* Cyrillic capital O (D0 9E) in place of the Latin one, then a Greek
     * capital Omicron (CE 9F) and Cyrillic small a, e, o, p, c (Latin-looking). */
    const char *s = "FR76 3000 6000 \xD0\x9E" "123 \xCE\x9F "
                    "\xD0\xB0\xD0\xB5\xD0\xBE\xD1\x80\xD1\x81";

    text_norm_init(&n, VIGIE_SCAN_INPUT_MAX);
    T_EQ_INT(norm_str(&n, s), VIGIE_OK);
    T_EQ_STR(view(&n), "FR76 3000 6000 O123 O aeopc");
    T_EQ_INT(text_norm_map_start(&n, 15), 15);
    T_EQ_INT(text_norm_map_end(&n, 16), 17);
    T_EQ_INT(text_norm_map_start(&n, 16), 17);
    /* Ordinary Cyrillic and Greek letters without a Latin twin stay. */
    T_EQ_INT(norm_str(&n, "\xD0\x96\xD0\xBB \xCE\xBB\xCE\xBD"), VIGIE_OK); /* Жл λν */
    T_EQ_INT(n.nsegs, 0);
    text_norm_fini(&n);
}

static void test_removed_format_chars(void)
{
    struct text_norm n;
    /* soft hyphen, RLO, PDF, LRI, tag LATIN A (4 bytes), BOM, VS16, WJ, CGJ */
    const char *s = "ab\xC2\xAD" "cd\xE2\x80\xAE" "ef\xE2\x80\xAC" "gh\xE2\x81\xA6"
                    "ij\xF3\xA0\x81\x81" "kl\xEF\xBB\xBF" "mn\xEF\xB8\x8F" "op\xE2\x81\xA0"
                    "qr\xCD\x8F" "st";

    text_norm_init(&n, VIGIE_SCAN_INPUT_MAX);
    T_EQ_INT(norm_str(&n, s), VIGIE_OK);
    T_EQ_STR(view(&n), "abcdefghijklmnopqrst");
    T_EQ_INT(n.nsegs, 9);
    /* "ij" (original 19..21) then "kl" (25..27): the tag character sits
     * between view bytes 9 and 10 and stays outside a span that ends or
     * starts there. */
    T_EQ_INT(text_norm_map_end(&n, 10), 21);
    T_EQ_INT(text_norm_map_start(&n, 10), 25);
    /* A span across it covers it. */
    T_EQ_INT(text_norm_map_start(&n, 9), 20);
    T_EQ_INT(text_norm_map_end(&n, 11), 26);
    text_norm_fini(&n);
}

static void test_bom_and_edges(void)
{
    struct text_norm n;
    const char *s = "\xEF\xBB\xBF" "abc\xE2\x80\x8B";

    text_norm_init(&n, VIGIE_SCAN_INPUT_MAX);
    T_EQ_INT(norm_str(&n, s), VIGIE_OK);
    T_EQ_STR(view(&n), "abc");
    T_EQ_INT(n.nsegs, 2);
    /* A removed character at the edge of a span stays outside it. */
    T_EQ_INT(text_norm_map_start(&n, 0), 3);
    T_EQ_INT(text_norm_map_end(&n, 3), 6);
    T_EQ_INT(text_norm_map_end(&n, 0), 0);
    /* noff == len maps to orig_len: past the trailing ZWSP. */
    T_EQ_INT(text_norm_map_start(&n, 3), 9);
    /* Only removed characters: an empty view. */
    T_EQ_INT(norm_str(&n, "\xE2\x80\x8B\xEF\xBB\xBF"), VIGIE_OK);
    T_EQ_INT(n.len, 0);
    T_EQ_INT(n.nsegs, 2);
    T_EQ_INT(text_norm_map_start(&n, 0), 6);
    T_EQ_INT(text_norm_map_end(&n, 0), 0);
    /* Removed characters next to a replaced one, all at one view offset. */
    T_EQ_INT(norm_str(&n, "x\xE2\x80\x8B\xE2\x80\x8C\xEF\xBC\x91\xE2\x80\x8D" "y"), VIGIE_OK);
    T_EQ_STR(view(&n), "x1y");
    T_EQ_INT(text_norm_map_start(&n, 1), 7);
    T_EQ_INT(text_norm_map_end(&n, 2), 10);
    T_EQ_INT(text_norm_map_start(&n, 2), 13);
    T_EQ_INT(text_norm_map_end(&n, 1), 1);
    text_norm_fini(&n);
}

static void test_invalid_utf8(void)
{
    struct text_norm n;

    text_norm_init(&n, VIGIE_SCAN_INPUT_MAX);
    /* lone continuation */
    T_EQ_INT(norm_str(&n, "a\x80z"), VIGIE_OK);
    T_ASSERT(view_is(&n, "a" FFFD "z", 5));
    T_EQ_INT(text_norm_map_start(&n, 1), 1);
    T_EQ_INT(text_norm_map_start(&n, 3), 1);
    T_EQ_INT(text_norm_map_end(&n, 4), 2);
    T_EQ_INT(text_norm_map_end(&n, 2), 2);
    T_EQ_INT(text_norm_map_start(&n, 4), 2);
    /* truncated two-byte sequence, at the end and before ASCII */
    T_EQ_INT(norm_str(&n, "ab\xC3"), VIGIE_OK);
    T_ASSERT(view_is(&n, "ab" FFFD, 5));
    T_EQ_INT(text_norm_map_end(&n, 5), 3);
    T_EQ_INT(norm_str(&n, "\xC3" "a"), VIGIE_OK);
    T_ASSERT(view_is(&n, FFFD "a", 4));
    /* overlong '/': C0 is never a lead byte, AF is a stray continuation */
    T_EQ_INT(norm_str(&n, "\xC0\xAF"), VIGIE_OK);
    T_ASSERT(view_is(&n, FFFD FFFD, 6));
    T_EQ_INT(n.nsegs, 2);
    T_EQ_INT(text_norm_map_start(&n, 3), 1);
    T_EQ_INT(text_norm_map_end(&n, 3), 1);
    /* surrogate U+D800 */
    T_EQ_INT(norm_str(&n, "\xED\xA0\x80"), VIGIE_OK);
    T_ASSERT(view_is(&n, FFFD FFFD FFFD, 9));
    T_EQ_INT(n.nsegs, 3);
    T_EQ_INT(text_norm_map_start(&n, 6), 2);
    T_EQ_INT(text_norm_map_end(&n, 6), 2);
    /* past U+10FFFF, and three-byte overlong */
    T_EQ_INT(norm_str(&n, "\xF5\xF4\x90\x80\x80\xE0\x80\xAF"), VIGIE_OK);
    T_EQ_INT(n.len, 8 * 3);
    T_EQ_INT(n.nsegs, 8);
    /* truncated three-byte sequence in the middle of text */
    T_EQ_INT(norm_str(&n, "x\xE2\x82y"), VIGIE_OK);
    T_ASSERT(view_is(&n, "x" FFFD FFFD "y", 8));
    T_EQ_INT(text_norm_map_start(&n, 7), 3);
    /* U+FFFD itself is valid and kept without a copy. */
    T_EQ_INT(norm_str(&n, "x" FFFD), VIGIE_OK);
    T_EQ_INT(n.nsegs, 0);
    T_ASSERT(utf8_valid(n.text, n.len));
    text_norm_fini(&n);
}

static void test_too_big(void)
{
    struct text_norm n;
    char s[11] = "0123456789";
    char bad[10];

    text_norm_init(&n, 10);
    T_EQ_INT(text_normalise(&n, s, 11), VIGIE_ERR_TOO_BIG);
    T_EQ_INT(n.len, 0);
    T_EQ_INT(n.nsegs, 0);
    T_EQ_INT(text_normalise(&n, s, 10), VIGIE_OK);
    T_ASSERT(n.text == s);
    /* Ten invalid bytes at the cap: the view (30 bytes) may exceed it. */
    memset(bad, 0xFF, sizeof(bad));
    T_EQ_INT(text_normalise(&n, bad, sizeof(bad)), VIGIE_OK);
    T_EQ_INT(n.len, 30);
    T_EQ_INT(n.nsegs, 10);
    T_ASSERT(utf8_valid(n.text, n.len));
    text_norm_fini(&n);
    /* A cap of 0 accepts only the empty input. */
    text_norm_init(&n, 0);
    T_EQ_INT(text_normalise(&n, "", 0), VIGIE_OK);
    T_EQ_INT(text_normalise(&n, "a", 1), VIGIE_ERR_TOO_BIG);
    text_norm_fini(&n);
    /* A huge cap must not wrap the view's cap. */
    text_norm_init(&n, SIZE_MAX);
    T_EQ_INT(norm_str(&n, "a\xC2\xA0" "b"), VIGIE_OK);
    T_EQ_STR(view(&n), "a b");
    text_norm_fini(&n);
}

static void test_reuse(void)
{
    struct text_norm n;
    const char *a = "n\xC2\xB0 \xEF\xBC\x91\xEF\xBC\x92\xE2\x80\x8B" "3";
    const char *b = "plain ascii";
    const char *c = "\x80" "b";
    int round;

    text_norm_init(&n, VIGIE_SCAN_INPUT_MAX);
    for (round = 0; round < 3; round++) {
        T_EQ_INT(norm_str(&n, a), VIGIE_OK);
        T_EQ_STR(view(&n), "n\xC2\xB0 123");
        T_EQ_INT(n.nsegs, 3);
        T_EQ_INT(n.orig_len, strlen(a));
        T_EQ_INT(text_norm_map_end(&n, n.len), strlen(a));
        T_EQ_INT(norm_str(&n, b), VIGIE_OK);
        T_ASSERT(n.text == b);
        T_EQ_INT(n.nsegs, 0);
        T_EQ_INT(text_norm_map_start(&n, 3), 3);
        T_EQ_INT(norm_str(&n, c), VIGIE_OK);
        T_ASSERT(view_is(&n, FFFD "b", 4));
        T_EQ_INT(n.nsegs, 1);
        T_EQ_INT(text_norm_map_start(&n, 3), 1);
    }
    /* A failure in between leaves an empty view, and the next call works. */
    T_EQ_INT(text_normalise(&n, NULL, 3), VIGIE_ERR_INVAL);
    T_EQ_INT(n.len, 0);
    T_EQ_INT(norm_str(&n, a), VIGIE_OK);
    T_EQ_STR(view(&n), "n\xC2\xB0 123");
    text_norm_fini(&n);
    text_norm_fini(&n); /* twice is harmless */
}

static void test_empty_and_zeroed(void)
{
    struct text_norm n;
    struct text_norm z;

    memset(&z, 0, sizeof(z));
    text_norm_fini(&z);
    text_norm_init(&n, 100);
    T_EQ_INT(text_normalise(&n, NULL, 0), VIGIE_OK);
    T_EQ_INT(n.len, 0);
    T_ASSERT(n.text != NULL);
    T_EQ_INT(text_norm_map_start(&n, 0), 0);
    T_EQ_INT(text_norm_map_end(&n, 0), 0);
    T_EQ_INT(text_normalise(&n, "", 0), VIGIE_OK);
    T_EQ_INT(n.len, 0);
    text_norm_fini(&n);
}

/* A long input whose change comes late, with runs of unchanged text around
 * many changes: exercises the prefix copy and the growth of both arrays. */
static void test_long_inputs(void)
{
    struct text_norm n;
    size_t len = 100000, i, k;
    char *s = malloc(len);

    T_ASSERT(s != NULL);
    if (s == NULL)
        return;
    text_norm_init(&n, len);
    memset(s, 'a', len);
    memcpy(s + len - 2, "\xC2\xA0", 2);
    T_EQ_INT(text_normalise(&n, s, len), VIGIE_OK);
    T_EQ_INT(n.len, len - 1);
    T_EQ_INT(n.text[len - 2], ' ');
    T_EQ_INT(text_norm_map_end(&n, len - 1), len);
    /* Every tenth byte starts an invalid byte, a removed char or a digit. */
    for (i = 0; i + 10 <= len; i += 10) {
        memcpy(s + i, "abcdefghij", 10);
        if (i % 30 == 0)
            s[i + 3] = (char)0xFF;
        else if (i % 30 == 10)
            memcpy(s + i + 3, "\xE2\x80\x8B", 3);
        else
            memcpy(s + i + 3, "\xD9\xA7", 2);
    }
    T_EQ_INT(text_normalise(&n, s, len), VIGIE_OK);
    T_ASSERT(utf8_valid(n.text, n.len));
    T_EQ_INT(n.nsegs, len / 10);
    for (k = 0; k < n.nsegs; k++) {
        T_EQ_INT(n.segs[k].orig_off, k * 10 + 3);
        if (k > 0)
            T_ASSERT(n.segs[k].norm_off >= n.segs[k - 1].norm_off + n.segs[k - 1].norm_len);
    }
    T_EQ_INT(text_norm_map_end(&n, n.len), len);
    /* All invalid after an ASCII prefix: the view grows to three times the
     * input, past anything reserved when the first change was seen. */
    memset(s, 'a', 100);
    memset(s + 100, 0x80, len - 100);
    T_EQ_INT(text_normalise(&n, s, len), VIGIE_OK);
    T_EQ_INT(n.len, 100 + 3 * (len - 100));
    T_EQ_INT(n.nsegs, len - 100);
    T_ASSERT(memcmp(n.text + n.len - 3, FFFD, 3) == 0);
    T_EQ_INT(text_norm_map_start(&n, n.len - 1), len - 1);
    T_ASSERT(utf8_valid(n.text, n.len));
    text_norm_fini(&n);
    free(s);
}

/* ---- every code point against a reference ------------------------------ */

static int replaced_by(char *out, char c)
{
    *out = c;
    return 2;
}

/* The rules written out as plain lists, independently of the sorted table in
 * normalise.c. Returns 0 to keep, 1 to remove, 2 to replace with *out. */
static int reference(uint32_t cp, char *out)
{
    static const uint32_t removed[][2] = {
        {0x00AD, 0x00AD}, {0x034F, 0x034F}, {0x061C, 0x061C},   {0x115F, 0x1160},
        {0x17B4, 0x17B5}, {0x180B, 0x180F}, {0x200B, 0x200F},   {0x202A, 0x202E},
        {0x2060, 0x206F}, {0x3164, 0x3164}, {0xFE00, 0xFE0F},   {0xFEFF, 0xFEFF},
        {0xFFA0, 0xFFA0}, {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A}, {0xE0000, 0xE0FFF},
    };
    static const uint32_t spaces[][2] = {
        {0x00A0, 0x00A0}, {0x1680, 0x1680}, {0x2000, 0x200A}, {0x2028, 0x2029},
        {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000},
    };
    static const uint32_t dashes[][2] = {
        {0x2010, 0x2015}, {0x2212, 0x2212}, {0xFE58, 0xFE58}, {0xFE63, 0xFE63},
    };
    static const uint32_t zeros[] = {
        0x0660,  0x06F0,  0x07C0,  0x0966,  0x09E6,  0x0A66,  0x0AE6,  0x0B66,  0x0BE6,
        0x0C66,  0x0CE6,  0x0D66,  0x0DE6,  0x0E50,  0x0ED0,  0x0F20,  0x1040,  0x1090,
        0x17E0,  0x1810,  0x1946,  0x19D0,  0x1A80,  0x1A90,  0x1B50,  0x1BB0,  0x1C40,
        0x1C50,  0xA620,  0xA8D0,  0xA900,  0xA9D0,  0xA9F0,  0xAA50,  0xABF0,  0xFF10,
        0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0,
        0x11650, 0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60,
        0x16AC0, 0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0,
        0x1E950, 0x1FBF0,
        /* Unicode 15 and 16 */
        0x10D40, 0x116D0, 0x116DA, 0x11BF0, 0x11F50, 0x16130, 0x16D70, 0x1CCF0, 0x1E4F0,
        0x1E5F1,
    };
    static const struct {
        uint32_t cp;
        char latin;
    } twins[] = {
        {0x0410, 'A'}, {0x0412, 'B'}, {0x0415, 'E'}, {0x041A, 'K'}, {0x041C, 'M'}, {0x041D, 'H'},
        {0x041E, 'O'}, {0x0420, 'P'}, {0x0421, 'C'}, {0x0422, 'T'}, {0x0425, 'X'}, {0x0423, 'Y'},
        {0x0430, 'a'}, {0x0435, 'e'}, {0x043E, 'o'}, {0x0440, 'p'}, {0x0441, 'c'}, {0x0443, 'y'},
        {0x0445, 'x'}, {0x0456, 'i'}, {0x0458, 'j'}, {0x0455, 's'}, {0x0405, 'S'}, {0x0406, 'I'},
        {0x0408, 'J'}, {0x0391, 'A'}, {0x0392, 'B'}, {0x0395, 'E'}, {0x0396, 'Z'}, {0x0397, 'H'},
        {0x0399, 'I'}, {0x039A, 'K'}, {0x039C, 'M'}, {0x039D, 'N'}, {0x039F, 'O'}, {0x03A1, 'P'},
        {0x03A4, 'T'}, {0x03A5, 'Y'}, {0x03A7, 'X'}, {0x03BF, 'o'},
    };
    size_t i;

    for (i = 0; i < sizeof(removed) / sizeof(removed[0]); i++)
        if (cp >= removed[i][0] && cp <= removed[i][1])
            return 1;
    for (i = 0; i < sizeof(spaces) / sizeof(spaces[0]); i++)
        if (cp >= spaces[i][0] && cp <= spaces[i][1])
            return replaced_by(out, ' ');
    for (i = 0; i < sizeof(dashes) / sizeof(dashes[0]); i++)
        if (cp >= dashes[i][0] && cp <= dashes[i][1])
            return replaced_by(out, '-');
    if (cp >= 0xFF01 && cp <= 0xFF5E)
        return replaced_by(out, (char)(cp - 0xFF01 + 0x21));
    if (cp == 0xFE6B)
        return replaced_by(out, '@');
    for (i = 0; i < sizeof(zeros) / sizeof(zeros[0]); i++)
        if (cp >= zeros[i] && cp < zeros[i] + 10)
            return replaced_by(out, (char)('0' + (cp - zeros[i])));
    for (i = 0; i < sizeof(twins) / sizeof(twins[0]); i++)
        if (cp == twins[i].cp)
            return replaced_by(out, twins[i].latin);
    return 0;
}

static void test_every_code_point(void)
{
    struct text_norm n;
    uint32_t cp;
    char s[8];
    long bad = 0;

    text_norm_init(&n, 16);
    for (cp = 0; cp <= 0x10FFFF; cp++) {
        size_t len;
        char want = 0;
        int r, ok;

        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        len = utf8_encode(cp, s);
        r = reference(cp, &want);
        if (text_normalise(&n, s, len) != VIGIE_OK) {
            ok = 0;
        } else if (r == 0) {
            ok = n.text == s && n.len == len && n.nsegs == 0;
        } else if (r == 1) {
            ok = n.len == 0 && n.nsegs == 1 && text_norm_map_start(&n, 0) == len;
        } else {
            ok = n.len == 1 && n.text[0] == want && n.nsegs == 1 &&
                 text_norm_map_start(&n, 0) == 0 && text_norm_map_end(&n, 1) == len;
        }
        if (!ok && bad++ < 10)
            T_FAIL("U+%04lX: expected %s '%c', view of %zu bytes", (unsigned long)cp,
                   r == 0 ? "kept" : r == 1 ? "removed" : "replaced by", want ? want : ' ',
                   n.len);
    }
    T_EQ_INT(bad, 0);
    text_norm_fini(&n);
}

/* ---- random mixes against a piece-by-piece oracle ----------------------- */

enum piece_kind {
    P_KEEP = 0, /* unchanged */
    P_REPL,     /* one character replaced by the view string */
    P_DROP,     /* one character removed */
    P_BAD       /* every byte invalid, each one U+FFFD */
};

struct piece {
    const char *orig;
    size_t olen;
    const char *view;
    size_t vlen;
    enum piece_kind kind;
    int lead; /* ends in a lead byte: must be followed by ASCII, or it could
                 complete into a valid character */
};

#define PC(o, v, k, l) {o, sizeof(o) - 1, v, sizeof(v) - 1, k, l}

static const struct piece pieces[] = {
    PC("a", "a", P_KEEP, 0),
    PC("Z", "Z", P_KEEP, 0),
    PC("7", "7", P_KEEP, 0),
    PC(" ", " ", P_KEEP, 0),
    PC("@", "@", P_KEEP, 0),
    PC(".", ".", P_KEEP, 0),
    PC("\t", "\t", P_KEEP, 0),
    PC("\n", "\n", P_KEEP, 0),
    PC("\0", "\0", P_KEEP, 0),
    PC("\xC3\xA9", "\xC3\xA9", P_KEEP, 0),                 /* é */
    PC("\xC3\xA7", "\xC3\xA7", P_KEEP, 0),                 /* ç */
    PC("\xC5\x92", "\xC5\x92", P_KEEP, 0),                 /* Œ */
    PC("\xC2\xAB", "\xC2\xAB", P_KEEP, 0),                 /* « */
    PC("\xC2\x80", "\xC2\x80", P_KEEP, 0),                 /* U+0080 */
    PC("\xD0\xB6", "\xD0\xB6", P_KEEP, 0),                 /* ж */
    PC("\xE2\x82\xAC", "\xE2\x82\xAC", P_KEEP, 0),         /* € */
    PC("\xE4\xB8\xAD", "\xE4\xB8\xAD", P_KEEP, 0),         /* 中 */
    PC(FFFD, FFFD, P_KEEP, 0),                             /* a real U+FFFD */
    PC("\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80", P_KEEP, 0), /* emoji */
    PC("\xF4\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF", P_KEEP, 0), /* U+10FFFF */
    PC("\xC2\xA0", " ", P_REPL, 0),                        /* NBSP */
    PC("\xE2\x80\xAF", " ", P_REPL, 0),                    /* NNBSP */
    PC("\xE3\x80\x80", " ", P_REPL, 0),                    /* ideographic space */
    PC("\xEF\xBC\x90", "0", P_REPL, 0),                    /* full-width 0 */
    PC("\xEF\xBC\x99", "9", P_REPL, 0),                    /* full-width 9 */
    PC("\xEF\xBC\xA1", "A", P_REPL, 0),                    /* full-width A */
    PC("\xEF\xBC\xA0", "@", P_REPL, 0),                    /* full-width @ */
    PC("\xD9\xA3", "3", P_REPL, 0),                        /* Arabic-Indic 3 */
    PC("\xDB\xB5", "5", P_REPL, 0),                        /* extended Arabic-Indic 5 */
    PC("\xE0\xA5\xAD", "7", P_REPL, 0),                    /* Devanagari 7 */
    PC("\xE1\xA0\x90", "0", P_REPL, 0),                    /* Mongolian 0 */
    PC("\xF0\x9D\x9F\x8E", "0", P_REPL, 0),                /* mathematical bold 0 */
    PC("\xF0\x9D\x9F\xBF", "9", P_REPL, 0),                /* mathematical monospace 9 */
    PC("\xF0\x9F\xAF\xB0", "0", P_REPL, 0),                /* segmented 0 */
    PC("\xD0\x9E", "O", P_REPL, 0),                        /* Cyrillic О */
    PC("\xD0\xBE", "o", P_REPL, 0),                        /* Cyrillic о */
    PC("\xCE\x9F", "O", P_REPL, 0),                        /* Greek Ο */
    PC("\xE2\x80\x93", "-", P_REPL, 0),                    /* en dash */
    PC("\xE2\x88\x92", "-", P_REPL, 0),                    /* minus sign */
    PC("\xEF\xB9\xAB", "@", P_REPL, 0),                    /* small commercial at */
    PC("\xE2\x80\x8B", "", P_DROP, 0),                     /* ZWSP */
    PC("\xC2\xAD", "", P_DROP, 0),                         /* soft hyphen */
    PC("\xEF\xBB\xBF", "", P_DROP, 0),                     /* BOM */
    PC("\xE2\x80\xAE", "", P_DROP, 0),                     /* RLO */
    PC("\xE2\x81\xA0", "", P_DROP, 0),                     /* word joiner */
    PC("\xEF\xB8\x8F", "", P_DROP, 0),                     /* VS16 */
    PC("\xF3\xA0\x81\x81", "", P_DROP, 0),                 /* tag LATIN A */
    PC("\xCD\x8F", "", P_DROP, 0),                         /* CGJ */
    PC("\xE1\xA0\x8B", "", P_DROP, 0),                     /* Mongolian FVS1 */
    PC("\x80", FFFD, P_BAD, 0),
    PC("\xBF", FFFD, P_BAD, 0),
    PC("\xFF", FFFD, P_BAD, 0),
    PC("\xF5", FFFD, P_BAD, 0),
    PC("\xC0\xAF", FFFD FFFD, P_BAD, 0),
    PC("\xED\xA0\x80", FFFD FFFD FFFD, P_BAD, 0),
    PC("\xC3", FFFD, P_BAD, 1),
    PC("\xED", FFFD, P_BAD, 1),
    PC("\xE0", FFFD, P_BAD, 1),
    PC("\xF4", FFFD, P_BAD, 1),
    PC("\xE2\x82", FFFD FFFD, P_BAD, 1),
    PC("\xF0\x9F\x98", FFFD FFFD FFFD, P_BAD, 1),
};

#define NPIECES (sizeof(pieces) / sizeof(pieces[0]))

/* One character of the oracle: where it is in both texts, and whether the
 * normaliser should have recorded a segment for it. */
struct unit {
    size_t oo, ol, vo, vl;
    int changed;
};

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint32_t rng(void)
{
    /* xorshift64*: deterministic, so a failure reproduces. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * UINT64_C(0x2545F4914F6CDD1D)) >> 32);
}

#define MAX_PIECES 48

static void check_one(struct text_norm *n, struct text_norm *sub, const char *s, size_t len,
                      const char *want, size_t wantlen, const struct unit *u, size_t nu,
                      int *fails)
{
    size_t k, i, nchanged = 0, lead_removed = 0, trail_removed = 0;

#define CHECK(c)                                                                          \
    do {                                                                                  \
        if (!(c)) {                                                                       \
            if ((*fails)++ < 10)                                                          \
                T_FAIL("%s (input of %zu bytes)", #c, len);                               \
            return;                                                                       \
        }                                                                                 \
    } while (0)

    CHECK(text_normalise(n, s, len) == VIGIE_OK);
    CHECK(n->len == wantlen && memcmp(n->text, want, wantlen) == 0);
    CHECK(utf8_valid(n->text, n->len));
    for (k = 0; k < nu; k++)
        nchanged += u[k].changed != 0;
    CHECK(n->nsegs == nchanged);
    if (nchanged == 0)
        CHECK(n->text == s);
    for (k = 0; k < n->nsegs; k++) {
        if (k > 0) {
            CHECK(n->segs[k].norm_off >= n->segs[k - 1].norm_off + n->segs[k - 1].norm_len);
            CHECK(n->segs[k].orig_off >= n->segs[k - 1].orig_off + n->segs[k - 1].orig_len);
        }
    }

    /* Exact positions, character by character. */
    for (k = 0; k < nu; k++) {
        size_t j;

        if (u[k].vl == 0)
            continue;
        CHECK(text_norm_map_start(n, u[k].vo) == u[k].oo);
        CHECK(text_norm_map_end(n, u[k].vo + u[k].vl) == u[k].oo + u[k].ol);
        for (j = 1; j < u[k].vl; j++) {
            if (u[k].changed) {
                CHECK(text_norm_map_start(n, u[k].vo + j) == u[k].oo);
                CHECK(text_norm_map_end(n, u[k].vo + j) == u[k].oo + u[k].ol);
            } else {
                CHECK(text_norm_map_start(n, u[k].vo + j) == u[k].oo + j);
                CHECK(text_norm_map_end(n, u[k].vo + j) == u[k].oo + j);
            }
        }
    }
    for (k = 0; k < nu && u[k].vl == 0; k++)
        lead_removed += u[k].ol;
    for (k = nu; k > 0 && u[k - 1].vl == 0; k--)
        trail_removed += u[k - 1].ol;
    CHECK(text_norm_map_end(n, 0) == 0);
    CHECK(text_norm_map_start(n, n->len) == len);
    if (n->len > 0) {
        CHECK(text_norm_map_start(n, 0) == lead_removed);
        CHECK(text_norm_map_end(n, n->len) == len - trail_removed);
    }

    /* The general properties, which hold whatever the oracle says. */
    for (i = 0; i < n->len; i++) {
        CHECK(text_norm_map_start(n, i) <= text_norm_map_start(n, i + 1));
        CHECK(text_norm_map_end(n, i) <= text_norm_map_end(n, i + 1));
        CHECK(text_norm_map_start(n, i) < text_norm_map_end(n, i + 1));
        CHECK(text_norm_map_end(n, i + 1) <= len);
    }
    /* Each view character comes from original bytes that normalise to it. */
    for (i = 0; i < n->len;) {
        size_t cl = view_char_len(n, i);
        size_t os = text_norm_map_start(n, i), oe = text_norm_map_end(n, i + cl);

        CHECK(i + cl <= n->len);
        CHECK(os < oe);
        CHECK(text_normalise(sub, s + os, oe - os) == VIGIE_OK);
        CHECK(sub->len == cl && memcmp(sub->text, n->text + i, cl) == 0);
        i += cl;
    }
#undef CHECK
}

static void test_random_mixes(void)
{
    struct text_norm n, sub;
    char s[MAX_PIECES * 4], want[MAX_PIECES * 9];
    struct unit u[MAX_PIECES * 3];
    int iter, fails = 0;

    text_norm_init(&n, sizeof(s));
    text_norm_init(&sub, sizeof(s));
    for (iter = 0; iter < 5000; iter++) {
        size_t len = 0, wlen = 0, nu = 0, np, k;
        int need_ascii = 0;
        /* Mostly ASCII, like real text, with a heavier mix now and then. */
        unsigned ascii_bias = iter % 4 == 0 ? 0 : 60;

        np = rng() % (MAX_PIECES + 1);
        for (k = 0; k < np; k++) {
            const struct piece *p;
            size_t b;

            if (need_ascii || rng() % 100 < ascii_bias)
                p = &pieces[rng() % 9]; /* the ASCII pieces come first */
            else
                p = &pieces[rng() % NPIECES];
            need_ascii = p->lead;
            if (p->kind == P_BAD) {
                for (b = 0; b < p->olen; b++) {
                    u[nu].oo = len + b;
                    u[nu].ol = 1;
                    u[nu].vo = wlen + 3 * b;
                    u[nu].vl = 3;
                    u[nu].changed = 1;
                    nu++;
                }
            } else {
                u[nu].oo = len;
                u[nu].ol = p->olen;
                u[nu].vo = wlen;
                u[nu].vl = p->vlen;
                u[nu].changed = p->kind != P_KEEP;
                nu++;
            }
            memcpy(s + len, p->orig, p->olen);
            len += p->olen;
            memcpy(want + wlen, p->view, p->vlen);
            wlen += p->vlen;
        }
        check_one(&n, &sub, s, len, want, wlen, u, nu, &fails);
    }
    T_EQ_INT(fails, 0);
    text_norm_fini(&sub);
    text_norm_fini(&n);
}

/* ---- folding ------------------------------------------------------------ */

static const char *fold(const char *s, size_t outsz)
{
    static char out[256];
    size_t n;

    memset(out, '#', sizeof(out));
    n = text_fold(s, strlen(s), out, outsz);
    if (n > outsz || out[outsz] != '#')
        return "(overflow)";
    out[n] = '\0';
    return out;
}

static void test_fold(void)
{
    T_EQ_STR(fold("T\xC3\xA9l\xC3\xA9phone", 64), "telephone");      /* Téléphone */
    T_EQ_STR(fold("\xC5\x92UVRE", 64), "oeuvre");                    /* ŒUVRE */
    T_EQ_STR(fold("c\xC5\x93ur", 64), "coeur");                      /* cœur */
    T_EQ_STR(fold("\xC3\x87" "A \xC3\x86ON", 64), "ca aeon");        /* ÇA ÆON */
    T_EQ_STR(fold("Stra\xC3\x9F" "e", 64), "strasse");               /* Straße */
    T_EQ_STR(fold("\xC5\x81\xC3\xB3" "d\xC5\xBA", 64), "lodz");      /* Łódź */
    T_EQ_STR(fold("\xC4\x8C" "e\xC5\xA1tina", 64), "cestina");       /* Čeština */
    T_EQ_STR(fold("\xC3\x85" "ngstr\xC3\xB6m \xC3\xBF\xC5\xB8", 64), "angstrom yy");
    T_EQ_STR(fold("MiXeD 123 !?", 64), "mixed 123 !?");
    /* Symbols, thorn and non-Latin text are copied as they are. */
    T_EQ_STR(fold("2\xC3\x97" "3 \xC3\xBE \xD0\x96 \xE4\xB8\xAD", 64),
             "2\xC3\x97" "3 \xC3\xBE \xD0\x96 \xE4\xB8\xAD");
    /* Invalid bytes are copied one by one. */
    T_EQ_STR(fold("A\xC3" "B\xFF", 64), "a\xC3" "b\xFF");
    /* Truncation: never past outsz, never half a character. */
    T_EQ_STR(fold("abc", 2), "ab");
    T_EQ_STR(fold("abc", 0), "");
    T_EQ_STR(fold("\xC5\x92UVRE", 1), "");
    T_EQ_STR(fold("\xC5\x92UVRE", 2), "oe");
    T_EQ_STR(fold("\xC5\x92UVRE", 3), "oeu");
    T_EQ_STR(fold("a\xC3\xA9", 2), "ae");
    T_EQ_STR(fold("a\xE4\xB8\xAD", 3), "a");
    T_EQ_STR(fold("a\xE4\xB8\xAD", 4), "a\xE4\xB8\xAD");
    /* Folding never lengthens. */
    T_EQ_INT(text_fold("\xC3\x9F\xC3\x86\xC5\x92\xC4\xB2", 8, (char[8]){0}, 8), 8);
}

/* More changed characters than VIGIE_NORM_SEGS_MAX: refused, not mapped at
 * 32 bytes of segment per input byte. One fewer: accepted. */
static void test_segment_cap(void)
{
    size_t nbad = VIGIE_NORM_SEGS_MAX + 1, i;
    char *src = malloc(nbad);
    struct text_norm n;

    T_ASSERT(src != NULL);
    if (src == NULL)
        return;
    for (i = 0; i < nbad; i++)
        src[i] = (char)0x80; /* each a lone continuation byte: one segment */
    text_norm_init(&n, 4u << 20);
    T_EQ_INT(text_normalise(&n, src, nbad), VIGIE_ERR_TOO_BIG);
    T_EQ_INT(text_normalise(&n, src, nbad - 1), VIGIE_OK);
    T_EQ_INT(n.nsegs, VIGIE_NORM_SEGS_MAX);
    T_EQ_INT(n.len, 3 * (nbad - 1));
    text_norm_fini(&n);
    free(src);
}

int main(void)
{
    T_RUN(test_ascii_identity);
    T_RUN(test_french_identity);
    T_RUN(test_latin1_words);
    T_RUN(test_zwsp_in_email);
    T_RUN(test_fullwidth_phone);
    T_RUN(test_spaces);
    T_RUN(test_dashes);
    T_RUN(test_digits);
    T_RUN(test_lookalikes);
    T_RUN(test_removed_format_chars);
    T_RUN(test_bom_and_edges);
    T_RUN(test_invalid_utf8);
    T_RUN(test_too_big);
    T_RUN(test_reuse);
    T_RUN(test_empty_and_zeroed);
    T_RUN(test_long_inputs);
    T_RUN(test_every_code_point);
    T_RUN(test_random_mixes);
    T_RUN(test_fold);
    T_RUN(test_segment_cap);
    return T_DONE();
}
