/* gemm_time.h: one GEMM shape (plain numbers: no layers) and its timing on any backend, for
 * `bench`, `tune` and the tuning search (gemm_search.h). The shapes of a network's step come
 * from host/diag/gemm_cases.h. */
#ifndef CLMNIST_GEMM_TIME_H
#define CLMNIST_GEMM_TIME_H
#include <stdbool.h>

#include "backend.h"

typedef struct {
    const char *what; /* "layer 1 forward  Y=X.W^T" */
    bool ta, tb;
    int m, n, k;
    double seconds; /* per call, after gemm_case_time */
    double gflops;
} gemm_case;

/* Times g on b (one untimed call first, then repeats for at least min_seconds). */
cm_status gemm_case_time(cm_backend *b, gemm_case *g, double min_seconds);

#endif
