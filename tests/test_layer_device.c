/* test_layer_device.c: the layer operations (ReLU, im2col/col2im, NCHW <-> CNHW with bias, channel
 * sums, max pooling, BatchNorm) on the device backend against the host backend, in the style of
 * ggml's test-backend-ops: a table of cases, each an operation family with its shapes, run on both
 * backends from the same seeded uniform inputs; every output, forward and backward, compared with
 * an explicit atol/rtol (0/0 for pure data movement, max and int32 argmax: exact). Outputs that a
 * contract says are overwritten are pre-filled with garbage. Skips (exit 77) without OpenCL. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backends.h"
#include "check.h"
#include "cl_util.h"
#include "backend.h"

static cm_backend *host, *dev;

typedef enum { OP_RELU, OP_CONV, OP_LAYOUT, OP_CHANNEL_SUM, OP_POOL, OP_BN } op_family;
static const char *const op_names[] = {"relu", "im2col/col2im", "cnhw<->nchw", "channel_sum", "maxpool", "batchnorm"};

enum { F_BIAS = 1, F_RELU = 2 }; /* OP_LAYOUT flags */

/* One row: an operation family and its shapes. Families without a window use (B, C, HW = H * W).
 * atol/rtol apply to the outputs that sum or normalise (col2im, pool backward, channel sums,
 * BatchNorm); outputs that only move or compare values must match exactly. */
typedef struct {
    op_family op;
    int B, C, H, W;
    int K, S, P;             /* convolution / pooling window */
    int flags;               /* OP_LAYOUT: F_BIAS | F_RELU */
    float eps, momentum;     /* OP_BN */
    double atol, rtol;       /* summed outputs */
    double bn_atol, bn_rtol; /* OP_BN backward (dx, dgamma, dbeta) */
} layer_case;

static const layer_case cases[] = {
    /* ReLU forward, and backward through the existing relu_backward */
    {OP_RELU, 1, 1, 1, 1, .flags = 0},
    {OP_RELU, 3, 5, 7, 7, .flags = 0},
    {OP_RELU, 2, 3, 33, 31, .flags = 0},
    /* im2col forward (exact), col2im = its adjoint (sums of <= ceil(K/S)^2 terms) */
    {OP_CONV, 1, 1, 5, 5, 3, 1, 0, .atol = 1e-6, .rtol = 1e-6},
    {OP_CONV, 2, 3, 7, 7, 3, 1, 1, .atol = 1e-6, .rtol = 1e-6},
    {OP_CONV, 3, 5, 8, 9, 3, 2, 1, .atol = 1e-6, .rtol = 1e-6},   /* stride 2, H != W */
    {OP_CONV, 2, 3, 6, 6, 6, 1, 0, .atol = 1e-6, .rtol = 1e-6},   /* kernel = input: 1x1 output */
    {OP_CONV, 1, 5, 7, 7, 5, 2, 2, .atol = 1e-6, .rtol = 1e-6},   /* batch 1, wide padding */
    {OP_CONV, 2, 3, 9, 9, 2, 3, 0, .atol = 1e-6, .rtol = 1e-6},   /* stride > kernel: unread pixels */
    {OP_CONV, 4, 3, 10, 10, 1, 1, 0, .atol = 1e-6, .rtol = 1e-6}, /* 1x1 convolution */
    {OP_CONV, 2, 5, 28, 28, 5, 1, 2, .atol = 1e-5, .rtol = 1e-5}, /* MNIST-sized */
    /* cnhw_to_nchw (the GEMM output with bias, ReLU) and nchw_to_cnhw: exact */
    {OP_LAYOUT, 1, 1, 1, 1, .flags = F_BIAS | F_RELU},
    {OP_LAYOUT, 2, 3, 7, 7, .flags = F_BIAS | F_RELU},
    {OP_LAYOUT, 3, 5, 1, 1, .flags = 0},
    {OP_LAYOUT, 4, 5, 10, 10, .flags = F_BIAS},
    {OP_LAYOUT, 1, 3, 28, 28, .flags = F_RELU},
    /* channel_sum: N = B * HW terms per channel */
    {OP_CHANNEL_SUM, 1, 1, 1, 1, .atol = 1e-6, .rtol = 1e-6},
    {OP_CHANNEL_SUM, 2, 3, 7, 7, .atol = 1e-5, .rtol = 1e-5},
    {OP_CHANNEL_SUM, 128, 3, 1, 1, .atol = 1e-5, .rtol = 1e-5},
    {OP_CHANNEL_SUM, 1, 5, 28, 28, .atol = 1e-4, .rtol = 1e-5},
    {OP_CHANNEL_SUM, 64, 5, 14, 14, .atol = 2e-4, .rtol = 1e-5},
    /* max pooling: y and arg exact (inputs without ties); backward sums overlapping windows */
    {OP_POOL, 1, 1, 2, 2, 2, 2, 0, .atol = 1e-6, .rtol = 1e-6},
    {OP_POOL, 2, 3, 7, 7, 2, 2, 0, .atol = 1e-6, .rtol = 1e-6},   /* k2 s2 leaves a row and column */
    {OP_POOL, 2, 5, 7, 7, 3, 2, 0, .atol = 1e-6, .rtol = 1e-6},   /* overlapping */
    {OP_POOL, 1, 3, 8, 8, 3, 2, 0, .atol = 1e-6, .rtol = 1e-6},   /* overlapping, last row unread */
    {OP_POOL, 3, 5, 6, 6, 6, 6, 0, .atol = 1e-6, .rtol = 1e-6},   /* kernel = input */
    {OP_POOL, 2, 3, 9, 11, 3, 3, 0, .atol = 1e-6, .rtol = 1e-6},  /* H != W */
    {OP_POOL, 1, 3, 5, 5, 3, 1, 0, .atol = 1e-6, .rtol = 1e-6},   /* stride 1: up to 9 windows each */
    {OP_POOL, 2, 5, 28, 28, 2, 2, 0, .atol = 1e-6, .rtol = 1e-6}, /* MNIST-sized */
    /* BatchNorm: train (y, save_mean, save_invstd, running stats), backward, eval */
    {OP_BN, 2, 3, 1, 1, .eps = 1e-5f, .momentum = 0.1f, .atol = 1e-5, .rtol = 1e-5, .bn_atol = 1e-5, .bn_rtol = 1e-4},
    {OP_BN, 16, 5, 1, 1, .eps = 1e-5f, .momentum = 0.1f, .atol = 1e-5, .rtol = 1e-5, .bn_atol = 1e-5, .bn_rtol = 1e-4},
    {OP_BN, 1, 5, 1, 1, .eps = 1e-5f, .momentum = 0.1f, .atol = 1e-5, .rtol = 1e-5, .bn_atol = 1e-5, .bn_rtol = 1e-4},
    {OP_BN, 1, 3, 7, 7, .eps = 1e-5f, .momentum = 0.1f, .atol = 1e-5, .rtol = 1e-5, .bn_atol = 1e-5, .bn_rtol = 1e-4},
    {OP_BN, 4, 5, 7, 7, .eps = 1e-3f, .momentum = 0.3f, .atol = 1e-5, .rtol = 1e-5, .bn_atol = 1e-5, .bn_rtol = 1e-4},
    {OP_BN, 8, 3, 14, 14, .eps = 1e-5f, .momentum = 0.1f, .atol = 1e-5, .rtol = 1e-5, .bn_atol = 1e-4, .bn_rtol = 1e-4},
    {OP_BN, 32, 5, 28, 28, .eps = 1e-5f, .momentum = 0.1f, .atol = 1e-4, .rtol = 1e-4, .bn_atol = 2e-4,
     .bn_rtol = 1e-4},
};
#define NCASES (sizeof cases / sizeof cases[0])

/* ---- buffers and results ------------------------------------------------------------------ */

static cm_buf *bufs[32];
static int nbufs;

static cm_buf *put(cm_backend *be, const void *data, size_t bytes) {
    cm_buf *buf;
    assert_int_equal(backend_alloc(be, bytes, 0, "test", &buf), CM_OK);
    if (data) assert_int_equal(backend_upload(be, buf, 0, data, bytes), CM_OK);
    assert_true(nbufs < (int)(sizeof bufs / sizeof bufs[0]));
    bufs[nbufs++] = buf;
    return buf;
}

/* A buffer of n floats full of garbage: an output that must be overwritten. */
static cm_buf *garbage(cm_backend *be, size_t n) {
    cm_buf *buf = put(be, NULL, 4 * n);
    assert_int_equal(backend_fill(be, buf, 7.25f, n), CM_OK);
    return buf;
}

static void release_all(cm_backend *be) {
    while (nbufs > 0)
        backend_release(be, bufs[--nbufs]);
}

typedef struct {
    const char *name;
    float *v;
    size_t n;
    double atol, rtol;
} output;

typedef struct {
    output o[16];
    int n;
} results;

static void keep(cm_backend *be, results *r, const char *name, cm_buf *buf, size_t n, double atol, double rtol) {
    float *v = malloc(4 * (n ? n : 1));
    assert_int_equal(backend_download(be, buf, 0, v, 4 * n), CM_OK);
    assert_true(r->n < (int)(sizeof r->o / sizeof r->o[0]));
    r->o[r->n++] = (output){name, v, n, atol, rtol};
}

/* int32 outputs are compared exactly, as floats (exact below 2^24). */
static void keep_int(cm_backend *be, results *r, const char *name, cm_buf *buf, size_t n) {
    int32_t *a = malloc(4 * n);
    assert_int_equal(backend_download(be, buf, 0, a, 4 * n), CM_OK);
    float *v = malloc(4 * n);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)a[i];
    free(a);
    assert_true(r->n < (int)(sizeof r->o / sizeof r->o[0]));
    r->o[r->n++] = (output){name, v, n, 0, 0};
}

static float *uniform(size_t n, uint64_t seed) {
    float *v = malloc(4 * (n ? n : 1));
    fill_uniform(v, n, seed);
    return v;
}

/* n distinct values in [-1, 1) in random order: max pooling has no ties to break. */
static float *distinct(size_t n, uint64_t seed) {
    int32_t *perm = malloc(4 * n);
    for (size_t i = 0; i < n; i++)
        perm[i] = (int32_t)i;
    cm_rng rng;
    rng_seed(&rng, seed, 5);
    rng_shuffle(&rng, perm, (int)n);
    float *v = malloc(4 * n);
    for (size_t i = 0; i < n; i++)
        v[i] = 2.0f * (float)perm[i] / (float)n - 1.0f;
    free(perm);
    return v;
}

static cm_window window_of(const layer_case *c) {
    cm_window w = {c->B, c->C, c->H, c->W, c->K, c->S, c->P, 0, 0};
    assert_int_equal(window_resolve(&w, "test"), CM_OK);
    return w;
}

/* ---- one runner per family: same inputs on any backend, outputs into r ---------------------- */

static void run_relu(cm_backend *be, const layer_case *c, results *r) {
    size_t n = (size_t)c->B * c->C * c->H * c->W;
    float *x = uniform(n, 1), *dy = uniform(n, 2);
    cm_buf *X = put(be, x, 4 * n), *D = put(be, dy, 4 * n);
    assert_int_equal(backend_relu(be, X, n), CM_OK);
    keep(be, r, "relu y", X, n, 0, 0);
    assert_int_equal(backend_relu_backward(be, D, X, n, 1.0f), CM_OK);
    keep(be, r, "relu_backward dx", D, n, 0, 0);
    free(x), free(dy);
}

static void run_conv(cm_backend *be, const layer_case *c, results *r) {
    cm_window w = window_of(c);
    size_t nx = (size_t)c->B * c->C * c->H * c->W;
    size_t ncol = (size_t)c->C * c->K * c->K * c->B * w.out_h * w.out_w;
    float *x = uniform(nx, 3), *dcol = uniform(ncol, 4);
    cm_buf *X = put(be, x, 4 * nx), *COL = garbage(be, ncol);
    assert_int_equal(backend_im2col(be, X, COL, &w), CM_OK);
    keep(be, r, "im2col col", COL, ncol, 0, 0);
    cm_buf *DCOL = put(be, dcol, 4 * ncol), *DX = garbage(be, nx);
    assert_int_equal(backend_col2im(be, DCOL, DX, &w), CM_OK);
    keep(be, r, "col2im dx", DX, nx, c->atol, c->rtol);
    free(x), free(dcol);
}

static void run_layout(cm_backend *be, const layer_case *c, results *r) {
    int hw = c->H * c->W;
    size_t n = (size_t)c->B * c->C * hw;
    float *src = uniform(n, 5), *bias = uniform((size_t)c->C, 6);
    cm_buf *S = put(be, src, 4 * n), *BI = (c->flags & F_BIAS) ? put(be, bias, 4 * (size_t)c->C) : NULL;
    cm_buf *Y = garbage(be, n), *T = garbage(be, n);
    assert_int_equal(backend_cnhw_to_nchw(be, S, BI, Y, c->B, c->C, hw, (c->flags & F_RELU) != 0), CM_OK);
    keep(be, r, "cnhw_to_nchw y", Y, n, 0, 0);
    assert_int_equal(backend_nchw_to_cnhw(be, S, T, c->B, c->C, hw), CM_OK);
    keep(be, r, "nchw_to_cnhw dst", T, n, 0, 0);
    free(src), free(bias);
}

static void run_channel_sum(cm_backend *be, const layer_case *c, results *r) {
    int hw = c->H * c->W;
    size_t n = (size_t)c->B * c->C * hw;
    float *x = uniform(n, 7);
    cm_buf *X = put(be, x, 4 * n), *O = garbage(be, (size_t)c->C);
    assert_int_equal(backend_channel_sum(be, X, O, c->B, c->C, hw), CM_OK);
    keep(be, r, "channel_sum out", O, (size_t)c->C, c->atol, c->rtol);
    free(x);
}

static void run_pool(cm_backend *be, const layer_case *c, results *r) {
    cm_window w = window_of(c);
    size_t nx = (size_t)c->B * c->C * c->H * c->W, ny = (size_t)c->B * c->C * w.out_h * w.out_w;
    float *x = distinct(nx, 8), *dy = uniform(ny, 9);
    cm_buf *X = put(be, x, 4 * nx), *Y = garbage(be, ny), *A = garbage(be, ny);
    assert_int_equal(backend_maxpool_forward(be, X, Y, A, &w), CM_OK);
    keep(be, r, "maxpool y", Y, ny, 0, 0);
    keep_int(be, r, "maxpool arg (int32)", A, ny);
    cm_buf *DY = put(be, dy, 4 * ny), *DX = garbage(be, nx);
    assert_int_equal(backend_maxpool_backward(be, DY, A, DX, &w), CM_OK);
    keep(be, r, "maxpool_backward dx", DX, nx, c->atol, c->rtol);
    free(x), free(dy);
}

static void run_bn(cm_backend *be, const layer_case *c, results *r) {
    cm_bn_shape s = {c->B, c->C, c->H * c->W, c->eps, c->momentum};
    size_t n = (size_t)c->B * c->C * s.hw, nc = (size_t)c->C;
    float *x = uniform(n, 10), *dy = uniform(n, 11), *gamma = uniform(nc, 12), *beta = uniform(nc, 13);
    float *rm = uniform(nc, 14), *rv = uniform(nc, 15);
    for (size_t i = 0; i < n; i++)
        x[i] = 2.0f * x[i] + 1.5f; /* an offset mean: the variance must not cancel */
    for (size_t i = 0; i < nc; i++)
        rv[i] = 0.5f + fabsf(rv[i]);
    cm_buf *X = put(be, x, 4 * n), *Y = garbage(be, n), *G = put(be, gamma, 4 * nc), *BE = put(be, beta, 4 * nc);
    cm_buf *RM = put(be, rm, 4 * nc), *RV = put(be, rv, 4 * nc), *SM = garbage(be, nc), *SI = garbage(be, nc);
    assert_int_equal(backend_bn_forward(be, X, Y, G, BE, RM, RV, SM, SI, &s, true), CM_OK);
    keep(be, r, "bn train y", Y, n, c->atol, c->rtol);
    keep(be, r, "bn save_mean", SM, nc, c->atol, c->rtol);
    keep(be, r, "bn save_invstd", SI, nc, c->atol, c->rtol);
    keep(be, r, "bn running_mean", RM, nc, c->atol, c->rtol);
    keep(be, r, "bn running_var", RV, nc, c->atol, c->rtol);
    cm_buf *DY = put(be, dy, 4 * n), *DX = garbage(be, n), *DG = garbage(be, nc), *DB = garbage(be, nc);
    assert_int_equal(backend_bn_backward(be, DY, X, G, SM, SI, DX, DG, DB, &s), CM_OK);
    keep(be, r, "bn_backward dx", DX, n, c->bn_atol, c->bn_rtol);
    keep(be, r, "bn_backward dgamma", DG, nc, c->bn_atol, c->bn_rtol);
    keep(be, r, "bn_backward dbeta", DB, nc, c->bn_atol, c->bn_rtol);
    /* eval, from the original running statistics; save_* must stay as they were (garbage) */
    cm_buf *RM0 = put(be, rm, 4 * nc), *RV0 = put(be, rv, 4 * nc), *Y2 = garbage(be, n);
    cm_buf *SM2 = garbage(be, nc), *SI2 = garbage(be, nc);
    assert_int_equal(backend_bn_forward(be, X, Y2, G, BE, RM0, RV0, SM2, SI2, &s, false), CM_OK);
    keep(be, r, "bn eval y", Y2, n, c->atol, c->rtol);
    keep(be, r, "bn eval running_var (untouched)", RV0, nc, 0, 0);
    keep(be, r, "bn eval save_invstd (untouched)", SI2, nc, 0, 0);
    free(x), free(dy), free(gamma), free(beta), free(rm), free(rv);
}

static void run_case(cm_backend *be, const layer_case *c, results *r) {
    static void (*const run[])(cm_backend *, const layer_case *, results *) = {run_relu,        run_conv, run_layout,
                                                                               run_channel_sum, run_pool, run_bn};
    r->n = 0;
    run[c->op](be, c, r);
    release_all(be);
}

static void describe(const layer_case *c, char *out, size_t size) {
    int k = snprintf(out, size, "%s B%d C%d %dx%d", op_names[c->op], c->B, c->C, c->H, c->W);
    if (c->op == OP_CONV || c->op == OP_POOL)
        snprintf(out + k, size - (size_t)k, " k%d s%d p%d", c->K, c->S, c->P);
    else if (c->op == OP_LAYOUT)
        snprintf(out + k, size - (size_t)k, "%s%s", c->flags & F_BIAS ? " bias" : "", c->flags & F_RELU ? " relu" : "");
    else if (c->op == OP_BN)
        snprintf(out + k, size - (size_t)k, " eps %g momentum %g", (double)c->eps, (double)c->momentum);
}

static void test_layer_ops_device_vs_host(void **state) {
    int failed = 0;
    for (size_t i = 0; i < NCASES; i++) {
        char name[128], what[192];
        describe(&cases[i], name, sizeof name);
        results ref, got;
        run_case(host, &cases[i], &ref);
        run_case(dev, &cases[i], &got);
        int ok = 1;
        for (int j = 0; j < ref.n; j++) {
            snprintf(what, sizeof what, "%s: %s", name, ref.o[j].name);
            ok &= check_close(what, got.o[j].v, ref.o[j].v, ref.o[j].n, ref.o[j].atol, ref.o[j].rtol);
            free(ref.o[j].v), free(got.o[j].v);
        }
        printf("%-4s %s\n", ok ? "ok" : "FAIL", name);
        failed += !ok;
    }
    assert_int_equal(failed, 0);
}

/* The device checks sizes and the window before it enqueues anything. */
static void test_layer_errors(void **state) {
    cm_window w = {2, 3, 7, 7, 3, 2, 0, 0, 0};
    assert_int_equal(window_resolve(&w, "test"), CM_OK);
    cm_buf *x = put(dev, NULL, 4 * 2 * 3 * 7 * 7), *small = put(dev, NULL, 16);
    assert_int_equal(backend_im2col(dev, x, small, &w), CM_ERR_USAGE);
    printf("im2col into a small buffer: %s\n", cm_last_error());
    cm_window bad = w;
    bad.out_h = 4;
    assert_int_equal(backend_maxpool_forward(dev, x, x, x, &bad), CM_ERR_USAGE);
    printf("unresolved window: %s\n", cm_last_error());
    release_all(dev);
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
        cmocka_unit_test(test_layer_ops_device_vs_host),
        cmocka_unit_test(test_layer_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
