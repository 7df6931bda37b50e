/* PCG32 (O'Neill, pcg-random.org): small state, good statistics, and a fixed sequence per seed on
 * every platform, which a reproducible dataset split needs (rand() differs between C libraries). */
#include "util/rng.h"

#include <math.h>

void dlcc_rng_seed(dlcc_rng *rng, uint64_t seed) {
  rng->state = 0;
  rng->inc = (seed << 1u) | 1u;
  dlcc_rng_u32(rng);
  rng->state += 0x853c49e6748fea9bULL ^ seed;
  dlcc_rng_u32(rng);
}

uint32_t dlcc_rng_u32(dlcc_rng *rng) {
  uint64_t old = rng->state;
  rng->state = old * 6364136223846793005ULL + rng->inc;
  uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
  uint32_t rot = (uint32_t)(old >> 59u);
  return (xorshifted >> rot) | (xorshifted << ((-rot) & 31u));
}

uint32_t dlcc_rng_below(dlcc_rng *rng, uint32_t bound) {
  uint32_t threshold = (uint32_t)(-bound) % bound;
  for (;;) {
    uint32_t r = dlcc_rng_u32(rng);
    if (r >= threshold) return r % bound;
  }
}

double dlcc_rng_uniform(dlcc_rng *rng) {
  uint64_t hi = dlcc_rng_u32(rng) >> 5, lo = dlcc_rng_u32(rng) >> 6;
  return (double)(hi * 67108864ULL + lo) / 9007199254740992.0;
}

double dlcc_rng_normal(dlcc_rng *rng) {
  double u1 = dlcc_rng_uniform(rng), u2 = dlcc_rng_uniform(rng);
  if (u1 < 1e-300) u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void dlcc_rng_permutation(dlcc_rng *rng, size_t *perm, size_t n) {
  for (size_t i = 0; i < n; i++) perm[i] = i;
  for (size_t i = n; i > 1; i--) {
    size_t j = dlcc_rng_below(rng, (uint32_t)i);
    size_t t = perm[i - 1];
    perm[i - 1] = perm[j];
    perm[j] = t;
  }
}
