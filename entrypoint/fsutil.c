/* fsutil.c: mkdir -p, atomic writes and sorted directory listing for the
 * entrypoint (see fsutil.h).
 *
 * Why the temp-file registry: SageMaker stops a job with SIGTERM and kills it
 * 120 s later.  The stop handler removes any temporary file still being
 * written, so model/ never holds a half-written artifact under any name: final
 * names appear only through rename(2), which is atomic within a directory. */
#include "fsutil.h"

#include "ml_temp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FS_PATH_MAX 4096

enum ml_status fs_mkdir_p(const char *path, struct ml_err *err)
{
    char buf[FS_PATH_MAX];
    size_t len = strlen(path), i;
    struct stat sb;

    if (len == 0 || len >= sizeof buf)
        ML_FAIL(err, ML_EINVAL, "bad directory path \"%s\"", path);
    memcpy(buf, path, len + 1);
    for (i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            ML_FAIL(err, ML_EIO, "cannot create directory %s: %s", buf, strerror(errno));
        if (stat(buf, &sb) != 0 || !S_ISDIR(sb.st_mode))
            ML_FAIL(err, ML_EIO, "cannot create directory %s: a file of that name exists", buf);
        buf[i] = path[i];
    }
    return ML_OK;
}

void fs_temp_name(const char *path, char *tmp, size_t cap)
{
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;

    snprintf(tmp, cap, "%.*s.%s.tmp-%ld", dirlen, path, slash ? slash + 1 : path,
             (long)getpid());
}

void fs_temp_register(const char *tmp)
{
    ml_temp_register(tmp);
}

static void temp_unregister(const char *tmp)
{
    ml_temp_unregister(tmp);
}

enum ml_status fs_commit(const char *tmp, const char *path, struct ml_err *err)
{
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        temp_unregister(tmp);
        ML_FAIL(err, ML_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(e));
    }
    temp_unregister(tmp);
    return ML_OK;
}

void fs_abandon(const char *tmp)
{
    unlink(tmp);
    temp_unregister(tmp);
}

void fs_remove_temps_signal_safe(void)
{
    ml_temp_remove_all_signal_safe();
}

enum ml_status fs_write_temp(const char *path, const void *data, size_t len, char *tmp,
                             size_t tmpcap, struct ml_err *err)
{
    const char *p = data;
    int fd;

    fs_temp_name(path, tmp, tmpcap);
    fs_temp_register(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        temp_unregister(tmp);
        ML_FAIL(err, ML_EIO, "cannot write %s: %s", path, strerror(e));
    }
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : ENOSPC;
            close(fd);
            fs_abandon(tmp);
            ML_FAIL(err, ML_EIO, "cannot write %s: %s", path, strerror(e));
        }
        p += w;
        len -= (size_t)w;
    }
    /* fsync so a crash right after the rename cannot leave an empty file
     * under the final name; EINVAL means the file system cannot sync (pipes,
     * some FUSE mounts) and is not an error. */
    if (fsync(fd) != 0 && errno != EINVAL) {
        int e = errno;
        close(fd);
        fs_abandon(tmp);
        ML_FAIL(err, ML_EIO, "cannot write %s: fsync: %s", path, strerror(e));
    }
    if (close(fd) != 0) {
        int e = errno;
        fs_abandon(tmp);
        ML_FAIL(err, ML_EIO, "cannot write %s: %s", path, strerror(e));
    }
    return ML_OK;
}

enum ml_status fs_write_atomic(const char *path, const void *data, size_t len,
                               struct ml_err *err)
{
    char tmp[FS_PATH_MAX];
    enum ml_status st = fs_write_temp(path, data, len, tmp, sizeof tmp, err);

    return st ? st : fs_commit(tmp, path, err);
}

enum ml_status fs_read_all(const char *path, size_t max, char **out, size_t *len,
                           struct ml_err *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;

    *out = NULL;
    *len = 0;
    if (!f)
        ML_FAIL(err, errno == ENOENT ? ML_EINVAL : ML_EIO, "cannot read %s: %s", path,
                strerror(errno));
    for (;;) {
        size_t got;
        if (n + 4096 + 1 > cap) {
            size_t ncap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                fclose(f);
                ML_FAIL(err, ML_ENOMEM, "out of memory reading %s", path);
            }
            buf = nb;
            cap = ncap;
        }
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (n > max) {
            free(buf);
            fclose(f);
            ML_FAIL(err, ML_ELIMIT, "%s is larger than the %zu-byte limit", path, max);
        }
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        int e = errno;
        free(buf);
        fclose(f);
        ML_FAIL(err, ML_EIO, "cannot read %s: %s", path, strerror(e));
    }
    fclose(f);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return ML_OK;
}

struct strlist {
    char **v;
    size_t n, cap;
};

static int push(struct strlist *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n] = strdup(s);
    if (!l->v[l->n])
        return -1;
    l->n++;
    return 0;
}

static enum ml_status walk(const char *root, const char *rel, struct strlist *l, int depth,
                           struct ml_err *err)
{
    char dir[FS_PATH_MAX], child_rel[FS_PATH_MAX], child[FS_PATH_MAX];
    DIR *d;
    struct dirent *e;
    enum ml_status st = ML_OK;

    if (depth > 32)
        ML_FAIL(err, ML_ELIMIT, "%s: directories nested more than 32 deep", root);
    snprintf(dir, sizeof dir, "%s%s%s", root, rel[0] ? "/" : "", rel);
    d = opendir(dir);
    if (!d)
        ML_FAIL(err, ML_EIO, "cannot list %s: %s", dir, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        struct stat sb;

        if (e->d_name[0] == '.' || e->d_name[0] == '_')
            continue;
        snprintf(child_rel, sizeof child_rel, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        snprintf(child, sizeof child, "%s/%s", root, child_rel);
        if (stat(child, &sb) != 0) {
            st = ml_fail(err, ML_EIO, __FILE__, __LINE__, "cannot stat %s: %s", child,
                         strerror(errno));
            break;
        }
        if (S_ISDIR(sb.st_mode)) {
            st = walk(root, child_rel, l, depth + 1, err);
            if (st)
                break;
        } else if (S_ISREG(sb.st_mode) || S_ISFIFO(sb.st_mode)) {
            if (push(l, child_rel) != 0) {
                st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory listing %s",
                             root);
                break;
            }
        }
    }
    closedir(d);
    return st;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

enum ml_status fs_list_files(const char *dir, char ***out, size_t *n, struct ml_err *err)
{
    struct strlist l = {0};
    enum ml_status st = walk(dir, "", &l, 0, err);

    if (st) {
        fs_list_free(l.v, l.n);
        *out = NULL;
        *n = 0;
        return st;
    }
    if (l.n)
        qsort(l.v, l.n, sizeof *l.v, cmp_str);
    *out = l.v;
    *n = l.n;
    return ML_OK;
}

void fs_list_free(char **list, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(list[i]);
    free(list);
}
