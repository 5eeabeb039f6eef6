/* onnx_graph.c: building and reading the protobuf-c structures of onnx.proto (onnx_graph.h). */
#include "onnx_graph.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODE_MAX_ATTRS 8
#define NODE_MAX_INPUTS 6

/* ---- the arena ------------------------------------------------------------------------------- */

void *arena_calloc(onnx_arena *a, size_t count, size_t size) {
    if (a->failed) return NULL;
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 256;
        void **blocks = realloc(a->blocks, cap * sizeof *blocks);
        if (!blocks) {
            a->failed = 1;
            return NULL;
        }
        a->blocks = blocks, a->cap = cap;
    }
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) {
        a->failed = 1;
        return NULL;
    }
    a->blocks[a->n++] = p;
    return p;
}

char *arena_printf(onnx_arena *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? arena_calloc(a, (size_t)n + 1, 1) : NULL;
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

void arena_free(onnx_arena *a) {
    for (size_t i = 0; i < a->n; i++)
        free(a->blocks[i]);
    free(a->blocks);
    *a = (onnx_arena){0};
}

/* ---- building -------------------------------------------------------------------------------- */

cm_status builder_init(onnx_builder *b, size_t max_nodes, size_t max_inits) {
    *b = (onnx_builder){.max_nodes = max_nodes, .max_inits = max_inits};
    b->g = arena_calloc(&b->arena, 1, sizeof *b->g);
    if (b->g) {
        onnx__graph_proto__init(b->g);
        b->g->node = arena_calloc(&b->arena, max_nodes, sizeof(Onnx__NodeProto *));
        b->g->initializer = arena_calloc(&b->arena, max_inits, sizeof(Onnx__TensorProto *));
    }
    if (b->arena.failed) {
        arena_free(&b->arena);
        return cm_fail(CM_ERR_MEMORY, "out of host memory building an ONNX graph");
    }
    return CM_OK;
}

Onnx__NodeProto *builder_node(onnx_builder *b, const char *op, const char *name, const char *const *inputs, int nin,
                              const char *output) {
    onnx_arena *a = &b->arena;
    if (b->g->n_node == b->max_nodes || nin > NODE_MAX_INPUTS) {
        a->failed = 1;
        return NULL;
    }
    Onnx__NodeProto *n = arena_calloc(a, 1, sizeof *n);
    char **in = arena_calloc(a, NODE_MAX_INPUTS, sizeof(char *)), **out = arena_calloc(a, 1, sizeof(char *));
    Onnx__AttributeProto **attrs = arena_calloc(a, NODE_MAX_ATTRS, sizeof *attrs);
    if (!n || !in || !out || !attrs) return NULL;
    onnx__node_proto__init(n);
    n->op_type = arena_printf(a, "%s", op);
    n->name = arena_printf(a, "%s", name);
    for (int i = 0; i < nin; i++)
        in[i] = arena_printf(a, "%s", inputs[i]);
    out[0] = arena_printf(a, "%s", output);
    n->input = in, n->n_input = (size_t)nin;
    n->output = out, n->n_output = 1;
    n->attribute = attrs;
    if (a->failed) return NULL;
    b->g->node[b->g->n_node++] = n;
    return n;
}

static Onnx__AttributeProto *new_attr(onnx_builder *b, Onnx__NodeProto *n, const char *name,
                                      Onnx__AttributeProto__AttributeType type) {
    if (!n || n->n_attribute == NODE_MAX_ATTRS) {
        b->arena.failed = 1;
        return NULL;
    }
    Onnx__AttributeProto *at = arena_calloc(&b->arena, 1, sizeof *at);
    if (!at) return NULL;
    onnx__attribute_proto__init(at);
    at->name = arena_printf(&b->arena, "%s", name);
    at->has_type = 1, at->type = type;
    n->attribute[n->n_attribute++] = at;
    return at;
}

void builder_attr_int(onnx_builder *b, Onnx__NodeProto *n, const char *name, int64_t v) {
    Onnx__AttributeProto *at = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (at) at->has_i = 1, at->i = v;
}

void builder_attr_ints(onnx_builder *b, Onnx__NodeProto *n, const char *name, const int64_t *v, int count) {
    Onnx__AttributeProto *at = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    int64_t *ints = at ? arena_calloc(&b->arena, (size_t)count, sizeof *ints) : NULL;
    if (!ints) return;
    memcpy(ints, v, sizeof *ints * (size_t)count);
    at->ints = ints, at->n_ints = (size_t)count;
}

void builder_attr_float(onnx_builder *b, Onnx__NodeProto *n, const char *name, float v) {
    Onnx__AttributeProto *at = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (at) at->has_f = 1, at->f = v;
}

void builder_init_floats(onnx_builder *b, const char *name, const int64_t *dims, int rank, const float *data) {
    onnx_arena *a = &b->arena;
    if (b->g->n_initializer == b->max_inits) {
        a->failed = 1;
        return;
    }
    Onnx__TensorProto *t = arena_calloc(a, 1, sizeof *t);
    int64_t *d = arena_calloc(a, (size_t)rank, sizeof *d);
    size_t numel = 1;
    for (int i = 0; i < rank; i++)
        numel *= (size_t)dims[i];
    uint8_t *raw = arena_calloc(a, numel, sizeof(float));
    if (!t || !d || !raw) return;
    onnx__tensor_proto__init(t);
    memcpy(d, dims, sizeof *d * (size_t)rank);
    memcpy(raw, data, numel * sizeof(float)); /* little-endian hosts only (model_io.c checks) */
    t->dims = d, t->n_dims = (size_t)rank;
    t->has_data_type = 1, t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->name = arena_printf(a, "%s", name);
    t->has_raw_data = 1, t->raw_data.data = raw, t->raw_data.len = numel * sizeof(float);
    if (!a->failed) b->g->initializer[b->g->n_initializer++] = t;
}

Onnx__ValueInfoProto *builder_value(onnx_builder *b, const char *name, const int64_t *dims, int rank) {
    onnx_arena *a = &b->arena;
    Onnx__ValueInfoProto *v = arena_calloc(a, 1, sizeof *v);
    Onnx__TypeProto *tp = arena_calloc(a, 1, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = arena_calloc(a, 1, sizeof *tt);
    Onnx__TensorShapeProto *sh = arena_calloc(a, 1, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **dim = arena_calloc(a, (size_t)rank, sizeof *dim);
    if (!v || !tp || !tt || !sh || !dim) return NULL;
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    for (int i = 0; i < rank; i++) {
        dim[i] = arena_calloc(a, 1, sizeof **dim);
        if (!dim[i]) return NULL;
        onnx__tensor_shape_proto__dimension__init(dim[i]);
        if (dims[i] < 0) {
            dim[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dim[i]->dim_param = arena_printf(a, "N");
        } else {
            dim[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dim[i]->dim_value = dims[i];
        }
    }
    sh->dim = dim, sh->n_dim = (size_t)rank;
    tt->has_elem_type = 1, tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, tt->shape = sh;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, tp->tensor_type = tt;
    v->name = arena_printf(a, "%s", name), v->type = tp;
    return a->failed ? NULL : v;
}

/* ---- reading --------------------------------------------------------------------------------- */

const char *onnx_str(const char *s) {
    return s ? s : "";
}

const Onnx__AttributeProto *onnx_attr(const Onnx__NodeProto *n, const char *name) {
    for (size_t i = 0; i < n->n_attribute; i++)
        if (!strcmp(onnx_str(n->attribute[i]->name), name)) return n->attribute[i];
    return NULL;
}

static cm_status tensor_dims(const Onnx__TensorProto *t, const char *what, size_t max_numel, size_t *numel) {
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return cm_fail(CM_ERR_FORMAT, "%s: its data is in an external file, which clmnist does not read", what);
    if (t->segment) return cm_fail(CM_ERR_FORMAT, "%s: a segmented tensor is not supported", what);
    if (t->n_dims > 4) return cm_fail(CM_ERR_FORMAT, "%s: %zu dimensions; at most 4 are supported", what, t->n_dims);
    size_t n = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 1 || (uint64_t)t->dims[i] > max_numel || n > max_numel / (size_t)t->dims[i])
            return cm_fail(CM_ERR_FORMAT, "%s: dimension %zu of size %lld is out of range", what, i,
                           (long long)t->dims[i]);
        n *= (size_t)t->dims[i];
    }
    *numel = n;
    return CM_OK;
}

cm_status onnx_float_tensor(const Onnx__TensorProto *t, const char *what, size_t max_numel, const uint8_t **data,
                            size_t *numel) {
    if (!t->has_data_type || t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return cm_fail(CM_ERR_FORMAT, "%s: data type %d; clmnist reads float32 (1) weights only", what,
                       (int)t->data_type);
    CM_TRY(tensor_dims(t, what, max_numel, numel));
    if (t->has_raw_data && t->raw_data.len) {
        if (t->raw_data.len != *numel * sizeof(float) || t->n_float_data)
            return cm_fail(CM_ERR_FORMAT, "%s: %zu bytes of data for %zu floats", what, t->raw_data.len, *numel);
        *data = t->raw_data.data;
        return CM_OK;
    }
    if (t->n_float_data != *numel)
        return cm_fail(CM_ERR_FORMAT, "%s: %zu values for a shape of %zu", what, t->n_float_data, *numel);
    *data = (const uint8_t *)t->float_data;
    return CM_OK;
}

cm_status onnx_int64_tensor(const Onnx__TensorProto *t, const char *what, int64_t *v, int *count) {
    size_t n;
    if (!t->has_data_type || t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__INT64)
        return cm_fail(CM_ERR_FORMAT, "%s: must be an int64 tensor", what);
    CM_TRY(tensor_dims(t, what, 8, &n));
    if (t->has_raw_data && t->raw_data.len) {
        if (t->raw_data.len != n * sizeof(int64_t) || t->n_int64_data)
            return cm_fail(CM_ERR_FORMAT, "%s: %zu bytes of data for %zu int64 values", what, t->raw_data.len, n);
        memcpy(v, t->raw_data.data, n * sizeof(int64_t));
    } else {
        if (t->n_int64_data != n)
            return cm_fail(CM_ERR_FORMAT, "%s: %zu values for a shape of %zu", what, t->n_int64_data, n);
        memcpy(v, t->int64_data, n * sizeof(int64_t));
    }
    *count = (int)n;
    return CM_OK;
}
