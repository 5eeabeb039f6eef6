/* cli.c: the training options shared by `train` and `compare`, and their setup steps. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "train_loop.h"
#include "clmnist_version.h"
#include "digest.h"
#include "timer.h"

#define DEFAULT_SEED 42

static void usage(const cm_command_info *info) {
    printf("usage: clmnist %s [options]\n\n%s\n\noptions:\n", info->name, info->summary);
    printf("  --data PATH       IDX directory, CSV or image folder (default: $CLMNIST_DATA or data/mnist;\n"
           "                    see README, 'Your own data')\n%s",
           cli_data_options_help);
    if (info->with_backend)
        printf("  --backend B       'device' (OpenCL, default) or 'host' (C reference backend, OpenBLAS GEMM)\n");
    printf("  --device SEL      OpenCL device: index or name substring from 'clmnist devices'\n"
           "                    (default: $CLMNIST_DEVICE, else the first GPU, else device 0; under\n"
           "                    mpirun, each rank's GPU by its place on the node)\n");
    printf("  --preset P        the recipe the other flags start from (flags override it):\n");
    for (const cli_preset *p = cli_presets; p->name; p++)
        printf("                      %-8s %s%s\n", p->name, p->summary, p == cli_presets ? " (default)" : "");
    printf("  --layers L        an MLP's hidden layer sizes, e.g. 512,256\n");
    printf("  --arch SPEC       any layer sequence, e.g. conv32k5p2-bn-relu-pool2-flatten-fc128-relu-fc10\n"
           "                    (conv<C>k<K>[s<S>][p<P>], pool<K>[s<S>], bn, relu, drop<P>, flatten, fc<N>;\n"
           "                    see README); replaces --layers and --dropout\n");
    printf("  --epochs N        passes over the training set\n");
    printf("  --batch N         examples per step (under mpirun: over all ranks, each trains N / ranks)\n");
    printf("  --optimizer O     sgd, momentum (SGD with momentum), nesterov, adam or adamw\n");
    printf("  --lr F            learning rate (the peak rate for onecycle)\n");
    printf("  --momentum F      momentum for momentum and nesterov (default 0.9)\n");
    printf("  --beta1 F, --beta2 F, --eps F   Adam(W) coefficients (default 0.9, 0.999, 1e-8)\n");
    printf("  --weight-decay F  L2 added to the gradient; decoupled (w *= 1 - lr F) for adamw\n");
    printf("  --schedule S      constant, cosine (to 0 at the end), step (x gamma every --step-size\n"
           "                    epochs) or onecycle (PyTorch OneCycleLR defaults, peak --lr)\n");
    printf("  --warmup-steps N  scale the rate up linearly over the first N steps\n");
    printf("  --step-size N     step schedule: epochs between decays (default 1/3 of the run)\n");
    printf("  --gamma F         step schedule: decay factor (default 0.1)\n");
    printf("  --dropout P       dropout probability after each hidden layer (0: off)\n");
    printf("  --max-norm C      cap the L2 norm of each unit's incoming weights at C (0: off)\n");
    printf("  --augment SPEC    random training-time transforms, e.g. shift=2,rotate=10,scale=0.1\n"
           "                    (pixels, degrees, relative size), flip=P (mirror with probability P);\n"
           "                    'none' to turn off\n");
    printf("  --seed N          seed for initialisation, shuffling, dropout, augmentation (default %d)\n",
           DEFAULT_SEED);
    printf("  --val N           hold out the last N training images for validation\n");
    printf("  --limit N         train on the first N training images only (0: all)\n");
    printf("  --threads N       host backend threads (default: all cores; under mpirun, shared by a node's ranks)\n");
    printf("  --resident        keep the whole training set on the device (default when it fits)\n");
    printf("  --streamed        upload each batch as uint8, overlapped with compute\n");
    for (const cm_extra_option *e = info->extra; e && e->name; e++)
        printf("%s", e->help);
    printf("  -h, --help        show this help\n");
}

static cm_status parse_augment(const char *text, cm_augment *out) {
    cm_augment a = {0};
    if (strcmp(text, "none") != 0 && strcmp(text, "off") != 0) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", text);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(tok, '=');
            if (!eq)
                return cm_fail(CM_ERR_USAGE,
                               "--augment '%s': expected key=value pairs, e.g. shift=2,rotate=10,scale=0.1", text);
            *eq = '\0';
            double v;
            float *dst = !strcmp(tok, "shift")    ? &a.shift
                         : !strcmp(tok, "rotate") ? &a.rotate
                         : !strcmp(tok, "scale")  ? &a.scale
                         : !strcmp(tok, "flip")   ? &a.flip
                                                  : NULL;
            if (!dst)
                return cm_fail(CM_ERR_USAGE,
                               "--augment: unknown transform '%s' (expected shift, rotate, scale or flip)", tok);
            char flag[32];
            snprintf(flag, sizeof flag, "--augment %s", tok);
            double max = dst == &a.shift ? 64.0 : dst == &a.rotate ? 180.0 : dst == &a.scale ? 0.99 : 1.0;
            CM_TRY(cm_parse_float(flag, eq + 1, 0.0, max, &v));
            *dst = (float)v;
        }
    }
    *out = a;
    return CM_OK;
}

enum {
    O_DATA = 256,
    O_BACKEND,
    O_DEVICE,
    O_PRESET,
    O_LAYERS,
    O_ARCH,
    O_EPOCHS,
    O_BATCH,
    O_OPTIMIZER,
    O_LR,
    O_MOMENTUM,
    O_BETA1,
    O_BETA2,
    O_EPS,
    O_WEIGHT_DECAY,
    O_SCHEDULE,
    O_WARMUP,
    O_STEP_SIZE,
    O_GAMMA,
    O_DROPOUT,
    O_MAX_NORM,
    O_AUGMENT,
    O_SEED,
    O_VAL,
    O_LIMIT,
    O_THREADS,
    O_RESIDENT,
    O_STREAMED,
    O_IMAGE_SIZE,
    O_PREPROCESS,
    O_TEST_FRACTION,
    O_TRANSPOSE
};
static const struct option base_opts[] = {{"data", required_argument, NULL, O_DATA},
                                          {"backend", required_argument, NULL, O_BACKEND},
                                          {"device", required_argument, NULL, O_DEVICE},
                                          {"preset", required_argument, NULL, O_PRESET},
                                          {"layers", required_argument, NULL, O_LAYERS},
                                          {"arch", required_argument, NULL, O_ARCH},
                                          {"epochs", required_argument, NULL, O_EPOCHS},
                                          {"batch", required_argument, NULL, O_BATCH},
                                          {"optimizer", required_argument, NULL, O_OPTIMIZER},
                                          {"lr", required_argument, NULL, O_LR},
                                          {"momentum", required_argument, NULL, O_MOMENTUM},
                                          {"beta1", required_argument, NULL, O_BETA1},
                                          {"beta2", required_argument, NULL, O_BETA2},
                                          {"eps", required_argument, NULL, O_EPS},
                                          {"weight-decay", required_argument, NULL, O_WEIGHT_DECAY},
                                          {"schedule", required_argument, NULL, O_SCHEDULE},
                                          {"warmup-steps", required_argument, NULL, O_WARMUP},
                                          {"step-size", required_argument, NULL, O_STEP_SIZE},
                                          {"gamma", required_argument, NULL, O_GAMMA},
                                          {"dropout", required_argument, NULL, O_DROPOUT},
                                          {"max-norm", required_argument, NULL, O_MAX_NORM},
                                          {"augment", required_argument, NULL, O_AUGMENT},
                                          {"seed", required_argument, NULL, O_SEED},
                                          {"val", required_argument, NULL, O_VAL},
                                          {"limit", required_argument, NULL, O_LIMIT},
                                          {"threads", required_argument, NULL, O_THREADS},
                                          {"resident", no_argument, NULL, O_RESIDENT},
                                          {"streamed", no_argument, NULL, O_STREAMED},
                                          {"image-size", required_argument, NULL, O_IMAGE_SIZE},
                                          {"preprocess", required_argument, NULL, O_PREPROCESS},
                                          {"test-fraction", required_argument, NULL, O_TEST_FRACTION},
                                          {"transpose", required_argument, NULL, O_TRANSPOSE},
                                          {"help", no_argument, NULL, 'h'}};
enum { NBASE = sizeof base_opts / sizeof base_opts[0] };

static const char *const optimizer_names[] = {"sgd", "momentum", "nesterov", "adam", "adamw"};

/* Applies one option (by id) from its text. */
static cm_status apply_option(cm_train_args *a, int id, const char *v) {
    long n;
    double d;
    switch (id) {
    case O_DATA: a->data_dir = v; break;
    case O_BACKEND:
        if (strcmp(v, "host") != 0 && strcmp(v, "device") != 0)
            return cm_fail(CM_ERR_USAGE, "--backend '%s': expected 'host' or 'device'", v);
        a->backend = v;
        break;
    case O_DEVICE: a->device = v; break;
    case O_PRESET: break; /* applied before the other flags */
    case O_LAYERS:
        CM_TRY(model_parse_layers(v, a->hidden, &a->nhidden)); /* a bad --layers fails before data loads */
        a->layers = v;
        a->arch[0] = '\0'; /* --layers after an --arch (or a CNN preset) means an MLP */
        break;
    case O_ARCH:
        if (strlen(v) >= sizeof a->arch)
            return cm_fail(CM_ERR_USAGE, "--arch: longer than %zu characters", sizeof a->arch - 1);
        snprintf(a->arch, sizeof a->arch, "%s", v);
        break;
    case O_EPOCHS:
        CM_TRY(cm_parse_int("--epochs", v, 1, 100000, &n));
        a->epochs = (int)n;
        break;
    case O_BATCH:
        CM_TRY(cm_parse_int("--batch", v, 1, 1 << 20, &n));
        a->batch = (int)n;
        break;
    case O_OPTIMIZER: {
        size_t i = 0;
        while (i < 5 && strcmp(v, optimizer_names[i]) != 0)
            i++;
        if (i == 5)
            return cm_fail(CM_ERR_USAGE, "--optimizer '%s': expected sgd, momentum, nesterov, adam or adamw", v);
        a->optimizer = optimizer_names[i];
        break;
    }
    case O_LR:
        CM_TRY(cm_parse_float("--lr", v, 1e-12, 1e6, &d));
        a->lr = (float)d;
        break;
    case O_MOMENTUM:
        CM_TRY(cm_parse_float("--momentum", v, 0.0, 0.999, &d));
        a->momentum = (float)d;
        break;
    case O_BETA1:
        CM_TRY(cm_parse_float("--beta1", v, 0.0, 0.9999, &d));
        a->beta1 = (float)d;
        break;
    case O_BETA2:
        CM_TRY(cm_parse_float("--beta2", v, 0.0, 0.999999, &d));
        a->beta2 = (float)d;
        break;
    case O_EPS:
        CM_TRY(cm_parse_float("--eps", v, 1e-30, 1.0, &d));
        a->eps = (float)d;
        break;
    case O_WEIGHT_DECAY:
        CM_TRY(cm_parse_float("--weight-decay", v, 0.0, 1.0, &d));
        a->weight_decay = (float)d;
        break;
    case O_SCHEDULE: {
        int k = schedule_parse(v);
        if (k < 0) return cm_fail(CM_ERR_USAGE, "--schedule '%s': expected constant, cosine, step or onecycle", v);
        a->schedule = (cm_schedule)k;
        break;
    }
    case O_WARMUP:
        CM_TRY(cm_parse_int("--warmup-steps", v, 0, 100000000, &n));
        a->warmup_steps = (int)n;
        break;
    case O_STEP_SIZE:
        CM_TRY(cm_parse_int("--step-size", v, 0, 100000, &n));
        a->step_size = (int)n;
        break;
    case O_GAMMA:
        CM_TRY(cm_parse_float("--gamma", v, 1e-6, 1.0, &d));
        a->gamma = (float)d;
        break;
    case O_DROPOUT:
        CM_TRY(cm_parse_float("--dropout", v, 0.0, 0.95, &d));
        a->dropout = (float)d;
        break;
    case O_MAX_NORM:
        CM_TRY(cm_parse_float("--max-norm", v, 0.0, 1e6, &d));
        a->max_norm = (float)d;
        break;
    case O_AUGMENT: CM_TRY(parse_augment(v, &a->augment)); break;
    case O_SEED:
        CM_TRY(cm_parse_int("--seed", v, 0, 0x7fffffffL, &n));
        a->seed = (uint64_t)n;
        break;
    case O_VAL:
        CM_TRY(cm_parse_int("--val", v, 0, 0x7fffffffL, &n));
        a->val = (int)n;
        break;
    case O_LIMIT:
        CM_TRY(cm_parse_int("--limit", v, 0, 0x7fffffffL, &n));
        a->limit = (int)n;
        break;
    case O_THREADS:
        CM_TRY(cm_parse_int("--threads", v, 1, 1024, &n));
        a->threads = (int)n;
        break;
    case O_RESIDENT: a->feed = CM_FEED_RESIDENT; break;
    case O_STREAMED: a->feed = CM_FEED_STREAMED; break;
    case O_IMAGE_SIZE: return cli_set_data_option(&a->data, "image-size", v);
    case O_PREPROCESS: return cli_set_data_option(&a->data, "preprocess", v);
    case O_TEST_FRACTION: return cli_set_data_option(&a->data, "test-fraction", v);
    case O_TRANSPOSE: return cli_set_data_option(&a->data, "transpose", v);
    default: return cm_fail(CM_ERR_USAGE, "internal: unknown option id %d", id);
    }
    return CM_OK;
}

static cm_status apply_preset(cm_train_args *a, const char *name);

cm_status cli_set_train_option(cm_train_args *a, const char *name, const char *value) {
    if (!strcmp(name, "preset")) return apply_preset(a, value);
    for (int i = 0; i < NBASE; i++)
        if (!strcmp(base_opts[i].name, name)) return apply_option(a, base_opts[i].val, value);
    return cm_fail(CM_ERR_USAGE, "unknown option '%s'", name);
}

static cm_status apply_preset(cm_train_args *a, const char *name) {
    const cli_preset *p = cli_presets;
    while (p->name && strcmp(p->name, name) != 0)
        p++;
    if (!p->name) return cm_fail(CM_ERR_USAGE, "--preset '%s': expected fast, best, cnn or cnn-best", name);
    a->preset = p->name;
    for (const char *const *kv = p->settings; *kv; kv++) {
        char key[64];
        const char *eq = strchr(*kv, '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - *kv), *kv);
        CM_TRY(cli_set_train_option(a, key, eq + 1));
    }
    return CM_OK;
}

static char **join_optional_values(int *argc, char **argv, const cm_command_info *info) {
    enum { MAX_ARGS = 512 };
    static char *joined[MAX_ARGS + 1];
    static char text[8][80];
    int n = 0, used = 0;
    for (int i = 0; i < *argc && n < MAX_ARGS; i++) {
        joined[n++] = argv[i];
        for (const cm_extra_option *e = info->extra; e && e->name && i + 1 < *argc; e++) {
            if (e->has_arg != 2 || strncmp(argv[i], "--", 2) || strcmp(argv[i] + 2, e->name) || used == 8) continue;
            if (!isdigit((unsigned char)argv[i + 1][0])) break;
            snprintf(text[used], sizeof text[used], "%s=%s", argv[i], argv[i + 1]);
            joined[n - 1] = text[used++];
            i++;
            break;
        }
    }
    if (n == *argc) return argv;
    joined[n] = NULL;
    *argc = n;
    return joined;
}

cm_status cli_parse_train(int argc, char **argv, const cm_command_info *info, cm_train_args *a, int *help) {
    argv = join_optional_values(&argc, argv, info);
    memset(a, 0, sizeof *a);
    *help = 0;
    const char *env_data = getenv("CLMNIST_DATA");
    a->data_dir = env_data && *env_data ? env_data : "data/mnist";
    a->backend = "device";
    a->beta1 = 0.9f;
    a->beta2 = 0.999f;
    a->eps = 1e-8f;
    a->gamma = 0.1f;
    a->seed = DEFAULT_SEED;
    a->feed = CM_FEED_AUTO;
    a->info = stdout;
    dataset_default_options(&a->data);
    enum { MAX_EXTRA = 32, O_EXTRA = 1024 };
    struct option opts[NBASE + MAX_EXTRA + 1];
    memcpy(opts, base_opts, sizeof base_opts);
    int nopt = NBASE;
    for (int i = 0; info->extra && info->extra[i].name && i < MAX_EXTRA; i++)
        opts[nopt++] = (struct option){info->extra[i].name,
                                       info->extra[i].has_arg == 2   ? optional_argument
                                       : info->extra[i].has_arg == 1 ? required_argument
                                                                     : no_argument,
                                       NULL, O_EXTRA + i};
    opts[nopt] = (struct option){NULL, 0, NULL, 0};
    /* The preset first (the last one given), so that every other flag overrides it. */
    const char *preset_name = "fast";
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1)
        if (c == O_PRESET) preset_name = optarg;
    CM_TRY(apply_preset(a, preset_name));
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == 'h') {
            usage(info);
            *help = 1;
            return CM_OK;
        }
        if (c == ':') return cm_fail(CM_ERR_USAGE, "clmnist %s: %s needs a value", info->name, argv[optind - 1]);
        if (c == O_BACKEND && !info->with_backend)
            return cm_fail(CM_ERR_USAGE, "clmnist %s: --backend is not an option here", info->name);
        if (c >= O_EXTRA && c < O_EXTRA + MAX_EXTRA) {
            CM_TRY(info->on_extra(info->ctx, c - O_EXTRA, optarg));
            continue;
        }
        if (c < O_DATA || c > O_TRANSPOSE)
            return cm_fail(CM_ERR_USAGE, "clmnist %s: unknown option '%s' (see 'clmnist %s --help')", info->name,
                           argv[optind - 1], info->name);
        if (c == O_MOMENTUM) a->momentum_given = 1;
        CM_TRY(apply_option(a, c, optarg));
    }
    if (!strncmp(a->optimizer, "adam", 4) && a->momentum_given)
        return cm_fail(CM_ERR_USAGE, "--momentum applies to sgd, momentum and nesterov; %s uses --beta1", a->optimizer);
    if (!strcmp(a->optimizer, "sgd") && !a->momentum_given) a->momentum = 0.0f; /* plain SGD */
    if (a->schedule == CM_SCHEDULE_STEP && a->step_size == 0) a->step_size = a->epochs >= 3 ? a->epochs / 3 : 1;
    if (a->arch[0]) {
        cm_layer layers[CM_MAX_LAYERS];
        int n;
        CM_TRY(model_parse_arch(a->arch, layers, &n)); /* shapes are checked once the data's are known */
        if (a->dropout > 0.0f)
            return cm_fail(CM_ERR_USAGE, "--dropout applies to --layers MLPs; with --arch put drop<P> in the spec");
    }
    if (optind < argc)
        return cm_fail(CM_ERR_USAGE, "clmnist %s: unexpected argument '%s' (see 'clmnist %s --help')", info->name,
                       argv[optind], info->name);
    return CM_OK;
}

cm_status cli_load_data(const cm_train_args *a, cm_dataset *ds) {
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

cm_status cli_layout(const cm_train_args *a, const cm_dataset *ds, size_t align_bytes, cm_layout *L) {
    cm_layer layers[CM_MAX_LAYERS];
    int n = 0;
    if (a->arch[0])
        CM_TRY(model_parse_arch(a->arch, layers, &n));
    else
        CM_TRY(model_mlp_layers(a->hidden, a->nhidden, ds->classes, a->dropout, layers, &n));
    cm_shape input = {1, ds->train.rows, ds->train.cols, 0};
    cm_status st = model_layout(L, layers, n, input, ds->classes, align_bytes);
    if (st != CM_OK && a->arch[0]) {
        char why[512];
        snprintf(why, sizeof why, "%s", cm_last_error());
        return cm_fail(st, "--arch '%s': %s", a->arch, why);
    }
    return st;
}

cm_status cli_init_model(const cm_train_args *a, const cm_dataset *ds, size_t align_bytes, const cm_backend *b,
                         cm_model *model) {
    cm_layout layout;
    CM_TRY(cli_layout(a, ds, align_bytes, &layout));
    size_t bytes = layout.total * sizeof(float);
    if (bytes > b->max_alloc_bytes)
        return cm_fail(CM_ERR_MEMORY,
                       "device '%s': buffer 'parameters' needs %.1f MiB but the device allows at most %.1f MiB per "
                       "buffer; use a smaller network",
                       b->device_name, (double)bytes / 1048576.0, (double)b->max_alloc_bytes / 1048576.0);
    return model_init(model, &layout, a->seed);
}

cm_train_config cli_train_config(const cm_train_args *a) {
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

cm_status cli_load_test_only(const char *dir, cm_dataset *ds) {
    memset(ds, 0, sizeof *ds);
    char ip[4096], lp[4096];
    const char *kind = dataset_kind(dir);
    if (dataset_find_file(dir, "t10k-images-idx3-ubyte", ip, sizeof ip) != 0 && kind) /* CSV, folders, EMNIST */
        return cli_load_other_test(dir, ds);
    if (dataset_find_file(dir, "t10k-images-idx3-ubyte", ip, sizeof ip) != 0)
        return cm_fail(CM_ERR_IO,
                       "%s: no t10k-images-idx3-ubyte[.gz] (or t10k-images.idx3-ubyte) here; "
                       "try data/fetch mnist or --data DIR",
                       dir);
    if (dataset_find_file(dir, "t10k-labels-idx1-ubyte", lp, sizeof lp) != 0)
        return cm_fail(CM_ERR_IO, "%s: no t10k-labels-idx1-ubyte[.gz] here", dir);
    CM_TRY(dataset_load_split(ip, lp, &ds->test));
    ds->train = ds->test;
    ds->train.borrowed = 1;
    int mx = 0;
    for (int32_t i = 0; i < ds->test.count; i++)
        mx = ds->test.labels[i] > mx ? ds->test.labels[i] : mx;
    ds->classes = mx + 1;
    const char *base = strrchr(dir, '/');
    snprintf(ds->name, sizeof ds->name, "%s", base && base[1] ? base + 1 : dir);
    return CM_OK;
}
