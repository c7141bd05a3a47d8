/*
 * text: a normalised view of UTF-8 text for detection, with an exact map back
 * to the original bytes.
 *
 * Evasion defeats regexes on the surface form: a zero-width space inside an
 * e-mail address, full-width or Arabic-Indic digits in a phone number, a
 * narrow no-break space between digit groups, a Cyrillic "О" in an IBAN. The
 * detectors therefore run on a normalised copy in which
 *   - default-ignorable and format characters (U+200B..U+200F, U+00AD,
 *     U+2060..U+206F, U+FEFF, bidi controls, variation selectors, tag
 *     characters, ...) are removed;
 *   - every Unicode decimal digit (Nd) is folded to its ASCII digit;
 *   - full-width ASCII (U+FF01..U+FF5E) is folded to ASCII;
 *   - no-break and other unusual spaces (U+00A0, U+2000..U+200A, U+202F,
 *     U+205F, U+3000, U+2028/9, ...) become ' ';
 *   - Unicode dashes and minus signs become '-';
 *   - a small table of Latin look-alike letters (Cyrillic, Greek) become
 *     their Latin twin;
 *   - each byte of invalid UTF-8 becomes U+FFFD, so the view is always valid
 *     UTF-8 (the regex engine is then run without re-validating it).
 * ASCII bytes are never changed, so the view of ASCII text is the text
 * itself and costs no copy.
 *
 * Masking is applied to the ORIGINAL text: a span [s, e) of the view maps to
 * [text_norm_map_start(s), text_norm_map_end(e)) of the original. A removed
 * character at the edge of a span stays outside it; one inside it is covered.
 *
 * text never performs I/O; its buffers are capped and wiped when released.
 */
#ifndef VIGIE_TEXT_H
#define VIGIE_TEXT_H

#include <stddef.h>

#include "core/core.h"

/* One changed character: norm_len bytes of the view (0 if removed) stand for
 * orig_len bytes of the original. Bytes between segments are identical in
 * both, with a constant shift. */
struct text_seg {
    size_t norm_off;
    size_t norm_len;
    size_t orig_off;
    size_t orig_len;
};

struct text_norm {
    /* Read-only for callers after text_normalise(). */
    const char *text; /* the view: either the original or buf.data */
    size_t len;
    const char *orig;
    size_t orig_len;
    struct text_seg *segs;
    size_t nsegs;
    /* Private. */
    size_t segs_cap;
    struct vigie_buf buf;
};

/* Prepares a normaliser that accepts input up to max bytes. Reusable: call
 * text_normalise() as often as needed, text_norm_fini() once. */
void text_norm_init(struct text_norm *n, size_t max);

/* Builds the view of src[0..len). src must stay alive and unchanged while the
 * view is used (the view may point into it). Returns VIGIE_OK,
 * VIGIE_ERR_TOO_BIG if len exceeds the cap or more than VIGIE_NORM_SEGS_MAX
 * characters would change, or VIGIE_ERR_NOMEM. */
int text_normalise(struct text_norm *n, const char *src, size_t len);

/* Offset of the original byte where view byte noff comes from (noff == len
 * maps to orig_len). */
size_t text_norm_map_start(const struct text_norm *n, size_t noff);

/* For an exclusive end noff_end > 0 of a view span: the original offset just
 * past the character that produced view byte noff_end - 1. map_end(0) == 0. */
size_t text_norm_map_end(const struct text_norm *n, size_t noff_end);

/* Wipes and frees the view's memory. Accepts a zeroed struct. */
void text_norm_fini(struct text_norm *n);

/*
 * Folding for matching words (context words, keywords): ASCII letters to
 * lower case and Latin-1 / Latin Extended-A letters with diacritics to their
 * base letter in lower case ("Téléphone" -> "telephone", "ŒUVRE" -> "oeuvre").
 * Other bytes are copied. Writes at most outsz bytes (never more than the
 * input length, since folding never lengthens... except "Œ"/"Æ"/"ß" which
 * become two letters from two bytes). Returns the number of bytes written.
 */
size_t text_fold(const char *in, size_t len, char *out, size_t outsz);

#endif
