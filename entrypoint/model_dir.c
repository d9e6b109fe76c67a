/* model_dir.c: load and validate a model directory (see model_dir.h). */
#include "model_dir.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "fsutil.h"
#include "hdf5/gam_h5.h"
#include "hdf5/iforest_h5.h"
#include "source/source.h"
#include "source/tar_read.h"

#define LIST_MAX 20 /* directory entries named when no model is there */

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "a.json, b.txt, ..." : up to LIST_MAX visible entries of dir, sorted. */
static void list_dir(const char *dir, char *buf, size_t cap)
{
    char *names[LIST_MAX];
    size_t n = 0, more = 0, len, i;
    struct dirent *e;
    DIR *d = opendir(dir);

    buf[0] = '\0';
    if (!d) {
        snprintf(buf, cap, "cannot list it: %s", strerror(errno));
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n < LIST_MAX && (names[n] = strdup(e->d_name)) != NULL)
            n++;
        else
            more++;
    }
    closedir(d);
    if (n == 0) {
        snprintf(buf, cap, "it is empty");
        return;
    }
    qsort(names, n, sizeof names[0], cmp_name);
    len = (size_t)snprintf(buf, cap, "it holds: ");
    for (i = 0; i < n; i++) {
        if (len < cap)
            len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", names[i]);
        free(names[i]);
    }
    if (more && len < cap)
        snprintf(buf + len, cap - len, " and %zu more", more);
}

/* 1 if `path` exists, or cannot be looked at for a reason other than its
 * absence (the reader then reports that reason). */
static int present(const char *path)
{
    struct stat sb;

    return stat(path, &sb) == 0 || errno != ENOENT;
}

static enum ml_status join(char *out, size_t cap, const char *dir, const char *name,
                           struct ml_err *err)
{
    if ((size_t)snprintf(out, cap, "%s/%s", dir, name) >= cap)
        ML_FAIL(err, ML_EINVAL, "%s/%s: path too long", dir, name);
    return ML_OK;
}

/* manifest_format_version as an integer >= 1, or 0 if it is not one. */
static long format_version(const cJSON *v)
{
    char *end;
    long x;

    if (cJSON_IsNumber(v))
        return v->valuedouble >= 1 && v->valuedouble <= 1e9 &&
                       v->valuedouble == (double)(long)v->valuedouble
                   ? (long)v->valuedouble
                   : 0;
    if (!cJSON_IsString(v) || !v->valuestring[0] || v->valuestring[0] == '-' ||
        v->valuestring[0] == '+' || v->valuestring[0] == ' ')
        return 0;
    errno = 0;
    x = strtol(v->valuestring, &end, 10);
    return errno || *end || x < 1 ? 0 : x;
}

/* Check every entry of the manifest list `key` against the file on disk. */
static enum ml_status check_list(const char *dir, const cJSON *man, const char *mpath,
                                 const char *key, struct ml_err *err)
{
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(man, key), *f;
    char path[4096];
    int idx = 0;

    cJSON_ArrayForEach(f, files) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(f, "name");
        const cJSON *sha = cJSON_GetObjectItemCaseSensitive(f, "sha256");
        const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(f, "bytes");
        char hex[65];
        uint64_t nb;
        enum ml_status st;

        if (!cJSON_IsString(name) || !cJSON_IsString(sha) || !cJSON_IsNumber(bytes))
            ML_FAIL(err, ML_EFORMAT, "%s: %s[%d] needs a string \"name\", a string "
                    "\"sha256\" and a number \"bytes\"", mpath, key, idx);
        /* A name is a file of the directory itself: nothing outside it. */
        if (!name->valuestring[0] || strchr(name->valuestring, '/') ||
            strcmp(name->valuestring, ".") == 0 || strcmp(name->valuestring, "..") == 0)
            ML_FAIL(err, ML_EFORMAT, "%s: %s[%d] name \"%s\" is not a plain file name", mpath,
                    key, idx, name->valuestring);
        st = join(path, sizeof path, dir, name->valuestring, err);
        if (st)
            return st;
        if (!present(path))
            ML_FAIL(err, ML_EFORMAT, "manifest does not match %s: the manifest lists it but "
                    "%s does not exist", name->valuestring, path);
        st = source_fingerprint(path, hex, &nb, err);
        if (st)
            return st;
        if ((double)nb != bytes->valuedouble)
            ML_FAIL(err, ML_EFORMAT, "manifest does not match %s: the file has %llu bytes, "
                    "the manifest says %.0f (truncated or replaced?)", path,
                    (unsigned long long)nb, bytes->valuedouble);
        if (strcmp(hex, sha->valuestring) != 0)
            ML_FAIL(err, ML_EFORMAT, "manifest does not match %s: its SHA-256 is %s, the "
                    "manifest says %.64s (corrupted or replaced?)", path, hex,
                    sha->valuestring);
        idx++;
    }
    return ML_OK;
}

enum ml_status model_dir_check_manifest(const char *dir, const cJSON *man, const char *mpath,
                                        struct ml_err *err)
{
    static const char *const models[] = {MODEL_DIR_GAM, MODEL_DIR_IFOREST};
    const cJSON *files, *arts, *f, *v;
    char path[4096];
    size_t k;
    long ver;
    enum ml_status st;

    if (!cJSON_IsObject(man))
        ML_FAIL(err, ML_EFORMAT, "%s: not a JSON object (corrupted manifest?)", mpath);
    v = cJSON_GetObjectItemCaseSensitive(man, "manifest_format_version");
    if (!v)
        ML_FAIL(err, ML_EFORMAT, "%s: no \"manifest_format_version\"", mpath);
    ver = format_version(v);
    if (ver == 0) {
        char *t = cJSON_PrintUnformatted(v);
        ml_fail(err, ML_EFORMAT, __FILE__, __LINE__,
                "%s: \"manifest_format_version\" is %.60s; expected a version number such as "
                "\"1\"", mpath, t ? t : "?");
        cJSON_free(t);
        return ML_EFORMAT;
    }
    if (ver > MODEL_DIR_FORMAT_SUPPORTED)
        ML_FAIL(err, ML_EFORMAT, "%s: model directory format %ld is newer than this plantfit "
                "supports (%d); use a newer plantfit than %s for this model", mpath, ver,
                MODEL_DIR_FORMAT_SUPPORTED, pf_version());
    files = cJSON_GetObjectItemCaseSensitive(man, "model_files");
    if (!cJSON_IsArray(files))
        ML_FAIL(err, ML_EFORMAT, "%s: \"model_files\" is missing or not a list", mpath);
    st = check_list(dir, man, mpath, "model_files", err);
    if (st)
        return st;
    arts = cJSON_GetObjectItemCaseSensitive(man, "artifacts");
    if (arts && !cJSON_IsArray(arts))
        ML_FAIL(err, ML_EFORMAT, "%s: \"artifacts\" is not a list", mpath);
    st = check_list(dir, man, mpath, "artifacts", err);
    if (st)
        return st;
    /* and each model file present is listed */
    for (k = 0; k < sizeof models / sizeof models[0]; k++) {
        int listed = 0;

        if (join(path, sizeof path, dir, models[k], err))
            return err ? err->code : ML_EINVAL;
        if (!present(path))
            continue;
        cJSON_ArrayForEach(f, files) {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(f, "name");
            listed |= strcmp(name->valuestring, models[k]) == 0;
        }
        if (!listed)
            ML_FAIL(err, ML_EFORMAT, "manifest does not match %s: the file is there but %s "
                    "does not list it in model_files", models[k], mpath);
    }
    return ML_OK;
}

static enum ml_status read_manifest(struct model_dir *md, struct ml_err *err)
{
    char path[4096];
    char *text = NULL;
    size_t len;
    const cJSON *v, *hp;
    enum ml_status st;

    st = join(path, sizeof path, md->path, MODEL_DIR_MANIFEST, err);
    if (st)
        return st;
    if (!present(path)) {
        snprintf(md->note, sizeof md->note,
                 "%s has no " MODEL_DIR_MANIFEST ": model files not checked against one",
                 md->path);
        return ML_OK;
    }
    st = fs_read_all(path, MODEL_DIR_MANIFEST_MAX, &text, &len, err);
    if (st)
        return st;
    md->manifest = cJSON_ParseWithLength(text, len);
    free(text);
    st = model_dir_check_manifest(md->path, md->manifest, path, err);
    if (st)
        return st;
    hp = cJSON_GetObjectItemCaseSensitive(md->manifest, "hyperparameters");
    v = cJSON_GetObjectItemCaseSensitive(hp, "label");
    if (cJSON_IsString(v) && v->valuestring[0])
        md->label = v->valuestring;
    return ML_OK;
}

enum ml_status model_dir_load(const char *dir, struct model_dir *md, struct ml_err *err)
{
    char gam_path[4096], forest_path[4096], listing[1024];
    enum ml_status st;
    struct stat sb;
    int has_gam, has_forest;

    memset(md, 0, sizeof *md);
    if (stat(dir, &sb) != 0)
        ML_FAIL(err, ML_EIO, "model directory %s: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        ML_FAIL(err, ML_EINVAL, "model directory %s: not a directory (give the directory "
                "that holds " MODEL_DIR_GAM " or " MODEL_DIR_IFOREST ")", dir);
    if ((size_t)snprintf(md->path, sizeof md->path, "%s", dir) >= sizeof md->path)
        ML_FAIL(err, ML_EINVAL, "model directory %.200s...: path too long", dir);
    if (join(gam_path, sizeof gam_path, dir, MODEL_DIR_GAM, err) ||
        join(forest_path, sizeof forest_path, dir, MODEL_DIR_IFOREST, err))
        return err ? err->code : ML_EINVAL;
    has_gam = present(gam_path);
    has_forest = present(forest_path);
    if (!has_gam && !has_forest) {
        list_dir(dir, listing, sizeof listing);
        ML_FAIL(err, ML_EINVAL, "model directory %s: no " MODEL_DIR_GAM " or " MODEL_DIR_IFOREST
                " there (%s)", dir, listing);
    }
    st = read_manifest(md, err);
    if (!st && has_gam)
        st = gam_h5_read(gam_path, &md->gam, err);
    if (!st && has_forest)
        st = iforest_h5_read(forest_path, &md->forest, err);
    if (st)
        model_dir_free(md);
    return st;
}

void model_dir_free(struct model_dir *md)
{
    gam_model_free(md->gam);
    iforest_free(md->forest);
    cJSON_Delete(md->manifest);
    if (md->tmpdir[0]) {
        tar_remove_tree(md->tmpdir);
        fs_abandon(md->tmpdir);
    }
    memset(md, 0, sizeof *md);
}

/* The model directory inside an extracted archive at dir: dir itself if it
 * holds a model file or a manifest, else its only subdirectory. */
static void archive_root(const char *dir, char *out, size_t cap)
{
    static const char *const marks[] = {MODEL_DIR_GAM, MODEL_DIR_IFOREST, MODEL_DIR_MANIFEST};
    char p[4096], sub[4096];
    struct dirent *e;
    size_t k, nsub = 0, nother = 0;
    DIR *d;

    snprintf(out, cap, "%s", dir);
    for (k = 0; k < sizeof marks / sizeof marks[0]; k++) {
        snprintf(p, sizeof p, "%s/%s", dir, marks[k]);
        if (present(p))
            return;
    }
    d = opendir(dir);
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        struct stat sb;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            nsub++;
            snprintf(sub, sizeof sub, "%s", p);
        } else {
            nother++;
        }
    }
    closedir(d);
    if (nsub == 1 && nother == 0)
        snprintf(out, cap, "%s", sub);
}

enum ml_status model_dir_open(const char *path, struct model_dir *md, struct ml_err *err)
{
    struct tar_limits lim;
    struct stat sb;
    char tmp[4096], root[4096];
    const char *base = getenv("TMPDIR");
    enum ml_status st;

    memset(md, 0, sizeof *md);
    if (stat(path, &sb) != 0 || S_ISDIR(sb.st_mode))
        return model_dir_load(path, md, err);
    if (!base || !base[0])
        base = "/tmp";
    if ((size_t)snprintf(tmp, sizeof tmp, "%s/plantfit-model-XXXXXX", base) >= sizeof tmp)
        ML_FAIL(err, ML_EINVAL, "TMPDIR path too long");
    if (!mkdtemp(tmp))
        ML_FAIL(err, ML_EIO, "cannot create a directory in %s to extract %s: %s", base, path,
                strerror(errno));
    /* Registered so that a stop signal removes the directory itself; the
     * files in it go with tar_remove_tree on the normal paths. */
    fs_temp_register(tmp);
    tar_limits_default(&lim);
    st = tar_extract(path, tmp, &lim, err);
    if (st) {
        ml_err_prefix(err, "model artifact: ");
        tar_remove_tree(tmp);
        fs_abandon(tmp);
        return st;
    }
    archive_root(tmp, root, sizeof root);
    st = model_dir_load(root, md, err);
    if (st) {
        ml_err_prefix(err, "%s (extracted): ", path);
        tar_remove_tree(tmp);
        fs_abandon(tmp);
        return st;
    }
    snprintf(md->tmpdir, sizeof md->tmpdir, "%s", tmp);
    return ML_OK;
}
