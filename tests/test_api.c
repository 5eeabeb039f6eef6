/* test_api.c: the public API (include/clmnist/clmnist.h) on a small MLP and a synthetic IDX
 * dataset, both written here: its error path (bad options and paths, NULL handles, wrong pixel
 * counts, bad training options: an error status and a message naming the problem), what a model
 * describes, evaluate's confusion matrix against its accuracy, predict on pixels against predict
 * on an image file, four threads classifying with one model, and training: its events, a stop
 * from the observer, the model it returns; a run that reads its own data and saves its model
 * and report (its notes, the files), and one whose output file cannot be written (it fails
 * before any data is read). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* cmocka last */
#include <cmocka.h>

#include "clmnist/clmnist.h"
#include "dataset_source.h"
#include "model.h"
#include "model_io.h"

static char dir[256];

static const char *path_of(const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* The message of the last failure contains `part`. */
static void assert_error_names(const char *part) {
    if (!strstr(clmnist_last_error(), part)) fail_msg("error '%s' does not name '%s'", clmnist_last_error(), part);
}

/* A 28x28 -> 10 MLP with seeded weights, and 300 + 100 synthetic images as IDX files. */
static int group_setup(void **state) {
    snprintf(dir, sizeof dir, "/tmp/clmnist-test-api-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    cm_layer layers[CM_MAX_LAYERS];
    int n;
    cm_layout L;
    cm_model m;
    cm_meta meta = {0};
    cm_dataset ds;
    if (model_parse_arch("flatten-fc32-relu-fc10", layers, &n) != CM_OK) return -1;
    if (model_layout(&L, layers, n, (cm_shape){1, 28, 28, 0}, 10, CM_PARAM_ALIGN_BYTES) != CM_OK) return -1;
    if (model_init(&m, &L, 5) != CM_OK || meta_set(&meta, "train.batch", "64") != CM_OK) return -1;
    cm_status st = model_file_save(path_of("mlp.safetensors"), &L, m.params, 0, NULL, NULL, &meta);
    model_free(&m);
    if (st != CM_OK || dataset_synthetic(&ds, 300, 100, 28, 28, 10, 3) != CM_OK) return -1;
    st = dataset_write_idx(&ds, path_of("data"), 0);
    dataset_free(&ds);
    return st == CM_OK ? 0 : -1;
}

static int group_teardown(void **state) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static clmnist_ctx *open_host(void) {
    clmnist_ctx *ctx = NULL;
    if (clmnist_open("backend=host, threads=2", &ctx) != CLMNIST_OK) fail_msg("%s", clmnist_last_error());
    return ctx;
}

static clmnist_model *load_mlp(clmnist_ctx *ctx) {
    clmnist_model *m = NULL;
    if (clmnist_model_load(ctx, path_of("mlp.safetensors"), &m) != CLMNIST_OK) fail_msg("%s", clmnist_last_error());
    return m;
}

static void test_version(void **state) {
    assert_string_equal(clmnist_version(), CLMNIST_VERSION);
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", CLMNIST_VERSION_MAJOR, CLMNIST_VERSION_MINOR, CLMNIST_VERSION_PATCH);
    assert_string_equal(v, CLMNIST_VERSION);
}

static void test_open_options(void **state) {
    clmnist_ctx *ctx = (clmnist_ctx *)&ctx;
    assert_int_equal(clmnist_open("backend=host,color=blue", &ctx), CLMNIST_ERR_USAGE);
    assert_null(ctx);
    assert_error_names("'color'");
    assert_int_equal(clmnist_open("backend=gpu", &ctx), CLMNIST_ERR_USAGE);
    assert_error_names("'gpu'");
    assert_int_equal(clmnist_open("threads=lots", &ctx), CLMNIST_ERR_USAGE);
    assert_error_names("threads");
    assert_int_equal(clmnist_open("backend", &ctx), CLMNIST_ERR_USAGE);
    assert_error_names("key=value");
    assert_int_equal(clmnist_open(NULL, NULL), CLMNIST_ERR_USAGE);
    assert_int_equal(clmnist_open("backend=host;threads=1;", &ctx), CLMNIST_OK);
    assert_string_equal(clmnist_backend(ctx), "host");
    assert_non_null(strstr(clmnist_device_name(ctx), "host"));
    clmnist_close(ctx);
    assert_int_equal(clmnist_open(NULL, &ctx), CLMNIST_OK); /* auto: whichever this machine has */
    assert_true(!strcmp(clmnist_backend(ctx), "host") || !strcmp(clmnist_backend(ctx), "device"));
    clmnist_close(ctx);
}

static void test_null_handles(void **state) {
    clmnist_ctx *ctx = open_host();
    clmnist_model *m = (clmnist_model *)&m;
    int cls[1];
    unsigned char px[784] = {0};
    assert_int_equal(clmnist_model_load(NULL, path_of("mlp.safetensors"), &m), CLMNIST_ERR_USAGE);
    assert_null(m);
    assert_error_names("ctx is NULL");
    assert_int_equal(clmnist_model_load(ctx, NULL, &m), CLMNIST_ERR_USAGE);
    assert_error_names("path is NULL");
    assert_int_equal(clmnist_predict(NULL, px, sizeof px, 1, cls, NULL), CLMNIST_ERR_USAGE);
    assert_error_names("clmnist_predict: model is NULL");
    assert_int_equal(clmnist_model_save(NULL, path_of("x.safetensors")), CLMNIST_ERR_USAGE);
    assert_error_names("model is NULL");
    clmnist_eval_result r;
    assert_int_equal(clmnist_evaluate(NULL, NULL, &r), CLMNIST_ERR_USAGE);
    assert_null(r.confusion);
    clmnist_dataset *ds;
    assert_int_equal(clmnist_dataset_open(NULL, path_of("data"), NULL, &ds), CLMNIST_ERR_USAGE);
    assert_int_equal(clmnist_model_classes(NULL), 0);
    assert_null(clmnist_model_class_name(NULL, 0));
    assert_null(clmnist_model_meta(NULL, "dataset"));
    assert_int_equal(clmnist_dataset_count(NULL, CLMNIST_SPLIT_TEST), -1);
    clmnist_model_free(NULL);
    clmnist_dataset_free(NULL);
    clmnist_eval_result_free(NULL);
    clmnist_close(NULL);
    clmnist_close(ctx);
}

static void test_bad_paths(void **state) {
    clmnist_ctx *ctx = open_host();
    clmnist_model *m = NULL;
    clmnist_dataset *ds = NULL;
    assert_int_equal(clmnist_model_load(ctx, path_of("missing.safetensors"), &m), CLMNIST_ERR_IO);
    assert_null(m);
    assert_error_names("missing.safetensors");
    assert_int_equal(clmnist_dataset_open(ctx, path_of("nodata"), NULL, &ds), CLMNIST_ERR_IO);
    assert_null(ds);
    assert_error_names("nodata");
    m = load_mlp(ctx);
    assert_int_not_equal(clmnist_model_save(m, path_of("no/such/dir/m.safetensors")), CLMNIST_OK);
    assert_error_names("no/such/dir");
    unsigned char px[784];
    assert_int_equal(clmnist_image_load(m, path_of("nothing.png"), CLMNIST_INVERT_AUTO, px, NULL), CLMNIST_ERR_IO);
    assert_error_names("nothing.png");
    const char *files[2] = {path_of("mlp.safetensors"), path_of("absent.pgm")};
    int cls[2];
    assert_int_equal(clmnist_predict_files(m, files, 2, cls, NULL), CLMNIST_ERR_IO);
    assert_error_names("2 of 2 images could not be read");
    assert_error_names("mlp.safetensors"); /* the first bad file */
    assert_int_equal(cls[0], -1);
    assert_int_equal(cls[1], -1);
    clmnist_model_free(m);
    clmnist_close(ctx);
}

static void test_pixel_counts(void **state) {
    clmnist_ctx *ctx = open_host();
    clmnist_model *m = load_mlp(ctx);
    unsigned char px[3 * 784] = {0};
    int cls[3];
    assert_int_equal(clmnist_predict(m, px, 783, 1, cls, NULL), CLMNIST_ERR_USAGE);
    assert_error_names("783 pixels for 1 images");
    assert_error_names("1x28x28 = 784");
    assert_int_equal(clmnist_predict(m, px, 3 * 784, 2, cls, NULL), CLMNIST_ERR_USAGE);
    assert_error_names("(1568 in all)");
    assert_int_equal(clmnist_predict(m, px, 0, 0, cls, NULL), CLMNIST_ERR_USAGE);
    assert_error_names("n = 0");
    assert_int_equal(clmnist_predict(m, px, sizeof px, 3, cls, NULL), CLMNIST_OK);
    for (int i = 0; i < 3; i++)
        assert_true(cls[i] >= 0 && cls[i] < 10);
    clmnist_model_free(m);
    clmnist_close(ctx);
}

static void test_describe(void **state) {
    clmnist_ctx *ctx = open_host();
    clmnist_model *m = load_mlp(ctx);
    int c, h, w;
    assert_int_equal(clmnist_model_input(m, &c, &h, &w), CLMNIST_OK);
    assert_true(c == 1 && h == 28 && w == 28);
    assert_int_equal(clmnist_model_classes(m), 10);
    assert_string_equal(clmnist_model_class_name(m, 7), "7"); /* no names recorded: the numbers */
    assert_null(clmnist_model_class_name(m, 10));
    assert_int_equal(clmnist_model_layers(m), 4);
    assert_string_equal(clmnist_model_layer(m, 0), "flatten -> 784");
    assert_string_equal(clmnist_model_layer(m, 1), "linear 32 -> 32");
    assert_string_equal(clmnist_model_layer(m, 3), "linear 10 -> 10");
    assert_null(clmnist_model_layer(m, 4));
    assert_string_equal(clmnist_model_meta(m, "train.batch"), "64");
    assert_null(clmnist_model_meta(m, "no.such.key"));
    /* a save and a load keep the weights: the same answers */
    unsigned char px[784];
    for (int i = 0; i < 784; i++)
        px[i] = (unsigned char)(i * 7);
    float p1[10], p2[10];
    int c1, c2;
    clmnist_model *m2 = NULL;
    assert_int_equal(clmnist_model_save(m, path_of("copy.safetensors")), CLMNIST_OK);
    assert_int_equal(clmnist_model_load(ctx, path_of("copy.safetensors"), &m2), CLMNIST_OK);
    assert_int_equal(clmnist_predict(m, px, 784, 1, &c1, p1), CLMNIST_OK);
    assert_int_equal(clmnist_predict(m2, px, 784, 1, &c2, p2), CLMNIST_OK);
    assert_int_equal(c1, c2);
    assert_memory_equal(p1, p2, sizeof p1);
    clmnist_model_free(m2);
    clmnist_model_free(m);
    clmnist_close(ctx);
}

static void test_evaluate(void **state) {
    clmnist_ctx *ctx = open_host();
    clmnist_model *m = load_mlp(ctx);
    clmnist_dataset *ds = NULL;
    assert_int_equal(clmnist_dataset_open(ctx, path_of("data"), m, &ds), CLMNIST_OK);
    assert_int_equal(clmnist_dataset_count(ds, CLMNIST_SPLIT_TRAIN), 300);
    assert_int_equal(clmnist_dataset_count(ds, CLMNIST_SPLIT_TEST), 100);
    assert_int_equal(clmnist_dataset_count(ds, 2), -1);
    assert_int_equal(clmnist_dataset_classes(ds), 10);
    clmnist_eval_result r;
    assert_int_equal(clmnist_evaluate(m, ds, &r), CLMNIST_OK);
    assert_int_equal(r.count, 100);
    assert_int_equal(r.classes, 10);
    long long sum = 0, trace = 0;
    for (int t = 0; t < 10; t++)
        for (int p = 0; p < 10; p++) {
            sum += r.confusion[t * 10 + p];
            trace += t == p ? r.confusion[t * 10 + p] : 0;
        }
    assert_int_equal(sum, r.count);
    assert_int_equal(trace, r.correct);
    assert_true((double)trace / (double)r.count == r.accuracy);
    assert_true(r.loss > 0.0);
    for (long long i = 0; i < r.count; i++) {
        float total = 0.0f;
        for (int c = 0; c < 10; c++)
            total += r.probabilities[i * 10 + c];
        assert_true(total > 0.999f && total < 1.001f);
        assert_true(r.predicted[i] >= 0 && r.predicted[i] < 10);
    }
    clmnist_eval_result_free(&r);
    assert_null(r.confusion);
    clmnist_dataset_free(ds);
    clmnist_model_free(m);
    clmnist_close(ctx);
}

/* A binary PGM of a bright bar on black: a digit-like image for the MNIST preprocessing. */
static void write_pgm(const char *path) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fprintf(f, "P5\n40 32\n255\n");
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 40; x++)
            fputc(x >= 18 && x < 23 && y >= 4 && y < 28 ? 250 - y : 0, f);
    fclose(f);
}

static void test_pixels_equal_file(void **state) {
    clmnist_ctx *ctx = open_host();
    clmnist_model *m = load_mlp(ctx);
    const char *file = path_of("bar.pgm");
    write_pgm(file);
    unsigned char px[784];
    int inverted = -1, c1, c2;
    float p1[10], p2[10];
    assert_int_equal(clmnist_image_load(m, file, CLMNIST_INVERT_AUTO, px, &inverted), CLMNIST_OK);
    assert_int_equal(inverted, 0); /* white on black already */
    assert_int_equal(clmnist_predict(m, px, sizeof px, 1, &c1, p1), CLMNIST_OK);
    assert_int_equal(clmnist_predict_files(m, &file, 1, &c2, p2), CLMNIST_OK);
    assert_int_equal(c1, c2);
    assert_memory_equal(p1, p2, sizeof p1);
    assert_int_equal(clmnist_image_load(m, file, 7, px, NULL), CLMNIST_ERR_USAGE);
    assert_error_names("invert 7");
    clmnist_model_free(m);
    clmnist_close(ctx);
}

/* Four threads classify with one model of two contexts: each gets the answers of a lone call. */
typedef struct {
    clmnist_model *m;
    const unsigned char *px;
    const int *want;
    int mismatches;
} predict_job;

static void *predict_many(void *arg) {
    predict_job *j = arg;
    for (int r = 0; r < 20; r++) {
        int got[8];
        if (clmnist_predict(j->m, j->px, 8 * 784, 8, got, NULL) != CLMNIST_OK || memcmp(got, j->want, sizeof got))
            j->mismatches++;
    }
    return NULL;
}

static void test_concurrent_predict(void **state) {
    clmnist_ctx *ctx = NULL;
    assert_int_equal(clmnist_open("backend=host,threads=1,contexts=2", &ctx), CLMNIST_OK);
    clmnist_model *m = load_mlp(ctx);
    unsigned char px[8 * 784];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (unsigned char)((i * 2654435761u) >> 24);
    int want[8];
    assert_int_equal(clmnist_predict(m, px, sizeof px, 8, want, NULL), CLMNIST_OK);
    pthread_t th[4];
    predict_job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (predict_job){.m = m, .px = px, .want = want};
        assert_int_equal(pthread_create(&th[i], NULL, predict_many, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(jobs[i].mismatches, 0);
    }
    clmnist_model_free(m);
    clmnist_close(ctx);
}

static void test_train_options(void **state) {
    clmnist_train_options *o = NULL;
    assert_int_equal(clmnist_train_options_new(&o), CLMNIST_OK);
    assert_int_equal(clmnist_train_options_set(o, "lr", "fast"), CLMNIST_ERR_USAGE);
    assert_error_names("--lr");
    assert_int_equal(clmnist_train_options_set(o, "colour", "red"), CLMNIST_ERR_USAGE);
    assert_error_names("'colour'");
    assert_int_equal(clmnist_train_options_set(o, "backend", "host"), CLMNIST_ERR_USAGE);
    assert_error_names("clmnist_open");
    assert_int_equal(clmnist_train_options_set(o, "checkpoint-every", "0"), CLMNIST_ERR_USAGE);
    assert_error_names("--checkpoint-every");
    assert_int_equal(clmnist_train_options_set(o, "serve", "70000"), CLMNIST_ERR_USAGE);
    assert_error_names("--serve");
    assert_int_equal(clmnist_train_options_set(o, "no-hint", "maybe"), CLMNIST_ERR_USAGE);
    assert_error_names("--no-hint");
    assert_int_equal(clmnist_train_options_set(o, "preset", "huge"), CLMNIST_ERR_USAGE);
    assert_error_names("'huge'");
    assert_int_equal(clmnist_train_options_set(NULL, "lr", "0.1"), CLMNIST_ERR_USAGE);
    assert_int_equal(clmnist_train_options_set(o, "lr", NULL), CLMNIST_ERR_USAGE);
    assert_int_equal(clmnist_train_options_set(o, "lr", "0.1"), CLMNIST_OK);
    assert_int_equal(clmnist_train_options_set(o, "lr", "0.05"), CLMNIST_OK); /* replaces */
    assert_int_equal(clmnist_train_options_set(o, "patience", "2"), CLMNIST_OK);
    clmnist_ctx *ctx = open_host();
    clmnist_dataset *ds = NULL;
    clmnist_model *m = (clmnist_model *)&m;
    assert_int_equal(clmnist_dataset_open(ctx, path_of("data"), NULL, &ds), CLMNIST_OK);
    assert_int_equal(clmnist_train(ctx, ds, o, NULL, NULL, &m), CLMNIST_ERR_USAGE); /* patience without val */
    assert_null(m);
    assert_error_names("val");
    assert_int_equal(clmnist_train_options_set(o, "patience", "0"), CLMNIST_ERR_USAGE);
    /* how data is read is the dataset handle's when there is one */
    clmnist_train_options_free(o);
    assert_int_equal(clmnist_train_options_new(&o), CLMNIST_OK);
    assert_int_equal(clmnist_train_options_set(o, "image-size", "32"), CLMNIST_OK);
    assert_int_equal(clmnist_train(ctx, ds, o, NULL, NULL, &m), CLMNIST_ERR_USAGE);
    assert_error_names("clmnist_dataset_open");
    /* the run's file options are checked together, before the work */
    assert_int_equal(clmnist_train_options_set(o, "resume", "a.safetensors"), CLMNIST_OK);
    assert_int_equal(clmnist_train_options_set(o, "init", "b.safetensors"), CLMNIST_OK);
    assert_int_equal(clmnist_train(ctx, NULL, o, NULL, NULL, &m), CLMNIST_ERR_USAGE);
    assert_error_names("--resume and --init");
    assert_int_equal(clmnist_train(NULL, ds, o, NULL, NULL, &m), CLMNIST_ERR_USAGE);
    assert_error_names("ctx is NULL");
    clmnist_train_options_free(o);
    clmnist_dataset_free(ds);
    clmnist_close(ctx);
}

typedef struct {
    int steps, epochs, stop_at_epoch;
    double last_eval;
} events;

static int count_events(void *user, const clmnist_train_event *ev) {
    events *e = user;
    if (ev->kind != CLMNIST_EVENT_STEP && ev->kind != CLMNIST_EVENT_EPOCH) return 0;
    assert_true(ev->epoch >= 1 && ev->epoch <= ev->epochs);
    assert_true(ev->step >= 1 && ev->step <= ev->steps);
    assert_true(ev->loss > 0.0 && ev->accuracy >= 0.0 && ev->accuracy <= 1.0 && ev->lr > 0.0);
    if (ev->kind == CLMNIST_EVENT_STEP) e->steps++;
    if (ev->kind == CLMNIST_EVENT_EPOCH) e->epochs++, e->last_eval = ev->eval_accuracy;
    return e->stop_at_epoch && e->epochs == e->stop_at_epoch;
}

static void test_train(void **state) {
    clmnist_ctx *ctx = open_host();
    clmnist_dataset *ds = NULL;
    clmnist_train_options *o = NULL;
    clmnist_model *m = NULL;
    assert_int_equal(clmnist_dataset_open(ctx, path_of("data"), NULL, &ds), CLMNIST_OK);
    assert_int_equal(clmnist_train_options_new(&o), CLMNIST_OK);
    assert_int_equal(clmnist_train_options_set(o, "arch", "conv4k3p1-relu-pool2-flatten-fc10"), CLMNIST_OK);
    assert_int_equal(clmnist_train_options_set(o, "epochs", "3"), CLMNIST_OK);
    assert_int_equal(clmnist_train_options_set(o, "batch", "50"), CLMNIST_OK);
    events e = {0};
    assert_int_equal(clmnist_train(ctx, ds, o, count_events, &e, &m), CLMNIST_OK);
    assert_int_equal(e.epochs, 3);
    assert_true(e.steps >= 3); /* at least each epoch's last step */
    assert_int_equal(clmnist_model_layers(m), 5);
    assert_string_equal(clmnist_model_layer(m, 0), "conv 4 3x3 pad 1 -> 4x28x28");
    assert_string_equal(clmnist_model_meta(m, "train.epochs"), "3");
    assert_string_equal(clmnist_model_meta(m, "dataset"), "data");
    /* the model it returns is the one it evaluated, and saves and loads as such */
    clmnist_eval_result r;
    assert_int_equal(clmnist_evaluate(m, ds, &r), CLMNIST_OK);
    char acc[32];
    snprintf(acc, sizeof acc, "%.6f", r.accuracy);
    assert_string_equal(clmnist_model_meta(m, "test_accuracy"), acc);
    assert_true(r.accuracy == e.last_eval);
    clmnist_eval_result_free(&r);
    assert_int_equal(clmnist_model_save(m, path_of("trained.safetensors")), CLMNIST_OK);
    clmnist_model_free(m);
    /* the observer stops the run after the first epoch: a model all the same */
    events stop = {.stop_at_epoch = 1};
    assert_int_equal(clmnist_train(ctx, ds, o, count_events, &stop, &m), CLMNIST_OK);
    assert_int_equal(stop.epochs, 1);
    assert_non_null(m);
    clmnist_model_free(m);
    clmnist_train_options_free(o);
    clmnist_dataset_free(ds);
    clmnist_close(ctx);
}

/* The notes of a run, one per line. */
typedef struct {
    char text[8192];
    int epochs;
} notes;

static int keep_notes(void *user, const clmnist_train_event *ev) {
    notes *n = user;
    if (ev->kind == CLMNIST_EVENT_EPOCH) {
        n->epochs++;
        assert_string_equal(ev->eval_name, "val");
        assert_true(ev->seconds > 0.0);
    }
    if (ev->kind == CLMNIST_EVENT_NOTE) {
        assert_non_null(ev->text);
        assert_null(strchr(ev->text, '\n'));
        size_t len = strlen(n->text);
        snprintf(n->text + len, sizeof n->text - len, "%s\n", ev->text);
    }
    return 0;
}

/* A run with no dataset reads the data its options name; out and report write their files, and
 * every line of the run arrives as a note. */
static void test_train_files(void **state) {
    clmnist_ctx *ctx = open_host();
    clmnist_train_options *o = NULL;
    clmnist_model *m = NULL;
    char out[512], report[512], expect[600];
    snprintf(out, sizeof out, "%s", path_of("files.safetensors"));
    snprintf(report, sizeof report, "%s", path_of("report"));
    assert_int_equal(clmnist_train_options_new(&o), CLMNIST_OK);
    assert_int_equal(clmnist_train_options_set(o, "data", path_of("data")), CLMNIST_OK);
    assert_int_equal(clmnist_train_options_set(o, "layers", "16"), CLMNIST_OK);
    assert_int_equal(clmnist_train_options_set(o, "epochs", "2"), CLMNIST_OK);
    assert_int_equal(clmnist_train_options_set(o, "val", "50"), CLMNIST_OK);
    assert_int_equal(clmnist_train_options_set(o, "out", out), CLMNIST_OK);
    assert_int_equal(clmnist_train_options_set(o, "report", report), CLMNIST_OK);
    notes n = {{0}, 0};
    assert_int_equal(clmnist_train(ctx, NULL, o, keep_notes, &n, &m), CLMNIST_OK);
    assert_int_equal(n.epochs, 2);
    snprintf(expect, sizeof expect, "data: %s: 250 training, 50 validation images of 28x28, 10 classes",
             path_of("data"));
    assert_non_null(strstr(n.text, expect));
    assert_non_null(strstr(n.text, "\nbackend: host: "));
    assert_non_null(strstr(n.text, "\nmodel: flatten-fc16-relu-fc10 "));
    snprintf(expect, sizeof expect, "\nmodel: saved to %s\n", out);
    assert_non_null(strstr(n.text, expect));
    assert_non_null(strstr(n.text, "\ndone: "));
    /* the saved model is the returned one, evaluated on the held-out test split */
    clmnist_model *saved = NULL;
    assert_int_equal(clmnist_model_load(ctx, out, &saved), CLMNIST_OK);
    assert_string_equal(clmnist_model_meta(saved, "test_accuracy"), clmnist_model_meta(m, "test_accuracy"));
    snprintf(expect, sizeof expect, "%s/report.html", report);
    assert_int_equal(access(expect, R_OK), 0);
    snprintf(expect, sizeof expect, "%s/metrics.jsonl", report);
    assert_int_equal(access(expect, R_OK), 0);
    clmnist_model_free(saved);
    clmnist_model_free(m);
    /* an output file that cannot be written fails before the data is read: no note at all */
    n = (notes){{0}, 0};
    assert_int_equal(clmnist_train_options_set(o, "out", path_of("missing/m.safetensors")), CLMNIST_OK);
    assert_int_equal(clmnist_train(ctx, NULL, o, keep_notes, &n, &m), CLMNIST_ERR_IO);
    assert_error_names("missing' does not exist");
    assert_null(m);
    assert_string_equal(n.text, "");
    clmnist_train_options_free(o);
    clmnist_close(ctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),       cmocka_unit_test(test_open_options),
        cmocka_unit_test(test_null_handles),  cmocka_unit_test(test_bad_paths),
        cmocka_unit_test(test_pixel_counts),  cmocka_unit_test(test_describe),
        cmocka_unit_test(test_evaluate),      cmocka_unit_test(test_pixels_equal_file),
        cmocka_unit_test(test_train_options), cmocka_unit_test(test_concurrent_predict),
        cmocka_unit_test(test_train),         cmocka_unit_test(test_train_files),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
