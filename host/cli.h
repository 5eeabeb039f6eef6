/* cli.h: option parsing and setup shared by the subcommands. */
#ifndef CLMNIST_CLI_H
#define CLMNIST_CLI_H
#include <stdint.h>

#include "clmnist/backend.h"
#include "clmnist/dataset.h"
#include "clmnist/model.h"
#include "clmnist/trainer.h"

typedef struct {
    const char *data_dir;
    const char *backend; /* "host" | "device" */
    const char *device;
    const char *layers;
    int hidden[CM_MAX_LAYERS]; /* --layers, parsed */
    int nhidden;
    int epochs;
    int batch;
    float lr;
    float momentum;
    cm_schedule schedule;
    uint64_t seed;
    int val;
    int threads;
    cm_feed_mode feed;
} cm_train_args;

typedef struct {
    const char *name;    /* "train" */
    const char *summary; /* one line */
    int with_backend;    /* accepts --backend */
} cm_command_info;

/* Parses the training options shared by `train` and `compare`. Returns CM_OK, or a usage
 * error; sets *help when --help was given (usage already printed). */
cm_status cli_parse_train(int argc, char **argv, const cm_command_info *info, cm_train_args *a, int *help);

/* Loads the dataset named by the arguments and prints one line describing it. */
cm_status cli_load_data(const cm_train_args *a, cm_dataset *ds);
/* Builds the model layout and seeded initial parameters, aligned for `align_bytes`; refuses
 * (before allocating) a model larger than `b`'s largest buffer. */
cm_status cli_init_model(const cm_train_args *a, const cm_dataset *ds, size_t align_bytes, const cm_backend *b,
                         cm_model *model);
cm_train_config cli_train_config(const cm_train_args *a);

/* Integer/float flag parsers that name the flag in their errors. */
cm_status cli_parse_int(const char *flag, const char *text, long min, long max, long *out);
cm_status cli_parse_float(const char *flag, const char *text, double min, double max, double *out);

#endif
