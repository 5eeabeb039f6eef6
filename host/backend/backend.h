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

#include "status.h"

typedef struct cm_buf cm_buf;
typedef struct cm_backend cm_backend;

/* Optimizers, with PyTorch's update rules (torch.optim.SGD, Adam, AdamW). */
typedef enum {
    CM_OPT_SGD = 0,  /* SGD; heavy-ball momentum when momentum > 0 */
    CM_OPT_NESTEROV, /* SGD with Nesterov momentum */
    CM_OPT_ADAM,     /* Adam, bias-corrected; weight decay as L2 added to the gradient */
    CM_OPT_ADAMW,    /* AdamW: Adam with decoupled weight decay */
} cm_optimizer;

/* One optimizer step's scalars, computed on the host. */
typedef struct {
    cm_optimizer kind;
    float lr;
    float momentum;     /* SGD, Nesterov */
    float weight_decay; /* SGD, Nesterov, Adam: g += wd * w; AdamW: w *= 1 - lr * wd */
    float beta1, beta2, eps;
    float step_size; /* Adam(W): lr / (1 - beta1^t), t the 1-based step */
    float bc2_sqrt;  /* Adam(W): sqrt(1 - beta2^t) */
} cm_opt_step;

/* Random affine augmentation of training images: per example a translation in [-shift, shift]
 * pixels on each axis, a rotation in [-rotate, rotate] degrees and a scaling by 1 + [-scale,
 * scale], about the image centre, and with probability flip a left-right mirror image; sampled
 * bilinearly from the uint8 image (zero outside). crop = P (a whole number): the CIFAR random
 * crop, pad by P zero pixels and cut the image's size at a uniform offset, i.e. one more
 * translation by a whole number of pixels in [-P, P] on each axis. The same transform for every
 * channel of an example. */
typedef struct {
    float shift, rotate, scale, flip, crop;
} cm_augment;

/* The most channels an input image has (1 grey, 3 RGB; channel_affine's limit). */
#define CM_MAX_CHANNELS 4

/* Device time of one kind of operation, summed over a profiled stretch (bench --profile). */
typedef struct {
    char name[64]; /* kernel_<op>, "CLBlast GEMM m x n x k NT", "upload (transfer queue)", ... */
    long calls;
    double seconds;
} cm_profile_entry;
/* The profile entry of the device backend's blocking calls: host wall time, not device time. */
#define CM_HOST_WAIT_LABEL "host waits (blocking transfer, clFinish, clWait...)"

enum {
    CM_BUF_STAGING = 1u << 0, /* refilled from the host every step: stage_rows() target */
};

/* The geometry of a 2-d convolution or pooling window over a batch of NCHW images: square
 * kernel, equal stride and zero padding on both axes (PyTorch's int arguments), floor mode:
 * out_h = (height + 2 pad - kernel) / stride + 1, likewise out_w. */
typedef struct {
    int batch, channels, height, width; /* input (B, C, H, W) */
    int kernel, stride, pad;
    int out_h, out_w;
} cm_window;

/* Per-channel BatchNorm over (B, C, HW): BatchNorm1d is HW = 1, BatchNorm2d HW = H * W. */
typedef struct {
    int batch, channels, hw;
    float eps, momentum; /* PyTorch's: running = (1 - momentum) running + momentum batch_stat */
    bool relu;           /* bn_forward: then y = max(y, 0), a ReLU that follows run inside (a NaN passes) */
} cm_bn_shape;

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
    /* As gather, but each row (channels planes of height x width) goes through its own random
     * transform drawn from Philox(seed, step, row0 + r) (host/core/philox.h), the same for each
     * of its planes: row0 is the place of row 0 in the global batch (a rank's share starts
     * there; 0 alone). All-zero aug: gather. */
    cm_status (*gather_augment)(cm_backend *b, cm_buf *src_u8, cm_buf *labels_u8, cm_buf *idx, size_t idx_off, int rows,
                                int channels, int height, int width, float scale, const cm_augment *aug, uint64_t seed,
                                uint64_t step, uint32_t row0, cm_buf *x, cm_buf *y);
    /* C (m, n) = alpha * op(A) op(B) + beta * C; op(A) is (m, k), op(B) is (k, n). */
    cm_status (*gemm)(cm_backend *b, bool trans_a, bool trans_b, int m, int n, int k, float alpha, cm_buf *a, int lda,
                      cm_buf *bm, int ldb, float beta, cm_buf *c, int ldc);
    /* y (rows, cols) += bias (cols); then y = max(y, 0) if relu. In place. */
    cm_status (*bias_act)(cm_backend *b, cm_buf *y, cm_buf *bias, int rows, int cols, bool relu);
    /* dy (n) = y > 0 ? dy * scale : 0, where y is the ReLU output (after dropout, if any; scale
     * is then the dropout's 1 / (1 - p), else 1). In place. */
    cm_status (*relu_backward)(cm_backend *b, cm_buf *dy, cm_buf *y, size_t n, float scale);
    /* Inverted dropout in place: y[i] = u_j >= p ? y[i] / (1 - p) : 0, u_j the Philox uniform
     * of (seed, layer, step, j = offset + i) (host/core/philox.h). y (n); offset: the place
     * of y[0] in the global batch's activations (a rank's share starts there; 0 alone). */
    cm_status (*dropout)(cm_backend *b, cm_buf *y, size_t n, float p, uint64_t seed, uint32_t layer, uint64_t step,
                         size_t offset);
    /* db (cols) = sum over rows of dy (rows, cols). With relu_y (rows, cols), the output of a
     * ReLU fused after the layer, dy is first masked in place, dy = relu_y > 0 ? dy : 0 (the
     * ReLU's backward, one launch instead of two); NULL: dy is only read. */
    cm_status (*bias_grad)(cm_backend *b, cm_buf *dy, cm_buf *relu_y, cm_buf *db, int rows, int cols);
    /* Row-wise stable softmax of logits (rows, classes) with cross-entropy against labels (rows):
     * acc_loss[r] += -log p[r, y_r]; acc_correct[r] += (argmax_r == y_r);
     * if dlogits: dlogits (rows, classes) = (p - onehot(y)) / rows (gradient of the batch mean). */
    cm_status (*softmax_xent)(cm_backend *b, cm_buf *logits, cm_buf *labels, cm_buf *dlogits, cm_buf *acc_loss,
                              cm_buf *acc_correct, int rows, int classes);
    /* pred[r] = argmax logits[r] (first maximum); acc_correct[r] += (pred[r] == labels[r]). */
    cm_status (*argmax)(cm_backend *b, cm_buf *logits, cm_buf *labels, cm_buf *pred, cm_buf *acc_correct, int rows,
                        int classes);
    /* One optimizer step over w, g (n) with state m, v (n; NULL when the optimizer keeps none):
     *   SGD:      g' = g + wd w; m = momentum m + g' (if m); w -= lr (m or g')
     *   Nesterov: g' = g + wd w; m = momentum m + g'; w -= lr (g' + momentum m)
     *   Adam:     g' = g + wd w; m = b1 m + (1 - b1) g'; v = b2 v + (1 - b2) g'^2;
     *             w -= step_size m / (sqrt(v) / bc2_sqrt + eps)
     *   AdamW:    w *= 1 - lr wd; then Adam with g' = g. */
    cm_status (*opt_update)(cm_backend *b, cm_buf *w, cm_buf *g, cm_buf *m, cm_buf *v, size_t n, const cm_opt_step *s);
    /* Max-norm constraint: each row of w (rows, cols) whose L2 norm exceeds c is scaled to norm c. */
    cm_status (*max_norm)(cm_backend *b, cm_buf *w, int rows, int cols, float c);

    /* ---- layer operations (kernels/nn/conv.cl, pool.cl, batchnorm.cl, activation.cl) ---- */
    /* y (n) = max(y, 0), in place. */
    cm_status (*relu)(cm_backend *b, cm_buf *y, size_t n);
    /* col (C*K*K, B*OH*OW) from x (B, C, H, W), the whole batch in one matrix:
     *   col[(c*K + i)*K + j][(b*OH + oh)*OW + ow] = x[b][c][oh*S - P + i][ow*S - P + j], 0 outside. */
    cm_status (*im2col)(cm_backend *b, cm_buf *x, cm_buf *col, const cm_window *w);
    /* The adjoint of im2col: dx (B, C, H, W) = for each element, the sum of every col entry
     * im2col would have read from it. Overwrites dx (no accumulation into earlier contents). */
    cm_status (*col2im)(cm_backend *b, cm_buf *col, cm_buf *dx, const cm_window *w);
    /* y (B, C, HW) from src (C, B*HW): y[b][c][s] = src[c][b*HW + s] + bias[c] (bias NULL: 0),
     * then max(., 0) if relu. The convolution GEMM's output into NCHW, with its bias. */
    cm_status (*cnhw_to_nchw)(cm_backend *b, cm_buf *src, cm_buf *bias, cm_buf *y, int batch, int channels, int hw,
                              bool relu);
    /* Conv2d forward, NCHW: y (B, OC, OH, OW) = wt (OC, C*K*K) over every window of x (B, C, H, W):
     *   y[b][o][oh][ow] = sum over c, i, j of wt[o][(c*K + i)*K + j] x[b][c][oh*S - P + i][ow*S - P + j]
     * (0 outside x), + bias[o] (NULL: none), then max(., 0) if relu. The backend picks the method
     * (the host: im2col and a GEMM per image; the device: im2col of the batch and one GEMM). */
    cm_status (*conv_forward)(cm_backend *b, cm_buf *x, cm_buf *wt, cm_buf *bias, cm_buf *y, int out_channels,
                              const cm_window *w, bool relu);
    /* Its backward from dy (B, OC, OH, OW), both outputs overwritten:
     *   dwt (OC, C*K*K) = sum over b, oh, ow of dy[b][o][oh][ow] x[b][c][oh*S - P + i][ow*S - P + j]
     *   (NULL: not wanted, a frozen layer); dx (B, C, H, W) = the adjoint of the forward applied to
     *   dy (NULL: not wanted, the first layer). The bias gradient is channel_sum of dy. */
    cm_status (*conv_backward)(cm_backend *b, cm_buf *dy, cm_buf *x, cm_buf *wt, cm_buf *dwt, cm_buf *dx,
                               int out_channels, const cm_window *w);
    /* dst (C, B*HW) from src (B, C, HW): dst[c][b*HW + s] = src[b][c][s]. */
    cm_status (*nchw_to_cnhw)(cm_backend *b, cm_buf *src, cm_buf *dst, int batch, int channels, int hw);
    /* out (C) = sum over b and s of x (B, C, HW)[b][c][s]: a convolution's bias gradient. Overwrites. */
    cm_status (*channel_sum)(cm_backend *b, cm_buf *x, cm_buf *out, int batch, int channels, int hw);
    /* MaxPool2d (w->pad must be 0): y (B, C, OH, OW) = max over each window of x (B, C, H, W);
     * arg (B, C, OH, OW) int32 = h * W + w of the window's first maximum (row-major scan) within
     * its (b, c) plane. */
    cm_status (*maxpool_forward)(cm_backend *b, cm_buf *x, cm_buf *y, cm_buf *arg, const cm_window *w);
    /* dx (B, C, H, W) = sum of dy (B, C, OH, OW) over the outputs whose arg names that element
     * (overlapping windows add up). Overwrites dx. */
    cm_status (*maxpool_backward)(cm_backend *b, cm_buf *dy, cm_buf *arg, cm_buf *dx, const cm_window *w);
    /* BatchNorm forward, as torch.nn.BatchNorm1d/2d, x and y (B, C, HW), every other buffer (C).
     * training: mean and biased var over the N = B*HW values of each channel; save_mean = mean,
     *   save_invstd = 1 / sqrt(var + eps); running_mean = (1 - m) running_mean + m mean;
     *   running_var = (1 - m) running_var + m var * N / (N - 1) (var itself when N = 1);
     *   y = gamma (x - mean) save_invstd + beta.
     * eval: y = gamma (x - running_mean) / sqrt(running_var + eps) + beta; nothing else written.
     * Both: then y = max(y, 0) if s->relu. */
    cm_status (*bn_forward)(cm_backend *b, cm_buf *x, cm_buf *y, cm_buf *gamma, cm_buf *beta, cm_buf *running_mean,
                            cm_buf *running_var, cm_buf *save_mean, cm_buf *save_invstd, const cm_bn_shape *s,
                            bool training);
    /* BatchNorm backward of a training forward: with xhat = (x - save_mean) save_invstd,
     *   dbeta (C) = sum dy; dgamma (C) = sum dy xhat (sums over b and s; both overwritten);
     *   dx (B, C, HW) = gamma save_invstd (dy - dbeta / N - xhat dgamma / N). */
    cm_status (*bn_backward)(cm_backend *b, cm_buf *dy, cm_buf *x, cm_buf *gamma, cm_buf *save_mean,
                             cm_buf *save_invstd, cm_buf *dx, cm_buf *dgamma, cm_buf *dbeta, const cm_bn_shape *s);
    /* Global average pooling (torch.nn.AdaptiveAvgPool2d(1)) over `planes` = B * C planes of hw
     * values: y (planes) = mean over s of x (planes, hw)[p][s]. Overwrites y. */
    cm_status (*gap_forward)(cm_backend *b, cm_buf *x, cm_buf *y, int planes, int hw);
    /* Its backward: dx (planes, hw)[p][s] = dy[p] / hw. Overwrites dx. */
    cm_status (*gap_backward)(cm_backend *b, cm_buf *dy, cm_buf *dx, int planes, int hw);
    /* Per-channel input normalisation in place, x (B, C, HW): x[b][c][s] = x[b][c][s] * mul[c] +
     * add[c]; mul and add are host arrays of C <= CM_MAX_CHANNELS floats. */
    cm_status (*channel_affine)(cm_backend *b, cm_buf *x, int batch, int channels, int hw, const float *mul,
                                const float *add);

    /* Optional (NULL where the backend cannot profile): start recording every operation's
     * device time from now (dropping earlier records), or read the totals per operation. */
    cm_status (*profile_reset)(cm_backend *b);
    cm_status (*profile_read)(cm_backend *b, cm_profile_entry *out, int max, int *n);
} cm_backend_ops;

/* ---- every member of cm_backend_ops by name (tests/test_backend_ops.c: one case per op) ----
 * CM_BACKEND_OP_LIST: the operations, each of which the op-test table must cover;
 * CM_BACKEND_SUPPORT_LIST: lifetime, synchronisation and profiling members, exercised by every
 * case or optional. A member added to the struct but to neither list fails to compile below: the
 * names are distinct (duplicate enumerators do not compile), each is a member (sizeof), and
 * together they are as many as the struct has function pointers. */
/* clang-format off */
#define CM_BACKEND_OP_LIST(X)                                                                          \
    X(upload) X(download) X(view) X(fill) X(stage_rows) X(gather) X(gather_augment) X(gemm)           \
    X(bias_act) X(relu_backward) X(dropout) X(bias_grad) X(softmax_xent) X(argmax) X(opt_update)       \
    X(max_norm) X(relu) X(im2col) X(col2im) X(conv_forward) X(conv_backward) X(cnhw_to_nchw)           \
    X(nchw_to_cnhw) X(channel_sum)                                                                     \
    X(maxpool_forward) X(maxpool_backward) X(bn_forward) X(bn_backward) X(gap_forward) X(gap_backward) X(channel_affine)
#define CM_BACKEND_SUPPORT_LIST(X) X(destroy) X(alloc) X(release) X(finish) X(profile_reset) X(profile_read)
/* clang-format on */
#define CM_BACKEND_MEMBER_ENUM_(name) CM_BACKEND_MEMBER_##name,
enum {
    CM_BACKEND_OP_LIST(CM_BACKEND_MEMBER_ENUM_) CM_BACKEND_SUPPORT_LIST(CM_BACKEND_MEMBER_ENUM_) CM_BACKEND_MEMBERS
};
#define CM_BACKEND_MEMBER_IS_FN_(name) +(sizeof(((cm_backend_ops *)0)->name) == sizeof(void (*)(void)))
_Static_assert(CM_BACKEND_MEMBERS == 0 CM_BACKEND_OP_LIST(CM_BACKEND_MEMBER_IS_FN_)
                                         CM_BACKEND_SUPPORT_LIST(CM_BACKEND_MEMBER_IS_FN_),
               "every name in CM_BACKEND_OP_LIST / CM_BACKEND_SUPPORT_LIST is a function-pointer member");
_Static_assert(sizeof(cm_backend_ops) == CM_BACKEND_MEMBERS * sizeof(void (*)(void)),
               "cm_backend_ops has a member in neither CM_BACKEND_OP_LIST nor CM_BACKEND_SUPPORT_LIST");

struct cm_backend {
    const cm_backend_ops *ops;
    const char *kind;          /* "host" or "device" */
    char device_name[512];     /* human-readable name of what runs the work */
    size_t align_bytes;        /* alignment required for view offsets */
    size_t max_alloc_bytes;    /* largest single buffer */
    size_t global_mem_bytes;   /* total memory of the device */
    size_t bytes_in_use;       /* bytes of buffers allocated now (views not counted) */
    size_t bytes_peak;         /* most bytes_in_use has been */
    char tuning[1024];         /* device: the GEMM tuning cache in use ("" = CLBlast's defaults) */
    char tuned_for[256];       /* device: what that tuning was made for ("ARCH, batch N"; "" unknown) */
    struct cm_op_clock *clock; /* host: wall time per operation (bench --profile); NULL: off */
    char chosen[192];          /* --backend auto: why this one ("auto: no OpenCL GPU"); "" when named */
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
    const char *device; /* --device N or a name substring; NULL: $CLMNIST_DEVICE, else first GPU */
    int threads;        /* host backend: OpenMP threads (0 = default) */
    bool profile;       /* per-operation times for bench --profile (device: OpenCL events; host: wall clock) */
    int slot;           /* no device named: GPU number slot (modulo their count); under MPI the local rank */
} cm_backend_options;

cm_status backend_host_create(const cm_backend_options *opt, cm_backend **out);
/* The BLAS behind the host backend's GEMM: "OpenBLAS (core; build configuration)" (host_gemm.c). */
const char *backend_host_blas_name(void);
/* An OpenBLAS core type (OPENBLAS_CORETYPE) faster on this CPU than the one in use: "SkylakeX"
 * where OpenBLAS (built for several CPUs) runs kernels without AVX-512 on a CPU with usable
 * AVX-512, e.g. because OPENBLAS_CORETYPE names an older core; NULL where there is none (host_gemm.c). */
const char *backend_host_blas_better_core(void);
/* The core type whose kernels OpenBLAS runs ("Haswell", "SkylakeX", ...; host_gemm.c). */
const char *backend_host_blas_core(void);
/* The threads the host backend uses (OpenMP's maximum now; 1 in a build without OpenMP). */
int backend_host_threads(void);
cm_status backend_device_create(const cm_backend_options *opt, cm_backend **out);
/* Without opening anything: how many OpenCL platforms there are, and whether the device that
 * opt (--device, $CLMNIST_DEVICE, else the first GPU) selects is a GPU. Fails as
 * backend_device_create would on a selector that matches nothing, or when a device is named
 * and there is no OpenCL; no platforms and nothing named: CM_OK, *platforms 0. */
cm_status backend_device_probe(const cm_backend_options *opt, int *platforms, int *is_gpu);

/* The backend registry (select.c). kind: "auto" (or NULL), "host" or "device". auto: the device
 * backend when a device is named (--device, $CLMNIST_DEVICE) or an OpenCL GPU exists, else the
 * host backend. */
typedef struct {
    const char *kind; /* "host" or "device" */
    char why[192];    /* auto: the reason ("auto: no OpenCL GPU"); "" when kind was named */
} cm_backend_choice;
/* Decides the backend and checks what can be checked without opening it (a --device that
 * matches nothing, --backend device without OpenCL): fast, for the checks before the work. */
cm_status backend_resolve(const char *kind, const cm_backend_options *opt, cm_backend_choice *out);
/* Opens the backend backend_resolve decides; b->chosen says why, under auto. */
cm_status backend_create(const char *kind, const cm_backend_options *opt, cm_backend **out);
/* "auto", "host" or "device": a valid --backend value. */
int backend_kind_valid(const char *kind);
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
cm_status backend_gather_augment(cm_backend *b, cm_buf *src_u8, cm_buf *labels_u8, cm_buf *idx, size_t idx_off,
                                 int rows, int channels, int height, int width, float scale, const cm_augment *aug,
                                 uint64_t seed, uint64_t step, uint32_t row0, cm_buf *x, cm_buf *y);
cm_status backend_gemm(cm_backend *b, bool trans_a, bool trans_b, int m, int n, int k, float alpha, cm_buf *a, int lda,
                       cm_buf *bm, int ldb, float beta, cm_buf *c, int ldc);
cm_status backend_bias_act(cm_backend *b, cm_buf *y, cm_buf *bias, int rows, int cols, bool relu);
cm_status backend_relu_backward(cm_backend *b, cm_buf *dy, cm_buf *y, size_t n, float scale);
cm_status backend_dropout(cm_backend *b, cm_buf *y, size_t n, float p, uint64_t seed, uint32_t layer, uint64_t step,
                          size_t offset);
cm_status backend_bias_grad(cm_backend *b, cm_buf *dy, cm_buf *relu_y, cm_buf *db, int rows, int cols);
cm_status backend_softmax_xent(cm_backend *b, cm_buf *logits, cm_buf *labels, cm_buf *dlogits, cm_buf *acc_loss,
                               cm_buf *acc_correct, int rows, int classes);
cm_status backend_argmax(cm_backend *b, cm_buf *logits, cm_buf *labels, cm_buf *pred, cm_buf *acc_correct, int rows,
                         int classes);
cm_status backend_opt_update(cm_backend *b, cm_buf *w, cm_buf *g, cm_buf *m, cm_buf *v, size_t n, const cm_opt_step *s);
cm_status backend_max_norm(cm_backend *b, cm_buf *w, int rows, int cols, float c);
cm_status backend_relu(cm_backend *b, cm_buf *y, size_t n);
cm_status backend_im2col(cm_backend *b, cm_buf *x, cm_buf *col, const cm_window *w);
cm_status backend_col2im(cm_backend *b, cm_buf *col, cm_buf *dx, const cm_window *w);
cm_status backend_cnhw_to_nchw(cm_backend *b, cm_buf *src, cm_buf *bias, cm_buf *y, int batch, int channels, int hw,
                               bool relu);
cm_status backend_conv_forward(cm_backend *b, cm_buf *x, cm_buf *wt, cm_buf *bias, cm_buf *y, int out_channels,
                               const cm_window *w, bool relu);
cm_status backend_conv_backward(cm_backend *b, cm_buf *dy, cm_buf *x, cm_buf *wt, cm_buf *dwt, cm_buf *dx,
                                int out_channels, const cm_window *w);
cm_status backend_nchw_to_cnhw(cm_backend *b, cm_buf *src, cm_buf *dst, int batch, int channels, int hw);
cm_status backend_channel_sum(cm_backend *b, cm_buf *x, cm_buf *out, int batch, int channels, int hw);
cm_status backend_maxpool_forward(cm_backend *b, cm_buf *x, cm_buf *y, cm_buf *arg, const cm_window *w);
cm_status backend_maxpool_backward(cm_backend *b, cm_buf *dy, cm_buf *arg, cm_buf *dx, const cm_window *w);
cm_status backend_bn_forward(cm_backend *b, cm_buf *x, cm_buf *y, cm_buf *gamma, cm_buf *beta, cm_buf *running_mean,
                             cm_buf *running_var, cm_buf *save_mean, cm_buf *save_invstd, const cm_bn_shape *s,
                             bool training);
cm_status backend_bn_backward(cm_backend *b, cm_buf *dy, cm_buf *x, cm_buf *gamma, cm_buf *save_mean,
                              cm_buf *save_invstd, cm_buf *dx, cm_buf *dgamma, cm_buf *dbeta, const cm_bn_shape *s);
cm_status backend_gap_forward(cm_backend *b, cm_buf *x, cm_buf *y, int planes, int hw);
cm_status backend_gap_backward(cm_backend *b, cm_buf *dy, cm_buf *dx, int planes, int hw);
cm_status backend_channel_affine(cm_backend *b, cm_buf *x, int batch, int channels, int hw, const float *mul,
                                 const float *add);
/* out_h and out_w from the rest of w; CM_ERR_USAGE (naming what) when the window does not fit. */
cm_status window_resolve(cm_window *w, const char *what);
/* C = 0.75 op(A) op(B) - 0.5 C on `ref` and on `b` from the same seeded uniform [-1, 1] inputs (A
 * m x k, B k x n, C m x n as op gives them), in all four transpose combinations; *rel_l2 gets the
 * worst ||C_b - C_ref|| / ||C_ref|| (double sums; NaN if any is). backend_check.c. */
cm_status backend_gemm_agreement(cm_backend *ref, cm_backend *b, int m, int n, int k, uint64_t seed, double *rel_l2);
/* CM_ERR_USAGE when the backend cannot profile (it was not created with .profile). */
cm_status backend_profile_reset(cm_backend *b);
cm_status backend_profile_read(cm_backend *b, cm_profile_entry *out, int max, int *n);

#endif
