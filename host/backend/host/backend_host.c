/* backend_host.c: the host backend (--backend host), in plain C. Every operation is a straightforward loop
 * (GEMM is OpenBLAS's, through host_gemm.c); the device backend is tested against these. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "backend.h"
#include "philox.h"
#include "host_buf.h"
#include "host_gemm.h"
#include "nn_ops.h"
#include "op_clock.h"

typedef struct {
    cm_backend base;
    void *scratch; /* host_scratch(): Conv2d's per-thread work space, grown on demand */
    size_t scratch_bytes;
} host_backend;

/* Element-wise loops below this many elements run on one thread: waking the others costs more. */
#define PAR_MIN 16384

static void host_destroy(cm_backend *b) {
    op_clock_destroy(b->clock);
    host_scratch(b, 0);
    free(b);
}

/* Grown on demand and counted in the backend's memory (bench's peak backend buffers); 0 bytes
 * frees it (host_destroy). */
void *host_scratch(cm_backend *b, size_t bytes) {
    host_backend *hb = (host_backend *)b;
    if (bytes && hb->scratch_bytes >= bytes) return hb->scratch;
    free(hb->scratch);
    backend_account(b, hb->scratch_bytes, 0);
    hb->scratch_bytes = (bytes + 63) / 64 * 64;
    hb->scratch = hb->scratch_bytes ? aligned_alloc(64, hb->scratch_bytes) : NULL;
    if (!hb->scratch) hb->scratch_bytes = 0;
    backend_account(b, hb->scratch_bytes, 1);
    return hb->scratch;
}

static cm_status host_profile_reset(cm_backend *b) {
    if (!b->clock) return cm_fail(CM_ERR_USAGE, "host backend: not created with profiling");
    op_clock_reset(b->clock);
    return CM_OK;
}

static cm_status host_profile_read(cm_backend *b, cm_profile_entry *out, int max, int *n) {
    if (!b->clock) return cm_fail(CM_ERR_USAGE, "host backend: not created with profiling");
    op_clock_read(b->clock, out, max, n);
    return CM_OK;
}

static cm_status host_alloc(cm_backend *b, size_t bytes, unsigned flags, const char *what, cm_buf **out) {
    cm_buf *buf = calloc(1, sizeof *buf);
    /* calloc, not malloc: fresh buffers read as zeros, as on the device after fill(). */
    if (buf) buf->data = calloc(bytes ? bytes : 1, 1);
    if (!buf || !buf->data) {
        free(buf);
        return cm_fail(CM_ERR_MEMORY, "host backend: cannot allocate %zu MiB for '%s'", bytes >> 20, what);
    }
    buf->bytes = bytes;
    buf->owned = 1;
    backend_account(b, bytes, 1);
    *out = buf;
    return CM_OK;
}

static cm_status host_view(cm_backend *b, cm_buf *parent, size_t offset, size_t bytes, const char *what, cm_buf **out) {
    if (offset > parent->bytes || bytes > parent->bytes - offset)
        return cm_fail(CM_ERR_USAGE, "view '%s' [%zu, +%zu) lies outside its %zu-byte parent", what, offset, bytes,
                       parent->bytes);
    cm_buf *buf = calloc(1, sizeof *buf);
    if (!buf) return cm_fail(CM_ERR_MEMORY, "host backend: out of memory for view '%s'", what);
    buf->data = parent->data + offset;
    buf->bytes = bytes;
    *out = buf;
    return CM_OK;
}

static void host_release(cm_backend *b, cm_buf *buf) {
    if (buf->owned) {
        free(buf->data);
        backend_account(b, buf->bytes, 0);
    }
    free(buf);
}

static cm_status host_upload(cm_backend *b, cm_buf *dst, size_t offset, const void *src, size_t bytes) {
    CM_TRY(check_range(dst, offset, bytes, "upload"));
    memcpy(dst->data + offset, src, bytes);
    return CM_OK;
}

static cm_status host_download(cm_backend *b, cm_buf *src, size_t offset, void *dst, size_t bytes) {
    CM_TRY(check_range(src, offset, bytes, "download"));
    memcpy(dst, src->data + offset, bytes);
    return CM_OK;
}

static cm_status host_fill(cm_backend *b, cm_buf *dst, float value, size_t count) {
    CM_TRY(check_range(dst, 0, count * sizeof(float), "fill"));
    float *p = F(dst);
    for (size_t i = 0; i < count; i++)
        p[i] = value;
    return CM_OK;
}

static cm_status host_finish(cm_backend *b) {
    return CM_OK;
}

static cm_status host_stage_rows(cm_backend *b, cm_buf *rows_u8, cm_buf *labels_u8, const uint8_t *src,
                                 const uint8_t *labels, const int32_t *idx, int n, int dim) {
    CM_TRY(check_range(rows_u8, 0, (size_t)n * (size_t)dim, "stage_rows"));
    CM_TRY(check_range(labels_u8, 0, (size_t)n, "stage_rows"));
    for (int r = 0; r < n; r++) {
        memcpy(rows_u8->data + (size_t)r * dim, src + (size_t)idx[r] * dim, (size_t)dim);
        labels_u8->data[r] = labels[idx[r]];
    }
    return CM_OK;
}

static cm_status host_gather(cm_backend *b, cm_buf *src_u8, cm_buf *labels_u8, cm_buf *idx, size_t idx_off, int rows,
                             int dim, float scale, cm_buf *x, cm_buf *y) {
    const int32_t *ix = I32(idx) + idx_off;
    float *xf = F(x);
    int32_t *yi = I32(y);
#pragma omp parallel for schedule(static) if ((long)rows * dim > PAR_MIN)
    for (int r = 0; r < rows; r++) {
        const uint8_t *s = src_u8->data + (size_t)ix[r] * dim;
        float *d = xf + (size_t)r * dim;
        for (int c = 0; c < dim; c++)
            d[c] = (float)s[c] * scale;
        yi[r] = labels_u8->data[ix[r]];
    }
    return CM_OK;
}

/* The per-example inverse transform (output pixel -> source pixel), as kernel_gather_augment. */
static void augment_transform(const cm_augment *a, uint64_t seed, uint64_t step, uint32_t row, float *ia, float *ib,
                              float *tx, float *ty, int *mirror) {
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32) ^ CM_PHILOX_TAG_AUGMENT};
    const uint32_t ctr[4] = {row, 0u, (uint32_t)step, (uint32_t)(step >> 32)};
    uint32_t u[4];
    philox4x32_10(ctr, key, u);
    *tx = a->shift * (2.0f * philox_unit(u[0]) - 1.0f);
    *ty = a->shift * (2.0f * philox_unit(u[1]) - 1.0f);
    const float th = a->rotate * (2.0f * philox_unit(u[2]) - 1.0f) * 0.017453292519943295f;
    const float s = 1.0f + a->scale * (2.0f * philox_unit(u[3]) - 1.0f);
    const float cs = a->rotate != 0.0f ? cosf(th) : 1.0f, sn = a->rotate != 0.0f ? sinf(th) : 0.0f;
    *ia = cs / s;
    *ib = sn / s;
    *mirror = 0;
    if (a->flip > 0.0f) {
        const uint32_t ctr2[4] = {row, 1u, (uint32_t)step, (uint32_t)(step >> 32)};
        philox4x32_10(ctr2, key, u);
        *mirror = philox_unit(u[0]) < a->flip;
    }
    if (a->crop > 0.0f) { /* pad by P and crop: a whole-pixel translation in [-P, P] */
        const uint32_t ctr3[4] = {row, 2u, (uint32_t)step, (uint32_t)(step >> 32)};
        const int P = (int)a->crop;
        philox4x32_10(ctr3, key, u);
        int ox = (int)(philox_unit(u[0]) * (float)(2 * P + 1)), oy = (int)(philox_unit(u[1]) * (float)(2 * P + 1));
        ox = ox > 2 * P ? 2 * P : ox, oy = oy > 2 * P ? 2 * P : oy;
        *tx += (float)(ox - P);
        *ty += (float)(oy - P);
    }
}

static float pixel_at(const uint8_t *img, int height, int width, int yy, int xx) {
    return yy >= 0 && yy < height && xx >= 0 && xx < width ? (float)img[yy * width + xx] : 0.0f;
}

static cm_status host_gather_augment(cm_backend *b, cm_buf *src_u8, cm_buf *labels_u8, cm_buf *idx, size_t idx_off,
                                     int rows, int channels, int height, int width, float scale, const cm_augment *aug,
                                     uint64_t seed, uint64_t step, uint32_t row0, cm_buf *x, cm_buf *y) {
    const int32_t *ix = I32(idx) + idx_off;
    const int plane = height * width, dim = channels * plane;
    const float cx = (float)(width - 1) * 0.5f, cy = (float)(height - 1) * 0.5f;
    for (int r = 0; r < rows; r++) {
        const uint8_t *img = src_u8->data + (size_t)ix[r] * dim;
        float ia, ib, tx, ty;
        int mirror;
        augment_transform(aug, seed, step, row0 + (uint32_t)r, &ia, &ib, &tx, &ty, &mirror);
        for (int ch = 0; ch < channels; ch++, img += plane) {
            float *d = F(x) + (size_t)r * dim + (size_t)ch * plane;
            for (int i = 0; i < height; i++)
                for (int j = 0; j < width; j++) {
                    const float dx = (float)(mirror ? width - 1 - j : j) - cx - tx, dy = (float)i - cy - ty;
                    const float xs = ia * dx + ib * dy + cx, ys = -ib * dx + ia * dy + cy;
                    const float x0 = floorf(xs), y0 = floorf(ys), fx = xs - x0, fy = ys - y0;
                    const int xi = (int)x0, yi = (int)y0;
                    const float top = (1.0f - fx) * pixel_at(img, height, width, yi, xi) +
                                      fx * pixel_at(img, height, width, yi, xi + 1);
                    const float bot = (1.0f - fx) * pixel_at(img, height, width, yi + 1, xi) +
                                      fx * pixel_at(img, height, width, yi + 1, xi + 1);
                    d[i * width + j] = ((1.0f - fy) * top + fy * bot) * scale;
                }
        }
        I32(y)[r] = labels_u8->data[ix[r]];
    }
    return CM_OK;
}

static cm_status host_gemm_op(cm_backend *b, bool ta, bool tb, int m, int n, int k, float alpha, cm_buf *a, int lda,
                              cm_buf *bm, int ldb, float beta, cm_buf *c, int ldc) {
    host_gemm(ta, tb, m, n, k, alpha, F(a), lda, F(bm), ldb, beta, F(c), ldc);
    return CM_OK;
}

static cm_status host_bias_act(cm_backend *b, cm_buf *y, cm_buf *bias, int rows, int cols, bool relu) {
    float *yf = F(y);
    const float *bf = F(bias);
#pragma omp parallel for schedule(static) if ((long)rows * cols > PAR_MIN)
    for (int r = 0; r < rows; r++) {
        float *row = yf + (size_t)r * cols;
        if (relu)
            for (int c = 0; c < cols; c++) {
                const float v = row[c] + bf[c];
                row[c] = v < 0.0f ? 0.0f : v;
            }
        else
            for (int c = 0; c < cols; c++)
                row[c] += bf[c];
    }
    return CM_OK;
}

static cm_status host_relu_backward(cm_backend *b, cm_buf *dy, cm_buf *y, size_t n, float scale) {
    float *restrict d = F(dy);
    const float *restrict yf = F(y);
    const long len = (long)n;
#pragma omp parallel for simd schedule(static) if (len > PAR_MIN)
    for (long i = 0; i < len; i++) { /* both sides computed: a branch-free loop vectorises */
        const float g = d[i] * scale;
        d[i] = yf[i] > 0.0f ? g : 0.0f;
    }
    return CM_OK;
}

static cm_status host_dropout(cm_backend *b, cm_buf *y, size_t n, float p, uint64_t seed, uint32_t layer, uint64_t step,
                              size_t offset) {
    float *yf = F(y) - offset;                /* indexed by the element's place in the mask stream */
    const float inv_keep = 1.0f / (1.0f - p); /* the device gets this value from the host too */
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32) ^ CM_PHILOX_TAG_DROPOUT};
    const long first = (long)(offset / 4), end = (long)((offset + n + 3) / 4);
#pragma omp parallel for schedule(static) if (end - first > PAR_MIN / 4)
    for (long g = first; g < end; g++) {
        const uint32_t ctr[4] = {(uint32_t)g, layer, (uint32_t)step, (uint32_t)(step >> 32)};
        uint32_t u[4];
        philox4x32_10(ctr, key, u);
        for (size_t j = 0; j < 4; j++) {
            const size_t i = 4 * (size_t)g + j;
            if (i >= offset && i < offset + n) yf[i] = philox_unit(u[j]) >= p ? yf[i] * inv_keep : 0.0f;
        }
    }
    return CM_OK;
}

static cm_status host_bias_grad(cm_backend *b, cm_buf *dy, cm_buf *relu_y, cm_buf *db, int rows, int cols) {
    float *d = F(dy);
    const float *y = relu_y ? F(relu_y) : NULL;
    float *g = F(db);
    enum { CHUNK = 64 }; /* columns per task: each sum keeps its row order whatever the threads */
    const int chunks = (cols + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) if ((long)rows * cols > PAR_MIN && chunks > 1)
    for (int ch = 0; ch < chunks; ch++) {
        const int c0 = ch * CHUNK, c1 = c0 + CHUNK < cols ? c0 + CHUNK : cols;
        for (int c = c0; c < c1; c++)
            g[c] = 0.0f;
        for (int r = 0; r < rows; r++) {
            float *row = d + (size_t)r * cols;
            if (y) /* the fused ReLU's backward first, as relu_backward with scale 1 */
                for (int c = c0; c < c1; c++)
                    row[c] = y[(size_t)r * cols + c] > 0.0f ? row[c] : 0.0f;
            for (int c = c0; c < c1; c++)
                g[c] += row[c];
        }
    }
    return CM_OK;
}

/* Index of the first maximum of z[0..n), the tie rule the device kernels share (common.cl). */
static int argmax_row(const float *z, int n) {
    int best = 0;
    for (int c = 1; c < n; c++)
        if (z[c] > z[best]) best = c;
    return best;
}

static cm_status host_softmax_xent(cm_backend *b, cm_buf *logits, cm_buf *labels, cm_buf *dlogits, cm_buf *acc_loss,
                                   cm_buf *acc_correct, int rows, int classes) {
    const float *z = F(logits);
    const int32_t *y = I32(labels);
    float *loss = F(acc_loss), *correct = F(acc_correct);
    float inv_rows = 1.0f / (float)rows;
    for (int r = 0; r < rows; r++) {
        const float *zr = z + (size_t)r * classes;
        int best = argmax_row(zr, classes);
        float mx = zr[best], sum = 0.0f;
        for (int c = 0; c < classes; c++)
            sum += expf(zr[c] - mx);
        int label = y[r];
        loss[r] += logf(sum) - (zr[label] - mx);
        correct[r] += best == label ? 1.0f : 0.0f;
        if (dlogits) {
            float *dr = F(dlogits) + (size_t)r * classes;
            float inv_sum = 1.0f / sum;
            for (int c = 0; c < classes; c++)
                dr[c] = (expf(zr[c] - mx) * inv_sum - (c == label ? 1.0f : 0.0f)) * inv_rows;
        }
    }
    return CM_OK;
}

static cm_status host_argmax(cm_backend *b, cm_buf *logits, cm_buf *labels, cm_buf *pred, cm_buf *acc_correct, int rows,
                             int classes) {
    const float *z = F(logits);
    for (int r = 0; r < rows; r++) {
        const float *zr = z + (size_t)r * classes;
        int best = argmax_row(zr, classes);
        if (pred) I32(pred)[r] = best;
        if (acc_correct && labels) F(acc_correct)[r] += best == I32(labels)[r] ? 1.0f : 0.0f;
    }
    return CM_OK;
}

/* SGD, with momentum or Nesterov: PyTorch's torch.optim.SGD update, element by element. */
static void sgd_update(float *wf, const float *gf, float *mf, long n, const cm_opt_step *s) {
    const float wd = s->weight_decay, mom = s->momentum, lr = s->lr;
    const bool nesterov = s->kind == CM_OPT_NESTEROV;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (long i = 0; i < n; i++) {
        float wi = wf[i], gi = gf[i];
        if (wd != 0.0f) gi += wd * wi;
        if (mf) {
            const float mi = mom * mf[i] + gi;
            mf[i] = mi;
            gi = nesterov ? gi + mom * mi : mi;
        }
        wf[i] = wi - lr * gi;
    }
}

/* Adam (L2 added to the gradient) and AdamW (decoupled decay), as torch.optim. */
static void adam_update(float *wf, const float *gf, float *mf, float *vf, long n, const cm_opt_step *s) {
    const float wd = s->weight_decay, b1 = s->beta1, b2 = s->beta2, lr = s->lr;
    const float step_size = s->step_size, bc2_sqrt = s->bc2_sqrt, eps = s->eps;
    const bool decoupled = s->kind == CM_OPT_ADAMW;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (long i = 0; i < n; i++) {
        float wi = wf[i], gi = gf[i];
        if (decoupled)
            wi *= 1.0f - lr * wd;
        else if (wd != 0.0f)
            gi += wd * wi;
        const float mi = b1 * mf[i] + (1.0f - b1) * gi;
        const float vi = b2 * vf[i] + (1.0f - b2) * gi * gi;
        mf[i] = mi;
        vf[i] = vi;
        wf[i] = wi - step_size * (mi / (sqrtf(vi) / bc2_sqrt + eps));
    }
}

static cm_status host_opt_update(cm_backend *b, cm_buf *w, cm_buf *g, cm_buf *m, cm_buf *v, size_t n,
                                 const cm_opt_step *s) {
    if (s->kind == CM_OPT_ADAM || s->kind == CM_OPT_ADAMW)
        adam_update(F(w), F(g), F(m), F(v), (long)n, s);
    else
        sgd_update(F(w), F(g), m ? F(m) : NULL, (long)n, s);
    return CM_OK;
}

static cm_status host_max_norm(cm_backend *b, cm_buf *w, int rows, int cols, float c) {
    for (int r = 0; r < rows; r++) {
        float *row = F(w) + (size_t)r * cols, ss = 0.0f;
        for (int j = 0; j < cols; j++)
            ss += row[j] * row[j];
        const float norm = sqrtf(ss);
        if (norm > c) {
            const float k = c / norm;
            for (int j = 0; j < cols; j++)
                row[j] *= k;
        }
    }
    return CM_OK;
}

static const cm_backend_ops host_ops = {
    .destroy = host_destroy,
    .alloc = host_alloc,
    .view = host_view,
    .release = host_release,
    .upload = host_upload,
    .download = host_download,
    .fill = host_fill,
    .finish = host_finish,
    .stage_rows = host_stage_rows,
    .gather = host_gather,
    .gather_augment = host_gather_augment,
    .gemm = host_gemm_op,
    .bias_act = host_bias_act,
    .relu_backward = host_relu_backward,
    .dropout = host_dropout,
    .bias_grad = host_bias_grad,
    .softmax_xent = host_softmax_xent,
    .argmax = host_argmax,
    .opt_update = host_opt_update,
    .max_norm = host_max_norm,
    .relu = host_relu,
    .im2col = host_im2col,
    .col2im = host_col2im,
    .conv_forward = host_conv_forward,
    .conv_backward = host_conv_backward,
    .cnhw_to_nchw = host_cnhw_to_nchw,
    .nchw_to_cnhw = host_nchw_to_cnhw,
    .channel_sum = host_channel_sum,
    .maxpool_forward = host_maxpool_forward,
    .maxpool_backward = host_maxpool_backward,
    .bn_forward = host_bn_forward,
    .bn_backward = host_bn_backward,
    .gap_forward = host_gap_forward,
    .gap_backward = host_gap_backward,
    .channel_affine = host_channel_affine,
    .profile_reset = host_profile_reset,
    .profile_read = host_profile_read,
};

int backend_host_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

cm_status backend_host_create(const cm_backend_options *opt, cm_backend **out) {
    host_backend *hb = calloc(1, sizeof *hb);
    if (!hb) return cm_fail(CM_ERR_MEMORY, "host backend: out of memory");
    hb->base.ops = &host_ops;
    hb->base.kind = "host";
    hb->base.align_bytes = 64;
    hb->base.max_alloc_bytes = SIZE_MAX / 2;
    hb->base.global_mem_bytes = SIZE_MAX / 2;
    if (opt && opt->profile && !(hb->base.clock = op_clock_create())) {
        free(hb);
        return cm_fail(CM_ERR_MEMORY, "host backend: out of memory");
    }
    int threads = host_gemm_set_threads(opt ? opt->threads : 0);
    snprintf(hb->base.device_name, sizeof hb->base.device_name, "host CPU, C + OpenBLAS %s, %d thread%s",
             backend_host_blas_core(), threads, threads == 1 ? "" : "s");
    *out = &hb->base;
    return CM_OK;
}
