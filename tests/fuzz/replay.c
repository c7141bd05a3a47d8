/* Replays a fuzz corpus directory through LLVMFuzzerTestOneInput, so that gcc
 * builds (no libFuzzer) run the seeds as an ordinary test. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int main(int argc, char **argv)
{
    DIR *d;
    struct dirent *de;
    int n = 0, i;

    for (i = 1; i < argc; i++) {
        d = opendir(argv[i]);
        if (d == NULL) {
            perror(argv[i]);
            return 1;
        }
        while ((de = readdir(d)) != NULL) {
            char path[4096];
            struct vigie_buf b;
            char err[256];
            if (de->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
            if (vigie_file_read(path, 8u << 20, &b, err, sizeof(err)) != VIGIE_OK) {
                fprintf(stderr, "%s\n", err);
                closedir(d);
                return 1;
            }
            LLVMFuzzerTestOneInput((const unsigned char *)b.data, b.len);
            vigie_buf_free(&b);
            n++;
        }
        closedir(d);
    }
    if (n == 0) {
        fprintf(stderr, "no corpus files\n");
        return 1;
    }
    printf("%d passed, 0 failed\n", n);
    return 0;
}
