/* test_recipe.c: the training-recipe pieces on the host reference, against independent values:
 *  - Philox4x32-10 known-answer vectors (Random123's kat_vectors);
 *  - every learning-rate schedule at chosen steps, by hand;
 *  - dropout keep rate and scaling statistics, determinism, independence across steps/layers;
 *  - max-norm by hand;
 *  - augmentation geometry: a single bright pixel lands where the forward transform sends it;
 *  - the trainer's gradients with dropout against central differences of a float64 model that
 *    draws the same Philox masks;
 *  - Adam beats plain SGD on an MNIST subset with the same budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check.h"
#include "philox.h"
#include "schedule.h"
#include "trainer.h"
#include "ref_mlp.h"
#include "synth.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static cm_backend *hb;

static void test_philox_known_answers(void **state) {
    const uint32_t ctr[3][4] = {{0, 0, 0, 0},
                                {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                                {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}};
    const uint32_t key[3][2] = {{0, 0}, {0xffffffffu, 0xffffffffu}, {0xa4093822u, 0x299f31d0u}};
    const uint32_t want[3][4] = {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u},
                                 {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu},
                                 {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}};
    for (int i = 0; i < 3; i++) {
        uint32_t out[4];
        philox4x32_10(ctr[i], key[i], out);
        assert_memory_equal(out, want[i], sizeof out);
    }
    assert_true(philox_unit(0xffffffffu) < 1.0f);
    assert_true(philox_unit(0) == 0.0f);
}

static void test_schedules_by_hand(void **state) {
    cm_schedule_config c = {.kind = CM_SCHEDULE_CONSTANT, .lr = 0.1f, .total = 100};
    assert_float_equal(schedule_lr(&c, 0), 0.1, 1e-9);
    assert_float_equal(schedule_lr(&c, 99), 0.1, 1e-9);
    /* cosine: (1 + cos(pi t / T)) / 2 */
    c.kind = CM_SCHEDULE_COSINE;
    assert_float_equal(schedule_lr(&c, 0), 0.1, 1e-9);
    assert_float_equal(schedule_lr(&c, 50), 0.05, 1e-8);
    assert_float_equal(schedule_lr(&c, 25), 0.1 * (1 + sqrt(0.5)) / 2, 1e-8);
    assert_float_equal(schedule_lr(&c, 1000), schedule_lr(&c, 99), 0); /* past the end: the last rate */
    /* step: x0.1 every 30 steps */
    c = (cm_schedule_config){.kind = CM_SCHEDULE_STEP, .lr = 0.1f, .total = 100, .step_steps = 30, .gamma = 0.1f};
    assert_float_equal(schedule_lr(&c, 29), 0.1, 1e-9);
    assert_float_equal(schedule_lr(&c, 30), 0.01, 1e-9);
    assert_float_equal(schedule_lr(&c, 65), 0.001, 1e-10);
    /* one-cycle (PyTorch OneCycleLR defaults), 100 steps: up from 0.004 to 0.1 over steps 0..29,
     * then down to 4e-7 at step 99; half-way down (step 64) it is the mean of the two */
    c = (cm_schedule_config){.kind = CM_SCHEDULE_ONECYCLE, .lr = 0.1f, .total = 100};
    assert_float_equal(schedule_lr(&c, 0), 0.004, 1e-9);
    assert_float_equal(schedule_lr(&c, 29), 0.1, 1e-8);
    assert_float_equal(schedule_lr(&c, 64), (0.1 + 4e-7) / 2, 1e-8);
    assert_float_equal(schedule_lr(&c, 99), 4e-7, 1e-12);
    /* linear warm-up over 10 steps on top of any schedule */
    c = (cm_schedule_config){.kind = CM_SCHEDULE_CONSTANT, .lr = 0.1f, .total = 100, .warmup = 10};
    assert_float_equal(schedule_lr(&c, 0), 0.01, 1e-9);
    assert_float_equal(schedule_lr(&c, 4), 0.05, 1e-9);
    assert_float_equal(schedule_lr(&c, 9), 0.1, 1e-9);
    assert_float_equal(schedule_lr(&c, 10), 0.1, 1e-9);
    assert_int_equal(schedule_parse("onecycle"), CM_SCHEDULE_ONECYCLE);
    assert_int_equal(schedule_parse("linear"), -1);
}

static void test_dropout_statistics(void **state) {
    const size_t n = 1000000;
    const float p = 0.3f;
    float *ones = malloc(4 * n), *a = malloc(4 * n), *b = malloc(4 * n);
    for (size_t i = 0; i < n; i++)
        ones[i] = 1.0f;
    cm_buf *Y;
    assert_int_equal(backend_alloc(hb, 4 * n, 0, "y", &Y), CM_OK);
    float *outs[2] = {a, b};
    uint64_t steps[2] = {7, 8};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(backend_upload(hb, Y, 0, ones, 4 * n), CM_OK);
        assert_int_equal(backend_dropout(hb, Y, n, p, 42, 0, steps[k], 0), CM_OK);
        assert_int_equal(backend_download(hb, Y, 0, outs[k], 4 * n), CM_OK);
    }
    size_t dropped = 0, differ = 0;
    double sum = 0.0;
    const float keep_value = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) {
        assert_true(a[i] == 0.0f || a[i] == keep_value); /* inverted dropout: kept values scaled */
        dropped += a[i] == 0.0f;
        differ += (a[i] == 0.0f) != (b[i] == 0.0f);
        sum += a[i];
    }
    /* keep rate within 6 standard deviations (sd = sqrt(p (1 - p) / n) = 4.6e-4) */
    assert_true(fabs((double)dropped / n - p) < 6 * sqrt(p * (1 - p) / n));
    assert_true(fabs(sum / n - 1.0) < 0.005); /* the expectation is preserved */
    /* another step draws an independent mask: P(differ) = 2 p (1 - p) = 0.42 */
    assert_true(fabs((double)differ / n - 0.42) < 0.005);
    /* the same (seed, layer, step) gives the same mask; another layer a different one */
    assert_int_equal(backend_upload(hb, Y, 0, ones, 4 * n), CM_OK);
    assert_int_equal(backend_dropout(hb, Y, n, p, 42, 0, 7, 0), CM_OK);
    assert_int_equal(backend_download(hb, Y, 0, b, 4 * n), CM_OK);
    assert_memory_equal(a, b, 4 * n);
    assert_int_equal(backend_upload(hb, Y, 0, ones, 4 * n), CM_OK);
    assert_int_equal(backend_dropout(hb, Y, n, p, 42, 1, 7, 0), CM_OK);
    assert_int_equal(backend_download(hb, Y, 0, b, 4 * n), CM_OK);
    assert_memory_not_equal(a, b, 4 * n);
    /* p = 0 keeps everything unchanged */
    assert_int_equal(backend_upload(hb, Y, 0, ones, 4 * n), CM_OK);
    assert_int_equal(backend_dropout(hb, Y, n, 0.0f, 42, 0, 7, 0), CM_OK);
    assert_int_equal(backend_download(hb, Y, 0, b, 4 * n), CM_OK);
    assert_memory_equal(ones, b, 4 * n);
    assert_int_equal(backend_dropout(hb, Y, n, 1.0f, 42, 0, 7, 0), CM_ERR_USAGE);
    /* a rank's share of the batch (data parallelism): its elements, from `offset` on, get the
     * mask they have in one call over the whole batch, at any cut, aligned to 4 or not */
    const size_t cuts[] = {1, 2, 3, 4, 1001, n - 5};
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        size_t k = cuts[c];
        assert_int_equal(backend_upload(hb, Y, 0, ones, 4 * n), CM_OK);
        assert_int_equal(backend_dropout(hb, Y, k, p, 42, 0, 7, 0), CM_OK);
        assert_int_equal(backend_download(hb, Y, 0, b, 4 * k), CM_OK);
        assert_memory_equal(a, b, 4 * k);
        assert_int_equal(backend_upload(hb, Y, 0, ones, 4 * n), CM_OK);
        assert_int_equal(backend_dropout(hb, Y, n - k, p, 42, 0, 7, k), CM_OK);
        assert_int_equal(backend_download(hb, Y, 0, b, 4 * (n - k)), CM_OK);
        assert_memory_equal(a + k, b, 4 * (n - k));
    }
    backend_release(hb, Y);
    free(ones), free(a), free(b);
}

static void test_max_norm_by_hand(void **state) {
    float w[6] = {3, 4, 0.3f, 0.4f, 0, -10}; /* rows of norm 5, 0.5, 10 */
    cm_buf *W;
    assert_int_equal(backend_alloc(hb, sizeof w, 0, "w", &W), CM_OK);
    assert_int_equal(backend_upload(hb, W, 0, w, sizeof w), CM_OK);
    assert_int_equal(backend_max_norm(hb, W, 3, 2, 2.0f), CM_OK);
    float out[6];
    assert_int_equal(backend_download(hb, W, 0, out, sizeof out), CM_OK);
    assert_true(check_close("max_norm", out, (float[]){1.2f, 1.6f, 0.3f, 0.4f, 0.0f, -2.0f}, 6, 1e-7, 1e-6));
    backend_release(hb, W);
}

/* One bright pixel per image; after augmentation the image's centre of mass must sit where the
 * forward transform p' = s R(angle) (p - c) + c + t sends the pixel, with (t, angle, s) drawn
 * from the documented Philox stream. */
static void test_augment_moves_a_pixel_as_specified(void **state) {
    enum { H = 28, W = 28, N = 64 };
    uint8_t *img = calloc((size_t)N * H * W, 1), labels[N] = {0};
    int32_t idx[N];
    int py[N], px[N];
    cm_rng rng;
    rng_seed(&rng, 5, 5);
    for (int i = 0; i < N; i++) {
        py[i] = 8 + (int)rng_bounded(&rng, 12), px[i] = 8 + (int)rng_bounded(&rng, 12);
        img[(size_t)i * H * W + py[i] * W + px[i]] = 255;
        idx[i] = i;
    }
    cm_buf *S, *L, *I, *X, *Y;
    assert_int_equal(backend_alloc(hb, sizeof(uint8_t) * N * H * W, 0, "src", &S), CM_OK);
    assert_int_equal(backend_alloc(hb, N, 0, "labels", &L), CM_OK);
    assert_int_equal(backend_alloc(hb, sizeof idx, 0, "idx", &I), CM_OK);
    assert_int_equal(backend_alloc(hb, sizeof(float) * N * H * W, 0, "x", &X), CM_OK);
    assert_int_equal(backend_alloc(hb, sizeof(int32_t) * N, 0, "y", &Y), CM_OK);
    assert_int_equal(backend_upload(hb, S, 0, img, (size_t)N * H * W), CM_OK);
    assert_int_equal(backend_upload(hb, L, 0, labels, N), CM_OK);
    assert_int_equal(backend_upload(hb, I, 0, idx, sizeof idx), CM_OK);
    const cm_augment aug = {3.0f, 30.0f, 0.2f, 0.0f, 0};
    const uint64_t seed = 77, step = 123456;
    assert_int_equal(backend_gather_augment(hb, S, L, I, 0, N, 1, H, W, 1.0f, &aug, seed, step, 0, X, Y), CM_OK);
    float *x = malloc(sizeof(float) * N * H * W);
    assert_int_equal(backend_download(hb, X, 0, x, sizeof(float) * N * H * W), CM_OK);
    double worst = 0.0, moved = 0.0;
    for (int r = 0; r < N; r++) {
        const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32) ^ CM_PHILOX_TAG_AUGMENT};
        const uint32_t ctr[4] = {(uint32_t)r, 0, (uint32_t)step, (uint32_t)(step >> 32)};
        uint32_t u[4];
        philox4x32_10(ctr, key, u);
        double tx = 3.0 * (2.0 * philox_unit(u[0]) - 1), ty = 3.0 * (2.0 * philox_unit(u[1]) - 1);
        double th = 30.0 * (2.0 * philox_unit(u[2]) - 1) * M_PI / 180.0, s = 1 + 0.2 * (2.0 * philox_unit(u[3]) - 1);
        double c = 13.5, dx = px[r] - c, dy = py[r] - c;
        double ex = s * (cos(th) * dx - sin(th) * dy) + c + tx, ey = s * (sin(th) * dx + cos(th) * dy) + c + ty;
        double m = 0, mx = 0, my = 0;
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                double v = x[(size_t)r * H * W + i * W + j];
                m += v, mx += v * j, my += v * i;
            }
        assert_true(m > 0);
        double err = hypot(mx / m - ex, my / m - ey);
        worst = err > worst ? err : worst;
        moved += hypot(ex - px[r], ey - py[r]);
    }
    printf("augmentation: a pixel lands within %.3f px of its specified place (mean move %.2f px)\n", worst, moved / N);
    assert_true(worst < 0.35);
    assert_true(moved / N > 1.0); /* the transforms are not trivial */
    /* flip=1 alone: every image exactly mirrored left-right; flip=0.5: some rows, not all */
    const cm_augment mirror = {0, 0, 0, 1.0f, 0}, half = {0, 0, 0, 0.5f, 0};
    assert_int_equal(backend_gather_augment(hb, S, L, I, 0, N, 1, H, W, 1.0f, &mirror, seed, step, 0, X, Y), CM_OK);
    assert_int_equal(backend_download(hb, X, 0, x, sizeof(float) * N * H * W), CM_OK);
    for (int r = 0; r < N; r++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++)
                assert_true(x[(size_t)r * H * W + i * W + j] == (float)img[(size_t)r * H * W + i * W + (W - 1 - j)]);
    assert_int_equal(backend_gather_augment(hb, S, L, I, 0, N, 1, H, W, 1.0f, &half, seed, step, 0, X, Y), CM_OK);
    assert_int_equal(backend_download(hb, X, 0, x, sizeof(float) * N * H * W), CM_OK);
    int mirrored = 0;
    for (int r = 0; r < N; r++)
        mirrored += x[(size_t)r * H * W + py[r] * W + (W - 1 - px[r])] == 255.0f && px[r] != W - 1 - px[r];
    assert_true(mirrored > N / 4 && mirrored < 3 * N / 4);
    cm_buf *all[] = {S, L, I, X, Y};
    for (int i = 0; i < 5; i++)
        backend_release(hb, all[i]);
    free(x), free(img);
}

/* Data parallelism: a rank's share of a batch (rows 5.. of it, row0 = 5) draws the transforms
 * those rows have in the whole batch: the same images, bit for bit (MPI ranks key augmentation by
 * the global example). */
static void test_augment_share_keeps_global_keys(void **state) {
    enum { N = 23, H = 12, W = 10, FIRST = 5 };
    uint8_t img[N * H * W], labels[N];
    int32_t idx[N];
    cm_rng rng;
    rng_seed(&rng, 4, 4);
    for (int i = 0; i < N * H * W; i++)
        img[i] = (uint8_t)rng_next_u32(&rng);
    for (int i = 0; i < N; i++)
        labels[i] = (uint8_t)(i % 10), idx[i] = N - 1 - i;
    cm_buf *S, *L, *I, *X, *Y;
    assert_int_equal(backend_alloc(hb, sizeof img, 0, "src", &S), CM_OK);
    assert_int_equal(backend_alloc(hb, N, 0, "labels", &L), CM_OK);
    assert_int_equal(backend_alloc(hb, sizeof idx, 0, "idx", &I), CM_OK);
    assert_int_equal(backend_alloc(hb, sizeof(float) * N * H * W, 0, "x", &X), CM_OK);
    assert_int_equal(backend_alloc(hb, sizeof(int32_t) * N, 0, "y", &Y), CM_OK);
    assert_int_equal(backend_upload(hb, S, 0, img, sizeof img), CM_OK);
    assert_int_equal(backend_upload(hb, L, 0, labels, N), CM_OK);
    assert_int_equal(backend_upload(hb, I, 0, idx, sizeof idx), CM_OK);
    const cm_augment aug = {2.0f, 20.0f, 0.1f, 0.5f, 0};
    float *whole = malloc(sizeof(float) * N * H * W), *part = malloc(sizeof(float) * N * H * W);
    assert_int_equal(backend_gather_augment(hb, S, L, I, 0, N, 1, H, W, 1.0f, &aug, 8, 99, 0, X, Y), CM_OK);
    assert_int_equal(backend_download(hb, X, 0, whole, sizeof(float) * N * H * W), CM_OK);
    assert_int_equal(backend_gather_augment(hb, S, L, I, FIRST, N - FIRST, 1, H, W, 1.0f, &aug, 8, 99, FIRST, X, Y),
                     CM_OK);
    assert_int_equal(backend_download(hb, X, 0, part, sizeof(float) * (N - FIRST) * H * W), CM_OK);
    assert_memory_equal(part, whole + (size_t)FIRST * H * W, sizeof(float) * (N - FIRST) * H * W);
    /* and keyed by the rank's own rows instead (row0 = 0), the share would differ */
    assert_int_equal(backend_gather_augment(hb, S, L, I, FIRST, N - FIRST, 1, H, W, 1.0f, &aug, 8, 99, 0, X, Y), CM_OK);
    assert_int_equal(backend_download(hb, X, 0, part, sizeof(float) * (N - FIRST) * H * W), CM_OK);
    assert_memory_not_equal(part, whole + (size_t)FIRST * H * W, sizeof(float) * (N - FIRST) * H * W);
    cm_buf *all[] = {S, L, I, X, Y};
    for (int i = 0; i < 5; i++)
        backend_release(hb, all[i]);
    free(whole), free(part);
}

static void test_dropout_gradients_match_finite_differences(void **state) {
    cm_dataset ds;
    synth_dataset(&ds, 9, 3, 2, 3, 4, 11);
    int hidden[2] = {11, 13};
    cm_layout L;
    const float pd = 0.4f;
    const uint64_t seed = 6;
    assert_int_equal(synth_mlp_layout(&L, 6, hidden, 2, 4, 64, pd), CM_OK);
    cm_model m, plain_m; /* plain_m: the same parameters without the Dropout layers */
    assert_int_equal(model_init(&m, &L, 3), CM_OK);
    synth_fill_biases(&m, 40);
    assert_int_equal(synth_mlp_layout(&plain_m.layout, 6, hidden, 2, 4, 64, 0.0f), CM_OK);
    plain_m.params = m.params;
    cm_train_config cfg = {.batch = 9, .lr = 0.01f, .seed = seed, .feed = CM_FEED_RESIDENT};
    cm_trainer *t = synth_train(hb, &ds, &m, cfg, 1, 1);
    float *g = calloc(L.total, sizeof(float)), *fd = calloc(L.total, sizeof(float));
    assert_int_equal(trainer_get_grads(t, g), CM_OK);
    cm_stats st;
    assert_int_equal(trainer_train_stats(t, &st), CM_OK);
    /* the epoch-0 order, as trainer_begin_epoch draws it */
    int32_t perm[9];
    cm_rng rng;
    rng_seed(&rng, seed, 0x73687566ULL);
    for (int i = 0; i < 9; i++)
        perm[i] = i;
    rng_shuffle(&rng, perm, 9);
    double *p = malloc(sizeof(double) * L.total);
    for (size_t i = 0; i < L.total; i++)
        p[i] = m.params[i];
    /* the float64 reference (ref_mlp.h) with the trainer's dropout masks; the batch is the
     * epoch-0 shuffle, row k of the batch is example perm[k] */
    assert_float_equal(st.loss, ref_mlp_loss(&L, p, &ds.train, perm, pd, seed), 1e-5);
    ref_mlp_fd_grad(&L, p, &ds.train, perm, pd, seed, 1e-5, fd);
    assert_true(check_close("dropout gradient vs central differences", g, fd, L.total, 2e-5, 2e-3));
    /* teeth: some hidden units were dropped, so the gradient differs from the no-dropout one */
    cm_trainer *t0 = synth_train(hb, &ds, &plain_m, cfg, 1, 1);
    float *g0 = calloc(L.total, sizeof(float));
    assert_int_equal(trainer_get_grads(t0, g0), CM_OK);
    assert_memory_not_equal(g, g0, sizeof(float) * L.total);
    trainer_destroy(t0), trainer_destroy(t);
    free(g), free(g0), free(fd), free(p);
    model_free(&m);
    dataset_free(&ds);
}

/* Same model, same data, same number of steps: Adam (lr 1e-3) ends with a lower test loss than
 * plain SGD (lr 0.05). */
static void test_adam_beats_plain_sgd(void **state) {
    cm_dataset ds;
    if (mnist_subset(&ds, 3000, 2000) != 0) skip();
    int hidden[1] = {128};
    cm_layout L;
    assert_int_equal(synth_mlp_layout(&L, ds.train.dim, hidden, 1, ds.classes, 1024, 0.0f), CM_OK);
    cm_model m;
    assert_int_equal(model_init(&m, &L, 1), CM_OK);
    cm_train_config sgd = {.batch = 64, .lr = 0.05f, .seed = 3, .epochs = 1, .schedule = CM_SCHEDULE_CONSTANT};
    cm_train_config adam = sgd;
    adam.optimizer = CM_OPT_ADAM, adam.lr = 1e-3f, adam.beta1 = 0.9f, adam.beta2 = 0.999f, adam.eps = 1e-8f;
    cm_stats ev[2];
    cm_train_config cfgs[2] = {sgd, adam};
    for (int k = 0; k < 2; k++) {
        cm_trainer *t = synth_train(hb, &ds, &m, cfgs[k], 0, 1);
        assert_int_equal(trainer_evaluate(t, &ds.test, &ev[k]), CM_OK);
        trainer_destroy(t);
    }
    printf("one epoch of 3000 MNIST images: plain SGD test loss %.4f (acc %.2f%%), Adam %.4f (acc %.2f%%)\n",
           ev[0].loss, 100 * ev[0].accuracy, ev[1].loss, 100 * ev[1].accuracy);
    assert_true(ev[1].loss < ev[0].loss);
    assert_true(ev[1].accuracy > ev[0].accuracy);
    model_free(&m);
    dataset_free(&ds);
}

static int setup(void **state) {
    return backend_host_create(NULL, &hb) == CM_OK ? 0 : -1;
}
static int teardown(void **state) {
    backend_destroy(hb);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_philox_known_answers),
        cmocka_unit_test(test_schedules_by_hand),
        cmocka_unit_test(test_dropout_statistics),
        cmocka_unit_test(test_max_norm_by_hand),
        cmocka_unit_test(test_augment_moves_a_pixel_as_specified),
        cmocka_unit_test(test_augment_share_keeps_global_keys),
        cmocka_unit_test(test_dropout_gradients_match_finite_differences),
        cmocka_unit_test(test_adam_beats_plain_sgd),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
