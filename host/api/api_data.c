/* api_data.c: dataset handles of the public API: any format dataset_open reads, with a model's
 * recorded way of reading its training data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "dataset_source.h"
#include "parse.h"
#include "run_options.h"

/* The data options a model records as "train.*" metadata (cmd_train writes them): its image size,
 * preprocessing, held-out fraction, seed and transposition, through the command line's checks. A
 * value it lacks keeps the default. */
static cm_status model_data_options(const cm_model_file *f, cm_data_options *o) {
    static const char *const names[] = {"image-size", "preprocess", "test-fraction", "transpose"};
    cm_train_args a = {.data = *o}; /* the data options through the option table's checks */
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char key[64];
        snprintf(key, sizeof key, "train.%s", names[i]);
        const char *v = meta_get(&f->meta, key);
        if (v && *v) CM_TRY(run_set_option(&a, names[i], v));
    }
    *o = a.data;
    const char *seed = meta_get(&f->meta, "train.seed");
    long v;
    if (seed && *seed) {
        CM_TRY(cm_parse_int("train.seed", seed, 0, 0x7fffffffL, &v)); /* the range of --seed */
        o->seed = (uint64_t)v;
    }
    return CM_OK;
}

int clmnist_dataset_open(clmnist_ctx *ctx, const char *path, const clmnist_model *model, clmnist_dataset **out) {
    if (!out) return api_null("clmnist_dataset_open", "out");
    *out = NULL;
    if (!ctx) return api_null("clmnist_dataset_open", "ctx");
    if (!path) return api_null("clmnist_dataset_open", "path");
    cm_data_options o;
    dataset_default_options(&o);
    o.notes = stderr;
    if (model) {
        const cm_model_file *f = api_model_file(model);
        if (model_data_options(f, &o) != CM_OK)
            return cm_fail(CM_ERR_FORMAT, "the model's metadata: %s", cm_last_error());
    }
    clmnist_dataset *d = calloc(1, sizeof *d);
    if (!d) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    snprintf(d->path, sizeof d->path, "%s", path);
    d->opts = o;
    cm_status st = dataset_open(path, &o, &d->ds);
    if (st != CM_OK) {
        free(d);
        return st;
    }
    *out = d;
    return CM_OK;
}

void clmnist_dataset_free(clmnist_dataset *ds) {
    if (!ds) return;
    dataset_free(&ds->ds);
    free(ds);
}

int clmnist_dataset_count(const clmnist_dataset *ds, int split) {
    if (!ds) return -1;
    if (split == CLMNIST_SPLIT_TRAIN) return ds->ds.train.count;
    if (split == CLMNIST_SPLIT_TEST) return ds->ds.test.count;
    return -1;
}

int clmnist_dataset_classes(const clmnist_dataset *ds) {
    return ds ? ds->ds.classes : 0;
}

int clmnist_dataset_image_size(const clmnist_dataset *ds, int *height, int *width) {
    if (!ds) return api_null("clmnist_dataset_image_size", "ds");
    if (height) *height = ds->ds.train.rows;
    if (width) *width = ds->ds.train.cols;
    return CM_OK;
}
