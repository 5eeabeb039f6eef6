/* file_layout.c: the layer list a model file describes: its "modules" metadata (format 2) or,
 * for format 1, the chain of Linear tensors; checked against the file's other architecture
 * metadata (format version, architecture, layers, input shape). */
#include "file_layout.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules.h"

/* "1x28x28", or "28x28" (format 1: one channel); every size 1..65536 (channels 1..4096). */
static int parse_input_shape(const char *text, cm_shape *s) {
    long v[3];
    int n = 0;
    const char *p = text;
    *s = (cm_shape){0, 0, 0, 0};
    while (p && n < 3) {
        char *end;
        errno = 0;
        if (*p < '0' || *p > '9') return 0;
        v[n++] = strtol(p, &end, 10);
        if (errno || v[n - 1] < 1 || v[n - 1] > 65536) return 0;
        p = *end == 'x' ? end + 1 : (*end == '\0' ? NULL : end);
        if (p && *end != 'x') return 0;
    }
    if (p || n < 2) return 0; /* text left over, or too few sizes */
    *s = n == 3 ? (cm_shape){(int)v[0], (int)v[1], (int)v[2], 0} : (cm_shape){1, (int)v[0], (int)v[1], 0};
    return s->c <= 4096;
}

/* Format 1: the chain of Linear layers "layers.{2l}" becomes Flatten, Linear, ReLU, ..., Linear. */
static cm_status legacy_layers(const char *path, const cJSON *root, cm_layer *layers, int *n, int *in_features) {
    *n = 0;
    layers[(*n)++] = layer_default(CM_LAYER_FLATTEN);
    for (int l = 0;; l++) {
        char name[64];
        snprintf(name, sizeof name, "layers.%d.weight", 2 * l);
        const cJSON *shape = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, name), "shape");
        if (!shape) {
            if (l == 0)
                return cm_fail(CM_ERR_FORMAT, "%s: tensor 'layers.0.weight' is missing: not a clmnist model", path);
            return CM_OK;
        }
        if (*n + 2 > CM_MAX_LAYERS) return cm_fail(CM_ERR_FORMAT, "%s: too many Linear layers", path);
        if (cJSON_GetArraySize(shape) != 2)
            return cm_fail(CM_ERR_FORMAT, "%s: '%s' must have shape [out, in]", path, name);
        if (l > 0)
            layers[(*n)++] = layer_default(CM_LAYER_RELU);
        else
            *in_features = (int)cJSON_GetArrayItem(shape, 1)->valuedouble;
        layers[*n] = layer_default(CM_LAYER_LINEAR);
        layers[(*n)++].out = (int)cJSON_GetArrayItem(shape, 0)->valuedouble;
    }
}

/* The "layers" metadata, when present, names the layers the file describes: the --arch spec
 * ("conv8k5p2-bn-relu-pool2-flatten-fc10", format 2) or the MLP's sizes ("784-16-10", format 1). */
static cm_status check_layers_meta(const char *path, const cm_meta *meta, const cm_layout *L, int legacy) {
    const char *m_layers = meta_get(meta, "layers");
    if (!m_layers) return CM_OK;
    char arch[1024];
    if (!legacy) {
        model_describe(L, arch, sizeof arch);
        if (strcmp(m_layers, arch) != 0)
            return cm_fail(CM_ERR_FORMAT, "%s: metadata says layers %s but the modules are %s", path, m_layers, arch);
        return CM_OK;
    }
    size_t n = (size_t)snprintf(arch, sizeof arch, "%zu", shape_numel(L->layers[0].out_shape));
    for (int i = 0; i < L->nlayers && n < sizeof arch; i++)
        if (L->layers[i].type == CM_LAYER_LINEAR)
            n += (size_t)snprintf(arch + n, sizeof arch - n, "-%d", L->layers[i].out);
    if (strcmp(m_layers, arch) != 0)
        return cm_fail(CM_ERR_FORMAT, "%s: metadata says layers %s but the tensors are %s", path, m_layers, arch);
    return CM_OK;
}

/* The format version and the architecture metadata agree with the presence of "modules". */
static cm_status check_version(const char *path, const cm_meta *meta, int legacy) {
    const char *version = meta_get(meta, "clmnist.format_version");
    if (version && strcmp(version, "1") != 0 && strcmp(version, CM_MODEL_FORMAT_VERSION) != 0)
        return cm_fail(CM_ERR_FORMAT, "%s: clmnist format version '%s'; this clmnist reads versions 1 and %s", path,
                       version, CM_MODEL_FORMAT_VERSION);
    if (version && legacy && strcmp(version, "1") != 0)
        return cm_fail(CM_ERR_FORMAT, "%s: format version %s needs 'modules' metadata, and the file has none", path,
                       version);
    if (version && !legacy && strcmp(version, "1") == 0)
        return cm_fail(CM_ERR_FORMAT, "%s: format version 1 has no 'modules' metadata, but the file has it", path);
    const char *kind = meta_get(meta, "architecture");
    if (kind && strcmp(kind, legacy ? "mlp" : "sequential") != 0)
        return cm_fail(CM_ERR_FORMAT, "%s: architecture '%s' is not supported (expected '%s')", path, kind,
                       legacy ? "mlp" : "sequential");
    const char *act = meta_get(meta, "activation");
    if (act && strcmp(act, "relu") != 0)
        return cm_fail(CM_ERR_FORMAT, "%s: activation '%s' is not supported (clmnist MLPs use relu)", path, act);
    return CM_OK;
}

/* The layer list and input shape the file describes: "modules" (format 2) or its tensors
 * (format 1), checked against its other architecture metadata. */
cm_status file_layout(const char *path, const cJSON *root, const cm_meta *meta, const char *modules, size_t align_bytes,
                      cm_layout *L, int *legacy) {
    *legacy = !modules;
    CM_TRY(check_version(path, meta, *legacy));
    cm_layer layers[CM_MAX_LAYERS];
    int n = 0, expect_in[CM_MAX_LAYERS], in_features = 0;
    cm_shape input;
    int have_shape = parse_input_shape(meta_get(meta, "input_shape"), &input);
    if (*legacy) {
        CM_TRY(legacy_layers(path, root, layers, &n, &in_features));
        if (!have_shape || (int)shape_numel(input) != in_features) input = (cm_shape){in_features, 1, 1, 0};
    } else {
        CM_TRY(modules_from_json(path, modules, layers, &n, expect_in));
        if (!have_shape)
            return cm_fail(CM_ERR_FORMAT, "%s: metadata 'input_shape' (CxHxW, e.g. 1x28x28) is missing or invalid",
                           path);
    }
    /* a fine-tuning run's checkpoint: its frozen layers have no optimizer state (model.h) */
    const char *frozen = meta_get(meta, "finetune.frozen");
    if (frozen && *frozen && model_parse_freeze("finetune.frozen", frozen, layers, n) != CM_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", cm_last_error());
        return cm_fail(CM_ERR_FORMAT, "%s: bad metadata: %s", path, why);
    }
    cm_status st = model_layout(L, layers, n, input, 0, align_bytes);
    if (st != CM_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", cm_last_error());
        return cm_fail(CM_ERR_FORMAT, "%s: its layers do not fit together: %s", path, why);
    }
    if (!*legacy) CM_TRY(modules_check_inputs(path, L, expect_in));
    return check_layers_meta(path, meta, L, *legacy);
}
