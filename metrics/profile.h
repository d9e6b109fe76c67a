/* profile.h: per-column summary statistics of a data table, the "profile"
 * that every plantfit model records for its inputs (training ranges, missing
 * counts) and that drift monitoring later compares against. */
#ifndef PF_PROFILE_H
#define PF_PROFILE_H

#include <stddef.h>

#include "ml_status.h"

#define PROFILE_NQ 7

/* Probabilities of the reported quantiles. */
extern const double profile_quantile_p[PROFILE_NQ];

struct col_profile {
    size_t n;                /* values present (not NaN) */
    size_t missing;          /* NaN values */
    double min, max;         /* NaN when n == 0 */
    double mean;             /* NaN when n == 0 */
    double sd;               /* sample standard deviation (n - 1); NaN when n < 2 */
    double q[PROFILE_NQ];    /* quantiles at profile_quantile_p, type 7 (R's default) */
};

/* Summarise v[0..len-1] (NaN = missing).  Needs O(len) scratch memory. */
enum ml_status profile_column(const double *v, size_t len, struct col_profile *out,
                              struct ml_err *err);

/* The same without the quantiles (out->q are NaN): n, missing, min, max,
 * mean and sd in two streaming passes, no scratch memory and no sort -- for
 * summaries of every training column at large n (the model manifest). */
void profile_moments(const double *v, size_t len, struct col_profile *out);

#endif
