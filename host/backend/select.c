/* select.c: backend selection by name. The one place that knows both implementations, so the
 * core library (and the reference backend) link without OpenCL. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"

/* "auto": the OpenCL device when one is named (opt->device or $CLMNIST_DEVICE) or an OpenCL GPU is
 * present, else the host backend. A machine without any OpenCL platform counts as no GPU. */
static const char *resolve_auto(const cm_backend_options *opt) {
    const char *env = getenv("CLMNIST_DEVICE");
    if ((opt && opt->device && *opt->device) || (env && *env)) return "device";
    int gpu = backend_device_gpu_present();
    return gpu ? "device" : "host";
}

const char *backend_resolve_kind(const char *kind, const cm_backend_options *opt) {
    if (!kind) return "device";
    return strcmp(kind, "auto") == 0 ? resolve_auto(opt) : kind;
}

cm_status backend_create(const char *kind, const cm_backend_options *opt, cm_backend **out) {
    *out = NULL;
    kind = backend_resolve_kind(kind, opt);
    if (strcmp(kind, "device") == 0) return backend_device_create(opt, out);
    if (strcmp(kind, "host") == 0) return backend_host_create(opt, out);
    return cm_fail(CM_ERR_USAGE, "--backend '%s': expected 'auto', 'host' or 'device'", kind);
}
