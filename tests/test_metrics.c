/* test_metrics.c: regression and classification metrics; ROC AUC and
 * average precision against scikit-learn, run live. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "classification.h"
#include "ml_rng.h"
#include "regression.h"
#include "profile.h"
#include "test.h"

TEST(metrics, regression_known_values)
{
    double y[] = {1, 2, 3, NAN, 5}, f[] = {1.5, 2, 2, 4, NAN};
    struct reg_metrics r;

    reg_metrics_compute(y, f, 5, &r);
    CHECK(r.n == 3);
    CHECK_REL(r.rmse, sqrt((0.25 + 0 + 1) / 3.0), 4 * DBL_EPSILON);
    CHECK_REL(r.mae, 1.5 / 3.0, 4 * DBL_EPSILON);
    /* SS_tot about mean 2: 1 + 0 + 1 = 2; SS_res = 1.25 */
    CHECK_REL(r.r2, 1.0 - 1.25 / 2.0, 8 * DBL_EPSILON);
    CHECK_REL(r.bias, (0.5 + 0 - 1) / 3.0, 8 * DBL_EPSILON);
}

TEST(metrics, auc_small_cases)
{
    double s[] = {0.9, 0.8, 0.7, 0.6}, yperfect[] = {1, 1, 0, 0}, yworst[] = {0, 0, 1, 1};
    double tied[] = {0.5, 0.5, 0.5, 0.5};
    struct cls_metrics c;
    struct ml_err err;

    CHECK_OK(cls_metrics_compute(s, yperfect, 4, 0.75, &c, &err), &err);
    CHECK(c.roc_auc == 1.0 && c.pr_auc == 1.0);
    CHECK(c.precision == 1.0 && c.recall == 1.0 && c.flagged_rate == 0.5);
    CHECK_OK(cls_metrics_compute(s, yworst, 4, 0.75, &c, &err), &err);
    CHECK(c.roc_auc == 0.0 && c.precision == 0.0 && c.recall == 0.0);
    CHECK_OK(cls_metrics_compute(tied, yperfect, 4, 0.75, &c, &err), &err);
    CHECK(c.roc_auc == 0.5 && c.pr_auc == 0.5 && isnan(c.precision));
    CHECK_OK(cls_metrics_compute(s, tied, 4, 0.75, &c, &err), &err); /* labels 0.5 = positive */
    CHECK(isnan(c.roc_auc));
    /* A score equal to the threshold is not flagged (scikit-learn flags
     * decision_function < 0, i.e. s strictly above the threshold). */
    s[1] = 0.75;
    CHECK_OK(cls_metrics_compute(s, yperfect, 4, 0.75, &c, &err), &err);
    CHECK(c.flagged_rate == 0.25 && c.precision == 1.0 && c.recall == 0.5);
}

TEST(metrics, auc_matches_sklearn)
{
    char csv[512], out[512], cmd[2048];
    struct ml_rng r;
    double *s, *y, ref_auc = NAN, ref_ap = NAN;
    size_t i, n = 3000;
    struct cls_metrics c;
    struct ml_err err;
    FILE *f;

    if (system("/usr/bin/python3 -c 'import sklearn' >/dev/null 2>&1") != 0) {
        test_skip("python3-sklearn is not installed: AUC reference check NOT RUN");
        return;
    }
    s = malloc(n * sizeof *s);
    y = malloc(n * sizeof *y);
    ml_rng_seed(&r, 7, 0);
    snprintf(csv, sizeof csv, "%s/scores.csv", test_tmpdir());
    snprintf(out, sizeof out, "%s/ref.txt", test_tmpdir());
    f = fopen(csv, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fprintf(f, "score,label\n");
    for (i = 0; i < n; i++) {
        y[i] = ml_rng_uniform(&r) < 0.1;
        /* rounded to 2 decimals so many scores tie */
        s[i] = floor(100.0 * (ml_rng_uniform(&r) + 0.3 * y[i])) / 100.0;
        fprintf(f, "%.17g,%g\n", s[i], y[i]);
    }
    fclose(f);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/golden/cls_metrics.py %s %s", test_dir(), csv,
             out);
    CHECK(system(cmd) == 0);
    f = fopen(out, "r");
    CHECK(f && fscanf(f, "%lf %lf", &ref_auc, &ref_ap) == 2);
    if (f)
        fclose(f);
    CHECK_OK(cls_metrics_compute(s, y, n, 0.9, &c, &err), &err);
    CHECK_ABS(c.roc_auc, ref_auc, 1e-12);
    CHECK_ABS(c.pr_auc, ref_ap, 1e-12);
    free(s);
    free(y);
}

/* profile_moments (the manifest's per-column summary) against
 * profile_column on data with a large mean and missing values. */
TEST(metrics, profile_moments_match_profile_column)
{
    double v[1001];
    struct col_profile a, b;
    struct ml_err err;
    size_t i;

    for (i = 0; i < 1001; i++)
        v[i] = i % 10 == 3 ? NAN : 350.0 + 0.05 * sin((double)i);
    CHECK_OK(profile_column(v, 1001, &a, &err), &err);
    profile_moments(v, 1001, &b);
    CHECK(a.n == b.n && a.missing == b.missing && a.n == 901);
    CHECK(a.min == b.min && a.max == b.max);
    CHECK_REL(b.mean, a.mean, 1e-14);
    CHECK_REL(b.sd, a.sd, 1e-9);
    CHECK(isnan(b.q[0]));
    profile_moments(v, 0, &b);
    CHECK(b.n == 0 && isnan(b.mean) && isnan(b.min));
}
