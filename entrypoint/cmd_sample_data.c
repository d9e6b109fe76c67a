/* cmd_sample_data.c: `plantfit sample-data`, which writes synthetic plant data
 * (algorithms/plantsim) to DIR/plant.csv or DIR/plant.h5.
 *
 * The CSV is written here rather than by csv_write_file because that writer
 * prints every double as %.17g (so 8.1 becomes 8.0999999999999996): plantsim
 * rounds each column to its sensor's precision, and we print exactly that many
 * decimals, without trailing zeros, so the file is small, reads like a
 * historian export and parses back to the very same doubles.  Missing values
 * are empty cells.  Both formats go to a temporary name in DIR and are renamed
 * into place (entrypoint/fsutil.h), so DIR never holds a half-written file. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../algorithms/plantsim/plantsim.h"
#include "commands.h"
#include "fsutil.h"
#include "hdf5/table_h5.h"

#define SD_PATH_MAX 4096

static void usage(FILE *f)
{
    fprintf(f,
            "usage: plantfit sample-data --out DIR [--rows N] [--seed S]\n"
            "                            [--abnormal-fraction F] [--period SECONDS]\n"
            "                            [--format csv|h5]\n"
            "\n"
            "Write deterministic synthetic plant data to DIR/plant.csv (or DIR/plant.h5):\n"
            "feed, air and catalyst flows, reactor and evaporator temperatures and\n"
            "pressures, the outputs oxidation1, oxidation2, concentration and yield, and\n"
            "the label `abnormal` (see datasets/README.md).  The same N and S give the\n"
            "same file on every platform.\n"
            "\n"
            "  --out DIR               output directory, created if missing (required)\n"
            "  --rows N                number of samples (default 10000, at most %zu)\n"
            "  --seed S                random seed, 0 to 2^64-1 (default 1)\n"
            "  --abnormal-fraction F   share of rows in abnormal episodes, 0 to 0.5\n"
            "                          (default 0.03)\n"
            "  --period SECONDS        time between samples, 1 to 3600 (default 60)\n"
            "  --format csv|h5         output format (default csv)\n"
            "  --help                  show this text\n",
            PLANTSIM_MAX_ROWS);
}

/* Report a usage error on stderr; returns the exit status 2. */
static int usage_error(const char *fmt, ...) ML_ATTR_FORMAT(1, 2);
static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "plantfit sample-data: error: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see plantfit sample-data --help)\n");
    return 2;
}

/* A decimal unsigned integer, digits only (no sign, no spaces), without
 * overflow.  Returns 1 and sets *out on success. */
static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t x = 0;
    const char *p;

    if (*s == '\0')
        return 0;
    for (p = s; *p; p++) {
        unsigned d;
        if (*p < '0' || *p > '9')
            return 0;
        d = (unsigned)(*p - '0');
        if (x > (UINT64_MAX - d) / 10)
            return 0;
        x = x * 10 + d;
    }
    *out = x;
    return 1;
}

/* A finite decimal number taking the whole string (C locale: the program
 * never calls setlocale). */
static int parse_double(const char *s, double *out)
{
    char *end;
    double x;

    if (*s == '\0' || *s == ' ' || *s == '\t')
        return 0;
    errno = 0;
    x = strtod(s, &end);
    if (*end != '\0' || errno == ERANGE || !isfinite(x))
        return 0;
    *out = x;
    return 1;
}

/* Print x, already rounded to `decimals` decimals, with at most that many
 * decimals and no trailing zeros ("8.1", "160", "0.025").  Works on the
 * integer x * 10^decimals, which is exact for the magnitudes plantsim produces
 * (below 2^53 / 10^decimals); anything else falls back to %.17g. */
static size_t format_fixed(char *buf, size_t cap, double x, int decimals)
{
    static const long long p10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
    long long p = p10[decimals], m;
    unsigned long long a, ip, fp;
    char tmp[32];
    size_t n = 0, k = 0;
    int d;

    if (!(fabs(x) * (double)p < 0x1p53))
        return (size_t)snprintf(buf, cap, "%.17g", x);
    m = llround(x * (double)p);
    if (m < 0)
        buf[n++] = '-';
    a = m < 0 ? 0ULL - (unsigned long long)m : (unsigned long long)m;
    ip = a / (unsigned long long)p;
    fp = a % (unsigned long long)p;
    do {
        tmp[k++] = (char)('0' + ip % 10);
        ip /= 10;
    } while (ip);
    while (k)
        buf[n++] = tmp[--k];
    if (fp) {
        buf[n++] = '.';
        for (d = decimals - 1; d >= 0; d--) {
            buf[n + (size_t)d] = (char)('0' + fp % 10);
            fp /= 10;
        }
        n += (size_t)decimals;
        while (buf[n - 1] == '0')
            n--;
    }
    return n;
}

/* Write the table as CSV to an open stream. */
static enum ml_status write_csv(FILE *f, const struct ml_table *t, const char *path,
                                struct ml_err *err)
{
    size_t ncol, i, j;
    const struct plantsim_column *cols = plantsim_columns(&ncol);
    char line[1024];

    if (ncol != t->ncol)
        ML_FAIL(err, ML_EINTERNAL, "plantsim produced %zu columns, its table lists %zu",
                t->ncol, ncol);
    for (j = 0; j < t->ncol; j++) {
        fputs(t->col[j].name, f);
        fputc(j + 1 < t->ncol ? ',' : '\n', f);
    }
    for (i = 0; i < t->nrow; i++) {
        size_t n = 0;

        /* A field is at most 24 bytes ("%.17g") plus a separator; a row of
         * plantsim's 19 columns fits the buffer with room to spare. */
        for (j = 0; j < t->ncol; j++) {
            const struct ml_column *c = &t->col[j];
            double x = c->v[i];

            if (n + 32 > sizeof line)
                ML_FAIL(err, ML_EINTERNAL, "row %zu does not fit the %zu-byte line buffer", i,
                        sizeof line);
            if (isnan(x)) {
                /* missing: empty cell */
            } else if (c->type == ML_COL_CATEGORICAL) {
                n += (size_t)snprintf(line + n, sizeof line - n, "%s", c->levels[(size_t)x]);
            } else {
                n += format_fixed(line + n, sizeof line - n, x, cols[j].decimals);
            }
            line[n++] = j + 1 < t->ncol ? ',' : '\n';
        }
        fwrite(line, 1, n, f);
    }
    if (ferror(f))
        ML_FAIL(err, ML_EIO, "cannot write %s: %s", path, strerror(errno));
    return ML_OK;
}

/* Write t to `path` through a registered temporary file, fsync'ed and renamed
 * into place; on error nothing is left behind. */
static enum ml_status write_output(const struct ml_table *t, const char *path, int h5,
                                   struct ml_err *err)
{
    char tmp[SD_PATH_MAX];
    enum ml_status st;
    FILE *f;

    fs_temp_name(path, tmp, sizeof tmp);
    fs_temp_register(tmp);
    if (h5) {
        st = table_h5_write(tmp, t, err);
        if (st) {
            fs_abandon(tmp);
            return st;
        }
        return fs_commit(tmp, path, err);
    }
    f = fopen(tmp, "w");
    if (!f) {
        int e = errno;
        fs_abandon(tmp);
        ML_FAIL(err, ML_EIO, "cannot create %s: %s", tmp, strerror(e));
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    st = write_csv(f, t, path, err);
    if (!st && fflush(f) != 0)
        st = ml_fail(err, ML_EIO, __FILE__, __LINE__, "cannot write %s: %s", path,
                     strerror(errno));
    /* EINVAL: the file system cannot sync; not an error (as in fsutil.c). */
    if (!st && fsync(fileno(f)) != 0 && errno != EINVAL)
        st = ml_fail(err, ML_EIO, __FILE__, __LINE__, "cannot write %s: fsync: %s", path,
                     strerror(errno));
    if (fclose(f) != 0 && !st)
        st = ml_fail(err, ML_EIO, __FILE__, __LINE__, "cannot write %s: %s", path,
                     strerror(errno));
    if (st) {
        fs_abandon(tmp);
        return st;
    }
    return fs_commit(tmp, path, err);
}

int cmd_sample_data(int argc, char **argv)
{
    struct plantsim_options o;
    struct ml_table *t = NULL;
    struct ml_err err;
    const char *out_dir = NULL;
    char path[SD_PATH_MAX];
    int h5 = 0, i;
    size_t abnormal = 0, r;
    long jab;
    struct stat sb;
    enum ml_status st;

    plantsim_options_default(&o);
    ml_err_clear(&err);
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = NULL, *eq;
        char name[32];
        size_t nlen;

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strncmp(arg, "--", 2) != 0)
            return usage_error("unexpected argument \"%s\"", arg);
        /* --name=value or --name value */
        eq = strchr(arg, '=');
        nlen = eq ? (size_t)(eq - arg) : strlen(arg);
        if (nlen >= sizeof name)
            return usage_error("unknown option \"%s\"", arg);
        memcpy(name, arg, nlen);
        name[nlen] = '\0';
        if (strcmp(name, "--rows") != 0 && strcmp(name, "--seed") != 0 &&
            strcmp(name, "--out") != 0 && strcmp(name, "--abnormal-fraction") != 0 &&
            strcmp(name, "--period") != 0 && strcmp(name, "--format") != 0)
            return usage_error("unknown option \"%s\"", name);
        if (eq) {
            val = eq + 1;
        } else {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", name);
            val = argv[++i];
        }

        if (strcmp(name, "--rows") == 0) {
            uint64_t n;
            if (!parse_u64(val, &n) || n == 0)
                return usage_error("--rows \"%s\": expected a positive integer", val);
            if (n > PLANTSIM_MAX_ROWS)
                return usage_error("--rows \"%s\": at most %zu rows", val, PLANTSIM_MAX_ROWS);
            o.rows = (size_t)n;
        } else if (strcmp(name, "--seed") == 0) {
            if (!parse_u64(val, &o.seed))
                return usage_error("--seed \"%s\": expected an integer from 0 to %llu", val,
                                   (unsigned long long)UINT64_MAX);
        } else if (strcmp(name, "--abnormal-fraction") == 0) {
            if (!parse_double(val, &o.abnormal_fraction) || o.abnormal_fraction < 0.0 ||
                o.abnormal_fraction > 0.5)
                return usage_error("--abnormal-fraction \"%s\": expected a number from 0 "
                                   "to 0.5", val);
        } else if (strcmp(name, "--period") == 0) {
            if (!parse_double(val, &o.sample_period) || o.sample_period < 1.0 ||
                o.sample_period > 3600.0)
                return usage_error("--period \"%s\": expected a number of seconds from 1 "
                                   "to 3600", val);
        } else if (strcmp(name, "--format") == 0) {
            if (strcmp(val, "csv") == 0)
                h5 = 0;
            else if (strcmp(val, "h5") == 0)
                h5 = 1;
            else
                return usage_error("--format \"%s\": expected csv or h5", val);
        } else {
            if (*val == '\0')
                return usage_error("--out: expected a directory, got an empty string");
            out_dir = val;
        }
    }
    if (!out_dir)
        return usage_error("--out DIR is required");
    if ((size_t)snprintf(path, sizeof path, "%s/plant.%s", out_dir, h5 ? "h5" : "csv") >=
        sizeof path - 64)
        return usage_error("--out \"%s\": path too long", out_dir);

    st = plantsim_generate(&o, &t, &err);
    if (!st)
        st = fs_mkdir_p(out_dir, &err);
    if (!st)
        st = write_output(t, path, h5, &err);
    if (st) {
        fprintf(stderr, "plantfit sample-data: error: %s\n", err.msg);
        ml_table_free(t);
        return 1;
    }
    jab = ml_table_find(t, "abnormal");
    for (r = 0; jab >= 0 && r < t->nrow; r++)
        abnormal += t->col[jab].v[r] != 0.0;
    fprintf(stderr,
            "plantfit sample-data: wrote %zu rows (%zu abnormal, %.1f%%), seed %llu, to %s "
            "(%lld bytes)\n",
            t->nrow, abnormal, 100.0 * (double)abnormal / (double)t->nrow,
            (unsigned long long)o.seed, path,
            stat(path, &sb) == 0 ? (long long)sb.st_size : -1LL);
    ml_table_free(t);
    return 0;
}
