/* train_dash.h: `clmnist train --serve`: the dashboard (host/serve/dashboard.h) on an HTTP server
 * while the run trains, fed by an observer wrapped around the terminal's; afterwards the saved
 * model behind serve's API and drawing page until Ctrl-C. */
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
    volatile sig_atomic_t *stop;           /* POST /api/stop sets it */
    cm_http_listener *listener;            /* bound before the work (http_listen), taken over; NULL: bind, port */
    const char *token;                     /* --token (else CLMNIST_TOKEN, else random beyond loopback) */
    const char *tls_cert, *tls_key, *cors; /* --tls-cert, --tls-key, --cors (http_server.h) */
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
} cm_train_dash;

/* Starts the server (printing its address) on a dashboard of ds's evaluated split. */
cm_status train_dash_start(cm_train_dash *td, const cm_train_dash_options *o, const cm_dataset *ds,
                           const cm_split *eval, const cm_backend *b, int epochs, int start_epoch);
/* An observer that feeds the dashboard and calls `inner` (which must outlive it). */
cm_train_observer train_dash_observer(cm_train_dash *td, const cm_train_observer *inner);
/* The run ended (st its status); with the saved model `path` (or NULL), the drawing page serves
 * it until *signalled (a Ctrl-C) becomes nonzero. */
void train_dash_finish(cm_train_dash *td, cm_status st, const char *path, int stopped);
/* Waits until the pipe fd gets a byte (a signal handler writes it). */
void train_dash_serve_until(cm_train_dash *td, int fd);
void train_dash_stop(cm_train_dash *td);

#endif
