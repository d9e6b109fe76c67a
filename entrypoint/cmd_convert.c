/* cmd_convert.c: `plantfit convert IN OUT`, CSV <-> HDF5.
 *
 * The direction comes from the files themselves: IN is HDF5 when it carries
 * the HDF5 signature (table_h5_is_hdf5), whatever its name; OUT's suffix
 * picks the output (.h5/.hdf5/.he5: HDF5 column layout, .csv: CSV).  So
 * CSV (plain or gzip) -> HDF5, HDF5 -> CSV, and HDF5 -> HDF5 (which turns a
 * matrix-layout file into the column layout).  The CSV options apply where a
 * CSV is read (--delimiter also sets the delimiter of a CSV written); the
 * ones that mean nothing for the input at hand are refused rather than
 * silently ignored, so a user never believes an option took effect when it
 * did not.
 *
 * Exit status: 0 done, 1 the conversion failed ("plantfit convert: <message>"
 * on stderr), 2 usage error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "csv/csv_read.h"
#include "hdf5/table_h5.h"
#include "ml_table.h"

#define CONVERT_MAX_CATEGORICAL 10000 /* names after --categorical */

struct convert_args {
    const char *in;
    const char *out;
    char delim;
    int delim_given;
    int no_header;
    size_t label_size;
    int label_size_given;
    char *categorical_buf;          /* owned copy of the --categorical value */
    const char **categorical;       /* owned array pointing into categorical_buf */
    size_t ncategorical;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: plantfit convert IN OUT [--delimiter C] [--categorical a,b]\n"
            "                        [--no-header] [--label-size N]\n"
            "\n"
            "Converts a table between CSV and HDF5.  IN is read as HDF5 when it is one (by\n"
            "its signature), else as CSV (plain or gzip).  OUT ending in .h5, .hdf5 or .he5\n"
            "is written as HDF5 (plantfit column layout, see docs/hdf5-input.md); OUT ending\n"
            "in .csv is written as CSV with a header, which needs an HDF5 IN.\n"
            "\n"
            "  --delimiter C      CSV field delimiter (one character, or \\t / tab); default ,\n"
            "  --categorical a,b  CSV columns kept as text categories (levels)\n"
            "  --no-header        the CSV has no header row: columns are named target, x1, ...\n"
            "  --label-size N     leading target columns of a header-less CSV or of an\n"
            "                     unnamed HDF5 matrix; default 1\n"
            "  --help             this text\n"
            "\n"
            "A one-line summary (rows, columns, seconds) goes to stderr.  Exit status: 0 done,\n"
            "1 conversion failed, 2 usage error.\n");
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "plantfit convert: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    usage(stderr);
    return 2;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcasecmp(s + n - m, suffix) == 0;
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

static int parse_size(const char *v, size_t *out)
{
    unsigned long long x;
    char *end;

    if (v[0] < '0' || v[0] > '9')
        return 0;
    errno = 0;
    x = strtoull(v, &end, 10);
    if (errno || *end != '\0' || x > 1000000)
        return 0;
    *out = (size_t)x;
    return 1;
}

/* Split "a,b,c" into names (pointing into an owned copy). */
static int parse_categorical(struct convert_args *a, const char *v)
{
    size_t n = 1, i;
    char *p;

    free(a->categorical_buf);
    free(a->categorical);
    a->categorical = NULL;
    a->ncategorical = 0;
    a->categorical_buf = strdup(v);
    if (!a->categorical_buf)
        return 0;
    for (p = a->categorical_buf; *p; p++)
        n += *p == ',';
    if (n > CONVERT_MAX_CATEGORICAL)
        return 0;
    a->categorical = calloc(n, sizeof *a->categorical);
    if (!a->categorical)
        return 0;
    p = a->categorical_buf;
    for (i = 0; i < n; i++) {
        char *comma = strchr(p, ',');

        if (comma)
            *comma = '\0';
        if (*p == '\0')
            return 0;
        a->categorical[i] = p;
        p = comma ? comma + 1 : p + strlen(p);
    }
    a->ncategorical = n;
    return 1;
}

static void free_args(struct convert_args *a)
{
    free(a->categorical_buf);
    free(a->categorical);
}

/* Value of an option given as "--name value" or "--name=value"; advances *i. */
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
static int parse_args(int argc, char **argv, struct convert_args *a)
{
    int i, only_positional = 0;
    const char *v;

    a->delim = ',';
    a->label_size = 1;
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];

        if (only_positional || arg[0] != '-' || strcmp(arg, "-") == 0) {
            if (!a->in)
                a->in = arg;
            else if (!a->out)
                a->out = arg;
            else
                return usage_error("unexpected argument \"%s\"", arg);
        } else if (strcmp(arg, "--") == 0) {
            only_positional = 1;
        } else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(arg, "--no-header") == 0) {
            a->no_header = 1;
        } else if ((v = opt_value(argc, argv, &i, "--delimiter"))) {
            if (!parse_delim(v, &a->delim))
                return usage_error("--delimiter wants one character (or \\t), not \"%s\"", v);
            a->delim_given = 1;
        } else if ((v = opt_value(argc, argv, &i, "--label-size"))) {
            if (!parse_size(v, &a->label_size))
                return usage_error("--label-size wants a whole number, not \"%s\"", v);
            a->label_size_given = 1;
        } else if ((v = opt_value(argc, argv, &i, "--categorical"))) {
            if (!parse_categorical(a, v))
                return usage_error("--categorical wants column names separated by commas, "
                                   "not \"%s\"",
                                   v);
        } else {
            return usage_error("unknown option \"%s\"", arg);
        }
    }
    if (!a->in || !a->out)
        return usage_error("%s", "needs IN and OUT");
    return 0;
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cmd_convert(int argc, char **argv)
{
    struct convert_args a;
    struct ml_table *t = NULL;
    struct ml_err err;
    enum ml_status st;
    double t0 = now_seconds();
    int rc, in_h5, out_h5;
    long ncpu;

    memset(&a, 0, sizeof a);
    ml_err_clear(&err);
    rc = parse_args(argc, argv, &a);
    if (rc) {
        free_args(&a);
        return rc == 1 ? 0 : 2;
    }
    out_h5 = ends_with(a.out, ".h5") || ends_with(a.out, ".hdf5") || ends_with(a.out, ".he5");
    if (!out_h5 && !ends_with(a.out, ".csv")) {
        free_args(&a);
        return usage_error("OUT must end in .h5, .hdf5, .he5 or .csv: \"%s\"", a.out);
    }
    in_h5 = table_h5_is_hdf5(a.in);
    if (in_h5 && (a.no_header || a.ncategorical)) {
        free_args(&a);
        return usage_error("%s is HDF5: --no-header and --categorical apply to CSV input only",
                           a.in);
    }
    if (in_h5 && a.delim_given && out_h5) {
        free_args(&a);
        return usage_error("%s", "--delimiter applies to a CSV read or written, and neither "
                                 "IN nor OUT is CSV");
    }
    if (!in_h5 && a.label_size_given && !a.no_header) {
        free_args(&a);
        return usage_error("%s", "--label-size names the columns of a header-less CSV: add "
                                 "--no-header");
    }

    if (in_h5 || !out_h5) {
        /* A CSV output needs HDF5 input; reading IN as HDF5 anyway gives the
         * precise reason when it is not (missing, unreadable, not HDF5). */
        st = table_h5_read(a.in, a.label_size, &t, &err);
    } else {
        struct csv_options o;

        csv_options_default(&o);
        o.delim = a.delim;
        o.header = !a.no_header;
        o.label_size = a.label_size;
        o.categorical = a.categorical;
        o.ncategorical = a.ncategorical;
        ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        o.threads = ncpu > 0 ? (int)ncpu : 1;
        st = csv_read_file(a.in, &o, &t, NULL, &err);
    }
    if (!st && out_h5)
        st = table_h5_write(a.out, t, &err);
    else if (!st)
        st = csv_write_file(a.out, t, a.delim, &err);
    if (st) {
        fprintf(stderr, "plantfit convert: %s\n", err.msg);
        if (!in_h5 && !out_h5 && st == ML_EFORMAT)
            fprintf(stderr, "plantfit convert: writing CSV needs an HDF5 IN; to make HDF5, "
                            "give OUT a .h5 name\n");
        ml_table_free(t);
        free_args(&a);
        return 1;
    }
    fprintf(stderr, "plantfit convert: %s -> %s: %zu rows, %zu columns, %.3f s\n", a.in, a.out,
            t->nrow, t->ncol, now_seconds() - t0);
    ml_table_free(t);
    free_args(&a);
    return 0;
}
