/* test_image.c: image_load_gray, the decoding in front of predict, on good files (PNG gray and
 * RGBA, JPEG gray and colour, PGM/PPM 8- and 16-bit: pixels against the source) and on hostile
 * ones: the problem classes a fuzzing run found in stb_image 2.27 (JPEG Huffman code counts over
 * 256, 16-bit PNM, overflowing PNM header numbers, a 10-byte GIF claiming 65535x65535),
 * truncated files, and zero or huge sides in each format's header. Each bad file must fail with
 * one line naming the file and print nothing itself. Every input is generated here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <unistd.h>
/* cmocka last */
#include <cmocka.h>
#include <jpeglib.h>
#include <stb_image_write.h>

#include "check.h"
#include "image.h"

static char dir[256];

static const char *tmp(const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static int setup(void **state) {
    snprintf(dir, sizeof dir, "/tmp/clmnist-test-image-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

/* Expected gray of an RGB(A) pixel: the documented luma weights, then alpha over white. */
static uint8_t expect_gray(unsigned r, unsigned g, unsigned b, unsigned a) {
    unsigned y = (77 * r + 150 * g + 29 * b) / 256;
    return (uint8_t)((y * a + 255 * (255 - a) + 127) / 255);
}

/* A w x h pattern with every byte value, some structure and some noise. */
static uint8_t *pattern(int w, int h, int ch, unsigned seed) {
    uint8_t *p = malloc((size_t)w * h * ch);
    for (size_t i = 0; i < (size_t)w * h * ch; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(i % 3 == 0 ? i * 11 : seed >> 16);
    }
    return p;
}

/* Decodes path expecting success; returns the pixels after checking the size. */
static uint8_t *load_ok(const char *path, int w, int h) {
    uint8_t *g = NULL;
    int gw = 0, gh = 0;
    cm_status st = image_load_gray(path, &g, &gw, &gh);
    if (st != CM_OK) fail_msg("%s", cm_last_error());
    assert_int_equal(gw, w);
    assert_int_equal(gh, h);
    return g;
}

/* Decodes path with stderr sent to a file: it must fail with `code`, a one-line message naming
 * the file and containing `what`, no pixels, and nothing written to stderr. */
static void expect_fail(const char *path, cm_status code, const char *what) {
    fflush(stderr);
    int saved = dup(2);
    FILE *cap = tmpfile();
    dup2(fileno(cap), 2);
    uint8_t *g = NULL;
    int w = -1, h = -1;
    cm_status st = image_load_gray(path, &g, &w, &h);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    long printed = (fseek(cap, 0, SEEK_END), ftell(cap));
    fclose(cap);
    const char *msg = cm_last_error();
    if (st != code || !strstr(msg, path) || !strstr(msg, what) || strchr(msg, '\n') || printed)
        fail_msg("%s: status %d (expected %d), message '%s' (expected '%s'), %ld bytes on stderr", path, st, code, msg,
                 what, printed);
    assert_null(g);
}

/* ---- JPEG files, made with libjpeg ---------------------------------------------------------- */

/* A JPEG of px in memory (*size bytes); progressive: several scans (the decoder then buffers the
 * whole image's coefficients). */
static uint8_t *jpeg_bytes(const uint8_t *px, int w, int h, int ch, int quality, int progressive, size_t *size) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char *buf = NULL;
    unsigned long n = 0;
    jpeg_mem_dest(&c, &buf, &n);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = ch;
    c.in_color_space = ch == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    if (progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    for (int y = 0; y < h; y++) {
        JSAMPROW row = (JSAMPROW)(px + (size_t)y * w * ch);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *size = n;
    return buf;
}

/* A smooth w x h gray or RGB image (JPEG at quality 100 keeps it within a level or two). */
static uint8_t *smooth(int w, int h, int ch) {
    uint8_t *p = malloc((size_t)w * h * ch);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < ch; k++)
                p[((size_t)y * w + x) * ch + k] = (uint8_t)(127.5 + 120 * sin(0.11 * x + 0.07 * y + k));
    return p;
}

/* Offset of the first segment with marker `m` (0xC0: SOF0) in a JPEG, by walking the segments. */
static size_t jpeg_segment(const uint8_t *b, size_t n, uint8_t m) {
    size_t p = 2;
    while (p + 4 <= n && b[p] == 0xFF && b[p + 1] != m)
        p += 2 + ((size_t)b[p + 2] << 8 | b[p + 3]);
    assert_true(p + 9 <= n && b[p + 1] == m);
    return p;
}

static void test_png_round_trip(void **state) {
    int w = 37, h = 23;
    uint8_t *g1 = pattern(w, h, 1, 1), *rgba = pattern(w, h, 4, 2), *ga = pattern(w, h, 2, 3);
    assert_int_not_equal(stbi_write_png(tmp("gray.png"), w, h, 1, g1, w), 0);
    assert_int_not_equal(stbi_write_png(tmp("rgba.png"), w, h, 4, rgba, w * 4), 0);
    assert_int_not_equal(stbi_write_png(tmp("ga.png"), w, h, 2, ga, w * 2), 0);
    /* the format comes from the bytes: a PNG named .jpg is a PNG */
    assert_int_not_equal(stbi_write_png(tmp("gray-named.jpg"), w, h, 1, g1, w), 0);
    uint8_t *d1 = load_ok(tmp("gray.png"), w, h), *d4 = load_ok(tmp("rgba.png"), w, h);
    uint8_t *d2 = load_ok(tmp("ga.png"), w, h), *dn = load_ok(tmp("gray-named.jpg"), w, h);
    for (int i = 0; i < w * h; i++) {
        const uint8_t *p = rgba + 4 * i;
        assert_int_equal(d1[i], g1[i]);
        assert_int_equal(dn[i], g1[i]);
        assert_int_equal(d4[i], expect_gray(p[0], p[1], p[2], p[3]));
        assert_int_equal(d2[i], expect_gray(ga[2 * i], ga[2 * i], ga[2 * i], ga[2 * i + 1]));
    }
    free(g1), free(rgba), free(ga), free(d1), free(d4), free(d2), free(dn);
}

static void test_jpeg_round_trip(void **state) {
    int w = 45, h = 31;
    for (int k = 0; k < 4; k++) {
        int ch = k % 2 ? 3 : 1;
        uint8_t *src = smooth(w, h, ch);
        size_t n;
        uint8_t *jpg = jpeg_bytes(src, w, h, ch, 100, k >= 2, &n);
        const char *names[] = {"gray.jpg", "rgb.jpg", "gray-progressive.jpg", "rgb-progressive.jpg"};
        const char *path = tmp(names[k]);
        write_file(path, jpg, n, 0);
        uint8_t *d = load_ok(path, w, h);
        int worst = 0;
        for (int i = 0; i < w * h; i++) {
            const uint8_t *p = src + (size_t)i * ch;
            int want = ch == 1 ? p[0] : expect_gray(p[0], p[1], p[2], 255);
            int diff = abs(d[i] - want);
            if (diff > worst) worst = diff;
        }
        if (worst > (ch == 1 ? 2 : 3)) fail_msg("%s: off by up to %d levels", path, worst);
        free(src), free(jpg), free(d);
    }
}

/* Writes a PNM file: header text, then n bytes of raster. */
static const char *write_pnm(const char *name, const char *header, const uint8_t *raster, size_t n) {
    const char *path = tmp(name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(header, f);
    fwrite(raster, 1, n, f);
    fclose(f);
    return path;
}

static void test_pnm_round_trip(void **state) {
    int w = 29, h = 17, n = w * h;
    uint8_t *g = pattern(w, h, 1, 4), *rgb = pattern(w, h, 3, 5), *g16 = pattern(w, h, 2, 6);
    uint8_t *d5 = load_ok(write_pnm("a.pgm", "P5\n# a comment\n29 17\n255\n", g, n), w, h);
    uint8_t *d6 = load_ok(write_pnm("a.ppm", "P6 29 17 255\t", rgb, 3 * n), w, h);
    uint8_t *d15 = load_ok(write_pnm("a15.pgm", "P5 29 17 15\n", g, n), w, h);
    uint8_t *d16 = load_ok(write_pnm("a16.pgm", "P5 29\n17 1000\n", g16, 2 * n), w, h);
    for (int i = 0; i < n; i++) {
        assert_int_equal(d5[i], g[i]);
        assert_int_equal(d6[i], expect_gray(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], 255));
        /* other maxvals scale to 0-255; samples above maxval count as maxval */
        assert_int_equal(d15[i], g[i] > 15 ? 255 : lround(g[i] * 255.0 / 15));
        unsigned v = (unsigned)g16[2 * i] << 8 | g16[2 * i + 1];
        assert_int_equal(d16[i], v > 1000 ? 255 : lround(v * 255.0 / 1000));
    }
    free(d5), free(d6), free(d15), free(d16);
    /* 16-bit PPM (stb_image 2.27 read out of bounds for 16-bit PNM loaded with 2 channels) */
    uint8_t *rgb16 = pattern(w, h, 6, 7);
    uint8_t *d = load_ok(write_pnm("a16.ppm", "P6 29 17 65535\n", rgb16, 6 * n), w, h);
    for (int i = 0; i < n; i++) {
        unsigned s[3];
        for (int k = 0; k < 3; k++)
            s[k] = lround(((unsigned)rgb16[6 * i + 2 * k] << 8 | rgb16[6 * i + 2 * k + 1]) * 255.0 / 65535);
        assert_int_equal(d[i], expect_gray(s[0], s[1], s[2], 255));
    }
    free(d), free(g), free(rgb), free(g16), free(rgb16);
}

/* The problem classes of stb_image 2.27 that a fuzzing run found (issue 19). */
static void test_stb_regressions(void **state) {
    /* a JPEG whose DHT segment declares 16 x 17 = 272 > 256 Huffman codes */
    uint8_t dht[4 + 291] = {0xFF, 0xD8, 0xFF, 0xC4, 0x01, 0x23, 0x00};
    for (int i = 0; i < 16; i++)
        dht[7 + i] = 17;
    for (int i = 0; i < 272; i++)
        dht[23 + i] = (uint8_t)i;
    uint8_t file[sizeof dht + 2];
    memcpy(file, dht, sizeof dht);
    file[sizeof dht] = 0xFF, file[sizeof dht + 1] = 0xD9;
    write_file(tmp("dht.jpg"), file, sizeof file, 0);
    expect_fail(tmp("dht.jpg"), CM_ERR_FORMAT, "Huffman");
    /* PNM header numbers that overflow 32 or 64 bits, or are merely huge */
    const char *huge[] = {"P5 99999999999 1 255\n", "P5 1 99999999999999999999999 255\n",
                          "P6 4 4 4294967551\n",    "P5 4 4 65536\n",
                          "P5 65535 65535 255\n",   "P6 8193 8192 255\n"};
    uint8_t px[96] = {0};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++)
        expect_fail(write_pnm("huge.pgm", huge[i], px, sizeof px), CM_ERR_FORMAT, "too large");
    /* a 10-byte GIF header claiming 65535x65535 (stb_image allocated 2.9 GB for it) */
    write_file(tmp("big.gif"), "GIF89a\xff\xff\xff\xff", 10, 0);
    expect_fail(tmp("big.gif"), CM_ERR_FORMAT, "unsupported image format (PNG, JPEG, PGM/PPM)");
}

/* Other formats and malformed PNM headers: one clean error each. */
static void test_not_images(void **state) {
    const char *other[][2] = {{"ascii.pgm", "P2 2 2 255\n1 2 3 4\n"},
                              {"bitmap.bmp", "BM\x36\x00\x00\x00\x00\x00"},
                              {"text.png", "not an image at all"},
                              {"empty.png", ""}};
    for (int i = 0; i < 4; i++) {
        write_file(tmp(other[i][0]), other[i][1], strlen(other[i][1]), 0);
        expect_fail(tmp(other[i][0]), CM_ERR_FORMAT, "unsupported image format");
    }
    const char *bad[][2] = {{"P5", "no whitespace after P5"},
                            {"P5 3", "no whitespace after the width"},
                            {"P528 28 255\n", "no whitespace after P5"},
                            {"P5 2a 2 255\n", "no whitespace after the width"},
                            {"P5 2 2 0\n", "maxval 0"},
                            {"P5 2 2 -1\n", "no maxval"},
                            {"P5 2 2 255", "no whitespace after the maxval"}};
    uint8_t px[4] = {1, 2, 3, 4};
    for (int i = 0; i < 7; i++)
        expect_fail(write_pnm("bad.pgm", bad[i][0], px, i < 2 ? 0 : 4), CM_ERR_FORMAT, bad[i][1]);
    expect_fail(dir, CM_ERR_IO, "cannot read");
    expect_fail(tmp("missing.png"), CM_ERR_IO, "cannot open");
}

/* A file cut short is an error, never padded. */
static void test_truncated(void **state) {
    int w = 64, h = 48;
    uint8_t *noise = pattern(w, h, 1, 8);
    assert_int_not_equal(stbi_write_png(tmp("full.png"), w, h, 1, noise, w), 0);
    FILE *f = fopen(tmp("full.png"), "rb");
    uint8_t buf[8192];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(n > 2000 && n < sizeof buf);
    write_file(tmp("half.png"), buf, n / 2, 0);
    expect_fail(tmp("half.png"), CM_ERR_FORMAT, "bad PNG");
    for (size_t cut = 13; cut <= 16; cut++) { /* the last bytes of the last IDAT chunk (its CRC) */
        write_file(tmp("nocrc.png"), buf, n - cut, 0);
        expect_fail(tmp("nocrc.png"), CM_ERR_FORMAT, "bad PNG");
    }
    write_file(tmp("noend.png"), buf, n - 12, 0); /* every pixel and CRC there, only IEND missing: read */
    free(load_ok(tmp("noend.png"), w, h));
    size_t jn, pn;
    uint8_t *jpg = jpeg_bytes(noise, w, h, 1, 90, 0, &jn), *prog = jpeg_bytes(noise, w, h, 1, 90, 1, &pn);
    write_file(tmp("half.jpg"), jpg, jn / 2, 0);
    expect_fail(tmp("half.jpg"), CM_ERR_FORMAT, "Premature end of JPEG file");
    write_file(tmp("half-progressive.jpg"), prog, pn / 2, 0);
    expect_fail(tmp("half-progressive.jpg"), CM_ERR_FORMAT, "Premature end of JPEG file");
    write_file(tmp("noeoi.jpg"), jpg, jn - 2, 0); /* every scan there, EOI missing */
    expect_fail(tmp("noeoi.jpg"), CM_ERR_FORMAT, "Premature end of JPEG file");
    write_file(tmp("whole.jpg"), jpg, jn, 0);
    free(load_ok(tmp("whole.jpg"), w, h));
    expect_fail(write_pnm("short.pgm", "P5 4 4 255\n", noise, 15), CM_ERR_FORMAT, "truncated PNM: 3 of 4 rows");
    expect_fail(write_pnm("short16.pgm", "P5 4 4 65535\n", noise, 31), CM_ERR_FORMAT, "truncated PNM");
    expect_fail(write_pnm("short.ppm", "P6 4 4 255\n", noise, 47), CM_ERR_FORMAT, "truncated PNM");
    free(noise), free(jpg), free(prog);
}

static void put_chunk(FILE *f, const char *type, const uint8_t *data, uint32_t n) {
    uint8_t b[8];
    put_be32(b, n);
    memcpy(b + 4, type, 4);
    fwrite(b, 1, 8, f);
    fwrite(data, 1, n, f);
    uLong crc = crc32(crc32(0, b + 4, 4), data, n);
    put_be32(b, (uint32_t)crc);
    fwrite(b, 1, 4, f);
}

/* A PNG whose IHDR claims w x h (8-bit gray), followed by a few bytes of IDAT and IEND. */
static const char *png_claiming(uint32_t w, uint32_t h) {
    const char *path = tmp("forged.png");
    FILE *f = fopen(path, "wb");
    fwrite("\x89PNG\r\n\x1a\n", 1, 8, f);
    uint8_t ihdr[13] = {0}, idat[16] = {0};
    put_be32(ihdr, w);
    put_be32(ihdr + 4, h);
    ihdr[8] = 8;
    put_chunk(f, "IHDR", ihdr, 13);
    put_chunk(f, "IDAT", idat, sizeof idat);
    put_chunk(f, "IEND", idat, 0);
    fclose(f);
    return path;
}

/* Zero or huge sides in each format's header fail before any pixel is allocated. */
static void test_header_sides(void **state) {
    expect_fail(png_claiming(0, 5), CM_ERR_FORMAT, "bad PNG"); /* libpng refuses a zero side itself */
    expect_fail(png_claiming(5, 0), CM_ERR_FORMAT, "bad PNG");
    expect_fail(png_claiming(20000, 20000), CM_ERR_FORMAT, "20000x20000 is too large (more than 67108864 pixels)");
    expect_fail(png_claiming(8193, 8192), CM_ERR_FORMAT, "too large");
    expect_fail(png_claiming(3, 2), CM_ERR_FORMAT, "bad PNG"); /* the right size, a broken zlib stream */
    uint8_t *src = smooth(16, 8, 1);
    size_t n;
    uint8_t *jpg = jpeg_bytes(src, 16, 8, 1, 90, 0, &n);
    size_t sof = jpeg_segment(jpg, n, 0xC0);
    const uint16_t sides[][2] = {{0, 16}, {60000, 60000}, {8193, 8192}, {1, 65535}};
    for (int i = 0; i < 4; i++) {
        jpg[sof + 5] = (uint8_t)(sides[i][0] >> 8), jpg[sof + 6] = (uint8_t)sides[i][0]; /* height */
        jpg[sof + 7] = (uint8_t)(sides[i][1] >> 8), jpg[sof + 8] = (uint8_t)sides[i][1]; /* width */
        write_file(tmp("forged.jpg"), jpg, n, 0);
        expect_fail(tmp("forged.jpg"), CM_ERR_FORMAT, i == 0 || i == 3 ? "bad JPEG" : "too large");
    }
    const char *pnm[][2] = {{"P5 0 5 255\n", "0x5: no pixels"},
                            {"P6 5 0 255\n", "5x0: no pixels"},
                            {"P5 8193 8193 255\n", "8193x8193 is too large"}};
    uint8_t px[64] = {0};
    for (int i = 0; i < 3; i++)
        expect_fail(write_pnm("sides.pgm", pnm[i][0], px, sizeof px), CM_ERR_FORMAT, pnm[i][1]);
    free(src), free(jpg);
}

/* The in-memory decoder (serve's request bodies) gives the file decoder's pixels, and the same
 * errors for the same bad bytes. */
static void test_decode_from_memory(void **state) {
    int w = 31, h = 17;
    uint8_t *g1 = pattern(w, h, 1, 21);
    assert_int_not_equal(stbi_write_png(tmp("mem.png"), w, h, 1, g1, w), 0);
    size_t jn;
    uint8_t *jpg = jpeg_bytes(g1, w, h, 1, 95, 0, &jn);
    write_file(tmp("mem.jpg"), jpg, jn, 0);
    const char *files[] = {tmp("mem.png"), tmp("mem.jpg"), write_pnm("mem.pgm", "P5 31 17 255\n", g1, (size_t)w * h)};
    for (int i = 0; i < 3; i++) {
        FILE *f = fopen(files[i], "rb");
        uint8_t bytes[16384];
        size_t n = fread(bytes, 1, sizeof bytes, f);
        fclose(f);
        uint8_t *a = load_ok(files[i], w, h), *b = NULL;
        int bw = 0, bh = 0;
        assert_int_equal(image_decode_gray_mem(bytes, n, "body", &b, &bw, &bh), CM_OK);
        assert_int_equal(bw, w);
        assert_int_equal(bh, h);
        assert_memory_equal(a, b, (size_t)w * h);
        free(a), free(b);
        /* cut in half: the file decoder's error, naming the body */
        b = NULL;
        assert_int_equal(image_decode_gray_mem(bytes, n / 2, "body", &b, &bw, &bh), CM_ERR_FORMAT);
        assert_null(b);
        assert_non_null(strstr(cm_last_error(), "body"));
    }
    uint8_t *b = NULL;
    int bw, bh;
    assert_int_equal(image_decode_gray_mem((const uint8_t *)"GIF89a\xff\xff\xff\xff", 10, "gif", &b, &bw, &bh),
                     CM_ERR_FORMAT);
    assert_non_null(strstr(cm_last_error(), "unsupported image format"));
    assert_int_equal(image_decode_gray_mem((const uint8_t *)"", 0, "nothing", &b, &bw, &bh), CM_ERR_FORMAT);
    free(g1), free(jpg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_round_trip),     cmocka_unit_test(test_jpeg_round_trip),
        cmocka_unit_test(test_decode_from_memory), cmocka_unit_test(test_pnm_round_trip),
        cmocka_unit_test(test_stb_regressions),    cmocka_unit_test(test_not_images),
        cmocka_unit_test(test_truncated),          cmocka_unit_test(test_header_sides),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
