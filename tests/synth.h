/* synth.h: small synthetic datasets and MNIST subsets for the trainer tests. */
#ifndef CLMNIST_TEST_SYNTH_H
#define CLMNIST_TEST_SYNTH_H
#include <stdio.h>
#include <stdlib.h>

#include "dataset.h"
#include "trainer.h"
#include "model.h"
#include "rng.h"

/* Random uint8 images (rows x cols) with labels 0..classes-1 (every class present). */
static __attribute__((unused)) void synth_dataset(cm_dataset *ds, int n_train, int n_test, int rows, int cols,
                                                  int classes, uint64_t seed) {
    memset(ds, 0, sizeof *ds);
    cm_rng r;
    rng_seed(&r, seed, 3);
    cm_split *splits[2] = {&ds->train, &ds->test};
    int counts[2] = {n_train, n_test};
    for (int s = 0; s < 2; s++) {
        cm_split *sp = splits[s];
        sp->count = counts[s];
        sp->rows = rows;
        sp->cols = cols;
        sp->dim = rows * cols;
        sp->images = malloc((size_t)sp->count * sp->dim);
        sp->labels = malloc((size_t)sp->count);
        for (int i = 0; i < sp->count * sp->dim; i++)
            sp->images[i] = (uint8_t)rng_next_u32(&r);
        for (int i = 0; i < sp->count; i++)
            sp->labels[i] = (uint8_t)(i < classes ? (uint32_t)i : rng_bounded(&r, (uint32_t)classes));
    }
    ds->classes = classes;
    snprintf(ds->name, sizeof ds->name, "synthetic");
}

/* Loads MNIST from the source tree and keeps the first n_train / n_test examples.
 * Returns 0, or -1 (after printing why) when the data is not there. */
static __attribute__((unused)) int mnist_subset(cm_dataset *ds, int n_train, int n_test) {
    if (dataset_load_dir(CLMNIST_TEST_DATA, 0, ds) != CM_OK) {
        fprintf(stderr, "MNIST not available (%s); run 'data/fetch mnist'\n", cm_last_error());
        return -1;
    }
    if (n_train < ds->train.count) ds->train.count = n_train;
    if (n_test < ds->test.count) ds->test.count = n_test;
    return 0;
}

/* Creates a trainer on b and runs `epochs` epochs of `steps` steps each (whole epochs when
 * steps <= 0). Needs cmocka (assertions); the caller destroys the trainer. */
static __attribute__((unused)) cm_trainer *synth_train(cm_backend *b, const cm_dataset *ds, const cm_model *m,
                                                       cm_train_config cfg, int steps, int epochs) {
    cm_trainer *t;
    assert_int_equal(trainer_create(b, ds, m, &cfg, &t), CM_OK);
    for (int e = 0; e < epochs; e++) {
        assert_int_equal(trainer_begin_epoch(t, e), CM_OK);
        int n = steps > 0 ? steps : trainer_steps_per_epoch(t);
        for (int s = 0; s < n; s++)
            assert_int_equal(trainer_step(t), CM_OK);
    }
    return t;
}

/* The recipe with every training feature on that the device-vs-host step tests use: AdamW,
 * one-cycle with warm-up, weight decay, max-norm and augmentation (batch 100, seed 3). */
static __attribute__((unused)) cm_train_config synth_full_recipe(void) {
    cm_train_config c = {.batch = 100,
                         .optimizer = CM_OPT_ADAMW,
                         .lr = 1e-3f,
                         .beta1 = 0.9f,
                         .beta2 = 0.999f,
                         .eps = 1e-8f,
                         .weight_decay = 0.05f,
                         .seed = 3,
                         .epochs = 1,
                         .schedule = CM_SCHEDULE_ONECYCLE,
                         .warmup_steps = 2,
                         .max_norm = 1.5f,
                         .augment = {2.0f, 10.0f, 0.1f, 0.0f}};
    return c;
}

/* The MLP layout of --layers (Flatten, Linear, ReLU [, Dropout(p)], ..., Linear) on a flat
 * input of `input` values. */
static __attribute__((unused)) cm_status synth_mlp_layout(cm_layout *L, int input, const int *hidden, int nhidden,
                                                          int classes, size_t align, float dropout) {
    cm_layer layers[CM_MAX_LAYERS];
    int n;
    CM_TRY(model_mlp_layers(hidden, nhidden, classes, dropout, layers, &n));
    return model_layout(L, layers, n, (cm_shape){input, 1, 1, 1}, classes, align);
}

/* Uniform [-1, 1] biases (from seed, seed + 1, ... per layer), so every gradient is exercised. */
static __attribute__((unused)) void synth_fill_biases(cm_model *m, uint64_t seed) {
    const cm_layout *L = &m->layout;
    for (int l = 0; l < L->nlayers; l++) {
        const cm_layer *ly = &L->layers[l];
        if (ly->bias == CM_NO_TENSOR) continue;
        cm_rng rng;
        rng_seed(&rng, seed++, 99);
        for (int i = 0; i < ly->out_shape.c; i++)
            m->params[ly->bias + (size_t)i] = 2.0f * rng_uniform(&rng) - 1.0f;
    }
}

#endif
