/* dataset_source.c: dataset_open: tells IDX, CSV and image folders apart by what the path holds,
 * loads them (dataset.c, dataset_csv.c, dataset_folder.c) and finishes them alike: size,
 * transpose, class names, a seeded hold-out when there is no test split, --val. */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "image.h"
#include "rng.h"
#include "dataset_formats.h"

void dataset_default_options(cm_data_options *o) {
    *o = (cm_data_options){.test_fraction = CM_DEFAULT_TEST_FRACTION, .seed = 42};
}

void dataset_note(const cm_data_options *o, const char *kind, const char *path, const char *fmt, ...) {
    FILE *f = o->notes ? o->notes : stderr;
    fflush(stdout);
    fprintf(f, "clmnist: %s: %s: ", kind, path);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
}

cm_status builder_push(split_builder *b, const uint8_t *image, uint8_t label) {
    if (b->s.count == b->cap) {
        if (b->cap >= (int32_t)(CM_IDX_MAX_BYTES / (size_t)b->s.dim))
            return cm_fail(CM_ERR_FORMAT, "more than %d images of %dx%d (the %zu MiB limit)", b->cap, b->s.rows,
                           b->s.cols, CM_IDX_MAX_BYTES >> 20);
        int32_t cap = b->cap ? 2 * b->cap : 1024;
        uint8_t *im = realloc(b->s.images, (size_t)cap * (size_t)b->s.dim);
        if (im) b->s.images = im;
        uint8_t *lb = im ? realloc(b->s.labels, (size_t)cap) : NULL;
        if (!lb) return cm_fail(CM_ERR_MEMORY, "out of host memory after %d images", b->s.count);
        b->s.labels = lb;
        b->cap = cap;
    }
    memcpy(b->s.images + (size_t)b->s.count * (size_t)b->s.dim, image, (size_t)b->s.dim);
    b->s.labels[b->s.count++] = label;
    return CM_OK;
}

cm_status dataset_prep_image(const uint8_t *gray, int w, int h, const cm_data_options *o, int rows, int cols,
                             const char *what, uint8_t *out) {
    int inverted;
    return image_for_model(gray, w, h, o->preprocess == CM_PREP_MNIST ? CM_INPUT_MNIST : CM_INPUT_RESIZE,
                           CM_INVERT_AUTO, rows, cols, what, out, &inverted);
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* EMNIST/KMNIST spelling: dir holds PREFIX-train-images-idx3-ubyte[.gz]; prefix gets "PREFIX-". */
static int find_prefix(const char *dir, char *prefix, size_t size) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int found = 0;
    for (struct dirent *e; !found && (e = readdir(d));) {
        const char *m = strstr(e->d_name, "train-images-idx3-ubyte");
        if (!m || m == e->d_name || m[-1] != '-' || (m[23] && strcmp(m + 23, ".gz"))) continue;
        snprintf(prefix, size, "%.*s", (int)(m - e->d_name), e->d_name);
        found = 1;
    }
    closedir(d);
    return found;
}

static int has_idx(const char *dir) {
    char path[4096], prefix[256];
    return dataset_find_file(dir, "train-images-idx3-ubyte", path, sizeof path) == 0 ||
           find_prefix(dir, prefix, sizeof prefix);
}

/* An image folder: DIR/train/ or DIR itself holds class subfolders. */
static int folder_root(const char *dir, char *root, size_t size) {
    char train[4096];
    snprintf(train, sizeof train, "%s/train", dir);
    snprintf(root, size, "%s", is_dir(train) ? train : dir);
    char **names;
    int n;
    if (folder_classes(root, &names, &n) != CM_OK) return 0;
    dataset_free_names(names, n);
    return n > 0;
}

const char *dataset_kind(const char *path) {
    char p[4096], root[4096];
    size_t len = strlen(path);
    if (is_file(path)) return len > 4 && !strcasecmp(path + len - 4, ".csv") ? "csv" : NULL;
    if (!is_dir(path)) return NULL;
    if (has_idx(path)) return "idx";
    if (cifar_dir(path)) return "cifar";
    snprintf(p, sizeof p, "%s/train.csv", path);
    if (is_file(p)) return "csv";
    return folder_root(path, root, sizeof root) ? "folder" : NULL;
}

static void transpose_split(cm_split *s) {
    uint8_t *tmp = malloc((size_t)s->dim);
    for (int32_t i = 0; tmp && i < s->count; i++) {
        uint8_t *p = s->images + (size_t)i * (size_t)s->dim;
        for (int y = 0; y < s->rows; y++)
            for (int x = 0; x < s->cols; x++)
                tmp[x * s->rows + y] = p[y * s->cols + x];
        memcpy(p, tmp, (size_t)s->dim);
    }
    int r = s->rows;
    s->rows = s->cols;
    s->cols = r;
    free(tmp);
}

/* Brings every image of s to rows x cols by o->preprocess; an image without ink for the MNIST
 * preprocessing stays black and is counted. */
static cm_status reshape_split(cm_split *s, const cm_data_options *o, int rows, int cols, const char *what,
                               int *blank) {
    if (!s->count || (s->rows == rows && s->cols == cols && o->preprocess == CM_PREP_RESIZE)) return CM_OK;
    size_t dim = (size_t)rows * (size_t)cols;
    uint8_t *out = calloc((size_t)s->count, dim);
    if (!out) return cm_fail(CM_ERR_MEMORY, "%s: out of host memory resizing the images", what);
    for (int32_t i = 0; i < s->count; i++) {
        cm_status st = dataset_prep_image(s->images + (size_t)i * (size_t)s->dim, s->cols, s->rows, o, rows, cols, what,
                                          out + (size_t)i * dim);
        if (st == CM_ERR_FORMAT && o->preprocess == CM_PREP_MNIST) {
            (*blank)++;
        } else if (st != CM_OK) {
            free(out);
            return st;
        }
    }
    if (!s->borrowed) free(s->images);
    s->images = out;
    s->borrowed = 0;
    s->rows = rows;
    s->cols = cols;
    s->dim = (int32_t)dim;
    return CM_OK;
}

/* Moves a seeded test_fraction of ds->train into ds->test, both in their original order. */
static cm_status hold_out(const char *path, const cm_data_options *o, cm_dataset *ds) {
    cm_split *tr = &ds->train;
    int32_t n = tr->count, k = (int32_t)(o->test_fraction * n + 0.5);
    if (k < 1) k = 1;
    if (n < 2 || k >= n)
        return cm_fail(CM_ERR_FORMAT, "%s: %d images: too few to hold out a test split (--test-fraction %g)", path, n,
                       o->test_fraction);
    int32_t *perm = malloc(sizeof *perm * (size_t)n);
    uint8_t *pick = calloc((size_t)n, 1);
    split_builder a = {.s = {.rows = tr->rows, .cols = tr->cols, .dim = tr->dim, .channels = tr->channels}},
                  b = {.s = a.s};
    cm_status st = perm && pick ? CM_OK : cm_fail(CM_ERR_MEMORY, "out of host memory");
    if (st == CM_OK) {
        cm_rng r;
        rng_seed(&r, o->seed, 11);
        for (int32_t i = 0; i < n; i++)
            perm[i] = i;
        rng_shuffle(&r, perm, n);
        for (int32_t i = 0; i < k; i++)
            pick[perm[i]] = 1;
    }
    for (int32_t i = 0; st == CM_OK && i < n; i++)
        st = builder_push(pick[i] ? &b : &a, tr->images + (size_t)i * (size_t)tr->dim, tr->labels[i]);
    free(perm);
    free(pick);
    if (st != CM_OK) {
        dataset_free_split(&a.s);
        dataset_free_split(&b.s);
        return st;
    }
    dataset_free_split(&ds->train);
    ds->train = a.s;
    ds->test = b.s;
    ds->origin.held_out = 1;
    ds->origin.test_fraction = o->test_fraction;
    ds->origin.seed = o->seed;
    dataset_note(o, "note", path,
                 "no test split: %d of the %d images (--test-fraction %g, seed %llu) held out for testing", k, n,
                 o->test_fraction, (unsigned long long)o->seed);
    return CM_OK;
}

/* Classes (the largest label + 1, at least the names given), the test labels checked, one name
 * per class (given or the number), --val. */
static cm_status finish(const char *path, const cm_data_options *o, cm_dataset *ds, char **names, int nnames) {
    int maxl = -1;
    for (int32_t i = 0; i < ds->train.count; i++)
        maxl = ds->train.labels[i] > maxl ? ds->train.labels[i] : maxl;
    if (names && maxl >= nnames)
        return cm_fail(CM_ERR_FORMAT, "%s: label %d has no class name (%d names given)", path, maxl, nnames);
    ds->classes = maxl + 1 > nnames ? maxl + 1 : nnames;
    if (ds->classes < 2) return cm_fail(CM_ERR_FORMAT, "%s: only one class; need at least 2", path);
    for (int32_t i = 0; i < ds->test.count; i++)
        if (ds->test.labels[i] >= ds->classes)
            return cm_fail(CM_ERR_FORMAT, "%s: test label %d at index %d is outside the %d classes of the training set",
                           path, ds->test.labels[i], i, ds->classes);
    if (names) {
        ds->class_names = calloc((size_t)ds->classes, sizeof(char *));
        for (int c = 0; ds->class_names && c < ds->classes; c++)
            ds->class_names[c] = strdup(names[c]);
        for (int c = 0; ds->class_names && c < ds->classes; c++)
            if (!ds->class_names[c]) return cm_fail(CM_ERR_MEMORY, "out of host memory");
        if (!ds->class_names) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    }
    if (o->val < 0 || o->val >= ds->train.count)
        return cm_fail(CM_ERR_USAGE, "--val %d: must be between 0 and %d (the training set size minus one)", o->val,
                       ds->train.count - 1);
    if (o->val > 0) {
        dataset_free_split(&ds->heldout);
        ds->heldout = ds->test;
        cm_split *tr = &ds->train;
        ds->test = *tr;
        ds->test.count = o->val;
        ds->test.images = tr->images + (size_t)(tr->count - o->val) * (size_t)tr->dim;
        ds->test.labels = tr->labels + (tr->count - o->val);
        ds->test.borrowed = 1;
        tr->count -= o->val;
    }
    return CM_OK;
}

/* Base name of path without a ".csv" ending, into ds->name. */
static void set_name(cm_dataset *ds, const char *path) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    size_t len = strlen(buf);
    while (len > 1 && buf[len - 1] == '/')
        buf[--len] = '\0';
    if (len > 4 && !strcasecmp(buf + len - 4, ".csv")) buf[len - 4] = '\0';
    const char *base = strrchr(buf, '/');
    snprintf(ds->name, sizeof ds->name, "%s", base && base[1] ? base + 1 : buf);
}

/* IDX: the MNIST names (dataset_load_dir), or PREFIX-train/test-* as EMNIST and KMNIST ship. */
static cm_status load_idx(const char *dir, const cm_data_options *o, cm_dataset *ds, char *prefix, size_t size,
                          int *have_test) {
    char ti[4096], tl[4096], ei[4096], el[4096];
    prefix[0] = '\0';
    *have_test = 1;
    if (dataset_find_file(dir, "train-images-idx3-ubyte", ti, sizeof ti) == 0) return dataset_load_dir(dir, 0, ds);
    find_prefix(dir, prefix, size);
    char stem[512];
    snprintf(stem, sizeof stem, "%strain-labels-idx1-ubyte", prefix);
    dataset_find_file(dir, stem, tl, sizeof tl);
    snprintf(stem, sizeof stem, "%strain-images-idx3-ubyte", prefix);
    dataset_find_file(dir, stem, ti, sizeof ti);
    CM_TRY(dataset_load_split(ti, tl, &ds->train));
    const char *split = "test";
    snprintf(stem, sizeof stem, "%stest-images-idx3-ubyte", prefix);
    if (dataset_find_file(dir, stem, ei, sizeof ei) != 0) {
        split = "t10k";
        snprintf(stem, sizeof stem, "%st10k-images-idx3-ubyte", prefix);
        if (dataset_find_file(dir, stem, ei, sizeof ei) != 0) {
            *have_test = 0;
            return CM_OK;
        }
    }
    snprintf(stem, sizeof stem, "%s%s-labels-idx1-ubyte", prefix, split);
    dataset_find_file(dir, stem, el, sizeof el);
    CM_TRY(dataset_load_split(ei, el, &ds->test));
    if (ds->test.dim != ds->train.dim)
        return cm_fail(CM_ERR_FORMAT, "%s: images are %dx%d but the training images are %dx%d", ei, ds->test.rows,
                       ds->test.cols, ds->train.rows, ds->train.cols);
    (void)o;
    return CM_OK;
}

/* CSV: a file, or DIR/train.csv and DIR/test.csv (one without labels is for predictions only). */
static cm_status load_csv(const char *path, const cm_data_options *o, cm_dataset *ds, int *have_test) {
    char train[4096], test[4096];
    int labelled = 1, dir = is_dir(path);
    snprintf(train, sizeof train, dir ? "%s/train.csv" : "%s", path);
    CM_TRY(csv_load(train, o, &ds->train, &labelled));
    if (!labelled) return cm_fail(CM_ERR_FORMAT, "%s: no label column (the header does not start with 'label')", train);
    snprintf(test, sizeof test, "%s/test.csv", path);
    *have_test = 0;
    if (!dir || !is_file(test)) return CM_OK;
    CM_TRY(csv_load(test, o, &ds->test, &labelled));
    if (!labelled) {
        dataset_note(o, "note", test,
                     "no label column (for predictions only): not used; the test split is held out of the "
                     "training data");
        dataset_free_split(&ds->test);
        return CM_OK;
    }
    if (ds->test.dim != ds->train.dim)
        return cm_fail(CM_ERR_FORMAT, "%s: images are %dx%d but those of %s are %dx%d", test, ds->test.rows,
                       ds->test.cols, train, ds->train.rows, ds->train.cols);
    *have_test = 1;
    return CM_OK;
}

static cm_status load_folder(const char *path, const cm_data_options *o, cm_dataset *ds, char ***names, int *n,
                             int *have_test) {
    char root[4096], test[4096];
    folder_root(path, root, sizeof root);
    CM_TRY(folder_classes(root, names, n));
    if (*n > 256) return cm_fail(CM_ERR_FORMAT, "%s: %d class folders, more than the 256 supported", root, *n);
    int side = o->image_size ? o->image_size : CM_DEFAULT_IMAGE_SIZE;
    ds->origin.from_images = 1;
    ds->origin.preprocess = o->preprocess;
    /* colour unless --channels 1 or the MNIST preprocessing (grey by nature); auto keeps it only
     * when some training image has colour (grey ones among them are then made RGB) */
    if (o->channels == 3 && o->preprocess == CM_PREP_MNIST)
        return cm_fail(CM_ERR_USAGE, "--channels 3: --preprocess mnist makes grey images; use --preprocess resize");
    int channels = o->channels == 1 || o->preprocess == CM_PREP_MNIST ? 1 : 3, colour = 0;
    CM_TRY(folder_load(root, *names, *n, NULL, 0, o, side, side, channels, &colour, &ds->train));
    if (channels == 3 && o->channels == 0 && colour == 0) { /* auto, and no colour in sight */
        CM_TRY(dataset_set_channels(ds, 1));
        channels = 1;
    }
    snprintf(test, sizeof test, "%s/test", path);
    *have_test = strcmp(root, path) != 0 && is_dir(test);
    if (!*have_test) return CM_OK;
    char **tnames;
    int tn;
    CM_TRY(folder_classes(test, &tnames, &tn));
    cm_status st = folder_load(test, tnames, tn, *names, *n, o, side, side, channels, NULL, &ds->test);
    dataset_free_names(tnames, tn);
    return st;
}

static cm_status check_options(const cm_data_options *o) {
    if (o->preprocess == CM_PREP_MNIST && o->image_size && o->image_size != 28)
        return cm_fail(CM_ERR_USAGE, "--preprocess mnist makes 28x28 images; --image-size %d needs --preprocess resize",
                       o->image_size);
    if (o->image_size < 0 || o->image_size > 256)
        return cm_fail(CM_ERR_USAGE, "--image-size %d: must be between 1 and 256", o->image_size);
    if (o->channels != 0 && o->channels != 1 && o->channels != 3)
        return cm_fail(CM_ERR_USAGE, "--channels %d: must be auto, 1 or 3", o->channels);
    if (!(o->test_fraction > 0.0 && o->test_fraction < 1.0))
        return cm_fail(CM_ERR_USAGE, "--test-fraction %g: must be between 0 and 1", o->test_fraction);
    return CM_OK;
}

/* Loads by kind; *names (count *n) are the class names when the data has them. */
static cm_status load_kind(const char *path, const char *kind, const cm_data_options *o, cm_dataset *ds, char ***names,
                           int *n, int *have_test) {
    char prefix[256] = "";
    if (!strcmp(kind, "folder")) return load_folder(path, o, ds, names, n, have_test);
    if (!strcmp(kind, "cifar")) return cifar_load(path, ds, names, n, have_test);
    if (!strcmp(kind, "csv")) CM_TRY(load_csv(path, o, ds, have_test));
    if (!strcmp(kind, "idx")) {
        CM_TRY(load_idx(path, o, ds, prefix, sizeof prefix, have_test));
        CM_TRY(dataset_read_source(path, &ds->origin));
        int emnist = !strncasecmp(prefix, "emnist", 6);
        if (o->transpose == CM_TRANSPOSE_YES || (o->transpose == CM_TRANSPOSE_AUTO && emnist)) {
            transpose_split(&ds->train);
            transpose_split(&ds->test);
            if (emnist && o->transpose == CM_TRANSPOSE_AUTO)
                dataset_note(o, "note", path, "EMNIST files (%s*): images transposed (--transpose no to keep them)",
                             prefix);
        }
    }
    const char *dir = path;
    char parent[4096];
    if (!is_dir(path)) { /* a CSV file: its folder */
        snprintf(parent, sizeof parent, "%s", path);
        char *slash = strrchr(parent, '/');
        snprintf(parent, sizeof parent, "%s", slash ? (*slash = '\0', parent) : ".");
        dir = parent;
    }
    CM_TRY(dataset_read_class_names(dir, names, n));
    if (!*names && !strcmp(kind, "idx")) {
        CM_TRY(dataset_known_names(path, prefix, names, n));
        for (int32_t i = 0; *names && i < ds->train.count; i++)
            if (ds->train.labels[i] >= *n) { /* not the dataset the names are for: keep numbers */
                dataset_free_names(*names, *n);
                *names = NULL, *n = 0;
            }
    }
    if (prefix[0]) snprintf(ds->name, sizeof ds->name, "%.*s", (int)strlen(prefix) - 1, prefix);
    return CM_OK;
}

cm_status dataset_open(const char *path, const cm_data_options *o, cm_dataset *ds) {
    memset(ds, 0, sizeof *ds);
    CM_TRY(check_options(o));
    const char *kind = dataset_kind(path);
    if (!kind)
        return cm_fail(CM_ERR_IO,
                       "%s%s: no dataset found: looked for IDX files (%s/train-images-idx3-ubyte[.gz] and the other "
                       "three, or PREFIX-train-images-idx3-ubyte[.gz] as EMNIST names them), CSV (a .csv file or "
                       "train.csv) and an image folder (CLASS/*.png or train/CLASS/*.png; PNG, JPEG, PGM, PPM); "
                       "fetch MNIST with 'data/fetch mnist' or pass --data",
                       path, is_dir(path) || is_file(path) ? "" : " (does not exist)", path);
    char **names = NULL;
    int n = 0, have_test = 0, blank = 0;
    set_name(ds, path);
    cm_status st = load_kind(path, kind, o, ds, &names, &n, &have_test);
    cm_data_options r = *o; /* images an import already made MNIST-style are not made so again */
    if (ds->origin.imported && ds->origin.preprocess == CM_PREP_MNIST) r.preprocess = CM_PREP_RESIZE;
    if (st == CM_OK && o->channels) st = dataset_set_channels(ds, o->channels);
    if (st == CM_OK && split_channels(&ds->train) > 1 && strcmp(kind, "folder") != 0 &&
        ((r.image_size && (r.image_size != ds->train.rows || r.image_size != ds->train.cols)) ||
         r.preprocess == CM_PREP_MNIST))
        st = cm_fail(CM_ERR_USAGE,
                     "%s: colour images: --image-size and --preprocess mnist work on grey images only "
                     "(--channels 1 makes them grey)",
                     path);
    if (st == CM_OK && strcmp(kind, "folder") != 0 && (r.image_size || r.preprocess == CM_PREP_MNIST)) {
        int side = r.image_size ? r.image_size : 28;
        st = reshape_split(&ds->train, &r, side, side, path, &blank);
        if (st == CM_OK) st = reshape_split(&ds->test, &r, side, side, path, &blank);
        if (r.preprocess == CM_PREP_MNIST) ds->origin.preprocess = CM_PREP_MNIST;
        if (st == CM_OK && blank)
            dataset_note(o, "warning", path, "%d images without ink left black by --preprocess mnist", blank);
    }
    if (st == CM_OK && !have_test) st = hold_out(path, o, ds);
    if (st == CM_OK) st = finish(path, o, ds, names, n);
    dataset_free_names(names, n);
    if (st != CM_OK) dataset_free(ds);
    return st;
}

cm_status dataset_open_predict(const char *path, const cm_data_options *o, cm_split *out, int *labelled) {
    memset(out, 0, sizeof *out);
    const char *kind = dataset_kind(path);
    char csv[4096];
    snprintf(csv, sizeof csv, "%s/test.csv", path);
    if (is_dir(path) && !is_file(csv)) snprintf(csv, sizeof csv, "%s/train.csv", path);
    if (is_file(path)) snprintf(csv, sizeof csv, "%s", path);
    if (is_file(csv) && (!kind || !strcmp(kind, "csv"))) return csv_load(csv, o, out, labelled);
    if (!kind || strcmp(kind, "idx") != 0)
        return cm_fail(CM_ERR_USAGE,
                       "--data %s: expected a CSV file, a folder with test.csv or train.csv, or IDX files", path);
    cm_dataset ds;
    CM_TRY(dataset_open(path, o, &ds));
    *out = ds.test, *labelled = 1;
    memset(&ds.test, 0, sizeof ds.test);
    dataset_free(&ds);
    return CM_OK;
}
