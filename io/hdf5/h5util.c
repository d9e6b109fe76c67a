/* h5util.c: shared HDF5 plumbing (see h5util.h). */
#include "h5util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ml_temp.h"

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
