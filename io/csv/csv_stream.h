/* csv_stream.h: read a CSV (or, through io/json/jsonl_stream.h, JSON Lines)
 * input a bounded chunk of rows at a time, for batch scoring whose memory
 * must not depend on the input's length.
 *
 * The caller names the columns it wants and how to read each (a number, or
 * text kept as a categorical level); every other column is skipped without
 * being parsed, so an ID or a timestamp column costs nothing and cannot
 * fail.  A wanted column the header lacks is an error naming it, at open.
 *
 * A cell that cannot be read (a non-number in a numeric column, a row with
 * the wrong number of fields) does not stop the stream: the row is kept in
 * the chunk, with NaN in the cell, and marked bad with the reason ("row 7
 * (line 8), column \"temp\": cannot parse \"abc\" as a number"), so the
 * caller decides whether that fails the run or skips the row.  Row numbers
 * count data rows from 1 (header and blank lines excluded); lines are
 * physical lines of the file.  What cannot be recovered from (a misplaced
 * quote, an unclosed quoted field, a field longer than max_field, a read
 * error, a corrupt gzip stream) is an error.
 *
 * CSV details are csv_read.h's: libcsv, RFC 4180 quoting, LF/CRLF/CR line
 * ends, blank lines skipped, a UTF-8 byte-order mark dropped, spaces around
 * unquoted fields (and around numbers) dropped, numbers through
 * csv_parse_double (C locale, correctly rounded), missing values "", "NA",
 * "NaN", "nan", "N/A", "null".  Input is a file, gzip (by content) or a
 * FIFO / pipe ("/dev/stdin"), read front to back once.
 *
 * Memory: a chunk holds at most chunk_rows rows plus those of one parse
 * step (min(64 chunk_rows, CSV_STREAM_SLICE) bytes), whatever the input's
 * size. */
#ifndef PF_CSV_STREAM_H
#define PF_CSV_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "ml_status.h"
#include "ml_table.h"

/* Bytes parsed per step: the granularity of a chunk's end. */
#define CSV_STREAM_SLICE ((size_t)64 << 10)

enum rs_kind {
    RS_NUMERIC = 0,   /* csv_parse_double; missing tokens are NaN */
    RS_TEXT = 1       /* kept as a categorical level (missing tokens are NaN) */
};

struct rs_column {
    const char *name;
    enum rs_kind kind;
};

/* One chunk of rows: table t has the wanted columns in the order asked for
 * (numeric or categorical), t->nrow rows.  Reused from call to call. */
struct rs_chunk {
    struct ml_table *t;
    uint64_t first_row;   /* data row number of row 0, from 1 */
    uint64_t *line;       /* physical line where row i starts */
    char **bad;           /* NULL, or why row i cannot be used (owned) */
    size_t nbad;          /* rows with bad[i] != NULL */
    size_t cap;           /* rows allocated in t, line and bad */
};

void rs_chunk_init(struct rs_chunk *c);
void rs_chunk_free(struct rs_chunk *c);
/* Drop the rows and levels, keep the allocations: a fresh table for the
 * wanted columns (used by the readers). */
enum ml_status rs_chunk_reset(struct rs_chunk *c, const struct rs_column *cols, size_t ncols,
                              struct ml_err *err);
/* Make room for row nrow (grows geometrically). */
enum ml_status rs_chunk_grow(struct rs_chunk *c, size_t need, struct ml_err *err);
/* Mark row i bad with a printf-style reason (the first reason of a row
 * wins).  Returns 0 only when out of memory. */
int rs_chunk_mark_bad(struct rs_chunk *c, size_t i, const char *fmt, ...)
    ML_ATTR_FORMAT(3, 4);
/* Remove every bad row, keeping the order of the others (and their line
 * numbers in `line`); `rowno`, if not NULL, receives the data row number of
 * each kept row (t->nrow entries after the call; room for the old nrow). */
void rs_chunk_compact(struct rs_chunk *c, uint64_t *rowno);

/* Store one cell of text s[0, len) into column j of row i: numeric
 * (numbers, missing tokens) or a level; a bad cell marks the row bad
 * naming the row, its line, the column and the value.  Shared by the CSV
 * and JSON Lines readers.  Returns 0 only when out of memory. */
int rs_store_text(struct rs_chunk *c, size_t j, size_t i, const char *s, size_t len);

struct csv_stream;

/* Open `path` (plain, gzip or FIFO; "/dev/stdin" for standard input), read
 * its header and match the wanted columns.  chunk_rows >= 1.  Errors:
 * ML_EIO, ML_EFORMAT (empty input, a malformed header, a wanted column
 * named twice in the header), ML_EDOM (a wanted column missing: named),
 * ML_ELIMIT, ML_ENOMEM; each message starts with the file name. */
enum ml_status csv_stream_open(struct csv_stream **out, const char *path, char delim,
                               const struct rs_column *cols, size_t ncols, size_t chunk_rows,
                               struct ml_err *err);
/* The same over bytes in memory (tests and fuzzing); buf must outlive the
 * stream; name is used in messages. */
enum ml_status csv_stream_open_mem(struct csv_stream **out, const char *buf, size_t len,
                                   const char *name, char delim, const struct rs_column *cols,
                                   size_t ncols, size_t chunk_rows, struct ml_err *err);

/* The header's column names (valid until close). */
size_t csv_stream_ncols(const struct csv_stream *s);
const char *csv_stream_colname(const struct csv_stream *s, size_t j);

/* The next chunk into *c (reset first): c->t->nrow == 0 at the end of the
 * input.  After an error the stream is finished (later calls repeat it). */
enum ml_status csv_stream_next(struct csv_stream *s, struct rs_chunk *c, struct ml_err *err);

/* Bytes read so far (as stored) and the data rows delivered. */
uint64_t csv_stream_bytes(const struct csv_stream *s);

void csv_stream_close(struct csv_stream *s);

#endif
