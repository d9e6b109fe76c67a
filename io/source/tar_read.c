/* tar_read.c: see tar_read.h.  Header layout: POSIX.1-2008 "pax" / ustar
 * (IEEE Std 1003.1, the ustar Interchange Format): 512-byte blocks; name
 * [0,100), mode 100, uid 108, gid 116, size [124,136), mtime 136, chksum
 * [148,156), typeflag 156, linkname 157, magic [257,263), version 263, ...,
 * prefix [345,500).  The checksum is the sum of the header's bytes with the
 * chksum field taken as spaces. */
#include "tar_read.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#define BLOCK 512
#define PAX_MAX ((size_t)1 << 20)   /* bytes of a pax or GNU long-name header */

void tar_limits_default(struct tar_limits *l)
{
    l->max_entry = (uint64_t)4 << 30;
    l->max_total = (uint64_t)16 << 30;
    l->max_entries = 10000;
}

/* Read exactly n bytes; 0 if the data ended first (after *got bytes). */
static int read_full(const struct tar_input *in, void *buf, size_t n, size_t *got,
                     enum ml_status *st, struct ml_err *err)
{
    size_t k = 0;

    *st = ML_OK;
    while (k < n) {
        long r = in->read(in->src, (char *)buf + k, n - k, err);
        if (r < 0) {
            *st = err ? err->code : ML_EIO;
            break;
        }
        if (r == 0)
            break;
        k += (size_t)r;
    }
    *got = k;
    return k == n;
}

/* An octal field (NUL/space terminated) or GNU base-256 (high bit set). */
static int parse_num(const unsigned char *f, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;

    if (f[0] & 0x80) {
        if (f[0] != 0x80)
            return 0;   /* negative, or too large for us */
        for (i = 1; i < n; i++) {
            if (v >> 55)
                return 0;
            v = (v << 8) | f[i];
        }
        *out = v;
        return 1;
    }
    while (i < n && f[i] == ' ')
        i++;
    if (i == n || f[i] < '0' || f[i] > '7')
        return 0;
    for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
        if (v >> 60)
            return 0;
        v = v * 8 + (uint64_t)(f[i] - '0');
    }
    for (; i < n; i++)
        if (f[i] != ' ' && f[i] != '\0')
            return 0;
    *out = v;
    return 1;
}

static int checksum_ok(const unsigned char *h)
{
    uint64_t want;
    unsigned long sum = 0;
    size_t i;

    if (!parse_num(h + 148, 8, &want))
        return 0;
    for (i = 0; i < BLOCK; i++)
        sum += (i >= 148 && i < 156) ? ' ' : h[i];
    return sum == want;
}

/* The entry name: clean it and check it is safe.  Returns a message or NULL. */
static const char *clean_name(char *name)
{
    char *p, *seg;
    size_t n;

    while (name[0] == '.' && name[1] == '/') {
        memmove(name, name + 2, strlen(name + 2) + 1);
        while (name[0] == '/')   /* ".//x" */
            memmove(name, name + 1, strlen(name));
    }
    n = strlen(name);
    while (n > 0 && name[n - 1] == '/')
        name[--n] = '\0';
    if (name[0] == '/')
        return "an absolute path";
    if (strcmp(name, ".") == 0 || n == 0)
        return NULL;   /* the archive's root: the caller skips it */
    for (seg = name; seg; seg = p ? p + 1 : NULL) {
        size_t len;
        p = strchr(seg, '/');
        len = p ? (size_t)(p - seg) : strlen(seg);
        if (len == 2 && seg[0] == '.' && seg[1] == '.')
            return "a \"..\" component";
        if (len == 0)
            return "an empty component";
    }
    return NULL;
}

/* Bytes of padding after `size` bytes of data, to the next block. */
static uint64_t pad(uint64_t size)
{
    return (BLOCK - size % BLOCK) % BLOCK;
}

/* Skip exactly n bytes. */
static enum ml_status skip_data(const struct tar_input *in, uint64_t n, struct ml_err *err)
{
    unsigned char buf[BLOCK * 8];
    enum ml_status st;
    size_t got;

    while (n > 0) {
        size_t k = n < sizeof buf ? (size_t)n : sizeof buf;
        if (!read_full(in, buf, k, &got, &st, err)) {
            if (st)
                return st;
            ML_FAIL(err, ML_EFORMAT, "%s: truncated archive (an entry's data ends early)",
                    in->name);
        }
        n -= k;
    }
    return ML_OK;
}

/* Read a pax extended header's records and return its "path", if any. */
static enum ml_status read_pax(const struct tar_input *in, uint64_t size, char *path,
                               int *have, struct ml_err *err)
{
    char *buf;
    size_t pos = 0, got;
    enum ml_status st;

    if (size > PAX_MAX)
        ML_FAIL(err, ML_EFORMAT, "%s: pax header of %llu bytes (at most %zu)", in->name,
                (unsigned long long)size, PAX_MAX);
    buf = malloc((size_t)size + 1);
    if (!buf)
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    if (!read_full(in, buf, (size_t)size, &got, &st, err)) {
        free(buf);
        if (st)
            return st;
        ML_FAIL(err, ML_EFORMAT, "%s: truncated archive (in a pax header)", in->name);
    }
    buf[size] = '\0';
    /* Records "LEN KEY=VALUE\n", LEN counting the whole record. */
    while (pos < (size_t)size) {
        char *sp, *eq;
        unsigned long len = 0;
        size_t k = pos;

        while (k < (size_t)size && buf[k] >= '0' && buf[k] <= '9' && len < PAX_MAX)
            len = len * 10 + (unsigned long)(buf[k++] - '0');
        sp = buf + k;
        if (k == pos || k >= (size_t)size || *sp != ' ' || len < 5 || len > (size_t)size - pos ||
            buf[pos + len - 1] != '\n') {
            free(buf);
            ML_FAIL(err, ML_EFORMAT, "%s: malformed pax header record", in->name);
        }
        buf[pos + len - 1] = '\0';
        eq = strchr(sp + 1, '=');
        if (eq && (size_t)(eq - (sp + 1)) == 4 && memcmp(sp + 1, "path", 4) == 0) {
            size_t vl = strlen(eq + 1);
            if (vl >= TAR_NAME_MAX) {
                free(buf);
                ML_FAIL(err, ML_EFORMAT, "%s: entry name longer than %d bytes", in->name,
                        TAR_NAME_MAX - 1);
            }
            memcpy(path, eq + 1, vl + 1);
            *have = 1;
        }
        pos += len;
    }
    free(buf);
    return skip_data(in, pad(size), err);
}

enum ml_status tar_read(const struct tar_input *in, const struct tar_limits *lim,
                        const struct tar_sink *sink, struct ml_err *err)
{
    unsigned char h[BLOCK];
    char name[TAR_NAME_MAX], longname[TAR_NAME_MAX];
    int have_long = 0;
    uint64_t total = 0;
    size_t entries = 0, got;
    enum ml_status st;

    for (;;) {
        uint64_t size;
        char type;
        const char *why;
        size_t k;

        if (!read_full(in, h, BLOCK, &got, &st, err)) {
            if (st)
                return st;
            if (got == 0 && entries > 0 && !have_long)
                return ML_OK;   /* ended after a whole entry, without the zero blocks */
            ML_FAIL(err, ML_EFORMAT, "%s: %s", in->name,
                    entries == 0 && got == 0 ? "empty archive" : "truncated archive (a header "
                                                                   "ends early)");
        }
        for (k = 0; k < BLOCK && h[k] == 0; k++)
            ;
        if (k == BLOCK) {
            if (entries == 0)
                ML_FAIL(err, ML_EFORMAT, "%s: empty archive", in->name);
            return ML_OK;
        }
        if (!checksum_ok(h))
            ML_FAIL(err, ML_EFORMAT, "%s: not a tar archive, or a corrupted header (checksum "
                    "mismatch after %zu entries)", in->name, entries);
        if (!parse_num(h + 124, 12, &size))
            ML_FAIL(err, ML_EFORMAT, "%s: bad size field after %zu entries", in->name, entries);
        type = (char)h[156];
        if (type == 'x' || type == 'L') {
            if (type == 'x') {
                st = read_pax(in, size, longname, &have_long, err);
            } else {
                char *buf;
                if (size == 0 || size >= TAR_NAME_MAX)
                    ML_FAIL(err, ML_EFORMAT, "%s: GNU long name of %llu bytes", in->name,
                            (unsigned long long)size);
                buf = calloc(1, (size_t)size + 1);
                if (!buf)
                    ML_FAIL(err, ML_ENOMEM, "out of memory");
                if (!read_full(in, buf, (size_t)size, &got, &st, err)) {
                    free(buf);
                    if (st)
                        return st;
                    ML_FAIL(err, ML_EFORMAT, "%s: truncated archive", in->name);
                }
                memcpy(longname, buf, (size_t)size + 1);
                free(buf);
                have_long = 1;
                st = skip_data(in, pad(size), err);
            }
            if (st)
                return st;
            continue;
        }
        if (type == 'g') {
            st = skip_data(in, size + pad(size), err);
            if (st)
                return st;
            continue;
        }
        if (have_long) {
            memcpy(name, longname, sizeof name);
            have_long = 0;
        } else if (memcmp(h + 257, "ustar", 5) == 0 && h[345]) {
            snprintf(name, sizeof name, "%.155s/%.100s", (const char *)h + 345,
                     (const char *)h + 0);
        } else {
            snprintf(name, sizeof name, "%.100s", (const char *)h);
        }
        if (++entries > lim->max_entries)
            ML_FAIL(err, ML_ELIMIT, "%s: more than %zu entries", in->name, lim->max_entries);
        why = clean_name(name);
        if (why)
            ML_FAIL(err, ML_EFORMAT, "%s: entry \"%.200s\" is refused: %s", in->name, name, why);
        if (type != '0' && type != '\0' && type != '5' && type != '7')
            ML_FAIL(err, ML_EFORMAT, "%s: entry \"%.200s\" is refused: %s", in->name, name,
                    type == '1' ? "a hard link" : type == '2' ? "a symbolic link"
                    : type == '3' || type == '4' ? "a device" : type == '6' ? "a FIFO"
                    : "an unsupported entry type");
        if (type == '5') {
            if (name[0] && sink->begin) {
                st = sink->begin(sink->ctx, name, 1, 0, err);
                if (st)
                    return st;
            }
            st = skip_data(in, size + pad(size), err);
            if (st)
                return st;
            continue;
        }
        if (!name[0])
            ML_FAIL(err, ML_EFORMAT, "%s: a file entry without a name", in->name);
        if (size > lim->max_entry)
            ML_FAIL(err, ML_ELIMIT, "%s: entry \"%.200s\" has %llu bytes (at most %llu)",
                    in->name, name, (unsigned long long)size,
                    (unsigned long long)lim->max_entry);
        total += size;
        if (total > lim->max_total)
            ML_FAIL(err, ML_ELIMIT, "%s: more than %llu bytes in all", in->name,
                    (unsigned long long)lim->max_total);
        st = sink->begin ? sink->begin(sink->ctx, name, 0, size, err) : ML_OK;
        if (st)
            return st;
        {
            unsigned char buf[BLOCK * 16];
            uint64_t left = size;
            while (left > 0) {
                size_t want = left < sizeof buf ? (size_t)left : sizeof buf;
                if (!read_full(in, buf, want, &got, &st, err)) {
                    if (st)
                        return st;
                    ML_FAIL(err, ML_EFORMAT, "%s: truncated archive (entry \"%.200s\" ends "
                            "early)", in->name, name);
                }
                if (sink->data) {
                    st = sink->data(sink->ctx, buf, want, err);
                    if (st)
                        return st;
                }
                left -= want;
            }
        }
        if (sink->end) {
            st = sink->end(sink->ctx, err);
            if (st)
                return st;
        }
        st = skip_data(in, pad(size), err);
        if (st)
            return st;
    }
}

/* ---- extraction ------------------------------------------------------------ */

struct ex {
    const char *dest;
    const char *archive;
    int fd;
    char path[4096];
};

/* mkdir -p of the directories of rel (all of it if is_dir) under dest. */
static enum ml_status make_dirs(struct ex *x, const char *rel, int is_dir, struct ml_err *err)
{
    char p[4096];
    size_t base = strlen(x->dest) + 1, i, n;

    if ((size_t)snprintf(p, sizeof p, "%s/%s", x->dest, rel) >= sizeof p)
        ML_FAIL(err, ML_ELIMIT, "%s: entry \"%.200s\": path too long", x->archive, rel);
    n = strlen(p);
    for (i = base; i <= n; i++) {
        if (p[i] != '/' && !(p[i] == '\0' && is_dir))
            continue;
        p[i] = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            ML_FAIL(err, ML_EIO, "%s: cannot create %s: %s", x->archive, p, strerror(errno));
        {
            struct stat sb;
            /* Only directories we made can be on the way (no links are
             * extracted), but check rather than trust. */
            if (lstat(p, &sb) != 0 || !S_ISDIR(sb.st_mode))
                ML_FAIL(err, ML_EFORMAT, "%s: entry \"%.200s\": %s is not a directory",
                        x->archive, rel, p);
        }
        if (i < n)
            p[i] = '/';
    }
    return ML_OK;
}

static enum ml_status ex_begin(void *ctx, const char *name, int is_dir, uint64_t size,
                               struct ml_err *err)
{
    struct ex *x = ctx;
    enum ml_status st = make_dirs(x, name, is_dir, err);

    (void)size;
    if (st || is_dir)
        return st;
    snprintf(x->path, sizeof x->path, "%s/%s", x->dest, name);
    x->fd = open(x->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (x->fd < 0)
        ML_FAIL(err, errno == EEXIST ? ML_EFORMAT : ML_EIO, "%s: entry \"%.200s\": %s",
                x->archive, name, errno == EEXIST ? "appears twice" : strerror(errno));
    return ML_OK;
}

static enum ml_status ex_data(void *ctx, const void *buf, size_t n, struct ml_err *err)
{
    struct ex *x = ctx;
    const char *p = buf;

    while (n > 0) {
        ssize_t w = write(x->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            ML_FAIL(err, ML_EIO, "cannot write %s: %s", x->path, strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return ML_OK;
}

static enum ml_status ex_end(void *ctx, struct ml_err *err)
{
    struct ex *x = ctx;
    int r = close(x->fd);

    x->fd = -1;
    if (r != 0)
        ML_FAIL(err, ML_EIO, "cannot write %s: %s", x->path, strerror(errno));
    return ML_OK;
}

static long gz_in(void *src, void *buf, size_t n, struct ml_err *err)
{
    int e, r;
    const char *msg;

    if (n > (1u << 30))
        n = 1u << 30;
    r = gzread((gzFile)src, buf, (unsigned)n);
    if (r >= 0)
        return r;
    msg = gzerror((gzFile)src, &e);
    ml_fail(err, e == Z_ERRNO ? ML_EIO : ML_EFORMAT, __FILE__, __LINE__,
            "corrupt gzip stream: %s", msg ? msg : "?");
    return -1;
}

enum ml_status tar_extract(const char *path, const char *dest, const struct tar_limits *lim,
                           struct ml_err *err)
{
    struct ex x;
    struct tar_sink sink = {ex_begin, ex_data, ex_end, NULL};
    struct tar_input in;
    enum ml_status st;
    gzFile gz = gzopen(path, "rb");
    int e;

    if (!gz)
        ML_FAIL(err, ML_EIO, "cannot read %s: %s", path, strerror(errno ? errno : ENOMEM));
    memset(&x, 0, sizeof x);
    x.dest = dest;
    x.archive = path;
    x.fd = -1;
    sink.ctx = &x;
    in.read = gz_in;
    in.src = gz;
    in.name = path;
    st = tar_read(&in, lim, &sink, err);
    if (st && err && strncmp(err->msg, "corrupt gzip", 12) == 0)
        ml_err_prefix(err, "%s: ", path);
    if (x.fd >= 0)
        close(x.fd);
    e = gzclose(gz);
    if (!st && e != Z_OK)
        ML_FAIL(err, ML_EFORMAT, "%s: corrupt gzip stream (at close: %d)", path, e);
    return st;
}

void tar_remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[4096];

    if (d) {
        while ((e = readdir(d)) != NULL) {
            struct stat sb;
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= sizeof p)
                continue;
            if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
                tar_remove_tree(p);
            else
                unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}
