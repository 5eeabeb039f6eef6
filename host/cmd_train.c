/* cmd_train.c: `clmnist train`: load data, build the model, run the trainer, report. */
#include <stdio.h>

#include "cli.h"
#include "commands.h"
#include "progress.h"
#include "timer.h"

static const cm_command_info train_info = {
    "train", "Trains an MLP (784-512-256-10 by default) with mini-batch SGD and reports test accuracy.", 1};

static cm_status run_epoch(cm_trainer *t, int epoch, int epochs, cm_stats *train_stats, double *seconds) {
    int steps = trainer_steps_per_epoch(t);
    char label[32], extra[96] = "";
    snprintf(label, sizeof label, "epoch %d/%d", epoch + 1, epochs);
    cm_progress bar;
    progress_begin(&bar, stdout, label);
    double t0 = timer_now(), last_stats = t0;
    CM_TRY(trainer_begin_epoch(t, epoch));
    for (int s = 0; s < steps; s++) {
        CM_TRY(trainer_step(t));
        double now = timer_now();
        if (bar.enabled && now - last_stats > 0.5) { /* reading stats waits for the device: rarely */
            cm_stats st;
            CM_TRY(trainer_train_stats(t, &st));
            last_stats = timer_now();
            snprintf(extra, sizeof extra, "loss %.4f  acc %.2f%%  %.0f img/s", st.loss, 100.0 * st.accuracy,
                     (double)st.count / (last_stats - t0));
        }
        progress_update(&bar, s + 1, steps, extra);
    }
    CM_TRY(trainer_train_stats(t, train_stats));
    *seconds = timer_now() - t0;
    progress_end(&bar);
    return CM_OK;
}

static cm_status train(const cm_train_args *a, cm_backend *b, const cm_dataset *ds) {
    cm_model model;
    size_t align = b->align_bytes > CM_PARAM_ALIGN_BYTES ? b->align_bytes : CM_PARAM_ALIGN_BYTES;
    CM_TRY(cli_init_model(a, ds, align, b, &model));
    char arch[128];
    model_describe(&model.layout, arch, sizeof arch);
    cm_train_config cfg = cli_train_config(a);
    cm_trainer *t;
    cm_status st = trainer_create(b, ds, &model, &cfg, &t);
    model_free(&model);
    CM_TRY(st);
    printf("model: MLP %s (%zu parameters), SGD lr %g (%s) momentum %g, batch %d, %d epochs, seed %llu, data %s\n", arch,
           trainer_layout(t)->count, (double)a->lr, a->schedule == CM_SCHEDULE_COSINE ? "cosine" : "constant", (double)a->momentum, a->batch, a->epochs, (unsigned long long)a->seed,
           trainer_is_resident(t) ? "resident" : "streamed");
    const char *eval_name = a->val ? "val" : "test";
    double total = 0.0;
    cm_stats tr, ev;
    for (int e = 0; e < a->epochs && st == CM_OK; e++) {
        double secs;
        st = run_epoch(t, e, a->epochs, &tr, &secs);
        if (st == CM_OK) st = trainer_evaluate(t, &ds->test, &ev);
        if (st == CM_OK) {
            total += secs;
            printf("epoch %d/%d: train loss %.4f, train acc %.2f%%, %s loss %.4f, %s acc %.2f%%, %.2f s (%.0f img/s)\n",
                   e + 1, a->epochs, tr.loss, 100.0 * tr.accuracy, eval_name, ev.loss, eval_name, 100.0 * ev.accuracy,
                   secs, (double)tr.count / secs);
            fflush(stdout);
        }
    }
    if (st == CM_OK && a->val) st = trainer_evaluate(t, &ds->heldout, &ev);
    if (st == CM_OK)
        printf("done: %s on %s, %d epochs in %.1f s, test accuracy: %.2f%%\n", arch, b->device_name, a->epochs, total,
               100.0 * ev.accuracy);
    trainer_destroy(t);
    return st;
}

cm_status cmd_train(int argc, char **argv) {
    cm_train_args a;
    int help;
    CM_TRY(cli_parse_train(argc, argv, &train_info, &a, &help));
    if (help) return CM_OK;
    cm_dataset ds;
    CM_TRY(cli_load_data(&a, &ds));
    cm_backend_options bo = {.device = a.device, .threads = a.threads};
    cm_backend *b;
    double t0 = timer_now();
    cm_status st = backend_create(a.backend, &bo, &b);
    if (st == CM_OK) {
        printf("backend: %s: %s (ready in %.2f s)\n", b->kind, b->device_name, timer_now() - t0);
        st = train(&a, b, &ds);
        backend_destroy(b);
    }
    dataset_free(&ds);
    return st;
}
