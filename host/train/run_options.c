/* run_options.c: setting a run's options by their long flag names from text, with the checks
 * the command line applies; presets; the defaults and the checks between options. */
#include "run_options.h"

#include <stdlib.h>
#include <string.h>

#include "schedule.h"

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
/* The options by id - O_DATA, in the order of the ids. */
static const char *const option_names[] = {
    "data",         "backend",   "device",   "preset",   "layers",     "arch",       "epochs",        "batch",
    "optimizer",    "lr",        "momentum", "beta1",    "beta2",      "eps",        "weight-decay",  "schedule",
    "warmup-steps", "step-size", "gamma",    "dropout",  "max-norm",   "augment",    "seed",          "val",
    "limit",        "threads",   "resident", "streamed", "image-size", "preprocess", "test-fraction", "transpose"};
enum { NOPTIONS = sizeof option_names / sizeof option_names[0] };

static const char *const optimizer_names[] = {"sgd", "momentum", "nesterov", "adam", "adamw"};

/* Applies one option (by id) from its text. */
static cm_status apply_option(cm_train_args *a, int id, const char *v) {
    long n;
    double d;
    switch (id) {
    case O_DATA: a->data_dir = v; break;
    case O_BACKEND:
        if (strcmp(v, "auto") != 0 && strcmp(v, "host") != 0 && strcmp(v, "device") != 0)
            return cm_fail(CM_ERR_USAGE, "--backend '%s': expected auto, host or device", v);
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
    case O_IMAGE_SIZE: return run_set_data_option(&a->data, "image-size", v);
    case O_PREPROCESS: return run_set_data_option(&a->data, "preprocess", v);
    case O_TEST_FRACTION: return run_set_data_option(&a->data, "test-fraction", v);
    case O_TRANSPOSE: return run_set_data_option(&a->data, "transpose", v);
    default: return cm_fail(CM_ERR_USAGE, "internal: unknown option id %d", id);
    }
    return CM_OK;
}

cm_status run_set_option(cm_train_args *a, const char *name, const char *value) {
    if (!strcmp(name, "preset")) return run_apply_preset(a, value);
    for (int i = 0; i < NOPTIONS; i++)
        if (!strcmp(option_names[i], name)) return apply_option(a, i + O_DATA, value);
    return cm_fail(CM_ERR_USAGE, "unknown option '%s'", name);
}

cm_status run_apply_preset(cm_train_args *a, const char *name) {
    const cm_preset *p = run_presets;
    while (p->name && strcmp(p->name, name) != 0)
        p++;
    if (!p->name) return cm_fail(CM_ERR_USAGE, "--preset '%s': expected fast, best, cnn or cnn-best", name);
    a->preset = p->name;
    for (const char *const *kv = p->settings; *kv; kv++) {
        char key[64];
        const char *eq = strchr(*kv, '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - *kv), *kv);
        CM_TRY(run_set_option(a, key, eq + 1));
    }
    return CM_OK;
}

void run_defaults(cm_train_args *a) {
    memset(a, 0, sizeof *a);
    const char *env_data = getenv("CLMNIST_DATA");
    a->data_dir = env_data && *env_data ? env_data : "data/mnist";
    a->backend = "auto";
    a->beta1 = 0.9f;
    a->beta2 = 0.999f;
    a->eps = 1e-8f;
    a->gamma = 0.1f;
    a->seed = CM_DEFAULT_SEED;
    a->feed = CM_FEED_AUTO;
    a->info = stdout;
    dataset_default_options(&a->data);
}

cm_status run_finish(cm_train_args *a) {
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
    return CM_OK;
}
