/* test_device.c: OpenCL operations against the host reference on PoCL (or any device), uniform
 * [-1, 1] inputs from fixed seeds, sizes that are not multiples of the work-group size (GEMM in
 * every transpose is a row of tests/test_backend_ops.c); a whole training step device vs host; a
 * short run on both; and the device error paths. Skips (exit 77) only without an OpenCL device. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backends.h"
#include "check.h"
#include "cl_util.h"
#include "gemm_tune.h"
#include "trainer.h"
#include "synth.h"

static cm_backend *host, *dev;

static cm_buf *put(cm_backend *b, const void *data, size_t bytes) {
    cm_buf *buf;
    assert_int_equal(backend_alloc(b, bytes, 0, "test", &buf), CM_OK);
    if (data) assert_int_equal(backend_upload(b, buf, 0, data, bytes), CM_OK);
    return buf;
}

static void get(cm_backend *b, cm_buf *buf, void *out, size_t bytes) {
    assert_int_equal(backend_download(b, buf, 0, out, bytes), CM_OK);
}

static const int sizes[][2] = {{1, 1}, {7, 10}, {10, 33}, {33, 129}, {129, 784}, {128, 7}};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static void test_elementwise_ops(void **state) {
    for (size_t s = 0; s < NSIZES; s++) {
        int rows = sizes[s][0], cols = sizes[s][1];
        size_t n = (size_t)rows * cols;
        float *y = malloc(4 * n), *bias = malloc(4 * cols), *dy = malloc(4 * n), *r[2], *rb[2], *rg[2], *rgf[2],
              *rbf[2];
        fill_uniform(y, n, 1 + s), fill_uniform(bias, cols, 2 + s), fill_uniform(dy, n, 3 + s);
        cm_backend *be[2] = {host, dev};
        for (int i = 0; i < 2; i++) {
            r[i] = malloc(4 * n), rb[i] = malloc(4 * n), rg[i] = malloc(4 * cols), rgf[i] = malloc(4 * cols),
            rbf[i] = malloc(4 * n);
            for (int relu = 0; relu < 2; relu++) {
                cm_buf *Y = put(be[i], y, 4 * n), *B = put(be[i], bias, 4 * cols);
                assert_int_equal(backend_bias_act(be[i], Y, B, rows, cols, relu), CM_OK);
                get(be[i], Y, r[i], 4 * n);
                if (relu) {
                    cm_buf *D = put(be[i], dy, 4 * n);
                    assert_int_equal(backend_relu_backward(be[i], D, Y, n, 1.0f / 0.7f), CM_OK);
                    get(be[i], D, rb[i], 4 * n);
                    cm_buf *G = put(be[i], NULL, 4 * cols);
                    assert_int_equal(backend_bias_grad(be[i], D, NULL, G, rows, cols), CM_OK);
                    get(be[i], G, rg[i], 4 * cols);
                    /* fused: the mask of relu_backward (scale 1) and the sums in one call */
                    cm_buf *DF = put(be[i], dy, 4 * n);
                    assert_int_equal(backend_bias_grad(be[i], DF, Y, G, rows, cols), CM_OK);
                    get(be[i], G, rgf[i], 4 * cols);
                    get(be[i], DF, rbf[i], 4 * n);
                    backend_release(be[i], D), backend_release(be[i], G), backend_release(be[i], DF);
                }
                backend_release(be[i], Y), backend_release(be[i], B);
            }
        }
        assert_true(check_close("bias_act+relu", r[1], r[0], n, 0, 0));
        assert_true(check_close("relu_backward", rb[1], rb[0], n, 0, 0));
        assert_true(check_close("bias_grad", rg[1], rg[0], cols, 1e-6 * rows, 1e-5));
        assert_true(check_close("bias_grad, ReLU mask fused", rgf[1], rgf[0], cols, 1e-6 * rows, 1e-5));
        assert_true(check_close("bias_grad's masked dy", rbf[1], rbf[0], n, 0, 0));
        /* the fused mask is relu_backward's at scale 1, exactly */
        for (int i = 0; i < 2; i++) {
            cm_buf *D = put(be[i], dy, 4 * n), *Y = put(be[i], r[0], 4 * n);
            assert_int_equal(backend_relu_backward(be[i], D, Y, n, 1.0f), CM_OK);
            get(be[i], D, rb[i], 4 * n);
            backend_release(be[i], D), backend_release(be[i], Y);
        }
        assert_true(check_close("fused mask = relu_backward", rbf[0], rb[0], n, 0, 0));
        for (int i = 0; i < 2; i++)
            free(r[i]), free(rb[i]), free(rg[i]), free(rgf[i]), free(rbf[i]);
        free(y), free(bias), free(dy);
    }
}

static void test_softmax_argmax(void **state) {
    for (size_t s = 0; s < NSIZES; s++) {
        int rows = sizes[s][1], classes = sizes[s][0] + 1; /* rows 1..784, classes 2..130 */
        size_t n = (size_t)rows * classes;
        float *z = malloc(4 * n), acc0[2][1024];
        int32_t *lab = malloc(4 * rows);
        fill_uniform(z, n, 50 + s);
        for (size_t i = 0; i < n; i++)
            z[i] *= 8.0f;
        cm_rng rng;
        rng_seed(&rng, s, 1);
        for (int i = 0; i < rows; i++)
            lab[i] = (int32_t)rng_bounded(&rng, (uint32_t)classes);
        fill_uniform(acc0[0], rows, 60 + s);
        float *d[2], *loss[2], *corr[2], *corr2[2];
        int32_t *pred[2];
        cm_backend *be[2] = {host, dev};
        for (int i = 0; i < 2; i++) {
            d[i] = malloc(4 * n), loss[i] = malloc(4 * rows), corr[i] = malloc(4 * rows);
            pred[i] = malloc(4 * rows), corr2[i] = malloc(4 * rows);
            cm_buf *Z = put(be[i], z, 4 * n), *Y = put(be[i], lab, 4 * rows), *D = put(be[i], NULL, 4 * n);
            cm_buf *L = put(be[i], acc0[0], 4 * rows), *C = put(be[i], NULL, 4 * rows);
            cm_buf *P = put(be[i], NULL, 4 * rows), *C2 = put(be[i], NULL, 4 * rows);
            assert_int_equal(backend_softmax_xent(be[i], Z, Y, D, L, C, rows, classes), CM_OK);
            assert_int_equal(backend_softmax_xent(be[i], Z, Y, NULL, L, C, rows, classes), CM_OK); /* no grad */
            assert_int_equal(backend_argmax(be[i], Z, Y, P, C2, rows, classes), CM_OK);
            get(be[i], D, d[i], 4 * n), get(be[i], L, loss[i], 4 * rows), get(be[i], C, corr[i], 4 * rows);
            get(be[i], P, pred[i], 4 * rows), get(be[i], C2, corr2[i], 4 * rows);
            cm_buf *all[] = {Z, Y, D, L, C, P, C2};
            for (int j = 0; j < 7; j++)
                backend_release(be[i], all[j]);
        }
        assert_true(check_close("softmax dlogits", d[1], d[0], n, 1e-7, 1e-5));
        assert_true(check_close("softmax loss", loss[1], loss[0], rows, 1e-6, 1e-5));
        assert_true(check_close("softmax correct", corr[1], corr[0], rows, 0, 0));
        assert_memory_equal(pred[1], pred[0], 4 * rows);
        assert_true(check_close("argmax correct", corr2[1], corr2[0], rows, 0, 0));
        for (int i = 0; i < 2; i++)
            free(d[i]), free(loss[i]), free(corr[i]), free(pred[i]), free(corr2[i]);
        free(z), free(lab);
    }
}

static void test_optimizers_and_gather(void **state) {
    /* every optimizer, two steps with weight decay, device against the host reference */
    const size_t ns[] = {1, 7, 33, 1000003};
    const cm_opt_step kinds[] = {
        {.kind = CM_OPT_SGD, .lr = 0.3f},
        {.kind = CM_OPT_SGD, .lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.01f},
        {.kind = CM_OPT_NESTEROV, .lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.01f},
        {.kind = CM_OPT_ADAM, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f},
        {.kind = CM_OPT_ADAMW, .lr = 1e-3f, .beta1 = 0.8f, .beta2 = 0.99f, .eps = 1e-6f, .weight_decay = 0.1f},
    };
    const char *names[] = {"sgd", "momentum", "nesterov", "adam", "adamw"};
    for (size_t kk = 0; kk < 5; kk++)
        for (size_t s = 0; s < 4; s++) {
            size_t n = ns[s];
            float *w = malloc(4 * n), *g = malloc(4 * n), *m0 = malloc(4 * n), *v0 = malloc(4 * n), *out[2][3];
            fill_uniform(w, n, 1), fill_uniform(g, n, 2), fill_uniform(m0, n, 3), fill_uniform(v0, n, 4);
            for (size_t i = 0; i < n; i++)
                v0[i] = v0[i] * v0[i]; /* a second moment is >= 0 */
            int adam = kinds[kk].kind >= CM_OPT_ADAM, use_m = kk > 0;
            cm_backend *be[2] = {host, dev};
            for (int i = 0; i < 2; i++) {
                cm_buf *W = put(be[i], w, 4 * n), *G = put(be[i], g, 4 * n), *M = put(be[i], m0, 4 * n);
                cm_buf *V = put(be[i], v0, 4 * n);
                for (int t = 1; t <= 2; t++) {
                    cm_opt_step st = kinds[kk];
                    if (adam) {
                        st.step_size = (float)(st.lr / (1.0 - pow(st.beta1, t)));
                        st.bc2_sqrt = (float)sqrt(1.0 - pow(st.beta2, t));
                    }
                    assert_int_equal(backend_opt_update(be[i], W, G, use_m ? M : NULL, adam ? V : NULL, n, &st), CM_OK);
                }
                for (int j = 0; j < 3; j++)
                    out[i][j] = malloc(4 * n);
                get(be[i], W, out[i][0], 4 * n), get(be[i], M, out[i][1], 4 * n), get(be[i], V, out[i][2], 4 * n);
                backend_release(be[i], W), backend_release(be[i], G), backend_release(be[i], M),
                    backend_release(be[i], V);
            }
            char what[64];
            snprintf(what, sizeof what, "%s w (n=%zu)", names[kk], n);
            assert_true(check_close(what, out[1][0], out[0][0], n, 1e-6, 1e-5));
            snprintf(what, sizeof what, "%s m (n=%zu)", names[kk], n);
            assert_true(check_close(what, out[1][1], out[0][1], n, 1e-7, 1e-6));
            snprintf(what, sizeof what, "%s v (n=%zu)", names[kk], n);
            assert_true(check_close(what, out[1][2], out[0][2], n, 1e-7, 1e-6));
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 3; j++)
                    free(out[i][j]);
            free(w), free(g), free(m0), free(v0);
        }
    /* gather: random rows of a random uint8 set, with an index offset; then the staged path. */
    int N = 1000, dim = 784, rows = 129;
    uint8_t *src = malloc((size_t)N * dim), lab[1000];
    cm_rng rng;
    rng_seed(&rng, 8, 8);
    for (int i = 0; i < N * dim; i++)
        src[i] = (uint8_t)rng_next_u32(&rng);
    for (int i = 0; i < N; i++)
        lab[i] = (uint8_t)rng_bounded(&rng, 10);
    int32_t idx[140];
    for (int i = 0; i < 140; i++)
        idx[i] = (int32_t)rng_bounded(&rng, (uint32_t)N);
    float *x[2];
    int32_t y[2][129];
    cm_backend *be[2] = {host, dev};
    for (int i = 0; i < 2; i++) {
        cm_buf *S = put(be[i], src, (size_t)N * dim), *L = put(be[i], lab, N), *I = put(be[i], idx, sizeof idx);
        cm_buf *X = put(be[i], NULL, 4 * (size_t)rows * dim), *Y = put(be[i], NULL, 4 * rows);
        assert_int_equal(backend_gather(be[i], S, L, I, 11, rows, dim, 1.0f / 255.0f, X, Y), CM_OK);
        x[i] = malloc(4 * (size_t)rows * dim);
        get(be[i], X, x[i], 4 * (size_t)rows * dim), get(be[i], Y, y[i], 4 * rows);
        /* staged: the same rows through stage_rows + gather with the identity index */
        cm_buf *SR, *SL;
        assert_int_equal(backend_alloc(be[i], (size_t)rows * dim, CM_BUF_STAGING, "stage", &SR), CM_OK);
        assert_int_equal(backend_alloc(be[i], rows, CM_BUF_STAGING, "stage labels", &SL), CM_OK);
        int32_t iota[129];
        for (int r = 0; r < rows; r++)
            iota[r] = r;
        cm_buf *IO = put(be[i], iota, sizeof iota), *X2 = put(be[i], NULL, 4 * (size_t)rows * dim);
        assert_int_equal(backend_stage_rows(be[i], SR, SL, src, lab, idx + 11, rows, dim), CM_OK);
        assert_int_equal(backend_gather(be[i], SR, SL, IO, 0, rows, dim, 1.0f / 255.0f, X2, Y), CM_OK);
        float *x2 = malloc(4 * (size_t)rows * dim);
        get(be[i], X2, x2, 4 * (size_t)rows * dim);
        assert_memory_equal(x2, x[i], 4 * (size_t)rows * dim);
        free(x2);
        cm_buf *all[] = {S, L, I, X, Y, SR, SL, IO, X2};
        for (int j = 0; j < 9; j++)
            backend_release(be[i], all[j]);
    }
    assert_true(check_close("gather", x[1], x[0], (size_t)rows * dim, 0, 1e-7));
    assert_memory_equal(y[1], y[0], sizeof y[0]);
    for (int r = 0; r < rows; r++)
        assert_int_equal(y[0][r], lab[idx[11 + r]]);
    free(x[0]), free(x[1]), free(src);
}

static void test_dropout_and_max_norm(void **state) {
    /* dropout: the device mask is the host mask, bit for bit (same Philox stream), also for a
     * rank's share of a batch that starts at an element offset, aligned to 4 or not */
    const size_t ns[] = {1, 3, 4, 5, 1000, 33 * 129 + 2, 7, 1000};
    const size_t offsets[] = {0, 0, 0, 0, 0, 0, 3, 4097};
    for (size_t s = 0; s < sizeof ns / sizeof ns[0]; s++) {
        size_t n = ns[s];
        float *y = malloc(4 * n), *out[2];
        fill_uniform(y, n, 70 + s);
        cm_backend *be[2] = {host, dev};
        for (int i = 0; i < 2; i++) {
            cm_buf *Y = put(be[i], y, 4 * n);
            assert_int_equal(backend_dropout(be[i], Y, n, 0.3f, 0x123456789abcULL, 2, 5000000000ULL + s, offsets[s]),
                             CM_OK);
            out[i] = malloc(4 * n);
            get(be[i], Y, out[i], 4 * n);
            backend_release(be[i], Y);
        }
        assert_memory_equal(out[1], out[0], 4 * n);
        size_t zeros = 0;
        for (size_t i = 0; i < n; i++)
            zeros += out[0][i] == 0.0f;
        if (n >= 1000) assert_true(zeros > n / 5 && zeros < n * 2 / 5); /* p = 0.3 */
        free(out[0]), free(out[1]), free(y);
    }
    /* max-norm: device rows against the host's */
    const int shapes[][2] = {{1, 1}, {10, 33}, {129, 784}, {512, 7}};
    for (size_t s = 0; s < 4; s++) {
        int rows = shapes[s][0], cols = shapes[s][1];
        size_t n = (size_t)rows * cols;
        float *w = malloc(4 * n), *out[2];
        fill_uniform(w, n, 80 + s);
        cm_backend *be[2] = {host, dev};
        for (int i = 0; i < 2; i++) {
            cm_buf *W = put(be[i], w, 4 * n);
            /* c below some rows' norms and above others' (a row of U(-1,1) has norm ~ sqrt(cols/3)) */
            assert_int_equal(backend_max_norm(be[i], W, rows, cols, 0.58f * sqrtf((float)cols)), CM_OK);
            out[i] = malloc(4 * n);
            get(be[i], W, out[i], 4 * n);
            backend_release(be[i], W);
        }
        assert_true(check_close("max_norm", out[1], out[0], n, 1e-7, 1e-6));
        free(out[0]), free(out[1]), free(w);
    }
}

static void test_gather_augment(void **state) {
    int N = 300, H = 28, W = 28, dim = H * W, rows = 129;
    uint8_t *src = malloc((size_t)N * dim), lab[300];
    cm_rng rng;
    rng_seed(&rng, 9, 9);
    for (int i = 0; i < N * dim; i++)
        src[i] = (uint8_t)rng_next_u32(&rng);
    for (int i = 0; i < N; i++)
        lab[i] = (uint8_t)rng_bounded(&rng, 10);
    int32_t idx[140];
    for (int i = 0; i < 140; i++)
        idx[i] = (int32_t)rng_bounded(&rng, (uint32_t)N);
    const cm_augment none = {0, 0, 0, 0, 0}, aug = {2.0f, 10.0f, 0.1f, 0.5f, 0};
    size_t nx = (size_t)rows * dim;
    float *plain[2], *ident[2], *warped[2];
    cm_backend *be[2] = {host, dev};
    for (int i = 0; i < 2; i++) {
        cm_buf *S = put(be[i], src, (size_t)N * dim), *L = put(be[i], lab, N), *I = put(be[i], idx, sizeof idx);
        cm_buf *X = put(be[i], NULL, 4 * nx), *Y = put(be[i], NULL, 4 * rows);
        plain[i] = malloc(4 * nx), ident[i] = malloc(4 * nx), warped[i] = malloc(4 * nx);
        assert_int_equal(backend_gather(be[i], S, L, I, 7, rows, dim, 1.0f / 255.0f, X, Y), CM_OK);
        get(be[i], X, plain[i], 4 * nx);
        assert_int_equal(backend_gather_augment(be[i], S, L, I, 7, rows, 1, H, W, 1.0f / 255.0f, &none, 42, 3, 0, X, Y),
                         CM_OK);
        get(be[i], X, ident[i], 4 * nx);
        /* row0 = 11: this batch is a rank's share starting at row 11 of the global batch */
        assert_int_equal(backend_gather_augment(be[i], S, L, I, 7, rows, 1, H, W, 1.0f / 255.0f, &aug, 42, 3, 11, X, Y),
                         CM_OK);
        get(be[i], X, warped[i], 4 * nx);
        int32_t y[129];
        get(be[i], Y, y, sizeof y);
        for (int r = 0; r < rows; r++)
            assert_int_equal(y[r], lab[idx[7 + r]]);
        cm_buf *all[] = {S, L, I, X, Y};
        for (int j = 0; j < 5; j++)
            backend_release(be[i], all[j]);
    }
    /* the identity transform leaves every image exactly as the plain gather makes it */
    assert_memory_equal(ident[0], plain[0], 4 * nx);
    assert_memory_equal(ident[1], plain[1], 4 * nx);
    /* a real transform: device equals the host twin within rounding (cos/sin and the division
     * may differ by a few ulp, and bilinear sampling is continuous in the coordinates) */
    assert_true(check_close("gather_augment", warped[1], warped[0], nx, 2e-4, 1e-4));
    assert_memory_not_equal(warped[0], plain[0], 4 * nx);
    for (int i = 0; i < 2; i++)
        free(plain[i]), free(ident[i]), free(warped[i]);
    free(src);
}

static void test_training_step_device_vs_host(void **state) {
    cm_dataset ds;
    synth_dataset(&ds, 300, 50, 28, 28, 10, 21);
    int hidden[2] = {129, 33};
    cm_layout L;
    size_t align = dev->align_bytes > 1024 ? dev->align_bytes : 1024;
    assert_int_equal(synth_mlp_layout(&L, 784, hidden, 2, 10, align, 0.0f), CM_OK);
    cm_model m, md; /* md: the same parameters with Dropout(0.25) after each hidden ReLU */
    assert_int_equal(model_init(&m, &L, 5), CM_OK);
    assert_int_equal(synth_mlp_layout(&md.layout, 784, hidden, 2, 10, align, 0.25f), CM_OK);
    md.params = m.params;
    /* the default recipe, and one with every training feature on: AdamW, warm-up, dropout (the
     * same Philox masks on both), max-norm and augmentation */
    cm_train_config recipes[2] = {
        {.batch = 100, .lr = 0.1f, .momentum = 0.9f, .seed = 3, .epochs = 1, .schedule = CM_SCHEDULE_COSINE},
        synth_full_recipe()};
    for (int k = 0; k < 4; k++) {
        int feed = k & 1;
        cm_train_config cfg = recipes[k >> 1];
        cfg.feed = feed ? CM_FEED_RESIDENT : CM_FEED_STREAMED;
        const cm_model *mk = k >> 1 ? &md : &m;
        cm_trainer *th = synth_train(host, &ds, mk, cfg, 1, 1), *td = synth_train(dev, &ds, mk, cfg, 1, 1);
        float *ph = malloc(4 * L.total), *pd = malloc(4 * L.total), *gh = malloc(4 * L.total),
              *gd = malloc(4 * L.total);
        assert_int_equal(trainer_get_params(th, ph), CM_OK), assert_int_equal(trainer_get_params(td, pd), CM_OK);
        assert_int_equal(trainer_get_grads(th, gh), CM_OK), assert_int_equal(trainer_get_grads(td, gd), CM_OK);
        assert_true(check_close("step gradients", gd, gh, L.total, 1e-6, 1e-3));
        /* Adam divides by sqrt(v): a gradient that differs in the 4th digit moves w by lr either way */
        assert_true(check_close("params after one step", pd, ph, L.total, k >> 1 ? 2e-5 : 1e-7, 1e-4));
        cm_stats sh, sd;
        assert_int_equal(trainer_train_stats(th, &sh), CM_OK), assert_int_equal(trainer_train_stats(td, &sd), CM_OK);
        assert_float_equal(sd.loss, sh.loss, 1e-5 * sh.loss);
        trainer_destroy(th), trainer_destroy(td);
        free(ph), free(pd), free(gh), free(gd);
    }
    model_free(&m);
    dataset_free(&ds);
}

static void test_short_run_same_accuracy(void **state) {
    cm_dataset ds;
    if (mnist_subset(&ds, 6000, 2000) != 0) skip();
    int hidden[2] = {128, 64};
    cm_layout L;
    assert_int_equal(synth_mlp_layout(&L, 784, hidden, 2, 10, 4096, 0.0f), CM_OK);
    cm_model m;
    assert_int_equal(model_init(&m, &L, 42), CM_OK);
    cm_train_config cfg = {.batch = 64,
                           .lr = 0.1f,
                           .momentum = 0.9f,
                           .seed = 42,
                           .epochs = 1,
                           .schedule = CM_SCHEDULE_COSINE,
                           .feed = CM_FEED_AUTO};
    cm_trainer *th = synth_train(host, &ds, &m, cfg, -1, 1), *td = synth_train(dev, &ds, &m, cfg, -1, 1);
    cm_stats eh, ed;
    assert_int_equal(trainer_evaluate(th, &ds.test, &eh), CM_OK);
    assert_int_equal(trainer_evaluate(td, &ds.test, &ed), CM_OK);
    printf("6k MNIST images, 1 epoch: host %.2f%%, device %.2f%%\n", 100 * eh.accuracy, 100 * ed.accuracy);
    assert_true(eh.accuracy > 0.85);
    assert_true(fabs(eh.accuracy - ed.accuracy) <= 0.005);
    trainer_destroy(th), trainer_destroy(td);
    model_free(&m);
    dataset_free(&ds);
}

/* Field by field: structs may differ in their padding. */
static int same_params(const gemm_params *a, const gemm_params *b) {
    return a->has_direct == b->has_direct && a->has_indirect == b->has_indirect && a->min_indirect == b->min_indirect &&
           !memcmp(a->direct, b->direct, sizeof a->direct) && !memcmp(a->indirect, b->indirect, sizeof a->indirect);
}

/* `tune` starts from the cached configuration: moved to the front when the list has it, inserted
 * when it does not, the others kept in order; a cache without that kernel changes nothing. */
static void test_tune_starts_from_cache(void **state) {
    (void)state;
    enum { MAX = 4096 };
    gemm_params *cand = malloc(sizeof *cand * MAX), *orig = malloc(sizeof *orig * MAX);
    assert_non_null(cand);
    assert_non_null(orig);
    for (int direct = 0; direct < 2; direct++) {
        int n0 = direct ? gemm_direct_candidates(1024, 65536, orig, MAX)
                        : gemm_indirect_candidates(1024, 65536, 1, orig, MAX);
        assert_true(n0 > 20);
        const int k = n0 / 2 + 3;
        /* present at k: moved to 0, the count unchanged, 0..k-1 shifted by one, the rest in place */
        memcpy(cand, orig, sizeof *cand * (size_t)n0);
        int n = n0;
        gemm_candidates_put_first(cand, &n, MAX, &orig[k], direct);
        assert_int_equal(n, n0);
        assert_true(same_params(&cand[0], &orig[k]));
        assert_memory_equal(&cand[1], &orig[0], sizeof *cand * (size_t)k);
        assert_memory_equal(&cand[k + 1], &orig[k + 1], sizeof *cand * (size_t)(n0 - k - 1));
        /* absent: inserted at 0, everything after it */
        gemm_params other = orig[k];
        if (direct)
            other.direct[0] = 48; /* WGD 48 is not a candidate */
        else
            other.indirect[XG_MWG] = 48;
        memcpy(cand, orig, sizeof *cand * (size_t)n0);
        n = n0;
        gemm_candidates_put_first(cand, &n, MAX, &other, direct);
        assert_int_equal(n, n0 + 1);
        assert_true(same_params(&cand[0], &other));
        assert_memory_equal(&cand[1], &orig[0], sizeof *cand * (size_t)n0);
        /* a full list keeps its length: the last one drops out */
        memcpy(cand, orig, sizeof *cand * (size_t)n0);
        n = n0;
        gemm_candidates_put_first(cand, &n, n0, &other, direct);
        assert_int_equal(n, n0);
        assert_true(same_params(&cand[0], &other));
        assert_memory_equal(&cand[1], &orig[0], sizeof *cand * (size_t)(n0 - 1));
        /* a cache without this kernel's parameters */
        gemm_params none = orig[k];
        none.has_direct = none.has_indirect = 0;
        memcpy(cand, orig, sizeof *cand * (size_t)n0);
        n = n0;
        gemm_candidates_put_first(cand, &n, MAX, &none, direct);
        assert_int_equal(n, n0);
        assert_memory_equal(cand, orig, sizeof *cand * (size_t)n0);
    }
    free(cand);
    free(orig);
}

static void test_error_paths(void **state) {
    cl_device_desc d;
    assert_int_equal(cl_select_device("99", 0, &d), CM_ERR_DEVICE);
    assert_non_null(strstr(cm_last_error(), "99"));
    assert_int_equal(cl_select_device("no-such-gpu-xyz", 0, &d), CM_ERR_DEVICE);
    assert_non_null(strstr(cm_last_error(), "no-such-gpu-xyz"));
    assert_non_null(strstr(cm_last_error(), "clmnist devices")); /* the list to pick from */
    cm_backend_options bo = {.device = "no-such-gpu-xyz"};
    cm_backend *b = NULL;
    assert_int_equal(backend_device_create(&bo, &b), CM_ERR_DEVICE);
    assert_null(b);

    /* An allocation beyond the device's limit names the buffer and the limit. */
    cm_buf *buf;
    assert_int_equal(backend_alloc(dev, dev->max_alloc_bytes + 1, 0, "huge activations", &buf), CM_ERR_MEMORY);
    assert_non_null(strstr(cm_last_error(), "huge activations"));
    assert_non_null(strstr(cm_last_error(), "MiB"));
    /* A batch too large for the device fails cleanly in trainer_create. */
    cm_dataset ds;
    synth_dataset(&ds, 20, 5, 28, 28, 10, 2);
    int hidden[1] = {4096};
    cm_layout L;
    assert_int_equal(synth_mlp_layout(&L, 784, hidden, 1, 10, 4096, 0.0f), CM_OK);
    cm_model m;
    assert_int_equal(model_init(&m, &L, 1), CM_OK);
    cm_train_config cfg = {.batch = 1 << 20, .lr = 0.1f, .seed = 1, .epochs = 1};
    cm_trainer *t = NULL;
    assert_int_equal(trainer_create(dev, &ds, &m, &cfg, &t), CM_ERR_MEMORY);
    assert_null(t);
    model_free(&m);
    dataset_free(&ds);

    /* A kernel that fails to build returns an error naming the device (log on stderr). */
    cl_device_desc desc;
    assert_int_equal(cl_select_device(NULL, 0, &desc), CM_OK);
    cl_int err;
    cl_context ctx = clCreateContext(NULL, 1, &desc.device, NULL, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    const char *bad = "__kernel void kernel_broken(__global float *x) { x[0] = undefined_symbol; }";
    size_t len = strlen(bad);
    cl_program prog;
    assert_int_equal(cl_build_program(ctx, desc.device, desc.device_name, &bad, &len, 1, "", &prog), CM_ERR_DEVICE);
    assert_non_null(strstr(cm_last_error(), "failed to build"));
    assert_null(prog);
    clReleaseContext(ctx);
}

static int setup(void **state) {
    return backends_create_both(&host, &dev);
}

static int teardown(void **state) {
    backend_destroy(dev);
    backend_destroy(host);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elementwise_ops),         cmocka_unit_test(test_softmax_argmax),
        cmocka_unit_test(test_optimizers_and_gather),   cmocka_unit_test(test_dropout_and_max_norm),
        cmocka_unit_test(test_gather_augment),          cmocka_unit_test(test_training_step_device_vs_host),
        cmocka_unit_test(test_short_run_same_accuracy), cmocka_unit_test(test_error_paths),
        cmocka_unit_test(test_tune_starts_from_cache),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
