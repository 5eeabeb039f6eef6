/* dataset_origin.c: source.json, the record `clmnist import` leaves beside the IDX files it writes:
 * whether the images were decoded from image files and how (resize or mnist), and whether the test
 * split was held out (fraction, seed). Loading the IDX files reads it back into ds->origin, so a
 * model trained on the import records the same input pipeline as one trained on the source. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset_source.h"

#define SOURCE_MAX_BYTES 4096

cm_status dataset_write_source(const char *dir, const cm_dataset *ds) {
    const cm_data_origin *o = &ds->origin;
    char path[4096];
    snprintf(path, sizeof path, "%s/source.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) return cm_fail(CM_ERR_IO, "%s: cannot create", path);
    fprintf(f, "{\"from_images\": %s, \"preprocess\": \"%s\", \"held_out\": %s", o->from_images ? "true" : "false",
            o->preprocess == CM_PREP_MNIST ? "mnist" : "resize", o->held_out ? "true" : "false");
    if (o->held_out)
        fprintf(f, ", \"test_fraction\": %.17g, \"seed\": %llu", o->test_fraction, (unsigned long long)o->seed);
    fprintf(f, "}\n");
    if (fclose(f) != 0) return cm_fail(CM_ERR_IO, "%s: write failed (disk full?)", path);
    return CM_OK;
}

static int get_bool(const cJSON *root, const char *key, int *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!cJSON_IsBool(v)) return 0;
    *out = cJSON_IsTrue(v);
    return 1;
}

/* The fields of a parsed source.json into o; the first one at fault in *bad. */
static int parse_source(const cJSON *root, cm_data_origin *o, const char **bad) {
    const cJSON *prep = cJSON_GetObjectItemCaseSensitive(root, "preprocess");
    *bad = "from_images (true or false)";
    if (!get_bool(root, "from_images", &o->from_images)) return 0;
    *bad = "preprocess (\"resize\" or \"mnist\")";
    if (!cJSON_IsString(prep) || (strcmp(prep->valuestring, "resize") && strcmp(prep->valuestring, "mnist"))) return 0;
    o->preprocess = !strcmp(prep->valuestring, "mnist") ? CM_PREP_MNIST : CM_PREP_RESIZE;
    *bad = "held_out (true or false)";
    if (!get_bool(root, "held_out", &o->held_out)) return 0;
    if (!o->held_out) return 1;
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(root, "test_fraction");
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(root, "seed");
    *bad = "test_fraction (a number between 0 and 1)";
    if (!cJSON_IsNumber(fr) || !(fr->valuedouble > 0.0 && fr->valuedouble < 1.0)) return 0;
    o->test_fraction = fr->valuedouble;
    *bad = "seed (an integer from 0 to 2147483647)";
    if (!cJSON_IsNumber(seed) || seed->valuedouble < 0 || seed->valuedouble > 2147483647.0 ||
        seed->valuedouble != floor(seed->valuedouble))
        return 0;
    o->seed = (uint64_t)seed->valuedouble;
    return 1;
}

cm_status dataset_read_source(const char *dir, cm_data_origin *o) {
    char path[4096], text[SOURCE_MAX_BYTES + 1];
    snprintf(path, sizeof path, "%s/source.json", dir);
    FILE *f = fopen(path, "rb");
    if (!f) return CM_OK;
    size_t n = fread(text, 1, SOURCE_MAX_BYTES + 1, f);
    fclose(f);
    if (n > SOURCE_MAX_BYTES) return cm_fail(CM_ERR_FORMAT, "%s: larger than %d bytes", path, SOURCE_MAX_BYTES);
    text[n] = '\0';
    cJSON *root = cJSON_Parse(text);
    const char *bad = "not a JSON object";
    cm_data_origin got = {0};
    int ok = cJSON_IsObject(root) && parse_source(root, &got, &bad);
    cJSON_Delete(root);
    if (!ok) return cm_fail(CM_ERR_FORMAT, "%s: bad or missing %s (written by 'clmnist import')", path, bad);
    got.imported = 1;
    *o = got;
    return CM_OK;
}
