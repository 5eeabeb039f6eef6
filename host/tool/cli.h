/* cli.h: the command line of the training options shared by the subcommands (run_options.h
 * holds the options themselves), and the options a subcommand adds. */
#ifndef CLMNIST_CLI_H
#define CLMNIST_CLI_H
#include "run_options.h"

/* An option a subcommand adds to the shared training options. */
typedef struct {
    const char *name; /* long name without "--" */
    int has_arg;      /* 1: takes a value; 2: an optional one (--name, --name=V or --name V with V a number) */
    const char *help; /* "--name VALUE   text" line(s) for --help */
} cm_extra_option;

typedef struct {
    const char *name;             /* "train" */
    const char *summary;          /* one line */
    int with_backend;             /* accepts --backend */
    const cm_extra_option *extra; /* NULL-name terminated, or NULL */
    /* Called for each extra option given: index into `extra`, its value (NULL if none). */
    cm_status (*on_extra)(void *ctx, int index, const char *value);
    void *ctx;
} cm_command_info;

/* Parses the training options shared by `train` and `compare`. Returns CM_OK, or a usage
 * error; sets *help when --help was given (usage already printed). */
cm_status cli_parse_train(int argc, char **argv, const cm_command_info *info, cm_train_args *a, int *help);
/* The same before run_finish: the options as given, for a caller that sets more (the sweep's
 * trials) and then calls run_finish itself. */
cm_status cli_parse_options(int argc, char **argv, const cm_command_info *info, cm_train_args *a, int *help);

/* The --help lines of those options. */
extern const char cli_data_options_help[];

#endif
