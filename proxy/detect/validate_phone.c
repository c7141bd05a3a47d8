/* International phone numbers (E.164). TO BE WRITTEN (issue 3): rejects all. */
#include "detect/validate.h"

int detect_valid_e164(const char *s, size_t len)
{
    (void)s;
    (void)len;
    return 0;
}
