/* fuzz_image.c: libFuzzer target for image decoding and MNIST preprocessing, as `predict` runs
 * them: image_decode_gray_mem (PNG through libpng, JPEG through libjpeg-turbo, PGM/PPM by our
 * parser, chosen by the first bytes), then image_to_mnist with each --invert mode (only `auto`,
 * predict's default, for images over 2^16 pixels, to keep executions fast). */
#include <stdint.h>
#include <stdlib.h>

#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *gray = NULL;
    int w = 0, h = 0;
    if (image_decode_gray_mem(data, size, "fuzz", &gray, &w, &h) == CM_OK) {
        static const cm_invert modes[3] = {CM_INVERT_AUTO, CM_INVERT_YES, CM_INVERT_NO};
        int nmodes = (size_t)w * (size_t)h <= ((size_t)1 << 16) ? 3 : 1;
        for (int k = 0; k < nmodes; k++) {
            uint8_t out[784];
            int inverted;
            (void)image_to_mnist(gray, w, h, modes[k], "fuzz", out, &inverted);
        }
        free(gray);
    }
    cm_clear_error();
    return 0;
}
