/* gam_h5.c: struct gam_model <-> HDF5 in the layout gam_h5.h documents.
 *
 * Entry points: gam_h5_write and gam_h5_read.
 *
 * The conventions are table_h5.c's: HDF5's automatic error printing is off
 * for the duration of each call (the caller's handler is restored) and its
 * failures become our messages naming the file and the object; the HDF5
 * signature is checked by hand before the library sees the file; writing goes
 * to a temporary name in the target's directory that is fsync'ed and renamed
 * over the target only when complete; object timestamps are off so equal
 * models give byte-identical files.
 *
 * Reading a model is the hostile-input path (a model directory may come from
 * anywhere), so the reader trusts nothing:
 *  - every object is reached through a hard link of a single path component,
 *    checked before it is opened, so soft or external links (which could
 *    loop or open other files) are never followed;
 *  - every attribute and dataset must have exactly the datatype we write
 *    (H5Tequal), so HDF5 never converts a number type described by the file,
 *    and strings must be fixed-length, so HDF5's global heap (whose 1.10.8
 *    decoder over-reads on a corrupt object size; see table_h5.c) is never
 *    decoded;
 *  - shapes are compared with what the already-validated counts imply before
 *    anything is allocated, datasets must be stored uncompressed, and their
 *    declared bytes together must fit in the file, so no size field makes us
 *    allocate more than the file's size;
 *  - the assembled model then goes through check_model, the same structural
 *    checks the writer runs on what it is given: enum codes, index ranges,
 *    column and penalty bookkeeping, knots, finite coefficients.
 *
 * References: HDF5 1.10 C API reference (H5Pset_obj_track_times,
 * H5Pset_libver_bounds, H5Lget_info, H5Tequal); HDF5 File Format
 * Specification 3.0, section II.A (superblock signature). */
#include "gam_h5.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "h5util.h"

#include "table_h5.h"

/* The caps of the formula parser bound what gam_fit can build; a file may
 * not declare more (gam_h5.h lists the file-level caps). */
#define GAM_H5_MAX_S_COLS GAM_FORMULA_MAX_COLS   /* k of one s() */
#define GAM_H5_MAX_TE_COLS GAM_TE_MAX_COLS       /* product of the margin k of one te() */

#define PF_STR_(x) #x
#define PF_STR(x) PF_STR_(x)

/* Attributes per object kept in the object header (HDF5's default is 8, and
 * the root group has 32): one plain list of messages rather than a fractal
 * heap and B-tree per group, which is smaller and leaves less structure for
 * the reader to trust.  A string too long for a header message still goes
 * to dense storage. */
#define GAM_H5_MAX_COMPACT 64

static const char model_kind[] = "gam";

/* mgcv's names for the methods; index = enum gam_method (append only). */
static const char *const method_names[] = {"REML", "GCV.Cp", "fixed"};
#define NMETHODS (sizeof method_names / sizeof method_names[0])

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---------------------------------------------------------------------------
 * Structural checks shared by the writer (on what it is given) and the
 * reader (on what it assembled).  Objects are named as in the file, so a
 * message reads the same whichever side finds the fault. */

struct chk {
    const char *path;
    const char *what;           /* "corrupt model file" or "cannot write an inconsistent model" */
    enum ml_status code;        /* ML_EFORMAT (reader) or ML_EINVAL (writer) */
    struct ml_err *err;
};

static enum ml_status chk_fail(const struct chk *c, int line, const char *fmt, ...)
    ML_ATTR_FORMAT(3, 4);

static enum ml_status chk_fail(const struct chk *c, int line, const char *fmt, ...)
{
    char buf[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return ml_fail(c->err, c->code, __FILE__, line, "%s: %s: %s", c->path, c->what, buf);
}

#define CHK_FAIL(c, ...) return chk_fail((c), __LINE__, __VA_ARGS__)

static enum ml_status chk_str(const struct chk *c, const char *s, const char *obj)
{
    if (!s)
        CHK_FAIL(c, "%s is missing", obj);
    if (strlen(s) > GAM_H5_MAX_STR)
        return ml_fail(c->err, ML_ELIMIT, __FILE__, __LINE__,
                       "%s: %s is %zu bytes long; the limit is %d", c->path, obj, strlen(s),
                       GAM_H5_MAX_STR);
    return ML_OK;
}

static enum ml_status chk_finite(const struct chk *c, const double *x, size_t n, const char *obj)
{
    size_t i;

    if (!x && n > 0)
        CHK_FAIL(c, "%s is missing", obj);
    for (i = 0; i < n; i++)
        if (!isfinite(x[i]))
            CHK_FAIL(c, "%s: element %zu is %g; expected a finite number", obj, i, x[i]);
    return ML_OK;
}

static enum ml_status check_var(const struct chk *c, const struct gam_var *v, size_t vi)
{
    enum ml_status st;
    char obj[64];
    size_t l;

    snprintf(obj, sizeof obj, "/variables/%zu attribute name", vi);
    st = chk_str(c, v->name, obj);
    if (st)
        return st;
    if (!v->name[0])
        CHK_FAIL(c, "%s is empty", obj);
    if (v->is_factor != 0 && v->is_factor != 1)
        CHK_FAIL(c, "/variables/%zu attribute is_factor = %d; expected 0 or 1", vi, v->is_factor);
    if (!v->is_factor) {
        if (v->nlevels != 0)
            CHK_FAIL(c, "/variables/%zu (\"%.100s\") is numeric but has %zu levels", vi, v->name,
                     v->nlevels);
        if (!isfinite(v->min) || !isfinite(v->max) || !(v->min <= v->max))
            CHK_FAIL(c, "/variables/%zu (\"%.100s\"): training range [%g, %g] is not a finite "
                     "interval", vi, v->name, v->min, v->max);
        return ML_OK;
    }
    if (v->nlevels < 1 || v->nlevels > GAM_H5_MAX_LEVELS || !v->levels)
        CHK_FAIL(c, "/variables/%zu (factor \"%.100s\") has %zu levels; expected 1 to %d", vi,
                 v->name, v->nlevels, GAM_H5_MAX_LEVELS);
    for (l = 0; l < v->nlevels; l++) {
        snprintf(obj, sizeof obj, "/variables/%zu/levels[%zu]", vi, l);
        st = chk_str(c, v->levels[l], obj);
        if (st)
            return st;
    }
    /* Prediction maps a level name to its index; a repeated name would make
     * that ambiguous. */
    {
        const char **s = malloc(v->nlevels * sizeof *s);

        if (!s)
            return ml_fail(c->err, ML_ENOMEM, __FILE__, __LINE__, "%s: out of memory", c->path);
        memcpy(s, v->levels, v->nlevels * sizeof *s);
        qsort(s, v->nlevels, sizeof *s, cmp_strp);
        for (l = 1; l < v->nlevels; l++)
            if (strcmp(s[l - 1], s[l]) == 0) {
                st = chk_fail(c, __LINE__, "/variables/%zu/levels (factor \"%.100s\") lists "
                              "level \"%.100s\" twice", vi, v->name, s[l]);
                break;
            }
        free(s);
    }
    return st;
}

static enum ml_status check_smooth(const struct chk *c, const struct gam_smooth *sm, size_t si)
{
    enum ml_status st;
    char obj[64];
    long pu = 1;
    double utu = 0.0;
    int j, a;

    if (sm->kind != GAM_SMOOTH_S && sm->kind != GAM_SMOOTH_TE)
        CHK_FAIL(c, "/smooths/%zu attribute kind = %d is unknown (0 = s, 1 = te; a newer plantfit "
                 "may know it)", si, (int)sm->kind);
    if (sm->kind == GAM_SMOOTH_S ? sm->nmargin != 1
                                 : sm->nmargin < 2 || sm->nmargin > GAM_MAX_MARGINS)
        CHK_FAIL(c, "/smooths/%zu attribute nmargin = %d; expected %s", si, sm->nmargin,
                 sm->kind == GAM_SMOOTH_S ? "1 for s()" : "2 to " PF_STR(GAM_MAX_MARGINS)
                                                          " for te()");
    for (j = 0; j < sm->nmargin; j++) {
        const struct bspl_basis *b = &sm->margin[j];

        if (b->m1 < 0 || b->m1 + 2 > BSPL_MAX_ORDER || b->order != b->m1 + 2)
            CHK_FAIL(c, "/smooths/%zu margin %d: m1 = %d, order = %d; expected 0 <= m1 <= %d "
                     "and order = m1 + 2", si, j, b->m1, b->order, BSPL_MAX_ORDER - 2);
        if (b->k < b->order || b->k > GAM_H5_MAX_S_COLS)
            CHK_FAIL(c, "/smooths/%zu margin %d: k = %d; expected order (%d) <= k <= %d", si, j,
                     b->k, b->order, GAM_H5_MAX_S_COLS);
        if (sm->m2[j] < 0 || sm->m2[j] >= b->k)
            CHK_FAIL(c, "/smooths/%zu margin %d: m2 = %d; expected 0 <= m2 < k = %d", si, j,
                     sm->m2[j], b->k);
        if (!b->knots)
            CHK_FAIL(c, "/smooths/%zu/knots_%d is missing", si, j);
        for (a = 0; a < b->k + b->m1 + 2; a++)
            if (!isfinite(b->knots[a]) || (a > 0 && !(b->knots[a] > b->knots[a - 1])))
                CHK_FAIL(c, "/smooths/%zu/knots_%d: knot %d (%.17g) is not finite or not above "
                         "the one before", si, j, a, b->knots[a]);
        if (!isfinite(b->xl) || !isfinite(b->xu) || !(b->xu > b->xl))
            CHK_FAIL(c, "/smooths/%zu margin %d: data range [%.17g, %.17g] is not a finite "
                     "interval", si, j, b->xl, b->xu);
        if (b->ll != b->knots[b->m1 + 1] || b->ul != b->knots[b->k])
            CHK_FAIL(c, "/smooths/%zu margin %d: ll = %.17g, ul = %.17g; the knots give %.17g "
                     "and %.17g", si, j, b->ll, b->ul, b->knots[b->m1 + 1], b->knots[b->k]);
        pu *= b->k;
        if (pu > (sm->kind == GAM_SMOOTH_S ? GAM_H5_MAX_S_COLS : GAM_H5_MAX_TE_COLS))
            return ml_fail(c->err, ML_ELIMIT, __FILE__, __LINE__,
                           "%s: /smooths/%zu: the basis has more than %d columns", c->path, si,
                           sm->kind == GAM_SMOOTH_S ? GAM_H5_MAX_S_COLS : GAM_H5_MAX_TE_COLS);
        snprintf(obj, sizeof obj, "/smooths/%zu/Ginv_%d", si, j);
        if (sm->kind == GAM_SMOOTH_TE) {
            st = chk_finite(c, sm->Ginv[j], (size_t)b->k * (size_t)b->k, obj);
            if (st)
                return st;
            if (!sm->Ginv[j])
                CHK_FAIL(c, "%s is missing", obj);
        } else if (sm->Ginv[j]) {
            CHK_FAIL(c, "%s is present, but an s() smooth has none", obj);
        }
    }
    if (sm->p_u != pu || sm->p != sm->p_u - 1)
        CHK_FAIL(c, "/smooths/%zu: p_u = %d, p = %d; the margins give p_u = %ld, p = p_u - 1",
                 si, sm->p_u, sm->p, pu);
    if (sm->nnz != (sm->kind == GAM_SMOOTH_S ? sm->margin[0].order : sm->p_u))
        CHK_FAIL(c, "/smooths/%zu attribute nnz = %d; expected %d", si, sm->nnz,
                 sm->kind == GAM_SMOOTH_S ? sm->margin[0].order : sm->p_u);
    if (sm->npen != sm->nmargin)
        CHK_FAIL(c, "/smooths/%zu attribute npen = %d; expected one penalty per margin (%d)", si,
                 sm->npen, sm->nmargin);
    if (sm->null_dim < 0 || sm->null_dim > sm->p)
        CHK_FAIL(c, "/smooths/%zu attribute null_dim = %d; expected 0 to p = %d", si,
                 sm->null_dim, sm->p);
    snprintf(obj, sizeof obj, "/smooths/%zu/u", si);
    st = chk_finite(c, sm->u, (size_t)sm->p_u, obj);
    if (st)
        return st;
    if (!sm->u)
        CHK_FAIL(c, "%s is missing", obj);
    /* u'u as gam_smooth.c computes it; the stored value must agree to
     * rounding (accumulated in a different order, or fused, it may differ by
     * a few ulps per term), else Z would not be the reflector of u. */
    for (a = 0; a < sm->p_u; a++)
        utu += sm->u[a] * sm->u[a];
    if (!(sm->utu > 0.0) || !isfinite(sm->utu) ||
        !(fabs(sm->utu - utu) <= 4.0 * (double)sm->p_u * DBL_EPSILON * utu))
        CHK_FAIL(c, "/smooths/%zu attribute utu = %.17g, but u'u = %.17g", si, sm->utu, utu);
    for (j = 0; j < sm->npen; j++) {
        if (!isfinite(sm->pen_scale[j]) || !(sm->pen_scale[j] > 0.0))
            CHK_FAIL(c, "/smooths/%zu attribute pen_scale[%d] = %g; expected a positive number",
                     si, j, sm->pen_scale[j]);
        snprintf(obj, sizeof obj, "/smooths/%zu/S_u_%d", si, j);
        if (!sm->S_u[j])
            CHK_FAIL(c, "%s is missing", obj);
        st = chk_finite(c, sm->S_u[j], (size_t)sm->p_u * (size_t)sm->p_u, obj);
        if (st)
            return st;
        snprintf(obj, sizeof obj, "/smooths/%zu/S_%d", si, j);
        if (!sm->S[j])
            CHK_FAIL(c, "%s is missing", obj);
        st = chk_finite(c, sm->S[j], (size_t)sm->p * (size_t)sm->p, obj);
        if (st)
            return st;
    }
    return ML_OK;
}

/* Terms against variables and smooths, and the column and penalty
 * bookkeeping gam_predict relies on: blocks in term order, contiguous,
 * covering exactly p columns and npen penalties. */
static enum ml_status check_terms(const struct chk *c, const struct gam_model *m)
{
    long col = 0, pen = 0;
    size_t i;
    int j;

    for (i = 0; i < m->nterms; i++) {
        const struct gam_term *t = &m->terms[i];
        int is_smooth = t->kind == GAM_TERM_S || t->kind == GAM_TERM_TE;
        const struct gam_smooth *sm = NULL;
        char obj[64];
        long want;
        enum ml_status st;

        snprintf(obj, sizeof obj, "/terms/%zu attribute label", i);
        st = chk_str(c, t->label, obj);
        if (st)
            return st;
        if (t->kind < GAM_TERM_LINEAR || t->kind > GAM_TERM_TE)
            CHK_FAIL(c, "/terms/%zu attribute kind = %d is unknown (a newer plantfit may know it)",
                     i, (int)t->kind);
        if (t->kind == GAM_TERM_LINEAR ? t->nvar < 0 || t->nvar > 1
            : t->kind == GAM_TERM_TE   ? t->nvar < 2 || t->nvar > GAM_MAX_MARGINS
                                       : t->nvar != 1)
            CHK_FAIL(c, "/terms/%zu (\"%.100s\") attribute nvar = %d does not fit its kind %d", i,
                     t->label, t->nvar, (int)t->kind);
        /* gam_predict_terms takes a variable-free first term for the intercept. */
        if (t->nvar == 0 && i != 0)
            CHK_FAIL(c, "/terms/%zu (\"%.100s\") has no variable; only term 0 may be the "
                     "intercept", i, t->label);
        for (j = 0; j < t->nvar; j++) {
            if (t->var[j] < 0 || (size_t)t->var[j] >= m->nvars)
                CHK_FAIL(c, "/terms/%zu (\"%.100s\") attribute var[%d] = %d; expected 0 to %zu", i,
                         t->label, j, t->var[j], m->nvars ? m->nvars - 1 : 0);
            if (m->vars[t->var[j]].is_factor != (t->kind == GAM_TERM_FACTOR))
                CHK_FAIL(c, "/terms/%zu (\"%.100s\") uses variable %d (\"%.100s\"), which is %s",
                         i, t->label, t->var[j], m->vars[t->var[j]].name,
                         t->kind == GAM_TERM_FACTOR ? "not a factor" : "a factor");
        }
        if (is_smooth) {
            if (t->smooth < 0 || (size_t)t->smooth >= m->nsmooths)
                CHK_FAIL(c, "/terms/%zu (\"%.100s\") attribute smooth = %d; expected 0 to %zu", i,
                         t->label, t->smooth, m->nsmooths ? m->nsmooths - 1 : 0);
            sm = &m->smooths[t->smooth];
            if ((sm->kind == GAM_SMOOTH_TE) != (t->kind == GAM_TERM_TE) || sm->nmargin != t->nvar)
                CHK_FAIL(c, "/terms/%zu (\"%.100s\") has %d variables but /smooths/%d is a "
                         "%d-margin %s smooth", i, t->label, t->nvar, t->smooth, sm->nmargin,
                         sm->kind == GAM_SMOOTH_TE ? "te()" : "s()");
            if (t->by_var >= 0) {
                const struct gam_var *bv;

                if ((size_t)t->by_var >= m->nvars || !m->vars[t->by_var].is_factor)
                    CHK_FAIL(c, "/terms/%zu (\"%.100s\") attribute by_var = %d is not a factor "
                             "variable", i, t->label, t->by_var);
                bv = &m->vars[t->by_var];
                if (t->by_level < 0 || (size_t)t->by_level >= bv->nlevels)
                    CHK_FAIL(c, "/terms/%zu (\"%.100s\") attribute by_level = %d; factor "
                             "\"%.100s\" has %zu levels", i, t->label, t->by_level, bv->name,
                             bv->nlevels);
            } else if (t->by_var != -1) {
                CHK_FAIL(c, "/terms/%zu (\"%.100s\") attribute by_var = %d; expected -1 or a "
                         "variable index", i, t->label, t->by_var);
            }
        } else {
            if (t->smooth != -1)
                CHK_FAIL(c, "/terms/%zu (\"%.100s\") is parametric but has smooth = %d", i,
                         t->label, t->smooth);
            if (t->by_var != -1)
                CHK_FAIL(c, "/terms/%zu (\"%.100s\") is parametric but has by_var = %d", i,
                         t->label, t->by_var);
        }
        if (t->kind == GAM_TERM_FACTOR) {
            if (t->first_level != 0 && t->first_level != 1)
                CHK_FAIL(c, "/terms/%zu (\"%.100s\") attribute first_level = %d; expected 0 or 1",
                         i, t->label, t->first_level);
            want = (long)m->vars[t->var[0]].nlevels - t->first_level;
        } else {
            want = is_smooth ? sm->p : 1;
        }
        if (t->ncol != want || want < 1)
            CHK_FAIL(c, "/terms/%zu (\"%.100s\") attribute ncol = %d; its %s gives %ld", i,
                     t->label, t->ncol, is_smooth ? "smooth" : "kind", want);
        if (t->col0 != col)
            CHK_FAIL(c, "/terms/%zu (\"%.100s\") attribute col0 = %d; expected %ld (the columns "
                     "of the terms before it)", i, t->label, t->col0, col);
        col += t->ncol;
        if (is_smooth) {
            if (t->npen != sm->npen || t->pen0 != pen)
                CHK_FAIL(c, "/terms/%zu (\"%.100s\") attributes pen0 = %d, npen = %d; expected "
                         "%ld and %d", i, t->label, t->pen0, t->npen, pen, sm->npen);
            pen += t->npen;
        } else if (t->npen != 0) {
            CHK_FAIL(c, "/terms/%zu (\"%.100s\") is parametric but has npen = %d", i, t->label,
                     t->npen);
        }
        if (col > m->p || pen > m->npen)
            break;
    }
    if (col != m->p)
        CHK_FAIL(c, "attribute p = %d, but the terms have %ld columns", m->p, col);
    if (pen != m->npen)
        CHK_FAIL(c, "attribute npen = %d, but the terms have %ld penalties", m->npen, pen);
    return ML_OK;
}

static enum ml_status check_model(const struct chk *c, const struct gam_model *m)
{
    enum ml_status st;
    size_t i;

    if (m->nvars > GAM_H5_MAX_COUNT || m->nterms > GAM_H5_MAX_COUNT ||
        m->nsmooths > GAM_H5_MAX_COUNT || m->p > GAM_H5_MAX_P)
        return ml_fail(c->err, ML_ELIMIT, __FILE__, __LINE__,
                       "%s: the model has %zu variables, %zu terms, %zu smooths and %d "
                       "coefficients; the limits are %d, %d, %d and %d", c->path, m->nvars,
                       m->nterms, m->nsmooths, m->p, GAM_H5_MAX_COUNT, GAM_H5_MAX_COUNT,
                       GAM_H5_MAX_COUNT, GAM_H5_MAX_P);
    if (m->nterms < 1 || m->p < 1 || (m->nvars && !m->vars) || !m->terms ||
        (m->nsmooths && !m->smooths))
        CHK_FAIL(c, "the model has %zu terms and %d coefficients; expected at least one each",
                 m->nterms, m->p);
    if (m->npen < 0 || m->npen > m->p || m->Mp < 0 || m->Mp > m->p)
        CHK_FAIL(c, "attributes npen = %d, Mp = %d; expected 0 to p = %d", m->npen, m->Mp, m->p);
    if ((int)m->family < 0 || (int)m->family > GAM_FAMILY_GAMMA)
        CHK_FAIL(c, "attribute family_code = %d is unknown (a newer plantfit may know it)",
                 (int)m->family);
    if ((int)m->link < 0 || (int)m->link > GAM_LINK_INVERSE)
        CHK_FAIL(c, "attribute link_code = %d is unknown (a newer plantfit may know it)",
                 (int)m->link);
    if (!gam_link_valid(m->family, m->link))
        CHK_FAIL(c, "link \"%s\" is not valid for family \"%s\"", gam_link_name(m->link),
                 gam_family_name(m->family));
    if ((int)m->method < 0 || (size_t)m->method >= NMETHODS)
        CHK_FAIL(c, "attribute method_code = %d is unknown (a newer plantfit may know it)",
                 (int)m->method);
    if (m->converged != 0 && m->converged != 1)
        CHK_FAIL(c, "attribute converged = %d; expected 0 or 1", m->converged);
    if (memchr(m->convergence_msg, '\0', sizeof m->convergence_msg) == NULL)
        CHK_FAIL(c, "attribute convergence_msg is not a string of at most %zu bytes",
                 sizeof m->convergence_msg - 1);
    st = chk_str(c, m->formula, "attribute formula");
    if (!st)
        st = chk_str(c, m->response, "attribute response");
    for (i = 0; i < m->nvars && !st; i++)
        st = check_var(c, &m->vars[i], i);
    for (i = 0; i < m->nvars && !st; i++) {
        size_t k;

        for (k = 0; k < i; k++)
            if (m->vars[k].is_factor == m->vars[i].is_factor &&
                strcmp(m->vars[k].name, m->vars[i].name) == 0)
                CHK_FAIL(c, "/variables/%zu and /variables/%zu are both the %s variable "
                         "\"%.100s\"", k, i, m->vars[i].is_factor ? "factor" : "numeric",
                         m->vars[i].name);
    }
    for (i = 0; i < m->nsmooths && !st; i++)
        st = check_smooth(c, &m->smooths[i], i);
    if (!st)
        st = check_terms(c, m);
    if (!st)
        st = chk_finite(c, m->beta, (size_t)m->p, "dataset /coefficients");
    if (!st)
        st = chk_finite(c, m->Vp, (size_t)m->p * (size_t)m->p, "dataset /Vp");
    if (!st && !m->edf)
        CHK_FAIL(c, "dataset /edf is missing");
    if (!st && m->npen > 0 && !m->lambda)
        CHK_FAIL(c, "dataset /lambda is missing");
    for (i = 0; !st && i < (size_t)m->npen; i++)
        if (isnan(m->lambda[i]) || m->lambda[i] < 0.0)
            CHK_FAIL(c, "dataset /lambda: element %zu is %g; expected >= 0", i, m->lambda[i]);
    return st;
}

/* ---------------------------------------------------------------------------
 * Writing. */

struct wr {
    const char *path;       /* final name, for messages */
    hid_t file;
    hid_t gcpl, dcpl;       /* timestamps off */
    struct ml_err *err;
};

/* Attribute `name` of `obj` (`where` in messages): n values of mtype stored
 * as ftype; scalar if n < 0, a null dataspace if n == 0. */
static enum ml_status w_attr(struct wr *w, hid_t obj, const char *where, const char *name,
                             hid_t ftype, hid_t mtype, long n, const void *buf)
{
    hid_t space, attr;
    hsize_t dims[1];
    herr_t rc;

    dims[0] = n > 0 ? (hsize_t)n : 0;
    space = n < 0 ? H5Screate(H5S_SCALAR) : n == 0 ? H5Screate(H5S_NULL)
                                                   : H5Screate_simple(1, dims, NULL);
    if (space < 0)
        ML_FAIL(w->err, ML_EIO, "%s: cannot create attribute %s of %s", w->path, name, where);
    attr = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    rc = attr < 0 ? -1 : n != 0 ? H5Awrite(attr, mtype, buf) : 0;
    if (attr >= 0 && H5Aclose(attr) < 0)
        rc = -1;
    H5Sclose(space);
    if (rc < 0)
        ML_FAIL(w->err, ML_EIO, "%s: cannot write attribute %s of %s", w->path, name, where);
    return ML_OK;
}

static enum ml_status w_int(struct wr *w, hid_t obj, const char *where, const char *name, long v)
{
    int32_t x = (int32_t)v;

    return w_attr(w, obj, where, name, H5T_STD_I32LE, H5T_NATIVE_INT32, -1, &x);
}

static enum ml_status w_i64(struct wr *w, hid_t obj, const char *where, const char *name,
                            uint64_t v)
{
    int64_t x = (int64_t)v;

    return w_attr(w, obj, where, name, H5T_STD_I64LE, H5T_NATIVE_INT64, -1, &x);
}

static enum ml_status w_f64(struct wr *w, hid_t obj, const char *where, const char *name,
                            double v)
{
    return w_attr(w, obj, where, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, -1, &v);
}

static enum ml_status w_ints(struct wr *w, hid_t obj, const char *where, const char *name,
                             const int *v, int n)
{
    int32_t x[GAM_MAX_MARGINS];
    int i;

    for (i = 0; i < n; i++)
        x[i] = (int32_t)v[i];
    return w_attr(w, obj, where, name, H5T_STD_I32LE, H5T_NATIVE_INT32, n, x);
}

static enum ml_status w_f64s(struct wr *w, hid_t obj, const char *where, const char *name,
                             const double *v, int n)
{
    return w_attr(w, obj, where, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, n, v);
}

/* A fixed-length string type for strings of up to `len` bytes. */
static hid_t str_type(size_t len)
{
    hid_t t = H5Tcopy(H5T_C_S1);

    if (t >= 0 && (H5Tset_size(t, len + 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0 ||
                   H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
        H5Tclose(t);
        t = H5I_INVALID_HID;
    }
    return t;
}

static enum ml_status w_str(struct wr *w, hid_t obj, const char *where, const char *name,
                            const char *s)
{
    enum ml_status st;
    hid_t t = str_type(strlen(s));

    if (t < 0)
        ML_FAIL(w->err, ML_EIO, "%s: cannot create a string type for attribute %s of %s",
                w->path, name, where);
    st = w_attr(w, obj, where, name, t, t, -1, s);
    H5Tclose(t);
    return st;
}

/* Dataset `name` in `loc`: rank 1 or 2 array of doubles. */
static enum ml_status w_dset(struct wr *w, hid_t loc, const char *where, const char *name,
                             int rank, size_t d0, size_t d1, const double *v)
{
    hid_t space, dset;
    hsize_t dims[2];
    herr_t rc;

    dims[0] = d0;
    dims[1] = d1;
    space = H5Screate_simple(rank, dims, NULL);
    dset = space >= 0 ? H5Dcreate2(loc, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, w->dcpl,
                                   H5P_DEFAULT)
                      : H5I_INVALID_HID;
    rc = dset < 0 ? -1
         : d0 * (rank == 2 ? d1 : 1) > 0
             ? H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v)
             : 0;
    if (dset >= 0 && H5Dclose(dset) < 0)
        rc = -1;
    if (space >= 0)
        H5Sclose(space);
    if (rc < 0)
        ML_FAIL(w->err, ML_EIO, "%s: cannot write dataset %s%s", w->path, where, name);
    return ML_OK;
}

/* Dataset `name` in `loc`: n fixed-length strings, as wide as the longest.
 * The buffer is zeroed so the padding bytes written are always the same. */
static enum ml_status w_strs(struct wr *w, hid_t loc, const char *where, const char *name,
                             char *const *s, size_t n)
{
    size_t width = 0, i;
    hid_t t, space, dset = H5I_INVALID_HID;
    hsize_t dims[1];
    char *buf;
    herr_t rc = -1;

    for (i = 0; i < n; i++)
        if (strlen(s[i]) > width)
            width = strlen(s[i]);
    buf = calloc(n ? n : 1, width + 1);
    if (!buf)
        ML_FAIL(w->err, ML_ENOMEM, "%s: out of memory writing dataset %s%s", w->path, where,
                name);
    for (i = 0; i < n; i++)
        memcpy(buf + i * (width + 1), s[i], strlen(s[i]));
    dims[0] = n;
    t = str_type(width);
    space = H5Screate_simple(1, dims, NULL);
    if (t >= 0 && space >= 0)
        dset = H5Dcreate2(loc, name, t, space, H5P_DEFAULT, w->dcpl, H5P_DEFAULT);
    if (dset >= 0)
        rc = n ? H5Dwrite(dset, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) : 0;
    if (dset >= 0 && H5Dclose(dset) < 0)
        rc = -1;
    if (space >= 0)
        H5Sclose(space);
    if (t >= 0)
        H5Tclose(t);
    free(buf);
    if (rc < 0)
        ML_FAIL(w->err, ML_EIO, "%s: cannot write dataset %s%s", w->path, where, name);
    return ML_OK;
}

static hid_t w_group(struct wr *w, hid_t loc, const char *name)
{
    return H5Gcreate2(loc, name, H5P_DEFAULT, w->gcpl, H5P_DEFAULT);
}

static enum ml_status write_root(struct wr *w, const struct gam_model *m)
{
    hid_t f = w->file;
    const char *r = "the root group";
    enum ml_status st;

    st = w_str(w, f, r, "plantfit_model", model_kind);
    if (!st)
        st = w_int(w, f, r, "format_version", GAM_H5_FORMAT_VERSION);
    if (!st)
        st = w_int(w, f, r, "format_minor", GAM_H5_FORMAT_MINOR);
    if (!st)
        st = w_str(w, f, r, "formula", m->formula);
    if (!st)
        st = w_str(w, f, r, "response", m->response);
    if (!st)
        st = w_str(w, f, r, "family", gam_family_name(m->family));
    if (!st)
        st = w_str(w, f, r, "link", gam_link_name(m->link));
    if (!st)
        st = w_str(w, f, r, "method", method_names[m->method]);
    if (!st)
        st = w_int(w, f, r, "family_code", (long)m->family);
    if (!st)
        st = w_int(w, f, r, "link_code", (long)m->link);
    if (!st)
        st = w_int(w, f, r, "method_code", (long)m->method);
    if (!st)
        st = w_i64(w, f, r, "n", (uint64_t)m->n);
    if (!st)
        st = w_i64(w, f, r, "n_dropped", (uint64_t)m->n_dropped);
    if (!st)
        st = w_int(w, f, r, "p", m->p);
    if (!st)
        st = w_int(w, f, r, "npen", m->npen);
    if (!st)
        st = w_int(w, f, r, "Mp", m->Mp);
    if (!st)
        st = w_int(w, f, r, "nvars", (long)m->nvars);
    if (!st)
        st = w_int(w, f, r, "nterms", (long)m->nterms);
    if (!st)
        st = w_int(w, f, r, "nsmooths", (long)m->nsmooths);
    if (!st)
        st = w_f64(w, f, r, "edf_total", m->edf_total);
    if (!st)
        st = w_f64(w, f, r, "scale", m->scale);
    if (!st)
        st = w_f64(w, f, r, "reml_scale", m->reml_scale);
    if (!st)
        st = w_f64(w, f, r, "score", m->score);
    if (!st)
        st = w_f64(w, f, r, "deviance", m->deviance);
    if (!st)
        st = w_f64(w, f, r, "null_deviance", m->null_deviance);
    if (!st)
        st = w_f64(w, f, r, "dev_explained", m->dev_explained);
    if (!st)
        st = w_f64(w, f, r, "r2_adj", m->r2_adj);
    if (!st)
        st = w_int(w, f, r, "iterations", m->iterations);
    if (!st)
        st = w_int(w, f, r, "converged", m->converged);
    if (!st)
        st = w_str(w, f, r, "convergence_msg", m->convergence_msg);
    if (!st)
        st = w_dset(w, f, "/", "coefficients", 1, (size_t)m->p, 0, m->beta);
    if (!st)
        st = w_dset(w, f, "/", "Vp", 2, (size_t)m->p, (size_t)m->p, m->Vp);
    if (!st)
        st = w_dset(w, f, "/", "edf", 1, (size_t)m->p, 0, m->edf);
    if (!st)
        st = w_dset(w, f, "/", "lambda", 1, (size_t)m->npen, 0, m->lambda);
    return st;
}

static enum ml_status write_var(struct wr *w, hid_t g, const struct gam_var *v, const char *where)
{
    enum ml_status st;
    char dwhere[64];

    st = w_str(w, g, where, "name", v->name);
    if (!st)
        st = w_int(w, g, where, "is_factor", v->is_factor);
    if (!st)
        st = w_f64(w, g, where, "min", v->min);
    if (!st)
        st = w_f64(w, g, where, "max", v->max);
    if (!st)
        st = w_f64(w, g, where, "mean", v->mean);
    if (!st)
        st = w_f64(w, g, where, "sd", v->sd);
    snprintf(dwhere, sizeof dwhere, "%s/", where);
    if (!st && v->is_factor)
        st = w_strs(w, g, dwhere, "levels", v->levels, v->nlevels);
    return st;
}

static enum ml_status write_term(struct wr *w, hid_t g, const struct gam_term *t,
                                 const char *where)
{
    enum ml_status st;

    st = w_int(w, g, where, "kind", (long)t->kind);
    if (!st)
        st = w_str(w, g, where, "label", t->label);
    if (!st)
        st = w_int(w, g, where, "nvar", t->nvar);
    if (!st)
        st = w_ints(w, g, where, "var", t->var, t->nvar);
    if (!st)
        st = w_int(w, g, where, "by_var", t->by_var);
    if (!st)
        st = w_int(w, g, where, "by_level", t->by_level);
    if (!st)
        st = w_int(w, g, where, "smooth", t->smooth);
    if (!st)
        st = w_int(w, g, where, "col0", t->col0);
    if (!st)
        st = w_int(w, g, where, "ncol", t->ncol);
    if (!st)
        st = w_int(w, g, where, "pen0", t->pen0);
    if (!st)
        st = w_int(w, g, where, "npen", t->npen);
    if (!st)
        st = w_int(w, g, where, "first_level", t->first_level);
    if (!st)
        st = w_f64(w, g, where, "edf", t->edf);
    return st;
}

static enum ml_status write_smooth(struct wr *w, hid_t g, const struct gam_smooth *sm,
                                   const char *where)
{
    int k[GAM_MAX_MARGINS], m1[GAM_MAX_MARGINS], order[GAM_MAX_MARGINS];
    double xl[GAM_MAX_MARGINS], xu[GAM_MAX_MARGINS], ll[GAM_MAX_MARGINS], ul[GAM_MAX_MARGINS];
    enum ml_status st;
    char dwhere[64], name[32];
    int j, nm = sm->nmargin;

    for (j = 0; j < nm; j++) {
        k[j] = sm->margin[j].k;
        m1[j] = sm->margin[j].m1;
        order[j] = sm->margin[j].order;
        xl[j] = sm->margin[j].xl;
        xu[j] = sm->margin[j].xu;
        ll[j] = sm->margin[j].ll;
        ul[j] = sm->margin[j].ul;
    }
    st = w_int(w, g, where, "kind", (long)sm->kind);
    if (!st)
        st = w_int(w, g, where, "nmargin", nm);
    if (!st)
        st = w_int(w, g, where, "p_u", sm->p_u);
    if (!st)
        st = w_int(w, g, where, "p", sm->p);
    if (!st)
        st = w_int(w, g, where, "nnz", sm->nnz);
    if (!st)
        st = w_int(w, g, where, "null_dim", sm->null_dim);
    if (!st)
        st = w_int(w, g, where, "npen", sm->npen);
    if (!st)
        st = w_f64s(w, g, where, "pen_scale", sm->pen_scale, sm->npen);
    if (!st)
        st = w_f64(w, g, where, "utu", sm->utu);
    if (!st)
        st = w_ints(w, g, where, "k", k, nm);
    if (!st)
        st = w_ints(w, g, where, "m1", m1, nm);
    if (!st)
        st = w_ints(w, g, where, "order", order, nm);
    if (!st)
        st = w_ints(w, g, where, "m2", sm->m2, nm);
    if (!st)
        st = w_f64s(w, g, where, "xl", xl, nm);
    if (!st)
        st = w_f64s(w, g, where, "xu", xu, nm);
    if (!st)
        st = w_f64s(w, g, where, "ll", ll, nm);
    if (!st)
        st = w_f64s(w, g, where, "ul", ul, nm);
    snprintf(dwhere, sizeof dwhere, "%s/", where);
    if (!st)
        st = w_dset(w, g, dwhere, "u", 1, (size_t)sm->p_u, 0, sm->u);
    for (j = 0; j < nm && !st; j++) {
        snprintf(name, sizeof name, "knots_%d", j);
        st = w_dset(w, g, dwhere, name, 1, (size_t)(k[j] + m1[j] + 2), 0, sm->margin[j].knots);
        if (!st && sm->kind == GAM_SMOOTH_TE) {
            snprintf(name, sizeof name, "Ginv_%d", j);
            st = w_dset(w, g, dwhere, name, 2, (size_t)k[j], (size_t)k[j], sm->Ginv[j]);
        }
    }
    for (j = 0; j < sm->npen && !st; j++) {
        snprintf(name, sizeof name, "S_u_%d", j);
        st = w_dset(w, g, dwhere, name, 2, (size_t)sm->p_u, (size_t)sm->p_u, sm->S_u[j]);
        if (!st) {
            snprintf(name, sizeof name, "S_%d", j);
            st = w_dset(w, g, dwhere, name, 2, (size_t)sm->p, (size_t)sm->p, sm->S[j]);
        }
    }
    return st;
}

/* /<group>/<i> for i < n, filled by fn. */
enum item_kind { ITEM_VAR, ITEM_TERM, ITEM_SMOOTH };

static enum ml_status write_groups(struct wr *w, const struct gam_model *m, const char *gname,
                                   enum item_kind kind, size_t n)
{
    enum ml_status st = ML_OK;
    hid_t top, g;
    char name[32], where[64];
    size_t i;

    top = w_group(w, w->file, gname);
    if (top < 0)
        ML_FAIL(w->err, ML_EIO, "%s: cannot create group /%s", w->path, gname);
    for (i = 0; i < n && !st; i++) {
        snprintf(name, sizeof name, "%zu", i);
        snprintf(where, sizeof where, "/%s/%zu", gname, i);
        g = w_group(w, top, name);
        if (g < 0) {
            st = ml_fail(w->err, ML_EIO, __FILE__, __LINE__, "%s: cannot create group %s",
                         w->path, where);
            break;
        }
        if (kind == ITEM_VAR)
            st = write_var(w, g, &m->vars[i], where);
        else if (kind == ITEM_TERM)
            st = write_term(w, g, &m->terms[i], where);
        else
            st = write_smooth(w, g, &m->smooths[i], where);
        if (H5Gclose(g) < 0 && !st)
            st = ml_fail(w->err, ML_EIO, __FILE__, __LINE__, "%s: cannot write group %s",
                         w->path, where);
    }
    if (H5Gclose(top) < 0 && !st)
        st = ml_fail(w->err, ML_EIO, __FILE__, __LINE__, "%s: cannot write group /%s", w->path,
                     gname);
    return st;
}

enum ml_status gam_h5_write(const char *path, const struct gam_model *m, struct ml_err *err)
{
    struct chk c = {path, "cannot write an inconsistent model", ML_EINVAL, err};
    enum ml_status st;
    struct h5u_quiet q;
    struct wr w;
    hid_t fcpl = H5I_INVALID_HID, fapl = H5I_INVALID_HID;
    char tmp[4096];

    if (!path || !m)
        ML_FAIL(err, ML_EINVAL, "gam_h5_write: no %s given", path ? "model" : "path");
    st = check_model(&c, m);
    if (st)
        return st;
    st = h5u_temp_create(path, tmp, sizeof tmp, err);
    if (st)
        return st;

    memset(&w, 0, sizeof w);
    w.path = path;
    w.err = err;
    w.file = H5I_INVALID_HID;
    h5u_quiet_begin(&q);
    fcpl = H5Pcreate(H5P_FILE_CREATE);
    fapl = H5Pcreate(H5P_FILE_ACCESS);
    w.gcpl = H5Pcreate(H5P_GROUP_CREATE);
    w.dcpl = H5Pcreate(H5P_DATASET_CREATE);
    /* Timestamps off on every object (the root group takes them from the
     * fcpl), or two writes of one model would differ.  Library format 1.8:
     * readable by any HDF5 >= 1.8, and a string attribute longer than the
     * 64 KiB of a compact object-header message (a long variable name) goes
     * to dense storage instead of failing. */
    if (fcpl < 0 || fapl < 0 || w.gcpl < 0 || w.dcpl < 0 || H5Pset_obj_track_times(fcpl, 0) < 0 ||
        H5Pset_obj_track_times(w.gcpl, 0) < 0 || H5Pset_obj_track_times(w.dcpl, 0) < 0 ||
        H5Pset_attr_phase_change(fcpl, GAM_H5_MAX_COMPACT, GAM_H5_MAX_COMPACT / 2) < 0 ||
        H5Pset_attr_phase_change(w.gcpl, GAM_H5_MAX_COMPACT, GAM_H5_MAX_COMPACT / 2) < 0 ||
        H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) < 0) {
        st = ml_fail(err, ML_EINTERNAL, __FILE__, __LINE__,
                     "%s: cannot set up HDF5 property lists", path);
        goto cleanup;
    }
#if H5_VERSION_GE(1, 10, 7)
    /* Nobody else knows the temporary name, so a lock protects nothing. */
    H5Pset_file_locking(fapl, 0, 1);
#endif
    w.file = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, fapl);
    if (w.file < 0) {
        st = ml_fail(err, ML_EIO, __FILE__, __LINE__, "%s: cannot create an HDF5 file", path);
        goto cleanup;
    }
    st = write_root(&w, m);
    if (!st)
        st = write_groups(&w, m, "variables", ITEM_VAR, m->nvars);
    if (!st)
        st = write_groups(&w, m, "terms", ITEM_TERM, m->nterms);
    if (!st)
        st = write_groups(&w, m, "smooths", ITEM_SMOOTH, m->nsmooths);
cleanup:
    if (w.file >= 0 && H5Fclose(w.file) < 0 && !st)
        st = ml_fail(err, ML_EIO, __FILE__, __LINE__, "%s: error finishing the HDF5 file", path);
    if (w.dcpl >= 0)
        H5Pclose(w.dcpl);
    if (w.gcpl >= 0)
        H5Pclose(w.gcpl);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (fcpl >= 0)
        H5Pclose(fcpl);
    h5u_quiet_end(&q);
    return h5u_temp_finish(tmp, path, st, err);
}

/* ---------------------------------------------------------------------------
 * Reading. */

struct rd {
    const char *path;
    hid_t file;
    uint64_t file_size;     /* bytes, from fstat */
    uint64_t budget;        /* bytes the datasets may still declare */
    struct ml_err *err;
};

static enum ml_status rd_corrupt(struct rd *r, int line, const char *obj, const char *fmt, ...)
    ML_ATTR_FORMAT(4, 5);

/* "<path>: corrupt model file: <obj>: <reason>". */
static enum ml_status rd_corrupt(struct rd *r, int line, const char *obj, const char *fmt, ...)
{
    char buf[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return ml_fail(r->err, ML_EFORMAT, __FILE__, line, "%s: corrupt model file: %s: %s", r->path,
                   obj, buf);
}

#define CORRUPT(r, obj, ...) return rd_corrupt((r), __LINE__, (obj), __VA_ARGS__)

/* Open `name` (one path component) in `loc`, which must be a hard link to an
 * object of `type`.  `obj` is the child's full name, for messages. */
static enum ml_status open_child(struct rd *r, hid_t loc, const char *name, const char *obj,
                                 H5I_type_t type, hid_t *out)
{
    H5L_info_t li;
    htri_t ex;
    hid_t id;

    *out = H5I_INVALID_HID;
    ex = H5Lexists(loc, name, H5P_DEFAULT);
    if (ex < 0)
        CORRUPT(r, obj, "cannot look it up");
    if (ex == 0)
        CORRUPT(r, obj, "%s is missing", type == H5I_GROUP ? "group" : "dataset");
    if (H5Lget_info(loc, name, &li, H5P_DEFAULT) < 0)
        CORRUPT(r, obj, "cannot read its link");
    /* Soft and external links are refused, not followed: they could loop
     * or open another file. */
    if (li.type != H5L_TYPE_HARD)
        CORRUPT(r, obj, "not a plain (hard) link");
    id = H5Oopen(loc, name, H5P_DEFAULT);
    if (id < 0)
        CORRUPT(r, obj, "cannot open it");
    if (H5Iget_type(id) != type) {
        H5Oclose(id);
        CORRUPT(r, obj, "is not a %s", type == H5I_GROUP ? "group" : "dataset");
    }
    *out = id;
    return ML_OK;
}

/* Elements of a dataspace of rank <= 1 (null: 0, scalar: -1). */
static enum ml_status space_len(struct rd *r, hid_t space, const char *obj, long long *n)
{
    H5S_class_t cls = H5Sget_simple_extent_type(space);
    hsize_t dims[1];

    if (cls == H5S_NULL) {
        *n = 0;
        return ML_OK;
    }
    if (cls == H5S_SCALAR) {
        *n = -1;
        return ML_OK;
    }
    if (cls != H5S_SIMPLE || H5Sget_simple_extent_ndims(space) != 1 ||
        H5Sget_simple_extent_dims(space, dims, NULL) < 0)
        CORRUPT(r, obj, "not a scalar or a 1-D array");
    if (dims[0] > GAM_H5_MAX_LEVELS)
        ML_FAIL(r->err, ML_ELIMIT, "%s: %s: %llu elements, more than the limit of %d", r->path,
                obj, (unsigned long long)dims[0], GAM_H5_MAX_LEVELS);
    *n = (long long)dims[0];
    return ML_OK;
}

enum num_type { NUM_I32, NUM_I64, NUM_F64 };

/* Attribute `name` of `obj` (named `on`): n numbers of exactly the file type
 * `nt` (n < 0: a scalar), into out (int32_t, int64_t or double). */
static enum ml_status a_num(struct rd *r, hid_t obj, const char *on, const char *name,
                            enum num_type nt, long n, void *out)
{
    static const char *const tname[] = {"int32", "int64", "float64"};
    enum ml_status st = ML_OK;
    hid_t attr = H5I_INVALID_HID, ftype = H5I_INVALID_HID, space = H5I_INVALID_HID;
    hid_t want = nt == NUM_I32 ? H5T_STD_I32LE : nt == NUM_I64 ? H5T_STD_I64LE : H5T_IEEE_F64LE;
    hid_t mem = nt == NUM_I32   ? H5T_NATIVE_INT32
                : nt == NUM_I64 ? H5T_NATIVE_INT64
                                : H5T_NATIVE_DOUBLE;
    char what[160];
    long long len;
    htri_t ex;

    snprintf(what, sizeof what, "%s attribute %s", on, name);
    ex = H5Aexists(obj, name);
    if (ex < 0)
        CORRUPT(r, what, "cannot read the attributes");
    if (ex == 0)
        CORRUPT(r, what, "missing");
    attr = H5Aopen(obj, name, H5P_DEFAULT);
    ftype = attr >= 0 ? H5Aget_type(attr) : H5I_INVALID_HID;
    space = attr >= 0 ? H5Aget_space(attr) : H5I_INVALID_HID;
    if (attr < 0 || ftype < 0 || space < 0) {
        st = rd_corrupt(r, __LINE__, what, "cannot open it");
        goto cleanup;
    }
    if (H5Tequal(ftype, want) <= 0) {
        st = rd_corrupt(r, __LINE__, what, "not of type %s (little-endian)", tname[nt]);
        goto cleanup;
    }
    st = space_len(r, space, what, &len);
    if (st)
        goto cleanup;
    if (n < 0 ? len != -1 : len != n) {
        if (n < 0)
            st = rd_corrupt(r, __LINE__, what, "not a single value");
        else if (len < 0)
            st = rd_corrupt(r, __LINE__, what, "a single value; expected an array of %ld", n);
        else
            st = rd_corrupt(r, __LINE__, what, "%lld values; expected %ld", len, n);
        goto cleanup;
    }
    if (n != 0 && H5Aread(attr, mem, out) < 0)
        st = rd_corrupt(r, __LINE__, what, "cannot read it");
cleanup:
    if (space >= 0)
        H5Sclose(space);
    if (ftype >= 0)
        H5Tclose(ftype);
    if (attr >= 0)
        H5Aclose(attr);
    return st;
}

/* A scalar int32 attribute that must lie in [lo, hi]. */
static enum ml_status a_int(struct rd *r, hid_t obj, const char *on, const char *name, long lo,
                            long hi, int *out)
{
    enum ml_status st;
    int32_t v;

    st = a_num(r, obj, on, name, NUM_I32, -1, &v);
    if (st)
        return st;
    if (v < lo || v > hi) {
        char what[160];

        snprintf(what, sizeof what, "%s attribute %s", on, name);
        CORRUPT(r, what, "%ld is out of range [%ld, %ld]", (long)v, lo, hi);
    }
    *out = (int)v;
    return ML_OK;
}

static enum ml_status a_f64(struct rd *r, hid_t obj, const char *on, const char *name,
                            double *out)
{
    return a_num(r, obj, on, name, NUM_F64, -1, out);
}

/* A scalar fixed-length string attribute of at most GAM_H5_MAX_STR bytes;
 * *out is malloc'd. */
static enum ml_status a_str(struct rd *r, hid_t obj, const char *on, const char *name,
                            char **out)
{
    enum ml_status st = ML_OK;
    hid_t attr = H5I_INVALID_HID, ftype = H5I_INVALID_HID, space = H5I_INVALID_HID;
    char what[160], *buf = NULL;
    long long len;
    size_t size;
    htri_t ex;

    *out = NULL;
    snprintf(what, sizeof what, "%s attribute %s", on, name);
    ex = H5Aexists(obj, name);
    if (ex < 0)
        CORRUPT(r, what, "cannot read the attributes");
    if (ex == 0)
        CORRUPT(r, what, "missing");
    attr = H5Aopen(obj, name, H5P_DEFAULT);
    ftype = attr >= 0 ? H5Aget_type(attr) : H5I_INVALID_HID;
    space = attr >= 0 ? H5Aget_space(attr) : H5I_INVALID_HID;
    if (attr < 0 || ftype < 0 || space < 0) {
        st = rd_corrupt(r, __LINE__, what, "cannot open it");
        goto cleanup;
    }
    if (H5Tget_class(ftype) != H5T_STRING) {
        st = rd_corrupt(r, __LINE__, what, "not a string");
        goto cleanup;
    }
    if (H5Tis_variable_str(ftype) != 0) {
        st = rd_corrupt(r, __LINE__, what,
                        "a variable-length string (model files hold fixed-length strings)");
        goto cleanup;
    }
    st = space_len(r, space, what, &len);
    if (st)
        goto cleanup;
    if (len != -1) {
        st = rd_corrupt(r, __LINE__, what, "not a single string");
        goto cleanup;
    }
    size = H5Tget_size(ftype);
    /* Attribute data is stored uncompressed, so it cannot exceed the file. */
    if (size == 0 || size > r->file_size) {
        st = rd_corrupt(r, __LINE__, what, "declares a string of %zu bytes", size);
        goto cleanup;
    }
    if (size > GAM_H5_MAX_STR + 1) {
        st = ml_fail(r->err, ML_ELIMIT, __FILE__, __LINE__,
                     "%s: %s: a string of %zu bytes, more than the limit of %d", r->path, what,
                     size - 1, GAM_H5_MAX_STR);
        goto cleanup;
    }
    buf = malloc(size + 1);
    if (!buf) {
        st = ml_fail(r->err, ML_ENOMEM, __FILE__, __LINE__, "%s: out of memory reading %s",
                     r->path, what);
        goto cleanup;
    }
    /* The file type is a valid memory type for a string (no byte order). */
    if (H5Aread(attr, ftype, buf) < 0) {
        st = rd_corrupt(r, __LINE__, what, "cannot read it");
        goto cleanup;
    }
    buf[size] = '\0';
    *out = buf;
    buf = NULL;
cleanup:
    free(buf);
    if (space >= 0)
        H5Sclose(space);
    if (ftype >= 0)
        H5Tclose(ftype);
    if (attr >= 0)
        H5Aclose(attr);
    return st;
}

/* Check dataset `dset` (named `obj`) is stored plainly: contiguous or
 * compact, no filters.  We write nothing else, and uncompressed data cannot
 * declare more bytes than the file holds. */
static enum ml_status d_layout(struct rd *r, hid_t dset, const char *obj)
{
    hid_t dcpl = H5Dget_create_plist(dset);
    H5D_layout_t lay;
    int nf;

    if (dcpl < 0)
        CORRUPT(r, obj, "cannot read its storage properties");
    lay = H5Pget_layout(dcpl);
    nf = H5Pget_nfilters(dcpl);
    H5Pclose(dcpl);
    if ((lay != H5D_CONTIGUOUS && lay != H5D_COMPACT) || nf != 0)
        CORRUPT(r, obj, "not stored contiguously without filters (layout %d, %d filters)",
                (int)lay, nf);
    return ML_OK;
}

/* Charge `count` elements of `size` bytes to the file's byte budget. */
static enum ml_status charge(struct rd *r, uint64_t count, uint64_t size, const char *obj)
{
    if ((size && count > UINT64_MAX / size) || count * size > r->budget)
        return ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__,
                       "%s: corrupt model file: %s: declares %llu elements of %llu bytes, more "
                       "than the %llu-byte file holds",
                       r->path, obj, (unsigned long long)count, (unsigned long long)size,
                       (unsigned long long)r->file_size);
    r->budget -= count * size;
    return ML_OK;
}

/* Dataset `name` in `loc`: doubles of shape d0 (rank 1) or d0 x d1 (rank 2),
 * exactly; *out is malloc'd (at least one element). */
static enum ml_status d_f64(struct rd *r, hid_t loc, const char *where, const char *name,
                            int rank, size_t d0, size_t d1, double **out)
{
    enum ml_status st;
    hid_t dset, ftype = H5I_INVALID_HID, space = H5I_INVALID_HID;
    hsize_t dims[2] = {0, 0};
    size_t count = rank == 2 ? d0 * d1 : d0;
    char obj[160];
    double *buf = NULL;

    *out = NULL;
    snprintf(obj, sizeof obj, "dataset %s%s", where, name);
    st = open_child(r, loc, name, obj, H5I_DATASET, &dset);
    if (st)
        return st;
    ftype = H5Dget_type(dset);
    space = H5Dget_space(dset);
    if (ftype < 0 || space < 0) {
        st = rd_corrupt(r, __LINE__, obj, "cannot read its type or shape");
        goto cleanup;
    }
    if (H5Tequal(ftype, H5T_IEEE_F64LE) <= 0) {
        st = rd_corrupt(r, __LINE__, obj, "not of type float64 (little-endian)");
        goto cleanup;
    }
    if (H5Sget_simple_extent_type(space) != H5S_SIMPLE ||
        H5Sget_simple_extent_ndims(space) != rank ||
        H5Sget_simple_extent_dims(space, dims, NULL) < 0 || dims[0] != d0 ||
        (rank == 2 && dims[1] != d1)) {
        if (rank == 2)
            st = rd_corrupt(r, __LINE__, obj, "shape is not %zu x %zu", d0, d1);
        else
            st = rd_corrupt(r, __LINE__, obj, "shape is not [%zu]", d0);
        goto cleanup;
    }
    st = d_layout(r, dset, obj);
    if (!st)
        st = charge(r, count, sizeof(double), obj);
    if (st)
        goto cleanup;
    buf = malloc((count ? count : 1) * sizeof *buf);
    if (!buf) {
        st = ml_fail(r->err, ML_ENOMEM, __FILE__, __LINE__, "%s: out of memory reading %s",
                     r->path, obj);
        goto cleanup;
    }
    if (count && H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        st = rd_corrupt(r, __LINE__, obj, "cannot read its values");
        goto cleanup;
    }
    *out = buf;
    buf = NULL;
cleanup:
    free(buf);
    if (space >= 0)
        H5Sclose(space);
    if (ftype >= 0)
        H5Tclose(ftype);
    H5Dclose(dset);
    return st;
}

static void free_strs(char **s, size_t n)
{
    size_t i;

    if (!s)
        return;
    for (i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

/* Dataset `levels` of group `g` (named `where`): 1 to GAM_H5_MAX_LEVELS
 * fixed-length strings. */
static enum ml_status d_levels(struct rd *r, hid_t g, const char *where, char ***out, size_t *n)
{
    enum ml_status st;
    hid_t dset, ftype = H5I_INVALID_HID, space = H5I_INVALID_HID;
    char obj[160], *buf = NULL, **strs = NULL;
    long long len = 0;
    size_t size = 0, i;

    *out = NULL;
    *n = 0;
    snprintf(obj, sizeof obj, "dataset %s/levels", where);
    st = open_child(r, g, "levels", obj, H5I_DATASET, &dset);
    if (st)
        return st;
    ftype = H5Dget_type(dset);
    space = H5Dget_space(dset);
    if (ftype < 0 || space < 0) {
        st = rd_corrupt(r, __LINE__, obj, "cannot read its type or shape");
        goto cleanup;
    }
    if (H5Tget_class(ftype) != H5T_STRING || H5Tis_variable_str(ftype) != 0) {
        st = rd_corrupt(r, __LINE__, obj, "not fixed-length strings");
        goto cleanup;
    }
    size = H5Tget_size(ftype);
    if (size == 0) {
        st = rd_corrupt(r, __LINE__, obj, "declares strings of 0 bytes");
        goto cleanup;
    }
    if (size > GAM_H5_MAX_STR + 1) {
        st = ml_fail(r->err, ML_ELIMIT, __FILE__, __LINE__,
                     "%s: %s: strings of %zu bytes, more than the limit of %d", r->path, obj,
                     size - 1, GAM_H5_MAX_STR);
        goto cleanup;
    }
    st = space_len(r, space, obj, &len);
    if (st)
        goto cleanup;
    if (len < 1 || H5Sget_simple_extent_type(space) != H5S_SIMPLE) {
        st = rd_corrupt(r, __LINE__, obj, "not a 1-D array of at least one level");
        goto cleanup;
    }
    st = d_layout(r, dset, obj);
    if (!st)
        st = charge(r, (uint64_t)len, size, obj);
    if (st)
        goto cleanup;
    buf = malloc((size_t)len * size);
    strs = calloc((size_t)len, sizeof *strs);
    if (!buf || !strs) {
        st = ml_fail(r->err, ML_ENOMEM, __FILE__, __LINE__, "%s: out of memory reading %s",
                     r->path, obj);
        goto cleanup;
    }
    if (H5Dread(dset, ftype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        st = rd_corrupt(r, __LINE__, obj, "cannot read its values");
        goto cleanup;
    }
    for (i = 0; i < (size_t)len; i++) {
        const char *s = buf + i * size;
        size_t l = strnlen(s, size);

        strs[i] = malloc(l + 1);
        if (!strs[i]) {
            st = ml_fail(r->err, ML_ENOMEM, __FILE__, __LINE__, "%s: out of memory reading %s",
                         r->path, obj);
            goto cleanup;
        }
        memcpy(strs[i], s, l);
        strs[i][l] = '\0';
    }
    *out = strs;
    *n = (size_t)len;
    strs = NULL;
cleanup:
    free_strs(strs, (size_t)(len > 0 ? len : 0));
    free(buf);
    if (space >= 0)
        H5Sclose(space);
    if (ftype >= 0)
        H5Tclose(ftype);
    H5Dclose(dset);
    return st;
}

/* Open /<name> and check it holds exactly `n` links. */
static enum ml_status open_top(struct rd *r, const char *name, size_t n, hid_t *g)
{
    H5G_info_t info;
    char obj[64];
    enum ml_status st;

    snprintf(obj, sizeof obj, "group /%s", name);
    st = open_child(r, r->file, name, obj, H5I_GROUP, g);
    if (st)
        return st;
    if (H5Gget_info(*g, &info) < 0 || info.nlinks != n) {
        H5Gclose(*g);
        *g = H5I_INVALID_HID;
        CORRUPT(r, obj, "holds %llu members; the root attributes say %zu",
                (unsigned long long)info.nlinks, n);
    }
    return ML_OK;
}

static enum ml_status read_var(struct rd *r, hid_t g, const char *on, struct gam_var *v)
{
    enum ml_status st;
    char **lv = NULL;
    size_t nlv = 0;

    st = a_str(r, g, on, "name", &v->name);
    if (!st)
        st = a_int(r, g, on, "is_factor", 0, 1, &v->is_factor);
    if (!st)
        st = a_f64(r, g, on, "min", &v->min);
    if (!st)
        st = a_f64(r, g, on, "max", &v->max);
    if (!st)
        st = a_f64(r, g, on, "mean", &v->mean);
    if (!st)
        st = a_f64(r, g, on, "sd", &v->sd);
    if (st)
        return st;
    if (v->is_factor) {
        st = d_levels(r, g, on, &lv, &nlv);
        if (st)
            return st;
        v->levels = lv;
        v->nlevels = nlv;
    } else if (H5Lexists(g, "levels", H5P_DEFAULT) != 0) {
        CORRUPT(r, on, "a numeric variable with a levels dataset");
    }
    return ML_OK;
}

static enum ml_status read_term(struct rd *r, hid_t g, const char *on, struct gam_term *t)
{
    enum ml_status st;
    int32_t var[GAM_MAX_MARGINS];
    int kind, j;

    st = a_int(r, g, on, "kind", 0, INT32_MAX, &kind);
    if (st)
        return st;
    t->kind = (enum gam_term_kind)kind;
    st = a_str(r, g, on, "label", &t->label);
    if (!st)
        st = a_int(r, g, on, "nvar", 0, GAM_MAX_MARGINS, &t->nvar);
    if (!st)
        st = a_num(r, g, on, "var", NUM_I32, t->nvar, var);
    for (j = 0; j < t->nvar && !st; j++)
        t->var[j] = (int)var[j];
    if (!st)
        st = a_int(r, g, on, "by_var", INT32_MIN, INT32_MAX, &t->by_var);
    if (!st)
        st = a_int(r, g, on, "by_level", INT32_MIN, INT32_MAX, &t->by_level);
    if (!st)
        st = a_int(r, g, on, "smooth", INT32_MIN, INT32_MAX, &t->smooth);
    if (!st)
        st = a_int(r, g, on, "col0", INT32_MIN, INT32_MAX, &t->col0);
    if (!st)
        st = a_int(r, g, on, "ncol", INT32_MIN, INT32_MAX, &t->ncol);
    if (!st)
        st = a_int(r, g, on, "pen0", INT32_MIN, INT32_MAX, &t->pen0);
    if (!st)
        st = a_int(r, g, on, "npen", INT32_MIN, INT32_MAX, &t->npen);
    if (!st)
        st = a_int(r, g, on, "first_level", INT32_MIN, INT32_MAX, &t->first_level);
    if (!st)
        st = a_f64(r, g, on, "edf", &t->edf);
    return st;
}

static enum ml_status read_smooth(struct rd *r, hid_t g, const char *on, struct gam_smooth *sm)
{
    int32_t k[GAM_MAX_MARGINS], m1[GAM_MAX_MARGINS], order[GAM_MAX_MARGINS],
        m2[GAM_MAX_MARGINS];
    double xl[GAM_MAX_MARGINS], xu[GAM_MAX_MARGINS], ll[GAM_MAX_MARGINS], ul[GAM_MAX_MARGINS];
    char where[64], name[32], obj[96];
    struct ml_err kerr;
    enum ml_status st;
    int kind, nm, j, maxcols;
    long pu = 1;

    snprintf(where, sizeof where, "%s/", on);
    st = a_int(r, g, on, "kind", 0, INT32_MAX, &kind);
    if (st)
        return st;
    if (kind != GAM_SMOOTH_S && kind != GAM_SMOOTH_TE)
        CORRUPT(r, on, "kind %d is unknown (0 = s, 1 = te; a newer plantfit may know it)", kind);
    sm->kind = (enum gam_smooth_kind)kind;
    st = a_int(r, g, on, "nmargin", kind == GAM_SMOOTH_S ? 1 : 2,
               kind == GAM_SMOOTH_S ? 1 : GAM_MAX_MARGINS, &nm);
    if (st)
        return st;
    /* Sizes first, checked, before any array they imply is read. */
    st = a_num(r, g, on, "k", NUM_I32, nm, k);
    if (!st)
        st = a_num(r, g, on, "m1", NUM_I32, nm, m1);
    if (!st)
        st = a_num(r, g, on, "order", NUM_I32, nm, order);
    if (!st)
        st = a_num(r, g, on, "m2", NUM_I32, nm, m2);
    if (!st)
        st = a_num(r, g, on, "xl", NUM_F64, nm, xl);
    if (!st)
        st = a_num(r, g, on, "xu", NUM_F64, nm, xu);
    if (!st)
        st = a_num(r, g, on, "ll", NUM_F64, nm, ll);
    if (!st)
        st = a_num(r, g, on, "ul", NUM_F64, nm, ul);
    if (st)
        return st;
    maxcols = kind == GAM_SMOOTH_S ? GAM_H5_MAX_S_COLS : GAM_H5_MAX_TE_COLS;
    for (j = 0; j < nm; j++) {
        if (m1[j] < 0 || m1[j] + 2 > BSPL_MAX_ORDER || order[j] != m1[j] + 2)
            CORRUPT(r, on, "margin %d: m1 = %ld, order = %ld; expected 0 <= m1 <= %d and order "
                    "= m1 + 2", j, (long)m1[j], (long)order[j], BSPL_MAX_ORDER - 2);
        if (k[j] < order[j] || k[j] > maxcols)
            CORRUPT(r, on, "margin %d: k = %ld; expected the order (%ld) <= k <= %d", j,
                    (long)k[j], (long)order[j], maxcols);
        if (m2[j] < 0 || m2[j] >= k[j])
            CORRUPT(r, on, "margin %d: m2 = %ld; expected 0 <= m2 < k = %ld", j, (long)m2[j],
                    (long)k[j]);
        pu *= k[j];
        if (pu > maxcols)
            return ml_fail(r->err, ML_ELIMIT, __FILE__, __LINE__,
                           "%s: %s: the basis has more than %d columns, the limit", r->path, on,
                           maxcols);
    }
    sm->nmargin = nm;
    st = a_int(r, g, on, "p_u", pu, pu, &sm->p_u);
    if (!st)
        st = a_int(r, g, on, "p", pu - 1, pu - 1, &sm->p);
    if (!st)
        st = a_int(r, g, on, "nnz", 1, pu, &sm->nnz);
    if (!st)
        st = a_int(r, g, on, "null_dim", 0, pu - 1, &sm->null_dim);
    if (!st)
        st = a_int(r, g, on, "npen", nm, nm, &sm->npen);
    if (!st)
        st = a_num(r, g, on, "pen_scale", NUM_F64, nm, sm->pen_scale);
    if (!st)
        st = a_f64(r, g, on, "utu", &sm->utu);
    if (!st)
        st = d_f64(r, g, where, "u", 1, (size_t)pu, 0, &sm->u);
    if (st)
        return st;
    for (j = 0; j < nm; j++) {
        double *knots;

        sm->m2[j] = (int)m2[j];
        snprintf(name, sizeof name, "knots_%d", j);
        st = d_f64(r, g, where, name, 1, (size_t)(k[j] + m1[j] + 2), 0, &knots);
        if (st)
            return st;
        /* The stored knots, never re-placed: bspl_init would compute them
         * from [xl, xu] again, and any rounding difference would change
         * every prediction. */
        ml_err_clear(&kerr);
        st = bspl_init_knots(&sm->margin[j], (int)k[j], (int)m1[j], knots, xl[j], xu[j], &kerr);
        free(knots);
        if (st) {
            snprintf(obj, sizeof obj, "dataset %s%s", where, name);
            CORRUPT(r, obj, "%s", kerr.msg);
        }
        if (sm->margin[j].ll != ll[j] || sm->margin[j].ul != ul[j])
            CORRUPT(r, on, "margin %d: ll = %.17g, ul = %.17g; its knots give %.17g and %.17g",
                    j, ll[j], ul[j], sm->margin[j].ll, sm->margin[j].ul);
        if (kind == GAM_SMOOTH_TE) {
            snprintf(name, sizeof name, "Ginv_%d", j);
            st = d_f64(r, g, where, name, 2, (size_t)k[j], (size_t)k[j], &sm->Ginv[j]);
            if (st)
                return st;
        }
    }
    for (j = 0; j < nm; j++) {
        snprintf(name, sizeof name, "S_u_%d", j);
        st = d_f64(r, g, where, name, 2, (size_t)pu, (size_t)pu, &sm->S_u[j]);
        if (st)
            return st;
        snprintf(name, sizeof name, "S_%d", j);
        st = d_f64(r, g, where, name, 2, (size_t)(pu - 1), (size_t)(pu - 1), &sm->S[j]);
        if (st)
            return st;
    }
    return ML_OK;
}

static enum ml_status read_groups(struct rd *r, struct gam_model *m, const char *gname,
                                  enum item_kind kind, size_t n)
{
    enum ml_status st = ML_OK;
    hid_t top, g;
    char name[32], on[64];
    size_t i;

    st = open_top(r, gname, n, &top);
    if (st)
        return st;
    for (i = 0; i < n && !st; i++) {
        snprintf(name, sizeof name, "%zu", i);
        snprintf(on, sizeof on, "/%s/%zu", gname, i);
        st = open_child(r, top, name, on, H5I_GROUP, &g);
        if (st)
            break;
        if (kind == ITEM_VAR)
            st = read_var(r, g, on, &m->vars[i]);
        else if (kind == ITEM_TERM)
            st = read_term(r, g, on, &m->terms[i]);
        else
            st = read_smooth(r, g, on, &m->smooths[i]);
        H5Gclose(g);
    }
    H5Gclose(top);
    return st;
}

/* Which kind of file is this?  Only plantfit_model = "gam" passes. */
static enum ml_status read_kind(struct rd *r)
{
    enum ml_status st;
    char *kind = NULL;
    htri_t ex = H5Aexists(r->file, "plantfit_model");

    if (ex < 0)
        CORRUPT(r, "the root group", "cannot read its attributes");
    if (ex == 0) {
        /* A data table says so in plantfit_format (a variable-length
         * string, so it is not read: only its presence matters). */
        if (H5Aexists(r->file, "plantfit_format") > 0)
            ML_FAIL(r->err, ML_EFORMAT,
                    "%s: not a model file: it is a plantfit data table (root attribute "
                    "plantfit_format), not a GAM model",
                    r->path);
        ML_FAIL(r->err, ML_EFORMAT,
                "%s: not a plantfit model file (no plantfit_model attribute at the root)",
                r->path);
    }
    st = a_str(r, r->file, "the root group", "plantfit_model", &kind);
    if (st)
        return st;
    if (strcmp(kind, model_kind) != 0) {
        st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__,
                     "%s: holds a \"%.100s\" model (root attribute plantfit_model), not a GAM",
                     r->path, kind);
    }
    free(kind);
    return st;
}

/* Root attributes other than the kind and version, and the root datasets. */
static enum ml_status read_root(struct rd *r, struct gam_model *m, size_t *nvars,
                                size_t *nterms, size_t *nsmooths)
{
    const char *on = "the root group";
    hid_t f = r->file;
    enum ml_status st;
    char *fam = NULL, *link = NULL, *meth = NULL, *msg = NULL;
    int code, nv = 0, nt = 0, ns = 0;
    int64_t n64 = 0, nd64 = 0;

    st = a_str(r, f, on, "formula", &m->formula);
    if (!st)
        st = a_str(r, f, on, "response", &m->response);
    if (!st)
        st = a_str(r, f, on, "family", &fam);
    if (!st)
        st = a_str(r, f, on, "link", &link);
    if (!st)
        st = a_str(r, f, on, "method", &meth);
    if (!st)
        st = a_str(r, f, on, "convergence_msg", &msg);
    if (st)
        goto cleanup;
    /* The codes are authoritative; the names say what a code this version
     * does not know meant, and must agree with the ones it knows. */
    st = a_int(r, f, on, "family_code", 0, INT32_MAX, &code);
    if (st)
        goto cleanup;
    if (code > GAM_FAMILY_GAMMA) {
        st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__,
                     "%s: family code %d (\"%.60s\") is unknown to this plantfit; a newer "
                     "version wrote the file", r->path, code, fam);
        goto cleanup;
    }
    m->family = (enum gam_family)code;
    st = a_int(r, f, on, "link_code", 0, INT32_MAX, &code);
    if (st)
        goto cleanup;
    if (code > GAM_LINK_INVERSE) {
        st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__,
                     "%s: link code %d (\"%.60s\") is unknown to this plantfit; a newer "
                     "version wrote the file", r->path, code, link);
        goto cleanup;
    }
    m->link = (enum gam_link)code;
    st = a_int(r, f, on, "method_code", 0, INT32_MAX, &code);
    if (st)
        goto cleanup;
    if ((size_t)code >= NMETHODS) {
        st = ml_fail(r->err, ML_EFORMAT, __FILE__, __LINE__,
                     "%s: method code %d (\"%.60s\") is unknown to this plantfit; a newer "
                     "version wrote the file", r->path, code, meth);
        goto cleanup;
    }
    m->method = (enum gam_method)code;
    if (strcmp(fam, gam_family_name(m->family)) != 0 || strcmp(link, gam_link_name(m->link)) ||
        strcmp(meth, method_names[m->method]) != 0) {
        st = rd_corrupt(r, __LINE__, on,
                        "family/link/method names \"%.40s\"/\"%.40s\"/\"%.40s\" disagree with "
                        "their codes (%s/%s/%s)", fam, link, meth, gam_family_name(m->family),
                        gam_link_name(m->link), method_names[m->method]);
        goto cleanup;
    }
    if (strlen(msg) >= sizeof m->convergence_msg) {
        st = rd_corrupt(r, __LINE__, "root attribute convergence_msg",
                        "%zu bytes; at most %zu expected", strlen(msg),
                        sizeof m->convergence_msg - 1);
        goto cleanup;
    }
    memcpy(m->convergence_msg, msg, strlen(msg) + 1);

    st = a_num(r, f, on, "n", NUM_I64, -1, &n64);
    if (!st)
        st = a_num(r, f, on, "n_dropped", NUM_I64, -1, &nd64);
    if (!st && (n64 < 0 || nd64 < 0 || (uint64_t)n64 > SIZE_MAX || (uint64_t)nd64 > SIZE_MAX))
        st = rd_corrupt(r, __LINE__, on, "n = %lld, n_dropped = %lld", (long long)n64,
                        (long long)nd64);
    if (st)
        goto cleanup;
    m->n = (size_t)n64;
    m->n_dropped = (size_t)nd64;
    if (!st)
        st = a_int(r, f, on, "p", 1, INT32_MAX, &m->p);
    if (!st)
        st = a_int(r, f, on, "nvars", 0, INT32_MAX, &nv);
    if (!st)
        st = a_int(r, f, on, "nterms", 1, INT32_MAX, &nt);
    if (!st)
        st = a_int(r, f, on, "nsmooths", 0, INT32_MAX, &ns);
    if (!st && (m->p > GAM_H5_MAX_P || nv > GAM_H5_MAX_COUNT || nt > GAM_H5_MAX_COUNT ||
                ns > GAM_H5_MAX_COUNT))
        st = ml_fail(r->err, ML_ELIMIT, __FILE__, __LINE__,
                     "%s: the model declares %d coefficients, %d variables, %d terms and %d "
                     "smooths; the limits are %d coefficients and %d of each of the others",
                     r->path, m->p, nv, nt, ns, GAM_H5_MAX_P, GAM_H5_MAX_COUNT);
    if (!st)
        st = a_int(r, f, on, "npen", 0, m->p, &m->npen);
    if (!st)
        st = a_int(r, f, on, "Mp", 0, m->p, &m->Mp);
    if (!st)
        st = a_f64(r, f, on, "edf_total", &m->edf_total);
    if (!st)
        st = a_f64(r, f, on, "scale", &m->scale);
    if (!st)
        st = a_f64(r, f, on, "reml_scale", &m->reml_scale);
    if (!st)
        st = a_f64(r, f, on, "score", &m->score);
    if (!st)
        st = a_f64(r, f, on, "deviance", &m->deviance);
    if (!st)
        st = a_f64(r, f, on, "null_deviance", &m->null_deviance);
    if (!st)
        st = a_f64(r, f, on, "dev_explained", &m->dev_explained);
    if (!st)
        st = a_f64(r, f, on, "r2_adj", &m->r2_adj);
    if (!st)
        st = a_int(r, f, on, "iterations", INT32_MIN, INT32_MAX, &m->iterations);
    if (!st)
        st = a_int(r, f, on, "converged", 0, 1, &m->converged);
    if (!st)
        st = d_f64(r, f, "/", "coefficients", 1, (size_t)m->p, 0, &m->beta);
    if (!st)
        st = d_f64(r, f, "/", "Vp", 2, (size_t)m->p, (size_t)m->p, &m->Vp);
    if (!st)
        st = d_f64(r, f, "/", "edf", 1, (size_t)m->p, 0, &m->edf);
    if (!st)
        st = d_f64(r, f, "/", "lambda", 1, (size_t)m->npen, 0, &m->lambda);
    *nvars = (size_t)nv;
    *nterms = (size_t)nt;
    *nsmooths = (size_t)ns;
cleanup:
    free(fam);
    free(link);
    free(meth);
    free(msg);
    return st;
}

static enum ml_status read_model(struct rd *r, struct gam_model **out)
{
    struct chk c = {r->path, "corrupt model file", ML_EFORMAT, r->err};
    struct gam_model *m;
    enum ml_status st;
    size_t nv = 0, nt = 0, ns = 0;
    int version, minor;

    st = read_kind(r);
    if (st)
        return st;
    st = a_int(r, r->file, "the root group", "format_version", INT32_MIN, INT32_MAX, &version);
    if (st)
        return st;
    if (version != GAM_H5_FORMAT_VERSION)
        ML_FAIL(r->err, ML_EFORMAT,
                "%s: GAM model format_version %d is not supported: this plantfit reads version "
                "%d%s", r->path, version, GAM_H5_FORMAT_VERSION,
                version > GAM_H5_FORMAT_VERSION ? " (a newer plantfit wrote the file)" : "");
    /* Any minor version of major 1 is readable: minor additions are ones an
     * older reader may ignore. */
    st = a_int(r, r->file, "the root group", "format_minor", 0, INT32_MAX, &minor);
    if (st)
        return st;

    m = calloc(1, sizeof *m);
    if (!m)
        ML_FAIL(r->err, ML_ENOMEM, "%s: out of memory", r->path);
    st = read_root(r, m, &nv, &nt, &ns);
    if (st)
        goto fail;
    /* Arrays are allocated zeroed before the counts are set, so
     * gam_model_free can release a half-read model at any point. */
    m->vars = calloc(nv ? nv : 1, sizeof *m->vars);
    m->terms = calloc(nt, sizeof *m->terms);
    m->smooths = calloc(ns ? ns : 1, sizeof *m->smooths);
    if (!m->vars || !m->terms || !m->smooths) {
        st = ml_fail(r->err, ML_ENOMEM, __FILE__, __LINE__, "%s: out of memory", r->path);
        goto fail;
    }
    m->nvars = nv;
    m->nterms = nt;
    m->nsmooths = ns;
    st = read_groups(r, m, "variables", ITEM_VAR, nv);
    if (!st)
        st = read_groups(r, m, "smooths", ITEM_SMOOTH, ns);
    if (!st)
        st = read_groups(r, m, "terms", ITEM_TERM, nt);
    if (!st)
        st = check_model(&c, m);
    if (st)
        goto fail;
    *out = m;
    return ML_OK;
fail:
    gam_model_free(m);
    return st;
}

enum ml_status gam_h5_read(const char *path, struct gam_model **out, struct ml_err *err)
{
    enum ml_status st;
    struct h5u_quiet q;
    struct rd r;

    if (!out)
        ML_FAIL(err, ML_EINVAL, "gam_h5_read: no output pointer given");
    *out = NULL;
    if (!path)
        ML_FAIL(err, ML_EINVAL, "gam_h5_read: no path given");
    memset(&r, 0, sizeof r);
    r.path = path;
    r.err = err;
    r.file = H5I_INVALID_HID;

    h5u_quiet_begin(&q);
    st = h5u_model_open(path, &r.file, &r.file_size, err);
    if (!st) {
        r.budget = r.file_size;
        st = read_model(&r, out);
    }
    if (r.file >= 0) {
        struct ml_err ce;
        if (h5u_model_close(path, r.file, &ce) != ML_OK && !st) {
            gam_model_free(*out);
            *out = NULL;
            if (err)
                *err = ce;
            st = ML_EFORMAT;
        }
    }
    h5u_quiet_end(&q);
    return st;
}
