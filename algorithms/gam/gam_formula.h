/* gam_formula.h: the model formula in R/mgcv syntax, parsed into terms.
 *
 *   yield ~ s(temp) + s(flow, k=20) + te(temp, pressure) + te(a, b, k=c(5,6))
 *         + s(temp, by=factor(line)) + s(flow, by=line) + factor(line) + feed
 *
 * Grammar (whitespace free between tokens):
 *   formula  := response '~' rhs
 *   rhs      := term ('+' term)*       ; '- 1', '+ 0', '0 +' remove the intercept,
 *                                        '+ 1' is accepted (intercept is the default)
 *   term     := name | 'factor(' name ')' | 's(' args ')' | 'te(' args ')'
 *   args     := name (',' name)* (',' option)*       ; s() takes exactly one name
 *   option   := 'k' '=' int | 'k' '=' 'c(' int (',' int)* ')'
 *             | 'm' '=' int | 'm' '=' 'c(' int ',' int ')'
 *             | 'bs' '=' '"ps"' | 'by' '=' name | 'by' '=' 'factor(' name ')'
 *             | 'sp' '=' number                        ; a fixed smoothing parameter
 *   name     := [A-Za-z._][A-Za-z0-9._]* | '`' any characters but '`' '`'
 *
 * Only P-splines exist here: bs may only be "ps" (other bases are an error
 * naming the term).  Defaults as mgcv's for bs="ps": s() k = 10, te() k = 5 per
 * margin, m = c(2, 2); a single m gives m1 = m2 = m (mgcv's ps rule); a single
 * k in te() applies to every margin.  Errors (ML_EINVAL) quote the formula
 * text around the position at fault: an unknown option, a duplicate term, a
 * missing ')', an empty term, k or m out of range (k < m1 + 2 ... etc.).
 *
 * by=factor(g) and by=g both store by = "g", so s(x, by=factor(g)) +
 * s(x, by=g) is a duplicate term.  Positions in messages are 1-based.
 *
 * Column existence and types are not checked here (see gam_setup). */
#ifndef ML_GAM_FORMULA_H
#define ML_GAM_FORMULA_H

#include <stddef.h>

#include "gam_smooth.h"
#include "ml_status.h"

enum gam_term_kind {            /* stored in model files: append only */
    GAM_TERM_LINEAR = 0,        /* a bare numeric name: one column */
    GAM_TERM_FACTOR = 1,        /* factor(g) or a bare categorical name: treatment contrasts */
    GAM_TERM_S = 2,             /* s(x, ...) */
    GAM_TERM_TE = 3             /* te(x, z, ...) */
};

struct gam_term_spec {
    enum gam_term_kind kind;
    int nvar;                       /* 1 for linear/factor/s, >= 2 for te */
    char *var[GAM_MAX_MARGINS];     /* owned variable names */
    int k[GAM_MAX_MARGINS];         /* basis dimension per margin */
    int m1[GAM_MAX_MARGINS];        /* B-spline order - 2 per margin */
    int m2[GAM_MAX_MARGINS];        /* penalty order per margin */
    char *by;                       /* owned factor name for by=, or NULL */
    double sp;                      /* fixed smoothing parameter, or -1 (estimate) */
    char *label;                    /* owned, mgcv-style label: "s(temp)", "te(temp,pressure)",
                                       "s(temp):line" is formed later per level */
};

struct gam_formula {
    char *response;                 /* owned */
    int intercept;                  /* 1 (default) or 0 */
    size_t nterms;
    struct gam_term_spec *terms;    /* owned array, in formula order */
    char *text;                     /* owned copy of the formula as given */
};

/* Caps on outside input (the formula is a hyperparameter).  Exceeding the
 * length or term count is ML_ELIMIT.  GAM_FORMULA_MAX_COLS bounds k of an s()
 * and the product of the margin k of a te(), so p_u and p_u * p_u fit an int
 * in gam_smooth; larger values are ML_EINVAL. */
#define GAM_FORMULA_MAX_LEN 4096
#define GAM_FORMULA_MAX_TERMS 256
#define GAM_FORMULA_MAX_COLS 10000

/* Parse `text` (NUL-terminated, at most GAM_FORMULA_MAX_LEN bytes) into *out.
 * On ML_OK the caller owns *out and releases it with gam_formula_free.  On
 * error *out is left empty (all pointers NULL, so gam_formula_free is a
 * harmless no-op) and err->msg quotes the formula and the 1-based character
 * position at fault.  Codes: ML_EINVAL (syntax or option value; also a NULL
 * argument), ML_ELIMIT (a cap above), ML_ENOMEM, ML_EINTERNAL (strtod did not
 * read a validated number: LC_NUMERIC is not "C").  Thread-safe. */
enum ml_status gam_formula_parse(const char *text, struct gam_formula *out, struct ml_err *err);

/* Free everything *f owns and zero it; f == NULL is a no-op. */
void gam_formula_free(struct gam_formula *f);

#endif
