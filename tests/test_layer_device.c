/* test_layer_device.c: the device layer operations' argument checks (sizes, an unresolved window)
 * before anything is enqueued. Their results against the host's, case by case with explicit
 * tolerances, are rows of the op-test table (tests/test_backend_ops.c). Skips (exit 77) without
 * OpenCL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backends.h"
#include "backend.h"

static cm_backend *host, *dev;

/* The device checks sizes and the window before it enqueues anything. */
static void test_layer_errors(void **state) {
    cm_window w = {2, 3, 7, 7, 3, 2, 0, 0, 0};
    assert_int_equal(window_resolve(&w, "test"), CM_OK);
    cm_buf *x, *small;
    assert_int_equal(backend_alloc(dev, 4 * 2 * 3 * 7 * 7, 0, "test", &x), CM_OK);
    assert_int_equal(backend_alloc(dev, 16, 0, "test", &small), CM_OK);
    assert_int_equal(backend_im2col(dev, x, small, &w), CM_ERR_USAGE);
    printf("im2col into a small buffer: %s\n", cm_last_error());
    cm_window bad = w;
    bad.out_h = 4;
    assert_int_equal(backend_maxpool_forward(dev, x, x, x, &bad), CM_ERR_USAGE);
    printf("unresolved window: %s\n", cm_last_error());
    backend_release(dev, small);
    backend_release(dev, x);
}

static int setup(void **state) {
    return backends_create_both(&host, &dev);
}

static int teardown(void **state) {
    backend_destroy(dev);
    backend_destroy(host);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layer_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
