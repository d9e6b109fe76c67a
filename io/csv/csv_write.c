/* csv_write.c: table -> CSV text with a header row.  Doubles are written with
 * %.17g so they read back bit-identically (liblinear's save_model habit);
 * snprintf's %g is locale-dependent only in the decimal point, and the C
 * locale is the default for a program that never calls setlocale. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "csv_read.h"

static int needs_quotes(const char *s, char delim)
{
    for (; *s; s++)
        if (*s == delim || *s == '"' || *s == '\n' || *s == '\r')
            return 1;
    return 0;
}

static void put_field(FILE *f, const char *s, char delim)
{
    if (!needs_quotes(s, delim)) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

enum ml_status csv_write_file(const char *path, const struct ml_table *t, char delim,
                              struct ml_err *err)
{
    FILE *f = fopen(path, "w");
    char num[32];
    size_t i, j;

    if (!f)
        ML_FAIL(err, ML_EIO, "%s: cannot create: %s", path, strerror(errno));
    for (j = 0; j < t->ncol; j++) {
        if (j)
            fputc(delim, f);
        put_field(f, t->col[j].name, delim);
    }
    fputc('\n', f);
    for (i = 0; i < t->nrow; i++) {
        for (j = 0; j < t->ncol; j++) {
            const struct ml_column *c = &t->col[j];
            double x = c->v[i];

            if (j)
                fputc(delim, f);
            if (isnan(x))
                continue;
            if (c->type == ML_COL_CATEGORICAL) {
                put_field(f, c->levels[(size_t)x], delim);
            } else {
                snprintf(num, sizeof num, "%.17g", x);
                fputs(num, f);
            }
        }
        fputc('\n', f);
    }
    if (ferror(f)) {
        fclose(f);
        ML_FAIL(err, ML_EIO, "%s: write failed: %s", path, strerror(errno));
    }
    if (fclose(f) != 0)
        ML_FAIL(err, ML_EIO, "%s: write failed: %s", path, strerror(errno));
    return ML_OK;
}
