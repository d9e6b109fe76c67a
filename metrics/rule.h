/* rule.h: the champion/challenger rule of `plantfit compare` and of the
 * `compare_rule` hyperparameter: a small expression language over the
 * metrics of the new model and the baseline (deployed) one.
 *
 *   rule    := clause { "and" clause }
 *   clause  := sum ( "<=" | ">=" | "<" | ">" ) sum
 *   sum     := product { ( "+" | "-" ) product }
 *   product := unary { ( "*" | "/" ) unary }
 *   unary   := "-" unary | atom
 *   atom    := NUMBER | metric | "new." metric | "baseline." metric | "(" sum ")"
 *   metric  := rmse | mae | r2 | bias | rows | auc | pr_auc | anomaly_rate
 *
 * A bare metric is the new model's ("rmse" = "new.rmse").  Numbers are
 * decimal literals in the C locale ("1.02", "1e-3").  Spaces are free; the
 * keyword "and" is lower case.  Examples:
 *   rmse <= 1.02 * baseline.rmse
 *   auc >= baseline.auc - 0.01 and anomaly_rate <= 2 * baseline.anomaly_rate
 * Every clause must hold for the rule to pass.  Errors name the column
 * (1-based) and what was expected; at most RULE_MAX_LEN characters and
 * RULE_MAX_DEPTH nested parentheses / unary minus signs. */
#ifndef PF_RULE_H
#define PF_RULE_H

#include <stddef.h>

#include "ml_status.h"

#define RULE_MAX_LEN 1024
#define RULE_MAX_DEPTH 32
#define RULE_METRICS "rmse, mae, r2, bias, rows, auc, pr_auc, anomaly_rate"

struct rule;

enum ml_status rule_parse(const char *text, struct rule **out, struct ml_err *err);
void rule_free(struct rule *r);

/* The value of `metric` for side 0 (new) or 1 (baseline): 1 and *out, or 0
 * when the metric is not available (the message says why, e.g. no label). */
typedef int (*rule_lookup_fn)(void *ctx, int side, const char *metric, double *out);

/* Evaluate: *pass = every clause holds.  reasons (may be NULL) receives one
 * malloc'd line per clause, "<clause>: <left> <op> <right>: holds|fails",
 * the caller frees each and the array.  Errors: ML_EDOM naming a metric
 * that is not available or not finite. */
enum ml_status rule_eval(const struct rule *r, rule_lookup_fn fn, void *ctx, int *pass,
                         char ***reasons, size_t *nreasons, struct ml_err *err);

/* 1 if the rule uses `metric` (either side). */
int rule_uses(const struct rule *r, const char *metric);

#endif
