/*
 * IP addresses and GPS coordinates: raw validators.
 *
 * These get the matched text of the normalised view as it stands (see
 * struct detect_validator): their punctuation carries the meaning. Each one
 * accepts exactly the whole of s[0..len) or nothing, so a pattern that grabs
 * one character too many fails here rather than masking the wrong span. They
 * never read s[len] (s is not NUL-terminated) and never allocate.
 *
 * The patterns in rules/places.yaml decide what a candidate looks like; these
 * decide whether its numbers are in range. The division, and the choices:
 *
 *   ipv4  "a.b.c.d", each 0-255 in decimal without leading zeros ("1.02.03.004"
 *         is refused: no tool writes it, section numbers and versions might),
 *         optionally "/p" with p 0-32: the pack includes a CIDR prefix in the
 *         span, so "203.0.113.45/24" is masked whole.
 *   ipv6  what inet_pton(AF_INET6) accepts, on a bounded NUL-terminated copy,
 *         optionally "/p" with p 0-128 (also part of the span); and at least one
 *         decimal digit, so that "::" alone and hex-only words around a "::"
 *         ("dead::beef") are not taken. Zone ids ("%eth0") are not part of it.
 *   gps   a latitude/longitude pair: decimal degrees with at least 4 decimals
 *         each, or degrees-minutes(-seconds) with hemisphere letters.
 */
#include <arpa/inet.h>
#include <string.h>

#include "detect/validate.h"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads a decimal number without leading zeros, 1 to maxdig digits, at
 * s[*i]. Returns its value, or -1 (then *i is unspecified). */
static long read_uint(const char *s, size_t len, size_t *i, size_t maxdig)
{
    size_t start = *i;
    long v = 0;

    while (*i < len && is_digit(s[*i]) && *i - start < maxdig) {
        v = v * 10 + (s[*i] - '0');
        (*i)++;
    }
    if (*i == start || (*i < len && is_digit(s[*i])))
        return -1; /* no digit, or more than maxdig */
    if (s[start] == '0' && *i - start > 1)
        return -1; /* leading zero */
    return v;
}

/* "/p" with 0 <= p <= max, to the end of s. */
static int valid_prefix(const char *s, size_t len, size_t i, long max)
{
    long p;

    if (i == len)
        return 1;
    if (s[i] != '/')
        return 0;
    i++;
    p = read_uint(s, len, &i, 3);
    return p >= 0 && p <= max && i == len;
}

/* Contract: 1 if s[0..len) is exactly a dotted-quad IPv4 address (each byte
 * 0-255, decimal, no leading zeros), optionally followed by "/p" (0-32). */
int detect_valid_ipv4(const char *s, size_t len)
{
    size_t i = 0;
    int k;

    if (s == NULL || len == 0)
        return 0;
    for (k = 0; k < 4; k++) {
        long b;
        if (k > 0) {
            if (i >= len || s[i] != '.')
                return 0;
            i++;
        }
        b = read_uint(s, len, &i, 3);
        if (b < 0 || b > 255)
            return 0;
    }
    return valid_prefix(s, len, i, 32);
}

/* The longest IPv6 text inet_pton reads: 8 groups of 4 with 7 colons is 39;
 * six groups and a dotted quad is 45 (INET6_ADDRSTRLEN without its NUL). */
#define IPV6_TEXT_MAX 45

/* Contract: 1 if s[0..len) is exactly an IPv6 address as inet_pton reads it,
 * with at least one decimal digit, optionally followed by "/p" (0-128). */
int detect_valid_ipv6(const char *s, size_t len)
{
    char buf[IPV6_TEXT_MAX + 1];
    unsigned char bin[16];
    size_t alen, i;
    int digit = 0;

    if (s == NULL || len == 0)
        return 0;
    for (alen = 0; alen < len && s[alen] != '/'; alen++)
        ;
    if (alen == 0 || alen > IPV6_TEXT_MAX)
        return 0;
    if (!valid_prefix(s, len, alen, 128))
        return 0;
    for (i = 0; i < alen; i++) {
        char c = s[i];
        /* inet_pton would refuse anything else too; checking first keeps a
         * NUL inside the match from cutting the copy short. */
        if (!(is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
              c == '.'))
            return 0;
        digit |= is_digit(c);
    }
    if (!digit)
        return 0;
    memcpy(buf, s, alen);
    buf[alen] = '\0';
    return inet_pton(AF_INET6, buf, bin) == 1;
}

/* ---- GPS --------------------------------------------------------------------
 *
 * A coordinate is one of:
 *   decimal  [+-]D{1,3}M D{4,15} [°] [H]       M: '.' or ',' (the same in both)
 *   dms      [H] D{1,3}° D{1,2}' [D{1,2}[M D{1,3}]"] [H]   (exactly one H)
 *            or D{1,3}° D{1,2}M D{1,4}' [H]     decimal minutes
 * with spaces allowed between the parts, H a hemisphere letter (N S E W, and
 * O for the French "ouest"), ' also ’ ′, " also ″ ” or two quotes, ° also º
 * (the ordinal sign, a common typing slip). A pair is two coordinates of the
 * same kind separated by spaces and at most one of , ; / (with a decimal comma
 * the separator is ';' or spaces, or ',' followed by a space).
 *
 * Ranges: with hemisphere letters, one coordinate must be N/S (0-90) and the
 * other E/W (0-180), in either order; a signed decimal coordinate cannot also
 * carry a letter. Without letters, the first is the latitude (-90..90) and the
 * second the longitude (-180..180). Minutes and seconds are below 60.
 */

enum gps_axis {
    GPS_AXIS_NONE = 0, /* no hemisphere letter */
    GPS_AXIS_LAT = 1,  /* N or S */
    GPS_AXIS_LON = 2,  /* E, W or O */
};

struct gps_coord {
    double deg; /* absolute value, in degrees */
    enum gps_axis axis;
    int dms;  /* written with minutes */
    char dec; /* decimal mark of a decimal coordinate: '.' or ',' */
};

static void skip_spaces(const char *s, size_t len, size_t *i)
{
    while (*i < len && s[*i] == ' ')
        (*i)++;
}

/* Matches the UTF-8 (or ASCII) sequence lit at s[*i], advancing past it. */
static int eat(const char *s, size_t len, size_t *i, const char *lit)
{
    size_t n = strlen(lit);

    if (len - *i < n || memcmp(s + *i, lit, n) != 0)
        return 0;
    *i += n;
    return 1;
}

static int eat_degree(const char *s, size_t len, size_t *i)
{
    return eat(s, len, i, "\xC2\xB0") || eat(s, len, i, "\xC2\xBA");
}

static int eat_minute(const char *s, size_t len, size_t *i)
{
    /* Two quotes are a seconds sign: do not take the first as minutes. */
    if (len - *i >= 2 && s[*i] == '\'' && s[*i + 1] == '\'')
        return 0;
    return eat(s, len, i, "'") || eat(s, len, i, "\xE2\x80\x99") || eat(s, len, i, "\xE2\x80\xB2");
}

static int eat_second(const char *s, size_t len, size_t *i)
{
    return eat(s, len, i, "\"") || eat(s, len, i, "''") || eat(s, len, i, "\xE2\x80\xB3") ||
           eat(s, len, i, "\xE2\x80\x9D");
}

static enum gps_axis hemisphere(char c)
{
    if (c == 'N' || c == 'S')
        return GPS_AXIS_LAT;
    if (c == 'E' || c == 'W' || c == 'O')
        return GPS_AXIS_LON;
    return GPS_AXIS_NONE;
}

/* Reads D{1,maxint}[mark D{mindec,maxdec}] as a double; leading zeros allowed
 * ("02°21'03\""). *mark receives the decimal mark or 0. Returns -1 on error. */
static double read_num(const char *s, size_t len, size_t *i, size_t maxint, size_t mindec,
                       size_t maxdec, char *mark)
{
    double v = 0, scale = 1;
    size_t start = *i, n;

    *mark = 0;
    while (*i < len && is_digit(s[*i]) && *i - start < maxint)
        v = v * 10 + (s[(*i)++] - '0');
    if (*i == start || (*i < len && is_digit(s[*i])))
        return -1;
    if (*i + 1 < len && (s[*i] == '.' || s[*i] == ',') && is_digit(s[*i + 1])) {
        *mark = s[(*i)++];
        for (n = 0; *i < len && is_digit(s[*i]); n++) {
            if (n == maxdec)
                return -1;
            scale /= 10;
            v += (s[(*i)++] - '0') * scale;
        }
        if (n < mindec)
            return -1;
    } else if (mindec > 0) {
        return -1;
    }
    return v;
}

/* One coordinate at s[*i]. Returns 1 and fills c, or 0. */
static int read_coord(const char *s, size_t len, size_t *i, struct gps_coord *c)
{
    enum gps_axis pre = GPS_AXIS_NONE, post = GPS_AXIS_NONE;
    int neg = 0, sign = 0;
    size_t save;
    char mark;
    double v;

    memset(c, 0, sizeof(*c));
    if (*i < len && hemisphere(s[*i]) != GPS_AXIS_NONE) {
        pre = hemisphere(s[(*i)++]);
        skip_spaces(s, len, i);
    } else if (*i < len && (s[*i] == '-' || s[*i] == '+')) {
        neg = s[*i] == '-';
        sign = 1;
        (*i)++;
    }
    save = *i;
    /* Degrees-minutes(-seconds) first: it starts like a decimal number. */
    v = read_num(s, len, i, 3, 0, 0, &mark);
    if (v >= 0 && eat_degree(s, len, i)) {
        double m, sec = 0;
        skip_spaces(s, len, i);
        m = read_num(s, len, i, 2, 0, 4, &mark);
        if (m < 0 || m >= 60 || !eat_minute(s, len, i))
            goto decimal;
        if (mark == 0) {
            /* Whole minutes: seconds may follow. */
            size_t at = *i;
            skip_spaces(s, len, i);
            sec = read_num(s, len, i, 2, 0, 3, &mark);
            if (sec < 0 || !eat_second(s, len, i)) {
                *i = at;
                sec = 0;
            } else if (sec >= 60) {
                return 0;
            }
        }
        c->deg = v + m / 60 + sec / 3600;
        c->dms = 1;
        if (pre == GPS_AXIS_NONE) {
            size_t at = *i;
            skip_spaces(s, len, i);
            if (*i < len && hemisphere(s[*i]) != GPS_AXIS_NONE)
                post = hemisphere(s[(*i)++]);
            else
                *i = at;
        }
        /* A DMS coordinate says its hemisphere with a letter, never a sign. */
        if (sign || (pre == GPS_AXIS_NONE) == (post == GPS_AXIS_NONE))
            return 0;
        c->axis = pre != GPS_AXIS_NONE ? pre : post;
        return 1;
    }
decimal:
    *i = save;
    if (pre != GPS_AXIS_NONE)
        return 0; /* "N 48.8566": not a form we take */
    v = read_num(s, len, i, 3, 4, 15, &mark);
    if (v < 0 || mark == 0)
        return 0;
    c->dec = mark;
    c->deg = v;
    {
        size_t at = *i;
        skip_spaces(s, len, i);
        if (!eat_degree(s, len, i))
            *i = at;
        at = *i;
        skip_spaces(s, len, i);
        /* A letter only counts if it ends the word: "2.3522 Est" is not E. */
        if (*i < len && hemisphere(s[*i]) != GPS_AXIS_NONE &&
            (*i + 1 == len ||
             !((s[*i + 1] >= 'A' && s[*i + 1] <= 'Z') || (s[*i + 1] >= 'a' && s[*i + 1] <= 'z')))) {
            if (sign)
                return 0;
            post = hemisphere(s[(*i)++]);
        } else {
            *i = at;
        }
    }
    c->axis = post;
    if (neg)
        c->deg = -c->deg;
    return 1;
}

static double fabs_(double v)
{
    return v < 0 ? -v : v;
}

/* Contract: 1 if s[0..len) is exactly one latitude/longitude pair as described
 * above, in range; 0 otherwise. */
int detect_valid_gps(const char *s, size_t len)
{
    struct gps_coord a, b;
    const struct gps_coord *lat, *lon;
    size_t i = 0, sep_start;
    int sep_punct = 0, sep_space = 0;

    if (s == NULL || len == 0)
        return 0;
    if (!read_coord(s, len, &i, &a))
        return 0;
    sep_start = i;
    while (i < len && s[i] == ' ')
        i++;
    if (i < len && (s[i] == ',' || s[i] == ';' || s[i] == '/')) {
        sep_punct = s[i];
        i++;
        while (i < len && s[i] == ' ')
            i++;
    }
    sep_space = i - sep_start > (sep_punct ? 1u : 0u);
    if (i == sep_start && !a.dms)
        return 0; /* two decimal numbers need something between them */
    if (!read_coord(s, len, &i, &b) || i != len)
        return 0;
    if (a.dms != b.dms)
        return 0;
    if (!a.dms) {
        if (a.dec != b.dec)
            return 0;
        /* "48,8566,2,3522" cannot be read; "48,8566, 2,3522" can. */
        if (a.dec == ',' && sep_punct == ',' && !sep_space)
            return 0;
        if (!sep_punct && !sep_space)
            return 0;
    }
    if (a.axis == GPS_AXIS_NONE && b.axis == GPS_AXIS_NONE) {
        lat = &a;
        lon = &b;
    } else if (a.axis == GPS_AXIS_LAT && b.axis == GPS_AXIS_LON) {
        lat = &a;
        lon = &b;
    } else if (a.axis == GPS_AXIS_LON && b.axis == GPS_AXIS_LAT) {
        lat = &b;
        lon = &a;
    } else {
        return 0; /* one letter only, or two of the same axis */
    }
    return fabs_(lat->deg) <= 90 && fabs_(lon->deg) <= 180;
}
