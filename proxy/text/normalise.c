/*
 * The detection view of a text and its map back to the original bytes.
 *
 * Almost every prompt is ASCII or ordinary accented prose, and neither needs
 * any change, so the scan is built around not copying: ASCII and the Latin-1
 * letters (U+00C0..U+00FF, kept as they are) are skipped sixteen bytes at a
 * time, other multi-byte characters are decoded only to be looked up,
 * and the view is the input itself until the first character that does need
 * a change. Only then is the unchanged prefix copied into the view buffer,
 * and from there on unchanged runs are copied in one memcpy each. Looking a
 * character up is one load for the two-byte range (Latin, Greek, Cyrillic,
 * Arabic letters), one bit test for the blocks of 64 code points that hold
 * nothing to change (CJK, Indic letters, emoji), and a binary search over a
 * sorted range table for the rest.
 *
 * Every changed character gets one segment, in input order. Since a change
 * never produces more than one ASCII byte (or the three bytes of U+FFFD for
 * one invalid byte), a segment's view bytes all come from that one character,
 * and mapping a view offset back is a binary search over the segments.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "text/text.h"

/* U+0080..U+07FF, the two-byte sequences, are looked up directly: they are
 * the Latin, Greek, Cyrillic, Hebrew and Arabic letters of most prose, so one
 * load per letter matters. 0 keeps the character, TB_DROP removes it, any
 * other value is the ASCII byte that replaces it. */
#define TB_DROP 0xFF
#define TB(cp) [(cp) - 0x80]

/* The look-alikes are only the Cyrillic and Greek letters drawn like a Latin
 * letter in common fonts: enough to defeat "FR76 3000 6000 О..." with a
 * Cyrillic O, without pretending to be a confusables table. */
static const unsigned char two_byte[0x800 - 0x80] = {
    TB(0x00A0) = ' ',     /* no-break space */
    TB(0x00AD) = TB_DROP, /* soft hyphen */
    TB(0x034F) = TB_DROP, /* combining grapheme joiner */
    /* Greek capitals, and small omicron */
    TB(0x0391) = 'A', TB(0x0392) = 'B', TB(0x0395) = 'E', TB(0x0396) = 'Z', TB(0x0397) = 'H',
    TB(0x0399) = 'I', TB(0x039A) = 'K', TB(0x039C) = 'M', TB(0x039D) = 'N', TB(0x039F) = 'O',
    TB(0x03A1) = 'P', TB(0x03A4) = 'T', TB(0x03A5) = 'Y', TB(0x03A7) = 'X', TB(0x03BF) = 'o',
    /* Cyrillic capitals */
    TB(0x0405) = 'S', TB(0x0406) = 'I', TB(0x0408) = 'J', TB(0x0410) = 'A', TB(0x0412) = 'B',
    TB(0x0415) = 'E', TB(0x041A) = 'K', TB(0x041C) = 'M', TB(0x041D) = 'H', TB(0x041E) = 'O',
    TB(0x0420) = 'P', TB(0x0421) = 'C', TB(0x0422) = 'T', TB(0x0423) = 'Y', TB(0x0425) = 'X',
    /* Cyrillic small letters */
    TB(0x0430) = 'a', TB(0x0435) = 'e', TB(0x043E) = 'o', TB(0x0440) = 'p', TB(0x0441) = 'c',
    TB(0x0443) = 'y', TB(0x0445) = 'x', TB(0x0455) = 's', TB(0x0456) = 'i', TB(0x0458) = 'j',
    TB(0x061C) = TB_DROP, /* Arabic letter mark */
    TB(0x0660) = '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', /* Arabic-Indic */
    TB(0x06F0) = '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', /* extended Arabic-Indic */
    TB(0x07C0) = '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', /* NKo */
};

/* From U+0800 on, a sorted table of ranges. */
enum norm_kind {
    NORM_DROP = 0, /* remove the character */
    NORM_CONST,    /* replace every code point of the range by out */
    NORM_SEQ       /* replace lo..hi by out, out + 1, ... (digits, full-width) */
};

struct norm_range {
    uint32_t lo;
    uint32_t hi;
    uint8_t kind;
    char out;
};

/* Sorted by lo, disjoint, all >= U+0800 (checked by text_norm_init). Decimal
 * digit blocks are every Nd run of ten up to Unicode 16; U+FF10..U+FF19 fall
 * in the full-width range, which folds them the same way. */
static const struct norm_range table[] = {
    {0x0966, 0x096F, NORM_SEQ, '0'},    /* Devanagari */
    {0x09E6, 0x09EF, NORM_SEQ, '0'},    /* Bengali */
    {0x0A66, 0x0A6F, NORM_SEQ, '0'},    /* Gurmukhi */
    {0x0AE6, 0x0AEF, NORM_SEQ, '0'},    /* Gujarati */
    {0x0B66, 0x0B6F, NORM_SEQ, '0'},    /* Oriya */
    {0x0BE6, 0x0BEF, NORM_SEQ, '0'},    /* Tamil */
    {0x0C66, 0x0C6F, NORM_SEQ, '0'},    /* Telugu */
    {0x0CE6, 0x0CEF, NORM_SEQ, '0'},    /* Kannada */
    {0x0D66, 0x0D6F, NORM_SEQ, '0'},    /* Malayalam */
    {0x0DE6, 0x0DEF, NORM_SEQ, '0'},    /* Sinhala Lith */
    {0x0E50, 0x0E59, NORM_SEQ, '0'},    /* Thai */
    {0x0ED0, 0x0ED9, NORM_SEQ, '0'},    /* Lao */
    {0x0F20, 0x0F29, NORM_SEQ, '0'},    /* Tibetan */
    {0x1040, 0x1049, NORM_SEQ, '0'},    /* Myanmar */
    {0x1090, 0x1099, NORM_SEQ, '0'},    /* Myanmar Shan */
    {0x115F, 0x1160, NORM_DROP, 0},     /* Hangul choseong / jungseong fillers */
    {0x1680, 0x1680, NORM_CONST, ' '},  /* Ogham space mark */
    {0x17B4, 0x17B5, NORM_DROP, 0},     /* Khmer inherent vowels */
    {0x17E0, 0x17E9, NORM_SEQ, '0'},    /* Khmer */
    {0x180B, 0x180F, NORM_DROP, 0},     /* Mongolian variation selectors, MVS */
    {0x1810, 0x1819, NORM_SEQ, '0'},    /* Mongolian */
    {0x1946, 0x194F, NORM_SEQ, '0'},    /* Limbu */
    {0x19D0, 0x19D9, NORM_SEQ, '0'},    /* New Tai Lue */
    {0x1A80, 0x1A89, NORM_SEQ, '0'},    /* Tai Tham Hora */
    {0x1A90, 0x1A99, NORM_SEQ, '0'},    /* Tai Tham Tham */
    {0x1B50, 0x1B59, NORM_SEQ, '0'},    /* Balinese */
    {0x1BB0, 0x1BB9, NORM_SEQ, '0'},    /* Sundanese */
    {0x1C40, 0x1C49, NORM_SEQ, '0'},    /* Lepcha */
    {0x1C50, 0x1C59, NORM_SEQ, '0'},    /* Ol Chiki */
    {0x2000, 0x200A, NORM_CONST, ' '},  /* en quad .. hair space */
    {0x200B, 0x200F, NORM_DROP, 0},     /* zero-width space, ZWNJ, ZWJ, LRM, RLM */
    {0x2010, 0x2015, NORM_CONST, '-'},  /* hyphen .. horizontal bar */
    {0x2028, 0x2029, NORM_CONST, ' '},  /* line and paragraph separators */
    {0x202A, 0x202E, NORM_DROP, 0},     /* bidi embeddings and overrides */
    {0x202F, 0x202F, NORM_CONST, ' '},  /* narrow no-break space */
    {0x205F, 0x205F, NORM_CONST, ' '},  /* medium mathematical space */
    {0x2060, 0x206F, NORM_DROP, 0},     /* word joiner, invisible ops, isolates */
    {0x2212, 0x2212, NORM_CONST, '-'},  /* minus sign */
    {0x3000, 0x3000, NORM_CONST, ' '},  /* ideographic space */
    {0x3164, 0x3164, NORM_DROP, 0},     /* Hangul filler */
    {0xA620, 0xA629, NORM_SEQ, '0'},    /* Vai */
    {0xA8D0, 0xA8D9, NORM_SEQ, '0'},    /* Saurashtra */
    {0xA900, 0xA909, NORM_SEQ, '0'},    /* Kayah Li */
    {0xA9D0, 0xA9D9, NORM_SEQ, '0'},    /* Javanese */
    {0xA9F0, 0xA9F9, NORM_SEQ, '0'},    /* Myanmar Tai Laing */
    {0xAA50, 0xAA59, NORM_SEQ, '0'},    /* Cham */
    {0xABF0, 0xABF9, NORM_SEQ, '0'},    /* Meetei Mayek */
    {0xFE00, 0xFE0F, NORM_DROP, 0},     /* variation selectors */
    {0xFE58, 0xFE58, NORM_CONST, '-'},  /* small em dash */
    {0xFE63, 0xFE63, NORM_CONST, '-'},  /* small hyphen-minus */
    {0xFE6B, 0xFE6B, NORM_CONST, '@'},  /* small commercial at */
    {0xFEFF, 0xFEFF, NORM_DROP, 0},     /* byte order mark, ZWNBSP */
    {0xFF01, 0xFF5E, NORM_SEQ, '!'},    /* full-width ASCII, digits included */
    {0xFFA0, 0xFFA0, NORM_DROP, 0},     /* half-width Hangul filler */
    {0x104A0, 0x104A9, NORM_SEQ, '0'},  /* Osmanya */
    {0x10D30, 0x10D39, NORM_SEQ, '0'},  /* Hanifi Rohingya */
    {0x10D40, 0x10D49, NORM_SEQ, '0'},  /* Garay */
    {0x11066, 0x1106F, NORM_SEQ, '0'},  /* Brahmi */
    {0x110F0, 0x110F9, NORM_SEQ, '0'},  /* Sora Sompeng */
    {0x11136, 0x1113F, NORM_SEQ, '0'},  /* Chakma */
    {0x111D0, 0x111D9, NORM_SEQ, '0'},  /* Sharada */
    {0x112F0, 0x112F9, NORM_SEQ, '0'},  /* Khudawadi */
    {0x11450, 0x11459, NORM_SEQ, '0'},  /* Newa */
    {0x114D0, 0x114D9, NORM_SEQ, '0'},  /* Tirhuta */
    {0x11650, 0x11659, NORM_SEQ, '0'},  /* Modi */
    {0x116C0, 0x116C9, NORM_SEQ, '0'},  /* Takri */
    {0x116D0, 0x116D9, NORM_SEQ, '0'},  /* Myanmar Pao */
    {0x116DA, 0x116E3, NORM_SEQ, '0'},  /* Myanmar Eastern Pwo Karen */
    {0x11730, 0x11739, NORM_SEQ, '0'},  /* Ahom */
    {0x118E0, 0x118E9, NORM_SEQ, '0'},  /* Warang Citi */
    {0x11950, 0x11959, NORM_SEQ, '0'},  /* Dives Akuru */
    {0x11BF0, 0x11BF9, NORM_SEQ, '0'},  /* Sunuwar */
    {0x11C50, 0x11C59, NORM_SEQ, '0'},  /* Bhaiksuki */
    {0x11D50, 0x11D59, NORM_SEQ, '0'},  /* Masaram Gondi */
    {0x11DA0, 0x11DA9, NORM_SEQ, '0'},  /* Gunjala Gondi */
    {0x11F50, 0x11F59, NORM_SEQ, '0'},  /* Kawi */
    {0x16130, 0x16139, NORM_SEQ, '0'},  /* Gurung Khema */
    {0x16A60, 0x16A69, NORM_SEQ, '0'},  /* Mro */
    {0x16AC0, 0x16AC9, NORM_SEQ, '0'},  /* Tangsa */
    {0x16B50, 0x16B59, NORM_SEQ, '0'},  /* Pahawh Hmong */
    {0x16D70, 0x16D79, NORM_SEQ, '0'},  /* Kirat Rai */
    {0x1BCA0, 0x1BCA3, NORM_DROP, 0},   /* shorthand format controls */
    {0x1CCF0, 0x1CCF9, NORM_SEQ, '0'},  /* outlined digits */
    {0x1D173, 0x1D17A, NORM_DROP, 0},   /* musical symbol format controls */
    {0x1D7CE, 0x1D7D7, NORM_SEQ, '0'},  /* mathematical bold */
    {0x1D7D8, 0x1D7E1, NORM_SEQ, '0'},  /* mathematical double-struck */
    {0x1D7E2, 0x1D7EB, NORM_SEQ, '0'},  /* mathematical sans-serif */
    {0x1D7EC, 0x1D7F5, NORM_SEQ, '0'},  /* mathematical sans-serif bold */
    {0x1D7F6, 0x1D7FF, NORM_SEQ, '0'},  /* mathematical monospace */
    {0x1E140, 0x1E149, NORM_SEQ, '0'},  /* Nyiakeng Puachue Hmong */
    {0x1E2F0, 0x1E2F9, NORM_SEQ, '0'},  /* Wancho */
    {0x1E4F0, 0x1E4F9, NORM_SEQ, '0'},  /* Nag Mundari */
    {0x1E5F1, 0x1E5FA, NORM_SEQ, '0'},  /* Ol Onal */
    {0x1E950, 0x1E959, NORM_SEQ, '0'},  /* Adlam */
    {0x1FBF0, 0x1FBF9, NORM_SEQ, '0'},  /* segmented digits */
    {0xE0000, 0xE0FFF, NORM_DROP, 0},   /* tags, variation selectors supplement */
};

#define TABLE_LEN (sizeof(table) / sizeof(table[0]))

/* One bit per block of 64 code points below U+20000: set if some range of
 * the table touches the block. Most scripts have no entry at all (CJK,
 * Hangul, emoji) or only a few digits, so the bit spares their letters the
 * binary search. text_norm_init checks that no range lacks its bit. */
#define BLOCKS_END 0x20000u
static const uint64_t blocks[BLOCKS_END >> 12] = {
    UINT64_C(0x1AAAAAA000000000), UINT64_C(0x000264A1C4000026), UINT64_C(0x0000000000000103),
    UINT64_C(0x0000000000000021), UINT64_C(0x0000000000000000), UINT64_C(0x0000000000000000),
    UINT64_C(0x0000000000000000), UINT64_C(0x0000000000000000), UINT64_C(0x0000000000000000),
    UINT64_C(0x0000000000000000), UINT64_C(0x0000829801000000), UINT64_C(0x0000000000000000),
    UINT64_C(0x0000000000000000), UINT64_C(0x0000000000000000), UINT64_C(0x0000000000000000),
    UINT64_C(0x7B00000000000000), UINT64_C(0x0030000000040000), UINT64_C(0x206280281A0A089A),
    UINT64_C(0x0000000000000000), UINT64_C(0x0000000000000000), UINT64_C(0x0000000000000000),
    UINT64_C(0x0000000000000000), UINT64_C(0x00202A0000000010), UINT64_C(0x0000000000000000),
    UINT64_C(0x0000000000000000), UINT64_C(0x0000000000000000), UINT64_C(0x0000000000000000),
    UINT64_C(0x0004000000000000), UINT64_C(0x0008000000000000), UINT64_C(0x0000000080000020),
    UINT64_C(0x0000002000880820), UINT64_C(0x0000800000000000),
};

#define HIGH_BITS UINT64_C(0x8080808080808080)
#define LOW_7BITS UINT64_C(0x7F7F7F7F7F7F7F7F)
#define BYTES_C3 UINT64_C(0xC3C3C3C3C3C3C3C3)

/* Room the view needs past its input: a few bytes of slack, and the input
 * cap times three because an invalid byte becomes the three of U+FFFD. */
#define VIEW_SLACK 16u

/* What happens to one character: kept, removed, or replaced by view bytes. */
enum char_action {
    CHAR_KEEP = 0, /* unchanged: stays in the view as is */
    CHAR_DROP,     /* removed: no view bytes */
    CHAR_REPLACE,  /* one ASCII byte in the view */
    CHAR_INVALID   /* one invalid byte: U+FFFD in the view */
};

static const char replacement_char[3] = {'\xEF', '\xBF', '\xBD'}; /* U+FFFD */

/* Decodes one well-formed UTF-8 sequence starting with a byte >= 0x80
 * (Unicode table 3-7: the second-byte ranges after E0, ED, F0 and F4 rule out
 * overlong forms, surrogates and values past U+10FFFF). Returns its length
 * (2..4) and the code point, or 0 if s[0] does not start one. The caller then
 * treats s[0] alone as invalid and looks at the next byte afresh: a stray
 * continuation byte is invalid on its own, so every byte of an ill-formed
 * sequence becomes one U+FFFD. */
static size_t decode(const unsigned char *s, size_t avail, uint32_t *cp)
{
    unsigned c = s[0];

    if (c >= 0xC2 && c <= 0xDF) {
        if (avail < 2 || (s[1] & 0xC0) != 0x80)
            return 0;
        *cp = ((uint32_t)(c & 0x1F) << 6) | (s[1] & 0x3F);
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80;
        unsigned hi = c == 0xED ? 0x9F : 0xBF;

        if (avail < 3 || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80)
            return 0;
        *cp = ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned lo = c == 0xF0 ? 0x90 : 0x80;
        unsigned hi = c == 0xF4 ? 0x8F : 0xBF;

        if (avail < 4 || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80 ||
            (s[3] & 0xC0) != 0x80)
            return 0;
        *cp = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
              ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
        return 4;
    }
    return 0;
}

static int block_bit(uint32_t cp)
{
    return (int)((blocks[cp >> 12] >> ((cp >> 6) & 63)) & 1);
}

static enum char_action apply(const struct norm_range *r, uint32_t cp, char *out)
{
    if (r->kind == NORM_DROP)
        return CHAR_DROP;
    *out = r->kind == NORM_SEQ ? (char)(r->out + (int)(cp - r->lo)) : r->out;
    return CHAR_REPLACE;
}

/* Looks cp up; on CHAR_REPLACE, *out is the ASCII byte that stands for it.
 * *hint is the range that matched last: evasive text tends to repeat one
 * trick (a run of full-width digits, of tag characters), which then costs
 * one comparison instead of a search. */
static enum char_action classify(uint32_t cp, char *out, size_t *hint)
{
    size_t lo = 0, hi = TABLE_LEN;

    if (cp < 0x800) {
        unsigned v = two_byte[cp - 0x80];

        if (v == 0)
            return CHAR_KEEP;
        if (v == TB_DROP)
            return CHAR_DROP;
        *out = (char)v;
        return CHAR_REPLACE;
    }
    if (cp < BLOCKS_END && !block_bit(cp))
        return CHAR_KEEP;
    if (cp >= table[*hint].lo && cp <= table[*hint].hi)
        return apply(&table[*hint], cp, out);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (cp < table[mid].lo) {
            hi = mid;
        } else if (cp > table[mid].hi) {
            lo = mid + 1;
        } else {
            *hint = mid;
            return apply(&table[mid], cp, out);
        }
    }
    return CHAR_KEEP;
}

/* The input cap, recovered from the view buffer's (see text_norm_init). */
static size_t input_max(const struct text_norm *n)
{
    return (n->buf.max - VIEW_SLACK) / 3;
}

/* Makes room for one more segment. One segment per changed character, and
 * no more characters than input bytes, so the input cap bounds this too.
 * Segments hold offsets, not text, so realloc's unwiped old block is fine. */
static int grow_segs(struct text_norm *n)
{
    size_t ncap = n->segs_cap ? n->segs_cap * 2 : 64;
    struct text_seg *s;

    if (ncap > SIZE_MAX / sizeof(*s))
        return VIGIE_ERR_NOMEM;
    s = realloc(n->segs, ncap * sizeof(*s));
    if (s == NULL)
        return VIGIE_ERR_NOMEM;
    n->segs = s;
    n->segs_cap = ncap;
    return VIGIE_OK;
}

static int push_seg(struct text_norm *n, size_t norm_off, size_t norm_len, size_t orig_off,
                    size_t orig_len)
{
    struct text_seg *s;
    int rc;

    /* A text made mostly of changed characters (4 MiB of invalid bytes)
     * would otherwise cost 32 bytes of map per byte: refuse it instead. */
    if (n->nsegs >= VIGIE_NORM_SEGS_MAX)
        return VIGIE_ERR_TOO_BIG;
    if (n->nsegs == n->segs_cap && (rc = grow_segs(n)) != VIGIE_OK)
        return rc;
    s = &n->segs[n->nsegs++];
    s->norm_off = norm_off;
    s->norm_len = norm_len;
    s->orig_off = orig_off;
    s->orig_len = orig_len;
    return VIGIE_OK;
}

/* Whether the 8 bytes of w (little end first), starting on a character
 * boundary, are ASCII and whole characters U+00C0..U+00FF (lead byte C3, then
 * a continuation byte): the accented letters of French and most Western
 * languages, which the view keeps as they are (two_byte[] changes none of
 * them). Branch-free, so that prose with an accent every twenty bytes does
 * not leave the word loop, and mispredict its exit, at each one. */
static int kept_latin1_word(uint64_t w)
{
    uint64_t high = w & HIGH_BITS, x = w ^ BYTES_C3, lead, cont;

    /* Exact per-byte tests: lead has the high bit of each C3 byte, cont
     * that of each 10xxxxxx byte. */
    lead = ~(((x & LOW_7BITS) + LOW_7BITS) | x) & HIGH_BITS;
    cont = w & ~(w << 1) & HIGH_BITS;
    /* Every non-ASCII byte is a C3 or the byte right after one, which is a
     * continuation byte; no C3 in the last byte (its pair would straddle). */
    return (high == (lead | lead << 8)) & (((lead << 8) & ~cont) == 0) & ((lead >> 63) == 0);
}

/* The byte at which ASCII (and, on little-endian machines, kept Latin-1
 * letters, see kept_latin1_word) stops at or after i, or len. */
static size_t skip_ascii(const unsigned char *s, size_t i, size_t len)
{
    uint64_t w;

    /* In Cyrillic, Greek or CJK text the next character is seldom ASCII. */
    if (i < len && s[i] >= 0x80)
        return i;
#if defined(__SSE2__)
    /* The same test as kept_latin1_word on 16 bytes, with byte masks: about
     * one instruction per byte, as cheap on English as the plain ASCII test
     * and without its mispredicted exits on French. */
    while (len - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        unsigned high = (unsigned)_mm_movemask_epi8(v);
        unsigned lead = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)0xC3)));
        unsigned cont = (unsigned)_mm_movemask_epi8(
            _mm_cmpeq_epi8(_mm_and_si128(v, _mm_set1_epi8((char)0xC0)), _mm_set1_epi8((char)0x80)));
        if (!((high == ((lead | lead << 1) & 0xFFFFu)) & (((lead << 1) & ~cont) == 0) &
              ((lead >> 15) == 0)))
            return i + (size_t)__builtin_ctz(high);
        i += 16;
    }
#endif
    while (len - i >= 8) {
        memcpy(&w, s + i, 8); /* memcpy: s + i need not be aligned */
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* One test for ASCII and kept letters alike: a branch on "has a
         * non-ASCII byte" would go either way in French, word after word. */
        if (!kept_latin1_word(w)) {
            /* The lowest set bit is in the first non-ASCII byte: jumping
             * straight to it avoids a byte loop whose exit mispredicts. */
            return i + ((size_t)__builtin_ctzll(w & HIGH_BITS) >> 3);
        }
#else
        if ((w & HIGH_BITS) != 0)
            break;
#endif
        i += 8;
    }
    while (i < len && s[i] < 0x80)
        i++;
    return i;
}

void text_norm_init(struct text_norm *n, size_t max)
{
    size_t i;

    /* The table must be sorted and disjoint for the binary search, and each
     * range must have its block bits; checking costs a few hundred
     * comparisons and catches a bad edit of either at once. */
    for (i = 0; i < TABLE_LEN; i++) {
        uint32_t cp;

        VIGIE_ASSERT(table[i].lo >= 0x800 && table[i].lo <= table[i].hi);
        VIGIE_ASSERT(i == 0 || table[i - 1].hi < table[i].lo);
        for (cp = table[i].lo & ~63u; cp <= table[i].hi && cp < BLOCKS_END; cp += 64)
            VIGIE_ASSERT(block_bit(cp));
    }
    /* The view may be up to three times the input; clamp the cap so that
     * 3 * max + slack cannot wrap (input_max() then gives max back). */
    if (max > (SIZE_MAX - VIEW_SLACK) / 3)
        max = (SIZE_MAX - VIEW_SLACK) / 3;
    n->text = NULL;
    n->len = 0;
    n->orig = NULL;
    n->orig_len = 0;
    n->segs = NULL;
    n->nsegs = 0;
    n->segs_cap = 0;
    vigie_buf_init(&n->buf, 3 * max + VIEW_SLACK);
}

/* Makes room for the view to reach want bytes. out bytes are in use. */
static int view_room(struct text_norm *n, size_t out, size_t want)
{
    if (n->buf.data != NULL && want < n->buf.cap)
        return VIGIE_OK;
    n->buf.len = out;
    return vigie_buf_reserve(&n->buf, want - out);
}

int text_normalise(struct text_norm *n, const char *src, size_t len)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t i = 0;      /* next input byte to look at */
    size_t copied = 0; /* input before this is in the view (once building) */
    size_t out = 0;    /* view bytes written to buf.data (once building) */
    size_t invalid = 0;
    size_t hint = 0; /* see classify() */
    int building = 0;
    int rc;

    /* Forget the previous text first, so that no failure below leaves a
     * view of it (or of half of this one) behind. */
    vigie_buf_reset(&n->buf);
    n->nsegs = 0;
    n->text = NULL;
    n->len = 0;
    n->orig = src;
    n->orig_len = 0;
    if (src == NULL && len > 0)
        return VIGIE_ERR_INVAL;
    if (len > input_max(n))
        return VIGIE_ERR_TOO_BIG;
    n->orig_len = len;

    while (i < len) {
        uint32_t cp = 0;
        size_t clen;
        char repl = 0;
        enum char_action act;

        i = skip_ascii(s, i, len);
        if (i == len)
            break;
        clen = decode(s + i, len - i, &cp);
        if (clen == 0) {
            act = CHAR_INVALID;
            clen = 1;
        } else {
            act = classify(cp, &repl, &hint);
            if (act == CHAR_KEEP) {
                i += clen;
                continue;
            }
        }

        /* A change. The view holds at most the input plus two bytes per
         * invalid byte seen so far, so room is needed only when that bound
         * grows: on the first change and on each invalid byte. */
        if (act == CHAR_INVALID)
            invalid++;
        if (!building || act == CHAR_INVALID) {
            rc = view_room(n, out, len + 2 * invalid);
            if (rc != VIGIE_OK)
                goto fail;
            building = 1;
        }
        memcpy(n->buf.data + out, src + copied, i - copied);
        out += i - copied;
        if (act == CHAR_DROP) {
            rc = push_seg(n, out, 0, i, clen);
        } else if (act == CHAR_INVALID) {
            memcpy(n->buf.data + out, replacement_char, sizeof(replacement_char));
            rc = push_seg(n, out, sizeof(replacement_char), i, 1);
            out += sizeof(replacement_char);
        } else {
            n->buf.data[out] = repl;
            rc = push_seg(n, out, 1, i, clen);
            out++;
        }
        if (rc != VIGIE_OK)
            goto fail;
        i += clen;
        copied = i;
    }

    if (!building) {
        /* Nothing changed: the view is the input itself. */
        n->text = src != NULL ? src : "";
        n->len = len;
        return VIGIE_OK;
    }
    memcpy(n->buf.data + out, src + copied, len - copied);
    out += len - copied;
    n->buf.len = out;
    n->buf.data[out] = '\0';
    n->text = n->buf.data;
    n->len = out;
    return VIGIE_OK;

fail:
    /* vigie_buf_reserve has already freed the buffer on its failures; on a
     * segment failure the partial view must go too. */
    vigie_buf_free(&n->buf);
    n->nsegs = 0;
    n->orig_len = 0;
    return rc;
}

/* Index of the last segment with norm_off <= noff, or nsegs if none. Several
 * segments can share a norm_off: removed characters (norm_len 0) followed by
 * at most one that produced bytes there. "Last" picks the one that produced
 * the byte when there is one, and otherwise the removed character nearest
 * before noff, which is where the constant shift resumes. */
static size_t seg_at(const struct text_norm *n, size_t noff)
{
    size_t lo = 0, hi = n->nsegs;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (n->segs[mid].norm_off <= noff)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? n->nsegs : lo - 1;
}

/* Original offset of view byte noff when no segment produced it. */
static size_t shifted(const struct text_norm *n, size_t k, size_t noff)
{
    const struct text_seg *g;

    if (k == n->nsegs)
        return noff; /* before the first segment: no shift yet */
    g = &n->segs[k];
    return noff - (g->norm_off + g->norm_len) + (g->orig_off + g->orig_len);
}

size_t text_norm_map_start(const struct text_norm *n, size_t noff)
{
    size_t k;

    VIGIE_ASSERT(noff <= n->len);
    if (n->nsegs == 0)
        return noff;
    k = seg_at(n, noff);
    if (k != n->nsegs && noff < n->segs[k].norm_off + n->segs[k].norm_len)
        return n->segs[k].orig_off;
    /* noff == len lands here too, and the shift after the last segment
     * makes it orig_len: trailing removed characters are covered. */
    return shifted(n, k, noff);
}

size_t text_norm_map_end(const struct text_norm *n, size_t noff_end)
{
    size_t k, b;

    VIGIE_ASSERT(noff_end <= n->len);
    if (noff_end == 0)
        return 0;
    if (n->nsegs == 0)
        return noff_end;
    /* Ask about the last byte of the span, so that a character removed
     * right after it (norm_off == noff_end) stays outside. */
    b = noff_end - 1;
    k = seg_at(n, b);
    if (k != n->nsegs && b < n->segs[k].norm_off + n->segs[k].norm_len)
        return n->segs[k].orig_off + n->segs[k].orig_len;
    return shifted(n, k, b) + 1;
}

void text_norm_fini(struct text_norm *n)
{
    if (n->segs != NULL) {
        vigie_wipe(n->segs, n->segs_cap * sizeof(*n->segs));
        free(n->segs);
    }
    vigie_buf_free(&n->buf);
    n->segs = NULL;
    n->nsegs = 0;
    n->segs_cap = 0;
    n->text = NULL;
    n->len = 0;
    n->orig = NULL;
    n->orig_len = 0;
}
