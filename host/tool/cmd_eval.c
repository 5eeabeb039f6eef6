/* cmd_eval.c: `clmnist eval`: a saved model on the test set (accuracy, loss, confusion matrix,
 * precision/recall, optional report), through the public API (include/clmnist/clmnist.h); its
 * printing and report use the handles' insides (api_internal.h). `predict` is cmd_predict.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "cli.h"
#include "commands.h"
#include "preflight.h"
#include "eval.h"
#include "model_io.h"
#include "pipeline.h"
#include "report.h"
#include "timer.h"

typedef struct {
    const char *model, *data, *backend, *device, *report, *predictions;
    int batch, threads;
    cm_pipeline_overrides ov; /* eval: --seed, --test-fraction, --image-size, --preprocess */
} eval_args;

static const cm_extra_option eval_extra[] = {
    {"model", 1, "  --model FILE      a model saved by 'clmnist train' (safetensors), or an ONNX model\n"},
    {"report", 1, "  --report DIR      write DIR/report.html (confusion heat map, worst mistakes)\n"},
    {"batch", 1, "  --batch N         examples per forward pass (default: the model's training batch)\n"},
    {"predictions", 1, "  --predictions F   write each test example's predicted class to F, one per line\n"},
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

/* The options of eval. */
static cm_status parse(int argc, char **argv, eval_args *a, int *help) {
    *a = (eval_args){0};
    const cm_command_info info = {"eval",
                                  CM_CMD_EVAL,
                                  "eval --model FILE [options]",
                                  "Evaluates a saved model on a test set: accuracy, loss, confusion matrix, per-class "
                                  "precision\nand recall.",
                                  eval_extra,
                                  on_eval,
                                  a,
                                  1};
    cm_train_args t;
    CM_TRY(cli_parse(argc, argv, &info, &t, help, NULL));
    if (*help) return CM_OK;
    a->data = t.data_dir;
    eval_overrides(&t, a);
    a->backend = t.backend;
    a->device = t.device;
    a->threads = t.threads;
    if (!a->model) return cm_fail(CM_ERR_USAGE, "clmnist eval: --model FILE is required");
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
    CM_TRY(parse(argc, argv, &a, &help));
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
