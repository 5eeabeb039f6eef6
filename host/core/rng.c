/* rng.c: PCG32 generator (pcg32_random_r from the PCG paper, reimplemented). */
#include "rng.h"

#define PCG_MULT 6364136223846793005ULL

uint32_t rng_next_u32(cm_rng *rng) {
    uint64_t old = rng->state;
    rng->state = old * PCG_MULT + rng->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31u));
}

void rng_seed(cm_rng *rng, uint64_t seed, uint64_t stream) {
    rng->state = 0;
    rng->inc = (stream << 1u) | 1u;
    rng_next_u32(rng);
    rng->state += seed;
    rng_next_u32(rng);
}

uint32_t rng_bounded(cm_rng *rng, uint32_t bound) {
    /* Lemire-free classic: reject the low values that would bias the modulo. */
    uint32_t threshold = (-bound) % bound;
    for (;;) {
        uint32_t r = rng_next_u32(rng);
        if (r >= threshold) return r % bound;
    }
}

float rng_uniform(cm_rng *rng) {
    return (float)(rng_next_u32(rng) >> 8) * (1.0f / 16777216.0f);
}

void rng_shuffle(cm_rng *rng, int32_t *perm, int32_t n) {
    for (int32_t i = n - 1; i > 0; i--) {
        int32_t j = (int32_t)rng_bounded(rng, (uint32_t)i + 1u);
        int32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}
