/* train_check.h: the same network trained on two backends side by side: whether they agree
 * (`clmnist doctor`'s smoke train) and which is faster (`clmnist train`'s hint on a CPU OpenCL
 * device). Both work on throwaway trainers: the caller's model and backends are left as they were. */
#ifndef CLMNIST_TRAIN_CHECK_H
#define CLMNIST_TRAIN_CHECK_H

#include "backend.h"
#include "dataset.h"
#include "model.h"
#include "trainer.h"

/* The speed hint: shown when the host backend is at least this many times faster. */
#define CM_HINT_THRESHOLD 1.2

typedef struct {
    int steps;
    double loss[2];      /* each backend's loss on the evaluation split after the steps */
    double param_rel_l2; /* ||p1 - p0|| / ||p0|| over every parameter after the steps (double sums) */
    double seconds[2];   /* each backend's time in its steps, waiting for completion */
} cm_agreement;

/* Trains model with cfg on b[0] and b[1] (two fresh trainers, the same batches: whole epochs of
 * ds->train as needed) for `steps` steps, then compares their parameters and their loss on
 * ds->test. */
cm_status diag_train_agreement(cm_backend *b[2], const cm_dataset *ds, const cm_model *model,
                               const cm_train_config *cfg, int steps, cm_agreement *out);
/* 1 when |loss[1] - loss[0]| <= loss_tol * max(1, |loss[0]|) and param_rel_l2 <= param_tol; NaN
 * never agrees. */
int diag_agreement_within(const cm_agreement *a, double loss_tol, double param_tol);

/* Seconds per training step of model with cfg on b[0] and on b[1]: throwaway trainers on the
 * first batches of ds, `warmup` untimed steps each, then up to `steps` timed steps each (at most
 * CM_PROBE_MAX_STEPS), alternating between the two so that both see the same load on the
 * machine, until budget_s has gone by (at least one each). step_s[i] gets the median of b[i]'s
 * steps, *timed the number of steps timed on each. */
#define CM_PROBE_MAX_STEPS 64
cm_status diag_speed_probe(cm_backend *b[2], const cm_dataset *ds, const cm_model *model, const cm_train_config *cfg,
                           int warmup, int steps, double budget_s, double step_s[2], int *timed);
/* The hint's decision: *ratio = device_step_s / host_step_s (0 when either is not a positive
 * finite time); 1 when the host is at least `threshold` times faster. */
int diag_hint_host_faster(double host_step_s, double device_step_s, double threshold, double *ratio);

#endif
