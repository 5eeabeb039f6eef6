/* image_decode.h: the decoders behind image_load_gray (image.c), one per format: PNG through
 * libpng, JPEG through libjpeg-turbo, binary PGM/PPM by our own strict parser. Each reads a file
 * opened at its start, checks the header's width and height with image_check_size before it
 * allocates any pixel, and fails (CM_ERR_FORMAT, one line naming the file) on a corrupt or
 * truncated file instead of padding it. Output: 8-bit gray, alpha composited over white. */
#ifndef CLMNIST_IMAGE_DECODE_H
#define CLMNIST_IMAGE_DECODE_H
#include <stdint.h>
#include <stdio.h>

#include "status.h"

/* The largest image accepted, in pixels (8192x8192). */
#define IMAGE_MAX_PIXELS ((uint64_t)1 << 26)

/* CM_OK when 1 <= width, 1 <= height and width * height <= IMAGE_MAX_PIXELS. */
cm_status image_check_size(const char *path, uint64_t width, uint64_t height);

/* 8-bit gray from 8-bit RGB with the integer luma weights (77, 150, 29) / 256 that stb_image
 * used, so that colour images decode as they did before. */
static inline uint8_t image_luma(unsigned r, unsigned g, unsigned b) {
    return (uint8_t)((r * 77u + g * 150u + b * 29u) >> 8);
}

/* Gray v with alpha a (0 transparent .. 255 opaque) composited over white paper. */
static inline uint8_t image_over_white(unsigned v, unsigned a) {
    return (uint8_t)((v * a + 255u * (255u - a) + 127u) / 255u);
}

/* channels 1: gray as above; 3: interleaved RGB, each sample composited over white, a gray
 * file's value copied to all three. */
cm_status image_read_png_ch(FILE *f, const char *path, int channels, uint8_t **px, int *width, int *height);
cm_status image_read_jpeg_ch(FILE *f, const char *path, int channels, uint8_t **px, int *width, int *height);
cm_status image_read_pnm_ch(FILE *f, const char *path, int channels, uint8_t **px, int *width, int *height);
cm_status image_read_png(FILE *f, const char *path, uint8_t **gray, int *width, int *height);
cm_status image_read_jpeg(FILE *f, const char *path, uint8_t **gray, int *width, int *height);
cm_status image_read_pnm(FILE *f, const char *path, uint8_t **gray, int *width, int *height);

#endif
