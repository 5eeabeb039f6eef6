/* cmd_eval.c: `clmnist eval` and `clmnist predict`: a saved model on the test set (accuracy,
 * loss, confusion matrix, precision/recall, optional report) or on the user's own images. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "eval.h"
#include "image.h"
#include "model_io.h"
#include "pipeline.h"
#include "report.h"
#include "commands.h"
#include "timer.h"

typedef struct {
    const char *model, *data, *backend, *device, *report, *predictions;
    int batch, threads, json, top;
    cm_invert invert;
    cm_pipeline_overrides ov; /* eval: --seed, --test-fraction, --image-size, --preprocess */
} eval_args;

static void eval_usage(int predict) {
    if (predict)
        printf("usage: clmnist predict --model FILE [options] IMAGE...\n\n"
               "Classifies images (PNG, JPEG, PGM/PPM), each turned to grayscale and brought to the model's\n"
               "input as its training images were made (its input_preprocess metadata): for MNIST-like data\n"
               "made white-on-black, scaled into a 20x20 box and centred by centre of mass in 28x28, as MNIST\n"
               "was made; for an image folder trained with --preprocess resize, resized as it is.\n\noptions:\n");
    else
        printf("usage: clmnist eval --model FILE [options]\n\n"
               "Evaluates a saved model on a test set: accuracy, loss, confusion matrix, per-class precision\n"
               "and recall.\n\noptions:\n");
    printf("  --model FILE      a model saved by 'clmnist train' (safetensors)\n");
    if (!predict) {
        printf("  --data DIR        the test data (default: the model's training data when it is still there,\n"
               "                    else $CLMNIST_DATA or data/mnist), read as the model's was: its test split\n"
               "                    (or the same held-out fraction and seed), size and preprocessing\n");
        printf("  --seed N, --test-fraction F, --image-size N, --preprocess resize|mnist\n"
               "                    replace the model's recorded split or input (a note says so)\n");
        printf("  --report DIR      write DIR/report.html (confusion heat map, worst mistakes)\n");
        printf("  --batch N         examples per forward pass (default: the model's training batch)\n");
        printf("  --predictions F   write each test example's predicted class to F, one per line\n");
    } else {
        printf("  --invert MODE     auto (default: invert when the background is light), yes or no; for a\n"
               "                    --preprocess resize model only 'yes' inverts\n");
        printf("  --top K           how many classes to list per image (default 3)\n");
        printf("  --json            print one JSON array\n");
    }
    printf("  --backend B       'device' (OpenCL, default) or 'host' (C reference backend, OpenBLAS GEMM)\n");
    printf("  --device SEL      OpenCL device: index or name substring from 'clmnist devices'\n");
    printf("  --threads N       host backend threads (default: all cores)\n");
    printf("  -h, --help        show this help\n");
}

/* --test-fraction, --image-size, --preprocess: run_set_data_option's checks, into ov. */
static cm_status eval_data_option(cm_pipeline_overrides *ov, const char *name, const char *value) {
    cm_data_options o;
    dataset_default_options(&o);
    o.test_fraction = 0.0;
    o.preprocess = (cm_preprocess)-1;
    CM_TRY(run_set_data_option(&o, name, value));
    if (o.test_fraction > 0) ov->test_fraction = o.test_fraction;
    if (o.image_size) ov->image_size = o.image_size;
    if ((int)o.preprocess >= 0) ov->preprocess = (int)o.preprocess;
    return CM_OK;
}

static cm_status parse(int argc, char **argv, int predict, eval_args *a, int *help) {
    const char *name = predict ? "predict" : "eval";
    const char *env_data = getenv("CLMNIST_DATA");
    *a = (eval_args){.data = env_data && *env_data ? env_data : "data/mnist", .backend = "device", .top = 3};
    pipeline_no_overrides(&a->ov);
    if (!predict) a->data = NULL; /* the model's recorded data (pipeline_data_path) */
    *help = 0;
    enum { O_MODEL = 256, O_DATA, O_BACKEND, O_DEVICE, O_REPORT, O_BATCH, O_THREADS, O_JSON, O_INVERT, O_TOP, O_PRED };
    enum { O_SEED = O_PRED + 1, O_DATA_OPT };
    static const struct option eval_opts[] = {{"model", required_argument, NULL, O_MODEL},
                                              {"data", required_argument, NULL, O_DATA},
                                              {"backend", required_argument, NULL, O_BACKEND},
                                              {"device", required_argument, NULL, O_DEVICE},
                                              {"report", required_argument, NULL, O_REPORT},
                                              {"batch", required_argument, NULL, O_BATCH},
                                              {"threads", required_argument, NULL, O_THREADS},
                                              {"predictions", required_argument, NULL, O_PRED},
                                              {"seed", required_argument, NULL, O_SEED},
                                              {"test-fraction", required_argument, NULL, O_DATA_OPT},
                                              {"image-size", required_argument, NULL, O_DATA_OPT},
                                              {"preprocess", required_argument, NULL, O_DATA_OPT},
                                              {"help", no_argument, NULL, 'h'},
                                              {NULL, 0, NULL, 0}};
    static const struct option predict_opts[] = {{"model", required_argument, NULL, O_MODEL},
                                                 {"backend", required_argument, NULL, O_BACKEND},
                                                 {"device", required_argument, NULL, O_DEVICE},
                                                 {"threads", required_argument, NULL, O_THREADS},
                                                 {"json", no_argument, NULL, O_JSON},
                                                 {"invert", required_argument, NULL, O_INVERT},
                                                 {"top", required_argument, NULL, O_TOP},
                                                 {"help", no_argument, NULL, 'h'},
                                                 {NULL, 0, NULL, 0}};
    optind = 1;
    opterr = 0;
    int c, li;
    long v;
    while ((c = getopt_long(argc, argv, ":h", predict ? predict_opts : eval_opts, &li)) != -1) {
        switch (c) {
        case O_MODEL: a->model = optarg; break;
        case O_DATA: a->data = optarg; break;
        case O_BACKEND:
            if (strcmp(optarg, "host") && strcmp(optarg, "device"))
                return cm_fail(CM_ERR_USAGE, "--backend '%s': expected 'host' or 'device'", optarg);
            a->backend = optarg;
            break;
        case O_DEVICE: a->device = optarg; break;
        case O_REPORT: a->report = optarg; break;
        case O_PRED: a->predictions = optarg; break;
        case O_SEED:
            CM_TRY(cm_parse_int("--seed", optarg, 0, 0x7fffffffL, &v));
            a->ov.seed_set = 1, a->ov.seed = (uint64_t)v;
            break;
        case O_DATA_OPT: CM_TRY(eval_data_option(&a->ov, eval_opts[li].name, optarg)); break;
        case O_BATCH:
            CM_TRY(cm_parse_int("--batch", optarg, 1, 1 << 16, &v));
            a->batch = (int)v;
            break;
        case O_THREADS:
            CM_TRY(cm_parse_int("--threads", optarg, 1, 1024, &v));
            a->threads = (int)v;
            break;
        case O_JSON: a->json = 1; break;
        case O_TOP:
            CM_TRY(cm_parse_int("--top", optarg, 1, 1000, &v));
            a->top = (int)v;
            break;
        case O_INVERT:
            if (!strcmp(optarg, "auto"))
                a->invert = CM_INVERT_AUTO;
            else if (!strcmp(optarg, "yes"))
                a->invert = CM_INVERT_YES;
            else if (!strcmp(optarg, "no"))
                a->invert = CM_INVERT_NO;
            else
                return cm_fail(CM_ERR_USAGE, "--invert '%s': expected auto, yes or no", optarg);
            break;
        case 'h':
            eval_usage(predict);
            *help = 1;
            return CM_OK;
        case ':': return cm_fail(CM_ERR_USAGE, "clmnist %s: %s needs a value", name, argv[optind - 1]);
        default:
            return cm_fail(CM_ERR_USAGE, "clmnist %s: unknown option '%s' (see 'clmnist %s --help')", name,
                           argv[optind - 1], name);
        }
    }
    if (!a->model) return cm_fail(CM_ERR_USAGE, "clmnist %s: --model FILE is required", name);
    if (!predict && optind < argc) return cm_fail(CM_ERR_USAGE, "clmnist eval: unexpected argument '%s'", argv[optind]);
    if (predict && optind >= argc) return cm_fail(CM_ERR_USAGE, "clmnist predict: no IMAGE given");
    return CM_OK;
}

/* A backend, the model file and its inference context. */
typedef struct {
    cm_backend *b;
    cm_model_file file;
    cm_infer *c;
} runner;

/* The backend and the model file; *batch 0 becomes the model's training batch. */
static cm_status runner_load(const eval_args *a, runner *r, int *batch) {
    memset(r, 0, sizeof *r);
    cm_backend_options bo = {.device = a->device, .threads = a->threads};
    CM_TRY(backend_create(a->backend, &bo, &r->b));
    size_t align = r->b->align_bytes > CM_PARAM_ALIGN_BYTES ? r->b->align_bytes : CM_PARAM_ALIGN_BYTES;
    CM_TRY(model_file_load(a->model, align, &r->file));
    if (*batch <= 0) {
        const char *mb = meta_get(&r->file.meta, "train.batch");
        long v = 0;
        *batch = mb && cm_parse_int("train.batch", mb, 1, 1 << 16, &v) == CM_OK ? (int)v : 256;
    }
    return CM_OK;
}

/* Then the inference context, for images of ds's shape. */
static cm_status runner_start(const eval_args *a, const cm_dataset *ds, int batch, runner *r) {
    const cm_layout *L = &r->file.model.layout;
    if ((int)shape_numel(L->input) != ds->test.dim)
        return cm_fail(CM_ERR_USAGE, "%s: the model takes %dx%dx%d inputs but the images are %dx%d", a->model,
                       L->input.c, L->input.h, L->input.w, ds->test.rows, ds->test.cols);
    return infer_create(r->b, &r->file.model, batch, &r->c);
}

static void runner_close(runner *r) {
    infer_destroy(r->c);
    model_file_free(&r->file);
    backend_destroy(r->b);
}

static cm_status eval_run(const eval_args *a, const cm_dataset *ds, runner *r) {
    const cm_layout *L = infer_layout(r->c);
    int classes = L->classes;
    const cm_split *test = &ds->test;
    for (int32_t i = 0; i < test->count; i++)
        if (test->labels[i] >= classes)
            return cm_fail(CM_ERR_USAGE, "%s: label %d of test example %d is not a class of this %d-class model",
                           a->data, test->labels[i], i, classes);
    cm_stats stats;
    double t0 = timer_now();
    int32_t *pred = malloc(sizeof(int32_t) * (size_t)test->count);
    float *probs = malloc(sizeof(float) * (size_t)test->count * classes);
    cm_status st = pred && probs ? CM_OK : cm_fail(CM_ERR_MEMORY, "out of host memory");
    if (st == CM_OK) st = infer_run(r->c, test, pred, probs, &stats);
    double secs = timer_now() - t0;
    cm_eval ev;
    if (st == CM_OK) st = eval_compute(test, pred, probs, classes, &ev);
    if (st == CM_OK) {
        ev.loss = stats.loss;
        if (ev.correct != (int64_t)(stats.accuracy * (double)stats.count + 0.5))
            fprintf(stderr, "clmnist: warning: argmax on the host and on the backend disagree (%lld vs %.0f)\n",
                    (long long)ev.correct, stats.accuracy * (double)stats.count);
        char store[64][32];
        const char *ptrs[64];
        const char *const *names = classes <= 64 ? run_meta_class_names(&r->file.meta, classes, store, ptrs) : NULL;
        char arch[CM_ARCH_TEXT];
        model_describe(L, arch, sizeof arch);
        printf("model: %s: %s, trained on %s\n", a->model, arch,
               meta_get(&r->file.meta, "dataset") ? meta_get(&r->file.meta, "dataset") : "(unknown)");
        printf("eval: %d test images of %s on %s in %.2f s\n", test->count, a->data, r->b->device_name, secs);
        eval_print(&ev, names, stdout);
        if (a->predictions) {
            FILE *f = fopen(a->predictions, "w");
            for (int32_t i = 0; f && i < test->count; i++)
                fprintf(f, "%d\n", pred[i]);
            if (!f || fclose(f) != 0) st = cm_fail(CM_ERR_IO, "--predictions %s: cannot write", a->predictions);
        }
        if (st == CM_OK && a->report) {
            char title[256];
            snprintf(title, sizeof title, "clmnist evaluation: %s on %s", a->model, a->data);
            st = report_write_html(a->report, title, &r->file.meta, 0, &ev, test, names);
            if (st == CM_OK) printf("report: %s/report.html\n", a->report);
        }
        printf("test accuracy: %.2f%%\n", 100.0 * ev.accuracy);
        eval_free(&ev);
    }
    free(pred);
    free(probs);
    return st;
}

/* The model's test data, built from its recorded pipeline p (pipeline.h) with eval's overrides;
 * a->data may point into p. */
static cm_status eval_data(eval_args *a, const runner *r, cm_pipeline *p, cm_dataset *ds) {
    if (!p) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    CM_TRY(pipeline_from_meta(&r->file.meta, a->model, &r->file.model.layout, p));
    a->data = pipeline_data_path(p, &a->ov, stderr);
    CM_TRY(pipeline_open_dataset(p, a->data, &a->ov, stderr, ds));
    pipeline_warn_classes(p, ds, a->data);
    return CM_OK;
}

cm_status cmd_eval(int argc, char **argv) {
    eval_args a;
    int help;
    CM_TRY(parse(argc, argv, 0, &a, &help));
    if (help) return CM_OK;
    a.ov.data = a.data;
    int batch = a.batch;
    cm_dataset ds = {0};
    runner r;
    cm_pipeline *p = malloc(sizeof *p);
    cm_status st = runner_load(&a, &r, &batch);
    if (st == CM_OK) st = eval_data(&a, &r, p, &ds);
    if (st == CM_OK) run_warn_test_data(a.data, &ds.test);
    if (st == CM_OK) st = runner_start(&a, &ds, batch, &r);
    if (st == CM_OK) st = eval_run(&a, &ds, &r);
    runner_close(&r);
    dataset_free(&ds);
    free(p);
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

/* The images of a predict run, brought to the model's input (image_for_model). */
typedef struct {
    int n, ok, failed;     /* files given, read, unreadable */
    uint8_t *images;       /* (ok, rows * cols) */
    uint8_t *labels;       /* (ok) zeros */
    int *index, *inverted; /* (ok) the file of each image; whether it was inverted */
    char **errors;         /* (n) each unreadable file's message, or NULL */
} predict_set;

static void predict_set_free(predict_set *s) {
    for (int i = 0; s->errors && i < s->n; i++)
        free(s->errors[i]);
    free(s->errors), free(s->images), free(s->labels), free(s->index), free(s->inverted);
}

/* Decodes every file into s as the model (r) takes its input; an unreadable file is reported
 * (stderr, or the JSON later) and skipped. */
static cm_status predict_read(const eval_args *a, const runner *r, char **files, int n, predict_set *s) {
    const cm_layout *L = &r->file.model.layout;
    size_t dim = shape_numel(L->input);
    cm_pipeline *p = malloc(sizeof *p); /* how the model's images were made (pipeline.h) */
    if (!p) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    cm_status pst = pipeline_from_meta(&r->file.meta, a->model, L, p);
    if (pst != CM_OK) free(p);
    CM_TRY(pst);
    *s = (predict_set){.n = n};
    s->images = calloc((size_t)n, dim), s->labels = calloc((size_t)n, 1), s->errors = calloc((size_t)n, sizeof(char *));
    s->index = calloc((size_t)n, sizeof(int)), s->inverted = calloc((size_t)n, sizeof(int));
    if (!s->images || !s->labels || !s->index || !s->inverted || !s->errors) n = -1;
    for (int i = 0; i < n; i++) {
        uint8_t *gray = NULL;
        int w, h;
        cm_status st = image_load_gray(files[i], &gray, &w, &h);
        if (st == CM_OK)
            st = pipeline_image(p, gray, w, h, a->invert, files[i], s->images + (size_t)s->ok * dim,
                                &s->inverted[s->ok]);
        free(gray);
        if (st != CM_OK) { /* report, keep going with the other files */
            s->failed++;
            s->errors[i] = strdup(cm_last_error());
            if (!a->json) fprintf(stderr, "clmnist: error: %s\n", cm_last_error());
            continue;
        }
        s->index[s->ok++] = i;
    }
    free(p);
    return n < 0 ? cm_fail(CM_ERR_MEMORY, "out of host memory") : CM_OK;
}

/* The k most probable classes of p (classes), first index on ties; order[0] is the prediction. */
static void top_classes(const float *p, int classes, int32_t pred, int k, int *order) {
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

static void print_prediction(const eval_args *a, cJSON *out, const char *file, const float *p, int32_t pred,
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

/* Classifies the images of s and prints each answer (into out with --json). */
static cm_status predict_run(const eval_args *a, runner *r, int batch, char **files, const predict_set *s, cJSON *out) {
    const cm_layout *L = &r->file.model.layout;
    int classes = L->classes, top = a->top < classes ? a->top : classes;
    cm_dataset ds = {.classes = 1};
    ds.train = (cm_split){.count = s->ok,
                          .rows = L->input.h,
                          .cols = L->input.w,
                          .dim = (int32_t)shape_numel(L->input),
                          .images = s->images,
                          .labels = s->labels,
                          .borrowed = 1};
    ds.test = ds.train;
    CM_TRY(runner_start(a, &ds, batch < s->ok ? batch : s->ok, r));
    float *probs = malloc(sizeof(float) * (size_t)s->ok * (size_t)classes);
    int32_t *pred = malloc(sizeof(int32_t) * (size_t)s->ok);
    int *order = malloc(sizeof(int) * (size_t)classes);
    cm_status st = probs && pred && order ? infer_run(r->c, &ds.test, pred, probs, NULL)
                                          : cm_fail(CM_ERR_MEMORY, "out of host memory");
    char store[64][32];
    const char *ptrs[64];
    const char *const *names = classes <= 64 ? run_meta_class_names(&r->file.meta, classes, store, ptrs) : NULL;
    for (int j = 0; st == CM_OK && j < s->ok; j++) {
        const float *p = probs + (size_t)j * classes;
        top_classes(p, classes, pred[j], top, order);
        print_prediction(a, out, files[s->index[j]], p, pred[j], order, top, s->inverted[j], names);
    }
    free(probs), free(pred), free(order);
    return st;
}

cm_status cmd_predict(int argc, char **argv) {
    eval_args a;
    int help, batch = 256;
    CM_TRY(parse(argc, argv, 1, &a, &help));
    if (help) return CM_OK;
    int n = argc - optind;
    char **files = argv + optind;
    runner r = {0};
    predict_set s = {0};
    cJSON *out = cJSON_CreateArray();
    cm_status st = out ? runner_load(&a, &r, &batch) : cm_fail(CM_ERR_MEMORY, "out of host memory");
    if (st == CM_OK) st = predict_read(&a, &r, files, n, &s);
    if (st == CM_OK && s.ok > 0) st = predict_run(&a, &r, batch, files, &s, out);
    for (int i = 0; a.json && st == CM_OK && i < n; i++)
        if (s.errors[i]) print_json_error(out, files[i], s.errors[i]);
    if (a.json && st == CM_OK) {
        char *text = cJSON_Print(out);
        if (text) printf("%s\n", text);
        free(text);
    }
    cJSON_Delete(out);
    runner_close(&r);
    int failed = s.failed;
    predict_set_free(&s);
    CM_TRY(st);
    if (failed) return cm_fail(CM_ERR_IO, "%d of %d images could not be read", failed, n);
    return CM_OK;
}
