/* transfer.h: fine-tuning a saved model on other data (train --init FILE [--freeze SPEC]
 * [--reset-head]).
 *
 * The model's last Linear layer is its head. When the new data has another number of classes,
 * the head is replaced by a new Linear with that many outputs; --reset-head re-initialises it
 * even when the count is the same. New head weights come from model_init's rule with the run's
 * seed. Frozen layers (model.h) keep their weights: no gradient, no optimizer state, BatchNorm in
 * eval mode. Every other tensor must keep its shape on the new data; one that does not (images of
 * another size reaching a Linear) is an error naming it.
 *
 * The run's model file records where it came from, in its metadata:
 *   "finetune.source"         the --init file, as given
 *   "finetune.source_sha256"  that file's SHA-256
 *   "finetune.frozen"         the frozen layers ("0-5,7"; "" none): a checkpoint's layout needs it
 *   "finetune.head"           "kept", "reset", or "replaced: 10 to 26 classes"
 *   "finetune.dataset"        the data it was fine-tuned on */
#ifndef CLMNIST_TRANSFER_H
#define CLMNIST_TRANSFER_H
#include <stdint.h>

#include "model.h"
#include "model_io.h"

typedef struct {
    const char *freeze; /* --freeze SPEC, or NULL: every layer trains */
    int reset_head;     /* --reset-head */
    uint64_t seed;      /* initialises a new or reset head */
} cm_transfer_options;

typedef struct {
    int head;                     /* the head's layer index */
    int old_classes, new_classes; /* differ when the head was replaced */
    int reset;                    /* the head has new weights (replaced, or --reset-head) */
    char frozen[CM_ARCH_TEXT];    /* the frozen layers as a spec; "" when none */
} cm_transfer_info;

/* Adapts `model` (from a file) in place to data of `input` shape with `classes` classes, as
 * above. `what` names the model in errors ("--init base.safetensors"). On failure the model is
 * unchanged. */
cm_status transfer_adapt(const char *what, cm_model *model, cm_shape input, int classes, const cm_transfer_options *o,
                         cm_transfer_info *info);
/* The "finetune.*" metadata of a run that started from `source` (its path) on `dataset`. */
cm_status transfer_meta(cm_meta *meta, const char *source, const char *dataset, const cm_transfer_info *info);
/* Copies the "finetune.*" entries of `from` (a resumed checkpoint's) into `to`. */
cm_status transfer_meta_copy(cm_meta *to, const cm_meta *from);

#endif
