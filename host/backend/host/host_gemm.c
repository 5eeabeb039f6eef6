/* host_gemm.c: the host SGEMM is OpenBLAS's, called through CBLAS.
 *
 * Threads: OpenMP runs the element-wise loops and OpenBLAS has a pthread pool of its own; both
 * spin-wait after a call, so on a small machine the two pools fight over the cores. Mode
 * "split" (the default, chosen by measurement: docs/BENCHMARKS.md) keeps OpenBLAS on one thread
 * and cuts the product into blocks of C that OpenMP's threads share, so a single pool runs everything
 * and `--threads` counts every thread. Mode "blas" (CLMNIST_HOST_GEMM=blas) lets OpenBLAS thread
 * the product itself, for comparison.
 * CLMNIST_HOST_GEMM_BLOCK=N sets the block size (default 64), for measurements. */
#include "host_gemm.h"

#include "backend.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* OpenBLAS built for several CPUs (DYNAMIC_ARCH, as Debian's) picks its kernels when it loads,
 * unless OPENBLAS_CORETYPE names them. Its AVX-512 kernels (SkylakeX; Cooperlake and
 * SapphireRapids add to them) need AVX-512 F, BW, DQ and VL, enabled by the system. On the 2-core
 * EPYC VM, whose environment set OPENBLAS_CORETYPE=Haswell, they ran the MLP step 1.2-1.5x and
 * the cnn step 1.2-1.3x faster than the Haswell (AVX2) kernels (docs/BENCHMARKS.md). */
static bool avx512_core(const char *core) {
    return !strcasecmp(core, "skylakex") || !strcasecmp(core, "cooperlake") || !strcasecmp(core, "sapphirerapids");
}

const char *backend_host_blas_better_core(void) {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    const char *core = openblas_get_corename(), *config = openblas_get_config();
    if (!core || avx512_core(core) || !config || !strstr(config, "DYNAMIC_ARCH")) return NULL;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
#endif
    return NULL;
}

const char *backend_host_blas_core(void) {
    const char *core = openblas_get_corename();
    return core ? core : "?";
}

const char *backend_host_blas_name(void) {
    static char name[160];
    snprintf(name, sizeof name, "OpenBLAS (%s; %s)", openblas_get_corename(), openblas_get_config());
    return name;
}

static void sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                  float beta, float *c, int ldc) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda,
                b, ldb, beta, c, ldc);
}

void host_gemm_serial(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                      int ldb, float beta, float *c, int ldc) {
    sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* Below this many multiply-adds one call is faster than several. */
enum { SPLIT_MIN_MACS = 1 << 16 };

static int block_size(void) {
    static int bs = 0;
    if (!bs) {
        const char *e = getenv("CLMNIST_HOST_GEMM_BLOCK");
        bs = e && atoi(e) > 0 ? atoi(e) : 64;
    }
    return bs;
}

/* A product with a small C and a long k (a convolution's weight gradient: 24 x 25 over k = 73,728
 * in the cnn network) has one block of C, so one thread would do it all. Instead k is cut into
 * chunks of KSPLIT_CHUNK, fixed whatever the thread count; each chunk's product goes to its own
 * slice of a scratch, and the slices are added in chunk order: C = alpha sum + beta C (beta 0
 * writes C without reading it). */
enum { KSPLIT_CHUNK = 4096, KSPLIT_MAX_C = 64 * 64 };

static bool split_k(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                    int ldb, float beta, float *c, int ldc) {
    const int chunks = (k + KSPLIT_CHUNK - 1) / KSPLIT_CHUNK;
    const size_t mn = (size_t)m * n;
    float *part = malloc(sizeof(float) * mn * (size_t)chunks);
    if (!part) return false; /* one call instead */
#pragma omp parallel for schedule(dynamic, 1)
    for (int p = 0; p < chunks; p++) {
        const size_t k0 = (size_t)p * KSPLIT_CHUNK;
        const int kc = k - (int)k0 < KSPLIT_CHUNK ? k - (int)k0 : KSPLIT_CHUNK;
        sgemm(ta, tb, m, n, kc, 1.0f, ta ? a + k0 * lda : a + k0, lda, tb ? b + k0 : b + k0 * ldb, ldb, 0.0f,
              part + (size_t)p * mn, n);
    }
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float sum = 0.0f;
            for (int p = 0; p < chunks; p++)
                sum += part[(size_t)p * mn + (size_t)i * n + j];
            float *out = c + (size_t)i * ldc + j;
            *out = beta == 0.0f ? alpha * sum : alpha * sum + beta * *out;
        }
    free(part);
    return true;
}

/* C is cut into blocks of BLOCK rows (or columns, when it has more columns than rows), the same
 * blocks whatever the thread count, and OpenMP spreads them over the threads: OpenBLAS's result
 * for an element depends on the shape of the call that computes it (its edge kernels round
 * differently), so fixed blocks keep the result independent of --threads, bit for bit. */
void host_gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
               float beta, float *c, int ldc) {
    if (blas_threads_itself() || (double)m * n * k < SPLIT_MIN_MACS) {
        sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    if ((size_t)m * n <= KSPLIT_MAX_C && k >= 2 * KSPLIT_CHUNK &&
        split_k(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))
        return;
    const bool by_rows = m >= n;
    const int len = by_rows ? m : n, bs = block_size(), blocks = (len + bs - 1) / bs;
#pragma omp parallel for schedule(dynamic, 1) if (blocks > 1)
    for (int p = 0; p < blocks; p++) {
        const int lo = p * bs, hi = lo + bs < len ? lo + bs : len;
        if (by_rows) /* rows lo..hi of op(A) and of C */
            sgemm(ta, tb, hi - lo, n, k, alpha, ta ? a + lo : a + (size_t)lo * lda, lda, b, ldb, beta,
                  c + (size_t)lo * ldc, ldc);
        else /* columns lo..hi of op(B) and of C */
            sgemm(ta, tb, m, hi - lo, k, alpha, a, lda, tb ? b + (size_t)lo * ldb : b + lo, ldb, beta, c + lo, ldc);
    }
}
