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
#include <math.h>
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

#define BLOCK_ROWS 256

enum pass_kind { PASS_XWX, PASS_ETA, PASS_QUAD, PASS_STATS };

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
    /* Smooth statistics (gam_finish_pass): for each pending smooth j,
     * stat_term[j] is the first term using it (-1 when none is pending),
     * and per chunk c its column sums at scol[c] + soff[j] and its largest
     * absolute row sum at sbn[c][j]. */
    int stats;
    int *stat_term, *soff;
    double **scol, **sbn;
    size_t next;                /* next chunk to take (under lock) */
    pthread_mutex_t lock;
    int failed;
};

/* One term's share of the rows of a block: every row gets L values for the
 * columns first[r] .. first[r] + L - 1 (unconstrained layout), or none when
 * the term is absent from the row (a by= smooth of another level, the
 * reference level of a factor).  Rows are built a term (a column of the
 * data) at a time, so the B-spline evaluation is one tight loop per block
 * instead of a call per row and term. */
struct tslot {
    int L, off;
    int *first;                 /* BLOCK_ROWS */
    unsigned char *on;          /* BLOCK_ROWS */
    double *v;                  /* BLOCK_ROWS * L, row-major */
};

struct blockws {
    size_t nt;
    struct tslot *ts;
    double *tev;                /* te() scratch: maxnnz values */
    int *tei;                   /* and indices */
};

static void blockws_free(struct blockws *b)
{
    size_t t;

    if (b->ts)
        for (t = 0; t < b->nt; t++) {
            free(b->ts[t].first);
            free(b->ts[t].on);
            free(b->ts[t].v);
        }
    free(b->ts);
    free(b->tev);
    free(b->tei);
    memset(b, 0, sizeof *b);
}

static int blockws_init(struct blockws *b, const struct gam_model *m, int maxnnz)
{
    size_t t;
    int off = 0;

    memset(b, 0, sizeof *b);
    b->nt = m->nterms;
    b->ts = calloc(m->nterms ? m->nterms : 1, sizeof *b->ts);
    b->tev = malloc((size_t)(maxnnz > 0 ? maxnnz : 1) * sizeof *b->tev);
    b->tei = malloc((size_t)(maxnnz > 0 ? maxnnz : 1) * sizeof *b->tei);
    if (!b->ts || !b->tev || !b->tei)
        return -1;
    for (t = 0; t < m->nterms; t++) {
        const struct gam_term *tm = &m->terms[t];
        struct tslot *sl = &b->ts[t];
        sl->L = tm->smooth >= 0 ? m->smooths[tm->smooth].nnz : 1;
        sl->off = off;
        off += tm->smooth >= 0 ? m->smooths[tm->smooth].p_u : tm->ncol;
        sl->first = malloc(BLOCK_ROWS * sizeof *sl->first);
        sl->on = malloc(BLOCK_ROWS);
        sl->v = malloc((size_t)BLOCK_ROWS * (size_t)sl->L * sizeof *sl->v);
        if (!sl->first || !sl->on || !sl->v)
            return -1;
    }
    return 0;
}

/* Rows lo .. lo + cnt - 1 of the data into the term slots; the values are
 * exactly those gam_row_sparse gives, in the same column order. */
static void fill_block(const struct gam_model *m, const struct gam_data *d, size_t lo,
                       size_t cnt, struct blockws *b)
{
    size_t t, r;
    int a;

    for (t = 0; t < m->nterms; t++) {
        const struct gam_term *tm = &m->terms[t];
        struct tslot *sl = &b->ts[t];

        if (tm->smooth >= 0) {
            const struct gam_smooth *sm = &m->smooths[tm->smooth];
            if (sm->kind == GAM_SMOOTH_TE) {
                double sx[GAM_MAX_MARGINS];
                for (r = 0; r < cnt; r++) {
                    for (a = 0; a < tm->nvar; a++)
                        sx[a] = d->x[tm->var[a]][lo + r];
                    gam_smooth_row(sm, sx, b->tev, b->tei);
                    /* te rows are dense: indices 0 .. p_u - 1 in order */
                    memcpy(sl->v + r * (size_t)sl->L, b->tev, (size_t)sl->L * sizeof *sl->v);
                    sl->first[r] = sl->off;
                }
            } else {
                bspl_eval_many(&sm->margin[0], d->x[tm->var[0]] + lo, cnt, sl->v, sl->first);
                for (r = 0; r < cnt; r++)
                    sl->first[r] += sl->off;
            }
            if (tm->by_var < 0) {
                memset(sl->on, 1, cnt);
            } else {
                const double *g = d->x[tm->by_var] + lo;
                for (r = 0; r < cnt; r++)
                    sl->on[r] = (int)g[r] == tm->by_level;
            }
        } else if (tm->kind == GAM_TERM_FACTOR) {
            const double *g = d->x[tm->var[0]] + lo;
            for (r = 0; r < cnt; r++) {
                int lev = (int)g[r];
                sl->on[r] = lev >= tm->first_level;
                sl->first[r] = sl->off + lev - tm->first_level;
                sl->v[r] = 1.0;
            }
        } else {
            for (r = 0; r < cnt; r++) {
                sl->on[r] = 1;
                sl->first[r] = sl->off;
                sl->v[r] = tm->nvar == 0 ? 1.0 : d->x[tm->var[0]][lo + r];
            }
        }
    }
}

/* X'WX and X'Wz contributions of one block of rows, term pair by term
 * pair: for the pair (s, t), A[fa + q][fb + c] += (w va[q]) vb[c] for every
 * row of the block in turn.  Going pair-major keeps the A sub-block one pair
 * touches (k_s x k_t, 3 KB for two k = 20 smooths) in L1 while the block's
 * rows stream past; row-major order visited the whole P_u x P_u matrix (L2)
 * for every row.  Every element of A belongs to one pair and receives its
 * additions in row order, so the sums are bit for bit those of a
 * row-at-a-time loop.  Built for AVX2 and for the x86-64 baseline: neither
 * uses FMA, so products and sums round alike and results do not depend on
 * the CPU. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__)
#define PF_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define PF_CLONES
#endif

/* Four doubles as one value (GCC/Clang vector extension): one AVX register,
 * or two SSE2 ones in the baseline build; loaded and stored with memcpy, so
 * no alignment is assumed. */
typedef double v4d __attribute__((vector_size(32)));

PF_CLONES
static void xwx_block(const struct blockws *b, size_t cnt, const double *w, const double *z,
                      double *A, double *bv, int pu)
{
    size_t r, s, t, nt = b->nt;
    int q, c;

    for (s = 0; s < nt; s++) {
        const struct tslot *sa = &b->ts[s];
        int la = sa->L;
        if (bv)
            for (r = 0; r < cnt; r++) {
                const double *va = sa->v + r * (size_t)la;
                double wr = w ? w[r] : 1.0;
                if (!sa->on[r])
                    continue;
                for (q = 0; q < la; q++)
                    bv[sa->first[r] + q] += (wr * va[q]) * z[r];
            }
        for (t = s; t < nt; t++) {
            const struct tslot *sb = &b->ts[t];
            int lb = sb->L;
            if (la == 4 && lb == 4) { /* two cubic s() terms: the common case */
                for (r = 0; r < cnt; r++) {
                    const double *va = sa->v + 4 * r, *vb = sb->v + 4 * r;
                    double wr = w ? w[r] : 1.0;
                    double *dst = A + (size_t)sa->first[r] * pu + sb->first[r];
                    v4d b4, d4;
                    if (!(sa->on[r] & sb->on[r]))
                        continue;
                    memcpy(&b4, vb, sizeof b4);
                    for (q = 0; q < 4; q++, dst += pu) {
                        double wa = wr * va[q];
                        memcpy(&d4, dst, sizeof d4);
                        d4 += wa * b4;
                        memcpy(dst, &d4, sizeof d4);
                    }
                }
            } else {
                for (r = 0; r < cnt; r++) {
                    const double *va = sa->v + r * (size_t)la, *vb = sb->v + r * (size_t)lb;
                    double wr = w ? w[r] : 1.0;
                    double *dst = A + (size_t)sa->first[r] * pu + sb->first[r];
                    if (!(sa->on[r] & sb->on[r]))
                        continue;
                    for (q = 0; q < la; q++, dst += pu) {
                        double wa = wr * va[q];
                        for (c = 0; c < lb; c++)
                            dst[c] += wa * vb[c];
                    }
                }
            }
        }
    }
}

/* Column sums and largest absolute row sum of each pending smooth's basis
 * over the block, from the first term that uses it.  All rows count, also
 * those a by= term leaves out: the constraint and the penalty scale belong to
 * the smooth over the whole data, as gam_smooth_ps_init computes them.  The
 * row sum runs in column order (as LAPACK dlange('I')). */
static void stats_block(struct pass *ps, size_t c, const struct blockws *b, size_t cnt)
{
    size_t j, r;
    int a;

    for (j = 0; j < ps->m->nsmooths; j++) {
        const struct tslot *sl;
        double *cs, bn;
        if (ps->stat_term[j] < 0)
            continue;
        sl = &b->ts[ps->stat_term[j]];
        cs = ps->scol[c] + ps->soff[j] - sl->off;
        bn = ps->sbn[c][j];
        for (r = 0; r < cnt; r++) {
            const double *v = sl->v + r * (size_t)sl->L;
            double rs = 0.0;
            for (a = 0; a < sl->L; a++) {
                rs += fabs(v[a]);
                cs[sl->first[r] + a] += v[a];
            }
            if (rs > bn)
                bn = rs;
        }
        ps->sbn[c][j] = bn;
    }
}

static void run_chunk(struct pass *ps, size_t c, struct blockws *b, double *vals, int *idx)
{
    const struct gam_model *m = ps->m;
    const struct gam_data *d = ps->d;
    size_t lo = d->n * c / ps->nchunks, hi = d->n * (c + 1) / ps->nchunks, i0, r, t;
    int pu = ps->pu, a, bb;

    for (i0 = lo; i0 < hi; i0 += BLOCK_ROWS) {
        size_t cnt = hi - i0 < BLOCK_ROWS ? hi - i0 : BLOCK_ROWS;
        fill_block(m, d, i0, cnt, b);
        if (ps->stats)
            stats_block(ps, c, b, cnt);
        switch (ps->kind) {
        case PASS_STATS:
            break;
        case PASS_XWX:
            xwx_block(b, cnt, ps->wt ? ps->wt + i0 : NULL, ps->z ? ps->z + i0 : NULL,
                     ps->bufA[c], ps->bufb ? ps->bufb[c] : NULL, pu);
            break;
        case PASS_ETA:
            for (r = 0; r < cnt; r++) {
                double s = 0.0;
                for (t = 0; t < b->nt; t++) {
                    const struct tslot *sl = &b->ts[t];
                    const double *v = sl->v + r * (size_t)sl->L, *bt;
                    if (!sl->on[r])
                        continue;
                    bt = ps->beta_u + sl->first[r];
                    for (a = 0; a < sl->L; a++)
                        s += v[a] * bt[a];
                }
                ps->out[i0 + r] = s;
            }
            break;
        case PASS_QUAD:
            for (r = 0; r < cnt; r++) {
                double s = 0.0;
                int nnz = 0;
                for (t = 0; t < b->nt; t++) {
                    const struct tslot *sl = &b->ts[t];
                    if (!sl->on[r])
                        continue;
                    for (a = 0; a < sl->L; a++) {
                        vals[nnz] = sl->v[r * (size_t)sl->L + (size_t)a];
                        idx[nnz++] = sl->first[r] + a;
                    }
                }
                for (a = 0; a < nnz; a++) {
                    const double *Mrow = ps->M_u + (size_t)idx[a] * pu;
                    double tq = 0.0;
                    for (bb = 0; bb < nnz; bb++)
                        tq += Mrow[idx[bb]] * vals[bb];
                    s += vals[a] * tq;
                }
                ps->out[i0 + r] = s;
            }
            break;
        }
    }
}

static void *worker(void *arg)
{
    struct pass *ps = arg;
    double *vals = malloc((size_t)ps->maxnnz * sizeof *vals);
    int *idx = malloc((size_t)ps->maxnnz * sizeof *idx);
    struct blockws b;
    int ok = blockws_init(&b, ps->m, ps->maxnnz) == 0;

    if (!vals || !idx || !ok) {
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
            run_chunk(ps, c, &b, vals, idx);
        }
    }
    blockws_free(&b);
    free(vals);
    free(idx);
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

static void free_bufs(double **buf, size_t n)
{
    size_t c;

    if (buf)
        for (c = 0; c < n; c++)
            free(buf[c]);
    free(buf);
}

/* What the statistics pass hands back, per smooth j: the column sums of
 * its basis over all rows (colsum[j], p_u values, owned; NULL when the
 * smooth was not pending), its largest absolute row sum and the first term
 * using it (for messages). */
struct smooth_stats {
    double **colsum;
    double *bnorm;
    int *term;
};

static void smooth_stats_free(struct smooth_stats *ss, size_t n)
{
    size_t j;

    if (ss->colsum)
        for (j = 0; j < n; j++)
            free(ss->colsum[j]);
    free(ss->colsum);
    free(ss->bnorm);
    free(ss->term);
}

/* The XWX (Au != NULL) and/or smooth-statistics (out != NULL) pass. */
static enum ml_status xwx_pass(const struct gam_model *m, const struct gam_data *d,
                               const double *wt, const double *z, double *Au, double *bu,
                               struct smooth_stats *out, int threads, struct ml_err *err)
{
    int stats = out != NULL;
    struct pass ps;
    int pu = gam_pu(m), ncs = 0;
    size_t c, k, j, psq = (size_t)pu * (size_t)pu, nsm = m->nsmooths ? m->nsmooths : 1;
    enum ml_status st = ML_OK;

    memset(&ps, 0, sizeof ps);
    ps.kind = Au ? PASS_XWX : PASS_STATS;
    ps.m = m;
    ps.d = d;
    ps.wt = wt;
    ps.z = z;
    ps.stats = stats;
    ps.nchunks = nchunks_for(d->n);
    if (Au) {
        ps.bufA = calloc(ps.nchunks, sizeof *ps.bufA);
        ps.bufb = z ? calloc(ps.nchunks, sizeof *ps.bufb) : NULL;
        if (!ps.bufA || (z && !ps.bufb))
            st = ML_ENOMEM;
        for (c = 0; c < ps.nchunks && st == ML_OK; c++) {
            ps.bufA[c] = calloc(psq, sizeof(double));
            if (z)
                ps.bufb[c] = calloc((size_t)pu, sizeof(double));
            if (!ps.bufA[c] || (z && !ps.bufb[c]))
                st = ML_ENOMEM;
        }
    }
    if (stats && st == ML_OK) {
        ps.stat_term = malloc(nsm * sizeof *ps.stat_term);
        ps.soff = malloc(nsm * sizeof *ps.soff);
        ps.scol = calloc(ps.nchunks, sizeof *ps.scol);
        ps.sbn = calloc(ps.nchunks, sizeof *ps.sbn);
        if (!ps.stat_term || !ps.soff || !ps.scol || !ps.sbn) {
            st = ML_ENOMEM;
        } else {
            for (j = 0; j < m->nsmooths; j++) {
                ps.stat_term[j] = -1;
                ps.soff[j] = ncs;
                if (m->smooths[j].u == NULL) {
                    for (k = 0; k < m->nterms && ps.stat_term[j] < 0; k++)
                        if (m->terms[k].smooth == (int)j)
                            ps.stat_term[j] = (int)k;
                    ncs += m->smooths[j].p_u;
                }
            }
            for (c = 0; c < ps.nchunks && st == ML_OK; c++) {
                ps.scol[c] = calloc((size_t)(ncs ? ncs : 1), sizeof(double));
                ps.sbn[c] = calloc(nsm, sizeof(double));
                if (!ps.scol[c] || !ps.sbn[c])
                    st = ML_ENOMEM;
            }
        }
    }
    if (st)
        st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__,
                     "out of memory for %zu partial %d x %d cross-products", ps.nchunks, pu, pu);
    if (st == ML_OK)
        st = run_pass(&ps, threads, err);
    if (st == ML_OK && Au) {
        /* Partial sums added in chunk order: the same result for any
         * number of threads. */
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
    if (st == ML_OK && stats) {
        /* per-chunk sums added in chunk order; the largest row sum is
         * order-free */
        out->colsum = calloc(nsm, sizeof *out->colsum);
        out->bnorm = calloc(nsm, sizeof *out->bnorm);
        out->term = malloc(nsm * sizeof *out->term);
        if (!out->colsum || !out->bnorm || !out->term)
            st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
        for (j = 0; j < m->nsmooths && st == ML_OK; j++) {
            const struct gam_smooth *sm = &m->smooths[j];
            double *cs;
            out->term[j] = ps.stat_term[j];
            if (ps.stat_term[j] < 0)
                continue;
            cs = out->colsum[j] = calloc((size_t)sm->p_u, sizeof *cs);
            if (!cs) {
                st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
                break;
            }
            for (c = 0; c < ps.nchunks; c++) {
                for (k = 0; k < (size_t)sm->p_u; k++)
                    cs[k] += ps.scol[c][ps.soff[j] + (int)k];
                if (ps.sbn[c][j] > out->bnorm[j])
                    out->bnorm[j] = ps.sbn[c][j];
            }
        }
    }
    free_bufs(ps.bufA, ps.bufA ? ps.nchunks : 0);
    free_bufs(ps.bufb, ps.bufb ? ps.nchunks : 0);
    free_bufs(ps.scol, ps.scol ? ps.nchunks : 0);
    free_bufs(ps.sbn, ps.sbn ? ps.nchunks : 0);
    free(ps.stat_term);
    free(ps.soff);
    return st;
}

enum ml_status gam_accumulate(const struct gam_model *m, const struct gam_data *d,
                              const double *wt, const double *z, double *Au, double *bu,
                              int threads, struct ml_err *err)
{
    return xwx_pass(m, d, wt, z, Au, bu, NULL, threads, err);
}

enum ml_status gam_finish_pass(struct gam_model *m, const struct gam_data *d, const double *wt,
                               const double *z, double *Au, double *bu, int threads,
                               struct ml_err *err)
{
    struct smooth_stats ss;
    enum ml_status st;
    size_t j;

    for (j = 0; j < m->nsmooths; j++)
        if (m->smooths[j].u == NULL)
            break;
    if (j == m->nsmooths)
        return Au ? xwx_pass(m, d, wt, z, Au, bu, NULL, threads, err) : ML_OK;
    memset(&ss, 0, sizeof ss);
    st = xwx_pass(m, d, wt, z, Au, bu, &ss, threads, err);
    for (j = 0; j < m->nsmooths && st == ML_OK; j++) {
        if (!ss.colsum[j])
            continue;
        st = gam_smooth_finish(&m->smooths[j], ss.colsum[j], ss.bnorm[j], d->n, err);
        if (st)
            ml_err_prefix(err, "formula term %s: ", m->terms[ss.term[j]].label);
    }
    smooth_stats_free(&ss, m->nsmooths);
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
