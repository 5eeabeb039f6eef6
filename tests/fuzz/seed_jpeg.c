/* seed_jpeg.c: writes the JPEG seeds of fuzz_image's corpus into the folder given (Python's
 * standard library has no JPEG encoder): a 12x12 digit-like stroke, gray and RGB, baseline and
 * progressive, one with restart markers. Built beside the fuzz targets; make_corpus.py runs it. */
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h>

/* A dark "1" on light paper, in ch channels (a reddish tint in colour). */
static void stroke(unsigned char *px, int side, int ch) {
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++)
            for (int k = 0; k < ch; k++) {
                int ink = x >= side / 2 - 1 && x <= side / 2 && y >= 2 && y < side - 2;
                px[(y * side + x) * ch + k] = (unsigned char)(ink ? 20 + 40 * k : 235 - 10 * k);
            }
}

static int write_jpeg(const char *dir, const char *name, int ch, int progressive, int restart) {
    enum { SIDE = 12 };
    unsigned char px[SIDE * SIDE * 3];
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return perror(path), 1;
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = SIDE;
    c.image_height = SIDE;
    c.input_components = ch;
    c.in_color_space = ch == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    if (progressive) jpeg_simple_progression(&c);
    c.restart_in_rows = restart;
    jpeg_start_compress(&c, TRUE);
    stroke(px, SIDE, ch);
    for (int y = 0; y < SIDE; y++) {
        JSAMPROW row = px + y * SIDE * ch;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return fclose(f) != 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    return write_jpeg(argv[1], "gray.jpg", 1, 0, 0) | write_jpeg(argv[1], "rgb.jpg", 3, 0, 0) |
           write_jpeg(argv[1], "gray_progressive.jpg", 1, 1, 0) | write_jpeg(argv[1], "rgb_progressive.jpg", 3, 1, 0) |
           write_jpeg(argv[1], "gray_restart.jpg", 1, 0, 1);
}
