/* ml_rng.h: a small, fast, seedable PRNG with a fixed stream for a given seed.
 *
 * xoshiro256** (Blackman & Vigna, "Scrambled linear pseudorandom number
 * generators", ACM TOMS 47(4), 2021) seeded through splitmix64, as its authors
 * recommend.  Reproducibility across platforms matters more here than speed:
 * the same seed gives the same sample data and the same forests everywhere.
 * A state is owned by one thread; use ml_rng_jump-free per-stream seeding
 * (ml_rng_seed(&r, seed, stream)) to give each worker its own stream. */
#ifndef ML_RNG_H
#define ML_RNG_H

#include <stdint.h>

struct ml_rng {
    uint64_t s[4];
};

/* Seed from (seed, stream): different streams give independent sequences. */
void ml_rng_seed(struct ml_rng *r, uint64_t seed, uint64_t stream);
uint64_t ml_rng_u64(struct ml_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double ml_rng_uniform(struct ml_rng *r);
/* Uniform integer in [0, n), unbiased (Lemire's multiply-shift with rejection). */
uint64_t ml_rng_below(struct ml_rng *r, uint64_t n);
/* Standard normal deviate (Marsaglia polar method; no cached second value so
 * the stream stays a pure function of the state). */
double ml_rng_normal(struct ml_rng *r);

#endif
