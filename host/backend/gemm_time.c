/* gemm_time.c: timing one GEMM shape on any backend (gemm_time.h). */
#include "gemm_time.h"

#include <stdlib.h>

#include "rng.h"
#include "timer.h"

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
