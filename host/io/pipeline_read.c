/* pipeline_read.c: a model's input pipeline read back from its metadata (pipeline.h): the
 * "pipeline" value checked member by member and against the model's layout, or, for a model
 * written before the key, derived from input_shape, input_preprocess, class_names and train.*. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"

/* The member of o called key, one of names (n of them): its index, or -1. */
static int pick(const cJSON *o, const char *key, const char *const *names, int n) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    for (int i = 0; cJSON_IsString(v) && i < n; i++)
        if (!strcmp(v->valuestring, names[i])) return i;
    return -1;
}

/* A number member of o within [lo, hi] (an integer when integral), into *out. */
static int number(const cJSON *o, const char *key, double lo, double hi, int integral, double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi) return 0;
    if (integral && v->valuedouble != floor(v->valuedouble)) return 0;
    *out = v->valuedouble;
    return 1;
}

static int string(const cJSON *o, const char *key, char *out, size_t size) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= size) return 0;
    snprintf(out, size, "%s", v->valuestring);
    return 1;
}

/* Each parse_* fills its part of p from root; on a fault, *bad names the member. */
static int parse_data(const cJSON *root, cm_pipeline *p, const char **bad) {
    static const char *const formats[] = {"idx", "csv", "folder", "", "cifar"};
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "data");
    *bad = "data.format (\"idx\", \"csv\", \"cifar\", \"folder\" or \"\")";
    if (!cJSON_IsObject(d) || pick(d, "format", formats, 5) < 0) return 0;
    string(d, "format", p->format, sizeof p->format);
    *bad = "data.path (a string)";
    if (!string(d, "path", p->path, sizeof p->path)) return 0;
    const cJSON *dig = cJSON_GetObjectItemCaseSensitive(d, "digest");
    *bad = "data.digest (an object of SHA-256 hex strings)";
    if (!cJSON_IsObject(dig)) return 0;
    for (const cJSON *e = dig->child; e; e = e->next)
        if (!cJSON_IsString(e) || strlen(e->valuestring) != 64 || strspn(e->valuestring, "0123456789abcdef") != 64)
            return 0;
    char *text = cJSON_PrintUnformatted(dig);
    int ok = text && strlen(text) < sizeof p->digest;
    if (ok) snprintf(p->digest, sizeof p->digest, "%s", text);
    free(text);
    return ok;
}

/* A number (every channel's) or an array of one per channel, in [lo, 1e12]. */
static int per_channel(const cJSON *in, const char *key, double lo, int channels, double out[4]) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(in, key);
    if (cJSON_IsNumber(a)) {
        double v;
        if (!number(in, key, lo, 1e12, 0, &v)) return 0;
        for (int c = 0; c < 4; c++)
            out[c] = v;
        return 1;
    }
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != channels) return 0;
    int c = 0;
    for (const cJSON *e = a->child; e; e = e->next, c++) {
        if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble) || e->valuedouble < lo || e->valuedouble > 1e12) return 0;
        out[c] = e->valuedouble;
    }
    return 1;
}

static int parse_input(const cJSON *root, cm_pipeline *p, const char **bad) {
    static const char *const preps[] = {"resize", "mnist"}, *const modes[] = {"auto", "yes", "no"};
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(root, "input");
    double c, h, w;
    *bad = "input.channels, height, width (1 or 3, and 1 to 256)";
    if (!cJSON_IsObject(in) || !number(in, "channels", 1, 3, 1, &c) || c == 2 || !number(in, "height", 1, 256, 1, &h) ||
        !number(in, "width", 1, 256, 1, &w))
        return 0;
    p->channels = (int)c, p->height = (int)h, p->width = (int)w;
    int prep = pick(in, "preprocess", preps, 2), tr = pick(in, "transpose", modes, 3);
    int image = pick(in, "image", preps, 2), inv = pick(in, "invert", modes, 3);
    *bad = "input.preprocess, image (\"resize\" or \"mnist\"), transpose, invert (\"auto\", \"yes\" or \"no\")";
    if (prep < 0 || tr < 0 || image < 0 || inv < 0) return 0;
    p->preprocess = prep ? CM_PREP_MNIST : CM_PREP_RESIZE;
    p->transpose = (cm_transpose)tr;
    p->input = image ? CM_INPUT_MNIST : CM_INPUT_RESIZE;
    p->invert = (cm_invert)inv;
    *bad = "input.preprocess mnist with a size other than 28x28";
    if (p->preprocess == CM_PREP_MNIST && (p->height != 28 || p->width != 28)) return 0;
    *bad = "input.scale, mean, std (finite numbers, or one per channel; scale and std above 0)";
    return number(in, "scale", 1e-12, 1e12, 0, &p->scale) && per_channel(in, "mean", -1e12, p->channels, p->mean) &&
           per_channel(in, "std", 1e-12, p->channels, p->std);
}

static int parse_split(const cJSON *root, cm_pipeline *p, const char **bad) {
    static const char *const tests[] = {"given", "held_out"};
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "split");
    double fr = 0, seed = 0, val, limit;
    *bad = "split.test (\"given\" or \"held_out\")";
    if (!cJSON_IsObject(s) || (p->held_out = pick(s, "test", tests, 2)) < 0) return 0;
    *bad = "split.test_fraction (between 0 and 1) and seed (0 to 2147483647)";
    if (p->held_out &&
        (!number(s, "test_fraction", 1e-6, 0.999999, 0, &fr) || !number(s, "seed", 0, 2147483647.0, 1, &seed)))
        return 0;
    p->test_fraction = fr, p->seed = (uint64_t)seed;
    *bad = "split.val, limit (integers from 0)";
    if (!number(s, "val", 0, 2147483647.0, 1, &val) || !number(s, "limit", 0, 2147483647.0, 1, &limit)) return 0;
    p->val = (int32_t)val, p->limit = (int32_t)limit;
    return 1;
}

static int parse_classes(const cJSON *root, cm_pipeline *p, const char **bad) {
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "classes");
    double n;
    *bad = "classes.count (2 to 256)";
    if (!cJSON_IsObject(c) || !number(c, "count", 2, CM_PIPELINE_MAX_CLASSES, 1, &n)) return 0;
    p->classes = (int)n;
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(c, "names");
    if (!names) return 1;
    *bad = "classes.names (one string of under 32 bytes per class)";
    if (!cJSON_IsArray(names) || cJSON_GetArraySize(names) != p->classes) return 0;
    for (int i = 0; i < p->classes; i++) {
        const cJSON *s = cJSON_GetArrayItem(names, i);
        if (!cJSON_IsString(s) || strlen(s->valuestring) >= CM_PIPELINE_NAME) return 0;
        snprintf(p->names[i], CM_PIPELINE_NAME, "%s", s->valuestring);
    }
    p->named = 1;
    return 1;
}

/* Class names from the flat "class_names" key (a JSON array of classes strings), if valid. */
static void flat_names(const cm_meta *m, cm_pipeline *p) {
    const char *text = meta_get(m, "class_names");
    cJSON *arr = text ? cJSON_Parse(text) : NULL;
    int ok = cJSON_IsArray(arr) && cJSON_GetArraySize(arr) == p->classes;
    for (int c = 0; ok && c < p->classes; c++) {
        const cJSON *s = cJSON_GetArrayItem(arr, c);
        ok = cJSON_IsString(s);
        if (ok) snprintf(p->names[c], CM_PIPELINE_NAME, "%s", s->valuestring);
    }
    p->named = ok;
    cJSON_Delete(arr);
}

static cm_status parse_json(const char *text, const char *file, cm_pipeline *p) {
    cJSON *root = cJSON_Parse(text);
    const char *bad = "not a JSON object";
    double version = 0;
    int ok = cJSON_IsObject(root);
    if (ok && !(ok = number(root, "version", CM_PIPELINE_VERSION, CM_PIPELINE_VERSION, 1, &version)))
        bad = "version (this build reads 1)";
    ok = ok && parse_data(root, p, &bad) && parse_input(root, p, &bad) && parse_split(root, p, &bad) &&
         parse_classes(root, p, &bad);
    cJSON_Delete(root);
    if (!ok) return cm_fail(CM_ERR_FORMAT, "%s: metadata '%s': bad or missing %s", file, CM_PIPELINE_KEY, bad);
    return CM_OK;
}

/* A model written before the key: its input shape, input_preprocess, class_names, train.*. */
static void derive(const cm_meta *m, const cm_layout *L, cm_pipeline *p) {
    const char *path = meta_get(m, "train.data"), *prep = meta_get(m, "train.preprocess");
    const char *seed = meta_get(m, "train.seed"), *fr = meta_get(m, "train.test-fraction");
    const char *tr = meta_get(m, "train.transpose"), *val = meta_get(m, "train.val");
    snprintf(p->path, sizeof p->path, "%s", path ? path : "");
    snprintf(p->digest, sizeof p->digest, "{}");
    p->channels = L->input.c, p->height = L->input.h, p->width = L->input.w;
    p->preprocess = prep && !strcmp(prep, "mnist") ? CM_PREP_MNIST : CM_PREP_RESIZE;
    p->transpose = tr && !strcmp(tr, "yes")  ? CM_TRANSPOSE_YES
                   : tr && !strcmp(tr, "no") ? CM_TRANSPOSE_NO
                                             : CM_TRANSPOSE_AUTO;
    p->input = image_input_prep(meta_get(m, "input_preprocess"));
    p->invert = p->input == CM_INPUT_RESIZE ? CM_INVERT_NO : CM_INVERT_AUTO;
    p->scale = (double)(1.0f / 255.0f);
    for (int c = 0; c < 4; c++)
        p->mean[c] = 0.0, p->std[c] = 1.0;
    p->held_out = 1; /* a split to replay when the data has no test split of its own */
    p->test_fraction = fr && atof(fr) > 0 && atof(fr) < 1 ? atof(fr) : CM_DEFAULT_TEST_FRACTION;
    p->seed = seed && strtoll(seed, NULL, 10) >= 0 ? (uint64_t)strtoll(seed, NULL, 10) : 42;
    p->val = val ? (int32_t)atoi(val) : 0;
    p->classes = L->classes;
    flat_names(m, p);
}

cm_status pipeline_from_meta(const cm_meta *m, const char *file, const cm_layout *L, cm_pipeline *p) {
    memset(p, 0, sizeof *p);
    const char *text = meta_get(m, CM_PIPELINE_KEY);
    if (!text) {
        derive(m, L, p);
        return CM_OK;
    }
    CM_TRY(parse_json(text, file, p));
    if (p->channels != L->input.c || p->height != L->input.h || p->width != L->input.w || p->classes != L->classes)
        return cm_fail(CM_ERR_FORMAT,
                       "%s: metadata '%s' describes %dx%dx%d inputs and %d classes but the model takes %dx%dx%d and "
                       "has %d",
                       file, CM_PIPELINE_KEY, p->channels, p->height, p->width, p->classes, L->input.c, L->input.h,
                       L->input.w, L->classes);
    if (!p->named) flat_names(m, p);
    return CM_OK;
}
