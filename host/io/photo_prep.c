/* photo_prep.c: a photo of a digit to MNIST's 28x28 form (the steps are in photo_prep.h). */
#include "photo_prep.h"

#include <math.h>
#include <stb_image_resize.h>
#include <stdlib.h>
#include <string.h>

#define SIDE 28
#define BOX 20
#define GRID 32        /* background cells along the longer side */
#define OPEN_R 3       /* the background's opening: radius in cells */
#define CELL_PCT 0.3   /* the background level of a cell: this percentile of it (ink is bright) */
#define MIN_T 0.06f    /* the ink threshold's floor (contrast relative to the paper) */
#define REREAD_SIDE 64 /* a digit smaller than this at the working size is read again at full size */

/* The working copy: the image area-averaged by an integer factor f to at most PHOTO_WORK_SIDE a side,
 * then per-pixel maps over it. */
typedef struct {
    int w, h, f;
    float *v;     /* pixel levels 0..255, ink bright (inverted when the ink is dark) */
    float *ink;   /* (v - background) / (255 - background) */
    int32_t *lab; /* component of each pixel above the threshold, 0: none */
} work;

typedef struct {
    double mass;
    int area, x0, y0, x1, y1;
} comp;

static void work_free(work *k) {
    free(k->v), free(k->ink), free(k->lab);
}

static float *downsample(const uint8_t *g, int w, int h, int f, int *ow, int *oh) {
    int W = (w + f - 1) / f, H = (h + f - 1) / f;
    float *o = calloc((size_t)W * H, sizeof(float));
    if (!o) return NULL;
    for (int Y = 0; Y < H; Y++) {
        int rows = (Y + 1) * f <= h ? f : h - Y * f;
        float *row = o + (size_t)Y * W;
        for (int y = Y * f; y < Y * f + rows; y++)
            for (int x = 0; x < w; x++)
                row[x / f] += g[(size_t)y * w + x];
        for (int X = 0; X < W; X++)
            row[X] /= (float)rows * (float)((X + 1) * f <= w ? f : w - X * f);
    }
    *ow = W, *oh = H;
    return o;
}

/* The value under which a fraction q of a histogram's `total` counts lie (bin index). */
static int hist_pct(const uint32_t *hist, int bins, uint64_t total, double q) {
    uint64_t want = (uint64_t)(q * (double)total), seen = 0;
    for (int b = 0; b < bins; b++)
        if ((seen += hist[b]) > want) return b;
    return bins - 1;
}

/* Dark ink on light paper? The darkest and lightest few pixels (after the averaging) against the
 * median: ink is the extreme that lies further from it. */
static int dark_ink(const float *v, size_t n, double *margin) {
    uint32_t hist[256] = {0};
    for (size_t i = 0; i < n; i++)
        hist[(int)v[i]]++;
    double lo = hist_pct(hist, 256, n, 0.0002), m = hist_pct(hist, 256, n, 0.5), hi = hist_pct(hist, 256, n, 0.9998);
    *margin = fabs((m - lo) - (hi - m));
    if (*margin < 8.0) return m > 127.0;
    return m - lo > hi - m;
}

/* Min (sign 1) or max (sign -1) over a (2r+1) square of a gw x gh grid, separably. */
static void grid_filter(float *g, float *tmp, int gw, int gh, int r, int sign) {
    for (int pass = 0; pass < 2; pass++) {
        const float *src = pass ? tmp : g;
        float *dst = pass ? g : tmp;
        for (int y = 0; y < gh; y++)
            for (int x = 0; x < gw; x++) {
                float best = src[y * gw + x];
                for (int d = -r; d <= r; d++) {
                    int xx = pass ? x : x + d, yy = pass ? y + d : y;
                    if (xx < 0 || yy < 0 || xx >= gw || yy >= gh) continue;
                    float s = src[yy * gw + xx];
                    if (sign > 0 ? s < best : s > best) best = s;
                }
                dst[y * gw + x] = best;
            }
    }
}

/* A cell's background level: the CELL_PCT percentile of its pixels. */
static float cell_level(const work *k, int c, int cx, int cy) {
    uint32_t hist[256] = {0};
    int x1 = (cx + 1) * c < k->w ? (cx + 1) * c : k->w, y1 = (cy + 1) * c < k->h ? (cy + 1) * c : k->h;
    for (int y = cy * c; y < y1; y++)
        for (int x = cx * c; x < x1; x++)
            hist[(int)k->v[(size_t)y * k->w + x]]++;
    return (float)hist_pct(hist, 256, (uint64_t)(x1 - cx * c) * (uint64_t)(y1 - cy * c), CELL_PCT);
}

/* The background at a large scale on a coarse grid: cell levels, opened and closed (features
 * narrower than the window vanish, smooth light stays), smoothed 3x3; then ink = contrast over it,
 * bilinearly. */
static cm_status contrast_map(work *k) {
    int c = (k->w > k->h ? k->w : k->h) / GRID;
    if (c < 2) c = 2;
    int gw = (k->w + c - 1) / c, gh = (k->h + c - 1) / c;
    float *g = malloc(sizeof(float) * (size_t)gw * gh), *t = malloc(sizeof(float) * (size_t)gw * gh);
    if (!g || !t) return free(g), free(t), CM_ERR_MEMORY;
    for (int y = 0; y < gh; y++)
        for (int x = 0; x < gw; x++)
            g[y * gw + x] = cell_level(k, c, x, y);
    grid_filter(g, t, gw, gh, OPEN_R, 1); /* opened: bright strokes go */
    grid_filter(g, t, gw, gh, OPEN_R, -1);
    grid_filter(g, t, gw, gh, OPEN_R, -1); /* closed: so do dark holes (dark ink with --invert no) */
    grid_filter(g, t, gw, gh, OPEN_R, 1);
    for (int y = 0; y < gh; y++) /* 3x3 mean */
        for (int x = 0; x < gw; x++) {
            float s = 0.0f;
            int n = 0;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++)
                    if (x + dx >= 0 && y + dy >= 0 && x + dx < gw && y + dy < gh) s += g[(y + dy) * gw + x + dx], n++;
            t[y * gw + x] = s / (float)n;
        }
    for (int y = 0; y < k->h; y++) {
        float fy = (y + 0.5f) / c - 0.5f;
        int y0 = fy < 0 ? 0 : (int)fy, y1 = y0 + 1 < gh ? y0 + 1 : gh - 1;
        float ay = fy < 0 ? 0.0f : fy - y0 > 1.0f ? 1.0f : fy - y0;
        for (int x = 0; x < k->w; x++) {
            float fx = (x + 0.5f) / c - 0.5f;
            int x0 = fx < 0 ? 0 : (int)fx, x1 = x0 + 1 < gw ? x0 + 1 : gw - 1;
            float ax = fx < 0 ? 0.0f : fx - x0 > 1.0f ? 1.0f : fx - x0;
            float top = t[y0 * gw + x0] * (1 - ax) + t[y0 * gw + x1] * ax;
            float bot = t[y1 * gw + x0] * (1 - ax) + t[y1 * gw + x1] * ax;
            float bg = top * (1 - ay) + bot * ay, den = 255.0f - bg < 32.0f ? 32.0f : 255.0f - bg;
            k->ink[(size_t)y * k->w + x] = (k->v[(size_t)y * k->w + x] - bg) / den;
        }
    }
    free(g), free(t);
    return CM_OK;
}

/* The ink threshold: the background's noise (median + 6 MADs of the contrast), at least MIN_T. */
static float threshold(const work *k) {
    enum { BINS = 2048 };
    uint32_t *hist = calloc(BINS, sizeof(uint32_t));
    size_t n = (size_t)k->w * k->h;
    if (!hist) return 0.25f;
    for (size_t i = 0; i < n; i++) {
        int b = (int)((k->ink[i] + 1.0f) * (BINS / 2));
        hist[b < 0 ? 0 : b >= BINS ? BINS - 1 : b]++;
    }
    int med = hist_pct(hist, BINS, n, 0.5);
    uint32_t *dev = calloc(BINS, sizeof(uint32_t));
    for (int b = 0; dev && b < BINS; b++)
        dev[abs(b - med)] += hist[b];
    double mad = dev ? hist_pct(dev, BINS, n, 0.5) / (double)(BINS / 2) : 0.1;
    float t = (float)((med + 0.5) / (BINS / 2) - 1.0 + 6.0 * 1.4826 * mad);
    free(hist), free(dev);
    return t < MIN_T ? MIN_T : t > 0.4f ? 0.4f : t;
}

/* 8-neighbour components of ink > t into k->lab (1-based) and their stats; *n their count. */
static cm_status components(work *k, float t, comp **out, int *n) {
    size_t npx = (size_t)k->w * k->h;
    int32_t *stack = malloc(sizeof(int32_t) * npx);
    int cap = 64, nc = 0;
    comp *cs = malloc(sizeof(comp) * (size_t)cap);
    if (!stack || !cs) return free(stack), free(cs), cm_fail(CM_ERR_MEMORY, "out of host memory");
    memset(k->lab, 0, sizeof(int32_t) * npx);
    for (size_t s = 0; s < npx; s++) {
        if (k->lab[s] || k->ink[s] <= t) continue;
        if (nc == cap) {
            comp *more = realloc(cs, sizeof(comp) * (size_t)(cap *= 2));
            if (!more) return free(stack), free(cs), cm_fail(CM_ERR_MEMORY, "out of host memory");
            cs = more;
        }
        comp *c = &cs[nc++];
        *c = (comp){0, 0, k->w, k->h, -1, -1};
        size_t top = 0;
        stack[top++] = (int32_t)s, k->lab[s] = nc;
        while (top) {
            int32_t p = stack[--top], x = p % k->w, y = p / k->w;
            c->mass += k->ink[p], c->area++;
            if (x < c->x0) c->x0 = x;
            if (x > c->x1) c->x1 = x;
            if (y < c->y0) c->y0 = y;
            if (y > c->y1) c->y1 = y;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = x + dx, yy = y + dy;
                    if (xx < 0 || yy < 0 || xx >= k->w || yy >= k->h) continue;
                    size_t q = (size_t)yy * k->w + xx;
                    if (!k->lab[q] && k->ink[q] > t) k->lab[q] = nc, stack[top++] = (int32_t)q;
                }
        }
    }
    free(stack);
    *out = cs, *n = nc;
    return CM_OK;
}

/* The gap between two boxes, in pixels (0 when they touch or overlap). */
static int box_gap(const comp *a, const comp *b) {
    int gx = a->x0 - b->x1 - 1 > b->x0 - a->x1 - 1 ? a->x0 - b->x1 - 1 : b->x0 - a->x1 - 1;
    int gy = a->y0 - b->y1 - 1 > b->y0 - a->y1 - 1 ? a->y0 - b->y1 - 1 : b->y0 - a->y1 - 1;
    int g = gx > gy ? gx : gy;
    return g > 0 ? g : 0;
}

/* The digit: the heaviest component, then each near the digit so far (within a quarter of its
 * size for a part of 3% of its mass or more, 4% of it for a smaller one); keep[i] marks them, *u
 * their box and mass; other ink of some weight (0.2% of the heaviest or more) goes into *other. */
static void select_digit(const comp *cs, int nc, uint8_t *keep, comp *u, double *other, int *dropped) {
    int main = 0;
    for (int i = 1; i < nc; i++)
        if (cs[i].mass > cs[main].mass) main = i;
    memset(keep, 0, (size_t)nc);
    keep[main] = 1, *u = cs[main];
    for (int changed = 1, pass = 0; changed && pass < 16; pass++) {
        changed = 0;
        int size = u->x1 - u->x0 > u->y1 - u->y0 ? u->x1 - u->x0 + 1 : u->y1 - u->y0 + 1;
        for (int i = 0; i < nc; i++) {
            if (keep[i] || cs[i].mass < 0.002 * cs[main].mass) continue;
            double near = cs[i].mass >= 0.03 * cs[main].mass ? 0.25 * size : 0.04 * size;
            if (box_gap(&cs[i], u) > near + 1.0) continue;
            keep[i] = 1, changed = 1;
            u->mass += cs[i].mass, u->area += cs[i].area;
            u->x0 = cs[i].x0 < u->x0 ? cs[i].x0 : u->x0, u->y0 = cs[i].y0 < u->y0 ? cs[i].y0 : u->y0;
            u->x1 = cs[i].x1 > u->x1 ? cs[i].x1 : u->x1, u->y1 = cs[i].y1 > u->y1 ? cs[i].y1 : u->y1;
        }
    }
    *other = 0.0, *dropped = 0;
    for (int i = 0; i < nc; i++)
        if (!keep[i] && cs[i].mass >= 0.002 * cs[main].mass) *other += cs[i].mass, (*dropped)++;
}

/* A pixel of the digit, or next to one (its anti-aliased edge). */
static int near_digit(const work *k, const uint8_t *keep, int x, int y) {
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
            int xx = x + dx, yy = y + dy;
            if (xx < 0 || yy < 0 || xx >= k->w || yy >= k->h) continue;
            int32_t l = k->lab[(size_t)yy * k->w + xx];
            if (l && keep[l - 1]) return 1;
        }
    return 0;
}

/* The digit's grey levels over the working image (overwrites k->v): contrast from lo (half the
 * threshold) to its 60th percentile (so that strokes saturate, as MNIST's do) mapped to 0..1,
 * zero away from its components; *peak that percentile. */
static void digit_levels(work *k, const uint8_t *keep, float t, float *peak) {
    uint32_t hist[256] = {0};
    uint64_t n = 0;
    size_t npx = (size_t)k->w * k->h;
    for (size_t i = 0; i < npx; i++)
        if (k->lab[i] && keep[k->lab[i] - 1]) {
            int b = (int)(k->ink[i] * 255.0f);
            hist[b < 0 ? 0 : b > 255 ? 255 : b]++, n++;
        }
    float top = (hist_pct(hist, 256, n, 0.6) + 0.5f) / 255.0f, lo = 0.5f * t;
    if (top < t) top = t;
    for (int y = 0; y < k->h; y++)
        for (int x = 0; x < k->w; x++) {
            size_t i = (size_t)y * k->w + x;
            float s = (k->ink[i] - lo) / (top - lo);
            k->v[i] = s <= 0.0f || !near_digit(k, keep, x, y) ? 0.0f : s >= 1.0f ? 1.0f : s;
        }
    *peak = top;
}

/* MNIST's own steps on the levels m (0..1, row stride `stride`): the box of levels of 0.1 and more
 * is scaled so its longer side is 20 (aspect kept), and placed in 28x28 with its centre of mass at
 * the centre (the test set's mean centre of mass, in pixel indices, is (14.00, 13.99)). */
static cm_status mnist_place(const float *m, int w, int h, const char *what, uint8_t out[784]) {
    int x0 = w, y0 = h, x1 = -1, y1 = -1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (m[(size_t)y * w + x] >= 0.1f) {
                x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
                y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
            }
    if (x1 < 0) return cm_fail(CM_ERR_FORMAT, "%s: no digit found (the image is blank)", what);
    int bw = x1 - x0 + 1, bh = y1 - y0 + 1;
    double s = (double)BOX / (bw > bh ? bw : bh);
    int tw = (int)lround(bw * s), th = (int)lround(bh * s);
    tw = tw < 1 ? 1 : tw, th = th < 1 ? 1 : th;
    float box[BOX * BOX];
    if (!stbir_resize_float(m + (size_t)y0 * w + x0, bw, bh, (int)(w * sizeof(float)), box, tw, th,
                            (int)(tw * sizeof(float)), 1))
        return cm_fail(CM_ERR_MEMORY, "%s: cannot resize %dx%d to %dx%d", what, bw, bh, tw, th);
    double mass = 0.0, mx = 0.0, my = 0.0;
    for (int y = 0; y < th; y++)
        for (int x = 0; x < tw; x++) {
            double v = box[y * tw + x] > 0.0f ? box[y * tw + x] : 0.0;
            mass += v, mx += v * x, my += v * y;
        }
    int ox = (int)lround(SIDE / 2.0 - mx / mass), oy = (int)lround(SIDE / 2.0 - my / mass);
    memset(out, 0, SIDE * SIDE);
    for (int y = 0; y < th; y++)
        for (int x = 0; x < tw; x++) {
            int X = x + ox, Y = y + oy;
            if (X < 0 || Y < 0 || X >= SIDE || Y >= SIDE) continue;
            float v = box[y * tw + x] * 255.0f;
            out[Y * SIDE + X] = (uint8_t)(v <= 0.0f ? 0 : v >= 255.0f ? 255 : lrintf(v));
        }
    return CM_OK;
}

/* The working copy of gray with its ink bright; polarity from `invert` (AUTO: dark_ink). A
 * polarity forced against a clear verdict (the ink is all on the other side) finds no digit. */
static cm_status work_open(const uint8_t *gray, int w, int h, cm_invert invert, const char *what, work *k, int *inv) {
    int big = w > h ? w : h;
    *k = (work){.f = (big + PHOTO_WORK_SIDE - 1) / PHOTO_WORK_SIDE};
    k->v = downsample(gray, w, h, k->f, &k->w, &k->h);
    size_t n = (size_t)k->w * k->h;
    k->ink = malloc(sizeof(float) * n), k->lab = malloc(sizeof(int32_t) * n);
    if (!k->v || !k->ink || !k->lab) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    double margin;
    int dark = dark_ink(k->v, n, &margin);
    *inv = invert == CM_INVERT_YES || (invert == CM_INVERT_AUTO && dark);
    if (invert != CM_INVERT_AUTO && *inv != dark && margin >= 96.0)
        return cm_fail(CM_ERR_FORMAT, "%s: no digit found (the ink is %s: check --invert)", what,
                       dark ? "dark on light" : "light on dark");
    for (size_t i = 0; *inv && i < n; i++)
        k->v[i] = 255.0f - k->v[i];
    return CM_OK;
}

static cm_status photo_run(const uint8_t *gray, int w, int h, cm_invert invert, const char *what, int depth,
                           uint8_t out[784], cm_prep_info *info);

/* A digit small at the working size, read again from the full-size image: its box widened by its
 * size on each side, with the polarity found. 1 when that worked. */
static int reread(const uint8_t *gray, int w, int h, const work *k, const comp *u, const cm_prep_info *info,
                  const char *what, uint8_t out[784]) {
    int size = (u->x1 - u->x0 > u->y1 - u->y0 ? u->x1 - u->x0 + 1 : u->y1 - u->y0 + 1) * k->f;
    int x0 = u->x0 * k->f - size, y0 = u->y0 * k->f - size;
    int x1 = (u->x1 + 1) * k->f + size, y1 = (u->y1 + 1) * k->f + size;
    x0 = x0 < 0 ? 0 : x0, y0 = y0 < 0 ? 0 : y0, x1 = x1 > w ? w : x1, y1 = y1 > h ? h : y1;
    uint8_t *sub = malloc((size_t)(x1 - x0) * (size_t)(y1 - y0));
    if (!sub) return 0;
    for (int y = y0; y < y1; y++)
        memcpy(sub + (size_t)(y - y0) * (x1 - x0), gray + (size_t)y * w + x0, (size_t)(x1 - x0));
    cm_prep_info again;
    cm_status st =
        photo_run(sub, x1 - x0, y1 - y0, info->inverted ? CM_INVERT_YES : CM_INVERT_NO, what, 1, out, &again);
    free(sub);
    return st == CM_OK;
}

static cm_status photo_run(const uint8_t *gray, int w, int h, cm_invert invert, const char *what, int depth,
                           uint8_t out[784], cm_prep_info *info) {
    work k;
    comp *cs = NULL, u;
    uint8_t *keep = NULL;
    int nc = 0;
    memset(info, 0, sizeof *info);
    cm_status st = work_open(gray, w, h, invert, what, &k, &info->inverted);
    if (st == CM_OK && contrast_map(&k) != CM_OK) st = cm_fail(CM_ERR_MEMORY, "%s: out of host memory", what);
    float t = st == CM_OK ? threshold(&k) : 0.0f, peak = 0.0f;
    if (st == CM_OK) st = components(&k, t, &cs, &nc);
    if (st == CM_OK && nc == 0)
        st = cm_fail(CM_ERR_FORMAT, "%s: no digit found (the image is blank%s)", what,
                     invert == CM_INVERT_AUTO ? "" : "; check --invert");
    if (st == CM_OK && !(keep = malloc((size_t)nc))) st = cm_fail(CM_ERR_MEMORY, "%s: out of host memory", what);
    if (st == CM_OK) {
        double other;
        select_digit(cs, nc, keep, &u, &other, &info->dropped);
        digit_levels(&k, keep, t, &peak);
        info->contrast = peak > 1.0f ? 1.0f : peak;
        int edge = u.x0 == 0 || u.y0 == 0 || u.x1 == k.w - 1 || u.y1 == k.h - 1;
        info->unclear = peak < 0.2f || edge || other >= 0.5 * u.mass;
        int side = u.x1 - u.x0 > u.y1 - u.y0 ? u.x1 - u.x0 + 1 : u.y1 - u.y0 + 1;
        if (depth > 0 || k.f == 1 || side >= REREAD_SIDE || !reread(gray, w, h, &k, &u, info, what, out))
            st = mnist_place(k.v, k.w, k.h, what, out);
    }
    free(cs), free(keep);
    work_free(&k);
    return st;
}

cm_status photo_to_mnist(const uint8_t *gray, int w, int h, cm_invert invert, const char *what, uint8_t out[784],
                         cm_prep_info *info) {
    cm_prep_info scratch;
    if (!info) info = &scratch;
    memset(info, 0, sizeof *info);
    if (w < 1 || h < 1) return cm_fail(CM_ERR_FORMAT, "%s: the image is %dx%d: no pixels", what, w, h);
    return photo_run(gray, w, h, invert, what, 0, out, info);
}
