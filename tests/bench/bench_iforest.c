/* bench_iforest.c: driver of tests/bench/iforest.sh (the Isolation Forest
 * performance benchmark of the issue; not a test).
 *
 *   bench_iforest gen N PATH      write the benchmark data: N rows x 8
 *                                 features, float64, column-major (feature 0's
 *                                 N values, then feature 1's, ...), seed 42
 *   bench_iforest run PATH N THREADS REPS
 *                                 fit (100 trees, psi 256, seed 1) and score
 *                                 every row, REPS times; print one line with
 *                                 the best fit and score times and the
 *                                 checksum sum(s) of the scores
 *
 * Data: 99% of the rows are correlated Gaussians on different scales
 * (x_j = s_j (z_j + 0.5 z_{j-1}) + j), 1% are uniform in a box 8 sd wide, so
 * the scores have a real spread.  Values are rounded to float32 so that
 * scikit-learn, which converts to float32, sees the same numbers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../algorithms/iforest/iforest.h"
#include "ml_rng.h"

#define D 8

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU time of the process (all threads): on a shared machine it shows
 * whether a slow wall time came from waiting for a core. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int gen(size_t n, const char *path)
{
    double *x = malloc(n * D * sizeof *x);
    struct ml_rng r;
    size_t i;
    int j;
    FILE *fp;

    if (!x)
        return 1;
    ml_rng_seed(&r, 42, 0);
    for (i = 0; i < n; i++) {
        double z[D];
        int out = ml_rng_uniform(&r) < 0.01;
        for (j = 0; j < D; j++)
            z[j] = ml_rng_normal(&r);
        for (j = 0; j < D; j++) {
            double s = 1.0 + j, v;
            if (out)
                v = s * (8.0 * ml_rng_uniform(&r) - 4.0) + j;
            else
                v = s * (z[j] + 0.5 * z[(j + D - 1) % D]) + j;
            x[(size_t)j * n + i] = (double)(float)v;
        }
    }
    fp = fopen(path, "wb");
    if (!fp || fwrite(x, sizeof *x, n * D, fp) != n * D || fclose(fp) != 0) {
        perror(path);
        free(x);
        return 1;
    }
    free(x);
    return 0;
}

static int run(const char *path, size_t n, int threads, int reps)
{
    double *x = malloc(n * D * sizeof *x), *s = malloc(n * sizeof *s);
    double best_fit = HUGE_VAL, best_score = HUGE_VAL, best_cpu = HUGE_VAL, sum = 0.0;
    struct iforest_options o;
    struct ml_err err;
    size_t i;
    int k;
    FILE *fp;

    if (!x || !s)
        return 1;
    fp = fopen(path, "rb");
    if (!fp || fread(x, sizeof *x, n * D, fp) != n * D) {
        fprintf(stderr, "cannot read %zu rows from %s\n", n, path);
        return 1;
    }
    fclose(fp);
    iforest_options_default(&o);
    o.n_trees = 100;
    o.sample_size = 256;
    o.seed = 1;
    o.threads = threads;
    for (k = 0; k < reps; k++) {
        struct iforest *f;
        double t0 = now(), t1, t2, c1, c2;
        if (iforest_fit(x, n, D, NULL, &o, &f, &err) != ML_OK) {
            fprintf(stderr, "fit: %s\n", err.msg);
            return 1;
        }
        t1 = now();
        c1 = cpu_now();
        if (iforest_score(f, x, n, n, s, threads, &err) != ML_OK) {
            fprintf(stderr, "score: %s\n", err.msg);
            return 1;
        }
        t2 = now();
        c2 = cpu_now();
        best_cpu = c2 - c1 < best_cpu ? c2 - c1 : best_cpu;
        best_fit = t1 - t0 < best_fit ? t1 - t0 : best_fit;
        best_score = t2 - t1 < best_score ? t2 - t1 : best_score;
        iforest_free(f);
    }
    for (i = 0; i < n; i++)
        sum += s[i];
    printf("plantfit n=%zu threads=%d fit_s=%.6f score_s=%.4f score_cpu_s=%.4f checksum=%.6f\n",
           n, threads, best_fit, best_score, best_cpu, sum);
    free(x);
    free(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "gen") == 0)
        return gen((size_t)strtod(argv[2], NULL), argv[3]);
    if (argc == 6 && strcmp(argv[1], "run") == 0)
        return run(argv[2], (size_t)strtod(argv[3], NULL), (int)strtol(argv[4], NULL, 10),
                   (int)strtol(argv[5], NULL, 10));
    fprintf(stderr, "usage: bench_iforest gen N PATH | run PATH N THREADS REPS\n");
    return 2;
}
