/* test_table_h5.c: io/hdf5/table_h5 -- round trips, byte-identical writes, the
 * matrix layout as other tools write it (HDF5 C API and h5py), and every error
 * path the reader documents.  Each case also checks that no HDF5 identifier is
 * left open afterwards (H5Inmembers per id type, H5Fget_obj_count). */
#include "test.h"

#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <hdf5.h>

#include "hdf5/table_h5.h"

/* ---------------------------------------------------------------------------
 * Helpers. */

/* HDF5 identifiers left open.  File objects (files, groups, datasets,
 * attributes) are counted by H5Fget_obj_count.  Dataspaces, datatypes and
 * property lists are library id types that H5Inmembers refuses, so a mark is
 * the next id of each type (ids of a type are handed out in increasing
 * order), and any id between two marks still valid was leaked. */
struct id_mark {
    hid_t space, type, plist;
};

static struct id_mark id_mark(void)
{
    struct id_mark m;

    m.space = H5Screate(H5S_SCALAR);
    H5Sclose(m.space);
    m.type = H5Tcopy(H5T_NATIVE_INT);
    H5Tclose(m.type);
    m.plist = H5Pcreate(H5P_FILE_ACCESS);
    H5Pclose(m.plist);
    return m;
}

static long ids_between(hid_t a, hid_t b)
{
    long n = 0;
    hid_t id;

    for (id = a + 1; id < b; id++)
        n += H5Iis_valid(id) > 0;
    return n;
}

static long ids_leaked(const struct id_mark *a)
{
    struct id_mark b = id_mark();
    H5E_auto2_t fn;
    void *data;
    long n;

    H5Eget_auto2(H5E_DEFAULT, &fn, &data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    n = ids_between(a->space, b.space) + ids_between(a->type, b.type) +
        ids_between(a->plist, b.plist);
    H5Eset_auto2(H5E_DEFAULT, fn, data);
    return n + (long)H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
}

#define IDS_BEGIN() struct id_mark ids0_ = id_mark()
#define IDS_END()                                                                        \
    do {                                                                                 \
        long leaked_ = ids_leaked(&ids0_);                                               \
        CHECK(leaked_ == 0, "%ld HDF5 ids left open", leaked_);                          \
    } while (0)

static const char *tmp_path(const char *name)
{
    static char path[8][600];
    static unsigned k;
    char *p = path[k++ % 8];

    snprintf(p, sizeof path[0], "%s/%s", test_tmpdir(), name);
    return p;
}

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static unsigned char *slurp(const char *path, long *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;

    *n = file_size(path);
    if (!f || *n < 0) {
        if (f)
            fclose(f);
        return NULL;
    }
    buf = malloc((size_t)*n + 1);
    if (buf && fread(buf, 1, (size_t)*n, f) != (size_t)*n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static void write_bytes(const char *path, const void *buf, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(buf, 1, n, f);
        fclose(f);
    }
}

/* A table with every kind of content: numeric with NaN, categorical with a
 * missing entry, a name with '/' and one in UTF-8. */
static struct ml_table *sample_table(void)
{
    static const char *const names[] = {"temp/in \xc2\xb0" "C", "grade", "flow", "\xe6\xb5\x81"
                                                                               "\xe9\x87\x8f"};
    static const enum ml_coltype types[] = {ML_COL_NUMERIC, ML_COL_CATEGORICAL, ML_COL_NUMERIC,
                                            ML_COL_CATEGORICAL};
    static const char *const grades[] = {"A", "B/2", "A", NULL, "C", "B/2"};
    static const char *const zh[] = {"\xe9\xab\x98", "\xe4\xbd\x8e", NULL, NULL, "\xe9\xab\x98",
                                     "\xe4\xbd\x8e"};
    struct ml_table *t = NULL;
    struct ml_err err;
    size_t i, n = 6;
    double code;

    if (ml_table_alloc(&t, 4, names, types, &err) || ml_table_reserve(t, n, &err))
        return NULL;
    for (i = 0; i < n; i++) {
        t->col[0].v[i] = i == 2 ? NAN : 0.1 * (double)i - 3e-300;
        t->col[2].v[i] = i == 5 ? NAN : (i == 1 ? -INFINITY : 1e300 / (double)(i + 1));
        t->col[1].v[i] = NAN;
        if (grades[i] && ml_table_level(t, 1, grades[i], strlen(grades[i]), &code, &err) == 0)
            t->col[1].v[i] = code;
        t->col[3].v[i] = NAN;
        if (zh[i] && ml_table_level(t, 3, zh[i], strlen(zh[i]), &code, &err) == 0)
            t->col[3].v[i] = code;
    }
    t->nrow = n;
    return t;
}

static void check_same_table(const struct ml_table *a, const struct ml_table *b)
{
    size_t i, j, l;

    CHECK(a->nrow == b->nrow, "nrow %zu vs %zu", a->nrow, b->nrow);
    CHECK(a->ncol == b->ncol, "ncol %zu vs %zu", a->ncol, b->ncol);
    if (a->nrow != b->nrow || a->ncol != b->ncol)
        return;
    for (j = 0; j < a->ncol; j++) {
        const struct ml_column *x = &a->col[j], *y = &b->col[j];

        CHECK(strcmp(x->name, y->name) == 0, "name \"%s\" vs \"%s\"", x->name, y->name);
        CHECK(x->type == y->type, "column %zu type", j);
        CHECK(x->nlevels == y->nlevels, "column %zu: %zu vs %zu levels", j, x->nlevels,
              y->nlevels);
        for (l = 0; l < x->nlevels && l < y->nlevels; l++)
            CHECK(strcmp(x->levels[l], y->levels[l]) == 0, "level %zu", l);
        for (i = 0; i < a->nrow; i++)
            CHECK(same_bits(x->v[i], y->v[i]) || (isnan(x->v[i]) && isnan(y->v[i])),
                  "column %zu row %zu: %.17g vs %.17g", j, i, x->v[i], y->v[i]);
    }
}

/* Read expecting failure with `code` and `needle` in the message. */
static void expect_fail(const char *path, size_t label_size, enum ml_status code,
                        const char *needle)
{
    struct ml_table *t = (struct ml_table *)1;
    struct ml_err err;
    enum ml_status st;

    ml_err_clear(&err);
    st = table_h5_read(path, label_size, &t, &err);
    CHECK(st == code, "status %d (%s), want %d: %s", (int)st, ml_status_str(st), (int)code,
          err.msg);
    CHECK(t == NULL, "table left on failure");
    CHECK(strstr(err.msg, needle) != NULL, "message \"%s\" lacks \"%s\"", err.msg, needle);
    CHECK(strstr(err.msg, path) != NULL, "message \"%s\" does not name the file", err.msg);
    if (st == ML_OK)
        ml_table_free(t);
}

/* HDF5 C API helpers for hand-made files; they close everything they open. */
static void attr_vlen(hid_t obj, const char *name, const char *const *s, size_t n)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    hsize_t d = n;
    hid_t sp, a;

    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    sp = H5Screate_simple(1, &d, NULL);
    a = H5Acreate2(obj, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, type, s);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(type);
}

static void attr_fixed(hid_t obj, const char *name, const char *const *s, size_t n, size_t width,
                       H5T_str_t pad)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    char *buf = malloc(n * width);
    hsize_t d = n;
    hid_t sp, a;
    size_t i, len;

    memset(buf, pad == H5T_STR_SPACEPAD ? ' ' : '\0', n * width);
    for (i = 0; i < n; i++) {
        len = strlen(s[i]);
        memcpy(buf + i * width, s[i], len < width ? len : width);
    }
    H5Tset_size(type, width);
    H5Tset_strpad(type, pad);
    sp = H5Screate_simple(1, &d, NULL);
    a = H5Acreate2(obj, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, type, buf);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(type);
    free(buf);
}

static void attr_int(hid_t obj, const char *name, int v)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a;

    if (H5Aexists(obj, name) > 0)
        H5Adelete(obj, name);
    a = H5Acreate2(obj, name, H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT, &v);
    H5Aclose(a);
    H5Sclose(sp);
}

/* Dataset `name` of file type `ftype`, rank/dims, filled from `buf` of
 * memory type `mtype`; returns it open (caller closes). */
static hid_t make_dset(hid_t loc, const char *name, hid_t ftype, int rank, const hsize_t *dims,
                       hid_t mtype, const void *buf)
{
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);

    if (buf)
        H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    H5Sclose(sp);
    return d;
}

/* Write sample_table() to `path` with table_h5_write. */
static int write_sample(const char *path)
{
    struct ml_table *t = sample_table();
    struct ml_err err;
    enum ml_status st = t ? table_h5_write(path, t, &err) : ML_ENOMEM;

    CHECK_OK(st, &err);
    ml_table_free(t);
    return st == ML_OK;
}

/* ---------------------------------------------------------------------------
 * Column layout. */

TEST(h5, roundtrip)
{
    IDS_BEGIN();
    struct ml_table *t = sample_table(), *u = NULL;
    const char *path = tmp_path("rt.h5");
    struct ml_err err;

    CHECK(t != NULL);
    CHECK_OK(table_h5_write(path, t, &err), &err);
    CHECK(table_h5_is_hdf5(path) == 1);
    CHECK_OK(table_h5_read(path, 1, &u, &err), &err);
    if (u)
        check_same_table(t, u);
    ml_table_free(t);
    ml_table_free(u);
    IDS_END();
}

TEST(h5, roundtrip_empty)
{
    IDS_BEGIN();
    static const char *const names[] = {"a", "b"};
    static const enum ml_coltype types[] = {ML_COL_NUMERIC, ML_COL_CATEGORICAL};
    struct ml_table *t = NULL, *u = NULL;
    const char *path = tmp_path("empty.h5");
    struct ml_err err;

    /* No rows and a categorical column without levels: zero-length datasets
     * and a zero-length `levels` attribute. */
    CHECK_OK(ml_table_alloc(&t, 2, names, types, &err), &err);
    CHECK_OK(table_h5_write(path, t, &err), &err);
    CHECK_OK(table_h5_read(path, 1, &u, &err), &err);
    if (u)
        check_same_table(t, u);
    ml_table_free(u);
    ml_table_free(t);

    /* And no columns at all. */
    CHECK_OK(ml_table_alloc(&t, 0, NULL, NULL, &err), &err);
    CHECK_OK(table_h5_write(path, t, &err), &err);
    u = NULL;
    CHECK_OK(table_h5_read(path, 1, &u, &err), &err);
    CHECK(u && u->ncol == 0 && u->nrow == 0);
    ml_table_free(u);
    ml_table_free(t);
    IDS_END();
}

TEST(h5, roundtrip_wide)
{
    IDS_BEGIN();
    /* 5000 columns: the `columns` attribute (16 bytes per name) outgrows the
     * 64 KiB an attribute may take in an object header, so this checks the
     * writer's dense attribute storage, and a /columns group of many links. */
    enum { P = 5000, N = 3 };
    char **names = calloc(P, sizeof *names);
    struct ml_table *t = NULL, *u = NULL;
    const char *path = tmp_path("wide.h5");
    struct ml_err err;
    size_t i, j;

    for (j = 0; j < P; j++) {
        names[j] = malloc(16);
        snprintf(names[j], 16, "c%zu", j);
    }
    CHECK_OK(ml_table_alloc(&t, P, (const char *const *)names, NULL, &err), &err);
    CHECK_OK(ml_table_reserve(t, N, &err), &err);
    for (j = 0; j < P; j++)
        for (i = 0; i < N; i++)
            t->col[j].v[i] = (double)(j * N + i);
    t->nrow = N;
    CHECK_OK(table_h5_write(path, t, &err), &err);
    CHECK_OK(table_h5_read(path, 1, &u, &err), &err);
    if (u)
        check_same_table(t, u);
    ml_table_free(u);
    ml_table_free(t);
    for (j = 0; j < P; j++)
        free(names[j]);
    free(names);
    IDS_END();
}

TEST(h5, byte_identical)
{
    IDS_BEGIN();
    const char *a = tmp_path("a.h5"), *b = tmp_path("b.h5");
    struct timespec pause = {1, 100000000};
    unsigned char *x, *y;
    long nx, ny;

    /* More than a second apart, so any timestamp stored would differ. */
    write_sample(a);
    nanosleep(&pause, NULL);
    write_sample(b);
    x = slurp(a, &nx);
    y = slurp(b, &ny);
    CHECK(x && y && nx == ny && nx > 0, "sizes %ld and %ld", nx, ny);
    if (x && y && nx == ny)
        CHECK(memcmp(x, y, (size_t)nx) == 0, "two writes of one table differ");
    free(x);
    free(y);
    IDS_END();
}

TEST(h5, write_replaces_atomically)
{
    IDS_BEGIN();
    const char *dir = test_tmpdir();
    char path[600], sub[600];
    struct ml_table *t = sample_table();
    struct ml_err err;
    enum ml_status st;
    long n_entries = 0;
    FILE *ls;
    char cmd[700], line[700];

    /* Overwrite an existing file: the result is the new table. */
    snprintf(path, sizeof path, "%s/out.h5", dir);
    write_bytes(path, "old content\n", 12);
    CHECK_OK(table_h5_write(path, t, &err), &err);
    CHECK(table_h5_is_hdf5(path));

    /* The target is a directory: the rename fails, and the temporary file
     * written next to it is removed. */
    snprintf(sub, sizeof sub, "%s/dir.h5", dir);
    mkdir(sub, 0755);
    st = table_h5_write(sub, t, &err);
    CHECK(st == ML_EIO, "status %d: %s", (int)st, err.msg);
    CHECK(strstr(err.msg, sub) != NULL, "%s", err.msg);
    snprintf(cmd, sizeof cmd, "ls -A '%s'", dir);
    ls = popen(cmd, "r");
    while (ls && fgets(line, sizeof line, ls))
        n_entries++;
    if (ls)
        pclose(ls);
    CHECK(n_entries == 2, "%ld entries in %s: a temporary file was left", n_entries, dir);

    /* A directory that does not exist. */
    snprintf(path, sizeof path, "%s/no/such/dir/x.h5", dir);
    st = table_h5_write(path, t, &err);
    CHECK(st == ML_EIO && strstr(err.msg, "No such file"), "%d: %s", (int)st, err.msg);

    /* A broken table (code beyond its levels) is refused, not written. */
    snprintf(path, sizeof path, "%s/bad.h5", dir);
    t->col[1].v[0] = 99;
    st = table_h5_write(path, t, &err);
    CHECK(st == ML_EINVAL, "status %d: %s", (int)st, err.msg);
    CHECK(file_size(path) < 0, "a file was written for a refused table");
    ml_table_free(t);
    IDS_END();
}

/* Patch a file that table_h5_write made, to provoke one error. */
enum patch {
    PATCH_VERSION,
    PATCH_VERSION0,
    PATCH_RAGGED,
    PATCH_RANK,
    PATCH_CODE,
    PATCH_NEG_CODE,
    PATCH_COUNT,
    PATCH_DUP_NAMES,
    PATCH_NAME_ATTR,
    PATCH_FORMAT,
    PATCH_MISSING_DSET,
    PATCH_HUGE,
    PATCH_FLOAT_CODES,
    PATCH_DUP_LEVELS,
    PATCH_STRING_DSET
};

static void patch_file(const char *path, enum patch what)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t g = H5Gopen2(f, "columns", H5P_DEFAULT);
    hid_t d = H5I_INVALID_HID;
    hsize_t dims[2];

    switch (what) {
    case PATCH_VERSION:
        attr_int(f, "format_version", 2);
        break;
    case PATCH_VERSION0:
        attr_int(f, "format_version", 0);
        break;
    case PATCH_RAGGED: {
        double v[7] = {0};
        H5Ldelete(g, "2", H5P_DEFAULT);
        dims[0] = 7;
        d = make_dset(g, "2", H5T_IEEE_F64LE, 1, dims, H5T_NATIVE_DOUBLE, v);
        break;
    }
    case PATCH_RANK: {
        double v[12] = {0};
        H5Ldelete(g, "0", H5P_DEFAULT);
        dims[0] = 6;
        dims[1] = 2;
        d = make_dset(g, "0", H5T_IEEE_F64LE, 2, dims, H5T_NATIVE_DOUBLE, v);
        break;
    }
    case PATCH_CODE:
    case PATCH_NEG_CODE: {
        int codes[6] = {0, 1, 5, 0, -1, 1};
        if (what == PATCH_NEG_CODE)
            codes[2] = -2;
        d = H5Dopen2(g, "1", H5P_DEFAULT);
        H5Dwrite(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, codes);
        break;
    }
    case PATCH_COUNT: {
        static const char *const names[] = {"a", "b", "c", "d", "e"};
        H5Adelete(f, "columns");
        attr_vlen(f, "columns", names, 5);
        break;
    }
    case PATCH_DUP_NAMES: {
        /* The per-dataset `name` is optional: drop it so that only the
         * duplicate in the root list is wrong. */
        static const char *const names[] = {"a", "b", "a", "d"};
        int k;
        H5Adelete(f, "columns");
        attr_vlen(f, "columns", names, 4);
        for (k = 0; k < 4; k++) {
            char nm[4];
            snprintf(nm, sizeof nm, "%d", k);
            H5Adelete_by_name(g, nm, "name", H5P_DEFAULT);
        }
        break;
    }
    case PATCH_NAME_ATTR: {
        static const char *const other[] = {"other"};
        d = H5Dopen2(g, "2", H5P_DEFAULT);
        H5Adelete(d, "name");
        attr_fixed(d, "name", other, 1, 5, H5T_STR_NULLPAD);
        break;
    }
    case PATCH_FORMAT: {
        static const char *const fmt[] = {"model"};
        H5Adelete(f, "plantfit_format");
        attr_vlen(f, "plantfit_format", fmt, 1);
        break;
    }
    case PATCH_MISSING_DSET:
        H5Lmove(g, "3", g, "x", H5P_DEFAULT, H5P_DEFAULT);
        break;
    case PATCH_HUGE: {
        /* Chunked and never written: declares 2^40 rows in a file of a few KB. */
        hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        hsize_t chunk = 4096, max = H5S_UNLIMITED;
        hid_t sp;
        int k;
        for (k = 0; k < 4; k++) {
            char nm[4];
            snprintf(nm, sizeof nm, "%d", k);
            H5Ldelete(g, nm, H5P_DEFAULT);
        }
        H5Pset_chunk(dcpl, 1, &chunk);
        dims[0] = (hsize_t)1 << 40;
        sp = H5Screate_simple(1, dims, &max);
        for (k = 0; k < 4; k++) {
            char nm[4];
            snprintf(nm, sizeof nm, "%d", k);
            d = H5Dcreate2(g, nm, H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
            H5Dclose(d);
        }
        d = H5I_INVALID_HID;
        H5Sclose(sp);
        H5Pclose(dcpl);
        break;
    }
    case PATCH_FLOAT_CODES: {
        static const char *const lv[] = {"A", "B"};
        double v[6] = {0};
        H5Ldelete(g, "1", H5P_DEFAULT);
        dims[0] = 6;
        d = make_dset(g, "1", H5T_IEEE_F64LE, 1, dims, H5T_NATIVE_DOUBLE, v);
        attr_vlen(d, "levels", lv, 2);
        break;
    }
    case PATCH_DUP_LEVELS: {
        static const char *const lv[] = {"A", "B/2", "A"};
        d = H5Dopen2(g, "1", H5P_DEFAULT);
        H5Adelete(d, "levels");
        attr_vlen(d, "levels", lv, 3);
        break;
    }
    case PATCH_STRING_DSET: {
        hid_t st = H5Tcopy(H5T_C_S1);
        char v[6][4] = {"a", "b", "c", "d", "e", "f"};
        H5Tset_size(st, 4);
        H5Ldelete(g, "0", H5P_DEFAULT);
        dims[0] = 6;
        d = make_dset(g, "0", st, 1, dims, st, v);
        H5Tclose(st);
        break;
    }
    }
    if (d >= 0)
        H5Dclose(d);
    H5Gclose(g);
    H5Fclose(f);
}

static void patched_fails(enum patch what, enum ml_status code, const char *needle)
{
    const char *path = tmp_path("patched.h5");

    if (!write_sample(path))
        return;
    patch_file(path, what);
    expect_fail(path, 1, code, needle);
}

TEST(h5, err_format_version)
{
    IDS_BEGIN();
    patched_fails(PATCH_VERSION, ML_EFORMAT, "format_version 2");
    patched_fails(PATCH_VERSION0, ML_EFORMAT, "format_version 0");
    patched_fails(PATCH_FORMAT, ML_EFORMAT, "plantfit_format is \"model\"");
    IDS_END();
}

TEST(h5, err_ragged)
{
    IDS_BEGIN();
    patched_fails(PATCH_RAGGED, ML_EFORMAT, "/columns/2 (column \"flow\") has 7 rows");
    IDS_END();
}

TEST(h5, err_rank)
{
    IDS_BEGIN();
    patched_fails(PATCH_RANK, ML_EFORMAT, "rank 2, expected 1");
    IDS_END();
}

TEST(h5, err_categorical_code)
{
    IDS_BEGIN();
    patched_fails(PATCH_CODE, ML_EFORMAT, "row 3 has code 5");
    patched_fails(PATCH_NEG_CODE, ML_EFORMAT, "row 3 has code -2");
    patched_fails(PATCH_FLOAT_CODES, ML_EFORMAT, "does not hold integer codes");
    patched_fails(PATCH_DUP_LEVELS, ML_EFORMAT, "level \"A\" twice");
    IDS_END();
}

TEST(h5, err_columns)
{
    IDS_BEGIN();
    patched_fails(PATCH_COUNT, ML_EFORMAT, "names 5 columns but /columns holds 4");
    patched_fails(PATCH_DUP_NAMES, ML_EFORMAT, "duplicate column name \"a\"");
    patched_fails(PATCH_NAME_ATTR, ML_EFORMAT, "name attribute \"other\"");
    patched_fails(PATCH_MISSING_DSET, ML_EFORMAT, "/columns/3 (column");
    patched_fails(PATCH_STRING_DSET, ML_EFORMAT, "neither floating-point numbers nor integers");
    IDS_END();
}

TEST(h5, err_absurd_size)
{
    IDS_BEGIN();
    patched_fails(PATCH_HUGE, ML_ELIMIT, "1099511627776 rows");
    IDS_END();
}

/* ---------------------------------------------------------------------------
 * Not HDF5, truncated, missing. */

TEST(h5, err_not_hdf5)
{
    IDS_BEGIN();
    const char *path = tmp_path("plain.csv");
    const char *empty = tmp_path("empty.h5");
    const char *junk = tmp_path("junk.h5");
    char buf[600];

    write_bytes(path, "a,b\n1,2\n", 8);
    CHECK(table_h5_is_hdf5(path) == 0);
    expect_fail(path, 1, ML_EFORMAT, "not an HDF5 file");
    write_bytes(empty, "", 0);
    CHECK(table_h5_is_hdf5(empty) == 0);
    expect_fail(empty, 1, ML_EFORMAT, "not an HDF5 file");

    /* The signature followed by junk: HDF5 refuses it, quietly. */
    memset(buf, 'x', sizeof buf);
    memcpy(buf, "\211HDF\r\n\032\n", 8);
    write_bytes(junk, buf, sizeof buf);
    CHECK(table_h5_is_hdf5(junk) == 1);
    expect_fail(junk, 1, ML_EFORMAT, "corrupt");

    expect_fail(tmp_path("does-not-exist.h5"), 1, ML_EIO, "No such file");
    CHECK(table_h5_is_hdf5(tmp_path("does-not-exist.h5")) == 0);
    IDS_END();
}

TEST(h5, err_truncated)
{
    IDS_BEGIN();
    const char *path = tmp_path("trunc.h5");
    long n;

    if (!write_sample(path))
        return;
    n = file_size(path);
    CHECK(truncate(path, n / 2) == 0);
    CHECK(table_h5_is_hdf5(path) == 1);
    expect_fail(path, 1, ML_EFORMAT, "truncated");
    IDS_END();
}

/* Overwrite the size of the first object of the first global heap collection
 * (variable-length strings live there).  HDF5 1.10.8 would trust it. */
static void corrupt_gcol(const char *path, uint64_t size)
{
    long n;
    unsigned char *buf = slurp(path, &n);
    unsigned char *g = buf ? memmem(buf, (size_t)n, "GCOL\001\0\0\0", 8) : NULL;
    int k;

    CHECK(g != NULL, "no global heap in %s", path);
    if (g) {
        for (k = 0; k < 8; k++)
            g[16 + 8 + k] = (unsigned char)(size >> (8 * k));
        write_bytes(path, buf, (size_t)n);
    }
    free(buf);
}

TEST(h5, err_corrupt_global_heap)
{
    IDS_BEGIN();
    const char *path = tmp_path("gcol.h5");

    /* An object far larger than its collection (a heap over-read in the
     * library), and a free-space object of size 0 (an endless loop). */
    if (!write_sample(path))
        return;
    corrupt_gcol(path, 327681);
    expect_fail(path, 1, ML_EFORMAT, "global heap collection at byte");
    if (!write_sample(path))
        return;
    {
        long n;
        unsigned char *buf = slurp(path, &n);
        unsigned char *g = buf ? memmem(buf, (size_t)n, "GCOL\001\0\0\0", 8) : NULL;
        if (g) {
            memset(g + 16, 0, 16); /* index 0, size 0 */
            write_bytes(path, buf, (size_t)n);
        }
        free(buf);
    }
    expect_fail(path, 1, ML_EFORMAT, "global heap collection at byte");
    IDS_END();
}

TEST(h5, fifo_is_not_hdf5)
{
    IDS_BEGIN();
    const char *path = tmp_path("pipe");

    /* Must return at once without opening (which would block) or reading. */
    CHECK(mkfifo(path, 0600) == 0);
    CHECK(table_h5_is_hdf5(path) == 0);
    IDS_END();
}

TEST(h5, hdf5_never_prints)
{
    IDS_BEGIN();
    const char *log = tmp_path("stderr.txt");
    const char *trunc = tmp_path("t.h5");
    const char *junk = tmp_path("j.h5");
    H5E_auto2_t fn0 = NULL, fn1 = NULL;
    void *d0 = NULL, *d1 = NULL;
    struct ml_table *t = NULL, *s = sample_table();
    struct ml_err err;
    char buf[64];
    int saved, fd;

    write_sample(trunc);
    CHECK(truncate(trunc, 1000) == 0);
    memset(buf, 0, sizeof buf);
    memcpy(buf, "\211HDF\r\n\032\n", 8);
    write_bytes(junk, buf, sizeof buf);
    H5Eget_auto2(H5E_DEFAULT, &fn0, &d0);

    fflush(stderr);
    saved = dup(2);
    fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
    table_h5_read(trunc, 1, &t, &err);
    table_h5_read(junk, 1, &t, &err);
    table_h5_write(tmp_path("no/such/dir.h5"), s, &err);
    ml_table_free(s);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);

    CHECK(file_size(log) == 0, "%ld bytes printed on stderr", file_size(log));
    /* The caller's own error handler is left as it was. */
    H5Eget_auto2(H5E_DEFAULT, &fn1, &d1);
    CHECK(fn0 == fn1 && d0 == d1);
    IDS_END();
}

/* ---------------------------------------------------------------------------
 * Matrix layout, written with the HDF5 C API as another tool would. */

static const double mvals[4][3] = {{1.5, -2, 3}, {4, 5.25, NAN}, {7, 8, 9}, {-10, 11, 1e6}};

static void check_matrix(const struct ml_table *t, const char *const *names, int integers)
{
    size_t i, j;

    CHECK(t->nrow == 4 && t->ncol == 3, "%zu x %zu", t->nrow, t->ncol);
    if (t->nrow != 4 || t->ncol != 3)
        return;
    for (j = 0; j < 3; j++) {
        CHECK(strcmp(t->col[j].name, names[j]) == 0, "column %zu is \"%s\", want \"%s\"", j,
              t->col[j].name, names[j]);
        CHECK(t->col[j].type == ML_COL_NUMERIC);
        for (i = 0; i < 4; i++) {
            double want = integers ? (isnan(mvals[i][j]) ? 0 : trunc(mvals[i][j]))
                                   : (double)(float)mvals[i][j];
            CHECK(same_bits(t->col[j].v[i], want) || (isnan(want) && isnan(t->col[j].v[i])),
                  "[%zu][%zu] = %g, want %g", i, j, t->col[j].v[i], want);
        }
    }
}

enum mnames { MN_NONE, MN_FIXED, MN_SPACEPAD, MN_VLEN, MN_SHORT };

static void make_matrix(const char *path, const char *dname, hid_t ftype, enum mnames how,
                        hsize_t userblock)
{
    static const char *const names[] = {"y", "t/in", "\xce\x94p"};
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    hsize_t dims[2] = {4, 3};
    double flat[12];
    hid_t f, d;
    size_t i;

    for (i = 0; i < 12; i++)
        flat[i] = mvals[i / 3][i % 3];
    if (H5Tget_class(ftype) == H5T_INTEGER)
        for (i = 0; i < 12; i++)
            flat[i] = isnan(flat[i]) ? 0 : flat[i];
    if (userblock)
        H5Pset_userblock(fcpl, userblock);
    f = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    d = make_dset(f, dname, ftype, 2, dims, H5T_NATIVE_DOUBLE, flat);
    if (how == MN_FIXED)
        attr_fixed(d, "columns", names, 3, 8, H5T_STR_NULLPAD);
    else if (how == MN_SPACEPAD)
        attr_fixed(d, "columns", names, 3, 10, H5T_STR_SPACEPAD);
    else if (how == MN_VLEN)
        attr_vlen(d, "columns", names, 3);
    else if (how == MN_SHORT)
        attr_vlen(d, "columns", names, 2);
    H5Dclose(d);
    H5Fclose(f);
    H5Pclose(fcpl);
}

static void read_matrix(const char *path, size_t label_size, const char *const *names,
                        int integers)
{
    struct ml_table *t = NULL;
    struct ml_err err;

    CHECK_OK(table_h5_read(path, label_size, &t, &err), &err);
    if (t)
        check_matrix(t, names, integers);
    ml_table_free(t);
}

TEST(h5, matrix_float32_named)
{
    IDS_BEGIN();
    static const char *const names[] = {"y", "t/in", "\xce\x94p"};
    const char *path = tmp_path("m32.h5");

    make_matrix(path, "data", H5T_IEEE_F32LE, MN_FIXED, 0);
    read_matrix(path, 1, names, 0);
    make_matrix(path, "data", H5T_IEEE_F32BE, MN_SPACEPAD, 0);
    read_matrix(path, 1, names, 0);
    make_matrix(path, "data", H5T_IEEE_F32LE, MN_VLEN, 0);
    read_matrix(path, 1, names, 0);
    IDS_END();
}

TEST(h5, matrix_int32_unnamed)
{
    IDS_BEGIN();
    static const char *const one[] = {"target", "x1", "x2"};
    static const char *const two[] = {"target1", "target2", "x1"};
    static const char *const none[] = {"x1", "x2", "x3"};
    const char *path = tmp_path("mi.h5");

    /* Not called `data`, but the only dataset at the root. */
    make_matrix(path, "X", H5T_STD_I32LE, MN_NONE, 0);
    read_matrix(path, 1, one, 1);
    read_matrix(path, 2, two, 1);
    read_matrix(path, 0, none, 1);
    expect_fail(path, 4, ML_EINVAL, "label_size 4");
    IDS_END();
}

TEST(h5, matrix_userblock)
{
    IDS_BEGIN();
    static const char *const names[] = {"y", "t/in", "\xce\x94p"};
    const char *path = tmp_path("ub.h5");

    /* A 512- and a 2048-byte user block push the signature to those offsets. */
    make_matrix(path, "data", H5T_IEEE_F32LE, MN_FIXED, 512);
    CHECK(table_h5_is_hdf5(path) == 1);
    read_matrix(path, 1, names, 0);
    make_matrix(path, "data", H5T_IEEE_F32LE, MN_FIXED, 2048);
    CHECK(table_h5_is_hdf5(path) == 1);
    read_matrix(path, 1, names, 0);
    IDS_END();
}

TEST(h5, matrix_errors)
{
    IDS_BEGIN();
    const char *path = tmp_path("me.h5");
    hsize_t dims[3] = {2, 2, 2};
    double v[8] = {0};
    hid_t f, d, sp, dcpl;
    hsize_t chunk[2] = {64, 4};

    make_matrix(path, "data", H5T_IEEE_F64LE, MN_SHORT, 0);
    expect_fail(path, 1, ML_EFORMAT, "`columns` attribute lists 2 names");

    /* Wrong rank, both ways. */
    f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(make_dset(f, "data", H5T_IEEE_F64LE, 3, dims, H5T_NATIVE_DOUBLE, v));
    H5Fclose(f);
    expect_fail(path, 1, ML_EFORMAT, "rank 3, expected 2");
    f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(make_dset(f, "data", H5T_IEEE_F64LE, 1, dims, H5T_NATIVE_DOUBLE, v));
    H5Fclose(f);
    expect_fail(path, 1, ML_EFORMAT, "rank 1, expected 2");

    /* Two datasets, neither called `data`; and none at all. */
    f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(make_dset(f, "a", H5T_IEEE_F64LE, 2, dims, H5T_NATIVE_DOUBLE, v));
    H5Dclose(make_dset(f, "b", H5T_IEEE_F64LE, 2, dims, H5T_NATIVE_DOUBLE, v));
    H5Fclose(f);
    expect_fail(path, 1, ML_EFORMAT, "several datasets");
    f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(H5Gcreate2(f, "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Fclose(f);
    expect_fail(path, 1, ML_EFORMAT, "no table found");

    /* A declared size no file of this size can hold. */
    f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    dims[0] = (hsize_t)1 << 36;
    dims[1] = 4;
    sp = H5Screate_simple(2, dims, NULL);
    d = H5Dcreate2(f, "data", H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Dclose(d);
    H5Sclose(sp);
    H5Pclose(dcpl);
    H5Fclose(f);
    expect_fail(path, 1, ML_ELIMIT, "refusing");
    IDS_END();
}

TEST(h5, external_link_refused)
{
    IDS_BEGIN();
    const char *target = tmp_path("target.h5");
    const char *path = tmp_path("elink.h5");
    hid_t f;

    make_matrix(target, "data", H5T_IEEE_F64LE, MN_VLEN, 0);
    f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Lcreate_external(target, "data", f, "data", H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    expect_fail(path, 1, ML_EFORMAT, "no table found");
    IDS_END();
}

/* ---------------------------------------------------------------------------
 * Files written by h5py (the way most users will make them). */

static const char h5py_script[] =
    "import sys, h5py, numpy as np\n"
    "d = sys.argv[1]\n"
    "with h5py.File(d + '/matrix.h5', 'w') as f:\n"
    "    x = f.create_dataset('data', data=np.array([[1.0, 2.0, 3.0], [4.0, np.nan, 6.0]],\n"
    "                                                dtype='float32'))\n"
    "    x.attrs['columns'] = ['yield', 'temp/in', '\\u0394p']\n"
    "with h5py.File(d + '/bytes.h5', 'w') as f:\n"
    "    x = f.create_dataset('X', data=np.arange(6, dtype='int64').reshape(3, 2))\n"
    "    x.attrs['columns'] = np.array([b'y', b'x'])\n"
    "with h5py.File(d + '/columns.h5', 'w') as f:\n"
    "    f.attrs['plantfit_format'] = 'table'\n"
    "    f.attrs['format_version'] = np.int32(1)\n"
    "    f.attrs['columns'] = ['yield', 'grade']\n"
    "    g = f.create_group('columns')\n"
    "    c = g.create_dataset('0', data=np.array([0.5, np.nan, 2.5]))\n"
    "    c.attrs['name'] = 'yield'\n"
    "    c = g.create_dataset('1', data=np.array([1, -1, 0], dtype='int32'))\n"
    "    c.attrs['name'] = 'grade'\n"
    "    c.attrs['levels'] = ['A', 'B']\n";

TEST(h5, h5py_files)
{
    IDS_BEGIN();
    const char *dir = test_tmpdir();
    char script[600], cmd[1400], path[600];
    struct ml_table *t = NULL;
    struct ml_err err;
    int rc;

    rc = system("/usr/bin/python3 -c 'import h5py, numpy' >/dev/null 2>&1");
    if (rc != 0) {
        test_skip("/usr/bin/python3 with h5py and numpy not available");
        return;
    }
    snprintf(script, sizeof script, "%s/make.py", dir);
    write_bytes(script, h5py_script, sizeof h5py_script - 1);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s'", script, dir);
    rc = system(cmd);
    CHECK(rc == 0, "h5py script failed (%d)", rc);
    if (rc != 0)
        return;

    snprintf(path, sizeof path, "%s/matrix.h5", dir);
    CHECK_OK(table_h5_read(path, 1, &t, &err), &err);
    if (t) {
        CHECK(t->nrow == 2 && t->ncol == 3);
        CHECK(strcmp(t->col[0].name, "yield") == 0 && strcmp(t->col[1].name, "temp/in") == 0 &&
                  strcmp(t->col[2].name, "\xce\x94p") == 0,
              "names %s %s %s", t->col[0].name, t->col[1].name, t->col[2].name);
        CHECK(t->col[2].v[1] == 6.0 && isnan(t->col[1].v[1]) && t->col[0].v[1] == 4.0);
    }
    ml_table_free(t);
    t = NULL;

    snprintf(path, sizeof path, "%s/bytes.h5", dir);
    CHECK_OK(table_h5_read(path, 1, &t, &err), &err);
    if (t) {
        CHECK(t->nrow == 3 && t->ncol == 2 && strcmp(t->col[1].name, "x") == 0);
        CHECK(t->col[0].v[2] == 4.0 && t->col[1].v[2] == 5.0);
    }
    ml_table_free(t);
    t = NULL;

    snprintf(path, sizeof path, "%s/columns.h5", dir);
    CHECK_OK(table_h5_read(path, 1, &t, &err), &err);
    if (t) {
        CHECK(t->nrow == 3 && t->ncol == 2);
        CHECK(t->col[1].type == ML_COL_CATEGORICAL && t->col[1].nlevels == 2);
        CHECK(t->col[1].v[0] == 1.0 && isnan(t->col[1].v[1]) && t->col[1].v[2] == 0.0);
        CHECK(t->col[0].v[2] == 2.5 && isnan(t->col[0].v[1]));
        if (t->col[1].nlevels == 2)
            CHECK(strcmp(t->col[1].levels[1], "B") == 0);
    }
    ml_table_free(t);

    /* And h5py reads what we write. */
    snprintf(path, sizeof path, "%s/ours.h5", dir);
    write_sample(path);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import h5py, math; f = h5py.File('%s', 'r'); "
             "c = f['columns']; "
             "assert [s.decode() if isinstance(s, bytes) else s for s in f.attrs['columns']]"
             "[3] == '\\u6d41\\u91cf'; "
             "assert math.isnan(c['0'][2]) and c['1'][3] == -1 and c['2'][1] == -math.inf; "
             "assert f.attrs['format_version'] == 1\"",
             path);
    rc = system(cmd);
    CHECK(rc == 0, "h5py could not read our file as expected (%d)", rc);
    IDS_END();
}

/* ---------------------------------------------------------------------------
 * `plantfit convert` (entrypoint/cmd_convert.c), run in-process with its
 * stdout and stderr captured. */

#include "commands.h"

static int run_convert(const char *out_path, const char *err_path, int argc, char **argv)
{
    int so, se, fo, fe, rc;

    fflush(stdout);
    fflush(stderr);
    so = dup(1);
    se = dup(2);
    fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fo, 1);
    dup2(fe, 2);
    close(fo);
    close(fe);
    rc = cmd_convert(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    return rc;
}

static int file_has(const char *path, const char *needle)
{
    long n;
    unsigned char *buf = slurp(path, &n);
    int yes;

    if (!buf)
        return 0;
    buf[n] = '\0';
    yes = strstr((char *)buf, needle) != NULL;
    free(buf);
    return yes;
}

TEST(h5, convert_roundtrip)
{
    IDS_BEGIN();
    const char *dir = test_tmpdir();
    char csv[600], gz[600], h5[600], back[600], so[600], se[600], cmd[1400];
    const char *text = "y,grade,temp/in \xc2\xb0" "C\n1.5,A,20\n,\"B,2\",21.25\n-3e-7,,\n";
    const char *want = "y,grade,temp/in \xc2\xb0" "C\n1.5,A,20\n,\"B,2\",21.25\n"
                       "-2.9999999999999999e-07,,\n";
    char *a1[] = {"convert", gz, h5, "--categorical", "grade", NULL};
    char *a2[] = {"convert", h5, back, NULL};
    struct ml_table *t = NULL;
    struct ml_err err;
    int rc;

    snprintf(csv, sizeof csv, "%s/in.csv", dir);
    snprintf(gz, sizeof gz, "%s/in.csv.gz", dir);
    snprintf(h5, sizeof h5, "%s/out.h5", dir);
    snprintf(back, sizeof back, "%s/back.csv", dir);
    snprintf(so, sizeof so, "%s/stdout", dir);
    snprintf(se, sizeof se, "%s/stderr", dir);
    write_bytes(csv, text, strlen(text));
    snprintf(cmd, sizeof cmd, "gzip -c '%s' > '%s'", csv, gz);
    CHECK(system(cmd) == 0);

    rc = run_convert(so, se, 5, a1);
    CHECK(rc == 0, "convert csv.gz -> h5 exited %d", rc);
    CHECK(file_has(se, "3 rows, 3 columns"), "no summary line on stderr");
    CHECK_OK(table_h5_read(h5, 1, &t, &err), &err);
    if (t)
        CHECK(t->col[1].type == ML_COL_CATEGORICAL && t->col[1].nlevels == 2);
    ml_table_free(t);

    rc = run_convert(so, se, 3, a2);
    CHECK(rc == 0, "convert h5 -> csv exited %d", rc);
    CHECK(file_has(back, want), "CSV written back differs from the input");
    IDS_END();
}

TEST(h5, convert_usage_and_errors)
{
    IDS_BEGIN();
    const char *dir = test_tmpdir();
    char so[600], se[600], csv[600], missing[600], out[600];
    char *help[] = {"convert", "--help", NULL};
    char *none[] = {"convert", NULL};
    char *badopt[] = {"convert", csv, out, "--frobnicate", NULL};
    char *suffix[] = {"convert", csv, "out.txt", NULL};
    char *badlabel[] = {"convert", csv, out, "--no-header", "--label-size", "x", NULL};
    char *gone[] = {"convert", missing, out, NULL};
    char *csv2csv[] = {"convert", csv, "x.csv", NULL};
    int rc;

    snprintf(so, sizeof so, "%s/stdout", dir);
    snprintf(se, sizeof se, "%s/stderr", dir);
    snprintf(csv, sizeof csv, "%s/a.csv", dir);
    snprintf(missing, sizeof missing, "%s/missing.csv", dir);
    snprintf(out, sizeof out, "%s/out.h5", dir);
    write_bytes(csv, "a,b\n1,2\n", 8);

    rc = run_convert(so, se, 2, help);
    CHECK(rc == 0 && file_has(so, "usage: plantfit convert"), "--help: %d", rc);
    rc = run_convert(so, se, 1, none);
    CHECK(rc == 2 && file_has(se, "plantfit convert: needs IN and OUT"), "no args: %d", rc);
    rc = run_convert(so, se, 4, badopt);
    CHECK(rc == 2 && file_has(se, "unknown option \"--frobnicate\""), "bad option: %d", rc);
    rc = run_convert(so, se, 3, suffix);
    CHECK(rc == 2 && file_has(se, "OUT must end in"), "bad suffix: %d", rc);
    rc = run_convert(so, se, 6, badlabel);
    CHECK(rc == 2 && file_has(se, "--label-size wants"), "bad label size: %d", rc);
    rc = run_convert(so, se, 3, gone);
    CHECK(rc == 1 && file_has(se, "plantfit convert: ") && file_has(se, "missing.csv"),
          "missing input: %d", rc);
    CHECK(file_size(out) < 0, "output written for a failed conversion");
    rc = run_convert(so, se, 3, csv2csv);
    CHECK(rc == 1 && file_has(se, "not an HDF5 file"), "csv -> csv: %d", rc);
    IDS_END();
}
