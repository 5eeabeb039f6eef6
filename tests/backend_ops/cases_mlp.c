/* cases_mlp.c: run functions of the dense-layer operations (gemm, bias_act, relu_backward,
 * dropout, bias_grad, softmax_xent, argmax, opt_update, max_norm). Where an exact or float64
 * answer is cheap it is checked on every backend as well (gemm, relu_backward, dropout, bias_grad,
 * argmax, max_norm), so a machine without OpenCL still tests the reference backend. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bops.h"

static float *relu_of(bo_ctx *c, size_t n, uint64_t seed) {
    float *y = bo_uniform(c, n, seed);
    for (size_t i = 0; i < n; i++)
        y[i] = y[i] > 0.0f ? y[i] : 0.0f;
    return y;
}

/* C (m, n; ldc = n + pad) = 0.75 op(A) op(B) - 0.5 C (or + 0 C with p[6]) against a float64 triple
 * loop. */
static void gemm_oracle(bo_ctx *c, const bo_case *k, const float *a, int lda, const float *b, int ldb, const float *c0,
                        const float *got, int ldc) {
    int m = k->p[0], n = k->p[1], kk = k->p[2], ta = k->p[3], tb = k->p[4];
    double *ref = bo_tmp(c, sizeof(double) * (size_t)m * ldc);
    float *g = bo_tmp(c, 4 * (size_t)m * ldc);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < ldc; j++) {
            double s = 0.0;
            for (int p = 0; p < kk && j < n; p++)
                s += (double)(ta ? a[p * lda + i] : a[i * lda + p]) * (double)(tb ? b[j * ldb + p] : b[p * ldb + j]);
            double keep = k->p[6] ? 0.0 : -0.5 * c0[(size_t)i * ldc + j];
            ref[(size_t)i * ldc + j] = j < n ? 0.75 * s + keep : c0[(size_t)i * ldc + j];
            g[(size_t)i * ldc + j] = got[(size_t)i * ldc + j];
        }
    bo_check64(c, "gemm vs float64", g, ref, (size_t)m * ldc, k->atol, k->rtol);
}

/* p: m, n, k, trans_a, trans_b, extra leading-dimension padding, and 1 for beta 0 over a C of NaN
 * (BLAS's rule: C is then not read) */
void bo_run_gemm(bo_ctx *c, const bo_case *k) {
    int m = k->p[0], n = k->p[1], kk = k->p[2], ta = k->p[3], tb = k->p[4], pad = k->p[5];
    int lda = (ta ? m : kk) + pad, ldb = (tb ? kk : n) + pad, ldc = n + pad;
    size_t na = (size_t)(ta ? kk : m) * lda, nb = (size_t)(tb ? n : kk) * ldb, nc = (size_t)m * ldc;
    bo_shape(c, "%dx%dx%d %c%c ld+%d%s", m, n, kk, ta ? 'T' : 'N', tb ? 'T' : 'N', pad, k->p[6] ? " beta 0" : "");
    float *a = bo_uniform(c, na, 10 + (uint64_t)m), *b = bo_uniform(c, nb, 20 + (uint64_t)n);
    float *c0 = bo_uniform(c, nc, 30 + (uint64_t)kk), beta = k->p[6] ? 0.0f : -0.5f;
    for (int i = 0; k->p[6] && i < m; i++)
        for (int j = 0; j < n; j++)
            c0[(size_t)i * ldc + j] = NAN;
    cm_buf *A = bo_in(c, a, 4 * na), *B = bo_in(c, b, 4 * nb), *C = bo_in(c, c0, 4 * nc);
    BO_TIMED(c) BO_OK(c, backend_gemm(c->b, ta, tb, m, n, kk, 0.75f, A, lda, B, ldb, beta, C, ldc));
    c->flops = 2.0 * m * n * kk;
    bo_keep(c, "C", C, BO_F32, nc, k->atol, k->rtol);
    if (!c->perf && (double)m * n * kk <= 4e6) gemm_oracle(c, k, a, lda, b, ldb, c0, c->out[c->nout - 1].v, ldc);
}

/* p: rows, cols, relu */
void bo_run_bias_act(bo_ctx *c, const bo_case *k) {
    int rows = k->p[0], cols = k->p[1];
    size_t n = (size_t)rows * cols;
    bo_shape(c, "%dx%d%s", rows, cols, k->p[2] ? " relu" : "");
    cm_buf *Y = bo_in(c, bo_uniform(c, n, 1), 4 * n), *B = bo_in(c, bo_uniform(c, (size_t)cols, 2), 4 * (size_t)cols);
    BO_TIMED(c) BO_OK(c, backend_bias_act(c->b, Y, B, rows, cols, k->p[2]));
    c->bytes = 8.0 * (double)n;
    bo_keep(c, "y", Y, BO_F32, n, k->atol, k->rtol);
}

/* p: n; f: the dropout scale */
void bo_run_relu_backward(bo_ctx *c, const bo_case *k) {
    size_t n = (size_t)k->p[0];
    float scale = k->f[0];
    bo_shape(c, "n %zu scale %g", n, (double)scale);
    float *y = relu_of(c, n, 1), *dy = bo_uniform(c, n, 2);
    cm_buf *D = bo_in(c, dy, 4 * n), *Y = bo_in(c, y, 4 * n);
    BO_TIMED(c) BO_OK(c, backend_relu_backward(c->b, D, Y, n, scale));
    c->bytes = 12.0 * (double)n;
    bo_keep(c, "dy", D, BO_F32, n, k->atol, k->rtol);
    const float *got = c->out[c->nout - 1].v;
    for (size_t i = 0; i < n && !c->perf; i++)
        if (got[i] != (y[i] > 0.0f ? dy[i] * scale : 0.0f)) {
            fprintf(stderr, "  relu_backward[%zu]: %g\n", i, (double)got[i]);
            c->failed = 1;
            break;
        }
}

/* p: n, element offset, layer; f: p */
void bo_run_dropout(bo_ctx *c, const bo_case *k) {
    size_t n = (size_t)k->p[0], off = (size_t)k->p[1];
    float p = k->f[0];
    bo_shape(c, "n %zu at +%zu p %g", n, off, (double)p);
    float *y = bo_uniform(c, n, 70 + n);
    cm_buf *Y = bo_in(c, y, 4 * n);
    BO_TIMED(c) BO_OK(c, backend_dropout(c->b, Y, n, p, 0x123456789abcULL, (uint32_t)k->p[2], 5000000000ULL + n, off));
    c->bytes = 8.0 * (double)n;
    bo_keep(c, "y", Y, BO_F32, n, 0, 0);
    const float *got = c->out[c->nout - 1].v;
    size_t zeros = 0;
    for (size_t i = 0; i < n && !c->perf; i++) {
        zeros += got[i] == 0.0f;
        if (got[i] != 0.0f && fabs(got[i] - y[i] / (1.0 - p)) > 1e-6 * fabs(y[i] / (1.0 - p))) {
            fprintf(stderr, "  dropout[%zu]: %g from %g\n", i, (double)got[i], (double)y[i]);
            c->failed = 1;
            break;
        }
    }
    if (!c->perf && n >= 1000 && (zeros < n * (p - 0.1) || zeros > n * (p + 0.1))) {
        fprintf(stderr, "  dropout: %zu of %zu dropped at p %g\n", zeros, n, (double)p);
        c->failed = 1;
    }
}

/* p: rows, cols, fused ReLU mask */
void bo_run_bias_grad(bo_ctx *c, const bo_case *k) {
    int rows = k->p[0], cols = k->p[1], fused = k->p[2];
    size_t n = (size_t)rows * cols;
    bo_shape(c, "%dx%d%s", rows, cols, fused ? " relu mask" : "");
    float *dy = bo_uniform(c, n, 3), *y = relu_of(c, n, 4);
    cm_buf *D = bo_in(c, dy, 4 * n), *Y = fused ? bo_in(c, y, 4 * n) : NULL, *DB = bo_out(c, (size_t)cols, 7.25f);
    BO_TIMED(c) BO_OK(c, backend_bias_grad(c->b, D, Y, DB, rows, cols));
    c->bytes = (fused ? 12.0 : 4.0) * (double)n;
    bo_keep(c, "db", DB, BO_F32, (size_t)cols, k->atol, k->rtol);
    bo_keep(c, "dy (masked)", D, BO_F32, n, 0, 0);
    double *ref = bo_tmp(c, sizeof(double) * (size_t)cols);
    for (size_t i = 0; i < n; i++)
        ref[i % (size_t)cols] += !fused || y[i] > 0.0f ? dy[i] : 0.0;
    if (!c->perf) bo_check64(c, "bias_grad vs float64", c->out[c->nout - 2].v, ref, (size_t)cols, k->atol, k->rtol);
}

/* p: rows, classes, with dlogits */
void bo_run_softmax_xent(bo_ctx *c, const bo_case *k) {
    int rows = k->p[0], classes = k->p[1], grad = k->p[2];
    size_t n = (size_t)rows * classes;
    bo_shape(c, "%d rows x %d classes%s", rows, classes, grad ? "" : ", no dlogits");
    float *z = bo_uniform(c, n, 50 + n);
    for (size_t i = 0; i < n; i++)
        z[i] *= 8.0f;
    cm_buf *Z = bo_in(c, z, 4 * n), *Y = bo_in(c, bo_labels(c, rows, classes, n), 4 * (size_t)rows);
    cm_buf *D = bo_out(c, n, 7.25f), *L = bo_in(c, bo_uniform(c, rows, 60), 4 * (size_t)rows);
    cm_buf *A = bo_out(c, rows, 0.0f);
    BO_TIMED(c) BO_OK(c, backend_softmax_xent(c->b, Z, Y, grad ? D : NULL, L, A, rows, classes));
    c->bytes = (grad ? 8.0 : 4.0) * (double)n;
    bo_keep(c, "dlogits", D, BO_F32, n, k->atol, k->rtol);
    bo_keep(c, "loss", L, BO_F32, (size_t)rows, 1e-6, 1e-5);
    bo_keep(c, "correct", A, BO_F32, (size_t)rows, 0, 0);
}

/* p: rows, classes, ties (logits rounded to thirds) */
void bo_run_argmax(bo_ctx *c, const bo_case *k) {
    int rows = k->p[0], classes = k->p[1];
    size_t n = (size_t)rows * classes;
    bo_shape(c, "%d rows x %d classes%s", rows, classes, k->p[2] ? ", ties" : "");
    float *z = bo_uniform(c, n, 40 + n);
    for (size_t i = 0; i < n && k->p[2]; i++)
        z[i] = floorf(z[i] * 1.5f) / 3.0f;
    int32_t *lab = bo_labels(c, rows, classes, 41);
    cm_buf *Z = bo_in(c, z, 4 * n), *Y = bo_in(c, lab, 4 * (size_t)rows);
    cm_buf *P = bo_out(c, rows, 7.25f), *A = bo_out(c, rows, 0.5f);
    BO_TIMED(c) BO_OK(c, backend_argmax(c->b, Z, Y, P, A, rows, classes));
    c->bytes = 4.0 * (double)n;
    bo_keep(c, "pred", P, BO_I32, (size_t)rows, 0, 0);
    bo_keep(c, "correct", A, BO_F32, (size_t)rows, 0, 0);
    const int32_t *pred = c->out[c->nout - 2].v;
    const float *acc = c->out[c->nout - 1].v;
    for (int r = 0; r < rows && !c->perf; r++) {
        int best = 0;
        for (int j = 1; j < classes; j++)
            best = z[(size_t)r * classes + j] > z[(size_t)r * classes + best] ? j : best;
        if (pred[r] != best || acc[r] != 0.5f + (best == lab[r])) {
            fprintf(stderr, "  argmax row %d: %d (correct %g), first maximum %d\n", r, pred[r], (double)acc[r], best);
            c->failed = 1;
            break;
        }
    }
}

static const cm_opt_step opt_kinds[] = {
    {.kind = CM_OPT_SGD, .lr = 0.3f},
    {.kind = CM_OPT_SGD, .lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.01f},
    {.kind = CM_OPT_NESTEROV, .lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.01f},
    {.kind = CM_OPT_ADAM, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f},
    {.kind = CM_OPT_ADAMW, .lr = 1e-3f, .beta1 = 0.8f, .beta2 = 0.99f, .eps = 1e-6f, .weight_decay = 0.1f},
};
static const char *const opt_names[] = {"sgd", "momentum", "nesterov", "adam", "adamw"};

/* p: n, kind (opt_kinds), steps */
void bo_run_opt_update(bo_ctx *c, const bo_case *k) {
    size_t n = (size_t)k->p[0];
    int kind = k->p[1], adam = opt_kinds[kind].kind >= CM_OPT_ADAM, use_m = kind > 0;
    bo_shape(c, "%s n %zu, %d steps", opt_names[kind], n, k->p[2]);
    float *v0 = bo_uniform(c, n, 4);
    for (size_t i = 0; i < n; i++)
        v0[i] *= v0[i]; /* a second moment is >= 0 */
    cm_buf *W = bo_in(c, bo_uniform(c, n, 1), 4 * n), *G = bo_in(c, bo_uniform(c, n, 2), 4 * n);
    cm_buf *M = bo_in(c, bo_uniform(c, n, 3), 4 * n), *V = bo_in(c, v0, 4 * n);
    BO_TIMED(c) {
        for (int t = 1; t <= k->p[2]; t++) {
            cm_opt_step st = opt_kinds[kind];
            if (adam) {
                st.step_size = (float)(st.lr / (1.0 - pow(st.beta1, t)));
                st.bc2_sqrt = (float)sqrt(1.0 - pow(st.beta2, t));
            }
            BO_OK(c, backend_opt_update(c->b, W, G, use_m ? M : NULL, adam ? V : NULL, n, &st));
        }
    }
    c->bytes = (8.0 + 8.0 * use_m + 8.0 * adam) * (double)n * k->p[2];
    bo_keep(c, "w", W, BO_F32, n, k->atol, k->rtol);
    bo_keep(c, "m", M, BO_F32, n, 1e-7, 1e-6);
    bo_keep(c, "v", V, BO_F32, n, 1e-7, 1e-6);
}

/* p: rows, cols; f: c / sqrt(cols) (a row of U(-1, 1) has norm ~ sqrt(cols / 3)) */
void bo_run_max_norm(bo_ctx *c, const bo_case *k) {
    int rows = k->p[0], cols = k->p[1];
    size_t n = (size_t)rows * cols;
    float cap = k->f[0] * sqrtf((float)cols);
    bo_shape(c, "%dx%d c %.3g", rows, cols, (double)cap);
    float *w = bo_uniform(c, n, 80 + n);
    cm_buf *W = bo_in(c, w, 4 * n);
    BO_TIMED(c) BO_OK(c, backend_max_norm(c->b, W, rows, cols, cap));
    c->bytes = 8.0 * (double)n;
    bo_keep(c, "w", W, BO_F32, n, k->atol, k->rtol);
    double *ref = bo_tmp(c, sizeof(double) * n);
    for (int r = 0; r < rows; r++) {
        double s = 0.0;
        for (int j = 0; j < cols; j++)
            s += (double)w[(size_t)r * cols + j] * w[(size_t)r * cols + j];
        double f = sqrt(s) > cap ? cap / sqrt(s) : 1.0;
        for (int j = 0; j < cols; j++)
            ref[(size_t)r * cols + j] = w[(size_t)r * cols + j] * f;
    }
    if (!c->perf) bo_check64(c, "max_norm vs float64", c->out[c->nout - 1].v, ref, n, 1e-6, 1e-5);
}
