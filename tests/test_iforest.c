/* test_iforest.c: Isolation Forest (algorithms/iforest), suite "iforest".
 *
 *  - c(n) against harmonic numbers summed here in double-double, and the
 *    switch to the asymptotic series;
 *  - forests built by hand, scored against the paper's formulas evaluated
 *    here from first principles (classic, hyperplane, missing = divide),
 *    and their explanations;
 *  - structural invariants of fitted forests, determinism across thread
 *    counts, error paths;
 *  - explanations: sums equal the deficit c(psi) - E[h] and a shifted
 *    feature tops the attribution (issue acceptance 4);
 *  - live comparisons with scikit-learn through tests/golden/iforest_sklearn.py:
 *    per-row mean scores over 50 seeds (acceptance 2) and ROC AUC on SKAB
 *    valve1/valve2 and on datasets/plant.csv (acceptance 3).  Skipped loudly
 *    without scikit-learn, without ../shared/datasets, or with
 *    PF_SLOW_TESTS=0 (set it for valgrind runs). */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../algorithms/iforest/iforest.h"
#include "csv/csv_read.h"
#include "ml_rng.h"
#include "test.h"

/* ---- first principles ---------------------------------------------------- */

/* Double-double arithmetic (Knuth's TwoSum; an exact remainder by fma), so
 * the reference below carries ~106 bits whatever the platform's long double
 * is (valgrind, for one, computes long double in 64 bits). */
struct dd {
    double hi, lo;
};

static struct dd dd_add(struct dd a, struct dd b)
{
    double s = a.hi + b.hi, bb = s - a.hi, err = (a.hi - (s - bb)) + (b.hi - bb);
    struct dd r;

    err += a.lo + b.lo;
    r.hi = s + err;
    r.lo = err - (r.hi - s);
    return r;
}

/* p / q as a double-double: the quotient and the correction from the exact
 * remainder p - q * quot (one fma). */
static struct dd dd_div(double p, double q)
{
    struct dd r;

    r.hi = p / q;
    r.lo = fma(-r.hi, q, p) / q;
    return r;
}

/* H(m) = sum_{k=1}^m 1/k, smallest terms first, in double-double. */
static struct dd harmonic_ref(long m)
{
    struct dd s = {0.0, 0.0};
    long k;

    for (k = m; k >= 1; k--)
        s = dd_add(s, dd_div(1.0, (double)k));
    return s;
}

/* Paper Eq. 1 with the special cases of Sec. 2: c(n) = 2H(n-1) - 2(n-1)/n,
 * correctly rounded but for the last bit. */
static double c_ref(long n)
{
    struct dd h, q, c;

    if (n <= 1)
        return 0.0;
    h = harmonic_ref(n - 1);
    q = dd_div((double)(n - 1), (double)n);
    h.hi *= 2.0;
    h.lo *= 2.0;
    q.hi *= -2.0;
    q.lo *= -2.0;
    c = dd_add(h, q);
    return c.hi + c.lo;
}

static int slow_tests_off(const char *what)
{
    const char *e = getenv("PF_SLOW_TESTS");
    if (e && strcmp(e, "0") == 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "!!! PF_SLOW_TESTS=0: %s NOT RUN !!!", what);
        test_skip(msg);
        return 1;
    }
    return 0;
}

/* ---- c(n) -------------------------------------------------------------- */

TEST(iforest, c_exact_harmonic)
{
    long n;
    double worst = 0.0;

    CHECK(iforest_c(0.0) == 0.0);
    CHECK(iforest_c(1.0) == 0.0);
    CHECK(iforest_c(-3.0) == 0.0);
    CHECK(iforest_c(2.0) == 1.0);
    for (n = 2; n <= 50; n++) {
        double got = iforest_c((double)n), want = c_ref(n);
        CHECK(fabs(got - want) <= 4 * DBL_EPSILON * want, "c(%ld) = %.17g, want %.17g", n, got,
              want);
    }
    /* c(3) = 2(1 + 1/2) - 4/3 = 5/3 exactly in the paper's terms */
    CHECK_ABS(iforest_c(3.0), 5.0 / 3.0, 2 * DBL_EPSILON);
    /* around the switch from the table (n <= 1000) to the series */
    for (n = 900; n <= 1100; n++) {
        double got = iforest_c((double)n), want = c_ref(n);
        double rel = fabs(got - want) / want;
        worst = rel > worst ? rel : worst;
        CHECK(rel <= 4 * DBL_EPSILON, "c(%ld) = %.17g, want %.17g", n, got, want);
    }
    /* continuity: the step from c(1000) to c(1001) is the exact difference */
    CHECK_ABS(iforest_c(1001.0) - iforest_c(1000.0), c_ref(1001) - c_ref(1000),
              16 * DBL_EPSILON);
    for (n = 2000; n <= 200000; n *= 10) {
        double got = iforest_c((double)n), want = c_ref(n);
        CHECK(fabs(got - want) <= 8 * DBL_EPSILON * want, "c(%ld) = %.17g, want %.17g", n, got,
              want);
    }
    /* increasing, as an average depth must be */
    for (n = 2; n < 3000; n++)
        CHECK(iforest_c((double)n + 1) > iforest_c((double)n), "c not increasing at %ld", n);
    printf("    c(n), n = 900 ... 1100: largest relative error %.2e\n", worst);
}

/* ---- forests built by hand ------------------------------------------------ */

/* Shapley values of a two-player game from its four coalition values. */
static void shapley2(double v_none, double v_a, double v_b, double v_ab, double *phi_a,
                     double *phi_b)
{
    *phi_a = 0.5 * (v_a - v_none) + 0.5 * (v_ab - v_b);
    *phi_b = 0.5 * (v_b - v_none) + 0.5 * (v_ab - v_a);
}

/* Two trees on d = 2 features, sample_size 8.
 * Tree A (stored out of breadth-first order on purpose):
 *   0 root: x0 <= 0.5 ?  left -> node 2 (leaf, 3 rows)  right -> node 1
 *   1:      x1 <= 1.0 ?  left -> node 3 (leaf, 1 row)   right -> node 4 (leaf, 4 rows)
 * Tree B:
 *   0 root: x1 <= 0.0 ?  left -> node 1 (leaf, 6 rows)  right -> node 2 (leaf, 2 rows) */
static struct iforest *hand_forest(enum iforest_missing missing)
{
    struct iforest *f;
    struct ml_err err;
    static const int32_t left[8] = {2, 3, -1, -1, -1, 1, -1, -1};
    static const int32_t right[8] = {1, 4, -1, -1, -1, 2, -1, -1};
    static const int32_t feat[8] = {0, 1, -1, -1, -1, 1, -1, -1};
    static const double split[8] = {0.5, 1.0, 0, 0, 0, 0.0, 0, 0};
    static const uint32_t size[8] = {8, 5, 3, 1, 4, 8, 6, 2};
    static const double frac[8] = {3.0 / 8, 1.0 / 5, 0, 0, 0, 6.0 / 8, 0, 0};
    int i;

    if (iforest_alloc(&f, 2, 2, 8, 0, &err) != ML_OK)
        return NULL;
    f->tree_start[0] = 0;
    f->tree_start[1] = 5;
    f->tree_start[2] = 8;
    f->sample_size = 8;
    f->max_depth = 3;
    f->missing = missing;
    for (i = 0; i < 8; i++) {
        f->left[i] = left[i];
        f->right[i] = right[i];
        f->feature[i] = feat[i];
        f->split[i] = split[i];
        f->size[i] = size[i];
        f->frac_left[i] = frac[i];
    }
    f->feature_names[0] = malloc(5);
    f->feature_names[1] = malloc(5);
    memcpy(f->feature_names[0], "temp", 5);
    memcpy(f->feature_names[1], "flow", 5);
    f->fmin[0] = f->fmin[1] = 0.0;
    f->fmax[0] = f->fmax[1] = 2.0;
    return f;
}

TEST(iforest, hand_built_scores)
{
    /* rows (column-major, 4 rows): p0 = (0.2, 5), p1 = (0.9, 0.5),
     * p2 = (0.9, 3), p3 = (0.5, 0) (both splits on their boundary: left) */
    const double x[8] = {0.2, 0.9, 0.9, 0.5, 5.0, 0.5, 3.0, 0.0};
    double hA[4], hB[4], s[4], h[4], s2[4];
    struct iforest *f = hand_forest(IFOREST_MISSING_FAIL);
    struct ml_err err;
    int i;

    CHECK(f != NULL);
    if (!f)
        return;
    CHECK_OK(iforest_prepare(f, &err), &err);
    /* h(x) = edges + c(size), paper Algorithm 3 */
    hA[0] = 1 + c_ref(3);
    hB[0] = 1 + c_ref(2);
    hA[1] = 2 + c_ref(1);
    hB[1] = 1 + c_ref(2);
    hA[2] = 2 + c_ref(4);
    hB[2] = 1 + c_ref(2);
    hA[3] = 1 + c_ref(3);
    hB[3] = 1 + c_ref(6);
    for (i = 0; i < 4; i++)
        s[i] = h[i] = NAN;
    CHECK_OK(iforest_score(f, x, 4, 4, s, 1, &err), &err);
    CHECK_OK(iforest_path_length(f, x, 4, 4, h, 2, &err), &err);
    for (i = 0; i < 4; i++) {
        double eh = (hA[i] + hB[i]) / 2, want = pow(2.0, -eh / c_ref(8));
        CHECK_REL(h[i], eh, 4 * DBL_EPSILON);
        CHECK_REL(s[i], want, 8 * DBL_EPSILON);
    }
    /* the same without the prepared layout (built for the call) */
    {
        struct iforest_packed *keep = f->packed;
        f->packed = NULL;
        CHECK_OK(iforest_score(f, x, 4, 4, s2, 3, &err), &err);
        f->packed = keep;
        for (i = 0; i < 4; i++)
            CHECK(s2[i] == s[i], "row %d: %.17g vs %.17g", i, s2[i], s[i]);
    }
    /* explanations: Shapley values of the path length, written out.  Leaf
     * path lengths: A: a2 (left of the root), a3, a4 (below node 1); B: b1,
     * b2.  v(S) = path length with the features outside S unknown (both
     * branches, weighted by the training sizes). */
    {
        double a[8], a2 = 1 + c_ref(3), a3 = 2 + c_ref(1), a4 = 2 + c_ref(4);
        double b1 = 1 + c_ref(6), b2 = 1 + c_ref(2);
        double vA = 3.0 / 8 * a2 + 1.0 / 8 * a3 + 4.0 / 8 * a4, vB = 6.0 / 8 * b1 + 2.0 / 8 * b2;
        double share = (2 * c_ref(8) - vA - vB) / 2, pA0, pA1, pB0, pB1;
        for (i = 0; i < 8; i++)
            a[i] = NAN;
        CHECK_OK(iforest_explain(f, x, 4, 4, a, &err), &err);
        /* p0 = (0.2, 5): A: v(temp) = a2, v(flow) = 3/8 a2 + 5/8 a4, v(both)
         * = a2; B (flow only): v(flow) = v(both) = b2 */
        shapley2(vA, a2, 3.0 / 8 * a2 + 5.0 / 8 * a4, a2, &pA0, &pA1);
        shapley2(vB, vB, b2, b2, &pB0, &pB1);
        CHECK_REL(a[0], (share - pA0 - pB0) / 2, 16 * DBL_EPSILON);
        CHECK_REL(a[1], (share - pA1 - pB1) / 2, 16 * DBL_EPSILON);
        /* p1 = (0.9, 0.5): A: v(temp) = 1/5 a3 + 4/5 a4, v(flow) = 3/8 a2 +
         * 5/8 a3, v(both) = a3; B as p0 */
        shapley2(vA, 1.0 / 5 * a3 + 4.0 / 5 * a4, 3.0 / 8 * a2 + 5.0 / 8 * a3, a3, &pA0, &pA1);
        CHECK_REL(a[2], (share - pA0 - pB0) / 2, 16 * DBL_EPSILON);
        CHECK_REL(a[3], (share - pA1 - pB1) / 2, 16 * DBL_EPSILON);
        for (i = 0; i < 4; i++)
            CHECK_ABS(a[2 * i] + a[2 * i + 1], c_ref(8) - h[i], 16 * DBL_EPSILON);
    }
    /* missing = fail: a NaN is an error naming row and feature */
    {
        const double xn[2] = {NAN, 0.5};
        double o = 0;
        enum ml_status st = iforest_score(f, xn, 1, 1, &o, 1, &err);
        CHECK(st == ML_EDOM, "status %d", (int)st);
        CHECK(strstr(err.msg, "row 1") && strstr(err.msg, "\"temp\""), "message: %s", err.msg);
    }
    iforest_free(f);
}

TEST(iforest, hand_built_divide)
{
    /* p0 = (NaN, 0.5): tree A divides at the root (3/8 left); tree B goes
     * right.  p1 = (0.9, NaN): A divides at node 1 (1/5 left), B at the root
     * (6/8 left).  p2 = (inf, 2): inf counts as missing like NaN. */
    const double x[6] = {NAN, 0.9, INFINITY, 0.5, NAN, 2.0};
    double h[3], s[3], a[6], hA[3], hB[3];
    struct iforest *f = hand_forest(IFOREST_MISSING_DIVIDE);
    struct ml_err err;
    int i;

    CHECK(f != NULL);
    if (!f)
        return;
    CHECK_OK(iforest_prepare(f, &err), &err);
    hA[0] = 3.0 / 8 * (1 + c_ref(3)) + 5.0 / 8 * (2 + c_ref(1));
    hB[0] = 1 + c_ref(2);
    hA[1] = 1.0 / 5 * (2 + c_ref(1)) + 4.0 / 5 * (2 + c_ref(4));
    hB[1] = 6.0 / 8 * (1 + c_ref(6)) + 2.0 / 8 * (1 + c_ref(2));
    hA[2] = 3.0 / 8 * (1 + c_ref(3)) + 5.0 / 8 * (2 + c_ref(4));
    hB[2] = 1 + c_ref(2);
    CHECK_OK(iforest_path_length(f, x, 3, 3, h, 1, &err), &err);
    CHECK_OK(iforest_score(f, x, 3, 3, s, 2, &err), &err);
    for (i = 0; i < 3; i++) {
        double eh = (hA[i] + hB[i]) / 2;
        CHECK_REL(h[i], eh, 8 * DBL_EPSILON);
        CHECK_REL(s[i], pow(2.0, -eh / c_ref(8)), 8 * DBL_EPSILON);
    }
    CHECK_OK(iforest_explain(f, x, 3, 3, a, &err), &err);
    /* p0 = (NaN, 0.5): its missing temp is divided by the training fractions,
     * which here equal the size fractions an unknown feature is divided by, so
     * knowing it changes nothing and it gets only the common share; flow: A:
     * v(flow) = v(both) = 3/8 a2 + 5/8 a3; B: v(flow) = v(both) = b2 */
    {
        double a2 = 1 + c_ref(3), a3 = 2 + c_ref(1), a4 = 2 + c_ref(4);
        double b1 = 1 + c_ref(6), b2 = 1 + c_ref(2);
        double vA = 3.0 / 8 * a2 + 1.0 / 8 * a3 + 4.0 / 8 * a4, vB = 6.0 / 8 * b1 + 2.0 / 8 * b2;
        double share = (2 * c_ref(8) - vA - vB) / 2, pA0, pA1, pB0, pB1;
        double vAf = 3.0 / 8 * a2 + 5.0 / 8 * a3;
        shapley2(vA, vA, vAf, vAf, &pA0, &pA1);
        shapley2(vB, vB, b2, b2, &pB0, &pB1);
        CHECK_REL(a[0], share / 2, 16 * DBL_EPSILON);
        CHECK_REL(a[1], (share - pA1 - pB1) / 2, 16 * DBL_EPSILON);
    }
    for (i = 0; i < 3; i++)
        CHECK_ABS(a[2 * i] + a[2 * i + 1], c_ref(8) - h[i], 16 * DBL_EPSILON);
    iforest_free(f);
}

TEST(iforest, hand_built_hyperplane)
{
    /* One tree, d = 2, extension level 1, sample_size 4: the root's normal
     * (1, -1) and offset 0 send x0 - x1 <= 0 left (leaf, 1 row) and the
     * rest right (leaf, 3 rows).  Training box [0, 4] x [0, 4]. */
    const double x[4] = {0.0, 2.0, 1.0, 1.0}; /* rows (0, 1) and (2, 1) */
    double s[2], h[2], a[4];
    struct iforest *f;
    struct ml_err err;

    CHECK_OK(iforest_alloc(&f, 2, 1, 3, 1, &err), &err);
    if (!f)
        return;
    f->tree_start[1] = 3;
    f->sample_size = 4;
    f->left[0] = 1;
    f->right[0] = 2;
    f->coef[0] = 1.0;
    f->coef[1] = -1.0;
    f->split[0] = 0.0;
    f->size[0] = 4;
    f->size[1] = 1;
    f->size[2] = 3;
    f->frac_left[0] = 0.25;
    f->fmin[0] = f->fmin[1] = 0.0;
    f->fmax[0] = f->fmax[1] = 4.0;
    CHECK_OK(iforest_prepare(f, &err), &err);
    CHECK_OK(iforest_path_length(f, x, 2, 2, h, 1, &err), &err);
    CHECK_OK(iforest_score(f, x, 2, 2, s, 1, &err), &err);
    CHECK_REL(h[0], 1.0, DBL_EPSILON);
    CHECK_REL(h[1], 1.0 + c_ref(3), DBL_EPSILON);
    CHECK_REL(s[0], pow(2.0, -1.0 / c_ref(4)), 4 * DBL_EPSILON);
    CHECK_REL(s[1], pow(2.0, -(1.0 + c_ref(3)) / c_ref(4)), 4 * DBL_EPSILON);
    /* explanations: the plane's point nearest the box centre (2, 2) is
     * (2, 2) itself; row (2, 1) differs only in x1, so x1 takes it all;
     * row (0, 1): terms |1 (0 - 2)| = 2 and |-1 (1 - 2)| = 1, shares 2:1 */
    CHECK_OK(iforest_explain(f, x, 2, 2, a, &err), &err);
    CHECK_REL(a[0], 2.0 / 3.0 * (c_ref(4) - 1 - c_ref(1)), 8 * DBL_EPSILON);
    CHECK_REL(a[1], 1.0 / 3.0 * (c_ref(4) - 1 - c_ref(1)), 8 * DBL_EPSILON);
    CHECK_ABS(a[2], 0.0, DBL_EPSILON);
    CHECK_REL(a[3], c_ref(4) - 1 - c_ref(3), 8 * DBL_EPSILON);
    iforest_free(f);
}

TEST(iforest, prepare_rejects_bad_forests)
{
    struct iforest *f;
    struct ml_err err;
    enum ml_status st;

    /* child outside the tree */
    f = hand_forest(IFOREST_MISSING_FAIL);
    f->right[1] = 7;
    st = iforest_prepare(f, &err);
    CHECK(st == ML_EINVAL && strstr(err.msg, "tree 0, node 1"), "%d: %s", (int)st, err.msg);
    iforest_free(f);
    /* a cycle back to the root */
    f = hand_forest(IFOREST_MISSING_FAIL);
    f->left[1] = 0;
    st = iforest_prepare(f, &err);
    CHECK(st == ML_EINVAL, "%d: %s", (int)st, err.msg);
    iforest_free(f);
    /* an unreachable node */
    f = hand_forest(IFOREST_MISSING_FAIL);
    f->left[0] = -1;
    f->right[0] = -1;
    st = iforest_prepare(f, &err);
    CHECK(st == ML_EINVAL && strstr(err.msg, "not reached"), "%d: %s", (int)st, err.msg);
    iforest_free(f);
    /* feature out of range */
    f = hand_forest(IFOREST_MISSING_FAIL);
    f->feature[5] = 2;
    st = iforest_prepare(f, &err);
    CHECK(st == ML_EINVAL && strstr(err.msg, "tree 1, node 0"), "%d: %s", (int)st, err.msg);
    iforest_free(f);
    /* root size differs from sample_size */
    f = hand_forest(IFOREST_MISSING_FAIL);
    f->size[5] = 7;
    st = iforest_prepare(f, &err);
    CHECK(st == ML_EINVAL && strstr(err.msg, "root size"), "%d: %s", (int)st, err.msg);
    iforest_free(f);
    /* NaN split, bad frac_left */
    f = hand_forest(IFOREST_MISSING_FAIL);
    f->split[1] = NAN;
    CHECK(iforest_prepare(f, &err) == ML_EINVAL);
    f->split[1] = 1.0;
    f->frac_left[1] = 1.5;
    CHECK(iforest_prepare(f, &err) == ML_EINVAL);
    /* tree_start not increasing; sample_size too small */
    f->frac_left[1] = 0.2;
    f->tree_start[1] = 0;
    CHECK(iforest_prepare(f, &err) == ML_EINVAL);
    f->tree_start[1] = 5;
    f->sample_size = 1;
    CHECK(iforest_prepare(f, &err) == ML_EINVAL);
    f->sample_size = 8;
    CHECK_OK(iforest_prepare(f, &err), &err);
    /* a bad forest is rejected by scoring too */
    {
        double x[2] = {0, 0}, s, at[2];
        iforest_prepare(f, &err);
        f->feature[0] = 9;
        {
            struct iforest_packed *keep = f->packed;
            f->packed = NULL;
            CHECK(iforest_score(f, x, 1, 1, &s, 1, &err) == ML_EINVAL);
            CHECK(iforest_explain(f, x, 1, 1, at, &err) == ML_EINVAL);
            f->packed = keep;
        }
        f->feature[0] = 0;
        CHECK(iforest_score(f, x, 1, 1, &s, 0, &err) == ML_EINVAL);
        CHECK(iforest_score(f, x, 2, 1, &s, 1, &err) == ML_EINVAL);
    }
    iforest_free(f);
    iforest_free(NULL);
    CHECK(iforest_alloc(&f, 0, 1, 1, 0, &err) == ML_EINVAL && f == NULL);
    CHECK(iforest_alloc(&f, 2, 2, 1, 0, &err) == ML_EINVAL);
    CHECK(iforest_alloc(&f, 2, 1, 1, 2, &err) == ML_EINVAL);
    CHECK(iforest_alloc(&f, 2, 1, (size_t)INT32_MAX + 1, 0, &err) == ML_ELIMIT);
}

/* ---- data ------------------------------------------------------------------ */

/* n rows x d features of correlated Gaussians, column-major, seed-driven. */
static double *gauss_data(size_t n, int d, uint64_t seed)
{
    double *x = malloc(n * (size_t)d * sizeof *x);
    struct ml_rng r;
    size_t i;
    int j;

    if (!x)
        return NULL;
    ml_rng_seed(&r, seed, 0);
    for (i = 0; i < n; i++) {
        double prev = 0.0;
        for (j = 0; j < d; j++) {
            double z = ml_rng_normal(&r);
            x[(size_t)j * n + i] = (1.0 + 0.5 * j) * z + 0.6 * prev;
            prev = z;
        }
    }
    return x;
}

static int forests_identical(const struct iforest *a, const struct iforest *b)
{
    size_t nn = a->n_nodes;

    if (a->n_nodes != b->n_nodes || a->n_trees != b->n_trees || a->d != b->d ||
        a->sample_size != b->sample_size || a->max_depth != b->max_depth)
        return 0;
    if (memcmp(a->tree_start, b->tree_start, ((size_t)a->n_trees + 1) * sizeof(size_t)) ||
        memcmp(a->left, b->left, nn * 4) || memcmp(a->right, b->right, nn * 4) ||
        memcmp(a->feature, b->feature, nn * 4) || memcmp(a->split, b->split, nn * 8) ||
        memcmp(a->frac_left, b->frac_left, nn * 8) || memcmp(a->size, b->size, nn * 4))
        return 0;
    if ((a->coef == NULL) != (b->coef == NULL))
        return 0;
    if (a->coef && memcmp(a->coef, b->coef, nn * (size_t)a->d * 8))
        return 0;
    return memcmp(a->fmin, b->fmin, (size_t)a->d * 8) == 0 &&
           memcmp(a->fmax, b->fmax, (size_t)a->d * 8) == 0 &&
           memcmp(&a->threshold, &b->threshold, 8) == 0;
}

/* Invariants of a fitted forest; returns the number of violations. */
static int check_structure(const struct iforest *f)
{
    int t, bad = 0;

    for (t = 0; t < f->n_trees; t++) {
        size_t base = f->tree_start[t], sz = f->tree_start[t + 1] - base, v;
        int depth[4096];
        if (sz > 4096)
            return 1;
        if (f->size[base] != f->sample_size)
            bad++;
        depth[0] = 0;
        for (v = 0; v < sz; v++) {
            size_t g = base + v;
            if (f->left[g] < 0) {
                if (depth[v] > f->max_depth)
                    bad++;
                continue;
            }
            {
                size_t l = base + (size_t)f->left[g], r = base + (size_t)f->right[g];
                depth[f->left[g]] = depth[f->right[g]] = depth[v] + 1;
                if (f->size[l] + f->size[r] != f->size[g])
                    bad++;
                if (f->frac_left[g] != (double)f->size[l] / (double)f->size[g])
                    bad++;
                if (depth[v] >= f->max_depth || f->size[g] < 2)
                    bad++;
                if (f->extension_level == 0 && (f->size[l] == 0 || f->size[r] == 0))
                    bad++;
            }
        }
    }
    return bad;
}

TEST(iforest, fit_structure_and_determinism)
{
    const size_t n = 2000;
    const int d = 5;
    double *x = gauss_data(n, d, 7), *s1 = malloc(n * sizeof *s1), *s2 = malloc(n * sizeof *s2);
    struct iforest_options o;
    struct ml_err err;
    int ext;

    if (!x || !s1 || !s2) {
        CHECK(0, "out of memory");
        free(x);
        free(s1);
        free(s2);
        return;
    }
    for (ext = 0; ext <= 4; ext += 2) {
        struct iforest *a = NULL, *b = NULL, *c = NULL, *dv = NULL;
        size_t i;
        int same = 1;
        iforest_options_default(&o);
        o.seed = 12345;
        o.extension_level = ext;
        o.threads = 1;
        CHECK_OK(iforest_fit(x, n, d, NULL, &o, &a, &err), &err);
        o.threads = 2;
        CHECK_OK(iforest_fit(x, n, d, NULL, &o, &b, &err), &err);
        o.missing = IFOREST_MISSING_DIVIDE; /* no missing values: the same forest */
        CHECK_OK(iforest_fit(x, n, d, NULL, &o, &dv, &err), &err);
        o.missing = IFOREST_MISSING_FAIL;
        o.seed = 12346;
        CHECK_OK(iforest_fit(x, n, d, NULL, &o, &c, &err), &err);
        if (!a || !b || !c || !dv) {
            iforest_free(a);
            iforest_free(b);
            iforest_free(c);
            iforest_free(dv);
            continue;
        }
        CHECK(forests_identical(a, b), "ext %d: threads 1 and 2 give different forests", ext);
        CHECK(forests_identical(a, dv), "ext %d: missing = divide changed a complete fit", ext);
        CHECK(!forests_identical(a, c), "ext %d: seeds 12345 and 12346 give the same forest",
              ext);
        CHECK(a->n_trees == 100 && a->sample_size == 256 && a->max_depth == 8);
        CHECK(strcmp(a->feature_names[0], "x1") == 0 && strcmp(a->feature_names[4], "x5") == 0);
        CHECK(check_structure(a) == 0, "ext %d: %d structural violations", ext,
              check_structure(a));
        CHECK_OK(iforest_score(a, x, n, n, s1, 1, &err), &err);
        CHECK_OK(iforest_score(b, x, n, n, s2, 2, &err), &err);
        for (i = 0; i < n; i++)
            same &= s1[i] == s2[i];
        CHECK(same, "ext %d: scores differ between 1 and 2 threads", ext);
        iforest_free(a);
        iforest_free(b);
        iforest_free(c);
        iforest_free(dv);
    }
    free(x);
    free(s1);
    free(s2);
}

TEST(iforest, fit_options_and_errors)
{
    const size_t n = 300;
    double *x = gauss_data(n, 3, 3);
    const char *names[3] = {"alpha", "beta", "gamma"};
    struct iforest_options o;
    struct iforest *f = NULL;
    struct ml_err err;
    enum ml_status st;

    if (!x)
        return;
#define BAD(field, value)                                                           \
    do {                                                                            \
        iforest_options_default(&o);                                                \
        o.field = value;                                                            \
        st = iforest_fit(x, n, 3, names, &o, &f, &err);                             \
        CHECK(st == ML_EINVAL && f == NULL && strstr(err.msg, #field),              \
              #field " = " #value ": status %d, %s", (int)st, err.msg);             \
    } while (0)
    BAD(n_trees, 0);
    BAD(sample_size, 1);
    BAD(max_depth, -1);
    BAD(max_depth, IFOREST_DEPTH_MAX + 1);
    BAD(extension_level, 3);
    BAD(extension_level, -1);
    BAD(contamination, 0.6);
    BAD(contamination, NAN);
    BAD(threads, 0);
    BAD(missing, (enum iforest_missing)7);
#undef BAD
    iforest_options_default(&o);
    st = iforest_fit(x, 1, 3, names, &o, &f, &err);
    CHECK(st == ML_EINVAL && f == NULL, "n = 1: %d", (int)st);

    /* sample_size capped at n; max_depth from it; names copied */
    o.sample_size = 100000;
    CHECK_OK(iforest_fit(x, n, 3, names, &o, &f, &err), &err);
    if (f) {
        CHECK(f->sample_size == n && f->max_depth == 9, "psi %zu depth %d", f->sample_size,
              f->max_depth);
        CHECK(strcmp(f->feature_names[2], "gamma") == 0);
        CHECK(f->threshold == 0.5 && f->offset == -0.5);
        CHECK(check_structure(f) == 0);
        iforest_free(f);
    }

    /* missing = fail: NaN and inf are errors naming row and feature */
    x[1 * n + 41] = NAN;
    iforest_options_default(&o);
    st = iforest_fit(x, n, 3, names, &o, &f, &err);
    CHECK(st == ML_EDOM && f == NULL && strstr(err.msg, "row 42") &&
              strstr(err.msg, "\"beta\""),
          "%d: %s", (int)st, err.msg);
    x[1 * n + 41] = 0.0;
    x[2 * n + 7] = -INFINITY;
    o.threads = 2;
    st = iforest_fit(x, n, 3, NULL, &o, &f, &err);
    CHECK(st == ML_EDOM && strstr(err.msg, "row 8") && strstr(err.msg, "feature 3"), "%d: %s",
          (int)st, err.msg);
    /* missing = divide accepts them; the range ignores them */
    o.missing = IFOREST_MISSING_DIVIDE;
    x[1 * n + 41] = NAN;
    CHECK_OK(iforest_fit(x, n, 3, names, &o, &f, &err), &err);
    if (f) {
        double s[2], xr[6] = {0, 0, NAN, 1e300, 0, NAN};
        CHECK(isfinite(f->fmin[2]) && isfinite(f->fmax[1]));
        CHECK(check_structure(f) == 0);
        CHECK_OK(iforest_score(f, xr, 2, 2, s, 1, &err), &err);
        CHECK(s[0] > 0 && s[0] < 1 && s[1] > 0 && s[1] < 1, "%g %g", s[0], s[1]);
        iforest_free(f);
    }
    free(x);
}

TEST(iforest, scores_outlier_and_threshold)
{
    const size_t n = 2000;
    const int d = 4;
    double *x = gauss_data(n, d, 11), *s = malloc((n + 1) * sizeof *s), *neg = NULL;
    double far[4] = {12, -12, 15, 10}, sf, smax = 0, smin = 1;
    struct iforest_options o;
    struct iforest *f = NULL;
    struct ml_err err;
    size_t i, above = 0;
    int ext;

    if (!x || !s)
        goto out;
    for (ext = 0; ext <= 3; ext += 3) {
        iforest_options_default(&o);
        o.seed = 99;
        o.extension_level = ext;
        CHECK_OK(iforest_fit(x, n, d, NULL, &o, &f, &err), &err);
        if (!f)
            goto out;
        for (i = 0; i < n; i++)
            s[i] = NAN;
        CHECK_OK(iforest_score(f, x, n, n, s, 2, &err), &err);
        smax = 0;
        smin = 1;
        for (i = 0; i < n; i++) {
            CHECK(s[i] > 0.0 && s[i] < 1.0, "row %zu: s = %g", i, s[i]);
            smax = s[i] > smax ? s[i] : smax;
            smin = s[i] < smin ? s[i] : smin;
        }
        CHECK_OK(iforest_score(f, far, 1, 1, &sf, 1, &err), &err);
        CHECK(sf > smax && sf > 0.7, "ext %d: far point %g, inliers up to %g", ext, sf, smax);
        printf("    ext %d: inliers s in [%.3f, %.3f], far outlier %.3f\n", ext, smin, smax, sf);
        iforest_free(f);
        f = NULL;
    }

    /* contamination: offset_ = numpy.percentile(score_samples, 100 c),
     * score_samples = -s, evaluated here independently */
    iforest_options_default(&o);
    o.seed = 5;
    o.contamination = 0.05;
    o.threads = 2;
    CHECK_OK(iforest_fit(x, n, d, NULL, &o, &f, &err), &err);
    if (!f)
        goto out;
    CHECK_OK(iforest_score(f, x, n, n, s, 1, &err), &err);
    neg = malloc(n * sizeof *neg);
    if (!neg)
        goto out;
    for (i = 0; i < n; i++)
        neg[i] = -s[i];
    /* insertion sort is fine for 2000 values and keeps the test self-contained */
    for (i = 1; i < n; i++) {
        double v = neg[i];
        size_t k = i;
        while (k > 0 && neg[k - 1] > v) {
            neg[k] = neg[k - 1];
            k--;
        }
        neg[k] = v;
    }
    {
        double pos = 0.05 * (double)(n - 1), g = pos - floor(pos);
        size_t k = (size_t)floor(pos);
        double want = neg[k] + g * (neg[k + 1] - neg[k]);
        CHECK_REL(f->offset, want, 8 * DBL_EPSILON);
        CHECK(f->threshold == -f->offset);
    }
    for (i = 0; i < n; i++)
        above += s[i] > f->threshold;
    CHECK(above >= 99 && above <= 101, "%zu of %zu training rows above the threshold", above, n);
out:
    iforest_free(f);
    free(x);
    free(s);
    free(neg);
}

/* ---- explanations ---------------------------------------------------------- */

/* 2000 normal rows, N(0, 1) in each of 6 features, then 100 anomalies with
 * feature 3 shifted by +5 sd (issue acceptance 4), column-major. */
static double *shifted_data(uint64_t seed, size_t nn, size_t na, int d, int shifted)
{
    size_t n = nn + na, i;
    double *x = malloc(n * (size_t)d * sizeof *x);
    struct ml_rng r;
    int j;

    if (!x)
        return NULL;
    ml_rng_seed(&r, seed, 0);
    for (i = 0; i < n; i++)
        for (j = 0; j < d; j++)
            x[(size_t)j * n + i] = ml_rng_normal(&r) + (i >= nn && j == shifted ? 5.0 : 0.0);
    return x;
}

/* Anomalous rows [nn, n) whose largest attribution is feature `shifted`. */
static size_t count_top(const double *a, size_t nn, size_t n, int d, int shifted)
{
    size_t i, top = 0;
    int j;

    for (i = nn; i < n; i++) {
        int best = 0;
        for (j = 1; j < d; j++)
            if (a[i * d + j] > a[i * d + best])
                best = j;
        top += best == shifted;
    }
    return top;
}

TEST(iforest, explain_sums_to_deficit)
{
    const size_t nn = 2000, na = 100, n = nn + na;
    const int d = 6, shifted = 3;
    double *x = shifted_data(2024, nn, na, d, shifted), *a = malloc(n * d * sizeof *a),
           *h = malloc(n * sizeof *h);
    const char *names[6] = {"f0", "f1", "f2", "f3", "f4", "f5"};
    struct iforest_options o;
    struct ml_err err;
    size_t i;
    int j, ext;

    if (!x || !a || !h) {
        free(x);
        free(a);
        free(h);
        return;
    }
    for (ext = 0; ext <= 5; ext += 5) {
        struct iforest *f = NULL;
        double worst = 0.0, cpsi;
        iforest_options_default(&o);
        o.seed = 77;
        o.extension_level = ext;
        CHECK_OK(iforest_fit(x, n, d, names, &o, &f, &err), &err);
        if (!f)
            continue;
        cpsi = iforest_c((double)f->sample_size);
        CHECK_OK(iforest_path_length(f, x, n, n, h, 1, &err), &err);
        for (i = 0; i < n * d; i++)
            a[i] = NAN;
        CHECK_OK(iforest_explain(f, x, n, n, a, &err), &err);
        {
            /* two threads: the same bits */
            double *a2 = malloc(n * d * sizeof *a2);
            if (a2) {
                CHECK_OK(iforest_explain_mt(f, x, n, n, a2, 2, &err), &err);
                CHECK(memcmp(a, a2, n * d * sizeof *a2) == 0,
                      "ext %d: explanations differ with 2 threads", ext);
                free(a2);
            }
        }
        for (i = 0; i < n; i++) {
            double sum = 0.0;
            for (j = 0; j < d; j++)
                sum += a[i * d + j];
            worst = fmax(worst, fabs(sum - (cpsi - h[i])));
        }
        CHECK(worst <= 1e-12, "ext %d: sum of attributions off the deficit by %.3g", ext, worst);
        printf("    ext %d: |sum of attributions - (c(psi) - E[h])| <= %.2e over %zu rows; "
               "f3 tops %zu of %zu shifted rows\n",
               ext, worst, n, count_top(a, nn, n, d, shifted), na);
        /* with missing values divided the sums still hold (axis-parallel
         * and hyperplane splits) */
        {
            struct iforest *g = NULL;
            double xm[2 * 6], hm[2], am[12];
            o.missing = IFOREST_MISSING_DIVIDE;
            CHECK_OK(iforest_fit(x, n, d, names, &o, &g, &err), &err);
            for (j = 0; j < d; j++) {
                xm[j * 2] = x[(size_t)j * n + nn]; /* an anomaly */
                xm[j * 2 + 1] = x[(size_t)j * n + 5];
            }
            xm[3 * 2] = NAN;     /* its shifted feature missing */
            xm[0 * 2 + 1] = NAN; /* two missing in the other row */
            xm[5 * 2 + 1] = NAN;
            if (g) {
                CHECK_OK(iforest_path_length(g, xm, 2, 2, hm, 1, &err), &err);
                CHECK_OK(iforest_explain(g, xm, 2, 2, am, &err), &err);
                for (i = 0; i < 2; i++) {
                    double sum = 0.0;
                    for (j = 0; j < d; j++)
                        sum += am[i * d + j];
                    CHECK_ABS(sum, cpsi - hm[i], 1e-12);
                    CHECK(isfinite(hm[i]));
                }
                iforest_free(g);
            }
            o.missing = IFOREST_MISSING_FAIL;
            {
                enum ml_status st = iforest_explain(f, xm, 2, 2, am, &err);
                CHECK(st == ML_EDOM && strstr(err.msg, "\"f3\"") && strstr(err.msg, "row 1"),
                      "%d: %s", (int)st, err.msg);
            }
        }
        iforest_free(f);
    }
    free(x);
    free(a);
    free(h);
}

/* Reference for the explanations by the definition: per tree, v(S) for
 * every coalition S by walking the tree (features outside S unknown: both
 * children, weighted by their training sizes; a missing value known: both,
 * by frac_left), then Shapley's weighted sum over the 2^d coalitions. */
static double ref_value(const struct iforest *f, size_t base, int32_t v, const double *x,
                        size_t stride, unsigned known, int depth)
{
    size_t g = base + (size_t)v, gl, gr;
    int j = f->feature[g];
    double w, xv;

    if (f->left[g] < 0)
        return depth + c_ref((long)f->size[g]);
    gl = base + (size_t)f->left[g];
    gr = base + (size_t)f->right[g];
    xv = x[(size_t)j * stride];
    if (!(known >> j & 1))
        w = (double)f->size[gl] / (double)(f->size[gl] + f->size[gr]);
    else if (!isfinite(xv))
        w = f->frac_left[g];
    else
        return ref_value(f, base, xv <= f->split[g] ? f->left[g] : f->right[g], x, stride, known,
                         depth + 1);
    return w * ref_value(f, base, f->left[g], x, stride, known, depth + 1) +
           (1 - w) * ref_value(f, base, f->right[g], x, stride, known, depth + 1);
}

static void ref_explain(const struct iforest *f, const double *x, size_t stride, double *attr)
{
    int d = f->d, t, j;
    unsigned m, full = (1u << d) - 1;
    double v[1 << 6], fact[8] = {1, 1, 2, 6, 24, 120, 720, 5040}, share = 0.0;

    for (j = 0; j < d; j++)
        attr[j] = 0.0;
    for (t = 0; t < f->n_trees; t++) {
        for (m = 0; m <= full; m++)
            v[m] = ref_value(f, f->tree_start[t], 0, x, stride, m, 0);
        share += c_ref((long)f->sample_size) - v[0];
        for (j = 0; j < d; j++)
            for (m = 0; m <= full; m++)
                if (!(m >> j & 1)) {
                    int s = __builtin_popcount(m);
                    attr[j] -= fact[s] * fact[d - s - 1] / fact[d] * (v[m | 1u << j] - v[m]);
                }
    }
    for (j = 0; j < d; j++)
        attr[j] = (attr[j] + share / d) / f->n_trees;
}

TEST(iforest, explain_equals_shapley_by_definition)
{
    const size_t nn = 500, na = 20, n = nn + na;
    const int d = 6, shifted = 3;
    double *x = shifted_data(9, nn, na, d, shifted), a[6], want[6], worst = 0.0;
    struct iforest_options o;
    struct iforest *f = NULL;
    struct ml_err err;
    size_t rows[5] = {0, 7, nn, nn + 5, n - 1}, k;
    int j, pass;

    if (!x)
        return;
    for (pass = 0; pass < 2; pass++) {
        iforest_options_default(&o);
        o.seed = 5;
        o.n_trees = 20;
        o.missing = pass ? IFOREST_MISSING_DIVIDE : IFOREST_MISSING_FAIL;
        if (pass) /* some missing values, in training and in the rows explained */
            for (k = 0; k < n; k += 13)
                x[(size_t)(k % d) * n + k] = NAN;
        CHECK_OK(iforest_fit(x, n, d, NULL, &o, &f, &err), &err);
        if (!f)
            break;
        for (k = 0; k < 5; k++) {
            CHECK_OK(iforest_explain(f, x + rows[k], 1, n, a, &err), &err);
            ref_explain(f, x + rows[k], n, want);
            for (j = 0; j < d; j++) {
                CHECK_ABS(a[j], want[j], 1e-12);
                worst = fmax(worst, fabs(a[j] - want[j]));
            }
        }
        iforest_free(f);
        f = NULL;
    }
    printf("    largest |attribution - Shapley by definition| %.2e\n", worst);
    free(x);
}

/* Issue acceptance 4: the shifted feature tops the attribution for >= 95%
 * of the shifted rows, with the default 100 trees.  The 100 anomalies are
 * 5% of the training data, so each sub-sample holds a small cluster of them
 * around x3 = 5 and a row of that cluster that is also in the tail of
 * another feature is isolated from its cluster by that feature: such rows
 * (a few in 100) can go either way, and one forest of 100 trees lands
 * anywhere in 89-100%.  So the rate is pooled over 5 data sets x 4 seeds and
 * held to >= 95% at 100 and 500 trees (hyperplane trees, whose
 * attributions share each cut among its coordinates: >= 80%).  Measured
 * when the Shapley rule replaced the per-split telescoping rule (which gave
 * 93.7% and 96.2%): 95.4% and 97.0%. */
TEST(iforest, explain_shifted_feature_tops)
{
    const size_t nn = 2000, na = 100, n = nn + na;
    const int d = 6, shifted = 3, trees[2] = {100, 500};
    double *a = malloc(n * d * sizeof *a);
    struct iforest_options o;
    struct ml_err err;
    int q, ext;

    if (!a)
        return;
    for (ext = 0; ext <= 5; ext += 5)
        for (q = 0; q < 2; q++) {
            size_t top = 0, total = 0, lo = na, hi = 0;
            uint64_t ds, fs;
            for (ds = 1; ds <= 5; ds++) {
                double *x = shifted_data(ds, nn, na, d, shifted);
                if (!x)
                    break;
                for (fs = 1; fs <= 4; fs++) {
                    struct iforest *f = NULL;
                    size_t t;
                    iforest_options_default(&o);
                    o.seed = fs;
                    o.n_trees = trees[q];
                    o.extension_level = ext;
                    o.threads = 2;
                    CHECK_OK(iforest_fit(x, n, d, NULL, &o, &f, &err), &err);
                    if (!f)
                        continue;
                    /* only the shifted rows need explaining */
                    CHECK_OK(iforest_explain(f, x + nn, na, n, a + nn * d, &err), &err);
                    t = count_top(a, nn, n, d, shifted);
                    top += t;
                    total += na;
                    lo = t < lo ? t : lo;
                    hi = t > hi ? t : hi;
                    iforest_free(f);
                }
                free(x);
            }
            printf("    ext %d, %d trees: f3 tops %zu of %zu shifted rows (%.1f%%; per run "
                   "%zu ... %zu of %zu)\n",
                   ext, trees[q], top, total, 100.0 * top / total, lo, hi, na);
            if (ext == 0)
                CHECK(top >= (size_t)ceil(0.95 * total),
                      "%d trees: f3 tops %zu of %zu", trees[q], top, total);
            else
                CHECK(top >= (size_t)ceil(0.80 * total), "ext 5, %d trees: f3 tops %zu of %zu",
                      trees[q], top, total);
        }
    free(a);
}

/* ---- scikit-learn, live ------------------------------------------------------- */

static int python_sklearn(char *why, size_t len)
{
    int rc = system("/usr/bin/python3 -c 'import sklearn, numpy' >/dev/null 2>&1");
    if (rc != 0) {
        snprintf(why, len,
                 "!!! scikit-learn NOT INSTALLED (/usr/bin/python3 cannot import sklearn): the "
                 "live comparison with scikit-learn did NOT run (apt-get install "
                 "python3-sklearn) !!!");
        return 0;
    }
    return 1;
}

/* Run tests/golden/iforest_sklearn.py with `args`; 0 on success. */
static int run_sklearn(const char *args, const char *log)
{
    char cmd[16384];
    int rc;

    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/golden/iforest_sklearn.py' %s >'%s' 2>&1",
             test_dir(), args, log);
    rc = system(cmd);
    if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
        CHECK(0, "`%s` failed (status %d); see %s", cmd, rc, log);
        return -1;
    }
    {
        FILE *fp = fopen(log, "r");
        char line[256];
        if (fp) {
            if (fgets(line, sizeof line, fp))
                printf("    %s", line);
            fclose(fp);
        }
    }
    return 0;
}

static struct ml_table *read_table(const char *path, char delim, const char *cat)
{
    struct csv_options co;
    struct ml_table *t = NULL;
    struct ml_err err;
    const char *cats[1];

    csv_options_default(&co);
    co.delim = delim;
    if (cat) {
        cats[0] = cat;
        co.categorical = cats;
        co.ncategorical = 1;
    }
    if (csv_read_file(path, &co, &t, NULL, &err) != ML_OK) {
        CHECK(0, "reading %s: %s", path, err.msg);
        return NULL;
    }
    return t;
}

static const double *column(const struct ml_table *t, const char *name)
{
    long j = ml_table_find(t, name);
    if (j < 0) {
        CHECK(0, "no column %s", name);
        return NULL;
    }
    return t->col[j].v;
}

struct rank_item {
    double s;
    size_t i;
};

static int cmp_rank(const void *a, const void *b)
{
    const struct rank_item *x = a, *y = b;
    return (x->s > y->s) - (x->s < y->s);
}

/* ROC AUC of scores s (higher = anomaly) for 0/1 labels, by the rank-sum
 * (Mann-Whitney) identity AUC = (R1 - n1 (n1 + 1) / 2) / (n1 n0), ties given
 * their average rank.  NaN if one class is empty. */
static double auc(const double *s, const double *label, size_t n)
{
    struct rank_item *it = malloc(n * sizeof *it);
    double r1 = 0.0, n1 = 0.0, n0;
    size_t i, k;

    if (!it)
        return NAN;
    for (i = 0; i < n; i++) {
        it[i].s = s[i];
        it[i].i = i;
    }
    qsort(it, n, sizeof *it, cmp_rank);
    for (i = 0; i < n; i = k) {
        double avg;
        for (k = i + 1; k < n && it[k].s == it[i].s; k++)
            ;
        avg = 0.5 * (double)(i + 1 + k); /* ranks i+1 ... k */
        for (size_t q = i; q < k; q++)
            if (label[it[q].i] > 0.5) {
                r1 += avg;
                n1 += 1.0;
            }
    }
    free(it);
    n0 = (double)n - n1;
    if (n1 == 0.0 || n0 == 0.0)
        return NAN;
    return (r1 - n1 * (n1 + 1.0) / 2.0) / (n1 * n0);
}

static int write_csv(const char *path, const double *x, size_t n, int d,
                     const char *const *names, const double *extra, const char *extra_name)
{
    FILE *fp = fopen(path, "w");
    size_t i;
    int j;

    if (!fp)
        return -1;
    for (j = 0; j < d; j++)
        fprintf(fp, "%s%s", j ? "," : "", names[j]);
    fprintf(fp, extra ? ",%s\n" : "\n", extra_name);
    for (i = 0; i < n; i++) {
        for (j = 0; j < d; j++)
            fprintf(fp, "%s%.17g", j ? "," : "", x[(size_t)j * n + i]);
        if (extra)
            fprintf(fp, ",%.17g", extra[i]);
        fputc('\n', fp);
    }
    return fclose(fp) == 0 ? 0 : -1;
}

/* A fixed data set that exercises the corner cases of the split rule:
 * two Gaussian clusters, a uniform background, far outliers, an
 * integer-valued feature (constant within many nodes) and a block of
 * identical rows.  float32 values, as scikit-learn sees them. */
static double *live_data(size_t n, int d)
{
    double *x = malloc(n * (size_t)d * sizeof *x);
    struct ml_rng r;
    size_t i;
    int j;

    if (!x)
        return NULL;
    ml_rng_seed(&r, 31337, 0);
    for (i = 0; i < n; i++) {
        double v[4];
        double u = (double)i / (double)n;
        if (u < 0.62) {
            v[0] = ml_rng_normal(&r);
            v[1] = 0.8 * v[0] + 1.5 * ml_rng_normal(&r);
            v[2] = 0.5 * ml_rng_normal(&r);
            v[3] = ml_rng_normal(&r);
        } else if (u < 0.90) {
            v[0] = 4 + 0.5 * ml_rng_normal(&r);
            v[1] = -3 + 0.5 * ml_rng_normal(&r);
            v[2] = 2 + 0.5 * ml_rng_normal(&r);
            v[3] = 2 * ml_rng_normal(&r);
        } else if (u < 0.96) {
            for (j = 0; j < 4; j++)
                v[j] = 16 * ml_rng_uniform(&r) - 8;
        } else if (u < 0.975) {
            for (j = 0; j < 4; j++)
                v[j] = (ml_rng_uniform(&r) < 0.5 ? -1 : 1) * (10 + 5 * ml_rng_uniform(&r));
        } else {
            v[0] = 1.25;
            v[1] = -0.5;
            v[2] = 0.75;
            v[3] = 1.0; /* identical rows */
        }
        v[3] = floor(v[3] + 0.5); /* integer-valued */
        for (j = 0; j < d; j++)
            x[(size_t)j * n + i] = (double)(float)v[j];
    }
    return x;
}

/* Issue acceptance 2: the mean score of each row over 50 seeds, plantfit
 * against scikit-learn's IsolationForest(n_estimators=100, max_samples=256,
 * random_state=seed), agrees within 4 standard errors (both sides' se
 * combined) for >= 99% of the rows.  The two draw different random numbers,
 * so only the distributions of the forests can agree.
 *
 * scikit-learn's c(n) is 2(ln(n-1) + gamma) - 2(n-1)/n for every n > 2,
 * while ours uses the exact harmonic number H(n-1), as the issue asks: c(3)
 * is 1.21 there and 5/3 here.  Rows that end in small multi-row leaves
 * (duplicates, integer features) therefore score systematically differently
 * from the shipped score_samples, by an amount unrelated to how the trees
 * are grown.  The reference script also rescores scikit-learn's own trees
 * with the exact c(n), and the check is against that: it tests that the
 * forests are the same random object.  And with path_correction =
 * asymptotic (scikit-learn's c(n)) plantfit's own scores are held to the
 * same 99% against the shipped score_samples; the exact rule against the
 * shipped scores is printed too. */
TEST(iforest, sklearn_mean_scores_live)
{
    const size_t n = 3000;
    const int d = 4, nseeds = 50;
    const char *names[4] = {"a", "b", "c", "k"};
    char why[512], csv[600], out[600], log[600], args[4096];
    double *x = NULL, *mean = NULL, *m2 = NULL, *s = NULL, *mean_a = NULL, *m2_a = NULL;
    struct ml_table *ref = NULL;
    const char *tmp;
    size_t i, within = 0, within_shipped = 0, within_asym = 0;
    int k;
    double worst_z = 0.0;

    if (slow_tests_off("the live comparison with scikit-learn"))
        return;
    if (!python_sklearn(why, sizeof why)) {
        test_skip(why);
        return;
    }
    x = live_data(n, d);
    mean = calloc(n, sizeof *mean);
    m2 = calloc(n, sizeof *m2);
    s = malloc(n * sizeof *s);
    mean_a = calloc(n, sizeof *mean_a);
    m2_a = calloc(n, sizeof *m2_a);
    if (!x || !mean || !m2 || !s || !mean_a || !m2_a)
        goto out;
    tmp = test_tmpdir();
    snprintf(csv, sizeof csv, "%s/live.csv", tmp);
    snprintf(out, sizeof out, "%s/sklearn.csv", tmp);
    snprintf(log, sizeof log, "%s/sklearn.log", tmp);
    CHECK(write_csv(csv, x, n, d, names, NULL, NULL) == 0);
    snprintf(args, sizeof args,
             "--train '%s' --score '%s' --features a,b,c,k --seeds 0:%d --out '%s'", csv, csv,
             nseeds, out);
    if (run_sklearn(args, log) != 0)
        goto out;

    /* plantfit: 50 seeds, Welford's running mean and variance per row */
    for (k = 0; k < nseeds; k++) {
        struct iforest_options o;
        struct iforest *f = NULL;
        struct ml_err err;
        iforest_options_default(&o);
        o.seed = (uint64_t)k;
        o.threads = 2;
        CHECK_OK(iforest_fit(x, n, d, names, &o, &f, &err), &err);
        if (!f)
            goto out;
        CHECK_OK(iforest_score(f, x, n, n, s, 2, &err), &err);
        iforest_free(f);
        for (i = 0; i < n; i++) {
            double delta = s[i] - mean[i];
            mean[i] += delta / (k + 1);
            m2[i] += delta * (s[i] - mean[i]);
        }
        /* the same seed with scikit-learn's c(n) */
        o.correction = IFOREST_C_ASYMPTOTIC;
        f = NULL;
        CHECK_OK(iforest_fit(x, n, d, names, &o, &f, &err), &err);
        if (!f)
            goto out;
        CHECK_OK(iforest_score(f, x, n, n, s, 2, &err), &err);
        iforest_free(f);
        for (i = 0; i < n; i++) {
            double delta = s[i] - mean_a[i];
            mean_a[i] += delta / (k + 1);
            m2_a[i] += delta * (s[i] - mean_a[i]);
        }
    }
    ref = read_table(out, ',', NULL);
    if (!ref)
        goto out;
    CHECK(ref->nrow == n, "%zu rows from sklearn", ref->nrow);
    if (ref->nrow != n)
        goto out;
    {
        const double *rm = column(ref, "mean_exact"), *rs = column(ref, "sd_exact");
        const double *sm = column(ref, "mean"), *ss = column(ref, "sd");
        double sum_diff = 0, sum_diff_shipped = 0;
        if (!rm || !rs || !sm || !ss)
            goto out;
        for (i = 0; i < n; i++) {
            double sd1 = sqrt(m2[i] / (nseeds - 1));
            double se = sqrt((sd1 * sd1 + rs[i] * rs[i]) / nseeds);
            double se2 = sqrt((sd1 * sd1 + ss[i] * ss[i]) / nseeds);
            double z = fabs(mean[i] - rm[i]) / se;
            worst_z = z > worst_z ? z : worst_z;
            within += z <= 4.0;
            within_shipped += fabs(mean[i] - sm[i]) <= 4.0 * se2;
            {
                double sda = sqrt(m2_a[i] / (nseeds - 1));
                double se3 = sqrt((sda * sda + ss[i] * ss[i]) / nseeds);
                within_asym += fabs(mean_a[i] - sm[i]) <= 4.0 * se3;
            }
            sum_diff += mean[i] - rm[i];
            sum_diff_shipped += mean[i] - sm[i];
        }
        /* The issue fixes the exact c(n), so the governing comparison is
         * with scikit-learn's own trees rescored with it; shipped
         * scikit-learn takes H(i) ~ ln i + gamma at every leaf, which
         * shifts small leaves' c(size) and so every score a little in one
         * direction: that figure is printed, not held to 99%. */
        printf("    [asserted >= 99%%] vs scikit-learn's trees rescored with the paper's exact "
               "c(n): %zu of %zu rows (%.2f%%) within 4 se, largest |z| %.2f, mean difference "
               "%+.2e\n",
               within, n, 100.0 * within / n, worst_z, sum_diff / n);
        printf("    [asserted >= 99%%] path_correction=asymptotic vs scikit-learn's shipped "
               "score_samples: %zu of %zu rows (%.2f%%) within 4 se\n",
               within_asym, n, 100.0 * within_asym / n);
        printf("    [reported only] exact c(n) vs scikit-learn's shipped score_samples (c(n) with "
               "H(i) ~ ln i + gamma): %zu of %zu rows (%.2f%%) within 4 se, mean difference "
               "%+.2e\n",
               within_shipped, n, 100.0 * within_shipped / n, sum_diff_shipped / n);
        CHECK(within >= (size_t)ceil(0.99 * n), "only %zu of %zu rows within 4 se", within, n);
        CHECK(within_asym >= (size_t)ceil(0.99 * n),
              "asymptotic c(n): only %zu of %zu rows within 4 se of the shipped scores",
              within_asym, n);
    }
out:
    ml_table_free(ref);
    free(x);
    free(mean);
    free(m2);
    free(s);
    free(mean_a);
    free(m2_a);
}

/* Mean (and standard deviation, ddof 1) over `nseeds` seeds of plantfit's
 * AUC on each of nsets score sets; seeds 1000, 1001, ...; sd_auc may be NULL. */
static void plantfit_aucs(const double *xtr, size_t ntr, int d, double *const *xs,
                          const size_t *ns, double *const *labels, int nsets, int nseeds,
                          double *mean_auc, double *sd_auc)
{
    int k, q;
    size_t maxn = 0;
    double *s, *m2 = calloc((size_t)nsets, sizeof *m2);

    for (q = 0; q < nsets; q++) {
        mean_auc[q] = 0.0;
        maxn = ns[q] > maxn ? ns[q] : maxn;
    }
    s = malloc(maxn * sizeof *s);
    if (!s || !m2) {
        free(s);
        free(m2);
        return;
    }
    for (k = 0; k < nseeds; k++) {
        struct iforest_options o;
        struct iforest *f = NULL;
        struct ml_err err;
        iforest_options_default(&o);
        o.seed = 1000 + (uint64_t)k;
        o.threads = 2;
        CHECK_OK(iforest_fit(xtr, ntr, d, NULL, &o, &f, &err), &err);
        if (!f)
            break;
        for (q = 0; q < nsets; q++) {
            double a, delta;
            CHECK_OK(iforest_score(f, xs[q], ns[q], ns[q], s, 2, &err), &err);
            a = auc(s, labels[q], ns[q]);
            delta = a - mean_auc[q];
            mean_auc[q] += delta / (k + 1);
            m2[q] += delta * (a - mean_auc[q]);
        }
        iforest_free(f);
    }
    if (sd_auc)
        for (q = 0; q < nsets; q++)
            sd_auc[q] = nseeds > 1 ? sqrt(m2[q] / (nseeds - 1)) : 0.0;
    free(s);
    free(m2);
}

/* Mean (and sd, ddof 1, if sd != NULL) over sklearn's seeds s0 ... s<nseeds-1>
 * of its AUC on rows [r0, r0 + n) of its output. */
static double sklearn_auc(const struct ml_table *ref, size_t r0, size_t n, const double *label,
                          int nseeds, double *sd)
{
    double m = 0.0, m2 = 0.0;
    int k;

    for (k = 0; k < nseeds; k++) {
        char name[16];
        const double *col;
        double a, delta;
        snprintf(name, sizeof name, "s%d", k);
        col = column(ref, name);
        if (!col)
            return NAN;
        a = auc(col + r0, label, n);
        delta = a - m;
        m += delta / (k + 1);
        m2 += delta * (a - m);
    }
    if (sd)
        *sd = nseeds > 1 ? sqrt(m2 / (nseeds - 1)) : 0.0;
    return m;
}

#define SKAB_FEATURES 8
static const char *const skab_features[SKAB_FEATURES] = {
    "Accelerometer1RMS", "Accelerometer2RMS", "Current",  "Pressure",
    "Temperature",       "Thermocouple",      "Voltage",  "Volume_Flow_RateRMS"};

/* Feature columns of a table, column-major, and optionally a label. */
static double *take_columns(const struct ml_table *t, const char *const *names, int d)
{
    double *x = malloc(t->nrow * (size_t)d * sizeof *x);
    int j;

    if (!x)
        return NULL;
    for (j = 0; j < d; j++) {
        const double *c = column(t, names[j]);
        if (!c) {
            free(x);
            return NULL;
        }
        memcpy(x + (size_t)j * t->nrow, c, t->nrow * sizeof *x);
    }
    return x;
}

static int cmp_double(const void *a, const void *b)
{
    double u = *(const double *)a, v = *(const double *)b;
    return (u > v) - (u < v);
}

/* Ties at a quantile threshold: with v sorted, the rows flagged strictly
 * above the linear-interpolated quantile at position q = (1 - c)(n - 1)
 * are exactly the top n - 1 - floor(q) unless the two order statistics
 * around q are shared with other rows; returns how many such extra rows
 * there are (0 when both are unique). */
static size_t boundary_ties(const double *v, size_t n, double cont)
{
    double *c = malloc(n * sizeof *c), lo, hi;
    size_t i, k, ties = 0;

    if (!c)
        return n;
    memcpy(c, v, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_double);
    k = (size_t)floor((1.0 - cont) * (double)(n - 1));
    lo = c[k];
    hi = c[k + 1 < n ? k + 1 : k];
    for (i = 0; i < n; i++)
        ties += c[i] == lo || c[i] == hi;
    free(c);
    return ties - (lo == hi ? 1 : 2);
}

/* scikit-learn's outputs with contamination = 0.1 (issue: "outputs like
 * scikit-learn's"): (1) iforest_decision and iforest_is_anomaly, given
 * scikit-learn's own scores and offset_, reproduce its decision_function
 * and predict() row by row; (2) our forest fitted with contamination 0.1
 * flags as many training rows as scikit-learn's predict() does (both set
 * the threshold at the linear-interpolated quantile of the training scores
 * and flag strictly beyond it, so the counts agree exactly unless scores
 * tie); (3) our decision_function is negative exactly where is_anomaly. */
TEST(iforest, sklearn_contamination_rule_live)
{
    const size_t n = 3000;
    const int d = 4;
    const double cont = 0.1;
    const char *names[4] = {"a", "b", "c", "k"};
    char why[512], csv[600], out[600], log[600], args[4096];
    double *x = NULL, *s = NULL;
    struct ml_table *ref = NULL;
    struct iforest *f = NULL;
    const char *tmp;
    size_t i, sk_flag = 0, ours_flag = 0, rule_agree = 0, sign_agree = 0, ties;
    double worst_dec = 0.0;

    if (slow_tests_off("the live contamination comparison with scikit-learn"))
        return;
    if (!python_sklearn(why, sizeof why)) {
        test_skip(why);
        return;
    }
    x = live_data(n, d);
    s = malloc(n * sizeof *s);
    if (!x || !s)
        goto out;
    tmp = test_tmpdir();
    snprintf(csv, sizeof csv, "%s/cont.csv", tmp);
    snprintf(out, sizeof out, "%s/sklearn_cont.csv", tmp);
    snprintf(log, sizeof log, "%s/sklearn_cont.log", tmp);
    CHECK(write_csv(csv, x, n, d, names, NULL, NULL) == 0);
    snprintf(args, sizeof args,
             "--train '%s' --score '%s' --features a,b,c,k --seeds 0:1 --per-seed "
             "--contamination %.17g --out '%s'",
             csv, csv, cont, out);
    if (run_sklearn(args, log) != 0)
        goto out;
    ref = read_table(out, ',', NULL);
    if (!ref)
        goto out;
    CHECK(ref->nrow == n, "%zu rows from sklearn", ref->nrow);
    if (ref->nrow != n)
        goto out;
    {
        struct iforest_options o;
        struct ml_err err;
        const double *s0 = column(ref, "s0"), *pred = column(ref, "pred");
        const double *dec = column(ref, "decision"), *off = column(ref, "offset");
        struct iforest sk;
        if (!s0 || !pred || !dec || !off)
            goto out;
        iforest_options_default(&o);
        o.seed = 0;
        o.contamination = cont;
        o.threads = 2;
        CHECK_OK(iforest_fit(x, n, d, names, &o, &f, &err), &err);
        if (!f)
            goto out;
        CHECK_OK(iforest_score(f, x, n, n, s, 2, &err), &err);

        /* (1) our two rules on scikit-learn's scores and offset_ (s0 is
         * rebuilt from its trees and checked against score_samples to
         * 1e-12 by the script) */
        sk = *f;
        sk.offset = off[0];
        sk.threshold = -off[0];
        for (i = 0; i < n; i++) {
            int sk_anom = pred[i] == -1.0;
            CHECK(pred[i] == 1.0 || pred[i] == -1.0, "row %zu: predict %g", i, pred[i]);
            sk_flag += sk_anom;
            worst_dec = fmax(worst_dec, fabs(iforest_decision(&sk, s0[i]) - dec[i]));
            /* a score within rounding of the threshold may go either way */
            rule_agree += iforest_is_anomaly(&sk, s0[i]) == sk_anom ||
                          fabs(s0[i] - sk.threshold) <= 1e-12;
        }
        CHECK(worst_dec <= 1e-12, "decision_function differs by up to %.3g", worst_dec);
        CHECK(rule_agree == n, "is_anomaly agrees with predict() on %zu of %zu rows", rule_agree,
              n);

        /* (2) and (3) on our own forest */
        for (i = 0; i < n; i++) {
            int a = iforest_is_anomaly(f, s[i]);
            ours_flag += a;
            sign_agree += (iforest_decision(f, s[i]) < 0.0) == a;
        }
        CHECK(sign_agree == n, "decision < 0 matches is_anomaly on %zu of %zu rows", sign_agree,
              n);
        CHECK(f->offset == -f->threshold);
        {
            size_t want = n - 1 - (size_t)floor((1.0 - cont) * (double)(n - 1));
            size_t t_ours = boundary_ties(s, n, cont), t_sk = boundary_ties(s0, n, cont);
            ties = t_ours + t_sk;
            CHECK(ours_flag + t_ours >= want && ours_flag <= want + t_ours,
                  "contamination %.2f: we flag %zu, want %zu (ties %zu)", cont, ours_flag, want,
                  t_ours);
            CHECK(sk_flag + t_sk >= want && sk_flag <= want + t_sk,
                  "contamination %.2f: scikit-learn flags %zu, want %zu (ties %zu)", cont,
                  sk_flag, want, t_sk);
        }
        printf("    contamination %.2f on %zu training rows: plantfit flags %zu (threshold s > "
               "%.6f), scikit-learn predict() %zu (offset_ %.6f); scores tied at the thresholds %zu; "
               "is_anomaly/decision on scikit-learn's scores agree with predict()/"
               "decision_function on %zu rows (|decision diff| <= %.1e)\n",
               cont, n, ours_flag, f->threshold, sk_flag, off[0], ties, rule_agree, worst_dec);
    }
out:
    iforest_free(f);
    ml_table_free(ref);
    free(x);
    free(s);
}

TEST(iforest, skab_valve_auc_live)
{
    const int nseeds = 10, nfiles = 20;
    char why[512], train_path[1024], paths[20][1024], out[600], log[600];
    char *args = NULL;
    const char *base = test_shared_datasets();
    struct ml_table *train = NULL, *tabs[20] = {0}, *ref = NULL;
    double *xtr = NULL, *xs[22] = {0}, *labels[22] = {0}, ours[22], theirs[22], sdo[22],
           sdt[22];
    size_t ns[22], total = 0, off;
    int q, len;

    if (!base) {
        test_skip("!!! ../shared/datasets NOT FOUND: the SKAB detection case (issue acceptance "
                  "3) did NOT run !!!");
        return;
    }
    if (slow_tests_off("the SKAB comparison with scikit-learn"))
        return;
    if (!python_sklearn(why, sizeof why)) {
        test_skip(why);
        return;
    }
    /* SKAB's README: comma separated here (converted from ';'), a datetime
     * column, labels `anomaly` and `changepoint`; train on anomaly-free */
    snprintf(train_path, sizeof train_path, "%s/skab/anomaly-free/anomaly-free.csv", base);
    for (q = 0; q < nfiles; q++)
        snprintf(paths[q], sizeof paths[q], "%s/skab/%s/%d.csv", base, q < 16 ? "valve1" : "valve2",
                 q < 16 ? q : q - 16);
    train = read_table(train_path, ',', "datetime");
    if (!train)
        goto out;
    xtr = take_columns(train, skab_features, SKAB_FEATURES);
    for (q = 0; q < nfiles; q++) {
        tabs[q] = read_table(paths[q], ',', "datetime");
        if (!tabs[q])
            goto out;
        xs[q] = take_columns(tabs[q], skab_features, SKAB_FEATURES);
        labels[q] = (double *)column(tabs[q], "anomaly");
        ns[q] = tabs[q]->nrow;
        if (!xs[q] || !labels[q])
            goto out;
    }
    /* pooled sets: all valve1 rows (index 20) and all valve2 rows (21) */
    for (q = 20; q < 22; q++) {
        int a = q == 20 ? 0 : 16, b = q == 20 ? 16 : 20, r;
        size_t m = 0, at = 0;
        for (r = a; r < b; r++)
            m += ns[r];
        ns[q] = m;
        xs[q] = malloc(m * SKAB_FEATURES * sizeof(double));
        labels[q] = malloc(m * sizeof(double));
        if (!xs[q] || !labels[q])
            goto out;
        for (r = a; r < b; r++) {
            int j;
            for (j = 0; j < SKAB_FEATURES; j++)
                memcpy(xs[q] + (size_t)j * m + at, xs[r] + (size_t)j * ns[r],
                       ns[r] * sizeof(double));
            memcpy(labels[q] + at, labels[r], ns[r] * sizeof(double));
            at += ns[r];
        }
    }
    if (!xtr)
        goto out;
    plantfit_aucs(xtr, train->nrow, SKAB_FEATURES, xs, ns, labels, 22, nseeds, ours, sdo);

    snprintf(out, sizeof out, "%s/skab_sklearn.csv", test_tmpdir());
    snprintf(log, sizeof log, "%s.log", out);
    args = malloc(32768);
    if (!args)
        goto out;
    len = snprintf(args, 32768, "--train '%s' --features ", train_path);
    for (q = 0; q < SKAB_FEATURES; q++)
        len += snprintf(args + len, 32768 - len, "%s%s", q ? "," : "", skab_features[q]);
    for (q = 0; q < nfiles; q++)
        len += snprintf(args + len, 32768 - len, " --score '%s'", paths[q]);
    snprintf(args + len, 32768 - len, " --seeds 0:%d --per-seed --out '%s'", nseeds, out);
    if (run_sklearn(args, log) != 0)
        goto out;
    ref = read_table(out, ',', NULL);
    if (!ref)
        goto out;
    for (q = 0; q < nfiles; q++)
        total += ns[q];
    CHECK(ref->nrow == total, "%zu rows from sklearn, want %zu", ref->nrow, total);
    if (ref->nrow != total)
        goto out;
    off = 0;
    for (q = 0; q < nfiles; q++) {
        theirs[q] = sklearn_auc(ref, off, ns[q], labels[q], nseeds, &sdt[q]);
        off += ns[q];
    }
    theirs[20] = sklearn_auc(ref, 0, ns[20], labels[20], nseeds, &sdt[20]);
    theirs[21] = sklearn_auc(ref, ns[20], ns[21], labels[21], nseeds, &sdt[21]);
    {
        double mo[2] = {0, 0}, mt[2] = {0, 0};
        for (q = 0; q < nfiles; q++) {
            int g = q < 16 ? 0 : 1;
            printf("    %s/%d.csv: AUC plantfit %.4f, sklearn %.4f (%+.4f)\n",
                   g ? "valve2" : "valve1", g ? q - 16 : q, ours[q], theirs[q],
                   ours[q] - theirs[q]);
            mo[g] += ours[q] / (g ? 4 : 16);
            mt[g] += theirs[q] / (g ? 4 : 16);
        }
        for (q = 20; q < 22; q++) {
            int g = q - 20;
            printf("    %s pooled (%zu rows): AUC plantfit %.4f, sklearn %.4f (%+.4f, se of the "
                   "difference %.4f); mean of per-file AUCs %.4f vs %.4f (%+.4f)\n",
                   g ? "valve2" : "valve1", ns[q], ours[q], theirs[q], ours[q] - theirs[q],
                   sqrt((sdo[q] * sdo[q] + sdt[q] * sdt[q]) / nseeds), mo[g], mt[g],
                   mo[g] - mt[g]);
            CHECK(fabs(ours[q] - theirs[q]) <= 0.01, "%s pooled AUC %.4f vs sklearn %.4f",
                  g ? "valve2" : "valve1", ours[q], theirs[q]);
            CHECK(fabs(mo[g] - mt[g]) <= 0.01, "%s mean per-file AUC %.4f vs sklearn %.4f",
                  g ? "valve2" : "valve1", mo[g], mt[g]);
        }
    }
out:
    free(args);
    ml_table_free(ref);
    ml_table_free(train);
    free(xtr);
    for (q = 0; q < 22; q++) {
        free(xs[q]);
        if (q >= 20)
            free(labels[q]);
        if (q < 20)
            ml_table_free(tabs[q]);
    }
}

/* datasets/plant.csv: features are the 12 measured inputs, i.e. every
 * numeric column except `time` (a clock, not a plant state), the label
 * `abnormal` and the four outputs (oxidation1, oxidation2, concentration,
 * yield: model targets, computed from the inputs); `line` is categorical.
 * scikit-learn takes no missing values, so rows with one are dropped on
 * both sides; the forest is fitted and scored on the same rows
 * (unsupervised, 3% abnormal rows included).
 *
 * Seeds: on this file one forest's AUC varies with the seed by sd ~0.025 (10
 * abnormal episodes, each caught or not), so 10 seeds a side leave the
 * difference of the means a standard error of ~0.011, as large as the 0.01
 * the issue allows.  The check therefore uses 100 seeds here (cheap) and 30
 * for scikit-learn (se ~0.005); the 10-seed means are printed as well. */
#define PLANT_FEATURES 12
static const char *const plant_features[PLANT_FEATURES] = {
    "feed_rate",         "catalyst_rate", "air_flow",        "feed_purity",
    "reactor1_temp",     "reactor1_pressure", "reactor2_temp", "reactor2_pressure",
    "coolant_temp",      "evaporator_temp",   "evaporator_pressure", "reflux_ratio"};

TEST(iforest, plant_auc_live)
{
    const int nseeds = 100, sk_seeds = 30, nseeds10 = 10;
    char why[512], path[1024], csv[600], out[600], log[600], args[4096];
    struct ml_table *t = NULL, *ref = NULL;
    double *xfull = NULL, *x = NULL, *lab = NULL, ours, theirs, ours10, theirs10, sdo, sdt;
    const double *abn;
    size_t n, m = 0, i;
    int j, len;

    if (slow_tests_off("the plant.csv comparison with scikit-learn"))
        return;
    snprintf(path, sizeof path, "%s/../datasets/plant.csv", test_dir());
    t = read_table(path, ',', "line");
    if (!t)
        return;
    n = t->nrow;
    xfull = take_columns(t, plant_features, PLANT_FEATURES);
    abn = column(t, "abnormal");
    x = malloc(n * PLANT_FEATURES * sizeof *x);
    lab = malloc(n * sizeof *lab);
    if (!xfull || !abn || !x || !lab)
        goto out;

    /* missing = fail names the first row with a gap; divide scores all rows */
    {
        struct iforest_options o;
        struct iforest *f = NULL;
        struct ml_err err;
        enum ml_status st;
        double *s = malloc(n * sizeof *s);
        iforest_options_default(&o);
        st = iforest_fit(xfull, n, PLANT_FEATURES, plant_features, &o, &f, &err);
        CHECK(st == ML_EDOM && strstr(err.msg, "row ") &&
                  (strstr(err.msg, "\"air_flow\"") || strstr(err.msg, "\"feed_purity\"") ||
                   strstr(err.msg, "\"reactor2_pressure\"") ||
                   strstr(err.msg, "\"coolant_temp\"")),
              "%d: %s", (int)st, err.msg);
        printf("    missing = fail: %s\n", err.msg);
        o.missing = IFOREST_MISSING_DIVIDE;
        o.seed = 3;
        CHECK_OK(iforest_fit(xfull, n, PLANT_FEATURES, plant_features, &o, &f, &err), &err);
        if (f && s) {
            size_t ok = 0;
            CHECK_OK(iforest_score(f, xfull, n, n, s, 2, &err), &err);
            for (i = 0; i < n; i++)
                ok += s[i] > 0 && s[i] < 1;
            CHECK(ok == n);
            printf("    missing = divide, all %zu rows: AUC %.4f (seed 3)\n", n, auc(s, abn, n));
        }
        iforest_free(f);
        free(s);
    }

    for (i = 0; i < n; i++) {
        int complete = 1;
        for (j = 0; j < PLANT_FEATURES; j++)
            complete &= !isnan(xfull[(size_t)j * n + i]);
        if (!complete)
            continue;
        lab[m] = abn[i];
        m++;
    }
    for (j = 0; j < PLANT_FEATURES; j++) {
        size_t at = 0;
        for (i = 0; i < n; i++) {
            int complete = 1, q;
            for (q = 0; q < PLANT_FEATURES; q++)
                complete &= !isnan(xfull[(size_t)q * n + i]);
            if (complete)
                x[(size_t)j * m + at++] = xfull[(size_t)j * n + i];
        }
    }
    printf("    plant.csv: %zu rows, %zu without missing features\n", n, m);
    {
        double *xs[1] = {x}, *ls[1] = {lab};
        size_t ns[1] = {m};
        plantfit_aucs(x, m, PLANT_FEATURES, xs, ns, ls, 1, nseeds, &ours, &sdo);
        plantfit_aucs(x, m, PLANT_FEATURES, xs, ns, ls, 1, nseeds10, &ours10, NULL);
    }
    if (!python_sklearn(why, sizeof why)) {
        test_skip(why);
        goto out;
    }
    snprintf(csv, sizeof csv, "%s/plant_complete.csv", test_tmpdir());
    snprintf(out, sizeof out, "%s/plant_sklearn.csv", test_tmpdir());
    snprintf(log, sizeof log, "%s.log", out);
    CHECK(write_csv(csv, x, m, PLANT_FEATURES, plant_features, lab, "abnormal") == 0);
    len = snprintf(args, sizeof args, "--train '%s' --score '%s' --features ", csv, csv);
    for (j = 0; j < PLANT_FEATURES; j++)
        len += snprintf(args + len, sizeof args - len, "%s%s", j ? "," : "", plant_features[j]);
    snprintf(args + len, sizeof args - len, " --seeds 0:%d --per-seed --out '%s'", sk_seeds,
             out);
    if (run_sklearn(args, log) != 0)
        goto out;
    ref = read_table(out, ',', NULL);
    if (!ref || ref->nrow != m) {
        CHECK(0, "sklearn output has %zu rows, want %zu", ref ? ref->nrow : 0, m);
        goto out;
    }
    theirs = sklearn_auc(ref, 0, m, lab, sk_seeds, &sdt);
    theirs10 = sklearn_auc(ref, 0, m, lab, nseeds10, NULL);
    printf("    plant.csv (12 inputs): AUC plantfit %.4f (%d seeds, sd %.4f), sklearn %.4f (%d "
           "seeds, sd %.4f): %+.4f, se of the difference %.4f\n",
           ours, nseeds, sdo, theirs, sk_seeds, sdt, ours - theirs,
           sqrt(sdo * sdo / nseeds + sdt * sdt / sk_seeds));
    printf("    plant.csv, 10 seeds a side: AUC plantfit %.4f, sklearn %.4f (%+.4f)\n", ours10,
           theirs10, ours10 - theirs10);
    CHECK(fabs(ours - theirs) <= 0.01, "AUC %.4f vs sklearn %.4f", ours, theirs);
out:
    ml_table_free(ref);
    ml_table_free(t);
    free(xfull);
    free(x);
    free(lab);
}
