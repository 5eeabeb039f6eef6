/* options.h: the one table of the options the commands share (options_table.c). Each option is
 * declared once: its name, type, range or choices, default, help text, the commands that take
 * it, whether a model and a checkpoint save it ("train.<name>" metadata) and whether a sweep may
 * vary it. The command line (host/tool/cli.c), --help, checkpoints and the sweep's space all read
 * this table; a command's own options (train --out, serve --port, ...) live in its command file. */
#ifndef CLMNIST_OPTIONS_H
#define CLMNIST_OPTIONS_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "status.h"

/* The commands, as bits of an option's `commands`. */
enum {
    CM_CMD_TRAIN = 1 << 0,
    CM_CMD_COMPARE = 1 << 1,
    CM_CMD_BENCH = 1 << 2,
    CM_CMD_TUNE = 1 << 3,
    CM_CMD_SWEEP = 1 << 4,
    CM_CMD_EVAL = 1 << 5,
    CM_CMD_PREDICT = 1 << 6,
    CM_CMD_SERVE = 1 << 7,
    CM_CMD_DOCTOR = 1 << 8,
    CM_CMD_IMPORT = 1 << 9,
    CM_CMD_DEVICES = 1 << 10,
};
#define CM_NCOMMANDS 11

typedef enum {
    CM_OPT_INT,   /* int; range lo..hi */
    CM_OPT_U64,   /* uint64_t; range lo..hi */
    CM_OPT_FLOAT, /* float; range lo..hi */
    CM_OPT_DOUBLE,
    CM_OPT_ENUM,   /* an int-sized enum: one of `choices`, stored as values[i] (i when values is NULL) */
    CM_OPT_NAME,   /* const char *: one of `choices`, stored as the table's own string */
    CM_OPT_TEXT,   /* const char *: the text as given (it must outlive the options) */
    CM_OPT_FLAG,   /* no value: stores (int)lo into an int-sized field */
    CM_OPT_CUSTOM, /* set() and format() */
} cm_opt_type;

enum {
    CM_OPT_SAVED = 1,      /* saved as "train.<name>" in models and checkpoints, restored on --resume */
    CM_OPT_SWEEP = 2,      /* a sweep's --space may vary it */
    CM_OPT_FIRST = 4,      /* applied before the other options (--preset: they override it) */
    CM_OPT_ZERO_EMPTY = 8, /* 0 means "not given": formatted as "" (--image-size) */
};

struct cm_train_args_s;

/* Help text for some commands in place of the option's own (NULL-help terminated). */
typedef struct {
    unsigned commands;
    const char *help;
} cm_opt_help_for;

typedef struct cm_option_s {
    const char *name; /* long flag without "--" */
    const char *arg;  /* the value's name in --help ("N", "F", "PATH"); NULL for a flag */
    cm_opt_type type;
    size_t offset;              /* of the field in cm_train_args */
    double lo, hi;              /* range of a number */
    const char *const *choices; /* NULL-terminated: ENUM and NAME */
    const int *values;          /* ENUM's stored values, by choice */
    const char *def;            /* the default as text, applied by run_defaults (NULL: none, or a preset's) */
    unsigned commands;          /* CM_CMD_* bits of the commands that take it */
    unsigned flags;             /* CM_OPT_* */
    const char *help;           /* lines separated by '\n'; "(default DEF)" is added when def is set */
    const cm_opt_help_for *help_for;
    const char *aliases; /* other accepted names, comma-separated ("learning-rate") */
    const char *fixed;   /* not CM_OPT_SWEEP: why a sweep cannot vary it */
    cm_status (*set)(struct cm_train_args_s *a, const char *value);          /* CUSTOM */
    void (*format)(const struct cm_train_args_s *a, char *buf, size_t size); /* CUSTOM */
    void (*help_more)(FILE *out);                                            /* extra --help lines */
} cm_option;

/* The table, in the order of --help and of the saved metadata; ends with a NULL name. */
extern const cm_option cm_options[];

/* The option called `name` (without "--"; '_' reads as '-', aliases map) taken by one of the
 * `commands` (0: any command); NULL if none. */
const cm_option *opt_find(const char *name, unsigned commands);
/* The option's index in cm_options (for cm_train_args.given). */
int opt_index(const cm_option *o);
/* Sets the option from its text, through its checks; errors name the flag ("--lr 'x': expected a
 * number between 1e-12 and 1e+06", "--optimizer 'rmsprop': expected sgd, momentum, ... or adamw"). */
cm_status opt_set(struct cm_train_args_s *a, const cm_option *o, const char *value);
/* The text of the option's current value, as opt_set reads it back ("" for a flag). */
void opt_format(const struct cm_train_args_s *a, const cm_option *o, char *buf, size_t size);
/* The --help lines of the options that `command` (one CM_CMD_* bit) takes, in table order. */
void opt_help(FILE *out, unsigned command);
/* One --help line listing the aliases the command's options accept ("" when none); size >= 256. */
void opt_alias_note(unsigned command, char *buf, size_t size);
/* The name nearest to `typed` (edit distance, also over aliases) among the options of `command`
 * and the NULL-terminated `more` names, into buf; returns 0 when none is near enough. */
int opt_suggest(const char *typed, unsigned command, const char *const *more, char *buf, size_t size);
/* `name` with '_' as '-', and an alias replaced by its option's name, into buf. */
const char *opt_normalize(const char *name, char *buf, size_t size);
/* The edit distance (insertions, deletions, substitutions, adjacent transpositions). */
int opt_distance(const char *a, const char *b);

#endif
