/* test_bspline.c: the ps basis (algorithms/bspline): knots of section 1.2 of
 * shared/reference/gam-numerics.md, basis properties, derivatives against
 * finite differences and an independent Cox-de Boor recursion, linear
 * extrapolation, the difference penalty and its scale, and every error path.
 * Agreement with mgcv itself is checked live in test_gam_smooth.c. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../algorithms/bspline/bspline.h"
#include "test.h"

/* (k, m1) pairs exercised everywhere: the four mgcv settings plus linear
 * splines (m1 = 0) and the smallest legal k. */
static const int settings[][2] = {{10, 2}, {5, 2}, {12, 3}, {8, 1}, {6, 0}, {4, 2}, {20, 5}};
#define NSET (sizeof settings / sizeof settings[0])

/* Plain recursive Cox-de Boor definition (de Boor 2001, (IX.14)) for
 * B_{i,ord}(x) with half-open support [t_i, t_{i+ord}): an independent
 * reference for the BSPLVB-style evaluation. */
static double cox_de_boor(const double *t, int i, int ord, double x)
{
    double v = 0.0;

    if (ord == 1)
        return (t[i] <= x && x < t[i + 1]) ? 1.0 : 0.0;
    if (t[i + ord - 1] > t[i])
        v += (x - t[i]) / (t[i + ord - 1] - t[i]) * cox_de_boor(t, i, ord - 1, x);
    if (t[i + ord] > t[i + 1])
        v += (t[i + ord] - x) / (t[i + ord] - t[i + 1]) * cox_de_boor(t, i + 1, ord - 1, x);
    return v;
}

TEST(bspline, knots_example_section_1_2)
{
    /* x in [0, 1], k = 10, m = c(2, 2): 14 knots, spacing 1.002/7, first at
     * xl' - (m1 + 1) dx (gam-numerics.md 1.2; the document lists -0.430428571429). */
    struct bspl_basis b;
    struct ml_err err;
    const int k = 10, m1 = 2;
    double lo = 0.0 - 0.001, hi = 1.0 + 0.001, dx = (hi - lo) / (k - m1 - 1);
    int j;

    CHECK_OK(bspl_init(&b, k, m1, 0.0, 1.0, &err), &err);
    CHECK(b.order == 4 && b.k == 10 && b.m1 == 2);
    for (j = 0; j < k + m1 + 2; j++)
        CHECK_REL(b.knots[j], lo + (j - m1 - 1) * dx, 8 * DBL_EPSILON);
    CHECK_ABS(b.knots[0], -0.430428571429, 1e-12);   /* the document's printed digits */
    CHECK(b.ll == b.knots[m1 + 1] && b.ul == b.knots[k]);
    CHECK_REL(b.ll, -0.001, 4 * DBL_EPSILON);
    CHECK_REL(b.ul, 1.001, 4 * DBL_EPSILON);
    CHECK(b.xl == 0.0 && b.xu == 1.0);
    bspl_free(&b);
    bspl_free(&b);   /* second free is a no-op */
    bspl_free(NULL);
}

TEST(bspline, knot_counts)
{
    /* k + m1 + 2 knots: 14, 9, 17, 11 for the four settings of section 1. */
    static const int km[][3] = {{10, 2, 14}, {5, 2, 9}, {12, 3, 17}, {8, 1, 11}};
    struct bspl_basis b;
    struct ml_err err;
    size_t s;
    int j;

    for (s = 0; s < 4; s++) {
        CHECK_OK(bspl_init(&b, km[s][0], km[s][1], 2.0, 7.0, &err), &err);
        for (j = 1; j < km[s][2]; j++)
            CHECK(b.knots[j] > b.knots[j - 1]);
        /* Equal spacing: every gap equals the first to rounding. */
        for (j = 1; j < km[s][2]; j++)
            CHECK_REL(b.knots[j] - b.knots[j - 1], b.knots[1] - b.knots[0], 64 * DBL_EPSILON);
        CHECK_REL(b.ll, 2.0 - 0.005, 4 * DBL_EPSILON);
        CHECK_REL(b.ul, 7.0 + 0.005, 4 * DBL_EPSILON);
        bspl_free(&b);
    }
}

TEST(bspline, partition_of_unity_and_cox_de_boor)
{
    struct ml_err err;
    size_t s;

    for (s = 0; s < NSET; s++) {
        struct bspl_basis b;
        int k = settings[s][0], m1 = settings[s][1], i, a;
        CHECK_OK(bspl_init(&b, k, m1, -3.0, 11.0, &err), &err);
        for (i = 0; i <= 500; i++) {
            double x = b.ll + (b.ul - b.ll) * i / 500.0, v[BSPL_MAX_ORDER], sum = 0.0;
            double dense[64];
            int first;
            for (a = 0; a < BSPL_MAX_ORDER; a++)
                v[a] = NAN;
            bspl_eval(&b, x, v, &first);
            CHECK(first >= 0 && first + b.order <= k, "k=%d m1=%d x=%g first=%d", k, m1, x,
                  first);
            for (a = 0; a < b.order; a++) {
                CHECK(v[a] >= -4 * DBL_EPSILON, "negative B value %g", v[a]);
                sum += v[a];
            }
            CHECK_ABS(sum, 1.0, 8 * b.order * DBL_EPSILON);
            /* Dense row agrees with the sparse one and the plain recursion
             * (which needs x < t_k at the right end: use the left limit). */
            for (a = 0; a < k; a++)
                dense[a] = NAN;
            bspl_eval_dense(&b, x, dense);
            for (a = 0; a < k; a++) {
                double want = a >= first && a < first + b.order ? v[a - first] : 0.0;
                double xr = i == 500 ? nextafter(x, -INFINITY) : x;
                CHECK(dense[a] == want, "dense[%d] = %g, sparse %g", a, dense[a], want);
                CHECK_ABS(dense[a], cox_de_boor(b.knots, a, b.order, xr), 32 * DBL_EPSILON);
            }
        }
        bspl_free(&b);
    }
}

TEST(bspline, derivative_vs_central_differences)
{
    /* Central difference error is h^2 |f'''|/6 + eps |f| / h; with
     * h = eps^(1/3) dx both terms are ~ eps^(2/3) relative to |f'| ~ 1/dx.
     * Points sit mid-way between knots so that h never crosses one (for
     * m1 = 0 the derivative jumps there). */
    const double h_rel = cbrt(DBL_EPSILON), tol_rel = 100 * h_rel * h_rel;
    struct ml_err err;
    size_t s;

    for (s = 0; s < NSET; s++) {
        struct bspl_basis b;
        int k = settings[s][0], m1 = settings[s][1], iv, a;
        double dx;
        CHECK_OK(bspl_init(&b, k, m1, 0.5, 4.25, &err), &err);
        dx = b.knots[1] - b.knots[0];
        for (iv = m1 + 1; iv <= k - 1; iv++) {
            double x = b.knots[iv] + 0.37 * dx, h = h_rel * dx;
            double d[BSPL_MAX_ORDER], vp[BSPL_MAX_ORDER], vm[BSPL_MAX_ORDER];
            int f0, fp, fm;
            bspl_eval_deriv(&b, x, d, &f0);
            bspl_eval(&b, x + h, vp, &fp);
            bspl_eval(&b, x - h, vm, &fm);
            CHECK(f0 == fp && f0 == fm);
            for (a = 0; a < b.order; a++)
                CHECK_ABS(d[a], (vp[a] - vm[a]) / (2 * h), tol_rel / dx);
        }
        bspl_free(&b);
    }
}

TEST(bspline, extrapolation_is_linear_and_continuous)
{
    struct ml_err err;
    size_t s;

    for (s = 0; s < NSET; s++) {
        struct bspl_basis b;
        int k = settings[s][0], m1 = settings[s][1], end, a;
        CHECK_OK(bspl_init(&b, k, m1, 2.0, 7.0, &err), &err);
        for (end = 0; end < 2; end++) {
            double e = end ? b.ul : b.ll, dir = end ? 1.0 : -1.0, dx = b.knots[1] - b.knots[0];
            double v0[BSPL_MAX_ORDER], d0[BSPL_MAX_ORDER], v1[BSPL_MAX_ORDER];
            double v2[BSPL_MAX_ORDER], d2[BSPL_MAX_ORDER], vin[BSPL_MAX_ORDER];
            double din[BSPL_MAX_ORDER], dmax = 0.0;
            double tiny = 1e-7 * dx;
            int f0, f1, f2, fd0, fd2, fin, fdin;
            bspl_eval(&b, e, v0, &f0);
            bspl_eval_deriv(&b, e, d0, &fd0);
            bspl_eval(&b, e + dir * 1.5, v1, &f1);
            bspl_eval(&b, e + dir * 40.0, v2, &f2);
            bspl_eval_deriv(&b, e + dir * 40.0, d2, &fd2);
            bspl_eval(&b, e - dir * tiny, vin, &fin);
            bspl_eval_deriv(&b, e - dir * tiny, din, &fdin);
            CHECK(f0 == f1 && f0 == f2 && f0 == fd0 && f0 == fd2 && f0 == fin && f0 == fdin);
            CHECK(f0 == (end ? k - b.order : 0));
            for (a = 0; a < b.order; a++)
                dmax = fmax(dmax, fabs(d0[a]));
            for (a = 0; a < b.order; a++) {
                /* Exactly the tangent line of section 1.4 ... */
                CHECK_ABS(v1[a], v0[a] + dir * 1.5 * d0[a], 8 * DBL_EPSILON * (1 + dmax));
                CHECK_ABS(v2[a], v0[a] + dir * 40.0 * d0[a], 64 * DBL_EPSILON * (1 + dmax));
                /* ... with the end slope as constant derivative ... */
                CHECK(d2[a] == d0[a]);
                /* ... continuous in value and (m1 >= 1) slope at the end: just
                 * inside, the Taylor remainder is O((tiny/dx)^2) in value and
                 * O(tiny/dx) relative in slope. */
                CHECK_ABS(vin[a], v0[a] - dir * tiny * d0[a],
                          64 * (tiny / dx) * (tiny / dx) + 16 * DBL_EPSILON);
                if (m1 >= 1)
                    CHECK_ABS(din[a], d0[a], 64 * (tiny / dx) * dmax);
            }
        }
        bspl_free(&b);
    }
}

TEST(bspline, interval_rule_at_range_ends)
{
    /* Section 1.3: x = ul takes the last interval (left limit), x = ll the
     * first; for m1 = 0 this fixes which one-sided derivative is reported. */
    struct bspl_basis b;
    struct ml_err err;
    double v[BSPL_MAX_ORDER], d[BSPL_MAX_ORDER];
    int first;

    CHECK_OK(bspl_init(&b, 6, 0, 0.0, 1.0, &err), &err);
    bspl_eval(&b, b.ul, v, &first);
    CHECK(first == 4 && v[0] == 0.0 && fabs(v[1] - 1.0) <= 4 * DBL_EPSILON, "%d %g %g", first,
          v[0], v[1]);
    bspl_eval_deriv(&b, b.ul, d, &first);
    CHECK(first == 4 && d[1] > 0.0 && d[0] == -d[1]);
    bspl_eval(&b, b.ll, v, &first);
    CHECK(first == 0 && fabs(v[0] - 1.0) <= 4 * DBL_EPSILON && fabs(v[1]) <= 4 * DBL_EPSILON);
    bspl_eval_deriv(&b, b.ll, d, &first);
    CHECK(first == 0 && d[0] < 0.0 && d[1] == -d[0]);
    bspl_free(&b);
}

TEST(bspline, init_from_stored_knots_is_identical)
{
    struct bspl_basis a, b;
    struct ml_err err;
    int i, j;

    CHECK_OK(bspl_init(&a, 12, 3, -1.5, 2.25, &err), &err);
    CHECK_OK(bspl_init_knots(&b, 12, 3, a.knots, a.xl, a.xu, &err), &err);
    CHECK(b.ll == a.ll && b.ul == a.ul && b.order == a.order);
    for (i = -20; i <= 60; i++) {
        double x = -1.5 + i * 0.1, va[BSPL_MAX_ORDER], vb[BSPL_MAX_ORDER];
        int fa, fb;
        bspl_eval(&a, x, va, &fa);
        bspl_eval(&b, x, vb, &fb);
        CHECK(fa == fb);
        for (j = 0; j < a.order; j++)
            CHECK(va[j] == vb[j]);
    }
    bspl_free(&a);
    bspl_free(&b);
}

TEST(bspline, penalty_structure_and_null_space)
{
    struct ml_err err;
    int k, m2;

    for (k = 4; k <= 13; k += 3) {
        for (m2 = 0; m2 < k && m2 <= 4; m2++) {
            double *S = malloc((size_t)k * k * sizeof *S);
            int i, j, deg;
            for (i = 0; i < k * k; i++)
                S[i] = NAN;
            CHECK_OK(bspl_penalty(k, m2, S, &err), &err);
            for (i = 0; i < k; i++)
                for (j = 0; j < k; j++) {
                    CHECK(S[i * k + j] == S[j * k + i]);
                    CHECK(S[i * k + j] == floor(S[i * k + j]), "entries are integers");
                }
            /* Polynomials of degree < m2 in the index are annihilated
             * exactly (integer arithmetic); degree m2 is not (rank k - m2). */
            for (deg = 0; deg <= m2 && deg < k; deg++) {
                double maxr = 0.0;
                for (i = 0; i < k; i++) {
                    double r = 0.0;
                    for (j = 0; j < k; j++)
                        r += S[i * k + j] * pow((double)j, (double)deg);
                    maxr = fmax(maxr, fabs(r));
                }
                if (deg < m2)
                    CHECK(maxr == 0.0, "k=%d m2=%d degree %d: residual %g", k, m2, deg, maxr);
                else
                    CHECK(maxr > 0.5, "k=%d m2=%d degree %d is penalised", k, m2, deg);
            }
            free(S);
        }
    }
}

TEST(bspline, penalty_second_difference_rows_and_scale)
{
    /* Eilers & Marx (1996): interior rows of D2'D2 are (1, -4, 6, -4, 1);
     * ||D'D||_1 = 4, 16, 64 for m2 = 1, 2, 3 when k >= 2 m2 + 1 (section 2.2). */
    static const double row[] = {1, -4, 6, -4, 1};
    struct ml_err err;
    double S[10 * 10];
    int j, m2;

    CHECK_OK(bspl_penalty(10, 2, S, &err), &err);
    for (j = 0; j < 10; j++)
        CHECK(S[5 * 10 + j] == (j >= 3 && j <= 7 ? row[j - 3] : 0.0));
    CHECK(S[0] == 1 && S[1] == -2 && S[2] == 1 && S[11] == 5);
    for (m2 = 1; m2 <= 3; m2++) {
        CHECK_OK(bspl_penalty(10, m2, S, &err), &err);
        CHECK(bspl_penalty_scale(S, 10, 1.0) == pow(4.0, m2));
        CHECK_REL(bspl_penalty_scale(S, 10, 2.0), pow(4.0, m2) / 4, 2 * DBL_EPSILON);
    }
    CHECK_OK(bspl_penalty(5, 0, S, &err), &err);
    for (j = 0; j < 25; j++) {
        double id = j % 6 == 0 ? 1.0 : 0.0;   /* m2 = 0 gives the identity */
        CHECK(S[j] == id);
    }
}

TEST(bspline, errors)
{
    struct bspl_basis b;
    struct ml_err err;
    double S[16], kn[9];
    int j;

    CHECK(bspl_init(&b, 3, 2, 0, 1, &err) == ML_EINVAL);
    CHECK(strstr(err.msg, "k = 3") && strstr(err.msg, "m1 = 2"), "%s", err.msg);
    CHECK(b.knots == NULL);
    CHECK(bspl_init(&b, 10, -1, 0, 1, &err) == ML_EINVAL);
    CHECK(strstr(err.msg, "m1 = -1"), "%s", err.msg);
    CHECK(bspl_init(&b, 20, BSPL_MAX_ORDER - 1, 0, 1, &err) == ML_EINVAL);
    CHECK(strstr(err.msg, "order"), "%s", err.msg);
    CHECK(bspl_init(&b, 10, 2, 1.5, 1.5, &err) == ML_EINVAL);
    CHECK(strstr(err.msg, "empty") && strstr(err.msg, "1.5"), "%s", err.msg);
    CHECK(bspl_init(&b, 10, 2, 2.0, 1.0, &err) == ML_EINVAL);
    CHECK(bspl_init(&b, 10, 2, NAN, 1.0, &err) == ML_EINVAL);
    CHECK(strstr(err.msg, "not finite"), "%s", err.msg);
    CHECK(bspl_init(&b, 10, 2, 0.0, INFINITY, &err) == ML_EINVAL);
    CHECK(bspl_init(&b, 10, 2, -DBL_MAX, DBL_MAX, &err) == ML_EINVAL, "%s", err.msg);
    CHECK(bspl_init(&b, 10, 2, 1e300, nextafter(1e300, INFINITY), &err) == ML_EINVAL);
    CHECK(strstr(err.msg, "distinct knots"), "%s", err.msg);

    for (j = 0; j < 9; j++)
        kn[j] = j;
    CHECK_OK(bspl_init_knots(&b, 5, 2, kn, 3, 5, &err), &err);
    bspl_free(&b);
    kn[4] = kn[3];
    CHECK(bspl_init_knots(&b, 5, 2, kn, 3, 5, &err) == ML_EINVAL);
    CHECK(strstr(err.msg, "knot 5") && strstr(err.msg, "increase"), "%s", err.msg);
    kn[4] = NAN;
    CHECK(bspl_init_knots(&b, 5, 2, kn, 3, 5, &err) == ML_EINVAL);
    CHECK(strstr(err.msg, "not finite"), "%s", err.msg);
    kn[4] = 4;
    CHECK(bspl_init_knots(&b, 5, 2, kn, 5, 3, &err) == ML_EINVAL);
    CHECK(bspl_init_knots(&b, 5, 2, NULL, 3, 5, &err) == ML_EINVAL);
    CHECK(bspl_init_knots(&b, 2, 2, kn, 3, 5, &err) == ML_EINVAL);

    CHECK(bspl_penalty(4, 4, S, &err) == ML_EINVAL);
    CHECK(strstr(err.msg, "m2 = 4") && strstr(err.msg, "k = 4"), "%s", err.msg);
    CHECK(bspl_penalty(4, -1, S, &err) == ML_EINVAL);
}

/* bspl_eval_many is the data passes' batch form of bspl_eval: it must give
 * the same bits, inside the range, on knots, at the ends and outside. */
TEST(bspline, eval_many_is_bit_identical_to_eval)
{
    size_t s;

    for (s = 0; s < NSET; s++) {
        struct bspl_basis b;
        struct ml_err err;
        double x[300], vm[300 * BSPL_MAX_ORDER], v1[BSPL_MAX_ORDER];
        int fm[300], f1, i, bad = 0;

        CHECK_OK(bspl_init(&b, settings[s][0], settings[s][1], -2.0, 3.0, &err), &err);
        for (i = 0; i < 300; i++)
            x[i] = i < 20 ? b.knots[i % (b.k + b.m1 + 2)] /* exactly on knots */
                          : -3.0 + 7.0 * (double)(i - 20) / 279.0;
        x[0] = b.ll;
        x[1] = b.ul;
        bspl_eval_many(&b, x, 300, vm, fm);
        for (i = 0; i < 300; i++) {
            bspl_eval(&b, x[i], v1, &f1);
            if (f1 != fm[i] || memcmp(v1, vm + (size_t)i * (size_t)b.order,
                                      (size_t)b.order * sizeof *v1) != 0)
                bad++;
        }
        CHECK(bad == 0, "k=%d m1=%d: %d of 300 points differ", settings[s][0], settings[s][1],
              bad);
        bspl_free(&b);
    }
}
