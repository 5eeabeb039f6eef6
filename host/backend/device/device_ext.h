/* device_ext.h: device backend extensions (device_ext.c). */
#ifndef CLMNIST_DEVICE_EXT_H
#define CLMNIST_DEVICE_EXT_H
#include <stddef.h>

#include "backend.h"

/* CLBlast's parameters for `kernel` on b's device (every later GEMM uses them). */
cm_status backend_device_override(cm_backend *b, const char *kernel, size_t n, const char *const *names,
                                  const size_t *values);
/* "vendor", "device name", "driver version" of a device backend, and two of its limits. */
void backend_device_identity(const cm_backend *b, const char **vendor, const char **device, const char **driver,
                             size_t *max_work_group, size_t *local_mem);
/* 1 when b's device is a CPU. */
int backend_device_is_cpu(const cm_backend *b);

#endif
