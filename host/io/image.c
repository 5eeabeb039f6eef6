/* image.c: reading a user's image (image_load_gray: the format from the file's first bytes, then
 * the decoders of image_decode.h) and bringing it to a model's input (MNIST-style: photo_prep.c). */
#include "image.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stb_image_resize.h>
#include <stdlib.h>
#include <string.h>

#include "image_decode.h"
#include "photo_prep.h"

#define SIDE 28

cm_status image_check_size(const char *path, uint64_t width, uint64_t height) {
    if (width < 1 || height < 1)
        return cm_fail(CM_ERR_FORMAT, "%s: the image is %llux%llu: no pixels", path, (unsigned long long)width,
                       (unsigned long long)height);
    if (width > IMAGE_MAX_PIXELS || height > IMAGE_MAX_PIXELS || width * height > IMAGE_MAX_PIXELS)
        return cm_fail(CM_ERR_FORMAT, "%s: %llux%llu is too large (more than %llu pixels)", path,
                       (unsigned long long)width, (unsigned long long)height, (unsigned long long)IMAGE_MAX_PIXELS);
    return CM_OK;
}

/* Decodes the image in f (at its start) by its first bytes; `path` names it in errors. */
static cm_status decode_stream(FILE *f, const char *path, uint8_t **pixels, int *width, int *height) {
    uint8_t m[8] = {0};
    size_t n = fread(m, 1, sizeof m, f);
    cm_status st;
    if (ferror(f) || fseek(f, 0, SEEK_SET) != 0)
        st = cm_fail(CM_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    else if (n == 8 && memcmp(m, "\x89PNG\r\n\x1a\n", 8) == 0)
        st = image_read_png(f, path, pixels, width, height);
    else if (n >= 3 && m[0] == 0xFF && m[1] == 0xD8 && m[2] == 0xFF)
        st = image_read_jpeg(f, path, pixels, width, height);
    else if (n >= 2 && m[0] == 'P' && (m[1] == '5' || m[1] == '6'))
        st = image_read_pnm(f, path, pixels, width, height);
    else
        st = cm_fail(CM_ERR_FORMAT, "%s: unsupported image format (PNG, JPEG, PGM/PPM)", path);
    return st;
}

cm_status image_load_gray(const char *path, uint8_t **pixels, int *width, int *height) {
    FILE *f = fopen(path, "rb");
    if (!f) return cm_fail(CM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    cm_status st = decode_stream(f, path, pixels, width, height);
    fclose(f);
    return st;
}

cm_status image_decode_gray_mem(const uint8_t *buf, size_t len, const char *what, uint8_t **pixels, int *width,
                                int *height) {
    *pixels = NULL;
    if (!buf || len == 0) return cm_fail(CM_ERR_FORMAT, "%s: empty image", what);
    /* the same decoders as for a file, through a read-only stream over the bytes */
    FILE *f = fmemopen((void *)buf, len, "rb");
    if (!f) return cm_fail(CM_ERR_MEMORY, "%s: cannot open the image bytes: %s", what, strerror(errno));
    cm_status st = decode_stream(f, what, pixels, width, height);
    fclose(f);
    return st;
}

cm_status image_to_mnist(const uint8_t *gray, int w, int h, cm_invert invert, const char *what, uint8_t out[784],
                         int *inverted) {
    cm_prep_info info;
    CM_TRY(photo_to_mnist(gray, w, h, invert, what, out, &info));
    *inverted = info.inverted;
    return CM_OK;
}

cm_input_prep image_input_prep(const char *meta_value) {
    return meta_value && !strcmp(meta_value, "resize") ? CM_INPUT_RESIZE : CM_INPUT_MNIST;
}

cm_status image_for_model(const uint8_t *gray, int w, int h, cm_input_prep prep, cm_invert invert, int rows, int cols,
                          const char *what, uint8_t *out, int *inverted) {
    cm_prep_info info;
    CM_TRY(image_for_model_info(gray, w, h, prep, invert, rows, cols, what, out, &info));
    *inverted = info.inverted;
    return CM_OK;
}

cm_status image_for_model_info(const uint8_t *gray, int w, int h, cm_input_prep prep, cm_invert invert, int rows,
                               int cols, const char *what, uint8_t *out, cm_prep_info *info) {
    uint8_t mnist[SIDE * SIDE], *flipped = NULL;
    memset(info, 0, sizeof *info);
    if (prep == CM_INPUT_MNIST) { /* then, for a model of another size, resized as its training data was */
        CM_TRY(photo_to_mnist(gray, w, h, invert, what, mnist, info));
        gray = mnist, w = h = SIDE;
    } else if ((info->inverted = invert == CM_INVERT_YES)) {
        flipped = malloc((size_t)w * (size_t)h);
        if (!flipped) return cm_fail(CM_ERR_MEMORY, "%s: out of host memory", what);
        for (size_t i = 0; i < (size_t)w * (size_t)h; i++)
            flipped[i] = (uint8_t)(255 - gray[i]);
        gray = flipped;
    }
    int ok = w == cols && h == rows ? (memcpy(out, gray, (size_t)w * (size_t)h), 1)
                                    : stbir_resize_uint8(gray, w, h, 0, out, cols, rows, 0, 1);
    free(flipped);
    return ok ? CM_OK : cm_fail(CM_ERR_MEMORY, "%s: cannot resize %dx%d to %dx%d", what, w, h, cols, rows);
}
