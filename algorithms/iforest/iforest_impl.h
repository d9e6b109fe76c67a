/* iforest_impl.h: internals shared by iforest_fit.c and iforest_score.c; no
 * other module includes it.
 *
 * The public struct iforest keeps the nodes as the structure of arrays the
 * model file stores.  Scoring a million rows through 100 trees walks about
 * 8e8 nodes, so it uses a derived layout (struct iforest_packed): per tree
 * the nodes in breadth-first order with both children of a node adjacent,
 * each node 16 bytes {split, feature, first child}, so a step is
 *     node = child + (x[feature] > split)
 * with no branch.  An external node points to itself with split = +inf, so a
 * row that reaches it early stays there and every row takes the same number
 * of steps (the tree's deepest leaf); its path length depth + c(size) sits in
 * leaf_h.  Extended trees keep up to k non-zero coefficients per node in
 * ecoef/eidx (ascending feature order, zero-padded) and step on
 * dot(coef, x) > split. */
#ifndef ML_IFOREST_IMPL_H
#define ML_IFOREST_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "iforest.h"

/* Rows scored together: the block's node cursors and path sums stay in L1
 * while every tree passes over it. */
#define IFOREST_BLOCK 256

/* Threads actually started for fitting or scoring at most (more are capped). */
#define IFOREST_THREADS_MAX 64

struct iforest_pnode {
    double split;       /* threshold; +inf at an external node */
    int32_t feature;    /* classic: column compared; 0 at an external node */
    int32_t child;      /* packed index (within the tree) of the left child; the right
                           child is child + 1; an external node holds its own index */
};

struct iforest_packed {
    int extended;                /* 1: hyperplane nodes (ecoef/eidx) */
    int k;                       /* extended: coefficient slots per node */
    size_t n_nodes;
    size_t *start;               /* n_trees + 1 offsets into node/leaf_h */
    int *levels;                 /* n_trees: depth of the deepest external node */
    struct iforest_pnode *node;  /* n_nodes */
    double *leaf_h;              /* n_nodes: depth + c(size) at external nodes, else 0 */
    double *ecoef;               /* extended: n_nodes * k coefficients, else NULL */
    int32_t *eidx;               /* extended: n_nodes * k feature indices, else NULL */
};

void iforest_packed_free(struct iforest_packed *p);

/* Validate f (see iforest_prepare) and build its packed layout. */
enum ml_status iforest_pack(const struct iforest *f, struct iforest_packed **out,
                            struct ml_err *err);

/* The hyperplane value of one row: sum over the node's non-zero coefficients
 * in ascending feature order.  Fitting, the packed scorer and the slow path
 * all use this order so a training row lands where training counted it. */
static inline double iforest_dot_dense(const double *coef, int d, const double *x,
                                       size_t stride)
{
    double s = 0.0;
    int j;

    for (j = 0; j < d; j++)
        if (coef[j] != 0.0)
            s += coef[j] * x[(size_t)j * stride];
    return s;
}

#endif
