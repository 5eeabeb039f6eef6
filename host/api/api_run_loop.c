/* api_run_loop.c: the run engine's loop and what follows it (api_run.h): the observer that turns
 * train_loop.h's callbacks into the caller's events and the report's rows, the dashboard, the
 * final evaluation, the save with its rescue file, the report and the summary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_run.h"
#include "dist.h"
#include "eval.h"
#include "preflight.h"
#include "report.h"
#include "timer.h"
#include "train_dash.h"
#include "transfer.h"

#define EVENT_EVERY_S 0.1 /* step events at most this often (and after an epoch's last step) */
#define STATS_EVERY_S 0.5 /* their statistics read at most this often: reading waits for the backend */
#define SERVING_POLL_S 0.2

typedef struct {
    api_run *r;
    const char *eval_name; /* "val" or "test" */
    double t0, last_event, last_stats;
    int epoch, epochs;
    cm_stats stats; /* the epoch's so far, as last read */
} relay;

static int send(relay *y, const clmnist_train_event *ev) {
    api_run *r = y->r;
    if (r->fn && r->fn(r->user, ev)) r->stop = 1;
    return 0;
}

static cm_status relay_epoch_begin(void *ctx, int epoch, int epochs, int steps) {
    relay *y = ctx;
    y->epoch = epoch, y->epochs = epochs;
    y->t0 = y->last_event = y->last_stats = timer_now();
    y->stats = (cm_stats){0};
    return CM_OK;
}

static cm_status relay_step(void *ctx, cm_trainer *t, int done, int steps) {
    relay *y = ctx;
    double now = timer_now();
    if (!y->r->fn || (done < steps && now - y->last_event < EVENT_EVERY_S)) return CM_OK;
    if (done == steps || !y->stats.count || now - y->last_stats >= STATS_EVERY_S) {
        CM_TRY(trainer_train_stats(t, &y->stats));
        y->last_stats = now = timer_now();
    }
    y->last_event = now;
    clmnist_train_event ev = {.kind = CLMNIST_EVENT_STEP,
                              .epoch = y->epoch,
                              .epochs = y->epochs,
                              .step = done,
                              .steps = steps,
                              .loss = y->stats.loss,
                              .accuracy = y->stats.accuracy,
                              .images_per_second = (double)y->stats.count / (y->last_stats - y->t0 + 1e-9),
                              .lr = trainer_current_lr(t),
                              .seconds = now - y->t0};
    send(y, &ev);
    return CM_OK;
}

static cm_status relay_epoch_end(void *ctx, const cm_epoch_result *e) {
    relay *y = ctx;
    const cm_stats *tr = &e->train, *ev = &e->eval;
    double rate = e->seconds > 0 ? (double)tr->count / e->seconds : 0.0;
    if (y->r->f.report) {
        cm_epoch_record rec = {e->epoch,  tr->loss,   tr->accuracy, ev->loss,    ev->accuracy, e->lr_start,
                               e->lr_end, e->seconds, rate,         e->lr_steps, e->nsteps};
        CM_TRY(diag_report_epoch(y->r->f.report, &rec));
    }
    clmnist_train_event out = {.kind = CLMNIST_EVENT_EPOCH,
                               .epoch = e->epoch,
                               .epochs = e->epochs,
                               .step = e->nsteps,
                               .steps = e->nsteps,
                               .loss = tr->loss,
                               .accuracy = tr->accuracy,
                               .images_per_second = rate,
                               .lr = e->lr_end,
                               .eval_loss = ev->loss,
                               .eval_accuracy = ev->accuracy,
                               .seconds = e->seconds,
                               .eval_name = y->eval_name};
    send(y, &out);
    return CM_OK;
}

static void relay_checkpoint(void *ctx, const char *path, int epoch) {
    api_note(((relay *)ctx)->r, "checkpoint: %s (after epoch %d)", path, epoch);
}

static void relay_early_stop(void *ctx, int patience) {
    api_note(((relay *)ctx)->r, "early stopping: no better val accuracy for %d epochs", patience);
}

static void relay_best_kept(void *ctx, int epoch, double accuracy) {
    api_note(((relay *)ctx)->r, "early stopping: keeping the weights of epoch %d (val acc %.2f%%)", epoch,
             100.0 * accuracy);
}

static cm_train_observer relay_observer(relay *y) {
    return (cm_train_observer){.ctx = y,
                               .epoch_begin = relay_epoch_begin,
                               .step = relay_step,
                               .epoch_end = relay_epoch_end,
                               .checkpoint = relay_checkpoint,
                               .early_stop = relay_early_stop,
                               .best_kept = relay_best_kept};
}

static void dash_note(void *ctx, const char *line) {
    api_note(ctx, "%s", line);
}

/* ---- the lines before and after the loop ------------------------------------------------- */

static void note_start(api_run *r, cm_trainer *t, const cm_train_loop *loop) {
    const cm_train_args *a = &r->a;
    const char *from = r->f.resume ? r->f.resume : r->f.init;
    char recipe[512], frozen[64] = "";
    run_describe_recipe(a, recipe, sizeof recipe);
    const cm_layout *L = trainer_layout(t);
    if (L->frozen_count) snprintf(frozen, sizeof frozen, ", %zu frozen", L->frozen_count);
    api_note(r, "model: %s (%zu parameters%s)%s%s, %s preset: %s, batch %d, %d epochs, seed %llu, data %s", r->arch,
             L->count, frozen, from ? " from " : "", from ? from : "", a->preset, recipe, a->batch, a->epochs,
             (unsigned long long)a->seed, trainer_is_resident(t) ? "resident" : "streamed");
    int best;
    double acc;
    train_loop_best(loop, &best, &acc);
    if (r->f.resume)
        api_note(r, "resuming after epoch %d of %d%s", r->start_epoch, a->epochs,
                 r->start_epoch == a->epochs ? ": training is complete; evaluating and saving the model" : "");
    if (r->f.resume && best)
        api_note(r, "early stopping: best so far epoch %d (val acc %.2f%%), patience %d", best, 100.0 * acc,
                 r->f.patience);
}

/* dir/report.html for the trained model t: the evaluation of `split` (its loss from ev_stats),
 * the curves of dir/metrics.jsonl and the run's metadata. */
static cm_status write_report(api_run *r, cm_trainer *t, const cm_stats *ev_stats, const cm_split *split) {
    const char *dir = r->f.report;
    int classes = r->ds.classes;
    int32_t *pred = malloc(sizeof(int32_t) * (size_t)(split->count ? split->count : 1));
    float *probs = malloc(sizeof(float) * (size_t)(split->count ? split->count : 1) * classes);
    cm_status st = pred && probs ? CM_OK : cm_fail(CM_ERR_MEMORY, "out of host memory");
    cm_eval ev;
    if (st == CM_OK) st = trainer_predict(t, split, pred, probs, NULL);
    if (st == CM_OK) st = eval_compute(split, pred, probs, classes, &ev);
    if (st == CM_OK) {
        ev.loss = ev_stats->loss;
        char title[256];
        snprintf(title, sizeof title, "clmnist training report: %s, %s", meta_get(r->meta, "layers"), r->ds.name);
        st = diag_report_html(dir, title, r->meta, 1, &ev, split, run_known_class_names(r->ds.name, classes));
        eval_free(&ev);
    }
    free(pred);
    free(probs);
    if (st == CM_OK) api_note(r, "report: %s/report.html and %s/metrics.jsonl", dir, dir);
    return st;
}

/* After the loop: the final evaluation (on the held-out test split with --val), the model, the
 * report and the summary. */
static cm_status finish(api_run *r, cm_trainer *t, const cm_train_result *res) {
    const cm_train_args *a = &r->a;
    cm_stats ev = res->eval;
    const cm_split *final_split = a->val ? &r->ds.heldout : &r->ds.test;
    if (a->val || res->end_epoch == r->start_epoch || res->stopped) /* also: nothing trained, or stopped */
        CM_TRY(trainer_evaluate(t, final_split, &ev));
    CM_TRY(meta_set(r->meta, "test_accuracy", "%.6f", ev.accuracy));
    CM_TRY(meta_set(r->meta, "test_loss", "%.6f", ev.loss));
    if (r->f.out) CM_TRY(preflight_save_trained(r->f.out, CM_OK, t, r->meta));
    if (r->f.report) CM_TRY(write_report(r, t, &ev, final_split));
    if (r->f.out) api_note(r, "model: saved to %s", r->f.out);
    const cm_dist *d = dist_world();
    double step_s, sync_s;
    trainer_sync_times(t, &step_s, &sync_s);
    if (d->size > 1 && step_s > 0)
        api_note(r,
                 "data parallel: %d ranks; on rank 0 the gradient sums took %.2f s of %.2f s in steps (%.1f%%), "
                 "MPI_Allreduce %.2f s of it (%ld calls of %.2f MB)",
                 d->size, sync_s, step_s, 100.0 * sync_s / step_s, d->comm_seconds, d->comm_calls,
                 (double)(trainer_layout(t)->trainable + 1) * sizeof(float) / 1e6);
    api_note(r, "done: %s on %s, %d epochs in %.1f s, test accuracy: %.2f%%", r->arch, r->b->device_name,
             res->end_epoch - r->start_epoch, res->seconds, 100.0 * ev.accuracy);
    int resumable = res->stopped ? res->stop_checkpoint : res->last_checkpoint == res->end_epoch;
    const char *cont = resumable ? "; continue with --resume " : "", *ckpt = resumable ? r->f.checkpoint : "";
    if (res->stopped && res->stopped_step)
        api_note(r, "stopped at step %d of epoch %d of %d%s%s", res->stopped_step, res->end_epoch + 1, a->epochs, cont,
                 ckpt);
    else if (res->end_epoch < a->epochs)
        api_note(r, "stopped after epoch %d of %d%s%s", res->end_epoch, a->epochs, cont, ckpt);
    return CM_OK;
}

/* ---- the dashboard ------------------------------------------------------------------------ */

static cm_status dash_start(api_run *r, cm_train_dash *td, const cm_train_run *run) {
    cm_train_dash_options o = {.bind = r->f.bind,
                               .port = r->f.serve_port,
                               .arch = r->arch,
                               .eval_name = r->a.val ? "val" : "test",
                               .stop = &r->stop,
                               .listener = r->listener,
                               .token = r->f.token,
                               .tls_cert = r->f.tls_cert,
                               .tls_key = r->f.tls_key,
                               .cors = r->f.cors,
                               .note = dash_note,
                               .note_ctx = r};
    r->listener = NULL; /* the dashboard's now */
    return dashboard_train_start(td, &o, &r->ds, run->eval, r->b, r->a.epochs, r->start_epoch);
}

/* After the run: the dashboard offers the saved model's drawing page while the observer, asked
 * a few times a second, says to go on. */
static void dash_after(api_run *r, cm_train_dash *td, cm_status st, const cm_train_result *res) {
    dashboard_train_finish(td, st, st == CM_OK ? r->f.out : NULL, st == CM_OK && res->stopped);
    if (st == CM_OK && r->fn) {
        clmnist_train_event ev = {.kind = CLMNIST_EVENT_SERVING, .epoch = res->end_epoch, .epochs = r->a.epochs};
        struct timespec pause = {0, (long)(SERVING_POLL_S * 1e9)};
        while (!r->fn(r->user, &ev))
            nanosleep(&pause, NULL);
        api_note(r, "dashboard: stopping");
    }
    dashboard_train_stop(td);
}

/* ---- the run -------------------------------------------------------------------------------- */

/* The trained parameters and the run's metadata as a model file. */
static cm_status trained_file(cm_trainer *t, const cm_meta *meta, cm_model_file *f) {
    memset(f, 0, sizeof *f);
    f->model.layout = *trainer_layout(t);
    f->model.params = calloc(f->model.layout.total, sizeof(float));
    if (!f->model.params) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    f->meta = *meta;
    return trainer_get_params(t, f->model.params);
}

/* The loop on trainer t, with the dashboard when asked for; the run's result in *res. */
static cm_status run_loop(api_run *r, cm_trainer *t, cm_train_run *run, cm_train_result *res) {
    cm_train_loop *loop = NULL;
    relay y = {.r = r, .eval_name = r->a.val ? "val" : "test"};
    cm_train_observer obs = relay_observer(&y), inner = obs;
    cm_train_dash td;
    cm_status st = train_loop_create(t, run, &loop);
    if (st == CM_OK && r->f.resume) st = train_loop_resume(loop, r->f.resume, &r->file);
    model_file_free(&r->file);
    if (st == CM_OK) st = run_model_meta(&r->a, &r->ds, r->b, r->meta);
    if (st == CM_OK) st = transfer_meta_copy(r->meta, r->finetune);
    if (st == CM_OK && r->f.report) st = diag_report_begin(r->f.report, r->f.resume != NULL);
    if (st == CM_OK) note_start(r, t, loop);
    int dash = st == CM_OK && r->f.serve_port >= 0 && r->rank == 0;
    if (dash) st = dash_start(r, &td, run);
    dash = dash && st == CM_OK;
    if (dash) obs = dashboard_train_observer(&td, &inner);
    if (st == CM_OK) {
        st = train_loop_run(loop, &obs, res);
        if (st == CM_ERR_IO && r->rank == 0)
            st = preflight_save_trained(NULL, st, t, r->meta); /* a checkpoint's disk full */
    }
    if (st == CM_OK) st = finish(r, t, res);
    if (dash) dash_after(r, &td, st, res);
    train_loop_destroy(loop);
    return st;
}

cm_status api_run_train(api_run *r, cm_model_file *out) {
    cm_dist *d = dist_world();
    cm_train_config cfg = run_train_config(&r->a);
    cfg.dist = d;
    cm_train_run run = {.not_writer = r->rank != 0,
                        .epochs = r->a.epochs,
                        .start_epoch = r->start_epoch,
                        .stop_after = r->f.stop_after,
                        .patience = r->f.patience,
                        .eval = &r->ds.test,
                        .checkpoint = r->f.checkpoint_every ? r->f.checkpoint : NULL,
                        .checkpoint_every = r->f.checkpoint_every,
                        .meta = r->meta,
                        .stop = &r->stop};
    cm_trainer *t = NULL;
    cm_train_result res = {0};
    /* the dashboard shows each evaluation's confusion matrix and predictions */
    int dash = r->f.serve_port >= 0;
    if (dash) run.eval_pred = malloc(sizeof(int32_t) * (size_t)(run.eval->count ? run.eval->count : 1));
    cm_status st = dash && !run.eval_pred ? cm_fail(CM_ERR_MEMORY, "out of host memory") : CM_OK;
    if (st == CM_OK) st = trainer_check_batch(cfg.batch, cfg.dist); /* --resume's batch too */
    if (st == CM_OK) st = dist_begin_work(cfg.dist);                /* every rank is ready: the collectives start */
    if (st == CM_OK) st = trainer_create(r->b, &r->ds, &r->file.model, &cfg, &t);
    if (st == CM_OK) st = run_loop(r, t, &run, &res);
    if (st == CM_OK && out) st = trained_file(t, r->meta, out);
    trainer_destroy(t);
    free(run.eval_pred);
    return st;
}
