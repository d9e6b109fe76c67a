/* source.h: a byte stream from a file, a gzip file or a FIFO, with the SHA-256
 * and byte count of the raw bytes as stored (the data fingerprint).
 *
 * Gzip is detected by its magic bytes (1f 8b), not the file name, so a
 * `.csv.gz` that is really plain text, or a plain name holding gzip, both read
 * correctly; multi-member gzip streams are read to the end.  A truncated or
 * corrupt gzip stream is an error naming the file and the byte offset.  FIFOs
 * (SageMaker Pipe mode) are read once, front to back: no seek, no mmap.
 * The object is owned by one thread. */
#ifndef PF_SOURCE_H
#define PF_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "ml_status.h"

struct source;

/* Open `path` for reading.  ML_EIO names the file and strerror on failure. */
enum ml_status source_open(struct source **out, const char *path, struct ml_err *err);

/* Read up to `cap` decompressed bytes into buf; *got = 0 means end of data.
 * Errors name the file. */
enum ml_status source_read(struct source *s, char *buf, size_t cap, size_t *got,
                           struct ml_err *err);

/* Regular uncompressed files only (source_is_regular && !source_is_gzip), and
 * only before the first source_read: map the whole file (st_size at open)
 * read-only and return it; the mapping lives until source_close, and
 * source_read returns 0 from now on.  The file must not shrink meanwhile
 * (SIGBUS).  Used to split one file among parser threads.  ML_EIO if mmap
 * fails (the caller may fall back to source_read). */
enum ml_status source_map(struct source *s, const char **data, size_t *len, struct ml_err *err);
/* Hash the mapped bytes (after source_map), so that source_raw_bytes and
 * source_sha256_hex cover the whole file.  May run in another thread while
 * the caller reads the mapping; nothing else may use `s` until it returns. */
enum ml_status source_map_hash(struct source *s, struct ml_err *err);

/* Read everything that is left (and hash it) without returning it. */
enum ml_status source_drain(struct source *s, struct ml_err *err);

/* The path given to source_open. */
const char *source_path(const struct source *s);
/* Raw (compressed, as stored) bytes read so far. */
uint64_t source_raw_bytes(const struct source *s);
/* 1 if the stream is gzip-compressed (known right after source_open). */
int source_is_gzip(const struct source *s);
/* 1 if the path is a regular file (not a FIFO, pipe or device): its size is
 * known up front, so a reader may load it whole and split it. */
int source_is_regular(const struct source *s);
/* st_size at open time for a regular file, else 0. */
uint64_t source_file_size(const struct source *s);
/* Lower-case hex SHA-256 of the raw bytes read so far; valid after the whole
 * file was read (source_read returned 0 or source_drain). hex has 65 bytes. */
void source_sha256_hex(struct source *s, char hex[65]);

void source_close(struct source *s);

/* SHA-256 (hex) and size of a whole file, read through the same path.  The raw
 * bytes are hashed without being inflated, so a corrupt gzip file still gets a
 * fingerprint (it fails later, when it is parsed). */
enum ml_status source_fingerprint(const char *path, char hex[65], uint64_t *bytes,
                                  struct ml_err *err);

#endif
