/* cli.c: the training options shared by `train` and `compare`, and their setup steps. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timer.h"

#define DEFAULT_LAYERS "512,256"
#define DEFAULT_EPOCHS 3
#define DEFAULT_BATCH 128
#define DEFAULT_LR 0.1
#define DEFAULT_MOMENTUM 0.9
#define DEFAULT_SEED 42

cm_status cli_parse_int(const char *flag, const char *text, long min, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end || errno || v < min || v > max)
        return cm_fail(CM_ERR_USAGE, "%s '%s': expected an integer between %ld and %ld", flag, text, min, max);
    *out = v;
    return CM_OK;
}

cm_status cli_parse_float(const char *flag, const char *text, double min, double max, double *out) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end || errno || !isfinite(v) || v < min || v > max)
        return cm_fail(CM_ERR_USAGE, "%s '%s': expected a number between %g and %g", flag, text, min, max);
    *out = v;
    return CM_OK;
}

static void usage(const cm_command_info *info) {
    printf("usage: clmnist %s [options]\n\n%s\n\noptions:\n", info->name, info->summary);
    printf("  --data DIR        IDX dataset directory (default: $CLMNIST_DATA or data/mnist)\n");
    if (info->with_backend)
        printf("  --backend B       'device' (OpenCL, default) or 'host' (plain-C reference)\n");
    printf("  --device SEL      OpenCL device: index or name substring from 'clmnist devices'\n"
           "                    (default: $CLMNIST_DEVICE, else the first GPU, else device 0)\n");
    printf("  --layers L        hidden layer sizes, e.g. 512,256 (default %s)\n", DEFAULT_LAYERS);
    printf("  --epochs N        passes over the training set (default %d)\n", DEFAULT_EPOCHS);
    printf("  --batch N         examples per SGD step (default %d)\n", DEFAULT_BATCH);
    printf("  --lr F            SGD learning rate (default %g)\n", DEFAULT_LR);
    printf("  --momentum F      SGD momentum, 0 for plain SGD (default %g)\n", DEFAULT_MOMENTUM);
    printf("  --schedule S      learning rate over the run: 'cosine' (decays to 0, default) or 'constant'\n");
    printf("  --seed N          seed for initialisation and shuffling (default %d)\n", DEFAULT_SEED);
    printf("  --val N           hold out the last N training images for validation\n");
    printf("  --threads N       host backend threads (default: all cores)\n");
    printf("  --resident        keep the whole training set on the device (default when it fits)\n");
    printf("  --streamed        upload each batch as uint8, overlapped with compute\n");
    printf("  -h, --help        show this help\n");
}

cm_status cli_parse_train(int argc, char **argv, const cm_command_info *info, cm_train_args *a, int *help) {
    memset(a, 0, sizeof *a);
    *help = 0;
    const char *env_data = getenv("CLMNIST_DATA");
    a->data_dir = env_data && *env_data ? env_data : "data/mnist";
    a->backend = "device";
    a->layers = DEFAULT_LAYERS;
    a->epochs = DEFAULT_EPOCHS;
    a->batch = DEFAULT_BATCH;
    a->lr = (float)DEFAULT_LR;
    a->momentum = (float)DEFAULT_MOMENTUM;
    a->schedule = CM_SCHEDULE_COSINE;
    a->seed = DEFAULT_SEED;
    a->feed = CM_FEED_AUTO;
    enum { O_DATA = 256, O_BACKEND, O_DEVICE, O_LAYERS, O_EPOCHS, O_BATCH, O_LR, O_SEED, O_VAL, O_THREADS,
           O_RESIDENT, O_STREAMED, O_MOMENTUM, O_SCHEDULE };
    static const struct option opts[] = {
        {"data", required_argument, NULL, O_DATA},       {"backend", required_argument, NULL, O_BACKEND},
        {"device", required_argument, NULL, O_DEVICE},   {"layers", required_argument, NULL, O_LAYERS},
        {"epochs", required_argument, NULL, O_EPOCHS},   {"batch", required_argument, NULL, O_BATCH},
        {"lr", required_argument, NULL, O_LR},           {"momentum", required_argument, NULL, O_MOMENTUM},
        {"schedule", required_argument, NULL, O_SCHEDULE},           {"seed", required_argument, NULL, O_SEED},
        {"val", required_argument, NULL, O_VAL},         {"threads", required_argument, NULL, O_THREADS},
        {"resident", no_argument, NULL, O_RESIDENT},     {"streamed", no_argument, NULL, O_STREAMED},
        {"help", no_argument, NULL, 'h'},                {NULL, 0, NULL, 0}};
    optind = 1;
    opterr = 0;
    int c;
    long v;
    double d;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case O_DATA: a->data_dir = optarg; break;
        case O_BACKEND:
            if (!info->with_backend) return cm_fail(CM_ERR_USAGE, "clmnist %s: --backend is not an option here", info->name);
            if (strcmp(optarg, "host") && strcmp(optarg, "device"))
                return cm_fail(CM_ERR_USAGE, "--backend '%s': expected 'host' or 'device'", optarg);
            a->backend = optarg;
            break;
        case O_DEVICE: a->device = optarg; break;
        case O_LAYERS: a->layers = optarg; break;
        case O_EPOCHS: CM_TRY(cli_parse_int("--epochs", optarg, 1, 100000, &v)); a->epochs = (int)v; break;
        case O_BATCH: CM_TRY(cli_parse_int("--batch", optarg, 1, 1 << 20, &v)); a->batch = (int)v; break;
        case O_LR: CM_TRY(cli_parse_float("--lr", optarg, 1e-12, 1e6, &d)); a->lr = (float)d; break;
        case O_MOMENTUM: CM_TRY(cli_parse_float("--momentum", optarg, 0.0, 0.999, &d)); a->momentum = (float)d; break;
        case O_SCHEDULE:
            if (!strcmp(optarg, "cosine")) a->schedule = CM_SCHEDULE_COSINE;
            else if (!strcmp(optarg, "constant")) a->schedule = CM_SCHEDULE_CONSTANT;
            else return cm_fail(CM_ERR_USAGE, "--schedule '%s': expected 'cosine' or 'constant'", optarg);
            break;
        case O_SEED: CM_TRY(cli_parse_int("--seed", optarg, 0, 0x7fffffffL, &v)); a->seed = (uint64_t)v; break;
        case O_VAL: CM_TRY(cli_parse_int("--val", optarg, 0, 0x7fffffffL, &v)); a->val = (int)v; break;
        case O_THREADS: CM_TRY(cli_parse_int("--threads", optarg, 1, 1024, &v)); a->threads = (int)v; break;
        case O_RESIDENT: a->feed = CM_FEED_RESIDENT; break;
        case O_STREAMED: a->feed = CM_FEED_STREAMED; break;
        case 'h': usage(info); *help = 1; return CM_OK;
        case ':': return cm_fail(CM_ERR_USAGE, "clmnist %s: %s needs a value", info->name, argv[optind - 1]);
        default:
            return cm_fail(CM_ERR_USAGE, "clmnist %s: unknown option '%s' (see 'clmnist %s --help')", info->name,
                           argv[optind - 1], info->name);
        }
    }
    CM_TRY(model_parse_layers(a->layers, a->hidden, &a->nhidden)); /* a bad --layers fails before data loads */
    if (optind < argc)
        return cm_fail(CM_ERR_USAGE, "clmnist %s: unexpected argument '%s' (see 'clmnist %s --help')", info->name,
                       argv[optind], info->name);
    return CM_OK;
}

cm_status cli_load_data(const cm_train_args *a, cm_dataset *ds) {
    double t0 = timer_now();
    CM_TRY(dataset_load_dir(a->data_dir, a->val, ds));
    printf("data: %s: %d training, %d %s images of %dx%d, %d classes (%.2f s)\n", a->data_dir, ds->train.count,
           ds->test.count, a->val ? "validation" : "test", ds->train.rows, ds->train.cols, ds->classes,
           timer_now() - t0);
    return CM_OK;
}

cm_status cli_init_model(const cm_train_args *a, const cm_dataset *ds, size_t align_bytes, const cm_backend *b,
                         cm_model *model) {
    cm_layout layout;
    CM_TRY(model_layout(&layout, ds->train.dim, a->hidden, a->nhidden, ds->classes, align_bytes));
    size_t bytes = layout.total * sizeof(float);
    if (bytes > b->max_alloc_bytes)
        return cm_fail(CM_ERR_MEMORY,
                       "device '%s': buffer 'parameters' needs %.1f MiB but the device allows at most %.1f MiB per "
                       "buffer; use smaller --layers",
                       b->device_name, (double)bytes / 1048576.0, (double)b->max_alloc_bytes / 1048576.0);
    return model_init(model, &layout, a->seed);
}

cm_train_config cli_train_config(const cm_train_args *a) {
    cm_train_config cfg = {.batch = a->batch, .lr = a->lr, .momentum = a->momentum,
                           .schedule = a->schedule, .epochs = a->epochs, .seed = a->seed, .feed = a->feed};
    return cfg;
}
