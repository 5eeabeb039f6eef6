/* run_setup.c: the setup steps of a run from its options: the data, the model's layout and
 * initial parameters, the trainer's configuration; the test split alone, for `eval`. */
#include <stdio.h>
#include <string.h>

#include "run_options.h"
#include "timer.h"

cm_status run_load_data(const cm_train_args *a, cm_dataset *ds) {
    double t0 = timer_now();
    cm_data_options o = a->data;
    o.seed = a->seed;
    o.val = a->val;
    CM_TRY(dataset_open(a->data_dir, &o, ds));
    if (a->limit > 0 && a->limit < ds->train.count) ds->train.count = a->limit; /* the first N, in file order */
    fprintf(a->info, "data: %s: %d training, %d %s images of %dx%d, %d classes (%.2f s)\n", a->data_dir,
            ds->train.count, ds->test.count, a->val ? "validation" : "test", ds->train.rows, ds->train.cols,
            ds->classes, timer_now() - t0);
    return CM_OK;
}

void run_normalisation(const cm_dataset *ds, cm_layout *L) {
    double mean[4], std[4];
    int C;
    dataset_channel_stats(&ds->train, &C, mean, std); /* grey: 0 and 1 */
    L->normalized = C > 1;
    for (int c = 0; c < 4; c++)
        L->in_mean[c] = (float)mean[c], L->in_std[c] = (float)std[c];
}

cm_status run_layout(const cm_train_args *a, const cm_dataset *ds, size_t align_bytes, cm_layout *L) {
    cm_layer layers[CM_MAX_LAYERS];
    int n = 0;
    if (a->arch[0])
        CM_TRY(model_parse_arch(a->arch, layers, &n));
    else
        CM_TRY(model_mlp_layers(a->hidden, a->nhidden, ds->classes, a->dropout, layers, &n));
    cm_shape input = {split_channels(&ds->train), ds->train.rows, ds->train.cols, 0};
    cm_status st = model_layout(L, layers, n, input, ds->classes, align_bytes);
    if (st == CM_OK) run_normalisation(ds, L);
    if (st != CM_OK && a->arch[0]) {
        char why[512];
        snprintf(why, sizeof why, "%s", cm_last_error());
        return cm_fail(st, "--arch '%s': %s", a->arch, why);
    }
    return st;
}

cm_status run_init_model(const cm_train_args *a, const cm_dataset *ds, size_t align_bytes, const cm_backend *b,
                         cm_model *model) {
    cm_layout layout;
    CM_TRY(run_layout(a, ds, align_bytes, &layout));
    size_t bytes = layout.total * sizeof(float);
    if (bytes > b->max_alloc_bytes)
        return cm_fail(CM_ERR_MEMORY,
                       "device '%s': buffer 'parameters' needs %.1f MiB but the device allows at most %.1f MiB per "
                       "buffer; use a smaller network",
                       b->device_name, (double)bytes / 1048576.0, (double)b->max_alloc_bytes / 1048576.0);
    return model_init(model, &layout, a->seed);
}

cm_train_config run_train_config(const cm_train_args *a) {
    cm_optimizer opt = CM_OPT_SGD;
    if (!strcmp(a->optimizer, "nesterov"))
        opt = CM_OPT_NESTEROV;
    else if (!strcmp(a->optimizer, "adam"))
        opt = CM_OPT_ADAM;
    else if (!strcmp(a->optimizer, "adamw"))
        opt = CM_OPT_ADAMW;
    int adam = opt == CM_OPT_ADAM || opt == CM_OPT_ADAMW;
    cm_train_config cfg = {.batch = a->batch,
                           .optimizer = opt,
                           .lr = a->lr,
                           .momentum = adam ? 0.0f : a->momentum,
                           .beta1 = a->beta1,
                           .beta2 = a->beta2,
                           .eps = a->eps,
                           .weight_decay = a->weight_decay,
                           .schedule = a->schedule,
                           .warmup_steps = a->warmup_steps,
                           .step_size = a->step_size,
                           .gamma = a->gamma,
                           .epochs = a->epochs,
                           .max_norm = a->max_norm,
                           .augment = a->augment,
                           .seed = a->seed,
                           .feed = a->feed};
    return cfg;
}
