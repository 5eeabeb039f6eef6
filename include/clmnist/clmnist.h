/* clmnist.h -- the public C API of libclmnist (its version: CLMNIST_VERSION below)
 *
 * libclmnist trains and runs image classifiers (MLPs and CNNs, torch.nn.Sequential-like) on
 * MNIST-like data, on an OpenCL device (CLBlast for GEMM) or on the CPU (plain C, OpenBLAS GEMM).
 * This header is the whole public interface; everything else in the library is internal.
 *
 * The objects, all opaque and created and destroyed by the library:
 *   clmnist_ctx            where work runs: a backend ("auto", "host", "device"), the OpenCL
 *                          device, threads;
 *   clmnist_model          a network with its weights and metadata (a safetensors file, or what
 *                          clmnist_train returned), ready to classify;
 *   clmnist_dataset        labelled images (IDX, CSV, image folders) with a training and a test
 *                          split;
 *   clmnist_train_options  the options of a training run, set by name.
 *
 * Errors. Every function that can fail returns an int status: CLMNIST_OK (0) on success, else
 * one of the CLMNIST_ERR_* codes. The failing call then records a one-line message naming what
 * is at fault (the file, the option, the device, the argument), which clmnist_last_error returns.
 * A function that fails leaves its output handle NULL and owns nothing the caller must free.
 *
 * Ownership. Every clmnist_*_open / _load / _new / clmnist_train result is the caller's and is
 * freed by the matching clmnist_close / _free (each accepts NULL). Strings returned by getters
 * belong to the object they came from and stay valid until it is freed. A model or dataset does
 * not keep its context alive: close the context after them. Pointers passed in are only borrowed
 * for the duration of the call.
 *
 * Threads. Handles are not tied to a thread. Distinct handles may be used concurrently from
 * different threads. A model may classify (clmnist_predict, clmnist_predict_files,
 * clmnist_evaluate) from several threads at once: each call borrows one of the model's inference
 * contexts ("contexts" option of clmnist_open) and waits while all are busy. Every other call on
 * one handle (freeing it, clmnist_train on a context, setting options) must not overlap another
 * call on the same handle. The error message is kept per thread.
 *
 * Build: pkg-config --cflags --libs clmnist, or find_package(clmnist) and clmnist::clmnist in
 * CMake; see docs/api.md. */
#ifndef CLMNIST_H
#define CLMNIST_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLMNIST_VERSION_MAJOR 0
#define CLMNIST_VERSION_MINOR 1
#define CLMNIST_VERSION_PATCH 0
#define CLMNIST_VERSION "0.1.0"

#ifndef CLMNIST_API
#if defined(__GNUC__) || defined(__clang__)
#define CLMNIST_API __attribute__((visibility("default")))
#else
#define CLMNIST_API
#endif
#endif

/* ---- status codes (the same values as the library's internal cm_status) -------------------- */
#define CLMNIST_OK 0
#define CLMNIST_ERR_USAGE 1   /* a bad argument or option: NULL handle, unknown key, bad value */
#define CLMNIST_ERR_IO 2      /* a file could not be read or written */
#define CLMNIST_ERR_FORMAT 3  /* a file is malformed */
#define CLMNIST_ERR_MEMORY 4  /* host or device memory exhausted */
#define CLMNIST_ERR_DEVICE 5  /* OpenCL / CLBlast failure, or no device */
#define CLMNIST_ERR_NUMERIC 6 /* the training loss became NaN or infinite */

typedef struct clmnist_ctx clmnist_ctx;
typedef struct clmnist_model clmnist_model;
typedef struct clmnist_dataset clmnist_dataset;
typedef struct clmnist_train_options clmnist_train_options;

/* The library's version, "0.1.0": compare with CLMNIST_VERSION to catch a header/library
 * mismatch. Thread-safe. */
CLMNIST_API const char *clmnist_version(void);

/* The message of the last failed call on this thread ("" when none): one line, no newline. Valid
 * until the next call into the library on this thread. */
CLMNIST_API const char *clmnist_last_error(void);

/* ---- context ---------------------------------------------------------------------------------
 * options: NULL or "" for the defaults, else "key=value" pairs separated by ',' or ';' (spaces
 * around keys and values are ignored):
 *   backend=auto|host|device  auto (default): the OpenCL device when one is named or a GPU is
 *                             present, else host (plain C, OpenBLAS GEMM);
 *   device=SEL                OpenCL device: index or name substring (as 'clmnist devices' lists);
 *   threads=N                 host backend: threads per call (default: all cores);
 *   contexts=N                inference contexts of each model loaded or trained on this context:
 *                             how many calls may classify with one model at once (default 1);
 *   batch=N                   examples per forward pass of a model (default: the batch the model
 *                             was trained with, else 256).
 * Checks the options and resolves "auto"; the backend itself opens when first needed (an OpenCL
 * device compiles its kernels then: seconds on a CPU OpenCL), and every model opens its own
 * inference contexts on it. */
CLMNIST_API int clmnist_open(const char *options, clmnist_ctx **out);
CLMNIST_API void clmnist_close(clmnist_ctx *ctx);
/* The backend in use, "host" or "device" ("auto" resolved). Owned by ctx. */
CLMNIST_API const char *clmnist_backend(const clmnist_ctx *ctx);
/* The name of what runs the work: the OpenCL device's name, or "host CPU, ...". Opens the
 * backend if it is not open yet: NULL when that fails (clmnist_last_error says why). */
CLMNIST_API const char *clmnist_device_name(clmnist_ctx *ctx);

/* ---- models ----------------------------------------------------------------------------------
 * A model file is safetensors (PyTorch reads it) as 'clmnist train' saves it. Loading validates
 * every tensor and creates the model's inference contexts on ctx's backend. */
CLMNIST_API int clmnist_model_load(clmnist_ctx *ctx, const char *path, clmnist_model **out);
/* Writes the model (weights and metadata) to path atomically: an existing file is replaced only
 * on success. */
CLMNIST_API int clmnist_model_save(const clmnist_model *model, const char *path);
CLMNIST_API void clmnist_model_free(clmnist_model *model);
/* The shape of one input image: channels, height, width (any pointer may be NULL). */
CLMNIST_API int clmnist_model_input(const clmnist_model *model, int *channels, int *height, int *width);
/* The number of classes (0 for a NULL model). */
CLMNIST_API int clmnist_model_classes(const clmnist_model *model);
/* The name of class i: the model's recorded class names, else the well-known names of its
 * dataset (MNIST, Fashion-MNIST, KMNIST), else the number ("7"). NULL when i is out of range. */
CLMNIST_API const char *clmnist_model_class_name(const clmnist_model *model, int i);
/* The number of layers, and layer i described in words with its output shape, e.g.
 * "conv 32 3x3 pad 1 -> 32x28x28", "relu -> 32x28x28", "linear 10 -> 10" (NULL: out of range). */
CLMNIST_API int clmnist_model_layers(const clmnist_model *model);
CLMNIST_API const char *clmnist_model_layer(const clmnist_model *model, int i);
/* A metadata value by key ("dataset", "test_accuracy", "train.lr", "input_preprocess", ...), or
 * NULL when the model has none. */
CLMNIST_API const char *clmnist_model_meta(const clmnist_model *model, const char *key);

/* ---- datasets --------------------------------------------------------------------------------
 * Opens whatever path holds: the MNIST IDX files (raw or .gz; also EMNIST/KMNIST names), CSV in
 * Kaggle's layout (a file, or DIR/train.csv [+ test.csv]), or an image folder (one subfolder per
 * class; DIR/train and DIR/test when present). Data without a test split gets a seeded fraction
 * held out. With a model, the images are read as that model's training data was (its recorded
 * image size, preprocessing, test fraction and seed), ready for clmnist_evaluate; with NULL, the
 * data's own size (28x28 for image folders). Notes about the data go to stderr. */
CLMNIST_API int clmnist_dataset_open(clmnist_ctx *ctx, const char *path, const clmnist_model *model,
                                     clmnist_dataset **out);
CLMNIST_API void clmnist_dataset_free(clmnist_dataset *ds);
#define CLMNIST_SPLIT_TRAIN 0
#define CLMNIST_SPLIT_TEST 1
/* Images in a split (CLMNIST_SPLIT_TRAIN or _TEST); -1 for a NULL dataset or another split. */
CLMNIST_API int clmnist_dataset_count(const clmnist_dataset *ds, int split);
/* The number of classes (max label + 1), and the size of its images. */
CLMNIST_API int clmnist_dataset_classes(const clmnist_dataset *ds);
CLMNIST_API int clmnist_dataset_image_size(const clmnist_dataset *ds, int *height, int *width);

/* ---- classification --------------------------------------------------------------------------
 * Classifies n images given as pixels: uint8, n * channels * height * width of them in NCHW
 * order, npixels their total count (checked), scaled as in training (pixel / 255). classes_out
 * (n) gets each image's class (the largest logit, the first on ties); probs_out (n * classes),
 * if not NULL, each image's softmax probabilities. Thread-safe (see the top of this file). */
CLMNIST_API int clmnist_predict(clmnist_model *model, const unsigned char *pixels, size_t npixels, int n,
                                int *classes_out, float *probs_out);

#define CLMNIST_INVERT_AUTO 0 /* invert dark ink on light paper (MNIST-like models only) */
#define CLMNIST_INVERT_YES 1
#define CLMNIST_INVERT_NO 2
/* Reads an image file (PNG, JPEG, binary PGM/PPM, by content) and brings it to the model's input
 * as 'clmnist predict' does, by the model's recorded preprocessing: MNIST-like models get the
 * image grayscale, white on black (inverted per `invert`), its background divided out (lighting
 * gradients, vignettes, grey paper), specks dropped, cropped to the digit, fitted into 20x20 and
 * centred in 28x28 by its centre of mass (docs/data.md, "Photos of digits"); image-folder models
 * a plain resize. pixels (channels
 * * height * width) gets the result for clmnist_predict; *inverted (may be NULL) whether it was
 * inverted. Safe on hostile files. Thread-safe. */
CLMNIST_API int clmnist_image_load(const clmnist_model *model, const char *path, int invert, unsigned char *pixels,
                                   int *inverted);
/* clmnist_image_load (invert auto) on each of n files, then clmnist_predict on those read. A
 * file that cannot be read gets class -1 (and zero probabilities); the others are still
 * classified, and the call then fails with CLMNIST_ERR_IO naming the first such file. */
CLMNIST_API int clmnist_predict_files(clmnist_model *model, const char *const *paths, int n, int *classes_out,
                                      float *probs_out);

/* ---- evaluation ------------------------------------------------------------------------------ */
typedef struct {
    int classes;
    long long count;      /* test images evaluated */
    long long correct;    /* of them classified right: the trace of the confusion matrix */
    double accuracy;      /* correct / count */
    double loss;          /* mean cross-entropy */
    long long *confusion; /* (classes * classes): confusion[true * classes + predicted] */
    int *predicted;       /* (count): each test image's predicted class */
    float *probabilities; /* (count * classes): each test image's softmax */
} clmnist_eval_result;
/* The model on the dataset's test split. The arrays of *out are allocated by the library: free
 * them with clmnist_eval_result_free (also after a failure: it zeroes *out first). Fails when the
 * images are not the model's input size or a label is not one of its classes. Thread-safe for
 * the model as clmnist_predict. */
CLMNIST_API int clmnist_evaluate(clmnist_model *model, const clmnist_dataset *ds, clmnist_eval_result *out);
CLMNIST_API void clmnist_eval_result_free(clmnist_eval_result *r);

/* ---- training --------------------------------------------------------------------------------
 * Options by name: the long flag names of 'clmnist train' without "--" and their values as text,
 * e.g. ("preset", "cnn"), ("arch", "conv32k3p1-relu-pool2-flatten-fc10"), ("epochs", "3"),
 * ("lr", "0.01"), ("optimizer", "adamw"), ("batch", "128"), ("seed", "7"), ("limit", "5000"),
 * ("val", "5000"), ("augment", "shift=2"), ... ('clmnist train --help' lists them). Each value is
 * checked as the command line checks it; "preset" first resets every option to that preset.
 * The run's own options (flags take "1" or "0"):
 *   out=FILE              save the trained model to FILE (atomically); when that fails (a full
 *                         disk), to clmnist-rescue-<pid>.safetensors in the working directory (else
 *                         $TMPDIR), and clmnist_train fails naming that file;
 *   init=FILE             start from a saved model's weights (its architecture replaces "arch");
 *                         freeze=SPEC (layers that keep their weights, e.g. "0-5"), reset-head=1;
 *   checkpoint-every=N, checkpoint=FILE (default checkpoint.safetensors): a checkpoint (model,
 *                         optimizer state, position) every N epochs and when the run is stopped;
 *   resume=FILE           continue a checkpoint: its training options replace those set here;
 *   stop-after=N          end after N epochs of this call (the schedule still spans "epochs");
 *   patience=N            early stopping on the validation split (needs "val"): keep the best epoch;
 *   report=DIR            DIR/metrics.jsonl per epoch and DIR/report.html at the end;
 *   no-hint=1             no speed probe on a CPU OpenCL device (the probe's finding is a note);
 *   serve=PORT, bind=ADDR a live dashboard on http://ADDR:PORT/ (default 127.0.0.1; port 0: any
 *                         free one) during the run, and after it the saved model's drawing page,
 *                         while the observer returns 0 to CLMNIST_EVENT_SERVING;
 *   data=PATH, image-size, preprocess, test-fraction, transpose: how the data is read, for a run
 *                         given no dataset (below).
 * The files a run writes are checked writable, and the dashboard's port bound, before any data is
 * read. Under mpirun (an MPI build), rank 0 alone writes files and serves the dashboard. */
CLMNIST_API int clmnist_train_options_new(clmnist_train_options **out);
CLMNIST_API int clmnist_train_options_set(clmnist_train_options *opts, const char *name, const char *value);
CLMNIST_API void clmnist_train_options_free(clmnist_train_options *opts);

#define CLMNIST_EVENT_STEP 0  /* during an epoch, at most ten times a second and after its last step */
#define CLMNIST_EVENT_EPOCH 1 /* an epoch is done and evaluated */
#define CLMNIST_EVENT_NOTE                                                                                             \
    2 /* a line for the user in text: the backend, the model, checkpoints, the                                         \
         summary... (what 'clmnist train' prints); the library prints nothing */
#define CLMNIST_EVENT_SERVING                                                                                          \
    3 /* "serve": after the run the dashboard serves the saved model; asked                                            \
         five times a second, nonzero stops it (no observer: no serving) */
typedef struct {
    int kind;                        /* CLMNIST_EVENT_*: ignore kinds you do not know */
    int epoch, epochs;               /* 1-based epoch of the planned epochs */
    int step, steps;                 /* steps done of the epoch's steps */
    double loss, accuracy;           /* training loss and accuracy (0..1) over the epoch so far (read
                                        about twice a second: STEP events may repeat them) */
    double images_per_second;        /* training speed over the epoch so far */
    double lr;                       /* the learning rate now */
    double eval_loss, eval_accuracy; /* EPOCH: on the test (or validation, with "val") split */
    double seconds;                  /* training time of the epoch so far (EPOCH: the evaluation excluded) */
    const char *eval_name;           /* EPOCH: the evaluated split, "test" or "val" */
    const char *text;                /* NOTE: one line, no newline */
} clmnist_train_event;
/* Called on the thread that called clmnist_train; ev is valid during the call only. Return 0 to
 * go on, nonzero to stop the run after the current step (clmnist_train then succeeds with the
 * model as it is, after a checkpoint of where it stopped with checkpoint-every). */
typedef int (*clmnist_observer)(void *user, const clmnist_train_event *ev);

/* Trains a model on ds's training split with opts (NULL: defaults), evaluating on its test split
 * after each epoch, and returns it in *out with its metadata (architecture, data, options, test
 * accuracy) for clmnist_model_save. ds NULL: the data that opts' data options name (default
 * $CLMNIST_DATA or data/mnist), read after the checks and after "resume" has set the options,
 * seeded by "seed", as 'clmnist train' reads it. observer may be NULL. The model's inference
 * contexts are ctx's. out may be NULL: no model handle (and no inference contexts) is made, for a
 * run whose "out" option saves the model. Not concurrent with other calls on the same ctx. */
CLMNIST_API int clmnist_train(clmnist_ctx *ctx, const clmnist_dataset *ds, const clmnist_train_options *opts,
                              clmnist_observer observer, void *user, clmnist_model **out);

#ifdef __cplusplus
}
#endif
#endif /* CLMNIST_H */
