/* onnx_layers.c: one node of an ONNX chain into a clmnist layer (onnx_import.h): the operations
 * clmnist has, each with every attribute checked; anything else is one error naming the node. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_import.h"

/* ---- attributes ------------------------------------------------------------------------------ */

/* Every attribute of n is in the space-separated list `known`. */
static cm_status known_attrs(const onnx_import *im, const Onnx__NodeProto *n, const char *known) {
    for (size_t i = 0; i < n->n_attribute; i++) {
        const char *name = onnx_str(n->attribute[i]->name);
        size_t len = strlen(name);
        int ok = 0;
        for (const char *p = known; *p && !ok;) {
            size_t l = strcspn(p, " ");
            ok = l == len && len && !memcmp(p, name, len);
            p += l + (p[l] == ' ');
        }
        if (!ok) return import_node_fail(im, n, "attribute '%s' is not supported", name);
    }
    return CM_OK;
}

static cm_status attr_int(const onnx_import *im, const Onnx__NodeProto *n, const char *name, int64_t dflt, int64_t *v) {
    const Onnx__AttributeProto *a = onnx_attr(n, name);
    *v = dflt;
    if (!a) return CM_OK;
    if (!a->has_i) return import_node_fail(im, n, "attribute '%s' must be an integer", name);
    *v = a->i;
    return CM_OK;
}

static cm_status attr_float(const onnx_import *im, const Onnx__NodeProto *n, const char *name, float dflt, float *v) {
    const Onnx__AttributeProto *a = onnx_attr(n, name);
    *v = dflt;
    if (!a) return CM_OK;
    if (!a->has_f || !isfinite(a->f)) return import_node_fail(im, n, "attribute '%s' must be a number", name);
    *v = a->f;
    return CM_OK;
}

/* An ints attribute of `count` equal values (absent: dflt); what says what differs. */
static cm_status attr_square(const onnx_import *im, const Onnx__NodeProto *n, const char *name, size_t count,
                             int64_t dflt, const char *what, int64_t *v) {
    const Onnx__AttributeProto *a = onnx_attr(n, name);
    *v = dflt;
    if (!a) return CM_OK;
    if (a->n_ints != count) return import_node_fail(im, n, "attribute '%s' must have %zu values", name, count);
    for (size_t i = 1; i < count; i++)
        if (a->ints[i] != a->ints[0])
            return import_node_fail(im, n, "%s (%s %lld and %lld) is not supported", what, name, (long long)a->ints[0],
                                    (long long)a->ints[i]);
    *v = a->ints[0];
    return CM_OK;
}

/* auto_pad absent, NOTSET, or VALID (no padding). */
static cm_status auto_pad(const onnx_import *im, const Onnx__NodeProto *n, int *valid) {
    const Onnx__AttributeProto *a = onnx_attr(n, "auto_pad");
    *valid = 0;
    if (!a) return CM_OK;
    char s[16] = "";
    if (a->has_s && a->s.len < sizeof s) memcpy(s, a->s.data, a->s.len);
    if (!strcmp(s, "NOTSET")) return CM_OK;
    if (!strcmp(s, "VALID")) {
        *valid = 1;
        return CM_OK;
    }
    return import_node_fail(im, n, "auto_pad '%s' is not supported (NOTSET or VALID)", s);
}

/* ---- inputs ---------------------------------------------------------------------------------- */

/* Input k of n as float32 constant data into s (absent: s->data NULL unless required). */
static cm_status const_input(const onnx_import *im, const Onnx__NodeProto *n, size_t k, int required, onnx_src *s) {
    memset(s, 0, sizeof *s);
    const char *name = k < n->n_input ? onnx_str(n->input[k]) : "";
    if (!*name) return required ? import_node_fail(im, n, "input %zu is missing", k) : CM_OK;
    const Onnx__TensorProto *t = import_const(im, name);
    if (!t) return import_node_fail(im, n, "input '%s' is computed, not a constant weight: not supported", name);
    char what[256];
    snprintf(what, sizeof what, "%s: node '%s' (%s): input '%s'", im->path, onnx_str(n->name), onnx_str(n->op_type),
             name);
    CM_TRY(onnx_float_tensor(t, what, ONNX_MAX_NUMEL, &s->data, &s->numel));
    s->rank = (int)t->n_dims;
    for (int d = 0; d < s->rank; d++)
        s->dims[d] = t->dims[d];
    return CM_OK;
}

static cm_status add_layer(onnx_import *im, const Onnx__NodeProto *n, cm_layer l) {
    if (im->n == CM_MAX_LAYERS) return import_node_fail(im, n, "more than %d layers", CM_MAX_LAYERS);
    im->layers[im->n] = l;
    memset(&im->src[im->n], 0, sizeof im->src[0]);
    im->n++;
    /* the shapes so far, with a Flatten after the new layer when it gives images (a layout must
     * end in a flat vector) */
    cm_layout *L = malloc(sizeof *L);
    cm_layer *tmp = malloc(sizeof(cm_layer) * (CM_MAX_LAYERS + 1));
    cm_status st = L && tmp ? model_layout(L, im->layers, im->n, im->input, 0, im->align)
                            : cm_fail(CM_ERR_MEMORY, "out of host memory");
    if (st != CM_OK && L && tmp && im->n < CM_MAX_LAYERS) {
        memcpy(tmp, im->layers, sizeof(cm_layer) * (size_t)im->n);
        tmp[im->n] = layer_default(CM_LAYER_FLATTEN);
        st = model_layout(L, tmp, im->n + 1, im->input, 0, im->align);
    }
    if (st == CM_OK) im->shape = L->layers[im->n - 1].out_shape;
    free(L);
    free(tmp);
    if (st != CM_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", cm_last_error());
        return import_node_fail(im, n, "does not fit the layers before it: %s", why);
    }
    return CM_OK;
}

/* ---- the operations -------------------------------------------------------------------------- */

static cm_status conv(onnx_import *im, const Onnx__NodeProto *n) {
    CM_TRY(known_attrs(im, n, "auto_pad dilations group kernel_shape pads strides"));
    int64_t group, dil, stride, pad, k;
    int valid;
    CM_TRY(attr_int(im, n, "group", 1, &group));
    if (group != 1)
        return import_node_fail(im, n, "grouped convolution (group %lld) is not supported", (long long)group);
    CM_TRY(attr_square(im, n, "dilations", 2, 1, "dilation", &dil));
    if (dil != 1)
        return import_node_fail(im, n, "dilated convolution (dilations %lld) is not supported", (long long)dil);
    CM_TRY(attr_square(im, n, "strides", 2, 1, "a different stride per axis", &stride));
    CM_TRY(attr_square(im, n, "pads", 4, 0, "asymmetric padding", &pad));
    CM_TRY(auto_pad(im, n, &valid));
    onnx_src w, b;
    CM_TRY(const_input(im, n, 1, 1, &w));
    CM_TRY(const_input(im, n, 2, 0, &b));
    if (w.rank != 4 || w.dims[2] != w.dims[3])
        return import_node_fail(im, n, "weight must be (out, in, k, k): a square kernel");
    CM_TRY(attr_square(im, n, "kernel_shape", 2, w.dims[2], "a non-square kernel", &k));
    if (k != w.dims[2]) return import_node_fail(im, n, "kernel_shape %lld differs from its weight's", (long long)k);
    if ((valid && pad) || stride < 1 || stride > 4096 || pad < 0 || pad > 4096 || k > 4096 || w.dims[0] > 65536)
        return import_node_fail(im, n, "stride, padding or kernel size out of range");
    cm_layer l = layer_default(CM_LAYER_CONV2D);
    l.out = (int)w.dims[0], l.kernel = (int)k, l.stride = (int)stride, l.pad = (int)pad, l.no_bias = !b.data;
    CM_TRY(add_layer(im, n, l));
    im->src[im->n - 1].weight = w, im->src[im->n - 1].bias = b;
    return CM_OK;
}

static cm_status maxpool(onnx_import *im, const Onnx__NodeProto *n) {
    CM_TRY(known_attrs(im, n, "auto_pad ceil_mode dilations kernel_shape pads storage_order strides"));
    int64_t ceil, dil, stride, pad, k;
    int valid;
    CM_TRY(attr_int(im, n, "ceil_mode", 0, &ceil));
    if (ceil) return import_node_fail(im, n, "ceil_mode 1 is not supported");
    CM_TRY(attr_square(im, n, "dilations", 2, 1, "dilation", &dil));
    if (dil != 1) return import_node_fail(im, n, "dilated pooling is not supported");
    CM_TRY(attr_square(im, n, "kernel_shape", 2, 0, "a non-square window", &k));
    CM_TRY(attr_square(im, n, "strides", 2, 1, "a different stride per axis", &stride));
    CM_TRY(attr_square(im, n, "pads", 4, 0, "asymmetric padding", &pad));
    CM_TRY(auto_pad(im, n, &valid));
    if (pad) return import_node_fail(im, n, "padded max pooling is not supported");
    if (k < 1 || k > 4096 || stride < 1 || stride > 4096)
        return import_node_fail(im, n, "kernel_shape or strides missing or out of range");
    cm_layer l = layer_default(CM_LAYER_MAXPOOL2D);
    l.kernel = (int)k, l.stride = (int)stride;
    return add_layer(im, n, l);
}

/* ONNX's momentum weighs the running value, PyTorch's the new one: 1 - m, to the digits given. */
static float torch_momentum(float m) {
    char text[32];
    snprintf(text, sizeof text, "%.6g", 1.0 - (double)m);
    return (float)strtod(text, NULL);
}

static cm_status batchnorm(onnx_import *im, const Onnx__NodeProto *n) {
    CM_TRY(known_attrs(im, n, "epsilon momentum spatial training_mode"));
    int64_t training, spatial;
    float eps, momentum;
    CM_TRY(attr_int(im, n, "training_mode", 0, &training));
    CM_TRY(attr_int(im, n, "spatial", 1, &spatial));
    if (training || spatial != 1) return import_node_fail(im, n, "training_mode or spatial=0 is not supported");
    CM_TRY(attr_float(im, n, "epsilon", 1e-5f, &eps));
    CM_TRY(attr_float(im, n, "momentum", 0.9f, &momentum));
    if (!(eps > 0.0f) || !(momentum >= 0.0f && momentum <= 1.0f))
        return import_node_fail(im, n, "epsilon or momentum out of range");
    onnx_layer_src s;
    CM_TRY(const_input(im, n, 1, 1, &s.weight));
    CM_TRY(const_input(im, n, 2, 1, &s.bias));
    CM_TRY(const_input(im, n, 3, 1, &s.mean));
    CM_TRY(const_input(im, n, 4, 1, &s.var));
    cm_layer l = layer_default(im->n && im->shape.flat ? CM_LAYER_BATCHNORM1D : CM_LAYER_BATCHNORM2D);
    l.eps = eps, l.momentum = torch_momentum(momentum);
    CM_TRY(add_layer(im, n, l));
    im->src[im->n - 1] = s;
    return CM_OK;
}

/* Gemm(x, W, b) with alpha = beta = 1, transA = 0: Linear; W (out, in) with transB, else (in, out). */
static cm_status gemm(onnx_import *im, const Onnx__NodeProto *n) {
    CM_TRY(known_attrs(im, n, "alpha beta transA transB"));
    int64_t ta, tb;
    float alpha, beta;
    CM_TRY(attr_int(im, n, "transA", 0, &ta));
    CM_TRY(attr_int(im, n, "transB", 0, &tb));
    CM_TRY(attr_float(im, n, "alpha", 1.0f, &alpha));
    CM_TRY(attr_float(im, n, "beta", 1.0f, &beta));
    if (ta || alpha != 1.0f || beta != 1.0f) return import_node_fail(im, n, "transA, alpha or beta other than 0, 1, 1");
    onnx_src w, b;
    CM_TRY(const_input(im, n, 1, 1, &w));
    CM_TRY(const_input(im, n, 2, 0, &b));
    if (w.rank != 2) return import_node_fail(im, n, "weight must be a matrix");
    w.transpose = !tb;
    int64_t out = tb ? w.dims[0] : w.dims[1];
    if (b.data && b.numel != (size_t)out) return import_node_fail(im, n, "bias must have %lld values", (long long)out);
    cm_layer l = layer_default(CM_LAYER_LINEAR);
    l.out = (int)out;
    CM_TRY(add_layer(im, n, l));
    im->src[im->n - 1].weight = w, im->src[im->n - 1].bias = b;
    return CM_OK;
}

static cm_status matmul(onnx_import *im, const Onnx__NodeProto *n) {
    CM_TRY(known_attrs(im, n, ""));
    onnx_src w;
    CM_TRY(const_input(im, n, 1, 1, &w));
    if (w.rank != 2) return import_node_fail(im, n, "weight must be a matrix");
    w.transpose = 1;
    cm_layer l = layer_default(CM_LAYER_LINEAR);
    l.out = (int)w.dims[1];
    CM_TRY(add_layer(im, n, l));
    im->src[im->n - 1].weight = w;
    im->pending_matmul = im->n - 1;
    return CM_OK;
}

/* Flatten (axis 1), or Reshape to (N, -1) / (N, features): a Flatten layer, none on flat input. */
/* GlobalAveragePool: clmnist's gap layer, (N, C, H, W) -> (N, C, 1, 1). */
static cm_status global_pool(onnx_import *im, const Onnx__NodeProto *n) {
    CM_TRY(known_attrs(im, n, ""));
    if (im->n && im->shape.flat) return import_node_fail(im, n, "its input is flat; it pools (N, C, H, W) images");
    return add_layer(im, n, layer_default(CM_LAYER_GAP));
}

static cm_status flatten(onnx_import *im, const Onnx__NodeProto *n, int reshape) {
    if (reshape) {
        CM_TRY(known_attrs(im, n, "allowzero"));
        int64_t shape[8], az;
        int count = 0;
        CM_TRY(attr_int(im, n, "allowzero", 0, &az));
        const Onnx__TensorProto *t = n->n_input > 1 ? import_const(im, onnx_str(n->input[1])) : NULL;
        if (!t) return import_node_fail(im, n, "its shape must be a constant");
        char what[256];
        snprintf(what, sizeof what, "%s: node '%s' (Reshape): shape", im->path, onnx_str(n->name));
        CM_TRY(onnx_int64_tensor(t, what, shape, &count));
        size_t features = shape_numel(im->n ? im->shape : im->input);
        if (az || count != 2 || !(shape[0] == 0 || shape[0] == -1) ||
            !(shape[1] == -1 || (shape[1] > 0 && (size_t)shape[1] == features)))
            return import_node_fail(im, n, "only a reshape to (N, -1) is supported (a Flatten)");
    } else {
        CM_TRY(known_attrs(im, n, "axis"));
        int64_t axis;
        CM_TRY(attr_int(im, n, "axis", 1, &axis));
        if (axis != 1) return import_node_fail(im, n, "axis %lld: only axis 1 is supported", (long long)axis);
    }
    if (im->n && im->shape.flat) return CM_OK;
    return add_layer(im, n, layer_default(CM_LAYER_FLATTEN));
}

/* A constant of 1 or C values (shape (C), (C, 1, 1) or (1, C, 1, 1)) for channel c, or NAN. */
static double channel_value(const onnx_src *s, int c, int channels) {
    if (s->numel == 1) {
        float v;
        memcpy(&v, s->data, sizeof v);
        return v;
    }
    if ((int)s->numel != channels || s->dims[s->rank - 1] != 1 + (s->rank == 1) * (channels - 1)) return NAN;
    float v;
    memcpy(&v, s->data + sizeof(float) * (size_t)c, sizeof v);
    return v;
}

/* Mul, Add, Sub or Div by a constant before the first layer (the input normalisation), or the
 * Add of a MatMul's bias. */
static cm_status arithmetic(onnx_import *im, const Onnx__NodeProto *n, const char *op) {
    CM_TRY(known_attrs(im, n, ""));
    int first = n->n_input == 2 && import_const(im, onnx_str(n->input[0])) != NULL;
    if (n->n_input != 2 || (first && (!strcmp(op, "Sub") || !strcmp(op, "Div"))))
        return import_node_fail(im, n, "must compute x %s constant", op);
    onnx_src c;
    CM_TRY(const_input(im, n, first ? 0 : 1, 1, &c));
    if (!strcmp(op, "Add") && im->pending_matmul >= 0) {
        const cm_layer *l = &im->layers[im->pending_matmul];
        if ((int)c.numel != l->out) return import_node_fail(im, n, "bias must have %d values", l->out);
        im->src[im->pending_matmul].bias = c;
        im->pending_matmul = -1;
        return CM_OK;
    }
    if (im->n) return import_node_fail(im, n, "%s between layers is not supported", op);
    for (int ch = 0; ch < im->input.c; ch++) {
        double v = channel_value(&c, ch, im->input.c);
        if (!isfinite(v) || (!strcmp(op, "Div") && v == 0.0))
            return import_node_fail(im, n, "needs 1 or %d finite values (one per channel)", im->input.c);
        if (!strcmp(op, "Mul")) im->scale[ch] *= v, im->shift[ch] *= v;
        if (!strcmp(op, "Div")) im->scale[ch] /= v, im->shift[ch] /= v;
        if (!strcmp(op, "Add")) im->shift[ch] += v;
        if (!strcmp(op, "Sub")) im->shift[ch] -= v;
    }
    return CM_OK;
}

static cm_status passthrough(onnx_import *im, const Onnx__NodeProto *n, const char *op) {
    if (!strcmp(op, "Relu")) {
        CM_TRY(known_attrs(im, n, ""));
        return add_layer(im, n, layer_default(CM_LAYER_RELU));
    }
    if (!strcmp(op, "Dropout")) { /* inference: the identity; its ratio and training_mode inputs are ignored */
        CM_TRY(known_attrs(im, n, "ratio seed is_test"));
        for (size_t k = 1; k < n->n_input; k++)
            if (*onnx_str(n->input[k]) && !import_const(im, onnx_str(n->input[k])))
                return import_node_fail(im, n, "input '%s' must be a constant", onnx_str(n->input[k]));
        return CM_OK;
    }
    return known_attrs(im, n, ""); /* Identity */
}

static cm_status softmax(onnx_import *im, const Onnx__NodeProto *n) {
    CM_TRY(known_attrs(im, n, "axis"));
    int64_t axis;
    CM_TRY(attr_int(im, n, "axis", -1, &axis));
    if (!im->n || !im->shape.flat || !(axis == 1 || axis == -1))
        return import_node_fail(im, n, "only a Softmax over the classes at the end is supported");
    im->logits = im->cur;
    im->softmax = onnx_str(n->output[0]);
    return CM_OK;
}

cm_status import_node(onnx_import *im, const Onnx__NodeProto *n) {
    const char *op = onnx_str(n->op_type), *dom = onnx_str(n->domain);
    if (*dom && strcmp(dom, "ai.onnx") != 0) return import_node_fail(im, n, "domain '%s' is not supported", dom);
    if (im->softmax) return import_node_fail(im, n, "comes after the final Softmax");
    if (n->n_input < 1 || n->n_output < 1 || strcmp(onnx_str(n->input[0]), im->cur) != 0)
        return import_node_fail(im, n,
                                "does not read '%s', the output of the node before it: clmnist reads one "
                                "chain of layers",
                                im->cur);
    if (strcmp(op, "Add") != 0) im->pending_matmul = -1;
    cm_status st;
    if (!strcmp(op, "Conv"))
        st = conv(im, n);
    else if (!strcmp(op, "MaxPool"))
        st = maxpool(im, n);
    else if (!strcmp(op, "BatchNormalization"))
        st = batchnorm(im, n);
    else if (!strcmp(op, "Gemm"))
        st = gemm(im, n);
    else if (!strcmp(op, "MatMul"))
        st = matmul(im, n);
    else if (!strcmp(op, "Flatten") || !strcmp(op, "Reshape"))
        st = flatten(im, n, !strcmp(op, "Reshape"));
    else if (!strcmp(op, "Mul") || !strcmp(op, "Add") || !strcmp(op, "Sub") || !strcmp(op, "Div"))
        st = arithmetic(im, n, op);
    else if (!strcmp(op, "Relu") || !strcmp(op, "Dropout") || !strcmp(op, "Identity"))
        st = passthrough(im, n, op);
    else if (!strcmp(op, "Softmax"))
        st = softmax(im, n);
    else if (!strcmp(op, "GlobalAveragePool"))
        st = global_pool(im, n);
    else
        st = import_node_fail(im, n,
                              "operation %s is not supported (clmnist reads Conv, BatchNormalization, MaxPool, "
                              "Relu, Flatten, Reshape, Gemm, MatMul, Add, Dropout, Identity, GlobalAveragePool, Softmax)",
                              op);
    CM_TRY(st);
    im->cur = onnx_str(n->output[0]);
    return CM_OK;
}
