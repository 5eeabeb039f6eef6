/* api_predict.c: classification through the public API: pixels, image files, a test split. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "image.h"
#include "image_rgb.h"

/* The model's input: channels * height * width pixels. */
static size_t input_size(const clmnist_model *m) {
    return shape_numel(api_model_file(m)->model.layout.input);
}

/* pred and probs (n, classes) of n images; probs NULL: a scratch array. */
static cm_status run_images(clmnist_model *m, const uint8_t *pixels, int n, int32_t *pred, float *probs) {
    const cm_layout *L = &api_model_file(m)->model.layout;
    uint8_t *labels = calloc((size_t)n, 1);
    float *scratch = probs ? NULL : malloc(sizeof(float) * (size_t)n * (size_t)L->classes);
    cm_split split = {.count = n,
                      .rows = L->input.h,
                      .cols = L->input.w,
                      .dim = (int32_t)shape_numel(L->input),
                      .images = (uint8_t *)pixels,
                      .labels = labels,
                      .borrowed = 1};
    cm_status st = labels && (probs || scratch)
                       ? predictor_run(api_model_predictor(m), &split, pred, probs ? probs : scratch, NULL)
                       : cm_fail(CM_ERR_MEMORY, "out of host memory");
    free(labels);
    free(scratch);
    return st;
}

/* int32_t results into the caller's int array (the same type on every platform clmnist builds
 * for; copied anyway, so that the API does not depend on it). */
static cm_status predict_into(clmnist_model *m, const uint8_t *pixels, int n, int *classes_out, float *probs_out) {
    int32_t *pred = malloc(sizeof(int32_t) * (size_t)n);
    cm_status st = pred ? run_images(m, pixels, n, pred, probs_out) : cm_fail(CM_ERR_MEMORY, "out of host memory");
    for (int i = 0; st == CM_OK && i < n; i++)
        classes_out[i] = pred[i];
    free(pred);
    return st;
}

int clmnist_predict(clmnist_model *model, const unsigned char *pixels, size_t npixels, int n, int *classes_out,
                    float *probs_out) {
    if (!model) return api_null("clmnist_predict", "model");
    if (!pixels) return api_null("clmnist_predict", "pixels");
    if (!classes_out) return api_null("clmnist_predict", "classes_out");
    if (n < 1) return cm_fail(CM_ERR_USAGE, "clmnist_predict: n = %d images: expected at least 1", n);
    const cm_shape in = api_model_file(model)->model.layout.input;
    size_t dim = input_size(model);
    if (npixels != (size_t)n * dim)
        return cm_fail(CM_ERR_USAGE,
                       "clmnist_predict: %zu pixels for %d images; the model takes %dx%dx%d = %zu pixels per image "
                       "(%zu in all)",
                       npixels, n, in.c, in.h, in.w, dim, (size_t)n * dim);
    return predict_into(model, pixels, n, classes_out, probs_out);
}

int clmnist_image_load(const clmnist_model *model, const char *path, int invert, unsigned char *pixels, int *inverted) {
    if (!model) return api_null("clmnist_image_load", "model");
    if (!path) return api_null("clmnist_image_load", "path");
    if (!pixels) return api_null("clmnist_image_load", "pixels");
    if (invert < CLMNIST_INVERT_AUTO || invert > CLMNIST_INVERT_NO)
        return cm_fail(CM_ERR_USAGE, "clmnist_image_load: invert %d: expected CLMNIST_INVERT_AUTO, _YES or _NO",
                       invert);
    const cm_model_file *f = api_model_file(model);
    const cm_shape in = f->model.layout.input;
    if (in.c == 3) { /* a colour model: a plain resize of each plane, never inverted */
        if (inverted) *inverted = 0;
        return image_rgb_for_model(path, NULL, 0, in.h, in.w, pixels);
    }
    if (in.c != 1)
        return cm_fail(CM_ERR_USAGE, "%s: the model takes %d-channel images; image files make 1 or 3-channel ones",
                       path, in.c);
    uint8_t *gray = NULL;
    int w, h, inv = 0;
    /* the enums of image.h have the same order as the CLMNIST_INVERT_* values */
    cm_status st = image_load_gray(path, &gray, &w, &h);
    if (st == CM_OK) st = pipeline_image(&model->pipe, gray, w, h, (cm_invert)invert, path, pixels, &inv);
    free(gray);
    if (st == CM_OK && inverted) *inverted = inv;
    return st;
}

/* Reads every file into images (n, dim), ok[i] 1 for those read; *failed counts the others, the
 * first's message in first_error. */
static void read_files(const clmnist_model *m, const char *const *paths, int n, uint8_t *images, int *ok, int *failed,
                       char *first_error, size_t size) {
    size_t dim = input_size(m);
    for (int i = 0; i < n; i++) {
        ok[i] =
            paths[i] && clmnist_image_load(m, paths[i], CLMNIST_INVERT_AUTO, images + (size_t)i * dim, NULL) == CM_OK;
        if (!ok[i] && (*failed)++ == 0)
            snprintf(first_error, size, "%s", paths[i] ? cm_last_error() : "a path is NULL");
    }
}

int clmnist_predict_files(clmnist_model *model, const char *const *paths, int n, int *classes_out, float *probs_out) {
    if (!model) return api_null("clmnist_predict_files", "model");
    if (!paths) return api_null("clmnist_predict_files", "paths");
    if (!classes_out) return api_null("clmnist_predict_files", "classes_out");
    if (n < 1) return cm_fail(CM_ERR_USAGE, "clmnist_predict_files: n = %d files: expected at least 1", n);
    for (int i = 0; i < n; i++) /* what a failure leaves */
        classes_out[i] = -1;
    size_t dim = input_size(model), classes = (size_t)model->classes;
    uint8_t *images = malloc((size_t)n * dim);
    int *ok = calloc((size_t)n, sizeof(int)), *cls = malloc(sizeof(int) * (size_t)n), failed = 0, good = 0;
    float *probs = malloc(sizeof(float) * (size_t)n * classes);
    char first[1024] = "";
    if (!images || !ok || !cls || !probs) {
        free(images), free(ok), free(cls), free(probs);
        return cm_fail(CM_ERR_MEMORY, "out of host memory");
    }
    read_files(model, paths, n, images, ok, &failed, first, sizeof first);
    for (int i = 0; i < n; i++) /* the images read, packed at the front */
        if (ok[i]) memmove(images + (size_t)good++ * dim, images + (size_t)i * dim, dim);
    cm_status st = good ? predict_into(model, images, good, cls, probs) : CM_OK;
    for (int i = 0, j = 0; st == CM_OK && i < n; i++) {
        classes_out[i] = ok[i] ? cls[j] : -1;
        if (probs_out && ok[i])
            memcpy(probs_out + (size_t)i * classes, probs + (size_t)j * classes, classes * sizeof(float));
        if (probs_out && !ok[i]) memset(probs_out + (size_t)i * classes, 0, classes * sizeof(float));
        j += ok[i];
    }
    free(images), free(ok), free(cls), free(probs);
    if (st == CM_OK && failed)
        st = cm_fail(CM_ERR_IO, "%d of %d images could not be read; the first: %s", failed, n, first);
    return st;
}

void clmnist_eval_result_free(clmnist_eval_result *r) {
    if (!r) return;
    free(r->confusion);
    free(r->predicted);
    free(r->probabilities);
    memset(r, 0, sizeof *r);
}

/* The split fits the model: its image size, and labels among its classes. */
static cm_status check_split(const clmnist_model *m, const clmnist_dataset *ds, const cm_split *test) {
    const cm_shape in = api_model_file(m)->model.layout.input;
    if (test->count < 1) return cm_fail(CM_ERR_USAGE, "%s: the test split is empty", ds->path);
    if ((size_t)test->dim != shape_numel(in))
        return cm_fail(CM_ERR_USAGE, "%s: the model takes %dx%dx%d inputs but the images are %dx%d", ds->path, in.c,
                       in.h, in.w, test->rows, test->cols);
    for (int32_t i = 0; i < test->count; i++)
        if (test->labels[i] >= m->classes)
            return cm_fail(CM_ERR_USAGE, "%s: label %d of test example %d is not a class of this %d-class model",
                           ds->path, test->labels[i], i, m->classes);
    return CM_OK;
}

int clmnist_evaluate(clmnist_model *model, const clmnist_dataset *ds, clmnist_eval_result *out) {
    if (!out) return api_null("clmnist_evaluate", "out");
    memset(out, 0, sizeof *out);
    if (!model) return api_null("clmnist_evaluate", "model");
    if (!ds) return api_null("clmnist_evaluate", "ds");
    const cm_split *test = &ds->ds.test;
    CM_TRY(check_split(model, ds, test));
    size_t n = (size_t)test->count, k = (size_t)model->classes;
    int32_t *pred = malloc(sizeof(int32_t) * n);
    out->predicted = malloc(sizeof(int) * n);
    out->probabilities = malloc(sizeof(float) * n * k);
    out->confusion = calloc(k * k, sizeof(long long));
    cm_stats stats;
    cm_status st = pred && out->predicted && out->probabilities && out->confusion
                       ? predictor_run(api_model_predictor(model), test, pred, out->probabilities, &stats)
                       : cm_fail(CM_ERR_MEMORY, "out of host memory");
    for (size_t i = 0; st == CM_OK && i < n; i++) {
        out->predicted[i] = pred[i];
        out->confusion[(size_t)test->labels[i] * k + (size_t)pred[i]]++;
        out->correct += pred[i] == test->labels[i];
    }
    free(pred);
    if (st != CM_OK) {
        clmnist_eval_result_free(out);
        return st;
    }
    out->classes = (int)k;
    out->count = (long long)n;
    out->accuracy = (double)out->correct / (double)n;
    out->loss = stats.loss;
    return CM_OK;
}
