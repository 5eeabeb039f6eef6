/* modules.c: the "modules" metadata of a model file, a JSON array with one object per layer:
 * "type" is the torch.nn class name, the other keys that class's constructor arguments, so
 *   torch.nn.Sequential(*[getattr(torch.nn, m.pop("type"))(**m) for m in modules])
 * rebuilds the network. Reading is strict: unknown types and arguments, values of the wrong
 * kind, and arguments clmnist does not implement (dilation, groups, ...) are errors. */
#include "modules.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A float argument as the shortest decimal that reads back as the same float (0.1, not 0.100000001). */
static void add_float(cJSON *o, const char *key, float v) {
    char text[32];
    snprintf(text, sizeof text, "%.9g", (double)v);
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, (double)v);
        if ((float)strtod(text, NULL) == v) break;
    }
    cJSON_AddNumberToObject(o, key, strtod(text, NULL));
}

static cJSON *layer_json(const cm_layer *l) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "type", layer_type_name(l->type));
    switch (l->type) {
    case CM_LAYER_LINEAR:
        cJSON_AddNumberToObject(o, "in_features", (double)shape_numel(l->in));
        cJSON_AddNumberToObject(o, "out_features", l->out);
        break;
    case CM_LAYER_CONV2D:
        cJSON_AddNumberToObject(o, "in_channels", l->in.c);
        cJSON_AddNumberToObject(o, "out_channels", l->out);
        cJSON_AddNumberToObject(o, "kernel_size", l->kernel);
        cJSON_AddNumberToObject(o, "stride", l->stride);
        cJSON_AddNumberToObject(o, "padding", l->pad);
        if (l->no_bias) cJSON_AddFalseToObject(o, "bias");
        break;
    case CM_LAYER_MAXPOOL2D:
        cJSON_AddNumberToObject(o, "kernel_size", l->kernel);
        cJSON_AddNumberToObject(o, "stride", l->stride);
        break;
    case CM_LAYER_BATCHNORM1D:
    case CM_LAYER_BATCHNORM2D:
        cJSON_AddNumberToObject(o, "num_features", l->in.c);
        add_float(o, "eps", l->eps);
        add_float(o, "momentum", l->momentum);
        break;
    case CM_LAYER_DROPOUT: add_float(o, "p", l->p); break;
    case CM_LAYER_GAP: cJSON_AddNumberToObject(o, "output_size", 1); break;
    default: break;
    }
    return o;
}

char *modules_to_json(const cm_layout *L) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < L->nlayers; i++) {
        cJSON *o = layer_json(&L->layers[i]);
        if (!o) {
            cJSON_Delete(arr);
            return NULL;
        }
        cJSON_AddItemToArray(arr, o);
    }
    char *text = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    return text;
}

/* ---- reading ------------------------------------------------------------------------------- */

typedef struct {
    const char *path;
    int index;
    const char *type;
} ctx;

static cm_status bad(const ctx *c, const char *key, const char *why) {
    return cm_fail(CM_ERR_FORMAT, "%s: modules[%d] (%s): '%s' %s", c->path, c->index, c->type, key, why);
}

/* The largest integer argument read: the most elements model_layout lets a layer output, so every
 * in_features/num_features it allows reads back (it checks each argument's own range itself). */
#define MODULE_INT_MAX (1 << 28)

/* An integer argument (an int, or [k, k] for kernel_size/stride/padding); *v unchanged if absent. */
static cm_status get_int(const ctx *c, const cJSON *o, const char *key, int min, int pair_ok, int *v, int *given) {
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, key);
    if (given) *given = e != NULL;
    if (!e || (cJSON_IsNull(e) && pair_ok)) return CM_OK;
    if (pair_ok && cJSON_IsArray(e) && cJSON_GetArraySize(e) == 2) {
        const cJSON *a = cJSON_GetArrayItem(e, 0), *b = cJSON_GetArrayItem(e, 1);
        if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b) || a->valuedouble != b->valuedouble)
            return bad(c, key, "must be one integer or two equal ones (clmnist has square windows)");
        e = a;
    }
    if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble) || e->valuedouble < min ||
        e->valuedouble > (double)MODULE_INT_MAX)
        return bad(c, key, "must be a whole number in range");
    *v = (int)e->valuedouble;
    return CM_OK;
}

static cm_status get_float(const ctx *c, const cJSON *o, const char *key, float *v) {
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!e) return CM_OK;
    if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble)) return bad(c, key, "must be a number");
    *v = (float)e->valuedouble;
    return CM_OK;
}

/* "bias": true (the default), or false where the layer can do without (*no_bias = 1). */
static cm_status get_bias(const ctx *c, const cJSON *o, int false_ok, int *no_bias) {
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "bias");
    *no_bias = 0;
    if (!e || cJSON_IsTrue(e)) return CM_OK;
    if (cJSON_IsFalse(e) && false_ok) {
        *no_bias = 1;
        return CM_OK;
    }
    return bad(c, "bias", false_ok ? "must be true or false" : "must be true");
}

/* Arguments that must keep PyTorch's default value (clmnist implements only that case). */
static cm_status check_fixed(const ctx *c, const cJSON *o) {
    static const struct {
        const char *key;
        double value;
    } fixed[] = {{"dilation", 1}, {"groups", 1}, {"start_dim", 1}, {"end_dim", -1}};
    for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, fixed[k].key);
        if (e && cJSON_IsArray(e) && cJSON_GetArraySize(e) == 2 && !strcmp(fixed[k].key, "dilation")) {
            const cJSON *b = cJSON_GetArrayItem(e, 1); /* PyTorch's (1, 1) */
            e = cJSON_IsNumber(b) && b->valuedouble == fixed[k].value ? cJSON_GetArrayItem(e, 0) : b;
        }
        if (e && !(cJSON_IsNumber(e) && e->valuedouble == fixed[k].value))
            return bad(c, fixed[k].key, "has a value clmnist does not implement");
    }
    static const char *const must_true[] = {"affine", "track_running_stats"};
    for (size_t k = 0; k < sizeof must_true / sizeof must_true[0]; k++) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, must_true[k]);
        if (e && !cJSON_IsTrue(e)) return bad(c, must_true[k], "must be true");
    }
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "padding_mode");
    if (e && !(cJSON_IsString(e) && !strcmp(e->valuestring, "zeros")))
        return bad(c, "padding_mode", "must be \"zeros\"");
    e = cJSON_GetObjectItemCaseSensitive(o, "ceil_mode");
    if (e && !cJSON_IsFalse(e)) return bad(c, "ceil_mode", "must be false");
    return CM_OK;
}

/* Whether key is one of the space-separated words of list (never "", never a key with a space). */
static int allowed(const char *key, const char *list) {
    size_t n = strlen(key);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, " ");
        if (len == n && n && !memcmp(p, key, n)) return 1;
        p += len;
        p += *p == ' ';
    }
    return 0;
}

static const char *const arg_lists[CM_LAYER_TYPES] = {
    "type in_features out_features bias",
    "type in_channels out_channels kernel_size stride padding dilation groups bias padding_mode",
    "type kernel_size stride padding dilation ceil_mode",
    "type num_features eps momentum affine track_running_stats",
    "type num_features eps momentum affine track_running_stats",
    "type inplace",
    "type p inplace",
    "type start_dim end_dim",
    "type output_size"};

/* One module object into a layer; in_* arguments go to *expect_in (checked after layout). */
static cm_status parse_module(const ctx *c, const cJSON *o, cm_layer *l, int *expect_in) {
    int t = layer_type_from_name(c->type);
    if (t < 0) return cm_fail(CM_ERR_FORMAT, "%s: modules[%d]: type '%s' is not supported", c->path, c->index, c->type);
    for (const cJSON *e = o->child; e; e = e->next)
        if (!allowed(e->string, arg_lists[t])) return bad(c, e->string, "is not an argument clmnist knows");
    CM_TRY(check_fixed(c, o));
    *l = layer_default((cm_layer_type)t);
    *expect_in = -1;
    int given = 0;
    switch (l->type) {
    case CM_LAYER_LINEAR:
        CM_TRY(get_int(c, o, "in_features", 1, 0, expect_in, NULL));
        CM_TRY(get_int(c, o, "out_features", 1, 0, &l->out, &given));
        if (!given || *expect_in < 0) return bad(c, "in_features/out_features", "are required");
        CM_TRY(get_bias(c, o, 0, &given));
        break;
    case CM_LAYER_CONV2D:
        CM_TRY(get_int(c, o, "in_channels", 1, 0, expect_in, NULL));
        CM_TRY(get_int(c, o, "out_channels", 1, 0, &l->out, &given));
        if (!given || *expect_in < 0) return bad(c, "in_channels/out_channels", "are required");
        CM_TRY(get_int(c, o, "kernel_size", 1, 1, &l->kernel, &given));
        if (!given) return bad(c, "kernel_size", "is required");
        CM_TRY(get_int(c, o, "stride", 1, 1, &l->stride, NULL));
        CM_TRY(get_int(c, o, "padding", 0, 1, &l->pad, NULL));
        CM_TRY(get_bias(c, o, 1, &l->no_bias));
        break;
    case CM_LAYER_MAXPOOL2D:
        CM_TRY(get_int(c, o, "kernel_size", 1, 1, &l->kernel, &given));
        if (!given) return bad(c, "kernel_size", "is required");
        l->stride = l->kernel; /* PyTorch: stride None means kernel_size */
        CM_TRY(get_int(c, o, "stride", 1, 1, &l->stride, NULL));
        CM_TRY(get_int(c, o, "padding", 0, 1, &l->pad, NULL));
        if (l->pad) return bad(c, "padding", "must be 0");
        break;
    case CM_LAYER_BATCHNORM1D:
    case CM_LAYER_BATCHNORM2D:
        CM_TRY(get_int(c, o, "num_features", 1, 0, expect_in, NULL));
        if (*expect_in < 0) return bad(c, "num_features", "is required");
        CM_TRY(get_float(c, o, "eps", &l->eps));
        CM_TRY(get_float(c, o, "momentum", &l->momentum));
        break;
    case CM_LAYER_DROPOUT: CM_TRY(get_float(c, o, "p", &l->p)); break;
    case CM_LAYER_GAP: {
        int size = -1;
        CM_TRY(get_int(c, o, "output_size", 1, 1, &size, &given));
        if (!given || size != 1) return bad(c, "output_size", "must be 1 (global average pooling)");
        break;
    }
    default: break;
    }
    return CM_OK;
}

cm_status modules_from_json(const char *path, const char *text, cm_layer *layers, int *nlayers, int *expect_in) {
    *nlayers = 0;
    cJSON *arr = cJSON_ParseWithOpts(text, NULL, 1); /* nothing after the array but white space */
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1 || cJSON_GetArraySize(arr) > CM_MAX_LAYERS) {
        cJSON_Delete(arr);
        return cm_fail(CM_ERR_FORMAT, "%s: metadata 'modules' is not a JSON array of 1 to %d layers", path,
                       CM_MAX_LAYERS);
    }
    cm_status st = CM_OK;
    int i = 0;
    for (const cJSON *o = arr->child; o && st == CM_OK; o = o->next, i++) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
        if (!cJSON_IsObject(o) || !cJSON_IsString(type)) {
            st = cm_fail(CM_ERR_FORMAT, "%s: modules[%d] is not an object with a \"type\" string", path, i);
            break;
        }
        ctx c = {path, i, type->valuestring};
        st = parse_module(&c, o, &layers[i], &expect_in[i]);
    }
    cJSON_Delete(arr);
    if (st == CM_OK) *nlayers = i;
    return st;
}

cm_status modules_check_inputs(const char *path, const cm_layout *L, const int *expect_in) {
    for (int i = 0; i < L->nlayers; i++) {
        const cm_layer *l = &L->layers[i];
        int have = l->type == CM_LAYER_LINEAR ? (int)shape_numel(l->in) : l->in.c;
        if (expect_in[i] >= 0 && expect_in[i] != have)
            return cm_fail(CM_ERR_FORMAT, "%s: modules[%d] (%s) says %d inputs, but the layers before it give %d", path,
                           i, layer_type_name(l->type), expect_in[i], have);
    }
    return CM_OK;
}
