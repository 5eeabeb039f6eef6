/* cases_conv.c: run functions of the Conv2d operations (conv_forward, conv_backward), whose host
 * version works image by image and whose device version composes im2col, GEMM and reorders.
 * p = {B, C, H, W, K, S, P, OC}; conv_forward: f[0] = 1 fuses the ReLU, f[1] = 1 drops the bias;
 * conv_backward: f[0] = 1 wants no dx (a first layer), f[1] = 1 no dweight (a frozen layer).
 * Outputs the contract says are overwritten start as 7.25. Their gradients against float64
 * central differences: bo_grad_conv_op (gradcheck_layer.c). */
#include "bops.h"

/* A case's window (p = {B, C, H, W, K, S, P, OC}), its sizes, and its x and weight as seeded inputs. */
typedef struct {
    cm_window w;
    int oc;
    size_t nx, nw, ny; /* x (B, C, H, W), weight (OC, C k k), y (B, OC, OH, OW) */
    cm_buf *x, *wt;
} conv_case;

static conv_case conv_setup(bo_ctx *c, const bo_case *k, uint64_t seed) {
    conv_case t = {.w = bo_window(c, k->p[0], k->p[1], k->p[2], k->p[3], k->p[4], k->p[5], k->p[6]), .oc = k->p[7]};
    const cm_window *w = &t.w;
    bo_shape(c, "B%d C%d %dx%d k%d s%d p%d OC%d", w->batch, w->channels, w->height, w->width, w->kernel, w->stride,
             w->pad, t.oc);
    t.nx = (size_t)w->batch * w->channels * w->height * w->width;
    t.nw = (size_t)t.oc * w->channels * w->kernel * w->kernel;
    t.ny = (size_t)w->batch * t.oc * w->out_h * w->out_w;
    t.x = bo_in(c, bo_uniform(c, t.nx, seed), 4 * t.nx), t.wt = bo_in(c, bo_uniform(c, t.nw, seed + 1), 4 * t.nw);
    return t;
}

static double conv_flops(const conv_case *t) {
    return 2.0 * (double)t->ny * t->w.channels * t->w.kernel * t->w.kernel;
}

void bo_run_conv_forward(bo_ctx *c, const bo_case *k) {
    conv_case t = conv_setup(c, k, 41);
    cm_buf *BI = k->f[1] != 0.0f ? NULL : bo_in(c, bo_uniform(c, (size_t)t.oc, 43), 4 * (size_t)t.oc);
    cm_buf *Y = bo_out(c, t.ny, 7.25f);
    BO_TIMED(c) BO_OK(c, backend_conv_forward(c->b, t.x, t.wt, BI, Y, t.oc, &t.w, k->f[0] != 0.0f));
    c->flops = conv_flops(&t);
    bo_keep(c, "y", Y, BO_F32, t.ny, k->atol, k->rtol);
}

void bo_run_conv_backward(bo_ctx *c, const bo_case *k) {
    conv_case t = conv_setup(c, k, 44);
    cm_buf *DY = bo_in(c, bo_uniform(c, t.ny, 46), 4 * t.ny);
    cm_buf *DX = k->f[0] != 0.0f ? NULL : bo_out(c, t.nx, 7.25f), *DW = k->f[1] != 0.0f ? NULL : bo_out(c, t.nw, 7.25f);
    BO_TIMED(c) BO_OK(c, backend_conv_backward(c->b, DY, t.x, t.wt, DW, DX, t.oc, &t.w));
    c->flops = conv_flops(&t) * ((DX != NULL) + (DW != NULL));
    if (DW) bo_keep(c, "dweight", DW, BO_F32, t.nw, k->atol, k->rtol);
    if (DX) bo_keep(c, "dx", DX, BO_F32, t.nx, k->atol, k->rtol);
}
