/* fuzz_serve_body.c: libFuzzer target for the request bodies of POST /api/predict, as clmnist
 * serve reads them (serve_decode_body, host/serve/serve_input.c): the Content-Type dispatch,
 * JSON pixels, multipart/form-data (the field "file", boundaries quoted or not), and the image
 * bytes found there (detected, decoded and preprocessed). The first byte of an input picks the
 * Content-Type, the second the invert parameter; the rest is the body. */
#include <stdint.h>
#include <stdlib.h>

#include "image.h"
#include "serve_api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const types[] = {
    "application/json",
    "image/png",
    "application/octet-stream",
    "multipart/form-data; boundary=b",
    "multipart/form-data; boundary=\"soak-boundary\"",
    "multipart/form-data; charset=utf-8; boundary=clmnist-test-boundary-7",
    "multipart/form-data",
    "text/plain",
    NULL,
};
static const char *const inverts[] = {NULL, "auto", "yes", "no", "sideways"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    const char *type = types[data[0] % (sizeof types / sizeof types[0])];
    const char *invert = inverts[data[1] % (sizeof inverts / sizeof inverts[0])];
    uint8_t image[784];
    int want_input = 0, inverted, unclear;
    /* the body is NUL-terminated after its end, as the server hands it over */
    uint8_t *body = malloc(size - 2 + 1);
    if (!body) return 0;
    for (size_t i = 2; i < size; i++)
        body[i - 2] = data[i];
    body[size - 2] = 0;
    (void)serve_decode_body(type, body, size - 2, invert, image_input_prep(NULL), image, &want_input, &inverted,
                            &unclear);
    free(body);
    cm_clear_error();
    return 0;
}
