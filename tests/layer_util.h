/* layer_util.h: helpers shared by the layer-operation tests (test_layer_ops*.c): buffers on a
 * backend from host arrays, windows, float64 dot products. Header-only (static functions);
 * the including file defines `static cm_backend *hb`. */
#ifndef CLMNIST_TEST_LAYER_UTIL_H
#define CLMNIST_TEST_LAYER_UTIL_H
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "backend.h"

/* A buffer of `bytes` holding data (zeros when data is NULL). */
static __attribute__((unused)) cm_buf *lt_buf(cm_backend *b, const void *data, size_t bytes) {
    cm_buf *buf;
    assert_int_equal(backend_alloc(b, bytes, 0, "test", &buf), CM_OK);
    if (data) assert_int_equal(backend_upload(b, buf, 0, data, bytes), CM_OK);
    return buf;
}

/* A buffer of n floats, every one `value` (e.g. NAN, to see that an operation overwrites). */
static __attribute__((unused)) cm_buf *lt_filled(cm_backend *b, size_t n, float value) {
    cm_buf *buf = lt_buf(b, NULL, n * sizeof(float));
    assert_int_equal(backend_fill(b, buf, value, n), CM_OK);
    return buf;
}

static __attribute__((unused)) void lt_get(cm_backend *b, cm_buf *buf, void *out, size_t bytes) {
    assert_int_equal(backend_download(b, buf, 0, out, bytes), CM_OK);
}

static __attribute__((unused)) float *lt_floats(size_t n) {
    float *p = calloc(n ? n : 1, sizeof(float));
    assert_non_null(p);
    return p;
}

static __attribute__((unused)) cm_window lt_window(int batch, int channels, int height, int width, int kernel,
                                                   int stride, int pad) {
    cm_window w = {batch, channels, height, width, kernel, stride, pad, 0, 0};
    assert_int_equal(window_resolve(&w, "test"), CM_OK);
    return w;
}

static __attribute__((unused)) double lt_dot(const float *a, const float *b, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * (double)b[i];
    return s;
}

/* sum |a_i b_i|: the scale of the rounding error in a dot product. */
static __attribute__((unused)) double lt_absdot(const float *a, const float *b, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += fabs((double)a[i] * (double)b[i]);
    return s;
}

#endif
