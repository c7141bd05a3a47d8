/* Error strings, the wipe, and the panic behind VIGIE_ASSERT. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/core.h"

const char *vigie_strerror(int err)
{
    switch (err) {
    case VIGIE_OK:
        return "success";
    case VIGIE_ERR_NOMEM:
        return "out of memory";
    case VIGIE_ERR_INVAL:
        return "invalid argument";
    case VIGIE_ERR_TOO_BIG:
        return "input too large";
    case VIGIE_ERR_IO:
        return "input/output error";
    case VIGIE_ERR_PARSE:
        return "malformed input";
    case VIGIE_ERR_MATCH:
        return "detector error (regex engine limit or failure)";
    case VIGIE_ERR_CONFIG:
        return "invalid configuration";
    case VIGIE_ERR_COLLISION:
        return "pseudonym collision";
    }
    return "unknown error";
}

void vigie_wipe(void *p, size_t n)
{
    /* OPENSSL_cleanse goes through a volatile function pointer, which the
     * compiler cannot prove to be a plain memset and so cannot elide. */
    if (p != NULL && n > 0)
        OPENSSL_cleanse(p, n);
}

void vigie_errf(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errsz == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

_Noreturn void vigie_panic(const char *file, int line, const char *what)
{
    fprintf(stderr, "vigie: assertion failed at %s:%d: %s\n", file, line, what);
    abort();
}
