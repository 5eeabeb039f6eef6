/* batch.cl: the batch builder.
 *
 * kernel_gather  2-D range: dim 0 over dim (pixels), dim 1 over rows.
 *   src (N, dim) uint8 images, labels (N) uint8, idx int32 row indices starting at idx_off:
 *   x (rows, dim) = src[idx[idx_off + r], :] * scale    (float32, e.g. scale = 1/255)
 *   y (rows)      = labels[idx[idx_off + r]]            (int32) */

__kernel void kernel_gather(const __global uchar *src, const __global uchar *labels, const __global int *idx,
                            const uint idx_off, const int rows, const int dim, const float scale, __global float *x,
                            __global int *y) {
    const int c = (int)get_global_id(0), r = (int)get_global_id(1);
    if (c >= dim || r >= rows) return;
    const size_t row = (size_t)idx[idx_off + r];
    x[(size_t)r * dim + c] = (float)src[row * dim + c] * scale;
    if (c == 0) y[r] = labels[row];
}
