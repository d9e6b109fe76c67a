/* algo_profile.c: `algorithm=profile`, the data profile of the training
 * channel: for every column its type, count, missing values, range, mean,
 * standard deviation and quantiles (numeric), or its levels and their counts
 * (categorical).  Written as model/profile.json.
 *
 * It is the baseline every later model records for its inputs and what drift
 * monitoring compares new data against (in the spirit of SageMaker Model
 * Monitor's statistics.json, anchors.md section 5.3), and it makes
 * `plantfit train` useful on its own as a data check. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "train_algo.h"

static void add_num(cJSON *o, const char *k, double v)
{
    /* JSON has no NaN: an undefined statistic is null. */
    if (isfinite(v))
        cJSON_AddNumberToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

static enum ml_status table_profile(const struct ml_table *t, cJSON *cols, size_t *missing,
                                    struct ml_err *err)
{
    size_t j, i, k;

    *missing = 0;
    for (j = 0; j < t->ncol; j++) {
        const struct ml_column *c = &t->col[j];
        cJSON *o = cJSON_CreateObject();

        cJSON_AddItemToArray(cols, o);
        cJSON_AddStringToObject(o, "name", c->name);
        if (c->type == ML_COL_NUMERIC) {
            struct col_profile p;
            cJSON *q;
            enum ml_status st = profile_column(c->v, t->nrow, &p, err);

            if (st)
                return st;
            cJSON_AddStringToObject(o, "type", "numeric");
            cJSON_AddNumberToObject(o, "count", (double)p.n);
            cJSON_AddNumberToObject(o, "missing", (double)p.missing);
            add_num(o, "min", p.min);
            add_num(o, "max", p.max);
            add_num(o, "mean", p.mean);
            add_num(o, "sd", p.sd);
            q = cJSON_AddObjectToObject(o, "quantiles");
            for (k = 0; k < PROFILE_NQ; k++) {
                char key[16];
                snprintf(key, sizeof key, "p%g", 100.0 * profile_quantile_p[k]);
                add_num(q, key, p.q[k]);
            }
            *missing += p.missing;
        } else {
            size_t *counts = calloc(c->nlevels ? c->nlevels : 1, sizeof *counts);
            size_t miss = 0;
            cJSON *lv;

            if (!counts)
                ML_FAIL(err, ML_ENOMEM, "out of memory profiling column \"%s\"", c->name);
            for (i = 0; i < t->nrow; i++) {
                if (isnan(c->v[i]))
                    miss++;
                else
                    counts[(size_t)c->v[i]]++;
            }
            cJSON_AddStringToObject(o, "type", "categorical");
            cJSON_AddNumberToObject(o, "count", (double)(t->nrow - miss));
            cJSON_AddNumberToObject(o, "missing", (double)miss);
            lv = cJSON_AddObjectToObject(o, "levels");
            for (k = 0; k < c->nlevels; k++)
                cJSON_AddNumberToObject(lv, c->levels[k], (double)counts[k]);
            free(counts);
            *missing += miss;
        }
    }
    return ML_OK;
}

static void channel_metrics(cJSON *m, const char *prefix, const struct ml_table *t,
                            size_t missing)
{
    char key[64];
    double cells = (double)t->nrow * (double)t->ncol;

    snprintf(key, sizeof key, "%s.rows", prefix);
    cJSON_AddNumberToObject(m, key, (double)t->nrow);
    snprintf(key, sizeof key, "%s.columns", prefix);
    cJSON_AddNumberToObject(m, key, (double)t->ncol);
    snprintf(key, sizeof key, "%s.missing_fraction", prefix);
    cJSON_AddNumberToObject(m, key, cells > 0 ? (double)missing / cells : 0.0);
}

enum ml_status algo_profile_run(const struct train_input *in, struct train_result *r,
                                struct ml_err *err)
{
    cJSON *doc = cJSON_CreateObject(), *cols;
    size_t missing = 0, vmissing = 0;
    enum ml_status st;
    char *text;

    r->algorithm = "profile";
    r->metrics = cJSON_CreateObject();
    if (!doc || !r->metrics) {
        cJSON_Delete(doc);
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    }
    cJSON_AddStringToObject(doc, "plantfit_model", "profile");
    cJSON_AddNumberToObject(doc, "format_version", 1);
    cJSON_AddNumberToObject(doc, "rows", (double)in->train->table->nrow);
    cols = cJSON_AddArrayToObject(doc, "columns");
    st = table_profile(in->train->table, cols, &missing, err);
    if (st == ML_OK && in->valid) {
        cJSON *vcols = cJSON_CreateArray();
        cJSON *v = cJSON_AddObjectToObject(doc, "validation");
        cJSON_AddNumberToObject(v, "rows", (double)in->valid->table->nrow);
        cJSON_AddItemToObject(v, "columns", vcols);
        st = table_profile(in->valid->table, vcols, &vmissing, err);
    }
    if (st) {
        cJSON_Delete(doc);
        return st;
    }
    channel_metrics(r->metrics, "train", in->train->table, missing);
    {
        /* The profile reads every column; the target, when named, is not a feature. */
        const struct hp_value *tv = hp_get(in->hp, "target");
        size_t j;
        r->features = cJSON_CreateArray();
        for (j = 0; j < in->train->table->ncol; j++)
            if (!(tv && tv->has_value && strcmp(tv->s, in->train->table->col[j].name) == 0))
                cJSON_AddItemToArray(r->features,
                                     cJSON_CreateString(in->train->table->col[j].name));
        if (tv && tv->has_value)
            r->target = strdup(tv->s);
    }
    if (in->valid)
        channel_metrics(r->metrics, "validation", in->valid->table, vmissing);
    text = cJSON_Print(doc);
    cJSON_Delete(doc);
    if (!text)
        ML_FAIL(err, ML_ENOMEM, "out of memory rendering profile.json");
    st = train_add_model_file(r, in->model_dir, "profile.json", text, strlen(text), err);
    cJSON_free(text);
    return st;
}
