/* predict_inputs.h: what `clmnist predict` classifies, in input order: image files, folders
 * (their images, recursively, in sorted order), "-" (one image on stdin) and the images of
 * --data; each brought to the model's input as its training images were made (pipeline.h). A file
 * that cannot be read keeps its place with its error. */
#ifndef CLMNIST_PREDICT_INPUTS_H
#define CLMNIST_PREDICT_INPUTS_H
#include <stddef.h>
#include <stdint.h>

#include "api_internal.h"

typedef struct {
    int n, cap, failed;
    size_t dim;      /* pixels of one input */
    char **names;    /* (n) the file, "-", or PATH#ROW for --data's images (rows from 1) */
    char **errors;   /* (n) why it could not be read, or NULL */
    char **saved;    /* (n) where --save-input wrote its input, or NULL */
    uint8_t *images; /* (n, dim) */
    int *inverted;   /* (n) 1/0: the preprocessing inverted it or not; -1: no preprocessing */
    int *unclear;    /* (n) the preprocessing found no clear digit */
    int *labels;     /* (n) its label (labelled --data), else -1 */
} cm_predict_inputs;

void predict_inputs_init(cm_predict_inputs *in);
void predict_inputs_free(cm_predict_inputs *in);
/* The n arguments (files, folders, "-"), then the images of data (NULL: none), for model m. */
cm_status predict_inputs_collect(cm_predict_inputs *in, const clmnist_model *m, const char *const *args, int n,
                                 const char *data, cm_invert invert);
const char *predict_inputs_first_error(const cm_predict_inputs *in);
/* Writes each input read to dir (created when missing) as NNNNN[-NAME].png; saved[] names them. */
cm_status predict_inputs_save(cm_predict_inputs *in, const clmnist_model *m, const char *dir);

#endif
