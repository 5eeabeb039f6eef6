/* select.c: backend selection by name. The one place that knows both implementations, so the
 * core library (and the reference backend) link without OpenCL. */
#include <string.h>

#include "backend.h"

cm_status backend_create(const char *kind, const cm_backend_options *opt, cm_backend **out) {
    *out = NULL;
    /* TODO(auto): --backend auto (the default, options_table.c) is the device until backend
     * creation chooses between the two itself. */
    if (!kind || strcmp(kind, "device") == 0 || strcmp(kind, "auto") == 0) return backend_device_create(opt, out);
    if (strcmp(kind, "host") == 0) return backend_host_create(opt, out);
    return cm_fail(CM_ERR_USAGE, "--backend '%s': expected auto, host or device", kind);
}
