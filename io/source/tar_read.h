/* tar_read.h: a minimal, defensive reader of (gzip-compressed) tar archives,
 * enough for SageMaker's model artifact: model.tar.gz, the gzip'd tar of
 * /opt/ml/model that a training job uploads and a Model / Step Functions
 * pipeline passes on.
 *
 * Formats: POSIX ustar (name with its 155-byte prefix), with the pax
 * extended header's "path" record ('x', which Python's tarfile writes for
 * long names) and GNU long names ('L'); base-256 sizes.  Entries: regular
 * files ('0' or NUL) and directories ('5'); pax global headers ('g') are
 * skipped.  Everything else is refused, naming the entry: symbolic and hard
 * links (an extracted link could point outside the target), devices,
 * FIFOs, sparse files.  Names are refused when absolute, when a component is
 * "..", when empty or longer than TAR_NAME_MAX; a leading "./" is dropped.
 * Each header's checksum is verified; an archive ends with a zero block or
 * at the end of the data after a whole entry, and a truncated entry is an
 * error.  Limits (tar_limits) cap each entry's size, the total, and the
 * number of entries, so a hostile archive cannot fill the disk.
 *
 * tar_read walks an archive and hands each entry to a sink; tar_extract
 * writes them under a fresh directory (files created with O_EXCL |
 * O_NOFOLLOW, so a duplicate entry is an error and nothing outside the
 * directory is ever written). */
#ifndef PF_TAR_READ_H
#define PF_TAR_READ_H

#include <stddef.h>
#include <stdint.h>

#include "ml_status.h"

#define TAR_NAME_MAX 1024

struct tar_limits {
    uint64_t max_entry;       /* bytes of one file */
    uint64_t max_total;       /* bytes of all files */
    size_t max_entries;
};

/* 4 GiB per file, 16 GiB in all, 10000 entries. */
void tar_limits_default(struct tar_limits *l);

struct tar_sink {
    /* A directory (is_dir, size 0) or a file of `size` bytes, which `data`
     * then receives in order, then `end`. */
    enum ml_status (*begin)(void *ctx, const char *name, int is_dir, uint64_t size,
                            struct ml_err *err);
    enum ml_status (*data)(void *ctx, const void *buf, size_t n, struct ml_err *err);
    enum ml_status (*end)(void *ctx, struct ml_err *err);
    void *ctx;
};

/* Where the archive's bytes come from: fills buf with up to n bytes,
 * returns how many (0 at the end), or -1 with *err filled. */
struct tar_input {
    long (*read)(void *src, void *buf, size_t n, struct ml_err *err);
    void *src;
    const char *name;         /* for messages */
};

enum ml_status tar_read(const struct tar_input *in, const struct tar_limits *lim,
                        const struct tar_sink *sink, struct ml_err *err);

/* Extract the archive at `path` (gzip-compressed or plain: zlib's gzread
 * reads both) into the existing, empty directory `dest`.  On error the
 * files written so far stay for the caller to remove (tar_remove_tree). */
enum ml_status tar_extract(const char *path, const char *dest, const struct tar_limits *lim,
                           struct ml_err *err);

/* Remove `dir` and everything below it (no symbolic link is followed). */
void tar_remove_tree(const char *dir);

#endif
