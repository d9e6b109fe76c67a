/* cmd_predict.c: `plantfit predict --model DIR --input FILE.csv --output FILE.csv`,
 * batch predictions from a trained GAM.
 *
 * Loads DIR/gam.h5 (the file GAM training writes; io/hdf5/gam_h5.h), reads the
 * input CSV (plain or gzip, with a header row naming at least every variable
 * the model uses; other columns are ignored) and writes one row per input row
 * with the single column `prediction`: the fitted mean on the response scale
 * (gam_predict, GAM_PRED_RESPONSE) as %.17g, so the text reads back to the
 * same double.
 *
 * Columns the model does not use may hold anything (an ID, a date): the
 * header of a regular file is read first and every such column is read as
 * categorical text, so its cells are never parsed as numbers.  (A FIFO
 * cannot be read twice; there every column must be what the model expects
 * or numeric.)
 *
 * Factor variables: the model keeps each factor's level names.  A factor
 * whose names are all numbers in the canonical form gam_setup gives the
 * levels of factor(<numeric column>) ("%.15g": "1", "2.5", "-3") is read as
 * a numeric column, so "1", "1.0" and "1e0" in the input are all level "1",
 * as they were at training.  Any other factor is read as categorical text
 * and matched by name.  A level the model was not trained on is an error
 * naming the row, the variable and the value.
 *
 * A row with a missing value in a variable the model uses gets no
 * prediction: its cell is written as `""`, the empty field of RFC 4180.  A
 * bare empty line would be the obvious spelling, but CSV readers (ours,
 * pandas) skip blank lines, which would shift every later row.
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
#include "ml_table.h"
#include "source/source.h"

#define PREDICT_MODEL_FILE "gam.h5"
#define PREDICT_LIST_MAX 20            /* directory entries named when gam.h5 is missing */
#define PREDICT_HEADER_MAX (16u << 20) /* bytes read looking for the header record */
#define PREDICT_HEADER_COLS 10000      /* csv_options' default max_cols */

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
            "Predicts with the GAM in DIR/" PREDICT_MODEL_FILE
            " (the model directory of a training\n"
            "run) for every row of the input CSV, which needs a header row naming the\n"
            "model's variables (other columns are ignored).  The output CSV has the\n"
            "header `prediction` and one row per input row: the fitted mean on the\n"
            "response scale as %%.17g, or \"\" where a variable the model uses is missing.\n"
            "\n"
            "  --model DIR        directory holding " PREDICT_MODEL_FILE "\n"
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

/* Columns to read as categorical text: the model's factors with non-numeric
 * levels, and every input column the model does not read as numbers. */
static const char **categorical_columns(const struct gam_model *m, const struct names *hdr,
                                        size_t *n)
{
    const char **out = calloc(m->nvars + hdr->n + 1, sizeof *out);
    size_t v, j, k;

    *n = 0;
    if (!out)
        return NULL;
    for (v = 0; v < m->nvars; v++)
        if (m->vars[v].is_factor && !model_numeric(m, m->vars[v].name))
            out[(*n)++] = m->vars[v].name;
    for (j = 0; j < hdr->n; j++) {
        int dup = model_numeric(m, hdr->v[j]);

        for (k = 0; k < *n && !dup; k++)
            dup = strcmp(out[k], hdr->v[j]) == 0;
        if (!dup)
            out[(*n)++] = hdr->v[j];
    }
    return out;
}

/* Load DIR/gam.h5, or explain what DIR holds instead. */
static enum ml_status load_model(const char *dir, struct gam_model **m, struct ml_err *err)
{
    char path[4096], listing[1024];
    struct stat sb;

    if (stat(dir, &sb) != 0)
        ML_FAIL(err, ML_EIO, "--model %s: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        ML_FAIL(err, ML_EINVAL, "--model %s: not a directory (give the model directory that "
                "holds " PREDICT_MODEL_FILE ")", dir);
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, PREDICT_MODEL_FILE) >= sizeof path)
        ML_FAIL(err, ML_EINVAL, "--model %s: path too long", dir);
    if (stat(path, &sb) != 0 && errno == ENOENT) {
        list_dir(dir, listing, sizeof listing);
        ML_FAIL(err, ML_EIO, "--model %s: no " PREDICT_MODEL_FILE " there (%s)", dir, listing);
    }
    return gam_h5_read(path, m, err);
}

/* Write the predictions to `path` through a temporary file. */
static enum ml_status write_predictions(const char *path, const double *fit, size_t n,
                                        struct ml_err *err)
{
    char tmp[4096];
    FILE *f;
    size_t i;
    int bad;

    fs_temp_name(path, tmp, sizeof tmp);
    fs_temp_register(tmp);
    f = fopen(tmp, "w");
    if (!f) {
        int e = errno;
        fs_abandon(tmp);
        ML_FAIL(err, ML_EIO, "cannot write %s: %s", path, strerror(e));
    }
    bad = fputs("prediction\n", f) < 0;
    for (i = 0; i < n && !bad; i++)
        bad = isnan(fit[i]) ? fputs("\"\"\n", f) < 0 : fprintf(f, "%.17g\n", fit[i]) < 0;
    if (!bad)
        bad = fflush(f) != 0 || (fsync(fileno(f)) != 0 && errno != EINVAL);
    if (fclose(f) != 0)
        bad = 1;
    if (bad) {
        int e = errno;
        fs_abandon(tmp);
        ML_FAIL(err, ML_EIO, "cannot write %s: %s", path, strerror(e));
    }
    return fs_commit(tmp, path, err);
}

int cmd_predict(int argc, char **argv)
{
    struct predict_args a;
    struct gam_model *m = NULL;
    struct ml_table *t = NULL;
    struct csv_options o;
    struct names hdr;
    struct ml_err err;
    enum ml_status st;
    const char **cat = NULL;
    double *fit = NULL;
    size_t ncat = 0, i, nmissing = 0;
    long ncpu;
    int rc;

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

    st = load_model(a.model_dir, &m, &err);
    if (st)
        goto fail;
    peek_header(a.input, a.delim, &hdr);
    cat = categorical_columns(m, &hdr, &ncat);
    if (!cat) {
        st = ml_fail(&err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
        goto fail;
    }
    csv_options_default(&o);
    o.delim = a.delim;
    o.categorical = cat;
    o.ncategorical = ncat;
    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    o.threads = ncpu > 0 ? (int)ncpu : 1;
    st = csv_read_file(a.input, &o, &t, NULL, &err);
    if (st)
        goto fail;
    fit = malloc((t->nrow ? t->nrow : 1) * sizeof *fit);
    if (!fit) {
        st = ml_fail(&err, ML_ENOMEM, __FILE__, __LINE__, "out of memory for %zu predictions",
                     t->nrow);
        goto fail;
    }
    st = gam_predict(m, t, GAM_PRED_RESPONSE, fit, NULL, &err);
    if (st) {
        ml_err_prefix(&err, "%s: ", a.input);
        goto fail;
    }
    st = write_predictions(a.output, fit, t->nrow, &err);
    if (st)
        goto fail;
    for (i = 0; i < t->nrow; i++)
        nmissing += isnan(fit[i]) != 0;
    fprintf(stderr, "plantfit predict: %s -> %s: %zu rows (%zu without a prediction)\n",
            a.input, a.output, t->nrow, nmissing);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "plantfit predict: %s\n", err.msg);
    rc = 1;
done:
    free(fit);
    free(cat);
    names_free(&hdr);
    ml_table_free(t);
    gam_model_free(m);
    return rc;
}
