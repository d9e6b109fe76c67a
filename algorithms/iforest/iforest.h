/* iforest.h: Isolation Forests (Liu, Ting & Zhou, "Isolation Forest", ICDM
 * 2008; TKDD 6(1), 2012) and the Extended Isolation Forest (Hariri, Carrasco
 * Kind & Brunner, IEEE TKDE 2019), with per-feature explanations of each
 * score.
 *
 * Model: n_trees trees, each grown on sample_size rows drawn without
 * replacement; at each node a random feature (or, with extension_level > 0,
 * a random hyperplane) and a uniform split between the node's min and max;
 * height limit max_depth (default ceil(log2 sample_size)).  Path length
 * h(x) = edges to the external node + c(size), c(n) = 2H(n-1) - 2(n-1)/n with
 * exact harmonic numbers for small n (paper Eq. 1); score
 * s = 2^(-E[h(x)] / c(sample_size)) in (0, 1), higher = more anomalous.
 * scikit-learn's outputs: score_samples = -s, offset (threshold),
 * decision_function = score_samples - offset, predict = +1 normal / -1 anomaly.
 *
 * Explanations: along a row's path, each split on feature j shortens the
 * path relative to the expected depth of the subtree it leaves; the
 * attributions sum, per tree and averaged over trees, to the row's total
 * deficit c(sample_size) - h(x) (see iforest_explain).
 *
 * The struct is transparent (structure-of-arrays nodes) so the HDF5 writer
 * can serialise it.  A fitted forest is immutable; scoring is thread-safe.
 * The forest is identical for a given seed whatever the number of threads. */
#ifndef ML_IFOREST_H
#define ML_IFOREST_H

#include <stddef.h>
#include <stdint.h>

#include "ml_status.h"

enum iforest_missing {          /* stored in model files: append only */
    IFOREST_MISSING_FAIL = 0,   /* a NaN in a feature is an error */
    IFOREST_MISSING_DIVIDE = 1  /* send the row down both branches, weighted by the
                                   training fractions (isotree's "divide") */
};

struct iforest_options {
    int n_trees;                /* default 100 */
    size_t sample_size;         /* default 256, capped at n */
    int max_depth;              /* 0 = ceil(log2(sample_size)) */
    int extension_level;        /* 0 = classic axis-parallel cuts; <= d - 1 */
    enum iforest_missing missing;
    double contamination;       /* <= 0: "auto" (threshold s = 0.5); else in (0, 0.5] */
    uint64_t seed;
    int threads;                /* >= 1; results do not depend on it */
};

void iforest_options_default(struct iforest_options *o);

/* Nodes of all trees, structure of arrays; tree t's nodes are
 * [tree_start[t], tree_start[t + 1]).  Node 0 of a tree is its root.
 * Internal node: left/right child indices (relative to the tree start),
 * feature (classic) or the hyperplane (normal vector in `coef`, offset
 * `split`), split value.  External node: left = -1; size = training rows
 * that reached it (for c(size)). */
struct iforest {
    int d;                      /* number of features */
    char **feature_names;       /* owned, d names */
    int n_trees;
    size_t sample_size;         /* psi actually used (min(option, n)) */
    int max_depth;
    int extension_level;
    enum iforest_missing missing;
    uint64_t seed;
    double contamination;       /* as given (<= 0 for auto) */
    double threshold;           /* score s above which a row is anomalous */
    double offset;              /* scikit-learn offset_ = -threshold */
    size_t *tree_start;         /* owned, n_trees + 1 */
    size_t n_nodes;
    int32_t *left, *right;      /* owned, n_nodes; -1 for external nodes */
    int32_t *feature;           /* owned, n_nodes; classic splits (-1: hyperplane or leaf) */
    double *split;              /* owned, n_nodes: threshold (classic) or hyperplane offset */
    double *frac_left;          /* owned, n_nodes: share of the node's training rows going
                                   left (for missing = divide) */
    uint32_t *size;             /* owned, n_nodes: training rows at the node */
    double *coef;               /* owned, n_nodes * d hyperplane normals (extended only), or NULL */
    double *fmin, *fmax;        /* owned, d: training range per feature (for the manifest) */
};

/* Fit on x: n rows, d features, column-major (x[j * n + i]) like ml_table
 * columns; names[j] label the features (copied).  Errors: ML_EINVAL (bad
 * options, naming them), ML_EDOM (NaN with missing = fail: row and feature
 * named), ML_ENOMEM. */
enum ml_status iforest_fit(const double *x, size_t n, int d, const char *const *names,
                           const struct iforest_options *o, struct iforest **out,
                           struct ml_err *err);

void iforest_free(struct iforest *f);

/* Paper scores s in (0, 1) for m rows of x (column-major, stride n_stride
 * between columns, i.e. x[j * n_stride + i]); out[i] = s.  Streams: no
 * memory beyond the output.  Threads split the rows. */
enum ml_status iforest_score(const struct iforest *f, const double *x, size_t m,
                             size_t n_stride, double *out, int threads, struct ml_err *err);

/* Expected path length E[h(x)] per row (the quantity behind the score). */
enum ml_status iforest_path_length(const struct iforest *f, const double *x, size_t m,
                                   size_t n_stride, double *out, int threads,
                                   struct ml_err *err);

/* Per-feature attributions for m rows: attr[i * d + j] = how much feature
 * j's splits shortened row i's path, averaged over trees, such that
 * sum_j attr[i * d + j] = c(sample_size) - E[h(x_i)] (the row's deficit;
 * negative for rows deeper than average). */
enum ml_status iforest_explain(const struct iforest *f, const double *x, size_t m,
                               size_t n_stride, double *attr, struct ml_err *err);

/* c(n) of the paper: average path length of an unsuccessful BST search. */
double iforest_c(double n);

#endif
