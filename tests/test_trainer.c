/* test_trainer.c: the whole training step on the host reference backend.
 *  - gradients of a full MLP (two hidden layers) against central differences of an
 *    independent float64 implementation of the loss;
 *  - resident and streamed feeds give bit-identical training;
 *  - an end-to-end run on a 10,000-image MNIST subset reaches >= 90% test accuracy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check.h"
#include "trainer.h"
#include "ref_mlp.h"
#include "synth.h"

static void test_gradients_match_finite_differences(void **state) {
    cm_dataset ds;
    synth_dataset(&ds, 9, 3, 2, 3, 4, 11); /* 9 examples of 6 pixels, 4 classes */
    int hidden[2] = {5, 7};
    cm_layout L;
    assert_int_equal(synth_mlp_layout(&L, 6, hidden, 2, 4, 64, 0.0f), CM_OK);
    cm_model m;
    assert_int_equal(model_init(&m, &L, 3), CM_OK);
    /* Non-zero biases too, so every parameter's gradient is exercised. */
    synth_fill_biases(&m, 40);

    cm_backend *b;
    assert_int_equal(backend_host_create(NULL, &b), CM_OK);
    cm_train_config cfg = {.batch = 9, .lr = 0.01f, .seed = 1, .feed = CM_FEED_RESIDENT};
    cm_trainer *t;
    assert_int_equal(trainer_create(b, &ds, &m, &cfg, &t), CM_OK);
    assert_int_equal(trainer_begin_epoch(t, 0), CM_OK);
    assert_int_equal(trainer_step(t), CM_OK); /* one step over all 9 examples */
    float *g = calloc(L.total, sizeof(float));
    assert_int_equal(trainer_get_grads(t, g), CM_OK);
    cm_stats st;
    assert_int_equal(trainer_train_stats(t, &st), CM_OK);

    double *p = malloc(sizeof(double) * L.total);
    for (size_t i = 0; i < L.total; i++)
        p[i] = m.params[i];
    /* the float64 reference (ref_mlp.h): mean cross-entropy on all of the split, in order */
    assert_float_equal(st.loss, ref_mlp_loss(&L, p, &ds.train, NULL, 0.0, 0), 1e-5);

    float *fd = calloc(L.total, sizeof(float));
    ref_mlp_fd_grad(&L, p, &ds.train, NULL, 0.0, 0, 1e-5, fd);
    assert_true(check_close("gradient vs central differences", g, fd, L.total, 2e-5, 2e-3));
    /* The update used exactly these gradients: params = p - lr * g. */
    float *after = malloc(sizeof(float) * L.total), *expect = malloc(sizeof(float) * L.total);
    assert_int_equal(trainer_get_params(t, after), CM_OK);
    for (size_t i = 0; i < L.total; i++)
        expect[i] = m.params[i] - 0.01f * g[i];
    assert_true(check_close("params after step", after, expect, L.total, 1e-7, 1e-6));

    free(after), free(expect), free(fd), free(p), free(g);
    trainer_destroy(t);
    backend_destroy(b);
    model_free(&m);
    dataset_free(&ds);
}

/* Trains `steps` steps and returns the parameters (caller frees). */
static float *train_steps(cm_backend *b, const cm_dataset *ds, const cm_model *m, cm_train_config cfg, int steps) {
    cm_trainer *t = synth_train(b, ds, m, cfg, steps, 1);
    float *p = malloc(sizeof(float) * m->layout.total);
    assert_int_equal(trainer_get_params(t, p), CM_OK);
    trainer_destroy(t);
    return p;
}

static void test_resident_equals_streamed(void **state) {
    cm_dataset ds;
    synth_dataset(&ds, 200, 10, 8, 8, 10, 5);
    int hidden[1] = {33};
    cm_layout L;
    assert_int_equal(synth_mlp_layout(&L, 64, hidden, 1, 10, 64, 0.0f), CM_OK);
    cm_model m;
    assert_int_equal(model_init(&m, &L, 9), CM_OK);
    cm_backend *b;
    assert_int_equal(backend_host_create(NULL, &b), CM_OK);
    cm_train_config cfg = {
        .batch = 32, .lr = 0.05f, .momentum = 0.9f, .seed = 4, .epochs = 1, .schedule = CM_SCHEDULE_COSINE};
    cfg.feed = CM_FEED_RESIDENT;
    float *a = train_steps(b, &ds, &m, cfg, 7); /* 200/32 -> 7 steps, the last one partial */
    cfg.feed = CM_FEED_STREAMED;
    float *s = train_steps(b, &ds, &m, cfg, 7);
    assert_memory_equal(a, s, sizeof(float) * L.total);
    /* and training changed the weights */
    assert_memory_not_equal(a, m.params, sizeof(float) * L.total);
    free(a), free(s);
    backend_destroy(b);
    model_free(&m);
    dataset_free(&ds);
}

static void test_schedule_and_divergence(void **state) {
    cm_dataset ds;
    synth_dataset(&ds, 100, 10, 4, 4, 3, 6);
    int hidden[1] = {8};
    cm_layout L;
    assert_int_equal(synth_mlp_layout(&L, 16, hidden, 1, 3, 64, 0.0f), CM_OK);
    cm_model m;
    assert_int_equal(model_init(&m, &L, 1), CM_OK);
    cm_backend *b;
    assert_int_equal(backend_host_create(NULL, &b), CM_OK);
    cm_train_config cfg = {.batch = 10, .lr = 0.2f, .seed = 1, .epochs = 2, .schedule = CM_SCHEDULE_COSINE};
    cm_trainer *t;
    assert_int_equal(trainer_create(b, &ds, &m, &cfg, &t), CM_OK);
    assert_float_equal(trainer_current_lr(t), 0.2f, 1e-7);
    assert_int_equal(trainer_begin_epoch(t, 0), CM_OK);
    for (int i = 0; i < 10; i++)
        assert_int_equal(trainer_step(t), CM_OK);
    /* 10 of 20 steps: cos(pi/2) = 0 -> half the base rate */
    assert_float_equal(trainer_current_lr(t), 0.1f, 1e-6);
    trainer_destroy(t);
    /* An absurd learning rate diverges: reported as a numeric error, not silently. */
    cfg.lr = 1e30f;
    cfg.schedule = CM_SCHEDULE_CONSTANT;
    assert_int_equal(trainer_create(b, &ds, &m, &cfg, &t), CM_OK);
    assert_int_equal(trainer_begin_epoch(t, 0), CM_OK);
    for (int i = 0; i < 10; i++)
        assert_int_equal(trainer_step(t), CM_OK);
    cm_stats st;
    assert_int_equal(trainer_train_stats(t, &st), CM_ERR_NUMERIC);
    assert_non_null(strstr(cm_last_error(), "--lr"));
    trainer_destroy(t);
    cfg.batch = 0;
    assert_int_equal(trainer_create(b, &ds, &m, &cfg, &t), CM_ERR_USAGE);
    backend_destroy(b);
    model_free(&m);
    dataset_free(&ds);
}

static void test_mnist_subset_end_to_end(void **state) {
    cm_dataset ds;
    if (mnist_subset(&ds, 10000, 10000) != 0) skip();
    int hidden[2] = {512, 256};
    cm_layout L;
    assert_int_equal(synth_mlp_layout(&L, ds.train.dim, hidden, 2, ds.classes, 1024, 0.0f), CM_OK);
    cm_model m;
    assert_int_equal(model_init(&m, &L, 42), CM_OK);
    cm_backend *b;
    assert_int_equal(backend_host_create(NULL, &b), CM_OK);
    cm_train_config cfg = {
        .batch = 128, .lr = 0.1f, .momentum = 0.9f, .seed = 42, .epochs = 2, .schedule = CM_SCHEDULE_COSINE};
    cm_trainer *t;
    assert_int_equal(trainer_create(b, &ds, &m, &cfg, &t), CM_OK);
    cm_stats tr, ev;
    for (int e = 0; e < 2; e++) {
        assert_int_equal(trainer_begin_epoch(t, e), CM_OK);
        for (int s = 0; s < trainer_steps_per_epoch(t); s++)
            assert_int_equal(trainer_step(t), CM_OK);
        assert_int_equal(trainer_train_stats(t, &tr), CM_OK);
    }
    assert_int_equal(trainer_evaluate(t, &ds.test, &ev), CM_OK);
    printf("10k subset, 2 epochs (host): train loss %.4f, test accuracy %.2f%%\n", tr.loss, 100 * ev.accuracy);
    assert_int_equal(ev.count, 10000);
    assert_true(ev.accuracy >= 0.90);
    trainer_destroy(t);
    backend_destroy(b);
    model_free(&m);
    dataset_free(&ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradients_match_finite_differences),
        cmocka_unit_test(test_resident_equals_streamed),
        cmocka_unit_test(test_schedule_and_divergence),
        cmocka_unit_test(test_mnist_subset_end_to_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
