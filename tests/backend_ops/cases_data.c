/* cases_data.c: run functions of the data-movement operations (upload, download, view, fill,
 * stage_rows, gather, gather_augment). Every output is exact except gather_augment's bilinear
 * samples; gather and stage_rows are also checked against the host arrays they copy. */
#include <stdio.h>
#include <string.h>

#include "bops.h"
#include "check.h"
#include "rng.h"

/* p: n floats uploaded at element offset p[1] into a buffer of n + p[1] sevens */
void bo_run_upload(bo_ctx *c, const bo_case *k) {
    size_t n = (size_t)k->p[0], off = (size_t)k->p[1];
    bo_shape(c, "n %zu at +%zu", n, off);
    float *x = bo_uniform(c, n, 1);
    cm_buf *B = bo_out(c, n + off, 7.25f);
    BO_TIMED(c) BO_OK(c, backend_upload(c->b, B, 4 * off, x, 4 * n));
    c->bytes = 4.0 * (double)n;
    bo_keep(c, "buffer", B, BO_F32, n + off, 0, 0);
}

/* p: n floats downloaded from element offset p[1]; the host array's guard stays untouched */
void bo_run_download(bo_ctx *c, const bo_case *k) {
    size_t n = (size_t)k->p[0], off = (size_t)k->p[1];
    bo_shape(c, "n %zu from +%zu", n, off);
    float *x = bo_uniform(c, n + off, 2), *dst = bo_tmp(c, 4 * (n + 16));
    for (size_t i = 0; i < n + 16; i++)
        dst[i] = -3.5f;
    cm_buf *B = bo_in(c, x, 4 * (n + off));
    BO_TIMED(c) BO_OK(c, backend_download(c->b, B, 4 * off, dst, 4 * n));
    c->bytes = 4.0 * (double)n;
    for (size_t i = n; i < n + 16; i++)
        if (dst[i] != -3.5f) {
            fprintf(stderr, "  download wrote past %zu floats\n", n);
            c->failed = 1;
            break;
        }
    if (memcmp(dst, x + off, 4 * n) != 0) {
        fprintf(stderr, "  download of %zu floats at +%zu is not the uploaded data\n", n, off);
        c->failed = 1;
    }
    bo_keep_host(c, "downloaded", dst, BO_F32, n, 0, 0);
}

/* p: a view of p[1] floats 4096 bytes into a parent of p[0] floats; the view is uploaded to and
 * filled; the parent shows it there and nowhere else */
void bo_run_view(bo_ctx *c, const bo_case *k) {
    size_t n = (size_t)k->p[0], nv = (size_t)k->p[1], off = 4096;
    bo_shape(c, "parent %zu, view %zu at +%zu bytes", n, nv, off);
    if (off % c->b->align_bytes != 0 || off + 4 * nv > 4 * n) {
        fprintf(stderr, "  view case does not fit the %s backend's alignment %zu\n", c->b->kind, c->b->align_bytes);
        c->failed = 1;
        return;
    }
    cm_buf *P = bo_in(c, bo_uniform(c, n, 3), 4 * n), *V = NULL;
    BO_TIMED(c) {
        if (BO_OK(c, backend_view(c->b, P, off, 4 * nv, "view", &V))) backend_release(c->b, V);
    }
    if (!BO_OK(c, backend_view(c->b, P, off, 4 * nv, "view", &V))) return;
    BO_OK(c, backend_upload(c->b, V, 4, bo_uniform(c, nv - 1, 4), 4 * (nv - 1)));
    BO_OK(c, backend_fill(c->b, V, 0.5f, nv / 2));
    float *got = bo_tmp(c, 4 * nv);
    bo_get(c, V, got, 4 * nv);
    bo_keep_host(c, "view", got, BO_F32, nv, 0, 0);
    backend_release(c->b, V);
    bo_keep(c, "parent", P, BO_F32, n, 0, 0);
}

/* p: n floats; f: the value */
void bo_run_fill(bo_ctx *c, const bo_case *k) {
    size_t n = (size_t)k->p[0];
    bo_shape(c, "n %zu value %g", n, (double)k->f[0]);
    cm_buf *B = bo_out(c, n, 7.25f);
    BO_TIMED(c) BO_OK(c, backend_fill(c->b, B, k->f[0], n));
    c->bytes = 4.0 * (double)n;
    float *got = bo_tmp(c, 4 * n);
    bo_get(c, B, got, 4 * n);
    for (size_t i = 0; i < n; i++)
        if (memcmp(&got[i], &k->f[0], 4) != 0) {
            fprintf(stderr, "  fill: element %zu is %g\n", i, (double)got[i]);
            c->failed = 1;
            break;
        }
    bo_keep_host(c, "filled", got, BO_F32, n, 0, 0);
}

/* A random uint8 set of p[0] rows of dim bytes, labels < 10, and `count` random row indices. */
static void random_set(bo_ctx *c, int rows, int dim, int count, uint8_t **src, uint8_t **lab, int32_t **idx) {
    cm_rng rng;
    rng_seed(&rng, (uint64_t)rows * 31 + (uint64_t)dim, 8);
    *src = bo_tmp(c, (size_t)rows * dim);
    *lab = bo_tmp(c, (size_t)rows);
    *idx = bo_tmp(c, 4 * (size_t)count);
    for (size_t i = 0; i < (size_t)rows * dim; i++)
        (*src)[i] = (uint8_t)rng_next_u32(&rng);
    for (int i = 0; i < rows; i++)
        (*lab)[i] = (uint8_t)rng_bounded(&rng, 10);
    for (int i = 0; i < count; i++)
        (*idx)[i] = (int32_t)rng_bounded(&rng, (uint32_t)rows);
}

/* Whether rows (rows x dim) and labels are src's and lab's rows idx[0..rows). */
static int staged_rows_ok(const uint8_t *got, const uint8_t *gl, const uint8_t *src, const uint8_t *lab,
                          const int32_t *idx, int rows, int dim) {
    for (int r = 0; r < rows; r++)
        if (memcmp(got + (size_t)r * dim, src + (size_t)idx[r] * dim, (size_t)dim) || gl[r] != lab[idx[r]]) {
            fprintf(stderr, "  stage_rows: row %d is not source row %d\n", r, idx[r]);
            return 0;
        }
    return 1;
}

/* p: set rows, dim, rows staged. Staged, then read back at once, eight times over from different
 * rows: each download must see its own upload (the device stages on its transfer queue). */
void bo_run_stage_rows(bo_ctx *c, const bo_case *k) {
    int N = k->p[0], dim = k->p[1], rows = k->p[2];
    bo_shape(c, "%d of %d rows x %d bytes", rows, N, dim);
    uint8_t *src, *lab;
    int32_t *idx;
    random_set(c, N, dim, rows + 8, &src, &lab, &idx);
    cm_buf *R = bo_in_flags(c, NULL, (size_t)rows * dim, CM_BUF_STAGING);
    cm_buf *L = bo_in_flags(c, NULL, (size_t)rows, CM_BUF_STAGING);
    uint8_t *got = bo_tmp(c, (size_t)rows * dim), *gl = bo_tmp(c, (size_t)rows);
    for (int pass = 8; pass > 0 && !c->perf && !c->failed; pass--) {
        BO_OK(c, backend_stage_rows(c->b, R, L, src, lab, idx + pass, rows, dim));
        bo_get(c, R, got, (size_t)rows * dim), bo_get(c, L, gl, (size_t)rows);
        if (!staged_rows_ok(got, gl, src, lab, idx + pass, rows, dim)) c->failed = 1;
    }
    BO_TIMED(c) BO_OK(c, backend_stage_rows(c->b, R, L, src, lab, idx, rows, dim));
    c->bytes = (double)rows * (dim + 1);
    bo_get(c, R, got, (size_t)rows * dim), bo_get(c, L, gl, (size_t)rows);
    if (!staged_rows_ok(got, gl, src, lab, idx, rows, dim)) c->failed = 1;
    bo_keep_host(c, "rows", got, BO_U8, (size_t)rows * dim, 0, 0);
    bo_keep_host(c, "labels", gl, BO_U8, (size_t)rows, 0, 0);
}

/* p: set rows, dim, rows gathered, index offset */
void bo_run_gather(bo_ctx *c, const bo_case *k) {
    int N = k->p[0], dim = k->p[1], rows = k->p[2], off = k->p[3];
    bo_shape(c, "%d of %d rows x %d, idx +%d", rows, N, dim, off);
    uint8_t *src, *lab;
    int32_t *idx;
    random_set(c, N, dim, off + rows, &src, &lab, &idx);
    cm_buf *S = bo_in(c, src, (size_t)N * dim), *L = bo_in(c, lab, (size_t)N);
    cm_buf *I = bo_in(c, idx, 4 * (size_t)(off + rows));
    cm_buf *X = bo_out(c, (size_t)rows * dim, 7.25f), *Y = bo_out(c, (size_t)rows, 7.25f);
    const float scale = 1.0f / 255.0f;
    BO_TIMED(c) BO_OK(c, backend_gather(c->b, S, L, I, (size_t)off, rows, dim, scale, X, Y));
    c->bytes = (double)rows * dim * 5.0;
    float *x = bo_tmp(c, 4 * (size_t)rows * dim);
    int32_t *y = bo_tmp(c, 4 * (size_t)rows);
    bo_get(c, X, x, 4 * (size_t)rows * dim), bo_get(c, Y, y, 4 * (size_t)rows);
    for (int r = 0; r < rows; r++) {
        int bad = y[r] != lab[idx[off + r]];
        for (int j = 0; j < dim; j++)
            bad |= x[(size_t)r * dim + j] != (float)src[(size_t)idx[off + r] * dim + j] * scale;
        if (bad) {
            fprintf(stderr, "  gather: row %d is not source row %d\n", r, idx[off + r]);
            c->failed = 1;
            break;
        }
    }
    bo_keep_host(c, "x", x, BO_F32, (size_t)rows * dim, 0, 1e-7);
    bo_keep_host(c, "y", y, BO_I32, (size_t)rows, 0, 0);
}

/* p: set rows, height, width, rows gathered, index offset, row0, transform (0 none, 1 all, 2 flip) */
/* Every row of x (rows, C, H, W) must be its source image moved by a whole number of pixels in
 * [-P, P] on each axis, zero where it came from outside, the same move for every channel: the
 * CIFAR crop (pad by P, cut at an offset), checked without the backend's random numbers. */
static void check_crop(bo_ctx *c, const float *x, const uint8_t *src, const int32_t *idx, int rows, int C, int H, int W,
                       int P, float scale) {
    int moved = 0; /* rows that did move: the offsets are drawn, not always 0 */
    for (int r = 0; r < rows; r++) {
        const uint8_t *s = src + (size_t)idx[r] * C * H * W;
        const float *d = x + (size_t)r * C * H * W;
        int found = 0;
        for (int dy = -P; dy <= P && !found; dy++)
            for (int dx = -P; dx <= P && !found; dx++) {
                int same = 1;
                for (int i = 0; i < C * H * W && same; i++) {
                    int ch = i / (H * W), y = i / W % H + dy, xx = i % W + dx;
                    float want = y >= 0 && y < H && xx >= 0 && xx < W ? s[((size_t)ch * H + y) * W + xx] * scale : 0;
                    same = d[i] == want;
                }
                found = same;
                moved += same && (dy || dx);
            }
        if (!found) {
            fprintf(stderr, "  gather_augment crop=%d: row %d is no whole-pixel shift of its image\n", P, r);
            c->failed = 1;
            return;
        }
    }
    if (rows >= 8 && moved < rows / 2) {
        fprintf(stderr, "  gather_augment crop=%d: only %d of %d rows moved\n", P, moved, rows);
        c->failed = 1;
    }
}

/* p = {N, H, W, rows, idx offset, row0, aug, channels (0: 1)} */
void bo_run_gather_augment(bo_ctx *c, const bo_case *k) {
    int N = k->p[0], H = k->p[1], W = k->p[2], rows = k->p[3], off = k->p[4], C = k->p[7] ? k->p[7] : 1;
    int dim = C * H * W;
    static const cm_augment augs[5] = {{0, 0, 0, 0, 0},
                                       {2.0f, 10.0f, 0.1f, 0.5f, 0},
                                       {0, 0, 0, 1.0f, 0},
                                       {0, 0, 0, 0, 4.0f},
                                       {1.0f, 8.0f, 0.05f, 0.5f, 2.0f}};
    const cm_augment *aug = &augs[k->p[6]];
    bo_shape(c, "%d of %d, %dx%dx%d, idx +%d, row0 %d, aug %g/%g/%g/%g crop %g", rows, N, C, H, W, off, k->p[5],
             (double)aug->shift, (double)aug->rotate, (double)aug->scale, (double)aug->flip, (double)aug->crop);
    uint8_t *src, *lab;
    int32_t *idx;
    random_set(c, N, dim, off + rows, &src, &lab, &idx);
    cm_buf *S = bo_in(c, src, (size_t)N * dim), *L = bo_in(c, lab, (size_t)N);
    cm_buf *I = bo_in(c, idx, 4 * (size_t)(off + rows));
    cm_buf *X = bo_out(c, (size_t)rows * dim, 7.25f), *Y = bo_out(c, (size_t)rows, 7.25f);
    const float scale = 1.0f / 255.0f;
    BO_TIMED(c)
    BO_OK(c, backend_gather_augment(c->b, S, L, I, (size_t)off, rows, C, H, W, scale, aug, 42, 3, (uint32_t)k->p[5], X,
                                    Y));
    c->bytes = (double)rows * dim * 5.0;
    float *x = bo_tmp(c, 4 * (size_t)rows * dim);
    bo_get(c, X, x, 4 * (size_t)rows * dim);
    /* the identity transform is the plain gather, exactly */
    for (int r = 0; r < rows && k->p[6] == 0; r++)
        for (int j = 0; j < dim; j++)
            if (x[(size_t)r * dim + j] != (float)src[(size_t)idx[off + r] * dim + j] * scale) {
                fprintf(stderr, "  gather_augment without a transform: row %d differs from gather\n", r);
                c->failed = 1;
                r = rows;
                break;
            }
    if (k->p[6] == 3 && !c->perf) check_crop(c, x, src, idx + off, rows, C, H, W, (int)aug->crop, scale);
    bo_keep_host(c, "x", x, BO_F32, (size_t)rows * dim, k->atol, k->rtol);
    bo_keep(c, "y", Y, BO_I32, (size_t)rows, 0, 0);
}
