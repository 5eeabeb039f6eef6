/* ref_cnn.h: an independent float64 forward pass of a layer list (Conv2d by its definition, not
 * im2col; BatchNorm in training mode on the batch's statistics, a frozen one in eval mode; ReLU,
 * MaxPool2d, Flatten, Linear) and its mean cross-entropy, for gradient checks of whole CNNs by
 * central differences.
 * Dropout is not modelled (use p = 0). Header-only (static functions). */
#ifndef CLMNIST_TEST_REF_CNN_H
#define CLMNIST_TEST_REF_CNN_H
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "model.h"

/* y (n, OC, OH, OW) = conv(x (n, C, H, W)) + bias, zero padding. */
static void ref_conv(const cm_layer *l, const double *p, const double *x, int n, double *y) {
    int C = l->in.c, H = l->in.h, W = l->in.w, K = l->kernel, S = l->stride, P = l->pad;
    int OC = l->out, OH = l->out_shape.h, OW = l->out_shape.w;
    for (int b = 0; b < n; b++)
        for (int o = 0; o < OC; o++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    double s = l->bias == CM_NO_TENSOR ? 0.0 : p[l->bias + o];
                    for (int c = 0; c < C; c++)
                        for (int i = 0; i < K; i++)
                            for (int j = 0; j < K; j++) {
                                int h = oh * S - P + i, w = ow * S - P + j;
                                if (h < 0 || h >= H || w < 0 || w >= W) continue;
                                s += p[l->weight + (((size_t)o * C + c) * K + i) * K + j] *
                                     x[(((size_t)b * C + c) * H + h) * W + w];
                            }
                    y[(((size_t)b * OC + o) * OH + oh) * OW + ow] = s;
                }
}

/* Training-mode BatchNorm over (n, C, HW): batch mean and biased variance per channel; a frozen
 * layer's (fine-tuning) is in eval mode: its running statistics. */
static void ref_bn(const cm_layer *l, const double *p, const double *x, int n, double *y) {
    int C = l->in.c, HW = l->in.h * l->in.w;
    double N = (double)n * HW;
    for (int c = 0; c < C && l->frozen; c++) {
        double inv = 1.0 / sqrt(p[l->running_var + c] + (double)l->eps);
        for (size_t i = (size_t)c * HW; i < (size_t)n * C * HW; i += (size_t)C * HW)
            for (int s = 0; s < HW; s++)
                y[i + s] = p[l->weight + c] * (x[i + s] - p[l->running_mean + c]) * inv + p[l->bias + c];
    }
    for (int c = 0; c < C && !l->frozen; c++) {
        double mean = 0.0, var = 0.0;
        for (int b = 0; b < n; b++)
            for (int s = 0; s < HW; s++)
                mean += x[((size_t)b * C + c) * HW + s];
        mean /= N;
        for (int b = 0; b < n; b++)
            for (int s = 0; s < HW; s++) {
                double d = x[((size_t)b * C + c) * HW + s] - mean;
                var += d * d;
            }
        var /= N;
        double inv = 1.0 / sqrt(var + (double)l->eps);
        for (int b = 0; b < n; b++)
            for (int s = 0; s < HW; s++) {
                size_t i = ((size_t)b * C + c) * HW + s;
                y[i] = p[l->weight + c] * (x[i] - mean) * inv + p[l->bias + c];
            }
    }
}

static void ref_maxpool(const cm_layer *l, const double *x, int n, double *y) {
    int C = l->in.c, H = l->in.h, W = l->in.w, K = l->kernel, S = l->stride, OH = l->out_shape.h, OW = l->out_shape.w;
    for (int bc = 0; bc < n * C; bc++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                double m = -INFINITY;
                for (int i = 0; i < K; i++)
                    for (int j = 0; j < K; j++)
                        m = fmax(m, x[((size_t)bc * H + oh * S + i) * W + ow * S + j]);
                y[((size_t)bc * OH + oh) * OW + ow] = m;
            }
}

static void ref_gap(const cm_layer *l, const double *x, int n, double *y) {
    size_t hw = (size_t)l->in.h * (size_t)l->in.w;
    for (size_t bc = 0; bc < (size_t)n * (size_t)l->in.c; bc++) {
        double s = 0.0;
        for (size_t k = 0; k < hw; k++)
            s += x[bc * hw + k];
        y[bc] = s / (double)hw;
    }
}

static void ref_linear(const cm_layer *l, const double *p, const double *x, int n, double *y) {
    size_t in = shape_numel(l->in);
    for (int b = 0; b < n; b++)
        for (int o = 0; o < l->out; o++) {
            double s = p[l->bias + o];
            for (size_t i = 0; i < in; i++)
                s += p[l->weight + (size_t)o * in + i] * x[(size_t)b * in + i];
            y[(size_t)b * l->out + o] = s;
        }
}

/* Mean cross-entropy of the whole split as one batch (x = pixel / 255). */
static __attribute__((unused)) double ref_cnn_loss(const cm_layout *L, const double *p, const cm_split *sp) {
    int n = sp->count;
    size_t most = (size_t)sp->dim;
    for (int i = 0; i < L->nlayers; i++)
        if (shape_numel(L->layers[i].out_shape) > most) most = shape_numel(L->layers[i].out_shape);
    double *a = malloc(sizeof(double) * most * n), *t = malloc(sizeof(double) * most * n);
    for (size_t i = 0; i < (size_t)n * sp->dim; i++)
        a[i] = sp->images[i] / 255.0;
    for (int i = 0; i < L->nlayers; i++) {
        const cm_layer *l = &L->layers[i];
        size_t count = (size_t)n * shape_numel(l->out_shape);
        switch (l->type) {
        case CM_LAYER_CONV2D: ref_conv(l, p, a, n, t); break;
        case CM_LAYER_BATCHNORM1D:
        case CM_LAYER_BATCHNORM2D: ref_bn(l, p, a, n, t); break;
        case CM_LAYER_MAXPOOL2D: ref_maxpool(l, a, n, t); break;
        case CM_LAYER_GAP: ref_gap(l, a, n, t); break;
        case CM_LAYER_LINEAR: ref_linear(l, p, a, n, t); break;
        case CM_LAYER_RELU:
            for (size_t k = 0; k < count; k++)
                t[k] = a[k] > 0.0 ? a[k] : 0.0;
            break;
        default: memcpy(t, a, sizeof(double) * count); break; /* Flatten; Dropout with p = 0 */
        }
        double *swap = a;
        a = t, t = swap;
    }
    double total = 0.0;
    for (int b = 0; b < n; b++) {
        const double *z = a + (size_t)b * L->classes;
        double mx = z[0], sum = 0.0;
        for (int c = 1; c < L->classes; c++)
            mx = fmax(mx, z[c]);
        for (int c = 0; c < L->classes; c++)
            sum += exp(z[c] - mx);
        total += log(sum) - (z[sp->labels[b]] - mx);
    }
    free(a), free(t);
    return total / n;
}

/* Central differences of ref_cnn_loss with step h for every trainable parameter. */
static __attribute__((unused)) void ref_cnn_fd_grad(const cm_layout *L, double *p, const cm_split *sp, double h,
                                                    float *fd) {
    cm_tensor ts[CM_MAX_TENSORS];
    int nt = model_tensors(L, ts);
    for (int k = 0; k < nt; k++) {
        if (!ts[k].trainable) continue;
        for (size_t i = ts[k].offset; i < ts[k].offset + ts[k].numel; i++) {
            double keep = p[i];
            p[i] = keep + h;
            double up = ref_cnn_loss(L, p, sp);
            p[i] = keep - h;
            double down = ref_cnn_loss(L, p, sp);
            p[i] = keep;
            fd[i] = (float)((up - down) / (2 * h));
        }
    }
}

#endif
