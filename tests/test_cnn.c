/* test_cnn.c: whole convolutional networks through the trainer.
 *  - gradients of a small CNN (Conv2d with stride and padding, BatchNorm2d/1d, ReLU, MaxPool2d,
 *    Flatten, Linear) against central differences of an independent float64 model (ref_cnn.h);
 *  - one training step on the device against the host: every gradient, parameter and
 *    BatchNorm running statistic within 1e-4 relative L2, for two recipes and both feeds;
 *  - a short run on an MNIST subset reaches the same test accuracy on both backends. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backends.h"
#include "check.h"
#include "trainer.h"
#include "ref_cnn.h"
#include "synth.h"

static cm_backend *host, *dev; /* dev NULL: no OpenCL device, device tests skip */

static void cnn_model(const char *arch, cm_shape input, int classes, size_t align, uint64_t seed, cm_model *m) {
    cm_layer layers[CM_MAX_LAYERS];
    int n;
    cm_layout L;
    assert_int_equal(model_parse_arch(arch, layers, &n), CM_OK);
    assert_int_equal(model_layout(&L, layers, n, input, classes, align), CM_OK);
    assert_int_equal(model_init(m, &L, seed), CM_OK);
    synth_fill_biases(m, seed + 40);
}

static void cnn_gradients(const char *arch, int channels) {
    cm_dataset ds;
    synth_dataset(&ds, 9, 3, 6 * channels, 6, 4, 11); /* 9 images of (channels x) 6x6, 4 classes */
    ds.train.channels = ds.test.channels = channels, ds.train.rows = ds.test.rows = 6;
    cm_model m;
    cnn_model(arch, (cm_shape){channels, 6, 6, 0}, 4, 64, 3, &m);
    const cm_layout *L = &m.layout;
    cm_train_config cfg = {.batch = 9, .lr = 0.01f, .seed = 1, .feed = CM_FEED_RESIDENT};
    cm_trainer *t = synth_train(host, &ds, &m, cfg, 1, 1); /* one step over all 9 examples */
    float *g = calloc(L->total, sizeof(float)), *fd = calloc(L->total, sizeof(float));
    assert_int_equal(trainer_get_grads(t, g), CM_OK);
    cm_stats st;
    assert_int_equal(trainer_train_stats(t, &st), CM_OK);
    double *p = malloc(sizeof(double) * L->total);
    for (size_t i = 0; i < L->total; i++)
        p[i] = m.params[i];
    /* BatchNorm makes the loss depend on the whole batch, not on its order */
    assert_float_equal(st.loss, ref_cnn_loss(L, p, &ds.train), 1e-5);
    ref_cnn_fd_grad(L, p, &ds.train, 1e-5, fd);
    assert_true(check_close("CNN gradient vs central differences", g, fd, L->trainable, 3e-5, 3e-3));
    /* every trainable tensor got a gradient (no layer silently skipped) */
    cm_tensor ts[CM_MAX_TENSORS];
    int nt = model_tensors(L, ts);
    for (int k = 0; k < nt; k++)
        if (ts[k].trainable) {
            double norm = 0.0;
            for (size_t i = 0; i < ts[k].numel; i++)
                norm += fabs(g[ts[k].offset + i]);
            if (!(norm > 0.0)) fprintf(stderr, "layers.%d.%s: zero gradient\n", ts[k].layer, ts[k].name);
            assert_true(norm > 0.0);
        }
    trainer_destroy(t);
    free(g), free(fd), free(p);
    model_free(&m);
    dataset_free(&ds);
}

static void test_cnn_gradients_match_finite_differences(void **state) {
    cnn_gradients("conv3k3p1-bn-relu-pool2-conv4k3s2p1-relu-flatten-bn-fc4", 1);
    cnn_gradients("conv3k3p1-bn-relu-conv5k3s2p1-relu-gap-bn-fc4", 1);     /* global average pooling */
    cnn_gradients("conv4k3p1-bn-relu-pool2-conv5k3p1-relu-gap-bn-fc4", 3); /* colour input */
    /* a 1x1 convolution: the host backend uses the image's planes as its im2col (conv_host.c) */
    cnn_gradients("conv3k3p1-bn-relu-conv4k1-relu-pool2-flatten-fc4", 1);
}

/* Every tensor of got and ref (layout.total floats) within tol relative L2, or, for a tensor
 * whose true value is zero (the bias of a Conv2d followed by BatchNorm has no gradient: the
 * normalisation removes it, and what is left is float32 cancellation noise of a sum over B*H*W
 * terms), within 1e-6 RMS of each other. */
static void check_tensors(const char *what, const cm_layout *L, const float *got, const float *ref, double tol) {
    cm_tensor ts[CM_MAX_TENSORS];
    int nt = model_tensors(L, ts), bad = 0;
    for (int k = 0; k < nt; k++) {
        const float *g = got + ts[k].offset, *r = ref + ts[k].offset;
        double rel = rel_l2(g, r, ts[k].numel), diff = 0.0;
        for (size_t i = 0; i < ts[k].numel; i++)
            diff += ((double)g[i] - r[i]) * ((double)g[i] - r[i]);
        double rms = sqrt(diff / (double)ts[k].numel);
        if (!(rel <= tol) && !(rms <= 1e-6)) {
            fprintf(stderr, "%s layers.%d.%s: relative L2 difference %.3g > %.1g (RMS %.3g)\n", what, ts[k].layer,
                    ts[k].name, rel, tol, rms);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

static void test_cnn_step_device_vs_host(void **state) {
    if (!dev) skip();
    cm_dataset ds;
    synth_dataset(&ds, 300, 50, 28, 28, 10, 21);
    size_t align = dev->align_bytes > 1024 ? dev->align_bytes : 1024;
    cm_model m;
    cnn_model("conv6k5p2-bn-relu-pool2-conv5k3s2p1-bn-relu-pool3s2-flatten-fc32-relu-drop0.25-fc10",
              (cm_shape){1, 28, 28, 0}, 10, align, 5, &m);
    const cm_layout *L = &m.layout;
    cm_train_config recipes[2] = {
        {.batch = 100, .lr = 0.05f, .momentum = 0.9f, .seed = 3, .epochs = 1, .schedule = CM_SCHEDULE_COSINE},
        synth_full_recipe()};
    for (int k = 0; k < 4; k++) {
        cm_train_config cfg = recipes[k >> 1];
        cfg.feed = k & 1 ? CM_FEED_RESIDENT : CM_FEED_STREAMED;
        cm_trainer *th = synth_train(host, &ds, &m, cfg, 2, 1), *td = synth_train(dev, &ds, &m, cfg, 2, 1);
        float *h = calloc(L->total, 4), *d = calloc(L->total, 4);
        assert_int_equal(trainer_get_grads(th, h), CM_OK), assert_int_equal(trainer_get_grads(td, d), CM_OK);
        check_tensors("gradient", L, d, h, 1e-4);
        /* parameters and BatchNorm's running statistics after two steps */
        assert_int_equal(trainer_get_params(th, h), CM_OK), assert_int_equal(trainer_get_params(td, d), CM_OK);
        check_tensors("after two steps", L, d, h, 1e-4);
        cm_stats sh, sd;
        assert_int_equal(trainer_train_stats(th, &sh), CM_OK), assert_int_equal(trainer_train_stats(td, &sd), CM_OK);
        assert_float_equal(sd.loss, sh.loss, 1e-5 * sh.loss);
        trainer_destroy(th), trainer_destroy(td);
        free(h), free(d);
    }
    model_free(&m);
    dataset_free(&ds);
}

static void test_cnn_short_run_same_accuracy(void **state) {
    if (!dev) skip();
    cm_dataset ds;
    if (mnist_subset(&ds, 2000, 1000) != 0) skip();
    size_t align = dev->align_bytes > 1024 ? dev->align_bytes : 1024;
    cm_model m;
    cnn_model("conv8k5p2-bn-relu-pool2-conv16k3p1-bn-relu-pool2-flatten-fc10", (cm_shape){1, 28, 28, 0}, 10, align, 7,
              &m);
    cm_train_config cfg = {.batch = 50,
                           .optimizer = CM_OPT_ADAM,
                           .lr = 5e-3f,
                           .beta1 = 0.9f,
                           .beta2 = 0.999f,
                           .eps = 1e-8f,
                           .seed = 9,
                           .epochs = 2,
                           .schedule = CM_SCHEDULE_ONECYCLE};
    cm_stats ev[2];
    cm_backend *bs[2] = {host, dev};
    for (int i = 0; i < 2; i++) {
        cm_trainer *t = synth_train(bs[i], &ds, &m, cfg, 0, 2);
        assert_int_equal(trainer_evaluate(t, &ds.test, &ev[i]), CM_OK);
        trainer_destroy(t);
    }
    printf("CNN on 2000 MNIST images, 2 epochs: host %.2f%%, device %.2f%% test accuracy\n", 100 * ev[0].accuracy,
           100 * ev[1].accuracy);
    assert_true(ev[0].accuracy > 0.85);                          /* it learned (chance: 10%; measured 89.2%) */
    assert_true(fabs(ev[0].accuracy - ev[1].accuracy) <= 0.003); /* 3 of 1000 test images */
    model_free(&m);
    dataset_free(&ds);
}

BACKENDS_GROUP_FIXTURES

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cnn_gradients_match_finite_differences),
        cmocka_unit_test(test_cnn_step_device_vs_host),
        cmocka_unit_test(test_cnn_short_run_same_accuracy),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
