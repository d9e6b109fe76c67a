/* cmd_predict.c: `plantfit predict`, batch scoring with every model of a
 * model directory, streaming: the input is read, scored and written a chunk
 * of rows at a time (io/csv/csv_stream.h, io/json/jsonl_stream.h), so memory
 * does not depend on the input's length, and the output has one row per
 * input row in input order (SageMaker batch transform's SplitType=Line).
 *
 * The model directory is loaded and checked by model_dir.h (manifest format
 * version, SHA-256 of every model file); the scoring is scoring.h's.  The
 * output columns, in this order:
 *   prediction         (gam.h5) the GAM's mean on the response scale
 *   se, lower, upper   (gam.h5, --se) standard error on the response scale
 *                      (delta method, as mgcv's predict(type = "response",
 *                      se.fit = TRUE)) and the 95% interval
 *                      g^-1(eta -+ 1.96 se(eta)) (as mgcv users build it from
 *                      the link scale)
 *   score              (iforest.h5) the anomaly score s in (0, 1)
 *   is_anomaly         1 if s > the forest's threshold (scikit-learn's strict
 *                      rule, iforest_is_anomaly), else 0
 *   decision_function  scikit-learn's decision_function = threshold - s
 *                      (negative for anomalies); score_samples is -score and
 *                      predict is -1 where is_anomaly = 1, else +1
 *   top_features       anomalous rows: up to 3 features that shortened the
 *                      row's paths most (iforest_explain), largest first
 * Numbers are written %.17g (they read back to the same double); a GAM row
 * with a missing variable gets no prediction: "" in CSV (a bare empty line
 * would be skipped by CSV readers and shift every later row), null in JSON.
 *
 * Rows that cannot be scored (a non-number in a numeric column, a ragged
 * CSV row, an unknown factor level, a missing forest feature with
 * missing = fail, a JSON line that is not an object or lacks a key) fail the
 * run naming row, line, column and value, or with --on-error=skip are left
 * out, each reported on stderr, and counted.
 *
 * Output to a file goes to a temporary name next to it, renamed into place
 * at the end and removed on any error (or SIGTERM / SIGINT): never a
 * partial file.  Output to stdout cannot be taken back: an error half way
 * leaves the rows written so far and exits non-zero, so a consumer of
 * stdout must check the exit status.
 *
 * Exit status: 0 done, 1 failed ("plantfit predict: <message>" on stderr),
 * 2 usage error. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "commands.h"
#include "csv/csv_stream.h"
#include "fsutil.h"
#include "json/jsonl_stream.h"
#include "model_dir.h"
#include "scoring.h"

#define PREDICT_CHUNK_ROWS 65536

enum fmt { FMT_CSV = 0, FMT_JSONL = 1 };

struct predict_args {
    const char *model_dir;
    const char *input;
    const char *output;
    enum fmt in_format, out_format;
    char delim;
    int se;
    int skip;
    int no_top;
    int threads;
    size_t chunk_rows;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: plantfit predict --model DIR [--input FILE|-] [--output FILE|-]\n"
            "                        [--format csv|jsonl] [--input-format F] [--output-format F]\n"
            "                        [--se] [--no-top-features] [--on-error fail|skip]\n"
            "                        [--delimiter C] [--threads N]\n"
            "\n"
            "Scores every row of the input with every model in DIR (a model directory\n"
            "written by `plantfit train`: " MODEL_DIR_GAM " and/or " MODEL_DIR_IFOREST
            ", checked against\n"
            "its manifest.json), streaming: one output row per input row, in order.\n"
            "Output columns, in this order:\n"
            "  prediction         (GAM) the mean on the response scale, \"\" (JSON: null)\n"
            "                     where a variable the model uses is missing\n"
            "  se, lower, upper   (GAM, --se) standard error (response scale, delta method)\n"
            "                     and 95%% interval g^-1(eta -+ 1.96 se(eta))\n"
            "  score              (forest) anomaly score s in (0, 1)\n"
            "  is_anomaly         (forest) 1 if s > the forest's threshold, else 0\n"
            "  decision_function  (forest) scikit-learn's: threshold - s, < 0 for anomalies\n"
            "  top_features       (forest) anomalous rows: up to 3 features that shortened\n"
            "                     the row's paths most, name:value;name:value (JSON: a list)\n"
            "\n"
            "  --model DIR        the model directory\n"
            "  --input FILE       CSV with a header naming the models' variables (plain or\n"
            "                     gzip; other columns are ignored) or JSON Lines; - (the\n"
            "                     default) reads stdin\n"
            "  --output FILE      written under a temporary name and renamed at the end;\n"
            "                     - (the default) writes stdout: check the exit status, an\n"
            "                     error half way leaves the rows written so far\n"
            "  --format F         csv (default) or jsonl: one JSON object per line, keyed by\n"
            "                     column name; for input and output\n"
            "  --input-format F, --output-format F   the same for one side only\n"
            "  --se               GAM standard errors and 95%% intervals\n"
            "  --no-top-features  leave out the top_features column (explaining each\n"
            "                     anomalous row costs about as much as scoring 30 rows)\n"
            "  --on-error M       fail (default): a row that cannot be scored is an error\n"
            "                     naming row, line, column and value; skip: such rows are\n"
            "                     left out, each reported on stderr, and counted\n"
            "  --delimiter C      CSV input delimiter (one character, or tab); default ,\n"
            "  --threads N        scoring threads (default: one per CPU)\n"
            "  --help             this text\n"
            "\n"
            "Exit status: 0 done, 1 failed, 2 usage error.\n");
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "plantfit predict: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    usage(stderr);
    return 2;
}

static int parse_delim(const char *v, char *out)
{
    if (strcmp(v, "\\t") == 0 || strcmp(v, "tab") == 0 || strcmp(v, "\t") == 0) {
        *out = '\t';
        return 1;
    }
    if (strlen(v) != 1 || v[0] == '"' || v[0] == '\n' || v[0] == '\r')
        return 0;
    *out = v[0];
    return 1;
}

/* Value of "--name value" or "--name=value"; advances *i.  NULL if argv[*i]
 * is not this option; "" if its value is missing. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t len = strlen(name);
    const char *arg = argv[*i];

    if (strncmp(arg, name, len) != 0)
        return NULL;
    if (arg[len] == '=')
        return arg + len + 1;
    if (arg[len] != '\0')
        return NULL;
    if (*i + 1 >= argc)
        return "";
    return argv[++*i];
}

static int parse_count(const char *v, long lo, long hi, long *out)
{
    char *end;
    long x;

    errno = 0;
    x = strtol(v, &end, 10);
    if (errno || !*v || *end || x < lo || x > hi)
        return 0;
    *out = x;
    return 1;
}

/* 0 parsed, 1 --help shown, 2 usage error already reported. */
static int parse_args(int argc, char **argv, struct predict_args *a)
{
    const char *v;
    long n;
    int i;

    a->delim = ',';
    a->input = "-";
    a->output = "-";
    a->chunk_rows = PREDICT_CHUNK_ROWS;
    n = sysconf(_SC_NPROCESSORS_ONLN);
    a->threads = n > 0 ? (int)n : 1;
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return 1;
        } else if ((v = opt_value(argc, argv, &i, "--model"))) {
            if (!*v)
                return usage_error("%s", "--model wants a directory");
            a->model_dir = v;
        } else if ((v = opt_value(argc, argv, &i, "--input"))) {
            if (!*v)
                return usage_error("%s", "--input wants a file name (or -)");
            a->input = v;
        } else if ((v = opt_value(argc, argv, &i, "--output"))) {
            if (!*v)
                return usage_error("%s", "--output wants a file name (or -)");
            a->output = v;
        } else if ((v = opt_value(argc, argv, &i, "--format")) ||
                   (v = opt_value(argc, argv, &i, "--input-format")) ||
                   (v = opt_value(argc, argv, &i, "--output-format"))) {
            enum fmt f;
            if (strcmp(v, "csv") == 0)
                f = FMT_CSV;
            else if (strcmp(v, "jsonl") == 0 || strcmp(v, "jsonlines") == 0)
                f = FMT_JSONL;
            else
                return usage_error("--format wants csv or jsonl, not \"%s\"", v);
            if (strncmp(arg, "--output-format", 15) != 0)
                a->in_format = f;
            if (strncmp(arg, "--input-format", 14) != 0)
                a->out_format = f;
        } else if ((v = opt_value(argc, argv, &i, "--on-error"))) {
            if (strcmp(v, "fail") == 0)
                a->skip = 0;
            else if (strcmp(v, "skip") == 0)
                a->skip = 1;
            else
                return usage_error("--on-error wants fail or skip, not \"%s\"", v);
        } else if (strcmp(arg, "--se") == 0) {
            a->se = 1;
        } else if (strcmp(arg, "--no-top-features") == 0) {
            a->no_top = 1;
        } else if ((v = opt_value(argc, argv, &i, "--delimiter"))) {
            if (!parse_delim(v, &a->delim))
                return usage_error("--delimiter wants one character (or \\t), not \"%s\"", v);
        } else if ((v = opt_value(argc, argv, &i, "--threads"))) {
            if (!parse_count(v, 1, 1024, &n))
                return usage_error("--threads wants an integer 1..1024, not \"%s\"", v);
            a->threads = (int)n;
        } else if ((v = opt_value(argc, argv, &i, "--chunk-rows"))) {
            /* Undocumented in --help: tests use small chunks to cross chunk
             * boundaries on small inputs. */
            if (!parse_count(v, 1, 1L << 24, &n))
                return usage_error("--chunk-rows wants an integer 1..16777216, not \"%s\"", v);
            a->chunk_rows = (size_t)n;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return usage_error("unknown option \"%s\"", arg);
        } else {
            return usage_error("unexpected argument \"%s\"", arg);
        }
    }
    if (!a->model_dir)
        return usage_error("%s", "--model DIR is required");
    return 0;
}

/* ---- output ---------------------------------------------------------------- */

struct sbuf {
    char *s;
    size_t len, cap;
};

static int sb_reserve(struct sbuf *b, size_t n)
{
    if (b->cap - b->len < n + 1) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        char *p;
        while (cap - b->len < n + 1)
            cap *= 2;
        p = realloc(b->s, cap);
        if (!p)
            return 0;
        b->s = p;
        b->cap = cap;
    }
    return 1;
}

static int sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (!sb_reserve(b, n))
        return 0;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    return 1;
}

static int sb_str(struct sbuf *b, const char *s)
{
    return sb_add(b, s, strlen(s));
}

/* A double as %.17g (reads back to the same value). */
static int sb_num(struct sbuf *b, double x)
{
    if (!sb_reserve(b, 32))
        return 0;
    b->len += (size_t)snprintf(b->s + b->len, 32, "%.17g", x);
    return 1;
}

/* One CSV field, quoted (RFC 4180) when it holds the delimiter, a quote, a
 * line break, or blanks at either end a reader would strip. */
static int sb_csv_field(struct sbuf *b, const char *s, size_t n)
{
    size_t k;
    int quote = n > 0 && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t');

    for (k = 0; k < n && !quote; k++)
        quote = s[k] == ',' || s[k] == '"' || s[k] == '\n' || s[k] == '\r';
    if (!quote)
        return sb_add(b, s, n);
    if (!sb_add(b, "\"", 1))
        return 0;
    for (k = 0; k < n; k++)
        if ((s[k] == '"' && !sb_add(b, "\"", 1)) || !sb_add(b, s + k, 1))
            return 0;
    return sb_add(b, "\"", 1);
}

/* A JSON string literal (RFC 8259 escapes). */
static int sb_json_str(struct sbuf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    if (!sb_add(b, "\"", 1))
        return 0;
    for (; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            if (!sb_add(b, esc, 2))
                return 0;
        } else if (*p < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            if (!sb_add(b, esc, 6))
                return 0;
        } else if (!sb_add(b, (const char *)p, 1)) {
            return 0;
        }
    }
    return sb_add(b, "\"", 1);
}

struct out {
    const char *path;        /* NULL: stdout */
    char tmp[4096];
    FILE *fp;
};

static enum ml_status out_open(struct out *o, const char *path, struct ml_err *err)
{
    memset(o, 0, sizeof *o);
    if (strcmp(path, "-") == 0) {
        o->fp = stdout;
        return ML_OK;
    }
    o->path = path;
    fs_temp_name(path, o->tmp, sizeof o->tmp);
    fs_temp_register(o->tmp);
    o->fp = fopen(o->tmp, "w");
    if (!o->fp) {
        int e = errno;
        fs_abandon(o->tmp);
        ML_FAIL(err, ML_EIO, "cannot write %s: %s", path, strerror(e));
    }
    return ML_OK;
}

static enum ml_status out_write(struct out *o, const struct sbuf *b, struct ml_err *err)
{
    if (b->len && fwrite(b->s, 1, b->len, o->fp) != b->len)
        ML_FAIL(err, ML_EIO, "cannot write %s: %s", o->path ? o->path : "stdout",
                strerror(errno));
    return ML_OK;
}

/* Finish: flush, fsync and rename into place (ok), or remove (!ok). */
static enum ml_status out_close(struct out *o, int ok, struct ml_err *err)
{
    int e = 0, bad = 0;

    if (!o->fp)
        return ML_OK;
    if (!o->path) {
        o->fp = NULL;
        if (ok && fflush(stdout) != 0)
            ML_FAIL(err, ML_EIO, "cannot write stdout: %s", strerror(errno));
        return ML_OK;
    }
    if (ok && (fflush(o->fp) != 0 || (fsync(fileno(o->fp)) != 0 && errno != EINVAL))) {
        bad = 1;
        e = errno;
    }
    if (fclose(o->fp) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    o->fp = NULL;
    if (!ok || bad) {
        fs_abandon(o->tmp);
        if (ok)
            ML_FAIL(err, ML_EIO, "cannot write %s: %s", o->path, strerror(e));
        return ML_OK;
    }
    return fs_commit(o->tmp, o->path, err);
}

static void on_signal(int sig)
{
    fs_remove_temps_signal_safe();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* ---- rows ------------------------------------------------------------------ */

struct counts {
    unsigned long long in, out, skipped, no_prediction, anomalous;
};

static int header(struct sbuf *b, const struct model_dir *md, int se, int top, enum fmt f)
{
    const char *cols[9];
    int n = 0, k, ok = 1;

    if (f == FMT_JSONL)
        return 1;
    if (md->gam) {
        cols[n++] = "prediction";
        if (se) {
            cols[n++] = "se";
            cols[n++] = "lower";
            cols[n++] = "upper";
        }
    }
    if (md->forest) {
        cols[n++] = "score";
        cols[n++] = "is_anomaly";
        cols[n++] = "decision_function";
        if (top)
            cols[n++] = "top_features";
    }
    for (k = 0; k < n && ok; k++)
        ok = (k == 0 || sb_add(b, ",", 1)) && sb_str(b, cols[k]);
    return ok && sb_add(b, "\n", 1);
}

/* A number, or the missing marker ("" / null) when it is not finite. */
static int put_num(struct sbuf *b, double x, enum fmt f)
{
    if (isfinite(x))
        return sb_num(b, x);
    return f == FMT_CSV ? sb_add(b, "\"\"", 2) : sb_add(b, "null", 4);
}

/* Row i of the (compacted, scored) chunk. */
static enum ml_status format_row(struct sbuf *b, struct scorer *s, const struct rs_chunk *c,
                                 size_t i, enum fmt f, struct counts *cnt, struct ml_err *err)
{
    const struct model_dir *md = s->md;
    int ok = 1, sep = 0;

#define KEY(name) (f == FMT_JSONL ? sb_str(b, sep ? ",\"" name "\":" : "{\"" name "\":") \
                                  : (!sep || sb_add(b, ",", 1)))
    if (md->gam) {
        double fit = s->fit[i];
        cnt->no_prediction += !isfinite(fit);
        ok = KEY("prediction") && put_num(b, fit, f);
        sep = 1;
        if (s->want_se && ok)
            ok = KEY("se") && put_num(b, s->se[i], f) && KEY("lower") &&
                 put_num(b, s->lower[i], f) && KEY("upper") && put_num(b, s->upper[i], f);
    }
    if (md->forest && ok) {
        const struct iforest *fo = md->forest;
        double sc = s->score[i];
        int anom = iforest_is_anomaly(fo, sc);
        int top[SCORER_TOP], ntop = 0, k;
        double val[SCORER_TOP];

        cnt->anomalous += anom;
        ok = KEY("score") && sb_num(b, sc);
        sep = 1;
        ok = ok && KEY("is_anomaly") && sb_add(b, anom ? "1" : "0", 1) &&
             KEY("decision_function") && sb_num(b, iforest_decision(fo, sc));
        if (!s->with_top)
            goto row_end;
        ok = ok && KEY("top_features");
        if (ok && anom) {
            enum ml_status st = scorer_top_features(s, c, i, top, val, &ntop, err);
            if (st)
                return st;
        }
        if (ok && f == FMT_JSONL) {
            ok = sb_add(b, "[", 1);
            for (k = 0; k < ntop && ok; k++)
                ok = sb_str(b, k ? ",{\"feature\":" : "{\"feature\":") &&
                     sb_json_str(b, fo->feature_names[top[k]]) &&
                     sb_str(b, ",\"attribution\":") && sb_num(b, val[k]) && sb_add(b, "}", 1);
            ok = ok && sb_add(b, "]", 1);
        } else if (ok) {
            struct sbuf cell = {NULL, 0, 0};
            for (k = 0; k < ntop && ok; k++) {
                char num[40];
                int len = snprintf(num, sizeof num, ":%.4g", val[k]);
                ok = (k == 0 || sb_add(&cell, ";", 1)) &&
                     sb_str(&cell, fo->feature_names[top[k]]) &&
                     sb_add(&cell, num, (size_t)len);
            }
            ok = ok && sb_csv_field(b, cell.s ? cell.s : "", cell.len);
            free(cell.s);
        }
    }
row_end:
    ok = ok && (f == FMT_CSV || sb_add(b, "}", 1)) && sb_add(b, "\n", 1);
#undef KEY
    if (!ok)
        ML_FAIL(err, ML_ENOMEM, "out of memory formatting the output");
    return ML_OK;
}

/* Formatting a chunk: %.17g costs about as much as parsing, so with more
 * than one thread the rows are split into contiguous ranges, each formatted
 * into its own buffer (with its own counts), and the buffers are written in
 * order: the bytes are those of one thread. */
struct fmt_job {
    struct sbuf *b;
    struct scorer *s;
    const struct rs_chunk *c;
    size_t lo, hi;
    enum fmt f;
    struct counts cnt;
    enum ml_status st;
    struct ml_err err;
};

static void *fmt_job_run(void *arg)
{
    struct fmt_job *j = arg;
    size_t i;

    for (i = j->lo; i < j->hi && !j->st; i++)
        j->st = format_row(j->b, j->s, j->c, i, j->f, &j->cnt, &j->err);
    return NULL;
}

#define FMT_MAX_THREADS 16

/* Rows of chunk c into b (and, with threads > 1, into extra[0..] after it,
 * then appended to b in order); counts added to cnt. */
static enum ml_status format_chunk(struct sbuf *b, struct sbuf *extra, struct scorer *s,
                                   const struct rs_chunk *c, enum fmt f, int threads,
                                   struct counts *cnt, struct ml_err *err)
{
    struct fmt_job jobs[FMT_MAX_THREADS];
    pthread_t th[FMT_MAX_THREADS];
    int started[FMT_MAX_THREADS] = {0};
    size_t n = c->t->nrow, k, nt = threads < 1 ? 1 : (size_t)threads;
    enum ml_status st = ML_OK;

    if (nt > FMT_MAX_THREADS)
        nt = FMT_MAX_THREADS;
    if (n < 4096)
        nt = 1;
    for (k = 0; k < nt; k++) {
        jobs[k].b = k == 0 ? b : &extra[k - 1];
        jobs[k].s = s;
        jobs[k].c = c;
        jobs[k].lo = n * k / nt;
        jobs[k].hi = n * (k + 1) / nt;
        jobs[k].f = f;
        memset(&jobs[k].cnt, 0, sizeof jobs[k].cnt);
        jobs[k].st = ML_OK;
        ml_err_clear(&jobs[k].err);
        if (k > 0)
            extra[k - 1].len = 0;
    }
    for (k = 1; k < nt; k++)
        started[k] = pthread_create(&th[k], NULL, fmt_job_run, &jobs[k]) == 0;
    fmt_job_run(&jobs[0]);
    for (k = 1; k < nt; k++) {
        if (started[k])
            pthread_join(th[k], NULL);
        else
            fmt_job_run(&jobs[k]);
    }
    for (k = 0; k < nt; k++) {
        if (jobs[k].st && !st) {
            st = jobs[k].st;
            *err = jobs[k].err;
        }
        cnt->no_prediction += jobs[k].cnt.no_prediction;
        cnt->anomalous += jobs[k].cnt.anomalous;
        if (k > 0 && !st && !sb_add(b, extra[k - 1].s, extra[k - 1].len))
            st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory formatting the output");
    }
    return st;
}

/* ---- the command ----------------------------------------------------------- */

struct input {
    struct csv_stream *csv;
    struct jsonl_stream *jsonl;
};

static enum ml_status input_next(struct input *in, struct rs_chunk *c, struct ml_err *err)
{
    return in->csv ? csv_stream_next(in->csv, c, err) : jsonl_stream_next(in->jsonl, c, err);
}

/* Read-ahead: with more than one thread, a reader thread parses chunk k + 1
 * while the caller scores and writes chunk k (two chunks in turn), so the
 * time is about max(parse, score + write) instead of their sum.  The
 * stream is only touched by the reader thread; the chunks change hands
 * under the mutex.  Memory: two chunks. */
struct prefetch {
    struct input *in;
    int threaded, started;
    struct rs_chunk ch[2];
    int ready[2];                 /* filled by the reader, not yet released */
    enum ml_status st[2];
    struct ml_err err[2];
    int stop;                     /* the consumer gave up: the reader ends */
    int cur;                      /* the chunk the consumer holds next */
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static void *prefetch_run(void *arg)
{
    struct prefetch *pf = arg;
    int k = 0;

    for (;;) {
        int last;
        pthread_mutex_lock(&pf->mu);
        while (pf->ready[k] && !pf->stop)
            pthread_cond_wait(&pf->cv, &pf->mu);
        if (pf->stop) {
            pthread_mutex_unlock(&pf->mu);
            break;
        }
        pthread_mutex_unlock(&pf->mu);
        pf->st[k] = input_next(pf->in, &pf->ch[k], &pf->err[k]);
        last = pf->st[k] || pf->ch[k].t->nrow == 0;
        pthread_mutex_lock(&pf->mu);
        pf->ready[k] = 1;
        pthread_cond_broadcast(&pf->cv);
        pthread_mutex_unlock(&pf->mu);
        if (last)
            break;
        k ^= 1;
    }
    return NULL;
}

static void prefetch_init(struct prefetch *pf, struct input *in, int threads)
{
    memset(pf, 0, sizeof *pf);
    pf->in = in;
    rs_chunk_init(&pf->ch[0]);
    rs_chunk_init(&pf->ch[1]);
    pthread_mutex_init(&pf->mu, NULL);
    pthread_cond_init(&pf->cv, NULL);
    pf->threaded = threads > 1 && pthread_create(&pf->th, NULL, prefetch_run, pf) == 0;
    pf->started = pf->threaded;
}

/* The next chunk (nrow 0 at the end); valid until prefetch_release. */
static enum ml_status prefetch_next(struct prefetch *pf, struct rs_chunk **out,
                                    struct ml_err *err)
{
    int k = pf->cur;

    if (!pf->threaded) {
        *out = &pf->ch[0];
        return input_next(pf->in, &pf->ch[0], err);
    }
    pthread_mutex_lock(&pf->mu);
    while (!pf->ready[k])
        pthread_cond_wait(&pf->cv, &pf->mu);
    pthread_mutex_unlock(&pf->mu);
    *out = &pf->ch[k];
    if (pf->st[k])
        *err = pf->err[k];
    return pf->st[k];
}

static void prefetch_release(struct prefetch *pf)
{
    if (!pf->threaded)
        return;
    pthread_mutex_lock(&pf->mu);
    pf->ready[pf->cur] = 0;
    pthread_cond_broadcast(&pf->cv);
    pthread_mutex_unlock(&pf->mu);
    pf->cur ^= 1;
}

static void prefetch_end(struct prefetch *pf)
{
    if (pf->started) {
        pthread_mutex_lock(&pf->mu);
        pf->stop = 1;
        pthread_cond_broadcast(&pf->cv);
        pthread_mutex_unlock(&pf->mu);
        pthread_join(pf->th, NULL);
    }
    pthread_mutex_destroy(&pf->mu);
    pthread_cond_destroy(&pf->cv);
    rs_chunk_free(&pf->ch[0]);
    rs_chunk_free(&pf->ch[1]);
}

/* Report or fail on the bad rows of c, then drop them.  Shared with
 * cmd_compare through the same logic there. */
static enum ml_status handle_bad(struct rs_chunk *c, int skip, const char *input,
                                 struct counts *cnt, struct ml_err *err)
{
    size_t i;

    if (!c->nbad)
        return ML_OK;
    for (i = 0; i < c->t->nrow; i++) {
        if (!c->bad[i])
            continue;
        if (!skip)
            ML_FAIL(err, ML_EDOM, "%s: %s (--on-error=skip leaves such rows out)", input,
                    c->bad[i]);
        fprintf(stderr, "plantfit predict: skipped %s: %s\n", input, c->bad[i]);
        cnt->skipped++;
    }
    rs_chunk_compact(c, NULL);
    return ML_OK;
}

int cmd_predict(int argc, char **argv)
{
    struct predict_args a;
    struct model_dir md;
    struct colset cs = {NULL, 0, 0};
    struct scorer sc;
    struct input in = {NULL, NULL};
    struct prefetch pf;
    struct out o;
    struct sbuf b = {NULL, 0, 0}, fmt_extra[FMT_MAX_THREADS - 1];
    struct counts cnt;
    struct ml_err err;
    enum ml_status st;
    const char *in_path, *in_name;
    size_t i;
    int rc, out_opened = 0, have_md = 0, have_sc = 0, have_pf = 0;

    memset(&a, 0, sizeof a);
    memset(&cnt, 0, sizeof cnt);
    memset(&o, 0, sizeof o);
    memset(fmt_extra, 0, sizeof fmt_extra);
    ml_err_clear(&err);
    rc = parse_args(argc, argv, &a);
    if (rc)
        return rc == 1 ? 0 : 2;
    /* HDF5 1.10.8 leaks the metadata-cache entry of an object header it
     * fails to decode (tests/lsan.supp) and its exit handler then prints
     * "HDF5: infinite loop closing library" under our message; the process
     * is about to exit anyway, so skip that cleanup. */
    H5dont_atexit();
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    in_path = strcmp(a.input, "-") == 0 ? "/dev/stdin" : a.input;
    in_name = strcmp(a.input, "-") == 0 ? "stdin" : a.input;

    st = model_dir_load(a.model_dir, &md, &err);
    if (st)
        goto fail;
    have_md = 1;
    if (md.note[0])
        fprintf(stderr, "plantfit predict: note: %s\n", md.note);
    st = colset_add_models(&cs, &md, &err);
    if (!st)
        st = scorer_init(&sc, &md, a.se, a.threads, &err);
    if (st)
        goto fail;
    have_sc = 1;
    sc.with_top = !a.no_top;   /* top features of anomalous rows, on all threads */
    if (a.se && !md.gam)
        fprintf(stderr, "plantfit predict: note: --se applies to a GAM; %s has none\n",
                a.model_dir);
    if (a.in_format == FMT_CSV)
        st = csv_stream_open(&in.csv, in_path, a.delim, cs.v, cs.n, a.chunk_rows, &err);
    else
        st = jsonl_stream_open(&in.jsonl, in_path, cs.v, cs.n, a.chunk_rows, &err);
    if (st) {
        if (st == ML_EDOM && a.in_format == FMT_CSV)
            ml_err_prefix(&err, "the models in %s need columns the input lacks: ", a.model_dir);
        goto fail;
    }
    st = out_open(&o, a.output, &err);
    if (st)
        goto fail;
    out_opened = 1;
    if (!header(&b, &md, a.se, !a.no_top, a.out_format)) {
        st = ml_fail(&err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
        goto fail;
    }
    prefetch_init(&pf, &in, a.threads);
    have_pf = 1;
    for (;;) {
        struct rs_chunk *ch;

        st = prefetch_next(&pf, &ch, &err);
        if (st)
            goto fail;
        if (ch->t->nrow == 0)
            break;
        cnt.in += ch->t->nrow;
        if (!scorer_check(&sc, ch, "")) {
            st = ml_fail(&err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
            goto fail;
        }
        st = handle_bad(ch, a.skip, in_name, &cnt, &err);
        if (!st)
            st = scorer_run(&sc, ch, &err);
        if (!st)
            st = format_chunk(&b, fmt_extra, &sc, ch, a.out_format, a.threads, &cnt, &err);
        if (!st)
            st = out_write(&o, &b, &err);
        if (st)
            goto fail;
        cnt.out += ch->t->nrow;
        b.len = 0;
        prefetch_release(&pf);
    }
    if (cnt.in == 0) {
        st = ml_fail(&err, ML_EFORMAT, __FILE__, __LINE__, "%s: no data rows%s", in_name,
                     a.in_format == FMT_CSV ? " after the header" : " (no JSON lines)");
        goto fail;
    }
    st = out_write(&o, &b, &err);
    if (!st)
        st = out_close(&o, 1, &err);
    if (st)
        goto fail;
    fprintf(stderr, "plantfit predict: %s -> %s: %llu rows in, %llu written", in_name,
            o.path ? o.path : "stdout", cnt.in, cnt.out);
    if (cnt.skipped)
        fprintf(stderr, ", %llu skipped", cnt.skipped);
    if (md.gam)
        fprintf(stderr, ", %llu without a prediction", cnt.no_prediction);
    if (md.forest)
        fprintf(stderr, ", %llu anomalous", cnt.anomalous);
    fprintf(stderr, "\n");
    rc = 0;
    goto done;
fail:
    if (out_opened)
        out_close(&o, 0, NULL);
    fprintf(stderr, "plantfit predict: %s\n", err.msg);
    if (out_opened && !o.path && cnt.out > 0)
        fprintf(stderr, "plantfit predict: the output on stdout is incomplete (%llu rows "
                "written before the error)\n", cnt.out);
    rc = 1;
done:
    free(b.s);
    for (i = 0; i < FMT_MAX_THREADS - 1; i++)
        free(fmt_extra[i].s);
    if (have_pf)
        prefetch_end(&pf);
    csv_stream_close(in.csv);
    jsonl_stream_close(in.jsonl);
    if (have_sc)
        scorer_free(&sc);
    colset_free(&cs);
    if (have_md)
        model_dir_free(&md);
    return rc;
}
