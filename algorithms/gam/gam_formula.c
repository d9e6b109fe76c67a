/* gam_formula.c: gam_formula_parse and gam_formula_free, a hand-written
 * recursive-descent parser for the R/mgcv formula subset of gam_formula.h.
 *
 * The parser walks the text once with an index; every token (name, number,
 * string, punctuation) is recognised where it is needed, so error messages
 * can say what was expected at that exact place.  Names are kept as spans
 * into the text and copied only when a term is stored.  Numbers are scanned
 * by hand first (so strtol/strtod never see "0x1p3", "inf" or leading
 * blanks) and then converted with an end-pointer check.
 *
 * The rules of mgcv 1.8 for bs="ps" (smooth.construct.ps.smooth.spec;
 * shared/reference/gam-numerics.md section 1): m is c(m1, m2) with B-spline
 * order m1 + 2 and penalty order m2, a single m means m1 = m2 = m, defaults
 * s: k = 10, te: k = 5 per margin, m = c(2, 2).  The knot construction needs
 * nk = k - m1 >= 2 knots over the data range, the difference penalty needs
 * m2 < k, and bspline.h caps the order at BSPL_MAX_ORDER, so 0 <= m1 <=
 * BSPL_MAX_ORDER - 2 and m2 >= 0.
 *
 * Decided here (beyond the header):
 *  - te(..., m = c(m1, m2)) with m1 != m2 is refused: mgcv's te() reads a
 *    vector m as one m per margin (m = c(2, 3): margin 1 gets m1 = m2 = 2,
 *    margin 2 gets 3), s() reads it as c(m1, m2); the two readings agree
 *    only when m1 == m2.
 *  - k and m must be integers, sp a finite number >= 0 (mgcv's negative sp,
 *    "estimate it", is what leaving sp out means here).
 *  - A column used both as a linear term and as factor() is a duplicate
 *    (either way it is the same parametric column set, or aliased with it);
 *    te(a, b) and te(b, a) are duplicates (same function space).
 *  - The response may not appear among the term variables or by= names.
 *  - "y ~ 1" is an intercept-only model; removing the intercept and adding
 *    it back in one formula ("- 1 ... + 1") is an error, not "last wins".
 *  - One sp per term: for a te() it is the caller's to apply to each margin
 *    penalty (mgcv would take one sp per penalty).
 *  - '.' ("all other columns") and every other function or operator of R's
 *    formula language are errors naming the construct.
 *  - Names may not contain control characters (tab and newline included),
 *    so labels and messages stay on one line.
 *  - Linear and factor labels follow R's deparse(backtick = TRUE): a name
 *    that is not syntactic in R is shown in backquotes ("`my col`",
 *    "factor(`my col`)"), as are the variables inside s() and te() labels,
 *    which mgcv builds the same way. */
#include "gam_formula.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bspline/bspline.h"

#define DEFAULT_K_S 10
#define DEFAULT_K_TE 5
#define DEFAULT_M 2
#define MAX_M1 (BSPL_MAX_ORDER - 2)

/* A name as it appears in the text: text[at .. at + len), backquotes excluded. */
struct span {
    size_t at;    /* offset of the first character of the name */
    size_t len;   /* length in bytes */
    size_t start; /* offset of the token (the opening backquote if quoted) */
    int quoted;   /* 1 if written as `...` */
};

struct parser {
    const char *s;       /* the formula text (not owned) */
    size_t n;            /* its length */
    size_t i;            /* current offset */
    size_t cap;          /* allocated length of the terms array */
    struct ml_err *err;  /* where errors go */
};

/* ---- Characters ------------------------------------------------------- */

/* Explicit ASCII classes: <ctype.h> depends on the locale. */
static int is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_name_start(int c)
{
    return is_alpha(c) || c == '.' || c == '_';
}

static int is_name_char(int c)
{
    return is_alpha(c) || is_digit(c) || c == '.' || c == '_';
}

static int peek_at(const struct parser *p, size_t i)
{
    return i < p->n ? (unsigned char)p->s[i] : -1;
}

static int peek(const struct parser *p)
{
    return peek_at(p, p->i);
}

static void skip_ws(struct parser *p)
{
    while (p->i < p->n && is_space((unsigned char)p->s[p->i]))
        p->i++;
}

/* ---- Messages --------------------------------------------------------- */

/* Append s[0..n) to dst (capacity cap, always NUL-terminated) with '"', '\\'
 * and non-printable bytes escaped, stopping before an escape would be cut.
 * Returns the number of input bytes consumed. */
static size_t escape_into(char *dst, size_t cap, const char *s, size_t n)
{
    size_t used = strlen(dst), k;

    for (k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        char tmp[5];
        size_t w;

        if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            w = 2;
        } else if (c == '\n') {
            memcpy(tmp, "\\n", 2);
            w = 2;
        } else if (c == '\t') {
            memcpy(tmp, "\\t", 2);
            w = 2;
        } else if (c < 0x20 || c >= 0x7F) {
            /* Bytes >= 0x80 too: a message may end up in JSON or a log, and
             * a cut UTF-8 sequence would make it invalid text. */
            snprintf(tmp, sizeof tmp, "\\x%02X", c);
            w = 4;
        } else {
            tmp[0] = (char)c;
            w = 1;
        }
        if (used + w + 1 > cap)
            break;
        memcpy(dst + used, tmp, w);
        used += w;
        dst[used] = '\0';
    }
    return k;
}

/* A name or snippet for a message: escaped, cut at about `cap` bytes with "...". */
static const char *show(char *buf, size_t cap, const char *s, size_t n)
{
    buf[0] = '\0';
    if (escape_into(buf, cap - 3, s, n) < n)
        memcpy(buf + strlen(buf), "...", 4);
    return buf;
}

static const char *show_span(char *buf, size_t cap, const struct parser *p, const struct span *sp)
{
    return show(buf, cap, p->s + sp->at, sp->len);
}

/* Formula texts up to QUOTE_WHOLE bytes are quoted whole; longer ones as a
 * window of WINDOW bytes either side of the position.  With the detail
 * (names in it are cut at 40-72 bytes) the message stays well inside
 * ML_ERR_MSG_MAX = 1024, so the hint at its end survives. */
#define QUOTE_WHOLE 200
#define WINDOW 70

/* Fail with `formula "<text>": <detail> at character <at+1>[; <hint>]`. */
static enum ml_status fail_at(struct parser *p, enum ml_status code, size_t at, const char *hint,
                              const char *fmt, ...) ML_ATTR_FORMAT(5, 6);

static enum ml_status fail_at(struct parser *p, enum ml_status code, size_t at, const char *hint,
                              const char *fmt, ...)
{
    char detail[400];
    char quote[480];
    size_t lo = 0, hi = p->n, used;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (p->n > QUOTE_WHOLE) {
        lo = at > WINDOW ? at - WINDOW : 0;
        hi = at + WINDOW < p->n ? at + WINDOW : p->n;
    }
    quote[0] = '\0';
    if (lo > 0)
        memcpy(quote, "...", 4);
    used = escape_into(quote, sizeof quote - 3, p->s + lo, hi - lo);
    if (lo + used < p->n)
        memcpy(quote + strlen(quote), "...", 4);
    ML_FAIL(p->err, code, "formula \"%s\": %s at character %zu%s%s", quote, detail, at + 1,
            hint ? "; " : "", hint ? hint : "");
}

/* ---- Tokens ----------------------------------------------------------- */

static int span_is(const struct parser *p, const struct span *sp, const char *word)
{
    size_t n = strlen(word);
    return !sp->quoted && sp->len == n && memcmp(p->s + sp->at, word, n) == 0;
}

static int span_eq(const struct parser *p, const struct span *a, const struct span *b)
{
    return a->len == b->len && memcmp(p->s + a->at, p->s + b->at, a->len) == 0;
}

/* Scan a name at the current position (whitespace already skipped).
 * *found = 0 (and nothing consumed) if no name starts here.  A number such
 * as ".5" is not a name. */
static enum ml_status scan_name(struct parser *p, struct span *sp, int *found)
{
    size_t start = p->i, k;
    int c = peek(p);

    *found = 0;
    sp->start = start;
    sp->quoted = 0;
    if (c == '`') {
        for (k = start + 1; k < p->n && p->s[k] != '`'; k++) {
            unsigned char b = (unsigned char)p->s[k];
            if (b < 0x20 || b == 0x7F)
                return fail_at(p, ML_EINVAL, k, NULL,
                               "control character 0x%02X inside a backquoted name", b);
        }
        if (k >= p->n)
            return fail_at(p, ML_EINVAL, start, NULL,
                           "backquoted name is not closed (no matching '`')");
        if (k == start + 1)
            return fail_at(p, ML_EINVAL, start, NULL, "empty backquoted name ``");
        sp->at = start + 1;
        sp->len = k - start - 1;
        sp->quoted = 1;
        p->i = k + 1;
        *found = 1;
        return ML_OK;
    }
    if (!is_name_start(c) || (c == '.' && is_digit(peek_at(p, start + 1))))
        return ML_OK;
    for (k = start; k < p->n && is_name_char((unsigned char)p->s[k]); k++)
        ;
    sp->at = start;
    sp->len = k - start;
    p->i = k;
    *found = 1;
    return ML_OK;
}

/* Length of a number literal at s[i..n): [+-]? (digits ['.' digits*] | '.' digits)
 * ([eE] [+-]? digits)?; 0 if none.  *is_int: no '.' and no exponent. */
static size_t number_len(const char *s, size_t n, size_t i, int *is_int)
{
    size_t k = i, digits = 0;

    *is_int = 1;
    if (k < n && (s[k] == '+' || s[k] == '-'))
        k++;
    while (k < n && is_digit((unsigned char)s[k])) {
        k++;
        digits++;
    }
    if (k < n && s[k] == '.') {
        *is_int = 0;
        k++;
        while (k < n && is_digit((unsigned char)s[k])) {
            k++;
            digits++;
        }
    }
    if (digits == 0)
        return 0;
    if (k < n && (s[k] == 'e' || s[k] == 'E')) {
        size_t e = k + 1;
        if (e < n && (s[e] == '+' || s[e] == '-'))
            e++;
        if (e < n && is_digit((unsigned char)s[e])) {
            while (e < n && is_digit((unsigned char)s[e]))
                e++;
            k = e;
            *is_int = 0;
        }
    }
    return k - i;
}

/* The text of a number-like token for a message: the literal plus any name
 * characters glued to it ("10L", "5x"). */
static size_t token_len(const struct parser *p, size_t at, size_t numlen)
{
    size_t k = at + numlen;
    while (k < p->n && is_name_char((unsigned char)p->s[k]))
        k++;
    if (k == at && k < p->n)
        k++;
    return k - at;
}

/* Read an integer literal for option `what` of term `desc`. */
static enum ml_status parse_int(struct parser *p, const char *what, const char *desc, int *out)
{
    char buf[GAM_FORMULA_MAX_LEN + 1];
    char shown[80];
    size_t at = p->i, len;
    int is_int;
    long v;
    char *end;

    len = number_len(p->s, p->n, at, &is_int);
    if (len == 0 || !is_int || (at + len < p->n && is_name_char((unsigned char)p->s[at + len]))) {
        size_t tl = token_len(p, at, len);
        if (tl == 0)
            return fail_at(p, ML_EINVAL, at, NULL, "%s in %s: expected an integer, found the end",
                           what, desc);
        return fail_at(p, ML_EINVAL, at, NULL, "%s in %s: expected an integer, found \"%s\"",
                       what, desc, show(shown, 40, p->s + at, tl));
    }
    memcpy(buf, p->s + at, len);
    buf[len] = '\0';
    errno = 0;
    v = strtol(buf, &end, 10);
    if (end != buf + len)
        return fail_at(p, ML_EINTERNAL, at, NULL, "strtol did not read the integer \"%s\"",
                       show(shown, 40, buf, len));
    if (errno == ERANGE || v > INT_MAX || v < INT_MIN)
        return fail_at(p, ML_EINVAL, at, NULL, "%s = %s in %s is out of range", what,
                       show(shown, 40, buf, len), desc);
    *out = (int)v;
    p->i = at + len;
    return ML_OK;
}

/* Read a number literal (sp). */
static enum ml_status parse_double(struct parser *p, const char *what, const char *desc,
                                   double *out)
{
    char buf[GAM_FORMULA_MAX_LEN + 1];
    char shown[80];
    size_t at = p->i, len;
    int is_int;
    double v;
    char *end;

    len = number_len(p->s, p->n, at, &is_int);
    if (len == 0 || (at + len < p->n && is_name_char((unsigned char)p->s[at + len]))) {
        size_t tl = token_len(p, at, len);
        if (tl == 0)
            return fail_at(p, ML_EINVAL, at, NULL, "%s in %s: expected a number, found the end",
                           what, desc);
        return fail_at(p, ML_EINVAL, at, NULL, "%s in %s: expected a number, found \"%s\"", what,
                       desc, show(shown, 40, p->s + at, tl));
    }
    memcpy(buf, p->s + at, len);
    buf[len] = '\0';
    v = strtod(buf, &end);
    /* The literal was validated above, so a short read means a decimal
     * point other than '.': the program must not call setlocale(LC_NUMERIC). */
    if (end != buf + len)
        return fail_at(p, ML_EINTERNAL, at, NULL,
                       "strtod did not read the number \"%s\" (is LC_NUMERIC not \"C\"?)",
                       show(shown, 40, buf, len));
    if (!isfinite(v))
        return fail_at(p, ML_EINVAL, at, NULL, "%s = %s in %s is not a finite number", what,
                       show(shown, 40, buf, len), desc);
    *out = v;
    p->i = at + len;
    return ML_OK;
}

/* Expect the character `c` after optional whitespace. */
static enum ml_status expect(struct parser *p, int c, const char *context)
{
    char shown[80];

    skip_ws(p);
    if (peek(p) == c) {
        p->i++;
        return ML_OK;
    }
    if (p->i >= p->n)
        return fail_at(p, ML_EINVAL, p->i, NULL, "expected '%c' %s, found the end", c, context);
    return fail_at(p, ML_EINVAL, p->i, NULL, "expected '%c' %s, found \"%s\"", c, context,
                   show(shown, 40, p->s + p->i, token_len(p, p->i, 0)));
}

/* ---- Terms ------------------------------------------------------------ */

static char *dup_span(const struct parser *p, const struct span *sp)
{
    char *d = malloc(sp->len + 1);
    if (d) {
        memcpy(d, p->s + sp->at, sp->len);
        d[sp->len] = '\0';
    }
    return d;
}

static void term_clear(struct gam_term_spec *t)
{
    int j;

    for (j = 0; j < GAM_MAX_MARGINS; j++)
        free(t->var[j]);
    free(t->by);
    free(t->label);
    memset(t, 0, sizeof *t);
}

/* R's syntactic names (?make.names): a letter, or '.' not followed by a
 * digit, then letters, digits, '.' and '_'; not a reserved word. */
static int r_syntactic(const char *s)
{
    static const char *const reserved[] = {
        "if", "else", "repeat", "while", "function", "for", "next", "break", "TRUE", "FALSE",
        "NULL", "Inf", "NaN", "NA", "NA_integer_", "NA_real_", "NA_character_",
        "NA_complex_", "in", "...", NULL};
    size_t k;

    if (!(is_alpha((unsigned char)s[0]) || s[0] == '.') ||
        (s[0] == '.' && is_digit((unsigned char)s[1])))
        return 0;
    for (k = 1; s[k]; k++)
        if (!is_name_char((unsigned char)s[k]))
            return 0;
    for (k = 0; reserved[k]; k++)
        if (strcmp(s, reserved[k]) == 0)
            return 0;
    /* ..1, ..2, ... are reserved too. */
    if (s[0] == '.' && s[1] == '.' && s[2] != '\0' &&
        strspn(s + 2, "0123456789") == strlen(s + 2))
        return 0;
    return 1;
}

/* Append `name` to buf at *len, backquoted unless syntactic (buf is sized by the caller). */
static void label_name(char *buf, size_t *len, const char *name)
{
    size_t n = strlen(name);
    int q = !r_syntactic(name);

    if (q)
        buf[(*len)++] = '`';
    memcpy(buf + *len, name, n);
    *len += n;
    if (q)
        buf[(*len)++] = '`';
}

static char *label_make(const struct gam_term_spec *t)
{
    static const char *const head[] = {"", "factor(", "s(", "te("};
    size_t cap = 8, len, j;
    char *buf;

    for (j = 0; j < (size_t)t->nvar; j++)
        cap += strlen(t->var[j]) + 3;
    buf = malloc(cap);
    if (!buf)
        return NULL;
    len = strlen(head[t->kind]);
    memcpy(buf, head[t->kind], len);
    for (j = 0; j < (size_t)t->nvar; j++) {
        if (j > 0)
            buf[len++] = ',';
        label_name(buf, &len, t->var[j]);
    }
    if (t->kind != GAM_TERM_LINEAR)
        buf[len++] = ')';
    buf[len] = '\0';
    return buf;
}

/* A short description of a stored term for messages: its label, plus the by
 * variable if any. */
static const char *term_desc(char *buf, size_t cap, const struct gam_term_spec *t)
{
    char a[80], b[80];

    show(a, 72, t->label, strlen(t->label));
    if (t->by)
        snprintf(buf, cap, "%s with by=%s", a, show(b, 72, t->by, strlen(t->by)));
    else
        snprintf(buf, cap, "%s", a);
    return buf;
}

static int same_var_set(const struct gam_term_spec *a, const struct gam_term_spec *b)
{
    int j, l;

    if (a->nvar != b->nvar)
        return 0;
    for (j = 0; j < a->nvar; j++) {
        for (l = 0; l < b->nvar && strcmp(a->var[j], b->var[l]) != 0; l++)
            ;
        if (l == b->nvar)
            return 0;
    }
    return 1;
}

static int kind_class(enum gam_term_kind k)
{
    return k == GAM_TERM_FACTOR ? GAM_TERM_LINEAR : (int)k;
}

/* Append *t (its strings move into f) after the checks that need the other
 * terms: cap, duplicates, the response among the variables.  On error *t
 * still owns its strings. */
static enum ml_status add_term(struct parser *p, struct gam_formula *f, struct gam_term_spec *t,
                               size_t at)
{
    char d1[200], d2[200], shown[80];
    size_t j;
    int v;

    for (v = 0; v < t->nvar; v++)
        if (strcmp(t->var[v], f->response) == 0)
            return fail_at(p, ML_EINVAL, at, NULL, "the response \"%s\" is also a variable of %s",
                           show(shown, 72, f->response, strlen(f->response)),
                           term_desc(d1, sizeof d1, t));
    if (t->by && strcmp(t->by, f->response) == 0)
        return fail_at(p, ML_EINVAL, at, NULL, "the response \"%s\" is the by variable of %s",
                       show(shown, 72, f->response, strlen(f->response)),
                       term_desc(d1, sizeof d1, t));
    for (j = 0; j < f->nterms; j++) {
        const struct gam_term_spec *o = &f->terms[j];
        int same_by = (o->by == NULL && t->by == NULL) ||
                      (o->by && t->by && strcmp(o->by, t->by) == 0);
        if (kind_class(o->kind) == kind_class(t->kind) && same_by && same_var_set(o, t))
            return fail_at(p, ML_EINVAL, at, "remove one of them",
                           "term %s duplicates term %zu, %s", term_desc(d1, sizeof d1, t), j + 1,
                           term_desc(d2, sizeof d2, o));
    }
    if (f->nterms >= GAM_FORMULA_MAX_TERMS)
        return fail_at(p, ML_ELIMIT, at, NULL, "more than %d terms", GAM_FORMULA_MAX_TERMS);
    if (f->nterms == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 8;
        struct gam_term_spec *nt = realloc(f->terms, cap * sizeof *nt);
        if (!nt)
            ML_FAIL(p->err, ML_ENOMEM, "out of memory storing %zu formula terms", f->nterms + 1);
        f->terms = nt;
        p->cap = cap;
    }
    f->terms[f->nterms++] = *t;
    memset(t, 0, sizeof *t);
    return ML_OK;
}

/* Fill t->var[0..nvar) from spans and make the label. */
static enum ml_status term_store(struct parser *p, struct gam_term_spec *t,
                                 const struct span *vars, int nvar, const struct span *by)
{
    int j;

    t->nvar = nvar;
    for (j = 0; j < nvar; j++) {
        t->var[j] = dup_span(p, &vars[j]);
        if (!t->var[j])
            ML_FAIL(p->err, ML_ENOMEM, "out of memory copying formula variable names");
    }
    if (by) {
        t->by = dup_span(p, by);
        if (!t->by)
            ML_FAIL(p->err, ML_ENOMEM, "out of memory copying formula variable names");
    }
    t->label = label_make(t);
    if (!t->label)
        ML_FAIL(p->err, ML_ENOMEM, "out of memory making a term label");
    return ML_OK;
}

/* `factor(` already consumed up to and including '('; reads `name )`.  Used
 * for factor() terms and by=factor(). */
static enum ml_status parse_factor_arg(struct parser *p, size_t open_at, struct span *name)
{
    char shown[80];
    enum ml_status st;
    int found;

    skip_ws(p);
    st = scan_name(p, name, &found);
    if (st != ML_OK)
        return st;
    if (!found) {
        if (p->i >= p->n)
            return fail_at(p, ML_EINVAL, open_at, NULL,
                           "missing ')' to close \"factor(\" (end of formula reached)");
        return fail_at(p, ML_EINVAL, p->i, NULL, "factor() needs a column name, found \"%s\"",
                       show(shown, 40, p->s + p->i, token_len(p, p->i, 0)));
    }
    skip_ws(p);
    if (peek(p) == ')') {
        p->i++;
        return ML_OK;
    }
    if (p->i >= p->n)
        return fail_at(p, ML_EINVAL, open_at, NULL,
                       "missing ')' to close \"factor(\" (end of formula reached)");
    if (peek(p) == '(')
        return fail_at(p, ML_EINVAL, p->i, NULL, "factor() takes a column name, not a call");
    return fail_at(p, ML_EINVAL, p->i, NULL,
                   "factor() takes exactly one column name and no options; found \"%s\"",
                   show(shown, 40, p->s + p->i, token_len(p, p->i, 0)));
}

/* Options of one s() or te() as read, before defaults. */
struct smooth_opts {
    int nk;                       /* 0: default; 1: one k for all margins; else per margin */
    int k[GAM_MAX_MARGINS];
    size_t k_at;
    int nm;                       /* 0: default; 1: m; 2: c(m1, m2) */
    int m[2];
    size_t m_at;
    int has_bs, has_by, has_sp;
    struct span by;
    double sp;
    size_t sp_at;
};

/* `c(` int (',' int)* `)` or a single int, into vals (at most maxn values). */
static enum ml_status parse_int_list(struct parser *p, const char *what, const char *desc,
                                     int *vals, int maxn, int *nout, const char *toomany)
{
    struct span sp;
    size_t save = p->i, open_at;
    enum ml_status st;
    int found, nv = 0;

    skip_ws(p);
    st = scan_name(p, &sp, &found);
    if (st != ML_OK)
        return st;
    if (!found || !span_is(p, &sp, "c")) {
        p->i = save;
        skip_ws(p);
        st = parse_int(p, what, desc, &vals[0]);
        *nout = 1;
        return st;
    }
    skip_ws(p);
    open_at = p->i;
    st = expect(p, '(', "after c");
    if (st != ML_OK)
        return st;
    for (;;) {
        skip_ws(p);
        if (nv == maxn)
            return fail_at(p, ML_EINVAL, p->i, NULL, "%s in %s: %s", what, desc, toomany);
        st = parse_int(p, what, desc, &vals[nv]);
        if (st != ML_OK)
            return st;
        nv++;
        skip_ws(p);
        if (peek(p) == ',') {
            p->i++;
            continue;
        }
        if (peek(p) == ')') {
            p->i++;
            break;
        }
        if (p->i >= p->n)
            return fail_at(p, ML_EINVAL, open_at, NULL,
                           "missing ')' to close \"c(\" (end of formula reached)");
        return expect(p, ')', "to close c(");
    }
    *nout = nv;
    return ML_OK;
}

static enum ml_status parse_option(struct parser *p, const struct span *name, int kind, int nvar,
                                   const char *desc, struct smooth_opts *o)
{
    char shown[80], msg[120];
    enum ml_status st;
    size_t at = name->start;
    int found;

    /* The '=' was already consumed by the caller. */
    if (span_is(p, name, "k")) {
        if (o->nk)
            return fail_at(p, ML_EINVAL, at, NULL, "option k given twice in %s", desc);
        o->k_at = at;
        snprintf(msg, sizeof msg, "expected one integer or c() of %d integers, one per margin",
                 nvar);
        st = parse_int_list(p, "k", desc, o->k, kind == GAM_TERM_TE ? nvar : 1, &o->nk,
                            kind == GAM_TERM_TE ? msg : "expected a single integer");
        if (st != ML_OK)
            return st;
        if (o->nk != 1 && o->nk != nvar)
            return fail_at(p, ML_EINVAL, at, NULL,
                           "k = c() in %s has %d values for %d margins; give one per margin "
                           "or a single k for all", desc, o->nk, nvar);
        return ML_OK;
    }
    if (span_is(p, name, "m")) {
        if (o->nm)
            return fail_at(p, ML_EINVAL, at, NULL, "option m given twice in %s", desc);
        o->m_at = at;
        return parse_int_list(p, "m", desc, o->m, 2, &o->nm,
                              "expected one integer or c(m1, m2): B-spline order - 2 and "
                              "penalty order");
    }
    if (span_is(p, name, "bs")) {
        size_t q_at, k;
        int quote;
        if (o->has_bs)
            return fail_at(p, ML_EINVAL, at, NULL, "option bs given twice in %s", desc);
        o->has_bs = 1;
        skip_ws(p);
        q_at = p->i;
        quote = peek(p);
        if (quote != '"' && quote != '\'') {
            if (p->i >= p->n)
                return fail_at(p, ML_EINVAL, q_at, NULL,
                               "bs in %s: expected \"ps\", found the end", desc);
            return fail_at(p, ML_EINVAL, q_at, NULL, "bs in %s: expected \"ps\", found \"%s\"",
                           desc, show(shown, 40, p->s + q_at, token_len(p, q_at, 0)));
        }
        for (k = q_at + 1; k < p->n && p->s[k] != quote; k++)
            ;
        if (k >= p->n)
            return fail_at(p, ML_EINVAL, q_at, NULL, "bs in %s: string is not closed", desc);
        if (k - q_at - 1 != 2 || memcmp(p->s + q_at + 1, "ps", 2) != 0)
            return fail_at(p, ML_EINVAL, q_at, NULL,
                           "bs = \"%s\" in %s is not supported: only P-splines, bs=\"ps\"",
                           show(shown, 40, p->s + q_at + 1, k - q_at - 1), desc);
        p->i = k + 1;
        return ML_OK;
    }
    if (span_is(p, name, "by")) {
        if (o->has_by)
            return fail_at(p, ML_EINVAL, at, NULL, "option by given twice in %s", desc);
        o->has_by = 1;
        skip_ws(p);
        st = scan_name(p, &o->by, &found);
        if (st != ML_OK)
            return st;
        if (!found) {
            if (p->i >= p->n)
                return fail_at(p, ML_EINVAL, p->i, NULL,
                               "by in %s: expected a column name, found the end", desc);
            return fail_at(p, ML_EINVAL, p->i, NULL,
                           "by in %s: expected a column name, found \"%s\"", desc,
                           show(shown, 40, p->s + p->i, token_len(p, p->i, 0)));
        }
        skip_ws(p);
        if (peek(p) == '(') {
            size_t open_at = p->i;
            if (!span_is(p, &o->by, "factor"))
                return fail_at(p, ML_EINVAL, o->by.start, NULL,
                               "by in %s: expected a column name or factor(name), found a call "
                               "to %s()", desc, show_span(shown, 40, p, &o->by));
            p->i++;
            return parse_factor_arg(p, open_at, &o->by);
        }
        return ML_OK;
    }
    if (span_is(p, name, "sp")) {
        if (o->has_sp)
            return fail_at(p, ML_EINVAL, at, NULL, "option sp given twice in %s", desc);
        o->has_sp = 1;
        skip_ws(p);
        o->sp_at = p->i;
        st = parse_double(p, "sp", desc, &o->sp);
        if (st != ML_OK)
            return st;
        if (o->sp < 0)
            return fail_at(p, ML_EINVAL, o->sp_at, NULL,
                           "sp = %g in %s is negative; a fixed smoothing parameter is >= 0 "
                           "(leave sp out to estimate it)", o->sp, desc);
        return ML_OK;
    }
    return fail_at(p, ML_EINVAL, at, "options are k, m, bs, by, sp",
                   "unknown option \"%s\" in %s", show_span(shown, 40, p, name), desc);
}

/* Check k and m of every margin against the P-spline rules (header comment). */
static enum ml_status check_margins(struct parser *p, const struct gam_term_spec *t,
                                    const struct smooth_opts *o, size_t term_at,
                                    const char *desc)
{
    const char *kdef = t->kind == GAM_TERM_TE ? " (te() default)" : " (s() default)";
    size_t m_at = o->nm ? o->m_at : term_at;
    size_t k_at = o->nk ? o->k_at : m_at;
    long cols = 1;
    int j;

    for (j = 0; j < t->nvar; j++) {
        int k = t->k[j], m1 = t->m1[j], m2 = t->m2[j];
        char where[240];
        /* k may differ per margin, so k messages name the margin of a te(). */
        if (t->nvar > 1)
            snprintf(where, sizeof where, "margin %d of %s", j + 1, desc);
        else
            snprintf(where, sizeof where, "%s", desc);
        if (m1 < 0 || m1 > MAX_M1)
            return fail_at(p, ML_EINVAL, m_at, NULL,
                           "m1 = %d in %s is out of range: the B-spline order m1 + 2 must be "
                           "2..%d, so 0 <= m1 <= %d", m1, desc, BSPL_MAX_ORDER, MAX_M1);
        if (m2 < 0)
            return fail_at(p, ML_EINVAL, m_at, NULL,
                           "m2 = %d in %s is negative: the penalty order must be >= 0", m2, desc);
        if (k > GAM_FORMULA_MAX_COLS)
            return fail_at(p, ML_EINVAL, k_at, NULL, "k = %d in %s exceeds the cap of %d",
                           k, where, GAM_FORMULA_MAX_COLS);
        if (k < m1 + 2)
            return fail_at(p, ML_EINVAL, k_at, NULL,
                           "k = %d%s in %s is too small for m1 = %d: a P-spline needs "
                           "k >= m1 + 2 = %d", k, o->nk ? "" : kdef, where, m1, m1 + 2);
        if (m2 >= k)
            return fail_at(p, ML_EINVAL, o->nm ? m_at : k_at, NULL,
                           "m2 = %d is too large for k = %d in %s: the difference penalty "
                           "needs m2 < k", m2, k, where);
        cols *= k;
        if (cols > GAM_FORMULA_MAX_COLS)
            return fail_at(p, ML_EINVAL, k_at, NULL,
                           "%s has more than %d basis functions (product of the margin k); "
                           "use smaller k", desc, GAM_FORMULA_MAX_COLS);
    }
    return ML_OK;
}

/* "s(" or "te(" consumed (open_at is the '('); reads args and ')' into *t. */
static enum ml_status parse_smooth(struct parser *p, enum gam_term_kind kind, size_t term_at,
                                   size_t open_at, struct gam_term_spec *t)
{
    const char *fname = kind == GAM_TERM_S ? "s" : "te";
    struct span vars[GAM_MAX_MARGINS];
    struct smooth_opts o;
    char desc[200], shown[80], shown2[80];
    enum ml_status st;
    int nvar = 0, nopt = 0, j;

    memset(&o, 0, sizeof o);
    snprintf(desc, sizeof desc, "%s(...)", fname);
    for (;;) {
        struct span name;
        size_t item_at;
        int found;

        skip_ws(p);
        item_at = p->i;
        if (p->i >= p->n)
            return fail_at(p, ML_EINVAL, open_at, NULL,
                           "missing ')' to close \"%s(\" (end of formula reached)", fname);
        if ((peek(p) == ')' || peek(p) == ',') && nvar + nopt == 0)
            return fail_at(p, ML_EINVAL, item_at, NULL, "%s() needs a variable", fname);
        if (peek(p) == ')' || peek(p) == ',')
            return fail_at(p, ML_EINVAL, item_at, NULL, "empty argument in %s", desc);
        st = scan_name(p, &name, &found);
        if (st != ML_OK)
            return st;
        if (!found)
            return fail_at(p, ML_EINVAL, item_at, NULL,
                           "expected a variable or option in %s, found \"%s\"", desc,
                           show(shown, 40, p->s + item_at, token_len(p, item_at, 0)));
        skip_ws(p);
        if (peek(p) == '=' && !name.quoted) {
            if (nvar == 0)
                return fail_at(p, ML_EINVAL, item_at, NULL,
                               "%s() needs a variable before its options", fname);
            p->i++;
            st = parse_option(p, &name, kind, nvar, desc, &o);
            if (st != ML_OK)
                return st;
            nopt++;
        } else {
            if (peek(p) == '(')
                return fail_at(p, ML_EINVAL, item_at, NULL,
                               "%s() takes column names, not a call to %s()", fname,
                               show_span(shown, 40, p, &name));
            if (nopt > 0)
                return fail_at(p, ML_EINVAL, item_at, NULL,
                               "variable \"%s\" after the options of %s; variables come first",
                               show_span(shown, 40, p, &name), desc);
            for (j = 0; j < nvar; j++)
                if (span_eq(p, &vars[j], &name))
                    return fail_at(p, ML_EINVAL, item_at, NULL,
                                   "variable \"%s\" appears twice in %s(...)",
                                   show_span(shown, 40, p, &name), fname);
            if (kind == GAM_TERM_S && nvar == 1)
                return fail_at(p, ML_EINVAL, item_at, NULL,
                               "s() takes exactly one variable, found a second one \"%s\"; "
                               "use te(%s, %s) for a smooth of several variables",
                               show_span(shown, 40, p, &name), show_span(shown2, 40, p, &vars[0]),
                               shown);
            if (nvar == GAM_MAX_MARGINS)
                return fail_at(p, ML_EINVAL, item_at, NULL,
                               "te() takes at most %d variables", GAM_MAX_MARGINS);
            vars[nvar++] = name;
            /* Describe the term by its variables from now on: "te(a, b, ...)". */
            {
                size_t len = (size_t)snprintf(desc, sizeof desc, "%s(", fname);
                for (j = 0; j < nvar && len < sizeof desc; j++)
                    len += (size_t)snprintf(desc + len, sizeof desc - len, "%s%s",
                                            j ? ", " : "", show_span(shown, 40, p, &vars[j]));
                if (len < sizeof desc)
                    snprintf(desc + len, sizeof desc - len, ", ...)");
            }
        }
        skip_ws(p);
        if (peek(p) == ',') {
            p->i++;
            continue;
        }
        if (peek(p) == ')') {
            p->i++;
            break;
        }
        if (p->i >= p->n)
            return fail_at(p, ML_EINVAL, open_at, NULL,
                           "missing ')' to close \"%s(\" (end of formula reached)", fname);
        return fail_at(p, ML_EINVAL, p->i, NULL, "expected ',' or ')' in %s, found \"%s\"", desc,
                       show(shown, 40, p->s + p->i, token_len(p, p->i, 0)));
    }
    if (kind == GAM_TERM_TE && nvar < 2)
        return fail_at(p, ML_EINVAL, term_at, NULL,
                       "te() needs 2 to %d variables, found 1; use s(%s) for one variable",
                       GAM_MAX_MARGINS, show_span(shown, 40, p, &vars[0]));

    /* mgcv reads te(..., m = c(a, b)) as one m per margin, while s() reads
     * it as c(m1, m2): refuse the ambiguous unequal form rather than fit a
     * different model than an R user expects. */
    if (kind == GAM_TERM_TE && o.nm == 2 && o.m[0] != o.m[1])
        return fail_at(p, ML_EINVAL, term_at, "give a single m, which every margin uses",
                       "m = c(%d, %d) in %s is ambiguous: mgcv reads a vector m in te() as one "
                       "m per margin", o.m[0], o.m[1], desc);
    t->kind = kind;
    for (j = 0; j < nvar; j++) {
        t->k[j] = o.nk == 0 ? (kind == GAM_TERM_S ? DEFAULT_K_S : DEFAULT_K_TE)
                            : o.k[o.nk == 1 ? 0 : j];
        t->m1[j] = o.nm == 0 ? DEFAULT_M : o.m[0];
        t->m2[j] = o.nm == 2 ? o.m[1] : t->m1[j];
    }
    t->nvar = nvar;
    t->sp = o.has_sp ? o.sp : -1.0;
    st = check_margins(p, t, &o, term_at, desc);
    if (st != ML_OK)
        return st;
    return term_store(p, t, vars, nvar, o.has_by ? &o.by : NULL);
}

/* One term at the current position: name, factor(name), s(...), te(...). */
static enum ml_status parse_term(struct parser *p, struct gam_formula *f)
{
    struct gam_term_spec t;
    struct span name;
    char shown[80];
    size_t at = p->i, open_at;
    enum ml_status st;
    int found;

    memset(&t, 0, sizeof t);
    st = scan_name(p, &name, &found);
    if (st != ML_OK)
        return st;
    if (!found) {
        int c = peek(p);
        if (c == '(')
            return fail_at(p, ML_EINVAL, at, NULL,
                           "unexpected '('; parentheses are only allowed in s(), te() and "
                           "factor()");
        if (c >= 0x80)
            return fail_at(p, ML_EINVAL, at, "write names with other characters in backquotes, "
                           "e.g. `temp (C)`",
                           "unexpected byte 0x%02X; expected a term", (unsigned)c);
        return fail_at(p, ML_EINVAL, at, NULL,
                       "expected a term (a column name, s(), te() or factor()), found \"%s\"",
                       show(shown, 40, p->s + at, token_len(p, at, 0)));
    }
    skip_ws(p);
    if (peek(p) == '(') {
        open_at = p->i;
        if (name.quoted)
            return fail_at(p, ML_EINVAL, open_at, NULL,
                           "unexpected '(' after the name `%s`", show_span(shown, 40, p, &name));
        p->i++;
        if (span_is(p, &name, "s") || span_is(p, &name, "te")) {
            st = parse_smooth(p, span_is(p, &name, "s") ? GAM_TERM_S : GAM_TERM_TE, at, open_at,
                              &t);
        } else if (span_is(p, &name, "factor")) {
            struct span var;
            st = parse_factor_arg(p, open_at, &var);
            if (st == ML_OK) {
                t.kind = GAM_TERM_FACTOR;
                t.sp = -1.0;
                st = term_store(p, &t, &var, 1, NULL);
            }
        } else {
            return fail_at(p, ML_EINVAL, at,
                           "terms are column names, s(), te() and factor(); "
                           "transform columns before training",
                           "unsupported function %s()", show_span(shown, 40, p, &name));
        }
    } else {
        if (span_is(p, &name, "."))
            return fail_at(p, ML_EINVAL, at, NULL,
                           "'.' (all other columns) is not supported; list the terms");
        t.kind = GAM_TERM_LINEAR;
        t.sp = -1.0;
        st = term_store(p, &t, &name, 1, NULL);
    }
    if (st == ML_OK)
        st = add_term(p, f, &t, at);
    term_clear(&t);
    return st;
}

/* An intercept token (0 or 1) at the current position, after `sign`. */
static enum ml_status parse_intercept(struct parser *p, int sign, size_t sign_at,
                                      int *removed_at1, int *added_at1, struct gam_formula *f)
{
    char shown[80];
    size_t at = p->i, len;
    int is_int;

    len = number_len(p->s, p->n, at, &is_int);
    if (len == 0 || !is_int || p->s[at] == '+' || p->s[at] == '-' ||
        (at + len < p->n && is_name_char((unsigned char)p->s[at + len])) ||
        strspn(p->s + at, "0") < len - 1 || (p->s[at + len - 1] != '0' &&
                                            p->s[at + len - 1] != '1'))
        return fail_at(p, ML_EINVAL, at, "a number term may only be 0 or 1 (the intercept)",
                       "unexpected number \"%s\"",
                       show(shown, 40, p->s + at, token_len(p, at, len)));
    p->i = at + len;
    if (p->s[at + len - 1] == '1' && sign == '+') {
        if (*removed_at1)
            return fail_at(p, ML_EINVAL, at, NULL,
                           "\"1\" adds back the intercept removed at character %d",
                           *removed_at1);
        *added_at1 = (int)at + 1;
        f->intercept = 1;
        return ML_OK;
    }
    if (sign == '-' && p->s[at + len - 1] == '0')
        return fail_at(p, ML_EINVAL, sign_at, "write \"- 1\" or \"+ 0\" to remove the intercept",
                       "\"- 0\" is not supported");
    /* "- 1", "+ 0" or a leading "0". */
    if (*added_at1)
        return fail_at(p, ML_EINVAL, sign == '-' ? sign_at : at, NULL,
                       "this removes the intercept added by \"1\" at character %d",
                       *added_at1);
    *removed_at1 = (int)(sign == '-' ? sign_at : at) + 1;
    f->intercept = 0;
    return ML_OK;
}

static enum ml_status parse_rhs(struct parser *p, struct gam_formula *f)
{
    char shown[80];
    size_t sign_at = 0;
    int first = 1, sign = '+', removed_at1 = 0, added_at1 = 0;
    enum ml_status st;

    for (;;) {
        int c, c1;

        skip_ws(p);
        if (first && peek(p) == '-') {
            sign = '-';
            sign_at = p->i++;
            skip_ws(p);
        }
        c = peek(p);
        c1 = peek_at(p, p->i + 1);
        if (p->i >= p->n) {
            if (first && sign == '+')
                return fail_at(p, ML_EINVAL, p->i, "write e.g. \"y ~ s(x) + z\"",
                               "no terms after '~'");
            return fail_at(p, ML_EINVAL, p->i, NULL, "expected a term after '%c', found the end",
                           sign);
        }
        if (is_digit(c) || (c == '.' && is_digit(c1))) {
            st = parse_intercept(p, sign, sign_at, &removed_at1, &added_at1, f);
        } else if (sign == '-') {
            return fail_at(p, ML_EINVAL, sign_at,
                           "removing terms is not supported; '-' may only remove the intercept",
                           "'-' must be followed by 1");
        } else if (c == '+' || c == '-' || c == ')' || c == ',' || c == '~') {
            return fail_at(p, ML_EINVAL, p->i, NULL, "expected a term %s, found '%c'",
                           first ? "after '~'" : "after '+'", c);
        } else {
            st = parse_term(p, f);
        }
        if (st != ML_OK)
            return st;
        first = 0;
        skip_ws(p);
        c = peek(p);
        if (p->i >= p->n)
            break;
        if (c == '+' || c == '-') {
            sign = c;
            sign_at = p->i++;
            continue;
        }
        if (c == ')')
            return fail_at(p, ML_EINVAL, p->i, NULL, "unbalanced ')' with no matching '('");
        if (c == '~')
            return fail_at(p, ML_EINVAL, p->i, NULL, "a second '~'; a formula has exactly one");
        if (c == '*' || c == ':' || c == '^' || c == '/' || c == '|' || c == '%')
            return fail_at(p, ML_EINVAL, p->i,
                           "write interactions of numeric columns as te(a, b) and factor "
                           "interactions as s(x, by=g)",
                           "operator '%c' is not supported", c);
        if (c >= 0x80)
            return fail_at(p, ML_EINVAL, p->i, "write names with other characters in "
                           "backquotes, e.g. `temp (C)`",
                           "unexpected byte 0x%02X after a term", (unsigned)c);
        return fail_at(p, ML_EINVAL, p->i, "terms are joined by '+'",
                       "unexpected \"%s\" after a term",
                       show(shown, 40, p->s + p->i, token_len(p, p->i, 0)));
    }
    if (f->nterms == 0 && !f->intercept)
        return fail_at(p, ML_EINVAL, p->n, NULL,
                       "the model has neither terms nor an intercept");
    return ML_OK;
}

static enum ml_status parse_formula(struct parser *p, struct gam_formula *f)
{
    struct span resp;
    char shown[80], shown2[80];
    enum ml_status st;
    int found;

    skip_ws(p);
    if (p->i >= p->n)
        return fail_at(p, ML_EINVAL, 0, "write e.g. \"y ~ s(x) + z\"", "the formula is empty");
    if (peek(p) == '~')
        return fail_at(p, ML_EINVAL, p->i, "write \"response ~ terms\"",
                       "no response before '~'");
    st = scan_name(p, &resp, &found);
    if (st != ML_OK)
        return st;
    if (!found)
        return fail_at(p, ML_EINVAL, p->i, NULL,
                       "the response must be a column name, found \"%s\"",
                       show(shown, 40, p->s + p->i, token_len(p, p->i, 0)));
    skip_ws(p);
    if (peek(p) == '(')
        return fail_at(p, ML_EINVAL, resp.start, NULL,
                       "the response must be a column name, not a call to %s()",
                       show_span(shown, 40, p, &resp));
    if (span_is(p, &resp, "."))
        return fail_at(p, ML_EINVAL, resp.start, NULL, "the response '.' is not a column name");
    if (peek(p) != '~') {
        if (p->i >= p->n)
            return fail_at(p, ML_EINVAL, p->i, "write \"response ~ terms\"",
                           "missing '~' after the response \"%s\"",
                           show_span(shown, 40, p, &resp));
        return fail_at(p, ML_EINVAL, p->i, "write \"response ~ terms\"",
                       "expected '~' after the response \"%s\", found \"%s\"",
                       show_span(shown, 40, p, &resp),
                       show(shown2, 40, p->s + p->i, token_len(p, p->i, 0)));
    }
    p->i++;
    f->response = dup_span(p, &resp);
    if (!f->response)
        ML_FAIL(p->err, ML_ENOMEM, "out of memory copying the formula response");
    return parse_rhs(p, f);
}

enum ml_status gam_formula_parse(const char *text, struct gam_formula *out, struct ml_err *err)
{
    struct parser p;
    enum ml_status st;
    char shown[80];
    size_t n;

    if (!out)
        ML_FAIL(err, ML_EINVAL, "gam_formula_parse: out is NULL");
    memset(out, 0, sizeof *out);
    if (!text)
        ML_FAIL(err, ML_EINVAL, "formula is NULL; expected text such as \"y ~ s(x) + z\"");
    n = strnlen(text, GAM_FORMULA_MAX_LEN + 1);
    if (n > GAM_FORMULA_MAX_LEN)
        ML_FAIL(err, ML_ELIMIT, "formula \"%s\" is longer than %d characters",
                show(shown, 60, text, 60), GAM_FORMULA_MAX_LEN);
    p.s = text;
    p.n = n;
    p.i = 0;
    p.err = err;
    p.cap = 0;
    out->intercept = 1;
    out->text = malloc(n + 1);
    if (!out->text)
        ML_FAIL(err, ML_ENOMEM, "out of memory copying a formula of %zu characters", n);
    memcpy(out->text, text, n + 1);
    st = parse_formula(&p, out);
    if (st != ML_OK)
        gam_formula_free(out);
    return st;
}

void gam_formula_free(struct gam_formula *f)
{
    size_t j;

    if (!f)
        return;
    for (j = 0; j < f->nterms; j++)
        term_clear(&f->terms[j]);
    free(f->terms);
    free(f->response);
    free(f->text);
    memset(f, 0, sizeof *f);
}
