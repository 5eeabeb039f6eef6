/* host_gemm.h: the reference backend's SGEMM (row-major, optional transposes). */
#ifndef CLMNIST_HOST_GEMM_H
#define CLMNIST_HOST_GEMM_H
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    float *buf; /* packing scratch, grown on demand */
    size_t cap; /* floats */
} host_gemm_scratch;

/* C (m, n) = alpha * op(A) op(B) + beta * C, all row-major. Returns 0, or -1 if the packing
 * scratch cannot be allocated. Deterministic: the result does not depend on the thread count. */
int host_gemm(host_gemm_scratch *s, bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a,
              int lda, const float *b, int ldb, float beta, float *c, int ldc);
void host_gemm_scratch_free(host_gemm_scratch *s);

#endif
