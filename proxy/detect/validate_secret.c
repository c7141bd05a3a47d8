/*
 * Secrets: the entropy validator (raw).
 *
 * A credential is random; the strings that share its shape in a prompt are
 * not: a placeholder ("ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), a word
 * after "token:", a run of one letter. gitleaks tells them apart with the
 * Shannon entropy of the candidate; this is that measure, with one fixed
 * threshold: at least 3.0 bits per byte.
 *
 * What is measured. The matched text of the normalised view, byte by byte
 * (tokens are ASCII; any other byte simply counts as a symbol), after one
 * documented cut: a known-prefix shape is skipped, because a vendor prefix is
 * constant and carries no secret. The prefix shape is up to three segments of
 * a lower-case letter followed by at most 11 lower-case letters or digits and
 * ended by '_' or '-': "ghp_", "github_pat_", "sk-proj-", "sk-ant-api03-",
 * "sk_live_", "xoxb-", "glpat-", "hf_". A segment is skipped only while at
 * least BODY_MIN bytes remain after it, so a short value is never cut down to
 * nothing. Upper-case prefixes ("AKIA", "AIza") have no separator and are
 * measured with the body: at their length it makes no difference.
 *
 * What 3.0 bits per byte means. A string of n bytes holds at most log2(n)
 * bits per byte, so anything shorter than 8 bytes is refused, and 8 bytes
 * pass only if all differ. A random base62 body of 20 or more characters
 * scores about 4 and more; English and French words of 16+ letters score
 * about 2.9 to 3.3 ("anticonstitutionnellement" 3.17), so the packs pair this
 * validator with a shape (length, digits, a keyword) rather than rely on it
 * alone. Packs use it on generic tokens and on long random bodies, never on
 * short fixed formats (an AWS key id has 16 random characters: too few for
 * the measure to be safe).
 *
 * No libm (the library does not link it): log2 is computed here for integers
 * >= 1, exactly for powers of two and within 2^-32 elsewhere (checked against
 * libm's log2 for 1..5e6). The comparison allows 1e-9 bits of rounding so
 * that exact ties ("abcdefgh": 3.0) pass.
 */
#include "detect/validate.h"

#define ENTROPY_MIN_BITS 3.0 /* per byte, of the body */
#define PREFIX_SEGS_MAX  3   /* "sk-ant-api03-" has three */
#define PREFIX_SEG_MAX   12  /* letters and digits before the '_' or '-' */
#define BODY_MIN         16  /* bytes that must remain after a skipped segment */

/* log2(x) for an integer x >= 1: the integer part by halving (at most 64
 * steps for a size_t), the fraction bit by bit by squaring the mantissa. */
static double log2_count(size_t v)
{
    double x = (double)v, r = 0.0, bit = 1.0;
    int i;

    while (x >= 2.0) {
        x /= 2.0;
        r += 1.0;
    }
    for (i = 0; i < 32; i++) {
        x *= x;
        bit /= 2.0;
        if (x >= 2.0) {
            x /= 2.0;
            r += bit;
        }
    }
    return r;
}

/* Length of one prefix segment at s[0..len) ("ghp_" -> 4), or 0. */
static size_t prefix_segment(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || s[0] < 'a' || s[0] > 'z')
        return 0;
    for (i = 1; i < len && i <= PREFIX_SEG_MAX; i++) {
        char c = s[i];
        if (c == '_' || c == '-')
            return i + 1;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return 0;
}

/* Contract: s[0..len) is matched text as written (not canonical). Returns 1
 * when its body (s without a known-prefix shape, see above) has a Shannon
 * entropy of at least ENTROPY_MIN_BITS bits per byte, 0 otherwise, including
 * for NULL and empty input. Reads only s[0..len); one pass plus 256 counters. */
int detect_valid_entropy(const char *s, size_t len)
{
    size_t count[256] = {0};
    size_t i, seg, segs = 0;
    double sum = 0.0;

    if (s == NULL || len == 0)
        return 0;
    while (segs < PREFIX_SEGS_MAX && (seg = prefix_segment(s, len)) > 0 && len - seg >= BODY_MIN) {
        s += seg;
        len -= seg;
        segs++;
    }
    for (i = 0; i < len; i++)
        count[(unsigned char)s[i]]++;
    /* n * H = n log2 n - sum(c log2 c): one division avoided, same test. */
    for (i = 0; i < 256; i++)
        if (count[i] > 1)
            sum += (double)count[i] * log2_count(count[i]);
    return (double)len * log2_count(len) - sum >= (double)len * ENTROPY_MIN_BITS - 1e-9;
}
