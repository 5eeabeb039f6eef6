/* fuzz_model.c: libFuzzer target for model and checkpoint files: model_file_parse, the code
 * model_file_load runs on a file's bytes (the 8-byte length, the JSON header, every tensor's
 * dtype, shape and offsets, the "modules" layer list and the other architecture metadata), then
 * what the tool reads from the metadata of a file that loads: a checkpoint's training options
 * and position (run_checkpoint_options, as `train --resume`), its train.arch laid out on the
 * file's input (run_layout), its patience and early-stopping state, and "class_names" (as
 * `eval` and `predict`). Loaded arrays must hold layout.total floats each. */
#include <stdint.h>
#include <stdlib.h>

#include "run_options.h"
#include "model_io.h"
#include "train_loop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch(const float *v, size_t n) {
    volatile float first = v[0], last = v[n - 1]; /* ASan checks both ends */
    (void)first;
    (void)last;
}

/* The training options of a checkpoint, over the defaults `train` starts from. */
static void checkpoint_options(const cm_model_file *f) {
    cm_train_args a;
    int start_epoch = 0;
    run_defaults(&a);
    if (run_apply_preset(&a, "fast") != CM_OK || run_finish(&a) != CM_OK) abort();
    if (run_checkpoint_options("fuzz", &f->meta, &a, &start_epoch) != CM_OK) return;
    const cm_layout *L = &f->model.layout;
    cm_dataset ds = {.classes = L->classes};
    ds.train.rows = L->input.h;
    ds.train.cols = L->input.w;
    cm_layout mine;
    (void)run_layout(&a, &ds, CM_PARAM_ALIGN_BYTES, &mine);
}

static void read_meta(const cm_model_file *f) {
    const cm_layout *L = &f->model.layout;
    int patience = 0, best_epoch = 0;
    double best_acc = 0.0;
    const float *best = NULL;
    checkpoint_options(f);
    (void)train_checkpoint_patience("fuzz", &f->meta, &patience);
    if (train_checkpoint_best("fuzz", f, &best_epoch, &best_acc, &best) == CM_OK && best) touch(best, L->total);
    if (L->classes <= 64) { /* as eval and predict ask */
        char store[64][32];
        const char *names[64];
        (void)run_meta_class_names(&f->meta, L->classes, store, names);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cm_model_file f;
    if (model_file_parse(data, size, "fuzz", CM_PARAM_ALIGN_BYTES, &f) == CM_OK) {
        touch(f.model.params, f.model.layout.total);
        for (int i = 0; i < f.nstate; i++)
            touch(f.state[i], f.model.layout.total);
        read_meta(&f);
        model_file_free(&f);
    }
    cm_clear_error();
    return 0;
}
