/* Bounded whole-file reads for configuration and rule packs. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"

int vigie_file_read(const char *path, size_t max, struct vigie_buf *out, char *err,
                    size_t errsz)
{
    char chunk[16384];
    struct stat st;
    ssize_t n;
    int fd, rc;

    vigie_buf_init(out, max);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        vigie_errf(err, errsz, "%s: cannot open: %s", path, strerror(errno));
        return VIGIE_ERR_IO;
    }
    if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
        vigie_errf(err, errsz, "%s: not a regular file", path);
        close(fd);
        return VIGIE_ERR_IO;
    }
    /* An empty file still yields a valid, NUL-terminated buffer. */
    if ((rc = vigie_buf_reserve(out, 0)) != VIGIE_OK)
        goto fail;
    for (;;) {
        n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            vigie_errf(err, errsz, "%s: read error: %s", path, strerror(errno));
            rc = VIGIE_ERR_IO;
            goto fail;
        }
        if (n == 0)
            break;
        rc = vigie_buf_append(out, chunk, (size_t)n);
        if (rc == VIGIE_ERR_TOO_BIG) {
            vigie_errf(err, errsz, "%s: larger than the %zu-byte limit", path, max);
            goto fail;
        }
        if (rc != VIGIE_OK)
            goto fail;
    }
    close(fd);
    return VIGIE_OK;
fail:
    if (rc != VIGIE_ERR_TOO_BIG && rc != VIGIE_ERR_IO)
        vigie_errf(err, errsz, "%s: %s", path, vigie_strerror(rc));
    vigie_buf_free(out);
    close(fd);
    return rc;
}

static int path_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_suffix(const char *name, const char *const *suffixes)
{
    size_t n = strlen(name), i;

    if (name[0] == '.')
        return 0; /* editors' swap and backup files */
    for (i = 0; suffixes[i] != NULL; i++) {
        size_t l = strlen(suffixes[i]);
        if (n > l && strcmp(name + n - l, suffixes[i]) == 0)
            return 1;
    }
    return 0;
}

void vigie_paths_free(char **paths)
{
    size_t i;

    if (paths == NULL)
        return;
    for (i = 0; paths[i] != NULL; i++)
        free(paths[i]);
    free(paths);
}

int vigie_path_list(const char *path, const char *const *suffixes, size_t max, char ***out,
                    char *err, size_t errsz)
{
    struct stat st;
    struct dirent *de;
    DIR *dir;
    char **v;
    size_t n = 0;

    *out = NULL;
    if (stat(path, &st) != 0) {
        vigie_errf(err, errsz, "%s: %s", path, strerror(errno));
        return VIGIE_ERR_IO;
    }
    v = calloc(max + 1, sizeof(*v));
    if (v == NULL)
        return VIGIE_ERR_NOMEM;
    if (!S_ISDIR(st.st_mode)) {
        v[0] = strdup(path);
        if (v[0] == NULL) {
            free(v);
            return VIGIE_ERR_NOMEM;
        }
        *out = v;
        return VIGIE_OK;
    }
    dir = opendir(path);
    if (dir == NULL) {
        vigie_errf(err, errsz, "%s: %s", path, strerror(errno));
        free(v);
        return VIGIE_ERR_IO;
    }
    while ((de = readdir(dir)) != NULL) {
        char full[4096];
        if (!has_suffix(de->d_name, suffixes))
            continue;
        if (n == max) {
            vigie_errf(err, errsz, "%s: more than %zu files", path, max);
            closedir(dir);
            vigie_paths_free(v);
            return VIGIE_ERR_TOO_BIG;
        }
        snprintf(full, sizeof(full), "%s%s%s", path,
                 path[strlen(path) - 1] == '/' ? "" : "/", de->d_name);
        if ((v[n] = strdup(full)) == NULL) {
            closedir(dir);
            vigie_paths_free(v);
            return VIGIE_ERR_NOMEM;
        }
        n++;
    }
    closedir(dir);
    qsort(v, n, sizeof(*v), path_cmp);
    *out = v;
    return VIGIE_OK;
}

char *vigie_path_beside(const char *file, const char *rel)
{
    const char *slash = strrchr(file, '/');
    size_t a = slash != NULL ? (size_t)(slash - file) : 0, b = strlen(rel);
    char *s;

    if (rel[0] == '/' || slash == NULL)
        return strdup(rel);
    /* a == 0 for "/a.yaml": the directory is "/", written as the separator. */
    if ((s = malloc(a + b + 2)) == NULL)
        return NULL;
    memcpy(s, file, a);
    s[a] = '/';
    memcpy(s + a + 1, rel, b + 1);
    return s;
}
