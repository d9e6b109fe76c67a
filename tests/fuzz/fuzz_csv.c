/* fuzz_csv.c: libFuzzer target for the CSV reader (io/csv).
 *
 * Input layout: byte 0 picks the options, byte 1 the threaded split, the rest
 * is the CSV text.
 *   byte 0: bits 0-1 delimiter (, ; TAB |), bit 2 header, bit 3 categorical
 *           column on ("c" with a header, "x1" without), bit 4 max_field = 16,
 *           bits 5-6 label_size (0..3), bit 7 max_cols = 4.
 *   byte 1: threads = 2 + (b >> 6) % 3, min_chunk = 1 + (b & 63) bytes.
 * Besides crashes, leaks and UB (ASan/UBSan), two differential checks abort:
 *   - the threaded parse must equal the single-threaded one: same status and
 *     message, or tables equal bit for bit (names, types, levels, values);
 *   - csv_parse_double on the text must agree with strtod: accepted literals
 *     are bit-identical to strtod's result, and a plain decimal literal that
 *     strtod takes whole with a finite result is not rejected.
 * Corpus: tests/fuzz/corpus/fuzz_csv/. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv/csv_impl.h"
#include "csv/csv_read.h"
#include "ml_table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *a, const char *b)
{
    fprintf(stderr, "fuzz_csv: %s\n  %s\n  %s\n", what, a ? a : "", b ? b : "");
    abort();
}

static void same_tables(const struct ml_table *a, const struct ml_table *b)
{
    size_t j, i, l;

    if (a->nrow != b->nrow || a->ncol != b->ncol)
        die("threaded table has another shape", NULL, NULL);
    for (j = 0; j < a->ncol; j++) {
        const struct ml_column *x = &a->col[j], *y = &b->col[j];
        if (strcmp(x->name, y->name) || x->type != y->type || x->nlevels != y->nlevels)
            die("threaded table: column differs", x->name, y->name);
        for (l = 0; l < x->nlevels; l++)
            if (strcmp(x->levels[l], y->levels[l]))
                die("threaded table: level differs", x->levels[l], y->levels[l]);
        if (a->nrow && memcmp(x->v, y->v, a->nrow * sizeof(double)) != 0)
            for (i = 0; i < a->nrow; i++)
                if (memcmp(&x->v[i], &y->v[i], sizeof(double)) != 0)
                    die("threaded table: value differs", x->name, NULL);
    }
}

static void check_number(const char *s, size_t n)
{
    char buf[80], *end;
    double mine = 0, ref;
    int ok;
    size_t i;

    if (n >= sizeof buf)
        n = sizeof buf - 1;
    ok = csv_parse_double(s, n, &mine);
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (memchr(buf, '\0', n))
        return;   /* strtod would stop at the NUL */
    ref = strtod(buf, &end);
    if (ok) {
        if (end != buf + n || memcmp(&mine, &ref, sizeof ref) != 0)
            die("csv_parse_double disagrees with strtod", buf, NULL);
        return;
    }
    /* Rejected: fine for inf/nan/hex/space spellings and overflow; wrong for
     * a plain decimal literal that strtod takes whole and finite. */
    if (end != buf + n || n == 0 || !isfinite(ref))
        return;
    for (i = 0; i < n; i++)
        if (!strchr("0123456789.eE+-", buf[i]))
            return;
    die("csv_parse_double rejected a literal strtod accepts", buf, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char delims[4] = {',', ';', '\t', '|'};
    static const char *const cat_h[] = {"c"};
    static const char *const cat_n[] = {"x1"};
    struct csv_options o;
    struct ml_table *t1 = NULL, *t2 = NULL;
    struct ml_err e1, e2;
    enum ml_status s1, s2;
    const char *text;
    size_t len;

    if (size < 2)
        return 0;
    text = (const char *)data + 2;
    len = size - 2;
    check_number(text, len);

    csv_options_default(&o);
    o.delim = delims[data[0] & 3];
    o.header = (data[0] >> 2) & 1;
    if ((data[0] >> 3) & 1) {
        o.categorical = o.header ? cat_h : cat_n;
        o.ncategorical = 1;
    }
    if ((data[0] >> 4) & 1)
        o.max_field = 16;
    o.label_size = (size_t)((data[0] >> 5) & 3);
    if ((data[0] >> 7) & 1)
        o.max_cols = 4;

    ml_err_clear(&e1);
    ml_err_clear(&e2);
    o.threads = 1;
    s1 = csv_read_mem(text, len, "fuzz.csv", &o, &t1, &e1);
    o.threads = 2 + (data[1] >> 6) % 3;
    s2 = csv_read_mem_chunked(text, len, "fuzz.csv", &o, 1 + (data[1] & 63), &t2, &e2);
    if (s1 != s2)
        die("threaded status differs", e1.msg, e2.msg);
    if (s1 != ML_OK && strcmp(e1.msg, e2.msg) != 0)
        die("threaded error message differs", e1.msg, e2.msg);
    if (s1 == ML_OK)
        same_tables(t1, t2);
    if ((s1 == ML_OK) != (t1 != NULL) || (s2 == ML_OK) != (t2 != NULL))
        die("table returned with an error, or none on success", e1.msg, e2.msg);
    ml_table_free(t1);
    ml_table_free(t2);
    return 0;
}
