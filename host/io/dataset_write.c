/* dataset_write.c: a dataset as the four standard IDX files (gzip or raw) plus classes.txt and
 * classes.json, for `clmnist import`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include <cjson/cJSON.h>

#include "dataset_source.h"

static void be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* One IDX file: ndims 3 (images) or 1 (labels). Raw files are written through zlib's transparent
 * mode ("wT"), so both go the same way. */
static cm_status write_idx(const char *path, int gzip, int ndims, const uint32_t *dims, const uint8_t *data) {
    uint8_t head[20] = {0, 0, 0x08, (uint8_t)ndims};
    size_t bytes = 1;
    for (int i = 0; i < ndims; i++) {
        be32(head + 4 + 4 * i, dims[i]);
        bytes *= dims[i];
    }
    gzFile f = gzopen(path, gzip ? "wb6" : "wbT");
    if (!f) return cm_fail(CM_ERR_IO, "%s: cannot create: %s", path, strerror(errno ? errno : EIO));
    int ok = gzwrite(f, head, (unsigned)(4 + 4 * ndims)) == 4 + 4 * ndims;
    for (size_t off = 0; ok && off < bytes;) {
        unsigned n = bytes - off > (1u << 30) ? 1u << 30 : (unsigned)(bytes - off);
        ok = gzwrite(f, data + off, n) == (int)n;
        off += n;
    }
    if (gzclose(f) != Z_OK || !ok) {
        remove(path);
        return cm_fail(CM_ERR_IO, "%s: write failed (disk full?)", path);
    }
    return CM_OK;
}

static cm_status write_split(const cm_split *s, const char *dir, const char *stem, int gzip) {
    char path[4096];
    uint32_t idims[3] = {(uint32_t)s->count, (uint32_t)s->rows, (uint32_t)s->cols}, ldims[1] = {(uint32_t)s->count};
    uint32_t cdims[4] = {(uint32_t)s->count, (uint32_t)split_channels(s), (uint32_t)s->rows, (uint32_t)s->cols};
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte%s", dir, stem, gzip ? ".gz" : "");
    /* colour: a 4-dimensional IDX file (count, 3, rows, cols) under the usual name (docs/data.md) */
    if (split_channels(s) > 1)
        CM_TRY(write_idx(path, gzip, 4, cdims, s->images));
    else
        CM_TRY(write_idx(path, gzip, 3, idims, s->images));
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte%s", dir, stem, gzip ? ".gz" : "");
    return write_idx(path, gzip, 1, ldims, s->labels);
}

static cm_status write_names(const cm_dataset *ds, const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/classes.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f) return cm_fail(CM_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    for (int c = 0; c < ds->classes; c++)
        fprintf(f, "%s\n", ds->class_names[c]);
    if (fclose(f) != 0) return cm_fail(CM_ERR_IO, "%s: write failed", path);
    cJSON *arr = cJSON_CreateStringArray((const char *const *)ds->class_names, ds->classes);
    char *text = arr ? cJSON_Print(arr) : NULL;
    cJSON_Delete(arr);
    if (!text) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    snprintf(path, sizeof path, "%s/classes.json", dir);
    f = fopen(path, "w");
    int ok = f && fprintf(f, "%s\n", text) > 0;
    free(text);
    if (!f || fclose(f) != 0 || !ok) return cm_fail(CM_ERR_IO, "%s: cannot write", path);
    return CM_OK;
}

cm_status dataset_write_idx(const cm_dataset *ds, const char *dir, int gzip) {
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return cm_fail(CM_ERR_IO, "%s: cannot create: %s", dir, strerror(errno));
    CM_TRY(write_split(&ds->train, dir, "train", gzip));
    CM_TRY(write_split(&ds->test, dir, "t10k", gzip));
    return ds->class_names ? write_names(ds, dir) : CM_OK;
}
