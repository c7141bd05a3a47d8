/*
 * vlog: every line is one JSON object with ts, level and event first;
 * strings are escaped (quotes, control characters, invalid UTF-8); a record
 * too long for a line is cut and still parses; levels below the minimum
 * write nothing.
 */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "api/api.h"
#include "net/log.h"
#include "test.h"

static int pipefd[2];

/* Everything written to the pipe since the last call (non-blocking read). */
static char *drain(size_t *len)
{
    static char buf[256 * 1024];
    size_t n = 0;
    ssize_t r;

    while (n < sizeof(buf) - 1 && (r = read(pipefd[0], buf + n, sizeof(buf) - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* The one line written since the last call, parsed; NULL (and a failure) if
 * there is not exactly one valid JSON line. */
static json_t *one_line(void)
{
    size_t len;
    char *s = drain(&len);
    json_error_t e;
    json_t *j;

    if (len == 0 || s[len - 1] != '\n' || memchr(s, '\n', len) != s + len - 1) {
        T_FAIL("expected one line, got \"%s\"", s);
        return NULL;
    }
    if (len > VLOG_LINE_MAX)
        T_FAIL("line of %zu bytes", len);
    j = json_loadb(s, len, JSON_ALLOW_NUL, &e);
    if (j == NULL || !json_is_object(j))
        T_FAIL("not a JSON object: %s (%s)", s, e.text);
    return j;
}

static void test_shape(void)
{
    struct vlog_rec r;
    json_t *j;
    const char *ts;
    size_t len;
    char *raw;

    vlog_begin(&r, VLOG_INFO, "request");
    vlog_str(&r, "id", "0123456789abcdef");
    vlog_int(&r, "status", -42);
    vlog_uint(&r, "bytes_in", (uint64_t)1 << 40);
    vlog_double(&r, "ms", 12.34567, 3);
    vlog_bool(&r, "tls", 1);
    vlog_bool(&r, "draining", 0);
    vlog_raw(&r, "findings", "{\"contact.email\":2}");
    vlog_str(&r, "upstream", NULL);
    T_EQ_INT(vlog_end(&r), 0);
    j = one_line();
    if (j == NULL)
        return;
    /* ts, level and event come first, in that order. */
    vlog_begin(&r, VLOG_WARN, "x");
    vlog_end(&r);
    raw = drain(&len);
    T_ASSERT(strncmp(raw, "{\"ts\":\"", 7) == 0);
    T_CONTAINS(raw, "\",\"level\":\"warn\",\"event\":\"x\"}");
    ts = json_string_value(json_object_get(j, "ts"));
    T_ASSERT(ts != NULL && strlen(ts) == 24);
    if (ts && strlen(ts) == 24) {
        T_ASSERT(ts[4] == '-' && ts[7] == '-' && ts[10] == 'T' && ts[13] == ':' &&
                 ts[16] == ':' && ts[19] == '.' && ts[23] == 'Z');
        T_ASSERT(strncmp(ts, "20", 2) == 0);
    }
    T_EQ_STR(json_string_value(json_object_get(j, "level")), "info");
    T_EQ_STR(json_string_value(json_object_get(j, "event")), "request");
    T_EQ_STR(json_string_value(json_object_get(j, "id")), "0123456789abcdef");
    T_EQ_INT(json_integer_value(json_object_get(j, "status")), -42);
    T_EQ_INT(json_integer_value(json_object_get(j, "bytes_in")), (int64_t)1 << 40);
    T_ASSERT(json_is_real(json_object_get(j, "ms")));
    T_ASSERT(json_real_value(json_object_get(j, "ms")) == 12.346);
    T_ASSERT(json_is_true(json_object_get(j, "tls")));
    T_ASSERT(json_is_false(json_object_get(j, "draining")));
    T_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "findings"), "contact.email")),
             2);
    T_ASSERT(json_is_null(json_object_get(j, "upstream")));
    T_ASSERT(json_object_get(j, "truncated") == NULL);
    T_EQ_INT(json_object_size(j), 11);
    json_decref(j);
}

static void test_numbers(void)
{
    struct vlog_rec r;
    json_t *j;

    vlog_begin(&r, VLOG_ERROR, "n");
    vlog_double(&r, "nan", NAN, 2);
    vlog_double(&r, "big", 1e300, 3);
    vlog_double(&r, "neg", -0.5, 0);
    vlog_double(&r, "wide", 1.0, 40);
    vlog_end(&r);
    j = one_line();
    if (j == NULL)
        return;
    T_ASSERT(json_is_null(json_object_get(j, "nan")));
    T_ASSERT(json_number_value(json_object_get(j, "big")) == 1e300);
    T_ASSERT(json_is_number(json_object_get(j, "neg")));
    T_ASSERT(json_number_value(json_object_get(j, "wide")) == 1.0);
    json_decref(j);
}

static void test_escaping(void)
{
    static const char bad[] = "a\"b\\c\n\r\t\x01\x1f"
                              "\xff"
                              "\xc3\xa9"         /* é */
                              "\xed\xa0\x80"     /* a surrogate: invalid */
                              "\xc0\xaf"         /* overlong '/' */
                              "\xf0\x9f\x98\x80" /* U+1F600 */
                              "\xe2\x82";        /* cut at the end */
    struct vlog_rec r;
    json_t *j;
    size_t len;
    char *raw;

    vlog_begin(&r, VLOG_INFO, "ev\"\n");
    vlog_strn(&r, "k\"ey", bad, sizeof(bad) - 1);
    vlog_strn(&r, "nul", "a\0b", 3);
    vlog_end(&r);
    j = one_line();
    if (j == NULL)
        return;
    T_EQ_STR(json_string_value(json_object_get(j, "event")), "ev\"\n");
    T_EQ_STR(json_string_value(json_object_get(j, "k\"ey")),
             "a\"b\\c\n\r\t\x01\x1f"
             "\xef\xbf\xbd"
             "\xc3\xa9"
             "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
             "\xef\xbf\xbd\xef\xbf\xbd"
             "\xf0\x9f\x98\x80"
             "\xef\xbf\xbd\xef\xbf\xbd");
    T_EQ_INT(json_string_length(json_object_get(j, "nul")), 3);
    json_decref(j);

    /* Control characters are escaped on the wire, not only decodable. */
    vlog_begin(&r, VLOG_INFO, "e");
    vlog_str(&r, "k", "\x01\x7f");
    vlog_end(&r);
    raw = drain(&len);
    T_CONTAINS(raw, "\"k\":\"\\u0001\x7f\"}");
}

static void check_truncated(const char *what, size_t fields_before)
{
    json_t *j = one_line();

    if (j == NULL)
        return;
    T_ASSERT(json_is_true(json_object_get(j, "truncated")));
    T_EQ_INT(json_object_size(j), fields_before + 1);
    (void)what;
    json_decref(j);
}

static void test_truncation(void)
{
    static char big[3 * VLOG_LINE_MAX];
    struct vlog_rec r;
    json_t *j;
    const char *v;
    size_t i, len;
    char *raw;

    /* A long string is cut at a character, the line stays valid. */
    for (i = 0; i + 2 < sizeof(big); i += 2)
        memcpy(big + i, "\xc3\xa9", 2);
    big[i] = '\0';
    vlog_begin(&r, VLOG_INFO, "long");
    vlog_str(&r, "a", "first");
    vlog_str(&r, "text", big);
    vlog_str(&r, "after", "dropped");
    vlog_int(&r, "n", 1);
    vlog_end(&r);
    j = one_line();
    if (j != NULL) {
        v = json_string_value(json_object_get(j, "text"));
        T_ASSERT(v != NULL && strlen(v) > 3000 && strlen(v) % 2 == 0);
        T_ASSERT(json_object_get(j, "after") == NULL);
        T_ASSERT(json_is_true(json_object_get(j, "truncated")));
        T_EQ_INT(json_object_size(j), 6);
        json_decref(j);
    }

    /* Escapes are never cut in half: a string of quotes, at every length
     * around the limit, with a preceding field that shifts the position. */
    memset(big, '"', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (i = 0; i < 8; i++) {
        char pad[16];

        memset(pad, 'x', i);
        pad[i] = '\0';
        vlog_begin(&r, VLOG_INFO, "quotes");
        vlog_str(&r, "p", pad);
        vlog_str(&r, "q", big);
        vlog_end(&r);
        check_truncated("quotes", 5);
    }

    /* Fields that must go whole are left out whole. */
    for (i = 0; i < VLOG_LINE_MAX - 100; i++)
        big[i] = 'y';
    big[i] = '\0';
    vlog_begin(&r, VLOG_INFO, "raw");
    vlog_str(&r, "s", big);
    vlog_raw(&r, "r", "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,"
                      "27,28,29,30,31,32,33,34,35,36,37,38,39,40]");
    vlog_int(&r, "i", 5);
    vlog_end(&r);
    check_truncated("raw", 4);

    /* A record filling the line exactly, field by field, never overflows. */
    vlog_begin(&r, VLOG_INFO, "many");
    for (i = 0; i < 1000; i++)
        vlog_uint(&r, "k", i);
    vlog_end(&r);
    raw = drain(&len);
    T_ASSERT(len <= VLOG_LINE_MAX && len > VLOG_LINE_MAX - 40);
    T_CONTAINS(raw, ",\"truncated\":true}\n");
}

static void test_levels(void)
{
    struct vlog_rec r;
    size_t len;

    T_EQ_INT(vlog_level_parse("debug"), VLOG_DEBUG);
    T_EQ_INT(vlog_level_parse("INFO"), VLOG_INFO);
    T_EQ_INT(vlog_level_parse("warn"), VLOG_WARN);
    T_EQ_INT(vlog_level_parse("warning"), VLOG_WARN);
    T_EQ_INT(vlog_level_parse("error"), VLOG_ERROR);
    T_EQ_INT(vlog_level_parse("verbose"), -1);
    T_EQ_INT(vlog_level_parse(""), -1);
    T_EQ_INT(vlog_level_parse(NULL), -1);
    T_EQ_STR(vlog_level_name(VLOG_WARN), "warn");

    vlog_open(pipefd[1], VLOG_WARN);
    T_ASSERT(!vlog_enabled(VLOG_DEBUG));
    T_ASSERT(!vlog_enabled(VLOG_INFO));
    T_ASSERT(vlog_enabled(VLOG_WARN));
    T_ASSERT(vlog_enabled(VLOG_ERROR));
    vlog_begin(&r, VLOG_INFO, "quiet");
    vlog_str(&r, "k", "v");
    T_EQ_INT(vlog_end(&r), 0);
    drain(&len);
    T_EQ_INT(len, 0);
    vlog_begin(&r, VLOG_ERROR, "loud");
    vlog_end(&r);
    T_EQ_INT(vlog_end(&r), 0); /* a second end writes nothing more */
    json_decref(one_line());
    vlog_open(pipefd[1], VLOG_DEBUG);
}

static void test_write_error(void)
{
    struct vlog_rec r;
    int fds[2];

    T_ASSERT(pipe(fds) == 0);
    close(fds[0]);
    vlog_open(fds[1], VLOG_DEBUG);
    vlog_begin(&r, VLOG_INFO, "lost");
    T_EQ_INT(vlog_end(&r), -1); /* EPIPE (SIGPIPE ignored in main) */
    close(fds[1]);
    vlog_open(pipefd[1], VLOG_DEBUG);
}

int main(void)
{
    api_init();
    signal(SIGPIPE, SIG_IGN);
    if (pipe(pipefd) != 0 || fcntl(pipefd[0], F_SETFL, O_NONBLOCK) != 0)
        return 1;
    vlog_open(pipefd[1], VLOG_DEBUG);
    T_RUN(test_shape);
    T_RUN(test_numbers);
    T_RUN(test_escaping);
    T_RUN(test_truncation);
    T_RUN(test_levels);
    T_RUN(test_write_error);
    return T_DONE();
}
