/* test_host_ops.c: every host-backend operation against hand-computed values or an
 * independent double-precision loop, plus PCG32 against the published reference outputs. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "check.h"
#include "backend.h"
#include "host_gemm.h"

static cm_backend *hb;

static cm_buf *buf_from(const void *data, size_t bytes) {
    cm_buf *b;
    assert_int_equal(backend_alloc(hb, bytes, 0, "test", &b), CM_OK);
    if (data) assert_int_equal(backend_upload(hb, b, 0, data, bytes), CM_OK);
    return b;
}

static void read_back(cm_buf *b, void *out, size_t bytes) {
    assert_int_equal(backend_download(hb, b, 0, out, bytes), CM_OK);
    backend_release(hb, b);
}

static void test_rng_reference_values(void **state) {
    /* pcg32-demo from pcg-random.org: pcg32_srandom_r(&rng, 42u, 54u), first six outputs. */
    const uint32_t expect[6] = {0xa15c02b7, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e};
    cm_rng r;
    rng_seed(&r, 42, 54);
    for (int i = 0; i < 6; i++)
        assert_int_equal(rng_next_u32(&r), expect[i]);
    /* bounded() stays in range; shuffle is a permutation and reproducible. */
    int32_t a[100], b[100];
    for (int i = 0; i < 100; i++)
        a[i] = b[i] = i;
    rng_seed(&r, 7, 1);
    rng_shuffle(&r, a, 100);
    rng_seed(&r, 7, 1);
    rng_shuffle(&r, b, 100);
    int seen[100] = {0}, moved = 0;
    for (int i = 0; i < 100; i++) {
        assert_int_equal(a[i], b[i]);
        seen[a[i]]++;
        moved += a[i] != i;
    }
    for (int i = 0; i < 100; i++)
        assert_int_equal(seen[i], 1);
    assert_true(moved > 80);
    for (int i = 0; i < 1000; i++)
        assert_true(rng_bounded(&r, 7) < 7);
}

/* Independent reference: plain triple loop in double. */
static void ref_gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                     int ldb, float beta, float *c, int ldc) {
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0.0;
            for (int p = 0; p < k; p++)
                s += (double)(ta ? a[p * lda + i] : a[i * lda + p]) * (double)(tb ? b[j * ldb + p] : b[p * ldb + j]);
            c[i * ldc + j] = (float)(alpha * s + beta * c[i * ldc + j]);
        }
}

static void test_gemm_against_reference(void **state) {
    const int shapes[][3] = {{1, 1, 1},      {7, 10, 33},    {33, 129, 7}, {129, 33, 784},
                             {70, 300, 260}, {10, 784, 128}, {5, 7, 9001}, {24, 25, 3 * 4096 + 17}}; /* split k */
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        for (int t = 0; t < 4; t++) {
            bool ta = t & 1, tb = t & 2;
            int lda = ta ? m : k, ldb = tb ? k : n;
            float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n);
            float *c = malloc(sizeof(float) * m * n), *ref = malloc(sizeof(float) * m * n);
            fill_uniform(a, (size_t)m * k, 1 + s);
            fill_uniform(b, (size_t)k * n, 2 + s);
            fill_uniform(c, (size_t)m * n, 3 + s);
            memcpy(ref, c, sizeof(float) * m * n);
            ref_gemm(ta, tb, m, n, k, 0.75f, a, lda, b, ldb, 0.5f, ref, n);
            cm_buf *A = buf_from(a, sizeof(float) * m * k), *B = buf_from(b, sizeof(float) * k * n);
            cm_buf *C = buf_from(c, sizeof(float) * m * n);
            assert_int_equal(backend_gemm(hb, ta, tb, m, n, k, 0.75f, A, lda, B, ldb, 0.5f, C, n), CM_OK);
            read_back(C, c, sizeof(float) * m * n);
            char what[64];
            snprintf(what, sizeof what, "gemm %dx%dx%d ta=%d tb=%d", m, n, k, ta, tb);
            assert_true(check_close(what, c, ref, (size_t)m * n, 1e-5 * k, 1e-5));
            backend_release(hb, A);
            backend_release(hb, B);
            free(a), free(b), free(c), free(ref);
        }
    }
}

/* The host GEMM cuts C into blocks, or k into chunks, shared by the threads (host_gemm.c): the
 * result must not depend on the thread count, bit for bit, in any cut (more rows than columns,
 * the other way, or a small C over a long k). */
static void test_gemm_thread_count_independent(void **state) {
    const int shapes[][3] = {{129, 33, 784}, {70, 300, 260}, {512, 784, 128}, {24, 25, 5 * 4096 + 3}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        for (int t = 0; t < 4; t++) {
            bool ta = t & 1, tb = t & 2;
            float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n), *c[3];
            fill_uniform(a, (size_t)m * k, 11 + s);
            fill_uniform(b, (size_t)k * n, 12 + s);
            const int threads[3] = {1, 2, 3};
            for (int i = 0; i < 3; i++) {
                c[i] = malloc(sizeof(float) * m * n);
                fill_uniform(c[i], (size_t)m * n, 13 + s);
                assert_int_equal(host_gemm_set_threads(threads[i]), threads[i]);
                host_gemm(ta, tb, m, n, k, 0.5f, a, ta ? m : k, b, tb ? k : n, 0.25f, c[i], n);
            }
            assert_memory_equal(c[0], c[1], sizeof(float) * m * n);
            assert_memory_equal(c[0], c[2], sizeof(float) * m * n);
            free(a), free(b), free(c[0]), free(c[1]), free(c[2]);
        }
    }
    host_gemm_set_threads(2);
}

/* The host convolution spreads images (forward, dx) and fixed groups of images (dweight) over
 * the threads (conv_host.c): bit for bit the same with 1, 2 and 3 threads, at a batch that is
 * not a multiple of the 16 weight groups. */
static void conv_run(const float *x, const float *wt, const float *dy, const cm_window *w, int oc, float *out) {
    size_t nx = (size_t)w->batch * w->channels * w->height * w->width,
           nw = (size_t)oc * w->channels * w->kernel * w->kernel;
    size_t ny = (size_t)w->batch * oc * w->out_h * w->out_w;
    cm_buf *X = buf_from(x, 4 * nx), *W = buf_from(wt, 4 * nw), *DY = buf_from(dy, 4 * ny);
    cm_buf *Y = buf_from(NULL, 4 * ny), *DW = buf_from(NULL, 4 * nw), *DX = buf_from(NULL, 4 * nx);
    assert_int_equal(backend_conv_forward(hb, X, W, NULL, Y, oc, w, true), CM_OK);
    assert_int_equal(backend_conv_backward(hb, DY, X, W, DW, DX, oc, w), CM_OK);
    read_back(Y, out, 4 * ny), read_back(DW, out + ny, 4 * nw), read_back(DX, out + ny + nw, 4 * nx);
    backend_release(hb, X), backend_release(hb, W), backend_release(hb, DY);
}

static void test_conv_thread_count_independent(void **state) {
    cm_window w = {.batch = 37, .channels = 3, .height = 11, .width = 9, .kernel = 3, .stride = 1, .pad = 1};
    assert_int_equal(window_resolve(&w, "test"), CM_OK);
    const int oc = 5;
    size_t nx = (size_t)w.batch * 3 * 11 * 9, nw = (size_t)oc * 27, ny = (size_t)w.batch * oc * w.out_h * w.out_w;
    float *x = malloc(4 * nx), *wt = malloc(4 * nw), *dy = malloc(4 * ny), *out[3];
    fill_uniform(x, nx, 21), fill_uniform(wt, nw, 22), fill_uniform(dy, ny, 23);
    for (int t = 0; t < 3; t++) {
        out[t] = malloc(4 * (ny + nw + nx));
        assert_int_equal(host_gemm_set_threads(t + 1), t + 1);
        conv_run(x, wt, dy, &w, oc, out[t]);
    }
    assert_memory_equal(out[0], out[1], 4 * (ny + nw + nx));
    assert_memory_equal(out[0], out[2], 4 * (ny + nw + nx));
    free(x), free(wt), free(dy), free(out[0]), free(out[1]), free(out[2]);
    host_gemm_set_threads(2);
}

/* A 3x3 image, a 2x2 kernel, stride 1, no padding, worked out by hand: y = the four window sums
 * weighted (1, 2, 3, 4), + bias 0.5; dweight and dx from dy = (1, 0, 0, -1). */
static void test_conv_hand_values(void **state) {
    const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, wt[4] = {1, 2, 3, 4}, bias[1] = {0.5f}, dy[4] = {1, 0, 0, -1};
    cm_window w = {.batch = 1, .channels = 1, .height = 3, .width = 3, .kernel = 2, .stride = 1};
    assert_int_equal(window_resolve(&w, "test"), CM_OK);
    cm_buf *X = buf_from(x, sizeof x), *W = buf_from(wt, sizeof wt), *Bb = buf_from(bias, sizeof bias);
    cm_buf *Y = buf_from(NULL, 16), *DY = buf_from(dy, sizeof dy), *DW = buf_from(NULL, 16), *DX = buf_from(NULL, 36);
    assert_int_equal(backend_conv_forward(hb, X, W, Bb, Y, 1, &w, false), CM_OK);
    assert_int_equal(backend_conv_backward(hb, DY, X, W, DW, DX, 1, &w), CM_OK);
    float y[4], dw[4], dx[9];
    read_back(Y, y, sizeof y), read_back(DW, dw, sizeof dw), read_back(DX, dx, sizeof dx);
    /* windows (1 2 4 5), (2 3 5 6), (4 5 7 8), (5 6 8 9) . (1 2 3 4) */
    const float ey[4] = {37.5f, 47.5f, 67.5f, 77.5f};
    /* dw = x-window(0,0) - x-window(1,1): (1 2 4 5) - (5 6 8 9) */
    const float edw[4] = {-4, -4, -4, -4};
    /* dx: +w at the top-left window, -w at the bottom-right one */
    const float edx[9] = {1, 2, 0, 3, 4 - 1, -2, 0, -3, -4};
    for (int i = 0; i < 4; i++)
        assert_float_equal(y[i], ey[i], 1e-6), assert_float_equal(dw[i], edw[i], 1e-6);
    for (int i = 0; i < 9; i++)
        assert_float_equal(dx[i], edx[i], 1e-6);
    backend_release(hb, X), backend_release(hb, W), backend_release(hb, Bb), backend_release(hb, DY);
}

static void test_bias_act_and_relu_backward(void **state) {
    float y[6] = {1.0f, -2.0f, 0.5f, -0.25f, 3.0f, -1.0f}; /* (2, 3) */
    float bias[3] = {0.5f, 1.0f, -1.0f};
    cm_buf *Y = buf_from(y, sizeof y), *Bb = buf_from(bias, sizeof bias);
    assert_int_equal(backend_bias_act(hb, Y, Bb, 2, 3, true), CM_OK);
    float out[6];
    assert_int_equal(backend_download(hb, Y, 0, out, sizeof out), CM_OK);
    const float relu_expect[6] = {1.5f, 0.0f, 0.0f, 0.25f, 4.0f, 0.0f};
    assert_memory_equal(out, relu_expect, sizeof out);
    assert_int_equal(backend_upload(hb, Y, 0, y, sizeof y), CM_OK);
    assert_int_equal(backend_bias_act(hb, Y, Bb, 2, 3, false), CM_OK);
    read_back(Y, out, sizeof out);
    const float lin_expect[6] = {1.5f, -1.0f, -0.5f, 0.25f, 4.0f, -2.0f};
    assert_memory_equal(out, lin_expect, sizeof out);

    float dy[6] = {1, 2, 3, 4, 5, 6};
    cm_buf *DY = buf_from(dy, sizeof dy), *Act = buf_from(relu_expect, sizeof relu_expect);
    assert_int_equal(backend_relu_backward(hb, DY, Act, 6, 1.0f), CM_OK);
    read_back(DY, out, sizeof out);
    const float back_expect[6] = {1, 0, 0, 4, 5, 0};
    assert_memory_equal(out, back_expect, sizeof out);
    /* with a dropout scale: the surviving gradients are multiplied by it */
    DY = buf_from(dy, sizeof dy);
    assert_int_equal(backend_relu_backward(hb, DY, Act, 6, 2.5f), CM_OK);
    read_back(DY, out, sizeof out);
    const float scaled_expect[6] = {2.5f, 0, 0, 10, 12.5f, 0};
    assert_memory_equal(out, scaled_expect, sizeof out);
    backend_release(hb, Bb);
    backend_release(hb, Act);
}

static void test_bias_grad(void **state) {
    float dy[6] = {1, 2, 3, 10, 20, 30}; /* (2, 3) */
    cm_buf *DY = buf_from(dy, sizeof dy), *DB = buf_from(NULL, 3 * sizeof(float));
    assert_int_equal(backend_bias_grad(hb, DY, NULL, DB, 2, 3), CM_OK);
    float out[3];
    read_back(DB, out, sizeof out);
    const float expect[3] = {11, 22, 33};
    assert_memory_equal(out, expect, sizeof out);
    /* with a fused ReLU's output: dy masked where y <= 0 (y = 0 and y = -0 included), in place */
    float y[6] = {1, 0, -2, 0.5f, -0.0f, 3};
    cm_buf *Y = buf_from(y, sizeof y), *DB2 = buf_from(NULL, 3 * sizeof(float));
    assert_int_equal(backend_bias_grad(hb, DY, Y, DB2, 2, 3), CM_OK);
    read_back(DB2, out, sizeof out);
    const float masked_expect[3] = {11, 0, 30};
    assert_memory_equal(out, masked_expect, sizeof out);
    float dy_out[6];
    read_back(DY, dy_out, sizeof dy_out); /* releases DY */
    const float dy_expect[6] = {1, 0, 0, 10, 0, 30};
    assert_memory_equal(dy_out, dy_expect, sizeof dy_out);
    backend_release(hb, Y);
}

static void test_softmax_xent_hand_values(void **state) {
    /* Row 0: logits (0, ln 2, ln 3) -> p = (1/6, 2/6, 3/6), label 2: loss = -ln(1/2), correct.
     * Row 1: logits (1000, 1000, 1000) (stability) -> p = 1/3 each, label 0: loss = ln 3; argmax 0. */
    float z[6] = {0.0f, logf(2.0f), logf(3.0f), 1000.0f, 1000.0f, 1000.0f};
    int32_t y[2] = {2, 0};
    cm_buf *Z = buf_from(z, sizeof z), *Y = buf_from(y, sizeof y), *D = buf_from(NULL, sizeof z);
    float acc0[2] = {0.5f, 0.0f}; /* accumulators add to what is there */
    cm_buf *L = buf_from(acc0, sizeof acc0), *C = buf_from(NULL, 2 * sizeof(float));
    assert_int_equal(backend_softmax_xent(hb, Z, Y, D, L, C, 2, 3), CM_OK);
    float loss[2], corr[2], d[6];
    read_back(L, loss, sizeof loss);
    read_back(C, corr, sizeof corr);
    read_back(D, d, sizeof d);
    assert_float_equal(loss[0], 0.5f + logf(2.0f), 1e-6);
    assert_float_equal(loss[1], logf(3.0f), 1e-6);
    assert_float_equal(corr[0], 1.0f, 0);
    assert_float_equal(corr[1], 1.0f, 0);
    const float expect[6] = {(1.0f / 6) / 2,     (2.0f / 6) / 2, (3.0f / 6 - 1) / 2,
                             (1.0f / 3 - 1) / 2, (1.0f / 3) / 2, (1.0f / 3) / 2};
    assert_true(check_close("dlogits", d, expect, 6, 1e-6, 1e-5));
    backend_release(hb, Z);
    backend_release(hb, Y);
}

static void test_argmax(void **state) {
    float z[8] = {0.1f, 0.9f, 0.9f, -1.0f, /* tie: first maximum wins */ 5.0f, 1.0f, 2.0f, 3.0f};
    int32_t y[2] = {1, 3};
    cm_buf *Z = buf_from(z, sizeof z), *Y = buf_from(y, sizeof y), *P = buf_from(NULL, 2 * sizeof(int32_t));
    cm_buf *C = buf_from(NULL, 2 * sizeof(float));
    assert_int_equal(backend_argmax(hb, Z, Y, P, C, 2, 4), CM_OK);
    int32_t pred[2];
    float corr[2];
    read_back(P, pred, sizeof pred);
    read_back(C, corr, sizeof corr);
    assert_int_equal(pred[0], 1);
    assert_int_equal(pred[1], 0);
    assert_float_equal(corr[0], 1.0f, 0);
    assert_float_equal(corr[1], 0.0f, 0);
    backend_release(hb, Z);
    backend_release(hb, Y);
}

/* Two steps of one optimizer on w (3) with constant gradient g (3); returns w in out. */
static void opt_two_steps(cm_opt_step s, const float *w, const float *g, float *out) {
    cm_buf *W = buf_from(w, 12), *G = buf_from(g, 12), *M = buf_from(NULL, 12), *V = buf_from(NULL, 12);
    int adam = s.kind == CM_OPT_ADAM || s.kind == CM_OPT_ADAMW;
    for (int t = 1; t <= 2; t++) {
        if (adam) { /* the bias corrections the trainer computes for step t */
            s.step_size = (float)(s.lr / (1.0 - pow(s.beta1, t)));
            s.bc2_sqrt = (float)sqrt(1.0 - pow(s.beta2, t));
        }
        assert_int_equal(
            backend_opt_update(hb, W, G, s.kind == CM_OPT_SGD && s.momentum == 0.0f ? NULL : M, adam ? V : NULL, 3, &s),
            CM_OK);
    }
    read_back(W, out, 12);
    backend_release(hb, G), backend_release(hb, M), backend_release(hb, V);
}

static void test_optimizers_two_steps_by_hand(void **state) {
    const float w[3] = {1.0f, -2.0f, 0.0f}, g[3] = {0.5f, -1.0f, 2.0f};
    float out[3];
    /* SGD with momentum, lr 0.1, momentum 0.9, w0 = 1, g = 0.5:
     * step 1: v = 0.5, w = 0.95; step 2: v = 0.9*0.5 + 0.5 = 0.95, w = 0.95 - 0.095 = 0.855 */
    opt_two_steps((cm_opt_step){.kind = CM_OPT_SGD, .lr = 0.1f, .momentum = 0.9f}, w, g, out);
    assert_true(check_close("momentum", out, (float[]){0.855f, -1.71f, -0.58f}, 3, 1e-6, 1e-6));
    /* plain SGD with L2 weight decay 0.1: w1 = 1 - 0.1 (0.5 + 0.1) = 0.94; w2 = 0.94 - 0.1 (0.5 + 0.094) = 0.8806 */
    opt_two_steps((cm_opt_step){.kind = CM_OPT_SGD, .lr = 0.1f, .weight_decay = 0.1f}, w, g, out);
    assert_true(check_close("sgd + weight decay", out, (float[]){0.8806f, -1.7612f, -0.398f}, 3, 1e-6, 1e-6));
    /* Nesterov, lr 0.1, momentum 0.9, w0 = 1, g = 0.5:
     * step 1: m = 0.5, w -= 0.1 (0.5 + 0.45) -> 0.905; step 2: m = 0.95, w -= 0.1 (0.5 + 0.855) -> 0.7695 */
    opt_two_steps((cm_opt_step){.kind = CM_OPT_NESTEROV, .lr = 0.1f, .momentum = 0.9f}, w, g, out);
    assert_true(check_close("nesterov", out, (float[]){0.7695f, -1.539f, -0.922f}, 3, 1e-6, 1e-6));
    /* Adam, lr 0.1, betas (0.9, 0.999): with a constant gradient the bias-corrected ratio
     * m_hat / sqrt(v_hat) is sign(g) at every step, so each step moves w by exactly lr
     * (without the corrections step 1 would move it by 0.316). */
    opt_two_steps((cm_opt_step){.kind = CM_OPT_ADAM, .lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f}, w, g,
                  out);
    assert_true(check_close("adam", out, (float[]){0.8f, -1.8f, -0.2f}, 3, 1e-6, 1e-5));
    /* AdamW, weight decay 0.5: w *= 1 - 0.05 before each Adam step: 1 -> 0.95 - 0.1 = 0.85 ->
     * 0.8075 - 0.1 = 0.7075; w0 = 0, g = 2: -0.1 -> -0.095 - 0.1 = -0.195 */
    opt_two_steps(
        (cm_opt_step){
            .kind = CM_OPT_ADAMW, .lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.5f},
        w, g, out);
    assert_true(check_close("adamw", out, (float[]){0.7075f, -1.61f, -0.195f}, 3, 1e-6, 1e-5));
    /* Adam with L2 weight decay 0.5 (coupled): the gradient changes with w, so the steps are no
     * longer exactly lr; values worked out in float64 from torch.optim.Adam's update rule */
    opt_two_steps(
        (cm_opt_step){
            .kind = CM_OPT_ADAM, .lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.5f},
        w, g, out);
    assert_true(check_close("adam + L2", out, (float[]){0.800166488f, -1.800074f, -0.199926004f}, 3, 1e-6, 1e-5));
}

static void test_gather_and_stage(void **state) {
    uint8_t src[4 * 3] = {0, 1, 2, 10, 20, 30, 255, 128, 64, 7, 8, 9}; /* (4, 3) */
    uint8_t labels[4] = {3, 1, 4, 1};
    int32_t idx[5] = {99, 2, 0, 3, 2}; /* idx_off = 1 skips the first entry */
    cm_buf *S = buf_from(src, sizeof src), *L = buf_from(labels, sizeof labels), *I = buf_from(idx, sizeof idx);
    cm_buf *X = buf_from(NULL, 4 * 3 * sizeof(float)), *Y = buf_from(NULL, 4 * sizeof(int32_t));
    assert_int_equal(backend_gather(hb, S, L, I, 1, 4, 3, 1.0f / 255.0f, X, Y), CM_OK);
    float x[12];
    int32_t y[4];
    read_back(X, x, sizeof x);
    read_back(Y, y, sizeof y);
    const float xe[12] = {1.0f,       128 / 255.0f, 64 / 255.0f, 0,    1 / 255.0f,   2 / 255.0f,
                          7 / 255.0f, 8 / 255.0f,   9 / 255.0f,  1.0f, 128 / 255.0f, 64 / 255.0f};
    const int32_t ye[4] = {4, 3, 1, 4};
    assert_true(check_close("gather", x, xe, 12, 1e-7, 1e-6));
    assert_memory_equal(y, ye, sizeof y);

    cm_buf *R, *RL;
    assert_int_equal(backend_alloc(hb, 6, CM_BUF_STAGING, "rows", &R), CM_OK);
    assert_int_equal(backend_alloc(hb, 2, CM_BUF_STAGING, "labels", &RL), CM_OK);
    int32_t pick[2] = {3, 1};
    assert_int_equal(backend_stage_rows(hb, R, RL, src, labels, pick, 2, 3), CM_OK);
    uint8_t rows[6], rl[2];
    read_back(R, rows, 6);
    read_back(RL, rl, 2);
    const uint8_t re[6] = {7, 8, 9, 10, 20, 30}, rle[2] = {1, 1};
    assert_memory_equal(rows, re, 6);
    assert_memory_equal(rl, rle, 2);
    backend_release(hb, S);
    backend_release(hb, L);
    backend_release(hb, I);
}

static void test_views_and_bounds(void **state) {
    float data[32];
    fill_uniform(data, 32, 4);
    cm_buf *P = buf_from(data, sizeof data), *V;
    assert_int_equal(backend_view(hb, P, 64, 16 * sizeof(float), "view", &V), CM_OK);
    float out[16];
    assert_int_equal(backend_download(hb, V, 0, out, sizeof out), CM_OK);
    assert_memory_equal(out, data + 16, sizeof out);
    assert_int_equal(backend_download(hb, V, 4, out, sizeof out), CM_ERR_USAGE);
    backend_release(hb, V);
    assert_int_equal(backend_view(hb, P, 3, 8, "misaligned", &V), CM_ERR_USAGE);
    assert_int_equal(backend_view(hb, P, 64, 1000, "too long", &V), CM_ERR_USAGE);
    backend_release(hb, P);
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
        cmocka_unit_test(test_rng_reference_values),
        cmocka_unit_test(test_gemm_against_reference),
        cmocka_unit_test(test_gemm_thread_count_independent),
        cmocka_unit_test(test_conv_thread_count_independent),
        cmocka_unit_test(test_conv_hand_values),
        cmocka_unit_test(test_bias_act_and_relu_backward),
        cmocka_unit_test(test_bias_grad),
        cmocka_unit_test(test_softmax_xent_hand_values),
        cmocka_unit_test(test_argmax),
        cmocka_unit_test(test_optimizers_two_steps_by_hand),
        cmocka_unit_test(test_gather_and_stage),
        cmocka_unit_test(test_views_and_bounds),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
