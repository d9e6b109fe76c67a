/* iforest_h5.c: struct iforest <-> HDF5 in the layout iforest_h5.h documents.
 *
 * Entry points: iforest_h5_write and iforest_h5_read.
 *
 * The conventions are those of the other HDF5 files of io/hdf5 (gam_h5.c,
 * table_h5.c): HDF5's automatic error printing is off for the duration of
 * each call (the caller's handler is restored afterwards) and a failure
 * becomes our own message naming the file and the object; the HDF5
 * signature is checked by hand before the library sees a file; a file is
 * written under a temporary name in the target's directory, fsync'ed and
 * renamed over the target only when complete; object timestamps are off, so
 * equal forests give byte-identical files.
 *
 * A model directory may come from anywhere, so the reader trusts nothing:
 *  - objects are reached only through hard links of one path component,
 *    checked before they are opened: a soft or external link (which could
 *    loop or open another file) is refused, never followed;
 *  - every attribute and dataset must have exactly the type we write
 *    (H5Tequal), so HDF5 never converts a number type the file describes;
 *    strings must be fixed-length, so HDF5's global heap (whose 1.10.8
 *    decoder over-reads on a corrupt size; see table_h5.c) is never decoded;
 *  - the root attributes are checked against the caps, and the bytes the
 *    datasets must then hold against the file's size, before iforest_alloc
 *    allocates the forest; each dataset's shape must then be exactly what
 *    the attributes imply, stored unfiltered, and its bytes are charged to
 *    what the file can hold;
 *  - the assembled forest goes through check_forest (the same checks the
 *    writer runs on what it is given) and then iforest_prepare, which checks
 *    the trees themselves (children, reachability, depth, root sizes) and
 *    builds the scoring layout.
 * Every double is copied bit for bit in both directions, and nothing is
 * recomputed on load, so a loaded forest scores and explains exactly as the
 * written one.
 *
 * References: HDF5 1.10 C API reference (H5Pset_obj_track_times,
 * H5Pset_attr_phase_change, H5Pset_libver_bounds, H5Lget_info, H5Tequal);
 * HDF5 File Format Specification 3.0, section II.A (superblock signature). */
#include "iforest_h5.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "h5util.h"

#include "table_h5.h"

/* Attributes kept in an object header before HDF5 moves them to "dense"
 * storage (a fractal heap and a B-tree; the default switch is at 8).  The
 * root has 15, and one plain list of header messages is smaller and leaves
 * the reader less structure to trust. */
#define IFH5_MAX_COMPACT 64

/* Bytes per node in the file: left, right, feature (int32), split,
 * frac_left (f64), size (uint32); plus 8 * d for coef in extended forests. */
#define IFH5_NODE_BYTES (3 * 4 + 2 * 8 + 4)

static const char model_kind[] = "iforest";

/* ---------------------------------------------------------------------------
 * Number types: the exact file type we write and the memory type we read
 * into, for each kind of number in the layout. */

enum num { NUM_I32, NUM_U32, NUM_I64, NUM_U64, NUM_F64 };

static hid_t num_file_type(enum num k)
{
    switch (k) {
    case NUM_I32:
        return H5T_STD_I32LE;
    case NUM_U32:
        return H5T_STD_U32LE;
    case NUM_I64:
        return H5T_STD_I64LE;
    case NUM_U64:
        return H5T_STD_U64LE;
    default:
        return H5T_IEEE_F64LE;
    }
}

static hid_t num_mem_type(enum num k)
{
    switch (k) {
    case NUM_I32:
        return H5T_NATIVE_INT32;
    case NUM_U32:
        return H5T_NATIVE_UINT32;
    case NUM_I64:
        return H5T_NATIVE_INT64;
    case NUM_U64:
        return H5T_NATIVE_UINT64;
    default:
        return H5T_NATIVE_DOUBLE;
    }
}

static size_t num_bytes(enum num k)
{
    return k == NUM_I32 || k == NUM_U32 ? 4 : 8;
}

static const char *num_name(enum num k)
{
    static const char *const names[] = {"int32", "uint32", "int64", "uint64", "float64"};

    return names[k];
}

/* ---------------------------------------------------------------------------
 * Checks shared by the writer (on the forest it is given) and the reader (on
 * the forest it assembled).  Objects are named as in the file, so a message
 * reads the same whichever side finds the fault. */

struct chk {
    const char *path;
    const char *what;        /* "corrupt model file" or "cannot write an inconsistent forest" */
    enum ml_status code;     /* ML_EFORMAT (reader) or ML_EINVAL (writer) */
    struct ml_err *err;
};

static enum ml_status chk_fail(const struct chk *c, int line, const char *fmt, ...)
    ML_ATTR_FORMAT(3, 4);

static enum ml_status chk_fail(const struct chk *c, int line, const char *fmt, ...)
{
    char buf[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return ml_fail(c->err, c->code, __FILE__, line, "%s: %s: %s", c->path, c->what, buf);
}

#define CHK_FAIL(c, ...) return chk_fail((c), __LINE__, __VA_ARGS__)

/* The caps of iforest_h5.h, as ML_ELIMIT whichever side meets them. */
static enum ml_status check_caps(const struct chk *c, long long d, long long n_trees,
                                 long long n_nodes)
{
    if (d > IFOREST_H5_MAX_D || n_trees > IFOREST_H5_MAX_TREES || n_nodes > IFOREST_H5_MAX_NODES)
        return ml_fail(c->err, ML_ELIMIT, __FILE__, __LINE__,
                       "%s: the forest declares %lld features, %lld trees and %lld nodes; the "
                       "limits are %d features, %d trees and %d nodes",
                       c->path, d, n_trees, n_nodes, IFOREST_H5_MAX_D, IFOREST_H5_MAX_TREES,
                       IFOREST_H5_MAX_NODES);
    return ML_OK;
}

static enum ml_status check_header(const struct chk *c, const struct iforest *f)
{
    long long nn = f->n_nodes > (size_t)LLONG_MAX ? LLONG_MAX : (long long)f->n_nodes;
    enum ml_status st = check_caps(c, f->d, f->n_trees, nn);

    if (st)
        return st;
    if (f->d < 1)
        CHK_FAIL(c, "attribute d = %d; expected at least one feature", f->d);
    if (f->n_trees < 1)
        CHK_FAIL(c, "attribute n_trees = %d; expected at least one tree", f->n_trees);
    if (f->n_nodes < (size_t)f->n_trees)
        CHK_FAIL(c, "attribute n_nodes = %zu is less than n_trees = %d (each tree has a root)",
                 f->n_nodes, f->n_trees);
    if (f->max_depth < 1 || f->max_depth > IFOREST_DEPTH_MAX)
        CHK_FAIL(c, "attribute max_depth = %d; expected 1 to %d", f->max_depth,
                 IFOREST_DEPTH_MAX);
    if (f->extension_level < 0 || f->extension_level > f->d - 1)
        CHK_FAIL(c, "attribute extension_level = %d; expected 0 to d - 1 = %d",
                 f->extension_level, f->d - 1);
    if ((int)f->missing != IFOREST_MISSING_FAIL && (int)f->missing != IFOREST_MISSING_DIVIDE)
        CHK_FAIL(c, "attribute missing = %d is unknown (0 fail, 1 divide; a newer plantfit may "
                 "know it)", (int)f->missing);
    if (f->sample_size < 2 || (uint64_t)f->sample_size > UINT32_MAX)
        CHK_FAIL(c, "attribute sample_size = %zu; expected 2 to %lu", f->sample_size,
                 (unsigned long)UINT32_MAX);
    if (!(f->contamination == 0.0 || (f->contamination > 0.0 && f->contamination <= 0.5)))
        CHK_FAIL(c, "attribute contamination = %.17g; expected 0 (auto) or a fraction in "
                 "(0, 0.5]", f->contamination);
    if (!(f->threshold >= 0.0 && f->threshold <= 1.0))
        CHK_FAIL(c, "attribute threshold = %.17g; expected a score in [0, 1]", f->threshold);
    if (f->offset != -f->threshold)
        CHK_FAIL(c, "attribute offset = %.17g; expected -threshold = %.17g", f->offset,
                 -f->threshold);
    if (!f->feature_names || !f->fmin || !f->fmax || !f->tree_start || !f->left || !f->right ||
        !f->feature || !f->split || !f->frac_left || !f->size)
        CHK_FAIL(c, "an array of the forest is missing (NULL)");
    if (f->extension_level > 0 && !f->coef)
        CHK_FAIL(c, "dataset /nodes/coef is missing (extension_level = %d)", f->extension_level);
    return ML_OK;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Names non-empty, within the cap and distinct (predict finds each feature's
 * input column by its name); ranges finite and ordered, or both NaN. */
static enum ml_status check_features(const struct chk *c, const struct iforest *f)
{
    const char **sorted;
    size_t j, d = (size_t)f->d;

    for (j = 0; j < d; j++) {
        const char *s = f->feature_names[j];

        if (!s || !s[0])
            CHK_FAIL(c, "dataset /feature_names: element %zu is %s", j, s ? "empty" : "missing");
        if (strlen(s) > IFOREST_H5_MAX_STR)
            return ml_fail(c->err, ML_ELIMIT, __FILE__, __LINE__,
                           "%s: dataset /feature_names: element %zu is %zu bytes long; the "
                           "limit is %d", c->path, j, strlen(s), IFOREST_H5_MAX_STR);
        if (isnan(f->fmin[j]) != isnan(f->fmax[j]) ||
            (!isnan(f->fmin[j]) &&
             !(isfinite(f->fmin[j]) && isfinite(f->fmax[j]) && f->fmin[j] <= f->fmax[j])))
            CHK_FAIL(c, "datasets /fmin, /fmax: feature %zu (\"%.100s\") has the range "
                     "[%.17g, %.17g]; expected a finite interval, or NaN for both", j, s,
                     f->fmin[j], f->fmax[j]);
    }
    sorted = malloc(d * sizeof *sorted);
    if (!sorted)
        return ml_fail(c->err, ML_ENOMEM, __FILE__, __LINE__, "%s: out of memory", c->path);
    memcpy(sorted, f->feature_names, d * sizeof *sorted);
    qsort(sorted, d, sizeof *sorted, cmp_name);
    for (j = 1; j < d; j++)
        if (strcmp(sorted[j - 1], sorted[j]) == 0) {
            enum ml_status st = chk_fail(c, __LINE__, "dataset /feature_names names \"%.100s\" "
                                         "twice", sorted[j]);
            free(sorted);
            return st;
        }
    free(sorted);
    return ML_OK;
}

/* Per-node rules of the layout that iforest_prepare does not look at (it
 * checks the internal nodes it reaches): what an external node holds, that a
 * node is classic or hyperplane as the forest is, finite numbers everywhere.
 * Checking them keeps write(read(file)) equal to the file. */
static enum ml_status check_nodes(const struct chk *c, const struct iforest *f)
{
    size_t d = (size_t)f->d, g, tsz;
    int ext = f->extension_level > 0, t;

    if (f->tree_start[0] != 0)
        CHK_FAIL(c, "dataset /tree_start: element 0 is %zu; expected 0", f->tree_start[0]);
    for (t = 0; t < f->n_trees; t++)
        if (f->tree_start[t + 1] <= f->tree_start[t] || f->tree_start[t + 1] > f->n_nodes)
            CHK_FAIL(c, "dataset /tree_start: tree %d spans nodes %zu to %zu; expected an "
                     "increasing sequence from 0 to n_nodes = %zu", t, f->tree_start[t],
                     f->tree_start[t + 1], f->n_nodes);
    if (f->tree_start[f->n_trees] != f->n_nodes)
        CHK_FAIL(c, "dataset /tree_start ends at %zu; expected n_nodes = %zu",
                 f->tree_start[f->n_trees], f->n_nodes);
    for (t = 0; t < f->n_trees; t++) {
        tsz = f->tree_start[t + 1] - f->tree_start[t];
        for (g = f->tree_start[t]; g < f->tree_start[t + 1]; g++) {
            size_t v = g - f->tree_start[t], j, nz = 0;
            int leaf = f->left[g] == -1 && f->right[g] == -1;

            if (!isfinite(f->split[g]) || !(f->frac_left[g] >= 0.0 && f->frac_left[g] <= 1.0))
                CHK_FAIL(c, "/nodes: tree %d, node %zu: split = %.17g, frac_left = %.17g; "
                         "expected a finite split and frac_left in [0, 1]", t, v, f->split[g],
                         f->frac_left[g]);
            if (!leaf && (f->left[g] < 0 || f->right[g] < 0 || (size_t)f->left[g] >= tsz ||
                          (size_t)f->right[g] >= tsz))
                CHK_FAIL(c, "/nodes: tree %d, node %zu: children %d and %d; expected both -1 "
                         "(external node) or both in 0 ... %zu", t, v, (int)f->left[g],
                         (int)f->right[g], tsz - 1);
            if (ext) {
                const double *w = f->coef + g * d;

                for (j = 0; j < d; j++) {
                    if (!isfinite(w[j]))
                        CHK_FAIL(c, "/nodes/coef: tree %d, node %zu, feature %zu: %.17g is not "
                                 "finite", t, v, j, w[j]);
                    nz += w[j] != 0.0;
                }
                if (leaf ? nz != 0 : nz == 0)
                    CHK_FAIL(c, "/nodes/coef: tree %d, node %zu: %zu non-zero coefficients; "
                             "expected %s", t, v, nz,
                             leaf ? "none at an external node" : "at least one at a split");
            }
            if ((leaf || ext) ? f->feature[g] != -1 : (f->feature[g] < 0 || f->feature[g] >= f->d))
                CHK_FAIL(c, "/nodes/feature: tree %d, node %zu: %d; expected %s", t, v,
                         (int)f->feature[g],
                         leaf  ? "-1 at an external node"
                         : ext ? "-1 at a hyperplane split"
                               : "a feature index");
        }
    }
    return ML_OK;
}

static enum ml_status check_forest(const struct chk *c, const struct iforest *f)
{
    enum ml_status st = check_header(c, f);

    if (!st)
        st = check_features(c, f);
    if (!st)
        st = check_nodes(c, f);
    return st;
}

/* ---------------------------------------------------------------------------
 * Writing. */

struct wr {
    const char *path;        /* final name, for messages */
    hid_t file;
    hid_t gcpl, dcpl;        /* timestamps off */
    struct ml_err *err;
};

/* A fixed-length UTF-8 string type for strings of up to `len` bytes. */
static hid_t fixed_str_type(size_t len)
{
    hid_t t = H5Tcopy(H5T_C_S1);

    if (t < 0)
        return H5I_INVALID_HID;
    if (H5Tset_size(t, len + 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0 ||
        H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

/* Scalar attribute `name` of obj (called `on`) of file type ftype. */
static enum ml_status w_attr(struct wr *w, hid_t obj, const char *on, const char *name,
                             hid_t ftype, hid_t mtype, const void *v)
{
    hid_t space = H5Screate(H5S_SCALAR), attr = H5I_INVALID_HID;
    int ok = 0;

    if (space >= 0)
        attr = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr >= 0)
        ok = H5Awrite(attr, mtype, v) >= 0;
    if (attr >= 0 && H5Aclose(attr) < 0)
        ok = 0;
    if (space >= 0)
        H5Sclose(space);
    if (!ok)
        ML_FAIL(w->err, ML_EIO, "%s: cannot write attribute %s of %s", w->path, name, on);
    return ML_OK;
}

static enum ml_status w_num(struct wr *w, hid_t obj, const char *on, const char *name,
                            enum num k, const void *v)
{
    return w_attr(w, obj, on, name, num_file_type(k), num_mem_type(k), v);
}

static enum ml_status w_i32(struct wr *w, hid_t obj, const char *on, const char *name, int v)
{
    int32_t x = (int32_t)v;

    return w_num(w, obj, on, name, NUM_I32, &x);
}

static enum ml_status w_str(struct wr *w, hid_t obj, const char *on, const char *name,
                            const char *s)
{
    hid_t t = fixed_str_type(strlen(s));
    enum ml_status st;

    if (t < 0)
        ML_FAIL(w->err, ML_EIO, "%s: cannot make a string type for attribute %s of %s",
                w->path, name, on);
    st = w_attr(w, obj, on, name, t, t, s);
    H5Tclose(t);
    return st;
}

/* Dataset `name` in loc (`where` + name in messages) of d0 (rank 1) or
 * d0 x d1 (rank 2) elements of file type ftype, from buf. */
static enum ml_status w_dset(struct wr *w, hid_t loc, const char *where, const char *name,
                             hid_t ftype, hid_t mtype, int rank, size_t d0, size_t d1,
                             const void *buf)
{
    hsize_t dims[2];
    hid_t space, dset = H5I_INVALID_HID;
    int ok = 0;

    dims[0] = (hsize_t)d0;
    dims[1] = (hsize_t)d1;
    space = H5Screate_simple(rank, dims, NULL);
    if (space >= 0)
        dset = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, w->dcpl, H5P_DEFAULT);
    if (dset >= 0)
        ok = H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
    if (dset >= 0 && H5Dclose(dset) < 0)
        ok = 0;
    if (space >= 0)
        H5Sclose(space);
    if (!ok)
        ML_FAIL(w->err, ML_EIO, "%s: cannot write dataset %s%s", w->path, where, name);
    return ML_OK;
}

static enum ml_status w_nums(struct wr *w, hid_t loc, const char *where, const char *name,
                             enum num k, int rank, size_t d0, size_t d1, const void *buf)
{
    return w_dset(w, loc, where, name, num_file_type(k), num_mem_type(k), rank, d0, d1, buf);
}

/* /feature_names: d fixed-length strings as wide as the longest, from a
 * zeroed buffer so the padding written is always the same bytes. */
static enum ml_status w_names(struct wr *w, const struct iforest *f)
{
    size_t d = (size_t)f->d, width = 0, j;
    enum ml_status st;
    char *buf;
    hid_t t;

    for (j = 0; j < d; j++)
        if (strlen(f->feature_names[j]) > width)
            width = strlen(f->feature_names[j]);
    buf = calloc(d, width + 1);
    if (!buf)
        ML_FAIL(w->err, ML_ENOMEM, "%s: out of memory writing dataset /feature_names", w->path);
    for (j = 0; j < d; j++)
        memcpy(buf + j * (width + 1), f->feature_names[j], strlen(f->feature_names[j]));
    t = fixed_str_type(width);
    if (t < 0) {
        free(buf);
        ML_FAIL(w->err, ML_EIO, "%s: cannot make a string type for dataset /feature_names",
                w->path);
    }
    st = w_dset(w, w->file, "/", "feature_names", t, t, 1, d, 0, buf);
    H5Tclose(t);
    free(buf);
    return st;
}

static enum ml_status write_root_attrs(struct wr *w, const struct iforest *f)
{
    const char *on = "the root group";
    hid_t r = w->file;
    int64_t n_nodes = (int64_t)f->n_nodes, psi = (int64_t)f->sample_size;
    uint64_t seed = f->seed;
    enum ml_status st;

    st = w_str(w, r, on, "plantfit_model", model_kind);
    if (!st)
        /* A forest scored with scikit-learn's c(n) is version 2: a
         * version-1 reader would score it with the exact c(n), silently
         * differently, so it must refuse the file instead. */
        st = w_i32(w, r, on, "format_version",
                   f->correction == IFOREST_C_EXACT ? 1 : IFOREST_H5_FORMAT_VERSION);
    if (!st && f->correction != IFOREST_C_EXACT)
        st = w_i32(w, r, on, "correction", (int)f->correction);
    if (!st)
        st = w_i32(w, r, on, "format_minor", IFOREST_H5_FORMAT_MINOR);
    if (!st)
        st = w_i32(w, r, on, "d", f->d);
    if (!st)
        st = w_i32(w, r, on, "n_trees", f->n_trees);
    if (!st)
        st = w_num(w, r, on, "n_nodes", NUM_I64, &n_nodes);
    if (!st)
        st = w_i32(w, r, on, "max_depth", f->max_depth);
    if (!st)
        st = w_i32(w, r, on, "extension_level", f->extension_level);
    if (!st)
        st = w_i32(w, r, on, "missing", (int)f->missing);
    if (!st)
        st = w_num(w, r, on, "sample_size", NUM_I64, &psi);
    if (!st)
        st = w_num(w, r, on, "seed", NUM_U64, &seed);
    if (!st)
        st = w_num(w, r, on, "contamination", NUM_F64, &f->contamination);
    if (!st)
        st = w_num(w, r, on, "threshold", NUM_F64, &f->threshold);
    if (!st)
        st = w_num(w, r, on, "offset", NUM_F64, &f->offset);
    return st;
}

static enum ml_status write_forest(struct wr *w, const struct iforest *f)
{
    size_t d = (size_t)f->d, n = f->n_nodes, nt = (size_t)f->n_trees + 1, t;
    int64_t *starts;
    enum ml_status st;
    hid_t nodes;

    st = write_root_attrs(w, f);
    if (!st)
        st = w_names(w, f);
    if (!st)
        st = w_nums(w, w->file, "/", "fmin", NUM_F64, 1, d, 0, f->fmin);
    if (!st)
        st = w_nums(w, w->file, "/", "fmax", NUM_F64, 1, d, 0, f->fmax);
    if (st)
        return st;
    /* size_t in memory, int64 in the file. */
    starts = malloc(nt * sizeof *starts);
    if (!starts)
        ML_FAIL(w->err, ML_ENOMEM, "%s: out of memory writing dataset /tree_start", w->path);
    for (t = 0; t < nt; t++)
        starts[t] = (int64_t)f->tree_start[t];
    st = w_nums(w, w->file, "/", "tree_start", NUM_I64, 1, nt, 0, starts);
    free(starts);
    if (st)
        return st;

    nodes = H5Gcreate2(w->file, "nodes", H5P_DEFAULT, w->gcpl, H5P_DEFAULT);
    if (nodes < 0)
        ML_FAIL(w->err, ML_EIO, "%s: cannot create group /nodes", w->path);
    st = w_nums(w, nodes, "/nodes/", "left", NUM_I32, 1, n, 0, f->left);
    if (!st)
        st = w_nums(w, nodes, "/nodes/", "right", NUM_I32, 1, n, 0, f->right);
    if (!st)
        st = w_nums(w, nodes, "/nodes/", "feature", NUM_I32, 1, n, 0, f->feature);
    if (!st)
        st = w_nums(w, nodes, "/nodes/", "split", NUM_F64, 1, n, 0, f->split);
    if (!st)
        st = w_nums(w, nodes, "/nodes/", "frac_left", NUM_F64, 1, n, 0, f->frac_left);
    if (!st)
        st = w_nums(w, nodes, "/nodes/", "size", NUM_U32, 1, n, 0, f->size);
    if (!st && f->extension_level > 0)
        st = w_nums(w, nodes, "/nodes/", "coef", NUM_F64, 2, n, d, f->coef);
    if (H5Gclose(nodes) < 0 && !st)
        st = ml_fail(w->err, ML_EIO, __FILE__, __LINE__, "%s: cannot write group /nodes",
                     w->path);
    return st;
}

/* The trees themselves (children inside their tree, every node reached once,
 * depth, root sizes) are iforest_prepare's to check, but prepare stores its
 * layout in the forest, which is const here.  Scoring one row with a shallow
 * copy that has no layout builds the layout for that call (iforest.h), which
 * runs the same checks, and frees it: f is left untouched. */
static enum ml_status check_trees_for_write(const char *path, const struct iforest *f,
                                            struct ml_err *err)
{
    struct iforest copy = *f;
    struct ml_err e;
    enum ml_status st;
    double *x, s;

    copy.packed = NULL;
    x = calloc((size_t)f->d, sizeof *x); /* one row of zeros: never missing */
    if (!x)
        ML_FAIL(err, ML_ENOMEM, "%s: out of memory checking the forest", path);
    ml_err_clear(&e);
    st = iforest_score(&copy, x, 1, 1, &s, 1, &e);
    free(x);
    if (st == ML_ENOMEM)
        ML_FAIL(err, ML_ENOMEM, "%s: %s", path, e.msg);
    if (st)
        ML_FAIL(err, st == ML_ELIMIT ? ML_ELIMIT : ML_EINVAL,
                "%s: cannot write an inconsistent forest: %s", path, e.msg);
    return ML_OK;
}

enum ml_status iforest_h5_write(const char *path, const struct iforest *f, struct ml_err *err)
{
    struct chk c = {path, "cannot write an inconsistent forest", ML_EINVAL, err};
    hid_t fcpl = H5I_INVALID_HID, fapl = H5I_INVALID_HID;
    enum ml_status st;
    struct h5u_quiet q;
    struct wr w;
    char tmp[4096];

    if (!path || !f)
        ML_FAIL(err, ML_EINVAL, "iforest_h5_write: no %s given", path ? "forest" : "path");
    st = check_forest(&c, f);
    if (!st)
        st = check_trees_for_write(path, f, err);
    if (!st)
        st = h5u_temp_create(path, tmp, sizeof tmp, err);
    if (st)
        return st;

    memset(&w, 0, sizeof w);
    w.path = path;
    w.err = err;
    w.file = H5I_INVALID_HID;
    h5u_quiet_begin(&q);
    fcpl = H5Pcreate(H5P_FILE_CREATE);
    fapl = H5Pcreate(H5P_FILE_ACCESS);
    w.gcpl = H5Pcreate(H5P_GROUP_CREATE);
    w.dcpl = H5Pcreate(H5P_DATASET_CREATE);
    /* Timestamps off on every object (the root group takes its settings from
     * the fcpl), or two writes of one forest would differ.  File format of
     * HDF5 1.8, readable by any HDF5 >= 1.8, as the GAM files. */
    if (fcpl < 0 || fapl < 0 || w.gcpl < 0 || w.dcpl < 0 ||
        H5Pset_obj_track_times(fcpl, 0) < 0 || H5Pset_obj_track_times(w.gcpl, 0) < 0 ||
        H5Pset_obj_track_times(w.dcpl, 0) < 0 ||
        H5Pset_attr_phase_change(fcpl, IFH5_MAX_COMPACT, IFH5_MAX_COMPACT / 2) < 0 ||
        H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) < 0) {
        st = ml_fail(err, ML_EINTERNAL, __FILE__, __LINE__,
                     "%s: cannot set up HDF5 property lists", path);
        goto cleanup;
    }
#if H5_VERSION_GE(1, 10, 7)
    /* Nobody else knows the temporary name: a lock would protect nothing,
     * and fails on some network file systems. */
    H5Pset_file_locking(fapl, 0, 1);
#endif
    w.file = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, fapl);
    if (w.file < 0) {
        st = ml_fail(err, ML_EIO, __FILE__, __LINE__, "%s: cannot create an HDF5 file", path);
        goto cleanup;
    }
    st = write_forest(&w, f);
cleanup:
    if (w.file >= 0 && H5Fclose(w.file) < 0 && !st)
        st = ml_fail(err, ML_EIO, __FILE__, __LINE__, "%s: error finishing the HDF5 file", path);
    if (w.dcpl >= 0)
        H5Pclose(w.dcpl);
    if (w.gcpl >= 0)
        H5Pclose(w.gcpl);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (fcpl >= 0)
        H5Pclose(fcpl);
    h5u_quiet_end(&q);
    return h5u_temp_finish(tmp, path, st, err);
}

/* ---------------------------------------------------------------------------
 * Reading. */

struct rd {
    const char *path;
    hid_t file;
    uint64_t file_size;      /* bytes, from fstat */
    uint64_t budget;         /* bytes the datasets may still declare */
    struct ml_err *err;
};

static enum ml_status corrupt(struct rd *r, int line, const char *obj, const char *fmt, ...)
    ML_ATTR_FORMAT(4, 5);

/* "<path>: corrupt model file: <obj>: <reason>". */
static enum ml_status corrupt(struct rd *r, int line, const char *obj, const char *fmt, ...)
{
    char buf[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return ml_fail(r->err, ML_EFORMAT, __FILE__, line, "%s: corrupt model file: %s: %s", r->path,
                   obj, buf);
}

#define CORRUPT(r, obj, ...) return corrupt((r), __LINE__, (obj), __VA_ARGS__)

/* Open `name` (one path component) in loc: a hard link to an object of
 * `type`; `obj` names it in messages. */
static enum ml_status open_hard(struct rd *r, hid_t loc, const char *name, const char *obj,
                                H5I_type_t type, hid_t *out)
{
    const char *kind = type == H5I_GROUP ? "group" : "dataset";
    H5L_info_t info;
    htri_t ex;
    hid_t id;

    *out = H5I_INVALID_HID;
    ex = H5Lexists(loc, name, H5P_DEFAULT);
    if (ex < 0)
        CORRUPT(r, obj, "cannot look it up");
    if (ex == 0)
        CORRUPT(r, obj, "the %s is missing", kind);
    if (H5Lget_info(loc, name, &info, H5P_DEFAULT) < 0)
        CORRUPT(r, obj, "cannot read its link");
    /* Refused, not followed: a soft link may loop, an external one opens
     * another file. */
    if (info.type != H5L_TYPE_HARD)
        CORRUPT(r, obj, "not a plain (hard) link");
    id = H5Oopen(loc, name, H5P_DEFAULT);
    if (id < 0)
        CORRUPT(r, obj, "cannot open it");
    if (H5Iget_type(id) != type) {
        H5Oclose(id);
        CORRUPT(r, obj, "not a %s", kind);
    }
    *out = id;
    return ML_OK;
}

/* Charge `count` elements of `size` bytes to what the file can hold. */
static enum ml_status charge(struct rd *r, const char *obj, uint64_t count, uint64_t size)
{
    if ((size != 0 && count > UINT64_MAX / size) || count * size > r->budget)
        return ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__,
                       "%s: corrupt model file: %s: declares %llu elements of %llu bytes, more "
                       "than the %llu-byte file holds",
                       r->path, obj, (unsigned long long)count, (unsigned long long)size,
                       (unsigned long long)r->file_size);
    r->budget -= count * size;
    return ML_OK;
}

/* Scalar attribute `name` of obj (called `on`) of exactly the file type of
 * kind k, into out (int32_t, uint32_t, int64_t, uint64_t or double). */
static enum ml_status a_num(struct rd *r, hid_t obj, const char *on, const char *name,
                            enum num k, void *out)
{
    hid_t attr, ftype = H5I_INVALID_HID, space = H5I_INVALID_HID;
    enum ml_status st = ML_OK;
    char what[128];
    htri_t ex;

    snprintf(what, sizeof what, "%s attribute %s", on, name);
    ex = H5Aexists(obj, name);
    if (ex < 0)
        CORRUPT(r, what, "cannot read the attributes");
    if (ex == 0)
        CORRUPT(r, what, "missing");
    attr = H5Aopen(obj, name, H5P_DEFAULT);
    if (attr < 0)
        CORRUPT(r, what, "cannot open it");
    ftype = H5Aget_type(attr);
    space = H5Aget_space(attr);
    if (ftype < 0 || space < 0)
        st = corrupt(r, __LINE__, what, "cannot read its type or shape");
    else if (H5Tequal(ftype, num_file_type(k)) <= 0)
        st = corrupt(r, __LINE__, what, "not of type %s (little-endian)", num_name(k));
    else if (H5Sget_simple_extent_type(space) != H5S_SCALAR)
        st = corrupt(r, __LINE__, what, "not a single value");
    else if (H5Aread(attr, num_mem_type(k), out) < 0)
        st = corrupt(r, __LINE__, what, "cannot read it");
    if (space >= 0)
        H5Sclose(space);
    if (ftype >= 0)
        H5Tclose(ftype);
    H5Aclose(attr);
    return st;
}

/* A scalar int32 root attribute as a long long (ranges are the caller's). */
static enum ml_status a_i32(struct rd *r, const char *name, long long *out)
{
    int32_t v = 0;
    enum ml_status st = a_num(r, r->file, "root", name, NUM_I32, &v);

    *out = v;
    return st;
}

/* A scalar fixed-length string attribute; *out malloc'd. */
static enum ml_status a_str(struct rd *r, hid_t obj, const char *on, const char *name,
                            char **out)
{
    hid_t attr, ftype = H5I_INVALID_HID, space = H5I_INVALID_HID;
    enum ml_status st = ML_OK;
    char what[128], *buf = NULL;
    size_t size = 0;

    *out = NULL;
    snprintf(what, sizeof what, "%s attribute %s", on, name);
    attr = H5Aopen(obj, name, H5P_DEFAULT);
    if (attr < 0)
        CORRUPT(r, what, "cannot open it");
    ftype = H5Aget_type(attr);
    space = H5Aget_space(attr);
    if (ftype < 0 || space < 0) {
        st = corrupt(r, __LINE__, what, "cannot read its type or shape");
        goto cleanup;
    }
    if (H5Tget_class(ftype) != H5T_STRING || H5Tis_variable_str(ftype) != 0) {
        st = corrupt(r, __LINE__, what, "not a fixed-length string (model files hold no "
                     "variable-length strings)");
        goto cleanup;
    }
    if (H5Sget_simple_extent_type(space) != H5S_SCALAR) {
        st = corrupt(r, __LINE__, what, "not a single string");
        goto cleanup;
    }
    size = H5Tget_size(ftype);
    /* Attribute data is stored uncompressed, in the file. */
    if (size == 0 || size > r->file_size) {
        st = corrupt(r, __LINE__, what, "declares a string of %zu bytes", size);
        goto cleanup;
    }
    if (size > IFOREST_H5_MAX_STR + 1) {
        st = ml_fail(r->err, ML_ELIMIT, __FILE__, __LINE__,
                     "%s: %s: a string of %zu bytes, more than the limit of %d", r->path, what,
                     size - 1, IFOREST_H5_MAX_STR);
        goto cleanup;
    }
    buf = malloc(size + 1);
    if (!buf) {
        st = ml_fail(r->err, ML_ENOMEM, __FILE__, __LINE__, "%s: out of memory reading %s",
                     r->path, what);
        goto cleanup;
    }
    /* A fixed-length string type is its own memory type (no byte order). */
    if (H5Aread(attr, ftype, buf) < 0) {
        st = corrupt(r, __LINE__, what, "cannot read it");
        goto cleanup;
    }
    buf[size] = '\0';
    *out = buf;
    buf = NULL;
cleanup:
    free(buf);
    if (space >= 0)
        H5Sclose(space);
    if (ftype >= 0)
        H5Tclose(ftype);
    H5Aclose(attr);
    return st;
}

/* Type, shape and storage of dataset `dset` (called `obj`): exactly
 * d0 (rank 1) or d0 x d1 (rank 2) elements, contiguous or compact without
 * filters (what we write; uncompressed data cannot exceed the file). */
static enum ml_status d_shape(struct rd *r, hid_t dset, const char *obj, int rank, size_t d0,
                              size_t d1)
{
    hid_t space = H5Dget_space(dset), dcpl = H5I_INVALID_HID;
    hsize_t dims[2] = {0, 0};
    int ok, nfilters = -1;
    H5D_layout_t layout = H5D_LAYOUT_ERROR;

    ok = space >= 0 && H5Sget_simple_extent_type(space) == H5S_SIMPLE &&
         H5Sget_simple_extent_ndims(space) == rank &&
         H5Sget_simple_extent_dims(space, dims, NULL) == rank && dims[0] == d0 &&
         (rank == 1 || dims[1] == d1);
    if (space >= 0)
        H5Sclose(space);
    if (!ok) {
        if (rank == 2)
            CORRUPT(r, obj, "shape is not %zu x %zu", d0, d1);
        CORRUPT(r, obj, "shape is not [%zu]", d0);
    }
    dcpl = H5Dget_create_plist(dset);
    if (dcpl < 0)
        CORRUPT(r, obj, "cannot read its storage properties");
    layout = H5Pget_layout(dcpl);
    nfilters = H5Pget_nfilters(dcpl);
    H5Pclose(dcpl);
    if ((layout != H5D_CONTIGUOUS && layout != H5D_COMPACT) || nfilters != 0)
        CORRUPT(r, obj, "not stored contiguously without filters (layout %d, %d filters)",
                (int)layout, nfilters);
    return ML_OK;
}

/* Dataset `name` in loc (`where` + name in messages): numbers of kind k,
 * shape d0 or d0 x d1, read into out (room for all of them). */
static enum ml_status d_nums(struct rd *r, hid_t loc, const char *where, const char *name,
                             enum num k, int rank, size_t d0, size_t d1, void *out)
{
    enum ml_status st;
    hid_t dset, ftype;
    char obj[128];

    snprintf(obj, sizeof obj, "dataset %s%s", where, name);
    st = open_hard(r, loc, name, obj, H5I_DATASET, &dset);
    if (st)
        return st;
    ftype = H5Dget_type(dset);
    if (ftype < 0)
        st = corrupt(r, __LINE__, obj, "cannot read its type");
    else if (H5Tequal(ftype, num_file_type(k)) <= 0)
        st = corrupt(r, __LINE__, obj, "not of type %s (little-endian)", num_name(k));
    if (ftype >= 0)
        H5Tclose(ftype);
    if (!st)
        st = d_shape(r, dset, obj, rank, d0, d1);
    if (!st)
        st = charge(r, obj, (uint64_t)d0 * (rank == 2 ? (uint64_t)d1 : 1), num_bytes(k));
    if (!st && H5Dread(dset, num_mem_type(k), H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
        st = corrupt(r, __LINE__, obj, "cannot read its values");
    H5Dclose(dset);
    return st;
}

/* /feature_names: d fixed-length strings, into f->feature_names. */
static enum ml_status d_names(struct rd *r, struct iforest *f)
{
    const char *obj = "dataset /feature_names";
    size_t d = (size_t)f->d, size = 0, j;
    hid_t dset, ftype;
    enum ml_status st;
    char *buf = NULL;

    st = open_hard(r, r->file, "feature_names", obj, H5I_DATASET, &dset);
    if (st)
        return st;
    ftype = H5Dget_type(dset);
    if (ftype < 0) {
        st = corrupt(r, __LINE__, obj, "cannot read its type");
        goto cleanup;
    }
    if (H5Tget_class(ftype) != H5T_STRING || H5Tis_variable_str(ftype) != 0) {
        st = corrupt(r, __LINE__, obj, "not fixed-length strings (model files hold no "
                     "variable-length strings)");
        goto cleanup;
    }
    size = H5Tget_size(ftype);
    if (size == 0) {
        st = corrupt(r, __LINE__, obj, "declares strings of 0 bytes");
        goto cleanup;
    }
    if (size > IFOREST_H5_MAX_STR + 1) {
        st = ml_fail(r->err, ML_ELIMIT, __FILE__, __LINE__,
                     "%s: %s: strings of %zu bytes, more than the limit of %d", r->path, obj,
                     size - 1, IFOREST_H5_MAX_STR);
        goto cleanup;
    }
    st = d_shape(r, dset, obj, 1, d, 0);
    if (!st)
        st = charge(r, obj, d, size);
    if (st)
        goto cleanup;
    buf = malloc(d * size);
    if (!buf) {
        st = ml_fail(r->err, ML_ENOMEM, __FILE__, __LINE__, "%s: out of memory reading %s",
                     r->path, obj);
        goto cleanup;
    }
    if (H5Dread(dset, ftype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        st = corrupt(r, __LINE__, obj, "cannot read its values");
        goto cleanup;
    }
    for (j = 0; j < d; j++) {
        const char *s = buf + j * size;
        size_t len = strnlen(s, size);

        f->feature_names[j] = malloc(len + 1);
        if (!f->feature_names[j]) {
            st = ml_fail(r->err, ML_ENOMEM, __FILE__, __LINE__, "%s: out of memory reading %s",
                         r->path, obj);
            goto cleanup;
        }
        memcpy(f->feature_names[j], s, len);
        f->feature_names[j][len] = '\0';
    }
cleanup:
    free(buf);
    if (ftype >= 0)
        H5Tclose(ftype);
    H5Dclose(dset);
    return st;
}

/* What kind of file this is: only plantfit_model = "iforest" passes. */
static enum ml_status read_kind(struct rd *r)
{
    enum ml_status st;
    char *kind = NULL;
    htri_t ex = H5Aexists(r->file, "plantfit_model");

    if (ex < 0)
        CORRUPT(r, "the root group", "cannot read its attributes");
    if (ex == 0) {
        /* A data table says what it is in plantfit_format, a variable-length
         * string: only its presence is tested, it is never read. */
        if (H5Aexists(r->file, "plantfit_format") > 0)
            ML_FAIL(r->err, ML_EFORMAT,
                    "%s: not a model file: it is a plantfit data table (root attribute "
                    "plantfit_format), not an Isolation Forest", r->path);
        ML_FAIL(r->err, ML_EFORMAT,
                "%s: not a plantfit model file (no plantfit_model attribute at the root)",
                r->path);
    }
    st = a_str(r, r->file, "root", "plantfit_model", &kind);
    if (st)
        return st;
    if (strcmp(kind, model_kind) != 0)
        st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__,
                     "%s: holds a \"%.100s\" model (root attribute plantfit_model), not an "
                     "Isolation Forest (\"%s\")", r->path, kind, model_kind);
    free(kind);
    return st;
}

/* The sizes of the root attributes, checked against the caps and against
 * the bytes the file holds, before anything is allocated from them. */
struct sizes {
    long long d, n_trees, n_nodes, ext;
};

static enum ml_status read_sizes(struct rd *r, struct sizes *z)
{
    struct chk c = {r->path, "corrupt model file", ML_EFORMAT, r->err};
    enum ml_status st;
    int64_t n_nodes = 0;
    uint64_t need;

    st = a_i32(r, "d", &z->d);
    if (!st)
        st = a_i32(r, "n_trees", &z->n_trees);
    if (!st)
        st = a_num(r, r->file, "root", "n_nodes", NUM_I64, &n_nodes);
    if (!st)
        st = a_i32(r, "extension_level", &z->ext);
    if (st)
        return st;
    z->n_nodes = n_nodes;
    st = check_caps(&c, z->d, z->n_trees, z->n_nodes);
    if (st)
        return st;
    if (z->d < 1)
        CORRUPT(r, "root attribute d", "%lld; expected at least one feature", z->d);
    if (z->n_trees < 1)
        CORRUPT(r, "root attribute n_trees", "%lld; expected at least one tree", z->n_trees);
    if (z->n_nodes < z->n_trees)
        CORRUPT(r, "root attribute n_nodes", "%lld; expected at least n_trees = %lld (each "
                "tree has a root)", z->n_nodes, z->n_trees);
    if (z->ext < 0 || z->ext > z->d - 1)
        CORRUPT(r, "root attribute extension_level", "%lld; expected 0 to d - 1 = %lld", z->ext,
                z->d - 1);
    /* At most 1e6 * 17 + 1e6 * 8 + 2^31 * (32 + 8e6): no overflow in 64 bits. */
    need = (uint64_t)z->d * (8 + 8 + 1) + ((uint64_t)z->n_trees + 1) * 8 +
           (uint64_t)z->n_nodes * (IFH5_NODE_BYTES + (z->ext > 0 ? 8 * (uint64_t)z->d : 0));
    if (need > r->file_size)
        ML_FAIL(r->err, ML_EFORMAT,
                "%s: corrupt model file: the root attributes declare %lld features, %lld trees "
                "and %lld nodes, at least %llu bytes of data, more than the %llu-byte file "
                "holds", r->path, z->d, z->n_trees, z->n_nodes, (unsigned long long)need,
                (unsigned long long)r->file_size);
    return ML_OK;
}

/* The other root attributes, into f. */
static enum ml_status read_params(struct rd *r, struct iforest *f)
{
    enum ml_status st;
    long long v = 0, depth = 0;
    int64_t psi = 0;

    st = a_i32(r, "max_depth", &depth);
    if (!st)
        st = a_i32(r, "missing", &v);
    if (!st)
        st = a_num(r, r->file, "root", "sample_size", NUM_I64, &psi);
    if (!st)
        st = a_num(r, r->file, "root", "seed", NUM_U64, &f->seed);
    if (!st)
        st = a_num(r, r->file, "root", "contamination", NUM_F64, &f->contamination);
    if (!st)
        st = a_num(r, r->file, "root", "threshold", NUM_F64, &f->threshold);
    if (!st)
        st = a_num(r, r->file, "root", "offset", NUM_F64, &f->offset);
    if (st)
        return st;
    if (v != IFOREST_MISSING_FAIL && v != IFOREST_MISSING_DIVIDE)
        ML_FAIL(r->err, ML_EFORMAT,
                "%s: root attribute missing = %lld is not a missing-value policy this plantfit "
                "knows (0 fail, 1 divide); a newer version may have written the file",
                r->path, v);
    if (depth < 1 || depth > IFOREST_DEPTH_MAX)
        CORRUPT(r, "root attribute max_depth", "%lld; expected 1 to %d", depth,
                IFOREST_DEPTH_MAX);
    if (psi < 2 || (uint64_t)psi > UINT32_MAX)
        CORRUPT(r, "root attribute sample_size", "%lld; expected 2 to %lu", (long long)psi,
                (unsigned long)UINT32_MAX);
    f->missing = (enum iforest_missing)v;
    f->max_depth = (int)depth;
    f->sample_size = (size_t)psi;
    return ML_OK;
}

static enum ml_status read_arrays(struct rd *r, struct iforest *f)
{
    size_t d = (size_t)f->d, n = f->n_nodes, nt = (size_t)f->n_trees + 1, t;
    enum ml_status st;
    int64_t *starts;
    hid_t nodes;
    htri_t has_coef;

    st = d_names(r, f);
    if (!st)
        st = d_nums(r, r->file, "/", "fmin", NUM_F64, 1, d, 0, f->fmin);
    if (!st)
        st = d_nums(r, r->file, "/", "fmax", NUM_F64, 1, d, 0, f->fmax);
    if (st)
        return st;
    starts = malloc(nt * sizeof *starts);
    if (!starts)
        ML_FAIL(r->err, ML_ENOMEM, "%s: out of memory reading dataset /tree_start", r->path);
    st = d_nums(r, r->file, "/", "tree_start", NUM_I64, 1, nt, 0, starts);
    for (t = 0; t < nt && !st; t++) {
        /* Range first, so the size_t conversion is exact; the order is
         * check_nodes' to judge. */
        if (starts[t] < 0 || (uint64_t)starts[t] > n)
            st = corrupt(r, __LINE__, "dataset /tree_start", "element %zu is %lld; expected "
                         "0 to n_nodes = %zu", t, (long long)starts[t], n);
        else
            f->tree_start[t] = (size_t)starts[t];
    }
    free(starts);
    if (st)
        return st;

    st = open_hard(r, r->file, "nodes", "group /nodes", H5I_GROUP, &nodes);
    if (st)
        return st;
    st = d_nums(r, nodes, "/nodes/", "left", NUM_I32, 1, n, 0, f->left);
    if (!st)
        st = d_nums(r, nodes, "/nodes/", "right", NUM_I32, 1, n, 0, f->right);
    if (!st)
        st = d_nums(r, nodes, "/nodes/", "feature", NUM_I32, 1, n, 0, f->feature);
    if (!st)
        st = d_nums(r, nodes, "/nodes/", "split", NUM_F64, 1, n, 0, f->split);
    if (!st)
        st = d_nums(r, nodes, "/nodes/", "frac_left", NUM_F64, 1, n, 0, f->frac_left);
    if (!st)
        st = d_nums(r, nodes, "/nodes/", "size", NUM_U32, 1, n, 0, f->size);
    if (!st && f->extension_level > 0)
        st = d_nums(r, nodes, "/nodes/", "coef", NUM_F64, 2, n, d, f->coef);
    if (!st && f->extension_level == 0) {
        /* Hyperplanes in a forest that says it has none: which is wrong? */
        has_coef = H5Lexists(nodes, "coef", H5P_DEFAULT);
        if (has_coef != 0)
            st = corrupt(r, __LINE__, "dataset /nodes/coef",
                         "present in a classic forest (extension_level 0)");
    }
    H5Gclose(nodes);
    return st;
}

static enum ml_status read_forest(struct rd *r, struct iforest **out)
{
    struct chk c = {r->path, "corrupt model file", ML_EFORMAT, r->err};
    struct iforest *f = NULL;
    struct sizes z;
    struct ml_err e;
    enum ml_status st;
    long long version = 0, minor = 0;

    st = read_kind(r);
    if (!st)
        st = a_i32(r, "format_version", &version);
    if (st)
        return st;
    if (version < 1 || version > IFOREST_H5_FORMAT_VERSION)
        ML_FAIL(r->err, ML_EFORMAT,
                "%s: Isolation Forest format_version %lld is not supported: this plantfit reads "
                "versions 1 to %d%s", r->path, version, IFOREST_H5_FORMAT_VERSION,
                version > IFOREST_H5_FORMAT_VERSION ? " (a newer plantfit wrote the file)" : "");
    /* Every minor version of major 1 is readable: minor additions are ones
     * an older reader may ignore. */
    st = a_i32(r, "format_minor", &minor);
    if (st)
        return st;
    if (minor < 0)
        CORRUPT(r, "root attribute format_minor", "%lld; expected >= 0", minor);
    st = read_sizes(r, &z);
    if (st)
        return st;

    ml_err_clear(&e);
    st = iforest_alloc(&f, (int)z.d, (int)z.n_trees, (size_t)z.n_nodes, (int)z.ext, &e);
    if (st)
        ML_FAIL(r->err, st, "%s: %s", r->path, e.msg);
    st = read_params(r, f);
    f->correction = IFOREST_C_EXACT;
    if (!st && version >= 2) {
        long long corr = 0;
        st = a_i32(r, "correction", &corr);
        if (!st && corr != IFOREST_C_EXACT && corr != IFOREST_C_ASYMPTOTIC)
            st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__,
                         "%s: root attribute correction = %lld is not a path-length "
                         "correction this plantfit knows (0 exact, 1 asymptotic)", r->path,
                         corr);
        if (!st)
            f->correction = (enum iforest_correction)corr;
    }
    if (!st)
        st = read_arrays(r, f);
    if (!st)
        st = check_forest(&c, f);
    if (!st) {
        ml_err_clear(&e);
        st = iforest_prepare(f, &e);
        if (st == ML_EINVAL)
            st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__,
                         "%s: corrupt model file: %s", r->path, e.msg);
        else if (st)
            st = ml_fail(r->err, st, __FILE__, __LINE__, "%s: %s", r->path, e.msg);
    }
    if (st) {
        iforest_free(f);
        return st;
    }
    *out = f;
    return ML_OK;
}

enum ml_status iforest_h5_read(const char *path, struct iforest **out, struct ml_err *err)
{
    enum ml_status st;
    struct h5u_quiet q;
    struct rd r;

    if (!out)
        ML_FAIL(err, ML_EINVAL, "iforest_h5_read: no output pointer given");
    *out = NULL;
    if (!path)
        ML_FAIL(err, ML_EINVAL, "iforest_h5_read: no path given");
    memset(&r, 0, sizeof r);
    r.path = path;
    r.err = err;
    r.file = H5I_INVALID_HID;

    h5u_quiet_begin(&q);
    st = h5u_model_open(path, &r.file, &r.file_size, err);
    if (!st) {
        r.budget = r.file_size;
        st = read_forest(&r, out);
    }
    if (r.file >= 0) {
        struct ml_err ce;
        if (h5u_model_close(path, r.file, &ce) != ML_OK && !st) {
            iforest_free(*out);
            *out = NULL;
            if (err)
                *err = ce;
            st = ML_EFORMAT;
        }
    }
    h5u_quiet_end(&q);
    return st;
}
