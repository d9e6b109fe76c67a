/* test_sm_config.c: suite "config" for io/json/sm_config.c -- the toolkit's
 * decode rule on every example of anchors.md 1.2, each error with its message,
 * the platform caps (100 keys, 256 characters) at and just past the limit,
 * inputdataconfig/resourceconfig variants, malformed JSON, and an
 * allocation-failure loop through cJSON_InitHooks (CU "torture"). */
#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json/sm_config.h"
#include "test.h"

static const char *const link_choices[] = {"identity", "logit", "log", NULL};

static const struct hp_spec SPEC[] = {
    {"n_trees", HP_INT, "100", 1, 100000, NULL, "number of trees"},
    {"learning_rate", HP_FLOAT, "0.1", 0, 1, NULL, "step size"},
    {"verbose", HP_BOOL, "false", 0, 0, NULL, "print progress"},
    {"link", HP_STRING, "identity", 0, 0, link_choices, "link function"},
    {"formula", HP_STRING, NULL, 0, 0, NULL, "model formula"},
    {"commit_id", HP_STRING, NULL, 0, 0, NULL, "commit of the run"},
    {"columns", HP_STRING_LIST, "x1,x2", 0, 0, NULL, "feature columns"},
    {"delimiter", HP_CHAR, ",", 0, 0, NULL, "CSV delimiter"},
    {"seed", HP_INT, "0", 0, INFINITY, NULL, "random seed"},
};
#define NSPEC (sizeof SPEC / sizeof SPEC[0])

static struct ml_err E;

static enum ml_status hp(const char *json, struct hp_set **h)
{
    memset(&E, 0, sizeof E);
    return hp_parse(json, strlen(json), "hp.json", SPEC, NSPEC, h, &E);
}

static int has(const char *msg, const char *sub)
{
    return strstr(msg, sub) != NULL;
}

/* Parse {"<key>": <value-json>} and return the status; *h set on success. */
static enum ml_status hp1(const char *key, const char *value_json, struct hp_set **h)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "{\"%s\": %s}", key, value_json);
    return hp(buf, h);
}

/* ---- decoding examples from anchors.md 1.2 ----------------------------- */

TEST(config, hp_decode_float)
{
    struct hp_set *h = NULL;
    const struct hp_value *v;

    CHECK_OK(hp1("learning_rate", "\"0.1\"", &h), &E);
    v = hp_get(h, "learning_rate");
    CHECK(v && v->set && v->has_value);
    CHECK(v && v->f == 0.1, "f = %.17g", v ? v->f : -1.0);
    CHECK(v && v->s && strcmp(v->s, "0.1") == 0, "s = %s", v ? v->s : "");
    hp_set_free(h);
}

TEST(config, hp_decode_true)
{
    struct hp_set *h = NULL;

    CHECK_OK(hp1("verbose", "\"true\"", &h), &E);
    CHECK(hp_get(h, "verbose")->b == 1);
    CHECK(strcmp(hp_get(h, "verbose")->s, "true") == 0);
    hp_set_free(h);
}

/* "True" stays a string after json.loads; we accept it on purpose (the
 * Python SDK sends str(True)), in any case, and nothing else. */
TEST(config, hp_decode_True_string)
{
    static const char *const yes[] = {"\"True\"", "\"TRUE\"", "\"tRuE\"", "true",
                                      "\"\\\"true\\\"\""};
    static const char *const no[] = {"\"False\"", "\"FALSE\"", "false"};
    static const char *const bad[] = {"\"yes\"", "\"1\"", "1", "\"on\"", "null", "\"\""};
    struct hp_set *h = NULL;
    size_t k;

    for (k = 0; k < sizeof yes / sizeof yes[0]; k++) {
        CHECK_OK(hp1("verbose", yes[k], &h), &E);
        CHECK(h && hp_get(h, "verbose")->b == 1, "%s", yes[k]);
        hp_set_free(h);
        h = NULL;
    }
    for (k = 0; k < sizeof no / sizeof no[0]; k++) {
        CHECK_OK(hp1("verbose", no[k], &h), &E);
        CHECK(h && hp_get(h, "verbose")->b == 0, "%s", no[k]);
        hp_set_free(h);
        h = NULL;
    }
    for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        CHECK(hp1("verbose", bad[k], &h) == ML_EINVAL, "%s", bad[k]);
        CHECK(h == NULL);
        CHECK(has(E.msg, "\"verbose\"") && has(E.msg, "expected true or false"), "%s", E.msg);
    }
}

TEST(config, hp_decode_list)
{
    struct hp_set *h = NULL;
    const struct hp_value *v;

    /* "[1,2]" decodes to a list, but of numbers: a string list refuses it. */
    CHECK(hp1("columns", "\"[1,2]\"", &h) == ML_EINVAL);
    CHECK(has(E.msg, "hp.json: hyperparameter \"columns\" = \"[1,2]\""), "%s", E.msg);
    CHECK(has(E.msg, "item 1 is a number"), "%s", E.msg);
    /* The same text for a string parameter stays the text. */
    CHECK_OK(hp1("formula", "\"[1,2]\"", &h), &E);
    CHECK(strcmp(hp_get(h, "formula")->s, "[1,2]") == 0);
    hp_set_free(h);

    CHECK_OK(hp1("columns", "\"[\\\"a\\\", \\\"b c\\\"]\"", &h), &E);
    v = hp_get(h, "columns");
    CHECK(v->nlist == 2 && strcmp(v->list[0], "a") == 0 && strcmp(v->list[1], "b c") == 0);
    CHECK(strcmp(v->s, "a,b c") == 0, "%s", v->s);
    hp_set_free(h);
}

TEST(config, hp_decode_object_is_refused)
{
    struct hp_set *h = NULL;

    CHECK(hp1("n_trees", "\"{\\\"a\\\":1}\"", &h) == ML_EINVAL);
    CHECK(strcmp(E.msg, "hp.json: hyperparameter \"n_trees\" = \"{\\\"a\\\":1}\": expected an "
                        "integer in [1, 100000]") == 0,
          "%s", E.msg);
    CHECK(hp1("learning_rate", "\"{\\\"a\\\":1}\"", &h) == ML_EINVAL);
    CHECK(hp1("verbose", "\"{\\\"a\\\":1}\"", &h) == ML_EINVAL);
    CHECK(hp1("columns", "\"{\\\"a\\\":1}\"", &h) == ML_EINVAL);
    CHECK(has(E.msg, "got an object"), "%s", E.msg);
    CHECK(hp1("delimiter", "\"{\\\"a\\\":1}\"", &h) == ML_EINVAL);
    /* Unquoted in a hand-made file: the same refusal. */
    CHECK(hp1("n_trees", "{\"a\":1}", &h) == ML_EINVAL);
    CHECK(has(E.msg, "\"n_trees\" = {...}"), "%s", E.msg);
    CHECK(h == NULL);
}

TEST(config, hp_decode_abc)
{
    struct hp_set *h = NULL;

    CHECK_OK(hp1("formula", "\"abc\"", &h), &E);
    CHECK(strcmp(hp_get(h, "formula")->s, "abc") == 0);
    hp_set_free(h);
    CHECK(hp1("n_trees", "\"abc\"", &h) == ML_EINVAL);
    CHECK(strcmp(E.msg, "hp.json: hyperparameter \"n_trees\" = \"abc\": expected an integer in "
                        "[1, 100000]") == 0,
          "%s", E.msg);
    CHECK(E.code == ML_EINVAL);
}

/* ---- coercion per type -------------------------------------------------- */

TEST(config, hp_int)
{
    static const struct {
        const char *json;
        long long want;
    } ok[] = {{"\"12\"", 12},      {"12", 12},        {"\"12.0\"", 12},   {"\"1e3\"", 1000},
              {"\" 7 \"", 7},      {"\"100000\"", 100000}, {"\"1\"", 1}, {"1.0", 1}};
    static const char *const bad[] = {"\"12.5\"", "\"0\"",   "\"100001\"", "\"-5\"",  "\"012\"",
                                      "\"+3\"",   "\"0x10\"", "true",       "null",    "\"\"",
                                      "\"many\"", "12.5",    "[1]",        "\"1e400\"",
                                      "\"99999999999999999999999\""};
    struct hp_set *h = NULL;
    size_t k;

    for (k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        CHECK_OK(hp1("n_trees", ok[k].json, &h), &E);
        CHECK(h && hp_get(h, "n_trees")->i == ok[k].want, "%s", ok[k].json);
        CHECK(h && hp_get(h, "n_trees")->f == (double)ok[k].want, "%s", ok[k].json);
        hp_set_free(h);
        h = NULL;
    }
    for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        CHECK(hp1("n_trees", bad[k], &h) == ML_EINVAL, "%s", bad[k]);
        CHECK(has(E.msg, "expected an integer in [1, 100000]"), "%s: %s", bad[k], E.msg);
    }
    CHECK(hp1("n_trees", "\"many\"", &h) == ML_EINVAL);
    CHECK(strcmp(E.msg, "hp.json: hyperparameter \"n_trees\" = \"many\": expected an integer in "
                        "[1, 100000]") == 0,
          "%s", E.msg);
}

/* An integer literal is read exactly, not through a double. */
TEST(config, hp_int_exact_above_2_53)
{
    struct hp_set *h = NULL;

    CHECK_OK(hp1("seed", "\"9007199254740993\"", &h), &E);
    CHECK(h && hp_get(h, "seed")->i == 9007199254740993LL);
    CHECK(h && strcmp(hp_get(h, "seed")->s, "9007199254740993") == 0);
    hp_set_free(h);
    CHECK_OK(hp1("seed", "\"9223372036854775807\"", &h), &E);
    CHECK(h && hp_get(h, "seed")->i == 9223372036854775807LL);
    hp_set_free(h);
    CHECK(hp1("seed", "\"9223372036854775808\"", &h) == ML_EINVAL);
    CHECK(has(E.msg, "expected an integer >= 0"), "%s", E.msg);
    CHECK(hp1("seed", "\"-1\"", &h) == ML_EINVAL);
}

TEST(config, hp_float)
{
    static const char *const bad[] = {"\"nan\"", "\"NaN\"", "\"Infinity\"", "\"1e400\"", "\"1.5\"",
                                      "\"-0.1\"", "\".5\"", "\"5.\"",    "\"abc\"",  "true",
                                      "\"[0.5]\""};
    struct hp_set *h = NULL;
    size_t k;

    CHECK_OK(hp1("learning_rate", "\"0\"", &h), &E);
    CHECK(hp_get(h, "learning_rate")->f == 0.0);
    hp_set_free(h);
    CHECK_OK(hp1("learning_rate", "\"1e-400\"", &h), &E); /* underflows to 0, as in Python */
    CHECK(hp_get(h, "learning_rate")->f == 0.0);
    hp_set_free(h);
    CHECK_OK(hp1("learning_rate", "0.25", &h), &E);
    CHECK(hp_get(h, "learning_rate")->f == 0.25);
    hp_set_free(h);
    CHECK_OK(hp1("learning_rate", "\"1\"", &h), &E);
    CHECK(hp_get(h, "learning_rate")->f == 1.0);
    hp_set_free(h);
    for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        CHECK(hp1("learning_rate", bad[k], &h) == ML_EINVAL, "%s", bad[k]);
        CHECK(has(E.msg, "\"learning_rate\"") && has(E.msg, "expected a finite number in [0, 1]"),
              "%s", E.msg);
    }
}

/* Decoding only guesses types: text parameters keep the text as given. */
TEST(config, hp_string_verbatim)
{
    static const struct {
        const char *key, *json, *want;
    } cases[] = {
        {"commit_id", "\"0123456789\"", "0123456789"},
        {"commit_id", "\"123456\"", "123456"},
        {"commit_id", "\"1e5\"", "1e5"},
        {"commit_id", "\"12345678901234567890123456789\"", "12345678901234567890123456789"},
        {"commit_id", "\"deadbeef\"", "deadbeef"},
        {"formula", "\"1\"", "1"},
        {"formula", "\"true\"", "true"},
        {"formula", "\"null\"", "null"},
        {"formula", "\"{\\\"a\\\":1}\"", "{\"a\":1}"},
        {"formula", "\"\\\"quoted\\\"\"", "quoted"},
        {"formula", "\"y ~ s(x1) + s(x2)\"", "y ~ s(x1) + s(x2)"},
        {"formula", "\"\"", ""},
        {"formula", "\"True\"", "True"},
        {"commit_id", "123456", "123456"},         /* unquoted in a hand-made file */
        {"commit_id", "true", "true"},
    };
    struct hp_set *h = NULL;
    size_t k;

    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        CHECK_OK(hp1(cases[k].key, cases[k].json, &h), &E);
        CHECK(h && strcmp(hp_get(h, cases[k].key)->s, cases[k].want) == 0, "%s -> %s",
              cases[k].json, h ? hp_get(h, cases[k].key)->s : "");
        hp_set_free(h);
        h = NULL;
    }
    CHECK(hp1("formula", "null", &h) == ML_EINVAL);
    CHECK(has(E.msg, "\"formula\" = null: expected a string"), "%s", E.msg);
    CHECK(hp1("formula", "[\"a\"]", &h) == ML_EINVAL);
}

TEST(config, hp_string_choices)
{
    struct hp_set *h = NULL;

    CHECK_OK(hp1("link", "\"logit\"", &h), &E);
    CHECK(strcmp(hp_get(h, "link")->s, "logit") == 0);
    hp_set_free(h);
    CHECK(hp1("link", "\"probit\"", &h) == ML_EINVAL);
    CHECK(strcmp(E.msg, "hp.json: hyperparameter \"link\" = \"probit\": expected one of: "
                        "\"identity\", \"logit\", \"log\"") == 0,
          "%s", E.msg);
    CHECK(hp1("link", "\"Logit\"", &h) == ML_EINVAL); /* choices are exact */
}

TEST(config, hp_char)
{
    static const struct {
        const char *json;
        char want;
    } ok[] = {{"\",\"", ','},      {"\";\"", ';'},      {"\"\\\\t\"", '\t'},
              {"\"\\t\"", '\t'},    {"\"tab\"", '\t'},    {"\"TAB\"", '\t'},
              {"\"comma\"", ','},  {"\"semicolon\"", ';'}, {"\"pipe\"", '|'},
              {"\"Pipe\"", '|'},   {"\"space\"", ' '},  {"\" \"", ' '},
              {"\"5\"", '5'},      {"\"\\\"|\\\"\"", '|'}};
    static const char *const bad[] = {"\"ab\"", "\"\"", "\"\\u00e9\"", "\"\\n\"", "\"tabs\"",
                                      "5.5",    "null", "[\",\"]"};
    struct hp_set *h = NULL;
    size_t k;

    for (k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        CHECK_OK(hp1("delimiter", ok[k].json, &h), &E);
        CHECK(h && hp_get(h, "delimiter")->c == ok[k].want, "%s", ok[k].json);
        CHECK(h && hp_get(h, "delimiter")->s[0] == ok[k].want && !hp_get(h, "delimiter")->s[1]);
        hp_set_free(h);
        h = NULL;
    }
    for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        CHECK(hp1("delimiter", bad[k], &h) == ML_EINVAL, "%s", bad[k]);
        CHECK(has(E.msg, "\"delimiter\"") && has(E.msg, "expected a single character"), "%s",
              E.msg);
    }
    /* A tab is shown escaped in messages. */
    CHECK(hp1("delimiter", "\"\\t\\t\"", &h) == ML_EINVAL);
    CHECK(has(E.msg, "= \"\\t\\t\""), "%s", E.msg);
}

TEST(config, hp_string_list)
{
    struct hp_set *h = NULL;
    const struct hp_value *v;

    CHECK_OK(hp1("columns", "\"a, b ,c\"", &h), &E);
    v = hp_get(h, "columns");
    CHECK(v->nlist == 3 && strcmp(v->list[0], "a") == 0 && strcmp(v->list[1], "b") == 0 &&
          strcmp(v->list[2], "c") == 0);
    CHECK(strcmp(v->s, "a,b,c") == 0, "%s", v->s);
    hp_set_free(h);

    CHECK_OK(hp1("columns", "\"single\"", &h), &E);
    CHECK(hp_get(h, "columns")->nlist == 1);
    hp_set_free(h);
    CHECK_OK(hp1("columns", "\"5\"", &h), &E); /* decodes to 5; the text is kept */
    CHECK(hp_get(h, "columns")->nlist == 1 && strcmp(hp_get(h, "columns")->list[0], "5") == 0);
    hp_set_free(h);
    CHECK_OK(hp1("columns", "\"\"", &h), &E); /* blank: empty list, clears the default */
    CHECK(hp_get(h, "columns")->nlist == 0 && hp_get(h, "columns")->has_value);
    CHECK(strcmp(hp_get(h, "columns")->s, "") == 0);
    hp_set_free(h);
    CHECK_OK(hp1("columns", "[\"p\", \"q\"]", &h), &E); /* unquoted array in a hand-made file */
    CHECK(hp_get(h, "columns")->nlist == 2);
    hp_set_free(h);
    CHECK_OK(hp1("columns", "\"[]\"", &h), &E);
    CHECK(hp_get(h, "columns")->nlist == 0);
    hp_set_free(h);

    CHECK(hp1("columns", "\"a,,b\"", &h) == ML_EINVAL);
    CHECK(has(E.msg, "\"columns\" = \"a,,b\"") && has(E.msg, "item 2 is empty"), "%s", E.msg);
    CHECK(hp1("columns", "\"a,\"", &h) == ML_EINVAL);
    CHECK(has(E.msg, "item 2 is empty"), "%s", E.msg);
    CHECK(hp1("columns", "\" , a\"", &h) == ML_EINVAL);
    CHECK(hp1("columns", "\"[\\\"a\\\", \\\"\\\"]\"", &h) == ML_EINVAL);
    CHECK(has(E.msg, "item 2 is empty"), "%s", E.msg);
    CHECK(hp1("columns", "[\"a\", 3]", &h) == ML_EINVAL);
    CHECK(has(E.msg, "item 2 is a number"), "%s", E.msg);
    CHECK(hp1("columns", "null", &h) == ML_EINVAL);
}

/* ---- keys --------------------------------------------------------------- */

TEST(config, hp_unknown_key)
{
    struct hp_set *h = NULL;

    CHECK(hp("{\"n_trees\": \"5\", \"foo\": \"1\"}", &h) == ML_EINVAL);
    CHECK(h == NULL);
    CHECK(strcmp(E.msg, "hp.json: unknown hyperparameter \"foo\"; valid hyperparameters: columns, "
                        "commit_id, delimiter, formula, learning_rate, link, n_trees, seed, "
                        "verbose") == 0,
          "%s", E.msg);
    /* Names are case-sensitive, as in a Python dict. */
    CHECK(hp("{\"N_TREES\": \"5\"}", &h) == ML_EINVAL);
    CHECK(has(E.msg, "\"N_TREES\""), "%s", E.msg);
}

TEST(config, hp_reserved_keys_ignored)
{
    struct hp_set *h = NULL;

    CHECK_OK(hp("{\"sagemaker_program\": \"train.py\", \"n_trees\": \"7\", "
                "\"sagemaker_region\": \"\\\"eu-west-1\\\"\", "
                "\"_tuning_objective_metric\": \"validation:rmse\", "
                "\"sagemaker_mpi_enabled\": \"{bad json\"}",
                &h),
             &E);
    CHECK(h && h->nignored == 4);
    CHECK(h && strcmp(h->ignored[0], "sagemaker_program") == 0);
    CHECK(h && strcmp(h->ignored[2], "_tuning_objective_metric") == 0);
    CHECK(h && hp_get(h, "n_trees")->i == 7);
    hp_set_free(h);
}

TEST(config, hp_defaults)
{
    struct hp_set *h = NULL;
    const struct hp_value *v;

    CHECK_OK(hp("{}", &h), &E);
    CHECK(h && h->n == NSPEC && h->nignored == 0);
    v = hp_get(h, "n_trees");
    CHECK(v->i == 100 && v->has_value && !v->set && strcmp(v->s, "100") == 0);
    CHECK(hp_get(h, "learning_rate")->f == 0.1);
    CHECK(hp_get(h, "verbose")->b == 0 && hp_get(h, "verbose")->has_value);
    CHECK(strcmp(hp_get(h, "link")->s, "identity") == 0);
    CHECK(hp_get(h, "delimiter")->c == ',');
    v = hp_get(h, "columns");
    CHECK(v->nlist == 2 && strcmp(v->list[1], "x2") == 0);
    v = hp_get(h, "formula");
    CHECK(!v->has_value && !v->set && v->s == NULL);
    CHECK(hp_get(h, "nope") == NULL);
    CHECK(hp_get(NULL, "n_trees") == NULL);
    hp_set_free(h);

    /* A given value replaces the default and is marked set. */
    CHECK_OK(hp("{\"n_trees\": \"3\"}", &h), &E);
    CHECK(hp_get(h, "n_trees")->i == 3 && hp_get(h, "n_trees")->set);
    CHECK(!hp_get(h, "learning_rate")->set && hp_get(h, "learning_rate")->has_value);
    hp_set_free(h);
    hp_set_free(NULL);
}

TEST(config, hp_bad_spec_is_internal)
{
    static const struct hp_spec bad_def[] = {{"x", HP_INT, "abc", 0, 10, NULL, "x"}};
    static const struct hp_spec dup[] = {{"x", HP_INT, NULL, 0, 10, NULL, "x"},
                                         {"x", HP_FLOAT, NULL, 0, 10, NULL, "x"}};
    struct hp_set *h = NULL;

    CHECK(hp_parse("{}", 2, "hp.json", bad_def, 1, &h, &E) == ML_EINTERNAL);
    CHECK(E.code == ML_EINTERNAL && h == NULL);
    CHECK(has(E.msg, "built-in default of hyperparameter \"x\" = \"abc\""), "%s", E.msg);
    /* A given value means the bad default is never looked at. */
    CHECK_OK(hp_parse("{\"x\": \"3\"}", 10, "hp.json", bad_def, 1, &h, &E), &E);
    hp_set_free(h);
    h = NULL;
    CHECK(hp_parse("{}", 2, "hp.json", dup, 2, &h, &E) == ML_EINTERNAL);
    CHECK(has(E.msg, "appears twice"), "%s", E.msg);
    CHECK(hp_parse("{}", 2, "hp.json", SPEC, NSPEC, NULL, &E) == ML_EINVAL);
}

TEST(config, hp_duplicate_key)
{
    struct hp_set *h = NULL;

    CHECK(hp("{\"n_trees\": \"5\", \"seed\": \"1\", \"n_trees\": \"6\"}", &h) == ML_EFORMAT);
    CHECK(strcmp(E.msg, "hp.json: hyperparameter \"n_trees\" is given twice") == 0, "%s", E.msg);
    CHECK(h == NULL);
}

/* ---- platform caps ------------------------------------------------------ */

static char *keys_json(size_t nkeys)
{
    size_t cap = nkeys * 40 + 16, used = 0, k;
    char *s = malloc(cap);

    used += (size_t)snprintf(s + used, cap - used, "{");
    for (k = 0; k < nkeys; k++)
        used += (size_t)snprintf(s + used, cap - used, "%s\"sagemaker_k%zu\": \"v\"",
                                 k ? ", " : "", k);
    snprintf(s + used, cap - used, "}");
    return s;
}

TEST(config, hp_100_keys_ok_101_refused)
{
    struct hp_set *h = NULL;
    char *s = keys_json(100);

    CHECK_OK(hp(s, &h), &E);
    CHECK(h && h->nignored == 100);
    hp_set_free(h);
    h = NULL;
    free(s);
    s = keys_json(101);
    CHECK(hp(s, &h) == ML_ELIMIT);
    CHECK(strcmp(E.msg, "hp.json: 101 hyperparameters; at most 100 are allowed") == 0, "%s",
          E.msg);
    CHECK(h == NULL);
    free(s);
}

TEST(config, hp_256_chars_ok_257_refused)
{
    struct hp_set *h = NULL;
    char val[300], json[2048], key[300];
    size_t k;

    memset(val, 'x', 256);
    val[256] = '\0';
    snprintf(json, sizeof json, "{\"formula\": \"%s\"}", val);
    CHECK_OK(hp(json, &h), &E);
    CHECK(h && strlen(hp_get(h, "formula")->s) == 256);
    hp_set_free(h);
    h = NULL;

    val[256] = 'y';
    val[257] = '\0';
    snprintf(json, sizeof json, "{\"formula\": \"%s\"}", val);
    CHECK(hp(json, &h) == ML_ELIMIT);
    CHECK(has(E.msg,
              "hyperparameter \"formula\" = \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\""),
          "%s", E.msg);
    CHECK(has(E.msg, "257 characters long; at most 256"), "%s", E.msg);

    /* Characters, not bytes: 256 two-byte characters are fine. */
    {
        size_t used = (size_t)snprintf(json, sizeof json, "{\"formula\": \"");
        for (k = 0; k < 256; k++)
            used += (size_t)snprintf(json + used, sizeof json - used, "\xC3\xA9");
        snprintf(json + used, sizeof json - used, "\"}");
    }
    CHECK_OK(hp(json, &h), &E);
    hp_set_free(h);
    h = NULL;

    /* Keys: 256 is fine (an ignored reserved key), 257 is not. */
    memset(key, 'k', sizeof key);
    memcpy(key, "sagemaker_", 10);
    key[256] = '\0';
    snprintf(json, sizeof json, "{\"%s\": \"1\"}", key);
    CHECK_OK(hp(json, &h), &E);
    hp_set_free(h);
    h = NULL;
    key[256] = 'k';
    key[257] = '\0';
    snprintf(json, sizeof json, "{\"%s\": \"1\"}", key);
    CHECK(hp(json, &h) == ML_ELIMIT);
    CHECK(has(E.msg, "hyperparameter name \"sagemaker_kkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...\" is 257"),
          "%s", E.msg);
}

/* ---- malformed JSON ----------------------------------------------------- */

TEST(config, json_syntax_error_position)
{
    struct hp_set *h = NULL;
    const char *text = "{\n  \"n_trees\": \"5\",\n  \"seed\" 2\n}";

    CHECK(hp(text, &h) == ML_EFORMAT);
    CHECK(strcmp(E.msg, "hp.json: invalid JSON at line 3, column 10 near \"2\": expected ':' "
                        "after an object key") == 0,
          "%s", E.msg);
    CHECK(hp("{\"a\": 1,}", &h) == ML_EFORMAT);
    CHECK(has(E.msg, "line 1, column 9"), "%s", E.msg);
    CHECK(hp("{\"a\": \"unterminated}", &h) == ML_EFORMAT);
    CHECK(has(E.msg, "line 1, column 7") && has(E.msg, "unterminated string"), "%s", E.msg);
    CHECK(hp("{\"a\": 01}", &h) == ML_EFORMAT);
    CHECK(hp("{\"a\": tru}", &h) == ML_EFORMAT);
    CHECK(hp("{\"a\": \"x\"", &h) == ML_EFORMAT);
    CHECK(has(E.msg, "end of input"), "%s", E.msg);
    CHECK(hp("{} trailing", &h) == ML_EFORMAT);
    CHECK(has(E.msg, "near \"trailing\"") && has(E.msg, "unexpected text after"), "%s", E.msg);
    CHECK(hp("{\"a\": \"\\q\"}", &h) == ML_EFORMAT);
    CHECK(has(E.msg, "invalid escape"), "%s", E.msg);
    CHECK(hp("{\"a\": \"\xff\"}", &h) == ML_EFORMAT);
    CHECK(has(E.msg, "invalid UTF-8") && has(E.msg, "\\xFF"), "%s", E.msg);
    CHECK(hp("{\"a\": \"\\ud800\"}", &h) == ML_EFORMAT);
    CHECK(hp("{\"formula\": \"a\\u0000b\"}", &h) == ML_EFORMAT);
    CHECK(has(E.msg, "\\u0000 (NUL) is not allowed"), "%s", E.msg);
    CHECK(h == NULL);
}

TEST(config, json_empty_and_not_object)
{
    struct hp_set *h = NULL;
    struct sm_input_config ic;
    struct sm_resource_config rc;

    CHECK(hp("", &h) == ML_EFORMAT);
    CHECK(strcmp(E.msg, "hp.json: empty file; expected a JSON object") == 0, "%s", E.msg);
    CHECK(hp_parse(NULL, 0, "hp.json", SPEC, NSPEC, &h, &E) == ML_EFORMAT);
    CHECK(hp(" \n\t ", &h) == ML_EFORMAT);
    CHECK(hp("[]", &h) == ML_EFORMAT);
    CHECK(strcmp(E.msg, "hp.json: not a JSON object (found an array)") == 0, "%s", E.msg);
    CHECK(hp("\"x\"", &h) == ML_EFORMAT);
    CHECK(hp("null", &h) == ML_EFORMAT);
    CHECK(hp_parse("{}\0{}", 5, "hp.json", SPEC, NSPEC, &h, &E) == ML_EFORMAT);
    CHECK(has(E.msg, "NUL byte at offset 2"), "%s", E.msg);
    CHECK(h == NULL);
    /* A byte-order mark, as Windows editors write, is fine. */
    CHECK_OK(hp("\xEF\xBB\xBF{\"seed\": \"4\"}", &h), &E);
    hp_set_free(h);
    /* Text need not be NUL-terminated: only len bytes are read. */
    h = NULL;
    CHECK_OK(hp_parse("{\"seed\": \"4\"}garbage", 13, "hp.json", SPEC, NSPEC, &h, &E), &E);
    CHECK(h && hp_get(h, "seed")->i == 4);
    hp_set_free(h);

    CHECK(sm_input_config_parse("[1]", 3, "in.json", &ic, &E) == ML_EFORMAT);
    CHECK(has(E.msg, "in.json: not a JSON object"), "%s", E.msg);
    CHECK(sm_resource_config_parse("", 0, "rc.json", &rc, &E) == ML_EFORMAT);
    CHECK(has(E.msg, "rc.json: empty file"), "%s", E.msg);
}

/* cJSON stops at 1000 levels without saying why; we stop far earlier with a
 * message, in all three parsers. */
TEST(config, json_deep_nesting)
{
    size_t depth = 5000, k, n = 0;
    char *s = malloc(2 * depth + 32);
    struct hp_set *h = NULL;
    struct sm_input_config ic;
    struct sm_resource_config rc;

    n += (size_t)snprintf(s, 32, "{\"formula\": ");
    for (k = 0; k < depth; k++)
        s[n++] = '[';
    for (k = 0; k < depth; k++)
        s[n++] = ']';
    s[n++] = '}';
    s[n] = '\0';
    CHECK(hp(s, &h) == ML_ELIMIT);
    CHECK(has(E.msg, "nested deeper than 32 levels at line 1, column 44"), "%s", E.msg);
    CHECK(sm_input_config_parse(s, n, "in.json", &ic, &E) == ML_ELIMIT);
    CHECK(sm_resource_config_parse(s, n, "rc.json", &rc, &E) == ML_ELIMIT);
    /* Unbalanced: still the depth message, not a crash. */
    CHECK(hp_parse(s, 2 * 1000, "hp.json", SPEC, NSPEC, &h, &E) == ML_ELIMIT);
    free(s);

    /* 32 levels in the file are fine. */
    s = malloc(256);
    n = (size_t)snprintf(s, 256, "{\"columns\": ");
    for (k = 0; k < 31; k++)
        s[n++] = '[';
    for (k = 0; k < 31; k++)
        s[n++] = ']';
    s[n++] = '}';
    s[n] = '\0';
    CHECK(hp(s, &h) == ML_EINVAL); /* parses; a nested list is not a list of strings */
    CHECK(has(E.msg, "item 1 is an array"), "%s", E.msg);
    free(s);

    /* Inside a value string, too-deep JSON is not JSON: the text is kept. */
    s = malloc(256);
    n = (size_t)snprintf(s, 256, "{\"formula\": \"");
    for (k = 0; k < 60; k++)
        s[n++] = '[';
    for (k = 0; k < 60; k++)
        s[n++] = ']';
    s[n++] = '"';
    s[n++] = '}';
    s[n] = '\0';
    CHECK_OK(hp(s, &h), &E);
    CHECK(h && strlen(hp_get(h, "formula")->s) == 120);
    hp_set_free(h);
    free(s);
}

/* ---- inputdataconfig.json ----------------------------------------------- */

static struct sm_input_config IC;

static enum ml_status ic(const char *json)
{
    memset(&E, 0, sizeof E);
    sm_input_config_free(&IC);
    return sm_input_config_parse(json, strlen(json), "inputdataconfig.json", &IC, &E);
}

TEST(config, input_good)
{
    const struct sm_channel *c;

    CHECK_OK(ic("{\"train\": {\"ContentType\": \"text/csv\", \"TrainingInputMode\": \"File\", "
                "\"S3DistributionType\": \"FullyReplicated\", \"RecordWrapperType\": \"None\"},"
                " \"validation\": {\"ContentType\": \"text/csv; header=absent; label_size=0\", "
                "\"TrainingInputMode\": \"Pipe\", \"S3DistributionType\": \"ShardedByS3Key\", "
                "\"CompressionType\": \"Gzip\"}}"),
             &E);
    CHECK(IC.n == 2);
    c = sm_input_config_find(&IC, "train");
    CHECK(c && c->content == SM_CONTENT_CSV && c->header == -1 && c->label_size == -1);
    CHECK(c && c->mode == SM_MODE_FILE && strcmp(c->distribution, "FullyReplicated") == 0);
    CHECK(c && strcmp(c->content_type, "text/csv") == 0);
    c = sm_input_config_find(&IC, "validation");
    CHECK(c && c->content == SM_CONTENT_CSV && c->header == 0 && c->label_size == 0);
    CHECK(c && c->mode == SM_MODE_PIPE && strcmp(c->distribution, "ShardedByS3Key") == 0);
    CHECK(c && strcmp(c->compression, "Gzip") == 0 && strcmp(c->record_wrapper, "None") == 0);
    CHECK(c && strcmp(c->content_type, "text/csv; header=absent; label_size=0") == 0);
    CHECK(sm_input_config_find(&IC, "test") == NULL);
    CHECK(sm_input_config_find(&IC, "Train") == NULL);
    CHECK(strcmp(IC.ch[0].name, "train") == 0); /* file order */
    sm_input_config_free(&IC);
    CHECK(IC.n == 0 && IC.ch == NULL);
    sm_input_config_free(NULL);
}

TEST(config, input_defaults_and_empty)
{
    const struct sm_channel *c;

    CHECK_OK(ic("{}"), &E);
    CHECK(IC.n == 0 && sm_input_config_find(&IC, "train") == NULL);
    /* Absent fields take SageMaker's defaults; unknown ones are skipped. */
    CHECK_OK(ic("{\"train\": {\"ShuffleConfig\": {\"Seed\": 1}, \"Foo\": 3, "
                "\"DataSource\": [1, 2]}, \"test\": {\"ContentType\": \"\"}}"),
             &E);
    c = sm_input_config_find(&IC, "train");
    CHECK(c && c->content == SM_CONTENT_CSV && c->mode == SM_MODE_FILE && c->header == -1);
    CHECK(c && c->content_type[0] == '\0' && strcmp(c->compression, "None") == 0);
    c = sm_input_config_find(&IC, "test");
    CHECK(c && c->content == SM_CONTENT_CSV);
    CHECK_OK(ic("{\"train\": {\"ContentType\": null, \"TrainingInputMode\": \"FastFile\"}}"), &E);
    CHECK(IC.n == 1 && IC.ch[0].mode == SM_MODE_FASTFILE);
    sm_input_config_free(&IC);
}

TEST(config, input_content_type_variants)
{
    static const struct {
        const char *ct;
        enum sm_content content;
        int header;
        long label;
    } ok[] = {
        {"text/csv", SM_CONTENT_CSV, -1, -1},
        {"csv", SM_CONTENT_CSV, -1, -1},
        {"CSV", SM_CONTENT_CSV, -1, -1},
        {"text/csv;label_size=1", SM_CONTENT_CSV, -1, 1},
        {"text/csv; header=present; label_size=1", SM_CONTENT_CSV, 1, 1},
        {"Text/CSV ;  Header = Present ;label_size = 2 ", SM_CONTENT_CSV, 1, 2},
        {"text/csv; header=\\\"absent\\\"", SM_CONTENT_CSV, 0, -1},
        {"text/csv; charset=utf-8", SM_CONTENT_CSV, -1, -1},
        {"text/csv; charset=UTF-8; label_size=0", SM_CONTENT_CSV, -1, 0},
        {"text/csv;", SM_CONTENT_CSV, -1, -1},
        {"application/x-hdf5", SM_CONTENT_HDF5, -1, -1},
        {"application/x-hdf", SM_CONTENT_HDF5, -1, -1},
        {"application/x-hdf5; charset=utf-8", SM_CONTENT_HDF5, -1, -1},
    };
    size_t k;
    char json[512];

    for (k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        snprintf(json, sizeof json, "{\"train\": {\"ContentType\": \"%s\"}}", ok[k].ct);
        CHECK_OK(ic(json), &E);
        CHECK(IC.n == 1 && IC.ch[0].content == ok[k].content, "%s", ok[k].ct);
        CHECK(IC.n == 1 && IC.ch[0].header == ok[k].header, "%s: header %d", ok[k].ct,
              IC.n ? IC.ch[0].header : -9);
        CHECK(IC.n == 1 && IC.ch[0].label_size == ok[k].label, "%s: label_size %ld", ok[k].ct,
              IC.n ? IC.ch[0].label_size : -9);
    }
    sm_input_config_free(&IC);
}

TEST(config, input_content_type_errors)
{
    static const struct {
        const char *ct, *msg;
    } bad[] = {
        {"application/json",
         "inputdataconfig.json: channel \"train\": unsupported ContentType \"application/json\"; "
         "supported: text/csv (or csv, with optional header=present|absent and label_size=N), "
         "application/x-hdf5 (or application/x-hdf)"},
        {"text/csv; foo=bar", "unknown parameter \"foo\"; known: header, label_size, charset"},
        {"text/csv; header=maybe", "header=\"maybe\"; expected present or absent"},
        {"text/csv; label_size=-1", "label_size=\"-1\"; expected a non-negative integer"},
        {"text/csv; label_size=", "label_size=\"\""},
        {"text/csv; label_size=1x", "label_size=\"1x\""},
        {"text/csv; label_size=99999999999999999999", "label_size=\"99999999999999999999\""},
        {"text/csv; header", "parameter \"header\" has no '=value'"},
        {"text/csv; header=present; header=absent", "header given twice"},
        {"text/csv; charset=latin1", "charset \"latin1\" is not supported; use utf-8"},
        {"application/x-hdf5; header=present", "parameter \"header\" only applies to text/csv"},
        {"; header=present", "unsupported ContentType \"; header=present\""},
        {"text/csvx", "unsupported ContentType \"text/csvx\""},
    };
    size_t k;
    char json[512];

    for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        snprintf(json, sizeof json, "{\"train\": {\"ContentType\": \"%s\"}}", bad[k].ct);
        CHECK(ic(json) == ML_EINVAL, "%s", bad[k].ct);
        CHECK(has(E.msg, bad[k].msg), "%s: %s", bad[k].ct, E.msg);
        CHECK(has(E.msg, "channel \"train\""), "%s", E.msg);
        CHECK(IC.n == 0 && IC.ch == NULL);
    }
}

TEST(config, input_modes_and_wrappers)
{
    CHECK(ic("{\"train\": {\"RecordWrapperType\": \"RecordIO\"}}") == ML_EINVAL);
    CHECK(strcmp(E.msg, "inputdataconfig.json: channel \"train\": RecordWrapperType RecordIO is "
                        "not supported; use None") == 0,
          "%s", E.msg);
    CHECK(ic("{\"train\": {\"TrainingInputMode\": \"Stream\"}}") == ML_EINVAL);
    CHECK(strcmp(E.msg, "inputdataconfig.json: channel \"train\": TrainingInputMode \"Stream\" is "
                        "not supported; expected one of: File, FastFile, Pipe") == 0,
          "%s", E.msg);
    CHECK(ic("{\"train\": {\"TrainingInputMode\": \"pipe\"}}") == ML_EINVAL);
    CHECK(ic("{\"train\": {\"S3DistributionType\": \"Sharded\"}}") == ML_EINVAL);
    CHECK(has(E.msg, "FullyReplicated, ShardedByS3Key"), "%s", E.msg);
    CHECK(ic("{\"train\": {\"CompressionType\": \"Zip\"}}") == ML_EINVAL);
    CHECK(ic("{\"train\": {\"RecordWrapperType\": \"Bad\"}}") == ML_EINVAL);
    CHECK(ic("{\"train\": {\"TrainingInputMode\": 1}}") == ML_EFORMAT);
    CHECK(has(E.msg, "channel \"train\": TrainingInputMode is a number; expected a string"), "%s",
          E.msg);
    CHECK(ic("{\"train\": {\"ContentType\": \"csv\", \"ContentType\": \"application/x-hdf5\"}}") ==
          ML_EFORMAT);
    CHECK(has(E.msg, "ContentType is given twice"), "%s", E.msg);
}

TEST(config, input_channel_names)
{
    char json[256], name[80];

    CHECK_OK(ic("{\"train-1.v_2\": {}}"), &E);
    CHECK(ic("{\"bad/name\": {}}") == ML_EINVAL);
    CHECK(has(E.msg, "channel name \"bad/name\": character 4 is not one of"), "%s", E.msg);
    CHECK(ic("{\"\": {}}") == ML_EINVAL);
    CHECK(has(E.msg, "empty channel name"), "%s", E.msg);
    CHECK(ic("{\"..\": {}}") == ML_EINVAL);
    CHECK(ic("{\"tr ain\": {}}") == ML_EINVAL);
    CHECK(ic("{\"tr\\u00e4in\": {}}") == ML_EINVAL);
    /* SageMaker allows channel names of up to 64 characters. */
    memset(name, 'c', 64);
    name[64] = '\0';
    snprintf(json, sizeof json, "{\"%s\": {}}", name);
    CHECK_OK(ic(json), &E);
    CHECK(IC.n == 1 && strlen(IC.ch[0].name) == 64);
    name[64] = 'c';
    name[65] = '\0';
    snprintf(json, sizeof json, "{\"%s\": {}}", name);
    CHECK(ic(json) == ML_ELIMIT);
    CHECK(ic("{\"train\": {}, \"train\": {}}") == ML_EFORMAT);
    CHECK(has(E.msg, "channel \"train\" is given twice"), "%s", E.msg);
    CHECK(ic("{\"train\": \"s3://bucket\"}") == ML_EFORMAT);
    CHECK(has(E.msg, "channel \"train\" is a string; expected an object"), "%s", E.msg);
    sm_input_config_free(&IC);
}

TEST(config, input_channel_cap)
{
    char json[2048];
    size_t used, k, n;

    for (n = 20; n <= 21; n++) {
        used = (size_t)snprintf(json, sizeof json, "{");
        for (k = 0; k < n; k++)
            used += (size_t)snprintf(json + used, sizeof json - used, "%s\"c%zu\": {}",
                                     k ? "," : "", k);
        snprintf(json + used, sizeof json - used, "}");
        if (n == 20) {
            CHECK_OK(ic(json), &E);
            CHECK(IC.n == 20);
        } else {
            CHECK(ic(json) == ML_ELIMIT);
            CHECK(has(E.msg, "21 channels; SageMaker allows at most 20"), "%s", E.msg);
        }
    }
    sm_input_config_free(&IC);
}

/* ---- resourceconfig.json ------------------------------------------------ */

static struct sm_resource_config RC;

static enum ml_status rc(const char *json)
{
    memset(&E, 0, sizeof E);
    sm_resource_config_free(&RC);
    return sm_resource_config_parse(json, strlen(json), "resourceconfig.json", &RC, &E);
}

TEST(config, resource_good)
{
    CHECK_OK(rc("{\"current_host\": \"algo-2\", \"hosts\": [\"algo-1\", \"algo-2\", \"algo-3\"], "
                "\"network_interface_name\": \"eth0\", \"current_instance_type\": "
                "\"ml.m5.xlarge\", \"current_group_name\": \"homogeneousCluster\", "
                "\"instance_groups\": [{\"instance_group_name\": \"homogeneousCluster\", "
                "\"instance_type\": \"ml.m5.xlarge\", \"hosts\": [\"algo-1\", \"algo-2\"]}]}"),
             &E);
    CHECK(strcmp(RC.current_host, "algo-2") == 0);
    CHECK(RC.nhosts == 3 && strcmp(RC.hosts[0], "algo-1") == 0 &&
          strcmp(RC.hosts[2], "algo-3") == 0);
    CHECK(strcmp(RC.network_interface_name, "eth0") == 0);
    CHECK(strcmp(RC.current_instance_type, "ml.m5.xlarge") == 0);
    CHECK(strcmp(RC.current_group_name, "homogeneousCluster") == 0);

    /* Minimal, as the toolkit writes for local runs without the optional keys. */
    CHECK_OK(rc("{\"current_host\": \"h\", \"hosts\": [\"h\"], \"network_interface_name\": null}"),
             &E);
    CHECK(RC.nhosts == 1 && RC.network_interface_name[0] == '\0');
    /* File order is kept, not re-sorted. */
    CHECK_OK(rc("{\"current_host\": \"b\", \"hosts\": [\"b\", \"a\"]}"), &E);
    CHECK(strcmp(RC.hosts[0], "b") == 0 && strcmp(RC.hosts[1], "a") == 0);
    sm_resource_config_free(&RC);
    CHECK(RC.hosts == NULL && RC.nhosts == 0);
    sm_resource_config_free(NULL);
}

TEST(config, resource_errors)
{
    static const struct {
        const char *json, *msg;
        enum ml_status code;
    } bad[] = {
        {"{\"current_host\": \"algo-9\", \"hosts\": [\"algo-1\", \"algo-2\"]}",
         "resourceconfig.json: current_host \"algo-9\" is not among the 2 entries of \"hosts\"",
         ML_EINVAL},
        {"{\"current_host\": \"algo-1\", \"hosts\": []}",
         "resourceconfig.json: \"hosts\" is empty; expected at least one host", ML_EINVAL},
        {"{\"current_host\": \"algo-1\", \"hosts\": [\"algo-1\", \"algo-2\", \"algo-1\"]}",
         "resourceconfig.json: host \"algo-1\" is listed twice in \"hosts\"", ML_EINVAL},
        {"{\"hosts\": [\"algo-1\"]}", "resourceconfig.json: \"current_host\" is missing",
         ML_EFORMAT},
        {"{\"current_host\": \"algo-1\"}", "resourceconfig.json: \"hosts\" is missing", ML_EFORMAT},
        {"{\"current_host\": \"algo-1\", \"hosts\": \"algo-1\"}",
         "\"hosts\" is a string; expected an array of host names", ML_EFORMAT},
        {"{\"current_host\": \"algo-1\", \"hosts\": [\"algo-1\", 2]}",
         "hosts[1] is a number; expected a string", ML_EFORMAT},
        {"{\"current_host\": \"algo-1\", \"hosts\": [\"algo-1\", \"\"]}", "hosts[1] is empty",
         ML_EINVAL},
        {"{\"current_host\": 1, \"hosts\": [\"algo-1\"]}",
         "\"current_host\" is a number; expected a string", ML_EFORMAT},
        {"{\"current_host\": \"\", \"hosts\": [\"algo-1\"]}", "\"current_host\" is empty",
         ML_EINVAL},
        {"{\"current_host\": \"a\", \"hosts\": [\"a\"], \"current_host\": \"a\"}",
         "\"current_host\" is given twice", ML_EFORMAT},
        {"{\"current_host\": \"a\", \"hosts\": [\"a\"], \"network_interface_name\": 5}",
         "\"network_interface_name\" is a number", ML_EFORMAT},
        {"{\"current_host\": \"a\\nb\", \"hosts\": [\"a\\nb\"]}",
         "\"current_host\" \"a\\nb\" contains a control character", ML_EINVAL},
        {"{\"current_host\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", "
         "\"hosts\": [\"a\"]}",
         "is 65 bytes long; at most 64", ML_ELIMIT},
    };
    size_t k;

    for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        CHECK(rc(bad[k].json) == bad[k].code, "case %zu: %s", k, E.msg);
        CHECK(has(E.msg, bad[k].msg), "case %zu: %s", k, E.msg);
        CHECK(RC.hosts == NULL && RC.nhosts == 0 && RC.current_host[0] == '\0');
    }
}

/* ---- allocation failures ------------------------------------------------ */

static long alloc_left;   /* allocations that may still succeed; <0 = unlimited */
static long alloc_live;   /* blocks not yet freed */

static void *torture_malloc(size_t n)
{
    void *p;
    if (alloc_left == 0)
        return NULL;
    if (alloc_left > 0)
        alloc_left--;
    p = malloc(n);
    if (p)
        alloc_live++;
    return p;
}

static void torture_free(void *p)
{
    if (p)
        alloc_live--;
    free(p);
}

/* Fail the 1st, 2nd, ... allocation in each parser: every run must end in
 * ML_OK or ML_ENOMEM with nothing leaked (CU "torture"). */
TEST(config, alloc_failures)
{
    static const char *hp_text =
        "{\"n_trees\": \"12\", \"learning_rate\": \"0.5\", \"verbose\": \"True\", "
        "\"link\": \"\\\"logit\\\"\", \"formula\": \"y ~ x\", \"commit_id\": \"0123\", "
        "\"columns\": \"[\\\"a\\\",\\\"b\\\"]\", \"delimiter\": \"tab\", "
        "\"sagemaker_program\": \"x\"}";
    static const char *hp_text2 = "{\"columns\": \"a, b, c\"}";
    static const char *ic_text = "{\"train\": {\"ContentType\": \"text/csv; label_size=0\"}, "
                                 "\"validation\": {\"TrainingInputMode\": \"Pipe\"}}";
    static const char *rc_text =
        "{\"current_host\": \"algo-1\", \"hosts\": [\"algo-1\", \"algo-2\"]}";
    cJSON_Hooks hooks = {torture_malloc, torture_free};
    int which;

    cJSON_InitHooks(&hooks);
    for (which = 0; which < 4; which++) {
        long n;
        int done = 0;
        for (n = 0; !done && n < 1000; n++) {
            enum ml_status st;
            struct hp_set *h = NULL;
            struct sm_input_config c = {0, NULL};
            struct sm_resource_config r;

            alloc_left = n;
            alloc_live = 0;
            memset(&E, 0, sizeof E);
            if (which < 2) {
                const char *t = which == 0 ? hp_text : hp_text2;
                st = hp_parse(t, strlen(t), "hp.json", SPEC, NSPEC, &h, &E);
                CHECK(st != ML_OK || (h && hp_get(h, "n_trees")->has_value));
                hp_set_free(h);
            } else if (which == 2) {
                st = sm_input_config_parse(ic_text, strlen(ic_text), "in.json", &c, &E);
                CHECK(st != ML_OK || c.n == 2);
                sm_input_config_free(&c);
            } else {
                st = sm_resource_config_parse(rc_text, strlen(rc_text), "rc.json", &r, &E);
                CHECK(st != ML_OK || r.nhosts == 2);
                sm_resource_config_free(&r);
            }
            CHECK(st == ML_OK || st == ML_ENOMEM, "parser %d, n=%ld: status %d: %s", which, n,
                  (int)st, E.msg);
            CHECK(alloc_live == 0, "parser %d, n=%ld: %ld blocks leaked", which, n, alloc_live);
            done = st == ML_OK;
        }
        CHECK(done, "parser %d never succeeded", which);
    }
    cJSON_InitHooks(NULL);
}
