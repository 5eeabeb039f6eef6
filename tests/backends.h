/* backends.h: the host and device backends for the tests that compare them. Header-only. */
#ifndef CLMNIST_TEST_BACKENDS_H
#define CLMNIST_TEST_BACKENDS_H
#include <stdio.h>
#include <stdlib.h>

#include "cl_util.h"
#include "clmnist/backend.h"

/* Creates both backends; exits 77 (ctest's skip) when no OpenCL device exists, so that a machine
 * without one skips rather than fails; -1 when a backend cannot be created. */
static __attribute__((unused)) int backends_create_both(cm_backend **host, cm_backend **dev) {
    cl_device_desc *list;
    int n;
    if (cl_list_devices(&list, &n) != CM_OK) {
        printf("SKIP: no OpenCL device: %s\n", cm_last_error());
        exit(77);
    }
    free(list);
    if (backend_host_create(NULL, host) != CM_OK || backend_device_create(NULL, dev) != CM_OK) {
        fprintf(stderr, "backend setup failed: %s\n", cm_last_error());
        return -1;
    }
    printf("device: %s\n", (*dev)->device_name);
    return 0;
}

#endif
