/* bench_csv.c: CSV ingest benchmark driver (not a test); run by
 * tests/bench/csv_ingest.sh, which compares it with data.table::fread and
 * pandas.read_csv on the same file.
 *
 *   bench_csv FILE [--threads N] [--repeat R]
 *       Reads FILE R times (default 3) with csv_read_file and prints one line
 *       with the best wall time, MB/s, rows/s and checksums of the parsed
 *       values (sum of all values, sum of column 0, both %.10e), so a fast
 *       but wrong parse is noticed (SQLite speedtest1 --verify habit).
 *   bench_csv --generate FILE [--rows N] [--cols P] [--seed S]
 *       Writes the benchmark file: a header x1..xP and N rows of decimals
 *       with varied magnitudes, signs and digit counts ("123.456789",
 *       "-0.00123", "7", "-45.5"), deterministic for a given seed
 *       (ml_rng, xoshiro256**).  Defaults: 1000000 rows, 10 columns, seed 42. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csv/csv_read.h"
#include "ml_rng.h"
#include "ml_table.h"

static int generate(const char *path, unsigned long long rows, unsigned cols,
                    unsigned long long seed)
{
    static char line[4096];
    FILE *f = fopen(path, "w");
    struct ml_rng r;
    unsigned long long i;
    unsigned j;

    if (!f) {
        fprintf(stderr, "bench_csv: cannot create %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (setvbuf(f, NULL, _IOFBF, 1 << 20) != 0)
        return 1;
    ml_rng_seed(&r, seed, 0);
    for (j = 0; j < cols; j++)
        fprintf(f, "%sx%u", j ? "," : "", j + 1);
    fputc('\n', f);
    for (i = 0; i < rows; i++) {
        size_t k = 0;
        for (j = 0; j < cols; j++) {
            /* Magnitude 10^-3 .. 10^3, 0..7 decimals, ~30% negative. */
            int mag = (int)ml_rng_below(&r, 7) - 3;
            int dec = (int)ml_rng_below(&r, 8);
            double x = ml_rng_uniform(&r);
            double scale = 1;
            int m;

            for (m = 0; m < (mag < 0 ? -mag : mag); m++)
                scale *= 10;
            x = mag < 0 ? x / scale : x * scale;
            if (mag < 0 && dec < -mag + 1)
                dec = -mag + 1;   /* keep a significant digit of small values */
            if (ml_rng_uniform(&r) < 0.3)
                x = -x;
            k += (size_t)snprintf(line + k, sizeof line - k, "%s%.*f", j ? "," : "", dec, x);
        }
        line[k++] = '\n';
        fwrite(line, 1, k, f);
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "bench_csv: writing %s: %s\n", path, strerror(errno));
        return 1;
    }
    return 0;
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    const char *path = NULL, *gen = NULL;
    unsigned long long rows = 1000000, seed = 42;
    unsigned cols = 10;
    int threads = 1, repeat = 3, i, rep;
    double best = 1e300, sum = 0, sum0 = 0;
    struct csv_file_info info;
    size_t nrow = 0, ncol = 0;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--generate") && i + 1 < argc)
            gen = argv[++i];
        else if (!strcmp(argv[i], "--rows") && i + 1 < argc)
            rows = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--cols") && i + 1 < argc)
            cols = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else {
            fprintf(stderr, "usage: bench_csv FILE [--threads N] [--repeat R]\n"
                            "       bench_csv --generate FILE [--rows N] [--cols P] [--seed S]\n");
            return 2;
        }
    }
    if (gen)
        return generate(gen, rows, cols, seed);
    if (!path || repeat < 1) {
        fprintf(stderr, "bench_csv: no input file\n");
        return 2;
    }
    for (rep = 0; rep < repeat; rep++) {
        struct csv_options o;
        struct ml_table *t;
        struct ml_err err;
        double t0, dt;
        size_t j, r;

        csv_options_default(&o);
        o.threads = threads;
        t0 = now_seconds();
        if (csv_read_file(path, &o, &t, &info, &err) != ML_OK) {
            fprintf(stderr, "bench_csv: %s\n", err.msg);
            return 1;
        }
        dt = now_seconds() - t0;
        if (dt < best)
            best = dt;
        sum = sum0 = 0;
        for (j = 0; j < t->ncol; j++)
            for (r = 0; r < t->nrow; r++)
                sum += t->col[j].v[r];
        for (r = 0; r < t->nrow; r++)
            sum0 += t->col[0].v[r];
        nrow = t->nrow;
        ncol = t->ncol;
        ml_table_free(t);
    }
    printf("plantfit threads=%d seconds=%.3f MB/s=%.1f rows/s=%.0f rows=%zu cols=%zu "
           "sum=%.10e sum0=%.10e sha256=%.12s\n",
           threads, best, (double)info.bytes / 1e6 / best, (double)nrow / best, nrow, ncol, sum,
           sum0, info.sha256);
    return 0;
}
