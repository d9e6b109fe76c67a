/* classification.c: ROC AUC, average precision, precision/recall (see
 * classification.h).
 *
 * ROC AUC is the Mann-Whitney statistic computed from ranks with ties given
 * their average rank (Hanley & McNeil 1982, Radiology 143(1)), so it equals
 * the area under the ROC curve with ties as diagonal segments.  Average
 * precision follows scikit-learn's average_precision_score: AP = sum_k
 * (R_k - R_{k-1}) P_k over distinct score thresholds in decreasing order. */
#include "classification.h"

#include <math.h>
#include <stdlib.h>

struct pair {
    double s;
    int y;
};

static int cmp_desc(const void *a, const void *b)
{
    double x = ((const struct pair *)a)->s, y = ((const struct pair *)b)->s;
    return (x < y) - (x > y);
}

enum ml_status cls_metrics_compute(const double *score, const double *label, size_t len,
                                   double threshold, struct cls_metrics *out,
                                   struct ml_err *err)
{
    struct pair *v = malloc((len ? len : 1) * sizeof *v);
    size_t i, j, n = 0, npos = 0, tp = 0, flagged = 0, tp_flag = 0;
    double rank_sum = 0.0, ap = 0.0, prev_recall = 0.0;

    if (!v)
        ML_FAIL(err, ML_ENOMEM, "out of memory for %zu scores", len);
    for (i = 0; i < len; i++) {
        if (isnan(score[i]) || isnan(label[i]))
            continue;
        v[n].s = score[i];
        v[n].y = label[i] != 0.0;
        npos += (size_t)v[n].y;
        if (score[i] > threshold) {
            flagged++;
            tp_flag += (size_t)v[n].y;
        }
        n++;
    }
    out->n = n;
    out->n_pos = npos;
    out->flagged_rate = n ? (double)flagged / (double)n : NAN;
    out->precision = flagged ? (double)tp_flag / (double)flagged : NAN;
    out->recall = npos ? (double)tp_flag / (double)npos : NAN;
    if (npos == 0 || npos == n) {
        out->roc_auc = out->pr_auc = NAN;
        free(v);
        return ML_OK;
    }
    qsort(v, n, sizeof *v, cmp_desc);
    /* Walk groups of tied scores from the highest down. */
    for (i = 0; i < n; i = j) {
        size_t pos_in_group = 0, k;
        double avg_rank_from_top;
        for (j = i; j < n && v[j].s == v[i].s; j++)
            pos_in_group += (size_t)v[j].y;
        /* ranks from the bottom (1 = lowest): group occupies n-j+1 .. n-i */
        avg_rank_from_top = 0.5 * ((double)(n - j + 1) + (double)(n - i));
        rank_sum += (double)pos_in_group * avg_rank_from_top;
        tp += pos_in_group;
        k = j; /* rows scored so far */
        if (pos_in_group) {
            double recall = (double)tp / (double)npos, precision = (double)tp / (double)k;
            ap += (recall - prev_recall) * precision;
            prev_recall = recall;
        }
    }
    {
        double nneg = (double)(n - npos), np = (double)npos;
        out->roc_auc = (rank_sum - np * (np + 1.0) / 2.0) / (np * nneg);
    }
    out->pr_auc = ap;
    free(v);
    return ML_OK;
}
