/* compare.h: champion/challenger -- score a new model and the baseline
 * (deployed) one on the same rows, compute their metrics side by side and
 * apply a rule (metrics/rule.h), giving a JSON verdict for a Step Functions
 * Choice state.  Used by `plantfit compare` (cmd_compare.c) and by `train`
 * when a `baseline` channel holds the deployed model.
 *
 * Models: model directories or model artifacts (model.tar.gz), see
 * model_dir_open; both must hold the same kinds of model (a GAM, a forest,
 * or both).  Metrics per side:
 *   GAM      rmse, mae, r2, bias against the target column (the new GAM's
 *            response unless `target` is given), over the rows where the
 *            target and both models' predictions are defined (so both sides
 *            are measured on exactly the same rows); rows = those rows;
 *   forest   anomaly_rate (share of rows flagged by that model's own
 *            threshold), and with a 0/1 label column auc (ROC AUC) and pr_auc
 *            (average precision); rows = rows scored.
 * Default rule: "rmse <= 1.02 * baseline.rmse" for GAMs; for forests
 * "auc >= baseline.auc - 0.01 and anomaly_rate <= 2 * baseline.anomaly_rate"
 * with a label, "anomaly_rate <= 2 * baseline.anomaly_rate" without; both
 * joined by "and" when the directories hold both.
 *
 * Verdict: {"pass": true|false, "rule": "...", "reasons": ["<clause>:
 * <left> <op> <right>: holds|fails", ...], "new": {"model": PATH, "commit":
 * ID|null, "rmse": ..., ...}, "baseline": {...}, "data": {"source": ...,
 * "rows": N, "skipped": K}, "target": ..., "label": ...}.  A rule that
 * fails is a verdict (pass = false), not an error; errors are bad models,
 * bad data, a bad rule, or a metric the rule needs that the data cannot
 * give (no label column for auc). */
#ifndef PF_COMPARE_H
#define PF_COMPARE_H

#include <cJSON.h>

#include "ml_status.h"
#include "ml_table.h"

struct compare_opts {
    const char *new_model;       /* directory or archive */
    const char *baseline;        /* directory or archive */
    const char *rule;            /* NULL: the default for the models */
    const char *target;          /* NULL: the new GAM's response */
    const char *label;           /* NULL: the forest's label from a manifest; "": none */
    int threads;
    int skip;                    /* rows that cannot be scored: 0 fail, 1 leave out */
    const char *who;             /* prefix of stderr lines, e.g. "plantfit compare" */
};

/* Data from a file: CSV (delim) or JSON Lines. */
enum ml_status compare_file(const struct compare_opts *o, const char *data, int jsonl,
                            char delim, cJSON **verdict, struct ml_err *err);

/* Data already in memory (train's validation or train channel). */
enum ml_status compare_table(const struct compare_opts *o, const struct ml_table *t,
                             const char *source, cJSON **verdict, struct ml_err *err);

/* The hook of `plantfit train`: when <data_dir>/baseline exists (a model
 * directory, or a directory holding one model artifact *.tar.gz / *.tgz),
 * compare model_dir with it on `t` (the validation table, else the training
 * one) under `rule` (NULL: the default), write the verdict to
 * <output_data_dir>/verdict.json and report it on stderr.  Does nothing
 * (ML_OK) without a baseline channel.  *ran says whether it ran. */
enum ml_status compare_train_hook(const char *data_dir, const char *model_dir,
                                  const char *output_data_dir, const struct ml_table *t,
                                  const char *source, const char *rule, int threads, int *ran,
                                  struct ml_err *err);

/* Parse `rule` (NULL or "": nothing to check) so that a bad compare_rule
 * fails a training job before the fit, not after it. */
enum ml_status compare_rule_check(const char *rule, struct ml_err *err);

#endif
