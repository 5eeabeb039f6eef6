/* gemm_cases.c: the GEMMs of a network's training step, and their timing on any backend. */
#include "gemm_cases.h"

#include <stdio.h>
#include <stdlib.h>

#include "rng.h"
#include "timer.h"

static int add_case(gemm_case *out, int n, const char *what, int layer, bool ta, bool tb, int m, int nn, int k) {
    static char names[3 * CM_MAX_LAYERS][48];
    snprintf(names[n], sizeof names[n], "layer %d %s", layer + 1, what);
    out[n] = (gemm_case){names[n], ta, tb, m, nn, k, 0, 0};
    return n + 1;
}

int gemm_model_cases(const cm_layout *L, int B, gemm_case *out) {
    int n = 0, seen_params = 0;
    for (int i = 0; i < L->nlayers; i++) {
        const cm_layer *l = &L->layers[i];
        if (l->type == CM_LAYER_LINEAR) {
            int in = (int)shape_numel(l->in), o = l->out;
            n = add_case(out, n, "forward  Y=X.W^T", i, false, true, B, o, in);
            n = add_case(out, n, "weight   dW=dY^T.X", i, true, false, o, in, B);
            if (seen_params) n = add_case(out, n, "input    dX=dY.W", i, false, false, B, in, o);
        } else if (l->type == CM_LAYER_CONV2D) {
            int ckk = l->in.c * l->kernel * l->kernel, cols = B * l->out_shape.h * l->out_shape.w, o = l->out;
            n = add_case(out, n, "forward  Y=W.col", i, false, false, o, cols, ckk);
            n = add_case(out, n, "weight   dW=dY.col^T", i, false, true, o, ckk, cols);
            if (seen_params) n = add_case(out, n, "input    dcol=W^T.dY", i, true, false, ckk, cols, o);
        }
        seen_params |= l->weight != CM_NO_TENSOR;
    }
    return n;
}

static cm_status alloc_random(cm_backend *b, size_t n, cm_rng *rng, cm_buf **out) {
    float *h = malloc(n * sizeof(float));
    if (!h) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    for (size_t i = 0; i < n; i++)
        h[i] = 2.0f * rng_uniform(rng) - 1.0f;
    cm_status st = backend_alloc(b, n * sizeof(float), 0, "benchmark matrix", out);
    if (st == CM_OK) st = backend_upload(b, *out, 0, h, n * sizeof(float));
    free(h);
    return st;
}

cm_status gemm_case_time(cm_backend *b, gemm_case *g, double min_seconds) {
    cm_rng rng;
    rng_seed(&rng, 7, 1);
    size_t am = g->ta ? (size_t)g->k : (size_t)g->m, ak = g->ta ? (size_t)g->m : (size_t)g->k;
    size_t bk = g->tb ? (size_t)g->n : (size_t)g->k, bn = g->tb ? (size_t)g->k : (size_t)g->n;
    cm_buf *A = NULL, *B = NULL, *C = NULL;
    cm_status st = alloc_random(b, am * ak, &rng, &A);
    if (st == CM_OK) st = alloc_random(b, bk * bn, &rng, &B);
    if (st == CM_OK) st = alloc_random(b, (size_t)g->m * g->n, &rng, &C);
    int reps = 0;
    double t0 = 0.0, secs = 0.0;
    /* one untimed call (kernel compile, temporary buffer), then repeat for at least min_seconds */
    for (int i = 0; st == CM_OK && (reps < 3 || secs < min_seconds) && reps < 100000; i++) {
        st = backend_gemm(b, g->ta, g->tb, g->m, g->n, g->k, 1.0f, A, (int)ak, B, (int)bn, 0.0f, C, g->n);
        if (st == CM_OK && i == 0) {
            st = backend_finish(b);
            t0 = timer_now();
        } else if (st == CM_OK) {
            reps++;
            if (reps % 4 == 0 || reps < 4) st = backend_finish(b);
            secs = timer_now() - t0;
        }
    }
    if (st == CM_OK) st = backend_finish(b);
    secs = timer_now() - t0;
    backend_release(b, A);
    backend_release(b, B);
    backend_release(b, C);
    CM_TRY(st);
    g->seconds = secs / reps;
    g->gflops = 2.0 * g->m * g->n * g->k / g->seconds / 1e9;
    return CM_OK;
}
