/* pipeline.h: the input pipeline of a model: how raw data (a dataset on disk, or one image file)
 * becomes the network's input. `train` describes it (pipeline_describe) and records it in the
 * model file's metadata as one JSON value, "pipeline" (pipeline_to_meta, which also writes the flat
 * keys input_preprocess, input_scale, input_mean, input_std, class_names); every command that
 * feeds the model reads it back (pipeline_from_meta) and builds its input from it alone:
 * pipeline_open_dataset for a dataset (eval, serve's test images), pipeline_image for one image
 * (predict, serve). A model written before the key gets the pipeline its other keys imply. */
#ifndef CLMNIST_PIPELINE_H
#define CLMNIST_PIPELINE_H
#include <stdint.h>
#include <stdio.h>

#include "dataset_source.h"
#include "image.h"
#include "model.h"
#include "model_io.h"

#define CM_PIPELINE_KEY "pipeline"
#define CM_PIPELINE_VERSION 1
#define CM_PIPELINE_MAX_CLASSES 256
#define CM_PIPELINE_NAME 32

typedef struct {
    /* the data train read */
    char format[8];   /* "idx", "csv", "cifar", "folder"; "" unknown (a model written before the key) */
    char path[1024];  /* --data as train was given it; "" unknown */
    char digest[512]; /* {"FILE": "sha256", ...} of its training files (IDX, CSV), JSON; "{}" none */
    /* the network's input and how the data's images were brought to it */
    int channels, height, width; /* C x H x W: 1 grey, 3 RGB planes */
    cm_preprocess preprocess;    /* what made the images: resize, or mnist (image_to_mnist) */
    cm_transpose transpose;      /* --transpose (EMNIST's files) */
    cm_input_prep input;         /* how one image file becomes an input (image_for_model) */
    cm_invert invert;            /* and its invert policy: auto (mnist) or no (resize) */
    double scale;                /* x = (pixel * scale - mean[c]) / std[c], c the channel: */
    double mean[4], std[4];      /* colour data: its training set's; grey: 0 and 1 */
    /* the split: the test split given with the data, or held out (fraction, seed) */
    int held_out;
    double test_fraction;
    uint64_t seed;
    int32_t val, limit; /* --val (carved from the training split), --limit (its first N) */
    /* the classes */
    int classes;
    int named; /* names[] holds the data's class names; else they are the class numbers */
    char names[CM_PIPELINE_MAX_CLASSES][CM_PIPELINE_NAME];
} cm_pipeline;

/* A run's pipeline: data `path` read with options o (its seed, val) into ds (--limit: limit). */
cm_status pipeline_describe(const char *path, const cm_data_options *o, int32_t limit, const cm_dataset *ds,
                            cm_pipeline *p);
/* The pipeline as its JSON text (malloc'd; NULL when out of memory). */
char *pipeline_to_json(const cm_pipeline *p);
/* Writes "pipeline" and the flat keys it implies (input_preprocess, input_scaling, input_scale,
 * input_mean, input_std, class_names) into m. */
cm_status pipeline_to_meta(const cm_pipeline *p, cm_meta *m);
/* Reads a model's pipeline (file names it in errors), checked against its layout L: a malformed
 * or forged "pipeline" fails with one line; without the key, derived from the older keys. */
cm_status pipeline_from_meta(const cm_meta *m, const char *file, const cm_layout *L, cm_pipeline *p);

/* What may replace the recorded pipeline when a dataset is opened (eval's flags). */
typedef struct {
    const char *data;     /* --data; NULL: the recorded path if it exists, else $CLMNIST_DATA or data/mnist */
    int seed_set;         /* --seed given: */
    uint64_t seed;        /*   the hold-out's seed */
    double test_fraction; /* --test-fraction; 0: the recorded */
    int image_size;       /* --image-size; 0: the recorded */
    int preprocess;       /* --preprocess (cm_preprocess); -1: the recorded */
} cm_pipeline_overrides;
void pipeline_no_overrides(cm_pipeline_overrides *ov);

/* The data a model meets again: ov->data, else the recorded path when it still exists, else
 * $CLMNIST_DATA or data/mnist (with a note on `notes`). Points into p, ov or the environment. */
const char *pipeline_data_path(const cm_pipeline *p, const cm_pipeline_overrides *ov, FILE *notes);
/* Opens `path` as the model's training run did: the same size, preprocessing and test split (no
 * --val: ds->test is the split train's final "test accuracy" was measured on). One note line on
 * `notes` for each override that changes the split or the input. */
cm_status pipeline_open_dataset(const cm_pipeline *p, const char *path, const cm_pipeline_overrides *ov, FILE *notes,
                                cm_dataset *ds);
/* One warning line on stderr when the classes of ds (read from path) differ from the model's. */
void pipeline_warn_classes(const cm_pipeline *p, const cm_dataset *ds, const char *path);

/* The test split of `path` for the model described by m (file names it in errors; L its layout):
 * pipeline_from_meta, pipeline_open_dataset without overrides, pipeline_warn_classes; ds->train
 * borrows ds->test (serve's test images). */
cm_status pipeline_load_test(const cm_meta *m, const char *file, const cm_layout *L, const char *path, cm_dataset *ds);

/* One grayscale image (h, w) to the model's input (height x width) as its training images were
 * made (image_for_model); invert CM_INVERT_AUTO means the recorded policy. */
cm_status pipeline_image(const cm_pipeline *p, const uint8_t *gray, int w, int h, cm_invert invert, const char *what,
                         uint8_t *out, int *inverted);
/* The same, with what the preprocessing found (inverted, no clear digit) in *info. */
cm_status pipeline_image_info(const cm_pipeline *p, const uint8_t *gray, int w, int h, cm_invert invert,
                              const char *what, uint8_t *out, cm_prep_info *info);

#endif
