/* regression.c: RMSE, MAE, R^2 and bias (see regression.h).  One pass with
 * Welford's running mean for SS_tot (Welford 1962), so large responses far
 * from zero (plant yields around 80 %) keep their digits. */
#include "regression.h"

#include <math.h>

void reg_metrics_compute(const double *y, const double *f, size_t len, struct reg_metrics *out)
{
    double sse = 0.0, sae = 0.0, sb = 0.0, mean = 0.0, sst = 0.0;
    size_t i, n = 0;

    for (i = 0; i < len; i++) {
        double e, d;
        if (isnan(y[i]) || isnan(f[i]))
            continue;
        n++;
        e = y[i] - f[i];
        sse += e * e;
        sae += fabs(e);
        sb -= e;
        d = y[i] - mean;
        mean += d / (double)n;
        sst += d * (y[i] - mean);
    }
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
