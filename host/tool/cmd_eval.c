/* cmd_eval.c: `clmnist eval` and `clmnist predict`: a saved model on the test set (accuracy,
 * loss, confusion matrix, precision/recall, optional report) or on the user's own images. Both go
 * through the public API (include/clmnist/clmnist.h); eval's printing and report use the
 * handles' insides (api_internal.h). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "cli.h"
#include "commands.h"
#include "preflight.h"
#include "eval.h"
#include "image.h"
#include "model_io.h"
#include "pipeline.h"
#include "report.h"
#include "timer.h"

typedef struct {
    const char *model, *data, *backend, *device, *report, *predictions;
    int batch, threads, json, top;
    cm_invert invert;
    cm_pipeline_overrides ov; /* eval: --seed, --test-fraction, --image-size, --preprocess */
} eval_args;

static const cm_extra_option eval_extra[] = {
    {"model", 1, "  --model FILE      a model saved by 'clmnist train' (safetensors), or an ONNX model\n"},
    {"report", 1, "  --report DIR      write DIR/report.html (confusion heat map, worst mistakes)\n"},
    {"batch", 1, "  --batch N         examples per forward pass (default: the model's training batch)\n"},
    {"predictions", 1, "  --predictions F   write each test example's predicted class to F, one per line\n"},
    {NULL, 0, NULL}};
static const cm_extra_option predict_extra[] = {
    {"model", 1, "  --model FILE      a model saved by 'clmnist train' (safetensors), or an ONNX model\n"},
    {"invert", 1,
     "  --invert MODE     auto (default: invert when the background is light), yes or no; for a\n"
     "                    --preprocess resize model only 'yes' inverts\n"},
    {"top", 1, "  --top K           how many classes to list per image (default 3)\n"},
    {"json", 0, "  --json            print one JSON array\n"},
    {NULL, 0, NULL}};

static cm_status on_eval(void *ctx, int index, const char *v) {
    eval_args *a = ctx;
    long n;
    switch (index) {
    case 0: a->model = v; break;
    case 1: a->report = v; break;
    case 2:
        CM_TRY(cm_parse_int("--batch", v, 1, 1 << 16, &n));
        a->batch = (int)n;
        break;
    case 3: a->predictions = v; break;
    default: break;
    }
    return CM_OK;
}

static cm_status on_predict(void *ctx, int index, const char *v) {
    eval_args *a = ctx;
    static const char *const inverts[] = {"auto", "yes", "no"};
    static const cm_invert invert_values[] = {CM_INVERT_AUTO, CM_INVERT_YES, CM_INVERT_NO};
    long n;
    switch (index) {
    case 0: a->model = v; break;
    case 1:
        for (int i = 0; i < 3; i++)
            if (!strcmp(v, inverts[i])) {
                a->invert = invert_values[i];
                return CM_OK;
            }
        return cm_fail(CM_ERR_USAGE, "--invert '%s': expected auto, yes or no", v);
    case 2:
        CM_TRY(cm_parse_int("--top", v, 1, 1000, &n));
        a->top = (int)n;
        break;
    case 3: a->json = 1; break;
    default: break;
    }
    return CM_OK;
}

static const char predict_summary[] =
    "Classifies images (PNG, JPEG, PGM/PPM), each turned to grayscale and brought to the model's\n"
    "input as its training images were made (its input_preprocess metadata): for MNIST-like data\n"
    "made white-on-black, scaled into a 20x20 box and centred by centre of mass in 28x28, as MNIST\n"
    "was made; for an image folder trained with --preprocess resize, resized as it is.";

/* eval's overrides of the model's recorded pipeline: the flags given (pipeline.h); without
 * --data, the model's own data. */
static void eval_overrides(const cm_train_args *t, eval_args *a) {
    pipeline_no_overrides(&a->ov);
    if (!run_option_given(t, "data")) a->data = NULL;
    a->ov.seed_set = run_option_given(t, "seed");
    a->ov.seed = t->seed;
    if (run_option_given(t, "test-fraction")) a->ov.test_fraction = t->data.test_fraction;
    if (run_option_given(t, "image-size")) a->ov.image_size = t->data.image_size;
    if (run_option_given(t, "preprocess")) a->ov.preprocess = (int)t->data.preprocess;
}

/* The options of eval or predict; predict's images are the last *nimages words of argv. */
static cm_status parse(int argc, char **argv, int predict, eval_args *a, int *help, int *nimages) {
    const char *name = predict ? "predict" : "eval";
    *a = (eval_args){.top = 3};
    const cm_command_info info = {
        name,
        predict ? CM_CMD_PREDICT : CM_CMD_EVAL,
        predict ? "predict --model FILE [options] IMAGE..." : "eval --model FILE [options]",
        predict ? predict_summary
                : "Evaluates a saved model on a test set: accuracy, loss, confusion matrix, per-class precision\n"
                  "and recall.",
        predict ? predict_extra : eval_extra,
        predict ? on_predict : on_eval,
        a,
        1};
    cm_train_args t;
    CM_TRY(cli_parse(argc, argv, &info, &t, help, predict ? nimages : NULL));
    if (*help) return CM_OK;
    a->data = t.data_dir;
    if (!predict) eval_overrides(&t, a);
    a->backend = t.backend;
    a->device = t.device;
    a->threads = t.threads;
    if (!a->model) return cm_fail(CM_ERR_USAGE, "clmnist %s: --model FILE is required", name);
    if (predict && *nimages == 0) return cm_fail(CM_ERR_USAGE, "clmnist predict: no IMAGE given");
    return CM_OK;
}

/* The API's context for the --backend, --device, --threads and --batch flags, and the model. */
static cm_status open_model(const eval_args *a, clmnist_ctx **ctx, clmnist_model **m) {
    char opts[640];
    int n = snprintf(opts, sizeof opts, "backend=%s", a->backend);
    if (a->threads) n += snprintf(opts + n, sizeof opts - (size_t)n, ",threads=%d", a->threads);
    if (a->batch) n += snprintf(opts + n, sizeof opts - (size_t)n, ",batch=%d", a->batch);
    if (a->device) snprintf(opts + n, sizeof opts - (size_t)n, ",device=%s", a->device);
    CM_TRY(clmnist_open(opts, ctx));
    return clmnist_model_load(*ctx, a->model, m);
}

/* The class names to print: the model's recorded ones, else none (the class numbers). */
static const char *const *recorded_names(const clmnist_model *m, const char **names) {
    int classes = clmnist_model_classes(m);
    if (!clmnist_model_meta(m, "class_names")) return NULL;
    for (int c = 0; c < classes; c++)
        names[c] = clmnist_model_class_name(m, c);
    return names;
}

/* The lines and files of eval from the API's result r: metrics, --predictions, --report. */
static cm_status eval_show(const eval_args *a, clmnist_model *m, const clmnist_dataset *ds,
                           const clmnist_eval_result *r, double secs) {
    const cm_model_file *f = api_model_file(m);
    const cm_split *test = &ds->ds.test;
    int classes = r->classes;
    int32_t *pred = malloc(sizeof(int32_t) * (size_t)r->count);
    const char **store = calloc((size_t)classes, sizeof(char *));
    if (!pred || !store) {
        free(pred), free(store);
        return cm_fail(CM_ERR_MEMORY, "out of host memory");
    }
    for (long long i = 0; i < r->count; i++)
        pred[i] = r->predicted[i];
    cm_eval ev;
    cm_status st = eval_compute(test, pred, r->probabilities, classes, &ev);
    const char *const *names = recorded_names(m, store);
    if (st == CM_OK) {
        ev.loss = r->loss;
        char arch[CM_ARCH_TEXT];
        model_describe(&f->model.layout, arch, sizeof arch);
        printf("model: %s: %s, trained on %s\n", a->model, arch,
               meta_get(&f->meta, "dataset") ? meta_get(&f->meta, "dataset") : "(unknown)");
        printf("eval: %d test images of %s on %s in %.2f s\n", test->count, a->data,
               predictor_device_name(api_model_predictor(m)), secs);
        eval_print(&ev, names, stdout);
        if (a->predictions) {
            FILE *out = fopen(a->predictions, "w");
            for (int32_t i = 0; out && i < test->count; i++)
                fprintf(out, "%d\n", pred[i]);
            if (!out || fclose(out) != 0) st = cm_fail(CM_ERR_IO, "--predictions %s: cannot write", a->predictions);
        }
        if (st == CM_OK && a->report) {
            char title[256];
            snprintf(title, sizeof title, "clmnist evaluation: %s on %s", a->model, a->data);
            st = diag_report_html(a->report, title, &f->meta, 0, &ev, test, names);
            if (st == CM_OK) printf("report: %s/report.html\n", a->report);
        }
        printf("test accuracy: %.2f%%\n", 100.0 * ev.accuracy);
        eval_free(&ev);
    }
    free(pred);
    free(store);
    return st;
}

/* eval through the public API: the model, its test data read as it was trained (its pipeline, with
 * eval's overrides), clmnist_evaluate. */
cm_status cmd_eval(int argc, char **argv) {
    eval_args a;
    int help;
    CM_TRY(parse(argc, argv, 0, &a, &help, NULL));
    if (help) return CM_OK;
    CM_TRY(preflight_file("--predictions", a.predictions)); /* before the work: what it writes, where */
    CM_TRY(preflight_dir("--report", a.report));
    CM_TRY(preflight_backend(a.backend, a.device, 0, NULL));
    clmnist_ctx *ctx = NULL;
    clmnist_model *m = NULL;
    clmnist_dataset *ds = NULL;
    clmnist_eval_result r = {0};
    cm_status st = open_model(&a, &ctx, &m);
    a.ov.data = a.data; /* NULL: the model's recorded data */
    if (st == CM_OK) st = api_dataset_open(m, &a.ov, stderr, &ds);
    if (st == CM_OK) a.data = ds->path;
    if (st == CM_OK) run_warn_test_data(a.data, &ds->ds.test);
    double t0 = timer_now();
    if (st == CM_OK) st = clmnist_evaluate(m, ds, &r);
    if (st == CM_OK) st = eval_show(&a, m, ds, &r, timer_now() - t0);
    clmnist_eval_result_free(&r);
    clmnist_dataset_free(ds);
    clmnist_model_free(m);
    clmnist_close(ctx);
    return st;
}

/* ---- predict ------------------------------------------------------------------------------- */

static const char *class_label(const char *const *names, int c, char buf[40]) {
    if (names) return names[c];
    snprintf(buf, 40, "%d", c);
    return buf;
}

static void print_json_error(cJSON *arr, const char *file, const char *msg) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "file", file);
    cJSON_AddStringToObject(o, "error", msg);
    cJSON_AddItemToArray(arr, o);
}

/* The images of a predict run, brought to the model's input (clmnist_image_load). */
typedef struct {
    int n, ok, failed;     /* files given, read, unreadable */
    size_t dim;            /* pixels per image */
    uint8_t *images;       /* (ok, dim) */
    int *index, *inverted; /* (ok) the file of each image; whether it was inverted */
    char **errors;         /* (n) each unreadable file's message, or NULL */
} predict_set;

static void predict_set_free(predict_set *s) {
    for (int i = 0; s->errors && i < s->n; i++)
        free(s->errors[i]);
    free(s->errors), free(s->images), free(s->index), free(s->inverted);
}

/* Decodes every file into s as the model takes its input; an unreadable file is reported
 * (stderr, or the JSON later) and skipped. */
static cm_status predict_read(const eval_args *a, const clmnist_model *m, char **files, int n, predict_set *s) {
    int c, h, w;
    CM_TRY(clmnist_model_input(m, &c, &h, &w));
    *s = (predict_set){.n = n, .dim = (size_t)c * (size_t)h * (size_t)w};
    s->images = calloc((size_t)n, s->dim), s->errors = calloc((size_t)n, sizeof(char *));
    s->index = calloc((size_t)n, sizeof(int)), s->inverted = calloc((size_t)n, sizeof(int));
    if (!s->images || !s->index || !s->inverted || !s->errors) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    /* cm_invert and the CLMNIST_INVERT_* values have the same order */
    for (int i = 0; i < n; i++) {
        if (clmnist_image_load(m, files[i], (int)a->invert, s->images + (size_t)s->ok * s->dim, &s->inverted[s->ok]) !=
            CM_OK) { /* report, keep going with the other files */
            s->failed++;
            s->errors[i] = strdup(clmnist_last_error());
            if (!a->json) fprintf(stderr, "clmnist: error: %s\n", clmnist_last_error());
            continue;
        }
        s->index[s->ok++] = i;
    }
    return CM_OK;
}

/* The k most probable classes of p (classes), first index on ties; order[0] is the prediction. */
static void top_classes(const float *p, int classes, int pred, int k, int *order) {
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int c = 0; c < classes; c++) {
            int used = 0;
            for (int q = 0; q < j; q++)
                used |= order[q] == c;
            if (!used && (best < 0 || p[c] > p[best])) best = c;
        }
        order[j] = best;
    }
    order[0] = pred;
}

static void print_prediction(const eval_args *a, cJSON *out, const char *file, const float *p, int pred,
                             const int *order, int top, int inverted, const char *const *names) {
    if (a->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "file", file);
        cJSON_AddNumberToObject(o, "class", pred);
        if (names) cJSON_AddStringToObject(o, "name", names[pred]);
        cJSON_AddNumberToObject(o, "probability", p[pred]);
        cJSON_AddBoolToObject(o, "inverted", inverted);
        cJSON *t = cJSON_AddArrayToObject(o, "top");
        for (int k = 0; k < top; k++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "class", order[k]);
            if (names) cJSON_AddStringToObject(e, "name", names[order[k]]);
            cJSON_AddNumberToObject(e, "probability", p[order[k]]);
            cJSON_AddItemToArray(t, e);
        }
        cJSON_AddItemToArray(out, o);
        return;
    }
    char lbl[40];
    printf("%s: %s (%.2f%%)  top-%d:", file, class_label(names, pred, lbl), 100.0 * p[pred], top);
    for (int k = 0; k < top; k++)
        printf(" %s %.2f%%", class_label(names, order[k], lbl), 100.0 * p[order[k]]);
    printf("%s\n", inverted ? "  (inverted)" : "");
}

/* Classifies the images of s (clmnist_predict) and prints each answer (into out with --json). */
static cm_status predict_run(const eval_args *a, clmnist_model *m, char **files, const predict_set *s, cJSON *out) {
    int classes = clmnist_model_classes(m), top = a->top < classes ? a->top : classes;
    float *probs = malloc(sizeof(float) * (size_t)s->ok * (size_t)classes);
    int *pred = malloc(sizeof(int) * (size_t)s->ok), *order = malloc(sizeof(int) * (size_t)classes);
    const char **store = calloc((size_t)classes, sizeof(char *));
    cm_status st = probs && pred && order && store
                       ? (cm_status)clmnist_predict(m, s->images, (size_t)s->ok * s->dim, s->ok, pred, probs)
                       : cm_fail(CM_ERR_MEMORY, "out of host memory");
    const char *const *names = st == CM_OK ? recorded_names(m, store) : NULL;
    for (int j = 0; st == CM_OK && j < s->ok; j++) {
        const float *p = probs + (size_t)j * classes;
        top_classes(p, classes, pred[j], top, order);
        print_prediction(a, out, files[s->index[j]], p, pred[j], order, top, s->inverted[j], names);
    }
    free(probs), free(pred), free(order), free(store);
    return st;
}

/* predict through the public API: clmnist_image_load on each file, clmnist_predict on those read. */
cm_status cmd_predict(int argc, char **argv) {
    eval_args a;
    int help, n = 0;
    CM_TRY(parse(argc, argv, 1, &a, &help, &n));
    if (help) return CM_OK;
    char **files = argv + argc - n;
    clmnist_ctx *ctx = NULL;
    clmnist_model *m = NULL;
    predict_set s = {0};
    cJSON *out = cJSON_CreateArray();
    cm_status st = out ? open_model(&a, &ctx, &m) : cm_fail(CM_ERR_MEMORY, "out of host memory");
    if (st == CM_OK) st = predict_read(&a, m, files, n, &s);
    if (st == CM_OK && s.ok > 0) st = predict_run(&a, m, files, &s, out);
    for (int i = 0; a.json && st == CM_OK && i < n; i++)
        if (s.errors[i]) print_json_error(out, files[i], s.errors[i]);
    if (a.json && st == CM_OK) {
        char *text = cJSON_Print(out);
        if (text) printf("%s\n", text);
        free(text);
    }
    cJSON_Delete(out);
    clmnist_model_free(m);
    clmnist_close(ctx);
    int failed = s.failed;
    predict_set_free(&s);
    CM_TRY(st);
    if (failed) return cm_fail(CM_ERR_IO, "%d of %d images could not be read", failed, n);
    return CM_OK;
}
