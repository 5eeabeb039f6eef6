/* cmd_devices.c: `clmnist devices` lists every OpenCL device with its index for --device; under
 * mpirun, also which device each rank takes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cl_check.h"
#include "cl_util.h"
#include "dist.h"
#include "cli.h"
#include "commands.h"

enum { RANK_LINE = 256 };

/* Under mpirun: one line per rank (gathered to rank 0, which prints them) naming its node and the
 * device it trains on without --device (its place on the node picks the GPU). */
static cm_status print_ranks(cm_dist *d) {
    char mine[RANK_LINE] = "", host[64] = "?", name[96];
    gethostname(host, sizeof host);
    host[sizeof host - 1] = '\0';
    cl_device_desc pick;
    if (cl_select_device(NULL, d->local_rank, &pick) == CM_OK) {
        snprintf(name, sizeof name, "%.95s", pick.device_name);
        snprintf(mine, sizeof mine, "rank %d of %d on %s (local rank %d of %d): device %d, %s", d->rank, d->size, host,
                 d->local_rank, d->local_size, pick.index, name);
    } else
        snprintf(mine, sizeof mine, "rank %d of %d on %s: no device (%.150s)", d->rank, d->size, host, cm_last_error());
    char *all = d->rank == 0 ? calloc((size_t)d->size, RANK_LINE) : NULL;
    if (d->rank == 0 && !all) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    cm_status st = dist_gather_text(d, mine, all, RANK_LINE);
    for (int r = 0; st == CM_OK && all && r < d->size; r++)
        printf("%s\n", all + (size_t)r * RANK_LINE);
    free(all);
    return st;
}

/* No OpenCL platform, or no device: not an error, since the host backend works without them. */
static cm_status no_devices(void) {
    unsigned platforms = 0;
    cl_platform_count(&platforms);
    printf("no OpenCL %s (%s)\n", platforms ? "devices" : "platforms",
           platforms ? "the OpenCL drivers installed find no device" : "no OpenCL driver is installed");
    printf("the host backend is available: every command uses it (--backend auto, the default, picks it)\n"
           "for OpenCL, install the loader and a driver: Debian: 'apt-get install ocl-icd-libopencl1 "
           "pocl-opencl-icd' (CPU),\nor ocl-icd-libopencl1 and your GPU vendor's OpenCL driver\n");
    cm_clear_error();
    return CM_OK;
}

cm_status cmd_devices(int argc, char **argv) {
    const cm_command_info info = {"devices",
                                  CM_CMD_DEVICES,
                                  "devices",
                                  "Lists OpenCL platforms and devices (with none, says so and exits 0: the host\n"
                                  "backend needs no OpenCL). Select one for train/compare with\n"
                                  "--device INDEX or --device NAME-SUBSTRING (or the CLMNIST_DEVICE variable).\n"
                                  "Under mpirun, also says which device each rank trains on (without --device, the\n"
                                  "rank's place on its node picks the GPU).",
                                  NULL,
                                  NULL,
                                  NULL,
                                  0};
    cm_train_args a;
    int help;
    CM_TRY(cli_parse(argc, argv, &info, &a, &help, NULL));
    if (help) return CM_OK;
    CM_TRY(dist_begin_work(dist_world()));
    cl_device_desc *list;
    int n;
    if (cl_list_devices(&list, &n) != CM_OK) return no_devices();
    cl_device_desc def;
    cm_status st = cl_select_device(NULL, 0, &def);
    printf("%-3s %-28s %-36s %-5s %4s %10s %6s  %s\n", "#", "platform", "device", "type", "CUs", "memory", "max WG",
           "OpenCL C");
    for (int i = 0; i < n; i++) {
        const cl_device_desc *d = &list[i];
        printf("%-3d %-28.28s %-36.36s %-5s %4u %7.1f GiB %6zu  %s%s\n", d->index, d->platform_name, d->device_name,
               cl_device_type_name(d->type), d->compute_units, (double)d->global_mem / 1073741824.0, d->max_work_group,
               d->c_version, st == CM_OK && def.index == i ? "  (default)" : "");
    }
    int gpus = 0;
    for (int i = 0; i < n; i++)
        gpus += (list[i].type & CL_DEVICE_TYPE_GPU) != 0;
    if (!gpus)
        printf("no GPU: --backend auto (the default) uses the host backend; --backend device uses the device "
               "marked (default)\n");
    free(list);
    return dist_world()->size > 1 ? print_ranks(dist_world()) : CM_OK;
}
