/* serve_api.c: the handlers of /api/predict, /api/model, /api/health and /api/random. */
#include "serve_api.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "model.h"

#define PIXELS 784

/* A number printed with 6 significant digits (probabilities) or as the value / 255 to 4
 * decimals (pixels): short JSON. */
static void add_number(cJSON *arr, double v) {
    char text[32];
    snprintf(text, sizeof text, "%.6g", v);
    cJSON_AddItemToArray(arr, cJSON_CreateRaw(text));
}

static void add_pixels(cJSON *o, const char *key, const uint8_t *image) {
    cJSON *arr = cJSON_AddArrayToObject(o, key);
    for (int i = 0; arr && i < PIXELS; i++) {
        char text[16];
        snprintf(text, sizeof text, "%.4g", image[i] / 255.0);
        cJSON_AddItemToArray(arr, cJSON_CreateRaw(text));
    }
}

/* class, label, probabilities (and the input image when asked) of one classification. */
static cJSON *answer(const cm_serve_api *api, int32_t cls, const float *probs, int classes, const uint8_t *image,
                     int want_input) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "class", cls);
    cJSON_AddStringToObject(o, "label", api->class_names[cls]);
    cJSON *p = cJSON_AddArrayToObject(o, "probabilities");
    for (int k = 0; p && k < classes; k++)
        add_number(p, probs[k]);
    if (want_input) add_pixels(o, "input", image);
    return o;
}

static int classify(const cm_serve_api *api, const uint8_t *image, int32_t *cls, float *probs, cm_http_reply *rep) {
    cm_status st = api->batcher ? batcher_classify(api->batcher, image, cls, probs)
                                : predictor_classify(api->pred, image, cls, probs);
    if (st == CM_OK) return 1;
    fprintf(stderr, "clmnist: serve: %s\n", cm_last_error());
    http_reply_error(rep, 500, "inference failed: %s", cm_last_error());
    return 0;
}

static void on_predict(void *ctx, const cm_http_request *req, cm_http_reply *rep) {
    const cm_serve_api *api = ctx;
    uint8_t image[PIXELS];
    int want_input = 0, inverted = -1;
    const cm_model_file *file = predictor_file(api->pred);
    int code = serve_read_input(req, image_input_prep(meta_get(&file->meta, "input_preprocess")), image, &want_input,
                                &inverted);
    if (code) {
        http_reply_error(rep, code, "%s", cm_last_error());
        return;
    }
    int classes = file->model.layout.classes;
    float probs[1024];
    int32_t cls;
    if (!classify(api, image, &cls, probs, rep)) return;
    cJSON *o = answer(api, cls, probs, classes, image, want_input);
    if (inverted >= 0) cJSON_AddBoolToObject(o, "inverted", inverted);
    http_reply_json(rep, 200, o);
}

/* splitmix64: the n-th random test image of this server. */
static uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static void on_random(void *ctx, const cm_http_request *req, cm_http_reply *rep) {
    cm_serve_api *api = ctx;
    if (!api->test) {
        http_reply_error(rep, 404, "no test images: start the server with --data DIR");
        return;
    }
    long idx;
    const char *q = http_request_query(req, "index");
    if (q) {
        char *end;
        errno = 0;
        idx = strtol(q, &end, 10);
        if (errno || end == q || *end || idx < 0 || idx >= api->test->count) {
            http_reply_error(rep, 400, "index=%s: expected 0 to %d", q, api->test->count - 1);
            return;
        }
    } else {
        uint64_t n = __atomic_fetch_add(&api->draws, 1, __ATOMIC_RELAXED);
        idx = (long)(mix(api->seed + n) % (uint64_t)api->test->count);
    }
    const uint8_t *image = api->test->images + (size_t)idx * PIXELS;
    int truth = api->test->labels[idx], classes = predictor_file(api->pred)->model.layout.classes;
    float probs[1024];
    int32_t cls;
    if (!classify(api, image, &cls, probs, rep)) return;
    cJSON *o = answer(api, cls, probs, classes, image, 1);
    cJSON_AddNumberToObject(o, "index", (double)idx);
    cJSON_AddNumberToObject(o, "true_class", truth);
    cJSON_AddStringToObject(o, "true_label", truth < classes ? api->class_names[truth] : "?");
    cJSON_AddBoolToObject(o, "correct", truth == cls);
    http_reply_json(rep, 200, o);
}

static void on_health(void *ctx, const cm_http_request *req, cm_http_reply *rep) {
    const cm_serve_api *api = ctx;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "ok");
    cJSON_AddStringToObject(o, "backend", api->backend);
    cJSON_AddNumberToObject(o, "contexts", predictor_contexts(api->pred));
    http_reply_json(rep, 200, o);
}

/* A metadata value as a number (test accuracy), or JSON null. */
static void add_meta_number(cJSON *o, const char *key, const cm_meta *m, const char *meta_key) {
    const char *v = meta_get(m, meta_key);
    char *end = NULL;
    double d = v ? strtod(v, &end) : NAN;
    if (v && end != v && !*end && isfinite(d))
        cJSON_AddNumberToObject(o, key, d);
    else
        cJSON_AddNullToObject(o, key);
}

static void add_meta_string(cJSON *o, const char *key, const cm_meta *m, const char *meta_key) {
    const char *v = meta_get(m, meta_key);
    if (v)
        cJSON_AddStringToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

/* The first layer's filters when it is a Conv2d: weights[o] the k x k kernel of output channel o
 * on input channel 0 (at most 64 of them), for the page to draw. */
static void add_filters(cJSON *o, const cm_model *m) {
    const cm_layer *l = &m->layout.layers[0];
    if (m->layout.nlayers < 1 || l->type != CM_LAYER_CONV2D) {
        cJSON_AddNullToObject(o, "filters");
        return;
    }
    cJSON *f = cJSON_AddObjectToObject(o, "filters");
    int k = l->kernel, in = l->in.c, count = l->out < 64 ? l->out : 64;
    cJSON_AddNumberToObject(f, "out_channels", l->out);
    cJSON_AddNumberToObject(f, "in_channels", in);
    cJSON_AddNumberToObject(f, "kernel", k);
    cJSON *ws = cJSON_AddArrayToObject(f, "weights");
    for (int c = 0; c < count; c++) {
        cJSON *w = cJSON_CreateArray();
        const float *src = m->params + l->weight + (size_t)c * in * k * k;
        for (int i = 0; i < k * k; i++)
            add_number(w, src[i]);
        cJSON_AddItemToArray(ws, w);
    }
}

/* The model file's modification time, UTC, ISO 8601 ("" when unknown). */
static void file_time(const char *path, char out[32]) {
    struct stat st;
    struct tm tm;
    out[0] = 0;
    if (stat(path, &st) == 0 && gmtime_r(&st.st_mtime, &tm)) strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void on_model(void *ctx, const cm_http_request *req, cm_http_reply *rep) {
    const cm_serve_api *api = ctx;
    const cm_model_file *f = predictor_file(api->pred);
    const cm_layout *L = &f->model.layout;
    cJSON *o = cJSON_CreateObject();
    const char *base = strrchr(api->model_path, '/');
    cJSON_AddStringToObject(o, "file", base ? base + 1 : api->model_path);
    char arch[CM_ARCH_TEXT], when[32];
    model_describe(L, arch, sizeof arch);
    cJSON_AddStringToObject(o, "architecture", arch);
    cJSON_AddNumberToObject(o, "parameters", (double)(L->count + L->frozen_count));
    int shape[3] = {L->input.c, L->input.h, L->input.w};
    cJSON_AddItemToObject(o, "input_shape", cJSON_CreateIntArray(shape, 3));
    cJSON_AddNumberToObject(o, "classes", L->classes);
    cJSON_AddItemToObject(o, "class_names", cJSON_CreateStringArray(api->class_names, L->classes));
    add_meta_string(o, "dataset", &f->meta, "dataset");
    add_meta_number(o, "test_accuracy", &f->meta, "test_accuracy");
    add_meta_number(o, "test_loss", &f->meta, "test_loss");
    add_meta_string(o, "trained_on", &f->meta, "device");
    add_meta_string(o, "clmnist_version", &f->meta, "clmnist.version");
    file_time(api->model_path, when);
    cJSON_AddStringToObject(o, "file_modified", when);
    cJSON *srv = cJSON_AddObjectToObject(o, "serving");
    cJSON_AddStringToObject(srv, "backend", api->backend);
    cJSON_AddStringToObject(srv, "device", predictor_device_name(api->pred));
    cJSON_AddNumberToObject(srv, "contexts", predictor_contexts(api->pred));
    cJSON_AddBoolToObject(srv, "random_test_images", api->test != NULL);
    if (api->test) cJSON_AddStringToObject(srv, "data", api->data_dir);
    add_filters(o, &f->model);
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    for (int i = 0; md && i < f->meta.count; i++)
        cJSON_AddStringToObject(md, f->meta.key[i], f->meta.value[i]);
    http_reply_json(rep, 200, o);
}

void serve_api_routes(cm_serve_api *api, cm_http_route *routes) {
    routes[0] = (cm_http_route){"POST", "/api/predict", on_predict, api};
    routes[1] = (cm_http_route){"GET", "/api/model", on_model, api};
    routes[2] = (cm_http_route){"GET", "/api/health", on_health, api};
    routes[3] = (cm_http_route){"GET", "/api/random", on_random, api};
}
