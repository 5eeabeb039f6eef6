/* net.c: forward and backward through a layer sequence, against the backend interface.
 *
 * Buffers, for a batch of B examples:
 *   x          (B, C, H, W)  the input; layer i reads in(i) = i ? out[i-1] : x
 *   out[i]     (B, out_shape of layer i); ReLU, Dropout and Flatten alias their input
 *   dout[i]    same shape: d loss / d out[i]; aliased like out[i]
 * Conv2d is one backend operation each way (conv_forward, conv_backward): its scratch, if any,
 * is the backend's.
 * Every gradient op overwrites its destination, so grads need no clearing between steps. */
#include "net.h"

#include <stdlib.h>

typedef struct {
    cm_buf *w, *bias, *rmean, *rvar; /* views into params */
    cm_buf *dw, *dbias;              /* views into grads */
    cm_buf *out, *dout;              /* owned unless the layer works in place */
    int owns_out;
    cm_buf *arg;                     /* MaxPool2d: (B, C, OH, OW) int32 */
    cm_buf *save_mean, *save_invstd; /* BatchNorm: (C) batch statistics of the last training forward */
    int need_dx;                     /* some layer before this one has trainable parameters */
} layer_rt;

struct cm_net {
    cm_backend *b;
    cm_layout L;
    int batch;
    cm_buf *params, *grads;
    cm_buf *x, *dx; /* (B, C, H, W) input and its gradient (the latter only as a sink) */
    layer_rt rt[CM_MAX_LAYERS];
};

static size_t fbytes(size_t n) {
    return n * sizeof(float);
}

static int in_place(cm_layer_type t) {
    return t == CM_LAYER_RELU || t == CM_LAYER_DROPOUT || t == CM_LAYER_FLATTEN;
}

cm_buf *net_input(cm_net *n) {
    return n->x;
}
cm_buf *net_logits(cm_net *n) {
    return n->rt[n->L.nlayers - 1].out;
}
cm_buf *net_dlogits(cm_net *n) {
    return n->rt[n->L.nlayers - 1].dout;
}

static cm_buf *in_buf(cm_net *n, int i) {
    return i ? n->rt[i - 1].out : n->x;
}
static cm_buf *din_buf(cm_net *n, int i) {
    return i ? n->rt[i - 1].dout : n->dx;
}

static cm_status view(cm_net *n, cm_buf *parent, size_t off, size_t count, const char *what, cm_buf **out) {
    if (off == CM_NO_TENSOR || !parent) return CM_OK;
    return backend_view(n->b, parent, fbytes(off), fbytes(count), what, out);
}

static cm_status setup_layer(cm_net *n, int i, int need_dx) {
    const cm_layer *l = &n->L.layers[i];
    layer_rt *r = &n->rt[i];
    cm_backend *b = n->b;
    size_t c = (size_t)l->in.c, out_n = (size_t)n->batch * shape_numel(l->out_shape);
    size_t wn = l->type == CM_LAYER_LINEAR   ? (size_t)l->out * shape_numel(l->in)
                : l->type == CM_LAYER_CONV2D ? (size_t)l->out * c * (size_t)l->kernel * (size_t)l->kernel
                                             : c;
    size_t bn = l->type == CM_LAYER_LINEAR || l->type == CM_LAYER_CONV2D ? (size_t)l->out : c;
    r->need_dx = need_dx;
    CM_TRY(view(n, n->params, l->weight, wn, "weight", &r->w));
    CM_TRY(view(n, n->params, l->bias, bn, "bias", &r->bias));
    CM_TRY(view(n, n->params, l->running_mean, c, "running_mean", &r->rmean));
    CM_TRY(view(n, n->params, l->running_var, c, "running_var", &r->rvar));
    if (!l->frozen) { /* a frozen layer's tensors lie past the gradients (model.h) */
        CM_TRY(view(n, n->grads, l->weight, wn, "weight grad", &r->dw));
        CM_TRY(view(n, n->grads, l->bias, bn, "bias grad", &r->dbias));
    }
    if (in_place(l->type)) {
        r->out = in_buf(n, i);
        r->dout = din_buf(n, i);
    } else {
        r->owns_out = 1;
        CM_TRY(backend_alloc(b, fbytes(out_n), 0, "activations", &r->out));
        CM_TRY(backend_alloc(b, fbytes(out_n), 0, "activation grads", &r->dout));
    }
    if (l->type == CM_LAYER_MAXPOOL2D) CM_TRY(backend_alloc(b, out_n * sizeof(int32_t), 0, "pool argmax", &r->arg));
    if (l->type == CM_LAYER_BATCHNORM1D || l->type == CM_LAYER_BATCHNORM2D) {
        CM_TRY(backend_alloc(b, fbytes(c), 0, "batch mean", &r->save_mean));
        CM_TRY(backend_alloc(b, fbytes(c), 0, "batch inverse std", &r->save_invstd));
        /* frozen (eval mode): the forward leaves both unused; zeros for its backward (bn_backward_eval) */
        if (l->frozen) CM_TRY(backend_fill(b, r->save_mean, 0.0f, c));
    }
    return CM_OK;
}

static cm_status setup(cm_net *n) {
    cm_backend *b = n->b;
    size_t in_n = (size_t)n->batch * shape_numel(n->L.input);
    CM_TRY(backend_alloc(b, fbytes(in_n), 0, "input batch", &n->x));
    CM_TRY(backend_alloc(b, fbytes(in_n), 0, "input grad", &n->dx));
    int seen_params = 0;
    for (int i = 0; i < n->L.nlayers; i++) {
        const cm_layer *l = &n->L.layers[i];
        CM_TRY(setup_layer(n, i, seen_params));
        seen_params |= l->weight != CM_NO_TENSOR && !l->frozen;
    }
    return backend_finish(b);
}

cm_status net_create(cm_backend *b, const cm_layout *L, cm_buf *params, cm_buf *grads, int batch, cm_net **out) {
    *out = NULL;
    if (batch < 1) return cm_fail(CM_ERR_USAGE, "batch %d: must be at least 1", batch);
    cm_net *n = calloc(1, sizeof *n);
    if (!n) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    n->b = b;
    n->L = *L;
    n->batch = batch;
    n->params = params;
    n->grads = grads;
    cm_status st = setup(n);
    if (st != CM_OK) {
        net_destroy(n);
        return st;
    }
    *out = n;
    return CM_OK;
}

size_t net_scratch_bytes(const cm_layout *L, int batch, size_t *largest) {
    size_t col = 0, cnhw = 0; /* the largest im2col (C k k, B OH OW) and GEMM output (OC, B OH OW) */
    for (int i = 0; i < L->nlayers; i++) {
        const cm_layer *l = &L->layers[i];
        if (l->type != CM_LAYER_CONV2D) continue;
        size_t ohw = (size_t)l->out_shape.h * (size_t)l->out_shape.w * (size_t)batch;
        size_t c1 = (size_t)l->in.c * (size_t)l->kernel * (size_t)l->kernel * ohw, c2 = (size_t)l->out * ohw;
        col = c1 > col ? c1 : col;
        cnhw = c2 > cnhw ? c2 : cnhw;
    }
    if (largest) *largest = fbytes(col > cnhw ? col : cnhw);
    return fbytes(col) + fbytes(cnhw);
}

/* Mirrors setup() and setup_layer(): keep the three in step. */
size_t net_memory_bytes(const cm_layout *L, int batch, size_t *largest) {
    size_t in_n = (size_t)batch * shape_numel(L->input);
    size_t total = 2 * fbytes(in_n), big = fbytes(in_n);
    for (int i = 0; i < L->nlayers; i++) {
        const cm_layer *l = &L->layers[i];
        size_t out_n = (size_t)batch * shape_numel(l->out_shape);
        if (!in_place(l->type)) total += 2 * fbytes(out_n);
        if (!in_place(l->type) && fbytes(out_n) > big) big = fbytes(out_n);
        if (l->type == CM_LAYER_MAXPOOL2D) total += out_n * sizeof(int32_t);
        if (l->type == CM_LAYER_BATCHNORM1D || l->type == CM_LAYER_BATCHNORM2D) total += 2 * fbytes((size_t)l->in.c);
    }
    if (largest) *largest = big;
    return total;
}

void net_destroy(cm_net *n) {
    if (!n) return;
    cm_backend *b = n->b;
    backend_finish(b);
    for (int i = 0; i < CM_MAX_LAYERS; i++) {
        layer_rt *r = &n->rt[i];
        cm_buf *views[] = {r->w, r->bias, r->rmean, r->rvar, r->dw, r->dbias, r->arg, r->save_mean, r->save_invstd};
        for (size_t k = 0; k < sizeof views / sizeof views[0]; k++)
            backend_release(b, views[k]);
        if (r->owns_out) {
            backend_release(b, r->out);
            backend_release(b, r->dout);
        }
    }
    backend_release(b, n->x);
    backend_release(b, n->dx);
    free(n);
}

static cm_window conv_window(const cm_layer *l, int rows) {
    cm_window w = {.batch = rows,
                   .channels = l->in.c,
                   .height = l->in.h,
                   .width = l->in.w,
                   .kernel = l->kernel,
                   .stride = l->stride,
                   .pad = l->pad,
                   .out_h = l->out_shape.h,
                   .out_w = l->out_shape.w};
    return w;
}

static cm_bn_shape bn_shape(const cm_layer *l, int rows) {
    cm_bn_shape s = {.batch = rows,
                     .channels = l->in.c,
                     .hw = l->in.h * l->in.w,
                     .eps = l->eps,
                     .momentum = l->momentum,
                     .relu = l->fused_relu};
    return s;
}

/* Conv2d forward: y (B, OC, OH, OW) = conv(x (B, C, H, W)) + bias, ReLU if fused. */
static cm_status conv_forward(cm_net *n, const cm_layer *l, layer_rt *r, cm_buf *x, int rows) {
    cm_window w = conv_window(l, rows);
    return backend_conv_forward(n->b, x, r->w, r->bias, r->out, l->out, &w, l->fused_relu);
}

static cm_status layer_forward(cm_net *n, int i, int rows, const cm_net_mode *m) {
    const cm_layer *l = &n->L.layers[i];
    layer_rt *r = &n->rt[i];
    cm_buf *x = in_buf(n, i);
    size_t count = (size_t)rows * shape_numel(l->out_shape);
    switch (l->type) {
    case CM_LAYER_LINEAR: {
        int in = (int)shape_numel(l->in);
        /* out (rows, out) = x (rows, in) . W^T (in, out), + bias, ReLU if fused */
        CM_TRY(backend_gemm(n->b, false, true, rows, l->out, in, 1.0f, x, in, r->w, in, 0.0f, r->out, l->out));
        return backend_bias_act(n->b, r->out, r->bias, rows, l->out, l->fused_relu);
    }
    case CM_LAYER_CONV2D: return conv_forward(n, l, r, x, rows);
    case CM_LAYER_MAXPOOL2D: {
        cm_window w = conv_window(l, rows);
        return backend_maxpool_forward(n->b, x, r->out, r->arg, &w);
    }
    case CM_LAYER_BATCHNORM1D:
    case CM_LAYER_BATCHNORM2D: {
        cm_bn_shape s = bn_shape(l, rows);
        return backend_bn_forward(n->b, x, r->out, r->w, r->bias, r->rmean, r->rvar, r->save_mean, r->save_invstd, &s,
                                  m->training && !l->frozen);
    }
    case CM_LAYER_RELU:
        if (i > 0 && n->L.layers[i - 1].fused_relu) return CM_OK;
        return backend_relu(n->b, r->out, count);
    case CM_LAYER_DROPOUT:
        if (!m->training || l->p <= 0.0f) return CM_OK;
        return backend_dropout(n->b, r->out, count, l->p, m->seed, (uint32_t)i, m->step,
                               (size_t)m->row0 * shape_numel(l->out_shape));
    case CM_LAYER_GAP: return backend_gap_forward(n->b, x, r->out, rows * l->in.c, l->in.h * l->in.w);
    case CM_LAYER_FLATTEN:
    default: return CM_OK;
    }
}

cm_status net_forward(cm_net *n, int rows, const cm_net_mode *mode) {
    if (rows < 1 || rows > n->batch)
        return cm_fail(CM_ERR_USAGE, "net_forward: %d rows; the net holds 1 to %d", rows, n->batch);
    for (int i = 0; i < n->L.nlayers; i++)
        CM_TRY(layer_forward(n, i, rows, mode));
    return CM_OK;
}

/* Conv2d backward: dbias (OC) = channel sums of dy; dW (OC, C k k), unless frozen; dx (B, C, H, W)
 * where an earlier layer trains. */
static cm_status conv_backward(cm_net *n, const cm_layer *l, layer_rt *r, cm_buf *x, cm_buf *dx, int rows) {
    cm_window w = conv_window(l, rows);
    if (l->frozen && !r->need_dx) return CM_OK;
    if (r->dbias) CM_TRY(backend_channel_sum(n->b, r->dout, r->dbias, rows, l->out, w.out_h * w.out_w));
    return backend_conv_backward(n->b, r->dout, x, r->w, r->dw, r->need_dx ? dx : NULL, l->out, &w);
}

/* A frozen Linear: no dW or dbias; dx only where an earlier layer trains, through the fused
 * ReLU's mask. */
static cm_status linear_backward_frozen(cm_net *n, const cm_layer *l, layer_rt *r, cm_buf *dx, int rows) {
    if (!r->need_dx) return CM_OK;
    int in = (int)shape_numel(l->in);
    if (l->fused_relu) CM_TRY(backend_relu_backward(n->b, r->dout, r->out, (size_t)rows * (size_t)l->out, 1.0f));
    /* dx (rows, in) = dy (rows, out) . W (out, in) */
    return backend_gemm(n->b, false, false, rows, in, l->out, 1.0f, r->dout, l->out, r->w, in, 0.0f, dx, in);
}

/* A frozen BatchNorm ran in eval mode, y = gamma (x - running_mean) / sqrt(running_var + eps) +
 * beta: an affine map whose backward is dx = gamma dy / sqrt(running_var + eps), the same map on
 * dy with zero mean and shift (save_mean holds zeros: setup_layer). */
static cm_status bn_backward_eval(cm_net *n, layer_rt *r, cm_buf *dx, const cm_bn_shape *s) {
    cm_bn_shape linear = *s;
    linear.relu = false; /* the fused ReLU's backward ran in its own layer */
    return backend_bn_forward(n->b, r->dout, dx, r->w, r->save_mean, r->save_mean, r->rvar, r->save_mean,
                              r->save_invstd, &linear, false);
}

/* A ReLU right before a MaxPool2d: its backward runs on the pooled gradient instead, before the
 * pooling's (a quarter of the elements for 2x2 windows), with the same result: the pooled output
 * is the ReLU's output at the position each window's gradient goes to, and every other position
 * gets no gradient from that window. */
static int relu_mask_after_pool(const cm_net *n, int pool) {
    return pool > 0 && pool < n->L.nlayers && n->L.layers[pool].type == CM_LAYER_MAXPOOL2D &&
           n->L.layers[pool - 1].type == CM_LAYER_RELU;
}

static cm_status layer_backward(cm_net *n, int i, int rows, const cm_net_mode *m) {
    const cm_layer *l = &n->L.layers[i];
    layer_rt *r = &n->rt[i];
    cm_buf *x = in_buf(n, i), *dx = din_buf(n, i);
    size_t count = (size_t)rows * shape_numel(l->out_shape);
    switch (l->type) {
    case CM_LAYER_LINEAR: {
        int in = (int)shape_numel(l->in);
        /* a fused ReLU's backward first (dy masked by its output, in place), with dbias (out) = column
         * sums of dy; then dW (out, in) = dy^T (out, rows) . x (rows, in) */
        if (l->frozen) return linear_backward_frozen(n, l, r, dx, rows);
        CM_TRY(backend_bias_grad(n->b, r->dout, l->fused_relu ? r->out : NULL, r->dbias, rows, l->out));
        CM_TRY(backend_gemm(n->b, true, false, l->out, in, rows, 1.0f, r->dout, l->out, x, in, 0.0f, r->dw, in));
        if (!r->need_dx) return CM_OK;
        /* dx (rows, in) = dy (rows, out) . W (out, in) */
        return backend_gemm(n->b, false, false, rows, in, l->out, 1.0f, r->dout, l->out, r->w, in, 0.0f, dx, in);
    }
    case CM_LAYER_CONV2D: return conv_backward(n, l, r, x, dx, rows);
    case CM_LAYER_MAXPOOL2D: {
        if (!r->need_dx) return CM_OK;
        cm_window w = conv_window(l, rows);
        if (relu_mask_after_pool(n, i)) CM_TRY(backend_relu_backward(n->b, r->dout, r->out, count, 1.0f));
        return backend_maxpool_backward(n->b, r->dout, r->arg, dx, &w);
    }
    case CM_LAYER_BATCHNORM1D:
    case CM_LAYER_BATCHNORM2D: {
        cm_bn_shape s = bn_shape(l, rows);
        if (l->frozen) return r->need_dx ? bn_backward_eval(n, r, dx, &s) : CM_OK;
        return backend_bn_backward(n->b, r->dout, x, r->w, r->save_mean, r->save_invstd, dx, r->dw, r->dbias, &s);
    }
    case CM_LAYER_RELU: /* in place; out is the ReLU's output (after any dropout, which keeps signs) */
        if (i > 0 && n->L.layers[i - 1].fused_relu && n->L.layers[i - 1].type == CM_LAYER_LINEAR)
            return CM_OK;                                 /* the Linear's bias_grad applies the mask */
        if (relu_mask_after_pool(n, i + 1)) return CM_OK; /* applied to the pooled gradient */
        return r->need_dx ? backend_relu_backward(n->b, r->dout, r->out, count, 1.0f) : CM_OK;
    case CM_LAYER_DROPOUT: /* the same mask and scale again: d/dy of y * mask / (1 - p) */
        if (!r->need_dx || !m->training || l->p <= 0.0f) return CM_OK;
        return backend_dropout(n->b, r->dout, count, l->p, m->seed, (uint32_t)i, m->step,
                               (size_t)m->row0 * shape_numel(l->out_shape));
    case CM_LAYER_GAP:
        return r->need_dx ? backend_gap_backward(n->b, r->dout, dx, rows * l->in.c, l->in.h * l->in.w) : CM_OK;
    case CM_LAYER_FLATTEN:
    default: return CM_OK;
    }
}

cm_status net_backward(cm_net *n, int rows, const cm_net_mode *mode) {
    if (!n->grads) return cm_fail(CM_ERR_USAGE, "net_backward: this net was created for inference only");
    if (rows < 1 || rows > n->batch)
        return cm_fail(CM_ERR_USAGE, "net_backward: %d rows; the net holds 1 to %d", rows, n->batch);
    for (int i = n->L.nlayers - 1; i >= 0; i--)
        CM_TRY(layer_backward(n, i, rows, mode));
    return CM_OK;
}

cm_status net_max_norm(cm_net *n, float c) {
    for (int i = 0; i < n->L.nlayers; i++) {
        const cm_layer *l = &n->L.layers[i];
        if (l->type == CM_LAYER_LINEAR && !l->frozen)
            CM_TRY(backend_max_norm(n->b, n->rt[i].w, l->out, (int)shape_numel(l->in), c));
    }
    return CM_OK;
}

cm_status net_normalize_input(cm_net *n, int rows) {
    const cm_layout *L = &n->L;
    if (!L->normalized) return CM_OK;
    float mul[4], add[4];
    int C = L->input.c < 4 ? L->input.c : 4;
    for (int c = 0; c < C; c++)
        mul[c] = 1.0f / L->in_std[c], add[c] = -L->in_mean[c] / L->in_std[c];
    return backend_channel_affine(n->b, n->x, rows, C, L->input.h * L->input.w, mul, add);
}
