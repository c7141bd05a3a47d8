/*
 * Tests for proxy/detect/validate_net.c: ipv4, ipv6 and gps, raw validators.
 *
 * Every value is passed in a heap buffer of exactly its length (no NUL after
 * it), so the sanitizer build catches a validator that reads past len.
 * Fixed vectors: /work/shared/research/pii.md §3.19, §3.22 and §9 (the
 * documentation ranges 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 and
 * 2001:db8::/32). Generated IPv4 cases are formatted here with snprintf from
 * random bytes, and compared with the rule stated directly (value <= 255, no
 * leading zero).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/validate.h"
#include "test.h"
#include "validate_helpers.h"

/* Runs fn on a copy of text in a buffer of exactly strlen(text) bytes. */
static int exact(detect_validator_fn fn, const char *text)
{
    return validate_exact(fn, text, strlen(text));
}

#define CHECK(fn, text, want)                                                                      \
    do {                                                                                           \
        int got_ = exact((fn), (text));                                                            \
        if (got_ != (want))                                                                        \
            T_FAIL("%s(\"%s\") = %d, expected %d", #fn, (text), got_, (want));                     \
    } while (0)

#define V4(text, want)  CHECK(detect_valid_ipv4, (text), (want))
#define V6(text, want)  CHECK(detect_valid_ipv6, (text), (want))
#define GPS(text, want) CHECK(detect_valid_gps, (text), (want))


static void test_net_registered(void)
{
    const struct detect_validator *v;

    v = detect_validator_find("ipv4");
    T_ASSERT(v != NULL && v->fn == detect_valid_ipv4 && v->raw == 1);
    v = detect_validator_find("ipv6");
    T_ASSERT(v != NULL && v->fn == detect_valid_ipv6 && v->raw == 1);
    v = detect_validator_find("gps");
    T_ASSERT(v != NULL && v->fn == detect_valid_gps && v->raw == 1);
}

static void test_net_bounds(void)
{
    T_EQ_INT(detect_valid_ipv4(NULL, 20), 0);
    T_EQ_INT(detect_valid_ipv6(NULL, 20), 0);
    T_EQ_INT(detect_valid_gps(NULL, 20), 0);
    T_EQ_INT(detect_valid_ipv4("", 0), 0);
    T_EQ_INT(detect_valid_ipv6("", 0), 0);
    T_EQ_INT(detect_valid_gps("", 0), 0);
    /* Only len bytes count: a valid prefix of a longer buffer. */
    T_EQ_INT(detect_valid_ipv4("192.0.2.10xyz", 10), 1);
    T_EQ_INT(detect_valid_ipv4("192.0.2.100", 10), 1); /* "192.0.2.10" */
    T_EQ_INT(detect_valid_ipv6("2001:db8::1zz", 11), 1);
    T_EQ_INT(detect_valid_gps("48.856614, 2.352222999", 19), 1);
    /* A NUL inside the match is not the end of it. */
    T_EQ_INT(detect_valid_ipv6("::1\0:2", 6), 0);
    T_EQ_INT(detect_valid_ipv4("1.2.3.4\0", 8), 0);
}

static void test_ipv4_fixed(void)
{
    V4("192.0.2.10", 1);
    V4("198.51.100.7", 1);
    V4("203.0.113.45", 1);
    V4("203.0.113.45/24", 1);
    V4("10.0.0.0/8", 1);
    V4("0.0.0.0", 1);
    V4("255.255.255.255", 1);
    V4("1.1.1.1", 1);
    V4("0.0.0.0/0", 1);
    V4("192.0.2.10/32", 1);

    V4("10.0.0.256", 0);
    V4("1.02.03.004", 0);
    V4("01.2.3.4", 0);
    V4("1.2.3.00", 0);
    V4("1.2.3", 0);
    V4("1.2.3.4.5", 0);
    V4("1.2.3.", 0);
    V4(".1.2.3.4", 0);
    V4("1..2.3", 0);
    V4("1.2.3.4 ", 0);
    V4(" 1.2.3.4", 0);
    V4("1.2.3.1000", 0);
    V4("192.0.2.10/33", 0);
    V4("192.0.2.10/024", 0);
    V4("192.0.2.10/", 0);
    V4("192.0.2.10/2a", 0);
    V4("a.b.c.d", 0);
    V4("§ 3.2.1.1", 0); /* the match never includes "§ "; the rule's pattern refuses the rest */
}

static void test_ipv4_generated(void)
{
    char buf[64];
    int reported = 0;

    for (int k = 0; k < 20000; k++) {
        unsigned b[4];
        int lead[4], want = 1;

        for (int j = 0; j < 4; j++) {
            /* Mostly in range, sometimes 256-999; sometimes a leading zero. */
            b[j] = rnd(8) == 0 ? 256 + rnd(744) : rnd(256);
            lead[j] = rnd(10) == 0;
            if (b[j] > 255 || lead[j])
                want = 0;
        }
        snprintf(buf, sizeof(buf), "%s%u.%s%u.%s%u.%s%u", lead[0] ? "0" : "", b[0],
                 lead[1] ? "0" : "", b[1], lead[2] ? "0" : "", b[2], lead[3] ? "0" : "", b[3]);
        if (exact(detect_valid_ipv4, buf) != want && reported++ < 5)
            T_FAIL("ipv4(\"%s\") != %d", buf, want);
    }
}

static void test_ipv6_fixed(void)
{
    V6("2001:db8::8a2e:370:7334", 1);
    V6("2001:0db8:85a3:0000:0000:8a2e:0370:7334", 1);
    V6("2001:DB8::1", 1);
    V6("fe80::1", 1);
    V6("::1", 1);
    V6("2001:db8::", 1);
    V6("::ffff:192.0.2.10", 1);
    V6("2001:db8::/32", 1);
    V6("2001:db8:0:1::/64", 1);
    V6("2001:db8::1/128", 1);
    V6("1:2:3:4:5:6:7::", 1);
    V6("::2:3:4:5:6:7:8", 1);

    V6("::", 0);                /* no digit: not worth a finding */
    V6("dead::beef", 0);        /* hex words: documented trade-off */
    V6("12:30:45", 0);          /* a time */
    V6("00:1a:2b:3c:4d:5e", 0); /* a MAC address */
    V6("2001:db8::1::2", 0);
    V6("2001:db8:::1", 0);
    V6("12345::1", 0);
    V6("2001:db8::g", 0);
    V6("2001:db8::/129", 0);
    V6("2001:db8::/064", 0);
    V6("2001:db8::/", 0);
    V6("/64", 0);
    V6("::ffff:192.0.2.256", 0);
    V6("fe80::1%eth0", 0);
    V6("2001:db8::1 ", 0);
    V6("1:2:3:4:5:6:7:8:9", 0);
    /* Longer than any IPv6 text: refused before the copy. */
    V6("0000:0000:0000:0000:0000:0000:0000:0000:0000:0000", 0);
    V6("0000:0000:0000:0000:0000:0000:255.255.255.255", 1); /* 45: the longest */
    V6("0:0:0:0:0:0:255.255.255.255", 1);
}

static void test_gps_decimal(void)
{
    GPS("48.856614, 2.352222", 1);
    GPS("48.856614,2.352222", 1);
    GPS("48.856614; 2.352222", 1);
    GPS("48.856614 2.352222", 1);
    GPS("48.856614 / 2.352222", 1);
    GPS("-33.868820, 151.209296", 1);
    GPS("+45.7640, +4.8357", 1);
    GPS("-90.0000, -180.0000", 1);
    GPS("48.8566° N, 2.3522° E", 1);
    GPS("48.8566N 2.3522E", 1);
    GPS("2.3522 E, 48.8566 N", 1); /* letters say which is which */
    GPS("33.8688 S, 151.2093 E", 1);
    GPS("48.8566 N, 2.3522 O", 1); /* O: ouest */
    GPS("48,8566 ; 2,3522", 1);    /* decimal comma (the rule needs context) */
    GPS("48,8566 2,3522", 1);
    GPS("48,8566, 2,3522", 1);

    GPS("12.50, 3.20", 0); /* a price pair: two decimals */
    GPS("48.856, 2.352222", 0);
    GPS("91.0000, 2.3522", 0);
    GPS("48.8566, 180.0001", 0);
    GPS("48.8566, 181.0000", 0);
    GPS("48.8566 N, 2.3522 N", 0);
    GPS("48.8566 N, 2.3522", 0);
    GPS("-48.8566 N, 2.3522 E", 0);
    GPS("2.3522 E, 95.0000 N", 0);
    GPS("48,8566,2,3522", 0);
    GPS("48.8566, 2,3522", 0);
    GPS("48.85662.3522", 0);
    GPS("48.8566, 2.3522, 3.1415", 0);
    GPS("1048.8566, 2.3522", 0);
    GPS("48.8566123456789012, 2.3522", 0); /* more than 15 decimals */
    GPS("48.8566", 0);
    GPS("48.8566, ", 0);
    GPS("48.8566 Nord, 2.3522 Est", 0);
}

static void test_gps_dms(void)
{
    GPS("48°51'24\"N 2°21'03\"E", 1);
    GPS("48°51'24\"N, 2°21'03\"E", 1);
    GPS("48° 51' 24\" N 2° 21' 03\" E", 1);
    GPS("48°51'24.5\"N 2°21'03.25\"E", 1);
    GPS("48°51'24''N 2°21'03''E", 1);
    GPS("48°51′24″N 2°21′03″E", 1);   /* prime and double prime (U+2032, U+2033) */
    GPS("48º51'24\"N 2º21'03\"E", 1); /* ordinal sign (U+00BA) for degree */
    GPS("48°51’24\"N 2°21’03\"E", 1); /* right single quote for minutes */
    GPS("N 48°51'24\" E 2°21'03\"", 1);
    GPS("2°21'03\"E 48°51'24\"N", 1);
    GPS("48°51'24\"N 2°21'03\"O", 1);
    GPS("33°52'08\"S 151°12'26\"E", 1);
    GPS("48°51.400'N 2°21.050'E", 1); /* degrees and decimal minutes */
    GPS("48°51'N 2°21'E", 1);         /* no seconds */
    GPS("48°51'24\"N2°21'03\"E", 1);  /* no space: the letters separate */

    GPS("48°51'24\" 2°21'03\"", 0); /* no hemisphere letters */
    GPS("48°51'24\"N 2°21'03\"N", 0);
    GPS("48°61'24\"N 2°21'03\"E", 0); /* 61 minutes */
    GPS("48°51'60\"N 2°21'03\"E", 0); /* 60 seconds */
    GPS("91°00'00\"N 2°21'03\"E", 0);
    GPS("48°51'24\"N 181°00'00\"E", 0);
    GPS("-48°51'24\"N 2°21'03\"E", 0);
    GPS("48°N 2°E", 0);
    GPS("48°51'24\"N", 0);
    GPS("48°51'24\"N 2.3522", 0); /* mixed forms */
    GPS("N 48°51'24\"S 2°21'03\"E", 0);
}

int main(void)
{
    T_RUN(test_net_registered);
    T_RUN(test_net_bounds);
    T_RUN(test_ipv4_fixed);
    T_RUN(test_ipv4_generated);
    T_RUN(test_ipv6_fixed);
    T_RUN(test_gps_decimal);
    T_RUN(test_gps_dms);
    return T_DONE();
}
