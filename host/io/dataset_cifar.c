/* dataset_cifar.c: CIFAR-10's binary batches, read directly: DIR/data_batch_1.bin ...
 * data_batch_5.bin (the training set: those present from 1 up, at least the first) and
 * DIR/test_batch.bin (the test set; without it a test split is held out), each a run of
 * 3073-byte records (1 label byte, then 1024 red, 1024 green and 1024 blue bytes of a 32x32
 * image, row-major: the planar (C, H, W) layout of a colour split), and the class names from
 * DIR/batches.meta.txt (one per line). Checked as IDX is: a file that is not a whole number of
 * records (truncated, or another record size such as CIFAR-100's 3074), an empty file or a label
 * of 10 or more fails with one line naming the file. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dataset_formats.h"

#define CIFAR_SIDE 32
#define CIFAR_DIM (3 * CIFAR_SIDE * CIFAR_SIDE)
#define CIFAR_RECORD (1 + CIFAR_DIM)
#define CIFAR_CLASSES 10
#define CIFAR_MAX_BYTES ((size_t)1 << 30)

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int cifar_dir(const char *dir) {
    char p[4096];
    snprintf(p, sizeof p, "%s/data_batch_1.bin", dir);
    return exists(p);
}

/* Appends the records of one batch file to b. */
static cm_status read_batch(const char *path, split_builder *b) {
    FILE *f = fopen(path, "rb");
    if (!f) return cm_fail(CM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    cm_status st = CM_OK;
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0)
        st = cm_fail(CM_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    else if (size == 0)
        st = cm_fail(CM_ERR_FORMAT, "%s: empty CIFAR batch (no records)", path);
    else if ((size_t)size > CIFAR_MAX_BYTES)
        st = cm_fail(CM_ERR_FORMAT, "%s: %ld bytes: larger than any CIFAR batch", path, size);
    else if (size % CIFAR_RECORD && size % (CIFAR_RECORD + 1) == 0)
        st = cm_fail(CM_ERR_FORMAT,
                     "%s: %ld bytes of %d-byte records: that is CIFAR-100's layout (two labels); clmnist reads "
                     "CIFAR-10's %d-byte records",
                     path, size, CIFAR_RECORD + 1, CIFAR_RECORD);
    else if (size % CIFAR_RECORD)
        st = cm_fail(CM_ERR_FORMAT,
                     "%s: %ld bytes is not a whole number of %d-byte CIFAR-10 records (label + 3x32x32): "
                     "truncated, or another record size",
                     path, size, CIFAR_RECORD);
    uint8_t rec[CIFAR_RECORD];
    for (long i = 0; st == CM_OK && i < size / CIFAR_RECORD; i++) {
        if (fread(rec, 1, sizeof rec, f) != sizeof rec)
            st = cm_fail(CM_ERR_IO, "%s: read failed at record %ld", path, i);
        else if (rec[0] >= CIFAR_CLASSES)
            st = cm_fail(CM_ERR_FORMAT, "%s: record %ld has label %d: CIFAR-10's labels are 0 to %d", path, i, rec[0],
                         CIFAR_CLASSES - 1);
        else
            st = builder_push(b, rec + 1, rec[0]);
    }
    fclose(f);
    return st;
}

/* batches.meta.txt: the class names, one per line (blank lines at the end, as in the real file). */
static cm_status read_meta(const char *dir, char ***names, int *n) {
    char path[4096], line[256];
    snprintf(path, sizeof path, "%s/batches.meta.txt", dir);
    *names = NULL, *n = 0;
    FILE *f = fopen(path, "r");
    if (!f) return CM_OK; /* the class numbers, then */
    *names = calloc(CIFAR_CLASSES, sizeof(char *));
    cm_status st = *names ? CM_OK : cm_fail(CM_ERR_MEMORY, "out of host memory");
    while (st == CM_OK && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0]) continue;
        if (*n == CIFAR_CLASSES)
            st = cm_fail(CM_ERR_FORMAT, "%s: more than %d class names", path, CIFAR_CLASSES);
        else if (!((*names)[*n] = strdup(line)))
            st = cm_fail(CM_ERR_MEMORY, "out of host memory");
        else
            (*n)++;
    }
    fclose(f);
    if (st != CM_OK || *n == 0) {
        dataset_free_names(*names, CIFAR_CLASSES);
        *names = NULL, *n = 0;
    }
    return st;
}

cm_status cifar_load(const char *dir, cm_dataset *ds, char ***names, int *n, int *have_test) {
    split_builder tr = {.s = {.rows = CIFAR_SIDE, .cols = CIFAR_SIDE, .dim = CIFAR_DIM, .channels = 3}};
    split_builder te = {.s = tr.s};
    char path[4096];
    cm_status st = CM_OK;
    for (int k = 1; st == CM_OK && k <= 5; k++) {
        snprintf(path, sizeof path, "%s/data_batch_%d.bin", dir, k);
        if (k > 1 && !exists(path)) break;
        st = read_batch(path, &tr);
    }
    snprintf(path, sizeof path, "%s/test_batch.bin", dir);
    *have_test = exists(path);
    if (st == CM_OK && *have_test) st = read_batch(path, &te);
    if (st == CM_OK) st = read_meta(dir, names, n);
    if (st != CM_OK) {
        dataset_free_split(&tr.s);
        dataset_free_split(&te.s);
        return st;
    }
    ds->train = tr.s;
    ds->test = te.s;
    return CM_OK;
}

/* In place: RGB planes to one grey plane (image_decode.h's luma weights). */
static void split_to_grey(cm_split *s) {
    size_t plane = (size_t)s->rows * (size_t)s->cols;
    for (int32_t i = 0; i < s->count; i++) {
        const uint8_t *src = s->images + (size_t)i * 3 * plane;
        uint8_t *dst = s->images + (size_t)i * plane;
        for (size_t p = 0; p < plane; p++) { /* dst[p] is written after src[p], src[plane + p], ... are read */
            unsigned r = src[p], g = src[plane + p], b = src[2 * plane + p];
            dst[p] = (uint8_t)((r * 77u + g * 150u + b * 29u) >> 8);
        }
    }
    s->channels = 1;
    s->dim = (int32_t)plane;
}

/* A grey split to three equal planes. */
static cm_status split_to_rgb(cm_split *s) {
    size_t plane = (size_t)s->rows * (size_t)s->cols;
    uint8_t *out = malloc((size_t)s->count * 3 * plane + 1);
    if (!out) return cm_fail(CM_ERR_MEMORY, "out of host memory for colour images");
    for (int32_t i = 0; i < s->count; i++)
        for (int c = 0; c < 3; c++)
            memcpy(out + ((size_t)i * 3 + (size_t)c) * plane, s->images + (size_t)i * plane, plane);
    if (!s->borrowed) free(s->images);
    s->images = out;
    s->borrowed = 0;
    s->channels = 3;
    s->dim = (int32_t)(3 * plane);
    return CM_OK;
}

cm_status dataset_set_channels(cm_dataset *ds, int channels) {
    cm_split *splits[3] = {&ds->train, &ds->test, &ds->heldout};
    for (int k = 0; k < 3; k++) {
        cm_split *s = splits[k];
        if (!s->images || split_channels(s) == channels) continue;
        if (s->borrowed) return cm_fail(CM_ERR_USAGE, "--channels: cannot convert a borrowed split");
        if (channels == 1)
            split_to_grey(s);
        else
            CM_TRY(split_to_rgb(s));
    }
    return CM_OK;
}

void dataset_channel_stats(const cm_split *s, int *channels, double mean[4], double std[4]) {
    int C = split_channels(s) < 4 ? split_channels(s) : 4;
    size_t plane = (size_t)s->rows * (size_t)s->cols;
    *channels = C;
    for (int c = 0; c < 4; c++)
        mean[c] = 0.0, std[c] = 1.0;
    if (C < 2 || s->count < 1) return; /* grey data keeps x = pixel / 255, as before */
    for (int c = 0; c < C; c++) {
        double sum = 0.0, sq = 0.0, n = (double)s->count * (double)plane;
        for (int32_t i = 0; i < s->count; i++) {
            const uint8_t *p = s->images + (size_t)i * (size_t)s->dim + (size_t)c * plane;
            uint64_t a = 0, b = 0;
            for (size_t k = 0; k < plane; k++)
                a += p[k], b += (uint64_t)p[k] * p[k];
            sum += (double)a, sq += (double)b;
        }
        double m = sum / n / 255.0, v = sq / n / (255.0 * 255.0) - m * m;
        mean[c] = m;
        std[c] = v > 1e-6 ? sqrt(v) : 1.0;
    }
}
