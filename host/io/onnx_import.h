/* onnx_import.h: the state of one ONNX import (onnx_read.c reads the file and the graph's
 * frame; onnx_layers.c turns each node of the chain into a layer). Private to the io layer. */
#ifndef CLMNIST_ONNX_IMPORT_H
#define CLMNIST_ONNX_IMPORT_H
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "onnx_graph.h"

/* The most elements of one weight tensor read (its file is at most CM_ONNX_MAX_FILE bytes). */
#define ONNX_MAX_NUMEL ((size_t)1 << 28)
#define ONNX_MAX_CONSTANTS 4096
#define ONNX_MAX_NODES 4096
#define ONNX_MAX_CHANNELS 4096

/* Where a layer's tensors come from: float32 data inside the unpacked file. */
typedef struct {
    const uint8_t *data;
    size_t numel;
    int64_t dims[4];
    int rank;
    int transpose; /* a (in, out) matrix of MatMul or Gemm(transB=0): stored transposed */
} onnx_src;

typedef struct {
    onnx_src weight, bias, mean, var;
} onnx_layer_src;

typedef struct {
    const char *path;
    const Onnx__GraphProto *g;
    size_t align;
    /* constants: initializers and Constant nodes' values */
    int nconst;
    const char *const_name[ONNX_MAX_CONSTANTS];
    const Onnx__TensorProto *const_value[ONNX_MAX_CONSTANTS];
    /* the chain */
    const char *cur;       /* the value the next node must read */
    const char *logits;    /* the chain's last value before a final Softmax */
    const char *softmax;   /* the final Softmax's output, once seen */
    cm_shape input, shape; /* the network's input; cur's shape (once a layer exists) */
    double scale[ONNX_MAX_CHANNELS], shift[ONNX_MAX_CHANNELS]; /* the prefix: x * scale + shift */
    int pending_matmul; /* layer index of a MatMul whose Add (bias) may follow; -1 */
    int n;
    cm_layer layers[CM_MAX_LAYERS];
    onnx_layer_src src[CM_MAX_LAYERS];
} onnx_import;

/* The constant called name (an initializer or a Constant node's value), or NULL. */
const Onnx__TensorProto *import_const(const onnx_import *im, const char *name);
/* One error line naming node n: "PATH: node 'NAME' (OP): why". */
cm_status import_node_fail(const onnx_import *im, const Onnx__NodeProto *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Node n of the chain (not a Constant): its layer, its part of the prefix, or an error. */
cm_status import_node(onnx_import *im, const Onnx__NodeProto *n);

#endif
