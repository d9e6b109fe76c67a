/* quality.c: SageMaker-shaped model-quality statistics (see quality.h).
 *
 * F-beta = (1 + b^2) P R / (b^2 P + R) (van Rijsbergen 1979, ch. 7), with
 * b = 0.5, 1, 2 as SageMaker reports them.  ROC AUC comes from
 * cls_metrics_compute (Mann-Whitney with ties counted half). */
#include "quality.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "classification.h"
#include "ml_rng.h"
#include "regression.h"

static void add_stat(cJSON *o, const char *key, double value, double sd)
{
    cJSON *m = cJSON_AddObjectToObject(o, key);

    /* JSON has no NaN: SageMaker writes the string "NaN" for an absent value. */
    if (isfinite(value))
        cJSON_AddNumberToObject(m, "value", value);
    else
        cJSON_AddStringToObject(m, "value", "NaN");
    if (isfinite(sd))
        cJSON_AddNumberToObject(m, "standard_deviation", sd);
    else
        cJSON_AddStringToObject(m, "standard_deviation", "NaN");
}

/* Sample standard deviation of k values; NaN if any is NaN. */
static double sample_sd(const double *v, int k)
{
    double mean = 0.0, ss = 0.0;
    int i;

    for (i = 0; i < k; i++)
        mean += v[i];
    mean /= k;
    for (i = 0; i < k; i++)
        ss += (v[i] - mean) * (v[i] - mean);
    return sqrt(ss / (k - 1));
}

/* idx[0..m) becomes a uniform random m-subset of 0..n-1, in ascending
 * order.  Floyd's algorithm (Bentley & Floyd, "A sample of brilliance",
 * CACM 30(9), 1987) draws the smaller of the subset and its complement as
 * marks in mask (n bytes, which stay in cache where an n-entry index
 * shuffle does not), then one ascending scan lists the subset, so the
 * caller's gathers stream through memory instead of jumping at random. */
static void draw_subset(size_t *idx, size_t n, size_t m, struct ml_rng *r, unsigned char *mask)
{
    size_t k = m <= n / 2 ? m : n - m, j, i, c = 0;
    unsigned char want = k == m;

    memset(mask, 0, n);
    for (j = n - k; j < n; j++) {
        size_t t = (size_t)ml_rng_below(r, (uint64_t)j + 1);
        if (mask[t])
            mask[j] = 1;
        else
            mask[t] = 1;
    }
    for (i = 0; i < n; i++)
        if (mask[i] == want)
            idx[c++] = i;
}

/* The pairs (a_i, b_i) with neither missing, in order, to oa/ob; their count. */
static size_t complete_pairs(const double *a, const double *b, size_t len, double *oa,
                             double *ob)
{
    size_t i, n = 0;

    for (i = 0; i < len; i++) {
        if (isnan(a[i]) || isnan(b[i]))
            continue;
        oa[n] = a[i];
        ob[n] = b[i];
        n++;
    }
    return n;
}

static size_t subset_size(size_t n)
{
    size_t m = (size_t)floor(QUALITY_SD_FRACTION * (double)n);
    return m < 1 ? 1 : m;
}

/* ---- regression ------------------------------------------------------------ */

enum { R_MAE, R_MSE, R_RMSE, R_R2, R_N };
static const char *const reg_names[R_N] = {"mae", "mse", "rmse", "r2"};

static void reg_values(const double *y, const double *f, size_t n, double out[R_N])
{
    struct reg_metrics rm;

    reg_metrics_compute(y, f, n, &rm);
    out[R_MAE] = rm.mae;
    out[R_MSE] = rm.rmse * rm.rmse;
    out[R_RMSE] = rm.rmse;
    out[R_R2] = rm.r2;
}

enum ml_status quality_regression_json(const double *y, const double *f, size_t len,
                                       uint64_t seed, cJSON **out, size_t *n_used,
                                       struct ml_err *err)
{
    double *yy, *ff, *sy, *sf, val[R_N], rs[R_N][QUALITY_SD_RESAMPLES], sd[R_N];
    size_t *idx, i, n = 0;
    int k, j;

    *out = NULL;
    *n_used = 0;
    yy = malloc(4 * (len ? len : 1) * sizeof *yy);
    idx = malloc((len ? len : 1) * sizeof *idx);
    if (!yy || !idx) {
        free(yy);
        free(idx);
        ML_FAIL(err, ML_ENOMEM, "out of memory for the quality metrics of %zu rows", len);
    }
    ff = yy + len;
    sy = ff + len;
    sf = sy + len;
    n = complete_pairs(y, f, len, yy, ff);
    *n_used = n;
    if (n == 0) {
        free(yy);
        free(idx);
        return ML_OK;
    }
    reg_values(yy, ff, n, val);
    for (j = 0; j < R_N; j++)
        sd[j] = NAN;
    if (n >= QUALITY_SD_MIN_ROWS) {
        struct ml_rng r;
        size_t m = subset_size(n);
        unsigned char *mask = malloc(n);

        if (!mask) {
            free(yy);
            free(idx);
            ML_FAIL(err, ML_ENOMEM, "out of memory for the quality metrics of %zu rows", len);
        }
        ml_rng_seed(&r, seed, QUALITY_RNG_STREAM);
        for (k = 0; k < QUALITY_SD_RESAMPLES; k++) {
            double v[R_N];
            draw_subset(idx, n, m, &r, mask);
            for (i = 0; i < m; i++) {
                sy[i] = yy[idx[i]];
                sf[i] = ff[idx[i]];
            }
            reg_values(sy, sf, m, v);
            for (j = 0; j < R_N; j++)
                rs[j][k] = v[j];
        }
        free(mask);
        for (j = 0; j < R_N; j++)
            sd[j] = sample_sd(rs[j], QUALITY_SD_RESAMPLES);
    }
    *out = cJSON_CreateObject();
    for (j = 0; j < R_N; j++)
        add_stat(*out, reg_names[j], val[j], sd[j]);
    free(yy);
    free(idx);
    return ML_OK;
}

/* ---- binary classification -------------------------------------------------- */

enum {
    B_RECALL, B_PRECISION, B_ACCURACY, B_RECALL_BC, B_PRECISION_BC, B_ACCURACY_BC,
    B_TPR, B_TNR, B_FPR, B_FNR, B_AUC, B_F05, B_F1, B_F2, B_F05_BC, B_F1_BC, B_F2_BC, B_N
};
static const char *const bin_names[B_N] = {
    "recall", "precision", "accuracy", "recall_best_constant_classifier",
    "precision_best_constant_classifier", "accuracy_best_constant_classifier",
    "true_positive_rate", "true_negative_rate", "false_positive_rate", "false_negative_rate",
    "auc", "f0_5", "f1", "f2", "f0_5_best_constant_classifier", "f1_best_constant_classifier",
    "f2_best_constant_classifier"};

struct confusion {
    size_t tp, fp, tn, fn;
};

static double ratio(size_t a, size_t b)
{
    return b ? (double)a / (double)b : NAN;
}

static double fbeta(double p, double r, double beta)
{
    double b2 = beta * beta, den = b2 * p + r;
    return isnan(p) || isnan(r) ? NAN : den > 0 ? (1.0 + b2) * p * r / den : 0.0;
}

static enum ml_status bin_values(const double *s, const double *lab, size_t n, double thr,
                                 struct confusion *cm, double out[B_N], struct ml_err *err)
{
    struct cls_metrics c;
    size_t i, npos;
    double prev;
    enum ml_status st;

    memset(cm, 0, sizeof *cm);
    for (i = 0; i < n; i++) {
        int y = lab[i] != 0.0, p = s[i] > thr;
        cm->tp += (size_t)(y && p);
        cm->fp += (size_t)(!y && p);
        cm->tn += (size_t)(!y && !p);
        cm->fn += (size_t)(y && !p);
    }
    st = cls_metrics_compute(s, lab, n, thr, &c, err);
    if (st)
        return st;
    npos = cm->tp + cm->fn;
    prev = ratio(npos, n);
    out[B_RECALL] = out[B_TPR] = ratio(cm->tp, npos);
    out[B_PRECISION] = ratio(cm->tp, cm->tp + cm->fp);
    out[B_ACCURACY] = ratio(cm->tp + cm->tn, n);
    out[B_TNR] = ratio(cm->tn, cm->tn + cm->fp);
    out[B_FPR] = ratio(cm->fp, cm->tn + cm->fp);
    out[B_FNR] = ratio(cm->fn, npos);
    /* the all-positive classifier */
    out[B_RECALL_BC] = npos ? 1.0 : NAN;
    out[B_PRECISION_BC] = prev;
    out[B_ACCURACY_BC] = prev;
    out[B_AUC] = c.roc_auc;
    out[B_F05] = fbeta(out[B_PRECISION], out[B_RECALL], 0.5);
    out[B_F1] = fbeta(out[B_PRECISION], out[B_RECALL], 1.0);
    out[B_F2] = fbeta(out[B_PRECISION], out[B_RECALL], 2.0);
    out[B_F05_BC] = fbeta(prev, out[B_RECALL_BC], 0.5);
    out[B_F1_BC] = fbeta(prev, out[B_RECALL_BC], 1.0);
    out[B_F2_BC] = fbeta(prev, out[B_RECALL_BC], 2.0);
    return ML_OK;
}

struct scored {
    double s;
    int y;
};

static int cmp_desc(const void *a, const void *b)
{
    double x = ((const struct scored *)a)->s, y = ((const struct scored *)b)->s;
    return (x < y) - (x > y);
}

static void add_curves(cJSON *o, const double *s, const double *lab, size_t n,
                       struct scored *v)
{
    size_t i, j, npos = 0, tp = 0, k, ng = 0, g;
    size_t *ends;
    cJSON *roc = cJSON_AddObjectToObject(o, "receiver_operating_characteristic_curve");
    cJSON *pr = cJSON_AddObjectToObject(o, "precision_recall_curve");
    cJSON *fprs = cJSON_AddArrayToObject(roc, "false_positive_rates");
    cJSON *tprs = cJSON_AddArrayToObject(roc, "true_positive_rates");
    cJSON *precs = cJSON_AddArrayToObject(pr, "precisions");
    cJSON *recs = cJSON_AddArrayToObject(pr, "recalls");

    for (i = 0; i < n; i++) {
        v[i].s = s[i];
        v[i].y = lab[i] != 0.0;
        npos += (size_t)v[i].y;
    }
    if (npos == 0 || npos == n)
        return; /* a curve needs both classes */
    qsort(v, n, sizeof *v, cmp_desc);
    /* ends of the groups of tied scores, reusing the tail of nothing: count first */
    for (i = 0; i < n; i = j) {
        for (j = i; j < n && v[j].s == v[i].s; j++)
            ;
        ng++;
    }
    ends = malloc(ng * sizeof *ends);
    if (!ends)
        return;
    for (i = 0, g = 0; i < n; i = j) {
        for (j = i; j < n && v[j].s == v[i].s; j++)
            ;
        ends[g++] = j;
    }
    cJSON_AddItemToArray(fprs, cJSON_CreateNumber(0.0));
    cJSON_AddItemToArray(tprs, cJSON_CreateNumber(0.0));
    cJSON_AddItemToArray(precs, cJSON_CreateNumber(1.0));
    cJSON_AddItemToArray(recs, cJSON_CreateNumber(0.0));
    {
        size_t want = ng <= QUALITY_CURVE_POINTS - 1 ? ng : QUALITY_CURVE_POINTS - 1;
        size_t row = 0;
        for (k = 0; k < want; k++) {
            /* group index: evenly spaced in rank, the last group always included */
            size_t gi = want == ng ? k
                                   : (size_t)llround((double)(k + 1) * (double)ng / (double)want) - 1;
            size_t end = ends[gi];
            for (; row < end; row++)
                tp += (size_t)v[row].y;
            cJSON_AddItemToArray(fprs, cJSON_CreateNumber((double)(end - tp) / (double)(n - npos)));
            cJSON_AddItemToArray(tprs, cJSON_CreateNumber((double)tp / (double)npos));
            cJSON_AddItemToArray(precs, cJSON_CreateNumber((double)tp / (double)end));
            cJSON_AddItemToArray(recs, cJSON_CreateNumber((double)tp / (double)npos));
        }
    }
    free(ends);
}

enum ml_status quality_binary_json(const double *score, const double *label, size_t len,
                                   double threshold, uint64_t seed, cJSON **out,
                                   size_t *n_used, struct ml_err *err)
{
    double *ss, *ll, *xs, *xl, val[B_N], rs[B_N][QUALITY_SD_RESAMPLES], sd[B_N];
    size_t *idx, i, n = 0;
    struct confusion cm;
    struct scored *v;
    enum ml_status st;
    int k, j;
    cJSON *o, *c0, *c1, *outer;

    *out = NULL;
    *n_used = 0;
    ss = malloc(4 * (len ? len : 1) * sizeof *ss);
    idx = malloc((len ? len : 1) * sizeof *idx);
    v = malloc((len ? len : 1) * sizeof *v);
    if (!ss || !idx || !v) {
        free(ss);
        free(idx);
        free(v);
        ML_FAIL(err, ML_ENOMEM, "out of memory for the quality metrics of %zu rows", len);
    }
    ll = ss + len;
    xs = ll + len;
    xl = xs + len;
    n = complete_pairs(score, label, len, ss, ll);
    *n_used = n;
    st = n ? bin_values(ss, ll, n, threshold, &cm, val, err) : ML_OK;
    if (st || n == 0)
        goto done;
    for (j = 0; j < B_N; j++)
        sd[j] = NAN;
    if (n >= QUALITY_SD_MIN_ROWS) {
        struct ml_rng r;
        size_t m = subset_size(n);
        unsigned char *mask = malloc(n);

        if (!mask) {
            st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__,
                         "out of memory for the quality metrics of %zu rows", len);
            goto done;
        }
        ml_rng_seed(&r, seed, QUALITY_RNG_STREAM);
        for (k = 0; k < QUALITY_SD_RESAMPLES && st == ML_OK; k++) {
            double w[B_N];
            struct confusion scm;
            draw_subset(idx, n, m, &r, mask);
            for (i = 0; i < m; i++) {
                xs[i] = ss[idx[i]];
                xl[i] = ll[idx[i]];
            }
            st = bin_values(xs, xl, m, threshold, &scm, w, err);
            for (j = 0; j < B_N; j++)
                rs[j][k] = w[j];
        }
        free(mask);
        if (st)
            goto done;
        for (j = 0; j < B_N; j++)
            sd[j] = sample_sd(rs[j], QUALITY_SD_RESAMPLES);
    }
    o = cJSON_CreateObject();
    outer = cJSON_AddObjectToObject(o, "confusion_matrix");
    c0 = cJSON_AddObjectToObject(outer, "0");
    cJSON_AddNumberToObject(c0, "0", (double)cm.tn);
    cJSON_AddNumberToObject(c0, "1", (double)cm.fp);
    c1 = cJSON_AddObjectToObject(outer, "1");
    cJSON_AddNumberToObject(c1, "0", (double)cm.fn);
    cJSON_AddNumberToObject(c1, "1", (double)cm.tp);
    for (j = 0; j < B_N; j++)
        add_stat(o, bin_names[j], val[j], sd[j]);
    add_curves(o, ss, ll, n, v);
    *out = o;
done:
    free(ss);
    free(idx);
    free(v);
    return st;
}
