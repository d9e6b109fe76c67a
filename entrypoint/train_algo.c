/* train_algo.c: the hyperparameter table and the dispatch from the
 * `algorithm` hyperparameter to an algorithm (see train_algo.h). */
#include "train_algo.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "source/source.h"

static const char *const algorithm_choices[] = {"profile", "gam", "iforest", NULL};
static const char *const gam_families[] = {"gaussian", "binomial", "poisson", "Gamma", NULL};
static const char *const gam_links[] = {"identity", "logit", "log", "inverse", NULL};
static const char *const gam_methods[] = {"REML", "GCV", "GCV.Cp", "fixed", NULL};
static const char *const iforest_missing[] = {"fail", "divide", NULL};
static const char *const iforest_correction[] = {"exact", "asymptotic", NULL};

/* Keys that belong to one algorithm only: given with another, they are an
 * error rather than silently ignored. */
static const struct {
    const char *key, *algorithm;
} owned_keys[] = {
    {"formula", "gam"}, {"family", "gam"}, {"link", "gam"},
    {"method", "gam"},  {"sp", "gam"},     {"max_iter", "gam"},
    {"n_trees", "iforest"}, {"sample_size", "iforest"}, {"max_depth", "iforest"},
    {"contamination", "iforest"}, {"extension_level", "iforest"}, {"missing", "iforest"},
    {"features", "iforest"}, {"label", "iforest"}, {"path_correction", "iforest"},
};

static const struct hp_spec spec[] = {
    {"algorithm", HP_STRING, TRAIN_ALGORITHM_DEFAULT, 0, 0, algorithm_choices,
     "what to train"},
    {"commit_id", HP_STRING, NULL, 0, 0, NULL,
     "git commit of the code that launched the job; overrides GIT_COMMIT"},
    {"csv_delimiter", HP_CHAR, ",", 0, 0, NULL,
     "CSV field delimiter: one character, or tab/comma/semicolon/pipe/space"},
    {"categorical", HP_STRING_LIST, NULL, 0, 0, NULL,
     "CSV columns kept as categorical (string levels), JSON list or a,b,c"},
    {"target", HP_STRING, NULL, 0, 0, NULL, "name of the target (label) column"},
    {"threads", HP_INT, "0", 0, 1024, NULL, "worker threads; 0 = one per CPU"},
    {"seed", HP_INT, "1", 0, 9007199254740992.0, NULL, "random seed"},
    {"compare_rule", HP_STRING, NULL, 0, 0, NULL,
     "champion/challenger rule against the model in the baseline channel, e.g. "
     "rmse <= 1.02 * baseline.rmse (default by model kind; see plantfit compare --help)"},
    /* algorithm=gam */
    {"formula", HP_STRING, NULL, 0, 0, NULL,
     "gam: model formula in mgcv syntax, e.g. yield ~ s(temp) + te(a, b) + factor(line)"},
    {"family", HP_STRING, "gaussian", 0, 0, gam_families, "gam: response distribution"},
    {"link", HP_STRING, NULL, 0, 0, gam_links,
     "gam: link function (default: identity, logit, log, inverse by family)"},
    {"method", HP_STRING, "REML", 0, 0, gam_methods,
     "gam: smoothing selection: REML, GCV (mgcv GCV.Cp) or fixed (with sp)"},
    {"sp", HP_STRING_LIST, NULL, 0, 0, NULL,
     "gam: fixed smoothing parameters, one per penalty (method=fixed)"},
    {"max_iter", HP_INT, "200", 1, 10000, NULL,
     "gam: outer Newton iterations of the smoothing-parameter search"},
    /* algorithm=iforest */
    {"n_trees", HP_INT, "100", 1, 100000, NULL, "iforest: number of trees"},
    {"sample_size", HP_INT, "256", 2, 1e9, NULL,
     "iforest: rows per tree, drawn without replacement (capped at n)"},
    {"max_depth", HP_INT, "0", 0, 64, NULL, "iforest: height limit; 0 = ceil(log2(sample_size))"},
    {"contamination", HP_STRING, "auto", 0, 0, NULL,
     "iforest: auto (threshold score 0.5) or a fraction in (0, 0.5]"},
    {"extension_level", HP_INT, "0", 0, 1000, NULL,
     "iforest: 0 = axis-parallel cuts (classic); up to d-1 = Extended IF hyperplanes"},
    {"missing", HP_STRING, "fail", 0, 0, iforest_missing,
     "iforest: missing values: fail, or divide (both branches, weighted)"},
    {"path_correction", HP_STRING, "exact", 0, 0, iforest_correction,
     "iforest: c(n) of the paper with the exact harmonic number, or asymptotic "
     "(scikit-learn's, for scores that follow its)"},
    {"features", HP_STRING_LIST, NULL, 0, 0, NULL,
     "iforest: feature columns; default every numeric column but the label"},
    {"label", HP_STRING, NULL, 0, 0, NULL, "iforest: 0/1 anomaly label column, for metrics only"},
};

const struct hp_spec *train_hp_spec(void)
{
    return spec;
}

size_t train_hp_count(void)
{
    return sizeof spec / sizeof spec[0];
}

enum ml_status train_algo_run(const struct train_input *in, struct train_result *r,
                              struct ml_err *err)
{
    const struct hp_value *a = hp_get(in->hp, "algorithm");

    if (!a || !a->has_value)
        ML_FAIL(err, ML_EINTERNAL, "no algorithm selected");
    {
        size_t k;
        for (k = 0; k < sizeof owned_keys / sizeof owned_keys[0]; k++) {
            const struct hp_value *v = hp_get(in->hp, owned_keys[k].key);
            if (v && v->set && strcmp(a->s, owned_keys[k].algorithm) != 0)
                ML_FAIL(err, ML_EINVAL, "hyperparameter \"%s\" applies to algorithm=%s, not "
                        "algorithm=%s", owned_keys[k].key, owned_keys[k].algorithm, a->s);
        }
    }
    if (strcmp(a->s, "profile") == 0)
        return algo_profile_run(in, r, err);
    if (strcmp(a->s, "gam") == 0)
        return algo_gam_run(in, r, err);
    if (strcmp(a->s, "iforest") == 0)
        return algo_iforest_run(in, r, err);
    ML_FAIL(err, ML_EINVAL, "hyperparameter \"algorithm\" = \"%s\": expected one of: %s", a->s,
            TRAIN_ALGORITHM_NAMES);
}

enum ml_status train_add_model_file(struct train_result *r, const char *model_dir,
                                    const char *name, const void *data, size_t len,
                                    struct ml_err *err)
{
    struct train_model_file *f;
    char final[4096];
    unsigned char md[32];
    unsigned int mdlen = 0;
    enum ml_status st;
    int i;

    if (r->nfiles == TRAIN_MAX_FILES)
        ML_FAIL(err, ML_EINTERNAL, "too many model files");
    f = &r->files[r->nfiles];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    snprintf(final, sizeof final, "%s/%s", model_dir, name);
    st = fs_write_temp(final, data, len, f->tmp_path, sizeof f->tmp_path, err);
    if (st)
        return st;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    for (i = 0; i < 32; i++)
        snprintf(f->sha256 + 2 * i, 3, "%02x", md[i]);
    f->bytes = len;
    r->nfiles++;
    return ML_OK;
}

enum ml_status train_add_model_file_path(struct train_result *r, const char *name,
                                         const char *tmp_path, struct ml_err *err)
{
    struct train_model_file *f;
    enum ml_status st;

    if (r->nfiles == TRAIN_MAX_FILES) {
        fs_abandon(tmp_path);
        ML_FAIL(err, ML_EINTERNAL, "too many model files");
    }
    f = &r->files[r->nfiles];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    snprintf(f->tmp_path, sizeof f->tmp_path, "%s", tmp_path);
    st = source_fingerprint(tmp_path, f->sha256, &f->bytes, err);
    if (st) {
        fs_abandon(tmp_path);
        return st;
    }
    r->nfiles++;
    return ML_OK;
}

void train_set_quality(struct train_result *r, cJSON *q, const char *channel, size_t rows)
{
    if (!q)
        return;
    if (r->quality && r->quality_channel && strcmp(r->quality_channel, "validation") == 0 &&
        strcmp(channel, "validation") != 0) {
        cJSON_Delete(q);
        return;
    }
    cJSON_Delete(r->quality);
    r->quality = q;
    r->quality_channel = strcmp(channel, "validation") == 0 ? "validation" : "train";
    r->quality_rows = rows;
}

uint64_t train_seed(const struct hp_set *hp)
{
    const struct hp_value *v = hp_get(hp, "seed");
    return v && v->has_value ? (uint64_t)v->i : 1;
}

void train_result_free(struct train_result *r)
{
    size_t i;

    for (i = 0; i < r->nfiles; i++)
        if (!r->files[i].committed)
            fs_abandon(r->files[i].tmp_path);
    r->nfiles = 0;
    cJSON_Delete(r->metrics);
    r->metrics = NULL;
    cJSON_Delete(r->features);
    r->features = NULL;
    free(r->target);
    r->target = NULL;
    cJSON_Delete(r->quality);
    r->quality = NULL;
}
