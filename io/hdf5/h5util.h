/* h5util.h: plumbing shared by the HDF5 readers and writers (tables, GAM and
 * Isolation Forest models): silencing HDF5's error printing around our calls,
 * recognising a truncated file from the error stack, and writing a file under
 * a temporary name that a stop signal removes and a rename publishes. */
#ifndef PF_H5UTIL_H
#define PF_H5UTIL_H

#include <stddef.h>
#include <stdint.h>

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

/* Open a model file (gam.h5, iforest.h5) read-only: our own checks first,
 * so the common mistakes get plain messages and a file that is not HDF5
 * never reaches the library (openable -- O_NONBLOCK, so a FIFO does not
 * hang --, a regular file, the HDF5 signature); then H5Fopen without file
 * locking (a lock refused on a network file system must not make a valid
 * model unreadable), naming a truncated file as such.  *size is the file's
 * size.  Call between h5u_quiet_begin and h5u_quiet_end. */
enum ml_status h5u_model_open(const char *path, hid_t *file, uint64_t *size,
                              struct ml_err *err);

/* Close what h5u_model_open opened; a failing close is a corrupt file. */
enum ml_status h5u_model_close(const char *path, hid_t file, struct ml_err *err);

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
