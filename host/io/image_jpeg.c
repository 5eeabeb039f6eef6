/* image_jpeg.c: JPEG through libjpeg-turbo, decoded straight to grayscale. libjpeg's default
 * error manager prints to stderr and calls exit(); ours formats the message and longjmps back,
 * prints nothing, and turns the warnings that mean the decoder made up or skipped data (the file
 * ends early: libjpeg pads with gray; a segment ends early; markers out of step) into errors.
 * The header's size is checked before jpeg_start_decompress allocates anything large. */
#include <setjmp.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <stdlib.h>

#include <jpeglib.h>
#include <jerror.h>

#include "image_decode.h"

typedef struct {
    struct jpeg_error_mgr pub; /* first: libjpeg hands us a pointer to it */
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jpeg_guard;

typedef struct {
    struct jpeg_decompress_struct d;
    jpeg_guard err;
    uint8_t *gray;
    int channels; /* 1 gray, 3 RGB */
} jpeg_job;

static void on_error(j_common_ptr c) {
    jpeg_guard *g = (jpeg_guard *)c->err;
    c->err->format_message(c, g->msg);
    longjmp(g->jump, 1);
}

/* level -1: a warning about corrupt data; 0 and up: informational and trace messages. */
static void on_message(j_common_ptr c, int level) {
    if (level >= 0) return;
    c->err->num_warnings++;
    int code = c->err->msg_code;
    if (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER || code == JWRN_MUST_RESYNC) on_error(c);
}

static void on_output(j_common_ptr c) {}

/* Everything that may call on_error, under one setjmp; j itself is never reassigned, and what
 * changes lives in *j, so nothing local is clobbered by the longjmp. */
static cm_status decode(jpeg_job *j, FILE *f, const char *path) {
    if (setjmp(j->err.jump)) return cm_fail(CM_ERR_FORMAT, "%s: bad JPEG: %s", path, j->err.msg);
    jpeg_create_decompress(&j->d);
    jpeg_stdio_src(&j->d, f);
    (void)jpeg_read_header(&j->d, TRUE);
    CM_TRY(image_check_size(path, j->d.image_width, j->d.image_height));
    j->d.out_color_space = j->channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_start_decompress(&j->d);
    size_t w = j->d.output_width, h = j->d.output_height, ch = (size_t)j->channels;
    if (j->d.output_components != j->channels || w != j->d.image_width || h != j->d.image_height)
        return cm_fail(CM_ERR_FORMAT, "%s: bad JPEG: not decoded to %ux%u %s", path, j->d.image_width,
                       j->d.image_height, ch == 3 ? "RGB" : "gray");
    j->gray = malloc(w * h * ch);
    if (!j->gray) return cm_fail(CM_ERR_MEMORY, "%s: out of memory for %zux%zu pixels", path, w, h);
    while (j->d.output_scanline < h) {
        JSAMPROW row = j->gray + (size_t)j->d.output_scanline * w * ch;
        if (jpeg_read_scanlines(&j->d, &row, 1) != 1)
            return cm_fail(CM_ERR_FORMAT, "%s: bad JPEG: row %u did not decode", path, j->d.output_scanline);
    }
    (void)jpeg_finish_decompress(&j->d); /* reads up to EOI: a file cut after the pixels fails too */
    return CM_OK;
}

cm_status image_read_jpeg(FILE *f, const char *path, uint8_t **gray, int *width, int *height) {
    return image_read_jpeg_ch(f, path, 1, gray, width, height);
}

cm_status image_read_jpeg_ch(FILE *f, const char *path, int channels, uint8_t **gray, int *width, int *height) {
    jpeg_job *j = calloc(1, sizeof *j);
    if (!j) return cm_fail(CM_ERR_MEMORY, "%s: out of memory", path);
    j->channels = channels;
    j->d.err = jpeg_std_error(&j->err.pub);
    j->err.pub.error_exit = on_error;
    j->err.pub.emit_message = on_message;
    j->err.pub.output_message = on_output;
    cm_status st = decode(j, f, path);
    if (st == CM_OK) {
        *gray = j->gray;
        *width = (int)j->d.output_width;
        *height = (int)j->d.output_height;
    } else {
        free(j->gray);
    }
    jpeg_destroy_decompress(&j->d); /* safe after a failed create: it checks for the memory manager */
    free(j);
    return st;
}
