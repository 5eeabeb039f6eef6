/* onnx_graph.h: the protobuf-c structures of onnx.proto (generated at build time, onnx.pb-c.h)
 * built and read for onnx_write.c and onnx_read.c: an arena that owns everything a graph being
 * written points to, node and tensor builders, and checked readers of attributes and constant
 * tensors. Private to the io layer. */
#ifndef CLMNIST_ONNX_GRAPH_H
#define CLMNIST_ONNX_GRAPH_H
#include <stddef.h>
#include <stdint.h>

#include "onnx.pb-c.h"
#include "status.h"

/* ---- writing --------------------------------------------------------------------------------- */

/* Every block a graph under construction points to; freed at once. `failed` once out of memory. */
typedef struct {
    void **blocks;
    size_t n, cap;
    int failed;
} onnx_arena;

void *arena_calloc(onnx_arena *a, size_t count, size_t size);
char *arena_printf(onnx_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_free(onnx_arena *a);

/* A graph with room for `max_nodes` nodes and `max_inits` initializers. */
typedef struct {
    onnx_arena arena;
    Onnx__GraphProto *g;
    size_t max_nodes, max_inits;
} onnx_builder;

cm_status builder_init(onnx_builder *b, size_t max_nodes, size_t max_inits);
/* A node op(inputs...) -> output, named name; NULL when out of room or memory (b->arena.failed). */
Onnx__NodeProto *builder_node(onnx_builder *b, const char *op, const char *name, const char *const *inputs, int nin,
                              const char *output);
void builder_attr_int(onnx_builder *b, Onnx__NodeProto *n, const char *name, int64_t v);
void builder_attr_ints(onnx_builder *b, Onnx__NodeProto *n, const char *name, const int64_t *v, int count);
void builder_attr_float(onnx_builder *b, Onnx__NodeProto *n, const char *name, float v);
/* An initializer of float32 `data` (copied as little-endian raw_data) with dims. */
void builder_init_floats(onnx_builder *b, const char *name, const int64_t *dims, int rank, const float *data);
/* A float tensor value of dims, where dims[i] < 0 is the dynamic batch "N". */
Onnx__ValueInfoProto *builder_value(onnx_builder *b, const char *name, const int64_t *dims, int rank);

/* ---- reading --------------------------------------------------------------------------------- */

/* s, or "" for an absent string field. */
const char *onnx_str(const char *s);
/* The attribute called name of node n, or NULL. */
const Onnx__AttributeProto *onnx_attr(const Onnx__NodeProto *n, const char *name);
/* A constant float tensor as floats: raw_data or float_data, dims with every size in
 * [1, max_numel] and the product no larger than max_numel; the data's length must match.
 * *data points into the tensor (raw_data is little-endian float32, as this host; aligned copies
 * are made by the caller with memcpy). what names the node and input in errors. */
cm_status onnx_float_tensor(const Onnx__TensorProto *t, const char *what, size_t max_numel, const uint8_t **data,
                            size_t *numel);
/* A constant int64 tensor (int64_data or raw_data) of at most 8 values into v. */
cm_status onnx_int64_tensor(const Onnx__TensorProto *t, const char *what, int64_t *v, int *count);

#endif
