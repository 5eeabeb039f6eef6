/* image_rgb.c: image_load_rgb and image_decode_rgb_mem: the format from the file's first bytes,
 * the decoders of image_decode.h asked for interleaved RGB, then split into planes. */
#include "image_rgb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "image_decode.h"

static cm_status decode_rgb(FILE *f, const char *path, uint8_t **rgb, int *width, int *height) {
    uint8_t m[8] = {0};
    size_t n = fread(m, 1, sizeof m, f);
    if (ferror(f) || fseek(f, 0, SEEK_SET) != 0)
        return cm_fail(CM_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    if (n == 8 && memcmp(m, "\x89PNG\r\n\x1a\n", 8) == 0) return image_read_png_ch(f, path, 3, rgb, width, height);
    if (n >= 3 && m[0] == 0xFF && m[1] == 0xD8 && m[2] == 0xFF)
        return image_read_jpeg_ch(f, path, 3, rgb, width, height);
    if (n >= 2 && m[0] == 'P' && (m[1] == '5' || m[1] == '6')) return image_read_pnm_ch(f, path, 3, rgb, width, height);
    return cm_fail(CM_ERR_FORMAT, "%s: unsupported image format (PNG, JPEG, PGM/PPM)", path);
}

/* Interleaved RGB (n pixels) to three planes, in a new buffer; *colour as image_load_rgb's. */
static cm_status to_planes(uint8_t *rgb, size_t n, const char *what, uint8_t **planes, int *colour) {
    uint8_t *p = malloc(3 * n);
    if (!p) {
        free(rgb);
        return cm_fail(CM_ERR_MEMORY, "%s: out of memory", what);
    }
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        p[i] = rgb[3 * i], p[n + i] = rgb[3 * i + 1], p[2 * n + i] = rgb[3 * i + 2];
        any |= rgb[3 * i] != rgb[3 * i + 1] || rgb[3 * i + 1] != rgb[3 * i + 2];
    }
    free(rgb);
    *planes = p;
    *colour = any;
    return CM_OK;
}

cm_status image_load_rgb(const char *path, uint8_t **planes, int *width, int *height, int *colour) {
    *planes = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return cm_fail(CM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    uint8_t *rgb = NULL;
    cm_status st = decode_rgb(f, path, &rgb, width, height);
    fclose(f);
    CM_TRY(st);
    return to_planes(rgb, (size_t)*width * (size_t)*height, path, planes, colour);
}

cm_status image_decode_rgb_mem(const uint8_t *buf, size_t len, const char *what, uint8_t **planes, int *width,
                               int *height, int *colour) {
    *planes = NULL;
    if (!buf || len == 0) return cm_fail(CM_ERR_FORMAT, "%s: empty image", what);
    FILE *f = fmemopen((void *)buf, len, "rb");
    if (!f) return cm_fail(CM_ERR_MEMORY, "%s: cannot open the image bytes: %s", what, strerror(errno));
    uint8_t *rgb = NULL;
    cm_status st = decode_rgb(f, what, &rgb, width, height);
    fclose(f);
    CM_TRY(st);
    return to_planes(rgb, (size_t)*width * (size_t)*height, what, planes, colour);
}

cm_status image_rgb_for_model(const char *path, const uint8_t *buf, size_t len, int rows, int cols, uint8_t *out) {
    uint8_t *planes = NULL;
    int w, h, colour, inv;
    cm_status st = buf ? image_decode_rgb_mem(buf, len, path, &planes, &w, &h, &colour)
                       : image_load_rgb(path, &planes, &w, &h, &colour);
    size_t n = (size_t)w * (size_t)h, plane = (size_t)rows * (size_t)cols;
    for (int c = 0; st == CM_OK && c < 3; c++)
        st = image_for_model(planes + (size_t)c * n, w, h, CM_INPUT_RESIZE, CM_INVERT_NO, rows, cols, path,
                             out + (size_t)c * plane, &inv);
    free(planes);
    return st;
}
