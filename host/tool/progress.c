/* progress.c: terminal progress bar with rate and ETA. */
#include "progress.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "timer.h"

void progress_begin(cm_progress *p, FILE *out, const char *label) {
    memset(p, 0, sizeof *p);
    p->out = out;
    const char *off = getenv("CLMNIST_NO_PROGRESS");
    p->enabled = isatty(fileno(out)) && !(off && *off && strcmp(off, "0") != 0);
    p->start = p->last = timer_now();
    snprintf(p->label, sizeof p->label, "%s", label);
}

void progress_update(cm_progress *p, long done, long total, const char *extra) {
    if (!p->enabled) return;
    double now = timer_now();
    if (done < total && now - p->last < 0.1) return;
    p->last = now;
    enum { WIDTH = 28 };
    int fill = total > 0 ? (int)((double)WIDTH * (double)done / (double)total) : 0;
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = '\0';
    double el = now - p->start, eta = done > 0 ? el * (double)(total - done) / (double)done : 0.0;
    fprintf(p->out, "\r\033[K%s [%s] %3d%% %ld/%ld  %s  ETA %.0fs", p->label, bar,
            total > 0 ? (int)(100 * done / total) : 0, done, total, extra ? extra : "", eta);
    fflush(p->out);
}

void progress_end(cm_progress *p) {
    if (!p->enabled) return;
    fprintf(p->out, "\r\033[K");
    fflush(p->out);
}
