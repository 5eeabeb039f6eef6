/* model.c: MLP parameter layout and seeded He-uniform initialisation. */
#include "clmnist/model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clmnist/rng.h"

cm_status model_parse_layers(const char *spec, int *hidden, int *nhidden) {
    *nhidden = 0;
    if (!spec || !*spec) return CM_OK;
    const char *p = spec;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 1 || v > 65536 || (*end != ',' && *end != '\0'))
            return cm_fail(CM_ERR_USAGE, "--layers '%s': expected comma-separated sizes between 1 and 65536", spec);
        if (*nhidden >= CM_MAX_LAYERS - 1)
            return cm_fail(CM_ERR_USAGE, "--layers '%s': at most %d hidden layers", spec, CM_MAX_LAYERS - 1);
        hidden[(*nhidden)++] = (int)v;
        p = *end == ',' ? end + 1 : end;
        if (*end == ',' && !*p) return cm_fail(CM_ERR_USAGE, "--layers '%s': trailing comma", spec);
    }
    return CM_OK;
}

static size_t round_up(size_t v, size_t m) {
    return (v + m - 1) / m * m;
}

cm_status model_layout(cm_layout *layout, int input, const int *hidden, int nhidden, int classes, size_t align_bytes) {
    memset(layout, 0, sizeof *layout);
    if (nhidden < 0 || nhidden > CM_MAX_LAYERS - 1)
        return cm_fail(CM_ERR_USAGE, "at most %d hidden layers", CM_MAX_LAYERS - 1);
    if (align_bytes < sizeof(float) || align_bytes % sizeof(float))
        return cm_fail(CM_ERR_USAGE, "parameter alignment %zu is not a multiple of 4 bytes", align_bytes);
    layout->nlayers = nhidden + 1;
    layout->sizes[0] = input;
    for (int i = 0; i < nhidden; i++)
        layout->sizes[i + 1] = hidden[i];
    layout->sizes[nhidden + 1] = classes;
    layout->align_bytes = align_bytes;
    size_t align = align_bytes / sizeof(float), off = 0;
    for (int l = 0; l < layout->nlayers; l++) {
        size_t in = (size_t)layout->sizes[l], out = (size_t)layout->sizes[l + 1];
        layout->w_off[l] = off;
        off = round_up(off + out * in, align);
        layout->b_off[l] = off;
        off = round_up(off + out, align);
        layout->count += out * in + out;
    }
    layout->total = off;
    return CM_OK;
}

cm_status model_init(cm_model *model, const cm_layout *layout, uint64_t seed) {
    model->layout = *layout;
    model->params = calloc(layout->total, sizeof(float));
    if (!model->params)
        return cm_fail(CM_ERR_MEMORY, "cannot allocate %zu MiB for the model parameters",
                       layout->total * sizeof(float) >> 20);
    cm_rng rng;
    rng_seed(&rng, seed, 0x6d6f64656cULL /* "model" */);
    for (int l = 0; l < layout->nlayers; l++) {
        size_t in = (size_t)layout->sizes[l], out = (size_t)layout->sizes[l + 1];
        float limit = sqrtf(6.0f / (float)in);
        float *w = model->params + layout->w_off[l];
        for (size_t i = 0; i < out * in; i++)
            w[i] = (2.0f * rng_uniform(&rng) - 1.0f) * limit;
    }
    return CM_OK;
}

void model_free(cm_model *model) {
    free(model->params);
    model->params = NULL;
}

void model_describe(const cm_layout *layout, char *buf, size_t size) {
    size_t n = 0;
    buf[0] = '\0';
    for (int l = 0; l <= layout->nlayers && n < size; l++)
        n += (size_t)snprintf(buf + n, size - n, l ? "-%d" : "%d", layout->sizes[l]);
}
