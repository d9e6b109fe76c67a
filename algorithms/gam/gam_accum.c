/* gam_accum.c: the data passes of a GAM fit -- weighted cross-products
 * X'WX and X'Wz, linear predictors and per-row quadratic forms -- computed
 * from sparse unconstrained rows without ever forming the n x p design.
 *
 * An s() term contributes `order` (4 for cubic) non-zeros to a row, so a row
 * of a model with s smooths has about 4s + (parametric) non-zeros and its
 * outer product costs O((4s)^2), independent of the basis sizes.
 *
 * Determinism: rows are split into a fixed number of chunks that depends on
 * n only; each chunk is summed into its own buffer and the buffers are added
 * in chunk order, so the result is bit-identical whatever the thread count.
 * (Fixed-order summation; threads only change who computes which chunk.) */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gam_impl.h"

#define CHUNK_ROWS_MIN 32768
#define CHUNKS_MAX 16

static size_t nchunks_for(size_t n)
{
    size_t c = n / CHUNK_ROWS_MIN;
    return c < 1 ? 1 : c > CHUNKS_MAX ? CHUNKS_MAX : c;
}

enum pass_kind { PASS_XWX, PASS_ETA, PASS_QUAD };

struct pass {
    enum pass_kind kind;
    const struct gam_model *m;
    const struct gam_data *d;
    const double *wt, *z;       /* XWX */
    const double *beta_u;       /* ETA: unconstrained coefficients */
    const double *M_u;          /* QUAD: P_u x P_u full */
    double *out;                /* ETA/QUAD: n outputs */
    int pu, maxnnz;
    size_t nchunks;
    double **bufA, **bufb;      /* XWX: per-chunk partial sums */
    size_t next;                /* next chunk to take (under lock) */
    pthread_mutex_t lock;
    int failed;
};

static void point(const struct gam_model *m, const struct gam_data *d, size_t i, double *xv)
{
    size_t v;

    for (v = 0; v < m->nvars; v++)
        xv[v] = d->x[v][i];
}

static void run_chunk(struct pass *ps, size_t c, double *vals, int *idx, double *xv)
{
    const struct gam_model *m = ps->m;
    const struct gam_data *d = ps->d;
    size_t lo = d->n * c / ps->nchunks, hi = d->n * (c + 1) / ps->nchunks, i;
    int pu = ps->pu, a, b, nnz;

    for (i = lo; i < hi; i++) {
        point(m, d, i, xv);
        nnz = gam_row_sparse(m, xv, vals, idx);
        switch (ps->kind) {
        case PASS_XWX: {
            /* The row's non-zeros come in contiguous runs (an s() term's
             * `order` B-splines, a te() block, single parametric columns):
             * update X'WX block by block, each inner loop a contiguous
             * stretch of one row of A, which the compiler vectorises. */
            double *A = ps->bufA[c], *bv = ps->bufb ? ps->bufb[c] : NULL;
            double w = ps->wt ? ps->wt[i] : 1.0;
            int seg0[512], seglen[512], nseg = 0, sa, sb, q;
            for (a = 0; a < nnz; a++) {
                if (nseg > 0 && nseg < 512 && idx[a] == idx[a - 1] + 1 &&
                    a - seg0[nseg - 1] == seglen[nseg - 1]) {
                    seglen[nseg - 1]++;
                } else if (nseg < 512) {
                    seg0[nseg] = a;
                    seglen[nseg] = 1;
                    nseg++;
                } else {
                    seglen[nseg - 1]++; /* cannot happen: rows have < 512 runs */
                }
            }
            for (sa = 0; sa < nseg; sa++) {
                const double *va = vals + seg0[sa];
                int la = seglen[sa], ca = idx[seg0[sa]];
                for (q = 0; q < la; q++) {
                    double wa = w * va[q];
                    double *Arow = A + (size_t)(ca + q) * pu;
                    if (bv)
                        bv[ca + q] += wa * ps->z[i];
                    for (sb = sa; sb < nseg; sb++) {
                        const double *vb = vals + seg0[sb];
                        double *dst = Arow + idx[seg0[sb]];
                        int lb = seglen[sb], r;
                        if (lb == 4) { /* cubic s(): the common case, unrolled */
                            dst[0] += wa * vb[0];
                            dst[1] += wa * vb[1];
                            dst[2] += wa * vb[2];
                            dst[3] += wa * vb[3];
                        } else {
                            for (r = 0; r < lb; r++)
                                dst[r] += wa * vb[r];
                        }
                    }
                }
            }
            break;
        }
        case PASS_ETA: {
            double s = 0.0;
            for (a = 0; a < nnz; a++)
                s += vals[a] * ps->beta_u[idx[a]];
            ps->out[i] = s;
            break;
        }
        case PASS_QUAD: {
            double s = 0.0;
            for (a = 0; a < nnz; a++) {
                const double *Mrow = ps->M_u + (size_t)idx[a] * pu;
                double t = 0.0;
                for (b = 0; b < nnz; b++)
                    t += Mrow[idx[b]] * vals[b];
                s += vals[a] * t;
            }
            ps->out[i] = s;
            break;
        }
        }
    }
}

static void *worker(void *arg)
{
    struct pass *ps = arg;
    double *vals = malloc((size_t)ps->maxnnz * sizeof *vals);
    int *idx = malloc((size_t)ps->maxnnz * sizeof *idx);
    double *xv = malloc((ps->m->nvars ? ps->m->nvars : 1) * sizeof *xv);

    if (!vals || !idx || !xv) {
        pthread_mutex_lock(&ps->lock);
        ps->failed = 1;
        pthread_mutex_unlock(&ps->lock);
    } else {
        for (;;) {
            size_t c;
            pthread_mutex_lock(&ps->lock);
            c = ps->next++;
            pthread_mutex_unlock(&ps->lock);
            if (c >= ps->nchunks)
                break;
            run_chunk(ps, c, vals, idx, xv);
        }
    }
    free(vals);
    free(idx);
    free(xv);
    return NULL;
}

static enum ml_status run_pass(struct pass *ps, int threads, struct ml_err *err)
{
    pthread_t tid[64];
    int t, started = 0;

    ps->pu = gam_pu(ps->m);
    ps->maxnnz = gam_row_max_nnz(ps->m);
    ps->next = 0;
    ps->failed = 0;
    pthread_mutex_init(&ps->lock, NULL);
    if (threads < 1)
        threads = 1;
    if (threads > 64)
        threads = 64;
    if ((size_t)threads > ps->nchunks)
        threads = (int)ps->nchunks;
    for (t = 1; t < threads; t++) {
        if (pthread_create(&tid[t], NULL, worker, ps) != 0)
            break;
        started++;
    }
    worker(ps);
    for (t = 1; t <= started; t++)
        pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&ps->lock);
    if (ps->failed)
        ML_FAIL(err, ML_ENOMEM, "out of memory in a data pass");
    return ML_OK;
}

enum ml_status gam_accumulate(const struct gam_model *m, const struct gam_data *d,
                              const double *wt, const double *z, double *Au, double *bu,
                              int threads, struct ml_err *err)
{
    struct pass ps;
    int pu = gam_pu(m);
    size_t c, k, psq = (size_t)pu * (size_t)pu;
    enum ml_status st;

    memset(&ps, 0, sizeof ps);
    ps.kind = PASS_XWX;
    ps.m = m;
    ps.d = d;
    ps.wt = wt;
    ps.z = z;
    ps.nchunks = nchunks_for(d->n);
    ps.bufA = calloc(ps.nchunks, sizeof *ps.bufA);
    ps.bufb = z ? calloc(ps.nchunks, sizeof *ps.bufb) : NULL;
    if (!ps.bufA || (z && !ps.bufb)) {
        free(ps.bufA);
        free(ps.bufb);
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    }
    st = ML_OK;
    for (c = 0; c < ps.nchunks && st == ML_OK; c++) {
        ps.bufA[c] = calloc(psq, sizeof(double));
        if (z)
            ps.bufb[c] = calloc((size_t)pu, sizeof(double));
        if (!ps.bufA[c] || (z && !ps.bufb[c]))
            st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__,
                         "out of memory for %zu partial %d x %d cross-products", ps.nchunks, pu,
                         pu);
    }
    if (st == ML_OK)
        st = run_pass(&ps, threads, err);
    if (st == ML_OK) {
        memset(Au, 0, psq * sizeof *Au);
        if (bu)
            memset(bu, 0, (size_t)pu * sizeof *bu);
        for (c = 0; c < ps.nchunks; c++) {
            for (k = 0; k < psq; k++)
                Au[k] += ps.bufA[c][k];
            if (z && bu)
                for (k = 0; k < (size_t)pu; k++)
                    bu[k] += ps.bufb[c][k];
        }
    }
    for (c = 0; c < ps.nchunks; c++) {
        free(ps.bufA[c]);
        if (ps.bufb)
            free(ps.bufb[c]);
    }
    free(ps.bufA);
    free(ps.bufb);
    return st;
}

/* beta_u = Zb beta: constrained coefficients to the unconstrained layout. */
void gam_expand_vector(const struct gam_model *m, const double *v, double *vu)
{
    size_t i;
    int uoff = 0;

    for (i = 0; i < m->nterms; i++) {
        const struct gam_term *t = &m->terms[i];
        if (t->smooth >= 0) {
            gam_smooth_Z_vec(&m->smooths[t->smooth], v + t->col0, vu + uoff);
            uoff += m->smooths[t->smooth].p_u;
        } else {
            memcpy(vu + uoff, v + t->col0, (size_t)t->ncol * sizeof *vu);
            uoff += t->ncol;
        }
    }
}

enum ml_status gam_linear_predictor(const struct gam_model *m, const struct gam_data *d,
                                    const double *beta, double *eta, int threads,
                                    struct ml_err *err)
{
    struct pass ps;
    enum ml_status st;
    double *bu = malloc((size_t)gam_pu(m) * sizeof *bu);

    if (!bu)
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    gam_expand_vector(m, beta, bu);
    memset(&ps, 0, sizeof ps);
    ps.kind = PASS_ETA;
    ps.m = m;
    ps.d = d;
    ps.beta_u = bu;
    ps.out = eta;
    ps.nchunks = nchunks_for(d->n);
    st = run_pass(&ps, threads, err);
    free(bu);
    return st;
}

enum ml_status gam_quad_form_rows(const struct gam_model *m, const struct gam_data *d,
                                  const double *M, double *q, int threads, struct ml_err *err)
{
    struct pass ps;
    enum ml_status st;
    int pu = gam_pu(m), p = m->p, a, b;
    double *Mu = malloc((size_t)pu * (size_t)pu * sizeof *Mu);
    double *tmp = malloc((size_t)p * (size_t)pu * sizeof *tmp);
    double *colp = malloc((size_t)p * sizeof *colp), *colu = malloc((size_t)pu * sizeof *colu);

    if (!Mu || !tmp || !colp || !colu) {
        free(Mu);
        free(tmp);
        free(colp);
        free(colu);
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    }
    /* M_u = Zb M Zb': expand the rows of M, then the columns. */
    for (a = 0; a < p; a++)
        gam_expand_vector(m, M + (size_t)a * p, tmp + (size_t)a * pu); /* tmp = M Zb' (p x pu) */
    for (b = 0; b < pu; b++) {
        for (a = 0; a < p; a++)
            colp[a] = tmp[(size_t)a * pu + b];
        gam_expand_vector(m, colp, colu);
        for (a = 0; a < pu; a++)
            Mu[(size_t)a * pu + b] = colu[a];
    }
    memset(&ps, 0, sizeof ps);
    ps.kind = PASS_QUAD;
    ps.m = m;
    ps.d = d;
    ps.M_u = Mu;
    ps.out = q;
    ps.nchunks = nchunks_for(d->n);
    st = run_pass(&ps, threads, err);
    free(Mu);
    free(tmp);
    free(colp);
    free(colu);
    return st;
}
