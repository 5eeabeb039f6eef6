/* cases_conv.c: run functions of the Conv2d operations (conv_forward, conv_backward), whose host
 * version works image by image and whose device version composes im2col, GEMM and reorders.
 * p = {B, C, H, W, K, S, P, OC}; conv_forward: f[0] = 1 fuses the ReLU, f[1] = 1 drops the bias;
 * conv_backward: f[0] = 1 wants no dx (a first layer), f[1] = 1 no dweight (a frozen layer).
 * Outputs the contract says are overwritten start as 7.25. Their gradients against float64
 * central differences: bo_grad_conv_op (gradcheck_layer.c). */
#include "bops.h"

static cm_window conv_win(bo_ctx *c, const bo_case *k) {
    cm_window w = bo_window(c, k->p[0], k->p[1], k->p[2], k->p[3], k->p[4], k->p[5], k->p[6]);
    bo_shape(c, "B%d C%d %dx%d k%d s%d p%d OC%d", w.batch, w.channels, w.height, w.width, w.kernel, w.stride, w.pad,
             k->p[7]);
    return w;
}

static double conv_flops(const cm_window *w, int oc) {
    return 2.0 * w->batch * oc * w->out_h * w->out_w * w->channels * w->kernel * w->kernel;
}

void bo_run_conv_forward(bo_ctx *c, const bo_case *k) {
    cm_window w = conv_win(c, k);
    const int oc = k->p[7];
    const size_t nx = (size_t)w.batch * w.channels * w.height * w.width;
    const size_t nw = (size_t)oc * w.channels * w.kernel * w.kernel, ny = (size_t)w.batch * oc * w.out_h * w.out_w;
    cm_buf *X = bo_in(c, bo_uniform(c, nx, 41), 4 * nx), *WT = bo_in(c, bo_uniform(c, nw, 42), 4 * nw);
    cm_buf *BI = k->f[1] != 0.0f ? NULL : bo_in(c, bo_uniform(c, (size_t)oc, 43), 4 * (size_t)oc);
    cm_buf *Y = bo_out(c, ny, 7.25f);
    BO_TIMED(c) BO_OK(c, backend_conv_forward(c->b, X, WT, BI, Y, oc, &w, k->f[0] != 0.0f));
    c->flops = conv_flops(&w, oc);
    bo_keep(c, "y", Y, BO_F32, ny, k->atol, k->rtol);
}

void bo_run_conv_backward(bo_ctx *c, const bo_case *k) {
    cm_window w = conv_win(c, k);
    const int oc = k->p[7];
    const size_t nx = (size_t)w.batch * w.channels * w.height * w.width;
    const size_t nw = (size_t)oc * w.channels * w.kernel * w.kernel, ny = (size_t)w.batch * oc * w.out_h * w.out_w;
    cm_buf *X = bo_in(c, bo_uniform(c, nx, 44), 4 * nx), *WT = bo_in(c, bo_uniform(c, nw, 45), 4 * nw);
    cm_buf *DY = bo_in(c, bo_uniform(c, ny, 46), 4 * ny);
    cm_buf *DX = k->f[0] != 0.0f ? NULL : bo_out(c, nx, 7.25f), *DW = k->f[1] != 0.0f ? NULL : bo_out(c, nw, 7.25f);
    BO_TIMED(c) BO_OK(c, backend_conv_backward(c->b, DY, X, WT, DW, DX, oc, &w));
    c->flops = conv_flops(&w, oc) * ((DX != NULL) + (DW != NULL));
    if (DW) bo_keep(c, "dweight", DW, BO_F32, nw, k->atol, k->rtol);
    if (DX) bo_keep(c, "dx", DX, BO_F32, nx, k->atol, k->rtol);
}
