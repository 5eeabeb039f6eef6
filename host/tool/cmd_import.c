/* cmd_import.c: clmnist import SRC DEST: any data --data reads (IDX, CSV, an image folder,
 * EMNIST/KMNIST) written once as standard IDX files plus classes.txt and classes.json, so that a
 * large folder of images is decoded once and then loads as fast as MNIST. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "preflight.h"
#include "timer.h"

typedef struct {
    cm_data_options o;
    int raw;
    const char *src, *dest;
} import_args;

static const cm_extra_option import_extra[] = {{"raw", 0, "  --raw             write uncompressed files (no .gz)\n"},
                                               {NULL, 0, NULL}};

static cm_status on_extra(void *ctx, int index, const char *value) {
    ((import_args *)ctx)->raw = 1; /* --raw */
    return CM_OK;
}

static cm_status parse(int argc, char **argv, import_args *a, int *help) {
    const cm_command_info info = {
        "import",
        CM_CMD_IMPORT,
        "import [options] SRC DEST",
        "Reads SRC as --data would (IDX, CSV, or an image folder; see docs/data.md) and\n"
        "writes it to the folder DEST as train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,\n"
        "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (the test split, or the held-out\n"
        "fraction), plus classes.txt and classes.json when the data names its classes, and source.json\n"
        "(how the images were made, how the test split was held out). Training on DEST then gives\n"
        "the same data and records the same input pipeline as training on SRC with the same options.",
        import_extra,
        on_extra,
        a,
        0};
    cm_train_args t;
    int nargs;
    CM_TRY(cli_parse(argc, argv, &info, &t, help, &nargs));
    if (*help) return CM_OK;
    if (nargs != 2) return cm_fail(CM_ERR_USAGE, "clmnist import: expected SRC and DEST (see 'clmnist import --help')");
    a->o = t.data;
    a->o.seed = t.seed;
    a->src = argv[argc - 2];
    a->dest = argv[argc - 1];
    return CM_OK;
}

cm_status cmd_import(int argc, char **argv) {
    import_args a = {0};
    dataset_default_options(&a.o);
    int help = 0;
    CM_TRY(parse(argc, argv, &a, &help));
    if (help) return CM_OK;
    CM_TRY(preflight_dir_creatable("import DEST", a.dest)); /* before reading SRC; created once it is read */
    double t0 = timer_now();
    cm_dataset ds;
    CM_TRY(dataset_open(a.src, &a.o, &ds));
    cm_status st = dataset_write_idx(&ds, a.dest, !a.raw);
    if (st == CM_OK) st = dataset_write_source(a.dest, &ds); /* how the images were made, the split */
    if (st == CM_OK)
        printf("import: %s -> %s: %d training and %d test images of %dx%d, %d classes%s (%.2f s)\n", a.src, a.dest,
               ds.train.count, ds.test.count, ds.train.rows, ds.train.cols, ds.classes,
               ds.class_names ? ", classes.txt" : "", timer_now() - t0);
    dataset_free(&ds);
    return st;
}
