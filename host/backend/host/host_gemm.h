/* host_gemm.h: the host backend's SGEMM (row-major, optional transposes), through CBLAS
 * (OpenBLAS). The host backend keeps one thread pool, OpenMP's, and gives OpenBLAS its share. */
#ifndef CLMNIST_HOST_GEMM_H
#define CLMNIST_HOST_GEMM_H
#include <stdbool.h>

/* C (m, n) = alpha * op(A) op(B) + beta * C, all row-major. */
void host_gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
               int ldb, float beta, float *c, int ldc);

/* The same as one call on the calling thread, for work that is already spread over the threads. */
void host_gemm_serial(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                      const float *b, int ldb, float beta, float *c, int ldc);

/* Sets the threads both the GEMM and the element-wise loops use (n <= 0: keep the default);
 * returns the count in effect. */
int host_gemm_set_threads(int n);

/* "OpenBLAS 0.3.21 (Haswell, pthread)"-style description of the BLAS in use. */
const char *backend_host_blas_name(void);

#endif
