/* backend.c: the wrappers that dispatch through the operation table. Backend selection by
 * name is in select.c, which alone knows both implementations. */
#include "clmnist/backend.h"

#include <string.h>

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
    return b->ops->upload(b, dst, offset, src, bytes);
}
cm_status backend_download(cm_backend *b, cm_buf *src, size_t offset, void *dst, size_t bytes) {
    return b->ops->download(b, src, offset, dst, bytes);
}
cm_status backend_fill(cm_backend *b, cm_buf *dst, float value, size_t count) {
    return b->ops->fill(b, dst, value, count);
}
cm_status backend_finish(cm_backend *b) {
    return b->ops->finish(b);
}
cm_status backend_stage_rows(cm_backend *b, cm_buf *rows_u8, cm_buf *labels_u8, const uint8_t *src,
                             const uint8_t *labels, const int32_t *idx, int n, int dim) {
    return b->ops->stage_rows(b, rows_u8, labels_u8, src, labels, idx, n, dim);
}
cm_status backend_gather(cm_backend *b, cm_buf *src_u8, cm_buf *labels_u8, cm_buf *idx, size_t idx_off, int rows,
                         int dim, float scale, cm_buf *x, cm_buf *y) {
    return b->ops->gather(b, src_u8, labels_u8, idx, idx_off, rows, dim, scale, x, y);
}
cm_status backend_gather_augment(cm_backend *b, cm_buf *src_u8, cm_buf *labels_u8, cm_buf *idx, size_t idx_off,
                                 int rows, int height, int width, float scale, const cm_augment *aug, uint64_t seed,
                                 uint64_t step, cm_buf *x, cm_buf *y) {
    return b->ops->gather_augment(b, src_u8, labels_u8, idx, idx_off, rows, height, width, scale, aug, seed, step, x,
                                  y);
}
cm_status backend_gemm(cm_backend *b, bool trans_a, bool trans_b, int m, int n, int k, float alpha, cm_buf *a, int lda,
                       cm_buf *bm, int ldb, float beta, cm_buf *c, int ldc) {
    return b->ops->gemm(b, trans_a, trans_b, m, n, k, alpha, a, lda, bm, ldb, beta, c, ldc);
}
cm_status backend_bias_act(cm_backend *b, cm_buf *y, cm_buf *bias, int rows, int cols, bool relu) {
    return b->ops->bias_act(b, y, bias, rows, cols, relu);
}
cm_status backend_relu_backward(cm_backend *b, cm_buf *dy, cm_buf *y, size_t n, float scale) {
    return b->ops->relu_backward(b, dy, y, n, scale);
}
cm_status backend_dropout(cm_backend *b, cm_buf *y, size_t n, float p, uint64_t seed, uint32_t layer, uint64_t step) {
    if (!(p >= 0.0f && p < 1.0f)) return cm_fail(CM_ERR_USAGE, "dropout probability %g: must be in [0, 1)", (double)p);
    return b->ops->dropout(b, y, n, p, seed, layer, step);
}
cm_status backend_bias_grad(cm_backend *b, cm_buf *dy, cm_buf *db, int rows, int cols) {
    return b->ops->bias_grad(b, dy, db, rows, cols);
}
cm_status backend_softmax_xent(cm_backend *b, cm_buf *logits, cm_buf *labels, cm_buf *dlogits, cm_buf *acc_loss,
                               cm_buf *acc_correct, int rows, int classes) {
    return b->ops->softmax_xent(b, logits, labels, dlogits, acc_loss, acc_correct, rows, classes);
}
cm_status backend_argmax(cm_backend *b, cm_buf *logits, cm_buf *labels, cm_buf *pred, cm_buf *acc_correct, int rows,
                         int classes) {
    return b->ops->argmax(b, logits, labels, pred, acc_correct, rows, classes);
}
cm_status backend_opt_update(cm_backend *b, cm_buf *w, cm_buf *g, cm_buf *m, cm_buf *v, size_t n,
                             const cm_opt_step *s) {
    if (s->kind == CM_OPT_NESTEROV && !m) return cm_fail(CM_ERR_USAGE, "opt_update: Nesterov needs a momentum buffer");
    if ((s->kind == CM_OPT_ADAM || s->kind == CM_OPT_ADAMW) && (!m || !v))
        return cm_fail(CM_ERR_USAGE, "opt_update: Adam needs both moment buffers");
    return b->ops->opt_update(b, w, g, m, v, n, s);
}
cm_status backend_max_norm(cm_backend *b, cm_buf *w, int rows, int cols, float c) {
    return b->ops->max_norm(b, w, rows, cols, c);
}

cm_status backend_profile_reset(cm_backend *b) {
    if (!b->ops->profile_reset) return cm_fail(CM_ERR_USAGE, "backend '%s' cannot profile", b->kind);
    return b->ops->profile_reset(b);
}
cm_status backend_profile_read(cm_backend *b, cm_profile_entry *out, int max, int *n) {
    if (!b->ops->profile_read) return cm_fail(CM_ERR_USAGE, "backend '%s' cannot profile", b->kind);
    return b->ops->profile_read(b, out, max, n);
}
