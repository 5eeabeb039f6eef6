/* conv_host.c: the host backend's Conv2d, image by image. Each image's im2col (C k k, OH OW) is
 * made in a per-thread scratch that stays in cache, multiplied at once by one single-threaded
 * GEMM, and the result lands in NCHW directly, where the bias and ReLU are added while it is hot:
 * no batch-sized im2col, no reorder between layouts. OpenMP spreads the images over the threads.
 *
 * Every value comes from the same calls whatever the thread count: the forward and the input
 * gradient are one GEMM per image; the weight gradient is summed over fixed groups of images
 * (set by the batch alone), each group's images in order, then the groups in order. */
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "host_buf.h"
#include "host_gemm.h"
#include "nn_ops.h"

enum { WEIGHT_GROUPS = 16 }; /* the most partial weight gradients of a batch */

static int threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}
static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static size_t round16(size_t n) { /* whole 64-byte lines of floats */
    return (n + 15) / 16 * 16;
}

/* A 1x1 window with stride 1 and no padding: an image's planes are its im2col already. */
static int identity(const cm_window *w) {
    return w->kernel == 1 && w->stride == 1 && w->pad == 0;
}

/* The im2col (C k k, OH OW) of image n of x: its own planes (identity), else made in buf. */
static const float *image_cols(const float *x, const cm_window *w, int n, float *buf) {
    const float *xn = x + (size_t)n * w->channels * w->height * w->width;
    if (identity(w)) return xn;
    const int ckk = w->channels * w->kernel * w->kernel;
    const size_t ohw = (size_t)w->out_h * w->out_w;
    for (int r = 0; r < ckk; r++)
        host_im2col_row(xn, buf + (size_t)r * ohw, w, r, 1);
    return buf;
}

/* x (B, C, H, W), the weight (OC, C k k) and y (B, OC, OH, OW), named yname in errors. */
static cm_status check_conv(cm_buf *x, cm_buf *wt, cm_buf *y, const char *yname, int oc, const cm_window *w,
                            const char *op) {
    const size_t ckk = (size_t)w->channels * w->kernel * w->kernel, ohw = (size_t)w->out_h * w->out_w;
    CM_TRY(check_floats(x, (size_t)w->batch * w->channels * w->height * w->width, op, "x"));
    CM_TRY(check_floats(wt, (size_t)oc * ckk, op, "weight"));
    return check_floats(y, (size_t)w->batch * oc * ohw, op, yname);
}

cm_status host_conv_forward(cm_backend *b, cm_buf *x, cm_buf *wt, cm_buf *bias, cm_buf *y, int oc, const cm_window *w,
                            bool relu) {
    CM_TRY(check_conv(x, wt, y, "y", oc, w, "conv_forward"));
    if (bias) CM_TRY(check_floats(bias, (size_t)oc, "conv_forward", "bias"));
    const int ckk = w->channels * w->kernel * w->kernel, ohw = w->out_h * w->out_w;
    const size_t per_thread = identity(w) ? 0 : round16((size_t)ckk * ohw);
    float *scratch = host_scratch(b, sizeof(float) * (per_thread * threads() + 16));
    if (!scratch) return cm_fail(CM_ERR_MEMORY, "conv_forward: out of host memory for the im2col scratch");
    const float *bf = bias ? F(bias) : NULL;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < w->batch; n++) {
        const float *col = image_cols(F(x), w, n, scratch + (size_t)thread_id() * per_thread); /* (C k k, OH OW) */
        float *yn = F(y) + (size_t)n * oc * ohw;                                               /* (OC, OH OW) */
        host_gemm_serial(false, false, oc, ohw, ckk, 1.0f, F(wt), ckk, col, ohw, 0.0f, yn, ohw);
        for (int o = 0; o < oc; o++) {
            float *row = yn + (size_t)o * ohw;
            const float add = bf ? bf[o] : 0.0f;
            for (int s = 0; s < ohw; s++) {
                const float v = row[s] + add;
                row[s] = relu && v < 0.0f ? 0.0f : v; /* as bias_act: a NaN passes through */
            }
        }
    }
    return CM_OK;
}

/* dx of image n from dy: dcol (C k k, OH OW) = W^T dy_n, then col2im (a 1x1 identity window:
 * dcol is dx_n itself). work: the thread's dcol, then an (H, W) double accumulator. */
static void image_dx(const float *wt, const float *dyn, float *dxn, int oc, const cm_window *w, float *work) {
    const int ckk = w->channels * w->kernel * w->kernel, ohw = w->out_h * w->out_w, hw = w->height * w->width;
    float *dcol = identity(w) ? dxn : work;
    host_gemm_serial(true, false, ckk, ohw, oc, 1.0f, wt, ckk, dyn, ohw, 0.0f, dcol, ohw);
    if (identity(w)) return;
    double *acc = (double *)(void *)(work + round16((size_t)ckk * ohw));
    for (int c = 0; c < w->channels; c++)
        host_col2im_plane(dcol, w, (size_t)ohw, 0, c, acc, dxn + (size_t)c * hw);
}

cm_status host_conv_backward(cm_backend *b, cm_buf *dy, cm_buf *x, cm_buf *wt, cm_buf *dwt, cm_buf *dx, int oc,
                             const cm_window *w) {
    if (!dwt && !dx) return CM_OK;
    CM_TRY(check_conv(x, wt, dy, "dy", oc, w, "conv_backward"));
    const int ckk = w->channels * w->kernel * w->kernel, ohw = w->out_h * w->out_w, B = w->batch;
    const size_t chw = (size_t)w->channels * w->height * w->width, nw = (size_t)oc * ckk;
    if (dwt) CM_TRY(check_floats(dwt, nw, "conv_backward", "dweight"));
    if (dx) CM_TRY(check_floats(dx, (size_t)B * chw, "conv_backward", "dx"));
    const int groups = B < WEIGHT_GROUPS ? B : WEIGHT_GROUPS;
    const size_t cols = identity(w) ? 0 : round16((size_t)ckk * ohw);
    const size_t per_thread = (dwt ? cols : 0) + (dx ? cols + round16(2 * (size_t)w->height * w->width) : 0);
    const size_t parts = dwt ? round16((size_t)groups * nw) : 0;
    float *scratch = host_scratch(b, sizeof(float) * (parts + per_thread * threads() + 16));
    if (!scratch) return cm_fail(CM_ERR_MEMORY, "conv_backward: out of host memory for its scratch");
#pragma omp parallel for schedule(dynamic, 1)
    for (int g = 0; g < groups; g++) {
        float *mine = scratch + parts + (size_t)thread_id() * per_thread;
        for (int n = g * B / groups; n < (g + 1) * B / groups; n++) {
            const float *dyn = F(dy) + (size_t)n * oc * ohw; /* (OC, OH OW) */
            if (dwt) {                                       /* group g's dW (OC, C k k) += dy_n . col_n^T */
                const float *col = image_cols(F(x), w, n, mine);
                host_gemm_serial(false, true, oc, ckk, ohw, 1.0f, dyn, ohw, col, ohw, n == g * B / groups ? 0.0f : 1.0f,
                                 scratch + (size_t)g * nw, ckk);
            }
            if (dx) image_dx(F(wt), dyn, F(dx) + (size_t)n * chw, oc, w, mine + (dwt ? cols : 0));
        }
    }
    if (!dwt) return CM_OK;
    float *dwf = F(dwt);
#pragma omp parallel for schedule(static) if (nw > 4096)
    for (size_t e = 0; e < nw; e++) {
        float sum = scratch[e];
        for (int g = 1; g < groups; g++)
            sum += scratch[(size_t)g * nw + e];
        dwf[e] = sum;
    }
    return CM_OK;
}
