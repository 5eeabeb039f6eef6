/* model_io.h: models and checkpoints as safetensors files (the format PyTorch and the Hugging
 * Face tools read): an 8-byte little-endian header length, a JSON header, raw float32 tensors.
 *
 * Format 2 (written): the model is torch.nn.Sequential of the layers in the "modules" metadata
 * (see host/io/modules.c); layer i's tensors are "layers.{i}.weight|bias|running_mean|running_var"
 * with PyTorch's shapes, and "input_shape" ("CxHxW") the shape of one example. A checkpoint adds
 * the optimizer state of the trainable tensors as "optimizer.{state}.layers...", {state} one of
 * "momentum" (SGD with momentum, Nesterov) or "exp_avg" and "exp_avg_sq" (Adam, AdamW), early
 * stopping's best weights (every tensor) as "early_stopping.best.layers...", and its position in
 * the "checkpoint.*" metadata.
 * Format 1 (read: MLPs of the previous release) has no "modules": Linear l is "layers.{2l}",
 * and the file loads as Flatten, Linear, ReLU, ..., Linear (layer index = file index + 1).
 * Every string in __metadata__ but "modules" is kept in a cm_meta. */
#ifndef CLMNIST_MODEL_IO_H
#define CLMNIST_MODEL_IO_H
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "status.h"

#define CM_META_MAX 64
#define CM_META_KEY 64
#define CM_META_VALUE 1024
/* Largest JSON header accepted: far above any MLP's, far below what could exhaust memory. */
#define CM_SAFETENSORS_MAX_HEADER ((size_t)16 << 20)
/* The "clmnist.format_version" this build writes and reads. */
#define CM_MODEL_FORMAT_VERSION "2"

typedef struct {
    int count;
    char key[CM_META_MAX][CM_META_KEY];
    char value[CM_META_MAX][CM_META_VALUE];
} cm_meta;

/* Sets key to a printf-formatted value (replacing an earlier one). Silently truncates values
 * longer than CM_META_VALUE - 1; returns CM_ERR_USAGE when the table is full. */
cm_status meta_set(cm_meta *m, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The value of key, or NULL. */
const char *meta_get(const cm_meta *m, const char *key);

#define CM_OPT_STATE_MAX 2                       /* optimizer state arrays */
#define CM_FILE_STATE_MAX (CM_OPT_STATE_MAX + 1) /* and early stopping's best weights */

typedef struct {
    cm_model model;                         /* parameters, laid out with the alignment asked for */
    int nstate;                             /* state arrays in the file (0 for a model) */
    char state_name[CM_FILE_STATE_MAX][16]; /* "momentum", or "exp_avg" and "exp_avg_sq"; "best" */
    float *state[CM_FILE_STATE_MAX];        /* (model.layout.total) each */
    cm_meta meta;
} cm_model_file;

/* The state array called name in f, or NULL. */
const float *model_file_state(const cm_model_file *f, const char *name);

/* Writes params and nstate state arrays (names from the list above; tensors
 * "optimizer.{name}.layers..." for the optimizer's, "early_stopping.best.layers..." for the best
 * weights of an early-stopping run) with `meta` ("modules" and "input_shape" are written from
 * the layout, whatever meta says) to
 * path atomically (atomic_file.h): a temporary file in the same directory, fsync, rename. An
 * existing file at path is replaced only on success; a kill leaves it or the new one, never a
 * torn file. */
cm_status model_file_save(const char *path, const cm_layout *layout, const float *params, int nstate,
                          const char *const *state_names, const float *const *state, const cm_meta *meta);
/* Reads and validates a file written by model_file_save (or by PyTorch with the same names).
 * Every malformed case (truncation, bad header, wrong dtype/shape, offsets outside the data or
 * overlapping, missing or unexpected tensors, metadata that disagrees with the tensors) fails
 * with a message naming the file; nothing is read out of bounds. */
cm_status model_file_load(const char *path, size_t align_bytes, cm_model_file *out);
/* (An ONNX file, named *.onnx or starting as one, is read by onnx_model_parse instead: onnx_model.h.) */
/* The same for a file's len bytes held in memory (path names it in errors); model_file_load reads
 * the file and calls it. */
cm_status model_file_parse(const uint8_t *buf, size_t len, const char *path, size_t align_bytes, cm_model_file *out);
void model_file_free(cm_model_file *f);

#endif
