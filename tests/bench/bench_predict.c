/* bench_predict.c: in-memory halves of the predict benchmark (not a test);
 * run by tests/bench/predict.sh, which also times `plantfit predict` end to
 * end and the references (mgcv's predict.gam, scikit-learn's score_samples).
 *
 *   bench_predict gam MODEL.h5 FILE.csv
 *       Where the time of `plantfit predict` goes, one stage at a time on
 *       the same file: parse (the streaming CSV reader over the model's
 *       columns, 65536-row chunks), score (gam_predict, one thread, over the
 *       whole file loaded in memory) and format (%.17g of every prediction
 *       into a buffer).  Prints rows/s of each and the checksum of the
 *       predictions: sum (%.10e) and the first three.
 *   bench_predict iforest MODEL.h5 FILE.bin N THREADS
 *       iforest_score of N rows (raw float64, column-major, as bench_iforest
 *       gen writes) with THREADS threads, best of 3; rows/s and the checksum
 *       sum of s.
 *   bench_predict bin2csv FILE.bin N D OUT.csv
 *       The binary data as CSV (header x1..xD, %.9g) for the CLI. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../algorithms/gam/gam.h"
#include "../../algorithms/iforest/iforest.h"
#include "csv/csv_read.h"
#include "csv/csv_stream.h"
#include "hdf5/gam_h5.h"
#include "hdf5/iforest_h5.h"
#include "ml_table.h"

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int die(const char *what, const struct ml_err *e)
{
    fprintf(stderr, "bench_predict: %s: %s\n", what, e ? e->msg : "");
    return 1;
}

static int bench_gam(const char *model, const char *csv)
{
    struct gam_model *m = NULL;
    struct ml_table *t = NULL;
    struct csv_options o;
    struct ml_err err;
    struct rs_column *cols;
    struct csv_stream *s = NULL;
    struct rs_chunk ch;
    double t0, t_parse, t_score, t_fmt, sum = 0;
    double *fit;
    size_t v, rows = 0, i;
    char *buf;

    if (gam_h5_read(model, &m, &err))
        return die(model, &err);
    /* parse: the streaming reader, as predict uses it */
    cols = calloc(m->nvars, sizeof *cols);
    for (v = 0; v < m->nvars; v++) {
        cols[v].name = m->vars[v].name;
        cols[v].kind = RS_NUMERIC;
    }
    rs_chunk_init(&ch);
    t0 = now();
    if (csv_stream_open(&s, csv, ',', cols, m->nvars, 65536, &err))
        return die(csv, &err);
    for (;;) {
        if (csv_stream_next(s, &ch, &err))
            return die(csv, &err);
        if (ch.t->nrow == 0)
            break;
        rows += ch.t->nrow;
    }
    t_parse = now() - t0;
    csv_stream_close(s);
    rs_chunk_free(&ch);
    /* score: in memory, one thread */
    csv_options_default(&o);
    o.threads = 2;
    if (csv_read_file(csv, &o, &t, NULL, &err))
        return die(csv, &err);
    fit = malloc(t->nrow * sizeof *fit);
    t0 = now();
    if (gam_predict(m, t, GAM_PRED_RESPONSE, fit, NULL, &err))
        return die("gam_predict", &err);
    t_score = now() - t0;
    /* format: %.17g per prediction */
    buf = malloc(t->nrow * 26 + 1);
    t0 = now();
    {
        size_t len = 0;
        for (i = 0; i < t->nrow; i++) {
            len += (size_t)snprintf(buf + len, 26, "%.17g", fit[i]);
            buf[len++] = '\n';
        }
    }
    t_fmt = now() - t0;
    for (i = 0; i < t->nrow; i++)
        sum += fit[i];
    printf("plantfit-stages n=%zu parse_s=%.3f parse_rows_per_s=%.3g score_s=%.3f "
           "score_rows_per_s=%.3g format_s=%.3f format_rows_per_s=%.3g sum=%.10e f1=%.6f "
           "f2=%.6f f3=%.6f\n", rows, t_parse, rows / t_parse, t_score, t->nrow / t_score, t_fmt,
           t->nrow / t_fmt, sum, fit[0], fit[1], fit[2]);
    free(buf);
    free(fit);
    free(cols);
    ml_table_free(t);
    gam_model_free(m);
    return 0;
}

static double *load_bin(const char *path, size_t n, size_t d)
{
    FILE *f = fopen(path, "rb");
    double *x = malloc(n * d * sizeof *x);

    if (!f || !x || fread(x, sizeof *x, n * d, f) != n * d) {
        if (f)
            fclose(f);
        free(x);
        return NULL;
    }
    fclose(f);
    return x;
}

static int bench_iforest(const char *model, const char *bin, size_t n, int threads)
{
    struct iforest *f = NULL;
    struct ml_err err;
    double *x, *s, best = 1e30, sum = 0;
    size_t i;
    int r;

    if (iforest_h5_read(model, &f, &err))
        return die(model, &err);
    x = load_bin(bin, n, (size_t)f->d);
    s = malloc(n * sizeof *s);
    if (!x || !s)
        return die("cannot load the data", NULL);
    for (r = 0; r < 3; r++) {
        double t0 = now();
        if (iforest_score(f, x, n, n, s, threads, &err))
            return die("iforest_score", &err);
        if (now() - t0 < best)
            best = now() - t0;
    }
    for (i = 0; i < n; i++)
        sum += s[i];
    printf("plantfit-iforest-inmemory n=%zu threads=%d score_s=%.4f rows_per_s=%.3g "
           "checksum=%.6f\n", n, threads, best, n / best, sum);
    free(x);
    free(s);
    iforest_free(f);
    return 0;
}

static int bin2csv(const char *bin, size_t n, size_t d, const char *out)
{
    double *x = load_bin(bin, n, d);
    FILE *f = fopen(out, "w");
    size_t i, j;

    if (!x || !f)
        return die("bin2csv: cannot read or write", NULL);
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    for (j = 0; j < d; j++)
        fprintf(f, "%sx%zu", j ? "," : "", j + 1);
    fputc('\n', f);
    for (i = 0; i < n; i++)
        for (j = 0; j < d; j++)
            fprintf(f, "%.9g%c", x[j * n + i], j + 1 < d ? ',' : '\n');
    free(x);
    return fclose(f) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "gam") == 0)
        return bench_gam(argv[2], argv[3]);
    if (argc == 6 && strcmp(argv[1], "iforest") == 0)
        return bench_iforest(argv[2], argv[3], strtoul(argv[4], NULL, 10), (int)strtol(argv[5], NULL, 10));
    if (argc == 6 && strcmp(argv[1], "bin2csv") == 0)
        return bin2csv(argv[2], strtoul(argv[3], NULL, 10), strtoul(argv[4], NULL, 10), argv[5]);
    fprintf(stderr, "usage: bench_predict gam MODEL.h5 FILE.csv | iforest MODEL.h5 FILE.bin N "
                    "THREADS | bin2csv FILE.bin N D OUT.csv\n");
    return 2;
}
