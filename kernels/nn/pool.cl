/* pool.cl: 2-d max pooling (torch.nn.MaxPool2d, floor mode, no padding), forward and backward.
 * x is (B, C, H, W), y and arg (B, C, OH, OW); window K x K, stride S; OH = (H - K) / S + 1.
 *
 * kernel_maxpool_forward  y[b][c][oh][ow] = max of x[b][c][oh*S + i][ow*S + j] over i, j < K;
 *                         arg (int32) = h * W + w of the first maximum in row-major scan order
 *                         (a later equal value does not replace it). 2-D range: dim 1 over the
 *                         B*C*OH output rows, dim 0 strides over a row's OW outputs (a loop on
 *                         CPU devices: no index division per output).
 * kernel_maxpool_backward dx (B, C, H, W) as a gather: each element loops over the (at most
 *                         ceil(K/S)^2) windows that contain it and sums dy where arg names it;
 *                         deterministic, overlapping windows add up, overwrites dx.
 *                         1-D range over B*C*H*W.
 * kernel_maxpool_backward_scatter  the same when windows do not overlap (S >= K): dx zeroed
 *                         first, then dx[plane][arg] = dy for each output; every input element is
 *                         in at most one window, so there are no conflicts. 1-D range over
 *                         B*C*OH*OW. */

__kernel void kernel_maxpool_forward(const __global float *x, __global float *y, __global int *arg, const int B,
                                     const int C, const int H, const int W, const int K, const int S, const int OH,
                                     const int OW) {
    const int r = (int)get_global_id(1); /* output row (plane, oh) */
    if (r >= B * C * OH) return;
    const int oh = r % OH, plane = r / OH, h0 = oh * S;
    const __global float *xp = x + (size_t)plane * H * W;
    __global float *yr = y + (size_t)r * OW;
    __global int *ar = arg + (size_t)r * OW;
    for (int ow = (int)get_global_id(0); ow < OW; ow += (int)get_global_size(0)) {
        const int w0 = ow * S;
        int best = h0 * W + w0;
        float m = xp[best];
        for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++) {
                const int at = (h0 + i) * W + w0 + j;
                const float v = xp[at];
                if (v > m) {
                    m = v;
                    best = at;
                }
            }
        yr[ow] = m;
        ar[ow] = best;
    }
}

__kernel void kernel_maxpool_backward(const __global float *dy, const __global int *arg, __global float *dx,
                                      const int B, const int C, const int H, const int W, const int K, const int S,
                                      const int OH, const int OW) {
    const size_t g = get_global_id(0);
    if (g >= (size_t)B * C * H * W) return;
    const int w = (int)(g % W), h = (int)((g / W) % H);
    const size_t plane = g / ((size_t)H * W);
    const int oh0 = h < K ? 0 : (h - K) / S + 1, oh1 = min(h / S, OH - 1);
    const int ow0 = w < K ? 0 : (w - K) / S + 1, ow1 = min(w / S, OW - 1);
    const int self = h * W + w;
    const size_t base = plane * OH * OW;
    float sum = 0.0f;
    for (int oh = oh0; oh <= oh1; oh++)
        for (int ow = ow0; ow <= ow1; ow++) {
            const size_t o = base + (size_t)oh * OW + ow;
            if (arg[o] == self) sum += dy[o];
        }
    dx[g] = sum;
}

__kernel void kernel_maxpool_backward_scatter(const __global float *dy, const __global int *arg, __global float *dx,
                                              const int B, const int C, const int H, const int W, const int K,
                                              const int S, const int OH, const int OW) {
    const size_t g = get_global_id(0);
    if (g >= (size_t)B * C * OH * OW) return;
    const size_t plane = g / ((size_t)OH * OW);
    dx[plane * H * W + arg[g]] = dy[g];
}

/* kernel_gap_forward   global average pooling (AdaptiveAvgPool2d(1)): y[p] = mean of x[p][0..hw)
 *                      over planes p of B*C; 1-D range over planes, summed in order.
 * kernel_gap_backward  dx[p][s] = dy[p] / hw; 1-D range over planes * hw. */
__kernel void kernel_gap_forward(const __global float *x, __global float *y, const int planes, const int hw) {
    const size_t p = get_global_id(0);
    if (p >= (size_t)planes) return;
    const __global float *xp = x + p * (size_t)hw;
    float sum = 0.0f;
    for (int s = 0; s < hw; s++)
        sum += xp[s];
    y[p] = sum / (float)hw;
}

__kernel void kernel_gap_backward(const __global float *dy, __global float *dx, const int planes, const int hw) {
    const size_t g = get_global_id(0);
    if (g >= (size_t)planes * (size_t)hw) return;
    dx[g] = dy[g / (size_t)hw] * (1.0f / (float)hw);
}
