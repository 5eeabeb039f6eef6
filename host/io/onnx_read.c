/* onnx_read.c: an ONNX file into a cm_model_file (onnx_model.h): limits first (file size, message
 * nesting, memory protobuf-c may take), then the graph's frame (opset, input, constants, one chain
 * without branches, outputs), then each node (onnx_layers.c), the layout, the tensors and the
 * metadata. Every failure is one line naming the file and, where there is one, the node. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_import.h"
#include "onnx_model.h"
#include "pipeline.h"

#define MAX_DEPTH 24

int onnx_is_onnx(const char *path, const uint8_t *buf, size_t len) {
    size_t n = strlen(path);
    if (n > 5 && !strcmp(path + n - 5, ".onnx")) return 1;
    if (len >= 9 && buf[8] == '{') return 0; /* a safetensors JSON header */
    return len >= 2 && buf[0] == 0x08;       /* ModelProto's ir_version, field 1, comes first */
}

/* ---- limits ---------------------------------------------------------------------------------- */

/* protobuf-c's allocations, counted against a budget (each block remembers its size). */
typedef struct {
    size_t used, budget;
} budget_alloc;

static void *b_alloc(void *data, size_t size) {
    budget_alloc *b = data;
    if (size > b->budget - b->used || size > SIZE_MAX - 16) return NULL;
    size_t *p = malloc(size + 16);
    if (!p) return NULL;
    p[0] = size;
    b->used += size;
    return (uint8_t *)p + 16;
}

static void b_free(void *data, void *ptr) {
    if (!ptr) return;
    size_t *p = (size_t *)((uint8_t *)ptr - 16);
    ((budget_alloc *)data)->used -= p[0];
    free(p);
}

static int varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
    *v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t c = *(*p)++;
        *v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) return 1;
    }
    return 0;
}

/* Nesting of messages no deeper than MAX_DEPTH (protobuf-c unpacks them recursively): the wire
 * format walked with the generated descriptors; everything else is left to protobuf-c. */
static int depth_ok(const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end, int depth) {
    if (depth > MAX_DEPTH) return 0;
    while (p < end) {
        uint64_t key, len;
        if (!varint(&p, end, &key)) return 0;
        switch (key & 7) {
        case 0:
            if (!varint(&p, end, &len)) return 0;
            break;
        case 1: p += 8; break;
        case 5: p += 4; break;
        case 2: {
            if (!varint(&p, end, &len) || len > (uint64_t)(end - p)) return 0;
            const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3));
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && !depth_ok(f->descriptor, p, p + len, depth + 1)) return 0;
            p += len;
            break;
        }
        default: return 0;
        }
    }
    return p == end;
}

/* ---- the import's helpers (onnx_import.h) ---------------------------------------------------- */

const Onnx__TensorProto *import_const(const onnx_import *im, const char *name) {
    for (int i = im->nconst - 1; i >= 0; i--)
        if (!strcmp(im->const_name[i], name)) return im->const_value[i];
    return NULL;
}

cm_status import_node_fail(const onnx_import *im, const Onnx__NodeProto *n, const char *fmt, ...) {
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return cm_fail(CM_ERR_FORMAT, "%s: node '%s' (%s): %s", im->path, onnx_str(n->name), onnx_str(n->op_type), why);
}

/* ---- the graph's frame ----------------------------------------------------------------------- */

static cm_status check_opset(const char *path, const Onnx__ModelProto *m) {
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        const char *d = onnx_str(o->domain);
        if (*d && strcmp(d, "ai.onnx") != 0) continue;
        if (o->version < CM_ONNX_OPSET_MIN || o->version > CM_ONNX_OPSET_MAX)
            return cm_fail(CM_ERR_FORMAT, "%s: ONNX opset %lld; clmnist reads opsets %d to %d", path,
                           (long long)o->version, CM_ONNX_OPSET_MIN, CM_ONNX_OPSET_MAX);
        return CM_OK;
    }
    return cm_fail(CM_ERR_FORMAT, "%s: no ONNX opset is imported (not an ONNX model?)", path);
}

/* Initializers and Constant nodes (attribute "value") are the graph's constants. */
static cm_status collect_constants(onnx_import *im) {
    const Onnx__GraphProto *g = im->g;
    if (g->n_sparse_initializer) return cm_fail(CM_ERR_FORMAT, "%s: sparse initializers are not supported", im->path);
    for (size_t i = 0; i < g->n_initializer + g->n_node; i++) {
        const Onnx__TensorProto *t = NULL;
        const char *name;
        if (i < g->n_initializer) {
            t = g->initializer[i], name = onnx_str(t->name);
        } else {
            const Onnx__NodeProto *n = g->node[i - g->n_initializer];
            if (strcmp(onnx_str(n->op_type), "Constant") != 0) continue;
            const Onnx__AttributeProto *a = onnx_attr(n, "value");
            if (!a || !a->t || n->n_attribute != 1 || n->n_output != 1)
                return import_node_fail(im, n, "only a Constant with a tensor 'value' is supported");
            t = a->t, name = onnx_str(n->output[0]);
        }
        if (im->nconst == ONNX_MAX_CONSTANTS)
            return cm_fail(CM_ERR_FORMAT, "%s: more than %d constants", im->path, ONNX_MAX_CONSTANTS);
        im->const_name[im->nconst] = name, im->const_value[im->nconst++] = t;
    }
    return CM_OK;
}

/* The first graph input that is not a constant: float (N, C, H, W) with known C, H, W. (Another
 * one is an error where a node reads it: a weight that is not a constant.) */
static cm_status find_input(onnx_import *im) {
    const Onnx__ValueInfoProto *in = NULL;
    for (size_t i = 0; i < im->g->n_input && !in; i++)
        if (!import_const(im, onnx_str(im->g->input[i]->name))) in = im->g->input[i];
    if (!in) return cm_fail(CM_ERR_FORMAT, "%s: the graph has no input", im->path);
    const Onnx__TypeProto *tp = in->type;
    const Onnx__TensorShapeProto *sh =
        tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && tp->tensor_type ? tp->tensor_type->shape : NULL;
    if (!sh || tp->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || sh->n_dim != 4)
        return cm_fail(CM_ERR_FORMAT, "%s: input '%s' must be a float tensor (N, C, H, W)", im->path,
                       onnx_str(in->name));
    int64_t d[3];
    for (int i = 0; i < 3; i++) {
        const Onnx__TensorShapeProto__Dimension *dim = sh->dim[i + 1];
        d[i] = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ? dim->dim_value : 0;
    }
    if (d[0] < 1 || d[0] > ONNX_MAX_CHANNELS || d[1] < 1 || d[1] > 65536 || d[2] < 1 || d[2] > 65536)
        return cm_fail(CM_ERR_FORMAT, "%s: input '%s' needs a known channel count (1 to %d), height and width",
                       im->path, onnx_str(in->name), ONNX_MAX_CHANNELS);
    im->input = (cm_shape){(int)d[0], (int)d[1], (int)d[2], 0};
    im->cur = onnx_str(in->name);
    for (int c = 0; c < im->input.c; c++)
        im->scale[c] = 1.0, im->shift[c] = 0.0;
    return CM_OK;
}

/* Whether a node other than `self` reads value. */
static int consumed(const Onnx__GraphProto *g, const Onnx__NodeProto *self, const char *value) {
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t k = 0; g->node[i] != self && k < g->node[i]->n_input; k++)
            if (!strcmp(onnx_str(g->node[i]->input[k]), value)) return 1;
    return 0;
}

/* Whether op combines values element by element (or concatenates them). */
static int joins(const char *op) {
    static const char *const ops[] = {"Add", "Sub", "Mul", "Div", "Sum", "Mean", "Max", "Min", "Concat"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!strcmp(op, ops[i])) return 1;
    return 0;
}

/* Before the chain is walked: nodes that join two computed values (a branch), and extra outputs
 * (Dropout's mask, MaxPool's indices) that something reads. */
static cm_status check_chain(const onnx_import *im) {
    const Onnx__GraphProto *g = im->g;
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        int computed = 0;
        const char *names[2] = {"", ""};
        for (size_t k = 0; k < n->n_input; k++)
            if (*onnx_str(n->input[k]) && !import_const(im, onnx_str(n->input[k])))
                names[computed++ ? 1 : 0] = onnx_str(n->input[k]);
        if (computed > 1 && joins(onnx_str(n->op_type)))
            return import_node_fail(im, n,
                                    "joins two computed values ('%s' and '%s'): a branch or skip connection; "
                                    "clmnist reads one chain of layers",
                                    names[0], names[1]);
        for (size_t k = 1; k < n->n_output; k++)
            if (*onnx_str(n->output[k]) && consumed(g, n, onnx_str(n->output[k])))
                return import_node_fail(im, n, "its output '%s' is used; only the first output is supported",
                                        onnx_str(n->output[k]));
    }
    return CM_OK;
}

/* Every graph output is the chain's logits or its final Softmax. */
static cm_status check_outputs(onnx_import *im) {
    if (!im->n) return cm_fail(CM_ERR_FORMAT, "%s: the graph has no layers clmnist reads", im->path);
    if (!im->logits) im->logits = im->cur;
    if (!im->g->n_output) return cm_fail(CM_ERR_FORMAT, "%s: the graph has no output", im->path);
    for (size_t i = 0; i < im->g->n_output; i++) {
        const char *o = onnx_str(im->g->output[i]->name);
        if (strcmp(o, im->logits) != 0 && !(im->softmax && !strcmp(o, im->softmax)))
            return cm_fail(CM_ERR_FORMAT, "%s: graph output '%s' is not the network's last value ('%s')", im->path, o,
                           im->logits);
    }
    for (int c = 0; c < im->input.c; c++)
        if (!(im->scale[c] > 0.0) || !isfinite(im->scale[c]) || !isfinite(im->shift[c]))
            return cm_fail(CM_ERR_FORMAT,
                           "%s: the input normalisation x * %g + %g (channel %d) is not supported: the scale must be "
                           "above 0",
                           im->path, im->scale[c], im->shift[c], c);
    return CM_OK;
}

static cm_status walk(onnx_import *im) {
    if (im->g->n_node > ONNX_MAX_NODES)
        return cm_fail(CM_ERR_FORMAT, "%s: %zu nodes; clmnist reads graphs of up to %d", im->path, im->g->n_node,
                       ONNX_MAX_NODES);
    CM_TRY(collect_constants(im));
    CM_TRY(find_input(im));
    CM_TRY(check_chain(im));
    im->pending_matmul = -1;
    for (size_t i = 0; i < im->g->n_node; i++)
        if (strcmp(onnx_str(im->g->node[i]->op_type), "Constant") != 0) CM_TRY(import_node(im, im->g->node[i]));
    return check_outputs(im);
}

/* ---- tensors and metadata -------------------------------------------------------------------- */

/* The file's data for tensor t: there, with t's size (a Linear's missing bias is zeros). */
static cm_status check_tensor(const onnx_import *im, const cm_tensor *t, const onnx_src *s) {
    const cm_layer *l = &im->layers[t->layer];
    if (!s->data) { /* a Linear without bias (Gemm without C, MatMul without Add): zeros */
        if (l->type == CM_LAYER_LINEAR && !strcmp(t->name, "bias")) return CM_OK;
        return cm_fail(CM_ERR_FORMAT, "%s: layer %d (%s) has no %s", im->path, t->layer, layer_type_name(l->type),
                       t->name);
    }
    if (s->numel != t->numel)
        return cm_fail(CM_ERR_FORMAT, "%s: layer %d (%s): %s has %zu values; the layers before it need %zu", im->path,
                       t->layer, layer_type_name(l->type), t->name, s->numel, t->numel);
    return CM_OK;
}

static void fill_tensor(const cm_tensor *t, const onnx_src *s, float *dst) {
    if (!s->data) return;
    if (!s->transpose) {
        memcpy(dst, s->data, t->numel * sizeof(float));
        return;
    }
    size_t rows = (size_t)t->dims[0], cols = (size_t)t->dims[1]; /* dst (out, in) from (in, out) */
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            memcpy(dst + r * cols + c, s->data + sizeof(float) * (c * rows + r), sizeof(float));
}

static const onnx_src *tensor_src(const onnx_import *im, const cm_tensor *t) {
    const onnx_layer_src *s = &im->src[t->layer];
    return !strcmp(t->name, "weight")         ? &s->weight
           : !strcmp(t->name, "bias")         ? &s->bias
           : !strcmp(t->name, "running_mean") ? &s->mean
                                              : &s->var;
}

/* Every tensor checked against the layout before the parameters are allocated: they are then no
 * larger than the file's weights (plus alignment and zero biases), whatever its shapes claim. */
static cm_status read_tensors(const onnx_import *im, cm_model_file *out) {
    const cm_layout *L = &out->model.layout;
    cm_tensor ts[CM_MAX_TENSORS];
    int nt = model_tensors(L, ts);
    for (int k = 0; k < nt; k++)
        CM_TRY(check_tensor(im, &ts[k], tensor_src(im, &ts[k])));
    out->model.params = calloc(L->total ? L->total : 1, sizeof(float));
    if (!out->model.params) return cm_fail(CM_ERR_MEMORY, "%s: out of memory", im->path);
    for (int k = 0; k < nt; k++)
        fill_tensor(&ts[k], tensor_src(im, &ts[k]), out->model.params + ts[k].offset);
    return CM_OK;
}

/* What clmnist's own files say about the model, and what the ONNX file adds. */
/* The graph's input normalisation x * scale[c] + shift[c] (x = pixel / 255) as the model's
 * per-channel mean and std, x' = (x - mean) / std, in the layout and the metadata. */
static cm_status set_normalisation(const onnx_import *im, cm_meta *meta, cm_layout *L) {
    char ms[160] = "", ss[160] = "";
    size_t nm = 0, ns = 0;
    for (int c = 0; c < L->input.c && c < 4; c++) {
        double sd = 1.0 / im->scale[c], mean = -im->shift[c] / im->scale[c];
        L->in_mean[c] = (float)mean, L->in_std[c] = (float)sd;
        if (fabs(mean) > 1e-7 || fabs(sd - 1.0) > 1e-7) L->normalized = 1;
        nm += (size_t)snprintf(ms + nm, sizeof ms - nm, "%s%.9g", c ? "," : "", mean);
        ns += (size_t)snprintf(ss + ns, sizeof ss - ns, "%s%.9g", c ? "," : "", sd);
    }
    if (!L->normalized) return CM_OK;
    CM_TRY(meta_set(meta, "input_mean", "%s", ms));
    return meta_set(meta, "input_std", "%s", ss);
}

static cm_status set_meta(const onnx_import *im, const Onnx__ModelProto *m, cm_model_file *out) {
    cm_meta *meta = &out->meta;
    cm_layout *L = &out->model.layout;
    if (L->input.c > 4)
        return cm_fail(CM_ERR_FORMAT, "%s: %d input channels; clmnist's input pipeline takes 1 to 4", im->path,
                       L->input.c);
    char arch[CM_ARCH_TEXT];
    model_describe(L, arch, sizeof arch);
    for (size_t i = 0; i < m->n_metadata_props; i++) {
        const char *k = onnx_str(m->metadata_props[i]->key), *v = onnx_str(m->metadata_props[i]->value);
        const char *as = !strcmp(k, "pipeline")          ? "pipeline"
                         : !strcmp(k, "class_names")     ? "class_names"
                         : !strcmp(k, "dataset")         ? "dataset"
                         : !strcmp(k, "clmnist.version") ? "onnx.clmnist_version"
                                                         : NULL;
        if (as && meta_set(meta, as, "%s", v) != CM_OK)
            return cm_fail(CM_ERR_FORMAT, "%s: metadata_props '%s': %s", im->path, k, cm_last_error());
    }
    CM_TRY(meta_set(meta, "clmnist.format_version", "%s", CM_MODEL_FORMAT_VERSION));
    CM_TRY(meta_set(meta, "architecture", "sequential"));
    CM_TRY(meta_set(meta, "layers", "%s", arch));
    CM_TRY(meta_set(meta, "input_shape", "%dx%dx%d", L->input.c, L->input.h, L->input.w));
    CM_TRY(meta_set(meta, "classes", "%d", L->classes));
    CM_TRY(meta_set(meta, "onnx.source", "%s", im->path));
    CM_TRY(meta_set(meta, "onnx.producer", "%.200s %.100s", onnx_str(m->producer_name), onnx_str(m->producer_version)));
    if (!meta_get(meta, "pipeline") && !meta_get(meta, "input_preprocess"))
        CM_TRY(meta_set(meta, "input_preprocess", "mnist")); /* images as MNIST's: white ink on black */
    if (!meta_get(meta, "pipeline")) CM_TRY(set_normalisation(im, meta, L)); /* else the pipeline's, checked */
    cm_pipeline p;                                           /* a forged pipeline is an error now, not later */
    CM_TRY(pipeline_from_meta(meta, im->path, L, &p));
    for (int c = 0; c < L->input.c; c++) {
        /* the graph's normalisation is the pipeline's: x * 255 scale / std - mean / std */
        double a = 255.0 * p.scale / p.std[c], b = -p.mean[c] / p.std[c];
        if (fabs(im->scale[c] - a) > 1e-6 * fabs(a) || fabs(im->shift[c] - b) > 1e-6 * (1.0 + fabs(b)))
            return cm_fail(CM_ERR_FORMAT,
                           "%s: metadata 'pipeline' says the input is normalised as x * %g + %g, the graph as x * %g "
                           "+ %g",
                           im->path, a, b, im->scale[c], im->shift[c]);
    }
    if (meta_get(meta, "pipeline")) CM_TRY(set_normalisation(im, meta, L));
    return CM_OK;
}

static cm_status convert(onnx_import *im, const Onnx__ModelProto *m, cm_model_file *out) {
    CM_TRY(check_opset(im->path, m));
    if (!m->graph) return cm_fail(CM_ERR_FORMAT, "%s: no graph (not an ONNX model?)", im->path);
    im->g = m->graph;
    CM_TRY(walk(im));
    if (model_layout(&out->model.layout, im->layers, im->n, im->input, 0, im->align) != CM_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", cm_last_error());
        return cm_fail(CM_ERR_FORMAT, "%s: its layers do not fit together: %s", im->path, why);
    }
    CM_TRY(read_tensors(im, out));
    return set_meta(im, m, out);
}

cm_status onnx_model_parse(const uint8_t *buf, size_t len, const char *path, size_t align_bytes, cm_model_file *out) {
    memset(out, 0, sizeof *out);
    if (len > CM_ONNX_MAX_FILE)
        return cm_fail(CM_ERR_FORMAT, "%s: %zu bytes; clmnist reads ONNX files of up to %zu", path, len,
                       CM_ONNX_MAX_FILE);
    if (!depth_ok(&onnx__model_proto__descriptor, buf, buf + len, 0))
        return cm_fail(CM_ERR_FORMAT, "%s: not a valid ONNX protobuf (truncated, or nested too deeply)", path);
    budget_alloc budget = {0, 2 * len + ((size_t)256 << 20)};
    ProtobufCAllocator alloc = {b_alloc, b_free, &budget};
    Onnx__ModelProto *m = onnx__model_proto__unpack(&alloc, len, buf);
    if (!m) return cm_fail(CM_ERR_FORMAT, "%s: not a valid ONNX protobuf (truncated or forged)", path);
    onnx_import *im = calloc(1, sizeof *im);
    cm_status st = im ? CM_OK : cm_fail(CM_ERR_MEMORY, "out of host memory");
    if (im) {
        im->path = path, im->align = align_bytes;
        st = convert(im, m, out);
    }
    free(im);
    onnx__model_proto__free_unpacked(m, &alloc);
    if (st != CM_OK) model_file_free(out);
    return st;
}
