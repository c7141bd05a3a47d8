/*
 * Character classes of RFC 9110/9112, shared by the parser and the writer.
 * Private to proxy/http. Never locale-dependent: <ctype.h> is not used, so a
 * byte >= 0x80 is never a letter here.
 */
#ifndef VIGIE_HTTP_CHARS_H
#define VIGIE_HTTP_CHARS_H

#include <stddef.h>

/* tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
 *         "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA  (RFC 9110 §5.6.2) */
static inline int http_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return 1;
    default:
        return 0;
    }
}

/* field-vchar / SP / HTAB: VCHAR, obs-text (0x80-0xFF), SP, HTAB. Never NUL,
 * CR, LF or another CTL (RFC 9110 §5.5). */
static inline int http_vchar_ws(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static inline int http_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* Value of a hex digit, or -1. */
static inline int http_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static inline unsigned char http_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* s[0..n) equals the lower-case NUL-terminated lc, ignoring ASCII case. */
static inline int http_ci_eq(const char *s, size_t n, const char *lc)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (lc[i] == '\0' || http_lower((unsigned char)s[i]) != (unsigned char)lc[i])
            return 0;
    return lc[n] == '\0';
}

/* Two strings of the same length equal ignoring ASCII case. */
static inline int http_ci_eqn(const char *a, const char *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (http_lower((unsigned char)a[i]) != http_lower((unsigned char)b[i]))
            return 0;
    return 1;
}

#endif
