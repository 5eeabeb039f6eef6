/* gemm_cases.h: the GEMM shapes of a network's training step (Linear and Conv2d layers:
 * forward, weight gradient, input gradient), for `bench` and `tune`; gemm_time.h times them. */
#ifndef CLMNIST_GEMM_CASES_H
#define CLMNIST_GEMM_CASES_H
#include "gemm_time.h"
#include "model.h"

/* The GEMMs of one training step at batch B (at most 3 * CM_MAX_LAYERS); the input gradient
 * only where a layer before has parameters, as net_backward computes it. */
int diag_gemm_cases(const cm_layout *L, int batch, gemm_case *out);
#endif
