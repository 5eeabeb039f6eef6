/* test_train_loop.c: the training loop (train_loop.h) on the host backend and a small synthetic
 * dataset with random labels (so the evaluated accuracy wanders and early stopping triggers):
 *  - early stopping stops at the first epoch `patience` epochs after the best one, keeps the
 *    best epoch's weights and records "train.best_epoch"; the observer sees every event;
 *  - a run stopped after some epochs with a checkpoint and resumed from it stops at the same
 *    epoch with bitwise the same weights;
 *  - a diverging run fails with CM_ERR_NUMERIC and says that no model was saved. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "train_loop.h"
#include "synth.h"

#define MAX_EPOCHS 40

/* What the observer saw. */
typedef struct {
    cm_trainer *t;
    size_t total;
    int epochs_begun, epochs_ended, steps, evaluations;
    double acc[MAX_EPOCHS + 1];    /* by 1-based epoch */
    float *params[MAX_EPOCHS + 1]; /* the weights after each epoch */
    int checkpoints, stopped_patience, kept_epoch;
} seen;

static cm_status on_begin(void *ctx, int epoch, int epochs, int steps) {
    ((seen *)ctx)->epochs_begun++;
    return CM_OK;
}

static cm_status on_step(void *ctx, cm_trainer *t, int done, int steps) {
    ((seen *)ctx)->steps++;
    return CM_OK;
}

static void on_evaluating(void *ctx) {
    ((seen *)ctx)->evaluations++;
}

static cm_status on_end(void *ctx, const cm_epoch_result *r) {
    seen *s = ctx;
    s->epochs_ended++;
    s->acc[r->epoch] = r->eval.accuracy;
    s->params[r->epoch] = malloc(sizeof(float) * s->total);
    return trainer_get_params(s->t, s->params[r->epoch]);
}

static void on_checkpoint(void *ctx, const char *path, int epoch) {
    ((seen *)ctx)->checkpoints++;
}

static void on_stop(void *ctx, int patience) {
    ((seen *)ctx)->stopped_patience = patience;
}

static void on_kept(void *ctx, int epoch, double accuracy) {
    ((seen *)ctx)->kept_epoch = epoch;
}

static cm_train_observer observer(seen *s, cm_trainer *t) {
    memset(s, 0, sizeof *s);
    s->t = t;
    s->total = trainer_layout(t)->total;
    return (cm_train_observer){s, on_begin, on_step, on_evaluating, on_end, on_checkpoint, on_stop, on_kept};
}

static void seen_free(seen *s) {
    for (int e = 0; e <= MAX_EPOCHS; e++)
        free(s->params[e]);
}

typedef struct {
    cm_dataset ds;
    cm_model m;
    cm_backend *b;
    cm_train_config cfg;
} fixture;

static void fixture_init(fixture *f) {
    synth_dataset(&f->ds, 120, 60, 4, 4, 3, 21); /* random labels: accuracy goes up and down */
    int hidden[1] = {12};
    cm_layout L;
    assert_int_equal(synth_mlp_layout(&L, 16, hidden, 1, 3, 64, 0.0f), CM_OK);
    assert_int_equal(model_init(&f->m, &L, 5), CM_OK);
    assert_int_equal(backend_host_create(NULL, &f->b), CM_OK);
    f->cfg = (cm_train_config){.batch = 16, .lr = 0.5f, .momentum = 0.9f, .seed = 3, .epochs = MAX_EPOCHS};
}

static void fixture_free(fixture *f) {
    backend_destroy(f->b);
    model_free(&f->m);
    dataset_free(&f->ds);
}

static void test_early_stopping_keeps_the_best_epoch(void **state) {
    fixture f;
    fixture_init(&f);
    cm_trainer *t;
    assert_int_equal(trainer_create(f.b, &f.ds, &f.m, &f.cfg, &t), CM_OK);
    cm_meta meta = {0};
    cm_train_run run = {.epochs = MAX_EPOCHS, .patience = 3, .eval = &f.ds.test, .meta = &meta};
    cm_train_loop *loop;
    assert_int_equal(train_loop_create(t, &run, &loop), CM_OK);
    seen s;
    cm_train_observer obs = observer(&s, t);
    cm_train_result res;
    assert_int_equal(train_loop_run(loop, &obs, &res), CM_OK);

    /* where it should have stopped, from the accuracies the observer saw */
    int best = 1, stop = MAX_EPOCHS;
    for (int e = 2; e <= MAX_EPOCHS; e++) {
        if (s.acc[e] > s.acc[best]) best = e;
        if (e - best >= run.patience) {
            stop = e;
            break;
        }
    }
    assert_true(stop < MAX_EPOCHS); /* the fixture does trigger early stopping */
    assert_int_equal(res.end_epoch, stop);
    assert_int_equal(s.epochs_begun, stop);
    assert_int_equal(s.epochs_ended, stop);
    assert_int_equal(s.evaluations, stop);
    assert_int_equal(s.steps, stop * trainer_steps_per_epoch(t));
    assert_int_equal(s.checkpoints, 0);
    assert_int_equal(s.stopped_patience, 3);
    assert_int_equal(s.kept_epoch, best);
    assert_int_equal(res.last_checkpoint, 0);
    assert_true(res.eval.accuracy == s.acc[stop]);
    int be;
    double ba;
    train_loop_best(loop, &be, &ba);
    assert_int_equal(be, best);
    assert_true(ba == s.acc[best]);
    char want[16];
    snprintf(want, sizeof want, "%d", best);
    assert_string_equal(meta_get(&meta, "train.best_epoch"), want);
    /* the trainer holds the best epoch's weights, not the last one's */
    float *now = malloc(sizeof(float) * s.total);
    assert_int_equal(trainer_get_params(t, now), CM_OK);
    assert_memory_equal(now, s.params[best], sizeof(float) * s.total);
    assert_memory_not_equal(now, s.params[stop], sizeof(float) * s.total);

    free(now);
    seen_free(&s);
    train_loop_destroy(loop);
    trainer_destroy(t);
    fixture_free(&f);
}

/* Runs the fixture's early-stopping run for at most stop_after epochs (0: all), from the
 * checkpoint at ckpt when resume; checkpoints to ckpt every epoch. Returns the final weights. */
static float *run_part(fixture *f, const char *ckpt, int stop_after, int resume, cm_train_result *res) {
    cm_model_file file = {0};
    const cm_model *m = &f->m;
    int start = 0;
    if (resume) {
        if (model_file_load(ckpt, 64, &file) != CM_OK) fail_msg("%s", cm_last_error());
        assert_int_equal(train_checkpoint_epoch(ckpt, &file.meta, &start), CM_OK);
        int patience;
        assert_int_equal(train_checkpoint_patience(ckpt, &file.meta, &patience), CM_OK);
        assert_int_equal(patience, 3);
        m = &file.model;
    }
    cm_trainer *t;
    assert_int_equal(trainer_create(f->b, &f->ds, m, &f->cfg, &t), CM_OK);
    cm_meta meta = {0};
    assert_int_equal(meta_set(&meta, "input_shape", "16x1x1"), CM_OK); /* the file's input */
    cm_train_run run = {.epochs = MAX_EPOCHS,
                        .start_epoch = start,
                        .stop_after = stop_after,
                        .patience = 3,
                        .eval = &f->ds.test,
                        .checkpoint = ckpt,
                        .checkpoint_every = 1,
                        .meta = &meta};
    cm_train_loop *loop;
    assert_int_equal(train_loop_create(t, &run, &loop), CM_OK);
    if (resume) assert_int_equal(train_loop_resume(loop, ckpt, &file), CM_OK);
    model_file_free(&file);
    assert_int_equal(train_loop_run(loop, NULL, res), CM_OK);
    float *params = malloc(sizeof(float) * trainer_layout(t)->total);
    assert_int_equal(trainer_get_params(t, params), CM_OK);
    train_loop_destroy(loop);
    trainer_destroy(t);
    return params;
}

static void test_resume_stops_where_the_whole_run_does(void **state) {
    fixture f;
    fixture_init(&f);
    char dir[64], ckpt[96];
    snprintf(dir, sizeof dir, "/tmp/clmnist-test-loop-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(ckpt, sizeof ckpt, "%s/ckpt.safetensors", dir);
    cm_train_result whole, half, rest;
    float *a = run_part(&f, ckpt, 0, 0, &whole);
    assert_true(whole.end_epoch > 2 && whole.end_epoch < MAX_EPOCHS);
    assert_int_equal(whole.last_checkpoint, whole.end_epoch);
    float *b = run_part(&f, ckpt, 2, 0, &half);
    assert_int_equal(half.end_epoch, 2);
    float *c = run_part(&f, ckpt, 0, 1, &rest);
    assert_int_equal(rest.end_epoch, whole.end_epoch);
    assert_memory_equal(a, c, sizeof(float) * f.m.layout.total);
    unlink(ckpt);
    rmdir(dir);
    free(a), free(b), free(c);
    fixture_free(&f);
}

/* A stop (Ctrl-C, the dashboard's button) two steps into the first epoch: its checkpoint holds 0
 * epochs and 2 steps, and resuming from it ends bitwise where the whole run does. */
static volatile sig_atomic_t stop_flag;
static cm_status stop_at_two(void *ctx, cm_trainer *t, int done, int steps) {
    if (done == 2) stop_flag = 1;
    return CM_OK;
}

static void test_stop_in_the_first_epoch_resumes(void **state) {
    fixture f;
    fixture_init(&f);
    char dir[64], ckpt[96];
    snprintf(dir, sizeof dir, "/tmp/clmnist-test-loop-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(ckpt, sizeof ckpt, "%s/ckpt.safetensors", dir);
    cm_train_result whole, part, rest;
    float *a = run_part(&f, ckpt, 0, 0, &whole);
    cm_trainer *t;
    assert_int_equal(trainer_create(f.b, &f.ds, &f.m, &f.cfg, &t), CM_OK);
    cm_meta meta = {0};
    assert_int_equal(meta_set(&meta, "input_shape", "16x1x1"), CM_OK);
    stop_flag = 0;
    cm_train_run run = {.epochs = MAX_EPOCHS, .patience = 3, .eval = &f.ds.test, .checkpoint = ckpt,
                        .checkpoint_every = 1, .meta = &meta, .stop = &stop_flag};
    cm_train_observer obs = {.step = stop_at_two};
    cm_train_loop *loop;
    assert_int_equal(train_loop_create(t, &run, &loop), CM_OK);
    assert_int_equal(train_loop_run(loop, &obs, &part), CM_OK);
    assert_true(part.stopped && part.stop_checkpoint);
    assert_int_equal(part.end_epoch, 0);
    assert_int_equal(part.stopped_step, 2);
    train_loop_destroy(loop);
    trainer_destroy(t);
    float *c = run_part(&f, ckpt, 0, 1, &rest); /* train_checkpoint_epoch: 0 epochs */
    assert_int_equal(rest.end_epoch, whole.end_epoch);
    assert_memory_equal(a, c, sizeof(float) * f.m.layout.total);
    unlink(ckpt);
    rmdir(dir);
    free(a), free(c);
    fixture_free(&f);
}

static void test_divergence_names_no_checkpoint(void **state) {
    fixture f;
    fixture_init(&f);
    f.cfg.lr = 1e30f;
    cm_trainer *t;
    assert_int_equal(trainer_create(f.b, &f.ds, &f.m, &f.cfg, &t), CM_OK);
    cm_meta meta = {0};
    cm_train_run run = {.epochs = 2, .eval = &f.ds.test, .meta = &meta};
    cm_train_loop *loop;
    assert_int_equal(train_loop_create(t, &run, &loop), CM_OK);
    cm_train_result res;
    assert_int_equal(train_loop_run(loop, NULL, &res), CM_ERR_NUMERIC);
    assert_non_null(strstr(cm_last_error(), "; no model was saved"));
    train_loop_destroy(loop);
    trainer_destroy(t);
    fixture_free(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_early_stopping_keeps_the_best_epoch),
        cmocka_unit_test(test_resume_stops_where_the_whole_run_does),
        cmocka_unit_test(test_stop_in_the_first_epoch_resumes),
        cmocka_unit_test(test_divergence_names_no_checkpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
