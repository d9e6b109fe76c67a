/* csv_impl.h: internals of io/csv shared with its tests and fuzz target only.
 * No other module includes this. */
#ifndef PF_CSV_IMPL_H
#define PF_CSV_IMPL_H

#include <float.h>
#include <stddef.h>
#include <stdint.h>

#include "csv_read.h"

/* Smallest chunk, in bytes, that the multi-threaded parser hands to a thread
 * when csv_read_file / csv_read_mem split a file.  Below this, starting a
 * thread costs more than it saves. */
#define CSV_MT_MIN_CHUNK ((size_t)256 << 10)

/* csv_read_mem with the chunk floor as a parameter, so tests and the fuzzer
 * can drive the multi-threaded path on inputs of a few bytes (min_chunk = 1).
 * Same contract as csv_read_mem otherwise. */
enum ml_status csv_read_mem_chunked(const char *buf, size_t len, const char *name,
                                    const struct csv_options *o, size_t min_chunk,
                                    struct ml_table **out, struct ml_err *err);

/* csv_number.c: 10^0..10^22, each exact in a double. */
extern const double csv_pow10_exact[23];

/* csv_parse_double for any literal (exponents, long mantissas, subnormals). */
int csv_number_general(const char *s, size_t len, double *out);

/* csv_parse_double, inlined into the reader's field callback.  Most CSV cells
 * are short plain decimals ("-12.345"): two tight digit loops, with no
 * exponent and at most 19 digits, so w holds them exactly; anything else goes
 * to csv_number_general, which rescans with full bookkeeping.  The result is
 * Clinger's fast path with q = -(digits after the point); see csv_number.c. */
static inline int csv_number_fast(const char *s, size_t len, double *out)
{
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + len;
    const unsigned char *d0, *dot;
    uint64_t w = 0;
    size_t ndig, nfrac;
    int neg;

    if (len == 0 || len > 21)
        return csv_number_general(s, len, out);
    neg = *p == '-';
    p += *p == '-' || *p == '+';
    d0 = p;
    while (p < end && (unsigned)*p - '0' <= 9)
        w = 10 * w + ((unsigned)*p++ - '0');
    ndig = (size_t)(p - d0);
    nfrac = 0;
    if (p < end && *p == '.') {
        dot = ++p;
        while (p < end && (unsigned)*p - '0' <= 9)
            w = 10 * w + ((unsigned)*p++ - '0');
        nfrac = (size_t)(p - dot);
        ndig += nfrac;
    }
    if (p != end)
        return csv_number_general(s, len, out);
    if (ndig > 0 && ndig <= 19 && w <= ((uint64_t)1 << 53) && nfrac <= 22) {
        double v = (double)w;
        if (nfrac)
            v /= csv_pow10_exact[nfrac];
        *out = neg ? -v : v;
        return 1;
    }
#endif
    return csv_number_general(s, len, out);
}

#endif
