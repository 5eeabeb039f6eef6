/* bench_profile.c: how `bench --profile` prints where a training step's time goes. */
#include "bench_profile.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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
