/* batch.cl: the batch builder.
 *
 * kernel_gather  2-D range: dim 0 over dim (pixels), dim 1 over rows.
 *   src (N, dim) uint8 images, labels (N) uint8, idx int32 row indices starting at idx_off:
 *   x (rows, dim) = src[idx[idx_off + r], :] * scale    (float32, e.g. scale = 1/255)
 *   y (rows)      = labels[idx[idx_off + r]]            (int32) */

__kernel void kernel_gather(const __global uchar *src, const __global uchar *labels, const __global int *idx,
                            const uint idx_off, const int rows, const int dim, const float scale, __global float *x,
                            __global int *y) {
    const int c = (int)get_global_id(0), r = (int)get_global_id(1);
    if (c >= dim || r >= rows) return;
    const size_t row = (size_t)idx[idx_off + r];
    x[(size_t)r * dim + c] = (float)src[row * dim + c] * scale;
    if (c == 0) y[r] = labels[row];
}

/* kernel_gather_augment  as kernel_gather for images of channels planes of height x width
 *   (dim = channels * height * width; one transform for all planes of an image),
 *   but row r is sampled through its own random affine transform (bilinear, zero outside), keyed by
 *   its place R = row0 + r in the global batch (row0: where a rank's share starts; 0 alone):
 *   u0..u3 = unit(Philox(key (seed_lo, seed_hi ^ TAG_AUGMENT), counter (R, 0, step_lo, step_hi)))
 *   shift (tx, ty) = shift * (2 u0 - 1, 2 u1 - 1); angle = rotate * (2 u2 - 1) degrees;
 *   s = 1 + scale * (2 u3 - 1); output pixel p maps to source R(-angle) (p - c - t) / s + c,
 *   c the image centre; with flip > 0, output column j reads column width-1-j first when
 *   unit(Philox(key, counter (R, 1, step_lo, step_hi)).x) < flip (a mirror image); with crop > 0,
 *   v = Philox(key, counter (R, 2, step_lo, step_hi)) adds the whole-pixel shift
 *   (min(floor(unit(v.x) (2 crop + 1)), 2 crop) - crop, the same from v.y) to (tx, ty).
 *   The host twin is host_gather_augment (backend_host.c). */
inline float cm_pixel_at(const __global uchar *img, int height, int width, int yy, int xx) {
    return yy >= 0 && yy < height && xx >= 0 && xx < width ? (float)img[yy * width + xx] : 0.0f;
}

__kernel void kernel_gather_augment(const __global uchar *src, const __global uchar *labels, const __global int *idx,
                                    const uint idx_off, const int rows, const int height, const int width,
                                    const float scale, const float shift, const float rotate, const float zoom,
                                    const float flip,
                                    const uint seed_lo, const uint seed_hi, const uint step_lo, const uint step_hi,
                                    const uint row0, __global float *x, __global int *y, const int channels,
                                    const int crop) {
    const int r = (int)get_global_id(1), plane = height * width, dim = channels * plane;
    if (r >= rows) return;
    const size_t row = (size_t)idx[idx_off + r];
    const uint4 u = cm_philox4x32_10((uint4)(row0 + (uint)r, 0u, step_lo, step_hi), (uint2)(seed_lo, seed_hi ^ CM_PHILOX_TAG_AUGMENT));
    float tx = shift * (2.0f * cm_philox_unit(u.x) - 1.0f);
    float ty = shift * (2.0f * cm_philox_unit(u.y) - 1.0f);
    const float th = rotate * (2.0f * cm_philox_unit(u.z) - 1.0f) * 0.017453292519943295f;
    const float s = 1.0f + zoom * (2.0f * cm_philox_unit(u.w) - 1.0f);
    const float cs = rotate != 0.0f ? cos(th) : 1.0f, sn = rotate != 0.0f ? sin(th) : 0.0f;
    const float ia = cs / s, ib = sn / s;
    const float cx = (float)(width - 1) * 0.5f, cy = (float)(height - 1) * 0.5f;
    int mirror = 0;
    if (flip > 0.0f)
        mirror = cm_philox_unit(cm_philox4x32_10((uint4)(row0 + (uint)r, 1u, step_lo, step_hi),
                                                 (uint2)(seed_lo, seed_hi ^ CM_PHILOX_TAG_AUGMENT)).x) < flip;
    if (crop > 0) { /* pad by crop and cut at a uniform offset: a whole-pixel shift in [-crop, crop] */
        const uint4 v = cm_philox4x32_10((uint4)(row0 + (uint)r, 2u, step_lo, step_hi),
                                         (uint2)(seed_lo, seed_hi ^ CM_PHILOX_TAG_AUGMENT));
        const int ox = min((int)(cm_philox_unit(v.x) * (float)(2 * crop + 1)), 2 * crop);
        const int oy = min((int)(cm_philox_unit(v.y) * (float)(2 * crop + 1)), 2 * crop);
        tx += (float)(ox - crop);
        ty += (float)(oy - crop);
    }
    /* the transform once per image; dim 0 strides over its pixels (a loop on CPU devices), each
     * pixel for every channel plane */
    for (int p = (int)get_global_id(0); p < plane; p += (int)get_global_size(0)) {
        const int i = p / width, j = p - i * width;
        const float dx = (float)(mirror ? width - 1 - j : j) - cx - tx, dy = (float)i - cy - ty;
        const float xs = ia * dx + ib * dy + cx, ys = -ib * dx + ia * dy + cy;
        const float x0 = floor(xs), y0 = floor(ys), fx = xs - x0, fy = ys - y0;
        const int xi = (int)x0, yi = (int)y0;
        for (int ch = 0; ch < channels; ch++) {
            const __global uchar *img = src + row * dim + (size_t)ch * plane;
            const float top = (1.0f - fx) * cm_pixel_at(img, height, width, yi, xi) + fx * cm_pixel_at(img, height, width, yi, xi + 1);
            const float bot = (1.0f - fx) * cm_pixel_at(img, height, width, yi + 1, xi) + fx * cm_pixel_at(img, height, width, yi + 1, xi + 1);
            x[(size_t)r * dim + (size_t)ch * plane + p] = ((1.0f - fy) * top + fy * bot) * scale;
        }
    }
    if (get_global_id(0) == 0) y[r] = labels[row];
}

/* kernel_channel_affine  per-channel input normalisation in place over x (B, C, HW) of n values:
 *   x = x * mul[c] + add[c], c = (i / hw) % channels; mul and add hold up to 4 channels. */
__kernel void kernel_channel_affine(__global float *x, const int channels, const int hw, const ulong n,
                                    const float4 mul, const float4 add) {
    const size_t i = get_global_id(0);
    if (i >= n) return;
    const int c = (int)((i / (size_t)hw) % (size_t)channels);
    const float m = c == 0 ? mul.x : c == 1 ? mul.y : c == 2 ? mul.z : mul.w;
    const float a = c == 0 ? add.x : c == 1 ? add.y : c == 2 ? add.z : add.w;
    x[i] = x[i] * m + a;
}
