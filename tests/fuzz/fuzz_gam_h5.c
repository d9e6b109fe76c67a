/* fuzz_gam_h5.c: libFuzzer target for gam_h5_read (io/hdf5/gam_h5.c).
 *
 * HDF5 reads only from files, so each input is written to a fresh temporary
 * file under /tmp (mkstemp), read, and unlinked.  Beyond "no crash, leak or
 * UB" it checks what the reader promises:
 *  - no HDF5 object stays open after a read, success or failure;
 *  - a model that was read is safe to use: every prediction entry point runs
 *    on a table built from the model's own variables (training range, its
 *    ends, far outside it, every factor level, a missing value);
 *  - a model that was read can be written (the writer runs the reader's
 *    checks, so they must agree), and writing what that file reads back gives
 *    the same bytes.
 * Any broken promise aborts, which libFuzzer reports with the input saved.
 *
 * libhdf5 is not instrumented (Debian's build), so coverage guides only
 * through our code; tests/fuzz/corpus/fuzz_gam_h5/ holds small valid models
 * (s, te, factor-by, parametric) and damaged ones to start from. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "hdf5/gam_h5.h"
#include "ml_table.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Zero free-list limits make HDF5 return freed blocks to malloc, so that
 * LeakSanitizer's stacks point at the real allocation (see fuzz_h5.c). */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    H5set_free_list_limits(0, 0, 0, 0, 0, 0);
    return 0;
}

static int write_temp(char *path, size_t cap, const uint8_t *data, size_t size)
{
    FILE *f;
    int fd;

    snprintf(path, cap, "/dev/shm/fuzz_gam_h5-XXXXXX");
    fd = mkstemp(path);
    if (fd < 0)
        return -1;
    f = fdopen(fd, "wb");
    if (!f || fwrite(data, 1, size, f) != size) {
        if (f)
            fclose(f);
        else
            close(fd);
        unlink(path);
        return -1;
    }
    fclose(f);
    return 0;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b = NULL;
    long len;

    *n = 0;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (b = malloc((size_t)len + 1)) != NULL && fread(b, 1, (size_t)len, f) == (size_t)len)
        *n = (size_t)len;
    else {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

static void fail(const char *what, const char *msg)
{
    fprintf(stderr, "fuzz_gam_h5: %s%s%s\n", what, msg ? ": " : "", msg ? msg : "");
    abort();
}

static void check_closed(const char *when)
{
    if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) != 0)
        fail("HDF5 objects left open", when);
}

#define NPOINT 8

/* A table with one column per model variable, named as it is (a name used
 * both as factor and numeric gets one column, numeric, plus the factor's
 * levels as numbers when they are numbers: enough to exercise the code). */
static struct ml_table *table_for(const struct gam_model *m)
{
    struct ml_table *t = NULL;
    struct ml_err err;
    const char **names = calloc(m->nvars + 1, sizeof *names);
    enum ml_coltype *types = calloc(m->nvars + 1, sizeof *types);
    size_t v, k, nc = 0, i;

    if (!names || !types)
        goto out;
    for (v = 0; v < m->nvars; v++) {
        for (k = 0; k < nc; k++)
            if (strcmp(names[k], m->vars[v].name) == 0)
                break;
        if (k < nc) {
            if (!m->vars[v].is_factor)
                types[k] = ML_COL_NUMERIC;
            continue;
        }
        names[nc] = m->vars[v].name;
        types[nc] = m->vars[v].is_factor ? ML_COL_CATEGORICAL : ML_COL_NUMERIC;
        nc++;
    }
    if (ml_table_alloc(&t, nc, names, types, &err) != ML_OK ||
        ml_table_reserve(t, NPOINT, &err) != ML_OK) {
        ml_table_free(t);
        t = NULL;
        goto out;
    }
    for (k = 0; k < nc; k++) {
        const struct gam_var *gv = NULL;

        for (v = 0; v < m->nvars && !gv; v++)
            if (strcmp(m->vars[v].name, names[k]) == 0 &&
                (types[k] == ML_COL_CATEGORICAL) == (m->vars[v].is_factor != 0))
                gv = &m->vars[v];
        for (i = 0; i < NPOINT; i++) {
            double x = NAN;

            if (types[k] == ML_COL_CATEGORICAL) {
                if (i + 1 < NPOINT && gv->nlevels > 0) {
                    const char *s = gv->levels[i % gv->nlevels];
                    if (ml_table_level(t, k, s, strlen(s), &x, &err) != ML_OK)
                        x = NAN;
                }
            } else if (gv) {
                double lo = gv->min, hi = gv->max, r = hi - lo;
                double pts[NPOINT] = {lo, hi, lo + 0.5 * r, lo - 3.0 * r - 1.0, hi + 7.0 * r + 1.0,
                                      lo + 0.25 * r, hi, NAN};
                x = pts[i];
            } else {
                x = (double)(i % 3); /* a numeric column standing in for a factor */
            }
            t->col[k].v[i] = x;
        }
    }
    t->nrow = NPOINT;
out:
    free(names);
    free(types);
    return t;
}

static void exercise(const struct gam_model *m)
{
    struct ml_table *t = table_for(m);
    struct ml_err err;
    size_t nt = 0, v;
    double *fit, *se, *terms, *tse, *X;

    if (!t)
        return;
    fit = malloc(NPOINT * sizeof *fit);
    se = malloc(NPOINT * sizeof *se);
    terms = malloc(NPOINT * (m->nterms + 1) * sizeof *terms);
    tse = malloc(NPOINT * (m->nterms + 1) * sizeof *tse);
    X = malloc(NPOINT * (size_t)m->p * sizeof *X);
    if (fit && se && terms && tse && X) {
        gam_predict(m, t, GAM_PRED_RESPONSE, fit, se, &err);
        gam_predict(m, t, GAM_PRED_LINK, fit, se, &err);
        gam_predict_terms(m, t, terms, tse, &nt, &err);
        gam_lpmatrix(m, t, X, &err);
        for (v = 0; v < m->nvars; v++)
            if (!m->vars[v].is_factor)
                gam_derivative(m, t, m->vars[v].name, fit, &err);
    }
    free(fit);
    free(se);
    free(terms);
    free(tse);
    free(X);
    ml_table_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[64], a[80], b[80];
    struct gam_model *m = NULL, *m2 = NULL;
    unsigned char *fa, *fb;
    size_t na, nb;
    struct ml_err err;

    if (write_temp(in, sizeof in, data, size) != 0)
        return 0;
    if (gam_h5_read(in, &m, &err) == ML_OK) {
        check_closed("after a successful read");
        exercise(m);
        snprintf(a, sizeof a, "%s.a.h5", in);
        snprintf(b, sizeof b, "%s.b.h5", in);
        if (gam_h5_write(a, m, &err) != ML_OK)
            fail("a model that was read cannot be written", err.msg);
        if (gam_h5_read(a, &m2, &err) != ML_OK)
            fail("a model that was written cannot be read", err.msg);
        if (gam_h5_write(b, m2, &err) != ML_OK)
            fail("a model read back cannot be written", err.msg);
        fa = slurp(a, &na);
        fb = slurp(b, &nb);
        if (!fa || !fb || na != nb || memcmp(fa, fb, na) != 0)
            fail("write(read(write(model))) differs from write(model)", NULL);
        free(fa);
        free(fb);
        unlink(a);
        unlink(b);
        gam_model_free(m2);
        gam_model_free(m);
    } else if (m != NULL) {
        fail("*out not NULL after a failed read", err.msg);
    }
    check_closed("after gam_h5_read");
    unlink(in);
    return 0;
}
