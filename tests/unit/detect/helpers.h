/* Shared helpers for the detect unit tests: build sets from inline packs. */
#ifndef VIGIE_TEST_DETECT_HELPERS_H
#define VIGIE_TEST_DETECT_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/load.h"
#include "test.h"

/* Loads one inline pack; returns the finished set or NULL, with the
 * diagnostics joined by newlines in msgs (which the caller frees). */
static struct detect_set *pack_from(const char *yaml, char **msgs)
{
    struct vigie_diag d;
    struct detect_set *set = detect_set_new();
    struct vigie_buf all;
    size_t i;

    vigie_diag_init(&d);
    vigie_buf_init(&all, 1 << 20);
    vigie_buf_append(&all, "", 0);
    if (detect_set_add_pack(set, "t.yaml", yaml, strlen(yaml), &d) != VIGIE_OK ||
        detect_set_finish(set, &d) != VIGIE_OK) {
        detect_set_free(set);
        set = NULL;
    }
    for (i = 0; i < d.n; i++)
        vigie_buf_printf(&all, "%s\n", d.msgs[i]);
    vigie_diag_free(&d);
    *msgs = strdup(all.data ? all.data : "");
    vigie_buf_free(&all);
    return set;
}

/* A set from an inline pack that must load: on failure the running case fails
 * with the pack's diagnostics, and NULL is returned. */
static inline struct detect_set *pack_ok(const char *yaml)
{
    char *msgs = NULL;
    struct detect_set *set = pack_from(yaml, &msgs);

    if (set == NULL)
        T_FAIL("inline pack did not load:\n%s", msgs ? msgs : "");
    free(msgs);
    return set;
}

static struct detect_set *shipped_rules(void)
{
    const char *paths[] = {VIGIE_SRC_DIR "/rules"};
    struct vigie_diag d;
    struct detect_set *set;
    size_t i;

    vigie_diag_init(&d);
    set = detect_load_paths(paths, 1, &d);
    for (i = 0; i < d.n; i++)
        fprintf(stderr, "%s\n", d.msgs[i]);
    vigie_diag_free(&d);
    return set;
}

#endif
