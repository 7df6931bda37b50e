/* Seeded pseudo-random numbers (PCG32): every random choice in dlcc takes one of these from its
 * caller, so the same seed reproduces a dataset split, a demo project or a training run. */
#ifndef DLCC_UTIL_RNG_H
#define DLCC_UTIL_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct dlcc_rng {
  uint64_t state;
  uint64_t inc;
} dlcc_rng;

/* Seeds the generator; the same seed always gives the same sequence. */
void dlcc_rng_seed(dlcc_rng *rng, uint64_t seed);
/* Uniform 32-bit integer. */
uint32_t dlcc_rng_u32(dlcc_rng *rng);
/* Uniform integer in [0, bound) without modulo bias; bound must be > 0. */
uint32_t dlcc_rng_below(dlcc_rng *rng, uint32_t bound);
/* Uniform double in [0, 1). */
double dlcc_rng_uniform(dlcc_rng *rng);
/* Standard normal (mean 0, deviation 1), Box-Muller. */
double dlcc_rng_normal(dlcc_rng *rng);
/* Fills perm with a uniformly random permutation of 0..n-1 (Fisher-Yates). */
void dlcc_rng_permutation(dlcc_rng *rng, size_t *perm, size_t n);

#endif
