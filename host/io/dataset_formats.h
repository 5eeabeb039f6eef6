/* dataset_formats.h: the loaders behind dataset_open (dataset_source.c): image folders
 * (dataset_folder.c) and CSV (dataset_csv.c), and what they share. */
#ifndef CLMNIST_DATASET_FORMATS_H
#define CLMNIST_DATASET_FORMATS_H
#include <stdint.h>

#include "dataset_source.h"

/* A split being filled one image at a time. */
typedef struct {
    cm_split s;
    int32_t cap;
} split_builder;

/* Appends one image of s.dim bytes and its label. */
cm_status builder_push(split_builder *b, const uint8_t *image, uint8_t label);

/* gray (h, w) -> out (rows, cols) by o->preprocess; `what` names it in errors. */
cm_status dataset_prep_image(const uint8_t *gray, int w, int h, const cm_data_options *o, int rows, int cols,
                             const char *what, uint8_t *out);

/* "clmnist: warning: PATH: ..." (or "note") on o->notes. */
void dataset_note(const cm_data_options *o, const char *kind, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The class subfolders of dir, sorted (*names NULL, *n 0 when none). */
cm_status folder_classes(const char *dir, char ***names, int *n);
/* Loads the images of root/<names[c]>/ as class c into *out (rows x cols, channels 1 grey or 3
 * RGB planes; *colour, when not NULL, counts the images that had colour). Unreadable images are
 * skipped and counted in one warning; an empty class folder is an error. With `known` (test
 * folders), each subfolder must be one of the nknown training classes. */
cm_status folder_load(const char *root, char **names, int n, char **known, int nknown, const cm_data_options *o,
                      int rows, int cols, int channels, int *colour, cm_split *out);

/* CIFAR-10's binary batches (dataset_cifar.c): whether dir holds data_batch_1.bin, and the
 * loader (3x32x32 splits; *have_test 0 without test_batch.bin; names from batches.meta.txt). */
int cifar_dir(const char *dir);
cm_status cifar_load(const char *dir, cm_dataset *ds, char ***names, int *n, int *have_test);

/* Loads a CSV file; *labelled is 0 for a file without a label column (its labels are 0). */
cm_status csv_load(const char *path, const cm_data_options *o, cm_split *out, int *labelled);

/* Class names from EMNIST's PREFIX-mapping.txt in dir, or KMNIST's ten when prefix or dir says
 * kmnist; *names NULL when neither (dataset_classes.c). */
cm_status dataset_known_names(const char *dir, const char *prefix, char ***names, int *n);

#endif
