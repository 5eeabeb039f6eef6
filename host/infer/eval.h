/* eval.h: classification metrics from per-example predictions: accuracy, confusion matrix,
 * per-class precision and recall, and the most confidently misclassified examples. */
#ifndef CLMNIST_EVAL_H
#define CLMNIST_EVAL_H
#include <stdint.h>
#include <stdio.h>

#include "dataset.h"
#include "status.h"

#define CM_EVAL_WORST 24

typedef struct {
    int classes;
    int64_t count;
    int64_t correct;
    double accuracy;    /* correct / count */
    double loss;        /* mean cross-entropy (set by the caller: the trainer computes it) */
    int64_t *confusion; /* (classes, classes): confusion[true * classes + predicted] */
    double *precision;  /* (classes): TP / predicted as c; NaN when nothing was predicted as c */
    double *recall;     /* (classes): TP / examples of c; NaN when c has no examples */
    int nworst;
    int32_t worst[CM_EVAL_WORST];      /* example indices, most confident mistake first */
    int32_t worst_pred[CM_EVAL_WORST]; /* what the model said */
    float worst_prob[CM_EVAL_WORST];   /* the probability it gave that class */
} cm_eval;

/* pred (count): predicted class per example; probs (count, classes): probabilities. */
cm_status eval_compute(const cm_split *split, const int32_t *pred, const float *probs, int classes, cm_eval *out);
void eval_free(cm_eval *e);
/* Accuracy, loss, the confusion matrix as an aligned table and per-class precision/recall.
 * names: class names (NULL: the class numbers). */
void eval_print(const cm_eval *e, const char *const *names, FILE *out);

#endif
