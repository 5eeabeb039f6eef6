/* photo_prep.h: a photo (or scan, or drawing) of one handwritten digit to MNIST's 28x28 form,
 * robust to what phone photos bring: lighting gradients and vignettes, grey or tinted paper,
 * thin light strokes, specks and dust, small digits anywhere on a large page.
 *
 * The steps (docs/data.md, "Photos of digits"):
 *   1. a working copy of at most PHOTO_WORK_SIDE pixels a side (area-averaged);
 *   2. the ink's polarity: the side of the median the longer tail of the histogram lies on (dark
 *      ink on light paper is inverted), unless the caller says;
 *   3. the background at a large scale: a low percentile of each cell of a coarse grid, opened
 *      and closed (over 7x7 cells) and smoothed, so strokes vanish and light gradients stay;
 *      ink = (v - bg) / (255 - bg): contrast relative to the local paper;
 *   4. an adaptive threshold on that: the background's own noise (median + 6 MADs), at least 0.06;
 *   5. connected components (8-neighbour) of the ink; the heaviest and those near it form the digit,
 *      small ones far from it (specks, dust) are dropped;
 *   6. a crop to the digit's components (a small digit is read again from the full-size image);
 *   7. MNIST's own steps: grey levels scaled so strokes saturate, the box fitted into 20x20 with its
 *      aspect kept (anti-aliased resampling), centred by centre of mass in 28x28. */
#ifndef CLMNIST_PHOTO_PREP_H
#define CLMNIST_PHOTO_PREP_H
#include <stdint.h>

#include "image.h"
#include "status.h"

#define PHOTO_WORK_SIDE 800

/* gray (h, w) -> out (28x28) in the MNIST convention, as above. Fails (naming `what`) when the
 * image has no pixels or holds no digit. */
cm_status photo_to_mnist(const uint8_t *gray, int w, int h, cm_invert invert, const char *what, uint8_t out[784],
                         cm_prep_info *info);

#endif
