/* fuzz_iforest_h5.c: libFuzzer target for iforest_h5_read (io/hdf5/iforest_h5.c).
 *
 * HDF5 reads only from files, so each input is written to a fresh temporary
 * file (mkstemp under /dev/shm), read, and unlinked.  Beyond "no crash, leak
 * or UB" it checks what the reader promises:
 *  - no HDF5 object stays open after a read, success or failure, and a
 *    failed read leaves *out NULL;
 *  - a forest that was read is safe to use: iforest_score,
 *    iforest_path_length and iforest_explain run on rows at the training
 *    range's ends, its middle, far outside it and (missing = divide) with
 *    missing values, and every score lies in (0, 1);
 *  - a forest that was read can be written (the writer runs the reader's
 *    checks, so they must agree); that file reads back to a forest that
 *    scores and explains bit-identically, and writing it again gives the
 *    same bytes.
 * Any broken promise aborts, which libFuzzer reports with the input saved.
 *
 * libhdf5 is not instrumented (Debian's build), so coverage guides only
 * through our code; tests/fuzz/corpus/fuzz_iforest_h5/ holds tiny valid
 * forests (classic, extended, divide) and damaged files to start from. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "hdf5/iforest_h5.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Rows scored per forest. */
#define NROW 6

/* Zero free-list limits make HDF5 return freed blocks to malloc, so that
 * LeakSanitizer's stacks point at the real allocation (see fuzz_h5.c). */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    H5set_free_list_limits(0, 0, 0, 0, 0, 0);
    return 0;
}

static void fail(const char *what, const char *msg)
{
    fprintf(stderr, "fuzz_iforest_h5: %s%s%s\n", what, msg ? ": " : "", msg ? msg : "");
    abort();
}

static int write_temp(char *path, size_t cap, const uint8_t *data, size_t size)
{
    FILE *f;
    int fd;

    snprintf(path, cap, "/dev/shm/fuzz_iforest_h5-XXXXXX");
    fd = mkstemp(path);
    if (fd < 0)
        return -1;
    f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        unlink(path);
        return -1;
    }
    if (fwrite(data, 1, size, f) != size) {
        fclose(f);
        unlink(path);
        return -1;
    }
    fclose(f);
    return 0;
}

static unsigned char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b = NULL;
    long len;

    *n = 0;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (b = malloc((size_t)len + 1)) != NULL && fread(b, 1, (size_t)len, f) == (size_t)len) {
        *n = (size_t)len;
    } else {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

static void check_closed(const char *when)
{
    if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) != 0)
        fail("HDF5 objects left open", when);
}

/* NROW rows, column-major, from the forest's training ranges. */
static double *rows_for(const struct iforest *f)
{
    double *x = malloc((size_t)f->d * NROW * sizeof *x);
    int j, i;

    if (!x)
        return NULL;
    for (j = 0; j < f->d; j++) {
        double lo = f->fmin[j], hi = f->fmax[j];

        if (isnan(lo)) {
            lo = 0.0;
            hi = 1.0;
        }
        {
            double v[NROW] = {lo, hi, 0.5 * (lo + hi), lo - 1e6, hi + 3.0 * (hi - lo) + 1.0,
                              f->missing == IFOREST_MISSING_DIVIDE && j % 2 ? NAN : lo};

            /* Far from a huge range may overflow; an infinity would be a
             * missing value, which a missing = fail forest refuses. */
            for (i = 0; i < NROW; i++)
                x[(size_t)j * NROW + i] = isinf(v[i]) ? lo : v[i];
        }
    }
    return x;
}

/* Scores then explanations of rows x into out (NROW + NROW * d doubles). */
static void outputs(const struct iforest *f, const double *x, double *out)
{
    struct ml_err err;
    double h[NROW];
    int i;

    if (iforest_score(f, x, NROW, NROW, out, 1, &err) != ML_OK)
        fail("a forest that was read cannot score", err.msg);
    for (i = 0; i < NROW; i++)
        if (!(out[i] > 0.0 && out[i] < 1.0))
            fail("a score outside (0, 1)", NULL);
    if (iforest_path_length(f, x, NROW, NROW, h, 2, &err) != ML_OK)
        fail("a forest that was read cannot give path lengths", err.msg);
    if (iforest_explain(f, x, NROW, NROW, out + NROW, &err) != ML_OK)
        fail("a forest that was read cannot explain", err.msg);
}

static void exercise_and_rewrite(const char *in, const struct iforest *f)
{
    char a[96], b[96];
    struct iforest *g = NULL;
    struct ml_err err;
    unsigned char *fa, *fb;
    size_t na, nb, nout = NROW + NROW * (size_t)f->d;
    double *x = rows_for(f), *o1 = malloc(nout * sizeof *o1), *o2 = malloc(nout * sizeof *o2);

    if (!x || !o1 || !o2)
        goto out;
    outputs(f, x, o1);
    snprintf(a, sizeof a, "%s.a.h5", in);
    snprintf(b, sizeof b, "%s.b.h5", in);
    if (iforest_h5_write(a, f, &err) != ML_OK)
        fail("a forest that was read cannot be written", err.msg);
    if (iforest_h5_read(a, &g, &err) != ML_OK)
        fail("a forest that was written cannot be read", err.msg);
    outputs(g, x, o2);
    if (memcmp(o1, o2, nout * sizeof *o1) != 0)
        fail("scores or explanations changed through write and read", NULL);
    if (iforest_h5_write(b, g, &err) != ML_OK)
        fail("a forest read back cannot be written", err.msg);
    fa = read_all(a, &na);
    fb = read_all(b, &nb);
    if (!fa || !fb || na != nb || memcmp(fa, fb, na) != 0)
        fail("write(read(write(forest))) differs from write(forest)", NULL);
    free(fa);
    free(fb);
    unlink(a);
    unlink(b);
    iforest_free(g);
out:
    free(x);
    free(o1);
    free(o2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct iforest *f = NULL;
    struct ml_err err;
    char in[64];

    if (write_temp(in, sizeof in, data, size) != 0)
        return 0;
    ml_err_clear(&err);
    if (iforest_h5_read(in, &f, &err) == ML_OK) {
        check_closed("after a successful read");
        exercise_and_rewrite(in, f);
        iforest_free(f);
    } else if (f != NULL) {
        fail("*out not NULL after a failed read", err.msg);
    } else if (!err.msg[0]) {
        fail("a failed read without a message", NULL);
    }
    check_closed("after iforest_h5_read");
    unlink(in);
    return 0;
}
