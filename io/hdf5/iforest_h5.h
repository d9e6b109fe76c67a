/* iforest_h5.h: struct iforest <-> HDF5, the model file `plantfit train`
 * writes for an Isolation Forest (model directory file iforest.h5) and
 * `plantfit predict` loads.
 *
 * Layout, format_version 1 (major; format_minor 0), or 2: a version-1
 * layout plus the root attribute `correction` (int32, enum
 * iforest_correction: 1 = scikit-learn's asymptotic c(n)), written only for
 * such a forest, so that a version-1 reader refuses it rather than scoring
 * it with the exact c(n).  A forest with the exact c(n) is still version 1.  "int32" is
 * H5T_STD_I32LE, "uint32" H5T_STD_U32LE, "int64" H5T_STD_I64LE, "uint64"
 * H5T_STD_U64LE, "f64" H5T_IEEE_F64LE, "str" a fixed-length NUL-terminated
 * UTF-8 string (H5T_C_S1, NULLTERM padding, size = bytes + 1).  Every
 * attribute is a scalar; every dataset is contiguous (or compact) and
 * unfiltered, row-major, with at least one element.  Indices are 0-based.
 * Every object is reached through a hard link.
 *
 *   /                          root group, attributes:
 *     plantfit_model   str     "iforest" (a GAM says "gam"; a data table has
 *                              plantfit_format = "table" instead)
 *     format_version   int32   1: the major version; a reader refuses any other
 *     format_minor     int32   0: additions a version-1 reader may ignore
 *     d                int32   features, 1 .. IFOREST_H5_MAX_D
 *     n_trees          int32   trees, 1 .. IFOREST_H5_MAX_TREES
 *     n_nodes          int64   nodes of all trees, n_trees .. IFOREST_H5_MAX_NODES
 *     max_depth        int32   height limit used at fit, 1 .. IFOREST_DEPTH_MAX
 *     extension_level  int32   0 (classic, axis-parallel) .. d - 1 (hyperplanes)
 *     missing          int32   enum iforest_missing: 0 fail, 1 divide (append only;
 *                              a code this version does not know is refused)
 *     sample_size      int64   psi, rows per tree, 2 .. UINT32_MAX; the size
 *                              of every tree's root
 *     seed             uint64  the fit's seed (informative)
 *     contamination    f64     0 ("auto") or in (0, 0.5]
 *     threshold        f64     score s from which a row counts as anomalous, in [0, 1]
 *     offset           f64     scikit-learn's offset_, exactly -threshold
 *   /feature_names     str [d]        feature (input column) names: non-empty,
 *                                     distinct, as wide as the longest
 *   /fmin, /fmax       f64 [d]        training range per feature: finite with
 *                                     fmin <= fmax, or both NaN (the column had
 *                                     no finite value at fit)
 *   /tree_start        int64 [n_trees + 1]  tree t's nodes are
 *                                     [tree_start[t], tree_start[t + 1]);
 *                                     tree_start[0] = 0, tree_start[n_trees] = n_nodes
 *   /nodes             group; datasets, one element per node:
 *     left, right      int32 [n_nodes]   children, relative to the tree's first
 *                                        node (node 0 of a tree is its root);
 *                                        -1 at external nodes
 *     feature          int32 [n_nodes]   classic split feature; -1 at external
 *                                        nodes and at every node of an
 *                                        extended forest
 *     split            f64 [n_nodes]     threshold (x[feature] <= split goes
 *                                        left) or hyperplane offset; finite
 *     frac_left        f64 [n_nodes]     share of the node's training rows that
 *                                        went left, in [0, 1] (missing = divide)
 *     size             uint32 [n_nodes]  training rows that reached the node
 *     coef             f64 [n_nodes, d]  extended forests only (extension_level
 *                                        > 0; absent otherwise): hyperplane
 *                                        normals, at least one non-zero per
 *                                        internal node, all zero at external
 *                                        nodes
 *
 * Structure of arrays, as in memory (struct iforest): compact, and the loader
 * checks every array and then the trees themselves with iforest_prepare
 * (children inside their tree, each node reached once, depth, root sizes)
 * before anything is scored.  Every double is stored bit for bit, so a
 * loaded forest scores and explains bit-identically to the one written.
 * Strings are fixed-length on purpose: variable-length strings live in
 * HDF5's global heap, whose decoder in HDF5 1.10.8 trusts sizes from the
 * file (see table_h5.c); the reader refuses them.
 *
 * Additions that an older version-1 reader can ignore bump format_minor;
 * anything else bumps format_version.
 *
 * Limits on what a file may declare (ML_ELIMIT beyond): the caps below and
 * 64 KiB per feature name.  The datasets together may not declare more bytes
 * than the file holds (they are uncompressed; ML_EFORMAT otherwise), and
 * this is checked from the root attributes before the forest is allocated,
 * so no size field makes the reader allocate much more than the file's
 * size. */
#ifndef PF_IFOREST_H5_H
#define PF_IFOREST_H5_H

#include "../../algorithms/iforest/iforest.h"
#include "ml_status.h"

#define IFOREST_H5_FORMAT_VERSION 2
#define IFOREST_H5_FORMAT_MINOR 0

#define IFOREST_H5_MAX_D 1000000        /* features (iforest_fit's own cap) */
#define IFOREST_H5_MAX_TREES 1000000    /* trees (iforest_fit's own cap) */
#define IFOREST_H5_MAX_NODES INT32_MAX  /* nodes in all: the node indices are int32 */
#define IFOREST_H5_MAX_STR 65536        /* bytes in one feature name */

/* Write f to path (created or replaced) in the layout above.  The file is
 * written under a temporary name in the same directory (registered with
 * ml_temp_register, so a stop signal removes it), flushed (fsync) and
 * renamed over `path` only when complete; a failure leaves no file under
 * either name.  No object timestamps are stored, so equal forests give
 * byte-identical files.  The forest is checked first (the reader's checks,
 * tree structure included), so whatever is written can be read back.
 * Errors: ML_EINVAL (an inconsistent forest, naming the field, tree or
 * node), ML_ELIMIT (a size above the limits), ML_EIO (cannot create, write,
 * flush or rename; names the path), ML_ENOMEM.  Not thread-safe (the HDF5
 * library is not). */
enum ml_status iforest_h5_write(const char *path, const struct iforest *f, struct ml_err *err);

/* Read and validate (iforest_prepare) a forest; on success *out is a
 * prepared forest the caller frees with iforest_free, on failure NULL.
 * Errors (messages name the path and the object at fault): ML_EIO (cannot
 * open or stat), ML_EFORMAT ("not an HDF5 file"; "truncated HDF5 file";
 * "corrupt model file" naming the attribute, dataset, tree or node; a data
 * table, a GAM or another non-forest HDF5 file; a format_version other than
 * 1, naming it), ML_ELIMIT (a limit above), ML_ENOMEM.  Not thread-safe (the
 * HDF5 library is not). */
enum ml_status iforest_h5_read(const char *path, struct iforest **out, struct ml_err *err);

#endif
