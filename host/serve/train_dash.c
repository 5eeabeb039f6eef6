/* train_dash.c: `clmnist train --serve` (train_dash.h). */
#include "train_dash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "run_options.h"
#include "serve_assets.h"
#include "timer.h"

#define POINTS_PER_EPOCH 8 /* at least; a point every 200 steps at most */
#define MIN_POINT_S 0.25   /* and no more than 4 points a second, whatever the step time */

/* The dashboard page with POST /api/stop's per-run secret in a meta tag (auth.js sends it): the
 * page is this server's, which no other site's page can read (no CORS unless --cors). */
static cm_status secret_page(cm_train_dash *td, cm_http_asset *a) {
    static const char tag[] = "<meta name=\"clmnist-stop\" content=\"";
    const char *head = strstr((const char *)a->data, "</head>");
    size_t len = a->len + sizeof tag + 64 + 4;
    if (!head) return CM_OK;
    td->page = malloc(len);
    if (!td->page) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    int pre = (int)(head - (const char *)a->data);
    int n = snprintf(td->page, len, "%.*s%s%s\">\n%s", pre, (const char *)a->data, tag, td->stop_secret, head);
    a->data = (const unsigned char *)td->page;
    a->len = (size_t)n;
    return CM_OK;
}

/* serve's page files, with the dashboard at / and the drawing page at /draw.html. */
static cm_status dash_assets(cm_train_dash *td, int with_secret) {
    td->assets = calloc((size_t)cm_serve_asset_count, sizeof *td->assets);
    if (!td->assets) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    for (int i = 0; i < cm_serve_asset_count; i++) {
        cm_http_asset *a = &td->assets[td->nassets];
        *a = cm_serve_assets[i];
        if (!strcmp(a->path, "/openapi.json")) continue; /* a route: GET /api/openapi.json */
        td->nassets++;
        if (!strcmp(a->path, "/index.html")) a->path = "/draw.html";
        if (!strcmp(a->path, "/dashboard.html")) {
            a->path = "/index.html";
            if (with_secret) CM_TRY(secret_page(td, a));
        }
    }
    return CM_OK;
}

static cm_status listen_on(cm_train_dash *td, const cm_train_dash_options *o) {
    dashboard_routes(td->dash, td->routes);
    const char *token;
    int fresh;
    cm_status st = http_pick_token(o->bind, o->token, td->token, &token, &fresh);
    if (st == CM_OK && !token) st = http_random_secret(td->stop_secret);
    if (st == CM_OK) st = dash_assets(td, token == NULL);
    if (st != CM_OK) {
        http_listener_close(o->listener); /* http_server_start would have taken it over */
        return st;
    }
    cm_http_config cfg = {.bind = o->bind,
                          .port = o->port,
                          .thread_per_connection = 1,
                          .max_connections = 32,
                          .per_client = 16,
                          .timeout_s = 30,
                          .max_body = 4u << 20,
                          .routes = td->routes,
                          .nroutes = CM_DASHBOARD_ROUTES,
                          .assets = td->assets,
                          .nassets = td->nassets,
                          .listener = o->listener,
                          .token = token,
                          .stop_secret = token ? NULL : td->stop_secret,
                          .cors_origin = o->cors,
                          .tls_cert = o->tls_cert,
                          .tls_key = o->tls_key,
                          .metrics = 1,
                          .metrics_extra = dashboard_metrics,
                          .metrics_ctx = td->dash};
    CM_TRY(http_server_start(&cfg, &td->srv));
    if (fresh && o->note) {
        char msg[512];
        snprintf(msg, sizeof msg,
                 "dashboard: %s is not loopback: the dashboard and its API need this token (printed once; set "
                 "CLMNIST_TOKEN or --token to choose one): open %s://HOST:%d/?token=%s",
                 o->bind, o->tls_cert ? "https" : "http", http_server_port(td->srv), token);
        o->note(o->note_ctx, msg);
    }
    const char *shown = !strcmp(o->bind, "0.0.0.0") || !strcmp(o->bind, "::") ? "localhost" : o->bind;
    int v6 = strchr(shown, ':') != NULL;
    snprintf(td->url, sizeof td->url, "http%s://%s%s%s:%d/", o->tls_cert ? "s" : "", v6 ? "[" : "", shown,
             v6 ? "]" : "", http_server_port(td->srv));
    char line[320];
    snprintf(line, sizeof line,
             "dashboard: %s (its Stop button, POST /api/stop with the token, or Ctrl-C stops training after the "
             "current step)",
             td->url);
    if (o->note) o->note(o->note_ctx, line);
    return CM_OK;
}

cm_status dashboard_train_start(cm_train_dash *td, const cm_train_dash_options *o, const cm_dataset *ds,
                                const cm_split *eval, const cm_backend *b, int epochs, int start_epoch) {
    *td = (cm_train_dash){
        .backend = o->backend, .epochs = epochs, .start_epoch = start_epoch, .note = o->note, .note_ctx = o->note_ctx};
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
    if (st != CM_OK) dashboard_train_stop(td);
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

cm_train_observer dashboard_train_observer(cm_train_dash *td, const cm_train_observer *inner) {
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

void dashboard_train_finish(cm_train_dash *td, cm_status st, const char *path, int stopped) {
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
    char line[4400];
    snprintf(line, sizeof line,
             "dashboard: training is over; draw a digit for %s at %sdraw.html (Ctrl-C stops the server)", path,
             td->url);
    if (td->note) td->note(td->note_ctx, line);
}

void dashboard_train_stop(cm_train_dash *td) {
    dashboard_close(td->dash);
    http_server_stop(td->srv);
    dashboard_destroy(td->dash);
    predictor_close(td->pred);
    free(td->assets);
    free(td->page);
    td->page = NULL;
    td->dash = NULL;
    td->srv = NULL;
    td->pred = NULL;
    td->assets = NULL;
}
