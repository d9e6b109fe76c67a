/* gam_smooth.h: smooth terms as mgcv constructs them, for `s(x, bs="ps")` and
 * `te(x, z, bs="ps")` (shared/reference/gam-numerics.md sections 1-5).
 *
 * A smooth keeps its basis in the *unconstrained* parametrisation, where a
 * row is sparse (an s() row has `order` non-zeros), so the large-n
 * accumulation of X'WX works on sparse rows.  The sum-to-zero constraint is
 * one Householder reflector H = I - 2uu'/(u'u) (section 3.2); the constrained
 * basis is B Z with Z = columns 2..p_u of H.  Penalties are stored both
 * unconstrained (p_u x p_u, rescaled by mgcv's S.scale, section 2.2) and
 * constrained (Z'SZ, p x p).
 *
 * te(): each margin is a ps basis with its raw penalty, re-parametrised by
 * G^-1 (G = margin basis at k_m equally spaced points of the data range,
 * section 4 step 2) and normalised by its largest eigenvalue; the row is the
 * Kronecker product of the margin rows (first margin slowest), dense; one
 * penalty per margin, P_x (x) I and I (x) P_z, rescaled (2.2), then the
 * constraint.
 *
 * Ownership: gam_smooth_*_init fill a caller-owned struct that
 * gam_smooth_free releases.  Rows and derivatives are thread-safe. */
#ifndef ML_GAM_SMOOTH_H
#define ML_GAM_SMOOTH_H

#include <stddef.h>

#include "../bspline/bspline.h"
#include "ml_status.h"

#define GAM_MAX_MARGINS 4
#define GAM_MAX_PEN GAM_MAX_MARGINS
/* Largest te() basis (product of the margin k): a te smooth stores 2 * nmargin dense
 * p_u x p_u penalties, 2048 columns -> 32 MiB each.  Larger gives ML_ELIMIT. */
#define GAM_TE_MAX_COLS 2048

enum gam_smooth_kind { GAM_SMOOTH_S = 0, GAM_SMOOTH_TE = 1 };   /* stored in model files */

struct gam_smooth {
    enum gam_smooth_kind kind;
    int nmargin;                        /* 1 for s(), >= 2 for te() */
    struct bspl_basis margin[GAM_MAX_MARGINS];
    int m2[GAM_MAX_MARGINS];            /* penalty difference order per margin */
    double *Ginv[GAM_MAX_MARGINS];      /* te only: k_m x k_m row-major, owned; NULL for s() */
    int p_u;                            /* unconstrained columns: prod of margin k */
    int p;                              /* constrained columns: p_u - 1 */
    int nnz;                            /* non-zeros per unconstrained row: order (s) or p_u (te) */
    double *u;                          /* Householder vector, length p_u, owned */
    double utu;                         /* u'u */
    int npen;                           /* 1 for s(), nmargin for te() */
    double pen_scale[GAM_MAX_PEN];      /* mgcv's S.scale c: S_stored = S_raw / c */
    double *S_u[GAM_MAX_PEN];           /* unconstrained rescaled penalties, p_u x p_u, owned */
    double *S[GAM_MAX_PEN];             /* constrained penalties Z'S_uZ, p x p, owned */
    int null_dim;                       /* dimension of the penalty null space after the
                                           constraint (1 for s with m2 = 2; 3 for te) */
};

/* s(x, bs="ps", k, m=c(m1, m2)) on the n fitting values x (finite, not all
 * equal).  Errors name k, m and the data when the basis cannot be built
 * (e.g. k - m1 < 2, k > number of distinct values is the caller's check):
 * ML_EINVAL for n = 0, a constant x ("variable is constant": the caller
 * prefixes the variable name), k - m1 < 2, m1 out of [0, BSPL_MAX_ORDER - 2]
 * or m2 outside [0, k); ML_EDOM for a non-finite value (its 1-based row is
 * named); ML_ENOMEM.  On error *sm holds nothing to free. */
enum ml_status gam_smooth_ps_init(struct gam_smooth *sm, const double *x, size_t n, int k,
                                  int m1, int m2, struct ml_err *err);

/* The same basis from the data range alone, without its data pass: knots
 * and raw penalty only, sm->u == NULL.  gam_smooth_finish then completes it
 * from the column sums of the basis over the n data rows and ||B||_inf (the
 * largest row sum of |B|, summed in column order), which a fit gathers in
 * its first pass over the data instead of a pass of its own.  On error *sm
 * holds nothing to free. */
enum ml_status gam_smooth_ps_init_range(struct gam_smooth *sm, double xmin, double xmax, int k,
                                        int m1, int m2, struct ml_err *err);
enum ml_status gam_smooth_finish(struct gam_smooth *sm, const double *colsum, double bnorm,
                                 size_t n, struct ml_err *err);

/* te(x_1, ..., x_d, bs="ps", k=c(k_1..k_d), m) on n fitting rows:
 * x[j] is margin j's column, 2 <= nmargin <= GAM_MAX_MARGINS.  Errors as for
 * gam_smooth_ps_init, with the margin named ("te() margin 2: ..."), plus
 * ML_ELIMIT when prod k_j > GAM_TE_MAX_COLS and ML_ESING if a margin's G
 * cannot be inverted (not seen with ps margins). */
enum ml_status gam_smooth_te_init(struct gam_smooth *sm, int nmargin, const double *const *x,
                                  size_t n, const int *k, const int *m1, const int *m2,
                                  struct ml_err *err);

void gam_smooth_free(struct gam_smooth *sm);

/* The unconstrained basis row at one point: xv[j] is margin j's value.
 * Writes sm->nnz values to vals and their column indices (0-based, in
 * [0, p_u)) to idx, ascending.  Linear extrapolation outside each margin's
 * range (section 1.4). */
void gam_smooth_row(const struct gam_smooth *sm, const double *xv, double *vals, int *idx);

/* Same for the derivative with respect to margin `j`'s variable. */
void gam_smooth_row_deriv(const struct gam_smooth *sm, const double *xv, int j, double *vals,
                          int *idx);

/* Constraint transforms.  Z'v: v has p_u entries, out p.  Zb: b has p
 * entries, out p_u (coefficients in the unconstrained basis). */
void gam_smooth_Zt_vec(const struct gam_smooth *sm, const double *v, double *out);
void gam_smooth_Z_vec(const struct gam_smooth *sm, const double *b, double *out);

/* Dense Z (p_u x p, row-major) into out. */
void gam_smooth_Z_dense(const struct gam_smooth *sm, double *out);

#endif
