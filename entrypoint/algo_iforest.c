/* algo_iforest.c: `algorithm=iforest` -- an Isolation Forest on the
 * training channel's features (algorithms/iforest/iforest.h), written as
 * model/iforest.h5, with anomaly-rate and score-quantile metrics, and with a
 * label column ROC AUC, PR AUC, precision and recall at the threshold.
 *
 * Features: the `features` hyperparameter, else every numeric column except
 * the label.  A categorical feature is an error (the forest splits numbers). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../algorithms/iforest/iforest.h"
#include "classification.h"
#include "fsutil.h"
#include "hdf5/iforest_h5.h"
#include "profile.h"
#include "quality.h"
#include "train_algo.h"

static void num(cJSON *o, const char *k, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, k, v);
}

static enum ml_status choose_features(const struct ml_table *t, const struct hp_set *hp,
                                      long **cols, int *d, struct ml_err *err)
{
    const struct hp_value *fv = hp_get(hp, "features"), *lv = hp_get(hp, "label");
    const char *label = lv && lv->has_value ? lv->s : NULL;
    size_t j;
    int n = 0;

    *cols = malloc((t->ncol ? t->ncol : 1) * sizeof **cols);
    if (!*cols)
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    if (label && ml_table_find(t, label) < 0)
        ML_FAIL(err, ML_EINVAL, "hyperparameter \"label\" = \"%s\": no such column", label);
    if (fv && fv->has_value && fv->nlist > 0) {
        for (j = 0; j < fv->nlist; j++) {
            long c = ml_table_find(t, fv->list[j]);
            if (c < 0)
                ML_FAIL(err, ML_EINVAL, "hyperparameter \"features\": no column \"%s\"",
                        fv->list[j]);
            if (t->col[c].type != ML_COL_NUMERIC)
                ML_FAIL(err, ML_EINVAL, "hyperparameter \"features\": column \"%s\" is "
                        "categorical; Isolation Forest features must be numeric", fv->list[j]);
            if (label && strcmp(fv->list[j], label) == 0)
                ML_FAIL(err, ML_EINVAL, "hyperparameter \"features\" lists the label \"%s\"",
                        label);
            (*cols)[n++] = c;
        }
    } else {
        for (j = 0; j < t->ncol; j++)
            if (t->col[j].type == ML_COL_NUMERIC && !(label && strcmp(t->col[j].name, label) == 0))
                (*cols)[n++] = (long)j;
    }
    if (n == 0)
        ML_FAIL(err, ML_EINVAL, "no numeric feature columns for the Isolation Forest");
    *d = n;
    return ML_OK;
}

/* Column-major copy of the chosen features (iforest_fit's layout). */
static double *gather(const struct ml_table *t, const struct iforest *f, int d, const long *cols,
                      struct ml_err *err)
{
    size_t n = t->nrow, j, i;
    double *x = malloc((n ? n : 1) * (size_t)d * sizeof *x);

    if (!x) {
        ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory for %zu x %d features", n, d);
        return NULL;
    }
    for (j = 0; j < (size_t)d; j++) {
        long c = cols[j];
        if (f) { /* validation: find the model's feature by name */
            c = ml_table_find(t, f->feature_names[j]);
            if (c < 0) {
                free(x);
                ml_fail(err, ML_EDOM, __FILE__, __LINE__,
                        "the validation channel has no feature column \"%s\"",
                        f->feature_names[j]);
                return NULL;
            }
        }
        for (i = 0; i < n; i++)
            x[j * n + i] = t->col[c].v[i];
    }
    return x;
}

static enum ml_status channel_metrics(const struct iforest *f, const struct ml_table *t,
                                      const double *x, const char *label, const char *prefix,
                                      int threads, struct train_result *r, struct ml_err *err)
{
    cJSON *m = r->metrics;
    size_t n = t->nrow, i, flagged = 0;
    double *s = malloc((n ? n : 1) * sizeof *s);
    struct col_profile pr;
    char key[96];
    enum ml_status st;

    if (!s)
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    st = iforest_score(f, x, n, n, s, threads, err);
    if (st) {
        free(s);
        ml_err_prefix(err, "scoring the %s channel: ", prefix);
        return st;
    }
    for (i = 0; i < n; i++)
        flagged += iforest_is_anomaly(f, s[i]);
    snprintf(key, sizeof key, "%s.anomaly_rate", prefix);
    num(m, key, n ? (double)flagged / (double)n : NAN);
    st = profile_column(s, n, &pr, err);
    if (st == ML_OK) {
        snprintf(key, sizeof key, "%s.score_p50", prefix);
        num(m, key, pr.q[3]);
        snprintf(key, sizeof key, "%s.score_p95", prefix);
        num(m, key, pr.q[5]);
        snprintf(key, sizeof key, "%s.score_p99", prefix);
        num(m, key, pr.q[6]);
        snprintf(key, sizeof key, "%s.score_max", prefix);
        num(m, key, pr.max);
    }
    if (st == ML_OK && label) {
        long lc = ml_table_find(t, label);
        struct cls_metrics cm;
        if (lc < 0) {
            free(s);
            ML_FAIL(err, ML_EDOM, "channel %s has no label column \"%s\"", prefix, label);
        }
        st = cls_metrics_compute(s, t->col[lc].v, n, f->threshold, &cm, err);
        if (st == ML_OK) {
            snprintf(key, sizeof key, "%s.roc_auc", prefix);
            num(m, key, cm.roc_auc);
            snprintf(key, sizeof key, "%s.pr_auc", prefix);
            num(m, key, cm.pr_auc);
            snprintf(key, sizeof key, "%s.precision", prefix);
            num(m, key, cm.precision);
            snprintf(key, sizeof key, "%s.recall", prefix);
            num(m, key, cm.recall);
        }
        if (st == ML_OK) {
            cJSON *q = NULL;
            size_t nq = 0;
            st = quality_binary_json(s, t->col[lc].v, n, f->threshold, f->seed, &q, &nq, err);
            if (st == ML_OK && q) {
                cJSON *w = cJSON_CreateObject();
                cJSON_AddItemToObject(w, "binary_classification_metrics", q);
                train_set_quality(r, w, prefix, nq);
            }
        }
    }
    free(s);
    return st;
}

enum ml_status algo_iforest_run(const struct train_input *in, struct train_result *r,
                                struct ml_err *err)
{
    const struct hp_set *hp = in->hp;
    const struct hp_value *v, *lv = hp_get(hp, "label");
    const char *label = lv && lv->has_value ? lv->s : NULL;
    struct iforest_options o;
    struct iforest *f = NULL;
    long *cols = NULL;
    double *x = NULL, *xv = NULL;
    const char **names = NULL;
    int d = 0, j;
    enum ml_status st;
    char final[4096], tmp[4096];

    r->algorithm = "iforest";
    iforest_options_default(&o);
    if ((v = hp_get(hp, "n_trees")) && v->has_value)
        o.n_trees = (int)v->i;
    if ((v = hp_get(hp, "sample_size")) && v->has_value)
        o.sample_size = (size_t)v->i;
    if ((v = hp_get(hp, "max_depth")) && v->has_value)
        o.max_depth = (int)v->i;
    if ((v = hp_get(hp, "extension_level")) && v->has_value)
        o.extension_level = (int)v->i;
    if ((v = hp_get(hp, "missing")) && v->has_value)
        o.missing = strcmp(v->s, "divide") == 0 ? IFOREST_MISSING_DIVIDE : IFOREST_MISSING_FAIL;
    if ((v = hp_get(hp, "path_correction")) && v->has_value)
        o.correction = strcmp(v->s, "asymptotic") == 0 ? IFOREST_C_ASYMPTOTIC : IFOREST_C_EXACT;
    if ((v = hp_get(hp, "seed")) && v->has_value)
        o.seed = (uint64_t)v->i;
    if ((v = hp_get(hp, "threads")) && v->has_value)
        o.threads = v->i > 0 ? (int)v->i : 2;
    if ((v = hp_get(hp, "contamination")) && v->has_value && strcmp(v->s, "auto") != 0) {
        char *end;
        double c = strtod(v->s, &end);
        if (end == v->s || *end || !(c > 0.0 && c <= 0.5))
            ML_FAIL(err, ML_EINVAL, "hyperparameter \"contamination\" = \"%s\": expected "
                    "\"auto\" or a number in (0, 0.5]", v->s);
        o.contamination = c;
    }

    st = choose_features(in->train->table, hp, &cols, &d, err);
    if (st == ML_OK) {
        names = malloc((size_t)d * sizeof *names);
        if (!names)
            st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
    }
    if (st == ML_OK) {
        for (j = 0; j < d; j++)
            names[j] = in->train->table->col[cols[j]].name;
        x = gather(in->train->table, NULL, d, cols, err);
        if (!x)
            st = err->code;
    }
    if (st == ML_OK)
        st = iforest_fit(x, in->train->table->nrow, d, names, &o, &f, err);
    if (st == ML_OK) {
        r->metrics = cJSON_CreateObject();
        if (!r->metrics)
            st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
    }
    if (st == ML_OK) {
        num(r->metrics, "train.features", d);
        num(r->metrics, "train.threshold", f->threshold);
        st = channel_metrics(f, in->train->table, x, label, "train", o.threads, r, err);
    }
    if (st == ML_OK && in->valid) {
        xv = gather(in->valid->table, f, d, cols, err);
        st = xv ? channel_metrics(f, in->valid->table, xv, label, "validation", o.threads, r,
                                  err)
                : err->code;
    }
    if (st == ML_OK) {
        /* What the model reads, for the manifest's feature profile. */
        r->features = cJSON_CreateArray();
        for (j = 0; j < d; j++)
            cJSON_AddItemToArray(r->features, cJSON_CreateString(f->feature_names[j]));
        r->target = label ? strdup(label) : NULL;
        if (!r->features || (label && !r->target))
            st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
    }
    if (st == ML_OK) {
        snprintf(final, sizeof final, "%s/iforest.h5", in->model_dir);
        fs_temp_name(final, tmp, sizeof tmp);
        fs_temp_register(tmp);
        st = iforest_h5_write(tmp, f, err);
        if (st)
            fs_abandon(tmp);
        else
            st = train_add_model_file_path(r, "iforest.h5", tmp, err);
    }
    if (st == ML_OK)
        fprintf(stderr, "[plantfit] iforest: %d trees, sample size %zu, depth %d, %d features, "
                "threshold %.4f (%s)\n", f->n_trees, f->sample_size, f->max_depth, d,
                f->threshold, o.contamination > 0 ? "contamination quantile" : "auto: 0.5");
    free(cols);
    free(names);
    free(x);
    free(xv);
    iforest_free(f);
    return st;
}
