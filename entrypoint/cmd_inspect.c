/* cmd_inspect.c: `plantfit inspect --model DIR [--json]`, what a model
 * directory holds, for a person (in the spirit of mgcv's summary.gam) or, with
 * --json, for a machine (docs/schema/inspect.schema.json).
 *
 * Before anything is summarised the directory is checked as `predict` checks
 * it: manifest.json present and valid JSON, a manifest_format_version this
 * build knows (a newer one is refused, naming both), every model file and
 * artifact listed with a plain file name, present, with the size and SHA-256
 * the manifest records; then each model file is loaded with its full
 * validating reader (gam_h5_read, iforest_h5_read), so a corrupt file whose
 * manifest was rewritten to match is still caught.
 *
 * Exit status: 0 done, 1 the model directory is missing, incomplete, newer or
 * corrupt ("plantfit inspect: <message naming the file>" on stderr), 2 usage. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cJSON.h>

#include "../algorithms/gam/gam.h"
#include "../algorithms/iforest/iforest.h"
#include "commands.h"
#include "model_dir.h"
#include "fsutil.h"
#include "hdf5/gam_h5.h"
#include "hdf5/iforest_h5.h"

#define INSPECT_MAX_JSON (64u << 20)    /* manifest.json, metrics.json, profile.json */
#define PATH_CAP 4096

static void usage(FILE *f)
{
    fprintf(f,
            "usage: plantfit inspect --model DIR [--json]\n"
            "\n"
            "Summarises the model directory DIR (what `plantfit train` wrote to model/):\n"
            "commit, data fingerprint and metrics from manifest.json, and for each model\n"
            "file its content: a GAM's formula, family, link, each term's EDF and\n"
            "smoothing parameter, the fit statistics; an Isolation Forest's trees, sample\n"
            "size, height limit, threshold and features.  The directory is checked first:\n"
            "manifest format, and every file's size and SHA-256 against the manifest.\n"
            "\n"
            "  --model DIR   the model directory\n"
            "  --json        one JSON document on stdout (docs/schema/inspect.schema.json)\n"
            "  --help        this text\n"
            "\n"
            "Exit status: 0 done, 1 missing, newer or corrupt model directory, 2 usage error.\n");
}

static int fail(const char *fmt, ...) ML_ATTR_FORMAT(1, 2);

static int fail(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "plantfit inspect: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    return 1;
}

static int load_json(const char *path, cJSON **out, int required)
{
    char *text = NULL;
    size_t len = 0;
    struct ml_err err;
    struct stat sb;

    *out = NULL;
    if (stat(path, &sb) != 0) {
        if (!required)
            return 0;
        return fail("%s: %s", path, errno == ENOENT ? "no manifest: not a plantfit model "
                                                      "directory (train writes manifest.json last)"
                                                    : strerror(errno));
    }
    if (fs_read_all(path, INSPECT_MAX_JSON, &text, &len, &err) != ML_OK)
        return fail("%s", err.msg);
    *out = cJSON_ParseWithLength(text, len);
    free(text);
    if (!*out || !cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        return fail("%s: not a valid JSON object (corrupt or not written by plantfit)", path);
    }
    return 0;
}

static const char *str_or(const cJSON *o, const char *key, const char *def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : def;
}

/* ---- JSON summaries ---------------------------------------------------------- */

static void num(cJSON *o, const char *k, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

static const char *term_kind(enum gam_term_kind k)
{
    switch (k) {
    case GAM_TERM_LINEAR: return "linear";
    case GAM_TERM_FACTOR: return "factor";
    case GAM_TERM_S: return "s";
    case GAM_TERM_TE: return "te";
    }
    return "unknown";
}

static const char *method_name(enum gam_method m)
{
    return m == GAM_METHOD_GCV ? "GCV.Cp" : m == GAM_METHOD_FIXED ? "fixed" : "REML";
}

/* Name of coefficient column c (0-based within term t), as mgcv prints it. */
static void coef_name(const struct gam_model *m, const struct gam_term *t, int c, char *buf,
                      size_t cap)
{
    if (t->kind == GAM_TERM_FACTOR && t->nvar >= 1) {
        const struct gam_var *v = &m->vars[t->var[0]];
        size_t lev = (size_t)(t->first_level + c);
        snprintf(buf, cap, "%s%s", t->label, lev < v->nlevels ? v->levels[lev] : "?");
    } else if (t->ncol > 1) {
        snprintf(buf, cap, "%s.%d", t->label, c + 1);
    } else {
        snprintf(buf, cap, "%s", t->label);
    }
}

static cJSON *gam_json(const struct gam_model *m)
{
    cJSON *o = cJSON_CreateObject(), *terms, *par;
    size_t t;
    int c, k;

    cJSON_AddStringToObject(o, "type", "gam");
    cJSON_AddStringToObject(o, "formula", m->formula);
    cJSON_AddStringToObject(o, "response", m->response);
    cJSON_AddStringToObject(o, "family", gam_family_name(m->family));
    cJSON_AddStringToObject(o, "link", gam_link_name(m->link));
    cJSON_AddStringToObject(o, "method", method_name(m->method));
    cJSON_AddNumberToObject(o, "n", (double)m->n);
    cJSON_AddNumberToObject(o, "n_dropped", (double)m->n_dropped);
    cJSON_AddNumberToObject(o, "coefficients", m->p);
    num(o, "edf_total", m->edf_total);
    num(o, "score", m->score);
    num(o, "scale", m->scale);
    num(o, "deviance", m->deviance);
    num(o, "null_deviance", m->null_deviance);
    num(o, "deviance_explained", m->dev_explained);
    num(o, "r2_adj", m->r2_adj);
    cJSON_AddNumberToObject(o, "iterations", m->iterations);
    cJSON_AddBoolToObject(o, "converged", m->converged);
    cJSON_AddStringToObject(o, "convergence", m->convergence_msg);
    par = cJSON_AddArrayToObject(o, "parametric");
    terms = cJSON_AddArrayToObject(o, "smooth_terms");
    for (t = 0; t < m->nterms; t++) {
        const struct gam_term *tm = &m->terms[t];
        if (tm->smooth < 0) {
            for (c = 0; c < tm->ncol; c++) {
                cJSON *e = cJSON_CreateObject();
                char name[512];
                double b = m->beta[tm->col0 + c];
                double se = sqrt(m->Vp[(size_t)(tm->col0 + c) * (size_t)m->p + tm->col0 + c]);
                coef_name(m, tm, c, name, sizeof name);
                cJSON_AddStringToObject(e, "name", name);
                cJSON_AddStringToObject(e, "term", tm->label);
                num(e, "estimate", b);
                num(e, "std_error", se);
                num(e, "t_value", se > 0 ? b / se : NAN);
                cJSON_AddItemToArray(par, e);
            }
        } else {
            cJSON *e = cJSON_CreateObject(), *lam;
            cJSON_AddStringToObject(e, "label", tm->label);
            cJSON_AddStringToObject(e, "kind", term_kind(tm->kind));
            num(e, "edf", tm->edf);
            cJSON_AddNumberToObject(e, "coefficients", tm->ncol);
            lam = cJSON_AddArrayToObject(e, "lambda");
            for (k = 0; k < tm->npen; k++)
                cJSON_AddItemToArray(lam, cJSON_CreateNumber(m->lambda[tm->pen0 + k]));
            cJSON_AddItemToArray(terms, e);
        }
    }
    return o;
}

static cJSON *iforest_json(const struct iforest *f)
{
    cJSON *o = cJSON_CreateObject(), *fe;
    int j;

    cJSON_AddStringToObject(o, "type", "iforest");
    cJSON_AddNumberToObject(o, "n_trees", f->n_trees);
    cJSON_AddNumberToObject(o, "sample_size", (double)f->sample_size);
    cJSON_AddNumberToObject(o, "max_depth", f->max_depth);
    cJSON_AddNumberToObject(o, "extension_level", f->extension_level);
    cJSON_AddStringToObject(o, "missing", f->missing == IFOREST_MISSING_DIVIDE ? "divide" : "fail");
    if (f->contamination > 0)
        cJSON_AddNumberToObject(o, "contamination", f->contamination);
    else
        cJSON_AddStringToObject(o, "contamination", "auto");
    num(o, "threshold", f->threshold);
    cJSON_AddNumberToObject(o, "seed", (double)f->seed);
    cJSON_AddNumberToObject(o, "nodes", (double)f->n_nodes);
    fe = cJSON_AddArrayToObject(o, "features");
    for (j = 0; j < f->d; j++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", f->feature_names[j]);
        num(e, "min", f->fmin[j]);
        num(e, "max", f->fmax[j]);
        cJSON_AddItemToArray(fe, e);
    }
    return o;
}

/* Load one model file (already checked against the manifest). */
static int model_json(const char *dir, const char *name, cJSON **out)
{
    char path[PATH_CAP];
    struct ml_err err;

    *out = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (strcmp(name, "gam.h5") == 0) {
        struct gam_model *m = NULL;
        if (gam_h5_read(path, &m, &err) != ML_OK)
            return fail("%s", err.msg);
        *out = gam_json(m);
        gam_model_free(m);
    } else if (strcmp(name, "iforest.h5") == 0) {
        struct iforest *f = NULL;
        if (iforest_h5_read(path, &f, &err) != ML_OK)
            return fail("%s", err.msg);
        *out = iforest_json(f);
        iforest_free(f);
    } else if (strcmp(name, "profile.json") == 0) {
        cJSON *p = NULL;
        const cJSON *cols, *rows;
        if (load_json(path, &p, 1))
            return 1;
        cols = cJSON_GetObjectItemCaseSensitive(p, "columns");
        rows = cJSON_GetObjectItemCaseSensitive(p, "rows");
        if (!cJSON_IsArray(cols) || !cJSON_IsNumber(rows)) {
            cJSON_Delete(p);
            return fail("%s: not a plantfit data profile (no rows or columns)", path);
        }
        *out = cJSON_CreateObject();
        cJSON_AddStringToObject(*out, "type", "profile");
        cJSON_AddNumberToObject(*out, "rows", rows->valuedouble);
        cJSON_AddNumberToObject(*out, "columns", cJSON_GetArraySize(cols));
        cJSON_Delete(p);
    } else {
        *out = cJSON_CreateObject();
        cJSON_AddStringToObject(*out, "type", "unknown");
    }
    cJSON_AddStringToObject(*out, "file", name);
    return 0;
}

static cJSON *dup_or_null(const cJSON *v)
{
    return v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
}

/* The whole summary as one document (also what the text output prints). */
static int build(const char *dir, const cJSON *man, const cJSON *metrics, cJSON **out)
{
    cJSON *d = cJSON_CreateObject(), *models, *o;
    const cJSON *it, *data = cJSON_GetObjectItemCaseSensitive(man, "data");
    const char *shapes[] = {"regression_metrics", "binary_classification_metrics"};
    size_t i;

    cJSON_AddStringToObject(d, "model_dir", dir);
    cJSON_AddItemToObject(d, "manifest_format_version",
                          dup_or_null(cJSON_GetObjectItemCaseSensitive(man, "manifest_format_version")));
    cJSON_AddStringToObject(d, "plantfit_version", str_or(man, "plantfit_version", "unknown"));
    cJSON_AddItemToObject(d, "commit", dup_or_null(cJSON_GetObjectItemCaseSensitive(man, "commit")));
    cJSON_AddItemToObject(d, "training_job_name",
                          dup_or_null(cJSON_GetObjectItemCaseSensitive(man, "training_job_name")));
    cJSON_AddItemToObject(d, "created", dup_or_null(cJSON_GetObjectItemCaseSensitive(man, "created")));
    cJSON_AddStringToObject(d, "algorithm", str_or(man, "algorithm", "unknown"));
    o = cJSON_AddObjectToObject(d, "data");
    cJSON_AddItemToObject(o, "fingerprint_sha256",
                          dup_or_null(cJSON_GetObjectItemCaseSensitive(data, "fingerprint_sha256")));
    for (i = 0; i < 2; i++) {
        const char *ch = i ? "validation" : "train";
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(data, ch);
        if (c) {
            cJSON *e = cJSON_AddObjectToObject(o, ch);
            cJSON_AddItemToObject(e, "rows", dup_or_null(cJSON_GetObjectItemCaseSensitive(c, "rows")));
            cJSON_AddNumberToObject(e, "files",
                                    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c, "files")));
        }
    }
    cJSON_AddItemToObject(d, "metrics", dup_or_null(cJSON_GetObjectItemCaseSensitive(man, "metrics")));
    o = NULL;
    for (i = 0; metrics && i < 2; i++) {
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(metrics, shapes[i]);
        if (q) {
            o = cJSON_CreateObject();
            cJSON_AddItemToObject(o, "dataset",
                                  dup_or_null(cJSON_GetObjectItemCaseSensitive(metrics, "dataset")));
            cJSON_AddItemToObject(o, shapes[i], cJSON_Duplicate(q, 1));
        }
    }
    cJSON_AddItemToObject(d, "model_quality", o ? o : cJSON_CreateNull());
    models = cJSON_AddArrayToObject(d, "models");
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(man, "model_files")) {
        cJSON *mj;
        if (model_json(dir, str_or(it, "name", ""), &mj)) {
            cJSON_Delete(d);
            return 1;
        }
        cJSON_AddStringToObject(mj, "sha256", str_or(it, "sha256", ""));
        cJSON_AddItemToArray(models, mj);
    }
    *out = d;
    return 0;
}

/* ---- text ---------------------------------------------------------------------- */

static double getnum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void print_gam(const cJSON *g)
{
    const cJSON *it, *l;
    int first;

    printf("Family: %s\nLink function: %s\n\nFormula:\n%s\n", str_or(g, "family", "?"),
           str_or(g, "link", "?"), str_or(g, "formula", "?"));
    if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(g, "parametric")) > 0) {
        printf("\nParametric coefficients:\n%-24s %12s %12s %9s\n", "", "Estimate", "Std. Error",
               "t value");
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(g, "parametric"))
            printf("%-24s %12.6g %12.6g %9.3f\n", str_or(it, "name", "?"), getnum(it, "estimate"),
                   getnum(it, "std_error"), getnum(it, "t_value"));
    }
    if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(g, "smooth_terms")) > 0) {
        printf("\nSmooth terms:\n%-24s %9s %6s  %s\n", "", "edf", "coefs", "lambda");
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(g, "smooth_terms")) {
            printf("%-24s %9.3f %6.0f  ", str_or(it, "label", "?"), getnum(it, "edf"),
                   getnum(it, "coefficients"));
            first = 1;
            cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(it, "lambda")) {
                printf("%s%.6g", first ? "" : ", ", l->valuedouble);
                first = 0;
            }
            printf("\n");
        }
    }
    printf("\nR-sq.(adj) = %.4f   Deviance explained = %.1f%%\n", getnum(g, "r2_adj"),
           100.0 * getnum(g, "deviance_explained"));
    printf("%s score = %.6g   Scale est. = %.6g   n = %.0f", str_or(g, "method", "?"),
           getnum(g, "score"), getnum(g, "scale"), getnum(g, "n"));
    if (getnum(g, "n_dropped") > 0)
        printf(" (%.0f rows dropped for missing values)", getnum(g, "n_dropped"));
    printf("\nTotal EDF = %.3f; smoothing-parameter search: %s%s\n", getnum(g, "edf_total"),
           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(g, "converged")) ? "" : "NOT CONVERGED: ",
           str_or(g, "convergence", ""));
}

static void print_iforest(const cJSON *f)
{
    const cJSON *it, *c = cJSON_GetObjectItemCaseSensitive(f, "contamination");

    printf("Trees: %.0f   sample size (psi): %.0f   height limit: %.0f   nodes: %.0f\n",
           getnum(f, "n_trees"), getnum(f, "sample_size"), getnum(f, "max_depth"),
           getnum(f, "nodes"));
    printf("Splits: %s   missing values: %s   seed: %.0f\n",
           getnum(f, "extension_level") > 0 ? "hyperplanes (extended)" : "axis-parallel",
           str_or(f, "missing", "?"), getnum(f, "seed"));
    if (cJSON_IsString(c))
        printf("Anomaly: score > %.6g (contamination auto)\n", getnum(f, "threshold"));
    else
        printf("Anomaly: score > %.6g (contamination %.6g)\n", getnum(f, "threshold"),
               c ? c->valuedouble : NAN);
    printf("\nFeatures (training range):\n");
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(f, "features"))
        printf("  %-22s [%.6g, %.6g]\n", str_or(it, "name", "?"), getnum(it, "min"),
               getnum(it, "max"));
}

static void print_text(const cJSON *d)
{
    const cJSON *commit = cJSON_GetObjectItemCaseSensitive(d, "commit");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(d, "data"), *it, *q, *s;
    const cJSON *job = cJSON_GetObjectItemCaseSensitive(d, "training_job_name");
    size_t i;

    printf("Model directory %s (manifest format %s)\n", str_or(d, "model_dir", "?"),
           str_or(d, "manifest_format_version", "?"));
    printf("Trained by plantfit %s on %s%s%s, algorithm %s\n", str_or(d, "plantfit_version", "?"),
           str_or(d, "created", "?"), cJSON_IsString(job) ? ", job " : "",
           cJSON_IsString(job) ? job->valuestring : "", str_or(d, "algorithm", "?"));
    printf("Commit: %s (from %s)\n", str_or(commit, "id", "unknown"),
           str_or(commit, "source", "?"));
    printf("Data fingerprint: sha256 %s\n", str_or(data, "fingerprint_sha256", "?"));
    for (i = 0; i < 2; i++) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(data, i ? "validation" : "train");
        if (c)
            printf("  %-10s %.0f rows in %.0f file(s)\n", i ? "validation" : "train",
                   getnum(c, "rows"), getnum(c, "files"));
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(d, "models")) {
        const char *type = str_or(it, "type", "?");
        printf("\n== %s (sha256 %.12s...) ==\n", str_or(it, "file", "?"), str_or(it, "sha256", ""));
        if (strcmp(type, "gam") == 0)
            print_gam(it);
        else if (strcmp(type, "iforest") == 0)
            print_iforest(it);
        else if (strcmp(type, "profile") == 0)
            printf("Data profile: %.0f columns of %.0f rows\n", getnum(it, "columns"),
                   getnum(it, "rows"));
        else
            printf("(a file this plantfit does not know how to summarise)\n");
    }
    q = cJSON_GetObjectItemCaseSensitive(d, "model_quality");
    if (cJSON_IsObject(q)) {
        const cJSON *ds = cJSON_GetObjectItemCaseSensitive(q, "dataset");
        printf("\nModel quality (%s channel, %.0f rows):\n", str_or(ds, "channel", "?"),
               getnum(ds, "item_count"));
        cJSON_ArrayForEach(s, q) {
            if (strcmp(s->string, "dataset") == 0)
                continue;
            cJSON_ArrayForEach(it, s) {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, "value");
                const cJSON *sd = cJSON_GetObjectItemCaseSensitive(it, "standard_deviation");
                if (!v)
                    continue;
                printf("  %-36s ", it->string);
                if (cJSON_IsNumber(v))
                    printf("%.6g", v->valuedouble);
                else
                    printf("NaN");
                if (cJSON_IsNumber(sd))
                    printf("  (sd %.3g)", sd->valuedouble);
                printf("\n");
            }
        }
    }
    printf("\nMetrics:\n");
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(d, "metrics"))
        if (cJSON_IsNumber(it))
            printf("  %-36s %.10g\n", it->string, it->valuedouble);
}

int cmd_inspect(int argc, char **argv)
{
    const char *dir = NULL;
    int as_json = 0, i, rc;
    char path[PATH_CAP];
    cJSON *man = NULL, *metrics = NULL, *doc = NULL;
    struct stat sb;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strncmp(argv[i], "--model=", 8) == 0) {
            dir = argv[i] + 8;
        } else if (strcmp(argv[i], "--json") == 0) {
            as_json = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "plantfit inspect: unexpected argument \"%s\"\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!dir || !dir[0]) {
        fprintf(stderr, "plantfit inspect: --model DIR is required\n");
        usage(stderr);
        return 2;
    }
    if (strlen(dir) > PATH_CAP - 300)
        return fail("%s: path too long", dir);
    if (stat(dir, &sb) != 0)
        return fail("model directory %s: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return fail("model directory %s is not a directory", dir);
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    rc = load_json(path, &man, 1);
    if (rc == 0) {
        /* the same checks predict and compare make (entrypoint/model_dir.c) */
        struct ml_err err;
        if (model_dir_check_manifest(dir, man, path, &err) != ML_OK)
            rc = fail("%s", err.msg);
    }
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/metrics.json", dir);
        rc = load_json(path, &metrics, 0);
    }
    if (rc == 0)
        rc = build(dir, man, metrics, &doc);
    if (rc == 0) {
        if (as_json) {
            char *text = cJSON_Print(doc);
            if (text)
                printf("%s\n", text);
            cJSON_free(text);
        } else {
            print_text(doc);
        }
        if (fflush(stdout) != 0 || ferror(stdout))
            rc = fail("cannot write to stdout: %s", strerror(errno));
    }
    cJSON_Delete(doc);
    cJSON_Delete(man);
    cJSON_Delete(metrics);
    return rc;
}
