/* conv_device.c: the device backend's Conv2d, composed from its own operations: im2col of the
 * whole batch, one CLBlast GEMM, and the reorders between NCHW and the GEMM's (OC, B OH OW)
 * layout. The two scratch buffers (the im2col and the GEMM's output) belong to the backend and
 * grow to the largest convolution it has run; they are reused by every layer, so a backward
 * computes its layer's im2col again. */
#include "device_internal.h"

/* *buf holds at least `bytes`, grown (released and made again) when it does not. A release
 * while kernels still read the old buffer is safe: OpenCL frees it once they are done. */
static cm_status scratch(cm_backend *b, cm_buf **buf, size_t bytes, const char *what) {
    if (*buf && (*buf)->bytes >= bytes) return CM_OK;
    if (*buf) b->ops->release(b, *buf);
    *buf = NULL;
    return b->ops->alloc(b, bytes, 0, what, buf);
}

void device_conv_release(cm_backend *b) {
    device_backend *db = DB(b);
    if (db->conv_col) b->ops->release(b, db->conv_col);
    if (db->conv_cnhw) b->ops->release(b, db->conv_cnhw);
    db->conv_col = db->conv_cnhw = NULL;
}

/* Both scratch buffers for a convolution of window w with oc outputs. */
static cm_status conv_scratch(cm_backend *b, const cm_window *w, int oc) {
    device_backend *db = DB(b);
    const size_t cols = (size_t)w->batch * w->out_h * w->out_w, ckk = (size_t)w->channels * w->kernel * w->kernel;
    CM_TRY(scratch(b, &db->conv_col, sizeof(float) * ckk * cols, "im2col scratch"));
    return scratch(b, &db->conv_cnhw, sizeof(float) * (size_t)oc * cols, "convolution output scratch");
}

cm_status device_conv_forward(cm_backend *b, cm_buf *x, cm_buf *wt, cm_buf *bias, cm_buf *y, int oc, const cm_window *w,
                              bool relu) {
    device_backend *db = DB(b);
    const int ckk = w->channels * w->kernel * w->kernel, cols = w->batch * w->out_h * w->out_w;
    CM_TRY(conv_scratch(b, w, oc));
    CM_TRY(backend_im2col(b, x, db->conv_col, w)); /* col (C k k, B OH OW) */
    /* cnhw (OC, B OH OW) = W (OC, C k k) . col */
    CM_TRY(backend_gemm(b, false, false, oc, cols, ckk, 1.0f, wt, ckk, db->conv_col, cols, 0.0f, db->conv_cnhw, cols));
    return backend_cnhw_to_nchw(b, db->conv_cnhw, bias, y, w->batch, oc, w->out_h * w->out_w, relu);
}

cm_status device_conv_backward(cm_backend *b, cm_buf *dy, cm_buf *x, cm_buf *wt, cm_buf *dwt, cm_buf *dx, int oc,
                               const cm_window *w) {
    device_backend *db = DB(b);
    const int ckk = w->channels * w->kernel * w->kernel, ohw = w->out_h * w->out_w, cols = w->batch * ohw;
    if (!dwt && !dx) return CM_OK;
    CM_TRY(conv_scratch(b, w, oc));
    CM_TRY(backend_nchw_to_cnhw(b, dy, db->conv_cnhw, w->batch, oc, ohw)); /* cnhw (OC, B OH OW) */
    if (dwt) {                                                             /* dW (OC, C k k) = cnhw . col^T */
        CM_TRY(backend_im2col(b, x, db->conv_col, w));                     /* col (C k k, B OH OW) */
        CM_TRY(
            backend_gemm(b, false, true, oc, ckk, cols, 1.0f, db->conv_cnhw, cols, db->conv_col, cols, 0.0f, dwt, ckk));
    }
    if (!dx) return CM_OK;
    /* dcol (C k k, B OH OW) = W^T . cnhw, then back onto the image */
    CM_TRY(backend_gemm(b, true, false, ckk, cols, oc, 1.0f, wt, ckk, db->conv_cnhw, cols, 0.0f, db->conv_col, cols));
    return backend_col2im(b, db->conv_col, dx, w);
}
