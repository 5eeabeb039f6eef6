/* test_pipeline.c: a model's input pipeline (host/io/pipeline.h) through its metadata: every
 * member survives pipeline_to_meta and pipeline_from_meta; the flat keys agree with it; a model
 * without the key gets one from its older keys; each garbled member is refused with one line
 * naming the file and the member; a record that disagrees with the layout is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pipeline.h"

static void fill(cm_pipeline *out) {
    cm_pipeline p;
    memset(&p, 0, sizeof p);
    snprintf(p.format, sizeof p.format, "folder");
    snprintf(p.path, sizeof p.path, "photos/train");
    snprintf(p.digest, sizeof p.digest, "{}");
    p.channels = 1, p.height = 20, p.width = 20;
    p.preprocess = CM_PREP_RESIZE, p.transpose = CM_TRANSPOSE_NO;
    p.input = CM_INPUT_RESIZE, p.invert = CM_INVERT_NO;
    p.scale = (double)(1.0f / 255.0f);
    for (int c = 0; c < 4; c++) /* one number in the JSON: every channel's */
        p.mean[c] = 0.5, p.std[c] = 2.0;
    p.held_out = 1, p.test_fraction = 0.25, p.seed = 7, p.val = 3, p.limit = 100;
    p.classes = 3, p.named = 1;
    snprintf(p.names[0], 32, "cat"), snprintf(p.names[1], 32, "dog"), snprintf(p.names[2], 32, "emu");
    memcpy(out, &p, sizeof p);
}

static cm_layout layout_of(int h, int w, int classes) {
    cm_layout L;
    memset(&L, 0, sizeof L);
    L.input = (cm_shape){1, h, w, 0};
    L.classes = classes;
    return L;
}

static void test_round_trip(void **state) {
    (void)state;
    static cm_pipeline p, q;
    fill(&p);
    cm_meta *m = calloc(1, sizeof *m);
    assert_int_equal(pipeline_to_meta(&p, m), CM_OK);
    cm_layout L = layout_of(20, 20, 3);
    assert_int_equal(pipeline_from_meta(m, "m.safetensors", &L, &q), CM_OK);
    assert_memory_equal(&p, &q, sizeof p);
    assert_string_equal(meta_get(m, "input_preprocess"), "resize");
    assert_string_equal(meta_get(m, "input_mean"), "0.5");
    assert_string_equal(meta_get(m, "class_names"), "[\"cat\",\"dog\",\"emu\"]");
    free(m);
}

static void test_legacy(void **state) {
    (void)state;
    cm_meta *m = calloc(1, sizeof *m);
    meta_set(m, "class_names", "[\"a\",\"b\"]");
    meta_set(m, "train.seed", "9");
    meta_set(m, "train.data", "old/data");
    cm_layout L = layout_of(28, 28, 2);
    cm_pipeline q;
    assert_int_equal(pipeline_from_meta(m, "old.safetensors", &L, &q), CM_OK);
    assert_int_equal(q.input, CM_INPUT_MNIST); /* no input_preprocess: as predict always did */
    assert_int_equal(q.invert, CM_INVERT_AUTO);
    assert_int_equal(q.seed, 9);
    assert_string_equal(q.path, "old/data");
    assert_int_equal(q.height, 28);
    assert_true(q.named);
    assert_string_equal(q.names[1], "b");
    free(m);
}

/* The sample's JSON with `from` replaced by `to` must be refused naming `want`. */
static void refused(const char *from, const char *to, const char *want) {
    static cm_pipeline p, q;
    fill(&p);
    char *text = pipeline_to_json(&p), buf[2048];
    char *at = strstr(text, from);
    assert_non_null(at);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    free(text);
    cm_meta *m = calloc(1, sizeof *m);
    meta_set(m, CM_PIPELINE_KEY, "%s", buf);
    cm_layout L = layout_of(20, 20, 3);
    assert_int_equal(pipeline_from_meta(m, "forged.safetensors", &L, &q), CM_ERR_FORMAT);
    assert_non_null(strstr(cm_last_error(), "forged.safetensors: metadata 'pipeline'"));
    assert_non_null(strstr(cm_last_error(), want));
    assert_null(strchr(cm_last_error(), '\n'));
    free(m);
}

static void test_forged(void **state) {
    (void)state;
    refused("{\"version\":1", "[", "not a JSON object");
    refused("\"version\":1", "\"version\":2", "version");
    refused("\"format\":\"folder\"", "\"format\":\"zip\"", "data.format");
    refused("\"digest\":{}", "\"digest\":{\"f\":\"xyz\"}", "data.digest");
    refused("\"height\":20", "\"height\":0", "input.channels");
    refused("\"image\":\"resize\"", "\"image\":7", "input.preprocess, image");
    refused("\"std\":2", "\"std\":0", "input.scale");
    refused("\"test\":\"held_out\"", "\"test\":\"maybe\"", "split.test");
    refused("\"seed\":7", "\"seed\":7.5", "split.test_fraction");
    refused("\"val\":3", "\"val\":-3", "split.val");
    refused("\"count\":3", "\"count\":1", "classes.count");
    refused("\"dog\",", "", "classes.names");
    refused("\"height\":20", "\"height\":24", "describes 1x24x20 inputs"); /* not the layout's */
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_round_trip), cmocka_unit_test(test_legacy),
                                       cmocka_unit_test(test_forged)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
