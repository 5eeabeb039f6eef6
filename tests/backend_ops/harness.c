/* harness.c: buffers with guard words, kept outputs, timing and comparison for the op-test table
 * (bops.h says how a case runs). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bops.h"
#include "check.h"
#include "rng.h"

void bo_begin_case(bo_ctx *c, cm_backend *b, int perf, int reps) {
    memset(c, 0, sizeof *c);
    c->b = b;
    c->perf = perf;
    c->warmup = perf ? 3 : 0;
    c->reps = perf ? (reps < 1 ? 1 : reps > BO_MAX_REPS ? BO_MAX_REPS : reps) : 1;
}

void bo_shape(bo_ctx *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->shape, sizeof c->shape, fmt, ap);
    va_end(ap);
}

int bo_ok(bo_ctx *c, cm_status s, const char *what) {
    if (s == CM_OK) return 1;
    fprintf(stderr, "  %s backend: %s failed: %s\n", c->b->kind, what, cm_last_error());
    c->failed = 1;
    return 0;
}

static void guard_pattern(uint8_t *g) {
    for (int i = 0; i < BO_GUARD_BYTES; i += 4) {
        uint32_t w = BO_GUARD_WORD;
        memcpy(g + i, &w, 4);
    }
}

cm_buf *bo_in_flags(bo_ctx *c, const void *data, size_t bytes, unsigned flags) {
    cm_buf *buf = NULL;
    if (c->nbufs >= BO_MAX_BUFS || !BO_OK(c, backend_alloc(c->b, bytes + BO_GUARD_BYTES, flags, "op test", &buf))) {
        c->failed = 1;
        fprintf(stderr, "  cannot allocate %zu bytes\n", bytes);
        exit(1);
    }
    uint8_t g[BO_GUARD_BYTES];
    guard_pattern(g);
    if (data && bytes) BO_OK(c, backend_upload(c->b, buf, 0, data, bytes));
    BO_OK(c, backend_upload(c->b, buf, bytes, g, sizeof g));
    c->bufs[c->nbufs] = buf;
    c->data_bytes[c->nbufs++] = bytes;
    return buf;
}

cm_buf *bo_in(bo_ctx *c, const void *data, size_t bytes) {
    return bo_in_flags(c, data, bytes, 0);
}

cm_buf *bo_out(bo_ctx *c, size_t nfloats, float value) {
    float *v = bo_tmp(c, 4 * nfloats);
    for (size_t i = 0; i < nfloats; i++)
        v[i] = value;
    return bo_in(c, v, 4 * nfloats);
}

void bo_get(bo_ctx *c, cm_buf *buf, void *dst, size_t bytes) {
    if (bytes) BO_OK(c, backend_download(c->b, buf, 0, dst, bytes));
}

void bo_keep(bo_ctx *c, const char *name, cm_buf *buf, bo_type t, size_t n, double atol, double rtol) {
    size_t bytes = n * (t == BO_U8 ? 1 : 4);
    void *v = calloc(bytes ? bytes : 1, 1);
    bo_get(c, buf, v, bytes);
    bo_keep_host(c, name, v, t, n, atol, rtol);
    free(v);
}

void bo_keep_host(bo_ctx *c, const char *name, const void *data, bo_type t, size_t n, double atol, double rtol) {
    size_t bytes = n * (t == BO_U8 ? 1 : 4);
    void *v = calloc(bytes ? bytes : 1, 1);
    if (bytes) memcpy(v, data, bytes);
    if (c->nout >= BO_MAX_OUT) {
        fprintf(stderr, "  too many outputs\n");
        exit(1);
    }
    c->out[c->nout++] = (bo_output){name, t, n, v, atol, rtol};
}

void *bo_tmp(bo_ctx *c, size_t bytes) {
    if (c->ntmp >= BO_MAX_TMP) {
        fprintf(stderr, "  too many scratch arrays\n");
        exit(1);
    }
    void *p = calloc(bytes ? bytes : 1, 1);
    c->tmp[c->ntmp++] = p;
    return p;
}

float *bo_uniform(bo_ctx *c, size_t n, uint64_t seed) {
    float *v = bo_tmp(c, 4 * n);
    fill_uniform(v, n, seed);
    return v;
}

float *bo_distinct(bo_ctx *c, size_t n, uint64_t seed) {
    int32_t *perm = bo_tmp(c, 4 * n);
    for (size_t i = 0; i < n; i++)
        perm[i] = (int32_t)i;
    cm_rng rng;
    rng_seed(&rng, seed, 5);
    rng_shuffle(&rng, perm, (int)n);
    float *v = bo_tmp(c, 4 * n);
    for (size_t i = 0; i < n; i++)
        v[i] = 2.0f * (float)perm[i] / (float)n - 1.0f;
    return v;
}

int32_t *bo_labels(bo_ctx *c, size_t n, int classes, uint64_t seed) {
    int32_t *y = bo_tmp(c, 4 * n);
    cm_rng rng;
    rng_seed(&rng, seed, 3);
    for (size_t i = 0; i < n; i++)
        y[i] = (int32_t)rng_bounded(&rng, (uint32_t)classes);
    return y;
}

cm_window bo_window(bo_ctx *c, int batch, int channels, int h, int w, int k, int s, int p) {
    cm_window win = {batch, channels, h, w, k, s, p, 0, 0};
    BO_OK(c, window_resolve(&win, "op test"));
    return win;
}

/* The guard after every buffer still holds the sentinel; then everything is released. */
void bo_end_case(bo_ctx *c) {
    uint8_t want[BO_GUARD_BYTES], got[BO_GUARD_BYTES];
    guard_pattern(want);
    for (int i = 0; i < c->nbufs; i++) {
        if (BO_OK(c, backend_download(c->b, c->bufs[i], c->data_bytes[i], got, sizeof got)) &&
            memcmp(got, want, sizeof got) != 0) {
            fprintf(stderr, "  %s backend: buffer %d (%zu bytes) was written past its end\n", c->b->kind, i,
                    c->data_bytes[i]);
            c->failed = 1;
        }
    }
    while (c->nbufs > 0)
        backend_release(c->b, c->bufs[--c->nbufs]);
    while (c->ntmp > 0)
        free(c->tmp[--c->ntmp]);
}

void bo_free_outputs(bo_ctx *c) {
    for (int i = 0; i < c->nout; i++)
        free(c->out[i].v);
    c->nout = 0;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void bo_time_begin(bo_ctx *c) {
    c->it = 0;
}

int bo_time_more(bo_ctx *c) {
    if (c->it >= c->warmup + c->reps) return 0;
    if (c->perf) {
        BO_OK(c, backend_finish(c->b));
        c->t0 = now_s();
    }
    return 1;
}

void bo_time_next(bo_ctx *c) {
    if (c->perf) {
        BO_OK(c, backend_finish(c->b));
        if (c->it >= c->warmup) c->times[c->it - c->warmup] = now_s() - c->t0;
    }
    c->it++;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bo_median_ms(const bo_ctx *c) {
    double t[BO_MAX_REPS];
    memcpy(t, c->times, sizeof(double) * (size_t)c->reps);
    qsort(t, (size_t)c->reps, sizeof(double), cmp_double);
    return 1e3 * (c->reps % 2 ? t[c->reps / 2] : 0.5 * (t[c->reps / 2 - 1] + t[c->reps / 2]));
}

int bo_compare(const char *label, const bo_ctx *ref, const bo_ctx *got) {
    if (ref->nout != got->nout) {
        fprintf(stderr, "  %s: %d outputs on %s, %d on %s\n", label, ref->nout, ref->b->kind, got->nout, got->b->kind);
        return 0;
    }
    int ok = 1;
    for (int i = 0; i < ref->nout; i++) {
        const bo_output *r = &ref->out[i], *g = &got->out[i];
        char what[256];
        snprintf(what, sizeof what, "%s: %s", label, r->name);
        if (r->type == BO_F32) {
            ok &= check_close(what, g->v, r->v, r->n, r->atol, r->rtol);
        } else if (memcmp(g->v, r->v, r->n * (r->type == BO_U8 ? 1 : 4)) != 0) {
            for (size_t j = 0, shown = 0; j < r->n && shown < 5; j++) {
                long a = r->type == BO_U8 ? ((uint8_t *)r->v)[j] : ((int32_t *)r->v)[j];
                long b = r->type == BO_U8 ? ((uint8_t *)g->v)[j] : ((int32_t *)g->v)[j];
                if (a != b) fprintf(stderr, "  %s[%zu]: got %ld, expected %ld\n", what, j, b, a), shown++;
            }
            fprintf(stderr, "%s: integers differ\n", what);
            ok = 0;
        }
    }
    return ok;
}

int bo_check64(bo_ctx *c, const char *what, const float *got, const double *ref, size_t n, double atol, double rtol) {
    size_t bad = 0;
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - ref[i]);
        if (isnan(got[i]) || isnan(ref[i])) err = INFINITY;
        if (err > worst) worst = err;
        if (err > atol + rtol * fabs(ref[i])) {
            if (bad < 5) fprintf(stderr, "  %s[%zu]: got %.8g, float64 oracle %.10g\n", what, i, got[i], ref[i]);
            bad++;
        }
    }
    if (bad) {
        fprintf(stderr, "%s (%s backend): %zu of %zu out of tolerance (atol %g, rtol %g); max abs error %.3g\n", what,
                c->b->kind, bad, n, atol, rtol, worst);
        c->failed = 1;
    }
    return bad == 0;
}

double *bo_to_double(bo_ctx *c, const float *x, size_t n) {
    double *d = bo_tmp(c, sizeof(double) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        d[i] = x[i];
    return d;
}

float *bo_download_f(bo_ctx *c, cm_buf *b, size_t n) {
    float *v = bo_tmp(c, 4 * n);
    bo_get(c, b, v, 4 * n);
    return v;
}
