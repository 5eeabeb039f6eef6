/* gemm_alternatives.c: GFLOP/s of one SGEMM library on the GEMM shapes of clmnist's training
 * steps, for scripts/gemm_alternatives.sh (issue 28). The library is opened with dlopen, so that
 * OpenBLAS, BLIS and oneDNN each run their own code (linked together, their BLAS symbols would
 * clash): a cblas_sgemm from LIB, or oneDNN's dnnl_sgemm (row-major, like clmnist).
 *
 * usage: gemm_alternatives LIB cblas|dnnl [MIN_SECONDS]
 * prints one line per shape: name m n k ta tb GFLOP/s, then "step" lines with the sum of the
 * seconds of each network's shapes, and "peak" for one 2048^3 product. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void (*cblas_fn)(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                         const float *b, int ldb, float beta, float *c, int ldc);
typedef int (*dnnl_fn)(char ta, char tb, long m, long n, long k, float alpha, const float *a, long lda, const float *b,
                       long ldb, float beta, float *c, long ldc);

typedef struct {
    const char *net, *what;
    int ta, tb, m, n, k;
} shape;

/* The 784-512-256-10 MLP at batch 128 (clmnist bench's GEMM table) and the cnn preset's network
 * at batch 128 (its `bench --profile` GEMM calls: conv as one GEMM over the batch). */
static const shape shapes[] = {
    {"mlp", "fc1 forward Y=X.W^T", 0, 1, 128, 512, 784},
    {"mlp", "fc1 weight dW=dY^T.X", 1, 0, 512, 784, 128},
    {"mlp", "fc2 forward", 0, 1, 128, 256, 512},
    {"mlp", "fc2 weight", 1, 0, 256, 512, 128},
    {"mlp", "fc2 input dX=dY.W", 0, 0, 128, 512, 256},
    {"mlp", "fc3 forward", 0, 1, 128, 10, 256},
    {"mlp", "fc3 weight", 1, 0, 10, 256, 128},
    {"mlp", "fc3 input", 0, 0, 128, 256, 10},
    {"cnn", "conv1 forward", 0, 0, 24, 73728, 25},
    {"cnn", "conv1 weight", 0, 1, 24, 25, 73728},
    {"cnn", "conv2 forward", 0, 0, 32, 12800, 216},
    {"cnn", "conv2 weight", 0, 1, 32, 216, 12800},
    {"cnn", "conv2 input", 1, 0, 216, 12800, 32},
    {"cnn", "fc1 forward", 0, 1, 128, 256, 800},
    {"cnn", "fc1 weight", 1, 0, 256, 800, 128},
    {"cnn", "fc1 input", 0, 0, 128, 800, 256},
    {"cnn", "fc2 forward", 0, 1, 128, 10, 256},
    {"cnn", "fc2 weight", 1, 0, 10, 256, 128},
    {"cnn", "fc2 input", 0, 0, 128, 256, 10},
    {"peak", "2048^3", 0, 0, 2048, 2048, 2048},
};

static cblas_fn cblas;
static dnnl_fn dnnl;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void gemm(const shape *s, const float *a, const float *b, float *c) {
    int lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
    if (dnnl)
        dnnl(s->ta ? 'T' : 'N', s->tb ? 'T' : 'N', s->m, s->n, s->k, 1.0f, a, lda, b, ldb, 0.0f, c, s->n);
    else /* CblasRowMajor 101, CblasNoTrans 111, CblasTrans 112 */
        cblas(101, s->ta ? 112 : 111, s->tb ? 112 : 111, s->m, s->n, s->k, 1.0f, a, lda, b, ldb, 0.0f, c, s->n);
}

static float *random_floats(size_t n) {
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; p && i < n; i++)
        p[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    return p;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s LIB cblas|dnnl [MIN_SECONDS]\n", argv[0]);
        return 2;
    }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "gemm_alternatives: %s\n", dlerror());
        return 77;
    }
    if (!strcmp(argv[2], "dnnl"))
        dnnl = (dnnl_fn)dlsym(lib, "dnnl_sgemm");
    else
        cblas = (cblas_fn)dlsym(lib, "cblas_sgemm");
    if (!dnnl && !cblas) {
        fprintf(stderr, "gemm_alternatives: %s has no %s\n", argv[1], argv[2]);
        return 77;
    }
    double min_s = argc > 3 ? atof(argv[3]) : 0.2, step_s[2] = {0, 0};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const shape *s = &shapes[i];
        float *a = random_floats((size_t)s->m * s->k), *b = random_floats((size_t)s->k * s->n);
        float *c = random_floats((size_t)s->m * s->n);
        if (!a || !b || !c) return 1;
        gemm(s, a, b, c); /* untimed: threads start, buffers fault in */
        int reps = 0;
        double t0 = now(), t = 0.0;
        while (reps < 3 || t < min_s) {
            gemm(s, a, b, c);
            reps++;
            t = now() - t0;
        }
        double per = t / reps;
        if (!strcmp(s->net, "mlp")) step_s[0] += per;
        if (!strcmp(s->net, "cnn")) step_s[1] += per;
        printf("%s\t%s\t%d\t%d\t%d\t%d\t%d\t%.2f\n", s->net, s->what, s->m, s->n, s->k, s->ta, s->tb,
               2.0 * s->m * s->n * s->k / per / 1e9);
        fflush(stdout);
        free(a);
        free(b);
        free(c);
    }
    printf("step\tmlp\t%.4f ms\nstep\tcnn\t%.4f ms\n", 1e3 * step_s[0], 1e3 * step_s[1]);
    return 0;
}
