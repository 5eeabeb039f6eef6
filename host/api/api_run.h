/* api_run.h: the run engine behind clmnist_train (host/api/): a training run as 'clmnist train'
 * makes it, with the run's file options. In order: the checks before the work (output files
 * writable, the dashboard's port bound), the model to start from (--resume's checkpoint, whose
 * options replace the caller's, or --init's model), the data (the caller's dataset, or the one
 * the options name), the backend, the model (fresh, or adapted to the data: transfer.h), the
 * speed hint, the training loop (train_loop.h: checkpoints, early stopping, the stop request),
 * the final evaluation, the save (with its rescue file), the report, and the dashboard
 * (serve/train_dash.h) during the run and after it. Under mpirun (dist.h) only rank 0 writes.
 *
 * The engine prints nothing on stdout: every line for the user reaches the caller's observer as
 * a CLMNIST_EVENT_NOTE (warnings about the data go to stderr, as clmnist_dataset_open's). */
#ifndef CLMNIST_API_RUN_H
#define CLMNIST_API_RUN_H
#include <signal.h>

#include "api_internal.h"
#include "http_server.h"
#include "run_options.h"
#include "train_loop.h"

/* The run's options that are not the training recipe's (none is saved in a checkpoint). */
typedef struct {
    const char *out;        /* save the trained model here (NULL: the caller saves it) */
    const char *init;       /* start from this model's weights */
    const char *freeze;     /* with init: layers that keep their weights (transfer.h) */
    int reset_head;         /* with init: new weights for the last Linear layer */
    const char *resume;     /* continue this checkpoint */
    const char *checkpoint; /* where checkpoints go (default checkpoint.safetensors) */
    int checkpoint_every;   /* epochs; 0: never */
    int stop_after;         /* epochs to run in this call; 0: all */
    int patience;           /* early stopping; 0: off */
    const char *report;     /* report directory */
    int no_hint;            /* no speed probe on a CPU OpenCL device */
    int serve_port;         /* the dashboard's port; -1: none */
    const char *bind;       /* its address (default 127.0.0.1) */
    const char *token;      /* its bearer token (http_server.h; else CLMNIST_TOKEN, else random beyond loopback) */
    const char *tls_cert, *tls_key, *cors; /* its TLS certificate and key, its one CORS origin */
    int data_given;         /* a data-reading option was set ("data", "image-size", ...) */
} api_run_files;

typedef struct {
    clmnist_ctx *ctx;
    const clmnist_dataset *given; /* the caller's dataset, or NULL: the options name the data */
    clmnist_observer fn;          /* the caller's observer (may be NULL) */
    void *user;
    volatile sig_atomic_t stop; /* set when the observer (or the dashboard) asks to stop */
    cm_train_args a;
    api_run_files f;
    int rank;                   /* dist_world()'s: only rank 0 writes files */
    int start_epoch;            /* --resume: the epochs its checkpoint holds */
    cm_http_listener *listener; /* the dashboard's port, bound before the work */
    cm_model_file file;         /* the model of resume or init, then the model to train */
    cm_meta *finetune;          /* the run's "finetune.*" metadata (transfer.h) */
    cm_meta *meta;              /* the run's metadata, for checkpoints and the model */
    cm_dataset ds;              /* the data as the run sees it (borrowed from `given`, or owned) */
    cm_backend *b;              /* ctx's */
    char arch[CM_ARCH_TEXT];    /* the model's layers in words */
} api_run;

/* A line for the user: the observer's CLMNIST_EVENT_NOTE (printf's format). */
void api_note(api_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads the file options and the recipe (options as 'clmnist train' reads them) from opts. */
cm_status api_run_options(api_run *r, const clmnist_train_options *opts);
/* Everything before the loop: checks, the start model, the data, the backend, the model. */
cm_status api_run_prepare(api_run *r);
/* The loop, the final evaluation, the save, the report, the summary, the dashboard; the trained
 * model (parameters and metadata) in *out (NULL: not wanted). */
cm_status api_run_train(api_run *r, cm_model_file *out);
void api_run_free(api_run *r);

#endif
