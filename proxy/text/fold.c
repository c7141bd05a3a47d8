/*
 * Folding for word matching: context words and keywords are compared after
 * both sides went through text_fold(), so "Téléphone", "TELEPHONE" and
 * "telephone" meet. Only ASCII and the two Latin blocks that European
 * languages write with (Latin-1 Supplement, Latin Extended-A) are folded; any
 * other byte is copied as it is.
 */
#include <string.h>

#include "text/text.h"

/* The fold of U+00C0..U+017F, two bytes encoded as C3 80..C5 BF. "" keeps
 * the character: symbols (× ÷) and letters that are not a base letter plus
 * a diacritic (thorn, kra, eng, 'n) would only be mangled by a guess. Every
 * entry is at most two bytes, so folding never lengthens the text. */
static const char *const latin[0x180 - 0xC0] = {
    /* U+00C0 */ "a", "a", "a", "a", "a", "a", "ae", "c",
    /* U+00C8 */ "e", "e", "e", "e", "i", "i", "i", "i",
    /* U+00D0 */ "d", "n", "o", "o", "o", "o", "o", "",
    /* U+00D8 */ "o", "u", "u", "u", "u", "y", "", "ss",
    /* U+00E0 */ "a", "a", "a", "a", "a", "a", "ae", "c",
    /* U+00E8 */ "e", "e", "e", "e", "i", "i", "i", "i",
    /* U+00F0 */ "d", "n", "o", "o", "o", "o", "o", "",
    /* U+00F8 */ "o", "u", "u", "u", "u", "y", "", "y",
    /* U+0100 */ "a", "a", "a", "a", "a", "a", "c", "c",
    /* U+0108 */ "c", "c", "c", "c", "c", "c", "d", "d",
    /* U+0110 */ "d", "d", "e", "e", "e", "e", "e", "e",
    /* U+0118 */ "e", "e", "e", "e", "g", "g", "g", "g",
    /* U+0120 */ "g", "g", "g", "g", "h", "h", "h", "h",
    /* U+0128 */ "i", "i", "i", "i", "i", "i", "i", "i",
    /* U+0130 */ "i", "i", "ij", "ij", "j", "j", "k", "k",
    /* U+0138 */ "", "l", "l", "l", "l", "l", "l", "l",
    /* U+0140 */ "l", "l", "l", "n", "n", "n", "n", "n",
    /* U+0148 */ "n", "", "", "", "o", "o", "o", "o",
    /* U+0150 */ "o", "o", "oe", "oe", "r", "r", "r", "r",
    /* U+0158 */ "r", "r", "s", "s", "s", "s", "s", "s",
    /* U+0160 */ "s", "s", "t", "t", "t", "t", "t", "t",
    /* U+0168 */ "u", "u", "u", "u", "u", "u", "u", "u",
    /* U+0170 */ "u", "u", "u", "u", "w", "w", "y", "y",
    /* U+0178 */ "y", "z", "z", "z", "z", "z", "z", "s",
};

/* Length of the unit starting at s[0] that is copied whole: a well-formed
 * UTF-8 sequence, or a single byte when it is ASCII or not the start of one.
 * Copying whole sequences keeps a truncated output well-formed. */
static size_t unit_len(const unsigned char *s, size_t avail)
{
    size_t need, k;

    if (s[0] < 0xC2 || s[0] > 0xF4)
        return 1;
    need = s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4;
    if (avail < need)
        return 1;
    for (k = 1; k < need; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 1;
    return need;
}

size_t text_fold(const char *in, size_t len, char *out, size_t outsz)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t i = 0, o = 0;

    while (i < len) {
        unsigned c = s[i];
        const char *f = NULL;
        size_t flen, ulen;

        if (c < 0x80) {
            if (o == outsz)
                break;
            out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
            i++;
            continue;
        }
        ulen = unit_len(s + i, len - i);
        if (ulen == 2 && c >= 0xC3 && c <= 0xC5) {
            unsigned cp = ((c & 0x1F) << 6) | (s[i + 1] & 0x3F);

            if (cp >= 0xC0 && *latin[cp - 0xC0] != '\0')
                f = latin[cp - 0xC0];
        }
        /* Stop at the first unit that does not fit whole rather than write
         * half a character or half a ligature. */
        if (f != NULL) {
            flen = strlen(f);
            if (outsz - o < flen)
                break;
            memcpy(out + o, f, flen);
            o += flen;
        } else {
            if (outsz - o < ulen)
                break;
            memcpy(out + o, in + i, ulen);
            o += ulen;
        }
        i += ulen;
    }
    return o;
}
