/* report.c: metrics.jsonl and the self-contained report.html (inline SVG plots, confusion heat
 * map, misclassified digits as embedded PNGs). */
#include "report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stb_image_write.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "digest.h"

#define MAX_EPOCHS 100000

static cm_status path_in(char *buf, size_t size, const char *dir, const char *name) {
    if ((size_t)snprintf(buf, size, "%s/%s", dir, name) >= size)
        return cm_fail(CM_ERR_USAGE, "--report '%s': path too long", dir);
    return CM_OK;
}

cm_status diag_report_begin(const char *dir, int append) {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return cm_fail(CM_ERR_IO, "--report %s: cannot create the directory: %s", dir, strerror(errno));
    char path[4096];
    CM_TRY(path_in(path, sizeof path, dir, "metrics.jsonl"));
    FILE *f = fopen(path, append ? "a" : "w");
    if (!f) return cm_fail(CM_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    fclose(f);
    return CM_OK;
}

cm_status diag_report_epoch(const char *dir, const cm_epoch_record *r) {
    char path[4096];
    CM_TRY(path_in(path, sizeof path, dir, "metrics.jsonl"));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "epoch", r->epoch);
    cJSON_AddNumberToObject(o, "train_loss", r->train_loss);
    cJSON_AddNumberToObject(o, "train_accuracy", r->train_accuracy);
    cJSON_AddNumberToObject(o, "test_loss", r->test_loss);
    cJSON_AddNumberToObject(o, "test_accuracy", r->test_accuracy);
    cJSON_AddNumberToObject(o, "lr_start", r->lr_start);
    cJSON_AddNumberToObject(o, "lr_end", r->lr_end);
    cJSON_AddNumberToObject(o, "seconds", r->seconds);
    cJSON_AddNumberToObject(o, "images_per_s", r->images_per_s);
    if (r->lr_steps) {
        cJSON *arr = cJSON_AddArrayToObject(o, "lr_per_step");
        for (int i = 0; i < r->nsteps; i++) {
            char num[32]; /* 7 significant digits keep the line short and the float exact enough */
            snprintf(num, sizeof num, "%.7g", (double)r->lr_steps[i]);
            cJSON_AddItemToArray(arr, cJSON_CreateNumber(strtod(num, NULL)));
        }
    }
    char *line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    FILE *f = fopen(path, "a");
    int ok = f && line && fprintf(f, "%s\n", line) > 0;
    if (f) ok = fclose(f) == 0 && ok;
    free(line);
    if (!ok) return cm_fail(CM_ERR_IO, "%s: cannot append: %s", path, strerror(errno));
    return CM_OK;
}

/* ---- reading metrics back ------------------------------------------------------------------ */

static cm_status read_metrics(const char *dir, cm_epoch_record **out, int *n) {
    char path[4096];
    CM_TRY(path_in(path, sizeof path, dir, "metrics.jsonl"));
    *out = NULL;
    *n = 0;
    FILE *f = fopen(path, "r");
    if (!f) return CM_OK; /* no curves */
    char *line = NULL;    /* lines carry the per-step rates: no fixed limit */
    size_t linecap = 0;
    int cap = 0, lineno = 0;
    cm_status st = CM_OK;
    while (st == CM_OK && getline(&line, &linecap, f) != -1) {
        lineno++;
        cJSON *o = cJSON_Parse(line);
        if (!cJSON_IsObject(o)) {
            cJSON_Delete(o);
            st = cm_fail(CM_ERR_FORMAT, "%s:%d: not a JSON object", path, lineno);
            break;
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            cm_epoch_record *g = cap <= MAX_EPOCHS ? realloc(*out, (size_t)cap * sizeof **out) : NULL;
            if (!g) {
                cJSON_Delete(o);
                st = cm_fail(CM_ERR_MEMORY, "%s: too many lines", path);
                break;
            }
            *out = g;
        }
        cm_epoch_record *r = &(*out)[(*n)++];
        const char *keys[] = {"epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy"};
        double v[5];
        for (int k = 0; k < 5; k++) {
            const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, keys[k]);
            v[k] = cJSON_IsNumber(x) ? x->valuedouble : NAN;
        }
        r->epoch = (int)v[0];
        r->train_loss = v[1];
        r->train_accuracy = v[2];
        r->test_loss = v[3];
        r->test_accuracy = v[4];
        cJSON_Delete(o);
    }
    free(line);
    fclose(f);
    return st;
}

/* ---- HTML pieces --------------------------------------------------------------------------- */

static void html_escape(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* A line chart of two series (train, test) against epoch. */
static void svg_curves(FILE *f, const char *id, const char *title, const cm_epoch_record *r, int n, int accuracy) {
    const double W = 460, H = 280, L = 56, R = 16, T = 28, B = 40;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        double a = accuracy ? 100.0 * r[i].train_accuracy : r[i].train_loss;
        double b = accuracy ? 100.0 * r[i].test_accuracy : r[i].test_loss;
        if (isfinite(a)) lo = fmin(lo, a), hi = fmax(hi, a);
        if (isfinite(b)) lo = fmin(lo, b), hi = fmax(hi, b);
    }
    if (!isfinite(lo)) lo = 0, hi = 1;
    double pad = (hi - lo) * 0.08 + 1e-9;
    lo -= pad;
    hi += pad;
    if (!accuracy && lo < 0) lo = 0;
    int emax = n ? r[n - 1].epoch : 1, emin = n ? r[0].epoch : 0;
    if (emax == emin) emin = emax - 1;
#define X(e) (L + ((e)-emin) * (W - L - R) / (double)(emax - emin))
#define Y(v) (T + (hi - (v)) * (H - T - B) / (hi - lo))
    fprintf(f,
            "<svg id=\"%s\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"%s\">\n",
            id, W, H, W, H, title);
    fprintf(f, "<text x=\"%.0f\" y=\"18\" class=\"title\">%s</text>\n", L, title);
    fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" class=\"frame\"/>\n", L, T, W - L - R,
            H - T - B);
    for (int k = 0; k <= 4; k++) {
        double v = lo + (hi - lo) * k / 4.0;
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>", L, W - R, Y(v), Y(v));
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%.*f</text>\n", L - 4, Y(v) + 4,
                accuracy ? 2 : 3, v);
    }
    int step = (emax - emin) > 10 ? (emax - emin + 9) / 10 : 1;
    for (int e = emin; e <= emax; e += step)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"middle\">%d</text>", X(e), H - B + 16, e);
    fprintf(f, "\n<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"middle\">epoch</text>\n", (L + W - R) / 2,
            H - 6);
    const char *names[2] = {"train", "test"}, *cls[2] = {"s-train", "s-test"};
    for (int s = 0; s < 2; s++) {
        fprintf(f, "<polyline class=\"%s\" points=\"", cls[s]);
        for (int i = 0; i < n; i++) {
            double v = s ? (accuracy ? 100.0 * r[i].test_accuracy : r[i].test_loss)
                         : (accuracy ? 100.0 * r[i].train_accuracy : r[i].train_loss);
            if (isfinite(v)) fprintf(f, "%.1f,%.1f ", X(r[i].epoch), Y(v));
        }
        fprintf(f, "\"/>\n");
        for (int i = 0; i < n; i++) {
            double v = s ? (accuracy ? 100.0 * r[i].test_accuracy : r[i].test_loss)
                         : (accuracy ? 100.0 * r[i].train_accuracy : r[i].train_loss);
            if (isfinite(v))
                fprintf(
                    f, "<circle class=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\"><title>%s epoch %d: %.4f</title></circle>",
                    cls[s], X(r[i].epoch), Y(v), names[s], r[i].epoch, v);
        }
        fprintf(f, "\n<text x=\"%.0f\" y=\"%.0f\" class=\"legend %s\">%s</text>\n", W - R - 110 + 55 * s, T + 16,
                cls[s], names[s]);
    }
    fprintf(f, "</svg>\n");
#undef X
#undef Y
}

static void svg_confusion(FILE *f, const cm_eval *ev, const char *const *names) {
    int C = ev->classes;
    double cell = C <= 10 ? 40 : C <= 30 ? 20 : 10, L = 90, T = 60;
    double W = L + cell * C + 10, H = T + cell * C + 10;
    fprintf(f,
            "<svg id=\"confusion\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"confusion matrix\">\n",
            W, H, W, H);
    fprintf(f, "<text x=\"%.0f\" y=\"14\" class=\"tick\">predicted &#8594;</text>", L);
    fprintf(f, "<text x=\"4\" y=\"%.0f\" class=\"tick\">true &#8595;</text>\n", T - 8);
    char label[32];
    for (int c = 0; c < C; c++) {
        if (names)
            snprintf(label, sizeof label, "%.10s", names[c]);
        else
            snprintf(label, sizeof label, "%d", c);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"middle\">", L + cell * (c + 0.5), T - 6);
        html_escape(f, label);
        fprintf(f, "</text><text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">", L - 6,
                T + cell * (c + 0.6));
        html_escape(f, label);
        fprintf(f, "</text>\n");
    }
    for (int t = 0; t < C; t++) {
        int64_t row = 0;
        for (int p = 0; p < C; p++)
            row += ev->confusion[(size_t)t * C + p];
        for (int p = 0; p < C; p++) {
            int64_t v = ev->confusion[(size_t)t * C + p];
            double frac = row ? (double)v / row : 0.0;
            /* off-diagonal cells on a stretched scale so a few mistakes still show */
            double shade = t == p ? frac : fmin(1.0, sqrt(frac) * 2.0);
            int red = t == p ? 255 - (int)(200 * shade) : 255, green = 255 - (int)(200 * shade),
                blue = t == p ? 255 : 255 - (int)(200 * shade);
            fprintf(f,
                    "<rect class=\"cell\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"rgb(%d,%d,%d)\">"
                    "<title>true %d, predicted %d: %lld (%.2f%% of class %d)</title></rect>",
                    L + cell * p, T + cell * t, cell, cell, red, green, blue, t, p, (long long)v, 100.0 * frac, t);
            if (cell >= 20 && v)
                fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"count\" text-anchor=\"middle\">%lld</text>",
                        L + cell * (p + 0.5), T + cell * (t + 0.62), (long long)v);
        }
        fprintf(f, "\n");
    }
    fprintf(f, "</svg>\n");
}

typedef struct {
    unsigned char *data;
    size_t n, cap;
    int failed;
} membuf;

static void mem_write(void *ctx, void *data, int size) {
    membuf *m = ctx;
    if (m->failed || size <= 0) return;
    if (m->n + (size_t)size > m->cap) {
        size_t cap = (m->n + (size_t)size) * 2;
        unsigned char *g = realloc(m->data, cap);
        if (!g) {
            m->failed = 1;
            return;
        }
        m->data = g;
        m->cap = cap;
    }
    memcpy(m->data + m->n, data, (size_t)size);
    m->n += (size_t)size;
}

static void svg_mistakes(FILE *f, const cm_eval *ev, const cm_split *split, const char *const *names) {
    int per_row = 8, cell = 84, img = 56;
    int rows = (ev->nworst + per_row - 1) / per_row;
    fprintf(f,
            "<svg id=\"mistakes\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\" "
            "aria-label=\"most confidently misclassified examples\">\n",
            per_row * cell, rows * (cell + 16) + 4);
    for (int i = 0; i < ev->nworst; i++) {
        int idx = ev->worst[i], x = (i % per_row) * cell, y = (i / per_row) * (cell + 16);
        membuf m = {0};
        stbi_write_png_to_func(mem_write, &m, split->cols, split->rows, 1, split->images + (size_t)idx * split->dim,
                               split->cols);
        char *b64 = m.failed ? NULL : digest_base64(m.data, m.n);
        free(m.data);
        char t[32], p[32];
        int tl = split->labels[idx], pl = ev->worst_pred[i];
        if (names) {
            snprintf(t, sizeof t, "%.12s", names[tl]);
            snprintf(p, sizeof p, "%.12s", names[pl]);
        } else {
            snprintf(t, sizeof t, "%d", tl);
            snprintf(p, sizeof p, "%d", pl);
        }
        fprintf(f, "<g class=\"digit\"><title>test example %d: true ", idx);
        html_escape(f, t);
        fprintf(f, ", predicted ");
        html_escape(f, p);
        fprintf(f, " with probability %.4f</title>", (double)ev->worst_prob[i]);
        if (b64)
            fprintf(f,
                    "<image x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" style=\"image-rendering:pixelated\" "
                    "href=\"data:image/png;base64,%s\"/>",
                    x + (cell - img) / 2, y + 4, img, img, b64);
        free(b64);
        fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">true ", x + cell / 2, y + img + 20);
        html_escape(f, t);
        fprintf(f, " &#8594; ");
        html_escape(f, p);
        fprintf(f, "</text><text x=\"%d\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">%.1f%%</text></g>\n",
                x + cell / 2, y + img + 34, 100.0 * ev->worst_prob[i]);
    }
    fprintf(f, "</svg>\n");
}

static const char *STYLE =
    "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}"
    "h1{font-size:20px}h2{font-size:16px;margin-top:28px}"
    "table{border-collapse:collapse}td,th{padding:2px 10px;border-bottom:1px solid #ddd;text-align:left}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".chart{margin-right:16px}.frame{fill:none;stroke:#999}.grid{stroke:#eee}"
    ".tick,.legend{font-size:11px;fill:#444}.title{font-size:13px;font-weight:600}"
    "polyline{fill:none;stroke-width:2}polyline.s-train{stroke:#1f77b4}polyline.s-test{stroke:#d62728}"
    "circle.s-train,.legend.s-train{fill:#1f77b4}circle.s-test,.legend.s-test{fill:#d62728}"
    ".cell{stroke:#fff}.count{font-size:10px;fill:#111}";

cm_status diag_report_html(const char *dir, const char *title, const cm_meta *meta, int with_curves, const cm_eval *ev,
                           const cm_split *split, const char *const *names) {
    CM_TRY(diag_report_begin(dir, 1));
    char path[4096], tmp[4200];
    CM_TRY(path_in(path, sizeof path, dir, "report.html"));
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    cm_epoch_record *rec = NULL;
    int n = 0;
    if (with_curves) CM_TRY(read_metrics(dir, &rec, &n));
    FILE *f = fopen(tmp, "w");
    if (!f) {
        free(rec);
        return cm_fail(CM_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
    }
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
    html_escape(f, title);
    fprintf(f, "</title><style>%s</style></head><body>\n<h1>", STYLE);
    html_escape(f, title);
    fprintf(f, "</h1>\n");
    if (ev)
        fprintf(f, "<p id=\"summary\">Test accuracy <b>%.2f%%</b> (%lld of %lld), loss %.4f.</p>\n",
                100.0 * ev->accuracy, (long long)ev->correct, (long long)ev->count, ev->loss);
    if (with_curves) {
        fprintf(f, "<h2>Training curves</h2>\n");
        if (n == 0)
            fprintf(f, "<p>No epochs recorded.</p>\n");
        else {
            svg_curves(f, "loss-curve", "cross-entropy loss", rec, n, 0);
            svg_curves(f, "accuracy-curve", "accuracy (%)", rec, n, 1);
        }
    }
    if (ev) {
        fprintf(f, "<h2>Confusion matrix</h2>\n");
        svg_confusion(f, ev, names);
        fprintf(f, "<h2>Precision and recall</h2>\n<table id=\"per-class\"><tr><th>class</th><th>precision</th>"
                   "<th>recall</th></tr>\n");
        for (int c = 0; c < ev->classes; c++) {
            fprintf(f, "<tr><td>");
            if (names)
                html_escape(f, names[c]);
            else
                fprintf(f, "%d", c);
            fprintf(f, "</td><td class=\"num\">%.2f%%</td><td class=\"num\">%.2f%%</td></tr>\n",
                    100.0 * ev->precision[c], 100.0 * ev->recall[c]);
        }
        fprintf(f, "</table>\n<h2>Most confidently misclassified test examples</h2>\n");
        if (ev->nworst)
            svg_mistakes(f, ev, split, names);
        else
            fprintf(f, "<p>None: every example is classified correctly.</p>\n");
    }
    fprintf(f, "<h2>Configuration</h2>\n<table id=\"config\">\n");
    for (int i = 0; meta && i < meta->count; i++) {
        fprintf(f, "<tr><th>");
        html_escape(f, meta->key[i]);
        fprintf(f, "</th><td>");
        html_escape(f, meta->value[i]);
        fprintf(f, "</td></tr>\n");
    }
    fprintf(f, "</table>\n</body></html>\n");
    free(rec);
    int ok = !ferror(f);
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return cm_fail(CM_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    }
    return CM_OK;
}
