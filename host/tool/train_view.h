/* train_view.h: what the terminal shows of a training run (train_loop.h's observer): a progress
 * bar per epoch, a line per epoch, the checkpoints and early stopping's decisions; and, with
 * --report DIR, what it records: a row of DIR/metrics.jsonl per epoch and DIR/report.html. */
#ifndef CLMNIST_TRAIN_VIEW_H
#define CLMNIST_TRAIN_VIEW_H
#include "train_loop.h"
#include "progress.h"

typedef struct {
    const char *eval_name; /* the evaluated split in the epoch line: "val" or "test" */
    const char *report;    /* --report DIR, or NULL */
    cm_progress bar;
    double t0, last_stats; /* the epoch's start; the last read of its statistics */
    char extra[96];        /* the statistics on the bar */
} cm_train_view;

/* An observer that draws on stdout through *v (which must outlive the run). */
cm_train_observer train_view_observer(cm_train_view *v, const char *eval_name, const char *report);

/* Writes dir/report.html for the trained model t: the evaluation of `split` (its loss from
 * ev_stats), the curves of dir/metrics.jsonl and the run's metadata. */
cm_status train_view_write_report(cm_trainer *t, const char *dir, const cm_dataset *ds, const cm_meta *meta,
                                  const cm_stats *ev_stats, const cm_split *split);

#endif
