/* check.h: helpers shared by the tests: seeded uniform [-1, 1] inputs, tolerance comparison
 * that prints the first mismatches and the max error (as llm.c's dev/cuda/common.h and
 * CLBlast's tester do), and small IDX fixture writers. Header-only (static functions). */
#ifndef CLMNIST_TEST_CHECK_H
#define CLMNIST_TEST_CHECK_H
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "rng.h"

static __attribute__((unused)) void fill_uniform(float *x, size_t n, uint64_t seed) {
    cm_rng rng;
    rng_seed(&rng, seed, 99);
    for (size_t i = 0; i < n; i++)
        x[i] = 2.0f * rng_uniform(&rng) - 1.0f;
}

/* Returns 1 if |got - ref| <= atol + rtol * |ref| everywhere; prints the first 5 mismatches
 * and the max absolute error either way when it fails. */
static __attribute__((unused)) int check_close(const char *what, const float *got, const float *ref, size_t n,
                                               double atol, double rtol) {
    size_t bad = 0;
    double max_err = 0.0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - (double)ref[i]);
        if (isnan(got[i]) != isnan(ref[i])) err = INFINITY;
        if (err > max_err) max_err = err;
        if (err > atol + rtol * fabs((double)ref[i])) {
            if (bad < 5) fprintf(stderr, "  %s[%zu]: got %.8g, expected %.8g\n", what, i, got[i], ref[i]);
            bad++;
        }
    }
    if (bad)
        fprintf(stderr, "%s: %zu of %zu elements out of tolerance (atol %g, rtol %g); max abs error %.3g\n", what, bad,
                n, atol, rtol, max_err);
    return bad == 0;
}

/* ||got - ref|| / ||ref|| in double (||got - ref|| when ref is all zero). */
static __attribute__((unused)) double rel_l2(const float *got, const float *ref, size_t n) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - (double)ref[i];
        num += d * d;
        den += (double)ref[i] * (double)ref[i];
    }
    return den > 0.0 ? sqrt(num / den) : sqrt(num);
}

static __attribute__((unused)) void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Writes raw bytes to path, gzip-compressed when gz != 0. */
static __attribute__((unused)) void write_file(const char *path, const void *data, size_t n, int gz) {
    if (gz) {
        gzFile f = gzopen(path, "wb");
        gzwrite(f, data, (unsigned)n);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        fwrite(data, 1, n, f);
        fclose(f);
    }
}

/* An IDX file with a chosen header and `payload` bytes of data (which may disagree with the header). */
static __attribute__((unused)) void write_idx(const char *path, unsigned char dtype, int ndims, const uint32_t *dims,
                                              const uint8_t *data, size_t payload, int gz) {
    size_t header = 4 + 4 * (size_t)ndims;
    unsigned char *buf = malloc(header + payload + 1);
    buf[0] = 0;
    buf[1] = 0;
    buf[2] = dtype;
    buf[3] = (unsigned char)ndims;
    for (int i = 0; i < ndims; i++)
        put_be32(buf + 4 + 4 * i, dims[i]);
    if (payload) memcpy(buf + header, data, payload);
    write_file(path, buf, header + payload, gz);
    free(buf);
}

#endif
