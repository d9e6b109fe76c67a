/* bspline.h: the P-spline basis exactly as R's mgcv builds `s(x, bs="ps")`
 * (Eilers & Marx 1996, Statist. Sci. 11(2); conventions of mgcv 1.8-41 as
 * written down in shared/reference/gam-numerics.md sections 1-2).
 *
 * A basis is defined by its knots alone: for data range [xl, xu], the range
 * is widened by 0.1% on each side and k + m1 + 2 equally spaced knots are
 * placed so that k B-splines of order m1 + 2 (degree m1 + 1) span it.  Every
 * row of the basis has exactly `order` non-zero values, starting at a column
 * index `first`, also when x lies outside the widened range: there the basis
 * is continued linearly (value and slope at the range end), as mgcv's
 * PredictMat does.
 *
 * The difference penalty of order m2 is S = D'D with D the (k - m2) x k
 * m2-th difference matrix; mgcv divides it by c = ||S||_1 / ||B||_inf^2
 * (largest column sum of |S| over the largest row sum of |B| at the data).
 *
 * All functions are pure and thread-safe on distinct outputs. */
#ifndef ML_BSPLINE_H
#define ML_BSPLINE_H

#include <stddef.h>

#include "ml_status.h"

#define BSPL_MAX_ORDER 8   /* m1 + 2 <= 8: up to degree 7 */

struct bspl_basis {
    int k;                 /* basis dimension (number of B-splines) */
    int m1;                /* degree - 1; order = m1 + 2 (mgcv's m[1], default 2: cubic) */
    int order;             /* m1 + 2 */
    double *knots;         /* owned, k + m1 + 2 knots, increasing */
    double xl, xu;         /* data range the knots were placed on (before widening) */
    double ll, ul;         /* widened range: knots[m1 + 1] and knots[k]; outside it the
                              basis is extrapolated linearly */
    int uniform;           /* 1 if the knots are equally spaced (to rounding): cubic rows
                              then take a closed-form fast path */
    double h;              /* knot spacing when uniform */
    double inv_h;          /* 1 / h */
};

/* Place the knots for data range [xmin, xmax] (mgcv section 1.2).  Errors:
 * ML_EINVAL if k - m1 < 2, m1 < 0 or order > BSPL_MAX_ORDER, or if the range is
 * empty or not finite (the message names k, m1 and the range). */
enum ml_status bspl_init(struct bspl_basis *b, int k, int m1, double xmin, double xmax,
                         struct ml_err *err);
/* Same from stored knots (a loaded model); validates them. */
enum ml_status bspl_init_knots(struct bspl_basis *b, int k, int m1, const double *knots,
                               double xl, double xu, struct ml_err *err);
void bspl_free(struct bspl_basis *b);

/* Basis row at x: the `order` non-zero values go to vals[0..order-1] for
 * columns first..first+order-1 (*first out).  Linear extrapolation outside
 * [ll, ul].  x must be finite. */
void bspl_eval(const struct bspl_basis *b, double x, double *vals, int *first);

/* bspl_eval for n points: vals[i * order .. i * order + order - 1] and
 * first[i] for x[i], bit-identical to n calls of bspl_eval.  The data passes
 * of a fit call this once per block of rows: the uniform cubic case is an
 * inlined loop without a call per point. */
void bspl_eval_many(const struct bspl_basis *b, const double *x, size_t n, double *vals,
                    int *first);

/* First derivative of the basis row at x (d/dx), same layout; outside
 * [ll, ul] it is the constant slope of the linear continuation. */
void bspl_eval_deriv(const struct bspl_basis *b, double x, double *vals, int *first);

/* Dense row: out[0..k-1] (zeros except order entries). */
void bspl_eval_dense(const struct bspl_basis *b, double x, double *out);

/* The raw m2-th order difference penalty D'D, k x k row-major into S.
 * ML_EINVAL unless 0 <= m2 < k. */
enum ml_status bspl_penalty(int k, int m2, double *S, struct ml_err *err);

/* mgcv's penalty scale c = ||S||_1 / ||B||_inf^2 for a k x k penalty S, given
 * bnorm_inf = the largest absolute row sum of the basis over the fitting data. */
double bspl_penalty_scale(const double *S, int k, double bnorm_inf);

#endif
