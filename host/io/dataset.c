/* dataset.c: IDX loader. Every payload is read through zlib's gzread, which also reads
 * uncompressed files, into a buffer that grows only as bytes actually arrive (capped), so a
 * forged header cannot make us allocate more than the file really holds. */
#include "clmnist/dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "clmnist/rng.h"

static cm_status read_all(const char *path, uint8_t **out, size_t *out_len) {
    gzFile f = gzopen(path, "rb");
    if (!f) return cm_fail(CM_ERR_IO, "%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
    gzbuffer(f, 1 << 17);
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        gzclose(f);
        return cm_fail(CM_ERR_MEMORY, "%s: out of host memory", path);
    }
    for (;;) {
        if (len == cap) {
            if (cap >= CM_IDX_MAX_BYTES + 1) {
                free(buf);
                gzclose(f);
                return cm_fail(CM_ERR_FORMAT, "%s: larger than the %zu MiB limit for one IDX file", path,
                               CM_IDX_MAX_BYTES >> 20);
            }
            size_t ncap = cap * 2 > CM_IDX_MAX_BYTES + 1 ? CM_IDX_MAX_BYTES + 1 : cap * 2;
            uint8_t *nbuf = realloc(buf, ncap);
            if (!nbuf) {
                free(buf);
                gzclose(f);
                return cm_fail(CM_ERR_MEMORY, "%s: out of host memory after %zu bytes", path, len);
            }
            buf = nbuf;
            cap = ncap;
        }
        size_t want = cap - len;
        if (want > (1u << 30)) want = 1u << 30;
        int n = gzread(f, buf + len, (unsigned)want);
        if (n < 0) {
            int zerr;
            const char *msg = gzerror(f, &zerr);
            cm_status st = cm_fail(CM_ERR_FORMAT, "%s: corrupt or truncated gzip data (%s)", path, msg);
            free(buf);
            gzclose(f);
            return st;
        }
        if (n == 0) break;
        len += (size_t)n;
    }
    /* gzread returns 0 both at a clean end and at a gzip stream cut short: tell them apart. */
    int zerr = Z_OK;
    const char *msg = gzerror(f, &zerr);
    if (zerr != Z_OK && zerr != Z_STREAM_END) {
        cm_status st = cm_fail(CM_ERR_FORMAT, "%s: corrupt or truncated gzip data (%s)", path, msg);
        free(buf);
        gzclose(f);
        return st;
    }
    gzclose(f);
    *out = buf;
    *out_len = len;
    return CM_OK;
}

static uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static const char *dtype_name(uint8_t t) {
    switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return "unknown";
    }
}

cm_status dataset_read_idx(const char *path, int ndims, uint32_t dims[3], uint8_t **data) {
    uint8_t *buf = NULL;
    size_t len = 0;
    CM_TRY(read_all(path, &buf, &len));
    cm_status st = CM_OK;
    size_t header = 4 + 4 * (size_t)ndims, payload = 1;
    if (len < 4) {
        st = cm_fail(CM_ERR_FORMAT, "%s: truncated: %zu bytes, too short for an IDX header", path, len);
        goto fail;
    }
    if (buf[0] != 0 || buf[1] != 0) {
        st = cm_fail(CM_ERR_FORMAT, "%s: not an IDX file (bad magic %02x %02x %02x %02x)", path, buf[0], buf[1], buf[2],
                     buf[3]);
        goto fail;
    }
    if (buf[2] != 0x08) {
        st = cm_fail(CM_ERR_FORMAT, "%s: IDX dtype 0x%02x (%s) is not supported; expected 0x08 (unsigned byte)", path,
                     buf[2], dtype_name(buf[2]));
        goto fail;
    }
    if (buf[3] != ndims) {
        st = cm_fail(CM_ERR_FORMAT, "%s: has %d dimensions, expected %d (%s)", path, buf[3], ndims,
                     ndims == 1 ? "a label file" : "an image file");
        goto fail;
    }
    if (len < header) {
        st = cm_fail(CM_ERR_FORMAT, "%s: truncated: %zu bytes, header needs %zu", path, len, header);
        goto fail;
    }
    for (int i = 0; i < ndims; i++) {
        dims[i] = be32(buf + 4 + 4 * i);
        if (dims[i] == 0 || dims[i] > (uint32_t)INT32_MAX) {
            st =
                cm_fail(CM_ERR_FORMAT, "%s: dimension %d is %u, must be between 1 and %d", path, i, dims[i], INT32_MAX);
            goto fail;
        }
        if (payload > CM_IDX_MAX_BYTES / dims[i]) {
            st = cm_fail(CM_ERR_FORMAT, "%s: header declares more than %zu MiB of data (forged or corrupt header)",
                         path, CM_IDX_MAX_BYTES >> 20);
            goto fail;
        }
        payload *= dims[i];
    }
    if (len - header < payload) {
        st = cm_fail(CM_ERR_FORMAT, "%s: truncated: header declares %zu data bytes, file holds %zu", path, payload,
                     len - header);
        goto fail;
    }
    if (len - header > payload) {
        st = cm_fail(CM_ERR_FORMAT, "%s: %zu unexpected bytes after the %zu data bytes the header declares", path,
                     len - header - payload, payload);
        goto fail;
    }
    memmove(buf, buf + header, payload);
    uint8_t *shrunk = realloc(buf, payload);
    *data = shrunk ? shrunk : buf;
    return CM_OK;
fail:
    free(buf);
    return st;
}

cm_status dataset_load_split(const char *images_path, const char *labels_path, cm_split *out) {
    memset(out, 0, sizeof *out);
    uint32_t idims[3], ldims[3];
    uint8_t *images = NULL, *labels = NULL;
    CM_TRY(dataset_read_idx(images_path, 3, idims, &images));
    cm_status st = dataset_read_idx(labels_path, 1, ldims, &labels);
    if (st != CM_OK) {
        free(images);
        return st;
    }
    if (idims[0] != ldims[0]) {
        free(images);
        free(labels);
        return cm_fail(CM_ERR_FORMAT, "%s: holds %u labels but %s holds %u images", labels_path, ldims[0], images_path,
                       idims[0]);
    }
    if ((uint64_t)idims[1] * idims[2] > 65536) {
        free(images);
        free(labels);
        return cm_fail(CM_ERR_FORMAT, "%s: images of %ux%u pixels are larger than the 256x256 supported", images_path,
                       idims[1], idims[2]);
    }
    out->count = (int32_t)idims[0];
    out->rows = (int32_t)idims[1];
    out->cols = (int32_t)idims[2];
    out->dim = out->rows * out->cols;
    out->images = images;
    out->labels = labels;
    return CM_OK;
}

int dataset_find_file(const char *dir, const char *stem, char *path, size_t path_size) {
    /* stem uses the dashed spelling; also try the dotted one (train-images.idx3-ubyte). */
    char dotted[128];
    snprintf(dotted, sizeof dotted, "%s", stem);
    char *dash = strstr(dotted, "-idx");
    if (dash) *dash = '.';
    const char *names[2] = {stem, dotted};
    const char *suffixes[2] = {"", ".gz"};
    for (int n = 0; n < 2; n++) {
        for (int s = 0; s < 2; s++) {
            snprintf(path, path_size, "%s/%s%s", dir, names[n], suffixes[s]);
            FILE *f = fopen(path, "rb");
            if (f) {
                fclose(f);
                return 0;
            }
        }
    }
    snprintf(path, path_size, "%s/%s", dir, stem);
    return -1;
}

static void split_tail(cm_split *from, int32_t n, cm_split *tail) {
    *tail = *from;
    tail->count = n;
    tail->images = from->images + (size_t)(from->count - n) * (size_t)from->dim;
    tail->labels = from->labels + (from->count - n);
    tail->borrowed = 1;
    from->count -= n;
}

cm_status dataset_load_dir(const char *dir, int32_t val, cm_dataset *ds) {
    memset(ds, 0, sizeof *ds);
    char ti[4096], tl[4096], ei[4096], el[4096];
    const char *stems[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                            "t10k-labels-idx1-ubyte"};
    char *paths[4] = {ti, tl, ei, el};
    for (int i = 0; i < 4; i++) {
        if (dataset_find_file(dir, stems[i], paths[i], sizeof ti) != 0) {
            return cm_fail(CM_ERR_IO,
                           "%s: dataset file not found (looked for %s[.gz] and the dotted spelling); "
                           "fetch MNIST with 'data/fetch mnist' or pass --data DIR",
                           paths[i], stems[i]);
        }
    }
    CM_TRY(dataset_load_split(ti, tl, &ds->train));
    cm_status st = dataset_load_split(ei, el, &ds->test);
    if (st != CM_OK) {
        dataset_free(ds);
        return st;
    }
    if (ds->train.dim != ds->test.dim) {
        st = cm_fail(CM_ERR_FORMAT, "%s: images are %dx%d but the training images are %dx%d", ei, ds->test.rows,
                     ds->test.cols, ds->train.rows, ds->train.cols);
        dataset_free(ds);
        return st;
    }
    int maxl = 0;
    for (int32_t i = 0; i < ds->train.count; i++)
        if (ds->train.labels[i] > maxl) maxl = ds->train.labels[i];
    ds->classes = maxl + 1;
    if (ds->classes < 2) {
        dataset_free(ds);
        return cm_fail(CM_ERR_FORMAT, "%s: all labels are 0; need at least 2 classes", tl);
    }
    for (int32_t i = 0; i < ds->test.count; i++) {
        if (ds->test.labels[i] >= ds->classes) {
            st = cm_fail(CM_ERR_FORMAT, "%s: label %d at index %d is outside the %d classes of the training set", el,
                         ds->test.labels[i], i, ds->classes);
            dataset_free(ds);
            return st;
        }
    }
    if (val < 0 || val >= ds->train.count) {
        int32_t count = ds->train.count;
        dataset_free(ds);
        return cm_fail(CM_ERR_USAGE, "--val %d: must be between 0 and %d (the training set size minus one)", val,
                       count - 1);
    }
    if (val > 0) {
        ds->heldout = ds->test;
        split_tail(&ds->train, val, &ds->test);
    }
    const char *base = strrchr(dir, '/');
    base = base && base[1] ? base + 1 : dir;
    snprintf(ds->name, sizeof ds->name, "%s", base);
    return CM_OK;
}

void dataset_free_split(cm_split *split) {
    if (!split->borrowed) {
        free(split->images);
        free(split->labels);
    }
    memset(split, 0, sizeof *split);
}

static cm_status synthetic_split(cm_split *sp, int32_t count, int32_t rows, int32_t cols, int32_t classes, cm_rng *r) {
    *sp = (cm_split){.count = count, .rows = rows, .cols = cols, .dim = rows * cols};
    sp->images = malloc((size_t)count * (size_t)sp->dim);
    sp->labels = malloc((size_t)count);
    if (!sp->images || !sp->labels) return cm_fail(CM_ERR_MEMORY, "out of host memory for synthetic data");
    for (int32_t i = 0; i < count; i++) {
        int32_t c = i % classes, lo = c * rows / classes, hi = (c + 1) * rows / classes;
        sp->labels[i] = (uint8_t)c;
        for (int32_t y = 0; y < rows; y++)
            for (int32_t x = 0; x < cols; x++)
                sp->images[(size_t)i * (size_t)sp->dim + (size_t)(y * cols + x)] =
                    (uint8_t)((rng_next_u32(r) & 63) + (y >= lo && y < hi ? 160 : 0));
    }
    return CM_OK;
}

cm_status dataset_synthetic(cm_dataset *ds, int32_t n_train, int32_t n_test, int32_t rows, int32_t cols,
                            int32_t classes, uint64_t seed) {
    memset(ds, 0, sizeof *ds);
    if (n_train < 1 || n_test < 1 || rows < 1 || cols < 1 || classes < 2 || classes > 256 || rows > 4096 || cols > 4096)
        return cm_fail(CM_ERR_USAGE, "synthetic data: bad sizes");
    cm_rng r;
    rng_seed(&r, seed, 5);
    ds->classes = classes;
    snprintf(ds->name, sizeof ds->name, "synthetic");
    cm_status st = synthetic_split(&ds->train, n_train, rows, cols, classes, &r);
    if (st == CM_OK) st = synthetic_split(&ds->test, n_test, rows, cols, classes, &r);
    if (st != CM_OK) dataset_free(ds);
    return st;
}

void dataset_free(cm_dataset *ds) {
    for (int32_t c = 0; ds->class_names && c < ds->classes; c++)
        free(ds->class_names[c]);
    free(ds->class_names);
    ds->class_names = NULL;
    dataset_free_split(&ds->test);
    dataset_free_split(&ds->heldout);
    dataset_free_split(&ds->train);
}
