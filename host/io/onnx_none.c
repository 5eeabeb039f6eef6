/* onnx_none.c: ONNX support in a build without protobuf-c or onnx.proto (CMake's
 * CLMNIST_WITH_ONNX off): every call says which packages to install. */
#include <string.h>

#include "onnx_model.h"

#ifndef CLMNIST_ONNX_MISSING
#define CLMNIST_ONNX_MISSING "protobuf-c-compiler libprotobuf-c-dev libonnx-dev"
#endif

static cm_status missing(const char *path) {
    return cm_fail(CM_ERR_USAGE,
                   "%s: clmnist was built without ONNX support (install " CLMNIST_ONNX_MISSING
                   " and build again; see docs/dependencies.md)",
                   path);
}

int onnx_available(void) {
    return 0;
}

int onnx_is_onnx(const char *path, const uint8_t *buf, size_t len) {
    size_t n = strlen(path);
    if (n > 5 && !strcmp(path + n - 5, ".onnx")) return 1;
    if (len >= 9 && buf[8] == '{') return 0;
    return len >= 2 && buf[0] == 0x08;
}

cm_status onnx_export(const char *path, const char *source, const cm_model_file *f) {
    (void)source, (void)f;
    return missing(path);
}

cm_status onnx_model_parse(const uint8_t *buf, size_t len, const char *path, size_t align_bytes, cm_model_file *out) {
    (void)buf, (void)len, (void)align_bytes;
    memset(out, 0, sizeof *out);
    return missing(path);
}
