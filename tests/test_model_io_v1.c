/* test_model_io_v1.c: a model file of format 1 written by the previous release
 * (tests/fixtures/mlp_v1.safetensors, a 784-16-10 MLP; see tests/fixtures/README.md) loads with
 * this one: the layout the loader builds for it, the parameters against the file's own bytes,
 * inference on the host backend against a float64 MLP forward pass written here from the raw
 * tensors, and saving it again in format 2. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
/* cmocka last */
#include <cmocka.h>

#include "backend.h"
#include "infer.h"
#include "model_io.h"
#include "rng.h"
#include "model_file_util.h"
#include "synth.h"

#define FIXTURE CLMNIST_TEST_FIXTURES "/mlp_v1.safetensors"
enum { IN = 784, HID = 16, OUT = 10 };

/* The fixture's tensors, straight from the file: w0 (16, 784), b0 (16), w1 (10, 16), b1 (10). */
typedef struct {
    float w0[HID * IN], b0[HID], w1[OUT * HID], b1[OUT];
} raw_mlp;

static void read_raw(raw_mlp *r) {
    cJSON *root;
    uint8_t *data;
    size_t len;
    read_file_parts(FIXTURE, &root, &data, &len);
    static const char *const names[4] = {"layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"};
    static const int dims[4][2] = {{HID, IN}, {HID, 0}, {OUT, HID}, {OUT, 0}};
    float *dst[4] = {r->w0, r->b0, r->w1, r->b1};
    assert_int_equal(cJSON_GetArraySize(root), 1 + 4); /* __metadata__ and four tensors */
    for (int t = 0; t < 4; t++) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, names[t]);
        const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
        const cJSON *offs = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(e, "dtype")->valuestring, "F32");
        int rank = dims[t][1] ? 2 : 1;
        assert_int_equal(cJSON_GetArraySize(shape), rank);
        size_t n = 1;
        for (int d = 0; d < rank; d++) {
            assert_int_equal((int)cJSON_GetArrayItem(shape, d)->valuedouble, dims[t][d]);
            n *= (size_t)dims[t][d];
        }
        size_t b = (size_t)cJSON_GetArrayItem(offs, 0)->valuedouble,
               en = (size_t)cJSON_GetArrayItem(offs, 1)->valuedouble;
        assert_true(en - b == n * 4 && en <= len);
        memcpy(dst[t], data + b, n * 4);
    }
    cJSON_Delete(root);
    free(data);
}

/* The logits of one image (pixels / 255, as the previous release scaled them) in float64. */
static void ref_forward(const raw_mlp *r, const uint8_t *img, double *logits) {
    double h[HID];
    for (int j = 0; j < HID; j++) {
        double s = r->b0[j];
        for (int i = 0; i < IN; i++)
            s += (double)r->w0[j * IN + i] * (img[i] / 255.0);
        h[j] = s > 0.0 ? s : 0.0;
    }
    for (int k = 0; k < OUT; k++) {
        double s = r->b1[k];
        for (int j = 0; j < HID; j++)
            s += (double)r->w1[k * HID + j] * h[j];
        logits[k] = s;
    }
}

static void test_fixture_layout_and_params(void **state) {
    cm_model_file f;
    if (model_file_load(FIXTURE, CM_PARAM_ALIGN_BYTES, &f) != CM_OK) fail_msg("%s", cm_last_error());
    assert_string_equal(meta_get(&f.meta, "clmnist.format_version"), "1");
    assert_string_equal(meta_get(&f.meta, "layers"), "784-16-10");
    assert_int_equal(f.nstate, 0);
    const cm_layout *L = &f.model.layout;
    char arch[256];
    model_describe(L, arch, sizeof arch);
    assert_string_equal(arch, "flatten-fc16-relu-fc10");
    const int types[4] = {CM_LAYER_FLATTEN, CM_LAYER_LINEAR, CM_LAYER_RELU, CM_LAYER_LINEAR};
    assert_int_equal(L->nlayers, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(L->layers[i].type, types[i]);
    cm_shape input = {1, 28, 28, 0}; /* input_shape "28x28": one channel */
    assert_memory_equal(&L->input, &input, sizeof input);
    assert_int_equal(shape_numel(L->layers[1].in), IN);
    assert_int_equal(L->layers[1].out, HID);
    assert_int_equal(shape_numel(L->layers[3].in), HID);
    assert_int_equal(L->layers[3].out, OUT);
    assert_int_equal(L->classes, OUT);
    assert_int_equal(L->count, IN * HID + HID + HID * OUT + OUT);
    raw_mlp *r = malloc(sizeof *r);
    read_raw(r);
    assert_memory_equal(f.model.params + L->layers[1].weight, r->w0, sizeof r->w0);
    assert_memory_equal(f.model.params + L->layers[1].bias, r->b0, sizeof r->b0);
    assert_memory_equal(f.model.params + L->layers[3].weight, r->w1, sizeof r->w1);
    assert_memory_equal(f.model.params + L->layers[3].bias, r->b1, sizeof r->b1);
    free(r);
    model_file_free(&f);
}

/* n images: the first MNIST test digits when the data is there, and random ones either way. */
static cm_split some_images(int n, cm_dataset *ds, int *have_mnist) {
    cm_split s = {.count = n, .rows = 28, .cols = 28, .dim = IN};
    s.images = malloc((size_t)n * IN);
    s.labels = calloc((size_t)n, 1);
    *have_mnist = mnist_subset(ds, 1, n / 2) == 0;
    int first = *have_mnist ? n / 2 : 0;
    if (*have_mnist) memcpy(s.images, ds->test.images, (size_t)first * IN);
    cm_rng rng;
    rng_seed(&rng, 7, 1);
    for (size_t i = (size_t)first * IN; i < (size_t)n * IN; i++)
        s.images[i] = (uint8_t)(rng_next_u32(&rng) >> 24);
    return s;
}

/* The host backend's softmax equals the float64 one, and the logits (through log-ratios of the
 * probabilities) and the predicted classes agree. */
static void test_fixture_inference_matches_float64(void **state) {
    cm_model_file f;
    assert_int_equal(model_file_load(FIXTURE, CM_PARAM_ALIGN_BYTES, &f), CM_OK);
    raw_mlp *r = malloc(sizeof *r);
    read_raw(r);
    enum { N = 24 };
    cm_dataset ds = {0};
    int have_mnist;
    cm_split s = some_images(N, &ds, &have_mnist);
    cm_backend *b;
    cm_backend_options bo = {.threads = 2};
    assert_int_equal(backend_create("host", &bo, &b), CM_OK);
    cm_infer *inf;
    assert_int_equal(infer_create(b, &f.model, 8, &inf), CM_OK);
    int32_t pred[N];
    float probs[N * OUT];
    assert_int_equal(infer_run(inf, &s, pred, probs, NULL), CM_OK);
    int correct = 0;
    for (int e = 0; e < N; e++) {
        double z[OUT], mx = -INFINITY, sum = 0.0;
        ref_forward(r, s.images + (size_t)e * IN, z);
        int arg = 0;
        for (int k = 0; k < OUT; k++) {
            if (z[k] > z[arg]) arg = k;
            mx = fmax(mx, z[k]);
        }
        for (int k = 0; k < OUT; k++)
            sum += exp(z[k] - mx);
        for (int k = 0; k < OUT; k++) {
            double p = exp(z[k] - mx) / sum, got = probs[e * OUT + k];
            if (fabs(got - p) > 1e-5) fail_msg("example %d class %d: probability %.8g, float64 %.8g", e, k, got, p);
            if (p > 1e-20 && fabs(log(got / probs[e * OUT + arg]) - (z[k] - z[arg])) > 1e-3 * (1 + fabs(z[k] - z[arg])))
                fail_msg("example %d: logit %d - logit %d is %.6g in float64", e, k, arg, z[k] - z[arg]);
        }
        assert_int_equal(pred[e], arg);
        if (have_mnist && e < N / 2) correct += arg == ds.test.labels[e];
    }
    if (have_mnist) assert_true(correct >= N / 2 - 2); /* a 93% model on the first test digits */
    infer_destroy(inf);
    backend_destroy(b);
    free(s.images), free(s.labels), free(r);
    if (have_mnist) dataset_free(&ds);
    model_file_free(&f);
}

/* On the whole MNIST test set it scores what the previous release recorded in the file. */
static void test_fixture_accuracy_as_recorded(void **state) {
    cm_dataset ds;
    if (mnist_subset(&ds, 1, 10000) != 0) skip();
    cm_model_file f;
    assert_int_equal(model_file_load(FIXTURE, CM_PARAM_ALIGN_BYTES, &f), CM_OK);
    cm_backend *b;
    cm_backend_options bo = {.threads = 2};
    assert_int_equal(backend_create("host", &bo, &b), CM_OK);
    cm_infer *inf;
    assert_int_equal(infer_create(b, &f.model, 500, &inf), CM_OK);
    cm_stats st;
    assert_int_equal(infer_run(inf, &ds.test, NULL, NULL, &st), CM_OK);
    double recorded = atof(meta_get(&f.meta, "test_accuracy")); /* 0.929700: 9297 of 10000 */
    /* float32 sums in another order may flip a borderline digit or two */
    assert_true(fabs(st.accuracy - recorded) * (double)ds.test.count <= 2.0);
    assert_float_equal(st.loss, atof(meta_get(&f.meta, "test_loss")), 1e-4);
    infer_destroy(inf);
    backend_destroy(b);
    model_file_free(&f);
    dataset_free(&ds);
}

/* Saved again, it is a format-2 file of the same network (the Linear layers now at module
 * indices 1 and 3, after the Flatten) with the same parameters. */
static void test_fixture_resaved_as_format2(void **state) {
    cm_model_file f, g;
    assert_int_equal(model_file_load(FIXTURE, CM_PARAM_ALIGN_BYTES, &f), CM_OK);
    cm_meta meta = {0};
    assert_int_equal(meta_set(&meta, "clmnist.format_version", CM_MODEL_FORMAT_VERSION), CM_OK);
    const char *p = tmp_path("resaved.safetensors");
    assert_int_equal(model_file_save(p, &f.model.layout, f.model.params, 0, NULL, NULL, &meta), CM_OK);
    if (model_file_load(p, CM_PARAM_ALIGN_BYTES, &g) != CM_OK) fail_msg("%s", cm_last_error());
    assert_int_equal(g.model.layout.total, f.model.layout.total);
    assert_tensors_equal(&f.model.layout, g.model.params, f.model.params, 0);
    cJSON *root;
    uint8_t *data;
    size_t len;
    read_file_parts(p, &root, &data, &len);
    assert_non_null(cJSON_GetObjectItemCaseSensitive(root, "layers.1.weight"));
    assert_non_null(cJSON_GetObjectItemCaseSensitive(root, "layers.3.bias"));
    assert_null(cJSON_GetObjectItemCaseSensitive(root, "layers.0.weight"));
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(root, "__metadata__");
    cJSON *mods = cJSON_Parse(cJSON_GetObjectItemCaseSensitive(md, "modules")->valuestring);
    cJSON *want = cJSON_Parse("[{\"type\":\"Flatten\"},{\"type\":\"Linear\",\"in_features\":784,\"out_features\":16},"
                              "{\"type\":\"ReLU\"},{\"type\":\"Linear\",\"in_features\":16,\"out_features\":10}]");
    assert_true(cJSON_Compare(mods, want, 1));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(md, "input_shape")->valuestring, "1x28x28");
    cJSON_Delete(mods), cJSON_Delete(want), cJSON_Delete(root);
    free(data);
    model_file_free(&g);
    model_file_free(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_layout_and_params),
        cmocka_unit_test(test_fixture_inference_matches_float64),
        cmocka_unit_test(test_fixture_accuracy_as_recorded),
        cmocka_unit_test(test_fixture_resaved_as_format2),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
