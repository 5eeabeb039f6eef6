/* trainer.h: mini-batch SGD for an MLP, written once against the backend interface.
 * One trainer = one backend + one copy of the parameters + the activation buffers. */
#ifndef CLMNIST_TRAINER_H
#define CLMNIST_TRAINER_H
#include <stdint.h>

#include "clmnist/backend.h"
#include "clmnist/dataset.h"
#include "clmnist/model.h"

typedef enum { CM_FEED_AUTO = -1, CM_FEED_STREAMED = 0, CM_FEED_RESIDENT = 1 } cm_feed_mode;

typedef enum { CM_SCHEDULE_CONSTANT = 0, CM_SCHEDULE_COSINE = 1 } cm_schedule;

typedef struct {
    int batch;          /* examples per step */
    float lr;           /* SGD learning rate */
    float momentum;     /* heavy-ball momentum, 0 for plain SGD */
    cm_schedule schedule; /* cosine: lr * (1 + cos(pi * step / total_steps)) / 2 */
    int epochs;         /* planned epochs: the schedule's length */
    uint64_t seed;      /* shuffle seed (the model's init seed is separate: model_init) */
    cm_feed_mode feed;  /* resident: whole training set on the backend; streamed: per-batch uploads */
} cm_train_config;

typedef struct {
    double loss;     /* mean cross-entropy per example */
    double accuracy; /* fraction correct, 0..1 */
    int64_t count;   /* examples counted */
} cm_stats;

typedef struct cm_trainer cm_trainer;

/* Uploads model->params (laid out with an alignment the backend accepts) and the data. */
cm_status trainer_create(cm_backend *b, const cm_dataset *ds, const cm_model *model, const cm_train_config *cfg,
                         cm_trainer **out);
void trainer_destroy(cm_trainer *t);

int trainer_steps_per_epoch(const cm_trainer *t);
int trainer_is_resident(const cm_trainer *t);
/* Shuffles the training set with PCG32(seed, epoch) and clears the epoch's statistics. */
cm_status trainer_begin_epoch(cm_trainer *t, int epoch);
/* One step on the next batch of the epoch: forward, loss, backward, update. Asynchronous. */
cm_status trainer_step(cm_trainer *t);
/* The learning rate the next step will use. */
float trainer_current_lr(const cm_trainer *t);
/* Loss and accuracy over the steps of this epoch so far (waits for the backend). Fails with
 * CM_ERR_NUMERIC if the loss is NaN or infinite. */
cm_status trainer_train_stats(cm_trainer *t, cm_stats *out);
/* Loss and accuracy of the current parameters on a split. */
cm_status trainer_evaluate(cm_trainer *t, const cm_split *split, cm_stats *out);
/* For every example of a split, in order: pred (count) the class with the largest logit (the
 * first on ties, as in training), probs (count, classes) the softmax, computed on the host from
 * the backend's logits. If stats is not NULL, it also gets what trainer_evaluate would report,
 * from the same forward pass. */
cm_status trainer_predict(cm_trainer *t, const cm_split *split, int32_t *pred, float *probs, cm_stats *stats);
/* Copies the parameters, or the gradients of the last step, (layout.total floats) to the host. */
cm_status trainer_get_params(cm_trainer *t, float *params);
cm_status trainer_get_grads(cm_trainer *t, float *grads);
const cm_layout *trainer_layout(const cm_trainer *t);

/* Checkpoint support: the optimizer state (the momentum buffer, layout.total floats; absent for
 * plain SGD) and the position in the schedule. Restoring both, then starting at the next epoch,
 * continues a run exactly as if it had not stopped. */
int trainer_has_momentum(const cm_trainer *t);
cm_status trainer_get_momentum(cm_trainer *t, float *momentum);
cm_status trainer_set_momentum(cm_trainer *t, const float *momentum);
int64_t trainer_global_step(const cm_trainer *t);
void trainer_set_global_step(cm_trainer *t, int64_t step);

#endif
