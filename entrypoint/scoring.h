/* scoring.h: score chunks of rows (io/csv/csv_stream.h) with the models of a
 * model directory (model_dir.h): the engine behind `plantfit predict` and
 * `plantfit compare`.
 *
 * Per chunk: scorer_check marks the rows no model can score (a factor level
 * the GAM was not trained on; a missing feature value for a forest trained
 * with missing = fail), the caller fails or drops them (rs_chunk_compact),
 * then scorer_run fills, for the chunk's rows,
 *   fit                 the GAM's prediction on the response scale (NaN where
 *                       a variable it uses is missing: no prediction);
 *   se, lower, upper    with want_se: the standard error (delta method, as
 *                       mgcv's predict(type = "response", se.fit = TRUE)) and
 *                       g^-1(eta -+ 1.96 se(eta)) (gam_predict_interval);
 *   score               the forest's anomaly score s in (0, 1).
 * Rows are split among `threads` threads; the results do not depend on it. */
#ifndef PF_SCORING_H
#define PF_SCORING_H

#include <stddef.h>

#include "csv/csv_stream.h"
#include "model_dir.h"

/* A growing list of wanted columns, unique by name. */
struct colset {
    struct rs_column *v;
    size_t n, cap;
};

/* Add `name` read as `kind`; the same name with the other kind is an error
 * (`why` says who wants it, for the message). */
enum ml_status colset_add(struct colset *cs, const char *name, enum rs_kind kind,
                          const char *why, struct ml_err *err);
/* Every column the models of md read, with how to read it: numeric
 * variables and features as numbers, factors whose levels are all
 * canonical numbers ("%.15g", as factor(<numeric column>) names them) as
 * numbers, other factors as text. */
enum ml_status colset_add_models(struct colset *cs, const struct model_dir *md,
                                 struct ml_err *err);
void colset_free(struct colset *cs);

struct scorer {
    const struct model_dir *md;
    int want_se;
    int threads;
    size_t cap;               /* rows the arrays below hold */
    double *fit, *se, *lower, *upper;   /* GAM (se, lower, upper: want_se) */
    double *score;                      /* forest */
    double *x;                /* forest features, column-major, cap * d */
    int *top;                 /* with_top: per row SCORER_TOP feature indices */
    double *top_val;          /* their attributions */
    int *ntop;                /* how many (0 for rows that are not anomalous) */
    int with_top;             /* scorer_run computes the top features of anomalous rows */
};

enum ml_status scorer_init(struct scorer *s, const struct model_dir *md, int want_se,
                           int threads, struct ml_err *err);
void scorer_free(struct scorer *s);

/* Mark the rows of c that cannot be scored (see above).  `who` prefixes the
 * reasons ("" or e.g. "baseline model: ").  Returns 0 only when out of
 * memory. */
int scorer_check(const struct scorer *s, struct rs_chunk *c, const char *who);

/* Score every row of c->t (no bad rows left); with s->with_top also the
 * top features of every anomalous row (top, top_val, ntop), threaded. */
enum ml_status scorer_run(struct scorer *s, const struct rs_chunk *c, struct ml_err *err);

#define SCORER_TOP 3
/* The up to SCORER_TOP features with the largest positive attribution for
 * row i of c, largest first (the lower index on a tie), as scorer_run
 * computed them (with_top; none otherwise): how many in *ntop, indices in
 * top[], attributions in val[].  Reads only, so formatting threads may call
 * it at once. */
enum ml_status scorer_top_features(struct scorer *s, const struct rs_chunk *c, size_t i,
                                   int *top, double *val, int *ntop, struct ml_err *err);

#endif
