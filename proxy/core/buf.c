/* Bounded growable buffers. Every growth path checks the maximum before it
 * allocates, and every failure wipes and frees what was there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

void vigie_buf_init(struct vigie_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void vigie_buf_free(struct vigie_buf *b)
{
    if (b->data != NULL) {
        vigie_wipe(b->data, b->cap);
        free(b->data);
    }
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void vigie_buf_reset(struct vigie_buf *b)
{
    if (b->data != NULL) {
        vigie_wipe(b->data, b->len);
        b->data[0] = '\0';
    }
    b->len = 0;
}

int vigie_buf_reserve(struct vigie_buf *b, size_t extra)
{
    size_t need, ncap;
    char *p;

    if (extra > b->max || b->len > b->max - extra) {
        vigie_buf_free(b);
        return VIGIE_ERR_TOO_BIG;
    }
    need = b->len + extra + 1; /* room for the NUL */
    if (need <= b->cap)
        return VIGIE_OK;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > b->max + 1)
        ncap = b->max + 1;
    /* Not realloc: the old block may hold a prompt and must be wiped, and
     * realloc could free it without telling us. */
    p = malloc(ncap);
    if (p == NULL) {
        vigie_buf_free(b);
        return VIGIE_ERR_NOMEM;
    }
    if (b->data != NULL) {
        memcpy(p, b->data, b->len + 1);
        vigie_wipe(b->data, b->cap);
        free(b->data);
    } else {
        p[0] = '\0';
    }
    b->data = p;
    b->cap = ncap;
    return VIGIE_OK;
}

int vigie_array_grow(void *pv, size_t *cap, size_t elsize, size_t first)
{
    size_t ncap = *cap ? *cap * 2 : first;
    void *old, *nv;

    if (ncap < *cap || ncap > SIZE_MAX / elsize)
        return VIGIE_ERR_NOMEM;
    /* pv is the address of the caller's typed pointer: read and write it as
     * bytes, which every object pointer type allows here. */
    memcpy(&old, pv, sizeof(old));
    nv = realloc(old, ncap * elsize);
    if (nv == NULL)
        return VIGIE_ERR_NOMEM;
    memcpy(pv, &nv, sizeof(nv));
    *cap = ncap;
    return VIGIE_OK;
}

int vigie_buf_append(struct vigie_buf *b, const void *p, size_t n)
{
    int rc = vigie_buf_reserve(b, n);

    if (rc != VIGIE_OK)
        return rc;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return VIGIE_OK;
}

int vigie_buf_appendc(struct vigie_buf *b, char c)
{
    return vigie_buf_append(b, &c, 1);
}

int vigie_buf_printf(struct vigie_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        vigie_buf_free(b);
        return VIGIE_ERR_INVAL;
    }
    rc = vigie_buf_reserve(b, (size_t)n);
    if (rc != VIGIE_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return VIGIE_OK;
}

size_t vigie_utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t need, i;
    uint32_t cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 4, cp = c & 0x07;
    else
        return 0;
    if (n < need)
        return 0;
    for (i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return need;
}

int vigie_buf_json_str(struct vigie_buf *b, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, from = 0;
    int rc;

    if ((rc = vigie_buf_appendc(b, '"')) != VIGIE_OK)
        return rc;
    while (i < len) {
        unsigned char c = p[i];
        const char *esc = NULL;
        char u[8];
        size_t l;

        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            l = vigie_utf8_len(p + i, len - i);
            if (l > 0) {
                i += l;
                continue;
            }
            esc = "\\ufffd";
        } else if (c == '"') {
            esc = "\\\"";
        } else if (c == '\\') {
            esc = "\\\\";
        } else if (c == '\n') {
            esc = "\\n";
        } else if (c == '\r') {
            esc = "\\r";
        } else if (c == '\t') {
            esc = "\\t";
        } else {
            snprintf(u, sizeof(u), "\\u%04x", c);
            esc = u;
        }
        if ((rc = vigie_buf_append(b, s + from, i - from)) != VIGIE_OK ||
            (rc = vigie_buf_append(b, esc, strlen(esc))) != VIGIE_OK)
            return rc;
        from = ++i;
    }
    if ((rc = vigie_buf_append(b, s + from, i - from)) != VIGIE_OK)
        return rc;
    return vigie_buf_appendc(b, '"');
}
