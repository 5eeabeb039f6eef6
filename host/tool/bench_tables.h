/* bench_tables.h: the GEMM and profile tables of `bench`. */
#ifndef CLMNIST_BENCH_TABLES_H
#define CLMNIST_BENCH_TABLES_H
#include <cjson/cJSON.h>
#include <stdio.h>

#include "backend.h"
#include "model.h"

enum { BENCH_MAX_BACKENDS = 16 }; /* as cmd_bench.c's MAX_ITEMS */

/* Prints the per-operation times of a profiled stretch of `steps` steps (sorting e), largest
 * first, with the launch and host-wait counts of a device, and adds them to the JSON array jarr. */
void bench_print_profile(cm_backend *b, cm_profile_entry *e, int n, int steps, int batch, double wall, FILE *out,
                         cJSON *jarr);

/* Times every GEMM shape of a step at `batch` on each of the nbk backends (json "gemm"), then
 * prints the limit they set (json "gemm_limit"; first_ips: each backend's measured images/s at
 * that batch, 0 if none). */
cm_status bench_gemm_table(cm_backend **bk, int nbk, int batch, const cm_layout *L, const double *first_ips, FILE *out,
                           cJSON *jg, cJSON *root);

#endif
