/* device_internal.h: what the device backend's source files share (private to host/backend/device):
 * the buffer and backend structs, the kernel table, the argument macros, the launch helpers and
 * the profiling hook. backend_device.c holds the runtime, buffers, GEMM and the MLP operations;
 * gemm_splitk.c the split-K GEMM; nn_ops_device.c the layer operations (convolution, pooling,
 * BatchNorm). */
#ifndef CLMNIST_DEVICE_INTERNAL_H
#define CLMNIST_DEVICE_INTERNAL_H
#include "cl_profile.h"
#include "cl_util.h"
#include "backend.h"

struct cm_buf {
    cl_mem mem;
    size_t bytes;
    unsigned flags;
    const char *what;
    int owned; /* 0 for a view */
    /* CM_BUF_STAGING only: pinned host mirror and the events that order the two queues. */
    cl_mem pinned;
    unsigned char *host;
    cl_event write_done; /* upload of the current contents (transfer queue) */
    cl_event read_done;  /* last compute-queue command that read the contents */
};

/* Kernel ids: one per kernel, created by name (device_kernel_names) from the one program. */
enum {
    K_BIAS_ACT,
    K_RELU_BWD,
    K_BIAS_GRAD,
    K_SOFTMAX,
    K_ARGMAX,
    K_OPT,
    K_GATHER,
    K_GATHER_AUG,
    K_DROPOUT,
    K_MAX_NORM,
    /* layer operations (nn_ops_device.c) */
    K_RELU,
    K_IM2COL,
    K_COL2IM,
    K_CNHW_TO_NCHW,
    K_NCHW_TO_CNHW,
    K_CHANNEL_SUM,
    K_MAXPOOL_FWD,
    K_MAXPOOL_BWD,
    K_MAXPOOL_SCATTER,
    K_BN_STATS,
    K_BN_NORMALIZE,
    K_BN_BWD_REDUCE,
    K_BN_BWD_DX,
    K_GAP_FWD,
    K_GAP_BWD,
    K_CHANNEL_AFFINE,
    K_SPLITK_REDUCE, /* gemm_splitk.c */
    K_COUNT
};
extern const char *const device_kernel_names[K_COUNT];

typedef struct {
    CLBlastLayout layout;
    CLBlastTranspose ta, tb;
    size_t m, n, k, lda, ldb, ldc, temp_bytes;
} gemm_shape;

typedef struct {
    cm_backend base;
    cl_device_desc desc;
    cl_context ctx;
    cl_command_queue queue; /* compute */
    cl_command_queue xfer;  /* uploads of staged batches */
    cl_program program;
    cl_kernel k[K_COUNT];
    size_t local[K_COUNT]; /* 1-D work-group size chosen per kernel for this device */
    size_t grad_tc, grad_lanes;
    cl_mem gemm_temp; /* CLBlast's temporary buffer, allocated once and grown on demand */
    size_t gemm_temp_bytes;
    gemm_shape shapes[32]; /* temp sizes already asked of CLBlast */
    int nshapes;
    cl_mem splitk; /* split-K GEMM's partial products (gemm_splitk.c), grown on demand */
    size_t splitk_bytes;
    size_t local_mem;
    cl_profile *prof;             /* event profiling (bench --profile); NULL when off */
    cm_buf *conv_col, *conv_cnhw; /* Conv2d's scratch (conv_device.c), grown on demand */
} device_backend;

#define DB(b) ((device_backend *)(b))

/* The event slot to pass to an enqueue call: &ev when profiling, else NULL (no event made). */
#define PROF_EVENT(db, ev) ((db)->prof ? (ev) : NULL)

#define ARG(k, i, v) CL_CHECK(clSetKernelArg((k), (i), sizeof(v), &(v)))
#define ARG_MEM(k, i, buf) CL_CHECK(clSetKernelArg((k), (i), sizeof(cl_mem), (buf) ? &(buf)->mem : NULL))

size_t device_round_up(size_t v, size_t m);
/* Hands a profiled command's event(s) to the profiler; nothing when not profiling. */
cm_status device_prof_add(device_backend *db, const char *label, cl_event start, cl_event end);
/* 1-D launch over n work-items (rounded up to the kernel's work-group size). */
cm_status device_launch_1d(device_backend *db, int kid, size_t n);
/* 2-D launch: dim 0 over `cols` with the kernel's work-group width, dim 1 over rows. */
cm_status device_launch_2d(device_backend *db, int kid, size_t cols, size_t rows, cl_uint nwait, const cl_event *wait,
                           cl_event *done);

/* Creates a device buffer of `bytes` (named `what` in errors). */
cm_status device_create_buffer(device_backend *db, cl_mem_flags flags, size_t bytes, const char *what, cl_mem *out);

/* A GEMM whose C is small and whose k is long (a convolution's weight gradient over B*OH*OW
 * positions) as split-K (gemm_splitk.c): k cut into slots, their products by one strided-batched
 * CLBlast call, then summed by kernel_splitk_reduce. *done: 0 when the shape is not one for it
 * (the caller runs the plain GEMM). CLMNIST_SPLITK=0 turns it off. */
cm_status device_gemm_splitk(device_backend *db, const gemm_shape *key, float alpha, cm_buf *a, cm_buf *b, float beta,
                             cm_buf *c, int *done);

/* ---- layer operations (nn_ops_device.c), as in cm_backend_ops -------------------------------- */
cm_status device_relu(cm_backend *b, cm_buf *y, size_t n);
cm_status device_im2col(cm_backend *b, cm_buf *x, cm_buf *col, const cm_window *w);
cm_status device_col2im(cm_backend *b, cm_buf *col, cm_buf *dx, const cm_window *w);
cm_status device_cnhw_to_nchw(cm_backend *b, cm_buf *src, cm_buf *bias, cm_buf *y, int batch, int channels, int hw,
                              bool relu);
/* conv_device.c: Conv2d from im2col, GEMM and the reorders; the release of its scratch. */
cm_status device_conv_forward(cm_backend *b, cm_buf *x, cm_buf *wt, cm_buf *bias, cm_buf *y, int oc, const cm_window *w,
                              bool relu);
cm_status device_conv_backward(cm_backend *b, cm_buf *dy, cm_buf *x, cm_buf *wt, cm_buf *dwt, cm_buf *dx, int oc,
                               const cm_window *w);
void device_conv_release(cm_backend *b);
cm_status device_nchw_to_cnhw(cm_backend *b, cm_buf *src, cm_buf *dst, int batch, int channels, int hw);
cm_status device_channel_sum(cm_backend *b, cm_buf *x, cm_buf *out, int batch, int channels, int hw);
cm_status device_maxpool_forward(cm_backend *b, cm_buf *x, cm_buf *y, cm_buf *arg, const cm_window *w);
cm_status device_maxpool_backward(cm_backend *b, cm_buf *dy, cm_buf *arg, cm_buf *dx, const cm_window *w);
cm_status device_bn_forward(cm_backend *b, cm_buf *x, cm_buf *y, cm_buf *gamma, cm_buf *beta, cm_buf *running_mean,
                            cm_buf *running_var, cm_buf *save_mean, cm_buf *save_invstd, const cm_bn_shape *s,
                            bool training);
cm_status device_bn_backward(cm_backend *b, cm_buf *dy, cm_buf *x, cm_buf *gamma, cm_buf *save_mean,
                             cm_buf *save_invstd, cm_buf *dx, cm_buf *dgamma, cm_buf *dbeta, const cm_bn_shape *s);
cm_status device_gap_forward(cm_backend *b, cm_buf *x, cm_buf *y, int planes, int hw);
cm_status device_gap_backward(cm_backend *b, cm_buf *dy, cm_buf *dx, int planes, int hw);
cm_status device_channel_affine(cm_backend *b, cm_buf *x, int batch, int channels, int hw, const float *mul,
                                const float *add);

#endif
