/* table_h5.c: struct ml_table <-> HDF5, in the two layouts table_h5.h documents.
 *
 * Entry points: table_h5_read (column layout, or a 2-D matrix), table_h5_write
 * (column layout, format_version 1) and table_h5_is_hdf5 (signature sniffing).
 *
 * Defences, in the order a hostile or broken file meets them:
 *  - the HDF5 signature is checked by hand before libhdf5 sees the file, so a
 *    CSV passed by mistake is "not an HDF5 file" and never reaches the library;
 *  - HDF5's automatic error printing is switched off for the duration of each
 *    call (and the caller's handler restored), and failures become our own
 *    messages naming the file and dataset;
 *  - external links are never traversed, so a file cannot make us open others;
 *  - every size read from the file is checked before anything is allocated
 *    (see TABLE_H5_* below): a corrupt dataspace cannot make us allocate or
 *    fill gigabytes.
 * Writing goes to a temporary file next to the target, which is renamed over
 * it only after H5Fclose and fsync succeeded, so a failure never leaves a
 * half-written table under the requested name.  Object timestamps are off
 * (H5Pset_obj_track_times) so that equal tables give byte-identical files.
 *
 * References: HDF5 File Format Specification 3.0, section II.A (superblock
 * signature and its search at 0, 512, 1024, 2048 ... bytes); HDF5 1.10 C API
 * reference (H5Pset_obj_track_times, H5Pset_elink_cb, H5Pset_libver_bounds). */
#include "table_h5.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "h5util.h"

/* Caps on what a file may declare (each exceeded cap is ML_ELIMIT). */
#define TABLE_H5_MAX_COLS 1000000u    /* columns in one table */
#define TABLE_H5_MAX_LEVELS 1000000u  /* levels of one categorical column */
#define TABLE_H5_MAX_STR 65536u       /* bytes in one column name or level */

/* A dataset may declare more data than the file stores: compressed chunks,
 * or storage never written (it then reads as the fill value).  Deflate, the
 * usual HDF5 filter, cannot exceed about 1032:1, so a table that would need
 * more than TABLE_H5_EXPANSION times the file's size (plus a fixed allowance
 * for small files of fill values) is not real data but a corrupt or hostile
 * size field, and is refused before allocating it. */
#define TABLE_H5_EXPANSION 2048u
#define TABLE_H5_SLACK ((uint64_t)64 << 20)

/* Rows of a matrix-layout dataset converted per H5Dread: bounds the scratch
 * buffer to about 8 MiB whatever the table's size. */
#define TABLE_H5_BLOCK_CELLS ((size_t)1 << 20)

#if H5_VERSION_GE(1, 12, 0)
#define VLEN_RECLAIM(type, space, buf) H5Treclaim((type), (space), H5P_DEFAULT, (buf))
#else
#define VLEN_RECLAIM(type, space, buf) H5Dvlen_reclaim((type), (space), H5P_DEFAULT, (buf))
#endif

static const char h5_signature[8] = {'\211', 'H', 'D', 'F', '\r', '\n', '\032', '\n'};

/* Refuse to follow any external link: a table file must be self-contained,
 * and following one would open a file named by the input. */
static herr_t deny_elink_cb(const char *parent_file, const char *parent_group,
                            const char *child_file, const char *child_object,
                            unsigned *acc_flags, hid_t fapl, void *op_data)
{
    (void)parent_file;
    (void)parent_group;
    (void)child_file;
    (void)child_object;
    (void)acc_flags;
    (void)fapl;
    (void)op_data;
    return -1;
}

/* ---------------------------------------------------------------------------
 * Signature. */

/* Search the superblock signature at 0, 512, 1024, 2048 ... below `size`,
 * the places the format allows a user block to push it to. */
static int fd_has_signature(int fd, uint64_t size)
{
    uint64_t off;
    char buf[8];

    for (off = 0; off + sizeof buf <= size; off = off ? 2 * off : 512) {
        if (pread(fd, buf, sizeof buf, (off_t)off) != (ssize_t)sizeof buf)
            return 0;
        if (memcmp(buf, h5_signature, sizeof buf) == 0)
            return 1;
        if (off > UINT64_MAX / 4)
            break;
    }
    return 0;
}

int table_h5_is_hdf5(const char *path)
{
    struct stat sb;
    int fd, yes;

    /* Only regular files: opening a FIFO (SageMaker Pipe mode) would block or
     * consume bytes that the CSV reader needs, and HDF5 cannot stream anyway. */
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    yes = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && fd_has_signature(fd, (uint64_t)sb.st_size);
    close(fd);
    return yes;
}

/* ---------------------------------------------------------------------------
 * Global heap check.
 *
 * Variable-length strings (our `columns`, `levels` and `name` attributes) live
 * in global heap collections ("GCOL").  HDF5 1.10.8 does not check the object
 * sizes recorded in a collection against the collection's own size when it
 * decodes one (H5HG__cache_heap_deserialize), and H5HG_read then copies that
 * many bytes out of a buffer of the collection's size: a heap over-read found
 * by tests/fuzz/fuzz_h5.c.  So before HDF5 decodes any collection we walk
 * every one in the file the way the library will and refuse an object that
 * overruns its collection.  Layout: HDF5 File Format Specification 3.0,
 * section III.E (Global Heap): "GCOL", version 1, 3 reserved bytes, the
 * collection size (a length), then objects of index (2), reference count (2),
 * reserved (4), size (a length) and data padded to 8 bytes; index 0 is the
 * free space, and a tail shorter than an object header is padding.  The
 * walk mirrors the library's, so everything it would trust is checked.
 * The scan also sees raw data, so a false match is possible in principle: an
 * int64 dataset holding 5575230279 ("GCOL" 1 0 0 0) followed by values that
 * read as an overrunning object table would be refused.  Float data cannot
 * match (those bytes are a denormal near 3e-314) and int32 categorical codes
 * stay far below 0x4C4F4347, so we accept that over a heap over-read. */

static uint64_t decode_le(const unsigned char *p, unsigned n)
{
    uint64_t v = 0;

    while (n-- > 0)
        v = (v << 8) | p[n];
    return v;
}

/* Size of lengths from the superblock at `sb` (0 if unknown). */
static unsigned superblock_length_size(const unsigned char *sb, uint64_t avail)
{
    unsigned n;

    if (avail < 16)
        return 0;
    n = sb[8] <= 1 ? sb[14] : sb[10]; /* superblock versions 0/1 vs 2/3 */
    return n == 2 || n == 4 || n == 8 ? n : 0;
}

/* 0 if every collection in img[0, size) is consistent, else the file offset of
 * the first bad one (never 0: offset 0 holds the superblock or user block). */
static uint64_t find_bad_global_heap(const unsigned char *img, uint64_t size, unsigned len_size)
{
    static const unsigned char magic[8] = {'G', 'C', 'O', 'L', 1, 0, 0, 0};
    const unsigned char *p = img, *end = img + size;
    uint64_t hdr = 8 + (uint64_t)len_size;  /* collection and object header sizes */

    while ((p = memmem(p, (size_t)(end - p), magic, sizeof magic)) != NULL) {
        uint64_t off = (uint64_t)(p - img), csize, pos;

        if (size - off < hdr)
            break;
        csize = decode_le(p + 8, len_size);
        /* A collection running past the end of the file is refused by HDF5
         * itself (address beyond the end of allocation); walk what is here. */
        if (csize > size - off)
            csize = size - off;
        if (csize < hdr) {  /* no room for objects: nothing the library trusts */
            p += sizeof magic;
            continue;
        }
        pos = hdr;
        while (csize - pos >= hdr) {
            uint64_t idx = decode_le(p + pos, 2);
            uint64_t osize = decode_le(p + pos + 8, len_size);
            uint64_t need;

            /* The free-space object's size includes its header and is not
             * padded; the library steps by it, so 0 would loop forever (a
             * hang the fuzzer found) and more than is left overruns. */
            if (idx == 0)
                need = osize;
            else if (osize > csize)
                return off;
            else
                need = hdr + ((osize + 7) & ~(uint64_t)7);
            if (need == 0 || need > csize - pos)
                return off;
            pos += need;
        }
        p += sizeof magic;
    }
    return 0;
}

/* Cost: one sequential pass over the mapped file (memmem runs at memory
 * speed), which the page cache then serves to the dataset reads that follow. */
static enum ml_status check_global_heaps(const char *path, struct ml_err *err)
{
    struct stat sb;
    unsigned char *img;
    uint64_t size, bad = 0, sig;
    unsigned len_size;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        ML_FAIL(err, ML_EIO, "%s: cannot open: %s", path, strerror(e));
    }
    size = (uint64_t)sb.st_size;
    if (size == 0 || size > SIZE_MAX) {
        close(fd);
        return ML_OK;
    }
    img = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (img == MAP_FAILED)
        ML_FAIL(err, ML_EIO, "%s: cannot map the file to check it: %s", path, strerror(errno));
    for (sig = 0; sig + 8 <= size; sig = sig ? 2 * sig : 512)
        if (memcmp(img + sig, h5_signature, 8) == 0)
            break;
    len_size = sig + 8 <= size ? superblock_length_size(img + sig, size - sig) : 0;
    if (len_size)
        bad = find_bad_global_heap(img, size, len_size);
    munmap(img, (size_t)size);
    if (!len_size)
        ML_FAIL(err, ML_EFORMAT, "%s: corrupt HDF5 superblock (size of lengths)", path);
    if (bad)
        ML_FAIL(err, ML_EFORMAT,
                "%s: corrupt HDF5 file: the global heap collection at byte %llu has an object "
                "that does not fit in it",
                path, (unsigned long long)bad);
    return ML_OK;
}

/* ---------------------------------------------------------------------------
 * Reading. */

struct rd {
    const char *path;
    hid_t file;
    hid_t lapl;             /* link access: external links denied */
    uint64_t file_size;     /* bytes, from stat */
    uint64_t budget;        /* bytes the table's data may still take */
    struct ml_err *err;
};

/* Charge `bytes` (= count * size, checked) to the table's budget. */
static enum ml_status charge(struct rd *r, uint64_t count, uint64_t size, const char *what)
{
    if (size && count > UINT64_MAX / size)
        ML_FAIL(r->err, ML_ELIMIT, "%s: %s declares %llu rows of %llu bytes: too large",
                r->path, what, (unsigned long long)count, (unsigned long long)size);
    if (count * size > r->budget || count * size > SIZE_MAX / 2)
        ML_FAIL(r->err, ML_ELIMIT,
                "%s: %s declares %llu rows (%llu bytes), more than a %llu-byte file can "
                "plausibly hold; refusing it as corrupt",
                r->path, what, (unsigned long long)count, (unsigned long long)(count * size),
                (unsigned long long)r->file_size);
    r->budget -= count * size;
    return ML_OK;
}

static void free_strs(char **s, size_t n)
{
    size_t i;

    if (!s)
        return;
    for (i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

static char *dup_len(const char *s, size_t len)
{
    char *d = malloc(len + 1);

    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

/* Number of elements of a dataspace of rank <= 1 (null: 0, scalar: 1) in *n;
 * ML_EFORMAT naming `what` when it has more dimensions. */
static enum ml_status space_count_1d(struct rd *r, hid_t space, const char *what, uint64_t *n)
{
    H5S_class_t cls = H5Sget_simple_extent_type(space);
    hsize_t dims[1];
    int rank;

    if (cls == H5S_NULL) {
        *n = 0;
        return ML_OK;
    }
    if (cls == H5S_SCALAR) {
        *n = 1;
        return ML_OK;
    }
    rank = H5Sget_simple_extent_ndims(space);
    if (cls != H5S_SIMPLE || rank < 0)
        ML_FAIL(r->err, ML_EFORMAT, "%s: %s has an unreadable dataspace", r->path, what);
    if (rank != 1)
        ML_FAIL(r->err, ML_EFORMAT, "%s: %s has rank %d, expected 1", r->path, what, rank);
    if (H5Sget_simple_extent_dims(space, dims, NULL) < 0)
        ML_FAIL(r->err, ML_EFORMAT, "%s: %s has an unreadable dataspace", r->path, what);
    *n = dims[0];
    return ML_OK;
}

/* Read string attribute `name` of `obj` (described as `where` in messages)
 * into *out: an array of *n malloc'd strings.  Accepts fixed-length (any
 * padding) and variable-length strings, scalar or 1-D.  When the attribute is
 * absent: *out = NULL, *n = 0, and ML_OK unless `required`. */
static enum ml_status read_str_attr(struct rd *r, hid_t obj, const char *where, const char *name,
                                    int required, size_t max_n, char ***out, size_t *n)
{
    enum ml_status st = ML_OK;
    hid_t attr = H5I_INVALID_HID, ftype = H5I_INVALID_HID, mtype = H5I_INVALID_HID;
    hid_t space = H5I_INVALID_HID;
    char **strs = NULL, **vbuf = NULL, *fbuf = NULL;
    char what[512];
    uint64_t count = 0;
    size_t i, size = 0;
    htri_t exists, vlen;

    *out = NULL;
    *n = 0;
    snprintf(what, sizeof what, "attribute %s of %s", name, where);
    exists = H5Aexists(obj, name);
    if (exists < 0)
        ML_FAIL(r->err, ML_EFORMAT, "%s: cannot read the attributes of %s", r->path, where);
    if (!exists) {
        if (required)
            ML_FAIL(r->err, ML_EFORMAT, "%s: %s has no `%s` attribute", r->path, where, name);
        return ML_OK;
    }
    attr = H5Aopen(obj, name, H5P_DEFAULT);
    if (attr < 0) {
        st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__, "%s: cannot open %s", r->path,
                     what);
        goto cleanup;
    }
    ftype = H5Aget_type(attr);
    space = H5Aget_space(attr);
    if (ftype < 0 || space < 0) {
        st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__, "%s: cannot read %s", r->path, what);
        goto cleanup;
    }
    if (H5Tget_class(ftype) != H5T_STRING) {
        st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__, "%s: %s is not of a string type",
                     r->path, what);
        goto cleanup;
    }
    st = space_count_1d(r, space, what, &count);
    if (st)
        goto cleanup;
    if (count > max_n) {
        st = ml_fail(r->err, ML_ELIMIT, __FILE__, __LINE__,
                     "%s: %s has %llu strings, more than the limit of %zu", r->path, what,
                     (unsigned long long)count, max_n);
        goto cleanup;
    }
    vlen = H5Tis_variable_str(ftype);
    if (vlen < 0) {
        st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__, "%s: cannot read %s", r->path, what);
        goto cleanup;
    }
    if (!vlen) {
        size = H5Tget_size(ftype);
        if (size == 0 || size > TABLE_H5_MAX_STR) {
            st = ml_fail(r->err, ML_ELIMIT, __FILE__, __LINE__,
                         "%s: %s holds strings of %zu bytes; the limit is %u", r->path, what,
                         size, TABLE_H5_MAX_STR);
            goto cleanup;
        }
        /* Attribute data is stored uncompressed, so it cannot exceed the file. */
        if (count * size > r->file_size) {
            st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__,
                         "%s: %s declares %llu bytes, more than the file holds", r->path, what,
                         (unsigned long long)(count * size));
            goto cleanup;
        }
    }
    strs = calloc(count ? (size_t)count : 1, sizeof *strs);
    if (!strs) {
        st = ml_fail(r->err, ML_ENOMEM, __FILE__, __LINE__, "%s: out of memory reading %s",
                     r->path, what);
        goto cleanup;
    }
    if (count == 0)
        goto done;
    if (vlen) {
        mtype = H5Tcopy(H5T_C_S1);
        if (mtype < 0 || H5Tset_size(mtype, H5T_VARIABLE) < 0 ||
            H5Tset_cset(mtype, H5Tget_cset(ftype)) < 0) {
            st = ml_fail(r->err, ML_EINTERNAL, __FILE__, __LINE__,
                         "%s: cannot set up a string type to read %s", r->path, what);
            goto cleanup;
        }
        vbuf = calloc((size_t)count, sizeof *vbuf);
        if (!vbuf) {
            st = ml_fail(r->err, ML_ENOMEM, __FILE__, __LINE__, "%s: out of memory reading %s",
                         r->path, what);
            goto cleanup;
        }
        if (H5Aread(attr, mtype, vbuf) < 0) {
            /* The library owns whatever it allocated before failing. */
            free(vbuf);
            vbuf = NULL;
            st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__, "%s: cannot read %s", r->path,
                         what);
            goto cleanup;
        }
        for (i = 0; i < count && !st; i++) {
            const char *s = vbuf[i] ? vbuf[i] : "";
            size_t len = strlen(s);

            if (len > TABLE_H5_MAX_STR)
                st = ml_fail(r->err, ML_ELIMIT, __FILE__, __LINE__,
                             "%s: %s: string %zu is %zu bytes long; the limit is %u", r->path,
                             what, i + 1, len, TABLE_H5_MAX_STR);
            else if (!(strs[i] = dup_len(s, len)))
                st = ml_fail(r->err, ML_ENOMEM, __FILE__, __LINE__,
                             "%s: out of memory reading %s", r->path, what);
        }
        VLEN_RECLAIM(mtype, space, vbuf);
        if (st)
            goto cleanup;
    } else {
        H5T_str_t pad = H5Tget_strpad(ftype);

        /* The file type is a valid memory type for strings (no byte order). */
        mtype = H5Tcopy(ftype);
        fbuf = malloc((size_t)count * size);
        if (mtype < 0 || !fbuf) {
            st = ml_fail(r->err, ML_ENOMEM, __FILE__, __LINE__, "%s: out of memory reading %s",
                         r->path, what);
            goto cleanup;
        }
        if (H5Aread(attr, mtype, fbuf) < 0) {
            st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__, "%s: cannot read %s", r->path,
                         what);
            goto cleanup;
        }
        for (i = 0; i < count; i++) {
            const char *s = fbuf + i * size;
            size_t len = strnlen(s, size);

            if (pad == H5T_STR_SPACEPAD)
                while (len > 0 && s[len - 1] == ' ')
                    len--;
            strs[i] = dup_len(s, len);
            if (!strs[i]) {
                st = ml_fail(r->err, ML_ENOMEM, __FILE__, __LINE__,
                             "%s: out of memory reading %s", r->path, what);
                goto cleanup;
            }
        }
    }
done:
    *out = strs;
    *n = (size_t)count;
    strs = NULL;
cleanup:
    free_strs(strs, (size_t)count);
    free(vbuf);
    free(fbuf);
    if (mtype >= 0)
        H5Tclose(mtype);
    if (ftype >= 0)
        H5Tclose(ftype);
    if (space >= 0)
        H5Sclose(space);
    if (attr >= 0)
        H5Aclose(attr);
    return st;
}

/* Scalar (or one-element) integer attribute; *present = 0 when absent. */
static enum ml_status read_int_attr(struct rd *r, hid_t obj, const char *where, const char *name,
                                    long long *v, int *present)
{
    enum ml_status st = ML_OK;
    hid_t attr = H5I_INVALID_HID, ftype = H5I_INVALID_HID, space = H5I_INVALID_HID;
    uint64_t count = 0;
    char what[512];
    htri_t exists;

    *present = 0;
    snprintf(what, sizeof what, "attribute %s of %s", name, where);
    exists = H5Aexists(obj, name);
    if (exists < 0)
        ML_FAIL(r->err, ML_EFORMAT, "%s: cannot read the attributes of %s", r->path, where);
    if (!exists)
        return ML_OK;
    attr = H5Aopen(obj, name, H5P_DEFAULT);
    ftype = attr >= 0 ? H5Aget_type(attr) : H5I_INVALID_HID;
    space = attr >= 0 ? H5Aget_space(attr) : H5I_INVALID_HID;
    if (attr < 0 || ftype < 0 || space < 0) {
        st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__, "%s: cannot read %s", r->path, what);
        goto cleanup;
    }
    if (H5Tget_class(ftype) != H5T_INTEGER) {
        st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__, "%s: %s is not an integer",
                     r->path, what);
        goto cleanup;
    }
    st = space_count_1d(r, space, what, &count);
    if (st)
        goto cleanup;
    if (count != 1) {
        st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__,
                     "%s: %s has %llu values, expected one", r->path, what,
                     (unsigned long long)count);
        goto cleanup;
    }
    if (H5Aread(attr, H5T_NATIVE_LLONG, v) < 0) {
        st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__, "%s: cannot read %s", r->path, what);
        goto cleanup;
    }
    *present = 1;
cleanup:
    if (ftype >= 0)
        H5Tclose(ftype);
    if (space >= 0)
        H5Sclose(space);
    if (attr >= 0)
        H5Aclose(attr);
    return st;
}

/* 1 if `name` in `loc` is a link (hard or soft) to an object of `type`. */
static int is_object(struct rd *r, hid_t loc, const char *name, H5I_type_t type)
{
    hid_t obj;
    int yes;

    if (H5Lexists(loc, name, r->lapl) <= 0)
        return 0;
    obj = H5Oopen(loc, name, r->lapl);
    if (obj < 0)
        return 0;
    yes = H5Iget_type(obj) == type;
    H5Oclose(obj);
    return yes;
}

/* 1 if the integer or floating-point type `t` has a layout HDF5 converts
 * safely.  The library takes sizes and bit fields from the file as given, and
 * a corrupt size makes H5Dread allocate conversion buffers of gigabytes (the
 * fuzzer found a 4 GB "integer"), so only what real writers produce passes:
 * 1-8 byte integers, 2-16 byte floats, little- or big-endian, every bit field
 * inside the type. */
static int numeric_type_ok(hid_t t, H5T_class_t cls)
{
    size_t size = H5Tget_size(t), prec = H5Tget_precision(t), bits = 8 * size;
    size_t spos, epos, esize, mpos, msize;
    H5T_order_t order = H5Tget_order(t);
    int off = H5Tget_offset(t);

    if (order != H5T_ORDER_LE && order != H5T_ORDER_BE)
        return 0;
    if (cls == H5T_INTEGER ? size < 1 || size > 8 : size < 2 || size > 16)
        return 0;
    if (prec < 1 || off < 0 || (size_t)off + prec > bits)
        return 0;
    if (cls == H5T_INTEGER)
        return 1;
    if (H5Tget_fields(t, &spos, &epos, &esize, &mpos, &msize) < 0)
        return 0;
    return spos < bits && esize >= 1 && esize <= 32 && epos + esize <= bits && msize >= 1 &&
           mpos + msize <= bits;
}

/* Open dataset `name` in `loc` and check its type is numeric.  `what` names
 * it in messages. */
static enum ml_status open_numeric(struct rd *r, hid_t loc, const char *name, const char *what,
                                   int integer_only, hid_t *dset)
{
    H5T_class_t cls;
    hid_t ftype;
    int ok = 0;

    *dset = H5Dopen2(loc, name, H5P_DEFAULT);
    if (*dset < 0)
        ML_FAIL(r->err, ML_EFORMAT, "%s: cannot open %s", r->path, what);
    ftype = H5Dget_type(*dset);
    cls = ftype >= 0 ? H5Tget_class(ftype) : H5T_NO_CLASS;
    if (cls == H5T_INTEGER || (!integer_only && cls == H5T_FLOAT))
        ok = numeric_type_ok(ftype, cls) ? 1 : -1;
    if (ftype >= 0)
        H5Tclose(ftype);
    if (ok > 0)
        return ML_OK;
    H5Dclose(*dset);
    *dset = H5I_INVALID_HID;
    if (ok < 0)
        ML_FAIL(r->err, ML_EFORMAT, "%s: %s has a corrupt or unsupported number type", r->path,
                what);
    if (integer_only)
        ML_FAIL(r->err, ML_EFORMAT,
                "%s: %s has `levels` (categorical) but does not hold integer codes", r->path,
                what);
    ML_FAIL(r->err, ML_EFORMAT, "%s: %s holds neither floating-point numbers nor integers",
            r->path, what);
}

/* The column layout: /columns/<j>, see table_h5.h. */
static enum ml_status read_column_layout(struct rd *r, struct ml_table **out)
{
    enum ml_status st = ML_OK;
    hid_t group = H5I_INVALID_HID, dset = H5I_INVALID_HID, space = H5I_INVALID_HID;
    struct ml_table *t = NULL;
    enum ml_coltype *types = NULL;
    char **names = NULL, **fmt = NULL, **attr = NULL;
    size_t p = 0, nfmt = 0, nattr = 0, j, i;
    uint64_t nrow = 0, len;
    long long version = 0;
    int present;
    H5G_info_t ginfo;
    char dname[32], what[256];

    st = read_str_attr(r, r->file, "the root group", "plantfit_format", 0, 1, &fmt, &nfmt);
    if (st)
        goto cleanup;
    if (nfmt == 1 && strcmp(fmt[0], "table") != 0) {
        st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__,
                     "%s: plantfit_format is \"%.100s\", not \"table\": not a data table",
                     r->path, fmt[0]);
        goto cleanup;
    }
    st = read_int_attr(r, r->file, "the root group", "format_version", &version, &present);
    if (st)
        goto cleanup;
    if (!present) {
        st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__,
                     "%s: column layout without a format_version attribute at the root",
                     r->path);
        goto cleanup;
    }
    if (version != 1) {
        st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__,
                     "%s: format_version %lld is not supported (this plantfit reads version 1%s)",
                     r->path, version, version > 1 ? "; a newer plantfit wrote it" : "");
        goto cleanup;
    }
    st = read_str_attr(r, r->file, "the root group", "columns", 1, TABLE_H5_MAX_COLS, &names, &p);
    if (st)
        goto cleanup;
    if (!is_object(r, r->file, "columns", H5I_GROUP)) {
        st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__, "%s: no group /columns", r->path);
        goto cleanup;
    }
    group = H5Gopen2(r->file, "columns", H5P_DEFAULT);
    if (group < 0 || H5Gget_info(group, &ginfo) < 0) {
        st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__, "%s: cannot open group /columns",
                     r->path);
        goto cleanup;
    }
    if (ginfo.nlinks != p) {
        st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__,
                     "%s: the `columns` attribute names %zu columns but /columns holds %llu "
                     "objects",
                     r->path, p, (unsigned long long)ginfo.nlinks);
        goto cleanup;
    }
    types = calloc(p ? p : 1, sizeof *types);
    if (!types) {
        st = ml_fail(r->err, ML_ENOMEM, __FILE__, __LINE__, "%s: out of memory", r->path);
        goto cleanup;
    }

    /* Pass 1: shapes, types and names, before anything big is allocated. */
    for (j = 0; j < p; j++) {
        htri_t has_levels;

        snprintf(dname, sizeof dname, "%zu", j);
        snprintf(what, sizeof what, "dataset /columns/%zu (column \"%.100s\")", j, names[j]);
        if (!is_object(r, group, dname, H5I_DATASET)) {
            st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__, "%s: %s is missing", r->path,
                         what);
            goto cleanup;
        }
        has_levels = H5Aexists_by_name(group, dname, "levels", r->lapl);
        if (has_levels < 0) {
            st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__,
                         "%s: cannot read the attributes of %s", r->path, what);
            goto cleanup;
        }
        types[j] = has_levels ? ML_COL_CATEGORICAL : ML_COL_NUMERIC;
        st = open_numeric(r, group, dname, what, has_levels > 0, &dset);
        if (st)
            goto cleanup;
        space = H5Dget_space(dset);
        if (space < 0) {
            st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__, "%s: cannot read %s",
                         r->path, what);
            goto cleanup;
        }
        if (H5Sget_simple_extent_type(space) != H5S_SIMPLE) {
            st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__,
                         "%s: %s is not a 1-D array (rank 0)", r->path, what);
            goto cleanup;
        }
        st = space_count_1d(r, space, what, &len);
        if (st)
            goto cleanup;
        if (j == 0) {
            nrow = len;
        } else if (len != nrow) {
            st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__,
                         "%s: %s has %llu rows but /columns/0 has %llu: all columns must have "
                         "the same length",
                         r->path, what, (unsigned long long)len, (unsigned long long)nrow);
            goto cleanup;
        }
        st = read_str_attr(r, dset, what, "name", 0, 1, &attr, &nattr);
        if (st)
            goto cleanup;
        if (nattr == 1 && strcmp(attr[0], names[j]) != 0) {
            st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__,
                         "%s: %s has name attribute \"%.100s\", but the root `columns` "
                         "attribute says \"%.100s\"",
                         r->path, what, attr[0], names[j]);
            goto cleanup;
        }
        free_strs(attr, nattr);
        attr = NULL;
        H5Sclose(space);
        space = H5I_INVALID_HID;
        H5Dclose(dset);
        dset = H5I_INVALID_HID;
    }
    st = charge(r, nrow, (uint64_t)p * sizeof(double), "the table");
    if (st)
        goto cleanup;
    st = ml_table_alloc(&t, p, (const char *const *)names, types, r->err);
    if (st) {
        ml_err_prefix(r->err, "%s: ", r->path);
        goto cleanup;
    }
    st = ml_table_reserve(t, (size_t)nrow, r->err);
    if (st) {
        ml_err_prefix(r->err, "%s: ", r->path);
        goto cleanup;
    }

    /* Pass 2: levels and values. */
    for (j = 0; j < p; j++) {
        struct ml_column *c = &t->col[j];

        snprintf(dname, sizeof dname, "%zu", j);
        snprintf(what, sizeof what, "dataset /columns/%zu (column \"%.100s\")", j, names[j]);
        dset = H5Dopen2(group, dname, H5P_DEFAULT);
        if (dset < 0) {
            st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__, "%s: cannot open %s", r->path,
                         what);
            goto cleanup;
        }
        if (c->type == ML_COL_CATEGORICAL) {
            char **lv = NULL;
            size_t nlv = 0, l;

            st = read_str_attr(r, dset, what, "levels", 1, TABLE_H5_MAX_LEVELS, &lv, &nlv);
            for (l = 0; l < nlv && !st; l++) {
                double code;

                st = ml_table_level(t, j, lv[l], strlen(lv[l]), &code, r->err);
                if (!st && code != (double)l)
                    st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__,
                                 "%s: %s lists level \"%.100s\" twice", r->path, what, lv[l]);
            }
            free_strs(lv, nlv);
            if (st)
                goto cleanup;
        }
        if (nrow > 0 && H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, c->v) < 0) {
            st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__,
                         "%s: cannot read the values of %s (corrupt file?)", r->path, what);
            goto cleanup;
        }
        if (c->type == ML_COL_CATEGORICAL) {
            for (i = 0; i < nrow; i++) {
                double x = c->v[i];

                if (x == -1.0) {
                    c->v[i] = NAN;
                } else if (!(x >= 0 && x < (double)c->nlevels)) {
                    st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__,
                                 "%s: %s: row %zu has code %.0f, expected -1 (missing) or "
                                 "0..%zu (one of its %zu levels)",
                                 r->path, what, i + 1, x, c->nlevels ? c->nlevels - 1 : 0,
                                 c->nlevels);
                    goto cleanup;
                }
            }
        }
        H5Dclose(dset);
        dset = H5I_INVALID_HID;
    }
    t->nrow = (size_t)nrow;
    *out = t;
    t = NULL;
cleanup:
    ml_table_free(t);
    free(types);
    free_strs(names, p);
    free_strs(fmt, nfmt);
    free_strs(attr, nattr);
    if (space >= 0)
        H5Sclose(space);
    if (dset >= 0)
        H5Dclose(dset);
    if (group >= 0)
        H5Gclose(group);
    return st;
}

struct find_state {
    struct rd *r;
    size_t ndatasets;
    char name[256];
    int name_too_long;
};

static herr_t find_dataset_cb(hid_t loc, const char *name, const H5L_info_t *info, void *data)
{
    struct find_state *s = data;

    if (info->type != H5L_TYPE_HARD && info->type != H5L_TYPE_SOFT)
        return 0;
    if (!is_object(s->r, loc, name, H5I_DATASET))
        return 0;
    if (s->ndatasets++ == 0) {
        s->name_too_long = strlen(name) >= sizeof s->name;
        snprintf(s->name, sizeof s->name, "%s", name);
    }
    /* Two are enough to know the answer is ambiguous. */
    return s->ndatasets >= 2 ? 1 : 0;
}

/* Column names for a header-less matrix, as csv_read.h names a header-less
 * CSV: label_size leading targets ("target", or "target1", "target2", ...),
 * then "x1", "x2", ... */
static enum ml_status default_names(struct rd *r, size_t p, size_t label_size, char ***out)
{
    char **names = calloc(p ? p : 1, sizeof *names);
    char buf[40];
    size_t j;

    *out = NULL;
    if (!names)
        ML_FAIL(r->err, ML_ENOMEM, "%s: out of memory naming %zu columns", r->path, p);
    for (j = 0; j < p; j++) {
        if (j < label_size && label_size == 1)
            snprintf(buf, sizeof buf, "target");
        else if (j < label_size)
            snprintf(buf, sizeof buf, "target%zu", j + 1);
        else
            snprintf(buf, sizeof buf, "x%zu", j - label_size + 1);
        names[j] = dup_len(buf, strlen(buf));
        if (!names[j]) {
            free_strs(names, p);
            ML_FAIL(r->err, ML_ENOMEM, "%s: out of memory naming %zu columns", r->path, p);
        }
    }
    *out = names;
    return ML_OK;
}

/* The matrix layout: one 2-D dataset, rows x columns. */
static enum ml_status read_matrix_layout(struct rd *r, size_t label_size, struct ml_table **out)
{
    enum ml_status st = ML_OK;
    hid_t dset = H5I_INVALID_HID, fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    struct ml_table *t = NULL;
    struct find_state fs;
    char **names = NULL;
    double *buf = NULL;
    size_t n, p = 0, np = 0, block, i0, i, j;
    hsize_t dims[2], start[2], count[2];
    char what[300];
    int rank;

    memset(&fs, 0, sizeof fs);
    fs.r = r;
    if (is_object(r, r->file, "data", H5I_DATASET)) {
        snprintf(fs.name, sizeof fs.name, "data");
    } else {
        if (H5Literate(r->file, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, find_dataset_cb, &fs) < 0)
            ML_FAIL(r->err, ML_EFORMAT, "%s: cannot list the root group", r->path);
        if (fs.ndatasets == 0)
            ML_FAIL(r->err, ML_EFORMAT,
                    "%s: no table found: neither a plantfit column layout (root attribute "
                    "plantfit_format) nor a dataset at the root",
                    r->path);
        if (fs.ndatasets > 1)
            ML_FAIL(r->err, ML_EFORMAT,
                    "%s: several datasets at the root and none named `data`: name the matrix "
                    "`data` or use the column layout",
                    r->path);
        if (fs.name_too_long)
            ML_FAIL(r->err, ML_ELIMIT, "%s: the dataset's name is too long", r->path);
    }
    snprintf(what, sizeof what, "dataset /%s", fs.name);
    st = open_numeric(r, r->file, fs.name, what, 0, &dset);
    if (st)
        return st;
    fspace = H5Dget_space(dset);
    rank = fspace >= 0 ? H5Sget_simple_extent_ndims(fspace) : -1;
    if (rank < 0) {
        st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__, "%s: cannot read the shape of %s",
                     r->path, what);
        goto cleanup;
    }
    if (rank != 2 || H5Sget_simple_extent_type(fspace) != H5S_SIMPLE) {
        st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__,
                     "%s: %s has rank %d, expected 2 (rows x columns)", r->path, what, rank);
        goto cleanup;
    }
    if (H5Sget_simple_extent_dims(fspace, dims, NULL) < 0) {
        st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__, "%s: cannot read the shape of %s",
                     r->path, what);
        goto cleanup;
    }
    if (dims[1] > TABLE_H5_MAX_COLS) {
        st = ml_fail(r->err, ML_ELIMIT, __FILE__, __LINE__,
                     "%s: %s has %llu columns, more than the limit of %u", r->path, what,
                     (unsigned long long)dims[1], TABLE_H5_MAX_COLS);
        goto cleanup;
    }
    st = charge(r, dims[0], dims[1] * sizeof(double), what);
    if (st)
        goto cleanup;
    n = (size_t)dims[0];
    p = (size_t)dims[1];

    st = read_str_attr(r, dset, what, "columns", 0, TABLE_H5_MAX_COLS, &names, &np);
    if (st)
        goto cleanup;
    if (names && np != p) {
        st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__,
                     "%s: %s has %zu columns but its `columns` attribute lists %zu names",
                     r->path, what, p, np);
        goto cleanup;
    }
    if (!names) {
        if (label_size > p) {
            st = ml_fail(r->err, ML_EINVAL, __FILE__, __LINE__,
                         "%s: label_size %zu is more than the %zu columns of %s", r->path,
                         label_size, p, what);
            goto cleanup;
        }
        st = default_names(r, p, label_size, &names);
        if (st)
            goto cleanup;
        np = p;
    }
    st = ml_table_alloc(&t, p, (const char *const *)names, NULL, r->err);
    if (!st)
        st = ml_table_reserve(t, n, r->err);
    if (st) {
        ml_err_prefix(r->err, "%s: %s: ", r->path, what);
        goto cleanup;
    }
    if (n == 0 || p == 0)
        goto done;

    /* Read blocks of whole rows and scatter them into the columns. */
    block = TABLE_H5_BLOCK_CELLS / p;
    if (block == 0)
        block = 1;
    if (block > n)
        block = n;
    buf = malloc(block * p * sizeof *buf);
    if (!buf) {
        st = ml_fail(r->err, ML_ENOMEM, __FILE__, __LINE__, "%s: out of memory reading %s",
                     r->path, what);
        goto cleanup;
    }
    for (i0 = 0; i0 < n; i0 += block) {
        size_t nb = n - i0 < block ? n - i0 : block;

        start[0] = i0;
        start[1] = 0;
        count[0] = nb;
        count[1] = p;
        mspace = H5Screate_simple(2, count, NULL);
        if (mspace < 0 ||
            H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
            H5Dread(dset, H5T_NATIVE_DOUBLE, mspace, fspace, H5P_DEFAULT, buf) < 0) {
            st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__,
                         "%s: cannot read rows %zu..%zu of %s (corrupt file?)", r->path, i0 + 1,
                         i0 + nb, what);
            goto cleanup;
        }
        H5Sclose(mspace);
        mspace = H5I_INVALID_HID;
        for (i = 0; i < nb; i++)
            for (j = 0; j < p; j++)
                t->col[j].v[i0 + i] = buf[i * p + j];
    }
done:
    t->nrow = n;
    *out = t;
    t = NULL;
cleanup:
    ml_table_free(t);
    free(buf);
    free_strs(names, np);
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    if (dset >= 0)
        H5Dclose(dset);
    return st;
}

/* Does the file look like our column layout?  The plantfit_format attribute
 * says so; a hand-made file (h5py) may have only the /columns group. */
static int is_column_layout(struct rd *r)
{
    return H5Aexists(r->file, "plantfit_format") > 0 ||
           is_object(r, r->file, "columns", H5I_GROUP);
}

enum ml_status table_h5_read(const char *path, size_t label_size, struct ml_table **out,
                             struct ml_err *err)
{
    enum ml_status st;
    struct h5u_quiet q;
    struct stat sb;
    struct rd r;
    hid_t fapl = H5I_INVALID_HID;
    int fd, sig;

    *out = NULL;
    memset(&r, 0, sizeof r);
    r.path = path;
    r.err = err;
    r.file = H5I_INVALID_HID;
    r.lapl = H5I_INVALID_HID;

    /* Our own checks first, so the common mistakes get plain messages. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        ML_FAIL(err, ML_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        ML_FAIL(err, ML_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        ML_FAIL(err, ML_EFORMAT,
                "%s: not a regular file: HDF5 input must be a seekable file (use CSV in Pipe "
                "mode)",
                path);
    }
    sig = fd_has_signature(fd, (uint64_t)sb.st_size);
    close(fd);
    if (!sig)
        ML_FAIL(err, ML_EFORMAT, "%s: not an HDF5 file (no HDF5 signature)", path);
    r.file_size = (uint64_t)sb.st_size;
    r.budget = r.file_size > (UINT64_MAX - TABLE_H5_SLACK) / TABLE_H5_EXPANSION
                   ? UINT64_MAX
                   : r.file_size * TABLE_H5_EXPANSION + TABLE_H5_SLACK;

    h5u_quiet_begin(&q);
    fapl = H5Pcreate(H5P_FILE_ACCESS);
    r.lapl = H5Pcreate(H5P_LINK_ACCESS);
    if (fapl < 0 || r.lapl < 0 || H5Pset_elink_cb(r.lapl, deny_elink_cb, NULL) < 0) {
        st = ml_fail(err, ML_EINTERNAL, __FILE__, __LINE__,
                     "%s: cannot set up HDF5 property lists", path);
        goto cleanup;
    }
#if H5_VERSION_GE(1, 10, 7)
    /* We only read; a lock that fails on a network file system (some NFS and
     * Lustre mounts refuse flock) must not make valid input unreadable. */
    H5Pset_file_locking(fapl, 0, 1);
#endif
    r.file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    if (r.file < 0) {
        if (h5u_error_is_truncation())
            st = ml_fail(err, ML_EFORMAT, __FILE__, __LINE__,
                         "%s: truncated HDF5 file (%llu bytes, shorter than its header "
                         "declares)",
                         path, (unsigned long long)r.file_size);
        else
            st = ml_fail(err, ML_EFORMAT, __FILE__, __LINE__,
                         "%s: corrupt or unsupported HDF5 file (the HDF5 library cannot open it)",
                         path);
        goto cleanup;
    }
    /* After H5Fopen, which reports truncation in its own words; before
     * anything that decodes a variable-length string. */
    st = check_global_heaps(path, err);
    if (st)
        goto cleanup;
    if (is_column_layout(&r))
        st = read_column_layout(&r, out);
    else
        st = read_matrix_layout(&r, label_size, out);
cleanup:
    if (r.file >= 0 && H5Fclose(r.file) < 0 && !st) {
        ml_table_free(*out);
        *out = NULL;
        st = ml_fail(err, ML_EFORMAT, __FILE__, __LINE__, "%s: error closing the HDF5 file",
                     path);
    }
    if (r.lapl >= 0)
        H5Pclose(r.lapl);
    if (fapl >= 0)
        H5Pclose(fapl);
    h5u_quiet_end(&q);
    return st;
}

/* ---------------------------------------------------------------------------
 * Writing. */

struct wr {
    const char *path;       /* final name, for messages */
    hid_t file;
    hid_t str_type;         /* variable-length UTF-8 string */
    struct ml_err *err;
};

/* Attribute `name` on `obj`: n variable-length strings, scalar if `scalar`
 * (then n is 1), else 1-D of length n -- or a null dataspace when n is 0,
 * because HDF5 refuses an attribute with a zero-sized simple dataspace. */
static enum ml_status write_str_attr(struct wr *w, hid_t obj, const char *where, const char *name,
                                     const char *const *s, size_t n, int scalar)
{
    hsize_t dims[1];
    hid_t space, attr;
    herr_t rc;

    dims[0] = n;
    if (scalar)
        space = H5Screate(H5S_SCALAR);
    else if (n == 0)
        space = H5Screate(H5S_NULL);
    else
        space = H5Screate_simple(1, dims, NULL);
    if (space < 0)
        ML_FAIL(w->err, ML_EIO, "%s: cannot create attribute %s of %s", w->path, name, where);
    attr = H5Acreate2(obj, name, w->str_type, space, H5P_DEFAULT, H5P_DEFAULT);
    rc = attr >= 0 && n > 0 ? H5Awrite(attr, w->str_type, s) : attr >= 0 ? 0 : -1;
    if (attr >= 0 && H5Aclose(attr) < 0)
        rc = -1;
    H5Sclose(space);
    if (rc < 0)
        ML_FAIL(w->err, ML_EIO, "%s: cannot write attribute %s of %s", w->path, name, where);
    return ML_OK;
}

static enum ml_status write_column(struct wr *w, hid_t group, hid_t dcpl, const struct ml_table *t,
                                   size_t j)
{
    const struct ml_column *c = &t->col[j];
    enum ml_status st = ML_OK;
    hid_t space = H5I_INVALID_HID, dset = H5I_INVALID_HID;
    int32_t *codes = NULL;
    char dname[32], what[256];
    const char *name = c->name;
    hsize_t dims[1];
    size_t i;

    snprintf(dname, sizeof dname, "%zu", j);
    snprintf(what, sizeof what, "dataset /columns/%zu (column \"%.100s\")", j, c->name);
    dims[0] = t->nrow;
    space = H5Screate_simple(1, dims, NULL);
    if (space < 0) {
        st = ml_fail(w->err, ML_EIO, __FILE__, __LINE__, "%s: cannot create %s", w->path, what);
        goto cleanup;
    }
    if (c->type == ML_COL_CATEGORICAL) {
        codes = malloc((t->nrow ? t->nrow : 1) * sizeof *codes);
        if (!codes) {
            st = ml_fail(w->err, ML_ENOMEM, __FILE__, __LINE__,
                         "%s: out of memory writing %s", w->path, what);
            goto cleanup;
        }
        for (i = 0; i < t->nrow; i++)
            codes[i] = isnan(c->v[i]) ? -1 : (int32_t)c->v[i];
        dset = H5Dcreate2(group, dname, H5T_STD_I32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        if (dset < 0 || (t->nrow && H5Dwrite(dset, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL,
                                             H5P_DEFAULT, codes) < 0)) {
            st = ml_fail(w->err, ML_EIO, __FILE__, __LINE__, "%s: cannot write %s", w->path,
                         what);
            goto cleanup;
        }
        st = write_str_attr(w, dset, what, "levels", (const char *const *)c->levels, c->nlevels,
                            0);
        if (st)
            goto cleanup;
    } else {
        dset = H5Dcreate2(group, dname, H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        if (dset < 0 || (t->nrow && H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                                             H5P_DEFAULT, c->v) < 0)) {
            st = ml_fail(w->err, ML_EIO, __FILE__, __LINE__, "%s: cannot write %s", w->path,
                         what);
            goto cleanup;
        }
    }
    st = write_str_attr(w, dset, what, "name", &name, 1, 1);
cleanup:
    free(codes);
    if (dset >= 0 && H5Dclose(dset) < 0 && !st)
        st = ml_fail(w->err, ML_EIO, __FILE__, __LINE__, "%s: cannot write %s", w->path, what);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

/* The table invariants the file format relies on; a violation is the
 * caller's bug, reported rather than written. */
static enum ml_status check_table(const char *path, const struct ml_table *t, struct ml_err *err)
{
    size_t i, j;

    if (t->ncol > TABLE_H5_MAX_COLS)
        ML_FAIL(err, ML_ELIMIT, "%s: %zu columns, more than the limit of %u", path, t->ncol,
                TABLE_H5_MAX_COLS);
    for (j = 0; j < t->ncol; j++) {
        const struct ml_column *c = &t->col[j];

        if (c->type != ML_COL_CATEGORICAL)
            continue;
        if (c->nlevels > INT32_MAX)
            ML_FAIL(err, ML_ELIMIT, "%s: column \"%s\" has %zu levels, more than int32 codes hold",
                    path, c->name, c->nlevels);
        for (i = 0; i < t->nrow; i++)
            if (!isnan(c->v[i]) &&
                !(c->v[i] >= 0 && c->v[i] < (double)c->nlevels && c->v[i] == floor(c->v[i])))
                ML_FAIL(err, ML_EINVAL, "%s: column \"%s\", row %zu: %g is not a level code",
                        path, c->name, i + 1, c->v[i]);
    }
    return ML_OK;
}

enum ml_status table_h5_write(const char *path, const struct ml_table *t, struct ml_err *err)
{
    enum ml_status st;
    struct h5u_quiet q;
    struct wr w;
    hid_t fcpl = H5I_INVALID_HID, fapl = H5I_INVALID_HID, gcpl = H5I_INVALID_HID;
    hid_t dcpl = H5I_INVALID_HID, group = H5I_INVALID_HID, space = H5I_INVALID_HID;
    hid_t attr = H5I_INVALID_HID;
    const char **names = NULL;
    const char *fmt = "table";
    int32_t version = 1;
    char tmp[4096];
    size_t j;

    st = check_table(path, t, err);
    if (st)
        return st;
    st = h5u_temp_create(path, tmp, sizeof tmp, err);
    if (st)
        return st;

    memset(&w, 0, sizeof w);
    w.path = path;
    w.err = err;
    w.file = H5I_INVALID_HID;
    w.str_type = H5I_INVALID_HID;
    h5u_quiet_begin(&q);

    fcpl = H5Pcreate(H5P_FILE_CREATE);
    fapl = H5Pcreate(H5P_FILE_ACCESS);
    gcpl = H5Pcreate(H5P_GROUP_CREATE);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    w.str_type = H5Tcopy(H5T_C_S1);
    /* Timestamps off on every object (the root group takes them from the
     * fcpl), or two writes of one table would differ.  Library version 1.8
     * format: needed for attributes over 64 KiB (a `columns` list of many
     * thousand names goes to dense storage) and readable by any HDF5 >= 1.8. */
    if (fcpl < 0 || fapl < 0 || gcpl < 0 || dcpl < 0 || w.str_type < 0 ||
        H5Pset_obj_track_times(fcpl, 0) < 0 || H5Pset_obj_track_times(gcpl, 0) < 0 ||
        H5Pset_obj_track_times(dcpl, 0) < 0 ||
        H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) < 0 ||
        H5Tset_size(w.str_type, H5T_VARIABLE) < 0 || H5Tset_cset(w.str_type, H5T_CSET_UTF8) < 0) {
        st = ml_fail(err, ML_EINTERNAL, __FILE__, __LINE__,
                     "%s: cannot set up HDF5 property lists", path);
        goto cleanup;
    }
#if H5_VERSION_GE(1, 10, 7)
    /* Nobody else knows the temporary name, so a lock protects nothing. */
    H5Pset_file_locking(fapl, 0, 1);
#endif
    w.file = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, fapl);
    if (w.file < 0) {
        st = ml_fail(err, ML_EIO, __FILE__, __LINE__, "%s: cannot create an HDF5 file", path);
        goto cleanup;
    }
    names = calloc(t->ncol ? t->ncol : 1, sizeof *names);
    if (!names) {
        st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "%s: out of memory", path);
        goto cleanup;
    }
    for (j = 0; j < t->ncol; j++)
        names[j] = t->col[j].name;
    st = write_str_attr(&w, w.file, "the root group", "plantfit_format", &fmt, 1, 1);
    if (st)
        goto cleanup;
    space = H5Screate(H5S_SCALAR);
    attr = space >= 0 ? H5Acreate2(w.file, "format_version", H5T_STD_I32LE, space, H5P_DEFAULT,
                                   H5P_DEFAULT)
                      : H5I_INVALID_HID;
    if (attr < 0 || H5Awrite(attr, H5T_NATIVE_INT32, &version) < 0) {
        st = ml_fail(err, ML_EIO, __FILE__, __LINE__, "%s: cannot write format_version", path);
        goto cleanup;
    }
    st = write_str_attr(&w, w.file, "the root group", "columns", names, t->ncol, 0);
    if (st)
        goto cleanup;
    group = H5Gcreate2(w.file, "columns", H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (group < 0) {
        st = ml_fail(err, ML_EIO, __FILE__, __LINE__, "%s: cannot create group /columns", path);
        goto cleanup;
    }
    for (j = 0; j < t->ncol && !st; j++)
        st = write_column(&w, group, dcpl, t, j);
cleanup:
    free(names);
    if (attr >= 0)
        H5Aclose(attr);
    if (space >= 0)
        H5Sclose(space);
    if (group >= 0)
        H5Gclose(group);
    if (w.file >= 0 && H5Fclose(w.file) < 0 && !st)
        st = ml_fail(err, ML_EIO, __FILE__, __LINE__, "%s: error finishing the HDF5 file", path);
    if (w.str_type >= 0)
        H5Tclose(w.str_type);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (gcpl >= 0)
        H5Pclose(gcpl);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (fcpl >= 0)
        H5Pclose(fcpl);
    h5u_quiet_end(&q);
    return h5u_temp_finish(tmp, path, st, err);
}
