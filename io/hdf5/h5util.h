/* h5util.h: plumbing shared by the HDF5 readers and writers (tables, GAM and
 * Isolation Forest models): silencing HDF5's error printing around our calls,
 * recognising a truncated file from the error stack, and writing a file under
 * a temporary name that a stop signal removes and a rename publishes. */
#ifndef PF_H5UTIL_H
#define PF_H5UTIL_H

#include <stddef.h>

#include <hdf5.h>

#include "ml_status.h"

/* HDF5 error printing off during our calls; the caller's setting restored. */
struct h5u_quiet {
    H5E_auto2_t fn;
    void *data;
};
void h5u_quiet_begin(struct h5u_quiet *q);
void h5u_quiet_end(const struct h5u_quiet *q);

/* 1 if the current error stack says the file is shorter than its superblock
 * claims.  Must run right after the failing call: every API call clears it. */
int h5u_error_is_truncation(void);

/* Create an empty file under a fresh name next to `path` ("<path>.tmp<pid>-<n>",
 * with our own open() for a precise errno; H5Fcreate then truncates it) and
 * register it with ml_temp so a stop signal removes it. */
enum ml_status h5u_temp_create(const char *path, char *tmp, size_t cap, struct ml_err *err);

/* Finish a write begun with h5u_temp_create: when st is ML_OK, fsync tmp and
 * rename it over path; on any failure remove tmp.  Unregisters tmp and
 * returns the resulting status. */
enum ml_status h5u_temp_finish(const char *tmp, const char *path, enum ml_status st,
                               struct ml_err *err);

#endif
