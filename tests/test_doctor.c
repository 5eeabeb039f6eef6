/* test_doctor.c: the library parts of `clmnist doctor` and of train's speed hint:
 *  - trainer_memory_estimate equals, byte for byte, what trainer_create then allocates (the
 *    backend's own accounting) for MLPs and a CNN, every optimizer-state count and both feeds;
 *  - the hint's decision (ratio, threshold, invalid times) and the agreement test (tolerances,
 *    NaN) on chosen numbers; diag_speed_probe times the steps it was asked to, within its budget;
 *  - backend_gemm_agreement: 0 between two host backends, the injected error of a GEMM that is
 *    off by a known factor, NaN from one that returns NaN, under 1e-5 for CLBlast on the device;
 *  - diag_train_agreement: bitwise equal between two host backends, a failed check when one GEMM is
 *    1% off, within doctor's tolerances between host and device;
 *  - dataset_synthetic: deterministic, every class's band brighter than the rest;
 *  - cl_icd_files on a folder of ICD files, one file and a missing folder; cl_check_program names
 *    a source file that does not build and returns its log, and a kernel that is missing.
 * The device parts run when an OpenCL device exists. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cl_check.h"
#include "train_check.h"
#include "synth.h"

static cm_backend *host, *dev; /* dev: NULL without an OpenCL device */

static cm_status make_model(const char *arch, const cm_dataset *ds, cm_model *m) {
    cm_layer layers[CM_MAX_LAYERS];
    int n;
    cm_layout L;
    CM_TRY(model_parse_arch(arch, layers, &n));
    cm_shape in = {1, ds->train.rows, ds->train.cols, 0};
    CM_TRY(model_layout(&L, layers, n, in, ds->classes, CM_PARAM_ALIGN_BYTES));
    return model_init(m, &L, 5);
}

static cm_train_config config(cm_optimizer opt, float momentum, int batch, cm_feed_mode feed) {
    cm_train_config c = {.batch = batch,
                         .optimizer = opt,
                         .lr = 0.05f,
                         .momentum = momentum,
                         .beta1 = 0.9f,
                         .beta2 = 0.999f,
                         .eps = 1e-8f,
                         .epochs = 1,
                         .seed = 3,
                         .feed = feed};
    return c;
}

static void check_estimate(cm_backend *b, const char *arch, const cm_dataset *ds, cm_train_config cfg) {
    cm_model m;
    assert_int_equal(make_model(arch, ds, &m), CM_OK);
    size_t before = b->bytes_in_use;
    cm_trainer *t;
    assert_int_equal(trainer_create(b, ds, &m, &cfg, &t), CM_OK);
    size_t used = b->bytes_in_use - before;
    cm_train_memory est = trainer_memory_estimate(&m.layout, &cfg, &ds->train, trainer_is_resident(t));
    printf("%s %s batch %d %s: estimate %zu + %zu + %zu, allocated %zu bytes\n", b->kind, arch, cfg.batch,
           trainer_is_resident(t) ? "resident" : "streamed", est.params, est.activations, est.data, used);
    assert_int_equal(est.params + est.activations + est.data, used);
    assert_int_equal(trainer_is_resident(t), trainer_feed_resident(b, &ds->train, cfg.feed));
    assert_true(est.largest >= sizeof(float) * m.layout.total && est.largest <= used);
    assert_true(trainer_is_resident(t) ? est.data > est.largest / 2 : est.data == 0);
    trainer_destroy(t);
    assert_int_equal(b->bytes_in_use, before);
    model_free(&m);
}

static void test_memory_estimate(void **state) {
    cm_dataset ds;
    synth_dataset(&ds, 3000, 50, 16, 16, 10, 1);
    const char *archs[] = {"flatten-fc32-relu-fc10", "flatten-fc40-relu-drop0.2-fc24-bn-relu-fc10",
                           "conv5k3s2p1-bn-relu-pool3s2-conv4k3-relu-flatten-fc7-bn-relu-drop0.2-fc10"};
    cm_backend *bs[2] = {host, dev};
    for (int bi = 0; bi < 2 && bs[bi]; bi++)
        for (int a = 0; a < 3; a++) {
            check_estimate(bs[bi], archs[a], &ds, config(CM_OPT_SGD, 0.0f, 33, CM_FEED_RESIDENT));
            check_estimate(bs[bi], archs[a], &ds, config(CM_OPT_NESTEROV, 0.9f, 64, CM_FEED_STREAMED));
            check_estimate(bs[bi], archs[a], &ds, config(CM_OPT_ADAMW, 0.0f, 7, CM_FEED_AUTO));
        }
    dataset_free(&ds);
}

static void test_hint_decision(void **state) {
    double r;
    assert_true(diag_hint_host_faster(0.010, 0.038, CM_HINT_THRESHOLD, &r));
    assert_float_equal(r, 3.8, 1e-12);
    assert_true(diag_hint_host_faster(1.0, 1.2, 1.2, &r)); /* the threshold itself counts */
    assert_false(diag_hint_host_faster(0.010, 0.011, CM_HINT_THRESHOLD, &r));
    assert_float_equal(r, 1.1, 1e-12);
    assert_false(diag_hint_host_faster(0.020, 0.010, CM_HINT_THRESHOLD, &r)); /* the device is faster */
    assert_float_equal(r, 0.5, 1e-12);
    const double bad[][2] = {{0.0, 1.0}, {1.0, 0.0}, {-1.0, 5.0}, {NAN, 1.0}, {1.0, NAN}, {1.0, INFINITY}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = 7.0;
        assert_false(diag_hint_host_faster(bad[i][0], bad[i][1], CM_HINT_THRESHOLD, &r));
        assert_true(r == 0.0);
    }
}

static void test_agreement_within(void **state) {
    cm_agreement a = {.loss = {0.5, 0.50009}, .param_rel_l2 = 9e-5};
    assert_true(diag_agreement_within(&a, 1e-4, 1e-4));
    a.loss[1] = 0.50011;
    assert_false(diag_agreement_within(&a, 1e-4, 1e-4));
    a = (cm_agreement){.loss = {3.0, 3.00029}, .param_rel_l2 = 0.0}; /* relative to the loss above 1 */
    assert_true(diag_agreement_within(&a, 1e-4, 1e-4));
    a.loss[1] = 3.00031;
    assert_false(diag_agreement_within(&a, 1e-4, 1e-4));
    a = (cm_agreement){.loss = {0.5, 0.5}, .param_rel_l2 = 1.1e-4};
    assert_false(diag_agreement_within(&a, 1e-4, 1e-4));
    a.param_rel_l2 = NAN;
    assert_false(diag_agreement_within(&a, 1e-4, 1e-4));
    a = (cm_agreement){.loss = {0.5, NAN}};
    assert_false(diag_agreement_within(&a, 1e-4, 1e-4));
}

/* A host backend whose GEMM scales alpha by (1 + gemm_error), or returns NaN when it is NaN. */
static cm_backend_ops off_ops;
static double gemm_error;
static cm_status off_gemm(cm_backend *b, bool ta, bool tb, int m, int n, int k, float alpha, cm_buf *a, int lda,
                          cm_buf *bm, int ldb, float beta, cm_buf *c, int ldc) {
    return host->ops->gemm(b, ta, tb, m, n, k, (float)(alpha * (1.0 + gemm_error)), a, lda, bm, ldb, beta, c, ldc);
}
static cm_backend *off_backend(double error) {
    cm_backend *b;
    assert_int_equal(backend_host_create(NULL, &b), CM_OK);
    off_ops = *b->ops;
    off_ops.gemm = off_gemm;
    b->ops = &off_ops;
    gemm_error = error;
    return b;
}

static void test_gemm_agreement(void **state) {
    double e = -1.0;
    cm_backend *same = off_backend(0.0);
    assert_int_equal(backend_gemm_agreement(host, same, 37, 21, 50, 1, &e), CM_OK);
    assert_true(e == 0.0);
    backend_destroy(same);
    /* C = 0.75 AB - 0.5 C0: scaling alpha by 1 + 1e-3 moves C by 1e-3 of its AB part, so the
     * relative error lies between 0 and 1e-3 and, with k = 50, well above 1e-5 */
    cm_backend *off = off_backend(1e-3);
    assert_int_equal(backend_gemm_agreement(host, off, 37, 21, 50, 1, &e), CM_OK);
    printf("GEMM with alpha 0.1%% off: relative L2 %.3g\n", e);
    assert_true(e > 5e-4 && e < 1.1e-3);
    gemm_error = NAN;
    assert_int_equal(backend_gemm_agreement(host, off, 5, 6, 7, 1, &e), CM_OK);
    assert_true(isnan(e));
    backend_destroy(off);
    if (!dev) return;
    assert_int_equal(backend_gemm_agreement(host, dev, 128, 512, 784, 7, &e), CM_OK);
    printf("device GEMM 128x512x784: relative L2 %.3g\n", e);
    assert_true(e < 1e-5);
}

static void test_train_agreement(void **state) {
    cm_dataset ds;
    synth_dataset(&ds, 400, 100, 12, 12, 10, 2);
    cm_model m;
    assert_int_equal(make_model("flatten-fc32-relu-fc10", &ds, &m), CM_OK);
    cm_train_config cfg = config(CM_OPT_SGD, 0.9f, 64, CM_FEED_AUTO);
    cm_agreement g;
    cm_backend *other = off_backend(0.0), *b[2] = {host, other};
    assert_int_equal(diag_train_agreement(b, &ds, &m, &cfg, 9, &g), CM_OK); /* 7 steps per epoch: two epochs */
    assert_int_equal(g.steps, 9);
    assert_true(g.param_rel_l2 == 0.0 && g.loss[0] == g.loss[1] && g.loss[0] > 0.0);
    gemm_error = 1e-2;
    assert_int_equal(diag_train_agreement(b, &ds, &m, &cfg, 9, &g), CM_OK);
    printf("GEMM 1%% off: parameters %.3g relative L2, losses %.6f %.6f\n", g.param_rel_l2, g.loss[0], g.loss[1]);
    assert_true(g.param_rel_l2 > 1e-3 && g.param_rel_l2 < 1e-1); /* measured 5.3e-3 */
    assert_true(fabs(g.loss[1] - g.loss[0]) > 1e-4);
    assert_false(diag_agreement_within(&g, 1e-4, 1e-4));
    backend_destroy(other);
    if (dev) {
        b[1] = dev;
        assert_int_equal(diag_train_agreement(b, &ds, &m, &cfg, 9, &g), CM_OK);
        printf("host vs device: parameters %.3g relative L2, losses %.6f %.6f\n", g.param_rel_l2, g.loss[0], g.loss[1]);
        assert_true(diag_agreement_within(&g, 1e-4, 1e-4));
    }
    model_free(&m);
    dataset_free(&ds);
}

static void test_probe(void **state) {
    cm_dataset ds;
    synth_dataset(&ds, 100, 20, 12, 12, 10, 4); /* 2 batches of 64: the probe runs over epochs */
    cm_model m;
    assert_int_equal(make_model("flatten-fc16-relu-fc10", &ds, &m), CM_OK);
    cm_train_config cfg = config(CM_OPT_SGD, 0.0f, 64, CM_FEED_AUTO);
    double s[2];
    int timed;
    cm_backend *other = off_backend(0.0), *b[2] = {host, other};
    size_t before = host->bytes_in_use;
    assert_int_equal(diag_speed_probe(b, &ds, &m, &cfg, 2, 5, 10.0, s, &timed), CM_OK);
    assert_int_equal(timed, 5);
    assert_true(s[0] > 0.0 && s[0] < 1.0 && s[1] > 0.0 && s[1] < 1.0);
    assert_int_equal(diag_speed_probe(b, &ds, &m, &cfg, 1, 5, 0.0, s, &timed), CM_OK); /* no budget: one step */
    assert_int_equal(timed, 1);
    assert_int_equal(diag_speed_probe(b, &ds, &m, &cfg, 0, 1000, 10.0, s, &timed), CM_OK);
    assert_int_equal(timed, CM_PROBE_MAX_STEPS);
    assert_int_equal(host->bytes_in_use, before); /* throwaway trainers */
    assert_int_equal(other->bytes_in_use, 0);
    backend_destroy(other);
    model_free(&m);
    dataset_free(&ds);
}

static void test_synthetic(void **state) {
    cm_dataset a, b;
    assert_int_equal(dataset_synthetic(&a, 50, 20, 28, 28, 10, 9), CM_OK);
    assert_int_equal(dataset_synthetic(&b, 50, 20, 28, 28, 10, 9), CM_OK);
    assert_memory_equal(a.train.images, b.train.images, 50 * 784);
    assert_memory_equal(a.test.labels, b.test.labels, 20);
    assert_int_equal(a.classes, 10);
    assert_string_equal(a.name, "synthetic");
    for (int i = 0; i < 50; i++) {
        int c = a.train.labels[i], lo = c * 28 / 10, hi = (c + 1) * 28 / 10;
        assert_int_equal(c, i % 10);
        for (int p = 0; p < 784; p++) {
            int in_band = p / 28 >= lo && p / 28 < hi, v = a.train.images[i * 784 + p];
            assert_true(in_band ? v >= 160 : v < 64);
        }
    }
    dataset_free(&a);
    dataset_free(&b);
    assert_int_equal(dataset_synthetic(&a, 0, 20, 28, 28, 10, 9), CM_ERR_USAGE);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_icd_files(void **state) {
    char dir[] = "/tmp/clmnist_icd_XXXXXX", path[256], where[512], names[4][300];
    assert_non_null(mkdtemp(dir));
    const char *files[3][2] = {{"b.icd", "libb.so.1\n"}, {"a.icd", "/opt/a/liba.so"}, {"notes.txt", "x"}};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i][0]);
        write_file(path, files[i][1]);
    }
    setenv("OCL_ICD_VENDORS", dir, 1);
    assert_int_equal(cl_icd_files(where, sizeof where, names, 4), 2);
    assert_non_null(strstr(where, dir));
    assert_non_null(strstr(where, "$OCL_ICD_VENDORS"));
    assert_string_equal(names[0], "a.icd (/opt/a/liba.so)");
    assert_string_equal(names[1], "b.icd (libb.so.1)");
    assert_int_equal(cl_icd_files(where, sizeof where, names, 1), 2); /* counted past max */
    snprintf(path, sizeof path, "%s/b.icd", dir);
    setenv("OCL_ICD_VENDORS", path, 1); /* one file */
    assert_int_equal(cl_icd_files(where, sizeof where, names, 4), 1);
    assert_string_equal(names[0], "b.icd (libb.so.1)");
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i][0]);
        unlink(path);
    }
    assert_int_equal(rmdir(dir), 0);
    setenv("OCL_ICD_VENDORS", dir, 1); /* gone */
    assert_int_equal(cl_icd_files(where, sizeof where, names, 4), -1);
    unsetenv("OCL_ICD_VENDORS");
    cl_icd_files(where, sizeof where, names, 4);
    assert_string_equal(where, CL_ICD_DEFAULT_DIR);
}

static void test_kernel_check(void **state) {
    if (!dev) return;
    cl_device_desc d;
    assert_int_equal(cl_select_device(NULL, 0, &d), CM_OK);
    int created;
    char *log;
    assert_int_equal(cl_check_kernels(&d, &created, &log), CM_OK);
    assert_true(created > 20 && log == NULL);
    const char *bad = "__kernel void kernel_broken(__global float *x) { x[0] = undefined_symbol_xyz; }";
    cm_kernel_source srcs[3] = {cm_kernel_sources[0], cm_kernel_sources[2], {"nn/broken.cl", bad, strlen(bad)}};
    assert_int_equal(cl_check_program(&d, srcs, 3, NULL, 0, &created, &log), CM_ERR_DEVICE);
    printf("broken: %s\n", cm_last_error());
    assert_non_null(strstr(cm_last_error(), "kernels/nn/broken.cl does not build for"));
    assert_non_null(log);
    assert_non_null(strstr(log, "undefined_symbol_xyz"));
    free(log);
    const char *names[2] = {"kernel_relu", "kernel_not_there"};
    cm_kernel_source ok[2] = {cm_kernel_sources[0], cm_kernel_sources[2]};
    assert_int_equal(cl_check_program(&d, ok, 2, names, 2, &created, &log), CM_ERR_DEVICE);
    assert_non_null(strstr(cm_last_error(), "kernel 'kernel_not_there' is missing"));
    assert_int_equal(created, 1);
    free(log);
}

static int setup(void **state) {
    cl_device_desc *list;
    int n;
    if (backend_host_create(NULL, &host) != CM_OK) return -1;
    if (cl_list_devices(&list, &n) != CM_OK) {
        printf("no OpenCL device (%s): the device parts are skipped\n", cm_last_error());
        return 0;
    }
    free(list);
    return backend_device_create(NULL, &dev) == CM_OK ? 0 : -1;
}

static int teardown(void **state) {
    backend_destroy(dev);
    backend_destroy(host);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_estimate),  cmocka_unit_test(test_hint_decision),
        cmocka_unit_test(test_agreement_within), cmocka_unit_test(test_gemm_agreement),
        cmocka_unit_test(test_train_agreement),  cmocka_unit_test(test_probe),
        cmocka_unit_test(test_synthetic),        cmocka_unit_test(test_icd_files),
        cmocka_unit_test(test_kernel_check),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
