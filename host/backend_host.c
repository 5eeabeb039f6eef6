/* backend_host.c: the plain-C reference backend. Every operation is a straightforward loop
 * (GEMM is cache-blocked in host_gemm.c); the device backend is tested against these. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "clmnist/backend.h"
#include "host_gemm.h"

struct cm_buf {
    unsigned char *data;
    size_t bytes;
    int owned;
};

typedef struct {
    cm_backend base;
    host_gemm_scratch scratch;
} host_backend;

#define F(buf) ((float *)(void *)(buf)->data)
#define I32(buf) ((int32_t *)(void *)(buf)->data)

static void host_destroy(cm_backend *b) {
    host_backend *hb = (host_backend *)b;
    host_gemm_scratch_free(&hb->scratch);
    free(hb);
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

static cm_status host_view(cm_backend *b, cm_buf *parent, size_t offset, size_t bytes, const char *what,
                           cm_buf **out) {
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

static cm_status check_range(const cm_buf *buf, size_t offset, size_t bytes, const char *op) {
    if (offset > buf->bytes || bytes > buf->bytes - offset)
        return cm_fail(CM_ERR_USAGE, "%s of %zu bytes at offset %zu overruns a %zu-byte buffer", op, bytes, offset,
                       buf->bytes);
    return CM_OK;
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
    for (size_t i = 0; i < count; i++) p[i] = value;
    return CM_OK;
}

static cm_status host_finish(cm_backend *b) { return CM_OK; }

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

static cm_status host_gather(cm_backend *b, cm_buf *src_u8, cm_buf *labels_u8, cm_buf *idx, size_t idx_off,
                             int rows, int dim, float scale, cm_buf *x, cm_buf *y) {
    const int32_t *ix = I32(idx) + idx_off;
    float *xf = F(x);
    int32_t *yi = I32(y);
    for (int r = 0; r < rows; r++) {
        const uint8_t *s = src_u8->data + (size_t)ix[r] * dim;
        float *d = xf + (size_t)r * dim;
        for (int c = 0; c < dim; c++) d[c] = (float)s[c] * scale;
        yi[r] = labels_u8->data[ix[r]];
    }
    return CM_OK;
}

static cm_status host_gemm_op(cm_backend *b, bool ta, bool tb, int m, int n, int k, float alpha, cm_buf *a, int lda,
                              cm_buf *bm, int ldb, float beta, cm_buf *c, int ldc) {
    host_backend *hb = (host_backend *)b;
    if (host_gemm(&hb->scratch, ta, tb, m, n, k, alpha, F(a), lda, F(bm), ldb, beta, F(c), ldc) != 0)
        return cm_fail(CM_ERR_MEMORY, "host backend: out of memory for the GEMM packing buffer");
    return CM_OK;
}

static cm_status host_bias_act(cm_backend *b, cm_buf *y, cm_buf *bias, int rows, int cols, bool relu) {
    float *yf = F(y);
    const float *bf = F(bias);
    for (int r = 0; r < rows; r++) {
        float *row = yf + (size_t)r * cols;
        for (int c = 0; c < cols; c++) {
            float v = row[c] + bf[c];
            row[c] = relu && v < 0.0f ? 0.0f : v;
        }
    }
    return CM_OK;
}

static cm_status host_relu_backward(cm_backend *b, cm_buf *dy, cm_buf *y, size_t n) {
    float *d = F(dy);
    const float *yf = F(y);
    for (size_t i = 0; i < n; i++)
        if (!(yf[i] > 0.0f)) d[i] = 0.0f;
    return CM_OK;
}

static cm_status host_bias_grad(cm_backend *b, cm_buf *dy, cm_buf *db, int rows, int cols) {
    const float *d = F(dy);
    float *g = F(db);
    for (int c = 0; c < cols; c++) g[c] = 0.0f;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) g[c] += d[(size_t)r * cols + c];
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
        for (int c = 0; c < classes; c++) sum += expf(zr[c] - mx);
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

static cm_status host_argmax(cm_backend *b, cm_buf *logits, cm_buf *labels, cm_buf *pred, cm_buf *acc_correct,
                             int rows, int classes) {
    const float *z = F(logits);
    for (int r = 0; r < rows; r++) {
        const float *zr = z + (size_t)r * classes;
        int best = argmax_row(zr, classes);
        if (pred) I32(pred)[r] = best;
        if (acc_correct && labels) F(acc_correct)[r] += best == I32(labels)[r] ? 1.0f : 0.0f;
    }
    return CM_OK;
}

static cm_status host_sgd_update(cm_backend *b, cm_buf *w, cm_buf *g, cm_buf *v, size_t n, float lr,
                                 float momentum) {
    float *wf = F(w);
    const float *gf = F(g);
    if (!v) {
        for (size_t i = 0; i < n; i++) wf[i] -= lr * gf[i];
        return CM_OK;
    }
    float *vf = F(v);
    for (size_t i = 0; i < n; i++) {
        vf[i] = momentum * vf[i] + gf[i];
        wf[i] -= lr * vf[i];
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
    .gemm = host_gemm_op,
    .bias_act = host_bias_act,
    .relu_backward = host_relu_backward,
    .bias_grad = host_bias_grad,
    .softmax_xent = host_softmax_xent,
    .argmax = host_argmax,
    .sgd_update = host_sgd_update,
};

cm_status backend_host_create(const cm_backend_options *opt, cm_backend **out) {
    host_backend *hb = calloc(1, sizeof *hb);
    if (!hb) return cm_fail(CM_ERR_MEMORY, "host backend: out of memory");
    hb->base.ops = &host_ops;
    hb->base.kind = "host";
    hb->base.align_bytes = 64;
    hb->base.max_alloc_bytes = SIZE_MAX / 2;
    hb->base.global_mem_bytes = SIZE_MAX / 2;
    int threads = 1;
#ifdef _OPENMP
    if (opt && opt->threads > 0) omp_set_num_threads(opt->threads);
    threads = omp_get_max_threads();
#endif
    snprintf(hb->base.device_name, sizeof hb->base.device_name, "host CPU, plain C, %d thread%s", threads,
             threads == 1 ? "" : "s");
    *out = &hb->base;
    return CM_OK;
}
