/* dataset.c: IDX loader. A file is read whole into a buffer that grows only as bytes actually
 * arrive (capped), and a gzip file (by its magic bytes, as zlib's gzread decides) is inflated
 * into another such buffer, so a forged header or a decompression bomb cannot make us allocate
 * more than the data really holds (or the cap). The parser works on that buffer
 * (dataset_parse_idx takes one from memory). */
#include "dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define ZLIB_CONST /* next_in points to const bytes */
#include <zlib.h>

#include "rng.h"

/* The most bytes one chunk of zlib's input or output holds (its counters are unsigned int). */
#define ZLIB_CHUNK ((size_t)1 << 30)

/* A byte buffer that doubles up to CM_IDX_MAX_BYTES + 1: one byte more than any IDX file may
 * hold, so that reaching it means "too large". */
typedef struct {
    uint8_t *buf;
    size_t len, cap;
} grow_buf;

/* Room for at least one more byte; fails at the cap. */
static cm_status grow(grow_buf *b, const char *what) {
    if (b->len < b->cap) return CM_OK;
    if (b->cap >= CM_IDX_MAX_BYTES + 1)
        return cm_fail(CM_ERR_FORMAT, "%s: larger than the %zu MiB limit for one IDX file", what,
                       CM_IDX_MAX_BYTES >> 20);
    size_t ncap = b->cap ? b->cap * 2 : (size_t)1 << 16;
    if (ncap > CM_IDX_MAX_BYTES + 1) ncap = CM_IDX_MAX_BYTES + 1;
    uint8_t *nbuf = realloc(b->buf, ncap);
    if (!nbuf) return cm_fail(CM_ERR_MEMORY, "%s: out of host memory after %zu bytes", what, b->len);
    b->buf = nbuf;
    b->cap = ncap;
    return CM_OK;
}

/* The bytes of the file at path, as stored (compressed or not). */
static cm_status read_file(const char *path, grow_buf *b) {
    FILE *f = fopen(path, "rb");
    if (!f) return cm_fail(CM_ERR_IO, "%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
    cm_status st = CM_OK;
    for (;;) {
        st = grow(b, path);
        if (st != CM_OK) break;
        size_t n = fread(b->buf + b->len, 1, b->cap - b->len, f);
        b->len += n;
        if (n == 0) break;
    }
    if (st == CM_OK && ferror(f)) st = cm_fail(CM_ERR_IO, "%s: read error: %s", path, strerror(errno ? errno : EIO));
    fclose(f);
    return st;
}

static int is_gzip(const uint8_t *p, size_t len) {
    return len >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

static cm_status gzip_error(const char *what, const z_stream *z, int ret) {
    const char *msg = ret == Z_BUF_ERROR ? "unexpected end of file" : z->msg ? z->msg : zError(ret);
    return cm_fail(CM_ERR_FORMAT, "%s: corrupt or truncated gzip data (%s)", what, msg);
}

/* One inflate call on what is left of in[*pos, len) into the free part of out. */
static int inflate_step(z_stream *z, const uint8_t *in, size_t len, size_t *pos, grow_buf *out) {
    size_t in_avail = len - *pos, out_avail = out->cap - out->len;
    z->next_in = in + *pos;
    z->avail_in = (uInt)(in_avail < ZLIB_CHUNK ? in_avail : ZLIB_CHUNK);
    z->next_out = out->buf + out->len;
    z->avail_out = (uInt)(out_avail < ZLIB_CHUNK ? out_avail : ZLIB_CHUNK);
    uInt in0 = z->avail_in, out0 = z->avail_out;
    int ret = inflate(z, Z_NO_FLUSH);
    *pos += in0 - z->avail_in;
    out->len += out0 - z->avail_out;
    return ret;
}

/* The gzip members at the start of in[0, len), inflated into out (CRC and length checked); bytes
 * after the last member that do not start another one are ignored, as gzread does. */
static cm_status gunzip(const uint8_t *in, size_t len, const char *what, grow_buf *out) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 16) != Z_OK) return cm_fail(CM_ERR_MEMORY, "%s: cannot start zlib", what);
    size_t pos = 0;
    cm_status st = CM_OK;
    for (;;) {
        st = grow(out, what);
        if (st != CM_OK) break;
        int ret = inflate_step(&z, in, len, &pos, out);
        if (ret == Z_STREAM_END) {
            if (!is_gzip(in + pos, len - pos)) break;
            inflateReset(&z); /* another member follows */
        } else if (ret == Z_BUF_ERROR && out->len == out->cap) {
            continue; /* the output is full: grow it */
        } else if (ret != Z_OK) {
            st = gzip_error(what, &z, ret);
            break;
        }
    }
    inflateEnd(&z);
    return st;
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

/* The IDX file in buf[0, len) (uncompressed; buf is the caller's malloc'd buffer, taken over:
 * freed on failure, else moved into *data), checked against its header. */
/* ndims 4 asks for images that may be colour: 3 dimensions (count, rows, cols; dims[3] = 0) or 4
 * (count, channels 1 or 3, rows, cols), as `import` writes colour data. */
static cm_status parse_header(uint8_t *buf, size_t len, const char *path, int ndims, uint32_t dims[4], uint8_t **data) {
    cm_status st = CM_OK;
    if (ndims == 4 && len >= 4 && buf[3] == 3) ndims = 3, dims[3] = 0;
    size_t header = 4 + 4 * (size_t)ndims, payload = 1;
    if (ndims < 1 || ndims > 4) {
        st = cm_fail(CM_ERR_USAGE, "%s: %d dimensions asked for; IDX files here have 1 or 3", path, ndims);
        goto fail;
    }
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
    if (ndims == 4 && dims[1] != 1 && dims[1] != 3) {
        st = cm_fail(CM_ERR_FORMAT, "%s: %u channels; colour IDX images have 1 or 3", path, dims[1]);
        goto fail;
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

/* The IDX file whose bytes as stored (raw, or gzip by their first bytes) are in `in`, which is
 * taken over. */
static cm_status parse_stored(grow_buf *in, const char *what, int ndims, uint32_t dims[4], uint8_t **data) {
    if (!is_gzip(in->buf, in->len)) return parse_header(in->buf, in->len, what, ndims, dims, data);
    grow_buf out = {0};
    cm_status st = gunzip(in->buf, in->len, what, &out);
    free(in->buf);
    if (st != CM_OK) {
        free(out.buf);
        return st;
    }
    return parse_header(out.buf, out.len, what, ndims, dims, data);
}

cm_status dataset_read_idx(const char *path, int ndims, uint32_t dims[3], uint8_t **data) {
    grow_buf in = {0};
    uint32_t d[4] = {0};
    if (ndims > 3) return cm_fail(CM_ERR_USAGE, "%s: %d dimensions asked for; IDX files here have 1 or 3", path, ndims);
    cm_status st = read_file(path, &in);
    if (st != CM_OK) {
        free(in.buf);
        return st;
    }
    st = parse_stored(&in, path, ndims, d, data);
    memcpy(dims, d, sizeof(uint32_t) * (size_t)(ndims > 0 ? ndims : 0));
    return st;
}

/* An image file of 3 dimensions, or 4 (count, channels, rows, cols): dims = (count, channels,
 * rows, cols) either way. */
static cm_status read_images(const char *path, uint32_t dims[4], uint8_t **data) {
    grow_buf in = {0};
    uint32_t d[4] = {0};
    cm_status st = read_file(path, &in);
    if (st != CM_OK) {
        free(in.buf);
        return st;
    }
    CM_TRY(parse_stored(&in, path, 4, d, data));
    if (d[3] == 0) /* grey: (count, rows, cols) */
        dims[0] = d[0], dims[1] = 1, dims[2] = d[1], dims[3] = d[2];
    else
        memcpy(dims, d, sizeof d);
    return CM_OK;
}

cm_status dataset_parse_idx(const uint8_t *bytes, size_t len, const char *what, int ndims, uint32_t dims[3],
                            uint8_t **data) {
    uint32_t d[4] = {0};
    if (ndims > 3) return cm_fail(CM_ERR_USAGE, "%s: %d dimensions asked for; IDX files here have 1 or 3", what, ndims);
    if (len > CM_IDX_MAX_BYTES)
        return cm_fail(CM_ERR_FORMAT, "%s: larger than the %zu MiB limit for one IDX file", what,
                       CM_IDX_MAX_BYTES >> 20);
    grow_buf in = {malloc(len ? len : 1), len, len};
    if (!in.buf) return cm_fail(CM_ERR_MEMORY, "%s: out of host memory for %zu bytes", what, len);
    if (len) memcpy(in.buf, bytes, len);
    cm_status st = parse_stored(&in, what, ndims, d, data);
    memcpy(dims, d, sizeof(uint32_t) * (size_t)(ndims > 0 ? ndims : 0));
    return st;
}

cm_status dataset_load_split(const char *images_path, const char *labels_path, cm_split *out) {
    memset(out, 0, sizeof *out);
    uint32_t cdims[4], idims[3], ldims[3];
    uint8_t *images = NULL, *labels = NULL;
    CM_TRY(read_images(images_path, cdims, &images));
    idims[0] = cdims[0], idims[1] = cdims[2], idims[2] = cdims[3];
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
    out->channels = (int32_t)cdims[1];
    out->dim = out->channels * out->rows * out->cols;
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
