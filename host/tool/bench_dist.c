/* bench_dist.c: `clmnist bench --profile` under mpirun: where a data-parallel step's time goes on
 * rank 0, with the gradient sum (download, MPI_Allreduce, upload) as its own row. */
#include <stdio.h>
#include <unistd.h>

#include "bench_dist.h"
#include "bench_tables.h"
#include "cli.h"
#include "dist.h"
#include "trainer.h"
#include "timer.h"

/* `warmup` untimed steps, then `steps` timed ones with the backend's profile reset in between;
 * *wall, *sync: the timed steps' wall time and, of it, the gradient sums'. */
static cm_status run_steps(cm_trainer *t, cm_backend *b, int warmup, int steps, double *wall, double *sync,
                           double *allreduce) {
    int per_epoch = trainer_steps_per_epoch(t), done = 0, epoch = 0;
    double step0 = 0.0, sync0 = 0.0, ar0 = 0.0, t0 = timer_now(), step1, sync1;
    CM_TRY(trainer_begin_epoch(t, epoch));
    for (int s = 0; s < warmup + steps; s++) {
        if (s == warmup) {
            CM_TRY(backend_profile_reset(b));
            trainer_sync_times(t, &step0, &sync0);
            ar0 = dist_world()->comm_seconds;
            t0 = timer_now();
        }
        if (done == per_epoch) {
            CM_TRY(trainer_begin_epoch(t, ++epoch));
            done = 0;
        }
        CM_TRY(trainer_step(t));
        done++;
    }
    CM_TRY(backend_finish(b));
    *wall = timer_now() - t0;
    trainer_sync_times(t, &step1, &sync1);
    *sync = sync1 - sync0;
    *allreduce = dist_world()->comm_seconds - ar0;
    return CM_OK;
}

cm_status bench_dist_profile(const cm_train_args *a, const char *kind, int batch, int warmup, int steps, int profile) {
    cm_dist *d = dist_world();
    if (!profile)
        return cm_fail(CM_ERR_USAGE, "under mpirun, bench measures the data-parallel step alone: add --profile "
                                     "(and one --backends, one --batch)");
    cm_dataset ds;
    CM_TRY(run_load_data(a, &ds));
    cm_backend_options bo = {.device = a->device, .threads = a->threads, .profile = true, .slot = d->local_rank};
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (d->local_size > 1 && !a->threads) bo.threads = cores / d->local_size > 1 ? (int)(cores / d->local_size) : 1;
    cm_backend *b = NULL;
    cm_model model = {0};
    cm_trainer *t = NULL;
    cm_train_config cfg = run_train_config(a);
    cfg.batch = batch;
    cfg.dist = d;
    cm_status st = backend_create(kind, &bo, &b);
    if (st == CM_OK) {
        size_t align = b->align_bytes > CM_PARAM_ALIGN_BYTES ? b->align_bytes : CM_PARAM_ALIGN_BYTES;
        st = run_init_model(a, &ds, align, b, &model);
    }
    if (st == CM_OK) st = trainer_check_batch(batch, d);
    if (st == CM_OK) st = dist_begin_work(d);
    if (st == CM_OK) st = trainer_create(b, &ds, &model, &cfg, &t);
    double wall = 0.0, sync = 0.0, allreduce = 0.0;
    if (st == CM_OK) st = run_steps(t, b, warmup, steps, &wall, &sync, &allreduce);
    cm_profile_entry e[64];
    int n = 0;
    if (st == CM_OK) st = backend_profile_read(b, e, 64, &n);
    if (st == CM_OK) {
        printf("data parallel: %d ranks x batch %d (global %d); rank 0's profile:\n", d->size, batch / d->size, batch);
        cJSON *unused = cJSON_CreateArray(); /* the table's JSON: not printed here */
        bench_print_profile(b, e, n, steps, batch / d->size, wall, stdout, unused);
        cJSON_Delete(unused);
        printf("  %-52s %9s %10.3f %6.1f%% of the wall time (MPI_Allreduce alone %.3f ms/step)\n",
               "gradient sum (download, MPI_Allreduce, upload)", "", 1e3 * sync / steps,
               wall > 0 ? 100.0 * sync / wall : 0.0, 1e3 * allreduce / steps);
    }
    trainer_destroy(t);
    model_free(&model);
    backend_destroy(b);
    dataset_free(&ds);
    return st;
}
