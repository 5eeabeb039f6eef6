/* test_dist.c: data parallelism against one process, the equivalence test (the idea of PyTorch
 * DDP's _test_DDP_niter). Run under `mpirun -np 2` (tests/CMakeLists.txt, label "mpi").
 *
 * Every rank trains a model with the global batch B split over the ranks (cfg.dist) and, beside
 * it in the same process, the same model alone with batch B: the independent reference, a
 * one-process run. After every step, on the backend named by argv[1] (host or device):
 *  - the parameters agree with the reference's within 1e-5 relative L2;
 *  - they are bit for bit the same on every rank (rank 0's, broadcast, compared);
 * after every epoch, the reduced training loss and accuracy, and the sharded evaluation, agree
 * with the reference's. Models: an MLP with dropout and a CNN without BatchNorm, with
 * augmentation, on an MNIST subset whose last batch is short and splits unevenly (41 rows), and an
 * MLP whose last batch has a single row (one rank trains none of it).
 * A failed check ends the whole job (dist_exit after dist_begin_work), with a non-zero code. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "dist.h"
#include "trainer.h"

#define PARAM_TOL 1e-5

static cm_dist *world;

static void fail(const char *fmt, const char *what, double v) {
    char msg[512];
    snprintf(msg, sizeof msg, fmt, what, v);
    exit(dist_exit(CM_ERR_NUMERIC, msg)); /* aborts the job: no rank waits */
}

static void ok_or_die(cm_status st, const char *what) {
    if (st != CM_OK) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s: %s", what, cm_last_error());
        exit(dist_exit(st, msg));
    }
}

/* MNIST's training images are there (raw or gzipped), as tests/mpi_cli.sh checks. */
static int mnist_present(void) {
    return access(CLMNIST_TEST_DATA "/train-images-idx3-ubyte", R_OK) == 0 ||
           access(CLMNIST_TEST_DATA "/train-images-idx3-ubyte.gz", R_OK) == 0;
}

/* The training set: the first n images of MNIST, the test set's first 500. */
static int load_data(cm_dataset *ds, int n) {
    if (dataset_load_dir(CLMNIST_TEST_DATA, 0, ds) != CM_OK) return -1;
    ds->train.count = n;
    ds->test.count = 500;
    return 0;
}

/* Parameters of the data-parallel trainer against the reference's and against rank 0's. */
static double compare_params(cm_trainer *dp, cm_trainer *ref, size_t n, float *a, float *b, const char *what,
                             int step) {
    ok_or_die(trainer_get_params(dp, a), "get params");
    ok_or_die(trainer_get_params(ref, b), "get params");
    double rel = rel_l2(a, b, n);
    if (!(rel <= PARAM_TOL)) {
        fprintf(stderr, "%s: step %d: relative L2 %.3g against one process (tolerance %g)\n", what, step, rel,
                PARAM_TOL);
        fail("%s: parameters differ from the one-process run: relative L2 %.3g", what, rel);
    }
    memcpy(b, a, sizeof(float) * n);
    ok_or_die(dist_broadcast(world, b, sizeof(float) * n), "broadcast");
    if (memcmp(a, b, sizeof(float) * n) != 0) fail("%s: the ranks' parameters differ (%g)", what, 0.0);
    return rel;
}

static void compare_stats(const char *what, const char *kind, const cm_stats *got, const cm_stats *ref) {
    if (got->count != ref->count) fail("%s: counts differ (%s)", what, (double)got->count);
    if (fabs(got->loss - ref->loss) > 1e-4 * fabs(ref->loss) + 1e-6)
        fail("%s: the reduced loss differs from one process's by %.3g", what, got->loss - ref->loss);
    if (fabs(got->accuracy - ref->accuracy) > 0.003)
        fail("%s: the reduced accuracy differs from one process's by %.3g", what, got->accuracy - ref->accuracy);
    if (world->rank == 0)
        printf("  %s %s: loss %.6f vs %.6f, accuracy %.4f vs %.4f (%lld examples)\n", what, kind, got->loss, ref->loss,
               got->accuracy, ref->accuracy, (long long)got->count);
}

/* Two epochs of `arch` with cfg: the data-parallel trainer against the one-process reference. */
static void equivalence(cm_backend *b, const cm_dataset *ds, const char *what, const char *arch, cm_train_config cfg) {
    cm_layer layers[CM_MAX_LAYERS];
    int nl;
    cm_layout L;
    cm_model m;
    size_t align = b->align_bytes > CM_PARAM_ALIGN_BYTES ? b->align_bytes : CM_PARAM_ALIGN_BYTES;
    ok_or_die(model_parse_arch(arch, layers, &nl), arch);
    ok_or_die(model_layout(&L, layers, nl, (cm_shape){1, 28, 28, 0}, 10, align), arch);
    ok_or_die(model_init(&m, &L, 7), "init");
    cm_trainer *dp, *ref;
    cm_train_config alone = cfg;
    alone.dist = NULL;
    cfg.dist = world;
    ok_or_die(trainer_create(b, ds, &m, &cfg, &dp), "trainer (data parallel)");
    ok_or_die(trainer_create(b, ds, &m, &alone, &ref), "trainer (alone)");
    float *a = malloc(sizeof(float) * L.total), *c = malloc(sizeof(float) * L.total);
    double worst = 0.0;
    int steps = 0;
    for (int e = 0; e < 2; e++) {
        ok_or_die(trainer_begin_epoch(dp, e), "begin epoch");
        ok_or_die(trainer_begin_epoch(ref, e), "begin epoch");
        for (int s = 0; s < trainer_steps_per_epoch(dp); s++, steps++) {
            ok_or_die(trainer_step(dp), "step (data parallel)");
            ok_or_die(trainer_step(ref), "step (alone)");
            double rel = compare_params(dp, ref, L.total, a, c, what, steps + 1);
            worst = rel > worst ? rel : worst;
        }
        cm_stats got, want;
        ok_or_die(trainer_end_epoch(dp, &got), "end epoch");
        ok_or_die(trainer_end_epoch(ref, &want), "end epoch");
        compare_stats(what, "training", &got, &want);
        ok_or_die(trainer_evaluate(dp, &ds->test, &got), "evaluate");
        ok_or_die(trainer_evaluate(ref, &ds->test, &want), "evaluate");
        compare_stats(what, "evaluation", &got, &want);
    }
    if (world->rank == 0)
        printf("%s: %d steps on %d ranks x batch %d = 1 process x batch %d: worst relative L2 %.3g (tolerance %g)\n",
               what, steps, world->size, cfg.batch / world->size, cfg.batch, worst, PARAM_TOL);
    trainer_destroy(dp);
    trainer_destroy(ref);
    model_free(&m);
    free(a), free(c);
}

int main(int argc, char **argv) {
    ok_or_die(dist_init(&argc, &argv), "MPI");
    world = dist_world();
    const char *kind = argc > 1 ? argv[1] : "host";
    if (world->size < 2) {
        printf("SKIP: run under mpirun with 2 or more ranks (%d here)\n", world->size);
        return dist_exit(CM_OK, "") ? 1 : 77;
    }
    if (!mnist_present()) { /* every rank sees the same directory: all skip */
        if (world->rank == 0) printf("SKIP: MNIST not in %s; run data/fetch mnist\n", CLMNIST_TEST_DATA);
        return dist_exit(CM_OK, "") ? 1 : 77;
    }
    cm_dataset ds = {0};
    cm_status st = load_data(&ds, 2 * 64 + 41) == 0 ? CM_OK : cm_fail(CM_ERR_IO, "MNIST: %s", cm_last_error());
    cm_backend *b = NULL;
    cm_backend_options bo = {.threads = 1, .slot = world->local_rank};
    if (st == CM_OK) st = backend_create(kind, &bo, &b);
    if (st == CM_OK) st = dist_begin_work(world);
    if (st != CM_OK) return dist_exit(st, cm_last_error());
    if (world->rank == 0) printf("backend: %s (%d ranks)\n", b->device_name, world->size);
    /* batch 64: steps of 64, 64 and a short last one of 41 rows (21 + 20 over two ranks) */
    cm_train_config mlp = {.batch = 64,
                           .lr = 0.05f,
                           .momentum = 0.9f,
                           .seed = 5,
                           .epochs = 2,
                           .schedule = CM_SCHEDULE_COSINE,
                           .augment = {2.0f, 10.0f, 0.1f, 0.0f},
                           .feed = CM_FEED_RESIDENT};
    equivalence(b, &ds, "MLP (dropout, augmentation, momentum, resident)", "flatten-fc64-relu-drop0.3-fc32-relu-fc10",
                mlp);
    cm_train_config cnn = {.batch = 64,
                           .optimizer = CM_OPT_ADAMW,
                           .lr = 2e-3f,
                           .beta1 = 0.9f,
                           .beta2 = 0.999f,
                           .eps = 1e-8f,
                           .weight_decay = 0.01f,
                           .seed = 9,
                           .epochs = 2,
                           .max_norm = 2.0f,
                           .augment = {2.0f, 10.0f, 0.1f, 0.0f},
                           .feed = CM_FEED_STREAMED};
    equivalence(b, &ds, "CNN (no BatchNorm; AdamW, max-norm, dropout, augmentation, streamed)",
                "conv6k5-relu-pool2-conv8k3-relu-pool2-flatten-fc32-relu-drop0.25-fc10", cnn);
    /* a last batch of one row: rank 1 has none of it and adds a zero gradient */
    ds.train.count = 2 * 64 + 1;
    equivalence(b, &ds, "MLP, a last batch of 1 row (rank 1 trains none of it)", "flatten-fc16-relu-drop0.3-fc10", mlp);
    backend_destroy(b);
    dataset_free(&ds);
    return dist_exit(CM_OK, "");
}
