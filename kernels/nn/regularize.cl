/* regularize.cl: dropout and the max-norm constraint.
 *
 * kernel_dropout   y (n) in place, inverted dropout; y[0] is element `offset` of the mask stream
 *   (a rank's share of a batch starts there). Work-item g handles stream elements 4G .. 4G+3,
 *   G = offset / 4 + g, with one Philox draw: u = unit(Philox(key (seed_lo, seed_hi ^ TAG_DROPOUT),
 *                                    counter (G, layer, step_lo, step_hi))[i % 4])
 *   y[i - offset] = u >= p ? y[i - offset] * inv_keep : 0   (inv_keep = 1 / (1 - p), from the host)
 *   1-D range over ceil((offset % 4 + n) / 4).
 * kernel_max_norm  w (rows, cols) row-major: a row whose L2 norm exceeds c is scaled to norm c.
 *   One work-item per row (rows are few: the layer's output units). */

__kernel void kernel_dropout(__global float *y, const uint n, const float p, const float inv_keep, const uint seed_lo,
                             const uint seed_hi, const uint layer, const uint step_lo, const uint step_hi,
                             const uint offset) {
    const uint g = (uint)get_global_id(0) + offset / 4;
    if (g >= (offset + n + 3) / 4) return;
    const uint4 u = cm_philox4x32_10((uint4)(g, layer, step_lo, step_hi), (uint2)(seed_lo, seed_hi ^ CM_PHILOX_TAG_DROPOUT));
    const uint w[4] = {u.x, u.y, u.z, u.w};
    for (uint j = 0; j < 4; j++) {
        const uint i = 4 * g + j;
        if (i >= offset && i < offset + n) y[i - offset] = cm_philox_unit(w[j]) >= p ? y[i - offset] * inv_keep : 0.0f;
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
