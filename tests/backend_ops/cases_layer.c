/* cases_layer.c: run functions of the convolution, pooling and BatchNorm operations (relu,
 * im2col, col2im, cnhw_to_nchw, nchw_to_cnhw, channel_sum, maxpool_forward/backward,
 * bn_forward/backward, gap_forward/backward). Windows are p = {B, C, H, W, K, S, P}; the rest p = {B, C, HW, ...}.
 * Outputs a contract says are overwritten start as 7.25. */
#include <math.h>
#include <stdio.h>

#include "bops.h"

static cm_window win_of(bo_ctx *c, const bo_case *k) {
    return bo_window(c, k->p[0], k->p[1], k->p[2], k->p[3], k->p[4], k->p[5], k->p[6]);
}

static void shape_window(bo_ctx *c, const cm_window *w) {
    bo_shape(c, "B%d C%d %dx%d k%d s%d p%d", w->batch, w->channels, w->height, w->width, w->kernel, w->stride, w->pad);
}

/* p: n */
void bo_run_relu(bo_ctx *c, const bo_case *k) {
    size_t n = (size_t)k->p[0];
    bo_shape(c, "n %zu", n);
    float *x = bo_uniform(c, n, 1);
    if (n >= 4) x[0] = -0.0f, x[1] = 1e-30f, x[2] = -1e-30f, x[3] = 0.0f;
    cm_buf *Y = bo_in(c, x, 4 * n);
    BO_TIMED(c) BO_OK(c, backend_relu(c->b, Y, n));
    c->bytes = 8.0 * (double)n;
    bo_keep(c, "y", Y, BO_F32, n, 0, 0);
    const float *got = c->out[c->nout - 1].v;
    for (size_t i = 0; i < n && !c->perf; i++)
        if (got[i] != (x[i] > 0.0f ? x[i] : 0.0f)) {
            fprintf(stderr, "  relu[%zu]: %g from %g\n", i, (double)got[i], (double)x[i]);
            c->failed = 1;
            break;
        }
}

void bo_run_im2col(bo_ctx *c, const bo_case *k) {
    cm_window w = win_of(c, k);
    shape_window(c, &w);
    size_t nx = (size_t)w.batch * w.channels * w.height * w.width;
    size_t ncol = (size_t)w.channels * w.kernel * w.kernel * w.batch * w.out_h * w.out_w;
    cm_buf *X = bo_in(c, bo_uniform(c, nx, 1), 4 * nx), *COL = bo_out(c, ncol, 7.25f);
    BO_TIMED(c) BO_OK(c, backend_im2col(c->b, X, COL, &w));
    c->bytes = 4.0 * (double)(nx + ncol);
    bo_keep(c, "col", COL, BO_F32, ncol, 0, 0);
}

void bo_run_col2im(bo_ctx *c, const bo_case *k) {
    cm_window w = win_of(c, k);
    shape_window(c, &w);
    size_t nx = (size_t)w.batch * w.channels * w.height * w.width;
    size_t ncol = (size_t)w.channels * w.kernel * w.kernel * w.batch * w.out_h * w.out_w;
    cm_buf *COL = bo_in(c, bo_uniform(c, ncol, 2), 4 * ncol), *DX = bo_out(c, nx, 7.25f);
    BO_TIMED(c) BO_OK(c, backend_col2im(c->b, COL, DX, &w));
    c->bytes = 4.0 * (double)(nx + ncol);
    bo_keep(c, "dx", DX, BO_F32, nx, k->atol, k->rtol);
}

/* p: B, C, HW, bias, relu */
void bo_run_cnhw_to_nchw(bo_ctx *c, const bo_case *k) {
    int B = k->p[0], C = k->p[1], HW = k->p[2];
    size_t n = (size_t)B * C * HW;
    bo_shape(c, "B%d C%d HW%d%s%s", B, C, HW, k->p[3] ? " bias" : "", k->p[4] ? " relu" : "");
    cm_buf *S = bo_in(c, bo_uniform(c, n, 3), 4 * n), *Y = bo_out(c, n, 7.25f);
    cm_buf *BI = k->p[3] ? bo_in(c, bo_uniform(c, (size_t)C, 4), 4 * (size_t)C) : NULL;
    BO_TIMED(c) BO_OK(c, backend_cnhw_to_nchw(c->b, S, BI, Y, B, C, HW, k->p[4]));
    c->bytes = 8.0 * (double)n;
    bo_keep(c, "y", Y, BO_F32, n, 0, 0);
}

/* p: B, C, HW */
void bo_run_nchw_to_cnhw(bo_ctx *c, const bo_case *k) {
    int B = k->p[0], C = k->p[1], HW = k->p[2];
    size_t n = (size_t)B * C * HW;
    bo_shape(c, "B%d C%d HW%d", B, C, HW);
    cm_buf *S = bo_in(c, bo_uniform(c, n, 5), 4 * n), *D = bo_out(c, n, 7.25f);
    BO_TIMED(c) BO_OK(c, backend_nchw_to_cnhw(c->b, S, D, B, C, HW));
    c->bytes = 8.0 * (double)n;
    bo_keep(c, "dst", D, BO_F32, n, 0, 0);
}

/* p: B, C, HW */
void bo_run_channel_sum(bo_ctx *c, const bo_case *k) {
    int B = k->p[0], C = k->p[1], HW = k->p[2];
    size_t n = (size_t)B * C * HW;
    bo_shape(c, "B%d C%d HW%d", B, C, HW);
    float *x = bo_uniform(c, n, 6);
    cm_buf *X = bo_in(c, x, 4 * n), *O = bo_out(c, (size_t)C, 7.25f);
    BO_TIMED(c) BO_OK(c, backend_channel_sum(c->b, X, O, B, C, HW));
    c->bytes = 4.0 * (double)n;
    bo_keep(c, "sum", O, BO_F32, (size_t)C, k->atol, k->rtol);
    double *ref = bo_tmp(c, sizeof(double) * (size_t)C);
    for (size_t i = 0; i < n; i++)
        ref[(i / (size_t)HW) % (size_t)C] += x[i];
    if (!c->perf) bo_check64(c, "channel_sum vs float64", c->out[c->nout - 1].v, ref, (size_t)C, k->atol, k->rtol);
}

/* x with distinct values (no ties to break) on a window with pad 0 */
static void pool_forward(bo_ctx *c, const bo_case *k, cm_window *w, cm_buf **X, cm_buf **Y, cm_buf **A, int timed) {
    *w = win_of(c, k);
    shape_window(c, w);
    size_t nx = (size_t)w->batch * w->channels * w->height * w->width;
    size_t ny = (size_t)w->batch * w->channels * w->out_h * w->out_w;
    *X = bo_in(c, bo_distinct(c, nx, 7 + nx), 4 * nx);
    *Y = bo_out(c, ny, 7.25f), *A = bo_out(c, ny, 7.25f);
    if (!timed) {
        BO_OK(c, backend_maxpool_forward(c->b, *X, *Y, *A, w));
        return;
    }
    BO_TIMED(c) BO_OK(c, backend_maxpool_forward(c->b, *X, *Y, *A, w));
    c->bytes = 4.0 * (double)(nx + 2 * ny);
}

void bo_run_maxpool_forward(bo_ctx *c, const bo_case *k) {
    cm_window w;
    cm_buf *X, *Y, *A;
    pool_forward(c, k, &w, &X, &Y, &A, 1);
    size_t ny = (size_t)w.batch * w.channels * w.out_h * w.out_w;
    bo_keep(c, "y", Y, BO_F32, ny, 0, 0);
    bo_keep(c, "arg", A, BO_I32, ny, 0, 0);
}

void bo_run_maxpool_backward(bo_ctx *c, const bo_case *k) {
    cm_window w;
    cm_buf *X, *Y, *A;
    pool_forward(c, k, &w, &X, &Y, &A, 0);
    size_t nx = (size_t)w.batch * w.channels * w.height * w.width;
    size_t ny = (size_t)w.batch * w.channels * w.out_h * w.out_w;
    cm_buf *DY = bo_in(c, bo_uniform(c, ny, 8), 4 * ny), *DX = bo_out(c, nx, 7.25f);
    BO_TIMED(c) BO_OK(c, backend_maxpool_backward(c->b, DY, A, DX, &w));
    c->bytes = 4.0 * (double)(nx + 2 * ny);
    bo_keep(c, "dx", DX, BO_F32, nx, k->atol, k->rtol);
}

typedef struct {
    cm_bn_shape s;
    cm_buf *x, *y, *gamma, *beta, *rm, *rv, *sm, *si;
} bn_bufs;

/* p: B, C, HW, training, relu; f: eps, momentum. Running stats and gamma from seeds, var > 0. */
static bn_bufs bn_setup(bo_ctx *c, const bo_case *k) {
    bn_bufs t = {.s = {k->p[0], k->p[1], k->p[2], k->f[0], k->f[1], k->p[4] != 0}};
    size_t n = (size_t)t.s.batch * t.s.channels * t.s.hw, nc = (size_t)t.s.channels;
    float *rv = bo_uniform(c, nc, 14), *gamma = bo_uniform(c, nc, 12);
    for (size_t i = 0; i < nc; i++)
        rv[i] = 0.5f + rv[i] * rv[i], gamma[i] += 1.5f;
    float *x = bo_uniform(c, n, 11);
    for (size_t i = 0; i < n; i++)
        x[i] = 2.0f * x[i] + 1.5f; /* an offset mean: the variance must not cancel */
    t.x = bo_in(c, x, 4 * n);
    t.y = bo_out(c, n, 7.25f);
    t.gamma = bo_in(c, gamma, 4 * nc), t.beta = bo_in(c, bo_uniform(c, nc, 13), 4 * nc);
    t.rm = bo_in(c, bo_uniform(c, nc, 15), 4 * nc), t.rv = bo_in(c, rv, 4 * nc);
    t.sm = bo_out(c, nc, 7.25f), t.si = bo_out(c, nc, 7.25f);
    return t;
}

void bo_run_bn_forward(bo_ctx *c, const bo_case *k) {
    bn_bufs t = bn_setup(c, k);
    int training = k->p[3];
    size_t n = (size_t)t.s.batch * t.s.channels * t.s.hw, nc = (size_t)t.s.channels;
    bo_shape(c, "B%d C%d HW%d eps %g momentum %g %s%s", t.s.batch, t.s.channels, t.s.hw, (double)t.s.eps,
             (double)t.s.momentum, training ? "train" : "eval", t.s.relu ? " relu" : "");
    BO_TIMED(c)
    BO_OK(c, backend_bn_forward(c->b, t.x, t.y, t.gamma, t.beta, t.rm, t.rv, t.sm, t.si, &t.s, training));
    if (t.s.relu && !c->perf) { /* the fused ReLU: y = max(the same forward without it, 0), exactly */
        cm_bn_shape plain = t.s;
        plain.relu = false;
        cm_buf *Y2 = bo_out(c, n, 7.25f);
        BO_OK(c, backend_bn_forward(c->b, t.x, Y2, t.gamma, t.beta, t.rm, t.rv, t.sm, t.si, &plain, training));
        const float *y = bo_download_f(c, t.y, n), *y2 = bo_download_f(c, Y2, n);
        int zeros = 0;
        for (size_t i = 0; i < n && !c->failed; i++) {
            zeros += y[i] == 0.0f;
            if (y[i] != (y2[i] > 0.0f ? y2[i] : 0.0f))
                fprintf(stderr, "  bn_forward relu: y[%zu] = %g, without the ReLU %g\n", i, (double)y[i],
                        (double)y2[i]),
                    c->failed = 1;
        }
        if (!zeros) fprintf(stderr, "  bn_forward relu: no output was negative before it\n"), c->failed = 1;
    }
    c->bytes = 8.0 * (double)n * (training ? 1.5 : 1.0);
    bo_keep(c, "y", t.y, BO_F32, n, k->atol, k->rtol);
    bo_keep(c, "running_mean", t.rm, BO_F32, nc, k->atol, k->rtol);
    bo_keep(c, "running_var", t.rv, BO_F32, nc, k->atol, k->rtol);
    bo_keep(c, "save_mean", t.sm, BO_F32, nc, k->atol, k->rtol); /* eval: untouched 7.25 */
    bo_keep(c, "save_invstd", t.si, BO_F32, nc, k->atol, k->rtol);
}

void bo_run_bn_backward(bo_ctx *c, const bo_case *k) {
    bn_bufs t = bn_setup(c, k);
    size_t n = (size_t)t.s.batch * t.s.channels * t.s.hw, nc = (size_t)t.s.channels;
    bo_shape(c, "B%d C%d HW%d eps %g", t.s.batch, t.s.channels, t.s.hw, (double)t.s.eps);
    BO_OK(c, backend_bn_forward(c->b, t.x, t.y, t.gamma, t.beta, t.rm, t.rv, t.sm, t.si, &t.s, true));
    cm_buf *DY = bo_in(c, bo_uniform(c, n, 16), 4 * n), *DX = bo_out(c, n, 7.25f);
    cm_buf *DG = bo_out(c, nc, 7.25f), *DB = bo_out(c, nc, 7.25f);
    BO_TIMED(c) BO_OK(c, backend_bn_backward(c->b, DY, t.x, t.gamma, t.sm, t.si, DX, DG, DB, &t.s));
    c->bytes = 12.0 * (double)n;
    bo_keep(c, "dx", DX, BO_F32, n, k->atol, k->rtol);
    bo_keep(c, "dgamma", DG, BO_F32, nc, k->atol, k->rtol);
    bo_keep(c, "dbeta", DB, BO_F32, nc, k->atol, k->rtol);
}

/* p: B, C, HW (gap: planes = B * C); the forward also against a float64 mean */
void bo_run_gap_forward(bo_ctx *c, const bo_case *k) {
    int B = k->p[0], C = k->p[1], HW = k->p[2];
    size_t planes = (size_t)B * C, n = planes * (size_t)HW;
    bo_shape(c, "B%d C%d HW%d", B, C, HW);
    float *x = bo_uniform(c, n, 41);
    cm_buf *X = bo_in(c, x, 4 * n), *Y = bo_out(c, planes, 7.25f);
    BO_TIMED(c) BO_OK(c, backend_gap_forward(c->b, X, Y, (int)planes, HW));
    c->bytes = 4.0 * (double)(n + planes);
    bo_keep(c, "y", Y, BO_F32, planes, k->atol, k->rtol);
    double *ref = bo_tmp(c, sizeof(double) * planes);
    for (size_t i = 0; i < n; i++)
        ref[i / (size_t)HW] += x[i] / (double)HW;
    if (!c->perf) bo_check64(c, "gap_forward vs float64", c->out[c->nout - 1].v, ref, planes, k->atol, k->rtol);
}

void bo_run_gap_backward(bo_ctx *c, const bo_case *k) {
    int B = k->p[0], C = k->p[1], HW = k->p[2];
    size_t planes = (size_t)B * C, n = planes * (size_t)HW;
    bo_shape(c, "B%d C%d HW%d", B, C, HW);
    cm_buf *DY = bo_in(c, bo_uniform(c, planes, 42), 4 * planes), *DX = bo_out(c, n, 7.25f);
    BO_TIMED(c) BO_OK(c, backend_gap_backward(c->b, DY, DX, (int)planes, HW));
    c->bytes = 4.0 * (double)(n + planes);
    bo_keep(c, "dx", DX, BO_F32, n, k->atol, k->rtol);
}

/* p: B, C, HW; x = x mul[c] + add[c] in place, against float64 */
void bo_run_channel_affine(bo_ctx *c, const bo_case *k) {
    int B = k->p[0], C = k->p[1], HW = k->p[2];
    size_t n = (size_t)B * C * HW;
    bo_shape(c, "B%d C%d HW%d", B, C, HW);
    float *x = bo_uniform(c, n, 45), *mul = bo_uniform(c, (size_t)C, 46), *add = bo_uniform(c, (size_t)C, 47);
    for (int ch = 0; ch < C; ch++)
        mul[ch] = 4.0f + 2.0f * mul[ch]; /* as 1 / std of pixels in [0, 1]: 2 to 6 */
    cm_buf *X = bo_in(c, x, 4 * n);
    BO_TIMED(c) BO_OK(c, backend_channel_affine(c->b, X, B, C, HW, mul, add));
    c->bytes = 8.0 * (double)n;
    bo_keep(c, "x", X, BO_F32, n, k->atol, k->rtol);
    double *ref = bo_tmp(c, sizeof(double) * n);
    for (size_t i = 0; i < n; i++)
        ref[i] = (double)x[i] * mul[(i / (size_t)HW) % (size_t)C] + add[(i / (size_t)HW) % (size_t)C];
    if (!c->perf) bo_check64(c, "channel_affine vs float64", c->out[c->nout - 1].v, ref, n, k->atol, k->rtol);
}
