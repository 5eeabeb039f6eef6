/* serve_input.c: a /api/predict request body to the 28x28 image the model sees: an image file
 * through the same preprocessing as `clmnist predict` (photo_to_mnist), or JSON pixels. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "image.h"
#include "photo_prep.h"
#include "serve_api.h"

#define SIDE 28
#define PIXELS (SIDE * SIDE)

/* Content-Type without its parameters, compared case-insensitively; a want ending in '/' is a
 * prefix ("image/" matches "image/png"). */
static int type_is(const char *type, const char *want) {
    if (!type) return 0;
    while (*type == ' ')
        type++;
    size_t n = strlen(want);
    if (strncasecmp(type, want, n) != 0) return 0;
    if (want[n - 1] == '/') return type[n] != 0 && type[n] != ';';
    return type[n] == 0 || type[n] == ';' || type[n] == ' ';
}

static int parse_invert(const char *text, cm_invert *inv) {
    if (!text || !strcmp(text, "auto"))
        *inv = CM_INVERT_AUTO;
    else if (!strcmp(text, "yes"))
        *inv = CM_INVERT_YES;
    else if (!strcmp(text, "no"))
        *inv = CM_INVERT_NO;
    else
        return 400;
    return 0;
}

static int fail400(const char *fmt, const char *arg) {
    cm_fail(CM_ERR_USAGE, fmt, arg);
    return 400;
}

static int read_image(const cm_http_request *req, cm_input_prep prep, uint8_t image[PIXELS], int *inverted,
                      int *unclear) {
    cm_invert inv;
    const char *q = http_request_query(req, "invert");
    if (parse_invert(q, &inv)) return fail400("invert=%s: expected auto, yes or no", q);
    int w, h;
    uint8_t *gray = NULL; /* the decoders check the header's size (at most 2^26 pixels) before allocating */
    if (image_decode_gray_mem(req->body, req->body_len, "the image", &gray, &w, &h) != CM_OK) return 400;
    if ((size_t)w * (size_t)h > CM_SERVE_MAX_PIXELS) {
        free(gray);
        cm_fail(CM_ERR_FORMAT, "the image: %dx%d is too large (at most %zu pixels)", w, h, CM_SERVE_MAX_PIXELS);
        return 400;
    }
    cm_prep_info info;
    cm_status st = image_for_model_info(gray, w, h, prep, inv, SIDE, SIDE, "the image", image, &info);
    free(gray);
    *inverted = info.inverted, *unclear = info.unclear;
    return st == CM_OK ? 0 : 400;
}

/* "pixels": exactly 784 finite numbers in [0, 1], quantised to 8 bits as MNIST's are. */
static int read_pixels(const cJSON *arr, uint8_t out[PIXELS]) {
    if (!cJSON_IsArray(arr)) return fail400("%s", "\"pixels\" must be an array of 784 numbers in 0..1");
    int n = cJSON_GetArraySize(arr);
    if (n != PIXELS) {
        cm_fail(CM_ERR_USAGE, "\"pixels\" has %d values; the model takes %d (28x28, row by row)", n, PIXELS);
        return 400;
    }
    int i = 0;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        double v = cJSON_IsNumber(e) ? e->valuedouble : NAN;
        if (!isfinite(v) || v < 0.0 || v > 1.0) {
            cm_fail(CM_ERR_USAGE, "\"pixels\"[%d] is not a number in 0..1", i);
            return 400;
        }
        out[i] = (uint8_t)lround(v * 255.0);
    }
    return 0;
}

static int flag(const cJSON *root, const char *key, int *out) {
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!f) return 0;
    if (!cJSON_IsBool(f)) return fail400("\"%s\" must be true or false", key);
    *out = cJSON_IsTrue(f);
    return 0;
}

static int read_json(const cm_http_request *req, uint8_t image[PIXELS], int *want_input, int *inverted, int *unclear) {
    cJSON *root = cJSON_ParseWithLength((const char *)req->body, req->body_len);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return fail400("%s", "the body is not a JSON object (expected {\"pixels\": [784 numbers in 0..1]})");
    }
    int pre = 0, code = flag(root, "preprocess", &pre);
    if (!code) code = flag(root, "return_input", want_input);
    uint8_t raw[PIXELS];
    if (!code) code = read_pixels(cJSON_GetObjectItemCaseSensitive(root, "pixels"), raw);
    cm_invert inv = CM_INVERT_AUTO;
    const cJSON *iv = cJSON_GetObjectItemCaseSensitive(root, "invert");
    if (!code && iv && (!cJSON_IsString(iv) || parse_invert(iv->valuestring, &inv)))
        code = fail400("%s", "\"invert\" must be \"auto\", \"yes\" or \"no\"");
    cJSON_Delete(root);
    if (code) return code;
    if (!pre) {
        memcpy(image, raw, PIXELS);
        return 0;
    }
    cm_prep_info info;
    if (photo_to_mnist(raw, SIDE, SIDE, inv, "the drawing", image, &info) != CM_OK) return 400;
    *inverted = info.inverted, *unclear = info.unclear;
    return 0;
}

int serve_read_input(const cm_http_request *req, cm_input_prep prep, uint8_t image[PIXELS], int *want_input,
                     int *inverted, int *unclear) {
    *inverted = -1, *unclear = 0;
    const char *q = http_request_query(req, "input");
    *want_input = q && (!strcmp(q, "1") || !strcmp(q, "true"));
    if (type_is(req->content_type, "image/")) return read_image(req, prep, image, inverted, unclear);
    if (type_is(req->content_type, "application/json")) return read_json(req, image, want_input, inverted, unclear);
    cm_fail(CM_ERR_USAGE, "Content-Type '%s': send an image (image/png, image/jpeg, ...) or application/json",
            req->content_type ? req->content_type : "(none)");
    return 415;
}
