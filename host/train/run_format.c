/* run_format.c: a run's training options as text: saved as "train.*" model metadata
 * (run_format_option), restored from a checkpoint (run_checkpoint_options) through the
 * command line's own checks, and described in one line for the "model:" line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_options.h"
#include "train_loop.h"

const char *const run_option_names[] = {
    "preset",    "layers",     "arch",       "epochs",        "batch",        "optimizer", "lr",
    "momentum",  "beta1",      "beta2",      "eps",           "weight-decay", "schedule",  "warmup-steps",
    "step-size", "gamma",      "dropout",    "max-norm",      "augment",      "seed",      "val",
    "limit",     "image-size", "preprocess", "test-fraction", "transpose",    NULL};

cm_status run_checkpoint_options(const char *path, const cm_meta *m, cm_train_args *a, int *start_epoch) {
    const char *required[] = {"checkpoint.epoch", "train.batch", "train.lr", "train.epochs", "train.seed"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!meta_get(m, required[i]))
            return cm_fail(CM_ERR_FORMAT, "%s: not a checkpoint (metadata '%s' is missing)", path, required[i]);
    CM_TRY(train_checkpoint_epoch(path, m, start_epoch));
    /* the preset first: the other options were saved after it had been applied */
    const char *preset = meta_get(m, "train.preset");
    cm_status st = preset ? run_set_option(a, "preset", preset) : CM_OK;
    for (const char *const *name = run_option_names; *name && st == CM_OK; name++) {
        char key[64];
        snprintf(key, sizeof key, "train.%s", *name);
        const char *v = meta_get(m, key);
        /* train.layers and train.arch: checked in train(); an empty value: not given (image-size) */
        if (!v || !*v || !strcmp(*name, "preset")) continue;
        if (!strcmp(*name, "optimizer") && !strcmp(v, "sgd-momentum")) v = "momentum"; /* format 1 name */
        st = run_set_option(a, *name, v);
    }
    if (st != CM_OK) return cm_fail(CM_ERR_FORMAT, "%s: bad checkpoint metadata: %s", path, cm_last_error());
    return CM_OK;
}

/* The shortest decimal text that reads back as the same float: "0.1", not "0.100000001". */
static const char *ffmt(char *buf, size_t size, float v) {
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(buf, size, "%.*g", digits, (double)v);
        if (strtof(buf, NULL) == v) break;
    }
    return buf;
}

void run_format_option(const cm_train_args *a, const char *name, char *buf, size_t size) {
    char f1[32], f2[32], f3[32];
    buf[0] = '\0';
    if (!strcmp(name, "preset"))
        snprintf(buf, size, "%s", a->preset ? a->preset : "fast");
    else if (!strcmp(name, "arch"))
        snprintf(buf, size, "%s", a->arch);
    else if (!strcmp(name, "layers")) {
        size_t o = 0;
        for (int i = 0; i < a->nhidden && o < size; i++)
            o += (size_t)snprintf(buf + o, size - o, "%s%d", i ? "," : "", a->hidden[i]);
    } else if (!strcmp(name, "epochs"))
        snprintf(buf, size, "%d", a->epochs);
    else if (!strcmp(name, "batch"))
        snprintf(buf, size, "%d", a->batch);
    else if (!strcmp(name, "optimizer"))
        snprintf(buf, size, "%s", a->optimizer);
    else if (!strcmp(name, "lr"))
        snprintf(buf, size, "%s", ffmt(f1, sizeof f1, a->lr));
    else if (!strcmp(name, "momentum"))
        snprintf(buf, size, "%s", ffmt(f1, sizeof f1, a->momentum));
    else if (!strcmp(name, "beta1"))
        snprintf(buf, size, "%s", ffmt(f1, sizeof f1, a->beta1));
    else if (!strcmp(name, "beta2"))
        snprintf(buf, size, "%s", ffmt(f1, sizeof f1, a->beta2));
    else if (!strcmp(name, "eps"))
        snprintf(buf, size, "%s", ffmt(f1, sizeof f1, a->eps));
    else if (!strcmp(name, "weight-decay"))
        snprintf(buf, size, "%s", ffmt(f1, sizeof f1, a->weight_decay));
    else if (!strcmp(name, "schedule"))
        snprintf(buf, size, "%s", schedule_name(a->schedule));
    else if (!strcmp(name, "warmup-steps"))
        snprintf(buf, size, "%d", a->warmup_steps);
    else if (!strcmp(name, "step-size"))
        snprintf(buf, size, "%d", a->step_size);
    else if (!strcmp(name, "gamma"))
        snprintf(buf, size, "%s", ffmt(f1, sizeof f1, a->gamma));
    else if (!strcmp(name, "dropout"))
        snprintf(buf, size, "%s", ffmt(f1, sizeof f1, a->dropout));
    else if (!strcmp(name, "max-norm"))
        snprintf(buf, size, "%s", ffmt(f1, sizeof f1, a->max_norm));
    else if (!strcmp(name, "augment")) {
        const cm_augment *g = &a->augment;
        if (g->shift > 0 || g->rotate > 0 || g->scale > 0 || g->flip > 0) {
            char f4[32];
            snprintf(buf, size, "shift=%s,rotate=%s,scale=%s%s%s", ffmt(f1, sizeof f1, g->shift),
                     ffmt(f2, sizeof f2, g->rotate), ffmt(f3, sizeof f3, g->scale), g->flip > 0 ? ",flip=" : "",
                     g->flip > 0 ? ffmt(f4, sizeof f4, g->flip) : "");
        } else {
            snprintf(buf, size, "none");
        }
    } else if (!strcmp(name, "seed"))
        snprintf(buf, size, "%llu", (unsigned long long)a->seed);
    else if (!strcmp(name, "val"))
        snprintf(buf, size, "%d", a->val);
    else if (!strcmp(name, "limit"))
        snprintf(buf, size, "%d", a->limit);
    else
        run_format_data_option(&a->data, name, buf, size);
}

void run_describe_recipe(const cm_train_args *a, char *buf, size_t size) {
    size_t o = 0;
#define PUT(...) o += o < size ? (size_t)snprintf(buf + o, size - o, __VA_ARGS__) : 0
    PUT("%s lr %g (%s", a->optimizer, (double)a->lr, schedule_name(a->schedule));
    if (a->schedule == CM_SCHEDULE_STEP) PUT(" x%g every %d epochs", (double)a->gamma, a->step_size);
    if (a->warmup_steps) PUT(", warm-up %d steps", a->warmup_steps);
    PUT(")");
    if (!strcmp(a->optimizer, "momentum") || !strcmp(a->optimizer, "nesterov"))
        PUT(" momentum %g", (double)a->momentum);
    if (!strncmp(a->optimizer, "adam", 4)) PUT(" betas %g,%g", (double)a->beta1, (double)a->beta2);
    if (a->weight_decay > 0) PUT(", weight decay %g", (double)a->weight_decay);
    if (a->dropout > 0) PUT(", dropout %g", (double)a->dropout);
    if (a->max_norm > 0) PUT(", max-norm %g", (double)a->max_norm);
    if (a->augment.shift > 0 || a->augment.rotate > 0 || a->augment.scale > 0 || a->augment.flip > 0) {
        char aug[128];
        run_format_option(a, "augment", aug, sizeof aug);
        PUT(", augment %s", aug);
    }
#undef PUT
}

/* An optional value given as the next word, a number ("--serve 8080"), joined to its flag
 * ("--serve=8080") as getopt_long wants it; the words live in `joined` (static: one parse at a
 * time). Returns argv, or the joined copy. */
