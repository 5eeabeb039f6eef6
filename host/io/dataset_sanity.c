/* dataset_sanity.c: counts of what is legal in a dataset but almost certainly wrong, and the
 * warnings they call for (dataset_sanity.h). */
#include "dataset_sanity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NLABELS 256 /* labels are bytes */

typedef struct {
    uint64_t hash;
    int32_t index;
} image_hash;

/* 64-bit FNV-1a. */
static uint64_t fnv1a(const uint8_t *p, size_t n) {
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static int cmp_hash(const void *a, const void *b) {
    const image_hash *x = a, *y = b;
    return (x->hash > y->hash) - (x->hash < y->hash);
}

static const uint8_t *image(const cm_split *s, int32_t i) {
    return s->images + (size_t)i * (size_t)s->dim;
}

int32_t dataset_blank_images(const cm_split *s) {
    int32_t blank = 0;
    for (int32_t i = 0; s->dim > 1 && i < s->count; i++) {
        const uint8_t *p = image(s, i);
        int32_t k = 1;
        while (k < s->dim && p[k] == p[0])
            k++;
        blank += k == s->dim;
    }
    return blank;
}

/* Test images byte-identical to a training image: the training images' hashes sorted, each test
 * image's looked up and every match confirmed byte by byte. */
static cm_status count_duplicates(const cm_split *train, const cm_split *test, int32_t *out) {
    *out = 0;
    if (train->count == 0 || test->count == 0 || train->dim != test->dim) return CM_OK;
    image_hash *h = malloc(sizeof *h * (size_t)train->count);
    if (!h) return cm_fail(CM_ERR_MEMORY, "out of host memory checking the data for duplicates");
    size_t dim = (size_t)train->dim;
    for (int32_t i = 0; i < train->count; i++)
        h[i] = (image_hash){fnv1a(image(train, i), dim), i};
    qsort(h, (size_t)train->count, sizeof *h, cmp_hash);
    for (int32_t j = 0; j < test->count; j++) {
        image_hash key = {fnv1a(image(test, j), dim), 0};
        const image_hash *m = bsearch(&key, h, (size_t)train->count, sizeof *h, cmp_hash);
        if (!m) continue;
        while (m > h && m[-1].hash == key.hash) /* the first of equal hashes */
            m--;
        int found = 0;
        for (; !found && m < h + train->count && m->hash == key.hash; m++)
            found = !memcmp(image(train, m->index), image(test, j), dim);
        *out += found;
    }
    free(h);
    return CM_OK;
}

/* Class counts of the training split and the test classes it never shows. */
static void count_classes(const cm_split *train, const cm_split *test, cm_sanity_report *r) {
    int32_t ntrain[NLABELS] = {0}, ntest[NLABELS] = {0};
    for (int32_t i = 0; i < train->count; i++)
        ntrain[train->labels[i]]++;
    for (int32_t i = 0; i < test->count; i++)
        ntest[test->labels[i]]++;
    for (int c = 0; c < NLABELS; c++) {
        if (ntrain[c]) {
            r->train_used++;
            if (ntrain[c] > r->largest) {
                r->largest = ntrain[c];
                r->largest_class = c;
            }
            if (!r->smallest || ntrain[c] < r->smallest) {
                r->smallest = ntrain[c];
                r->smallest_class = c;
            }
        } else if (ntest[c]) {
            if (!r->unseen_classes) r->unseen_first = c;
            r->unseen_classes++;
            r->unseen_images += ntest[c];
            r->unseen_last = c;
        }
    }
}

static int same_split(const cm_split *a, const cm_split *b) {
    return a->count == b->count && a->dim == b->dim &&
           !memcmp(a->images, b->images, (size_t)a->count * (size_t)a->dim) &&
           !memcmp(a->labels, b->labels, (size_t)a->count);
}

cm_status dataset_sanity(const cm_dataset *ds, cm_sanity_report *r) {
    const cm_split *train = &ds->train, *test = ds->heldout.count ? &ds->heldout : &ds->test;
    *r = (cm_sanity_report){.classes = ds->classes, .train_count = train->count, .test_count = test->count};
    count_classes(train, test, r);
    r->blank_train = dataset_blank_images(train);
    r->blank_test = dataset_blank_images(test);
    r->same = same_split(train, test);
    return count_duplicates(train, test, &r->duplicates);
}

/* "label 7" or "labels 5-8". */
static const char *label_range(char *buf, size_t size, int32_t first, int32_t last) {
    if (first == last)
        snprintf(buf, size, "label %d", first);
    else
        snprintf(buf, size, "labels %d-%d", first, last);
    return buf;
}

int dataset_sanity_warnings(const cm_sanity_report *r, char lines[][CM_SANITY_LINE], int max) {
    int n = 0;
    char range[64];
#define WARN(...) (n < max ? snprintf(lines[n++], CM_SANITY_LINE, __VA_ARGS__) : 0)
    if (r->same)
        WARN("the test set is the training set (the same images and labels): its accuracy says nothing "
             "about new images");
    if (r->train_used * CM_SANITY_CLASS_DIVISOR < r->classes)
        WARN("the training labels use only %d of the %d classes 0-%d (one output per class up to the largest "
             "label)",
             r->train_used, r->classes, r->classes - 1);
    if (r->unseen_classes)
        WARN("test %s (%d classes, %d images) never occur in the training set: those images cannot be predicted",
             label_range(range, sizeof range, r->unseen_first, r->unseen_last), r->unseen_classes, r->unseen_images);
    if (r->smallest && r->largest > (int64_t)CM_SANITY_MAX_IMBALANCE * r->smallest)
        WARN("class %d has %d training images, %.0fx the %d of class %d (more than %dx: extreme imbalance)",
             r->largest_class, r->largest, (double)r->largest / r->smallest, r->smallest, r->smallest_class,
             CM_SANITY_MAX_IMBALANCE);
    if ((int64_t)r->blank_train * 1000 > (int64_t)CM_SANITY_BLANK_PER_MILLE * r->train_count)
        WARN("blank images (every pixel the same value): %d of the %d training images", r->blank_train, r->train_count);
    if ((int64_t)r->blank_test * 1000 > (int64_t)CM_SANITY_BLANK_PER_MILLE * r->test_count)
        WARN("blank images (every pixel the same value): %d of the %d test images", r->blank_test, r->test_count);
    if (!r->same && (int64_t)r->duplicates * 100 > (int64_t)CM_SANITY_DUPLICATE_PERCENT * r->test_count)
        WARN("test images that are also training images (the same bytes): %d of %d (%.1f%%); the test accuracy "
             "overstates",
             r->duplicates, r->test_count, 100.0 * r->duplicates / r->test_count);
#undef WARN
    return n;
}
