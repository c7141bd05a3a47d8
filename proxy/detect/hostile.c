/*
 * The load-time hostile-input check: a pattern that backtracks
 * catastrophically must be refused when its pack loads, naming the rule, not
 * discovered in production when a prompt stalls a worker.
 *
 * For each rule we generate subjects of VIGIE_HOSTILE_SUBJECT_SIZE bytes from
 * its own examples (an example repeated; an example's prefix repeated, so the
 * match keeps almost succeeding; the example with separators squeezed out)
 * and from generic shapes (runs of one letter, one digit, digit-space pairs,
 * '@'-dense text, ...), each followed by a byte that makes the tail fail. The
 * rule's regex then scans each subject from end to end, as the scanner would
 * without a prefilter. Refused:
 *   - any regex engine error (match or depth limit, JIT stack): in a scan
 *     that error would block every request containing such text;
 *   - more than VIGIE_HOSTILE_BUDGET_MS of CPU time on one subject. Linear
 *     patterns take well under a millisecond here; catastrophic ones take
 *     seconds or trip the match limit, so the budget leaves a wide margin for
 *     a loaded machine or a sanitizer build.
 * The time is the thread's CPU time, not wall time, so a busy neighbour does
 * not make a good pattern fail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detect/detect_int.h"

static double cpu_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Fills buf[0..size) with unit repeated, then a '\x01' byte (never part of a
 * detector's alphabet) so that the run fails at its end, then tail (an
 * example of the rule). The tail matters: PCRE2 skips a subject at once when
 * a character every match needs is missing, so a subject without one would
 * never exercise the backtracking we are looking for. */
static size_t fill(char *buf, size_t size, const char *unit, size_t ulen, const char *tail,
                   size_t tlen)
{
    size_t o = 0, body;

    if (tlen > size / 4)
        tlen = 0;
    body = size - tlen - 1;
    if (ulen == 0) {
        memset(buf, 'a', body);
        o = body;
    } else {
        while (o + ulen <= body) {
            memcpy(buf + o, unit, ulen);
            o += ulen;
        }
        /* Pad with ASCII rather than cut a UTF-8 sequence. */
        while (o < body)
            buf[o++] = (unit[0] & 0x80) ? 'a' : unit[0];
    }
    buf[o++] = '\x01';
    memcpy(buf + o, tail, tlen);
    return o + tlen;
}

/* Length of s[0..len) without an incomplete character at its end: subjects
 * are built from cut examples and must stay valid UTF-8. */
static size_t utf8_trim(const char *s, size_t len)
{
    size_t start = len, need;
    unsigned char c;

    while (start > 0 && ((unsigned char)s[start - 1] & 0xC0) == 0x80)
        start--;
    if (start == 0)
        return 0;
    c = (unsigned char)s[start - 1];
    if (c < 0x80)
        return len;
    need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    return len - (start - 1) == need ? len : start - 1;
}

/* Scans subject end to end with r's regex; returns the error or 0, and the
 * CPU milliseconds spent. */
static int run(const struct detect_rule *r, pcre2_match_data *md, pcre2_match_context *mctx,
               const char *s, size_t n, double *ms)
{
    double t0 = cpu_ms();
    size_t pos = 0, calls = 0;
    uint32_t opts = 0;
    int rc = 0;

    while (pos < n) {
        PCRE2_SIZE *ov;
        /* Validate the subject's UTF-8 once, on the first call: PCRE2 would
         * otherwise re-check all of it on every call, a quadratic cost that
         * is ours, not the pattern's. */
        rc = pcre2_match(r->code, (PCRE2_SPTR)s, n, pos, opts, md, mctx);
        opts = PCRE2_NO_UTF_CHECK;
        if (rc == PCRE2_ERROR_NOMATCH) {
            rc = 0;
            break;
        }
        if (rc < 0)
            break;
        rc = 0;
        ov = pcre2_get_ovector_pointer(md);
        /* Like the scanner after a rejected match: one character on. That
         * is the worst case of the scanner's loop. */
        pos = ov[0] + 1;
        while (pos < n && ((unsigned char)s[pos] & 0xC0) == 0x80)
            pos++;
        /* Reading the thread's CPU clock is a system call: sample it. */
        if ((++calls & 255) == 0 && cpu_ms() - t0 > VIGIE_HOSTILE_BUDGET_MS)
            break;
    }
    *ms = cpu_ms() - t0;
    return rc;
}

static void describe(char *out, size_t sz, const char *unit, size_t ulen)
{
    size_t i, o = 0;

    for (i = 0; i < ulen && o + 6 < sz && i < 24; i++) {
        unsigned char c = (unsigned char)unit[i];
        if (c < 0x20 || c >= 0x7f)
            o += (size_t)snprintf(out + o, sz - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    if (i < ulen && o + 4 < sz)
        o += (size_t)snprintf(out + o, sz - o, "...");
    out[o] = '\0';
}

int detect_hostile_check(const struct detect_rule *r, const char *const *examples,
                         size_t nexamples, char *why, size_t whysz)
{
    static const char *const generic[] = {
        "a", "A", "0", "0 ", "1.", "a.", "a-", "a@", "@a.", "a ", "Aa", "A0", "0a",
        "a.a@", "00 ", "+3", "-0",
    };
    const size_t size = VIGIE_HOSTILE_SUBJECT_SIZE;
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    pcre2_jit_stack *jit = NULL;
    pcre2_match_context *mctx = detect_match_context_new(&jit);
    char *buf = malloc(size), unit[VIGIE_VALUE_MAX], d[128];
    size_t i, k, ulen, n, tlen = nexamples > 0 ? strlen(examples[0]) : 0;
    const char *tail = nexamples > 0 ? examples[0] : "";
    int rc = VIGIE_OK, e;
    double ms;

    if (md == NULL || mctx == NULL || buf == NULL) {
        vigie_errf(why, whysz, "out of memory");
        rc = VIGIE_ERR_NOMEM;
        goto out;
    }
    /* Subjects from the rule's examples first: they speak its alphabet. */
    for (i = 0; i < nexamples && i < 4; i++) {
        const char *ex = examples[i];
        size_t len = strlen(ex);
        for (k = 0; k < 3; k++) {
            if (k == 0) {
                ulen = len < sizeof(unit) ? len : sizeof(unit) - 1;
                memcpy(unit, ex, ulen);
                ulen = utf8_trim(unit, ulen);
            } else if (k == 1) {
                /* Most of the example: the regex gets far, then fails. */
                ulen = len > 1 ? len - 1 : len;
                if (ulen >= sizeof(unit))
                    ulen = sizeof(unit) - 1;
                memcpy(unit, ex, ulen);
                ulen = utf8_trim(unit, ulen);
            } else {
                /* Without separators: long runs of one class. */
                size_t j;
                ulen = 0;
                for (j = 0; j < len && ulen < sizeof(unit) - 1; j++)
                    if (ex[j] != ' ' && ex[j] != '.' && ex[j] != '-')
                        unit[ulen++] = ex[j];
                ulen = utf8_trim(unit, ulen);
            }
            if (ulen == 0)
                continue;
            n = fill(buf, size, unit, ulen, tail, tlen);
            e = run(r, md, mctx, buf, n, &ms);
            if (e != 0 || ms > VIGIE_HOSTILE_BUDGET_MS)
                goto slow;
        }
    }
    for (i = 0; i < sizeof(generic) / sizeof(generic[0]); i++) {
        ulen = strlen(generic[i]);
        memcpy(unit, generic[i], ulen);
        n = fill(buf, size, unit, ulen, tail, tlen);
        e = run(r, md, mctx, buf, n, &ms);
        if (e != 0 || ms > VIGIE_HOSTILE_BUDGET_MS)
            goto slow;
    }
    goto out;
slow:
    describe(d, sizeof(d), unit, ulen);
    if (e != 0) {
        char msg[128];
        if (pcre2_get_error_message(e, (PCRE2_UCHAR *)msg, sizeof(msg)) < 0)
            snprintf(msg, sizeof(msg), "error %d", e);
        vigie_errf(why, whysz,
                   "the regex engine gave up (%s) on %zu KiB of hostile input (\"%s\" repeated); "
                   "look for nested or overlapping quantifiers",
                   msg, size / 1024, d);
    } else {
        vigie_errf(why, whysz,
                   "too slow on hostile input: %.0f ms for %zu KiB of \"%s\" repeated (budget "
                   "%u ms); look for nested or overlapping quantifiers",
                   ms, size / 1024, d, VIGIE_HOSTILE_BUDGET_MS);
    }
    rc = VIGIE_ERR_CONFIG;
out:
    free(buf);
    pcre2_match_data_free(md);
    pcre2_match_context_free(mctx);
    if (jit != NULL)
        pcre2_jit_stack_free(jit);
    return rc;
}
