/* source.c: a byte stream from a plain file, a gzip file or a FIFO, hashing
 * the raw bytes as they are read (see source.h).
 *
 * Entry points: source_open, source_read, source_drain, source_close and the
 * accessors; source_fingerprint hashes a whole file.
 *
 * Every byte that comes out of read(2) goes through EVP_DigestUpdate exactly
 * once, before any decompression, so the SHA-256 is that of the file as
 * stored whatever its encoding.  The stream is read front to back with
 * read(2) only (no lseek, no mmap), which is what a FIFO in SageMaker Pipe
 * mode allows.  Gzip is recognised by the magic bytes 1f 8b (RFC 1952,
 * section 2.3.1) peeked at open time and inflated with zlib using
 * windowBits 15 + 16 (gzip wrapper only, CRC-32 and ISIZE checked by zlib);
 * after the end of one member, any further input must be another member
 * (RFC 1952 section 2.2: "a gzip file consists of a series of members"),
 * which is how `cat a.gz b.gz` and pigz/bgzip output look. */
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

/* 1 MiB per read(2): large enough that syscall overhead vanishes against
 * parsing, small enough to stay in L2/L3 while the parser walks it. */
#define SOURCE_BUF ((size_t)1 << 20)

struct source {
    char *path;              /* owned copy of the path given to source_open */
    int fd;
    int regular;             /* 1: a regular file (st_size is meaningful) */
    uint64_t size;           /* st_size at open time for regular files, else 0 */
    int gzip;                /* 1: the stream starts with the gzip magic bytes */
    int eof;                 /* read(2) has returned 0 */
    int done;                /* every decompressed byte has been returned */
    int member_end;          /* gzip: inflate reported the end of a member */
    uint64_t raw_bytes;      /* bytes read from fd so far (all hashed) */
    EVP_MD_CTX *md;          /* running SHA-256 of the raw bytes */
    unsigned char peek[2];   /* plain: bytes read at open to test the magic */
    size_t peek_len;         /* bytes in peek not yet returned */
    size_t peek_pos;
    unsigned char *raw;      /* gzip: compressed input buffer of SOURCE_BUF bytes */
    z_stream zs;             /* gzip: inflate state; next_in points into raw */
    int zs_init;             /* 1 once inflateInit2 succeeded */
    const unsigned char *map;  /* source_map: read-only mapping of the whole file */
    size_t map_len;
};

/* One read(2) of up to cap raw bytes, retried on EINTR; hashes what it got. */
static enum ml_status raw_read(struct source *s, unsigned char *dst, size_t cap, size_t *got,
                               struct ml_err *err)
{
    ssize_t n;

    *got = 0;
    if (s->eof)
        return ML_OK;
    do {
        n = read(s->fd, dst, cap);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        ML_FAIL(err, ML_EIO, "%s: read failed: %s", s->path, strerror(errno));
    if (n == 0) {
        s->eof = 1;
        return ML_OK;
    }
    if (EVP_DigestUpdate(s->md, dst, (size_t)n) != 1)
        ML_FAIL(err, ML_EINTERNAL, "%s: SHA-256 update failed", s->path);
    s->raw_bytes += (uint64_t)n;
    *got = (size_t)n;
    return ML_OK;
}

enum ml_status source_open(struct source **out, const char *path, struct ml_err *err)
{
    struct source *s;
    struct stat sb;
    enum ml_status st;
    size_t n, got;

    *out = NULL;
    s = calloc(1, sizeof *s);
    if (!s)
        ML_FAIL(err, ML_ENOMEM, "%s: out of memory opening the file", path);
    s->fd = -1;
    s->path = strdup(path);
    s->md = EVP_MD_CTX_new();
    if (!s->path || !s->md) {
        source_close(s);
        ML_FAIL(err, ML_ENOMEM, "%s: out of memory opening the file", path);
    }
    if (EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1) {
        source_close(s);
        ML_FAIL(err, ML_EINTERNAL, "%s: cannot initialise SHA-256 (libcrypto)", path);
    }
    s->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0) {
        int e = errno;
        source_close(s);
        ML_FAIL(err, ML_EIO, "%s: cannot open: %s", path, strerror(e));
    }
    if (fstat(s->fd, &sb) != 0) {
        int e = errno;
        source_close(s);
        ML_FAIL(err, ML_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (S_ISDIR(sb.st_mode)) {
        source_close(s);
        ML_FAIL(err, ML_EIO, "%s: cannot read: %s", path, strerror(EISDIR));
    }
    s->regular = S_ISREG(sb.st_mode);
    s->size = s->regular ? (uint64_t)sb.st_size : 0;

    /* Peek at the first two bytes.  A FIFO may hand them over one at a time,
     * so loop until we have two or the writer closed. */
    for (n = 0; n < 2 && !s->eof; n += got) {
        st = raw_read(s, s->peek + n, 2 - n, &got, err);
        if (st) {
            source_close(s);
            return st;
        }
    }
    s->peek_len = n;
    s->gzip = n == 2 && s->peek[0] == 0x1f && s->peek[1] == 0x8b;
    if (s->gzip) {
        int zr;

        s->raw = malloc(SOURCE_BUF);
        if (!s->raw) {
            source_close(s);
            ML_FAIL(err, ML_ENOMEM, "%s: out of memory for the gzip buffer", path);
        }
        memcpy(s->raw, s->peek, 2);
        s->peek_len = 0;
        s->zs.next_in = s->raw;
        s->zs.avail_in = 2;
        /* 15 + 16: largest window, expect the gzip wrapper (zlib.h, inflateInit2). */
        zr = inflateInit2(&s->zs, 15 + 16);
        if (zr != Z_OK) {
            source_close(s);
            ML_FAIL(err, zr == Z_MEM_ERROR ? ML_ENOMEM : ML_EINTERNAL,
                    "%s: cannot initialise zlib inflate (code %d)", path, zr);
        }
        s->zs_init = 1;
    }
    *out = s;
    return ML_OK;
}

static enum ml_status read_plain(struct source *s, char *buf, size_t cap, size_t *got,
                                 struct ml_err *err)
{
    size_t n = 0, m;
    enum ml_status st;

    if (s->peek_pos < s->peek_len) {
        n = s->peek_len - s->peek_pos;
        if (n > cap)
            n = cap;
        memcpy(buf, s->peek + s->peek_pos, n);
        s->peek_pos += n;
    }
    if (n < cap) {
        st = raw_read(s, (unsigned char *)buf + n, cap - n, &m, err);
        if (st)
            return st;
        n += m;
    }
    if (n == 0)
        s->done = 1;
    *got = n;
    return ML_OK;
}

static enum ml_status read_gzip(struct source *s, char *buf, size_t cap, size_t *got,
                                struct ml_err *err)
{
    z_stream *zs = &s->zs;
    enum ml_status st;
    size_t n;
    int zr;

    zs->next_out = (unsigned char *)buf;
    zs->avail_out = cap > UINT_MAX ? UINT_MAX : (unsigned)cap;
    const unsigned out0 = zs->avail_out;

    while (zs->avail_out > 0) {
        if (zs->avail_in == 0 && !s->eof) {
            st = raw_read(s, s->raw, SOURCE_BUF, &n, err);
            if (st)
                return st;
            zs->next_in = s->raw;
            zs->avail_in = (unsigned)n;
            continue;
        }
        if (s->member_end) {
            if (zs->avail_in == 0) {   /* and eof: no further member */
                s->done = 1;
                break;
            }
            /* More bytes after a complete member: another member follows. */
            zr = inflateReset(zs);
            if (zr != Z_OK)
                ML_FAIL(err, ML_EINTERNAL, "%s: inflateReset failed (code %d)", s->path, zr);
            s->member_end = 0;
        }
        if (zs->avail_in == 0)   /* eof inside a member */
            ML_FAIL(err, ML_EFORMAT, "%s: truncated gzip stream (ended after %llu compressed bytes)",
                    s->path, (unsigned long long)s->raw_bytes);
        zr = inflate(zs, Z_NO_FLUSH);
        if (zr == Z_STREAM_END) {
            s->member_end = 1;
            continue;
        }
        if (zr == Z_OK || zr == Z_BUF_ERROR)
            continue;   /* Z_BUF_ERROR: needs more input; refilled above */
        if (zr == Z_MEM_ERROR)
            ML_FAIL(err, ML_ENOMEM, "%s: out of memory inflating gzip data", s->path);
        ML_FAIL(err, ML_EFORMAT, "%s: corrupt gzip stream at compressed byte %llu: %s", s->path,
                (unsigned long long)(s->raw_bytes - zs->avail_in),
                zs->msg ? zs->msg : "invalid data");
    }
    *got = out0 - zs->avail_out;
    return ML_OK;
}

enum ml_status source_read(struct source *s, char *buf, size_t cap, size_t *got,
                           struct ml_err *err)
{
    *got = 0;
    if (s->done || cap == 0)
        return ML_OK;
    return s->gzip ? read_gzip(s, buf, cap, got, err) : read_plain(s, buf, cap, got, err);
}

enum ml_status source_drain(struct source *s, struct ml_err *err)
{
    char *scratch = malloc(SOURCE_BUF);
    enum ml_status st = ML_OK;
    size_t got;

    if (!scratch)
        ML_FAIL(err, ML_ENOMEM, "%s: out of memory for the read buffer", s->path);
    do {
        st = source_read(s, scratch, SOURCE_BUF, &got, err);
    } while (st == ML_OK && got > 0);
    free(scratch);
    return st;
}

/* Hash the rest of the raw bytes without inflating them: for the fingerprint
 * only the stored bytes matter, and skipping zlib makes it I/O bound. */
static enum ml_status drain_raw(struct source *s, struct ml_err *err)
{
    unsigned char *scratch = malloc(SOURCE_BUF);
    enum ml_status st = ML_OK;
    size_t got;

    if (!scratch)
        ML_FAIL(err, ML_ENOMEM, "%s: out of memory for the read buffer", s->path);
    do {
        st = raw_read(s, scratch, SOURCE_BUF, &got, err);
    } while (st == ML_OK && got > 0);
    free(scratch);
    return st;
}

const char *source_path(const struct source *s)
{
    return s->path;
}

uint64_t source_raw_bytes(const struct source *s)
{
    return s->raw_bytes;
}

int source_is_gzip(const struct source *s)
{
    return s->gzip;
}

int source_is_regular(const struct source *s)
{
    return s->regular;
}

uint64_t source_file_size(const struct source *s)
{
    return s->size;
}

enum ml_status source_map(struct source *s, const char **data, size_t *len, struct ml_err *err)
{
    void *p;

    *data = NULL;
    *len = 0;
    if (!s->regular || s->gzip || s->map)
        ML_FAIL(err, ML_EINVAL, "%s: only an uncompressed regular file can be mapped", s->path);
    if (s->peek_pos != 0 || s->raw_bytes != s->peek_len)
        ML_FAIL(err, ML_EINVAL, "%s: source_map must come before any source_read", s->path);
    if (s->size > (uint64_t)SIZE_MAX)
        ML_FAIL(err, ML_ELIMIT, "%s: %llu bytes do not fit the address space", s->path,
                (unsigned long long)s->size);
    if (s->size == 0 || s->size < s->raw_bytes) {
        s->done = 1;
        *data = "";
        return ML_OK;
    }
    /* MAP_POPULATE: fault the page-cache pages in with one call instead of one
     * fault per 64 KiB while the parser threads walk the file. */
    p = mmap(NULL, (size_t)s->size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, s->fd, 0);
    if (p == MAP_FAILED)
        ML_FAIL(err, ML_EIO, "%s: cannot map: %s", s->path, strerror(errno));
    s->done = 1;   /* the mapping replaces source_read */
    s->map = p;
    s->map_len = (size_t)s->size;
    *data = p;
    *len = s->map_len;
    return ML_OK;
}

enum ml_status source_map_hash(struct source *s, struct ml_err *err)
{
    /* The first raw_bytes bytes (the peeked magic) are already hashed. */
    size_t from = (size_t)s->raw_bytes;

    if (!s->map || from >= s->map_len)
        return ML_OK;
    if (EVP_DigestUpdate(s->md, s->map + from, s->map_len - from) != 1)
        ML_FAIL(err, ML_EINTERNAL, "%s: SHA-256 update failed", s->path);
    s->raw_bytes = s->map_len;
    return ML_OK;
}

void source_sha256_hex(struct source *s, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0, i;
    EVP_MD_CTX *copy = EVP_MD_CTX_new();

    /* Finalise a copy so the running context stays usable and the function
     * can be called more than once. */
    if (!copy || EVP_MD_CTX_copy_ex(copy, s->md) != 1 || EVP_DigestFinal_ex(copy, md, &len) != 1)
        len = 0;
    EVP_MD_CTX_free(copy);
    for (i = 0; i < len && i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[2 * i] = '\0';
}

void source_close(struct source *s)
{
    if (!s)
        return;
    if (s->zs_init)
        inflateEnd(&s->zs);
    if (s->map)
        munmap((void *)s->map, s->map_len);
    if (s->fd >= 0)
        close(s->fd);
    EVP_MD_CTX_free(s->md);
    free(s->raw);
    free(s->path);
    free(s);
}

enum ml_status source_fingerprint(const char *path, char hex[65], uint64_t *bytes,
                                  struct ml_err *err)
{
    struct source *s;
    enum ml_status st = source_open(&s, path, err);

    if (st)
        return st;
    st = drain_raw(s, err);
    if (st == ML_OK) {
        source_sha256_hex(s, hex);
        if (bytes)
            *bytes = s->raw_bytes;
    }
    source_close(s);
    return st;
}
