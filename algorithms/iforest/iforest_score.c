/* iforest_score.c: path lengths, scores and explanations of an Isolation
 * Forest, and the checks and scoring layout behind them.
 *
 * Entry points: iforest_c, iforest_prepare, iforest_score,
 * iforest_path_length, iforest_explain.
 *
 * Liu, Ting & Zhou, "Isolation Forest", ICDM 2008: a row's path length in a
 * tree is h(x) = e + c(size) (Algorithm 3, PathLength), e the edges from the
 * root to the external node it reaches and size the training rows there;
 * its score is s = 2^(-E[h(x)] / c(psi)) (Eq. 2), with
 * c(n) = 2H(n-1) - 2(n-1)/n (Eq. 1) the average path length of an
 * unsuccessful search in a binary search tree of n keys.
 *
 * Speed: rows go through the forest in blocks of IFOREST_BLOCK; for each
 * tree the whole block advances one level at a time on the packed layout
 * (see iforest_impl.h), so the inner loop has no data-dependent branch and
 * its iterations are independent (the CPU overlaps the loads of many rows),
 * and the block's cursors, path sums and feature values stay in L1 while the
 * trees stream past.  A row with a missing value (missing = divide) is
 * redone afterwards by the recursive path that weighs both branches.  Sums
 * over trees always run in tree order, so results do not depend on the
 * number of threads. */
#include "iforest.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "iforest_impl.h"

/* ---- c(n) -------------------------------------------------------------- */

#define HARMONIC_TABLE 1000 /* H(m) tabulated for m < 1000, i.e. c(n) for n <= 1000 */

static double harmonic_tab[HARMONIC_TABLE];
static pthread_once_t harmonic_once = PTHREAD_ONCE_INIT;

/* H(m) = sum_{k=1}^m 1/k by Neumaier's compensated summation (Neumaier,
 * ZAMM 54, 1974), so each entry is the correctly rounded sum of the rounded
 * terms. */
static void harmonic_init(void)
{
    double s = 0.0, comp = 0.0;
    int k;

    harmonic_tab[0] = 0.0;
    for (k = 1; k < HARMONIC_TABLE; k++) {
        double term = 1.0 / k, t = s + term;
        if (fabs(s) >= fabs(term))
            comp += (s - t) + term;
        else
            comp += (term - t) + s;
        s = t;
        harmonic_tab[k] = s + comp;
    }
}

/* H(m) for real m >= 1000: the asymptotic (Euler-Maclaurin) series
 * ln m + gamma + 1/(2m) - 1/(12m^2) + 1/(120m^4) - 1/(252m^6)
 * (Abramowitz & Stegun 6.3.18 with psi(m+1) = H(m) - gamma); the first
 * omitted term, 1/(240 m^8), is below 1e-26 at m = 1000. */
static double harmonic_asym(double m)
{
    const double euler_gamma = 0.57721566490153286060651209008240243;
    double t = 1.0 / (m * m);
    double corr = 0.5 / m - t * (1.0 / 12.0 - t * (1.0 / 120.0 - t * (1.0 / 252.0)));
    return log(m) + (euler_gamma + corr);
}

static double harmonic(double m)
{
    if (m == floor(m) && m < HARMONIC_TABLE) {
        pthread_once(&harmonic_once, harmonic_init);
        return harmonic_tab[(int)m];
    }
    if (m >= HARMONIC_TABLE)
        return harmonic_asym(m);
    {
        /* non-integer m < 1000 (not a node size, but c is defined on the
         * reals): H(m) = H(m + k) - sum_{i=1}^k 1/(m + i), the recurrence of
         * the digamma function */
        double s = 0.0;
        int k = (int)ceil(HARMONIC_TABLE - m), i;
        for (i = k; i >= 1; i--)
            s += 1.0 / (m + i);
        return harmonic_asym(m + k) - s;
    }
}

double iforest_c(double n)
{
    if (!(n > 1.0))
        return 0.0;
    if (n == 2.0)
        return 1.0;
    return 2.0 * harmonic(n - 1.0) - 2.0 * (n - 1.0) / n;
}

double iforest_c_of(const struct iforest *f, double n)
{
    if (f->correction != IFOREST_C_ASYMPTOTIC)
        return iforest_c(n);
    /* scikit-learn's _average_path_length: 0 for n <= 1, 1 for n = 2,
     * else 2 (ln(n - 1) + gamma) - 2 (n - 1) / n */
    if (!(n > 1.0))
        return 0.0;
    if (n == 2.0)
        return 1.0;
    return 2.0 * (log(n - 1.0) + 0.57721566490153286060651209008240243) - 2.0 * (n - 1.0) / n;
}

/* ---- checks and the packed layout ------------------------------------- */

void iforest_packed_free(struct iforest_packed *p)
{
    if (!p)
        return;
    free(p->start);
    free(p->levels);
    free(p->node);
    free(p->leaf_h);
    free(p->ecoef);
    free(p->eidx);
    free(p);
}

static enum ml_status check_header(const struct iforest *f, struct ml_err *err)
{
    int t;

    if (f->d < 1)
        ML_FAIL(err, ML_EINVAL, "iforest: d = %d features: must be >= 1", f->d);
    if (f->n_trees < 1)
        ML_FAIL(err, ML_EINVAL, "iforest: n_trees = %d: must be >= 1", f->n_trees);
    if (f->sample_size < 2)
        ML_FAIL(err, ML_EINVAL, "iforest: sample_size = %zu: must be >= 2 (c(psi) > 0)",
                f->sample_size);
    if (f->extension_level < 0 || f->extension_level > f->d - 1)
        ML_FAIL(err, ML_EINVAL, "iforest: extension_level = %d: must be in 0 ... %d",
                f->extension_level, f->d - 1);
    if (f->missing != IFOREST_MISSING_FAIL && f->missing != IFOREST_MISSING_DIVIDE)
        ML_FAIL(err, ML_EINVAL, "iforest: missing = %d: must be fail (0) or divide (1)",
                (int)f->missing);
    if (f->n_nodes > INT32_MAX)
        ML_FAIL(err, ML_ELIMIT, "iforest: %zu nodes: at most %d", f->n_nodes, INT32_MAX);
    if (!f->tree_start || !f->left || !f->right || !f->feature || !f->split ||
        !f->frac_left || !f->size || (f->extension_level > 0 && !f->coef))
        ML_FAIL(err, ML_EINVAL, "iforest: a node array is missing (NULL)");
    if (f->tree_start[0] != 0)
        ML_FAIL(err, ML_EINVAL, "iforest: tree_start[0] = %zu: must be 0", f->tree_start[0]);
    for (t = 0; t < f->n_trees; t++)
        if (f->tree_start[t + 1] <= f->tree_start[t])
            ML_FAIL(err, ML_EINVAL,
                    "iforest: tree %d: tree_start %zu ... %zu: every tree needs a node", t,
                    f->tree_start[t], f->tree_start[t + 1]);
    if (f->tree_start[f->n_trees] != f->n_nodes)
        ML_FAIL(err, ML_EINVAL, "iforest: tree_start[n_trees] = %zu but n_nodes = %zu",
                f->tree_start[f->n_trees], f->n_nodes);
    return ML_OK;
}

enum ml_status iforest_pack(const struct iforest *f, struct iforest_packed **out,
                            struct ml_err *err)
{
    struct iforest_packed *p = NULL;
    int32_t *queue = NULL;
    unsigned char *qdepth = NULL, *seen = NULL;
    size_t maxsz = 0;
    int t, d = f->d, ext = f->extension_level > 0, k = 0;
    enum ml_status st;

    *out = NULL;
    st = check_header(f, err);
    if (st != ML_OK)
        return st;
    for (t = 0; t < f->n_trees; t++) {
        size_t sz = f->tree_start[t + 1] - f->tree_start[t];
        maxsz = sz > maxsz ? sz : maxsz;
    }
    if (ext) {
        size_t g;
        for (g = 0; g < f->n_nodes; g++) {
            int nz = 0, j;
            for (j = 0; j < d; j++)
                nz += f->coef[g * (size_t)d + (size_t)j] != 0.0;
            k = nz > k ? nz : k;
        }
        if (k == 0)
            k = 1;
    }
    p = calloc(1, sizeof *p);
    queue = malloc(maxsz * sizeof *queue);
    qdepth = malloc(maxsz);
    seen = malloc(maxsz);
    if (p) {
        p->extended = ext;
        p->k = k;
        p->n_nodes = f->n_nodes;
        p->start = malloc(((size_t)f->n_trees + 1) * sizeof *p->start);
        p->levels = malloc((size_t)f->n_trees * sizeof *p->levels);
        p->node = malloc(f->n_nodes * sizeof *p->node);
        p->leaf_h = malloc(f->n_nodes * sizeof *p->leaf_h);
        if (ext) {
            p->ecoef = calloc(f->n_nodes * (size_t)k, sizeof *p->ecoef);
            p->eidx = calloc(f->n_nodes * (size_t)k, sizeof *p->eidx);
        }
    }
    if (!p || !queue || !qdepth || !seen || !p->start || !p->levels || !p->node ||
        !p->leaf_h || (ext && (!p->ecoef || !p->eidx))) {
        st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__,
                     "iforest: out of memory for the scoring layout (%zu nodes)", f->n_nodes);
        goto fail;
    }

    for (t = 0; t < f->n_trees; t++) {
        size_t base = f->tree_start[t], sz = f->tree_start[t + 1] - base, q, tail = 1;
        int levels = 0;

        p->start[t] = base;
        if (f->size[base] != f->sample_size) {
            st = ml_fail(err, ML_EINVAL, __FILE__, __LINE__,
                         "iforest: tree %d: root size %u differs from sample_size %zu", t,
                         (unsigned)f->size[base], f->sample_size);
            goto fail;
        }
        memset(seen, 0, sz);
        queue[0] = 0;
        qdepth[0] = 0;
        seen[0] = 1;
        /* breadth first: the queue position of a node is its packed index,
         * and the two children of a node are pushed together */
        for (q = 0; q < tail; q++) {
            int32_t v = queue[q], l, r;
            size_t g = base + (size_t)v, pq = base + q;
            int depth = qdepth[q];

            if (f->left[g] < 0 && f->right[g] < 0) {
                p->node[pq].split = HUGE_VAL;
                p->node[pq].feature = 0;
                p->node[pq].child = (int32_t)q;
                p->leaf_h[pq] = (double)depth + iforest_c_of(f, (double)f->size[g]);
                levels = depth > levels ? depth : levels;
                continue;
            }
            l = f->left[g];
            r = f->right[g];
            if (l < 0 || r < 0 || (size_t)l >= sz || (size_t)r >= sz || l == r || seen[l] ||
                seen[r]) {
                st = ml_fail(err, ML_EINVAL, __FILE__, __LINE__,
                             "iforest: tree %d, node %d: children %d and %d: each must be a "
                             "node of the tree (0 ... %zu) reached only from here",
                             t, (int)v, (int)l, (int)r, sz - 1);
                goto fail;
            }
            if (depth + 1 > IFOREST_DEPTH_MAX) {
                st = ml_fail(err, ML_EINVAL, __FILE__, __LINE__,
                             "iforest: tree %d, node %d: depth exceeds %d", t, (int)v,
                             IFOREST_DEPTH_MAX);
                goto fail;
            }
            if (!isfinite(f->split[g]) || !(f->frac_left[g] >= 0.0 && f->frac_left[g] <= 1.0)) {
                st = ml_fail(err, ML_EINVAL, __FILE__, __LINE__,
                             "iforest: tree %d, node %d: split %g must be finite and frac_left "
                             "%g in [0, 1]",
                             t, (int)v, f->split[g], f->frac_left[g]);
                goto fail;
            }
            p->node[pq].split = f->split[g];
            p->node[pq].child = (int32_t)tail;
            p->leaf_h[pq] = 0.0;
            if (!ext) {
                if (f->feature[g] < 0 || f->feature[g] >= d) {
                    st = ml_fail(err, ML_EINVAL, __FILE__, __LINE__,
                                 "iforest: tree %d, node %d: feature %d: must be in 0 ... %d",
                                 t, (int)v, (int)f->feature[g], d - 1);
                    goto fail;
                }
                p->node[pq].feature = f->feature[g];
            } else {
                const double *c = f->coef + g * (size_t)d;
                int j, s = 0;
                p->node[pq].feature = 0;
                for (j = 0; j < d; j++) {
                    if (!isfinite(c[j])) {
                        st = ml_fail(err, ML_EINVAL, __FILE__, __LINE__,
                                     "iforest: tree %d, node %d: coefficient %d is %g", t,
                                     (int)v, j, c[j]);
                        goto fail;
                    }
                    if (c[j] != 0.0) {
                        p->ecoef[pq * (size_t)k + (size_t)s] = c[j];
                        p->eidx[pq * (size_t)k + (size_t)s] = j;
                        s++;
                    }
                }
            }
            seen[l] = seen[r] = 1;
            queue[tail] = l;
            queue[tail + 1] = r;
            qdepth[tail] = qdepth[tail + 1] = (unsigned char)(depth + 1);
            tail += 2;
        }
        if (tail != sz) {
            st = ml_fail(err, ML_EINVAL, __FILE__, __LINE__,
                         "iforest: tree %d: %zu of its %zu nodes are not reached from the root",
                         t, sz - tail, sz);
            goto fail;
        }
        p->levels[t] = levels;
    }
    p->start[f->n_trees] = f->n_nodes;
    free(queue);
    free(qdepth);
    free(seen);
    *out = p;
    return ML_OK;

fail:
    free(queue);
    free(qdepth);
    free(seen);
    iforest_packed_free(p);
    return st;
}

enum ml_status iforest_prepare(struct iforest *f, struct ml_err *err)
{
    struct iforest_packed *p;
    enum ml_status st = iforest_pack(f, &p, err);

    if (st != ML_OK)
        return st;
    iforest_packed_free(f->packed);
    f->packed = p;
    return ML_OK;
}

/* ---- the fast path: a block of rows without missing values ----------- */

static void block_classic(const struct iforest_packed *pk, int n_trees, const double *xb,
                          size_t stride, size_t nb, double *hs)
{
    int32_t cur[IFOREST_BLOCK];
    size_t i;
    int t, lev;

    for (i = 0; i < nb; i++)
        hs[i] = 0.0;
    for (t = 0; t < n_trees; t++) {
        const struct iforest_pnode *nd = pk->node + pk->start[t];
        const double *lh = pk->leaf_h + pk->start[t];
        int levels = pk->levels[t];

        if (levels == 0) {
            for (i = 0; i < nb; i++)
                hs[i] += lh[0];
            continue;
        }
        {
            /* level 0: every row is at the root, one contiguous column */
            const double *col = xb + (size_t)nd[0].feature * stride;
            const double sp = nd[0].split;
            const int32_t ch = nd[0].child;
            for (i = 0; i < nb; i++)
                cur[i] = ch + (col[i] > sp);
        }
        for (lev = 1; lev < levels; lev++)
            for (i = 0; i < nb; i++) {
                const struct iforest_pnode *p = nd + cur[i];
                cur[i] = p->child + (xb[(size_t)p->feature * stride + i] > p->split);
            }
        for (i = 0; i < nb; i++)
            hs[i] += lh[cur[i]];
    }
}

static void block_extended(const struct iforest_packed *pk, int n_trees, const double *xb,
                           size_t stride, size_t nb, double *hs)
{
    int32_t cur[IFOREST_BLOCK];
    size_t i;
    int t, lev, k = pk->k;

    for (i = 0; i < nb; i++)
        hs[i] = 0.0;
    for (t = 0; t < n_trees; t++) {
        size_t s0 = pk->start[t];
        const struct iforest_pnode *nd = pk->node + s0;
        const double *lh = pk->leaf_h + s0;
        const double *ec = pk->ecoef + s0 * (size_t)k;
        const int32_t *ei = pk->eidx + s0 * (size_t)k;
        int levels = pk->levels[t];

        for (i = 0; i < nb; i++)
            cur[i] = 0;
        for (lev = 0; lev < levels; lev++)
            for (i = 0; i < nb; i++) {
                int32_t v = cur[i];
                const double *c = ec + (size_t)v * (size_t)k;
                const int32_t *ix = ei + (size_t)v * (size_t)k;
                double s = 0.0;
                int q;
                /* same order as iforest_dot_dense; zero padding adds +-0 */
                for (q = 0; q < k; q++)
                    s += c[q] * xb[(size_t)ix[q] * stride + i];
                cur[i] = nd[v].child + (s > nd[v].split);
            }
        for (i = 0; i < nb; i++)
            hs[i] += lh[cur[i]];
    }
}

/* ---- the slow path: one row, recursively, missing values divided ------ */

static int is_missing(double v)
{
    return !isfinite(v);
}

/* Does the split at public node g see a missing value in row x? */
static int node_missing(const struct iforest *f, size_t g, const double *x, size_t stride)
{
    int j;

    if (f->extension_level == 0)
        return is_missing(x[(size_t)f->feature[g] * stride]);
    for (j = 0; j < f->d; j++)
        if (f->coef[g * (size_t)f->d + (size_t)j] != 0.0 && is_missing(x[(size_t)j * stride]))
            return 1;
    return 0;
}

/* 1 if the row goes right at internal node g (no missing value there). */
static int goes_right(const struct iforest *f, size_t g, const double *x, size_t stride)
{
    if (f->extension_level == 0)
        return x[(size_t)f->feature[g] * stride] > f->split[g];
    return iforest_dot_dense(f->coef + g * (size_t)f->d, f->d, x, stride) > f->split[g];
}

/* Path length in the tree at `base` from node v at `depth`: edges + c(size)
 * at an external node; at a split on a missing value the two subtrees
 * weighted by the training fractions. */
static double path_rec(const struct iforest *f, size_t base, int32_t v, const double *x,
                       size_t stride, int depth)
{
    size_t g = base + (size_t)v;

    if (f->left[g] < 0)
        return (double)depth + iforest_c_of(f, (double)f->size[g]);
    if (node_missing(f, g, x, stride)) {
        double w = f->frac_left[g];
        return w * path_rec(f, base, f->left[g], x, stride, depth + 1) +
               (1.0 - w) * path_rec(f, base, f->right[g], x, stride, depth + 1);
    }
    return path_rec(f, base, goes_right(f, g, x, stride) ? f->right[g] : f->left[g], x, stride,
                    depth + 1);
}

/* ---- scoring driver ----------------------------------------------------- */

struct score_job {
    const struct iforest *f;
    const struct iforest_packed *pk;
    const double *x;
    size_t stride, r0, r1;
    double *out;
    int want_score;            /* 1: s = 2^(-E[h]/c(psi)); 0: E[h] */
    size_t bad_row;            /* first row with a missing value (fail mode), or SIZE_MAX */
    int bad_feature;
};

static void *score_worker(void *arg)
{
    struct score_job *jb = arg;
    const struct iforest *f = jb->f;
    double hs[IFOREST_BLOCK], inv_t = 1.0 / f->n_trees, cpsi = iforest_c_of(f, (double)f->sample_size);
    unsigned char miss[IFOREST_BLOCK];
    size_t b, i;
    int j, t;

    jb->bad_row = SIZE_MAX;
    for (b = jb->r0; b < jb->r1; b += IFOREST_BLOCK) {
        size_t nb = jb->r1 - b < IFOREST_BLOCK ? jb->r1 - b : IFOREST_BLOCK;
        const double *xb = jb->x + b;
        int any = 0;

        memset(miss, 0, nb);
        for (j = 0; j < f->d; j++) {
            const double *col = xb + (size_t)j * jb->stride;
            for (i = 0; i < nb; i++)
                miss[i] |= !(col[i] - col[i] == 0.0);
        }
        for (i = 0; i < nb; i++)
            any |= miss[i];
        if (any && f->missing == IFOREST_MISSING_FAIL) {
            for (i = 0; i < nb && !miss[i]; i++)
                ;
            for (j = 0; j < f->d && !is_missing(xb[(size_t)j * jb->stride + i]); j++)
                ;
            jb->bad_row = b + i;
            jb->bad_feature = j;
            return NULL;
        }
        if (jb->pk->extended)
            block_extended(jb->pk, f->n_trees, xb, jb->stride, nb, hs);
        else
            block_classic(jb->pk, f->n_trees, xb, jb->stride, nb, hs);
        if (any)
            for (i = 0; i < nb; i++) {
                if (!miss[i])
                    continue;
                hs[i] = 0.0;
                for (t = 0; t < f->n_trees; t++)
                    hs[i] += path_rec(f, f->tree_start[t], 0, xb + i, jb->stride, 0);
            }
        for (i = 0; i < nb; i++) {
            double eh = hs[i] * inv_t;
            jb->out[b + i] = jb->want_score ? exp2(-eh / cpsi) : eh;
        }
    }
    return NULL;
}

static enum ml_status check_rows_args(const struct iforest *f, const double *x, size_t m,
                                      size_t n_stride, const void *out, struct ml_err *err)
{
    if (!f)
        ML_FAIL(err, ML_EINVAL, "iforest: no forest (NULL)");
    if (m > 0 && (!x || !out))
        ML_FAIL(err, ML_EINVAL, "iforest: NULL data or output for %zu rows", m);
    if (n_stride < m)
        ML_FAIL(err, ML_EINVAL, "iforest: column stride %zu is less than the %zu rows",
                n_stride, m);
    return ML_OK;
}

static enum ml_status fail_missing(const struct iforest *f, const double *x, size_t n_stride,
                                   size_t row, int feature, struct ml_err *err)
{
    double v = x[(size_t)feature * n_stride + row];

    if (f->feature_names && f->feature_names[feature])
        ML_FAIL(err, ML_EDOM,
                "iforest: row %zu, feature \"%s\": value %g is missing or not finite "
                "(the model has missing = fail)",
                row + 1, f->feature_names[feature], v);
    ML_FAIL(err, ML_EDOM,
            "iforest: row %zu, feature %d: value %g is missing or not finite "
            "(the model has missing = fail)",
            row + 1, feature + 1, v);
}

static enum ml_status score_rows(const struct iforest *f, const double *x, size_t m,
                                 size_t n_stride, double *out, int threads, int want_score,
                                 struct ml_err *err)
{
    struct iforest_packed *own = NULL;
    const struct iforest_packed *pk;
    struct score_job jobs[IFOREST_THREADS_MAX];
    pthread_t tid[IFOREST_THREADS_MAX];
    size_t nblocks, bad_row = SIZE_MAX;
    int nt, k, started = 0, bad_feature = -1;
    enum ml_status st = check_rows_args(f, x, m, n_stride, out, err);

    if (st != ML_OK)
        return st;
    if (threads < 1)
        ML_FAIL(err, ML_EINVAL, "iforest: threads = %d: must be >= 1", threads);
    if (m == 0)
        return ML_OK;
    pk = f->packed;
    if (!pk) {
        st = iforest_pack(f, &own, err);
        if (st != ML_OK)
            return st;
        pk = own;
    }
    nblocks = (m + IFOREST_BLOCK - 1) / IFOREST_BLOCK;
    nt = threads < IFOREST_THREADS_MAX ? threads : IFOREST_THREADS_MAX;
    if ((size_t)nt > nblocks)
        nt = (int)nblocks;
    for (k = 0; k < nt; k++) {
        jobs[k].f = f;
        jobs[k].pk = pk;
        jobs[k].x = x;
        jobs[k].stride = n_stride;
        jobs[k].r0 = nblocks * (size_t)k / (size_t)nt * IFOREST_BLOCK;
        jobs[k].r1 = nblocks * (size_t)(k + 1) / (size_t)nt * IFOREST_BLOCK;
        if (jobs[k].r1 > m)
            jobs[k].r1 = m;
        jobs[k].out = out;
        jobs[k].want_score = want_score;
        jobs[k].bad_row = SIZE_MAX;
        jobs[k].bad_feature = -1;
    }
    for (k = 1; k < nt; k++) {
        if (pthread_create(&tid[k], NULL, score_worker, &jobs[k]) != 0) {
            st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__,
                         "iforest: cannot start scoring thread %d of %d", k + 1, nt);
            break;
        }
        started = k;
    }
    if (st == ML_OK)
        score_worker(&jobs[0]);
    for (k = 1; k <= started; k++)
        pthread_join(tid[k], NULL);
    iforest_packed_free(own);
    if (st != ML_OK)
        return st;
    for (k = 0; k < nt; k++)
        if (jobs[k].bad_row < bad_row) {
            bad_row = jobs[k].bad_row;
            bad_feature = jobs[k].bad_feature;
        }
    if (bad_row != SIZE_MAX)
        return fail_missing(f, x, n_stride, bad_row, bad_feature, err);
    return ML_OK;
}

enum ml_status iforest_score(const struct iforest *f, const double *x, size_t m,
                             size_t n_stride, double *out, int threads, struct ml_err *err)
{
    return score_rows(f, x, m, n_stride, out, threads, 1, err);
}

enum ml_status iforest_path_length(const struct iforest *f, const double *x, size_t m,
                                   size_t n_stride, double *out, int threads,
                                   struct ml_err *err)
{
    return score_rows(f, x, m, n_stride, out, threads, 0, err);
}

/* ---- explanations ------------------------------------------------------- */

/* Give `amount` to the features of the split at public node g: the feature
 * of an axis-parallel split; for a hyperplane its non-zero coordinates, in
 * proportion to |coef_j (x_j - q_j)| with q the point of the hyperplane
 * nearest the centre m of the training box (q = m - ((n.m - split)/|n|^2) n):
 * the terms of n.(x - q), i.e. how far each coordinate carries x from the
 * cut.  The box centre is used because the model does not keep the
 * intercept point; where all terms vanish, shares follow |coef_j|.  With
 * only_missing, the amount goes in equal parts to the coordinates whose
 * value is missing. */
static void give(const struct iforest *f, size_t g, const double *x, size_t stride,
                 double amount, int only_missing, double *acc)
{
    const double *c;
    double nm = 0.0, nn = 0.0, lam, tot = 0.0;
    int d = f->d, j, cnt = 0;

    if (f->extension_level == 0) {
        acc[f->feature[g]] += amount;
        return;
    }
    c = f->coef + g * (size_t)d;
    if (only_missing) {
        for (j = 0; j < d; j++)
            cnt += c[j] != 0.0 && is_missing(x[(size_t)j * stride]);
        for (j = 0; j < d; j++)
            if (c[j] != 0.0 && is_missing(x[(size_t)j * stride]))
                acc[j] += amount / cnt;
        return;
    }
    for (j = 0; j < d; j++)
        if (c[j] != 0.0) {
            double m = 0.5 * (f->fmin[j] + f->fmax[j]);
            if (!isfinite(m))
                m = 0.0;
            nm += c[j] * m;
            nn += c[j] * c[j];
        }
    lam = (nm - f->split[g]) / nn;
    for (j = 0; j < d; j++)
        if (c[j] != 0.0) {
            double m = 0.5 * (f->fmin[j] + f->fmax[j]), q;
            if (!isfinite(m))
                m = 0.0;
            q = m - lam * c[j];
            tot += fabs(c[j] * (x[(size_t)j * stride] - q));
        }
    if (tot > 0.0 && isfinite(tot)) {
        for (j = 0; j < d; j++)
            if (c[j] != 0.0) {
                double m = 0.5 * (f->fmin[j] + f->fmax[j]), q;
                if (!isfinite(m))
                    m = 0.0;
                q = m - lam * c[j];
                acc[j] += amount * (fabs(c[j] * (x[(size_t)j * stride] - q)) / tot);
            }
        return;
    }
    for (j = 0; j < d; j++)
        tot += fabs(c[j]);
    for (j = 0; j < d; j++)
        if (c[j] != 0.0)
            acc[j] += amount * (fabs(c[j]) / tot);
}

/* Like path_rec, and adds weight * (c(n_v) - 1 - c(n_child)) for each split
 * on the way (weighted over both children at a divided split) to acc.  The
 * amounts telescope: they sum to c(n_root) - h. */
static double explain_rec(const struct iforest *f, size_t base, int32_t v, const double *x,
                          size_t stride, int depth, double weight, double *acc)
{
    size_t g = base + (size_t)v, gl, gr;
    double cv;

    if (f->left[g] < 0)
        return (double)depth + iforest_c_of(f, (double)f->size[g]);
    cv = iforest_c_of(f, (double)f->size[g]);
    gl = base + (size_t)f->left[g];
    gr = base + (size_t)f->right[g];
    if (node_missing(f, g, x, stride)) {
        double w = f->frac_left[g];
        double amount = cv - 1.0 - w * iforest_c_of(f, (double)f->size[gl]) -
                        (1.0 - w) * iforest_c_of(f, (double)f->size[gr]);
        give(f, g, x, stride, weight * amount, 1, acc);
        return w * explain_rec(f, base, f->left[g], x, stride, depth + 1, weight * w, acc) +
               (1.0 - w) *
                   explain_rec(f, base, f->right[g], x, stride, depth + 1, weight * (1.0 - w), acc);
    }
    {
        int32_t u = goes_right(f, g, x, stride) ? f->right[g] : f->left[g];
        double amount = cv - 1.0 - iforest_c_of(f, (double)f->size[base + (size_t)u]);
        give(f, g, x, stride, weight * amount, 0, acc);
        return explain_rec(f, base, u, x, stride, depth + 1, weight, acc);
    }
}

/* Path-dependent Shapley values of one axis-parallel tree (the game of
 * TreeSHAP: Lundberg, Erion, Chen et al., "From local explanations to global
 * understanding with explainable AI for trees", Nature Machine Intelligence
 * 2, 2020, Algorithm 2).  The tree function is the path length h(x); the
 * value of a coalition S of features is the path length when the features
 * outside S are unknown and, at a split on such a feature, the row goes down
 * both children weighted by the children's training sizes:
 *     v(S) = sum over leaves l of h_l * prod_{k on l's path} (k in S ? o_k : z_k),
 * h_l = depth + c(size), z_k the product of the size fractions of the path's
 * splits on k and o_k the product of the row's own weights there (1 or 0;
 * frac_left / 1 - frac_left for a missing value divided).  So for each leaf
 * with U distinct path features, Shapley's sum over coalitions groups by
 * coalition size: phi_j += h_l (o_j - z_j) sum_s r_s s! (U-1-s)! / U!, r_s
 * the coefficient of t^s in prod_{k != j} (z_k + o_k t).  Features not on
 * the leaf's path are null players there and do not change the weights.
 * Every leaf is visited (O(leaves U^2) per tree), unlike the one path of a
 * score.  sum_j phi_j = v(all) - v(none) = h(x) - A, A = v(none) the mean
 * path length of the tree's own training rows. */
struct shap_walk {
    const struct iforest *f;
    size_t base;
    const double *x;
    size_t stride;
    int u;                              /* distinct features on the current path */
    int feat[IFOREST_DEPTH_MAX];        /* they, in order of first use */
    double z[IFOREST_DEPTH_MAX], o[IFOREST_DEPTH_MAX];
    double *poly;                       /* (IFOREST_DEPTH_MAX + 1)^2: at depth k,
                                           prod (z + o t) over the path so far */
    double r[IFOREST_DEPTH_MAX + 1];
    double v0;                          /* accumulates v(none) */
    double *phi;                        /* d, accumulates phi_j */
    const double *csize;                /* n_nodes: c(size) of every node, computed once
                                           per call (every leaf of every tree is visited
                                           for every row) */
};

/* shap_weight[u][s] = s! (u-1-s)! / u!, the Shapley weight of a coalition
 * of s of the other u - 1 players, for u <= IFOREST_DEPTH_MAX. */
static double shap_weight[IFOREST_DEPTH_MAX + 1][IFOREST_DEPTH_MAX];
static pthread_once_t shap_once = PTHREAD_ONCE_INIT;

static void shap_weight_init(void)
{
    int u, s;

    for (u = 1; u <= IFOREST_DEPTH_MAX; u++) {
        shap_weight[u][0] = 1.0 / u;
        for (s = 0; s + 1 < u; s++)
            shap_weight[u][s + 1] = shap_weight[u][s] * (double)(s + 1) / (double)(u - 1 - s);
    }
}

/* r = q / (z + o t) for q of degree u (a multiple of z + o t), by
 * synthetic division from the end whose divisor coefficient is larger (each
 * step then shrinks the error).  z + o t must not be 0. */
static void poly_div(double *r, const double *q, int u, double z, double o)
{
    int s;

    if (u == 0)
        return;
    if (o >= z) {
        double inv = 1.0 / o;
        r[u - 1] = q[u] * inv;
        for (s = u - 1; s >= 1; s--)
            r[s - 1] = (q[s] - z * r[s]) * inv;
    } else {
        double inv = 1.0 / z;
        r[0] = q[0] * inv;
        for (s = 1; s < u; s++)
            r[s] = (q[s] - o * r[s - 1]) * inv;
    }
}

/* r = q (z + o t), q of degree u; r may be q */
static void poly_mul(double *r, const double *q, int u, double z, double o)
{
    int s;

    r[u + 1] = o * q[u];
    for (s = u; s >= 1; s--)
        r[s] = z * q[s] + o * q[s - 1];
    r[0] = z * q[0];
}

/* Add leaf l's terms (path length h) to phi and v0; q = prod_k (z_k + o_k t)
 * over the path's u distinct features, lowest degree first. */
static void shap_leaf(struct shap_walk *w, const double *q, double h)
{
    int u = w->u, s, j;
    double *r = w->r, cold = 0.0;
    const double *wt = shap_weight[u];

    w->v0 += h * q[0];
    if (u == 0)
        return;
    /* a feature sending the row away from this leaf (o_j = 0, z_j > 0):
     * r = q / z_j, so h (o_j - z_j) sum_s r_s wt_s = -h sum_{s<u} q_s wt_s,
     * the same for all of them (q_u = 0 then) */
    for (s = 0; s < u; s++)
        cold += q[s] * wt[s];
    for (j = 0; j < u; j++) {
        double zj = w->z[j], oj = w->o[j], sum = 0.0;
        if (oj == zj)
            continue;
        if (oj == 0.0) {
            w->phi[w->feat[j]] -= h * cold;
            continue;
        }
        poly_div(r, q, u, zj, oj);
        for (s = 0; s < u; s++)
            sum += r[s] * wt[s];
        w->phi[w->feat[j]] += h * (oj - zj) * sum;
    }
}

/* Visit the subtree at node v (depth `depth`, path polynomial in
 * w->poly at that depth) and every leaf below it. */
static void shap_rec(struct shap_walk *w, int32_t v, int depth)
{
    const struct iforest *f = w->f;
    size_t g = w->base + (size_t)v, gl, gr;
    const size_t stride = IFOREST_DEPTH_MAX + 1;
    const double *q = w->poly + (size_t)depth * stride;
    double *qc = w->poly + (size_t)(depth + 1) * stride;
    double nl, nr, zl, ol, zp, op;
    int j, p, side, added = 0;

    if (f->left[g] < 0) {
        shap_leaf(w, q, (double)depth + w->csize[g]);
        return;
    }
    gl = w->base + (size_t)f->left[g];
    gr = w->base + (size_t)f->right[g];
    j = f->feature[g];
    nl = (double)f->size[gl];
    nr = (double)f->size[gr];
    /* the children's sizes, not the node's, so the two fractions sum to 1
     * whatever a model file says */
    zl = nl + nr > 0.0 ? nl / (nl + nr) : f->frac_left[g];
    if (node_missing(f, g, w->x, w->stride))
        ol = f->frac_left[g];
    else
        ol = goes_right(f, g, w->x, w->stride) ? 0.0 : 1.0;
    for (p = 0; p < w->u && w->feat[p] != j; p++)
        ;
    if (p == w->u) {
        w->feat[p] = j;
        w->z[p] = w->o[p] = 1.0;
        added = 1;
    }
    zp = w->z[p];
    op = w->o[p];
    for (side = 0; side < 2; side++) {
        double zc = zp * (side ? 1.0 - zl : zl), oc = op * (side ? 1.0 - ol : ol);
        if (zc == 0.0 && oc == 0.0)
            continue; /* every coalition weighs 0 below */
        w->z[p] = zc;
        w->o[p] = oc;
        if (added) {
            poly_mul(qc, q, w->u, zc, oc);
            w->u++;
        } else {
            poly_div(qc, q, w->u, zp, op);
            poly_mul(qc, qc, w->u - 1, zc, oc);
        }
        shap_rec(w, side ? f->right[g] : f->left[g], depth + 1);
        w->u -= added;
    }
    w->z[p] = zp;
    w->o[p] = op;
}

/* Rows r0 .. r1 - 1 of an explanation; poly is the Shapley walk's
 * scratch ((IFOREST_DEPTH_MAX + 1)^2 doubles), NULL for hyperplane trees. */
static void explain_rows(const struct iforest *f, const double *x, size_t r0, size_t r1,
                         size_t n_stride, double *attr, double *poly, const double *csize)
{
    size_t i;
    int j, t;

    for (i = r0; i < r1; i++) {
        double *acc = attr + i * (size_t)f->d, inv_t = 1.0 / f->n_trees;
        for (j = 0; j < f->d; j++)
            acc[j] = 0.0;
        if (f->extension_level == 0) {
            /* attr_j = mean over trees of -phi_j + (c(psi) - A) / d */
            struct shap_walk w;
            double share;
            w.poly = poly;
            w.poly[0] = 1.0;
            w.f = f;
            w.x = x + i;
            w.stride = n_stride;
            w.u = 0;
            w.v0 = 0.0;
            w.phi = acc;
            w.csize = csize;
            for (t = 0; t < f->n_trees; t++) {
                w.base = f->tree_start[t];
                shap_rec(&w, 0, 0);
            }
            share = (f->n_trees * iforest_c_of(f, (double)f->sample_size) - w.v0) / f->d;
            for (j = 0; j < f->d; j++)
                acc[j] = (share - acc[j]) * inv_t;
            continue;
        }
        for (t = 0; t < f->n_trees; t++)
            explain_rec(f, f->tree_start[t], 0, x + i, n_stride, 0, 1.0, acc);
        for (j = 0; j < f->d; j++)
            acc[j] *= inv_t;
    }
}

struct explain_job {
    const struct iforest *f;
    const double *x;
    size_t r0, r1, stride;
    double *attr, *poly;
    const double *csize;
};

static void *explain_worker(void *arg)
{
    struct explain_job *jb = arg;

    explain_rows(jb->f, jb->x, jb->r0, jb->r1, jb->stride, jb->attr, jb->poly, jb->csize);
    return NULL;
}

enum ml_status iforest_explain(const struct iforest *f, const double *x, size_t m,
                               size_t n_stride, double *attr, struct ml_err *err)
{
    return iforest_explain_mt(f, x, m, n_stride, attr, 1, err);
}

enum ml_status iforest_explain_mt(const struct iforest *f, const double *x, size_t m,
                                  size_t n_stride, double *attr, int threads,
                                  struct ml_err *err)
{
    size_t i, psz = (size_t)(IFOREST_DEPTH_MAX + 1) * (IFOREST_DEPTH_MAX + 1);
    int j, k, nt;
    double *poly = NULL, *csize = NULL;
    struct explain_job jobs[64];
    pthread_t tid[64];
    int running[64] = {0};
    enum ml_status st = check_rows_args(f, x, m, n_stride, attr, err);

    if (st != ML_OK)
        return st;
    if (!f->packed) {
        /* explanations read the public arrays: check them once */
        struct iforest_packed *p;
        st = iforest_pack(f, &p, err);
        if (st != ML_OK)
            return st;
        iforest_packed_free(p);
    }
    if (f->extension_level > 0 && (!f->fmin || !f->fmax))
        ML_FAIL(err, ML_EINVAL, "iforest: hyperplane explanations need fmin and fmax");
    if (f->missing == IFOREST_MISSING_FAIL)
        for (i = 0; i < m; i++)
            for (j = 0; j < f->d; j++)
                if (is_missing(x[(size_t)j * n_stride + i]))
                    return fail_missing(f, x, n_stride, i, j, err);
    /* Each row's explanation is independent (Shapley walks visit every
     * leaf: about 0.6 ms a row at 100 trees), so rows are split into
     * contiguous ranges, one per thread; the numbers do not depend on it. */
    nt = threads < 1 ? 1 : threads > 64 ? 64 : threads;
    if ((size_t)nt > m)
        nt = m ? (int)m : 1;
    if (f->extension_level == 0) {
        poly = malloc((size_t)nt * psz * sizeof *poly);
        csize = malloc((f->n_nodes ? f->n_nodes : 1) * sizeof *csize);
        if (!poly || !csize) {
            free(poly);
            free(csize);
            ML_FAIL(err, ML_ENOMEM, "iforest: out of memory explaining rows");
        }
        for (i = 0; i < f->n_nodes; i++)
            csize[i] = iforest_c_of(f, (double)f->size[i]);
        pthread_once(&shap_once, shap_weight_init);
    }
    for (k = 0; k < nt; k++) {
        jobs[k].f = f;
        jobs[k].x = x;
        jobs[k].stride = n_stride;
        jobs[k].attr = attr;
        jobs[k].r0 = m * (size_t)k / (size_t)nt;
        jobs[k].r1 = m * (size_t)(k + 1) / (size_t)nt;
        jobs[k].poly = poly ? poly + (size_t)k * psz : NULL;
        jobs[k].csize = csize;
    }
    for (k = 1; k < nt; k++) {
        running[k] = pthread_create(&tid[k], NULL, explain_worker, &jobs[k]) == 0;
        if (!running[k])
            explain_worker(&jobs[k]); /* no thread: that range here */
    }
    explain_worker(&jobs[0]);
    for (k = 1; k < nt; k++)
        if (running[k])
            pthread_join(tid[k], NULL);
    free(poly);
    free(csize);
    return ML_OK;
}
