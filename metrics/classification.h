/* classification.h: how well a score ranks labelled anomalies -- ROC AUC,
 * PR AUC (average precision) and precision/recall at a threshold.  Pure
 * functions of arrays; pairs with a NaN score or label are skipped.  A label
 * is positive when it is non-zero. */
#ifndef PF_CLASSIFICATION_H
#define PF_CLASSIFICATION_H

#include <stddef.h>

#include "ml_status.h"

struct cls_metrics {
    size_t n, n_pos;       /* pairs used, positives among them */
    double roc_auc;        /* Mann-Whitney U / (n_pos n_neg), ties counted half */
    double pr_auc;         /* average precision: sum over positives of precision at their rank,
                              tied scores taken as one step (scikit-learn's definition) */
    double precision;      /* flagging score > threshold (scikit-learn's IsolationForest rule) */
    double recall;
    double flagged_rate;   /* share of rows with score > threshold */
};

/* Higher score = more anomalous.  NaN metrics when undefined (no positive or
 * no negative).  Needs O(n) scratch; ML_ENOMEM if it cannot get it. */
enum ml_status cls_metrics_compute(const double *score, const double *label, size_t len,
                                   double threshold, struct cls_metrics *out,
                                   struct ml_err *err);

#endif
