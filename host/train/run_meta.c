/* run_meta.c: what a run writes into its model file's metadata (run_model_meta) and reads back
 * from it: class names, the training files' digests. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_options.h"
#include "clmnist_version.h"
#include "digest.h"
#include "pipeline.h"

const char *const *run_known_class_names(const char *name, int classes) {
    return dataset_known_class_names(name, classes);
}

const char *const *run_meta_class_names(const cm_meta *meta, int classes, char (*store)[32], const char **names) {
    const char *text = meta_get(meta, "class_names");
    if (!text) return NULL;
    cJSON *arr = cJSON_Parse(text);
    int ok = cJSON_IsArray(arr) && cJSON_GetArraySize(arr) == classes;
    for (int c = 0; ok && c < classes; c++) {
        const cJSON *s = cJSON_GetArrayItem(arr, c);
        ok = cJSON_IsString(s);
        if (ok) {
            snprintf(store[c], 32, "%s", s->valuestring);
            names[c] = store[c];
        }
    }
    cJSON_Delete(arr);
    return ok ? names : NULL;
}

char *run_dataset_digests(const char *data_dir) {
    cJSON *sha = cJSON_CreateObject();
    const char *stems[2] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"};
    for (int i = 0; sha && i < 2; i++) {
        char path[4096], hex[65];
        if (dataset_find_file(data_dir, stems[i], path, sizeof path) == 0 && digest_file_sha256(path, hex) == CM_OK) {
            const char *base = strrchr(path, '/');
            cJSON_AddStringToObject(sha, base ? base + 1 : path, hex);
        }
    }
    char *text = sha ? cJSON_PrintUnformatted(sha) : NULL;
    cJSON_Delete(sha);
    return text;
}

cm_status run_model_meta(const cm_train_args *a, const cm_dataset *ds, const cm_backend *b, cm_meta *m) {
    memset(m, 0, sizeof *m);
    char arch[CM_ARCH_TEXT];
    cm_layout L;
    CM_TRY(run_layout(a, ds, CM_PARAM_ALIGN_BYTES, &L));
    model_describe(&L, arch, sizeof arch);
    CM_TRY(meta_set(m, "format", "pt"));
    CM_TRY(meta_set(m, "clmnist.format_version", "%s", CM_MODEL_FORMAT_VERSION));
    CM_TRY(meta_set(m, "clmnist.version", "%s", CLMNIST_VERSION));
    CM_TRY(meta_set(m, "architecture", "sequential")); /* the layers: "modules", written with the tensors */
    CM_TRY(meta_set(m, "layers", "%s", arch));
    CM_TRY(meta_set(m, "input_size", "%d", ds->train.dim));
    CM_TRY(meta_set(m, "input_shape", "1x%dx%d", ds->train.rows, ds->train.cols));
    CM_TRY(meta_set(m, "classes", "%d", ds->classes));
    /* how the data became the network's input; eval, predict and serve build theirs from it */
    cm_data_options read = a->data;
    read.seed = a->seed;
    read.val = a->val;
    cm_pipeline *p = malloc(sizeof *p);
    cm_status st =
        p ? pipeline_describe(a->data_dir, &read, a->limit, ds, p) : cm_fail(CM_ERR_MEMORY, "out of host memory");
    if (st == CM_OK) st = pipeline_to_meta(p, m);
    free(p);
    CM_TRY(st);
    CM_TRY(meta_set(m, "dataset", "%s", ds->name));
    char *text = run_dataset_digests(a->data_dir);
    if (text) CM_TRY(meta_set(m, "dataset_sha256", "%s", text));
    free(text);
    for (const cm_option *o = cm_options; o->name; o++) {
        if (!(o->flags & CM_OPT_SAVED)) continue;
        char key[64], value[256];
        snprintf(key, sizeof key, "train.%s", o->name);
        opt_format(a, o, value, sizeof value);
        CM_TRY(meta_set(m, key, "%s", value));
    }
    CM_TRY(meta_set(m, "backend", "%s", b->kind));
    CM_TRY(meta_set(m, "device", "%s", b->device_name));
    return CM_OK;
}
