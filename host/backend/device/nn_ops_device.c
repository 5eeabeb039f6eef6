/* nn_ops_device.c: the device backend's layer operations: ReLU, im2col/col2im, the NCHW <-> CNHW
 * reshuffles around a convolution's GEMM, channel sums, max pooling and BatchNorm. The kernels
 * are in kernels/nn/{activation,conv,pool,batchnorm}.cl; the contracts in clmnist/backend.h.
 * Every operation checks its buffers' sizes first (a kernel would write out of bounds silently),
 * then enqueues on the compute queue with the profiling hook of backend_device.c. */
#include <limits.h>

#include "device_ext.h"
#include "device_internal.h"

/* Fails with CM_ERR_USAGE when buf holds fewer than count elements of 4 bytes. */
static cm_status need(const cm_buf *buf, size_t count, const char *op, const char *name) {
    if (!buf) return cm_fail(CM_ERR_USAGE, "%s: buffer '%s' is missing", op, name);
    if (count > buf->bytes / 4)
        return cm_fail(CM_ERR_USAGE, "%s: '%s' needs %zu elements but '%s' holds %zu", op, name, count,
                       buf->what ? buf->what : "buffer", buf->bytes / 4);
    return CM_OK;
}

static size_t window_in(const cm_window *w) {
    return (size_t)w->batch * w->channels * w->height * w->width;
}
static size_t window_out(const cm_window *w) {
    return (size_t)w->batch * w->channels * w->out_h * w->out_w;
}

/* Sets B, C, H, W, K, S, [P,] OH, OW as arguments i, i + 1, ... */
static cm_status window_args(cl_kernel k, cl_uint i, const cm_window *w, int with_pad) {
    const int v[9] = {w->batch, w->channels, w->height, w->width, w->kernel, w->stride, w->pad, w->out_h, w->out_w};
    for (int j = 0; j < 9; j++)
        if (j != 6 || with_pad) {
            ARG(k, i, v[j]);
            i++;
        }
    return CM_OK;
}

/* A row kernel (dim 1 over rows, dim 0 striding over a row's n values): on CPU devices one
 * work-item per row, looping (PoCL vectorises the loop; per-element index arithmetic cost 10x),
 * on GPUs one per element, so that neighbouring work-items read neighbouring values. */
static cm_status launch_rows(device_backend *db, int kid, size_t n, size_t rows) {
    return device_launch_2d(db, kid, backend_device_is_cpu(&db->base) ? 1 : n, rows, 0, NULL, NULL);
}

/* One work-group per channel: a power-of-two group no larger than the kernel allows nor than
 * the n values per channel need; argument `scratch_arg` gets its local scratch (L floats). */
static cm_status launch_per_channel(device_backend *db, int kid, int channels, size_t n, cl_uint scratch_arg) {
    if (channels <= 0) return CM_OK;
    size_t local = 1;
    while (local * 2 <= db->local[kid])
        local *= 2;
    while (local > 1 && local / 2 >= n)
        local /= 2;
    CL_CHECK(clSetKernelArg(db->k[kid], scratch_arg, sizeof(float) * local, NULL));
    size_t global = local * (size_t)channels;
    cl_event ev = NULL;
    CL_CHECK(clEnqueueNDRangeKernel(db->queue, db->k[kid], 1, NULL, &global, &local, 0, NULL, PROF_EVENT(db, &ev)));
    return device_prof_add(db, device_kernel_names[kid], NULL, ev);
}

cm_status device_relu(cm_backend *b, cm_buf *y, size_t n) {
    device_backend *db = DB(b);
    CM_TRY(need(y, n, "relu", "y"));
    if (n > UINT_MAX) return cm_fail(CM_ERR_USAGE, "relu: %zu elements is more than one launch handles", n);
    cl_kernel k = db->k[K_RELU];
    cl_uint nn = (cl_uint)n;
    ARG_MEM(k, 0, y);
    ARG(k, 1, nn);
    return device_launch_1d(db, K_RELU, n);
}

cm_status device_im2col(cm_backend *b, cm_buf *x, cm_buf *col, const cm_window *win) {
    device_backend *db = DB(b);
    cm_window w = *win; /* checked by the wrapper (backend.c: window_check) */
    size_t rows = (size_t)w.channels * w.kernel * w.kernel, cols = (size_t)w.batch * w.out_h * w.out_w;
    CM_TRY(need(x, window_in(&w), "im2col", "x"));
    CM_TRY(need(col, rows * cols, "im2col", "col"));
    cl_kernel k = db->k[K_IM2COL];
    ARG_MEM(k, 0, x);
    ARG_MEM(k, 1, col);
    CM_TRY(window_args(k, 2, &w, 1));
    (void)cols;
    return device_launch_2d(db, K_IM2COL, (size_t)w.batch * w.out_h, rows, 0, NULL, NULL);
}

cm_status device_col2im(cm_backend *b, cm_buf *col, cm_buf *dx, const cm_window *win) {
    device_backend *db = DB(b);
    cm_window w = *win; /* checked by the wrapper (backend.c: window_check) */
    size_t rows = (size_t)w.channels * w.kernel * w.kernel, cols = (size_t)w.batch * w.out_h * w.out_w;
    CM_TRY(need(col, rows * cols, "col2im", "col"));
    CM_TRY(need(dx, window_in(&w), "col2im", "dx"));
    cl_kernel k = db->k[K_COL2IM];
    ARG_MEM(k, 0, col);
    ARG_MEM(k, 1, dx);
    CM_TRY(window_args(k, 2, &w, 1));
    return launch_rows(db, K_COL2IM, (size_t)w.width, (size_t)w.batch * w.channels * w.height);
}

static cm_status check_bchw(int batch, int channels, int hw, const char *op) {
    if (batch < 1 || channels < 1 || hw < 1)
        return cm_fail(CM_ERR_USAGE, "%s: bad shape (B %d, C %d, HW %d)", op, batch, channels, hw);
    return CM_OK;
}

cm_status device_cnhw_to_nchw(cm_backend *b, cm_buf *src, cm_buf *bias, cm_buf *y, int batch, int channels, int hw,
                              bool relu) {
    device_backend *db = DB(b);
    CM_TRY(check_bchw(batch, channels, hw, "cnhw_to_nchw"));
    size_t n = (size_t)batch * channels * hw;
    CM_TRY(need(src, n, "cnhw_to_nchw", "src"));
    CM_TRY(need(y, n, "cnhw_to_nchw", "y"));
    if (bias) CM_TRY(need(bias, (size_t)channels, "cnhw_to_nchw", "bias"));
    cl_kernel k = db->k[K_CNHW_TO_NCHW];
    int has_bias = bias != NULL, r = relu ? 1 : 0;
    ARG_MEM(k, 0, src);
    ARG_MEM(k, 1, bias);
    ARG_MEM(k, 2, y);
    ARG(k, 3, batch);
    ARG(k, 4, channels);
    ARG(k, 5, hw);
    ARG(k, 6, has_bias);
    ARG(k, 7, r);
    return launch_rows(db, K_CNHW_TO_NCHW, (size_t)hw, (size_t)batch * channels);
}

cm_status device_nchw_to_cnhw(cm_backend *b, cm_buf *src, cm_buf *dst, int batch, int channels, int hw) {
    device_backend *db = DB(b);
    CM_TRY(check_bchw(batch, channels, hw, "nchw_to_cnhw"));
    size_t n = (size_t)batch * channels * hw;
    CM_TRY(need(src, n, "nchw_to_cnhw", "src"));
    CM_TRY(need(dst, n, "nchw_to_cnhw", "dst"));
    cl_kernel k = db->k[K_NCHW_TO_CNHW];
    ARG_MEM(k, 0, src);
    ARG_MEM(k, 1, dst);
    ARG(k, 2, batch);
    ARG(k, 3, channels);
    ARG(k, 4, hw);
    return launch_rows(db, K_NCHW_TO_CNHW, (size_t)hw, (size_t)batch * channels);
}

cm_status device_channel_sum(cm_backend *b, cm_buf *x, cm_buf *out, int batch, int channels, int hw) {
    device_backend *db = DB(b);
    CM_TRY(check_bchw(batch, channels, hw, "channel_sum"));
    CM_TRY(need(x, (size_t)batch * channels * hw, "channel_sum", "x"));
    CM_TRY(need(out, (size_t)channels, "channel_sum", "out"));
    cl_kernel k = db->k[K_CHANNEL_SUM];
    ARG_MEM(k, 0, x);
    ARG_MEM(k, 1, out);
    ARG(k, 2, batch);
    ARG(k, 3, channels);
    ARG(k, 4, hw);
    return launch_per_channel(db, K_CHANNEL_SUM, channels, (size_t)batch * hw, 5);
}

cm_status device_maxpool_forward(cm_backend *b, cm_buf *x, cm_buf *y, cm_buf *arg, const cm_window *win) {
    device_backend *db = DB(b);
    cm_window w = *win; /* checked by the wrapper (backend.c: window_check) */
    CM_TRY(need(x, window_in(&w), "maxpool_forward", "x"));
    CM_TRY(need(y, window_out(&w), "maxpool_forward", "y"));
    CM_TRY(need(arg, window_out(&w), "maxpool_forward", "arg"));
    cl_kernel k = db->k[K_MAXPOOL_FWD];
    ARG_MEM(k, 0, x);
    ARG_MEM(k, 1, y);
    ARG_MEM(k, 2, arg);
    CM_TRY(window_args(k, 3, &w, 0));
    return launch_rows(db, K_MAXPOOL_FWD, (size_t)w.out_w, (size_t)w.batch * w.channels * w.out_h);
}

cm_status device_maxpool_backward(cm_backend *b, cm_buf *dy, cm_buf *arg, cm_buf *dx, const cm_window *win) {
    device_backend *db = DB(b);
    cm_window w = *win; /* checked by the wrapper (backend.c: window_check) */
    CM_TRY(need(dy, window_out(&w), "maxpool_backward", "dy"));
    CM_TRY(need(arg, window_out(&w), "maxpool_backward", "arg"));
    CM_TRY(need(dx, window_in(&w), "maxpool_backward", "dx"));
    int scatter = w.stride >= w.kernel; /* windows do not overlap: zero, then one write per output */
    int kid = scatter ? K_MAXPOOL_SCATTER : K_MAXPOOL_BWD;
    if (scatter) CM_TRY(backend_fill(b, dx, 0.0f, window_in(&w)));
    cl_kernel k = db->k[kid];
    ARG_MEM(k, 0, dy);
    ARG_MEM(k, 1, arg);
    ARG_MEM(k, 2, dx);
    CM_TRY(window_args(k, 3, &w, 0));
    return device_launch_1d(db, kid, scatter ? window_out(&w) : window_in(&w));
}

/* Shape and the per-channel buffers every BatchNorm call needs. */
static cm_status bn_check(const cm_bn_shape *s, const char *op, cm_buf *x, cm_buf *y, cm_buf *c1, cm_buf *c2,
                          cm_buf *c3) {
    CM_TRY(check_bchw(s->batch, s->channels, s->hw, op));
    if (!(s->eps >= 0.0f) || !(s->momentum >= 0.0f && s->momentum <= 1.0f))
        return cm_fail(CM_ERR_USAGE, "%s: eps %g must be >= 0 and momentum %g in [0, 1]", op, (double)s->eps,
                       (double)s->momentum);
    size_t n = (size_t)s->batch * s->channels * s->hw, c = (size_t)s->channels;
    CM_TRY(need(x, n, op, "x"));
    CM_TRY(need(y, n, op, "y/dx"));
    CM_TRY(need(c1, c, op, "gamma"));
    CM_TRY(need(c2, c, op, "mean"));
    return need(c3, c, op, "invstd/var");
}

/* y = gamma (x - mean) inv + beta; inv = scale, or 1 / sqrt(scale + eps) when scale_is_var. */
static cm_status bn_normalize(device_backend *db, cm_buf *x, cm_buf *y, cm_buf *gamma, cm_buf *beta, cm_buf *mean,
                              cm_buf *scale, int scale_is_var, const cm_bn_shape *s) {
    cl_kernel k = db->k[K_BN_NORMALIZE];
    ARG_MEM(k, 0, x);
    ARG_MEM(k, 1, y);
    ARG_MEM(k, 2, gamma);
    ARG_MEM(k, 3, beta);
    ARG_MEM(k, 4, mean);
    ARG_MEM(k, 5, scale);
    ARG(k, 6, scale_is_var);
    ARG(k, 7, s->batch);
    ARG(k, 8, s->channels);
    ARG(k, 9, s->hw);
    ARG(k, 10, s->eps);
    const int relu = s->relu;
    ARG(k, 11, relu);
    return launch_rows(db, K_BN_NORMALIZE, (size_t)s->hw, (size_t)s->batch * s->channels);
}

cm_status device_bn_forward(cm_backend *b, cm_buf *x, cm_buf *y, cm_buf *gamma, cm_buf *beta, cm_buf *running_mean,
                            cm_buf *running_var, cm_buf *save_mean, cm_buf *save_invstd, const cm_bn_shape *s,
                            bool training) {
    device_backend *db = DB(b);
    if (!training) {
        CM_TRY(bn_check(s, "bn_forward (eval)", x, y, gamma, running_mean, running_var));
        CM_TRY(need(beta, (size_t)s->channels, "bn_forward (eval)", "beta"));
        return bn_normalize(db, x, y, gamma, beta, running_mean, running_var, 1, s);
    }
    CM_TRY(bn_check(s, "bn_forward", x, y, gamma, save_mean, save_invstd));
    CM_TRY(need(beta, (size_t)s->channels, "bn_forward", "beta"));
    CM_TRY(need(running_mean, (size_t)s->channels, "bn_forward", "running_mean"));
    CM_TRY(need(running_var, (size_t)s->channels, "bn_forward", "running_var"));
    cl_kernel k = db->k[K_BN_STATS];
    ARG_MEM(k, 0, x);
    ARG_MEM(k, 1, save_mean);
    ARG_MEM(k, 2, save_invstd);
    ARG_MEM(k, 3, running_mean);
    ARG_MEM(k, 4, running_var);
    ARG(k, 5, s->batch);
    ARG(k, 6, s->channels);
    ARG(k, 7, s->hw);
    ARG(k, 8, s->eps);
    ARG(k, 9, s->momentum);
    CM_TRY(launch_per_channel(db, K_BN_STATS, s->channels, (size_t)s->batch * s->hw, 10));
    return bn_normalize(db, x, y, gamma, beta, save_mean, save_invstd, 0, s);
}

cm_status device_bn_backward(cm_backend *b, cm_buf *dy, cm_buf *x, cm_buf *gamma, cm_buf *save_mean,
                             cm_buf *save_invstd, cm_buf *dx, cm_buf *dgamma, cm_buf *dbeta, const cm_bn_shape *s) {
    device_backend *db = DB(b);
    CM_TRY(bn_check(s, "bn_backward", x, dx, gamma, save_mean, save_invstd));
    CM_TRY(need(dy, (size_t)s->batch * s->channels * s->hw, "bn_backward", "dy"));
    CM_TRY(need(dgamma, (size_t)s->channels, "bn_backward", "dgamma"));
    CM_TRY(need(dbeta, (size_t)s->channels, "bn_backward", "dbeta"));
    cl_kernel k = db->k[K_BN_BWD_REDUCE];
    ARG_MEM(k, 0, dy);
    ARG_MEM(k, 1, x);
    ARG_MEM(k, 2, save_mean);
    ARG_MEM(k, 3, save_invstd);
    ARG_MEM(k, 4, dgamma);
    ARG_MEM(k, 5, dbeta);
    ARG(k, 6, s->batch);
    ARG(k, 7, s->channels);
    ARG(k, 8, s->hw);
    CM_TRY(launch_per_channel(db, K_BN_BWD_REDUCE, s->channels, (size_t)s->batch * s->hw, 9));
    k = db->k[K_BN_BWD_DX];
    ARG_MEM(k, 0, dy);
    ARG_MEM(k, 1, x);
    ARG_MEM(k, 2, gamma);
    ARG_MEM(k, 3, save_mean);
    ARG_MEM(k, 4, save_invstd);
    ARG_MEM(k, 5, dgamma);
    ARG_MEM(k, 6, dbeta);
    ARG_MEM(k, 7, dx);
    ARG(k, 8, s->batch);
    ARG(k, 9, s->channels);
    ARG(k, 10, s->hw);
    return launch_rows(db, K_BN_BWD_DX, (size_t)s->hw, (size_t)s->batch * s->channels);
}

cm_status device_gap_forward(cm_backend *b, cm_buf *x, cm_buf *y, int planes, int hw) {
    device_backend *db = DB(b);
    CM_TRY(need(x, (size_t)planes * (size_t)hw, "gap_forward", "x"));
    CM_TRY(need(y, (size_t)planes, "gap_forward", "y"));
    cl_kernel k = db->k[K_GAP_FWD];
    ARG_MEM(k, 0, x);
    ARG_MEM(k, 1, y);
    ARG(k, 2, planes);
    ARG(k, 3, hw);
    return device_launch_1d(db, K_GAP_FWD, (size_t)planes);
}

cm_status device_gap_backward(cm_backend *b, cm_buf *dy, cm_buf *dx, int planes, int hw) {
    device_backend *db = DB(b);
    CM_TRY(need(dy, (size_t)planes, "gap_backward", "dy"));
    CM_TRY(need(dx, (size_t)planes * (size_t)hw, "gap_backward", "dx"));
    cl_kernel k = db->k[K_GAP_BWD];
    ARG_MEM(k, 0, dy);
    ARG_MEM(k, 1, dx);
    ARG(k, 2, planes);
    ARG(k, 3, hw);
    return device_launch_1d(db, K_GAP_BWD, (size_t)planes * (size_t)hw);
}

cm_status device_channel_affine(cm_backend *b, cm_buf *x, int batch, int channels, int hw, const float *mul,
                                const float *add) {
    device_backend *db = DB(b);
    size_t n = (size_t)batch * (size_t)channels * (size_t)hw;
    CM_TRY(need(x, n, "channel_affine", "x"));
    cl_float4 m = {{1.0f, 1.0f, 1.0f, 1.0f}}, a = {{0.0f, 0.0f, 0.0f, 0.0f}};
    for (int c = 0; c < channels && c < 4; c++)
        m.s[c] = mul[c], a.s[c] = add[c];
    cl_kernel k = db->k[K_CHANNEL_AFFINE];
    cl_ulong count = n;
    ARG_MEM(k, 0, x);
    ARG(k, 1, channels);
    ARG(k, 2, hw);
    ARG(k, 3, count);
    ARG(k, 4, m);
    ARG(k, 5, a);
    return device_launch_1d(db, K_CHANNEL_AFFINE, n);
}
