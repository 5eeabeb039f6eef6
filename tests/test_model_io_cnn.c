/* test_model_io_cnn.c: model files of format 2 (any layer sequence, "modules" metadata): a CNN
 * with every layer type round trip bit for bit with its optimizer and early-stopping state, the
 * header says what the layout implies, and every malformed variant of it fails with a one-line
 * error naming the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
/* cmocka last */
#include <cmocka.h>

#include "check.h"
#include "model_io.h"
#include "model_file_util.h"

/* conv (stride 2, padding 1, odd channels; no bias: BatchNorm follows), BatchNorm2d, ReLU,
 * MaxPool2d(3, 2), Flatten, BatchNorm1d, Dropout, Linear on a 3x12x12 input:
 * 5x6x6 -> 5x2x2 -> 20 -> 3. */
#define CNN_ARCH "conv5k3s2p1-bn-relu-pool3s2-flatten-bn-drop0.25-fc3"
static const char *const cnn_modules =
    "[{\"type\":\"Conv2d\",\"in_channels\":3,\"out_channels\":5,\"kernel_size\":3,\"stride\":2,\"padding\":1,"
    "\"bias\":false},{\"type\":\"BatchNorm2d\",\"num_features\":5,\"eps\":1e-05,\"momentum\":0.1},"
    "{\"type\":\"ReLU\"},"
    "{\"type\":\"MaxPool2d\",\"kernel_size\":3,\"stride\":2},"
    "{\"type\":\"Flatten\"},"
    "{\"type\":\"BatchNorm1d\",\"num_features\":20,\"eps\":1e-05,\"momentum\":0.1},"
    "{\"type\":\"Dropout\",\"p\":0.25},"
    "{\"type\":\"Linear\",\"in_features\":20,\"out_features\":3}]";

/* The CNN with random parameters and running statistics (running_var positive). */
static void random_cnn(cm_model *m, uint64_t seed) {
    cm_layer layers[CM_MAX_LAYERS];
    int n;
    cm_layout L;
    assert_int_equal(model_parse_arch(CNN_ARCH, layers, &n), CM_OK);
    assert_int_equal(model_layout(&L, layers, n, (cm_shape){3, 12, 12, 0}, 3, CM_PARAM_ALIGN_BYTES), CM_OK);
    assert_int_equal(model_init(m, &L, seed), CM_OK);
    cm_tensor t[CM_MAX_TENSORS];
    int nt = model_tensors(&L, t);
    for (int i = 0; i < nt; i++) {
        float *x = m->params + t[i].offset;
        fill_uniform(x, t[i].numel, seed + 100 + (uint64_t)i);
        if (!strcmp(t[i].name, "running_var"))
            for (size_t k = 0; k < t[i].numel; k++)
                x[k] = 1.0f + 0.5f * x[k];
    }
}

/* The header's shape of tensor name is dims[0..rank). */
static void assert_header_shape(const cJSON *root, const char *name, int rank, const int *dims) {
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, name), "shape");
    if (!shape) fail_msg("tensor '%s' is not in the header", name);
    assert_int_equal(cJSON_GetArraySize(shape), rank);
    for (int d = 0; d < rank; d++)
        assert_int_equal((int)cJSON_GetArrayItem(shape, d)->valuedouble, dims[d]);
}

/* The header of the saved CNN: modules as the layout implies, 4-d conv weight, state groups. */
static void check_cnn_header(const char *path) {
    cJSON *root;
    uint8_t *data;
    size_t len;
    read_file_parts(path, &root, &data, &len);
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(root, "__metadata__");
    const cJSON *mods = cJSON_GetObjectItemCaseSensitive(md, "modules");
    assert_true(cJSON_IsString(mods));
    cJSON *got = cJSON_Parse(mods->valuestring), *want = cJSON_Parse(cnn_modules);
    assert_non_null(want);
    if (!cJSON_Compare(got, want, 1)) fail_msg("modules: %s\nwant:    %s", mods->valuestring, cnn_modules);
    cJSON_Delete(got), cJSON_Delete(want);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(md, "input_shape")->valuestring, "3x12x12");
    assert_header_shape(root, "layers.0.weight", 4, (int[]){5, 3, 3, 3});
    assert_header_shape(root, "optimizer.exp_avg.layers.0.weight", 4, (int[]){5, 3, 3, 3});
    assert_header_shape(root, "early_stopping.best.layers.0.weight", 4, (int[]){5, 3, 3, 3});
    assert_header_shape(root, "layers.1.running_var", 1, (int[]){5});
    assert_header_shape(root, "layers.5.running_mean", 1, (int[]){20});
    assert_header_shape(root, "early_stopping.best.layers.5.running_var", 1, (int[]){20});
    assert_header_shape(root, "layers.7.weight", 2, (int[]){3, 20});
    /* optimizer state covers trainable tensors only; layers without parameters have none */
    assert_null(cJSON_GetObjectItemCaseSensitive(root, "optimizer.exp_avg_sq.layers.1.running_mean"));
    assert_null(cJSON_GetObjectItemCaseSensitive(root, "layers.3.weight"));
    assert_null(cJSON_GetObjectItemCaseSensitive(root, "layers.0.bias"));
    /* 11 tensors of parameters and best weights, 7 of each optimizer array */
    assert_int_equal(cJSON_GetArraySize(root), 1 + 11 + 7 + 7 + 11);
    cJSON_Delete(root);
    free(data);
}

static void assert_same_layout(const cm_layout *a, const cm_layout *b) {
    char da[512], db[512];
    model_describe(a, da, sizeof da);
    model_describe(b, db, sizeof db);
    assert_string_equal(da, db);
    assert_string_equal(da, CNN_ARCH);
    assert_int_equal(a->total, b->total);
    assert_int_equal(a->trainable, b->trainable);
    assert_memory_equal(&a->input, &b->input, sizeof a->input);
    for (int i = 0; i < a->nlayers; i++) {
        const cm_layer *x = &a->layers[i], *y = &b->layers[i];
        assert_int_equal(x->type, y->type);
        assert_true(x->eps == y->eps && x->momentum == y->momentum && x->p == y->p);
        assert_memory_equal(&x->out_shape, &y->out_shape, sizeof x->out_shape);
        assert_true(x->weight == y->weight && x->bias == y->bias && x->running_mean == y->running_mean &&
                    x->running_var == y->running_var);
    }
}

static void test_cnn_round_trip(void **state) {
    cm_model m;
    random_cnn(&m, 5);
    size_t n = m.layout.total;
    float *avg = calloc(n, sizeof(float)), *sq = calloc(n, sizeof(float)), *best = calloc(n, sizeof(float));
    fill_uniform(avg, n, 51), fill_uniform(sq, n, 52), fill_uniform(best, n, 53);
    const char *names[3] = {"exp_avg", "exp_avg_sq", "best"};
    const float *arrays[3] = {avg, sq, best};
    cm_meta meta = {0};
    assert_int_equal(meta_set(&meta, "clmnist.format_version", CM_MODEL_FORMAT_VERSION), CM_OK);
    assert_int_equal(meta_set(&meta, "architecture", "sequential"), CM_OK);
    assert_int_equal(meta_set(&meta, "layers", CNN_ARCH), CM_OK);
    assert_int_equal(meta_set(&meta, "input_shape", "1x28x28"), CM_OK); /* the layout's wins */
    const char *p = tmp_path("cnn.safetensors");
    assert_int_equal(model_file_save(p, &m.layout, m.params, 3, names, arrays, &meta), CM_OK);
    check_cnn_header(p);
    cm_model_file f;
    if (model_file_load(p, CM_PARAM_ALIGN_BYTES, &f) != CM_OK) fail_msg("%s", cm_last_error());
    assert_same_layout(&f.model.layout, &m.layout);
    assert_int_equal(f.nstate, 3);
    assert_tensors_equal(&m.layout, f.model.params, m.params, 0);
    assert_tensors_equal(&m.layout, model_file_state(&f, "exp_avg"), avg, 1);
    assert_tensors_equal(&m.layout, model_file_state(&f, "exp_avg_sq"), sq, 1);
    assert_tensors_equal(&m.layout, model_file_state(&f, "best"), best, 0);
    /* a wider alignment gives other offsets, the same tensors */
    cm_model_file g;
    assert_int_equal(model_file_load(p, 4096, &g), CM_OK);
    cm_tensor ta[CM_MAX_TENSORS], tb[CM_MAX_TENSORS];
    int na = model_tensors(&f.model.layout, ta), nb = model_tensors(&g.model.layout, tb);
    assert_int_equal(na, nb);
    for (int i = 0; i < na; i++)
        assert_memory_equal(f.model.params + ta[i].offset, g.model.params + tb[i].offset, ta[i].numel * 4);
    model_file_free(&g);
    model_file_free(&f);
    free(avg), free(sq), free(best);
    model_free(&m);
}

/* A copy of the saved CNN with one edit: metadata `key` set to `value` (NULL: removed), or, when
 * `find` is set, the first `find` in it replaced by `value`; or tensor `tensor` given `shape`
 * (NULL: removed; a new name: added, its data appended). */
typedef struct {
    const char *file, *key, *find, *value, *tensor, *shape, *needle;
} edit;

static void edit_meta(cJSON *md, const edit *e) {
    const cJSON *old = cJSON_GetObjectItemCaseSensitive(md, e->key);
    if (!e->value) {
        cJSON_DeleteItemFromObjectCaseSensitive(md, e->key);
        return;
    }
    char text[4096];
    if (e->find) {
        assert_non_null(old);
        const char *at = strstr(old->valuestring, e->find);
        if (!at) fail_msg("%s: '%s' is not in %s", e->file, e->find, e->key);
        snprintf(text, sizeof text, "%.*s%s%s", (int)(at - old->valuestring), old->valuestring, e->value,
                 at + strlen(e->find));
    } else {
        snprintf(text, sizeof text, "%s", e->value);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(md, e->key);
    cJSON_AddStringToObject(md, e->key, text);
}

static const char *apply_edit(const char *base, const edit *e) {
    cJSON *root;
    uint8_t *data;
    size_t len;
    read_file_parts(base, &root, &data, &len);
    if (e->key) edit_meta(cJSON_GetObjectItemCaseSensitive(root, "__metadata__"), e);
    size_t extra = 0;
    if (e->tensor) {
        cJSON *t = cJSON_GetObjectItemCaseSensitive(root, e->tensor);
        cJSON *shape = e->shape ? cJSON_Parse(e->shape) : NULL;
        if (!e->shape) {
            cJSON_DeleteItemFromObjectCaseSensitive(root, e->tensor);
        } else if (t) {
            cJSON_ReplaceItemInObjectCaseSensitive(t, "shape", shape);
        } else { /* a new tensor after the others */
            extra = 4;
            for (int d = 0; d < cJSON_GetArraySize(shape); d++)
                extra *= (size_t)cJSON_GetArrayItem(shape, d)->valuedouble;
            t = cJSON_AddObjectToObject(root, e->tensor);
            cJSON_AddStringToObject(t, "dtype", "F32");
            cJSON_AddItemToObject(t, "shape", shape);
            cJSON *off = cJSON_AddArrayToObject(t, "data_offsets");
            cJSON_AddItemToArray(off, cJSON_CreateNumber((double)len));
            cJSON_AddItemToArray(off, cJSON_CreateNumber((double)(len + extra)));
        }
    }
    char *header = cJSON_PrintUnformatted(root);
    data = realloc(data, len + extra);
    memset(data + len, 0, extra);
    const char *p = forge_data(e->file, header, data, len + extra, -1);
    free(header), free(data);
    cJSON_Delete(root);
    return p;
}

#define CONV "\"type\":\"Conv2d\","
static const edit format_cases[] = {
    /* the layer list itself */
    {"notjson.safetensors", "modules", NULL, "[{\"type\":", NULL, NULL, "'modules' is not a JSON array"},
    {"notarray.safetensors", "modules", NULL, "{\"type\":\"ReLU\"}", NULL, NULL, "'modules' is not a JSON array"},
    {"emptyarray.safetensors", "modules", NULL, "[]", NULL, NULL, "'modules' is not a JSON array of 1 to 64"},
    {"trailing.safetensors", "modules", "}]", "}] []", NULL, NULL, "'modules' is not a JSON array"},
    {"notobject.safetensors", "modules", "{\"type\":\"ReLU\"}", "7", NULL, NULL,
     "modules[2] is not an object with a \"type\" string"},
    {"type.safetensors", "modules", "Conv2d", "Conv3d", NULL, NULL, "modules[0]: type 'Conv3d' is not supported"},
    {"kwarg.safetensors", "modules", "\"type\":\"Linear\",", "\"type\":\"Linear\",\"bias_init\":0,", NULL, NULL,
     "modules[7] (Linear): 'bias_init' is not an argument clmnist knows"},
    {"emptykey.safetensors", "modules", "\"type\":\"ReLU\"", "\"type\":\"ReLU\",\"\":1", NULL, NULL,
     "modules[2] (ReLU): '' is not an argument"},
    {"spacekey.safetensors", "modules", CONV, CONV "\"in_channels out_channels\":1,", NULL, NULL,
     "'in_channels out_channels' is not an argument"},
    {"dilation.safetensors", "modules", CONV, CONV "\"dilation\":2,", NULL, NULL,
     "modules[0] (Conv2d): 'dilation' has a value clmnist does not implement"},
    {"dilation22.safetensors", "modules", CONV, CONV "\"dilation\":[2,2],", NULL, NULL, "'dilation' has a value"},
    {"groups.safetensors", "modules", CONV, CONV "\"groups\":3,", NULL, NULL, "'groups' has a value"},
    {"nobias.safetensors", "modules", "\"type\":\"Linear\",", "\"type\":\"Linear\",\"bias\":false,", NULL, NULL,
     "modules[7] (Linear): 'bias' must be true"},
    {"convbias.safetensors", "modules", ",\"bias\":false", "", NULL, NULL, "tensor 'layers.0.bias' is missing"},
    {"convbias1.safetensors", "modules", "\"bias\":false", "\"bias\":1", NULL, NULL, "'bias' must be true or false"},
    {"reflect.safetensors", "modules", CONV, CONV "\"padding_mode\":\"reflect\",", NULL, NULL, "'padding_mode'"},
    {"ceil.safetensors", "modules", "\"stride\":2}", "\"stride\":2,\"ceil_mode\":true}", NULL, NULL,
     "modules[3] (MaxPool2d): 'ceil_mode' must be false"},
    {"poolpad.safetensors", "modules", "\"stride\":2}", "\"stride\":2,\"padding\":1}", NULL, NULL,
     "'padding' must be 0"},
    {"rectangle.safetensors", "modules", "\"kernel_size\":3,\"stride\":2,\"padding\"",
     "\"kernel_size\":[3,5],\"stride\":2,\"padding\"", NULL, NULL, "two equal ones"},
    {"fraction.safetensors", "modules", "\"out_features\":3", "\"out_features\":2.5", NULL, NULL,
     "'out_features' must be a whole number"},
    {"noout.safetensors", "modules", ",\"out_features\":3", "", NULL, NULL, "in_features/out_features"},
    {"in_channels.safetensors", "modules", "\"in_channels\":3", "\"in_channels\":2", NULL, NULL,
     "modules[0] (Conv2d) says 2 inputs, but the layers before it give 3"},
    {"num_features.safetensors", "modules", "\"num_features\":20", "\"num_features\":21", NULL, NULL,
     "modules[5] (BatchNorm1d) says 21 inputs, but the layers before it give 20"},
    {"in_features.safetensors", "modules", "\"in_features\":20", "\"in_features\":45", NULL, NULL,
     "modules[7] (Linear) says 45 inputs, but the layers before it give 20"},
    {"kernel.safetensors", "modules", "\"type\":\"MaxPool2d\",\"kernel_size\":3",
     "\"type\":\"MaxPool2d\",\"kernel_size\":7", NULL, NULL, "the kernel is larger than its input"},
    {"dropout.safetensors", "modules", "\"p\":0.25", "\"p\":1", NULL, NULL, "p must be in [0, 1)"},
    {"eps.safetensors", "modules", "\"eps\":1e-05", "\"eps\":0", NULL, NULL, "eps must be positive"},
    {"notflat.safetensors", "modules", ",{\"type\":\"Flatten\"}", "", NULL, NULL, "needs a flat input"},
    /* the other architecture metadata */
    {"noshape.safetensors", "input_shape", NULL, NULL, NULL, NULL, "metadata 'input_shape'"},
    {"badshape.safetensors", "input_shape", NULL, "3x12x0", NULL, NULL, "metadata 'input_shape'"},
    {"gray.safetensors", "input_shape", NULL, "1x12x12", NULL, NULL,
     "modules[0] (Conv2d) says 3 inputs, but the layers before it give 1"},
    {"v1modules.safetensors", "clmnist.format_version", NULL, "1", NULL, NULL,
     "format version 1 has no 'modules' metadata, but the file has it"},
    {"v2nomodules.safetensors", "modules", NULL, NULL, NULL, NULL, "format version 2 needs 'modules' metadata"},
    {"mlp.safetensors", "architecture", NULL, "mlp", NULL, NULL, "architecture 'mlp' is not supported"},
    {"layers.safetensors", "layers", NULL, "flatten-fc3", NULL, NULL,
     "metadata says layers flatten-fc3 but the modules are " CNN_ARCH},
    /* the tensors */
    {"shape4d.safetensors", NULL, NULL, NULL, "layers.0.weight", "[3,5,3,3]",
     "'layers.0.weight' must have shape [5, 3, 3, 3]"},
    {"shape2d.safetensors", NULL, NULL, NULL, "layers.0.weight", "[5,27]", "must have shape [5, 3, 3, 3]"},
    {"stateshape.safetensors", NULL, NULL, NULL, "optimizer.exp_avg.layers.0.weight", "[5,3,9]",
     "'optimizer.exp_avg.layers.0.weight' must have shape [5, 3, 3, 3]"},
    {"novar.safetensors", NULL, NULL, NULL, "layers.1.running_var", NULL, "tensor 'layers.1.running_var' is missing"},
    {"nobestvar.safetensors", NULL, NULL, NULL, "early_stopping.best.layers.5.running_var", NULL,
     "'early_stopping.best.layers.5.running_var' is missing"},
    {"extra.safetensors", NULL, NULL, NULL, "layers.2.weight", "[4]", "unexpected tensor 'layers.2.weight'"},
    {"extrabias.safetensors", NULL, NULL, NULL, "layers.0.bias", "[5]", "unexpected tensor 'layers.0.bias'"},
    {"extrastate.safetensors", NULL, NULL, NULL, "optimizer.exp_avg.layers.1.running_mean", "[5]",
     "unexpected tensor 'optimizer.exp_avg.layers.1.running_mean'"},
};

static void test_malformed_format2(void **state) {
    cm_model m;
    random_cnn(&m, 8);
    const char *names[2] = {"exp_avg", "best"};
    const float *arrays[2] = {m.params, m.params};
    cm_meta meta = {0};
    assert_int_equal(meta_set(&meta, "clmnist.format_version", CM_MODEL_FORMAT_VERSION), CM_OK);
    char base[512]; /* tmp_path's buffers are reused */
    snprintf(base, sizeof base, "%s", tmp_path("base.safetensors"));
    assert_int_equal(model_file_save(base, &m.layout, m.params, 2, names, arrays, &meta), CM_OK);
    model_free(&m);
    /* the editing itself keeps a file loadable: each case below fails for its own edit */
    static const edit same = {"same.safetensors", "note", NULL, "x", NULL, NULL, NULL};
    static const edit pairs = {
        "pairs.safetensors", "modules", CONV, CONV "\"dilation\":[1,1],\"groups\":1,", NULL, NULL, NULL};
    const edit *fine[2] = {&same, &pairs};
    for (int i = 0; i < 2; i++) {
        cm_model_file f;
        if (model_file_load(apply_edit(base, fine[i]), CM_PARAM_ALIGN_BYTES, &f) != CM_OK)
            fail_msg("%s", cm_last_error());
        model_file_free(&f);
    }
    for (size_t i = 0; i < sizeof format_cases / sizeof format_cases[0]; i++)
        expect_format_error(apply_edit(base, &format_cases[i]), format_cases[i].needle);
}

/* A description (the "layers" metadata, and the --arch that --init takes from a file) parses back:
 * Dropout's p is written without an exponent ("1e-05" split at its '-'; found by fuzz_arch). */
static void test_dropout_description(void **state) {
    static const char *const cases[][2] = {{"flatten-fc10-drop0.00001", "flatten-fc10-drop0.00001"},
                                           {"flatten-drop0.30-fc10", "flatten-drop0.3-fc10"},
                                           {"flatten-drop0.123456789-fc10", "flatten-drop0.12345679-fc10"},
                                           {"flatten-drop0-fc10", "flatten-drop0-fc10"},
                                           {"flatten-drop0.0000000000001-fc10", "flatten-drop0-fc10"},
                                           {"conv4k3-relu-gap-fc10", "conv4k3-relu-gap-fc10"},
                                           {"conv4k3-gap-flatten-fc10", "conv4k3-gap-flatten-fc10"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cm_layer layers[CM_MAX_LAYERS];
        int n;
        cm_layout L;
        char text[CM_ARCH_TEXT];
        assert_int_equal(model_parse_arch(cases[i][0], layers, &n), CM_OK);
        assert_int_equal(model_layout(&L, layers, n, (cm_shape){1, 28, 28, 0}, 10, CM_PARAM_ALIGN_BYTES), CM_OK);
        model_describe(&L, text, sizeof text);
        assert_string_equal(text, cases[i][1]);
        assert_int_equal(model_parse_arch(text, layers, &n), CM_OK);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cnn_round_trip),
        cmocka_unit_test(test_dropout_description),
        cmocka_unit_test(test_malformed_format2),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
