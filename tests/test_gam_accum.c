/* test_gam_accum.c: the data passes of a GAM fit (algorithms/gam/gam_accum.c).
 * A fit must not depend on the number of threads (bit for bit), and the
 * smooths the fit completes in its first pass (gam_finish_pass: column
 * means and ||B||_inf gathered per row block) must be those
 * gam_smooth_ps_init builds from the data in a sequential pass of its own. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../algorithms/gam/gam.h"
#include "../algorithms/gam/gam_smooth.h"
#include "ml_rng.h"
#include "ml_table.h"
#include "test.h"

/* n rows of y, x, z, a factor g (3 levels) and a missing x every 997th
 * row (so some rows are dropped and the columns copied, not borrowed). */
static struct ml_table *table(size_t n, int with_missing)
{
    static const char *const names[] = {"y", "x", "z", "g"};
    static const enum ml_coltype types[] = {ML_COL_NUMERIC, ML_COL_NUMERIC, ML_COL_NUMERIC,
                                            ML_COL_CATEGORICAL};
    static const char *const lv[] = {"a", "b", "c"};
    struct ml_table *t = NULL;
    struct ml_err err;
    struct ml_rng r;
    size_t i;

    CHECK_OK(ml_table_alloc(&t, 4, names, types, &err), &err);
    CHECK_OK(ml_table_reserve(t, n, &err), &err);
    ml_rng_seed(&r, 11, 0);
    for (i = 0; i < n; i++) {
        double x = ml_rng_uniform(&r), z = ml_rng_uniform(&r), code;
        size_t g = i < 3 ? i : (size_t)ml_rng_below(&r, 3);
        CHECK_OK(ml_table_level(t, 3, lv[g], 1, &code, &err), &err);
        t->col[0].v[i] = sin(6.0 * x) + (double)g * z * z + 0.3 * ml_rng_normal(&r);
        t->col[1].v[i] = with_missing && i % 997 == 5 ? NAN : x;
        t->col[2].v[i] = z;
        t->col[3].v[i] = code;
    }
    t->nrow = n;
    return t;
}

static struct gam_model *fit(const struct ml_table *t, const char *formula, int threads,
                             enum gam_family fam)
{
    struct gam_options o;
    struct gam_model *m = NULL;
    struct ml_err err;

    gam_options_default(&o);
    o.threads = threads;
    o.family = fam;
    o.link = gam_default_link(fam);
    CHECK_OK(gam_fit(t, formula, &o, &m, &err), &err);
    return m;
}

static void same_fit(const char *formula, int with_missing, enum gam_family fam)
{
    /* 100000 rows: several row chunks, so threads really split the work. */
    struct ml_table *t = table(100000, with_missing);
    struct gam_model *a, *b;
    size_t j;

    if (!t)
        return;
    if (fam == GAM_FAMILY_POISSON)
        for (j = 0; j < t->nrow; j++)
            t->col[0].v[j] = floor(exp(t->col[0].v[j]));
    a = fit(t, formula, 1, fam);
    b = fit(t, formula, 2, fam);
    if (a && b) {
        CHECK(a->p == b->p);
        CHECK(memcmp(a->beta, b->beta, (size_t)a->p * sizeof *a->beta) == 0,
              "%s: coefficients differ between 1 and 2 threads", formula);
        CHECK(memcmp(a->Vp, b->Vp, (size_t)a->p * (size_t)a->p * sizeof *a->Vp) == 0,
              "%s: Vp differs between 1 and 2 threads", formula);
        CHECK(a->score == b->score && a->edf_total == b->edf_total);
        for (j = 0; j < a->nsmooths; j++)
            CHECK(memcmp(a->smooths[j].u, b->smooths[j].u,
                         (size_t)a->smooths[j].p_u * sizeof(double)) == 0);
    }
    gam_model_free(a);
    gam_model_free(b);
    ml_table_free(t);
}

TEST(gam_accum, fit_identical_for_any_thread_count)
{
    same_fit("y ~ s(x) + s(z, k=20) + factor(g)", 0, GAM_FAMILY_GAUSSIAN);
    same_fit("y ~ s(x, by=factor(g)) + s(z) + factor(g)", 1, GAM_FAMILY_GAUSSIAN);
    same_fit("y ~ te(x, z, k=5) + factor(g)", 1, GAM_FAMILY_GAUSSIAN);
    same_fit("y ~ s(x) + s(z)", 1, GAM_FAMILY_POISSON);
}

/* The smooth the fit completes in its first pass against the one
 * gam_smooth_ps_init builds on the same rows: same knots and penalty
 * (bit for bit), the constraint vector u and the penalty scale equal to
 * rounding (the column sums are added per row block, not row by row). */
TEST(gam_accum, deferred_smooth_matches_ps_init)
{
    struct ml_table *t = table(70000, 0);
    struct gam_model *m;
    struct gam_smooth ref;
    struct ml_err err;
    double maxd = 0.0;
    int a;

    if (!t)
        return;
    m = fit(t, "y ~ s(x, k=15) + s(z)", 2, GAM_FAMILY_GAUSSIAN);
    CHECK_OK(gam_smooth_ps_init(&ref, t->col[1].v, t->nrow, 15, 2, 2, &err), &err);
    if (m) {
        const struct gam_smooth *s = &m->smooths[0];
        CHECK(s->p_u == ref.p_u && s->margin[0].k == ref.margin[0].k);
        CHECK(memcmp(s->margin[0].knots, ref.margin[0].knots,
                     (size_t)(ref.margin[0].k + ref.margin[0].m1 + 2) * sizeof(double)) == 0);
        CHECK(fabs(s->pen_scale[0] - ref.pen_scale[0]) <= 1e-14 * ref.pen_scale[0]);
        for (a = 0; a < ref.p_u; a++)
            maxd = fmax(maxd, fabs(s->u[a] - ref.u[a]));
        CHECK(maxd <= 1e-14, "u differs by %g", maxd);
        for (a = 0; a < ref.p * ref.p; a++)
            CHECK(fabs(s->S[0][a] - ref.S[0][a]) <= 1e-12 * (1.0 + fabs(ref.S[0][a])));
    }
    gam_smooth_free(&ref);
    gam_model_free(m);
    ml_table_free(t);
}
