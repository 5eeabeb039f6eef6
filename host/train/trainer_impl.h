/* trainer_impl.h: the trainer's state, shared by trainer.c (setup, the step, the sync hook) and
 * trainer_state.c (statistics, evaluation, stopping, what checkpoints save). Private to train/. */
#ifndef CLMNIST_TRAINER_IMPL_H
#define CLMNIST_TRAINER_IMPL_H
#include <stddef.h>
#include <stdint.h>

#include "net.h"
#include "trainer.h"

struct cm_trainer {
    cm_backend *b;
    cm_layout L;
    cm_train_config cfg;
    const cm_dataset *ds;
    int resident;

    cm_buf *params;                 /* (L.total) every weight, bias and buffer */
    cm_buf *grads;                  /* (L.trainable) gradients of the trainable part */
    cm_buf *opt_m;                  /* (L.trainable) momentum / Adam's exp_avg; NULL for plain SGD */
    cm_buf *opt_v;                  /* (L.trainable) Adam's exp_avg_sq; NULL otherwise */
    cm_net *net;                    /* the layers, their activations for a batch */
    cm_buf *labels;                 /* (B) int32 */
    cm_buf *acc_loss, *acc_correct; /* (B) per-slot sums over the epoch */
    cm_infer *eval;                 /* evaluation through the same net and parameters, in eval mode */

    /* data feed */
    cm_buf *train_u8, *train_labels;       /* resident: (N, dim) uint8 and (N) uint8 */
    cm_buf *perm;                          /* resident: (N) int32 this epoch's order */
    cm_buf *stage_u8[2], *stage_labels[2]; /* streamed: (B, dim), (B), double-buffered */
    cm_buf *iota;                          /* (B) int32 0..B-1 to gather a staged batch */
    int32_t *perm_host;                    /* (N) */

    int step;            /* step within the epoch */
    int64_t global_step; /* steps since the start of training */
    int staged;          /* streamed: batches staged ahead of `step` (0 or 1) */
    int64_t seen;        /* examples trained this epoch (by this rank) */

    /* data parallelism (cfg.dist): this rank's share of every batch */
    int rank, ranks; /* 0 and 1 alone */
    int local_batch; /* cfg.batch / ranks: the net's batch */
    float *sync;     /* (L.trainable + 1) host copy of the gradients, and the stop request */
    int stop_asked, stop_agreed;
    double step_seconds, sync_seconds; /* with several ranks: in trainer_step, and in sync_grads */
};

static inline size_t fbytes(size_t n) {
    return n * sizeof(float);
}

/* The optimizer's state arrays: 0, 1 (momentum) or 2 (Adam's). */
int trainer_opt_states(const cm_train_config *c);
/* Rank `rank`'s share of `total` rows: *n rows from row *first; the shares differ by at most one
 * row (only a short last batch is uneven) and may be empty. */
void trainer_share(int total, int rank, int ranks, int *first, int *n);

#endif
