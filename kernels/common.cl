/* common.cl: helpers shared by every kernel family. Passed first to clCreateProgramWithSource,
 * so the other files may use these definitions. All tensors are row-major float32 unless a
 * kernel says otherwise; every kernel bounds-checks its global id, so global sizes may be
 * rounded up to any multiple of the work-group size. */

/* Index of the first maximum of z[0..n): the same tie rule as the host reference. */
inline int cm_argmax_row(const __global float *z, int n) {
    int best = 0;
    for (int c = 1; c < n; c++)
        if (z[c] > z[best]) best = c;
    return best;
}

/* Philox4x32-10 (Salmon et al., SC'11): the same function as host/core/philox.h, so the
 * device draws the bits the host reference draws for the same key and counter. */
#define CM_PHILOX_TAG_DROPOUT 0x00D50A00u
#define CM_PHILOX_TAG_AUGMENT 0x00A06E00u

inline uint4 cm_philox4x32_10(uint4 c, uint2 k) {
    for (int r = 0; r < 10; r++) {
        if (r > 0) k += (uint2)(0x9E3779B9u, 0xBB67AE85u);
        const uint hi0 = mul_hi(0xD2511F53u, c.x), lo0 = 0xD2511F53u * c.x;
        const uint hi1 = mul_hi(0xCD9E8D57u, c.z), lo1 = 0xCD9E8D57u * c.z;
        c = (uint4)(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    }
    return c;
}

/* Uniform in [0, 1) from the top 24 bits: exact, as philox_unit() on the host. */
inline float cm_philox_unit(uint x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }

/* Sum of v over the work-group (dim 0 only; its size a power of two), by a tree in local
 * memory; scratch holds get_local_size(0) floats. Every work-item gets the sum; all must call. */
inline float cm_group_sum(__local float *scratch, float v) {
    const int lid = (int)get_local_id(0), n = (int)get_local_size(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = n / 2; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] += scratch[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float sum = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE); /* scratch may be reused right after */
    return sum;
}

/* Visits every element i of channel c of a (B, C, HW) tensor, split over the L lanes of a
 * work-group (lane lid): lanes stride over a row's HW values when rows are long (neighbouring
 * lanes read neighbouring values), over the B rows when they are short. No index division per
 * element. BODY uses the size_t i. */
#define CM_CHANNEL_LOOP(B, C, HW, c, lid, L, BODY)                                                                      \
    do {                                                                                                               \
        if ((HW) >= (L)) {                                                                                             \
            for (int b_ = 0; b_ < (B); b_++)                                                                           \
                for (int s_ = (lid); s_ < (HW); s_ += (L)) {                                                           \
                    const size_t i = ((size_t)b_ * (C) + (c)) * (HW) + s_;                                             \
                    BODY;                                                                                              \
                }                                                                                                      \
        } else {                                                                                                       \
            for (int b_ = (lid); b_ < (B); b_ += (L))                                                                  \
                for (int s_ = 0; s_ < (HW); s_++) {                                                                    \
                    const size_t i = ((size_t)b_ * (C) + (c)) * (HW) + s_;                                             \
                    BODY;                                                                                              \
                }                                                                                                      \
        }                                                                                                              \
    } while (0)
