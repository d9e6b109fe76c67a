/* test_plantsim.c: algorithms/plantsim (the synthetic plant) and the
 * `plantfit sample-data` command.
 *
 * Properties checked: bit-identical tables for equal options and a pinned
 * checksum (the committed datasets/plant.csv depends on it); the requested
 * share of abnormal rows; physical ranges of every output; outputs that depend
 * smoothly on the inputs (a quadratic in reactor1_temp explains much of the
 * yield, with its vertex inside the operating range); abnormal episodes that
 * mostly leave the normal 0.5-99.5% envelope; the missing-value share; option
 * errors.  The command is called in-process with a built argv, its files go to
 * test_tmpdir(), and the CSV is parsed back with strtod to prove it holds the
 * generated doubles exactly. */
#include "test.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../algorithms/plantsim/plantsim.h"
#include "commands.h"
#include "hdf5/table_h5.h"

/* ---------------------------------------------------------------------------
 * Helpers. */

static struct ml_table *generate(size_t rows, uint64_t seed, double abnormal)
{
    struct plantsim_options o;
    struct ml_table *t = NULL;
    struct ml_err err;

    plantsim_options_default(&o);
    o.rows = rows;
    o.seed = seed;
    o.abnormal_fraction = abnormal;
    ml_err_clear(&err);
    CHECK_OK(plantsim_generate(&o, &t, &err), &err);
    return t;
}

static const double *col(const struct ml_table *t, const char *name)
{
    long j = ml_table_find(t, name);

    CHECK(j >= 0, "column %s missing", name);
    return j >= 0 ? t->col[j].v : NULL;
}

/* FNV-1a over the bit patterns of every value, column by column. */
static uint64_t table_hash(const struct ml_table *t)
{
    uint64_t h = 1469598103934665603ULL;
    size_t i, j;
    int b;

    for (j = 0; j < t->ncol; j++)
        for (i = 0; i < t->nrow; i++) {
            uint64_t u;
            memcpy(&u, &t->col[j].v[i], sizeof u);
            for (b = 0; b < 8; b++) {
                h ^= (u >> (8 * b)) & 0xff;
                h *= 1099511628211ULL;
            }
        }
    return h;
}

static int tables_identical(const struct ml_table *a, const struct ml_table *b)
{
    size_t j;

    if (a->nrow != b->nrow || a->ncol != b->ncol)
        return 0;
    for (j = 0; j < a->ncol; j++)
        if (memcmp(a->col[j].v, b->col[j].v, a->nrow * sizeof(double)) != 0)
            return 0;
    return 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile (lower order statistic) of the non-missing values of x over
 * the rows where abnormal == 0. */
static double normal_quantile(const double *x, const double *abn, size_t n, double q)
{
    double *tmp = malloc(n * sizeof *tmp), r;
    size_t i, m = 0;

    for (i = 0; i < n; i++)
        if (abn[i] == 0.0 && !isnan(x[i]))
            tmp[m++] = x[i];
    qsort(tmp, m, sizeof *tmp, cmp_double);
    r = tmp[(size_t)floor(q * (double)(m - 1))];
    free(tmp);
    return r;
}

/* Least squares of y on [1, z, z^2], z = x - x0, over normal rows; solved by
 * Gaussian elimination on the 3x3 normal equations (z centred so they are well
 * conditioned).  Returns R^2 and the coefficients in b. */
static double quad_fit(const double *x, const double *y, const double *abn, size_t n, double x0,
                       double b[3])
{
    double a[3][4] = {{0}}, sy = 0, syy = 0, sse = 0, m = 0;
    size_t i;
    int r, c, k;

    for (i = 0; i < n; i++) {
        double z = x[i] - x0, f[3];
        if (abn[i] != 0.0 || isnan(x[i]) || isnan(y[i]))
            continue;
        f[0] = 1.0;
        f[1] = z;
        f[2] = z * z;
        for (r = 0; r < 3; r++) {
            for (c = 0; c < 3; c++)
                a[r][c] += f[r] * f[c];
            a[r][3] += f[r] * y[i];
        }
        sy += y[i];
        syy += y[i] * y[i];
        m += 1.0;
    }
    for (c = 0; c < 3; c++)
        for (r = c + 1; r < 3; r++) {
            double q = a[r][c] / a[c][c];
            for (k = c; k < 4; k++)
                a[r][k] -= q * a[c][k];
        }
    for (r = 2; r >= 0; r--) {
        double s = a[r][3];
        for (k = r + 1; k < 3; k++)
            s -= a[r][k] * b[k];
        b[r] = s / a[r][r];
    }
    for (i = 0; i < n; i++) {
        double z = x[i] - x0, e;
        if (abn[i] != 0.0 || isnan(x[i]) || isnan(y[i]))
            continue;
        e = y[i] - (b[0] + b[1] * z + b[2] * z * z);
        sse += e * e;
    }
    return 1.0 - sse / (syy - sy * sy / m);
}

/* Run cmd_sample_data with stdout and stderr sent to /dev/null. */
static int run_cmd(int argc, const char *const *args)
{
    char *argv[32];
    int i, rc, out, errfd, null;

    for (i = 0; i < argc && i < 31; i++)
        argv[i] = (char *)(uintptr_t)args[i];
    argv[i] = NULL;
    fflush(stdout);
    fflush(stderr);
    out = dup(1);
    errfd = dup(2);
    null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    rc = cmd_sample_data(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(out, 1);
    dup2(errfd, 2);
    close(out);
    close(errfd);
    close(null);
    return rc;
}

/* Read a whole file into a NUL-terminated buffer (free()), or NULL. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = (size_t)n;
    }
    return buf;
}

/* Number of directory entries other than "." and "..", or -1. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (!d)
        return -1;
    while ((de = readdir(d)) != NULL)
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* ---------------------------------------------------------------------------
 * The library. */

TEST(plantsim, columns_match_metadata)
{
    size_t ncol, j, i;
    const struct plantsim_column *cols = plantsim_columns(&ncol);
    struct ml_table *t = generate(3000, 5, 0.03);
    size_t ninputs = 0;

    if (!t)
        return;
    CHECK(t->ncol == ncol, "%zu columns, metadata lists %zu", t->ncol, ncol);
    CHECK(t->nrow == 3000);
    for (j = 0; j < ncol && j < t->ncol; j++) {
        double p = 1.0;
        int d;

        CHECK(strcmp(t->col[j].name, cols[j].name) == 0, "column %zu: %s vs %s", j,
              t->col[j].name, cols[j].name);
        ninputs += cols[j].role == PLANTSIM_ROLE_INPUT;
        for (d = 0; d < cols[j].decimals; d++)
            p *= 10.0;
        /* Every value is rounded to the column's precision. */
        for (i = 0; i < t->nrow; i++) {
            double x = t->col[j].v[i];
            if (isnan(x))
                continue;
            if (x != round(x * p) / p) {
                CHECK(0, "%s row %zu = %.17g is not rounded to %d decimals", cols[j].name, i,
                      x, cols[j].decimals);
                break;
            }
        }
    }
    CHECK(ninputs >= 10 && ninputs <= 14, "%zu inputs", ninputs);
    j = (size_t)ml_table_find(t, "line");
    CHECK(t->col[j].type == ML_COL_CATEGORICAL);
    CHECK(t->col[j].nlevels == 2 && strcmp(t->col[j].levels[0], "A") == 0 &&
          strcmp(t->col[j].levels[1], "B") == 0);
    for (j = 0; j < t->ncol; j++)
        if (strcmp(t->col[j].name, "line") != 0)
            CHECK(t->col[j].type == ML_COL_NUMERIC, "%s", t->col[j].name);
    ml_table_free(t);
}

TEST(plantsim, deterministic)
{
    struct ml_table *a = generate(5000, 42, 0.03), *b = generate(5000, 42, 0.03);
    struct ml_table *c = generate(5000, 43, 0.03);
    const double *ya, *yc;
    size_t i, differ = 0;

    if (!a || !b || !c)
        goto done;
    CHECK(tables_identical(a, b), "same seed, different tables");
    CHECK(table_hash(a) == table_hash(b));
    ya = col(a, "yield");
    yc = col(c, "yield");
    for (i = 0; i < a->nrow; i++)
        differ += ya[i] != yc[i];
    CHECK(differ > a->nrow / 2, "seeds 42 and 43 differ in only %zu yield values", differ);
done:
    ml_table_free(a);
    ml_table_free(b);
    ml_table_free(c);
}

/* The committed datasets/plant.csv is pinned by this checksum: a change to
 * the model, the random streams or the rounding changes it.  If the change is
 * intended, update the value here, regenerate the sample (make sample) and
 * its README entry. */
TEST(plantsim, pinned_checksum)
{
    struct ml_table *t = generate(3000, 20261125, 0.03);

    if (!t)
        return;
    CHECK(table_hash(t) == 0x66e8b26770344ac5ULL, "hash %#018llx", (unsigned long long)table_hash(t));
    ml_table_free(t);
}

TEST(plantsim, abnormal_fraction)
{
    static const double fr[] = {0.0, 0.01, 0.03, 0.1, 0.3, 0.5};
    size_t k, i;

    for (k = 0; k < sizeof fr / sizeof fr[0]; k++) {
        struct ml_table *t = generate(20000, 7, fr[k]);
        const double *abn;
        size_t n1 = 0, runs = 0, shortest = (size_t)-1, longest = 0, run = 0;

        if (!t)
            continue;
        abn = col(t, "abnormal");
        for (i = 0; i <= t->nrow; i++) {
            int a = i < t->nrow && abn[i] != 0.0;
            if (i < t->nrow)
                CHECK(abn[i] == 0.0 || abn[i] == 1.0, "abnormal = %g", abn[i]);
            n1 += (size_t)a;
            if (a) {
                run++;
            } else if (run) {
                runs++;
                shortest = run < shortest ? run : shortest;
                longest = run > longest ? run : longest;
                run = 0;
            }
        }
        /* Within 1% of the requested share (relative), or 2 rows. */
        CHECK(fabs((double)n1 - fr[k] * 20000.0) <= fmax(2.0, 0.01 * fr[k] * 20000.0),
              "fraction %g: %zu abnormal rows", fr[k], n1);
        if (fr[k] > 0.0) {
            /* Episodes of tens of minutes at one row a minute; the last may
             * absorb a short remainder. */
            CHECK(runs >= 2, "fraction %g: %zu episodes", fr[k], runs);
            CHECK(shortest >= 10 && longest <= 70, "fraction %g: episodes of %zu to %zu rows",
                  fr[k], shortest, longest);
        }
        ml_table_free(t);
    }
}

TEST(plantsim, physical_ranges)
{
    struct ml_table *t = generate(20000, 11, 0.05);
    const double *x1, *x2, *conc, *yld, *time, *line, *p1, *pev, *feed;
    size_t i, ordered = 0;

    if (!t)
        return;
    x1 = col(t, "oxidation1");
    x2 = col(t, "oxidation2");
    conc = col(t, "concentration");
    yld = col(t, "yield");
    time = col(t, "time");
    line = col(t, "line");
    p1 = col(t, "reactor1_pressure");
    pev = col(t, "evaporator_pressure");
    feed = col(t, "feed_rate");
    for (i = 0; i < t->nrow; i++) {
        int ok = x1[i] > 0.0 && x1[i] < 1.0 && x2[i] > 0.0 && x2[i] < 1.0 && conc[i] >= 0.0 &&
                 yld[i] > 0.0 && yld[i] < 100.0 && (line[i] == 0.0 || line[i] == 1.0) &&
                 p1[i] > 0.0 && pev[i] > 0.0 && feed[i] > 0.0;
        if (!ok) {
            CHECK(0, "row %zu: ox1 %g ox2 %g conc %g yield %g line %g", i, x1[i], x2[i],
                  conc[i], yld[i], line[i]);
            CHECK(0, "row %zu: p1 %g pev %g feed %g", i, p1[i], pev[i], feed[i]);
            break;
        }
        if (i > 0 && !(time[i] > time[i - 1])) {
            CHECK(0, "time not increasing at row %zu", i);
            break;
        }
        ordered += x2[i] >= x1[i];
    }
    CHECK_ABS(time[1] - time[0], 1.0, 0.0);
    /* Reactor 2 only adds conversion; analyser noise may invert a few rows. */
    CHECK((double)ordered >= 0.99 * (double)t->nrow, "oxidation2 >= oxidation1 in %zu rows",
          ordered);
    ml_table_free(t);
}

TEST(plantsim, both_lines_and_the_concentration_limit)
{
    /* Ten weeks: the share over the limit varies from week to week with
     * the operating regime (from none to ~15%). */
    struct ml_table *t = generate(100000, 1, 0.03);
    const double *line, *conc, *abn;
    size_t i, nb = 0, over = 0, normal = 0;

    if (!t)
        return;
    line = col(t, "line");
    conc = col(t, "concentration");
    abn = col(t, "abnormal");
    for (i = 0; i < t->nrow; i++) {
        nb += line[i] == 1.0;
        if (abn[i] == 0.0) {
            normal++;
            over += conc[i] > PLANTSIM_CONCENTRATION_LIMIT;
        }
    }
    /* Campaigns of 12-48 h: both lines well represented. */
    CHECK(nb > t->nrow / 5 && nb < t->nrow * 4 / 5, "%zu of %zu rows on line B", nb, t->nrow);
    /* The limit is reached sometimes, not usually. */
    CHECK(over > normal / 100 && over < normal / 5, "%zu of %zu normal rows over the limit",
          over, normal);
    ml_table_free(t);
}

TEST(plantsim, outputs_depend_smoothly_on_inputs)
{
    struct ml_table *t = generate(20000, 2, 0.03);
    const double *abn, *t1, *t2;
    double b[3], r2;

    if (!t)
        return;
    abn = col(t, "abnormal");
    t1 = col(t, "reactor1_temp");
    t2 = col(t, "reactor2_temp");

    /* Yield: an interior optimum in reactor temperature (conversion up,
     * selectivity down), so a concave quadratic with its vertex inside the
     * operating range, explaining a good share of the variance. */
    r2 = quad_fit(t1, col(t, "yield"), abn, t->nrow, 160.0, b);
    CHECK(r2 > 0.25, "yield ~ quad(reactor1_temp): R^2 = %g", r2);
    CHECK(b[2] < 0.0, "curvature %g", b[2]);
    CHECK(160.0 - b[1] / (2.0 * b[2]) > 155.0 && 160.0 - b[1] / (2.0 * b[2]) < 180.0,
          "vertex at %g degC", 160.0 - b[1] / (2.0 * b[2]));

    /* Conversion rises with temperature (Arrhenius). */
    r2 = quad_fit(t1, col(t, "oxidation1"), abn, t->nrow, 160.0, b);
    CHECK(r2 > 0.4, "oxidation1 ~ quad(reactor1_temp): R^2 = %g", r2);
    CHECK(b[1] > 0.0, "slope %g", b[1]);

    /* The by-product rises with reactor 2 temperature. */
    r2 = quad_fit(t2, col(t, "concentration"), abn, t->nrow, 175.0, b);
    CHECK(r2 > 0.4, "concentration ~ quad(reactor2_temp): R^2 = %g", r2);
    CHECK(b[1] > 0.0, "slope %g", b[1]);

    /* Ratio control: catalyst and air follow the feed. */
    r2 = quad_fit(col(t, "feed_rate"), col(t, "air_flow"), abn, t->nrow, 21.0, b);
    CHECK(r2 > 0.6, "air_flow ~ quad(feed_rate): R^2 = %g", r2);
    ml_table_free(t);
}

TEST(plantsim, abnormal_rows_leave_the_normal_envelope)
{
    struct ml_table *t = generate(40000, 9, 0.03);
    size_t ncol, j, i, jin[32], nin = 0;
    const struct plantsim_column *cols = plantsim_columns(&ncol);
    double lo[32], hi[32];
    const double *abn;
    size_t flag_n = 0, n_n = 0, flag_a = 0, n_a = 0, eps = 0, eps_seen = 0;

    if (!t)
        return;
    abn = col(t, "abnormal");
    for (j = 0; j < ncol; j++)
        if (cols[j].role == PLANTSIM_ROLE_INPUT) {
            jin[nin] = j;
            lo[nin] = normal_quantile(t->col[j].v, abn, t->nrow, 0.005);
            hi[nin] = normal_quantile(t->col[j].v, abn, t->nrow, 0.995);
            nin++;
        }
    for (i = 0; i < t->nrow;) {
        size_t start = i, hits = 0;
        int a = abn[i] != 0.0;

        /* One normal row, or one whole episode. */
        do {
            int out = 0;
            size_t k;
            for (k = 0; k < nin; k++) {
                double x = t->col[jin[k]].v[i];
                out |= x < lo[k] || x > hi[k];
            }
            hits += (size_t)out;
            i++;
        } while (a && i < t->nrow && abn[i] != 0.0);
        if (a) {
            flag_a += hits;
            n_a += i - start;
            eps++;
            eps_seen += 4 * hits >= i - start;
        } else {
            flag_n += hits;
            n_n++;
        }
    }
    /* Stuck sensors (1 of 8 kinds) stay inside the envelope, and so do some
     * short or mild episodes of the other kinds; ~80% leave it. */
    CHECK(eps >= 20, "%zu episodes", eps);
    CHECK(eps_seen * 10 >= eps * 6, "only %zu of %zu episodes have >= 25%% of rows outside",
          eps_seen, eps);
    CHECK((double)flag_a / (double)n_a > 3.0 * (double)flag_n / (double)n_n,
          "outside the envelope: %zu/%zu abnormal rows, %zu/%zu normal rows", flag_a, n_a,
          flag_n, n_n);
    ml_table_free(t);
}

TEST(plantsim, missing_values)
{
    static const char *const gappy[] = {"air_flow", "feed_purity", "reactor2_pressure",
                                        "coolant_temp"};
    struct plantsim_options o;
    struct ml_table *t = generate(50000, 4, 0.03), *t0 = NULL;
    struct ml_err err;
    size_t j, k, total = 0;

    if (!t)
        return;
    for (j = 0; j < t->ncol; j++) {
        size_t miss = ml_table_missing(t, j);
        int is_gappy = 0;
        for (k = 0; k < 4; k++)
            is_gappy |= strcmp(t->col[j].name, gappy[k]) == 0;
        if (is_gappy)
            CHECK(miss >= 50 && miss <= 200, "%s: %zu of 50000 missing (want ~100)",
                  t->col[j].name, miss);
        else
            CHECK(miss == 0, "%s: %zu missing", t->col[j].name, miss);
        total += miss;
    }
    ml_table_free(t);

    plantsim_options_default(&o);
    o.rows = 5000;
    o.missing_fraction = 0.0;
    CHECK_OK(plantsim_generate(&o, &t0, &err), &err);
    for (j = 0; t0 && j < t0->ncol; j++)
        CHECK(ml_table_missing(t0, j) == 0, "%s", t0->col[j].name);
    ml_table_free(t0);
    CHECK(total > 0);
}

/* Abnormal episodes do not move the random numbers of the normal process:
 * rows before the first episode are identical with and without episodes, and
 * later normal rows mostly so (upsets decay through the process lags). */
TEST(plantsim, streams_are_independent)
{
    struct ml_table *a = generate(6000, 8, 0.0), *b = generate(6000, 8, 0.05);
    const double *abn, *ya, *yb;
    size_t first = 0, i, j, same = 0, normal = 0;

    if (!a || !b)
        goto done;
    abn = col(b, "abnormal");
    while (first < b->nrow && abn[first] == 0.0)
        first++;
    CHECK(first > 0 && first < b->nrow, "first episode at row %zu", first);
    for (j = 0; j < a->ncol; j++)
        if (j != (size_t)ml_table_find(a, "abnormal"))
            CHECK(memcmp(a->col[j].v, b->col[j].v, first * sizeof(double)) == 0, "%s",
                  a->col[j].name);
    ya = col(a, "yield");
    yb = col(b, "yield");
    for (i = 0; i < a->nrow; i++)
        if (abn[i] == 0.0) {
            normal++;
            same += ya[i] == yb[i];
        }
    CHECK(same * 10 >= normal * 9, "%zu of %zu normal yields unchanged", same, normal);
done:
    ml_table_free(a);
    ml_table_free(b);
}

TEST(plantsim, small_and_odd_sizes)
{
    struct plantsim_options o;
    struct ml_table *t = NULL;
    struct ml_err err;
    static const size_t rows[] = {1, 2, 7, 100};
    size_t k;

    plantsim_options_default(&o);
    for (k = 0; k < 4; k++) {
        o.rows = rows[k];
        o.abnormal_fraction = 0.5;
        CHECK_OK(plantsim_generate(&o, &t, &err), &err);
        CHECK(t && t->nrow == rows[k]);
        ml_table_free(t);
        t = NULL;
    }
    /* Hourly samples: every episode is one or two rows. */
    o.rows = 2000;
    o.sample_period = 3600.0;
    o.abnormal_fraction = 0.1;
    CHECK_OK(plantsim_generate(&o, &t, &err), &err);
    if (t) {
        const double *time = col(t, "time");
        CHECK_ABS(time[1000], 60000.0, 0.0);
    }
    ml_table_free(t);
}

TEST(plantsim, option_errors)
{
    struct plantsim_options o;
    struct ml_table *t = (struct ml_table *)&o; /* must be reset to NULL */
    struct ml_err err;

    plantsim_options_default(&o);
    o.rows = 0;
    CHECK(plantsim_generate(&o, &t, &err) == ML_EINVAL && t == NULL);
    CHECK(strstr(err.msg, "rows") != NULL, "%s", err.msg);
    o.rows = PLANTSIM_MAX_ROWS + 1;
    CHECK(plantsim_generate(&o, &t, &err) == ML_ELIMIT);
    plantsim_options_default(&o);
    o.abnormal_fraction = 0.6;
    CHECK(plantsim_generate(&o, &t, &err) == ML_EINVAL);
    CHECK(strstr(err.msg, "0.6") != NULL, "%s", err.msg);
    o.abnormal_fraction = NAN;
    CHECK(plantsim_generate(&o, &t, &err) == ML_EINVAL);
    o.abnormal_fraction = -0.01;
    CHECK(plantsim_generate(&o, &t, &err) == ML_EINVAL);
    plantsim_options_default(&o);
    o.sample_period = 0.5;
    CHECK(plantsim_generate(&o, &t, &err) == ML_EINVAL);
    o.sample_period = INFINITY;
    CHECK(plantsim_generate(&o, &t, &err) == ML_EINVAL);
    plantsim_options_default(&o);
    o.missing_fraction = 0.2;
    CHECK(plantsim_generate(&o, &t, &err) == ML_EINVAL);
    CHECK(t == NULL);
}

/* ---------------------------------------------------------------------------
 * The command. */

TEST(plantsim, cmd_usage_errors)
{
    const char *dir = test_tmpdir();
    struct {
        int argc;
        const char *argv[6];
    } bad[] = {
        {3, {"sample-data", "--rows", "abc"}},
        {5, {"sample-data", "--rows", "abc", "--out", dir}},
        {5, {"sample-data", "--rows", "0", "--out", dir}},
        {5, {"sample-data", "--rows", "-5", "--out", dir}},
        {5, {"sample-data", "--rows", "12x", "--out", dir}},
        {5, {"sample-data", "--rows", "1000000000", "--out", dir}},
        {5, {"sample-data", "--rows", "99999999999999999999999", "--out", dir}},
        {5, {"sample-data", "--seed", "-1", "--out", dir}},
        {5, {"sample-data", "--seed", "", "--out", dir}},
        {5, {"sample-data", "--abnormal-fraction", "0.9", "--out", dir}},
        {5, {"sample-data", "--abnormal-fraction", "nan", "--out", dir}},
        {5, {"sample-data", "--abnormal-fraction", "0.1x", "--out", dir}},
        {5, {"sample-data", "--period", "0", "--out", dir}},
        {5, {"sample-data", "--format", "xml", "--out", dir}},
        {3, {"sample-data", "--rows", "10"}},
        {4, {"sample-data", "--out", dir, "--rows"}},
        {4, {"sample-data", "--out", dir, "--colour"}},
        {4, {"sample-data", "--out", dir, "extra"}},
        {2, {"sample-data", "--out="}},
    };
    size_t k;

    for (k = 0; k < sizeof bad / sizeof bad[0]; k++)
        CHECK(run_cmd(bad[k].argc, bad[k].argv) == 2, "case %zu (%s %s) not exit 2", k,
              bad[k].argv[1], bad[k].argc > 2 ? bad[k].argv[2] : "");
    CHECK(count_entries(dir) == 0, "a usage error wrote files");
    {
        const char *help[] = {"sample-data", "--help"};
        CHECK(run_cmd(2, help) == 0);
    }
}

TEST(plantsim, cmd_failure_exit_1)
{
    const char *dir = test_tmpdir();
    char file[600];
    FILE *f;

    /* --out names a regular file: mkdir -p fails. */
    snprintf(file, sizeof file, "%s/not-a-dir", dir);
    f = fopen(file, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    {
        const char *argv[] = {"sample-data", "--rows", "50", "--out", file};
        CHECK(run_cmd(5, argv) == 1);
    }
    CHECK(count_entries(dir) == 1, "files left behind");
}

TEST(plantsim, cmd_writes_the_generated_table)
{
    const char *dir = test_tmpdir();
    char out[600], path[700];
    const char *argv[] = {"sample-data", "--rows=1500", "--seed", "77", "--out", out,
                          "--abnormal-fraction", "0.1"};
    struct ml_table *t;
    char *buf, *p, *line_end;
    size_t len, row = 0, j, bad = 0;

    /* A nested directory that does not exist yet (mkdir -p). */
    snprintf(out, sizeof out, "%s/a/b/c", dir);
    CHECK(run_cmd(8, argv) == 0);
    snprintf(path, sizeof path, "%s/plant.csv", out);
    CHECK(count_entries(out) == 1, "expected only plant.csv in %s", out);
    buf = slurp(path, &len);
    CHECK(buf != NULL, "%s not written", path);
    {
        struct plantsim_options o;
        struct ml_err err;
        plantsim_options_default(&o);
        o.rows = 1500;
        o.seed = 77;
        o.abnormal_fraction = 0.1;
        t = NULL;
        CHECK_OK(plantsim_generate(&o, &t, &err), &err);
    }
    if (!buf || !t)
        goto done;
    CHECK(len > 0 && buf[len - 1] == '\n');
    /* Header. */
    line_end = strchr(buf, '\n');
    p = buf;
    for (j = 0; j < t->ncol; j++) {
        size_t n = strlen(t->col[j].name);
        CHECK(strncmp(p, t->col[j].name, n) == 0 && p[n] == (j + 1 < t->ncol ? ',' : '\n'),
              "header field %zu", j);
        p += n + 1;
    }
    CHECK(p == line_end + 1, "header longer than the columns");
    /* Rows: every cell parses back to the generated double, NaN as empty. */
    while (*p && row < t->nrow) {
        for (j = 0; j < t->ncol; j++) {
            char *end = p;
            double want = t->col[j].v[row], got;

            if (t->col[j].type == ML_COL_CATEGORICAL) {
                const char *lv = t->col[j].levels[(size_t)want];
                size_t n = strlen(lv);
                if (strncmp(p, lv, n) != 0)
                    bad++;
                end = p + n;
            } else if (isnan(want)) {
                if (*p != ',' && *p != '\n')
                    bad++;
            } else {
                got = strtod(p, &end);
                if (end == p || got != want || (end - p > 1 && end[-1] == '0' &&
                                                memchr(p, '.', (size_t)(end - p)))) {
                    if (bad++ < 3)
                        CHECK(0, "row %zu col %s: file has %.*s, table %.17g", row,
                              t->col[j].name, (int)(end - p), p, want);
                }
            }
            if (*end != (j + 1 < t->ncol ? ',' : '\n')) {
                CHECK(0, "row %zu col %zu: bad separator", row, j);
                goto done;
            }
            p = end + 1;
        }
        row++;
    }
    CHECK(row == t->nrow && *p == '\0', "%zu rows in the file", row);
    CHECK(bad == 0, "%zu cells differ", bad);

    /* Same arguments, same bytes. */
    {
        char *again;
        size_t len2;
        CHECK(run_cmd(8, argv) == 0);
        again = slurp(path, &len2);
        CHECK(again && len2 == len && memcmp(again, buf, len) == 0, "second run differs");
        free(again);
    }
done:
    free(buf);
    ml_table_free(t);
}

TEST(plantsim, cmd_h5)
{
    const char *dir = test_tmpdir();
    const char *argv[] = {"sample-data", "--rows", "700", "--seed", "5", "--format", "h5",
                          "--out", dir};
    struct plantsim_options o;
    struct ml_table *t = NULL, *back = NULL;
    struct ml_err err;
    char path[600];
    size_t j;

    CHECK(run_cmd(9, argv) == 0);
    snprintf(path, sizeof path, "%s/plant.h5", dir);
    CHECK(table_h5_is_hdf5(path) == 1);
    CHECK(count_entries(dir) == 1);
    plantsim_options_default(&o);
    o.rows = 700;
    o.seed = 5;
    CHECK_OK(plantsim_generate(&o, &t, &err), &err);
    CHECK_OK(table_h5_read(path, 1, &back, &err), &err);
    if (t && back) {
        CHECK(back->nrow == t->nrow && back->ncol == t->ncol);
        for (j = 0; j < t->ncol && j < back->ncol; j++) {
            size_t i, diff = 0;
            CHECK(strcmp(back->col[j].name, t->col[j].name) == 0);
            for (i = 0; i < t->nrow && back->nrow == t->nrow; i++) {
                double a = t->col[j].v[i], b = back->col[j].v[i];
                diff += !(a == b || (isnan(a) && isnan(b)));
            }
            CHECK(diff == 0, "%s: %zu values differ", t->col[j].name, diff);
        }
    }
    ml_table_free(t);
    ml_table_free(back);
}
