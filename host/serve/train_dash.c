/* train_dash.c: `clmnist train --serve` (train_dash.h). */
#include "train_dash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "run_options.h"
#include "serve_assets.h"
#include "timer.h"

#define POINTS_PER_EPOCH 8 /* at least; a point every 200 steps at most */
#define MIN_POINT_S 0.25   /* and no more than 4 points a second, whatever the step time */

/* serve's page files, with the dashboard at / and the drawing page at /draw.html. */
static cm_status dash_assets(cm_train_dash *td) {
    td->assets = calloc((size_t)cm_serve_asset_count, sizeof *td->assets);
    if (!td->assets) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    for (int i = 0; i < cm_serve_asset_count; i++) {
        td->assets[i] = cm_serve_assets[i];
        if (!strcmp(td->assets[i].path, "/index.html")) td->assets[i].path = "/draw.html";
        if (!strcmp(td->assets[i].path, "/dashboard.html")) td->assets[i].path = "/index.html";
    }
    return CM_OK;
}

static cm_status listen_on(cm_train_dash *td, const cm_train_dash_options *o) {
    dashboard_routes(td->dash, td->routes);
    CM_TRY(dash_assets(td));
    cm_http_config cfg = {.bind = o->bind,
                          .port = o->port,
                          .thread_per_connection = 1,
                          .max_connections = 32,
                          .timeout_s = 30,
                          .max_body = 4u << 20,
                          .routes = td->routes,
                          .nroutes = CM_DASHBOARD_ROUTES,
                          .assets = td->assets,
                          .nassets = cm_serve_asset_count,
                          .listener = o->listener};
    CM_TRY(http_server_start(&cfg, &td->srv));
    const char *shown = !strcmp(o->bind, "0.0.0.0") || !strcmp(o->bind, "::") ? "localhost" : o->bind;
    int v6 = strchr(shown, ':') != NULL;
    snprintf(td->url, sizeof td->url, "http://%s%s%s:%d/", v6 ? "[" : "", shown, v6 ? "]" : "",
             http_server_port(td->srv));
    printf("dashboard: %s (POST /api/stop or Ctrl-C stops training after the current step)\n", td->url);
    fflush(stdout);
    return CM_OK;
}

cm_status train_dash_start(cm_train_dash *td, const cm_train_dash_options *o, const cm_dataset *ds,
                           const cm_split *eval, const cm_backend *b, int epochs, int start_epoch) {
    *td = (cm_train_dash){.backend = o->backend, .epochs = epochs, .start_epoch = start_epoch};
    const char *const *known = run_known_class_names(ds->name, ds->classes);
    static char store[CM_DASH_CLASSES][8];
    static const char *numbers[CM_DASH_CLASSES];
    for (int c = 0; c < CM_DASH_CLASSES; c++) {
        snprintf(store[c], sizeof store[c], "%d", c);
        numbers[c] = store[c];
    }
    if (ds->class_names) known = (const char *const *)ds->class_names; /* the data's own (folders, classes.txt) */
    if (!known && ds->classes > CM_DASH_CLASSES)
        return cm_fail(CM_ERR_USAGE, "--serve: %d classes; the dashboard shows at most %d", ds->classes,
                       CM_DASH_CLASSES);
    td->class_names = known ? known : numbers;
    cm_dashboard_info info = {.device = b->device_name,
                              .arch = o->arch,
                              .dataset = ds->name,
                              .backend = b->kind,
                              .eval_name = o->eval_name,
                              .classes = ds->classes,
                              .eval = eval,
                              .class_names = td->class_names,
                              .stop = o->stop};
    CM_TRY(dashboard_create(&info, &td->dash));
    td->status = (cm_dash_status){.state = "starting", .epochs = epochs, .epoch = start_epoch};
    dashboard_status(td->dash, &td->status);
    cm_status st = listen_on(td, o);
    if (st != CM_OK) train_dash_stop(td);
    return st;
}

static cm_status dash_epoch_begin(void *ctx, int epoch, int epochs, int steps) {
    cm_train_dash *td = ctx;
    td->every = steps / POINTS_PER_EPOCH < 1 ? 1 : steps / POINTS_PER_EPOCH > 200 ? 200 : steps / POINTS_PER_EPOCH;
    if (!td->t0) td->t0 = timer_now();
    td->epoch_t0 = timer_now();
    td->epoch = epoch;
    td->status.state = "training";
    td->status.epoch = epoch;
    td->status.step = 0;
    td->status.steps = steps;
    dashboard_status(td->dash, &td->status);
    return td->inner.epoch_begin ? td->inner.epoch_begin(td->inner.ctx, epoch, epochs, steps) : CM_OK;
}

/* A point of the curves and the status: the epoch's running means so far. */
static cm_status publish_point(cm_train_dash *td, cm_trainer *t, int done, int steps) {
    cm_stats s;
    CM_TRY(trainer_train_stats(t, &s));
    double now = timer_now(), lr = trainer_current_lr(t);
    double img_s = s.count / (now - td->epoch_t0 + 1e-9);
    cm_dash_point p = {.step = trainer_global_step(t),
                       .epoch = td->epoch - 1 + (double)done / steps,
                       .loss = (float)s.loss,
                       .acc = (float)s.accuracy,
                       .lr = (float)lr,
                       .img_s = (float)img_s};
    dashboard_point(td->dash, &p);
    int64_t left = (int64_t)(td->epochs - td->epoch) * steps + (steps - done);
    cm_dash_status *st = &td->status;
    st->step = done;
    st->lr = lr;
    st->img_s = img_s;
    st->elapsed_s = now - td->t0;
    st->eta_s = td->steps_done ? st->elapsed_s / (double)td->steps_done * (double)left : 0.0;
    dashboard_status(td->dash, st);
    return CM_OK;
}

static cm_status dash_step(void *ctx, cm_trainer *t, int done, int steps) {
    cm_train_dash *td = ctx;
    td->steps_done++;
    if (done == steps || (done % td->every == 0 && timer_now() - td->last_point >= MIN_POINT_S)) {
        td->last_point = timer_now();
        CM_TRY(publish_point(td, t, done, steps));
    }
    return td->inner.step ? td->inner.step(td->inner.ctx, t, done, steps) : CM_OK;
}

static void dash_evaluating(void *ctx) {
    cm_train_dash *td = ctx;
    td->status.state = "evaluating";
    dashboard_status(td->dash, &td->status);
    if (td->inner.evaluating) td->inner.evaluating(td->inner.ctx);
}

static cm_status dash_epoch_end(void *ctx, const cm_epoch_result *r) {
    cm_train_dash *td = ctx;
    cm_dash_epoch e = {.epoch = r->epoch,
                       .train_loss = (float)r->train.loss,
                       .train_acc = (float)r->train.accuracy,
                       .eval_loss = (float)r->eval.loss,
                       .eval_acc = (float)r->eval.accuracy,
                       .lr = (float)r->lr_end,
                       .seconds = (float)r->seconds,
                       .img_s = (float)(r->train.count / (r->seconds + 1e-9))};
    dashboard_epoch(td->dash, &e, r->eval_pred);
    td->status.state = "training";
    dashboard_status(td->dash, &td->status);
    return td->inner.epoch_end ? td->inner.epoch_end(td->inner.ctx, r) : CM_OK;
}

static void dash_checkpoint(void *ctx, const char *path, int epoch) {
    cm_train_dash *td = ctx;
    if (td->inner.checkpoint) td->inner.checkpoint(td->inner.ctx, path, epoch);
}

static void dash_early_stop(void *ctx, int patience) {
    cm_train_dash *td = ctx;
    if (td->inner.early_stop) td->inner.early_stop(td->inner.ctx, patience);
}

static void dash_best_kept(void *ctx, int epoch, double accuracy) {
    cm_train_dash *td = ctx;
    if (td->inner.best_kept) td->inner.best_kept(td->inner.ctx, epoch, accuracy);
}

cm_train_observer train_dash_observer(cm_train_dash *td, const cm_train_observer *inner) {
    td->inner = *inner;
    return (cm_train_observer){.ctx = td,
                               .epoch_begin = dash_epoch_begin,
                               .step = dash_step,
                               .evaluating = dash_evaluating,
                               .epoch_end = dash_epoch_end,
                               .checkpoint = dash_checkpoint,
                               .early_stop = dash_early_stop,
                               .best_kept = dash_best_kept};
}

void train_dash_finish(cm_train_dash *td, cm_status st, const char *path, int stopped) {
    td->status.state = st == CM_OK ? "done" : "failed";
    td->status.stopped = stopped;
    dashboard_status(td->dash, &td->status);
    if (st != CM_OK || !path) return;
    cm_predictor_options po = {.backend = "host", .contexts = 2, .threads = 1};
    if (predictor_open(path, &po, &td->pred) != CM_OK) {
        fprintf(stderr, "clmnist: dashboard: no drawing page: %s\n", cm_last_error());
        cm_clear_error();
        return;
    }
    td->api = (cm_serve_api){.pred = td->pred,
                             .model_path = path,
                             .backend = "host",
                             .class_names = td->class_names,
                             .seed = (uint64_t)time(NULL)};
    dashboard_model_ready(td->dash, &td->api, path);
    printf("dashboard: training is over; draw a digit for %s at %sdraw.html (Ctrl-C stops the server)\n", path,
           td->url);
    fflush(stdout);
}

void train_dash_serve_until(cm_train_dash *td, int fd) {
    unsigned char b;
    while (read(fd, &b, 1) < 0 && errno == EINTR)
        ;
}

void train_dash_stop(cm_train_dash *td) {
    dashboard_close(td->dash);
    http_server_stop(td->srv);
    dashboard_destroy(td->dash);
    predictor_close(td->pred);
    free(td->assets);
    td->dash = NULL;
    td->srv = NULL;
    td->pred = NULL;
    td->assets = NULL;
}
