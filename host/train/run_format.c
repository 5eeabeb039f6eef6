/* run_format.c: a run's training options as text: the options of the table (options.h) marked
 * CM_OPT_SAVED are saved as "train.*" model metadata (run_model_meta), restored from a checkpoint
 * (run_checkpoint_options) through the command line's own checks, and described in one line for
 * the "model:" line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_options.h"
#include "train_loop.h"

cm_status run_checkpoint_options(const char *path, const cm_meta *m, cm_train_args *a, int *start_epoch) {
    const char *required[] = {"checkpoint.epoch", "train.batch", "train.lr", "train.epochs", "train.seed"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!meta_get(m, required[i]))
            return cm_fail(CM_ERR_FORMAT, "%s: not a checkpoint (metadata '%s' is missing)", path, required[i]);
    CM_TRY(train_checkpoint_epoch(path, m, start_epoch));
    cm_status st = CM_OK;
    /* the preset first: the other options were saved after it had been applied */
    for (int first = 1; first >= 0; first--)
        for (const cm_option *o = cm_options; o->name && st == CM_OK; o++) {
            if (!(o->flags & CM_OPT_SAVED) || !(o->flags & CM_OPT_FIRST) != !first) continue;
            char key[64];
            snprintf(key, sizeof key, "train.%s", o->name);
            const char *v = meta_get(m, key);
            /* train.layers and train.arch: checked in train(); an empty value: not given (image-size) */
            if (!v || !*v) continue;
            if (!strcmp(o->name, "optimizer") && !strcmp(v, "sgd-momentum")) v = "momentum"; /* format 1 name */
            st = opt_set(a, o, v);
        }
    if (st != CM_OK) return cm_fail(CM_ERR_FORMAT, "%s: bad checkpoint metadata: %s", path, cm_last_error());
    return CM_OK;
}

void run_format_option(const cm_train_args *a, const char *name, char *buf, size_t size) {
    const cm_option *o = opt_find(name, 0);
    buf[0] = '\0';
    if (o) opt_format(a, o, buf, size);
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
