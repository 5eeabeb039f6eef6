/* dataset_sanity.h: what is legal in a dataset but almost certainly a mistake: test classes the
 * training set never shows, a training set that uses few of its classes or is extremely
 * imbalanced, blank images, test images that are also training images, a test set that is the
 * training set. dataset_sanity counts; dataset_sanity_warnings turns the counts into warnings by
 * the thresholds below; the tool prints them (once per run, `clmnist: warning: DIR: ...`).
 *
 * Duplicates are found by a 64-bit FNV-1a hash of each image's bytes, every match confirmed by
 * comparing the bytes: the count is exact. Measured: MNIST and Fashion-MNIST have no test image
 * byte-identical to a training image, and no blank image. */
#ifndef CLMNIST_DATASET_SANITY_H
#define CLMNIST_DATASET_SANITY_H
#include <stdint.h>

#include "dataset.h"

/* A warning when fewer than classes / CM_SANITY_CLASS_DIVISOR classes have a training example. */
#define CM_SANITY_CLASS_DIVISOR 2
/* A warning when the largest training class has more than this many times the examples of the
 * smallest non-empty one (measured: MNIST 1.24, Fashion-MNIST 1). */
#define CM_SANITY_MAX_IMBALANCE 20
/* A warning when more than this many per thousand images of a split are blank (every pixel the
 * same value; images of one pixel are never counted). */
#define CM_SANITY_BLANK_PER_MILLE 1
/* A warning when more than this many percent of the test images are also training images. */
#define CM_SANITY_DUPLICATE_PERCENT 1
/* The longest warning line, with its terminating zero. */
#define CM_SANITY_LINE 256

typedef struct {
    int32_t classes;                   /* the dataset's: largest training label + 1 */
    int32_t train_count, test_count;   /* images in the training split and the test set */
    int32_t train_used;                /* classes with at least one training image */
    int32_t largest, largest_class;    /* the largest training class: its images, its label */
    int32_t smallest, smallest_class;  /* the smallest non-empty training class */
    int32_t unseen_classes;            /* classes of the test set with no training image */
    int32_t unseen_images;             /* test images of those classes */
    int32_t unseen_first, unseen_last; /* the smallest and the largest of them */
    int32_t blank_train, blank_test;   /* blank images (every pixel the same value) */
    int32_t duplicates;                /* test images byte-identical to a training image */
    int same;                          /* the test set is the training set: same images, labels, order */
} cm_sanity_report;

/* Analyses the training split of ds against its real test set (ds->heldout when a validation
 * split replaced it, else ds->test). Fails only when out of memory. */
cm_status dataset_sanity(const cm_dataset *ds, cm_sanity_report *r);
/* The blank images of a split (every pixel the same value; never an image of one pixel). */
int32_t dataset_blank_images(const cm_split *s);
/* The warnings r calls for, one line each (without a prefix), at most max; returns how many. */
int dataset_sanity_warnings(const cm_sanity_report *r, char lines[][CM_SANITY_LINE], int max);

#endif
