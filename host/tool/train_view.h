/* train_view.h: what the terminal shows of a training run, from the public API's events
 * (clmnist_train_event): the run's notes as lines, a progress bar per epoch (on a terminal), a
 * line per epoch. */
#ifndef CLMNIST_TRAIN_VIEW_H
#define CLMNIST_TRAIN_VIEW_H
#include "clmnist/clmnist.h"
#include "progress.h"

typedef struct {
    cm_progress bar;
    int bar_epoch; /* the epoch the bar shows; 0: no bar */
    char extra[96];
} cm_train_view;

/* Shows ev on stdout through *v (zeroed before the run). */
void train_view_event(cm_train_view *v, const clmnist_train_event *ev);
/* Clears a bar left on the screen (a run that failed during an epoch). */
void train_view_end(cm_train_view *v);

#endif
