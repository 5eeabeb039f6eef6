/* reduce.cl: bias gradient, the column sums of dy; and the sum of a split-K GEMM's partial products.
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

/* kernel_splitk_reduce: the second half of a split-K GEMM (host/backend/device/gemm_splitk.c):
 *   c (m, n; row stride ldc) = alpha * (the sum of `slots` partial products, each m x n packed
 *   row-major, one after another in part) + beta * c, c not read when beta is 0 (BLAS's rule).
 *   One work-item per element of c; the slots are summed in order, so the result does not depend
 *   on the launch. */
__kernel void kernel_splitk_reduce(const __global float *part, const int slots, const int m, const int n,
                                   const float alpha, const float beta, __global float *c, const int ldc) {
    const int j = (int)get_global_id(0), i = (int)get_global_id(1);
    if (j >= n || i >= m) return;
    const size_t mn = (size_t)m * (size_t)n, at = (size_t)i * (size_t)n + (size_t)j;
    float s = 0.0f;
    for (int t = 0; t < slots; t++)
        s += part[(size_t)t * mn + at];
    const size_t o = (size_t)i * (size_t)ldc + (size_t)j;
    c[o] = beta == 0.0f ? alpha * s : alpha * s + beta * c[o];
}
