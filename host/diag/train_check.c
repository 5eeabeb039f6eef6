/* train_check.c: two backends training the same network: agreement and relative speed
 * (train_check.h). */
#include "train_check.h"

#include <math.h>
#include <stdlib.h>

#include "timer.h"

/* `steps` steps from the start of epoch 0 (later epochs begin as needed), waiting for the
 * backend at the end; *seconds gets the time. */
static cm_status run_steps(cm_trainer *t, cm_backend *b, int steps, double *seconds) {
    int per_epoch = trainer_steps_per_epoch(t);
    double t0 = timer_now();
    for (int s = 0; s < steps; s++) {
        if (s % per_epoch == 0) CM_TRY(trainer_begin_epoch(t, s / per_epoch));
        CM_TRY(trainer_step(t));
    }
    CM_TRY(backend_finish(b));
    *seconds = timer_now() - t0;
    return CM_OK;
}

static double rel_l2(const float *ref, const float *x, size_t n) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)x[i] - (double)ref[i];
        num += d * d;
        den += (double)ref[i] * (double)ref[i];
    }
    return den > 0.0 ? sqrt(num / den) : sqrt(num);
}

cm_status diag_train_agreement(cm_backend *b[2], const cm_dataset *ds, const cm_model *model,
                               const cm_train_config *cfg, int steps, cm_agreement *out) {
    *out = (cm_agreement){.steps = steps};
    size_t n = model->layout.total;
    cm_trainer *t[2] = {NULL, NULL};
    float *p[2] = {malloc(sizeof(float) * n), malloc(sizeof(float) * n)};
    cm_status st = p[0] && p[1] ? CM_OK : cm_fail(CM_ERR_MEMORY, "out of host memory");
    for (int i = 0; i < 2 && st == CM_OK; i++) {
        cm_stats ev = {0};
        st = trainer_create(b[i], ds, model, cfg, &t[i]);
        if (st == CM_OK) st = run_steps(t[i], b[i], steps, &out->seconds[i]);
        if (st == CM_OK) st = trainer_evaluate(t[i], &ds->test, &ev);
        if (st == CM_OK) st = trainer_get_params(t[i], p[i]);
        out->loss[i] = ev.loss;
        trainer_destroy(t[i]);
    }
    if (st == CM_OK) out->param_rel_l2 = rel_l2(p[0], p[1], n);
    free(p[0]);
    free(p[1]);
    return st;
}

int diag_agreement_within(const cm_agreement *a, double loss_tol, double param_tol) {
    double scale = fabs(a->loss[0]) > 1.0 ? fabs(a->loss[0]) : 1.0;
    return fabs(a->loss[1] - a->loss[0]) <= loss_tol * scale && a->param_rel_l2 <= param_tol;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* One step of trainer t (beginning its next epoch when one starts), waited for; *seconds its time. */
static cm_status timed_step(cm_trainer *t, cm_backend *b, int s, double *seconds) {
    int per_epoch = trainer_steps_per_epoch(t);
    double t0 = timer_now();
    if (s % per_epoch == 0) CM_TRY(trainer_begin_epoch(t, s / per_epoch));
    CM_TRY(trainer_step(t));
    CM_TRY(backend_finish(b));
    *seconds = timer_now() - t0;
    return CM_OK;
}

cm_status diag_speed_probe(cm_backend *b[2], const cm_dataset *ds, const cm_model *model, const cm_train_config *cfg,
                           int warmup, int steps, double budget_s, double step_s[2], int *timed) {
    double times[2][CM_PROBE_MAX_STEPS];
    step_s[0] = step_s[1] = 0.0;
    *timed = 0;
    steps = steps < 1 ? 1 : steps > CM_PROBE_MAX_STEPS ? CM_PROBE_MAX_STEPS : steps;
    cm_dataset sub = *ds; /* the first batches only: a small upload, whatever the feed */
    int64_t rows = (int64_t)cfg->batch * (warmup + steps);
    if (rows < sub.train.count) sub.train.count = (int32_t)rows;
    cm_trainer *t[2] = {NULL, NULL};
    cm_status st = trainer_create(b[0], &sub, model, cfg, &t[0]);
    if (st == CM_OK) st = trainer_create(b[1], &sub, model, cfg, &t[1]);
    double t0 = timer_now();
    for (int s = 0; s < warmup + steps && st == CM_OK && (*timed == 0 || timer_now() - t0 < budget_s); s++) {
        double sec[2];
        for (int i = 0; i < 2 && st == CM_OK; i++)
            st = timed_step(t[i], b[i], s, &sec[i]);
        if (st == CM_OK && s >= warmup) {
            times[0][*timed] = sec[0];
            times[1][(*timed)++] = sec[1];
        }
        if (s + 1 == warmup) t0 = timer_now();
    }
    trainer_destroy(t[0]);
    trainer_destroy(t[1]);
    CM_TRY(st);
    for (int i = 0; i < 2; i++)
        step_s[i] = median(times[i], *timed);
    return CM_OK;
}

int diag_hint_host_faster(double host_step_s, double device_step_s, double threshold, double *ratio) {
    int valid = host_step_s > 0.0 && device_step_s > 0.0 && isfinite(host_step_s) && isfinite(device_step_s);
    *ratio = valid ? device_step_s / host_step_s : 0.0;
    return valid && *ratio >= threshold;
}
