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

/* Read everything that is left (and hash it) without returning it. */
enum ml_status source_drain(struct source *s, struct ml_err *err);

/* The path given to source_open. */
const char *source_path(const struct source *s);
/* Raw (compressed, as stored) bytes read so far. */
uint64_t source_raw_bytes(const struct source *s);
/* 1 if the stream is gzip-compressed. */
int source_is_gzip(const struct source *s);
/* Lower-case hex SHA-256 of the raw bytes read so far; valid after the whole
 * file was read (source_read returned 0 or source_drain). hex has 65 bytes. */
void source_sha256_hex(struct source *s, char hex[65]);

void source_close(struct source *s);

/* SHA-256 (hex) and size of a whole file, read through the same path. */
enum ml_status source_fingerprint(const char *path, char hex[65], uint64_t *bytes,
                                  struct ml_err *err);

#endif
