/* model.c: layer descriptors, shape inference and the flat parameter layout, seeded
 * initialisation. The --arch grammar is in arch.c. */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

static const char *const type_names[CM_LAYER_TYPES] = {
    "Linear", "Conv2d", "MaxPool2d", "BatchNorm1d", "BatchNorm2d", "ReLU", "Dropout", "Flatten", "AdaptiveAvgPool2d"};

const char *layer_type_name(cm_layer_type type) {
    return type >= 0 && type < CM_LAYER_TYPES ? type_names[type] : "?";
}

int layer_type_from_name(const char *name) {
    for (int t = 0; t < CM_LAYER_TYPES; t++)
        if (strcmp(name, type_names[t]) == 0) return t;
    return -1;
}

cm_layer layer_default(cm_layer_type type) {
    cm_layer l;
    memset(&l, 0, sizeof l);
    l.type = type;
    l.stride = 1;
    l.eps = 1e-5f;
    l.momentum = 0.1f;
    l.p = 0.5f;
    l.weight = l.bias = l.running_mean = l.running_var = CM_NO_TENSOR;
    return l;
}

size_t shape_numel(cm_shape s) {
    return (size_t)s.c * (size_t)s.h * (size_t)s.w;
}

/* Dropout's p (in [0, 1)) as the shortest fixed-point decimal that reads back as the same float,
 * never with an exponent ("1e-05" would split into two --arch tokens at its '-'); to 12 decimals,
 * trailing zeros dropped, when no decimal that short reads back exactly (p below about 1e-4). */
static void format_p(float p, char *buf, size_t size) {
    for (int d = 1; d <= 12; d++) {
        snprintf(buf, size, "%.*f", d, (double)p);
        if ((float)strtod(buf, NULL) == p) break;
    }
    char *end = buf + strlen(buf);
    if (!strchr(buf, '.')) return;
    while (end > buf && end[-1] == '0')
        *--end = '\0';
    if (end > buf && end[-1] == '.') end[-1] = '\0';
}

void layer_token(const cm_layer *l, char *buf, size_t size) {
    switch (l->type) {
    case CM_LAYER_LINEAR: snprintf(buf, size, "fc%d", l->out); break;
    case CM_LAYER_CONV2D: {
        int n = snprintf(buf, size, "conv%dk%d", l->out, l->kernel);
        if (l->stride != 1 && n >= 0 && (size_t)n < size) n += snprintf(buf + n, size - (size_t)n, "s%d", l->stride);
        if (l->pad && n >= 0 && (size_t)n < size) snprintf(buf + n, size - (size_t)n, "p%d", l->pad);
        break;
    }
    case CM_LAYER_MAXPOOL2D:
        if (l->stride == l->kernel)
            snprintf(buf, size, "pool%d", l->kernel);
        else
            snprintf(buf, size, "pool%ds%d", l->kernel, l->stride);
        break;
    case CM_LAYER_BATCHNORM1D:
    case CM_LAYER_BATCHNORM2D: snprintf(buf, size, "bn"); break;
    case CM_LAYER_RELU: snprintf(buf, size, "relu"); break;
    case CM_LAYER_DROPOUT: {
        char p[32];
        format_p(l->p, p, sizeof p);
        snprintf(buf, size, "drop%s", p);
        break;
    }
    case CM_LAYER_FLATTEN: snprintf(buf, size, "flatten"); break;
    case CM_LAYER_GAP: snprintf(buf, size, "gap"); break;
    default: snprintf(buf, size, "?"); break;
    }
}

static size_t round_up(size_t v, size_t m) {
    return (v + m - 1) / m * m;
}

static cm_status layer_error(const cm_layer *l, int i, cm_shape in, const char *why) {
    char tok[48];
    layer_token(l, tok, sizeof tok);
    if (in.flat) return cm_fail(CM_ERR_USAGE, "layer %d (%s) on a %d-vector: %s", i + 1, tok, in.c, why);
    return cm_fail(CM_ERR_USAGE, "layer %d (%s) on a %dx%dx%d input: %s", i + 1, tok, in.c, in.h, in.w, why);
}

/* Output shape of layer l on input `in`, or an error naming it. */
static cm_status layer_shape(cm_layer *l, int i, cm_shape in) {
    cm_shape o = in;
    int spatial = l->type == CM_LAYER_CONV2D || l->type == CM_LAYER_MAXPOOL2D || l->type == CM_LAYER_BATCHNORM2D ||
                  l->type == CM_LAYER_GAP;
    if (spatial && in.flat) return layer_error(l, i, in, "needs a (C, H, W) input, not a flat vector");
    if ((l->type == CM_LAYER_LINEAR || l->type == CM_LAYER_BATCHNORM1D) && !in.flat)
        return layer_error(l, i, in, "needs a flat input: add 'flatten' before it");
    switch (l->type) {
    case CM_LAYER_LINEAR:
        if (l->out < 1 || l->out > (1 << 24)) return layer_error(l, i, in, "out_features must be 1 to 16777216");
        o = (cm_shape){l->out, 1, 1, 1};
        break;
    case CM_LAYER_CONV2D:
    case CM_LAYER_MAXPOOL2D: {
        int k = l->kernel, s = l->stride, p = l->pad;
        if (k < 1 || s < 1 || p < 0 || k > 4096 || s > 4096 || p > 4096)
            return layer_error(l, i, in, "kernel and stride must be at least 1, padding at least 0");
        if (l->type == CM_LAYER_MAXPOOL2D && 2 * p > k) return layer_error(l, i, in, "padding exceeds half the kernel");
        if (k > in.h + 2 * p || k > in.w + 2 * p) return layer_error(l, i, in, "the kernel is larger than its input");
        if (l->type == CM_LAYER_CONV2D && (l->out < 1 || l->out > 65536))
            return layer_error(l, i, in, "out_channels must be 1 to 65536");
        o.c = l->type == CM_LAYER_CONV2D ? l->out : in.c;
        o.h = (in.h + 2 * p - k) / s + 1;
        o.w = (in.w + 2 * p - k) / s + 1;
        break;
    }
    case CM_LAYER_BATCHNORM1D:
    case CM_LAYER_BATCHNORM2D:
        if (!(l->eps > 0.0f) || !(l->momentum >= 0.0f && l->momentum <= 1.0f))
            return layer_error(l, i, in, "eps must be positive and momentum in [0, 1]");
        break;
    case CM_LAYER_DROPOUT:
        if (!(l->p >= 0.0f && l->p < 1.0f)) return layer_error(l, i, in, "p must be in [0, 1)");
        break;
    case CM_LAYER_FLATTEN: o = (cm_shape){(int)shape_numel(in), 1, 1, 1}; break;
    case CM_LAYER_GAP: o.h = o.w = 1; break;
    case CM_LAYER_RELU: break;
    default: return cm_fail(CM_ERR_USAGE, "layer %d: unknown type %d", i, (int)l->type);
    }
    if (shape_numel(o) > ((size_t)1 << 28)) return layer_error(l, i, in, "its output is too large");
    l->in = in;
    l->out_shape = o;
    return CM_OK;
}

/* Element counts of the layer's tensors (weight, bias, running_mean, running_var); 0 if absent. */
static void tensor_sizes(const cm_layer *l, size_t n[4]) {
    n[0] = n[1] = n[2] = n[3] = 0;
    if (l->type == CM_LAYER_LINEAR) {
        n[0] = (size_t)l->out * shape_numel(l->in);
        n[1] = (size_t)l->out;
    } else if (l->type == CM_LAYER_CONV2D) {
        n[0] = (size_t)l->out * (size_t)l->in.c * (size_t)l->kernel * (size_t)l->kernel;
        n[1] = l->no_bias ? 0 : (size_t)l->out;
    } else if (l->type == CM_LAYER_BATCHNORM1D || l->type == CM_LAYER_BATCHNORM2D) {
        n[0] = n[1] = n[2] = n[3] = (size_t)l->in.c;
    }
}

/* Which pass of the placement a layer's tensor t (0 weight, 1 bias, 2 running_mean, 3
 * running_var) belongs to: 0 trainable, 1 frozen, 2 buffers. */
static int tensor_pass(const cm_layer *l, int t) {
    return t >= 2 ? 2 : l->frozen ? 1 : 0;
}

static void place_tensors(cm_layout *L) {
    size_t align = L->align_bytes / sizeof(float), off = 0;
    for (int pass = 0; pass < 3; pass++) { /* trainable tensors, those of frozen layers, buffers */
        for (int i = 0; i < L->nlayers; i++) {
            cm_layer *l = &L->layers[i];
            size_t n[4], *slot[4] = {&l->weight, &l->bias, &l->running_mean, &l->running_var};
            tensor_sizes(l, n);
            for (int t = 0; t < 4; t++) {
                if (!n[t] || tensor_pass(l, t) != pass) continue;
                *slot[t] = off;
                off = round_up(off + n[t], align);
                if (pass == 0) L->count += n[t];
                if (pass == 1) L->frozen_count += n[t];
            }
        }
        if (pass == 0) L->trainable = off;
        if (pass == 1) L->frozen = off;
    }
    L->total = off;
}

cm_status model_layout(cm_layout *L, const cm_layer *layers, int nlayers, cm_shape input, int classes,
                       size_t align_bytes) {
    memset(L, 0, sizeof *L);
    if (nlayers < 1 || nlayers > CM_MAX_LAYERS)
        return cm_fail(CM_ERR_USAGE, "a network has 1 to %d layers, not %d", CM_MAX_LAYERS, nlayers);
    if (align_bytes < sizeof(float) || align_bytes % sizeof(float))
        return cm_fail(CM_ERR_USAGE, "parameter alignment %zu is not a multiple of 4 bytes", align_bytes);
    if (input.c < 1 || input.h < 1 || input.w < 1)
        return cm_fail(CM_ERR_USAGE, "input shape %dx%dx%d is empty", input.c, input.h, input.w);
    L->nlayers = nlayers;
    L->input = input;
    L->align_bytes = align_bytes;
    cm_shape s = input;
    for (int i = 0; i < nlayers; i++) {
        L->layers[i] = layers[i];
        L->layers[i].weight = L->layers[i].bias = CM_NO_TENSOR;
        L->layers[i].running_mean = L->layers[i].running_var = CM_NO_TENSOR;
        L->layers[i].fused_relu = 0;
        CM_TRY(layer_shape(&L->layers[i], i, s));
        s = L->layers[i].out_shape;
    }
    if (!s.flat || (classes > 0 && s.c != classes)) {
        char tok[48];
        layer_token(&L->layers[nlayers - 1], tok, sizeof tok);
        if (!s.flat)
            return cm_fail(CM_ERR_USAGE, "the last layer (%s) gives a %dx%dx%d output; end with 'flatten' and 'fc%d'",
                           tok, s.c, s.h, s.w, classes > 0 ? classes : 10);
        return cm_fail(CM_ERR_USAGE, "the last layer (%s) gives %d outputs; the data has %d classes", tok, s.c,
                       classes);
    }
    L->classes = s.c;
    for (int i = 0; i + 1 < nlayers; i++) /* fusion: an optimisation of the sequence, not its definition */
        if ((L->layers[i].type == CM_LAYER_LINEAR || L->layers[i].type == CM_LAYER_CONV2D ||
             L->layers[i].type == CM_LAYER_BATCHNORM1D || L->layers[i].type == CM_LAYER_BATCHNORM2D) &&
            L->layers[i + 1].type == CM_LAYER_RELU)
            L->layers[i].fused_relu = 1;
    place_tensors(L);
    return CM_OK;
}

int model_tensors(const cm_layout *L, cm_tensor *out) {
    static const char *const names[4] = {"weight", "bias", "running_mean", "running_var"};
    int n = 0;
    for (int pass = 0; pass < 3; pass++)
        for (int i = 0; i < L->nlayers; i++) {
            const cm_layer *l = &L->layers[i];
            size_t sizes[4], offs[4] = {l->weight, l->bias, l->running_mean, l->running_var};
            tensor_sizes(l, sizes);
            for (int t = 0; t < 4; t++) {
                if (!sizes[t] || tensor_pass(l, t) != pass) continue;
                cm_tensor *x = &out[n++];
                memset(x, 0, sizeof *x);
                x->layer = i;
                x->name = names[t];
                x->offset = offs[t];
                x->numel = sizes[t];
                x->trainable = pass == 0;
                x->rank = 1;
                x->dims[0] = (int)sizes[t];
                if (t == 0 && l->type == CM_LAYER_LINEAR) {
                    x->rank = 2;
                    x->dims[0] = l->out;
                    x->dims[1] = (int)shape_numel(l->in);
                } else if (t == 0 && l->type == CM_LAYER_CONV2D) {
                    x->rank = 4;
                    x->dims[0] = l->out;
                    x->dims[1] = l->in.c;
                    x->dims[2] = x->dims[3] = l->kernel;
                }
            }
        }
    return n;
}

cm_status model_init(cm_model *model, const cm_layout *layout, uint64_t seed) {
    model->layout = *layout;
    model->params = calloc(layout->total ? layout->total : 1, sizeof(float));
    if (!model->params)
        return cm_fail(CM_ERR_MEMORY, "cannot allocate %zu MiB for the model parameters",
                       layout->total * sizeof(float) >> 20);
    cm_rng rng;
    rng_seed(&rng, seed, 0x6d6f64656cULL /* "model" */);
    for (int i = 0; i < layout->nlayers; i++) {
        const cm_layer *l = &layout->layers[i];
        float *p = model->params;
        if (l->type == CM_LAYER_LINEAR || l->type == CM_LAYER_CONV2D) {
            size_t fan_in = l->type == CM_LAYER_LINEAR ? shape_numel(l->in)
                                                       : (size_t)l->in.c * (size_t)l->kernel * (size_t)l->kernel;
            size_t n = (size_t)l->out * fan_in;
            float limit = sqrtf(6.0f / (float)fan_in);
            for (size_t k = 0; k < n; k++)
                p[l->weight + k] = (2.0f * rng_uniform(&rng) - 1.0f) * limit;
        } else if (l->type == CM_LAYER_BATCHNORM1D || l->type == CM_LAYER_BATCHNORM2D) {
            for (int c = 0; c < l->in.c; c++) {
                p[l->weight + (size_t)c] = 1.0f;
                p[l->running_var + (size_t)c] = 1.0f;
            }
        }
    }
    return CM_OK;
}

void model_free(cm_model *model) {
    free(model->params);
    model->params = NULL;
}

void model_describe(const cm_layout *L, char *buf, size_t size) {
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < L->nlayers && n + 1 < size; i++) {
        char tok[48];
        /* --arch's 'gap' is AdaptiveAvgPool2d + Flatten: the Flatten after it has no token of its own */
        if (i > 0 && L->layers[i].type == CM_LAYER_FLATTEN && L->layers[i - 1].type == CM_LAYER_GAP) continue;
        layer_token(&L->layers[i], tok, sizeof tok);
        n += (size_t)snprintf(buf + n, size - n, i ? "-%s" : "%s", tok);
    }
}
