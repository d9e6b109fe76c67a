/* bspline.c: the P-spline basis of mgcv's `s(x, bs="ps")` -- knots, basis
 * rows, first derivatives, linear extrapolation, difference penalty and the
 * penalty scale (shared/reference/gam-numerics.md sections 1.2-1.4 and 2).
 *
 * Entry points: bspl_init / bspl_init_knots / bspl_free, bspl_eval,
 * bspl_eval_deriv, bspl_eval_dense, bspl_penalty, bspl_penalty_scale.
 *
 * The B-spline values come from the triangular Cox-de Boor recursion in the
 * form of de Boor's BSPLVB: de Boor, C. (2001), "A Practical Guide to
 * Splines", rev. ed., Springer, chapter X (recurrence (X.17)/(X.18) and
 * algorithm BSPLVB).  Derivatives use the differentiation formula (X.12) for a
 * single B-spline,
 *     B'_{i,ord}(x) = (ord-1) [ B_{i,ord-1}(x)/(t_{i+ord-1}-t_i)
 *                              - B_{i+1,ord-1}(x)/(t_{i+ord}-t_{i+1}) ].
 * The penalty is the P-spline difference penalty of Eilers, P.H.C. & Marx,
 * B.D. (1996), "Flexible smoothing with B-splines and penalties", Statist.
 * Sci. 11(2), 89-121, section 3 (the matrix D_k of k-th differences, penalty
 * lambda |D_k a|^2).
 *
 * Nothing here allocates except bspl_init* (the knot vector) and
 * bspl_penalty (a coefficient row of length m2 + 1). */
#include "bspline.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static enum ml_status check_dims(int k, int m1, struct ml_err *err)
{
    if (m1 < 0)
        ML_FAIL(err, ML_EINVAL, "ps basis: m1 = %d, need m1 >= 0 (B-spline order m1 + 2 >= 2)",
                m1);
    if (m1 + 2 > BSPL_MAX_ORDER)
        ML_FAIL(err, ML_EINVAL,
                "ps basis: m1 = %d gives B-spline order %d; the largest supported order is %d",
                m1, m1 + 2, BSPL_MAX_ORDER);
    /* nk = k - m1 knots cover the data range (section 1.2 step 3). */
    if (k - m1 < 2)
        ML_FAIL(err, ML_EINVAL,
                "ps basis: k = %d with m1 = %d leaves k - m1 = %d interior knots; need k >= m1 + 2 "
                "= %d",
                k, m1, k - m1, m1 + 2);
    return ML_OK;
}

/* Equally spaced knots (every ps basis mgcv places) make the cubic row a
 * closed-form polynomial in the position within the interval. */
static void mark_uniform(struct bspl_basis *b)
{
    int nk = b->k + b->m1 + 2, j;
    double h = (b->knots[nk - 1] - b->knots[0]) / (double)(nk - 1);

    b->uniform = h > 0.0;
    b->h = h;
    b->inv_h = h > 0.0 ? 1.0 / h : 0.0;
    for (j = 0; j + 1 < nk && b->uniform; j++)
        if (fabs((b->knots[j + 1] - b->knots[j]) - h) > 1e-10 * h)
            b->uniform = 0;
}

enum ml_status bspl_init(struct bspl_basis *b, int k, int m1, double xmin, double xmax,
                         struct ml_err *err)
{
    enum ml_status st;
    double r, lo, hi, dx;
    int nknot, j;

    ML_ASSERT(b != NULL);
    memset(b, 0, sizeof *b);
    st = check_dims(k, m1, err);
    if (st)
        return st;
    if (!isfinite(xmin) || !isfinite(xmax))
        ML_FAIL(err, ML_EINVAL, "ps basis: data range [%.17g, %.17g] is not finite", xmin, xmax);
    if (!(xmax > xmin))
        ML_FAIL(err, ML_EINVAL,
                "ps basis: data range [%.17g, %.17g] is empty; the variable must take at least "
                "two distinct values",
                xmin, xmax);

    /* Section 1.2: widen the range by 0.1% on each side, then place nk = k - m1
     * knots on it and m1 + 1 more on each side at the same spacing. */
    r = xmax - xmin;
    lo = xmin - r * 0.001;
    hi = xmax + r * 0.001;
    dx = (hi - lo) / (double)(k - m1 - 1);
    if (!isfinite(dx) || !(dx > 0.0))
        ML_FAIL(err, ML_EINVAL, "ps basis: data range [%.17g, %.17g] too wide or too narrow for "
                "k = %d knots in double precision", xmin, xmax, k);
    nknot = k + m1 + 2;
    b->knots = malloc((size_t)nknot * sizeof *b->knots);
    if (!b->knots)
        ML_FAIL(err, ML_ENOMEM, "ps basis: cannot allocate %d knots", nknot);
    /* The knot vector runs from lo - (m1+1)dx to hi + (m1+1)dx in nknot - 1
     * equal steps.  Computing every knot from the two ends (first + j*step,
     * the last one set to the end exactly) is how R's seq(from, to,
     * length.out) fills it, which is what mgcv calls, so the knots agree to
     * the last bit rather than to rounding. */
    {
        double from = lo - dx * (double)(m1 + 1);
        double to = hi + dx * (double)(m1 + 1);
        double step = (to - from) / (double)(nknot - 1);
        for (j = 0; j < nknot - 1; j++)
            b->knots[j] = from + (double)j * step;
        b->knots[nknot - 1] = to;
    }
    for (j = 1; j < nknot; j++) {
        if (!(b->knots[j] > b->knots[j - 1])) {
            free(b->knots);
            b->knots = NULL;
            ML_FAIL(err, ML_EINVAL,
                    "ps basis: data range [%.17g, %.17g] is too narrow relative to its magnitude "
                    "to place %d distinct knots in double precision",
                    xmin, xmax, nknot);
        }
    }
    b->k = k;
    b->m1 = m1;
    b->order = m1 + 2;
    b->xl = xmin;
    b->xu = xmax;
    b->ll = b->knots[m1 + 1];
    b->ul = b->knots[k];
    mark_uniform(b);
    return ML_OK;
}

enum ml_status bspl_init_knots(struct bspl_basis *b, int k, int m1, const double *knots,
                               double xl, double xu, struct ml_err *err)
{
    enum ml_status st;
    int nknot, j;

    ML_ASSERT(b != NULL);
    memset(b, 0, sizeof *b);
    st = check_dims(k, m1, err);
    if (st)
        return st;
    if (!knots)
        ML_FAIL(err, ML_EINVAL, "ps basis: no knots given");
    if (!isfinite(xl) || !isfinite(xu) || !(xu > xl))
        ML_FAIL(err, ML_EINVAL, "ps basis: stored data range [%.17g, %.17g] is empty or not "
                "finite", xl, xu);
    nknot = k + m1 + 2;
    for (j = 0; j < nknot; j++) {
        if (!isfinite(knots[j]))
            ML_FAIL(err, ML_EINVAL, "ps basis: knot %d of %d is not finite (%g)", j + 1, nknot,
                    knots[j]);
        if (j > 0 && !(knots[j] > knots[j - 1]))
            ML_FAIL(err, ML_EINVAL,
                    "ps basis: knots must increase strictly, but knot %d (%.17g) <= knot %d "
                    "(%.17g)",
                    j + 1, knots[j], j, knots[j - 1]);
    }
    b->knots = malloc((size_t)nknot * sizeof *b->knots);
    if (!b->knots)
        ML_FAIL(err, ML_ENOMEM, "ps basis: cannot allocate %d knots", nknot);
    memcpy(b->knots, knots, (size_t)nknot * sizeof *b->knots);
    b->k = k;
    b->m1 = m1;
    b->order = m1 + 2;
    b->xl = xl;
    b->xu = xu;
    b->ll = b->knots[m1 + 1];
    b->ul = b->knots[k];
    mark_uniform(b);
    return ML_OK;
}

void bspl_free(struct bspl_basis *b)
{
    if (!b)
        return;
    free(b->knots);
    b->knots = NULL;
}

/* Section 1.3: the knot interval i with t_i <= x < t_{i+1}, clamped to
 * [m1+1, k-1] so that x = ul takes the last interval (limit from the left)
 * and points outside [ll, ul] take the end intervals.  Binary search because
 * stored knots (bspl_init_knots) need not be equally spaced. */
static int find_interval(const struct bspl_basis *b, double x)
{
    int lo = b->m1 + 1, hi = b->k - 1;

    if (x < b->knots[lo + 1])
        return lo;
    if (x >= b->knots[hi])
        return hi;
    /* Invariant: t_lo <= x < t_{hi}.  */
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        if (x >= b->knots[mid])
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* de Boor (2001), BSPLVB: the `ord` B-splines of order `ord` that are
 * non-zero on [t_i, t_{i+1}), B_{i-ord+1..i}, at x, into v[0..ord-1].
 * deltaR_j = t_{i+j} - x and deltaL_j = x - t_{i+1-j}; each pass raises the
 * order by one using recurrence (X.18).  Valid for x outside the interval
 * too (the polynomial pieces are then continued), which the extrapolation
 * does not rely on. */
static void bsplvb(const double *t, int i, int ord, double x, double *v)
{
    double dr[BSPL_MAX_ORDER], dl[BSPL_MAX_ORDER];
    int j, r;

    v[0] = 1.0;
    for (j = 1; j < ord; j++) {
        double saved = 0.0;
        dr[j - 1] = t[i + j] - x;
        dl[j - 1] = x - t[i + 1 - j];
        for (r = 0; r < j; r++) {
            double term = v[r] / (dr[r] + dl[j - 1 - r]);
            v[r] = saved + dr[r] * term;
            saved = dl[j - 1 - r] * term;
        }
        v[j] = saved;
    }
}

/* Values (deriv = 0) or first derivatives (deriv = 1) of the `order`
 * non-zero B-splines at x on interval i; first = i - order + 1. */
static void eval_on_interval(const struct bspl_basis *b, int i, double x, int deriv,
                             double *vals)
{
    const double *t = b->knots;
    int ord = b->order, a;

    if (!deriv) {
        bsplvb(t, i, ord, x, vals);
        return;
    }
    {
        /* Formula (X.12) with the order-(ord-1) values w[0..ord-2] =
         * B_{i-ord+2..i, ord-1}(x); B_{j,ord-1} outside that set is zero. */
        double w[BSPL_MAX_ORDER];
        int first = i - ord + 1;
        bsplvb(t, i, ord - 1, x, w);
        for (a = 0; a < ord; a++) {
            int jj = first + a;
            double left = a > 0 ? w[a - 1] / (t[jj + ord - 1] - t[jj]) : 0.0;
            double right = a < ord - 1 ? w[a] / (t[jj + ord] - t[jj + 1]) : 0.0;
            vals[a] = (double)(ord - 1) * (left - right);
        }
    }
}

/* Uniform cubic B-splines on [t_i, t_i+1) at u = (x - t_i)/h, x inside
 * [ll, ul] (de Boor 2001, ch. IX: the cardinal cubic spline pieces): the
 * same polynomials bsplvb evaluates, without its divisions and without the
 * interval search; u by the reciprocal spacing and /6 as *(1/6), so the hot
 * path multiplies only.  Returns the interval i (first = i - 3). */
static inline int uniform_cubic(const struct bspl_basis *b, double x, double *vals)
{
    const double *t = b->knots;
    int lo = b->m1 + 1, hi = b->k - 1, i;
    double u, u2, u3, om;

    i = (int)((x - t[0]) * b->inv_h);
    if (i < lo)
        i = lo;
    if (i > hi)
        i = hi;
    while (i > lo && x < t[i])
        i--;
    while (i < hi && x >= t[i + 1])
        i++;
    u = (x - t[i]) * b->inv_h;
    u2 = u * u;
    u3 = u2 * u;
    om = 1.0 - u;
    vals[0] = om * om * om * (1.0 / 6.0);
    vals[1] = (3.0 * u3 - 6.0 * u2 + 4.0) * (1.0 / 6.0);
    vals[2] = (-3.0 * u3 + 3.0 * u2 + 3.0 * u + 1.0) * (1.0 / 6.0);
    vals[3] = u3 * (1.0 / 6.0);
    return i;
}

void bspl_eval(const struct bspl_basis *b, double x, double *vals, int *first)
{
    int i, a;

    if (x < b->ll || x > b->ul) {
        /* Section 1.4: B(e) + (x - e) B'(e) at the nearer end e of [ll, ul];
         * both taken from the end interval, so the layout stays `order`
         * values from the same first column. */
        double e = x < b->ll ? b->ll : b->ul;
        double d[BSPL_MAX_ORDER];
        i = find_interval(b, e);
        eval_on_interval(b, i, e, 0, vals);
        eval_on_interval(b, i, e, 1, d);
        for (a = 0; a < b->order; a++)
            vals[a] += (x - e) * d[a];
    } else if (b->uniform && b->order == 4) {
        i = uniform_cubic(b, x, vals);
    } else {
        i = find_interval(b, x);
        eval_on_interval(b, i, x, 0, vals);
    }
    *first = i - b->order + 1;
}

void bspl_eval_many(const struct bspl_basis *b, const double *x, size_t n, double *vals,
                    int *first)
{
    size_t r;

    if (b->uniform && b->order == 4) {
        /* bspl_eval's fast path inlined, without a call per point */
        for (r = 0; r < n; r++) {
            if (x[r] < b->ll || x[r] > b->ul)
                bspl_eval(b, x[r], vals + 4 * r, &first[r]);
            else
                first[r] = uniform_cubic(b, x[r], vals + 4 * r) - 3;
        }
    } else {
        for (r = 0; r < n; r++)
            bspl_eval(b, x[r], vals + (size_t)b->order * r, &first[r]);
    }
}

void bspl_eval_deriv(const struct bspl_basis *b, double x, double *vals, int *first)
{
    double e = x;
    int i;

    /* Outside [ll, ul] the row is linear in x with slope B'(end). */
    if (x < b->ll)
        e = b->ll;
    else if (x > b->ul)
        e = b->ul;
    i = find_interval(b, e);
    eval_on_interval(b, i, e, 1, vals);
    *first = i - b->order + 1;
}

void bspl_eval_dense(const struct bspl_basis *b, double x, double *out)
{
    double v[BSPL_MAX_ORDER];
    int first, a;

    bspl_eval(b, x, v, &first);
    memset(out, 0, (size_t)b->k * sizeof *out);
    for (a = 0; a < b->order; a++)
        out[first + a] = v[a];
}

enum ml_status bspl_penalty(int k, int m2, double *S, struct ml_err *err)
{
    double *c;
    int j, r, a;

    if (k < 1 || m2 < 0 || m2 >= k)
        ML_FAIL(err, ML_EINVAL,
                "ps penalty: difference order m2 = %d with k = %d; need 0 <= m2 < k", m2, k);
    c = malloc((size_t)(m2 + 1) * sizeof *c);
    if (!c)
        ML_FAIL(err, ML_ENOMEM, "ps penalty: cannot allocate %d coefficients", m2 + 1);
    /* Row r of D (Eilers & Marx 1996, section 3) has the signed binomial
     * coefficients c_j = (-1)^(m2-j) C(m2, j) in columns r..r+m2.  They are
     * built by differencing (Pascal's rule), so they stay exact integers. */
    c[0] = 1.0;
    for (j = 1; j <= m2; j++) {
        c[j] = 0.0;
        for (a = j; a > 0; a--)
            c[a] = c[a - 1] - c[a];
        c[0] = -c[0];
    }
    memset(S, 0, (size_t)k * (size_t)k * sizeof *S);
    /* S = D'D = sum over rows r of D of the outer product of row r. */
    for (r = 0; r + m2 < k; r++)
        for (j = 0; j <= m2; j++)
            for (a = 0; a <= m2; a++)
                S[(size_t)(r + j) * (size_t)k + (size_t)(r + a)] += c[j] * c[a];
    free(c);
    return ML_OK;
}

double bspl_penalty_scale(const double *S, int k, double bnorm_inf)
{
    double best = 0.0;
    int i, j;

    /* Section 2.2: ||S||_1 is the largest absolute column sum; summed down
     * each column in row order, as LAPACK's dlange('O') that R's norm()
     * calls does, so the result matches to the last bit. */
    for (j = 0; j < k; j++) {
        double s = 0.0;
        for (i = 0; i < k; i++)
            s += fabs(S[(size_t)i * (size_t)k + (size_t)j]);
        if (s > best)
            best = s;
    }
    return best / (bnorm_inf * bnorm_inf);
}
