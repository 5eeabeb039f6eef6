/* backends.h: the host and device backends for the tests that compare them. Header-only. */
#ifndef CLMNIST_TEST_BACKENDS_H
#define CLMNIST_TEST_BACKENDS_H
#include <stdio.h>
#include <stdlib.h>

#include "cl_util.h"
#include "backend.h"

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

/* The host backend, and the device backend when one exists (*dev NULL otherwise: the device parts
 * of a test skip, the host parts still run); -1 when the host backend cannot be created. */
static __attribute__((unused)) int backends_create_host_maybe_device(cm_backend **host, cm_backend **dev) {
    *dev = NULL;
    if (backend_host_create(NULL, host) != CM_OK) return -1;
    if (backend_create("device", NULL, dev) != CM_OK) {
        printf("no OpenCL device (%s): device tests skip\n", cm_last_error());
        *dev = NULL;
    }
    return 0;
}

/* cmocka's group setup and teardown over the two static pointers `host` and `dev` of a test file. */
#define BACKENDS_GROUP_FIXTURES                                                                                        \
    static int setup(void **state) {                                                                                   \
        return backends_create_host_maybe_device(&host, &dev);                                                         \
    }                                                                                                                  \
    static int teardown(void **state) {                                                                                \
        backend_destroy(dev);                                                                                          \
        backend_destroy(host);                                                                                         \
        return 0;                                                                                                      \
    }

#endif
