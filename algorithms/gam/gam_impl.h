/* gam_impl.h: internals shared by the gam_*.c files; no other module
 * includes it.
 *
 * Two column layouts: the *unconstrained* one, where each smooth block has
 * p_u = prod(k_m) columns and a row is sparse, and the *constrained* one (the
 * model's coefficients), where each smooth block has p_u - 1 columns (the
 * sum-to-zero constraint absorbed by the block's Householder Z).  Parametric
 * columns are identical in both.  Data passes work in the unconstrained
 * layout; everything after works in the constrained one. */
#ifndef ML_GAM_IMPL_H
#define ML_GAM_IMPL_H

#include "gam.h"

/* Largest number of non-zeros in one unconstrained row (bounded by P_u). */
int gam_row_max_nnz(const struct gam_model *m);

/* Unconstrained column count and each term's unconstrained offset. */
int gam_pu(const struct gam_model *m);
int gam_term_ucol0(const struct gam_model *m, size_t t);

/* The sparse unconstrained row for one point: xv[v] is variable v's value
 * (factor: level index as a double).  Returns nnz; idx ascending. */
int gam_row_sparse(const struct gam_model *m, const double *xv, double *vals, int *idx);

/* Constrained dense row (p entries) from the point xv; work has
 * P_u + gam_row_max_nnz doubles, iwork gam_row_max_nnz ints. */
void gam_row_dense(const struct gam_model *m, const double *xv, double *row, double *work,
                   int *iwork);

/* Map a P_u x P_u symmetric matrix (upper triangle filled) to the
 * constrained p x p full matrix Zb' A Zb; and a P_u vector to Zb' v. */
void gam_constrain_matrix(const struct gam_model *m, const double *Au, double *A);
/* vu = Zb v: a constrained p-vector (coefficients) in the unconstrained layout. */
void gam_expand_vector(const struct gam_model *m, const double *v, double *vu);
void gam_constrain_vector(const struct gam_model *m, const double *vu, double *v);

/* The fitting data after NA removal: one array per model variable. */
struct gam_data {
    size_t n;
    const double **x;    /* nvars arrays of n values (factor: level index) */
    unsigned char *x_owned; /* nvars flags: 1 if x[v] is ours to free, 0 if it is the
                               table's own column (numeric, no row dropped) */
    double *y;           /* n, owned */
    double *w;           /* prior weights n, owned, or NULL (all 1) */
    size_t *rows;        /* n, owned: the table row of each fitting row */
};

void gam_data_free(struct gam_data *d, size_t nvars);

/* Weighted cross-products over the data: Au (P_u x P_u, upper triangle) +=
 * sum_i wt_i r_i r_i'; bu (P_u) += sum_i wt_i z_i r_i.  wt and z are length
 * n arrays (z may be NULL to skip bu).  Threaded over row blocks; the
 * result is bit-identical for any number of threads (fixed block
 * boundaries, summed in block order). */
enum ml_status gam_accumulate(const struct gam_model *m, const struct gam_data *d,
                              const double *wt, const double *z, double *Au, double *bu,
                              int threads, struct ml_err *err);

/* Complete the smooths gam_setup left pending (sm->u == NULL: s() terms,
 * whose constraint and penalty scale need the column means and ||B||_inf of
 * the basis over the data) from one data pass.  With Au != NULL the same
 * pass accumulates X'WX and X'Wz exactly as gam_accumulate (a Gaussian fit's
 * single pass); with Au == NULL it only gathers the statistics.  The
 * statistics are summed per row block in block order, so they too are the
 * same for any number of threads. */
enum ml_status gam_finish_pass(struct gam_model *m, const struct gam_data *d, const double *wt,
                               const double *z, double *Au, double *bu, int threads,
                               struct ml_err *err);

/* eta = X beta for every data row (constrained beta); threaded. */
enum ml_status gam_linear_predictor(const struct gam_model *m, const struct gam_data *d,
                                    const double *beta, double *eta, int threads,
                                    struct ml_err *err);

/* For every data row: q_i = x_i' M x_i (M p x p symmetric), e.g. the
 * leverages with M = H^-1.  Threaded. */
enum ml_status gam_quad_form_rows(const struct gam_model *m, const struct gam_data *d,
                                  const double *M, double *q, int threads, struct ml_err *err);

/* Set up the model structure (terms, variables, smooths, penalties) from a
 * parsed formula and the table, and extract the fitting data. */
enum ml_status gam_setup(const struct ml_table *t, const struct gam_formula *f,
                         const struct gam_options *o, struct gam_model *m,
                         struct gam_data *d, struct ml_err *err);

/* The penalty j embedded in the constrained layout: the block's offset and
 * size and its matrix (S[..] of the term's smooth). */
void gam_penalty(const struct gam_model *m, int j, int *off, int *size, const double **S);

/* Family functions (gam_family.c). */
double gam_linkfun(enum gam_link l, double mu);
double gam_linkinv(enum gam_link l, double eta);
double gam_mu_eta(enum gam_link l, double eta);           /* d mu / d eta */
double gam_variance(enum gam_family f, double mu);
double gam_dev_resid(enum gam_family f, double y, double mu, double w);
int gam_valid_mu(enum gam_family f, double mu);
int gam_valid_y(enum gam_family f, double y);

#endif
