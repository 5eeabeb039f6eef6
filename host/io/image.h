/* image.h: reading user images (PNG, JPEG, binary PGM/PPM; safe for hostile files) and bringing
 * them to the MNIST convention: a white digit on black, scaled so its bounding box fits 20x20 (aspect
 * kept), placed in 28x28 with its centre of mass at the centre. */
#ifndef CLMNIST_IMAGE_H
#define CLMNIST_IMAGE_H
#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef enum { CM_INVERT_AUTO = 0, CM_INVERT_YES, CM_INVERT_NO } cm_invert;

/* What the preprocessing found besides the 28x28 input. */
typedef struct {
    int inverted;   /* dark ink on light paper: inverted */
    int unclear;    /* no clear digit: faint (peak contrast under 0.2), touching the image's edge, or
                       among as much other ink as it has itself */
    float contrast; /* the digit's ink contrast relative to the paper, 0..1 */
    int dropped;    /* components dropped as specks */
} cm_prep_info;

/* Loads a PNG (libpng), JPEG (libjpeg-turbo) or binary PGM/PPM (8 or 16 bits) as 8-bit grayscale,
 * alpha composited over white; the format comes from the file's first bytes, not its name. Fails
 * with one line naming the file (CM_ERR_FORMAT) for any other format, a corrupt or truncated
 * file, or a header whose width or height is 0 or whose area is over 2^26 pixels (checked
 * before any pixel is allocated). */
cm_status image_load_gray(const char *path, uint8_t **pixels, int *width, int *height);
/* The same for an image held in memory (an HTTP request body, say): len bytes at buf, with the
 * same decoders and checks; `what` names it in errors. */
cm_status image_decode_gray_mem(const uint8_t *buf, size_t len, const char *what, uint8_t **pixels, int *width,
                                int *height);
/* gray (h, w) -> out (28x28) in the MNIST convention, robust to photos (photo_prep.h: background
 * normalisation, adaptive threshold, specks dropped, crop to the digit, 20x20 box, centre of mass).
 * invert: AUTO inverts dark ink on light paper. *inverted tells what was done. Fails (naming
 * `what`) when the image holds no digit. */
cm_status image_to_mnist(const uint8_t *gray, int width, int height, cm_invert invert, const char *what,
                         uint8_t out[784], int *inverted);

/* How a model's input images were made, from its "input_preprocess" metadata (train writes it):
 *   CM_INPUT_MNIST   "mnist", and files without the key: MNIST-like data (IDX, CSV, or a folder
 *                    with --preprocess mnist): a user's image goes through image_to_mnist;
 *   CM_INPUT_RESIZE  "resize": an image folder read with --preprocess resize (the default): the
 *                    grayscale image is resized as it is, not inverted, not cropped. */
typedef enum { CM_INPUT_MNIST = 0, CM_INPUT_RESIZE } cm_input_prep;
cm_input_prep image_input_prep(const char *meta_value);
/* gray (h, w) -> out (rows, cols) as a model trained on `prep` data takes it: image_to_mnist
 * (with invert) and, for a model of another size, a resize of its 28x28; or a plain resize (the
 * image inverted first only with CM_INVERT_YES). *inverted tells whether it was inverted. */
cm_status image_for_model(const uint8_t *gray, int width, int height, cm_input_prep prep, cm_invert invert, int rows,
                          int cols, const char *what, uint8_t *out, int *inverted);
/* The same, with what the preprocessing found in *info (for a resize model: inverted only). */
cm_status image_for_model_info(const uint8_t *gray, int width, int height, cm_input_prep prep, cm_invert invert,
                               int rows, int cols, const char *what, uint8_t *out, cm_prep_info *info);

#endif
