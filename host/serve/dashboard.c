/* dashboard.c: the dashboard's state and the training thread's publications (dashboard.h). */
#include "dashboard_impl.h"

#include <stdlib.h>
#include <string.h>

cm_status dashboard_create(const cm_dashboard_info *info, cm_dashboard **out) {
    *out = NULL;
    cm_dashboard *d = calloc(1, sizeof *d);
    if (!d) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    d->info = *info;
    d->grid_n = info->eval ? (info->eval->count < CM_DASH_GRID ? info->eval->count : CM_DASH_GRID) : 0;
    for (int i = 0; i < CM_DASH_GRID; i++)
        d->grid_pred[i] = -1;
    d->status.state = "starting";
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->changed, NULL);
    *out = d;
    return CM_OK;
}

void dashboard_close(cm_dashboard *d) {
    if (!d) return;
    pthread_mutex_lock(&d->mu);
    d->closing = 1;
    pthread_cond_broadcast(&d->changed);
    pthread_mutex_unlock(&d->mu);
}

void dashboard_destroy(cm_dashboard *d) {
    if (!d) return;
    pthread_cond_destroy(&d->changed);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

static void published(cm_dashboard *d) {
    d->gen++;
    pthread_cond_broadcast(&d->changed);
    pthread_mutex_unlock(&d->mu);
}

void dashboard_status(cm_dashboard *d, const cm_dash_status *s) {
    pthread_mutex_lock(&d->mu);
    d->status = *s;
    published(d);
}

void dashboard_point(cm_dashboard *d, const cm_dash_point *p) {
    pthread_mutex_lock(&d->mu);
    d->ring[d->npoints % CM_DASH_POINTS] = *p;
    d->npoints++;
    published(d);
}

/* The confusion matrix and the grid's predictions, computed before taking the mutex. */
static void tally(const cm_dashboard *d, const int32_t *pred, int32_t *conf, int32_t *grid) {
    const cm_split *ev = d->info.eval;
    int k = d->info.classes;
    memset(conf, 0, sizeof(int32_t) * CM_DASH_CLASSES * CM_DASH_CLASSES);
    for (int i = 0; k <= CM_DASH_CLASSES && i < ev->count; i++)
        if (ev->labels[i] < k && pred[i] >= 0 && pred[i] < k) conf[ev->labels[i] * k + pred[i]]++;
    for (int i = 0; i < d->grid_n; i++)
        grid[i] = pred[i];
}

void dashboard_epoch(cm_dashboard *d, const cm_dash_epoch *e, const int32_t *pred) {
    static int32_t conf[CM_DASH_CLASSES * CM_DASH_CLASSES]; /* the training thread only */
    int32_t grid[CM_DASH_GRID];
    int have = pred && d->info.eval && d->info.classes <= CM_DASH_CLASSES;
    if (have) tally(d, pred, conf, grid);
    pthread_mutex_lock(&d->mu);
    if (d->nepochs < DASH_EPOCHS_MAX) d->epochs[d->nepochs++] = *e;
    if (have) {
        memcpy(d->confusion, conf, sizeof conf);
        memcpy(d->grid_pred, grid, sizeof(int32_t) * (size_t)d->grid_n);
        d->has_confusion = 1;
    }
    published(d);
}

void dashboard_model_ready(cm_dashboard *d, cm_serve_api *api, const char *path) {
    pthread_mutex_lock(&d->mu);
    d->api = api;
    strncpy(d->model_path, path, sizeof d->model_path - 1);
    published(d);
}

void dash_copy(const cm_dashboard *d, uint64_t from_point, int from_epoch, int max_points, dash_snapshot *s) {
    s->gen = d->gen;
    s->status = d->status;
    uint64_t oldest = d->npoints > CM_DASH_POINTS ? d->npoints - CM_DASH_POINTS : 0;
    if (from_point < oldest) from_point = oldest; /* a slow reader skips what is gone */
    if (d->npoints - from_point > (uint64_t)max_points) from_point = d->npoints - (uint64_t)max_points;
    if (from_point > d->npoints) from_point = d->npoints;
    s->first_point = from_point;
    s->npoints = d->npoints;
    for (uint64_t i = from_point; i < d->npoints; i++)
        s->pts[i - from_point] = d->ring[i % CM_DASH_POINTS];
    if (from_epoch > d->nepochs) from_epoch = d->nepochs;
    s->first_epoch = from_epoch;
    s->nepochs = d->nepochs;
    memcpy(s->eps, d->epochs + from_epoch, sizeof(cm_dash_epoch) * (size_t)(d->nepochs - from_epoch));
    s->has_confusion = d->has_confusion;
    s->model_ready = d->api != NULL;
    if (d->has_confusion) memcpy(s->confusion, d->confusion, sizeof s->confusion);
    memcpy(s->grid_pred, d->grid_pred, sizeof s->grid_pred);
}
