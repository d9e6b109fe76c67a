/* ml_table.c: column-major data table (see ml_table.h). */
#include "ml_table.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char *dup_n(const char *s, size_t len)
{
    char *d = malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

enum ml_status ml_table_alloc(struct ml_table **out, size_t ncol, const char *const *names,
                              const enum ml_coltype *types, struct ml_err *err)
{
    struct ml_table *t;
    size_t j, k;

    *out = NULL;
    for (j = 0; j < ncol; j++) {
        if (names[j][0] == '\0')
            ML_FAIL(err, ML_EFORMAT, "column %zu has an empty name", j + 1);
        for (k = 0; k < j; k++)
            if (strcmp(names[j], names[k]) == 0)
                ML_FAIL(err, ML_EFORMAT, "duplicate column name \"%s\" (columns %zu and %zu)",
                        names[j], k + 1, j + 1);
    }
    t = calloc(1, sizeof *t);
    if (!t)
        ML_FAIL(err, ML_ENOMEM, "out of memory allocating a table of %zu columns", ncol);
    t->col = calloc(ncol ? ncol : 1, sizeof *t->col);
    if (!t->col) {
        free(t);
        ML_FAIL(err, ML_ENOMEM, "out of memory allocating a table of %zu columns", ncol);
    }
    t->ncol = ncol;
    for (j = 0; j < ncol; j++) {
        t->col[j].name = dup_n(names[j], strlen(names[j]));
        t->col[j].type = types ? types[j] : ML_COL_NUMERIC;
        if (!t->col[j].name) {
            ml_table_free(t);
            ML_FAIL(err, ML_ENOMEM, "out of memory copying column names");
        }
    }
    *out = t;
    return ML_OK;
}

void ml_table_free(struct ml_table *t)
{
    size_t j, l;

    if (!t)
        return;
    for (j = 0; j < t->ncol; j++) {
        free(t->col[j].name);
        free(t->col[j].v);
        for (l = 0; l < t->col[j].nlevels; l++)
            free(t->col[j].levels[l]);
        free(t->col[j].levels);
        free(t->col[j].lhash);
    }
    free(t->col);
    free(t);
}

enum ml_status ml_table_reserve(struct ml_table *t, size_t nrow, struct ml_err *err)
{
    size_t j;

    for (j = 0; j < t->ncol; j++) {
        struct ml_column *c = &t->col[j];
        size_t cap = c->cap ? c->cap : 1024;
        double *v;

        if (c->cap >= nrow)
            continue;
        while (cap < nrow) {
            if (cap > SIZE_MAX / 2 / sizeof(double))
                ML_FAIL(err, ML_ELIMIT, "table too large: %zu rows", nrow);
            cap *= 2;
        }
        v = realloc(c->v, cap * sizeof *v);
        if (!v)
            ML_FAIL(err, ML_ENOMEM, "out of memory growing column \"%s\" to %zu rows", c->name,
                    cap);
        c->v = v;
        c->cap = cap;
    }
    return ML_OK;
}

long ml_table_find(const struct ml_table *t, const char *name)
{
    size_t j;

    for (j = 0; j < t->ncol; j++)
        if (strcmp(t->col[j].name, name) == 0)
            return (long)j;
    return -1;
}

/* FNV-1a (Fowler, Noll, Vo): a simple, well-spread hash for short strings. */
static size_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

/* (Re)build the level index with room for at least twice the levels. */
static int lhash_rebuild(struct ml_column *c)
{
    size_t cap = 64, l;
    size_t *hnew;

    while (cap < 2 * (c->nlevels + 1))
        cap *= 2;
    hnew = calloc(cap, sizeof *hnew);
    if (!hnew)
        return -1;
    for (l = 0; l < c->nlevels; l++) {
        size_t k = hash_bytes(c->levels[l], strlen(c->levels[l])) & (cap - 1);
        while (hnew[k])
            k = (k + 1) & (cap - 1);
        hnew[k] = l + 1;
    }
    free(c->lhash);
    c->lhash = hnew;
    c->lhash_cap = cap;
    return 0;
}

enum ml_status ml_table_level(struct ml_table *t, size_t j, const char *s, size_t len,
                              double *code, struct ml_err *err)
{
    struct ml_column *c = &t->col[j];
    size_t l, slot = 0;

    /* Categorical columns in plant data have a handful of levels (lines,
     * grades, modes): a linear search is fastest.  Past 32 levels (an ID or
     * free-text column) a hash index keeps reading linear in the rows. */
    if (c->lhash_cap == 0 && c->nlevels >= 32 && lhash_rebuild(c) != 0)
        ML_FAIL(err, ML_ENOMEM, "out of memory indexing the levels of column \"%s\"", c->name);
    if (c->lhash_cap) {
        slot = hash_bytes(s, len) & (c->lhash_cap - 1);
        while (c->lhash[slot]) {
            const char *lv = c->levels[c->lhash[slot] - 1];
            if (strlen(lv) == len && memcmp(lv, s, len) == 0) {
                *code = (double)(c->lhash[slot] - 1);
                return ML_OK;
            }
            slot = (slot + 1) & (c->lhash_cap - 1);
        }
    } else {
        for (l = 0; l < c->nlevels; l++)
            if (strlen(c->levels[l]) == len && memcmp(c->levels[l], s, len) == 0) {
                *code = (double)l;
                return ML_OK;
            }
    }
    if (c->nlevels == c->levels_cap) {
        size_t cap = c->levels_cap ? 2 * c->levels_cap : 8;
        char **lv = realloc(c->levels, cap * sizeof *lv);
        if (!lv)
            ML_FAIL(err, ML_ENOMEM, "out of memory adding a level to column \"%s\"", c->name);
        c->levels = lv;
        c->levels_cap = cap;
    }
    c->levels[c->nlevels] = dup_n(s, len);
    if (!c->levels[c->nlevels])
        ML_FAIL(err, ML_ENOMEM, "out of memory adding a level to column \"%s\"", c->name);
    *code = (double)c->nlevels++;
    if (c->lhash_cap) {
        if (2 * c->nlevels > c->lhash_cap) {
            if (lhash_rebuild(c) != 0)
                ML_FAIL(err, ML_ENOMEM, "out of memory indexing the levels of column \"%s\"",
                        c->name);
        } else {
            c->lhash[slot] = c->nlevels; /* the empty slot the probe ended on */
        }
    }
    return ML_OK;
}

enum ml_status ml_table_append(struct ml_table *dst, const struct ml_table *src,
                               struct ml_err *err)
{
    size_t j, i;
    enum ml_status st;

    if (src->ncol != dst->ncol)
        ML_FAIL(err, ML_EFORMAT, "has %zu columns where earlier files have %zu", src->ncol,
                dst->ncol);
    for (j = 0; j < dst->ncol; j++) {
        if (strcmp(src->col[j].name, dst->col[j].name) != 0)
            ML_FAIL(err, ML_EFORMAT,
                    "column %zu is named \"%s\" where earlier files have \"%s\"", j + 1,
                    src->col[j].name, dst->col[j].name);
        if (src->col[j].type != dst->col[j].type)
            ML_FAIL(err, ML_EFORMAT, "column \"%s\" has a different type than in earlier files",
                    src->col[j].name);
    }
    st = ml_table_reserve(dst, dst->nrow + src->nrow, err);
    if (st)
        return st;
    for (j = 0; j < dst->ncol; j++) {
        const struct ml_column *s = &src->col[j];
        struct ml_column *d = &dst->col[j];

        if (s->type == ML_COL_NUMERIC) {
            if (src->nrow)
                memcpy(d->v + dst->nrow, s->v, src->nrow * sizeof(double));
            continue;
        }
        for (i = 0; i < src->nrow; i++) {
            double x = s->v[i];
            if (isnan(x)) {
                d->v[dst->nrow + i] = x;
                continue;
            }
            const char *name = s->levels[(size_t)x];
            st = ml_table_level(dst, j, name, strlen(name), &d->v[dst->nrow + i], err);
            if (st)
                return st;
        }
    }
    dst->nrow += src->nrow;
    return ML_OK;
}

size_t ml_table_missing(const struct ml_table *t, size_t j)
{
    size_t i, n = 0;

    for (i = 0; i < t->nrow; i++)
        n += isnan(t->col[j].v[i]) != 0;
    return n;
}
