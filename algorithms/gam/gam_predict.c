/* gam_predict.c: predictions from a fitted GAM: the linear-predictor matrix
 * (mgcv type="lpmatrix"), fitted values on the link and response scales with
 * standard errors, per-term contributions (type="terms") and derivatives of
 * the linear predictor with respect to a variable.
 *
 * A prediction row is built exactly as a fitting row (gam-numerics.md
 * section 9): B-spline rows with linear extrapolation outside the training
 * range, te() margins through their G^-1, the constraint through each
 * block's Z, factor dummies by level name.  se(eta) = sqrt(x' Vp x); on the
 * response scale |d mu / d eta| se(eta) (delta method). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gam_impl.h"

/* Column indices in t of the model variables, and per factor variable the
 * map from the table's level codes to the model's level indices (-1: level
 * unknown to the model). */
struct colmap {
    long *col;
    long **lev;     /* per var: NULL for numeric */
    size_t nvars;
};

static void colmap_free(struct colmap *c)
{
    size_t v;

    if (c->lev)
        for (v = 0; v < c->nvars; v++)
            free(c->lev[v]);
    free(c->lev);
    free(c->col);
}

static enum ml_status colmap_init(const struct gam_model *m, const struct ml_table *t,
                                  struct colmap *c, struct ml_err *err)
{
    size_t v, l, k;

    c->nvars = m->nvars;
    c->col = calloc(m->nvars ? m->nvars : 1, sizeof *c->col);
    c->lev = calloc(m->nvars ? m->nvars : 1, sizeof *c->lev);
    if (!c->col || !c->lev) {
        colmap_free(c);
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    }
    for (v = 0; v < m->nvars; v++) {
        const struct gam_var *gv = &m->vars[v];
        const struct ml_column *col;

        c->col[v] = ml_table_find(t, gv->name);
        if (c->col[v] < 0) {
            colmap_free(c);
            ML_FAIL(err, ML_EDOM, "the model needs a column \"%s\", which the input lacks",
                    gv->name);
        }
        col = &t->col[c->col[v]];
        if (!gv->is_factor) {
            if (col->type != ML_COL_NUMERIC) {
                colmap_free(c);
                ML_FAIL(err, ML_EDOM, "column \"%s\" must be numeric for this model", gv->name);
            }
            continue;
        }
        if (col->type == ML_COL_CATEGORICAL) {
            c->lev[v] = malloc((col->nlevels ? col->nlevels : 1) * sizeof **c->lev);
            if (!c->lev[v]) {
                colmap_free(c);
                ML_FAIL(err, ML_ENOMEM, "out of memory");
            }
            for (l = 0; l < col->nlevels; l++) {
                c->lev[v][l] = -1;
                for (k = 0; k < gv->nlevels; k++)
                    if (strcmp(col->levels[l], gv->levels[k]) == 0)
                        c->lev[v][l] = (long)k;
            }
        }
    }
    return ML_OK;
}

/* The point (per model variable) for row i; 0 if a value is missing, -1 with
 * an error for an unknown factor level. */
static int row_point(const struct gam_model *m, const struct ml_table *t, const struct colmap *c,
                     size_t i, double *xv, struct ml_err *err)
{
    size_t v, k;
    char buf[64];

    for (v = 0; v < m->nvars; v++) {
        const struct gam_var *gv = &m->vars[v];
        double x = t->col[c->col[v]].v[i];

        if (isnan(x))
            return 0;
        if (!gv->is_factor) {
            xv[v] = x;
            continue;
        }
        if (c->lev[v]) {
            long lv = c->lev[v][(size_t)x];
            if (lv < 0) {
                ml_fail(err, ML_EDOM, __FILE__, __LINE__,
                        "row %zu: %s = \"%s\" is a level the model was not trained on", i + 1,
                        gv->name, t->col[c->col[v]].levels[(size_t)x]);
                return -1;
            }
            xv[v] = (double)lv;
        } else {
            snprintf(buf, sizeof buf, "%.15g", x);
            for (k = 0; k < gv->nlevels; k++)
                if (strcmp(buf, gv->levels[k]) == 0)
                    break;
            if (k == gv->nlevels) {
                ml_fail(err, ML_EDOM, __FILE__, __LINE__,
                        "row %zu: %s = %s is a level the model was not trained on", i + 1,
                        gv->name, buf);
                return -1;
            }
            xv[v] = (double)k;
        }
    }
    return 1;
}

struct rowbuf {
    double *xv, *work, *row, *tmp;
    int *iwork;
};

static int rowbuf_alloc(const struct gam_model *m, struct rowbuf *b)
{
    int pu = gam_pu(m), nnz = gam_row_max_nnz(m);

    b->xv = malloc((m->nvars ? m->nvars : 1) * sizeof *b->xv);
    b->work = malloc((size_t)(pu + nnz) * sizeof *b->work);
    b->row = malloc((size_t)m->p * sizeof *b->row);
    b->tmp = malloc((size_t)m->p * sizeof *b->tmp);
    b->iwork = malloc((size_t)nnz * sizeof *b->iwork);
    return b->xv && b->work && b->row && b->tmp && b->iwork;
}

static void rowbuf_free(struct rowbuf *b)
{
    free(b->xv);
    free(b->work);
    free(b->row);
    free(b->tmp);
    free(b->iwork);
}

/* Column map and row buffers for one prediction call; on failure nothing
 * is left allocated. */
static enum ml_status predict_begin(const struct gam_model *m, const struct ml_table *t,
                                    struct colmap *c, struct rowbuf *b, struct ml_err *err)
{
    enum ml_status st = colmap_init(m, t, c, err);

    if (st)
        return st;
    if (!rowbuf_alloc(m, b)) {
        rowbuf_free(b);
        colmap_free(c);
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    }
    return ML_OK;
}

static double quad(const double *V, const double *x, int p, int lo, int hi, double *tmp)
{
    int a, c;
    double s = 0.0;

    for (a = lo; a < hi; a++) {
        double t = 0.0;
        if (x[a] == 0.0)
            continue;
        for (c = lo; c < hi; c++)
            t += V[(size_t)a * p + c] * x[c];
        s += x[a] * t;
    }
    (void)tmp;
    return s;
}

enum ml_status gam_predict(const struct gam_model *m, const struct ml_table *t,
                           enum gam_pred_type type, double *fit, double *se,
                           struct ml_err *err)
{
    struct colmap c;
    struct rowbuf b;
    enum ml_status st;
    size_t i;
    int k, p = m->p;

    st = predict_begin(m, t, &c, &b, err);
    if (st)
        return st;
    /* Without standard errors a row is only x'beta: use the sparse
     * unconstrained row against beta_u = Zb beta (O(non-zeros) per row);
     * with them the dense constrained row is needed for x' Vp x. */
    double *beta_u = NULL;
    if (!se) {
        beta_u = malloc((size_t)gam_pu(m) * sizeof *beta_u);
        if (!beta_u) {
            rowbuf_free(&b);
            colmap_free(&c);
            ML_FAIL(err, ML_ENOMEM, "out of memory");
        }
        gam_expand_vector(m, m->beta, beta_u);
    }
    for (i = 0; i < t->nrow; i++) {
        int ok = row_point(m, t, &c, i, b.xv, err);
        double eta = 0.0;

        if (ok < 0) {
            free(beta_u);
            rowbuf_free(&b);
            colmap_free(&c);
            return err ? err->code : ML_EDOM;
        }
        if (ok == 0) {
            fit[i] = NAN;
            if (se)
                se[i] = NAN;
            continue;
        }
        if (beta_u) {
            int nnz = gam_row_sparse(m, b.xv, b.work, b.iwork);
            for (k = 0; k < nnz; k++)
                eta += b.work[k] * beta_u[b.iwork[k]];
        } else {
            gam_row_dense(m, b.xv, b.row, b.work, b.iwork);
            for (k = 0; k < p; k++)
                eta += b.row[k] * m->beta[k];
        }
        if (type == GAM_PRED_LINK) {
            fit[i] = eta;
            if (se)
                se[i] = sqrt(fmax(quad(m->Vp, b.row, p, 0, p, b.tmp), 0.0));
        } else {
            fit[i] = gam_linkinv(m->link, eta);
            if (se)
                se[i] = fabs(gam_mu_eta(m->link, eta)) *
                        sqrt(fmax(quad(m->Vp, b.row, p, 0, p, b.tmp), 0.0));
        }
    }
    free(beta_u);
    rowbuf_free(&b);
    colmap_free(&c);
    return ML_OK;
}

/* Prediction with a confidence interval on the response scale, the way
 * mgcv users build one from predict(type = "link", se.fit = TRUE):
 * [g^-1(eta - z se_eta), g^-1(eta + z se_eta)], ordered low to high (the
 * inverse link may be decreasing), which stays inside the response's range
 * (a probability interval within (0, 1)) where eta +- z se on the response
 * scale would not.  fit and se are what gam_predict gives on the response
 * scale; fit is computed exactly as there without se (the sparse row against
 * Zb beta), so a prediction does not change in its last bits when standard
 * errors are asked for. */
enum ml_status gam_predict_interval(const struct gam_model *m, const struct ml_table *t,
                                    double z, double *fit, double *se, double *lower,
                                    double *upper, struct ml_err *err)
{
    struct colmap c;
    struct rowbuf b;
    enum ml_status st;
    double *beta_u;
    size_t i;
    int k, p = m->p;

    st = predict_begin(m, t, &c, &b, err);
    if (st)
        return st;
    beta_u = malloc((size_t)gam_pu(m) * sizeof *beta_u);
    if (!beta_u) {
        rowbuf_free(&b);
        colmap_free(&c);
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    }
    gam_expand_vector(m, m->beta, beta_u);
    for (i = 0; i < t->nrow; i++) {
        int ok = row_point(m, t, &c, i, b.xv, err), nnz;
        double eta = 0.0, s, a, bnd;

        if (ok < 0) {
            free(beta_u);
            rowbuf_free(&b);
            colmap_free(&c);
            return err ? err->code : ML_EDOM;
        }
        if (ok == 0) {
            fit[i] = se[i] = lower[i] = upper[i] = NAN;
            continue;
        }
        nnz = gam_row_sparse(m, b.xv, b.work, b.iwork);
        for (k = 0; k < nnz; k++)
            eta += b.work[k] * beta_u[b.iwork[k]];
        gam_row_dense(m, b.xv, b.row, b.work, b.iwork);
        s = sqrt(fmax(quad(m->Vp, b.row, p, 0, p, b.tmp), 0.0));
        fit[i] = gam_linkinv(m->link, eta);
        se[i] = fabs(gam_mu_eta(m->link, eta)) * s;
        a = gam_linkinv(m->link, eta - z * s);
        bnd = gam_linkinv(m->link, eta + z * s);
        lower[i] = a < bnd ? a : bnd;
        upper[i] = a < bnd ? bnd : a;
    }
    free(beta_u);
    rowbuf_free(&b);
    colmap_free(&c);
    return ML_OK;
}

enum ml_status gam_predict_terms(const struct gam_model *m, const struct ml_table *t,
                                 double *out, double *se, size_t *nterms_out,
                                 struct ml_err *err)
{
    struct colmap c;
    struct rowbuf b;
    enum ml_status st;
    size_t i, j, nt = 0, first;
    int k, p = m->p;

    first = (m->nterms > 0 && m->terms[0].nvar == 0) ? 1 : 0; /* skip the intercept */
    nt = m->nterms - first;
    *nterms_out = nt;
    st = predict_begin(m, t, &c, &b, err);
    if (st)
        return st;
    for (i = 0; i < t->nrow; i++) {
        int ok = row_point(m, t, &c, i, b.xv, err);
        if (ok < 0) {
            rowbuf_free(&b);
            colmap_free(&c);
            return err ? err->code : ML_EDOM;
        }
        if (ok)
            gam_row_dense(m, b.xv, b.row, b.work, b.iwork);
        for (j = 0; j < nt; j++) {
            const struct gam_term *tm = &m->terms[first + j];
            double v = 0.0;
            if (!ok) {
                out[i * nt + j] = NAN;
                if (se)
                    se[i * nt + j] = NAN;
                continue;
            }
            for (k = tm->col0; k < tm->col0 + tm->ncol; k++)
                v += b.row[k] * m->beta[k];
            out[i * nt + j] = v;
            if (se)
                se[i * nt + j] =
                    sqrt(fmax(quad(m->Vp, b.row, p, tm->col0, tm->col0 + tm->ncol, b.tmp), 0.0));
        }
    }
    rowbuf_free(&b);
    colmap_free(&c);
    return ML_OK;
}

enum ml_status gam_lpmatrix(const struct gam_model *m, const struct ml_table *t, double *X,
                            struct ml_err *err)
{
    struct colmap c;
    struct rowbuf b;
    enum ml_status st;
    size_t i;
    int k, p = m->p;

    st = predict_begin(m, t, &c, &b, err);
    if (st)
        return st;
    for (i = 0; i < t->nrow; i++) {
        int ok = row_point(m, t, &c, i, b.xv, err);
        if (ok < 0) {
            rowbuf_free(&b);
            colmap_free(&c);
            return err ? err->code : ML_EDOM;
        }
        if (ok)
            gam_row_dense(m, b.xv, X + i * (size_t)p, b.work, b.iwork);
        else
            for (k = 0; k < p; k++)
                X[i * (size_t)p + k] = NAN;
    }
    rowbuf_free(&b);
    colmap_free(&c);
    return ML_OK;
}

enum ml_status gam_derivative(const struct gam_model *m, const struct ml_table *t,
                              const char *var, double *out, struct ml_err *err)
{
    struct colmap c;
    struct rowbuf b;
    enum ml_status st;
    size_t i, ti;
    long vi = -1;
    int k;

    for (i = 0; i < m->nvars; i++)
        if (!m->vars[i].is_factor && strcmp(m->vars[i].name, var) == 0)
            vi = (long)i;
    if (vi < 0)
        ML_FAIL(err, ML_EINVAL, "the model has no numeric variable \"%s\"", var);
    st = predict_begin(m, t, &c, &b, err);
    if (st)
        return st;
    for (i = 0; i < t->nrow; i++) {
        int ok = row_point(m, t, &c, i, b.xv, err);
        double dsum = 0.0;

        if (ok < 0) {
            rowbuf_free(&b);
            colmap_free(&c);
            return err ? err->code : ML_EDOM;
        }
        if (!ok) {
            out[i] = NAN;
            continue;
        }
        for (ti = 0; ti < m->nterms; ti++) {
            const struct gam_term *tm = &m->terms[ti];
            int j, margin = -1;

            for (j = 0; j < tm->nvar; j++)
                if (tm->var[j] == vi)
                    margin = j;
            if (margin < 0)
                continue;
            if (tm->smooth < 0) {
                if (tm->kind == GAM_TERM_LINEAR)
                    dsum += m->beta[tm->col0];
                continue;
            }
            if (tm->by_var >= 0 && (int)b.xv[tm->by_var] != tm->by_level)
                continue;
            {
                const struct gam_smooth *sm = &m->smooths[tm->smooth];
                double sx[GAM_MAX_MARGINS], *du = b.work, *vals = b.work + sm->p_u;
                for (j = 0; j < tm->nvar; j++)
                    sx[j] = b.xv[tm->var[j]];
                memset(du, 0, (size_t)sm->p_u * sizeof *du);
                gam_smooth_row_deriv(sm, sx, margin, vals, b.iwork);
                for (k = 0; k < sm->nnz; k++)
                    du[b.iwork[k]] = vals[k];
                gam_smooth_Zt_vec(sm, du, b.row);
                for (k = 0; k < sm->p; k++)
                    dsum += b.row[k] * m->beta[tm->col0 + k];
            }
        }
        out[i] = dsum;
    }
    rowbuf_free(&b);
    colmap_free(&c);
    return ML_OK;
}
