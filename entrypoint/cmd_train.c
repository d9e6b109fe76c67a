/* cmd_train.c: `plantfit train`, the SageMaker training entrypoint.
 *
 * Follows the training contract (anchors.md section 1): configuration from
 * <base>/input/config/{hyperparameters,inputdataconfig,resourceconfig}.json,
 * channel data under <base>/input/data/<channel>/ (File, FastFile) or the
 * FIFO <base>/input/data/<channel>_0 (Pipe), the model under <base>/model,
 * metrics under <base>/output/data, and <base>/output/success or
 * <base>/output/failure at the end.  <base> is /opt/ml unless
 * SAGEMAKER_BASE_DIR or --base-dir says otherwise.
 *
 * Order of work, chosen so a bad job fails fast and leaves nothing behind:
 * configuration is validated and the model directory is probed for
 * writability before any data is read; every artifact is written under a
 * temporary name and renamed into place only after all of them were written,
 * the manifest last, so a reader that sees manifest.json sees a complete
 * model.  SIGTERM (what StopTrainingJob sends, SIGKILL following 120 s later)
 * removes temporary files, writes the failure file and exits 143 at once. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <openssl/evp.h>

#include "commands.h"
#include "csv/csv_read.h"
#include "compare.h"
#include "fsutil.h"
#include "hdf5/table_h5.h"
#include "json/sm_config.h"
#include "libinfo.h"
#include "ml_table.h"
#include "profile.h"
#include "source/source.h"
#include "train_algo.h"

#define PATH_CAP 4096
#define CONFIG_MAX_BYTES (1u << 20) /* config files are small; refuse anything huge */
#define PIPE_WAIT_SECONDS 60        /* how long to wait for a Pipe-mode FIFO to appear */
#define MAX_STAGES 32

/* ---- stop handling -------------------------------------------------------- */

static char g_failure_path[PATH_CAP];
static const char *volatile g_stage = "starting";
static volatile sig_atomic_t g_stop;

static void write_all_signal_safe(int fd, const char *s)
{
    size_t len = strlen(s);

    while (len > 0) {
        ssize_t w = write(fd, s, len);
        if (w <= 0)
            return;
        s += w;
        len -= (size_t)w;
    }
}

static void on_stop_signal(int sig)
{
    int fd;

    g_stop = 1;
    fs_remove_temps_signal_safe();
    fd = open(g_failure_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        write_all_signal_safe(fd, "Training job stopped: received ");
        write_all_signal_safe(fd, sig == SIGTERM ? "SIGTERM" : "SIGINT");
        write_all_signal_safe(fd, " during stage \"");
        write_all_signal_safe(fd, (const char *)g_stage);
        write_all_signal_safe(fd, "\"; no model was written.\n");
        close(fd);
    }
    write_all_signal_safe(2, "plantfit train: stopped by signal; no model was written\n");
    _exit(128 + sig);
}

static void install_stop_handler(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

static void block_stop_signals(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
}

/* ---- context ------------------------------------------------------------- */

struct stage {
    const char *name;
    double seconds;
};

struct train_ctx {
    char base[PATH_CAP];
    char config_dir[PATH_CAP];
    char data_dir[PATH_CAP];
    char model_dir[PATH_CAP];
    char output_dir[PATH_CAP];
    char output_data_dir[PATH_CAP];
    struct hp_set *hp;
    char *hp_text;                 /* raw hyperparameters.json, owned */
    struct sm_input_config inputs;
    struct sm_resource_config res;
    int have_res;
    struct train_channel train;
    struct train_channel valid;
    int have_valid;
    char commit_id[HP_MAX_LEN + 1];
    const char *commit_source;     /* "hyperparameter", "GIT_COMMIT" or "unknown" */
    struct stage stages[MAX_STAGES];
    size_t nstages;
    double t_stage;
    double t_start;
    cJSON *warnings;               /* array of strings, owned */
};

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void stage_begin(struct train_ctx *c, const char *name)
{
    g_stage = name;
    c->t_stage = now_seconds();
}

static void stage_end(struct train_ctx *c)
{
    double dt = now_seconds() - c->t_stage;

    if (c->nstages < MAX_STAGES) {
        c->stages[c->nstages].name = (const char *)g_stage;
        c->stages[c->nstages].seconds = dt;
        c->nstages++;
    }
    fprintf(stderr, "[plantfit] stage %-24s %8.3f s\n", (const char *)g_stage, dt);
}

static void warn(struct train_ctx *c, const char *fmt, ...) ML_ATTR_FORMAT(2, 3);

static void warn(struct train_ctx *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "[plantfit] warning: %s\n", msg);
    if (c->warnings)
        cJSON_AddItemToArray(c->warnings, cJSON_CreateString(msg));
}

static int join(char *out, size_t cap, const char *a, const char *b)
{
    int n = snprintf(out, cap, "%s/%s", a, b);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* ---- configuration -------------------------------------------------------- */

static enum ml_status read_config(struct train_ctx *c, struct ml_err *err)
{
    char path[PATH_CAP], *text = NULL;
    size_t len;
    enum ml_status st;
    const struct hp_value *v;
    const char *git;

    /* hyperparameters.json */
    join(path, sizeof path, c->config_dir, "hyperparameters.json");
    st = fs_read_all(path, CONFIG_MAX_BYTES, &text, &len, err);
    if (st) {
        if (st == ML_EINVAL)
            ml_err_prefix(err, "missing hyperparameters file: ");
        return st;
    }
    st = hp_parse(text, len, path, train_hp_spec(), train_hp_count(), &c->hp, err);
    c->hp_text = text;
    if (st)
        return st;

    /* inputdataconfig.json */
    join(path, sizeof path, c->config_dir, "inputdataconfig.json");
    st = fs_read_all(path, CONFIG_MAX_BYTES, &text, &len, err);
    if (st) {
        if (st == ML_EINVAL)
            ml_err_prefix(err, "missing input data configuration: ");
        return st;
    }
    st = sm_input_config_parse(text, len, path, &c->inputs, err);
    free(text);
    if (st)
        return st;

    /* resourceconfig.json: optional locally, always present on SageMaker. */
    join(path, sizeof path, c->config_dir, "resourceconfig.json");
    if (access(path, F_OK) == 0) {
        st = fs_read_all(path, CONFIG_MAX_BYTES, &text, &len, err);
        if (st)
            return st;
        st = sm_resource_config_parse(text, len, path, &c->res, err);
        free(text);
        if (st)
            return st;
        c->have_res = 1;
        if (c->res.nhosts > 1)
            warn(c, "%zu hosts in resourceconfig.json: multi-host training is not supported "
                    "yet; host %s trains on the data it sees", c->res.nhosts, c->res.current_host);
    }

    /* The commit ID is never invented: hyperparameter, then GIT_COMMIT, else unknown. */
    v = hp_get(c->hp, "commit_id");
    git = getenv("GIT_COMMIT");
    if (v && v->set && v->s && v->s[0]) {
        snprintf(c->commit_id, sizeof c->commit_id, "%s", v->s);
        c->commit_source = "hyperparameter";
    } else if (git && git[0]) {
        snprintf(c->commit_id, sizeof c->commit_id, "%s", git);
        c->commit_source = "GIT_COMMIT";
    } else {
        c->commit_id[0] = '\0';
        c->commit_source = "unknown";
    }
    return ML_OK;
}

/* Fail before any data is read if the model directory cannot be written. */
static enum ml_status probe_model_dir(struct train_ctx *c, struct ml_err *err)
{
    char final[PATH_CAP], probe[PATH_CAP];
    enum ml_status st;

    st = fs_mkdir_p(c->model_dir, err);
    if (st) {
        ml_err_prefix(err, "model directory %s cannot be written: ", c->model_dir);
        return st;
    }
    if (join(final, sizeof final, c->model_dir, "manifest.json") != 0)
        ML_FAIL(err, ML_EINVAL, "model directory path too long: %s", c->model_dir);
    /* Separate buffers: fs_temp_name reads its input while it writes. */
    fs_temp_name(final, probe, sizeof probe);
    {
        int fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            ML_FAIL(err, ML_EIO, "model directory %s cannot be written: %s", c->model_dir,
                    strerror(errno));
        close(fd);
        unlink(probe);
    }
    return ML_OK;
}

/* ---- data ----------------------------------------------------------------- */

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static int is_hdf5_name(const char *s)
{
    return has_suffix(s, ".h5") || has_suffix(s, ".hdf5") || has_suffix(s, ".he5");
}

static void csv_opts_for(const struct train_ctx *c, const struct sm_channel *cfg,
                         struct csv_options *o)
{
    const struct hp_value *v;

    csv_options_default(o);
    v = hp_get(c->hp, "csv_delimiter");
    if (v && v->has_value)
        o->delim = v->c;
    o->header = cfg->header < 0 ? 1 : cfg->header;
    o->label_size = cfg->label_size < 0 ? 1 : (size_t)cfg->label_size;
    v = hp_get(c->hp, "categorical");
    if (v && v->has_value) {
        o->categorical = (const char *const *)v->list;
        o->ncategorical = v->nlist;
    }
    v = hp_get(c->hp, "threads");
    o->threads = v && v->i > 0 ? (int)v->i : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (o->threads < 1)
        o->threads = 1;
}

static enum ml_status read_one_file(struct train_ctx *c, const struct sm_channel *cfg,
                                    const char *path, const char *rel,
                                    struct train_file *f, struct ml_table **t,
                                    struct ml_err *err)
{
    double t0 = now_seconds();
    enum ml_status st;

    f->rel = strdup(rel);
    if (!f->rel)
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    if (is_hdf5_name(rel) || (cfg->content == SM_CONTENT_HDF5 && !has_suffix(rel, ".csv") &&
                              !has_suffix(rel, ".csv.gz"))) {
        f->is_hdf5 = 1;
        st = table_h5_read(path, cfg->label_size < 0 ? 1 : (size_t)cfg->label_size, t, err);
        if (st)
            return st;
        st = source_fingerprint(path, f->sha256, &f->bytes, err);
        if (st)
            return st;
        f->rows = (*t)->nrow;
    } else {
        struct csv_options o;
        struct csv_file_info info;

        csv_opts_for(c, cfg, &o);
        st = csv_read_file(path, &o, t, &info, err);
        if (st)
            return st;
        memcpy(f->sha256, info.sha256, sizeof f->sha256);
        f->bytes = info.bytes;
        f->rows = info.rows;
    }
    f->seconds = now_seconds() - t0;
    fprintf(stderr, "[plantfit] read %s: %llu rows, %.1f MB in %.3f s (%.1f MB/s)\n", path,
            (unsigned long long)f->rows, (double)f->bytes / 1e6, f->seconds,
            f->seconds > 0 ? (double)f->bytes / 1e6 / f->seconds : 0.0);
    return ML_OK;
}

static enum ml_status wait_for_fifo(const char *path, struct ml_err *err)
{
    struct stat sb;
    int waited;

    /* Pipe mode: the FIFO may appear after the container starts (dev guide). */
    for (waited = 0; waited < PIPE_WAIT_SECONDS * 10; waited++) {
        if (stat(path, &sb) == 0)
            return ML_OK;
        if (g_stop)
            ML_FAIL(err, ML_ESTOPPED, "stopped while waiting for %s", path);
        usleep(100000);
    }
    ML_FAIL(err, ML_EIO, "Pipe mode: %s did not appear within %d s", path, PIPE_WAIT_SECONDS);
}

static enum ml_status read_channel(struct train_ctx *c, const char *name,
                                   const struct sm_channel *cfg, struct train_channel *ch,
                                   struct ml_err *err)
{
    char dir[PATH_CAP], path[PATH_CAP];
    char **files = NULL;
    size_t nfiles = 0, i;
    enum ml_status st = ML_OK;
    struct stat sb;

    snprintf(ch->name, sizeof ch->name, "%s", name);
    ch->cfg = cfg;
    if (cfg->mode == SM_MODE_PIPE) {
        char fifo[SM_NAME_MAX + 8];

        if (cfg->content == SM_CONTENT_HDF5)
            ML_FAIL(err, ML_EINVAL,
                    "channel %s: Pipe mode streams the data once and HDF5 needs random "
                    "access; use text/csv or File/FastFile mode", name);
        snprintf(fifo, sizeof fifo, "%s_0", name);
        join(path, sizeof path, c->data_dir, fifo);
        st = wait_for_fifo(path, err);
        if (st)
            return st;
        ch->files = calloc(1, sizeof *ch->files);
        if (!ch->files)
            ML_FAIL(err, ML_ENOMEM, "out of memory");
        ch->nfiles = 1;
        return read_one_file(c, cfg, path, fifo, &ch->files[0], &ch->table, err);
    }

    join(dir, sizeof dir, c->data_dir, name);
    if (stat(dir, &sb) != 0)
        ML_FAIL(err, ML_EINVAL, "channel %s: data directory %s does not exist: %s", name, dir,
                strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        ML_FAIL(err, ML_EINVAL, "channel %s: %s is not a directory", name, dir);
    st = fs_list_files(dir, &files, &nfiles, err);
    if (st)
        return st;
    if (nfiles == 0) {
        fs_list_free(files, nfiles);
        ML_FAIL(err, ML_EINVAL,
                "channel %s is empty: no data files in %s (hidden \".*\" and marker \"_*\" "
                "files are skipped)", name, dir);
    }
    ch->files = calloc(nfiles, sizeof *ch->files);
    if (!ch->files) {
        fs_list_free(files, nfiles);
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    }
    ch->nfiles = nfiles;
    for (i = 0; i < nfiles && st == ML_OK; i++) {
        struct ml_table *t = NULL;

        join(path, sizeof path, dir, files[i]);
        st = read_one_file(c, cfg, path, files[i], &ch->files[i], &t, err);
        if (st)
            break;
        if (!ch->table) {
            ch->table = t;
            continue;
        }
        st = ml_table_append(ch->table, t, err);
        if (st)
            ml_err_prefix(err, "%s: schema differs from %s/%s: ", path, dir, files[0]);
        ml_table_free(t);
    }
    fs_list_free(files, nfiles);
    return st;
}

static enum ml_status check_columns(const struct train_channel *ch, struct ml_err *err)
{
    size_t j;

    for (j = 0; j < ch->table->ncol; j++)
        if (ch->table->nrow > 0 && ml_table_missing(ch->table, j) == ch->table->nrow)
            ML_FAIL(err, ML_EDOM,
                    "channel %s: column \"%s\" (column %zu) is missing in all %zu rows",
                    ch->name, ch->table->col[j].name, j + 1, ch->table->nrow);
    return ML_OK;
}

static enum ml_status check_same_schema(const struct train_channel *a,
                                        const struct train_channel *b, struct ml_err *err)
{
    size_t j;

    for (j = 0; j < a->table->ncol; j++) {
        long k = ml_table_find(b->table, a->table->col[j].name);
        if (k < 0)
            ML_FAIL(err, ML_EFORMAT, "channel %s has no column \"%s\", which channel %s has",
                    b->name, a->table->col[j].name, a->name);
        if (b->table->col[k].type != a->table->col[j].type)
            ML_FAIL(err, ML_EFORMAT, "column \"%s\" is %s in channel %s but %s in channel %s",
                    a->table->col[j].name,
                    a->table->col[j].type == ML_COL_NUMERIC ? "numeric" : "categorical",
                    a->name,
                    b->table->col[k].type == ML_COL_NUMERIC ? "numeric" : "categorical",
                    b->name);
    }
    if (b->table->ncol != a->table->ncol)
        ML_FAIL(err, ML_EFORMAT, "channel %s has %zu columns where channel %s has %zu", b->name,
                b->table->ncol, a->name, a->table->ncol);
    return ML_OK;
}

static enum ml_status read_data(struct train_ctx *c, struct ml_err *err)
{
    const struct sm_channel *tr, *va;
    const struct hp_value *target;
    enum ml_status st;
    size_t i;

    tr = sm_input_config_find(&c->inputs, "train");
    if (!tr)
        tr = sm_input_config_find(&c->inputs, "training");
    if (!tr)
        ML_FAIL(err, ML_EINVAL,
                "no \"train\" channel (alias \"training\") in %s/inputdataconfig.json; "
                "channels given: %zu", c->config_dir, c->inputs.n);
    for (i = 0; i < c->inputs.n; i++) {
        const char *n = c->inputs.ch[i].name;
        if (strcmp(n, "train") && strcmp(n, "training") && strcmp(n, "validation") &&
            strcmp(n, "baseline"))
            warn(c, "channel \"%s\" is not used by plantfit train (train, validation, "
                 "baseline)", n);
    }
    stage_begin(c, "read train");
    st = read_channel(c, tr->name, tr, &c->train, err);
    if (st)
        return st;
    st = check_columns(&c->train, err);
    if (st)
        return st;
    stage_end(c);

    va = sm_input_config_find(&c->inputs, "validation");
    if (va) {
        stage_begin(c, "read validation");
        st = read_channel(c, va->name, va, &c->valid, err);
        if (st)
            return st;
        c->have_valid = 1;
        st = check_same_schema(&c->train, &c->valid, err);
        if (st)
            return st;
        stage_end(c);
    }
    target = hp_get(c->hp, "target");
    if (target && target->has_value && ml_table_find(c->train.table, target->s) < 0)
        ML_FAIL(err, ML_EINVAL, "hyperparameter \"target\" = \"%s\": no such column in "
                "channel %s", target->s, c->train.name);
    return ML_OK;
}

/* ---- outputs -------------------------------------------------------------- */

static void sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    int i;

    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    for (i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    hex[64] = '\0';
}

static cJSON *channel_json(const struct train_channel *ch)
{
    cJSON *o = cJSON_CreateObject(), *files, *cols;
    const struct sm_channel *cfg = ch->cfg;
    static const char *const modes[] = {"File", "FastFile", "Pipe"};
    uint64_t bytes = 0;
    size_t i;

    cJSON_AddStringToObject(o, "content_type",
                            cfg->content_type[0] ? cfg->content_type : "text/csv");
    cJSON_AddStringToObject(o, "input_mode", modes[cfg->mode]);
    cJSON_AddStringToObject(o, "s3_distribution_type", cfg->distribution);
    cJSON_AddNumberToObject(o, "rows", (double)ch->table->nrow);
    files = cJSON_AddArrayToObject(o, "files");
    for (i = 0; i < ch->nfiles; i++) {
        const struct train_file *f = &ch->files[i];
        cJSON *fo = cJSON_CreateObject();

        cJSON_AddStringToObject(fo, "path", f->rel);
        cJSON_AddStringToObject(fo, "format", f->is_hdf5 ? "hdf5" : "csv");
        cJSON_AddStringToObject(fo, "sha256", f->sha256);
        cJSON_AddNumberToObject(fo, "bytes", (double)f->bytes);
        cJSON_AddNumberToObject(fo, "rows", (double)f->rows);
        cJSON_AddItemToArray(files, fo);
        bytes += f->bytes;
    }
    cJSON_AddNumberToObject(o, "bytes", (double)bytes);
    cols = cJSON_AddArrayToObject(o, "columns");
    for (i = 0; i < ch->table->ncol; i++) {
        cJSON *co = cJSON_CreateObject();
        cJSON_AddStringToObject(co, "name", ch->table->col[i].name);
        cJSON_AddStringToObject(co, "type", ch->table->col[i].type == ML_COL_NUMERIC
                                                ? "numeric" : "categorical");
        cJSON_AddNumberToObject(co, "missing", (double)ml_table_missing(ch->table, i));
        cJSON_AddItemToArray(cols, co);
    }
    return o;
}

/* One digest over every input file of every channel, in channel then path
 * order, so one string identifies the whole data set. */
static void data_fingerprint(const struct train_ctx *c, char hex[65])
{
    const struct train_channel *chs[2] = {&c->train, c->have_valid ? &c->valid : NULL};
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int k;
    size_t i;

    for (k = 0; k < 2; k++) {
        if (!chs[k])
            continue;
        for (i = 0; i < chs[k]->nfiles; i++) {
            const struct train_file *f = &chs[k]->files[i];
            size_t need = strlen(chs[k]->name) + strlen(f->rel) + 64 + 24;
            if (len + need > cap) {
                char *nb;
                cap = (len + need) * 2;
                nb = realloc(buf, cap);
                if (!nb) {
                    free(buf);
                    snprintf(hex, 65, "%s", "unavailable");
                    return;
                }
                buf = nb;
            }
            len += (size_t)snprintf(buf + len, cap - len, "%s/%s %s %llu\n", chs[k]->name,
                                    f->rel, f->sha256, (unsigned long long)f->bytes);
        }
    }
    sha256_hex(buf ? buf : "", len, hex);
    free(buf);
}

static cJSON *hp_json(const struct hp_set *h)
{
    cJSON *o = cJSON_CreateObject();
    size_t i, k;

    for (i = 0; i < h->n; i++) {
        const struct hp_value *v = &h->v[i];
        if (!v->has_value) {
            cJSON_AddNullToObject(o, v->spec->name);
            continue;
        }
        switch (v->spec->type) {
        case HP_INT:
            cJSON_AddNumberToObject(o, v->spec->name, (double)v->i);
            break;
        case HP_FLOAT:
            cJSON_AddNumberToObject(o, v->spec->name, v->f);
            break;
        case HP_BOOL:
            cJSON_AddBoolToObject(o, v->spec->name, v->b);
            break;
        case HP_CHAR: {
            char s[2] = {v->c, '\0'};
            cJSON_AddStringToObject(o, v->spec->name, s);
            break;
        }
        case HP_STRING:
            cJSON_AddStringToObject(o, v->spec->name, v->s);
            break;
        case HP_STRING_LIST: {
            cJSON *a = cJSON_AddArrayToObject(o, v->spec->name);
            for (k = 0; k < v->nlist; k++)
                cJSON_AddItemToArray(a, cJSON_CreateString(v->list[k]));
            break;
        }
        }
    }
    return o;
}

static void iso8601_now(char *buf, size_t cap)
{
    time_t t = time(NULL);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The text a JSON document is written as: cJSON_Print with a final newline. */
static char *render_json(const cJSON *j, size_t *len)
{
    char *text = cJSON_Print(j);

    if (!text)
        return NULL;
    *len = strlen(text);
    text[*len] = '\n'; /* cJSON_Print's buffer holds the NUL; replace it by a newline */
    *len += 1;
    return text;
}

static enum ml_status write_json_atomic(const char *path, const cJSON *j, struct ml_err *err)
{
    size_t len;
    char *text = render_json(j, &len);
    enum ml_status st;

    if (!text)
        ML_FAIL(err, ML_ENOMEM, "out of memory rendering %s", path);
    st = fs_write_atomic(path, text, len, err);
    cJSON_free(text);
    return st;
}

static cJSON *manifest_json(struct train_ctx *c, const struct train_result *r,
                            const cJSON *artifacts)
{
    cJSON *m = cJSON_CreateObject(), *o, *a;
    const char *job = getenv("TRAINING_JOB_NAME");
    const char *arn = getenv("TRAINING_JOB_ARN");
    char buf[65];
    size_t i;

    cJSON_AddStringToObject(m, "manifest_format_version", "1");
    cJSON_AddStringToObject(m, "plantfit_version", pf_version());
    cJSON_AddStringToObject(m, "build_commit", pf_build_commit());
    o = cJSON_AddObjectToObject(m, "commit");
    if (c->commit_id[0])
        cJSON_AddStringToObject(o, "id", c->commit_id);
    else
        cJSON_AddNullToObject(o, "id");
    cJSON_AddStringToObject(o, "source", c->commit_source);
    if (job)
        cJSON_AddStringToObject(m, "training_job_name", job);
    else
        cJSON_AddNullToObject(m, "training_job_name");
    if (arn)
        cJSON_AddStringToObject(m, "training_job_arn", arn);
    iso8601_now(buf, sizeof buf);
    cJSON_AddStringToObject(m, "created", buf);
    cJSON_AddStringToObject(m, "algorithm", r->algorithm);
    cJSON_AddItemToObject(m, "hyperparameters", hp_json(c->hp));
    cJSON_AddNumberToObject(m, "seed", (double)train_seed(c->hp));
    a = cJSON_AddArrayToObject(m, "ignored_hyperparameters");
    for (i = 0; i < c->hp->nignored; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(c->hp->ignored[i]));
    data_fingerprint(c, buf);
    o = cJSON_AddObjectToObject(m, "data");
    cJSON_AddStringToObject(o, "fingerprint_sha256", buf);
    cJSON_AddItemToObject(o, "train", channel_json(&c->train));
    if (c->have_valid)
        cJSON_AddItemToObject(o, "validation", channel_json(&c->valid));
    if (c->have_res) {
        o = cJSON_AddObjectToObject(m, "resource_config");
        cJSON_AddStringToObject(o, "current_host", c->res.current_host);
        a = cJSON_AddArrayToObject(o, "hosts");
        for (i = 0; i < c->res.nhosts; i++)
            cJSON_AddItemToArray(a, cJSON_CreateString(c->res.hosts[i]));
        if (c->res.current_instance_type[0])
            cJSON_AddStringToObject(o, "current_instance_type", c->res.current_instance_type);
    }
    a = cJSON_AddArrayToObject(m, "model_files");
    for (i = 0; i < r->nfiles; i++) {
        cJSON *fo = cJSON_CreateObject();
        cJSON_AddStringToObject(fo, "name", r->files[i].name);
        cJSON_AddStringToObject(fo, "sha256", r->files[i].sha256);
        cJSON_AddNumberToObject(fo, "bytes", (double)r->files[i].bytes);
        cJSON_AddItemToArray(a, fo);
    }
    cJSON_AddItemToObject(m, "artifacts", cJSON_Duplicate(artifacts, 1));
    /* The model's inputs, profiled on the training channel. */
    cJSON_AddItemToObject(m, "features", r->features ? train_features_json(c->train.table,
                                                                           r->features)
                                                     : cJSON_CreateArray());
    o = r->target ? train_column_json(c->train.table, r->target) : NULL;
    cJSON_AddItemToObject(m, "target", o ? o : cJSON_CreateNull());
    cJSON_AddItemToObject(m, "metrics", cJSON_Duplicate(r->metrics, 1));
    if (r->quality) {
        o = cJSON_AddObjectToObject(m, "model_quality");
        cJSON_AddStringToObject(o, "file", "metrics.json");
        cJSON_AddStringToObject(o, "channel", r->quality_channel);
        cJSON_AddNumberToObject(o, "rows", (double)r->quality_rows);
    } else {
        cJSON_AddNullToObject(m, "model_quality");
    }
    o = cJSON_AddObjectToObject(m, "timings_seconds");
    for (i = 0; i < c->nstages; i++)
        cJSON_AddNumberToObject(o, c->stages[i].name, c->stages[i].seconds);
    cJSON_AddItemToObject(m, "libraries", libinfo_json());
    cJSON_AddItemToObject(m, "warnings", cJSON_Duplicate(c->warnings, 1));
    return m;
}

static void print_metric_lines(const cJSON *metrics)
{
    const cJSON *it;

    /* One line per metric, `#metric NAME=VALUE;`, for SageMaker
     * MetricDefinitions (regex per metric: `#metric train\.rows=([^;]+);`). */
    cJSON_ArrayForEach(it, metrics) {
        if (cJSON_IsNumber(it))
            printf("#metric %s=%.10g;\n", it->string, it->valuedouble);
    }
    fflush(stdout);
}

static enum ml_status write_outputs(struct train_ctx *c, struct train_result *r,
                                    struct ml_err *err)
{
    char path[PATH_CAP], fingerprint[65], metrics_sha[65];
    cJSON *manifest = NULL, *metrics_doc = NULL, *package = NULL, *artifacts = NULL;
    char *text = NULL;
    size_t len = 0;
    enum ml_status st;
    size_t i;

    /* Model files were written to temporary names by the algorithm; from here
     * on a stop signal would race with the renames, so block it: the job is
     * seconds from done and SageMaker waits 120 s before SIGKILL. */
    block_stop_signals();
    for (i = 0; i < r->nfiles; i++) {
        join(path, sizeof path, c->model_dir, r->files[i].name);
        st = fs_commit(r->files[i].tmp_path, path, err);
        if (st)
            return st;
        r->files[i].committed = 1;
    }
    /* metrics.json, the same bytes in output/data (for the registry step) and
     * in the model directory (travels with the model), listed in the manifest. */
    metrics_doc = train_metrics_doc(r, train_seed(c->hp));
    text = metrics_doc ? render_json(metrics_doc, &len) : NULL;
    cJSON_Delete(metrics_doc);
    if (!text)
        ML_FAIL(err, ML_ENOMEM, "out of memory rendering metrics.json");
    sha256_hex(text, len, metrics_sha);
    st = fs_mkdir_p(c->output_data_dir, err);
    if (st == ML_OK) {
        join(path, sizeof path, c->output_data_dir, "metrics.json");
        st = fs_write_atomic(path, text, len, err);
    }
    if (st == ML_OK) {
        join(path, sizeof path, c->model_dir, "metrics.json");
        st = fs_write_atomic(path, text, len, err);
    }
    cJSON_free(text);
    artifacts = cJSON_CreateArray();
    if (st == ML_OK && artifacts) {
        cJSON *fo = cJSON_CreateObject();
        cJSON_AddStringToObject(fo, "name", "metrics.json");
        cJSON_AddStringToObject(fo, "sha256", metrics_sha);
        cJSON_AddNumberToObject(fo, "bytes", (double)len);
        cJSON_AddItemToArray(artifacts, fo);
    }
    if (st == ML_OK) {
        struct train_package_info pi;
        const struct hp_value *fv = hp_get(c->hp, "formula");

        data_fingerprint(c, fingerprint);
        memset(&pi, 0, sizeof pi);
        pi.algorithm = r->algorithm;
        pi.commit_id = c->commit_id;
        pi.commit_source = c->commit_source;
        pi.job_name = getenv("TRAINING_JOB_NAME");
        pi.repository = getenv("GIT_URL");
        pi.branch = getenv("GIT_BRANCH");
        pi.fingerprint = fingerprint;
        pi.formula = fv && fv->has_value ? fv->s : NULL;
        pi.target = r->target;
        pi.quality_channel = r->quality ? r->quality_channel : NULL;
        pi.metrics_sha256 = r->quality ? metrics_sha : NULL;
        pi.seed = train_seed(c->hp);
        package = train_model_package_json(&pi);
        join(path, sizeof path, c->output_data_dir, "model-package.json");
        st = package ? write_json_atomic(path, package, err)
                     : ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
    }
    if (st == ML_OK) {
        manifest = manifest_json(c, r, artifacts);
        join(path, sizeof path, c->model_dir, "manifest.json");
        st = write_json_atomic(path, manifest, err);
    }
    cJSON_Delete(package);
    cJSON_Delete(artifacts);
    cJSON_Delete(manifest);
    if (st == ML_OK)
        print_metric_lines(r->metrics);
    return st;
}

/* ---- failure -------------------------------------------------------------- */

static int exit_code_for(enum ml_status st)
{
    switch (st) {
    case ML_EINVAL:
    case ML_EFORMAT:
    case ML_EDOM:
    case ML_ELIMIT:
    case ML_EIO:
    case ML_ESING:
    case ML_EMAXITER:
        return 1; /* the job's input or configuration: a client error */
    case ML_ESTOPPED:
        return 143;
    default:
        return 3; /* resources or a bug: ENOMEM, EINTERNAL */
    }
}

static void write_failure(const struct train_ctx *c, const struct ml_err *err)
{
    char text[ML_ERR_MSG_MAX + 512];
    int n;

    /* The reason comes first: SageMaker shows only the first 1024 characters
     * as FailureReason. */
    n = snprintf(text, sizeof text,
                 "%s\n\nstage: %s\nstatus: %s (%d)\nplantfit %s, commit %s\n", err->msg,
                 (const char *)g_stage, ml_status_str(err->code), (int)err->code, pf_version(),
                 c->commit_id[0] ? c->commit_id : "unknown");
    if (n < 0)
        return;
    fs_mkdir_p(c->output_dir, NULL);
    {
        int fd = open(g_failure_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            write_all_signal_safe(fd, text);
            close(fd);
        }
    }
}

/* ---- main ----------------------------------------------------------------- */

static void usage(FILE *f)
{
    size_t i;
    const struct hp_spec *spec = train_hp_spec();

    fprintf(f,
            "usage: plantfit train [--base-dir DIR]\n\n"
            "Runs a SageMaker training job: reads DIR/input/config/*.json and\n"
            "DIR/input/data/<channel>, writes DIR/model and DIR/output.  DIR is\n"
            "--base-dir, else $SAGEMAKER_BASE_DIR, else /opt/ml.\n\nhyperparameters:\n");
    for (i = 0; i < train_hp_count(); i++)
        fprintf(f, "  %-18s %s%s%s%s\n", spec[i].name, spec[i].help,
                spec[i].def ? " (default " : "", spec[i].def ? spec[i].def : "",
                spec[i].def ? ")" : "");
}

static void channel_free(struct train_channel *ch)
{
    size_t i;

    for (i = 0; i < ch->nfiles; i++)
        free(ch->files[i].rel);
    free(ch->files);
    ml_table_free(ch->table);
}

int cmd_train(int argc, char **argv)
{
    struct train_ctx c;
    struct train_result r;
    struct ml_err err;
    enum ml_status st;
    const char *base = getenv("SAGEMAKER_BASE_DIR");
    char path[PATH_CAP];
    int i, code = 0;

    memset(&c, 0, sizeof c);
    memset(&r, 0, sizeof r);
    ml_err_clear(&err);
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--base-dir") == 0 && i + 1 < argc) {
            base = argv[++i];
        } else if (strncmp(argv[i], "--base-dir=", 11) == 0) {
            base = argv[i] + 11;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "plantfit train: unexpected argument \"%s\"\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!base || !base[0])
        base = "/opt/ml";
    snprintf(c.base, sizeof c.base, "%s", base);
    if (join(c.config_dir, PATH_CAP, c.base, "input/config") || join(c.data_dir, PATH_CAP, c.base, "input/data") ||
        join(c.model_dir, PATH_CAP, c.base, "model") || join(c.output_dir, PATH_CAP, c.base, "output") ||
        join(c.output_data_dir, PATH_CAP, c.base, "output/data") ||
        join(g_failure_path, PATH_CAP, c.output_dir, "failure")) {
        fprintf(stderr, "plantfit train: base directory path too long\n");
        return 2;
    }
    c.t_start = now_seconds();
    c.warnings = cJSON_CreateArray();
    install_stop_handler();
    fprintf(stderr, "[plantfit] train: base directory %s, plantfit %s\n", c.base, pf_version());

    /* A rerun in the same folder must not leave the previous verdict behind. */
    unlink(g_failure_path);
    join(path, sizeof path, c.output_dir, "success");
    unlink(path);

    {
        struct stat sb;
        if (stat(c.base, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            /* No output directory to report to: say it on stderr only. */
            fprintf(stderr,
                    "plantfit train: base directory %s does not exist; set "
                    "SAGEMAKER_BASE_DIR or --base-dir\n", c.base);
            cJSON_Delete(c.warnings);
            return 2;
        }
    }

    stage_begin(&c, "read config");
    st = read_config(&c, &err);
    if (st == ML_OK)
        st = probe_model_dir(&c, &err);
    if (st == ML_OK) {   /* a bad compare_rule fails before the fit, not after */
        const struct hp_value *rule = hp_get(c.hp, "compare_rule");
        st = compare_rule_check(rule && rule->set ? rule->s : NULL, &err);
    }
    if (st == ML_OK)
        stage_end(&c);
    if (st == ML_OK) {
        fprintf(stderr, "[plantfit] commit %s (from %s), job %s\n",
                c.commit_id[0] ? c.commit_id : "unknown", c.commit_source,
                getenv("TRAINING_JOB_NAME") ? getenv("TRAINING_JOB_NAME") : "(none)");
        st = read_data(&c, &err);
    }
    if (st == ML_OK) {
        struct train_input in;

        in.hp = c.hp;
        in.train = &c.train;
        in.valid = c.have_valid ? &c.valid : NULL;
        in.model_dir = c.model_dir;
        stage_begin(&c, "fit");
        st = train_algo_run(&in, &r, &err);
        if (st == ML_OK)
            stage_end(&c);
        if (st == ML_OK && r.estimation_seconds > 0.0 && c.nstages < MAX_STAGES) {
            c.stages[c.nstages].name = "fit: estimation";
            c.stages[c.nstages].seconds = r.estimation_seconds;
            c.nstages++;
            fprintf(stderr, "[plantfit]   of which estimation         %8.3f s\n",
                    r.estimation_seconds);
        }
    }
    if (st == ML_OK) {
        stage_begin(&c, "write outputs");
        st = write_outputs(&c, &r, &err);
        if (st == ML_OK)
            stage_end(&c);
    }
    if (st == ML_OK) {
        /* Champion/challenger against a `baseline` channel (compare.h). */
        const struct hp_value *rule = hp_get(c.hp, "compare_rule");
        const struct hp_value *thr = hp_get(c.hp, "threads");
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        int ran = 0;
        st = compare_train_hook(c.data_dir, c.model_dir, c.output_data_dir,
                                c.have_valid ? c.valid.table : c.train.table,
                                c.have_valid ? "channel validation" : "channel train",
                                rule && rule->set ? rule->s : NULL,
                                thr && thr->i > 0 ? (int)thr->i : ncpu > 0 ? (int)ncpu : 1,
                                &ran, &err);
    }
    if (st == ML_OK) {
        join(path, sizeof path, c.output_dir, "success");
        st = fs_write_atomic(path, "", 0, &err);
    }
    if (st != ML_OK) {
        fprintf(stderr, "plantfit train: error: %s\n", err.msg);
        write_failure(&c, &err);
        code = exit_code_for(st);
    } else {
        fprintf(stderr, "[plantfit] done in %.3f s; model in %s\n", now_seconds() - c.t_start,
                c.model_dir);
    }
    train_result_free(&r);
    channel_free(&c.train);
    channel_free(&c.valid);
    hp_set_free(c.hp);
    free(c.hp_text);
    sm_input_config_free(&c.inputs);
    if (c.have_res)
        sm_resource_config_free(&c.res);
    cJSON_Delete(c.warnings);
    return code;
}
