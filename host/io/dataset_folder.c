/* dataset_folder.c: an image folder (one subfolder per class, like PyTorch's ImageFolder) read
 * through the project's safe decoders (image.h), each image brought to one size. */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image.h"
#include "image_rgb.h"
#include "dataset_formats.h"

#define LISTED 5 /* file names a warning lists before "and N more" */

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The entries of dir (no dot files), sorted; subdirectories only when `dirs`, else the others. */
static cm_status list_dir(const char *dir, int dirs, char ***out, int *n) {
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return cm_fail(CM_ERR_IO, "%s: cannot open the folder", dir);
    int cap = 0;
    cm_status st = CM_OK;
    for (struct dirent *e; st == CM_OK && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (is_dir(path) != dirs) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(*out, sizeof *grown * (size_t)cap);
            if (!grown)
                st = cm_fail(CM_ERR_MEMORY, "%s: out of host memory listing the folder", dir);
            else
                *out = grown;
        }
        if (st == CM_OK && !((*out)[*n] = strdup(e->d_name))) st = cm_fail(CM_ERR_MEMORY, "out of host memory");
        if (st == CM_OK) (*n)++;
    }
    closedir(d);
    if (st != CM_OK) {
        dataset_free_names(*out, *n);
        *out = NULL;
        *n = 0;
        return st;
    }
    if (*n) qsort(*out, (size_t)*n, sizeof **out, cmp_str);
    return CM_OK;
}

cm_status folder_classes(const char *dir, char ***names, int *n) {
    return list_dir(dir, 1, names, n);
}

static int image_name(const char *name) {
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    char ext[8] = {0};
    for (int i = 0; i < 7 && dot[1 + i]; i++)
        ext[i] = (char)tolower((unsigned char)dot[1 + i]);
    return !strcmp(ext, "png") || !strcmp(ext, "jpg") || !strcmp(ext, "jpeg") || !strcmp(ext, "pgm") ||
           !strcmp(ext, "ppm");
}

/* Files skipped for one reason: how many, the first few names, the first reason. */
typedef struct {
    int count;
    char names[LISTED][256];
    char first_reason[512];
} skipped;

static void skip(skipped *k, const char *rel, const char *reason) {
    if (k->count < LISTED) snprintf(k->names[k->count], sizeof k->names[0], "%.255s", rel);
    if (!k->count && reason) snprintf(k->first_reason, sizeof k->first_reason, "%s", reason);
    k->count++;
}

static void report_skipped(const cm_data_options *o, const char *root, const skipped *k, const char *what) {
    if (!k->count) return;
    char list[LISTED * 260] = "";
    size_t off = 0;
    for (int i = 0; i < k->count && i < LISTED; i++)
        off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "", k->names[i]);
    char more[64] = "";
    if (k->count > LISTED) snprintf(more, sizeof more, ", and %d more", k->count - LISTED);
    dataset_note(o, "warning", root, "%d %s skipped: %s%s%s%s", k->count, what, list, more,
                 k->first_reason[0] ? "; the first: " : "", k->first_reason);
}

/* Sizes seen that were not rows x cols; images read in colour that had it, and that did not. */
typedef struct {
    int count, minw, minh, maxw, maxh;
    int colour, grey;
} resized;

/* A colour split (b->s.channels 3): the image's three planes, each brought to rows x cols. */
static cm_status load_rgb(const char *path, const cm_data_options *o, split_builder *b, uint8_t *tmp, int *w, int *h,
                          resized *rs) {
    uint8_t *planes = NULL;
    int colour = 0;
    cm_status st = image_load_rgb(path, &planes, w, h, &colour);
    size_t n = (size_t)*w * (size_t)*h, out = (size_t)b->s.rows * (size_t)b->s.cols;
    for (int c = 0; st == CM_OK && c < 3; c++)
        st = dataset_prep_image(planes + (size_t)c * n, *w, *h, o, b->s.rows, b->s.cols, path, tmp + (size_t)c * out);
    free(planes);
    if (st == CM_OK) colour ? rs->colour++ : rs->grey++;
    return st;
}

/* Loads one image into the builder, or records why not. */
static cm_status load_one(const char *path, const char *rel, uint8_t label, const cm_data_options *o, split_builder *b,
                          uint8_t *tmp, skipped *bad, resized *rs) {
    uint8_t *gray = NULL;
    int w = 0, h = 0;
    cm_status st;
    if (b->s.channels == 3) {
        st = load_rgb(path, o, b, tmp, &w, &h, rs);
    } else {
        st = image_load_gray(path, &gray, &w, &h);
        if (st == CM_OK) st = dataset_prep_image(gray, w, h, o, b->s.rows, b->s.cols, path, tmp);
        free(gray);
    }
    if (st == CM_ERR_MEMORY) return st;
    if (st != CM_OK) {
        skip(bad, rel, cm_last_error());
        return CM_OK;
    }
    if (w != b->s.cols || h != b->s.rows) {
        if (!rs->count++) rs->minw = rs->maxw = w, rs->minh = rs->maxh = h;
        rs->minw = w < rs->minw ? w : rs->minw, rs->maxw = w > rs->maxw ? w : rs->maxw;
        rs->minh = h < rs->minh ? h : rs->minh, rs->maxh = h > rs->maxh ? h : rs->maxh;
    }
    return builder_push(b, tmp, label);
}

/* The index of name among known, or -1. */
static int find_class(char **known, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(known[i], name)) return i;
    return -1;
}

static cm_status load_class(const char *root, const char *cls, uint8_t label, const cm_data_options *o,
                            split_builder *b, uint8_t *tmp, skipped *bad, skipped *other, resized *rs) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", root, cls);
    char **files;
    int nf;
    CM_TRY(list_dir(dir, 0, &files, &nf));
    int32_t before = b->s.count, images = 0;
    cm_status st = CM_OK;
    for (int i = 0; st == CM_OK && i < nf; i++) {
        char path[4096], rel[512];
        snprintf(path, sizeof path, "%.3000s/%.1000s", dir, files[i]);
        snprintf(rel, sizeof rel, "%s/%s", cls, files[i]);
        if (!image_name(files[i])) {
            skip(other, rel, NULL);
            continue;
        }
        images++;
        st = load_one(path, rel, label, o, b, tmp, bad, rs);
    }
    dataset_free_names(files, nf);
    if (st == CM_OK && images == 0)
        st = cm_fail(CM_ERR_FORMAT, "%s: empty class folder (no .png, .jpg, .jpeg, .pgm or .ppm file)", dir);
    else if (st == CM_OK && b->s.count == before)
        st = cm_fail(CM_ERR_FORMAT, "%s: none of its %d images could be read", dir, images);
    return st;
}

cm_status folder_load(const char *root, char **names, int n, char **known, int nknown, const cm_data_options *o,
                      int rows, int cols, int channels, int *colour, cm_split *out) {
    split_builder b = {.s = {.rows = rows, .cols = cols, .dim = channels * rows * cols, .channels = channels}};
    uint8_t *tmp = malloc((size_t)channels * (size_t)rows * (size_t)cols);
    skipped *bad = calloc(2, sizeof *bad);
    resized rs = {0};
    cm_status st = tmp && bad ? CM_OK : cm_fail(CM_ERR_MEMORY, "out of host memory");
    for (int c = 0; st == CM_OK && c < n; c++) {
        int label = known ? find_class(known, nknown, names[c]) : c;
        if (label < 0)
            st = cm_fail(CM_ERR_FORMAT, "%s/%s: class '%s' is not one of the %d training classes", root, names[c],
                         names[c], nknown);
        else
            st = load_class(root, names[c], (uint8_t)label, o, &b, tmp, &bad[0], &bad[1], &rs);
    }
    if (st == CM_OK) {
        report_skipped(o, root, &bad[0], "unreadable images");
        report_skipped(o, root, &bad[1], "files without an image extension");
        if (rs.count && o->preprocess == CM_PREP_RESIZE)
            dataset_note(o, "note", root, "%d images (%dx%d to %dx%d) were not %dx%d: resized", rs.count, rs.minw,
                         rs.minh, rs.maxw, rs.maxh, cols, rows);
    }
    free(tmp);
    free(bad);
    if (st != CM_OK) {
        dataset_free_split(&b.s);
        return st;
    }
    if (colour) *colour = rs.colour;
    if (st == CM_OK && rs.colour && rs.grey && o->channels == 0)
        dataset_note(o, "note", root, "%d grey images among %d colour ones: made RGB (--channels 1 for grey)", rs.grey,
                     rs.colour);
    *out = b.s;
    return CM_OK;
}
