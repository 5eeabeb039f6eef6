/* backend.h: the one operation interface the trainer is written against. The host backend
 * (plain C) and the device backend (OpenCL + CLBlast) implement it; the trainer never sees a
 * cl_mem. Shapes are row-major; every float buffer holds float32, label buffers int32.
 *
 * Operations are enqueued and may run asynchronously; backend_download() and backend_finish()
 * are the only points at which the host waits for the device. */
#ifndef CLMNIST_BACKEND_H
#define CLMNIST_BACKEND_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clmnist/status.h"

typedef struct cm_buf cm_buf;
typedef struct cm_backend cm_backend;

enum {
    CM_BUF_STAGING = 1u << 0, /* refilled from the host every step: stage_rows() target */
};

typedef struct {
    void (*destroy)(cm_backend *b);
    cm_status (*alloc)(cm_backend *b, size_t bytes, unsigned flags, const char *what, cm_buf **out);
    /* A view of `bytes` at `offset` (a multiple of b->align_bytes) inside parent. */
    cm_status (*view)(cm_backend *b, cm_buf *parent, size_t offset, size_t bytes, const char *what, cm_buf **out);
    void (*release)(cm_backend *b, cm_buf *buf);
    cm_status (*upload)(cm_backend *b, cm_buf *dst, size_t offset, const void *src, size_t bytes);
    cm_status (*download)(cm_backend *b, cm_buf *src, size_t offset, void *dst, size_t bytes);
    cm_status (*fill)(cm_backend *b, cm_buf *dst, float value, size_t count);
    cm_status (*finish)(cm_backend *b);

    /* rows_u8[r] = src[idx[r]] (n rows of dim bytes), labels_u8[r] = labels[idx[r]]; the host
     * gathers, the copy to the device overlaps compute. dst buffers must be CM_BUF_STAGING. */
    cm_status (*stage_rows)(cm_backend *b, cm_buf *rows_u8, cm_buf *labels_u8, const uint8_t *src,
                            const uint8_t *labels, const int32_t *idx, int n, int dim);
    /* x (rows, dim) = src_u8[idx[idx_off + r]] * scale; y (rows) = labels_u8[idx[idx_off + r]] */
    cm_status (*gather)(cm_backend *b, cm_buf *src_u8, cm_buf *labels_u8, cm_buf *idx, size_t idx_off, int rows,
                        int dim, float scale, cm_buf *x, cm_buf *y);
    /* C (m, n) = alpha * op(A) op(B) + beta * C; op(A) is (m, k), op(B) is (k, n). */
    cm_status (*gemm)(cm_backend *b, bool trans_a, bool trans_b, int m, int n, int k, float alpha, cm_buf *a,
                      int lda, cm_buf *bm, int ldb, float beta, cm_buf *c, int ldc);
    /* y (rows, cols) += bias (cols); then y = max(y, 0) if relu. In place. */
    cm_status (*bias_act)(cm_backend *b, cm_buf *y, cm_buf *bias, int rows, int cols, bool relu);
    /* dy (n) *= (y > 0), where y is the ReLU output. In place. */
    cm_status (*relu_backward)(cm_backend *b, cm_buf *dy, cm_buf *y, size_t n);
    /* db (cols) = sum over rows of dy (rows, cols). */
    cm_status (*bias_grad)(cm_backend *b, cm_buf *dy, cm_buf *db, int rows, int cols);
    /* Row-wise stable softmax of logits (rows, classes) with cross-entropy against labels (rows):
     * acc_loss[r] += -log p[r, y_r]; acc_correct[r] += (argmax_r == y_r);
     * if dlogits: dlogits (rows, classes) = (p - onehot(y)) / rows (gradient of the batch mean). */
    cm_status (*softmax_xent)(cm_backend *b, cm_buf *logits, cm_buf *labels, cm_buf *dlogits, cm_buf *acc_loss,
                              cm_buf *acc_correct, int rows, int classes);
    /* pred[r] = argmax logits[r] (first maximum); acc_correct[r] += (pred[r] == labels[r]). */
    cm_status (*argmax)(cm_backend *b, cm_buf *logits, cm_buf *labels, cm_buf *pred, cm_buf *acc_correct, int rows,
                        int classes);
    /* SGD with heavy-ball momentum (PyTorch semantics): v = momentum * v + g; w -= lr * v.
     * With v == NULL (momentum 0): w -= lr * g. All (n). */
    cm_status (*sgd_update)(cm_backend *b, cm_buf *w, cm_buf *g, cm_buf *v, size_t n, float lr, float momentum);
} cm_backend_ops;

struct cm_backend {
    const cm_backend_ops *ops;
    const char *kind;        /* "host" or "device" */
    char device_name[512];   /* human-readable name of what runs the work */
    size_t align_bytes;      /* alignment required for view offsets */
    size_t max_alloc_bytes;  /* largest single buffer */
    size_t global_mem_bytes; /* total memory of the device */
    size_t bytes_in_use;     /* bytes of buffers allocated now (views not counted) */
    size_t bytes_peak;       /* most bytes_in_use has been */
};

/* Memory accounting, called by the backends when a buffer is created (+) or freed (-). */
static inline void backend_account(cm_backend *b, size_t bytes, int add) {
    if (add) {
        b->bytes_in_use += bytes;
        if (b->bytes_in_use > b->bytes_peak) b->bytes_peak = b->bytes_in_use;
    } else {
        b->bytes_in_use -= bytes < b->bytes_in_use ? bytes : b->bytes_in_use;
    }
}

/* Backend selection. */
typedef struct {
    const char *device;  /* --device N or a name substring; NULL: $CLMNIST_DEVICE, else first GPU */
    int threads;         /* host backend: OpenMP threads (0 = default) */
} cm_backend_options;

cm_status backend_host_create(const cm_backend_options *opt, cm_backend **out);
cm_status backend_device_create(const cm_backend_options *opt, cm_backend **out);
/* kind: "host" or "device". */
cm_status backend_create(const char *kind, const cm_backend_options *opt, cm_backend **out);
void backend_destroy(cm_backend *b);

/* Thin wrappers: the trainer and tests call these rather than the table. */
cm_status backend_alloc(cm_backend *b, size_t bytes, unsigned flags, const char *what, cm_buf **out);
cm_status backend_view(cm_backend *b, cm_buf *parent, size_t offset, size_t bytes, const char *what, cm_buf **out);
void backend_release(cm_backend *b, cm_buf *buf);
cm_status backend_upload(cm_backend *b, cm_buf *dst, size_t offset, const void *src, size_t bytes);
cm_status backend_download(cm_backend *b, cm_buf *src, size_t offset, void *dst, size_t bytes);
cm_status backend_fill(cm_backend *b, cm_buf *dst, float value, size_t count);
cm_status backend_finish(cm_backend *b);
cm_status backend_stage_rows(cm_backend *b, cm_buf *rows_u8, cm_buf *labels_u8, const uint8_t *src,
                             const uint8_t *labels, const int32_t *idx, int n, int dim);
cm_status backend_gather(cm_backend *b, cm_buf *src_u8, cm_buf *labels_u8, cm_buf *idx, size_t idx_off, int rows,
                         int dim, float scale, cm_buf *x, cm_buf *y);
cm_status backend_gemm(cm_backend *b, bool trans_a, bool trans_b, int m, int n, int k, float alpha, cm_buf *a,
                       int lda, cm_buf *bm, int ldb, float beta, cm_buf *c, int ldc);
cm_status backend_bias_act(cm_backend *b, cm_buf *y, cm_buf *bias, int rows, int cols, bool relu);
cm_status backend_relu_backward(cm_backend *b, cm_buf *dy, cm_buf *y, size_t n);
cm_status backend_bias_grad(cm_backend *b, cm_buf *dy, cm_buf *db, int rows, int cols);
cm_status backend_softmax_xent(cm_backend *b, cm_buf *logits, cm_buf *labels, cm_buf *dlogits, cm_buf *acc_loss,
                               cm_buf *acc_correct, int rows, int classes);
cm_status backend_argmax(cm_backend *b, cm_buf *logits, cm_buf *labels, cm_buf *pred, cm_buf *acc_correct, int rows,
                         int classes);
cm_status backend_sgd_update(cm_backend *b, cm_buf *w, cm_buf *g, cm_buf *v, size_t n, float lr, float momentum);

#endif
