/* test_layer_ops.c: the reference backend's convolution operations (im2col, col2im, the
 * NCHW <-> CNHW layout changes with bias and ReLU, channel sums, relu) against hand-worked
 * values, against a direct float64 convolution (forward and backward) from the definition,
 * and col2im against the adjoint identity <im2col(x), c> = <x, col2im(c)>. Pooling and
 * BatchNorm are in test_layer_ops_pool_bn.c. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "layer_util.h"

static cm_backend *hb;

/* Convolution shapes: batch, channels, height, width, kernel, stride, pad, output channels. */
typedef struct {
    int b, c, h, w, k, s, p, oc;
} conv_case;

static const conv_case conv_cases[] = {
    {2, 3, 7, 7, 3, 1, 1, 4},   /* odd channels, "same" padding */
    {1, 1, 5, 5, 5, 1, 0, 2},   /* batch 1, kernel equal to the input: a 1x1 output */
    {1, 1, 3, 3, 3, 1, 1, 1},   /* kernel equal to the input, with padding */
    {3, 5, 8, 6, 3, 2, 0, 3},   /* stride 2, non-square, floor mode drops the last column */
    {2, 3, 9, 9, 4, 2, 2, 5},   /* even kernel, padding 2 */
    {1, 2, 4, 4, 1, 1, 0, 3},   /* 1x1 convolution */
    {2, 1, 6, 6, 2, 3, 1, 2},   /* stride > kernel: some pixels are never read */
    {4, 1, 28, 28, 5, 1, 2, 8}, /* an MNIST first layer */
};
#define N_CONV_CASES (sizeof conv_cases / sizeof conv_cases[0])

static void test_relu_hand(void **state) {
    const float y[6] = {-2.0f, -0.0f, 0.0f, 1e-30f, 3.5f, -1e-30f};
    cm_buf *Y = lt_buf(hb, y, sizeof y);
    assert_int_equal(backend_relu(hb, Y, 6), CM_OK);
    float out[6];
    lt_get(hb, Y, out, sizeof out);
    const float expect[6] = {0.0f, 0.0f, 0.0f, 1e-30f, 3.5f, 0.0f};
    assert_true(check_close("relu", out, expect, 6, 0.0, 0.0));
    assert_int_equal(backend_relu(hb, Y, 7), CM_ERR_USAGE); /* longer than the buffer */
    backend_release(hb, Y);
}

/* im2col of x (1, 1, 3, 3) = 1..9 with a 2x2 kernel, compared with the whole col matrix. */
static void im2col_expect(int stride, int pad, const float *expect, int rows_to_check) {
    const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    cm_window w = lt_window(1, 1, 3, 3, 2, stride, pad);
    const size_t ncol = (size_t)w.out_h * w.out_w, n = 4 * ncol;
    cm_buf *X = lt_buf(hb, x, sizeof x), *COL = lt_filled(hb, n, NAN);
    assert_int_equal(backend_im2col(hb, X, COL, &w), CM_OK);
    float *got = lt_floats(n);
    lt_get(hb, COL, got, n * sizeof(float));
    for (int r = 0; r < 4; r++)
        if (rows_to_check & (1 << r))
            assert_true(check_close("im2col row", got + r * ncol, expect + r * ncol, ncol, 0, 0));
    free(got);
    backend_release(hb, X), backend_release(hb, COL);
}

static void test_im2col_hand(void **state) {
    /* stride 1, no padding: 2x2 output; row (i, j) is x[oh + i][ow + j] */
    const float s1p0[16] = {1, 2, 4, 5, 2, 3, 5, 6, 4, 5, 7, 8, 5, 6, 8, 9};
    im2col_expect(1, 0, s1p0, 0xf);
    /* stride 2, padding 1: out = (3 + 2 - 2) / 2 + 1 = 2; ih = 2 oh - 1 + i, iw = 2 ow - 1 + j */
    const float s2p1[16] = {0, 0, 0, 5, 0, 0, 4, 6, 0, 2, 0, 8, 1, 3, 7, 9};
    im2col_expect(2, 1, s2p1, 0xf);
    /* stride 1, padding 1: 4x4 output; rows (0, 0) and (1, 1) by hand */
    const float s1p1[64] = {0, 0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, [48] = 1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0};
    im2col_expect(1, 1, s1p1, 0x9);
}

/* col2im of an all-ones col counts how many windows read each pixel. */
static void col2im_count(int stride, int pad, const float *expect) {
    cm_window w = lt_window(1, 1, 3, 3, 2, stride, pad);
    const size_t n = 4 * (size_t)w.out_h * w.out_w;
    cm_buf *COL = lt_filled(hb, n, 1.0f), *DX = lt_filled(hb, 9, NAN); /* NaN: must be overwritten */
    assert_int_equal(backend_col2im(hb, COL, DX, &w), CM_OK);
    float got[9];
    lt_get(hb, DX, got, sizeof got);
    assert_true(check_close("col2im counts", got, expect, 9, 0, 0));
    backend_release(hb, COL), backend_release(hb, DX);
}

static void test_col2im_hand(void **state) {
    col2im_count(1, 0, (const float[]){1, 2, 1, 2, 4, 2, 1, 2, 1}); /* corners 1, edges 2, centre 4 */
    col2im_count(2, 1, (const float[]){1, 1, 1, 1, 1, 1, 1, 1, 1}); /* windows tile the padded 4x4 */
    col2im_count(1, 1, (const float[]){4, 4, 4, 4, 4, 4, 4, 4, 4}); /* every pixel in 4 windows */
    /* weighted: col = im2col(1..9) with stride 2, padding 1 tiles, so col2im gives x back */
    const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    cm_window w = lt_window(1, 1, 3, 3, 2, 2, 1);
    cm_buf *X = lt_buf(hb, x, sizeof x), *COL = lt_filled(hb, 16, NAN), *DX = lt_filled(hb, 9, NAN);
    assert_int_equal(backend_im2col(hb, X, COL, &w), CM_OK);
    assert_int_equal(backend_col2im(hb, COL, DX, &w), CM_OK);
    float got[9];
    lt_get(hb, DX, got, sizeof got);
    assert_true(check_close("col2im(im2col(x)) when windows tile", got, x, 9, 0, 0));
    backend_release(hb, X), backend_release(hb, COL), backend_release(hb, DX);
}

static void test_layout_and_channel_sum_hand(void **state) {
    /* src (C 3, B*HW 2*2), bias (3): y (B 2, C 3, HW 2) */
    const float src[12] = {1, 2, 3, 4, -5, -6, 7, 8, 9, -10, 11, -12}, bias[3] = {0.5f, 1.0f, -1.0f};
    cm_buf *S = lt_buf(hb, src, sizeof src), *Bi = lt_buf(hb, bias, sizeof bias), *Y = lt_filled(hb, 12, NAN);
    float got[12];
    assert_int_equal(backend_cnhw_to_nchw(hb, S, Bi, Y, 2, 3, 2, false), CM_OK);
    lt_get(hb, Y, got, sizeof got);
    const float lin[12] = {1.5f, 2.5f, -4, -5, 8, -11, 3.5f, 4.5f, 8, 9, 10, -13};
    assert_true(check_close("cnhw_to_nchw + bias", got, lin, 12, 0, 0));
    assert_int_equal(backend_cnhw_to_nchw(hb, S, Bi, Y, 2, 3, 2, true), CM_OK);
    lt_get(hb, Y, got, sizeof got);
    const float rel[12] = {1.5f, 2.5f, 0, 0, 8, 0, 3.5f, 4.5f, 8, 9, 10, 0};
    assert_true(check_close("cnhw_to_nchw + bias + relu", got, rel, 12, 0, 0));
    assert_int_equal(backend_cnhw_to_nchw(hb, S, NULL, Y, 2, 3, 2, false), CM_OK);
    lt_get(hb, Y, got, sizeof got);
    const float plain[12] = {1, 2, -5, -6, 9, -10, 3, 4, 7, 8, 11, -12};
    assert_true(check_close("cnhw_to_nchw, no bias", got, plain, 12, 0, 0));
    /* nchw_to_cnhw is its inverse */
    cm_buf *D = lt_filled(hb, 12, NAN);
    assert_int_equal(backend_nchw_to_cnhw(hb, Y, D, 2, 3, 2), CM_OK);
    lt_get(hb, D, got, sizeof got);
    assert_true(check_close("nchw_to_cnhw", got, src, 12, 0, 0));
    /* channel sums of y (2, 3, 2) = plain: channel 0: 1 + 2 + 3 + 4, channel 1: -5 - 6 + 7 + 8, ... */
    cm_buf *O = lt_filled(hb, 3, NAN);
    assert_int_equal(backend_channel_sum(hb, Y, O, 2, 3, 2), CM_OK);
    lt_get(hb, O, got, 3 * sizeof(float));
    assert_true(check_close("channel_sum", got, (const float[]){10, 4, -2}, 3, 0, 0));
    backend_release(hb, S), backend_release(hb, Bi), backend_release(hb, Y), backend_release(hb, D);
    backend_release(hb, O);
}

/* ---- a convolution layer, forward and backward, against its definition in float64 --------- */
static double *conv_forward_ref(const conv_case *t, const cm_window *w, const float *x, const float *wt,
                                const float *bias) {
    const int OH = w->out_h, OW = w->out_w;
    double *y = calloc((size_t)t->b * t->oc * OH * OW, sizeof(double)); /* (B, OC, OH, OW) */
    for (int b = 0; b < t->b; b++)
        for (int o = 0; o < t->oc; o++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    double s = bias[o];
                    for (int c = 0; c < t->c; c++)
                        for (int i = 0; i < t->k; i++)
                            for (int j = 0; j < t->k; j++) {
                                const int ih = oh * t->s - t->p + i, iw = ow * t->s - t->p + j;
                                if (ih < 0 || ih >= t->h || iw < 0 || iw >= t->w) continue;
                                s += (double)wt[((o * t->c + c) * t->k + i) * t->k + j] *
                                     x[((b * t->c + c) * t->h + ih) * t->w + iw];
                            }
                    y[((b * t->oc + o) * OH + oh) * OW + ow] = s;
                }
    return y;
}

/* dW (OC, C, K, K) and dx (B, C, H, W) of sum(dy * conv(x)), by scattering every product. */
static void conv_backward_ref(const conv_case *t, const cm_window *w, const float *x, const float *wt, const float *dy,
                              double *dw, double *dx) {
    const int OH = w->out_h, OW = w->out_w;
    for (int b = 0; b < t->b; b++)
        for (int o = 0; o < t->oc; o++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    const double g = dy[((b * t->oc + o) * OH + oh) * OW + ow];
                    for (int c = 0; c < t->c; c++)
                        for (int i = 0; i < t->k; i++)
                            for (int j = 0; j < t->k; j++) {
                                const int ih = oh * t->s - t->p + i, iw = ow * t->s - t->p + j;
                                if (ih < 0 || ih >= t->h || iw < 0 || iw >= t->w) continue;
                                const int wi = ((o * t->c + c) * t->k + i) * t->k + j;
                                const int xi = ((b * t->c + c) * t->h + ih) * t->w + iw;
                                dw[wi] += g * x[xi];
                                dx[xi] += g * wt[wi];
                            }
                }
}

static void to_float(const double *d, float *f, size_t n) {
    for (size_t i = 0; i < n; i++)
        f[i] = (float)d[i];
}

/* y = cnhw_to_nchw(W @ im2col(x)) + bias (and its ReLU); then dW = dy' col^T, dx = col2im(W^T dy'),
 * db = channel_sum(dy), with dy' = nchw_to_cnhw(dy). */
static void conv_case_check(const conv_case *t, uint64_t seed) {
    const cm_window w = lt_window(t->b, t->c, t->h, t->w, t->k, t->s, t->p);
    const int ckk = t->c * t->k * t->k, ncol = t->b * w.out_h * w.out_w, hw = w.out_h * w.out_w;
    const size_t nx = (size_t)t->b * t->c * t->h * t->w, nw = (size_t)t->oc * ckk, ny = (size_t)t->oc * ncol;
    float *x = lt_floats(nx), *wt = lt_floats(nw), *bias = lt_floats(t->oc), *dy = lt_floats(ny);
    float *got = lt_floats(nx > ny ? (nx > nw ? nx : nw) : (ny > nw ? ny : nw)), *ref = lt_floats(nx + ny + nw);
    fill_uniform(x, nx, seed), fill_uniform(wt, nw, seed + 1), fill_uniform(bias, t->oc, seed + 2);
    fill_uniform(dy, ny, seed + 3);
    cm_buf *X = lt_buf(hb, x, nx * 4), *Wt = lt_buf(hb, wt, nw * 4), *Bi = lt_buf(hb, bias, t->oc * 4u);
    cm_buf *COL = lt_filled(hb, (size_t)ckk * ncol, NAN), *Y2 = lt_filled(hb, ny, NAN), *Y = lt_filled(hb, ny, NAN);
    assert_int_equal(backend_im2col(hb, X, COL, &w), CM_OK);
    assert_int_equal(backend_gemm(hb, false, false, t->oc, ncol, ckk, 1.0f, Wt, ckk, COL, ncol, 0.0f, Y2, ncol), CM_OK);
    double *yref = conv_forward_ref(t, &w, x, wt, bias);
    to_float(yref, ref, ny);
    for (int relu = 0; relu <= 1; relu++) {
        assert_int_equal(backend_cnhw_to_nchw(hb, Y2, Bi, Y, t->b, t->oc, hw, relu), CM_OK);
        lt_get(hb, Y, got, ny * 4);
        for (size_t i = 0; relu && i < ny; i++)
            ref[i] = ref[i] < 0.0f ? 0.0f : ref[i];
        assert_true(check_close(relu ? "conv + relu" : "conv", got, ref, ny, 2e-5, 1e-4));
    }
    /* backward */
    cm_buf *DY = lt_buf(hb, dy, ny * 4), *DY2 = lt_filled(hb, ny, NAN), *DW = lt_filled(hb, nw, NAN);
    cm_buf *DCOL = lt_filled(hb, (size_t)ckk * ncol, NAN), *DX = lt_filled(hb, nx, NAN),
           *DB = lt_filled(hb, t->oc, NAN);
    assert_int_equal(backend_nchw_to_cnhw(hb, DY, DY2, t->b, t->oc, hw), CM_OK);
    assert_int_equal(backend_gemm(hb, false, true, t->oc, ckk, ncol, 1.0f, DY2, ncol, COL, ncol, 0.0f, DW, ckk), CM_OK);
    assert_int_equal(backend_gemm(hb, true, false, ckk, ncol, t->oc, 1.0f, Wt, ckk, DY2, ncol, 0.0f, DCOL, ncol),
                     CM_OK);
    assert_int_equal(backend_col2im(hb, DCOL, DX, &w), CM_OK);
    assert_int_equal(backend_channel_sum(hb, DY, DB, t->b, t->oc, hw), CM_OK);
    double *dw = calloc(nw, sizeof(double)), *dx = calloc(nx, sizeof(double)), db[16] = {0};
    conv_backward_ref(t, &w, x, wt, dy, dw, dx);
    for (size_t i = 0; i < ny; i++)
        db[i / hw % t->oc] += dy[i];
    lt_get(hb, DW, got, nw * 4), to_float(dw, ref, nw);
    assert_true(check_close("conv dW", got, ref, nw, 1e-4, 1e-4));
    lt_get(hb, DX, got, nx * 4), to_float(dx, ref, nx);
    assert_true(check_close("conv dx (col2im)", got, ref, nx, 2e-5, 1e-4));
    lt_get(hb, DB, got, t->oc * 4u), to_float(db, ref, t->oc);
    assert_true(check_close("conv db (channel_sum)", got, ref, t->oc, 1e-5, 1e-5));
    free(x), free(wt), free(bias), free(dy), free(got), free(ref), free(yref), free(dw), free(dx);
    cm_buf *bufs[] = {X, Wt, Bi, COL, Y2, Y, DY, DY2, DW, DCOL, DX, DB};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        backend_release(hb, bufs[i]);
}

static void test_conv_against_direct(void **state) {
    for (size_t i = 0; i < N_CONV_CASES; i++)
        conv_case_check(&conv_cases[i], 100 + 10 * i);
}

/* <im2col(x), c> == <x, col2im(c)> for random x and c: col2im is im2col's exact adjoint. */
static void test_col2im_is_adjoint(void **state) {
    for (size_t t = 0; t < N_CONV_CASES; t++) {
        const conv_case *k = &conv_cases[t];
        const cm_window w = lt_window(k->b, k->c, k->h, k->w, k->k, k->s, k->p);
        const size_t nx = (size_t)k->b * k->c * k->h * k->w, nc = (size_t)k->c * k->k * k->k * k->b * w.out_h * w.out_w;
        float *x = lt_floats(nx), *c = lt_floats(nc), *ax = lt_floats(nc), *atc = lt_floats(nx);
        fill_uniform(x, nx, 500 + t), fill_uniform(c, nc, 600 + t);
        cm_buf *X = lt_buf(hb, x, nx * 4), *C = lt_buf(hb, c, nc * 4);
        cm_buf *AX = lt_filled(hb, nc, NAN), *ATC = lt_filled(hb, nx, NAN);
        assert_int_equal(backend_im2col(hb, X, AX, &w), CM_OK);
        assert_int_equal(backend_col2im(hb, C, ATC, &w), CM_OK);
        lt_get(hb, AX, ax, nc * 4), lt_get(hb, ATC, atc, nx * 4);
        const double lhs = lt_dot(ax, c, nc), rhs = lt_dot(x, atc, nx);
        const double scale = fmax(lt_absdot(ax, c, nc), lt_absdot(x, atc, nx)); /* sum of |terms| */
        if (!(fabs(lhs - rhs) <= 1e-5 * scale))
            fprintf(stderr, "case %zu: <im2col(x), c> = %.10g, <x, col2im(c)> = %.10g (scale %.3g)\n", t, lhs, rhs,
                    scale);
        assert_true(fabs(lhs - rhs) <= 1e-5 * scale);
        free(x), free(c), free(ax), free(atc);
        backend_release(hb, X), backend_release(hb, C), backend_release(hb, AX), backend_release(hb, ATC);
    }
}

/* Wrong sizes and windows are errors, not writes past a buffer. */
static void test_conv_ops_reject_bad_arguments(void **state) {
    cm_window w = lt_window(2, 3, 5, 5, 3, 1, 1); /* col (27, 50) */
    cm_buf *X = lt_filled(hb, 150, 1.0f), *COL = lt_filled(hb, 27 * 50 - 1, 0.0f), *OK = lt_filled(hb, 27 * 50, 0.0f);
    assert_int_equal(backend_im2col(hb, X, COL, &w), CM_ERR_USAGE);
    assert_int_equal(backend_col2im(hb, COL, X, &w), CM_ERR_USAGE);
    assert_int_equal(backend_im2col(hb, X, OK, &w), CM_OK);
    cm_window big = w;
    big.height = 6; /* out_h no longer matches */
    assert_int_equal(backend_im2col(hb, X, OK, &big), CM_ERR_USAGE);
    cm_window bad = {1, 1, 3, 3, 5, 1, 0, 0, 0};
    assert_int_equal(window_resolve(&bad, "test"), CM_ERR_USAGE); /* kernel larger than the input */
    assert_int_equal(backend_cnhw_to_nchw(hb, X, NULL, OK, 2, 3, 26, false), CM_ERR_USAGE);
    assert_int_equal(backend_nchw_to_cnhw(hb, OK, X, 2, 3, 26), CM_ERR_USAGE);
    assert_int_equal(backend_channel_sum(hb, X, COL, 2, 3, 26), CM_ERR_USAGE);
    cm_buf *B2 = lt_filled(hb, 2, 0.0f);
    assert_int_equal(backend_cnhw_to_nchw(hb, X, B2, OK, 2, 3, 25, false), CM_ERR_USAGE); /* bias (3) too short */
    assert_int_equal(backend_cnhw_to_nchw(hb, X, NULL, OK, 2, 3, 25, false), CM_OK);
    backend_release(hb, B2);
    assert_int_equal(backend_channel_sum(hb, X, OK, 0, 3, 25), CM_ERR_USAGE);
    backend_release(hb, X), backend_release(hb, COL), backend_release(hb, OK);
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
        cmocka_unit_test(test_relu_hand),
        cmocka_unit_test(test_im2col_hand),
        cmocka_unit_test(test_col2im_hand),
        cmocka_unit_test(test_layout_and_channel_sum_hand),
        cmocka_unit_test(test_conv_against_direct),
        cmocka_unit_test(test_col2im_is_adjoint),
        cmocka_unit_test(test_conv_ops_reject_bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
