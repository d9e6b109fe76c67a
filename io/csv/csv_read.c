/* csv_read.c: CSV -> struct ml_table through libcsv (see csv_read.h).
 *
 * Entry points: csv_options_default, csv_read_file, csv_read_mem and the
 * test hook csv_read_mem_chunked (csv_impl.h).  Numbers: csv_number.c.
 *
 * libcsv (3.0.x) runs a per-byte state machine and calls on_field once per
 * field and on_record once per record.  on_field is the hot path: it parses
 * the number in place and stores it straight into the column array, which
 * grows geometrically (ml_table_reserve), so nothing is allocated per field.
 * A libcsv callback cannot stop the parser, so the first error is recorded in
 * `struct rd` and every later callback returns at once; the feeding loop
 * checks after each csv_parse call (at most RD_SLICE bytes later).
 *
 * Parser options: CSV_STRICT and CSV_STRICT_FINI make a stray quote or an
 * unclosed quoted field an error instead of silently swallowing the rest of
 * the file into one field; CSV_REPALL_NL makes libcsv report every line end,
 * blank lines included, which is how we count physical lines without seeing
 * byte positions.  Blank (and space-only) lines are then skipped.  libcsv
 * trims spaces and tabs around unquoted fields; numbers are also trimmed
 * inside quotes.  Missing values: "", "NA", "NaN", "nan", "N/A", "null".
 *
 * Line numbers: `line` counts LF, CRLF and lone CR line ends (record ends
 * reported by libcsv plus line breaks inside quoted fields); messages give
 * the line where the offending record starts.
 *
 * Threads (options->threads > 1): a regular, uncompressed file is mapped
 * (source_map); if it holds no '"' byte at all, no line break can be inside
 * a field, so every LF ends a record and the data can be cut after any LF.
 * The first record (the header) is parsed first; the rest is cut into up to
 * 8 chunks per thread.  Round 1 counts record ends per chunk, an upper bound
 * on its rows, which fixes where its rows go in the final table; round 2
 * parses each chunk with its own csv_parser straight into its slice of the
 * final columns (categorical levels kept per chunk).  Chunks are handed out
 * from an atomic counter, with the SHA-256 of the file as one more task, so
 * the hash and uneven chunks balance over the threads.  Afterwards the gaps
 * that blank lines left are closed and level codes remapped by name in chunk
 * order (so levels keep their order of first appearance).  Each chunk counts
 * lines from 1; chunk k's line numbers are offset by the lines of chunks
 * 0..k-1 and the first error in file order wins, so values, row order and
 * messages equal the single-threaded ones.  With a quote anywhere we fall
 * back to one thread: a quoted field may hold a LF, and finding the record
 * boundaries would need a sequential scan of the quote state, which is most
 * of the parsing work. */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <csv.h>

#include "csv_impl.h"
#include "csv_read.h"
#include "source/source.h"

/* Bytes handed to csv_parse per call, and the read size for streams. */
#define RD_SLICE ((size_t)1 << 20)
/* Bytes of a cell value or column name quoted in an error message. */
#define RD_SHOW 60
/* More parser threads than this only adds thread start-up and join costs. */
#define RD_MAX_THREADS 64

struct rd {
    /* Hot: read for every field. */
    struct ml_column *col;        /* t->col once the first record is known, else NULL */
    size_t field;                 /* index of the next field in the current record */
    size_t nrow;                  /* complete data rows stored */
    size_t cap;                   /* rows reserved in every column */
    size_t ncol;
    size_t max_field;
    uint64_t line;                /* physical line at the parse position, from 1 */
    uint64_t row_line;            /* physical line where the current record starts */
    int slow;                     /* quotes || stop || head: on_field_slow handles fields */
    int quotes;                   /* a '"' was fed: fields may hold line breaks */
    int stop;                     /* an error is recorded: ignore later callbacks */
    int head;                     /* 1 while the first record is read */
    int last_cr;                  /* the last record end was a CR: a lone LF next is CRLF */
    int slice;                    /* t's columns alias a slice of another table (threads) */

    /* Cold. */
    const struct csv_options *o;
    struct ml_table *t;           /* owned until rd_take */
    char *hbuf;                   /* first record's fields, each NUL-terminated; owned */
    size_t hlen, hcap;
    size_t *hoff;                 /* start of field i in hbuf; owned */
    size_t *hsize;                /* length of field i (may hold NUL bytes); owned */
    size_t hn, hncap;
    enum ml_status code;          /* first error */
    uint64_t err_line;            /* its line (0: the message names none) */
    char msg[ML_ERR_MSG_MAX];     /* text after "<file>: line N" or "<file>: " */
};

static void rd_fail(struct rd *r, enum ml_status code, uint64_t line, const char *fmt, ...)
    ML_ATTR_FORMAT(4, 5);

static void rd_fail(struct rd *r, enum ml_status code, uint64_t line, const char *fmt, ...)
{
    va_list ap;

    if (r->stop)
        return;
    r->stop = 1;
    r->slow = 1;
    r->code = code;
    r->err_line = line;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
}

/* Turn the recorded error into *err; `base` is added to its line number. */
static enum ml_status rd_report(const struct rd *r, const char *name, uint64_t base,
                                struct ml_err *err)
{
    if (r->err_line)
        ML_FAIL(err, r->code, "%s: line %llu%s", name,
                (unsigned long long)(r->err_line + base), r->msg);
    ML_FAIL(err, r->code, "%s: %s", name, r->msg);
}

/* Printable excerpt of s for a message: at most RD_SHOW bytes, quotes,
 * backslashes and control bytes escaped, "..." when cut. */
static const char *show(char *out, size_t cap, const char *s, size_t len)
{
    size_t i, k = 0;

    for (i = 0; i < len && i < RD_SHOW && k + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[k++] = '\\';
            out[k++] = (char)c;
        } else if (c == '\n') {
            out[k++] = '\\';
            out[k++] = 'n';
        } else if (c == '\r') {
            out[k++] = '\\';
            out[k++] = 'r';
        } else if (c == '\t') {
            out[k++] = '\\';
            out[k++] = 't';
        } else if (c < 0x20 || c == 0x7f) {
            k += (size_t)snprintf(out + k, cap - k, "\\x%02x", c);
        } else {
            out[k++] = (char)c;   /* ASCII, or UTF-8 bytes of a non-ASCII name */
        }
    }
    if (i < len && k + 4 <= cap) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
    return out;
}

/* "column 3" or "column 3 (\"temp\")" once names are known. */
static const char *col_label(char *out, size_t cap, const struct rd *r, size_t j)
{
    char nm[RD_SHOW * 4 + 8];

    if (r->t && j < r->ncol) {
        const char *n = r->t->col[j].name;
        snprintf(out, cap, "column %zu (\"%s\")", j + 1, show(nm, sizeof nm, n, strlen(n)));
    } else {
        snprintf(out, cap, "column %zu", j + 1);
    }
    return out;
}

static void fail_long_field(struct rd *r, uint64_t line, size_t j)
{
    char lab[RD_SHOW * 4 + 40];

    rd_fail(r, ML_ELIMIT, line, ", %s: field longer than max_field = %zu bytes",
            col_label(lab, sizeof lab, r, j), r->max_field);
}

static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static int is_missing(const char *s, size_t len)
{
    switch (len) {
    case 0:
        return 1;
    case 2:
        return memcmp(s, "NA", 2) == 0;
    case 3:
        return memcmp(s, "NaN", 3) == 0 || memcmp(s, "nan", 3) == 0 || memcmp(s, "N/A", 3) == 0;
    case 4:
        return memcmp(s, "null", 4) == 0;
    }
    return 0;
}

/* Cells that are not a clean number: spaces, missing tokens, levels, errors. */
static void store_cell_slow(struct rd *r, size_t j, const char *s, size_t len)
{
    struct ml_column *c = &r->col[j];
    const char *b = s;
    size_t n = len;
    double *dst = &c->v[r->nrow];

    /* Spaces/tabs around a number are accepted even inside quotes. */
    while (n > 0 && is_blank((unsigned char)b[0])) {
        b++;
        n--;
    }
    while (n > 0 && is_blank((unsigned char)b[n - 1]))
        n--;
    if (is_missing(b, n)) {
        *dst = NAN;
        return;
    }
    if (c->type == ML_COL_CATEGORICAL) {
        struct ml_err e;
        if (memchr(s, '\0', len)) {
            /* Levels are C strings: a NUL would cut the name short. */
            char lab[RD_SHOW * 4 + 40], val[RD_SHOW * 4 + 8];
            rd_fail(r, ML_EFORMAT, r->row_line, ", %s: level \"%s\" contains a NUL byte",
                    col_label(lab, sizeof lab, r, j), show(val, sizeof val, s, len));
            return;
        }
        if (ml_table_level(r->t, j, s, len, dst, &e) != ML_OK)
            rd_fail(r, e.code, 0, "%s", e.msg);
        return;
    }
    if (!csv_parse_double(b, n, dst)) {
        char lab[RD_SHOW * 4 + 40], val[RD_SHOW * 4 + 8];
        rd_fail(r, ML_EFORMAT, r->row_line, ", %s: cannot parse \"%s\" as a number",
                col_label(lab, sizeof lab, r, j), show(val, sizeof val, s, len));
    }
}

/* Inlined into on_field: the call would cost as much as a short number. */
static inline __attribute__((always_inline)) void store_cell(struct rd *r, size_t j,
                                                         const char *s, size_t len)
{
    struct ml_column *c = &r->col[j];

    if (c->type == ML_COL_NUMERIC && csv_number_fast(s, len, &c->v[r->nrow]))
        return;
    store_cell_slow(r, j, s, len);
}

static int rd_grow(struct rd *r)
{
    struct ml_err e;
    size_t want = r->cap ? 2 * r->cap : 1024;

    if (r->slice) {   /* the bound counted every record end: cannot happen */
        rd_fail(r, ML_EINTERNAL, 0, "a chunk has more records than line ends");
        return 0;
    }
    if (r->cap > ((size_t)-1) / 4) {
        rd_fail(r, ML_ELIMIT, 0, "more than %zu rows", r->cap);
        return 0;
    }
    if (ml_table_reserve(r->t, want, &e) != ML_OK) {
        rd_fail(r, e.code, 0, "%s", e.msg);
        return 0;
    }
    r->cap = want;
    return 1;
}

/* Line breaks inside a (quoted) field: LF, CRLF and lone CR count one each. */
static uint64_t count_breaks(const char *s, size_t len)
{
    uint64_t n = 0;
    size_t i;

    for (i = 0; i < len; i++) {
        if (s[i] == '\n')
            n++;
        else if (s[i] == '\r' && (i + 1 == len || s[i + 1] != '\n'))
            n++;
    }
    return n;
}

/* First record: keep the fields as strings until we know the column count. */
static void head_field(struct rd *r, const char *s, size_t len)
{
    if (r->field >= r->o->max_cols) {
        rd_fail(r, ML_ELIMIT, r->row_line, ": more than %zu columns (max_cols)", r->o->max_cols);
        return;
    }
    if (r->hn == r->hncap) {
        size_t cap = r->hncap ? 2 * r->hncap : 64;
        size_t *off = realloc(r->hoff, cap * sizeof *off);
        size_t *sz;
        if (off)
            r->hoff = off;
        sz = off ? realloc(r->hsize, cap * sizeof *sz) : NULL;
        if (!sz) {
            rd_fail(r, ML_ENOMEM, 0, "out of memory reading the first row");
            return;
        }
        r->hsize = sz;
        r->hncap = cap;
    }
    if (r->hcap - r->hlen < len + 1) {
        size_t cap = r->hcap ? r->hcap : 1024;
        char *b;
        while (cap - r->hlen < len + 1)
            cap *= 2;
        b = realloc(r->hbuf, cap);
        if (!b) {
            rd_fail(r, ML_ENOMEM, 0, "out of memory reading the first row");
            return;
        }
        r->hbuf = b;
        r->hcap = cap;
    }
    if (len)
        memcpy(r->hbuf + r->hlen, s, len);
    r->hbuf[r->hlen + len] = '\0';
    r->hoff[r->hn] = r->hlen;
    r->hsize[r->hn] = len;
    r->hn++;
    r->hlen += len + 1;
    r->field++;
}

static void head_free(struct rd *r)
{
    free(r->hbuf);
    free(r->hoff);
    free(r->hsize);
    r->hbuf = NULL;
    r->hoff = r->hsize = NULL;
    r->hn = r->hncap = r->hlen = r->hcap = 0;
}

/* Names for header = 0: "target" or "target1..", then "x1..". */
static void gen_name(char *out, size_t cap, size_t j, size_t label_size)
{
    if (j < label_size)
        snprintf(out, cap, label_size == 1 ? "target" : "target%zu", j + 1);
    else
        snprintf(out, cap, "x%zu", j - label_size + 1);
}

/* The first record is complete: build the table (and for header = 0 store the
 * record as row 0). */
static void head_end(struct rd *r)
{
    const struct csv_options *o = r->o;
    size_t ncol = r->hn, j, k;
    const char **names = calloc(ncol, sizeof *names);
    enum ml_coltype *types = calloc(ncol, sizeof *types);
    char *gen = o->header ? NULL : malloc(ncol * 32);
    struct ml_err e;

    if (!names || !types || (!o->header && !gen)) {
        rd_fail(r, ML_ENOMEM, 0, "out of memory for %zu column names", ncol);
        goto cleanup;
    }
    for (j = 0; j < ncol; j++) {
        if (o->header) {
            if (memchr(r->hbuf + r->hoff[j], '\0', r->hsize[j])) {
                char nm[RD_SHOW * 4 + 8];
                rd_fail(r, ML_EFORMAT, r->row_line, ", column %zu: name \"%s\" contains a NUL byte",
                        j + 1, show(nm, sizeof nm, r->hbuf + r->hoff[j], r->hsize[j]));
                goto cleanup;
            }
            names[j] = r->hbuf + r->hoff[j];
        } else {
            gen_name(gen + 32 * j, 32, j, o->label_size);
            names[j] = gen + 32 * j;
        }
    }
    for (k = 0; k < o->ncategorical; k++) {
        for (j = 0; j < ncol; j++)
            if (strcmp(names[j], o->categorical[k]) == 0)
                break;
        if (j == ncol) {
            char nm[RD_SHOW * 4 + 8];
            const char *c = o->categorical[k];
            rd_fail(r, ML_EINVAL, 0, "categorical column \"%s\" is not in the header%s",
                    show(nm, sizeof nm, c, strlen(c)),
                    o->header ? "" : " (header = 0: columns are named target..., x1, x2, ...)");
            goto cleanup;
        }
        types[j] = ML_COL_CATEGORICAL;
    }
    if (ml_table_alloc(&r->t, ncol, names, types, &e) != ML_OK) {
        rd_fail(r, e.code, r->row_line, ": %s", e.msg);
        goto cleanup;
    }
    r->col = r->t->col;
    r->ncol = ncol;
    if (!rd_grow(r))
        goto cleanup;
    r->head = 0;
    r->slow = r->quotes || r->stop;
    if (!o->header) {
        for (j = 0; j < ncol && !r->stop; j++)
            store_cell(r, j, r->hbuf + r->hoff[j], r->hsize[j]);
        r->nrow = 1;
    }
    head_free(r);
cleanup:
    free(names);
    free(types);
    free(gen);
}

/* Everything but a plain cell: errors, quotes seen, the first record, long fields. */
static void on_field_slow(struct rd *r, const char *s, size_t len)
{
    if (r->stop)
        return;
    if (r->quotes)
        r->line += count_breaks(s, len);
    if (len > r->max_field) {
        fail_long_field(r, r->row_line, r->field);
        return;
    }
    if (r->head) {
        head_field(r, s, len);
        return;
    }
    if (r->field < r->ncol)
        store_cell(r, r->field, s, len);
    r->field++;
}

static void on_field(void *sv, size_t len, void *data)
{
    struct rd *r = data;
    const char *s = sv ? sv : "";

    if (r->slow || len > r->max_field) {
        on_field_slow(r, s, len);
        return;
    }
    /* Fields past the last column are only counted, for the ragged-row message.
     * Row nrow has room: on_record grows the columns when they fill up. */
    if (r->field < r->ncol)
        store_cell(r, r->field, s, len);
    r->field++;
}

static void on_record(int c, void *data)
{
    struct rd *r = data;
    size_t nf = r->field;

    if (r->stop)
        return;
    if (c == '\n' && r->last_cr && nf == 0) {
        r->last_cr = 0;   /* the LF of a CRLF whose CR already ended the record */
        return;
    }
    r->last_cr = c == '\r';
    if (c != -1)          /* -1: csv_fini flushing a last record without line end */
        r->line++;
    if (nf == 0) {
        r->row_line = r->line;   /* blank line, reported because of CSV_REPALL_NL */
        return;
    }
    r->field = 0;
    if (r->head) {
        head_end(r);
    } else if (nf != r->ncol) {
        rd_fail(r, ML_EFORMAT, r->row_line, ": %zu field%s where the %s has %zu", nf,
                nf == 1 ? "" : "s", r->o->header ? "header" : "first row", r->ncol);
        return;
    } else if (++r->nrow == r->cap) {
        rd_grow(r);
    }
    /* Any next record starts here (quoted line breaks are inside a record). */
    r->row_line = r->line;
}

static int rd_init(struct rd *r, struct csv_parser *p, const struct csv_options *o)
{
    memset(r, 0, sizeof *r);
    r->o = o;
    r->max_field = o->max_field;
    r->line = 1;
    r->row_line = 1;
    r->head = 1;
    r->slow = 1;
    if (csv_init(p, CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL) != 0) {
        rd_fail(r, ML_ENOMEM, 0, "cannot initialise libcsv");
        return 0;
    }
    csv_set_delim(p, (unsigned char)o->delim);
    /* libcsv grows its field buffer by blk_size bytes at a time (default 128). */
    csv_set_blk_size(p, 4096);
    return 1;
}

static void fail_libcsv(struct rd *r, struct csv_parser *p, int at_end)
{
    int e = csv_error(p);
    uint64_t line = r->row_line;
    size_t j = r->field;

    if (e == CSV_EPARSE && at_end)
        rd_fail(r, ML_EFORMAT, line,
                ", column %zu: quoted field is not closed before the end of the file (libcsv: %s)",
                j + 1, csv_strerror(e));
    else if (e == CSV_EPARSE)
        rd_fail(r, ML_EFORMAT, line,
                ", column %zu: misplaced quote: a field with a quote must be quoted as a whole, "
                "with inner quotes doubled (libcsv: %s)", j + 1, csv_strerror(e));
    else if (e == CSV_ENOMEM)
        rd_fail(r, ML_ENOMEM, line, ", column %zu: out of memory (libcsv: %s)", j + 1,
                csv_strerror(e));
    else
        rd_fail(r, ML_ELIMIT, line, ", column %zu: libcsv: %s", j + 1, csv_strerror(e));
}

/* Feed len bytes; returns 0 once an error is recorded. */
static int rd_feed(struct rd *r, struct csv_parser *p, const char *buf, size_t len)
{
    while (len > 0 && !r->stop) {
        size_t n = len < RD_SLICE ? len : RD_SLICE;
        size_t used;

        if (!r->quotes && memchr(buf, '"', n))
            r->quotes = r->slow = 1;
        used = csv_parse(p, buf, n, on_field, on_record, r);
        if (r->stop)
            break;
        if (used != n) {
            fail_libcsv(r, p, 0);
            break;
        }
        /* A field still open at the end of the slice: cap libcsv's buffer at
         * max_field + RD_SLICE bytes rather than letting it grow unbounded. */
        if (p->entry_pos > r->max_field) {
            fail_long_field(r, r->row_line, r->field);
            break;
        }
        buf += n;
        len -= n;
    }
    return !r->stop;
}

static void rd_end(struct rd *r, struct csv_parser *p)
{
    if (!r->stop && csv_fini(p, on_field, on_record, r) != 0)
        fail_libcsv(r, p, 1);
}

static void rd_free(struct rd *r, struct csv_parser *p)
{
    size_t j;

    csv_free(p);
    head_free(r);
    if (r->slice && r->t)
        for (j = 0; j < r->t->ncol; j++)
            r->t->col[j].v = NULL;   /* borrowed from the final table */
    ml_table_free(r->t);
    r->t = NULL;
}

/* Final checks on the whole file, then hand the table over. */
static enum ml_status rd_take(struct rd *r, const char *name, struct ml_table **out,
                              struct ml_err *err)
{
    struct ml_table *t = r->t;
    size_t j;

    if (r->head || !t)
        ML_FAIL(err, ML_EFORMAT, "%s: file is empty", name);
    t->nrow = r->nrow;
    if (t->nrow == 0)
        ML_FAIL(err, ML_EFORMAT, "%s: has a header but no data rows", name);
    /* Give back the slack of the geometric growth (up to half the table). */
    for (j = 0; j < t->ncol; j++) {
        struct ml_column *c = &t->col[j];
        if (c->cap > t->nrow) {
            double *v = realloc(c->v, t->nrow * sizeof *v);
            if (v) {
                c->v = v;
                c->cap = t->nrow;
            }
        }
    }
    *out = t;
    r->t = NULL;
    return ML_OK;
}

void csv_options_default(struct csv_options *o)
{
    memset(o, 0, sizeof *o);
    o->delim = ',';
    o->header = 1;
    o->label_size = 1;
    o->categorical = NULL;
    o->ncategorical = 0;
    o->max_field = (size_t)1 << 20;
    o->max_cols = 10000;
    o->threads = 1;
}

static enum ml_status check_options(const struct csv_options *o, const char *name,
                                    struct ml_err *err)
{
    if (o->delim == '"' || o->delim == '\r' || o->delim == '\n' || o->delim == '\0')
        ML_FAIL(err, ML_EINVAL, "%s: delimiter 0x%02x cannot be used (quote, CR, LF or NUL)",
                name, (unsigned)(unsigned char)o->delim);
    if (o->max_field == 0 || o->max_cols == 0)
        ML_FAIL(err, ML_EINVAL, "%s: max_field and max_cols must be positive", name);
    if (o->ncategorical && !o->categorical)
        ML_FAIL(err, ML_EINVAL, "%s: ncategorical = %zu but categorical is NULL", name,
                o->ncategorical);
    return ML_OK;
}

static enum ml_status parse_single(const char *buf, size_t len, const char *name,
                                   const struct csv_options *o, struct ml_table **out,
                                   struct ml_err *err)
{
    struct rd r;
    struct csv_parser p;
    enum ml_status st;

    if (rd_init(&r, &p, o)) {
        rd_feed(&r, &p, buf, len);
        rd_end(&r, &p);
    }
    st = r.stop ? rd_report(&r, name, 0, err) : rd_take(&r, name, out, err);
    rd_free(&r, &p);
    return st;
}

/* Multi-threaded path (see the top of the file).  Round 1 counts, for each
 * chunk, an upper bound on its records (record ends + 1), which fixes where
 * its rows go in the final table; round 2 parses every chunk straight into
 * its slice, so nothing is copied afterwards unless blank lines left gaps.
 * Chunks are handed out from an atomic counter, so the SHA-256 of the file
 * (one more task) and uneven chunks balance across the threads. */
struct chunk {
    struct rd r;
    struct csv_parser p;
    const char *b;             /* first byte (just after a LF) */
    size_t n;                  /* bytes */
    size_t bound;              /* at least the number of its records */
    size_t off;                /* its first row in the final table */
    int ran;                   /* 1: r and p were initialised */
};

struct pool {
    struct chunk *ch;
    size_t nch;
    const struct csv_options *o;
    struct ml_table *big;      /* the final table (owned by the header's rd) */
    int round;                 /* 1: count records, 2: parse */
    size_t ntask;
    atomic_size_t next;        /* next task to hand out */
    atomic_size_t first_bad;   /* lowest chunk index that failed, else nch */
    enum ml_status (*hash)(void *, struct ml_err *);   /* round 2 task 0, may be NULL */
    void *hash_arg;
    enum ml_status hash_st;
    struct ml_err hash_err;
};

static void count_chunk(struct chunk *c)
{
    const char *p = c->b, *end = c->b + c->n;
    size_t nlf = 0, ncr = 0, ncrlf = 0, i;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        nlf++;
        p = nl + 1;
    }
    /* A lone CR ends a record too; the CR of a CRLF ends it, its LF does not.
     * +1 for a last record without line end, +1 because on_record grows the
     * columns as soon as they are full. */
    if (memchr(c->b, '\r', c->n)) {
        for (i = 0; i < c->n; i++) {
            if (c->b[i] != '\r')
                continue;
            ncr++;
            ncrlf += i + 1 < c->n && c->b[i + 1] == '\n';
        }
    }
    c->bound = nlf + ncr - ncrlf + 2;
}

/* A chunk's rd writes into rows [off, off + bound) of `big` through a table of
 * its own whose columns alias that slice; its categorical levels stay private
 * until they are remapped by name. */
static int rd_init_slice(struct rd *r, struct csv_parser *p, const struct csv_options *o,
                         struct ml_table *big, size_t off, size_t bound)
{
    size_t j, ncol = big->ncol;
    const char **names;
    enum ml_coltype *types;
    struct ml_err e;

    if (!rd_init(r, p, o))
        return 0;
    r->head = 0;
    r->slow = 0;
    names = calloc(ncol, sizeof *names);
    types = calloc(ncol, sizeof *types);
    if (!names || !types) {
        rd_fail(r, ML_ENOMEM, 0, "out of memory for %zu column names", ncol);
    } else {
        for (j = 0; j < ncol; j++) {
            names[j] = big->col[j].name;
            types[j] = big->col[j].type;
        }
        if (ml_table_alloc(&r->t, ncol, names, types, &e) != ML_OK) {
            rd_fail(r, e.code, 0, "%s", e.msg);
        } else {
            r->slice = 1;
            for (j = 0; j < ncol; j++) {
                r->t->col[j].v = big->col[j].v + off;
                r->t->col[j].cap = bound;
            }
            r->col = r->t->col;
            r->ncol = ncol;
            r->cap = bound;
        }
    }
    free(names);
    free(types);
    return !r->stop;
}

static void parse_chunk(struct pool *pl, size_t i)
{
    struct chunk *c = &pl->ch[i];
    size_t cur;

    if (i > atomic_load(&pl->first_bad))
        return;   /* an earlier chunk failed and its error wins: skip the work */
    c->ran = 1;
    if (rd_init_slice(&c->r, &c->p, pl->o, pl->big, c->off, c->bound)) {
        rd_feed(&c->r, &c->p, c->b, c->n);
        rd_end(&c->r, &c->p);
    }
    if (!c->r.stop)
        return;
    cur = atomic_load(&pl->first_bad);
    while (i < cur && !atomic_compare_exchange_weak(&pl->first_bad, &cur, i))
        ;
}

static void *pool_run(void *arg)
{
    struct pool *pl = arg;

    for (;;) {
        size_t i = atomic_fetch_add(&pl->next, 1);
        if (i >= pl->ntask)
            break;
        if (pl->round == 1)
            count_chunk(&pl->ch[i]);
        else if (pl->hash && i == 0)
            pl->hash_st = pl->hash(pl->hash_arg, &pl->hash_err);
        else
            parse_chunk(pl, i - (pl->hash != NULL));
    }
    return NULL;
}

static void pool_go(struct pool *pl, int round, size_t ntask, size_t nthreads)
{
    pthread_t th[RD_MAX_THREADS];
    int started[RD_MAX_THREADS];
    size_t t;

    pl->round = round;
    pl->ntask = ntask;
    atomic_store(&pl->next, 0);
    if (nthreads > ntask)
        nthreads = ntask;
    /* A thread that cannot start leaves its share to the others. */
    for (t = 1; t < nthreads; t++)
        started[t] = pthread_create(&th[t], NULL, pool_run, pl) == 0;
    pool_run(pl);
    for (t = 1; t < nthreads; t++)
        if (started[t])
            pthread_join(th[t], NULL);
}

/* Chunk-local level codes in v[0..n) -> codes of big's column j, by name. */
static enum ml_status remap_levels(struct ml_table *big, size_t j, const struct ml_column *part,
                                   double *v, size_t n, struct ml_err *err)
{
    double *map = malloc((part->nlevels ? part->nlevels : 1) * sizeof *map);
    enum ml_status st = ML_OK;
    size_t l, i;

    if (!map)
        ML_FAIL(err, ML_ENOMEM, "out of memory remapping levels of column \"%s\"", part->name);
    for (l = 0; l < part->nlevels && st == ML_OK; l++)
        st = ml_table_level(big, j, part->levels[l], strlen(part->levels[l]), &map[l], err);
    if (st == ML_OK)
        for (i = 0; i < n; i++)
            if (!isnan(v[i]))
                v[i] = map[(size_t)v[i]];
    free(map);
    return st;
}

static enum ml_status parse_threads(const char *buf, size_t len, const char *name,
                                    const struct csv_options *o, size_t nthreads,
                                    size_t min_chunk,
                                    enum ml_status (*hash)(void *, struct ml_err *),
                                    void *hash_arg, struct ml_table **out, struct ml_err *err)
{
    struct rd r0;
    struct csv_parser p0;
    struct pool pl;
    size_t pos = 0, nch = 0, i, j, rows;
    uint64_t base;
    enum ml_status st = ML_OK;

    memset(&pl, 0, sizeof pl);
    if (!rd_init(&r0, &p0, o))
        goto done;
    /* The first record, one line at a time (no quotes: a LF ends a record). */
    while (r0.head && !r0.stop && pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (buf + pos)) + 1 : len - pos;
        rd_feed(&r0, &p0, buf + pos, n);
        pos += n;
    }
    if (pos == len && !r0.stop)
        rd_end(&r0, &p0);   /* no LF after the first record: r0 read everything */
    if (r0.stop || r0.head)
        goto done;

    /* Several chunks per thread so that the hash and uneven chunks balance. */
    if (pos < len) {
        nch = (len - pos) / min_chunk;
        if (nch > 8 * nthreads)
            nch = 8 * nthreads;
        if (nch < 1)
            nch = 1;
        pl.ch = calloc(nch, sizeof *pl.ch);
        if (!pl.ch) {
            rd_fail(&r0, ML_ENOMEM, 0, "out of memory for %zu chunks", nch);
            goto done;
        }
        pl.ch[0].b = buf + pos;
        for (i = 1; i < nch; i++) {
            size_t from = pos + (len - pos) / nch * i;
            const char *nl;
            if (from < (size_t)(pl.ch[i - 1].b - buf))
                from = (size_t)(pl.ch[i - 1].b - buf);
            nl = memchr(buf + from, '\n', len - from);
            pl.ch[i].b = nl ? nl + 1 : buf + len;
        }
        for (i = 0; i < nch; i++)
            pl.ch[i].n = (size_t)((i + 1 < nch ? pl.ch[i + 1].b : buf + len) - pl.ch[i].b);
    }
    pl.nch = nch;
    pl.o = o;
    pl.big = r0.t;
    pl.hash = hash;
    pl.hash_arg = hash_arg;
    atomic_store(&pl.first_bad, nch);
    pool_go(&pl, 1, nch, nthreads);
    rows = r0.nrow;
    for (i = 0; i < nch; i++) {
        pl.ch[i].off = rows;
        if (pl.ch[i].bound > ((size_t)-1) / 16 - rows) {
            rd_fail(&r0, ML_ELIMIT, 0, "more than %zu rows", rows);
            goto done;
        }
        rows += pl.ch[i].bound;
    }
    st = ml_table_reserve(r0.t, rows, err);
    if (st) {
        ml_err_prefix(err, "%s: ", name);
        goto done;
    }
    r0.cap = rows;
    pool_go(&pl, 2, nch + (hash != NULL), nthreads);

done:
    /* The first error in file order wins; chunk i's lines follow chunk i-1's. */
    if (st == ML_OK && r0.stop)
        st = rd_report(&r0, name, 0, err);
    base = r0.line - 1;
    for (i = 0; i < nch && st == ML_OK; i++) {
        if (pl.ch[i].r.stop)
            st = rd_report(&pl.ch[i].r, name, base, err);
        if (pl.ch[i].ran)
            base += pl.ch[i].r.line - 1;
    }
    if (st == ML_OK && pl.hash_st) {
        *err = pl.hash_err;
        st = pl.hash_st;
    }
    if (st == ML_OK && r0.head)
        st = rd_take(&r0, name, out, err);   /* reports the empty file */
    else if (st == ML_OK) {
        /* Close the gaps that blank lines left and remap level codes. */
        rows = r0.nrow;
        for (i = 0; i < nch && st == ML_OK; i++) {
            struct chunk *c = &pl.ch[i];
            for (j = 0; j < r0.ncol && st == ML_OK; j++) {
                double *v = r0.t->col[j].v;
                if (r0.t->col[j].type == ML_COL_CATEGORICAL)
                    st = remap_levels(r0.t, j, &c->r.t->col[j], v + c->off, c->r.nrow, err);
                if (st == ML_OK && rows != c->off && c->r.nrow)
                    memmove(v + rows, v + c->off, c->r.nrow * sizeof *v);
            }
            rows += c->r.nrow;
        }
        if (st)
            ml_err_prefix(err, "%s: ", name);
        r0.nrow = rows;
        if (st == ML_OK)
            st = rd_take(&r0, name, out, err);
    }
    for (i = 0; i < nch; i++)
        if (pl.ch[i].ran)
            rd_free(&pl.ch[i].r, &pl.ch[i].p);
    free(pl.ch);
    rd_free(&r0, &p0);
    return st;
}

/* Validate options, drop a BOM, and pick the threaded or the plain path.
 * hash (may be NULL) is called once, before parsing or as a pool task. */
static enum ml_status parse_buffer(const char *buf, size_t len, const char *name,
                                   const struct csv_options *o, size_t min_chunk,
                                   enum ml_status (*hash)(void *, struct ml_err *),
                                   void *hash_arg, struct ml_table **out, struct ml_err *err)
{
    struct csv_options def;
    enum ml_status st;
    size_t nthreads;

    *out = NULL;
    if (!o) {
        csv_options_default(&def);
        o = &def;
    }
    st = check_options(o, name, err);
    if (st)
        return st;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {   /* UTF-8 byte-order mark */
        buf += 3;
        len -= 3;
    }
    nthreads = o->threads < 1 ? 1 : (size_t)o->threads;
    if (nthreads > RD_MAX_THREADS)
        nthreads = RD_MAX_THREADS;
    if (min_chunk < 1)
        min_chunk = 1;
    if (nthreads > 1 && len / min_chunk >= 2 && !memchr(buf, '"', len))
        return parse_threads(buf, len, name, o, nthreads, min_chunk, hash, hash_arg, out, err);
    if (hash) {
        st = hash(hash_arg, err);
        if (st)
            return st;
    }
    return parse_single(buf, len, name, o, out, err);
}

enum ml_status csv_read_mem_chunked(const char *buf, size_t len, const char *name,
                                    const struct csv_options *o, size_t min_chunk,
                                    struct ml_table **out, struct ml_err *err)
{
    return parse_buffer(buf, len, name, o, min_chunk, NULL, NULL, out, err);
}

enum ml_status csv_read_mem(const char *buf, size_t len, const char *name,
                            const struct csv_options *o, struct ml_table **out,
                            struct ml_err *err)
{
    return parse_buffer(buf, len, name, o, CSV_MT_MIN_CHUNK, NULL, NULL, out, err);
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Whole regular file into memory (through source_read, so it is hashed). */
static enum ml_status load_whole(struct source *s, char **out, size_t *len, struct ml_err *err)
{
    size_t cap = (size_t)source_file_size(s) + 1, n = 0, got;
    char *buf = malloc(cap);
    enum ml_status st;

    if (!buf)
        ML_FAIL(err, ML_ENOMEM, "%s: out of memory loading %zu bytes", source_path(s), cap);
    for (;;) {
        if (n == cap) {   /* the file grew since fstat */
            char *b = realloc(buf, 2 * cap);
            if (!b) {
                free(buf);
                ML_FAIL(err, ML_ENOMEM, "%s: out of memory loading %zu bytes", source_path(s),
                        2 * cap);
            }
            buf = b;
            cap *= 2;
        }
        st = source_read(s, buf + n, cap - n, &got, err);
        if (st) {
            free(buf);
            return st;
        }
        if (got == 0)
            break;
        n += got;
    }
    *out = buf;
    *len = n;
    return ML_OK;
}

/* One thread, streaming RD_SLICE bytes at a time: gzip, FIFOs, threads = 1. */
static enum ml_status parse_stream(struct source *s, const struct csv_options *o,
                                   struct ml_table **out, struct ml_err *err)
{
    const char *name = source_path(s);
    char *buf = malloc(RD_SLICE);
    struct rd r;
    struct csv_parser p;
    enum ml_status st = ML_OK;
    size_t got, n;
    int first = 1;

    if (!buf)
        ML_FAIL(err, ML_ENOMEM, "%s: out of memory for the read buffer", name);
    if (rd_init(&r, &p, o)) {
        for (;;) {
            const char *b = buf;
            st = source_read(s, buf, RD_SLICE, &got, err);
            if (st || got == 0)
                break;
            if (first) {
                /* A FIFO may deliver fewer than the 3 bytes of a BOM at once. */
                while (got < 3) {
                    st = source_read(s, buf + got, RD_SLICE - got, &n, err);
                    if (st || n == 0)
                        break;
                    got += n;
                }
                if (st)
                    break;
                if (got >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
                    b += 3;
                    got -= 3;
                }
                first = 0;
            }
            if (!rd_feed(&r, &p, b, got))
                break;
        }
        if (st == ML_OK)
            rd_end(&r, &p);
    }
    if (st == ML_OK)
        st = r.stop ? rd_report(&r, name, 0, err) : rd_take(&r, name, out, err);
    rd_free(&r, &p);
    free(buf);
    return st;
}

static enum ml_status hash_mapped(void *s, struct ml_err *err)
{
    return source_map_hash(s, err);
}

enum ml_status csv_read_file(const char *path, const struct csv_options *o,
                             struct ml_table **out, struct csv_file_info *info,
                             struct ml_err *err)
{
    struct csv_options def;
    struct source *s;
    enum ml_status st;
    double t0 = now_seconds();

    *out = NULL;
    if (!o) {
        csv_options_default(&def);
        o = &def;
    }
    st = check_options(o, path, err);
    if (st)
        return st;
    st = source_open(&s, path, err);
    if (st)
        return st;
    if (o->threads > 1 && source_is_regular(s) && !source_is_gzip(s) &&
        source_file_size(s) >= 2 * CSV_MT_MIN_CHUNK) {
        const char *data;
        size_t len;
        if (source_map(s, &data, &len, err) == ML_OK) {
            st = parse_buffer(data, len, path, o, CSV_MT_MIN_CHUNK, hash_mapped, s, out, err);
        } else {
            /* Cannot map (some file systems): read it whole instead. */
            char *buf = NULL;
            ml_err_clear(err);
            len = 0;
            st = load_whole(s, &buf, &len, err);
            if (st == ML_OK)
                st = parse_buffer(buf, len, path, o, CSV_MT_MIN_CHUNK, NULL, NULL, out, err);
            free(buf);
        }
    } else {
        st = parse_stream(s, o, out, err);
    }
    if (st == ML_OK && info) {
        source_sha256_hex(s, info->sha256);
        info->bytes = source_raw_bytes(s);
        info->rows = (*out)->nrow;
        info->seconds = now_seconds() - t0;
    }
    source_close(s);
    return st;
}
