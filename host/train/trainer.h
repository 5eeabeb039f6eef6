/* trainer.h: mini-batch training of a layer sequence, written once against the backend
 * interface. One trainer = one backend + one copy of the parameters + the activation buffers. */
#ifndef CLMNIST_TRAINER_H
#define CLMNIST_TRAINER_H
#include <stdint.h>

#include "backend.h"
#include "dataset.h"
#include "dist.h"
#include "infer.h"
#include "model.h"
#include "schedule.h"

typedef enum { CM_FEED_AUTO = -1, CM_FEED_STREAMED = 0, CM_FEED_RESIDENT = 1 } cm_feed_mode;

typedef struct {
    int batch;               /* examples per step */
    cm_optimizer optimizer;  /* SGD (the zero value), Nesterov, Adam, AdamW */
    float lr;                /* base (peak, for one-cycle) learning rate */
    float momentum;          /* SGD, Nesterov: momentum; 0 for plain SGD */
    float beta1, beta2, eps; /* Adam(W) */
    float weight_decay;      /* L2 on the gradient; decoupled for AdamW. Applies to every parameter. */
    cm_schedule schedule;    /* see schedule.h */
    int warmup_steps;        /* linear warm-up over the first steps (0: none) */
    int step_size;           /* step schedule: epochs between decays */
    float gamma;             /* step schedule: decay factor */
    int epochs;              /* planned epochs: the schedule's length */
    float max_norm;          /* max L2 norm of each Linear unit's incoming weights (0: off) */
    cm_augment augment;      /* training-time augmentation (all zero: off) */
    uint64_t seed;           /* shuffle, dropout and augmentation seed (the init seed is model_init's) */
    cm_feed_mode feed;       /* resident: whole training set on the backend; streamed: per-batch uploads */
    /* Data parallelism (dist.h): NULL or one rank: alone. With N ranks, `batch` is the global
     * batch; each rank trains batch / N of its examples (N must divide it), the gradients are
     * summed over the ranks between backward and update (the sync hook: one dist_sum_floats
     * per step over the trainable part, weighted so that the update is the one-process update on
     * the whole batch), and every rank applies the same update. BatchNorm's batch statistics
     * are each rank's own (PyTorch's BatchNorm under DDP does the same). */
    cm_dist *dist;
} cm_train_config;

typedef struct cm_trainer cm_trainer;

/* The global batch must split evenly over the ranks (d NULL or one rank: any batch). */
cm_status trainer_check_batch(int batch, const cm_dist *d);

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
/* Loss and accuracy over the steps of this epoch so far (waits for the backend); with several
 * ranks, over this rank's share of them. Fails with CM_ERR_NUMERIC if the loss is NaN or
 * infinite. */
cm_status trainer_train_stats(cm_trainer *t, cm_stats *out);
/* After an epoch's last step, on every rank (a collective with several ranks): the epoch's
 * training statistics over all ranks, as trainer_train_stats reports them alone; and every rank
 * takes rank 0's non-trainable tensors (BatchNorm's running statistics), as PyTorch's DDP
 * broadcasts buffers, so that evaluations and checkpoints agree. */
cm_status trainer_end_epoch(cm_trainer *t, cm_stats *out);
/* Loss and accuracy of the current parameters on a split. With several ranks, a collective:
 * each rank evaluates its share of the split and the counts are summed. */
cm_status trainer_evaluate(cm_trainer *t, const cm_split *split, cm_stats *out);
/* For every example of a split, in order: pred (count) the class with the largest logit (the
 * first on ties, as in training), probs (count, classes) the softmax, computed on the host from
 * the backend's logits. If stats is not NULL, it also gets what trainer_evaluate would report,
 * from the same forward pass. Not a collective: each rank predicts the whole split. */
cm_status trainer_predict(cm_trainer *t, const cm_split *split, int32_t *pred, float *probs, cm_stats *stats);
/* Copies the parameters, or the gradients of the last step, (layout.total floats; gradients
 * cover the trainable part, the rest reads 0) to the host. */
cm_status trainer_get_params(cm_trainer *t, float *params);
/* Replaces the parameters (layout.total floats), e.g. to restore the best epoch's weights. */
cm_status trainer_set_params(cm_trainer *t, const float *params);
cm_status trainer_get_grads(cm_trainer *t, float *grads);
const cm_layout *trainer_layout(const cm_trainer *t);

/* Whether a trainer on b keeps `train` on the backend (resident) for a feed mode: CM_FEED_AUTO
 * does when the images fit in one buffer and in a quarter of the backend's memory. */
int trainer_feed_resident(const cm_backend *b, const cm_split *train, cm_feed_mode feed);

/* The backend memory trainer_create allocates (what it adds to b->bytes_in_use). */
typedef struct {
    size_t params;      /* parameters, gradients and the optimizer's state */
    size_t activations; /* the net at the batch size (activations and their gradients) and the per-batch
                           buffers of training and evaluation */
    size_t data;        /* the training set kept on the backend (0 when streamed) */
    size_t scratch;     /* the backend's convolution work space, made at the first step: the
                           device's (net_scratch_bytes); the host's is smaller */
    size_t largest;     /* the largest single buffer */
} cm_train_memory;
/* For a layout and config on `train` (its count and dim), resident or streamed. */
cm_train_memory trainer_memory_estimate(const cm_layout *L, const cm_train_config *cfg, const cm_split *train,
                                        int resident);

/* Checkpoint support: the optimizer state and the position in the schedule. Restoring both,
 * then starting at the next epoch, continues a run exactly as if it had not stopped. The state
 * is 0 (plain SGD), 1 ("momentum": SGD with momentum, Nesterov) or 2 ("exp_avg", "exp_avg_sq":
 * Adam, AdamW; PyTorch's names) arrays of layout.total floats. Adam's step count is the global
 * step. */
int trainer_opt_state_count(const cm_trainer *t);
const char *trainer_opt_state_name(const cm_trainer *t, int i);
cm_status trainer_get_opt_state(cm_trainer *t, int i, float *state);
cm_status trainer_set_opt_state(cm_trainer *t, int i, const float *state);
/* The schedule of a trainer's run (its config and steps per epoch). */
cm_schedule_config trainer_schedule(const cm_trainer *t);
int64_t trainer_global_step(const cm_trainer *t);
void trainer_set_global_step(cm_trainer *t, int64_t step);
/* After trainer_begin_epoch: the epoch continues at step `step` (its first `step` batches were
 * trained before a checkpoint); its statistics then cover the steps from here on. */
cm_status trainer_skip_steps(cm_trainer *t, int step);

/* Stopping in step with the other ranks: this rank asks to stop (a signal, the dashboard); the
 * next trainer_step's gradient sum carries the request, and afterwards trainer_stop_agreed is 1
 * on every rank if any rank asked. Alone: whether trainer_ask_stop was called. */
void trainer_ask_stop(cm_trainer *t);
int trainer_stop_agreed(const cm_trainer *t);
/* Between epochs (no step follows to carry it): whether any rank asks to stop (a collective). */
cm_status trainer_agree_stop(cm_trainer *t, int ask, int *agreed);
/* With several ranks: the wall time spent in trainer_step since the trainer was created and, of
 * it, in the gradient sum (download, allreduce, upload); 0 alone. */
void trainer_sync_times(const cm_trainer *t, double *step_seconds, double *sync_seconds);

#endif
