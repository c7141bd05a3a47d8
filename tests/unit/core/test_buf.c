/* core: bounded buffers, JSON strings, diagnostics, file reads. */
#include <stdlib.h>
#include <unistd.h>

#include "core/core.h"
#include "test.h"

static void test_append_within_cap(void)
{
    struct vigie_buf b;

    vigie_buf_init(&b, 8);
    T_EQ_INT(vigie_buf_append(&b, "abcd", 4), VIGIE_OK);
    T_EQ_INT(vigie_buf_append(&b, "efgh", 4), VIGIE_OK);
    T_EQ_STR(b.data, "abcdefgh");
    T_EQ_INT(b.len, 8);
    vigie_buf_free(&b);
}

static void test_over_cap_frees(void)
{
    struct vigie_buf b;

    vigie_buf_init(&b, 8);
    T_EQ_INT(vigie_buf_append(&b, "abcdef", 6), VIGIE_OK);
    /* One byte too many: refused, and the buffer is gone, so nobody goes on
     * with a truncated message. */
    T_EQ_INT(vigie_buf_append(&b, "ghi", 3), VIGIE_ERR_TOO_BIG);
    T_ASSERT(b.data == NULL);
    T_EQ_INT(b.len, 0);
    T_EQ_INT(vigie_buf_printf(&b, "%s", "123456789"), VIGIE_ERR_TOO_BIG);
    vigie_buf_free(&b);
}

static void test_printf_and_reset(void)
{
    struct vigie_buf b;

    vigie_buf_init(&b, 1024);
    T_EQ_INT(vigie_buf_printf(&b, "%d-%s", 42, "x"), VIGIE_OK);
    T_EQ_STR(b.data, "42-x");
    vigie_buf_reset(&b);
    T_EQ_INT(b.len, 0);
    T_EQ_STR(b.data, "");
    vigie_buf_free(&b);
}

static void test_json_str(void)
{
    struct vigie_buf b;

    vigie_buf_init(&b, 1024);
    T_EQ_INT(vigie_buf_json_str(&b, "a\"b\\c\n\t\x01 é", 11), VIGIE_OK);
    T_EQ_STR(b.data, "\"a\\\"b\\\\c\\n\\t\\u0001 é\"");
    vigie_buf_reset(&b);
    /* Invalid UTF-8 (a lone continuation, an overlong, a surrogate) becomes U+FFFD. */
    T_EQ_INT(vigie_buf_json_str(&b, "x\x80y\xC0\xAFz\xED\xA0\x80", 9), VIGIE_OK);
    T_EQ_STR(b.data, "\"x\\ufffdy\\ufffd\\ufffdz\\ufffd\\ufffd\\ufffd\"");
    vigie_buf_free(&b);
}

static void test_diag_positions_and_cap(void)
{
    struct vigie_diag d;
    unsigned i;

    vigie_diag_init(&d);
    vigie_diag_add(&d, "f.yaml", 3, 7, "bad %s", "thing");
    vigie_diag_add(&d, "f.yaml", 0, 0, "whole file");
    vigie_diag_add(&d, NULL, 0, 0, "no file");
    T_EQ_INT(d.n, 3);
    T_EQ_STR(d.msgs[0], "f.yaml:3:7: bad thing");
    T_EQ_STR(d.msgs[1], "f.yaml: whole file");
    T_EQ_STR(d.msgs[2], "no file");
    for (i = 0; i < VIGIE_DIAG_MAX + 10; i++)
        vigie_diag_add(&d, "f", 1, 1, "m");
    T_EQ_INT(d.n, VIGIE_DIAG_MAX);
    T_EQ_INT(d.dropped, 13);
    vigie_diag_free(&d);
}

static void test_file_read_cap(void)
{
    char path[] = "/tmp/vigie-test-XXXXXX";
    int fd = mkstemp(path);
    struct vigie_buf b;
    char err[256];

    T_ASSERT(fd >= 0);
    T_EQ_INT(write(fd, "0123456789", 10), 10);
    close(fd);
    T_EQ_INT(vigie_file_read(path, 10, &b, err, sizeof(err)), VIGIE_OK);
    T_EQ_STR(b.data, "0123456789");
    vigie_buf_free(&b);
    T_EQ_INT(vigie_file_read(path, 9, &b, err, sizeof(err)), VIGIE_ERR_TOO_BIG);
    T_CONTAINS(err, "larger than the 9-byte limit");
    unlink(path);
    T_EQ_INT(vigie_file_read(path, 9, &b, err, sizeof(err)), VIGIE_ERR_IO);
    T_CONTAINS(err, "cannot open");
    T_EQ_INT(vigie_file_read("/tmp", 9, &b, err, sizeof(err)), VIGIE_ERR_IO);
    T_CONTAINS(err, "not a regular file");
}

static void test_array_grow(void)
{
    struct {
        int *v;
        size_t n, cap;
    } a = {NULL, 0, 0};
    int i;

    for (i = 0; i < 1000; i++) {
        T_EQ_INT(VIGIE_ARRAY_RESERVE(a.v, a.n, a.cap, 4), VIGIE_OK);
        a.v[a.n++] = i;
    }
    T_EQ_INT(a.n, 1000);
    T_EQ_INT(a.cap, 1024); /* 4, 8, ..., 1024 */
    T_EQ_INT(a.v[999], 999);
    /* Room already there: no growth. */
    a.n = 10;
    T_EQ_INT(VIGIE_ARRAY_RESERVE(a.v, a.n, a.cap, 4), VIGIE_OK);
    T_EQ_INT(a.cap, 1024);
    free(a.v);
}

static void test_path_beside(void)
{
    static const char *const cases[][3] = {
        {"policies/customs.yaml", "../rules", "policies/../rules"},
        {"customs.yaml", "../rules", "../rules"},
        {"/etc/vigie/policy.yaml", "rules", "/etc/vigie/rules"},
        {"/policy.yaml", "rules", "/rules"},
        {"policies/customs.yaml", "/usr/share/vigie/rules", "/usr/share/vigie/rules"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *s = vigie_path_beside(cases[i][0], cases[i][1]);
        T_EQ_STR(s, cases[i][2]);
        free(s);
    }
}

int main(void)
{
    T_RUN(test_append_within_cap);
    T_RUN(test_over_cap_frees);
    T_RUN(test_printf_and_reset);
    T_RUN(test_json_str);
    T_RUN(test_diag_positions_and_cap);
    T_RUN(test_file_read_cap);
    T_RUN(test_array_grow);
    T_RUN(test_path_beside);
    return T_DONE();
}
