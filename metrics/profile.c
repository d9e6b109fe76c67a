/* profile.c: column summaries (see profile.h).
 *
 * Mean and variance by Welford's one-pass update (Welford 1962,
 * Technometrics 4(3); Knuth TAOCP vol. 2, 4.2.2), which stays accurate when
 * the mean is large against the spread -- plant temperatures of 350.00 +- 0.05
 * are the normal case here.  Quantiles are R's default type 7 (Hyndman & Fan
 * 1996, Am. Stat. 50(4), definition 7): x[(n-1)p] interpolated linearly. */
#include "profile.h"

#include <math.h>
#include <stdlib.h>

const double profile_quantile_p[PROFILE_NQ] = {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum ml_status profile_column(const double *v, size_t len, struct col_profile *out,
                              struct ml_err *err)
{
    double *s, mean = 0.0, m2 = 0.0;
    size_t i, n = 0, k;

    s = malloc((len ? len : 1) * sizeof *s);
    if (!s)
        ML_FAIL(err, ML_ENOMEM, "out of memory profiling a column of %zu values", len);
    for (i = 0; i < len; i++) {
        double x = v[i], d;
        if (isnan(x))
            continue;
        s[n++] = x;
        d = x - mean;
        mean += d / (double)n;
        m2 += d * (x - mean);
    }
    out->n = n;
    out->missing = len - n;
    out->mean = n ? mean : NAN;
    out->sd = n > 1 ? sqrt(m2 / (double)(n - 1)) : NAN;
    if (n == 0) {
        out->min = out->max = NAN;
        for (k = 0; k < PROFILE_NQ; k++)
            out->q[k] = NAN;
        free(s);
        return ML_OK;
    }
    qsort(s, n, sizeof *s, cmp_double);
    out->min = s[0];
    out->max = s[n - 1];
    for (k = 0; k < PROFILE_NQ; k++) {
        double h = (double)(n - 1) * profile_quantile_p[k];
        size_t lo = (size_t)floor(h);
        size_t hi = lo + 1 < n ? lo + 1 : lo;
        out->q[k] = s[lo] + (h - (double)lo) * (s[hi] - s[lo]);
    }
    free(s);
    return ML_OK;
}

void profile_moments(const double *v, size_t len, struct col_profile *out)
{
    double sum = 0.0, m2 = 0.0, lo = INFINITY, hi = -INFINITY, mean;
    size_t i, n = 0, k;

    /* Two passes (sum, then squared deviations from the mean) keep the
     * digits Welford's update keeps without its division per value. */
    for (i = 0; i < len; i++) {
        double x = v[i];
        if (isnan(x))
            continue;
        n++;
        sum += x;
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
    }
    mean = n ? sum / (double)n : NAN;
    for (i = 0; i < len && n; i++)
        if (!isnan(v[i]))
            m2 += (v[i] - mean) * (v[i] - mean);
    out->n = n;
    out->missing = len - n;
    out->mean = mean;
    out->sd = n > 1 ? sqrt(m2 / (double)(n - 1)) : NAN;
    out->min = n ? lo : NAN;
    out->max = n ? hi : NAN;
    for (k = 0; k < PROFILE_NQ; k++)
        out->q[k] = NAN;
}
