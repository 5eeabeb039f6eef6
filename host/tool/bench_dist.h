/* bench_dist.h: `bench --profile` under mpirun (bench_dist.c). */
#ifndef CLMNIST_BENCH_DIST_H
#define CLMNIST_BENCH_DIST_H
#include "cli.h"

/* Under mpirun with several ranks: trains `warmup` + `steps` data-parallel steps at the global
 * `batch` on a backend of `kind` with profiling, and rank 0 prints where a step's time went, with
 * the gradient sum's own row. Without `profile`, a usage error: nothing else of bench runs there. */
cm_status bench_dist_profile(const cm_train_args *a, const char *kind, int batch, int warmup, int steps, int profile);

#endif
