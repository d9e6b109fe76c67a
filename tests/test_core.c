/* test_core.c: the core table, PRNG, column profile and the entrypoint's
 * file-system helpers. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "ml_rng.h"
#include "ml_table.h"
#include "profile.h"
#include "test.h"

TEST(table, duplicate_and_empty_names)
{
    const char *dup[] = {"a", "b", "a"};
    const char *empty[] = {"a", ""};
    struct ml_table *t = NULL;
    struct ml_err err;

    CHECK(ml_table_alloc(&t, 3, dup, NULL, &err) == ML_EFORMAT);
    CHECK(strstr(err.msg, "duplicate column name \"a\"") != NULL, "%s", err.msg);
    CHECK(strstr(err.msg, "columns 1 and 3") != NULL, "%s", err.msg);
    CHECK(t == NULL);
    CHECK(ml_table_alloc(&t, 2, empty, NULL, &err) == ML_EFORMAT);
    CHECK(strstr(err.msg, "column 2 has an empty name") != NULL, "%s", err.msg);
}

static struct ml_table *cat_table(const char *const *levels, size_t n)
{
    const char *names[] = {"g", "x"};
    enum ml_coltype types[] = {ML_COL_CATEGORICAL, ML_COL_NUMERIC};
    struct ml_table *t;
    struct ml_err err;
    size_t i;

    if (ml_table_alloc(&t, 2, names, types, &err) || ml_table_reserve(t, n, &err))
        return NULL;
    for (i = 0; i < n; i++) {
        if (levels[i])
            ml_table_level(t, 0, levels[i], strlen(levels[i]), &t->col[0].v[i], &err);
        else
            t->col[0].v[i] = NAN;
        t->col[1].v[i] = (double)i;
    }
    t->nrow = n;
    return t;
}

TEST(table, append_remaps_levels)
{
    const char *l1[] = {"A", "B", "A"};
    const char *l2[] = {"C", NULL, "A", "B"};
    struct ml_table *a = cat_table(l1, 3), *b = cat_table(l2, 4);
    struct ml_err err;

    CHECK(a && b);
    CHECK_OK(ml_table_append(a, b, &err), &err);
    CHECK(a->nrow == 7);
    CHECK(a->col[0].nlevels == 3);
    /* "C" is new in a: code 2; "A" keeps code 0, "B" code 1. */
    CHECK(a->col[0].v[3] == 2.0 && isnan(a->col[0].v[4]) && a->col[0].v[5] == 0.0 &&
          a->col[0].v[6] == 1.0);
    CHECK(a->col[1].v[6] == 3.0);
    CHECK(ml_table_missing(a, 0) == 1);
    ml_table_free(a);
    ml_table_free(b);
}

TEST(table, append_rejects_other_schema)
{
    const char *n1[] = {"a", "b"}, *n2[] = {"a", "c"}, *n3[] = {"a"};
    struct ml_table *a, *b, *c;
    struct ml_err err;

    CHECK_OK(ml_table_alloc(&a, 2, n1, NULL, &err), &err);
    CHECK_OK(ml_table_alloc(&b, 2, n2, NULL, &err), &err);
    CHECK_OK(ml_table_alloc(&c, 1, n3, NULL, &err), &err);
    CHECK(ml_table_append(a, b, &err) == ML_EFORMAT);
    CHECK(strstr(err.msg, "column 2 is named \"c\" where earlier files have \"b\""), "%s", err.msg);
    CHECK(ml_table_append(a, c, &err) == ML_EFORMAT);
    CHECK(strstr(err.msg, "has 1 columns where earlier files have 2"), "%s", err.msg);
    ml_table_free(a);
    ml_table_free(b);
    ml_table_free(c);
    ml_table_free(NULL);
}

TEST(rng, deterministic_and_uniform)
{
    struct ml_rng a, b, c;
    double sum = 0.0, sumsq = 0.0;
    size_t i, n = 200000, counts[7] = {0};

    ml_rng_seed(&a, 42, 0);
    ml_rng_seed(&b, 42, 0);
    ml_rng_seed(&c, 42, 1);
    for (i = 0; i < 100; i++) {
        uint64_t x = ml_rng_u64(&a);
        CHECK(x == ml_rng_u64(&b));
        CHECK(x != ml_rng_u64(&c), "streams 0 and 1 agree at draw %zu", i);
    }
    for (i = 0; i < n; i++) {
        double u = ml_rng_uniform(&a);
        CHECK(u >= 0.0 && u < 1.0);
        sum += u;
        counts[ml_rng_below(&a, 7)]++;
        u = ml_rng_normal(&a);
        sumsq += u * u;
    }
    /* Means within 5 standard errors: sd(U) = 1/sqrt(12). */
    CHECK_ABS(sum / (double)n, 0.5, 5.0 / sqrt(12.0 * (double)n));
    CHECK_ABS(sumsq / (double)n, 1.0, 5.0 * sqrt(2.0 / (double)n));
    for (i = 0; i < 7; i++)
        CHECK_ABS((double)counts[i] / (double)n, 1.0 / 7.0, 5.0 * sqrt(1.0 / 7.0 / (double)n));
}

TEST(profile, matches_direct_formulas)
{
    double v[] = {3, NAN, 1, 4, 1, 5, 9, 2, 6, NAN};
    struct col_profile p;
    struct ml_err err;
    double mean = 31.0 / 8.0, ss = 0.0, x[] = {3, 1, 4, 1, 5, 9, 2, 6};
    size_t i;

    for (i = 0; i < 8; i++)
        ss += (x[i] - mean) * (x[i] - mean);
    CHECK_OK(profile_column(v, 10, &p, &err), &err);
    CHECK(p.n == 8 && p.missing == 2);
    CHECK(p.min == 1.0 && p.max == 9.0);
    CHECK_REL(p.mean, mean, 4 * DBL_EPSILON);
    CHECK_REL(p.sd, sqrt(ss / 7.0), 8 * DBL_EPSILON);
    /* Type 7 median of 1 1 2 3 4 5 6 9: h = 3.5 -> 3 + 0.5 * (4 - 3). */
    CHECK(p.q[3] == 3.5, "median %g", p.q[3]);
    /* p = 0.25: h = 1.75 -> 1 + 0.75 * (2 - 1). */
    CHECK(p.q[2] == 1.75, "q25 %g", p.q[2]);
}

TEST(profile, all_missing_and_single)
{
    double v[] = {NAN, NAN}, one[] = {7.0};
    struct col_profile p;
    struct ml_err err;

    CHECK_OK(profile_column(v, 2, &p, &err), &err);
    CHECK(p.n == 0 && p.missing == 2 && isnan(p.mean) && isnan(p.min) && isnan(p.q[3]));
    CHECK_OK(profile_column(one, 1, &p, &err), &err);
    CHECK(p.n == 1 && p.mean == 7.0 && isnan(p.sd) && p.q[0] == 7.0 && p.q[6] == 7.0);
}

TEST(profile, welford_keeps_precision_far_from_zero)
{
    /* 1e9 + {0.1, 0.2, 0.3}: a naive sum-of-squares variance loses all digits. */
    double v[] = {1e9 + 0.1, 1e9 + 0.2, 1e9 + 0.3};
    struct col_profile p;
    struct ml_err err;

    CHECK_OK(profile_column(v, 3, &p, &err), &err);
    CHECK_REL(p.sd, 0.1, 1e-6);
}

TEST(fsutil, atomic_write_and_read)
{
    const char *d = test_tmpdir();
    char path[512], *text = NULL;
    size_t len = 0;
    struct ml_err err;

    snprintf(path, sizeof path, "%s/a/b/c", d);
    CHECK_OK(fs_mkdir_p(path, &err), &err);
    CHECK_OK(fs_mkdir_p(path, &err), &err);
    snprintf(path, sizeof path, "%s/a/b/c/file.json", d);
    CHECK_OK(fs_write_atomic(path, "{\"x\": 1}", 8, &err), &err);
    CHECK_OK(fs_read_all(path, 100, &text, &len, &err), &err);
    CHECK(len == 8 && strcmp(text, "{\"x\": 1}") == 0);
    free(text);
    CHECK(fs_read_all(path, 4, &text, &len, &err) == ML_ELIMIT);
    snprintf(path, sizeof path, "%s/nope.json", d);
    CHECK(fs_read_all(path, 100, &text, &len, &err) == ML_EINVAL);
    CHECK(strstr(err.msg, "nope.json") != NULL, "%s", err.msg);
}

TEST(fsutil, mkdir_over_file_fails)
{
    const char *d = test_tmpdir();
    char path[512];
    struct ml_err err;
    FILE *f;

    snprintf(path, sizeof path, "%s/model", d);
    f = fopen(path, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    snprintf(path, sizeof path, "%s/model/sub", d);
    CHECK(fs_mkdir_p(path, &err) == ML_EIO);
    CHECK(strstr(err.msg, "/model") != NULL, "%s", err.msg);
}

TEST(fsutil, abandon_leaves_nothing)
{
    const char *d = test_tmpdir();
    char path[512], tmp[600];
    struct ml_err err;
    struct stat sb;

    snprintf(path, sizeof path, "%s/model.h5", d);
    CHECK_OK(fs_write_temp(path, "abc", 3, tmp, sizeof tmp, &err), &err);
    CHECK(stat(tmp, &sb) == 0 && sb.st_size == 3);
    CHECK(stat(path, &sb) != 0, "final name exists before commit");
    fs_remove_temps_signal_safe();
    CHECK(stat(tmp, &sb) != 0, "temp survived the stop-signal cleanup");
    fs_abandon(tmp);
}

TEST(fsutil, list_sorted_skips_hidden_and_markers)
{
    const char *d = test_tmpdir();
    const char *files[] = {"b.csv", "a.csv", "sub/c.csv", ".hidden", "_SUCCESS", "sub/.x",
                           "_tmp/z.csv"};
    char path[512], **list = NULL;
    size_t n = 0, i;
    struct ml_err err;

    snprintf(path, sizeof path, "%s/sub", d);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/_tmp", d);
    mkdir(path, 0755);
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        FILE *f;
        snprintf(path, sizeof path, "%s/%s", d, files[i]);
        f = fopen(path, "w");
        if (f)
            fclose(f);
    }
    CHECK_OK(fs_list_files(d, &list, &n, &err), &err);
    CHECK(n == 3, "n = %zu", n);
    if (n == 3)
        CHECK(strcmp(list[0], "a.csv") == 0 && strcmp(list[1], "b.csv") == 0 &&
              strcmp(list[2], "sub/c.csv") == 0);
    fs_list_free(list, n);
}

TEST(table, many_levels_stay_consistent)
{
    /* Past the hash threshold every level keeps its code and lookups of
     * existing levels return it. */
    const char *names[] = {"id"};
    enum ml_coltype types[] = {ML_COL_CATEGORICAL};
    struct ml_table *t;
    struct ml_err err;
    char buf[32];
    double code;
    int i;

    CHECK_OK(ml_table_alloc(&t, 1, names, types, &err), &err);
    for (i = 0; i < 5000; i++) {
        int len = snprintf(buf, sizeof buf, "level-%d", i);
        CHECK_OK(ml_table_level(t, 0, buf, (size_t)len, &code, &err), &err);
        CHECK(code == (double)i, "level %d got code %g", i, code);
    }
    for (i = 4999; i >= 0; i -= 7) {
        int len = snprintf(buf, sizeof buf, "level-%d", i);
        CHECK_OK(ml_table_level(t, 0, buf, (size_t)len, &code, &err), &err);
        CHECK(code == (double)i, "lookup of level %d got %g", i, code);
    }
    CHECK(t->col[0].nlevels == 5000);
    ml_table_free(t);
}
