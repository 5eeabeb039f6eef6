/* predict_inputs.c: collecting and reading predict's images (predict_inputs.h). */
#include "predict_inputs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stb_image_write.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "dataset_source.h"
#include "image.h"
#include "image_rgb.h"

#define STDIN_MAX ((size_t)256 << 20)

void predict_inputs_init(cm_predict_inputs *in) {
    memset(in, 0, sizeof *in);
}

void predict_inputs_free(cm_predict_inputs *in) {
    for (int i = 0; i < in->n; i++)
        free(in->names[i]), free(in->errors[i]), free(in->saved[i]);
    free(in->names), free(in->errors), free(in->saved), free(in->images);
    free(in->inverted), free(in->unclear), free(in->labels);
    memset(in, 0, sizeof *in);
}

static cm_status grow(cm_predict_inputs *in) {
    if (in->n < in->cap) return CM_OK;
    int cap = in->cap ? 2 * in->cap : 64;
    void *p[7] = {realloc(in->names, sizeof(char *) * cap), realloc(in->errors, sizeof(char *) * cap),
                  realloc(in->saved, sizeof(char *) * cap), realloc(in->images, in->dim * cap + 1),
                  realloc(in->inverted, sizeof(int) * cap), realloc(in->unclear, sizeof(int) * cap),
                  realloc(in->labels, sizeof(int) * cap)};
    in->names = p[0] ? p[0] : in->names, in->errors = p[1] ? p[1] : in->errors, in->saved = p[2] ? p[2] : in->saved;
    in->images = p[3] ? p[3] : in->images, in->inverted = p[4] ? p[4] : in->inverted;
    in->unclear = p[5] ? p[5] : in->unclear, in->labels = p[6] ? p[6] : in->labels;
    for (int i = 0; i < 7; i++)
        if (!p[i]) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    in->cap = cap;
    return CM_OK;
}

/* A new item named `name`; its input at in->images + i * dim. */
static cm_status add(cm_predict_inputs *in, const char *name, int *index) {
    CM_TRY(grow(in));
    int i = in->n;
    in->names[i] = strdup(name);
    if (!in->names[i]) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    in->errors[i] = in->saved[i] = NULL;
    in->inverted[i] = -1, in->unclear[i] = 0, in->labels[i] = -1;
    memset(in->images + (size_t)i * in->dim, 0, in->dim);
    in->n++;
    *index = i;
    return CM_OK;
}

/* All of stdin, at most STDIN_MAX bytes. */
static cm_status read_stdin(uint8_t **buf, size_t *len) {
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    while (b) {
        if (n == cap) {
            uint8_t *more = cap < STDIN_MAX ? realloc(b, cap *= 2) : NULL;
            if (!more) break;
            b = more;
        }
        size_t got = fread(b + n, 1, cap - n, stdin);
        n += got;
        if (got == 0) {
            *buf = b, *len = n;
            return ferror(stdin) ? (free(b), cm_fail(CM_ERR_IO, "-: cannot read stdin: %s", strerror(errno))) : CM_OK;
        }
    }
    free(b);
    return cm_fail(CM_ERR_IO, "-: the image on stdin is larger than %zu MiB or out of memory", STDIN_MAX >> 20);
}

/* One image file (or "-": stdin) read into item i. */
static cm_status read_one(cm_predict_inputs *in, const clmnist_model *m, const char *path, cm_invert invert, int i) {
    const cm_shape s = api_model_file(m)->model.layout.input;
    if (s.c != 1 && s.c != 3)
        return cm_fail(CM_ERR_USAGE, "%s: the model takes %d-channel images; image files make 1 or 3-channel ones",
                       path, s.c);
    if (s.c == 3) {
        uint8_t *raw = NULL;
        size_t n = 0;
        cm_status st = strcmp(path, "-") ? CM_OK : read_stdin(&raw, &n);
        if (st == CM_OK) st = image_rgb_for_model(path, raw, n, s.h, s.w, in->images + (size_t)i * in->dim);
        free(raw);
        if (st == CM_OK) in->inverted[i] = 0, in->unclear[i] = 0;
        return st;
    }
    uint8_t *gray = NULL, *bytes = NULL;
    size_t len = 0;
    int w, h;
    cm_status st = strcmp(path, "-") ? image_load_gray(path, &gray, &w, &h) : read_stdin(&bytes, &len);
    if (st == CM_OK && bytes) st = image_decode_gray_mem(bytes, len, "-", &gray, &w, &h);
    free(bytes);
    cm_prep_info info;
    if (st == CM_OK)
        st = pipeline_image_info(&m->pipe, gray, w, h, invert, path, in->images + (size_t)i * in->dim, &info);
    free(gray);
    if (st == CM_OK) in->inverted[i] = info.inverted, in->unclear[i] = info.unclear;
    return st;
}

static cm_status add_file(cm_predict_inputs *in, const clmnist_model *m, const char *path, cm_invert invert) {
    int i;
    CM_TRY(add(in, path, &i));
    if (read_one(in, m, path, invert, i) == CM_OK) return CM_OK;
    in->errors[i] = strdup(cm_last_error());
    in->failed++;
    return in->errors[i] ? CM_OK : cm_fail(CM_ERR_MEMORY, "out of host memory");
}

static int is_image_name(const char *name) {
    static const char *const ext[] = {".png", ".jpg", ".jpeg", ".pgm", ".ppm", ".pnm"};
    size_t n = strlen(name);
    for (size_t k = 0; k < sizeof ext / sizeof ext[0]; k++) {
        size_t e = strlen(ext[k]);
        if (n > e && !strcasecmp(name + n - e, ext[k])) return 1;
    }
    return 0;
}

/* The images of a folder and its subfolders, in sorted order (hidden entries skipped). */
static cm_status add_dir(cm_predict_inputs *in, const clmnist_model *m, const char *dir, cm_invert invert, int depth) {
    if (depth > 32) return cm_fail(CM_ERR_USAGE, "%s: folders nested more than 32 deep", dir);
    struct dirent **list;
    int n = scandir(dir, &list, NULL, alphasort);
    if (n < 0) return cm_fail(CM_ERR_IO, "%s: cannot list: %s", dir, strerror(errno));
    cm_status st = CM_OK;
    for (int k = 0; k < n; k++) {
        const char *name = list[k]->d_name;
        char path[4096];
        struct stat sb;
        int len = snprintf(path, sizeof path, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name);
        if (st == CM_OK && name[0] != '.' && len < (int)sizeof path && stat(path, &sb) == 0) {
            if (S_ISDIR(sb.st_mode))
                st = add_dir(in, m, path, invert, depth + 1);
            else if (S_ISREG(sb.st_mode) && is_image_name(name))
                st = add_file(in, m, path, invert);
        }
        free(list[k]);
    }
    free(list);
    return st;
}

/* --data: an image folder file by file; else its images as stored (dataset_open_predict). */
static cm_status add_data(cm_predict_inputs *in, const clmnist_model *m, const char *data, cm_invert invert) {
    const char *kind = dataset_kind(data);
    if (kind && !strcmp(kind, "folder")) return add_dir(in, m, data, invert, 0);
    cm_data_options o;
    dataset_default_options(&o);
    o.transpose = m->pipe.transpose;
    cm_split s;
    int labelled = 0;
    CM_TRY(dataset_open_predict(data, &o, &s, &labelled));
    const cm_shape sh = api_model_file(m)->model.layout.input;
    cm_status st = (size_t)s.dim == in->dim
                       ? CM_OK
                       : cm_fail(CM_ERR_USAGE, "--data %s: the images are %dx%d; the model takes %dx%dx%d", data,
                                 s.rows, s.cols, sh.c, sh.h, sh.w);
    for (int32_t r = 0; st == CM_OK && r < s.count; r++) {
        char name[4200];
        int i;
        snprintf(name, sizeof name, "%s#%d", data, r + 1);
        st = add(in, name, &i);
        if (st != CM_OK) break;
        memcpy(in->images + (size_t)i * in->dim, s.images + (size_t)r * s.dim, in->dim);
        if (labelled) in->labels[i] = s.labels[r];
    }
    dataset_free_split(&s);
    return st;
}

cm_status predict_inputs_collect(cm_predict_inputs *in, const clmnist_model *m, const char *const *args, int n,
                                 const char *data, cm_invert invert) {
    in->dim = shape_numel(api_model_file(m)->model.layout.input);
    int stdin_used = 0;
    for (int k = 0; k < n; k++) {
        struct stat sb;
        if (!strcmp(args[k], "-") && stdin_used++)
            return cm_fail(CM_ERR_USAGE, "clmnist predict: '-' (stdin) given more than once");
        if (strcmp(args[k], "-") && stat(args[k], &sb) == 0 && S_ISDIR(sb.st_mode))
            CM_TRY(add_dir(in, m, args[k], invert, 0));
        else
            CM_TRY(add_file(in, m, args[k], invert));
    }
    return data ? add_data(in, m, data, invert) : CM_OK;
}

const char *predict_inputs_first_error(const cm_predict_inputs *in) {
    for (int i = 0; i < in->n; i++)
        if (in->errors[i]) return in->errors[i];
    return "";
}

/* NNNNN-NAME.png: NAME the file's name without its folder and extension, in safe characters. */
static void save_name(const char *dir, int i, const char *name, char *out, size_t size) {
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    char clean[96];
    size_t k = 0;
    for (; *base && *base != '#' && k + 1 < sizeof clean; base++)
        clean[k++] = isalnum((unsigned char)*base) || *base == '-' || *base == '_' || *base == '.' ? *base : '_';
    clean[k] = 0;
    char *dot = strrchr(clean, '.');
    if (dot && dot != clean) *dot = 0;
    snprintf(out, size, "%s/%05d%s%s.png", dir, i + 1, clean[0] ? "-" : "", clean);
}

/* mkdir -p */
static int make_dirs(const char *dir) {
    char p[4096];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0777) != 0 && errno != EEXIST) return -1;
            *s = '/';
        }
    return mkdir(p, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

/* The model's input (C planes of h x w) as a PNG: grey, or RGB interleaved from its planes. */
static int write_png(const char *path, cm_shape s, const uint8_t *planes) {
    if (s.c == 1) return stbi_write_png(path, s.w, s.h, 1, planes, s.w);
    size_t plane = (size_t)s.h * (size_t)s.w;
    uint8_t *rgb = malloc(plane * (size_t)s.c);
    if (!rgb) return 0;
    for (size_t p = 0; p < plane; p++)
        for (int c = 0; c < s.c; c++)
            rgb[p * (size_t)s.c + (size_t)c] = planes[(size_t)c * plane + p];
    int ok = stbi_write_png(path, s.w, s.h, s.c, rgb, s.w * s.c);
    free(rgb);
    return ok;
}

cm_status predict_inputs_save(cm_predict_inputs *in, const clmnist_model *m, const char *dir) {
    if (make_dirs(dir) != 0) return cm_fail(CM_ERR_IO, "--save-input %s: cannot create: %s", dir, strerror(errno));
    const cm_shape s = api_model_file(m)->model.layout.input;
    for (int i = 0; i < in->n; i++) {
        if (in->errors[i]) continue;
        char path[4300];
        save_name(dir, i, strcmp(in->names[i], "-") ? in->names[i] : "stdin", path, sizeof path);
        if (!write_png(path, s, in->images + (size_t)i * in->dim))
            return cm_fail(CM_ERR_IO, "--save-input: cannot write %s", path);
        if (!(in->saved[i] = strdup(path))) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    }
    return CM_OK;
}
