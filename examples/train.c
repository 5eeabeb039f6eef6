/* train.c: train a small CNN on MNIST with libclmnist and save it.
 *
 *   train [DATA [MODEL [EPOCHS [LIMIT]]]]
 *
 * DATA: MNIST's IDX files (default data/mnist; any format clmnist reads works), MODEL: where the
 * model goes (default mnist-cnn.safetensors), EPOCHS (default 2), LIMIT: train on the first LIMIT
 * images only (default: all). $CLMNIST_OPTIONS, if set, goes to clmnist_open ("backend=host").
 * Build: cc train.c -o train $(pkg-config --cflags --libs clmnist) */
#include <clmnist/clmnist.h>
#include <stdio.h>
#include <stdlib.h>

/* Called after each epoch (and during it); returning nonzero would stop the run. */
static int on_event(void *user, const clmnist_train_event *ev) {
    (void)user;
    if (ev->kind == CLMNIST_EVENT_EPOCH)
        printf("epoch %d/%d: train loss %.4f acc %.2f%%, test acc %.2f%%, %.0f images/s\n", ev->epoch, ev->epochs,
               ev->loss, 100.0 * ev->accuracy, 100.0 * ev->eval_accuracy, ev->images_per_second);
    return 0;
}

int main(int argc, char **argv) {
    const char *data = argc > 1 ? argv[1] : "data/mnist", *out = argc > 2 ? argv[2] : "mnist-cnn.safetensors";
    clmnist_ctx *ctx = NULL;
    clmnist_dataset *ds = NULL;
    clmnist_train_options *opts = NULL;
    clmnist_model *model = NULL;
    int st = clmnist_open(getenv("CLMNIST_OPTIONS"), &ctx);
    if (!st) st = clmnist_dataset_open(ctx, data, NULL, &ds);
    if (!st) st = clmnist_train_options_new(&opts);
    /* options by the names of 'clmnist train's flags: two conv-relu-pool blocks, a linear classifier */
    if (!st) st = clmnist_train_options_set(opts, "arch", "conv16k3p1-relu-pool2-conv32k3p1-relu-pool2-flatten-fc10");
    if (!st) st = clmnist_train_options_set(opts, "optimizer", "adam");
    if (!st) st = clmnist_train_options_set(opts, "lr", "0.001");
    if (!st) st = clmnist_train_options_set(opts, "epochs", argc > 3 ? argv[3] : "2");
    if (!st && argc > 4) st = clmnist_train_options_set(opts, "limit", argv[4]);
    if (!st) st = clmnist_train(ctx, ds, opts, on_event, NULL, &model);
    if (!st) st = clmnist_model_save(model, out);
    if (st)
        fprintf(stderr, "train: %s\n", clmnist_last_error());
    else
        printf("saved %s (test accuracy %s)\n", out, clmnist_model_meta(model, "test_accuracy"));
    clmnist_model_free(model);
    clmnist_train_options_free(opts);
    clmnist_dataset_free(ds);
    clmnist_close(ctx);
    return st ? 1 : 0;
}
