/* regression.c: RMSE, MAE, R^2 and bias (see regression.h).  SS_tot is
 * summed about the mean in a second pass (the two-pass algorithm; Chan,
 * Golub & LeVeque 1983, Am. Stat. 37(3)), so large responses far from zero
 * (plant yields around 80 %) keep their digits, without the division per
 * row of Welford's running mean. */
#include "regression.h"

#include <math.h>

void reg_metrics_compute(const double *y, const double *f, size_t len, struct reg_metrics *out)
{
    double sse = 0.0, sae = 0.0, sb = 0.0, sy = 0.0, mean, sst = 0.0;
    size_t i, n = 0;

    for (i = 0; i < len; i++) {
        double e;
        if (isnan(y[i]) || isnan(f[i]))
            continue;
        n++;
        e = y[i] - f[i];
        sse += e * e;
        sae += fabs(e);
        sb -= e;
        sy += y[i];
    }
    mean = n ? sy / (double)n : 0.0;
    for (i = 0; i < len && n; i++)
        if (!isnan(y[i]) && !isnan(f[i]))
            sst += (y[i] - mean) * (y[i] - mean);
    out->n = n;
    if (n == 0) {
        out->rmse = out->mae = out->r2 = out->bias = NAN;
        return;
    }
    out->rmse = sqrt(sse / (double)n);
    out->mae = sae / (double)n;
    out->bias = sb / (double)n;
    out->r2 = sst > 0.0 ? 1.0 - sse / sst : NAN;
}
