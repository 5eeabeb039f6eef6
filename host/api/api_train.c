/* api_train.c: training through the public API: options by the command line's long names
 * (host/train/run_options.h checks the recipe's, this file the run's), and clmnist_train over
 * the run engine (api_run.h), which returns the trained model as a handle. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_run.h"

/* The run's options that are not the recipe's (api_run.h), and how each value is checked. */
typedef enum { V_PATH, V_COUNT, V_FLAG, V_PORT, V_TEXT } value_kind;
static const struct {
    const char *name;
    value_kind kind;
} run_names[] = {{"out", V_PATH},
                 {"init", V_PATH},
                 {"freeze", V_TEXT},
                 {"reset-head", V_FLAG},
                 {"resume", V_PATH},
                 {"checkpoint", V_PATH},
                 {"checkpoint-every", V_COUNT},
                 {"stop-after", V_COUNT},
                 {"patience", V_COUNT},
                 {"report", V_PATH},
                 {"no-hint", V_FLAG},
                 {"serve", V_PORT},
                 {"bind", V_TEXT},
                 {"token", V_TEXT},
                 {"tls-cert", V_PATH},
                 {"tls-key", V_PATH},
                 {"cors", V_TEXT}};

static const char *const data_names[] = {"data", "image-size", "preprocess", "test-fraction", "transpose"};

int api_is_data_option(const char *name) {
    for (size_t i = 0; i < sizeof data_names / sizeof data_names[0]; i++)
        if (!strcmp(name, data_names[i])) return 1;
    return 0;
}

int api_flag_value(const char *v) {
    return !(!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off"));
}

/* The run options that are not the training's: the context's. */
static cm_status check_name(const char *name) {
    static const char *const ctx_names[] = {"backend", "device", "threads"};
    for (size_t i = 0; i < sizeof ctx_names / sizeof ctx_names[0]; i++)
        if (!strcmp(name, ctx_names[i]))
            return cm_fail(CM_ERR_USAGE, "clmnist_train_options_set: '%s' is an option of the context (clmnist_open)",
                           name);
    return CM_OK;
}

static cm_status check_run_value(const char *name, value_kind kind, const char *value) {
    char flag[40];
    long v;
    snprintf(flag, sizeof flag, "--%s", name);
    switch (kind) {
    case V_COUNT: return cm_parse_int(flag, value, 1, 1000000, &v);
    case V_PORT: return cm_parse_int(flag, value, 0, 65535, &v);
    case V_FLAG:
        if (!strcmp(value, "1") || !strcmp(value, "yes") || !strcmp(value, "true") || !strcmp(value, "on") ||
            !api_flag_value(value))
            return CM_OK;
        return cm_fail(CM_ERR_USAGE, "%s '%s': expected 1 or 0 (yes or no)", flag, value);
    default: return *value ? CM_OK : cm_fail(CM_ERR_USAGE, "%s: an empty value", flag);
    }
}

/* Checks value as the command line would: on a scratch copy of the defaults. */
static cm_status check_value(const char *name, const char *value) {
    for (size_t i = 0; i < sizeof run_names / sizeof run_names[0]; i++)
        if (!strcmp(name, run_names[i].name)) return check_run_value(name, run_names[i].kind, value);
    cm_train_args a;
    run_defaults(&a);
    return run_set_option(&a, name, value);
}

int clmnist_train_options_new(clmnist_train_options **out) {
    if (!out) return api_null("clmnist_train_options_new", "out");
    *out = calloc(1, sizeof **out);
    return *out ? CM_OK : cm_fail(CM_ERR_MEMORY, "out of host memory");
}

void clmnist_train_options_free(clmnist_train_options *opts) {
    free(opts);
}

int clmnist_train_options_set(clmnist_train_options *o, const char *name, const char *value) {
    if (!o) return api_null("clmnist_train_options_set", "opts");
    if (!name) return api_null("clmnist_train_options_set", "name");
    if (!value) return api_null("clmnist_train_options_set", "value");
    if (strlen(name) >= sizeof o->name[0] || strlen(value) >= sizeof o->value[0])
        return cm_fail(CM_ERR_USAGE, "clmnist_train_options_set: %s: too long", name);
    CM_TRY(check_name(name));
    CM_TRY(check_value(name, value));
    int i = 0;
    while (i < o->n && strcmp(o->name[i], name) != 0)
        i++;
    if (i == API_TRAIN_OPTIONS) return cm_fail(CM_ERR_USAGE, "clmnist_train_options_set: too many options");
    if (i == o->n) o->n++;
    snprintf(o->name[i], sizeof o->name[i], "%s", name);
    snprintf(o->value[i], sizeof o->value[i], "%s", value);
    return CM_OK;
}

int clmnist_train(clmnist_ctx *ctx, const clmnist_dataset *ds, const clmnist_train_options *opts,
                  clmnist_observer observer, void *user, clmnist_model **out) {
    if (out) *out = NULL;
    if (!ctx) return api_null("clmnist_train", "ctx");
    api_run *r = calloc(1, sizeof *r);
    cm_model_file *file = calloc(1, sizeof *file);
    cm_status st = r && file ? CM_OK : cm_fail(CM_ERR_MEMORY, "out of host memory");
    if (st == CM_OK) {
        *r = (api_run){.ctx = ctx, .given = ds, .fn = observer, .user = user};
        st = api_run_options(r, opts);
    }
    if (st == CM_OK) st = api_run_prepare(r);
    if (st == CM_OK) st = api_run_train(r, out ? file : NULL);
    if (r) api_run_free(r);
    if (st == CM_OK && out) st = api_model_from_file(ctx, file, out);
    if (file) model_file_free(file);
    free(r);
    free(file);
    return st;
}
