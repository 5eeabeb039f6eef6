/* test_model_io.c: safetensors round trip of an MLP and every malformed-file case of the
 * format-1 (MLP) layout, resume equals an uninterrupted run, metrics against hand-computed
 * values, image preprocessing and predict on PNGs of test digits against the model's own class
 * for them. Format 2 (any layer sequence) is test_model_io_cnn.c; the previous release's files,
 * test_model_io_v1.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <math.h>
#include <unistd.h>
/* cmocka last */
#include <cmocka.h>
#include <stb_image_write.h>

#include "check.h"
#include "eval.h"
#include "image.h"
#include "model_io.h"
#include "model_file_util.h"
#include "synth.h"

/* A 7-13-5-3 model with random parameters (odd sizes on purpose). */
static void random_model(cm_model *m, uint64_t seed) {
    cm_layout L;
    int hidden[2] = {13, 5};
    assert_int_equal(synth_mlp_layout(&L, 7, hidden, 2, 3, CM_PARAM_ALIGN_BYTES, 0.0f), CM_OK);
    assert_int_equal(model_init(m, &L, seed), CM_OK);
    synth_fill_biases(m, seed + 9);
}

static void test_round_trip_bitwise(void **state) {
    cm_model m;
    random_model(&m, 1);
    float *mom = calloc(m.layout.total, sizeof(float)), *sq = calloc(m.layout.total, sizeof(float));
    fill_uniform(mom, m.layout.total, 77);
    fill_uniform(sq, m.layout.total, 78);
    const char *names[2] = {"exp_avg", "exp_avg_sq"};
    const float *state2[2] = {mom, sq};
    cm_meta meta = {0};
    assert_int_equal(meta_set(&meta, "layers", "flatten-fc13-relu-fc5-relu-fc3"), CM_OK);
    assert_int_equal(meta_set(&meta, "note", "quote \" and backslash \\ survive"), CM_OK);
    const char *p = tmp_path("rt.safetensors");
    assert_int_equal(model_file_save(p, &m.layout, m.params, 2, names, state2, &meta), CM_OK);
    cm_model_file f;
    if (model_file_load(p, CM_PARAM_ALIGN_BYTES, &f) != CM_OK) fail_msg("%s", cm_last_error());
    assert_int_equal(f.model.layout.nlayers, 6); /* Flatten, Linear, ReLU, Linear, ReLU, Linear */
    assert_int_equal(f.model.layout.total, m.layout.total);
    assert_tensors_equal(&m.layout, f.model.params, m.params, 0);
    assert_tensors_equal(&m.layout, model_file_state(&f, "exp_avg"), mom, 1);
    assert_tensors_equal(&m.layout, model_file_state(&f, "exp_avg_sq"), sq, 1);
    assert_null(model_file_state(&f, "momentum"));
    assert_string_equal(meta_get(&f.meta, "note"), "quote \" and backslash \\ survive");
    /* the header is 8-byte aligned and the data section ends exactly at the file's end */
    FILE *fp = fopen(p, "rb");
    uint8_t len8[8];
    assert_int_equal(fread(len8, 1, 8, fp), 8);
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fclose(fp);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | len8[i];
    assert_int_equal(hlen % 8, 0);
    assert_int_equal((uint64_t)size, 8 + hlen + 3 * m.layout.count * 4);
    model_file_free(&f);
    /* one state array (SGD momentum); tensors only: the layout's padding is not stored */
    const char *mname[1] = {"momentum"};
    assert_int_equal(model_file_save(p, &m.layout, m.params, 1, mname, state2, &meta), CM_OK);
    assert_int_equal(model_file_load(p, CM_PARAM_ALIGN_BYTES, &f), CM_OK);
    assert_int_equal(f.nstate, 1);
    assert_tensors_equal(&m.layout, model_file_state(&f, "momentum"), mom, 1);
    model_file_free(&f);
    /* Adam's two arrays and early stopping's best weights: three arrays, each under its group */
    const char *three[3] = {"exp_avg", "exp_avg_sq", "best"};
    const float *state3[3] = {mom, sq, m.params};
    assert_int_equal(model_file_save(p, &m.layout, m.params, 3, three, state3, &meta), CM_OK);
    assert_int_equal(model_file_load(p, CM_PARAM_ALIGN_BYTES, &f), CM_OK);
    assert_int_equal(f.nstate, 3);
    assert_tensors_equal(&m.layout, model_file_state(&f, "best"), m.params, 0);
    assert_tensors_equal(&m.layout, model_file_state(&f, "exp_avg_sq"), sq, 1);
    model_file_free(&f);
    fp = fopen(p, "rb");
    char head[4096] = {0};
    assert_true(fread(head, 1, sizeof head - 1, fp) > 8);
    fclose(fp);
    /* module indices count the Flatten in front: the Linear layers are modules 1, 3 and 5 */
    assert_non_null(strstr(head + 8, "\"early_stopping.best.layers.5.bias\""));
    assert_non_null(strstr(head + 8, "\"optimizer.exp_avg.layers.1.weight\""));
    assert_null(strstr(head + 8, "\"optimizer.best."));
    /* an unknown state name is refused when saving */
    const char *bad[1] = {"velocity"};
    assert_int_equal(model_file_save(p, &m.layout, m.params, 1, bad, state2, &meta), CM_ERR_USAGE);
    /* without state: none comes back */
    assert_int_equal(model_file_save(p, &m.layout, m.params, 0, NULL, NULL, &meta), CM_OK);
    assert_int_equal(model_file_load(p, CM_PARAM_ALIGN_BYTES, &f), CM_OK);
    assert_int_equal(f.nstate, 0);
    assert_null(model_file_state(&f, "momentum"));
    model_file_free(&f);
    free(mom), free(sq);
    model_free(&m);
}

/* A valid 2-3-2 model header; tensors: w0 (3,2) 24 B, b0 (3) 12 B, w1 (2,3) 24 B, b1 (2) 8 B = 68 B. */
#define T_W0 "\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,24]}"
#define T_B0 "\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[24,36]}"
#define T_W1 "\"layers.2.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[36,60]}"
#define T_B1 "\"layers.2.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[60,68]}"

static void test_forged_valid_file_loads(void **state) {
    /* the forging helper itself writes loadable files: the negative cases below mean something */
    const char *p = forge("ok.safetensors", "{" T_W0 "," T_B0 "," T_W1 "," T_B1 "}", 68, -1);
    cm_model_file f;
    assert_int_equal(model_file_load(p, CM_PARAM_ALIGN_BYTES, &f), CM_OK);
    /* format 1: Flatten, Linear(2, 3), ReLU, Linear(3, 2); tensors from the file's bytes */
    const cm_layout *L = &f.model.layout;
    assert_int_equal(L->nlayers, 4);
    const int types[4] = {CM_LAYER_FLATTEN, CM_LAYER_LINEAR, CM_LAYER_RELU, CM_LAYER_LINEAR};
    for (int i = 0; i < 4; i++)
        assert_int_equal(L->layers[i].type, types[i]);
    assert_int_equal(shape_numel(L->layers[1].in), 2);
    assert_int_equal(L->layers[1].out, 3);
    assert_int_equal(shape_numel(L->layers[3].in), 3);
    assert_int_equal(L->classes, 2);
    uint8_t bytes[68];
    for (int i = 0; i < 68; i++)
        bytes[i] = (uint8_t)(i * 7 % 251);
    const size_t offs[4] = {L->layers[1].weight, L->layers[1].bias, L->layers[3].weight, L->layers[3].bias};
    const size_t at[5] = {0, 24, 36, 60, 68};
    for (int t = 0; t < 4; t++)
        assert_memory_equal(f.model.params + offs[t], bytes + at[t], at[t + 1] - at[t]);
    model_file_free(&f);
}

static void test_malformed_files(void **state) {
    const char *all = "{" T_W0 "," T_B0 "," T_W1 "," T_B1 "}";
    expect_format_error(forge("empty-header.safetensors", "", 0, -1), "not plausible");
    {
        const char *p = tmp_path("five.safetensors");
        FILE *f = fopen(p, "wb");
        fwrite("\x10\0\0", 1, 3, f);
        fclose(f);
        expect_format_error(p, "too short");
    }
    expect_format_error(forge("hlen.safetensors", all, 68, 100000), "runs past the end");
    expect_format_error(forge("json.safetensors", "{\"layers.0.weight\": [", 68, -1), "malformed");
    expect_format_error(forge("trunc.safetensors", all, 50, -1), "truncated");
    expect_format_error(forge("missing.safetensors", "{" T_W0 "," T_W1 "," T_B1 "}", 68, -1), "layers.0.bias");
    expect_format_error(
        forge("nolayers.safetensors", "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, -1),
        "layers.0.weight");
    expect_format_error(forge("dtype.safetensors",
                              "{\"layers.0.weight\":{\"dtype\":\"F16\",\"shape\":[3,2],\"data_offsets\":[0,12]}," T_B0
                              "," T_W1 "," T_B1 "}",
                              68, -1),
                        "F16");
    expect_format_error(forge("shape.safetensors",
                              "{\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[3,3],\"data_offsets\":[0,24]}," T_B0
                              "," T_W1 "," T_B1 "}",
                              68, -1),
                        "shape needs");
    expect_format_error(forge("chain.safetensors",
                              "{" T_W0 "," T_B0
                              ",\"layers.2.weight\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[36,60]},"
                              "\"layers.2.bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[60,72]}}",
                              72, -1),
                        "'layers.2.weight' must have shape [3, 3]");
    expect_format_error(forge("outside.safetensors",
                              "{" T_W0 "," T_B0 "," T_W1
                              ",\"layers.2.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[64,72]}}",
                              68, -1),
                        "ends at byte 72");
    expect_format_error(forge("overlap.safetensors",
                              "{" T_W0
                              ",\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[20,32]}," T_W1
                              "," T_B1 "}",
                              68, -1),
                        "overlap");
    expect_format_error(forge("negative.safetensors",
                              "{" T_W0 "," T_B0 "," T_W1
                              ",\"layers.2.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}",
                              68, -1),
                        "data_offsets");
    expect_format_error(forge("extra.safetensors",
                              "{" T_W0 "," T_B0 "," T_W1 "," T_B1
                              ",\"layers.1.weight\":{\"dtype\":\"F32\",\"shape\":[1],"
                              "\"data_offsets\":[68,72]}}",
                              72, -1),
                        "unexpected tensor 'layers.1.weight' (none of the file's layers has it)");
    { /* the same name twice (JSON allows it; the second is not read) */
        const char *dup = "{" T_W0 "," T_B0 "," T_W1 "," T_B1
                          ",\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[68,80]}}";
        expect_format_error(forge("dup.safetensors", dup, 80, -1), "'layers.0.bias' (its name appears twice)");
    }
    { /* trailing garbage after the JSON header (padding is spaces) */
        char h[512];
        snprintf(h, sizeof h, "%s x      ", all);
        expect_format_error(forge("garbage.safetensors", h, 68, -1), "malformed");
        snprintf(h, sizeof h, "%s  \n    ", all); /* white space is fine */
        cm_model_file ok;
        assert_int_equal(model_file_load(forge("space.safetensors", h, 68, -1), CM_PARAM_ALIGN_BYTES, &ok), CM_OK);
        model_file_free(&ok);
    }
    expect_format_error(forge("state.safetensors",
                              "{" T_W0 "," T_B0 "," T_W1 "," T_B1
                              ",\"early_stopping.worst.layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[3],"
                              "\"data_offsets\":[68,80]}}",
                              80, -1),
                        "unknown state array");
    expect_format_error(forge("arch.safetensors",
                              "{\"__metadata__\":{\"layers\":\"784-10\"}," T_W0 "," T_B0 "," T_W1 "," T_B1 "}", 68, -1),
                        "metadata says layers 784-10 but the tensors are 2-3-2");
    { /* ... and the previous release's own spelling of it loads */
        cm_model_file ok;
        const char *h = "{\"__metadata__\":{\"layers\":\"2-3-2\",\"clmnist.format_version\":\"1\","
                        "\"architecture\":\"mlp\",\"input_shape\":\"1x2\"}," T_W0 "," T_B0 "," T_W1 "," T_B1 "}";
        assert_int_equal(model_file_load(forge("arch-ok.safetensors", h, 68, -1), CM_PARAM_ALIGN_BYTES, &ok), CM_OK);
        model_file_free(&ok);
    }
    expect_format_error(
        forge("metatype.safetensors", "{\"__metadata__\":{\"epochs\":3}," T_W0 "," T_B0 "," T_W1 "," T_B1 "}", 68, -1),
        "not a string");
    expect_format_error(forge("notobj.safetensors", "[1,2,3]", 0, -1), "not a JSON object");
    expect_format_error(forge("cnn.safetensors",
                              "{\"__metadata__\":{\"architecture\":\"cnn\"}," T_W0 "," T_B0 "," T_W1 "," T_B1 "}", 68,
                              -1),
                        "architecture 'cnn' is not supported");
    expect_format_error(
        forge("version.safetensors",
              "{\"__metadata__\":{\"clmnist.format_version\":\"3\"}," T_W0 "," T_B0 "," T_W1 "," T_B1 "}", 68, -1),
        "clmnist format version '3'; this clmnist reads versions 1 and " CM_MODEL_FORMAT_VERSION);
    expect_format_error(/* a format-2 file without its layer list */
                        forge("version2.safetensors",
                              "{\"__metadata__\":{\"clmnist.format_version\":\"2\"}," T_W0 "," T_B0 "," T_W1 "," T_B1
                              "}",
                              68, -1),
                        "format version 2 needs 'modules' metadata");
    { /* metadata too long for the reader: refused, never truncated; the message wraps the cause intact */
        char header[3 * CM_META_VALUE];
        char value[CM_META_VALUE + 1];
        memset(value, 'v', CM_META_VALUE);
        value[CM_META_VALUE] = '\0';
        snprintf(header, sizeof header, "{\"__metadata__\":{\"note\":\"%s\"}," T_W0 "," T_B0 "," T_W1 "," T_B1 "}",
                 value);
        expect_format_error(forge("longvalue.safetensors", header, 68, -1),
                            ": metadata: model metadata: the value of 'note' is longer than 1023 bytes");
        char key[CM_META_KEY + 1];
        memset(key, 'k', CM_META_KEY);
        key[CM_META_KEY] = '\0';
        snprintf(header, sizeof header, "{\"__metadata__\":{\"%s\":\"1\"}," T_W0 "," T_B0 "," T_W1 "," T_B1 "}", key);
        expect_format_error(forge("longkey.safetensors", header, 68, -1), "model metadata: key 'kkkkkkkk");
    }
    cm_model_file f;
    assert_int_equal(model_file_load(tmp_path("does-not-exist.safetensors"), CM_PARAM_ALIGN_BYTES, &f), CM_ERR_IO);
}

static void test_save_is_atomic(void **state) {
    cm_model m;
    random_model(&m, 3);
    cm_meta meta = {0};
    /* a directory that does not exist: an error, and no stray file anywhere */
    assert_int_equal(model_file_save(tmp_path("no/such/dir/m.safetensors"), &m.layout, m.params, 0, NULL, NULL, &meta),
                     CM_ERR_IO);
    /* replacing a file keeps no temporary behind */
    const char *p = tmp_path("atomic.safetensors");
    assert_int_equal(model_file_save(p, &m.layout, m.params, 0, NULL, NULL, &meta), CM_OK);
    assert_int_equal(model_file_save(p, &m.layout, m.params, 0, NULL, NULL, &meta), CM_OK);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -q 'atomic.safetensors.tmp'", mf_dir);
    assert_int_not_equal(system(cmd), 0);
    model_free(&m);
}

/* Two epochs straight vs one epoch, a checkpoint through a file, a fresh trainer, one more epoch:
 * the parameters must be bitwise equal (same backend, same seed). For SGD with momentum, and for
 * AdamW with dropout and augmentation (whose random streams are keyed by the global step). */
static void resume_equals_uninterrupted(cm_train_config cfg, float dropout) {
    cm_backend *b;
    cm_backend_options bo = {.threads = 2};
    assert_int_equal(backend_create("host", &bo, &b), CM_OK);
    cm_dataset ds;
    synth_dataset(&ds, 300, 50, 6, 5, 4, 11);
    cm_layout L;
    int hidden[1] = {17};
    assert_int_equal(synth_mlp_layout(&L, 30, hidden, 1, 4, CM_PARAM_ALIGN_BYTES, dropout), CM_OK);
    cm_model m;
    assert_int_equal(model_init(&m, &L, 5), CM_OK);
    cm_trainer *full = synth_train(b, &ds, &m, cfg, 0, 2);
    float *want = malloc(L.total * sizeof(float)), *got = malloc(L.total * sizeof(float));
    float *st[2] = {malloc(L.total * sizeof(float)), malloc(L.total * sizeof(float))};
    assert_int_equal(trainer_get_params(full, want), CM_OK);
    trainer_destroy(full);

    cm_trainer *first = synth_train(b, &ds, &m, cfg, 0, 1);
    int nstate = trainer_opt_state_count(first);
    assert_true(nstate >= 1);
    const char *names[2];
    assert_int_equal(trainer_get_params(first, got), CM_OK);
    for (int i = 0; i < nstate; i++) {
        names[i] = trainer_opt_state_name(first, i);
        assert_int_equal(trainer_get_opt_state(first, i, st[i]), CM_OK);
    }
    cm_meta meta = {0};
    const char *p = tmp_path("ckpt.safetensors");
    assert_int_equal(model_file_save(p, &L, got, nstate, names, (const float *const *)st, &meta), CM_OK);
    int64_t step = trainer_global_step(first);
    assert_int_equal(step, trainer_steps_per_epoch(first));
    trainer_destroy(first);

    cm_model_file f;
    assert_int_equal(model_file_load(p, CM_PARAM_ALIGN_BYTES, &f), CM_OK);
    assert_int_equal(f.nstate, nstate);
    cm_trainer *resumed;
    assert_int_equal(trainer_create(b, &ds, &f.model, &cfg, &resumed), CM_OK);
    for (int i = 0; i < nstate; i++) {
        assert_non_null(model_file_state(&f, names[i]));
        assert_int_equal(trainer_set_opt_state(resumed, i, model_file_state(&f, names[i])), CM_OK);
    }
    trainer_set_global_step(resumed, step);
    assert_int_equal(trainer_begin_epoch(resumed, 1), CM_OK);
    for (int s = 0; s < trainer_steps_per_epoch(resumed); s++)
        assert_int_equal(trainer_step(resumed), CM_OK);
    assert_int_equal(trainer_get_params(resumed, got), CM_OK);
    assert_memory_equal(got, want, L.total * sizeof(float));
    /* and the check has teeth: without the optimizer state the result differs */
    float *zeros = calloc(L.total, sizeof(float));
    cm_trainer *cold;
    assert_int_equal(trainer_create(b, &ds, &f.model, &cfg, &cold), CM_OK);
    for (int i = 0; i < nstate; i++)
        assert_int_equal(trainer_set_opt_state(cold, i, zeros), CM_OK);
    trainer_set_global_step(cold, step);
    assert_int_equal(trainer_begin_epoch(cold, 1), CM_OK);
    for (int s = 0; s < trainer_steps_per_epoch(cold); s++)
        assert_int_equal(trainer_step(cold), CM_OK);
    assert_int_equal(trainer_get_params(cold, got), CM_OK);
    assert_true(memcmp(got, want, L.total * sizeof(float)) != 0);
    trainer_destroy(cold);
    trainer_destroy(resumed);
    model_file_free(&f);
    free(zeros), free(want), free(got), free(st[0]), free(st[1]);
    model_free(&m);
    dataset_free(&ds);
    backend_destroy(b);
}

static void test_resume_equals_uninterrupted(void **state) {
    cm_train_config sgd = {.batch = 32,
                           .lr = 0.05f,
                           .momentum = 0.9f,
                           .schedule = CM_SCHEDULE_COSINE,
                           .epochs = 2,
                           .seed = 9,
                           .feed = CM_FEED_AUTO};
    resume_equals_uninterrupted(sgd, 0.0f);
    cm_train_config adamw = {.batch = 32,
                             .optimizer = CM_OPT_ADAMW,
                             .lr = 3e-3f,
                             .beta1 = 0.9f,
                             .beta2 = 0.999f,
                             .eps = 1e-8f,
                             .weight_decay = 0.01f,
                             .schedule = CM_SCHEDULE_ONECYCLE,
                             .epochs = 2,
                             .augment = {1.0f, 5.0f, 0.05f},
                             .seed = 9,
                             .feed = CM_FEED_AUTO};
    resume_equals_uninterrupted(adamw, 0.3f); /* Dropout(0.3) after the hidden layer */
}

static void test_eval_metrics_by_hand(void **state) {
    /* 3 classes, 8 examples. true: 0 0 0 1 1 2 2 2; pred: 0 1 0 1 1 2 0 2 */
    uint8_t labels[8] = {0, 0, 0, 1, 1, 2, 2, 2};
    int32_t pred[8] = {0, 1, 0, 1, 1, 2, 0, 2};
    float probs[8 * 3];
    for (int i = 0; i < 8; i++)
        for (int c = 0; c < 3; c++)
            probs[i * 3 + c] = c == pred[i] ? 0.5f + 0.05f * i : (0.5f - 0.05f * i) / 2;
    cm_split s = {.count = 8, .rows = 1, .cols = 1, .dim = 1, .labels = labels};
    cm_eval e;
    assert_int_equal(eval_compute(&s, pred, probs, 3, &e), CM_OK);
    int64_t want[9] = {2, 1, 0, 0, 2, 0, 1, 0, 2};
    assert_memory_equal(e.confusion, want, sizeof want);
    assert_int_equal(e.correct, 6);
    assert_float_equal(e.accuracy, 0.75, 1e-12);
    /* precision: class 0 = 2/3, class 1 = 2/3, class 2 = 2/2; recall: 2/3, 2/2, 2/3 */
    assert_float_equal(e.precision[0], 2.0 / 3, 1e-12);
    assert_float_equal(e.precision[1], 2.0 / 3, 1e-12);
    assert_float_equal(e.precision[2], 1.0, 1e-12);
    assert_float_equal(e.recall[0], 2.0 / 3, 1e-12);
    assert_float_equal(e.recall[1], 1.0, 1e-12);
    assert_float_equal(e.recall[2], 2.0 / 3, 1e-12);
    /* mistakes: example 1 (p 0.55) and example 6 (p 0.80), most confident first */
    assert_int_equal(e.nworst, 2);
    assert_int_equal(e.worst[0], 6);
    assert_int_equal(e.worst_pred[0], 0);
    assert_int_equal(e.worst[1], 1);
    eval_free(&e);
}

static void test_image_to_mnist(void **state) {
    /* a 4x12 bar of ink on a 40x30 white page, left of centre: inverted, scaled to 20 tall, centred */
    int w = 40, h = 30;
    uint8_t *page = malloc((size_t)w * h);
    memset(page, 255, (size_t)w * h);
    for (int y = 5; y < 17; y++)
        for (int x = 3; x < 7; x++)
            page[y * w + x] = 0;
    uint8_t out[784];
    int inv;
    assert_int_equal(image_to_mnist(page, w, h, CM_INVERT_AUTO, "bar", out, &inv), CM_OK);
    assert_int_equal(inv, 1);
    double mass = 0, mx = 0, my = 0;
    int top = 28, bottom = -1;
    for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++) {
            double v = out[y * 28 + x];
            mass += v, mx += v * x, my += v * y;
            if (v > 128 && y < top) top = y;
            if (v > 128 && y > bottom) bottom = y;
        }
    assert_true(fabs(mx / mass - 14.0) <= 0.5 && fabs(my / mass - 14.0) <= 0.5);
    assert_int_equal(bottom - top + 1, 20);
    /* --invert no on a white page sees nothing */
    assert_int_equal(image_to_mnist(page, w, h, CM_INVERT_NO, "bar", out, &inv), CM_ERR_FORMAT);
    memset(page, 255, (size_t)w * h);
    assert_int_equal(image_to_mnist(page, w, h, CM_INVERT_AUTO, "blank", out, &inv), CM_ERR_FORMAT);
    assert_non_null(strstr(cm_last_error(), "no digit"));
    /* no pixels at all (issue 19's crash: border_median read past a 0-byte buffer) */
    assert_int_equal(image_to_mnist(page, 0, h, CM_INVERT_AUTO, "empty", out, &inv), CM_ERR_FORMAT);
    assert_int_equal(image_to_mnist(page, w, 0, CM_INVERT_AUTO, "empty", out, &inv), CM_ERR_FORMAT);
    assert_non_null(strstr(cm_last_error(), "no pixels"));
    free(page);
}

/* Regression (issue 19): PNM files whose header gives a zero width or height (stb_image decoded
 * them); each must be a one-line format error naming the file, not a read past the buffer. */
static void test_image_zero_sides(void **state) {
    const char *headers[] = {"P5\n0 5\n255\n", "P5\n5 0\n255\n", "P6\n0 0\n255\n", "P2\n0 3\n255\n"};
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        const char *path = tmp_path("zero.pnm");
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fputs(headers[i], f);
        fputs("ABCDEF", f); /* a few bytes of "pixels" after the header */
        fclose(f);
        uint8_t *g = NULL;
        int w = -1, h = -1;
        cm_status st = image_load_gray(path, &g, &w, &h);
        assert_int_equal(st, CM_ERR_FORMAT);
        assert_null(g);
        assert_non_null(strstr(cm_last_error(), "zero.pnm"));
    }
}

/* Test digits written as PNG (plain, and inverted and enlarged on a bigger page), read back and
 * preprocessed, get the class the model gives the original digit. */
static void test_predict_png_matches_model(void **state) {
    cm_dataset ds;
    if (mnist_subset(&ds, 6000, 200) != 0) skip();
    cm_backend *b;
    cm_backend_options bo = {.threads = 2};
    assert_int_equal(backend_create("host", &bo, &b), CM_OK);
    cm_layout L;
    int hidden[1] = {64};
    assert_int_equal(synth_mlp_layout(&L, 784, hidden, 1, 10, CM_PARAM_ALIGN_BYTES, 0.0f), CM_OK);
    cm_model m;
    assert_int_equal(model_init(&m, &L, 1), CM_OK);
    cm_train_config cfg = {.batch = 64, .lr = 0.1f, .momentum = 0.9f, .epochs = 3, .seed = 2, .feed = CM_FEED_AUTO};
    cm_trainer *t = synth_train(b, &ds, &m, cfg, 0, 3);
    int n = 40;
    int32_t pred[40], pred2[80];
    float probs[40 * 10], probs2[80 * 10];
    cm_split first = ds.test;
    first.count = n;
    assert_int_equal(trainer_predict(t, &first, pred, probs, NULL), CM_OK);

    uint8_t *imgs = malloc(2 * (size_t)n * 784);
    for (int i = 0; i < n; i++) {
        const uint8_t *d = ds.test.images + (size_t)i * 784;
        const char *p1 = tmp_path("digit.png"), *p2 = tmp_path("page.png");
        assert_int_not_equal(stbi_write_png(p1, 28, 28, 1, d, 28), 0);
        /* black ink on white, 2x, RGB, off-centre on a 90x70 page */
        uint8_t *page = malloc(90 * 70 * 3);
        memset(page, 255, 90 * 70 * 3);
        for (int y = 0; y < 56; y++)
            for (int x = 0; x < 56; x++)
                for (int c = 0; c < 3; c++)
                    page[((y + 9) * 90 + x + 25) * 3 + c] = 255 - d[(y / 2) * 28 + x / 2];
        assert_int_not_equal(stbi_write_png(p2, 90, 70, 3, page, 90 * 3), 0);
        free(page);
        for (int k = 0; k < 2; k++) {
            uint8_t *g;
            int w, h, inv;
            assert_int_equal(image_load_gray(k ? p2 : p1, &g, &w, &h), CM_OK);
            assert_int_equal(image_to_mnist(g, w, h, CM_INVERT_AUTO, "png", imgs + ((size_t)k * n + i) * 784, &inv),
                             CM_OK);
            assert_int_equal(inv, k);
            free(g);
        }
    }
    uint8_t labels[80] = {0};
    cm_split s = {.count = 2 * n, .rows = 28, .cols = 28, .dim = 784, .images = imgs, .labels = labels};
    assert_int_equal(trainer_predict(t, &s, pred2, probs2, NULL), CM_OK);
    int same = 0, confident = 0;
    for (int i = 0; i < n; i++) {
        if (probs[i * 10 + pred[i]] < 0.9f) continue; /* borderline digits may flip under resampling */
        confident++;
        same += pred2[i] == pred[i] && pred2[n + i] == pred[i];
        if (pred2[i] != pred[i] || pred2[n + i] != pred[i])
            fprintf(stderr, "digit %d: model %d, png %d, page %d\n", i, pred[i], pred2[i], pred2[n + i]);
    }
    assert_true(confident >= 30);
    assert_int_equal(same, confident);
    free(imgs);
    trainer_destroy(t);
    model_free(&m);
    dataset_free(&ds);
    backend_destroy(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_bitwise),
        cmocka_unit_test(test_image_zero_sides),
        cmocka_unit_test(test_forged_valid_file_loads),
        cmocka_unit_test(test_malformed_files),
        cmocka_unit_test(test_save_is_atomic),
        cmocka_unit_test(test_resume_equals_uninterrupted),
        cmocka_unit_test(test_eval_metrics_by_hand),
        cmocka_unit_test(test_image_to_mnist),
        cmocka_unit_test(test_predict_png_matches_model),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
