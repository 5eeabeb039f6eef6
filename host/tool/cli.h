/* cli.h: the command line of every subcommand: the shared options of the table (options.h,
 * selected by the command's CM_CMD_* bit) and the options a subcommand adds, parsed, checked and
 * described in --help the same way. */
#ifndef CLMNIST_CLI_H
#define CLMNIST_CLI_H
#include "run_options.h"

/* An option a subcommand adds to the shared ones. */
typedef struct {
    const char *name; /* long name without "--" */
    int has_arg;      /* 1: takes a value; 2: an optional one (--name, --name=V or --name V with V a number) */
    const char *help; /* "--name VALUE   text" line(s) for --help */
} cm_extra_option;

typedef struct {
    const char *name;             /* "train" */
    unsigned command;             /* CM_CMD_TRAIN: which options of the table it takes */
    const char *usage;            /* what follows "usage: clmnist " (NULL: "NAME [options]") */
    const char *summary;          /* a paragraph */
    const cm_extra_option *extra; /* NULL-name terminated, or NULL */
    /* Called for each extra option given, in order: index into `extra`, its value (NULL if none). */
    cm_status (*on_extra)(void *ctx, int index, const char *value);
    void *ctx;
    int extra_first; /* --help lists the command's own options before the shared ones */
} cm_command_info;

/* Parses argv (argv[0]: the command's name) into a (run_defaults, then --preset, then the other
 * options in order, then run_finish) and the command's own options. Options and arguments may
 * mix; argv is reordered so that the `*nargs` arguments come last (nargs NULL: none allowed).
 * An unknown option's error names the nearest one ("did you mean --lr?"); '_' reads as '-' and
 * the table's aliases (--learning-rate, --batch-size, --num-epochs) are accepted. Returns CM_OK,
 * or a usage error; sets *help when --help was given (usage already printed). */
cm_status cli_parse(int argc, char **argv, const cm_command_info *info, cm_train_args *a, int *help, int *nargs);
/* The --help text of a command. */
void cli_usage(FILE *out, const cm_command_info *info);

#endif
