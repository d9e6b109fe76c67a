/* ml_temp.h: the process-wide list of temporary files being written.
 *
 * Every writer that produces a file under a temporary name before renaming
 * it into place (model files, HDF5 tables, JSON artifacts) registers the
 * temporary name here, so that a stop signal (SageMaker's SIGTERM) can
 * remove every half-written file with async-signal-safe calls only.  The
 * list holds ML_TEMP_MAX names; registering more is a no-op for the extra
 * (they then survive a kill, never a normal run, which always unlinks or
 * renames them). */
#ifndef ML_TEMP_H
#define ML_TEMP_H

#define ML_TEMP_MAX 32

void ml_temp_register(const char *path);
void ml_temp_unregister(const char *path);
/* unlink() every registered path; safe inside a signal handler. */
void ml_temp_remove_all_signal_safe(void);

#endif
