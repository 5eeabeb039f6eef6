/* dashboard_impl.h: the dashboard's shared state (dashboard.c) and its readers (dashboard_api.c). */
#ifndef CLMNIST_DASHBOARD_IMPL_H
#define CLMNIST_DASHBOARD_IMPL_H
#include <pthread.h>

#include "dashboard.h"

#define DASH_EPOCHS_MAX 4096

struct cm_dashboard {
    cm_dashboard_info info;
    int grid_n;             /* images in the grid */
    pthread_mutex_t mu;     /* guards everything below */
    pthread_cond_t changed; /* broadcast on every publication */
    uint64_t gen;           /* publications so far */
    int closing;            /* the streams end */
    int streams;            /* open event streams */
    cm_dash_status status;  /* state points to a static string */
    uint64_t npoints;       /* points published; the last CM_DASH_POINTS kept in ring */
    cm_dash_point ring[CM_DASH_POINTS];
    int nepochs;
    cm_dash_epoch epochs[DASH_EPOCHS_MAX];
    int32_t confusion[CM_DASH_CLASSES * CM_DASH_CLASSES]; /* [truth][pred] of the last evaluation */
    int has_confusion;
    int32_t grid_pred[CM_DASH_GRID]; /* -1: not evaluated yet */
    cm_serve_api *api;               /* serve's API once the model is saved, else NULL */
    char model_path[512];
};

/* What an event stream or /api/metrics copies out under the mutex. */
typedef struct {
    uint64_t gen;
    cm_dash_status status;
    uint64_t first_point, npoints; /* points [first_point, npoints) are in pts */
    cm_dash_point *pts;            /* caller's buffer */
    int first_epoch, nepochs;      /* epochs [first_epoch, nepochs) in eps */
    cm_dash_epoch *eps;            /* caller's buffer */
    int has_confusion, model_ready;
    int32_t confusion[CM_DASH_CLASSES * CM_DASH_CLASSES];
    int32_t grid_pred[CM_DASH_GRID];
} dash_snapshot;

/* Copies what is newer than (from_point, from_epoch), at most max_points points (the newest when
 * more) into s; call with the mutex held. */
void dash_copy(const cm_dashboard *d, uint64_t from_point, int from_epoch, int max_points, dash_snapshot *s);

#endif
