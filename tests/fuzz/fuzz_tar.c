/* fuzz_tar.c: libFuzzer target for the model-artifact tar reader
 * (io/source/tar_read.c), fed raw tar bytes from memory.  Besides crashes,
 * leaks and UB, aborts when a sink sees an entry whose delivered bytes
 * differ from its announced size, a name that is empty, absolute, holds a
 * ".." component or a leading "./", or more entries than the limit.
 * Corpus: tests/fuzz/corpus/fuzz_tar/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/tar_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
    const uint8_t *p;
    size_t n, pos;
};

struct count {
    uint64_t want, got;
    size_t entries;
    int open;
};

static long mem_read(void *src, void *buf, size_t n, struct ml_err *err)
{
    struct mem *m = src;
    size_t k = m->n - m->pos < n ? m->n - m->pos : n;

    (void)err;
    memcpy(buf, m->p + m->pos, k);
    m->pos += k;
    return (long)k;
}

static enum ml_status s_begin(void *ctx, const char *name, int is_dir, uint64_t size,
                              struct ml_err *err)
{
    struct count *c = ctx;
    const char *p;

    (void)err;
    if (!name[0] || name[0] == '/' || strncmp(name, "./", 2) == 0 || c->open)
        abort();
    for (p = name; p; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL)
        if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == '\0'))
            abort();
    c->entries++;
    c->want = size;
    c->got = 0;
    c->open = !is_dir;
    return ML_OK;
}

static enum ml_status s_data(void *ctx, const void *buf, size_t n, struct ml_err *err)
{
    struct count *c = ctx;

    (void)buf;
    (void)err;
    if (!c->open)
        abort();
    c->got += n;
    return ML_OK;
}

static enum ml_status s_end(void *ctx, struct ml_err *err)
{
    struct count *c = ctx;

    (void)err;
    if (!c->open || c->got != c->want)
        abort();
    c->open = 0;
    return ML_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mem m = {data, size, 0};
    struct count c = {0, 0, 0, 0};
    struct tar_sink sink = {s_begin, s_data, s_end, &c};
    struct tar_input in = {mem_read, &m, "fuzz.tar"};
    struct tar_limits lim = {1 << 16, 1 << 20, 8};
    struct ml_err err;

    tar_read(&in, &lim, &sink, &err);
    if (c.entries > lim.max_entries)
        abort();
    return 0;
}
