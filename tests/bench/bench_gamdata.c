/* bench_gamdata.c: data and checksums for the GAM fit benchmark (not a
 * test); run by tests/bench/gam_fit.sh, which compares `plantfit train
 * algorithm=gam` with mgcv's gam and bam (tests/bench/gam_ref.R).
 *
 *   bench_gamdata --generate FILE [--rows N] [--seed S]
 *       Writes the benchmark file: a header x1,...,x8,y and N rows with
 *       x1..x8 uniform on [0, 1) and
 *         y = 2 sin(2 pi x1) + exp(2 x2) / 2 + 4 (x3 - 1/2)^2 + cos(3 pi x4)
 *             + 3 / (1 + exp(-10 (x5 - 1/2))) + 1.5 x6 + sin(5 x7) x7 + 0 x8
 *             + N(0, 1),
 *       every value printed %.6g.  x8 has no effect (its smooth should come
 *       out nearly linear with EDF near 1).  Deterministic for a given seed
 *       (ml_rng, xoshiro256**).  Defaults: 1000000 rows, seed 42.
 *   bench_gamdata --predict MODEL.h5 FILE [--threads T]
 *       Loads a model written by `plantfit train` (gam_h5_read), predicts on
 *       every row of FILE (gam_predict, response scale) and prints one line
 *       with the checksum of the fitted values: their sum (%.10e), the first
 *       three (%.6f), and the RMSE against the column y, in the same format as
 *       gam_ref.R prints for mgcv's fitted(fit). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../algorithms/gam/gam.h"
#include "csv/csv_read.h"
#include "hdf5/gam_h5.h"
#include "ml_rng.h"
#include "ml_table.h"

#define NX 8

static int generate(const char *path, unsigned long long rows, unsigned long long seed)
{
    static char line[1024];
    const double pi = 3.14159265358979323846;
    FILE *f = fopen(path, "w");
    struct ml_rng r;
    unsigned long long i;
    int j;

    if (!f) {
        fprintf(stderr, "bench_gamdata: cannot create %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (setvbuf(f, NULL, _IOFBF, 1 << 20) != 0) {
        fclose(f);
        return 1;
    }
    ml_rng_seed(&r, seed, 0);
    fputs("x1,x2,x3,x4,x5,x6,x7,x8,y\n", f);
    for (i = 0; i < rows; i++) {
        double x[NX], y;
        size_t k = 0;

        for (j = 0; j < NX; j++) {
            char cell[32];
            /* Round through the printed text so y is computed from the
             * values the file holds. */
            snprintf(cell, sizeof cell, "%.6g", ml_rng_uniform(&r));
            x[j] = strtod(cell, NULL);
            k += (size_t)snprintf(line + k, sizeof line - k, "%s,", cell);
        }
        y = 2 * sin(2 * pi * x[0]) + 0.5 * exp(2 * x[1]) + 4 * (x[2] - 0.5) * (x[2] - 0.5) +
            cos(3 * pi * x[3]) + 3 / (1 + exp(-10 * (x[4] - 0.5))) + 1.5 * x[5] +
            sin(5 * x[6]) * x[6] + ml_rng_normal(&r);
        k += (size_t)snprintf(line + k, sizeof line - k, "%.6g\n", y);
        fwrite(line, 1, k, f);
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "bench_gamdata: writing %s: %s\n", path, strerror(errno));
        return 1;
    }
    return 0;
}

static int predict(const char *model_path, const char *path, int threads)
{
    struct gam_model *m = NULL;
    struct ml_table *t = NULL;
    struct csv_options o;
    struct ml_err err;
    double *f, sum = 0, sse = 0;
    long yc;
    size_t i;

    if (gam_h5_read(model_path, &m, &err) != ML_OK) {
        fprintf(stderr, "bench_gamdata: %s\n", err.msg);
        return 1;
    }
    csv_options_default(&o);
    o.threads = threads;
    if (csv_read_file(path, &o, &t, NULL, &err) != ML_OK) {
        fprintf(stderr, "bench_gamdata: %s\n", err.msg);
        gam_model_free(m);
        return 1;
    }
    yc = ml_table_find(t, "y");
    f = malloc((t->nrow ? t->nrow : 1) * sizeof *f);
    if (yc < 0 || t->nrow < 3 || !f) {
        fprintf(stderr, "bench_gamdata: %s: no column y, fewer than 3 rows, or out of memory\n",
                path);
        free(f);
        ml_table_free(t);
        gam_model_free(m);
        return 1;
    }
    if (gam_predict(m, t, GAM_PRED_RESPONSE, f, NULL, &err) != ML_OK) {
        fprintf(stderr, "bench_gamdata: %s\n", err.msg);
        free(f);
        ml_table_free(t);
        gam_model_free(m);
        return 1;
    }
    for (i = 0; i < t->nrow; i++) {
        double d = t->col[yc].v[i] - f[i];
        sum += f[i];
        sse += d * d;
    }
    printf("sum=%.10e f1=%.6f f2=%.6f f3=%.6f rmse=%.8f rows=%zu\n", sum, f[0], f[1], f[2],
           sqrt(sse / (double)t->nrow), t->nrow);
    free(f);
    ml_table_free(t);
    gam_model_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    const char *gen = NULL, *model = NULL, *path = NULL;
    unsigned long long rows = 1000000, seed = 42;
    int threads = 2, i;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--generate") && i + 1 < argc)
            gen = argv[++i];
        else if (!strcmp(argv[i], "--predict") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(argv[i], "--rows") && i + 1 < argc)
            rows = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = (int)strtol(argv[++i], NULL, 10);
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else {
            fprintf(stderr, "usage: bench_gamdata --generate FILE [--rows N] [--seed S]\n"
                            "       bench_gamdata --predict MODEL.h5 FILE [--threads T]\n");
            return 2;
        }
    }
    if (gen)
        return generate(gen, rows, seed);
    if (model && path)
        return predict(model, path, threads < 1 ? 1 : threads);
    fprintf(stderr, "bench_gamdata: give --generate FILE or --predict MODEL.h5 FILE\n");
    return 2;
}
