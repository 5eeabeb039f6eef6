/* api_run.c: the run engine's options and everything before the loop (api_run.h). */
#include "api_run.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic_file.h"
#include "dist.h"
#include "gemm_tune.h"
#include "preflight.h"
#include "timer.h"
#include "train_check.h"
#include "transfer.h"

/* The speed hint's probe: untimed and timed steps per backend, and the time after which the
 * timed steps stop (at least one on each). */
#define HINT_WARMUP 2
#define HINT_STEPS 5
#define HINT_BUDGET_S 1.5

void api_note(api_run *r, const char *fmt, ...) {
    char text[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    clmnist_train_event ev = {.kind = CLMNIST_EVENT_NOTE, .text = text};
    if (r->fn && r->fn(r->user, &ev)) r->stop = 1;
}

/* Each line `text` holds as a note. */
static void note_lines(api_run *r, const char *text) {
    for (const char *p = text; p && *p;) {
        size_t n = strcspn(p, "\n");
        api_note(r, "%.*s", (int)n, p);
        p += n + (p[n] == '\n');
    }
}

/* A run file option (api_run.h) by name: 1 when `name` is one, with value stored. */
static int file_option(api_run_files *f, const char *name, const char *v) {
    if (!strcmp(name, "out"))
        f->out = v;
    else if (!strcmp(name, "init"))
        f->init = v;
    else if (!strcmp(name, "freeze"))
        f->freeze = v;
    else if (!strcmp(name, "reset-head"))
        f->reset_head = api_flag_value(v);
    else if (!strcmp(name, "resume"))
        f->resume = v;
    else if (!strcmp(name, "checkpoint"))
        f->checkpoint = v;
    else if (!strcmp(name, "checkpoint-every"))
        f->checkpoint_every = atoi(v); /* checked when set */
    else if (!strcmp(name, "stop-after"))
        f->stop_after = atoi(v);
    else if (!strcmp(name, "patience"))
        f->patience = atoi(v);
    else if (!strcmp(name, "report"))
        f->report = v;
    else if (!strcmp(name, "no-hint"))
        f->no_hint = api_flag_value(v);
    else if (!strcmp(name, "serve"))
        f->serve_port = atoi(v);
    else if (!strcmp(name, "bind"))
        f->bind = v;
    else if (!strcmp(name, "token"))
        f->token = v;
    else if (!strcmp(name, "tls-cert"))
        f->tls_cert = v;
    else if (!strcmp(name, "tls-key"))
        f->tls_key = v;
    else if (!strcmp(name, "cors"))
        f->cors = v;
    else
        return 0;
    return 1;
}

/* The checks between the file options. */
static cm_status check_files(const api_run_files *f) {
    const char *dash_only = f->bind       ? "bind"
                            : f->token    ? "token"
                            : f->tls_cert ? "tls-cert"
                            : f->tls_key  ? "tls-key"
                            : f->cors     ? "cors"
                                          : NULL;
    if (dash_only && f->serve_port < 0) return cm_fail(CM_ERR_USAGE, "--%s applies to --serve", dash_only);
    if (!f->tls_cert != !f->tls_key)
        return cm_fail(CM_ERR_USAGE, "--tls-cert and --tls-key: give both (the certificate and its private key)");
    if (f->resume && f->init) return cm_fail(CM_ERR_USAGE, "--resume and --init: give one or the other");
    if ((f->freeze || f->reset_head) && !f->init)
        return cm_fail(CM_ERR_USAGE, "%s applies to --init FILE (fine-tuning a saved model)%s",
                       f->freeze ? "--freeze" : "--reset-head", f->resume ? "; a resumed run keeps its own" : "");
    return CM_OK;
}

cm_status api_run_options(api_run *r, const clmnist_train_options *o) {
    cm_train_args *a = &r->a;
    api_run_files *f = &r->f;
    *f = (api_run_files){.checkpoint = "checkpoint.safetensors", .serve_port = -1};
    run_defaults(a);
    a->backend = r->ctx->backend;
    a->device = r->ctx->device[0] ? r->ctx->device : NULL;
    a->threads = r->ctx->threads;
    if (r->given) a->data_dir = r->given->path, a->data = r->given->opts;
    const char *preset = "fast";
    for (int i = 0; o && i < o->n; i++)
        if (!strcmp(o->name[i], "preset")) preset = o->value[i];
    CM_TRY(run_apply_preset(a, preset));
    for (int i = 0; o && i < o->n; i++) {
        const char *name = o->name[i], *v = o->value[i];
        if (!strcmp(name, "preset") || file_option(f, name, v)) continue;
        if (api_is_data_option(name)) f->data_given = 1;
        CM_TRY(run_set_option(a, name, v));
        run_mark_given(a, opt_find(name, 0)); /* as if on the command line (run_finish's checks) */
    }
    if (r->given && f->data_given)
        return cm_fail(CM_ERR_USAGE, "clmnist_train: the data options (data, image-size, preprocess, test-fraction, "
                                     "transpose) are the dataset handle's (clmnist_dataset_open): give a NULL dataset "
                                     "to have them read the data");
    if (!f->bind && f->serve_port >= 0) f->bind = "127.0.0.1";
    CM_TRY(run_finish(a));
    CM_TRY(check_files(f));
    r->rank = dist_world()->rank;
    if (r->rank != 0) f->out = NULL, f->report = NULL; /* rank 0's to write, and checkpoints (not_writer) */
    return CM_OK;
}

/* Before any work: the files this run writes (rank 0's), and its dashboard's port, bound now and
 * kept. What writers killed before their rename left next to them goes first. */
static cm_status preflight(api_run *r) {
    const api_run_files *f = &r->f;
    if (r->rank == 0) {
        if (f->out) atomic_file_remove_stale(f->out);
        if (f->checkpoint_every) atomic_file_remove_stale(f->checkpoint);
        if (f->resume) atomic_file_remove_stale(f->resume);
        CM_TRY(preflight_file("--out", f->out));
        if (f->checkpoint_every) CM_TRY(preflight_file("--checkpoint", f->checkpoint));
        CM_TRY(preflight_dir("--report", f->report));
    }
    if (f->serve_port >= 0 && r->rank == 0) { /* a bad token (or CLMNIST_TOKEN) fails now, not after the data */
        char unused[65];
        const char *token;
        int fresh;
        CM_TRY(http_pick_token(f->bind, f->token, unused, &token, &fresh));
        CM_TRY(http_listen(f->bind, f->serve_port, &r->listener));
    }
    return CM_OK;
}

/* Reads the model of --resume or --init, before the data: a checkpoint's --val decides the split.
 * --init's architecture replaces --layers; a checkpoint's options and patience replace the caller's. */
static cm_status read_start(api_run *r) {
    cm_train_args *a = &r->a;
    api_run_files *f = &r->f;
    const char *from = f->resume ? f->resume : f->init;
    int saved = 0;
    if (from) CM_TRY(model_file_load(from, CM_PARAM_ALIGN_BYTES, &r->file));
    if (f->resume) CM_TRY(run_checkpoint_options(f->resume, &r->file.meta, a, &r->start_epoch));
    if (f->init) model_describe(&r->file.model.layout, a->arch, sizeof a->arch); /* the file's architecture */
    if (f->resume) {
        CM_TRY(train_checkpoint_patience(f->resume, &r->file.meta, &saved));
        if (saved) f->patience = saved;
    }
    if (f->patience && !a->val)
        return saved ? cm_fail(CM_ERR_FORMAT, "%s: bad checkpoint metadata: early stopping without a validation split",
                               f->resume)
                     : cm_fail(CM_ERR_USAGE, "--patience needs a validation split: add --val N (e.g. --val 5000)");
    return CM_OK;
}

/* The caller's dataset's splits, borrowed, as the run sees them: with val, its last `val`
 * training images become the validation split and the test split the held-out one; with limit,
 * the first images train. */
static cm_status borrow_data(api_run *r) {
    const cm_train_args *a = &r->a;
    const cm_dataset *src = &r->given->ds;
    cm_dataset *v = &r->ds;
    *v = *src;
    v->train.borrowed = v->test.borrowed = v->heldout.borrowed = 1;
    if (a->val) {
        if (a->val >= src->train.count)
            return cm_fail(CM_ERR_USAGE, "clmnist_train: val %d: the dataset has %d training images", a->val,
                           src->train.count);
        v->heldout = v->test;
        v->test = v->train;
        v->train.count -= a->val;
        v->test.count = a->val;
        v->test.images += (size_t)v->train.count * (size_t)v->train.dim;
        v->test.labels += v->train.count;
    }
    if (a->limit > 0 && a->limit < v->train.count) v->train.count = a->limit;
    return CM_OK;
}

/* The data the options name, its "data:" line a note, its warnings on stderr. */
static cm_status load_data(api_run *r) {
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    r->a.info = m;
    cm_status st = run_load_data(&r->a, &r->ds);
    fclose(m);
    r->a.info = stderr;
    note_lines(r, text);
    free(text);
    return st == CM_OK ? run_warn_data(r->a.data_dir, &r->ds) : st;
}

/* A run continues on the data it started on. */
static cm_status check_resume_data(api_run *r) {
    const char *want = r->f.resume ? meta_get(&r->file.meta, "dataset_sha256") : NULL;
    if (!want) return CM_OK;
    char *have = run_dataset_digests(r->a.data_dir);
    cm_status st = CM_OK;
    if (have && strcmp(have, want) != 0)
        st = cm_fail(CM_ERR_USAGE,
                     "%s: the checkpoint was trained on other data than %s (the training files' SHA-256 "
                     "differ); resume with the --data it started on",
                     r->f.resume, r->a.data_dir);
    free(have);
    return st;
}

static cm_status open_backend(api_run *r) {
    const cm_dist *d = dist_world();
    double t0 = timer_now();
    CM_TRY(api_ctx_backend(r->ctx, &r->b));
    const cm_backend *b = r->b;
    api_note(r, "backend: %s: %s (%s%sready in %.2f s)", b->kind, b->device_name, b->chosen, b->chosen[0] ? "; " : "",
             timer_now() - t0);
    if (d->size > 1 && r->a.batch % d->size == 0)
        api_note(r, "data parallel: %d ranks (rank 0 reports and writes the files), batch %d per rank", d->size,
                 r->a.batch / d->size);
    if (b->tuning[0])
        api_note(r, "GEMM: tuned parameters from %s", b->tuning);
    else if (strcmp(b->kind, "device") == 0)
        api_note(r, "GEMM: CLBlast's defaults for this device (%s)",
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
 * both backends; when the host backend is at least CM_HINT_THRESHOLD times faster, a note says
 * so and how to switch. Never on a GPU; advisory: a probe that fails says nothing. */
static void speed_hint(api_run *r) {
    const char *off = getenv("CLMNIST_NO_HINT");
    if (r->f.no_hint || (off && *off && strcmp(off, "0") != 0) || dist_world()->size > 1) return;
    if (strcmp(r->b->kind, "device") != 0 || !backend_device_is_cpu(r->b)) return;
    cm_backend_options bo = {.threads = r->a.threads};
    cm_backend *both[2] = {NULL, r->b};
    cm_train_config cfg = run_train_config(&r->a);
    double step_s[2], ratio;
    int timed;
    cm_status st = backend_create("host", &bo, &both[0]);
    if (st == CM_OK)
        st = diag_speed_probe(both, &r->ds, &r->file.model, &cfg, HINT_WARMUP, HINT_STEPS, HINT_BUDGET_S, step_s,
                              &timed);
    backend_destroy(both[0]);
    if (st == CM_OK) hint_test_times(step_s);
    if (st == CM_OK && diag_hint_host_faster(step_s[0], step_s[1], CM_HINT_THRESHOLD, &ratio))
        api_note(r,
                 "clmnist: note: on this CPU the host backend trains this network %.1fx faster (measured over %d "
                 "steps each): add --backend host",
                 ratio, timed);
    cm_clear_error();
}

/* A checkpoint's train.layers / train.arch must describe its tensors: they go into the model file
 * the resumed run writes. */
static cm_status same_architecture(api_run *r) {
    cm_layout L;
    char want[CM_ARCH_TEXT], have[CM_ARCH_TEXT];
    const char *path = r->f.resume;
    cm_status st = run_layout(&r->a, &r->ds, CM_PARAM_ALIGN_BYTES, &L);
    model_describe(&r->file.model.layout, have, sizeof have);
    if (st != CM_OK) return cm_fail(CM_ERR_FORMAT, "%s: bad checkpoint metadata: %s", path, cm_last_error());
    model_describe(&L, want, sizeof want);
    if (strcmp(want, have) != 0)
        return cm_fail(CM_ERR_FORMAT, "%s: bad checkpoint metadata: its training options describe %s, its tensors %s",
                       path, want, have);
    return CM_OK;
}

/* --init: the saved model adapted to this data (transfer.h): its head, --freeze, --reset-head;
 * --arch follows, and the run's metadata will say where it came from. */
static cm_status adapt_init(api_run *r) {
    const api_run_files *f = &r->f;
    const cm_dataset *ds = &r->ds;
    cm_model *model = &r->file.model;
    cm_transfer_options o = {.freeze = f->freeze, .reset_head = f->reset_head, .seed = r->a.seed};
    cm_transfer_info info;
    char what[4200];
    snprintf(what, sizeof what, "--init %s", f->init);
    cm_shape input = {split_channels(&ds->train), ds->train.rows, ds->train.cols, 0};
    CM_TRY(transfer_adapt(what, model, input, ds->classes, &o, &info));
    model_describe(&model->layout, r->a.arch, sizeof r->a.arch);
    if (info.old_classes != info.new_classes)
        api_note(r, "init: %d classes here, %d in %s: its head (layer %d, Linear) is replaced by a new one",
                 info.new_classes, info.old_classes, f->init, info.head);
    else if (info.reset)
        api_note(r, "init: the head (layer %d, Linear) starts from new weights (--reset-head)", info.head);
    if (info.frozen[0])
        api_note(r, "init: layers %s frozen (%zu parameters); %zu parameters train", info.frozen,
                 model->layout.frozen_count, model->layout.count);
    return transfer_meta(r->finetune, f->init, ds->name, &info);
}

/* The model to train, laid out for the backend: --resume's or --init's, or a fresh one. */
static cm_status prepare_model(api_run *r) {
    const api_run_files *f = &r->f;
    size_t align = r->b->align_bytes > CM_PARAM_ALIGN_BYTES ? r->b->align_bytes : CM_PARAM_ALIGN_BYTES;
    const char *from = f->resume ? f->resume : f->init;
    if (from && align > r->file.model.layout.align_bytes) { /* a device that wants wider alignment: rare */
        model_file_free(&r->file);
        CM_TRY(model_file_load(from, align, &r->file));
    } else if (!from) {
        CM_TRY(run_init_model(&r->a, &r->ds, align, r->b, &r->file.model));
    }
    if (f->init) CM_TRY(adapt_init(r));
    run_normalisation(&r->ds, &r->file.model.layout); /* --init, --resume: this data's, as the pipeline records */
    if (f->resume) CM_TRY(transfer_meta_copy(r->finetune, &r->file.meta));
    if (f->resume) CM_TRY(same_architecture(r));
    if (r->start_epoch > r->a.epochs)
        return cm_fail(CM_ERR_FORMAT, "%s: bad checkpoint metadata: epoch %d of a %d-epoch run", f->resume,
                       r->start_epoch, r->a.epochs);
    model_describe(&r->file.model.layout, r->arch, sizeof r->arch);
    return CM_OK;
}

/* `tune` keeps one tuning per device, made for one model's GEMM shapes; on other shapes it can be
 * slower than CLBlast's defaults (the cnn network on PoCL with the MLP's tuning: 874 against
 * 1,814 images/s, docs/BENCHMARKS.md), so a run of another model or batch says so. */
static void tuning_mismatch_note(api_run *r) {
    const cm_backend *b = r->b;
    char want[CM_ARCH_TEXT + 64];
    snprintf(want, sizeof want, "%s, batch %d", r->arch, r->a.batch);
    if (!b->tuning[0] || !b->tuned_for[0] || !strcmp(b->tuned_for, want)) return;
    api_note(r, "GEMM: the tuning in use was made for %s, not this run's %s; on other shapes it can be slower than "
                "CLBlast's defaults: 'clmnist tune' with this run's flags, or CLMNIST_NO_TUNING=1",
             b->tuned_for, want);
}

cm_status api_run_prepare(api_run *r) {
    r->finetune = calloc(1, sizeof *r->finetune); /* 64 KiB each: not on the stack */
    r->meta = calloc(1, sizeof *r->meta);
    if (!r->finetune || !r->meta) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    CM_TRY(preflight(r));
    CM_TRY(read_start(r));
    CM_TRY(r->given ? borrow_data(r) : load_data(r));
    CM_TRY(check_resume_data(r));
    CM_TRY(open_backend(r));
    CM_TRY(prepare_model(r));
    tuning_mismatch_note(r);
    speed_hint(r);
    return CM_OK;
}

void api_run_free(api_run *r) {
    http_listener_close(r->listener);
    model_file_free(&r->file);
    if (!r->given) dataset_free(&r->ds); /* a borrowed one stays the caller's */
    free(r->finetune);
    free(r->meta);
}
