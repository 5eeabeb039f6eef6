/* cmd_compare.c: `clmnist compare`: trains the host reference and the OpenCL device from the
 * same initial weights on the same batch sequence, step for step, and reports how far every
 * parameter tensor drifts apart, with both losses, accuracies and speeds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "commands.h"
#include "progress.h"
#include "preflight.h"
#include "timer.h"

static const cm_command_info compare_info = {
    "compare",
    CM_CMD_COMPARE,
    NULL,
    "Trains the host (C + OpenBLAS) and device (OpenCL) backends in lockstep from identical weights\n"
    "and batches; after step 1, step 100 and every epoch prints each tensor's max absolute difference\n"
    "and relative L2 difference ||dev - host|| / ||host||, both losses, accuracies and speeds, and\n"
    "closes each block with the worst relative L2 difference ('worst rel L2 diff').",
    NULL,
    NULL,
    NULL,
    0};

typedef struct {
    cm_backend *b;
    cm_trainer *t;
    float *params;
    double seconds; /* time spent in this backend's steps (device: including completion) */
} side;

/* Max |d - h| and the relative L2 norm of the difference, ||d - h|| / ||h|| (in double): the
 * element-wise relative difference is dominated by elements near zero and says little. */
static void diff_tensor(const float *h, const float *d, size_t n, double *max_abs, double *rel_l2) {
    double num = 0.0, den = 0.0;
    *max_abs = 0.0;
    for (size_t i = 0; i < n; i++) {
        double ad = fabs((double)d[i] - (double)h[i]);
        if (ad > *max_abs || isnan(ad)) *max_abs = ad;
        num += ad * ad;
        den += (double)h[i] * (double)h[i];
    }
    *rel_l2 = den > 0.0 ? sqrt(num / den) : sqrt(num);
}

static cm_status report(side s[2], const char *when, int64_t images, int epoch_end, const cm_dataset *ds) {
    const cm_layout *L = trainer_layout(s[0].t);
    for (int i = 0; i < 2; i++)
        CM_TRY(trainer_get_params(s[i].t, s[i].params));
    printf("\n== %s ==\n%-24s %14s %14s\n", when, "tensor", "max abs diff", "rel L2 diff");
    double worst = 0.0;
    cm_tensor tensors[CM_MAX_TENSORS];
    int nt = model_tensors(L, tensors);
    for (int i = 0; i < nt; i++) {
        double a, r;
        char name[48];
        snprintf(name, sizeof name, "layers.%d.%s", tensors[i].layer, tensors[i].name);
        diff_tensor(s[0].params + tensors[i].offset, s[1].params + tensors[i].offset, tensors[i].numel, &a, &r);
        printf("%-24s %14.3e %14.3e\n", name, a, r);
        worst = fmax(worst, r);
    }
    cm_stats st[2], ev[2];
    for (int i = 0; i < 2; i++)
        CM_TRY(trainer_train_stats(s[i].t, &st[i]));
    printf("%-24s %14s %14s\n", "", "host", "device");
    printf("%-24s %14.6f %14.6f\n", "train loss", st[0].loss, st[1].loss);
    printf("%-24s %13.2f%% %13.2f%%\n", "train accuracy", 100.0 * st[0].accuracy, 100.0 * st[1].accuracy);
    if (epoch_end) {
        for (int i = 0; i < 2; i++)
            CM_TRY(trainer_evaluate(s[i].t, &ds->test, &ev[i]));
        printf("%-24s %13.2f%% %13.2f%%\n", "test accuracy", 100.0 * ev[0].accuracy, 100.0 * ev[1].accuracy);
    }
    printf("%-24s %14.0f %14.0f\n", "images/s", (double)images / s[0].seconds, (double)images / s[1].seconds);
    printf("%-24s %14.3e\n", "worst rel L2 diff", worst);
    fflush(stdout);
    return CM_OK;
}

static cm_status run(const cm_train_args *a, side s[2], const cm_dataset *ds) {
    size_t align = CM_PARAM_ALIGN_BYTES;
    for (int i = 0; i < 2; i++)
        if (s[i].b->align_bytes > align) align = s[i].b->align_bytes;
    cm_model model;
    CM_TRY(run_init_model(a, ds, align, s[1].b, &model));
    cm_train_config cfg = run_train_config(a);
    cm_status st = CM_OK;
    for (int i = 0; i < 2 && st == CM_OK; i++) {
        st = trainer_create(s[i].b, ds, &model, &cfg, &s[i].t);
        if (st == CM_OK && !(s[i].params = malloc(sizeof(float) * model.layout.total)))
            st = cm_fail(CM_ERR_MEMORY, "out of host memory");
    }
    char arch[CM_ARCH_TEXT];
    model_describe(&model.layout, arch, sizeof arch);
    model_free(&model);
    CM_TRY(st);
    char recipe[512];
    run_describe_recipe(a, recipe, sizeof recipe);
    printf("compare: %s, %s, batch %d, seed %llu\n  host:   %s\n  device: %s\n", arch, recipe, a->batch,
           (unsigned long long)a->seed, s[0].b->device_name, s[1].b->device_name);
    int steps = trainer_steps_per_epoch(s[0].t);
    int64_t images = 0, global_step = 0;
    for (int e = 0; e < a->epochs; e++) {
        for (int i = 0; i < 2; i++)
            CM_TRY(trainer_begin_epoch(s[i].t, e));
        cm_progress bar;
        char label[32];
        snprintf(label, sizeof label, "epoch %d/%d", e + 1, a->epochs);
        progress_begin(&bar, stdout, label);
        for (int k = 0; k < steps; k++) {
            for (int i = 0; i < 2; i++) {
                double t0 = timer_now();
                CM_TRY(trainer_step(s[i].t));
                CM_TRY(backend_finish(s[i].b));
                s[i].seconds += timer_now() - t0;
            }
            int rows = ds->train.count - k * a->batch < a->batch ? ds->train.count - k * a->batch : a->batch;
            images += rows;
            global_step++;
            progress_update(&bar, k + 1, steps, "");
            if (global_step == 1 || global_step == 100) {
                progress_end(&bar);
                char when[64];
                snprintf(when, sizeof when, "after step %lld", (long long)global_step);
                CM_TRY(report(s, when, images, 0, ds));
            }
        }
        progress_end(&bar);
        char when[64];
        snprintf(when, sizeof when, "after epoch %d (step %lld)", e + 1, (long long)global_step);
        CM_TRY(report(s, when, images, 1, ds));
    }
    return CM_OK;
}

/* compare has no --backend to fall back on: without OpenCL it says what it is for. */
static cm_status need_device(const cm_train_args *a) {
    cm_backend_options bo = {.device = a->device};
    int platforms = 0, gpu;
    if (!a->device && backend_device_probe(&bo, &platforms, &gpu) == CM_OK && platforms == 0)
        return cm_fail(CM_ERR_DEVICE,
                       "compare trains on the OpenCL device and on the host backend side by side, and needs an "
                       "OpenCL device: none is installed (Debian: 'apt-get install ocl-icd-libopencl1 "
                       "pocl-opencl-icd' for the CPU, or ocl-icd-libopencl1 and your GPU vendor's OpenCL driver)");
    cm_clear_error();
    return preflight_backend("device", a->device, 0, NULL);
}

cm_status cmd_compare(int argc, char **argv) {
    cm_train_args a;
    int help;
    CM_TRY(cli_parse(argc, argv, &compare_info, &a, &help, NULL));
    if (help) return CM_OK;
    CM_TRY(need_device(&a)); /* before the data */
    cm_dataset ds;
    CM_TRY(run_load_data(&a, &ds));
    cm_backend_options bo = {.device = a.device, .threads = a.threads};
    side s[2] = {{0}, {0}};
    cm_status st = backend_create("host", &bo, &s[0].b);
    if (st == CM_OK) st = backend_create("device", &bo, &s[1].b);
    if (st == CM_OK) st = run(&a, s, &ds);
    for (int i = 0; i < 2; i++) {
        trainer_destroy(s[i].t);
        free(s[i].params);
        backend_destroy(s[i].b);
    }
    dataset_free(&ds);
    return st;
}
