/* cli.c: the command line of the training options shared by `train`, `compare`, `bench`,
 * `tune` and `sweep` (the options themselves: run_options.h), and their --help. */
#include "cli.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cli_data_options_help[] =
    "  --image-size N    images become NxN (default: the data's own size; 28 for image folders)\n"
    "  --preprocess P    resize (plain resize, default) or mnist (as 'predict' does: invert dark ink,\n"
    "                    crop to the ink, fit 20x20, centre in 28x28)\n"
    "  --test-fraction F held out, seeded by --seed, when the data has no test split (default 0.1)\n"
    "  --transpose T     yes, no or auto (default: yes for EMNIST's emnist-* files)\n";

static void usage(const cm_command_info *info) {
    printf("usage: clmnist %s [options]\n\n%s\n\noptions:\n", info->name, info->summary);
    printf("  --data PATH       IDX directory, CSV or image folder (default: $CLMNIST_DATA or data/mnist;\n"
           "                    see README, 'Your own data')\n%s",
           cli_data_options_help);
    if (info->with_backend)
        printf("  --backend B       auto (default: an OpenCL GPU when there is one, else host), device (OpenCL)\n"
               "                    or host (C reference backend, OpenBLAS GEMM; needs no OpenCL)\n");
    printf("  --device SEL      OpenCL device: index or name substring from 'clmnist devices'\n"
           "                    (default: $CLMNIST_DEVICE, else the first GPU, else device 0; under\n"
           "                    mpirun, each rank's GPU by its place on the node)\n");
    printf("  --preset P        the recipe the other flags start from (flags override it):\n");
    for (const cm_preset *p = run_presets; p->name; p++)
        printf("                      %-8s %s%s\n", p->name, p->summary, p == run_presets ? " (default)" : "");
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
           CM_DEFAULT_SEED);
    printf("  --val N           hold out the last N training images for validation\n");
    printf("  --limit N         train on the first N training images only (0: all)\n");
    printf("  --threads N       host backend threads (default: all cores; under mpirun, shared by a node's ranks)\n");
    printf("  --resident        keep the whole training set on the device (default when it fits)\n");
    printf("  --streamed        upload each batch as uint8, overlapped with compute\n");
    for (const cm_extra_option *e = info->extra; e && e->name; e++)
        printf("%s", e->help);
    printf("  -h, --help        show this help\n");
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
    run_defaults(a);
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
    CM_TRY(run_apply_preset(a, preset_name));
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
        CM_TRY(run_set_option(a, base_opts[c - O_DATA].name, optarg));
    }
    CM_TRY(run_finish(a));
    if (optind < argc)
        return cm_fail(CM_ERR_USAGE, "clmnist %s: unexpected argument '%s' (see 'clmnist %s --help')", info->name,
                       argv[optind], info->name);
    return CM_OK;
}
