/* activation.cl: fused bias add + ReLU forward, ReLU forward alone, and ReLU backward.
 *
 * kernel_bias_act    y (rows, cols) += bias (cols); y = max(y, 0) if relu != 0. In place.
 *                    2-D range: dim 0 over cols, dim 1 over rows.
 * kernel_relu        y (n) = max(y, 0). In place. 1-D range over n.
 * kernel_relu_backward  dy (n) = y > 0 ? dy * scale : 0, y the ReLU output (n), after dropout if
 *                    any (scale = 1 / (1 - p) then, else 1). 1-D range over n. */

__kernel void kernel_bias_act(__global float *y, const __global float *bias, const int rows, const int cols,
                              const int relu) {
    const int c = (int)get_global_id(0), r = (int)get_global_id(1);
    if (c >= cols || r >= rows) return;
    const size_t i = (size_t)r * cols + c;
    const float v = y[i] + bias[c];
    y[i] = (relu && v < 0.0f) ? 0.0f : v;
}

__kernel void kernel_relu(__global float *y, const uint n) {
    const uint i = (uint)get_global_id(0);
    if (i >= n) return;
    if (y[i] < 0.0f) y[i] = 0.0f; /* as bias_act: NaN passes through */
}

__kernel void kernel_relu_backward(__global float *dy, const __global float *y, const uint n, const float scale) {
    const uint i = (uint)get_global_id(0);
    if (i >= n) return;
    dy[i] = y[i] > 0.0f ? dy[i] * scale : 0.0f;
}
