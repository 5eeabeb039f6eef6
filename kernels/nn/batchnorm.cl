/* batchnorm.cl: per-channel batch normalisation (torch.nn.BatchNorm1d/2d) over x (B, C, HW);
 * every per-channel buffer is (C); N = B * HW values per channel.
 *
 * kernel_bn_stats       training statistics, one work-group per channel (range: C * L, L the
 *                       group size, a power of two; scratch: L floats). One pass over the
 *                       channel: the sums of d = x - k and d^2, k the channel's first value,
 *                       each reduced as a tree in local memory; mean = k + sum d / N,
 *                       var = sum d^2 / N - (sum d / N)^2 (biased; the shift k keeps the two
 *                       terms from cancelling as E[x^2] - mean^2 would when |mean| >> std).
 *                       Writes save_mean = mean, save_invstd = 1 / sqrt(var + eps) and updates
 *                       running_mean = (1 - m) running_mean + m mean and
 *                       running_var = (1 - m) running_var + m var N / (N - 1) (var when N = 1).
 * kernel_bn_normalize   y = gamma (x - mean[c]) inv[c] + beta, where inv = scale[c] (training:
 *                       mean = save_mean, scale = save_invstd) or, when scale_is_var,
 *                       1 / sqrt(scale[c] + eps) (eval: running_mean, running_var).
 *                       Then max(y, 0) when relu (a ReLU that follows, fused).
 *                       2-D range: dim 0 over HW, dim 1 over B*C (row b*C + c).
 * kernel_bn_backward_reduce  per channel, one work-group each (as kernel_bn_stats):
 *                       dbeta = sum dy, dgamma = sum dy xhat, xhat = (x - save_mean) save_invstd.
 *                       Overwrites both.
 * kernel_bn_backward_dx dx = gamma save_invstd (dy - dbeta / N - xhat dgamma / N).
 *                       2-D range as kernel_bn_normalize. */

__kernel void kernel_bn_stats(const __global float *x, __global float *save_mean, __global float *save_invstd,
                              __global float *running_mean, __global float *running_var, const int B, const int C,
                              const int HW, const float eps, const float momentum, __local float *scratch) {
    const int c = (int)get_group_id(0), lid = (int)get_local_id(0), L = (int)get_local_size(0);
    const int n = B * HW;
    /* one pass: sums of d = x - k and d^2, k the channel's first value (a shift that keeps the
     * difference of the two terms from cancelling when |mean| >> std) */
    const float k = x[(size_t)c * HW];
    float s = 0.0f, q = 0.0f;
    CM_CHANNEL_LOOP(B, C, HW, c, lid, L, {
        const float d = x[i] - k;
        s += d;
        q += d * d;
    });
    const float ds = cm_group_sum(scratch, s) / (float)n;
    const float mean = k + ds, var = max(cm_group_sum(scratch, q) / (float)n - ds * ds, 0.0f);
    if (lid != 0) return;
    save_mean[c] = mean;
    save_invstd[c] = 1.0f / sqrt(var + eps);
    const float unbiased = n > 1 ? var * ((float)n / (float)(n - 1)) : var;
    running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mean;
    running_var[c] = (1.0f - momentum) * running_var[c] + momentum * unbiased;
}

__kernel void kernel_bn_normalize(const __global float *x, __global float *y, const __global float *gamma,
                                  const __global float *beta, const __global float *mean, const __global float *scale,
                                  const int scale_is_var, const int B, const int C, const int HW, const float eps,
                                  const int relu) {
    const int r = (int)get_global_id(1);
    if (r >= B * C) return;
    const int c = r % C;
    const float inv = scale_is_var ? 1.0f / sqrt(scale[c] + eps) : scale[c], g = gamma[c] * inv;
    const float m = mean[c], bt = beta[c];
    const size_t row = (size_t)r * HW;
    for (int s = (int)get_global_id(0); s < HW; s += (int)get_global_size(0)) {
        const float v = g * (x[row + s] - m) + bt;
        y[row + s] = relu && v < 0.0f ? 0.0f : v;
    }
}

__kernel void kernel_bn_backward_reduce(const __global float *dy, const __global float *x,
                                        const __global float *save_mean, const __global float *save_invstd,
                                        __global float *dgamma, __global float *dbeta, const int B, const int C,
                                        const int HW, __local float *scratch) {
    const int c = (int)get_group_id(0), lid = (int)get_local_id(0), L = (int)get_local_size(0);
    const int n = B * HW;
    const float mean = save_mean[c], inv = save_invstd[c];
    float sd = 0.0f, sdx = 0.0f;
    (void)n;
    CM_CHANNEL_LOOP(B, C, HW, c, lid, L, {
        sd += dy[i];
        sdx += dy[i] * ((x[i] - mean) * inv);
    });
    sd = cm_group_sum(scratch, sd);
    sdx = cm_group_sum(scratch, sdx);
    if (lid == 0) {
        dbeta[c] = sd;
        dgamma[c] = sdx;
    }
}

__kernel void kernel_bn_backward_dx(const __global float *dy, const __global float *x, const __global float *gamma,
                                    const __global float *save_mean, const __global float *save_invstd,
                                    const __global float *dgamma, const __global float *dbeta, __global float *dx,
                                    const int B, const int C, const int HW) {
    const int r = (int)get_global_id(1);
    if (r >= B * C) return;
    const int c = r % C;
    const float inv_n = 1.0f / (float)(B * HW), inv = save_invstd[c], m = save_mean[c];
    const float gi = gamma[c] * inv, db = dbeta[c] * inv_n, dg = dgamma[c] * inv_n;
    const size_t row = (size_t)r * HW;
    for (int s = (int)get_global_id(0); s < HW; s += (int)get_global_size(0)) {
        const float xhat = (x[row + s] - m) * inv;
        dx[row + s] = gi * (dy[row + s] - db - xhat * dg);
    }
}
