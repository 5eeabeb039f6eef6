/* dashboard.h: the live view of a training run (`clmnist train --serve`): the training thread
 * publishes small snapshots (a point of the curves, an epoch's evaluation, the status) and the
 * HTTP server's threads read them:
 *   GET  /api/events   Server-Sent Events: "status", "point" and "epoch" (with the confusion
 *                      matrix and the predictions of the sample grid), from the start of the run
 *   GET  /api/metrics  everything so far as one JSON object
 *   GET  /api/samples  the sample grid's test images (pixels 0-255) and labels
 *   GET  /api/health   {"status": "ok", "training": true|false}
 *   POST /api/stop     asks the run to stop after the current step (needs the token, or the
 *                      per-run secret only the dashboard page gets)
 *   GET  /api/openapi.json  serve's API description
 *   POST /api/predict, GET /api/model, /api/random: serve_api.h's, once the model is saved (503
 *                      before)
 * Publishing copies a few bytes under a mutex that readers hold only to copy them out: training
 * never waits for a client. Each event stream keeps its own position; one that falls behind by
 * more than the points kept skips the oldest. */
#ifndef CLMNIST_DASHBOARD_H
#define CLMNIST_DASHBOARD_H
#include <signal.h>
#include <stdio.h>
#include <stdint.h>

#include "dataset.h"
#include "http_server.h"
#include "serve_api.h"

#define CM_DASH_POINTS 4096 /* points kept (the oldest dropped beyond) */
#define CM_DASH_GRID 64     /* sample images with their predicted classes */
#define CM_DASH_CLASSES 64  /* the confusion matrix for up to this many classes */
#define CM_DASH_STREAMS 16  /* event streams at once; more: 503 */

typedef struct {
    int64_t step;    /* global step */
    double epoch;    /* fractional epoch: 1.5 = half of epoch 2 */
    float loss, acc; /* running means over the epoch so far */
    float lr, img_s;
} cm_dash_point;

typedef struct {
    int epoch;
    float train_loss, train_acc, eval_loss, eval_acc;
    float lr, seconds, img_s;
} cm_dash_epoch;

typedef struct {
    const char *state; /* a static string: "starting", "training", "evaluating", "stopping", "done", "failed" */
    int epoch, epochs, step, steps; /* the epoch in progress (1-based) and its step */
    double lr, img_s, eta_s, elapsed_s;
    int stopped; /* the run was asked to stop */
} cm_dash_status;

typedef struct {
    const char *device, *arch, *dataset, *backend;
    const char *eval_name; /* "test" or "val" */
    int classes;
    const cm_split *eval; /* the evaluated split (the grid: its first CM_DASH_GRID images) */
    const char *const *class_names;
    volatile sig_atomic_t *stop; /* POST /api/stop sets it */
} cm_dashboard_info;

typedef struct cm_dashboard cm_dashboard;

/* info's pointers must outlive the dashboard. */
cm_status dashboard_create(const cm_dashboard_info *info, cm_dashboard **out);
/* Ends every event stream (before the server stops); then frees. */
void dashboard_close(cm_dashboard *d);
void dashboard_destroy(cm_dashboard *d);

/* The training thread's side. */
void dashboard_status(cm_dashboard *d, const cm_dash_status *s);
void dashboard_point(cm_dashboard *d, const cm_dash_point *p);
/* pred: the evaluation's class for every example of info->eval, or NULL. */
void dashboard_epoch(cm_dashboard *d, const cm_dash_epoch *e, const int32_t *pred);
/* The saved model behind serve's API (api must outlive the server), for the drawing page. */
void dashboard_model_ready(cm_dashboard *d, cm_serve_api *api, const char *path);

#define CM_DASHBOARD_ROUTES 9
void dashboard_routes(cm_dashboard *d, cm_http_route *routes);
/* /metrics lines of the run (cm_http_config.metrics_extra; ctx: the dashboard): step, epoch, loss,
 * accuracy, images/s, and the model's lines once it is saved. */
void dashboard_metrics(void *ctx, FILE *out);

#endif
