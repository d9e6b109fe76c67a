/* cmd_predict.c: `plantfit predict --model DIR --input FILE.csv --output FILE.csv`,
 * batch predictions from a trained GAM, anomaly scores from a trained
 * Isolation Forest, or both side by side.
 *
 * DIR is a model directory: it holds gam.h5 (the file GAM training writes;
 * io/hdf5/gam_h5.h), iforest.h5 (an Isolation Forest; io/hdf5/iforest_h5.h)
 * or both.  The input CSV (plain or gzip) needs a header row naming at least
 * every variable the models use; other columns are ignored.  The output has
 * one row per input row and the columns
 *   prediction     (gam.h5) the GAM's fitted mean on the response scale
 *                  (gam_predict, GAM_PRED_RESPONSE) as %.17g, so the text
 *                  reads back to the same double;
 *   score          (iforest.h5) the paper's anomaly score s in (0, 1)
 *                  (iforest_score), %.17g;
 *   is_anomaly     1 if score > the forest's stored threshold, else 0;
 *   top_features   for anomalous rows, the (up to) three features with the
 *                  largest positive attribution (iforest_explain) as
 *                  "name:value;name:value" (values %.4g, largest first);
 *                  empty for the other rows;
 * in that order, so with both models the anomaly flag sits beside the GAM's
 * prediction.  A feature column of the forest missing from the input is an
 * error naming it.
 *
 * Columns the models do not read as numbers may hold anything (an ID, a
 * date): the header of a regular file is read first and every such column
 * is read as categorical text, so its cells are never parsed as numbers.  (A
 * FIFO cannot be read twice; there every column must be what the models
 * expect or numeric.)
 *
 * Factor variables: the model keeps each factor's level names.  A factor
 * whose names are all numbers in the canonical form gam_setup gives the
 * levels of factor(<numeric column>) ("%.15g": "1", "2.5", "-3") is read as
 * a numeric column, so "1", "1.0" and "1e0" in the input are all level "1",
 * as they were at training.  Any other factor is read as categorical text
 * and matched by name.  A level the model was not trained on is an error
 * naming the row, the variable and the value.
 *
 * Missing values.  GAM: a row with a missing value in a variable the model
 * uses gets no prediction: its cell is written as `""`, the empty field of
 * RFC 4180.  A bare empty line would be the obvious spelling, but CSV
 * readers (ours, pandas) skip blank lines, which would shift every later
 * row.  Isolation Forest: with the forest's missing policy "fail" a missing
 * feature value is an error naming the row and the feature; with "divide"
 * the row is scored (both branches of a split on it, weighted).
 *
 * The output is written under a temporary name next to FILE.csv, flushed
 * and renamed into place, so a failure never leaves a partial file.
 *
 * Exit status: 0 done, 1 failed ("plantfit predict: <message>" on stderr),
 * 2 usage error. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "commands.h"
#include "csv/csv_read.h"
#include "fsutil.h"
#include "hdf5/gam_h5.h"
#include "hdf5/iforest_h5.h"
#include "ml_table.h"
#include "source/source.h"

#define PREDICT_GAM_FILE "gam.h5"
#define PREDICT_IFOREST_FILE "iforest.h5"
#define PREDICT_LIST_MAX 20            /* directory entries named when both are missing */
#define PREDICT_HEADER_MAX (16u << 20) /* bytes read looking for the header record */
#define PREDICT_HEADER_COLS 10000      /* csv_options' default max_cols */
#define PREDICT_SCORE_CELLS (1u << 22) /* feature values copied per iforest_score call:
                                          32 MiB of doubles, whatever the input's size */
#define PREDICT_TOP 3                  /* features named in top_features */

struct predict_args {
    const char *model_dir;
    const char *input;
    const char *output;
    char delim;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: plantfit predict --model DIR --input FILE.csv --output FILE.csv\n"
            "                        [--delimiter C]\n"
            "\n"
            "Scores every row of the input CSV with the models in DIR (the model\n"
            "directory of a training run): the GAM in DIR/" PREDICT_GAM_FILE
            ", the Isolation Forest in\n"
            "DIR/" PREDICT_IFOREST_FILE
            ", or both.  The input needs a header row naming the models'\n"
            "variables (other columns are ignored).  The output CSV has one row per input\n"
            "row and, in this order, the columns\n"
            "  prediction     (GAM) the fitted mean on the response scale as %%.17g, or \"\"\n"
            "                 where a variable the model uses is missing\n"
            "  score          (forest) the anomaly score s in (0, 1) as %%.17g\n"
            "  is_anomaly     (forest) 1 if score > the forest's threshold, else 0\n"
            "  top_features   (forest) anomalous rows: the up to 3 features that shortened\n"
            "                 the row's paths most, as name:value;name:value\n"
            "\n"
            "  --model DIR        directory holding " PREDICT_GAM_FILE " and/or "
            PREDICT_IFOREST_FILE "\n"
            "  --input FILE       CSV to predict for (plain or gzip)\n"
            "  --output FILE      CSV to write (replaced atomically)\n"
            "  --delimiter C      input field delimiter (one character, or \\t / tab); default ,\n"
            "  --help             this text\n"
            "\n"
            "Exit status: 0 done, 1 prediction failed, 2 usage error.\n");
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
    /* A quote or line end cannot separate fields in RFC 4180 CSV. */
    if (strlen(v) != 1 || v[0] == '"' || v[0] == '\n' || v[0] == '\r')
        return 0;
    *out = v[0];
    return 1;
}

/* Value of an option given as "--name value" or "--name=value"; advances *i.
 * NULL if argv[*i] is not this option; "" if its value is missing. */
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

/* 0 parsed, 1 --help shown, 2 usage error already reported. */
static int parse_args(int argc, char **argv, struct predict_args *a)
{
    const char *v;
    int i;

    a->delim = ',';
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
                return usage_error("%s", "--input wants a file name");
            a->input = v;
        } else if ((v = opt_value(argc, argv, &i, "--output"))) {
            if (!*v)
                return usage_error("%s", "--output wants a file name");
            a->output = v;
        } else if ((v = opt_value(argc, argv, &i, "--delimiter"))) {
            if (!parse_delim(v, &a->delim))
                return usage_error("--delimiter wants one character (or \\t), not \"%s\"", v);
        } else if (arg[0] == '-') {
            return usage_error("unknown option \"%s\"", arg);
        } else {
            return usage_error("unexpected argument \"%s\"", arg);
        }
    }
    if (!a->model_dir)
        return usage_error("%s", "--model DIR is required");
    if (!a->input)
        return usage_error("%s", "--input FILE is required");
    if (!a->output)
        return usage_error("%s", "--output FILE is required");
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "a.json, b.txt, ..." : up to PREDICT_LIST_MAX visible entries of dir,
 * sorted, into buf. */
static void list_dir(const char *dir, char *buf, size_t cap)
{
    char *names[PREDICT_LIST_MAX];
    size_t n = 0, more = 0, len = 0, i;
    struct dirent *e;
    DIR *d = opendir(dir);

    buf[0] = '\0';
    if (!d) {
        snprintf(buf, cap, "cannot list it: %s", strerror(errno));
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n < PREDICT_LIST_MAX && (names[n] = strdup(e->d_name)) != NULL)
            n++;
        else
            more++;
    }
    closedir(d);
    if (n == 0) {
        snprintf(buf, cap, "it is empty");
        return;
    }
    qsort(names, n, sizeof names[0], cmp_name);
    len = (size_t)snprintf(buf, cap, "it holds: ");
    for (i = 0; i < n; i++) {
        if (len < cap)
            len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", names[i]);
        free(names[i]);
    }
    if (more && len < cap)
        snprintf(buf + len, cap - len, " and %zu more", more);
}

/* 1 if s is the canonical text ("%.15g") of a finite number: how gam_setup
 * names the levels of factor(<numeric column>). */
static int is_numeric_level(const char *s)
{
    char buf[64];
    double x;

    if (!csv_parse_double(s, strlen(s), &x) || !isfinite(x))
        return 0;
    snprintf(buf, sizeof buf, "%.15g", x);
    return strcmp(buf, s) == 0;
}

/* 1 if the model reads column `name` as numbers: a numeric variable, or a
 * factor whose levels are all canonical numbers. */
static int model_numeric(const struct gam_model *m, const char *name)
{
    size_t v, l;

    for (v = 0; v < m->nvars; v++) {
        const struct gam_var *gv = &m->vars[v];
        int numeric = 1;

        if (strcmp(gv->name, name) != 0)
            continue;
        for (l = 0; gv->is_factor && l < gv->nlevels && numeric; l++)
            numeric = is_numeric_level(gv->levels[l]);
        if (numeric)
            return 1;
    }
    return 0;
}

struct names {
    char **v;
    size_t n, cap;
};

static void names_free(struct names *nm)
{
    size_t i;

    for (i = 0; i < nm->n; i++)
        free(nm->v[i]);
    free(nm->v);
    memset(nm, 0, sizeof *nm);
}

static int names_push(struct names *nm, const char *s, size_t len)
{
    if (nm->n == nm->cap) {
        size_t nc = nm->cap ? 2 * nm->cap : 16;
        char **v = realloc(nm->v, nc * sizeof *v);

        if (!v)
            return 0;
        nm->v = v;
        nm->cap = nc;
    }
    nm->v[nm->n] = strndup(s, len);
    return nm->v[nm->n] ? (nm->n++, 1) : 0;
}

/* Parse the header record at the start of buf[0, len) as csv_read does: a
 * UTF-8 byte-order mark and blank lines skipped, RFC 4180 quotes ("" inside
 * a quoted field), spaces and tabs around unquoted fields dropped.  Returns
 * 1 with the names in *nm, 0 if the record is not complete yet (more bytes
 * are needed unless at_eof), -1 if it is malformed (csv_read will say
 * why). */
static int parse_header(const char *buf, size_t len, char delim, int at_eof, struct names *nm)
{
    size_t i = 0, start, end;
    char *field = NULL;

#define IS_BLANK(c) (((c) == ' ' || (c) == '\t') && (c) != delim)
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    for (;;) { /* skip blank lines */
        size_t j = i;

        while (j < len && IS_BLANK(buf[j]))
            j++;
        if (j == len)
            return at_eof ? -1 : 0;
        if (buf[j] != '\n' && buf[j] != '\r')
            break;
        i = j + 1;
    }
    for (;;) {
        while (i < len && IS_BLANK(buf[i]))
            i++;
        if (i < len && buf[i] == '"') {
            size_t fl = 0;

            free(field);
            field = malloc(len - i);
            if (!field)
                return -1;
            for (i++;; i++) {
                if (i >= len) {
                    free(field);
                    return at_eof ? -1 : 0;
                }
                if (buf[i] == '"') {
                    if (i + 1 >= len && !at_eof) {
                        free(field);
                        return 0;
                    }
                    if (i + 1 < len && buf[i + 1] == '"') {
                        field[fl++] = '"';
                        i++;
                        continue;
                    }
                    i++;
                    break;
                }
                field[fl++] = buf[i];
            }
            while (i < len && IS_BLANK(buf[i]))
                i++;
            if (!names_push(nm, field, fl)) {
                free(field);
                return -1;
            }
            free(field);
            field = NULL;
        } else {
            start = i;
            while (i < len && buf[i] != delim && buf[i] != '\n' && buf[i] != '\r' &&
                   buf[i] != '"')
                i++;
            if (i < len && buf[i] == '"')
                return -1;
            end = i;
            while (end > start && IS_BLANK(buf[end - 1]))
                end--;
            if (!names_push(nm, buf + start, end - start))
                return -1;
        }
        if (nm->n > PREDICT_HEADER_COLS)
            return -1;
        if (i >= len)
            return at_eof ? 1 : 0;
        if (buf[i] == delim) {
            i++;
            continue;
        }
        if (buf[i] == '\n' || buf[i] == '\r')
            return 1;
        return -1;
    }
#undef IS_BLANK
}

/* The column names of the input's header, when the input is a regular file
 * (plain or gzip) whose header can be read; otherwise none (nm->n = 0) and
 * csv_read_file reports whatever is wrong. */
static void peek_header(const char *path, char delim, struct names *nm)
{
    struct source *src = NULL;
    struct ml_err e;
    struct stat sb;
    char *buf = NULL;
    size_t len = 0, cap = 0, got;
    int done = 0;

    memset(nm, 0, sizeof *nm);
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || source_open(&src, path, &e) != ML_OK)
        return;
    while (!done && len < PREDICT_HEADER_MAX) {
        if (cap - len < 65536) {
            char *nb = realloc(buf, cap + (1u << 20));

            if (!nb)
                break;
            buf = nb;
            cap += 1u << 20;
        }
        if (source_read(src, buf + len, cap - len, &got, &e) != ML_OK)
            break;
        len += got;
        names_free(nm);
        done = parse_header(buf, len, delim, got == 0, nm);
        if (done == 0 && got == 0)
            done = -1;
    }
    if (done != 1)
        names_free(nm);
    free(buf);
    source_close(src);
}

/* Index of the forest's feature called `name`, or -1 (also without a forest). */
static int forest_feature(const struct iforest *f, const char *name)
{
    int j;

    for (j = 0; f && j < f->d; j++)
        if (strcmp(f->feature_names[j], name) == 0)
            return j;
    return -1;
}

/* Columns to read as categorical text: the GAM's factors with non-numeric
 * levels, and every input column that neither model reads as numbers.  A
 * column cannot be both a text factor of the GAM and a feature of the
 * forest (which needs numbers). */
static enum ml_status categorical_columns(const struct gam_model *m, const struct iforest *f,
                                          const struct names *hdr, const char ***out,
                                          size_t *n, struct ml_err *err)
{
    size_t nvars = m ? m->nvars : 0, v, j, k;
    const char **cat = calloc(nvars + hdr->n + 1, sizeof *cat);

    *out = NULL;
    *n = 0;
    if (!cat)
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    for (v = 0; v < nvars; v++) {
        const char *name = m->vars[v].name;

        if (!m->vars[v].is_factor || model_numeric(m, name))
            continue;
        if (forest_feature(f, name) >= 0) {
            free(cat);
            ML_FAIL(err, ML_EINVAL,
                    "column \"%s\" is a factor with text levels in the GAM (" PREDICT_GAM_FILE
                    ") but a numeric feature of the Isolation Forest (" PREDICT_IFOREST_FILE
                    "); the two models cannot share it", name);
        }
        cat[(*n)++] = name;
    }
    for (j = 0; j < hdr->n; j++) {
        int skip = (m && model_numeric(m, hdr->v[j])) || forest_feature(f, hdr->v[j]) >= 0;

        for (k = 0; k < *n && !skip; k++)
            skip = strcmp(cat[k], hdr->v[j]) == 0;
        if (!skip)
            cat[(*n)++] = hdr->v[j];
    }
    *out = cat;
    return ML_OK;
}

/* 1 if `path` exists, or cannot be looked at for a reason other than its
 * absence (the model reader then reports that reason). */
static int present(const char *path)
{
    struct stat sb;

    return stat(path, &sb) == 0 || errno != ENOENT;
}

/* Load DIR/gam.h5 and DIR/iforest.h5, whichever exist (at least one), or
 * explain what DIR holds instead. */
static enum ml_status load_models(const char *dir, struct gam_model **m, struct iforest **f,
                                  struct ml_err *err)
{
    char gam_path[4096], forest_path[4096], listing[1024];
    enum ml_status st;
    struct stat sb;
    int has_gam, has_forest;

    *m = NULL;
    *f = NULL;
    if (stat(dir, &sb) != 0)
        ML_FAIL(err, ML_EIO, "--model %s: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        ML_FAIL(err, ML_EINVAL, "--model %s: not a directory (give the model directory that "
                "holds " PREDICT_GAM_FILE " or " PREDICT_IFOREST_FILE ")", dir);
    if ((size_t)snprintf(gam_path, sizeof gam_path, "%s/%s", dir, PREDICT_GAM_FILE) >=
            sizeof gam_path ||
        (size_t)snprintf(forest_path, sizeof forest_path, "%s/%s", dir, PREDICT_IFOREST_FILE) >=
            sizeof forest_path)
        ML_FAIL(err, ML_EINVAL, "--model %s: path too long", dir);
    has_gam = present(gam_path);
    has_forest = present(forest_path);
    if (!has_gam && !has_forest) {
        list_dir(dir, listing, sizeof listing);
        ML_FAIL(err, ML_EIO, "--model %s: no " PREDICT_GAM_FILE " or " PREDICT_IFOREST_FILE
                " there (%s)", dir, listing);
    }
    if (has_gam) {
        st = gam_h5_read(gam_path, m, err);
        if (st)
            return st;
    }
    if (has_forest) {
        st = iforest_h5_read(forest_path, f, err);
        if (st) {
            gam_model_free(*m);
            *m = NULL;
            return st;
        }
    }
    return ML_OK;
}

/* cols[j] = the input column of the forest's feature j; an error names the
 * first feature the input lacks. */
static enum ml_status forest_columns(const struct iforest *f, const struct ml_table *t,
                                     const char *input, size_t *cols, struct ml_err *err)
{
    int j;

    for (j = 0; j < f->d; j++) {
        long c = ml_table_find(t, f->feature_names[j]);

        if (c < 0)
            ML_FAIL(err, ML_EDOM,
                    "%s: no column \"%s\", a feature of the Isolation Forest (" PREDICT_IFOREST_FILE
                    ")", input, f->feature_names[j]);
        if (t->col[c].type != ML_COL_NUMERIC)
            ML_FAIL(err, ML_EDOM,
                    "%s: column \"%s\" was read as text, but the Isolation Forest ("
                    PREDICT_IFOREST_FILE ") needs numbers there", input, f->feature_names[j]);
        cols[j] = (size_t)c;
    }
    return ML_OK;
}

/* With missing = fail, the first row (and its first feature) with a missing
 * value is an error.  Checked here rather than left to iforest_score, which
 * sees the rows a block at a time and would number them within the block. */
static enum ml_status forest_check_missing(const struct iforest *f, const struct ml_table *t,
                                           const size_t *cols, const char *input,
                                           struct ml_err *err)
{
    size_t i, row = t->nrow;
    int j, feature = -1;

    if (f->missing != IFOREST_MISSING_FAIL)
        return ML_OK;
    /* Column by column (each is contiguous); a later column only matters if
     * its first missing value comes in an earlier row. */
    for (j = 0; j < f->d; j++) {
        const double *v = t->col[cols[j]].v;

        for (i = 0; i < row; i++)
            if (!isfinite(v[i])) {
                row = i;
                feature = j;
                break;
            }
    }
    if (feature >= 0)
        ML_FAIL(err, ML_EDOM,
                "%s: row %zu, feature \"%s\": the value is missing, and the Isolation Forest ("
                PREDICT_IFOREST_FILE ") was trained with missing = fail", input, row + 1,
                f->feature_names[feature]);
    return ML_OK;
}

/* Scores of every row into score[0, t->nrow).  iforest_score wants the
 * features column-major from one base pointer; the table's columns are
 * separate arrays, so the rows are copied a block at a time (at most
 * PREDICT_SCORE_CELLS values), which bounds the extra memory whatever the
 * input's size.  A row's score does not depend on the other rows in its
 * call, so the blocks change nothing in the result. */
static enum ml_status forest_score(const struct iforest *f, const struct ml_table *t,
                                   const size_t *cols, int threads, double *score,
                                   struct ml_err *err)
{
    size_t d = (size_t)f->d, n = t->nrow, block = PREDICT_SCORE_CELLS / d, r0, m, j;
    enum ml_status st = ML_OK;
    double *x;

    if (block < 1)
        block = 1;
    if (block > n)
        block = n ? n : 1;
    x = malloc(block * d * sizeof *x);
    if (!x)
        ML_FAIL(err, ML_ENOMEM, "out of memory scoring %zu rows of %zu features", block, d);
    for (r0 = 0; r0 < n && !st; r0 += m) {
        m = n - r0 < block ? n - r0 : block;
        for (j = 0; j < d; j++)
            memcpy(x + j * m, t->col[cols[j]].v + r0, m * sizeof *x);
        st = iforest_score(f, x, m, m, score + r0, threads, err);
    }
    free(x);
    return st;
}

/* A growing string. */
struct sbuf {
    char *s;
    size_t len, cap;
};

static int sbuf_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->cap - b->len <= n) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;

        while (cap - b->len <= n)
            cap *= 2;
        p = realloc(b->s, cap);
        if (!p)
            return 0;
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 1;
}

/* top_features of row i into *out: "name:value;..." for the (up to)
 * PREDICT_TOP features with the largest positive attribution, largest first
 * (the lower feature index first on a tie); "" if none is positive.  xr and
 * attr are scratch space of d doubles each. */
static enum ml_status top_features(const struct iforest *f, const struct ml_table *t,
                                   const size_t *cols, size_t i, double *xr, double *attr,
                                   struct sbuf *out, struct ml_err *err)
{
    int top[PREDICT_TOP], ntop = 0, j, k;
    enum ml_status st;

    for (j = 0; j < f->d; j++)
        xr[j] = t->col[cols[j]].v[i];
    st = iforest_explain(f, xr, 1, 1, attr, err);
    if (st)
        return st;
    for (k = 0; k < PREDICT_TOP; k++) {
        int best = -1, q, taken;

        for (j = 0; j < f->d; j++) {
            if (!(attr[j] > 0.0) || (best >= 0 && !(attr[j] > attr[best])))
                continue;
            for (taken = 0, q = 0; q < ntop && !taken; q++)
                taken = top[q] == j;
            if (!taken)
                best = j;
        }
        if (best < 0)
            break;
        top[ntop++] = best;
    }
    out->len = 0;
    if (!sbuf_add(out, "", 0))
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    for (k = 0; k < ntop; k++) {
        char num[40];
        const char *name = f->feature_names[top[k]];
        int len = snprintf(num, sizeof num, ":%.4g", attr[top[k]]);

        if ((k > 0 && !sbuf_add(out, ";", 1)) || !sbuf_add(out, name, strlen(name)) ||
            !sbuf_add(out, num, (size_t)len))
            ML_FAIL(err, ML_ENOMEM, "out of memory");
    }
    return ML_OK;
}

/* One CSV field, quoted (RFC 4180) when it holds a comma, a quote, a line
 * break, or leading or trailing blanks a reader would strip.  Feature names
 * come from the model file and may hold any of these. */
static int put_field(FILE *fp, const char *s, size_t n)
{
    size_t k;
    int quote = n > 0 && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t');

    for (k = 0; k < n && !quote; k++)
        quote = s[k] == ',' || s[k] == '"' || s[k] == '\n' || s[k] == '\r';
    if (!quote)
        return fwrite(s, 1, n, fp) == n ? 0 : -1;
    if (fputc('"', fp) == EOF)
        return -1;
    for (k = 0; k < n; k++)
        if ((s[k] == '"' && fputc('"', fp) == EOF) || fputc(s[k], fp) == EOF)
            return -1;
    return fputc('"', fp) == EOF ? -1 : 0;
}

/* Write the output to `path` through a temporary file: the GAM's
 * predictions `fit` (or NULL), then the forest's columns (f NULL: none).
 * *n_anomalous counts the rows flagged. */
static enum ml_status write_output(const char *path, const struct ml_table *t, const double *fit,
                                   const struct iforest *f, const double *score,
                                   const size_t *cols, size_t *n_anomalous, struct ml_err *err)
{
    enum ml_status st = ML_OK;
    struct sbuf top = {NULL, 0, 0};
    double *xr = NULL, *attr = NULL;
    char tmp[4096];
    FILE *fp;
    size_t i;
    int bad, e = 0;

    *n_anomalous = 0;
    if (f) {
        xr = malloc((size_t)f->d * sizeof *xr);
        attr = malloc((size_t)f->d * sizeof *attr);
        if (!xr || !attr) {
            free(xr);
            free(attr);
            ML_FAIL(err, ML_ENOMEM, "out of memory for %d features", f->d);
        }
    }
    fs_temp_name(path, tmp, sizeof tmp);
    fs_temp_register(tmp);
    fp = fopen(tmp, "w");
    if (!fp) {
        e = errno;
        fs_abandon(tmp);
        free(xr);
        free(attr);
        ML_FAIL(err, ML_EIO, "cannot write %s: %s", path, strerror(e));
    }
    bad = fputs(fit ? (f ? "prediction,score,is_anomaly,top_features\n" : "prediction\n")
                    : "score,is_anomaly,top_features\n", fp) < 0;
    for (i = 0; i < t->nrow && !bad; i++) {
        if (fit)
            bad = isnan(fit[i]) ? fputs("\"\"", fp) < 0 : fprintf(fp, "%.17g", fit[i]) < 0;
        if (f && !bad) {
            int anomalous = iforest_is_anomaly(f, score[i]);

            bad = fprintf(fp, "%s%.17g,%d,", fit ? "," : "", score[i], anomalous) < 0;
            if (anomalous && !bad) {
                ++*n_anomalous;
                st = top_features(f, t, cols, i, xr, attr, &top, err);
                if (st)
                    break;
                bad = put_field(fp, top.s, top.len) != 0;
            }
        }
        if (!bad)
            bad = fputc('\n', fp) == EOF;
    }
    if (bad)
        e = errno;
    if (!bad && !st && (fflush(fp) != 0 || (fsync(fileno(fp)) != 0 && errno != EINVAL))) {
        bad = 1;
        e = errno;
    }
    if (fclose(fp) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    free(top.s);
    free(xr);
    free(attr);
    if (st || bad) {
        fs_abandon(tmp);
        if (st)
            return st;
        ML_FAIL(err, ML_EIO, "cannot write %s: %s", path, strerror(e));
    }
    return fs_commit(tmp, path, err);
}

int cmd_predict(int argc, char **argv)
{
    struct predict_args a;
    struct gam_model *m = NULL;
    struct iforest *forest = NULL;
    struct ml_table *t = NULL;
    struct csv_options o;
    struct names hdr;
    struct ml_err err;
    enum ml_status st;
    const char **cat = NULL;
    double *fit = NULL, *score = NULL;
    size_t *cols = NULL;
    size_t ncat = 0, i, nmissing = 0, nanomalous = 0;
    long ncpu;
    int rc, threads;

    memset(&a, 0, sizeof a);
    memset(&hdr, 0, sizeof hdr);
    ml_err_clear(&err);
    rc = parse_args(argc, argv, &a);
    if (rc)
        return rc == 1 ? 0 : 2;
    /* HDF5 1.10.8 leaks the metadata-cache entry of an object header it
     * fails to decode (see tests/lsan.supp), and its exit handler then
     * prints "HDF5: infinite loop closing library" under our own error
     * message.  The process is about to exit anyway, so skip that cleanup.
     * (Fails harmlessly if the library is already in use, as in tests.) */
    H5dont_atexit();
    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    threads = ncpu > 0 ? (int)ncpu : 1;

    st = load_models(a.model_dir, &m, &forest, &err);
    if (st)
        goto fail;
    peek_header(a.input, a.delim, &hdr);
    st = categorical_columns(m, forest, &hdr, &cat, &ncat, &err);
    if (st)
        goto fail;
    csv_options_default(&o);
    o.delim = a.delim;
    o.categorical = cat;
    o.ncategorical = ncat;
    o.threads = threads;
    st = csv_read_file(a.input, &o, &t, NULL, &err);
    if (st)
        goto fail;
    if (m) {
        fit = malloc((t->nrow ? t->nrow : 1) * sizeof *fit);
        if (!fit) {
            st = ml_fail(&err, ML_ENOMEM, __FILE__, __LINE__,
                         "out of memory for %zu predictions", t->nrow);
            goto fail;
        }
        st = gam_predict(m, t, GAM_PRED_RESPONSE, fit, NULL, &err);
        if (st) {
            ml_err_prefix(&err, "%s: ", a.input);
            goto fail;
        }
        for (i = 0; i < t->nrow; i++)
            nmissing += isnan(fit[i]) != 0;
    }
    if (forest) {
        cols = malloc((size_t)forest->d * sizeof *cols);
        score = malloc((t->nrow ? t->nrow : 1) * sizeof *score);
        if (!cols || !score) {
            st = ml_fail(&err, ML_ENOMEM, __FILE__, __LINE__, "out of memory for %zu scores",
                         t->nrow);
            goto fail;
        }
        st = forest_columns(forest, t, a.input, cols, &err);
        if (!st)
            st = forest_check_missing(forest, t, cols, a.input, &err);
        if (!st) {
            st = forest_score(forest, t, cols, threads, score, &err);
            if (st)
                ml_err_prefix(&err, "%s: ", a.input);
        }
        if (st)
            goto fail;
    }
    st = write_output(a.output, t, fit, forest, score, cols, &nanomalous, &err);
    if (st)
        goto fail;
    if (m && forest)
        fprintf(stderr, "plantfit predict: %s -> %s: %zu rows (%zu without a prediction, %zu "
                "anomalous)\n", a.input, a.output, t->nrow, nmissing, nanomalous);
    else if (m)
        fprintf(stderr, "plantfit predict: %s -> %s: %zu rows (%zu without a prediction)\n",
                a.input, a.output, t->nrow, nmissing);
    else
        fprintf(stderr, "plantfit predict: %s -> %s: %zu rows (%zu anomalous)\n", a.input,
                a.output, t->nrow, nanomalous);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "plantfit predict: %s\n", err.msg);
    rc = 1;
done:
    free(fit);
    free(score);
    free(cols);
    free(cat);
    names_free(&hdr);
    ml_table_free(t);
    gam_model_free(m);
    iforest_free(forest);
    return rc;
}
