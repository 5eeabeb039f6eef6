/* model.h: a network as an ordered list of layers (PyTorch's torch.nn.Sequential), with every
 * parameter and buffer in one float32 array.
 *
 * A layer is a descriptor: its type (a torch.nn class) and that class's constructor arguments.
 * model_layout() infers every layer's input and output shape from the input image shape,
 * checks them (before anything is allocated), and places each tensor in the flat array:
 *   [0, trainable)      weights and biases, in layer order: gradients and the optimizer cover
 *                       exactly this range, in one call;
 *   [trainable, frozen) the weights and biases of frozen layers (fine-tuning: --freeze), in
 *                       layer order: no gradient, no optimizer state;
 *   [frozen, total)     buffers (BatchNorm's running_mean, running_var): saved, not trained.
 * Each tensor starts at a multiple of `align_bytes` so a device backend can view it directly.
 * Tensor shapes follow PyTorch: Linear weight (out, in), Conv2d weight (out, in, k, k),
 * BatchNorm weight/bias/running_* (C). */
#ifndef CLMNIST_MODEL_H
#define CLMNIST_MODEL_H
#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define CM_MAX_LAYERS 64
#define CM_MAX_TENSORS (4 * CM_MAX_LAYERS)
/* Default tensor alignment: a multiple of every OpenCL CL_DEVICE_MEM_BASE_ADDR_ALIGN seen in practice. */
#define CM_PARAM_ALIGN_BYTES 1024
/* Offset of a tensor a layer does not have. */
#define CM_NO_TENSOR ((size_t)-1)
/* Room for an --arch spec or a layout's description. */
#define CM_ARCH_TEXT 1024

typedef enum {
    CM_LAYER_LINEAR = 0, /* Linear(in_features, out_features) */
    CM_LAYER_CONV2D,     /* Conv2d(in_channels, out_channels, kernel_size, stride, padding) */
    CM_LAYER_MAXPOOL2D,  /* MaxPool2d(kernel_size, stride) */
    CM_LAYER_BATCHNORM1D,
    CM_LAYER_BATCHNORM2D, /* BatchNorm*d(num_features, eps, momentum) */
    CM_LAYER_RELU,
    CM_LAYER_DROPOUT, /* Dropout(p) */
    CM_LAYER_FLATTEN,
    CM_LAYER_GAP, /* AdaptiveAvgPool2d(output_size=1): global average pooling, (C, H, W) -> (C, 1, 1);
                     --arch's 'gap' is this layer followed by a Flatten */
    CM_LAYER_TYPES
} cm_layer_type;

/* The shape of one example: (C, H, W) images, or (features, 1, 1) vectors when flat. */
typedef struct {
    int c, h, w;
    int flat;
} cm_shape;

typedef struct {
    cm_layer_type type;
    /* constructor arguments: what the descriptor says (in_* are filled by model_layout) */
    int out;                 /* Linear out_features, Conv2d out_channels */
    int kernel, stride, pad; /* Conv2d, MaxPool2d (pad 0) */
    float p;                 /* Dropout */
    float eps, momentum;     /* BatchNorm */
    int no_bias;             /* Conv2d(bias=False): --arch sets it when BatchNorm follows, which
                                would cancel the bias (its gradient is zero) */
    int frozen;              /* not a constructor argument: fine-tuning keeps this layer's weight and
                                bias fixed (no gradient, no optimizer state) and runs its BatchNorm
                                in eval mode (running statistics, not updated) */
    /* derived by model_layout */
    cm_shape in, out_shape;
    int fused_relu; /* Linear, Conv2d or BatchNorm followed by ReLU: the ReLU runs inside this layer's output step */
    size_t weight, bias, running_mean, running_var; /* element offsets in params, or CM_NO_TENSOR */
} cm_layer;

typedef struct {
    int nlayers;
    cm_layer layers[CM_MAX_LAYERS];
    cm_shape input;                  /* one example */
    int classes;                     /* the last layer's outputs */
    size_t trainable, frozen, total; /* elements: see the top of this file (padding included) */
    size_t count;                    /* real trainable parameters (excluding padding and buffers) */
    size_t frozen_count;             /* real parameters of frozen layers */
    size_t align_bytes;              /* tensor alignment used for the layout */
    /* input normalisation per channel, x = (pixel / 255 - in_mean[c]) / in_std[c] (the model's
     * input_mean / input_std); normalized 0: none (mean 0, std 1). model_layout clears it. */
    int normalized;
    float in_mean[4], in_std[4];
} cm_layout;

/* One tensor of a layout: layers.{layer}.{name}, PyTorch's shape. */
typedef struct {
    int layer;
    const char *name; /* "weight", "bias", "running_mean", "running_var" */
    int rank;
    int dims[4];
    size_t offset, numel;
    int trainable; /* 0 for buffers and the tensors of frozen layers */
} cm_tensor;

typedef struct {
    cm_layout layout;
    float *params; /* (layout.total) host copy, padding zeroed */
} cm_model;

/* A layer with PyTorch's defaults for its type (stride 1, BatchNorm eps 1e-5 momentum 0.1). */
cm_layer layer_default(cm_layer_type type);
/* The torch.nn class name of a type ("Conv2d"), and back (-1 when unknown). */
const char *layer_type_name(cm_layer_type type);
int layer_type_from_name(const char *name);
/* The layer as an --arch token ("conv32k5p2", "pool2", "bn", "fc10", "drop0.3", "gap"). */
void layer_token(const cm_layer *l, char *buf, size_t size);
/* Number of elements of one example's shape. */
size_t shape_numel(cm_shape s);

/* Parses an --arch spec ("conv32k5p2-bn-relu-pool2-flatten-fc10") into layer descriptors;
 * errors name the token at fault. Shapes are checked later, by model_layout. */
cm_status model_parse_arch(const char *spec, cm_layer *layers, int *nlayers);
/* Parses "512,256" into hidden sizes; returns the count or fails naming the flag. */
cm_status model_parse_layers(const char *spec, int *hidden, int *nhidden);
/* The MLP of --layers: Flatten, then Linear + ReLU (+ Dropout(p) when p > 0) per hidden size,
 * then Linear(classes). */
cm_status model_mlp_layers(const int *hidden, int nhidden, int classes, float dropout, cm_layer *layers, int *nlayers);

/* Sets layers[i].frozen from a --freeze spec: layer indices and ranges of the "modules" list,
 * "0-5,7" (what names the flag or metadata key in errors; an index past nlayers - 1 is one). */
cm_status model_parse_freeze(const char *what, const char *spec, cm_layer *layers, int nlayers);
/* The frozen layers of a layout as such a spec ("0-5,7"; "" when none) into buf. */
void model_describe_frozen(const cm_layout *layout, char *buf, size_t size);

/* Infers shapes and places tensors for `layers` on an `input` example. Fails, naming the layer
 * (index and token) and the shapes, when a layer does not fit its input (a kernel larger than
 * its input, a Linear or BatchNorm1d on an unflattened input, ...) or when the last layer does
 * not produce a flat vector of `classes` (classes <= 0: any). */
cm_status model_layout(cm_layout *layout, const cm_layer *layers, int nlayers, cm_shape input, int classes,
                       size_t align_bytes);
/* Every tensor of a layout, trainable ones first, in offset order; returns the count. */
int model_tensors(const cm_layout *layout, cm_tensor *out);

/* Allocates params for `layout` and fills them: He-uniform weights U(-sqrt(6/fan_in),
 * sqrt(6/fan_in)) from PCG32(seed) (fan_in = in_features, or in_channels k k), zero biases,
 * BatchNorm weight 1 and bias 0, running_mean 0 and running_var 1. The same seed gives the same
 * bits on every platform. */
cm_status model_init(cm_model *model, const cm_layout *layout, uint64_t seed);
void model_free(cm_model *model);

/* The --arch spec of the layout ("flatten-fc512-relu-fc10") into buf. */
void model_describe(const cm_layout *layout, char *buf, size_t size);

#endif
