/* train_package.c: the registry-facing parts of a trained model (see
 * train_algo.h): the feature profile recorded in the manifest, metrics.json in
 * SageMaker's model-quality shape, and the model-package.json fragment for
 * CreateModelPackage and MLflow.
 *
 * SageMaker limits honoured (API reference, CreateModelPackage,
 * MetadataProperties, MetricsSource): MetadataProperties values <= 1024
 * characters; CustomerMetadataProperties at most 50 entries, keys 1..128 and
 * values 1..256 characters of letters, digits, spaces and _.:/=+-@;
 * ModelPackageDescription <= 1024 characters without control characters;
 * MetricsSource.ContentDigest "sha256:<64 hex>". */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "profile.h"
#include "quality.h"
#include "train_algo.h"

#define MAX_LISTED_LEVELS 1000 /* a categorical feature lists at most this many levels */
#define CMP_MAX_ENTRIES 50
#define CMP_MAX_KEY 128
#define CMP_MAX_VALUE 256
#define MDP_MAX 1024
#define DESCRIPTION_MAX 1024

static void num_or_null(cJSON *o, const char *k, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

cJSON *train_column_json(const struct ml_table *t, const char *name)
{
    long j = ml_table_find(t, name);
    const struct ml_column *c;
    cJSON *o;
    size_t i, k;

    if (j < 0)
        return NULL;
    c = &t->col[j];
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", c->name);
    if (c->type == ML_COL_NUMERIC) {
        struct col_profile p;

        cJSON_AddStringToObject(o, "type", "numeric");
        profile_moments(c->v, t->nrow, &p);
        cJSON_AddNumberToObject(o, "count", (double)p.n);
        cJSON_AddNumberToObject(o, "missing", (double)p.missing);
        num_or_null(o, "min", p.min);
        num_or_null(o, "max", p.max);
        num_or_null(o, "mean", p.mean);
        num_or_null(o, "sd", p.sd);
    } else {
        size_t miss = 0;
        cJSON *lv;

        for (i = 0; i < t->nrow; i++)
            miss += (size_t)isnan(c->v[i]);
        cJSON_AddStringToObject(o, "type", "categorical");
        cJSON_AddNumberToObject(o, "count", (double)(t->nrow - miss));
        cJSON_AddNumberToObject(o, "missing", (double)miss);
        cJSON_AddNumberToObject(o, "nlevels", (double)c->nlevels);
        lv = cJSON_AddArrayToObject(o, "levels");
        for (k = 0; k < c->nlevels && k < MAX_LISTED_LEVELS; k++)
            cJSON_AddItemToArray(lv, cJSON_CreateString(c->levels[k]));
    }
    return o;
}

cJSON *train_features_json(const struct ml_table *t, const cJSON *names)
{
    cJSON *a = cJSON_CreateArray();
    const cJSON *it;

    cJSON_ArrayForEach(it, names) {
        cJSON *c = cJSON_IsString(it) ? train_column_json(t, it->valuestring) : NULL;
        if (c)
            cJSON_AddItemToArray(a, c);
    }
    return a;
}

cJSON *train_metrics_doc(const struct train_result *r, uint64_t seed)
{
    cJSON *d = cJSON_CreateObject(), *o;
    const cJSON *it;

    /* SageMaker's model-quality statistics file: "version", "dataset", then
     * the problem type's object; our own keys beside them are ignored by it. */
    cJSON_AddNumberToObject(d, "version", 0);
    if (r->quality) {
        o = cJSON_AddObjectToObject(d, "dataset");
        cJSON_AddNumberToObject(o, "item_count", (double)r->quality_rows);
        cJSON_AddStringToObject(o, "channel", r->quality_channel);
        cJSON_ArrayForEach(it, r->quality)
            cJSON_AddItemToObject(d, it->string, cJSON_Duplicate(it, 1));
        o = cJSON_AddObjectToObject(d, "standard_deviation_method");
        cJSON_AddStringToObject(o, "description",
                                "sample standard deviation of the metric over resamples of a "
                                "fraction of the rows drawn without replacement; \"NaN\" below "
                                "min_rows");
        cJSON_AddNumberToObject(o, "resamples", QUALITY_SD_RESAMPLES);
        cJSON_AddNumberToObject(o, "fraction", QUALITY_SD_FRACTION);
        cJSON_AddNumberToObject(o, "min_rows", QUALITY_SD_MIN_ROWS);
        cJSON_AddNumberToObject(o, "seed", (double)seed);
    }
    cJSON_AddStringToObject(d, "algorithm", r->algorithm);
    cJSON_AddItemToObject(d, "metrics", cJSON_Duplicate(r->metrics, 1));
    return d;
}

/* ---- model-package.json ------------------------------------------------------ */

static int cmp_char_ok(unsigned char ch)
{
    return isalnum(ch) || ch == ' ' || strchr("_.:/=+-@", ch) != NULL;
}

static int cmp_value_ok(const char *s)
{
    size_t n = strlen(s);

    if (n < 1 || n > CMP_MAX_VALUE)
        return 0;
    for (; *s; s++)
        if (!cmp_char_ok((unsigned char)*s))
            return 0;
    return 1;
}

static char *base64(const char *s)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s), i, o = 0;
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    const unsigned char *u = (const unsigned char *)s;

    if (!out)
        return NULL;
    for (i = 0; i + 2 < n; i += 3) {
        unsigned v = (unsigned)u[i] << 16 | (unsigned)u[i + 1] << 8 | u[i + 2];
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
        out[o++] = tab[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)u[i] << 16 | (i + 1 < n ? (unsigned)u[i + 1] << 8 : 0u);
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

/* Add key = value when SageMaker accepts the value as it is; otherwise as
 * key_base64 = base64(value) (the base64 alphabet is inside the allowed
 * characters) when that fits; otherwise leave it out (the manifest has it). */
static void cmp_add(cJSON *o, const char *key, const char *value)
{
    char k2[CMP_MAX_KEY + 1];
    char *b;

    if (!value || !value[0] || cJSON_GetArraySize(o) >= CMP_MAX_ENTRIES)
        return;
    if (cmp_value_ok(value)) {
        cJSON_AddStringToObject(o, key, value);
        return;
    }
    snprintf(k2, sizeof k2, "%s_base64", key);
    b = base64(value);
    if (b && strlen(b) <= CMP_MAX_VALUE)
        cJSON_AddStringToObject(o, k2, b);
    free(b);
}

static void add_capped(cJSON *o, const char *key, const char *value, size_t cap)
{
    if (value && value[0] && strlen(value) <= cap)
        cJSON_AddStringToObject(o, key, value);
}

cJSON *train_model_package_json(const struct train_package_info *in)
{
    cJSON *p = cJSON_CreateObject(), *o, *tags;
    char buf[DESCRIPTION_MAX + 1], seed[32];
    size_t i, n;

    /* A description a person reads in the registry; the formula verbatim. */
    n = (size_t)snprintf(buf, sizeof buf, "plantfit %s %s%s%s; data sha256 %s; commit %s",
                         pf_version(), in->algorithm, in->formula ? ": " : "",
                         in->formula ? in->formula : "", in->fingerprint,
                         in->commit_id && in->commit_id[0] ? in->commit_id : "unknown");
    if (n >= sizeof buf) { /* cut on a UTF-8 character boundary, marked */
        n = sizeof buf - 4;
        while (n > 0 && ((unsigned char)buf[n] & 0xC0) == 0x80)
            n--;
        memcpy(buf + n, "...", 4);
    }
    for (i = 0; buf[i]; i++)
        if (iscntrl((unsigned char)buf[i]))
            buf[i] = ' ';
    cJSON_AddStringToObject(p, "ModelPackageDescription", buf);

    o = cJSON_CreateObject();
    add_capped(o, "CommitId", in->commit_id, MDP_MAX);
    add_capped(o, "GeneratedBy", in->job_name, MDP_MAX);
    add_capped(o, "Repository", in->repository, MDP_MAX);
    if (cJSON_GetArraySize(o) > 0)
        cJSON_AddItemToObject(p, "MetadataProperties", o);
    else
        cJSON_Delete(o);

    o = cJSON_AddObjectToObject(p, "CustomerMetadataProperties");
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)in->seed);
    cmp_add(o, "plantfit:algorithm", in->algorithm);
    cmp_add(o, "plantfit:version", pf_version());
    cmp_add(o, "plantfit:data_fingerprint_sha256", in->fingerprint);
    cmp_add(o, "plantfit:formula", in->formula);
    cmp_add(o, "plantfit:target", in->target);
    cmp_add(o, "plantfit:seed", seed);
    cmp_add(o, "plantfit:commit_source", in->commit_source);
    cmp_add(o, "plantfit:quality_channel", in->quality_channel);

    if (in->metrics_sha256) {
        cJSON *st;
        char digest[80];

        o = cJSON_AddObjectToObject(p, "ModelMetrics");
        o = cJSON_AddObjectToObject(o, "ModelQuality");
        st = cJSON_AddObjectToObject(o, "Statistics");
        cJSON_AddStringToObject(st, "ContentType", "application/json");
        /* Relative: the registry step replaces it with the s3:// URI where it
         * put this job's metrics.json (README, "model-package.json"). */
        cJSON_AddStringToObject(st, "S3Uri", "metrics.json");
        snprintf(digest, sizeof digest, "sha256:%s", in->metrics_sha256);
        cJSON_AddStringToObject(st, "ContentDigest", digest);
    }

    /* MLflow's reserved tag names (mlflow/utils/mlflow_tags.py), plus ours. */
    tags = cJSON_AddObjectToObject(p, "MlflowTags");
    if (in->commit_id && in->commit_id[0])
        cJSON_AddStringToObject(tags, "mlflow.source.git.commit", in->commit_id);
    if (in->branch && in->branch[0])
        cJSON_AddStringToObject(tags, "mlflow.source.git.branch", in->branch);
    if (in->repository && in->repository[0])
        cJSON_AddStringToObject(tags, "mlflow.source.git.repoURL", in->repository);
    if (in->job_name && in->job_name[0])
        cJSON_AddStringToObject(tags, "mlflow.runName", in->job_name);
    cJSON_AddStringToObject(tags, "plantfit.algorithm", in->algorithm);
    cJSON_AddStringToObject(tags, "plantfit.version", pf_version());
    cJSON_AddStringToObject(tags, "plantfit.data_fingerprint_sha256", in->fingerprint);
    if (in->formula)
        cJSON_AddStringToObject(tags, "plantfit.formula", in->formula);
    cJSON_AddStringToObject(tags, "plantfit.seed", seed);
    return p;
}
