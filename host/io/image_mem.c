/* image_mem.c: an in-memory image to 8-bit gray through stb_image (see image_mem.h). */
#include "clmnist/image_mem.h"

#include <limits.h>
#include <stb_image.h>
#include <stdlib.h>

cm_status image_decode_gray_mem(const uint8_t *buf, size_t len, const char *what, uint8_t **pixels, int *w, int *h) {
    *pixels = NULL;
    *w = *h = 0;
    if (!buf || len == 0) return cm_fail(CM_ERR_FORMAT, "%s: empty image", what);
    if (len > INT_MAX) return cm_fail(CM_ERR_FORMAT, "%s: %zu bytes is too large", what, len);
    int iw, ih, n;
    if (!stbi_info_from_memory(buf, (int)len, &iw, &ih, &n))
        return cm_fail(CM_ERR_FORMAT, "%s: not a readable image (%s)", what, stbi_failure_reason());
    if (iw < 1 || ih < 1) return cm_fail(CM_ERR_FORMAT, "%s: the image is %dx%d: no pixels", what, iw, ih);
    if ((size_t)iw * (size_t)ih > CM_IMAGE_MAX_PIXELS)
        return cm_fail(CM_ERR_FORMAT, "%s: %dx%d is too large (at most %zu pixels)", what, iw, ih, CM_IMAGE_MAX_PIXELS);
    unsigned char *ga = stbi_load_from_memory(buf, (int)len, &iw, &ih, &n, 2); /* gray + alpha */
    if (!ga) return cm_fail(CM_ERR_FORMAT, "%s: not a readable image (%s)", what, stbi_failure_reason());
    /* the decoder's own size, checked again: the header read above and the decode must agree */
    if (iw < 1 || ih < 1 || (size_t)iw * (size_t)ih > CM_IMAGE_MAX_PIXELS) {
        stbi_image_free(ga);
        return cm_fail(CM_ERR_FORMAT, "%s: the image is %dx%d: not a size this reads", what, iw, ih);
    }
    size_t np = (size_t)iw * (size_t)ih;
    uint8_t *g = malloc(np);
    if (!g) {
        stbi_image_free(ga);
        return cm_fail(CM_ERR_MEMORY, "%s: out of memory", what);
    }
    for (size_t i = 0; i < np; i++) { /* composite over white paper */
        unsigned v = ga[2 * i], a = ga[2 * i + 1];
        g[i] = (uint8_t)((v * a + 255u * (255u - a) + 127u) / 255u);
    }
    stbi_image_free(ga);
    *pixels = g;
    *w = iw;
    *h = ih;
    return CM_OK;
}
