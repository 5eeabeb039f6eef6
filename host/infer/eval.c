/* eval.c: confusion matrix, precision/recall and worst mistakes from per-example predictions. */
#include "eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

cm_status eval_compute(const cm_split *split, const int32_t *pred, const float *probs, int classes, cm_eval *out) {
    memset(out, 0, sizeof *out);
    out->classes = classes;
    out->confusion = calloc((size_t)classes * classes, sizeof(int64_t));
    out->precision = calloc((size_t)classes, sizeof(double));
    out->recall = calloc((size_t)classes, sizeof(double));
    if (!out->confusion || !out->precision || !out->recall) {
        eval_free(out);
        return cm_fail(CM_ERR_MEMORY, "out of host memory");
    }
    for (int32_t i = 0; i < split->count; i++) {
        int t = split->labels[i], p = pred[i];
        if (t >= classes || p < 0 || p >= classes) {
            eval_free(out);
            return cm_fail(CM_ERR_FORMAT, "example %d: label %d or prediction %d is not a class of a %d-class model", i,
                           t, p, classes);
        }
        out->confusion[(size_t)t * classes + p]++;
        if (t == p) {
            out->correct++;
            continue;
        }
        /* insert into the worst list, ordered by the wrong class's probability, descending */
        float conf = probs[(size_t)i * classes + p];
        int pos = out->nworst;
        while (pos > 0 && out->worst_prob[pos - 1] < conf)
            pos--;
        if (pos >= CM_EVAL_WORST) continue;
        int last = out->nworst < CM_EVAL_WORST ? out->nworst : CM_EVAL_WORST - 1;
        for (int k = last; k > pos; k--) {
            out->worst[k] = out->worst[k - 1];
            out->worst_pred[k] = out->worst_pred[k - 1];
            out->worst_prob[k] = out->worst_prob[k - 1];
        }
        out->worst[pos] = i;
        out->worst_pred[pos] = p;
        out->worst_prob[pos] = conf;
        if (out->nworst < CM_EVAL_WORST) out->nworst++;
    }
    out->count = split->count;
    out->accuracy = split->count ? (double)out->correct / split->count : 0.0;
    for (int c = 0; c < classes; c++) {
        int64_t tp = out->confusion[(size_t)c * classes + c], predicted = 0, actual = 0;
        for (int k = 0; k < classes; k++) {
            predicted += out->confusion[(size_t)k * classes + c];
            actual += out->confusion[(size_t)c * classes + k];
        }
        out->precision[c] = predicted ? (double)tp / predicted : NAN;
        out->recall[c] = actual ? (double)tp / actual : NAN;
    }
    return CM_OK;
}

void eval_free(cm_eval *e) {
    free(e->confusion);
    free(e->precision);
    free(e->recall);
    e->confusion = NULL;
    e->precision = e->recall = NULL;
}

static void print_pct(FILE *out, double v) {
    if (isnan(v))
        fprintf(out, " %8s", "-");
    else
        fprintf(out, " %7.2f%%", 100.0 * v);
}

void eval_print(const cm_eval *e, const char *const *names, FILE *out) {
    int C = e->classes, w = 6;
    char buf[32];
    for (int c = 0; names && c < C; c++)
        if ((int)strlen(names[c]) + 1 > w) w = (int)strlen(names[c]) + 1;
    if (w > 12) w = 12;
    fprintf(out, "accuracy: %.2f%% (%lld of %lld), loss %.4f\n\n", 100.0 * e->accuracy, (long long)e->correct,
            (long long)e->count, e->loss);
    fprintf(out, "confusion matrix (rows: true class, columns: predicted)\n%*s", w, "");
    for (int c = 0; c < C; c++) {
        if (names)
            fprintf(out, " %*.*s", w, w, names[c]);
        else
            fprintf(out, " %*d", w, c);
    }
    fprintf(out, "\n");
    for (int t = 0; t < C; t++) {
        if (names)
            snprintf(buf, sizeof buf, "%.*s", w, names[t]);
        else
            snprintf(buf, sizeof buf, "%d", t);
        fprintf(out, "%*s", w, buf);
        for (int p = 0; p < C; p++)
            fprintf(out, " %*lld", w, (long long)e->confusion[(size_t)t * C + p]);
        fprintf(out, "\n");
    }
    fprintf(out, "\n%*s %9s %9s %9s\n", w, "class", "precision", "recall", "examples");
    for (int c = 0; c < C; c++) {
        int64_t n = 0;
        for (int k = 0; k < C; k++)
            n += e->confusion[(size_t)c * C + k];
        if (names)
            snprintf(buf, sizeof buf, "%.*s", w, names[c]);
        else
            snprintf(buf, sizeof buf, "%d", c);
        fprintf(out, "%*s", w, buf);
        print_pct(out, e->precision[c]);
        fprintf(out, " ");
        print_pct(out, e->recall[c]);
        fprintf(out, " %9lld\n", (long long)n);
    }
}
