/* ml_rng.c: xoshiro256** seeded by splitmix64 (see ml_rng.h for references). */
#include "ml_rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void ml_rng_seed(struct ml_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);
    int i;

    for (i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

uint64_t ml_rng_u64(struct ml_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double ml_rng_uniform(struct ml_rng *r)
{
    return (double)(ml_rng_u64(r) >> 11) * 0x1.0p-53;
}

/* 64x64 -> 128-bit product; __extension__ keeps -Wpedantic quiet about the
 * GCC/Clang type, which every compiler we build with has on 64-bit targets. */
__extension__ typedef unsigned __int128 ml_u128;

uint64_t ml_rng_below(struct ml_rng *r, uint64_t n)
{
    /* Lemire (2019), "Fast random integer generation in an interval",
     * ACM TOMACS 29(1), Algorithm 5. */
    ml_u128 m = (ml_u128)ml_rng_u64(r) * n;
    uint64_t lo = (uint64_t)m;

    if (lo < n) {
        uint64_t t = (0 - n) % n;
        while (lo < t) {
            m = (ml_u128)ml_rng_u64(r) * n;
            lo = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double ml_rng_normal(struct ml_rng *r)
{
    double u, v, s;

    do {
        u = 2.0 * ml_rng_uniform(r) - 1.0;
        v = 2.0 * ml_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return u * sqrt(-2.0 * log(s) / s);
}
