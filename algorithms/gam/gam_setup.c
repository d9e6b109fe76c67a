/* gam_setup.c: from a parsed formula and a data table to the model's
 * structure -- variables, factor levels, terms, smooths, penalties and the
 * column layout -- and the fitting data with missing rows dropped.
 *
 * Conventions follow R's model.frame/model.matrix and mgcv
 * (gam-numerics.md section 0, 5 and 11):
 *  - rows with a missing value in any used column are dropped (na.omit) and
 *    counted; factor levels are those present in the rows kept (R's
 *    drop.unused.levels), in sorted order;
 *  - columns are [intercept | parametric terms in formula order | smooths in
 *    formula order], a factor-by smooth expanding into one block per level;
 *  - factors use treatment contrasts (levels 2..L get a dummy); without an
 *    intercept the first factor gets all L levels, as model.matrix does;
 *  - a bare name of a categorical column is a factor, as in R. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gam_impl.h"

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* Find or add the model variable (name, factor-ness); returns its index. */
static int var_index(struct gam_model *m, size_t *cap, const char *name, int is_factor)
{
    size_t i;

    for (i = 0; i < m->nvars; i++)
        if (strcmp(m->vars[i].name, name) == 0 && m->vars[i].is_factor == is_factor)
            return (int)i;
    if (m->nvars == *cap) {
        size_t nc = *cap ? 2 * *cap : 8;
        struct gam_var *v = realloc(m->vars, nc * sizeof *v);
        if (!v)
            return -1;
        m->vars = v;
        *cap = nc;
    }
    memset(&m->vars[m->nvars], 0, sizeof m->vars[0]);
    m->vars[m->nvars].name = dupstr(name);
    m->vars[m->nvars].is_factor = is_factor;
    if (!m->vars[m->nvars].name)
        return -1;
    return (int)m->nvars++;
}

static void column_list(const struct ml_table *t, char *buf, size_t cap)
{
    size_t j, len = 0;

    buf[0] = '\0';
    for (j = 0; j < t->ncol && len + 4 < cap; j++) {
        int w = snprintf(buf + len, cap - len, "%s%s", j ? ", " : "", t->col[j].name);
        if (w < 0 || (size_t)w >= cap - len) {
            snprintf(buf + (cap > 4 ? cap - 4 : 0), 4, "...");
            break;
        }
        len += (size_t)w;
    }
}

static enum ml_status find_col(const struct ml_table *t, const char *name, const char *label,
                               long *col, struct ml_err *err)
{
    char cols[512];

    *col = ml_table_find(t, name);
    if (*col >= 0)
        return ML_OK;
    column_list(t, cols, sizeof cols);
    ML_FAIL(err, ML_EINVAL, "formula term %s: no column \"%s\" in the data; columns are: %s",
            label, name, cols);
}

struct level_sort {
    const char *name;
    double value;       /* numeric factors: the value */
    size_t code;        /* original code or index */
};

static int cmp_level_name(const void *a, const void *b)
{
    return strcmp(((const struct level_sort *)a)->name, ((const struct level_sort *)b)->name);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Levels of factor variable v over the kept rows, sorted; fills d->x[v] with
 * the level index of every kept row. */
static enum ml_status factor_levels(struct gam_model *m, struct gam_data *d, size_t v,
                                    const struct ml_column *c, const size_t *rows,
                                    struct ml_err *err)
{
    struct gam_var *gv = &m->vars[v];
    size_t i, n = d->n, l;
    double *xf = (double *)d->x[v]; /* allocated (owned) by the caller for factors */

    if (c->type == ML_COL_CATEGORICAL) {
        size_t *used = calloc(c->nlevels ? c->nlevels : 1, sizeof *used);
        size_t *rank = calloc(c->nlevels ? c->nlevels : 1, sizeof *rank);
        struct level_sort *ls = calloc(c->nlevels ? c->nlevels : 1, sizeof *ls);
        size_t nl = 0;

        if (!used || !rank || !ls) {
            free(used);
            free(rank);
            free(ls);
            ML_FAIL(err, ML_ENOMEM, "out of memory");
        }
        for (i = 0; i < n; i++)
            used[(size_t)c->v[rows[i]]] = 1;
        for (l = 0; l < c->nlevels; l++)
            if (used[l]) {
                ls[nl].name = c->levels[l];
                ls[nl].code = l;
                nl++;
            }
        /* R sorts factor levels; strcmp order equals R's for ASCII names
         * in the C locale, which is what a container runs in. */
        qsort(ls, nl, sizeof *ls, cmp_level_name);
        gv->levels = calloc(nl ? nl : 1, sizeof *gv->levels);
        if (!gv->levels) {
            free(used);
            free(rank);
            free(ls);
            ML_FAIL(err, ML_ENOMEM, "out of memory");
        }
        gv->nlevels = nl;
        for (l = 0; l < nl; l++) {
            rank[ls[l].code] = l;
            gv->levels[l] = dupstr(ls[l].name);
            if (!gv->levels[l]) {
                free(used);
                free(rank);
                free(ls);
                ML_FAIL(err, ML_ENOMEM, "out of memory");
            }
        }
        for (i = 0; i < n; i++)
            xf[i] = (double)rank[(size_t)c->v[rows[i]]];
        free(used);
        free(rank);
        free(ls);
    } else {
        /* factor() of a numeric column: the distinct values, sorted numerically. */
        double *u = malloc((n ? n : 1) * sizeof *u);
        size_t nu = 0;
        char buf[64];

        if (!u)
            ML_FAIL(err, ML_ENOMEM, "out of memory");
        for (i = 0; i < n; i++)
            u[i] = c->v[rows[i]];
        qsort(u, n, sizeof *u, cmp_double);
        for (i = 0; i < n; i++)
            if (nu == 0 || u[i] != u[nu - 1])
                u[nu++] = u[i];
        if (nu > 10000) {
            free(u);
            ML_FAIL(err, ML_EINVAL, "factor(%s) would have %zu levels; at most 10000", gv->name,
                    nu);
        }
        gv->levels = calloc(nu ? nu : 1, sizeof *gv->levels);
        if (!gv->levels) {
            free(u);
            ML_FAIL(err, ML_ENOMEM, "out of memory");
        }
        gv->nlevels = nu;
        for (l = 0; l < nu; l++) {
            snprintf(buf, sizeof buf, "%.15g", u[l]);
            gv->levels[l] = dupstr(buf);
            if (!gv->levels[l]) {
                free(u);
                ML_FAIL(err, ML_ENOMEM, "out of memory");
            }
        }
        for (i = 0; i < n; i++) {
            double x = c->v[rows[i]];
            size_t lo = 0, hi = nu;
            while (hi - lo > 1) {
                size_t mid = (lo + hi) / 2;
                if (u[mid] <= x)
                    lo = mid;
                else
                    hi = mid;
            }
            xf[i] = (double)lo;
        }
        free(u);
    }
    if (gv->nlevels < 2)
        ML_FAIL(err, ML_EINVAL,
                "factor %s has only one level (\"%s\") in the %zu rows used; a factor needs "
                "at least two", gv->name, gv->nlevels ? gv->levels[0] : "", n);
    return ML_OK;
}

/* Number of distinct values in x, counting only up to stop_at (k): the
 * check needs to know whether there are at least k, and a scan that keeps
 * the distinct values seen so far stops after a few rows on real data,
 * where sorting n values would cost O(n log n) per smooth. */
static size_t count_unique(const double *x, size_t n, size_t stop_at)
{
    double seen[GAM_FORMULA_MAX_COLS > 256 ? 256 : GAM_FORMULA_MAX_COLS];
    size_t i, j, nu = 0;

    if (stop_at > sizeof seen / sizeof seen[0]) {
        /* Large k: sort a copy instead. */
        double *s = malloc((n ? n : 1) * sizeof *s);
        if (!s)
            return stop_at; /* cannot check: do not block the fit on it */
        memcpy(s, x, n * sizeof *s);
        qsort(s, n, sizeof *s, cmp_double);
        for (i = 0; i < n && nu < stop_at; i++)
            if (i == 0 || s[i] != s[i - 1])
                nu++;
        free(s);
        return nu;
    }
    for (i = 0; i < n && nu < stop_at; i++) {
        for (j = 0; j < nu && seen[j] != x[i]; j++)
            ;
        if (j == nu)
            seen[nu++] = x[i];
    }
    return nu;
}

static enum ml_status add_term(struct gam_model *m, size_t *cap, const struct gam_term *t)
{
    if (m->nterms == *cap) {
        size_t nc = *cap ? 2 * *cap : 16;
        struct gam_term *tt = realloc(m->terms, nc * sizeof *tt);
        if (!tt)
            return ML_ENOMEM;
        m->terms = tt;
        *cap = nc;
    }
    m->terms[m->nterms++] = *t;
    return ML_OK;
}

static int family_y_ok(enum gam_family f, double y)
{
    switch (f) {
    case GAM_FAMILY_GAUSSIAN: return 1;
    case GAM_FAMILY_BINOMIAL: return y >= 0.0 && y <= 1.0;
    case GAM_FAMILY_POISSON: return y >= 0.0;
    case GAM_FAMILY_GAMMA: return y > 0.0;
    }
    return 0;
}

enum ml_status gam_setup(const struct ml_table *t, const struct gam_formula *f,
                         const struct gam_options *o, struct gam_model *m,
                         struct gam_data *d, struct ml_err *err)
{
    size_t vcap = 0, tcap = 0, i, j, v, n = 0, nsm = 0;
    long ycol, *vcol = NULL;
    size_t *rows = NULL;
    int *term_var_is_factor = NULL;
    enum ml_status st = ML_OK;
    int col, pen;

    memset(d, 0, sizeof *d);
    m->family = o->family;
    m->link = o->link;
    m->method = o->method;
    if (!(m->formula = dupstr(f->text)) || !(m->response = dupstr(f->response)))
        ML_FAIL(err, ML_ENOMEM, "out of memory");

    /* Nested terms: mgcv makes s(x) + te(x, z), or x + s(x), identifiable
     * with side constraints (gam.side) that delete columns; without them the
     * model is rank deficient.  Refuse them with the reason (gam-numerics.md
     * section 3.5). */
    for (i = 0; i < f->nterms; i++) {
        const struct gam_term_spec *a = &f->terms[i];
        for (j = 0; j < f->nterms; j++) {
            const struct gam_term_spec *b = &f->terms[j];
            int va, vb, all = 1, linear_nested = 0;
            if (i == j || (b->kind != GAM_TERM_S && b->kind != GAM_TERM_TE))
                continue;
            if (a->kind == GAM_TERM_FACTOR)
                continue;
            for (va = 0; va < a->nvar && all; va++) {
                int found = 0;
                for (vb = 0; vb < b->nvar; vb++)
                    if (strcmp(a->var[va], b->var[vb]) == 0) {
                        found = 1;
                        if (b->m2[vb] >= 2)
                            linear_nested = 1;
                    }
                all = found;
            }
            if (!all)
                continue;
            if (a->kind == GAM_TERM_LINEAR && !linear_nested)
                continue; /* m2 < 2: the smooth has no linear part to clash with */
            if ((a->kind == GAM_TERM_S || a->kind == GAM_TERM_TE) && a->nvar == b->nvar &&
                i > j)
                continue; /* same variable set: reported once, for the earlier term */
            ML_FAIL(err, ML_EINVAL,
                    "formula terms %s and %s overlap: %s is nested in %s, which makes the "
                    "model unidentifiable without mgcv's side constraints (gam.side), which "
                    "plantfit does not apply; drop one of them",
                    a->label, b->label, a->label, b->label);
        }
    }

    st = find_col(t, f->response, "(response)", &ycol, err);
    if (st)
        return st;
    if (t->col[ycol].type != ML_COL_NUMERIC)
        ML_FAIL(err, ML_EINVAL, "the response \"%s\" is a categorical column; it must be numeric",
                f->response);

    /* Variables, and whether each term's variables are factors. */
    term_var_is_factor = calloc(f->nterms ? f->nterms : 1, sizeof *term_var_is_factor);
    if (!term_var_is_factor)
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    for (i = 0; i < f->nterms && st == ML_OK; i++) {
        const struct gam_term_spec *ts = &f->terms[i];
        long col_i;

        for (j = 0; j < (size_t)ts->nvar && st == ML_OK; j++) {
            int is_factor = 0;

            st = find_col(t, ts->var[j], ts->label, &col_i, err);
            if (st)
                break;
            if (ts->kind == GAM_TERM_FACTOR)
                is_factor = 1;
            else if (t->col[col_i].type == ML_COL_CATEGORICAL) {
                if (ts->kind == GAM_TERM_LINEAR)
                    is_factor = 1; /* R: a character/factor column enters as a factor */
                else {
                    st = ml_fail(err, ML_EINVAL, __FILE__, __LINE__,
                                 "formula term %s: column \"%s\" is categorical; a smooth needs "
                                 "a numeric variable", ts->label, ts->var[j]);
                    break;
                }
            }
            term_var_is_factor[i] = is_factor;
            if (var_index(m, &vcap, ts->var[j], is_factor) < 0)
                st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
        }
        if (st == ML_OK && ts->by) {
            st = find_col(t, ts->by, ts->label, &col_i, err);
            if (st == ML_OK && var_index(m, &vcap, ts->by, 1) < 0)
                st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
        }
    }
    if (st)
        goto done;

    /* Rows kept: no missing value in the response or any used column. */
    vcol = malloc((m->nvars ? m->nvars : 1) * sizeof *vcol);
    rows = malloc((t->nrow ? t->nrow : 1) * sizeof *rows);
    if (!vcol || !rows) {
        st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory for %zu rows", t->nrow);
        goto done;
    }
    for (v = 0; v < m->nvars; v++)
        vcol[v] = ml_table_find(t, m->vars[v].name);
    for (i = 0; i < t->nrow; i++) {
        int keep = !isnan(t->col[ycol].v[i]);
        for (v = 0; v < m->nvars && keep; v++)
            keep = !isnan(t->col[vcol[v]].v[i]);
        if (keep)
            rows[n++] = i;
    }
    m->n = n;
    m->n_dropped = t->nrow - n;
    if (n == 0) {
        st = ml_fail(err, ML_EDOM, __FILE__, __LINE__,
                     "no rows left: every one of the %zu rows has a missing value in a column "
                     "the formula uses", t->nrow);
        goto done;
    }

    /* Fitting data. */
    d->n = n;
    d->x = calloc(m->nvars ? m->nvars : 1, sizeof *d->x);
    d->x_owned = calloc(m->nvars ? m->nvars : 1, 1);
    d->y = malloc(n * sizeof *d->y);
    if (!d->x || !d->x_owned || !d->y) {
        st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory for %zu rows", n);
        goto done;
    }
    for (i = 0; i < n; i++) {
        double y = t->col[ycol].v[rows[i]];
        if (!isfinite(y) || !family_y_ok(o->family, y)) {
            st = ml_fail(err, ML_EDOM, __FILE__, __LINE__,
                         "response \"%s\" = %.17g at data row %zu is outside the %s family's "
                         "domain%s", f->response, y, rows[i] + 1, gam_family_name(o->family),
                         o->family == GAM_FAMILY_BINOMIAL ? " [0, 1]"
                         : o->family == GAM_FAMILY_POISSON ? " (y >= 0)"
                         : o->family == GAM_FAMILY_GAMMA ? " (y > 0)" : "");
            goto done;
        }
        d->y[i] = y;
    }
    for (v = 0; v < m->nvars; v++) {
        const struct ml_column *c = &t->col[vcol[v]];
        struct gam_var *gv = &m->vars[v];

        /* A numeric column with every row kept is used in place: a copy
         * would cost a pass and n doubles per variable for nothing. */
        if (!gv->is_factor && n == t->nrow) {
            d->x[v] = c->v;
        } else {
            double *xc = malloc(n * sizeof *xc);
            if (!xc) {
                st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory for %zu rows",
                             n);
                goto done;
            }
            d->x[v] = xc;
            d->x_owned[v] = 1;
            if (!gv->is_factor)
                for (i = 0; i < n; i++)
                    xc[i] = c->v[rows[i]];
        }
        if (gv->is_factor) {
            st = factor_levels(m, d, v, c, rows, err);
            if (st)
                goto done;
        } else {
            /* Two passes (sum, then squared deviations from the mean):
             * as accurate as Welford's update without its division per
             * value. */
            const double *xv = d->x[v];
            double sum = 0.0, m2 = 0.0, mean, lo = INFINITY, hi = -INFINITY;
            for (i = 0; i < n; i++) {
                double x = xv[i];
                if (!isfinite(x)) {
                    st = ml_fail(err, ML_EDOM, __FILE__, __LINE__,
                                 "column \"%s\" has the non-finite value %g at data row %zu",
                                 gv->name, x, rows[i] + 1);
                    goto done;
                }
                sum += x;
                lo = x < lo ? x : lo;
                hi = x > hi ? x : hi;
            }
            mean = sum / (double)n;
            for (i = 0; i < n; i++)
                m2 += (xv[i] - mean) * (xv[i] - mean);
            gv->min = lo;
            gv->max = hi;
            gv->mean = mean;
            gv->sd = n > 1 ? sqrt(m2 / (double)(n - 1)) : 0.0;
        }
    }

    /* Terms: intercept, parametric in formula order, then smooths. */
    {
        struct gam_term tm;
        int have_full_factor = !f->intercept;

        col = 0;
        if (f->intercept) {
            memset(&tm, 0, sizeof tm);
            tm.kind = GAM_TERM_LINEAR;
            tm.label = dupstr("(Intercept)");
            tm.nvar = 0;
            tm.by_var = -1;
            tm.smooth = -1;
            tm.col0 = col;
            tm.ncol = 1;
            if (!tm.label || add_term(m, &tcap, &tm)) {
                free(tm.label);
                st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
                goto done;
            }
            col += 1;
        }
        for (i = 0; i < f->nterms; i++) {
            const struct gam_term_spec *ts = &f->terms[i];
            if (ts->kind != GAM_TERM_LINEAR && ts->kind != GAM_TERM_FACTOR)
                continue;
            memset(&tm, 0, sizeof tm);
            tm.nvar = 1;
            tm.var[0] = var_index(m, &vcap, ts->var[0], term_var_is_factor[i]);
            tm.by_var = -1;
            tm.smooth = -1;
            tm.col0 = col;
            if (term_var_is_factor[i]) {
                char lab[256];
                tm.kind = GAM_TERM_FACTOR;
                tm.first_level = have_full_factor ? 0 : 1;
                have_full_factor = 0;
                tm.ncol = (int)m->vars[tm.var[0]].nlevels - tm.first_level;
                if (ts->kind == GAM_TERM_FACTOR)
                    snprintf(lab, sizeof lab, "%s", ts->label);
                else
                    snprintf(lab, sizeof lab, "%s", ts->var[0]);
                tm.label = dupstr(lab);
            } else {
                tm.kind = GAM_TERM_LINEAR;
                tm.ncol = 1;
                tm.label = dupstr(ts->label);
            }
            if (!tm.label || add_term(m, &tcap, &tm)) {
                free(tm.label);
                st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
                goto done;
            }
            col += tm.ncol;
        }

        /* Smooths. */
        for (i = 0; i < f->nterms; i++)
            if (f->terms[i].kind == GAM_TERM_S || f->terms[i].kind == GAM_TERM_TE)
                nsm++;
        m->smooths = calloc(nsm ? nsm : 1, sizeof *m->smooths);
        if (!m->smooths) {
            st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
            goto done;
        }
        pen = 0;
        for (i = 0; i < f->nterms; i++) {
            const struct gam_term_spec *ts = &f->terms[i];
            struct gam_smooth *sm;
            const double *xs[GAM_MAX_MARGINS];
            int vi[GAM_MAX_MARGINS], nlev = 1, lev, by = -1;

            if (ts->kind != GAM_TERM_S && ts->kind != GAM_TERM_TE)
                continue;
            for (j = 0; j < (size_t)ts->nvar; j++) {
                size_t nu;
                vi[j] = var_index(m, &vcap, ts->var[j], 0);
                xs[j] = d->x[vi[j]];
                nu = count_unique(xs[j], n, (size_t)ts->k[j]);
                if (nu < (size_t)ts->k[j]) {
                    st = ml_fail(err, ML_EINVAL, __FILE__, __LINE__,
                                 "formula term %s: %s has only %zu distinct values in the %zu "
                                 "rows used, fewer than k = %d; lower k", ts->label, ts->var[j],
                                 nu, n, ts->k[j]);
                    goto done;
                }
            }
            sm = &m->smooths[m->nsmooths];
            if (ts->kind == GAM_TERM_S)
                /* The data pass that completes it (column means, ||B||_inf)
                 * is the fit's first pass: gam_finish_pass. */
                st = gam_smooth_ps_init_range(sm, m->vars[vi[0]].min, m->vars[vi[0]].max,
                                              ts->k[0], ts->m1[0], ts->m2[0], err);
            else
                st = gam_smooth_te_init(sm, ts->nvar, xs, n, ts->k, ts->m1, ts->m2, err);
            if (st) {
                ml_err_prefix(err, "formula term %s: ", ts->label);
                goto done;
            }
            m->nsmooths++;
            if (ts->by) {
                by = var_index(m, &vcap, ts->by, 1);
                nlev = (int)m->vars[by].nlevels;
            }
            for (lev = 0; lev < nlev; lev++) {
                char lab[512];

                memset(&tm, 0, sizeof tm);
                tm.kind = ts->kind;
                tm.nvar = ts->nvar;
                for (j = 0; j < (size_t)ts->nvar; j++)
                    tm.var[j] = vi[j];
                tm.by_var = by;
                tm.by_level = lev;
                tm.smooth = (int)m->nsmooths - 1;
                tm.col0 = col;
                tm.ncol = sm->p;
                tm.pen0 = pen;
                tm.npen = sm->npen;
                if (by >= 0)
                    snprintf(lab, sizeof lab, "%s:%s%s", ts->label, ts->by,
                             m->vars[by].levels[lev]);
                else
                    snprintf(lab, sizeof lab, "%s", ts->label);
                tm.label = dupstr(lab);
                if (!tm.label || add_term(m, &tcap, &tm)) {
                    free(tm.label);
                    st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
                    goto done;
                }
                col += sm->p;
                pen += sm->npen;
            }
        }
        m->p = col;
        m->npen = pen;
    }

    /* Null space dimension of the total penalty (section 6): every
     * parametric column plus each smooth copy's null space. */
    m->Mp = 0;
    for (i = 0; i < m->nterms; i++)
        m->Mp += m->terms[i].smooth < 0 ? m->terms[i].ncol
                                        : m->smooths[m->terms[i].smooth].null_dim;
    if ((size_t)m->p > n) {
        st = ml_fail(err, ML_EINVAL, __FILE__, __LINE__,
                     "the model has %d coefficients but only %zu rows are used; lower k or use "
                     "more data", m->p, n);
        goto done;
    }

done:
    free(vcol);
    if (st == ML_OK) {
        d->rows = rows; /* ownership moves to d */
    } else {
        free(rows);
    }
    free(term_var_is_factor);
    return st;
}

void gam_data_free(struct gam_data *d, size_t nvars)
{
    size_t v;

    if (d->x && d->x_owned)
        for (v = 0; v < nvars; v++)
            if (d->x_owned[v])
                free((void *)d->x[v]);
    free(d->x);
    free(d->x_owned);
    free(d->y);
    free(d->w);
    free(d->rows);
    memset(d, 0, sizeof *d);
}

/* ---- column layout and rows ---------------------------------------------- */

static int term_ucols(const struct gam_model *m, const struct gam_term *t)
{
    return t->smooth < 0 ? t->ncol : m->smooths[t->smooth].p_u;
}

int gam_pu(const struct gam_model *m)
{
    size_t i;
    int pu = 0;

    for (i = 0; i < m->nterms; i++)
        pu += term_ucols(m, &m->terms[i]);
    return pu;
}

int gam_term_ucol0(const struct gam_model *m, size_t t)
{
    size_t i;
    int off = 0;

    for (i = 0; i < t; i++)
        off += term_ucols(m, &m->terms[i]);
    return off;
}

int gam_row_max_nnz(const struct gam_model *m)
{
    size_t i;
    int nnz = 0;

    for (i = 0; i < m->nterms; i++) {
        const struct gam_term *t = &m->terms[i];
        if (t->smooth >= 0)
            nnz += m->smooths[t->smooth].nnz;
        else
            nnz += t->kind == GAM_TERM_FACTOR ? 1 : 1;
    }
    return nnz;
}

int gam_row_sparse(const struct gam_model *m, const double *xv, double *vals, int *idx)
{
    size_t i;
    int nnz = 0, off = 0, k;
    double sx[GAM_MAX_MARGINS];

    for (i = 0; i < m->nterms; i++) {
        const struct gam_term *t = &m->terms[i];
        int uc = term_ucols(m, t);

        if (t->smooth >= 0) {
            const struct gam_smooth *sm = &m->smooths[t->smooth];
            if (t->by_var < 0 || (int)xv[t->by_var] == t->by_level) {
                for (k = 0; k < t->nvar; k++)
                    sx[k] = xv[t->var[k]];
                gam_smooth_row(sm, sx, vals + nnz, idx + nnz);
                for (k = 0; k < sm->nnz; k++)
                    idx[nnz + k] += off;
                nnz += sm->nnz;
            }
        } else if (t->kind == GAM_TERM_FACTOR) {
            int lev = (int)xv[t->var[0]];
            if (lev >= t->first_level) {
                vals[nnz] = 1.0;
                idx[nnz] = off + lev - t->first_level;
                nnz++;
            }
        } else {
            vals[nnz] = t->nvar == 0 ? 1.0 : xv[t->var[0]];
            idx[nnz] = off;
            nnz++;
        }
        off += uc;
    }
    return nnz;
}

void gam_row_dense(const struct gam_model *m, const double *xv, double *row, double *work,
                   int *iwork)
{
    int pu = gam_pu(m), nnz, k;
    double *vals = work + pu;

    /* Rows are built sparse, scattered into the unconstrained layout, then
     * mapped through each block's Z. */
    memset(work, 0, (size_t)pu * sizeof *work);
    nnz = gam_row_sparse(m, xv, vals, iwork);
    for (k = 0; k < nnz; k++)
        work[iwork[k]] = vals[k];
    gam_constrain_vector(m, work, row);
}

void gam_constrain_vector(const struct gam_model *m, const double *vu, double *v)
{
    size_t i;
    int uoff = 0;

    for (i = 0; i < m->nterms; i++) {
        const struct gam_term *t = &m->terms[i];
        if (t->smooth >= 0) {
            gam_smooth_Zt_vec(&m->smooths[t->smooth], vu + uoff, v + t->col0);
        } else {
            memcpy(v + t->col0, vu + uoff, (size_t)t->ncol * sizeof *v);
        }
        uoff += term_ucols(m, t);
    }
}

void gam_constrain_matrix(const struct gam_model *m, const double *Au, double *A)
{
    int pu = gam_pu(m), p = m->p, a, b;
    double *tmp = malloc((size_t)pu * (size_t)p * sizeof *tmp);
    double *col = malloc((size_t)pu * sizeof *col);
    double *out = malloc((size_t)p * sizeof *out);

    ML_ASSERT(tmp && col && out);
    /* tmp = Au Zb (pu x p), column by column: column c of Zb applied to the
     * rows of Au is Zb' applied to each row of the symmetric Au. */
    for (a = 0; a < pu; a++) {
        for (b = 0; b < pu; b++)
            col[b] = a <= b ? Au[(size_t)a * pu + b] : Au[(size_t)b * pu + a];
        gam_constrain_vector(m, col, out);
        memcpy(tmp + (size_t)a * p, out, (size_t)p * sizeof *out);
    }
    /* A = Zb' tmp: apply Zb' to each column of tmp. */
    for (b = 0; b < p; b++) {
        for (a = 0; a < pu; a++)
            col[a] = tmp[(size_t)a * p + b];
        gam_constrain_vector(m, col, out);
        for (a = 0; a < p; a++)
            A[(size_t)a * p + b] = out[a];
    }
    free(tmp);
    free(col);
    free(out);
}

void gam_penalty(const struct gam_model *m, int j, int *off, int *size, const double **S)
{
    size_t i;

    for (i = 0; i < m->nterms; i++) {
        const struct gam_term *t = &m->terms[i];
        if (t->smooth >= 0 && j >= t->pen0 && j < t->pen0 + t->npen) {
            *off = t->col0;
            *size = t->ncol;
            *S = m->smooths[t->smooth].S[j - t->pen0];
            return;
        }
    }
    ML_ASSERT(0);
}
