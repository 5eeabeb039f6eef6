/* run_options.h: the options that describe a training run (the recipe, the data options, the
 * seed), their presets, and the setup steps every front end shares: load the data, lay out and
 * initialise the model, the trainer's configuration, the model file's metadata. Options are
 * declared once, in the table of options.h, and set by their long flag names ("lr", "optimizer",
 * ...) from text, through one set of checks, so the command line, a checkpoint's "train.*"
 * metadata and a sweep's trials agree. */
#ifndef CLMNIST_RUN_OPTIONS_H
#define CLMNIST_RUN_OPTIONS_H
#include <stdint.h>
#include <stdio.h>

#include "backend.h"
#include "dataset.h"
#include "dataset_source.h"
#include "model.h"
#include "model_io.h"
#include "options.h"
#include "parse.h"
#include "trainer.h"

#define CM_DEFAULT_SEED 42

typedef struct cm_train_args_s {
    const char *data_dir;
    const char *backend; /* "auto" | "host" | "device" */
    const char *device;
    const char *layers;
    char arch[CM_ARCH_TEXT];   /* --arch spec; "" for the MLP of --layers */
    int hidden[CM_MAX_LAYERS]; /* --layers, parsed */
    int nhidden;
    const char *preset; /* "fast" (default) or "best": the defaults the flags start from */
    int epochs;
    int batch;
    const char *optimizer; /* "sgd" | "momentum" | "nesterov" | "adam" | "adamw" */
    float lr;
    float momentum;
    float beta1, beta2, eps;
    float weight_decay;
    cm_schedule schedule;
    int warmup_steps;
    int step_size;
    float gamma;
    float dropout;
    float max_norm;
    cm_augment augment;
    uint64_t seed;
    int val;
    int limit; /* --limit: train on the first N images (0: all) */
    int threads;
    cm_feed_mode feed;
    /* --image-size, --preprocess, --test-fraction, --transpose (dataset_source.h) */
    cm_data_options data;
    FILE *info;     /* where setup lines ("data: ...") go: stdout, or stderr when stdout carries JSON */
    uint64_t given; /* bit i: cm_options[i] was on the command line (run_mark_given) */
} cm_train_args;

/* A preset: the option values ("option=value", NULL-terminated) the flags start from. */
typedef struct {
    const char *name, *summary;
    const char *const *settings;
} cm_preset;
/* fast (the default), best, cnn, cnn-best; ends with a NULL name (presets.c). */
extern const cm_preset run_presets[];

/* The defaults every run starts from, before its preset: data $CLMNIST_DATA or data/mnist, the
 * table's defaults (backend auto, seed 42, Adam's betas, ...), auto feed, info on stdout. */
void run_defaults(cm_train_args *a);
/* Applies a preset by name (its settings, then a->preset). */
cm_status run_apply_preset(cm_train_args *a, const char *name);
/* The checks between options, once all are set (momentum with Adam, --dropout with --arch, a
 * step schedule's default step size, the --arch grammar). */
cm_status run_finish(cm_train_args *a);

/* Sets one option of the table by its long flag name ("lr", "optimizer", ...) from its text, with
 * the checks the command line applies; used by a sweep's trials and its space's checks. */
cm_status run_set_option(cm_train_args *a, const char *name, const char *value);
/* Records that an option was on the command line (a->given), and whether it was. */
void run_mark_given(cm_train_args *a, const cm_option *o);
int run_option_given(const cm_train_args *a, const char *name);
/* Takes the training options from a checkpoint's "train.*" metadata (m; path names it in errors),
 * through the same checks as the command line, and its position (*start_epoch); its
 * train.layers/train.arch must still be checked against its tensors (cmd_train.c). */
cm_status run_checkpoint_options(const char *path, const cm_meta *m, cm_train_args *a, int *start_epoch);
/* The text form of a run option's current value, as run_set_option reads it back (opt_format). */
void run_format_option(const cm_train_args *a, const char *name, char *buf, size_t size);
/* One line describing the optimizer, schedule and regularisation, for the "model:" line. */
void run_describe_recipe(const cm_train_args *a, char *buf, size_t size);

/* Loads the dataset named by the arguments and prints one line describing it. */
cm_status run_load_data(const cm_train_args *a, cm_dataset *ds);
/* The layer list of --arch, or the MLP of --layers, on the data's image shape; shape errors
 * name the layer at fault, before anything is allocated. */
cm_status run_layout(const cm_train_args *a, const cm_dataset *ds, size_t align_bytes, cm_layout *L);
/* The input normalisation of data ds into L: per channel from the training images for colour
 * data, none for grey (as pipeline_describe records it). */
void run_normalisation(const cm_dataset *ds, cm_layout *L);
/* Builds the model layout and seeded initial parameters, aligned for `align_bytes`; refuses
 * (before allocating) a model larger than `b`'s largest buffer. */
cm_status run_init_model(const cm_train_args *a, const cm_dataset *ds, size_t align_bytes, const cm_backend *b,
                         cm_model *model);
cm_train_config run_train_config(const cm_train_args *a);

/* Class names of well-known datasets (MNIST digits, Fashion-MNIST, KMNIST), by the dataset's
 * directory name and class count; NULL when unknown. */
const char *const *run_known_class_names(const char *dataset_name, int classes);
/* Class names from a model's "class_names" metadata (a JSON array of strings) into store
 * (classes entries of 32 bytes), pointers into names; returns NULL when absent or malformed. */
const char *const *run_meta_class_names(const cm_meta *meta, int classes, char (*store)[32], const char **names);
/* {"train-images-idx3-ubyte": "<sha256>", ...} of the training files in data_dir, as a JSON
 * string (malloc'd; NULL when out of memory): recorded in model files, checked on --resume. */
char *run_dataset_digests(const char *data_dir);
/* Describes a run in model metadata: architecture, input, classes, dataset and the SHA-256 of
 * its training files, training options, device and version. */
cm_status run_model_meta(const cm_train_args *a, const cm_dataset *ds, const cm_backend *b, cm_meta *meta);

/* The dataset's sanity warnings (dataset_sanity.h: classes, imbalance, blank images, duplicates
 * between the training and the test set) on stderr, `clmnist: warning: DIR: ...`, once per run
 * (data_check.c). */
cm_status run_warn_data(const char *dir, const cm_dataset *ds);
/* Those that a test set alone can show (blank images), for `eval`. */
void run_warn_test_data(const char *dir, const cm_split *test);

#endif
