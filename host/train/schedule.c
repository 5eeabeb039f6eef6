/* schedule.c: learning-rate schedules (constant, cosine, step, one-cycle) with linear warm-up. */
#include "schedule.h"

#include <math.h>
#include <string.h>
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* Cosine interpolation from `from` (pct 0) to `to` (pct 1), as PyTorch's _annealing_cos. */
static double anneal_cos(double from, double to, double pct) {
    return to + (from - to) / 2.0 * (1.0 + cos(M_PI * pct));
}

static double base_lr(const cm_schedule_config *s, int64_t step) {
    double lr = s->lr, total = (double)(s->total > 0 ? s->total : 1);
    if (step >= s->total && s->total > 0) step = s->total - 1;
    switch (s->kind) {
    case CM_SCHEDULE_COSINE: return anneal_cos(lr, 0.0, (double)step / total);
    case CM_SCHEDULE_STEP: return lr * pow(s->gamma, (double)(step / (s->step_steps > 0 ? s->step_steps : 1)));
    case CM_SCHEDULE_ONECYCLE: {
        /* PyTorch OneCycleLR(max_lr=lr, total_steps, pct_start=0.3, div_factor=25,
         * final_div_factor=1e4, anneal_strategy='cos', three_phase=False). */
        double initial = lr / 25.0, final_lr = initial / 1e4;
        double up_end = 0.3 * total - 1.0, down_end = total - 1.0;
        if ((double)step <= up_end) return anneal_cos(initial, lr, up_end > 0 ? (double)step / up_end : 1.0);
        return anneal_cos(lr, final_lr, ((double)step - up_end) / (down_end - up_end));
    }
    case CM_SCHEDULE_CONSTANT:
    default: return lr;
    }
}

float schedule_lr(const cm_schedule_config *s, int64_t step) {
    double lr = base_lr(s, step);
    if (s->warmup > 0 && step < s->warmup) lr *= (double)(step + 1) / (double)s->warmup;
    return (float)lr;
}

static const char *const names[] = {"constant", "cosine", "step", "onecycle"};

const char *schedule_name(cm_schedule kind) {
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}

int schedule_parse(const char *name) {
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (!strcmp(name, names[i])) return i;
    return -1;
}
