/* api_data.c: dataset handles of the public API: any format dataset_open reads, with a model's
 * recorded way of reading its training data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "dataset_source.h"

/* A dataset handle over what dataset_open or the pipeline read. */
static cm_status wrap(const char *path, const cm_data_options *o, cm_dataset *ds, clmnist_dataset **out) {
    clmnist_dataset *d = calloc(1, sizeof *d);
    if (!d) {
        dataset_free(ds);
        return cm_fail(CM_ERR_MEMORY, "out of host memory");
    }
    snprintf(d->path, sizeof d->path, "%s", path);
    d->ds = *ds;
    d->opts = *o;
    *out = d;
    return CM_OK;
}

cm_status api_dataset_open(const clmnist_model *model, const cm_pipeline_overrides *ov, FILE *notes,
                           clmnist_dataset **out) {
    *out = NULL;
    const cm_pipeline *p = &model->pipe;
    const char *path = pipeline_data_path(p, ov, notes);
    char where[4096];
    snprintf(where, sizeof where, "%s", path); /* it may point into the pipeline */
    cm_dataset ds;
    CM_TRY(pipeline_open_dataset(p, where, ov, notes, &ds));
    pipeline_warn_classes(p, &ds, where);
    cm_data_options o;
    dataset_default_options(&o);
    o.image_size = p->height;
    o.preprocess = p->preprocess;
    o.transpose = p->transpose;
    o.test_fraction = p->held_out ? p->test_fraction : o.test_fraction;
    o.seed = p->seed;
    return wrap(where, &o, &ds, out);
}

int clmnist_dataset_open(clmnist_ctx *ctx, const char *path, const clmnist_model *model, clmnist_dataset **out) {
    if (!out) return api_null("clmnist_dataset_open", "out");
    *out = NULL;
    if (!ctx) return api_null("clmnist_dataset_open", "ctx");
    if (model) { /* read as the model's data was: its recorded pipeline */
        cm_pipeline_overrides ov;
        pipeline_no_overrides(&ov);
        ov.data = path;
        return api_dataset_open(model, &ov, stderr, out);
    }
    if (!path) return api_null("clmnist_dataset_open", "path");
    cm_data_options o;
    dataset_default_options(&o);
    o.notes = stderr;
    cm_dataset ds;
    CM_TRY(dataset_open(path, &o, &ds));
    return wrap(path, &o, &ds, out);
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
