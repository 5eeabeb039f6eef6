/* image_png.c: PNG through libpng's simplified API. The header is read first and its size
 * checked before the pixel buffer exists; libpng reports a corrupt or truncated file (its CRCs,
 * zlib stream, "Read Error" at the end of the file) as an error, never prints, never exits. */
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "image_decode.h"

cm_status image_read_png(FILE *f, const char *path, uint8_t **gray, int *width, int *height) {
    return image_read_png_ch(f, path, 1, gray, width, height);
}

cm_status image_read_png_ch(FILE *f, const char *path, int channels, uint8_t **gray, int *width, int *height) {
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_stdio(&im, f)) return cm_fail(CM_ERR_FORMAT, "%s: bad PNG: %s", path, im.message);
    cm_status st = image_check_size(path, im.width, im.height);
    if (st != CM_OK) {
        png_image_free(&im);
        return st;
    }
    /* 8-bit samples as stored (sRGB; 16-bit files too, as stb_image read them), alpha kept so
     * that it is composited over white here, as before */
    int color = (im.format & PNG_FORMAT_FLAG_COLOR) != 0;
    size_t n = (size_t)im.width * im.height, ch = color ? 4 : 2;
    im.format = color ? PNG_FORMAT_RGBA : PNG_FORMAT_GA;
    im.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
    uint8_t *px = malloc(n * ch), *g = malloc(n * (size_t)channels);
    if (!px || !g) {
        free(px), free(g);
        png_image_free(&im);
        return cm_fail(CM_ERR_MEMORY, "%s: out of memory for %ux%u pixels", path, im.width, im.height);
    }
    if (!png_image_finish_read(&im, NULL, px, 0, NULL)) { /* frees libpng's state either way */
        free(px), free(g);
        return cm_fail(CM_ERR_FORMAT, "%s: bad PNG: %s", path, im.message);
    }
    for (size_t i = 0; i < n && channels == 1; i++) {
        const uint8_t *p = px + i * ch;
        g[i] = image_over_white(color ? image_luma(p[0], p[1], p[2]) : p[0], p[ch - 1]);
    }
    for (size_t i = 0; i < n && channels == 3; i++) {
        const uint8_t *p = px + i * ch;
        for (int k = 0; k < 3; k++)
            g[3 * i + (size_t)k] = image_over_white(p[color ? k : 0], p[ch - 1]);
    }
    free(px);
    *gray = g;
    *width = (int)im.width;
    *height = (int)im.height;
    return CM_OK;
}
