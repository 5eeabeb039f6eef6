/* cmd_train.c: `clmnist train`: load data, build (or load) the model, run the training loop
 * (train_loop.h: epochs, early stopping, checkpoints) with the terminal's view of it, save the
 * model and the report. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "atomic_file.h"
#include "dist.h"
#include "model_io.h"
#include "report.h"
#include "train_check.h"
#include "train_loop.h"
#include "transfer.h"
#include "commands.h"
#include "gemm_tune.h"
#include "http_server.h"
#include "preflight.h"
#include "timer.h"
#include "train_dash.h"
#include "train_view.h"

typedef struct {
    const char *out;            /* final model (NULL: --no-save) */
    const char *init;           /* start from these weights */
    const char *freeze;         /* --freeze SPEC: layers of --init's model that keep their weights */
    int reset_head;             /* --reset-head: new weights for --init's last Linear layer */
    cm_meta finetune;           /* the run's "finetune.*" metadata (transfer.h), if it has any */
    const char *resume;         /* continue this checkpoint */
    const char *checkpoint;     /* where checkpoints go */
    int checkpoint_every;       /* epochs; 0: never */
    const char *report;         /* report directory */
    int stop_after;             /* epochs to run in this invocation; 0: all */
    int patience;               /* early stopping: epochs without a better validation accuracy; 0: off */
    int start_epoch;            /* --resume: the epochs its checkpoint holds */
    int no_hint;                /* --no-hint: no speed probe on a CPU OpenCL device */
    int serve_port;             /* --serve [PORT]: the dashboard's port; -1: no dashboard */
    const char *bind;           /* --bind ADDR: where it listens */
    cm_http_listener *listener; /* --serve: its port, bound before the work */
    int rank;                   /* under mpirun (dist.h): this process's rank; only rank 0 writes files */
} train_files;

/* The speed hint's probe: untimed and timed steps per backend, and the time after which the
 * timed steps stop (at least one on each). */
#define HINT_WARMUP 2
#define HINT_STEPS 5
#define HINT_BUDGET_S 1.5

enum {
    X_OUT,
    X_NO_SAVE,
    X_INIT,
    X_FREEZE,
    X_RESET_HEAD,
    X_CKPT_EVERY,
    X_CKPT,
    X_RESUME,
    X_REPORT,
    X_STOP_AFTER,
    X_PATIENCE,
    X_NO_HINT,
    X_SERVE,
    X_BIND
};
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
    {NULL, 0, NULL}};

static cm_status on_extra(void *ctx, int index, const char *value) {
    train_files *f = ctx;
    long v;
    switch (index) {
    case X_OUT: f->out = value; break;
    case X_NO_SAVE: f->out = NULL; break;
    case X_INIT: f->init = value; break;
    case X_FREEZE: f->freeze = value; break;
    case X_RESET_HEAD: f->reset_head = 1; break;
    case X_CKPT_EVERY:
        CM_TRY(cm_parse_int("--checkpoint-every", value, 1, 1000000, &v));
        f->checkpoint_every = (int)v;
        break;
    case X_CKPT: f->checkpoint = value; break;
    case X_RESUME: f->resume = value; break;
    case X_REPORT: f->report = value; break;
    case X_STOP_AFTER:
        CM_TRY(cm_parse_int("--stop-after", value, 1, 1000000, &v));
        f->stop_after = (int)v;
        break;
    case X_PATIENCE:
        CM_TRY(cm_parse_int("--patience", value, 1, 1000000, &v));
        f->patience = (int)v;
        break;
    case X_NO_HINT: f->no_hint = 1; break;
    case X_SERVE:
        f->serve_port = 8080;
        if (value) CM_TRY(cm_parse_int("--serve", value, 0, 65535, &v));
        if (value) f->serve_port = (int)v;
        break;
    case X_BIND: f->bind = value; break;
    default: break;
    }
    return CM_OK;
}

/* Reads the model of --resume or --init, before the data: a checkpoint's --val decides the split.
 * --init's architecture replaces --layers; a checkpoint's options and patience replace the flags. */
static cm_status read_start(cm_train_args *a, train_files *f, cm_model_file *file) {
    const char *from = f->resume ? f->resume : f->init;
    int saved = 0;
    if (from) CM_TRY(model_file_load(from, CM_PARAM_ALIGN_BYTES, file));
    if (f->resume) CM_TRY(run_checkpoint_options(f->resume, &file->meta, a, &f->start_epoch));
    if (f->init) model_describe(&file->model.layout, a->arch, sizeof a->arch); /* the file's architecture */
    if (f->resume) {
        CM_TRY(train_checkpoint_patience(f->resume, &file->meta, &saved));
        if (saved) f->patience = saved;
    }
    if (f->patience && !a->val)
        return saved ? cm_fail(CM_ERR_FORMAT, "%s: bad checkpoint metadata: early stopping without a validation split",
                               f->resume)
                     : cm_fail(CM_ERR_USAGE, "--patience needs a validation split: add --val N (e.g. --val 5000)");
    return CM_OK;
}

/* A run continues on the data it started on. */
static cm_status check_resume_data(const cm_train_args *a, const train_files *f, const cm_model_file *file) {
    const char *want = f->resume ? meta_get(&file->meta, "dataset_sha256") : NULL;
    if (!want) return CM_OK;
    char *have = run_dataset_digests(a->data_dir);
    cm_status st = CM_OK;
    if (have && strcmp(have, want) != 0)
        st = cm_fail(CM_ERR_USAGE,
                     "%s: the checkpoint was trained on other data than %s (the training files' SHA-256 "
                     "differ); resume with the --data it started on",
                     f->resume, a->data_dir);
    free(have);
    return st;
}

static cm_status open_backend(const cm_train_args *a, cm_backend **b) {
    const cm_dist *d = dist_world();
    cm_backend_options bo = {.device = a->device, .threads = a->threads, .slot = d->local_rank};
    if (d->local_size > 1 && !a->threads) { /* the node's cores shared between its ranks */
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        bo.threads = cores / d->local_size > 1 ? (int)(cores / d->local_size) : 1;
    }
    double t0 = timer_now();
    CM_TRY(backend_create(a->backend, &bo, b));
    printf("backend: %s: %s (%s%sready in %.2f s)\n", (*b)->kind, (*b)->device_name, (*b)->chosen,
           (*b)->chosen[0] ? "; " : "", timer_now() - t0);
    if (d->size > 1 && a->batch % d->size == 0)
        printf("data parallel: %d ranks (rank 0 reports and writes the files), batch %d per rank\n", d->size,
               a->batch / d->size);
    if ((*b)->tuning[0])
        printf("GEMM: tuned parameters from %s\n", (*b)->tuning);
    else if (strcmp((*b)->kind, "device") == 0)
        printf("GEMM: CLBlast's defaults for this device (%s)\n",
               gemm_tuning_disabled() ? "CLMNIST_NO_TUNING is set"
                                      : "no tuning cache; 'clmnist tune' searches for faster parameters once");
    return CM_OK;
}

/* TEST ONLY: CLMNIST_TEST_HINT_STEP_MS="HOST,DEVICE" replaces the probe's measured step times
 * (milliseconds), so that tests/cli_doctor.sh checks the hint without depending on the load. */
static void hint_test_times(double step_s[2]) {
    const char *v = getenv("CLMNIST_TEST_HINT_STEP_MS");
    double host_ms, device_ms;
    if (v && sscanf(v, "%lf,%lf", &host_ms, &device_ms) == 2) step_s[0] = host_ms / 1e3, step_s[1] = device_ms / 1e3;
}

/* On a CPU OpenCL device (PoCL), a few steps of this network and batch on throwaway trainers on
 * both backends; when the host backend is at least CM_HINT_THRESHOLD times faster, one line says
 * so and how to switch. Never on a GPU; advisory: a probe that fails says nothing. */
static void speed_hint(const cm_train_args *a, const train_files *f, cm_backend *b, const cm_dataset *ds,
                       const cm_model *model) {
    const char *off = getenv("CLMNIST_NO_HINT");
    if (f->no_hint || (off && *off && strcmp(off, "0") != 0) || dist_world()->size > 1) return;
    if (strcmp(b->kind, "device") != 0 || !backend_device_is_cpu(b)) return;
    cm_backend_options bo = {.threads = a->threads};
    cm_backend *both[2] = {NULL, b};
    cm_train_config cfg = run_train_config(a);
    double step_s[2], ratio;
    int timed;
    cm_status st = backend_create("host", &bo, &both[0]);
    if (st == CM_OK)
        st = train_speed_probe(both, ds, model, &cfg, HINT_WARMUP, HINT_STEPS, HINT_BUDGET_S, step_s, &timed);
    backend_destroy(both[0]);
    if (st == CM_OK) hint_test_times(step_s);
    if (st == CM_OK && hint_host_faster(step_s[0], step_s[1], CM_HINT_THRESHOLD, &ratio))
        printf("clmnist: note: on this CPU the host backend trains this network %.1fx faster (measured over %d "
               "steps each): add --backend host\n",
               ratio, timed);
    cm_clear_error();
}

/* A checkpoint's train.layers / train.arch must describe its tensors: they go into the model file
 * the resumed run writes. */
static cm_status same_architecture(const cm_train_args *a, const cm_dataset *ds, const char *path,
                                   const cm_layout *file_layout) {
    cm_layout L;
    char want[CM_ARCH_TEXT], have[CM_ARCH_TEXT];
    cm_status st = run_layout(a, ds, CM_PARAM_ALIGN_BYTES, &L);
    model_describe(file_layout, have, sizeof have);
    if (st != CM_OK) return cm_fail(CM_ERR_FORMAT, "%s: bad checkpoint metadata: %s", path, cm_last_error());
    model_describe(&L, want, sizeof want);
    if (strcmp(want, have) != 0)
        return cm_fail(CM_ERR_FORMAT, "%s: bad checkpoint metadata: its training options describe %s, its tensors %s",
                       path, want, have);
    return CM_OK;
}

/* --init: the saved model adapted to this data (transfer.h): its head, --freeze, --reset-head;
 * --arch follows, and the run's metadata will say where it came from. */
static cm_status adapt_init(cm_train_args *a, train_files *f, const cm_dataset *ds, cm_model *model) {
    cm_transfer_options o = {.freeze = f->freeze, .reset_head = f->reset_head, .seed = a->seed};
    cm_transfer_info info;
    char what[4200];
    snprintf(what, sizeof what, "--init %s", f->init);
    cm_shape input = {split_channels(&ds->train), ds->train.rows, ds->train.cols, 0};
    CM_TRY(transfer_adapt(what, model, input, ds->classes, &o, &info));
    model_describe(&model->layout, a->arch, sizeof a->arch);
    if (info.old_classes != info.new_classes)
        printf("init: %d classes here, %d in %s: its head (layer %d, Linear) is replaced by a new one\n",
               info.new_classes, info.old_classes, f->init, info.head);
    else if (info.reset)
        printf("init: the head (layer %d, Linear) starts from new weights (--reset-head)\n", info.head);
    if (info.frozen[0])
        printf("init: layers %s frozen (%zu parameters); %zu parameters train\n", info.frozen,
               model->layout.frozen_count, model->layout.count);
    return transfer_meta(&f->finetune, f->init, ds->name, &info);
}

/* The model to train, laid out for b: --resume's or --init's (file), or a fresh one. */
static cm_status prepare_model(cm_train_args *a, train_files *f, cm_backend *b, const cm_dataset *ds,
                               cm_model_file *file) {
    size_t align = b->align_bytes > CM_PARAM_ALIGN_BYTES ? b->align_bytes : CM_PARAM_ALIGN_BYTES;
    const char *from = f->resume ? f->resume : f->init;
    if (from && align > file->model.layout.align_bytes) { /* a device that wants wider alignment: rare */
        model_file_free(file);
        CM_TRY(model_file_load(from, align, file));
    } else if (!from) {
        CM_TRY(run_init_model(a, ds, align, b, &file->model));
    }
    if (f->init) CM_TRY(adapt_init(a, f, ds, &file->model));
    run_normalisation(ds, &file->model.layout); /* --init, --resume: this data's, as the pipeline records */
    if (f->resume) CM_TRY(transfer_meta_copy(&f->finetune, &file->meta));
    if (f->resume) CM_TRY(same_architecture(a, ds, f->resume, &file->model.layout));
    if (f->start_epoch > a->epochs)
        return cm_fail(CM_ERR_FORMAT, "%s: bad checkpoint metadata: epoch %d of a %d-epoch run", f->resume,
                       f->start_epoch, a->epochs);
    return CM_OK;
}

static void print_start(const cm_train_args *a, const train_files *f, cm_trainer *t, const cm_train_loop *loop,
                        const char *arch) {
    const char *from = f->resume ? f->resume : f->init;
    char recipe[512];
    run_describe_recipe(a, recipe, sizeof recipe);
    const cm_layout *L = trainer_layout(t);
    char frozen[64] = "";
    if (L->frozen_count) snprintf(frozen, sizeof frozen, ", %zu frozen", L->frozen_count);
    printf("model: %s (%zu parameters%s)%s%s, %s preset: %s, batch %d, %d epochs, seed %llu, data %s\n", arch, L->count,
           frozen, from ? " from " : "", from ? from : "", a->preset, recipe, a->batch, a->epochs,
           (unsigned long long)a->seed, trainer_is_resident(t) ? "resident" : "streamed");
    int best;
    double acc;
    train_loop_best(loop, &best, &acc);
    if (f->resume)
        printf("resuming after epoch %d of %d%s\n", f->start_epoch, a->epochs,
               f->start_epoch == a->epochs ? ": training is complete; evaluating and saving the model" : "");
    if (f->resume && best)
        printf("early stopping: best so far epoch %d (val acc %.2f%%), patience %d\n", best, 100.0 * acc, f->patience);
}

/* After the loop: the final evaluation (on the held-out test split with --val), the model, the
 * report and the summary. */
static cm_status finish(const cm_train_args *a, const train_files *f, const cm_backend *b, const cm_dataset *ds,
                        cm_trainer *t, const char *arch, cm_meta *meta, const cm_train_result *res) {
    cm_stats ev = res->eval;
    const cm_split *final_split = a->val ? &ds->heldout : &ds->test;
    if (a->val || res->end_epoch == f->start_epoch || res->stopped) /* also: nothing trained, or stopped */
        CM_TRY(trainer_evaluate(t, final_split, &ev));
    CM_TRY(meta_set(meta, "test_accuracy", "%.6f", ev.accuracy));
    CM_TRY(meta_set(meta, "test_loss", "%.6f", ev.loss));
    if (f->out) CM_TRY(preflight_save_trained(f->out, CM_OK, t, meta));
    if (f->report) CM_TRY(train_view_write_report(t, f->report, ds, meta, &ev, final_split));
    if (f->out) printf("model: saved to %s\n", f->out);
    const cm_dist *d = dist_world();
    double step_s, sync_s;
    trainer_sync_times(t, &step_s, &sync_s);
    if (d->size > 1 && step_s > 0)
        printf("data parallel: %d ranks; on rank 0 the gradient sums took %.2f s of %.2f s in steps (%.1f%%), "
               "MPI_Allreduce %.2f s of it (%ld calls of %.2f MB)\n",
               d->size, sync_s, step_s, 100.0 * sync_s / step_s, d->comm_seconds, d->comm_calls,
               (double)(trainer_layout(t)->trainable + 1) * sizeof(float) / 1e6);
    printf("done: %s on %s, %d epochs in %.1f s, test accuracy: %.2f%%\n", arch, b->device_name,
           res->end_epoch - f->start_epoch, res->seconds, 100.0 * ev.accuracy);
    int resumable = res->stopped ? res->stop_checkpoint : res->last_checkpoint == res->end_epoch;
    const char *cont = resumable ? "; continue with --resume " : "", *ckpt = resumable ? f->checkpoint : "";
    if (res->stopped && res->stopped_step)
        printf("stopped at step %d of epoch %d of %d%s%s\n", res->stopped_step, res->end_epoch + 1, a->epochs, cont,
               ckpt);
    else if (res->end_epoch < a->epochs)
        printf("stopped after epoch %d of %d%s%s\n", res->end_epoch, a->epochs, cont, ckpt);
    return CM_OK;
}

/* Ctrl-C (SIGINT), or SIGUSR1, stops the run after the current step, as POST /api/stop does; a second one
 * exits at once. Once the run is over and the dashboard serves on, SIGINT and SIGTERM write to a
 * pipe that the main thread waits on. (OpenBLAS starts threads before main: any thread may run
 * the handler, which only sets a flag or writes a byte.) */
static volatile sig_atomic_t stop_requested, serving;
static int signal_pipe[2] = {-1, -1};

static void on_signal(int sig) {
    if (serving) {
        ssize_t n = write(signal_pipe[1], "s", 1);
        (void)n;
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

/* After the run: the dashboard offers the saved model's drawing page until Ctrl-C or SIGTERM. */
static void dashboard_after(cm_train_dash *td, const train_files *f, cm_status st, const cm_train_result *res) {
    train_dash_finish(td, st, st == CM_OK ? f->out : NULL, st == CM_OK && res->stopped);
    if (st == CM_OK && pipe(signal_pipe) == 0 && catch_signal(SIGTERM) == CM_OK) {
        serving = 1;
        train_dash_serve_until(td, signal_pipe[0]);
        printf("dashboard: stopping\n");
    }
    train_dash_stop(td);
}

/* What writers killed before their rename left next to the files this run writes (and the
 * checkpoint it continues): gone before anything else, one line each (main.c). */
static void remove_stale_temporaries(const train_files *f) {
    if (f->out) atomic_file_remove_stale(f->out);
    if (f->checkpoint_every) atomic_file_remove_stale(f->checkpoint);
    if (f->resume) atomic_file_remove_stale(f->resume);
}

/* Before any work: the files this run writes (rank 0's), its backend and device, and its
 * dashboard's port, bound now and kept. */
static cm_status preflight(const cm_train_args *a, train_files *f) {
    if (f->rank == 0) {
        CM_TRY(preflight_file("--out", f->out));
        if (f->checkpoint_every) CM_TRY(preflight_file("--checkpoint", f->checkpoint));
        CM_TRY(preflight_dir("--report", f->report));
    }
    CM_TRY(preflight_backend(a->backend, a->device, dist_world()->local_rank, NULL));
    if (f->serve_port >= 0 && f->rank == 0) CM_TRY(http_listen(f->bind, f->serve_port, &f->listener));
    return CM_OK;
}

/* file: the model of --init or --resume (read_start), or empty for a fresh model. */
static cm_status train(cm_train_args *a, train_files *f, cm_backend *b, const cm_dataset *ds, cm_model_file *file) {
    CM_TRY(prepare_model(a, f, b, ds, file));
    speed_hint(a, f, b, ds, &file->model);
    char arch[CM_ARCH_TEXT];
    model_describe(&file->model.layout, arch, sizeof arch);
    cm_train_config cfg = run_train_config(a);
    cfg.dist = dist_world();
    cm_meta meta;
    cm_train_run run = {.not_writer = f->rank != 0,
                        .epochs = a->epochs,
                        .start_epoch = f->start_epoch,
                        .stop_after = f->stop_after,
                        .patience = f->patience,
                        .eval = &ds->test,
                        .checkpoint = f->checkpoint_every ? f->checkpoint : NULL,
                        .checkpoint_every = f->checkpoint_every,
                        .meta = &meta,
                        .stop = &stop_requested};
    cm_trainer *t = NULL;
    cm_train_loop *loop = NULL;
    /* the dashboard shows each evaluation's confusion matrix and predictions */
    if (f->serve_port >= 0) run.eval_pred = malloc(sizeof(int32_t) * (size_t)(run.eval->count ? run.eval->count : 1));
    cm_status st = f->serve_port >= 0 && !run.eval_pred ? cm_fail(CM_ERR_MEMORY, "out of host memory") : CM_OK;
    if (st == CM_OK) st = trainer_check_batch(cfg.batch, cfg.dist); /* --resume's batch too */
    if (st == CM_OK) st = dist_begin_work(cfg.dist);                /* every rank is ready: the collectives start */
    if (st == CM_OK) st = trainer_create(b, ds, &file->model, &cfg, &t);
    if (st == CM_OK) st = train_loop_create(t, &run, &loop);
    if (st == CM_OK && f->resume) st = train_loop_resume(loop, f->resume, file);
    model_file_free(file);
    if (st == CM_OK) st = run_model_meta(a, ds, b, &meta);
    if (st == CM_OK) st = transfer_meta_copy(&meta, &f->finetune);
    if (st == CM_OK && f->report) st = report_begin(f->report, f->resume != NULL);
    if (st == CM_OK) print_start(a, f, t, loop, arch);
    cm_train_view view;
    cm_train_observer obs = train_view_observer(&view, a->val ? "val" : "test", f->report), shown = obs;
    cm_train_dash td;
    int dash = f->serve_port >= 0 && st == CM_OK && f->rank == 0;
    if (dash) {
        cm_train_dash_options o = {.bind = f->bind,
                                   .port = f->serve_port,
                                   .arch = arch,
                                   .eval_name = a->val ? "val" : "test",
                                   .stop = &stop_requested,
                                   .listener = f->listener};
        f->listener = NULL; /* the dashboard's now */
        st = train_dash_start(&td, &o, ds, run.eval, b, a->epochs, f->start_epoch);
        dash = st == CM_OK;
        if (dash) obs = train_dash_observer(&td, &shown);
    }
    cm_train_result res = {0};
    if (st == CM_OK) {
        st = train_loop_run(loop, &obs, &res);
        if (st == CM_ERR_IO && f->rank == 0)
            st = preflight_save_trained(NULL, st, t, &meta); /* a checkpoint's disk full */
    }
    if (st == CM_OK) st = finish(a, f, b, ds, t, arch, &meta, &res);
    if (dash) dashboard_after(&td, f, st, &res);
    train_loop_destroy(loop);
    trainer_destroy(t);
    free(run.eval_pred);
    return st;
}

cm_status cmd_train(int argc, char **argv) {
    train_files f = {.out = "model.safetensors", .checkpoint = "checkpoint.safetensors", .serve_port = -1};
    cm_command_info info = {"train",
                            CM_CMD_TRAIN,
                            NULL,
                            "Trains an MLP (784-512-256-10 by default) on the GPU, reports test accuracy and saves "
                            "the model.",
                            train_extra,
                            on_extra,
                            &f,
                            0};
    cm_train_args a;
    int help;
    CM_TRY(cli_parse(argc, argv, &info, &a, &help, NULL));
    if (help) return CM_OK;
    if (f.bind && f.serve_port < 0) return cm_fail(CM_ERR_USAGE, "--bind applies to --serve");
    if (!f.bind) f.bind = "127.0.0.1";
    CM_TRY(catch_signal(SIGINT));
    CM_TRY(catch_signal(SIGUSR1)); /* as Ctrl-C: mpirun forwards SIGUSR1 to every rank (Ctrl-C kills them) */
    if (f.resume && f.init) return cm_fail(CM_ERR_USAGE, "--resume and --init: give one or the other");
    if ((f.freeze || f.reset_head) && !f.init)
        return cm_fail(CM_ERR_USAGE, "%s applies to --init FILE (fine-tuning a saved model)%s",
                       f.freeze ? "--freeze" : "--reset-head", f.resume ? "; a resumed run keeps its own" : "");
    f.rank = dist_world()->rank;
    if (f.rank != 0) f.out = NULL, f.report = NULL; /* rank 0's to write, and checkpoints (run.not_writer) */
    if (f.rank == 0) remove_stale_temporaries(&f);
    cm_model_file file = {0};
    cm_dataset ds = {0};
    cm_backend *b = NULL;
    cm_status st = preflight(&a, &f);
    if (st == CM_OK) st = read_start(&a, &f, &file);
    if (st == CM_OK) st = run_load_data(&a, &ds);
    if (st == CM_OK) st = run_warn_data(a.data_dir, &ds);
    if (st == CM_OK) st = check_resume_data(&a, &f, &file);
    if (st == CM_OK) st = open_backend(&a, &b);
    if (st == CM_OK) st = train(&a, &f, b, &ds, &file);
    if (b) backend_destroy(b);
    http_listener_close(f.listener);
    model_file_free(&file);
    dataset_free(&ds);
    return st;
}
