/* cmd_compare.c: `plantfit compare` and the engine behind it and behind
 * train's baseline check (compare.h). */
#include "compare.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "classification.h"
#include "commands.h"
#include "csv/csv_stream.h"
#include "fsutil.h"
#include "json/jsonl_stream.h"
#include "model_dir.h"
#include "regression.h"
#include "rule.h"
#include "scoring.h"

#define CMP_CHUNK_ROWS 65536
#define RULE_GAM "rmse <= 1.02 * baseline.rmse"
#define RULE_FOREST_AUC "auc >= baseline.auc - 0.01 and anomaly_rate <= 2 * baseline.anomaly_rate"
#define RULE_FOREST "anomaly_rate <= 2 * baseline.anomaly_rate"

/* A growing array of doubles. */
struct dvec {
    double *v;
    size_t n, cap;
};

static int dv_push(struct dvec *d, double x)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 4096;
        double *v = realloc(d->v, cap * sizeof *v);
        if (!v)
            return 0;
        d->v = v;
        d->cap = cap;
    }
    d->v[d->n++] = x;
    return 1;
}

struct side {
    const char *path;
    struct model_dir md;
    struct scorer sc;
    int loaded, have_sc;
    struct dvec fit, score;           /* GAM (paired rows), forest (all rows) */
    unsigned long long anomalous;
    struct reg_metrics reg;
    struct cls_metrics cls;
};

struct cmp {
    const struct compare_opts *o;
    struct side s[2];
    const char *target;              /* GAM target column, or NULL */
    const char *label;               /* forest label column, or NULL */
    char *rule_text;                 /* owned */
    struct rule *rule;
    struct colset cs;
    struct dvec y, lab;
    unsigned long long rows, skipped;
    const char *source;
};

static void cmp_free(struct cmp *c)
{
    int k;

    for (k = 0; k < 2; k++) {
        if (c->s[k].have_sc)
            scorer_free(&c->s[k].sc);
        if (c->s[k].loaded)
            model_dir_free(&c->s[k].md);
        free(c->s[k].fit.v);
        free(c->s[k].score.v);
    }
    free(c->y.v);
    free(c->lab.v);
    free(c->rule_text);
    rule_free(c->rule);
    colset_free(&c->cs);
}

static const char *manifest_label(const struct model_dir *md)
{
    return md->forest ? md->label : NULL;
}

/* Load both models and work out the target and label columns.  `has_col`
 * says whether the data hold a column (NULL: unknown, assume yes). */
static enum ml_status cmp_setup(struct cmp *c, const struct compare_opts *o,
                                int (*has_col)(void *, const char *), void *hc_ctx,
                                struct ml_err *err)
{
    static const char *const what[2] = {"new model", "baseline model"};
    enum ml_status st;
    int k;

    memset(c, 0, sizeof *c);
    c->o = o;
    c->s[0].path = o->new_model;
    c->s[1].path = o->baseline;
    for (k = 0; k < 2; k++) {
        st = model_dir_open(c->s[k].path, &c->s[k].md, err);
        if (st) {
            ml_err_prefix(err, "%s: ", what[k]);
            return st;
        }
        c->s[k].loaded = 1;
        st = scorer_init(&c->s[k].sc, &c->s[k].md, 0, o->threads, err);
        if (st)
            return st;
        c->s[k].have_sc = 1;
    }
    if (!c->s[0].md.gam != !c->s[1].md.gam || !c->s[0].md.forest != !c->s[1].md.forest)
        ML_FAIL(err, ML_EINVAL, "the new model (%s: %s%s%s) and the baseline (%s: %s%s%s) "
                "are not the same kind of model: nothing to compare", o->new_model,
                c->s[0].md.gam ? MODEL_DIR_GAM : "", c->s[0].md.gam && c->s[0].md.forest ? " + " : "",
                c->s[0].md.forest ? MODEL_DIR_IFOREST : "", o->baseline,
                c->s[1].md.gam ? MODEL_DIR_GAM : "", c->s[1].md.gam && c->s[1].md.forest ? " + " : "",
                c->s[1].md.forest ? MODEL_DIR_IFOREST : "");
    if (c->s[0].md.gam) {
        c->target = o->target && o->target[0] ? o->target : c->s[0].md.gam->response;
        if (!(o->target && o->target[0]) &&
            strcmp(c->s[0].md.gam->response, c->s[1].md.gam->response) != 0)
            ML_FAIL(err, ML_EINVAL, "the new GAM predicts \"%s\", the baseline \"%s\": name the "
                    "target column to compare them on (--target)", c->s[0].md.gam->response,
                    c->s[1].md.gam->response);
        if (has_col && !has_col(hc_ctx, c->target))
            ML_FAIL(err, ML_EDOM, "the data have no column \"%s\" (the target the GAMs are "
                    "measured against)", c->target);
    }
    if (c->s[0].md.forest) {
        if (o->label) {
            c->label = o->label[0] ? o->label : NULL;
            if (c->label && has_col && !has_col(hc_ctx, c->label))
                ML_FAIL(err, ML_EDOM, "the data have no label column \"%s\"", c->label);
        } else {
            c->label = manifest_label(&c->s[0].md);
            if (!c->label)
                c->label = manifest_label(&c->s[1].md);
            /* A label named at training but absent here: no AUC, not an error
             * (unless the rule asks for it). */
            if (c->label && has_col && !has_col(hc_ctx, c->label))
                c->label = NULL;
        }
    }
    for (k = 0; k < 2; k++) {
        st = colset_add_models(&c->cs, &c->s[k].md, err);
        if (st)
            return st;
    }
    if (c->target && (st = colset_add(&c->cs, c->target, RS_NUMERIC, "the target", err)))
        return st;
    if (c->label && (st = colset_add(&c->cs, c->label, RS_NUMERIC, "the label", err)))
        return st;
    if (o->rule && o->rule[0]) {
        c->rule_text = strdup(o->rule);
    } else {
        char buf[512];
        snprintf(buf, sizeof buf, "%s%s%s", c->target ? RULE_GAM : "",
                 c->target && c->s[0].md.forest ? " and " : "",
                 c->s[0].md.forest ? (c->label ? RULE_FOREST_AUC : RULE_FOREST) : "");
        c->rule_text = strdup(buf);
    }
    if (!c->rule_text)
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    st = rule_parse(c->rule_text, &c->rule, err);
    if (st)
        return st;
    if (!c->s[0].md.forest && (rule_uses(c->rule, "auc") || rule_uses(c->rule, "pr_auc") ||
                               rule_uses(c->rule, "anomaly_rate")))
        ML_FAIL(err, ML_EINVAL, "rule \"%s\": auc, pr_auc and anomaly_rate are Isolation "
                "Forest metrics, and the models have no " MODEL_DIR_IFOREST, c->rule_text);
    if (!c->target && (rule_uses(c->rule, "rmse") || rule_uses(c->rule, "mae") ||
                       rule_uses(c->rule, "r2") || rule_uses(c->rule, "bias")))
        ML_FAIL(err, ML_EINVAL, "rule \"%s\": rmse, mae, r2 and bias are GAM metrics, and the "
                "models have no " MODEL_DIR_GAM, c->rule_text);
    if (!c->label && (rule_uses(c->rule, "auc") || rule_uses(c->rule, "pr_auc")))
        ML_FAIL(err, ML_EDOM, "rule \"%s\" needs auc, but there is no label column (name it "
                "with --label, or train the forest with the label hyperparameter)",
                c->rule_text);
    return ML_OK;
}

/* Score one chunk with both models and accumulate. */
static enum ml_status cmp_chunk(struct cmp *c, struct rs_chunk *ch, struct ml_err *err)
{
    static const char *const who[2] = {"new model: ", "baseline model: "};
    const struct ml_table *t;
    enum ml_status st;
    size_t i;
    long tc = -1, lc = -1;
    int k;

    c->rows += ch->t->nrow;
    for (k = 0; k < 2; k++)
        if (!scorer_check(&c->s[k].sc, ch, who[k]))
            ML_FAIL(err, ML_ENOMEM, "out of memory");
    if (ch->nbad) {
        for (i = 0; i < ch->t->nrow; i++) {
            if (!ch->bad[i])
                continue;
            if (!c->o->skip)
                ML_FAIL(err, ML_EDOM, "%s: %s (--on-error=skip leaves such rows out)",
                        c->source, ch->bad[i]);
            fprintf(stderr, "%s: skipped %s: %s\n", c->o->who, c->source, ch->bad[i]);
            c->skipped++;
        }
        rs_chunk_compact(ch, NULL);
    }
    t = ch->t;
    for (k = 0; k < 2; k++) {
        st = scorer_run(&c->s[k].sc, ch, err);
        if (st)
            return st;
    }
    if (c->target)
        tc = ml_table_find(t, c->target);
    if (c->label)
        lc = ml_table_find(t, c->label);
    for (i = 0; i < t->nrow; i++) {
        if (c->target && tc >= 0) {
            double y = t->col[tc].v[i], a = c->s[0].sc.fit[i], b = c->s[1].sc.fit[i];
            if (isfinite(y) && isfinite(a) && isfinite(b) &&
                (!dv_push(&c->y, y) || !dv_push(&c->s[0].fit, a) || !dv_push(&c->s[1].fit, b)))
                ML_FAIL(err, ML_ENOMEM, "out of memory");
        }
        if (c->s[0].md.forest) {
            for (k = 0; k < 2; k++) {
                double s = c->s[k].sc.score[i];
                c->s[k].anomalous += iforest_is_anomaly(c->s[k].md.forest, s);
                if (!dv_push(&c->s[k].score, s))
                    ML_FAIL(err, ML_ENOMEM, "out of memory");
            }
            if (!dv_push(&c->lab, lc >= 0 ? t->col[lc].v[i] : NAN))
                ML_FAIL(err, ML_ENOMEM, "out of memory");
        }
    }
    return ML_OK;
}

static int lookup(void *ctx, int side, const char *metric, double *out)
{
    const struct cmp *c = ctx;
    const struct side *s = &c->s[side];

    if (strcmp(metric, "rows") == 0) {
        *out = c->target ? (double)s->reg.n : (double)s->score.n;
        return 1;
    }
    if (c->target) {
        if (strcmp(metric, "rmse") == 0)
            return *out = s->reg.rmse, 1;
        if (strcmp(metric, "mae") == 0)
            return *out = s->reg.mae, 1;
        if (strcmp(metric, "r2") == 0)
            return *out = s->reg.r2, 1;
        if (strcmp(metric, "bias") == 0)
            return *out = s->reg.bias, 1;
    }
    if (c->s[0].md.forest) {
        if (strcmp(metric, "anomaly_rate") == 0)
            return *out = s->score.n ? (double)s->anomalous / (double)s->score.n : NAN, 1;
        if (c->label && strcmp(metric, "auc") == 0)
            return *out = s->cls.roc_auc, 1;
        if (c->label && strcmp(metric, "pr_auc") == 0)
            return *out = s->cls.pr_auc, 1;
    }
    return 0;
}

/* A number, or null when it is not finite (JSON has no NaN). */
static void add_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

static cJSON *side_json(const struct cmp *c, int k)
{
    static const char *const names[] = {"rmse", "mae", "r2", "bias", "auc", "pr_auc",
                                        "anomaly_rate", "rows"};
    const struct side *s = &c->s[k];
    cJSON *o = cJSON_CreateObject();
    const cJSON *commit = cJSON_GetObjectItemCaseSensitive(s->md.manifest, "commit");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(commit, "id");
    size_t i;

    cJSON_AddStringToObject(o, "model", s->path);
    if (cJSON_IsString(id))
        cJSON_AddStringToObject(o, "commit", id->valuestring);
    else
        cJSON_AddNullToObject(o, "commit");
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        double v;
        if (lookup((void *)c, k, names[i], &v))
            add_num(o, names[i], v);
    }
    return o;
}

static enum ml_status cmp_finish(struct cmp *c, cJSON **verdict, struct ml_err *err)
{
    char **reasons = NULL;
    size_t nreasons = 0, i;
    enum ml_status st;
    int pass = 0, k;
    cJSON *v, *a, *d;

    if (c->rows == 0)
        ML_FAIL(err, ML_EFORMAT, "%s: no data rows", c->source);
    for (k = 0; k < 2; k++) {
        if (c->target)
            reg_metrics_compute(c->y.v, c->s[k].fit.v, c->y.n, &c->s[k].reg);
        if (c->s[0].md.forest && c->label) {
            st = cls_metrics_compute(c->s[k].score.v, c->lab.v, c->s[k].score.n,
                                     c->s[k].md.forest->threshold, &c->s[k].cls, err);
            if (st)
                return st;
        }
    }
    st = rule_eval(c->rule, lookup, c, &pass, &reasons, &nreasons, err);
    if (st) {
        ml_err_prefix(err, "rule \"%s\": ", c->rule_text);
        return st;
    }
    v = cJSON_CreateObject();
    cJSON_AddBoolToObject(v, "pass", pass);
    cJSON_AddStringToObject(v, "rule", c->rule_text);
    a = cJSON_AddArrayToObject(v, "reasons");
    for (i = 0; i < nreasons; i++) {
        cJSON_AddItemToArray(a, cJSON_CreateString(reasons[i] ? reasons[i] : "?"));
        free(reasons[i]);
    }
    free(reasons);
    cJSON_AddItemToObject(v, "new", side_json(c, 0));
    cJSON_AddItemToObject(v, "baseline", side_json(c, 1));
    d = cJSON_AddObjectToObject(v, "data");
    cJSON_AddStringToObject(d, "source", c->source);
    cJSON_AddNumberToObject(d, "rows", (double)c->rows);
    cJSON_AddNumberToObject(d, "skipped", (double)c->skipped);
    if (c->target)
        cJSON_AddStringToObject(v, "target", c->target);
    else
        cJSON_AddNullToObject(v, "target");
    if (c->label)
        cJSON_AddStringToObject(v, "label", c->label);
    else
        cJSON_AddNullToObject(v, "label");
    cJSON_AddStringToObject(v, "plantfit_version", pf_version());
    *verdict = v;
    return ML_OK;
}

/* ---- data from a file ------------------------------------------------------ */

struct hdr {
    struct csv_stream *s;
};

static int hdr_has(void *ctx, const char *name)
{
    const struct hdr *h = ctx;
    size_t j;

    for (j = 0; j < csv_stream_ncols(h->s); j++)
        if (strcmp(csv_stream_colname(h->s, j), name) == 0)
            return 1;
    return 0;
}

enum ml_status compare_file(const struct compare_opts *o, const char *data, int jsonl,
                            char delim, cJSON **verdict, struct ml_err *err)
{
    struct cmp c;
    struct hdr h = {NULL};
    struct csv_stream *cs = NULL;
    struct jsonl_stream *js = NULL;
    struct rs_chunk ch;
    enum ml_status st;

    *verdict = NULL;
    rs_chunk_init(&ch);
    /* CSV: the header first, to know whether an optional label is there. */
    if (!jsonl) {
        st = csv_stream_open(&h.s, data, delim, NULL, 0, 1, err);
        if (st)
            return st;
    }
    st = cmp_setup(&c, o, jsonl ? NULL : hdr_has, &h, err);
    csv_stream_close(h.s);
    c.source = data;
    if (!st) {
        if (jsonl)
            st = jsonl_stream_open(&js, data, c.cs.v, c.cs.n, CMP_CHUNK_ROWS, err);
        else
            st = csv_stream_open(&cs, data, delim, c.cs.v, c.cs.n, CMP_CHUNK_ROWS, err);
    }
    while (!st) {
        st = js ? jsonl_stream_next(js, &ch, err) : csv_stream_next(cs, &ch, err);
        if (st || ch.t->nrow == 0)
            break;
        st = cmp_chunk(&c, &ch, err);
    }
    if (!st)
        st = cmp_finish(&c, verdict, err);
    rs_chunk_free(&ch);
    csv_stream_close(cs);
    jsonl_stream_close(js);
    cmp_free(&c);
    return st;
}

/* ---- data in memory -------------------------------------------------------- */

static int table_has(void *ctx, const char *name)
{
    return ml_table_find(ctx, name) >= 0;
}

enum ml_status compare_table(const struct compare_opts *o, const struct ml_table *t,
                             const char *source, cJSON **verdict, struct ml_err *err)
{
    struct cmp c;
    struct rs_chunk ch;
    struct ml_table view;
    struct ml_column *cols = NULL;
    enum ml_status st;
    size_t i, j;

    *verdict = NULL;
    rs_chunk_init(&ch);
    st = cmp_setup(&c, o, table_has, (void *)t, err);
    c.source = source;
    /* The whole table is one chunk: a view of its columns (nothing copied;
     * skip is off, so nothing is compacted in place). */
    if (!st) {
        for (j = 0; j < c.cs.n && !st; j++)
            if (ml_table_find(t, c.cs.v[j].name) < 0)
                st = ml_fail(err, ML_EDOM, __FILE__, __LINE__, "%s: no column \"%s\"", source,
                             c.cs.v[j].name);
    }
    if (!st) {
        cols = malloc((t->ncol ? t->ncol : 1) * sizeof *cols);
        ch.line = malloc((t->nrow ? t->nrow : 1) * sizeof *ch.line);
        ch.bad = calloc(t->nrow ? t->nrow : 1, sizeof *ch.bad);
        if (!cols || !ch.line || !ch.bad)
            st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
    }
    if (!st) {
        for (j = 0; j < t->ncol; j++)
            cols[j] = t->col[j];
        view.nrow = t->nrow;
        view.ncol = t->ncol;
        view.col = cols;
        ch.t = &view;
        ch.cap = t->nrow;
        ch.first_row = 1;
        for (i = 0; i < t->nrow; i++)
            ch.line[i] = i + 1;
        st = cmp_chunk(&c, &ch, err);
    }
    if (!st)
        st = cmp_finish(&c, verdict, err);
    for (i = 0; ch.bad && i < t->nrow; i++)
        free(ch.bad[i]);
    free(ch.bad);
    free(ch.line);
    free(cols);
    cmp_free(&c);
    return st;
}

/* ---- train's hook ---------------------------------------------------------- */

enum ml_status compare_rule_check(const char *rule, struct ml_err *err)
{
    struct rule *r = NULL;
    enum ml_status st;

    if (!rule || !rule[0])
        return ML_OK;
    st = rule_parse(rule, &r, err);
    rule_free(r);
    if (st)
        ml_err_prefix(err, "hyperparameter \"compare_rule\": ");
    return st;
}

static void print_verdict(const char *who, const cJSON *v, const char *where)
{
    const cJSON *r, *a = cJSON_GetObjectItemCaseSensitive(v, "reasons");

    fprintf(stderr, "%s: champion/challenger %s (%s)\n", who,
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "pass")) ? "PASS" : "FAIL", where);
    cJSON_ArrayForEach(r, a)
        if (cJSON_IsString(r))
            fprintf(stderr, "%s:   %s\n", who, r->valuestring);
}

static enum ml_status write_verdict(const char *path, const cJSON *v, struct ml_err *err)
{
    char *text = cJSON_Print(v);
    enum ml_status st;
    size_t n;

    if (!text)
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    n = strlen(text);
    text[n] = '\n';   /* the NUL becomes the final line end (written as bytes) */
    st = fs_write_atomic(path, text, n + 1, err);
    cJSON_free(text);
    return st;
}

enum ml_status compare_train_hook(const char *data_dir, const char *model_dir,
                                  const char *output_data_dir, const struct ml_table *t,
                                  const char *source, const char *rule, int threads, int *ran,
                                  struct ml_err *err)
{
    struct compare_opts o;
    char dir[4096], path[4096], artifact[4096];
    struct stat sb;
    struct dirent *e;
    cJSON *v = NULL;
    enum ml_status st;
    size_t narch = 0, nother = 0;
    DIR *d;

    *ran = 0;
    if ((size_t)snprintf(dir, sizeof dir, "%s/baseline", data_dir) >= sizeof dir)
        ML_FAIL(err, ML_EINVAL, "path too long");
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        if (rule && rule[0])
            ML_FAIL(err, ML_EINVAL, "hyperparameter \"compare_rule\" is set but there is no "
                    "baseline channel (%s) holding the deployed model", dir);
        return ML_OK;
    }
    /* The channel holds the model directory itself, or one model artifact. */
    artifact[0] = '\0';
    d = opendir(dir);
    if (!d)
        ML_FAIL(err, ML_EIO, "cannot list %s: %s", dir, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.' || e->d_name[0] == '_')
            continue;
        if ((n > 7 && strcmp(e->d_name + n - 7, ".tar.gz") == 0) ||
            (n > 4 && strcmp(e->d_name + n - 4, ".tgz") == 0) ||
            (n > 4 && strcmp(e->d_name + n - 4, ".tar") == 0)) {
            narch++;
            snprintf(artifact, sizeof artifact, "%s/%s", dir, e->d_name);
        } else {
            nother++;
        }
    }
    closedir(d);
    if (narch > 1)
        ML_FAIL(err, ML_EINVAL, "baseline channel %s holds %zu model artifacts; give one",
                dir, narch);
    memset(&o, 0, sizeof o);
    o.new_model = model_dir;
    o.baseline = narch == 1 && nother == 0 ? artifact : dir;
    o.rule = rule;
    o.threads = threads;
    o.who = "[plantfit] train";
    st = compare_table(&o, t, source, &v, err);
    if (st) {
        ml_err_prefix(err, "baseline comparison: ");
        return st;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/verdict.json", output_data_dir) >= sizeof path)
        st = ml_fail(err, ML_EINVAL, __FILE__, __LINE__, "path too long");
    if (!st)
        st = fs_mkdir_p(output_data_dir, err);
    if (!st)
        st = write_verdict(path, v, err);
    if (!st) {
        print_verdict("[plantfit] train", v, path);
        *ran = 1;
    }
    cJSON_Delete(v);
    return st;
}

/* ---- the command ----------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: plantfit compare --model NEW --baseline OLD --data FILE [--rule RULE]\n"
            "                        [--output verdict.json] [--format csv|jsonl]\n"
            "                        [--target COL] [--label COL] [--on-error fail|skip]\n"
            "\n"
            "Champion/challenger: scores the new model and the baseline (the deployed one)\n"
            "on the same rows of FILE, computes their metrics side by side, applies RULE\n"
            "and writes a JSON verdict for a Step Functions Choice state to branch on:\n"
            "  {\"pass\": true|false, \"rule\": ..., \"reasons\": [...], \"new\": {...},\n"
            "   \"baseline\": {...}, \"data\": {...}, \"target\": ..., \"label\": ...}\n"
            "\n"
            "  --model NEW        model directory, or a model.tar.gz artifact\n"
            "  --baseline OLD     the same for the deployed model\n"
            "  --data FILE        CSV with a header (plain or gzip), or JSON Lines\n"
            "  --rule RULE        e.g. \"rmse <= 1.02 * baseline.rmse\" or \"auc >= baseline.auc\n"
            "                     - 0.01 and anomaly_rate <= 2 * baseline.anomaly_rate\"\n"
            "                     (clauses joined by \"and\"; metrics: " RULE_METRICS ";\n"
            "                     a bare metric is the new model's).  Default: the first for\n"
            "                     GAMs, the second for forests (without auc when there is no\n"
            "                     label)\n"
            "  --output FILE      the verdict (replaced atomically); default stdout\n"
            "  --format F         csv (default) or jsonl\n"
            "  --delimiter C      CSV delimiter; default ,\n"
            "  --target COL       the GAM target column (default: the new GAM's response)\n"
            "  --label COL        the forest's 0/1 label (default: the label it was trained\n"
            "                     with, when the data have it); --label= for none\n"
            "  --on-error M       fail (default) or skip rows either model cannot score\n"
            "  --threads N        scoring threads (default: one per CPU)\n"
            "\n"
            "Exit status: 0 when a verdict was written, whether it passes or fails (branch on\n"
            "\"pass\"); 1 error (bad model, data or rule); 2 usage error.\n");
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "plantfit compare: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    usage(stderr);
    return 2;
}

static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t len = strlen(name);
    const char *arg = argv[*i];

    if (strncmp(arg, name, len) != 0)
        return NULL;
    if (arg[len] == '=')
        return arg + len + 1;
    if (arg[len] != '\0')
        return NULL;
    if (*i + 1 >= argc)
        return "";
    return argv[++*i];
}

int cmd_compare(int argc, char **argv)
{
    struct compare_opts o;
    const char *data = NULL, *output = NULL, *v;
    char delim = ',';
    int jsonl = 0, i, rc;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    struct ml_err err;
    enum ml_status st;
    cJSON *verdict = NULL;

    memset(&o, 0, sizeof o);
    o.threads = n > 0 ? (int)n : 1;
    o.who = "plantfit compare";
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if ((v = opt_value(argc, argv, &i, "--model"))) {
            o.new_model = v;
        } else if ((v = opt_value(argc, argv, &i, "--baseline"))) {
            o.baseline = v;
        } else if ((v = opt_value(argc, argv, &i, "--data"))) {
            data = v;
        } else if ((v = opt_value(argc, argv, &i, "--rule"))) {
            o.rule = v;
        } else if ((v = opt_value(argc, argv, &i, "--output"))) {
            output = v;
        } else if ((v = opt_value(argc, argv, &i, "--target"))) {
            o.target = v;
        } else if ((v = opt_value(argc, argv, &i, "--label"))) {
            o.label = v;
        } else if ((v = opt_value(argc, argv, &i, "--format"))) {
            if (strcmp(v, "csv") == 0)
                jsonl = 0;
            else if (strcmp(v, "jsonl") == 0)
                jsonl = 1;
            else
                return usage_error("--format wants csv or jsonl, not \"%s\"", v);
        } else if ((v = opt_value(argc, argv, &i, "--delimiter"))) {
            if (strcmp(v, "tab") == 0 || strcmp(v, "\\t") == 0)
                delim = '\t';
            else if (strlen(v) == 1 && v[0] != '"')
                delim = v[0];
            else
                return usage_error("--delimiter wants one character, not \"%s\"", v);
        } else if ((v = opt_value(argc, argv, &i, "--on-error"))) {
            if (strcmp(v, "fail") == 0 || strcmp(v, "skip") == 0)
                o.skip = strcmp(v, "skip") == 0;
            else
                return usage_error("--on-error wants fail or skip, not \"%s\"", v);
        } else if ((v = opt_value(argc, argv, &i, "--threads"))) {
            char *end;
            long t = strtol(v, &end, 10);
            if (!*v || *end || t < 1 || t > 1024)
                return usage_error("--threads wants an integer 1..1024, not \"%s\"", v);
            o.threads = (int)t;
        } else {
            return usage_error(arg[0] == '-' ? "unknown option \"%s\"" : "unexpected argument "
                               "\"%s\"", arg);
        }
    }
    if (!o.new_model || !o.new_model[0])
        return usage_error("%s", "--model NEW is required");
    if (!o.baseline || !o.baseline[0])
        return usage_error("%s", "--baseline OLD is required");
    if (!data || !data[0])
        return usage_error("%s", "--data FILE is required");
    H5dont_atexit();
    ml_err_clear(&err);
    st = compare_file(&o, data, jsonl, delim, &verdict, &err);
    if (!st) {
        if (output && output[0] && strcmp(output, "-") != 0) {
            st = write_verdict(output, verdict, &err);
        } else {
            char *text = cJSON_Print(verdict);
            if (!text || printf("%s\n", text) < 0 || fflush(stdout) != 0)
                st = ml_fail(&err, ML_EIO, __FILE__, __LINE__, "cannot write stdout");
            cJSON_free(text);
        }
    }
    if (!st)
        print_verdict("plantfit compare", verdict,
                      output && output[0] && strcmp(output, "-") ? output : "stdout");
    cJSON_Delete(verdict);
    if (st) {
        fprintf(stderr, "plantfit compare: %s\n", err.msg);
        rc = 1;
    } else {
        rc = 0;
    }
    return rc;
}
