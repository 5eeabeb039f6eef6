/* backend.c: the wrappers that dispatch through the operation table. Backend selection by
 * name is in select.c, which alone knows both implementations. */
#include "backend.h"

#include <stdio.h>
#include <string.h>

#include "op_clock.h"
#include "timer.h"

/* `return call;`, timed under `label` when the backend keeps an op clock (bench --profile of the
 * host backend, whose operations are synchronous). */
#define TIMED(label, call)                                                                                             \
    do {                                                                                                               \
        if (!b->clock) return (call);                                                                                  \
        double t0_ = timer_now();                                                                                      \
        cm_status st_ = (call);                                                                                        \
        op_clock_add(b->clock, (label), timer_now() - t0_);                                                            \
        return st_;                                                                                                    \
    } while (0)

static const char *gemm_label(char *buf, size_t size, bool ta, bool tb, int m, int n, int k) {
    snprintf(buf, size, "GEMM %d x %d x %d %c%c", m, n, k, ta ? 'T' : 'N', tb ? 'T' : 'N');
    return buf;
}

void backend_destroy(cm_backend *b) {
    if (b) b->ops->destroy(b);
}

cm_status backend_alloc(cm_backend *b, size_t bytes, unsigned flags, const char *what, cm_buf **out) {
    return b->ops->alloc(b, bytes, flags, what, out);
}
cm_status backend_view(cm_backend *b, cm_buf *parent, size_t offset, size_t bytes, const char *what, cm_buf **out) {
    if (offset % b->align_bytes)
        return cm_fail(CM_ERR_USAGE, "view '%s': offset %zu is not a multiple of %zu bytes", what, offset,
                       b->align_bytes);
    return b->ops->view(b, parent, offset, bytes, what, out);
}
void backend_release(cm_backend *b, cm_buf *buf) {
    if (buf) b->ops->release(b, buf);
}
cm_status backend_upload(cm_backend *b, cm_buf *dst, size_t offset, const void *src, size_t bytes) {
    TIMED("upload", b->ops->upload(b, dst, offset, src, bytes));
}
cm_status backend_download(cm_backend *b, cm_buf *src, size_t offset, void *dst, size_t bytes) {
    TIMED("download", b->ops->download(b, src, offset, dst, bytes));
}
cm_status backend_fill(cm_backend *b, cm_buf *dst, float value, size_t count) {
    TIMED("fill", b->ops->fill(b, dst, value, count));
}
cm_status backend_finish(cm_backend *b) {
    return b->ops->finish(b);
}
cm_status backend_stage_rows(cm_backend *b, cm_buf *rows_u8, cm_buf *labels_u8, const uint8_t *src,
                             const uint8_t *labels, const int32_t *idx, int n, int dim) {
    TIMED("stage_rows", b->ops->stage_rows(b, rows_u8, labels_u8, src, labels, idx, n, dim));
}
cm_status backend_gather(cm_backend *b, cm_buf *src_u8, cm_buf *labels_u8, cm_buf *idx, size_t idx_off, int rows,
                         int dim, float scale, cm_buf *x, cm_buf *y) {
    TIMED("gather", b->ops->gather(b, src_u8, labels_u8, idx, idx_off, rows, dim, scale, x, y));
}
cm_status backend_gather_augment(cm_backend *b, cm_buf *src_u8, cm_buf *labels_u8, cm_buf *idx, size_t idx_off,
                                 int rows, int channels, int height, int width, float scale, const cm_augment *aug,
                                 uint64_t seed, uint64_t step, uint32_t row0, cm_buf *x, cm_buf *y) {
    if (channels < 1 || channels > CM_MAX_CHANNELS)
        return cm_fail(CM_ERR_USAGE, "gather_augment: %d channels (1 to %d)", channels, CM_MAX_CHANNELS);
    if (!(aug->crop >= 0.0f && aug->crop <= 64.0f) || aug->crop != (float)(int)aug->crop)
        return cm_fail(CM_ERR_USAGE, "gather_augment: crop %g is not a whole number of pixels in [0, 64]",
                       (double)aug->crop);
    TIMED("gather_augment", b->ops->gather_augment(b, src_u8, labels_u8, idx, idx_off, rows, channels, height, width,
                                                   scale, aug, seed, step, row0, x, y));
}
cm_status backend_gemm(cm_backend *b, bool trans_a, bool trans_b, int m, int n, int k, float alpha, cm_buf *a, int lda,
                       cm_buf *bm, int ldb, float beta, cm_buf *c, int ldc) {
    char label[64];
    TIMED(gemm_label(label, sizeof label, trans_a, trans_b, m, n, k),
          b->ops->gemm(b, trans_a, trans_b, m, n, k, alpha, a, lda, bm, ldb, beta, c, ldc));
}
cm_status backend_bias_act(cm_backend *b, cm_buf *y, cm_buf *bias, int rows, int cols, bool relu) {
    TIMED("bias_act", b->ops->bias_act(b, y, bias, rows, cols, relu));
}
cm_status backend_relu_backward(cm_backend *b, cm_buf *dy, cm_buf *y, size_t n, float scale) {
    TIMED("relu_backward", b->ops->relu_backward(b, dy, y, n, scale));
}
cm_status backend_dropout(cm_backend *b, cm_buf *y, size_t n, float p, uint64_t seed, uint32_t layer, uint64_t step,
                          size_t offset) {
    if (!(p >= 0.0f && p < 1.0f)) return cm_fail(CM_ERR_USAGE, "dropout probability %g: must be in [0, 1)", (double)p);
    if (offset + n > UINT32_MAX) return cm_fail(CM_ERR_USAGE, "dropout over %zu elements at %zu: too many", n, offset);
    TIMED("dropout", b->ops->dropout(b, y, n, p, seed, layer, step, offset));
}
cm_status backend_bias_grad(cm_backend *b, cm_buf *dy, cm_buf *relu_y, cm_buf *db, int rows, int cols) {
    TIMED(relu_y ? "bias_grad (ReLU mask fused)" : "bias_grad", b->ops->bias_grad(b, dy, relu_y, db, rows, cols));
}
cm_status backend_softmax_xent(cm_backend *b, cm_buf *logits, cm_buf *labels, cm_buf *dlogits, cm_buf *acc_loss,
                               cm_buf *acc_correct, int rows, int classes) {
    TIMED("softmax_xent", b->ops->softmax_xent(b, logits, labels, dlogits, acc_loss, acc_correct, rows, classes));
}
cm_status backend_argmax(cm_backend *b, cm_buf *logits, cm_buf *labels, cm_buf *pred, cm_buf *acc_correct, int rows,
                         int classes) {
    TIMED("argmax", b->ops->argmax(b, logits, labels, pred, acc_correct, rows, classes));
}
cm_status backend_opt_update(cm_backend *b, cm_buf *w, cm_buf *g, cm_buf *m, cm_buf *v, size_t n,
                             const cm_opt_step *s) {
    if (s->kind == CM_OPT_NESTEROV && !m) return cm_fail(CM_ERR_USAGE, "opt_update: Nesterov needs a momentum buffer");
    if ((s->kind == CM_OPT_ADAM || s->kind == CM_OPT_ADAMW) && (!m || !v))
        return cm_fail(CM_ERR_USAGE, "opt_update: Adam needs both moment buffers");
    TIMED("opt_update", b->ops->opt_update(b, w, g, m, v, n, s));
}
cm_status backend_max_norm(cm_backend *b, cm_buf *w, int rows, int cols, float c) {
    TIMED("max_norm", b->ops->max_norm(b, w, rows, cols, c));
}

cm_status backend_profile_reset(cm_backend *b) {
    if (!b->ops->profile_reset) return cm_fail(CM_ERR_USAGE, "backend '%s' cannot profile", b->kind);
    return b->ops->profile_reset(b);
}
cm_status backend_profile_read(cm_backend *b, cm_profile_entry *out, int max, int *n) {
    if (!b->ops->profile_read) return cm_fail(CM_ERR_USAGE, "backend '%s' cannot profile", b->kind);
    return b->ops->profile_read(b, out, max, n);
}

/* ---- layer operations: shared argument checks, then the table --------------------------- */
cm_status window_resolve(cm_window *w, const char *what) {
    if (w->batch < 1 || w->channels < 1 || w->height < 1 || w->width < 1 || w->kernel < 1 || w->stride < 1 ||
        w->pad < 0)
        return cm_fail(CM_ERR_USAGE, "%s: bad window (B %d, C %d, %dx%d, kernel %d, stride %d, padding %d)", what,
                       w->batch, w->channels, w->height, w->width, w->kernel, w->stride, w->pad);
    if (w->kernel > w->height + 2 * w->pad || w->kernel > w->width + 2 * w->pad)
        return cm_fail(CM_ERR_USAGE, "%s: kernel %d is larger than its %dx%d input (padding %d)", what, w->kernel,
                       w->height, w->width, w->pad);
    w->out_h = (w->height + 2 * w->pad - w->kernel) / w->stride + 1;
    w->out_w = (w->width + 2 * w->pad - w->kernel) / w->stride + 1;
    return CM_OK;
}

/* An operation a backend's table leaves NULL fails with a message rather than a crash. */
#define NEED(op)                                                                                                       \
    do {                                                                                                               \
        if (!b->ops->op) return cm_fail(CM_ERR_USAGE, "backend '%s' has no %s operation", b->kind, #op);               \
    } while (0)

/* A window whose out_h/out_w are not the ones window_resolve gives is a caller's bug: refuse it
 * here, once, rather than in each backend. */
static cm_status window_check(const cm_window *w, const char *op) {
    cm_window r = *w;
    CM_TRY(window_resolve(&r, op));
    if (r.out_h != w->out_h || r.out_w != w->out_w)
        return cm_fail(CM_ERR_USAGE, "%s: output %dx%d does not follow from the window (expected %dx%d)", op, w->out_h,
                       w->out_w, r.out_h, r.out_w);
    return CM_OK;
}

cm_status backend_relu(cm_backend *b, cm_buf *y, size_t n) {
    NEED(relu);
    TIMED("relu", b->ops->relu(b, y, n));
}
cm_status backend_im2col(cm_backend *b, cm_buf *x, cm_buf *col, const cm_window *w) {
    NEED(im2col);
    CM_TRY(window_check(w, "im2col"));
    TIMED("im2col", b->ops->im2col(b, x, col, w));
}
cm_status backend_col2im(cm_backend *b, cm_buf *col, cm_buf *dx, const cm_window *w) {
    NEED(col2im);
    CM_TRY(window_check(w, "col2im"));
    TIMED("col2im", b->ops->col2im(b, col, dx, w));
}
/* "conv_forward 24->32 3x3" in profiles: one line per convolution of a network. */
static const char *conv_label(char *buf, size_t size, const char *op, const cm_window *w, int oc) {
    snprintf(buf, size, "%s %d->%d %dx%d", op, w->channels, oc, w->kernel, w->kernel);
    return buf;
}
cm_status backend_conv_forward(cm_backend *b, cm_buf *x, cm_buf *wt, cm_buf *bias, cm_buf *y, int out_channels,
                               const cm_window *w, bool relu) {
    NEED(conv_forward);
    CM_TRY(window_check(w, "conv_forward"));
    if (out_channels < 1) return cm_fail(CM_ERR_USAGE, "conv_forward: %d output channels", out_channels);
    char label[64];
    TIMED(conv_label(label, sizeof label, "conv_forward", w, out_channels),
          b->ops->conv_forward(b, x, wt, bias, y, out_channels, w, relu));
}
cm_status backend_conv_backward(cm_backend *b, cm_buf *dy, cm_buf *x, cm_buf *wt, cm_buf *dwt, cm_buf *dx,
                                int out_channels, const cm_window *w) {
    NEED(conv_backward);
    CM_TRY(window_check(w, "conv_backward"));
    if (out_channels < 1) return cm_fail(CM_ERR_USAGE, "conv_backward: %d output channels", out_channels);
    char label[64];
    TIMED(conv_label(label, sizeof label, "conv_backward", w, out_channels),
          b->ops->conv_backward(b, dy, x, wt, dwt, dx, out_channels, w));
}
cm_status backend_cnhw_to_nchw(cm_backend *b, cm_buf *src, cm_buf *bias, cm_buf *y, int batch, int channels, int hw,
                               bool relu) {
    NEED(cnhw_to_nchw);
    TIMED("cnhw_to_nchw", b->ops->cnhw_to_nchw(b, src, bias, y, batch, channels, hw, relu));
}
cm_status backend_nchw_to_cnhw(cm_backend *b, cm_buf *src, cm_buf *dst, int batch, int channels, int hw) {
    NEED(nchw_to_cnhw);
    TIMED("nchw_to_cnhw", b->ops->nchw_to_cnhw(b, src, dst, batch, channels, hw));
}
cm_status backend_channel_sum(cm_backend *b, cm_buf *x, cm_buf *out, int batch, int channels, int hw) {
    NEED(channel_sum);
    TIMED("channel_sum", b->ops->channel_sum(b, x, out, batch, channels, hw));
}
cm_status backend_maxpool_forward(cm_backend *b, cm_buf *x, cm_buf *y, cm_buf *arg, const cm_window *w) {
    NEED(maxpool_forward);
    CM_TRY(window_check(w, "maxpool_forward"));
    if (w->pad != 0) return cm_fail(CM_ERR_USAGE, "maxpool: padding %d is not supported", w->pad);
    TIMED("maxpool_forward", b->ops->maxpool_forward(b, x, y, arg, w));
}
cm_status backend_maxpool_backward(cm_backend *b, cm_buf *dy, cm_buf *arg, cm_buf *dx, const cm_window *w) {
    NEED(maxpool_backward);
    CM_TRY(window_check(w, "maxpool_backward"));
    if (w->pad != 0) return cm_fail(CM_ERR_USAGE, "maxpool: padding %d is not supported", w->pad);
    TIMED("maxpool_backward", b->ops->maxpool_backward(b, dy, arg, dx, w));
}
cm_status backend_bn_forward(cm_backend *b, cm_buf *x, cm_buf *y, cm_buf *gamma, cm_buf *beta, cm_buf *running_mean,
                             cm_buf *running_var, cm_buf *save_mean, cm_buf *save_invstd, const cm_bn_shape *s,
                             bool training) {
    NEED(bn_forward);
    TIMED("bn_forward",
          b->ops->bn_forward(b, x, y, gamma, beta, running_mean, running_var, save_mean, save_invstd, s, training));
}
cm_status backend_bn_backward(cm_backend *b, cm_buf *dy, cm_buf *x, cm_buf *gamma, cm_buf *save_mean,
                              cm_buf *save_invstd, cm_buf *dx, cm_buf *dgamma, cm_buf *dbeta, const cm_bn_shape *s) {
    NEED(bn_backward);
    TIMED("bn_backward", b->ops->bn_backward(b, dy, x, gamma, save_mean, save_invstd, dx, dgamma, dbeta, s));
}
cm_status backend_gap_forward(cm_backend *b, cm_buf *x, cm_buf *y, int planes, int hw) {
    NEED(gap_forward);
    if (planes < 1 || hw < 1) return cm_fail(CM_ERR_USAGE, "gap_forward: bad shape (%d planes of %d)", planes, hw);
    TIMED("gap_forward", b->ops->gap_forward(b, x, y, planes, hw));
}
cm_status backend_gap_backward(cm_backend *b, cm_buf *dy, cm_buf *dx, int planes, int hw) {
    NEED(gap_backward);
    if (planes < 1 || hw < 1) return cm_fail(CM_ERR_USAGE, "gap_backward: bad shape (%d planes of %d)", planes, hw);
    TIMED("gap_backward", b->ops->gap_backward(b, dy, dx, planes, hw));
}
cm_status backend_channel_affine(cm_backend *b, cm_buf *x, int batch, int channels, int hw, const float *mul,
                                 const float *add) {
    NEED(channel_affine);
    if (batch < 1 || channels < 1 || channels > CM_MAX_CHANNELS || hw < 1)
        return cm_fail(CM_ERR_USAGE, "channel_affine: bad shape (B %d, C %d (1 to %d), HW %d)", batch, channels,
                       CM_MAX_CHANNELS, hw);
    TIMED("channel_affine", b->ops->channel_affine(b, x, batch, channels, hw, mul, add));
}
