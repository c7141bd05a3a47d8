/*
 * A tiny test harness: each unit-test program runs its cases and ends with the
 * plain line "N passed, N failed", which ctest and CI both read. A failed check
 * prints where and why, and the program exits 1.
 */
#ifndef VIGIE_TEST_H
#define VIGIE_TEST_H

#include <stdio.h>
#include <string.h>

static int t_passed, t_failed, t_case_failed;
static const char *t_case;

#define T_FAIL(...)                                                                       \
    do {                                                                                  \
        fprintf(stderr, "FAIL %s (%s:%d): ", t_case, __FILE__, __LINE__);                 \
        fprintf(stderr, __VA_ARGS__);                                                     \
        fputc('\n', stderr);                                                              \
        t_case_failed = 1;                                                                \
    } while (0)

#define T_ASSERT(c)                                                                       \
    do {                                                                                  \
        if (!(c))                                                                         \
            T_FAIL("%s", #c);                                                             \
    } while (0)

#define T_EQ_INT(a, b)                                                                    \
    do {                                                                                  \
        long long t_a_ = (long long)(a), t_b_ = (long long)(b);                           \
        if (t_a_ != t_b_)                                                                 \
            T_FAIL("%s == %lld, expected %s == %lld", #a, t_a_, #b, t_b_);                \
    } while (0)

#define T_EQ_STR(a, b)                                                                    \
    do {                                                                                  \
        const char *t_a_ = (a), *t_b_ = (b);                                              \
        if (t_a_ == NULL || t_b_ == NULL || strcmp(t_a_, t_b_) != 0)                      \
            T_FAIL("%s is \"%s\", expected \"%s\"", #a, t_a_ ? t_a_ : "(null)",           \
                   t_b_ ? t_b_ : "(null)");                                               \
    } while (0)

#define T_CONTAINS(hay, needle)                                                           \
    do {                                                                                  \
        const char *t_h_ = (hay), *t_n_ = (needle);                                       \
        if (t_h_ == NULL || strstr(t_h_, t_n_) == NULL)                                   \
            T_FAIL("%s is \"%s\", which does not contain \"%s\"", #hay,                   \
                   t_h_ ? t_h_ : "(null)", t_n_);                                         \
    } while (0)

#define T_RUN(fn)                                                                         \
    do {                                                                                  \
        t_case = #fn;                                                                     \
        t_case_failed = 0;                                                                \
        fn();                                                                             \
        if (t_case_failed)                                                                \
            t_failed++;                                                                   \
        else                                                                              \
            t_passed++;                                                                   \
    } while (0)

#define T_DONE()                                                                          \
    (printf("%d passed, %d failed\n", t_passed, t_failed), t_failed ? 1 : 0)

#endif
