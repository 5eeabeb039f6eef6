/* api_train.c: training through the public API: options by the command line's long names
 * (host/train/run_options.h checks them), the training loop (train_loop.h) with an observer
 * that reports steps and epochs to the caller's callback, and the trained model as a handle. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "run_options.h"
#include "timer.h"
#include "train_loop.h"

/* Options of the API's own (train_loop.h's; 'clmnist train' has the same flags). */
static const char *const loop_names[] = {"patience", "checkpoint", "checkpoint-every", NULL};

static int is_loop_option(const char *name) {
    for (const char *const *p = loop_names; *p; p++)
        if (!strcmp(*p, name)) return 1;
    return 0;
}

/* The run options that are not the training's: the context's and the dataset's. */
static cm_status check_name(const char *name) {
    static const char *const ctx_names[] = {"backend", "device", "threads"};
    static const char *const data_names[] = {"data", "image-size", "preprocess", "test-fraction", "transpose"};
    for (size_t i = 0; i < sizeof ctx_names / sizeof ctx_names[0]; i++)
        if (!strcmp(name, ctx_names[i]))
            return cm_fail(CM_ERR_USAGE, "clmnist_train_options_set: '%s' is an option of the context (clmnist_open)",
                           name);
    for (size_t i = 0; i < sizeof data_names / sizeof data_names[0]; i++)
        if (!strcmp(name, data_names[i]))
            return cm_fail(CM_ERR_USAGE,
                           "clmnist_train_options_set: '%s' says how the data is read: the dataset handle's "
                           "(clmnist_dataset_open)",
                           name);
    return CM_OK;
}

/* Checks value as the command line would: on a scratch copy of the defaults. */
static cm_status check_value(const char *name, const char *value) {
    long v;
    if (!strcmp(name, "patience")) return cm_parse_int("--patience", value, 1, 1000000, &v);
    if (!strcmp(name, "checkpoint-every")) return cm_parse_int("--checkpoint-every", value, 1, 1000000, &v);
    if (!strcmp(name, "checkpoint"))
        return *value ? CM_OK : cm_fail(CM_ERR_USAGE, "clmnist_train_options_set: checkpoint: an empty path");
    cm_train_args a;
    run_defaults(&a);
    return run_set_option(&a, name, value);
}

int clmnist_train_options_new(clmnist_train_options **out) {
    if (!out) return api_null("clmnist_train_options_new", "out");
    *out = calloc(1, sizeof **out);
    return *out ? CM_OK : cm_fail(CM_ERR_MEMORY, "out of host memory");
}

void clmnist_train_options_free(clmnist_train_options *opts) {
    free(opts);
}

int clmnist_train_options_set(clmnist_train_options *o, const char *name, const char *value) {
    if (!o) return api_null("clmnist_train_options_set", "opts");
    if (!name) return api_null("clmnist_train_options_set", "name");
    if (!value) return api_null("clmnist_train_options_set", "value");
    if (strlen(name) >= sizeof o->name[0] || strlen(value) >= sizeof o->value[0])
        return cm_fail(CM_ERR_USAGE, "clmnist_train_options_set: %s: too long", name);
    CM_TRY(check_name(name));
    CM_TRY(check_value(name, value));
    int i = 0;
    while (i < o->n && strcmp(o->name[i], name) != 0)
        i++;
    if (i == API_TRAIN_OPTIONS) return cm_fail(CM_ERR_USAGE, "clmnist_train_options_set: too many options");
    if (i == o->n) o->n++;
    snprintf(o->name[i], sizeof o->name[i], "%s", name);
    snprintf(o->value[i], sizeof o->value[i], "%s", value);
    return CM_OK;
}

/* What a run needs besides cm_train_args: train_loop.h's options. */
typedef struct {
    int patience, checkpoint_every;
    const char *checkpoint;
} loop_options;

/* The run's arguments as 'clmnist train' builds them: defaults, the preset, every option in
 * order, the checks between them; the backend and data are ctx's and ds's. */
static cm_status build_args(const clmnist_ctx *ctx, const clmnist_dataset *ds, const clmnist_train_options *o,
                            cm_train_args *a, loop_options *l) {
    run_defaults(a);
    a->backend = ctx->backend;
    a->device = ctx->device[0] ? ctx->device : NULL;
    a->threads = ctx->threads;
    a->data_dir = ds->path;
    a->data = ds->opts;
    a->info = stderr;
    const char *preset = "fast";
    for (int i = 0; o && i < o->n; i++)
        if (!strcmp(o->name[i], "preset")) preset = o->value[i];
    CM_TRY(run_apply_preset(a, preset));
    *l = (loop_options){0};
    for (int i = 0; o && i < o->n; i++) {
        const char *name = o->name[i], *v = o->value[i];
        if (!strcmp(name, "preset")) continue;
        if (!strcmp(name, "patience")) l->patience = atoi(v); /* checked when set */
        if (!strcmp(name, "checkpoint-every")) l->checkpoint_every = atoi(v);
        if (!strcmp(name, "checkpoint")) l->checkpoint = v;
        if (is_loop_option(name)) continue;
        CM_TRY(run_set_option(a, name, v));
        run_mark_given(a, opt_find(name, 0)); /* as if on the command line (run_finish's checks) */
    }
    CM_TRY(run_finish(a));
    if (l->checkpoint_every && !l->checkpoint) l->checkpoint = "checkpoint.safetensors";
    if (l->patience && !a->val)
        return cm_fail(CM_ERR_USAGE, "clmnist_train: patience needs a validation split: set val (e.g. 5000)");
    return CM_OK;
}

/* ds's splits, borrowed, as the run sees them: with val, its last `val` training images become the
 * validation split and the test split the held-out one; with limit, the first images train. */
static cm_status run_view(const cm_train_args *a, const clmnist_dataset *ds, cm_dataset *v) {
    *v = ds->ds;
    v->train.borrowed = v->test.borrowed = v->heldout.borrowed = 1;
    if (a->val) {
        if (a->val >= ds->ds.train.count)
            return cm_fail(CM_ERR_USAGE, "clmnist_train: val %d: the dataset has %d training images", a->val,
                           ds->ds.train.count);
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

/* ---- the observer: train_loop.h's callbacks to the caller's ------------------------------ */

typedef struct {
    clmnist_observer fn;
    void *user;
    volatile sig_atomic_t stop;
    double t0, last; /* the epoch's start, the last step event */
    int epoch, epochs;
} relay;

static cm_status relay_epoch_begin(void *ctx, int epoch, int epochs, int steps) {
    relay *r = ctx;
    r->epoch = epoch, r->epochs = epochs;
    r->t0 = r->last = timer_now();
    return CM_OK;
}

/* A step event about twice a second and after the epoch's last step: reading the statistics
 * waits for the backend. */
static cm_status relay_step(void *ctx, cm_trainer *t, int done, int steps) {
    relay *r = ctx;
    double now = timer_now();
    if (!r->fn || (done < steps && now - r->last < 0.5)) return CM_OK;
    cm_stats st;
    CM_TRY(trainer_train_stats(t, &st));
    r->last = timer_now();
    clmnist_train_event ev = {.kind = CLMNIST_EVENT_STEP,
                              .epoch = r->epoch,
                              .epochs = r->epochs,
                              .step = done,
                              .steps = steps,
                              .loss = st.loss,
                              .accuracy = st.accuracy,
                              .images_per_second = (double)st.count / (r->last - r->t0 > 0 ? r->last - r->t0 : 1e-9),
                              .lr = trainer_current_lr(t)};
    if (r->fn(r->user, &ev)) r->stop = 1;
    return CM_OK;
}

static cm_status relay_epoch_end(void *ctx, const cm_epoch_result *e) {
    relay *r = ctx;
    if (!r->fn) return CM_OK;
    clmnist_train_event ev = {.kind = CLMNIST_EVENT_EPOCH,
                              .epoch = e->epoch,
                              .epochs = e->epochs,
                              .step = e->nsteps,
                              .steps = e->nsteps,
                              .loss = e->train.loss,
                              .accuracy = e->train.accuracy,
                              .images_per_second = e->seconds > 0 ? (double)e->train.count / e->seconds : 0.0,
                              .lr = e->lr_end,
                              .eval_loss = e->eval.loss,
                              .eval_accuracy = e->eval.accuracy};
    if (r->fn(r->user, &ev)) r->stop = 1;
    return CM_OK;
}

/* ---- the run -------------------------------------------------------------------------------- */

/* Runs the loop on trainer t and leaves the final evaluation (the held-out split with val) in *ev. */
static cm_status run_loop(cm_trainer *t, const cm_train_args *a, const loop_options *l, const cm_dataset *v,
                          cm_meta *meta, relay *r, cm_stats *ev) {
    cm_train_run run = {.epochs = a->epochs,
                        .patience = l->patience,
                        .eval = &v->test,
                        .checkpoint = l->checkpoint,
                        .checkpoint_every = l->checkpoint_every,
                        .meta = meta,
                        .stop = &r->stop};
    cm_train_observer obs = {
        .ctx = r, .epoch_begin = relay_epoch_begin, .step = relay_step, .epoch_end = relay_epoch_end};
    cm_train_loop *loop = NULL;
    cm_train_result res = {0};
    cm_status st = train_loop_create(t, &run, &loop);
    if (st == CM_OK) st = train_loop_run(loop, &obs, &res);
    train_loop_destroy(loop);
    *ev = res.eval;
    if (st == CM_OK && (a->val || res.stopped || res.end_epoch == 0))
        st = trainer_evaluate(t, a->val ? &v->heldout : &v->test, ev);
    if (st == CM_OK) st = meta_set(meta, "test_accuracy", "%.6f", ev->accuracy);
    if (st == CM_OK) st = meta_set(meta, "test_loss", "%.6f", ev->loss);
    return st;
}

/* The trained parameters and the run's metadata as a model file, for a model handle. */
static cm_status trained_file(cm_trainer *t, const cm_meta *meta, cm_model_file *f) {
    memset(f, 0, sizeof *f);
    f->model.layout = *trainer_layout(t);
    f->model.params = calloc(f->model.layout.total, sizeof(float));
    if (!f->model.params) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    f->meta = *meta;
    return trainer_get_params(t, f->model.params);
}

static cm_status train(clmnist_ctx *ctx, const clmnist_dataset *ds, const clmnist_train_options *o, relay *r,
                       cm_model_file *file) {
    cm_train_args a;
    loop_options l;
    cm_dataset v;
    cm_backend *b;
    CM_TRY(build_args(ctx, ds, o, &a, &l));
    CM_TRY(run_view(&a, ds, &v));
    CM_TRY(api_ctx_backend(ctx, &b));
    size_t align = b->align_bytes > CM_PARAM_ALIGN_BYTES ? b->align_bytes : CM_PARAM_ALIGN_BYTES;
    cm_model model = {0};
    cm_meta *meta = calloc(1, sizeof *meta); /* 64 KiB: not on the stack */
    cm_train_config cfg = run_train_config(&a);
    cm_trainer *t = NULL;
    cm_stats ev;
    cm_status st = meta ? run_init_model(&a, &v, align, b, &model) : cm_fail(CM_ERR_MEMORY, "out of host memory");
    if (st == CM_OK) st = run_model_meta(&a, &v, b, meta);
    if (st == CM_OK) st = trainer_create(b, &v, &model, &cfg, &t);
    if (st == CM_OK) st = run_loop(t, &a, &l, &v, meta, r, &ev);
    if (st == CM_OK) st = trained_file(t, meta, file);
    trainer_destroy(t);
    model_free(&model);
    free(meta);
    return st;
}

int clmnist_train(clmnist_ctx *ctx, const clmnist_dataset *ds, const clmnist_train_options *opts,
                  clmnist_observer observer, void *user, clmnist_model **out) {
    if (!out) return api_null("clmnist_train", "out");
    *out = NULL;
    if (!ctx) return api_null("clmnist_train", "ctx");
    if (!ds) return api_null("clmnist_train", "ds");
    relay r = {.fn = observer, .user = user};
    cm_model_file *file = calloc(1, sizeof *file);
    if (!file) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    cm_status st = train(ctx, ds, opts, &r, file);
    if (st == CM_OK) st = api_model_from_file(ctx, file, out);
    model_file_free(file);
    free(file);
    return st;
}
