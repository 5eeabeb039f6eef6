/* train_view.c: the terminal's view of a training run (train_view.h). */
#include "train_view.h"

#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "eval.h"
#include "report.h"
#include "timer.h"

static cm_status view_epoch_begin(void *ctx, int epoch, int epochs, int steps) {
    cm_train_view *v = ctx;
    char label[32];
    snprintf(label, sizeof label, "epoch %d/%d", epoch, epochs);
    progress_begin(&v->bar, stdout, label);
    v->t0 = v->last_stats = timer_now();
    v->extra[0] = '\0';
    return CM_OK;
}

static cm_status view_step(void *ctx, cm_trainer *t, int done, int steps) {
    cm_train_view *v = ctx;
    if (v->bar.enabled && timer_now() - v->last_stats > 0.5) { /* reading stats waits for the device: rarely */
        cm_stats st;
        CM_TRY(trainer_train_stats(t, &st));
        v->last_stats = timer_now();
        snprintf(v->extra, sizeof v->extra, "loss %.4f  acc %.2f%%  %.0f img/s", st.loss, 100.0 * st.accuracy,
                 (double)st.count / (v->last_stats - v->t0));
    }
    progress_update(&v->bar, done, steps, v->extra);
    return CM_OK;
}

static void view_evaluating(void *ctx) {
    cm_train_view *v = ctx;
    progress_end(&v->bar);
}

static cm_status view_epoch_end(void *ctx, const cm_epoch_result *r) {
    const cm_train_view *v = ctx;
    const cm_stats *tr = &r->train, *ev = &r->eval;
    double rate = (double)tr->count / r->seconds;
    printf("epoch %d/%d: train loss %.4f, train acc %.2f%%, %s loss %.4f, %s acc %.2f%%, %.2f s (%.0f img/s)\n",
           r->epoch, r->epochs, tr->loss, 100.0 * tr->accuracy, v->eval_name, ev->loss, v->eval_name,
           100.0 * ev->accuracy, r->seconds, rate);
    fflush(stdout);
    if (!v->report) return CM_OK;
    cm_epoch_record rec = {r->epoch,  tr->loss,   tr->accuracy, ev->loss,    ev->accuracy, r->lr_start,
                           r->lr_end, r->seconds, rate,         r->lr_steps, r->nsteps};
    return report_epoch(v->report, &rec);
}

static void view_checkpoint(void *ctx, const char *path, int epoch) {
    printf("checkpoint: %s (after epoch %d)\n", path, epoch);
}

static void view_early_stop(void *ctx, int patience) {
    printf("early stopping: no better val accuracy for %d epochs\n", patience);
}

static void view_best_kept(void *ctx, int epoch, double accuracy) {
    printf("early stopping: keeping the weights of epoch %d (val acc %.2f%%)\n", epoch, 100.0 * accuracy);
}

cm_train_observer train_view_observer(cm_train_view *v, const char *eval_name, const char *report) {
    *v = (cm_train_view){.eval_name = eval_name, .report = report};
    return (cm_train_observer){.ctx = v,
                               .epoch_begin = view_epoch_begin,
                               .step = view_step,
                               .evaluating = view_evaluating,
                               .epoch_end = view_epoch_end,
                               .checkpoint = view_checkpoint,
                               .early_stop = view_early_stop,
                               .best_kept = view_best_kept};
}

cm_status train_view_write_report(cm_trainer *t, const char *dir, const cm_dataset *ds, const cm_meta *meta,
                                  const cm_stats *ev_stats, const cm_split *split) {
    int classes = ds->classes;
    int32_t *pred = malloc(sizeof(int32_t) * (size_t)split->count);
    float *probs = malloc(sizeof(float) * (size_t)split->count * classes);
    cm_status st = pred && probs ? CM_OK : cm_fail(CM_ERR_MEMORY, "out of host memory");
    cm_eval ev;
    if (st == CM_OK) st = trainer_predict(t, split, pred, probs, NULL);
    if (st == CM_OK) st = eval_compute(split, pred, probs, classes, &ev);
    if (st == CM_OK) {
        ev.loss = ev_stats->loss;
        char title[256];
        snprintf(title, sizeof title, "clmnist training report: %s, %s", meta_get(meta, "layers"), ds->name);
        st = report_write_html(dir, title, meta, 1, &ev, split, run_known_class_names(ds->name, classes));
        eval_free(&ev);
    }
    free(pred);
    free(probs);
    if (st == CM_OK) printf("report: %s/report.html and %s/metrics.jsonl\n", dir, dir);
    return st;
}
