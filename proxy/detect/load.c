/* Rule packs from files and directories into a finished rule set. */
#include <stdlib.h>

#include "detect/load.h"

struct detect_set *detect_load_paths(const char *const *paths, size_t npaths,
                                     struct vigie_diag *diag)
{
    static const char *const suffixes[] = {".yaml", ".yml", NULL};
    struct detect_set *set = detect_set_new();
    size_t i, j, before = diag->n + diag->dropped;
    char err[512];

    if (set == NULL) {
        vigie_diag_add(diag, NULL, 0, 0, "out of memory");
        return NULL;
    }
    for (i = 0; i < npaths; i++) {
        char **files = NULL;
        int rc = vigie_path_list(paths[i], suffixes, VIGIE_PACK_FILES_MAX, &files, err,
                                 sizeof(err));
        if (rc != VIGIE_OK) {
            vigie_diag_add(diag, NULL, 0, 0, "%s", err);
            continue;
        }
        if (files[0] == NULL)
            vigie_diag_add(diag, paths[i], 0, 0, "no rule pack (*.yaml) in this directory");
        for (j = 0; files[j] != NULL; j++) {
            struct vigie_buf buf;
            if (vigie_file_read(files[j], VIGIE_CONF_FILE_MAX, &buf, err, sizeof(err)) !=
                VIGIE_OK) {
                vigie_diag_add(diag, NULL, 0, 0, "%s", err);
                continue;
            }
            detect_set_add_pack(set, files[j], buf.data, buf.len, diag);
            vigie_buf_free(&buf);
        }
        vigie_paths_free(files);
    }
    if (diag->n + diag->dropped == before && detect_set_finish(set, diag) == VIGIE_OK)
        return set;
    detect_set_free(set);
    return NULL;
}
