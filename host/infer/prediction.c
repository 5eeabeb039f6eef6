/* prediction.c: one classification's JSON fields (prediction.h). */
#include "prediction.h"

#include <stdio.h>
#include <stdlib.h>

int prediction_uncertain(float p, int unclear) {
    return unclear || !(p >= CM_UNCERTAIN_BELOW);
}

void prediction_top(const float *p, int classes, int k, int *order) {
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
}

/* A probability with 6 significant digits: short JSON. */
static cJSON *number(double v) {
    char text[32];
    snprintf(text, sizeof text, "%.6g", v);
    return cJSON_CreateRaw(text);
}

static void add_class(cJSON *o, int c, const char *const *names, double p) {
    char num[16];
    snprintf(num, sizeof num, "%d", c);
    cJSON_AddNumberToObject(o, "class", c);
    cJSON_AddStringToObject(o, "name", names ? names[c] : num);
    cJSON_AddItemToObject(o, "probability", number(p));
}

int prediction_to_json(cJSON *o, const float *probs, int classes, const char *const *names, int top, int unclear) {
    top = top < 1 ? 1 : top > classes ? classes : top;
    int *order = malloc(sizeof(int) * (size_t)top);
    if (!order) return -1;
    prediction_top(probs, classes, top, order);
    add_class(o, order[0], names, probs[order[0]]);
    cJSON *all = cJSON_AddArrayToObject(o, "probabilities");
    for (int c = 0; all && c < classes; c++)
        cJSON_AddItemToArray(all, number(probs[c]));
    cJSON *t = cJSON_AddArrayToObject(o, "top");
    for (int k = 0; t && k < top; k++) {
        cJSON *e = cJSON_CreateObject();
        if (e) add_class(e, order[k], names, probs[order[k]]);
        cJSON_AddItemToArray(t, e);
    }
    cJSON_AddBoolToObject(o, "uncertain", prediction_uncertain(probs[order[0]], unclear));
    free(order);
    return all && t ? 0 : -1;
}
