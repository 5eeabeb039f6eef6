/* api_internal.h: what the handles of the public API (include/clmnist/clmnist.h) hold, for the
 * files of host/api/ and for the clmnist tool, which is built on the API but may reach behind it
 * (serve hands a model's predictor to its HTTP API). Not installed. */
#ifndef CLMNIST_API_INTERNAL_H
#define CLMNIST_API_INTERNAL_H
#include "backend.h"
#include "dataset_source.h"
#include "clmnist/clmnist.h"
#include "dataset.h"
#include "model_io.h"
#include "pipeline.h"
#include "predictor.h"
#include "status.h"

#define API_TEXT 256 /* room for an option's value */

struct clmnist_ctx {
    char backend[16];      /* "host" or "device": "auto" resolved at clmnist_open */
    char why[192];         /* auto: why that one ("auto: no OpenCL GPU"); "" when named */
    char device[API_TEXT]; /* device selector, "" for none */
    int threads, contexts, batch;
    cm_backend *b; /* training's backend, created on first use */
};

struct clmnist_model {
    cm_predictor *pred;
    int batch;         /* examples per forward pass */
    int nlayers;       /* the layer descriptions: */
    char **layer_text; /* (nlayers) */
    int classes;
    char **class_names; /* (classes) */
    cm_pipeline pipe;   /* how raw data becomes its input (the "pipeline" metadata) */
};

struct clmnist_dataset {
    cm_dataset ds;
    cm_data_options opts; /* how it was read: a model trained on it records them */
    char path[4096];      /* where it was read from */
};

#define API_TRAIN_OPTIONS 64
#define API_TRAIN_TEXT 4096 /* a training option's value: a path, an --arch spec (CM_ARCH_TEXT) */

struct clmnist_train_options {
    int n; /* options set, in the order they were set (each name once) */
    char name[API_TRAIN_OPTIONS][32];
    char value[API_TRAIN_OPTIONS][API_TRAIN_TEXT];
};

/* The model's file (layout, parameters, metadata) and predictor. */
const cm_model_file *api_model_file(const clmnist_model *m);
cm_predictor *api_model_predictor(clmnist_model *m);
/* A model over a model file in memory (taken over on success, as predictor_open_file). */
cm_status api_model_from_file(clmnist_ctx *ctx, cm_model_file *file, clmnist_model **out);
/* The data of model's recorded pipeline with the overrides ov (NULL: none; ov->data NULL: the
 * recorded path if it is still there), notes (a changed split, the path) on `notes`, a class
 * mismatch warned about: clmnist_dataset_open with a model, plus eval's overrides. */
cm_status api_dataset_open(const clmnist_model *model, const cm_pipeline_overrides *ov, FILE *notes,
                           clmnist_dataset **out);
/* ctx's backend for training, created on first use. */
cm_status api_ctx_backend(clmnist_ctx *ctx, cm_backend **out);
/* Whether a training option is one of how the data is read (data, image-size, preprocess,
 * test-fraction, transpose); a flag option's value ("1", "yes", ... vs "0", "no", ...). */
int api_is_data_option(const char *name);
int api_flag_value(const char *v);
/* The failure of a call on a NULL argument: CM_ERR_USAGE naming the function and the argument. */
cm_status api_null(const char *fn, const char *arg);
/* Calls set(obj, key, value) for each "key=value" of text (',' or ';' separated, spaces trimmed);
 * fails naming `fn` and the pair when one has no '=' or a part is too long. */
cm_status api_each_pair(const char *fn, const char *text,
                        cm_status (*set)(void *obj, const char *key, const char *value), void *obj);

#endif
