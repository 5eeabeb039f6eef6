/* cli.c: the training options shared by `train` and `compare`, and their setup steps. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "clmnist_version.h"
#include "digest.h"
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
    for (const cm_extra_option *e = info->extra; e && e->name; e++) printf("%s", e->help);
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
    a->info = stdout;
    enum { O_DATA = 256, O_BACKEND, O_DEVICE, O_LAYERS, O_EPOCHS, O_BATCH, O_LR, O_SEED, O_VAL, O_THREADS,
           O_RESIDENT, O_STREAMED, O_MOMENTUM, O_SCHEDULE };
    static const struct option base_opts[] = {
        {"data", required_argument, NULL, O_DATA},       {"backend", required_argument, NULL, O_BACKEND},
        {"device", required_argument, NULL, O_DEVICE},   {"layers", required_argument, NULL, O_LAYERS},
        {"epochs", required_argument, NULL, O_EPOCHS},   {"batch", required_argument, NULL, O_BATCH},
        {"lr", required_argument, NULL, O_LR},           {"momentum", required_argument, NULL, O_MOMENTUM},
        {"schedule", required_argument, NULL, O_SCHEDULE},           {"seed", required_argument, NULL, O_SEED},
        {"val", required_argument, NULL, O_VAL},         {"threads", required_argument, NULL, O_THREADS},
        {"resident", no_argument, NULL, O_RESIDENT},     {"streamed", no_argument, NULL, O_STREAMED},
        {"help", no_argument, NULL, 'h'}};
    enum { NBASE = sizeof base_opts / sizeof base_opts[0], MAX_EXTRA = 32, O_EXTRA = 1024 };
    struct option opts[NBASE + MAX_EXTRA + 1];
    memcpy(opts, base_opts, sizeof base_opts);
    int nopt = NBASE;
    for (int i = 0; info->extra && info->extra[i].name && i < MAX_EXTRA; i++)
        opts[nopt++] = (struct option){info->extra[i].name, info->extra[i].has_arg ? required_argument : no_argument,
                                       NULL, O_EXTRA + i};
    opts[nopt] = (struct option){NULL, 0, NULL, 0};
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
            if (c >= O_EXTRA && c < O_EXTRA + MAX_EXTRA) {
                CM_TRY(info->on_extra(info->ctx, c - O_EXTRA, optarg));
                break;
            }
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
    fprintf(a->info, "data: %s: %d training, %d %s images of %dx%d, %d classes (%.2f s)\n", a->data_dir, ds->train.count,
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

static const char *const digit_names[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
static const char *const fashion_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
static const char *const kmnist_names[10] = {"o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"};

const char *const *cli_known_class_names(const char *name, int classes) {
    if (classes != 10 || !name) return NULL;
    if (strstr(name, "fashion")) return fashion_names;
    if (strstr(name, "kmnist")) return kmnist_names;
    if (!strcmp(name, "mnist") || !strncmp(name, "mnist", 5)) return digit_names;
    return NULL;
}

const char *const *cli_meta_class_names(const cm_meta *meta, int classes, char (*store)[32], const char **names) {
    const char *text = meta_get(meta, "class_names");
    if (!text) return NULL;
    cJSON *arr = cJSON_Parse(text);
    int ok = cJSON_IsArray(arr) && cJSON_GetArraySize(arr) == classes;
    for (int c = 0; ok && c < classes; c++) {
        const cJSON *s = cJSON_GetArrayItem(arr, c);
        ok = cJSON_IsString(s);
        if (ok) {
            snprintf(store[c], 32, "%s", s->valuestring);
            names[c] = store[c];
        }
    }
    cJSON_Delete(arr);
    return ok ? names : NULL;
}

cm_status cli_model_meta(const cm_train_args *a, const cm_dataset *ds, const cm_backend *b, cm_meta *m) {
    memset(m, 0, sizeof *m);
    char arch[256];
    cm_layout L;
    CM_TRY(model_layout(&L, ds->train.dim, a->hidden, a->nhidden, ds->classes, CM_PARAM_ALIGN_BYTES));
    model_describe(&L, arch, sizeof arch);
    CM_TRY(meta_set(m, "format", "pt"));
    CM_TRY(meta_set(m, "clmnist.format_version", "1"));
    CM_TRY(meta_set(m, "clmnist.version", "%s", CLMNIST_VERSION));
    CM_TRY(meta_set(m, "architecture", "mlp"));
    CM_TRY(meta_set(m, "layers", "%s", arch));
    CM_TRY(meta_set(m, "activation", "relu"));
    CM_TRY(meta_set(m, "input_size", "%d", ds->train.dim));
    CM_TRY(meta_set(m, "input_shape", "%dx%d", ds->train.rows, ds->train.cols));
    CM_TRY(meta_set(m, "input_scaling", "pixels / 255 (uint8 to [0, 1]); white ink on black, as in MNIST"));
    CM_TRY(meta_set(m, "classes", "%d", ds->classes));
    const char *const *names = cli_known_class_names(ds->name, ds->classes);
    if (names) {
        cJSON *arr = cJSON_CreateStringArray(names, ds->classes);
        char *text = cJSON_PrintUnformatted(arr);
        cJSON_Delete(arr);
        if (text) CM_TRY(meta_set(m, "class_names", "%s", text));
        free(text);
    }
    CM_TRY(meta_set(m, "dataset", "%s", ds->name));
    cJSON *sha = cJSON_CreateObject();
    const char *stems[2] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"};
    for (int i = 0; i < 2; i++) {
        char path[4096], hex[65];
        if (dataset_find_file(a->data_dir, stems[i], path, sizeof path) == 0 && digest_file_sha256(path, hex) == CM_OK) {
            const char *base = strrchr(path, '/');
            cJSON_AddStringToObject(sha, base ? base + 1 : path, hex);
        }
    }
    char *text = cJSON_PrintUnformatted(sha);
    cJSON_Delete(sha);
    if (text) CM_TRY(meta_set(m, "dataset_sha256", "%s", text));
    free(text);
    CM_TRY(meta_set(m, "train.optimizer", "%s", a->momentum > 0.0f ? "sgd-momentum" : "sgd"));
    CM_TRY(meta_set(m, "train.lr", "%.9g", (double)a->lr));
    CM_TRY(meta_set(m, "train.momentum", "%.9g", (double)a->momentum));
    CM_TRY(meta_set(m, "train.schedule", "%s", a->schedule == CM_SCHEDULE_COSINE ? "cosine" : "constant"));
    CM_TRY(meta_set(m, "train.batch", "%d", a->batch));
    CM_TRY(meta_set(m, "train.epochs", "%d", a->epochs));
    CM_TRY(meta_set(m, "train.seed", "%llu", (unsigned long long)a->seed));
    CM_TRY(meta_set(m, "train.val", "%d", a->val));
    CM_TRY(meta_set(m, "backend", "%s", b->kind));
    CM_TRY(meta_set(m, "device", "%s", b->device_name));
    return CM_OK;
}

cm_status cli_load_test_only(const char *dir, cm_dataset *ds) {
    memset(ds, 0, sizeof *ds);
    char ip[4096], lp[4096];
    if (dataset_find_file(dir, "t10k-images-idx3-ubyte", ip, sizeof ip) != 0)
        return cm_fail(CM_ERR_IO, "%s: no t10k-images-idx3-ubyte[.gz] (or t10k-images.idx3-ubyte) here; "
                                  "try data/fetch mnist or --data DIR", dir);
    if (dataset_find_file(dir, "t10k-labels-idx1-ubyte", lp, sizeof lp) != 0)
        return cm_fail(CM_ERR_IO, "%s: no t10k-labels-idx1-ubyte[.gz] here", dir);
    CM_TRY(dataset_load_split(ip, lp, &ds->test));
    ds->train = ds->test;
    ds->train.borrowed = 1;
    int mx = 0;
    for (int32_t i = 0; i < ds->test.count; i++) mx = ds->test.labels[i] > mx ? ds->test.labels[i] : mx;
    ds->classes = mx + 1;
    const char *base = strrchr(dir, '/');
    snprintf(ds->name, sizeof ds->name, "%s", base && base[1] ? base + 1 : dir);
    return CM_OK;
}
