/* train_dash.h: `clmnist train --serve`: the dashboard (host/serve/dashboard.h) on an HTTP server
 * while the run trains, fed by an observer wrapped around the terminal's; afterwards the saved
 * model behind serve's API and drawing page until the caller stops it. */
#ifndef CLMNIST_TRAIN_DASH_H
#define CLMNIST_TRAIN_DASH_H
#include <signal.h>

#include "backend.h"
#include "dataset.h"
#include "train_loop.h"
#include "dashboard.h"
#include "http_server.h"
#include "predictor.h"

typedef struct {
    const char *bind;
    int port;
    const char *arch, *eval_name, *backend;
    volatile sig_atomic_t *stop;               /* POST /api/stop sets it */
    cm_http_listener *listener;                /* bound before the work (http_listen), taken over; NULL: bind, port */
    const char *token;                         /* --token (else CLMNIST_TOKEN, else random beyond loopback) */
    const char *tls_cert, *tls_key, *cors;     /* --tls-cert, --tls-key, --cors (http_server.h) */
    void (*note)(void *ctx, const char *line); /* the dashboard's lines for the user (its address) */
    void *note_ctx;
} cm_train_dash_options;

typedef struct {
    cm_dashboard *dash;
    cm_http_server *srv;
    cm_http_route routes[CM_DASHBOARD_ROUTES];
    cm_http_asset *assets;
    int nassets;
    char *page;              /* the dashboard page with the stop secret, or NULL */
    char token[65];          /* a random token (bound beyond loopback without one) */
    char stop_secret[65];    /* POST /api/stop's secret when there is no token */
    cm_train_observer inner; /* the terminal's */
    const char *backend;
    int every;               /* steps between points */
    double last_point;       /* timer_now() of the last point published */
    int epochs, start_epoch; /* of the run; done before this invocation */
    double t0, epoch_t0;     /* the run's start, the epoch's */
    int64_t steps_done;      /* steps of this invocation */
    int epoch;
    cm_dash_status status;
    const char *const *class_names;
    cm_predictor *pred;
    cm_serve_api api;
    char url[96];
    void (*note)(void *ctx, const char *line);
    void *note_ctx;
} cm_train_dash;

/* Starts the server (its address a note) on a dashboard of ds's evaluated split. */
cm_status dashboard_train_start(cm_train_dash *td, const cm_train_dash_options *o, const cm_dataset *ds,
                                const cm_split *eval, const cm_backend *b, int epochs, int start_epoch);
/* An observer that feeds the dashboard and calls `inner` (which must outlive it). */
cm_train_observer dashboard_train_observer(cm_train_dash *td, const cm_train_observer *inner);
/* The run ended (st its status); with the saved model `path` (or NULL), the drawing page serves
 * it (on the server's threads) until dashboard_train_stop. */
void dashboard_train_finish(cm_train_dash *td, cm_status st, const char *path, int stopped);
void dashboard_train_stop(cm_train_dash *td);

#endif
