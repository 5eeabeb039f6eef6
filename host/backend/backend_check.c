/* backend_check.c: one backend's GEMM against another's on the same random inputs. */
#include <math.h>
#include <stdlib.h>

#include "backend.h"
#include "rng.h"

/* c = alpha op(a) op(b) + beta c on backend bk, from and back to host arrays. */
static cm_status gemm_on(cm_backend *bk, bool ta, bool tb, int m, int n, int k, const float *a, const float *b,
                         float *c) {
    size_t sa = sizeof(float) * (size_t)m * (size_t)k, sb = sizeof(float) * (size_t)k * (size_t)n;
    size_t sc = sizeof(float) * (size_t)m * (size_t)n;
    cm_buf *buf[3] = {NULL, NULL, NULL};
    cm_status st = backend_alloc(bk, sa, 0, "gemm check A", &buf[0]);
    if (st == CM_OK) st = backend_alloc(bk, sb, 0, "gemm check B", &buf[1]);
    if (st == CM_OK) st = backend_alloc(bk, sc, 0, "gemm check C", &buf[2]);
    if (st == CM_OK) st = backend_upload(bk, buf[0], 0, a, sa);
    if (st == CM_OK) st = backend_upload(bk, buf[1], 0, b, sb);
    if (st == CM_OK) st = backend_upload(bk, buf[2], 0, c, sc);
    if (st == CM_OK)
        st = backend_gemm(bk, ta, tb, m, n, k, 0.75f, buf[0], ta ? m : k, buf[1], tb ? k : n, -0.5f, buf[2], n);
    if (st == CM_OK) st = backend_download(bk, buf[2], 0, c, sc);
    for (int i = 0; i < 3; i++)
        backend_release(bk, buf[i]);
    return st;
}

cm_status backend_gemm_agreement(cm_backend *ref, cm_backend *b, int m, int n, int k, uint64_t seed, double *rel_l2) {
    size_t na = (size_t)m * (size_t)k, nb = (size_t)k * (size_t)n, nc = (size_t)m * (size_t)n;
    float *a = malloc(sizeof(float) * na), *bm = malloc(sizeof(float) * nb), *c0 = malloc(sizeof(float) * nc);
    float *c1 = malloc(sizeof(float) * nc), *c2 = malloc(sizeof(float) * nc);
    cm_status st = a && bm && c0 && c1 && c2 ? CM_OK : cm_fail(CM_ERR_MEMORY, "out of host memory");
    cm_rng r;
    rng_seed(&r, seed, 11);
    float *fill[3] = {a, bm, c0};
    size_t count[3] = {na, nb, nc};
    for (int i = 0; i < 3 && st == CM_OK; i++)
        for (size_t j = 0; j < count[i]; j++)
            fill[i][j] = 2.0f * rng_uniform(&r) - 1.0f;
    *rel_l2 = 0.0;
    for (int t = 0; t < 4 && st == CM_OK; t++) { /* NN, NT, TN, TT */
        bool ta = t & 2, tb = t & 1;
        for (size_t j = 0; j < nc; j++)
            c1[j] = c2[j] = c0[j];
        st = gemm_on(ref, ta, tb, m, n, k, a, bm, c1);
        if (st == CM_OK) st = gemm_on(b, ta, tb, m, n, k, a, bm, c2);
        double num = 0.0, den = 0.0;
        for (size_t j = 0; j < nc && st == CM_OK; j++) {
            double d = (double)c2[j] - (double)c1[j];
            num += d * d;
            den += (double)c1[j] * (double)c1[j];
        }
        double e = den > 0.0 ? sqrt(num / den) : sqrt(num);
        if (st == CM_OK && (isnan(e) || e > *rel_l2)) *rel_l2 = e; /* a NaN stays */
    }
    free(a);
    free(bm);
    free(c0);
    free(c1);
    free(c2);
    return st;
}
