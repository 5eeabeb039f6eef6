/* train_loop.c: epochs, evaluation, early stopping, checkpoints and resuming (train_loop.h). */
#include "train_loop.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "schedule.h"
#include "timer.h"

/* Early stopping's bookkeeping, which a checkpoint carries so that a resumed run stops where an
 * uninterrupted one would and keeps the same weights. */
typedef struct {
    int patience;    /* epochs without a better accuracy before stopping; 0: off */
    int best_epoch;  /* 0: none yet */
    double best_acc; /* its accuracy */
    float *best;     /* (layout.total) its weights */
} early_stop;

struct cm_train_loop {
    cm_trainer *t;
    cm_train_run run;
    early_stop es;
    float *params;                  /* (layout.total) host scratch for checkpoints */
    float *state[CM_OPT_STATE_MAX]; /* (layout.total) each: the optimizer state, likewise */
    float *lr_steps;                /* (steps per epoch) the rate of each step */
    int resume_step;                /* steps of the first epoch done before the checkpoint resumed */
    float *eval_probs;              /* (eval count, classes) with run.eval_pred: trainer_predict's */
};

cm_status train_checkpoint_epoch(const char *path, const cm_meta *m, int *epoch) {
    const char *v = meta_get(m, "checkpoint.epoch");
    if (!v) return cm_fail(CM_ERR_FORMAT, "%s: not a checkpoint (metadata 'checkpoint.epoch' is missing)", path);
    /* 0 epochs only with some steps of the first: a run stopped during it */
    const char *step = meta_get(m, "checkpoint.step");
    long n;
    if (cm_parse_int("checkpoint.epoch", v, step && strcmp(step, "0") != 0 ? 0 : 1, 100000, &n) != CM_OK)
        return cm_fail(CM_ERR_FORMAT, "%s: bad checkpoint metadata: %s", path, cm_last_error());
    *epoch = (int)n;
    return CM_OK;
}

cm_status train_checkpoint_patience(const char *path, const cm_meta *m, int *patience) {
    const char *v = meta_get(m, "early_stopping.patience");
    long n = 0;
    if (v && cm_parse_int("early_stopping.patience", v, 1, 1000000, &n) != CM_OK)
        return cm_fail(CM_ERR_FORMAT, "%s: bad checkpoint metadata: %s", path, cm_last_error());
    *patience = (int)n;
    return CM_OK;
}

cm_status train_loop_create(cm_trainer *t, const cm_train_run *run, cm_train_loop **out) {
    *out = NULL;
    cm_train_loop *l = calloc(1, sizeof *l);
    if (!l) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    l->t = t;
    l->run = *run;
    l->es.patience = run->patience;
    size_t n = trainer_layout(t)->total;
    l->params = malloc(sizeof(float) * n);
    l->lr_steps = malloc(sizeof(float) * (size_t)trainer_steps_per_epoch(t));
    int ok = l->params && l->lr_steps;
    if (ok && l->es.patience) ok = (l->es.best = malloc(sizeof(float) * n)) != NULL;
    if (ok && run->eval_pred)
        ok =
            (l->eval_probs = malloc(sizeof(float) * (size_t)run->eval->count * trainer_layout(t)->classes + 1)) != NULL;
    for (int i = 0; i < trainer_opt_state_count(t); i++)
        ok = ok && (l->state[i] = malloc(sizeof(float) * n));
    if (!ok) {
        train_loop_destroy(l);
        return cm_fail(CM_ERR_MEMORY, "out of host memory");
    }
    *out = l;
    return CM_OK;
}

void train_loop_destroy(cm_train_loop *l) {
    if (!l) return;
    free(l->params);
    free(l->es.best);
    free(l->lr_steps);
    free(l->eval_probs);
    for (int i = 0; i < CM_OPT_STATE_MAX; i++)
        free(l->state[i]);
    free(l);
}

void train_loop_best(const cm_train_loop *l, int *epoch, double *accuracy) {
    *epoch = l->es.best_epoch;
    *accuracy = l->es.best_acc;
}

cm_status train_checkpoint_best(const char *path, const cm_model_file *file, int *epoch, double *accuracy,
                                const float **best) {
    const char *e_text = meta_get(&file->meta, "early_stopping.best_epoch");
    const char *a_text = meta_get(&file->meta, "early_stopping.best_accuracy");
    const float *weights = model_file_state(file, "best");
    *epoch = 0;
    *accuracy = 0.0;
    *best = NULL;
    if (!e_text && !a_text && !weights)
        return CM_OK; /* checkpointed before the first evaluation, or without early stopping */
    long e = 0;
    double a = 0.0;
    if (!e_text || !a_text || !weights || cm_parse_float("best_accuracy", a_text, 0.0, 1.0, &a) != CM_OK ||
        cm_parse_int("best_epoch", e_text, 1, 1000000, &e) != CM_OK)
        return cm_fail(CM_ERR_FORMAT, "%s: incomplete early-stopping state (best epoch, accuracy and weights)", path);
    *epoch = (int)e;
    *accuracy = a;
    *best = weights;
    return CM_OK;
}

/* Takes the best epoch so far and its weights from a checkpoint that has them. */
static cm_status early_stop_restore(early_stop *es, const char *path, const cm_model_file *file, size_t total) {
    if (!es->best) return CM_OK;
    const float *best;
    CM_TRY(train_checkpoint_best(path, file, &es->best_epoch, &es->best_acc, &best));
    if (best) memcpy(es->best, best, sizeof(float) * total);
    return CM_OK;
}

cm_status train_loop_resume(cm_train_loop *l, const char *path, const cm_model_file *file) {
    cm_trainer *t = l->t;
    if (l->es.patience) CM_TRY(early_stop_restore(&l->es, path, file, trainer_layout(t)->total));
    const char *v = meta_get(&file->meta, "checkpoint.step");
    long step = 0;
    if (v && cm_parse_int("checkpoint.step", v, 0, trainer_steps_per_epoch(t) - 1, &step) != CM_OK)
        return cm_fail(CM_ERR_FORMAT, "%s: bad checkpoint metadata: %s", path, cm_last_error());
    if (step && l->run.start_epoch >= l->run.epochs)
        return cm_fail(CM_ERR_FORMAT, "%s: bad checkpoint metadata: step %ld after the last epoch", path, step);
    l->resume_step = (int)step;
    trainer_set_global_step(t, (int64_t)l->run.start_epoch * trainer_steps_per_epoch(t) + step);
    for (int i = 0; i < trainer_opt_state_count(t); i++) {
        const float *saved = model_file_state(file, trainer_opt_state_name(t, i));
        if (!saved)
            return cm_fail(CM_ERR_FORMAT, "%s: the checkpoint has no '%s' optimizer state", path,
                           trainer_opt_state_name(t, i));
        CM_TRY(trainer_set_opt_state(t, i, saved));
    }
    return CM_OK;
}

/* Records epoch `epoch`'s accuracy; *stop when the patience has run out. */
static cm_status early_stop_update(early_stop *es, cm_trainer *t, int epoch, double acc, int *stop) {
    *stop = 0;
    if (es->best_epoch == 0 || acc > es->best_acc) {
        es->best_acc = acc;
        es->best_epoch = epoch;
        return trainer_get_params(t, es->best);
    }
    *stop = epoch - es->best_epoch >= es->patience;
    return CM_OK;
}

/* The model after `epochs_done` epochs (and `step` steps of the next), its optimizer state and
 * early stopping's, to the checkpoint file (atomically: model_file_save). */
static cm_status save_checkpoint(cm_train_loop *l, int epochs_done, int step) {
    cm_trainer *t = l->t;
    const early_stop *es = &l->es;
    if (l->run.not_writer) return CM_OK; /* rank 0 writes it; every rank holds the same state */
    cm_meta m = *l->run.meta;
    CM_TRY(meta_set(&m, "checkpoint.epoch", "%d", epochs_done));
    CM_TRY(meta_set(&m, "checkpoint.global_step", "%lld", (long long)trainer_global_step(t)));
    if (step) CM_TRY(meta_set(&m, "checkpoint.step", "%d", step));
    CM_TRY(trainer_get_params(t, l->params));
    int n = trainer_opt_state_count(t);
    const char *names[CM_FILE_STATE_MAX];
    const float *arrays[CM_FILE_STATE_MAX];
    for (int i = 0; i < n; i++) {
        names[i] = trainer_opt_state_name(t, i);
        arrays[i] = l->state[i];
        CM_TRY(trainer_get_opt_state(t, i, l->state[i]));
    }
    if (es->patience) CM_TRY(meta_set(&m, "early_stopping.patience", "%d", es->patience));
    if (es->best_epoch) {
        CM_TRY(meta_set(&m, "early_stopping.best_epoch", "%d", es->best_epoch));
        CM_TRY(meta_set(&m, "early_stopping.best_accuracy", "%.17g", es->best_acc));
        names[n] = "best";
        arrays[n++] = es->best;
    }
    return model_file_save(l->run.checkpoint, trainer_layout(t), l->params, n, names, arrays, &m);
}

static int stop_asked(const cm_train_loop *l) {
    return l->run.stop && *l->run.stop;
}

/* The first epoch of a resumed run that stopped in its middle continues there; the rates of the
 * steps trained before go into lr_steps from the schedule. */
static cm_status skip_trained_steps(cm_train_loop *l, int *first) {
    *first = l->resume_step;
    l->resume_step = 0;
    if (!*first) return CM_OK;
    cm_schedule_config sc = trainer_schedule(l->t);
    int64_t g0 = trainer_global_step(l->t) - *first;
    for (int s = 0; s < *first; s++)
        l->lr_steps[s] = schedule_lr(&sc, g0 + s);
    return trainer_skip_steps(l->t, *first);
}

/* Trains epoch `e` (0-based) and evaluates it into r; *partial: run.stop ended it after that many
 * steps (0: it ran to its end), unevaluated. */
static cm_status run_epoch(cm_train_loop *l, const cm_train_observer *obs, int e, cm_epoch_result *r, int *partial) {
    cm_trainer *t = l->t;
    int steps = trainer_steps_per_epoch(t), first;
    *partial = 0;
    *r = (cm_epoch_result){.epoch = e + 1, .epochs = l->run.epochs, .lr_steps = l->lr_steps, .nsteps = steps};
    if (obs->epoch_begin) CM_TRY(obs->epoch_begin(obs->ctx, e + 1, l->run.epochs, steps));
    double t0 = timer_now();
    CM_TRY(trainer_begin_epoch(t, e));
    CM_TRY(skip_trained_steps(l, &first));
    r->lr_start = first ? l->lr_steps[0] : trainer_current_lr(t);
    for (int s = first; s < steps; s++) {
        l->lr_steps[s] = trainer_current_lr(t);
        CM_TRY(trainer_step(t));
        if (obs->step) CM_TRY(obs->step(obs->ctx, t, s + 1, steps));
        if (stop_asked(l)) trainer_ask_stop(t); /* with several ranks, the next step tells them all */
        if (s + 1 < steps && trainer_stop_agreed(t)) {
            *partial = s + 1;
            return CM_OK;
        }
    }
    CM_TRY(trainer_end_epoch(t, &r->train));
    r->seconds = timer_now() - t0;
    if (obs->evaluating) obs->evaluating(obs->ctx);
    if (l->run.eval_pred)
        CM_TRY(trainer_predict(t, l->run.eval, l->run.eval_pred, l->eval_probs, &r->eval));
    else
        CM_TRY(trainer_evaluate(t, l->run.eval, &r->eval));
    r->eval_pred = l->run.eval_pred;
    r->lr_end = trainer_current_lr(t);
    return CM_OK;
}

/* After epoch r->epoch: the observer's report, early stopping, the checkpoint; *stop when early
 * stopping ends the run. */
static cm_status after_epoch(cm_train_loop *l, const cm_train_observer *obs, const cm_epoch_result *r,
                             cm_train_result *out, int *stop) {
    const cm_train_run *run = &l->run;
    *stop = 0;
    if (obs->epoch_end) CM_TRY(obs->epoch_end(obs->ctx, r));
    if (l->es.patience) CM_TRY(early_stop_update(&l->es, l->t, r->epoch, r->eval.accuracy, stop));
    if (run->checkpoint && run->checkpoint_every && r->epoch % run->checkpoint_every == 0) {
        CM_TRY(save_checkpoint(l, r->epoch, 0));
        if (obs->checkpoint) obs->checkpoint(obs->ctx, run->checkpoint, r->epoch);
        out->last_checkpoint = r->epoch;
    }
    if (*stop && obs->early_stop) obs->early_stop(obs->ctx, l->es.patience);
    return CM_OK;
}

/* run.stop ended the run after `partial` steps of epoch e + 1 (0: after epoch e): a checkpoint of
 * that position unless the epoch's own just went out. */
static cm_status stopped(cm_train_loop *l, int e, int partial, cm_train_result *out) {
    out->stopped = 1;
    out->stopped_step = partial;
    if (!l->run.checkpoint) return CM_OK;
    out->stop_checkpoint = 1;
    if (!partial && out->last_checkpoint == e) return CM_OK;
    return save_checkpoint(l, e, partial);
}

cm_status train_loop_run(cm_train_loop *l, const cm_train_observer *obs, cm_train_result *out) {
    static const cm_train_observer none = {0};
    if (!obs) obs = &none;
    const cm_train_run *run = &l->run;
    *out = (cm_train_result){.end_epoch = run->start_epoch};
    int end_epoch = run->epochs;
    /* a resumed run that early stopping had already ended (killed before saving its model) */
    int stop = l->es.patience && l->es.best_epoch && run->start_epoch - l->es.best_epoch >= l->es.patience;
    if (run->stop_after && run->start_epoch + run->stop_after < end_epoch)
        end_epoch = run->start_epoch + run->stop_after;
    cm_status st = CM_OK;
    for (int e = run->start_epoch; e < end_epoch && st == CM_OK && !stop; e++) {
        cm_epoch_result r;
        int partial;
        st = run_epoch(l, obs, e, &r, &partial);
        if (st == CM_OK && partial) st = stopped(l, e, partial, out);
        if (st != CM_OK || partial) break;
        out->seconds += r.seconds;
        out->eval = r.eval;
        out->end_epoch = e + 1;
        st = after_epoch(l, obs, &r, out, &stop);
        int agreed = 0;
        if (st == CM_OK && !stop && e + 1 < end_epoch) st = trainer_agree_stop(l->t, stop_asked(l), &agreed);
        if (st == CM_OK && agreed) {
            st = stopped(l, e + 1, 0, out);
            break;
        }
    }
    if (st == CM_OK && l->es.best_epoch > 0) {
        if (obs->best_kept) obs->best_kept(obs->ctx, l->es.best_epoch, l->es.best_acc);
        st = trainer_set_params(l->t, l->es.best);
        if (st == CM_OK) st = meta_set(run->meta, "train.best_epoch", "%d", l->es.best_epoch);
    }
    if (st == CM_ERR_NUMERIC) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", cm_last_error());
        if (out->last_checkpoint > 0)
            return cm_fail(CM_ERR_NUMERIC, "%s; the last good checkpoint is %s (after epoch %d)", msg, run->checkpoint,
                           out->last_checkpoint);
        return cm_fail(CM_ERR_NUMERIC, "%s; no model was saved", msg);
    }
    return st;
}
