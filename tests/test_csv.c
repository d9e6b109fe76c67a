/* test_csv.c: io/csv reader (and the writer round trip).
 *
 * Number parsing is checked bit for bit against glibc strtod (correctly
 * rounded) in the C locale this runner never leaves; every reader error is
 * provoked and its message text checked; the multi-threaded path is checked
 * against the single-threaded one on generated files, errors included. */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <pthread.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "csv/csv_impl.h"
#include "csv/csv_read.h"
#include "ml_rng.h"
#include "test.h"

/* ---- helpers ------------------------------------------------------------ */

static enum ml_status rd(const char *text, const struct csv_options *o, struct ml_table **t,
                         struct ml_err *err)
{
    return csv_read_mem(text, strlen(text), "t.csv", o, t, err);
}

/* Read text expecting failure with `code` and exactly `msg`. */
#define CHECK_FAILS(text, o, code, want_msg)                                                 \
    do {                                                                                \
        struct ml_table *t_ = NULL;                                                     \
        struct ml_err e_;                                                               \
        enum ml_status s_;                                                              \
        ml_err_clear(&e_);                                                              \
        s_ = rd((text), (o), &t_, &e_);                                                 \
        CHECK(s_ == (code), "status %d (%s), want %d", (int)s_, e_.msg, (int)(code));   \
        CHECK(strcmp(e_.msg, (want_msg)) == 0, "message\n      got:  %s\n      want: %s",   \
              e_.msg, (want_msg));                                                           \
        CHECK(t_ == NULL);                                                              \
        ml_table_free(t_);                                                              \
    } while (0)

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* Tables equal bit for bit: names, types, levels and every value. */
static int tables_equal(const struct ml_table *a, const struct ml_table *b, char *why, size_t cap)
{
    size_t j, i, l;

    if (a->nrow != b->nrow || a->ncol != b->ncol) {
        snprintf(why, cap, "shape %zux%zu vs %zux%zu", a->nrow, a->ncol, b->nrow, b->ncol);
        return 0;
    }
    for (j = 0; j < a->ncol; j++) {
        const struct ml_column *x = &a->col[j], *y = &b->col[j];
        if (strcmp(x->name, y->name) || x->type != y->type || x->nlevels != y->nlevels) {
            snprintf(why, cap, "column %zu header/levels differ", j);
            return 0;
        }
        for (l = 0; l < x->nlevels; l++)
            if (strcmp(x->levels[l], y->levels[l])) {
                snprintf(why, cap, "column %zu level %zu: %s vs %s", j, l, x->levels[l],
                         y->levels[l]);
                return 0;
            }
        for (i = 0; i < a->nrow; i++)
            if (!same_bits(x->v[i], y->v[i])) {
                snprintf(why, cap, "row %zu column %zu: %.17g vs %.17g", i, j, x->v[i], y->v[i]);
                return 0;
            }
    }
    return 1;
}

static void write_text(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        test_check_fail(__FILE__, __LINE__, "cannot create %s", path);
        return;
    }
    fwrite(data, 1, len, f);
    fclose(f);
}

/* ---- basic parsing ------------------------------------------------------ */

TEST(csv, basic_header_and_values)
{
    struct ml_table *t;
    struct ml_err err;

    CHECK_OK(rd("a,b,c\n1,2.5,-3\n4e2,0.125,+7\n", NULL, &t, &err), &err);
    CHECK(t->nrow == 2 && t->ncol == 3);
    CHECK(strcmp(t->col[0].name, "a") == 0 && strcmp(t->col[2].name, "c") == 0);
    CHECK(t->col[0].v[0] == 1 && t->col[1].v[0] == 2.5 && t->col[2].v[0] == -3);
    CHECK(t->col[0].v[1] == 400 && t->col[1].v[1] == 0.125 && t->col[2].v[1] == 7);
    CHECK(t->col[0].type == ML_COL_NUMERIC);
    ml_table_free(t);

    /* No final line end. */
    CHECK_OK(rd("x\n1\n2", NULL, &t, &err), &err);
    CHECK(t->nrow == 2 && t->col[0].v[1] == 2);
    ml_table_free(t);
}

TEST(csv, bom_crlf_and_cr)
{
    struct ml_table *t;
    struct ml_err err;

    CHECK_OK(rd("\xEF\xBB\xBF" "a,b\r\n1,2\r\n3,4\r\n", NULL, &t, &err), &err);
    CHECK(t->nrow == 2 && strcmp(t->col[0].name, "a") == 0, "BOM must not stick to the name");
    CHECK(t->col[1].v[1] == 4);
    ml_table_free(t);

    /* Old Mac line ends (lone CR). */
    CHECK_OK(rd("a,b\r1,2\r3,4\r", NULL, &t, &err), &err);
    CHECK(t->nrow == 2 && t->col[0].v[1] == 3);
    ml_table_free(t);

    /* CRLF line numbers count once per CRLF. */
    CHECK_FAILS("a,b\r\n1,2\r\n\r\n3,x\r\n", NULL, ML_EFORMAT,
                "t.csv: line 4, column 2 (\"b\"): cannot parse \"x\" as a number");
    CHECK_FAILS("a,b\r1,2\r\r3,x\r", NULL, ML_EFORMAT,
                "t.csv: line 4, column 2 (\"b\"): cannot parse \"x\" as a number");
}

TEST(csv, quoting_rfc4180)
{
    static const char *const cat[] = {"s"};
    struct csv_options o;
    struct ml_table *t;
    struct ml_err err;

    csv_options_default(&o);
    o.categorical = cat;
    o.ncategorical = 1;
    CHECK_OK(rd("\"n\",s\n"
                "1,\"a,b\"\n"
                "\"2\",\"line1\nline2\"\n"
                "3,\"say \"\"hi\"\"\"\n"
                "4,\"\"\n"
                "\" 5 \",plain\n",
                &o, &t, &err),
             &err);
    CHECK(t->nrow == 5 && t->ncol == 2);
    CHECK(strcmp(t->col[0].name, "n") == 0);
    CHECK(t->col[0].v[1] == 2 && t->col[0].v[4] == 5, "quoted numbers, spaces inside quotes");
    CHECK(t->col[1].nlevels == 4, "levels %zu", t->col[1].nlevels);
    CHECK(strcmp(t->col[1].levels[0], "a,b") == 0);
    CHECK(strcmp(t->col[1].levels[1], "line1\nline2") == 0);
    CHECK(strcmp(t->col[1].levels[2], "say \"hi\"") == 0);
    CHECK(isnan(t->col[1].v[3]), "quoted empty is missing");
    CHECK(strcmp(t->col[1].levels[3], "plain") == 0);
    ml_table_free(t);

    /* Line numbers after a field spanning lines: the bad record starts on line 5. */
    CHECK_FAILS("n,s\n1,\"x\ny\nz\"\nbad,q\n", &o, ML_EFORMAT,
                "t.csv: line 5, column 1 (\"n\"): cannot parse \"bad\" as a number");
    /* And a record spanning lines is reported where it starts. */
    CHECK_FAILS("n,s\n1,a\noops,\"x\ny\"\n", &o, ML_EFORMAT,
                "t.csv: line 3, column 1 (\"n\"): cannot parse \"oops\" as a number");
}

TEST(csv, delimiters)
{
    struct csv_options o;
    struct ml_table *t;
    struct ml_err err;

    csv_options_default(&o);
    o.delim = ';';
    CHECK_FAILS("a;b\n1,5;2\n", &o, ML_EFORMAT,
                "t.csv: line 2, column 1 (\"a\"): cannot parse \"1,5\" as a number");
    CHECK_FAILS("a;b\n1.5;2\n\"x;y\";3\n", &o, ML_EFORMAT,
                "t.csv: line 3, column 1 (\"a\"): cannot parse \"x;y\" as a number");
    CHECK_OK(rd("a;b\n1.5;2\n-1;3\n", &o, &t, &err), &err);
    CHECK(t->ncol == 2 && t->col[0].v[0] == 1.5 && t->col[1].v[1] == 3);
    ml_table_free(t);

    o.delim = '\t';
    CHECK_OK(rd("a\tb\n1\t2\n\t3\n", &o, &t, &err), &err);
    CHECK(t->ncol == 2 && t->col[1].v[0] == 2 && isnan(t->col[0].v[1]));
    ml_table_free(t);

    o.delim = '"';
    CHECK_FAILS("a\n1\n", &o, ML_EINVAL,
                "t.csv: delimiter 0x22 cannot be used (quote, CR, LF or NUL)");
}

TEST(csv, header_absent_naming)
{
    struct csv_options o;
    struct ml_table *t;
    struct ml_err err;

    csv_options_default(&o);
    o.header = 0;
    CHECK_OK(rd("1,2,3\n4,5,6\n", &o, &t, &err), &err);
    CHECK(t->nrow == 2 && t->ncol == 3);
    CHECK(strcmp(t->col[0].name, "target") == 0);
    CHECK(strcmp(t->col[1].name, "x1") == 0 && strcmp(t->col[2].name, "x2") == 0);
    CHECK(t->col[0].v[0] == 1 && t->col[2].v[1] == 6, "first row is data");
    ml_table_free(t);

    o.label_size = 2;
    CHECK_OK(rd("1,2,3\n", &o, &t, &err), &err);
    CHECK(strcmp(t->col[0].name, "target1") == 0 && strcmp(t->col[1].name, "target2") == 0);
    CHECK(strcmp(t->col[2].name, "x1") == 0);
    ml_table_free(t);

    o.label_size = 0;
    CHECK_OK(rd("1,2\n", &o, &t, &err), &err);
    CHECK(strcmp(t->col[0].name, "x1") == 0 && strcmp(t->col[1].name, "x2") == 0);
    ml_table_free(t);

    /* Errors in the first row name the generated column; ragged rows say "first row". */
    o.label_size = 1;
    CHECK_FAILS("1,zz\n", &o, ML_EFORMAT,
                "t.csv: line 1, column 2 (\"x1\"): cannot parse \"zz\" as a number");
    CHECK_FAILS("1,2\n3\n", &o, ML_EFORMAT, "t.csv: line 2: 1 field where the first row has 2");
    CHECK_FAILS("", &o, ML_EFORMAT, "t.csv: file is empty");
}

TEST(csv, missing_and_whitespace)
{
    struct ml_table *t;
    struct ml_err err;
    size_t i;

    CHECK_OK(rd("a,b\n,1\nNA,2\nNaN,3\nnan,4\nN/A,5\nnull,6\n\"\",7\n  8 ,\t9\t\n\" NA \",10\n",
                NULL, &t, &err),
             &err);
    CHECK(t->nrow == 9);
    for (i = 0; i < 7; i++)
        CHECK(isnan(t->col[0].v[i]), "row %zu should be missing", i);
    CHECK(t->col[0].v[7] == 8 && t->col[1].v[7] == 9, "spaces and tabs around numbers");
    CHECK(isnan(t->col[0].v[8]));
    CHECK(ml_table_missing(t, 0) == 8);
    ml_table_free(t);

    /* Other spellings are not missing values. */
    CHECK_FAILS("a\nNULL\n", NULL, ML_EFORMAT,
                "t.csv: line 2, column 1 (\"a\"): cannot parse \"NULL\" as a number");
    CHECK_FAILS("a\nna\n", NULL, ML_EFORMAT,
                "t.csv: line 2, column 1 (\"a\"): cannot parse \"na\" as a number");
}

TEST(csv, blank_lines_skipped)
{
    struct ml_table *t;
    struct ml_err err;

    CHECK_OK(rd("\n\na,b\n\n1,2\n   \n\n3,4\n\n", NULL, &t, &err), &err);
    CHECK(t->nrow == 2 && t->col[0].v[1] == 3 && strcmp(t->col[0].name, "a") == 0);
    ml_table_free(t);
    /* Physical line numbers include the blank lines. */
    CHECK_FAILS("\na,b\n\n1,2\n \n\n3,?\n", NULL, ML_EFORMAT,
                "t.csv: line 7, column 2 (\"b\"): cannot parse \"?\" as a number");
    /* A row of empty fields is a row of missing values, not a blank line. */
    CHECK_OK(rd("a,b\n,\n", NULL, &t, &err), &err);
    CHECK(t->nrow == 1 && isnan(t->col[0].v[0]) && isnan(t->col[1].v[0]));
    ml_table_free(t);
}

TEST(csv, categorical_levels)
{
    static const char *const cat[] = {"grade", "line"};
    struct csv_options o;
    struct ml_table *t;
    struct ml_err err;

    csv_options_default(&o);
    o.categorical = cat;
    o.ncategorical = 2;
    CHECK_OK(rd("line,x,grade\nL2,1,B\nL1,2,A\nL2,3,NA\nL3,4,B\n", &o, &t, &err), &err);
    CHECK(t->col[0].type == ML_COL_CATEGORICAL && t->col[1].type == ML_COL_NUMERIC);
    CHECK(t->col[2].type == ML_COL_CATEGORICAL);
    CHECK(t->col[0].nlevels == 3 && strcmp(t->col[0].levels[0], "L2") == 0 &&
          strcmp(t->col[0].levels[2], "L3") == 0, "levels in order of first appearance");
    CHECK(t->col[0].v[0] == 0 && t->col[0].v[1] == 1 && t->col[0].v[2] == 0 &&
          t->col[0].v[3] == 2);
    CHECK(t->col[2].nlevels == 2 && t->col[2].v[3] == 0 && isnan(t->col[2].v[2]));
    ml_table_free(t);

    /* Numbers in a categorical column are levels too. */
    CHECK_OK(rd("line,x,grade\n7,1,1.0\n", &o, &t, &err), &err);
    CHECK(strcmp(t->col[0].levels[0], "7") == 0 && strcmp(t->col[2].levels[0], "1.0") == 0);
    ml_table_free(t);

    CHECK_FAILS("line,x\nL1,1\n", &o, ML_EINVAL,
                "t.csv: categorical column \"grade\" is not in the header");
}

/* ---- every error ----------------------------------------------------------- */

TEST(csv, errors_messages)
{
    struct csv_options o;

    CHECK_FAILS("a,b,temp\n1,2,3\n4,5,abc\n", NULL, ML_EFORMAT,
                "t.csv: line 3, column 3 (\"temp\"): cannot parse \"abc\" as a number");
    CHECK_FAILS("a,b,c\n1,2,3\n4,5\n", NULL, ML_EFORMAT,
                "t.csv: line 3: 2 fields where the header has 3");
    CHECK_FAILS("a,b\n1,2\n3,4,5,6\n", NULL, ML_EFORMAT,
                "t.csv: line 3: 4 fields where the header has 2");
    CHECK_FAILS("a,b\n1,2,\n", NULL, ML_EFORMAT, "t.csv: line 2: 3 fields where the header has 2");
    CHECK_FAILS("a,b,c\n", NULL, ML_EFORMAT, "t.csv: has a header but no data rows");
    CHECK_FAILS("a,b,c\n\n\n", NULL, ML_EFORMAT, "t.csv: has a header but no data rows");
    CHECK_FAILS("", NULL, ML_EFORMAT, "t.csv: file is empty");
    CHECK_FAILS("\xEF\xBB\xBF\n \n\r\n", NULL, ML_EFORMAT, "t.csv: file is empty");
    CHECK_FAILS("a,b,a\n1,2,3\n", NULL, ML_EFORMAT,
                "t.csv: line 1: duplicate column name \"a\" (columns 1 and 3)");
    CHECK_FAILS("a,,c\n1,2,3\n", NULL, ML_EFORMAT, "t.csv: line 1: column 2 has an empty name");
    CHECK_FAILS("a\n\"x\"y\"\n", NULL, ML_EFORMAT,
                "t.csv: line 2, column 1: misplaced quote: a field with a quote must be quoted "
                "as a whole, with inner quotes doubled (libcsv: error parsing data while strict "
                "checking enabled)");
    CHECK_FAILS("a,b\n1,x\"y\n", NULL, ML_EFORMAT,
                "t.csv: line 2, column 2: misplaced quote: a field with a quote must be quoted "
                "as a whole, with inner quotes doubled (libcsv: error parsing data while strict "
                "checking enabled)");
    CHECK_FAILS("a,b\n1,2\n3,\"open\n4,5\n", NULL, ML_EFORMAT,
                "t.csv: line 3, column 2: quoted field is not closed before the end of the file "
                "(libcsv: error parsing data while strict checking enabled)");
    /* Non-finite and non-decimal spellings. */
    CHECK_FAILS("a\ninf\n", NULL, ML_EFORMAT,
                "t.csv: line 2, column 1 (\"a\"): cannot parse \"inf\" as a number");
    CHECK_FAILS("a\n-Infinity\n", NULL, ML_EFORMAT,
                "t.csv: line 2, column 1 (\"a\"): cannot parse \"-Infinity\" as a number");
    CHECK_FAILS("a\n1e400\n", NULL, ML_EFORMAT,
                "t.csv: line 2, column 1 (\"a\"): cannot parse \"1e400\" as a number");
    CHECK_FAILS("a\n0x1A\n", NULL, ML_EFORMAT,
                "t.csv: line 2, column 1 (\"a\"): cannot parse \"0x1A\" as a number");
    /* Control bytes and quotes in the value are escaped in the message. */
    CHECK_FAILS("a\n\"q\"\"\t\"\n", NULL, ML_EFORMAT,
                "t.csv: line 2, column 1 (\"a\"): cannot parse \"q\\\"\\t\" as a number");

    /* Limits. */
    csv_options_default(&o);
    o.max_field = 8;
    CHECK_FAILS("a,b\n1,123456789\n", &o, ML_ELIMIT,
                "t.csv: line 2, column 2 (\"b\"): field longer than max_field = 8 bytes");
    CHECK_FAILS("a,abcdefghij\n1,2\n", &o, ML_ELIMIT,
                "t.csv: line 1, column 2: field longer than max_field = 8 bytes");
    csv_options_default(&o);
    o.max_cols = 3;
    CHECK_FAILS("a,b,c,d\n1,2,3,4\n", &o, ML_ELIMIT, "t.csv: line 1: more than 3 columns (max_cols)");
    o.max_cols = 0;
    CHECK_FAILS("a\n1\n", &o, ML_EINVAL, "t.csv: max_field and max_cols must be positive");
}

TEST(csv, nul_bytes)
{
    static const char *const cat[] = {"c"};
    struct csv_options o;
    struct ml_table *t = NULL;
    struct ml_err err;

    csv_options_default(&o);
    o.categorical = cat;
    o.ncategorical = 1;
    CHECK(csv_read_mem("c\na\0b\n", 6, "t.csv", &o, &t, &err) == ML_EFORMAT);
    CHECK(strcmp(err.msg, "t.csv: line 2, column 1 (\"c\"): level \"a\\x00b\" contains a NUL byte")
              == 0, "got %s", err.msg);
    CHECK(csv_read_mem("c,d\0e\n1,2\n", 10, "t.csv", &o, &t, &err) == ML_EFORMAT);
    CHECK(strcmp(err.msg, "t.csv: line 1, column 2: name \"d\\x00e\" contains a NUL byte") == 0,
          "got %s", err.msg);
    CHECK(t == NULL);
}

TEST(csv, long_field_across_slices)
{
    /* A 3 MiB quoted field is cut off at max_field + one 1 MiB slice, not read whole. */
    size_t n = 3u << 20, i;
    char *buf = malloc(n + 16);
    struct csv_options o;
    struct ml_table *t = NULL;
    struct ml_err err;

    memcpy(buf, "a\n\"", 3);
    for (i = 3; i < n; i++)
        buf[i] = 'x';
    csv_options_default(&o);
    CHECK(csv_read_mem(buf, n, "big.csv", &o, &t, &err) == ML_ELIMIT);
    CHECK(strcmp(err.msg,
                 "big.csv: line 2, column 1 (\"a\"): field longer than max_field = 1048576 bytes")
              == 0, "got %s", err.msg);
    free(buf);
}

/* ---- files: plain, gzip, FIFO-free path, info ------------------------------ */

TEST(csv, read_file_plain_and_gzip)
{
    const char *dir = test_tmpdir();
    const char *text = "temp,flow\n1.5,2\n3,4.25\n";
    char p[600], gzp[600];
    struct ml_table *t, *t2;
    struct csv_file_info info, info2;
    struct ml_err err;
    char why[200];
    gzFile g;

    snprintf(p, sizeof p, "%s/plain.csv", dir);
    write_text(p, text, strlen(text));
    CHECK_OK(csv_read_file(p, NULL, &t, &info, &err), &err);
    CHECK(t->nrow == 2 && info.rows == 2 && info.bytes == strlen(text));
    CHECK(strlen(info.sha256) == 64 && info.seconds >= 0);

    snprintf(gzp, sizeof gzp, "%s/plain.csv.gz", dir);
    g = gzopen(gzp, "wb");
    gzwrite(g, text, (unsigned)strlen(text));
    gzclose(g);
    CHECK_OK(csv_read_file(gzp, NULL, &t2, &info2, &err), &err);
    CHECK(tables_equal(t, t2, why, sizeof why), "%s", why);
    CHECK(strcmp(info.sha256, info2.sha256) != 0, "digest is of the stored (compressed) bytes");
    ml_table_free(t);
    ml_table_free(t2);

    /* Errors name the path. */
    snprintf(p, sizeof p, "%s/bad.csv", dir);
    write_text(p, "a\n1\nx\n", 6);
    CHECK(csv_read_file(p, NULL, &t, NULL, &err) == ML_EFORMAT);
    CHECK(strncmp(err.msg, p, strlen(p)) == 0 && strstr(err.msg, ": line 3, column 1"),
          "got %s", err.msg);
    snprintf(p, sizeof p, "%s/missing.csv", dir);
    CHECK(csv_read_file(p, NULL, &t, NULL, &err) == ML_EIO);
    CHECK(strstr(err.msg, strerror(ENOENT)) != NULL, "got %s", err.msg);

    /* A truncated gzip surfaces as ML_EFORMAT naming the file. */
    g = gzopen(gzp, "wb");
    for (int i = 0; i < 5000; i++)
        gzprintf(g, "%d,%d\n", i, i * 7);
    gzclose(g);
    {
        struct stat sb;
        stat(gzp, &sb);
        CHECK(truncate(gzp, sb.st_size / 2) == 0);
    }
    CHECK(csv_read_file(gzp, NULL, &t, NULL, &err) == ML_EFORMAT);
    CHECK(strncmp(err.msg, gzp, strlen(gzp)) == 0 && strstr(err.msg, "truncated gzip stream"),
          "got %s", err.msg);
}

TEST(csv, write_read_round_trip)
{
    static const char *const cat[] = {"mode"};
    const char *dir = test_tmpdir();
    char p[600], why[200];
    struct csv_options o;
    struct ml_table *t, *t2;
    struct ml_err err;

    csv_options_default(&o);
    o.categorical = cat;
    o.ncategorical = 1;
    CHECK_OK(rd("x,mode,y\n0.1,\"a,b\",1e-310\n,\"q\"\"\",-0\n3.141592653589793,a,\n", &o, &t, &err),
             &err);
    snprintf(p, sizeof p, "%s/rt.csv", dir);
    CHECK_OK(csv_write_file(p, t, ',', &err), &err);
    CHECK_OK(csv_read_file(p, &o, &t2, NULL, &err), &err);
    CHECK(tables_equal(t, t2, why, sizeof why), "%s", why);
    ml_table_free(t);
    ml_table_free(t2);
}

/* ---- the number parser against strtod ------------------------------------- */

static void check_number(const char *s)
{
    double mine = 0, ref;
    char *end;
    int ok = csv_parse_double(s, strlen(s), &mine);

    errno = 0;
    ref = strtod(s, &end);
    if (*end != '\0' || end == s) {
        test_check_fail(__FILE__, __LINE__, "test bug: strtod does not take \"%s\"", s);
        return;
    }
    if (!isfinite(ref)) {
        CHECK(!ok, "\"%s\" overflows and must be rejected, got %.17g", s, mine);
        return;
    }
    CHECK(ok, "\"%s\" rejected", s);
    CHECK(same_bits(mine, ref), "\"%s\": %a, strtod %a", s, mine, ref);
}

TEST(csv, number_edge_cases)
{
    static const char *const good[] = {
        "0", "-0", "+0", "0.0", "-0.0", "00012", "1.", ".5", "-.5", "+1", "1e0", "1E+2",
        "1e-2", "123.456789", "-0.00123", "9007199254740992", "9007199254740993",
        "9007199254740994", "9007199254740995", "18014398509481985",
        "1234567890123456789", "12345678901234567890", "123456789012345678901234567890",
        "0.1", "0.2", "0.3", "1e22", "1e23", "1e-22", "1e-23", "8.98846567431158e307",
        "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308",
        "2.2250738585072011e-308", "2.2250738585072014e-308", "4.9406564584124654e-324",
        "4.9e-324", "2.4703282292062327e-324", "2.4703282292062328e-324", "1e-400", "-1e-400",
        "1e400", "-1e400", "1e99999999999999999999", "0e99999999999999999999",
        "0.000000000000000000000000000000000000001", "3.14159265358979323846264338327950288",
        "100000000000000000000000000000000000000000000000000000000000",
        "7.2057594037927933e16", "4503599627370496.5", "4503599627370497.5",
        "0.30000000000000004", "2.5", "-2.5e-3", "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203124",
        "1.00000000000000011102230246251565404236316680908203126",
        "5e-324", "1e-320", "123456789e-330", "0.0000001", "9999999999999999999",
        "99999999999999999999e-20", "1.5e308", "17976931348623157e292",
    };
    static const char *const bad[] = {
        "", "+", "-", ".", "-.", "e5", "1e", "1e+", "1e-", "inf", "-inf", "Infinity", "nan",
        "NaN", "0x1p3", "0x10", " 1", "1 ", "1.2.3", "1,5", "--1", "+-1", "1e5.5", "1ee5",
        "1..2", "1d5", "1f", "١", "1_000",
    };
    size_t i;
    double v;

    for (i = 0; i < sizeof good / sizeof *good; i++)
        check_number(good[i]);
    for (i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(!csv_parse_double(bad[i], strlen(bad[i]), &v), "\"%s\" must be rejected", bad[i]);
    /* Length-bounded: the byte after len is not looked at. */
    CHECK(csv_parse_double("12x", 2, &v) && v == 12);
    CHECK(csv_parse_double("1e5", 1, &v) && v == 1);
}

TEST(csv, number_random_vs_strtod)
{
    struct ml_rng r;
    char s[128];
    int n, i;
    union {
        uint64_t u;
        double d;
    } bits;

    ml_rng_seed(&r, 20260101, 7);
    /* Random literals: 1..40 digits, random point, random exponent. */
    for (n = 0; n < 200000; n++) {
        size_t k = 0;
        int nd = 1 + (int)ml_rng_below(&r, n % 4 == 0 ? 40 : 20);
        int pt = (int)ml_rng_below(&r, (uint64_t)nd + 2) - 1;
        if (ml_rng_below(&r, 3) == 0)
            s[k++] = ml_rng_below(&r, 2) ? '-' : '+';
        for (i = 0; i < nd; i++) {
            if (i == pt)
                s[k++] = '.';
            s[k++] = (char)('0' + ml_rng_below(&r, 10));
        }
        if (pt == nd)
            s[k++] = '.';
        if (ml_rng_below(&r, 2)) {
            int e = (int)ml_rng_below(&r, 700) - 350;
            k += (size_t)snprintf(s + k, sizeof s - k, "e%d", e);
        }
        s[k] = '\0';
        check_number(s);
    }
    /* Random doubles (all exponents, subnormals included) printed at every
     * precision: the shortest forms that must round-trip and the ones that must not. */
    for (n = 0; n < 100000; n++) {
        bits.u = ml_rng_u64(&r);
        if (!isfinite(bits.d))
            continue;
        snprintf(s, sizeof s, "%.17g", bits.d);
        check_number(s);
        snprintf(s, sizeof s, "%.*e", (int)ml_rng_below(&r, 17), bits.d);
        check_number(s);
        if (bits.d != 0) {   /* and fixed notation for magnitudes up to 2^60 */
            double x = ldexp(bits.d, -ilogb(bits.d) + (int)ml_rng_below(&r, 60));
            snprintf(s, sizeof s, "%.*f", (int)ml_rng_below(&r, 12), x);
            check_number(s);
        }
    }
}

/* ---- multi-threaded == single-threaded -------------------------------------- */

/* A plant-like file: numbers of varied shape, a categorical column, missing
 * values, blank lines and CRLF here and there; `bad_row` >= 0 plants a bad cell. */
static char *make_file(size_t rows, long bad_row, size_t *len)
{
    struct ml_rng r;
    size_t cap = rows * 120 + 100, k = 0, i;
    char *b = malloc(cap);

    ml_rng_seed(&r, 99, 1);
    k += (size_t)snprintf(b + k, cap - k, "temp,line,flow,pressure\n");
    for (i = 0; i < rows; i++) {
        double x = (ml_rng_uniform(&r) - 0.3) * 1000;
        const char *lines[] = {"L1", "L2", "L3", "NA", "L4"};
        const char *line = lines[ml_rng_below(&r, i < rows / 2 ? 3 : 5)];
        if ((long)i == bad_row) {
            k += (size_t)snprintf(b + k, cap - k, "%.3f,%s,12.x,1\n", x, line);
            continue;
        }
        switch (ml_rng_below(&r, 50)) {
        case 0:
            k += (size_t)snprintf(b + k, cap - k, "\n");   /* blank line */
            break;
        case 1:
            k += (size_t)snprintf(b + k, cap - k, "NA,%s,,-0\r\n", line);
            continue;
        default:
            break;
        }
        k += (size_t)snprintf(b + k, cap - k, "%.*f,%s,%.17g,%.6fe%d\n", (int)(i % 7), x, line,
                              ml_rng_normal(&r), ml_rng_uniform(&r), (int)ml_rng_below(&r, 9) - 4);
    }
    *len = k;
    return b;
}

TEST(csv, threads_match_single)
{
    static const char *const cat[] = {"line"};
    size_t len, threads;
    char *buf = make_file(20000, -1, &len);
    struct csv_options o;
    struct ml_table *t1 = NULL, *tn = NULL;
    struct ml_err err;
    char why[256];

    csv_options_default(&o);
    o.categorical = cat;
    o.ncategorical = 1;
    CHECK_OK(csv_read_mem_chunked(buf, len, "g.csv", &o, 1, &t1, &err), &err);
    CHECK(t1 && t1->nrow == 20000, "rows %zu", t1 ? t1->nrow : 0);
    for (threads = 2; threads <= 5; threads++) {
        size_t chunk;
        for (chunk = 1; chunk <= 65536; chunk *= 16) {
            o.threads = (int)threads;
            CHECK_OK(csv_read_mem_chunked(buf, len, "g.csv", &o, chunk, &tn, &err), &err);
            if (t1 && tn)
                CHECK(tables_equal(t1, tn, why, sizeof why), "threads %zu chunk %zu: %s",
                      threads, chunk, why);
            ml_table_free(tn);
            tn = NULL;
        }
    }
    ml_table_free(t1);
    free(buf);
}

TEST(csv, threads_same_error)
{
    size_t len, threads;
    char *buf = make_file(20000, 17345, &len);
    static const char *const cat[] = {"line"};
    struct csv_options o;
    struct ml_table *t = NULL;
    struct ml_err e1, en;
    enum ml_status s1, sn;

    csv_options_default(&o);
    o.categorical = cat;
    o.ncategorical = 1;
    s1 = csv_read_mem_chunked(buf, len, "g.csv", &o, 1, &t, &e1);
    CHECK(s1 == ML_EFORMAT && t == NULL);
    CHECK(strstr(e1.msg, "column 3 (\"flow\"): cannot parse \"12.x\" as a number") != NULL,
          "got %s", e1.msg);
    for (threads = 2; threads <= 4; threads++) {
        o.threads = (int)threads;
        sn = csv_read_mem_chunked(buf, len, "g.csv", &o, 4096, &t, &en);
        CHECK(sn == s1 && strcmp(en.msg, e1.msg) == 0, "threads %zu:\n  %s\n  %s", threads,
              en.msg, e1.msg);
        CHECK(t == NULL);
    }
    /* The same through csv_read_file (mapped file, real chunk size). */
    {
        const char *dir = test_tmpdir();
        char p[600];
        size_t big_len;
        char *big = make_file(60000, 59000, &big_len);
        CHECK(big_len > 2 * CSV_MT_MIN_CHUNK, "file too small for the threaded path");
        snprintf(p, sizeof p, "%s/g.csv", dir);
        write_text(p, big, big_len);
        o.threads = 1;
        s1 = csv_read_file(p, &o, &t, NULL, &e1);
        o.threads = 2;
        sn = csv_read_file(p, &o, &t, NULL, &en);
        CHECK(s1 == ML_EFORMAT && sn == s1 && strcmp(en.msg, e1.msg) == 0, "\n  %s\n  %s",
              en.msg, e1.msg);
        free(big);
    }
    free(buf);
}

TEST(csv, threads_read_file_and_digest)
{
    static const char *const cat[] = {"line"};
    const char *dir = test_tmpdir();
    char p[600], why[256];
    size_t len;
    char *buf = make_file(60000, -1, &len);
    struct csv_options o;
    struct ml_table *t1, *t2;
    struct csv_file_info i1, i2;
    struct ml_err err;

    snprintf(p, sizeof p, "%s/g.csv", dir);
    write_text(p, buf, len);
    csv_options_default(&o);
    o.categorical = cat;
    o.ncategorical = 1;
    CHECK_OK(csv_read_file(p, &o, &t1, &i1, &err), &err);
    o.threads = 2;
    CHECK_OK(csv_read_file(p, &o, &t2, &i2, &err), &err);
    CHECK(tables_equal(t1, t2, why, sizeof why), "%s", why);
    CHECK(strcmp(i1.sha256, i2.sha256) == 0 && i1.bytes == i2.bytes && i2.bytes == len);
    CHECK(i1.rows == 60000 && i2.rows == 60000);
    ml_table_free(t1);
    ml_table_free(t2);
    free(buf);
}

TEST(csv, threads_quote_falls_back)
{
    /* One quote anywhere: same result through the single-threaded path. */
    static const char *const cat[] = {"line"};
    size_t len;
    char *buf = make_file(5000, -1, &len);
    struct csv_options o;
    struct ml_table *t1, *t2;
    struct ml_err err;
    char why[256];

    memmove(buf + 6, buf + 4, len - 4);   /* header temp,line -> "temp",line */
    memcpy(buf, "\"temp\"", 6);
    len += 2;
    csv_options_default(&o);
    o.categorical = cat;
    o.ncategorical = 1;
    o.threads = 1;
    CHECK_OK(csv_read_mem_chunked(buf, len, "q.csv", &o, 1, &t1, &err), &err);
    o.threads = 3;
    CHECK_OK(csv_read_mem_chunked(buf, len, "q.csv", &o, 1, &t2, &err), &err);
    if (!t1 || !t2) {
        ml_table_free(t1);
        ml_table_free(t2);
        free(buf);
        return;
    }
    CHECK(tables_equal(t1, t2, why, sizeof why), "%s", why);
    CHECK(strcmp(t2->col[0].name, "temp") == 0);
    ml_table_free(t1);
    ml_table_free(t2);
    free(buf);
}

TEST(csv, threads_small_inputs)
{
    /* Inputs where the threaded path has little or nothing to split (found by
     * fuzz_csv: CR-only line ends and no final line end lost the last record). */
    static const char *const texts[] = {
        "a,b\r1,2\r3,4",   "a,b\r1,2\r\xa3\xa3" "720", "a,b\n1,2\n3,4", "a,b\n1,2",
        "a,b\n",           "a,b",                       "\n\n",         "a,b\r\n1,2\r\n3,4\r\n\r\n",
        "a\n1\n\n\n2\n3\n\n",
    };
    size_t k, chunk;
    struct csv_options o;

    csv_options_default(&o);
    for (k = 0; k < sizeof texts / sizeof *texts; k++) {
        for (chunk = 1; chunk <= 4; chunk++) {
            struct ml_table *t1 = NULL, *t2 = NULL;
            struct ml_err e1, e2;
            enum ml_status s1, s2;
            char why[256] = "";
            ml_err_clear(&e1);
            ml_err_clear(&e2);
            o.threads = 1;
            s1 = csv_read_mem_chunked(texts[k], strlen(texts[k]), "s.csv", &o, chunk, &t1, &e1);
            o.threads = 3;
            s2 = csv_read_mem_chunked(texts[k], strlen(texts[k]), "s.csv", &o, chunk, &t2, &e2);
            CHECK(s1 == s2 && strcmp(e1.msg, e2.msg) == 0, "text %zu chunk %zu: %s | %s", k,
                  chunk, e1.msg, e2.msg);
            if (t1 && t2)
                CHECK(tables_equal(t1, t2, why, sizeof why), "text %zu chunk %zu: %s", k, chunk,
                      why);
            ml_table_free(t1);
            ml_table_free(t2);
        }
    }
}

struct slow_writer {
    const char *path;
    const char *data;
};

/* Writes one byte at a time, so the reader sees the BOM arrive in pieces. */
static void *slow_write(void *arg)
{
    struct slow_writer *w = arg;
    int fd = open(w->path, O_WRONLY);
    size_t i, n = strlen(w->data);

    if (fd < 0)
        return NULL;
    for (i = 0; i < n; i++) {
        if (write(fd, w->data + i, 1) != 1)
            break;
        if (i < 6)
            usleep(2000);
    }
    close(fd);
    return NULL;
}

TEST(csv, read_fifo_bom_in_pieces)
{
    const char *dir = test_tmpdir();
    char p[600];
    struct slow_writer w;
    struct csv_options o;
    struct ml_table *t = NULL;
    struct csv_file_info info;
    struct ml_err err;
    pthread_t th;

    snprintf(p, sizeof p, "%s/pipe.csv", dir);
    CHECK(mkfifo(p, 0600) == 0, "mkfifo: %s", strerror(errno));
    w.path = p;
    w.data = "\xEF\xBB\xBFtemp,flow\n1.5,2\n3,4\n";
    csv_options_default(&o);
    o.threads = 4;   /* a FIFO is read by one thread whatever this says */
    pthread_create(&th, NULL, slow_write, &w);
    CHECK_OK(csv_read_file(p, &o, &t, &info, &err), &err);
    pthread_join(th, NULL);
    if (!t)
        return;
    CHECK(t->nrow == 2 && strcmp(t->col[0].name, "temp") == 0, "name %s", t->col[0].name);
    CHECK(t->col[1].v[1] == 4);
    CHECK(info.bytes == strlen(w.data) && info.rows == 2);
    ml_table_free(t);
}
