/* image_pnm.c: binary PGM (P5) and PPM (P6), 8-bit (maxval 1-255) or 16-bit big-endian
 * (maxval 256-65535), with a strict header parser of our own: decimal numbers capped while they
 * are read (no overflow), '#' comments between them, exactly one whitespace byte after maxval,
 * the size checked before any allocation, and every row of the raster required (a short file is
 * an error; bytes after the raster, such as a second image, are ignored). Samples above maxval
 * are clamped; samples are scaled to 0-255, colour to gray with image_luma. */
#include <stdlib.h>

#include "image_decode.h"

static int is_space(int c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The first byte of the next number: whitespace and comments (to the end of the line) skipped. */
static int skip_blanks(FILE *f) {
    int c = getc(f);
    for (;;) {
        if (c == '#') {
            while (c != EOF && c != '\n' && c != '\r')
                c = getc(f);
        } else if (is_space(c)) {
            c = getc(f);
        } else {
            return c;
        }
    }
}

/* One header number, at most `max`, followed by one whitespace byte (consumed). */
static cm_status header_number(FILE *f, const char *path, const char *what, uint64_t max, uint64_t *out) {
    int c = skip_blanks(f);
    if (c < '0' || c > '9') return cm_fail(CM_ERR_FORMAT, "%s: bad PNM header: no %s", path, what);
    uint64_t v = 0;
    for (; c >= '0' && c <= '9'; c = getc(f)) {
        v = v * 10 + (uint64_t)(c - '0');
        if (v > max)
            return cm_fail(CM_ERR_FORMAT, "%s: bad PNM header: the %s is too large (over %llu)", path, what,
                           (unsigned long long)max);
    }
    if (!is_space(c)) return cm_fail(CM_ERR_FORMAT, "%s: bad PNM header: no whitespace after the %s", path, what);
    *out = v;
    return CM_OK;
}

/* One row of `w` pixels of `ch` samples of `bps` bytes to 8-bit gray. */
static void row_to_gray(const uint8_t *raw, size_t w, int ch, int bps, unsigned maxval, int channels, uint8_t *out) {
    for (size_t x = 0; x < w; x++) {
        unsigned s[3];
        for (int k = 0; k < ch; k++) {
            const uint8_t *p = raw + (x * ch + k) * bps;
            unsigned v = bps == 2 ? (unsigned)p[0] << 8 | p[1] : p[0];
            if (v > maxval) v = maxval;
            s[k] = (v * 255u + maxval / 2) / maxval;
        }
        if (channels == 3)
            for (int k = 0; k < 3; k++)
                out[3 * x + (size_t)k] = (uint8_t)s[ch == 3 ? k : 0];
        else
            out[x] = ch == 3 ? image_luma(s[0], s[1], s[2]) : (uint8_t)s[0];
    }
}

cm_status image_read_pnm(FILE *f, const char *path, uint8_t **gray, int *width, int *height) {
    return image_read_pnm_ch(f, path, 1, gray, width, height);
}

cm_status image_read_pnm_ch(FILE *f, const char *path, int channels, uint8_t **gray, int *width, int *height) {
    int m0 = getc(f), m1 = getc(f);
    if (m0 != 'P' || (m1 != '5' && m1 != '6')) return cm_fail(CM_ERR_FORMAT, "%s: bad PNM header: not P5 or P6", path);
    int c = getc(f);
    if (!is_space(c) && c != '#')
        return cm_fail(CM_ERR_FORMAT, "%s: bad PNM header: no whitespace after P%c", path, m1);
    ungetc(c, f);
    uint64_t w, h, maxval;
    CM_TRY(header_number(f, path, "width", IMAGE_MAX_PIXELS, &w));
    CM_TRY(header_number(f, path, "height", IMAGE_MAX_PIXELS, &h));
    CM_TRY(header_number(f, path, "maxval", 65535, &maxval));
    CM_TRY(image_check_size(path, w, h));
    if (maxval < 1) return cm_fail(CM_ERR_FORMAT, "%s: bad PNM header: maxval 0", path);
    int ch = m1 == '6' ? 3 : 1, bps = maxval > 255 ? 2 : 1;
    size_t row_bytes = (size_t)w * ch * bps;
    uint8_t *raw = malloc(row_bytes), *g = malloc((size_t)w * h * (size_t)channels);
    if (!raw || !g) {
        free(raw), free(g);
        return cm_fail(CM_ERR_MEMORY, "%s: out of memory for %llux%llu pixels", path, (unsigned long long)w,
                       (unsigned long long)h);
    }
    for (size_t y = 0; y < h; y++) {
        if (fread(raw, 1, row_bytes, f) != row_bytes) {
            free(raw), free(g);
            return cm_fail(CM_ERR_FORMAT, "%s: truncated PNM: %zu of %llu rows of %zu bytes", path, y,
                           (unsigned long long)h, row_bytes);
        }
        row_to_gray(raw, w, ch, bps, (unsigned)maxval, channels, g + y * w * (size_t)channels);
    }
    free(raw);
    *gray = g;
    *width = (int)w;
    *height = (int)h;
    return CM_OK;
}
