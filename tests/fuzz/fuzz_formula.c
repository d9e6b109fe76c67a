/* fuzz_formula.c: libFuzzer target for algorithms/gam/gam_formula.c.
 *
 * The formula is a hyperparameter, i.e. outside input.  The bytes are copied
 * into a NUL-terminated buffer (an embedded NUL ends the formula, as it would
 * for a C string from hyperparameters.json) and parsed; the result is freed.
 * Besides crashes, leaks and UB, the target aborts when the parser breaks the
 * header's promises: ML_OK with an ill-formed formula (a k or m outside the
 * P-spline rules, a te with a wrong number of margins, a missing label, more
 * than GAM_FORMULA_MAX_TERMS terms), or an error without a one-line message
 * or with *out not left empty.  Seeds: tests/fuzz/corpus/fuzz_formula/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../algorithms/gam/gam_formula.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                  \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                   \
        }                                                                              \
    } while (0)

static void check_ok(const struct gam_formula *f, const char *text)
{
    size_t j, l;
    int v;

    REQUIRE(f->response && f->response[0] && f->text && strcmp(f->text, text) == 0);
    REQUIRE(f->intercept == 0 || f->intercept == 1);
    REQUIRE(f->nterms <= GAM_FORMULA_MAX_TERMS);
    REQUIRE(f->nterms > 0 || f->intercept);
    REQUIRE(f->nterms == 0 || f->terms);
    for (j = 0; j < f->nterms; j++) {
        const struct gam_term_spec *t = &f->terms[j];
        long cols = 1;
        REQUIRE(t->label && t->label[0] && !strchr(t->label, '\n'));
        REQUIRE(t->sp == -1.0 || t->sp >= 0);
        switch (t->kind) {
        case GAM_TERM_LINEAR:
        case GAM_TERM_FACTOR:
            REQUIRE(t->nvar == 1 && t->by == NULL);
            break;
        case GAM_TERM_S:
            REQUIRE(t->nvar == 1);
            break;
        case GAM_TERM_TE:
            REQUIRE(t->nvar >= 2 && t->nvar <= GAM_MAX_MARGINS);
            break;
        default:
            REQUIRE(0);
        }
        for (v = 0; v < t->nvar; v++) {
            REQUIRE(t->var[v] && t->var[v][0]);
            REQUIRE(strcmp(t->var[v], f->response) != 0);
            for (l = 0; l < (size_t)v; l++)
                REQUIRE(strcmp(t->var[v], t->var[l]) != 0);
            if (t->kind == GAM_TERM_S || t->kind == GAM_TERM_TE) {
                REQUIRE(t->m1[v] >= 0 && t->m1[v] + 2 <= 8 && t->m2[v] >= 0);
                REQUIRE(t->k[v] >= t->m1[v] + 2 && t->m2[v] < t->k[v]);
                cols *= t->k[v];
                REQUIRE(cols <= GAM_FORMULA_MAX_COLS);
            }
        }
        for (v = t->nvar; v < GAM_MAX_MARGINS; v++)
            REQUIRE(t->var[v] == NULL);
        REQUIRE(t->by == NULL || (t->by[0] && strcmp(t->by, f->response) != 0));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gam_formula f;
    struct ml_err err;
    enum ml_status st;
    char *text = malloc(size + 1);

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    memset(&err, 0, sizeof err);
    st = gam_formula_parse(text, &f, &err);
    if (st == ML_OK) {
        check_ok(&f, text);
    } else {
        REQUIRE(st == ML_EINVAL || st == ML_ELIMIT);
        REQUIRE(err.code == st);
        REQUIRE(memchr(err.msg, '\0', sizeof err.msg) != NULL);
        REQUIRE(err.msg[0] != '\0' && strchr(err.msg, '\n') == NULL);
        REQUIRE(f.response == NULL && f.terms == NULL && f.nterms == 0 && f.text == NULL);
    }
    gam_formula_free(&f);
    free(text);
    return 0;
}
