/* gam_h5.h: struct gam_model <-> HDF5, the model file `plantfit train` writes
 * for a GAM (model directory file gam.h5) and `plantfit predict` loads.
 *
 * Layout, format_version 1 (major; format_minor 0).  "int32" is
 * H5T_STD_I32LE, "int64" H5T_STD_I64LE, "f64" H5T_IEEE_F64LE, "str" a
 * fixed-length NUL-terminated UTF-8 string (H5T_C_S1, size = bytes + 1).
 * Every attribute is scalar unless a length is given; a length-0 array is a
 * null dataspace (HDF5 refuses zero-sized attributes).  Datasets are
 * contiguous and unfiltered, row-major.  Indices are 0-based.
 *
 *   /                          root group, attributes:
 *     plantfit_model   str     "gam" (what the file is; a data table has
 *                              plantfit_format = "table" instead)
 *     format_version   int32   1: the major version; a reader refuses any other
 *     format_minor     int32   0: additions a version-1 reader may ignore
 *     formula          str     the model formula as given to gam_fit
 *     response         str     response variable name
 *     family, link, method        str    "gaussian" | "binomial" | "poisson" | "Gamma";
 *                                        "identity" | "logit" | "log" | "inverse";
 *                                        "REML" | "GCV.Cp" | "fixed"
 *     family_code, link_code, method_code  int32  enum gam_family / gam_link /
 *                                        gam_method (authoritative; the string
 *                                        must agree with it)
 *     n, n_dropped     int64   rows used / dropped for a missing value
 *     p, npen, Mp      int32   coefficients, penalties, penalty null space dim.
 *     nvars, nterms, nsmooths  int32   counts of the three groups below
 *     edf_total, scale, reml_scale, score, deviance, null_deviance,
 *     dev_explained, r2_adj    f64   fit statistics (as struct gam_model)
 *     iterations       int32   outer Newton iterations
 *     converged        int32   0 or 1
 *     convergence_msg  str     why the smoothing-parameter search stopped
 *   /coefficients      f64 [p]        beta (constrained parametrisation)
 *   /Vp                f64 [p, p]     Bayesian posterior covariance
 *   /edf               f64 [p]        per-coefficient EDF
 *   /lambda            f64 [npen]     smoothing parameters
 *   /variables/<v>     group per model variable, v = 0 .. nvars-1; attributes:
 *     name str, is_factor int32 (0/1), min, max, mean, sd f64 (numeric:
 *     training range and moments; 0 for factors);
 *     dataset levels   str [nlevels]  factors only: level names, model order
 *   /terms/<t>         group per term (model-matrix column block); attributes:
 *     kind int32 (enum gam_term_kind), label str, nvar int32,
 *     var int32 [nvar] (indices into /variables), by_var int32 (-1: none),
 *     by_level int32, smooth int32 (index into /smooths, -1: none),
 *     col0, ncol int32 (columns of beta), pen0, npen int32 (entries of
 *     lambda), first_level int32 (factor terms: 0 or 1), edf f64
 *   /smooths/<s>       group per smooth basis (by= copies share one); attributes:
 *     kind int32 (enum gam_smooth_kind), nmargin, p_u, p, nnz, null_dim,
 *     npen int32, pen_scale f64 [npen], utu f64;
 *     per margin j = 0 .. nmargin-1, as arrays of length nmargin:
 *     k, m1, order, m2 int32; xl, xu, ll, ul f64;
 *     datasets:
 *       u          f64 [p_u]            Householder vector of the constraint
 *       knots_<j>  f64 [k_j + m1_j + 2] margin j's knots (never re-placed)
 *       Ginv_<j>   f64 [k_j, k_j]       te only: margin j's G^-1
 *       S_u_<j>    f64 [p_u, p_u]       penalty j, unconstrained, rescaled
 *       S_<j>      f64 [p, p]           penalty j, constrained (Z'S_uZ)
 *
 * Every double is stored bit for bit, and the B-spline bases are rebuilt
 * from the stored knots (bspl_init_knots), so a loaded model predicts
 * bit-identically to the one written (gam_predict, gam_predict_terms,
 * gam_lpmatrix, gam_derivative).  Strings are fixed-length on purpose:
 * variable-length strings live in HDF5's global heap, whose decoder in HDF5
 * 1.10.8 trusts sizes from the file (see table_h5.c), and a model never
 * needs them.  The reader refuses them.
 *
 * Enum codes written to the file are the append-only values of gam.h,
 * gam_formula.h and gam_smooth.h.  A reader seeing an unknown code says which
 * (a newer plantfit may know it).  Additions that an older version-1 reader
 * can ignore bump format_minor; anything else bumps format_version.
 *
 * Limits on what a file may declare (ML_ELIMIT beyond): p <= 100000,
 * nterms, nvars, nsmooths <= 10000, 1000000 levels per factor, 64 KiB per
 * string, and the bases gam_fit can build: k <= 10000 for an s()
 * (GAM_FORMULA_MAX_COLS), at most 2048 columns for a te() (GAM_TE_MAX_COLS).
 * The datasets together may not declare more bytes than the file holds
 * (they are uncompressed; ML_EFORMAT otherwise), so no size field makes the
 * reader allocate much more than the file's size. */
#ifndef PF_GAM_H5_H
#define PF_GAM_H5_H

#include "../../algorithms/gam/gam.h"
#include "ml_status.h"

#define GAM_H5_FORMAT_VERSION 1
#define GAM_H5_FORMAT_MINOR 0

#define GAM_H5_MAX_P 100000         /* coefficients */
#define GAM_H5_MAX_COUNT 10000      /* variables, terms, smooths */
#define GAM_H5_MAX_LEVELS 1000000   /* levels of one factor */
#define GAM_H5_MAX_STR 65536        /* bytes in one string */

/* Write model `m` to `path` (created or replaced) in the layout above.  The
 * file is written under a temporary name in the same directory, flushed
 * (fsync) and renamed over `path` only when complete; a failure leaves no
 * file under either name.  No object timestamps are stored, so equal models
 * give byte-identical files.  The model is checked first (the same checks as
 * gam_h5_read), so whatever is written can be read back.
 * Errors: ML_EINVAL (an inconsistent model, naming the field), ML_ELIMIT (a
 * size above the limits), ML_EIO (cannot create, write, flush or rename;
 * names the path), ML_ENOMEM.  Not thread-safe (the HDF5 library is not). */
enum ml_status gam_h5_write(const char *path, const struct gam_model *m, struct ml_err *err);

/* Read the model at `path`.  On success *out is a new model the caller frees
 * with gam_model_free; on failure *out is NULL.  Every size, index, enum code
 * and number is validated before use (sizes consistent: p equals the sum of
 * the terms' columns, indices in range, knots finite and increasing, k >=
 * the B-spline order, finite coefficients and covariance ...), so a loaded
 * model is safe to predict with.  Errors (messages name the path and the
 * object at fault): ML_EIO (cannot open or stat), ML_EFORMAT ("not an HDF5
 * file"; "truncated HDF5 file"; "corrupt model file" naming the group,
 * dataset or attribute; a table or other non-model HDF5 file; a
 * format_version other than 1, naming it), ML_ELIMIT (a limit above),
 * ML_ENOMEM.  Not thread-safe (the HDF5 library is not). */
enum ml_status gam_h5_read(const char *path, struct gam_model **out, struct ml_err *err);

#endif
