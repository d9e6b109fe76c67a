/* ml_table.h: an in-memory data table, column-major, with names.
 *
 * Every reader (CSV, HDF5) produces one of these and every algorithm consumes
 * one.  Each column is its own contiguous double array of nrow values, so an
 * algorithm reads a feature with unit stride and a reader can grow the table
 * row by row without relayout.  Missing values are NaN.  A categorical column
 * stores the level index (0, 1, ...) as a double and keeps its level names in
 * order of first appearance.
 *
 * Ownership: ml_table_alloc returns a table that ml_table_free releases with
 * every column, name and level it holds.  Not thread-safe for writing;
 * concurrent reads are fine. */
#ifndef ML_TABLE_H
#define ML_TABLE_H

#include <stddef.h>

#include "ml_status.h"

enum ml_coltype {           /* append only: stored in HDF5 files */
    ML_COL_NUMERIC = 0,
    ML_COL_CATEGORICAL = 1
};

struct ml_column {
    char *name;             /* owned, NUL-terminated, unique within the table */
    enum ml_coltype type;
    double *v;              /* owned, nrow values (capacity cap); NaN = missing */
    size_t cap;             /* allocated length of v */
    size_t nlevels;         /* categorical only: number of level names */
    size_t levels_cap;      /* allocated length of levels */
    char **levels;          /* categorical only: owned level names, index = code */
    size_t *lhash;          /* categorical only: open-addressing index of levels (code + 1,
                               0 = empty), owned; built once there are many levels */
    size_t lhash_cap;       /* slots in lhash (a power of two), 0 = no index */
};

struct ml_table {
    size_t nrow;
    size_t ncol;
    struct ml_column *col;  /* owned array of ncol columns */
};

/* Allocate a table with `ncol` columns named names[0..ncol-1] (copied) and no
 * rows.  types may be NULL (all numeric).  Fails with ML_EFORMAT on a
 * duplicate or empty name, naming it. */
enum ml_status ml_table_alloc(struct ml_table **out, size_t ncol, const char *const *names,
                              const enum ml_coltype *types, struct ml_err *err);
void ml_table_free(struct ml_table *t);

/* Make room for at least `nrow` rows in every column (does not change nrow). */
enum ml_status ml_table_reserve(struct ml_table *t, size_t nrow, struct ml_err *err);

/* Index of the column called `name`, or -1. */
long ml_table_find(const struct ml_table *t, const char *name);

/* Categorical: code of level `s` in column j, adding it if new.  *code out. */
enum ml_status ml_table_level(struct ml_table *t, size_t j, const char *s, size_t len,
                              double *code, struct ml_err *err);

/* Append all rows of `src` to `dst`.  Both must have the same column names,
 * in the same order, and types; categorical codes are remapped by name. */
enum ml_status ml_table_append(struct ml_table *dst, const struct ml_table *src,
                               struct ml_err *err);

/* Number of missing (NaN) values in column j. */
size_t ml_table_missing(const struct ml_table *t, size_t j);

#endif
