/* gam_fit.c: smoothing-parameter selection and the final fit.
 *
 * Gaussian identity-link models (the plant's yield, oxidation and
 * concentration GAMs): X'WX and X'Wy are accumulated once (gam_accum.c) and
 * every evaluation of the criterion costs O(p^3), whatever n is.
 *
 * REML: the Laplace-approximate restricted likelihood of Wood (2011, JRSSB
 * 73(1), eq. 4 with the Gaussian saturated likelihood), minimised over
 * theta = (log lambda, log phi) by Newton's method with exact first and
 * second derivatives (Wood 2011, section 3 and appendix), using mgcv's
 * starting values, step control and stopping rules so that the optimiser
 * stops where mgcv stops on flat criteria (gam-numerics.md sections 6, 10.2,
 * 10.4).  Written out:
 *
 *   V(rho, phi) = D_p/(2 phi) + (n - M_p)/2 log(2 pi phi) - 1/2 sum log w
 *                 + 1/2 log|X'WX + S_lambda| - 1/2 log|S_lambda|_+
 *
 * with D_p = ||W^1/2 (y - X beta)||^2 + beta' S_lambda beta at the penalised
 * least-squares beta.
 *
 * GCV (mgcv "GCV.Cp" for unknown scale): V_g = n D / (n - tau)^2 (Wood 2004,
 * JASA 99; Craven & Wahba 1979), minimised by the Newton loop of mgcv's
 * `magic` (section 10.8) with a central-difference Hessian of the analytic
 * gradient.
 *
 * Non-Gaussian families (penalised IRLS, section 8) are issue 3's next step:
 * until then gam_fit refuses them with a clear message. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "gam_impl.h"

/* ---- workspace ------------------------------------------------------------ */

struct pen_block {          /* the penalties of one smooth term copy (shared columns) */
    int off, size;          /* columns in the constrained layout */
    int pen0, npen;         /* penalties */
    int r;                  /* rank of the block's total penalty */
    double *Y;              /* size x r orthonormal basis of its range, owned */
    double *Shat[GAM_MAX_PEN]; /* Y' S_j Y, r x r, owned */
    double *P;              /* scratch r x r: (sum lambda Shat)^-1 */
};

struct fitws {
    const struct gam_model *m;
    const struct gam_options *o;
    int p, M;
    double n, Mp, sumlogw, yy;
    double *A, *b;          /* X'WX, X'Wy in the constrained layout */
    int *poff, *psize;
    const double **S;
    int nblocks;
    struct pen_block *blk;
    int nfree, has_phi, nth;
    int *free_idx;          /* theta index -> penalty */
    double *rho;            /* all M log lambdas (fixed entries hold their value) */
    /* scratch */
    double *H, *Hi, *beta, *Ab, *Sb, *db, *T;
    double *bSb, *trHiS, *trSpS;  /* per penalty */
    double *lambda;
    /* non-Gaussian families: the data and per-row work arrays */
    const struct gam_data *d;
    double *eta, *eta_new, *eta_warm, *beta_warm, *beta_cur;
    int have_warm_beta;
    double *wn, *wp, *wpp, *z, *dq, *etaj, *tmpn;   /* n (etaj: M x n) */
    double *Au, *bu;                                /* unconstrained scratch */
    double *XVX, *K, *Hi2, *v, *u, *bjk, *trHiHj;
    double *AF;                                     /* Gamma/log: X' diag(pw) X */
    double *L, *Gm, *HF, *tmp3, *eq;                /* GCV/UBRE derivatives */
};

struct eval {
    double V;
    double *g, *Hs;         /* nth, nth x nth */
    double rss, dp, tau, phi_tilde, phi;
};

static void blocks_free(struct fitws *w)
{
    int i, j;

    for (i = 0; i < w->nblocks; i++) {
        free(w->blk[i].Y);
        free(w->blk[i].P);
        for (j = 0; j < w->blk[i].npen; j++)
            free(w->blk[i].Shat[j]);
    }
    free(w->blk);
}

static void ws_free(struct fitws *w)
{
    blocks_free(w);
    free(w->A);
    free(w->b);
    free(w->poff);
    free(w->psize);
    free(w->S);
    free(w->free_idx);
    free(w->rho);
    free(w->H);
    free(w->Hi);
    free(w->beta);
    free(w->Ab);
    free(w->Sb);
    free(w->db);
    free(w->T);
    free(w->lambda);
    free(w->bSb);
    free(w->trHiS);
    free(w->trSpS);
    free(w->eta);
    free(w->eta_new);
    free(w->eta_warm);
    free(w->beta_warm);
    free(w->beta_cur);
    free(w->wn);
    free(w->wp);
    free(w->wpp);
    free(w->z);
    free(w->dq);
    free(w->etaj);
    free(w->tmpn);
    free(w->Au);
    free(w->bu);
    free(w->XVX);
    free(w->K);
    free(w->Hi2);
    free(w->v);
    free(w->u);
    free(w->bjk);
    free(w->trHiHj);
    free(w->AF);
    free(w->L);
    free(w->Gm);
    free(w->HF);
    free(w->tmp3);
    free(w->eq);
}

static double frob(const double *S, int n)
{
    double s = 0.0;
    int i;

    for (i = 0; i < n * n; i++)
        s += S[i] * S[i];
    return sqrt(s);
}

/* The range space of each block's total penalty sum_j S_j/||S_j||_F
 * (section 6: eigenvalues above max * eps^0.66 count), and the penalties
 * projected on it, for log|S_lambda|_+ and its derivatives. */
static enum ml_status blocks_init(struct fitws *w, struct ml_err *err)
{
    const struct gam_model *m = w->m;
    size_t t;
    int b = 0, j, a, c, k;

    w->blk = calloc(m->nterms ? m->nterms : 1, sizeof *w->blk);
    if (!w->blk)
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    for (t = 0; t < m->nterms; t++) {
        const struct gam_term *tm = &m->terms[t];
        const struct gam_smooth *sm;
        struct pen_block *pb;
        double *St, *ev, maxev;
        int s, r;

        if (tm->smooth < 0 || tm->npen == 0)
            continue;
        sm = &m->smooths[tm->smooth];
        pb = &w->blk[b++];
        w->nblocks = b;
        pb->off = tm->col0;
        pb->size = s = tm->ncol;
        pb->pen0 = tm->pen0;
        pb->npen = tm->npen;
        St = calloc((size_t)s * s, sizeof *St);
        ev = malloc((size_t)s * sizeof *ev);
        if (!St || !ev) {
            free(St);
            free(ev);
            ML_FAIL(err, ML_ENOMEM, "out of memory");
        }
        for (j = 0; j < tm->npen; j++) {
            double f = frob(sm->S[j], s);
            for (a = 0; a < s * s; a++)
                St[a] += sm->S[j][a] / f;
        }
        if (LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', s, St, s, ev) != 0) {
            free(St);
            free(ev);
            ML_FAIL(err, ML_ESING, "eigen-decomposition of the penalty of %s failed", tm->label);
        }
        maxev = ev[s - 1];
        r = 0;
        for (a = 0; a < s; a++)
            if (ev[a] > maxev * pow(DBL_EPSILON, 0.66))
                r++;
        pb->r = r;
        pb->Y = malloc((size_t)s * (r ? r : 1) * sizeof *pb->Y);
        pb->P = malloc((size_t)(r ? r : 1) * (r ? r : 1) * sizeof *pb->P);
        if (!pb->Y || !pb->P) {
            free(St);
            free(ev);
            ML_FAIL(err, ML_ENOMEM, "out of memory");
        }
        /* dsyev orders eigenvalues ascending: the range is the last r columns. */
        for (a = 0; a < s; a++)
            for (c = 0; c < r; c++)
                pb->Y[(size_t)a * r + c] = St[(size_t)a * s + (s - r + c)];
        for (j = 0; j < tm->npen; j++) {
            double *SY = malloc((size_t)s * (r ? r : 1) * sizeof *SY);
            pb->Shat[j] = malloc((size_t)(r ? r : 1) * (r ? r : 1) * sizeof *pb->Shat[j]);
            if (!SY || !pb->Shat[j]) {
                free(SY);
                free(St);
                free(ev);
                ML_FAIL(err, ML_ENOMEM, "out of memory");
            }
            if (r > 0) {
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s, r, s, 1.0, sm->S[j], s,
                            pb->Y, r, 0.0, SY, r);
                cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r, r, s, 1.0, pb->Y, r, SY,
                            r, 0.0, pb->Shat[j], r);
                for (a = 0; a < r; a++)       /* symmetrise against rounding */
                    for (k = a + 1; k < r; k++) {
                        double v = 0.5 * (pb->Shat[j][a * r + k] + pb->Shat[j][k * r + a]);
                        pb->Shat[j][a * r + k] = pb->Shat[j][k * r + a] = v;
                    }
            }
            free(SY);
        }
        free(St);
        free(ev);
    }
    return ML_OK;
}

/* ---- the criterion -------------------------------------------------------- */

/* log|S_lambda|_+ of one block and, if P is wanted, (sum lambda Shat)^-1. */
static enum ml_status block_logdet(struct pen_block *pb, const double *lambda, double *logdet,
                                   struct ml_err *err)
{
    int r = pb->r, a, j;
    double ld = 0.0;

    if (r == 0) {
        *logdet = 0.0;
        return ML_OK;
    }
    memset(pb->P, 0, (size_t)r * r * sizeof *pb->P);
    for (j = 0; j < pb->npen; j++)
        for (a = 0; a < r * r; a++)
            pb->P[a] += lambda[pb->pen0 + j] * pb->Shat[j][a];
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', r, pb->P, r) != 0)
        ML_FAIL(err, ML_ESING, "penalty not positive definite on its range space");
    for (a = 0; a < r; a++)
        ld += 2.0 * log(pb->P[(size_t)a * r + a]);
    if (LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'U', r, pb->P, r) != 0)
        ML_FAIL(err, ML_ESING, "penalty not invertible on its range space");
    for (a = 0; a < r; a++)
        for (j = a + 1; j < r; j++)
            pb->P[(size_t)j * r + a] = pb->P[(size_t)a * r + j];
    *logdet = ld;
    return ML_OK;
}

static double trace_prod(const double *X, const double *Y, int r)
{
    /* tr(X Y) for r x r row-major matrices. */
    double s = 0.0;
    int a, b;

    for (a = 0; a < r; a++)
        for (b = 0; b < r; b++)
            s += X[(size_t)a * r + b] * Y[(size_t)b * r + a];
    return s;
}

/* tr(X Y Z) for p x p row-major matrices; tmp holds p x p. */
static double trace_prod3(const double *X, const double *Y, const double *Z, int p, double *tmp)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p, p, p, 1.0, X, p, Y, p, 0.0, tmp, p);
    return trace_prod(tmp, Z, p);
}

static void theta_to_rho(struct fitws *w, const double *theta, double *logphi)
{
    int i;

    for (i = 0; i < w->nfree; i++)
        w->rho[w->free_idx[i]] = theta[i];
    *logphi = w->has_phi ? theta[w->nfree] : 0.0;
    for (i = 0; i < w->M; i++)
        w->lambda[i] = exp(w->rho[i]);
}

/* M += lambda_j S_j, penalty j embedded at its block (M is p x p). */
static void add_penalty(const struct fitws *w, int j, double *M)
{
    int p = w->p, off = w->poff[j], s = w->psize[j], a, c;
    const double *S = w->S[j];

    for (a = 0; a < s; a++)
        for (c = 0; c < s; c++)
            M[(size_t)(off + a) * p + off + c] += w->lambda[j] * S[a * s + c];
}

/* w->H = Cholesky factor of A + S_lambda; *logdetH = log|A + S_lambda|.
 * `what` names the matrix in the error. */
static enum ml_status factor_H(struct fitws *w, const double *A, double *logdetH,
                               const char *what, struct ml_err *err)
{
    int p = w->p, j, a;

    memcpy(w->H, A, (size_t)p * p * sizeof *w->H);
    for (j = 0; j < w->M; j++)
        add_penalty(w, j, w->H);
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', p, w->H, p) != 0)
        ML_FAIL(err, ML_ESING, "%s is not positive definite", what);
    *logdetH = 0.0;
    for (a = 0; a < p; a++)
        *logdetH += 2.0 * log(w->H[(size_t)a * p + a]);
    return ML_OK;
}

/* Solve at lambda: H = A + S_lambda = L L', beta = H^-1 b.  Fills w->H (the
 * Cholesky factor), w->beta, and returns RSS and log|H|. */
static enum ml_status solve_at(struct fitws *w, double *rss, double *logdetH,
                               struct ml_err *err)
{
    int p = w->p;
    double r;
    enum ml_status st = factor_H(w, w->A, logdetH,
                                 "X'WX + S_lambda (collinear terms, or a factor level with no "
                                 "data?)", err);

    if (st)
        return st;
    memcpy(w->beta, w->b, (size_t)p * sizeof *w->beta);
    LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'U', p, 1, w->H, p, w->beta, 1);
    /* RSS = y'Wy - 2 beta'b + beta'A beta */
    cblas_dsymv(CblasRowMajor, CblasUpper, p, 1.0, w->A, p, w->beta, 1, 0.0, w->Ab, 1);
    r = w->yy - 2.0 * cblas_ddot(p, w->beta, 1, w->b, 1) + cblas_ddot(p, w->beta, 1, w->Ab, 1);
    *rss = r > 0.0 ? r : 0.0;
    return ML_OK;
}

static enum ml_status inverse_H(struct fitws *w, struct ml_err *err)
{
    int p = w->p, a, c;

    memcpy(w->Hi, w->H, (size_t)p * p * sizeof *w->Hi);
    if (LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'U', p, w->Hi, p) != 0)
        ML_FAIL(err, ML_ESING, "X'WX + S_lambda could not be inverted");
    for (a = 0; a < p; a++)
        for (c = a + 1; c < p; c++)
            w->Hi[(size_t)c * p + a] = w->Hi[(size_t)a * p + c];
    return ML_OK;
}

static double trace_HiA(const struct fitws *w)
{
    size_t k, pp = (size_t)w->p * w->p;
    double s = 0.0;

    /* A is symmetric but only its upper triangle is guaranteed: use it twice. */
    for (k = 0; k < pp; k++) {
        size_t a = k / w->p, c = k % w->p;
        double Aac = a <= c ? w->A[k] : w->A[c * w->p + a];
        s += w->Hi[k] * Aac;
    }
    return s;
}

static double trace_SS(const struct fitws *w, int j, int k, struct ml_err *err, int *fail)
{
    int bb;
    double tr = 0.0;

    *fail = 0;
    for (bb = 0; bb < w->nblocks; bb++) {
        struct pen_block *pb = &w->blk[bb];
        if (j >= pb->pen0 && j < pb->pen0 + pb->npen && k >= pb->pen0 &&
            k < pb->pen0 + pb->npen && pb->r > 0) {
            int r = pb->r;
            double *X1 = malloc((size_t)r * r * sizeof *X1);
            double *X2 = malloc((size_t)r * r * sizeof *X2);
            if (!X1 || !X2) {
                free(X1);
                free(X2);
                ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
                *fail = 1;
                return 0.0;
            }
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r, r, r, 1.0, pb->P, r,
                        pb->Shat[j - pb->pen0], r, 0.0, X1, r);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r, r, r, 1.0, pb->P, r,
                        pb->Shat[k - pb->pen0], r, 0.0, X2, r);
            tr = trace_prod(X1, X2, r);
            free(X1);
            free(X2);
        }
    }
    return tr;
}

/* S_j beta (into w->Sb) and beta' S_j beta (w->bSb) for every penalty;
 * returns dev + beta' S_lambda beta, the penalised deviance D_p. */
static double penalised_deviance(struct fitws *w, double dev)
{
    int p = w->p, j;

    for (j = 0; j < w->M; j++) {
        int off = w->poff[j], s = w->psize[j];
        cblas_dsymv(CblasRowMajor, CblasUpper, s, 1.0, w->S[j], s, w->beta + off, 1, 0.0,
                    w->Sb + (size_t)j * p, 1);
        w->bSb[j] = cblas_ddot(s, w->beta + off, 1, w->Sb + (size_t)j * p, 1);
        dev += w->lambda[j] * w->bSb[j];
    }
    return dev;
}

/* log|S_lambda|_+ over every penalty block (and each block's P for the
 * derivatives). */
static enum ml_status log_det_S(struct fitws *w, double *logdetS, struct ml_err *err)
{
    int i;

    *logdetS = 0.0;
    for (i = 0; i < w->nblocks; i++) {
        double ld = 0.0;
        enum ml_status st = block_logdet(&w->blk[i], w->lambda, &ld, err);
        if (st)
            return st;
        *logdetS += ld;
    }
    return ML_OK;
}

/* Per penalty j, with w->Hi = H^-1: T_j = S_j Hi[block_j, :] (s x p),
 * tr(Hi S_j), tr(S^+ S_j) and d beta / d rho_j = -lambda_j Hi S_j beta
 * (implicit differentiation of the penalised fit). */
static void penalty_derivatives(struct fitws *w, int j)
{
    int p = w->p, off = w->poff[j], s = w->psize[j], a, bb;
    double t = 0.0;

    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s, p, s, 1.0, w->S[j], s,
                w->Hi + (size_t)off * p, p, 0.0, w->T + (size_t)j * p * p, p);
    for (a = 0; a < s; a++)
        t += w->T[(size_t)j * p * p + (size_t)a * p + off + a];
    w->trHiS[j] = t;
    w->trSpS[j] = 0.0;
    for (bb = 0; bb < w->nblocks; bb++) {
        struct pen_block *pb = &w->blk[bb];
        if (j >= pb->pen0 && j < pb->pen0 + pb->npen && pb->r > 0)
            w->trSpS[j] = trace_prod(pb->P, pb->Shat[j - pb->pen0], pb->r);
    }
    cblas_dgemv(CblasRowMajor, CblasNoTrans, p, s, -w->lambda[j], w->Hi + off, p,
                w->Sb + (size_t)j * p, 1, 0.0, w->db + (size_t)j * p, 1);
}

/* REML value and, if deriv, gradient and Hessian in theta. */
static enum ml_status reml_eval(struct fitws *w, const double *theta, int deriv,
                                struct eval *ev, struct ml_err *err)
{
    int p = w->p, M = w->M, nth = w->nth, i, j, k, a;
    double logphi, phi, rss, logdetH, logdetS = 0.0, dp;
    double *bSb = w->bSb, *trHiS = w->trHiS, *trSpS = w->trSpS;
    enum ml_status st;

    theta_to_rho(w, theta, &logphi);
    st = solve_at(w, &rss, &logdetH, err);
    if (st)
        return st;
    dp = penalised_deviance(w, rss);
    st = log_det_S(w, &logdetS, err);
    if (st)
        return st;
    phi = exp(logphi);
    ev->phi = phi;
    ev->rss = rss;
    ev->dp = dp;
    ev->V = dp / (2.0 * phi) + 0.5 * (w->n - w->Mp) * log(2.0 * M_PI * phi) - 0.5 * w->sumlogw +
            0.5 * logdetH - 0.5 * logdetS;
    if (!deriv)
        return ML_OK;

    st = inverse_H(w, err);
    if (st)
        return st;
    ev->tau = trace_HiA(w);
    ev->phi_tilde = rss / (w->n - ev->tau);
    for (j = 0; j < M; j++)
        penalty_derivatives(w, j);
    for (i = 0; i < w->nfree; i++) {
        j = w->free_idx[i];
        ev->g[i] = w->lambda[j] * bSb[j] / (2.0 * phi) + 0.5 * w->lambda[j] * trHiS[j] -
                   0.5 * w->lambda[j] * trSpS[j];
    }
    if (w->has_phi)
        ev->g[w->nfree] = -dp / (2.0 * phi) + 0.5 * (w->n - w->Mp);

    for (i = 0; i < w->nfree; i++) {
        j = w->free_idx[i];
        for (a = i; a < w->nfree; a++) {
            double h, trHH = 0.0, trSS, bSdb;
            int c, d, offj = w->poff[j], sj = w->psize[j], fail;
            k = w->free_idx[a];
            {
                int offk = w->poff[k], sk = w->psize[k];
                const double *Tj = w->T + (size_t)j * p * p, *Tk = w->T + (size_t)k * p * p;
                /* tr(Hi S_j Hi S_k) = sum_{c,d} T_j[c, off_k + d] T_k[d, off_j + c] */
                for (c = 0; c < sj; c++)
                    for (d = 0; d < sk; d++)
                        trHH += Tj[(size_t)c * p + offk + d] * Tk[(size_t)d * p + offj + c];
            }
            trSS = trace_SS(w, j, k, err, &fail);
            if (fail)
                return ML_ENOMEM;
            /* beta' S_j (d beta / d rho_k) */
            bSdb = cblas_ddot(sj, w->Sb + (size_t)j * p, 1, w->db + (size_t)k * p + offj, 1);
            h = (2.0 * w->lambda[j] * bSdb) / (2.0 * phi) -
                0.5 * w->lambda[j] * w->lambda[k] * trHH +
                0.5 * w->lambda[j] * w->lambda[k] * trSS;
            if (j == k)
                h += w->lambda[j] * bSb[j] / (2.0 * phi) + 0.5 * w->lambda[j] * trHiS[j] -
                     0.5 * w->lambda[j] * trSpS[j];
            ev->Hs[(size_t)i * nth + a] = ev->Hs[(size_t)a * nth + i] = h;
        }
        if (w->has_phi)
            ev->Hs[(size_t)i * nth + w->nfree] = ev->Hs[(size_t)w->nfree * nth + i] =
                -w->lambda[j] * bSb[j] / (2.0 * phi);
    }
    if (w->has_phi)
        ev->Hs[(size_t)w->nfree * nth + w->nfree] = dp / (2.0 * phi);
    return ML_OK;
}

/* GCV score n RSS / (n - tau)^2 and its gradient (Wood 2004, section 3). */
static enum ml_status gcv_eval(struct fitws *w, const double *theta, int deriv,
                               struct eval *ev, struct ml_err *err)
{
    int p = w->p, i, j, a;
    double logphi, rss, logdetH, den;
    enum ml_status st;

    theta_to_rho(w, theta, &logphi);
    st = solve_at(w, &rss, &logdetH, err);
    if (st)
        return st;
    st = inverse_H(w, err);
    if (st)
        return st;
    ev->rss = rss;
    ev->tau = trace_HiA(w);
    ev->phi_tilde = rss / (w->n - ev->tau);
    den = w->n - ev->tau;
    ev->V = w->n * rss / (den * den);
    if (!deriv)
        return ML_OK;
    /* Sl_beta = S_lambda beta (p) */
    {
        double *Slb = w->Ab; /* reuse: A beta is not needed below */
        double *HiA = malloc((size_t)p * p * sizeof *HiA);
        if (!HiA)
            ML_FAIL(err, ML_ENOMEM, "out of memory");
        memset(Slb, 0, (size_t)p * sizeof *Slb);
        for (j = 0; j < w->M; j++) {
            int off = w->poff[j], s = w->psize[j];
            cblas_dsymv(CblasRowMajor, CblasUpper, s, w->lambda[j], w->S[j], s, w->beta + off,
                        1, 1.0, Slb + off, 1);
        }
        /* HiA = Hi A (A upper-stored: expand once) */
        {
            double *Af = malloc((size_t)p * p * sizeof *Af);
            if (!Af) {
                free(HiA);
                ML_FAIL(err, ML_ENOMEM, "out of memory");
            }
            for (a = 0; a < p; a++)
                for (j = 0; j < p; j++)
                    Af[(size_t)a * p + j] = a <= j ? w->A[(size_t)a * p + j] : w->A[(size_t)j * p + a];
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p, p, p, 1.0, w->Hi, p, Af, p,
                        0.0, HiA, p);
            free(Af);
        }
        for (i = 0; i < w->nfree; i++) {
            int off, s, c, d;
            double drss, dtau = 0.0, lam;
            j = w->free_idx[i];
            off = w->poff[j];
            s = w->psize[j];
            lam = w->lambda[j];
            /* d beta/d rho_j = -lam Hi S_j beta; dRSS = -2 dbeta' S_lambda beta */
            cblas_dsymv(CblasRowMajor, CblasUpper, s, 1.0, w->S[j], s, w->beta + off, 1, 0.0,
                        w->Sb, 1);
            cblas_dgemv(CblasRowMajor, CblasNoTrans, p, s, -lam, w->Hi + off, p, w->Sb, 1, 0.0,
                        w->db, 1);
            drss = -2.0 * cblas_ddot(p, w->db, 1, Slb, 1);
            /* d tau / d rho_j = -lam tr(Hi S_j Hi A) = -lam sum_{c,d in block} S_j[c,d] (HiA Hi)[d,c]
             * computed as -lam sum_{c,d} S_j[c,d] sum_e HiA[off+d, e] Hi[e, off+c] */
            for (c = 0; c < s; c++)
                for (d = 0; d < s; d++) {
                    double v = cblas_ddot(p, HiA + (size_t)(off + d) * p, 1, w->Hi + off + c, p);
                    dtau += w->S[j][c * s + d] * v;
                }
            dtau *= -lam;
            ev->g[i] = w->n * (drss / (den * den) + 2.0 * rss * dtau / (den * den * den));
        }
        free(HiA);
    }
    return ML_OK;
}

/* ---- starting values (section 10.2) ---------------------------------------- */

static void initial_sp(struct fitws *w, double *rho0)
{
    int p = w->p, j, a, c;
    double thr, *s = calloc((size_t)p, sizeof *s), ratio, cnt;
    const double eps08 = pow(DBL_EPSILON, 0.8);

    ML_ASSERT(s != NULL);
    for (j = 0; j < w->M; j++) {
        int sz = w->psize[j], off = w->poff[j], nJ = 0;
        const double *S = w->S[j];
        double maxabs = 0.0, sd = 0.0, ss = 0.0;

        for (a = 0; a < sz * sz; a++)
            maxabs = fmax(maxabs, fabs(S[a]));
        thr = eps08 * maxabs;
        for (a = 0; a < sz; a++) {
            double rs = 0.0, cs = 0.0;
            for (c = 0; c < sz; c++) {
                rs += fabs(S[a * sz + c]);
                cs += fabs(S[c * sz + a]);
            }
            rs /= sz;
            cs /= sz;
            if (rs > thr && cs > thr && fabs(S[a * sz + a]) > thr) {
                sd += w->A[(size_t)(off + a) * p + off + a];
                ss += fabs(S[a * sz + a]);
                nJ++;
            }
        }
        rho0[j] = nJ > 0 && ss > 0 && sd > 0 ? log((sd / nJ) / (ss / nJ)) : 0.0;
    }
    /* Global adjustment: scale all lambda by powers of 10 until the average
     * of d/(d + s) over penalised positions crosses 0.4. */
    for (j = 0; j < w->M; j++)
        for (a = 0; a < w->psize[j]; a++)
            s[w->poff[j] + a] += exp(rho0[j]) * w->S[j][a * w->psize[j] + a];
#define MEAN_RATIO(factor)                                                           \
    do {                                                                             \
        ratio = 0.0;                                                                 \
        cnt = 0.0;                                                                   \
        for (a = 0; a < p; a++) {                                                    \
            double d = w->A[(size_t)a * p + a], sv = s[a] * (factor);                \
            if (sv > 0.0 && d > 0.0) {                                               \
                ratio += d / (d + sv);                                               \
                cnt += 1.0;                                                          \
            }                                                                        \
        }                                                                            \
        ratio = cnt > 0 ? ratio / cnt : 0.4;                                         \
    } while (0)
    {
        double f = 1.0;
        MEAN_RATIO(f);
        if (ratio > 0.4) {
            int guard = 0;
            while (ratio > 0.4 && guard++ < 60) {
                f *= 10.0;
                MEAN_RATIO(f);
            }
        } else {
            int guard = 0;
            while (ratio < 0.4 && guard++ < 60) {
                f /= 10.0;
                MEAN_RATIO(f);
            }
        }
        for (j = 0; j < w->M; j++)
            rho0[j] += log(f);
    }
#undef MEAN_RATIO
    free(s);
}

/* ---- Newton (section 10.4) ---------------------------------------------------- */

typedef enum ml_status (*eval_fn)(struct fitws *, const double *, int, struct eval *,
                                  struct ml_err *);

static int eval_alloc(struct eval *e, int nth)
{
    memset(e, 0, sizeof *e);
    e->g = calloc((size_t)(nth ? nth : 1), sizeof *e->g);
    e->Hs = calloc((size_t)(nth ? nth * nth : 1), sizeof *e->Hs);
    return e->g && e->Hs;
}

static void eval_free(struct eval *e)
{
    free(e->g);
    free(e->Hs);
}

/* Central differences of the analytic gradient (step 1e-5, which
 * gam-numerics.md 10.9 found accurate enough to follow mgcv's path). */
static enum ml_status fd_hessian(struct fitws *w, eval_fn f, const double *theta,
                                 struct eval *ev, struct ml_err *err)
{
    int nth = w->nth, i, k;
    double *t = malloc((size_t)nth * sizeof *t);
    struct eval e1, e2;
    enum ml_status st = ML_OK;
    const double h = 1e-5;

    memset(&e1, 0, sizeof e1);
    memset(&e2, 0, sizeof e2);

    if (!t || !eval_alloc(&e1, nth) || !eval_alloc(&e2, nth)) {
        free(t);
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    }
    for (i = 0; i < nth && st == ML_OK; i++) {
        memcpy(t, theta, (size_t)nth * sizeof *t);
        t[i] += h;
        st = f(w, t, 1, &e1, err);
        if (st)
            break;
        t[i] -= 2 * h;
        st = f(w, t, 1, &e2, err);
        for (k = 0; k < nth && st == ML_OK; k++)
            ev->Hs[(size_t)i * nth + k] = (e1.g[k] - e2.g[k]) / (2 * h);
    }
    for (i = 0; i < nth; i++)
        for (k = i + 1; k < nth; k++) {
            double v = 0.5 * (ev->Hs[(size_t)i * nth + k] + ev->Hs[(size_t)k * nth + i]);
            ev->Hs[(size_t)i * nth + k] = ev->Hs[(size_t)k * nth + i] = v;
        }
    /* Restore the workspace to theta itself. */
    if (st == ML_OK)
        st = f(w, theta, 1, &e1, err);
    free(t);
    eval_free(&e1);
    eval_free(&e2);
    return st;
}

static enum ml_status eval_full(struct fitws *w, eval_fn f, int fd, const double *theta,
                                struct eval *ev, struct ml_err *err)
{
    enum ml_status st = f(w, theta, 1, ev, err);
    if (st == ML_OK && fd)
        st = fd_hessian(w, f, theta, ev, err);
    return st;
}

static double score_scale(const struct eval *e)
{
    return fabs(log(e->phi_tilde > 0 ? e->phi_tilde : 1.0)) + fabs(e->V);
}

/* Minimise f over theta with mgcv's outer Newton rules (section 10.4).  On
 * return theta and ev hold the final point (with derivatives). */
static enum ml_status newton(struct fitws *w, eval_fn f, int fd, double *theta,
                             struct eval *ev, int *iters, int *converged, char *msg,
                             size_t msgcap, struct ml_err *err)
{
    int nth = w->nth, iter, i, k, nU;
    const double tol = w->o->conv_tol, sqeps = sqrt(DBL_EPSILON);
    int *U = calloc((size_t)(nth ? nth : 1), sizeof *U), *ui = calloc((size_t)(nth ? nth : 1), sizeof *ui);
    double *step = malloc((size_t)(nth ? nth : 1) * sizeof *step);
    double *t1 = malloc((size_t)(nth ? nth : 1) * sizeof *t1);
    double *sd = malloc((size_t)(nth ? nth : 1) * sizeof *sd);
    double *Hu = malloc((size_t)(nth ? nth * nth : 1) * sizeof *Hu);
    double *evl = malloc((size_t)(nth ? nth : 1) * sizeof *evl);
    double *gu = malloc((size_t)(nth ? nth : 1) * sizeof *gu);
    struct eval trial, best;
    enum ml_status st = ML_OK;
    double s;

    memset(&trial, 0, sizeof trial);
    memset(&best, 0, sizeof best);

    *converged = 0;
    *iters = 0;
    if (!U || !ui || !step || !t1 || !sd || !Hu || !evl || !gu || !eval_alloc(&trial, nth) ||
        !eval_alloc(&best, nth)) {
        st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
        goto out;
    }
    st = eval_full(w, f, fd, theta, ev, err);
    if (st)
        goto out;
    if (nth == 0) {
        *converged = 1;
        snprintf(msg, msgcap, "no smoothing parameters to estimate");
        goto out;
    }
    s = score_scale(ev);
    nU = 0;
    for (i = 0; i < nth; i++)
        if ((U[i] = fabs(ev->g[i]) > s * tol))
            nU++;
    if (nU == 0)
        for (i = 0; i < nth; i++)
            U[i] = 1;

    for (iter = 1; iter <= w->o->max_iter; iter++) {
        int indefinite = 0, pdef = 1, ntrial = 0, accepted = 0, use_sd = 0;
        double maxev = 0.0, maxstep, V0 = ev->V, pred, q, steplen;

        if (w->o->stop && *w->o->stop) {
            st = ml_fail(err, ML_ESTOPPED, __FILE__, __LINE__, "stopped");
            goto out;
        }
        *iters = iter;
        nU = 0;
        for (i = 0; i < nth; i++)
            if (U[i])
                ui[nU++] = i;
        if (nU == 0) {
            int imax = 0;
            for (i = 1; i < nth; i++)
                if (fabs(ev->g[i]) > fabs(ev->g[imax]))
                    imax = i;
            U[imax] = 1;
            ui[nU++] = imax;
        }
        /* Modified Newton direction on the active set. */
        for (i = 0; i < nU; i++) {
            gu[i] = ev->g[ui[i]];
            for (k = 0; k < nU; k++)
                Hu[(size_t)i * nU + k] = ev->Hs[(size_t)ui[i] * nth + ui[k]];
        }
        if (LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', nU, Hu, nU, evl) != 0) {
            st = ml_fail(err, ML_ESING, __FILE__, __LINE__,
                         "eigen-decomposition of the smoothing-parameter Hessian failed");
            goto out;
        }
        for (i = 0; i < nU; i++)
            maxev = fmax(maxev, fabs(evl[i]));
        for (i = 0; i < nU; i++) {
            if (nU == 1 ? evl[i] < -s * sqeps : evl[i] < -sqeps * maxev)
                indefinite = 1;
            if (evl[i] < 0)
                pdef = 0;
        }
        for (i = 0; i < nU; i++) {
            double e = fabs(evl[i]);
            if (e < maxev * pow(DBL_EPSILON, 0.7)) {
                e = maxev * pow(DBL_EPSILON, 0.7);
                pdef = 0;
            }
            evl[i] = e > 0 ? e : 1.0;
        }
        memset(step, 0, (size_t)nth * sizeof *step);
        for (k = 0; k < nU; k++) {
            double c = 0.0;
            for (i = 0; i < nU; i++)
                c += Hu[(size_t)i * nU + k] * gu[i];
            c /= evl[k];
            for (i = 0; i < nU; i++)
                step[ui[i]] -= Hu[(size_t)i * nU + k] * c;
        }
        maxstep = 0.0;
        for (i = 0; i < nth; i++)
            maxstep = fmax(maxstep, fabs(step[i]));
        if (maxstep > 5.0)
            for (i = 0; i < nth; i++)
                step[i] *= 5.0 / maxstep;
        {
            double gmax = 0.0;
            for (i = 0; i < nth; i++)
                gmax = fmax(gmax, fabs(ev->g[i]));
            for (i = 0; i < nth; i++)
                sd[i] = gmax > 0 ? -ev->g[i] / gmax : 0.0;
        }

        /* Trial steps with halving. */
        for (;;) {
            double dV;
            for (i = 0; i < nth; i++)
                t1[i] = theta[i] + step[i];
            st = f(w, t1, 0, &trial, err);
            if (st == ML_ESING) {
                trial.V = INFINITY; /* treat as a failed trial */
                st = ML_OK;
            }
            if (st)
                goto out;
            pred = 0.0;
            for (i = 0; i < nth; i++) {
                pred += ev->g[i] * step[i];
                for (k = 0; k < nth; k++)
                    pred += 0.5 * step[i] * ev->Hs[(size_t)i * nth + k] * step[k];
            }
            dV = trial.V - V0;
            q = fabs(pred - dV) / (fmax(fabs(pred), fabs(dV)) + s * tol);
            if (ntrial == 0 && trial.V < V0 && pdef && q < 0.8) {
                accepted = 1;
                break;
            }
            if (trial.V < V0 && (q < 0.8 || ntrial >= 6)) {
                accepted = 1;
                break;
            }
            ntrial++;
            if (ntrial > 30)
                break;
            steplen = 0.0;
            for (i = 0; i < nth; i++)
                steplen += step[i] * step[i];
            steplen = sqrt(steplen);
            if (ntrial == 4 && iter < 10 && !use_sd) {
                /* Full step and three halvings failed: steepest descent. */
                double len = fmin(steplen, 2.0), sn = 0.0;
                for (i = 0; i < nth; i++)
                    sn += sd[i] * sd[i];
                sn = sqrt(sn);
                for (i = 0; i < nth; i++)
                    step[i] = sn > 0 ? sd[i] * len / sn : 0.0;
                use_sd = 1;
            } else {
                for (i = 0; i < nth; i++)
                    step[i] *= 0.5;
            }
        }
        if (accepted && !pdef) {
            /* Indefinite Hessian: compare with the best steepest-descent point. */
            double *tb = malloc((size_t)nth * sizeof *tb), bestV = INFINITY;
            int h;
            if (!tb) {
                st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
                goto out;
            }
            for (i = 0; i < nth; i++)
                step[i] = sd[i];
            for (h = 0; h < 40; h++) {
                for (i = 0; i < nth; i++)
                    tb[i] = theta[i] + step[i];
                st = f(w, tb, 0, &best, err);
                if (st == ML_ESING) {
                    best.V = INFINITY;
                    st = ML_OK;
                }
                if (st) {
                    free(tb);
                    goto out;
                }
                if (best.V < bestV) {
                    bestV = best.V;
                } else if (bestV < INFINITY) {
                    /* halving stopped improving: step back to the best */
                    for (i = 0; i < nth; i++)
                        step[i] *= 2.0;
                    break;
                }
                for (i = 0; i < nth; i++)
                    step[i] *= 0.5;
                if (h == 39)
                    for (i = 0; i < nth; i++)
                        step[i] *= 2.0;
            }
            if (bestV < trial.V)
                for (i = 0; i < nth; i++)
                    t1[i] = theta[i] + step[i];
            free(tb);
        }
        if (!accepted) {
            snprintf(msg, msgcap, "step failure after %d iterations: no step lowered the "
                     "criterion", iter);
            break;
        }
        memcpy(theta, t1, (size_t)nth * sizeof *theta);
        st = eval_full(w, f, fd, theta, ev, err);
        if (st)
            goto out;
        s = score_scale(ev);
        {
            int gradok = 1;
            for (i = 0; i < nth; i++)
                if (fabs(ev->g[i]) > 5.0 * s * tol)
                    gradok = 0;
            for (i = 0; i < nth; i++)
                U[i] = fabs(ev->g[i]) > 0.1 * s * tol ||
                       fabs(ev->Hs[(size_t)i * nth + i]) > 0.1 * s * tol;
            if (!indefinite && gradok && fabs(ev->V - V0) <= s * tol) {
                *converged = 1;
                snprintf(msg, msgcap, "full convergence after %d iterations", iter);
                break;
            }
            if (gradok)
                for (i = 0; i < nth; i++)
                    U[i] = 1;
        }
        if (iter == w->o->max_iter)
            snprintf(msg, msgcap, "iteration limit %d reached", w->o->max_iter);
    }
out:
    free(U);
    free(ui);
    free(step);
    free(t1);
    free(sd);
    free(Hu);
    free(evl);
    free(gu);
    eval_free(&trial);
    eval_free(&best);
    return st;
}

/* ---- GCV Newton in the manner of mgcv's magic (section 10.8) ---------------- */

static enum ml_status magic(struct fitws *w, double *theta, struct eval *ev, int *iters,
                            int *converged, char *msg, size_t msgcap, struct ml_err *err)
{
    int nth = w->nth, iter, i, k, h;
    double *step = malloc((size_t)(nth ? nth : 1) * sizeof *step);
    double *t1 = malloc((size_t)(nth ? nth : 1) * sizeof *t1);
    double *Hc = malloc((size_t)(nth ? nth * nth : 1) * sizeof *Hc);
    double *evl = malloc((size_t)(nth ? nth : 1) * sizeof *evl);
    struct eval trial;
    enum ml_status st = ML_OK;
    double lastdec = INFINITY;

    memset(&trial, 0, sizeof trial);

    *converged = 0;
    *iters = 0;
    if (!step || !t1 || !Hc || !evl || !eval_alloc(&trial, nth)) {
        st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
        goto out;
    }
    st = eval_full(w, gcv_eval, 1, theta, ev, err);
    if (st || nth == 0) {
        if (nth == 0)
            *converged = 1;
        goto out;
    }
    for (iter = 1; iter <= w->o->max_iter; iter++) {
        int neg = 0, ok = 0;
        double gnorm = 0.0, maxs = 0.0, V0 = ev->V;

        *iters = iter;
        memcpy(Hc, ev->Hs, (size_t)nth * nth * sizeof *Hc);
        if (LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', nth, Hc, nth, evl) != 0) {
            st = ml_fail(err, ML_ESING, __FILE__, __LINE__, "GCV Hessian eigen-decomposition failed");
            goto out;
        }
        for (i = 0; i < nth; i++)
            if (evl[i] <= 0)
                neg = 1;
        if (neg) {
            double gmax = 0.0;
            for (i = 0; i < nth; i++)
                gmax = fmax(gmax, fabs(ev->g[i]));
            for (i = 0; i < nth; i++)
                step[i] = gmax > 0 ? -ev->g[i] / gmax : 0.0;
        } else {
            memset(step, 0, (size_t)nth * sizeof *step);
            for (k = 0; k < nth; k++) {
                double c = 0.0;
                for (i = 0; i < nth; i++)
                    c += Hc[(size_t)i * nth + k] * ev->g[i];
                c /= evl[k];
                for (i = 0; i < nth; i++)
                    step[i] -= Hc[(size_t)i * nth + k] * c;
            }
        }
        for (i = 0; i < nth; i++)
            maxs = fmax(maxs, fabs(step[i]));
        if (maxs > 5.0)
            for (i = 0; i < nth; i++)
                step[i] *= 5.0 / maxs;
        for (h = 0; h <= 15; h++) {
            for (i = 0; i < nth; i++)
                t1[i] = theta[i] + step[i];
            st = gcv_eval(w, t1, 0, &trial, err);
            if (st == ML_ESING) {
                trial.V = INFINITY;
                st = ML_OK;
            }
            if (st)
                goto out;
            if (trial.V < V0) {
                ok = 1;
                break;
            }
            if (h == 3 && !neg) {
                double gmax = 0.0;
                for (i = 0; i < nth; i++)
                    gmax = fmax(gmax, fabs(ev->g[i]));
                for (i = 0; i < nth; i++)
                    step[i] = gmax > 0 ? -ev->g[i] / gmax : 0.0;
            } else {
                for (i = 0; i < nth; i++)
                    step[i] *= 0.5;
            }
        }
        if (ok) {
            memcpy(theta, t1, (size_t)nth * sizeof *theta);
            lastdec = V0 - trial.V;
        } else {
            lastdec = 0.0;
        }
        st = eval_full(w, gcv_eval, 1, theta, ev, err);
        if (st)
            goto out;
        for (i = 0; i < nth; i++)
            gnorm += ev->g[i] * ev->g[i];
        gnorm = sqrt(gnorm);
        if (iter >= 4 && lastdec <= 1e-7 * (1.0 + ev->V) &&
            gnorm <= pow(1e-7, 1.0 / 3.0) * (1.0 + fabs(ev->V))) {
            *converged = 1;
            break;
        }
        if (!ok) {
            *converged = gnorm <= pow(1e-7, 1.0 / 3.0) * (1.0 + fabs(ev->V));
            break;
        }
    }
    /* Finish: push flat smoothing parameters towards 0 or infinity. */
    for (i = 0; i < nth; i++) {
        int mv;
        for (mv = 0; mv < 5; mv++) {
            memcpy(t1, theta, (size_t)nth * sizeof *t1);
            t1[i] += ev->g[i] > 0 ? -2.0 : 2.0;
            st = gcv_eval(w, t1, 0, &trial, err);
            if (st == ML_ESING) {
                st = ML_OK;
                break;
            }
            if (st)
                goto out;
            if (!(trial.V < ev->V))
                break;
            memcpy(theta, t1, (size_t)nth * sizeof *theta);
            st = eval_full(w, gcv_eval, 1, theta, ev, err);
            if (st)
                goto out;
        }
    }
    st = eval_full(w, gcv_eval, 1, theta, ev, err);
    snprintf(msg, msgcap, "%s after %d iterations", *converged ? "full convergence" :
             "no further progress", *iters);
out:
    free(step);
    free(t1);
    free(Hc);
    free(evl);
    eval_free(&trial);
    return st;
}

/* ---- non-Gaussian families: penalised IRLS and Laplace REML (section 8) ----- */

/* Digamma and trigamma by recurrence to x >= 10 and their asymptotic series
 * (Abramowitz & Stegun 6.3.18 and 6.4.12); accurate to ~1e-15 there. */
static double digamma_fn(double x)
{
    double r = 0.0, f;

    while (x < 10.0) {
        r -= 1.0 / x;
        x += 1.0;
    }
    f = 1.0 / (x * x);
    return r + log(x) - 0.5 / x -
           f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (1.0 / 132)))));
}

static double trigamma_fn(double x)
{
    double r = 0.0, f;

    while (x < 10.0) {
        r += 1.0 / (x * x);
        x += 1.0;
    }
    f = 1.0 / (x * x);
    return r + 1.0 / x + f / 2.0 +
           f / x * (1.0 / 6 - f * (1.0 / 30 - f * (1.0 / 42 - f * (1.0 / 30 - f * 5.0 / 66))));
}

/* Newton working weight w, its eta-derivatives w' and w'', and the
 * pseudo-data z at one observation (section 8.1 and the table of 10.3).
 * All four families here use a link for which the Newton weights are
 * positive, so mgcv's Fisher fallback never triggers. */
static void glm_weights(enum gam_family fam, enum gam_link link, double y, double eta,
                        double pw, double *wt, double *w1, double *w2, double *z)
{
    double mu = gam_linkinv(link, eta), v;

    if (fam == GAM_FAMILY_POISSON) {
        *wt = *w1 = *w2 = pw * mu;
        *z = eta + (y - mu) / mu;
    } else if (fam == GAM_FAMILY_BINOMIAL) {
        v = pw * mu * (1.0 - mu);
        *wt = v;
        *w1 = v * (1.0 - 2.0 * mu);
        *w2 = v * (1.0 - 6.0 * mu + 6.0 * mu * mu);
        *z = eta + (y - mu) / (mu * (1.0 - mu));
    } else if (link == GAM_LINK_LOG) { /* Gamma/log: alpha = y/mu */
        *wt = pw * y / mu;
        *w1 = -pw * y / mu;
        *w2 = pw * y / mu;
        *z = eta + (y - mu) / y;
    } else { /* Gamma/inverse (canonical) */
        *wt = pw / (eta * eta);
        *w1 = -2.0 * pw / (eta * eta * eta);
        *w2 = 6.0 * pw / (eta * eta * eta * eta);
        *z = eta - (y - mu) / (mu * mu);
    }
}

/* Saturated log-likelihood l_s(phi) and its first two phi-derivatives
 * (section 8.2 table; Gamma with phi_i = phi / pw_i). */
static void glm_saturated(const struct fitws *w, double phi, double *ls, double *d1, double *d2)
{
    const struct gam_data *d = w->d;
    size_t i;
    double s = 0.0, s1 = 0.0, s2 = 0.0;

    for (i = 0; i < d->n; i++) {
        double y = d->y[i], pw = d->w ? d->w[i] : 1.0;
        if (w->m->family == GAM_FAMILY_POISSON) {
            s += pw * ((y > 0 ? y * log(y) : 0.0) - y - lgamma(y + 1.0));
        } else if (w->m->family == GAM_FAMILY_BINOMIAL) {
            double k = pw * y;
            s += lgamma(pw + 1.0) - lgamma(k + 1.0) - lgamma(pw - k + 1.0) +
                 (y > 0 ? k * log(y) : 0.0) + (y < 1 ? (pw - k) * log(1.0 - y) : 0.0);
        } else {
            double ph = phi / pw, nu = 1.0 / ph, f, fd;
            s += -lgamma(nu) - log(ph) / ph - nu - log(y);
            f = (digamma_fn(nu) + log(ph)) / (ph * ph);
            fd = (-trigamma_fn(nu) / (ph * ph) + 1.0 / ph) / (ph * ph) -
                 2.0 * (digamma_fn(nu) + log(ph)) / (ph * ph * ph);
            s1 += f / pw;
            s2 += fd / (pw * pw);
        }
    }
    *ls = s;
    *d1 = s1;
    *d2 = s2;
}

static double glm_deviance(const struct fitws *w, const double *eta, int *valid)
{
    const struct gam_data *d = w->d;
    size_t i;
    double dev = 0.0;

    *valid = 1;
    for (i = 0; i < d->n; i++) {
        double mu = gam_linkinv(w->m->link, eta[i]);
        if (!gam_valid_mu(w->m->family, mu) ||
            (w->m->link == GAM_LINK_INVERSE && !(eta[i] > 0.0))) {
            *valid = 0;
            return INFINITY;
        }
        dev += gam_dev_resid(w->m->family, d->y[i], mu, d->w ? d->w[i] : 1.0);
    }
    return dev;
}

static double penalty_value(const struct fitws *w, const double *beta)
{
    double s = 0.0, *tmp = w->Ab;
    int j;

    for (j = 0; j < w->M; j++) {
        int off = w->poff[j], sz = w->psize[j];
        cblas_dsymv(CblasRowMajor, CblasUpper, sz, 1.0, w->S[j], sz, beta + off, 1, 0.0, tmp, 1);
        s += w->lambda[j] * cblas_ddot(sz, beta + off, 1, tmp, 1);
    }
    return s;
}

/* X'WX (W = weights wt) in the constrained layout into A, X'Wz into b if z. */
static enum ml_status glm_cross(struct fitws *w, const double *wt, const double *z, double *A,
                                double *b, struct ml_err *err)
{
    enum ml_status st = gam_accumulate(w->m, w->d, wt, z, w->Au, z ? w->bu : NULL,
                                       w->o->threads, err);
    if (st)
        return st;
    gam_constrain_matrix(w->m, w->Au, A);
    if (z)
        gam_constrain_vector(w->m, w->bu, b);
    return ML_OK;
}

/* Penalised IRLS at the current lambda (section 8.1), warm-started from the
 * last accepted outer iterate.  Full Newton weights; the step is halved
 * while the penalised deviance rises.  On return w->beta, w->eta hold the
 * fit, w->A is X'WX with the Newton weights at it, w->H its penalised
 * Cholesky factor, and w->wn/wp/wpp the weights and their derivatives. */
static enum ml_status pirls(struct fitws *w, double phi, double *dev_out, double *logdetH,
                            struct ml_err *err)
{
    const struct gam_data *d = w->d;
    size_t n = d->n, i;
    int it, p = w->p, h, valid;
    double pdev_cur, dev = 0.0, rss_unused;
    enum ml_status st;
    const double tol = w->o->pirls_tol;

    memcpy(w->eta, w->eta_warm, n * sizeof *w->eta);
    if (w->have_warm_beta) {
        memcpy(w->beta_cur, w->beta_warm, (size_t)p * sizeof *w->beta_cur);
        dev = glm_deviance(w, w->eta, &valid);
        pdev_cur = dev + penalty_value(w, w->beta_cur);
    } else {
        pdev_cur = INFINITY;
    }
    for (it = 0; it < w->o->pirls_max_iter; it++) {
        double dev_new, pdev_new;
        int conv;

        if (w->o->stop && *w->o->stop)
            ML_FAIL(err, ML_ESTOPPED, "stopped");
        for (i = 0; i < n; i++)
            glm_weights(w->m->family, w->m->link, d->y[i], w->eta[i], d->w ? d->w[i] : 1.0,
                        &w->wn[i], &w->wp[i], &w->wpp[i], &w->z[i]);
        st = glm_cross(w, w->wn, w->z, w->A, w->b, err);
        if (st)
            return st;
        st = solve_at(w, &rss_unused, logdetH, err);
        if (st)
            return st;
        st = gam_linear_predictor(w->m, d, w->beta, w->eta_new, w->o->threads, err);
        if (st)
            return st;
        dev_new = glm_deviance(w, w->eta_new, &valid);
        pdev_new = valid ? dev_new + penalty_value(w, w->beta) : INFINITY;
        for (h = 0; h < 30 && isfinite(pdev_cur) && !(pdev_new <= pdev_cur * (1.0 + 1e-14));
             h++) {
            for (i = 0; i < (size_t)p; i++)
                w->beta[i] = 0.5 * (w->beta[i] + w->beta_cur[i]);
            for (i = 0; i < n; i++)
                w->eta_new[i] = 0.5 * (w->eta_new[i] + w->eta[i]);
            dev_new = glm_deviance(w, w->eta_new, &valid);
            pdev_new = valid ? dev_new + penalty_value(w, w->beta) : INFINITY;
        }
        if (!isfinite(pdev_new))
            ML_FAIL(err, ML_EDOM,
                    "penalised IRLS left the %s family's domain (fitted mean invalid); try "
                    "another link", gam_family_name(w->m->family));
        conv = isfinite(pdev_cur) && fabs(pdev_new - pdev_cur) < tol * (fabs(phi) + fabs(pdev_new));
        memcpy(w->beta_cur, w->beta, (size_t)p * sizeof *w->beta);
        memcpy(w->eta, w->eta_new, n * sizeof *w->eta);
        pdev_cur = pdev_new;
        dev = dev_new;
        if (conv)
            break;
    }
    if (it == w->o->pirls_max_iter)
        ML_FAIL(err, ML_EMAXITER, "penalised IRLS did not converge in %d iterations",
                w->o->pirls_max_iter);
    /* The curvature at the fit itself: Newton weights at the final eta. */
    for (i = 0; i < n; i++)
        glm_weights(w->m->family, w->m->link, d->y[i], w->eta[i], d->w ? d->w[i] : 1.0,
                    &w->wn[i], &w->wp[i], &w->wpp[i], &w->z[i]);
    st = glm_cross(w, w->wn, NULL, w->A, NULL, err);
    if (st)
        return st;
    /* H = A + S_lambda and its Cholesky factor, at the converged beta. */
    st = factor_H(w, w->A, logdetH, "the penalised Hessian at the fit", err);
    if (st)
        return st;
    memcpy(w->beta, w->beta_cur, (size_t)p * sizeof *w->beta);
    *dev_out = dev;
    return ML_OK;
}

/* Fletcher's (2012) scale estimate with the Pearson statistic, and tau with
 * Fisher weights (equal to Newton weights for canonical links). */
static double fletcher_scale(const struct fitws *w, double tau)
{
    const struct gam_data *d = w->d;
    size_t i;
    double pearson = 0.0, sbar = 0.0;

    for (i = 0; i < d->n; i++) {
        double mu = gam_linkinv(w->m->link, w->eta[i]), y = d->y[i];
        double V = gam_variance(w->m->family, mu), Vd;
        double pw = d->w ? d->w[i] : 1.0;
        switch (w->m->family) {
        case GAM_FAMILY_POISSON: Vd = 1.0; break;
        case GAM_FAMILY_BINOMIAL: Vd = 1.0 - 2.0 * mu; break;
        case GAM_FAMILY_GAMMA: Vd = 2.0 * mu; break;
        default: Vd = 0.0; break;
        }
        pearson += pw * (y - mu) * (y - mu) / V;
        sbar += Vd * (y - mu) / V;
    }
    sbar = fmax(-0.9, sbar / (double)d->n);
    return pearson / ((double)d->n - tau) / (1.0 + sbar);
}


/* Laplace-approximate REML for a non-Gaussian family (section 8.2) with
 * exact derivatives through PIRLS (section 10.3, Wood 2011 appendix). */
static enum ml_status glm_reml_eval(struct fitws *w, const double *theta, int deriv,
                                    struct eval *ev, struct ml_err *err)
{
    const struct gam_data *d = w->d;
    int p = w->p, M = w->M, nth = w->nth, i, j, k, a;
    size_t r, n = d->n;
    double logphi, phi, dev = 0.0, logdetH = 0.0, logdetS = 0.0, dp, ls, ls1, ls2;
    double *bSb = w->bSb, *trHiS = w->trHiS, *trSpS = w->trSpS;
    enum ml_status st;

    theta_to_rho(w, theta, &logphi);
    phi = w->has_phi ? exp(logphi) : 1.0;
    st = pirls(w, phi, &dev, &logdetH, err);
    if (st)
        return st;
    dp = penalised_deviance(w, dev);
    st = log_det_S(w, &logdetS, err);
    if (st)
        return st;
    glm_saturated(w, phi, &ls, &ls1, &ls2);
    ev->phi = phi;
    ev->rss = dev;
    ev->dp = dp;
    ev->V = dp / (2.0 * phi) - ls + 0.5 * logdetH - 0.5 * logdetS -
            0.5 * w->Mp * log(2.0 * M_PI * phi);
    if (!deriv)
        return ML_OK;

    /* This is an accepted (or starting) point: later PIRLS runs start here. */
    memcpy(w->eta_warm, w->eta, n * sizeof *w->eta_warm);
    memcpy(w->beta_warm, w->beta, (size_t)p * sizeof *w->beta_warm);
    w->have_warm_beta = 1;

    st = inverse_H(w, err);
    if (st)
        return st;
    ev->tau = trace_HiA(w);
    ev->phi_tilde = fletcher_scale(w, ev->tau);
    st = gam_quad_form_rows(w->m, d, w->Hi, w->dq, w->o->threads, err);
    if (st)
        return st;
    for (j = 0; j < M; j++) {
        double tr = 0.0;
        penalty_derivatives(w, j);
        st = gam_linear_predictor(w->m, d, w->db + (size_t)j * p, w->etaj + (size_t)j * n,
                                  w->o->threads, err);
        if (st)
            return st;
        for (r = 0; r < n; r++)
            tr += w->wp[r] * w->etaj[(size_t)j * n + r] * w->dq[r];
        w->trHiHj[j] = tr + w->lambda[j] * trHiS[j];
    }
    for (i = 0; i < w->nfree; i++) {
        j = w->free_idx[i];
        ev->g[i] = w->lambda[j] * bSb[j] / (2.0 * phi) + 0.5 * w->trHiHj[j] -
                   0.5 * w->lambda[j] * trSpS[j];
    }
    if (w->has_phi)
        ev->g[w->nfree] = -dp / (2.0 * phi) - phi * ls1 - 0.5 * w->Mp;

    /* Second derivatives: X' diag(w' eta_j') X per penalty, K_j = Hi H_j. */
    for (i = 0; i < w->nfree; i++) {
        int c;
        j = w->free_idx[i];
        for (r = 0; r < n; r++)
            w->tmpn[r] = w->wp[r] * w->etaj[(size_t)j * n + r];
        st = glm_cross(w, w->tmpn, NULL, w->XVX + (size_t)j * p * p, NULL, err);
        if (st)
            return st;
        /* H_j (full symmetric) into XVX_j */
        {
            double *Hj = w->XVX + (size_t)j * p * p;
            for (a = 0; a < p; a++)
                for (c = 0; c < a; c++)
                    Hj[(size_t)a * p + c] = Hj[(size_t)c * p + a];
            add_penalty(w, j, Hj);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p, p, p, 1.0, w->Hi, p, Hj,
                        p, 0.0, w->K + (size_t)j * p * p, p);
        }
    }
    for (r = 0; r < n; r++) {
        w->tmpn[r] = w->wp[r] * w->dq[r];
        w->z[r] = 1.0;
    }
    st = glm_cross(w, w->tmpn, w->z, w->Hi2, w->v, err); /* v = X'(w' d) */
    if (st)
        return st;
    for (i = 0; i < w->nfree; i++) {
        j = w->free_idx[i];
        for (a = i; a < w->nfree; a++) {
            double *u = w->u, *bjk = w->bjk, trHjk = 0.0, trKK, trSS, bSdb, h;
            const double *Hk, *Kj, *Kk;
            int offj = w->poff[j], sj = w->psize[j], offk, sk, c, fail;
            k = w->free_idx[a];
            offk = w->poff[k];
            sk = w->psize[k];
            Hk = w->XVX + (size_t)k * p * p;
            /* u = H_k beta_j' + delta_jk lambda_j S_j beta + lambda_j S_j beta_k' */
            cblas_dgemv(CblasRowMajor, CblasNoTrans, p, p, 1.0, Hk, p, w->db + (size_t)j * p, 1,
                        0.0, u, 1);
            if (j == k)
                for (c = 0; c < sj; c++)
                    u[offj + c] += w->lambda[j] * w->Sb[(size_t)j * p + c];
            cblas_dsymv(CblasRowMajor, CblasUpper, sj, w->lambda[j], w->S[j], sj,
                        w->db + (size_t)k * p + offj, 1, 1.0, u + offj, 1);
            cblas_dsymv(CblasRowMajor, CblasUpper, p, -1.0, w->Hi, p, u, 1, 0.0, bjk, 1);
            for (r = 0; r < n; r++)
                trHjk += w->wpp[r] * w->etaj[(size_t)j * n + r] * w->etaj[(size_t)k * n + r] *
                         w->dq[r];
            trHjk += cblas_ddot(p, w->v, 1, bjk, 1);
            if (j == k)
                trHjk += w->lambda[j] * trHiS[j];
            Kj = w->K + (size_t)j * p * p;
            Kk = w->K + (size_t)k * p * p;
            trKK = trace_prod(Kj, Kk, p);
            trSS = trace_SS(w, j, k, err, &fail);
            if (fail)
                return ML_ENOMEM;
            bSdb = cblas_ddot(sj, w->Sb + (size_t)j * p, 1, w->db + (size_t)k * p + offj, 1);
            h = (2.0 * w->lambda[j] * bSdb) / (2.0 * phi) + 0.5 * (trHjk - trKK) +
                0.5 * w->lambda[j] * w->lambda[k] * trSS;
            if (j == k)
                h += w->lambda[j] * bSb[j] / (2.0 * phi) - 0.5 * w->lambda[j] * trSpS[j];
            (void)offk;
            (void)sk;
            ev->Hs[(size_t)i * nth + a] = ev->Hs[(size_t)a * nth + i] = h;
        }
        if (w->has_phi)
            ev->Hs[(size_t)i * nth + w->nfree] = ev->Hs[(size_t)w->nfree * nth + i] =
                -w->lambda[j] * bSb[j] / (2.0 * phi);
    }
    if (w->has_phi)
        ev->Hs[(size_t)w->nfree * nth + w->nfree] = dp / (2.0 * phi) - phi * phi * ls2 - phi * ls1;
    return ML_OK;
}


/* GCV / UBRE for a non-Gaussian family (mgcv "GCV.Cp"; section 7): with the
 * scale known (binomial, Poisson) UBRE V = D/n + 2 tau/n - 1, otherwise GCV
 * V = n D / (n - tau)^2, tau = tr((A_F + S)^-1 A_F) with Fisher weights, all
 * at the PIRLS fit.  Exact first and second derivatives through PIRLS, as
 * mgcv computes them (Wood 2008, JRSSB 70(3), section 3):
 *   D_j  = -2 beta' S beta_j'
 *   D_jk = 2 beta_k' A beta_j' - 2 beta' S beta_jk''
 *   tau_j  = tr(Hi A_j) - tr(Hi H_j Hi A)
 *   tau_jk = tr(Hi A_jk) - tr(K_k L_j) + tr(K_k K_j G) - tr(Hi H_jk Hi A)
 *            + tr(K_j K_k G) - tr(K_j L_k)
 * with A_j = X' diag(w' eta_j') X, H_j = A_j + lambda_j S_j, K_j = Hi H_j,
 * L_j = Hi A_j, G = Hi A, and traces of X' diag(v) X products taken row by
 * row with d_i = x_i' Hi x_i and e_i = x_i' Hi A Hi x_i.  For Gamma with the
 * log link the Fisher weights are the prior weights, so A_F is constant and
 * tau's derivatives only involve the penalties. */
static enum ml_status glm_gcv_eval(struct fitws *w, const double *theta, int deriv,
                                   struct eval *ev, struct ml_err *err)
{
    const struct gam_data *d = w->d;
    int p = w->p, M = w->M, nth = w->nth, i, j, k, a, c, ia;
    size_t r, n = d->n, pp = (size_t)p * p;
    double logphi, dev = 0.0, logdetH = 0.0, tau, nn = (double)n;
    int known = w->m->family != GAM_FAMILY_GAMMA;
    int fisher_const = w->m->family == GAM_FAMILY_GAMMA && w->m->link == GAM_LINK_LOG;
    enum ml_status st;
    double *AF = fisher_const ? w->AF : w->A;
    double *Af = w->Hi2;          /* full symmetric A_F */
    double *G = w->Gm;            /* HF A_F */
    double *Dj = w->trHiHj, *tj = w->trHiS; /* per penalty: D_j, tau_j */

    theta_to_rho(w, theta, &logphi);
    st = pirls(w, 1.0, &dev, &logdetH, err);
    if (st)
        return st;
    if (deriv) {
        memcpy(w->eta_warm, w->eta, n * sizeof *w->eta_warm);
        memcpy(w->beta_warm, w->beta, (size_t)p * sizeof *w->beta_warm);
        w->have_warm_beta = 1;
    }
    st = inverse_H(w, err); /* Newton Hi: d beta / d rho */
    if (st)
        return st;
    for (a = 0; a < p; a++)
        for (c = 0; c < p; c++)
            Af[(size_t)a * p + c] = a <= c ? AF[(size_t)a * p + c] : AF[(size_t)c * p + a];
    if (fisher_const) {
        double *HF = w->HF;
        memcpy(HF, Af, pp * sizeof *HF);
        for (j = 0; j < M; j++)
            add_penalty(w, j, HF);
        if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', p, HF, p) != 0 ||
            LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'U', p, HF, p) != 0)
            ML_FAIL(err, ML_ESING, "Fisher-weighted penalised Hessian is singular");
        for (a = 0; a < p; a++)
            for (c = a + 1; c < p; c++)
                HF[(size_t)c * p + a] = HF[(size_t)a * p + c];
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p, p, p, 1.0, HF, p, Af, p, 0.0,
                    G, p);
    } else {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p, p, p, 1.0, w->Hi, p, Af, p,
                    0.0, G, p);
    }
    tau = 0.0;
    for (a = 0; a < p; a++)
        tau += G[(size_t)a * p + a];
    ev->rss = dev;
    ev->tau = tau;
    ev->phi = 1.0;
    /* The scale in the score scale s of the Newton convergence test
     * (section 10.4) is, for GCV/UBRE, the deviance-based D/(n - tau): with
     * the Fletcher estimate the test fails at the point where mgcv 1.8-41
     * stops on a flat UBRE (the plant binomial case of test_gam_mgcv, whose
     * Newton path is otherwise identical to mgcv's score history), and
     * plantfit took one more step, 0.1 sd away. */
    ev->phi_tilde = dev / (nn - tau);
    ev->V = known ? dev / nn + 2.0 * tau / nn - 1.0 : nn * dev / ((nn - tau) * (nn - tau));
    if (!deriv)
        return ML_OK;

    /* u = S_lambda beta; beta_j' and eta_j' for every penalty. */
    memset(w->u, 0, (size_t)p * sizeof *w->u);
    for (j = 0; j < M; j++)
        cblas_dsymv(CblasRowMajor, CblasUpper, w->psize[j], w->lambda[j], w->S[j], w->psize[j],
                    w->beta + w->poff[j], 1, 1.0, w->u + w->poff[j], 1);
    for (j = 0; j < M; j++) {
        int off = w->poff[j], sz = w->psize[j];
        cblas_dsymv(CblasRowMajor, CblasUpper, sz, 1.0, w->S[j], sz, w->beta + off, 1, 0.0,
                    w->Sb + (size_t)j * p, 1);
        cblas_dgemv(CblasRowMajor, CblasNoTrans, p, sz, -w->lambda[j], w->Hi + off, p,
                    w->Sb + (size_t)j * p, 1, 0.0, w->db + (size_t)j * p, 1);
        Dj[j] = -2.0 * cblas_ddot(p, w->u, 1, w->db + (size_t)j * p, 1);
    }
    if (!fisher_const) {
        double *HiAHi = w->HF;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p, p, p, 1.0, G, p, w->Hi, p,
                    0.0, HiAHi, p);
        st = gam_quad_form_rows(w->m, d, w->Hi, w->dq, w->o->threads, err);
        if (st == ML_OK)
            st = gam_quad_form_rows(w->m, d, HiAHi, w->eq, w->o->threads, err);
        if (st)
            return st;
    }
    for (j = 0; j < M; j++) {
        int off = w->poff[j], sz = w->psize[j];
        double *Kj = w->K + (size_t)j * pp, *Lj = w->L + (size_t)j * pp, *Hj = w->XVX + (size_t)j * pp;
        if (fisher_const) {
            /* K_j = HF lambda_j S_j; tau_j = -tr(K_j G) */
            memset(Kj, 0, pp * sizeof *Kj);
            for (a = 0; a < p; a++)
                for (c = 0; c < sz; c++) {
                    double v = 0.0;
                    int e;
                    for (e = 0; e < sz; e++)
                        v += w->HF[(size_t)a * p + off + e] * w->S[j][e * sz + c];
                    Kj[(size_t)a * p + off + c] = w->lambda[j] * v;
                }
            tj[j] = -trace_prod(Kj, G, p);
            continue;
        }
        st = gam_linear_predictor(w->m, d, w->db + (size_t)j * p, w->etaj + (size_t)j * n,
                                  w->o->threads, err);
        if (st)
            return st;
        for (r = 0; r < n; r++)
            w->tmpn[r] = w->wp[r] * w->etaj[(size_t)j * n + r];
        st = glm_cross(w, w->tmpn, NULL, Hj, NULL, err); /* A_j */
        if (st)
            return st;
        for (a = 0; a < p; a++)
            for (c = 0; c < a; c++)
                Hj[(size_t)a * p + c] = Hj[(size_t)c * p + a];
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p, p, p, 1.0, w->Hi, p, Hj, p,
                    0.0, Lj, p);                                   /* L_j = Hi A_j */
        add_penalty(w, j, Hj);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p, p, p, 1.0, w->Hi, p, Hj, p,
                    0.0, Kj, p);                                   /* K_j = Hi H_j */
        {
            double t1 = 0.0;
            for (a = 0; a < p; a++)
                t1 += Lj[(size_t)a * p + a];
            tj[j] = t1 - trace_prod(Kj, G, p);
        }
    }
    for (i = 0; i < w->nfree; i++) {
        j = w->free_idx[i];
        ev->g[i] = known ? Dj[j] / nn + 2.0 * tj[j] / nn
                         : nn * (Dj[j] / ((nn - tau) * (nn - tau)) +
                                 2.0 * dev * tj[j] / ((nn - tau) * (nn - tau) * (nn - tau)));
    }

    /* Second derivatives.  For Gamma/log the Newton curvature A_k of the
     * PIRLS fit is not formed here; its Hessian comes from differences of
     * the exact gradient instead (newton() with fd set, see gam_fit). */
    if (fisher_const)
        return ML_OK;
    for (i = 0; i < w->nfree; i++) {
        j = w->free_idx[i];
        for (ia = i; ia < w->nfree; ia++) {
            double *uu = w->v, *bjk = w->bjk, Djk, tjk, t, h;
            int offj = w->poff[j], sj = w->psize[j];
            const double *Kj = w->K + (size_t)j * pp, *Kk;
            k = w->free_idx[ia];
            Kk = w->K + (size_t)k * pp;
            /* beta_jk'' = -Hi [H_k beta_j' + delta lambda_j S_j beta + lambda_j S_j beta_k'] */
            cblas_dgemv(CblasRowMajor, CblasNoTrans, p, p, 1.0, w->XVX + (size_t)k * pp, p,
                        w->db + (size_t)j * p, 1, 0.0, uu, 1);
            if (j == k)
                for (c = 0; c < sj; c++)
                    uu[offj + c] += w->lambda[j] * w->Sb[(size_t)j * p + c];
            cblas_dsymv(CblasRowMajor, CblasUpper, sj, w->lambda[j], w->S[j], sj,
                        w->db + (size_t)k * p + offj, 1, 1.0, uu + offj, 1);
            cblas_dsymv(CblasRowMajor, CblasUpper, p, -1.0, w->Hi, p, uu, 1, 0.0, bjk, 1);
            {
                double sA = 0.0, sE = 0.0;
                const double *Lj = w->L + (size_t)j * pp, *Lk = w->L + (size_t)k * pp;
                st = gam_linear_predictor(w->m, d, bjk, w->tmpn, w->o->threads, err);
                if (st)
                    return st;
                for (r = 0; r < n; r++) {
                    double v = w->wpp[r] * w->etaj[(size_t)j * n + r] * w->etaj[(size_t)k * n + r] +
                               w->wp[r] * w->tmpn[r];
                    sA += v * w->dq[r];
                    sE += v * w->eq[r];
                }
                cblas_dsymv(CblasRowMajor, CblasUpper, p, 1.0, w->A, p, w->db + (size_t)j * p, 1,
                            0.0, w->Ab, 1);
                Djk = 2.0 * cblas_ddot(p, w->db + (size_t)k * p, 1, w->Ab, 1) -
                      2.0 * cblas_ddot(p, w->u, 1, bjk, 1);
                t = sE;   /* tr(Hi A_jk Hi A) */
                if (j == k) {
                    /* + lambda_j tr(Hi S_j Hi A) = lambda_j sum over the block of S_j (Hi A Hi) */
                    double tS = 0.0;
                    int e;
                    for (a = 0; a < sj; a++)
                        for (e = 0; e < sj; e++)
                            tS += w->S[j][a * sj + e] * w->HF[(size_t)(offj + e) * p + offj + a];
                    t += w->lambda[j] * tS;
                }
                tjk = sA - trace_prod(Kk, Lj, p) + trace_prod3(Kk, Kj, G, p, w->tmp3) - t +
                      trace_prod3(Kj, Kk, G, p, w->tmp3) - trace_prod(Kj, Lk, p);
            }
            if (known) {
                h = Djk / nn + 2.0 * tjk / nn;
            } else {
                double u1 = nn - tau;
                h = nn * (Djk / (u1 * u1) + 2.0 * Dj[j] * tj[k] / (u1 * u1 * u1) +
                          2.0 * Dj[k] * tj[j] / (u1 * u1 * u1) + 2.0 * dev * tjk / (u1 * u1 * u1) +
                          6.0 * dev * tj[j] * tj[k] / (u1 * u1 * u1 * u1));
            }
            ev->Hs[(size_t)i * nth + ia] = ev->Hs[(size_t)ia * nth + i] = h;
        }
    }
    return ML_OK;
}

/* ---- driver ----------------------------------------------------------------- */

void gam_options_default(struct gam_options *o)
{
    memset(o, 0, sizeof *o);
    o->family = GAM_FAMILY_GAUSSIAN;
    o->link = GAM_LINK_IDENTITY;
    o->method = GAM_METHOD_REML;
    o->threads = 1;
    o->conv_tol = 1e-6;
    o->max_iter = 200;
    o->pirls_tol = 1e-8;
    o->pirls_max_iter = 200;
}

void gam_model_free(struct gam_model *m)
{
    size_t i, l;

    if (!m)
        return;
    free(m->formula);
    free(m->response);
    for (i = 0; i < m->nvars; i++) {
        free(m->vars[i].name);
        for (l = 0; l < m->vars[i].nlevels; l++)
            free(m->vars[i].levels[l]);
        free(m->vars[i].levels);
    }
    free(m->vars);
    for (i = 0; i < m->nterms; i++)
        free(m->terms[i].label);
    free(m->terms);
    for (i = 0; i < m->nsmooths; i++)
        gam_smooth_free(&m->smooths[i]);
    free(m->smooths);
    free(m->beta);
    free(m->Vp);
    free(m->edf);
    free(m->lambda);
    free(m);
}

static enum ml_status ws_init(struct fitws *w, const struct gam_model *m,
                              const struct gam_options *o, const struct gam_formula *f,
                              struct ml_err *err)
{
    int p = m->p, M = m->npen, j;
    size_t t;

    memset(w, 0, sizeof *w);
    w->m = m;
    w->o = o;
    w->p = p;
    w->M = M;
    w->A = calloc((size_t)p * p, sizeof *w->A);
    w->b = calloc((size_t)p, sizeof *w->b);
    w->poff = calloc((size_t)(M ? M : 1), sizeof *w->poff);
    w->psize = calloc((size_t)(M ? M : 1), sizeof *w->psize);
    w->S = calloc((size_t)(M ? M : 1), sizeof *w->S);
    w->free_idx = calloc((size_t)(M ? M : 1), sizeof *w->free_idx);
    w->rho = calloc((size_t)(M ? M : 1), sizeof *w->rho);
    w->lambda = calloc((size_t)(M ? M : 1), sizeof *w->lambda);
    w->H = calloc((size_t)p * p, sizeof *w->H);
    w->Hi = calloc((size_t)p * p, sizeof *w->Hi);
    w->beta = calloc((size_t)p, sizeof *w->beta);
    w->Ab = calloc((size_t)p, sizeof *w->Ab);
    w->Sb = calloc((size_t)p * (M ? M : 1), sizeof *w->Sb);
    w->db = calloc((size_t)p * (M ? M : 1), sizeof *w->db);
    w->T = calloc((size_t)p * p * (M ? M : 1), sizeof *w->T);
    w->bSb = calloc((size_t)(M ? M : 1), sizeof *w->bSb);
    w->trHiS = calloc((size_t)(M ? M : 1), sizeof *w->trHiS);
    w->trSpS = calloc((size_t)(M ? M : 1), sizeof *w->trSpS);
    if (!w->bSb || !w->trHiS || !w->trSpS || !w->A || !w->b || !w->poff || !w->psize || !w->S || !w->free_idx || !w->rho ||
        !w->lambda || !w->H || !w->Hi || !w->beta || !w->Ab || !w->Sb || !w->db || !w->T)
        ML_FAIL(err, ML_ENOMEM, "out of memory for a model with %d coefficients", p);
    for (j = 0; j < M; j++)
        gam_penalty(m, j, &w->poff[j], &w->psize[j], &w->S[j]);
    /* Fixed smoothing parameters: from options (all of them) or sp= in the
     * formula (per term; every copy of a by= term shares it). */
    for (j = 0; j < M; j++)
        w->rho[j] = NAN;
    if (o->method == GAM_METHOD_FIXED) {
        if (o->nsp != (size_t)M)
            ML_FAIL(err, ML_EINVAL, "fixed smoothing parameters: %zu given, the model has %d "
                    "penalties", o->nsp, M);
        for (j = 0; j < M; j++) {
            if (!(o->sp[j] >= 0.0) || !isfinite(o->sp[j]))
                ML_FAIL(err, ML_EINVAL, "fixed smoothing parameter %d = %g: expected a finite "
                        "number >= 0", j + 1, o->sp[j]);
            w->rho[j] = log(fmax(o->sp[j], DBL_MIN));
        }
    } else {
        size_t fi = 0;
        for (t = 0; t < f->nterms; t++) {
            const struct gam_term_spec *ts = &f->terms[t];
            size_t mt;
            if (ts->kind != GAM_TERM_S && ts->kind != GAM_TERM_TE)
                continue;
            /* model terms of this formula term: consecutive smooth terms */
            for (mt = 0; mt < m->nterms; mt++) {
                const struct gam_term *tm = &m->terms[mt];
                if (tm->smooth != (int)fi)
                    continue;
                if (ts->sp >= 0.0)
                    for (j = tm->pen0; j < tm->pen0 + tm->npen; j++)
                        w->rho[j] = log(fmax(ts->sp, DBL_MIN));
            }
            fi++;
        }
    }
    for (j = 0; j < M; j++)
        if (isnan(w->rho[j]))
            w->free_idx[w->nfree++] = j;
    /* The scale is a parameter of the REML criterion when it is unknown. */
    w->has_phi = o->method == GAM_METHOD_REML &&
                 (m->family == GAM_FAMILY_GAUSSIAN || m->family == GAM_FAMILY_GAMMA);
    w->nth = w->nfree + w->has_phi;
    w->Mp = m->Mp;
    return blocks_init(w, err);
}

static enum ml_status glm_alloc(struct fitws *w, size_t n, struct ml_err *err)
{
    int p = w->p, M = w->M ? w->M : 1, pu = gam_pu(w->m);

    w->eta = malloc(n * sizeof *w->eta);
    w->eta_new = malloc(n * sizeof *w->eta_new);
    w->eta_warm = malloc(n * sizeof *w->eta_warm);
    w->beta_warm = calloc((size_t)p, sizeof *w->beta_warm);
    w->beta_cur = calloc((size_t)p, sizeof *w->beta_cur);
    w->wn = malloc(n * sizeof *w->wn);
    w->wp = malloc(n * sizeof *w->wp);
    w->wpp = malloc(n * sizeof *w->wpp);
    w->z = malloc(n * sizeof *w->z);
    w->dq = malloc(n * sizeof *w->dq);
    w->etaj = malloc(n * (size_t)M * sizeof *w->etaj);
    w->tmpn = malloc(n * sizeof *w->tmpn);
    w->Au = malloc((size_t)pu * pu * sizeof *w->Au);
    w->bu = malloc((size_t)pu * sizeof *w->bu);
    w->XVX = calloc((size_t)p * p * M, sizeof *w->XVX);
    w->K = calloc((size_t)p * p * (M > 2 ? M : 2), sizeof *w->K);
    w->Hi2 = malloc((size_t)p * p * sizeof *w->Hi2);
    w->v = malloc((size_t)p * sizeof *w->v);
    w->u = malloc((size_t)p * sizeof *w->u);
    w->bjk = malloc((size_t)p * sizeof *w->bjk);
    w->trHiHj = calloc((size_t)M, sizeof *w->trHiHj);
    w->L = calloc((size_t)p * p * M, sizeof *w->L);
    w->Gm = calloc((size_t)p * p, sizeof *w->Gm);
    w->HF = calloc((size_t)p * p, sizeof *w->HF);
    w->tmp3 = calloc((size_t)p * p, sizeof *w->tmp3);
    w->eq = malloc(n * sizeof *w->eq);
    if (!w->L || !w->Gm || !w->HF || !w->tmp3 || !w->eq)
        ML_FAIL(err, ML_ENOMEM, "out of memory for %zu rows and %d coefficients", n, p);
    if (!w->eta || !w->eta_new || !w->eta_warm || !w->beta_warm || !w->beta_cur || !w->wn ||
        !w->wp || !w->wpp || !w->z || !w->dq || !w->etaj || !w->tmpn || !w->Au || !w->bu ||
        !w->XVX || !w->K || !w->Hi2 || !w->v || !w->u || !w->bjk || !w->trHiHj)
        ML_FAIL(err, ML_ENOMEM, "out of memory for %zu rows and %d coefficients", n, p);
    return ML_OK;
}

/* mgcv's mustart (section 8.1) and the initial X'W_0X for the starting
 * smoothing parameters (10.2). */
static enum ml_status glm_start(struct fitws *w, double *D0, struct ml_err *err)
{
    const struct gam_data *d = w->d;
    size_t i;
    double ybar = 0.0;

    for (i = 0; i < d->n; i++)
        ybar += d->y[i];
    ybar /= (double)d->n;
    *D0 = 0.0;
    for (i = 0; i < d->n; i++) {
        double y = d->y[i], pw = d->w ? d->w[i] : 1.0, mu, eta, me;
        switch (w->m->family) {
        case GAM_FAMILY_POISSON: mu = y + 0.1; break;
        case GAM_FAMILY_BINOMIAL: mu = (pw * y + 0.5) / (pw + 1.0); break;
        default: mu = y; break;
        }
        eta = gam_linkfun(w->m->link, mu);
        me = gam_mu_eta(w->m->link, eta);
        w->eta_warm[i] = eta;
        w->tmpn[i] = pw * me * me / gam_variance(w->m->family, mu);
        *D0 += gam_dev_resid(w->m->family, y, ybar, pw);
    }
    w->have_warm_beta = 0;
    return glm_cross(w, w->tmpn, NULL, w->A, NULL, err);
}

enum ml_status gam_fit(const struct ml_table *t, const char *formula,
                       const struct gam_options *o, struct gam_model **out,
                       struct ml_err *err)
{
    struct gam_formula f;
    struct gam_model *m = NULL;
    struct gam_data d;
    struct fitws w;
    struct eval ev;
    enum ml_status st;
    int pu = 0, p, i, j, iters = 0, converged = 0, gauss;
    double *Au = NULL, *bu = NULL, *theta = NULL, *eta = NULL, ybar = 0.0, D0 = 0.0;
    size_t r;
    char msg[128] = "";

    *out = NULL;
    memset(&w, 0, sizeof w);
    memset(&d, 0, sizeof d);
    memset(&ev, 0, sizeof ev);
    if (!gam_link_valid(o->family, o->link) ||
        (o->family == GAM_FAMILY_GAUSSIAN && o->link != GAM_LINK_IDENTITY))
        ML_FAIL(err, ML_EINVAL, "link \"%s\" is not available for the %s family",
                gam_link_name(o->link), gam_family_name(o->family));
    gauss = o->family == GAM_FAMILY_GAUSSIAN;
    st = gam_formula_parse(formula, &f, err);
    if (st)
        return st;
    m = calloc(1, sizeof *m);
    if (!m) {
        gam_formula_free(&f);
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    }
    st = gam_setup(t, &f, o, m, &d, err);
    if (st)
        goto done;
    p = m->p;
    pu = gam_pu(m);
    Au = malloc((size_t)pu * pu * sizeof *Au);
    bu = malloc((size_t)pu * sizeof *bu);
    eta = malloc(d.n * sizeof *eta);
    if (!Au || !bu || !eta) {
        st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
        goto done;
    }
    /* The first data pass completes the s() smooths (gam_setup leaves
     * their constraint and penalty scale to it); for a Gaussian fit it is
     * also the only pass building X'X and X'y (W = prior weights = 1 here). */
    st = gam_finish_pass(m, &d, d.w, gauss ? d.y : NULL, gauss ? Au : NULL, gauss ? bu : NULL,
                         o->threads, err);
    if (st)
        goto done;
    st = ws_init(&w, m, o, &f, err);
    if (st)
        goto done;
    w.d = &d;
    w.n = (double)d.n;
    for (r = 0; r < d.n; r++)
        ybar += d.y[r];
    ybar /= (double)d.n;

    if (gauss) {
        gam_constrain_matrix(m, Au, w.A);
        gam_constrain_vector(m, bu, w.b);
        w.yy = 0.0;
        w.sumlogw = 0.0;
        for (r = 0; r < d.n; r++) {
            w.yy += d.y[r] * d.y[r];
            D0 += (d.y[r] - ybar) * (d.y[r] - ybar);
        }
    } else {
        st = glm_alloc(&w, d.n, err);
        if (st == ML_OK)
            st = glm_start(&w, &D0, err);
        if (st)
            goto done;
    }

    theta = calloc((size_t)(w.nth ? w.nth : 1), sizeof *theta);
    if (!theta || !eval_alloc(&ev, w.nth)) {
        st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
        goto done;
    }
    {
        double *rho0 = calloc((size_t)(w.M ? w.M : 1), sizeof *rho0);
        if (!rho0) {
            st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
            goto done;
        }
        initial_sp(&w, rho0);
        for (i = 0; i < w.nfree; i++)
            theta[i] = rho0[w.free_idx[i]];
        free(rho0);
        if (w.has_phi)
            theta[w.nfree] = log(fmax(D0, DBL_MIN) / (10.0 * (double)d.n));
    }
    if (!gauss) {
        if (o->method == GAM_METHOD_GCV && o->family == GAM_FAMILY_GAMMA &&
            o->link == GAM_LINK_LOG) {
            for (r = 0; r < d.n; r++)
                w.tmpn[r] = d.w ? d.w[r] : 1.0;
            w.AF = malloc((size_t)p * p * sizeof *w.AF);
            if (!w.AF) {
                st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
                goto done;
            }
            st = glm_cross(&w, w.tmpn, NULL, w.AF, NULL, err);
            if (st)
                goto done;
        }
        if (o->method == GAM_METHOD_FIXED) {
            st = glm_reml_eval(&w, theta, 1, &ev, err);
            converged = 1;
            snprintf(msg, sizeof msg, "smoothing parameters fixed");
        } else if (o->method == GAM_METHOD_GCV) {
            st = newton(&w, glm_gcv_eval,
                        o->family == GAM_FAMILY_GAMMA && o->link == GAM_LINK_LOG, theta, &ev,
                        &iters, &converged, msg, sizeof msg, err);
        } else {
            st = newton(&w, glm_reml_eval, 0, theta, &ev, &iters, &converged, msg, sizeof msg,
                        err);
        }
        if (st == ML_OK)
            st = o->method == GAM_METHOD_GCV ? glm_gcv_eval(&w, theta, 1, &ev, err)
                                             : glm_reml_eval(&w, theta, 1, &ev, err);
        if (st == ML_OK && o->method == GAM_METHOD_GCV)
            st = inverse_H(&w, err); /* EDF/Vp below from the Newton (= Fisher) weights */
    } else if (o->method == GAM_METHOD_REML) {
        st = newton(&w, reml_eval, 0, theta, &ev, &iters, &converged, msg, sizeof msg, err);
    } else if (o->method == GAM_METHOD_GCV) {
        st = magic(&w, theta, &ev, &iters, &converged, msg, sizeof msg, err);
    } else {
        st = reml_eval(&w, theta, 1, &ev, err);
        converged = 1;
        snprintf(msg, sizeof msg, "smoothing parameters fixed");
    }
    if (st)
        goto done;
    /* Make sure the workspace holds the final point with H^-1. */
    if (gauss)
        st = o->method == GAM_METHOD_GCV ? gcv_eval(&w, theta, 1, &ev, err)
                                         : reml_eval(&w, theta, 1, &ev, err);
    if (st)
        goto done;

    /* EDF and Vp use Fisher weights (section 8.4): the same as the Newton
     * weights except for Gamma with the log link, where W_F = prior weights. */
    if (!gauss && o->family == GAM_FAMILY_GAMMA && o->link == GAM_LINK_LOG) {
        for (r = 0; r < d.n; r++)
            w.tmpn[r] = d.w ? d.w[r] : 1.0;
        st = glm_cross(&w, w.tmpn, NULL, w.A, NULL, err);
        if (st == ML_OK) {
            double logdet_unused;
            st = factor_H(&w, w.A, &logdet_unused, "the Fisher-weighted penalised Hessian", err);
        }
        if (st == ML_OK)
            st = inverse_H(&w, err);
        if (st)
            goto done;
    }

    /* Results. */
    m->beta = malloc((size_t)p * sizeof *m->beta);
    m->Vp = malloc((size_t)p * p * sizeof *m->Vp);
    m->edf = malloc((size_t)p * sizeof *m->edf);
    m->lambda = malloc((size_t)(w.M ? w.M : 1) * sizeof *m->lambda);
    if (!m->beta || !m->Vp || !m->edf || !m->lambda) {
        st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
        goto done;
    }
    memcpy(m->beta, w.beta, (size_t)p * sizeof *m->beta);
    memcpy(m->lambda, w.lambda, (size_t)w.M * sizeof *m->lambda);
    m->edf_total = 0.0;
    for (i = 0; i < p; i++) {
        double e = 0.0;
        for (j = 0; j < p; j++) {
            double Aji = j <= i ? w.A[(size_t)j * p + i] : w.A[(size_t)i * p + j];
            e += w.Hi[(size_t)i * p + j] * Aji;
        }
        m->edf[i] = e;
        m->edf_total += e;
    }
    for (r = 0; r < m->nterms; r++) {
        struct gam_term *tm = &m->terms[r];
        tm->edf = 0.0;
        for (i = tm->col0; i < tm->col0 + tm->ncol; i++)
            tm->edf += m->edf[i];
    }
    /* Exact residuals from a final pass (the quadratic-form RSS used during
     * the Gaussian search loses digits when RSS << y'y). */
    st = gam_linear_predictor(m, &d, m->beta, eta, o->threads, err);
    if (st)
        goto done;
    {
        double dev = 0.0, null_dev = 0.0, rmean = 0.0, rvar = 0.0, yvar = 0.0, wsum = 0.0,
               ywm = 0.0;
        for (r = 0; r < d.n; r++) {
            double pw = d.w ? d.w[r] : 1.0;
            wsum += pw;
            ywm += pw * d.y[r];
        }
        ywm /= wsum;
        if (o->fitted_out) {
            for (r = 0; r < t->nrow; r++)
                o->fitted_out[r] = NAN;
            for (r = 0; r < d.n; r++)
                o->fitted_out[d.rows[r]] = gam_linkinv(m->link, eta[r]);
        }
        /* Residual variance in two passes (mean, then squared deviations)
         * rather than Welford's update, which divides once per row. */
        for (r = 0; r < d.n; r++) {
            double pw = d.w ? d.w[r] : 1.0, mu = gam_linkinv(m->link, eta[r]);
            dev += gam_dev_resid(m->family, d.y[r], mu, pw);
            null_dev += gam_dev_resid(m->family, d.y[r], ywm, pw);
            rmean += d.y[r] - mu;
            yvar += (d.y[r] - ybar) * (d.y[r] - ybar);
        }
        rmean /= (double)d.n;
        for (r = 0; r < d.n; r++) {
            double e = d.y[r] - gam_linkinv(m->link, eta[r]) - rmean;
            rvar += e * e;
        }
        m->deviance = dev;
        m->null_deviance = null_dev;
        m->dev_explained = null_dev > 0 ? (null_dev - dev) / null_dev : 0.0;
        /* mgcv summary.gam: 1 - var(residuals) (n - 1) / (var(y) (n - edf)) */
        m->r2_adj = yvar > 0 ? 1.0 - rvar * (double)(d.n - 1) /
                                         (yvar * ((double)d.n - m->edf_total))
                             : 0.0;
        if (gauss)
            m->scale = dev / ((double)d.n - m->edf_total);
        else if (o->family == GAM_FAMILY_GAMMA) {
            memcpy(w.eta, eta, d.n * sizeof *eta);
            m->scale = fletcher_scale(&w, m->edf_total);
        } else
            m->scale = 1.0;
    }
    m->reml_scale = o->method == GAM_METHOD_REML && w.has_phi ? ev.phi : m->scale;
    m->score = ev.V;
    for (i = 0; i < p * p; i++)
        m->Vp[i] = w.Hi[i] * m->scale;
    m->iterations = iters;
    m->converged = converged;
    snprintf(m->convergence_msg, sizeof m->convergence_msg, "%s", msg);

done:
    free(Au);
    free(bu);
    free(theta);
    free(eta);
    eval_free(&ev);
    ws_free(&w);
    gam_data_free(&d, m ? m->nvars : 0);
    gam_formula_free(&f);
    if (st) {
        gam_model_free(m);
        return st;
    }
    *out = m;
    return ML_OK;
}
