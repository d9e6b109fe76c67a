/* test_gam_formula.c: suite "formula" for algorithms/gam/gam_formula.c --
 * the header's example, every option form and default, labels, the intercept
 * forms, backquoted names and whitespace, every error with its message and
 * position, the caps at and just past the limit, and a deterministic loop of
 * random token strings (the libFuzzer target tests/fuzz/fuzz_formula.c does
 * the same at scale) checking that every result is either a well-formed
 * formula or an error with a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../algorithms/gam/gam_formula.h"
#include "ml_rng.h"
#include "test.h"

static struct ml_err E;

static enum ml_status parse(const char *text, struct gam_formula *f)
{
    memset(&E, 0, sizeof E);
    return gam_formula_parse(text, f, &E);
}

static int has(const char *msg, const char *sub)
{
    return strstr(msg, sub) != NULL;
}

/* A failed parse leaves *f empty. */
static int is_empty(const struct gam_formula *f)
{
    return f->response == NULL && f->terms == NULL && f->nterms == 0 && f->text == NULL;
}

/* Parse `text`, expect `code` and a message containing `sub1` and `sub2`
 * (either may be NULL). */
static void expect_fail(const char *text, enum ml_status code, const char *sub1,
                        const char *sub2, int line)
{
    struct gam_formula f;
    enum ml_status st = parse(text, &f);

    if (st != code)
        test_check_fail(__FILE__, line, "\"%s\": status %d, want %d (%s)", text, (int)st,
                        (int)code, E.msg);
    else if ((sub1 && !has(E.msg, sub1)) || (sub2 && !has(E.msg, sub2)))
        test_check_fail(__FILE__, line, "\"%s\": message \"%s\" lacks \"%s\" / \"%s\"", text,
                        E.msg, sub1 ? sub1 : "", sub2 ? sub2 : "");
    else if (E.code != code || !is_empty(&f))
        test_check_fail(__FILE__, line, "\"%s\": err.code %d or *out not left empty", text,
                        (int)E.code);
    gam_formula_free(&f);
}

/* Parse text that must succeed; on failure report and leave the test (the
 * checks after it would read an empty result). */
#define PARSE_OK(text, f)                                                           \
    do {                                                                            \
        enum ml_status st_ = parse((text), (f));                                    \
        CHECK_OK(st_, &E);                                                          \
        if (st_ != ML_OK)                                                           \
            return;                                                                 \
    } while (0)

#define FAILS(text, sub1, sub2) expect_fail((text), ML_EINVAL, (sub1), (sub2), __LINE__)

TEST(formula, header_example)
{
    struct gam_formula f;
    const char *text = "yield ~ s(temp) + s(flow, k=20) + te(temp, pressure) + te(a, b, k=c(5,6))\n"
                       "      + s(temp, by=factor(line)) + s(flow, by=line) + factor(line) + feed";
    const struct gam_term_spec *t;

    PARSE_OK(text, &f);
    CHECK(strcmp(f.response, "yield") == 0);
    CHECK(strcmp(f.text, text) == 0);
    CHECK(f.intercept == 1);
    CHECK(f.nterms == 8, "nterms = %zu", f.nterms);
    if (f.nterms != 8) {
        gam_formula_free(&f);
        return;
    }
    t = f.terms;
    CHECK(t[0].kind == GAM_TERM_S && t[0].nvar == 1 && strcmp(t[0].var[0], "temp") == 0);
    CHECK(t[0].k[0] == 10 && t[0].m1[0] == 2 && t[0].m2[0] == 2 && t[0].sp == -1.0);
    CHECK(t[0].by == NULL && strcmp(t[0].label, "s(temp)") == 0);
    CHECK(t[1].kind == GAM_TERM_S && t[1].k[0] == 20 && strcmp(t[1].label, "s(flow)") == 0);
    CHECK(t[2].kind == GAM_TERM_TE && t[2].nvar == 2 && t[2].k[0] == 5 && t[2].k[1] == 5);
    CHECK(strcmp(t[2].var[0], "temp") == 0 && strcmp(t[2].var[1], "pressure") == 0);
    CHECK(strcmp(t[2].label, "te(temp,pressure)") == 0, "%s", t[2].label);
    CHECK(t[2].m1[0] == 2 && t[2].m2[0] == 2 && t[2].m1[1] == 2 && t[2].m2[1] == 2);
    CHECK(t[3].k[0] == 5 && t[3].k[1] == 6 && strcmp(t[3].label, "te(a,b)") == 0);
    CHECK(t[4].kind == GAM_TERM_S && t[4].by && strcmp(t[4].by, "line") == 0);
    CHECK(strcmp(t[4].label, "s(temp)") == 0);
    CHECK(t[5].by && strcmp(t[5].by, "line") == 0 && strcmp(t[5].label, "s(flow)") == 0);
    CHECK(t[6].kind == GAM_TERM_FACTOR && t[6].nvar == 1 && strcmp(t[6].var[0], "line") == 0);
    CHECK(strcmp(t[6].label, "factor(line)") == 0 && t[6].by == NULL);
    CHECK(t[7].kind == GAM_TERM_LINEAR && strcmp(t[7].var[0], "feed") == 0);
    CHECK(strcmp(t[7].label, "feed") == 0);
    gam_formula_free(&f);
    CHECK(is_empty(&f));
    gam_formula_free(&f);   /* twice: free zeroes */
    gam_formula_free(NULL);
}

TEST(formula, header_example_original_is_duplicate)
{
    /* The example as first written had s(temp, by=factor(line)) and
     * s(temp, by=line), which are the same term. */
    FAILS("yield ~ s(temp) + s(temp, by=factor(line)) + s(temp, by=line) + feed",
          "term s(temp) with by=line duplicates term 2, s(temp) with by=line", "character 46");
}

TEST(formula, option_forms)
{
    struct gam_formula f;

    PARSE_OK("y ~ s(x, k=7, m=3, bs=\"ps\", sp=0.5)", &f);
    CHECK(f.nterms == 1 && f.terms[0].k[0] == 7 && f.terms[0].m1[0] == 3 &&
          f.terms[0].m2[0] == 3 && f.terms[0].sp == 0.5);
    gam_formula_free(&f);

    /* Any order; m = c(m1, m2); single-quoted bs; k = c(k) in s(). */
    PARSE_OK("y ~ s(x, sp=1e-3, bs='ps', m=c(1, 3), k=c(8), by=g)", &f);
    CHECK(f.terms[0].k[0] == 8 && f.terms[0].m1[0] == 1 && f.terms[0].m2[0] == 3);
    CHECK(f.terms[0].sp == 1e-3 && strcmp(f.terms[0].by, "g") == 0);
    gam_formula_free(&f);

    /* te: single k for all margins, m for all margins, c(m, m) for all margins
     * (unequal c(m1, m2) is refused: mgcv reads it per margin). */
    PARSE_OK("y ~ te(a, b, c, k=6, m=1) + te(d, e, k=c(4, 7), m=c(2, 2), sp=0)", &f);
    CHECK(f.nterms == 2);
    CHECK(f.terms[0].nvar == 3 && f.terms[0].k[0] == 6 && f.terms[0].k[1] == 6 &&
          f.terms[0].k[2] == 6);
    CHECK(f.terms[0].m1[2] == 1 && f.terms[0].m2[2] == 1);
    CHECK(strcmp(f.terms[0].label, "te(a,b,c)") == 0);
    CHECK(f.terms[1].k[0] == 4 && f.terms[1].k[1] == 7);
    CHECK(f.terms[1].m1[0] == 2 && f.terms[1].m2[0] == 2 && f.terms[1].m1[1] == 2 &&
          f.terms[1].m2[1] == 2);
    CHECK(f.terms[1].sp == 0.0);
    gam_formula_free(&f);
    {
        struct ml_err e2;
        CHECK(gam_formula_parse("y ~ te(d, e, m=c(2, 1))", &f, &e2) == ML_EINVAL);
        CHECK(strstr(e2.msg, "one m per margin") != NULL, "%s", e2.msg);
        gam_formula_free(&f);
    }

    /* Four margins, by=factor() on a te. */
    PARSE_OK("y~te(a,b,c,d,k=c(4,5,6,7),by=factor(g))", &f);
    CHECK(f.terms[0].nvar == GAM_MAX_MARGINS && f.terms[0].k[3] == 7);
    CHECK(strcmp(f.terms[0].by, "g") == 0 && strcmp(f.terms[0].label, "te(a,b,c,d)") == 0);
    gam_formula_free(&f);

    /* sp number forms. */
    PARSE_OK("y ~ s(a, sp=2) + s(b, sp=.25) + s(c, sp=3.) + s(d, sp=1E+2)", &f);
    CHECK(f.terms[0].sp == 2.0 && f.terms[1].sp == 0.25 && f.terms[2].sp == 3.0 &&
          f.terms[3].sp == 100.0);
    gam_formula_free(&f);
}

TEST(formula, defaults_and_limits_of_k_and_m)
{
    struct gam_formula f;

    PARSE_OK("y ~ te(a, b)", &f);
    CHECK(f.terms[0].k[0] == 5 && f.terms[0].k[1] == 5 && f.terms[0].m1[1] == 2 &&
          f.terms[0].m2[1] == 2 && f.terms[0].sp == -1.0 && f.terms[0].by == NULL);
    gam_formula_free(&f);
    /* Smallest legal k for m1 = 2 is 4; m1 = 0 (order 2) with k = 2, m2 = 1. */
    PARSE_OK("y ~ s(a, k=4) + s(b, k=2, m=c(0,1)) + s(c, m=c(6, 0), k=8)", &f);
    CHECK(f.terms[1].k[0] == 2 && f.terms[1].m1[0] == 0 && f.terms[1].m2[0] == 1);
    CHECK(f.terms[2].m1[0] == 6 && f.terms[2].m2[0] == 0);
    gam_formula_free(&f);
    /* Caps: an s() with k = GAM_FORMULA_MAX_COLS, a te() whose product is exactly it. */
    PARSE_OK("y ~ s(a, k=10000, m=c(2,2)) + te(b, c, k=c(100, 100))", &f);
    CHECK(f.terms[0].k[0] == GAM_FORMULA_MAX_COLS);
    gam_formula_free(&f);
}

TEST(formula, labels_and_backquotes)
{
    struct gam_formula f;

    PARSE_OK("`my y` ~ `my col` + factor(`plant line`) + s(`temp (C)`) + "
             "te(`a b`, c, by=`g h`) + `x.1` + .z + `if` + `_u`",
             &f);
    CHECK(strcmp(f.response, "my y") == 0);
    CHECK(f.nterms == 8, "%zu", f.nterms);
    CHECK(f.terms[0].kind == GAM_TERM_LINEAR && strcmp(f.terms[0].var[0], "my col") == 0);
    CHECK(strcmp(f.terms[0].label, "`my col`") == 0, "%s", f.terms[0].label);
    CHECK(strcmp(f.terms[1].var[0], "plant line") == 0);
    CHECK(strcmp(f.terms[1].label, "factor(`plant line`)") == 0, "%s", f.terms[1].label);
    CHECK(strcmp(f.terms[2].label, "s(`temp (C)`)") == 0, "%s", f.terms[2].label);
    CHECK(strcmp(f.terms[3].label, "te(`a b`,c)") == 0, "%s", f.terms[3].label);
    CHECK(strcmp(f.terms[3].by, "g h") == 0);
    /* Syntactic names stay bare even when backquoted in the text. */
    CHECK(strcmp(f.terms[4].label, "x.1") == 0, "%s", f.terms[4].label);
    CHECK(strcmp(f.terms[5].label, ".z") == 0);
    /* Reserved words and a leading '_' are not syntactic in R. */
    CHECK(strcmp(f.terms[6].label, "`if`") == 0, "%s", f.terms[6].label);
    CHECK(strcmp(f.terms[7].label, "`_u`") == 0, "%s", f.terms[7].label);
    gam_formula_free(&f);

    PARSE_OK("y ~ ..1 + `..12` + ..a + `...` + `.2x` + `TRUE` + NA_real_x", &f);
    CHECK(f.nterms == 7);
    CHECK(strcmp(f.terms[0].label, "`..1`") == 0, "%s", f.terms[0].label);
    CHECK(strcmp(f.terms[1].label, "`..12`") == 0, "%s", f.terms[1].label);
    CHECK(strcmp(f.terms[2].label, "..a") == 0, "%s", f.terms[2].label);
    CHECK(strcmp(f.terms[3].label, "`...`") == 0, "%s", f.terms[3].label);
    CHECK(strcmp(f.terms[4].label, "`.2x`") == 0, "%s", f.terms[4].label);
    CHECK(strcmp(f.terms[5].label, "`TRUE`") == 0, "%s", f.terms[5].label);
    CHECK(strcmp(f.terms[6].label, "NA_real_x") == 0, "%s", f.terms[6].label);
    gam_formula_free(&f);

    /* UTF-8 inside backquotes is kept as bytes. */
    PARSE_OK("y ~ s(`temp\xc3\xa9rature`)", &f);
    CHECK(strcmp(f.terms[0].var[0], "temp\xc3\xa9rature") == 0);
    gam_formula_free(&f);

    /* Names that look like functions are plain columns without '('. */
    PARSE_OK("y ~ s + te + factor + c", &f);
    CHECK(f.nterms == 4 && f.terms[1].kind == GAM_TERM_LINEAR &&
          strcmp(f.terms[1].label, "te") == 0);
    gam_formula_free(&f);
}

TEST(formula, whitespace_anywhere)
{
    struct gam_formula f;

    PARSE_OK("\n\t y\n~\r\n s \n( x ,\n k\t=\n 5 , m = c ( 2 , 1 ) , bs = \"ps\" )\n"
             "+\nfactor ( g )\n+ te(a,b,k=c( 5 ,6 ))  \n",
             &f);
    CHECK(f.nterms == 3);
    CHECK(f.terms[0].k[0] == 5 && f.terms[0].m2[0] == 1 && strcmp(f.terms[0].label, "s(x)") == 0);
    CHECK(f.terms[1].kind == GAM_TERM_FACTOR && strcmp(f.terms[1].label, "factor(g)") == 0);
    CHECK(f.terms[2].k[1] == 6);
    gam_formula_free(&f);
    PARSE_OK("y~x+z", &f);
    CHECK(f.nterms == 2);
    gam_formula_free(&f);
}

TEST(formula, intercept_forms)
{
    static const struct {
        const char *text;
        int intercept;
        size_t nterms;
    } cases[] = {
        {"y ~ x", 1, 1},          {"y ~ x - 1", 0, 1},       {"y ~ x + 0", 0, 1},
        {"y ~ 0 + x", 0, 1},      {"y ~ -1 + x", 0, 1},      {"y ~ - 1 + x + z", 0, 2},
        {"y ~ x + 1", 1, 1},      {"y ~ 1 + x", 1, 1},       {"y ~ 1", 1, 0},
        {"y ~ x - 1 - 1", 0, 1},  {"y ~ x + 1 + 1", 1, 1},   {"y ~ x+0+s(z)", 0, 2},
        {"y ~ x -1", 0, 1},       {"y ~ 00 + x", 0, 1},
    };
    size_t c;

    for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct gam_formula f;
        enum ml_status st = parse(cases[c].text, &f);
        CHECK(st == ML_OK, "\"%s\": %s", cases[c].text, E.msg);
        if (st == ML_OK)
            CHECK(f.intercept == cases[c].intercept && f.nterms == cases[c].nterms,
                  "\"%s\": intercept %d, nterms %zu", cases[c].text, f.intercept, f.nterms);
        gam_formula_free(&f);
    }
    FAILS("y ~ 0", "neither terms nor an intercept", NULL);
    FAILS("y ~ -1", "neither terms nor an intercept", NULL);
    FAILS("y ~ x - 0", "\"- 0\" is not supported", "write \"- 1\" or \"+ 0\"");
    FAILS("y ~ x + 2", "unexpected number \"2\"", "may only be 0 or 1");
    FAILS("y ~ x + 1.0", "unexpected number \"1.0\"", NULL);
    FAILS("y ~ x + .5", "unexpected number \".5\"", NULL);
    FAILS("y ~ x + 1x", "unexpected number \"1x\"", NULL);
    FAILS("y ~ x - 1 + 1", "\"1\" adds back the intercept removed at character 7", "character 13");
    FAILS("y ~ 1 + x + 0", "removes the intercept added by \"1\" at character 5", NULL);
    FAILS("y ~ x - z", "'-' must be followed by 1", "removing terms is not supported");
    FAILS("y ~ -x", "'-' must be followed by 1", "character 5");
}

TEST(formula, error_message_shape)
{
    /* The whole message for the brief's example; positions are 1-based. */
    struct gam_formula f;

    CHECK(parse("y ~ s(x, q=3)", &f) == ML_EINVAL);
    CHECK(strcmp(E.msg, "formula \"y ~ s(x, q=3)\": unknown option \"q\" in s(x, ...) at "
                        "character 10; options are k, m, bs, by, sp") == 0,
          "%s", E.msg);
    CHECK(E.code == ML_EINVAL && E.file != NULL && E.line > 0);
    CHECK(is_empty(&f));
    /* Quotes, backslashes and newlines in the formula are escaped. */
    CHECK(parse("y ~ s(x,\n bs=\"tp\")", &f) == ML_EINVAL);
    CHECK(has(E.msg, "formula \"y ~ s(x,\\n bs=\\\"tp\\\")\": bs = \"tp\" in s(x, ...) is not "
                     "supported: only P-splines, bs=\"ps\" at character 14"),
          "%s", E.msg);
}

TEST(formula, response_errors)
{
    FAILS("", "the formula is empty", NULL);
    FAILS("  \n ", "the formula is empty", NULL);
    FAILS("~ x", "no response before '~'", "character 1");
    FAILS("  ~ x", "no response before '~'", "character 3");
    FAILS("y", "missing '~' after the response \"y\"", NULL);
    FAILS("y x", "expected '~' after the response \"y\", found \"x\"", NULL);
    FAILS("log(y) ~ x", "the response must be a column name, not a call to log()", NULL);
    FAILS("1 ~ x", "the response must be a column name, found \"1\"", NULL);
    FAILS(". ~ x", "the response '.' is not a column name", NULL);
    FAILS("y ~ ", "no terms after '~'", "character 5");
    FAILS("y ~", "no terms after '~'", NULL);
    FAILS("y ~ s(y)", "the response \"y\" is also a variable of s(y)", NULL);
    FAILS("y ~ s(x, by=y)", "the response \"y\" is the by variable of s(x) with by=y", NULL);
    FAILS("y ~ x ~ z", "a second '~'", "character 7");
}

TEST(formula, term_errors)
{
    FAILS("y ~ x +", "expected a term after '+', found the end", "character 8");
    FAILS("y ~ x + + z", "expected a term after '+', found '+'", "character 9");
    FAILS("y ~ + x", "expected a term after '~', found '+'", NULL);
    FAILS("y ~ x z", "unexpected \"z\" after a term", "terms are joined by '+'");
    FAILS("y ~ x * z", "operator '*' is not supported", "te(a, b)");
    FAILS("y ~ x:z", "operator ':' is not supported", "character 6");
    FAILS("y ~ log(x)", "unsupported function log()", "terms are column names");
    FAILS("y ~ I(x^2)", "unsupported function I()", NULL);
    FAILS("y ~ .", "'.' (all other columns) is not supported", NULL);
    FAILS("y ~ (x)", "unexpected '('", NULL);
    FAILS("y ~ `x`(z)", "unexpected '(' after the name `x`", NULL);
    FAILS("y ~ x, z", "unexpected \",\" after a term", NULL);
    FAILS("y ~ \"x\"", "expected a term (a column name, s(), te() or factor()), found \"\\\"\"",
          NULL);
    FAILS("y ~ temp\xc3\xa9", "unexpected byte 0xC3 after a term", "backquotes");
    FAILS("y ~ \xc3\xa9", "unexpected byte 0xC3; expected a term", "backquotes");
    FAILS("y ~ s(`\xc3\xa9`, k=1)", "in s(\\xC3\\xA9, ...)", NULL);
    FAILS("y ~ factor(g, levels=3)", "factor() takes exactly one column name and no options",
          NULL);
    FAILS("y ~ factor()", "factor() needs a column name, found \")\"", NULL);
    FAILS("y ~ factor(log(g))", "factor() takes a column name, not a call", NULL);
}

TEST(formula, name_errors)
{
    FAILS("y ~ `abc", "backquoted name is not closed", "character 5");
    FAILS("y ~ ``", "empty backquoted name", NULL);
    FAILS("y ~ `a\tb`", "control character 0x09 inside a backquoted name", "character 7");
    FAILS("`y\n` ~ x", "control character 0x0A", NULL);
}

TEST(formula, parenthesis_errors)
{
    FAILS("y ~ s(x", "missing ')' to close \"s(\"", "character 6");
    FAILS("y ~ s(x, k=c(5", "missing ')' to close \"c(\"", "character 13");
    FAILS("y ~ te(a, b", "missing ')' to close \"te(\"", "character 7");
    FAILS("y ~ factor(g", "missing ')' to close \"factor(\"", "character 11");
    FAILS("y ~ s(x, by=factor(g)", "missing ')' to close \"s(\"", NULL);
    FAILS("y ~ s(x))", "unbalanced ')'", "character 9");
    FAILS("y ~ x)", "unbalanced ')'", "character 6");
    FAILS("y ~ s(", "missing ')' to close \"s(\"", NULL);
    FAILS("y ~ s()", "s() needs a variable", "character 7");
    FAILS("y ~ s(x,)", "empty argument in s(x, ...)", "character 9");
    FAILS("y ~ s(x,,k=3)", "empty argument", NULL);
    FAILS("y ~ s(x k=3)", "expected ',' or ')' in s(x, ...), found \"k\"", NULL);
    FAILS("y ~ s(x, k=c(5 6))", "expected ')' to close c(, found \"6\"", NULL);
}

TEST(formula, smooth_argument_errors)
{
    FAILS("y ~ s(x, z)", "s() takes exactly one variable, found a second one \"z\"",
          "use te(x, z)");
    FAILS("y ~ te(x)", "te() needs 2 to 4 variables, found 1", "use s(x)");
    FAILS("y ~ te(a, b, c, d, e)", "te() takes at most 4 variables", "character 20");
    FAILS("y ~ te(a, b, a)", "variable \"a\" appears twice in te(...)", "character 14");
    FAILS("y ~ s(x, k=5, z)", "variable \"z\" after the options of s(x, ...)", NULL);
    FAILS("y ~ s(k=5)", "s() needs a variable before its options", NULL);
    FAILS("y ~ s(log(x))", "s() takes column names, not a call to log()", NULL);
    FAILS("y ~ s(1)", "expected a variable or option in s(...), found \"1\"", NULL);
    FAILS("y ~ s(x, fx=TRUE)", "unknown option \"fx\" in s(x, ...)", "options are k, m, bs, by");
    FAILS("y ~ te(a, b, d=2)", "unknown option \"d\" in te(a, b, ...)", NULL);
}

TEST(formula, option_value_errors)
{
    FAILS("y ~ s(x, k=5, k=6)", "option k given twice in s(x, ...)", "character 15");
    FAILS("y ~ s(x, m=2, m=2)", "option m given twice", NULL);
    FAILS("y ~ s(x, bs=\"ps\", bs=\"ps\")", "option bs given twice", NULL);
    FAILS("y ~ s(x, by=g, by=h)", "option by given twice", NULL);
    FAILS("y ~ s(x, sp=1, sp=2)", "option sp given twice", NULL);
    FAILS("y ~ s(x, k=)", "k in s(x, ...): expected an integer, found \")\"", NULL);
    FAILS("y ~ s(x, k=", "k in s(x, ...): expected an integer, found the end", NULL);
    FAILS("y ~ s(x, k=5.5)", "expected an integer, found \"5.5\"", NULL);
    FAILS("y ~ s(x, k=1e1)", "expected an integer, found \"1e1\"", NULL);
    FAILS("y ~ s(x, k=10L)", "expected an integer, found \"10L\"", NULL);
    FAILS("y ~ s(x, k=ten)", "expected an integer, found \"ten\"", NULL);
    FAILS("y ~ s(x, k=99999999999999999999)",
          "k = 99999999999999999999 in s(x, ...) is out of range", NULL);
    FAILS("y ~ s(x, k=2147483648)", "k = 2147483648 in s(x, ...) is out of range", NULL);
    FAILS("y ~ s(x, k=c(5, 6))", "k in s(x, ...): expected a single integer", NULL);
    FAILS("y ~ s(x, k=c())", "expected an integer, found \")\"", NULL);
    FAILS("y ~ te(a, b, k=c(5, 6, 7))", "k in te(a, b, ...): expected one integer or c() of 2 integers", NULL);
    FAILS("y ~ te(a, b, c, k=c(5, 6))", "k = c() in te(a, b, c, ...) has 2 values for 3 margins",
          NULL);
    FAILS("y ~ s(x, m=c(2, 2, 2))", "m in s(x, ...): expected one integer or c(m1, m2)", NULL);
    FAILS("y ~ s(x, bs=\"tp\")", "bs = \"tp\" in s(x, ...) is not supported", "bs=\"ps\"");
    FAILS("y ~ s(x, bs=ps)", "bs in s(x, ...): expected \"ps\", found \"ps\"", NULL);
    FAILS("y ~ s(x, bs=\"ps)", "bs in s(x, ...): string is not closed", NULL);
    FAILS("y ~ s(x, bs='ps\")", "string is not closed", NULL);
    FAILS("y ~ s(x, by=1)", "by in s(x, ...): expected a column name, found \"1\"", NULL);
    FAILS("y ~ s(x, by=log(g))", "expected a column name or factor(name), found a call to log()",
          NULL);
    FAILS("y ~ s(x, sp=-1)", "sp = -1 in s(x, ...) is negative", "leave sp out");
    FAILS("y ~ s(x, sp=1e999)", "sp = 1e999 in s(x, ...) is not a finite number", NULL);
    FAILS("y ~ s(x, sp=Inf)", "sp in s(x, ...): expected a number, found \"Inf\"", NULL);
    FAILS("y ~ s(x, sp=0x10)", "expected a number, found \"0x10\"", NULL);
    FAILS("y ~ s(x, sp=)", "expected a number, found \")\"", NULL);
    /* The end of the text in the middle of each option. */
    FAILS("y ~ s(x, sp=", "sp in s(x, ...): expected a number, found the end", NULL);
    FAILS("y ~ s(x, bs=", "bs in s(x, ...): expected \"ps\", found the end", NULL);
    FAILS("y ~ s(x, by=", "by in s(x, ...): expected a column name, found the end", NULL);
    FAILS("y ~ s(x, k=c", "expected '(' after c, found the end", NULL);
    FAILS("y ~ s(x, m=c(2,", "m in s(x, ...): expected an integer, found the end", NULL);
    /* A bad backquoted name inside an option or factor(). */
    FAILS("y ~ s(x, by=`g", "backquoted name is not closed", "character 13");
    FAILS("y ~ s(x, k=`g", "backquoted name is not closed", NULL);
    FAILS("y ~ factor(`g", "backquoted name is not closed", NULL);
    FAILS("y ~ s(x, by=factor(`g`, h))", "factor() takes exactly one column name", NULL);
}

TEST(formula, k_and_m_range_errors)
{
    FAILS("y ~ s(x, k=3)", "k = 3 in s(x, ...) is too small for m1 = 2", "k >= m1 + 2 = 4");
    FAILS("y ~ s(x, k=0)", "k = 0 in s(x, ...) is too small", NULL);
    FAILS("y ~ s(x, k=-1)", "k = -1 in s(x, ...) is too small", NULL);
    FAILS("y ~ s(x, m=9)", "m1 = 9 in s(x, ...) is out of range", NULL);
    FAILS("y ~ s(x, m=c(2, 10))", "m2 = 10 is too large for k = 10 in s(x, ...)", NULL);
    FAILS("y ~ te(a, b, m=4)", "k = 5 (te() default) in margin 1 of te(a, b, ...) is too small",
          "k >= m1 + 2 = 6");
    FAILS("y ~ te(a, b, k=c(5, 3))", "k = 3 in margin 2 of te(a, b, ...) is too small", NULL);
    FAILS("y ~ s(x, m=7, k=20)", "m1 = 7 in s(x, ...) is out of range", "0 <= m1 <= 6");
    FAILS("y ~ s(x, m=-1)", "m1 = -1 in s(x, ...) is out of range", NULL);
    FAILS("y ~ s(x, m=c(2, -1))", "m2 = -1 in s(x, ...) is negative", NULL);
    FAILS("y ~ s(x, k=4, m=c(2, 4))", "m2 = 4 is too large for k = 4 in s(x, ...)", "m2 < k");
    FAILS("y ~ s(x, k=10001)", "k = 10001 in s(x, ...) exceeds the cap of 10000", NULL);
    FAILS("y ~ te(a, b, k=c(100, 101))", "te(a, b, ...) has more than 10000 basis functions",
          NULL);
    FAILS("y ~ te(a, b, c, d, k=10000)", "more than 10000 basis functions", NULL);
}

TEST(formula, duplicate_terms)
{
    struct gam_formula f;

    FAILS("y ~ s(x) + s(x, k=5)", "term s(x) duplicates term 1, s(x)", "character 12");
    FAILS("y ~ te(a, b) + te(b, a)", "term te(b,a) duplicates term 1, te(a,b)", NULL);
    FAILS("y ~ x + factor(x)", "term factor(x) duplicates term 1, x", NULL);
    FAILS("y ~ g + g", "term g duplicates term 1, g", "remove one of them");
    FAILS("y ~ s(x, by=g) + s(x, by=factor(g))", "with by=g duplicates term 1", NULL);
    FAILS("y ~ `a b` + `a b`", "term `a b` duplicates term 1, `a b`", NULL);
    /* Not duplicates: different by, kind or variables. */
    PARSE_OK("y ~ s(x) + s(x, by=g) + s(x, by=h) + x + te(x, z) + te(x, z, w) + "
             "te(x, z, by=g) + g",
             &f);
    CHECK(f.nterms == 8);
    gam_formula_free(&f);
}

TEST(formula, caps_and_bad_arguments)
{
    struct gam_formula f;
    char *text;
    size_t len, j;

    CHECK(gam_formula_parse(NULL, &f, &E) == ML_EINVAL);
    CHECK(has(E.msg, "formula is NULL"));
    CHECK(is_empty(&f));
    CHECK(gam_formula_parse("y ~ x", NULL, &E) == ML_EINVAL);
    CHECK(gam_formula_parse("y ~ x", &f, NULL) == ML_OK);   /* err may be NULL */
    gam_formula_free(&f);
    CHECK(gam_formula_parse("y ~ ", &f, NULL) == ML_EINVAL);

    /* Exactly GAM_FORMULA_MAX_TERMS terms "x000 + x001 + ...": ok; one more: ML_ELIMIT. */
    text = malloc(GAM_FORMULA_MAX_LEN + 2);
    CHECK(text != NULL);
    if (!text)
        return;
    len = (size_t)snprintf(text, GAM_FORMULA_MAX_LEN + 2, "y ~ x000");
    for (j = 1; j < GAM_FORMULA_MAX_TERMS; j++)
        len += (size_t)snprintf(text + len, GAM_FORMULA_MAX_LEN + 2 - len, "+x%03zu", j);
    CHECK(len <= GAM_FORMULA_MAX_LEN, "%zu", len);
    CHECK_OK(parse(text, &f), &E);
    CHECK(f.nterms == GAM_FORMULA_MAX_TERMS);
    CHECK(f.nterms < GAM_FORMULA_MAX_TERMS || strcmp(f.terms[255].label, "x255") == 0);
    gam_formula_free(&f);
    snprintf(text + len, GAM_FORMULA_MAX_LEN + 2 - len, "+x256");
    CHECK(parse(text, &f) == ML_ELIMIT);
    CHECK(has(E.msg, "more than 256 terms") && has(E.msg, "...") && has(E.msg, "character"),
          "%s", E.msg);
    CHECK(strlen(E.msg) < 400, "%zu", strlen(E.msg));
    CHECK(is_empty(&f));

    /* Length: exactly GAM_FORMULA_MAX_LEN is accepted, one more is ML_ELIMIT. */
    memset(text, ' ', GAM_FORMULA_MAX_LEN + 1);
    memcpy(text, "y ~ x", 5);
    text[GAM_FORMULA_MAX_LEN] = '\0';
    CHECK_OK(parse(text, &f), &E);
    gam_formula_free(&f);
    text[GAM_FORMULA_MAX_LEN] = ' ';
    text[GAM_FORMULA_MAX_LEN + 1] = '\0';
    CHECK(parse(text, &f) == ML_ELIMIT);
    CHECK(has(E.msg, "longer than 4096 characters"), "%s", E.msg);
    CHECK(is_empty(&f));

    /* A long name in an error is shortened, and the message stays within bounds. */
    memset(text, 'a', GAM_FORMULA_MAX_LEN);
    memcpy(text, "y ~ s(x, ", 9);
    memcpy(text + GAM_FORMULA_MAX_LEN - 3, "=1)", 4);
    CHECK(parse(text, &f) == ML_EINVAL);
    CHECK(has(E.msg, "unknown option \"aaaa") && has(E.msg, "...\" in s(x, ...)") &&
          has(E.msg, "options are k, m, bs, by, sp"),
          "%s", E.msg);
    free(text);
}

/* Invariants of a successful parse (the header's promises). */
static int well_formed(const struct gam_formula *f, const char *text)
{
    size_t j;
    int v;

    if (!f->response || !f->response[0] || !f->text || strcmp(f->text, text) != 0)
        return 0;
    if (f->intercept != 0 && f->intercept != 1)
        return 0;
    if (f->nterms > GAM_FORMULA_MAX_TERMS || (f->nterms > 0 && !f->terms))
        return 0;
    if (f->nterms == 0 && !f->intercept)
        return 0;
    for (j = 0; j < f->nterms; j++) {
        const struct gam_term_spec *t = &f->terms[j];
        int lo = t->kind == GAM_TERM_TE ? 2 : 1;
        int hi = t->kind == GAM_TERM_TE ? GAM_MAX_MARGINS : 1;
        long cols = 1;
        if (t->nvar < lo || t->nvar > hi || !t->label || !t->label[0])
            return 0;
        if (!(t->sp == -1.0 || t->sp >= 0))
            return 0;
        for (v = 0; v < t->nvar; v++) {
            if (!t->var[v] || !t->var[v][0] || strcmp(t->var[v], f->response) == 0)
                return 0;
            if (t->kind == GAM_TERM_S || t->kind == GAM_TERM_TE) {
                if (t->m1[v] < 0 || t->m1[v] > 6 || t->m2[v] < 0 || t->k[v] < t->m1[v] + 2 ||
                    t->m2[v] >= t->k[v])
                    return 0;
                cols *= t->k[v];
            }
        }
        if (cols > GAM_FORMULA_MAX_COLS)
            return 0;
        if (t->by && (t->kind == GAM_TERM_LINEAR || t->kind == GAM_TERM_FACTOR))
            return 0;
    }
    return 1;
}

TEST(formula, random_token_strings)
{
    static const char *const tok[] = {
        "y",  "~",  "s(",   "te(",   "factor(", ")",    ",",     "+",    "-",       "x",
        "z",  "w",  "k=",   "m=",    "c(",      "5",    "2",     "0",    "1",       "bs=",
        "\"ps\"", "'ps'", "by=", "sp=", "1.5", "1e3", "`a b`", "`",  "\"",   " ",
        "\n", "=",  "(",    "g",     "*",       ".",    "-1",    "k",    "q=",      "10",
        "99999999999", "te", "s", "\t", "c", "x)", "by=factor(g)", "1e999",
    };
    const size_t ntok = sizeof tok / sizeof tok[0];
    struct ml_rng rng;
    char buf[512];
    size_t iter, nok = 0, nerr = 0;

    ml_rng_seed(&rng, 20261125, 7);
    for (iter = 0; iter < 5000; iter++) {
        size_t len = 0, ntoks = (size_t)ml_rng_below(&rng, 24), j;
        struct gam_formula f;
        enum ml_status st;

        /* Half the strings start like a formula, so the parser gets deep. */
        if (ml_rng_below(&rng, 2))
            len = (size_t)snprintf(buf, sizeof buf, "y ~ ");
        buf[len] = '\0';
        for (j = 0; j < ntoks; j++) {
            const char *t = tok[ml_rng_below(&rng, ntok)];
            char raw[2];
            if (ml_rng_below(&rng, 40) == 0) {   /* an occasional random byte */
                raw[0] = (char)(1 + ml_rng_below(&rng, 255));
                raw[1] = '\0';
                t = raw;
            }
            if (len + strlen(t) + 1 >= sizeof buf)
                break;
            memcpy(buf + len, t, strlen(t) + 1);
            len += strlen(t);
        }
        memset(&E, 0, sizeof E);
        st = gam_formula_parse(buf, &f, &E);
        if (st == ML_OK) {
            nok++;
            CHECK(well_formed(&f, buf), "ill-formed result for \"%s\"", buf);
        } else {
            nerr++;
            CHECK(st == ML_EINVAL || st == ML_ELIMIT, "\"%s\": status %d", buf, (int)st);
            CHECK(E.code == st && E.msg[0] != '\0' && memchr(E.msg, '\0', sizeof E.msg),
                  "\"%s\": no message", buf);
            CHECK(has(E.msg, "formula"), "\"%s\": %s", buf, E.msg);
            CHECK(strchr(E.msg, '\n') == NULL, "\"%s\": newline in message %s", buf, E.msg);
            CHECK(is_empty(&f), "\"%s\": out not empty", buf);
        }
        gam_formula_free(&f);
    }
    /* The token mix must reach both outcomes, or the loop tests little. */
    CHECK(nok > 20 && nerr > 1000, "ok %zu, errors %zu", nok, nerr);
}
