/* table_h5.h: HDF5 <-> struct ml_table (the `application/x-hdf5` channel format).
 *
 * Layout written by table_h5_write (and by `plantfit convert`), and the
 * preferred layout to read -- "column layout", format_version 1:
 *
 *   /                       attribute plantfit_format = "table" (string)
 *                           attribute format_version  = 1 (int32)
 *                           attribute columns = column names in order
 *                                               (1-D variable-length UTF-8 strings)
 *   /columns/<index>        one 1-D dataset per column, named by its 0-based
 *                           position as a decimal string ("0", "1", ...) so any
 *                           column name (even one with '/') is safe;
 *                           attribute name = the column name.
 *                           numeric: H5T_IEEE_F64LE, NaN = missing;
 *                           categorical: int32 codes (-1 = missing) with
 *                           attribute levels = 1-D variable-length strings.
 *
 * Also read ("matrix layout"): a single 2-D floating-point or integer dataset
 * (n rows x p columns, row-major as HDF5 stores it) named `data` or the only
 * dataset at the root, with a 1-D string attribute `columns` of length p
 * (fixed- or variable-length strings).  Without `columns` the columns are
 * named as a header-less CSV would be (target first; see csv_read.h).
 *
 * Errors name the file and, where it applies, the dataset; a file that is not
 * HDF5 is ML_EFORMAT "not an HDF5 file".  HDF5's own error printing is
 * silenced; its messages are not shown to users.
 *
 * Limits (ML_ELIMIT when exceeded): at most 1,000,000 columns and 1,000,000
 * levels per categorical column, names and levels of at most 64 KiB, and no
 * more data than 2048 times the file's size plus 64 MiB -- far above what any
 * HDF5 compression achieves, so only a corrupt size field is refused before
 * it is allocated.  External links are not followed. */
#ifndef PF_TABLE_H5_H
#define PF_TABLE_H5_H

#include <stddef.h>
#include <stdint.h>

#include "ml_status.h"
#include "ml_table.h"

/* Read a table.  label_size applies only to the unnamed matrix layout.  On
 * success *out is a new table the caller frees with ml_table_free; on failure
 * *out is NULL.  Errors: ML_EIO (cannot open), ML_EFORMAT (not HDF5, truncated,
 * corrupt, layout violated: ragged or non-1-D columns, `columns` count
 * mismatch, duplicate names, format_version other than 1, categorical code
 * out of range), ML_ELIMIT, ML_ENOMEM, ML_EINVAL (label_size > columns). */
enum ml_status table_h5_read(const char *path, size_t label_size, struct ml_table **out,
                             struct ml_err *err);

/* Write `t` in the column layout to `path` (created or replaced), without
 * object timestamps so equal tables give byte-identical files.  The file is
 * written under a temporary name in the same directory and renamed over
 * `path` only when complete, so a failure leaves no partial file.  Errors:
 * ML_EIO, ML_ENOMEM, ML_EINVAL (a categorical code outside its levels). */
enum ml_status table_h5_write(const char *path, const struct ml_table *t, struct ml_err *err);

/* 1 if `path` is a regular file with the HDF5 signature at offset 0, or at
 * 512, 1024, 2048, ... (after a user block, as the format allows); 0
 * otherwise, without opening anything that is not a regular file (a FIFO). */
int table_h5_is_hdf5(const char *path);

#endif
