/* sweep_run.c: running a sweep's rungs in this process (sweep.h): each trial's options, the
 * base with its values applied, trained on the data loaded once, continued from its
 * checkpoint at every rung; then the best trial's test accuracy and model. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train_loop.h"
#include "sweep.h"
#include "timer.h"

/* TEST ONLY: the process kills itself (SIGKILL) after recording this many rungs of trials, as a
 * crash or `kill -9` would at that point (tests/cli_sweep.sh). */
#define SWEEP_KILL_ENV "CLMNIST_TEST_SWEEP_KILL_AFTER"
/* TEST ONLY: the process sends itself SIGINT (Ctrl-C) after this many training steps, counted over
 * its trials: a stop in the middle of an epoch, at a step the test chooses. */
#define SWEEP_INT_ENV "CLMNIST_TEST_SWEEP_INT_AT_STEP"

typedef struct {
    sweep_state *s;
    const cm_train_args *base;
    const sweep_run_options *o;
    const cm_dataset *ds;
    cm_backend *b;
    int trained;             /* rungs of trials trained by this process */
    int stopped;             /* Ctrl-C ended a trial: the sweep stops */
    int budget;              /* the time budget ran out */
    long steps, int_at_step; /* steps trained by this process; SWEEP_INT_ENV's */
} sweep_ctx;

static cm_status on_step(void *ctx, cm_trainer *t, int done, int steps) {
    sweep_ctx *c = ctx;
    if (++c->steps == c->int_at_step) raise(SIGINT);
    return CM_OK;
}

static void ckpt_path(const sweep_state *s, int t, char *buf, size_t size) {
    snprintf(buf, size, "%s/ckpt/trial-%03d.safetensors", s->dir, t + 1);
}

/* Trial t's options: the base (the command line's options before run_finish), --epochs
 * max_epochs and the trial's values, in that order as the command line would apply them, then
 * run_finish. */
static cm_status trial_args(const sweep_ctx *c, int t, cm_train_args *a) {
    const sweep_state *s = c->s;
    char epochs[16];
    *a = *c->base;
    snprintf(epochs, sizeof epochs, "%d", s->max_epochs);
    cm_status st = run_set_option(a, "epochs", epochs);
    for (int i = 0; i < s->space.n && st == CM_OK; i++) {
        st = run_set_option(a, s->space.p[i].name, s->trial[t].settings.value[i]);
        if (st == CM_OK) run_mark_given(a, opt_find(s->space.p[i].name, 0)); /* as on the command line */
    }
    if (st == CM_OK) st = run_finish(a);
    if (st != CM_OK) {
        char set[1024];
        sweep_settings_format(&s->space, &s->trial[t].settings, " ", set, sizeof set);
        return cm_fail(st, "trial %d (%s): %s", t + 1, set, cm_last_error());
    }
    return CM_OK;
}

/* The model of trial t: its checkpoint (*resumed; *start, the epochs it holds: 0 for a trial
 * stopped by Ctrl-C in its first epoch), or a fresh one. */
static cm_status trial_model(const sweep_ctx *c, const cm_train_args *a, const char *path, cm_model_file *file,
                             int *resumed, int *start) {
    size_t align = c->b->align_bytes > CM_PARAM_ALIGN_BYTES ? c->b->align_bytes : CM_PARAM_ALIGN_BYTES;
    *start = *resumed = 0;
    if (access(path, F_OK) != 0) return run_init_model(a, c->ds, align, c->b, &file->model);
    CM_TRY(model_file_load(path, align, file));
    CM_TRY(train_checkpoint_epoch(path, &file->meta, start));
    *resumed = 1;
    return CM_OK;
}

static cm_status trial_meta(const sweep_ctx *c, const cm_train_args *a, int t, cm_meta *meta) {
    char set[CM_META_VALUE];
    CM_TRY(run_model_meta(a, c->ds, c->b, meta));
    sweep_settings_format(&c->s->space, &c->s->trial[t].settings, " ", set, sizeof set);
    CM_TRY(meta_set(meta, "sweep.trial", "%d", t + 1));
    CM_TRY(meta_set(meta, "sweep.settings", "%s", set));
    return CM_OK;
}

/* Trains trial t from the epochs its checkpoint holds to rung k's and evaluates it on the
 * validation split into r (accuracy NaN when the loss diverged). */
static cm_status train_trial(sweep_ctx *c, int t, int k, sweep_result *r) {
    cm_train_args a;
    cm_model_file file = {0};
    memset(&a, 0, sizeof a);
    cm_meta *meta = malloc(sizeof *meta);
    char path[4096];
    int start = 0, resumed = 0, to = c->s->rung_epochs[k];
    ckpt_path(c->s, t, path, sizeof path);
    cm_status st = meta ? trial_args(c, t, &a) : cm_fail(CM_ERR_MEMORY, "out of host memory");
    if (st == CM_OK) st = trial_model(c, &a, path, &file, &resumed, &start);
    if (st == CM_OK && start > to)
        st = cm_fail(CM_ERR_FORMAT, "%s: holds %d epochs, more than rung %d's %d", path, start, k + 1, to);
    if (st == CM_OK) st = trial_meta(c, &a, t, meta);
    cm_train_config cfg = run_train_config(&a);
    cm_trainer *tr = NULL;
    cm_train_loop *loop = NULL;
    cm_train_run run = {.epochs = a.epochs,
                        .start_epoch = start,
                        .stop_after = to - start,
                        .eval = &c->ds->test,
                        .checkpoint = path,
                        .checkpoint_every = 1,
                        .meta = meta,
                        .stop = c->o->stop};
    cm_train_result res = {0};
    if (st == CM_OK) st = trainer_create(c->b, c->ds, &file.model, &cfg, &tr);
    if (st == CM_OK) st = train_loop_create(tr, &run, &loop);
    if (st == CM_OK && resumed) st = train_loop_resume(loop, path, &file);
    model_file_free(&file);
    cm_train_observer obs = {.ctx = c, .step = on_step};
    if (st == CM_OK && start < to) st = train_loop_run(loop, &obs, &res);
    if (st == CM_OK && start == to) st = trainer_evaluate(tr, &c->ds->test, &res.eval); /* killed before recording */
    *r = (sweep_result){1, res.eval.accuracy, res.eval.loss, 0.0};
    if (st == CM_ERR_NUMERIC) {
        cm_clear_error();
        *r = (sweep_result){1, NAN, NAN, 0.0};
        st = CM_OK;
    }
    c->stopped = st == CM_OK && res.stopped;
    train_loop_destroy(loop);
    trainer_destroy(tr);
    free(meta);
    return st;
}

/* Records rung k of trial t: trials.jsonl and trials.csv rewritten, sweep.html too. */
static cm_status record(sweep_ctx *c, int t, int k, const sweep_result *r) {
    c->s->trial[t].rung[k] = *r;
    CM_TRY(sweep_state_save(c->s));
    CM_TRY(sweep_write_html(c->s));
    c->trained++;
    const char *kill_after = getenv(SWEEP_KILL_ENV);
    long n = kill_after ? strtol(kill_after, NULL, 10) : 0;
    if (n > 0 && c->trained >= n) raise(SIGKILL);
    return CM_OK;
}

/* Rung k of trial t, unless it is recorded; a diverged trial stays diverged without training. */
static cm_status run_one(sweep_ctx *c, int t, int k, int pos, int count) {
    sweep_state *s = c->s;
    if (s->trial[t].rung[k].done) return CM_OK;
    if (*c->o->stop) { /* Ctrl-C just after a trial's last step: stop before the next */
        c->stopped = 1;
        return CM_OK;
    }
    if (s->time_budget > 0 && sweep_seconds(s) >= s->time_budget) {
        c->budget = 1;
        return CM_OK;
    }
    char set[1024];
    sweep_settings_format(&s->space, &s->trial[t].settings, " ", set, sizeof set);
    int last = sweep_last_rung(s, t);
    sweep_result r;
    double t0 = timer_now();
    if (last >= 0 && !isfinite(s->trial[t].rung[last].accuracy))
        r = (sweep_result){1, NAN, NAN, 0.0};
    else
        CM_TRY(train_trial(c, t, k, &r));
    if (c->stopped) return CM_OK;
    r.seconds = timer_now() - t0;
    int from = last >= 0 ? s->rung_epochs[last] + 1 : 1; /* the best trial after a budget: from its last rung */
    char ep[32];
    if (from < s->rung_epochs[k])
        snprintf(ep, sizeof ep, "epochs %d-%d", from, s->rung_epochs[k]);
    else
        snprintf(ep, sizeof ep, "epoch %d", from);
    if (isfinite(r.accuracy))
        printf("sweep: rung %d/%d, trial %d (%d of %d): %s: %s, val acc %.2f%% (%.1f s)\n", k + 1, s->nrungs, t + 1,
               pos, count, set, ep, 100.0 * r.accuracy, r.seconds);
    else
        printf("sweep: rung %d/%d, trial %d (%d of %d): %s: the loss diverged\n", k + 1, s->nrungs, t + 1, pos, count,
               set);
    return record(c, t, k, &r);
}

/* The checkpoints of the trials of rung k that rung k + 1 does not continue (all but the best
 * trial's after the top rung): no longer needed. */
static void drop_checkpoints(const sweep_ctx *c, int k, int *ids, int *next) {
    const sweep_state *s = c->s;
    int n = s->rung_size[k], m = 0, best = sweep_best(s);
    sweep_rung_members(s, k, ids);
    if (k + 1 < s->nrungs) {
        sweep_rung_members(s, k + 1, next);
        m = s->rung_size[k + 1];
    }
    for (int i = 0; i < n; i++) {
        int keep = ids[i] == best && k + 1 == s->nrungs;
        for (int j = 0; j < m; j++)
            keep |= next[j] == ids[i];
        char path[4096];
        ckpt_path(s, ids[i], path, sizeof path);
        if (!keep) unlink(path);
    }
}

static cm_status run_rung(sweep_ctx *c, int k, int *ids, int *next) {
    sweep_state *s = c->s;
    int n = s->rung_size[k], recorded = 0;
    sweep_rung_members(s, k, ids);
    for (int i = 0; i < n; i++)
        recorded += s->trial[ids[i]].rung[k].done;
    printf("sweep: rung %d/%d: %d trial%s to epoch %d (%d recorded in %s/trials.jsonl)\n", k + 1, s->nrungs, n,
           n == 1 ? "" : "s", s->rung_epochs[k], recorded, s->dir);
    for (int i = 0; i < n && !c->stopped && !c->budget; i++) {
        sweep_rung_members(s, k, ids); /* recording may not change them: rung k - 1 is complete */
        CM_TRY(run_one(c, ids[i], k, i + 1, n));
    }
    if (!c->stopped && !c->budget) drop_checkpoints(c, k, ids, next);
    return CM_OK;
}

/* The best trial's settings, evaluated once on the test set, saved with them to o->out. */
static cm_status save_best(sweep_ctx *c, int best) {
    const sweep_state *s = c->s;
    cm_train_args a;
    cm_model_file file = {0};
    memset(&a, 0, sizeof a);
    cm_meta *meta = malloc(sizeof *meta);
    char path[4096];
    int start, resumed;
    ckpt_path(s, best, path, sizeof path);
    cm_status st = meta ? trial_args(c, best, &a) : cm_fail(CM_ERR_MEMORY, "out of host memory");
    if (st == CM_OK && access(path, F_OK) != 0)
        st = cm_fail(CM_ERR_IO, "%s: the best trial's checkpoint is missing; remove its rows or use another --dir",
                     path);
    if (st == CM_OK) st = trial_model(c, &a, path, &file, &resumed, &start);
    if (st == CM_OK) st = trial_meta(c, &a, best, meta);
    cm_train_config cfg = run_train_config(&a);
    cm_trainer *tr = NULL;
    cm_stats ev = {0};
    if (st == CM_OK) st = trainer_create(c->b, c->ds, &file.model, &cfg, &tr);
    if (st == CM_OK) st = trainer_evaluate(tr, &c->ds->heldout, &ev);
    const sweep_result *r = &s->trial[best].rung[sweep_last_rung(s, best)];
    if (st == CM_OK) st = meta_set(meta, "sweep.val_accuracy", "%.6f", r->accuracy);
    if (st == CM_OK) st = meta_set(meta, "test_accuracy", "%.6f", ev.accuracy);
    if (st == CM_OK) st = meta_set(meta, "test_loss", "%.6f", ev.loss);
    if (st == CM_OK) st = model_file_save(c->o->out, &file.model.layout, file.model.params, 0, NULL, NULL, meta);
    if (st == CM_OK)
        printf("sweep: best trial %d (%s): val acc %.2f%% after %d epochs; test accuracy: %.2f%%\nmodel: saved to %s\n",
               best + 1, meta_get(meta, "sweep.settings"), 100.0 * r->accuracy, start, 100.0 * ev.accuracy, c->o->out);
    trainer_destroy(tr);
    model_file_free(&file);
    free(meta);
    return st;
}

/* After the rungs: the best trial, continued to the top rung if the budget stopped it short. */
static cm_status finish(sweep_ctx *c) {
    sweep_state *s = c->s;
    int best = sweep_best(s);
    if (best < 0) return cm_fail(CM_ERR_NUMERIC, "no trial finished a rung: every trial's loss diverged");
    if (sweep_last_rung(s, best) < s->nrungs - 1) {
        printf("sweep: continuing the best trial so far, %d, to epoch %d\n", best + 1, s->max_epochs);
        s->time_budget = 0.0;
        CM_TRY(run_one(c, best, s->nrungs - 1, 1, 1));
        if (c->stopped) return CM_OK;
        best = sweep_best(s);
    }
    sweep_print_table(s, stdout);
    return save_best(c, best);
}

/* Opens the backend once for every trial. */
static cm_status open_backend(const cm_train_args *a, cm_backend **b) {
    cm_backend_options bo = {.device = a->device, .threads = a->threads};
    CM_TRY(backend_create(a->backend, &bo, b));
    printf("backend: %s: %s%s%s%s\n", (*b)->kind, (*b)->device_name, (*b)->chosen[0] ? " (" : "", (*b)->chosen,
           (*b)->chosen[0] ? ")" : "");
    return CM_OK;
}

static cm_status run_all(sweep_ctx *c) {
    sweep_state *s = c->s;
    int *ids = malloc(sizeof(int) * (size_t)s->trials), *next = malloc(sizeof(int) * (size_t)s->trials);
    if (!ids || !next) {
        free(ids);
        free(next);
        return cm_fail(CM_ERR_MEMORY, "out of host memory");
    }
    cm_status st = CM_OK;
    for (int k = 0; st == CM_OK && k < s->nrungs && !c->stopped && !c->budget; k++)
        st = run_rung(c, k, ids, next);
    free(ids);
    free(next);
    if (st == CM_OK && c->budget)
        printf("sweep: the time budget (%g s) is used up after %.1f s of trials\n", s->time_budget, sweep_seconds(s));
    if (st == CM_OK && !c->stopped) st = finish(c);
    if (st == CM_OK && c->stopped)
        printf("sweep: stopped; the same command continues it (trial checkpoints in %s/ckpt)\n", s->dir);
    if (st == CM_OK) st = sweep_write_html(s);
    if (st == CM_OK && !c->stopped)
        printf("sweep: %d rung%s of trials trained now, %s/trials.csv, %s/trials.jsonl, %s/sweep.html\n", c->trained,
               c->trained == 1 ? "" : "s", s->dir, s->dir, s->dir);
    return st;
}

/* Every trial's flags parse (a space value may clash with a flag: --momentum with adam): checked
 * before anything trains. */
static cm_status check_trials(const sweep_ctx *c) {
    cm_train_args a;
    for (int t = 0; t < c->s->trials; t++)
        CM_TRY(trial_args(c, t, &a));
    return CM_OK;
}

cm_status sweep_run(sweep_state *s, const cm_train_args *base, const sweep_run_options *o) {
    cm_dataset ds = {0};
    sweep_ctx c = {.s = s, .base = base, .o = o, .ds = &ds};
    const char *int_at = getenv(SWEEP_INT_ENV);
    c.int_at_step = int_at ? strtol(int_at, NULL, 10) : 0;
    cm_status st = check_trials(&c);
    if (st == CM_OK) st = sweep_state_open(s);
    if (st == CM_OK) st = run_load_data(base, &ds);
    if (st == CM_OK) st = run_warn_data(base->data_dir, &ds);
    if (st == CM_OK) st = open_backend(base, &c.b);
    if (st == CM_OK) st = run_all(&c);
    if (c.b) backend_destroy(c.b);
    dataset_free(&ds);
    return st;
}
