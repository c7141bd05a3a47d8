/* Secrets (raw validators). TO BE WRITTEN (issue 3): rejects all. */
#include "detect/validate.h"

int detect_valid_entropy(const char *s, size_t len)
{
    (void)s;
    (void)len;
    return 0;
}
