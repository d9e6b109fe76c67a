/* fuzz_csv_stream.c: libFuzzer target for the streaming readers of
 * `plantfit predict`: io/csv/csv_stream.c (CSV) and io/json/jsonl_stream.c
 * (JSON Lines).
 *
 * Input layout: byte 0 picks the mode, the rest is the text.
 *   bit 0     0: CSV, 1: JSON Lines
 *   bits 1-3  chunk_rows = 1 + value (1..8: many chunk boundaries)
 *   bit 4     column "b" read as text (else numeric)
 *   bits 5-6  delimiter (, ; TAB |)
 * Wanted columns: "a" and "b" (JSON Lines also "c").  Besides crashes,
 * leaks and UB, two checks abort:
 *   - differential (CSV): when csv_read_mem reads the whole text without
 *     error and its header holds a and b, the stream must succeed too, with
 *     no bad row and the same values bit for bit, in the same order, whatever
 *     the chunk size;
 *   - every chunk is consistent: first_row continues the previous chunk,
 *     nbad counts the rows with a reason, and rs_chunk_compact keeps exactly
 *     the good rows.
 * Corpus: tests/fuzz/corpus/fuzz_csv_stream/. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv/csv_read.h"
#include "csv/csv_stream.h"
#include "json/jsonl_stream.h"
#include "ml_table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what)
{
    fprintf(stderr, "fuzz_csv_stream: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char delims[4] = {',', ';', '\t', '|'};
    struct rs_column cols[3] = {{"a", RS_NUMERIC}, {"b", RS_NUMERIC}, {"c", RS_NUMERIC}};
    struct csv_stream *cs = NULL;
    struct jsonl_stream *js = NULL;
    struct rs_chunk ch;
    struct ml_table *ref = NULL;
    struct ml_err err;
    const char *text;
    size_t len, chunk_rows, row = 0, i;
    uint64_t next_first = 1;
    long ra = -1, rb = -1;
    int jsonl, mode;
    char delim;
    enum ml_status st;

    if (size < 1)
        return 0;
    mode = data[0];
    jsonl = mode & 1;
    chunk_rows = 1 + ((mode >> 1) & 7);
    if (mode & 16)
        cols[1].kind = RS_TEXT;
    delim = delims[(mode >> 5) & 3];
    text = (const char *)data + 1;
    len = size - 1;

    if (!jsonl && !(mode & 16)) {
        struct csv_options o;
        csv_options_default(&o);
        o.delim = delim;
        if (csv_read_mem(text, len, "ref", &o, &ref, &err) == ML_OK) {
            ra = ml_table_find(ref, "a");
            rb = ml_table_find(ref, "b");
            if (ra < 0 || rb < 0) {
                ml_table_free(ref);
                ref = NULL;
            }
        }
    }
    rs_chunk_init(&ch);
    if (jsonl)
        st = jsonl_stream_open_mem(&js, text, len, "fuzz", cols, 3, chunk_rows, &err);
    else
        st = csv_stream_open_mem(&cs, text, len, "fuzz", delim, cols, 2, chunk_rows, &err);
    if (st && ref)
        die("csv_read_mem read the text, the stream could not open it");
    while (st == ML_OK) {
        size_t nbad = 0, n;
        st = jsonl ? jsonl_stream_next(js, &ch, &err) : csv_stream_next(cs, &ch, &err);
        if (st) {
            if (ref)
                die("csv_read_mem read the text, the stream failed");
            break;
        }
        n = ch.t->nrow;
        if (n == 0)
            break;
        if (ch.first_row != next_first)
            die("first_row does not continue the previous chunk");
        next_first += n;
        for (i = 0; i < n; i++)
            nbad += ch.bad[i] != NULL;
        if (nbad != ch.nbad)
            die("nbad does not count the bad rows");
        if (ref) {
            if (nbad)
                die("a bad row where csv_read_mem found none");
            for (i = 0; i < n; i++, row++) {
                if (row >= ref->nrow)
                    die("the stream has more rows than csv_read_mem");
                if (memcmp(&ch.t->col[0].v[i], &ref->col[ra].v[row], sizeof(double)) ||
                    memcmp(&ch.t->col[1].v[i], &ref->col[rb].v[row], sizeof(double)))
                    die("a value differs from csv_read_mem");
            }
        }
        {
            uint64_t *rowno = malloc(n * sizeof *rowno);
            size_t kept;
            if (!rowno)
                break;
            rs_chunk_compact(&ch, rowno);
            kept = ch.t->nrow;
            if (kept != n - nbad || ch.nbad != 0)
                die("rs_chunk_compact kept the wrong number of rows");
            for (i = 1; i < kept; i++)
                if (rowno[i] <= rowno[i - 1])
                    die("rs_chunk_compact changed the row order");
            free(rowno);
        }
    }
    if (ref && st == ML_OK && row != ref->nrow)
        die("the stream has fewer rows than csv_read_mem");
    rs_chunk_free(&ch);
    csv_stream_close(cs);
    jsonl_stream_close(js);
    ml_table_free(ref);
    return 0;
}
