/* reduce.cl: bias gradient, the column sums of dy.
 *
 * kernel_bias_grad   db (cols) = sum over r of dy (rows, cols). With masked != 0, the backward
 *   of a ReLU fused after the layer comes first: dy = y > 0 ? dy : 0 in place, y (rows, cols)
 *   the ReLU's output (one launch instead of relu_backward + bias_grad).
 *   Work-group (TC, LR): TC adjacent columns (coalesced reads) times LR row lanes, LR a power
 *   of two. Lane l sums rows l, l + LR, ...; the LR partial sums are then reduced as a tree in
 *   local memory (scratch: TC * LR floats). No work-item walks all rows alone when LR > 1. */

__kernel void kernel_bias_grad(__global float *dy, const __global float *y, const int masked, __global float *db,
                               const int rows, const int cols, __local float *scratch) {
    const int c = (int)get_global_id(0);
    const int lc = (int)get_local_id(0), lr = (int)get_local_id(1);
    const int tc = (int)get_local_size(0), lanes = (int)get_local_size(1);
    float s = 0.0f;
    if (c < cols)
        for (int r = lr; r < rows; r += lanes) {
            const size_t i = (size_t)r * cols + c;
            float g = dy[i];
            if (masked) {
                g = y[i] > 0.0f ? g : 0.0f;
                dy[i] = g;
            }
            s += g;
        }
    scratch[lr * tc + lc] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = lanes / 2; stride > 0; stride >>= 1) {
        if (lr < stride) scratch[lr * tc + lc] += scratch[(lr + stride) * tc + lc];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lr == 0 && c < cols) db[c] = scratch[lc];
}
