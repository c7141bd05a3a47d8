/*
 * core: the building blocks every other module stands on.
 *
 * Bounded growable buffers, the single error enum, diagnostics that carry
 * FILE:LINE:COL, a wipe the compiler cannot remove, and bounded file reads.
 * core knows nothing of HTTP, regexes or policies, and never logs a buffer's
 * contents: buffers here routinely hold prompts.
 */
#ifndef VIGIE_CORE_H
#define VIGIE_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

/* One error enum for the whole program. 0 is success; errors are negative. */
enum vigie_err {
    VIGIE_OK = 0,
    VIGIE_ERR_NOMEM = -1,    /* allocation failed */
    VIGIE_ERR_INVAL = -2,    /* caller passed something invalid */
    VIGIE_ERR_TOO_BIG = -3,  /* input over a configured cap */
    VIGIE_ERR_IO = -4,       /* a read or write failed */
    VIGIE_ERR_PARSE = -5,    /* malformed input (YAML, pack, ...) */
    VIGIE_ERR_MATCH = -6,    /* the regex engine failed: caller must fail closed */
    VIGIE_ERR_CONFIG = -7,   /* configuration is invalid (details in the diag) */
    VIGIE_ERR_COLLISION = -8 /* two values mapped to one pseudonym */
};

const char *vigie_strerror(int err);

/* Overwrite memory in a way the optimiser may not drop (Varnish's ZERO_OBJ
 * idea). Used on every buffer that held a prompt, a value or a key. */
void vigie_wipe(void *p, size_t n);

/* Growable byte buffer with a hard maximum (curl's dynbuf). data is always
 * NUL-terminated when non-NULL, so text buffers can be printed; len excludes
 * the NUL. On any failure the buffer is wiped and freed, so a caller that
 * ignores one error cannot go on appending to a truncated message. */
struct vigie_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
};

void vigie_buf_init(struct vigie_buf *b, size_t max);
int vigie_buf_append(struct vigie_buf *b, const void *p, size_t n);
int vigie_buf_appendc(struct vigie_buf *b, char c);
int vigie_buf_printf(struct vigie_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int vigie_buf_reserve(struct vigie_buf *b, size_t extra);
/* Keeps the allocation, wipes the contents. */
void vigie_buf_reset(struct vigie_buf *b);
/* Wipes and frees. Accepts a zeroed buffer. */
void vigie_buf_free(struct vigie_buf *b);

/* Growable arrays: VIGIE_ARRAY_RESERVE(v, n, cap, first) makes room for one
 * more element in array v holding n of cap elements, doubling from `first`.
 * Evaluates to VIGIE_OK, or VIGIE_ERR_NOMEM with the array left as it was. */
#define VIGIE_ARRAY_RESERVE(v, n, cap, first)                                             \
    ((n) < (cap) ? VIGIE_OK : vigie_array_grow((void *)&(v), &(cap), sizeof(*(v)), (first)))
int vigie_array_grow(void *pv, size_t *cap, size_t elsize, size_t first);

/* Length of the valid UTF-8 sequence at s[0..n) (1 to 4 bytes; n >= 1), or 0
 * when it is not one: overlong forms, surrogates, code points past U+10FFFF
 * and cut sequences are invalid. The one UTF-8 check of the program. */
size_t vigie_utf8_len(const unsigned char *s, size_t n);

/* Appends s[0..len) as a JSON string, quotes included. Invalid UTF-8 bytes are
 * written as U+FFFD: JSON has no way to carry them, and a report must never
 * fail because a prompt held a stray byte. */
int vigie_buf_json_str(struct vigie_buf *b, const char *s, size_t len);

/* Lists the files a path names: the path itself if it is a file, else the
 * regular files of that directory whose names end in one of the suffixes
 * (NULL-terminated), sorted by name so that loading order is stable. At most
 * max entries. Returns VIGIE_OK and a NULL-terminated malloc'ed array of
 * malloc'ed paths (free with vigie_paths_free), or an error described in err. */
int vigie_path_list(const char *path, const char *const *suffixes, size_t max, char ***out,
                    char *err, size_t errsz);
void vigie_paths_free(char **paths);

/* rel resolved against the directory of file ("policies/a.yaml", "../rules"
 * -> "policies/../rules"); rel itself when absolute or when file has no
 * directory part. Files name other files relative to themselves (a policy its
 * packs, a test file its policy). malloc'ed; NULL when out of memory. */
char *vigie_path_beside(const char *file, const char *rel);

/* Reads a whole file, refusing one larger than max bytes. Errors name the
 * path and the reason in err (which may be NULL). */
int vigie_file_read(const char *path, size_t max, struct vigie_buf *out, char *err,
                    size_t errsz);

/* Diagnostics: a bounded list of "FILE:LINE:COL: message" lines collected while
 * loading configuration, so that one run reports every problem, not only the
 * first. Lines are 1-based; 0 means "no position". */
struct vigie_diag {
    char **msgs;
    size_t n;
    size_t cap;
    size_t dropped; /* messages past VIGIE_DIAG_MAX, counted not kept */
};

void vigie_diag_init(struct vigie_diag *d);
void vigie_diag_add(struct vigie_diag *d, const char *file, unsigned line, unsigned col,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void vigie_diag_vadd(struct vigie_diag *d, const char *file, unsigned line, unsigned col,
                     const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
void vigie_diag_free(struct vigie_diag *d);

/* snprintf into an optional error buffer; err may be NULL. */
void vigie_errf(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Assertions that stay on in release builds (Varnish): a broken invariant in a
 * gateway that guards data must stop the process, not let it go on. */
#define VIGIE_ASSERT(c)                                                                   \
    do {                                                                                  \
        if (!(c))                                                                         \
            vigie_panic(__FILE__, __LINE__, #c);                                          \
    } while (0)
_Noreturn void vigie_panic(const char *file, int line, const char *what);

#endif
