/* pipeline_open.c: a model's input built from its pipeline (pipeline.h): a dataset opened as the
 * training run opened it (eval, serve's test images), one image brought to the input (predict,
 * serve), and the warning when the data's classes are not the model's. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pipeline.h"

void pipeline_no_overrides(cm_pipeline_overrides *ov) {
    *ov = (cm_pipeline_overrides){.preprocess = -1};
}

const char *pipeline_data_path(const cm_pipeline *p, const cm_pipeline_overrides *ov, FILE *notes) {
    if (ov && ov->data) return ov->data;
    struct stat st;
    if (p->path[0] && stat(p->path, &st) == 0) return p->path;
    const char *env = getenv("CLMNIST_DATA");
    const char *path = env && *env ? env : "data/mnist";
    if (p->path[0]) {
        fflush(stdout);
        fprintf(notes ? notes : stderr, "clmnist: note: %s (the model's training data) is not there; using %s\n",
                p->path, path);
    }
    return path;
}

static void note(FILE *notes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(FILE *notes, const char *fmt, ...) {
    fflush(stdout);
    va_list ap;
    va_start(ap, fmt);
    fputs("clmnist: note: ", notes ? notes : stderr);
    vfprintf(notes ? notes : stderr, fmt, ap);
    fputc('\n', notes ? notes : stderr);
    va_end(ap);
}

/* The split overrides (--seed, --test-fraction) of ov into o, a note for each that matters. */
static void split_options(const cm_pipeline *p, const cm_pipeline_overrides *ov, FILE *notes, cm_data_options *o) {
    const char *given = "the model's test split came with its data; this applies only to data without one";
    if (ov->seed_set && !p->held_out)
        note(notes, "--seed %llu: %s", (unsigned long long)ov->seed, given);
    else if (ov->seed_set && ov->seed != p->seed)
        note(notes, "--seed %llu: the model was trained with seed %llu; the held-out test split differs from train's",
             (unsigned long long)ov->seed, (unsigned long long)p->seed);
    if (ov->seed_set) o->seed = ov->seed;
    if (ov->test_fraction > 0 && !p->held_out)
        note(notes, "--test-fraction %g: %s", ov->test_fraction, given);
    else if (ov->test_fraction > 0 && ov->test_fraction != p->test_fraction)
        note(notes,
             "--test-fraction %g: the model was trained with --test-fraction %g; the held-out test split differs "
             "from train's",
             ov->test_fraction, p->test_fraction);
    if (ov->test_fraction > 0) o->test_fraction = ov->test_fraction;
}

/* The dataset options of p with ov applied, a note for each override that changes something. */
static void options(const cm_pipeline *p, const cm_pipeline_overrides *ov, FILE *notes, cm_data_options *o) {
    dataset_default_options(o);
    o->notes = notes;
    o->image_size = p->height;
    o->preprocess = p->preprocess;
    o->transpose = p->transpose;
    o->channels = p->channels;
    if (p->held_out) o->test_fraction = p->test_fraction, o->seed = p->seed;
    split_options(p, ov, notes, o);
    if (ov->image_size > 0 && ov->image_size != p->height) {
        note(notes, "--image-size %d: the model was trained on %dx%d images; the input differs from train's",
             ov->image_size, p->height, p->width);
        o->image_size = ov->image_size;
    }
    if (ov->preprocess >= 0 && ov->preprocess != (int)p->preprocess) {
        note(notes, "--preprocess %s: the model was trained with --preprocess %s; the input differs from train's",
             ov->preprocess == CM_PREP_MNIST ? "mnist" : "resize", p->preprocess == CM_PREP_MNIST ? "mnist" : "resize");
        o->preprocess = (cm_preprocess)ov->preprocess;
    }
    if (o->preprocess == CM_PREP_MNIST && o->image_size == 28) o->image_size = 0; /* mnist is 28x28 */
}

/* A directory with only the t10k files: its test split as it is (no training files to hold out
 * from, no preprocessing: the model's input size is checked where it is fed). */
static cm_status open_test_files(const char *dir, cm_dataset *ds) {
    char ip[4096], lp[4096];
    memset(ds, 0, sizeof *ds);
    if (dataset_find_file(dir, "t10k-labels-idx1-ubyte", lp, sizeof lp) != 0)
        return cm_fail(CM_ERR_IO, "%s: no t10k-labels-idx1-ubyte[.gz] here", dir);
    dataset_find_file(dir, "t10k-images-idx3-ubyte", ip, sizeof ip);
    CM_TRY(dataset_load_split(ip, lp, &ds->test));
    ds->train = ds->test;
    ds->train.borrowed = 1;
    for (int32_t i = 0; i < ds->test.count; i++)
        ds->classes = ds->test.labels[i] >= ds->classes ? ds->test.labels[i] + 1 : ds->classes;
    const char *base = strrchr(dir, '/');
    snprintf(ds->name, sizeof ds->name, "%s", base && base[1] ? base + 1 : dir);
    return CM_OK;
}

cm_status pipeline_open_dataset(const cm_pipeline *p, const char *path, const cm_pipeline_overrides *ov, FILE *notes,
                                cm_dataset *ds) {
    cm_pipeline_overrides none;
    pipeline_no_overrides(&none);
    cm_data_options o;
    options(p, ov ? ov : &none, notes, &o);
    char ip[4096];
    if (!dataset_kind(path) && dataset_find_file(path, "t10k-images-idx3-ubyte", ip, sizeof ip) == 0)
        return open_test_files(path, ds);
    return dataset_open(path, &o, ds); /* no --val: ds->test is what train's final figure measured */
}

/* "a…b" of n names (the class numbers when names is NULL) into buf. */
static void span(const char *const *names, int n, char *buf, size_t size) {
    char first[40], last[40];
    snprintf(first, sizeof first, "%s", names ? names[0] : "0");
    if (names)
        snprintf(last, sizeof last, "%s", names[n - 1]);
    else
        snprintf(last, sizeof last, "%d", n - 1);
    snprintf(buf, size, "%s\xe2\x80\xa6%s", first, last);
}

void pipeline_warn_classes(const cm_pipeline *p, const cm_dataset *ds, const char *path) {
    const char *const *theirs =
        ds->class_names ? (const char *const *)ds->class_names : dataset_known_class_names(ds->name, ds->classes);
    const char *mine[CM_PIPELINE_MAX_CLASSES];
    for (int c = 0; c < p->classes; c++)
        mine[c] = p->names[c];
    int same = ds->classes == p->classes;
    for (int c = 0; same && c < p->classes; c++) {
        char num[16];
        snprintf(num, sizeof num, "%d", c);
        same = !strcmp(theirs ? theirs[c] : num, p->named ? mine[c] : num);
    }
    if (same) return;
    char a[96], b[96];
    span(theirs, ds->classes, a, sizeof a);
    span(p->named ? mine : NULL, p->classes, b, sizeof b);
    fflush(stdout);
    if (ds->classes != p->classes)
        fprintf(stderr, "clmnist: warning: %s: its %d classes (%s) differ from the model's %d (%s)\n", path,
                ds->classes, a, p->classes, b);
    else
        fprintf(stderr, "clmnist: warning: %s: its classes (%s) differ from the model's (%s)\n", path, a, b);
}

cm_status pipeline_load_test(const cm_meta *m, const char *file, const cm_layout *L, const char *path, cm_dataset *ds) {
    memset(ds, 0, sizeof *ds);
    cm_pipeline *p = malloc(sizeof *p);
    cm_status st = p ? pipeline_from_meta(m, file, L, p) : cm_fail(CM_ERR_MEMORY, "out of host memory");
    if (st == CM_OK) st = pipeline_open_dataset(p, path, NULL, stderr, ds);
    if (st == CM_OK) pipeline_warn_classes(p, ds, path);
    if (st == CM_OK && (ds->test.rows != p->height || ds->test.cols != p->width))
        st = cm_fail(CM_ERR_USAGE, "--data %s: the test images are %dx%d; the model takes %dx%d", path, ds->test.rows,
                     ds->test.cols, p->height, p->width);
    free(p);
    if (st != CM_OK) {
        dataset_free(ds);
        return st;
    }
    dataset_free_split(&ds->train);
    ds->train = ds->test;
    ds->train.borrowed = 1;
    return CM_OK;
}

cm_status pipeline_image(const cm_pipeline *p, const uint8_t *gray, int w, int h, cm_invert invert, const char *what,
                         uint8_t *out, int *inverted) {
    cm_prep_info info;
    CM_TRY(pipeline_image_info(p, gray, w, h, invert, what, out, &info));
    *inverted = info.inverted;
    return CM_OK;
}

cm_status pipeline_image_info(const cm_pipeline *p, const uint8_t *gray, int w, int h, cm_invert invert,
                              const char *what, uint8_t *out, cm_prep_info *info) {
    return image_for_model_info(gray, w, h, p->input, invert == CM_INVERT_AUTO ? p->invert : invert, p->height,
                                p->width, what, out, info);
}
