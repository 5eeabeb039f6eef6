/* infer.h: the inference context: a model's layers bound to a backend for batched forward
 * passes in eval mode (BatchNorm on its running statistics, no dropout). `eval`, `predict` and
 * the trainer's evaluation use it; it has no optimizer and no gradients. */
#ifndef CLMNIST_INFER_H
#define CLMNIST_INFER_H
#include <stdint.h>

#include "backend.h"
#include "dataset.h"
#include "model.h"
#include "net.h"

typedef struct {
    double loss;     /* mean cross-entropy per example */
    double accuracy; /* fraction correct, 0..1 */
    int64_t count;   /* examples counted */
} cm_stats;

typedef struct cm_infer cm_infer;

/* Uploads model->params and sets up a net for batches of `batch` examples. */
cm_status infer_create(cm_backend *b, const cm_model *model, int batch, cm_infer **out);
/* The same over a net and parameters that someone else owns (the trainer's), which must
 * outlive the context. */
cm_status infer_create_shared(cm_backend *b, cm_net *net, const cm_layout *L, int batch, cm_infer **out);
void infer_destroy(cm_infer *c);
/* The backend bytes a context shared with a trainer's net allocates (its per-batch buffers);
 * infer_create adds the parameters and net_memory_bytes. */
size_t infer_batch_bytes(const cm_layout *L, int batch);
const cm_layout *infer_layout(const cm_infer *c);

/* For every example of a split, in order: if pred, the class with the largest logit (the first
 * on ties, as in training) and probs (count, classes) the softmax, computed on the host from
 * the backend's logits; if stats, the mean loss and accuracy against the split's labels, from
 * the same forward pass. Labels must be below the model's classes when stats is wanted. */
cm_status infer_run(cm_infer *c, const cm_split *split, int32_t *pred, float *probs, cm_stats *stats);

/* Every example's logits (count, classes), as the backend computed them (no softmax): what
 * tests compare with another runtime's (tests/onnx.sh). */
cm_status infer_logits(cm_infer *c, const cm_split *split, float *logits);

/* Mean loss and accuracy from per-slot sums (slots floats each) over count examples. */
cm_status stats_from_sums(cm_backend *b, cm_buf *loss, cm_buf *correct, int slots, int64_t count, cm_stats *out);

#endif
