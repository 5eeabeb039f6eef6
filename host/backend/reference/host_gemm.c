/* host_gemm.c: the host SGEMM is OpenBLAS's, called through CBLAS.
 *
 * Threads: OpenMP runs the element-wise loops and OpenBLAS has a pthread pool of its own; both
 * spin-wait after a call, so on a small machine the two pools fight over the cores. Mode
 * "split" (the default, chosen by measurement: docs/BENCHMARKS.md) keeps OpenBLAS on one thread
 * and cuts the product into one block of C per OpenMP thread, so a single pool runs everything
 * and `--threads` counts every thread. Mode "blas" (CLMNIST_HOST_GEMM=blas) lets OpenBLAS thread
 * the product itself, for comparison. */
#include "host_gemm.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* OpenBLAS extensions, declared by its cblas.h; named here so that a plain CBLAS header fails loudly. */
void openblas_set_num_threads(int num_threads);
char *openblas_get_config(void);
char *openblas_get_corename(void);

static bool blas_threads_itself(void) {
    const char *mode = getenv("CLMNIST_HOST_GEMM");
    return mode && strcmp(mode, "blas") == 0;
}

static int max_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

int host_gemm_set_threads(int n) {
#ifdef _OPENMP
    if (n > 0) omp_set_num_threads(n);
#endif
    openblas_set_num_threads(blas_threads_itself() ? max_threads() : 1);
    return max_threads();
}

const char *host_blas_name(void) {
    static char name[160];
    snprintf(name, sizeof name, "OpenBLAS (%s; %s)", openblas_get_corename(), openblas_get_config());
    return name;
}

static void sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                  float beta, float *c, int ldc) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda,
                b, ldb, beta, c, ldc);
}

/* Below this many multiply-adds a second thread costs more than it saves. */
enum { SPLIT_MIN_MACS = 1 << 16, SPLIT_ALIGN = 16 };

void host_gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
               float beta, float *c, int ldc) {
    int parts = max_threads();
    if (blas_threads_itself() || parts < 2 || (double)m * n * k < SPLIT_MIN_MACS) {
        sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    /* One block of C's rows (or columns, when there are more) per thread, in multiples of 16. */
    bool by_rows = m >= n;
    int len = by_rows ? m : n;
    int chunk = ((len + parts - 1) / parts + SPLIT_ALIGN - 1) / SPLIT_ALIGN * SPLIT_ALIGN;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < parts; p++) {
        int lo = p * chunk, hi = lo + chunk < len ? lo + chunk : len;
        if (lo >= hi) continue;
        if (by_rows) /* rows lo..hi of op(A) and of C */
            sgemm(ta, tb, hi - lo, n, k, alpha, ta ? a + lo : a + (size_t)lo * lda, lda, b, ldb, beta,
                  c + (size_t)lo * ldc, ldc);
        else /* columns lo..hi of op(B) and of C */
            sgemm(ta, tb, m, hi - lo, k, alpha, a, lda, tb ? b + (size_t)lo * ldb : b + lo, ldb, beta, c + lo, ldc);
    }
}
