/* nn_ops.h: the host backend's layer operations (nn_ops.c), for backend_host.c's table.
 * Semantics: the comments on cm_backend_ops in host/backend/backend.h. */
#ifndef CLMNIST_NN_OPS_H
#define CLMNIST_NN_OPS_H
#include <stdbool.h>
#include <stddef.h>

#include "backend.h"

cm_status host_relu(cm_backend *b, cm_buf *y, size_t n);
cm_status host_im2col(cm_backend *b, cm_buf *x, cm_buf *col, const cm_window *w);
/* Row r of im2col for `images` consecutive images of x, image n's entries at dst + n*OH*OW. */
void host_im2col_row(const float *x, float *dst, const cm_window *w, int r, int images);
/* Plane (n, c) of col2im from col (C*K*K, ncol), summed in double in acc (H*W). */
void host_col2im_plane(const float *cf, const cm_window *w, size_t ncol, int n, int c, double *acc, float *plane);
/* conv_host.c: Conv2d by image (im2col and one GEMM per image, in cache). */
cm_status host_conv_forward(cm_backend *b, cm_buf *x, cm_buf *wt, cm_buf *bias, cm_buf *y, int oc, const cm_window *w,
                            bool relu);
cm_status host_conv_backward(cm_backend *b, cm_buf *dy, cm_buf *x, cm_buf *wt, cm_buf *dwt, cm_buf *dx, int oc,
                             const cm_window *w);
/* backend_host.c: a scratch of at least `bytes`, 64-byte aligned, owned by the backend, counted in
 * its memory and valid until the next call (NULL: out of memory). */
void *host_scratch(cm_backend *b, size_t bytes);
cm_status host_col2im(cm_backend *b, cm_buf *col, cm_buf *dx, const cm_window *w);
cm_status host_cnhw_to_nchw(cm_backend *b, cm_buf *src, cm_buf *bias, cm_buf *y, int batch, int channels, int hw,
                            bool relu);
cm_status host_nchw_to_cnhw(cm_backend *b, cm_buf *src, cm_buf *dst, int batch, int channels, int hw);
cm_status host_channel_sum(cm_backend *b, cm_buf *x, cm_buf *out, int batch, int channels, int hw);
cm_status host_maxpool_forward(cm_backend *b, cm_buf *x, cm_buf *y, cm_buf *arg, const cm_window *w);
cm_status host_maxpool_backward(cm_backend *b, cm_buf *dy, cm_buf *arg, cm_buf *dx, const cm_window *w);
cm_status host_bn_forward(cm_backend *b, cm_buf *x, cm_buf *y, cm_buf *gamma, cm_buf *beta, cm_buf *running_mean,
                          cm_buf *running_var, cm_buf *save_mean, cm_buf *save_invstd, const cm_bn_shape *s,
                          bool training);
cm_status host_bn_backward(cm_backend *b, cm_buf *dy, cm_buf *x, cm_buf *gamma, cm_buf *save_mean, cm_buf *save_invstd,
                           cm_buf *dx, cm_buf *dgamma, cm_buf *dbeta, const cm_bn_shape *s);
cm_status host_gap_forward(cm_backend *b, cm_buf *x, cm_buf *y, int planes, int hw);
cm_status host_gap_backward(cm_backend *b, cm_buf *dy, cm_buf *dx, int planes, int hw);
cm_status host_channel_affine(cm_backend *b, cm_buf *x, int batch, int channels, int hw, const float *mul,
                              const float *add);

#endif
