/* bench_profile.h: the per-operation table of `bench --profile`. */
#ifndef CLMNIST_BENCH_PROFILE_H
#define CLMNIST_BENCH_PROFILE_H
#include <cjson/cJSON.h>
#include <stdio.h>

#include "clmnist/backend.h"

/* Prints the per-operation times of a profiled stretch of `steps` steps (sorting e), largest
 * first, with the launch and host-wait counts of a device, and adds them to the JSON array jarr. */
void bench_print_profile(cm_backend *b, cm_profile_entry *e, int n, int steps, int batch, double wall, FILE *out,
                         cJSON *jarr);

#endif
