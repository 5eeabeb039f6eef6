/* synth.h: small synthetic datasets and MNIST subsets for the trainer tests. */
#ifndef CLMNIST_TEST_SYNTH_H
#define CLMNIST_TEST_SYNTH_H
#include <stdio.h>
#include <stdlib.h>

#include "clmnist/dataset.h"
#include "clmnist/trainer.h"
#include "clmnist/rng.h"

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

#endif
