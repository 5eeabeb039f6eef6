/* conv.cl: the data movement around a convolution done as one GEMM over the whole batch.
 * x is (B, C, H, W); the window is K x K, stride S, zero padding P; OH, OW the output size.
 *
 * kernel_im2col       col (C*K*K, B*OH*OW) from x (B, C, H, W):
 *                     col[(c*K + i)*K + j][(b*OH + oh)*OW + ow] = x[b][c][oh*S - P + i][ow*S - P + j],
 *                     0 outside the image. 2-D range: dim 0 over B*OH, dim 1 over C*K*K; each
 *                     work-item writes one output row of OW values, so the index arithmetic is
 *                     per row, not per element (on CPU devices it was most of the cost).
 * kernel_col2im       dx (B, C, H, W) = the adjoint of im2col; overwrites dx, deterministic, no
 *                     atomics. 2-D range: dim 1 over the B*C*H rows of dx; dim 0 strides over a
 *                     row's W values. On GPUs (dim 0 wider than 1) each element sums the col
 *                     entries im2col read from it (at most ceil(K/S)^2), a gather; on CPU devices
 *                     (dim 0 of size 1) a work-item zeroes its row and adds into it one contiguous
 *                     run of col per window offset (i, j) (unit stride when S = 1), instead of
 *                     K*K reads ncols apart per element.
 * kernel_cnhw_to_nchw y (B, C, HW) from src (C, B*HW): y[b][c][s] = src[c][b*HW + s] + bias[c]
 *                     (has_bias 0: no bias), then max(., 0) if relu != 0. 2-D range: dim 1 over
 *                     B*C (row b*C + c of y); dim 0 strides over the row's HW values (size 1 on CPU
 *                     devices: a loop per row, no index arithmetic per element; HW on GPUs).
 * kernel_nchw_to_cnhw dst (C, B*HW) from src (B, C, HW): dst[c][b*HW + s] = src[b][c][s].
 *                     Range as kernel_cnhw_to_nchw, rows c*B + b of dst.
 * kernel_channel_sum  out (C) = sum over b and s of x (B, C, HW)[b][c][s]. Overwrites out. One
 *                     work-group per channel (range: C * L, L the group size, a power of two);
 *                     the lanes split the channel as CM_CHANNEL_LOOP (common.cl) says, then a
 *                     tree in local memory (scratch: L floats). */

__kernel void kernel_im2col(const __global float *x, __global float *col, const int B, const int C, const int H,
                            const int W, const int K, const int S, const int P, const int OH, const int OW) {
    const int boh = (int)get_global_id(0), r = (int)get_global_id(1);
    if (boh >= B * OH || r >= C * K * K) return;
    const int j = r % K, i = (r / K) % K, c = r / (K * K);
    const int oh = boh % OH, b = boh / OH, h = oh * S - P + i;
    __global float *dst = col + (size_t)r * B * OH * OW + (size_t)boh * OW;
    if (h < 0 || h >= H) {
        for (int ow = 0; ow < OW; ow++)
            dst[ow] = 0.0f;
        return;
    }
    const __global float *src = x + (((size_t)b * C + c) * H + h) * W;
    for (int ow = 0; ow < OW; ow++) {
        const int w = ow * S - P + j;
        dst[ow] = w >= 0 && w < W ? src[w] : 0.0f;
    }
}

/* One element dx[b][c][h][w] of kernel_col2im as a gather over the windows that read it. */
inline float cm_col2im_at(const __global float *col, const int b, const int c, const int h, const int w, const int K,
                          const int S, const int P, const int OH, const int OW, const size_t ncols) {
    const int hp = h + P, wp = w + P; /* in padded coordinates: output oh reads rows oh*S .. oh*S + K - 1 */
    const int oh0 = hp < K ? 0 : (hp - K) / S + 1, oh1 = min(hp / S, OH - 1);
    const int ow0 = wp < K ? 0 : (wp - K) / S + 1, ow1 = min(wp / S, OW - 1);
    float sum = 0.0f;
    for (int oh = oh0; oh <= oh1; oh++) {
        const int i = hp - oh * S;
        for (int ow = ow0; ow <= ow1; ow++) {
            const int j = wp - ow * S;
            const size_t row = ((size_t)c * K + i) * K + j;
            sum += col[row * ncols + ((size_t)b * OH + oh) * OW + ow];
        }
    }
    return sum;
}

__kernel void kernel_col2im(const __global float *col, __global float *dx, const int B, const int C, const int H,
                            const int W, const int K, const int S, const int P, const int OH, const int OW) {
    const int r = (int)get_global_id(1); /* row (b, c, h) of dx */
    if (r >= B * C * H) return;
    const int h = r % H, c = (r / H) % C, b = r / (H * C);
    const size_t ncols = (size_t)B * OH * OW;
    __global float *out = dx + (size_t)r * W;
    if (get_global_size(0) > 1) { /* GPUs: one element per work-item, a gather */
        for (int w = (int)get_global_id(0); w < W; w += (int)get_global_size(0))
            out[w] = cm_col2im_at(col, b, c, h, w, K, S, P, OH, OW, ncols);
        return;
    }
    /* CPU devices: the whole row, accumulated from contiguous runs of col (one per window offset
     * (i, j) whose window row lands on h): unit-stride loops that PoCL vectorises */
    for (int w = 0; w < W; w++)
        out[w] = 0.0f;
    const int hp = h + P;
    for (int i = 0; i < K; i++) {
        const int t = hp - i; /* = oh * S */
        if (t < 0 || t % S != 0 || t / S >= OH) continue;
        const int oh = t / S;
        for (int j = 0; j < K; j++) {
            const int last = W - 1 + P - j; /* ow * S <= last, and ow * S >= P - j */
            if (last < 0) continue;
            const int ow0 = P - j > 0 ? (P - j + S - 1) / S : 0, ow1 = min(last / S, OW - 1);
            const __global float *src = col + (((size_t)c * K + i) * K + j) * ncols + ((size_t)b * OH + oh) * OW;
            __global float *dst = out + j - P;
            if (S == 1)
                for (int ow = ow0; ow <= ow1; ow++)
                    dst[ow] += src[ow];
            else
                for (int ow = ow0; ow <= ow1; ow++)
                    dst[ow * S] += src[ow];
        }
    }
}

__kernel void kernel_cnhw_to_nchw(const __global float *src, const __global float *bias, __global float *y, const int B,
                                  const int C, const int HW, const int has_bias, const int relu) {
    const int r = (int)get_global_id(1);
    if (r >= B * C) return;
    const int b = r / C, c = r % C;
    const float add = has_bias ? bias[c] : 0.0f;
    const __global float *in = src + ((size_t)c * B + b) * HW;
    __global float *out = y + (size_t)r * HW;
    for (int s = (int)get_global_id(0); s < HW; s += (int)get_global_size(0)) {
        const float v = in[s] + add;
        out[s] = (relu && v < 0.0f) ? 0.0f : v;
    }
}

__kernel void kernel_nchw_to_cnhw(const __global float *src, __global float *dst, const int B, const int C,
                                  const int HW) {
    const int r = (int)get_global_id(1);
    if (r >= B * C) return;
    const int c = r / B, b = r % B;
    const __global float *in = src + ((size_t)b * C + c) * HW;
    __global float *out = dst + (size_t)r * HW;
    for (int s = (int)get_global_id(0); s < HW; s += (int)get_global_size(0))
        out[s] = in[s];
}

__kernel void kernel_channel_sum(const __global float *x, __global float *out, const int B, const int C, const int HW,
                                 __local float *scratch) {
    const int c = (int)get_group_id(0), lid = (int)get_local_id(0), L = (int)get_local_size(0);
    float s = 0.0f;
    CM_CHANNEL_LOOP(B, C, HW, c, lid, L, s += x[i]);
    s = cm_group_sum(scratch, s);
    if (lid == 0) out[c] = s;
}
