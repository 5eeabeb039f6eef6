/* test_layer_ops_pool_bn.c: the reference backend's max pooling and BatchNorm against
 * hand-worked values, float64 loops written from the definitions, and central differences in
 * float64 of sum(w * op(x)) for the backward operations. */
#include <math.h>
#include <setjmp.h>
#include <string.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "layer_util.h"

static cm_backend *hb;

/* ---- max pooling -------------------------------------------------------------------------- */
/* maxpool_forward of x (1, 1, h, w) against y and arg; then maxpool_backward of dy against dx. */
static void pool_expect(const cm_window *w, const float *x, const float *y, const int32_t *arg, const float *dy,
                        const float *dx) {
    const size_t nx = (size_t)w->height * w->width, ny = (size_t)w->out_h * w->out_w;
    cm_buf *X = lt_buf(hb, x, nx * 4), *Y = lt_filled(hb, ny, NAN), *A = lt_filled(hb, ny, NAN);
    cm_buf *DY = lt_buf(hb, dy, ny * 4), *DX = lt_filled(hb, nx, NAN);
    assert_int_equal(backend_maxpool_forward(hb, X, Y, A, w), CM_OK);
    assert_int_equal(backend_maxpool_backward(hb, DY, A, DX, w), CM_OK);
    float *got = lt_floats(nx);
    int32_t *got_arg = calloc(ny, sizeof(int32_t));
    lt_get(hb, Y, got, ny * 4);
    assert_true(check_close("maxpool y", got, y, ny, 0, 0));
    lt_get(hb, A, got_arg, ny * 4);
    assert_memory_equal(got_arg, arg, ny * 4);
    lt_get(hb, DX, got, nx * 4);
    assert_true(check_close("maxpool dx", got, dx, nx, 0, 0));
    free(got), free(got_arg);
    backend_release(hb, X), backend_release(hb, Y), backend_release(hb, A), backend_release(hb, DY);
    backend_release(hb, DX);
}

static void test_maxpool_hand(void **state) {
    /* 4x4, k 2, s 2: ties pick the first maximum in row-major order */
    const float x4[16] = {1, 3, 2, 2, 3, 0, 2, 2, -1, -5, 0, 9, -2, -1, 9, 9};
    cm_window w = lt_window(1, 1, 4, 4, 2, 2, 0);
    pool_expect(&w, x4, (const float[]){3, 2, -1, 9}, (const int32_t[]){1, 2, 8, 11}, (const float[]){1, 2, 3, 4},
                (const float[]){0, 1, 2, 0, 0, 0, 0, 0, 3, 0, 0, 4, 0, 0, 0, 0});
    /* 7x7, k 2, s 2 -> 3x3: the last row and column are never read (1000 there is ignored);
     * x = 7 i + j grows, so each window's maximum is its bottom-right element */
    float x7[49], dx7[49] = {0};
    for (int i = 0; i < 49; i++)
        x7[i] = (float)i;
    x7[6] = x7[42] = x7[48] = 1000.0f;
    w = lt_window(1, 1, 7, 7, 2, 2, 0);
    assert_int_equal(w.out_h * 10 + w.out_w, 33);
    const int32_t arg7[9] = {8, 10, 12, 22, 24, 26, 36, 38, 40};
    float y7[9], dy7[9];
    for (int k = 0; k < 9; k++)
        y7[k] = (float)arg7[k], dy7[k] = (float)(k + 1), dx7[arg7[k]] = (float)(k + 1);
    pool_expect(&w, x7, y7, arg7, dy7, dx7);
    /* 5x5, k 3, s 2 -> 2x2, overlapping: the centre is every window's maximum, so its gradient
     * is the sum of all four */
    float x5[25], dx5[25] = {0};
    for (int i = 0; i < 25; i++)
        x5[i] = -1.0f - (float)i;
    x5[12] = 5.0f;
    dx5[12] = 10.0f;
    w = lt_window(1, 1, 5, 5, 3, 2, 0);
    pool_expect(&w, x5, (const float[]){5, 5, 5, 5}, (const int32_t[]){12, 12, 12, 12}, (const float[]){1, 2, 3, 4},
                dx5);
    /* all equal: every window picks its top-left element */
    for (int i = 0; i < 25; i++)
        x5[i] = 0.5f, dx5[i] = 0.0f;
    dx5[0] = 1, dx5[2] = 2, dx5[10] = 3, dx5[12] = 4;
    pool_expect(&w, x5, (const float[]){0.5f, 0.5f, 0.5f, 0.5f}, (const int32_t[]){0, 2, 10, 12},
                (const float[]){1, 2, 3, 4}, dx5);
}

/* Max pooling in float64 from the definition. */
static void maxpool_ref(const cm_window *w, const double *x, double *y) {
    for (int p = 0; p < w->batch * w->channels; p++)
        for (int oh = 0; oh < w->out_h; oh++)
            for (int ow = 0; ow < w->out_w; ow++) {
                double m = -INFINITY;
                for (int i = 0; i < w->kernel; i++)
                    for (int j = 0; j < w->kernel; j++)
                        m = fmax(m, x[((size_t)p * w->height + oh * w->stride + i) * w->width + ow * w->stride + j]);
                y[((size_t)p * w->out_h + oh) * w->out_w + ow] = m;
            }
}

/* sum(wt * maxpool(x)) in float64. */
static double maxpool_loss(const cm_window *w, const double *x, const float *wt, double *y, size_t ny) {
    maxpool_ref(w, x, y);
    double s = 0.0;
    for (size_t k = 0; k < ny; k++)
        s += wt[k] * y[k];
    return s;
}

/* Distinct values (a shuffled ramp, gaps 1/n), so the maximum of every window is unique. */
static void fill_distinct(float *x, size_t n, uint64_t seed) {
    int32_t *perm = calloc(n, sizeof(int32_t));
    for (size_t i = 0; i < n; i++)
        perm[i] = (int32_t)i;
    cm_rng r;
    rng_seed(&r, seed, 3);
    rng_shuffle(&r, perm, (int)n);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)perm[i] / (float)n - 0.5f;
    free(perm);
}

static void maxpool_random_case(const cm_window *w, uint64_t seed) {
    const size_t nx = (size_t)w->batch * w->channels * w->height * w->width;
    const size_t ny = (size_t)w->batch * w->channels * w->out_h * w->out_w;
    float *x = lt_floats(nx), *wt = lt_floats(ny), *got = lt_floats(nx), *ref = lt_floats(nx);
    double *xd = calloc(nx, sizeof(double)), *yd = calloc(ny, sizeof(double));
    fill_distinct(x, nx, seed), fill_uniform(wt, ny, seed + 1);
    for (size_t i = 0; i < nx; i++)
        xd[i] = x[i];
    cm_buf *X = lt_buf(hb, x, nx * 4), *Y = lt_filled(hb, ny, NAN), *A = lt_filled(hb, ny, NAN);
    cm_buf *DY = lt_buf(hb, wt, ny * 4), *DX = lt_filled(hb, nx, NAN);
    assert_int_equal(backend_maxpool_forward(hb, X, Y, A, w), CM_OK);
    assert_int_equal(backend_maxpool_backward(hb, DY, A, DX, w), CM_OK);
    maxpool_ref(w, xd, yd);
    for (size_t k = 0; k < ny; k++)
        ref[k] = (float)yd[k];
    lt_get(hb, Y, got, ny * 4);
    assert_true(check_close("maxpool forward", got, ref, ny, 0, 0));
    const double h = 1e-6; /* well inside the 1/nx gaps between values */
    for (size_t i = 0; i < nx; i++) {
        xd[i] = x[i] + h;
        const double up = maxpool_loss(w, xd, wt, yd, ny);
        xd[i] = x[i] - h;
        const double down = maxpool_loss(w, xd, wt, yd, ny);
        xd[i] = x[i];
        ref[i] = (float)((up - down) / (2.0 * h));
    }
    lt_get(hb, DX, got, nx * 4);
    assert_true(check_close("maxpool dx vs central differences", got, ref, nx, 1e-6, 1e-6));
    free(x), free(wt), free(got), free(ref), free(xd), free(yd);
    backend_release(hb, X), backend_release(hb, Y), backend_release(hb, A), backend_release(hb, DY);
    backend_release(hb, DX);
}

static void test_maxpool_random_and_gradient(void **state) {
    const int cases[][6] = {
        {2, 3, 7, 7, 2, 2}, /* windows do not divide the input */
        {1, 1, 5, 5, 3, 2}, /* overlapping */
        {2, 2, 6, 6, 3, 3}, /* tiling */
        {1, 3, 4, 4, 4, 1}, /* kernel equal to the input */
        {3, 1, 9, 8, 3, 1}, /* stride 1, non-square */
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const int *c = cases[t];
        cm_window w = lt_window(c[0], c[1], c[2], c[3], c[4], c[5], 0);
        maxpool_random_case(&w, 700 + t);
    }
}

static void test_maxpool_reject_bad_arguments(void **state) {
    cm_window w = lt_window(2, 3, 7, 7, 2, 2, 0); /* y (2, 3, 3, 3) */
    cm_buf *X = lt_filled(hb, 294, 1.0f), *Y = lt_filled(hb, 54, 0.0f), *A = lt_filled(hb, 54, 0.0f);
    cm_buf *SHORT = lt_filled(hb, 53, 0.0f);
    assert_int_equal(backend_maxpool_forward(hb, X, SHORT, A, &w), CM_ERR_USAGE);
    assert_int_equal(backend_maxpool_forward(hb, X, Y, SHORT, &w), CM_ERR_USAGE);
    assert_int_equal(backend_maxpool_forward(hb, SHORT, Y, A, &w), CM_ERR_USAGE);
    assert_int_equal(backend_maxpool_forward(hb, X, Y, A, &w), CM_OK);
    assert_int_equal(backend_maxpool_backward(hb, Y, A, SHORT, &w), CM_ERR_USAGE);
    const int32_t bad = 49; /* one past its 7x7 plane */
    assert_int_equal(backend_upload(hb, A, 5 * 4, &bad, 4), CM_OK);
    assert_int_equal(backend_maxpool_backward(hb, Y, A, X, &w), CM_ERR_USAGE);
    assert_non_null(strstr(cm_last_error(), "arg[5] = 49"));
    const int32_t zero = 0, negative = -1; /* in the last plane, checked on whichever thread has it */
    assert_int_equal(backend_upload(hb, A, 5 * 4, &zero, 4), CM_OK);
    assert_int_equal(backend_upload(hb, A, 50 * 4, &negative, 4), CM_OK);
    assert_int_equal(backend_maxpool_backward(hb, Y, A, X, &w), CM_ERR_USAGE);
    assert_non_null(strstr(cm_last_error(), "arg[50] = -1"));
    cm_window padded = lt_window(2, 3, 7, 7, 2, 2, 1);
    assert_int_equal(backend_maxpool_forward(hb, X, X, X, &padded), CM_ERR_USAGE);
    backend_release(hb, X), backend_release(hb, Y), backend_release(hb, A), backend_release(hb, SHORT);
}

/* ---- BatchNorm ---------------------------------------------------------------------------- */
/* Textbook training-mode BatchNorm in float64 over x (B, C, HW): y, and each channel's mean
 * and biased variance. */
static void bn_ref(const cm_bn_shape *s, const double *x, const double *g, const double *be, double *y, double *mean,
                   double *var) {
    const int B = s->batch, C = s->channels, HW = s->hw;
    for (int c = 0; c < C; c++) {
        double m = 0.0, v = 0.0;
        for (int b = 0; b < B; b++)
            for (int k = 0; k < HW; k++)
                m += x[(b * C + c) * HW + k];
        m /= B * HW;
        for (int b = 0; b < B; b++)
            for (int k = 0; k < HW; k++)
                v += (x[(b * C + c) * HW + k] - m) * (x[(b * C + c) * HW + k] - m);
        v /= B * HW;
        for (int b = 0; b < B; b++)
            for (int k = 0; k < HW; k++)
                y[(b * C + c) * HW + k] = g[c] * (x[(b * C + c) * HW + k] - m) / sqrt(v + s->eps) + be[c];
        if (mean) mean[c] = m, var[c] = v;
    }
}

/* A set of BatchNorm buffers on the backend: x, y (B, C, HW); the rest (C). */
typedef struct {
    cm_buf *x, *y, *gamma, *beta, *rm, *rv, *smean, *sinv, *dy, *dx, *dgamma, *dbeta;
} bn_bufs;

static bn_bufs bn_alloc(const cm_bn_shape *s, const float *x, const float *g, const float *be, const float *rm,
                        const float *rv) {
    const size_t n = (size_t)s->batch * s->channels * s->hw, c = (size_t)s->channels;
    bn_bufs t = {lt_buf(hb, x, n * 4),   lt_filled(hb, n, NAN), lt_buf(hb, g, c * 4),  lt_buf(hb, be, c * 4),
                 lt_buf(hb, rm, c * 4),  lt_buf(hb, rv, c * 4), lt_filled(hb, c, NAN), lt_filled(hb, c, NAN),
                 lt_filled(hb, n, 0.0f), lt_filled(hb, n, NAN), lt_filled(hb, c, NAN), lt_filled(hb, c, NAN)};
    return t;
}

static void bn_release(bn_bufs *t) {
    cm_buf *all[] = {t->x, t->y, t->gamma, t->beta, t->rm, t->rv, t->smean, t->sinv, t->dy, t->dx, t->dgamma, t->dbeta};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        backend_release(hb, all[i]);
}

static cm_status bn_train(bn_bufs *t, const cm_bn_shape *s) {
    return backend_bn_forward(hb, t->x, t->y, t->gamma, t->beta, t->rm, t->rv, t->smean, t->sinv, s, true);
}

static void test_bn_hand(void **state) {
    /* x (B 2, C 2, HW 2): channel 0 holds 1, 3, 1, 3 (mean 2, var 1); channel 1 holds 0, 0, 4, 4
     * (mean 2, var 4). eps 0, so invstd is exactly 1 and 0.5. gamma (2, -1), beta (0.5, 0):
     * channel 0: y = 2 (x - 2) + 0.5 = -1.5, 2.5; channel 1: y = -(x - 2) / 2 = 1, 1, -1, -1.
     * Running stats from (0, 1), momentum 0.1: mean 0.2; var 0.9 + 0.1 var 4/3. */
    const cm_bn_shape s = {2, 2, 2, 0.0f, 0.1f, false};
    const float x[8] = {1, 3, 0, 0, 1, 3, 4, 4}, g[2] = {2, -1}, be[2] = {0.5f, 0}, rm[2] = {0, 0}, rv[2] = {1, 1};
    bn_bufs t = bn_alloc(&s, x, g, be, rm, rv);
    assert_int_equal(bn_train(&t, &s), CM_OK);
    float y[8], c2[2];
    lt_get(hb, t.y, y, sizeof y);
    assert_true(check_close("bn y", y, (const float[]){-1.5f, 2.5f, 1, 1, -1.5f, 2.5f, -1, -1}, 8, 1e-6, 0));
    lt_get(hb, t.smean, c2, 8), assert_true(check_close("bn save_mean", c2, (const float[]){2, 2}, 2, 0, 0));
    lt_get(hb, t.sinv, c2, 8), assert_true(check_close("bn save_invstd", c2, (const float[]){1, 0.5f}, 2, 0, 0));
    lt_get(hb, t.rm, c2, 8), assert_true(check_close("bn running_mean", c2, (const float[]){0.2f, 0.2f}, 2, 1e-7, 0));
    lt_get(hb, t.rv, c2, 8);
    assert_true(check_close("bn running_var", c2, (const float[]){0.9f + 0.4f / 3, 0.9f + 1.6f / 3}, 2, 1e-6, 0));
    /* backward with dy = (1, 0 | 0, 0 | 0, 0 | 0, 0): channel 0 has N 4, xhat (-1, 1, -1, 1):
     * dbeta = 1, dgamma = -1; dx = 2 * 1 * (dy - 1/4 + xhat / 4) = (1, 0, -1, 0) on channel 0 */
    assert_int_equal(backend_upload(hb, t.dy, 0, (const float[]){1}, 4), CM_OK);
    assert_int_equal(backend_bn_backward(hb, t.dy, t.x, t.gamma, t.smean, t.sinv, t.dx, t.dgamma, t.dbeta, &s), CM_OK);
    lt_get(hb, t.dx, y, sizeof y);
    assert_true(check_close("bn dx", y, (const float[]){1, 0, 0, 0, -1, 0, 0, 0}, 8, 1e-6, 0));
    lt_get(hb, t.dgamma, c2, 8), assert_true(check_close("bn dgamma", c2, (const float[]){-1, 0}, 2, 1e-6, 0));
    lt_get(hb, t.dbeta, c2, 8), assert_true(check_close("bn dbeta", c2, (const float[]){1, 0}, 2, 1e-6, 0));
    bn_release(&t);
    /* N = 1 (BatchNorm1d, batch 1): var 0, y = beta, running_var takes var itself (0) */
    const cm_bn_shape one = {1, 2, 1, 1e-5f, 0.5f, false};
    t = bn_alloc(&one, (const float[]){3, -7}, g, be, (const float[]){1, 1}, (const float[]){2, 2});
    assert_int_equal(bn_train(&t, &one), CM_OK);
    lt_get(hb, t.y, c2, 8), assert_true(check_close("bn N=1 y", c2, be, 2, 0, 0));
    lt_get(hb, t.rm, c2, 8), assert_true(check_close("bn N=1 running_mean", c2, (const float[]){2, -3}, 2, 0, 0));
    lt_get(hb, t.rv, c2, 8), assert_true(check_close("bn N=1 running_var", c2, (const float[]){1, 1}, 2, 0, 0));
    bn_release(&t);
}

/* Training forward against bn_ref and the running-stat rule; then eval mode with the updated
 * running stats, which must write y alone. */
static void bn_forward_case(const cm_bn_shape *s, uint64_t seed) {
    const int C = s->channels;
    const size_t n = (size_t)s->batch * C * s->hw;
    const double N = (double)s->batch * s->hw;
    float *x = lt_floats(n), *got = lt_floats(n), *ref = lt_floats(n), *g = lt_floats(C), *be = lt_floats(C);
    float *rm = lt_floats(C), *rv = lt_floats(C), *c1 = lt_floats(C), *c2 = lt_floats(C);
    double *xd = calloc(n, sizeof(double)), *yd = calloc(n, sizeof(double)), *gd = calloc(C, sizeof(double));
    double *bd = calloc(C, sizeof(double)), *mean = calloc(C, sizeof(double)), *var = calloc(C, sizeof(double));
    fill_uniform(x, n, seed), fill_uniform(g, C, seed + 1), fill_uniform(be, C, seed + 2);
    fill_uniform(rm, C, seed + 3), fill_uniform(rv, C, seed + 4);
    for (size_t i = 0; i < n; i++)
        x[i] = 2.0f * x[i] + 0.7f, xd[i] = x[i]; /* an offset mean and a spread other than 1 */
    for (int c = 0; c < C; c++)
        rv[c] = 0.5f + fabsf(rv[c]), gd[c] = g[c], bd[c] = be[c];
    bn_bufs t = bn_alloc(s, x, g, be, rm, rv);
    assert_int_equal(bn_train(&t, s), CM_OK);
    bn_ref(s, xd, gd, bd, yd, mean, var);
    lt_get(hb, t.y, got, n * 4);
    for (size_t i = 0; i < n; i++)
        ref[i] = (float)yd[i];
    assert_true(check_close("bn train y", got, ref, n, 1e-5, 1e-5));
    for (int c = 0; c < C; c++) { /* save_mean, then save_invstd */
        ref[c] = (float)mean[c], ref[C + c] = (float)(1.0 / sqrt(var[c] + s->eps));
        c1[c] = (float)(0.9 * rm[c] + 0.1 * mean[c]), c2[c] = (float)(0.9 * rv[c] + 0.1 * var[c] * N / (N - 1.0));
    }
    lt_get(hb, t.smean, got, C * 4u), assert_true(check_close("bn save_mean", got, ref, C, 1e-6, 1e-6));
    lt_get(hb, t.sinv, got, C * 4u), assert_true(check_close("bn save_invstd", got, ref + C, C, 1e-6, 1e-6));
    lt_get(hb, t.rm, rm, C * 4u), assert_true(check_close("bn running_mean", rm, c1, C, 1e-6, 1e-6));
    lt_get(hb, t.rv, rv, C * 4u), assert_true(check_close("bn running_var", rv, c2, C, 1e-6, 1e-6));
    /* eval: y from the running stats; running stats and save_* are left as they are */
    assert_int_equal(backend_fill(hb, t.smean, 7.0f, C), CM_OK);
    assert_int_equal(backend_fill(hb, t.sinv, 7.0f, C), CM_OK);
    assert_int_equal(backend_bn_forward(hb, t.x, t.y, t.gamma, t.beta, t.rm, t.rv, t.smean, t.sinv, s, false), CM_OK);
    for (size_t i = 0; i < n; i++) {
        const int c = (int)(i / s->hw % C);
        ref[i] = (float)(gd[c] * (xd[i] - rm[c]) / sqrt((double)rv[c] + s->eps) + bd[c]);
    }
    lt_get(hb, t.y, got, n * 4), assert_true(check_close("bn eval y", got, ref, n, 1e-5, 1e-5));
    lt_get(hb, t.rm, c1, C * 4u), assert_memory_equal(c1, rm, C * 4u);
    lt_get(hb, t.rv, c1, C * 4u), assert_memory_equal(c1, rv, C * 4u);
    for (int c = 0; c < C; c++)
        ref[c] = 7.0f;
    lt_get(hb, t.smean, c1, C * 4u), assert_memory_equal(c1, ref, C * 4u);
    lt_get(hb, t.sinv, c1, C * 4u), assert_memory_equal(c1, ref, C * 4u);
    /* eval needs no save buffers */
    assert_int_equal(backend_bn_forward(hb, t.x, t.y, t.gamma, t.beta, t.rm, t.rv, NULL, NULL, s, false), CM_OK);
    bn_release(&t);
    free(x), free(got), free(ref), free(g), free(be), free(rm), free(rv), free(c1), free(c2);
    free(xd), free(yd), free(gd), free(bd), free(mean), free(var);
}

static const cm_bn_shape bn_cases[] = {
    {8, 3, 1, 1e-5f, 0.1f, false},  /* BatchNorm1d */
    {4, 5, 9, 1e-5f, 0.1f, false},  /* BatchNorm2d, odd channels */
    {1, 3, 16, 1e-5f, 0.1f, false}, /* batch 1 */
    {2, 1, 49, 1e-3f, 0.1f, false}, /* one channel, larger eps */
    {5, 2, 3, 1e-5f, 0.1f, false},
};
#define N_BN_CASES (sizeof bn_cases / sizeof bn_cases[0])

static void test_bn_forward_random(void **state) {
    for (size_t i = 0; i < N_BN_CASES; i++)
        bn_forward_case(&bn_cases[i], 800 + 10 * i);
}

/* sum(wt * bn(x; g, be)) in float64. */
static double bn_loss(const cm_bn_shape *s, const double *x, const double *g, const double *be, const float *wt,
                      double *y) {
    bn_ref(s, x, g, be, y, NULL, NULL);
    double l = 0.0;
    for (size_t i = 0; i < (size_t)s->batch * s->channels * s->hw; i++)
        l += wt[i] * y[i];
    return l;
}

/* Central difference of bn_loss with respect to v[i] (one of x, g, be). */
static float central(const cm_bn_shape *s, double *x, double *g, double *be, const float *wt, double *y, double *v) {
    const double h = 1e-6, v0 = *v;
    *v = v0 + h;
    const double up = bn_loss(s, x, g, be, wt, y);
    *v = v0 - h;
    const double down = bn_loss(s, x, g, be, wt, y);
    *v = v0;
    return (float)((up - down) / (2.0 * h));
}

static void bn_backward_case(const cm_bn_shape *s, uint64_t seed) {
    const int C = s->channels;
    const size_t n = (size_t)s->batch * C * s->hw;
    float *x = lt_floats(n), *wt = lt_floats(n), *g = lt_floats(C), *be = lt_floats(C), *ones = lt_floats(C);
    float *got = lt_floats(n), *ref = lt_floats(n);
    double *xd = calloc(n, sizeof(double)), *yd = calloc(n, sizeof(double)), *gd = calloc(C, sizeof(double));
    double *bd = calloc(C, sizeof(double));
    fill_uniform(x, n, seed), fill_uniform(wt, n, seed + 1), fill_uniform(g, C, seed + 2);
    fill_uniform(be, C, seed + 3);
    for (size_t i = 0; i < n; i++)
        x[i] = 2.0f * x[i] + 0.7f, xd[i] = x[i];
    for (int c = 0; c < C; c++)
        gd[c] = g[c], bd[c] = be[c], ones[c] = 1.0f;
    bn_bufs t = bn_alloc(s, x, g, be, ones, ones);
    assert_int_equal(bn_train(&t, s), CM_OK);
    assert_int_equal(backend_upload(hb, t.dy, 0, wt, n * 4), CM_OK);
    assert_int_equal(backend_bn_backward(hb, t.dy, t.x, t.gamma, t.smean, t.sinv, t.dx, t.dgamma, t.dbeta, s), CM_OK);
    for (size_t i = 0; i < n; i++)
        ref[i] = central(s, xd, gd, bd, wt, yd, &xd[i]);
    lt_get(hb, t.dx, got, n * 4), assert_true(check_close("bn dx vs central differences", got, ref, n, 2e-5, 1e-4));
    for (int c = 0; c < C; c++)
        ref[c] = central(s, xd, gd, bd, wt, yd, &gd[c]);
    lt_get(hb, t.dgamma, got, C * 4u),
        assert_true(check_close("bn dgamma vs central differences", got, ref, C, 2e-5, 1e-4));
    for (int c = 0; c < C; c++)
        ref[c] = central(s, xd, gd, bd, wt, yd, &bd[c]);
    lt_get(hb, t.dbeta, got, C * 4u),
        assert_true(check_close("bn dbeta vs central differences", got, ref, C, 2e-5, 1e-4));
    bn_release(&t);
    free(x), free(wt), free(g), free(be), free(ones), free(got), free(ref), free(xd), free(yd), free(gd), free(bd);
}

static void test_bn_backward_gradient(void **state) {
    for (size_t i = 0; i < N_BN_CASES; i++)
        bn_backward_case(&bn_cases[i], 900 + 10 * i);
}

static void test_bn_reject_bad_arguments(void **state) {
    const cm_bn_shape s = {2, 3, 4, 1e-5f, 0.1f, false};
    float x[24] = {0}, c[3] = {1, 1, 1};
    bn_bufs t = bn_alloc(&s, x, c, c, c, c);
    cm_buf *SHORT = lt_filled(hb, 2, 1.0f);
    assert_int_equal(bn_train(&t, &s), CM_OK);
    assert_int_equal(backend_bn_forward(hb, t.x, t.y, SHORT, t.beta, t.rm, t.rv, t.smean, t.sinv, &s, true),
                     CM_ERR_USAGE);
    assert_int_equal(backend_bn_forward(hb, t.x, t.y, t.gamma, t.beta, t.rm, t.rv, NULL, t.sinv, &s, true),
                     CM_ERR_USAGE);
    assert_int_equal(backend_bn_forward(hb, t.x, SHORT, t.gamma, t.beta, t.rm, t.rv, t.smean, t.sinv, &s, false),
                     CM_ERR_USAGE);
    assert_int_equal(backend_bn_backward(hb, t.dy, t.x, t.gamma, t.smean, t.sinv, t.dx, SHORT, t.dbeta, &s),
                     CM_ERR_USAGE);
    const cm_bn_shape zero_batch = {0, 3, 4, 1e-5f, 0.1f, false};
    assert_int_equal(bn_train(&t, &zero_batch), CM_ERR_USAGE);
    backend_release(hb, SHORT);
    bn_release(&t);
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
        cmocka_unit_test(test_maxpool_hand),
        cmocka_unit_test(test_maxpool_random_and_gradient),
        cmocka_unit_test(test_maxpool_reject_bad_arguments),
        cmocka_unit_test(test_bn_hand),
        cmocka_unit_test(test_bn_forward_random),
        cmocka_unit_test(test_bn_backward_gradient),
        cmocka_unit_test(test_bn_reject_bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
