/* cmd_devices.c: `clmnist devices` lists every OpenCL device with its index for --device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_util.h"
#include "commands.h"

cm_status cmd_devices(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: clmnist devices\n\nLists OpenCL platforms and devices. Select one for train/compare with\n"
                   "--device INDEX or --device NAME-SUBSTRING (or the CLMNIST_DEVICE variable).\n");
            return CM_OK;
        }
        return cm_fail(CM_ERR_USAGE, "clmnist devices: unexpected argument '%s'", argv[i]);
    }
    cl_device_desc *list;
    int n;
    CM_TRY(cl_list_devices(&list, &n));
    cl_device_desc def;
    cm_status st = cl_select_device(NULL, &def);
    printf("%-3s %-28s %-36s %-5s %4s %10s %6s  %s\n", "#", "platform", "device", "type", "CUs", "memory", "max WG",
           "OpenCL C");
    for (int i = 0; i < n; i++) {
        const cl_device_desc *d = &list[i];
        printf("%-3d %-28.28s %-36.36s %-5s %4u %7.1f GiB %6zu  %s%s\n", d->index, d->platform_name, d->device_name,
               cl_device_type_name(d->type), d->compute_units, (double)d->global_mem / 1073741824.0, d->max_work_group,
               d->c_version, st == CM_OK && def.index == i ? "  (default)" : "");
    }
    free(list);
    return CM_OK;
}
