/* bops.h: the harness of the op-test table (tests/test_backend_ops.c), in the style of ggml's
 * tests/test-backend-ops.cpp. A case row names one operation of cm_backend_ops, its shapes and
 * parameters, the tolerance of its outputs, a run function and optionally a gradient check.
 *
 * run(ctx, case) builds seeded random inputs on ctx->b, runs the operation inside BO_TIMED (once
 * in test mode; warm-up plus timed repetitions with --perf) and keeps its outputs (bo_keep). Every
 * buffer made by bo_in/bo_out carries BO_GUARD_BYTES of a NaN sentinel after its data, checked
 * when the case ends: no operation may write past the elements it owns. The host (reference)
 * backend's outputs are then compared with the device backend's.
 *
 * grad(ctx, case) checks a backward against float64 central differences of a float64 forward
 * oracle (gradcheck.c); it runs on every backend present, so also without an OpenCL device. */
#ifndef CLMNIST_TEST_BOPS_H
#define CLMNIST_TEST_BOPS_H
#include <stddef.h>
#include <stdint.h>

#include "backend.h"

enum { BO_GUARD_BYTES = 64, BO_MAX_BUFS = 48, BO_MAX_OUT = 16, BO_MAX_TMP = 48, BO_MAX_REPS = 201 };
#define BO_GUARD_WORD 0x7fbadbadu /* a quiet-NaN bit pattern no operation computes */

typedef enum { BO_F32, BO_I32, BO_U8 } bo_type;

typedef struct {
    const char *name;
    bo_type type;
    size_t n;
    void *v;
    double atol, rtol; /* BO_F32: |got - host| <= atol + rtol |host|; integers: exact */
} bo_output;

typedef struct bo_case bo_case;

typedef struct {
    cm_backend *b;
    int perf;             /* 1: BO_TIMED repeats and times the operation */
    int warmup, reps, it; /* BO_TIMED's state */
    double t0, times[BO_MAX_REPS];
    cm_buf *bufs[BO_MAX_BUFS];
    size_t data_bytes[BO_MAX_BUFS];
    int nbufs;
    void *tmp[BO_MAX_TMP];
    int ntmp;
    bo_output out[BO_MAX_OUT];
    int nout;
    double flops, bytes; /* per operation, for --perf's GFLOP/s or GB/s */
    char shape[128];     /* set by the run function */
    int failed;          /* an operation returned an error, a guard was overwritten, a check failed */
} bo_ctx;

struct bo_case {
    const char *op; /* a name from CM_BACKEND_OP_LIST */
    int p[8];       /* shapes and integer parameters, as the run function reads them */
    float f[4];     /* float parameters */
    double atol, rtol;
    void (*run)(bo_ctx *c, const bo_case *k);
    void (*grad)(bo_ctx *c, const bo_case *k); /* NULL: no backward to check */
};

/* ---- harness.c ---- */
void bo_begin_case(bo_ctx *c, cm_backend *b, int perf, int reps);
void bo_end_case(bo_ctx *c); /* checks the guards, releases the buffers and scratch memory */
void bo_free_outputs(bo_ctx *c);
void bo_shape(bo_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int bo_ok(bo_ctx *c, cm_status s, const char *what);
#define BO_OK(c, call) bo_ok((c), (call), #call)
cm_buf *bo_in(bo_ctx *c, const void *data, size_t bytes); /* uploaded input (+ guard) */
cm_buf *bo_in_flags(bo_ctx *c, const void *data, size_t bytes, unsigned flags);
cm_buf *bo_out(bo_ctx *c, size_t nfloats, float value);       /* floats all `value` (+ guard) */
void bo_get(bo_ctx *c, cm_buf *buf, void *dst, size_t bytes); /* download from offset 0 */
void bo_keep(bo_ctx *c, const char *name, cm_buf *buf, bo_type t, size_t n, double atol, double rtol);
void bo_keep_host(bo_ctx *c, const char *name, const void *data, bo_type t, size_t n, double atol, double rtol);
void *bo_tmp(bo_ctx *c, size_t bytes);                               /* zeroed, freed by bo_end_case */
double *bo_to_double(bo_ctx *c, const float *x, size_t n);           /* a float64 copy, in bo_tmp memory */
float *bo_download_f(bo_ctx *c, cm_buf *b, size_t n);                /* n floats of b, in bo_tmp memory */
float *bo_uniform(bo_ctx *c, size_t n, uint64_t seed);               /* uniform [-1, 1) */
float *bo_distinct(bo_ctx *c, size_t n, uint64_t seed);              /* n distinct values, shuffled */
int32_t *bo_labels(bo_ctx *c, size_t n, int classes, uint64_t seed); /* in [0, classes) */
cm_window bo_window(bo_ctx *c, int batch, int channels, int h, int w, int k, int s, int p);
/* BO_TIMED(c) { op } : runs op once, or with --perf c->warmup + c->reps times, each timed to a
 * backend_finish. */
void bo_time_begin(bo_ctx *c);
int bo_time_more(bo_ctx *c);
void bo_time_next(bo_ctx *c);
#define BO_TIMED(c) for (bo_time_begin(c); bo_time_more(c); bo_time_next(c))
double bo_median_ms(const bo_ctx *c);
/* 1 when every output of got matches ref (same names and sizes) within its tolerance. */
int bo_compare(const char *label, const bo_ctx *ref, const bo_ctx *got);
/* float32 got against a float64 oracle, |got - ref| <= atol + rtol |ref|; marks c failed. */
int bo_check64(bo_ctx *c, const char *what, const float *got, const double *ref, size_t n, double atol, double rtol);

/* ---- gradcheck.c: float64 central differences of sum(r * f(theta)) ---- */
typedef double (*bo_loss_fn)(const void *model, const double *theta);
void bo_central_diff(bo_loss_fn f, const void *model, double *theta, size_t n, double h, double *grad);
void bo_grad_relu(bo_ctx *c, const bo_case *k);
void bo_grad_bias_act(bo_ctx *c, const bo_case *k);
void bo_grad_conv(bo_ctx *c, const bo_case *k);
void bo_grad_conv_op(bo_ctx *c, const bo_case *k);
void bo_grad_maxpool(bo_ctx *c, const bo_case *k);
void bo_grad_bn(bo_ctx *c, const bo_case *k);
void bo_grad_gap(bo_ctx *c, const bo_case *k);
void bo_grad_softmax_xent(bo_ctx *c, const bo_case *k);

/* ---- cases_mlp.c, cases_layer.c, cases_conv.c: the run functions, one per operation ---- */
#define BO_RUN_DECL(name) void bo_run_##name(bo_ctx *c, const bo_case *k);
CM_BACKEND_OP_LIST(BO_RUN_DECL)
#undef BO_RUN_DECL

#endif
