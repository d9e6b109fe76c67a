/* scoring.c: see scoring.h. */
#include "scoring.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv/csv_read.h"

#define SCORER_MAX_THREADS 64
#define Z95 1.959963984540054   /* qnorm(0.975) */

/* ---- column sets ----------------------------------------------------------- */

enum ml_status colset_add(struct colset *cs, const char *name, enum rs_kind kind,
                          const char *why, struct ml_err *err)
{
    size_t i;

    for (i = 0; i < cs->n; i++) {
        if (strcmp(cs->v[i].name, name) != 0)
            continue;
        if (cs->v[i].kind != kind)
            ML_FAIL(err, ML_EINVAL, "column \"%s\" is read as %s by one model but %s needs it "
                    "as %s; the two cannot share it", name,
                    cs->v[i].kind == RS_TEXT ? "text (factor levels)" : "numbers", why,
                    kind == RS_TEXT ? "text (factor levels)" : "numbers");
        return ML_OK;
    }
    if (cs->n == cs->cap) {
        size_t cap = cs->cap ? 2 * cs->cap : 16;
        struct rs_column *v = realloc(cs->v, cap * sizeof *v);
        if (!v)
            ML_FAIL(err, ML_ENOMEM, "out of memory");
        cs->v = v;
        cs->cap = cap;
    }
    cs->v[cs->n].name = name;
    cs->v[cs->n].kind = kind;
    cs->n++;
    return ML_OK;
}

void colset_free(struct colset *cs)
{
    free(cs->v);
    memset(cs, 0, sizeof *cs);
}

/* 1 if s is the canonical text ("%.15g") of a finite number: how gam_setup
 * names the levels of factor(<numeric column>). */
static int is_numeric_level(const char *s)
{
    char buf[64];
    double x;

    if (!csv_parse_double(s, strlen(s), &x) || !isfinite(x))
        return 0;
    snprintf(buf, sizeof buf, "%.15g", x);
    return strcmp(buf, s) == 0;
}

static int var_numeric(const struct gam_var *gv)
{
    size_t l;

    for (l = 0; gv->is_factor && l < gv->nlevels; l++)
        if (!is_numeric_level(gv->levels[l]))
            return 0;
    return 1;
}

enum ml_status colset_add_models(struct colset *cs, const struct model_dir *md,
                                 struct ml_err *err)
{
    enum ml_status st;
    size_t v;
    int j;

    for (v = 0; md->gam && v < md->gam->nvars; v++) {
        const struct gam_var *gv = &md->gam->vars[v];
        st = colset_add(cs, gv->name, var_numeric(gv) ? RS_NUMERIC : RS_TEXT,
                        "the GAM (" MODEL_DIR_GAM ")", err);
        if (st)
            return st;
    }
    for (j = 0; md->forest && j < md->forest->d; j++) {
        st = colset_add(cs, md->forest->feature_names[j], RS_NUMERIC,
                        "the Isolation Forest (" MODEL_DIR_IFOREST ")", err);
        if (st)
            return st;
    }
    return ML_OK;
}

/* ---- scorer ---------------------------------------------------------------- */

enum ml_status scorer_init(struct scorer *s, const struct model_dir *md, int want_se,
                           int threads, struct ml_err *err)
{
    memset(s, 0, sizeof *s);
    s->md = md;
    s->want_se = want_se && md->gam;
    s->threads = threads < 1 ? 1 : threads > SCORER_MAX_THREADS ? SCORER_MAX_THREADS : threads;
    (void)err;
    return ML_OK;
}

void scorer_free(struct scorer *s)
{
    free(s->fit);
    free(s->se);
    free(s->lower);
    free(s->upper);
    free(s->score);
    free(s->x);
    free(s->top);
    free(s->top_val);
    free(s->ntop);
    memset(s, 0, sizeof *s);
}

static enum ml_status reserve(struct scorer *s, size_t n, struct ml_err *err)
{
    size_t cap = s->cap ? s->cap : 1024;
    double **arrs[5] = {&s->fit, &s->se, &s->lower, &s->upper, &s->score};
    int need[5];
    size_t k;

    if (n <= s->cap)
        return ML_OK;
    while (cap < n)
        cap *= 2;
    need[0] = s->md->gam != NULL;
    need[1] = need[2] = need[3] = s->want_se;
    need[4] = s->md->forest != NULL;
    for (k = 0; k < 5; k++) {
        double *p;
        if (!need[k])
            continue;
        p = realloc(*arrs[k], cap * sizeof *p);
        if (!p)
            ML_FAIL(err, ML_ENOMEM, "out of memory for %zu predictions", cap);
        *arrs[k] = p;
    }
    if (s->md->forest) {
        double *p = realloc(s->x, cap * (size_t)s->md->forest->d * sizeof *p);
        if (!p)
            ML_FAIL(err, ML_ENOMEM, "out of memory for %zu rows of features", cap);
        s->x = p;
    }
    if (s->md->forest && s->with_top) {
        int *ti = realloc(s->top, cap * SCORER_TOP * sizeof *ti);
        double *tv;
        int *nt;
        if (ti)
            s->top = ti;
        tv = ti ? realloc(s->top_val, cap * SCORER_TOP * sizeof *tv) : NULL;
        if (tv)
            s->top_val = tv;
        nt = tv ? realloc(s->ntop, cap * sizeof *nt) : NULL;
        if (!nt)
            ML_FAIL(err, ML_ENOMEM, "out of memory for %zu rows of attributions", cap);
        s->ntop = nt;
    }
    s->cap = cap;
    return ML_OK;
}

int scorer_check(const struct scorer *s, struct rs_chunk *c, const char *who)
{
    const struct gam_model *m = s->md->gam;
    const struct iforest *f = s->md->forest;
    const struct ml_table *t = c->t;
    size_t v, i, l, k;
    char buf[64];
    int j;

    for (v = 0; m && v < m->nvars; v++) {
        const struct gam_var *gv = &m->vars[v];
        long cj = ml_table_find(t, gv->name);
        const struct ml_column *col;
        long *map = NULL;

        if (!gv->is_factor || cj < 0)
            continue;
        col = &t->col[cj];
        if (col->type == ML_COL_CATEGORICAL) {
            map = malloc((col->nlevels ? col->nlevels : 1) * sizeof *map);
            if (!map)
                return 0;
            for (l = 0; l < col->nlevels; l++) {
                map[l] = -1;
                for (k = 0; k < gv->nlevels && map[l] < 0; k++)
                    if (strcmp(col->levels[l], gv->levels[k]) == 0)
                        map[l] = (long)k;
            }
        }
        for (i = 0; i < t->nrow; i++) {
            double x = col->v[i];
            const char *val;

            if (isnan(x) || c->bad[i])
                continue;
            if (map) {
                if (map[(size_t)x] >= 0)
                    continue;
                val = col->levels[(size_t)x];
            } else {
                snprintf(buf, sizeof buf, "%.15g", x);
                for (k = 0; k < gv->nlevels; k++)
                    if (strcmp(buf, gv->levels[k]) == 0)
                        break;
                if (k < gv->nlevels)
                    continue;
                val = buf;
            }
            if (!rs_chunk_mark_bad(c, i, "%srow %llu (line %llu), column \"%s\": \"%.60s\" is "
                                   "a level the GAM was not trained on (%zu levels, e.g. "
                                   "\"%.40s\")", who, (unsigned long long)(c->first_row + i),
                                   (unsigned long long)c->line[i], gv->name, val, gv->nlevels,
                                   gv->nlevels ? gv->levels[0] : "")) {
                free(map);
                return 0;
            }
        }
        free(map);
    }
    if (f && f->missing == IFOREST_MISSING_FAIL) {
        for (j = 0; j < f->d; j++) {
            long cj = ml_table_find(t, f->feature_names[j]);
            const double *x;

            if (cj < 0)
                continue;
            x = t->col[cj].v;
            for (i = 0; i < t->nrow; i++)
                if (!isfinite(x[i]) && !c->bad[i] &&
                    !rs_chunk_mark_bad(c, i, "%srow %llu (line %llu), feature \"%s\": the value "
                                       "is missing, and the Isolation Forest was trained with "
                                       "missing = fail", who,
                                       (unsigned long long)(c->first_row + i),
                                       (unsigned long long)c->line[i], f->feature_names[j]))
                    return 0;
        }
    }
    return 1;
}

/* A table whose columns alias rows [off, off + n) of t (nothing owned). */
struct view {
    struct ml_table t;
    struct ml_column *col;
};

static int view_make(struct view *w, const struct ml_table *t, size_t off, size_t n)
{
    size_t j;

    w->col = malloc((t->ncol ? t->ncol : 1) * sizeof *w->col);
    if (!w->col)
        return 0;
    for (j = 0; j < t->ncol; j++) {
        w->col[j] = t->col[j];
        w->col[j].v = t->col[j].v + off;
        w->col[j].cap = n;
    }
    w->t.nrow = n;
    w->t.ncol = t->ncol;
    w->t.col = w->col;
    return 1;
}

struct gam_job {
    struct scorer *s;
    const struct ml_table *t;
    size_t off, n;
    enum ml_status st;
    struct ml_err err;
};

static void *gam_job_run(void *arg)
{
    struct gam_job *jb = arg;
    struct scorer *s = jb->s;
    struct view w;
    size_t o = jb->off;

    if (!view_make(&w, jb->t, jb->off, jb->n)) {
        jb->st = ml_fail(&jb->err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
        return NULL;
    }
    if (s->want_se)
        jb->st = gam_predict_interval(s->md->gam, &w.t, Z95, s->fit + o, s->se + o,
                                      s->lower + o, s->upper + o, &jb->err);
    else
        jb->st = gam_predict(s->md->gam, &w.t, GAM_PRED_RESPONSE, s->fit + o, NULL, &jb->err);
    free(w.col);
    return NULL;
}

/* The GAM over the rows of t, split into one slice per thread (a row's
 * prediction depends on that row only). */
static enum ml_status gam_run(struct scorer *s, const struct ml_table *t, struct ml_err *err)
{
    struct gam_job jobs[SCORER_MAX_THREADS];
    pthread_t th[SCORER_MAX_THREADS];
    int started[SCORER_MAX_THREADS];
    size_t n = t->nrow, nt = (size_t)s->threads, k, per;

    /* A slice under ~4096 rows costs more to start than it saves. */
    if (nt > n / 4096)
        nt = n / 4096 ? n / 4096 : 1;
    per = (n + nt - 1) / nt;
    for (k = 0; k < nt; k++) {
        jobs[k].s = s;
        jobs[k].t = t;
        jobs[k].off = k * per < n ? k * per : n;
        jobs[k].n = jobs[k].off + per < n ? per : n - jobs[k].off;
        jobs[k].st = ML_OK;
        ml_err_clear(&jobs[k].err);
    }
    for (k = 1; k < nt; k++)
        started[k] = pthread_create(&th[k], NULL, gam_job_run, &jobs[k]) == 0;
    gam_job_run(&jobs[0]);
    for (k = 1; k < nt; k++) {
        if (started[k])
            pthread_join(th[k], NULL);
        else
            gam_job_run(&jobs[k]);   /* could not start a thread: do it here */
    }
    for (k = 0; k < nt; k++)
        if (jobs[k].st) {
            *err = jobs[k].err;
            return jobs[k].st;
        }
    return ML_OK;
}

static enum ml_status top_run(struct scorer *s, size_t n, struct ml_err *err);

enum ml_status scorer_run(struct scorer *s, const struct rs_chunk *c, struct ml_err *err)
{
    const struct ml_table *t = c->t;
    size_t n = t->nrow;
    enum ml_status st;
    int j;

    if (n == 0)
        return ML_OK;
    st = reserve(s, n, err);
    if (st)
        return st;
    if (s->md->gam) {
        st = gam_run(s, t, err);
        if (st)
            return st;
    }
    if (s->md->forest) {
        const struct iforest *f = s->md->forest;

        /* iforest_score reads the features column-major from one base. */
        for (j = 0; j < f->d; j++) {
            long cj = ml_table_find(t, f->feature_names[j]);
            if (cj < 0)
                ML_FAIL(err, ML_EINTERNAL, "feature \"%s\" not read", f->feature_names[j]);
            memcpy(s->x + (size_t)j * n, t->col[cj].v, n * sizeof *s->x);
        }
        st = iforest_score(f, s->x, n, n, s->score, s->threads, err);
        if (st)
            return st;
        if (s->with_top) {
            st = top_run(s, n, err);
            if (st)
                return st;
        }
    }
    return ML_OK;
}

/* The up to SCORER_TOP features with the largest positive attributions
 * attr[0..d), largest first (the lower index on a tie). */
static void pick_top(int d, const double *attr, int *top, double *val, int *ntop)
{
    int j, k, q, taken;

    *ntop = 0;
    for (k = 0; k < SCORER_TOP; k++) {
        int best = -1;

        for (j = 0; j < d; j++) {
            if (!(attr[j] > 0.0) || (best >= 0 && !(attr[j] > attr[best])))
                continue;
            for (taken = 0, q = 0; q < *ntop && !taken; q++)
                taken = top[q] == j;
            if (!taken)
                best = j;
        }
        if (best < 0)
            break;
        top[*ntop] = best;
        val[*ntop] = attr[best];
        ++*ntop;
    }
}

enum ml_status scorer_top_features(struct scorer *s, const struct rs_chunk *c, size_t i,
                                   int *top, double *val, int *ntop, struct ml_err *err)
{
    int k;

    (void)c;
    (void)err;
    /* scorer_run explained the chunk's anomalous rows in one batch; reading
     * them back is safe from the formatting threads */
    *ntop = s->with_top && s->ntop ? s->ntop[i] : 0;
    for (k = 0; k < *ntop; k++) {
        top[k] = s->top[i * SCORER_TOP + k];
        val[k] = s->top_val[i * SCORER_TOP + k];
    }
    return ML_OK;
}

/* The top features of the anomalous rows among n: their features are
 * gathered into one block and explained in one iforest_explain_mt call on
 * every thread (per-call set-up is paid once per chunk, not per row). */
static enum ml_status top_run(struct scorer *s, size_t n, struct ml_err *err)
{
    const struct iforest *f = s->md->forest;
    size_t i, na = 0, k, d = (size_t)f->d;
    size_t *rows;
    double *xa = NULL, *aa = NULL;
    enum ml_status st = ML_OK;

    for (i = 0; i < n; i++) {
        s->ntop[i] = 0;
        na += (size_t)iforest_is_anomaly(f, s->score[i]);
    }
    if (na == 0)
        return ML_OK;
    rows = malloc(na * sizeof *rows);
    xa = malloc(na * d * sizeof *xa);
    aa = malloc(na * d * sizeof *aa);
    if (!rows || !xa || !aa) {
        st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__,
                     "out of memory explaining %zu anomalous rows", na);
        goto done;
    }
    for (i = 0, k = 0; i < n; i++)
        if (iforest_is_anomaly(f, s->score[i]))
            rows[k++] = i;
    for (i = 0; i < d; i++)
        for (k = 0; k < na; k++)
            xa[i * na + k] = s->x[i * n + rows[k]];
    st = iforest_explain_mt(f, xa, na, na, aa, s->threads, err);
    if (st == ML_OK)
        for (k = 0; k < na; k++)
            pick_top(f->d, aa + k * d, s->top + rows[k] * SCORER_TOP,
                     s->top_val + rows[k] * SCORER_TOP, &s->ntop[rows[k]]);
done:
    free(rows);
    free(xa);
    free(aa);
    return st;
}
