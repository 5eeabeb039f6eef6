/* cmd_train.c: `clmnist train`: load data, build (or load) the model, run the trainer, save the
 * model, checkpoints and the report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clmnist/eval.h"
#include "clmnist/model_io.h"
#include "clmnist/report.h"
#include "commands.h"
#include "gemm_tune.h"
#include "progress.h"
#include "timer.h"

typedef struct {
    const char *out;        /* final model (NULL: --no-save) */
    const char *init;       /* start from these weights */
    const char *resume;     /* continue this checkpoint */
    const char *checkpoint; /* where checkpoints go */
    int checkpoint_every;   /* epochs; 0: never */
    const char *report;     /* report directory */
    int stop_after;         /* epochs to run in this invocation; 0: all */
    int patience;           /* early stopping: epochs without a better validation accuracy; 0: off */
} train_files;

enum { X_OUT, X_NO_SAVE, X_INIT, X_CKPT_EVERY, X_CKPT, X_RESUME, X_REPORT, X_STOP_AFTER, X_PATIENCE };
static const cm_extra_option train_extra[] = {
    {"out", 1, "  --out FILE        where to save the trained model (default model.safetensors)\n"},
    {"no-save", 0, "  --no-save         do not save the model\n"},
    {"init", 1, "  --init FILE       start from the weights in FILE (its architecture replaces --layers)\n"},
    {"checkpoint-every", 1,
     "  --checkpoint-every N  save a checkpoint (model, optimizer state, position) every N epochs\n"},
    {"checkpoint", 1, "  --checkpoint FILE where checkpoints go (default checkpoint.safetensors)\n"},
    {"resume", 1,
     "  --resume FILE     continue the run saved in checkpoint FILE; its training options (every\n"
     "                    option above from --preset to --val) replace the flags\n"},
    {"report", 1, "  --report DIR      write DIR/metrics.jsonl per epoch and DIR/report.html at the end\n"},
    {"stop-after", 1,
     "  --stop-after N    stop after N epochs of this invocation (the schedule still spans --epochs);\n"
     "                    with --checkpoint-every, continue later with --resume\n"},
    {"patience", 1,
     "  --patience N      early stopping (needs --val): stop when the validation accuracy has not\n"
     "                    improved for N epochs, and keep the weights of the best epoch\n"},
    {NULL, 0, NULL}};

static cm_status on_extra(void *ctx, int index, const char *value) {
    train_files *f = ctx;
    long v;
    switch (index) {
    case X_OUT: f->out = value; break;
    case X_NO_SAVE: f->out = NULL; break;
    case X_INIT: f->init = value; break;
    case X_CKPT_EVERY:
        CM_TRY(cli_parse_int("--checkpoint-every", value, 1, 1000000, &v));
        f->checkpoint_every = (int)v;
        break;
    case X_CKPT: f->checkpoint = value; break;
    case X_RESUME: f->resume = value; break;
    case X_REPORT: f->report = value; break;
    case X_STOP_AFTER:
        CM_TRY(cli_parse_int("--stop-after", value, 1, 1000000, &v));
        f->stop_after = (int)v;
        break;
    case X_PATIENCE:
        CM_TRY(cli_parse_int("--patience", value, 1, 1000000, &v));
        f->patience = (int)v;
        break;
    default: break;
    }
    return CM_OK;
}

/* One epoch with a progress bar; lr_steps (steps per epoch) gets the rate of every step. */
static cm_status run_epoch(cm_trainer *t, int epoch, int epochs, cm_stats *train_stats, double *seconds,
                           float *lr_steps) {
    int steps = trainer_steps_per_epoch(t);
    char label[32], extra[96] = "";
    snprintf(label, sizeof label, "epoch %d/%d", epoch + 1, epochs);
    cm_progress bar;
    progress_begin(&bar, stdout, label);
    double t0 = timer_now(), last_stats = t0;
    CM_TRY(trainer_begin_epoch(t, epoch));
    for (int s = 0; s < steps; s++) {
        lr_steps[s] = trainer_current_lr(t);
        CM_TRY(trainer_step(t));
        double now = timer_now();
        if (bar.enabled && now - last_stats > 0.5) { /* reading stats waits for the device: rarely */
            cm_stats st;
            CM_TRY(trainer_train_stats(t, &st));
            last_stats = timer_now();
            snprintf(extra, sizeof extra, "loss %.4f  acc %.2f%%  %.0f img/s", st.loss, 100.0 * st.accuracy,
                     (double)st.count / (last_stats - t0));
        }
        progress_update(&bar, s + 1, steps, extra);
    }
    CM_TRY(trainer_train_stats(t, train_stats));
    *seconds = timer_now() - t0;
    progress_end(&bar);
    return CM_OK;
}

/* Takes the training options from a checkpoint's "train.*" metadata, through the same checks as
 * the command line; the architecture comes from the tensors. */
static cm_status options_from_checkpoint(const char *path, const cm_meta *m, cm_train_args *a, int *start_epoch) {
    const char *required[] = {"checkpoint.epoch", "train.batch", "train.lr", "train.epochs", "train.seed"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!meta_get(m, required[i]))
            return cm_fail(CM_ERR_FORMAT, "%s: not a checkpoint (metadata '%s' is missing)", path, required[i]);
    long n;
    cm_status st = cli_parse_int("checkpoint.epoch", meta_get(m, "checkpoint.epoch"), 1, 100000, &n);
    *start_epoch = (int)n;
    /* the preset first: the other options were saved after it had been applied */
    const char *preset = meta_get(m, "train.preset");
    if (st == CM_OK && preset) st = cli_set_train_option(a, "preset", preset);
    for (const char *const *name = cli_run_option_names; *name && st == CM_OK; name++) {
        char key[64];
        snprintf(key, sizeof key, "train.%s", *name);
        const char *v = meta_get(m, key);
        if (!v || !strcmp(*name, "preset")) continue; /* train.layers and train.arch: checked in train() */
        if (!strcmp(*name, "optimizer") && !strcmp(v, "sgd-momentum")) v = "momentum"; /* format 1 name */
        st = cli_set_train_option(a, *name, v);
    }
    if (st != CM_OK) return cm_fail(CM_ERR_FORMAT, "%s: bad checkpoint metadata: %s", path, cm_last_error());
    return CM_OK;
}

/* Adopts the architecture of a loaded model as the run's --arch. */
static void layers_from_model(const cm_layout *L, cm_train_args *a) {
    model_describe(L, a->arch, sizeof a->arch);
}

/* Early stopping's bookkeeping, which a checkpoint carries so that a resumed run stops where an
 * uninterrupted one would and keeps the same weights. */
typedef struct {
    int patience;    /* epochs without a better validation accuracy before stopping; 0: off */
    int best_epoch;  /* 0: none yet */
    double best_acc; /* its validation accuracy */
    float *best;     /* (layout.total) its weights */
} early_stop;

/* Records epoch `epoch`'s validation accuracy; *stop when the patience has run out. */
static cm_status early_stop_update(early_stop *es, cm_trainer *t, int epoch, double acc, int *stop) {
    *stop = 0;
    if (es->best_epoch == 0 || acc > es->best_acc) {
        es->best_acc = acc;
        es->best_epoch = epoch;
        return trainer_get_params(t, es->best);
    }
    *stop = epoch - es->best_epoch >= es->patience;
    return CM_OK;
}

/* Takes the best epoch so far and its weights from a checkpoint that has them. */
static cm_status early_stop_restore(early_stop *es, const char *path, const cm_model_file *file, size_t total) {
    const char *epoch = meta_get(&file->meta, "early_stopping.best_epoch");
    const char *acc = meta_get(&file->meta, "early_stopping.best_accuracy");
    const float *best = model_file_state(file, "best");
    if (!es->best || (!epoch && !acc && !best))
        return CM_OK; /* checkpointed before the first evaluation, or without --patience */
    long e;
    double a;
    if (!epoch || !acc || !best || cli_parse_float("best_accuracy", acc, 0.0, 1.0, &a) != CM_OK ||
        cli_parse_int("best_epoch", epoch, 1, 1000000, &e) != CM_OK)
        return cm_fail(CM_ERR_FORMAT, "%s: incomplete early-stopping state (best epoch, accuracy and weights)", path);
    es->best_epoch = (int)e;
    es->best_acc = a;
    memcpy(es->best, best, sizeof(float) * total);
    return CM_OK;
}

/* params and state (trainer_opt_state_count arrays) are host scratch of layout.total floats. */
static cm_status save_checkpoint(cm_trainer *t, const train_files *f, const cm_meta *base, int epochs_done,
                                 float *params, float **state, const early_stop *es) {
    cm_meta m = *base;
    CM_TRY(meta_set(&m, "checkpoint.epoch", "%d", epochs_done));
    CM_TRY(meta_set(&m, "checkpoint.global_step", "%lld", (long long)trainer_global_step(t)));
    CM_TRY(trainer_get_params(t, params));
    int n = trainer_opt_state_count(t);
    const char *names[CM_FILE_STATE_MAX];
    const float *arrays[CM_FILE_STATE_MAX];
    for (int i = 0; i < n; i++) {
        names[i] = trainer_opt_state_name(t, i);
        arrays[i] = state[i];
        CM_TRY(trainer_get_opt_state(t, i, state[i]));
    }
    if (es->patience) CM_TRY(meta_set(&m, "early_stopping.patience", "%d", es->patience));
    if (es->best_epoch) {
        CM_TRY(meta_set(&m, "early_stopping.best_epoch", "%d", es->best_epoch));
        CM_TRY(meta_set(&m, "early_stopping.best_accuracy", "%.17g", es->best_acc));
        names[n] = "best";
        arrays[n++] = es->best;
    }
    return model_file_save(f->checkpoint, trainer_layout(t), params, n, names, arrays, &m);
}

static cm_status write_report(cm_trainer *t, const train_files *f, const cm_dataset *ds, const cm_meta *meta,
                              const cm_stats *ev_stats, const cm_split *split) {
    int classes = ds->classes;
    int32_t *pred = malloc(sizeof(int32_t) * (size_t)split->count);
    float *probs = malloc(sizeof(float) * (size_t)split->count * classes);
    cm_status st = pred && probs ? CM_OK : cm_fail(CM_ERR_MEMORY, "out of host memory");
    cm_eval ev;
    if (st == CM_OK) st = trainer_predict(t, split, pred, probs, NULL);
    if (st == CM_OK) st = eval_compute(split, pred, probs, classes, &ev);
    if (st == CM_OK) {
        ev.loss = ev_stats->loss;
        char title[256];
        snprintf(title, sizeof title, "clmnist training report: %s, %s", meta_get(meta, "layers"), ds->name);
        st = report_write_html(f->report, title, meta, 1, &ev, split, cli_known_class_names(ds->name, classes));
        eval_free(&ev);
    }
    free(pred);
    free(probs);
    if (st == CM_OK) printf("report: %s/report.html and %s/metrics.jsonl\n", f->report, f->report);
    return st;
}

/* A checkpoint's train.layers / train.arch must describe its tensors: they go into the model file
 * the resumed run writes. */
static cm_status same_architecture(const cm_train_args *a, const cm_dataset *ds, const char *path,
                                   const cm_layout *file_layout) {
    cm_layout L;
    char want[CM_ARCH_TEXT], have[CM_ARCH_TEXT];
    cm_status st = cli_layout(a, ds, CM_PARAM_ALIGN_BYTES, &L);
    model_describe(file_layout, have, sizeof have);
    if (st != CM_OK) return cm_fail(CM_ERR_FORMAT, "%s: bad checkpoint metadata: %s", path, cm_last_error());
    model_describe(&L, want, sizeof want);
    if (strcmp(want, have) != 0)
        return cm_fail(CM_ERR_FORMAT, "%s: bad checkpoint metadata: its training options describe %s, its tensors %s",
                       path, want, have);
    return CM_OK;
}

/* file: the model named by --init or --resume, already loaded (its options applied to a), or
 * empty for a fresh model; start_epoch: where a resumed run continues. */
static cm_status train(cm_train_args *a, const train_files *f, cm_backend *b, const cm_dataset *ds, cm_model_file *file,
                       int start_epoch) {
    size_t align = b->align_bytes > CM_PARAM_ALIGN_BYTES ? b->align_bytes : CM_PARAM_ALIGN_BYTES;
    const char *from = f->resume ? f->resume : f->init;
    if (from && align > file->model.layout.align_bytes) { /* a device that wants wider alignment: rare */
        model_file_free(file);
        CM_TRY(model_file_load(from, align, file));
    } else if (!from) {
        CM_TRY(cli_init_model(a, ds, align, b, &file->model));
    }
    cm_status st = f->resume ? same_architecture(a, ds, f->resume, &file->model.layout) : CM_OK;
    if (st == CM_OK && start_epoch >= a->epochs)
        st = cm_fail(CM_ERR_USAGE, "%s: the run already finished its %d epochs", f->resume, a->epochs);
    char arch[CM_ARCH_TEXT];
    model_describe(&file->model.layout, arch, sizeof arch);
    cm_train_config cfg = cli_train_config(a);
    cm_trainer *t = NULL;
    early_stop es = {.patience = f->patience};
    if (st == CM_OK) st = trainer_create(b, ds, &file->model, &cfg, &t);
    if (st == CM_OK && es.patience && !(es.best = malloc(sizeof(float) * trainer_layout(t)->total)))
        st = cm_fail(CM_ERR_MEMORY, "out of host memory");
    if (st == CM_OK && f->resume && es.patience)
        st = early_stop_restore(&es, f->resume, file, trainer_layout(t)->total);
    if (st == CM_OK && f->resume) {
        trainer_set_global_step(t, (int64_t)start_epoch * trainer_steps_per_epoch(t));
        for (int i = 0; i < trainer_opt_state_count(t) && st == CM_OK; i++) {
            const float *saved = model_file_state(file, trainer_opt_state_name(t, i));
            st = saved ? trainer_set_opt_state(t, i, saved)
                       : cm_fail(CM_ERR_FORMAT, "%s: the checkpoint has no '%s' optimizer state", f->resume,
                                 trainer_opt_state_name(t, i));
        }
    }
    model_file_free(file);
    cm_meta meta;
    if (st == CM_OK) st = cli_model_meta(a, ds, b, &meta);
    float *params = NULL, *state[CM_OPT_STATE_MAX] = {NULL}, *lr_steps = NULL;
    if (st == CM_OK) {
        size_t n = trainer_layout(t)->total;
        params = malloc(sizeof(float) * n);
        lr_steps = malloc(sizeof(float) * (size_t)trainer_steps_per_epoch(t));
        int ok = params && lr_steps;
        for (int i = 0; i < trainer_opt_state_count(t); i++)
            ok = ok && (state[i] = malloc(sizeof(float) * n));
        if (!ok) st = cm_fail(CM_ERR_MEMORY, "out of host memory");
    }
    if (st == CM_OK && f->report) st = report_begin(f->report, f->resume != NULL);
    if (st == CM_OK) {
        char recipe[512];
        cli_describe_recipe(a, recipe, sizeof recipe);
        printf("model: %s (%zu parameters)%s%s, %s preset: %s, batch %d, %d epochs, seed %llu, data %s\n", arch,
               trainer_layout(t)->count, from ? " from " : "", from ? from : "", a->preset, recipe, a->batch, a->epochs,
               (unsigned long long)a->seed, trainer_is_resident(t) ? "resident" : "streamed");
        if (f->resume) printf("resuming after epoch %d of %d\n", start_epoch, a->epochs);
        if (f->resume && es.best_epoch)
            printf("early stopping: best so far epoch %d (val acc %.2f%%), patience %d\n", es.best_epoch,
                   100.0 * es.best_acc, es.patience);
    }
    const char *eval_name = a->val ? "val" : "test";
    double total = 0.0;
    cm_stats tr, ev = {0};
    int last_ckpt = -1, end_epoch = a->epochs;
    if (f->stop_after && start_epoch + f->stop_after < end_epoch) end_epoch = start_epoch + f->stop_after;
    for (int e = start_epoch; e < end_epoch && st == CM_OK; e++) {
        double secs, lr0 = trainer_current_lr(t);
        st = run_epoch(t, e, a->epochs, &tr, &secs, lr_steps);
        if (st == CM_OK) st = trainer_evaluate(t, &ds->test, &ev);
        if (st != CM_OK) break;
        total += secs;
        printf("epoch %d/%d: train loss %.4f, train acc %.2f%%, %s loss %.4f, %s acc %.2f%%, %.2f s (%.0f img/s)\n",
               e + 1, a->epochs, tr.loss, 100.0 * tr.accuracy, eval_name, ev.loss, eval_name, 100.0 * ev.accuracy, secs,
               (double)tr.count / secs);
        fflush(stdout);
        if (f->report) {
            cm_epoch_record r = {e + 1,
                                 tr.loss,
                                 tr.accuracy,
                                 ev.loss,
                                 ev.accuracy,
                                 lr0,
                                 trainer_current_lr(t),
                                 secs,
                                 (double)tr.count / secs,
                                 lr_steps,
                                 trainer_steps_per_epoch(t)};
            st = report_epoch(f->report, &r);
        }
        int stop = 0; /* early stopping on the validation split */
        if (st == CM_OK && es.patience) st = early_stop_update(&es, t, e + 1, ev.accuracy, &stop);
        if (st == CM_OK && f->checkpoint_every && (e + 1) % f->checkpoint_every == 0) {
            st = save_checkpoint(t, f, &meta, e + 1, params, state, &es);
            if (st == CM_OK) {
                printf("checkpoint: %s (after epoch %d)\n", f->checkpoint, e + 1);
                last_ckpt = e + 1;
            }
        }
        if (st == CM_OK && stop) {
            printf("early stopping: no better val accuracy for %d epochs\n", es.patience);
            end_epoch = e + 1;
            break;
        }
    }
    if (st == CM_OK && es.best_epoch > 0) {
        printf("early stopping: keeping the weights of epoch %d (val acc %.2f%%)\n", es.best_epoch,
               100.0 * es.best_acc);
        st = trainer_set_params(t, es.best);
        if (st == CM_OK) st = meta_set(&meta, "train.best_epoch", "%d", es.best_epoch);
    }
    if (st == CM_ERR_NUMERIC) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", cm_last_error());
        if (last_ckpt > 0)
            st = cm_fail(CM_ERR_NUMERIC, "%s; the last good checkpoint is %s (after epoch %d)", msg, f->checkpoint,
                         last_ckpt);
        else
            st = cm_fail(CM_ERR_NUMERIC, "%s; no model was saved", msg);
    }
    const cm_split *final_split = a->val ? &ds->heldout : &ds->test;
    if (st == CM_OK && a->val) st = trainer_evaluate(t, final_split, &ev);
    if (st == CM_OK) st = meta_set(&meta, "test_accuracy", "%.6f", ev.accuracy);
    if (st == CM_OK) st = meta_set(&meta, "test_loss", "%.6f", ev.loss);
    if (st == CM_OK && f->out) {
        st = trainer_get_params(t, params);
        if (st == CM_OK) st = model_file_save(f->out, trainer_layout(t), params, 0, NULL, NULL, &meta);
    }
    if (st == CM_OK && f->report) st = write_report(t, f, ds, &meta, &ev, final_split);
    if (st == CM_OK) {
        if (f->out) printf("model: saved to %s\n", f->out);
        printf("done: %s on %s, %d epochs in %.1f s, test accuracy: %.2f%%\n", arch, b->device_name,
               end_epoch - start_epoch, total, 100.0 * ev.accuracy);
        if (end_epoch < a->epochs)
            printf("stopped after epoch %d of %d%s%s\n", end_epoch, a->epochs,
                   last_ckpt == end_epoch ? "; continue with --resume " : "",
                   last_ckpt == end_epoch ? f->checkpoint : "");
    }
    free(params);
    free(es.best);
    free(lr_steps);
    for (int i = 0; i < CM_OPT_STATE_MAX; i++)
        free(state[i]);
    trainer_destroy(t);
    return st;
}

cm_status cmd_train(int argc, char **argv) {
    train_files f = {.out = "model.safetensors", .checkpoint = "checkpoint.safetensors"};
    cm_command_info info = {"train",
                            "Trains an MLP (784-512-256-10 by default) on the GPU, reports test accuracy and saves "
                            "the model.",
                            1,
                            train_extra,
                            on_extra,
                            &f};
    cm_train_args a;
    int help;
    CM_TRY(cli_parse_train(argc, argv, &info, &a, &help));
    if (help) return CM_OK;
    if (f.resume && f.init) return cm_fail(CM_ERR_USAGE, "--resume and --init: give one or the other");
    /* The model file is read once, before the data: a checkpoint's --val decides the split. */
    cm_model_file file = {0};
    int start_epoch = 0;
    const char *from = f.resume ? f.resume : f.init;
    if (from) CM_TRY(model_file_load(from, CM_PARAM_ALIGN_BYTES, &file));
    cm_status st = f.resume ? options_from_checkpoint(f.resume, &file.meta, &a, &start_epoch) : CM_OK;
    if (f.init) layers_from_model(&file.model.layout, &a); /* --init: the file's architecture is the run's */
    const char *patience = f.resume ? meta_get(&file.meta, "early_stopping.patience") : NULL;
    long v;
    if (st == CM_OK && patience) { /* like the other options, the checkpoint's replaces the flag */
        st = cli_parse_int("early_stopping.patience", patience, 1, 1000000, &v);
        if (st == CM_OK)
            f.patience = (int)v;
        else
            st = cm_fail(CM_ERR_FORMAT, "%s: bad checkpoint metadata: %s", f.resume, cm_last_error());
    }
    if (st == CM_OK && f.patience && !a.val)
        st = patience ? cm_fail(CM_ERR_FORMAT, "%s: bad checkpoint metadata: early stopping without a validation split",
                                f.resume)
                      : cm_fail(CM_ERR_USAGE, "--patience needs a validation split: add --val N (e.g. --val 5000)");
    cm_dataset ds = {0};
    if (st == CM_OK) st = cli_load_data(&a, &ds);
    const char *want = f.resume ? meta_get(&file.meta, "dataset_sha256") : NULL;
    if (st == CM_OK && want) { /* a run continues on the data it started on */
        char *have = cli_dataset_digests(a.data_dir);
        if (have && strcmp(have, want) != 0)
            st = cm_fail(CM_ERR_USAGE,
                         "%s: the checkpoint was trained on other data than %s (the training files' SHA-256 "
                         "differ); resume with the --data it started on",
                         f.resume, a.data_dir);
        free(have);
    }
    if (st != CM_OK) {
        dataset_free(&ds);
        model_file_free(&file);
        return st;
    }
    cm_backend_options bo = {.device = a.device, .threads = a.threads};
    cm_backend *b;
    double t0 = timer_now();
    st = backend_create(a.backend, &bo, &b);
    if (st == CM_OK) {
        printf("backend: %s: %s (ready in %.2f s)\n", b->kind, b->device_name, timer_now() - t0);
        if (b->tuning[0])
            printf("GEMM: tuned parameters from %s\n", b->tuning);
        else if (strcmp(b->kind, "device") == 0)
            printf("GEMM: CLBlast's defaults for this device (%s)\n",
                   gemm_tuning_disabled() ? "CLMNIST_NO_TUNING is set"
                                          : "no tuning cache; 'clmnist tune' searches for faster parameters once");
        st = train(&a, &f, b, &ds, &file, start_epoch);
        backend_destroy(b);
    }
    model_file_free(&file);
    dataset_free(&ds);
    return st;
}
