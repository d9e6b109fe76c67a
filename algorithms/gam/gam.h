/* gam.h: generalised additive models with P-spline smooths, fitted as R's
 * mgcv fits `gam(formula, family, method = "REML" | "GCV.Cp")` with
 * `bs = "ps"` (shared/reference/gam-numerics.md gives every convention).
 *
 * Entry points: gam_fit (formula + table -> model), gam_predict (model +
 * table -> fitted values, standard errors, per-term contributions),
 * gam_lpmatrix and gam_smooth_derivative (for the setpoint optimizer).
 *
 * The model struct is transparent so the HDF5 writer (io/hdf5/gam_h5.c) can
 * serialise it; only gam_*.c create or modify one.  A model is immutable
 * after gam_fit or gam_h5_read, and every const function is thread-safe.
 *
 * Large n: the design matrix is never formed.  X'WX and X'Wz are accumulated
 * from sparse rows (an s() row has 4 non-zeros for cubic B-splines), threaded
 * over row blocks; the smoothing-parameter search works on p x p matrices. */
#ifndef ML_GAM_H
#define ML_GAM_H

#include <stddef.h>
#include <stdint.h>

#include "gam_formula.h"
#include "gam_smooth.h"
#include "ml_status.h"
#include "ml_table.h"

enum gam_family {               /* stored in model files: append only */
    GAM_FAMILY_GAUSSIAN = 0,
    GAM_FAMILY_BINOMIAL = 1,
    GAM_FAMILY_POISSON = 2,
    GAM_FAMILY_GAMMA = 3
};

enum gam_link {                 /* stored in model files: append only */
    GAM_LINK_IDENTITY = 0,
    GAM_LINK_LOGIT = 1,
    GAM_LINK_LOG = 2,
    GAM_LINK_INVERSE = 3
};

enum gam_method {               /* stored in model files: append only */
    GAM_METHOD_REML = 0,
    GAM_METHOD_GCV = 1,         /* mgcv "GCV.Cp": GCV for unknown scale, UBRE for known */
    GAM_METHOD_FIXED = 2        /* smoothing parameters given */
};

struct gam_options {
    enum gam_family family;
    enum gam_link link;         /* must be valid for the family */
    enum gam_method method;
    const double *sp;           /* FIXED: one value per penalty, in model order */
    size_t nsp;
    int threads;                /* row-block threads for the data passes; >= 1 */
    double conv_tol;            /* outer Newton convergence tolerance (mgcv 1e-6) */
    int max_iter;               /* outer Newton iterations (mgcv 200) */
    double pirls_tol;           /* PIRLS tolerance inside the outer loop (mgcv 1e-8) */
    int pirls_max_iter;         /* mgcv 200 */
    volatile int *stop;         /* if non-NULL and set, fitting stops with ML_ESTOPPED */
    double *fitted_out;         /* if non-NULL: t->nrow response-scale fitted values (NaN for
                                   rows dropped for missing values), from the fit's own last
                                   pass over the data */
};

void gam_options_default(struct gam_options *o);

/* A variable the model reads from input tables. */
struct gam_var {
    char *name;                 /* owned */
    int is_factor;              /* 1: categorical, levels below */
    size_t nlevels;
    char **levels;              /* owned, in mgcv's order (sorted, C locale) */
    double min, max;            /* numeric: training range */
    double mean, sd;            /* numeric: training mean and standard deviation */
};

/* One block of model-matrix columns. */
struct gam_term {
    enum gam_term_kind kind;
    char *label;                /* owned: "(Intercept)", "feed", "factor(line)",
                                   "s(temp)", "s(temp):lineB", "te(temp,pressure)" */
    int nvar;
    int var[GAM_MAX_MARGINS];   /* indices into vars */
    int by_var;                 /* factor variable of a by= smooth, or -1 */
    int by_level;               /* the level this copy is for (by= smooths) */
    int smooth;                 /* index into smooths, or -1 */
    int col0, ncol;             /* columns in the (constrained) coefficient vector */
    int pen0, npen;             /* penalties (indices into lambda) */
    int first_level;            /* factor terms: 1 (treatment contrasts) or 0 (no intercept) */
    double edf;                 /* out: effective degrees of freedom of the term */
};

struct gam_model {
    /* structure */
    char *formula;              /* owned, as given */
    char *response;             /* owned */
    enum gam_family family;
    enum gam_link link;
    enum gam_method method;
    size_t nvars;
    struct gam_var *vars;       /* owned */
    size_t nterms;
    struct gam_term *terms;     /* owned; terms[0] is the intercept when present */
    size_t nsmooths;
    struct gam_smooth *smooths; /* owned; by= copies share one */
    int p;                      /* coefficients */
    int npen;                   /* penalties = smoothing parameters */
    int Mp;                     /* dimension of the total penalty null space */
    /* fit */
    double *beta;               /* owned, p */
    double *Vp;                 /* owned, p x p Bayesian posterior covariance */
    double *edf;                /* owned, p: per-coefficient EDF (diag of F) */
    double *lambda;             /* owned, npen: smoothing parameters (mgcv's sp) */
    double edf_total;           /* tau = tr(F) */
    double scale;               /* mgcv fit$scale (sig2) */
    double reml_scale;          /* REML: the scale that minimises the criterion */
    double score;               /* mgcv fit$gcv.ubre: REML, GCV or UBRE value */
    double deviance;            /* at the fit */
    double null_deviance;
    double dev_explained;       /* 1 - deviance / null deviance */
    double r2_adj;              /* mgcv's adjusted R^2 */
    size_t n;                   /* rows used */
    size_t n_dropped;           /* rows dropped for a missing value in a used column */
    int iterations;             /* outer Newton iterations */
    int converged;              /* 1 if the smoothing-parameter search met its tolerance */
    char convergence_msg[128];  /* why it stopped */
};

/* Fit `formula` to table t.  Rows with a missing value in a used column are
 * dropped and counted (mgcv's na.omit).  Errors name the term, column or
 * option at fault; ML_ESING if the penalised normal equations are singular,
 * ML_EMAXITER is NOT returned for non-convergence: the model reports it in
 * converged / convergence_msg and the caller decides (never hidden).
 * *out is freed with gam_model_free. */
enum ml_status gam_fit(const struct ml_table *t, const char *formula,
                       const struct gam_options *o, struct gam_model **out,
                       struct ml_err *err);

void gam_model_free(struct gam_model *m);

enum gam_pred_type {
    GAM_PRED_LINK = 0,          /* linear predictor eta */
    GAM_PRED_RESPONSE = 1       /* mu = g^-1(eta) */
};

/* Predict for every row of t (which must hold every variable the model
 * uses; extra columns are ignored).  fit[i] and, if se != NULL, se[i]
 * (delta method on the response scale).  A missing value in a used column
 * gives NaN for that row.  ML_EDOM names a missing column or an unknown
 * factor level (row and value). */
enum ml_status gam_predict(const struct gam_model *m, const struct ml_table *t,
                           enum gam_pred_type type, double *fit, double *se,
                           struct ml_err *err);

/* fit and se as gam_predict on the response scale, plus the interval
 * [lower, upper] = g^-1(eta -+ z se(eta)) ordered low to high (z = 1.96: the
 * 95% interval mgcv users compute from predict(type = "link", se.fit =
 * TRUE)).  NaN in all four where a used value is missing.  Errors as
 * gam_predict. */
enum ml_status gam_predict_interval(const struct gam_model *m, const struct ml_table *t,
                                    double z, double *fit, double *se, double *lower,
                                    double *upper, struct ml_err *err);

/* Per-term contributions (mgcv type="terms"): out is nrow x nterms_out
 * row-major, one column per non-intercept term in model order, se likewise
 * (may be NULL).  *nterms_out = number of non-intercept terms. */
enum ml_status gam_predict_terms(const struct gam_model *m, const struct ml_table *t,
                                 double *out, double *se, size_t *nterms_out,
                                 struct ml_err *err);

/* The linear-predictor matrix (mgcv type="lpmatrix"): nrow x p row-major. */
enum ml_status gam_lpmatrix(const struct gam_model *m, const struct ml_table *t, double *X,
                            struct ml_err *err);

/* d eta / d var for the variable named `var` at every row of t: the sum of
 * the derivatives of every smooth and linear term in that variable.  NaN
 * where a used value is missing. */
enum ml_status gam_derivative(const struct gam_model *m, const struct ml_table *t,
                              const char *var, double *out, struct ml_err *err);

/* Family helpers (also used by the HDF5 loader to validate). */
const char *gam_family_name(enum gam_family f);
const char *gam_link_name(enum gam_link l);
/* Parse "gaussian", "binomial", "poisson", "Gamma"/"gamma" and the link names. */
enum ml_status gam_family_parse(const char *s, enum gam_family *f, struct ml_err *err);
enum ml_status gam_link_parse(const char *s, enum gam_link *l, struct ml_err *err);
/* mgcv's default link: identity, logit, log, inverse. */
enum gam_link gam_default_link(enum gam_family f);
/* 1 if the link is allowed for the family here. */
int gam_link_valid(enum gam_family f, enum gam_link l);

#endif
