/* conv_ab.c: a convolution layer's forward three ways on the OpenCL device, checked against a host
 * reference, then timed in alternating rounds (built and run by scripts/conv_ab.sh):
 *   ours       backend_im2col (whole batch: col (C*K*K, B*OH*OW)) + one backend_gemm
 *              + backend_cnhw_to_nchw, through the clmnist backend API (as host/nn/net.c does)
 *   clb-img    CLBlastSim2col once per image (col (B, C*K*K, OH*OW)) + one CLBlastSgemm per image,
 *              each writing its image's (OC, OH*OW) block of the NCHW output directly
 *   clb-strd   the same per-image CLBlastSim2col, then ONE CLBlastSgemmStridedBatched over the batch
 *              (weights with stride 0)
 *   convgemm   CLBlastSconvgemm over the whole batch (its output is NCHW)
 *   ours-strd  our whole-batch backend_im2col, then ONE CLBlastSgemmStridedBatched reading image b's
 *              columns of it in place (offset b*OH*OW, ld B*OH*OW) and writing NCHW directly: no
 *              reorder kernel (not what host/nn/net.c does; measured to see where a gain comes from)
 * The layers are the two convolutions of the `cnn` preset (no bias: BatchNorm follows them). A
 * round times every variant on every layer (order reversed every other round), each as the wall
 * time of `calls` forwards enqueued back to back and drained; the table gives the median ms per
 * forward and each variant's time as a multiple of ours.
 * It uses the device backend's queue and context (device_internal.h, private to the backend), so
 * all variants share one queue and CLBlast's GEMMs get the same tuning cache as the trainer's.
 * usage: conv_ab [ROUNDS (default 9)] [CALLS per timing (default 5)] [BATCH (default 128)] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "device_internal.h"

typedef struct {
    const char *name;
    int c, h, w, oc, k;
} layer;

static const layer LAYERS[] = {
    {"conv 1->24 k5 on 28x28", 1, 28, 28, 24, 5},
    {"conv 24->32 k3 on 12x12", 24, 12, 12, 32, 3},
};
enum { NL = 2, NV = 5 };
static const char *VNAME[NV] = {"ours", "clb-img", "clb-strd", "convgemm", "ours-strd"};

typedef struct {
    cm_window win;
    int oc, ckk, ohw;
    cm_buf *x, *wt, *col, *cnhw, *y;
    cl_mem ccol, temp; /* CLBlast's per-image col (B, CKK, OHW); a GEMM temporary */
    size_t temp_bytes;
} ctx;

static cm_backend *B;

#define DIE(...) (fprintf(stderr, "conv_ab: " __VA_ARGS__), fputc('\n', stderr), exit(1))
#define OK(call)                                                                                                       \
    do {                                                                                                               \
        if ((call) != CM_OK) DIE("%s: %s", #call, cm_last_error());                                                    \
    } while (0)
#define CLB(call)                                                                                                      \
    do {                                                                                                               \
        CLBlastStatusCode s_ = (call);                                                                                 \
        if (s_ != CLBlastSuccess) DIE("%s: CLBlast status %d", #call, (int)s_);                                        \
    } while (0)

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void forward(int v, ctx *c) {
    device_backend *db = DB(B);
    cl_command_queue *q = &db->queue;
    const cm_window *w = &c->win;
    const size_t img = (size_t)w->channels * w->height * w->width, col1 = (size_t)c->ckk * c->ohw;
    const size_t oc = (size_t)c->oc;
    if (v == 0) {
        OK(backend_im2col(B, c->x, c->col, w));
        OK(backend_gemm(B, false, false, (int)oc, w->batch * c->ohw, c->ckk, 1.0f, c->wt, c->ckk, c->col,
                        w->batch * c->ohw, 0.0f, c->cnhw, w->batch * c->ohw));
        OK(backend_cnhw_to_nchw(B, c->cnhw, NULL, c->y, w->batch, (int)oc, c->ohw, false));
        return;
    }
    if (v == 4) {
        OK(backend_im2col(B, c->x, c->col, w));
        CLB(CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, oc, c->ohw,
                                       c->ckk, 1.0f, c->wt->mem, 0, c->ckk, 0, c->col->mem, 0,
                                       (size_t)w->batch * c->ohw, c->ohw, 0.0f, c->y->mem, 0, c->ohw, oc * c->ohw,
                                       w->batch, q, NULL));
        return;
    }
    if (v == 3) {
        CLB(CLBlastSconvgemm(CLBlastKernelModeCrossCorrelation, w->channels, w->height, w->width, w->kernel,
                             w->kernel, w->pad, w->pad, w->stride, w->stride, 1, 1, oc, w->batch, c->x->mem, 0,
                             c->wt->mem, 0, c->y->mem, 0, q, NULL));
        return;
    }
    for (int b = 0; b < w->batch; b++)
        CLB(CLBlastSim2col(CLBlastKernelModeCrossCorrelation, w->channels, w->height, w->width, w->kernel, w->kernel,
                           w->pad, w->pad, w->stride, w->stride, 1, 1, c->x->mem, b * img, c->ccol, b * col1, q,
                           NULL));
    if (v == 2) {
        CLB(CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, oc, c->ohw,
                                       c->ckk, 1.0f, c->wt->mem, 0, c->ckk, 0, c->ccol, 0, c->ohw, col1, 0.0f,
                                       c->y->mem, 0, c->ohw, oc * c->ohw, w->batch, q, NULL));
        return;
    }
    for (int b = 0; b < w->batch; b++) {
        CLBlastStatusCode s;
        if (c->temp_bytes)
            s = CLBlastSgemmWithTempBuffer(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, oc, c->ohw,
                                           c->ckk, 1.0f, c->wt->mem, 0, c->ckk, c->ccol, b * col1, c->ohw, 0.0f,
                                           c->y->mem, b * oc * c->ohw, c->ohw, q, NULL, c->temp);
        else
            s = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, oc, c->ohw, c->ckk, 1.0f,
                             c->wt->mem, 0, c->ckk, c->ccol, b * col1, c->ohw, 0.0f, c->y->mem, b * oc * c->ohw,
                             c->ohw, q, NULL);
        if (s != CLBlastSuccess) DIE("CLBlastSgemm (image %d): CLBlast status %d", b, (int)s);
    }
}

static void drain(void) { OK(backend_finish(B)); }

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static float *urand(size_t n, float scale, unsigned *seed) {
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++)
        p[i] = scale * (2.0f * (float)rand_r(seed) / (float)RAND_MAX - 1.0f);
    return p;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 9, calls = argc > 2 ? atoi(argv[2]) : 5;
    int batch = argc > 3 ? atoi(argv[3]) : 128;
    if (rounds < 1 || calls < 1 || batch < 1) DIE("usage: conv_ab [ROUNDS] [CALLS] [BATCH]");
    cm_backend_options opt = {0};
    OK(backend_create("device", &opt, &B));
    device_backend *db = DB(B);
    fprintf(stderr, "device: %s; GEMM tuning: %s\n", B->device_name, B->tuning[0] ? B->tuning : "CLBlast's defaults");
    ctx C[NL];
    unsigned seed = 7;
    for (int l = 0; l < NL; l++) {
        const layer *L = &LAYERS[l];
        ctx *c = &C[l];
        c->win = (cm_window){batch, L->c, L->h, L->w, L->k, 1, 0, 0, 0};
        OK(window_resolve(&c->win, L->name));
        c->oc = L->oc;
        c->ckk = L->c * L->k * L->k;
        c->ohw = c->win.out_h * c->win.out_w;
        size_t nx = (size_t)batch * L->c * L->h * L->w, nw = (size_t)L->oc * c->ckk;
        size_t ncol = (size_t)c->ckk * batch * c->ohw, ny = (size_t)batch * L->oc * c->ohw;
        OK(backend_alloc(B, nx * 4, 0, "x", &c->x));
        OK(backend_alloc(B, nw * 4, 0, "w", &c->wt));
        OK(backend_alloc(B, ncol * 4, 0, "col", &c->col));
        OK(backend_alloc(B, ny * 4, 0, "cnhw", &c->cnhw));
        OK(backend_alloc(B, ny * 4, 0, "y", &c->y));
        cl_int e;
        c->ccol = clCreateBuffer(db->ctx, CL_MEM_READ_WRITE, ncol * 4, NULL, &e);
        if (e != CL_SUCCESS) DIE("clCreateBuffer: %d", e);
        CLB(CLBlastSGemmTempBufferSize(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, L->oc, c->ohw,
                                       c->ckk, 0, c->ckk, 0, c->ohw, 0, c->ohw, &db->queue, &c->temp_bytes));
        if (c->temp_bytes) c->temp = clCreateBuffer(db->ctx, CL_MEM_READ_WRITE, c->temp_bytes, NULL, &e);
        float *x = urand(nx, 1.0f, &seed), *w = urand(nw, 1.0f / sqrtf((float)c->ckk), &seed);
        OK(backend_upload(B, c->x, 0, x, nx * 4));
        OK(backend_upload(B, c->wt, 0, w, nw * 4));
        /* host reference in double */
        double *ref = calloc(ny, sizeof *ref), scale = 0;
        for (int b = 0; b < batch; b++)
            for (int o = 0; o < L->oc; o++)
                for (int oh = 0; oh < c->win.out_h; oh++)
                    for (int ow = 0; ow < c->win.out_w; ow++) {
                        double s = 0;
                        for (int ci = 0; ci < L->c; ci++)
                            for (int i = 0; i < L->k; i++)
                                for (int j = 0; j < L->k; j++)
                                    s += (double)w[((size_t)o * L->c + ci) * L->k * L->k + i * L->k + j] *
                                         x[(((size_t)b * L->c + ci) * L->h + oh + i) * L->w + ow + j];
                        ref[(((size_t)b * L->oc + o) * c->win.out_h + oh) * c->win.out_w + ow] = s;
                        if (fabs(s) > scale) scale = fabs(s);
                    }
        float *got = malloc(ny * 4);
        for (int v = 0; v < NV; v++) { /* also the warm-up: kernels compile on first use */
            OK(backend_fill(B, c->y, NAN, ny));
            double t0 = now();
            forward(v, c);
            drain();
            OK(backend_download(B, c->y, 0, got, ny * 4));
            double worst = 0;
            for (size_t i = 0; i < ny; i++) {
                double d = fabs((double)got[i] - ref[i]);
                if (!(d <= worst)) worst = d; /* NaN counts as worst */
            }
            fprintf(stderr, "check %-24s %-9s max |y - ref| = %.2e (max |ref| %.2f), first call %.2f s\n", L->name,
                    VNAME[v], worst, scale, now() - t0);
            if (!(worst <= 1e-4 * scale)) DIE("%s: %s differs from the reference", L->name, VNAME[v]);
        }
        free(x), free(w), free(ref), free(got);
    }
    static double t[NL][NV][256];
    if (rounds > 256) rounds = 256;
    for (int r = 0; r < rounds; r++) {
        for (int n = 0; n < NL * NV; n++) {
            int idx = r % 2 ? NL * NV - 1 - n : n, l = idx / NV, v = idx % NV;
            drain();
            double t0 = now();
            for (int i = 0; i < calls; i++)
                forward(v, &C[l]);
            drain();
            t[l][v][r] = (now() - t0) / calls * 1e3;
        }
        fprintf(stderr, "round %d/%d done\n", r + 1, rounds);
    }
    printf("conv forward at batch %d on %s; GEMM tuning: %s\n", batch, B->device_name,
           B->tuning[0] ? B->tuning : "CLBlast's defaults");
    printf("median ms per forward over %d alternating rounds of %d calls (time relative to ours)\n", rounds, calls);
    printf("  %-24s", "layer");
    for (int v = 0; v < NV; v++)
        printf(" %17s", VNAME[v]);
    printf("\n");
    for (int l = 0; l < NL; l++) {
        double med[NV];
        for (int v = 0; v < NV; v++) {
            qsort(t[l][v], rounds, sizeof(double), cmp);
            med[v] = rounds % 2 ? t[l][v][rounds / 2] : 0.5 * (t[l][v][rounds / 2 - 1] + t[l][v][rounds / 2]);
        }
        printf("  %-24s", LAYERS[l].name);
        for (int v = 0; v < NV; v++)
            printf("  %7.2f (%5.2fx)", med[v], med[v] / med[0]);
        printf("\n");
    }
    for (int l = 0; l < NL; l++) {
        clReleaseMemObject(C[l].ccol);
        if (C[l].temp) clReleaseMemObject(C[l].temp);
    }
    backend_destroy(B);
    return 0;
}
