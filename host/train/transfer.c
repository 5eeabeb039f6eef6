/* transfer.c: fine-tuning a saved model on other data: head replacement, frozen layers, and the
 * metadata that records it (transfer.h). */
#include "transfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"

/* The last Linear layer, or -1. */
static int head_index(const cm_layout *L) {
    for (int i = L->nlayers - 1; i >= 0; i--)
        if (L->layers[i].type == CM_LAYER_LINEAR) return i;
    return -1;
}

static void shape_text(const cm_tensor *t, char *buf, size_t size) {
    size_t n = (size_t)snprintf(buf, size, "(");
    for (int d = 0; d < t->rank && n < size; d++)
        n += (size_t)snprintf(buf + n, size - n, d ? ", %d" : "%d", t->dims[d]);
    if (n < size) snprintf(buf + n, size - n, ")");
}

static const cm_tensor *find_tensor(const cm_tensor *ts, int n, int layer, const char *name) {
    for (int k = 0; k < n; k++)
        if (ts[k].layer == layer && !strcmp(ts[k].name, name)) return &ts[k];
    return NULL;
}

/* Copies every tensor of `from` into `to` (laid out by their layouts), but the head's when it
 * has new weights; a tensor whose shape differs is an error naming it. */
static cm_status copy_tensors(const char *what, const cm_model *from, cm_model *to, int head, int keep_head) {
    cm_tensor a[CM_MAX_TENSORS], b[CM_MAX_TENSORS];
    int na = model_tensors(&from->layout, a), nb = model_tensors(&to->layout, b);
    for (int k = 0; k < nb; k++) {
        if (b[k].layer == head && !keep_head) continue;
        const cm_tensor *src = find_tensor(a, na, b[k].layer, b[k].name);
        if (!src || src->numel != b[k].numel || memcmp(src->dims, b[k].dims, sizeof src->dims) != 0) {
            char have[64] = "(none)", want[64];
            if (src) shape_text(src, have, sizeof have);
            shape_text(&b[k], want, sizeof want);
            return cm_fail(CM_ERR_USAGE, "%s: tensor layers.%d.%s has shape %s; this data needs %s (%dx%dx%d input)",
                           what, b[k].layer, b[k].name, have, want, to->layout.input.c, to->layout.input.h,
                           to->layout.input.w);
        }
        memcpy(to->params + b[k].offset, from->params + src->offset, sizeof(float) * b[k].numel);
    }
    return CM_OK;
}

/* The file's layers, adapted: frozen flags, and the head's outputs. */
static cm_status adapted_layers(const char *what, const cm_layout *L, int classes, const cm_transfer_options *o,
                                int head, cm_layer *layers) {
    memcpy(layers, L->layers, sizeof(cm_layer) * (size_t)L->nlayers);
    for (int i = 0; i < L->nlayers; i++)
        layers[i].frozen = 0;
    char flag[CM_ARCH_TEXT + 16];
    snprintf(flag, sizeof flag, "--freeze %s", o->freeze ? o->freeze : "");
    if (o->freeze) CM_TRY(model_parse_freeze(flag, o->freeze, layers, L->nlayers));
    if (head < 0 && (classes != L->classes || o->reset_head))
        return cm_fail(CM_ERR_USAGE, "%s: the model has no Linear layer to serve as the head for %d classes", what,
                       classes);
    if (head >= 0 && head != L->nlayers - 1 && classes != L->classes)
        return cm_fail(CM_ERR_USAGE, "%s: its head (layer %d) is not the last layer; cannot give it %d classes", what,
                       head, classes);
    if (head >= 0) layers[head].out = classes;
    return CM_OK;
}

cm_status transfer_adapt(const char *what, cm_model *model, cm_shape input, int classes, const cm_transfer_options *o,
                         cm_transfer_info *info) {
    const cm_layout *L = &model->layout;
    int head = head_index(L);
    cm_layer layers[CM_MAX_LAYERS];
    CM_TRY(adapted_layers(what, L, classes, o, head, layers));
    cm_layout nl;
    if (model_layout(&nl, layers, L->nlayers, input, classes, L->align_bytes) != CM_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", cm_last_error());
        return cm_fail(CM_ERR_USAGE, "%s: on this data (%dx%dx%d, %d classes): %s", what, input.c, input.h, input.w,
                       classes, why);
    }
    if (nl.trainable == 0)
        return cm_fail(CM_ERR_USAGE, "--freeze %s: freezes every layer with parameters; nothing would train",
                       o->freeze ? o->freeze : "");
    memset(info, 0, sizeof *info);
    info->head = head;
    info->old_classes = L->classes;
    info->new_classes = classes;
    info->reset = head >= 0 && (o->reset_head || classes != L->classes);
    model_describe_frozen(&nl, info->frozen, sizeof info->frozen);
    cm_model fresh; /* model_init's weights: the head's, when it has new ones */
    CM_TRY(model_init(&fresh, &nl, o->seed));
    cm_status st = copy_tensors(what, model, &fresh, head, !info->reset);
    if (st != CM_OK) {
        model_free(&fresh);
        return st;
    }
    model_free(model);
    *model = fresh;
    return CM_OK;
}

cm_status transfer_meta(cm_meta *meta, const char *source, const char *dataset, const cm_transfer_info *info) {
    char hex[65];
    CM_TRY(digest_file_sha256(source, hex));
    CM_TRY(meta_set(meta, "finetune.source", "%s", source));
    CM_TRY(meta_set(meta, "finetune.source_sha256", "%s", hex));
    CM_TRY(meta_set(meta, "finetune.frozen", "%s", info->frozen));
    if (info->old_classes != info->new_classes)
        CM_TRY(meta_set(meta, "finetune.head", "replaced: %d to %d classes", info->old_classes, info->new_classes));
    else
        CM_TRY(meta_set(meta, "finetune.head", "%s", info->reset ? "reset" : "kept"));
    return meta_set(meta, "finetune.dataset", "%s", dataset);
}

cm_status transfer_meta_copy(cm_meta *to, const cm_meta *from) {
    for (int i = 0; i < from->count; i++)
        if (!strncmp(from->key[i], "finetune.", 9)) CM_TRY(meta_set(to, from->key[i], "%s", from->value[i]));
    return CM_OK;
}
