/* image.c: reading a user's image (image_load_gray: the format from the file's first bytes, then
 * the decoders of image_decode.h) and MNIST-style normalisation (invert, crop to the ink, scale
 * into a 20x20 box, centre by centre of mass in 28x28). */
#include "image.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stb_image_resize.h>
#include <stdlib.h>
#include <string.h>

#include "image_decode.h"

#define SIDE 28
#define BOX 20

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

static int cmp_u8(const void *a, const void *b) {
    return *(const uint8_t *)a - *(const uint8_t *)b;
}

/* Median of the border pixels: the background's level. */
static uint8_t border_median(const uint8_t *g, int w, int h) {
    size_t n = 0, cap = 2 * (size_t)w + 2 * (size_t)h;
    uint8_t *b = malloc(cap);
    if (!b) return 0;
    for (int x = 0; x < w; x++) {
        b[n++] = g[x];
        if (h > 1) b[n++] = g[(size_t)(h - 1) * w + x];
    }
    for (int y = 1; y + 1 < h; y++) {
        b[n++] = g[(size_t)y * w];
        if (w > 1) b[n++] = g[(size_t)y * w + w - 1];
    }
    qsort(b, n, 1, cmp_u8);
    uint8_t m = b[n / 2];
    free(b);
    return m;
}

cm_status image_to_mnist(const uint8_t *gray, int w, int h, cm_invert invert, const char *what, uint8_t out[784],
                         int *inverted) {
    if (w < 1 || h < 1) return cm_fail(CM_ERR_FORMAT, "%s: the image is %dx%d: no pixels", what, w, h);
    size_t n = (size_t)w * h;
    float *ink = malloc(n * sizeof(float));
    if (!ink) return cm_fail(CM_ERR_MEMORY, "%s: out of memory", what);
    uint8_t bg = border_median(gray, w, h);
    int inv = invert == CM_INVERT_YES || (invert == CM_INVERT_AUTO && bg > 127);
    /* ink level: how far each pixel is from the background, towards the digit's colour */
    float bgv = inv ? 255.0f - bg : bg, peak = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float v = inv ? 255.0f - gray[i] : gray[i];
        ink[i] = v > bgv ? v - bgv : 0.0f;
        if (ink[i] > peak) peak = ink[i];
    }
    if (peak < 16.0f) {
        free(ink);
        return cm_fail(CM_ERR_FORMAT, "%s: no digit found (the image is blank%s)", what,
                       invert == CM_INVERT_AUTO ? "" : "; check --invert");
    }
    /* bounding box of the ink above a tenth of its peak (ignores faint noise) */
    int x0 = w, y0 = h, x1 = -1, y1 = -1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float *p = &ink[(size_t)y * w + x];
            *p = *p * 255.0f / peak;
            if (*p >= 25.5f) {
                if (x < x0) x0 = x;
                if (x > x1) x1 = x;
                if (y < y0) y0 = y;
                if (y > y1) y1 = y;
            }
        }
    int bw = x1 - x0 + 1, bh = y1 - y0 + 1;
    /* scale the box so its longer side is 20, keeping the aspect ratio */
    double s = (double)BOX / (bw > bh ? bw : bh);
    int tw = (int)lround(bw * s), th = (int)lround(bh * s);
    if (tw < 1) tw = 1;
    if (th < 1) th = 1;
    float box[BOX * BOX];
    stbir_resize_float(ink + (size_t)y0 * w + x0, bw, bh, (int)(w * sizeof(float)), box, tw, th,
                       (int)(tw * sizeof(float)), 1);
    free(ink);
    /* centre of mass -> pixel (14, 14), as the MNIST preprocessing did (the test set's mean
     * centre of mass, in pixel indices, is (14.00, 13.99)) */
    double mass = 0.0, mx = 0.0, my = 0.0;
    for (int y = 0; y < th; y++)
        for (int x = 0; x < tw; x++) {
            double v = box[y * tw + x] > 0.0f ? box[y * tw + x] : 0.0;
            mass += v;
            mx += v * x;
            my += v * y;
        }
    int ox = (int)lround(SIDE / 2.0 - mx / mass), oy = (int)lround(SIDE / 2.0 - my / mass);
    memset(out, 0, SIDE * SIDE);
    for (int y = 0; y < th; y++)
        for (int x = 0; x < tw; x++) {
            int X = x + ox, Y = y + oy;
            if (X < 0 || Y < 0 || X >= SIDE || Y >= SIDE) continue;
            float v = box[y * tw + x];
            out[Y * SIDE + X] = (uint8_t)(v <= 0.0f ? 0 : v >= 255.0f ? 255 : lrintf(v));
        }
    *inverted = inv;
    return CM_OK;
}

cm_input_prep image_input_prep(const char *meta_value) {
    return meta_value && !strcmp(meta_value, "resize") ? CM_INPUT_RESIZE : CM_INPUT_MNIST;
}

cm_status image_for_model(const uint8_t *gray, int w, int h, cm_input_prep prep, cm_invert invert, int rows, int cols,
                          const char *what, uint8_t *out, int *inverted) {
    uint8_t mnist[SIDE * SIDE], *flipped = NULL;
    if (prep == CM_INPUT_MNIST) { /* then, for a model of another size, resized as its training data was */
        CM_TRY(image_to_mnist(gray, w, h, invert, what, mnist, inverted));
        gray = mnist, w = h = SIDE;
    } else if ((*inverted = invert == CM_INVERT_YES)) {
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
