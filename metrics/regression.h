/* regression.h: goodness-of-fit measures of predictions against observed
 * values.  Pure functions of arrays; a pair where either value is NaN is
 * skipped (and counted in *n_used when asked). */
#ifndef PF_REGRESSION_H
#define PF_REGRESSION_H

#include <stddef.h>

struct reg_metrics {
    size_t n;         /* pairs used */
    double rmse;      /* sqrt(mean((y - f)^2)) */
    double mae;       /* mean(|y - f|) */
    double r2;        /* 1 - SS_res / SS_tot about the mean of the y used */
    double bias;      /* mean(f - y) */
};

/* NaN fields when no pair is usable (r2 also when y is constant). */
void reg_metrics_compute(const double *y, const double *f, size_t len, struct reg_metrics *out);

#endif
