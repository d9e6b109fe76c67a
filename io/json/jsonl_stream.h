/* jsonl_stream.h: read JSON Lines (one JSON object per line, keyed by column
 * name; SageMaker batch transform's application/jsonlines with
 * SplitType=Line) a bounded chunk of rows at a time, into the same chunks
 * as csv_stream.h, for the same columns.
 *
 * Each non-blank line is parsed with cJSON and must be one object; a
 * wanted column's value may be
 *   a number       the value (must be finite);
 *   a string       read as a CSV cell would be: a number, a missing token
 *                  ("", "NA", "NaN", "nan", "N/A", "null") or, for a text
 *                  column, the level;
 *   null           missing;
 *   true / false   1 / 0 (a 0/1 label written as a boolean); a text column
 *                  gets the level "true" / "false";
 * keys the caller did not ask for are ignored.  A line that is not a JSON
 * object, lacks a wanted key, or holds an array or object there marks its
 * row bad (row and line numbers as in csv_stream.h, the key named) without
 * stopping the stream: lines are independent.  Blank lines (only spaces,
 * tabs, CR) are skipped; a CR before the LF is dropped; a UTF-8 byte-order
 * mark at the start is dropped.  A line longer than JSONL_MAX_LINE bytes or
 * a read error ends the stream with an error. */
#ifndef PF_JSONL_STREAM_H
#define PF_JSONL_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "csv/csv_stream.h"
#include "ml_status.h"

#define JSONL_MAX_LINE ((size_t)4 << 20)

struct jsonl_stream;

/* Open `path` (plain, gzip or FIFO; "/dev/stdin").  Nothing is parsed yet:
 * the first chunk reports a missing key. */
enum ml_status jsonl_stream_open(struct jsonl_stream **out, const char *path,
                                 const struct rs_column *cols, size_t ncols, size_t chunk_rows,
                                 struct ml_err *err);
/* Over bytes in memory (tests, fuzzing); buf must outlive the stream. */
enum ml_status jsonl_stream_open_mem(struct jsonl_stream **out, const char *buf, size_t len,
                                     const char *name, const struct rs_column *cols,
                                     size_t ncols, size_t chunk_rows, struct ml_err *err);
/* The next chunk (c->t->nrow == 0 at the end). */
enum ml_status jsonl_stream_next(struct jsonl_stream *s, struct rs_chunk *c,
                                 struct ml_err *err);
void jsonl_stream_close(struct jsonl_stream *s);

#endif
