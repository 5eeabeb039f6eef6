/* trainer.c: the training loop (forward, loss, backward, update), written once against the
 * backend interface so the host reference and the OpenCL device run the identical sequence of
 * operations on the identical batches. */
#include "trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer.h"
#include "net.h"
#include "rng.h"
#include "timer.h"
#include "trainer_impl.h"

#define PIXEL_SCALE (1.0f / 255.0f)

int trainer_steps_per_epoch(const cm_trainer *t) {
    return (t->ds->train.count + t->cfg.batch - 1) / t->cfg.batch;
}
int trainer_is_resident(const cm_trainer *t) {
    return t->resident;
}
const cm_layout *trainer_layout(const cm_trainer *t) {
    return &t->L;
}

static cm_status setup(cm_trainer *t, const cm_model *model) {
    cm_backend *b = t->b;
    const cm_split *tr = &t->ds->train;
    size_t B = (size_t)t->local_batch;
    CM_TRY(backend_alloc(b, fbytes(t->L.total), 0, "parameters", &t->params));
    CM_TRY(backend_alloc(b, fbytes(t->L.trainable), 0, "gradients", &t->grads));
    CM_TRY(backend_upload(b, t->params, 0, model->params, fbytes(t->L.total)));
    if (t->ranks > 1) {
        t->sync = malloc(fbytes(t->L.total + 1)); /* rank 0's parameters below; the gradients later */
        if (!t->sync) return cm_fail(CM_ERR_MEMORY, "out of host memory for the gradient sum");
        memcpy(t->sync, model->params, fbytes(t->L.total));
        CM_TRY(dist_broadcast(t->cfg.dist, t->sync, fbytes(t->L.total)));
        CM_TRY(backend_upload(b, t->params, 0, t->sync, fbytes(t->L.total)));
    }
    for (int i = 0; i < trainer_opt_state_count(t); i++)
        CM_TRY(backend_alloc(b, fbytes(t->L.trainable), 0, trainer_opt_state_name(t, i), i ? &t->opt_v : &t->opt_m));
    CM_TRY(net_create(b, &t->L, t->params, t->grads, (int)B, &t->net));
    CM_TRY(backend_alloc(b, B * sizeof(int32_t), 0, "labels", &t->labels));
    CM_TRY(backend_alloc(b, fbytes(B), 0, "loss sums", &t->acc_loss));
    CM_TRY(backend_alloc(b, fbytes(B), 0, "correct counts", &t->acc_correct));
    CM_TRY(infer_create_shared(b, t->net, &t->L, (int)B, &t->eval));

    for (int s = 0; s < 2; s++) {
        CM_TRY(backend_alloc(b, B * (size_t)tr->dim, CM_BUF_STAGING, "staged batch images", &t->stage_u8[s]));
        CM_TRY(backend_alloc(b, B, CM_BUF_STAGING, "staged batch labels", &t->stage_labels[s]));
    }
    CM_TRY(backend_alloc(b, B * sizeof(int32_t), 0, "batch index", &t->iota));
    t->perm_host = malloc(sizeof(int32_t) * (size_t)tr->count);
    int32_t *iota = malloc(sizeof(int32_t) * B); /* after the allocations that may fail: no leak */
    if (!t->perm_host || !iota) {
        free(iota);
        return cm_fail(CM_ERR_MEMORY, "out of host memory for the shuffle order");
    }
    for (size_t i = 0; i < B; i++)
        iota[i] = (int32_t)i;
    cm_status st = backend_upload(b, t->iota, 0, iota, B * sizeof(int32_t));
    if (st == CM_OK) st = backend_finish(b); /* before iota goes */
    free(iota);
    CM_TRY(st);

    size_t image_bytes = (size_t)tr->count * (size_t)tr->dim;
    t->resident = trainer_feed_resident(b, tr, t->cfg.feed);
    if (t->resident) {
        CM_TRY(backend_alloc(b, image_bytes, 0, "training images", &t->train_u8));
        CM_TRY(backend_alloc(b, (size_t)tr->count, 0, "training labels", &t->train_labels));
        CM_TRY(backend_alloc(b, sizeof(int32_t) * (size_t)tr->count, 0, "shuffle order", &t->perm));
        CM_TRY(backend_upload(b, t->train_u8, 0, tr->images, image_bytes));
        CM_TRY(backend_upload(b, t->train_labels, 0, tr->labels, (size_t)tr->count));
    }
    return backend_finish(b);
}

int trainer_feed_resident(const cm_backend *b, const cm_split *train, cm_feed_mode feed) {
    size_t image_bytes = (size_t)train->count * (size_t)train->dim;
    if (feed != CM_FEED_AUTO) return feed == CM_FEED_RESIDENT;
    /* measured equal on PoCL; resident spares the host per-step work (docs/BENCHMARKS.md) */
    return image_bytes <= b->max_alloc_bytes && image_bytes <= b->global_mem_bytes / 4;
}

int trainer_opt_states(const cm_train_config *c) {
    switch (c->optimizer) {
    case CM_OPT_ADAM:
    case CM_OPT_ADAMW: return 2;
    case CM_OPT_NESTEROV: return 1;
    case CM_OPT_SGD:
    default: return c->momentum > 0.0f ? 1 : 0;
    }
}

/* Mirrors setup(): keep the two in step. */
cm_train_memory trainer_memory_estimate(const cm_layout *L, const cm_train_config *cfg, const cm_split *train,
                                        int resident) {
    cm_train_memory m = {0};
    int ranks = cfg->dist && cfg->dist->size > 1 ? cfg->dist->size : 1, local = cfg->batch / ranks;
    size_t B = (size_t)local, net_largest, scratch_largest, count = (size_t)train->count;
    m.params = fbytes(L->total) + fbytes(L->trainable) * (size_t)(1 + trainer_opt_states(cfg));
    m.activations = net_memory_bytes(L, local, &net_largest) + infer_batch_bytes(L, local);
    m.activations += 2 * B * sizeof(int32_t) + 2 * fbytes(B) + 2 * (B * (size_t)train->dim + B);
    if (resident) m.data = count * (size_t)train->dim + count + count * sizeof(int32_t);
    m.scratch = net_scratch_bytes(L, local, &scratch_largest);
    net_largest = scratch_largest > net_largest ? scratch_largest : net_largest;
    m.largest = fbytes(L->total) > net_largest ? fbytes(L->total) : net_largest;
    if (resident && count * (size_t)train->dim > m.largest) m.largest = count * (size_t)train->dim;
    return m;
}

static cm_status check_config(const cm_train_config *c) {
    if (!(c->momentum >= 0.0f && c->momentum < 1.0f))
        return cm_fail(CM_ERR_USAGE, "--momentum %g: must be in [0, 1)", (double)c->momentum);
    if (c->optimizer == CM_OPT_NESTEROV && !(c->momentum > 0.0f))
        return cm_fail(CM_ERR_USAGE, "--optimizer nesterov needs --momentum greater than 0");
    if (c->optimizer == CM_OPT_ADAM || c->optimizer == CM_OPT_ADAMW) {
        if (!(c->beta1 >= 0.0f && c->beta1 < 1.0f) || !(c->beta2 >= 0.0f && c->beta2 < 1.0f))
            return cm_fail(CM_ERR_USAGE, "--beta1 %g / --beta2 %g: must be in [0, 1)", (double)c->beta1,
                           (double)c->beta2);
        if (!(c->eps > 0.0f)) return cm_fail(CM_ERR_USAGE, "--eps %g: must be positive", (double)c->eps);
    }
    if (!(c->weight_decay >= 0.0f) || !isfinite(c->weight_decay))
        return cm_fail(CM_ERR_USAGE, "--weight-decay %g: must be 0 or positive", (double)c->weight_decay);
    if (!(c->max_norm >= 0.0f))
        return cm_fail(CM_ERR_USAGE, "--max-norm %g: must be 0 or positive", (double)c->max_norm);
    if (c->schedule == CM_SCHEDULE_STEP && (c->step_size < 1 || !(c->gamma > 0.0f)))
        return cm_fail(CM_ERR_USAGE, "--schedule step needs --step-size >= 1 and --gamma > 0");
    if (c->warmup_steps < 0) return cm_fail(CM_ERR_USAGE, "--warmup-steps %d: must be 0 or more", c->warmup_steps);
    const cm_augment *a = &c->augment;
    if (!(a->shift >= 0.0f && a->shift <= 64.0f) || !(a->rotate >= 0.0f && a->rotate <= 180.0f) ||
        !(a->scale >= 0.0f && a->scale < 1.0f) || !(a->flip >= 0.0f && a->flip <= 1.0f) ||
        !(a->crop >= 0.0f && a->crop <= 64.0f && a->crop == (float)(int)a->crop))
        return cm_fail(CM_ERR_USAGE,
                       "--augment shift=%g,rotate=%g,scale=%g,flip=%g,crop=%g: expected shift in [0, 64] pixels, "
                       "rotate in [0, 180] degrees, scale in [0, 1), flip in [0, 1], crop a whole number in [0, 64]",
                       (double)a->shift, (double)a->rotate, (double)a->scale, (double)a->flip, (double)a->crop);
    return CM_OK;
}

cm_status trainer_check_batch(int batch, const cm_dist *d) {
    int ranks = d && d->size > 1 ? d->size : 1;
    if (batch % ranks)
        return cm_fail(CM_ERR_USAGE,
                       "--batch %d does not split over %d ranks: each rank trains an equal share of every batch; "
                       "give a multiple of %d",
                       batch, ranks, ranks);
    return CM_OK;
}

cm_status trainer_create(cm_backend *b, const cm_dataset *ds, const cm_model *model, const cm_train_config *cfg,
                         cm_trainer **out) {
    *out = NULL;
    if (cfg->batch < 1 || cfg->batch > (1 << 20))
        return cm_fail(CM_ERR_USAGE, "--batch %d: must be between 1 and %d", cfg->batch, 1 << 20);
    if (!(cfg->lr > 0.0f) || !isfinite(cfg->lr))
        return cm_fail(CM_ERR_USAGE, "--lr %g: must be a positive number", (double)cfg->lr);
    if (model->layout.align_bytes % b->align_bytes)
        return cm_fail(CM_ERR_USAGE, "model parameters are aligned to %zu bytes; backend '%s' needs %zu",
                       model->layout.align_bytes, b->device_name, b->align_bytes);
    const cm_layout *L = &model->layout;
    if ((int)shape_numel(L->input) != ds->train.dim || L->classes != ds->classes)
        return cm_fail(CM_ERR_USAGE, "model takes %dx%dx%d inputs and has %d classes; the data has %dx%d images and %d",
                       L->input.c, L->input.h, L->input.w, L->classes, ds->train.rows, ds->train.cols, ds->classes);
    CM_TRY(check_config(cfg));
    CM_TRY(trainer_check_batch(cfg->batch, cfg->dist));
    int ranks = cfg->dist && cfg->dist->size > 1 ? cfg->dist->size : 1;
    cm_trainer *t = calloc(1, sizeof *t);
    if (!t) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    t->ranks = ranks;
    t->rank = ranks > 1 ? cfg->dist->rank : 0;
    t->local_batch = cfg->batch / ranks;
    t->b = b;
    t->L = model->layout;
    t->cfg = *cfg;
    t->ds = ds;
    cm_status st = setup(t, model);
    if (st != CM_OK) {
        trainer_destroy(t);
        return st;
    }
    *out = t;
    return CM_OK;
}

void trainer_destroy(cm_trainer *t) {
    if (!t) return;
    cm_backend *b = t->b;
    backend_finish(b);
    infer_destroy(t->eval);
    net_destroy(t->net);
    cm_buf *bufs[] = {t->params,      t->grads,       t->opt_m,           t->opt_v,           t->labels,
                      t->acc_loss,    t->acc_correct, t->train_u8,        t->train_labels,    t->perm,
                      t->stage_u8[0], t->stage_u8[1], t->stage_labels[0], t->stage_labels[1], t->iota};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        backend_release(b, bufs[i]);
    free(t->perm_host);
    free(t->sync);
    free(t);
}

cm_status trainer_begin_epoch(cm_trainer *t, int epoch) {
    const cm_split *tr = &t->ds->train;
    cm_rng rng;
    rng_seed(&rng, t->cfg.seed, 0x73687566ULL + (uint64_t)epoch /* "shuf" + epoch */);
    for (int32_t i = 0; i < tr->count; i++)
        t->perm_host[i] = i;
    rng_shuffle(&rng, t->perm_host, tr->count);
    if (t->resident) CM_TRY(backend_upload(t->b, t->perm, 0, t->perm_host, sizeof(int32_t) * (size_t)tr->count));
    CM_TRY(backend_fill(t->b, t->acc_loss, 0.0f, (size_t)t->local_batch));
    CM_TRY(backend_fill(t->b, t->acc_correct, 0.0f, (size_t)t->local_batch));
    t->step = 0;
    t->staged = 0;
    t->seen = 0;
    t->stop_asked = t->stop_agreed = 0;
    return CM_OK;
}

static int batch_rows(const cm_trainer *t, int step, int32_t count) {
    int32_t off = step * t->cfg.batch;
    return count - off < t->cfg.batch ? (int)(count - off) : t->cfg.batch;
}

void trainer_share(int total, int rank, int ranks, int *first, int *n) {
    int base = total / ranks, extra = total % ranks;
    *first = rank * base + (rank < extra ? rank : extra);
    *n = base + (rank < extra);
}

/* Streamed feed: copy this rank's share of batch `step` of this epoch's order into staging slot
 * step % 2. */
static cm_status stage_train_batch(cm_trainer *t, int step) {
    const cm_split *tr = &t->ds->train;
    int s = step & 1, first, n;
    trainer_share(batch_rows(t, step, tr->count), t->rank, t->ranks, &first, &n);
    if (n == 0) return CM_OK;
    return backend_stage_rows(t->b, t->stage_u8[s], t->stage_labels[s], tr->images, tr->labels,
                              t->perm_host + (size_t)step * t->cfg.batch + first, n, tr->dim);
}

static int augmenting(const cm_trainer *t) {
    const cm_augment *a = &t->cfg.augment;
    return a->shift > 0.0f || a->rotate > 0.0f || a->scale > 0.0f || a->flip > 0.0f || a->crop > 0.0f;
}

static cm_net_mode train_mode(const cm_trainer *t, int first) {
    cm_net_mode m = {.training = true, .seed = t->cfg.seed, .step = (uint64_t)t->global_step, .row0 = (uint32_t)first};
    return m;
}

cm_schedule_config trainer_schedule(const cm_trainer *t) {
    int64_t spe = trainer_steps_per_epoch(t);
    cm_schedule_config s = {.kind = t->cfg.schedule,
                            .lr = t->cfg.lr,
                            .total = spe * (t->cfg.epochs > 0 ? t->cfg.epochs : 1),
                            .step_steps = spe * (t->cfg.step_size > 0 ? t->cfg.step_size : 1),
                            .gamma = t->cfg.gamma,
                            .warmup = t->cfg.warmup_steps};
    return s;
}

float trainer_current_lr(const cm_trainer *t) {
    cm_schedule_config s = trainer_schedule(t);
    return schedule_lr(&s, t->global_step);
}

/* The scalars of this step's update; Adam's bias corrections in double, as PyTorch does. */
static cm_opt_step opt_step(const cm_trainer *t) {
    const cm_train_config *c = &t->cfg;
    cm_opt_step s = {.kind = c->optimizer,
                     .lr = trainer_current_lr(t),
                     .momentum = c->momentum,
                     .weight_decay = c->weight_decay,
                     .beta1 = c->beta1,
                     .beta2 = c->beta2,
                     .eps = c->eps};
    if (c->optimizer == CM_OPT_ADAM || c->optimizer == CM_OPT_ADAMW) {
        double step = (double)(t->global_step + 1);
        s.step_size = (float)((double)s.lr / (1.0 - pow((double)c->beta1, step)));
        s.bc2_sqrt = (float)sqrt(1.0 - pow((double)c->beta2, step));
    }
    return s;
}

/* x (rows, C, H, W) float and labels (rows) int32: this rank's share of this step's batch, rows
 * from row `first` of it, augmented if asked. */
static cm_status load_train_batch(cm_trainer *t, int first, int rows, int steps) {
    const cm_split *tr = &t->ds->train;
    cm_buf *src = t->train_u8, *src_labels = t->train_labels, *idx = t->perm, *x = net_input(t->net);
    size_t idx_off = (size_t)t->step * t->cfg.batch + (size_t)first;
    if (!t->resident) {
        if (!t->staged) CM_TRY(stage_train_batch(t, t->step));
        src = t->stage_u8[t->step & 1], src_labels = t->stage_labels[t->step & 1], idx = t->iota, idx_off = 0;
    }
    if (augmenting(t))
        CM_TRY(backend_gather_augment(t->b, src, src_labels, idx, idx_off, rows, split_channels(tr), tr->rows, tr->cols,
                                      PIXEL_SCALE, &t->cfg.augment, t->cfg.seed, (uint64_t)t->global_step,
                                      (uint32_t)first, x, t->labels));
    else
        CM_TRY(backend_gather(t->b, src, src_labels, idx, idx_off, rows, tr->dim, PIXEL_SCALE, x, t->labels));
    CM_TRY(net_normalize_input(t->net, rows));
    if (!t->resident) { /* upload the next batch while this one computes */
        t->staged = t->step + 1 < steps;
        if (t->staged) CM_TRY(stage_train_batch(t, t->step + 1));
    }
    return CM_OK;
}

/* The sync hook between backward and update. Alone: nothing. With several ranks: each rank's
 * gradient is the mean over its `rows` of the batch's `total`; weighted by rows / total and summed
 * over the ranks (one dist_sum_floats: download, sum, upload), it is the mean over the whole
 * batch, the gradient one process computes. The sum carries the stop requests too. */
static cm_status sync_grads(cm_trainer *t, int rows, int total) {
    if (t->ranks < 2) return CM_OK;
    size_t n = t->L.trainable;
    CM_TRY(backend_finish(t->b)); /* the backward pass, which the download would wait for: not timed */
    double t0 = timer_now();
    CM_TRY(backend_download(t->b, t->grads, 0, t->sync, fbytes(n)));
    const float w = (float)rows / (float)total;
    for (size_t i = 0; i < n; i++)
        t->sync[i] *= w;
    t->sync[n] = t->stop_asked ? 1.0f : 0.0f;
    CM_TRY(dist_sum_floats(t->cfg.dist, t->sync, n + 1));
    t->stop_agreed = t->sync[n] > 0.0f;
    cm_status st = backend_upload(t->b, t->grads, 0, t->sync, fbytes(n));
    t->sync_seconds += timer_now() - t0;
    return st;
}

/* Forward, loss and backward of this rank's `rows` (from row `first` of the batch); a rank with
 * no rows of a short last batch contributes a zero gradient. */
static cm_status forward_backward(cm_trainer *t, int first, int rows, int steps) {
    if (rows == 0) return backend_fill(t->b, t->grads, 0.0f, t->L.trainable);
    cm_net_mode mode = train_mode(t, first);
    CM_TRY(load_train_batch(t, first, rows, steps)); /* x (rows, C, H, W), labels (rows) */
    CM_TRY(net_forward(t->net, rows, &mode));        /* logits (rows, classes) */
    /* loss: dlogits (rows, classes) = d mean cross-entropy / d logits; sums into acc_* (B) */
    CM_TRY(backend_softmax_xent(t->b, net_logits(t->net), t->labels, net_dlogits(t->net), t->acc_loss, t->acc_correct,
                                rows, t->L.classes));
    return net_backward(t->net, rows, &mode); /* grads (L.trainable) */
}

cm_status trainer_step(cm_trainer *t) {
    int steps = trainer_steps_per_epoch(t);
    if (t->step >= steps) return cm_fail(CM_ERR_USAGE, "trainer_step: the epoch has no batches left");
    int total = batch_rows(t, t->step, t->ds->train.count), first, rows;
    trainer_share(total, t->rank, t->ranks, &first, &rows);
    double t0 = t->ranks > 1 ? timer_now() : 0.0;

    CM_TRY(forward_backward(t, first, rows, steps));
    CM_TRY(sync_grads(t, rows, total));
    /* update: one launch over the whole trainable part of the flat array, then the max-norm constraint */
    cm_opt_step os = opt_step(t);
    CM_TRY(backend_opt_update(t->b, t->params, t->grads, t->opt_m, t->opt_v, t->L.trainable, &os));
    if (t->cfg.max_norm > 0.0f) CM_TRY(net_max_norm(t->net, t->cfg.max_norm));
    t->step++;
    t->global_step++;
    t->seen += rows;
    if (t->ranks > 1) t->step_seconds += timer_now() - t0;
    return CM_OK;
}
