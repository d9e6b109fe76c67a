/* test_source.c: io/source (plain, gzip, FIFO input; SHA-256 of raw bytes).
 *
 * SHA-256 expectations are the published test vectors (FIPS 180-2,
 * Appendix B.1 "abc" and the empty message), not values computed by the
 * code under test. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "source/source.h"
#include "test.h"

#define SHA_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        test_check_fail(__FILE__, __LINE__, "cannot create %s", path);
        return;
    }
    if (len)
        fwrite(data, 1, len, f);
    fclose(f);
}

/* Write `data` as one gzip member; mode "wb" starts the file, "ab" appends a member. */
static void write_gz(const char *path, const char *mode, const void *data, size_t len)
{
    gzFile g = gzopen(path, mode);
    if (!g) {
        test_check_fail(__FILE__, __LINE__, "gzopen %s failed", path);
        return;
    }
    if (len)
        gzwrite(g, data, (unsigned)len);
    gzclose(g);
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* Read a whole source into a malloc'd buffer (small reads on purpose, to cross
 * buffer boundaries); returns the status, *out/len set on success. */
static enum ml_status slurp(const char *path, char **out, size_t *len, char hex[65],
                            int *gz, struct ml_err *err)
{
    struct source *s;
    size_t cap = 1 << 16, n = 0, got;
    char *buf;
    enum ml_status st = source_open(&s, path, err);

    *out = NULL;
    *len = 0;
    if (st)
        return st;
    buf = malloc(cap);
    for (;;) {
        if (cap - n < 4096) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        st = source_read(s, buf + n, 4093, &got, err);
        if (st || got == 0)
            break;
        n += got;
    }
    if (st == ML_OK) {
        if (hex)
            source_sha256_hex(s, hex);
        if (gz)
            *gz = source_is_gzip(s);
        *out = buf;
        *len = n;
    } else {
        free(buf);
    }
    source_close(s);
    return st;
}

TEST(source, sha256_known_vectors)
{
    const char *dir = test_tmpdir();
    char p[600], hex[65];
    uint64_t bytes = 0;
    struct ml_err err;

    snprintf(p, sizeof p, "%s/abc.txt", dir);
    write_file(p, "abc", 3);
    CHECK_OK(source_fingerprint(p, hex, &bytes, &err), &err);
    CHECK(strcmp(hex, SHA_ABC) == 0, "got %s", hex);
    CHECK(bytes == 3, "bytes %llu", (unsigned long long)bytes);

    snprintf(p, sizeof p, "%s/empty.txt", dir);
    write_file(p, "", 0);
    CHECK_OK(source_fingerprint(p, hex, &bytes, &err), &err);
    CHECK(strcmp(hex, SHA_EMPTY) == 0, "got %s", hex);
    CHECK(bytes == 0, "bytes %llu", (unsigned long long)bytes);
}

TEST(source, plain_read_and_hash)
{
    const char *dir = test_tmpdir();
    char p[600], hex[65], hex2[65];
    size_t n = 3 * (1 << 20) + 17, i, len;
    char *data = malloc(n), *back;
    struct ml_err err;
    int gz = -1;

    for (i = 0; i < n; i++)
        data[i] = (char)('a' + (i * 7919) % 26);
    snprintf(p, sizeof p, "%s/big.txt", dir);
    write_file(p, data, n);
    CHECK_OK(slurp(p, &back, &len, hex, &gz, &err), &err);
    CHECK(len == n && back && memcmp(back, data, n) == 0, "content differs (len %zu)", len);
    CHECK(gz == 0);
    CHECK_OK(source_fingerprint(p, hex2, NULL, &err), &err);
    CHECK(strcmp(hex, hex2) == 0, "%s vs %s", hex, hex2);
    free(back);
    free(data);
}

TEST(source, gzip_round_trip)
{
    const char *dir = test_tmpdir();
    char p[600], hex[65], hex2[65];
    size_t n = 2 * (1 << 20) + 5, i, len;
    char *data = malloc(n), *back;
    uint64_t bytes;
    struct ml_err err;
    int gz = -1;

    for (i = 0; i < n; i++)
        data[i] = (char)("0123456789,.\n"[(i * i + i / 7) % 13]);
    /* A plain name holding gzip: detection goes by magic bytes, not suffix. */
    snprintf(p, sizeof p, "%s/data.csv", dir);
    write_gz(p, "wb", data, n);
    CHECK_OK(slurp(p, &back, &len, hex, &gz, &err), &err);
    CHECK(gz == 1);
    CHECK(len == n && back && memcmp(back, data, n) == 0, "content differs (len %zu)", len);
    /* The digest covers the compressed bytes as stored. */
    CHECK_OK(source_fingerprint(p, hex2, &bytes, &err), &err);
    CHECK(strcmp(hex, hex2) == 0, "%s vs %s", hex, hex2);
    CHECK((long)bytes == file_size(p), "bytes %llu", (unsigned long long)bytes);
    free(back);
    free(data);
}

TEST(source, gzip_multi_member)
{
    const char *dir = test_tmpdir();
    char p[600], *back;
    size_t len;
    struct ml_err err;
    int gz;

    snprintf(p, sizeof p, "%s/multi.gz", dir);
    write_gz(p, "wb", "a,b\n1,2\n", 8);
    write_gz(p, "ab", "3,4\n", 4);
    write_gz(p, "ab", "", 0);   /* an empty member in the middle is legal */
    write_gz(p, "ab", "5,6\n", 4);
    CHECK_OK(slurp(p, &back, &len, NULL, &gz, &err), &err);
    CHECK(gz == 1);
    CHECK(len == 16 && back && memcmp(back, "a,b\n1,2\n3,4\n5,6\n", 16) == 0,
          "got %zu bytes", len);
    free(back);
}

TEST(source, gzip_truncated)
{
    const char *dir = test_tmpdir();
    char p[600], want[700], *back = NULL;
    size_t n = 200000, i, len;
    char *data = malloc(n);
    struct ml_err err;
    long full;

    for (i = 0; i < n; i++)
        data[i] = (char)('0' + (i * 2654435761u >> 7) % 10);
    snprintf(p, sizeof p, "%s/data.csv.gz", dir);
    write_gz(p, "wb", data, n);
    full = file_size(p);
    CHECK(full > 1000, "size %ld", full);
    CHECK(truncate(p, full / 2) == 0);
    CHECK(slurp(p, &back, &len, NULL, NULL, &err) == ML_EFORMAT, "%s", err.msg);
    snprintf(want, sizeof want, "%s: truncated gzip stream (ended after %ld compressed bytes)",
             p, full / 2);
    CHECK(strcmp(err.msg, want) == 0, "got: %s", err.msg);

    /* Cut inside the 8-byte trailer (CRC-32, ISIZE): still truncated. */
    write_gz(p, "wb", data, n);
    CHECK(truncate(p, full - 3) == 0);
    CHECK(slurp(p, &back, &len, NULL, NULL, &err) == ML_EFORMAT, "%s", err.msg);
    CHECK(strstr(err.msg, "truncated gzip stream") != NULL, "got: %s", err.msg);

    /* Only the magic bytes. */
    write_file(p, "\x1f\x8b", 2);
    CHECK(slurp(p, &back, &len, NULL, NULL, &err) == ML_EFORMAT, "%s", err.msg);
    snprintf(want, sizeof want, "%s: truncated gzip stream (ended after 2 compressed bytes)", p);
    CHECK(strcmp(err.msg, want) == 0, "got: %s", err.msg);
    free(data);
}

TEST(source, gzip_corrupt)
{
    const char *dir = test_tmpdir();
    char p[600], *back = NULL, *raw;
    size_t len;
    struct ml_err err;
    long full;
    FILE *f;

    snprintf(p, sizeof p, "%s/bad.gz", dir);
    write_gz(p, "wb", "x,y\n1,2\n3,4\n", 12);
    full = file_size(p);
    raw = malloc((size_t)full);
    f = fopen(p, "rb");
    CHECK(f && fread(raw, 1, (size_t)full, f) == (size_t)full);
    if (f)
        fclose(f);
    raw[full - 6] ^= 0x55;   /* CRC-32 / ISIZE trailer: zlib reports a data check error */
    write_file(p, raw, (size_t)full);
    CHECK(slurp(p, &back, &len, NULL, NULL, &err) == ML_EFORMAT, "%s", err.msg);
    CHECK(strncmp(err.msg, p, strlen(p)) == 0 && strstr(err.msg, "corrupt gzip stream"),
          "got: %s", err.msg);

    /* Garbage after a complete member is not another member. */
    write_gz(p, "wb", "x\n1\n", 4);
    f = fopen(p, "ab");
    fputs("trailing junk", f);
    fclose(f);
    CHECK(slurp(p, &back, &len, NULL, NULL, &err) == ML_EFORMAT, "%s", err.msg);
    CHECK(strstr(err.msg, "corrupt gzip stream") != NULL, "got: %s", err.msg);
    free(raw);
}

TEST(source, open_errors)
{
    struct source *s = NULL;
    struct ml_err err;
    char want[600];
    const char *dir = test_tmpdir();
    char p[600];

    snprintf(p, sizeof p, "%s/nope.csv", dir);
    CHECK(source_open(&s, p, &err) == ML_EIO);
    CHECK(s == NULL);
    snprintf(want, sizeof want, "%s: cannot open: %s", p, strerror(ENOENT));
    CHECK(strcmp(err.msg, want) == 0, "got: %s", err.msg);

    CHECK(source_open(&s, dir, &err) == ML_EIO);
    CHECK(strstr(err.msg, strerror(EISDIR)) != NULL, "got: %s", err.msg);
    source_close(NULL);   /* no-op */
}

struct fifo_writer {
    const char *path;
    const char *data;
    size_t len;
    size_t piece;   /* bytes per write(2) */
};

static void *fifo_write(void *arg)
{
    struct fifo_writer *w = arg;
    int fd = open(w->path, O_WRONLY);
    size_t off = 0;

    if (fd < 0)
        return NULL;
    while (off < w->len) {
        size_t n = w->len - off < w->piece ? w->len - off : w->piece;
        ssize_t k = write(fd, w->data + off, n);
        if (k <= 0)
            break;
        off += (size_t)k;
        if (w->piece < 8)
            usleep(1000);   /* make the reader see the bytes one at a time */
    }
    close(fd);
    return NULL;
}

TEST(source, fifo_plain_and_gzip)
{
    const char *dir = test_tmpdir();
    char p[600], gzp[600], hex[65], *back, *gzdata;
    struct fifo_writer w;
    pthread_t th;
    size_t len;
    long gzlen;
    struct ml_err err;
    int gz;
    FILE *f;

    snprintf(p, sizeof p, "%s/pipe", dir);
    CHECK(mkfifo(p, 0600) == 0, "mkfifo: %s", strerror(errno));

    /* Plain text in 1-byte writes: the magic-byte peek must wait for byte 2. */
    w.path = p;
    w.data = "abc";
    w.len = 3;
    w.piece = 1;
    pthread_create(&th, NULL, fifo_write, &w);
    CHECK_OK(slurp(p, &back, &len, hex, &gz, &err), &err);
    pthread_join(th, NULL);
    CHECK(len == 3 && back && memcmp(back, "abc", 3) == 0);
    CHECK(gz == 0);
    CHECK(strcmp(hex, SHA_ABC) == 0, "got %s", hex);
    free(back);

    /* Gzip through the FIFO. */
    snprintf(gzp, sizeof gzp, "%s/d.gz", dir);
    write_gz(gzp, "wb", "h\n1\n2\n", 6);
    gzlen = file_size(gzp);
    gzdata = malloc((size_t)gzlen);
    f = fopen(gzp, "rb");
    CHECK(f && fread(gzdata, 1, (size_t)gzlen, f) == (size_t)gzlen);
    if (f)
        fclose(f);
    w.data = gzdata;
    w.len = (size_t)gzlen;
    w.piece = 5;
    pthread_create(&th, NULL, fifo_write, &w);
    CHECK_OK(slurp(p, &back, &len, NULL, &gz, &err), &err);
    pthread_join(th, NULL);
    CHECK(gz == 1);
    CHECK(len == 6 && back && memcmp(back, "h\n1\n2\n", 6) == 0);
    free(back);
    free(gzdata);
}

TEST(source, map_and_hash)
{
    const char *dir = test_tmpdir();
    char p[600], hex[65];
    const char *data;
    size_t len, got;
    char buf[8];
    struct source *s;
    struct ml_err err;

    snprintf(p, sizeof p, "%s/abc", dir);
    write_file(p, "abc", 3);
    CHECK_OK(source_open(&s, p, &err), &err);
    CHECK(source_is_regular(s) == 1 && source_file_size(s) == 3);
    CHECK_OK(source_map(s, &data, &len, &err), &err);
    CHECK(len == 3 && memcmp(data, "abc", 3) == 0);
    CHECK_OK(source_map_hash(s, &err), &err);
    source_sha256_hex(s, hex);
    CHECK(strcmp(hex, SHA_ABC) == 0, "got %s", hex);
    CHECK(source_raw_bytes(s) == 3);
    CHECK_OK(source_read(s, buf, sizeof buf, &got, &err), &err);
    CHECK(got == 0, "source_read after source_map must report the end");
    source_close(s);

    /* Mapping after a read, or a gzip file, is refused. */
    CHECK_OK(source_open(&s, p, &err), &err);
    CHECK_OK(source_read(s, buf, 1, &got, &err), &err);
    CHECK(source_map(s, &data, &len, &err) == ML_EINVAL, "%s", err.msg);
    source_close(s);
}

TEST(source, drain)
{
    const char *dir = test_tmpdir();
    char p[600], hex[65];
    struct source *s;
    struct ml_err err;

    snprintf(p, sizeof p, "%s/abc.gz", dir);
    write_gz(p, "wb", "abc", 3);
    CHECK_OK(source_open(&s, p, &err), &err);
    CHECK_OK(source_drain(s, &err), &err);
    CHECK((long)source_raw_bytes(s) == file_size(p));
    CHECK(strcmp(source_path(s), p) == 0);
    source_sha256_hex(s, hex);
    CHECK(strlen(hex) == 64);
    source_close(s);
}
