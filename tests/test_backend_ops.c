/* test_backend_ops.c: every operation of the backend table (cm_backend_ops) as rows of ONE table,
 * in the style of ggml's tests/test-backend-ops.cpp. Each row names an operation, its shapes and
 * parameters, the tolerance of its outputs and the function that builds seeded random inputs,
 * runs it and keeps its outputs (tests/backend_ops/bops.h). Every row runs on the host
 * (reference) backend and, when an OpenCL device exists, on the device backend; the two must
 * agree within the row's atol/rtol, and a guard after every buffer must stay untouched. Rows with
 * a gradient check also compare the backward with float64 central differences, on each backend.
 * An operation of CM_BACKEND_OP_LIST (backend.h) without a row fails the test.
 *
 * usage: test_backend_ops [--filter OP] [--backend host|device]   (host: no device comparison;
 *        the host is the reference and always runs)
 *        test_backend_ops --perf [--filter OP] [--backend host|device] [--reps N]
 * --perf times every row (median of N runs after 3 warm-up runs, each to backend_finish) and
 * prints ms and GFLOP/s or GB/s; it compares nothing and is never run by ctest.
 * Exit: 0 pass, 1 fail, 77 nothing ran (the filter matched no row). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_ops/bops.h"

#define R(name) .op = #name, .run = bo_run_##name
#define WIN(b_, c_, h_, w_, k_, s_, p_) .p = {b_, c_, h_, w_, k_, s_, p_}
/* all four transposes of one GEMM shape; atol ~ 1e-5 sqrt(k) */
/* clang-format off */
#define GEMM4(m, n, k, at)                                                                                             \
    {R(gemm), .p = {m, n, k, 0, 0, 0}, .atol = at, .rtol = 1e-4}, {R(gemm), .p = {m, n, k, 1, 0, 0}, .atol = at,      \
    .rtol = 1e-4}, {R(gemm), .p = {m, n, k, 0, 1, 0}, .atol = at, .rtol = 1e-4}, {R(gemm), .p = {m, n, k, 1, 1, 0},    \
    .atol = at, .rtol = 1e-4}
/* clang-format on */
#define CONV(b_, c_, h_, w_, k_, s_, p_, oc_)                                                                          \
    .p = {b_, c_, h_, w_, k_, s_, p_, oc_} /* with OC for the gradient check */

/* clang-format off */
static const bo_case cases[] = {
    /* buffers */
    {R(upload), .p = {1, 0}}, {R(upload), .p = {1001, 3}},
    {R(download), .p = {1, 0}}, {R(download), .p = {777, 5}},
    {R(view), .p = {2048, 37}},
    {R(fill), .p = {1}, .f = {0.0f}}, {R(fill), .p = {1003}, .f = {-2.5f}},
    /* batches */
    {R(stage_rows), .p = {50, 784, 1}}, {R(stage_rows), .p = {1000, 784, 129}},
    {R(gather), .p = {10, 3, 1, 0}}, {R(gather), .p = {1000, 784, 129, 11}},
    {R(gather_augment), .p = {300, 28, 28, 129, 7, 0, 0}},
    {R(gather_augment), .p = {300, 28, 28, 129, 7, 11, 1}, .atol = 2e-4, .rtol = 1e-4},
    {R(gather_augment), .p = {20, 9, 13, 5, 0, 3, 2}, .atol = 2e-4, .rtol = 1e-4},
    {R(gather_augment), .p = {5, 28, 28, 1, 0, 0, 1}, .atol = 2e-4, .rtol = 1e-4},
    /* colour (3 planes, one transform), the CIFAR crop alone (checked as a whole-pixel shift) and with the rest */
    {R(gather_augment), .p = {40, 7, 9, 17, 3, 0, 0, 3}},
    {R(gather_augment), .p = {40, 7, 9, 17, 3, 5, 1, 3}, .atol = 2e-4, .rtol = 1e-4},
    {R(gather_augment), .p = {100, 32, 32, 37, 5, 0, 3, 3}},
    {R(gather_augment), .p = {30, 11, 13, 20, 0, 2, 3, 1}},
    {R(gather_augment), .p = {60, 32, 32, 33, 1, 7, 4, 3}, .atol = 2e-4, .rtol = 1e-4},
    /* dense layers: C = 0.75 op(A) op(B) - 0.5 C, all four transposes, padded leading dimensions */
    GEMM4(1, 1, 1, 1e-5), GEMM4(7, 10, 33, 5.8e-5), GEMM4(129, 33, 784, 2.8e-4), GEMM4(33, 784, 129, 1.14e-4),
    GEMM4(128, 512, 784, 2.8e-4), GEMM4(10, 256, 7, 2.7e-5),
    {R(gemm), .p = {7, 10, 33, 1, 0, 3}, .atol = 5.8e-5, .rtol = 1e-4},
    {R(gemm), .p = {7, 10, 33, 0, 1, 1}, .atol = 5.8e-5, .rtol = 1e-4},
    {R(gemm), .p = {7, 10, 33, 1, 1, 5}, .atol = 5.8e-5, .rtol = 1e-4},
    {R(gemm), .p = {24, 73728, 25, 0, 0, 0}, .atol = 5e-5, .rtol = 1e-4}, /* cnn conv1, batch 128 */
    {R(gemm), .p = {32, 12800, 216, 0, 0, 0}, .atol = 1.5e-4, .rtol = 1e-4}, /* cnn conv2 */
    /* small C, long k: split-K on the device (gemm_splitk.c): k = 9 runs + a remainder of 4, a
     * whole number of runs, and the cnn network's weight gradients (conv1, conv2) */
    GEMM4(7, 9, 20011, 1.5e-3), GEMM4(16, 12, 8192, 1e-3),
    {R(gemm), .p = {7, 9, 20011, 1, 0, 3}, .atol = 1.5e-3, .rtol = 1e-4},
    {R(gemm), .p = {7, 9, 20011, 0, 1, 1}, .atol = 1.5e-3, .rtol = 1e-4},
    {R(gemm), .p = {7, 9, 20011, 1, 1, 5}, .atol = 1.5e-3, .rtol = 1e-4},
    {R(gemm), .p = {7, 9, 20011, 0, 1, 2, 1}, .atol = 1.5e-3, .rtol = 1e-4},
    {R(gemm), .p = {7, 10, 33, 0, 1, 2, 1}, .atol = 5.8e-5, .rtol = 1e-4},
    {R(gemm), .p = {24, 25, 73728, 0, 1, 0}, .atol = 2.7e-3, .rtol = 1e-4},
    {R(gemm), .p = {32, 216, 12800, 0, 1, 0}, .atol = 1.2e-3, .rtol = 1e-4},
    {R(bias_act), .p = {1, 1, 1}, .grad = bo_grad_bias_act},
    {R(bias_act), .p = {7, 10, 0}, .grad = bo_grad_bias_act},
    {R(bias_act), .p = {33, 129, 1}, .grad = bo_grad_bias_act},
    {R(bias_act), .p = {129, 784, 1}},
    {R(relu_backward), .p = {1}, .f = {1.0f}}, {R(relu_backward), .p = {1037}, .f = {1.0f / 0.7f}},
    {R(relu_backward), .p = {735}, .f = {1.0f}}, {R(relu_backward), .p = {6138}, .f = {1.0f}},
    {R(dropout), .p = {1, 0, 2}, .f = {0.3f}}, {R(dropout), .p = {5, 0, 2}, .f = {0.3f}},
    {R(dropout), .p = {4259, 0, 1}, .f = {0.3f}}, {R(dropout), .p = {7, 3, 2}, .f = {0.5f}},
    {R(dropout), .p = {1000, 4097, 3}, .f = {0.3f}},
    {R(bias_grad), .p = {1, 1, 0}, .atol = 1e-6, .rtol = 1e-5},
    {R(bias_grad), .p = {7, 10, 1}, .atol = 1e-5, .rtol = 1e-5},
    {R(bias_grad), .p = {129, 784, 0}, .atol = 1.3e-4, .rtol = 1e-5},
    {R(bias_grad), .p = {784, 129, 1}, .atol = 8e-4, .rtol = 1e-5},
    {R(softmax_xent), .p = {1, 2, 1}, .atol = 1e-7, .rtol = 1e-5, .grad = bo_grad_softmax_xent},
    {R(softmax_xent), .p = {33, 11, 1}, .atol = 1e-7, .rtol = 1e-5, .grad = bo_grad_softmax_xent},
    {R(softmax_xent), .p = {784, 130, 1}, .atol = 1e-7, .rtol = 1e-5},
    {R(softmax_xent), .p = {129, 34, 0}, .atol = 1e-7, .rtol = 1e-5},
    {R(argmax), .p = {1, 2, 0}}, {R(argmax), .p = {129, 10, 1}}, {R(argmax), .p = {33, 130, 0}},
    {R(opt_update), .p = {1, 0, 2}, .atol = 1e-6, .rtol = 1e-5},
    {R(opt_update), .p = {33, 1, 2}, .atol = 1e-6, .rtol = 1e-5},
    {R(opt_update), .p = {7, 2, 2}, .atol = 1e-6, .rtol = 1e-5},
    {R(opt_update), .p = {1000003, 3, 2}, .atol = 1e-6, .rtol = 1e-5},
    {R(opt_update), .p = {1001, 4, 3}, .atol = 1e-6, .rtol = 1e-5},
    {R(max_norm), .p = {1, 1}, .f = {0.58f}, .atol = 1e-7, .rtol = 1e-6},
    {R(max_norm), .p = {10, 33}, .f = {0.58f}, .atol = 1e-7, .rtol = 1e-6},
    {R(max_norm), .p = {129, 784}, .f = {0.58f}, .atol = 1e-7, .rtol = 1e-6},
    {R(max_norm), .p = {512, 7}, .f = {0.58f}, .atol = 1e-7, .rtol = 1e-6},
    /* convolution, pooling, BatchNorm; windows (B, C, H, W, K, S, P) */
    {R(relu), .p = {1}, .grad = bo_grad_relu}, {R(relu), .p = {343}, .grad = bo_grad_relu},
    {R(relu), .p = {735}}, {R(relu), .p = {6138}},
    {R(im2col), CONV(1, 1, 5, 5, 3, 1, 0, 2), .grad = bo_grad_conv},
    {R(im2col), CONV(2, 3, 7, 7, 3, 1, 1, 4), .grad = bo_grad_conv},
    {R(im2col), CONV(3, 5, 8, 9, 3, 2, 1, 3), .grad = bo_grad_conv},
    {R(im2col), CONV(2, 3, 6, 6, 6, 1, 0, 2), .grad = bo_grad_conv},
    {R(im2col), CONV(2, 3, 9, 9, 2, 3, 0, 5), .grad = bo_grad_conv},
    {R(im2col), CONV(1, 2, 9, 9, 4, 2, 2, 3), .grad = bo_grad_conv},
    {R(im2col), WIN(4, 3, 10, 10, 1, 1, 0)}, {R(im2col), WIN(1, 5, 7, 7, 5, 2, 2)},
    {R(im2col), WIN(2, 5, 28, 28, 5, 1, 2)},
    {R(im2col), WIN(128, 1, 28, 28, 5, 1, 0)}, {R(im2col), WIN(128, 24, 12, 12, 3, 1, 0)}, /* cnn preset */
    {R(col2im), WIN(1, 1, 5, 5, 3, 1, 0), .atol = 1e-6, .rtol = 1e-6},
    {R(col2im), WIN(2, 3, 7, 7, 3, 1, 1), .atol = 1e-6, .rtol = 1e-6},
    {R(col2im), WIN(3, 5, 8, 9, 3, 2, 1), .atol = 1e-6, .rtol = 1e-6},
    {R(col2im), WIN(2, 3, 6, 6, 6, 1, 0), .atol = 1e-6, .rtol = 1e-6},
    {R(col2im), WIN(1, 5, 7, 7, 5, 2, 2), .atol = 1e-6, .rtol = 1e-6},
    {R(col2im), WIN(2, 3, 9, 9, 2, 3, 0), .atol = 1e-6, .rtol = 1e-6},
    {R(col2im), WIN(4, 3, 10, 10, 1, 1, 0), .atol = 1e-6, .rtol = 1e-6},
    {R(col2im), WIN(2, 5, 28, 28, 5, 1, 2), .atol = 1e-5, .rtol = 1e-5},
    {R(col2im), WIN(128, 24, 12, 12, 3, 1, 0), .atol = 1e-5, .rtol = 1e-5},
    /* Conv2d as one operation (the host: image by image; groups of images for dweight) */
    {R(conv_forward), CONV(1, 1, 5, 5, 3, 1, 0, 2), .atol = 1e-5, .rtol = 1e-5, .grad = bo_grad_conv_op},
    {R(conv_forward), CONV(2, 3, 7, 7, 3, 1, 1, 4), .atol = 1e-5, .rtol = 1e-5, .grad = bo_grad_conv_op},
    {R(conv_forward), CONV(3, 5, 8, 9, 3, 2, 1, 3), .atol = 1e-5, .rtol = 1e-5, .grad = bo_grad_conv_op},
    {R(conv_forward), CONV(2, 3, 6, 6, 6, 1, 0, 2), .atol = 1e-5, .rtol = 1e-5, .grad = bo_grad_conv_op},
    {R(conv_forward), CONV(2, 3, 9, 9, 2, 3, 0, 5), .atol = 1e-5, .rtol = 1e-5, .grad = bo_grad_conv_op},
    {R(conv_forward), CONV(1, 2, 9, 9, 4, 2, 2, 3), .atol = 1e-5, .rtol = 1e-5, .grad = bo_grad_conv_op},
    {R(conv_forward), CONV(3, 4, 5, 6, 1, 1, 0, 3), .atol = 1e-5, .rtol = 1e-5, .grad = bo_grad_conv_op},
    {R(conv_forward), CONV(19, 2, 5, 5, 3, 1, 1, 3), .atol = 1e-5, .rtol = 1e-5, .grad = bo_grad_conv_op},
    {R(conv_forward), CONV(5, 3, 7, 7, 3, 1, 1, 4), .f = {1}, .atol = 1e-5, .rtol = 1e-5},
    {R(conv_forward), CONV(5, 3, 7, 7, 3, 2, 0, 4), .f = {1, 1}, .atol = 1e-5, .rtol = 1e-5},
    {R(conv_forward), CONV(4, 6, 9, 9, 1, 1, 0, 5), .f = {1}, .atol = 1e-5, .rtol = 1e-5},
    {R(conv_forward), CONV(128, 1, 28, 28, 5, 1, 0, 24), .atol = 1e-5, .rtol = 1e-5}, /* cnn preset */
    {R(conv_forward), CONV(128, 24, 12, 12, 3, 1, 0, 32), .f = {1}, .atol = 5e-5, .rtol = 1e-5},
    {R(conv_backward), CONV(1, 1, 5, 5, 3, 1, 0, 2), .atol = 1e-5, .rtol = 1e-5},
    {R(conv_backward), CONV(3, 5, 8, 9, 3, 2, 1, 3), .atol = 1e-5, .rtol = 1e-5},
    {R(conv_backward), CONV(4, 6, 9, 9, 1, 1, 0, 5), .atol = 1e-5, .rtol = 1e-5},
    {R(conv_backward), CONV(37, 3, 7, 7, 3, 1, 1, 4), .atol = 2e-5, .rtol = 1e-5},
    {R(conv_backward), CONV(37, 3, 7, 7, 3, 1, 1, 4), .f = {1}, .atol = 2e-5, .rtol = 1e-5},
    {R(conv_backward), CONV(6, 3, 8, 8, 3, 2, 1, 4), .f = {0, 1}, .atol = 1e-5, .rtol = 1e-5},
    {R(conv_backward), CONV(128, 1, 28, 28, 5, 1, 0, 24), .f = {1}, .atol = 2e-3, .rtol = 1e-4}, /* cnn preset */
    {R(conv_backward), CONV(128, 24, 12, 12, 3, 1, 0, 32), .atol = 5e-4, .rtol = 1e-4},
    {R(cnhw_to_nchw), .p = {1, 1, 1, 1, 1}}, {R(cnhw_to_nchw), .p = {2, 3, 49, 1, 1}},
    {R(cnhw_to_nchw), .p = {3, 5, 1, 0, 0}}, {R(cnhw_to_nchw), .p = {4, 5, 100, 1, 0}},
    {R(cnhw_to_nchw), .p = {1, 3, 784, 0, 1}}, {R(cnhw_to_nchw), .p = {128, 24, 576, 0, 0}},
    {R(nchw_to_cnhw), .p = {1, 1, 1}}, {R(nchw_to_cnhw), .p = {2, 3, 49}}, {R(nchw_to_cnhw), .p = {3, 5, 1}},
    {R(nchw_to_cnhw), .p = {4, 5, 100}}, {R(nchw_to_cnhw), .p = {1, 3, 784}},
    {R(channel_sum), .p = {1, 1, 1}, .atol = 1e-6, .rtol = 1e-6},
    {R(channel_sum), .p = {2, 3, 49}, .atol = 1e-5, .rtol = 1e-5},
    {R(channel_sum), .p = {128, 3, 1}, .atol = 1e-5, .rtol = 1e-5},
    {R(channel_sum), .p = {1, 5, 784}, .atol = 1e-4, .rtol = 1e-5},
    {R(channel_sum), .p = {64, 5, 196}, .atol = 2e-4, .rtol = 1e-5},
    {R(maxpool_forward), WIN(1, 1, 2, 2, 2, 2, 0)}, {R(maxpool_forward), WIN(2, 3, 7, 7, 2, 2, 0)},
    {R(maxpool_forward), WIN(2, 5, 7, 7, 3, 2, 0)}, {R(maxpool_forward), WIN(1, 3, 8, 8, 3, 2, 0)},
    {R(maxpool_forward), WIN(3, 5, 6, 6, 6, 6, 0)}, {R(maxpool_forward), WIN(2, 3, 9, 11, 3, 3, 0)},
    {R(maxpool_forward), WIN(1, 3, 5, 5, 3, 1, 0)}, {R(maxpool_forward), WIN(2, 5, 28, 28, 2, 2, 0)},
    {R(maxpool_forward), WIN(3, 5, 13, 11, 2, 2, 0)}, {R(maxpool_forward), WIN(128, 24, 24, 24, 2, 2, 0)}, /* cnn */
    {R(maxpool_backward), WIN(1, 1, 2, 2, 2, 2, 0), .atol = 1e-6, .rtol = 1e-6, .grad = bo_grad_maxpool},
    {R(maxpool_backward), WIN(2, 3, 7, 7, 2, 2, 0), .atol = 1e-6, .rtol = 1e-6, .grad = bo_grad_maxpool},
    {R(maxpool_backward), WIN(2, 5, 7, 7, 3, 2, 0), .atol = 1e-6, .rtol = 1e-6, .grad = bo_grad_maxpool},
    {R(maxpool_backward), WIN(1, 3, 8, 8, 3, 2, 0), .atol = 1e-6, .rtol = 1e-6, .grad = bo_grad_maxpool},
    {R(maxpool_backward), WIN(3, 5, 6, 6, 6, 6, 0), .atol = 1e-6, .rtol = 1e-6, .grad = bo_grad_maxpool},
    {R(maxpool_backward), WIN(2, 3, 9, 11, 3, 3, 0), .atol = 1e-6, .rtol = 1e-6, .grad = bo_grad_maxpool},
    {R(maxpool_backward), WIN(1, 3, 5, 5, 3, 1, 0), .atol = 1e-6, .rtol = 1e-6, .grad = bo_grad_maxpool},
    {R(maxpool_backward), WIN(2, 5, 28, 28, 2, 2, 0), .atol = 1e-6, .rtol = 1e-6},
    {R(maxpool_backward), WIN(128, 24, 24, 24, 2, 2, 0), .atol = 1e-6, .rtol = 1e-6}, /* cnn */
    /* global average pooling p = {B, C, HW}: 3 channels, odd plane sizes (7x7, 5x3, 1x1, 13x13) */
    {R(gap_forward), .p = {1, 1, 1}, .atol = 1e-7, .rtol = 1e-6},
    {R(gap_forward), .p = {2, 3, 49}, .atol = 1e-6, .rtol = 1e-5, .grad = bo_grad_gap},
    {R(gap_forward), .p = {5, 3, 15}, .atol = 1e-6, .rtol = 1e-5, .grad = bo_grad_gap},
    {R(gap_forward), .p = {3, 7, 1}, .atol = 1e-7, .rtol = 1e-6, .grad = bo_grad_gap},
    {R(gap_forward), .p = {33, 3, 169}, .atol = 1e-6, .rtol = 1e-5},
    {R(gap_backward), .p = {1, 1, 1}}, {R(gap_backward), .p = {2, 3, 49}}, {R(gap_backward), .p = {5, 3, 15}},
    {R(gap_backward), .p = {33, 3, 169}},
    {R(channel_affine), .p = {1, 1, 1}, .atol = 1e-6, .rtol = 1e-6},
    {R(channel_affine), .p = {7, 3, 1024}, .atol = 1e-6, .rtol = 1e-6},
    {R(channel_affine), .p = {5, 4, 13}, .atol = 1e-6, .rtol = 1e-6},
    {R(bn_forward), .p = {2, 3, 1, 1}, .f = {1e-5f, 0.1f}, .atol = 1e-5, .rtol = 1e-5},
    {R(bn_forward), .p = {16, 5, 1, 1}, .f = {1e-5f, 0.1f}, .atol = 1e-5, .rtol = 1e-5},
    {R(bn_forward), .p = {1, 5, 1, 1}, .f = {1e-5f, 0.1f}, .atol = 1e-5, .rtol = 1e-5},
    {R(bn_forward), .p = {1, 3, 49, 1}, .f = {1e-5f, 0.1f}, .atol = 1e-5, .rtol = 1e-5},
    {R(bn_forward), .p = {4, 5, 49, 1}, .f = {1e-3f, 0.3f}, .atol = 1e-5, .rtol = 1e-5},
    {R(bn_forward), .p = {8, 3, 196, 1}, .f = {1e-5f, 0.1f}, .atol = 1e-5, .rtol = 1e-5},
    {R(bn_forward), .p = {32, 5, 784, 1}, .f = {1e-5f, 0.1f}, .atol = 1e-4, .rtol = 1e-4},
    {R(bn_forward), .p = {2, 3, 1, 0}, .f = {1e-5f, 0.1f}, .atol = 1e-5, .rtol = 1e-5},
    {R(bn_forward), .p = {16, 5, 1, 0}, .f = {1e-5f, 0.1f}, .atol = 1e-5, .rtol = 1e-5},
    {R(bn_forward), .p = {1, 5, 1, 0}, .f = {1e-5f, 0.1f}, .atol = 1e-5, .rtol = 1e-5},
    {R(bn_forward), .p = {1, 3, 49, 0}, .f = {1e-5f, 0.1f}, .atol = 1e-5, .rtol = 1e-5},
    {R(bn_forward), .p = {4, 5, 49, 0}, .f = {1e-3f, 0.3f}, .atol = 1e-5, .rtol = 1e-5},
    {R(bn_forward), .p = {8, 3, 196, 0}, .f = {1e-5f, 0.1f}, .atol = 1e-5, .rtol = 1e-5},
    {R(bn_forward), .p = {32, 5, 784, 0}, .f = {1e-5f, 0.1f}, .atol = 1e-4, .rtol = 1e-4},
    {R(bn_forward), .p = {3, 5, 7, 0}, .f = {1e-5f, 0.1f}, .atol = 1e-5, .rtol = 1e-5},
    {R(bn_forward), .p = {5, 7, 33, 1}, .f = {1e-5f, 0.1f}, .atol = 1e-5, .rtol = 1e-5},
    /* a ReLU that follows, fused (model_layout): training, eval, and the cnn network's first BatchNorm */
    {R(bn_forward), .p = {5, 7, 33, 1, 1}, .f = {1e-5f, 0.1f}, .atol = 1e-5, .rtol = 1e-5},
    {R(bn_forward), .p = {3, 5, 7, 0, 1}, .f = {1e-5f, 0.1f}, .atol = 1e-5, .rtol = 1e-5},
    {R(bn_forward), .p = {128, 24, 576, 1, 1}, .f = {1e-5f, 0.1f}, .atol = 1e-4, .rtol = 1e-4},
    {R(bn_backward), .p = {2, 3, 1}, .f = {1e-5f, 0.1f}, .atol = 1e-5, .rtol = 1e-4, .grad = bo_grad_bn},
    {R(bn_backward), .p = {16, 5, 1}, .f = {1e-5f, 0.1f}, .atol = 1e-5, .rtol = 1e-4, .grad = bo_grad_bn},
    {R(bn_backward), .p = {1, 5, 1}, .f = {1e-5f, 0.1f}, .atol = 1e-5, .rtol = 1e-4, .grad = bo_grad_bn},
    {R(bn_backward), .p = {1, 3, 49}, .f = {1e-5f, 0.1f}, .atol = 1e-5, .rtol = 1e-4, .grad = bo_grad_bn},
    {R(bn_backward), .p = {4, 5, 49}, .f = {1e-3f, 0.3f}, .atol = 1e-5, .rtol = 1e-4, .grad = bo_grad_bn},
    {R(bn_backward), .p = {8, 3, 196}, .f = {1e-5f, 0.1f}, .atol = 1e-4, .rtol = 1e-4},
    {R(bn_backward), .p = {32, 5, 784}, .f = {1e-5f, 0.1f}, .atol = 2e-4, .rtol = 1e-4},
};
/* clang-format on */
#define NCASES (sizeof cases / sizeof cases[0])

static const char *const op_names[] = {
#define NAME(n) #n,
    CM_BACKEND_OP_LIST(NAME)
#undef NAME
};
#define NOPS (sizeof op_names / sizeof op_names[0])

/* Every operation has a row, and every row names an operation. */
static int coverage_ok(void) {
    int ok = 1;
    for (size_t i = 0; i < NOPS; i++) {
        int rows = 0;
        for (size_t j = 0; j < NCASES; j++)
            rows += strcmp(cases[j].op, op_names[i]) == 0;
        if (!rows) fprintf(stderr, "FAIL coverage: backend op %s has no case in the table\n", op_names[i]), ok = 0;
    }
    for (size_t j = 0; j < NCASES; j++) {
        int known = 0;
        for (size_t i = 0; i < NOPS; i++)
            known |= strcmp(cases[j].op, op_names[i]) == 0;
        if (!known) fprintf(stderr, "FAIL coverage: case %zu names no backend op (%s)\n", j, cases[j].op), ok = 0;
    }
    return ok;
}

typedef struct {
    const char *filter, *backend;
    int perf, reps;
} options;

static int usage(const char *argv0) {
    fprintf(stderr, "usage: %s [--perf] [--filter OP] [--backend host|device] [--reps N]\n", argv0);
    return -1;
}

static int parse(int argc, char **argv, options *o) {
    *o = (options){NULL, NULL, 0, 21};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--perf"))
            o->perf = 1;
        else if (!strcmp(argv[i], "--filter") && i + 1 < argc)
            o->filter = argv[++i];
        else if (!strcmp(argv[i], "--backend") && i + 1 < argc)
            o->backend = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            o->reps = atoi(argv[++i]);
        else
            return usage(argv[0]);
    }
    if (o->backend && strcmp(o->backend, "host") && strcmp(o->backend, "device")) return usage(argv[0]);
    return 0;
}

static int wanted(const options *o, const bo_case *k) {
    return !o->filter || strstr(k->op, o->filter) != NULL;
}

/* One row on one backend: its outputs in *c (freed by the caller); 1 when nothing failed. */
static int run_on(cm_backend *b, const bo_case *k, int perf, int reps, bo_ctx *c) {
    bo_begin_case(c, b, perf, reps);
    k->run(c, k);
    bo_end_case(c);
    return !c->failed;
}

static int grad_on(cm_backend *b, const bo_case *k) {
    bo_ctx c;
    bo_begin_case(&c, b, 0, 1);
    k->grad(&c, k);
    bo_end_case(&c);
    return !c.failed;
}

/* Test mode: host against device per row, then the gradient checks; returns the failures. */
static int test_row(cm_backend *host, cm_backend *dev, const bo_case *k) {
    bo_ctx ref, got;
    int ok = run_on(host, k, 0, 1, &ref);
    char label[192];
    snprintf(label, sizeof label, "%s %s", k->op, ref.shape);
    if (dev) {
        ok &= run_on(dev, k, 0, 1, &got);
        ok &= bo_compare(label, &ref, &got);
        bo_free_outputs(&got);
    }
    bo_free_outputs(&ref);
    int grads = 0;
    if (k->grad) {
        ok &= grad_on(host, k), grads++;
        if (dev) ok &= grad_on(dev, k), grads++;
    }
    printf("%-4s %-16s %-44s %s%s\n", ok ? "ok" : "FAIL", k->op, ref.shape, dev ? "host = device" : "host only",
           grads ? (grads == 2 ? ", backward = central differences (both)" : ", backward = central differences") : "");
    return !ok;
}

static void perf_row(cm_backend *b, const bo_case *k, int reps) {
    bo_ctx c;
    int ok = run_on(b, k, 1, reps, &c);
    bo_free_outputs(&c);
    double ms = bo_median_ms(&c);
    char rate[32] = "";
    if (c.flops > 0)
        snprintf(rate, sizeof rate, "%9.2f GFLOP/s", c.flops / ms * 1e-6);
    else if (c.bytes > 0)
        snprintf(rate, sizeof rate, "%9.2f GB/s", c.bytes / ms * 1e-6);
    printf("%-7s %-16s %-46s %10.4f %s%s\n", b->kind, k->op, c.shape, ms, rate, ok ? "" : "  (errors)");
}

int main(int argc, char **argv) {
    options o;
    setvbuf(stdout, NULL, _IOLBF, 0); /* rows in order with the mismatches on stderr */
    if (parse(argc, argv, &o) != 0) return 2;
    cm_backend *host = NULL, *dev = NULL;
    if ((!o.perf || !o.backend || !strcmp(o.backend, "host")) && backend_host_create(NULL, &host) != CM_OK) {
        fprintf(stderr, "host backend: %s\n", cm_last_error());
        return 1;
    }
    if ((!o.backend || !strcmp(o.backend, "device")) && backend_device_create(NULL, &dev) != CM_OK) {
        printf("no OpenCL device (%s): device comparisons skip\n", cm_last_error());
        dev = NULL;
    }
    if (dev) printf("device: %s\n", dev->device_name);
    int failed = o.perf || o.filter || o.backend ? 0 : !coverage_ok(), ran = 0;
    if (o.perf) printf("%-7s %-16s %-46s %10s %s\n", "backend", "op", "shape", "ms", "rate");
    for (size_t j = 0; j < NCASES; j++) {
        if (!wanted(&o, &cases[j])) continue;
        if (o.perf) {
            if (host) perf_row(host, &cases[j], o.reps), ran++;
            if (dev) perf_row(dev, &cases[j], o.reps), ran++;
        } else if (host) {
            failed += test_row(host, dev, &cases[j]), ran++;
        }
    }
    backend_destroy(dev);
    backend_destroy(host);
    if (!ran) {
        printf("SKIP: no case ran\n");
        return 77;
    }
    if (o.perf)
        printf("%d rows timed\n", ran);
    else
        printf("%d of %d cases failed\n", failed, ran);
    return failed ? 1 : 0;
}
