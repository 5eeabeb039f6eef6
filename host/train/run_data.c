/* run_data.c: the options that say how --data is read (dataset_source.h), shared by train,
 * compare, bench, tune and import, and eval's test split of data that is not IDX. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_options.h"

cm_status run_set_data_option(cm_data_options *o, const char *name, const char *v) {
    long n;
    double d;
    if (!strcmp(name, "image-size")) {
        CM_TRY(cm_parse_int("--image-size", v, 1, 256, &n));
        o->image_size = (int)n;
    } else if (!strcmp(name, "preprocess")) {
        if (strcmp(v, "resize") != 0 && strcmp(v, "mnist") != 0)
            return cm_fail(CM_ERR_USAGE, "--preprocess '%s': expected resize or mnist", v);
        o->preprocess = !strcmp(v, "mnist") ? CM_PREP_MNIST : CM_PREP_RESIZE;
    } else if (!strcmp(name, "test-fraction")) {
        CM_TRY(cm_parse_float("--test-fraction", v, 1e-6, 0.999999, &d));
        o->test_fraction = d;
    } else if (!strcmp(name, "transpose")) {
        if (!strcmp(v, "yes"))
            o->transpose = CM_TRANSPOSE_YES;
        else if (!strcmp(v, "no"))
            o->transpose = CM_TRANSPOSE_NO;
        else if (!strcmp(v, "auto"))
            o->transpose = CM_TRANSPOSE_AUTO;
        else
            return cm_fail(CM_ERR_USAGE, "--transpose '%s': expected yes, no or auto", v);
    } else {
        return cm_fail(CM_ERR_USAGE, "unknown data option '%s'", name);
    }
    return CM_OK;
}

void run_format_data_option(const cm_data_options *o, const char *name, char *buf, size_t size) {
    static const char *const transpose[] = {"auto", "yes", "no"};
    buf[0] = '\0';
    if (!strcmp(name, "image-size") && o->image_size)
        snprintf(buf, size, "%d", o->image_size);
    else if (!strcmp(name, "preprocess"))
        snprintf(buf, size, "%s", o->preprocess == CM_PREP_MNIST ? "mnist" : "resize");
    else if (!strcmp(name, "test-fraction"))
        snprintf(buf, size, "%.17g", o->test_fraction);
    else if (!strcmp(name, "transpose"))
        snprintf(buf, size, "%s", transpose[o->transpose]);
}

cm_status run_load_other_test(const char *path, cm_dataset *ds) {
    cm_data_options o;
    dataset_default_options(&o);
    o.notes = stderr;
    CM_TRY(dataset_open(path, &o, ds));
    dataset_free_split(&ds->train);
    ds->train = ds->test;
    ds->train.borrowed = 1;
    return CM_OK;
}
