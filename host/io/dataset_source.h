/* dataset_source.h: every kind of data `--data` accepts, told apart by what the path holds:
 *   - IDX: the four MNIST file names (dataset.h), or PREFIX-train-images-idx3-ubyte[.gz] and
 *     PREFIX-test-images-idx3-ubyte[.gz] (or t10k) as EMNIST and KMNIST name them;
 *   - CSV in Kaggle's layout (label,pixel0,...,pixelN-1), a file or DIR/train.csv [+ test.csv];
 *   - CIFAR-10's binary batches: DIR/data_batch_1.bin ... [test_batch.bin, batches.meta.txt];
 *   - an image folder: one subfolder per class (its name is the class name, sorted), PNG, JPEG,
 *     PGM or PPM files inside; DIR/train/ and DIR/test/ when present.
 * Images become grayscale at one size (plain resize or the MNIST-style preprocessing of
 * image_to_mnist); data without a test split gets a seeded, stated fraction held out. */
#ifndef CLMNIST_DATASET_SOURCE_H
#define CLMNIST_DATASET_SOURCE_H
#include <stdint.h>
#include <stdio.h>

#include "dataset.h"

typedef enum { CM_PREP_RESIZE = 0, CM_PREP_MNIST } cm_preprocess;
typedef enum { CM_TRANSPOSE_AUTO = 0, CM_TRANSPOSE_YES, CM_TRANSPOSE_NO } cm_transpose;

#define CM_DEFAULT_TEST_FRACTION 0.1
#define CM_DEFAULT_IMAGE_SIZE 28 /* image folders, unless --image-size */

typedef struct {
    int image_size;           /* N: NxN images; 0: the data's own (IDX, CSV), 28 for image folders */
    cm_preprocess preprocess; /* resize (stb_image_resize) or mnist (image_to_mnist, 28x28 only) */
    double test_fraction;     /* held out, seeded, when the data has no test split */
    uint64_t seed;            /* for that hold-out */
    cm_transpose transpose;   /* AUTO: transpose EMNIST's files (emnist-*) */
    int32_t val;              /* as dataset_load_dir's val */
    int channels;             /* --channels: 0 auto (colour when the training images have it), 1 grey, 3 RGB */
    FILE *notes;              /* warnings and notes, one line each; NULL: stderr */
} cm_data_options;

/* image_size 0, resize, test fraction 0.1, seed 42, transpose auto, val 0, notes stderr. */
void dataset_default_options(cm_data_options *o);

/* Loads whatever `path` holds (see above); ds->class_names is set when the data names its
 * classes (folder names, classes.txt, EMNIST's mapping, KMNIST). Fails with one line naming
 * the path and the formats looked for when nothing matches. */
cm_status dataset_open(const char *path, const cm_data_options *o, cm_dataset *ds);

/* The images `predict --data` classifies, as they are stored: every row of a CSV file (a folder's
 * test.csv, else its train.csv), labelled or not (*labelled), or the test split of IDX data (image
 * folders are read file by file by predict itself). */
cm_status dataset_open_predict(const char *path, const cm_data_options *o, cm_split *out, int *labelled);

/* What dataset_open found at path: "idx", "csv", "cifar", "folder", or NULL for none. */
const char *dataset_kind(const char *path);

/* Per-channel mean and standard deviation of pixel / 255 over split s (for colour data; grey
 * data: mean 0, std 1, no normalisation), *channels its channels (at most 4). */
void dataset_channel_stats(const cm_split *s, int *channels, double mean[4], double std[4]);

/* Converts every split of ds to `channels` (1: RGB to grey by luma; 3: grey copied to three planes). */
cm_status dataset_set_channels(cm_dataset *ds, int channels);

/* Writes ds as IDX files in dir (created if missing): train-images-idx3-ubyte, ... with ".gz"
 * when gzip, the test split as t10k-*, plus classes.txt and classes.json when it has names. */
cm_status dataset_write_idx(const cm_dataset *ds, const char *dir, int gzip);

/* dir/source.json: where the IDX files `import` wrote came from (ds->origin: decoded from image
 * files and how, the test split held out with which fraction and seed). dataset_open reads it
 * back for IDX data into ds->origin (no file: left as is); a malformed one fails naming it. */
cm_status dataset_write_source(const char *dir, const cm_dataset *ds);
cm_status dataset_read_source(const char *dir, cm_data_origin *o);

/* Reads dir/classes.txt (one name per line, line i names class i) into *names (count *n);
 * *names NULL when there is no such file. */
cm_status dataset_read_class_names(const char *dir, char ***names, int *n);
void dataset_free_names(char **names, int n);
/* The class names of well-known 10-class datasets by the dataset's name (its directory): MNIST's
 * digits ("mnist*"), Fashion-MNIST's ("*fashion*"), KMNIST's ("*kmnist*"); NULL otherwise. */
const char *const *dataset_known_class_names(const char *name, int classes);

#endif
