/* sweep_html.c: DIR/sweep.html, one self-contained page (inline SVG and a few lines of inline
 * JavaScript, no network): a parallel-coordinates plot with one line per trial through an axis per
 * searched flag and an axis per rung's validation accuracy, and the table of trials. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "sweep.h"

#define PW 1100.0 /* the plot: width, height, margins */
#define PH 440.0
#define PL 70.0
#define PR 70.0
#define PT 56.0
#define PB 40.0

static void esc(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else if (*s == '"')
            fputs("&quot;", f);
        else
            fputc(*s, f);
    }
}

/* A value's place on its axis, 0 (bottom) to 1 (top). */
static double param_pos(const sweep_param *p, const char *v) {
    if (p->kind == SWEEP_CHOICE) {
        int i = 0;
        while (i < p->nchoices && strcmp(p->choice[i], v) != 0)
            i++;
        return p->nchoices > 1 ? (double)i / (p->nchoices - 1) : 0.5;
    }
    double x = strtod(v, NULL);
    if (p->hi <= p->lo) return 0.5;
    if (p->kind == SWEEP_LOG) return (log(x) - log(p->lo)) / (log(p->hi) - log(p->lo));
    return (x - p->lo) / (p->hi - p->lo);
}

/* Rung k's accuracy range over the trials, padded. */
static void rung_range(const sweep_state *s, int k, double *lo, double *hi) {
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int t = 0; t < s->trials; t++) {
        const sweep_result *r = &s->trial[t].rung[k];
        if (r->done && isfinite(r->accuracy)) *lo = fmin(*lo, r->accuracy), *hi = fmax(*hi, r->accuracy);
    }
    if (!isfinite(*lo)) *lo = 0.0, *hi = 1.0;
    double pad = fmax((*hi - *lo) * 0.05, 0.0005);
    *lo -= pad;
    *hi += pad;
}

static double axis_x(const sweep_state *s, int i) {
    int n = s->space.n + s->nrungs;
    return PL + i * (PW - PL - PR) / (n > 1 ? n - 1 : 1);
}

static double axis_y(double pos) {
    return PH - PB - pos * (PH - PT - PB);
}

static void axis(FILE *f, double x, const char *name, const char *top, const char *bottom) {
    fprintf(f, "<line class=\"axis\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", x, x, PT, PH - PB);
    fprintf(f, "<text class=\"name\" x=\"%.1f\" y=\"%.1f\">", x, PT - 26);
    esc(f, name);
    fprintf(f, "</text><text class=\"tick\" x=\"%.1f\" y=\"%.1f\">", x, PT - 8);
    esc(f, top);
    fprintf(f, "</text><text class=\"tick\" x=\"%.1f\" y=\"%.1f\">", x, PH - PB + 18);
    esc(f, bottom);
    fputs("</text>\n", f);
}

/* Labels at a quarter, half and three quarters of an axis: a value is at `lo` + pos * (hi - lo), or
 * lo * (hi / lo)^pos on a log axis. */
static void mid_ticks(FILE *f, double x, double lo, double hi, int logscale, int percent) {
    for (int q = 1; q <= 3; q++) {
        double pos = q / 4.0, v = logscale ? lo * pow(hi / lo, pos) : lo + pos * (hi - lo);
        fprintf(f, "<line class=\"axis\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", x - 3, x + 3, axis_y(pos),
                axis_y(pos));
        if (percent)
            fprintf(f, "<text class=\"tick mid\" x=\"%.1f\" y=\"%.1f\">%.2f%%</text>", x + 5, axis_y(pos) + 4,
                    100.0 * v);
        else
            fprintf(f, "<text class=\"tick mid\" x=\"%.1f\" y=\"%.1f\">%.3g</text>", x + 5, axis_y(pos) + 4, v);
    }
    fputc('\n', f);
}

static void axes(FILE *f, const sweep_state *s) {
    for (int i = 0; i < s->space.n; i++) {
        const sweep_param *p = &s->space.p[i];
        char top[128], bottom[128];
        if (p->kind == SWEEP_CHOICE) {
            snprintf(top, sizeof top, "%s", p->choice[p->nchoices - 1]);
            snprintf(bottom, sizeof bottom, "%s", p->nchoices > 1 ? p->choice[0] : "");
        } else {
            snprintf(top, sizeof top, "%g", p->hi);
            snprintf(bottom, sizeof bottom, "%g%s", p->lo, p->kind == SWEEP_LOG ? " (log)" : "");
        }
        axis(f, axis_x(s, i), p->name, top, bottom);
        if (p->kind != SWEEP_CHOICE && p->hi > p->lo) mid_ticks(f, axis_x(s, i), p->lo, p->hi, p->kind == SWEEP_LOG, 0);
        for (int c = 1; p->kind == SWEEP_CHOICE && c + 1 < p->nchoices; c++) {
            fprintf(f, "<text class=\"tick mid\" x=\"%.1f\" y=\"%.1f\">", axis_x(s, i) + 4,
                    axis_y((double)c / (p->nchoices - 1)) + 4);
            esc(f, p->choice[c]);
            fputs("</text>", f);
        }
    }
    for (int k = 0; k < s->nrungs; k++) {
        char name[48], top[32], bottom[32];
        double lo, hi;
        rung_range(s, k, &lo, &hi);
        snprintf(name, sizeof name, "val acc @ %d ep", s->rung_epochs[k]);
        snprintf(top, sizeof top, "%.2f%%", 100.0 * hi);
        snprintf(bottom, sizeof bottom, "%.2f%%", 100.0 * lo);
        axis(f, axis_x(s, s->space.n + k), name, top, bottom);
        mid_ticks(f, axis_x(s, s->space.n + k), lo, hi, 0, 1);
    }
}

/* One trial's line: its values, then its accuracy at each rung it reached. */
static void trial_line(FILE *f, const sweep_state *s, int t, int best) {
    int last = sweep_last_rung(s, t);
    const char *status = sweep_status(s, t, best);
    const char *cls = t == best ? "best" : !strcmp(status, "diverged") ? "diverged" : "";
    fprintf(f, "<polyline id=\"line%d\" class=\"trial r%d %s\" points=\"", t + 1, last < 3 ? last : 3, cls);
    for (int i = 0; i < s->space.n; i++)
        fprintf(f, "%.1f,%.1f ", axis_x(s, i), axis_y(param_pos(&s->space.p[i], s->trial[t].settings.value[i])));
    for (int k = 0; k <= last; k++) {
        const sweep_result *r = &s->trial[t].rung[k];
        double lo, hi;
        if (!r->done || !isfinite(r->accuracy)) break;
        rung_range(s, k, &lo, &hi);
        fprintf(f, "%.1f,%.1f ", axis_x(s, s->space.n + k), axis_y((r->accuracy - lo) / (hi - lo)));
    }
    char set[1024];
    sweep_settings_format(&s->space, &s->trial[t].settings, " ", set, sizeof set);
    fprintf(f, "\"><title>trial %d: ", t + 1);
    esc(f, set);
    fprintf(f, " (%s)</title></polyline>\n", status);
}

static void plot(FILE *f, const sweep_state *s) {
    int best = sweep_best(s);
    fprintf(f,
            "<svg id=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"parallel coordinates of the trials\">\n",
            PW, PH, PW, PH);
    fputs("<g id=\"lines\">\n", f);
    for (int pass = 0; pass < 2; pass++) /* the best line on top */
        for (int t = 0; t < s->trials; t++)
            if (sweep_last_rung(s, t) >= 0 && (t == best) == pass) trial_line(f, s, t, best);
    fputs("</g>\n", f);
    axes(f, s); /* over the lines: the labels stay readable */
    fputs("</svg>\n<p class=\"legend\"><span class=\"k r0\">&#9472;&#9472;</span> stopped after the first rung "
          "<span class=\"k r1\">&#9472;&#9472;</span> second <span class=\"k r2\">&#9472;&#9472;</span> third or "
          "later <span class=\"k best\">&#9472;&#9472;</span> best <span class=\"k diverged\">&#9472; &#9472;</span> "
          "diverged. Hover a line or a row for its trial.</p>\n",
          f);
}

static void table(FILE *f, const sweep_state *s) {
    int best = sweep_best(s);
    fputs("<table>\n<tr><th>trial</th>", f);
    for (int i = 0; i < s->space.n; i++) {
        fputs("<th>", f);
        esc(f, s->space.p[i].name);
        fputs("</th>", f);
    }
    for (int k = 0; k < s->nrungs; k++)
        fprintf(f, "<th>val acc @ %d ep</th>", s->rung_epochs[k]);
    fputs("<th>time</th><th>status</th></tr>\n", f);
    for (int t = 0; t < s->trials; t++) {
        if (sweep_last_rung(s, t) < 0) continue;
        fprintf(f, "<tr data-trial=\"%d\"%s><td>%d</td>", t + 1, t == best ? " class=\"best\"" : "", t + 1);
        for (int i = 0; i < s->space.n; i++) {
            fputs("<td>", f);
            esc(f, s->trial[t].settings.value[i]);
            fputs("</td>", f);
        }
        double sec = 0.0;
        for (int k = 0; k < s->nrungs; k++) {
            const sweep_result *r = &s->trial[t].rung[k];
            sec += r->done ? r->seconds : 0.0;
            if (r->done && isfinite(r->accuracy))
                fprintf(f, "<td>%.2f%%</td>", 100.0 * r->accuracy);
            else
                fprintf(f, "<td>%s</td>", r->done ? "diverged" : "");
        }
        fprintf(f, "<td>%.1f s</td><td>%s</td></tr>\n", sec, sweep_status(s, t, best));
    }
    fputs("</table>\n", f);
}

static const char style[] =
    "<style>body{font:14px system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}"
    ".axis{stroke:#888;stroke-width:1}.name{font-weight:600;text-anchor:middle;font-size:13px}"
    ".tick,.name{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}"
    ".tick{fill:#555;font-size:11px;text-anchor:middle}.tick.mid{text-anchor:start}"
    ".trial{fill:none;stroke-width:1.5;opacity:.8}.r-1,.r0{stroke:#9ecae1}.r1{stroke:#4292c6}"
    ".r2,.r3{stroke:#08519c}.best{stroke:#d62728;stroke-width:3.5;opacity:1}.diverged{stroke:#999;"
    "stroke-dasharray:4 3}.hi{stroke:#ff7f0e!important;stroke-width:4;opacity:1}"
    "table{border-collapse:collapse;margin-top:16px}td,th{border:1px solid #ccc;padding:3px 8px;"
    "text-align:right}tr.best td{background:#fde0dd;font-weight:600}tr:hover td{background:#fff3e0}"
    ".legend .k{font-weight:700}.legend .r0{color:#9ecae1}.legend .r1{color:#4292c6}.legend .r2{color:#08519c}"
    ".legend .best{color:#d62728}.legend .diverged{color:#999}code{background:#f4f4f4;padding:1px 4px}"
    "table.kv{margin:0 0 8px}table.kv th,table.kv td{border:none;text-align:left;padding:2px 12px 2px 0;"
    "vertical-align:top}table.kv th{color:#555;font-weight:600;white-space:nowrap}</style>\n";

/* Hovering a row highlights its line, and a line its row. */
static const char script[] =
    "<script>for(const r of document.querySelectorAll('tr[data-trial]')){const l=document.getElementById("
    "'line'+r.dataset.trial);if(!l)continue;const on=()=>{l.classList.add('hi');l.parentNode.appendChild(l);"
    "r.style.outline='2px solid #ff7f0e'},off=()=>{l.classList.remove('hi');r.style.outline=''};"
    "r.addEventListener('mouseenter',on);r.addEventListener('mouseleave',off);"
    "l.addEventListener('mouseenter',on);l.addEventListener('mouseleave',off)}</script>\n";

/* The base recipe, "key=value" words, without the empty ones ("arch=" of an MLP). */
static void base_words(FILE *f, const char *base) {
    char buf[sizeof((sweep_state *)0)->base], *save = NULL;
    snprintf(buf, sizeof buf, "%s", base);
    int first = 1;
    for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        size_t n = strlen(w);
        if (n && w[n - 1] == '=') continue;
        fputs(first ? "" : " ", f);
        esc(f, w);
        first = 0;
    }
}

static void summary(FILE *f, const sweep_state *s) {
    char space[4096];
    int best = sweep_best(s), ran = 0;
    for (int t = 0; t < s->trials; t++)
        ran += sweep_last_rung(s, t) >= 0;
    sweep_space_format(&s->space, space, sizeof space);
    fprintf(f,
            "<table class=\"kv\"><tr><th>trials</th><td>%d of %d run, seed %llu, %.0f s of training and "
            "evaluation</td></tr>\n<tr><th>rungs</th><td>",
            ran, s->trials, (unsigned long long)s->seed, sweep_seconds(s));
    for (int k = 0; k < s->nrungs; k++)
        fprintf(f, "%s%d trial%s to %d epoch%s", k ? ", then " : "", s->rung_size[k], s->rung_size[k] == 1 ? "" : "s",
                s->rung_epochs[k], s->rung_epochs[k] == 1 ? "" : "s");
    fprintf(f, " (successive halving, eta %d, on the validation split)</td></tr>\n<tr><th>space</th><td><code>",
            s->eta);
    esc(f, space);
    fputs("</code></td></tr>\n<tr><th>every trial</th><td><code>", f);
    base_words(f, s->base);
    fputs("</code></td></tr>\n", f);
    if (best >= 0) {
        char set[1024];
        sweep_settings_format(&s->space, &s->trial[best].settings, " ", set, sizeof set);
        int k = sweep_last_rung(s, best);
        fprintf(f, "<tr><th>best</th><td>trial %d, <code>", best + 1);
        esc(f, set);
        fprintf(f, "</code>: validation accuracy %.2f%% after %d epochs</td></tr>\n",
                100.0 * s->trial[best].rung[k].accuracy, s->rung_epochs[k]);
    }
    fputs("</table>\n", f);
}

cm_status sweep_write_html(const sweep_state *s) {
    char path[4096];
    snprintf(path, sizeof path, "%s/sweep.html", s->dir);
    cm_atomic_file af;
    CM_TRY(atomic_file_open(path, &af));
    FILE *f = af.f;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>clmnist sweep</title>\n", f);
    fputs(style, f);
    fputs("</head><body>\n<h1>clmnist sweep: ", f);
    esc(f, s->dir);
    fputs("</h1>\n", f);
    summary(f, s);
    plot(f, s);
    table(f, s);
    fputs(script, f);
    fputs("</body></html>\n", f);
    if (ferror(f)) return atomic_file_abort(&af, errno);
    return atomic_file_commit(&af);
}
