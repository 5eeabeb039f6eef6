/* philox.h: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11),
 * the counter-based generator behind dropout masks and augmentation transforms. The same
 * function is in kernels/common.cl, so host and device draw the identical bits for the same
 * (key, counter): the host reference reproduces every device mask exactly.
 *
 * Streams used by the trainer (key = seed with a per-purpose tag in the high word):
 *   dropout:      key (seed_lo, seed_hi ^ CM_PHILOX_TAG_DROPOUT), counter (i / 4, layer, step_lo, step_hi);
 *                 element i (of the global batch's activations) uses output word i % 4.
 *   augmentation: key (seed_lo, seed_hi ^ CM_PHILOX_TAG_AUGMENT), counter (row, 0, step_lo, step_hi), row
 *                 the example's place in the global batch;
 *                 words 0..3 are x shift, y shift, rotation and scale; word 0 of counter
 *                 (row, 1, step_lo, step_hi) decides the mirror image (u < flip). */
#ifndef CLMNIST_PHILOX_H
#define CLMNIST_PHILOX_H
#include <stdint.h>

#define CM_PHILOX_TAG_DROPOUT 0x00D50A00u
#define CM_PHILOX_TAG_AUGMENT 0x00A06E00u

static inline void philox4x32_10(const uint32_t ctr_in[4], const uint32_t key_in[2], uint32_t out[4]) {
    uint32_t c0 = ctr_in[0], c1 = ctr_in[1], c2 = ctr_in[2], c3 = ctr_in[3];
    uint32_t k0 = key_in[0], k1 = key_in[1];
    for (int r = 0; r < 10; r++) {
        if (r > 0) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0, hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* A uniform float in [0, 1) from the top 24 bits: exact, so host and device agree bit for bit. */
static inline float philox_unit(uint32_t x) {
    return (float)(x >> 8) * (1.0f / 16777216.0f);
}

#endif
