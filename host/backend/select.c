/* select.c: the backend registry: which backend a run gets (--backend auto, host, device) and
 * opening it. The one place that knows both implementations, so the core library (and the
 * reference backend) link without OpenCL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

#define DEVICE_HELP                                                                                                    \
    "--backend device needs OpenCL: no OpenCL platform found; install the loader and a driver (Debian: "               \
    "'apt-get install ocl-icd-libopencl1 pocl-opencl-icd' for the CPU, or ocl-icd-libopencl1 and your GPU vendor's "   \
    "OpenCL driver), or use --backend host, which needs no OpenCL"

int backend_kind_valid(const char *kind) {
    return kind && (!strcmp(kind, "auto") || !strcmp(kind, "host") || !strcmp(kind, "device"));
}

static const char *named_device(const cm_backend_options *opt) {
    if (opt && opt->device && *opt->device) return "--device";
    const char *env = getenv("CLMNIST_DEVICE");
    return env && *env ? "$CLMNIST_DEVICE" : NULL;
}

static cm_status resolve_auto(const cm_backend_options *opt, cm_backend_choice *out) {
    int platforms, gpu;
    const char *named = named_device(opt);
    CM_TRY(backend_device_probe(opt, &platforms, &gpu));
    if (named) {
        out->kind = "device";
        snprintf(out->why, sizeof out->why, "auto: %s names an OpenCL device", named);
    } else if (gpu) {
        out->kind = "device";
        snprintf(out->why, sizeof out->why, "auto: an OpenCL GPU");
    } else {
        out->kind = "host";
        snprintf(out->why, sizeof out->why, "auto: %s", platforms ? "no OpenCL GPU" : "no OpenCL platform");
    }
    return CM_OK;
}

cm_status backend_resolve(const char *kind, const cm_backend_options *opt, cm_backend_choice *out) {
    memset(out, 0, sizeof *out);
    if (!kind || !strcmp(kind, "auto")) return resolve_auto(opt, out);
    if (!backend_kind_valid(kind))
        return cm_fail(CM_ERR_USAGE, "--backend '%s': expected 'auto', 'host' or 'device'", kind);
    out->kind = kind;
    if (!strcmp(kind, "host")) return CM_OK;
    int platforms, gpu;
    CM_TRY(backend_device_probe(opt, &platforms, &gpu)); /* a --device that matches nothing fails here */
    return platforms ? CM_OK : cm_fail(CM_ERR_DEVICE, DEVICE_HELP);
}

cm_status backend_create(const char *kind, const cm_backend_options *opt, cm_backend **out) {
    *out = NULL;
    cm_backend_choice c;
    CM_TRY(backend_resolve(kind, opt, &c));
    cm_status st = !strcmp(c.kind, "device") ? backend_device_create(opt, out) : backend_host_create(opt, out);
    if (st == CM_OK) snprintf((*out)->chosen, sizeof(*out)->chosen, "%s", c.why);
    return st;
}
