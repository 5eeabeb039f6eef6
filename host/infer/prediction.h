/* prediction.h: one classification as JSON, the same fields for `clmnist predict --json` (and its
 * text and --csv lines) and serve's /api/predict:
 *   class          the predicted class (an index)
 *   name           its name (the model's class name, or the number as text)
 *   probability    its softmax probability
 *   probabilities  every class's, in class order
 *   top            the k most probable classes, [{class, name, probability}], most probable first
 *   uncertain      true when the answer is doubtful: the top probability is under
 *                  CM_UNCERTAIN_BELOW, or the preprocessing found no clear digit (image.h's
 *                  cm_prep_info.unclear)
 * predict adds "file" (and "error" in place of the answer for a file it could not read); serve adds
 * "input" and "inverted". */
#ifndef CLMNIST_PREDICTION_H
#define CLMNIST_PREDICTION_H
#include <cjson/cJSON.h>

#define CM_UNCERTAIN_BELOW 0.8f

/* Whether an answer of top probability p is doubtful; unclear: the preprocessing's verdict. */
int prediction_uncertain(float p, int unclear);
/* The k most probable classes of p (classes), first index on ties: order[0..k). */
void prediction_top(const float *p, int classes, int k, int *order);
/* Adds the fields above to o. names: the class names (NULL: the numbers); top: how many to list
 * (clamped to 1..classes). Returns 0, or -1 when out of memory. */
int prediction_to_json(cJSON *o, const float *probs, int classes, const char *const *names, int top, int unclear);

#endif
