/* rng.h: PCG32 (O'Neill, pcg-random.org, XSH-RR 64/32), identical on every platform.
 * Used for weight initialisation and the per-epoch shuffle. */
#ifndef CLMNIST_RNG_H
#define CLMNIST_RNG_H
#include <stdint.h>

typedef struct {
    uint64_t state;
    uint64_t inc; /* stream selector, always odd */
} cm_rng;

void rng_seed(cm_rng *rng, uint64_t seed, uint64_t stream);
uint32_t rng_next_u32(cm_rng *rng);
/* Uniform integer in [0, bound) without modulo bias; bound > 0. */
uint32_t rng_bounded(cm_rng *rng, uint32_t bound);
/* Uniform float in [0, 1) with 24 random bits. */
float rng_uniform(cm_rng *rng);
/* Fisher-Yates shuffle of perm[0..n). */
void rng_shuffle(cm_rng *rng, int32_t *perm, int32_t n);

#endif
