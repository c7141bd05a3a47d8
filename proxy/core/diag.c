/* Bounded diagnostics lists, "FILE:LINE:COL: message" per entry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

void vigie_diag_init(struct vigie_diag *d)
{
    memset(d, 0, sizeof(*d));
}

void vigie_diag_vadd(struct vigie_diag *d, const char *file, unsigned line, unsigned col,
                     const char *fmt, va_list ap)
{
    char msg[1024], full[1400];
    char **nv;

    if (d->n >= VIGIE_DIAG_MAX) {
        d->dropped++;
        return;
    }
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (file != NULL && line > 0)
        snprintf(full, sizeof(full), "%s:%u:%u: %s", file, line, col, msg);
    else if (file != NULL)
        snprintf(full, sizeof(full), "%s: %s", file, msg);
    else
        snprintf(full, sizeof(full), "%s", msg);
    if (d->n == d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 8;
        nv = realloc(d->msgs, ncap * sizeof(*nv));
        if (nv == NULL) {
            d->dropped++;
            return;
        }
        d->msgs = nv;
        d->cap = ncap;
    }
    d->msgs[d->n] = strdup(full);
    if (d->msgs[d->n] == NULL) {
        d->dropped++;
        return;
    }
    d->n++;
}

void vigie_diag_add(struct vigie_diag *d, const char *file, unsigned line, unsigned col,
                    const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vigie_diag_vadd(d, file, line, col, fmt, ap);
    va_end(ap);
}

void vigie_diag_free(struct vigie_diag *d)
{
    size_t i;

    for (i = 0; i < d->n; i++)
        free(d->msgs[i]);
    free(d->msgs);
    memset(d, 0, sizeof(*d));
}
