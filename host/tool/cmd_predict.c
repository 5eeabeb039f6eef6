/* cmd_predict.c: `clmnist predict`: a saved model on the user's own images: files, folders
 * (recursively, in sorted order), one image on stdin ("-"), or the images of --data (a CSV file
 * labelled or not, such as Kaggle's test.csv; IDX data's test split; an image folder). Answers as
 * text, --json (prediction.h's fields, the same as serve's /api/predict), --csv, a Kaggle
 * --submission file; --save-input writes each 28x28 input as a PNG. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "cli.h"
#include "commands.h"
#include "predict_inputs.h"
#include "prediction.h"
#include "preflight.h"

typedef struct {
    const char *model, *backend, *device, *data, *submission, *save_input;
    int threads, json, csv, top;
    cm_invert invert;
} predict_args;

static const cm_extra_option predict_extra[] = {
    {"model", 1, "  --model FILE      a model saved by 'clmnist train' (safetensors), or an ONNX model\n"},
    {"invert", 1,
     "  --invert MODE     auto (default: invert dark ink on light paper), yes or no; for a\n"
     "                    --preprocess resize model only 'yes' inverts\n"},
    {"top", 1, "  --top K           how many classes to list per image (default 3)\n"},
    {"json", 0, "  --json            print one JSON array, in input order (a failed file: its \"error\")\n"},
    {"csv", 0, "  --csv             print CSV: file,class,name,probability\n"},
    {"submission", 1, "  --submission F    write a Kaggle submission to F: ImageId,Label (ids from 1)\n"},
    {"save-input", 1, "  --save-input DIR  write each image's 28x28 input, as the model saw it, to DIR as PNG\n"},
    {NULL, 0, NULL}};

static cm_status on_predict(void *ctx, int index, const char *v) {
    predict_args *a = ctx;
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
    case 4: a->csv = 1; break;
    case 5: a->submission = v; break;
    case 6: a->save_input = v; break;
    default: break;
    }
    return CM_OK;
}

static const char predict_summary[] =
    "Classifies images (PNG, JPEG, PGM/PPM; a folder: its images, recursively, in sorted order; '-':\n"
    "one image on stdin) and the images of --data. Each image is brought to the model's input as its\n"
    "training images were made (its input_preprocess metadata): for MNIST-like data a photo is\n"
    "normalised by its background, thresholded, cleared of specks, cropped to the digit, scaled into\n"
    "a 20x20 box and centred by centre of mass in 28x28, as MNIST was made (docs/data.md); an image\n"
    "folder trained with --preprocess resize is resized as it is. An answer is marked uncertain when\n"
    "its probability is under 0.8 or the image held no clear digit.";

static cm_status parse(int argc, char **argv, predict_args *a, int *help, int *nimages) {
    *a = (predict_args){.top = 3};
    const cm_command_info info = {"predict",
                                  CM_CMD_PREDICT,
                                  "predict --model FILE [options] IMAGE|DIR|-...",
                                  predict_summary,
                                  predict_extra,
                                  on_predict,
                                  a,
                                  1};
    cm_train_args t;
    CM_TRY(cli_parse(argc, argv, &info, &t, help, nimages));
    if (*help) return CM_OK;
    a->data = run_option_given(&t, "data") ? t.data_dir : NULL;
    a->backend = t.backend, a->device = t.device, a->threads = t.threads;
    if (!a->model) return cm_fail(CM_ERR_USAGE, "clmnist predict: --model FILE is required");
    if (*nimages == 0 && !a->data) return cm_fail(CM_ERR_USAGE, "clmnist predict: no IMAGE given (or --data PATH)");
    if (a->json + a->csv > 1) return cm_fail(CM_ERR_USAGE, "clmnist predict: --json and --csv: choose one");
    return CM_OK;
}

/* The API's context for --backend, --device and --threads, and the model. */
static cm_status open_model(const predict_args *a, clmnist_ctx **ctx, clmnist_model **m) {
    char opts[640];
    int n = snprintf(opts, sizeof opts, "backend=%s", a->backend);
    if (a->threads) n += snprintf(opts + n, sizeof opts - (size_t)n, ",threads=%d", a->threads);
    if (a->device) snprintf(opts + n, sizeof opts - (size_t)n, ",device=%s", a->device);
    CM_TRY(clmnist_open(opts, ctx));
    return clmnist_model_load(*ctx, a->model, m);
}

/* The class names: the model's recorded ones, else the class numbers (names[c] into store). */
static const char *const *class_names(const clmnist_model *m, char (*store)[16], const char **names) {
    int classes = clmnist_model_classes(m), named = clmnist_model_meta(m, "class_names") != NULL;
    for (int c = 0; c < classes; c++) {
        snprintf(store[c], 16, "%d", c);
        names[c] = named ? clmnist_model_class_name(m, c) : store[c];
    }
    return names;
}

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static void csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* The answer to item i (probs p) on stdout as text or CSV, or into the JSON array out. */
static void show(const predict_args *a, const cm_predict_inputs *in, int i, const float *p, int classes,
                 const char *const *names, cJSON *out) {
    int top = a->top < classes ? a->top : classes, order[1000];
    prediction_top(p, classes, top, order);
    int uncertain = prediction_uncertain(p[order[0]], in->unclear[i]);
    if (a->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "file", in->names[i]);
        prediction_to_json(o, p, classes, names, top, in->unclear[i]);
        if (in->inverted[i] >= 0) cJSON_AddBoolToObject(o, "inverted", in->inverted[i]);
        if (in->saved[i]) cJSON_AddStringToObject(o, "input", in->saved[i]);
        cJSON_AddItemToArray(out, o);
    } else if (a->csv) {
        csv_field(stdout, in->names[i]);
        printf(",%d,", order[0]);
        csv_field(stdout, names[order[0]]);
        printf(",%.6g\n", p[order[0]]);
    } else {
        printf("%s: %s (%.2f%%)  top-%d:", in->names[i], names[order[0]], 100.0 * p[order[0]], top);
        for (int k = 0; k < top; k++)
            printf(" %s %.2f%%", names[order[k]], 100.0 * p[order[k]]);
        printf("%s%s", in->inverted[i] > 0 ? "  (inverted)" : "", uncertain ? "  uncertain" : "");
        printf(in->saved[i] ? "  input: %s\n" : "\n", in->saved[i]);
    }
}

/* ImageId,Label for every item, ids from 1 in input order (all must have been read). */
static cm_status write_submission(const char *path, const cm_predict_inputs *in, const int *pred,
                                  const char *const *names) {
    FILE *f = fopen(path, "w");
    if (!f) return cm_fail(CM_ERR_IO, "--submission %s: cannot write", path);
    fprintf(f, "ImageId,Label\n");
    for (int i = 0, j = 0; i < in->n; i++)
        if (!in->errors[i]) fprintf(f, "%d,%s\n", i + 1, names[pred[j++]]);
    if (fclose(f) != 0) return cm_fail(CM_ERR_IO, "--submission %s: cannot write", path);
    return CM_OK;
}

/* Classifies the items read and prints every answer, in input order (a failed one: its error). */
static cm_status answer_all(const predict_args *a, clmnist_model *m, const cm_predict_inputs *in) {
    int classes = clmnist_model_classes(m), ok = in->n - in->failed;
    float *probs = malloc(sizeof(float) * ((size_t)ok + 1) * (size_t)classes);
    int *pred = malloc(sizeof(int) * ((size_t)ok + 1));
    char(*store)[16] = calloc((size_t)classes, 16);
    const char **names = calloc((size_t)classes, sizeof(char *));
    uint8_t *images = malloc((size_t)ok * in->dim + 1);
    cJSON *out = cJSON_CreateArray();
    cm_status st = probs && pred && store && names && images && out ? CM_OK : cm_fail(CM_ERR_MEMORY, "out of memory");
    for (int i = 0, j = 0; st == CM_OK && i < in->n; i++)
        if (!in->errors[i]) memcpy(images + (size_t)j++ * in->dim, in->images + (size_t)i * in->dim, in->dim);
    if (st == CM_OK && ok > 0) st = clmnist_predict(m, images, (size_t)ok * in->dim, ok, pred, probs);
    if (st == CM_OK) class_names(m, store, names);
    if (st == CM_OK && a->csv) printf("file,class,name,probability\n");
    for (int i = 0, j = 0; st == CM_OK && i < in->n; i++) {
        if (!in->errors[i]) {
            show(a, in, i, probs + (size_t)j++ * classes, classes, names, out);
        } else if (a->json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "file", in->names[i]);
            cJSON_AddStringToObject(o, "error", in->errors[i]);
            cJSON_AddItemToArray(out, o);
        } else {
            fflush(stdout);
            fprintf(stderr, "clmnist: error: %s\n", in->errors[i]);
        }
    }
    if (st == CM_OK && a->json) {
        char *text = cJSON_Print(out);
        if (text) printf("%s\n", text);
        free(text);
    }
    int right = 0, labelled = 0;
    for (int i = 0, j = 0; st == CM_OK && i < in->n; i++)
        if (!in->errors[i] && in->labels[i] >= 0)
            right += pred[j++] == in->labels[i], labelled++;
        else
            j += !in->errors[i];
    if (labelled) {
        fflush(stdout);
        fprintf(stderr, "accuracy: %.2f%% (%d of %d labelled images)\n", 100.0 * right / labelled, right, labelled);
    }
    if (st == CM_OK && a->submission) st = write_submission(a->submission, in, pred, names);
    cJSON_Delete(out);
    free(probs), free(pred), free(store), free(names), free(images);
    return st;
}

cm_status cmd_predict(int argc, char **argv) {
    predict_args a;
    int help, n = 0;
    CM_TRY(parse(argc, argv, &a, &help, &n));
    if (help) return CM_OK;
    clmnist_ctx *ctx = NULL;
    clmnist_model *m = NULL;
    cm_predict_inputs in;
    predict_inputs_init(&in);
    cm_status st = preflight_file("--submission", a.submission); /* before the work: where it writes */
    if (st == CM_OK) st = open_model(&a, &ctx, &m);
    if (st == CM_OK) st = predict_inputs_collect(&in, m, (const char *const *)(argv + argc - n), n, a.data, a.invert);
    if (st == CM_OK && a.submission && in.failed)
        st = cm_fail(CM_ERR_IO, "--submission %s: %d of %d images could not be read (the first: %s)", a.submission,
                     in.failed, in.n, predict_inputs_first_error(&in));
    if (st == CM_OK && a.save_input) st = predict_inputs_save(&in, m, a.save_input);
    if (st == CM_OK && in.n == 0) st = cm_fail(CM_ERR_USAGE, "clmnist predict: no images found");
    if (st == CM_OK) st = answer_all(&a, m, &in);
    int failed = in.failed, total = in.n;
    predict_inputs_free(&in);
    clmnist_model_free(m);
    clmnist_close(ctx);
    CM_TRY(st);
    if (failed) return cm_fail(CM_ERR_IO, "%d of %d images could not be read", failed, total);
    return CM_OK;
}
