/* cmd_train.c: `clmnist train`: the command line to the public API (include/clmnist/clmnist.h):
 * the flags become a context (--backend, --device, --threads) and training options by name, and
 * clmnist_train does the run (host/api/api_run.h: checks, data, model, loop, checkpoints, save,
 * report, dashboard). This file parses, shows the run's events (train_view.h) and turns Ctrl-C
 * into the observer's stop request. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "clmnist/clmnist.h"
#include "commands.h"
#include "http_server.h"
#include "train_view.h"

/* The run's own flags, passed on by name (the API's training options of the same names). */
typedef struct {
    const char *value[24]; /* per train_extra entry: its value, "1" for a flag; NULL: not given */
    int no_save;
} train_flags;

enum { X_OUT, X_NO_SAVE, X_SERVE = 12 };
static const cm_extra_option train_extra[] = {
    {"out", 1, "  --out FILE        where to save the trained model (default model.safetensors)\n"},
    {"no-save", 0, "  --no-save         do not save the model\n"},
    {"init", 1,
     "  --init FILE       start from the weights in FILE (its architecture replaces --layers); on data\n"
     "                    with another number of classes its last Linear layer (the head) is replaced\n"},
    {"freeze", 1,
     "  --freeze SPEC     with --init: layers that keep their weights, by index in the model's layer\n"
     "                    list (0-5,7); their BatchNorm runs in eval mode\n"},
    {"reset-head", 0, "  --reset-head      with --init: new weights for the last Linear layer\n"},
    {"checkpoint-every", 1,
     "  --checkpoint-every N  save a checkpoint (model, optimizer state, position) every N epochs\n"},
    {"checkpoint", 1, "  --checkpoint FILE where checkpoints go (default checkpoint.safetensors)\n"},
    {"resume", 1,
     "  --resume FILE     continue the run saved in checkpoint FILE; its training options (every\n"
     "                    option above from --preset to --transpose) replace the flags\n"},
    {"report", 1, "  --report DIR      write DIR/metrics.jsonl per epoch and DIR/report.html at the end\n"},
    {"stop-after", 1,
     "  --stop-after N    stop after N epochs of this invocation (the schedule still spans --epochs);\n"
     "                    with --checkpoint-every, continue later with --resume\n"},
    {"patience", 1,
     "  --patience N      early stopping (needs --val): stop when the validation accuracy has not\n"
     "                    improved for N epochs, and keep the weights of the best epoch\n"},
    {"no-hint", 0,
     "  --no-hint         on a CPU OpenCL device (PoCL), skip the short probe that times a few steps on\n"
     "                    both backends and says when --backend host is faster (or set CLMNIST_NO_HINT=1)\n"},
    {"serve", 2,
     "  --serve [PORT]    a live dashboard of the run on http://127.0.0.1:PORT/ (default 8080; 0: any free\n"
     "                    port): curves, confusion matrix, predictions, a stop button; afterwards the\n"
     "                    drawing page for the saved model, until Ctrl-C\n"},
    {"bind", 1, "  --bind ADDR       the dashboard's numeric listening address (default 127.0.0.1)\n"},
    {"token", 1, CM_HTTP_HELP_TOKEN},
    {"tls-cert", 1, CM_HTTP_HELP_TLS_CERT},
    {"tls-key", 1, CM_HTTP_HELP_TLS_KEY},
    {"cors", 1, CM_HTTP_HELP_CORS},
    {NULL, 0, NULL}};
_Static_assert(sizeof train_extra / sizeof train_extra[0] <= 24, "train_flags.value holds them");

static cm_status on_extra(void *ctx, int index, const char *value) {
    train_flags *f = ctx;
    if (index == X_NO_SAVE || index == X_OUT) f->no_save = index == X_NO_SAVE; /* the last one given */
    f->value[index] = value ? value : index == X_SERVE ? "8080" : "1";
    return CM_OK;
}

/* Ctrl-C (SIGINT), or SIGUSR1, stops the run after the current step, as POST /api/stop does; a
 * second one exits at once. Once the run is over and the dashboard serves on, SIGINT and SIGTERM
 * end the serving. (OpenBLAS starts threads before main: any thread may run the handler, which
 * only sets flags and writes to stderr.) */
static volatile sig_atomic_t stop_requested, serving, serve_done;

static void on_signal(int sig) {
    if (serving) {
        serve_done = 1;
        return;
    }
    if (stop_requested) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    stop_requested = 1;
    static const char msg[] = "\nclmnist: stopping after this step (Ctrl-C again exits at once)\n";
    ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)n;
}

static cm_status catch_signal(int sig) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(sig, &sa, NULL) != 0) return cm_fail(CM_ERR_IO, "sigaction: %s", strerror(errno));
    return CM_OK;
}

/* The observer: the terminal's view, and the signals' requests. */
static int observe(void *user, const clmnist_train_event *ev) {
    if (ev->kind == CLMNIST_EVENT_SERVING) {
        if (!serving && catch_signal(SIGTERM) != CM_OK) return 1;
        serving = 1;
        return serve_done;
    }
    train_view_event(user, ev);
    return stop_requested;
}

/* The context of --backend, --device and --threads. */
static cm_status open_ctx(const cm_train_args *a, clmnist_ctx **ctx) {
    char opts[640];
    int n = snprintf(opts, sizeof opts, "backend=%s", a->backend);
    if (a->threads) n += snprintf(opts + n, sizeof opts - (size_t)n, ",threads=%d", a->threads);
    if (a->device) snprintf(opts + n, sizeof opts - (size_t)n, ",device=%s", a->device);
    return clmnist_open(opts, ctx);
}

/* The training options given on the command line (the table's, as their final values), and the
 * run's flags, by name. */
static cm_status set_options(const cm_train_args *a, const train_flags *f, clmnist_train_options *o) {
    for (const cm_option *opt = cm_options; opt->name; opt++) {
        if (!(opt->commands & CM_CMD_TRAIN) || !run_option_given(a, opt->name)) continue;
        if (!strcmp(opt->name, "backend") || !strcmp(opt->name, "device") || !strcmp(opt->name, "threads")) continue;
        char v[4096] = "1";
        if (opt->type == CM_OPT_FLAG && *(const int *)((const char *)a + opt->offset) != (int)opt->lo) continue;
        if (opt->type != CM_OPT_FLAG) run_format_option(a, opt->name, v, sizeof v);
        CM_TRY(clmnist_train_options_set(o, opt->name, v));
    }
    for (int i = 0; train_extra[i].name; i++)
        if (i != X_OUT && i != X_NO_SAVE && f->value[i])
            CM_TRY(clmnist_train_options_set(o, train_extra[i].name, f->value[i]));
    if (!f->no_save)
        CM_TRY(clmnist_train_options_set(o, "out", f->value[X_OUT] ? f->value[X_OUT] : "model.safetensors"));
    return CM_OK;
}

cm_status cmd_train(int argc, char **argv) {
    train_flags f = {0};
    cm_command_info info = {"train",
                            CM_CMD_TRAIN,
                            NULL,
                            "Trains an MLP (784-512-256-10 by default) on an OpenCL GPU, else the CPU (--backend "
                            "auto),\nreports test accuracy and saves the model.",
                            train_extra,
                            on_extra,
                            &f,
                            0};
    cm_train_args a;
    int help;
    CM_TRY(cli_parse(argc, argv, &info, &a, &help, NULL));
    if (help) return CM_OK;
    CM_TRY(catch_signal(SIGINT));
    CM_TRY(catch_signal(SIGUSR1)); /* as Ctrl-C: mpirun forwards SIGUSR1 to every rank (Ctrl-C kills them) */
    clmnist_ctx *ctx = NULL;
    clmnist_train_options *opts = NULL;
    cm_train_view view = {0};
    cm_status st = clmnist_train_options_new(&opts);
    if (st == CM_OK) st = set_options(&a, &f, opts);
    if (st == CM_OK) st = open_ctx(&a, &ctx);
    if (st == CM_OK) st = clmnist_train(ctx, NULL, opts, observe, &view, NULL); /* saved by "out" */
    train_view_end(&view);
    clmnist_train_options_free(opts);
    clmnist_close(ctx);
    return st;
}
