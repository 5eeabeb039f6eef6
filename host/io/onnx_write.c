/* onnx_write.c: a model as an ONNX file (onnx_model.h): the normalisation, one node per layer,
 * logits and Softmax probabilities, metadata_props; packed by protobuf-c, written atomically. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "clmnist_version.h"
#include "modules.h"
#include "onnx_graph.h"
#include "onnx_model.h"
#include "pipeline.h"

#define NAME 96

typedef struct {
    onnx_builder b;
    const cm_model_file *f;
    cm_tensor tensors[CM_MAX_TENSORS];
    int nt;
    char cur[NAME]; /* the value the next node reads */
} exporter;

/* Initializer layers.{i}.{name} from the model's parameters; its name into out. */
static void add_tensor(exporter *e, int layer, const char *name, char out[NAME]) {
    snprintf(out, NAME, "layers.%d.%s", layer, name);
    for (int k = 0; k < e->nt; k++) {
        const cm_tensor *t = &e->tensors[k];
        if (t->layer != layer || strcmp(t->name, name) != 0) continue;
        int64_t dims[4];
        for (int d = 0; d < t->rank; d++)
            dims[d] = t->dims[d];
        builder_init_floats(&e->b, out, dims, t->rank, e->f->model.params + t->offset);
        return;
    }
    e->b.arena.failed = 1; /* the layout has no such tensor: cannot happen for a laid-out model */
}

/* Mul (255 scale), Sub (mean), Div (std) by (1, C, 1, 1) constants: x = (pixel * scale - mean) / std
 * for pixel = 255 * input, as clmnist computes it. */
static void add_normalisation(exporter *e, const cm_pipeline *p, int channels) {
    static const char *const ops[] = {"Mul", "Sub", "Div"};
    static const char *const names[] = {"input.scale", "input.mean", "input.std"};
    int64_t dims[4] = {1, channels, 1, 1};
    float v[4];
    snprintf(e->cur, NAME, "input");
    for (int k = 0; k < 3; k++) {
        for (int c = 0; c < channels && c < 4; c++)
            v[c] = (float)(k == 0 ? 255.0 * p->scale : k == 1 ? p->mean[c] : p->std[c]);
        builder_init_floats(&e->b, names[k], dims, 4, v);
        char out[NAME];
        snprintf(out, NAME, "%s.out", names[k]);
        const char *in[] = {e->cur, names[k]};
        builder_node(&e->b, ops[k], names[k], in, 2, out);
        snprintf(e->cur, NAME, "%s", out);
    }
}

static void square_attrs(exporter *e, Onnx__NodeProto *n, const cm_layer *l, int pads) {
    int64_t k[2] = {l->kernel, l->kernel}, s[2] = {l->stride, l->stride}, p[4] = {l->pad, l->pad, l->pad, l->pad};
    builder_attr_ints(&e->b, n, "kernel_shape", k, 2);
    builder_attr_ints(&e->b, n, "strides", s, 2);
    if (pads) builder_attr_ints(&e->b, n, "pads", p, 4);
}

/* One layer's node, reading e->cur and writing out. Dropout has none (inference). */
static cm_status add_layer(exporter *e, int i, const char *out) {
    const cm_layer *l = &e->f->model.layout.layers[i];
    char node[NAME], w[NAME], bias[NAME], mean[NAME], var[NAME];
    snprintf(node, NAME, "layers.%d", i);
    Onnx__NodeProto *n = NULL;
    switch (l->type) {
    case CM_LAYER_LINEAR: {
        add_tensor(e, i, "weight", w);
        add_tensor(e, i, "bias", bias);
        const char *in[] = {e->cur, w, bias};
        n = builder_node(&e->b, "Gemm", node, in, 3, out);
        builder_attr_int(&e->b, n, "transB", 1);
        break;
    }
    case CM_LAYER_CONV2D: {
        add_tensor(e, i, "weight", w);
        if (!l->no_bias) add_tensor(e, i, "bias", bias);
        const char *in[] = {e->cur, w, bias};
        n = builder_node(&e->b, "Conv", node, in, l->no_bias ? 2 : 3, out);
        square_attrs(e, n, l, 1);
        break;
    }
    case CM_LAYER_MAXPOOL2D: {
        const char *in[] = {e->cur};
        n = builder_node(&e->b, "MaxPool", node, in, 1, out);
        square_attrs(e, n, l, 0);
        break;
    }
    case CM_LAYER_BATCHNORM1D:
    case CM_LAYER_BATCHNORM2D: {
        add_tensor(e, i, "weight", w);
        add_tensor(e, i, "bias", bias);
        add_tensor(e, i, "running_mean", mean);
        add_tensor(e, i, "running_var", var);
        const char *in[] = {e->cur, w, bias, mean, var};
        n = builder_node(&e->b, "BatchNormalization", node, in, 5, out);
        builder_attr_float(&e->b, n, "epsilon", l->eps);
        builder_attr_float(&e->b, n, "momentum", 1.0f - l->momentum); /* ONNX weighs the running value */
        break;
    }
    case CM_LAYER_RELU: {
        const char *in[] = {e->cur};
        builder_node(&e->b, "Relu", node, in, 1, out);
        break;
    }
    case CM_LAYER_FLATTEN: {
        const char *in[] = {e->cur};
        n = builder_node(&e->b, "Flatten", node, in, 1, out);
        builder_attr_int(&e->b, n, "axis", 1);
        break;
    }
    case CM_LAYER_DROPOUT: return CM_OK;
    case CM_LAYER_GAP: { /* (N, C, H, W) -> (N, C, 1, 1); the Flatten after it is a layer of its own */
        const char *in[] = {e->cur};
        builder_node(&e->b, "GlobalAveragePool", node, in, 1, out);
        break;
    }
    default:
        return cm_fail(CM_ERR_USAGE, "layer %d (%s) has no ONNX export in this build", i, layer_type_name(l->type));
    }
    snprintf(e->cur, NAME, "%s", out);
    return CM_OK;
}

static void add_prop(onnx_arena *a, Onnx__ModelProto *m, const char *key, const char *value) {
    Onnx__StringStringEntryProto *p = arena_calloc(a, 1, sizeof *p);
    if (!p || !value) return;
    onnx__string_string_entry_proto__init(p);
    p->key = arena_printf(a, "%s", key);
    p->value = arena_printf(a, "%s", value);
    m->metadata_props[m->n_metadata_props++] = p;
}

/* class_names (when the model has them), pipeline, clmnist.version, the layers, the input contract. */
static void add_props(exporter *e, Onnx__ModelProto *m, const cm_pipeline *p) {
    onnx_arena *a = &e->b.arena;
    const cm_layout *L = &e->f->model.layout;
    m->metadata_props = arena_calloc(a, 8, sizeof *m->metadata_props); /* the 7 below */
    if (!m->metadata_props) return;
    const char *names = meta_get(&e->f->meta, "class_names");
    if (names) add_prop(a, m, "class_names", names);
    const char *dataset = meta_get(&e->f->meta, "dataset");
    if (dataset) add_prop(a, m, "dataset", dataset);
    char *json = pipeline_to_json(p), *modules = modules_to_json(L), arch[CM_ARCH_TEXT];
    add_prop(a, m, "pipeline", json);
    add_prop(a, m, "clmnist.version", CLMNIST_VERSION);
    model_describe(L, arch, sizeof arch);
    add_prop(a, m, "clmnist.layers", arch);
    add_prop(a, m, "clmnist.modules", modules);
    add_prop(a, m, "clmnist.input",
             "input: (N, C, H, W) float32, pixel / 255 in [0, 1] (white ink on black for MNIST-like models); "
             "the graph computes (input * 255 * scale - mean) / std from the pipeline");
    if (!json || !modules) a->failed = 1;
    free(json), free(modules);
}

static cm_status build(exporter *e, const cm_pipeline *p, Onnx__ModelProto *m) {
    const cm_layout *L = &e->f->model.layout;
    int last = L->nlayers - 1;
    while (last > 0 && L->layers[last].type == CM_LAYER_DROPOUT)
        last--;
    add_normalisation(e, p, L->input.c);
    for (int i = 0; i < L->nlayers; i++) {
        char out[NAME];
        snprintf(out, NAME, i == last ? "logits" : "layers.%d.out", i);
        CM_TRY(add_layer(e, i, out));
    }
    const char *in[] = {"logits"};
    Onnx__NodeProto *sm = builder_node(&e->b, "Softmax", "probabilities", in, 1, "probabilities");
    builder_attr_int(&e->b, sm, "axis", 1);
    onnx_arena *a = &e->b.arena;
    Onnx__GraphProto *g = e->b.g;
    int64_t din[4] = {-1, L->input.c, L->input.h, L->input.w}, dout[2] = {-1, L->classes};
    g->name = arena_printf(a, "clmnist");
    g->input = arena_calloc(a, 1, sizeof *g->input);
    g->output = arena_calloc(a, 2, sizeof *g->output);
    if (g->input && g->output) {
        g->input[0] = builder_value(&e->b, "input", din, 4), g->n_input = 1;
        g->output[0] = builder_value(&e->b, "logits", dout, 2);
        g->output[1] = builder_value(&e->b, "probabilities", dout, 2), g->n_output = 2;
    }
    Onnx__OperatorSetIdProto *op = arena_calloc(a, 1, sizeof *op);
    m->opset_import = arena_calloc(a, 1, sizeof *m->opset_import);
    if (op && m->opset_import) {
        onnx__operator_set_id_proto__init(op);
        op->domain = arena_printf(a, "%s", "");
        op->has_version = 1, op->version = CM_ONNX_OPSET;
        m->opset_import[0] = op, m->n_opset_import = 1;
    }
    m->has_ir_version = 1, m->ir_version = 7; /* the IR version of opset 13 */
    m->producer_name = arena_printf(a, "clmnist");
    m->producer_version = arena_printf(a, "%s", CLMNIST_VERSION);
    m->graph = g;
    add_props(e, m, p);
    return a->failed ? cm_fail(CM_ERR_MEMORY, "out of host memory building the ONNX graph") : CM_OK;
}

static cm_status write_file(const char *path, const Onnx__ModelProto *m) {
    size_t n = onnx__model_proto__get_packed_size(m);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) return cm_fail(CM_ERR_MEMORY, "%s: out of memory packing %zu bytes", path, n);
    onnx__model_proto__pack(m, buf);
    cm_atomic_file af;
    cm_status st = atomic_file_open(path, &af);
    if (st == CM_OK) {
        int ok = fwrite(buf, 1, n, af.f) == n;
        st = ok ? atomic_file_commit(&af) : atomic_file_abort(&af, errno);
    }
    free(buf);
    return st;
}

int onnx_available(void) {
    return 1;
}

cm_status onnx_export(const char *path, const char *source, const cm_model_file *f) {
    const cm_layout *L = &f->model.layout;
    cm_pipeline p;
    CM_TRY(pipeline_from_meta(&f->meta, source, L, &p));
    if (L->input.c > CM_MAX_TENSORS) return cm_fail(CM_ERR_USAGE, "%s: %d input channels", source, L->input.c);
    exporter *e = calloc(1, sizeof *e);
    if (!e) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    e->f = f;
    e->nt = model_tensors(L, e->tensors);
    cm_status st = builder_init(&e->b, (size_t)L->nlayers + 8, (size_t)e->nt + 4);
    if (st != CM_OK) {
        free(e);
        return st;
    }
    Onnx__ModelProto m;
    onnx__model_proto__init(&m);
    st = build(e, &p, &m);
    if (st == CM_OK) st = write_file(path, &m);
    arena_free(&e->b.arena);
    free(e);
    return st;
}
