/* fuzz_serve_body.c: libFuzzer target for the request bodies of POST /api/predict, as clmnist
 * serve reads them (serve_decode_body, host/serve/serve_input.c): the Content-Type dispatch,
 * JSON pixels, multipart/form-data (the field "file", boundaries quoted or not), and the image
 * bytes found there (detected, decoded and preprocessed). The first byte of an input picks the
 * Content-Type (its high bit: a colour model's 3x32x32 input, else a grey MNIST one), the second
 * the invert parameter; the rest is the body. */
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
    int want_input = 0, inverted, unclear;
    /* the body is NUL-terminated after its end, as the server hands it over */
    uint8_t *body = malloc(size - 2 + 1);
    if (!body) return 0;
    for (size_t i = 2; i < size; i++)
        body[i - 2] = data[i];
    body[size - 2] = 0;
    /* a grey MNIST model, or (the type byte's high bit) a colour one of 3x32x32 */
    static uint8_t image[3 * 32 * 32];
    const cm_serve_input in = data[0] & 0x80 ? (cm_serve_input){{3, 32, 32, 0}, CM_INPUT_RESIZE}
                                             : (cm_serve_input){{1, 28, 28, 0}, image_input_prep(NULL)};
    (void)serve_decode_body(type, body, size - 2, invert, &in, image, &want_input, &inverted, &unclear);
    free(body);
    cm_clear_error();
    return 0;
}
