/* algo_gam.c: `algorithm=gam` -- a penalised-spline GAM fitted as mgcv's
 * gam(formula, family, method) with bs="ps" (algorithms/gam/gam.h), written
 * as model/gam.h5, with train and validation metrics.
 *
 * Non-convergence of the smoothing-parameter search is never hidden: it is
 * a warning on stderr, in the manifest, and the metric train.converged = 0. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../algorithms/gam/gam.h"
#include "fsutil.h"
#include "quality.h"
#include "hdf5/gam_h5.h"
#include "regression.h"
#include "source/source.h"
#include "train_algo.h"

static void num(cJSON *o, const char *k, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, k, v);
}

static enum ml_status options_from_hp(const struct hp_set *hp, struct gam_options *o,
                                      double **sp, struct ml_err *err)
{
    const struct hp_value *v;
    enum ml_status st;
    size_t i;

    gam_options_default(o);
    *sp = NULL;
    v = hp_get(hp, "family");
    if (v && v->has_value) {
        st = gam_family_parse(v->s, &o->family, err);
        if (st) {
            ml_err_prefix(err, "hyperparameter \"family\": ");
            return st;
        }
    }
    o->link = gam_default_link(o->family);
    v = hp_get(hp, "link");
    if (v && v->has_value) {
        st = gam_link_parse(v->s, &o->link, err);
        if (st) {
            ml_err_prefix(err, "hyperparameter \"link\": ");
            return st;
        }
    }
    v = hp_get(hp, "method");
    if (v && v->has_value) {
        if (strcmp(v->s, "REML") == 0)
            o->method = GAM_METHOD_REML;
        else if (strcmp(v->s, "GCV") == 0 || strcmp(v->s, "GCV.Cp") == 0)
            o->method = GAM_METHOD_GCV;
        else if (strcmp(v->s, "fixed") == 0)
            o->method = GAM_METHOD_FIXED;
    }
    v = hp_get(hp, "sp");
    if (v && v->has_value && v->nlist > 0) {
        if (o->method != GAM_METHOD_FIXED)
            ML_FAIL(err, ML_EINVAL, "hyperparameter \"sp\" needs method = \"fixed\"");
        *sp = malloc(v->nlist * sizeof **sp);
        if (!*sp)
            ML_FAIL(err, ML_ENOMEM, "out of memory");
        for (i = 0; i < v->nlist; i++) {
            char *end;
            (*sp)[i] = strtod(v->list[i], &end);
            if (end == v->list[i] || *end || !isfinite((*sp)[i]) || (*sp)[i] < 0) {
                ML_FAIL(err, ML_EINVAL,
                        "hyperparameter \"sp\": item %zu = \"%s\": expected a number >= 0",
                        i + 1, v->list[i]);
            }
        }
        o->sp = *sp;
        o->nsp = v->nlist;
    } else if (o->method == GAM_METHOD_FIXED) {
        ML_FAIL(err, ML_EINVAL, "method = \"fixed\" needs the hyperparameter \"sp\" (one "
                "smoothing parameter per penalty)");
    }
    v = hp_get(hp, "max_iter");
    if (v && v->has_value)
        o->max_iter = (int)v->i;
    v = hp_get(hp, "threads");
    o->threads = v && v->i > 0 ? (int)v->i : 2;
    return ML_OK;
}

/* Prediction metrics of m on table t (response scale); `fitted`, if not
 * NULL, already holds the predictions (the training fit's own). */
static enum ml_status eval_metrics(const struct gam_model *m, const struct ml_table *t,
                                   const double *fitted, const char *prefix, uint64_t seed,
                                   struct train_result *r, struct ml_err *err)
{
    cJSON *metrics = r->metrics, *q = NULL;
    size_t nq = 0;
    long yc = ml_table_find(t, m->response);
    double *f;
    struct reg_metrics rm;
    char key[96];
    enum ml_status st;

    if (yc < 0)
        ML_FAIL(err, ML_EDOM, "channel %s has no response column \"%s\"", prefix, m->response);
    f = malloc((t->nrow ? t->nrow : 1) * sizeof *f);
    if (!f)
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    if (fitted)
        memcpy(f, fitted, t->nrow * sizeof *f);
    st = fitted ? ML_OK : gam_predict(m, t, GAM_PRED_RESPONSE, f, NULL, err);
    if (st) {
        free(f);
        ml_err_prefix(err, "predicting the %s channel: ", prefix);
        return st;
    }
    reg_metrics_compute(t->col[yc].v, f, t->nrow, &rm);
    st = quality_regression_json(t->col[yc].v, f, t->nrow, seed, &q, &nq, err);
    free(f);
    if (st)
        return st;
    if (q) {
        cJSON *w = cJSON_CreateObject();
        cJSON_AddItemToObject(w, "regression_metrics", q);
        train_set_quality(r, w, prefix, nq);
    }
    snprintf(key, sizeof key, "%s.rmse", prefix);
    num(metrics, key, rm.rmse);
    snprintf(key, sizeof key, "%s.mae", prefix);
    num(metrics, key, rm.mae);
    snprintf(key, sizeof key, "%s.r2", prefix);
    num(metrics, key, rm.r2);
    snprintf(key, sizeof key, "%s.rows_scored", prefix);
    num(metrics, key, (double)rm.n);
    return ML_OK;
}

enum ml_status algo_gam_run(const struct train_input *in, struct train_result *r,
                            struct ml_err *err)
{
    const struct hp_value *fv = hp_get(in->hp, "formula");
    struct gam_options o;
    struct gam_model *m = NULL;
    double *sp = NULL, *fitted = NULL;
    enum ml_status st;
    char final[4096], tmp[4096];
    size_t i;

    r->algorithm = "gam";
    if (!fv || !fv->has_value || !fv->s[0])
        ML_FAIL(err, ML_EINVAL, "algorithm \"gam\" needs the hyperparameter \"formula\", e.g. "
                "\"yield ~ s(temp) + s(flow, k=20) + factor(line)\"");
    st = options_from_hp(in->hp, &o, &sp, err);
    if (st) {
        free(sp);
        return st;
    }
    fitted = malloc((in->train->table->nrow ? in->train->table->nrow : 1) * sizeof *fitted);
    if (!fitted) {
        free(sp);
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    }
    o.fitted_out = fitted;
    /* Reproducibility: OpenBLAS splits a BLAS/LAPACK call differently for
     * different thread counts, which changes the order of floating-point sums
     * and so the last bits of the fit (measured: a 20000-row, 12-smooth fit
     * gave a different gam.h5 with OPENBLAS_NUM_THREADS=1 than with 2).  Its
     * default is one thread per CPU, so the model would depend on the
     * instance size.  The fit's BLAS work is on p x p matrices (p in the
     * hundreds) and the row passes are threaded by plantfit itself
     * (o.threads, fixed), so one BLAS thread costs little and makes the model
     * a function of data, hyperparameters and CPU type only.  Not restored:
     * the manifest records the BLAS threads the fit ran with. */
    openblas_set_num_threads(1);
    {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        st = gam_fit(in->train->table, fv->s, &o, &m, err);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        r->estimation_seconds =
            (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    }
    free(sp);
    if (st) {
        free(fitted);
        ml_err_prefix(err, "fitting \"%s\": ", fv->s);
        return st;
    }
    r->metrics = cJSON_CreateObject();
    if (!r->metrics) {
        free(fitted);
        gam_model_free(m);
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    }
    num(r->metrics, "train.rows_used", (double)m->n);
    num(r->metrics, "train.rows_dropped", (double)m->n_dropped);
    num(r->metrics, "train.edf", m->edf_total);
    num(r->metrics, m->method == GAM_METHOD_GCV ? "train.gcv" : "train.reml", m->score);
    num(r->metrics, "train.deviance_explained", m->dev_explained);
    num(r->metrics, "train.r2_adj", m->r2_adj);
    num(r->metrics, "train.scale", m->scale);
    num(r->metrics, "train.iterations", m->iterations);
    num(r->metrics, "train.converged", m->converged);
    for (i = 0; i < (size_t)m->npen; i++) {
        char key[64];
        snprintf(key, sizeof key, "train.lambda%zu", i + 1);
        num(r->metrics, key, m->lambda[i]);
    }
    if (m->n_dropped)
        fprintf(stderr, "[plantfit] gam: %zu rows dropped for missing values in used columns "
                "(%zu used)\n", m->n_dropped, m->n);
    if (!m->converged)
        fprintf(stderr, "[plantfit] warning: gam smoothing-parameter search did not converge: "
                "%s\n", m->convergence_msg);
    st = eval_metrics(m, in->train->table, fitted, "train", train_seed(in->hp), r, err);
    free(fitted);
    if (st == ML_OK && in->valid)
        st = eval_metrics(m, in->valid->table, NULL, "validation", train_seed(in->hp), r, err);
    if (st == ML_OK) {
        /* What the model reads, for the manifest's feature profile. */
        r->features = cJSON_CreateArray();
        for (i = 0; i < m->nvars; i++)
            if (strcmp(m->vars[i].name, m->response) != 0)
                cJSON_AddItemToArray(r->features, cJSON_CreateString(m->vars[i].name));
        r->target = strdup(m->response);
        if (!r->features || !r->target)
            st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
    }
    if (st == ML_OK) {
        /* HDF5 writes its own file: give it a registered temporary name. */
        snprintf(final, sizeof final, "%s/gam.h5", in->model_dir);
        fs_temp_name(final, tmp, sizeof tmp);
        fs_temp_register(tmp);
        st = gam_h5_write(tmp, m, err);
        if (st)
            fs_abandon(tmp);
        else
            st = train_add_model_file_path(r, "gam.h5", tmp, err);
    }
    {
        /* A human summary of the fit on stderr, in the spirit of summary.gam. */
        size_t t;
        fprintf(stderr, "[plantfit] gam %s (%s/%s, %s): n = %zu, EDF %.3f, dev. explained "
                "%.1f%%, R2(adj) %.4f, %s %.6g, %s\n", m->formula, gam_family_name(m->family),
                gam_link_name(m->link), m->method == GAM_METHOD_GCV ? "GCV" :
                m->method == GAM_METHOD_FIXED ? "fixed sp" : "REML", m->n, m->edf_total,
                100.0 * m->dev_explained, m->r2_adj,
                m->method == GAM_METHOD_GCV ? "GCV" : "REML", m->score, m->convergence_msg);
        for (t = 0; t < m->nterms; t++)
            if (m->terms[t].smooth >= 0)
                fprintf(stderr, "[plantfit]   %-32s edf %7.3f\n", m->terms[t].label,
                        m->terms[t].edf);
    }
    gam_model_free(m);
    return st;
}
