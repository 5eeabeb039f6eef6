/* gemm_cases.h: the GEMM shapes of a network's training step (Linear and Conv2d layers:
 * forward, weight gradient, input gradient) and their timing on a backend, for `bench` and
 * `tune`. */
#ifndef CLMNIST_GEMM_CASES_H
#define CLMNIST_GEMM_CASES_H
#include <stdbool.h>

#include "backend.h"
#include "model.h"

typedef struct {
    const char *what; /* "layer 1 forward  Y=X.W^T" */
    bool ta, tb;
    int m, n, k;
    double seconds; /* per call, after gemm_case_time */
    double gflops;
} gemm_case;

/* The GEMMs of one training step at batch B (at most 3 * CM_MAX_LAYERS); the input gradient
 * only where a layer before has parameters, as net_backward computes it. */
int gemm_model_cases(const cm_layout *L, int batch, gemm_case *out);
/* Times g on b (one untimed call first, then repeats for at least min_seconds). */
cm_status gemm_case_time(cm_backend *b, gemm_case *g, double min_seconds);

#endif
