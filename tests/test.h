/* test.h: the unit-test harness.  Each tests/test_<module>.c defines cases with
 * TEST(suite, name) { ... CHECK(...); } and they register themselves at load
 * time, so adding a test file needs no edit elsewhere.  test_main.c runs all
 * cases (or those whose "suite.name" contains argv[1]) and ends with the line
 * "N passed, N failed". */
#ifndef PF_TEST_H
#define PF_TEST_H

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>

struct test_case {
    const char *suite;
    const char *name;
    void (*fn)(void);
};

void test_register(const char *suite, const char *name, void (*fn)(void));
void test_check_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Directory of the repository's tests/ folder, for fixtures (never NULL). */
const char *test_dir(void);
/* A fresh empty temporary directory, removed at exit. Returned path is static
 * storage owned by the harness. */
const char *test_tmpdir(void);
/* Directory holding ../shared/datasets, or NULL (then the test must print
 * a SKIPPED line via test_skip). */
const char *test_shared_datasets(void);
void test_skip(const char *why);

#define TEST(suite, name)                                                           \
    static void test_##suite##_##name(void);                                        \
    __attribute__((constructor)) static void test_reg_##suite##_##name(void)        \
    {                                                                               \
        test_register(#suite, #name, test_##suite##_##name);                        \
    }                                                                               \
    static void test_##suite##_##name(void)

/* CHECK(cond) or CHECK(cond, "printf format", args...): the message is
 * optional.  Pedantic C11 forbids an empty __VA_ARGS__, so the macro counts
 * its arguments (up to a format and 7 values) to pick a variant. */
#define PF_CHECK_PICK(_1, _2, _3, _4, _5, _6, _7, _8, _9, NAME, ...) NAME
#define CHECK(...)                                                                  \
    PF_CHECK_PICK(__VA_ARGS__, PF_CHECK_MSG, PF_CHECK_MSG, PF_CHECK_MSG, PF_CHECK_MSG, \
                  PF_CHECK_MSG, PF_CHECK_MSG, PF_CHECK_MSG, PF_CHECK_MSG, PF_CHECK_PLAIN, \
                  unused)(__VA_ARGS__)
#define PF_CHECK_PLAIN(cond)                                                        \
    do {                                                                            \
        if (!(cond))                                                                \
            test_check_fail(__FILE__, __LINE__, "%s", "CHECK(" #cond ")");          \
    } while (0)
#define PF_CHECK_MSG(cond, ...)                                                     \
    do {                                                                            \
        if (!(cond))                                                                \
            test_check_fail(__FILE__, __LINE__, "CHECK(" #cond ") " __VA_ARGS__);   \
    } while (0)

/* |got - want| <= tol * max(1, |want|) */
#define CHECK_REL(got, want, tol)                                                   \
    do {                                                                            \
        double g_ = (got), w_ = (want), t_ = (tol);                                 \
        if (!(fabs(g_ - w_) <= t_ * fmax(1.0, fabs(w_))))                           \
            test_check_fail(__FILE__, __LINE__, "%s = %.17g, want %.17g (rel tol %g)", \
                            #got, g_, w_, t_);                                      \
    } while (0)

#define CHECK_ABS(got, want, tol)                                                   \
    do {                                                                            \
        double g_ = (got), w_ = (want), t_ = (tol);                                 \
        if (!(fabs(g_ - w_) <= t_))                                                 \
            test_check_fail(__FILE__, __LINE__, "%s = %.17g, want %.17g (abs tol %g)", \
                            #got, g_, w_, t_);                                      \
    } while (0)

/* CHECK that `st` is ML_OK, printing err's message if not. */
#define CHECK_OK(st, errp)                                                          \
    do {                                                                            \
        int s_ = (int)(st);                                                         \
        if (s_ != 0)                                                                \
            test_check_fail(__FILE__, __LINE__, "%s failed (status %d): %s", #st, s_, \
                            (errp)->msg);                                           \
    } while (0)

#endif
