/* api_model.c: model handles of the public API: loading, saving, describing. A handle is a
 * predictor (host/infer/predictor.h: the model file and its pool of inference contexts) with the
 * texts its getters return. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "dataset_source.h"
#include "parse.h"

/* Layer l in words with its output shape: "conv 32 3x3 pad 1 -> 32x28x28". */
static void layer_words(const cm_layer *l, char *buf, size_t size) {
    char w[128];
    switch (l->type) {
    case CM_LAYER_LINEAR: snprintf(w, sizeof w, "linear %d", l->out); break;
    case CM_LAYER_CONV2D: {
        int n = snprintf(w, sizeof w, "conv %d %dx%d", l->out, l->kernel, l->kernel);
        if (l->stride != 1) n += snprintf(w + n, sizeof w - (size_t)n, " stride %d", l->stride);
        if (l->pad) n += snprintf(w + n, sizeof w - (size_t)n, " pad %d", l->pad);
        if (l->no_bias) snprintf(w + n, sizeof w - (size_t)n, " no-bias");
        break;
    }
    case CM_LAYER_MAXPOOL2D:
        if (l->stride == l->kernel)
            snprintf(w, sizeof w, "maxpool %dx%d", l->kernel, l->kernel);
        else
            snprintf(w, sizeof w, "maxpool %dx%d stride %d", l->kernel, l->kernel, l->stride);
        break;
    case CM_LAYER_BATCHNORM1D:
    case CM_LAYER_BATCHNORM2D: snprintf(w, sizeof w, "batchnorm"); break;
    case CM_LAYER_RELU: snprintf(w, sizeof w, "relu"); break;
    case CM_LAYER_DROPOUT: snprintf(w, sizeof w, "dropout %g", (double)l->p); break;
    case CM_LAYER_FLATTEN: snprintf(w, sizeof w, "flatten"); break;
    case CM_LAYER_GAP: snprintf(w, sizeof w, "global average pool"); break;
    default: snprintf(w, sizeof w, "?"); break;
    }
    const cm_shape *s = &l->out_shape;
    if (s->flat)
        snprintf(buf, size, "%s%s -> %d", w, l->frozen ? " (frozen)" : "", s->c);
    else
        snprintf(buf, size, "%s%s -> %dx%dx%d", w, l->frozen ? " (frozen)" : "", s->c, s->h, s->w);
}

/* The model's "class_names" (a JSON array of `classes` strings) into names; 0 when absent or malformed. */
static int meta_class_names(const cm_meta *meta, int classes, char **names) {
    const char *text = meta_get(meta, "class_names");
    cJSON *arr = text ? cJSON_Parse(text) : NULL;
    int ok = cJSON_IsArray(arr) && cJSON_GetArraySize(arr) == classes;
    for (int c = 0; ok && c < classes; c++) {
        const cJSON *s = cJSON_GetArrayItem(arr, c);
        ok = cJSON_IsString(s) && (names[c] = strdup(s->valuestring)) != NULL;
    }
    cJSON_Delete(arr);
    return ok;
}

/* The texts the getters return: layer descriptions and class names. */
static cm_status describe(clmnist_model *m) {
    const cm_model_file *f = predictor_file(m->pred);
    const cm_layout *L = &f->model.layout;
    m->nlayers = L->nlayers;
    m->classes = L->classes;
    m->layer_text = calloc((size_t)L->nlayers + 1, sizeof(char *));
    m->class_names = calloc((size_t)L->classes + 1, sizeof(char *));
    if (!m->layer_text || !m->class_names) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    for (int i = 0; i < L->nlayers; i++) {
        char text[256];
        layer_words(&L->layers[i], text, sizeof text);
        if (!(m->layer_text[i] = strdup(text))) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    }
    if (meta_class_names(&f->meta, L->classes, m->class_names)) return CM_OK;
    const char *const *known = dataset_known_class_names(meta_get(&f->meta, "dataset"), L->classes);
    for (int c = 0; c < L->classes; c++) {
        char num[16];
        snprintf(num, sizeof num, "%d", c);
        free(m->class_names[c]);
        if (!(m->class_names[c] = strdup(known ? known[c] : num))) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    }
    return CM_OK;
}

/* Examples per forward pass: the context's batch, else the model's training batch, else 256. */
static int model_batch(const clmnist_ctx *ctx, const cm_meta *meta) {
    const char *mb = meta_get(meta, "train.batch");
    long v = 0;
    if (ctx->batch > 0) return ctx->batch;
    return mb && cm_parse_int("train.batch", mb, 1, 1 << 16, &v) == CM_OK ? (int)v : 256;
}

/* A handle over a model file in memory, which it takes over on success. */
static cm_status model_open(clmnist_ctx *ctx, cm_model_file *file, const char *what, clmnist_model **out) {
    clmnist_model *m = calloc(1, sizeof *m);
    if (!m) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    cm_status ok = pipeline_from_meta(&file->meta, what, &file->model.layout, &m->pipe); /* a forged one fails */
    if (ok != CM_OK) {
        free(m);
        return ok;
    }
    cm_predictor_options po = {.backend = ctx->backend,
                               .device = ctx->device[0] ? ctx->device : NULL,
                               .contexts = ctx->contexts,
                               .threads = ctx->threads,
                               .batch = model_batch(ctx, &file->meta)};
    m->batch = po.batch;
    cm_status st = predictor_open_file(file, &po, &m->pred);
    if (st == CM_OK) st = describe(m);
    if (st != CM_OK) {
        clmnist_model_free(m);
        return st;
    }
    *out = m;
    return CM_OK;
}

int clmnist_model_load(clmnist_ctx *ctx, const char *path, clmnist_model **out) {
    if (!out) return api_null("clmnist_model_load", "out");
    *out = NULL;
    if (!ctx) return api_null("clmnist_model_load", "ctx");
    if (!path) return api_null("clmnist_model_load", "path");
    /* aligned for any backend: CM_PARAM_ALIGN_BYTES is a multiple of every device's alignment */
    cm_model_file file;
    CM_TRY(model_file_load(path, CM_PARAM_ALIGN_BYTES, &file));
    cm_status st = model_open(ctx, &file, path, out);
    if (st != CM_OK) model_file_free(&file);
    return st;
}

cm_status api_model_from_file(clmnist_ctx *ctx, cm_model_file *file, clmnist_model **out) {
    *out = NULL;
    return model_open(ctx, file, "the model", out);
}

int clmnist_model_save(const clmnist_model *model, const char *path) {
    if (!model) return api_null("clmnist_model_save", "model");
    if (!path) return api_null("clmnist_model_save", "path");
    const cm_model_file *f = predictor_file(model->pred);
    return model_file_save(path, &f->model.layout, f->model.params, 0, NULL, NULL, &f->meta);
}

void clmnist_model_free(clmnist_model *m) {
    if (!m) return;
    predictor_close(m->pred);
    for (int i = 0; m->layer_text && i < m->nlayers; i++)
        free(m->layer_text[i]);
    for (int c = 0; m->class_names && c < m->classes; c++)
        free(m->class_names[c]);
    free(m->layer_text);
    free(m->class_names);
    free(m);
}

const cm_model_file *api_model_file(const clmnist_model *m) {
    return predictor_file(m->pred);
}

cm_predictor *api_model_predictor(clmnist_model *m) {
    return m->pred;
}

int clmnist_model_input(const clmnist_model *model, int *channels, int *height, int *width) {
    if (!model) return api_null("clmnist_model_input", "model");
    cm_shape in = predictor_file(model->pred)->model.layout.input;
    if (channels) *channels = in.c;
    if (height) *height = in.h;
    if (width) *width = in.w;
    return CM_OK;
}

int clmnist_model_classes(const clmnist_model *model) {
    return model ? model->classes : 0;
}

const char *clmnist_model_class_name(const clmnist_model *model, int i) {
    return model && i >= 0 && i < model->classes ? model->class_names[i] : NULL;
}

int clmnist_model_layers(const clmnist_model *model) {
    return model ? model->nlayers : 0;
}

const char *clmnist_model_layer(const clmnist_model *model, int i) {
    return model && i >= 0 && i < model->nlayers ? model->layer_text[i] : NULL;
}

const char *clmnist_model_meta(const clmnist_model *model, const char *key) {
    return model && key ? meta_get(&predictor_file(model->pred)->meta, key) : NULL;
}
