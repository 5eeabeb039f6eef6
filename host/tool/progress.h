/* progress.h: a one-line progress bar for long work, drawn only when stdout is a terminal. */
#ifndef CLMNIST_PROGRESS_H
#define CLMNIST_PROGRESS_H
#include <stdio.h>

typedef struct {
    FILE *out;
    int enabled;  /* stdout is a TTY (and CLMNIST_NO_PROGRESS unset) */
    double start; /* timer_now() at begin */
    double last;  /* last redraw */
    char label[64];
} cm_progress;

void progress_begin(cm_progress *p, FILE *out, const char *label);
/* Redraws at most ~10 times a second; `extra` is appended (e.g. "loss 0.23 acc 93.1%"). */
void progress_update(cm_progress *p, long done, long total, const char *extra);
/* Clears the bar so the caller's next line starts clean. */
void progress_end(cm_progress *p);

#endif
