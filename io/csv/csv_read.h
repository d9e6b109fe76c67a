/* csv_read.h: CSV -> struct ml_table, through libcsv.
 *
 * Accepts RFC 4180 quoting, LF or CRLF line ends, a UTF-8 byte-order mark, a
 * configurable one-byte delimiter, gzip input (see source.h) and FIFOs.
 * Numbers are parsed in the C locale whatever the process locale is.  The
 * cells "", "NA", "NaN" (also "nan", "N/A", "null", case as listed) are missing
 * values (NaN).  A column listed in `categorical` keeps its strings as levels;
 * in any other column a cell that is not a number is an error naming the file,
 * line, column number and name, and the value.
 *
 * With header = 0 (SageMaker's header=absent) columns are named by position:
 * the first label_size columns are "target" (label_size = 1) or "target1",
 * "target2", ... and the rest "x1", "x2", ...: target first, as SageMaker's
 * built-in algorithms expect.
 *
 * Limits (each an error naming file and line when exceeded): a field of at
 * most max_field bytes, at most max_cols columns.
 *
 * Details decided here:
 *  - Quoting is strict: a quote inside an unquoted field, text after a closing
 *    quote, or a quoted field still open at the end of the file is an error
 *    (ML_EFORMAT), never silently merged into one huge field.
 *  - Line ends may be LF, CRLF or a lone CR.  Blank lines, and lines holding
 *    only spaces or tabs, are skipped anywhere (so in a one-column file an
 *    empty cell must be written "" to count as a missing value).
 *  - Spaces and tabs around an unquoted field are dropped; around a number
 *    they are dropped even inside quotes.  A quoted level keeps its spaces.
 *  - Numbers: see csv_parse_double.  "1e400" (overflow) is an error like any
 *    non-number; "1e-400" reads as 0 (correctly rounded underflow).
 *  - Messages give the physical line where the offending record starts
 *    (blank lines and line breaks inside quoted fields counted), the column
 *    number and name, and up to 60 bytes of the value with control bytes
 *    escaped.  NUL bytes in a column name or a level are errors.
 *  - threads > 1 splits a regular uncompressed file without any '"' byte
 *    among threads (results and messages identical to threads = 1); with a
 *    quote, gzip or a FIFO the file is read by one thread. */
#ifndef PF_CSV_READ_H
#define PF_CSV_READ_H

#include <stddef.h>
#include <stdint.h>

#include "ml_status.h"
#include "ml_table.h"

struct csv_options {
    char delim;                        /* field delimiter, default ',' */
    int header;                        /* 1: first row names the columns (default); 0: absent */
    size_t label_size;                 /* header = 0 only: leading target columns, default 1 */
    const char *const *categorical;    /* column names kept as strings (levels); may be NULL */
    size_t ncategorical;
    size_t max_field;                  /* bytes per field, default 1 MiB */
    size_t max_cols;                   /* default 10000 */
    int threads;                       /* parser threads for seekable plain files, default 1 */
};

struct csv_file_info {
    char sha256[65];                   /* hex digest of the raw bytes as stored */
    uint64_t bytes;                    /* raw bytes as stored */
    uint64_t rows;                     /* data rows (header excluded) */
    double seconds;                    /* wall time spent reading and parsing */
};

void csv_options_default(struct csv_options *o);

/* Read one CSV file (plain, gzip or FIFO).  On success *out is a new table the
 * caller frees with ml_table_free, and *info (if non-NULL) is filled.  Errors:
 * ML_EIO (open/read), ML_EFORMAT (ragged row, bad number, header-only or empty
 * file, duplicate column names, truncated gzip), ML_ELIMIT (a cap exceeded),
 * ML_ENOMEM.  Every message starts with the file name. */
enum ml_status csv_read_file(const char *path, const struct csv_options *o,
                             struct ml_table **out, struct csv_file_info *info,
                             struct ml_err *err);

/* Same from memory; `name` is used in messages.  For tests and fuzzing. */
enum ml_status csv_read_mem(const char *buf, size_t len, const char *name,
                            const struct csv_options *o, struct ml_table **out,
                            struct ml_err *err);

/* Parse a number in the C locale: the whole [s, s+len) must be a decimal or
 * exponent literal (optional sign, digits, '.', e/E exponent); returns 1 and
 * sets *out, else 0.  Correctly rounded (fast path: Clinger 1990; otherwise
 * strtod_l in the C locale).  Rejects inf/nan spellings, hex, spaces, and
 * literals that overflow to infinity; underflow gives 0 or a subnormal, as
 * strtod.  Thread-safe; never calls setlocale. */
int csv_parse_double(const char *s, size_t len, double *out);

/* Write a table as CSV with a header (doubles as %.17g, missing as empty,
 * categorical as their level, quoted when needed).  For convert and tests. */
enum ml_status csv_write_file(const char *path, const struct ml_table *t, char delim,
                              struct ml_err *err);

#endif
