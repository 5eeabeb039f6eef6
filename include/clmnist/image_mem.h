/* image_mem.h: decoding an image held in memory (an upload to `clmnist serve`) as 8-bit gray. A
 * header of its own for now: image.h and image.c are being reworked; this one function is to be
 * re-based on their decoders afterwards. */
#ifndef CLMNIST_IMAGE_MEM_H
#define CLMNIST_IMAGE_MEM_H
#include <stddef.h>
#include <stdint.h>

#include "clmnist/status.h"

/* Largest image accepted, in pixels (width x height). */
#define CM_IMAGE_MAX_PIXELS ((size_t)1 << 26)

/* Decodes buf (len bytes: PNG, JPEG, BMP, GIF, PNM, ... as stb_image reads them) into *pixels
 * (h rows of w bytes, malloc'd; alpha composited over white), as image_load_gray does for a file.
 * The size is checked from the header before any pixel is decoded: w, h >= 1 and w * h <=
 * CM_IMAGE_MAX_PIXELS. Errors name `what`. */
cm_status image_decode_gray_mem(const uint8_t *buf, size_t len, const char *what, uint8_t **pixels, int *w, int *h);

#endif
