/* IP addresses and GPS coordinates (raw validators). TO BE WRITTEN (issue 3): reject all. */
#include "detect/validate.h"

int detect_valid_ipv4(const char *s, size_t len)
{
    (void)s;
    (void)len;
    return 0;
}

int detect_valid_ipv6(const char *s, size_t len)
{
    (void)s;
    (void)len;
    return 0;
}

int detect_valid_gps(const char *s, size_t len)
{
    (void)s;
    (void)len;
    return 0;
}
