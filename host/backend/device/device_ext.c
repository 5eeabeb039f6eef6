/* device_ext.c: what the device backend offers beyond the op table, for GEMM tuning and for
 * launch choices: CLBlast parameter overrides, the device's identity, whether it is a CPU.
 * Kept apart from backend_device.c so that gemm_tune.c (which backend_device.c calls to load the
 * tuning cache) does not call back into it: no cycle between the two. */
#include <string.h>

#include "device_ext.h"
#include "device_internal.h"

cm_status backend_device_override(cm_backend *b, const char *kernel, size_t n, const char *const *names,
                                  const size_t *values) {
    if (strcmp(b->kind, "device") != 0) return cm_fail(CM_ERR_USAGE, "GEMM tuning applies to the device backend only");
    device_backend *db = DB(b);
    CL_CHECK(clFinish(db->queue));
    CLBLAST_CHECK(
        CLBlastOverrideParameters(db->desc.device, kernel, CLBlastPrecisionSingle, n, (const char **)names, values));
    db->nshapes = 0; /* the temporary-buffer sizes depend on the parameters: ask again */
    return CM_OK;
}

int backend_device_is_cpu(const cm_backend *b) {
    return (((const device_backend *)b)->desc.type & CL_DEVICE_TYPE_CPU) != 0;
}

void backend_device_identity(const cm_backend *b, const char **vendor, const char **device, const char **driver,
                             size_t *max_work_group, size_t *local_mem) {
    const device_backend *db = (const device_backend *)b;
    *vendor = db->desc.vendor;
    *device = db->desc.device_name;
    *driver = db->desc.driver_version;
    *max_work_group = db->desc.max_work_group;
    *local_mem = db->local_mem;
}
