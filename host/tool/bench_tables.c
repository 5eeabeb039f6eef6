/* bench_tables.c: two of `bench`'s tables: the GEMM shapes of a step with the limit they set, and
 * `--profile`'s per-operation times. */
#include "bench_tables.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_cases.h"

#define BENCH_PEAK_N 2048 /* the large SGEMM that stands for the machine's peak */

static int cmp_entry(const void *a, const void *b) {
    double x = ((const cm_profile_entry *)a)->seconds, y = ((const cm_profile_entry *)b)->seconds;
    return (x < y) - (x > y);
}

/* Entries outside the compute queue's time: the overlapped transfer queue, the host's waits. */
static int off_queue(const char *name) {
    return strstr(name, "transfer queue") != NULL || strcmp(name, CM_HOST_WAIT_LABEL) == 0;
}

/* Prints the per-operation times of a profiled stretch of `steps` steps, largest first, and
 * adds them to the JSON array `jarr`. Device: OpenCL event times on the compute queue (the
 * transfer queue overlaps it and is not summed); host: wall time of each synchronous call. */
void bench_print_profile(cm_backend *b, cm_profile_entry *e, int n, int steps, int batch, double wall, FILE *out,
                         cJSON *jarr) {
    bool device = strcmp(b->kind, "device") == 0;
    qsort(e, (size_t)n, sizeof e[0], cmp_entry);
    double total = 0.0;
    long kernels = 0, gemms = 0, waits = 0;
    for (int i = 0; i < n; i++) {
        if (!off_queue(e[i].name)) total += e[i].seconds;
        if (!strncmp(e[i].name, "kernel_", 7)) kernels += e[i].calls;
        if (strstr(e[i].name, "GEMM")) gemms += e[i].calls;
        if (!strcmp(e[i].name, CM_HOST_WAIT_LABEL)) waits += e[i].calls;
    }
    fprintf(out, "profile: %d steps at batch %d on %s (%s)\n", steps, batch, b->device_name,
            device ? "OpenCL event times; GEMM from a marker before the call" : "wall time of each operation");
    fprintf(out, "  %-52s %9s %10s %7s\n", "operation", "calls/step", "ms/step", "share");
    cJSON *jp = cJSON_CreateObject();
    cJSON_AddStringToObject(jp, "backend", b->kind);
    cJSON_AddNumberToObject(jp, "batch", batch);
    cJSON_AddNumberToObject(jp, "steps", steps);
    cJSON_AddNumberToObject(jp, "wall_ms_per_step", 1e3 * wall / steps);
    cJSON_AddNumberToObject(jp, "device_ms_per_step", 1e3 * total / steps);
    cJSON *ja = cJSON_AddArrayToObject(jp, "operations");
    for (int i = 0; i < n; i++) {
        int overlap = off_queue(e[i].name);
        fprintf(out, "  %-52s %9.2f %10.3f %6.1f%%\n", e[i].name, (double)e[i].calls / steps,
                1e3 * e[i].seconds / steps, overlap || total <= 0.0 ? 0.0 : 100.0 * e[i].seconds / total);
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", e[i].name);
        cJSON_AddNumberToObject(j, "calls_per_step", (double)e[i].calls / steps);
        cJSON_AddNumberToObject(j, "ms_per_step", 1e3 * e[i].seconds / steps);
        cJSON_AddItemToArray(ja, j);
    }
    fprintf(out, "  %-52s %9s %10.3f\n", device ? "sum on the compute queue" : "sum of the operations", "",
            1e3 * total / steps);
    fprintf(out, "  %-52s %9s %10.3f  (the rest: %s)\n", "wall time per step", "", 1e3 * wall / steps,
            device ? "launch overhead and idle time" : "the trainer's own work between operations");
    waits = waits > 2 ? waits - 2 : 0; /* not the drain (clFinish of both queues) that ends the timing */
    if (device)
        fprintf(out,
                "  per step: %.1f launches (%.1f of our kernels + %.1f CLBlast GEMM calls, one or more kernels "
                "each), %.2f host waits\n",
                (double)(kernels + gemms) / steps, (double)kernels / steps, (double)gemms / steps,
                (double)waits / steps);
    cJSON_AddNumberToObject(jp, "kernel_launches_per_step", (double)kernels / steps);
    cJSON_AddNumberToObject(jp, "gemm_calls_per_step", (double)gemms / steps);
    cJSON_AddNumberToObject(jp, "host_waits_per_step", (double)waits / steps);
    cJSON_AddItemToArray(jarr, jp);
}

/* The limit the GEMMs set (json "gemm_limit"): the images/s of a step that did nothing but its
 * GEMMs at the rates just measured, and the share of it the measured step reaches. */
static void gemm_limit(cm_backend **bk, int nbk, int batch, const double *step_s, const double *first_ips,
                       double step_flop, const double *peak, FILE *out, cJSON *root) {
    cJSON *jl = cJSON_AddArrayToObject(root, "gemm_limit");
    for (int i = 0; i < nbk; i++) {
        double limit = batch / step_s[i];
        fprintf(out, "  %-7s GEMM-bound limit %.0f images/s (the step's GEMMs alone: %.3f ms)", bk[i]->kind, limit,
                1e3 * step_s[i]);
        if (first_ips[i] > 0.0) fprintf(out, "; the step reaches %.0f%% of it", 100.0 * first_ips[i] / limit);
        fprintf(out, "\n");
        /* The step's GEMM work per second at its measured rate, against one large SGEMM's rate. */
        double step_gflops = first_ips[i] * step_flop / batch / 1e9;
        fprintf(out, "  %-7s peak SGEMM %.1f GFLOP/s (%dx%dx%d)", bk[i]->kind, peak[i], BENCH_PEAK_N, BENCH_PEAK_N,
                BENCH_PEAK_N);
        if (first_ips[i] > 0.0)
            fprintf(out, "; the step's %.3f GFLOP of GEMMs at %.0f images/s: %.1f GFLOP/s, %.0f%% of the peak",
                    step_flop / 1e9, first_ips[i], step_gflops, 100.0 * step_gflops / peak[i]);
        fprintf(out, "\n");

        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "backend", bk[i]->kind);
        cJSON_AddNumberToObject(j, "batch", batch);
        cJSON_AddNumberToObject(j, "gemm_ms_per_step", 1e3 * step_s[i]);
        cJSON_AddNumberToObject(j, "images_per_s", limit);
        if (first_ips[i] > 0.0) cJSON_AddNumberToObject(j, "step_share", first_ips[i] / limit);
        cJSON_AddNumberToObject(j, "step_gemm_gflop", step_flop / 1e9);
        cJSON_AddNumberToObject(j, "peak_sgemm_gflops", peak[i]);
        if (first_ips[i] > 0.0) cJSON_AddNumberToObject(j, "step_share_of_peak", step_gflops / peak[i]);
        cJSON_AddItemToArray(jl, j);
    }
}

/* The machine's SGEMM peak on each backend, in the same run: one 2048^3 product, timed for at
 * least 0.5 s; peak[i] keeps the better of this and what it held (a shared machine's bad moment
 * should not pass for the peak). */
static cm_status sgemm_peak(cm_backend **bk, int nbk, double *peak) {
    for (int i = 0; i < nbk; i++) {
        gemm_case big = {"peak", false, false, BENCH_PEAK_N, BENCH_PEAK_N, BENCH_PEAK_N, 0.0, 0.0};
        CM_TRY(gemm_case_time(bk[i], &big, 0.5));
        if (big.gflops > peak[i]) peak[i] = big.gflops;
    }
    return CM_OK;
}

/* Times every GEMM shape of a step at the first batch size on each backend (json "gemm"), then
 * the limit they set (first_ips: each backend's measured images/s at that batch, 0 if none). */
cm_status bench_gemm_table(cm_backend **bk, int nbk, int batch, const cm_layout *L, const double *first_ips, FILE *out,
                           cJSON *jg, cJSON *root) {
    gemm_case cases[3 * CM_MAX_LAYERS];
    double step_s[BENCH_MAX_BACKENDS] = {0};
    int B = batch;
    fprintf(out, "GEMM at batch %d (GFLOP/s):\n  %-28s %6s %6s %6s", B, "shape", "m", "n", "k");
    for (int i = 0; i < nbk; i++)
        fprintf(out, " %10s", bk[i]->kind);
    fprintf(out, "\n");
    int n = diag_gemm_cases(L, B, cases);
    double peak[BENCH_MAX_BACKENDS] = {0};
    CM_TRY(sgemm_peak(bk, nbk, peak));
    for (int c = 0; c < n; c++) {
        fprintf(out, "  %-28s %6d %6d %6d", cases[c].what, cases[c].m, cases[c].n, cases[c].k);
        for (int i = 0; i < nbk; i++) {
            CM_TRY(gemm_case_time(bk[i], &cases[c], 0.3));
            step_s[i] += cases[c].seconds;
            fprintf(out, " %10.1f", cases[c].gflops);
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "backend", bk[i]->kind);
            cJSON_AddStringToObject(j, "shape", cases[c].what);
            cJSON_AddBoolToObject(j, "trans_a", cases[c].ta);
            cJSON_AddBoolToObject(j, "trans_b", cases[c].tb);
            cJSON_AddNumberToObject(j, "m", cases[c].m);
            cJSON_AddNumberToObject(j, "n", cases[c].n);
            cJSON_AddNumberToObject(j, "k", cases[c].k);
            cJSON_AddNumberToObject(j, "gflops", cases[c].gflops);
            cJSON_AddItemToArray(jg, j);
        }
        fprintf(out, "\n");
        fflush(out);
    }
    double flop = 0.0;
    for (int c = 0; c < n; c++)
        flop += 2.0 * cases[c].m * cases[c].n * cases[c].k;
    CM_TRY(sgemm_peak(bk, nbk, peak)); /* again after the shapes: the better of the two */
    gemm_limit(bk, nbk, B, step_s, first_ips, flop, peak, out, root);
    return CM_OK;
}
