/* Dates and MRZ lines (raw validators). TO BE WRITTEN (issue 3): reject all. */
#include "detect/validate.h"

int detect_valid_date(const char *s, size_t len)
{
    (void)s;
    (void)len;
    return 0;
}

int detect_valid_mrz(const char *s, size_t len)
{
    (void)s;
    (void)len;
    return 0;
}
