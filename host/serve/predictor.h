/* predictor.h: a saved model behind a pool of inference contexts, for concurrent callers.
 *
 * Each context has a backend of its own (its own OpenCL context, queue and kernel objects on the
 * device; its own buffers on the host) and a copy of the weights, so no backend state, OpenCL
 * kernel arguments included, is ever shared between threads. A caller borrows a free context for
 * one classification and gives it back; when all are busy it waits. The host backend gets one
 * context per server thread; the device backend one by default: the device runs one queue's
 * work at a time anyway, and each more context compiles the kernels again and holds its own
 * weights, so that extra contexts only overlap the host-side work of a request. */
#ifndef CLMNIST_PREDICTOR_H
#define CLMNIST_PREDICTOR_H
#include <stdint.h>

#include "model_io.h"
#include "status.h"

typedef struct cm_predictor cm_predictor;

typedef struct {
    const char *backend; /* "host" or "device" */
    const char *device;  /* --device SEL, or NULL */
    int contexts;        /* inference contexts (>= 1) */
    int threads;         /* host backend: OpenMP threads of each context (0: default) */
} cm_predictor_options;

/* Loads the model file and creates the contexts. */
cm_status predictor_open(const char *model_path, const cm_predictor_options *o, cm_predictor **out);
void predictor_close(cm_predictor *p);

const cm_model_file *predictor_file(const cm_predictor *p);
/* The device the contexts run on ("host CPU, ..." or the OpenCL device's name). */
const char *predictor_device_name(const cm_predictor *p);
int predictor_contexts(const cm_predictor *p);

/* Classifies one image of the model's input size (uint8 pixels, scaled by 1/255 as in training):
 * *cls the class with the largest logit, probs (classes) the softmax. Thread-safe. */
cm_status predictor_classify(cm_predictor *p, const uint8_t *image, int32_t *cls, float *probs);

#endif
