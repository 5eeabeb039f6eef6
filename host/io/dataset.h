/* dataset.h: IDX image/label files (MNIST and its relatives), raw or gzip-compressed.
 * Pixels stay uint8; they are normalised to float when a batch is built. */
#ifndef CLMNIST_DATASET_H
#define CLMNIST_DATASET_H
#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* Refuse any single IDX payload larger than this (EMNIST ByClass train is ~550 MB). */
#define CM_IDX_MAX_BYTES ((size_t)2 << 30)

typedef struct {
    int32_t count;    /* number of examples */
    int32_t rows;     /* image height */
    int32_t cols;     /* image width */
    int32_t dim;      /* channels * rows * cols */
    int32_t channels; /* 1 grey, 3 RGB (planar: (C, rows, cols) per image, as CIFAR); 0 reads as 1 */
    uint8_t *images;  /* (count, dim) row-major, owned unless `borrowed` */
    uint8_t *labels;  /* (count) */
    int borrowed;     /* 1 if images/labels point into another split */
} cm_split;

/* Where a dataset's images came from (dataset_open fills it; pipeline.h records it in models). */
typedef struct {
    int from_images;      /* 1: decoded from image files (a folder, or `import` of one: its source.json) */
    int preprocess;       /* then how (cm_preprocess: resize or mnist) */
    int held_out;         /* 1: the test split was held out of the training data, seeded */
    double test_fraction; /* then its fraction and seed */
    uint64_t seed;
    int imported; /* 1: an `import` wrote it (source.json beside the IDX files) */
} cm_data_origin;

typedef struct {
    cm_split train;        /* training examples (minus the validation split, if any) */
    cm_split test;         /* the test set, or the validation split when val > 0 */
    cm_split heldout;      /* the official test set when a validation split replaced it (else empty) */
    int32_t classes;       /* max label + 1 over the training labels (10 for MNIST) */
    char name[64];         /* directory base name, e.g. "mnist" */
    char **class_names;    /* `classes` names when the data gives them (dataset_source.h), else NULL */
    cm_data_origin origin; /* where the images came from */
} cm_dataset;

/* Reads an IDX file of unsigned bytes with `ndims` dimensions (1 for labels, 3 for images).
 * The whole payload is returned in *data (caller frees) and dims[0..ndims) in *dims. */
cm_status dataset_read_idx(const char *path, int ndims, uint32_t dims[3], uint8_t **data);
/* The same for a file's bytes held in memory (raw, or gzip by its first two bytes as for a file),
 * with the same checks; `what` names it in errors. */
cm_status dataset_parse_idx(const uint8_t *bytes, size_t len, const char *what, int ndims, uint32_t dims[3],
                            uint8_t **data);

/* Loads images + labels as one split and checks they agree. */
cm_status dataset_load_split(const char *images_path, const char *labels_path, cm_split *out);

/* Finds and loads the four standard files in `dir` (either spelling, with or without .gz).
 * val > 0 carves the last `val` training examples into ds->test for validation. */
cm_status dataset_load_dir(const char *dir, int32_t val, cm_dataset *ds);

/* Locates `stem` (e.g. "train-images-idx3-ubyte") in dir; returns 0 and fills path if found. */
int dataset_find_file(const char *dir, const char *stem, char *path, size_t path_size);

/* A learnable stand-in for a dataset that is not there: rows x cols images of class c show a
 * bright horizontal band (band c of `classes` equal bands) over uniform noise, labels cycling
 * through the classes; named "synthetic". The same seed gives the same bytes. */
cm_status dataset_synthetic(cm_dataset *ds, int32_t n_train, int32_t n_test, int32_t rows, int32_t cols,
                            int32_t classes, uint64_t seed);

/* A split's channels (1 when the field is 0: splits made before it existed). */
static inline int split_channels(const cm_split *s) {
    return s->channels > 1 ? s->channels : 1;
}

void dataset_free_split(cm_split *split);
void dataset_free(cm_dataset *ds);

#endif
