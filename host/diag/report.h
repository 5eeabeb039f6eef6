/* report.h: training reports: metrics.jsonl (one JSON object per epoch) and report.html, a
 * single self-contained page (inline SVG, no network) with the loss and accuracy curves, the
 * confusion matrix as a heat map, the most confidently misclassified digits and the run's
 * configuration. */
#ifndef CLMNIST_REPORT_H
#define CLMNIST_REPORT_H
#include "dataset.h"
#include "eval.h"
#include "model_io.h"
#include "status.h"

typedef struct {
    int epoch; /* 1-based */
    double train_loss, train_accuracy;
    double test_loss, test_accuracy;
    double lr_start, lr_end; /* learning rate at the epoch's first and after its last step */
    double seconds, images_per_s;
    const float *lr_steps; /* the rate each step of the epoch used (nsteps), or NULL */
    int nsteps;
} cm_epoch_record;

/* Creates dir if needed; truncates metrics.jsonl unless `append` (resuming a run). */
cm_status diag_report_begin(const char *dir, int append);
/* Appends one line to dir/metrics.jsonl and flushes it. */
cm_status diag_report_epoch(const char *dir, const cm_epoch_record *r);
/* Writes dir/report.html from dir/metrics.jsonl (when with_curves), the evaluation (may be
 * NULL), the examples it refers to (split) and the configuration in meta. */
cm_status diag_report_html(const char *dir, const char *title, const cm_meta *meta, int with_curves, const cm_eval *ev,
                           const cm_split *split, const char *const *names);

#endif
