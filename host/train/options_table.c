/* options_table.c: the options the commands share, each declared once (options.h), with the
 * setters and formatters of the ones whose value is more than a number or a name. */
#include <stdlib.h>
#include <string.h>

#include "run_options.h"
#include "options.h"
#include "schedule.h"

#define OFF(field) offsetof(cm_train_args, field)

/* The commands that train: the whole recipe. */
#define TRAINING (CM_CMD_TRAIN | CM_CMD_COMPARE | CM_CMD_BENCH | CM_CMD_SWEEP)
/* ...and tune, which needs the model's shapes: its data, layers and batch. */
#define SHAPES (TRAINING | CM_CMD_TUNE)
#define INFER (CM_CMD_EVAL | CM_CMD_PREDICT | CM_CMD_SERVE)

#define FIXED_DATA "the data is loaded once for every trial: give it as a flag"
#define FIXED_BACKEND "the backend is opened once for every trial: give it as a flag"

static const char *ffmt(char *buf, size_t size, float v) {
    for (int digits = 6; digits <= 9; digits++) { /* the shortest text that reads back as v */
        snprintf(buf, size, "%.*g", digits, (double)v);
        if (strtof(buf, NULL) == v) break;
    }
    return buf;
}

static cm_status augment_item(char *tok, const char *text, cm_augment *a) {
    char *eq = strchr(tok, '=');
    if (!eq)
        return cm_fail(CM_ERR_USAGE, "--augment '%s': expected key=value pairs, e.g. shift=2,rotate=10,scale=0.1",
                       text);
    *eq = '\0';
    float *dst = !strcmp(tok, "shift")    ? &a->shift
                 : !strcmp(tok, "rotate") ? &a->rotate
                 : !strcmp(tok, "scale")  ? &a->scale
                 : !strcmp(tok, "flip")   ? &a->flip
                 : !strcmp(tok, "crop")   ? &a->crop
                                          : NULL;
    if (!dst)
        return cm_fail(CM_ERR_USAGE, "--augment: unknown transform '%s' (expected shift, rotate, scale, flip or crop)",
                       tok);
    char flag[32];
    snprintf(flag, sizeof flag, "--augment %s", tok);
    double v, max = dst == &a->shift || dst == &a->crop ? 64.0
                    : dst == &a->rotate                 ? 180.0
                    : dst == &a->scale                  ? 0.99
                                                        : 1.0;
    CM_TRY(cm_parse_float(flag, eq + 1, 0.0, max, &v));
    if (dst == &a->crop && v != (double)(int)v)
        return cm_fail(CM_ERR_USAGE, "--augment crop=%s: the padding is a whole number of pixels", eq + 1);
    *dst = (float)v;
    return CM_OK;
}

static cm_status set_augment(cm_train_args *args, const char *text) {
    cm_augment a = {0};
    if (strcmp(text, "none") != 0 && strcmp(text, "off") != 0) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", text);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
            CM_TRY(augment_item(tok, text, &a));
    }
    args->augment = a;
    return CM_OK;
}

static void format_augment(const cm_train_args *a, char *buf, size_t size) {
    const cm_augment *g = &a->augment;
    char f1[32], f2[32], f3[32], f4[32], f5[32];
    if (g->shift > 0 || g->rotate > 0 || g->scale > 0 || g->flip > 0 || g->crop > 0)
        snprintf(buf, size, "shift=%s,rotate=%s,scale=%s%s%s%s%s", ffmt(f1, sizeof f1, g->shift),
                 ffmt(f2, sizeof f2, g->rotate), ffmt(f3, sizeof f3, g->scale), g->flip > 0 ? ",flip=" : "",
                 g->flip > 0 ? ffmt(f4, sizeof f4, g->flip) : "", g->crop > 0 ? ",crop=" : "",
                 g->crop > 0 ? ffmt(f5, sizeof f5, g->crop) : "");
    else
        snprintf(buf, size, "none");
}

static cm_status set_layers(cm_train_args *a, const char *v) {
    CM_TRY(model_parse_layers(v, a->hidden, &a->nhidden)); /* a bad --layers fails before data loads */
    a->layers = v;
    a->arch[0] = '\0'; /* --layers after an --arch (or a CNN preset) means an MLP */
    return CM_OK;
}

static void format_layers(const cm_train_args *a, char *buf, size_t size) {
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < a->nhidden && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%d", i ? "," : "", a->hidden[i]);
}

static cm_status set_arch(cm_train_args *a, const char *v) {
    if (strlen(v) >= sizeof a->arch)
        return cm_fail(CM_ERR_USAGE, "--arch: longer than %zu characters", sizeof a->arch - 1);
    snprintf(a->arch, sizeof a->arch, "%s", v);
    return CM_OK;
}

static void format_arch(const cm_train_args *a, char *buf, size_t size) {
    snprintf(buf, size, "%s", a->arch);
}

static void format_preset(const cm_train_args *a, char *buf, size_t size) {
    snprintf(buf, size, "%s", a->preset ? a->preset : "fast");
}

static void help_presets(FILE *out) {
    for (const cm_preset *p = run_presets; p->name; p++)
        fprintf(out, "                      %-8s %s\n", p->name, p->summary);
}

static const char *const backends[] = {"auto", "host", "device", NULL};
static const char *const optimizers[] = {"sgd", "momentum", "nesterov", "adam", "adamw", NULL};
static const char *const schedules[] = {"constant", "cosine", "step", "onecycle", NULL};
static const int schedule_values[] = {CM_SCHEDULE_CONSTANT, CM_SCHEDULE_COSINE, CM_SCHEDULE_STEP, CM_SCHEDULE_ONECYCLE};
static const char *const preprocesses[] = {"resize", "mnist", NULL};
static const int preprocess_values[] = {CM_PREP_RESIZE, CM_PREP_MNIST};
static const char *const transposes[] = {"yes", "no", "auto", NULL};
static const int transpose_values[] = {CM_TRANSPOSE_YES, CM_TRANSPOSE_NO, CM_TRANSPOSE_AUTO};
static const char *const channel_names[] = {"auto", "1", "3", NULL};
static const int channel_values[] = {0, 1, 3};

#define INT_MAX31 2147483647.0

const cm_option cm_options[] = {
    {"data", "PATH", CM_OPT_TEXT, OFF(data_dir), .commands = SHAPES | INFER | CM_CMD_DOCTOR, .fixed = FIXED_DATA,
     .help = "IDX directory, CSV or image folder (default: $CLMNIST_DATA or data/mnist;\nsee docs/data.md)",
     .help_for =
         (const cm_opt_help_for[]){
             {CM_CMD_EVAL, "IDX directory, CSV or image folder, read as the model's data was: its test\n"
                           "split (or the same held-out fraction and seed), size and preprocessing (default:\n"
                           "the model's training data when it is still there, else $CLMNIST_DATA or data/mnist)"},
             {CM_CMD_SERVE, "test images for the 'random test digit' button (IDX, CSV or image\nfolder; 28x28)"},
             {CM_CMD_PREDICT, "images to classify besides IMAGE...: a CSV file, labelled or not (Kaggle's\n"
                              "test.csv), a folder with test.csv, IDX data (its test split) or an image folder"},
             {0, NULL}}},
    {"backend", "B", CM_OPT_NAME, OFF(backend), .choices = backends, .def = "auto",
     .commands = CM_CMD_TRAIN | CM_CMD_SWEEP | INFER, .fixed = FIXED_BACKEND,
     .help = "auto (an OpenCL GPU if there is one, else host), host (C reference backend, OpenBLAS\nGEMM; needs no "
             "OpenCL) or device (OpenCL)"},
    {"device", "SEL", CM_OPT_TEXT, OFF(device), .commands = SHAPES | INFER | CM_CMD_DOCTOR, .fixed = FIXED_BACKEND,
     .help = "OpenCL device: index or name substring from 'clmnist devices'\n(default: $CLMNIST_DEVICE, else the "
             "first GPU, else device 0; under\nmpirun, each rank's GPU by its place on the node)"},
    {"threads", "N", CM_OPT_INT, OFF(threads), 1, 1024, .commands = SHAPES | INFER, .fixed = FIXED_BACKEND,
     .help = "host backend threads (default: all cores; under mpirun, shared by a node's ranks)",
     .help_for = (const cm_opt_help_for[]){{CM_CMD_EVAL | CM_CMD_PREDICT, "host backend threads (default: all cores)"},
                                           {CM_CMD_SERVE, "host backend: threads per request (default 1)"},
                                           {0, NULL}}},
    {"preset", "P", CM_OPT_CUSTOM, 0, .def = "fast", .commands = SHAPES,
     .flags = CM_OPT_SAVED | CM_OPT_SWEEP | CM_OPT_FIRST,
     .help = "the recipe the other flags start from (flags override it)", .set = run_apply_preset,
     .format = format_preset, .help_more = help_presets},
    {"layers", "L", CM_OPT_CUSTOM, 0, .commands = SHAPES, .flags = CM_OPT_SAVED | CM_OPT_SWEEP,
     .help = "an MLP's hidden layer sizes, e.g. 512,256", .set = set_layers, .format = format_layers},
    {"arch", "SPEC", CM_OPT_CUSTOM, 0, .commands = SHAPES, .flags = CM_OPT_SAVED | CM_OPT_SWEEP,
     .help = "any layer sequence, e.g. conv32k5p2-bn-relu-pool2-flatten-fc128-relu-fc10\n"
             "(conv<C>k<K>[s<S>][p<P>], pool<K>[s<S>], bn, relu, drop<P>, flatten, gap, fc<N>;\n"
             "see docs/cli.md); replaces --layers and --dropout",
     .set = set_arch, .format = format_arch},
    {"epochs", "N", CM_OPT_INT, OFF(epochs), 1, 100000, .commands = TRAINING, .flags = CM_OPT_SAVED,
     .help = "passes over the training set", .aliases = "num-epochs,n-epochs",
     .fixed = "the rungs set each trial's epochs: give --max-epochs"},
    {"batch", "N", CM_OPT_INT, OFF(batch), 1, 1 << 20, .commands = SHAPES, .flags = CM_OPT_SAVED | CM_OPT_SWEEP,
     .help = "examples per step (under mpirun: over all ranks, each trains N / ranks)", .aliases = "batch-size"},
    {"optimizer", "O", CM_OPT_NAME, OFF(optimizer), .choices = optimizers, .commands = TRAINING,
     .flags = CM_OPT_SAVED | CM_OPT_SWEEP, .help = "sgd, momentum (SGD with momentum), nesterov, adam or adamw"},
    {"lr", "F", CM_OPT_FLOAT, OFF(lr), 1e-12, 1e6, .commands = TRAINING, .flags = CM_OPT_SAVED | CM_OPT_SWEEP,
     .help = "learning rate (the peak rate for onecycle)", .aliases = "learning-rate"},
    {"momentum", "F", CM_OPT_FLOAT, OFF(momentum), 0.0, 0.999, .commands = TRAINING,
     .flags = CM_OPT_SAVED | CM_OPT_SWEEP, .help = "momentum for momentum and nesterov (the presets: 0.9)"},
    {"beta1", "F", CM_OPT_FLOAT, OFF(beta1), 0.0, 0.9999, .def = "0.9", .commands = TRAINING,
     .flags = CM_OPT_SAVED | CM_OPT_SWEEP, .help = "Adam(W) first-moment decay"},
    {"beta2", "F", CM_OPT_FLOAT, OFF(beta2), 0.0, 0.999999, .def = "0.999", .commands = TRAINING,
     .flags = CM_OPT_SAVED | CM_OPT_SWEEP, .help = "Adam(W) second-moment decay"},
    {"eps", "F", CM_OPT_FLOAT, OFF(eps), 1e-30, 1.0, .def = "1e-08", .commands = TRAINING,
     .flags = CM_OPT_SAVED | CM_OPT_SWEEP, .help = "Adam(W) epsilon"},
    {"weight-decay", "F", CM_OPT_FLOAT, OFF(weight_decay), 0.0, 1.0, .commands = TRAINING,
     .flags = CM_OPT_SAVED | CM_OPT_SWEEP, .help = "L2 added to the gradient; decoupled (w *= 1 - lr F) for adamw"},
    {"schedule", "S", CM_OPT_ENUM, OFF(schedule), .choices = schedules, .values = schedule_values, .commands = TRAINING,
     .flags = CM_OPT_SAVED | CM_OPT_SWEEP,
     .help = "constant, cosine (to 0 at the end), step (x gamma every --step-size\n"
             "epochs) or onecycle (PyTorch OneCycleLR defaults, peak --lr)"},
    {"warmup-steps", "N", CM_OPT_INT, OFF(warmup_steps), 0, 100000000, .commands = TRAINING,
     .flags = CM_OPT_SAVED | CM_OPT_SWEEP, .help = "scale the rate up linearly over the first N steps"},
    {"step-size", "N", CM_OPT_INT, OFF(step_size), 0, 100000, .commands = TRAINING,
     .flags = CM_OPT_SAVED | CM_OPT_SWEEP, .help = "step schedule: epochs between decays (default 1/3 of the run)"},
    {"gamma", "F", CM_OPT_FLOAT, OFF(gamma), 1e-6, 1.0, .def = "0.1", .commands = TRAINING,
     .flags = CM_OPT_SAVED | CM_OPT_SWEEP, .help = "step schedule: decay factor"},
    {"dropout", "P", CM_OPT_FLOAT, OFF(dropout), 0.0, 0.95, .commands = TRAINING, .flags = CM_OPT_SAVED | CM_OPT_SWEEP,
     .help = "dropout probability after each hidden layer (0: off)"},
    {"max-norm", "C", CM_OPT_FLOAT, OFF(max_norm), 0.0, 1e6, .commands = TRAINING, .flags = CM_OPT_SAVED | CM_OPT_SWEEP,
     .help = "cap the L2 norm of each unit's incoming weights at C (0: off)"},
    {"augment", "SPEC", CM_OPT_CUSTOM, 0, .commands = TRAINING, .flags = CM_OPT_SAVED | CM_OPT_SWEEP,
     .help = "random training-time transforms, e.g. shift=2,rotate=10,scale=0.1\n"
             "(pixels, degrees, relative size), flip=P (mirror with probability P), crop=P (pad by P\n"
             "pixels and cut at random: the CIFAR crop); 'none' to turn off",
     .set = set_augment, .format = format_augment},
    {"seed", "N", CM_OPT_U64, OFF(seed), 0, INT_MAX31, .def = "42", .commands = TRAINING | CM_CMD_IMPORT | CM_CMD_EVAL,
     .flags = CM_OPT_SAVED, .fixed = "every trial trains with the sweep's --seed",
     .help = "seed of initialisation, shuffling, dropout, augmentation, held-out data",
     .help_for = (const cm_opt_help_for[]){{CM_CMD_IMPORT, "seed of the held-out test split (default 42)"},
                                           {CM_CMD_EVAL, "seed of the held-out test split (default: the model's; a "
                                                         "note says\nwhen another changes the split)"},
                                           {0, NULL}}},
    {"val", "N", CM_OPT_INT, OFF(val), 0, INT_MAX31, .commands = TRAINING, .flags = CM_OPT_SAVED, .fixed = FIXED_DATA,
     .help = "hold out the last N training images for validation"},
    {"limit", "N", CM_OPT_INT, OFF(limit), 0, INT_MAX31, .commands = TRAINING, .flags = CM_OPT_SAVED,
     .fixed = FIXED_DATA, .help = "train on the first N training images only (0: all)"},
    {"image-size", "N", CM_OPT_INT, OFF(data.image_size), 1, 256, .commands = SHAPES | CM_CMD_IMPORT | CM_CMD_EVAL,
     .flags = CM_OPT_SAVED | CM_OPT_ZERO_EMPTY, .fixed = FIXED_DATA,
     .help = "images become NxN (default: the data's own size; 28 for image folders)",
     .help_for =
         (const cm_opt_help_for[]){{CM_CMD_EVAL, "images become NxN (default: the model's input size)"}, {0, NULL}}},
    {"preprocess", "P", CM_OPT_ENUM, OFF(data.preprocess), .choices = preprocesses, .values = preprocess_values,
     .def = "resize", .commands = SHAPES | CM_CMD_IMPORT | CM_CMD_EVAL, .flags = CM_OPT_SAVED, .fixed = FIXED_DATA,
     .help = "resize (plain resize) or mnist (as 'predict' does: invert dark ink,\n"
             "crop to the ink, fit 20x20, centre in 28x28)",
     .help_for =
         (const cm_opt_help_for[]){
             {CM_CMD_EVAL, "resize or mnist: how the images become the input (default: the model's)"}, {0, NULL}}},
    {"test-fraction", "F", CM_OPT_DOUBLE, OFF(data.test_fraction), 1e-6, 0.999999, .def = "0.1",
     .commands = SHAPES | CM_CMD_IMPORT | CM_CMD_EVAL, .flags = CM_OPT_SAVED, .fixed = FIXED_DATA,
     .help = "held out, seeded by --seed, when the data has no test split",
     .help_for =
         (const cm_opt_help_for[]){
             {CM_CMD_EVAL, "held out, seeded by --seed, when the data has no test split (default: the\nmodel's)"},
             {0, NULL}}},
    {"transpose", "T", CM_OPT_ENUM, OFF(data.transpose), .choices = transposes, .values = transpose_values,
     .def = "auto", .commands = SHAPES | CM_CMD_IMPORT, .flags = CM_OPT_SAVED, .fixed = FIXED_DATA,
     .help = "yes, no or auto (auto: yes for EMNIST's emnist-* files)"},
    {"channels", "C", CM_OPT_ENUM, OFF(data.channels), .choices = channel_names, .values = channel_values,
     .def = "auto", .commands = SHAPES | CM_CMD_IMPORT, .flags = CM_OPT_SAVED, .fixed = FIXED_DATA,
     .help = "input channels: 1 (grey), 3 (RGB) or auto (3 when the training images have colour;\n"
             "then grey images among them become RGB)"},
    {"resident", NULL, CM_OPT_FLAG, OFF(feed), CM_FEED_RESIDENT,
     .commands = CM_CMD_TRAIN | CM_CMD_COMPARE | CM_CMD_SWEEP, .fixed = FIXED_BACKEND,
     .help = "keep the whole training set on the device (default when it fits)"},
    {"streamed", NULL, CM_OPT_FLAG, OFF(feed), CM_FEED_STREAMED,
     .commands = CM_CMD_TRAIN | CM_CMD_COMPARE | CM_CMD_SWEEP, .fixed = FIXED_BACKEND,
     .help = "upload each batch as uint8, overlapped with compute"},
    {.name = NULL},
};

_Static_assert(sizeof cm_options / sizeof cm_options[0] <= 64, "cm_train_args.given holds 64 options");
_Static_assert(sizeof(cm_schedule) == sizeof(int) && sizeof(cm_feed_mode) == sizeof(int) &&
                   sizeof(cm_preprocess) == sizeof(int) && sizeof(cm_transpose) == sizeof(int),
               "CM_OPT_ENUM and CM_OPT_FLAG store ints");
