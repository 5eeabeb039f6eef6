/* nn_ops.c: the host backend's layer operations (convolution by im2col, max pooling,
 * BatchNorm, ReLU), as plain loops straight from the contracts in host/backend/backend.h.
 * The OpenCL kernels are tested against these. Reductions accumulate in double. OpenMP splits
 * the work by output rows, (b, c) planes or channels, so no two threads write one element and
 * the result does not depend on the thread count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "host_buf.h"
#include "nn_ops.h"

#define PAR_MIN 16384 /* element-wise loops shorter than this run on one thread */

/* BatchNorm's loops, bound by float64 arithmetic rather than memory, get AVX2 and AVX-512 versions
 * beside the baseline x86-64 (SSE2) one; the loader picks the widest the CPU has (GCC's
 * target_clones, an ifunc). The same for col2im and 2x2 pooling was no faster (pooling slower). Vector width changes
 * the order of a float64 sum, so results may differ between CPUs in the last bits of a float, as
 * between builds; never between runs or thread counts on one machine. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define CM_WIDE_SIMD __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CM_WIDE_SIMD
#endif

/* ---- argument checks: a wrong size is an error, never a write past a buffer ---------------- */
static cm_status check_dims(int batch, int channels, int hw, const char *op) {
    if (batch < 1 || channels < 1 || hw < 1)
        return cm_fail(CM_ERR_USAGE, "%s: bad shape (B %d, C %d, HW %d)", op, batch, channels, hw);
    return CM_OK;
}

static size_t in_count(const cm_window *w) { /* (B, C, H, W) */
    return (size_t)w->batch * (size_t)w->channels * (size_t)w->height * (size_t)w->width;
}
static size_t out_count(const cm_window *w) { /* (B, C, OH, OW) */
    return (size_t)w->batch * (size_t)w->channels * (size_t)w->out_h * (size_t)w->out_w;
}

/* ---- activation -------------------------------------------------------------------------- */
cm_status host_relu(cm_backend *b, cm_buf *y, size_t n) {
    CM_TRY(check_floats(y, n, "relu", "y"));
    float *yf = F(y);
#pragma omp parallel for simd schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++)
        yf[i] = yf[i] < 0.0f ? 0.0f : yf[i]; /* as bias_act: a NaN passes through */
    return CM_OK;
}

/* ---- convolution as a matrix product ------------------------------------------------------ */
/* [lo, hi): the outputs o of 0..out whose input index o*S - P + tap lies in [0, size). */
static void valid_range(int tap, int S, int P, int size, int out, int *lo, int *hi) {
    const int first = P - tap; /* o*S >= first */
    *lo = first <= 0 ? 0 : (first + S - 1) / S;
    const int last = size - 1 + P - tap; /* o*S <= last */
    *hi = last < 0 ? 0 : last / S + 1;
    if (*hi > out) *hi = out;
    if (*lo > *hi) *lo = *hi;
}

/* Row r = (c*K + i)*K + j of im2col for `images` consecutive images from x (their (C, H, W)
 * planes), into dst: image n's OH*OW entries start at dst + n*OH*OW. */
void host_im2col_row(const float *x, float *dst, const cm_window *w, int r, int images) {
    const int C = w->channels, K = w->kernel, S = w->stride, P = w->pad, H = w->height, W = w->width;
    const int OH = w->out_h, OW = w->out_w;
    const int c = r / (K * K), i = r / K % K, j = r % K;
    int lo, hi; /* the outputs ow whose input column iw = ow*S - P + j lies in [0, W) */
    valid_range(j, S, P, W, OW, &lo, &hi);
    for (int n = 0; n < images; n++) {
        const float *plane = x + ((size_t)n * C + c) * H * W; /* x[n][c] (H, W) */
        for (int oh = 0; oh < OH; oh++) {
            const int ih = oh * S - P + i;
            float *d = dst + ((size_t)n * OH + oh) * OW;
            if (ih < 0 || ih >= H || lo >= hi) {
                memset(d, 0, sizeof(float) * (size_t)OW);
                continue;
            }
            const long base = (long)ih * W - P + j; /* plane index of ow = 0 (in range from lo on) */
            for (int ow = 0; ow < lo; ow++)
                d[ow] = 0.0f;
            if (S == 1) /* a contiguous run */
                memcpy(d + lo, plane + base + lo, sizeof(float) * (size_t)(hi - lo));
            else
                for (int ow = lo; ow < hi; ow++)
                    d[ow] = plane[base + (long)ow * S];
            for (int ow = hi; ow < OW; ow++)
                d[ow] = 0.0f;
        }
    }
}

cm_status host_im2col(cm_backend *b, cm_buf *x, cm_buf *col, const cm_window *w) {
    const int C = w->channels, K = w->kernel;
    const size_t ncol = (size_t)w->batch * w->out_h * w->out_w; /* columns of col */
    CM_TRY(check_floats(x, in_count(w), "im2col", "x"));
    CM_TRY(check_floats(col, (size_t)C * K * K * ncol, "im2col", "col"));
#pragma omp parallel for schedule(static)
    for (int r = 0; r < C * K * K; r++) /* row r of col (C*K*K, B*OH*OW) */
        host_im2col_row(F(x), F(col) + (size_t)r * ncol, w, r, w->batch);
    return CM_OK;
}

/* dx plane (n, c) (H, W) of col2im: every pixel sums, in double and in tap order (i, j), the col
 * entries im2col read from it (the taps with ih = oh*S - P + i, iw = ow*S - P + j for some
 * output 0 <= oh < OH, 0 <= ow < OW). Accumulated tap by tap over the plane, so that each tap
 * reads its col row as a contiguous run; acc is an (H, W) scratch. */
void host_col2im_plane(const float *cf, const cm_window *w, size_t ncol, int n, int c, double *acc, float *plane) {
    const int K = w->kernel, S = w->stride, P = w->pad, H = w->height, W = w->width, OH = w->out_h, OW = w->out_w;
    memset(acc, 0, sizeof(double) * (size_t)H * W);
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) {
            const float *src = cf + (((size_t)c * K + i) * K + j) * ncol + (size_t)n * OH * OW;
            int lo, hi;
            valid_range(j, S, P, W, OW, &lo, &hi);
            for (int oh = 0; oh < OH; oh++) {
                const int ih = oh * S - P + i;
                if (ih < 0 || ih >= H) continue;
                const long base = (long)ih * W - P + j; /* acc index of ow = 0 (in range from lo on) */
                const float *s = src + (size_t)oh * OW;
                if (S == 1) { /* contiguous: vectorises */
                    double *a = acc + base;
                    for (int ow = lo; ow < hi; ow++)
                        a[ow] += (double)s[ow];
                } else
                    for (int ow = lo; ow < hi; ow++)
                        acc[base + (long)ow * S] += (double)s[ow];
            }
        }
    for (int k = 0; k < H * W; k++)
        plane[k] = (float)acc[k];
}

/* Written as a gather (each dx element sums its own col entries), so dx is overwritten and
 * the (b, c) planes are independent. */
cm_status host_col2im(cm_backend *b, cm_buf *col, cm_buf *dx, const cm_window *w) {
    const int C = w->channels, K = w->kernel, H = w->height, W = w->width;
    const size_t ncol = (size_t)w->batch * w->out_h * w->out_w;
    CM_TRY(check_floats(col, (size_t)C * K * K * ncol, "col2im", "col"));
    CM_TRY(check_floats(dx, in_count(w), "col2im", "dx"));
    const float *cf = F(col);
    float *df = F(dx);
    int nthreads = 1;
#ifdef _OPENMP
    nthreads = omp_get_max_threads();
#endif
    double *scratch = malloc(sizeof(double) * (size_t)H * W * (size_t)nthreads);
    if (!scratch) return cm_fail(CM_ERR_MEMORY, "col2im: out of host memory for a %dx%d scratch", H, W);
#pragma omp parallel for schedule(static)
    for (int q = 0; q < w->batch * C; q++) { /* channel by channel: each col row is read in order */
        const int n = q % w->batch, c = q / w->batch;
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        host_col2im_plane(cf, w, ncol, n, c, scratch + (size_t)tid * H * W, df + ((size_t)n * C + c) * H * W);
    }
    free(scratch);
    return CM_OK;
}

/* ---- layout changes around the convolution GEMM ------------------------------------------ */
cm_status host_cnhw_to_nchw(cm_backend *b, cm_buf *src, cm_buf *bias, cm_buf *y, int batch, int channels, int hw,
                            bool relu) {
    CM_TRY(check_dims(batch, channels, hw, "cnhw_to_nchw"));
    const size_t total = (size_t)batch * channels * hw;
    CM_TRY(check_floats(src, total, "cnhw_to_nchw", "src"));
    CM_TRY(check_floats(y, total, "cnhw_to_nchw", "y"));
    if (bias) CM_TRY(check_floats(bias, (size_t)channels, "cnhw_to_nchw", "bias"));
    const float *sf = F(src), *bf = bias ? F(bias) : NULL;
    float *yf = F(y);
#pragma omp parallel for schedule(static)
    for (int c = 0; c < channels; c++) {
        const float bc = bf ? bf[c] : 0.0f;
        for (int n = 0; n < batch; n++) {
            const float *s = sf + ((size_t)c * batch + n) * hw; /* src[c][n*HW ...] of (C, B*HW) */
            float *d = yf + ((size_t)n * channels + c) * hw;    /* y[n][c] of (B, C, HW) */
            for (int k = 0; k < hw; k++) {
                const float v = s[k] + bc;
                d[k] = relu && v < 0.0f ? 0.0f : v;
            }
        }
    }
    return CM_OK;
}

cm_status host_nchw_to_cnhw(cm_backend *b, cm_buf *src, cm_buf *dst, int batch, int channels, int hw) {
    CM_TRY(check_dims(batch, channels, hw, "nchw_to_cnhw"));
    const size_t total = (size_t)batch * channels * hw;
    CM_TRY(check_floats(src, total, "nchw_to_cnhw", "src"));
    CM_TRY(check_floats(dst, total, "nchw_to_cnhw", "dst"));
    const float *sf = F(src);
    float *df = F(dst);
#pragma omp parallel for schedule(static)
    for (int c = 0; c < channels; c++)
        for (int n = 0; n < batch; n++)
            memcpy(df + ((size_t)c * batch + n) * hw, sf + ((size_t)n * channels + c) * hw, sizeof(float) * hw);
    return CM_OK;
}

cm_status host_channel_sum(cm_backend *b, cm_buf *x, cm_buf *out, int batch, int channels, int hw) {
    CM_TRY(check_dims(batch, channels, hw, "channel_sum"));
    CM_TRY(check_floats(x, (size_t)batch * channels * hw, "channel_sum", "x"));
    CM_TRY(check_floats(out, (size_t)channels, "channel_sum", "out"));
    const float *xf = F(x);
    float *of = F(out);
#pragma omp parallel for schedule(static)
    for (int c = 0; c < channels; c++) {
        double sum = 0.0;
        for (int n = 0; n < batch; n++) {
            const float *p = xf + ((size_t)n * channels + c) * hw; /* x[n][c] (HW) */
            for (int k = 0; k < hw; k++)
                sum += p[k];
        }
        of[c] = (float)sum;
    }
    return CM_OK;
}

/* ---- max pooling -------------------------------------------------------------------------- */
/* One (b, c) plane of max pooling, any window: the window's first maximum (row-major scan). */
static void maxpool_plane(const float *in, float *yo, int32_t *ao, const cm_window *w) {
    const int W = w->width, OH = w->out_h, OW = w->out_w, K = w->kernel, S = w->stride;
    for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++) {
            int best = oh * S * W + ow * S; /* the window's top-left element */
            float top = in[best];
            for (int i = 0; i < K; i++)
                for (int j = 0; j < K; j++) { /* selects, not branches: random data mispredicts */
                    const int at = (oh * S + i) * W + ow * S + j;
                    const float v = in[at];
                    const int gt = v > top; /* strict: the first maximum wins ties */
                    best = gt ? at : best;
                    top = gt ? v : top;
                }
            yo[oh * OW + ow] = top;
            ao[oh * OW + ow] = best;
        }
}

/* The same for the common 2x2 window at stride 2, the four taps spelled out in scan order. */
static void maxpool_plane_2x2(const float *in, float *yo, int32_t *ao, const cm_window *w) {
    const int W = w->width, OW = w->out_w;
    for (int oh = 0; oh < w->out_h; oh++) {
        const float *r0 = in + (size_t)2 * oh * W, *r1 = r0 + W;
        for (int ow = 0; ow < OW; ow++) {
            const int at = 2 * oh * W + 2 * ow;
            float top = r0[2 * ow];
            int best = at;
            const float v1 = r0[2 * ow + 1], v2 = r1[2 * ow], v3 = r1[2 * ow + 1];
            best = v1 > top ? at + 1 : best;
            top = v1 > top ? v1 : top;
            best = v2 > top ? at + W : best;
            top = v2 > top ? v2 : top;
            best = v3 > top ? at + W + 1 : best;
            top = v3 > top ? v3 : top;
            yo[oh * OW + ow] = top;
            ao[oh * OW + ow] = best;
        }
    }
}

cm_status host_maxpool_forward(cm_backend *b, cm_buf *x, cm_buf *y, cm_buf *arg, const cm_window *w) {
    CM_TRY(check_floats(x, in_count(w), "maxpool_forward", "x"));
    CM_TRY(check_floats(y, out_count(w), "maxpool_forward", "y"));
    CM_TRY(check_floats(arg, out_count(w), "maxpool_forward", "arg")); /* int32, same size */
    const size_t plane_in = (size_t)w->height * w->width, plane_out = (size_t)w->out_h * w->out_w;
    const bool two = w->kernel == 2 && w->stride == 2;
    const float *xf = F(x);
#pragma omp parallel for schedule(static)
    for (int p = 0; p < w->batch * w->channels; p++) { /* one (b, c) plane */
        const float *in = xf + (size_t)p * plane_in;
        float *yo = F(y) + (size_t)p * plane_out;
        int32_t *ao = I32(arg) + (size_t)p * plane_out;
        if (two)
            maxpool_plane_2x2(in, yo, ao, w);
        else
            maxpool_plane(in, yo, ao, w);
    }
    return CM_OK;
}

cm_status host_maxpool_backward(cm_backend *b, cm_buf *dy, cm_buf *arg, cm_buf *dx, const cm_window *w) {
    const size_t plane_in = (size_t)w->height * w->width, plane_out = (size_t)w->out_h * w->out_w;
    CM_TRY(check_floats(dy, out_count(w), "maxpool_backward", "dy"));
    CM_TRY(check_floats(arg, out_count(w), "maxpool_backward", "arg"));
    CM_TRY(check_floats(dx, in_count(w), "maxpool_backward", "dx"));
    const int32_t *af = I32(arg);
    const float *dyf = F(dy);
    float *dxf = F(dx);
    long bad = -1; /* an arg entry outside its plane (checked as it is used, on every thread) */
#pragma omp parallel for schedule(static) reduction(max : bad)
    for (int p = 0; p < w->batch * w->channels; p++) { /* one (b, c) plane */
        float *d = dxf + (size_t)p * plane_in;
        const int32_t *a = af + (size_t)p * plane_out;
        for (size_t k = 0; k < plane_in; k++)
            d[k] = 0.0f;
        for (size_t k = 0; k < plane_out; k++) {
            if ((uint32_t)a[k] >= plane_in) {
                bad = (long)((size_t)p * plane_out + k);
                break;
            }
            d[a[k]] += dyf[(size_t)p * plane_out + k];
        }
    }
    if (bad >= 0)
        return cm_fail(CM_ERR_USAGE, "maxpool_backward: arg[%ld] = %d lies outside its %dx%d plane", bad, af[bad],
                       w->height, w->width);
    return CM_OK;
}

/* ---- global average pooling -------------------------------------------------------------- */
cm_status host_gap_forward(cm_backend *b, cm_buf *x, cm_buf *y, int planes, int hw) {
    (void)b;
    CM_TRY(check_floats(x, (size_t)planes * (size_t)hw, "gap_forward", "x"));
    CM_TRY(check_floats(y, (size_t)planes, "gap_forward", "y"));
    const float *xf = F(x);
    float *yf = F(y);
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++) {
        double sum = 0.0;
        for (int s = 0; s < hw; s++)
            sum += xf[(size_t)p * hw + s];
        yf[p] = (float)(sum / hw);
    }
    return CM_OK;
}

cm_status host_gap_backward(cm_backend *b, cm_buf *dy, cm_buf *dx, int planes, int hw) {
    (void)b;
    CM_TRY(check_floats(dy, (size_t)planes, "gap_backward", "dy"));
    CM_TRY(check_floats(dx, (size_t)planes * (size_t)hw, "gap_backward", "dx"));
    const float *dyf = F(dy);
    float *dxf = F(dx);
    const float inv = 1.0f / (float)hw;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++)
        for (int s = 0; s < hw; s++)
            dxf[(size_t)p * hw + s] = dyf[p] * inv;
    return CM_OK;
}

/* ---- input normalisation ---------------------------------------------------------------- */
cm_status host_channel_affine(cm_backend *b, cm_buf *x, int batch, int channels, int hw, const float *mul,
                              const float *add) {
    (void)b;
    CM_TRY(check_floats(x, (size_t)batch * (size_t)channels * (size_t)hw, "channel_affine", "x"));
    float *xf = F(x);
#pragma omp parallel for schedule(static)
    for (int p = 0; p < batch * channels; p++) {
        const float m = mul[p % channels], a = add[p % channels];
        float *d = xf + (size_t)p * hw;
        for (int s = 0; s < hw; s++)
            d[s] = d[s] * m + a;
    }
    return CM_OK;
}

/* ---- BatchNorm ---------------------------------------------------------------------------- */
static cm_status check_bn(const cm_bn_shape *s, const char *op) {
    CM_TRY(check_dims(s->batch, s->channels, s->hw, op));
    if (!(s->eps >= 0.0f) || !(s->momentum >= 0.0f && s->momentum <= 1.0f))
        return cm_fail(CM_ERR_USAGE, "%s: eps %g must be >= 0 and momentum %g in [0, 1]", op, (double)s->eps,
                       (double)s->momentum);
    return CM_OK;
}

/* Mean and biased variance (two passes, double) of channel c of x (B, C, HW). */
CM_WIDE_SIMD static void channel_stats(const float *x, const cm_bn_shape *s, int c, double *mean, double *var) {
    const double n = (double)s->batch * s->hw;
    double sum = 0.0, ss = 0.0;
    for (int bi = 0; bi < s->batch; bi++) {
        const float *p = x + ((size_t)bi * s->channels + c) * s->hw;
#pragma omp simd reduction(+ : sum)
        for (int k = 0; k < s->hw; k++)
            sum += p[k];
    }
    const double mu = sum / n;
    for (int bi = 0; bi < s->batch; bi++) {
        const float *p = x + ((size_t)bi * s->channels + c) * s->hw;
#pragma omp simd reduction(+ : ss)
        for (int k = 0; k < s->hw; k++) {
            const double d = p[k] - mu;
            ss += d * d;
        }
    }
    *mean = mu;
    *var = ss / n;
}

/* y[., c, .] = scale * (x - shift) + beta over channel c of (B, C, HW), in double; then max(., 0)
 * with s->relu (a NaN passes, as bias_act). */
CM_WIDE_SIMD static void channel_affine(const float *x, float *y, const cm_bn_shape *s, int c, double shift,
                                        double scale, double beta) {
    const bool relu = s->relu;
    for (int bi = 0; bi < s->batch; bi++) {
        const size_t o = ((size_t)bi * s->channels + c) * s->hw;
        for (int k = 0; k < s->hw; k++) {
            const float v = (float)(scale * ((double)x[o + k] - shift) + beta);
            y[o + k] = relu && v < 0.0f ? 0.0f : v;
        }
    }
}

cm_status host_bn_forward(cm_backend *b, cm_buf *x, cm_buf *y, cm_buf *gamma, cm_buf *beta, cm_buf *running_mean,
                          cm_buf *running_var, cm_buf *save_mean, cm_buf *save_invstd, const cm_bn_shape *s,
                          bool training) {
    CM_TRY(check_bn(s, "bn_forward"));
    const size_t total = (size_t)s->batch * s->channels * s->hw, C = (size_t)s->channels;
    CM_TRY(check_floats(x, total, "bn_forward", "x"));
    CM_TRY(check_floats(y, total, "bn_forward", "y"));
    CM_TRY(check_floats(gamma, C, "bn_forward", "gamma"));
    CM_TRY(check_floats(beta, C, "bn_forward", "beta"));
    CM_TRY(check_floats(running_mean, C, "bn_forward", "running_mean"));
    CM_TRY(check_floats(running_var, C, "bn_forward", "running_var"));
    if (training) {
        CM_TRY(check_floats(save_mean, C, "bn_forward", "save_mean"));
        CM_TRY(check_floats(save_invstd, C, "bn_forward", "save_invstd"));
    }
    const double n = (double)s->batch * s->hw, m = s->momentum;
    const float *xf = F(x), *g = F(gamma), *be = F(beta);
    float *rm = F(running_mean), *rv = F(running_var);
#pragma omp parallel for schedule(static)
    for (int c = 0; c < s->channels; c++) {
        if (!training) {
            const double invstd = 1.0 / sqrt((double)rv[c] + s->eps);
            channel_affine(xf, F(y), s, c, rm[c], g[c] * invstd, be[c]);
            continue;
        }
        double mean, var;
        channel_stats(xf, s, c, &mean, &var);
        const double invstd = 1.0 / sqrt(var + s->eps), unbiased = n > 1.0 ? var * n / (n - 1.0) : var;
        F(save_mean)[c] = (float)mean;
        F(save_invstd)[c] = (float)invstd;
        rm[c] = (float)((1.0 - m) * rm[c] + m * mean);
        rv[c] = (float)((1.0 - m) * rv[c] + m * unbiased);
        channel_affine(xf, F(y), s, c, mean, g[c] * invstd, be[c]);
    }
    return CM_OK;
}

/* Channel c of BatchNorm's backward: its two sums, then its dx (host_bn_backward). */
CM_WIDE_SIMD static void bn_backward_channel(const float *dyf, const float *xf, double gamma, double mean,
                                             double invstd, const cm_bn_shape *s, int c, float *dx, float *dgamma,
                                             float *dbeta) {
    const double n = (double)s->batch * s->hw;
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (int bi = 0; bi < s->batch; bi++) {
        const size_t o = ((size_t)bi * s->channels + c) * s->hw;
#pragma omp simd reduction(+ : sum_dy, sum_dy_xhat)
        for (int k = 0; k < s->hw; k++) {
            sum_dy += dyf[o + k];
            sum_dy_xhat += dyf[o + k] * ((xf[o + k] - mean) * invstd);
        }
    }
    *dbeta = (float)sum_dy;
    *dgamma = (float)sum_dy_xhat;
    const double scale = gamma * invstd, mean_dy = sum_dy / n, mean_dy_xhat = sum_dy_xhat / n;
    for (int bi = 0; bi < s->batch; bi++) {
        const size_t o = ((size_t)bi * s->channels + c) * s->hw;
        for (int k = 0; k < s->hw; k++) {
            const double xhat = (xf[o + k] - mean) * invstd;
            dx[o + k] = (float)(scale * (dyf[o + k] - mean_dy - xhat * mean_dy_xhat));
        }
    }
}

cm_status host_bn_backward(cm_backend *b, cm_buf *dy, cm_buf *x, cm_buf *gamma, cm_buf *save_mean, cm_buf *save_invstd,
                           cm_buf *dx, cm_buf *dgamma, cm_buf *dbeta, const cm_bn_shape *s) {
    CM_TRY(check_bn(s, "bn_backward"));
    const size_t total = (size_t)s->batch * s->channels * s->hw, C = (size_t)s->channels;
    CM_TRY(check_floats(dy, total, "bn_backward", "dy"));
    CM_TRY(check_floats(x, total, "bn_backward", "x"));
    CM_TRY(check_floats(dx, total, "bn_backward", "dx"));
    CM_TRY(check_floats(gamma, C, "bn_backward", "gamma"));
    CM_TRY(check_floats(save_mean, C, "bn_backward", "save_mean"));
    CM_TRY(check_floats(save_invstd, C, "bn_backward", "save_invstd"));
    CM_TRY(check_floats(dgamma, C, "bn_backward", "dgamma"));
    CM_TRY(check_floats(dbeta, C, "bn_backward", "dbeta"));
    const float *dyf = F(dy), *xf = F(x);
#pragma omp parallel for schedule(static)
    for (int c = 0; c < s->channels; c++)
        bn_backward_channel(dyf, xf, F(gamma)[c], F(save_mean)[c], F(save_invstd)[c], s, c, F(dx), F(dgamma) + c,
                            F(dbeta) + c);
    return CM_OK;
}
