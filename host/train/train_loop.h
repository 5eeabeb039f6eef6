/* train_loop.h: a training run over epochs on a trainer: an evaluation after every epoch, early
 * stopping on the evaluated split's accuracy (keeping the best epoch's weights), checkpoints that
 * continue the run exactly (parameters, optimizer state, position, early-stopping state), and
 * resuming from them.
 *
 * The loop prints nothing. What a front end shows of a run (a progress bar, a line per epoch,
 * metrics rows, a dashboard's snapshot) it does in the observer's callbacks.
 *
 * A checkpoint is a model file (model_io.h) with the run's metadata plus
 *   "checkpoint.epoch"              epochs done
 *   "checkpoint.global_step"        steps done
 *   "checkpoint.step"               steps done of the next epoch (a run stopped in the middle of it;
 *                                   absent when 0)
 *   "early_stopping.patience"       with early stopping
 *   "early_stopping.best_epoch"     once an epoch has been evaluated, with
 *   "early_stopping.best_accuracy"  its accuracy ("%.17g") and its weights as state "best"
 * and the optimizer's state arrays under trainer_opt_state_name's names. */
#ifndef CLMNIST_TRAIN_LOOP_H
#define CLMNIST_TRAIN_LOOP_H
#include <signal.h>

#include "infer.h"
#include "model_io.h"
#include "trainer.h"

typedef struct {
    int epochs;             /* planned epochs: the schedule's length (the trainer's cfg.epochs) */
    int start_epoch;        /* epochs already done (a resumed run); 0 for a new one */
    int stop_after;         /* epochs to run in this call; 0: up to `epochs` */
    int patience;           /* early stopping: epochs without a better accuracy on `eval`; 0: off */
    const cm_split *eval;   /* evaluated after every epoch */
    const char *checkpoint; /* where checkpoints go, or NULL: none */
    int checkpoint_every;   /* epochs between checkpoints (with `checkpoint`) */
    cm_meta *meta;          /* the run's description, which checkpoints carry; gets "train.best_epoch"
                               when early stopping keeps an epoch's weights */
    /* When *stop becomes nonzero (a signal handler, another thread), the run ends after the current
     * step: a checkpoint of that position (with `checkpoint`, whatever checkpoint_every says) that
     * train_loop_resume continues exactly. NULL: never. */
    const volatile sig_atomic_t *stop;
    int32_t *eval_pred; /* (eval->count) each evaluation's predicted classes, or NULL */
    /* Several ranks (dist.h): 1 on every rank but 0, which alone writes the checkpoints (all hold
     * the same state). Every rank runs the loop with the same run otherwise: evaluations and the
     * epoch's statistics are collectives, and so are the stop requests (trainer_ask_stop). */
    int not_writer;
} cm_train_run;

/* One epoch's results, for the observer. */
typedef struct {
    int epoch, epochs;       /* 1-based, of the planned epochs */
    cm_stats train, eval;    /* over the epoch's steps; on run.eval after it */
    double lr_start, lr_end; /* the rate of the epoch's first step, and of the step after its last */
    double seconds;          /* training time (the evaluation excluded) */
    const float *lr_steps;   /* the rate of each step (nsteps) */
    int nsteps;
    const int32_t *eval_pred; /* run.eval_pred after the evaluation, or NULL */
} cm_epoch_result;

/* What a front end does during a run. Every callback may be NULL; ctx is passed to each. A
 * callback's failure ends the run with its status. */
typedef struct {
    void *ctx;
    /* Before epoch `epoch` (1-based) of `epochs`, which has `steps` steps. */
    cm_status (*epoch_begin)(void *ctx, int epoch, int epochs, int steps);
    /* After each step (`done` of `steps`); it may read trainer_train_stats, which waits for the
     * backend, so it should do that rarely. */
    cm_status (*step)(void *ctx, cm_trainer *t, int done, int steps);
    /* The epoch's training is done and its statistics read; the evaluation follows. */
    void (*evaluating)(void *ctx);
    cm_status (*epoch_end)(void *ctx, const cm_epoch_result *r);
    /* A checkpoint of the first `epoch` epochs was written to path. */
    void (*checkpoint)(void *ctx, const char *path, int epoch);
    /* Early stopping ends the run: no better accuracy for `patience` epochs. */
    void (*early_stop)(void *ctx, int patience);
    /* Early stopping keeps the weights of epoch `epoch`, which reached `accuracy`. */
    void (*best_kept)(void *ctx, int epoch, double accuracy);
} cm_train_observer;

typedef struct {
    int end_epoch;       /* epochs done when the run returned */
    int last_checkpoint; /* the epoch of the last checkpoint written; 0: none */
    double seconds;      /* training time of this call's epochs */
    cm_stats eval;       /* the last epoch's evaluation */
    int stopped;         /* run.stop ended the run */
    int stopped_step;    /* then: steps done of epoch end_epoch + 1 (0: it stopped between epochs) */
    int stop_checkpoint; /* then: a checkpoint of where it stopped was written */
} cm_train_result;

typedef struct cm_train_loop cm_train_loop;

/* A run on t (which stays the caller's); *run is copied, its pointers must outlive the loop. */
cm_status train_loop_create(cm_trainer *t, const cm_train_run *run, cm_train_loop **out);
/* Continues the run of checkpoint `file` (read from path; named in errors) after its
 * run.start_epoch epochs (and its checkpoint.step steps of the next): the optimizer state, the
 * global step and, with early stopping, the best epoch so far and its weights. */
cm_status train_loop_resume(cm_train_loop *l, const char *path, const cm_model_file *file);
/* Early stopping's best epoch so far (0: none yet) and its accuracy. */
void train_loop_best(const cm_train_loop *l, int *epoch, double *accuracy);
/* Runs epochs run.start_epoch + 1 ... until run.epochs, run.stop_after epochs, early stopping or
 * an error. Afterwards, with early stopping, the trainer holds the best epoch's weights. A NaN or
 * infinite loss fails with CM_ERR_NUMERIC, naming the last good checkpoint if there is one. */
cm_status train_loop_run(cm_train_loop *l, const cm_train_observer *obs, cm_train_result *out);
void train_loop_destroy(cm_train_loop *l);

/* A checkpoint's "checkpoint.epoch": the epochs it holds (0 only for a run stopped during its
 * first epoch, whose "checkpoint.step" says how far it got). */
cm_status train_checkpoint_epoch(const char *path, const cm_meta *m, int *epoch);
/* A checkpoint's "early_stopping.patience", or 0 when it has none. */
cm_status train_checkpoint_patience(const char *path, const cm_meta *m, int *patience);
/* A checkpoint's early-stopping state: the best epoch so far (0: none yet), its accuracy and its
 * weights (NULL: none, for a checkpoint written before the first evaluation or without early
 * stopping); fails when only part of it is there or a value is out of range. */
cm_status train_checkpoint_best(const char *path, const cm_model_file *file, int *epoch, double *accuracy,
                                const float **best);

#endif
