/* h5util.c: shared HDF5 plumbing (see h5util.h). */
#include "h5util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ml_temp.h"
#include "table_h5.h"

void h5u_quiet_begin(struct h5u_quiet *q)
{
    q->fn = NULL;
    q->data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &q->fn, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void h5u_quiet_end(const struct h5u_quiet *q)
{
    H5Eset_auto2(H5E_DEFAULT, q->fn, q->data);
}

static herr_t find_truncated_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    (void)n;
    if (e->min_num == H5E_TRUNCATED)
        *(int *)data = 1;
    return 0;
}

int h5u_error_is_truncation(void)
{
    int found = 0;

    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, find_truncated_cb, &found);
    return found;
}

enum ml_status h5u_temp_create(const char *path, char *tmp, size_t cap, struct ml_err *err)
{
    static atomic_uint seq;
    unsigned tries;
    int fd;

    for (tries = 0; tries < 100; tries++) {
        int len = snprintf(tmp, cap, "%s.tmp%ld-%u", path, (long)getpid(),
                           atomic_fetch_add(&seq, 1u));
        if (len < 0 || (size_t)len >= cap)
            ML_FAIL(err, ML_EINVAL, "%s: path too long", path);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            close(fd);
            ml_temp_register(tmp); /* removed by a stop signal if still here */
            return ML_OK;
        }
        if (errno != EEXIST)
            ML_FAIL(err, ML_EIO, "%s: cannot create a file in its directory: %s", path,
                    strerror(errno));
    }
    ML_FAIL(err, ML_EIO, "%s: cannot find a free temporary name", path);
}

/* fsync by name; file systems that cannot sync (FUSE, pipes) are no failure. */
static int sync_file(const char *name)
{
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    int rc;

    if (fd < 0)
        return -1;
    rc = fsync(fd);
    if (rc != 0 && errno == EINVAL)
        rc = 0;
    close(fd);
    return rc;
}

enum ml_status h5u_temp_finish(const char *tmp, const char *path, enum ml_status st,
                               struct ml_err *err)
{
    if (!st && sync_file(tmp) != 0)
        st = ml_fail(err, ML_EIO, __FILE__, __LINE__, "%s: cannot flush to disk: %s", path,
                     strerror(errno));
    if (!st && rename(tmp, path) != 0)
        st = ml_fail(err, ML_EIO, __FILE__, __LINE__,
                     "%s: cannot rename the finished file into place: %s", path, strerror(errno));
    if (st)
        unlink(tmp);
    ml_temp_unregister(tmp);
    return st;
}

enum ml_status h5u_model_open(const char *path, hid_t *file, uint64_t *size,
                              struct ml_err *err)
{
    struct stat sb;
    hid_t fapl;
    int fd, truncated;

    *file = H5I_INVALID_HID;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        ML_FAIL(err, ML_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0) {
        int e = errno;

        close(fd);
        ML_FAIL(err, ML_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    close(fd);
    if (!S_ISREG(sb.st_mode))
        ML_FAIL(err, ML_EFORMAT, "%s: not a regular file", path);
    if (!table_h5_is_hdf5(path))
        ML_FAIL(err, ML_EFORMAT, "%s: not an HDF5 file (no HDF5 signature)", path);
    *size = (uint64_t)sb.st_size;
    fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        ML_FAIL(err, ML_EINTERNAL, "%s: cannot set up HDF5 property lists", path);
#if H5_VERSION_GE(1, 10, 7)
    H5Pset_file_locking(fapl, 0, 1);
#endif
    *file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    /* before any other API call, which would clear the error stack */
    truncated = *file < 0 && h5u_error_is_truncation();
    H5Pclose(fapl);
    if (truncated)
        ML_FAIL(err, ML_EFORMAT,
                "%s: truncated HDF5 file (%llu bytes, shorter than its header declares)", path,
                (unsigned long long)*size);
    if (*file < 0)
        ML_FAIL(err, ML_EFORMAT, "%s: corrupt model file: the HDF5 library cannot open it",
                path);
    return ML_OK;
}

enum ml_status h5u_model_close(const char *path, hid_t file, struct ml_err *err)
{
    if (file >= 0 && H5Fclose(file) < 0)
        ML_FAIL(err, ML_EFORMAT, "%s: corrupt model file: error closing it", path);
    return ML_OK;
}
