/* French vehicle plates. TO BE WRITTEN (issue 3): rejects all. */
#include "detect/validate.h"

int detect_valid_siv_plate(const char *s, size_t len)
{
    (void)s;
    (void)len;
    return 0;
}
