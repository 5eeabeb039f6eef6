/* kernels_embedded.h: the OpenCL sources compiled into the binary (see cmake/EmbedKernels.cmake). */
#ifndef CLMNIST_KERNELS_EMBEDDED_H
#define CLMNIST_KERNELS_EMBEDDED_H
#include <stddef.h>

typedef struct {
    const char *name; /* e.g. "activation.cl" */
    const char *text; /* NUL-terminated source */
    size_t length;
} cm_kernel_source;

/* In build order: common.cl first, so its helpers precede every kernel. */
extern const cm_kernel_source cm_kernel_sources[];
extern const size_t cm_kernel_source_count;

#endif
