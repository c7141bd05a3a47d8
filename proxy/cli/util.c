/* Helpers shared by the commands. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

const char *cli_progname = "vigie";

/* Reads all of stdin, refusing more than max bytes; the chunk buffer is
 * wiped since it held the prompt. */
int cli_read_stdin(size_t max, struct vigie_buf *in)
{
    char chunk[65536];

    vigie_buf_init(in, max);
    if (vigie_buf_reserve(in, 0) != VIGIE_OK)
        return VIGIE_ERR_NOMEM;
    for (;;) {
        ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
        int rc;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            vigie_buf_free(in);
            return VIGIE_ERR_IO;
        }
        if (n == 0)
            break;
        rc = vigie_buf_append(in, chunk, (size_t)n);
        vigie_wipe(chunk, (size_t)n);
        if (rc != VIGIE_OK)
            return rc; /* the buffer freed itself */
    }
    return VIGIE_OK;
}

int cli_parse_size(const char *s, size_t *out)
{
    char *end;
    unsigned long long v;

    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s)
        return -1;
    if (*end == 'k' || *end == 'K')
        v *= 1024, end++;
    else if (*end == 'm' || *end == 'M')
        v *= 1024 * 1024, end++;
    if (*end != '\0' || v == 0 || v > (1ull << 30))
        return -1;
    *out = (size_t)v;
    return 0;
}

void cli_print_diag(FILE *f, const struct vigie_diag *d, const char *prefix)
{
    size_t i;

    for (i = 0; i < d->n; i++)
        fprintf(f, "%s%s\n", prefix ? prefix : "", d->msgs[i]);
    if (d->dropped > 0)
        fprintf(f, "... and %zu more problems\n", d->dropped);
}

int cli_write_all(const char *p, size_t n)
{
    return cli_write_fd(STDOUT_FILENO, p, n);
}

int cli_write_fd(int fd, const void *buf, size_t n)
{
    const char *p = buf;

    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}
