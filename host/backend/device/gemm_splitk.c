/* gemm_splitk.c: split-K for the GEMMs whose C is small and whose k is long.
 *
 * A convolution's weight gradient dW (Cout, C*K*K) = dY (Cout, B*OH*OW) . col^T sums over every
 * position of the batch: for the cnn network's first layer that is 24 x 25 outputs over k = 73,728.
 * CLBlast tiles C, so such a product is one or two work-groups: one core of a CPU device, one
 * compute unit of a GPU, while the rest idle (on PoCL this one GEMM was 27% of the device step).
 * Split-K cuts k into `slots` equal runs, computes their products (m x n each, packed one after
 * another in a scratch buffer) in one CLBlastSgemmStridedBatched call, adds the remainder of k as
 * one more slot, then kernel_splitk_reduce (kernels/nn/reduce.cl) sums the slots in order into C
 * with alpha and beta. Every product is still CLBlast's; only the sum of the slots is ours.
 * tests/test_backend_ops.c checks it against the host at awkward sizes (all four transposes,
 * padded leading dimensions, k not a multiple of the slots). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device_internal.h"

/* C at most this many elements, k at least this long and this many times C's longer side. */
enum { SPLITK_MAX_MN = 16384, SPLITK_MIN_K = 4096, SPLITK_K_PER_SIDE = 16, SPLITK_RUN = 2048, SPLITK_MAX_SLOTS = 32 };

/* How many equal runs to cut k into: 1 (no split) unless C is small and k long. */
static size_t splitk_slots(const gemm_shape *g) {
    const char *env = getenv("CLMNIST_SPLITK"); /* 0: off; N: at most N runs */
    long most = env && *env ? strtol(env, NULL, 10) : SPLITK_MAX_SLOTS;
    if (most < 2) return 1;
    size_t side = g->m > g->n ? g->m : g->n;
    if (g->m * g->n > SPLITK_MAX_MN || g->k < SPLITK_MIN_K || g->k < SPLITK_K_PER_SIDE * side) return 1;
    size_t s = g->k / SPLITK_RUN;
    return s > (size_t)most ? (size_t)most : s < 2 ? 1 : s;
}

/* The scratch buffer for `slots` products of m x n, grown on demand (no host wait: OpenCL frees
 * the old one once the commands queued on it are done). */
static cm_status splitk_scratch(device_backend *db, size_t bytes) {
    if (bytes <= db->splitk_bytes) return CM_OK;
    if (db->splitk) {
        clReleaseMemObject(db->splitk);
        backend_account(&db->base, db->splitk_bytes, 0);
        db->splitk = NULL;
        db->splitk_bytes = 0;
    }
    CM_TRY(device_create_buffer(db, CL_MEM_READ_WRITE, bytes, "split-K GEMM partial products", &db->splitk));
    db->splitk_bytes = bytes;
    backend_account(&db->base, bytes, 1);
    return CM_OK;
}

/* Where run j of k starts in A and in B (elements), for row-major storage. */
static size_t a_at(const gemm_shape *g, size_t j) {
    return g->ta == CLBlastTransposeNo ? j : j * g->lda;
}
static size_t b_at(const gemm_shape *g, size_t j) {
    return g->tb == CLBlastTransposeNo ? j * g->ldb : j;
}

/* Products of runs [0, slots) of `run` each, then the remainder of k into slot `slots`; *last
 * (when profiling) the event of the last call. */
static cm_status splitk_products(device_backend *db, const gemm_shape *g, cl_mem a, cl_mem b, size_t slots, size_t run,
                                 cl_event *last) {
    const size_t mn = g->m * g->n, tail = g->k - slots * run;
    CLBlastStatusCode cs = CLBlastSgemmStridedBatched(g->layout, g->ta, g->tb, g->m, g->n, run, 1.0f, a, 0, g->lda,
                                                      a_at(g, run), b, 0, g->ldb, b_at(g, run), 0.0f, db->splitk, 0,
                                                      g->n, mn, slots, &db->queue, tail ? NULL : PROF_EVENT(db, last));
    if (cs != CLBlastSuccess) return clblast_fail_call(cs, "CLBlastSgemmStridedBatched", __FILE__, __LINE__);
    if (tail == 0) return CM_OK;
    cs = CLBlastSgemm(g->layout, g->ta, g->tb, g->m, g->n, tail, 1.0f, a, a_at(g, slots * run), g->lda, b,
                      b_at(g, slots * run), g->ldb, 0.0f, db->splitk, slots * mn, g->n, &db->queue,
                      PROF_EVENT(db, last));
    return cs == CLBlastSuccess ? CM_OK : clblast_fail_call(cs, "CLBlastSgemm", __FILE__, __LINE__);
}

cm_status device_gemm_splitk(device_backend *db, const gemm_shape *key, float alpha, cm_buf *a, cm_buf *b, float beta,
                             cm_buf *c, int *done) {
    *done = 0;
    const size_t slots = splitk_slots(key);
    if (slots < 2) return CM_OK;
    const size_t run = key->k / slots, used = key->k % slots ? slots + 1 : slots;
    CM_TRY(splitk_scratch(db, used * key->m * key->n * sizeof(float)));
    /* profiled as one GEMM: from a marker before the products to the last of them */
    cl_event start = NULL, end = NULL;
    if (db->prof) CL_CHECK(clEnqueueMarkerWithWaitList(db->queue, 0, NULL, &start));
    cm_status st = splitk_products(db, key, a->mem, b->mem, slots, run, &end);
    if (st != CM_OK) {
        if (start) clReleaseEvent(start);
        return st;
    }
    if (db->prof) {
        char label[80];
        snprintf(label, sizeof label, "CLBlast GEMM %zux%zux%zu %c%c (split-K, %zu runs)", key->m, key->n, key->k,
                 key->ta == CLBlastTransposeYes ? 'T' : 'N', key->tb == CLBlastTransposeYes ? 'T' : 'N', used);
        CM_TRY(device_prof_add(db, label, start, end));
    }
    cl_kernel k = db->k[K_SPLITK_REDUCE];
    const int nslots = (int)used, m = (int)key->m, n = (int)key->n, ldc = (int)key->ldc;
    CL_CHECK(clSetKernelArg(k, 0, sizeof(cl_mem), &db->splitk));
    ARG(k, 1, nslots);
    ARG(k, 2, m);
    ARG(k, 3, n);
    ARG(k, 4, alpha);
    ARG(k, 5, beta);
    ARG_MEM(k, 6, c);
    ARG(k, 7, ldc);
    CM_TRY(device_launch_2d(db, K_SPLITK_REDUCE, key->n, key->m, 0, NULL, NULL));
    *done = 1;
    return CM_OK;
}
