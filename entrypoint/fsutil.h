/* fsutil.h: file-system helpers for the entrypoint: mkdir -p, atomic writes
 * (temporary name in the same directory, fsync, rename), and the list of
 * temporary files in flight so a stop signal can remove them. */
#ifndef PF_FSUTIL_H
#define PF_FSUTIL_H

#include <stddef.h>

#include "ml_status.h"

/* mkdir -p with mode 0755; errors name the path. */
enum ml_status fs_mkdir_p(const char *path, struct ml_err *err);

/* Write len bytes to `path` atomically: the data go to "<dir>/.<name>.tmp-<pid>",
 * are fsync'ed, and the file is renamed over `path`.  On error nothing is left
 * behind at either name. */
enum ml_status fs_write_atomic(const char *path, const void *data, size_t len,
                               struct ml_err *err);

/* First half of fs_write_atomic: write and fsync the data under a registered
 * temporary name next to `path` (returned in tmp); fs_commit or fs_abandon
 * finishes. */
enum ml_status fs_write_temp(const char *path, const void *data, size_t len, char *tmp,
                             size_t tmpcap, struct ml_err *err);

/* Two-phase variant for writers that produce a file themselves (HDF5): get a
 * temporary name next to `path` and register it; then fs_commit renames it
 * into place, or fs_abandon removes it. */
void fs_temp_name(const char *path, char *tmp, size_t cap);
void fs_temp_register(const char *tmp);
enum ml_status fs_commit(const char *tmp, const char *path, struct ml_err *err);
void fs_abandon(const char *tmp);

/* Remove every registered temporary file.  Async-signal-safe (unlink only). */
void fs_remove_temps_signal_safe(void);

/* Read a whole file (at most max bytes; ML_ELIMIT beyond).  *out is
 * NUL-terminated, freed with free(). */
enum ml_status fs_read_all(const char *path, size_t max, char **out, size_t *len,
                           struct ml_err *err);

/* List regular files and FIFOs below dir (recursively), sorted by their path
 * relative to dir (byte order), skipping hidden entries (".*") and marker
 * files ("_*", e.g. _SUCCESS).  *out is an array of *n relative paths; free
 * with fs_list_free. */
enum ml_status fs_list_files(const char *dir, char ***out, size_t *n, struct ml_err *err);
void fs_list_free(char **list, size_t n);

#endif
