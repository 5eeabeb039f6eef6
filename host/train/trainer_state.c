/* trainer_state.c: the trainer's statistics (this rank's, and reduced over the ranks), its
 * evaluation (sharded over the ranks), stopping in step with the other ranks, and the state that
 * checkpoints save and restore (trainer.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer.h"
#include "trainer.h"
#include "trainer_impl.h"

static cm_status check_loss(const cm_trainer *t, const cm_stats *s) {
    if (!isfinite(s->loss))
        return cm_fail(CM_ERR_NUMERIC, "training diverged: the loss is %s after step %d of the epoch; try a lower --lr",
                       isnan(s->loss) ? "NaN" : "infinite", t->step);
    return CM_OK;
}

cm_status trainer_train_stats(cm_trainer *t, cm_stats *out) {
    CM_TRY(stats_from_sums(t->b, t->acc_loss, t->acc_correct, t->local_batch, t->seen, out));
    return check_loss(t, out);
}

/* Each rank's stats (means over its count) summed into the job's. */
static cm_status sum_stats(cm_trainer *t, cm_stats *s) {
    if (t->ranks < 2) return CM_OK;
    double c = (double)s->count, sums[3] = {s->loss * c, s->accuracy * c, c};
    CM_TRY(dist_sum_doubles(t->cfg.dist, sums, 3));
    s->count = (int64_t)sums[2];
    s->loss = sums[2] > 0 ? sums[0] / sums[2] : 0.0;
    s->accuracy = sums[2] > 0 ? sums[1] / sums[2] : 0.0;
    return CM_OK;
}

cm_status trainer_end_epoch(cm_trainer *t, cm_stats *out) {
    CM_TRY(stats_from_sums(t->b, t->acc_loss, t->acc_correct, t->local_batch, t->seen, out));
    CM_TRY(sum_stats(t, out));
    size_t tail = t->L.total - t->L.trainable; /* BatchNorm's running statistics: rank 0's */
    if (t->ranks > 1 && tail > 0) {
        CM_TRY(backend_download(t->b, t->params, fbytes(t->L.trainable), t->sync, fbytes(tail)));
        CM_TRY(dist_broadcast(t->cfg.dist, t->sync, fbytes(tail)));
        CM_TRY(backend_upload(t->b, t->params, fbytes(t->L.trainable), t->sync, fbytes(tail)));
    }
    return check_loss(t, out);
}

cm_status trainer_evaluate(cm_trainer *t, const cm_split *split, cm_stats *out) {
    if (t->ranks < 2) return infer_run(t->eval, split, NULL, NULL, out);
    cm_split part = *split;
    int first, n;
    trainer_share(split->count, t->rank, t->ranks, &first, &n);
    part.count = n;
    part.images = split->images + (size_t)first * (size_t)split->dim;
    part.labels = split->labels + first;
    part.borrowed = 1;
    *out = (cm_stats){0};
    if (n > 0) CM_TRY(infer_run(t->eval, &part, NULL, NULL, out));
    return sum_stats(t, out);
}

void trainer_sync_times(const cm_trainer *t, double *step_seconds, double *sync_seconds) {
    *step_seconds = t->step_seconds;
    *sync_seconds = t->sync_seconds;
}

void trainer_ask_stop(cm_trainer *t) {
    t->stop_asked = 1;
}

int trainer_stop_agreed(const cm_trainer *t) {
    return t->ranks < 2 ? t->stop_asked : t->stop_agreed;
}

cm_status trainer_agree_stop(cm_trainer *t, int ask, int *agreed) {
    double v = ask ? 1.0 : 0.0;
    if (t->ranks > 1) CM_TRY(dist_sum_doubles(t->cfg.dist, &v, 1));
    *agreed = v > 0.0;
    return CM_OK;
}

cm_status trainer_predict(cm_trainer *t, const cm_split *split, int32_t *pred, float *probs, cm_stats *stats) {
    return infer_run(t->eval, split, pred, probs, stats);
}

cm_status trainer_get_params(cm_trainer *t, float *params) {
    return backend_download(t->b, t->params, 0, params, fbytes(t->L.total));
}

cm_status trainer_get_grads(cm_trainer *t, float *grads) {
    memset(grads, 0, fbytes(t->L.total));
    return backend_download(t->b, t->grads, 0, grads, fbytes(t->L.trainable));
}

cm_status trainer_set_params(cm_trainer *t, const float *params) {
    return backend_upload(t->b, t->params, 0, params, fbytes(t->L.total));
}

int trainer_opt_state_count(const cm_trainer *t) {
    return trainer_opt_states(&t->cfg);
}

const char *trainer_opt_state_name(const cm_trainer *t, int i) {
    if (trainer_opt_state_count(t) == 2) return i ? "exp_avg_sq" : "exp_avg";
    return "momentum";
}

static cm_buf *opt_state_buf(cm_trainer *t, int i) {
    return i < 0 || i >= trainer_opt_state_count(t) ? NULL : i ? t->opt_v : t->opt_m;
}

cm_status trainer_get_opt_state(cm_trainer *t, int i, float *state) {
    cm_buf *buf = opt_state_buf(t, i);
    if (!buf) return cm_fail(CM_ERR_USAGE, "the optimizer has no state array %d", i);
    memset(state, 0, fbytes(t->L.total));
    return backend_download(t->b, buf, 0, state, fbytes(t->L.trainable));
}

cm_status trainer_set_opt_state(cm_trainer *t, int i, const float *state) {
    cm_buf *buf = opt_state_buf(t, i);
    if (!buf) return cm_fail(CM_ERR_USAGE, "the optimizer has no state array %d", i);
    return backend_upload(t->b, buf, 0, state, fbytes(t->L.trainable));
}

int64_t trainer_global_step(const cm_trainer *t) {
    return t->global_step;
}
void trainer_set_global_step(cm_trainer *t, int64_t step) {
    t->global_step = step;
}

cm_status trainer_skip_steps(cm_trainer *t, int step) {
    if (step < 0 || step >= trainer_steps_per_epoch(t) || t->step != 0)
        return cm_fail(CM_ERR_USAGE, "trainer_skip_steps: step %d of an epoch of %d (at %d)", step,
                       trainer_steps_per_epoch(t), t->step);
    t->step = step;
    t->staged = 0;
    return CM_OK;
}
