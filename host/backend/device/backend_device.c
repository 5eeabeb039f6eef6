/* backend_device.c: the device backend (OpenCL). Custom kernels (kernels/ *.cl files, embedded at build time)
 * do the element-wise work, CLBlast every matrix product. All compute goes to one in-order
 * queue; a second queue carries host-to-device batch uploads so that they overlap compute
 * (events order the two). The host waits only in download() and finish(). The layer operations
 * (convolution, pooling, BatchNorm) are in nn_ops_device.c; device_internal.h is what both share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device_ext.h"
#include "cl_check.h"
#include "device_internal.h"
#include "gemm_tune.h"
#include "kernels_embedded.h"
#include "timer.h"

const char *const device_kernel_names[K_COUNT] = {"kernel_bias_act",
                                                  "kernel_relu_backward",
                                                  "kernel_bias_grad",
                                                  "kernel_softmax_xent",
                                                  "kernel_argmax",
                                                  "kernel_opt_update",
                                                  "kernel_gather",
                                                  "kernel_gather_augment",
                                                  "kernel_dropout",
                                                  "kernel_max_norm",
                                                  "kernel_relu",
                                                  "kernel_im2col",
                                                  "kernel_col2im",
                                                  "kernel_cnhw_to_nchw",
                                                  "kernel_nchw_to_cnhw",
                                                  "kernel_channel_sum",
                                                  "kernel_maxpool_forward",
                                                  "kernel_maxpool_backward",
                                                  "kernel_maxpool_backward_scatter",
                                                  "kernel_bn_stats",
                                                  "kernel_bn_normalize",
                                                  "kernel_bn_backward_reduce",
                                                  "kernel_bn_backward_dx",
                                                  "kernel_gap_forward",
                                                  "kernel_gap_backward",
                                                  "kernel_channel_affine",
                                                  "kernel_splitk_reduce"};

cm_status cl_build_program(cl_context ctx, cl_device_id dev, const char *device_name, const char **sources,
                           const size_t *lengths, cl_uint count, const char *options, cl_program *out) {
    *out = NULL;
    cl_int err;
    cl_program prog = clCreateProgramWithSource(ctx, count, sources, lengths, &err);
    CL_CHECK(err);
    err = clBuildProgram(prog, 1, &dev, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        size_t len = 0;
        clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &len);
        char *log = malloc(len + 1);
        if (log && clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, len, log, NULL) == CL_SUCCESS) {
            log[len] = '\0';
            fprintf(stderr, "---- OpenCL build log (%s) ----\n%s\n---- end of build log ----\n", device_name, log);
        }
        free(log);
        clReleaseProgram(prog);
        return cm_fail(CM_ERR_DEVICE, "OpenCL kernels failed to build for '%s': %s (build log above)", device_name,
                       cl_status_name(err));
    }
    *out = prog;
    return CM_OK;
}

size_t device_round_up(size_t v, size_t m) {
    return (v + m - 1) / m * m;
}

/* Work-group size: the largest multiple of the kernel's preferred multiple that is <= 256 and
 * allowed for this kernel on this device (NVIDIA: 32 -> 256, PoCL CPU: often 8 -> 256). */
static cm_status pick_local(device_backend *db, cl_kernel k, size_t *local) {
    size_t max_wg = 0, pref = 1;
    CL_CHECK(clGetKernelWorkGroupInfo(k, db->desc.device, CL_KERNEL_WORK_GROUP_SIZE, sizeof max_wg, &max_wg, NULL));
    CL_CHECK(clGetKernelWorkGroupInfo(k, db->desc.device, CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE, sizeof pref,
                                      &pref, NULL));
    if (pref == 0) pref = 1;
    size_t target = max_wg < 256 ? max_wg : 256;
    size_t l = target / pref * pref;
    *local = l ? l : (target ? target : 1);
    return CM_OK;
}

static void buf_clear_events(cm_buf *buf) {
    if (buf->write_done) clReleaseEvent(buf->write_done);
    if (buf->read_done) clReleaseEvent(buf->read_done);
    buf->write_done = buf->read_done = NULL;
}

static void device_release(cm_backend *b, cm_buf *buf) {
    if (buf->write_done) clWaitForEvents(1, &buf->write_done);
    if (buf->read_done) clWaitForEvents(1, &buf->read_done);
    buf_clear_events(buf);
    if (buf->host) clEnqueueUnmapMemObject(DB(b)->xfer, buf->pinned, buf->host, 0, NULL, NULL);
    if (buf->pinned) {
        clFinish(DB(b)->xfer);
        clReleaseMemObject(buf->pinned);
    }
    if (buf->mem) clReleaseMemObject(buf->mem);
    if (buf->owned) backend_account(b, buf->bytes, 0);
    free(buf);
}

static void device_destroy(cm_backend *b) {
    device_backend *db = DB(b);
    if (db->queue) clFinish(db->queue);
    if (db->xfer) clFinish(db->xfer);
    device_conv_release(b);
    if (db->gemm_temp) clReleaseMemObject(db->gemm_temp);
    if (db->splitk) clReleaseMemObject(db->splitk);
    cl_profile_destroy(db->prof);
    for (int i = 0; i < K_COUNT; i++)
        if (db->k[i]) clReleaseKernel(db->k[i]);
    if (db->program) clReleaseProgram(db->program);
    if (db->xfer) clReleaseCommandQueue(db->xfer);
    if (db->queue) clReleaseCommandQueue(db->queue);
    if (db->ctx) clReleaseContext(db->ctx);
    free(db);
}

static cm_status check_size(device_backend *db, size_t bytes, const char *what) {
    if (bytes > db->desc.max_alloc || bytes > db->desc.global_mem)
        return cm_fail(CM_ERR_MEMORY,
                       "device '%s': buffer '%s' needs %.1f MiB but the device allows at most %.1f MiB per buffer "
                       "(%.1f MiB in all); use a smaller --batch or --layers",
                       db->desc.device_name, what, (double)bytes / 1048576.0, (double)db->desc.max_alloc / 1048576.0,
                       (double)db->desc.global_mem / 1048576.0);
    return CM_OK;
}

cm_status device_create_buffer(device_backend *db, cl_mem_flags flags, size_t bytes, const char *what, cl_mem *out) {
    CM_TRY(check_size(db, bytes, what));
    cl_int err;
    *out = clCreateBuffer(db->ctx, flags, bytes ? bytes : 4, NULL, &err);
    if (err != CL_SUCCESS) {
        *out = NULL;
        return cm_fail(err == CL_INVALID_BUFFER_SIZE || err == CL_MEM_OBJECT_ALLOCATION_FAILURE ||
                               err == CL_OUT_OF_RESOURCES || err == CL_OUT_OF_HOST_MEMORY
                           ? CM_ERR_MEMORY
                           : CM_ERR_DEVICE,
                       "device '%s': cannot allocate %.1f MiB for '%s': %s (device limit %.1f MiB per buffer)",
                       db->desc.device_name, (double)bytes / 1048576.0, what, cl_status_name(err),
                       (double)db->desc.max_alloc / 1048576.0);
    }
    return CM_OK;
}

static cm_status device_alloc(cm_backend *b, size_t bytes, unsigned flags, const char *what, cm_buf **out) {
    device_backend *db = DB(b);
    cm_buf *buf = calloc(1, sizeof *buf);
    if (!buf) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    buf->bytes = bytes;
    buf->flags = flags;
    buf->what = what;
    cm_status st = device_create_buffer(db, CL_MEM_READ_WRITE, bytes, what, &buf->mem);
    if (st == CM_OK && (flags & CM_BUF_STAGING)) {
        st = device_create_buffer(db, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, bytes, what, &buf->pinned);
        if (st == CM_OK) {
            cl_int err;
            buf->host = clEnqueueMapBuffer(db->xfer, buf->pinned, CL_TRUE, CL_MAP_WRITE, 0, bytes ? bytes : 4, 0, NULL,
                                           NULL, &err);
            if (err != CL_SUCCESS) {
                buf->host = NULL;
                st = cl_fail_call(err, "clEnqueueMapBuffer(staging)", __FILE__, __LINE__);
            }
        }
    }
    if (st != CM_OK) {
        device_release(b, buf);
        return st;
    }
    /* Zero-fill so fresh buffers read as zeros on every backend. */
    if (bytes) {
        const unsigned char zero = 0;
        cl_int err = clEnqueueFillBuffer(db->queue, buf->mem, &zero, 1, 0, bytes, 0, NULL, NULL);
        if (err != CL_SUCCESS) {
            device_release(b, buf);
            return cl_fail_call(err, "clEnqueueFillBuffer", __FILE__, __LINE__);
        }
    }
    buf->owned = 1;
    backend_account(b, bytes, 1);
    *out = buf;
    return CM_OK;
}

static cm_status device_view(cm_backend *b, cm_buf *parent, size_t offset, size_t bytes, const char *what,
                             cm_buf **out) {
    if (offset > parent->bytes || bytes > parent->bytes - offset || bytes == 0)
        return cm_fail(CM_ERR_USAGE, "view '%s' [%zu, +%zu) lies outside its %zu-byte parent", what, offset, bytes,
                       parent->bytes);
    cm_buf *buf = calloc(1, sizeof *buf);
    if (!buf) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    cl_buffer_region region = {offset, bytes};
    cl_int err;
    buf->mem = clCreateSubBuffer(parent->mem, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &region, &err);
    if (err != CL_SUCCESS) {
        free(buf);
        return cl_fail_call(err, "clCreateSubBuffer", __FILE__, __LINE__);
    }
    buf->bytes = bytes;
    buf->what = what;
    *out = buf;
    return CM_OK;
}

cm_status device_prof_add(device_backend *db, const char *label, cl_event start, cl_event end) {
    if (!db->prof || !end) {
        if (start) clReleaseEvent(start);
        return CM_OK;
    }
    return cl_profile_add(db->prof, label, start, end);
}

/* `call` (a CL call that makes the host wait), checked; with profiling, its wall time is
 * added under HOST_WAIT_LABEL (bench --profile counts a step's host waits with it). */
#define HOST_WAIT(db, call)                                                                                            \
    do {                                                                                                               \
        double t0_ = (db)->prof ? timer_now() : 0.0;                                                                   \
        CL_CHECK(call);                                                                                                \
        if ((db)->prof) cl_profile_add_host((db)->prof, CM_HOST_WAIT_LABEL, timer_now() - t0_);                        \
    } while (0)

static cm_status device_profile_reset(cm_backend *b) {
    device_backend *db = DB(b);
    if (!db->prof) return cm_fail(CM_ERR_USAGE, "device '%s' was opened without profiling", db->desc.device_name);
    CL_CHECK(clFinish(db->xfer));
    CL_CHECK(clFinish(db->queue));
    cl_profile_reset(db->prof);
    return CM_OK;
}

static cm_status device_profile_read(cm_backend *b, cm_profile_entry *out, int max, int *n) {
    device_backend *db = DB(b);
    if (!db->prof) return cm_fail(CM_ERR_USAGE, "device '%s' was opened without profiling", db->desc.device_name);
    return cl_profile_read(db->prof, out, max, n);
}

static cm_status check_range(const cm_buf *buf, size_t offset, size_t bytes, const char *op) {
    if (offset > buf->bytes || bytes > buf->bytes - offset)
        return cm_fail(CM_ERR_USAGE, "%s of %zu bytes at offset %zu overruns '%s' (%zu bytes)", op, bytes, offset,
                       buf->what ? buf->what : "buffer", buf->bytes);
    return CM_OK;
}

static cm_status device_upload(cm_backend *b, cm_buf *dst, size_t offset, const void *src, size_t bytes) {
    CM_TRY(check_range(dst, offset, bytes, "upload"));
    cl_event ev = NULL;
    if (bytes)
        HOST_WAIT(DB(b), clEnqueueWriteBuffer(DB(b)->queue, dst->mem, CL_TRUE, offset, bytes, src, 0, NULL,
                                              PROF_EVENT(DB(b), &ev)));
    return device_prof_add(DB(b), "upload", NULL, ev);
}

/* A staged buffer's contents arrive on the transfer queue: the read on the compute queue waits
 * for that upload (without the wait, a download right after stage_rows read the old contents
 * when the machine was busy: test_backend_ops' stage_rows rows). */
static cm_status device_download(cm_backend *b, cm_buf *src, size_t offset, void *dst, size_t bytes) {
    CM_TRY(check_range(src, offset, bytes, "download"));
    cl_event ev = NULL, after = src->write_done;
    if (bytes)
        HOST_WAIT(DB(b), clEnqueueReadBuffer(DB(b)->queue, src->mem, CL_TRUE, offset, bytes, dst, after ? 1 : 0,
                                             after ? &after : NULL, PROF_EVENT(DB(b), &ev)));
    return device_prof_add(DB(b), "download", NULL, ev);
}

static cm_status device_fill(cm_backend *b, cm_buf *dst, float value, size_t count) {
    CM_TRY(check_range(dst, 0, count * sizeof(float), "fill"));
    cl_event ev = NULL;
    if (count)
        CL_CHECK(clEnqueueFillBuffer(DB(b)->queue, dst->mem, &value, sizeof value, 0, count * sizeof(float), 0, NULL,
                                     PROF_EVENT(DB(b), &ev)));
    return device_prof_add(DB(b), "fill", NULL, ev);
}

static cm_status device_finish(cm_backend *b) {
    HOST_WAIT(DB(b), clFinish(DB(b)->xfer));
    HOST_WAIT(DB(b), clFinish(DB(b)->queue));
    return CM_OK;
}

/* Gathers rows on the host into the pinned mirror, then uploads it on the transfer queue
 * once the compute queue has finished reading the previous contents. */
static cm_status stage_one(device_backend *db, cm_buf *dst, size_t bytes) {
    cl_event after = dst->read_done, done;
    CL_CHECK(clEnqueueWriteBuffer(db->xfer, dst->mem, CL_FALSE, 0, bytes, dst->host, after ? 1 : 0,
                                  after ? &after : NULL, &done));
    buf_clear_events(dst);
    dst->write_done = done;
    if (db->prof) clRetainEvent(done);
    return device_prof_add(db, "upload batch (transfer queue, overlaps compute)", NULL, done);
}

static cm_status device_stage_rows(cm_backend *b, cm_buf *rows_u8, cm_buf *labels_u8, const uint8_t *src,
                                   const uint8_t *labels, const int32_t *idx, int n, int dim) {
    device_backend *db = DB(b);
    if (!(rows_u8->flags & CM_BUF_STAGING) || !(labels_u8->flags & CM_BUF_STAGING))
        return cm_fail(CM_ERR_USAGE, "stage_rows: destination buffers must be allocated with CM_BUF_STAGING");
    CM_TRY(check_range(rows_u8, 0, (size_t)n * (size_t)dim, "stage_rows"));
    CM_TRY(check_range(labels_u8, 0, (size_t)n, "stage_rows"));
    /* The previous upload from these pinned mirrors must be complete before we overwrite them. */
    if (rows_u8->write_done) HOST_WAIT(db, clWaitForEvents(1, &rows_u8->write_done));
    if (labels_u8->write_done) HOST_WAIT(db, clWaitForEvents(1, &labels_u8->write_done));
    for (int r = 0; r < n; r++) {
        memcpy(rows_u8->host + (size_t)r * dim, src + (size_t)idx[r] * dim, (size_t)dim);
        labels_u8->host[r] = labels[idx[r]];
    }
    CM_TRY(stage_one(db, rows_u8, (size_t)n * (size_t)dim));
    CM_TRY(stage_one(db, labels_u8, (size_t)n));
    CL_CHECK(clFlush(db->xfer));
    return CM_OK;
}

cm_status device_launch_1d(device_backend *db, int kid, size_t n) {
    if (n == 0) return CM_OK;
    size_t local = db->local[kid], global = device_round_up(n, local);
    cl_event ev = NULL;
    CL_CHECK(clEnqueueNDRangeKernel(db->queue, db->k[kid], 1, NULL, &global, &local, 0, NULL, PROF_EVENT(db, &ev)));
    return device_prof_add(db, device_kernel_names[kid], NULL, ev);
}

cm_status device_launch_2d(device_backend *db, int kid, size_t cols, size_t rows, cl_uint nwait, const cl_event *wait,
                           cl_event *done) {
    if (cols == 0 || rows == 0) return CM_OK;
    size_t local[2] = {db->local[kid], 1};
    if (cols < local[0]) { /* narrow rows: spread the group over rows instead */
        size_t w = 1;
        while (w * 2 <= cols)
            w *= 2;
        local[0] = w;
        local[1] = db->local[kid] / w;
    }
    size_t global[2] = {device_round_up(cols, local[0]), device_round_up(rows, local[1])};
    cl_event ev = NULL;
    CL_CHECK(clEnqueueNDRangeKernel(db->queue, db->k[kid], 2, NULL, global, local, nwait, wait,
                                    done ? done : PROF_EVENT(db, &ev)));
    if (done && db->prof) {
        ev = *done;
        clRetainEvent(ev);
    }
    return device_prof_add(db, device_kernel_names[kid], NULL, ev);
}

/* Launches a gather-family kernel (arguments already set) over (dim, rows), after the uploads
 * of staged sources; records the launch as their last reader. */
static cm_status launch_gather(device_backend *db, int kid, cm_buf *src_u8, cm_buf *labels_u8, int rows, int dim) {
    cl_event wait[2];
    cl_uint nwait = 0;
    if (src_u8->write_done) wait[nwait++] = src_u8->write_done;
    if (labels_u8->write_done) wait[nwait++] = labels_u8->write_done;
    int staged = (src_u8->flags & CM_BUF_STAGING) != 0;
    cl_event done = NULL;
    CM_TRY(device_launch_2d(db, kid, (size_t)dim, (size_t)rows, nwait, nwait ? wait : NULL, staged ? &done : NULL));
    if (staged && done) {
        if (src_u8->read_done) clReleaseEvent(src_u8->read_done);
        src_u8->read_done = done;
        if (labels_u8->read_done) clReleaseEvent(labels_u8->read_done);
        clRetainEvent(done);
        labels_u8->read_done = done;
    }
    return CM_OK;
}

static cm_status device_gather(cm_backend *b, cm_buf *src_u8, cm_buf *labels_u8, cm_buf *idx, size_t idx_off, int rows,
                               int dim, float scale, cm_buf *x, cm_buf *y) {
    device_backend *db = DB(b);
    cl_kernel k = db->k[K_GATHER];
    cl_uint off = (cl_uint)idx_off;
    ARG_MEM(k, 0, src_u8);
    ARG_MEM(k, 1, labels_u8);
    ARG_MEM(k, 2, idx);
    ARG(k, 3, off);
    ARG(k, 4, rows);
    ARG(k, 5, dim);
    ARG(k, 6, scale);
    ARG_MEM(k, 7, x);
    ARG_MEM(k, 8, y);
    return launch_gather(db, K_GATHER, src_u8, labels_u8, rows, dim);
}

static cm_status device_gather_augment(cm_backend *b, cm_buf *src_u8, cm_buf *labels_u8, cm_buf *idx, size_t idx_off,
                                       int rows, int channels, int height, int width, float scale,
                                       const cm_augment *aug, uint64_t seed, uint64_t step, uint32_t row0, cm_buf *x,
                                       cm_buf *y) {
    const int crop = (int)aug->crop;
    device_backend *db = DB(b);
    cl_kernel k = db->k[K_GATHER_AUG];
    cl_uint first = row0;
    cl_uint off = (cl_uint)idx_off, seed_lo = (cl_uint)seed, seed_hi = (cl_uint)(seed >> 32);
    cl_uint step_lo = (cl_uint)step, step_hi = (cl_uint)(step >> 32);
    ARG_MEM(k, 0, src_u8);
    ARG_MEM(k, 1, labels_u8);
    ARG_MEM(k, 2, idx);
    ARG(k, 3, off);
    ARG(k, 4, rows);
    ARG(k, 5, height);
    ARG(k, 6, width);
    ARG(k, 7, scale);
    ARG(k, 8, aug->shift);
    ARG(k, 9, aug->rotate);
    ARG(k, 10, aug->scale);
    ARG(k, 11, aug->flip);
    ARG(k, 12, seed_lo);
    ARG(k, 13, seed_hi);
    ARG(k, 14, step_lo);
    ARG(k, 15, step_hi);
    ARG(k, 16, first);
    ARG_MEM(k, 17, x);
    ARG_MEM(k, 18, y);
    ARG(k, 19, channels);
    ARG(k, 20, crop);
    /* one work-item per image on CPU devices (the transform is computed once), per pixel on GPUs */
    return launch_gather(db, K_GATHER_AUG, src_u8, labels_u8, rows, backend_device_is_cpu(b) ? 1 : height * width);
}

static cm_status gemm_temp_for(device_backend *db, const gemm_shape *key, size_t *bytes) {
    for (int i = 0; i < db->nshapes; i++) {
        const gemm_shape *s = &db->shapes[i];
        if (s->ta == key->ta && s->tb == key->tb && s->m == key->m && s->n == key->n && s->k == key->k &&
            s->lda == key->lda && s->ldb == key->ldb && s->ldc == key->ldc) {
            *bytes = s->temp_bytes;
            return CM_OK;
        }
    }
    size_t need = 0;
    CLBLAST_CHECK(CLBlastSGemmTempBufferSize(key->layout, key->ta, key->tb, key->m, key->n, key->k, 0, key->lda, 0,
                                             key->ldb, 0, key->ldc, &db->queue, &need));
    if (db->nshapes < (int)(sizeof db->shapes / sizeof db->shapes[0])) {
        db->shapes[db->nshapes] = *key;
        db->shapes[db->nshapes++].temp_bytes = need;
    }
    *bytes = need;
    return CM_OK;
}

static cm_status device_gemm(cm_backend *b, bool ta, bool tb, int m, int n, int k, float alpha, cm_buf *a, int lda,
                             cm_buf *bm, int ldb, float beta, cm_buf *c, int ldc) {
    device_backend *db = DB(b);
    if (m <= 0 || n <= 0 || k <= 0) return CM_OK;
    gemm_shape key = {CLBlastLayoutRowMajor,
                      ta ? CLBlastTransposeYes : CLBlastTransposeNo,
                      tb ? CLBlastTransposeYes : CLBlastTransposeNo,
                      (size_t)m,
                      (size_t)n,
                      (size_t)k,
                      (size_t)lda,
                      (size_t)ldb,
                      (size_t)ldc,
                      0};
    int split = 0;
    CM_TRY(device_gemm_splitk(db, &key, alpha, a, bm, beta, c, &split));
    if (split) return CM_OK;
    size_t temp = 0;
    CM_TRY(gemm_temp_for(db, &key, &temp));
    if (temp > db->gemm_temp_bytes) {
        if (db->gemm_temp) {
            HOST_WAIT(db, clFinish(db->queue));
            clReleaseMemObject(db->gemm_temp);
            backend_account(b, db->gemm_temp_bytes, 0);
            db->gemm_temp = NULL;
            db->gemm_temp_bytes = 0;
        }
        CM_TRY(device_create_buffer(db, CL_MEM_READ_WRITE, temp, "CLBlast GEMM temporary", &db->gemm_temp));
        db->gemm_temp_bytes = temp;
        backend_account(b, temp, 1);
    }
    /* profiled: from a marker before the call to CLBlast's last kernel, so that the padding
     * and transposition kernels of its indirect GEMM count too */
    cl_event start = NULL, ev = NULL;
    if (db->prof) CL_CHECK(clEnqueueMarkerWithWaitList(db->queue, 0, NULL, &start));
    CLBlastStatusCode cs;
    if (temp > 0)
        cs = CLBlastSgemmWithTempBuffer(key.layout, key.ta, key.tb, key.m, key.n, key.k, alpha, a->mem, 0, key.lda,
                                        bm->mem, 0, key.ldb, beta, c->mem, 0, key.ldc, &db->queue, PROF_EVENT(db, &ev),
                                        db->gemm_temp);
    else
        cs = CLBlastSgemm(key.layout, key.ta, key.tb, key.m, key.n, key.k, alpha, a->mem, 0, key.lda, bm->mem, 0,
                          key.ldb, beta, c->mem, 0, key.ldc, &db->queue, PROF_EVENT(db, &ev));
    if (cs != CLBlastSuccess) {
        if (start) clReleaseEvent(start);
        return clblast_fail_call(cs, "CLBlastSgemm", __FILE__, __LINE__);
    }
    if (!db->prof) return CM_OK;
    char label[64];
    snprintf(label, sizeof label, "CLBlast GEMM %zux%zux%zu %c%c", key.m, key.n, key.k, ta ? 'T' : 'N', tb ? 'T' : 'N');
    return device_prof_add(db, label, start, ev);
}

static cm_status device_bias_act(cm_backend *b, cm_buf *y, cm_buf *bias, int rows, int cols, bool relu) {
    device_backend *db = DB(b);
    cl_kernel k = db->k[K_BIAS_ACT];
    int r = relu ? 1 : 0;
    ARG_MEM(k, 0, y);
    ARG_MEM(k, 1, bias);
    ARG(k, 2, rows);
    ARG(k, 3, cols);
    ARG(k, 4, r);
    return device_launch_2d(db, K_BIAS_ACT, (size_t)cols, (size_t)rows, 0, NULL, NULL);
}

static cm_status device_relu_backward(cm_backend *b, cm_buf *dy, cm_buf *y, size_t n, float scale) {
    device_backend *db = DB(b);
    cl_kernel k = db->k[K_RELU_BWD];
    cl_uint nn = (cl_uint)n;
    ARG_MEM(k, 0, dy);
    ARG_MEM(k, 1, y);
    ARG(k, 2, nn);
    ARG(k, 3, scale);
    return device_launch_1d(db, K_RELU_BWD, n);
}

static cm_status device_dropout(cm_backend *b, cm_buf *y, size_t n, float p, uint64_t seed, uint32_t layer,
                                uint64_t step, size_t offset) {
    device_backend *db = DB(b);
    cl_kernel k = db->k[K_DROPOUT];
    cl_uint nn = (cl_uint)n, seed_lo = (cl_uint)seed, seed_hi = (cl_uint)(seed >> 32), lay = layer;
    cl_uint step_lo = (cl_uint)step, step_hi = (cl_uint)(step >> 32), off = (cl_uint)offset;
    float inv_keep = 1.0f / (1.0f - p); /* on the host: the device's division may round differently */
    ARG_MEM(k, 0, y);
    ARG(k, 1, nn);
    ARG(k, 2, p);
    ARG(k, 3, inv_keep);
    ARG(k, 4, seed_lo);
    ARG(k, 5, seed_hi);
    ARG(k, 6, lay);
    ARG(k, 7, step_lo);
    ARG(k, 8, step_hi);
    ARG(k, 9, off);
    return device_launch_1d(db, K_DROPOUT, (offset % 4 + n + 3) / 4);
}

static cm_status device_max_norm(cm_backend *b, cm_buf *w, int rows, int cols, float c) {
    device_backend *db = DB(b);
    cl_kernel k = db->k[K_MAX_NORM];
    ARG_MEM(k, 0, w);
    ARG(k, 1, rows);
    ARG(k, 2, cols);
    ARG(k, 3, c);
    return device_launch_1d(db, K_MAX_NORM, (size_t)rows);
}

static cm_status device_bias_grad(cm_backend *b, cm_buf *dy, cm_buf *relu_y, cm_buf *db_, int rows, int cols) {
    device_backend *db = DB(b);
    cl_kernel k = db->k[K_BIAS_GRAD];
    const int masked = relu_y != NULL;
    ARG_MEM(k, 0, dy);
    ARG_MEM(k, 1, masked ? relu_y : dy); /* unread when not masked */
    ARG(k, 2, masked);
    ARG_MEM(k, 3, db_);
    ARG(k, 4, rows);
    ARG(k, 5, cols);
    CL_CHECK(clSetKernelArg(k, 6, sizeof(float) * db->grad_tc * db->grad_lanes, NULL));
    size_t local[2] = {db->grad_tc, db->grad_lanes};
    size_t global[2] = {device_round_up((size_t)cols, db->grad_tc), db->grad_lanes};
    if (cols <= 0) return CM_OK;
    cl_event ev = NULL;
    CL_CHECK(clEnqueueNDRangeKernel(db->queue, k, 2, NULL, global, local, 0, NULL, PROF_EVENT(db, &ev)));
    return device_prof_add(db, device_kernel_names[K_BIAS_GRAD], NULL, ev);
}

static cm_status device_softmax_xent(cm_backend *b, cm_buf *logits, cm_buf *labels, cm_buf *dlogits, cm_buf *acc_loss,
                                     cm_buf *acc_correct, int rows, int classes) {
    device_backend *db = DB(b);
    cl_kernel k = db->k[K_SOFTMAX];
    int want_grad = dlogits != NULL;
    ARG_MEM(k, 0, logits);
    ARG_MEM(k, 1, labels);
    ARG_MEM(k, 2, dlogits);
    ARG(k, 3, want_grad);
    ARG_MEM(k, 4, acc_loss);
    ARG_MEM(k, 5, acc_correct);
    ARG(k, 6, rows);
    ARG(k, 7, classes);
    return device_launch_1d(db, K_SOFTMAX, (size_t)rows);
}

static cm_status device_argmax(cm_backend *b, cm_buf *logits, cm_buf *labels, cm_buf *pred, cm_buf *acc_correct,
                               int rows, int classes) {
    device_backend *db = DB(b);
    cl_kernel k = db->k[K_ARGMAX];
    int want_pred = pred != NULL, count = acc_correct != NULL && labels != NULL;
    ARG_MEM(k, 0, logits);
    ARG_MEM(k, 1, labels);
    ARG_MEM(k, 2, pred);
    ARG(k, 3, want_pred);
    ARG_MEM(k, 4, acc_correct);
    ARG(k, 5, count);
    ARG(k, 6, rows);
    ARG(k, 7, classes);
    return device_launch_1d(db, K_ARGMAX, (size_t)rows);
}

static cm_status device_opt_update(cm_backend *b, cm_buf *w, cm_buf *g, cm_buf *m, cm_buf *v, size_t n,
                                   const cm_opt_step *s) {
    device_backend *db = DB(b);
    cl_kernel k = db->k[K_OPT];
    cl_uint nn = (cl_uint)n;
    int use_m = m != NULL, kind = (int)s->kind;
    ARG_MEM(k, 0, w);
    ARG_MEM(k, 1, g);
    ARG_MEM(k, 2, m);
    ARG_MEM(k, 3, v);
    ARG(k, 4, use_m);
    ARG(k, 5, nn);
    ARG(k, 6, kind);
    ARG(k, 7, s->lr);
    ARG(k, 8, s->momentum);
    ARG(k, 9, s->weight_decay);
    ARG(k, 10, s->beta1);
    ARG(k, 11, s->beta2);
    ARG(k, 12, s->eps);
    ARG(k, 13, s->step_size);
    ARG(k, 14, s->bc2_sqrt);
    return device_launch_1d(db, K_OPT, n);
}

static const cm_backend_ops device_ops = {
    .destroy = device_destroy,
    .alloc = device_alloc,
    .view = device_view,
    .release = device_release,
    .upload = device_upload,
    .download = device_download,
    .fill = device_fill,
    .finish = device_finish,
    .stage_rows = device_stage_rows,
    .gather = device_gather,
    .gather_augment = device_gather_augment,
    .gemm = device_gemm,
    .bias_act = device_bias_act,
    .relu_backward = device_relu_backward,
    .dropout = device_dropout,
    .bias_grad = device_bias_grad,
    .softmax_xent = device_softmax_xent,
    .argmax = device_argmax,
    .opt_update = device_opt_update,
    .max_norm = device_max_norm,
    .relu = device_relu,
    .im2col = device_im2col,
    .col2im = device_col2im,
    .conv_forward = device_conv_forward,
    .conv_backward = device_conv_backward,
    .cnhw_to_nchw = device_cnhw_to_nchw,
    .nchw_to_cnhw = device_nchw_to_cnhw,
    .channel_sum = device_channel_sum,
    .maxpool_forward = device_maxpool_forward,
    .maxpool_backward = device_maxpool_backward,
    .bn_forward = device_bn_forward,
    .bn_backward = device_bn_backward,
    .gap_forward = device_gap_forward,
    .gap_backward = device_gap_backward,
    .channel_affine = device_channel_affine,
    .profile_reset = device_profile_reset,
    .profile_read = device_profile_read,
};

static cm_status device_setup(device_backend *db, bool profile) {
    cl_int err;
    cl_command_queue_properties qprops = profile ? CL_QUEUE_PROFILING_ENABLE : 0;
    if (profile) CM_TRY(cl_profile_create(&db->prof));
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)db->desc.platform, 0};
    db->ctx = clCreateContext(props, 1, &db->desc.device, NULL, NULL, &err);
    CL_CHECK(err);
    db->queue = clCreateCommandQueue(db->ctx, db->desc.device, qprops, &err);
    CL_CHECK(err);
    db->xfer = clCreateCommandQueue(db->ctx, db->desc.device, qprops, &err);
    CL_CHECK(err);

    const char *srcs[16];
    size_t lens[16];
    cl_uint n = 0;
    for (size_t i = 0; i < cm_kernel_source_count && n < 16; i++, n++) {
        srcs[n] = cm_kernel_sources[i].text;
        lens[n] = cm_kernel_sources[i].length;
    }
    CM_TRY(cl_build_program(db->ctx, db->desc.device, db->desc.device_name, srcs, lens, n, CL_BUILD_OPTIONS,
                            &db->program));
    for (int i = 0; i < K_COUNT; i++) {
        db->k[i] = clCreateKernel(db->program, device_kernel_names[i], &err);
        if (err != CL_SUCCESS) return cl_fail_call(err, device_kernel_names[i], __FILE__, __LINE__);
        CM_TRY(pick_local(db, db->k[i], &db->local[i]));
    }
    /* bias_grad: 16 columns wide when possible, lanes a power of two filling the group. */
    size_t wg = db->local[K_BIAS_GRAD];
    db->grad_tc = wg >= 16 ? 16 : 1;
    db->grad_lanes = 1;
    while (db->grad_tc * db->grad_lanes * 2 <= wg)
        db->grad_lanes *= 2;

    cl_ulong local_mem = 0;
    CL_CHECK(clGetDeviceInfo(db->desc.device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local_mem, &local_mem, NULL));
    db->local_mem = (size_t)local_mem;
    cl_uint align_bits = 0;
    CL_CHECK(clGetDeviceInfo(db->desc.device, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits, &align_bits, NULL));
    db->base.align_bytes = align_bits / 8 >= 4 ? align_bits / 8 : 4;
    return CM_OK;
}

cm_status backend_device_probe(const cm_backend_options *opt, int *platforms, int *is_gpu) {
    unsigned n = 0;
    *is_gpu = 0;
    *platforms = cl_platform_count(&n) == CM_OK ? (int)n : 0;
    if (!*platforms && !(opt && opt->device)) return CM_OK; /* auto without OpenCL: the host backend */
    cl_device_desc d;
    CM_TRY(cl_select_device(opt ? opt->device : NULL, opt ? opt->slot : 0, &d));
    *is_gpu = (d.type & CL_DEVICE_TYPE_GPU) != 0;
    return CM_OK;
}

cm_status backend_device_create(const cm_backend_options *opt, cm_backend **out) {
    *out = NULL;
    device_backend *db = calloc(1, sizeof *db);
    if (!db) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    cm_status st = cl_select_device(opt ? opt->device : NULL, opt ? opt->slot : 0, &db->desc);
    if (st == CM_OK) st = device_setup(db, opt && opt->profile);
    if (st != CM_OK) {
        device_destroy(&db->base);
        return st;
    }
    db->base.ops = &device_ops;
    db->base.kind = "device";
    snprintf(db->base.device_name, sizeof db->base.device_name, "%s (%s, OpenCL)", db->desc.device_name,
             db->desc.platform_name);
    db->base.max_alloc_bytes = db->desc.max_alloc;
    db->base.global_mem_bytes = db->desc.global_mem;
    gemm_cache_load(&db->base); /* tuned CLBlast parameters for this device, if `clmnist tune` ran */
    *out = &db->base;
    return CM_OK;
}
