/* csv_number.c: csv_parse_double, a correctly rounded decimal -> double
 * conversion in the C locale, independent of the process locale.
 *
 * The literal is first validated and scanned once by hand: optional sign,
 * digits with at most one '.', at least one mantissa digit, optional e/E with
 * optional sign and at least one digit, nothing else (no spaces, no "inf",
 * "nan" or hex, which strtod would accept).  The scan gathers up to 19
 * significant digits into a uint64_t w and a decimal exponent q.
 *
 * Fast path (Clinger, "How to read floating point numbers accurately",
 * PLDI 1990, section 5 "the fast path"): when w <= 2^53 and |q| <= 22 both
 * w and 10^|q| are exact doubles, so the single IEEE multiplication
 * w * 10^q or division w / 10^-q is correctly rounded by definition.  That
 * needs arithmetic in double precision (FLT_EVAL_METHOD == 0, true for SSE2
 * and AArch64); with x87 extended precision the fast path is compiled out
 * because double rounding could break it.
 *
 * Everything else (more than 19 significant digits with a nonzero tail, w >
 * 2^53, large exponents, subnormals) goes to strtod_l with a "C" locale
 * object made once by newlocale; glibc's strtod is correctly rounded.  We
 * never call setlocale, so other threads are unaffected.
 *
 * Decided: a literal whose value overflows ("1e400", strtod gives HUGE_VAL)
 * is rejected as not a number, because an infinite feature would poison
 * every fit; one that underflows ("1e-400") is accepted as the correctly
 * rounded result (0 or a subnormal), as strtod returns it. */
#include <float.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv_impl.h"

/* 10^0 .. 10^22 are exactly representable: 10^22 = 2^22 * 5^22 and
 * 5^22 < 2^53 (Clinger 1990, section 5). */
const double csv_pow10_exact[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

static void c_locale_make(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* Slow path: strtod_l on a NUL-terminated copy of an already validated literal. */
static int parse_slow(const char *s, size_t len, double *out)
{
    char small[128];
    char *buf = small;
    char *end;
    double v;

    pthread_once(&c_locale_once, c_locale_make);
    if (c_locale == (locale_t)0)
        return 0;   /* newlocale failed (out of memory): cannot parse safely */
    if (len >= sizeof small) {
        buf = malloc(len + 1);
        if (!buf)
            return 0;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    v = strtod_l(buf, &end, c_locale);
    if (buf != small)
        free(buf);
    if (!isfinite(v))
        return 0;
    *out = v;
    return 1;
}

/* The general scanner: any valid literal, any digit count or exponent. */
int csv_number_general(const char *s, size_t len, double *out)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + len;
    uint64_t w = 0;          /* first up-to-19 significant digits */
    int nsig = 0;            /* digits held in w */
    int tail_nonzero = 0;    /* a nonzero significant digit did not fit in w */
    long q = 0;              /* value = w * 10^q (before the tail) */
    int ndigits = 0;         /* mantissa digits seen, zeros included */
    int neg = 0;
    unsigned d;

    if (p == end)
        return 0;
    if (*p == '+' || *p == '-') {
        neg = *p == '-';
        p++;
    }
    for (; p < end && (d = (unsigned)*p - '0') <= 9; p++) {
        ndigits++;
        if (nsig == 0 && d == 0)
            continue;                   /* leading zero */
        if (nsig < 19) {
            w = 10 * w + d;
            nsig++;
        } else {
            q++;                        /* digit dropped left of the point */
            tail_nonzero |= d != 0;
        }
    }
    if (p < end && *p == '.') {
        p++;
        for (; p < end && (d = (unsigned)*p - '0') <= 9; p++) {
            ndigits++;
            if (nsig == 0 && d == 0) {
                q--;                    /* leading zero right of the point */
                continue;
            }
            if (nsig < 19) {
                w = 10 * w + d;
                nsig++;
                q--;
            } else {
                tail_nonzero |= d != 0;
            }
        }
    }
    if (ndigits == 0)
        return 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        long e = 0;
        int eneg = 0;
        int edigits = 0;

        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            eneg = *p == '-';
            p++;
        }
        for (; p < end && (d = (unsigned)*p - '0') <= 9; p++) {
            edigits++;
            /* Saturate: any |e| past this overflows or underflows whatever the
             * mantissa, and strtod_l gets the literal text anyway. */
            if (e < 100000000)
                e = 10 * e + d;
        }
        if (edigits == 0)
            return 0;
        q += eneg ? -e : e;
    }
    if (p != end)
        return 0;
    if (w == 0) {
        *out = neg ? -0.0 : 0.0;   /* all digits zero: exactly zero at any exponent */
        return 1;
    }
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    if (!tail_nonzero && w <= ((uint64_t)1 << 53) && q >= -22 && q <= 22) {
        double v = (double)w;
        v = q < 0 ? v / csv_pow10_exact[-q] : v * csv_pow10_exact[q];
        *out = neg ? -v : v;
        return 1;
    }
#endif
    return parse_slow(s, len, out);
}

int csv_parse_double(const char *s, size_t len, double *out)
{
    return csv_number_fast(s, len, out);
}
