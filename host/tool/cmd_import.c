/* cmd_import.c: clmnist import SRC DEST: any data --data reads (IDX, CSV, an image folder,
 * EMNIST/KMNIST) written once as standard IDX files plus classes.txt and classes.json, so that a
 * large folder of images is decoded once and then loads as fast as MNIST. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "timer.h"

static void usage(void) {
    printf("usage: clmnist import [options] SRC DEST\n\n"
           "Reads SRC as --data would (IDX, CSV, or an image folder; see README, 'Your own data') and\n"
           "writes it to the folder DEST as train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,\n"
           "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (the test split, or the held-out\n"
           "fraction), plus classes.txt and classes.json when the data names its classes, and source.json\n"
           "(how the images were made, how the test split was held out). Training on DEST then gives\n"
           "the same data and records the same input pipeline as training on SRC with the same options.\n\n"
           "options:\n%s"
           "  --seed N          seed of the held-out test split (default 42)\n"
           "  --raw             write uncompressed files (no .gz)\n"
           "  -h, --help        show this help\n",
           cli_data_options_help);
}

typedef struct {
    cm_data_options o;
    int raw;
    const char *src, *dest;
} import_args;

static cm_status parse(int argc, char **argv, import_args *a, int *help) {
    static const struct option opts[] = {{"image-size", required_argument, NULL, 'i'},
                                         {"preprocess", required_argument, NULL, 'p'},
                                         {"test-fraction", required_argument, NULL, 'f'},
                                         {"transpose", required_argument, NULL, 't'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"raw", no_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    optind = 1;
    opterr = 0;
    long n;
    for (int c, i; (c = getopt_long(argc, argv, ":h", opts, &i)) != -1;) {
        if (c == 'h') {
            usage();
            *help = 1;
            return CM_OK;
        }
        if (c == ':') return cm_fail(CM_ERR_USAGE, "clmnist import: %s needs a value", argv[optind - 1]);
        if (c == '?')
            return cm_fail(CM_ERR_USAGE, "clmnist import: unknown option '%s' (see 'clmnist import --help')",
                           argv[optind - 1]);
        if (c == 'r') a->raw = 1;
        if (c == 's') CM_TRY(cm_parse_int("--seed", optarg, 0, 0x7fffffffL, &n));
        if (c == 's') a->o.seed = (uint64_t)n;
        if (strchr("ipft", c)) CM_TRY(run_set_data_option(&a->o, opts[i].name, optarg));
    }
    if (argc - optind != 2)
        return cm_fail(CM_ERR_USAGE, "clmnist import: expected SRC and DEST (see 'clmnist import --help')");
    a->src = argv[optind];
    a->dest = argv[optind + 1];
    return CM_OK;
}

cm_status cmd_import(int argc, char **argv) {
    import_args a = {0};
    dataset_default_options(&a.o);
    int help = 0;
    CM_TRY(parse(argc, argv, &a, &help));
    if (help) return CM_OK;
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
