/* csv_stream.c: chunked CSV reading on libcsv (see csv_stream.h).
 *
 * The parser set-up and the line accounting follow csv_read.c (CSV_STRICT,
 * CSV_STRICT_FINI and CSV_REPALL_NL; a record end is LF, CRLF or a lone CR;
 * line breaks inside quoted fields counted once a quote was seen), and the
 * cells go through the same number parser (csv_number_fast, csv_number.c).
 * The differences are what streaming and scoring need: only the wanted
 * columns are stored, a chunk of rows is handed out every ~chunk_rows rows,
 * and a bad cell marks its row instead of ending the read.
 *
 * The header is fed to libcsv one line at a time so that no data row is
 * parsed before the chunk it belongs to exists; afterwards the input is fed
 * CSV_STREAM_SLICE bytes at a time and a chunk ends after the slice in which
 * it reached chunk_rows rows. */
#include "csv_stream.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "csv_impl.h"
#include "source/source.h"

#define SHOW_MAX 60   /* bytes of a value quoted in a message */
#define MSG_MAX 512   /* a bad row's reason */

/* ---- chunks ---------------------------------------------------------------- */

void rs_chunk_init(struct rs_chunk *c)
{
    memset(c, 0, sizeof *c);
}

static void clear_bad(struct rs_chunk *c)
{
    size_t i;

    /* Up to cap: a record cut short by an error may have marked the row
     * after the last complete one. */
    if (c->nbad && c->bad)
        for (i = 0; i < c->cap; i++) {
            free(c->bad[i]);
            c->bad[i] = NULL;
        }
    c->nbad = 0;
}

void rs_chunk_free(struct rs_chunk *c)
{
    clear_bad(c);
    ml_table_free(c->t);
    free(c->line);
    free(c->bad);
    memset(c, 0, sizeof *c);
}

enum ml_status rs_chunk_reset(struct rs_chunk *c, const struct rs_column *cols, size_t ncols,
                              struct ml_err *err)
{
    const char **names;
    enum ml_coltype *types;
    struct ml_table *t;
    enum ml_status st;
    size_t j, cap = c->cap;

    clear_bad(c);
    /* Keep a table without categorical columns (the common case): only the
     * row count restarts.  Categorical ones are rebuilt so that the levels
     * of past chunks do not pile up. */
    if (c->t && c->t->ncol == ncols) {
        int text = 0;
        for (j = 0; j < ncols; j++)
            text |= cols[j].kind == RS_TEXT;
        if (!text) {
            c->t->nrow = 0;
            return ML_OK;
        }
    }
    names = calloc(ncols ? ncols : 1, sizeof *names);
    types = calloc(ncols ? ncols : 1, sizeof *types);
    if (!names || !types) {
        free(names);
        free(types);
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    }
    for (j = 0; j < ncols; j++) {
        names[j] = cols[j].name;
        types[j] = cols[j].kind == RS_TEXT ? ML_COL_CATEGORICAL : ML_COL_NUMERIC;
    }
    st = ml_table_alloc(&t, ncols, names, types, err);
    free(names);
    free(types);
    if (st)
        return st;
    if (cap) {
        st = ml_table_reserve(t, cap, err);
        if (st) {
            ml_table_free(t);
            return st;
        }
    }
    ml_table_free(c->t);
    c->t = t;
    return ML_OK;
}

enum ml_status rs_chunk_grow(struct rs_chunk *c, size_t need, struct ml_err *err)
{
    size_t cap = c->cap ? c->cap : 1024, i;
    uint64_t *line;
    char **bad;
    enum ml_status st;

    if (need < c->cap)
        return ML_OK;
    while (cap <= need)
        cap *= 2;
    st = ml_table_reserve(c->t, cap, err);
    if (st)
        return st;
    line = realloc(c->line, cap * sizeof *line);
    if (!line)
        ML_FAIL(err, ML_ENOMEM, "out of memory for %zu rows", cap);
    c->line = line;
    bad = realloc(c->bad, cap * sizeof *bad);
    if (!bad)
        ML_FAIL(err, ML_ENOMEM, "out of memory for %zu rows", cap);
    for (i = c->cap; i < cap; i++)
        bad[i] = NULL;
    c->bad = bad;
    c->cap = cap;
    return ML_OK;
}

int rs_chunk_mark_bad(struct rs_chunk *c, size_t i, const char *fmt, ...)
{
    va_list ap;
    char *m;

    if (c->bad[i])
        return 1;
    m = malloc(MSG_MAX);
    if (!m)
        return 0;
    va_start(ap, fmt);
    vsnprintf(m, MSG_MAX, fmt, ap);
    va_end(ap);
    c->bad[i] = m;
    c->nbad++;
    return 1;
}

void rs_chunk_compact(struct rs_chunk *c, uint64_t *rowno)
{
    size_t n = c->t ? c->t->nrow : 0, i, k = 0, j;

    for (i = 0; i < n; i++) {
        if (c->bad[i]) {
            free(c->bad[i]);
            c->bad[i] = NULL;
            continue;
        }
        if (k != i) {
            for (j = 0; j < c->t->ncol; j++)
                c->t->col[j].v[k] = c->t->col[j].v[i];
            c->line[k] = c->line[i];
        }
        if (rowno)
            rowno[k] = c->first_row + i;
        k++;
    }
    c->nbad = 0;
    if (c->t)
        c->t->nrow = k;
}

/* Printable excerpt of s: at most SHOW_MAX bytes, quotes, backslashes and
 * control bytes escaped, "..." when cut. */
static const char *show(char *out, size_t cap, const char *s, size_t len)
{
    size_t i, k = 0;

    for (i = 0; i < len && i < SHOW_MAX && k + 8 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            out[k++] = '\\';
            out[k++] = (char)ch;
        } else if (ch < 0x20 || ch == 0x7f) {
            k += (size_t)snprintf(out + k, cap - k, "\\x%02x", ch);
        } else {
            out[k++] = (char)ch;
        }
    }
    if (i < len && k + 4 <= cap) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
    return out;
}

static int is_blank(unsigned char ch)
{
    return ch == ' ' || ch == '\t';
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

int rs_store_text(struct rs_chunk *c, size_t j, size_t i, const char *s, size_t len)
{
    struct ml_column *col = &c->t->col[j];
    double *dst = &col->v[i];
    const char *b = s;
    size_t n = len;
    char nm[SHOW_MAX * 4 + 8], val[SHOW_MAX * 4 + 8];

    while (n > 0 && is_blank((unsigned char)b[0])) {
        b++;
        n--;
    }
    while (n > 0 && is_blank((unsigned char)b[n - 1]))
        n--;
    if (is_missing(b, n)) {
        *dst = NAN;
        return 1;
    }
    if (col->type == ML_COL_CATEGORICAL) {
        struct ml_err e;
        if (memchr(s, '\0', len)) {
            *dst = NAN;
            return rs_chunk_mark_bad(c, i, "row %llu (line %llu), column \"%s\": value \"%s\" "
                                     "contains a NUL byte", (unsigned long long)(c->first_row + i),
                                     (unsigned long long)c->line[i],
                                     show(nm, sizeof nm, col->name, strlen(col->name)),
                                     show(val, sizeof val, s, len));
        }
        return ml_table_level(c->t, j, s, len, dst, &e) == ML_OK;
    }
    if (csv_parse_double(b, n, dst))
        return 1;
    *dst = NAN;
    return rs_chunk_mark_bad(c, i, "row %llu (line %llu), column \"%s\": cannot parse \"%s\" as "
                             "a number", (unsigned long long)(c->first_row + i),
                             (unsigned long long)c->line[i],
                             show(nm, sizeof nm, col->name, strlen(col->name)),
                             show(val, sizeof val, s, len));
}

/* ---- the stream ------------------------------------------------------------ */

struct csv_stream {
    /* Hot. */
    struct rs_chunk *cur;          /* chunk being filled (NULL while reading the header) */
    long *map;                     /* header column -> wanted column, or -1 */
    size_t field;                  /* next field's index in the record */
    size_t nin;                    /* header columns */
    size_t nrow;                   /* rows in cur */
    uint64_t line;                 /* physical line at the parse position, from 1 */
    uint64_t row_line;             /* line where the current record starts */
    int quotes;                    /* a '"' was fed: fields may hold line breaks */
    int last_cr;
    int head;                      /* reading the header record */
    int fatal;                     /* an unrecoverable error is recorded */
    int oom;                       /* out of memory in a callback */

    /* Cold. */
    struct csv_parser p;
    int p_init;
    const struct rs_column *cols;
    size_t ncols;
    size_t chunk_rows;
    size_t feed_max;               /* bytes per csv_parse call: ~64 per wanted row */
    size_t max_field;
    char delim;
    char *name;                    /* for messages, owned */
    struct source *src;            /* NULL for memory input */
    const char *mem;               /* memory input */
    size_t mem_len, mem_pos;
    char *buf;                     /* read buffer (file input), owned */
    const char *pend;              /* bytes read but not yet fed */
    size_t npend;
    int eof;                       /* no more bytes */
    int done;                      /* csv_fini ran */
    uint64_t data_rows;            /* rows delivered before cur */
    char **hnames;                 /* header names, owned */
    size_t hcap;
    enum ml_status code;
    char msg[ML_ERR_MSG_MAX];
};

static void fail(struct csv_stream *s, enum ml_status code, const char *fmt, ...)
    ML_ATTR_FORMAT(3, 4);

static void fail(struct csv_stream *s, enum ml_status code, const char *fmt, ...)
{
    va_list ap;

    if (s->fatal)
        return;
    s->fatal = 1;
    s->code = code;
    va_start(ap, fmt);
    vsnprintf(s->msg, sizeof s->msg, fmt, ap);
    va_end(ap);
}

static uint64_t count_breaks(const char *p, size_t len)
{
    uint64_t n = 0;
    size_t i;

    for (i = 0; i < len; i++) {
        if (p[i] == '\n')
            n++;
        else if (p[i] == '\r' && (i + 1 == len || p[i + 1] != '\n'))
            n++;
    }
    return n;
}

static void head_field(struct csv_stream *s, const char *f, size_t len)
{
    char nm[SHOW_MAX * 4 + 8];

    if (s->nin >= 100000) {
        fail(s, ML_ELIMIT, "line %llu: more than 100000 columns in the header",
             (unsigned long long)s->row_line);
        return;
    }
    if (memchr(f, '\0', len)) {
        fail(s, ML_EFORMAT, "line %llu, column %zu: name \"%s\" contains a NUL byte",
             (unsigned long long)s->row_line, s->nin + 1, show(nm, sizeof nm, f, len));
        return;
    }
    if (s->nin == s->hcap) {
        size_t cap = s->hcap ? 2 * s->hcap : 32;
        char **h = realloc(s->hnames, cap * sizeof *h);
        if (!h) {
            s->oom = 1;
            return;
        }
        s->hnames = h;
        s->hcap = cap;
    }
    /* Names are trimmed like any unquoted field (libcsv does that). */
    s->hnames[s->nin] = strndup(f, len);
    if (!s->hnames[s->nin]) {
        s->oom = 1;
        return;
    }
    s->nin++;
}

/* The header is complete: map its columns to the wanted ones. */
static void head_end(struct csv_stream *s)
{
    size_t j, k;
    char nm[SHOW_MAX * 4 + 8];

    s->head = 0;
    s->map = malloc((s->nin ? s->nin : 1) * sizeof *s->map);
    if (!s->map) {
        s->oom = 1;
        return;
    }
    for (j = 0; j < s->nin; j++)
        s->map[j] = -1;
    for (k = 0; k < s->ncols; k++) {
        long found = -1;
        for (j = 0; j < s->nin; j++) {
            if (strcmp(s->hnames[j], s->cols[k].name) != 0)
                continue;
            if (found >= 0) {
                fail(s, ML_EFORMAT, "line %llu: column \"%s\" appears twice in the header "
                     "(columns %ld and %zu)", (unsigned long long)s->row_line,
                     show(nm, sizeof nm, s->cols[k].name, strlen(s->cols[k].name)), found + 1,
                     j + 1);
                return;
            }
            found = (long)j;
        }
        if (found < 0) {
            const char *n = s->cols[k].name;
            fail(s, ML_EDOM, "no column \"%s\" in the header (%zu columns)",
                 show(nm, sizeof nm, n, strlen(n)), s->nin);
            s->code = ML_EDOM;
            return;
        }
        s->map[found] = (long)k;
    }
}

static void on_field(void *fv, size_t len, void *data)
{
    struct csv_stream *s = data;
    const char *f = fv ? fv : "";
    size_t j = s->field++;
    long k;

    if (s->fatal || s->oom)
        return;
    if (s->quotes)
        s->line += count_breaks(f, len);
    if (len > s->max_field) {
        fail(s, ML_ELIMIT, "line %llu, column %zu: field longer than %zu bytes",
             (unsigned long long)s->row_line, j + 1, s->max_field);
        return;
    }
    if (s->head) {
        head_field(s, f, len);
        return;
    }
    if (j >= s->nin || (k = s->map[j]) < 0)
        return;
    {
        struct rs_chunk *c = s->cur;
        struct ml_column *col = &c->t->col[k];

        if (col->type == ML_COL_NUMERIC && csv_number_fast(f, len, &col->v[s->nrow]))
            return;
        c->line[s->nrow] = s->row_line;
        if (!rs_store_text(c, (size_t)k, s->nrow, f, len))
            s->oom = 1;
    }
}

static void on_record(int ch, void *data)
{
    struct csv_stream *s = data;
    size_t nf = s->field;
    struct ml_err e;

    if (s->fatal || s->oom)
        return;
    if (ch == '\n' && s->last_cr && nf == 0) {
        s->last_cr = 0;   /* the LF of a CRLF whose CR ended the record */
        return;
    }
    s->last_cr = ch == '\r';
    if (ch != -1)
        s->line++;
    if (nf == 0) {
        s->row_line = s->line;   /* a blank line */
        return;
    }
    s->field = 0;
    if (s->head) {
        head_end(s);
    } else {
        struct rs_chunk *c = s->cur;
        size_t i = s->nrow, k;

        c->line[i] = s->row_line;
        if (nf != s->nin) {
            /* Cells past the end were never written: make them missing. */
            if (nf < s->nin)
                for (k = nf; k < s->nin; k++)
                    if (s->map[k] >= 0)
                        c->t->col[s->map[k]].v[i] = NAN;
            if (!rs_chunk_mark_bad(c, i, "row %llu (line %llu): %zu field%s where the header "
                                   "has %zu", (unsigned long long)(c->first_row + i),
                                   (unsigned long long)s->row_line, nf, nf == 1 ? "" : "s",
                                   s->nin))
                s->oom = 1;
        }
        s->nrow++;
        c->t->nrow = s->nrow;
        if (s->nrow == c->cap && rs_chunk_grow(c, s->nrow, &e) != ML_OK)
            s->oom = 1;
    }
    s->row_line = s->line;
}

static void fail_libcsv(struct csv_stream *s, int at_end)
{
    int e = csv_error(&s->p);

    if (e == CSV_EPARSE && at_end)
        fail(s, ML_EFORMAT, "line %llu, column %zu: quoted field is not closed before the end "
             "of the input", (unsigned long long)s->row_line, s->field + 1);
    else if (e == CSV_EPARSE)
        fail(s, ML_EFORMAT, "line %llu, column %zu: misplaced quote: a field with a quote must "
             "be quoted as a whole, with inner quotes doubled", (unsigned long long)s->row_line,
             s->field + 1);
    else if (e == CSV_ENOMEM)
        s->oom = 1;
    else
        fail(s, ML_ELIMIT, "line %llu: libcsv: %s", (unsigned long long)s->row_line,
             csv_strerror(e));
}

/* Feed n bytes to libcsv. */
static void feed(struct csv_stream *s, const char *b, size_t n)
{
    size_t used;

    if (!s->quotes && memchr(b, '"', n))
        s->quotes = 1;
    used = csv_parse(&s->p, b, n, on_field, on_record, s);
    if (s->fatal || s->oom)
        return;
    if (used != n) {
        fail_libcsv(s, 0);
        return;
    }
    /* A field still open: cap libcsv's buffer rather than let it grow. */
    if (s->p.entry_pos > s->max_field)
        fail(s, ML_ELIMIT, "line %llu, column %zu: field longer than %zu bytes",
             (unsigned long long)s->row_line, s->field + 1, s->max_field);
}

/* Make bytes pending if there are any left; 0 at the end or on error. */
static int fill(struct csv_stream *s, struct ml_err *err)
{
    size_t got;

    if (s->npend)
        return 1;
    if (s->eof)
        return 0;
    if (!s->src) {
        size_t n = s->mem_len - s->mem_pos;
        if (n == 0) {
            s->eof = 1;
            return 0;
        }
        if (n > CSV_STREAM_SLICE)
            n = CSV_STREAM_SLICE;
        s->pend = s->mem + s->mem_pos;
        s->npend = n;
        s->mem_pos += n;
        return 1;
    }
    if (source_read(s->src, s->buf, CSV_STREAM_SLICE, &got, err) != ML_OK) {
        fail(s, err->code, "%s", err->msg);
        return 0;
    }
    if (got == 0) {
        s->eof = 1;
        return 0;
    }
    s->pend = s->buf;
    s->npend = got;
    return 1;
}

static enum ml_status report(struct csv_stream *s, struct ml_err *err)
{
    if (s->oom)
        ML_FAIL(err, ML_ENOMEM, "%s: out of memory", s->name);
    /* A read error's message already names the file. */
    if (s->src && strncmp(s->msg, s->name, strlen(s->name)) == 0)
        ML_FAIL(err, s->code, "%s", s->msg);
    ML_FAIL(err, s->code, "%s: %s", s->name, s->msg);
}

static enum ml_status open_common(struct csv_stream *s, struct ml_err *err)
{
    int first = 1;

    if (csv_init(&s->p, CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL) != 0)
        ML_FAIL(err, ML_ENOMEM, "%s: cannot initialise libcsv", s->name);
    s->p_init = 1;
    csv_set_delim(&s->p, (unsigned char)s->delim);
    csv_set_blk_size(&s->p, 4096);
    s->line = s->row_line = 1;
    s->head = 1;
    /* The header, one line (up to a CR or LF) at a time. */
    while (s->head && !s->fatal && !s->oom) {
        const char *b;
        size_t n, k;

        if (!fill(s, err))
            break;
        b = s->pend;
        n = s->npend;
        if (first) {
            /* A byte-order mark; a FIFO may deliver fewer than 3 bytes. */
            first = 0;
            if (n >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0) {
                b += 3;
                n -= 3;
            }
        }
        for (k = 0; k < n && b[k] != '\n' && b[k] != '\r'; k++)
            ;
        if (k < n)
            k++;
        feed(s, b, k);
        s->pend = b + k;
        s->npend = n - k;
    }
    if (s->head && !s->fatal && !s->oom) {
        if (csv_fini(&s->p, on_field, on_record, s) != 0)
            fail_libcsv(s, 1);
        s->done = 1;
    }
    if (s->fatal || s->oom)
        return report(s, err);
    if (s->head)
        ML_FAIL(err, ML_EFORMAT, "%s: the input is empty (no header row)", s->name);
    return ML_OK;
}

static enum ml_status alloc_stream(struct csv_stream **out, const char *name, char delim,
                                   const struct rs_column *cols, size_t ncols,
                                   size_t chunk_rows, struct ml_err *err)
{
    struct csv_stream *s;

    *out = NULL;
    if (delim == '"' || delim == '\r' || delim == '\n' || delim == '\0')
        ML_FAIL(err, ML_EINVAL, "%s: delimiter 0x%02x cannot be used (quote, CR, LF or NUL)",
                name, (unsigned)(unsigned char)delim);
    s = calloc(1, sizeof *s);
    if (!s || !(s->name = strdup(name))) {
        free(s);
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    }
    s->cols = cols;
    s->ncols = ncols;
    s->chunk_rows = chunk_rows ? chunk_rows : 1;
    /* Small chunks get small feeds, so a chunk ends close to chunk_rows rows
     * (and tests with tiny chunks cross real chunk boundaries). */
    s->feed_max = s->chunk_rows < CSV_STREAM_SLICE / 64 ? s->chunk_rows * 64 : CSV_STREAM_SLICE;
    s->max_field = (size_t)1 << 20;
    s->delim = delim;
    *out = s;
    return ML_OK;
}

enum ml_status csv_stream_open(struct csv_stream **out, const char *path, char delim,
                               const struct rs_column *cols, size_t ncols, size_t chunk_rows,
                               struct ml_err *err)
{
    struct csv_stream *s;
    enum ml_status st = alloc_stream(&s, path, delim, cols, ncols, chunk_rows, err);

    if (st)
        return st;
    st = source_open(&s->src, path, err);
    if (!st && !(s->buf = malloc(CSV_STREAM_SLICE)))
        st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "%s: out of memory", path);
    if (!st)
        st = open_common(s, err);
    if (st)
        csv_stream_close(s);
    else
        *out = s;
    return st;
}

enum ml_status csv_stream_open_mem(struct csv_stream **out, const char *buf, size_t len,
                                   const char *name, char delim, const struct rs_column *cols,
                                   size_t ncols, size_t chunk_rows, struct ml_err *err)
{
    struct csv_stream *s;
    enum ml_status st = alloc_stream(&s, name, delim, cols, ncols, chunk_rows, err);

    if (st)
        return st;
    s->mem = buf;
    s->mem_len = len;
    st = open_common(s, err);
    if (st)
        csv_stream_close(s);
    else
        *out = s;
    return st;
}

size_t csv_stream_ncols(const struct csv_stream *s)
{
    return s->nin;
}

const char *csv_stream_colname(const struct csv_stream *s, size_t j)
{
    return j < s->nin ? s->hnames[j] : NULL;
}

uint64_t csv_stream_bytes(const struct csv_stream *s)
{
    return s->src ? source_raw_bytes(s->src) : s->mem_pos;
}

enum ml_status csv_stream_next(struct csv_stream *s, struct rs_chunk *c, struct ml_err *err)
{
    enum ml_status st;

    if (s->fatal || s->oom)
        return report(s, err);
    st = rs_chunk_reset(c, s->cols, s->ncols, err);
    if (!st)
        st = rs_chunk_grow(c, s->chunk_rows < 1024 ? 1024 : s->chunk_rows, err);
    if (st)
        return st;
    c->first_row = s->data_rows + 1;
    c->t->nrow = 0;
    s->cur = c;
    s->nrow = 0;
    while (s->nrow < s->chunk_rows && !s->fatal && !s->oom) {
        if (!fill(s, err)) {
            if (!s->done && !s->fatal) {
                if (csv_fini(&s->p, on_field, on_record, s) != 0)
                    fail_libcsv(s, 1);
                s->done = 1;
            }
            break;
        }
        {
            size_t n = s->npend < s->feed_max ? s->npend : s->feed_max;
            feed(s, s->pend, n);
            s->pend += n;
            s->npend -= n;
        }
    }
    /* A chunk ends between records: a record whose first cells are
     * stored must get its last ones in the same chunk.  Feed up to each next
     * line end until the record is complete (a line end inside a quoted
     * field does not complete it: go on). */
    while (s->field > 0 && !s->fatal && !s->oom) {
        size_t k;

        if (!fill(s, err)) {
            if (!s->done && !s->fatal) {
                if (csv_fini(&s->p, on_field, on_record, s) != 0)
                    fail_libcsv(s, 1);
                s->done = 1;
            }
            break;
        }
        for (k = 0; k < s->npend && s->pend[k] != '\n' && s->pend[k] != '\r'; k++)
            ;
        if (k < s->npend)
            k++;
        feed(s, s->pend, k);
        s->pend += k;
        s->npend -= k;
    }
    s->cur = NULL;
    if (s->fatal || s->oom) {
        /* The rows parsed before the error must not be scored as if all was well. */
        c->t->nrow = 0;
        return report(s, err);
    }
    c->t->nrow = s->nrow;
    s->data_rows += s->nrow;
    return ML_OK;
}

void csv_stream_close(struct csv_stream *s)
{
    size_t j;

    if (!s)
        return;
    if (s->p_init)
        csv_free(&s->p);
    for (j = 0; j < s->nin; j++)
        free(s->hnames[j]);
    free(s->hnames);
    free(s->map);
    free(s->buf);
    free(s->name);
    source_close(s->src);
    free(s);
}
