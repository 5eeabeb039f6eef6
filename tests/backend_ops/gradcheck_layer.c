/* gradcheck_layer.c: the convolution, both as the conv_forward/conv_backward operations and
 * composed (im2col + gemm + cnhw_to_nchw, and back through nchw_to_cnhw, two gemms, col2im and
 * channel_sum, as the device backend does), max pooling and training
 * BatchNorm against float64 central differences of their definitions (gradcheck.c explains). */
#include <math.h>
#include <stdlib.h>

#include "bops.h"

#define FD_H 1e-6

/* ---- convolution: theta = x (B, C, H, W), weight (OC, C, K, K), bias (OC) ---- */
typedef struct {
    cm_window w;
    int oc;
    const double *r;
    double *y;
} conv_model;

static double conv_loss(const void *m, const double *t) {
    const conv_model *cm = m;
    const cm_window *w = &cm->w;
    int C = w->channels, H = w->height, W = w->width, K = w->kernel, OH = w->out_h, OW = w->out_w;
    const double *wt = t + (size_t)w->batch * C * H * W, *bias = wt + (size_t)cm->oc * C * K * K;
    double L = 0.0;
    for (int b = 0; b < w->batch; b++)
        for (int o = 0; o < cm->oc; o++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    double s = bias[o];
                    for (int ch = 0; ch < C; ch++)
                        for (int i = 0; i < K; i++)
                            for (int j = 0; j < K; j++) {
                                int h = oh * w->stride - w->pad + i, x = ow * w->stride - w->pad + j;
                                if (h < 0 || h >= H || x < 0 || x >= W) continue;
                                s += wt[(((size_t)o * C + ch) * K + i) * K + j] *
                                     t[(((size_t)b * C + ch) * H + h) * W + x];
                            }
                    size_t at = (((size_t)b * cm->oc + o) * OH + oh) * OW + ow;
                    if (cm->y) cm->y[at] = s;
                    L += cm->r[at] * s;
                }
    return L;
}

/* The forward y and the gradients dx, dweight, dbias a backend computed from theta (x, weight,
 * bias as floats) and dy = r, against the float64 definition and its central differences. */
typedef struct {
    cm_window w;
    int oc;
    const float *theta, *r;
    cm_buf *y, *dx, *dw, *db;
} conv_result;

static void conv_compare(bo_ctx *c, const conv_result *got) {
    const cm_window w = got->w;
    int oc = got->oc, ckk = w.channels * w.kernel * w.kernel, cols = w.batch * w.out_h * w.out_w;
    size_t nx = (size_t)w.batch * w.channels * w.height * w.width, nw = (size_t)oc * ckk, ny = (size_t)oc * cols;
    size_t nt = nx + nw + (size_t)oc;
    conv_model m = {w, oc, bo_to_double(c, got->r, ny), bo_tmp(c, sizeof(double) * ny)};
    double *theta = bo_to_double(c, got->theta, nt), *g = bo_tmp(c, sizeof(double) * nt);
    conv_loss(&m, theta);
    double tol = 1e-6 * ckk;
    bo_check64(c, "conv forward vs float64", bo_download_f(c, got->y, ny), m.y, ny, tol, 1e-5);
    m.y = NULL;
    bo_central_diff(conv_loss, &m, theta, nt, FD_H, g);
    bo_check64(c, "conv dx vs central differences", bo_download_f(c, got->dx, nx), g, nx,
               1e-6 * oc * w.kernel * w.kernel, 1e-5);
    bo_check64(c, "conv dweight vs central differences", bo_download_f(c, got->dw, nw), g + nx, nw, 1e-6 * cols, 1e-5);
    bo_check64(c, "conv dbias vs central differences", bo_download_f(c, got->db, oc), g + nx + nw, oc, 1e-6 * cols,
               1e-5);
}

/* The inputs of a convolution case p = {B, C, H, W, K, S, P, OC}: theta = x, weight, bias; dy. */
static conv_result conv_inputs(bo_ctx *c, const bo_case *k, cm_buf **X, cm_buf **WT, cm_buf **BI, cm_buf **DY) {
    conv_result r = {.w = bo_window(c, k->p[0], k->p[1], k->p[2], k->p[3], k->p[4], k->p[5], k->p[6]), .oc = k->p[7]};
    size_t nx = (size_t)r.w.batch * r.w.channels * r.w.height * r.w.width;
    size_t nw = (size_t)r.oc * r.w.channels * r.w.kernel * r.w.kernel,
           ny = (size_t)r.oc * r.w.batch * r.w.out_h * r.w.out_w;
    float *theta = bo_uniform(c, nx + nw + r.oc, 31), *dy = bo_uniform(c, ny, 32);
    r.theta = theta, r.r = dy;
    *X = bo_in(c, theta, 4 * nx), *WT = bo_in(c, theta + nx, 4 * nw), *BI = bo_in(c, theta + nx + nw, 4 * (size_t)r.oc);
    *DY = bo_in(c, dy, 4 * ny);
    r.y = bo_out(c, ny, 7.25f), r.dx = bo_out(c, nx, 7.25f), r.dw = bo_out(c, nw, 7.25f);
    r.db = bo_out(c, (size_t)r.oc, 7.25f);
    return r;
}

/* im2col case: the convolution composed as host/backend/device/conv_device.c does it */
void bo_grad_conv(bo_ctx *c, const bo_case *k) {
    cm_buf *X, *WT, *BI, *DY;
    conv_result r = conv_inputs(c, k, &X, &WT, &BI, &DY);
    const cm_window w = r.w;
    int oc = r.oc, ckk = w.channels * w.kernel * w.kernel, cols = w.batch * w.out_h * w.out_w;
    size_t ny = (size_t)oc * cols;
    cm_buf *COL = bo_out(c, (size_t)ckk * cols, 7.25f), *CN = bo_out(c, ny, 7.25f), *DYC = bo_out(c, ny, 7.25f);
    cm_buf *DCOL = bo_out(c, (size_t)ckk * cols, 7.25f);
    BO_OK(c, backend_im2col(c->b, X, COL, &w));
    BO_OK(c, backend_gemm(c->b, false, false, oc, cols, ckk, 1.0f, WT, ckk, COL, cols, 0.0f, CN, cols));
    BO_OK(c, backend_cnhw_to_nchw(c->b, CN, BI, r.y, w.batch, oc, w.out_h * w.out_w, false));
    BO_OK(c, backend_nchw_to_cnhw(c->b, DY, DYC, w.batch, oc, w.out_h * w.out_w));
    BO_OK(c, backend_gemm(c->b, false, true, oc, ckk, cols, 1.0f, DYC, cols, COL, cols, 0.0f, r.dw, ckk));
    BO_OK(c, backend_gemm(c->b, true, false, ckk, cols, oc, 1.0f, WT, ckk, DYC, cols, 0.0f, DCOL, cols));
    BO_OK(c, backend_col2im(c->b, DCOL, r.dx, &w));
    BO_OK(c, backend_channel_sum(c->b, DY, r.db, w.batch, oc, w.out_h * w.out_w));
    conv_compare(c, &r);
}

/* conv_forward / conv_backward case: the operations themselves (bias gradient: channel_sum) */
void bo_grad_conv_op(bo_ctx *c, const bo_case *k) {
    cm_buf *X, *WT, *BI, *DY;
    conv_result r = conv_inputs(c, k, &X, &WT, &BI, &DY);
    BO_OK(c, backend_conv_forward(c->b, X, WT, BI, r.y, r.oc, &r.w, false));
    BO_OK(c, backend_conv_backward(c->b, DY, X, WT, r.dw, r.dx, r.oc, &r.w));
    BO_OK(c, backend_channel_sum(c->b, DY, r.db, r.w.batch, r.oc, r.w.out_h * r.w.out_w));
    conv_compare(c, &r);
}

/* ---- max pooling: theta = x ---- */
typedef struct {
    cm_window w;
    const double *r;
    double *y;
} pool_model;

static double pool_loss(const void *m, const double *x) {
    const pool_model *pm = m;
    const cm_window *w = &pm->w;
    double L = 0.0;
    for (int bc = 0; bc < w->batch * w->channels; bc++)
        for (int oh = 0; oh < w->out_h; oh++)
            for (int ow = 0; ow < w->out_w; ow++) {
                double mx = -INFINITY;
                for (int i = 0; i < w->kernel; i++)
                    for (int j = 0; j < w->kernel; j++)
                        mx = fmax(mx, x[((size_t)bc * w->height + oh * w->stride + i) * w->width + ow * w->stride + j]);
                size_t at = ((size_t)bc * w->out_h + oh) * w->out_w + ow;
                if (pm->y) pm->y[at] = mx;
                L += pm->r[at] * mx;
            }
    return L;
}

/* maxpool case p = {B, C, H, W, K, S, 0}: distinct inputs (no ties, no kink within h) */
void bo_grad_maxpool(bo_ctx *c, const bo_case *k) {
    cm_window w = bo_window(c, k->p[0], k->p[1], k->p[2], k->p[3], k->p[4], k->p[5], 0);
    size_t nx = (size_t)w.batch * w.channels * w.height * w.width,
           ny = (size_t)w.batch * w.channels * w.out_h * w.out_w;
    float *x = bo_distinct(c, nx, 33), *r = bo_uniform(c, ny, 34);
    cm_buf *X = bo_in(c, x, 4 * nx), *Y = bo_out(c, ny, 7.25f), *A = bo_out(c, ny, 7.25f);
    cm_buf *DY = bo_in(c, r, 4 * ny), *DX = bo_out(c, nx, 7.25f);
    BO_OK(c, backend_maxpool_forward(c->b, X, Y, A, &w));
    BO_OK(c, backend_maxpool_backward(c->b, DY, A, DX, &w));
    pool_model m = {w, bo_to_double(c, r, ny), bo_tmp(c, sizeof(double) * ny)};
    double *theta = bo_to_double(c, x, nx), *g = bo_tmp(c, sizeof(double) * nx);
    pool_loss(&m, theta);
    bo_check64(c, "maxpool forward vs float64", bo_download_f(c, Y, ny), m.y, ny, 0, 0);
    m.y = NULL;
    bo_central_diff(pool_loss, &m, theta, nx, FD_H, g);
    bo_check64(c, "maxpool backward vs central differences", bo_download_f(c, DX, nx), g, nx, 1e-6, 1e-5);
}

/* ---- training BatchNorm: theta = x (B, C, HW), gamma (C), beta (C) ---- */
typedef struct {
    cm_bn_shape s;
    const double *r;
    double *y;
} bn_model;

static double bn_loss(const void *m, const double *t) {
    const bn_model *bm = m;
    int B = bm->s.batch, C = bm->s.channels, HW = bm->s.hw;
    const double *gamma = t + (size_t)B * C * HW, *beta = gamma + C;
    double L = 0.0, N = (double)B * HW;
    for (int ch = 0; ch < C; ch++) {
        double mean = 0.0, var = 0.0;
        for (int b = 0; b < B; b++)
            for (int s = 0; s < HW; s++)
                mean += t[((size_t)b * C + ch) * HW + s] / N;
        for (int b = 0; b < B; b++)
            for (int s = 0; s < HW; s++)
                var += pow(t[((size_t)b * C + ch) * HW + s] - mean, 2) / N;
        double inv = 1.0 / sqrt(var + (double)bm->s.eps);
        for (int b = 0; b < B; b++)
            for (int s = 0; s < HW; s++) {
                size_t i = ((size_t)b * C + ch) * HW + s;
                double y = gamma[ch] * (t[i] - mean) * inv + beta[ch];
                if (bm->y) bm->y[i] = y;
                L += bm->r[i] * y;
            }
    }
    return L;
}

/* bn_backward case p = {B, C, HW}; f = {eps, momentum} */
void bo_grad_bn(bo_ctx *c, const bo_case *k) {
    cm_bn_shape s = {k->p[0], k->p[1], k->p[2], k->f[0], k->f[1], false};
    size_t n = (size_t)s.batch * s.channels * s.hw, nc = (size_t)s.channels, nt = n + 2 * nc;
    float *t = bo_uniform(c, nt, 35), *r = bo_uniform(c, n, 36);
    for (size_t i = n; i < n + nc; i++)
        t[i] += 1.5f; /* gamma away from 0 */
    cm_buf *X = bo_in(c, t, 4 * n), *G = bo_in(c, t + n, 4 * nc), *BE = bo_in(c, t + n + nc, 4 * nc);
    cm_buf *RM = bo_out(c, nc, 0.0f), *RV = bo_out(c, nc, 1.0f), *SM = bo_out(c, nc, 7.25f);
    cm_buf *SI = bo_out(c, nc, 7.25f), *Y = bo_out(c, n, 7.25f), *DY = bo_in(c, r, 4 * n);
    cm_buf *DX = bo_out(c, n, 7.25f), *DG = bo_out(c, nc, 7.25f), *DB = bo_out(c, nc, 7.25f);
    BO_OK(c, backend_bn_forward(c->b, X, Y, G, BE, RM, RV, SM, SI, &s, true));
    BO_OK(c, backend_bn_backward(c->b, DY, X, G, SM, SI, DX, DG, DB, &s));
    bn_model m = {s, bo_to_double(c, r, n), bo_tmp(c, sizeof(double) * n)};
    double *theta = bo_to_double(c, t, nt), *g = bo_tmp(c, sizeof(double) * nt);
    bn_loss(&m, theta);
    bo_check64(c, "bn forward vs float64", bo_download_f(c, Y, n), m.y, n, 1e-5, 1e-5);
    m.y = NULL;
    bo_central_diff(bn_loss, &m, theta, nt, FD_H, g);
    double N = (double)s.batch * s.hw;
    bo_check64(c, "bn dx vs central differences", bo_download_f(c, DX, n), g, n, 1e-5, 1e-4);
    bo_check64(c, "bn dgamma vs central differences", bo_download_f(c, DG, nc), g + n, nc, 1e-6 * N, 1e-4);
    bo_check64(c, "bn dbeta vs central differences", bo_download_f(c, DB, nc), g + n + nc, nc, 1e-6 * N, 1e-4);
}

/* ---- global average pooling: theta = x (B C, HW) ---- */
typedef struct {
    size_t planes, hw;
    const double *r;
    double *y;
} gap_model;

static double gap_loss(const void *m, const double *t) {
    const gap_model *g = m;
    double L = 0.0;
    for (size_t p = 0; p < g->planes; p++) {
        double mean = 0.0;
        for (size_t s = 0; s < g->hw; s++)
            mean += t[p * g->hw + s];
        mean /= (double)g->hw;
        if (g->y) g->y[p] = mean;
        L += g->r[p] * mean;
    }
    return L;
}

/* gap case p = {B, C, HW}: gap_forward, then gap_backward with dy = r */
void bo_grad_gap(bo_ctx *c, const bo_case *k) {
    size_t planes = (size_t)k->p[0] * (size_t)k->p[1], hw = (size_t)k->p[2], n = planes * hw;
    float *x = bo_uniform(c, n, 43), *r = bo_uniform(c, planes, 44);
    cm_buf *X = bo_in(c, x, 4 * n), *Y = bo_out(c, planes, 7.25f);
    cm_buf *DY = bo_in(c, r, 4 * planes), *DX = bo_out(c, n, 7.25f);
    BO_OK(c, backend_gap_forward(c->b, X, Y, (int)planes, (int)hw));
    BO_OK(c, backend_gap_backward(c->b, DY, DX, (int)planes, (int)hw));
    gap_model m = {planes, hw, bo_to_double(c, r, planes), bo_tmp(c, sizeof(double) * planes)};
    double *theta = bo_to_double(c, x, n), *g = bo_tmp(c, sizeof(double) * n);
    gap_loss(&m, theta);
    bo_check64(c, "gap forward vs float64", bo_download_f(c, Y, planes), m.y, planes, 1e-6, 1e-5);
    m.y = NULL;
    bo_central_diff(gap_loss, &m, theta, n, FD_H, g);
    bo_check64(c, "gap backward vs central differences", bo_download_f(c, DX, n), g, n, 1e-7, 1e-5);
}
