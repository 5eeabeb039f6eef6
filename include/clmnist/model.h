/* model.h: a multilayer perceptron described by its layer sizes, with every parameter in one
 * float32 array. Layer l has weight (out, in) row-major, as PyTorch's nn.Linear, and bias (out).
 * Each tensor starts at a multiple of `align` bytes so a device backend can view it directly. */
#ifndef CLMNIST_MODEL_H
#define CLMNIST_MODEL_H
#include <stddef.h>
#include <stdint.h>

#include "clmnist/status.h"

#define CM_MAX_LAYERS 16
/* Default tensor alignment: a multiple of every OpenCL CL_DEVICE_MEM_BASE_ADDR_ALIGN seen in practice. */
#define CM_PARAM_ALIGN_BYTES 1024

typedef struct {
    int nlayers;                  /* number of Linear layers (hidden + output) */
    int sizes[CM_MAX_LAYERS + 1]; /* sizes[0] = input, sizes[nlayers] = classes */
    size_t w_off[CM_MAX_LAYERS];  /* element offset of layer l's weight in params */
    size_t b_off[CM_MAX_LAYERS];  /* element offset of layer l's bias */
    size_t total;                 /* elements in the padded parameter array */
    size_t count;                 /* real parameters (excluding padding) */
    size_t align_bytes;           /* tensor alignment used for the layout */
} cm_layout;

typedef struct {
    cm_layout layout;
    float *params; /* (layout.total) host copy, padding zeroed */
} cm_model;

/* Parses "512,256" into hidden sizes; returns the count or fails naming the flag. */
cm_status model_parse_layers(const char *spec, int *hidden, int *nhidden);

/* Computes the layout for input -> hidden... -> classes with tensors aligned to align_bytes. */
cm_status model_layout(cm_layout *layout, int input, const int *hidden, int nhidden, int classes, size_t align_bytes);

/* Allocates params for `layout` and fills them: He-uniform weights U(-sqrt(6/in), sqrt(6/in))
 * from PCG32(seed), zero biases. The same seed gives the same bits on every platform. */
cm_status model_init(cm_model *model, const cm_layout *layout, uint64_t seed);
void model_free(cm_model *model);

/* "784-512-256-10" into buf. */
void model_describe(const cm_layout *layout, char *buf, size_t size);

#endif
