/*
 * scan_batch: the detection engine over many prompts in one process, for the
 * quality test (tests/quality/quality.py).
 *
 *   scan_batch --rules PATH [--rules PATH]... < prompts
 *
 * Prompts arrive on stdin separated by NUL bytes. For each, one JSON line on
 * stdout: {"findings":[{"rule","category","start","end","context"}]} with byte
 * offsets in the prompt, as detect_redact reports them (all passes), or
 * {"error":"..."} when the engine refused the prompt. Loading the packs once
 * keeps a corpus of hundreds of prompts to a second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/load.h"

static const unsigned char test_key[32] = "scan_batch fixed key, tests only";

int main(int argc, char **argv)
{
    const char *paths[16];
    size_t npaths = 0, i, n;
    struct vigie_diag d;
    struct detect_set *set;
    struct detect_scanner *sc;
    struct vigie_buf in, out;
    struct detect_mask_opts opts = {test_key, sizeof(test_key), NULL, NULL, 0};
    char chunk[65536];
    size_t got;
    int a;

    for (a = 1; a + 1 < argc && npaths < 16; a += 2)
        if (strcmp(argv[a], "--rules") == 0)
            paths[npaths++] = argv[a + 1];
    if (npaths == 0) {
        fprintf(stderr, "usage: scan_batch --rules PATH... < prompts (NUL-separated)\n");
        return 2;
    }
    vigie_diag_init(&d);
    set = detect_load_paths(paths, npaths, &d);
    if (set == NULL) {
        for (i = 0; i < d.n; i++)
            fprintf(stderr, "%s\n", d.msgs[i]);
        return 2;
    }
    vigie_diag_free(&d);
    sc = detect_scanner_new(set, VIGIE_SCAN_INPUT_MAX);
    vigie_buf_init(&in, 256u << 20);
    while ((got = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
        if (vigie_buf_append(&in, chunk, got) != VIGIE_OK) {
            fprintf(stderr, "scan_batch: input too large\n");
            return 2;
        }
    vigie_buf_init(&out, 3 * VIGIE_SCAN_INPUT_MAX + 4096);
    for (i = 0; i < in.len;) {
        const char *p = in.data + i;
        size_t len = strnlen(p, in.len - i);
        struct detect_revmap *map = detect_revmap_new();
        const struct detect_finding *f;
        int blocked, rc;
        size_t k;

        vigie_buf_reset(&out);
        rc = detect_redact(sc, p, len, &opts, map, &out, &blocked);
        if (rc != VIGIE_OK) {
            printf("{\"error\":\"%s\"}\n", vigie_strerror(rc));
        } else {
            f = detect_redact_findings(sc, &n);
            printf("{\"findings\":[");
            for (k = 0; k < n; k++)
                printf("%s{\"rule\":\"%s\",\"category\":\"%s\",\"start\":%zu,\"end\":%zu,"
                       "\"context\":%s}",
                       k ? "," : "", detect_rule_id(f[k].rule), detect_rule_category(f[k].rule),
                       f[k].start, f[k].end, f[k].context ? "true" : "false");
            printf("]}\n");
        }
        detect_revmap_free(map);
        i += len + 1;
    }
    vigie_buf_free(&in);
    vigie_buf_free(&out);
    detect_scanner_free(sc);
    detect_set_free(set);
    return 0;
}
