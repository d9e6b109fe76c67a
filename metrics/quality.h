/* quality.h: model-quality statistics in the JSON shapes of SageMaker Model
 * Monitor's model-quality metrics (developer guide,
 * model-monitor-model-quality-metrics.md), so a model package's
 * ModelMetrics.ModelQuality.Statistics can point at them unchanged:
 *
 *   regression_metrics:            {"mae"|"mse"|"rmse"|"r2": {"value", "standard_deviation"}}
 *   binary_classification_metrics: {"confusion_matrix": {"0": {"0": tn, "1": fp},
 *                                                        "1": {"0": fn, "1": tp}},
 *                                   "recall", "precision", "accuracy", "auc",
 *                                   "true_positive_rate", "true_negative_rate",
 *                                   "false_positive_rate", "false_negative_rate",
 *                                   "f0_5", "f1", "f2", and "<name>_best_constant_classifier"
 *                                   for recall, precision, accuracy, f0_5, f1, f2:
 *                                   {"value", "standard_deviation"};
 *                                   "receiver_operating_characteristic_curve":
 *                                   {"false_positive_rates": [], "true_positive_rates": []},
 *                                   "precision_recall_curve": {"precisions": [], "recalls": []}}
 *
 * Conventions, SageMaker's where it states one:
 * - confusion_matrix: outer key the actual label, inner key the prediction
 *   (as in SageMaker's example, where recall 1 and precision 1/3 fix it).
 * - The "best constant classifier" predicts every row positive (SageMaker's
 *   example: its recall is 1 and its precision and accuracy the prevalence).
 * - A value that is undefined (0/0, e.g. precision when nothing is flagged)
 *   is the string "NaN", as SageMaker writes an absent standard deviation.
 * - standard_deviation: only with >= QUALITY_SD_MIN_ROWS usable rows, else
 *   "NaN".  SageMaker: "randomly sampling 80% of the data 5 times, computing
 *   the metric, and taking the standard deviation".  Here: 5 subsamples of
 *   floor(0.8 n) rows drawn without replacement (Floyd's algorithm) from
 *   ml_rng stream (seed, QUALITY_RNG_STREAM), the sample standard deviation
 *   (n - 1 = 4 denominator) of the 5 values; so the same seed gives the same
 *   numbers.  Curves carry no standard deviation.
 * - Curves: one point per distinct score (ties are one step), from the
 *   highest score down; ROC starts at (0, 0), precision-recall at
 *   (recall 0, precision 1); more than QUALITY_CURVE_POINTS points are thinned
 *   to that many, evenly spaced in rank, keeping the first and the last.
 *
 * Pairs with a NaN on either side are skipped.  A label is positive when it is
 * non-zero; a row is predicted positive when its score is strictly above the
 * threshold (scikit-learn's IsolationForest rule, iforest_is_anomaly). */
#ifndef PF_QUALITY_H
#define PF_QUALITY_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "ml_status.h"

#define QUALITY_SD_MIN_ROWS 200
#define QUALITY_SD_RESAMPLES 5
#define QUALITY_SD_FRACTION 0.8
#define QUALITY_CURVE_POINTS 101
#define QUALITY_RNG_STREAM 0x7175616c69747979ull /* "qualityy": apart from the forests' streams */

/* *out = the regression_metrics object (owned by the caller), or NULL when no
 * pair is usable; *n_used = usable pairs.  Errors: ML_ENOMEM. */
enum ml_status quality_regression_json(const double *y, const double *f, size_t len,
                                       uint64_t seed, cJSON **out, size_t *n_used,
                                       struct ml_err *err);

/* *out = the binary_classification_metrics object, or NULL when no pair is
 * usable; *n_used = usable pairs.  Errors: ML_ENOMEM. */
enum ml_status quality_binary_json(const double *score, const double *label, size_t len,
                                   double threshold, uint64_t seed, cJSON **out,
                                   size_t *n_used, struct ml_err *err);

#endif
