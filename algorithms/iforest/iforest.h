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
 * Explanations: per feature, how much it shortened the row's path: the
 * Shapley values of the path length of each tree (axis-parallel trees) or
 * each split's telescoping share (hyperplanes), summing, per tree and
 * averaged over trees, to the row's total deficit c(sample_size) - h(x)
 * (see iforest_explain).
 *
 * The struct is transparent (structure-of-arrays nodes) so the HDF5 writer
 * can serialise it.  A fitted forest is immutable; scoring is thread-safe.
 * The forest is identical for a given seed whatever the number of threads:
 * tree t draws from ml_rng stream (seed, t) only.
 *
 * Missing values: NaN and +-inf are both "missing" (a non-finite sensor value
 * carries no position to compare).  With IFOREST_MISSING_FAIL fitting and
 * scoring fail with ML_EDOM naming the row and feature; with
 * IFOREST_MISSING_DIVIDE see enum iforest_missing.
 *
 * A forest built by hand or loaded from a file: allocate it with
 * iforest_alloc, fill the arrays, then call iforest_prepare, which checks
 * every index and value and builds the scoring layout (`packed`).  Scoring a
 * forest without `packed` still works but builds that layout for each call. */
#ifndef ML_IFOREST_H
#define ML_IFOREST_H

#include <stddef.h>
#include <stdint.h>

#include "ml_status.h"

struct iforest_packed;

enum iforest_missing {          /* stored in model files: append only */
    IFOREST_MISSING_FAIL = 0,   /* a NaN in a feature is an error */
    IFOREST_MISSING_DIVIDE = 1  /* send the row down both branches, weighted by the
                                   training fractions (isotree's "divide").  At fit a
                                   training row missing the split feature goes left
                                   with probability (left rows)/(rows with a value) */
};

#define IFOREST_DEPTH_MAX 64    /* cap on max_depth and on any tree's depth */

/* The path-length correction c(n) at an external node of n training rows
 * and in the normalisation c(psi).  EXACT is the paper's 2H(n-1) -
 * 2(n-1)/n with the exact harmonic number (the default); ASYMPTOTIC is
 * scikit-learn's _average_path_length, H(i) taken as ln i + Euler's
 * gamma for every n > 2, for scores that follow scikit-learn's own
 * (c(3) = 1.21 against the exact 5/3).  Stored in the model (appended only). */
enum iforest_correction { IFOREST_C_EXACT = 0, IFOREST_C_ASYMPTOTIC = 1 };

struct iforest_options {
    int n_trees;                /* default 100; 1 ... 1000000 */
    size_t sample_size;         /* default 256, capped at n; >= 2 */
    int max_depth;              /* 0 = ceil(log2(sample_size)); else 1 ... IFOREST_DEPTH_MAX */
    int extension_level;        /* 0 = classic axis-parallel cuts; <= d - 1 */
    enum iforest_missing missing;
    double contamination;       /* <= 0: "auto" (threshold s = 0.5); else in (0, 0.5] */
    uint64_t seed;
    int threads;                /* >= 1; results do not depend on it */
    enum iforest_correction correction; /* default IFOREST_C_EXACT */
};

void iforest_options_default(struct iforest_options *o);

/* Nodes of all trees, structure of arrays; tree t's nodes are
 * [tree_start[t], tree_start[t + 1]).  Node 0 of a tree is its root.
 * Internal node: left/right child indices (relative to the tree start),
 * feature (classic) or the hyperplane (normal vector in `coef`, offset
 * `split`), split value.  A row goes left when x[feature] <= split
 * (hyperplane: sum_j coef_j x_j <= split, summed in increasing j over the
 * non-zero coef_j).  External node: left = right = -1, feature = -1, a zero
 * coef row; size = training rows that reached it (for c(size); may be 0
 * under a hyperplane that missed every row). */
struct iforest {
    int d;                      /* number of features */
    char **feature_names;       /* owned, d names */
    int n_trees;
    size_t sample_size;         /* psi actually used (min(option, n)) */
    int max_depth;
    int extension_level;
    enum iforest_missing missing;
    uint64_t seed;
    double contamination;       /* as given, or 0 for auto */
    enum iforest_correction correction; /* the c(n) the scores use */
    double threshold;           /* a row is anomalous when its score s > threshold */
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
    double *fmin, *fmax;        /* owned, d: training range per feature (for the manifest;
                                   also the reference point of hyperplane explanations) */
    struct iforest_packed *packed; /* owned, private scoring layout derived from the arrays
                                   above by iforest_prepare; NULL = built per call.  Not
                                   serialised */
};

/* Allocate an empty forest for d features, n_trees trees and n_nodes nodes in
 * all: every array zeroed except left/right/feature = -1, feature_names an
 * array of d NULLs (fill with malloc'd strings), coef allocated when
 * extension_level > 0, threshold 0.5 and offset -0.5 (contamination auto).
 * The caller fills the rest and calls iforest_prepare.  Freed by
 * iforest_free.  Errors: ML_EINVAL, ML_ELIMIT (n_nodes > INT32_MAX), ML_ENOMEM. */
enum ml_status iforest_alloc(struct iforest **out, int d, int n_trees, size_t n_nodes,
                             int extension_level, struct ml_err *err);

/* Check a forest filled by hand or by a loader and build its scoring layout
 * (replacing any previous one).  Checks: d, n_trees, sample_size >= 2,
 * tree_start increasing from 0 to n_nodes, each tree a proper binary tree
 * rooted at its node 0 (children inside the tree, every node reached exactly
 * once, depth <= IFOREST_DEPTH_MAX), size of each root = sample_size,
 * features in [0, d), finite split/coef, frac_left in [0, 1].  Errors:
 * ML_EINVAL naming tree and node, ML_ENOMEM.  Not thread-safe (it writes
 * f->packed); call it before sharing the forest. */
enum ml_status iforest_prepare(struct iforest *f, struct ml_err *err);

/* Fit on x: n rows, d features, column-major (x[j * n + i]) like ml_table
 * columns; names[j] label the features (copied; names may be NULL: "x1",
 * "x2", ...).  With contamination > 0 every training row is scored once to
 * set the threshold (numpy's linear percentile, as scikit-learn).  On success
 * *out is a prepared forest the caller frees with iforest_free.  Errors:
 * ML_EINVAL (bad options, naming them; n < 2), ML_EDOM (NaN or inf with
 * missing = fail: row and feature named), ML_ENOMEM. */
enum ml_status iforest_fit(const double *x, size_t n, int d, const char *const *names,
                           const struct iforest_options *o, struct iforest **out,
                           struct ml_err *err);

void iforest_free(struct iforest *f);

/* Paper scores s in (0, 1) for m rows of x (column-major, stride n_stride
 * between columns, i.e. x[j * n_stride + i]); out[i] = s.  Streams: no
 * memory beyond the output (if f->packed is NULL, the scoring layout is built
 * for the call).  Threads split the rows; the output does not depend on
 * their number.  Errors: ML_EINVAL (threads < 1, n_stride < m), ML_EDOM
 * (missing value with missing = fail, naming the lowest such row and its
 * feature), ML_ENOMEM (thread start-up or an unprepared forest). */
enum ml_status iforest_score(const struct iforest *f, const double *x, size_t m,
                             size_t n_stride, double *out, int threads, struct ml_err *err);

/* Expected path length E[h(x)] per row (the quantity behind the score). */
enum ml_status iforest_path_length(const struct iforest *f, const double *x, size_t m,
                                   size_t n_stride, double *out, int threads,
                                   struct ml_err *err);

/* Per-feature attributions for m rows: attr[i * d + j] = how much feature
 * j shortened row i's path, averaged over trees, such that
 * sum_j attr[i * d + j] = c(sample_size) - E[h(x_i)] (the row's deficit;
 * negative for rows deeper than average).
 *
 * Axis-parallel trees: -phi_j, phi_j the Shapley value of feature j in the
 * game whose value v(S) is the tree's path length h(x) when only the
 * features in S are known, an unknown feature sending the row down both
 * children weighted by their training sizes (the "path-dependent" game of
 * TreeSHAP: Lundberg et al., Nature Machine Intelligence 2:56-67, 2020; shap's
 * TreeExplainer explains scikit-learn's IsolationForest this way).  A missing
 * value divided (missing = divide) is a known feature whose row goes both
 * ways by frac_left.  The phi_j sum to h(x) - A, A = v(no feature) the mean
 * path length of the tree's own training rows; the rest of the deficit,
 * c(sample_size) - A, does not depend on the row and is shared equally among
 * the d features (so it moves no feature's rank; a feature that played no
 * part gets just that share, usually negative: A exceeds c(psi) in
 * depth-limited trees).  Why Shapley: the earlier rule, each split on the
 * path credited with c(n_v) - 1 - c(n_child) (the expected-depth reduction
 * of that split, telescoping to c(psi) - h), credits a feature only for the
 * splits the row happened to meet, so it is as noisy as the tree's random
 * choice of which feature to cut first; Shapley averages over the order in
 * which features become known and uses every leaf.  On the shifted-feature
 * test (tests/test_iforest.c; 120 forests of 100 trees) the shifted feature
 * topped 95.9% of rows with Shapley, 95.4% with the same per-split rule on
 * the tree's own expected depths (Saabas-style path contributions), 95.0%
 * with c(n), 91% with DIFFI's split-imbalance weights (Carletti et al.,
 * 2020) sharing each tree's deficit, 85% with local DIFFI itself.  Cost:
 * every leaf of every tree, O(leaves U^2) per tree with U <= max_depth the
 * distinct features on a leaf's path: about 0.6 ms per row with 100 trees
 * of psi = 256 and 8 features (the per-split rule: ~13 us; a score walks
 * one path per tree: ~1 us).
 *
 * Hyperplane trees: the split at node v (n_v training rows) sending the row
 * to child u contributes c(n_v) - 1 - c(n_u), shared among the hyperplane's
 * non-zero coordinates in proportion to |coef_j (x_j - q_j)|, q the point of
 * the hyperplane nearest the centre of the training box [fmin, fmax]; a
 * divided (missing) split gives c(n_v) - 1 - w c(n_left) - (1 - w)
 * c(n_right) to the missing feature(s) and weights both subtrees.
 *
 * Errors as iforest_score, and ML_ENOMEM. */
enum ml_status iforest_explain(const struct iforest *f, const double *x, size_t m,
                               size_t n_stride, double *attr, struct ml_err *err);

/* The same on `threads` threads (rows split into contiguous ranges; the
 * attributions do not depend on the thread count). */
enum ml_status iforest_explain_mt(const struct iforest *f, const double *x, size_t m,
                                  size_t n_stride, double *attr, int threads,
                                  struct ml_err *err);

/* c(n) of the paper: average path length of an unsuccessful BST search,
 * 2H(n-1) - 2(n-1)/n; H exact (compensated sum) for n <= 1000, else the
 * asymptotic series; c(n <= 1) = 0, c(2) = 1.  Thread-safe. */
double iforest_c(double n);

/* c(n) under the forest's correction rule (iforest_c when EXACT). */
double iforest_c_of(const struct iforest *f, double n);

/* The anomaly rule, scikit-learn's: predict() is -1 where decision_function
 * = score_samples - offset_ = -s + threshold < 0, i.e. strictly s > threshold
 * (a score equal to the threshold is an inlier). */
static inline int iforest_is_anomaly(const struct iforest *f, double s)
{
    return s > f->threshold;
}

/* scikit-learn's decision_function: positive for inliers, negative for
 * anomalies (score_samples - offset_). */
static inline double iforest_decision(const struct iforest *f, double s)
{
    return -s - f->offset;
}

#endif
