/* regularize.cl: dropout and the max-norm constraint.
 *
 * kernel_dropout   y (n) in place, inverted dropout; work-item g handles elements 4g .. 4g+3 with
 *   one Philox draw: u = unit(Philox(key (seed_lo, seed_hi ^ TAG_DROPOUT),
 *                                    counter (g, layer, step_lo, step_hi))[i % 4])
 *   y[i] = u >= p ? y[i] * inv_keep : 0        (inv_keep = 1 / (1 - p), computed on the host)
 *   1-D range over ceil(n / 4).
 * kernel_max_norm  w (rows, cols) row-major: a row whose L2 norm exceeds c is scaled to norm c.
 *   One work-item per row (rows are few: the layer's output units). */

__kernel void kernel_dropout(__global float *y, const uint n, const float p, const float inv_keep, const uint seed_lo,
                             const uint seed_hi, const uint layer, const uint step_lo, const uint step_hi) {
    const uint g = (uint)get_global_id(0);
    if (g >= (n + 3) / 4) return;
    const uint4 u = cm_philox4x32_10((uint4)(g, layer, step_lo, step_hi), (uint2)(seed_lo, seed_hi ^ CM_PHILOX_TAG_DROPOUT));
    const uint w[4] = {u.x, u.y, u.z, u.w};
    for (uint j = 0; j < 4 && 4 * g + j < n; j++) {
        const uint i = 4 * g + j;
        y[i] = cm_philox_unit(w[j]) >= p ? y[i] * inv_keep : 0.0f;
    }
}

__kernel void kernel_max_norm(__global float *w, const int rows, const int cols, const float c) {
    const int r = (int)get_global_id(0);
    if (r >= rows) return;
    __global float *row = w + (size_t)r * cols;
    float ss = 0.0f;
    for (int j = 0; j < cols; j++) ss += row[j] * row[j];
    const float norm = sqrt(ss);
    if (norm > c) {
        const float k = c / norm;
        for (int j = 0; j < cols; j++) row[j] *= k;
    }
}
