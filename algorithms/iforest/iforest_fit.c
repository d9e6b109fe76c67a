/* iforest_fit.c: growing Isolation Forests.
 *
 * Entry points: iforest_options_default, iforest_alloc, iforest_fit,
 * iforest_free.
 *
 * Method: Liu, Ting & Zhou, "Isolation Forest", ICDM 2008, Algorithms 1-2
 * (iForest, iTree); TKDD 6(1), 2012, Sec. 4.  Each of t trees grows on psi
 * rows drawn without replacement; a node is external when it holds at most
 * one row, when its depth reaches the height limit l = ceil(log2 psi), or
 * when all its rows are identical; otherwise it splits on a random feature q
 * at p uniform in [min q, max q) over the node's rows.
 *
 * Decisions taken here, where the paper is silent:
 *  - A constant feature cannot split the node (Algorithm 2 would make an
 *    empty child), so features are drawn without replacement until one is
 *    not constant at the node: the split feature is uniform among the
 *    node's non-constant features.  scikit-learn's random splitter has the
 *    same distribution (it skips constant features while drawing; its
 *    "constant" is a range below 1e-7, ours is an exact tie).  If all are
 *    constant the rows are identical and the node is external.
 *  - Rows with x <= p go left, p in [min, max): the node's minimum always
 *    goes left and its maximum right, so both children are non-empty.  A p
 *    that rounds up to max is replaced by min (as scikit-learn does).
 *  - Extended trees (Hariri, Carrasco Kind & Brunner, IEEE TKDE 2019, Sec.
 *    3, Algorithm 2): the normal n has extension_level + 1 non-zero
 *    coordinates, each N(0, 1), chosen uniformly among the node's
 *    non-constant features (the classic rule above; at a root with no
 *    constant column this is exactly the paper), the intercept p is uniform
 *    in the node's bounding box, and a row goes left when n.x <= n.p.  The
 *    model stores n (coef) and n.p (split).  As in the paper a hyperplane may
 *    miss every row, leaving an empty external child (c(0) = 0).
 *  - Missing values (missing = divide): a node's range ignores them; a row
 *    missing the split feature (for a hyperplane: any coordinate with a
 *    non-zero coefficient) goes left with probability (left rows)/(rows with
 *    a value), drawn from the tree's stream; frac_left records the share of
 *    the node's rows that went left.  Data without missing values draw
 *    nothing extra, so both modes then give the same forest.
 *
 * Tree t draws from ml_rng stream (seed, t) alone, so the forest is the same
 * for any number of threads.  Rows are sampled by Floyd's algorithm (Bentley
 * & Floyd, "A sample of brilliance", CACM 30(9), 1987), so a tree
 * costs O(psi d) to sample, never O(n). */
#include "iforest.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "iforest_impl.h"
#include "ml_rng.h"

#define IFOREST_TREES_MAX 1000000
#define IFOREST_D_MAX 1000000

void iforest_options_default(struct iforest_options *o)
{
    memset(o, 0, sizeof *o);
    o->n_trees = 100;
    o->sample_size = 256;
    o->max_depth = 0;
    o->extension_level = 0;
    o->missing = IFOREST_MISSING_FAIL;
    o->contamination = 0.0;
    o->seed = 0;
    o->threads = 1;
    o->correction = IFOREST_C_EXACT;
}

void iforest_free(struct iforest *f)
{
    int j;

    if (!f)
        return;
    if (f->feature_names) {
        for (j = 0; j < f->d; j++)
            free(f->feature_names[j]);
        free(f->feature_names);
    }
    free(f->tree_start);
    free(f->left);
    free(f->right);
    free(f->feature);
    free(f->split);
    free(f->frac_left);
    free(f->size);
    free(f->coef);
    free(f->fmin);
    free(f->fmax);
    iforest_packed_free(f->packed);
    free(f);
}

enum ml_status iforest_alloc(struct iforest **out, int d, int n_trees, size_t n_nodes,
                             int extension_level, struct ml_err *err)
{
    struct iforest *f;
    size_t i;

    *out = NULL;
    if (d < 1 || d > IFOREST_D_MAX)
        ML_FAIL(err, ML_EINVAL, "iforest: d = %d features: must be in 1 ... %d", d,
                IFOREST_D_MAX);
    if (n_trees < 1 || n_trees > IFOREST_TREES_MAX)
        ML_FAIL(err, ML_EINVAL, "iforest: n_trees = %d: must be in 1 ... %d", n_trees,
                IFOREST_TREES_MAX);
    if (extension_level < 0 || extension_level > d - 1)
        ML_FAIL(err, ML_EINVAL, "iforest: extension_level = %d: must be in 0 ... d - 1 = %d",
                extension_level, d - 1);
    if (n_nodes < (size_t)n_trees)
        ML_FAIL(err, ML_EINVAL, "iforest: %zu nodes for %d trees: each tree needs a root",
                n_nodes, n_trees);
    if (n_nodes > INT32_MAX)
        ML_FAIL(err, ML_ELIMIT, "iforest: %zu nodes: at most %d fit the node indices", n_nodes,
                INT32_MAX);
    if (extension_level > 0 && n_nodes > SIZE_MAX / sizeof(double) / (size_t)d)
        ML_FAIL(err, ML_ELIMIT, "iforest: %zu nodes x %d coefficients overflow", n_nodes, d);

    f = calloc(1, sizeof *f);
    if (!f)
        ML_FAIL(err, ML_ENOMEM, "iforest: out of memory for the forest");
    f->d = d;
    f->n_trees = n_trees;
    f->n_nodes = n_nodes;
    f->extension_level = extension_level;
    f->missing = IFOREST_MISSING_FAIL;
    f->threshold = 0.5;
    f->offset = -0.5;
    f->feature_names = calloc((size_t)d, sizeof *f->feature_names);
    f->tree_start = calloc((size_t)n_trees + 1, sizeof *f->tree_start);
    f->left = malloc(n_nodes * sizeof *f->left);
    f->right = malloc(n_nodes * sizeof *f->right);
    f->feature = malloc(n_nodes * sizeof *f->feature);
    f->split = calloc(n_nodes, sizeof *f->split);
    f->frac_left = calloc(n_nodes, sizeof *f->frac_left);
    f->size = calloc(n_nodes, sizeof *f->size);
    f->fmin = calloc((size_t)d, sizeof *f->fmin);
    f->fmax = calloc((size_t)d, sizeof *f->fmax);
    if (extension_level > 0)
        f->coef = calloc(n_nodes * (size_t)d, sizeof *f->coef);
    if (!f->feature_names || !f->tree_start || !f->left || !f->right || !f->feature ||
        !f->split || !f->frac_left || !f->size || !f->fmin || !f->fmax ||
        (extension_level > 0 && !f->coef)) {
        iforest_free(f);
        ML_FAIL(err, ML_ENOMEM, "iforest: out of memory for %zu nodes", n_nodes);
    }
    for (i = 0; i < n_nodes; i++) {
        f->left[i] = -1;
        f->right[i] = -1;
        f->feature[i] = -1;
    }
    *out = f;
    return ML_OK;
}

/* ---- growing one tree ------------------------------------------------ */

struct bnode {                 /* a node while its tree grows */
    int32_t left, right;       /* local indices; -1 at external nodes */
    int32_t feature;           /* classic split feature, else -1 */
    uint32_t size;             /* training rows at the node */
    double split;              /* threshold or hyperplane offset n.p */
    double frac_left;          /* share of the node's rows that went left */
};

/* Everything one thread needs, sized once for psi rows and reused for each
 * of its trees: no allocation inside a tree's growth. */
struct grow_ws {
    const double *x;           /* training data, column-major, n rows */
    size_t n, psi;
    int d, ext, max_depth;
    int missing_possible;      /* the data hold a non-finite value (divide mode) */
    struct ml_rng rng;
    double *xs;                /* psi * d: the tree's sample, column-major */
    size_t *rows;              /* psi sampled row indices */
    size_t *hash;              /* Floyd's set: open addressing, row + 1, 0 = empty */
    size_t hcap;               /* power of two >= 2 psi */
    uint32_t *idx;             /* psi: sample positions, partitioned node by node */
    int *feats;                /* d: feature pool, a permutation */
    int *nzf;                  /* d: extended: non-constant features at the node */
    double *bmin, *bmax;       /* d: extended: node bounding box */
    double *dot;               /* psi: extended: n.x for the node's rows */
    size_t cap;                /* node capacity of one tree */
    struct bnode *nodes;       /* cap: the current tree */
    double *ncoef;             /* extended: cap * d */
    size_t len;                /* nodes used in the current tree */
    /* output: this thread's trees, appended */
    struct bnode *out;
    double *out_coef;
    size_t out_len, out_cap;
    enum ml_status status;     /* ML_OK or ML_ENOMEM from appending */
};

/* Floyd's algorithm: a uniform psi-subset of [0, n) with psi draws. */
static void sample_rows(struct grow_ws *w)
{
    size_t n = w->n, psi = w->psi, mask = w->hcap - 1, k = 0, j;

    if (psi == n) {
        for (j = 0; j < n; j++)
            w->rows[j] = j;
        return;
    }
    memset(w->hash, 0, w->hcap * sizeof *w->hash);
    for (j = n - psi; j < n; j++) {
        size_t t = (size_t)ml_rng_below(&w->rng, (uint64_t)j + 1), pick = t, h;
        /* insert t, or j if t is already in the set (j cannot be: all
         * members so far are < j) */
        for (h = (t * 0x9e3779b97f4a7c15ULL) >> 7 & mask; w->hash[h]; h = (h + 1) & mask)
            if (w->hash[h] == t + 1) {
                pick = j;
                break;
            }
        if (pick == j)
            for (h = (j * 0x9e3779b97f4a7c15ULL) >> 7 & mask; w->hash[h]; h = (h + 1) & mask)
                ;
        w->hash[h] = pick + 1;
        w->rows[k++] = pick;
    }
    /* Not sorted: a tree depends on the set of rows, not their order
     * (except which missing value draws which random number, which stays
     * deterministic), and 256 rows spread over a large x gain nothing from
     * order while qsort would cost most of the fit. */
}

static int is_missing(double v)
{
    return !isfinite(v);
}

/* Partition idx[lo, hi) by val (classic: the feature's column, indexed by
 * sample position idx[q]; extended, by_pos: n.x in dot[q], swapped along):
 * value <= split goes left.  Missing values (divide mode) go left with
 * probability (left rows)/(rows with a value); dot[] is stale afterwards
 * (children recompute it).  Returns the first right position; *frac = share
 * of the rows that went left. */
static size_t partition(struct grow_ws *w, const double *val, int by_pos, size_t lo, size_t hi,
                        double split, double *frac)
{
    uint32_t *idx = w->idx;
    size_t i = lo, j = hi, nv, k;

#define VAL(q) (by_pos ? val[q] : val[idx[q]])
    if (w->missing_possible) {
        /* missing rows to the end: [lo, j) have a value, [j, hi) do not */
        while (i < j) {
            if (is_missing(VAL(i))) {
                uint32_t t;
                double tv;
                j--;
                t = idx[i];
                idx[i] = idx[j];
                idx[j] = t;
                if (by_pos) {
                    tv = w->dot[i];
                    w->dot[i] = w->dot[j];
                    w->dot[j] = tv;
                }
            } else {
                i++;
            }
        }
    }
    nv = j;
    i = lo;
    while (i < j) {
        if (VAL(i) <= split) {
            i++;
        } else {
            uint32_t t;
            double tv;
            j--;
            t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
            if (by_pos) {
                tv = w->dot[i];
                w->dot[i] = w->dot[j];
                w->dot[j] = tv;
            }
        }
    }
#undef VAL
    /* [lo, i) left, [i, nv) right, [nv, hi) missing */
    if (nv < hi) {
        double p = nv > lo ? (double)(i - lo) / (double)(nv - lo) : 0.5;
        for (k = nv; k < hi; k++)
            if (ml_rng_uniform(&w->rng) < p) {
                uint32_t t = idx[i];
                idx[i] = idx[k];
                idx[k] = t;
                i++;
            }
    }
    *frac = (double)(i - lo) / (double)(hi - lo);
    return i;
}

/* Classic split: draw features without replacement until one is not
 * constant among the node's rows.  Returns 0 if all are constant. */
static int split_classic(struct grow_ws *w, size_t lo, size_t hi, int32_t *feature,
                         double *split)
{
    int k = w->d;

    while (k > 0) {
        int r = (int)ml_rng_below(&w->rng, (uint64_t)k), f = w->feats[r];
        const double *col = w->xs + (size_t)f * w->psi;
        double mn = HUGE_VAL, mx = -HUGE_VAL;
        size_t i;

        for (i = lo; i < hi; i++) {
            double v = col[w->idx[i]];
            /* comparisons with NaN are false, so missing values drop out */
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
        }
        if (mn < mx) {
            double p = mn + ml_rng_uniform(&w->rng) * (mx - mn);
            if (!(p < mx))
                p = mn;
            *feature = f;
            *split = p;
            return 1;
        }
        w->feats[r] = w->feats[k - 1];
        w->feats[k - 1] = f;
        k--;
    }
    return 0;
}

/* Extended split (Hariri et al. 2019, Algorithm 2): fills coef (d values)
 * and *split = n.p, and w->dot[lo..hi) = n.x.  Returns 0 if every feature is
 * constant at the node. */
static int split_extended(struct grow_ws *w, size_t lo, size_t hi, double *coef,
                          double *split)
{
    int d = w->d, j, q = 0, kk, s;
    size_t i;
    double sp = 0.0;

    for (j = 0; j < d; j++) {
        const double *col = w->xs + (size_t)j * w->psi;
        double mn = HUGE_VAL, mx = -HUGE_VAL;
        for (i = lo; i < hi; i++) {
            double v = col[w->idx[i]];
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
        }
        w->bmin[j] = mn;
        w->bmax[j] = mx;
        if (mn < mx)
            w->nzf[q++] = j;
    }
    if (q == 0)
        return 0;
    kk = w->ext + 1 < q ? w->ext + 1 : q;
    /* partial Fisher-Yates: nzf[0..kk) a uniform kk-subset */
    for (s = 0; s < kk; s++) {
        int r = s + (int)ml_rng_below(&w->rng, (uint64_t)(q - s)), t = w->nzf[r];
        w->nzf[r] = w->nzf[s];
        w->nzf[s] = t;
    }
    memset(coef, 0, (size_t)d * sizeof *coef);
    for (s = 0; s < kk; s++)
        coef[w->nzf[s]] = 1.0; /* mark; drawn below in ascending order */
    for (j = 0; j < d; j++) {
        if (coef[j] != 0.0) {
            double p = w->bmin[j] + ml_rng_uniform(&w->rng) * (w->bmax[j] - w->bmin[j]);
            double c;
            if (!(p <= w->bmax[j]))
                p = w->bmin[j];
            do {
                c = ml_rng_normal(&w->rng);
            } while (c == 0.0); /* keep the coordinate: zero marks "unused" */
            coef[j] = c;
            sp += c * p;
        }
    }
    *split = sp;
    for (i = lo; i < hi; i++)
        w->dot[i] = iforest_dot_dense(coef, d, w->xs + w->idx[i], w->psi);
    return 1;
}

static void make_leaf(struct bnode *nd)
{
    nd->left = nd->right = -1;
    nd->feature = -1;
    nd->split = 0.0;
    nd->frac_left = 0.0;
}

/* Grow the subtree of node v over idx[lo, hi) at depth `depth`. */
static void grow(struct grow_ws *w, int32_t v, size_t lo, size_t hi, int depth)
{
    struct bnode *nd = &w->nodes[v];
    size_t mid;
    int32_t l;
    double frac;

    nd->size = (uint32_t)(hi - lo);
    if (w->ext > 0) /* external nodes keep a zero normal */
        memset(w->ncoef + (size_t)v * (size_t)w->d, 0, (size_t)w->d * sizeof *w->ncoef);
    if (hi - lo <= 1 || depth >= w->max_depth) {
        make_leaf(nd);
        return;
    }
    if (w->ext == 0) {
        int32_t f;
        double p;
        if (!split_classic(w, lo, hi, &f, &p)) {
            make_leaf(nd);
            return;
        }
        mid = partition(w, w->xs + (size_t)f * w->psi, 0, lo, hi, p, &frac);
        nd->feature = f;
        nd->split = p;
    } else {
        double *coef = w->ncoef + (size_t)v * (size_t)w->d, p;
        if (!split_extended(w, lo, hi, coef, &p)) {
            make_leaf(nd);
            return;
        }
        /* dot[] is indexed by position: partition it along with idx */
        mid = partition(w, w->dot, 1, lo, hi, p, &frac);
        nd->feature = -1;
        nd->split = p;
    }
    nd->frac_left = frac;
    l = (int32_t)w->len;
    w->len += 2;
    nd->left = l;
    nd->right = l + 1;
    grow(w, l, lo, mid, depth + 1);
    grow(w, l + 1, mid, hi, depth + 1);
}

/* Append the finished tree to the thread's output. */
static int append_tree(struct grow_ws *w)
{
    size_t need = w->out_len + w->len, d = (size_t)w->d;

    if (need > w->out_cap) {
        size_t cap = w->out_cap ? w->out_cap : 4 * w->len;
        struct bnode *o;
        while (cap < need)
            cap *= 2;
        o = realloc(w->out, cap * sizeof *o);
        if (!o)
            return -1;
        w->out = o;
        if (w->ext > 0) {
            double *c = realloc(w->out_coef, cap * d * sizeof *c);
            if (!c)
                return -1;
            w->out_coef = c;
        }
        w->out_cap = cap;
    }
    memcpy(w->out + w->out_len, w->nodes, w->len * sizeof *w->nodes);
    if (w->ext > 0)
        memcpy(w->out_coef + w->out_len * d, w->ncoef, w->len * d * sizeof *w->ncoef);
    w->out_len = need;
    return 0;
}

static void grow_ws_free(struct grow_ws *w)
{
    free(w->xs);
    free(w->rows);
    free(w->hash);
    free(w->idx);
    free(w->feats);
    free(w->nzf);
    free(w->bmin);
    free(w->bmax);
    free(w->dot);
    free(w->nodes);
    free(w->ncoef);
    free(w->out);
    free(w->out_coef);
}

/* Node capacity of one tree: with axis-parallel cuts both children are
 * non-empty, so at most 2 psi - 1 nodes; a hyperplane may leave a child
 * empty, and then internal nodes (>= 2 rows each, disjoint within a level)
 * number at most psi/2 per level. */
static size_t tree_capacity(size_t psi, int max_depth, int ext)
{
    size_t full = max_depth < 40 ? ((size_t)1 << (max_depth + 1)) - 1 : SIZE_MAX;
    size_t bound = ext == 0 ? 2 * psi - 1 : (size_t)max_depth * psi + 1;
    return full < bound ? full : bound;
}

static int grow_ws_init(struct grow_ws *w, const double *x, size_t n, int d, size_t psi,
                        int max_depth, int ext, int missing_possible)
{
    int j;

    memset(w, 0, sizeof *w);
    w->x = x;
    w->n = n;
    w->psi = psi;
    w->d = d;
    w->ext = ext;
    w->max_depth = max_depth;
    w->missing_possible = missing_possible;
    w->hcap = 16;
    while (w->hcap < 2 * psi)
        w->hcap *= 2;
    w->cap = tree_capacity(psi, max_depth, ext);
    w->xs = malloc(psi * (size_t)d * sizeof *w->xs);
    w->rows = malloc(psi * sizeof *w->rows);
    w->hash = malloc(w->hcap * sizeof *w->hash);
    w->idx = malloc(psi * sizeof *w->idx);
    w->feats = malloc((size_t)d * sizeof *w->feats);
    w->nodes = malloc(w->cap * sizeof *w->nodes);
    if (w->ext > 0) {
        w->nzf = malloc((size_t)d * sizeof *w->nzf);
        w->bmin = malloc((size_t)d * sizeof *w->bmin);
        w->bmax = malloc((size_t)d * sizeof *w->bmax);
        w->dot = malloc(psi * sizeof *w->dot);
        w->ncoef = malloc(w->cap * (size_t)d * sizeof *w->ncoef);
    }
    if (!w->xs || !w->rows || !w->hash || !w->idx || !w->feats || !w->nodes ||
        (w->ext > 0 && (!w->nzf || !w->bmin || !w->bmax || !w->dot || !w->ncoef)))
        return -1;
    for (j = 0; j < d; j++)
        w->feats[j] = j;
    return 0;
}

static int grow_tree(struct grow_ws *w, uint64_t seed, int t)
{
    size_t r, psi = w->psi;
    int j;

    ml_rng_seed(&w->rng, seed, (uint64_t)t);
    sample_rows(w);
    for (j = 0; j < w->d; j++) {
        const double *col = w->x + (size_t)j * w->n;
        double *dst = w->xs + (size_t)j * psi;
        for (r = 0; r < psi; r++)
            dst[r] = col[w->rows[r]];
        /* +-inf counts as missing: as NaN it drops out of every range and
         * comparison below */
        if (w->missing_possible)
            for (r = 0; r < psi; r++)
                if (is_missing(dst[r]))
                    dst[r] = NAN;
    }
    for (r = 0; r < psi; r++)
        w->idx[r] = (uint32_t)r;
    /* the feature pool restarts in order, so tree t does not depend on
     * which trees the same thread grew before it */
    for (j = 0; j < w->d; j++)
        w->feats[j] = j;
    w->len = 1;
    grow(w, 0, 0, psi, 0);
    return append_tree(w);
}

struct fit_job {
    struct grow_ws ws;
    int n_trees;
    uint64_t seed;
    int first, step;           /* trees first, first + step, ... */
    size_t *tree_len;          /* shared, n_trees: nodes of each tree */
    size_t *tree_off;          /* shared, n_trees: offset in this job's output */
};

static void *fit_worker(void *arg)
{
    struct fit_job *jb = arg;
    int t;

    for (t = jb->first; t < jb->n_trees; t += jb->step) {
        jb->tree_off[t] = jb->ws.out_len;
        if (grow_tree(&jb->ws, jb->seed, t) != 0) {
            jb->ws.status = ML_ENOMEM;
            return NULL;
        }
        jb->tree_len[t] = jb->ws.len;
    }
    return NULL;
}

/* ---- data checks ----------------------------------------------------- */

struct range_job {
    const double *x;
    size_t n;
    int j0, j1;                /* features [j0, j1) */
    double *fmin, *fmax;
    size_t bad_row;            /* first non-finite value: row, feature (or n) */
    int bad_feature;
    int any_missing;
};

/* Minimum and maximum of col[0..n) and whether any value is non-finite,
 * in one branch-free pass: this scan is most of the fit's time for large n
 * (64 MB at 1e6 x 8).  minpd(a, m) returns m when a is NaN, so NaN drops
 * out; v * 0 is NaN exactly when v is NaN or +-inf.  Returns 1 if a
 * non-finite value was seen (then *mn, *mx are not meaningful). */
static int scan_column(const double *col, size_t n, double *mn, double *mx)
{
    size_t i = 0;
    double lo = HUGE_VAL, hi = -HUGE_VAL;
    int bad = 0;

#ifdef __SSE2__
    {
        __m128d mn0 = _mm_set1_pd(HUGE_VAL), mn1 = mn0, mx0 = _mm_set1_pd(-HUGE_VAL),
                mx1 = mx0, nf = _mm_setzero_pd(), z = _mm_setzero_pd();
        double t[2];
        for (; i + 4 <= n; i += 4) {
            __m128d a = _mm_loadu_pd(col + i), b = _mm_loadu_pd(col + i + 2);
            __m128d pa = _mm_mul_pd(a, z), pb = _mm_mul_pd(b, z);
            mn0 = _mm_min_pd(a, mn0);
            mn1 = _mm_min_pd(b, mn1);
            mx0 = _mm_max_pd(a, mx0);
            mx1 = _mm_max_pd(b, mx1);
            nf = _mm_or_pd(nf, _mm_or_pd(_mm_cmpunord_pd(pa, pa), _mm_cmpunord_pd(pb, pb)));
        }
        bad = _mm_movemask_pd(nf) != 0;
        _mm_storeu_pd(t, _mm_min_pd(mn0, mn1));
        lo = t[0] < t[1] ? t[0] : t[1];
        _mm_storeu_pd(t, _mm_max_pd(mx0, mx1));
        hi = t[0] > t[1] ? t[0] : t[1];
    }
#endif
    for (; i < n; i++) {
        double v = col[i];
        bad |= !(v - v == 0.0);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    *mn = lo;
    *mx = hi;
    return bad;
}

static void *range_worker(void *arg)
{
    struct range_job *r = arg;
    int j;

    r->bad_row = r->n;
    r->bad_feature = -1;
    for (j = r->j0; j < r->j1; j++) {
        const double *col = r->x + (size_t)j * r->n;
        double mn, mx;
        size_t i, first = r->n;

        if (scan_column(col, r->n, &mn, &mx)) {
            /* a missing value: find the first, range over finite values */
            mn = HUGE_VAL;
            mx = -HUGE_VAL;
            for (i = 0; i < r->n; i++) {
                double v = col[i];
                int ok = v - v == 0.0;
                if (!ok && first == r->n)
                    first = i;
                mn = ok && v < mn ? v : mn;
                mx = ok && v > mx ? v : mx;
            }
        }
        r->fmin[j] = mn;
        r->fmax[j] = mx;
        if (first < r->n) {
            r->any_missing = 1;
            if (first < r->bad_row) {
                r->bad_row = first;
                r->bad_feature = j;
            }
        }
    }
    return NULL;
}

/* numpy.percentile(a, q) with the default method "linear" (Hyndman & Fan
 * 1996, definition 7): a sorted ascending, virtual index (n - 1) * q / 100,
 * and numpy's _lerp, which interpolates from the nearer end. */
static double percentile_linear(const double *a, size_t n, double q)
{
    double quant = q / 100.0, vi = (double)(n - 1) * quant, g, lo, hi, diff;
    size_t k;

    if (!(vi > 0.0))
        return a[0];
    if (vi >= (double)(n - 1))
        return a[n - 1];
    k = (size_t)floor(vi);
    g = vi - (double)k;
    lo = a[k];
    hi = a[k + 1];
    diff = hi - lo;
    return g >= 0.5 ? hi - diff * (1.0 - g) : lo + diff * g;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- iforest_fit ------------------------------------------------------ */

static enum ml_status check_options(const struct iforest_options *o, size_t n, int d,
                                    struct ml_err *err)
{
    if (d < 1 || d > IFOREST_D_MAX)
        ML_FAIL(err, ML_EINVAL, "iforest: d = %d features: must be in 1 ... %d", d,
                IFOREST_D_MAX);
    if (n < 2)
        ML_FAIL(err, ML_EINVAL, "iforest: %zu training rows: need at least 2", n);
    if (o->n_trees < 1 || o->n_trees > IFOREST_TREES_MAX)
        ML_FAIL(err, ML_EINVAL, "iforest: n_trees = %d: must be in 1 ... %d", o->n_trees,
                IFOREST_TREES_MAX);
    if (o->sample_size < 2)
        ML_FAIL(err, ML_EINVAL, "iforest: sample_size = %zu: must be >= 2", o->sample_size);
    if (o->max_depth < 0 || o->max_depth > IFOREST_DEPTH_MAX)
        ML_FAIL(err, ML_EINVAL, "iforest: max_depth = %d: must be 0 (auto) or 1 ... %d",
                o->max_depth, IFOREST_DEPTH_MAX);
    if (o->extension_level < 0 || o->extension_level > d - 1)
        ML_FAIL(err, ML_EINVAL,
                "iforest: extension_level = %d: must be in 0 ... d - 1 = %d (%d features)",
                o->extension_level, d - 1, d);
    if (o->missing != IFOREST_MISSING_FAIL && o->missing != IFOREST_MISSING_DIVIDE)
        ML_FAIL(err, ML_EINVAL, "iforest: missing = %d: must be fail (0) or divide (1)",
                (int)o->missing);
    if (isnan(o->contamination) || o->contamination > 0.5)
        ML_FAIL(err, ML_EINVAL,
                "iforest: contamination = %g: must be <= 0 (auto) or in (0, 0.5]",
                o->contamination);
    if (o->threads < 1)
        ML_FAIL(err, ML_EINVAL, "iforest: threads = %d: must be >= 1", o->threads);
    if (o->correction != IFOREST_C_EXACT && o->correction != IFOREST_C_ASYMPTOTIC)
        ML_FAIL(err, ML_EINVAL, "iforest: correction = %d: must be exact (0) or asymptotic (1)",
                (int)o->correction);
    return ML_OK;
}

/* Run fn over jobs[0..njobs) on njobs threads (the first on the caller). */
static int run_jobs(void *(*fn)(void *), void *jobs, size_t job_size, int njobs)
{
    pthread_t tid[IFOREST_THREADS_MAX];
    int started = 0, k, rc = 0;
    char *base = jobs;

    for (k = 1; k < njobs; k++) {
        if (pthread_create(&tid[k], NULL, fn, base + (size_t)k * job_size) != 0) {
            rc = -1;
            break;
        }
        started = k;
    }
    if (rc == 0)
        fn(base);
    for (k = 1; k <= started; k++)
        pthread_join(tid[k], NULL);
    return rc;
}

/* Training range of every feature into fmin/fmax (finite values only; NaN
 * for a column without one) and *any_missing; with missing = fail, the
 * first missing value (lowest row, then feature) is an error. */
static enum ml_status scan_ranges(const double *x, size_t n, int d, const char *const *names,
                                  const struct iforest_options *o, double *fmin, double *fmax,
                                  int *any_missing, struct ml_err *err)
{
    struct range_job rj[IFOREST_THREADS_MAX];
    size_t bad_row = n;
    int k, j, bad_feature = -1;
    int nrj = o->threads < d ? o->threads : d;

    if (nrj > IFOREST_THREADS_MAX)
        nrj = IFOREST_THREADS_MAX;
    for (k = 0; k < nrj; k++) {
        memset(&rj[k], 0, sizeof rj[k]);
        rj[k].x = x;
        rj[k].n = n;
        rj[k].j0 = (int)((long long)d * k / nrj);
        rj[k].j1 = (int)((long long)d * (k + 1) / nrj);
        rj[k].fmin = fmin;
        rj[k].fmax = fmax;
    }
    if (run_jobs(range_worker, rj, sizeof rj[0], nrj) != 0)
        ML_FAIL(err, ML_ENOMEM, "iforest: cannot start %d threads", nrj);
    *any_missing = 0;
    for (k = 0; k < nrj; k++) {
        *any_missing |= rj[k].any_missing;
        if (rj[k].bad_row < bad_row ||
            (rj[k].bad_row == bad_row && rj[k].bad_feature < bad_feature)) {
            bad_row = rj[k].bad_row;
            bad_feature = rj[k].bad_feature;
        }
    }
    if (*any_missing && o->missing == IFOREST_MISSING_FAIL) {
        double v = x[(size_t)bad_feature * n + bad_row];
        if (names && names[bad_feature])
            ML_FAIL(err, ML_EDOM,
                    "iforest: row %zu, feature \"%s\": value %g is missing or not finite "
                    "(missing = fail; use missing = divide to accept it)",
                    bad_row + 1, names[bad_feature], v);
        ML_FAIL(err, ML_EDOM,
                "iforest: row %zu, feature %d: value %g is missing or not finite "
                "(missing = fail; use missing = divide to accept it)",
                bad_row + 1, bad_feature + 1, v);
    }
    for (j = 0; j < d; j++)
        if (!(fmin[j] <= fmax[j])) { /* no finite value in the column */
            fmin[j] = NAN;
            fmax[j] = NAN;
        }
    return ML_OK;
}

/* Copy the trees grown by the jobs into f's arrays, tree by tree in order. */
static void assemble(struct iforest *f, const struct fit_job *jobs, int njobs,
                     const size_t *tree_len, const size_t *tree_off)
{
    size_t total = 0, d = (size_t)f->d;
    int t;

    for (t = 0; t < f->n_trees; t++) {
        const struct grow_ws *w = &jobs[t % njobs].ws;
        const struct bnode *src = w->out + tree_off[t];
        size_t i;
        f->tree_start[t] = total;
        for (i = 0; i < tree_len[t]; i++) {
            f->left[total + i] = src[i].left;
            f->right[total + i] = src[i].right;
            f->feature[total + i] = src[i].feature;
            f->split[total + i] = src[i].split;
            f->frac_left[total + i] = src[i].frac_left;
            f->size[total + i] = src[i].size;
        }
        if (f->coef)
            memcpy(f->coef + total * d, w->out_coef + tree_off[t] * d,
                   tree_len[t] * d * sizeof *f->coef);
        total += tree_len[t];
    }
    f->tree_start[f->n_trees] = total;
}

/* Threshold: scikit-learn's offset_ = percentile(score_samples(X),
 * 100 * contamination) with score_samples = -s; "auto" is s = 0.5. */
static enum ml_status set_threshold(struct iforest *f, const double *x, size_t n,
                                    const struct iforest_options *o, struct ml_err *err)
{
    double *s;
    size_t i;
    enum ml_status st;

    if (!(o->contamination > 0.0)) {
        f->threshold = 0.5;
        f->offset = -0.5;
        return ML_OK;
    }
    s = malloc(n * sizeof *s);
    if (!s)
        ML_FAIL(err, ML_ENOMEM, "iforest: out of memory scoring %zu training rows", n);
    st = iforest_score(f, x, n, n, s, o->threads, err);
    if (st == ML_OK) {
        for (i = 0; i < n; i++)
            s[i] = -s[i];
        qsort(s, n, sizeof *s, cmp_double);
        f->offset = percentile_linear(s, n, 100.0 * o->contamination);
        f->threshold = -f->offset;
    }
    free(s);
    return st;
}

enum ml_status iforest_fit(const double *x, size_t n, int d, const char *const *names,
                           const struct iforest_options *o, struct iforest **out,
                           struct ml_err *err)
{
    struct iforest *f = NULL;
    struct fit_job *jobs = NULL;
    double *fmin = NULL, *fmax = NULL;
    size_t *tree_len = NULL, *tree_off = NULL, total, psi;
    int njobs = 0, k, j, t, max_depth, missing_possible = 0;
    enum ml_status st;

    *out = NULL;
    st = check_options(o, n, d, err);
    if (st != ML_OK)
        return st;
    if (!x)
        ML_FAIL(err, ML_EINVAL, "iforest: no training data (NULL)");
    psi = o->sample_size < n ? o->sample_size : n;
    if (psi > (size_t)INT32_MAX / 2)
        ML_FAIL(err, ML_ELIMIT, "iforest: sample_size = %zu: at most %d rows per tree", psi,
                INT32_MAX / 2);
    max_depth = o->max_depth > 0 ? o->max_depth : (int)ceil(log2((double)psi));

    fmin = malloc((size_t)d * sizeof *fmin);
    fmax = malloc((size_t)d * sizeof *fmax);
    if (!fmin || !fmax) {
        st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "iforest: out of memory");
        goto cleanup;
    }
    st = scan_ranges(x, n, d, names, o, fmin, fmax, &missing_possible, err);
    if (st != ML_OK)
        goto cleanup;

    /* Grow the trees: tree t on job t % njobs, from stream (seed, t). */
    njobs = o->threads < o->n_trees ? o->threads : o->n_trees;
    if (njobs > IFOREST_THREADS_MAX)
        njobs = IFOREST_THREADS_MAX;
    jobs = calloc((size_t)njobs, sizeof *jobs);
    tree_len = calloc((size_t)o->n_trees, sizeof *tree_len);
    tree_off = calloc((size_t)o->n_trees, sizeof *tree_off);
    if (!jobs || !tree_len || !tree_off) {
        st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "iforest: out of memory");
        goto cleanup;
    }
    for (k = 0; k < njobs; k++) {
        if (grow_ws_init(&jobs[k].ws, x, n, d, psi, max_depth, o->extension_level,
                         missing_possible) != 0) {
            st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__,
                         "iforest: out of memory for the tree workspace (sample_size %zu)",
                         psi);
            goto cleanup;
        }
        jobs[k].n_trees = o->n_trees;
        jobs[k].seed = o->seed;
        jobs[k].first = k;
        jobs[k].step = njobs;
        jobs[k].tree_len = tree_len;
        jobs[k].tree_off = tree_off;
    }
    if (run_jobs(fit_worker, jobs, sizeof jobs[0], njobs) != 0) {
        st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "iforest: cannot start %d threads",
                     njobs);
        goto cleanup;
    }
    for (k = 0; k < njobs; k++)
        if (jobs[k].ws.status != ML_OK) {
            st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__,
                         "iforest: out of memory storing the trees");
            goto cleanup;
        }

    total = 0;
    for (t = 0; t < o->n_trees; t++)
        total += tree_len[t];
    st = iforest_alloc(&f, d, o->n_trees, total, o->extension_level, err);
    if (st != ML_OK)
        goto cleanup;
    f->sample_size = psi;
    f->max_depth = max_depth;
    f->missing = o->missing;
    f->correction = o->correction;
    f->seed = o->seed;
    f->contamination = o->contamination > 0.0 ? o->contamination : 0.0;
    free(f->fmin);
    free(f->fmax);
    f->fmin = fmin;
    f->fmax = fmax;
    fmin = fmax = NULL;
    for (j = 0; j < d; j++) {
        char buf[32];
        const char *nm = names && names[j] ? names[j] : NULL;
        size_t len;
        if (!nm) {
            snprintf(buf, sizeof buf, "x%d", j + 1);
            nm = buf;
        }
        len = strlen(nm) + 1;
        f->feature_names[j] = malloc(len);
        if (!f->feature_names[j]) {
            st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "iforest: out of memory");
            goto cleanup;
        }
        memcpy(f->feature_names[j], nm, len);
    }
    assemble(f, jobs, njobs, tree_len, tree_off);
    st = iforest_prepare(f, err);
    if (st == ML_OK)
        st = set_threshold(f, x, n, o, err);

cleanup:
    if (jobs)
        for (k = 0; k < njobs; k++)
            grow_ws_free(&jobs[k].ws);
    free(jobs);
    free(tree_len);
    free(tree_off);
    free(fmin);
    free(fmax);
    if (st != ML_OK) {
        iforest_free(f);
        return st;
    }
    *out = f;
    return ML_OK;
}
