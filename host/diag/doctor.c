/* doctor.c: the checks of `clmnist doctor` (doctor.h). The checks themselves are library calls:
 * cl_check.h (ICD files, kernel builds), backend_gemm_agreement, gemm_tune.h (the cache),
 * trainer_memory_estimate and diag_train_agreement (train_check.h). */
#include "doctor.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cl_check.h"
#include "gemm_tune.h"
#include "timer.h"
#include "train_check.h"

#define GEMM_TOL 1e-5       /* CLBlast vs the host GEMM: worst relative L2 */
#define SMOKE_LOSS_TOL 1e-4 /* |loss difference| / max(1, loss) */
#define SMOKE_PARAM_TOL 1e-4
#define SMOKE_TEST 1000 /* test images the smoke train's loss is measured on */

#define FIX_OPENCL                                                                                                     \
    "install an OpenCL loader and a driver: 'apt-get install ocl-icd-libopencl1 pocl-opencl-icd' (CPU), or your "      \
    "GPU vendor's ICD (NVIDIA: the driver's nvidia-opencl-icd; AMD: ROCm or mesa-opencl-icd; Intel: "                  \
    "intel-opencl-icd)"

typedef struct {
    const doctor_options *o;
} doctor;

static void report(doctor *d, doctor_level lv, const char *name, const char *fix, const char *log, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void report(doctor *d, doctor_level lv, const char *name, const char *fix, const char *log, const char *fmt,
                   ...) {
    char detail[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    doctor_check c = {lv, name, detail, fix, log};
    d->o->report(d->o->ctx, &c);
}

static double mib(size_t bytes) {
    return (double)bytes / 1048576.0;
}

/* The ICD files and the platforms: *list and *n get every device (NULL, 0 when there is none). */
static void check_opencl(doctor *d, cl_device_desc **list, int *n) {
    char where[512], names[8][300], files[8 * 302] = "";
    int nf = cl_icd_files(where, sizeof where, names, 8);
    for (int i = 0; i < nf && i < 8; i++)
        snprintf(files + strlen(files), sizeof files - strlen(files), "%s%s", i ? ", " : "", names[i]);
    if (nf < 0) snprintf(files, sizeof files, "folder not readable");
    if (nf == 0) snprintf(files, sizeof files, "none");
    unsigned platforms = 0;
    *list = NULL;
    *n = 0;
    cm_status st = cl_platform_count(&platforms);
    /* without OpenCL the host backend runs everything: a finding, unless --device asked for one */
    doctor_level missing = d->o->device ? DOCTOR_FAIL : DOCTOR_WARN;
    if (st == CM_OK && platforms == 0)
        report(d, missing, "opencl", FIX_OPENCL, NULL,
               "no OpenCL platform: %s %s%s%s; --backend device is unavailable (the device checks are skipped), "
               "the host backend needs no OpenCL",
               nf > 0 ? "none of the ICD files loads in" : "no ICD file in", where, nf > 0 ? ": " : "",
               nf > 0 ? files : "");
    else if (st != CM_OK || cl_list_devices(list, n) != CM_OK)
        report(d, missing, "opencl", FIX_OPENCL, NULL,
               "%s (ICD files in %s: %s); --backend device is unavailable (the device checks are skipped), the "
               "host backend needs no OpenCL",
               cm_last_error(), where, files);
    else
        report(d, DOCTOR_OK, "opencl", NULL, NULL, "%u platform%s, %d device%s; ICD files in %s: %s", platforms,
               platforms == 1 ? "" : "s", *n, *n == 1 ? "" : "s", where, files);
}

/* Every device: what it is, and whether the embedded kernels build on it. */
static void check_devices(doctor *d, const cl_device_desc *list, int n) {
    for (int i = 0; i < n; i++) {
        const cl_device_desc *dev = &list[i];
        char name[32], *log = NULL;
        snprintf(name, sizeof name, "device #%d", i);
        int kernels = 0;
        double t0 = timer_now();
        cm_status st = cl_check_kernels(dev, &kernels, &log);
        char what[1024];
        snprintf(what, sizeof what, "%s (%s, %s, %u CUs, %.1f GiB, %s, driver %s)", dev->device_name,
                 cl_device_type_name(dev->type), dev->platform_name, dev->compute_units, mib(dev->global_mem) / 1024.0,
                 dev->c_version, dev->driver_version);
        if (st == CM_OK)
            report(d, DOCTOR_OK, name, NULL, NULL, "%s: %zu kernel files build, %d kernels (%.1f s)", what,
                   cm_kernel_source_count, kernels, timer_now() - t0);
        else
            report(d, DOCTOR_FAIL, name,
                   "update the device's OpenCL driver, or pick another device with --device (the build log is "
                   "printed above, or under \"log\" with --json)",
                   log, "%s: %s", what, cm_last_error());
        free(log);
    }
}

/* The device the other commands would use (--device, $CLMNIST_DEVICE, else the first GPU). */
static cm_status check_selected(doctor *d, cm_backend **dev, int *cpu) {
    cm_backend_options bo = {.device = d->o->device};
    cm_status st = backend_create("device", &bo, dev);
    if (st != CM_OK) {
        report(d, DOCTOR_FAIL, "selected", "pick one from the list above: --device N or --device NAME", NULL, "%s",
               cm_last_error());
        return st;
    }
    *cpu = backend_device_is_cpu(*dev);
    report(d, *cpu ? DOCTOR_WARN : DOCTOR_OK, "selected",
           "a GPU and its vendor's OpenCL driver; on a CPU, --backend host", NULL, "%s%s", (*dev)->device_name,
           *cpu ? ": a CPU, where the host backend is usually faster ('train' measures it and says so)" : "");
    return CM_OK;
}

static void check_gemm(doctor *d, cm_backend *host, cm_backend *dev) {
    static const int shapes[2][3] = {{128, 512, 784}, {7, 33, 129}}; /* the fast MLP's first layer; odd sizes */
    double worst = 0.0, e = 0.0;
    cm_status st = CM_OK;
    for (int i = 0; i < 2 && st == CM_OK; i++) {
        st = backend_gemm_agreement(host, dev, shapes[i][0], shapes[i][1], shapes[i][2], 7 + (uint64_t)i, &e);
        if (st == CM_OK && (isnan(e) || e > worst)) worst = e;
    }
    const char *fix = "CLBlast computes wrong products here: try CLMNIST_NO_TUNING=1 (if a tuning cache is in use), "
                      "update the driver or CLBlast, or train with --backend host";
    if (st != CM_OK)
        report(d, DOCTOR_FAIL, "clblast gemm", fix, NULL, "%s", cm_last_error());
    else
        report(d, worst <= GEMM_TOL ? DOCTOR_OK : DOCTOR_FAIL, "clblast gemm", fix, NULL,
               "SGEMM NN/NT/TN/TT at 128x512x784 and 7x33x129 against the host GEMM: worst relative L2 %.1e "
               "(tolerance %.0e)%s",
               worst, GEMM_TOL, dev->tuning[0] ? ", with the tuned parameters" : "");
}

static void check_tuning(doctor *d, cm_backend *dev) {
    char path[1024];
    gemm_params p;
    int found = 0;
    if (gemm_tuning_disabled()) {
        report(d, DOCTOR_WARN, "gemm tuning", "unset CLMNIST_NO_TUNING", NULL,
               "CLMNIST_NO_TUNING is set: CLBlast's defaults");
        return;
    }
    cm_status st = gemm_cache_read(dev, path, sizeof path, &p, &found);
    if (!found && gemm_cache_path(dev, path, sizeof path) != CM_OK)
        report(d, DOCTOR_WARN, "gemm tuning", "set CLMNIST_CACHE_DIR (or HOME) and run 'clmnist tune'", NULL, "%s",
               cm_last_error());
    else if (!found)
        report(d, DOCTOR_WARN, "gemm tuning", "run 'clmnist tune' once (about 10 minutes; --budget S for less)", NULL,
               "no tuning cache for this device (%s): CLBlast's defaults", path);
    else if (st != CM_OK)
        report(d, DOCTOR_WARN, "gemm tuning", "run 'clmnist tune' again: it replaces the file", NULL, "%s",
               cm_last_error());
    else
        report(d, DOCTOR_OK, "gemm tuning", NULL, NULL, "%s (in use)", path);
}

/* The fast preset's MLP at its batch size on ds's shapes against the device's memory. */
static void check_memory(doctor *d, const cm_train_args *a, const cm_dataset *ds, cm_backend *dev) {
    cm_layout L;
    if (run_layout(a, ds, CM_PARAM_ALIGN_BYTES, &L) != CM_OK) {
        report(d, DOCTOR_FAIL, "memory", NULL, NULL, "%s", cm_last_error());
        return;
    }
    cm_train_config cfg = run_train_config(a);
    int resident = trainer_feed_resident(dev, &ds->train, cfg.feed);
    cm_train_memory m = trainer_memory_estimate(&L, &cfg, &ds->train, resident);
    size_t total = m.params + m.activations + m.data + m.scratch;
    doctor_level lv = total > dev->global_mem_bytes || m.largest > dev->max_alloc_bytes ? DOCTOR_FAIL
                      : total > dev->global_mem_bytes / 2                               ? DOCTOR_WARN
                                                                                        : DOCTOR_OK;
    char arch[CM_ARCH_TEXT];
    model_describe(&L, arch, sizeof arch);
    report(d, lv, "memory", "a device with more memory, or a smaller --batch or network (--backend host has no limit)",
           NULL,
           "the fast preset's %s at batch %d needs %.1f MiB: parameters and optimizer state %.1f, activations "
           "and batch buffers %.1f, convolution scratch %.1f, %s training set %.1f (largest buffer %.1f); the device "
           "has %.1f MiB, %.1f "
           "per buffer",
           arch, cfg.batch, mib(total), mib(m.params), mib(m.activations), mib(m.scratch),
           resident ? "resident" : "no resident", mib(m.data), mib(m.largest), mib(dev->global_mem_bytes),
           mib(dev->max_alloc_bytes));
}

/* OpenBLAS's kernels: AVX-512 ones where the CPU has AVX-512 (backend_host_blas_better_core). */
static void check_blas_core(doctor *d) {
    const char *better = backend_host_blas_better_core(), *forced = getenv("OPENBLAS_CORETYPE");
    char fix[200];
    if (forced && *forced)
        snprintf(fix, sizeof fix, "unset OPENBLAS_CORETYPE (now '%s'): OpenBLAS then picks its AVX-512 kernels itself",
                 forced);
    else
        snprintf(fix, sizeof fix,
                 "run with OPENBLAS_CORETYPE=%s: this OpenBLAS does not pick its AVX-512 kernels "
                 "on this CPU",
                 better ? better : "?");
    if (better)
        report(d, DOCTOR_WARN, "blas kernels", fix, NULL,
               "OpenBLAS runs its %s kernels on a CPU with AVX-512: the host backend's steps run 1.2-1.5x slower "
               "than with its %s kernels (docs/BENCHMARKS.md)",
               backend_host_blas_core(), better);
    else
        report(d, DOCTOR_OK, "blas kernels", NULL, NULL, "OpenBLAS runs its %s kernels", backend_host_blas_core());
}

static void check_host(doctor *d) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = backend_host_threads();
    const char *omp = getenv("OMP_NUM_THREADS");
    doctor_level lv = cores > 0 && threads < cores ? DOCTOR_WARN : DOCTOR_OK;
    report(d, lv, "host", "unset OMP_NUM_THREADS (or give train --threads N) to use every core", NULL,
           "BLAS %s, %d OpenMP thread%s on %ld online CPU%s%s%s", backend_host_blas_name(), threads,
           threads == 1 ? "" : "s", cores, cores == 1 ? "" : "s", omp ? ", OMP_NUM_THREADS=" : "", omp ? omp : "");
}

/* MNIST (or what --data names), else a synthetic stand-in of its shape; *real says which. */
static cm_status load_data(doctor *d, cm_dataset *ds, int *real) {
    *real = dataset_load_dir(d->o->data_dir, 0, ds) == CM_OK;
    if (*real) {
        report(d, DOCTOR_OK, "data", NULL, NULL, "%s: %d training, %d test images of %dx%d, %d classes", d->o->data_dir,
               ds->train.count, ds->test.count, ds->train.rows, ds->train.cols, ds->classes);
        return CM_OK;
    }
    report(d, DOCTOR_WARN, "data", "data/fetch mnist (or --data DIR)", NULL,
           "%s; the checks below use synthetic 28x28 data", cm_last_error());
    return dataset_synthetic(ds, DOCTOR_SMOKE_STEPS * 128, SMOKE_TEST, 28, 28, 10, 42);
}

/* DOCTOR_SMOKE_STEPS steps of the fast preset on both backends from the same seed: they must agree. The
 * run is one epoch of DOCTOR_SMOKE_STEPS batches, so the cosine schedule ends at 0 as a whole run does:
 * at the preset's full rate for 50 steps, the two drift apart chaotically (5e-5 relative on PoCL,
 * measured; 4e-7 with the schedule). */
static void check_smoke(doctor *d, const cm_train_args *a, cm_dataset *ds, int real, cm_backend *b[2]) {
    cm_dataset sub = *ds; /* the first batches and test images: borrowed, not freed here */
    if (sub.train.count > DOCTOR_SMOKE_STEPS * a->batch) sub.train.count = DOCTOR_SMOKE_STEPS * a->batch;
    if (sub.test.count > SMOKE_TEST) sub.test.count = SMOKE_TEST;
    size_t align = b[1]->align_bytes > CM_PARAM_ALIGN_BYTES ? b[1]->align_bytes : CM_PARAM_ALIGN_BYTES;
    cm_model model;
    cm_agreement g;
    cm_train_config cfg = run_train_config(a);
    cfg.epochs = 1;
    cm_status st = run_init_model(a, &sub, align, b[1], &model);
    if (st == CM_OK) {
        st = diag_train_agreement(b, &sub, &model, &cfg, DOCTOR_SMOKE_STEPS, &g);
        model_free(&model);
    }
    const char *fix = "run 'clmnist compare' for the tensors that differ; update the driver, or use --backend host";
    if (st != CM_OK) {
        report(d, DOCTOR_FAIL, "smoke train", fix, NULL, "%s", cm_last_error());
        return;
    }
    report(
        d, diag_agreement_within(&g, SMOKE_LOSS_TOL, SMOKE_PARAM_TOL) ? DOCTOR_OK : DOCTOR_FAIL, "smoke train", fix,
        NULL,
        "%d steps of the fast preset (batch %d, seed %llu, one cosine cycle) on %s: test loss host %.6f, device %.6f "
        "(differ by %.1e; tolerance %.0e x max(1, loss)); parameters differ by %.1e relative L2 (tolerance %.0e); "
        "host %.2f s, device %.2f s",
        DOCTOR_SMOKE_STEPS, a->batch, (unsigned long long)a->seed, real ? ds->name : "synthetic data", g.loss[0],
        g.loss[1], fabs(g.loss[1] - g.loss[0]), SMOKE_LOSS_TOL, g.param_rel_l2, SMOKE_PARAM_TOL, g.seconds[0],
        g.seconds[1]);
}

/* Without an OpenCL device: DOCTOR_SMOKE_STEPS steps of the fast preset on the host backend alone,
 * which must bring the test loss down from the initial weights' (and keep it finite). */
static void check_host_train(doctor *d, const cm_train_args *a, cm_dataset *ds, int real, cm_backend *host) {
    cm_dataset sub = *ds; /* the first batches and test images: borrowed, not freed here */
    if (sub.train.count > DOCTOR_SMOKE_STEPS * a->batch) sub.train.count = DOCTOR_SMOKE_STEPS * a->batch;
    if (sub.test.count > SMOKE_TEST) sub.test.count = SMOKE_TEST;
    cm_model model = {0};
    cm_trainer *t = NULL;
    cm_stats before = {0}, after = {0};
    cm_train_config cfg = run_train_config(a);
    cfg.epochs = 1;
    double t0 = timer_now();
    cm_status st = run_init_model(a, &sub, CM_PARAM_ALIGN_BYTES, host, &model);
    if (st == CM_OK) st = trainer_create(host, &sub, &model, &cfg, &t);
    if (st == CM_OK) st = trainer_evaluate(t, &sub.test, &before);
    if (st == CM_OK) st = trainer_begin_epoch(t, 0);
    for (int s = 0; s < DOCTOR_SMOKE_STEPS && s < trainer_steps_per_epoch(t) && st == CM_OK; s++)
        st = trainer_step(t);
    if (st == CM_OK) st = trainer_evaluate(t, &sub.test, &after);
    trainer_destroy(t);
    model_free(&model);
    const char *fix = "run 'clmnist compare' on a machine with OpenCL, or report the bug with this line";
    if (st != CM_OK) {
        report(d, DOCTOR_FAIL, "host train", fix, NULL, "%s", cm_last_error());
        return;
    }
    int learns = isfinite(after.loss) && after.loss < before.loss;
    report(d, learns ? DOCTOR_OK : DOCTOR_FAIL, "host train", fix, NULL,
           "%d steps of the fast preset (batch %d, seed %llu) on the host backend, %s: test loss %.4f -> %.4f "
           "(%.2f s); 'clmnist train' runs here",
           DOCTOR_SMOKE_STEPS, a->batch, (unsigned long long)a->seed, real ? ds->name : "synthetic data", before.loss,
           after.loss, timer_now() - t0);
}

/* The checks that need the selected device, after the platform and kernel checks. */
static void device_checks(doctor *d, const cm_train_args *a, cm_dataset *ds, int real, cm_backend *host) {
    cm_backend *dev = NULL;
    int cpu = 0;
    if (check_selected(d, &dev, &cpu) != CM_OK) return;
    check_gemm(d, host, dev);
    check_tuning(d, dev);
    check_memory(d, a, ds, dev);
    cm_backend *both[2] = {host, dev};
    check_smoke(d, a, ds, real, both);
    backend_destroy(dev);
}

cm_status diag_doctor_run(const doctor_options *o, const cm_train_args *a) {
    doctor dd = {o}, *d = &dd;
    cl_device_desc *list;
    int n;
    check_opencl(d, &list, &n);
    check_devices(d, list, n);
    free(list);
    check_host(d);
    check_blas_core(d);
    cm_dataset ds;
    int real;
    cm_backend *host = NULL;
    cm_status st = load_data(d, &ds, &real);
    if (st == CM_OK) st = backend_create("host", NULL, &host);
    if (st == CM_OK && n > 0) device_checks(d, a, &ds, real, host);
    if (st == CM_OK && n == 0) check_host_train(d, a, &ds, real, host);
    backend_destroy(host);
    dataset_free(&ds);
    return st;
}
