/* net.h: a layer sequence bound to a backend: views of every tensor in the flat parameter (and
 * gradient) buffers, one activation buffer per layer for a batch of up to `batch` examples, and
 * the forward and backward passes, written once against the backend interface.
 *
 * In-place layers (ReLU, Dropout, Flatten) share their input's buffer, and a ReLU after a Linear,
 * Conv2d or BatchNorm runs inside that layer's output step (model_layout sets fused_relu). */
#ifndef CLMNIST_NET_H
#define CLMNIST_NET_H
#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "model.h"

typedef struct cm_net cm_net;

/* What a forward pass does beyond inference: batch statistics and running averages in
 * BatchNorm, dropout masks keyed by (seed, layer index, step) and the example's place in the
 * global batch: row 0 of this pass is row `row0` of it (a rank's share of a batch split over
 * several processes starts there; 0 alone). */
typedef struct {
    bool training;
    uint64_t seed;
    uint64_t step;
    uint32_t row0;
} cm_net_mode;

/* params: (L->total) floats; grads: (L->trainable) floats, or NULL for inference only. Both must
 * outlive the net. */
cm_status net_create(cm_backend *b, const cm_layout *L, cm_buf *params, cm_buf *grads, int batch, cm_net **out);
void net_destroy(cm_net *n);
/* The backend bytes net_create allocates for L at `batch` (views into params and grads not
 * counted); *largest (if not NULL) gets the largest single buffer. */
size_t net_memory_bytes(const cm_layout *L, int batch, size_t *largest);
/* The most a backend's Conv2d work space takes for L at batch (the device's: the largest im2col
 * and the largest GEMM output, host/backend/device/conv_device.c); *largest: the larger of the two. */
size_t net_scratch_bytes(const cm_layout *L, int batch, size_t *largest);

cm_buf *net_input(cm_net *n);   /* (batch, C, H, W) float: the caller fills it */
cm_buf *net_logits(cm_net *n);  /* (batch, classes) */
cm_buf *net_dlogits(cm_net *n); /* (batch, classes): the caller sets d loss / d logits before backward */

/* logits (rows, classes) from input (rows, C, H, W). */
cm_status net_forward(cm_net *n, int rows, const cm_net_mode *mode);
/* Every gradient of the loss into grads (overwritten) from dlogits, after a training forward
 * of the same rows and mode. */
cm_status net_backward(cm_net *n, int rows, const cm_net_mode *mode);
/* The max-norm constraint on every Linear weight: rows of norm above c scaled to c. */
cm_status net_max_norm(cm_net *n, float c);

/* Normalises the input batch in place per channel as the layout says (nothing when it does
 * not): after the batch builder fills net_input, before net_forward. */
cm_status net_normalize_input(cm_net *n, int rows);

#endif
