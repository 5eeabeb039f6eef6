/* test_photo.c: the MNIST-style preprocessing of photos (photo_prep.c) against its own clean
 * rendering. Four digit shapes (polylines with anti-aliased round strokes) are drawn here as
 * photos would show them: on white paper (the reference), under a lighting gradient, with a
 * vignette, on grey paper, among specks, with thin light strokes, small and off-centre on a large
 * page, rotated, and as light ink on dark paper. Each must give a 28x28 input whose ink-weighted
 * centre is within 2 pixels of the input made from its clean twin (the same digit, place, size,
 * angle and stroke on white paper), with ink that overlaps it: the intersection over union of the
 * two inputs' pixels of 128 and more at least 0.8, and their normalised correlation at least 0.95
 * (each the best over shifts of up to one pixel, as the centring rounds to whole pixels). A clean digit is not marked
 * unclear; a faint smudge or a page of specks is (or holds no digit). Every image is generated here. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* cmocka last */
#include <cmocka.h>

#include "check.h"
#include "photo_prep.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* Digit shapes: polylines in a unit box (y down), NaN-free, at most 24 points. */
typedef struct {
    int n;
    float p[24][2];
} glyph;

static glyph glyphs[4];

static void make_glyphs(void) {
    glyphs[0] = (glyph){3, {{0.15f, 0.1f}, {0.85f, 0.1f}, {0.4f, 0.95f}}};                   /* 7 */
    glyphs[1] = (glyph){4, {{0.62f, 0.95f}, {0.62f, 0.05f}, {0.1f, 0.65f}, {0.88f, 0.65f}}}; /* 4 */
    glyphs[2] = (glyph){7,
                        {{0.15f, 0.3f},
                         {0.3f, 0.1f},
                         {0.65f, 0.08f},
                         {0.82f, 0.28f},
                         {0.7f, 0.5f},
                         {0.15f, 0.92f},
                         {0.88f, 0.92f}}}; /* 2 */
    glyph o = {17, {{0}}};                 /* 0: an ellipse */
    for (int i = 0; i < 17; i++) {
        double a = 2.0 * M_PI * i / 16;
        o.p[i][0] = (float)(0.5 + 0.33 * cos(a)), o.p[i][1] = (float)(0.5 + 0.45 * sin(a));
    }
    glyphs[3] = o;
}

/* How a page is drawn. */
typedef struct {
    int w, h;
    float cx, cy, size; /* the digit's centre and the side of its unit box, pixels */
    float angle;        /* degrees */
    float stroke;       /* stroke width, relative to size */
    float paper, ink;   /* reflectances */
    float contrast;     /* how much of the ink covers the paper */
    int gradient, vignette, specks;
    float noise; /* grey levels */
} page_spec;

static float seg_dist(float x, float y, const float *a, const float *b) {
    float dx = b[0] - a[0], dy = b[1] - a[1], t = ((x - a[0]) * dx + (y - a[1]) * dy) / (dx * dx + dy * dy);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    float ex = a[0] + t * dx - x, ey = a[1] + t * dy - y;
    return sqrtf(ex * ex + ey * ey);
}

static uint32_t lcg(uint32_t *s) {
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static float unit(uint32_t *s) {
    return (float)(lcg(s) & 0xFFFFF) / (float)0x100000;
}

/* The page as 8-bit grey. */
static uint8_t *render(const glyph *g, const page_spec *ps) {
    uint8_t *img = malloc((size_t)ps->w * ps->h);
    float *a = calloc((size_t)ps->w * ps->h, sizeof(float));
    assert_non_null(img), assert_non_null(a);
    float c = cosf(ps->angle * (float)M_PI / 180), s = sinf(ps->angle * (float)M_PI / 180);
    int r = (int)(ps->size * 0.8f) + 2;
    for (int y = (int)ps->cy - r; y <= (int)ps->cy + r; y++)
        for (int x = (int)ps->cx - r; x <= (int)ps->cx + r; x++) {
            if (x < 0 || y < 0 || x >= ps->w || y >= ps->h) continue;
            float dx = (x + 0.5f - ps->cx) / ps->size, dy = (y + 0.5f - ps->cy) / ps->size;
            float u = c * dx + s * dy + 0.5f, v = -s * dx + c * dy + 0.5f, d = 1e9f;
            for (int i = 0; i + 1 < g->n; i++) {
                float e = seg_dist(u, v, g->p[i], g->p[i + 1]);
                d = e < d ? e : d;
            }
            float cover = (ps->stroke / 2 - d) * ps->size + 0.5f;
            a[(size_t)y * ps->w + x] = (cover < 0 ? 0 : cover > 1 ? 1 : cover) * ps->contrast;
        }
    uint32_t seed = 12345;
    for (int k = 0; k < ps->specks; k++) { /* dark specks and dust, away from the digit */
        float sx, sy;
        do
            sx = unit(&seed) * ps->w, sy = unit(&seed) * ps->h;
        while (fabsf(sx - ps->cx) < ps->size && fabsf(sy - ps->cy) < ps->size);
        float rad = 1.5f + 3.5f * unit(&seed), depth = 0.4f + 0.5f * unit(&seed);
        for (int y = (int)(sy - rad) - 1; y <= (int)(sy + rad) + 1; y++)
            for (int x = (int)(sx - rad) - 1; x <= (int)(sx + rad) + 1; x++) {
                if (x < 0 || y < 0 || x >= ps->w || y >= ps->h) continue;
                float d = sqrtf((x + 0.5f - sx) * (x + 0.5f - sx) + (y + 0.5f - sy) * (y + 0.5f - sy));
                float m = rad + 0.5f - d < 0 ? 0 : rad + 0.5f - d > 1 ? 1 : rad + 0.5f - d;
                a[(size_t)y * ps->w + x] = fmaxf(a[(size_t)y * ps->w + x], depth * m);
            }
    }
    for (int y = 0; y < ps->h; y++)
        for (int x = 0; x < ps->w; x++) {
            float light = 1.0f, fx = (float)x / ps->w, fy = (float)y / ps->h;
            if (ps->gradient) light *= 1.0f - 0.55f * fx;
            if (ps->vignette)
                light *= 1.0f - 0.55f * fminf(1.0f, ((fx - 0.5f) * (fx - 0.5f) + (fy - 0.5f) * (fy - 0.5f)) / 0.5f);
            float al = a[(size_t)y * ps->w + x];
            float v = 255.0f * light * (ps->paper * (1 - al) + ps->ink * al);
            v += ps->noise * (unit(&seed) + unit(&seed) + unit(&seed) - 1.5f) * 2.0f;
            img[(size_t)y * ps->w + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lrintf(v));
        }
    free(a);
    return img;
}

static page_spec clean_spec(void) {
    return (page_spec){.w = 600,
                       .h = 450,
                       .cx = 300,
                       .cy = 225,
                       .size = 260,
                       .stroke = 0.1f,
                       .paper = 0.95f,
                       .ink = 0.05f,
                       .contrast = 1.0f,
                       .noise = 3.0f};
}

static void centre(const uint8_t *m, double *cx, double *cy) {
    double s = 0, sx = 0, sy = 0;
    for (int i = 0; i < 784; i++)
        s += m[i], sx += m[i] * (i % 28), sy += m[i] * (i / 28);
    *cx = sx / s, *cy = sy / s;
}

static double iou(const uint8_t *a, const uint8_t *b) {
    int both = 0, any = 0;
    for (int i = 0; i < 784; i++)
        both += a[i] >= 128 && b[i] >= 128, any += a[i] >= 128 || b[i] >= 128;
    return any ? (double)both / any : 0.0;
}

static double correlation(const uint8_t *a, const uint8_t *b) {
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < 784; i++)
        ma += a[i] / 784.0, mb += b[i] / 784.0;
    for (int i = 0; i < 784; i++)
        sab += (a[i] - ma) * (b[i] - mb), saa += (a[i] - ma) * (a[i] - ma), sbb += (b[i] - mb) * (b[i] - mb);
    return sab / sqrt(saa * sbb);
}

static void prep(const glyph *g, const page_spec *ps, uint8_t out[784], cm_prep_info *info) {
    uint8_t *img = render(g, ps);
    cm_status st = photo_to_mnist(img, ps->w, ps->h, CM_INVERT_AUTO, "page", out, info);
    if (st != CM_OK) fprintf(stderr, "%s\n", cm_last_error());
    assert_int_equal(st, CM_OK);
    free(img);
}

static void test_photo_kinds(void **state) {
    (void)state;
    make_glyphs();
    const char *kinds[] = {"gradient",           "vignette",
                           "grey paper",         "specks",
                           "thin light strokes", "small, off-centre on 2400x1600",
                           "rotated 12 degrees", "inverted (light on dark)"};
    int nkinds = (int)(sizeof kinds / sizeof kinds[0]);
    for (int gi = 0; gi < 4; gi++) {
        page_spec cs = clean_spec();
        uint8_t ref[784], out[784];
        cm_prep_info info;
        prep(&glyphs[gi], &cs, ref, &info);
        assert_int_equal(info.inverted, 1);
        assert_int_equal(info.unclear, 0);
        for (int k = 0; k < nkinds; k++) {
            page_spec ps = clean_spec();
            switch (k) {
            case 0: ps.gradient = 1; break;
            case 1: ps.vignette = 1, ps.cx = 260, ps.cy = 250; break;
            case 2: ps.paper = 0.45f, ps.noise = 5.0f; break;
            case 3: ps.specks = 120; break;
            case 4: ps.stroke = 0.05f, ps.contrast = 0.4f; break;
            case 5: ps.w = 2400, ps.h = 1600, ps.cx = 500, ps.cy = 1150, ps.size = 130; break;
            case 6: ps.angle = 12.0f, ps.gradient = 1, ps.specks = 60; break;
            case 7: ps.paper = 0.08f, ps.ink = 0.9f; break;
            }
            /* its clean twin: the same digit (place, size, angle, stroke) on clean white paper */
            page_spec ts = clean_spec();
            ts.w = ps.w, ts.h = ps.h, ts.cx = ps.cx, ts.cy = ps.cy, ts.size = ps.size, ts.angle = ps.angle;
            ts.stroke = ps.stroke;
            uint8_t twin[784];
            prep(&glyphs[gi], &ts, twin, &info);
            prep(&glyphs[gi], &ps, out, &info);
            double x, y, tx, ty, j = 0.0, r = -1.0;
            for (int sy = -1; sy <= 1; sy++) /* the best of the shifts of up to a pixel: the centring rounds */
                for (int sx = -1; sx <= 1; sx++) {
                    uint8_t moved[784] = {0};
                    for (int p = 0; p < 784; p++) {
                        int X = p % 28 + sx, Y = p / 28 + sy;
                        if (X >= 0 && Y >= 0 && X < 28 && Y < 28) moved[Y * 28 + X] = out[p];
                    }
                    j = fmax(j, iou(twin, moved)), r = fmax(r, correlation(twin, moved));
                }
            centre(out, &x, &y);
            centre(twin, &tx, &ty);
            double dist = hypot(x - tx, y - ty);
            if (getenv("VERBOSE") || dist > 2.0 || r < 0.95 || j < 0.8 || info.inverted != (k != 7))
                fprintf(stderr, "glyph %d, %s: centre off by %.2f px, IoU %.3f, correlation %.3f, inverted %d\n", gi,
                        kinds[k], dist, j, r, info.inverted);
            for (int row = 0; getenv("VERBOSE") && j < 0.6 && row < 28; row++) {
                for (int col = 0; col < 56; col++)
                    fputc((col < 28 ? twin[row * 28 + col] : out[row * 28 + col - 28]) >= 128 ? '#' : '.', stderr);
                fputc('\n', stderr);
            }
            assert_true(dist <= 2.0);
            assert_true(r >= 0.95);
            assert_true(j >= 0.8);
            assert_int_equal(info.inverted, k != 7);
        }
        (void)ref;
    }
}

/* A faint smudge, or a page of specks and no digit: marked unclear, or no digit at all. */
static void test_photo_unclear(void **state) {
    (void)state;
    make_glyphs();
    uint8_t out[784];
    cm_prep_info info;
    page_spec ps = clean_spec();
    ps.contrast = 0.1f, ps.noise = 1.0f;
    uint8_t *img = render(&glyphs[0], &ps);
    cm_status st = photo_to_mnist(img, ps.w, ps.h, CM_INVERT_AUTO, "faint", out, &info);
    assert_true(st == CM_ERR_FORMAT || info.unclear);
    free(img);
    ps = clean_spec();
    ps.contrast = 0.0f, ps.specks = 60;
    img = render(&glyphs[0], &ps);
    st = photo_to_mnist(img, ps.w, ps.h, CM_INVERT_AUTO, "specks", out, &info);
    assert_true(st == CM_ERR_FORMAT || info.unclear);
    free(img);
    /* a blank page: no digit, one line naming it */
    ps.specks = 0;
    img = render(&glyphs[0], &ps);
    assert_int_equal(photo_to_mnist(img, ps.w, ps.h, CM_INVERT_AUTO, "blank.png", out, &info), CM_ERR_FORMAT);
    assert_non_null(strstr(cm_last_error(), "blank.png: no digit"));
    free(img);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_photo_kinds),
        cmocka_unit_test(test_photo_unclear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
