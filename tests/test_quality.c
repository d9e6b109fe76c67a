/* test_quality.c: SageMaker-shaped model-quality statistics (metrics/quality.h):
 * SageMaker's own documented binary example reproduced, the "NaN" rules, the
 * seeded standard deviations against an independent recomputation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ml_rng.h"
#include "quality.h"
#include "regression.h"
#include "test.h"

static double val(const cJSON *o, const char *metric, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, metric),
                                                      field);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int is_nan_string(const cJSON *o, const char *metric, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, metric),
                                                      field);
    return cJSON_IsString(v) && strcmp(v->valuestring, "NaN") == 0;
}

/* The example of the SageMaker developer guide (model-monitor-model-quality-
 * metrics.md): confusion {"0": {"0": 1, "1": 2}, "1": {"0": 0, "1": 1}},
 * recall 1, precision 1/3, accuracy 0.5, best constant 1 / 0.25 / 0.25, TNR
 * 1/3, FPR 2/3, FNR 0, AUC 1, F0.5 0.3846..., F1 0.5, F2 0.714..., and the best
 * constant classifier's F0.5 0.294..., F1 0.4, F2 0.625; 4 rows, so every
 * standard deviation is "NaN". */
TEST(quality, sagemaker_documented_binary_example)
{
    double s[] = {0.9, 0.8, 0.7, 0.1}, y[] = {1, 0, 0, 0};
    cJSON *q = NULL;
    const cJSON *cm;
    size_t n = 0;
    struct ml_err err;

    CHECK_OK(quality_binary_json(s, y, 4, 0.5, 1, &q, &n, &err), &err);
    CHECK(q != NULL && n == 4);
    cm = cJSON_GetObjectItemCaseSensitive(q, "confusion_matrix");
    CHECK(val(cm, "0", "0") == 1 && val(cm, "0", "1") == 2);
    CHECK(val(cm, "1", "0") == 0 && val(cm, "1", "1") == 1);
    CHECK(val(q, "recall", "value") == 1.0);
    CHECK_REL(val(q, "precision", "value"), 0.3333333333333333, 1e-15);
    CHECK(val(q, "accuracy", "value") == 0.5);
    CHECK(val(q, "recall_best_constant_classifier", "value") == 1.0);
    CHECK(val(q, "precision_best_constant_classifier", "value") == 0.25);
    CHECK(val(q, "accuracy_best_constant_classifier", "value") == 0.25);
    CHECK(val(q, "true_positive_rate", "value") == 1.0);
    CHECK_REL(val(q, "true_negative_rate", "value"), 0.33333333333333337, 1e-15);
    CHECK_REL(val(q, "false_positive_rate", "value"), 0.6666666666666666, 1e-15);
    CHECK(val(q, "false_negative_rate", "value") == 0.0);
    CHECK(val(q, "auc", "value") == 1.0);
    CHECK_REL(val(q, "f0_5", "value"), 0.3846153846153846, 1e-15);
    CHECK_REL(val(q, "f1", "value"), 0.5, 1e-15);
    CHECK_REL(val(q, "f2", "value"), 0.7142857142857143, 1e-15);
    CHECK_REL(val(q, "f0_5_best_constant_classifier", "value"), 0.29411764705882354, 1e-15);
    CHECK_REL(val(q, "f1_best_constant_classifier", "value"), 0.4, 1e-15);
    CHECK_REL(val(q, "f2_best_constant_classifier", "value"), 0.625, 1e-15);
    CHECK(is_nan_string(q, "auc", "standard_deviation"));
    CHECK(is_nan_string(q, "f1", "standard_deviation"));
    cJSON_Delete(q);
}

TEST(quality, undefined_values_are_nan_strings)
{
    double s[] = {0.1, 0.2, 0.3}, y[] = {0, 0, 1};
    cJSON *q = NULL;
    size_t n = 0;
    struct ml_err err;

    /* nothing flagged: precision 0/0 */
    CHECK_OK(quality_binary_json(s, y, 3, 0.5, 1, &q, &n, &err), &err);
    CHECK(is_nan_string(q, "precision", "value"));
    CHECK(val(q, "recall", "value") == 0.0);
    cJSON_Delete(q);
    /* no usable pair: no object at all */
    y[0] = y[1] = y[2] = NAN;
    CHECK_OK(quality_binary_json(s, y, 3, 0.5, 1, &q, &n, &err), &err);
    CHECK(q == NULL && n == 0);
}

/* The standard deviation recomputed here from the documented procedure with
 * its own subsampling code: 5 subsets of floor(0.8 n), each drawn by
 * Floyd's algorithm (the complement, 20%, when that is smaller) from the
 * ml_rng stream (seed, QUALITY_RNG_STREAM), rows taken in ascending order;
 * sample sd. */
static int has(const size_t *v, size_t c, size_t x)
{
    size_t i;

    for (i = 0; i < c; i++)
        if (v[i] == x)
            return 1;
    return 0;
}

TEST(quality, regression_standard_deviation_procedure)
{
    size_t n = 500, m = 400, i, k;
    double *y = malloc(n * sizeof *y), *f = malloc(n * sizeof *f);
    double *sy = malloc(m * sizeof *sy), *sf = malloc(m * sizeof *sf), rmse[5], mean = 0, ss = 0;
    size_t *idx = malloc(n * sizeof *idx);
    struct ml_rng r;
    struct reg_metrics rm;
    cJSON *q = NULL, *q2 = NULL, *q3 = NULL;
    size_t nu = 0;
    struct ml_err err;

    ml_rng_seed(&r, 99, 0);
    for (i = 0; i < n; i++) {
        y[i] = ml_rng_normal(&r);
        f[i] = y[i] + 0.3 * ml_rng_normal(&r);
    }
    CHECK_OK(quality_regression_json(y, f, n, 42, &q, &nu, &err), &err);
    CHECK(nu == n);
    ml_rng_seed(&r, 42, QUALITY_RNG_STREAM);
    for (k = 0; k < 5; k++) {
        size_t out = n - m, c = 0, j, s = 0;
        for (j = n - out; j < n; j++) {
            size_t t = (size_t)ml_rng_below(&r, j + 1);
            idx[c] = has(idx, c, t) ? j : t;
            c++;
        }
        for (i = 0; i < n; i++)
            if (!has(idx, out, i)) {
                sy[s] = y[i];
                sf[s] = f[i];
                s++;
            }
        CHECK(s == m);
        reg_metrics_compute(sy, sf, m, &rm);
        rmse[k] = rm.rmse;
        mean += rm.rmse / 5;
    }
    for (k = 0; k < 5; k++)
        ss += (rmse[k] - mean) * (rmse[k] - mean);
    CHECK_REL(val(q, "rmse", "standard_deviation"), sqrt(ss / 4), 1e-12);
    reg_metrics_compute(y, f, n, &rm);
    CHECK_REL(val(q, "rmse", "value"), rm.rmse, 1e-15);
    CHECK_REL(val(q, "mse", "value"), rm.rmse * rm.rmse, 1e-14);
    /* same seed, same numbers; another seed, other standard deviations */
    CHECK_OK(quality_regression_json(y, f, n, 42, &q2, &nu, &err), &err);
    CHECK(val(q2, "mae", "standard_deviation") == val(q, "mae", "standard_deviation"));
    CHECK_OK(quality_regression_json(y, f, n, 43, &q3, &nu, &err), &err);
    CHECK(val(q3, "mae", "standard_deviation") != val(q, "mae", "standard_deviation"));
    CHECK(val(q3, "mae", "value") == val(q, "mae", "value"));
    /* 199 rows: below SageMaker's 200, no standard deviation */
    cJSON_Delete(q2);
    CHECK_OK(quality_regression_json(y, f, 199, 42, &q2, &nu, &err), &err);
    CHECK(is_nan_string(q2, "r2", "standard_deviation"));
    cJSON_Delete(q3);
    CHECK_OK(quality_regression_json(y, f, 200, 42, &q3, &nu, &err), &err);
    CHECK(val(q3, "r2", "standard_deviation") > 0);
    cJSON_Delete(q);
    cJSON_Delete(q2);
    cJSON_Delete(q3);
    free(y);
    free(f);
    free(sy);
    free(sf);
    free(idx);
}
