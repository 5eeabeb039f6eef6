/* schedule.h: the learning rate at every step of a run, as a pure function of the step, so the
 * trainer, the tests and the metrics agree on it. Steps count from 0. */
#ifndef CLMNIST_SCHEDULE_H
#define CLMNIST_SCHEDULE_H
#include <stdint.h>

typedef enum {
    CM_SCHEDULE_CONSTANT = 0, /* lr */
    CM_SCHEDULE_COSINE = 1,   /* lr * (1 + cos(pi * step / total)) / 2, down to 0 at the end */
    CM_SCHEDULE_STEP = 2,     /* lr * gamma ^ floor(step / step_steps) (PyTorch StepLR) */
    CM_SCHEDULE_ONECYCLE = 3, /* PyTorch OneCycleLR defaults: cosine up from lr/25 to lr over the
                                 first 30% of steps, then cosine down to lr/25/1e4 */
} cm_schedule;

typedef struct {
    cm_schedule kind;
    float lr;           /* base (cosine, step, constant) or peak (one-cycle) rate */
    int64_t total;      /* steps in the whole run */
    int64_t step_steps; /* step: steps between decays (> 0) */
    float gamma;        /* step: factor per decay */
    int64_t warmup;     /* linear warm-up: the rate is scaled by min(1, (step + 1) / warmup) */
} cm_schedule_config;

/* The learning rate of step `step` (0-based); steps past `total` keep the last rate. */
float schedule_lr(const cm_schedule_config *s, int64_t step);
/* "cosine", "step", ... and back; returns -1 for an unknown name. */
const char *schedule_name(cm_schedule kind);
int schedule_parse(const char *name);

#endif
