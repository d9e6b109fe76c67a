/* gam_family.c: exponential-family pieces for penalised IRLS: links, their
 * inverses and derivatives, variance functions and deviance residuals, with
 * R's conventions (stats::family objects; McCullagh & Nelder 1989, ch. 2).
 * Binomial data are proportions y in [0, 1] with prior weights = trials. */
#include <float.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include "gam_impl.h"

const char *gam_family_name(enum gam_family f)
{
    switch (f) {
    case GAM_FAMILY_GAUSSIAN: return "gaussian";
    case GAM_FAMILY_BINOMIAL: return "binomial";
    case GAM_FAMILY_POISSON: return "poisson";
    case GAM_FAMILY_GAMMA: return "Gamma";
    }
    return "unknown";
}

const char *gam_link_name(enum gam_link l)
{
    switch (l) {
    case GAM_LINK_IDENTITY: return "identity";
    case GAM_LINK_LOGIT: return "logit";
    case GAM_LINK_LOG: return "log";
    case GAM_LINK_INVERSE: return "inverse";
    }
    return "unknown";
}

enum ml_status gam_family_parse(const char *s, enum gam_family *f, struct ml_err *err)
{
    if (strcasecmp(s, "gaussian") == 0 || strcasecmp(s, "normal") == 0)
        *f = GAM_FAMILY_GAUSSIAN;
    else if (strcasecmp(s, "binomial") == 0)
        *f = GAM_FAMILY_BINOMIAL;
    else if (strcasecmp(s, "poisson") == 0)
        *f = GAM_FAMILY_POISSON;
    else if (strcasecmp(s, "gamma") == 0)
        *f = GAM_FAMILY_GAMMA;
    else
        ML_FAIL(err, ML_EINVAL, "unknown family \"%s\"; expected gaussian, binomial, poisson or "
                "Gamma", s);
    return ML_OK;
}

enum ml_status gam_link_parse(const char *s, enum gam_link *l, struct ml_err *err)
{
    if (strcmp(s, "identity") == 0)
        *l = GAM_LINK_IDENTITY;
    else if (strcmp(s, "logit") == 0)
        *l = GAM_LINK_LOGIT;
    else if (strcmp(s, "log") == 0)
        *l = GAM_LINK_LOG;
    else if (strcmp(s, "inverse") == 0)
        *l = GAM_LINK_INVERSE;
    else
        ML_FAIL(err, ML_EINVAL, "unknown link \"%s\"; expected identity, logit, log or inverse",
                s);
    return ML_OK;
}

enum gam_link gam_default_link(enum gam_family f)
{
    switch (f) {
    case GAM_FAMILY_GAUSSIAN: return GAM_LINK_IDENTITY;
    case GAM_FAMILY_BINOMIAL: return GAM_LINK_LOGIT;
    case GAM_FAMILY_POISSON: return GAM_LINK_LOG;
    case GAM_FAMILY_GAMMA: return GAM_LINK_INVERSE;
    }
    return GAM_LINK_IDENTITY;
}

int gam_link_valid(enum gam_family f, enum gam_link l)
{
    switch (f) {
    case GAM_FAMILY_GAUSSIAN: return l == GAM_LINK_IDENTITY || l == GAM_LINK_LOG;
    case GAM_FAMILY_BINOMIAL: return l == GAM_LINK_LOGIT;
    case GAM_FAMILY_POISSON: return l == GAM_LINK_LOG;
    case GAM_FAMILY_GAMMA: return l == GAM_LINK_LOG || l == GAM_LINK_INVERSE;
    }
    return 0;
}

double gam_linkfun(enum gam_link l, double mu)
{
    switch (l) {
    case GAM_LINK_IDENTITY: return mu;
    case GAM_LINK_LOGIT: return log(mu / (1.0 - mu));
    case GAM_LINK_LOG: return log(mu);
    case GAM_LINK_INVERSE: return 1.0 / mu;
    }
    return NAN;
}

double gam_linkinv(enum gam_link l, double eta)
{
    switch (l) {
    case GAM_LINK_IDENTITY: return eta;
    case GAM_LINK_LOGIT: {
        /* R's plogis with its clamping: mu stays in [eps, 1 - eps]. */
        double e = exp(-fabs(eta)), mu = eta >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
        return fmin(fmax(mu, DBL_EPSILON), 1.0 - DBL_EPSILON);
    }
    case GAM_LINK_LOG: return fmax(exp(eta), DBL_EPSILON);
    case GAM_LINK_INVERSE: return 1.0 / eta;
    }
    return NAN;
}

double gam_mu_eta(enum gam_link l, double eta)
{
    switch (l) {
    case GAM_LINK_IDENTITY: return 1.0;
    case GAM_LINK_LOGIT: {
        double e = exp(-fabs(eta));
        return fmax(e / ((1.0 + e) * (1.0 + e)), DBL_EPSILON);
    }
    case GAM_LINK_LOG: return fmax(exp(eta), DBL_EPSILON);
    case GAM_LINK_INVERSE: return -1.0 / (eta * eta);
    }
    return NAN;
}

double gam_variance(enum gam_family f, double mu)
{
    switch (f) {
    case GAM_FAMILY_GAUSSIAN: return 1.0;
    case GAM_FAMILY_BINOMIAL: return mu * (1.0 - mu);
    case GAM_FAMILY_POISSON: return mu;
    case GAM_FAMILY_GAMMA: return mu * mu;
    }
    return NAN;
}

static double ylogy(double y, double mu)
{
    return y > 0.0 ? y * log(y / mu) : 0.0;
}

double gam_dev_resid(enum gam_family f, double y, double mu, double w)
{
    switch (f) {
    case GAM_FAMILY_GAUSSIAN: return w * (y - mu) * (y - mu);
    case GAM_FAMILY_BINOMIAL: return 2.0 * w * (ylogy(y, mu) + ylogy(1.0 - y, 1.0 - mu));
    case GAM_FAMILY_POISSON: return 2.0 * w * (ylogy(y, mu) - (y - mu));
    case GAM_FAMILY_GAMMA: return -2.0 * w * (log(y / mu) - (y - mu) / mu);
    }
    return NAN;
}

int gam_valid_mu(enum gam_family f, double mu)
{
    switch (f) {
    case GAM_FAMILY_GAUSSIAN: return isfinite(mu);
    case GAM_FAMILY_BINOMIAL: return mu > 0.0 && mu < 1.0;
    case GAM_FAMILY_POISSON: return mu > 0.0 && isfinite(mu);
    case GAM_FAMILY_GAMMA: return mu > 0.0 && isfinite(mu);
    }
    return 0;
}

int gam_valid_y(enum gam_family f, double y)
{
    switch (f) {
    case GAM_FAMILY_GAUSSIAN: return isfinite(y);
    case GAM_FAMILY_BINOMIAL: return y >= 0.0 && y <= 1.0;
    case GAM_FAMILY_POISSON: return y >= 0.0 && isfinite(y);
    case GAM_FAMILY_GAMMA: return y > 0.0 && isfinite(y);
    }
    return 0;
}
