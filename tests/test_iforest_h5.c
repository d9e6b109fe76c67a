/* test_iforest_h5.c: io/hdf5/iforest_h5 (Isolation Forest model files) and
 * `plantfit predict` with an Isolation Forest, suite "iforest_h5".
 *
 * Round trips: classic and extended forests, with missing = fail and
 * divide, are fitted on deterministic data (ml_rng, fixed seeds), written
 * and read back; every field must be equal bit for bit, and so must
 * iforest_score, iforest_path_length and iforest_explain (memcmp) on
 * training rows, new rows, far outliers and rows with missing values.
 * Files of equal forests must be byte-identical.  Then every failure the
 * reader documents is provoked: files edited through the HDF5 API to break
 * one rule each, wrong format_version, truncated files, byte flips, a GAM
 * model file, a data table, non-HDF5 files; each must give a clean error
 * naming the path (and leave no HDF5 identifier open).  Finally `plantfit
 * predict` end to end for a forest alone and for a GAM and a forest in one
 * model directory, against outputs computed here from the library calls. */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hdf5.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include "commands.h"
#include "csv/csv_read.h"
#include "hdf5/gam_h5.h"
#include "hdf5/iforest_h5.h"
#include "hdf5/table_h5.h"
#include "ml_rng.h"
#include "ml_table.h"

#define SAME(a, b, n) (memcmp((a), (b), (n)) == 0)

/* ---------------------------------------------------------------------------
 * Helpers. */

/* dir/name in one of 64 rotating buffers: enough for every path one test
 * keeps at a time. */
static char *join(const char *dir, const char *name)
{
    static char buf[64][700];
    static unsigned next;
    char *p = buf[next++ % 64], tmp[700];

    snprintf(tmp, sizeof tmp, "%s/%s", dir, name); /* dir may be an older buffer */
    memcpy(p, tmp, sizeof tmp);
    return p;
}

static unsigned char *read_whole(const char *path, size_t *n)
{
    struct stat sb;
    unsigned char *b;
    FILE *fp;

    *n = 0;
    if (stat(path, &sb) != 0 || !(fp = fopen(path, "rb")))
        return NULL;
    b = malloc((size_t)sb.st_size + 1);
    if (b && fread(b, 1, (size_t)sb.st_size, fp) != (size_t)sb.st_size) {
        free(b);
        b = NULL;
    }
    fclose(fp);
    if (b) {
        b[sb.st_size] = '\0';
        *n = (size_t)sb.st_size;
    }
    return b;
}

static void write_whole(const char *path, const void *b, size_t n)
{
    FILE *fp = fopen(path, "wb");

    CHECK(fp != NULL, "cannot create %s", path);
    if (fp) {
        CHECK(fwrite(b, 1, n, fp) == n);
        fclose(fp);
    }
}

static void copy(const char *from, const char *to)
{
    size_t n;
    unsigned char *b = read_whole(from, &n);

    CHECK(b != NULL, "cannot read %s", from);
    write_whole(to, b ? (const void *)b : "", n);
    free(b);
}

static int is_there(const char *path)
{
    struct stat sb;

    return stat(path, &sb) == 0;
}

static size_t count_entries(const char *dir)
{
    char cmd[800], line[64];
    size_t n = 0;
    FILE *p;

    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
    p = popen(cmd, "r");
    if (p && fgets(line, sizeof line, p))
        n = (size_t)strtoul(line, NULL, 10);
    if (p)
        pclose(p);
    return n;
}

/* HDF5 identifiers open now that were not at the mark.  Files, groups,
 * datasets and attributes are counted by the library; dataspaces, datatypes
 * and property lists are not, so the mark keeps the next id of each of
 * those types (ids of one type increase) and any valid id above it counts. */
struct mark {
    hid_t s, t, p;
};

static struct mark mark_ids(void)
{
    struct mark k;

    k.s = H5Screate(H5S_SCALAR);
    H5Sclose(k.s);
    k.t = H5Tcopy(H5T_NATIVE_INT);
    H5Tclose(k.t);
    k.p = H5Pcreate(H5P_FILE_ACCESS);
    H5Pclose(k.p);
    return k;
}

static long ids_open(const struct mark *a)
{
    struct mark b = mark_ids();
    H5E_auto2_t fn;
    void *data;
    long n = 0;
    hid_t id;

    H5Eget_auto2(H5E_DEFAULT, &fn, &data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    for (id = a->s + 1; id < b.s; id++)
        n += H5Iis_valid(id) > 0;
    for (id = a->t + 1; id < b.t; id++)
        n += H5Iis_valid(id) > 0;
    for (id = a->p + 1; id < b.p; id++)
        n += H5Iis_valid(id) > 0;
    H5Eset_auto2(H5E_DEFAULT, fn, data);
    return n + (long)H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
}

/* ---------------------------------------------------------------------------
 * Data and forests. */

static const char *const feature_names[] = {"temp", "flow", "pressure", "vibration", "humidity"};

/* n rows of d features, column-major (x[j * n + i]): a correlated Gaussian
 * cloud (feature j = z_j + 0.6 z_0, so hyperplanes differ from axis cuts),
 * every 40th row far out in feature 1; with nan_every > 0 every
 * nan_every-th row loses feature i % d. */
static double *make_data(size_t n, int d, uint64_t seed, size_t nan_every)
{
    double *x = malloc(n * (size_t)d * sizeof *x);
    struct ml_rng r;
    size_t i;
    int j;

    ml_rng_seed(&r, seed, 0);
    for (i = 0; x && i < n; i++) {
        double z0 = ml_rng_normal(&r);

        for (j = 0; j < d; j++)
            x[(size_t)j * n + i] = (j == 0 ? 0.0 : ml_rng_normal(&r)) + 0.6 * z0 + 2.0 * j;
        if (i % 40 == 39)
            x[n + i] += 9.0;
        if (nan_every && i % nan_every == nan_every - 1)
            x[(i % (size_t)d) * n + i] = NAN;
    }
    return x;
}

struct fit_args {
    int d, ext, trees;
    enum iforest_correction correction;
    size_t n, psi, nan_every;
    enum iforest_missing missing;
    double contamination;
    uint64_t seed;
};

static struct fit_args fit_defaults(void)
{
    struct fit_args a;

    a.d = 4;
    a.ext = 0;
    a.trees = 30;
    a.n = 400;
    a.psi = 64;
    a.nan_every = 0;
    a.missing = IFOREST_MISSING_FAIL;
    a.contamination = 0.0;
    a.seed = 20261125;
    a.correction = IFOREST_C_EXACT;
    return a;
}

static struct iforest *fit_forest(const struct fit_args *a)
{
    struct iforest_options o;
    struct iforest *f = NULL;
    struct ml_err err;
    double *x = make_data(a->n, a->d, a->seed, a->nan_every);

    iforest_options_default(&o);
    o.n_trees = a->trees;
    o.sample_size = a->psi;
    o.extension_level = a->ext;
    o.missing = a->missing;
    o.contamination = a->contamination;
    o.seed = a->seed;
    o.correction = a->correction;
    o.threads = 2;
    CHECK_OK(iforest_fit(x, a->n, a->d, feature_names, &o, &f, &err), &err);
    free(x);
    return f;
}

/* A small forest written to dir/name. */
static const char *small_file(const char *dir, const char *name, int ext)
{
    struct fit_args a = fit_defaults();
    struct iforest *f;
    const char *path = join(dir, name);
    struct ml_err err;

    a.ext = ext;
    a.trees = 5;
    a.psi = 32;
    a.n = 100;
    f = fit_forest(&a);
    if (f)
        CHECK_OK(iforest_h5_write(path, f, &err), &err);
    iforest_free(f);
    return path;
}

/* Every field of two forests, bit for bit. */
static void check_forests_equal(const struct iforest *a, const struct iforest *b)
{
    size_t n = a->n_nodes, d = (size_t)a->d;
    int j;

    CHECK(a->d == b->d && a->n_trees == b->n_trees && a->n_nodes == b->n_nodes,
          "sizes differ: d %d/%d, trees %d/%d, nodes %zu/%zu", a->d, b->d, a->n_trees,
          b->n_trees, a->n_nodes, b->n_nodes);
    CHECK(a->sample_size == b->sample_size && a->max_depth == b->max_depth &&
          a->extension_level == b->extension_level && a->missing == b->missing &&
          a->seed == b->seed);
    CHECK(SAME(&a->contamination, &b->contamination, 8) && SAME(&a->threshold, &b->threshold, 8) &&
          SAME(&a->offset, &b->offset, 8), "contamination/threshold/offset differ");
    if (a->d != b->d || a->n_trees != b->n_trees || a->n_nodes != b->n_nodes)
        return;
    for (j = 0; j < a->d; j++)
        CHECK(strcmp(a->feature_names[j], b->feature_names[j]) == 0, "feature name %d", j);
    CHECK(SAME(a->fmin, b->fmin, d * 8) && SAME(a->fmax, b->fmax, d * 8), "fmin/fmax differ");
    CHECK(SAME(a->tree_start, b->tree_start, ((size_t)a->n_trees + 1) * sizeof(size_t)));
    CHECK(SAME(a->left, b->left, n * 4) && SAME(a->right, b->right, n * 4) &&
          SAME(a->feature, b->feature, n * 4) && SAME(a->size, b->size, n * 4),
          "integer node arrays differ");
    CHECK(SAME(a->split, b->split, n * 8) && SAME(a->frac_left, b->frac_left, n * 8),
          "split/frac_left differ");
    CHECK((a->coef == NULL) == (b->coef == NULL));
    if (a->coef && b->coef)
        CHECK(SAME(a->coef, b->coef, n * d * 8), "coef differs");
    CHECK(b->packed != NULL, "the loaded forest is prepared");
}

/* Rows to score: the training data, then new rows (every pair of a grid of
 * levels per feature including the training range's ends and far outside
 * it), then, if `with_nan`, rows with one or all features missing.
 * Column-major, *m rows. */
static double *score_rows(const struct iforest *f, const struct fit_args *a, int with_nan,
                          size_t *m)
{
    size_t n = a->n, d = (size_t)a->d, extra = 6 * d + (with_nan ? d + 1 : 0), rows = n + extra;
    double *train = make_data(a->n, a->d, a->seed, a->nan_every);
    double *x = malloc(rows * d * sizeof *x);
    size_t i, j, k = n;

    for (j = 0; j < d && x && train; j++)
        for (i = 0; i < n; i++)
            x[j * rows + i] = train[j * n + i];
    for (j = 0; j < d && x; j++) {
        double lo = isnan(f->fmin[j]) ? 0.0 : f->fmin[j], hi = isnan(f->fmax[j]) ? 1.0 : f->fmax[j];
        double lv[6] = {lo, hi, 0.5 * (lo + hi), lo - 50.0, hi + 1e6, -0.0};
        size_t q;

        for (q = 0; q < 6; q++, k++) {
            size_t jj;

            for (jj = 0; jj < d; jj++)
                x[jj * rows + k] = jj == j ? lv[q] : 0.5 * (f->fmin[jj] + f->fmax[jj]);
            for (jj = 0; jj < d; jj++)
                if (isnan(x[jj * rows + k]))
                    x[jj * rows + k] = 0.0;
        }
    }
    for (j = 0; with_nan && j <= d && x; j++, k++) {
        size_t jj;

        for (jj = 0; jj < d; jj++)
            x[jj * rows + k] = (j == d || jj == j) ? NAN : 1.0 + (double)jj;
    }
    free(train);
    *m = rows;
    return x;
}

/* Scores, path lengths and explanations of both forests on x: equal bits. */
static void check_scores_equal(const struct iforest *a, const struct iforest *b, const double *x,
                               size_t m)
{
    size_t d = (size_t)a->d, i;
    double *s1 = malloc(m * 8), *s2 = malloc(m * 8), *e1 = malloc(m * d * 8),
           *e2 = malloc(m * d * 8);
    struct ml_err err;

    for (i = 0; i < m; i++)
        s1[i] = s2[i] = NAN;
    CHECK_OK(iforest_score(a, x, m, m, s1, 1, &err), &err);
    CHECK_OK(iforest_score(b, x, m, m, s2, 3, &err), &err);
    CHECK(SAME(s1, s2, m * 8), "iforest_score differs");
    for (i = 0; i < m; i++)
        CHECK(s1[i] > 0.0 && s1[i] < 1.0, "row %zu: score %g outside (0, 1)", i, s1[i]);
    CHECK_OK(iforest_path_length(a, x, m, m, s1, 2, &err), &err);
    CHECK_OK(iforest_path_length(b, x, m, m, s2, 1, &err), &err);
    CHECK(SAME(s1, s2, m * 8), "iforest_path_length differs");
    CHECK_OK(iforest_explain(a, x, m, m, e1, &err), &err);
    CHECK_OK(iforest_explain(b, x, m, m, e2, &err), &err);
    CHECK(SAME(e1, e2, m * d * 8), "iforest_explain differs");
    free(s1);
    free(s2);
    free(e1);
    free(e2);
}

/* Fit, write, read back, compare the forests and all their outputs. */
static void round_trip(const struct fit_args *a)
{
    const char *dir = test_tmpdir();
    const char *path = join(dir, "iforest.h5");
    struct iforest *f = fit_forest(a), *back = NULL;
    struct mark ids = mark_ids();
    struct ml_err err;
    double *x;
    size_t m;

    if (!f)
        return;
    CHECK_OK(iforest_h5_write(path, f, &err), &err);
    CHECK_OK(iforest_h5_read(path, &back, &err), &err);
    CHECK(count_entries(dir) == 1, "only the model file is left in %s", dir);
    CHECK(ids_open(&ids) == 0, "HDF5 ids left open");
    if (back) {
        check_forests_equal(f, back);
        x = score_rows(f, a, a->missing == IFOREST_MISSING_DIVIDE, &m);
        if (x)
            check_scores_equal(f, back, x, m);
        free(x);
    }
    iforest_free(back);
    iforest_free(f);
}

/* iforest_h5_read must fail with `code` and a message holding `want` and
 * the path; *out must be NULL; no HDF5 id may stay open. */
static void expect_fail(const char *path, enum ml_status code, const char *want,
                        const char *what)
{
    struct mark ids = mark_ids();
    struct iforest *f = (struct iforest *)&ids; /* must be reset to NULL */
    struct ml_err err;
    enum ml_status st;

    ml_err_clear(&err);
    st = iforest_h5_read(path, &f, &err);
    CHECK(st == code, "%s: status %d, want %d (%s)", what, (int)st, (int)code, err.msg);
    CHECK(f == NULL, "%s: *out not NULL after a failure", what);
    CHECK(strstr(err.msg, want) != NULL, "%s: message \"%s\" lacks \"%s\"", what, err.msg, want);
    CHECK(strstr(err.msg, path) != NULL, "%s: message \"%s\" lacks the path", what, err.msg);
    CHECK(ids_open(&ids) == 0, "%s: HDF5 ids left open", what);
    if (st == ML_OK && f != (struct iforest *)&ids)
        iforest_free(f);
}

/* ---------------------------------------------------------------------------
 * Edits through the HDF5 API, each breaking one rule of the layout. */

static hid_t open_rw(const char *path)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);

    CHECK(f >= 0, "cannot open %s for editing", path);
    return f;
}

/* Replace scalar attribute `name` of `obj` by one of type ftype. */
static void set_attr(const char *path, const char *obj, const char *name, hid_t ftype,
                     hid_t mtype, const void *v)
{
    hid_t f = open_rw(path), o, s, a;

    if (f < 0)
        return;
    o = H5Oopen(f, obj, H5P_DEFAULT);
    CHECK(o >= 0, "no object %s", obj);
    if (H5Aexists(o, name) > 0)
        H5Adelete(o, name);
    s = H5Screate(H5S_SCALAR);
    a = H5Acreate2(o, name, ftype, s, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(a >= 0 && H5Awrite(a, mtype, v) >= 0, "cannot write %s of %s", name, obj);
    H5Aclose(a);
    H5Sclose(s);
    H5Oclose(o);
    H5Fclose(f);
}

static void set_i32(const char *path, const char *name, int32_t v)
{
    set_attr(path, "/", name, H5T_STD_I32LE, H5T_NATIVE_INT32, &v);
}

static void set_i64(const char *path, const char *name, int64_t v)
{
    set_attr(path, "/", name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v);
}

static void set_f64(const char *path, const char *name, double v)
{
    set_attr(path, "/", name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}

/* Set element i of a numeric dataset read and written as mtype (elements of
 * at most 8 bytes). */
static void set_elem(const char *path, const char *dset, hid_t mtype, size_t i, const void *v)
{
    hid_t f = open_rw(path), d, s;
    size_t size = H5Tget_size(mtype);
    unsigned char *buf = NULL;
    hssize_t n = -1;

    if (f < 0)
        return;
    d = H5Dopen2(f, dset, H5P_DEFAULT);
    s = d >= 0 ? H5Dget_space(d) : -1;
    if (s >= 0)
        n = H5Sget_simple_extent_npoints(s);
    CHECK(d >= 0 && n > 0 && i < (size_t)n, "dataset %s element %zu", dset, i);
    if (d >= 0 && n > 0 && i < (size_t)n && (buf = malloc((size_t)n * size)) != NULL) {
        CHECK(H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
        memcpy(buf + i * size, v, size);
        CHECK(H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    }
    free(buf);
    if (s >= 0)
        H5Sclose(s);
    if (d >= 0)
        H5Dclose(d);
    H5Fclose(f);
}

static void set_i32_elem(const char *path, const char *dset, size_t i, int32_t v)
{
    set_elem(path, dset, H5T_NATIVE_INT32, i, &v);
}

static void set_f64_elem(const char *path, const char *dset, size_t i, double v)
{
    set_elem(path, dset, H5T_NATIVE_DOUBLE, i, &v);
}

static int32_t get_i32_elem(const char *path, const char *dset, size_t i)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), d;
    int32_t *buf = malloc(1 << 20), v = -99;

    d = f >= 0 ? H5Dopen2(f, dset, H5P_DEFAULT) : -1;
    if (d >= 0 && buf && H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0)
        v = buf[i];
    if (d >= 0)
        H5Dclose(d);
    if (f >= 0)
        H5Fclose(f);
    free(buf);
    return v;
}

static void unlink_obj(const char *path, const char *name)
{
    hid_t f = open_rw(path);

    if (f < 0)
        return;
    CHECK(H5Ldelete(f, name, H5P_DEFAULT) >= 0, "cannot delete %s", name);
    H5Fclose(f);
}

/* Replace dataset `name` by one of `type` and shape d0 (x d1 if d1 > 0),
 * never written (reads as zeros). */
static void redefine(const char *path, const char *name, hid_t type, hsize_t d0, hsize_t d1)
{
    hsize_t dims[2] = {d0, d1};
    hid_t f = open_rw(path), s, d;

    if (f < 0)
        return;
    if (H5Lexists(f, name, H5P_DEFAULT) > 0)
        H5Ldelete(f, name, H5P_DEFAULT);
    s = H5Screate_simple(d1 ? 2 : 1, dims, NULL);
    d = H5Dcreate2(f, name, type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(d >= 0, "cannot create %s", name);
    H5Dclose(d);
    H5Sclose(s);
    H5Fclose(f);
}

/* Replace /feature_names by n strings, fixed-length (as wide as the
 * longest) or variable-length. */
static void set_names(const char *path, const char *const *names, size_t n, int vlen)
{
    hsize_t dims[1] = {n};
    hid_t f = open_rw(path), t = H5Tcopy(H5T_C_S1), s, d;
    size_t w = 1, i;
    char *buf;

    if (f < 0) {
        H5Tclose(t);
        return;
    }
    for (i = 0; i < n; i++)
        if (strlen(names[i]) + 1 > w)
            w = strlen(names[i]) + 1;
    H5Tset_size(t, vlen ? H5T_VARIABLE : w);
    buf = calloc(n, w);
    for (i = 0; i < n && buf; i++)
        memcpy(buf + i * w, names[i], strlen(names[i]));
    H5Ldelete(f, "feature_names", H5P_DEFAULT);
    s = H5Screate_simple(1, dims, NULL);
    d = H5Dcreate2(f, "feature_names", t, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(d >= 0 && H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                             vlen ? (const void *)names : (const void *)buf) >= 0,
          "cannot write feature_names");
    free(buf);
    H5Dclose(d);
    H5Sclose(s);
    H5Tclose(t);
    H5Fclose(f);
}

/* Replace `name` by a soft link to /fmax, or by an external link. */
static void relink(const char *path, const char *name, int external)
{
    hid_t f = open_rw(path);

    if (f < 0)
        return;
    H5Ldelete(f, name, H5P_DEFAULT);
    if (external)
        CHECK(H5Lcreate_external("/etc/passwd", "/x", f, name, H5P_DEFAULT, H5P_DEFAULT) >= 0);
    else
        CHECK(H5Lcreate_soft("/fmax", f, name, H5P_DEFAULT, H5P_DEFAULT) >= 0);
    H5Fclose(f);
}

/* Replace dataset `name` by a deflated, chunked one of n doubles. */
static void compress(const char *path, const char *name, hsize_t n)
{
    hid_t f = open_rw(path), p = H5Pcreate(H5P_DATASET_CREATE), s, d;

    if (f >= 0) {
        H5Ldelete(f, name, H5P_DEFAULT);
        H5Pset_chunk(p, 1, &n);
        H5Pset_deflate(p, 6);
        s = H5Screate_simple(1, &n, NULL);
        d = H5Dcreate2(f, name, H5T_IEEE_F64LE, s, H5P_DEFAULT, p, H5P_DEFAULT);
        CHECK(d >= 0);
        H5Dclose(d);
        H5Sclose(s);
        H5Fclose(f);
    }
    H5Pclose(p);
}

/* ---------------------------------------------------------------------------
 * Round trips. */

TEST(iforest_h5, round_trip_classic)
{
    struct fit_args a = fit_defaults();

    round_trip(&a);
}

TEST(iforest_h5, round_trip_classic_contamination)
{
    struct fit_args a = fit_defaults();

    a.contamination = 0.05;
    a.d = 5;
    a.trees = 50;
    a.psi = 128;
    a.seed = 3;
    round_trip(&a);
}

TEST(iforest_h5, round_trip_extended)
{
    struct fit_args a = fit_defaults();

    a.ext = 2;
    a.contamination = 0.1;
    round_trip(&a);
}

TEST(iforest_h5, round_trip_fully_extended)
{
    struct fit_args a = fit_defaults();

    a.d = 3;
    a.ext = 2;
    a.trees = 20;
    a.seed = 99;
    round_trip(&a);
}

TEST(iforest_h5, round_trip_divide)
{
    struct fit_args a = fit_defaults();

    a.missing = IFOREST_MISSING_DIVIDE;
    a.nan_every = 7;
    round_trip(&a);
}

TEST(iforest_h5, round_trip_extended_divide)
{
    struct fit_args a = fit_defaults();

    a.missing = IFOREST_MISSING_DIVIDE;
    a.nan_every = 5;
    a.ext = 1;
    a.contamination = 0.2;
    round_trip(&a);
}

/* A feature with no finite value at training: its range is NaN, NaN. */
TEST(iforest_h5, round_trip_empty_feature)
{
    struct iforest_options o;
    struct iforest *f = NULL, *back = NULL;
    const char *path = join(test_tmpdir(), "iforest.h5");
    double x[3 * 60], rows[3 * 4] = {0, 1, 50, NAN, 0, 1, 7, NAN, NAN, NAN, NAN, NAN};
    double s1[4], s2[4], e1[12], e2[12];
    struct ml_err err;
    size_t i;

    for (i = 0; i < 60; i++) {
        x[i] = (double)(i % 13);
        x[60 + i] = NAN;
        x[120 + i] = (double)((i * 7) % 11);
    }
    iforest_options_default(&o);
    o.n_trees = 10;
    o.sample_size = 32;
    o.missing = IFOREST_MISSING_DIVIDE;
    CHECK_OK(iforest_fit(x, 60, 3, NULL, &o, &f, &err), &err);
    if (!f)
        return;
    CHECK(isnan(f->fmin[1]) && isnan(f->fmax[1]), "the all-missing feature has range NaN");
    CHECK_OK(iforest_h5_write(path, f, &err), &err);
    CHECK_OK(iforest_h5_read(path, &back, &err), &err);
    if (back) {
        check_forests_equal(f, back);
        CHECK(strcmp(back->feature_names[0], "x1") == 0 &&
              strcmp(back->feature_names[2], "x3") == 0);
        CHECK_OK(iforest_score(f, rows, 4, 4, s1, 1, &err), &err);
        CHECK_OK(iforest_score(back, rows, 4, 4, s2, 1, &err), &err);
        CHECK(SAME(s1, s2, sizeof s1));
        CHECK_OK(iforest_explain(f, rows, 4, 4, e1, &err), &err);
        CHECK_OK(iforest_explain(back, rows, 4, 4, e2, &err), &err);
        CHECK(SAME(e1, e2, sizeof e1));
    }
    iforest_free(back);
    iforest_free(f);
}

/* ---------------------------------------------------------------------------
 * Writing. */

TEST(iforest_h5, byte_identical_files)
{
    struct fit_args a = fit_defaults();
    const char *dir = test_tmpdir();
    struct iforest *f1, *f2, *back = NULL;
    const char *names[4] = {"a1.h5", "a2.h5", "b.h5", "back.h5"};
    unsigned char *b[4] = {NULL, NULL, NULL, NULL};
    size_t n[4], k;
    struct ml_err err;

    a.ext = 1;
    a.contamination = 0.1;
    f1 = fit_forest(&a);
    f2 = fit_forest(&a);
    if (!f1 || !f2)
        goto out;
    CHECK_OK(iforest_h5_write(join(dir, names[0]), f1, &err), &err);
    sleep(1); /* a stored timestamp would now differ */
    CHECK_OK(iforest_h5_write(join(dir, names[1]), f1, &err), &err);
    CHECK_OK(iforest_h5_write(join(dir, names[2]), f2, &err), &err);
    CHECK_OK(iforest_h5_read(join(dir, names[0]), &back, &err), &err);
    if (back)
        CHECK_OK(iforest_h5_write(join(dir, names[3]), back, &err), &err);
    for (k = 0; k < 4; k++) {
        b[k] = read_whole(join(dir, names[k]), &n[k]);
        CHECK(b[k] != NULL, "%s missing", names[k]);
    }
    for (k = 1; k < 4; k++)
        CHECK(b[0] && b[k] && n[0] == n[k] && memcmp(b[0], b[k], n[0]) == 0,
              "%s differs from %s", names[k], names[0]);
    for (k = 0; k < 4; k++)
        free(b[k]);
out:
    iforest_free(back);
    iforest_free(f1);
    iforest_free(f2);
}

TEST(iforest_h5, write_checks_and_fails_cleanly)
{
    struct fit_args a = fit_defaults();
    const char *dir = test_tmpdir();
    const char *path = join(dir, "iforest.h5"), *bad = join(dir, "bad.h5");
    struct iforest *f;
    struct ml_err err;
    unsigned char *b;
    size_t n;
    char *name;
    int32_t saved;

    a.trees = 4;
    a.psi = 16;
    f = fit_forest(&a);
    if (!f)
        return;
    /* Replaces whatever was there. */
    write_whole(path, "old", 3);
    CHECK_OK(iforest_h5_write(path, f, &err), &err);
    b = read_whole(path, &n);
    CHECK(b && n > 8 && memcmp(b, "\211HDF", 4) == 0);
    free(b);
    CHECK(iforest_h5_write(join(dir, "no/such/dir/iforest.h5"), f, &err) == ML_EIO);
    CHECK(strstr(err.msg, "no/such/dir/iforest.h5") != NULL, "message: %s", err.msg);

    /* Inconsistent forests are refused before anything is created. */
#define REFUSE(want)                                                                       \
    do {                                                                                   \
        ml_err_clear(&err);                                                                \
        CHECK(iforest_h5_write(bad, f, &err) == ML_EINVAL, "want EINVAL for %s", want);    \
        CHECK(strstr(err.msg, want) && strstr(err.msg, bad), "message: %s", err.msg);      \
    } while (0)
    f->offset = 0.25;
    REFUSE("offset");
    f->offset = -f->threshold;
    saved = f->feature[0];
    f->feature[0] = 9;
    REFUSE("tree 0, node 0");
    f->feature[0] = saved;
    saved = f->right[0];
    f->right[0] = f->left[0];
    REFUSE("tree 0, node 0"); /* a node reached twice: iforest_prepare's check */
    f->right[0] = saved;
    f->size[0] += 1;
    REFUSE("root size");
    f->size[0] -= 1;
    name = f->feature_names[2];
    f->feature_names[2] = f->feature_names[0];
    REFUSE("twice");
    f->feature_names[2] = name;
    f->split[f->n_nodes - 1] = NAN;
    REFUSE("split");
    f->split[f->n_nodes - 1] = 0.0;
    f->contamination = 0.9;
    REFUSE("contamination");
    f->contamination = 0.0;
#undef REFUSE
    CHECK(!is_there(bad));
    CHECK(count_entries(dir) == 1, "a temporary file was left in %s", dir);
    /* The forest is untouched: still written and read back. */
    CHECK_OK(iforest_h5_write(path, f, &err), &err);
    CHECK(iforest_h5_write(NULL, f, &err) == ML_EINVAL);
    CHECK(iforest_h5_write(path, NULL, &err) == ML_EINVAL);
    CHECK(iforest_h5_read(path, NULL, &err) == ML_EINVAL);
    iforest_free(f);
}

/* ---------------------------------------------------------------------------
 * Reading: what is not a forest. */

TEST(iforest_h5, not_a_forest)
{
    static const char *const cols[] = {"a", "b"};
    const char *dir = test_tmpdir();
    struct ml_table *t = NULL, *gt = NULL;
    struct gam_model *gm = NULL;
    struct gam_options go;
    struct ml_err err;
    struct ml_rng r;
    size_t i;
    hid_t f;

    expect_fail(join(dir, "missing.h5"), ML_EIO, "cannot open", "missing file");
    expect_fail(dir, ML_EFORMAT, "not a regular file", "directory");
    write_whole(join(dir, "data.csv"), "x,y\n1,2\n", 8);
    expect_fail(join(dir, "data.csv"), ML_EFORMAT, "not an HDF5 file", "CSV");
    write_whole(join(dir, "empty.h5"), "", 0);
    expect_fail(join(dir, "empty.h5"), ML_EFORMAT, "not an HDF5 file", "empty file");
    /* A data table. */
    CHECK_OK(ml_table_alloc(&t, 2, cols, NULL, &err), &err);
    CHECK_OK(ml_table_reserve(t, 1, &err), &err);
    t->col[0].v[0] = 1.0;
    t->col[1].v[0] = 2.0;
    t->nrow = 1;
    CHECK_OK(table_h5_write(join(dir, "table.h5"), t, &err), &err);
    ml_table_free(t);
    expect_fail(join(dir, "table.h5"), ML_EFORMAT, "data table", "table file");
    /* An HDF5 file with nothing in it. */
    f = H5Fcreate(join(dir, "bare.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    expect_fail(join(dir, "bare.h5"), ML_EFORMAT, "no plantfit_model", "bare HDF5");
    /* A GAM model file, and the GAM reader given a forest. */
    CHECK_OK(ml_table_alloc(&gt, 2, cols, NULL, &err), &err);
    CHECK_OK(ml_table_reserve(gt, 100, &err), &err);
    ml_rng_seed(&r, 5, 0);
    for (i = 0; i < 100; i++) {
        gt->col[1].v[i] = ml_rng_uniform(&r);
        gt->col[0].v[i] = sin(6.0 * gt->col[1].v[i]) + 0.1 * ml_rng_normal(&r);
    }
    gt->nrow = 100;
    gam_options_default(&go);
    CHECK_OK(gam_fit(gt, "a ~ s(b, k=5)", &go, &gm, &err), &err);
    if (gm)
        CHECK_OK(gam_h5_write(join(dir, "gam.h5"), gm, &err), &err);
    gam_model_free(gm);
    ml_table_free(gt);
    expect_fail(join(dir, "gam.h5"), ML_EFORMAT, "\"gam\" model", "GAM file");
    {
        struct gam_model *m = NULL;

        CHECK(gam_h5_read(small_file(dir, "forest.h5", 0), &m, &err) == ML_EFORMAT);
        CHECK(strstr(err.msg, "\"iforest\" model"), "message: %s", err.msg);
        gam_model_free(m);
    }
}

TEST(iforest_h5, format_version)
{
    const char *dir = test_tmpdir();
    const char *good = small_file(dir, "m.h5", 0), *bad = join(dir, "v.h5");
    struct iforest *f = NULL;
    struct ml_err err;

    copy(good, bad);
    set_i32(bad, "format_version", 3);
    expect_fail(bad, ML_EFORMAT, "format_version 3", "version 3");
    expect_fail(bad, ML_EFORMAT, "a newer plantfit", "version 3");
    /* version 2 carries the c(n) rule: without it the file is corrupt, and
     * an unknown rule is refused */
    copy(good, bad);
    set_i32(bad, "format_version", 2);
    expect_fail(bad, ML_EFORMAT, "root attribute correction: missing", "version 2 no rule");
    set_i32(bad, "correction", 9);
    expect_fail(bad, ML_EFORMAT, "correction = 9", "version 2 unknown rule");
    copy(good, bad);
    set_i32(bad, "format_version", 0);
    expect_fail(bad, ML_EFORMAT, "format_version 0", "version 0");
    copy(good, bad);
    set_f64(bad, "format_version", 1.0);
    expect_fail(bad, ML_EFORMAT, "format_version", "version as a double");
    copy(good, bad);
    {
        hid_t h = open_rw(bad);
        if (h >= 0) {
            H5Adelete(h, "format_version");
            H5Fclose(h);
        }
    }
    expect_fail(bad, ML_EFORMAT, "format_version", "no version");
    /* A newer minor version of major 1 is still read. */
    copy(good, bad);
    set_i32(bad, "format_minor", 7);
    CHECK_OK(iforest_h5_read(bad, &f, &err), &err);
    iforest_free(f);
}

/* ---------------------------------------------------------------------------
 * Reading: each rule of the layout broken once. */

TEST(iforest_h5, corrupt_objects)
{
    const char *dir = test_tmpdir();
    const char *good = small_file(dir, "m.h5", 0), *bad = join(dir, "bad.h5");
    const char *ext = small_file(dir, "e.h5", 2);
    struct iforest *f = NULL;
    struct ml_err err;
    size_t nodes = 0, psi = 0;
    int32_t l0;

    CHECK_OK(iforest_h5_read(good, &f, &err), &err);
    if (f) {
        nodes = f->n_nodes;
        psi = f->sample_size;
        CHECK(f->d == 4 && f->n_trees == 5 && f->left[0] >= 0, "the layout this test edits");
    }
    iforest_free(f);
    l0 = get_i32_elem(good, "/nodes/left", 0);
#define BREAK(file, code, edit, want, what)                                                \
    do {                                                                                   \
        copy(file, bad);                                                                   \
        edit;                                                                              \
        expect_fail(bad, code, want, what);                                                \
    } while (0)

    /* Root attributes. */
    BREAK(good, ML_EFORMAT, set_i32(bad, "d", 5), "feature_names", "d disagrees with data");
    BREAK(good, ML_EFORMAT, set_i32(bad, "d", 0), "attribute d", "d = 0");
    BREAK(good, ML_ELIMIT, set_i32(bad, "d", IFOREST_H5_MAX_D + 1), "1000001 features",
          "d over the cap");
    BREAK(good, ML_ELIMIT, set_i32(bad, "n_trees", 2000000), "2000000 trees",
          "n_trees over the cap");
    BREAK(good, ML_EFORMAT, set_i32(bad, "n_trees", 6), "tree_start", "n_trees + 1");
    BREAK(good, ML_EFORMAT, set_i64(bad, "n_nodes", 1000000000), "bytes",
          "n_nodes beyond the file's size");
    BREAK(good, ML_EFORMAT, set_i64(bad, "n_nodes", (int64_t)nodes + 1), "/nodes/left",
          "n_nodes disagrees with data");
    BREAK(good, ML_EFORMAT, set_i64(bad, "n_nodes", 2), "n_nodes", "fewer nodes than trees");
    BREAK(good, ML_ELIMIT, set_i64(bad, "n_nodes", (int64_t)INT32_MAX + 1), "nodes",
          "n_nodes over the cap");
    BREAK(good, ML_EFORMAT, set_i32(bad, "missing", 5), "missing = 5", "unknown missing code");
    BREAK(good, ML_EFORMAT, set_i32(bad, "extension_level", 4), "extension_level",
          "extension_level >= d");
    BREAK(good, ML_EFORMAT, set_i32(bad, "max_depth", 0), "max_depth", "max_depth 0");
    BREAK(good, ML_EFORMAT, set_i64(bad, "sample_size", 1), "sample_size", "psi 1");
    BREAK(good, ML_EFORMAT, set_i64(bad, "sample_size", (int64_t)psi + 1), "root size",
          "psi disagrees with the root sizes");
    BREAK(good, ML_EFORMAT, set_i32(bad, "sample_size", 32), "int64", "psi of the wrong type");
    BREAK(good, ML_EFORMAT, set_f64(bad, "threshold", NAN), "threshold", "NaN threshold");
    BREAK(good, ML_EFORMAT, set_f64(bad, "offset", 0.5), "offset", "offset != -threshold");
    BREAK(good, ML_EFORMAT, set_f64(bad, "contamination", 0.7), "contamination",
          "contamination > 0.5");
    BREAK(good, ML_EFORMAT, set_i32(bad, "seed", 1), "uint64", "seed as int32");
    /* Feature arrays. */
    {
        static const char *const dup[] = {"temp", "flow", "temp", "vibration"};
        static const char *const empty[] = {"temp", "", "pressure", "vibration"};

        BREAK(good, ML_EFORMAT, set_names(bad, dup, 4, 0), "twice", "duplicate feature name");
        BREAK(good, ML_EFORMAT, set_names(bad, empty, 4, 0), "empty", "empty feature name");
        BREAK(good, ML_EFORMAT, set_names(bad, dup, 4, 1), "variable-length",
              "variable-length names");
        BREAK(good, ML_EFORMAT, set_names(bad, dup, 3, 0), "feature_names", "3 names for d = 4");
    }
    BREAK(good, ML_EFORMAT, set_f64_elem(bad, "/fmin", 1, NAN), "fmin", "one NaN in the range");
    BREAK(good, ML_EFORMAT, set_f64_elem(bad, "/fmax", 0, -1e300), "fmin", "fmin > fmax");
    BREAK(good, ML_EFORMAT, redefine(bad, "/fmax", H5T_IEEE_F32LE, 4, 0), "float64",
          "fmax as float32");
    BREAK(good, ML_EFORMAT, redefine(bad, "/fmax", H5T_IEEE_F64LE, 2, 2), "shape",
          "fmax as a matrix");
    BREAK(good, ML_EFORMAT, unlink_obj(bad, "/fmin"), "/fmin", "fmin missing");
    BREAK(good, ML_EFORMAT, relink(bad, "fmin", 0), "hard", "soft link");
    BREAK(good, ML_EFORMAT, relink(bad, "fmin", 1), "hard", "external link");
    BREAK(good, ML_EFORMAT, compress(bad, "fmin", 4), "filters", "compressed dataset");
    /* Trees and nodes. */
    BREAK(good, ML_EFORMAT, set_elem(bad, "/tree_start", H5T_NATIVE_INT64, 1,
                                     &(int64_t){0}), "tree_start", "an empty tree");
    BREAK(good, ML_EFORMAT, set_elem(bad, "/tree_start", H5T_NATIVE_INT64, 2,
                                     &(int64_t){-5}), "tree_start", "negative tree start");
    BREAK(good, ML_EFORMAT, set_i32_elem(bad, "/nodes/left", 0, 9999), "tree 0, node 0",
          "child out of the tree");
    BREAK(good, ML_EFORMAT, set_i32_elem(bad, "/nodes/left", 0, -1), "tree 0, node 0",
          "one child");
    BREAK(good, ML_EFORMAT, set_i32_elem(bad, "/nodes/right", 0, l0), "reached only from here",
          "a node reached twice (iforest_prepare)");
    BREAK(good, ML_EFORMAT, set_i32_elem(bad, "/nodes/feature", 0, 4), "/nodes/feature",
          "feature out of range");
    BREAK(good, ML_EFORMAT, set_i32_elem(bad, "/nodes/feature", nodes - 1, 0), "external node",
          "a feature at a leaf");
    BREAK(good, ML_EFORMAT, set_f64_elem(bad, "/nodes/split", 0, INFINITY), "split",
          "infinite split");
    BREAK(good, ML_EFORMAT, set_f64_elem(bad, "/nodes/frac_left", 0, 1.5), "frac_left",
          "frac_left > 1");
    BREAK(good, ML_EFORMAT, redefine(bad, "/nodes/left", H5T_STD_I64LE, nodes, 0), "int32",
          "left as int64");
    BREAK(good, ML_EFORMAT, redefine(bad, "/nodes/size", H5T_STD_U32LE, nodes - 1, 0), "shape",
          "size too short");
    BREAK(good, ML_EFORMAT, redefine(bad, "/nodes/coef", H5T_IEEE_F64LE, nodes, 4), "classic",
          "coef in a classic forest");
    BREAK(good, ML_EFORMAT, unlink_obj(bad, "/nodes"), "/nodes", "no nodes group");
    BREAK(ext, ML_EFORMAT, unlink_obj(bad, "/nodes/coef"), "/nodes/coef",
          "extended forest without coef");
    {
        hid_t h;
        double *c = NULL;
        size_t n = 0;

        /* The root of tree 0 with every coefficient zero. */
        copy(ext, bad);
        h = open_rw(bad);
        if (h >= 0) {
            hid_t ds = H5Dopen2(h, "/nodes/coef", H5P_DEFAULT), sp = H5Dget_space(ds);

            n = (size_t)H5Sget_simple_extent_npoints(sp);
            c = malloc(n * sizeof *c);
            if (c && H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, c) >= 0) {
                memset(c, 0, 4 * sizeof *c);
                H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, c);
            }
            free(c);
            H5Sclose(sp);
            H5Dclose(ds);
            H5Fclose(h);
        }
        expect_fail(bad, ML_EFORMAT, "non-zero", "a hyperplane of zeros");
    }
    BREAK(ext, ML_EFORMAT, set_f64_elem(bad, "/nodes/coef", 1, NAN), "/nodes/coef",
          "NaN coefficient");
    BREAK(ext, ML_EFORMAT, set_i32_elem(bad, "/nodes/feature", 0, 1), "hyperplane",
          "a feature at a hyperplane split");
#undef BREAK
}

TEST(iforest_h5, truncated_files)
{
    const char *dir = test_tmpdir();
    const char *good = small_file(dir, "m.h5", 1), *bad = join(dir, "cut.h5");
    size_t n, cuts[7], i;
    unsigned char *b = read_whole(good, &n);

    CHECK(b != NULL && n > 1000);
    if (!b)
        return;
    cuts[0] = 0;
    cuts[1] = 7;
    cuts[2] = 100;
    cuts[3] = n / 3;
    cuts[4] = n / 2;
    cuts[5] = n - 100;
    cuts[6] = n - 1;
    for (i = 0; i < 7; i++) {
        char what[64];
        struct iforest *f = NULL;
        struct ml_err err;

        snprintf(what, sizeof what, "cut to %zu of %zu bytes", cuts[i], n);
        write_whole(bad, b, cuts[i]);
        expect_fail(bad, ML_EFORMAT, cuts[i] < 8 ? "not an HDF5 file" : "", what);
        if (cuts[i] >= 8) {
            iforest_h5_read(bad, &f, &err);
            CHECK(strstr(err.msg, "truncated") || strstr(err.msg, "corrupt"), "%s: %s", what,
                  err.msg);
            iforest_free(f);
        }
    }
    free(b);
}

/* Flip bytes all over a valid file: each read must fail cleanly or give a
 * forest that scores and explains without trouble.  Each read runs in a
 * child process: a corrupt object header makes HDF5 1.10.8 leak the cache
 * entry it failed to decode (tests/lsan.supp), which must not fail this
 * process's leak checks.  The child reports through its exit status. */
enum flip { FLIP_READ = 0, FLIP_FAILED = 1, FLIP_OUT_SET = 2, FLIP_IDS = 3, FLIP_MSG = 4 };

static int flip_child(const char *path, const unsigned char *b, size_t n)
{
    struct mark ids = mark_ids();
    struct iforest *f = NULL;
    struct ml_err err;
    enum ml_status st;
    FILE *fp = fopen(path, "wb");

    if (!fp || fwrite(b, 1, n, fp) != n)
        return 9;
    fclose(fp);
    ml_err_clear(&err);
    st = iforest_h5_read(path, &f, &err);
    if (st == ML_OK) {
        double *x = calloc((size_t)f->d * 2, sizeof *x), s[2], *e = calloc((size_t)f->d * 2, 8);
        int j;

        for (j = 0; x && j < f->d; j++) {
            x[2 * j] = f->fmin[j];
            x[2 * j + 1] = 1e9;
            if (isnan(x[2 * j]))
                x[2 * j] = 0.0;
        }
        if (x && e) {
            iforest_score(f, x, 2, 2, s, 1, &err);
            iforest_explain(f, x, 2, 2, e, &err);
        }
        free(x);
        free(e);
        iforest_free(f);
    } else if (f != NULL) {
        return FLIP_OUT_SET;
    } else if (!err.msg[0] || !strstr(err.msg, path)) {
        return FLIP_MSG;
    }
    if (ids_open(&ids) != 0)
        return FLIP_IDS;
    return st == ML_OK ? FLIP_READ : FLIP_FAILED;
}

TEST(iforest_h5, byte_flips)
{
    const char *dir = test_tmpdir();
    const char *good = small_file(dir, "m.h5", 1), *bad = join(dir, "flip.h5");
    size_t n, i, count[5] = {0, 0, 0, 0, 0};
    unsigned char *b = read_whole(good, &n);
    struct ml_rng r;

    /* Under valgrind each child would run its own leak check at exit and
     * count HDF5's leak against us; ASan runs and the fuzzer cover this. */
    if (RUNNING_ON_VALGRIND) {
        test_skip("under valgrind (each forked read would run a leak check)");
        free(b);
        return;
    }
    ml_rng_seed(&r, 17, 0);
    fflush(stdout);
    fflush(stderr);
    for (i = 0; b && i < n; i += 1 + (size_t)ml_rng_below(&r, 41)) {
        unsigned char old = b[i];
        int status;
        pid_t pid;

        b[i] = (unsigned char)(old ^ (1u + (unsigned)ml_rng_below(&r, 255)));
        pid = fork();
        if (pid == 0)
            _exit(flip_child(bad, b, n));
        b[i] = old;
        CHECK(pid > 0, "fork: %s", strerror(errno));
        if (pid <= 0)
            break;
        CHECK(waitpid(pid, &status, 0) == pid);
        if (!WIFEXITED(status)) {
            CHECK(0, "byte %zu: the read crashed (signal %d)", i,
                  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
            continue;
        }
        CHECK(WEXITSTATUS(status) <= FLIP_FAILED, "byte %zu: child status %d (2: *out set on "
              "failure, 3: HDF5 ids left open, 4: message without the path)", i,
              WEXITSTATUS(status));
        if (WEXITSTATUS(status) < 5)
            count[WEXITSTATUS(status)]++;
    }
    CHECK(count[FLIP_READ] > 0 && count[FLIP_FAILED] > 0, "%zu reads succeeded, %zu failed",
          count[FLIP_READ], count[FLIP_FAILED]);
    free(b);
}

/* ---------------------------------------------------------------------------
 * plantfit predict. */

/* cmd_predict with stdout and stderr captured in `errfile`. */
static int predict(const char *errfile, int argc, const char **argv)
{
    int out1, out2, fd, rc;

    fflush(stdout);
    fflush(stderr);
    out1 = dup(1);
    out2 = dup(2);
    fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out1 < 0 || out2 < 0 || fd < 0) {
        CHECK(0, "cannot redirect stdout and stderr");
        return -1;
    }
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    rc = cmd_predict(argc, (char **)argv);
    fflush(stdout);
    fflush(stderr);
    dup2(out1, 1);
    dup2(out2, 2);
    close(out1);
    close(out2);
    return rc;
}

static int has_text(const char *path, const char *want)
{
    size_t n;
    char *s = (char *)read_whole(path, &n);
    int yes = s && strstr(s, want) != NULL;

    free(s);
    return yes;
}

/* Append to a growing string. */
static void add(char **s, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void add(char **s, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int k;
    char *p;

    va_start(ap, fmt);
    k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    p = realloc(*s, *len + (size_t)k + 1);
    if (!p)
        return;
    *s = p;
    va_start(ap, fmt);
    vsnprintf(*s + *len, (size_t)k + 1, fmt, ap);
    va_end(ap);
    *len += (size_t)k;
}

/* What predict must write for `input` with model m and/or forest f, from
 * the library calls: the table csv_read_file gives, gam_predict, and
 * iforest_score / iforest_explain on all rows at once; the top features by
 * a sort of all d attributions.  *n_anomalous counts flagged rows. */
static char *expected(const struct gam_model *m, const struct iforest *f, const char *input,
                      const char *const *cat, size_t ncat, size_t *n_anomalous)
{
    struct csv_options o;
    struct ml_table *t = NULL;
    struct ml_err err;
    double *fit = NULL, *x = NULL, *s = NULL, *attr = NULL;
    size_t n, d = f ? (size_t)f->d : 0, i, j, len = 0;
    char *out = NULL;
    int *order = NULL;

    *n_anomalous = 0;
    csv_options_default(&o);
    o.categorical = cat;
    o.ncategorical = ncat;
    CHECK_OK(csv_read_file(input, &o, &t, NULL, &err), &err);
    if (!t)
        return NULL;
    n = t->nrow;
    add(&out, &len, "%s%s%s\n", m ? "prediction" : "", m && f ? "," : "",
        f ? "score,is_anomaly,decision_function,top_features" : "");
    if (m) {
        fit = malloc(n * sizeof *fit);
        CHECK_OK(gam_predict(m, t, GAM_PRED_RESPONSE, fit, NULL, &err), &err);
    }
    if (f) {
        x = malloc(n * d * sizeof *x);
        s = malloc(n * sizeof *s);
        attr = malloc(n * d * sizeof *attr);
        order = malloc(d * sizeof *order);
        for (j = 0; j < d; j++) {
            long c = ml_table_find(t, f->feature_names[j]);

            CHECK(c >= 0, "the input has no column %s", f->feature_names[j]);
            for (i = 0; i < n; i++)
                x[j * n + i] = c >= 0 ? t->col[c].v[i] : NAN;
        }
        CHECK_OK(iforest_score(f, x, n, n, s, 1, &err), &err);
        CHECK_OK(iforest_explain(f, x, n, n, attr, &err), &err);
    }
    for (i = 0; i < n; i++) {
        if (m)
            add(&out, &len, isnan(fit[i]) ? "\"\"" : "%.17g", fit[i]);
        if (f) {
            int anomalous = s[i] > f->threshold, shown = 0; /* scikit-learn's rule */
            const double *a = attr + i * d;
            char *top = NULL;
            size_t tl = 0, q;

            /* decision_function = score_samples - offset_ = -s - offset */
            add(&out, &len, "%s%.17g,%d,%.17g,", m ? "," : "", s[i], anomalous, -s[i] - f->offset);
            /* Insertion sort of the features by attribution, descending,
             * the lower index first among equals. */
            for (j = 0; j < d; j++) {
                size_t k = j;

                while (k > 0 && a[order[k - 1]] < a[j]) {
                    order[k] = order[k - 1];
                    k--;
                }
                order[k] = (int)j;
            }
            for (j = 0; anomalous && j < d && shown < 3; j++)
                if (a[order[j]] > 0.0)
                    add(&top, &tl, "%s%s:%.4g", shown++ ? ";" : "", f->feature_names[order[j]],
                        a[order[j]]);
            *n_anomalous += (size_t)anomalous;
            if (top && (strchr(top, ',') || strchr(top, '"'))) {
                add(&out, &len, "\"");
                for (q = 0; q < tl; q++)
                    add(&out, &len, top[q] == '"' ? "\"\"" : "%c", top[q]);
                add(&out, &len, "\"");
            } else if (top) {
                add(&out, &len, "%s", top);
            }
            free(top);
        }
        add(&out, &len, "\n");
    }
    free(fit);
    free(x);
    free(s);
    free(attr);
    free(order);
    ml_table_free(t);
    return out;
}

/* The input file's lines (header excluded) of the output: field k of line i. */
static void field(const char *text, size_t line, size_t k, char *buf, size_t cap)
{
    const char *p = text;
    size_t i, len;

    buf[0] = '\0';
    for (i = 0; i < line + 1 && p; i++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    for (i = 0; i < k && p && *p && *p != '\n'; p++)
        i += *p == ',';
    if (!p)
        return;
    len = strcspn(p, ",\n");
    if (len >= cap)
        len = cap - 1;
    memcpy(buf, p, len);
    buf[len] = '\0';
}

static size_t line_count(const char *s)
{
    size_t n = 0;

    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

/* A forest on features "temp", "flow, l/min" (a name that needs quoting in
 * CSV), "pressure", fitted on rows like those of make_data. */
static struct iforest *plant_forest(enum iforest_missing missing, double contamination)
{
    static const char *const names[] = {"temp", "flow, l/min", "pressure"};
    struct iforest_options o;
    struct iforest *f = NULL;
    struct ml_err err;
    double *x = make_data(300, 3, 77, 0);

    iforest_options_default(&o);
    o.n_trees = 60;
    o.sample_size = 128;
    o.missing = missing;
    o.contamination = contamination;
    o.seed = 1234;
    CHECK_OK(iforest_fit(x, 300, 3, names, &o, &f, &err), &err);
    free(x);
    return f;
}

TEST(iforest_h5, predict_forest_only)
{
    /* Columns in another order than at fit, text columns the forest does
     * not use, a far outlier in "flow, l/min" (row 3), and one in temp and
     * pressure together (row 5: one extreme feature alone need not be
     * anomalous, as a value beyond the training range follows the path of
     * the range's end). */
    static const char input_text[] =
        "id,pressure,\"flow, l/min\",note,temp\n"
        "P1,4.1,2.2,ok,0.3\n"
        "P2,3.7,1.9,\"quoted, note\",-0.4\n"
        "P3,4.0,40,spike,0.1\n"
        "P4,4.5,2.5,,0.8\n"
        "P5,-50,2.0,cold,-60\n";
    static const char *const cat[] = {"id", "note"};
    struct iforest *f = plant_forest(IFOREST_MISSING_FAIL, 0.1);
    const char *dir = test_tmpdir();
    const char *mdir = join(dir, "model"), *in = join(dir, "in.csv");
    const char *out = join(dir, "out.csv"), *errf = join(dir, "stderr.txt");
    char buf[256], *want = NULL, *got = NULL;
    struct ml_err err;
    size_t n, nanom = 0;

    if (!f)
        return;
    CHECK(mkdir(mdir, 0755) == 0);
    CHECK_OK(iforest_h5_write(join(mdir, "iforest.h5"), f, &err), &err);
    write_whole(in, input_text, sizeof input_text - 1);
    {
        const char *argv[] = {"predict", "--model", mdir, "--input", in, "--output", out};

        CHECK(predict(errf, 7, argv) == 0, "predict failed");
    }
    want = expected(NULL, f, in, cat, 2, &nanom);
    got = (char *)read_whole(out, &n);
    CHECK(want && got && strcmp(want, got) == 0, "output:\n%s\nwant:\n%s", got ? got : "(none)",
          want ? want : "(none)");
    CHECK(got && strncmp(got, "score,is_anomaly,decision_function,top_features\n", 48) == 0, "header: %.60s",
          got ? got : "");
    CHECK(line_count(got) == 6, "a header and 5 rows");
    field(got, 2, 1, buf, sizeof buf);
    CHECK(strcmp(buf, "1") == 0, "row 3 (flow 40) is anomalous: %s", buf);
    field(got, 2, 3, buf, sizeof buf);
    CHECK(strncmp(buf, "\"flow", 5) == 0, "row 3: top feature is the quoted flow: %s", buf);
    field(got, 4, 1, buf, sizeof buf);
    CHECK(strcmp(buf, "1") == 0, "row 5 (temp -60, pressure -50) is anomalous");
    field(got, 4, 3, buf, sizeof buf);
    CHECK(strstr(buf, "temp:") && strstr(buf, "pressure:") && strchr(buf, ';'),
          "row 5: top features temp and pressure: %s", buf);
    field(got, 0, 1, buf, sizeof buf);
    CHECK(strcmp(buf, "0") == 0, "row 1 is normal");
    field(got, 0, 3, buf, sizeof buf);
    CHECK(buf[0] == '\0', "a normal row has no top features: %s", buf);
    CHECK(nanom >= 2 && has_text(errf, "anomalous"), "the summary counts anomalies");
    CHECK(count_entries(dir) == 4, "temporary files left in %s", dir);
    free(want);
    free(got);

    /* A missing value with missing = fail: error naming the row and the
     * feature; no output replaced. */
    {
        static const char gap[] = "temp,\"flow, l/min\",pressure\n0,2,4\n0.5,,4\n";
        const char *argv[] = {"predict", "--model", mdir, "--input", in, "--output",
                              join(dir, "never.csv")};

        write_whole(in, gap, sizeof gap - 1);
        CHECK(predict(errf, 7, argv) == 1);
        CHECK(has_text(errf, "row 2") && has_text(errf, "\"flow, l/min\"") &&
                  has_text(errf, "missing = fail"),
              "stderr does not name the row and feature");
        CHECK(!is_there(join(dir, "never.csv")));
    }
    /* A feature column missing from the input. */
    {
        static const char lack[] = "temp,pressure,other\n0,4,1\n";
        const char *argv[] = {"predict", "--model", mdir, "--input", in, "--output",
                              join(dir, "never.csv")};

        write_whole(in, lack, sizeof lack - 1);
        CHECK(predict(errf, 7, argv) == 1);
        CHECK(has_text(errf, "no column \"flow, l/min\""), "stderr does not name the column");
        CHECK(!is_there(join(dir, "never.csv")));
    }
    /* A directory with neither model. */
    {
        const char *argv[] = {"predict", "--model", dir, "--input", in, "--output",
                              join(dir, "never.csv")};

        CHECK(predict(errf, 7, argv) == 1);
        CHECK(has_text(errf, "no gam.h5 or iforest.h5"), "stderr does not say what is missing");
    }
    /* A corrupt iforest.h5. */
    {
        const char *argv[] = {"predict", "--model", mdir, "--input", in, "--output", out};

        write_whole(join(mdir, "iforest.h5"), "\211HDF\r\n\032\nrest", 12);
        CHECK(predict(errf, 7, argv) == 1);
        CHECK(has_text(errf, "iforest.h5"), "stderr names the model file");
    }
    iforest_free(f);
}

/* Training rows for the GAM + forest test: y = sin(2 pi x) + 0.3 w + noise,
 * and a third column z the GAM does not use. */
static struct ml_table *gam_table(size_t n)
{
    static const char *const names[] = {"y", "x", "w", "z"};
    struct ml_table *t = NULL;
    struct ml_err err;
    struct ml_rng r;
    size_t i;

    CHECK_OK(ml_table_alloc(&t, 4, names, NULL, &err), &err);
    CHECK_OK(ml_table_reserve(t, n, &err), &err);
    ml_rng_seed(&r, 31, 0);
    for (i = 0; t && i < n; i++) {
        double x = ml_rng_uniform(&r), w = ml_rng_normal(&r), z = ml_rng_normal(&r) + x;

        t->col[1].v[i] = x;
        t->col[2].v[i] = w;
        t->col[3].v[i] = z;
        t->col[0].v[i] = sin(2.0 * M_PI * x) + 0.3 * w + 0.1 * ml_rng_normal(&r);
    }
    if (t)
        t->nrow = n;
    return t;
}

TEST(iforest_h5, predict_gam_and_forest)
{
    /* A row with x missing: no GAM prediction, but the forest (missing =
     * divide) scores it; a far outlier in z, which only the forest uses. */
    static const char input_text[] =
        "id,z,w,x\n"
        "A,0.4,0.1,0.3\n"
        "B,1.2,-0.5,0.9\n"
        "C,0.5,0.2,\n"
        "D,25,0.0,0.5\n"
        "E,-0.1,1.5,0.05\n";
    static const char *const cat[] = {"id"};
    struct ml_table *t = gam_table(300);
    struct gam_model *m = NULL;
    struct gam_options go;
    struct iforest_options o;
    struct iforest *f = NULL;
    const char *dir = test_tmpdir();
    const char *mdir = join(dir, "model"), *gdir = join(dir, "gam_only");
    const char *in = join(dir, "in.csv"), *out = join(dir, "out.csv");
    const char *gout = join(dir, "gam_out.csv"), *errf = join(dir, "stderr.txt");
    static const char *const fnames[] = {"x", "w", "z"};
    char buf[256], *want = NULL, *got = NULL, *gam_got = NULL;
    struct ml_err err;
    size_t n, i, nanom = 0;
    double *x = NULL;

    if (!t)
        return;
    gam_options_default(&go);
    CHECK_OK(gam_fit(t, "y ~ s(x, k=6) + w", &go, &m, &err), &err);
    x = malloc(3 * t->nrow * sizeof *x);
    for (i = 0; x && i < t->nrow; i++) {
        x[i] = t->col[1].v[i];
        x[t->nrow + i] = t->col[2].v[i];
        x[2 * t->nrow + i] = t->col[3].v[i];
    }
    iforest_options_default(&o);
    o.n_trees = 50;
    o.sample_size = 128;
    o.missing = IFOREST_MISSING_DIVIDE;
    o.seed = 8;
    if (x)
        CHECK_OK(iforest_fit(x, t->nrow, 3, fnames, &o, &f, &err), &err);
    free(x);
    if (!m || !f)
        goto done;
    CHECK(mkdir(mdir, 0755) == 0 && mkdir(gdir, 0755) == 0);
    CHECK_OK(gam_h5_write(join(mdir, "gam.h5"), m, &err), &err);
    CHECK_OK(gam_h5_write(join(gdir, "gam.h5"), m, &err), &err);
    CHECK_OK(iforest_h5_write(join(mdir, "iforest.h5"), f, &err), &err);
    write_whole(in, input_text, sizeof input_text - 1);
    {
        const char *argv[] = {"predict", "--model", mdir, "--input", in, "--output", out};
        const char *gargv[] = {"predict", "--model", gdir, "--input", in, "--output", gout};

        CHECK(predict(errf, 7, argv) == 0, "predict failed");
        CHECK(predict(errf, 7, gargv) == 0, "GAM-only predict failed");
    }
    want = expected(m, f, in, cat, 1, &nanom);
    got = (char *)read_whole(out, &n);
    gam_got = (char *)read_whole(gout, &n);
    CHECK(want && got && strcmp(want, got) == 0, "output:\n%s\nwant:\n%s", got ? got : "(none)",
          want ? want : "(none)");
    CHECK(got && strncmp(got, "prediction,score,is_anomaly,decision_function,top_features\n", 59) == 0,
          "header: %.60s", got ? got : "");
    CHECK(line_count(got) == 6, "a header and 5 rows");
    /* The prediction column is the GAM-only output, unchanged. */
    CHECK(gam_got && strncmp(gam_got, "prediction\n", 11) == 0);
    for (i = 0; got && gam_got && i < 5; i++) {
        char a[64], b[64];

        field(got, i, 0, a, sizeof a);
        field(gam_got, i, 0, b, sizeof b);
        CHECK(strcmp(a, b) == 0, "row %zu: prediction %s, GAM alone %s", i + 1, a, b);
    }
    field(got, 2, 0, buf, sizeof buf);
    CHECK(strcmp(buf, "\"\"") == 0, "row 3 (x missing) has no prediction: %s", buf);
    field(got, 2, 1, buf, sizeof buf);
    CHECK(buf[0] && strtod(buf, NULL) > 0.0 && strtod(buf, NULL) < 1.0,
          "row 3 is scored (missing = divide): %s", buf);
    field(got, 3, 2, buf, sizeof buf);
    CHECK(strcmp(buf, "1") == 0, "row 4 (z = 25) is anomalous");
    field(got, 3, 4, buf, sizeof buf);
    CHECK(strncmp(buf, "z:", 2) == 0, "row 4: top feature z: %s", buf);
done:
    free(want);
    free(got);
    free(gam_got);
    iforest_free(f);
    gam_model_free(m);
    ml_table_free(t);
}

/* A forest scored with scikit-learn's asymptotic c(n): written as format
 * version 2 with its rule, read back with it, scoring bit-identically; and
 * its scores differ from the exact rule's on the same trees. */
TEST(iforest_h5, asymptotic_correction_round_trip)
{
    const char *dir = test_tmpdir(), *path = join(dir, "asym.h5");
    struct fit_args a = fit_defaults();
    struct iforest *f, *back = NULL;
    struct ml_err err;
    double *x = make_data(50, a.d, 5, 0), s1[50], s2[50];
    long long version = 0;
    size_t i, differ = 0;

    a.correction = IFOREST_C_ASYMPTOTIC;
    f = fit_forest(&a);
    if (!f || !x) {
        iforest_free(f);
        free(x);
        return;
    }
    CHECK_OK(iforest_h5_write(path, f, &err), &err);
    {
        hid_t h = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        hid_t at = h >= 0 ? H5Aopen(h, "format_version", H5P_DEFAULT) : -1;
        int32_t v = 0;
        if (at >= 0 && H5Aread(at, H5T_NATIVE_INT32, &v) >= 0)
            version = v;
        if (at >= 0)
            H5Aclose(at);
        if (h >= 0)
            H5Fclose(h);
    }
    CHECK(version == 2, "an asymptotic forest is format version 2, got %lld", version);
    CHECK_OK(iforest_h5_read(path, &back, &err), &err);
    if (back) {
        CHECK(back->correction == IFOREST_C_ASYMPTOTIC);
        check_scores_equal(f, back, x, 50);
        CHECK_OK(iforest_score(back, x, 50, 50, s1, 1, &err), &err);
        back->correction = IFOREST_C_EXACT;
        CHECK_OK(iforest_prepare(back, &err), &err);
        CHECK_OK(iforest_score(back, x, 50, 50, s2, 1, &err), &err);
        for (i = 0; i < 50; i++)
            differ += s1[i] != s2[i];
        CHECK(differ == 50, "only %zu of 50 scores change with the rule", differ);
    }
    iforest_free(back);
    iforest_free(f);
    free(x);
}
