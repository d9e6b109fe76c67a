/* gam_smooth.c: smooth terms built exactly as mgcv 1.8-41's smoothCon builds
 * `s(x, bs="ps", k, m)` and `te(x, z, ..., bs="ps")`, written from
 * shared/reference/gam-numerics.md sections 1-4 (no mgcv code).
 *
 * Entry points: gam_smooth_ps_init, gam_smooth_te_init, gam_smooth_free,
 * gam_smooth_row, gam_smooth_row_deriv, gam_smooth_Zt_vec, gam_smooth_Z_vec,
 * gam_smooth_Z_dense.
 *
 * A term is kept in its unconstrained parametrisation (sparse s() rows) plus
 * one Householder vector u: the sum-to-zero constraint C b = 0, C = column
 * means of the basis over the data, is absorbed by Z = columns 2..p_u of
 * H = I - 2uu'/(u'u), u = c + sign(c_1)||c|| e_1 (section 3.2; the reflector
 * of Golub & Van Loan, "Matrix Computations", 4th ed., section 5.1.2, with
 * LAPACK dlarfg's sign choice).  Z is never formed unless asked for: Z'v and
 * Zb cost O(p_u).
 *
 * Penalties follow Eilers & Marx (1996), Statist. Sci. 11(2), and are
 * divided by mgcv's scale c = ||S||_1/||B||_inf^2 (section 2.2).  te() is the
 * tensor-product smooth of Wood (2006), Biometrics 62, 1025-1036, with mgcv's
 * marginal re-parametrisation to function values at k_m equally spaced points
 * (np = TRUE; Wood 2017, "Generalized Additive Models", 2nd ed., chapter 5;
 * reference section 4 steps 1-7). */
#include "gam_smooth.h"

#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* n >= 1, all finite, not all equal; range out.  `what` names the margin in
 * messages ("s()" or "te() margin 2"); the caller prefixes the variable. */
static enum ml_status check_column(const double *x, size_t n, const char *what, double *xmin,
                                   double *xmax, struct ml_err *err)
{
    double lo, hi;
    size_t i;

    if (n < 1)
        ML_FAIL(err, ML_EINVAL, "%s: no data rows (n = 0) to place the knots on", what);
    if (!x)
        ML_FAIL(err, ML_EINVAL, "%s: no data column given", what);
    lo = hi = x[0];
    for (i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            ML_FAIL(err, ML_EDOM, "%s: value in row %zu is not finite (%g)", what, i + 1, x[i]);
        if (x[i] < lo)
            lo = x[i];
        if (x[i] > hi)
            hi = x[i];
    }
    if (!(hi > lo))
        ML_FAIL(err, ML_EINVAL,
                "%s: variable is constant (all %zu values equal %.17g); a smooth needs at least "
                "two distinct values",
                what, n, lo);
    *xmin = lo;
    *xmax = hi;
    return ML_OK;
}

static enum ml_status check_m2(int k, int m2, const char *what, struct ml_err *err)
{
    if (m2 < 0 || m2 >= k)
        ML_FAIL(err, ML_EINVAL,
                "%s: penalty order m2 = %d with k = %d; need 0 <= m2 < k (m = c(m1, m2))", what,
                m2, k);
    return ML_OK;
}

/* (HAH)[1:, 1:] for symmetric A (p_u x p_u) into out (p x p), using
 * HAH = A - b u v' - b v u' + b^2 (u'v) u u' with v = A u, b = 2/(u'u).
 * Only the upper triangle is computed and mirrored so the result is exactly
 * symmetric. */
static enum ml_status reflect_penalty(const double *A, int pu, const double *u, double utu,
                                      double *out, struct ml_err *err)
{
    double *v, s = 0.0, beta = 2.0 / utu;
    int i, j, p = pu - 1;

    v = malloc((size_t)pu * sizeof *v);
    if (!v)
        ML_FAIL(err, ML_ENOMEM, "smooth: cannot allocate %d doubles for Z'SZ", pu);
    for (i = 0; i < pu; i++) {
        double t = 0.0;
        for (j = 0; j < pu; j++)
            t += A[(size_t)i * (size_t)pu + (size_t)j] * u[j];
        v[i] = t;
        s += u[i] * t;
    }
    for (i = 1; i < pu; i++) {
        for (j = i; j < pu; j++) {
            double h = A[(size_t)i * (size_t)pu + (size_t)j] - beta * u[i] * v[j] -
                       beta * v[i] * u[j] + beta * beta * s * u[i] * u[j];
            out[(size_t)(i - 1) * (size_t)p + (size_t)(j - 1)] = h;
            out[(size_t)(j - 1) * (size_t)p + (size_t)(i - 1)] = h;
        }
    }
    free(v);
    return ML_OK;
}

/* One pass over the data rows: the column sums of the unconstrained basis
 * (for the means C of section 3.1) and ||B||_inf, its largest absolute row
 * sum (section 2.2), summed in column order like LAPACK dlange('I') behind
 * R's norm(X, "I"). */
static enum ml_status smooth_stats(const struct gam_smooth *sm, const double *const *x,
                                   size_t n, double *colsum, double *bnorm, struct ml_err *err)
{
    double *vals = malloc((size_t)sm->nnz * sizeof *vals);
    int *idx = malloc((size_t)sm->nnz * sizeof *idx);
    size_t i;
    int a, j;

    if (!vals || !idx) {
        free(vals);
        free(idx);
        ML_FAIL(err, ML_ENOMEM, "smooth: cannot allocate row buffers for %d columns", sm->p_u);
    }
    *bnorm = 0.0;
    for (i = 0; i < n; i++) {
        double xv[GAM_MAX_MARGINS], rs = 0.0;
        for (j = 0; j < sm->nmargin; j++)
            xv[j] = x[j][i];
        gam_smooth_row(sm, xv, vals, idx);
        for (a = 0; a < sm->nnz; a++) {
            rs += fabs(vals[a]);
            colsum[idx[a]] += vals[a];
        }
        if (rs > *bnorm)
            *bnorm = rs;
    }
    free(vals);
    free(idx);
    return ML_OK;
}

enum ml_status gam_smooth_finish(struct gam_smooth *sm, const double *colsum, double bnorm,
                                 size_t n, struct ml_err *err)
{
    enum ml_status st = ML_OK;
    double cnorm = 0.0;
    int pu = sm->p_u, a, j;

    sm->u = malloc((size_t)pu * sizeof *sm->u);
    if (!sm->u)
        ML_FAIL(err, ML_ENOMEM, "smooth: cannot allocate %d columns", pu);
    if (!(bnorm > 0.0) || !isfinite(bnorm))
        ML_FAIL(err, ML_EINTERNAL,
                "smooth: basis over the data has max row sum %g; expected about 1", bnorm);
    for (j = 0; j < sm->npen; j++) {
        size_t e, ne = (size_t)pu * (size_t)pu;
        double c = bspl_penalty_scale(sm->S_u[j], pu, bnorm);
        if (!(c > 0.0) || !isfinite(c))
            ML_FAIL(err, ML_EINTERNAL,
                    "smooth: penalty %d has scale %g; a difference penalty is never zero", j + 1,
                    c);
        sm->pen_scale[j] = c;
        for (e = 0; e < ne; e++)
            sm->S_u[j][e] /= c;
    }

    /* Section 3.2: u = c + sign(c_1)||c|| e_1 with sign(0) = +1 (LAPACK's
     * Fortran SIGN).  c_1 != 0 here in practice (B-spline column means are
     * positive), but the rule keeps u'u >= ||c||^2 > 0 either way. */
    for (a = 0; a < pu; a++) {
        sm->u[a] = colsum[a] / (double)n;
        cnorm = hypot(cnorm, sm->u[a]);
    }
    if (!(cnorm > 0.0))
        ML_FAIL(err, ML_EINTERNAL,
                "smooth: the basis column means are all zero; no constraint to absorb");
    sm->u[0] += sm->u[0] >= 0.0 ? cnorm : -cnorm;
    sm->utu = 0.0;
    for (a = 0; a < pu; a++)
        sm->utu += sm->u[a] * sm->u[a];

    for (j = 0; j < sm->npen && st == ML_OK; j++) {
        sm->S[j] = malloc((size_t)sm->p * (size_t)sm->p * sizeof *sm->S[j]);
        if (!sm->S[j])
            ML_FAIL(err, ML_ENOMEM, "smooth: cannot allocate a %d x %d penalty", sm->p, sm->p);
        st = reflect_penalty(sm->S_u[j], pu, sm->u, sm->utu, sm->S[j], err);
    }
    return st;
}

/* The part shared by s() and te(), once margins (and Ginv) and the
 * unconstrained penalties S_u[0..npen-1] (raw, symmetric) are in place:
 * one pass over the data rows gives ||B||_inf (section 2.2) and the column
 * means C (3.1); then S_u /= c, u from C (3.2), S = Z'S_uZ. */
static enum ml_status finish_smooth(struct gam_smooth *sm, const double *const *x, size_t n,
                                    struct ml_err *err)
{
    double *colsum = calloc((size_t)sm->p_u, sizeof *colsum), bnorm = 0.0;
    enum ml_status st;

    if (!colsum)
        ML_FAIL(err, ML_ENOMEM, "smooth: cannot allocate %d columns", sm->p_u);
    st = smooth_stats(sm, x, n, colsum, &bnorm, err);
    if (st == ML_OK)
        st = gam_smooth_finish(sm, colsum, bnorm, n, err);
    free(colsum);
    return st;
}

enum ml_status gam_smooth_ps_init(struct gam_smooth *sm, const double *x, size_t n, int k,
                                  int m1, int m2, struct ml_err *err)
{
    enum ml_status st;
    double xmin, xmax;

    ML_ASSERT(sm != NULL);
    memset(sm, 0, sizeof *sm);
    st = check_column(x, n, "s()", &xmin, &xmax, err);
    if (st)
        return st;
    st = gam_smooth_ps_init_range(sm, xmin, xmax, k, m1, m2, err);
    if (st)
        return st;
    st = finish_smooth(sm, &x, n, err);
    if (st)
        gam_smooth_free(sm);
    return st;
}

enum ml_status gam_smooth_ps_init_range(struct gam_smooth *sm, double xmin, double xmax, int k,
                                        int m1, int m2, struct ml_err *err)
{
    enum ml_status st;

    ML_ASSERT(sm != NULL);
    memset(sm, 0, sizeof *sm);
    st = bspl_init(&sm->margin[0], k, m1, xmin, xmax, err);
    if (st)
        return st;
    sm->kind = GAM_SMOOTH_S;
    sm->nmargin = 1;
    sm->m2[0] = m2;
    sm->p_u = k;
    sm->p = k - 1;
    sm->nnz = sm->margin[0].order;
    sm->npen = 1;
    /* Penalty null space: polynomials of degree < m2 (section 2.1); the
     * constraint removes the constants from it (3.4). */
    sm->null_dim = m2 > 0 ? m2 - 1 : 0;
    st = check_m2(k, m2, "s()", err);
    if (st)
        goto fail;
    sm->S_u[0] = malloc((size_t)k * (size_t)k * sizeof *sm->S_u[0]);
    if (!sm->S_u[0]) {
        st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "s(): cannot allocate a %d x %d penalty",
                     k, k);
        goto fail;
    }
    st = bspl_penalty(k, m2, sm->S_u[0], err);
    if (st)
        goto fail;
    return ML_OK;
fail:
    gam_smooth_free(sm);
    return st;
}

/* Section 4 step 2: G = B_m(g) at k equally spaced points g from the data
 * minimum to maximum (filled like R's seq(min, max, length.out = k): each
 * from the start, the last set to the end exactly), and Ginv = G^-1 by LU
 * (dgetrf/dgetri).  mgcv inverts through the SVD; the inverse is the same to
 * rounding since G is well conditioned (its rows are B-spline rows at points
 * that satisfy the Schoenberg-Whitney conditions). */
static enum ml_status margin_ginv(const struct bspl_basis *b, int jm, double *Ginv,
                                  struct ml_err *err)
{
    int k = b->k, i;
    lapack_int info, *ipiv;
    double step = (b->xu - b->xl) / (double)(k - 1);

    for (i = 0; i < k; i++) {
        double g = i == k - 1 ? b->xu : b->xl + (double)i * step;
        bspl_eval_dense(b, g, Ginv + (size_t)i * (size_t)k);
    }
    ipiv = malloc((size_t)k * sizeof *ipiv);
    if (!ipiv)
        ML_FAIL(err, ML_ENOMEM, "te() margin %d: cannot allocate %d pivots", jm + 1, k);
    info = LAPACKE_dgetrf(LAPACK_ROW_MAJOR, k, k, Ginv, k, ipiv);
    ML_ASSERT(info >= 0);
    if (info == 0) {
        info = LAPACKE_dgetri(LAPACK_ROW_MAJOR, k, Ginv, k, ipiv);
        ML_ASSERT(info >= 0);
    }
    free(ipiv);
    if (info > 0)
        ML_FAIL(err, ML_ESING,
                "te() margin %d: basis at %d equally spaced points of the data range is singular "
                "(dgetrf/dgetri info=%d); cannot re-parametrise to function values",
                jm + 1, k, (int)info);
    return ML_OK;
}

/* Steps 2-3 for one margin: P <- Ginv' P Ginv, divided by its largest
 * eigenvalue (dsyev), then symmetrised (step 5's (S + S')/2 is the same
 * thing done margin-wise, because I (x) P (x) I transposes blockwise). */
static enum ml_status margin_penalty(int k, int m2, const double *Ginv, int jm, double *P,
                                     struct ml_err *err)
{
    enum ml_status st;
    double *raw, *tmp, *w;
    double emax;
    lapack_int info;
    int i, j, l;

    raw = malloc((size_t)k * (size_t)k * sizeof *raw);
    tmp = malloc((size_t)k * (size_t)k * sizeof *tmp);
    w = malloc((size_t)k * sizeof *w);
    if (!raw || !tmp || !w) {
        st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__,
                     "te() margin %d: cannot allocate %d x %d work matrices", jm + 1, k, k);
        goto cleanup;
    }
    st = bspl_penalty(k, m2, raw, err);
    if (st)
        goto cleanup;
    /* tmp = raw Ginv, then P = Ginv' tmp. */
    for (i = 0; i < k; i++)
        for (j = 0; j < k; j++) {
            double s = 0.0;
            for (l = 0; l < k; l++)
                s += raw[(size_t)i * (size_t)k + (size_t)l] * Ginv[(size_t)l * (size_t)k + (size_t)j];
            tmp[(size_t)i * (size_t)k + (size_t)j] = s;
        }
    for (i = 0; i < k; i++)
        for (j = 0; j < k; j++) {
            double s = 0.0;
            for (l = 0; l < k; l++)
                s += Ginv[(size_t)l * (size_t)k + (size_t)i] * tmp[(size_t)l * (size_t)k + (size_t)j];
            P[(size_t)i * (size_t)k + (size_t)j] = s;
        }
    for (i = 0; i < k; i++)
        for (j = 0; j < i; j++) {
            double s = 0.5 * (P[(size_t)i * (size_t)k + (size_t)j] +
                              P[(size_t)j * (size_t)k + (size_t)i]);
            P[(size_t)i * (size_t)k + (size_t)j] = s;
            P[(size_t)j * (size_t)k + (size_t)i] = s;
        }
    memcpy(tmp, P, (size_t)k * (size_t)k * sizeof *tmp);
    info = LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'N', 'L', k, tmp, k, w);
    ML_ASSERT(info >= 0);
    if (info > 0) {
        st = ml_fail(err, ML_ESING, __FILE__, __LINE__,
                     "te() margin %d: eigenvalues of the re-parametrised penalty did not converge "
                     "(dsyev info=%d)", jm + 1, (int)info);
        goto cleanup;
    }
    emax = w[k - 1];   /* dsyev returns them ascending */
    if (!(emax > 0.0) || !isfinite(emax)) {
        st = ml_fail(err, ML_EINTERNAL, __FILE__, __LINE__,
                     "te() margin %d: re-parametrised penalty has largest eigenvalue %g; "
                     "expected > 0", jm + 1, emax);
        goto cleanup;
    }
    for (i = 0; i < k * k; i++)
        P[i] /= emax;
    st = ML_OK;
cleanup:
    free(raw);
    free(tmp);
    free(w);
    return st;
}

enum ml_status gam_smooth_te_init(struct gam_smooth *sm, int nmargin, const double *const *x,
                                  size_t n, const int *k, const int *m1, const int *m2,
                                  struct ml_err *err)
{
    enum ml_status st = ML_OK;
    double *P[GAM_MAX_MARGINS] = {NULL};
    char what[32];
    long pu = 1;
    int j;

    ML_ASSERT(sm != NULL);
    memset(sm, 0, sizeof *sm);
    if (nmargin < 2 || nmargin > GAM_MAX_MARGINS)
        ML_FAIL(err, ML_EINVAL, "te(): %d variables given; need 2 to %d (use s() for one)",
                nmargin, GAM_MAX_MARGINS);
    if (!x || !k || !m1 || !m2)
        ML_FAIL(err, ML_EINVAL, "te(): missing data columns or k/m arrays");
    for (j = 0; j < nmargin; j++) {
        if (k[j] < 2)
            ML_FAIL(err, ML_EINVAL, "te() margin %d: k = %d; need k >= m1 + 2", j + 1, k[j]);
        pu *= k[j];
        if (pu > GAM_TE_MAX_COLS)
            ML_FAIL(err, ML_ELIMIT,
                    "te(): the product of the margin k exceeds %d columns (the te basis "
                    "limit); reduce k",
                    GAM_TE_MAX_COLS);
    }
    sm->kind = GAM_SMOOTH_TE;
    sm->nmargin = nmargin;
    sm->p_u = (int)pu;
    sm->p = (int)pu - 1;
    sm->nnz = (int)pu;
    sm->npen = nmargin;
    {
        int prod = 1;
        for (j = 0; j < nmargin; j++)
            prod *= m2[j];
        /* The null space of sum_j S_j is the tensor product of the margins'
         * polynomial null spaces (dim prod m2_j); the constraint removes the
         * constant (section 4: {1, x, z, xz} -> 3). */
        sm->null_dim = prod > 0 ? prod - 1 : 0;
    }

    /* Step 1-3 per margin: unscaled, unconstrained ps basis; Ginv; P. */
    for (j = 0; j < nmargin; j++) {
        double xmin, xmax;
        snprintf(what, sizeof what, "te() margin %d", j + 1);
        st = check_column(x[j], n, what, &xmin, &xmax, err);
        if (st)
            goto fail;
        st = bspl_init(&sm->margin[j], k[j], m1[j], xmin, xmax, err);
        if (st) {
            ml_err_prefix(err, "%s: ", what);
            goto fail;
        }
        st = check_m2(k[j], m2[j], what, err);
        if (st)
            goto fail;
        sm->m2[j] = m2[j];
        sm->Ginv[j] = malloc((size_t)k[j] * (size_t)k[j] * sizeof *sm->Ginv[j]);
        P[j] = malloc((size_t)k[j] * (size_t)k[j] * sizeof *P[j]);
        if (!sm->Ginv[j] || !P[j]) {
            st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__,
                         "%s: cannot allocate %d x %d matrices", what, k[j], k[j]);
            goto fail;
        }
        st = margin_ginv(&sm->margin[j], j, sm->Ginv[j], err);
        if (st)
            goto fail;
        st = margin_penalty(k[j], m2[j], sm->Ginv[j], j, P[j], err);
        if (st)
            goto fail;
    }

    /* Step 5: S_j = I (x) ... (x) P_j (x) ... (x) I, first margin slowest.
     * Column index = (hi * k_j + a_j) * after + lo, with `after` the product
     * of the later margins' k and hi, lo the other margins' combined index. */
    for (j = 0; j < nmargin; j++) {
        size_t after = 1, before = 1, hi, lo, kj = (size_t)k[j], spu = (size_t)pu;
        size_t a, b;
        int l;
        for (l = 0; l < j; l++)
            before *= (size_t)k[l];
        for (l = j + 1; l < nmargin; l++)
            after *= (size_t)k[l];
        sm->S_u[j] = calloc(spu * spu, sizeof *sm->S_u[j]);
        if (!sm->S_u[j]) {
            st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__,
                         "te(): cannot allocate a %ld x %ld penalty", pu, pu);
            goto fail;
        }
        for (hi = 0; hi < before; hi++)
            for (lo = 0; lo < after; lo++)
                for (a = 0; a < kj; a++)
                    for (b = 0; b < kj; b++)
                        sm->S_u[j][((hi * kj + a) * after + lo) * spu + (hi * kj + b) * after +
                                   lo] = P[j][a * kj + b];
    }
    /* Step 6: rescale and constrain, using the tensor rows over the data. */
    st = finish_smooth(sm, x, n, err);
    if (st)
        goto fail;
    for (j = 0; j < nmargin; j++)
        free(P[j]);
    return ML_OK;
fail:
    for (j = 0; j < nmargin; j++)
        free(P[j]);
    gam_smooth_free(sm);
    return st;
}

void gam_smooth_free(struct gam_smooth *sm)
{
    int j;

    if (!sm)
        return;
    for (j = 0; j < GAM_MAX_MARGINS; j++) {
        bspl_free(&sm->margin[j]);
        free(sm->Ginv[j]);
    }
    for (j = 0; j < GAM_MAX_PEN; j++) {
        free(sm->S_u[j]);
        free(sm->S[j]);
    }
    free(sm->u);
    memset(sm, 0, sizeof *sm);
}

/* te row (step 4 and 7): the Kronecker product of the margin rows
 * r_j = B_j(x_j) Ginv_j (or B'_j for the margin `dj`), first margin slowest.
 * Built in place in vals[0..p_u-1] from the last margin backwards: the
 * product so far (length L) sits at the end of vals; prepending margin j
 * writes blocks a = 0..k_j-2 in front of it and then scales it in place as
 * block k_j - 1, so no scratch memory is needed.  r_j entries are formed on
 * the fly from the `order` non-zero B values. */
static void te_row(const struct gam_smooth *sm, const double *xv, int dj, double *vals, int *idx)
{
    size_t pu = (size_t)sm->p_u, L = 1, t;
    int j, a, c;

    vals[pu - 1] = 1.0;
    for (j = sm->nmargin - 1; j >= 0; j--) {
        const struct bspl_basis *b = &sm->margin[j];
        const double *Gi = sm->Ginv[j];
        double bv[BSPL_MAX_ORDER];
        int first, kj = b->k;
        double *cur = vals + pu - L;
        double *dst = vals + pu - (size_t)kj * L;

        if (j == dj)
            bspl_eval_deriv(b, xv[j], bv, &first);
        else
            bspl_eval(b, xv[j], bv, &first);
        for (a = 0; a < kj; a++) {
            double r = 0.0;
            for (c = 0; c < b->order; c++)
                r += bv[c] * Gi[(size_t)(first + c) * (size_t)kj + (size_t)a];
            if (a < kj - 1)
                for (t = 0; t < L; t++)
                    dst[(size_t)a * L + t] = r * cur[t];
            else
                for (t = 0; t < L; t++)
                    cur[t] *= r;
        }
        L *= (size_t)kj;
    }
    for (t = 0; t < pu; t++)
        idx[t] = (int)t;
}

void gam_smooth_row(const struct gam_smooth *sm, const double *xv, double *vals, int *idx)
{
    if (sm->kind == GAM_SMOOTH_TE) {
        te_row(sm, xv, -1, vals, idx);
    } else {
        int first, a;
        bspl_eval(&sm->margin[0], xv[0], vals, &first);
        for (a = 0; a < sm->nnz; a++)
            idx[a] = first + a;
    }
}

void gam_smooth_row_deriv(const struct gam_smooth *sm, const double *xv, int j, double *vals,
                          int *idx)
{
    ML_ASSERT(j >= 0 && j < sm->nmargin);
    if (sm->kind == GAM_SMOOTH_TE) {
        te_row(sm, xv, j, vals, idx);
    } else {
        int first, a;
        bspl_eval_deriv(&sm->margin[0], xv[0], vals, &first);
        for (a = 0; a < sm->nnz; a++)
            idx[a] = first + a;
    }
}

/* Z'v = (Hv)[1:]: Hv = v - (2 u'v/u'u) u. */
void gam_smooth_Zt_vec(const struct gam_smooth *sm, const double *v, double *out)
{
    double s = 0.0;
    int i;

    for (i = 0; i < sm->p_u; i++)
        s += sm->u[i] * v[i];
    s *= 2.0 / sm->utu;
    for (i = 1; i < sm->p_u; i++)
        out[i - 1] = v[i] - s * sm->u[i];
}

/* Zb = H (0, b')': the zero-padded b reflected. */
void gam_smooth_Z_vec(const struct gam_smooth *sm, const double *b, double *out)
{
    double s = 0.0;
    int i;

    for (i = 1; i < sm->p_u; i++)
        s += sm->u[i] * b[i - 1];
    s *= 2.0 / sm->utu;
    out[0] = -s * sm->u[0];
    for (i = 1; i < sm->p_u; i++)
        out[i] = b[i - 1] - s * sm->u[i];
}

void gam_smooth_Z_dense(const struct gam_smooth *sm, double *out)
{
    double beta = 2.0 / sm->utu;
    int i, j, p = sm->p;

    for (i = 0; i < sm->p_u; i++)
        for (j = 0; j < p; j++)
            out[(size_t)i * (size_t)p + (size_t)j] =
                (i == j + 1 ? 1.0 : 0.0) - beta * sm->u[i] * sm->u[j + 1];
}
