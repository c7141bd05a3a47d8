/*
 * libFuzzer driver for normalise + scan + mask with the shipped rules.
 *
 * Invariants checked on every input (a failed check aborts, which both
 * libFuzzer and the replay test report):
 *   - a scan either succeeds or fails closed with VIGIE_ERR_MATCH /
 *     VIGIE_ERR_TOO_BIG; nothing else;
 *   - findings lie inside the input, sorted, never overlapping, non-empty;
 *   - redaction succeeds (or fails closed); when nothing is masked
 *     irreversibly, restoring the pseudonyms gives back the input exactly;
 *   - a rescan of the redacted text finds nothing that was to be masked,
 *     pseudonymised or blocked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/load.h"

static struct detect_set *set;
static struct detect_scanner *sc, *sc2;

#define CHECK(c)                                                                          \
    do {                                                                                  \
        if (!(c)) {                                                                       \
            fprintf(stderr, "fuzz_scan: invariant failed at %s:%d: %s\n", __FILE__,       \
                    __LINE__, #c);                                                        \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

static void setup(void)
{
    const char *paths[] = {VIGIE_SRC_DIR "/rules"};
    struct vigie_diag d;

    vigie_diag_init(&d);
    set = detect_load_paths(paths, 1, &d);
    if (set == NULL) {
        size_t i;
        for (i = 0; i < d.n; i++)
            fprintf(stderr, "%s\n", d.msgs[i]);
        abort();
    }
    vigie_diag_free(&d);
    sc = detect_scanner_new(set, 1 << 20);
    sc2 = detect_scanner_new(set, 4 << 20);
    CHECK(sc != NULL && sc2 != NULL);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *text = (const char *)data;
    const struct detect_finding *f, *g;
    struct detect_revmap *map;
    struct vigie_buf out, back;
    size_t n, m, i, j;
    int rc, blocked, irreversible = 0;

    if (set == NULL)
        setup();
    /* One pass: findings well-formed. */
    rc = detect_scan(sc, text, size, NULL, 0);
    if (rc != VIGIE_OK) {
        CHECK(rc == VIGIE_ERR_MATCH || rc == VIGIE_ERR_TOO_BIG);
        return 0;
    }
    f = detect_scanner_findings(sc, &n);
    for (i = 0; i < n; i++) {
        CHECK(f[i].start < f[i].end && f[i].end <= size);
        CHECK(i == 0 || f[i - 1].end <= f[i].start);
    }
    /* The full redaction, as callers run it. */
    map = detect_revmap_new();
    vigie_buf_init(&out, 8u << 20);
    vigie_buf_init(&back, 8u << 20);
    CHECK(map != NULL);
    rc = detect_redact(sc, text, size, NULL, map, &out, &blocked);
    if (rc != VIGIE_OK) {
        CHECK(rc == VIGIE_ERR_MATCH || rc == VIGIE_ERR_TOO_BIG);
        goto done;
    }
    f = detect_redact_findings(sc, &n);
    for (i = 0; i < n; i++) {
        CHECK(f[i].start < f[i].end && f[i].end <= size);
        CHECK(i == 0 || f[i - 1].start <= f[i].start);
        if (detect_rule_action(f[i].rule) == DETECT_ACT_MASK ||
            detect_rule_action(f[i].rule) == DETECT_ACT_BLOCK)
            irreversible = 1;
    }
    if (!irreversible) {
        /* Numbered tokens stand for exact bytes: restoring gives back the
         * input itself. */
        CHECK(detect_revmap_restore(map, out.data, out.len, &back) == VIGIE_OK);
        CHECK(back.len == size && memcmp(back.data, text, size) == 0);
    }
    /* The invariant: a rescan of the output finds nothing to replace. */
    rc = detect_scan(sc2, out.data, out.len, NULL, 0);
    CHECK(rc == VIGIE_OK || rc == VIGIE_ERR_MATCH);
    if (rc == VIGIE_OK) {
        g = detect_scanner_findings(sc2, &m);
        for (j = 0; j < m; j++) {
            enum detect_action a = detect_rule_action(g[j].rule);
            CHECK(a != DETECT_ACT_MASK && a != DETECT_ACT_PSEUDONYMISE && a != DETECT_ACT_BLOCK);
        }
    }
done:
    vigie_buf_free(&out);
    vigie_buf_free(&back);
    detect_revmap_free(map);
    return 0;
}
