/* serve_api.h: the JSON API of `clmnist serve` over a predictor:
 *   POST /api/predict  an image file (image/..., application/octet-stream, or the field "file" of
 *                      multipart/form-data) or {"pixels": [...]} -> the class
 *   GET  /api/model    the model: architecture, dataset, accuracy, class names, metadata, filters
 *   GET  /api/health   {"status": "ok"} (no token needed)
 *   GET  /api/random   a random test image with its label and the model's answer (with --data)
 *   GET  /api/openapi.json  the API described in OpenAPI 3 (assets/openapi.json)
 * Bad input is a 400 (415 for another Content-Type) with {"error": "..."}. */
#ifndef CLMNIST_SERVE_API_H
#define CLMNIST_SERVE_API_H
#include <stdint.h>
#include <stdio.h>

#include "batcher.h"
#include "dataset.h"
#include "image.h"
#include "http_server.h"
#include "predictor.h"

/* Largest uploaded image decoded, in pixels: 4096 x 4096 (a phone photo fits; a small file
 * claiming a huge image is refused from its header, before decoding). */
#define CM_SERVE_MAX_PIXELS ((size_t)1 << 24)

typedef struct {
    cm_predictor *pred;
    cm_batcher *batcher; /* /api/predict's classifications go through it, or NULL: each alone */
    const char *model_path;
    const char *backend;            /* "host" or "device" */
    const cm_split *test;           /* test images for /api/random, or NULL */
    const char *data_dir;           /* where they came from */
    const char *const *class_names; /* one per class */
    uint64_t seed;                  /* of the random test images */
    uint64_t draws;                 /* random images drawn so far (atomic) */
    uint64_t classified;            /* images classified (atomic) */
} cm_serve_api;

#define CM_SERVE_ROUTES 5
/* Fills routes[CM_SERVE_ROUTES] with the API's handlers over api (which must outlive them). */
void serve_api_routes(cm_serve_api *api, cm_http_route *routes);

/* GET /api/openapi.json (any ctx). */
void serve_api_openapi(void *ctx, const cm_http_request *req, cm_http_reply *rep);

/* /metrics lines of the model behind api (for cm_http_config.metrics_extra): images classified,
 * the model's name, architecture and input shape. */
void serve_api_metrics(void *api, FILE *out);

/* The input a model takes: its shape (1 or 3 channels) and how its images were made. */
typedef struct {
    cm_shape shape;
    cm_input_prep prep;
} cm_serve_input;

/* Reads a /api/predict body of the given Content-Type into image (in->shape's C x H x W bytes):
 * JSON pixels, or an image file brought to the model's input as predict does it: for a grey
 * model as in->prep says (image.h) with invert_q ("auto", "yes", "no" or NULL), for a colour
 * model each RGB plane resized (image_rgb.h, never inverted); for image/...,
 * application/octet-stream and a multipart part the bytes tell which. Returns 0, or the HTTP
 * status of the error (400, 415) with its message in cm_last_error(). *want_input: the JSON asked
 * for the input image back; *inverted: -1 when no preprocessing ran, else whether it inverted the
 * image; *unclear: the preprocessing found no clear digit (cm_prep_info). Needs nothing of the
 * HTTP server (the fuzz target calls it). */
int serve_decode_body(const char *content_type, const uint8_t *body, size_t len, const char *invert_q,
                      const cm_serve_input *in, uint8_t *image, int *want_input, int *inverted, int *unclear);

#endif
