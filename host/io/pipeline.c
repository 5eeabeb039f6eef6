/* pipeline.c: the input pipeline of a model (pipeline.h): described from a run, written as the
 * "pipeline" metadata value (JSON) with the flat keys older readers use, and read back. */
#include "pipeline.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"

static const char *const transpose_names[] = {"auto", "yes", "no"};
static const char *const invert_names[] = {"auto", "yes", "no"};

static const char *prep_name(cm_preprocess p) {
    return p == CM_PREP_MNIST ? "mnist" : "resize";
}

/* {"FILE": "sha256"} of the training files: IDX's two, or the training CSV. */
static void describe_digest(const char *format, const char *path, char *out, size_t size) {
    char files[2][4096];
    int n = 0;
    if (!strcmp(format, "idx")) {
        n = dataset_find_file(path, "train-images-idx3-ubyte", files[0], sizeof files[0]) == 0 &&
                    dataset_find_file(path, "train-labels-idx1-ubyte", files[1], sizeof files[1]) == 0
                ? 2
                : 0;
    } else if (!strcmp(format, "cifar")) {
        snprintf(files[0], sizeof files[0], "%s/data_batch_1.bin", path);
        n = 1;
    } else if (!strcmp(format, "csv")) {
        size_t len = strlen(path);
        snprintf(files[0], sizeof files[0], len > 4 && !strcmp(path + len - 4, ".csv") ? "%s" : "%s/train.csv", path);
        n = 1;
    }
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; o && i < n; i++) {
        char hex[65];
        const char *base = strrchr(files[i], '/');
        if (digest_file_sha256(files[i], hex) == CM_OK) cJSON_AddStringToObject(o, base ? base + 1 : files[i], hex);
    }
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    snprintf(out, size, "%s", text && strlen(text) < size ? text : "{}");
    free(text);
    cJSON_Delete(o);
}

cm_status pipeline_describe(const char *path, const cm_data_options *o, int32_t limit, const cm_dataset *ds,
                            cm_pipeline *p) {
    memset(p, 0, sizeof *p);
    const char *kind = dataset_kind(path);
    snprintf(p->format, sizeof p->format, "%s", kind ? kind : "");
    if (strlen(path) >= sizeof p->path)
        return cm_fail(CM_ERR_USAGE, "--data %.64s...: path longer than %zu bytes", path, sizeof p->path - 1);
    snprintf(p->path, sizeof p->path, "%s", path);
    describe_digest(p->format, path, p->digest, sizeof p->digest);
    p->channels = split_channels(&ds->train), p->height = ds->train.rows, p->width = ds->train.cols;
    p->preprocess = (cm_preprocess)ds->origin.preprocess;
    p->transpose = o->transpose;
    p->input = (ds->origin.from_images || p->channels > 1) && p->preprocess == CM_PREP_RESIZE ? CM_INPUT_RESIZE
                                                                                              : CM_INPUT_MNIST;
    p->invert = p->input == CM_INPUT_RESIZE ? CM_INVERT_NO : CM_INVERT_AUTO;
    p->scale = (double)(1.0f / 255.0f);
    int nc;
    dataset_channel_stats(&ds->train, &nc, p->mean, p->std);
    p->held_out = ds->origin.held_out;
    p->test_fraction = p->held_out ? ds->origin.test_fraction : 0.0;
    p->seed = p->held_out ? ds->origin.seed : 0;
    p->val = o->val, p->limit = limit;
    p->classes = ds->classes;
    if (ds->classes > CM_PIPELINE_MAX_CLASSES)
        return cm_fail(CM_ERR_FORMAT, "%s: %d classes, more than %d", path, ds->classes, CM_PIPELINE_MAX_CLASSES);
    const char *const *names =
        ds->class_names ? (const char *const *)ds->class_names : dataset_known_class_names(ds->name, ds->classes);
    p->named = names != NULL;
    for (int c = 0; names && c < ds->classes; c++)
        snprintf(p->names[c], CM_PIPELINE_NAME, "%s", names[c]);
    return CM_OK;
}

static void add_split(cJSON *root, const cm_pipeline *p) {
    cJSON *s = cJSON_AddObjectToObject(root, "split");
    cJSON_AddStringToObject(s, "test", p->held_out ? "held_out" : "given");
    if (p->held_out) {
        cJSON_AddNumberToObject(s, "test_fraction", p->test_fraction);
        cJSON_AddNumberToObject(s, "seed", (double)p->seed);
    }
    cJSON_AddNumberToObject(s, "val", p->val);
    cJSON_AddNumberToObject(s, "limit", p->limit);
}

static cJSON *names_json(const cm_pipeline *p) {
    cJSON *arr = cJSON_CreateArray();
    for (int c = 0; arr && c < p->classes; c++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(p->names[c]));
    return arr;
}

/* with_names, with_digest: whether those (long) members go in. */
static char *to_json(const cm_pipeline *p, int with_names, int with_digest) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    cJSON_AddNumberToObject(root, "version", CM_PIPELINE_VERSION);
    cJSON *data = cJSON_AddObjectToObject(root, "data");
    cJSON_AddStringToObject(data, "format", p->format);
    cJSON_AddStringToObject(data, "path", p->path);
    cJSON *digest = with_digest ? cJSON_Parse(p->digest) : NULL;
    cJSON_AddItemToObject(data, "digest", digest ? digest : cJSON_CreateObject());
    cJSON *in = cJSON_AddObjectToObject(root, "input");
    cJSON_AddNumberToObject(in, "channels", p->channels);
    cJSON_AddNumberToObject(in, "height", p->height);
    cJSON_AddNumberToObject(in, "width", p->width);
    cJSON_AddStringToObject(in, "preprocess", prep_name(p->preprocess));
    cJSON_AddStringToObject(in, "transpose", transpose_names[p->transpose]);
    cJSON_AddStringToObject(in, "image", p->input == CM_INPUT_RESIZE ? "resize" : "mnist");
    cJSON_AddStringToObject(in, "invert", invert_names[p->invert]);
    cJSON_AddNumberToObject(in, "scale", p->scale);
    if (p->channels == 1) { /* one number, as before colour */
        cJSON_AddNumberToObject(in, "mean", p->mean[0]);
        cJSON_AddNumberToObject(in, "std", p->std[0]);
    } else {
        cJSON *m = cJSON_AddArrayToObject(in, "mean"), *s = cJSON_AddArrayToObject(in, "std");
        for (int c = 0; c < p->channels && c < 4; c++) {
            cJSON_AddItemToArray(m, cJSON_CreateNumber((double)(float)p->mean[c]));
            cJSON_AddItemToArray(s, cJSON_CreateNumber((double)(float)p->std[c]));
        }
    }
    add_split(root, p);
    cJSON *cls = cJSON_AddObjectToObject(root, "classes");
    cJSON_AddNumberToObject(cls, "count", p->classes);
    if (p->named && with_names) cJSON_AddItemToObject(cls, "names", names_json(p));
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}

char *pipeline_to_json(const cm_pipeline *p) {
    return to_json(p, 1, 1);
}

cm_status pipeline_to_meta(const cm_pipeline *p, cm_meta *m) {
    /* the value must fit a metadata entry: long class lists stay in "class_names" alone */
    char *text = to_json(p, 1, 1);
    for (int drop = 1; text && strlen(text) >= CM_META_VALUE && drop <= 2; drop++) {
        free(text);
        text = to_json(p, 0, drop < 2);
    }
    if (!text) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    cm_status st = meta_set(m, CM_PIPELINE_KEY, "%s", text);
    free(text);
    CM_TRY(st);
    int resized = p->input == CM_INPUT_RESIZE;
    /* x = (pixel * input_scale - input_mean) / input_std, pixel the uint8 value; NCHW float32 */
    CM_TRY(meta_set(m, "input_scale", "%.9g", p->scale));
    /* per channel (comma-separated) for colour models */
    char mean[128] = "", std[128] = "";
    for (int c = 0, n1 = 0, n2 = 0; c < p->channels && c < 4; c++) {
        n1 += snprintf(mean + n1, sizeof mean - (size_t)n1, "%s%.9g", c ? "," : "", (double)(float)p->mean[c]);
        n2 += snprintf(std + n2, sizeof std - (size_t)n2, "%s%.9g", c ? "," : "", (double)(float)p->std[c]);
    }
    CM_TRY(meta_set(m, "input_mean", "%s", mean));
    CM_TRY(meta_set(m, "input_std", "%s", std));
    /* how predict and serve bring a user's image to this input (image.h) */
    CM_TRY(meta_set(m, "input_preprocess", "%s", resized ? "resize" : "mnist"));
    CM_TRY(meta_set(m, "input_scaling", "pixels / 255 (uint8 to [0, 1])%s",
                    resized ? "; grayscale images resized as they are" : "; white ink on black, as in MNIST"));
    if (!p->named) return CM_OK;
    cJSON *arr = names_json(p);
    char *names = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    st = names ? meta_set(m, "class_names", "%s", names) : cm_fail(CM_ERR_MEMORY, "out of host memory");
    free(names);
    return st;
}
