/* train_view.c: the terminal's view of a training run (train_view.h). */
#include "train_view.h"

#include <stdio.h>

void train_view_end(cm_train_view *v) {
    if (v->bar_epoch) progress_end(&v->bar);
    v->bar_epoch = 0;
}

static void step(cm_train_view *v, const clmnist_train_event *ev) {
    if (v->bar_epoch != ev->epoch) {
        train_view_end(v);
        char label[32];
        snprintf(label, sizeof label, "epoch %d/%d", ev->epoch, ev->epochs);
        progress_begin(&v->bar, stdout, label);
        v->bar_epoch = ev->epoch;
    }
    v->extra[0] = '\0';
    if (ev->images_per_second > 0)
        snprintf(v->extra, sizeof v->extra, "loss %.4f  acc %.2f%%  %.0f img/s", ev->loss, 100.0 * ev->accuracy,
                 ev->images_per_second);
    progress_update(&v->bar, ev->step, ev->steps, v->extra);
}

void train_view_event(cm_train_view *v, const clmnist_train_event *ev) {
    switch (ev->kind) {
    case CLMNIST_EVENT_STEP: step(v, ev); return;
    case CLMNIST_EVENT_EPOCH:
        train_view_end(v);
        printf("epoch %d/%d: train loss %.4f, train acc %.2f%%, %s loss %.4f, %s acc %.2f%%, %.2f s (%.0f img/s)\n",
               ev->epoch, ev->epochs, ev->loss, 100.0 * ev->accuracy, ev->eval_name, ev->eval_loss, ev->eval_name,
               100.0 * ev->eval_accuracy, ev->seconds, ev->images_per_second);
        break;
    case CLMNIST_EVENT_NOTE:
        train_view_end(v);
        printf("%s\n", ev->text);
        break;
    default: return;
    }
    fflush(stdout);
}
