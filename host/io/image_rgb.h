/* image_rgb.h: user images in colour (the decoders of image_decode.h asked for RGB), for colour
 * data sets and colour models. */
#ifndef CLMNIST_IMAGE_RGB_H
#define CLMNIST_IMAGE_RGB_H
#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* Loads a PNG, JPEG or binary PGM/PPM as 8-bit RGB planes: *planes (3, h, w), the red plane
 * first (caller frees), alpha composited over white, a grey file's value in all three;
 * *colour is 1 when some pixel's three values differ. Errors as image_load_gray's. */
cm_status image_load_rgb(const char *path, uint8_t **planes, int *width, int *height, int *colour);
/* The same for an image in memory (len bytes at buf); `what` names it in errors. */
cm_status image_decode_rgb_mem(const uint8_t *buf, size_t len, const char *what, uint8_t **planes, int *width,
                               int *height, int *colour);

/* A colour model's input from an image file (path), or from len bytes at buf when buf is not NULL
 * (`path` then names them): its RGB planes, each resized to rows x cols as a colour model's
 * training images were (a plain resize, never inverted), into out (3, rows, cols). */
cm_status image_rgb_for_model(const char *path, const uint8_t *buf, size_t len, int rows, int cols, uint8_t *out);

#endif
