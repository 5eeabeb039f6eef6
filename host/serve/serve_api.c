/* serve_api.c: the handlers of /api/predict, /api/model, /api/health, /api/random and
 * /api/openapi.json, and serve's /metrics lines. */
#include "serve_api.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "http_metrics.h"
#include "model.h"
#include "serve_assets.h"
#include "prediction.h"

/* Bytes of one input image of the model served: C * H * W. */
static size_t input_size(const cm_serve_api *api) {
    const cm_shape *s = &predictor_file(api->pred)->model.layout.input;
    return (size_t)s->c * (size_t)s->h * (size_t)s->w;
}

/* A number printed with 6 significant digits (probabilities) or as the value / 255 to 4
 * decimals (pixels): short JSON. */
static void add_number(cJSON *arr, double v) {
    char text[32];
    snprintf(text, sizeof text, "%.6g", v);
    cJSON_AddItemToArray(arr, cJSON_CreateRaw(text));
}

/* The input image as numbers in 0..1: row by row, a colour model's planes (R, G, B) in turn. */
static void add_pixels(cJSON *o, const char *key, const uint8_t *image, size_t n) {
    cJSON *arr = cJSON_AddArrayToObject(o, key);
    for (size_t i = 0; arr && i < n; i++) {
        char text[16];
        snprintf(text, sizeof text, "%.4g", image[i] / 255.0);
        cJSON_AddItemToArray(arr, cJSON_CreateRaw(text));
    }
}

/* One classification: prediction.h's fields, shared with `clmnist predict --json` (class, name,
 * probability, probabilities, top, uncertain), and the input image when asked. */
static cJSON *answer(const cm_serve_api *api, const float *probs, int classes, const uint8_t *image, int want_input,
                     int unclear) {
    cJSON *o = cJSON_CreateObject();
    if (o) prediction_to_json(o, probs, classes, (const char *const *)api->class_names, 3, unclear);
    if (want_input) add_pixels(o, "input", image, input_size(api));
    return o;
}

static int classify(const cm_serve_api *api, const uint8_t *image, int32_t *cls, float *probs, cm_http_reply *rep) {
    cm_status st = api->batcher ? batcher_classify(api->batcher, image, cls, probs)
                                : predictor_classify(api->pred, image, cls, probs);
    if (st == CM_OK) {
        __atomic_fetch_add(&((cm_serve_api *)api)->classified, 1, __ATOMIC_RELAXED);
        return 1;
    }
    fprintf(stderr, "clmnist: serve: %s\n", cm_last_error());
    http_reply_error(rep, 500, "inference failed: %s", cm_last_error());
    return 0;
}

static void on_predict(void *ctx, const cm_http_request *req, cm_http_reply *rep) {
    const cm_serve_api *api = ctx;
    int want_input = 0, inverted = -1, unclear = 0;
    const cm_model_file *file = predictor_file(api->pred);
    const cm_serve_input in = {file->model.layout.input, image_input_prep(meta_get(&file->meta, "input_preprocess"))};
    const char *q = http_request_query(req, "input");
    want_input = q && (!strcmp(q, "1") || !strcmp(q, "true"));
    uint8_t *image = malloc(input_size(api));
    if (!image) {
        http_reply_error(rep, 503, "out of memory");
        return;
    }
    int code = serve_decode_body(req->content_type, req->body, req->body_len, http_request_query(req, "invert"), &in,
                                 image, &want_input, &inverted, &unclear);
    int classes = file->model.layout.classes;
    float probs[1024];
    int32_t cls;
    if (code)
        http_reply_error(rep, code, "%s", cm_last_error());
    else if (classify(api, image, &cls, probs, rep)) {
        cJSON *o = answer(api, probs, classes, image, want_input, unclear);
        if (inverted >= 0) cJSON_AddBoolToObject(o, "inverted", inverted);
        http_reply_json(rep, 200, o);
    }
    free(image);
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
        http_reply_error(rep, 404, "no test images: this server was started without a test set");
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
    const uint8_t *image = api->test->images + (size_t)idx * input_size(api);
    int truth = api->test->labels[idx], classes = predictor_file(api->pred)->model.layout.classes;
    float probs[1024];
    int32_t cls;
    if (!classify(api, image, &cls, probs, rep)) return;
    cJSON *o = answer(api, probs, classes, image, 1, 0);
    cJSON_AddNumberToObject(o, "index", (double)idx);
    cJSON_AddNumberToObject(o, "true_class", truth);
    cJSON_AddStringToObject(o, "true_name", truth < classes ? api->class_names[truth] : "?");
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
 * on input channel 0, or on a colour input its three k x k kernels (red, green, blue) in turn (at
 * most 64 filters), for the page to draw. */
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
        for (int i = 0; i < (in == 3 ? 3 : 1) * k * k; i++)
            add_number(w, src[i]);
        cJSON_AddItemToArray(ws, w);
    }
}

/* A metadata value as shown: the last part of what looks like a path. */
static const char *last_part(const char *v) {
    const char *slash = strrchr(v, '/');
    return slash && slash[1] ? slash + 1 : v;
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
    add_filters(o, &f->model);
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    for (int i = 0; md && i < f->meta.count; i++) /* a path (a data folder, --init's file): its last part */
        cJSON_AddStringToObject(md, f->meta.key[i], last_part(f->meta.value[i]));
    http_reply_json(rep, 200, o);
}

/* The API's description, compiled in from assets/openapi.json. */
void serve_api_openapi(void *ctx, const cm_http_request *req, cm_http_reply *rep) {
    for (int i = 0; i < cm_serve_asset_count; i++) {
        const cm_http_asset *a = &cm_serve_assets[i];
        if (strcmp(a->path, "/openapi.json") != 0) continue;
        char *text = malloc(a->len + 1);
        if (!text) break;
        memcpy(text, a->data, a->len);
        text[a->len] = 0;
        *rep = (cm_http_reply){.status = 200, .content_type = "application/json", .body = text, .len = a->len};
        return;
    }
    http_reply_error(rep, 500, "the API description is missing from this build");
}

void serve_api_metrics(void *ctx, FILE *out) {
    const cm_serve_api *api = ctx;
    const cm_model_file *f = predictor_file(api->pred);
    const cm_layout *L = &f->model.layout;
    char arch[CM_ARCH_TEXT], shape[64];
    model_describe(L, arch, sizeof arch);
    snprintf(shape, sizeof shape, "%dx%dx%d", L->input.c, L->input.h, L->input.w);
    const char *base = strrchr(api->model_path, '/');
    fprintf(out,
            "# HELP clmnist_images_classified_total Images classified (predict and random).\n"
            "# TYPE clmnist_images_classified_total counter\n"
            "clmnist_images_classified_total %llu\n"
            "# HELP clmnist_model_info The model served (its file name, architecture and input shape).\n"
            "# TYPE clmnist_model_info gauge\n"
            "clmnist_model_info{name=\"",
            (unsigned long long)__atomic_load_n(&api->classified, __ATOMIC_RELAXED));
    metrics_label(out, base ? base + 1 : api->model_path);
    fputs("\",architecture=\"", out);
    metrics_label(out, arch);
    fprintf(out, "\",input_shape=\"%s\",classes=\"%d\"} 1\n", shape, L->classes);
}

void serve_api_routes(cm_serve_api *api, cm_http_route *routes) {
    routes[0] = (cm_http_route){"POST", "/api/predict", on_predict, api, CM_ROUTE_API};
    routes[1] = (cm_http_route){"GET", "/api/model", on_model, api, CM_ROUTE_API};
    routes[2] = (cm_http_route){"GET", "/api/health", on_health, api, CM_ROUTE_PUBLIC};
    routes[3] = (cm_http_route){"GET", "/api/random", on_random, api, CM_ROUTE_API};
    routes[4] = (cm_http_route){"GET", "/api/openapi.json", serve_api_openapi, api, CM_ROUTE_API};
}
