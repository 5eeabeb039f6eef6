/* onnx_model.h: models as ONNX files (https://onnx.ai), both ways.
 *
 * Export writes one graph, opset 13: input "input" (N, C, H, W) float, pixels scaled to [0, 1]
 * (N dynamic); the model's normalisation as Mul (255 * scale), Sub (mean), Div (std) by constants
 * of shape (1, C, 1, 1), so that the network sees (pixel * scale - mean) / std as in clmnist; then
 * one node per layer (Dropout left out); outputs "logits" (N, classes) and "probabilities"
 * (Softmax on axis 1). Initializers keep the safetensors names (layers.{i}.weight, ...), and
 * metadata_props carry class_names, pipeline and clmnist.version (docs/models.md).
 *
 * Import reads a chain of Conv, BatchNormalization, MaxPool, Relu, Flatten, Reshape (N, -1), Gemm,
 * MatMul + Add, Dropout, Identity and a final Softmax, after the normalisation prefix export
 * writes, into the layer list of a cm_model_file, as if it were a clmnist file. Anything else is
 * one error naming the node.
 *
 * Built only with protobuf-c (CMake's CLMNIST_WITH_ONNX); without it every call fails saying which
 * packages to install. */
#ifndef CLMNIST_ONNX_MODEL_H
#define CLMNIST_ONNX_MODEL_H
#include <stddef.h>
#include <stdint.h>

#include "model_io.h"

/* The largest .onnx file read (checked before reading it). */
#define CM_ONNX_MAX_FILE ((size_t)1 << 30)
/* The opset export writes, and the opsets import reads. */
#define CM_ONNX_OPSET 13
#define CM_ONNX_OPSET_MIN 9
#define CM_ONNX_OPSET_MAX 21

/* 1 when this build reads and writes ONNX. */
int onnx_available(void);
/* Whether a file is ONNX rather than safetensors: its name ends in ".onnx", or its first bytes
 * are no safetensors header but a protobuf field 1 (ir_version). */
int onnx_is_onnx(const char *path, const uint8_t *buf, size_t len);

/* Writes f's model (its layers, parameters and pipeline metadata) to path as ONNX, atomically;
 * source names f in errors. */
cm_status onnx_export(const char *path, const char *source, const cm_model_file *f);
/* Reads an ONNX model held in memory (path names it in errors) into out, laid out with
 * align_bytes; every malformed, forged or unsupported case fails with one line. */
cm_status onnx_model_parse(const uint8_t *buf, size_t len, const char *path, size_t align_bytes, cm_model_file *out);

#endif
