/* host_gemm.c: cache-blocked SGEMM in plain C (GotoBLAS-style): B is packed into KC x NC
 * panels of NR columns, A into MC x KC panels of MR rows, and a MR x NR micro-kernel keeps its
 * accumulators in registers (the compiler vectorises the fixed-size inner loops). Row blocks
 * of C are spread over OpenMP threads; every C element sees the same summation order whatever
 * the thread count. */
#include "host_gemm.h"

#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

enum { MR = 6, NR = 16, MC = 72, KC = 256, NC = 512 };

/* op(X)[i, p] for a row-major X with leading dimension ld. */
static inline float at(const float *x, int ld, bool trans, int i, int p) {
    return trans ? x[(size_t)p * ld + i] : x[(size_t)i * ld + p];
}

/* Packs op(B)[pc:pc+kc, jc:jc+nc] into NR-wide column panels, zero-padded. */
static void pack_b(float *dst, const float *b, int ldb, bool trans, int pc, int kc, int jc, int nc) {
    for (int j0 = 0; j0 < nc; j0 += NR) {
        int w = nc - j0 < NR ? nc - j0 : NR;
        for (int p = 0; p < kc; p++) {
            float *d = dst + (size_t)j0 * kc + (size_t)p * NR;
            if (!trans) {
                const float *src = b + (size_t)(pc + p) * ldb + jc + j0;
                for (int j = 0; j < w; j++)
                    d[j] = src[j];
            } else {
                for (int j = 0; j < w; j++)
                    d[j] = b[(size_t)(jc + j0 + j) * ldb + pc + p];
            }
            for (int j = w; j < NR; j++)
                d[j] = 0.0f;
        }
    }
}

/* Packs alpha * op(A)[ic:ic+mc, pc:pc+kc] into MR-tall row panels, zero-padded. */
static void pack_a(float *dst, const float *a, int lda, bool trans, float alpha, int ic, int mc, int pc, int kc) {
    for (int i0 = 0; i0 < mc; i0 += MR) {
        int h = mc - i0 < MR ? mc - i0 : MR;
        float *d = dst + (size_t)i0 * kc;
        for (int p = 0; p < kc; p++) {
            for (int i = 0; i < h; i++)
                d[(size_t)p * MR + i] = alpha * at(a, lda, trans, ic + i0 + i, pc + p);
            for (int i = h; i < MR; i++)
                d[(size_t)p * MR + i] = 0.0f;
        }
    }
}

/* 8 floats: GCC vector extension (one AVX register, or two SSE registers in the baseline clone). */
typedef float v8f __attribute__((vector_size(32)));

/* acc (MR, NR) = Ap (kc, MR)^T Bp (kc, NR), kept in 2*MR vector registers; then C[0:h, 0:w] += acc.
 * Compiled twice (AVX2 and baseline x86-64, neither with FMA, so both round alike); the loader
 * picks the one the CPU runs. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static void
micro_kernel(int kc, const float *ap, const float *bp, float *c, int ldc, int h, int w) {
    v8f acc[MR][2];
    memset(acc, 0, sizeof acc);
    for (int p = 0; p < kc; p++) {
        v8f b0, b1;
        memcpy(&b0, bp + (size_t)p * NR, sizeof b0);
        memcpy(&b1, bp + (size_t)p * NR + 8, sizeof b1);
        const float *av = ap + (size_t)p * MR;
        for (int i = 0; i < MR; i++) {
            v8f a = (v8f){0} + av[i];
            acc[i][0] += a * b0;
            acc[i][1] += a * b1;
        }
    }
    float out[MR][NR];
    memcpy(out, acc, sizeof out);
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++)
            c[(size_t)i * ldc + j] += out[i][j];
}

int host_gemm(host_gemm_scratch *s, bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a,
              int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    for (int i = 0; i < m; i++) {
        float *row = c + (size_t)i * ldc;
        if (beta == 0.0f)
            memset(row, 0, sizeof(float) * (size_t)n);
        else if (beta != 1.0f)
            for (int j = 0; j < n; j++)
                row[j] *= beta;
    }
    if (k == 0 || alpha == 0.0f) return 0;
    int nthreads = 1;
#ifdef _OPENMP
    nthreads = omp_get_max_threads();
#endif
    size_t bsize = (size_t)KC * NC, asize = (size_t)MC * KC;
    size_t need = bsize + asize * (size_t)nthreads;
    if (s->cap < need) {
        float *nb = realloc(s->buf, need * sizeof(float));
        if (!nb) return -1;
        s->buf = nb;
        s->cap = need;
    }
    float *bp = s->buf;
    for (int jc = 0; jc < n; jc += NC) {
        int nc = n - jc < NC ? n - jc : NC;
        for (int pc = 0; pc < k; pc += KC) {
            int kc = k - pc < KC ? k - pc : KC;
            pack_b(bp, b, ldb, trans_b, pc, kc, jc, nc);
            int nblocks = (m + MC - 1) / MC;
#pragma omp parallel for schedule(static) if (nblocks > 1 && (size_t)m * nc * kc > 65536)
            for (int blk = 0; blk < nblocks; blk++) {
                int tid = 0;
#ifdef _OPENMP
                tid = omp_get_thread_num();
#endif
                float *ap = s->buf + bsize + asize * (size_t)tid;
                int ic = blk * MC, mc = m - ic < MC ? m - ic : MC;
                pack_a(ap, a, lda, trans_a, alpha, ic, mc, pc, kc);
                for (int j0 = 0; j0 < nc; j0 += NR) {
                    int w = nc - j0 < NR ? nc - j0 : NR;
                    for (int i0 = 0; i0 < mc; i0 += MR) {
                        int h = mc - i0 < MR ? mc - i0 : MR;
                        micro_kernel(kc, ap + (size_t)i0 * kc, bp + (size_t)j0 * kc,
                                     c + (size_t)(ic + i0) * ldc + jc + j0, ldc, h, w);
                    }
                }
            }
        }
    }
    return 0;
}

void host_gemm_scratch_free(host_gemm_scratch *s) {
    free(s->buf);
    s->buf = NULL;
    s->cap = 0;
}
