/* rule.c: recursive-descent parser and evaluator of rule.h's grammar.  The
 * rule is compiled to a tree of nodes in one array; clauses keep their
 * source text for the verdict's reasons. */
#include "rule.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv/csv_read.h"

static const char *const metric_names[] = {"rmse", "mae", "r2", "bias", "rows",
                                           "auc", "pr_auc", "anomaly_rate", NULL};

enum kind { N_NUM, N_REF, N_NEG, N_ADD, N_SUB, N_MUL, N_DIV };
enum cmp { C_LE, C_GE, C_LT, C_GT };

struct node {
    enum kind k;
    double v;            /* N_NUM */
    int side, metric;    /* N_REF */
    int a, b;            /* children */
};

struct clause {
    int left, right;
    enum cmp op;
    char *text;          /* owned */
};

struct rule {
    struct node *n;
    size_t nn, ncap;
    struct clause *c;
    size_t nc, ccap;
};

struct ps {
    const char *s;
    size_t pos;
    int depth;
    struct rule *r;
    struct ml_err *err;
    int failed;
};

static void perr(struct ps *p, const char *what)
{
    if (p->failed)
        return;
    p->failed = 1;
    if (p->s[p->pos])
        ml_fail(p->err, ML_EINVAL, __FILE__, __LINE__,
                "rule \"%.200s\": column %zu: %s (at \"%.20s\")", p->s, p->pos + 1, what,
                p->s + p->pos);
    else
        ml_fail(p->err, ML_EINVAL, __FILE__, __LINE__, "rule \"%.200s\": at the end: %s",
                p->s, what);
}

static void skip_ws(struct ps *p)
{
    while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
           p->s[p->pos] == '\r')
        p->pos++;
}

static int is_ident(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
           (ch >= '0' && ch <= '9');
}

static int add_node(struct ps *p, struct node nd)
{
    struct rule *r = p->r;

    if (p->failed)
        return -1;
    if (r->nn == r->ncap) {
        size_t cap = r->ncap ? 2 * r->ncap : 16;
        struct node *v = realloc(r->n, cap * sizeof *v);
        if (!v) {
            p->failed = 1;
            ml_fail(p->err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
            return -1;
        }
        r->n = v;
        r->ncap = cap;
    }
    r->n[r->nn] = nd;
    return (int)r->nn++;
}

static int parse_sum(struct ps *p);

static int parse_atom(struct ps *p)
{
    struct node nd;
    const char *s = p->s;
    size_t start;

    memset(&nd, 0, sizeof nd);
    skip_ws(p);
    if (s[p->pos] == '(') {
        int e;
        if (++p->depth > RULE_MAX_DEPTH) {
            perr(p, "nested too deeply");
            return -1;
        }
        p->pos++;
        e = parse_sum(p);
        if (e < 0)
            return -1;
        skip_ws(p);
        if (s[p->pos] != ')') {
            perr(p, "expected \")\"");
            return -1;
        }
        p->pos++;
        p->depth--;
        return e;
    }
    start = p->pos;
    if ((s[p->pos] >= '0' && s[p->pos] <= '9') || s[p->pos] == '.') {
        while ((s[p->pos] >= '0' && s[p->pos] <= '9') || s[p->pos] == '.')
            p->pos++;
        if (s[p->pos] == 'e' || s[p->pos] == 'E') {
            p->pos++;
            if (s[p->pos] == '+' || s[p->pos] == '-')
                p->pos++;
            while (s[p->pos] >= '0' && s[p->pos] <= '9')
                p->pos++;
        }
        nd.k = N_NUM;
        if (!csv_parse_double(s + start, p->pos - start, &nd.v) || !isfinite(nd.v)) {
            p->pos = start;
            perr(p, "not a number");
            return -1;
        }
        return add_node(p, nd);
    }
    if (is_ident(s[p->pos])) {
        size_t len;
        int m;
        while (is_ident(s[p->pos]))
            p->pos++;
        len = p->pos - start;
        nd.k = N_REF;
        nd.side = 0;
        if (s[p->pos] == '.') {
            if (len == 3 && memcmp(s + start, "new", 3) == 0) {
                nd.side = 0;
            } else if (len == 8 && memcmp(s + start, "baseline", 8) == 0) {
                nd.side = 1;
            } else {
                p->pos = start;
                perr(p, "expected \"new.\" or \"baseline.\" before a metric");
                return -1;
            }
            start = ++p->pos;
            while (is_ident(s[p->pos]))
                p->pos++;
            len = p->pos - start;
        }
        for (m = 0; metric_names[m]; m++)
            if (strlen(metric_names[m]) == len && memcmp(metric_names[m], s + start, len) == 0)
                break;
        if (!metric_names[m]) {
            p->pos = start;
            perr(p, "unknown metric; metrics: " RULE_METRICS);
            return -1;
        }
        nd.metric = m;
        return add_node(p, nd);
    }
    perr(p, "expected a number, a metric or \"(\"");
    return -1;
}

static int parse_unary(struct ps *p)
{
    skip_ws(p);
    if (p->s[p->pos] == '-') {
        struct node nd;
        int a;
        if (++p->depth > RULE_MAX_DEPTH) {
            perr(p, "nested too deeply");
            return -1;
        }
        p->pos++;
        a = parse_unary(p);
        p->depth--;
        if (a < 0)
            return -1;
        memset(&nd, 0, sizeof nd);
        nd.k = N_NEG;
        nd.a = a;
        return add_node(p, nd);
    }
    return parse_atom(p);
}

static int parse_product(struct ps *p)
{
    int a = parse_unary(p);

    while (a >= 0) {
        struct node nd;
        char op;
        skip_ws(p);
        op = p->s[p->pos];
        if (op != '*' && op != '/')
            break;
        p->pos++;
        memset(&nd, 0, sizeof nd);
        nd.k = op == '*' ? N_MUL : N_DIV;
        nd.a = a;
        nd.b = parse_unary(p);
        if (nd.b < 0)
            return -1;
        a = add_node(p, nd);
    }
    return a;
}

static int parse_sum(struct ps *p)
{
    int a = parse_product(p);

    while (a >= 0) {
        struct node nd;
        char op;
        skip_ws(p);
        op = p->s[p->pos];
        if (op != '+' && op != '-')
            break;
        p->pos++;
        memset(&nd, 0, sizeof nd);
        nd.k = op == '+' ? N_ADD : N_SUB;
        nd.a = a;
        nd.b = parse_product(p);
        if (nd.b < 0)
            return -1;
        a = add_node(p, nd);
    }
    return a;
}

static void parse_clause(struct ps *p)
{
    struct clause c;
    struct rule *r = p->r;
    size_t start, end;
    const char *s = p->s;

    memset(&c, 0, sizeof c);
    skip_ws(p);
    start = p->pos;
    c.left = parse_sum(p);
    if (c.left < 0)
        return;
    skip_ws(p);
    if (s[p->pos] == '<' && s[p->pos + 1] == '=') {
        c.op = C_LE;
        p->pos += 2;
    } else if (s[p->pos] == '>' && s[p->pos + 1] == '=') {
        c.op = C_GE;
        p->pos += 2;
    } else if (s[p->pos] == '<') {
        c.op = C_LT;
        p->pos++;
    } else if (s[p->pos] == '>') {
        c.op = C_GT;
        p->pos++;
    } else {
        perr(p, "expected a comparison: <=, >=, < or >");
        return;
    }
    c.right = parse_sum(p);
    if (c.right < 0)
        return;
    end = p->pos;
    while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t'))
        end--;
    if (r->nc == r->ccap) {
        size_t cap = r->ccap ? 2 * r->ccap : 4;
        struct clause *v = realloc(r->c, cap * sizeof *v);
        if (!v) {
            p->failed = 1;
            ml_fail(p->err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
            return;
        }
        r->c = v;
        r->ccap = cap;
    }
    c.text = strndup(s + start, end - start);
    if (!c.text) {
        p->failed = 1;
        ml_fail(p->err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
        return;
    }
    r->c[r->nc++] = c;
}

enum ml_status rule_parse(const char *text, struct rule **out, struct ml_err *err)
{
    struct ps p;
    size_t len = strlen(text);

    *out = NULL;
    if (len > RULE_MAX_LEN)
        ML_FAIL(err, ML_EINVAL, "rule of %zu characters (at most %d)", len, RULE_MAX_LEN);
    memset(&p, 0, sizeof p);
    p.s = text;
    p.err = err;
    p.r = calloc(1, sizeof *p.r);
    if (!p.r)
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    for (;;) {
        parse_clause(&p);
        if (p.failed)
            break;
        skip_ws(&p);
        if (text[p.pos] == '\0')
            break;
        if (strncmp(text + p.pos, "and", 3) == 0 && !is_ident(text[p.pos + 3])) {
            p.pos += 3;
            continue;
        }
        perr(&p, "expected \"and\" or the end of the rule");
        break;
    }
    if (p.failed) {
        rule_free(p.r);
        return err ? err->code : ML_EINVAL;
    }
    *out = p.r;
    return ML_OK;
}

void rule_free(struct rule *r)
{
    size_t i;

    if (!r)
        return;
    for (i = 0; i < r->nc; i++)
        free(r->c[i].text);
    free(r->c);
    free(r->n);
    free(r);
}

int rule_uses(const struct rule *r, const char *metric)
{
    size_t i;

    for (i = 0; i < r->nn; i++)
        if (r->n[i].k == N_REF && strcmp(metric_names[r->n[i].metric], metric) == 0)
            return 1;
    return 0;
}

/* Children always precede their parent in r->n, so no recursion is
 * needed: evaluate in index order. */
static enum ml_status eval_all(const struct rule *r, rule_lookup_fn fn, void *ctx, double *val,
                               struct ml_err *err)
{
    size_t i;

    for (i = 0; i < r->nn; i++) {
        const struct node *nd = &r->n[i];
        switch (nd->k) {
        case N_NUM:
            val[i] = nd->v;
            break;
        case N_REF:
            if (!fn(ctx, nd->side, metric_names[nd->metric], &val[i]))
                ML_FAIL(err, ML_EDOM, "the rule uses %s.%s, which is not available for %s "
                        "model", nd->side ? "baseline" : "new", metric_names[nd->metric],
                        nd->side ? "the baseline" : "the new");
            if (!isfinite(val[i]))
                ML_FAIL(err, ML_EDOM, "the rule uses %s.%s, which is undefined (%g) on these "
                        "data", nd->side ? "baseline" : "new", metric_names[nd->metric],
                        val[i]);
            break;
        case N_NEG:
            val[i] = -val[nd->a];
            break;
        case N_ADD:
            val[i] = val[nd->a] + val[nd->b];
            break;
        case N_SUB:
            val[i] = val[nd->a] - val[nd->b];
            break;
        case N_MUL:
            val[i] = val[nd->a] * val[nd->b];
            break;
        case N_DIV:
            val[i] = val[nd->a] / val[nd->b];
            break;
        }
    }
    return ML_OK;
}

enum ml_status rule_eval(const struct rule *r, rule_lookup_fn fn, void *ctx, int *pass,
                         char ***reasons, size_t *nreasons, struct ml_err *err)
{
    static const char *const ops[] = {"<=", ">=", "<", ">"};
    double *val = malloc((r->nn ? r->nn : 1) * sizeof *val);
    char **rs = NULL;
    enum ml_status st;
    size_t i;

    *pass = 0;
    if (reasons) {
        *reasons = NULL;
        *nreasons = 0;
    }
    if (!val)
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    st = eval_all(r, fn, ctx, val, err);
    if (!st && reasons && !(rs = calloc(r->nc ? r->nc : 1, sizeof *rs)))
        st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "out of memory");
    if (st) {
        free(val);
        return st;
    }
    *pass = 1;
    for (i = 0; i < r->nc; i++) {
        const struct clause *c = &r->c[i];
        double a = val[c->left], b = val[c->right];
        int ok = c->op == C_LE ? a <= b : c->op == C_GE ? a >= b : c->op == C_LT ? a < b : a > b;

        *pass &= ok;
        if (rs) {
            size_t n = strlen(c->text) + 128;
            rs[i] = malloc(n);
            if (rs[i])
                snprintf(rs[i], n, "%s: %.6g %s %.6g: %s", c->text, a, ops[c->op], b,
                         ok ? "holds" : "fails");
        }
    }
    free(val);
    if (reasons) {
        *reasons = rs;
        *nreasons = r->nc;
    }
    return ML_OK;
}
