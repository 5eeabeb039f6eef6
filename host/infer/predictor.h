/* predictor.h: a model behind a pool of inference contexts, for concurrent callers (clmnist serve,
 * the training dashboard, and every model handle of the public API, host/api/).
 *
 * Each context has a backend of its own (its own OpenCL context, queue and kernel objects on the
 * device; its own buffers on the host) and a copy of the weights, so no backend state, OpenCL
 * kernel arguments included, is ever shared between threads. A caller borrows a free context for
 * one classification (or one batch of them) and gives it back; when all are busy it waits. The
 * host backend gets one context per server thread; the device backend one by default: the device
 * runs one queue's work at a time anyway, and each more context compiles the kernels again and
 * holds its own weights, so that extra contexts only overlap the host-side work of a request. */
#ifndef CLMNIST_PREDICTOR_H
#define CLMNIST_PREDICTOR_H
#include <stdint.h>

#include "dataset.h"
#include "infer.h"
#include "model_io.h"
#include "status.h"

typedef struct cm_predictor cm_predictor;

typedef struct {
    const char *backend; /* "host", "device" or "auto" (backend_create) */
    const char *device;  /* --device SEL, or NULL */
    int contexts;        /* inference contexts (>= 1) */
    int threads;         /* host backend: OpenMP threads of each context (0: default) */
    int batch;           /* examples per forward pass of each context (0: 1) */
} cm_predictor_options;

/* Loads the model file and creates the contexts. */
cm_status predictor_open(const char *model_path, const cm_predictor_options *o, cm_predictor **out);
/* The same over a model already in memory (a trained one): on success the predictor takes
 * *file over (the caller's copy is zeroed); on failure it stays the caller's. Its parameters must
 * be laid out with an alignment each context's backend accepts. */
cm_status predictor_open_file(cm_model_file *file, const cm_predictor_options *o, cm_predictor **out);
void predictor_close(cm_predictor *p);

const cm_model_file *predictor_file(const cm_predictor *p);
/* The metadata, which the owner may change (between calls: it is not guarded). */
cm_meta *predictor_meta(cm_predictor *p);
/* The device the contexts run on ("host CPU, ..." or the OpenCL device's name). */
const char *predictor_device_name(const cm_predictor *p);
/* The kind of backend the contexts run on: "host" or "device". */
const char *predictor_backend_kind(const cm_predictor *p);
int predictor_contexts(const cm_predictor *p);

/* infer_run (infer.h) on a free context: for every example of the split, in order, pred and probs
 * (both or neither) and, if stats, the loss and accuracy against the split's labels. The split
 * must have the model's input size. Thread-safe. */
cm_status predictor_run(cm_predictor *p, const cm_split *split, int32_t *pred, float *probs, cm_stats *stats);
/* Classifies one image of the model's input size (uint8 pixels, scaled by 1/255 as in training):
 * *cls the class with the largest logit, probs (classes) the softmax. Thread-safe. */
cm_status predictor_classify(cm_predictor *p, const uint8_t *image, int32_t *cls, float *probs);

#endif
