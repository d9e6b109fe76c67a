/* jsonl_stream.c: chunked JSON Lines reading with cJSON (see
 * jsonl_stream.h).  Bytes are read CSV_STREAM_SLICE at a time into a buffer
 * that holds at most one partial line (up to JSONL_MAX_LINE) plus a slice;
 * complete lines are parsed in place with cJSON_ParseWithLengthOpts, so
 * nothing is copied per line. */
#include "jsonl_stream.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "source/source.h"

#define SHOW_MAX 60

struct jsonl_stream {
    const struct rs_column *cols;
    size_t ncols;
    size_t chunk_rows;
    char *name;              /* owned */
    struct source *src;      /* NULL for memory input */
    const char *mem;
    size_t mem_len, mem_pos;
    char *buf;               /* owned */
    size_t cap, pos, len;
    int eof, first;
    uint64_t line;           /* lines consumed */
    uint64_t rows;           /* data rows delivered */
    enum ml_status code;     /* sticky error */
    char msg[ML_ERR_MSG_MAX];
};

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

static enum ml_status alloc_stream(struct jsonl_stream **out, const char *name,
                                   const struct rs_column *cols, size_t ncols,
                                   size_t chunk_rows, struct ml_err *err)
{
    struct jsonl_stream *s = calloc(1, sizeof *s);

    *out = NULL;
    if (!s || !(s->name = strdup(name)) ||
        !(s->buf = malloc(JSONL_MAX_LINE + CSV_STREAM_SLICE + 1))) {
        if (s)
            free(s->name);
        free(s);
        ML_FAIL(err, ML_ENOMEM, "out of memory");
    }
    s->cap = JSONL_MAX_LINE + CSV_STREAM_SLICE;
    s->cols = cols;
    s->ncols = ncols;
    s->chunk_rows = chunk_rows ? chunk_rows : 1;
    s->first = 1;
    *out = s;
    return ML_OK;
}

enum ml_status jsonl_stream_open(struct jsonl_stream **out, const char *path,
                                 const struct rs_column *cols, size_t ncols, size_t chunk_rows,
                                 struct ml_err *err)
{
    struct jsonl_stream *s;
    enum ml_status st = alloc_stream(&s, path, cols, ncols, chunk_rows, err);

    if (st)
        return st;
    st = source_open(&s->src, path, err);
    if (st) {
        jsonl_stream_close(s);
        return st;
    }
    *out = s;
    return ML_OK;
}

enum ml_status jsonl_stream_open_mem(struct jsonl_stream **out, const char *buf, size_t len,
                                     const char *name, const struct rs_column *cols,
                                     size_t ncols, size_t chunk_rows, struct ml_err *err)
{
    struct jsonl_stream *s;
    enum ml_status st = alloc_stream(&s, name, cols, ncols, chunk_rows, err);

    if (st)
        return st;
    s->mem = buf;
    s->mem_len = len;
    *out = s;
    return ML_OK;
}

/* Read more bytes after the partial line at [pos, len); 0 at the end. */
static enum ml_status refill(struct jsonl_stream *s, struct ml_err *err)
{
    size_t got = 0;

    if (s->pos > 0) {
        memmove(s->buf, s->buf + s->pos, s->len - s->pos);
        s->len -= s->pos;
        s->pos = 0;
    }
    if (s->len >= JSONL_MAX_LINE)
        ML_FAIL(err, ML_ELIMIT, "%s: line %llu is longer than %zu bytes", s->name,
                (unsigned long long)(s->line + 1), JSONL_MAX_LINE);
    if (s->src) {
        enum ml_status st = source_read(s->src, s->buf + s->len, CSV_STREAM_SLICE, &got, err);
        if (st)
            return st;
    } else {
        got = s->mem_len - s->mem_pos;
        if (got > CSV_STREAM_SLICE)
            got = CSV_STREAM_SLICE;
        memcpy(s->buf + s->len, s->mem + s->mem_pos, got);
        s->mem_pos += got;
    }
    if (got == 0)
        s->eof = 1;
    s->len += got;
    return ML_OK;
}

static int is_ws(unsigned char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* One value into column j of row i. */
static int store_value(struct rs_chunk *c, size_t j, size_t i, const cJSON *v)
{
    char num[40], nm[SHOW_MAX * 4 + 8];
    const char *name = c->t->col[j].name;

    if (cJSON_IsNull(v)) {
        c->t->col[j].v[i] = NAN;
        return 1;
    }
    if (cJSON_IsString(v))
        return rs_store_text(c, j, i, v->valuestring, strlen(v->valuestring));
    if (cJSON_IsBool(v)) {
        if (c->t->col[j].type == ML_COL_NUMERIC) {
            c->t->col[j].v[i] = cJSON_IsTrue(v) ? 1.0 : 0.0;
            return 1;
        }
        return rs_store_text(c, j, i, cJSON_IsTrue(v) ? "true" : "false",
                             cJSON_IsTrue(v) ? 4 : 5);
    }
    if (cJSON_IsNumber(v)) {
        if (!isfinite(v->valuedouble)) {
            c->t->col[j].v[i] = NAN;
            return rs_chunk_mark_bad(c, i, "row %llu (line %llu), key \"%s\": the number is "
                                     "out of range", (unsigned long long)(c->first_row + i),
                                     (unsigned long long)c->line[i],
                                     show(nm, sizeof nm, name, strlen(name)));
        }
        if (c->t->col[j].type == ML_COL_NUMERIC) {
            c->t->col[j].v[i] = v->valuedouble;
            return 1;
        }
        /* A text column given a number: the number's canonical text is the level. */
        snprintf(num, sizeof num, "%.15g", v->valuedouble);
        return rs_store_text(c, j, i, num, strlen(num));
    }
    c->t->col[j].v[i] = NAN;
    return rs_chunk_mark_bad(c, i, "row %llu (line %llu), key \"%s\": expected a number, a "
                             "string or null, not %s", (unsigned long long)(c->first_row + i),
                             (unsigned long long)c->line[i],
                             show(nm, sizeof nm, name, strlen(name)),
                             cJSON_IsArray(v) ? "an array" : "an object");
}

/* Parse one line [b, b + n) into row i of c.  0 only when out of memory. */
static int parse_line(struct jsonl_stream *s, struct rs_chunk *c, size_t i, const char *b,
                      size_t n)
{
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(b, n, &end, 0);
    char nm[SHOW_MAX * 4 + 8];
    size_t j;
    int ok = 1;

    c->line[i] = s->line;
    if (o && end) {
        while (end < b + n && is_ws((unsigned char)*end))
            end++;
        if (end != b + n) {
            cJSON_Delete(o);
            for (j = 0; j < s->ncols; j++)
                c->t->col[j].v[i] = NAN;
            return rs_chunk_mark_bad(c, i, "row %llu (line %llu): text after the JSON value "
                                     "at byte %zu", (unsigned long long)(c->first_row + i),
                                     (unsigned long long)s->line, (size_t)(end - b) + 1);
        }
    }
    if (!cJSON_IsObject(o)) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = o == NULL && at && at >= b && at <= b + n ? (size_t)(at - b) + 1 : 0;
        cJSON_Delete(o);
        for (j = 0; j < s->ncols; j++)
            c->t->col[j].v[i] = NAN;
        if (off)
            return rs_chunk_mark_bad(c, i, "row %llu (line %llu): not valid JSON (near byte "
                                     "%zu)", (unsigned long long)(c->first_row + i),
                                     (unsigned long long)s->line, off);
        return rs_chunk_mark_bad(c, i, "row %llu (line %llu): %s, where a JSON object keyed "
                                 "by column name is expected",
                                 (unsigned long long)(c->first_row + i),
                                 (unsigned long long)s->line,
                                 o ? "not an object" : "not valid JSON");
    }
    for (j = 0; j < s->ncols && ok; j++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, s->cols[j].name);
        if (!v) {
            c->t->col[j].v[i] = NAN;
            ok = rs_chunk_mark_bad(c, i, "row %llu (line %llu): no key \"%s\"",
                                   (unsigned long long)(c->first_row + i),
                                   (unsigned long long)s->line,
                                   show(nm, sizeof nm, s->cols[j].name,
                                        strlen(s->cols[j].name)));
            continue;
        }
        ok = store_value(c, j, i, v);
    }
    cJSON_Delete(o);
    return ok;
}

enum ml_status jsonl_stream_next(struct jsonl_stream *s, struct rs_chunk *c,
                                 struct ml_err *err)
{
    enum ml_status st;
    size_t nrow = 0;

    if (s->code)
        ML_FAIL(err, s->code, "%s", s->msg);
    st = rs_chunk_reset(c, s->cols, s->ncols, err);
    if (!st)
        st = rs_chunk_grow(c, s->chunk_rows, err);
    if (st)
        return st;
    c->first_row = s->rows + 1;
    c->t->nrow = 0;
    while (nrow < s->chunk_rows) {
        const char *b = s->buf + s->pos, *nl = memchr(b, '\n', s->len - s->pos);
        size_t n, k;

        if (!nl && !s->eof) {
            st = refill(s, err);
            if (st)
                break;
            continue;
        }
        if (!nl && s->pos == s->len)
            break;   /* the end */
        n = nl ? (size_t)(nl - b) : s->len - s->pos;
        s->pos += n + (nl != NULL);
        s->line++;
        if (s->first) {
            s->first = 0;
            if (n >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0) {
                b += 3;
                n -= 3;
            }
        }
        for (k = 0; k < n && is_ws((unsigned char)b[k]); k++)
            ;
        if (k == n)
            continue;   /* a blank line */
        if (nrow == c->cap) {
            st = rs_chunk_grow(c, nrow, err);
            if (st)
                break;
        }
        c->t->nrow = nrow + 1;
        if (!parse_line(s, c, nrow, b, n)) {
            st = ml_fail(err, ML_ENOMEM, __FILE__, __LINE__, "%s: out of memory", s->name);
            break;
        }
        nrow++;
    }
    if (st) {
        s->code = st;
        snprintf(s->msg, sizeof s->msg, "%s", err->msg);
        c->t->nrow = 0;
        return st;
    }
    c->t->nrow = nrow;
    s->rows += nrow;
    return ML_OK;
}

void jsonl_stream_close(struct jsonl_stream *s)
{
    if (!s)
        return;
    source_close(s->src);
    free(s->buf);
    free(s->name);
    free(s);
}
