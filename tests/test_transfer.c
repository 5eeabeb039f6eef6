/* test_transfer.c: fine-tuning (host/train/transfer.h, --freeze in model.h and net.c).
 *  - the --freeze grammar, its errors, and the layout: frozen tensors after the trainable range;
 *  - gradients of a CNN whose middle layers are frozen (a Conv2d, and BatchNorm in eval mode on
 *    its running statistics) against central differences of the float64 reference (ref_cnn.h);
 *  - training leaves every frozen tensor (and a frozen BatchNorm's running statistics) bitwise
 *    unchanged and changes every other, on the host and the device, which agree within 1e-4;
 *  - transfer_adapt: a 10-class model onto 26 classes keeps every tensor but the head's, exactly;
 *    --reset-head; a tensor whose shape the new data changes is an error naming it. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "backends.h"
#include "check.h"
#include "trainer.h"
#include "transfer.h"
#include "ref_cnn.h"
#include "synth.h"

static cm_backend *host, *dev; /* dev NULL: no OpenCL device, device tests skip */

/* conv0 bn1 relu2 pool3 conv4 relu5 flatten6 bn7 fc8 on 6x6 images */
#define SMALL_CNN "conv3k3p1-bn-relu-pool2-conv4k3s2p1-relu-flatten-bn-fc4"

static void build(const char *arch, const char *freeze, cm_shape in, int classes, size_t align, uint64_t seed,
                  cm_model *m) {
    cm_layer layers[CM_MAX_LAYERS];
    int n;
    cm_layout L;
    assert_int_equal(model_parse_arch(arch, layers, &n), CM_OK);
    if (freeze) assert_int_equal(model_parse_freeze("--freeze", freeze, layers, n), CM_OK);
    assert_int_equal(model_layout(&L, layers, n, in, classes, align), CM_OK);
    assert_int_equal(model_init(m, &L, seed), CM_OK);
    synth_fill_biases(m, seed + 40);
    /* running statistics away from (0, 1), so eval mode is not training mode in disguise */
    cm_rng rng;
    rng_seed(&rng, seed, 5);
    for (int i = 0; i < L.nlayers; i++)
        for (int c = 0; L.layers[i].running_mean != CM_NO_TENSOR && c < L.layers[i].in.c; c++) {
            m->params[L.layers[i].running_mean + (size_t)c] = rng_uniform(&rng) - 0.5f;
            m->params[L.layers[i].running_var + (size_t)c] = 0.5f + rng_uniform(&rng);
        }
}

static void test_freeze_spec_and_layout(void **state) {
    cm_layer layers[CM_MAX_LAYERS];
    int n;
    assert_int_equal(model_parse_arch(SMALL_CNN, layers, &n), CM_OK);
    const char *bad[][2] = {{"", "empty"},
                            {"x", "'x' is not a layer index"},
                            {"3-1", "runs backwards"},
                            {"0-9", "layer 9: the model has 9 layers (0-8)"},
                            {"1,,2", "empty item"},
                            {"2,", "empty item"},
                            {"-1", "'-1' is not a layer index"}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        assert_int_equal(model_parse_freeze("--freeze", bad[k][0], layers, n), CM_ERR_USAGE);
        if (!strstr(cm_last_error(), bad[k][1])) fprintf(stderr, "'%s': %s\n", bad[k][0], cm_last_error());
        assert_non_null(strstr(cm_last_error(), bad[k][1]));
    }
    assert_int_equal(model_parse_freeze("--freeze", "1-4,7", layers, n), CM_OK);
    cm_layout L;
    assert_int_equal(model_layout(&L, layers, n, (cm_shape){1, 6, 6, 0}, 4, 64), CM_OK);
    char text[64];
    model_describe_frozen(&L, text, sizeof text);
    assert_string_equal(text, "1-4,7");
    /* trainable: conv0 (27, no bias: BatchNorm follows), fc8 (16 * 4 + 4); frozen: bn1 (3 + 3),
     * conv4 (108 + 4), bn7 (16 + 16) */
    assert_int_equal(L.count, 27 + 68);
    assert_int_equal(L.frozen_count, 6 + 112 + 32);
    cm_tensor ts[CM_MAX_TENSORS];
    int nt = model_tensors(&L, ts);
    for (int k = 0; k < nt; k++) {
        int frozen = L.layers[ts[k].layer].frozen, buffer = ts[k].name[0] == 'r';
        assert_int_equal(ts[k].trainable, !frozen && !buffer);
        size_t lo = ts[k].trainable ? 0 : buffer ? L.frozen : L.trainable;
        size_t hi = ts[k].trainable ? L.trainable : buffer ? L.total : L.frozen;
        assert_true(ts[k].offset >= lo && ts[k].offset + ts[k].numel <= hi);
    }
}

static void test_frozen_gradients_match_finite_differences(void **state) {
    cm_dataset ds;
    synth_dataset(&ds, 9, 3, 6, 6, 4, 11);
    cm_model m;
    build(SMALL_CNN, "1-4,7", (cm_shape){1, 6, 6, 0}, 4, 64, 3, &m);
    const cm_layout *L = &m.layout;
    cm_train_config cfg = {.batch = 9, .lr = 0.01f, .seed = 1, .feed = CM_FEED_RESIDENT};
    cm_trainer *t = synth_train(host, &ds, &m, cfg, 1, 1);
    float *g = calloc(L->total, sizeof(float)), *fd = calloc(L->total, sizeof(float));
    assert_int_equal(trainer_get_grads(t, g), CM_OK);
    double *p = malloc(sizeof(double) * L->total);
    for (size_t i = 0; i < L->total; i++)
        p[i] = m.params[i];
    cm_stats st;
    assert_int_equal(trainer_train_stats(t, &st), CM_OK);
    assert_float_equal(st.loss, ref_cnn_loss(L, p, &ds.train), 1e-5);
    ref_cnn_fd_grad(L, p, &ds.train, 1e-5, fd); /* the trainable tensors: conv0 through every frozen layer */
    assert_true(check_close("gradient through frozen layers vs central differences", g, fd, L->trainable, 3e-5, 3e-3));
    double norm = 0.0;
    for (size_t i = 0; i < L->layers[0].out * 9u; i++)
        norm += fabs(g[L->layers[0].weight + i]);
    assert_true(norm > 0.0); /* conv0's gradient came through */
    trainer_destroy(t);
    free(g), free(fd), free(p);
    model_free(&m);
    dataset_free(&ds);
}

/* After `steps` steps on b: frozen tensors and buffers bitwise equal to m's, the trainable ones
 * all changed; returns the parameters (caller frees). */
static float *check_frozen_kept(cm_backend *b, const cm_dataset *ds, const cm_model *m, cm_train_config cfg) {
    const cm_layout *L = &m->layout;
    cm_trainer *t = synth_train(b, ds, m, cfg, 3, 1);
    float *after = malloc(sizeof(float) * L->total);
    assert_int_equal(trainer_get_params(t, after), CM_OK);
    trainer_destroy(t);
    cm_tensor ts[CM_MAX_TENSORS];
    int nt = model_tensors(L, ts);
    for (int k = 0; k < nt; k++) {
        const cm_layer *l = &L->layers[ts[k].layer];
        int same = !memcmp(after + ts[k].offset, m->params + ts[k].offset, sizeof(float) * ts[k].numel);
        int expect_same = l->frozen;
        if (ts[k].name[0] == 'r' && !l->frozen) continue; /* a training BatchNorm's statistics move */
        if (same != expect_same)
            fprintf(stderr, "%s: layers.%d.%s %s\n", b->kind, ts[k].layer, ts[k].name,
                    same ? "did not change" : "changed");
        assert_int_equal(same, expect_same);
    }
    return after;
}

static void test_training_keeps_frozen_tensors(void **state) {
    cm_dataset ds;
    synth_dataset(&ds, 300, 50, 28, 28, 10, 21);
    size_t align = dev && dev->align_bytes > 1024 ? dev->align_bytes : 1024;
    cm_model m;
    build("conv6k5p2-bn-relu-pool2-conv5k3s2p1-bn-relu-pool3s2-flatten-fc32-relu-drop0.25-fc10", "1,4-6,9-10",
          (cm_shape){1, 28, 28, 0}, 10, align, 5, &m);
    cm_train_config cfg = synth_full_recipe();
    float *h = check_frozen_kept(host, &ds, &m, cfg);
    if (dev) {
        float *d = check_frozen_kept(dev, &ds, &m, cfg);
        double rel = rel_l2(d, h, m.layout.total);
        printf("frozen fine-tuning, 3 steps: device vs host relative L2 %.2g\n", rel);
        assert_true(rel <= 1e-4);
        free(d);
    }
    free(h);
    model_free(&m);
    dataset_free(&ds);
}

static void test_head_replacement(void **state) {
    cm_model m, orig;
    build("conv4k3p1-bn-relu-pool2-flatten-fc16-relu-fc10", NULL, (cm_shape){1, 8, 8, 0}, 10, 64, 7, &m);
    build("conv4k3p1-bn-relu-pool2-flatten-fc16-relu-fc10", NULL, (cm_shape){1, 8, 8, 0}, 10, 64, 7, &orig);
    cm_transfer_options o = {.freeze = "0-3", .seed = 9};
    cm_transfer_info info;
    assert_int_equal(transfer_adapt("--init m", &m, (cm_shape){1, 8, 8, 0}, 26, &o, &info), CM_OK);
    assert_int_equal(info.head, 7);
    assert_int_equal(info.old_classes, 10), assert_int_equal(info.new_classes, 26), assert_true(info.reset);
    assert_string_equal(info.frozen, "0-3");
    assert_int_equal(m.layout.classes, 26);
    assert_int_equal(m.layout.layers[7].out, 26);
    cm_tensor a[CM_MAX_TENSORS], b[CM_MAX_TENSORS];
    int na = model_tensors(&orig.layout, a), nb = model_tensors(&m.layout, b);
    assert_int_equal(na, nb);
    for (int k = 0; k < nb; k++) {
        if (b[k].layer == 7) continue;
        for (int j = 0; j < na; j++)
            if (a[j].layer == b[k].layer && !strcmp(a[j].name, b[k].name))
                assert_memory_equal(m.params + b[k].offset, orig.params + a[j].offset, sizeof(float) * a[j].numel);
    }
    /* the new head: 26 x 16 He-uniform weights within sqrt(6/16) */
    for (size_t i = 0; i < 26 * 16; i++)
        assert_true(fabsf(m.params[m.layout.layers[7].weight + i]) <= sqrtf(6.0f / 16.0f));
    /* same classes: the head is kept, unless --reset-head */
    cm_transfer_options keep = {.seed = 9}, reset = {.reset_head = 1, .seed = 10};
    assert_int_equal(transfer_adapt("--init m", &m, (cm_shape){1, 8, 8, 0}, 26, &keep, &info), CM_OK);
    assert_false(info.reset);
    assert_string_equal(info.frozen, "");
    float w0 = m.params[m.layout.layers[7].weight];
    assert_int_equal(transfer_adapt("--init m", &m, (cm_shape){1, 8, 8, 0}, 26, &reset, &info), CM_OK);
    assert_true(info.reset);
    assert_true(m.params[m.layout.layers[7].weight] != w0);
    /* 12x12 images reach the Linear with 4*6*6 features, not 4*4*4: named, and m unchanged */
    cm_layout before = m.layout;
    assert_int_equal(transfer_adapt("--init m", &m, (cm_shape){1, 12, 12, 0}, 26, &keep, &info), CM_ERR_USAGE);
    assert_non_null(strstr(cm_last_error(), "layers.5.weight has shape (16, 64); this data needs (16, 144)"));
    assert_memory_equal(&m.layout, &before, sizeof before);
    model_free(&m), model_free(&orig);
}

BACKENDS_GROUP_FIXTURES

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_freeze_spec_and_layout),
        cmocka_unit_test(test_frozen_gradients_match_finite_differences),
        cmocka_unit_test(test_training_keeps_frozen_tensors),
        cmocka_unit_test(test_head_replacement),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
