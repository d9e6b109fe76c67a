/* fuzz_h5.c: libFuzzer target for table_h5_read (io/hdf5/table_h5.c).
 *
 * HDF5 reads only from files, so each input is written to a fresh temporary
 * file under /tmp (unique name from mkstemp), read, and unlinked.  Beyond
 * "no crash, leak or UB" it checks two invariants: no HDF5 object stays open
 * after a read, success or failure (H5Fget_obj_count); and a table that was
 * read can be written and read back with the same shape.  Either failing
 * aborts, which libFuzzer reports as a crash with the input saved.
 *
 * libhdf5 itself is not instrumented (Debian's build), so coverage guides
 * only through our code; the corpus in tests/fuzz/corpus/fuzz_h5/ holds
 * small valid files of both layouts to give mutations something to bite. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "hdf5/table_h5.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* HDF5 recycles its structures through free lists, so a block leaked by a
 * corrupt file is reported with the stack of whoever first malloc'd it -- often
 * an unrelated earlier write.  Zero limits make every free go back to malloc,
 * which keeps LeakSanitizer's stacks (and tests/lsan.supp) accurate and lets
 * ASan see use-after-free inside the library. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    H5set_free_list_limits(0, 0, 0, 0, 0, 0);
    return 0;
}

static int write_temp(char *path, size_t cap, const char *stem, const uint8_t *data, size_t size)
{
    int fd;

    snprintf(path, cap, "/tmp/%s-XXXXXX", stem);
    fd = mkstemp(path);
    if (fd < 0)
        return -1;
    while (size > 0) {
        ssize_t w = write(fd, data, size);
        if (w <= 0) {
            close(fd);
            unlink(path);
            return -1;
        }
        data += w;
        size -= (size_t)w;
    }
    close(fd);
    return 0;
}

static void check_closed(const char *when)
{
    ssize_t open_objs = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);

    if (open_objs != 0) {
        fprintf(stderr, "fuzz_h5: %zd HDF5 objects left open %s\n", open_objs, when);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[64], out[64];
    struct ml_table *t = NULL, *u = NULL;
    struct ml_err err;

    if (write_temp(in, sizeof in, "fuzz_h5-in", data, size) != 0)
        return 0;
    /* label_size from the input's length: both header-less naming paths. */
    if (table_h5_read(in, size % 3, &t, &err) == ML_OK) {
        snprintf(out, sizeof out, "%s.out.h5", in);
        if (table_h5_write(out, t, &err) != ML_OK) {
            fprintf(stderr, "fuzz_h5: a table that was read cannot be written: %s\n", err.msg);
            abort();
        }
        if (table_h5_read(out, 1, &u, &err) != ML_OK || u->nrow != t->nrow ||
            u->ncol != t->ncol) {
            fprintf(stderr, "fuzz_h5: round trip failed: %s\n", err.msg);
            abort();
        }
        unlink(out);
    }
    check_closed("after table_h5_read");
    ml_table_free(t);
    ml_table_free(u);
    unlink(in);
    return 0;
}
