/* test_batcher.c: dynamic batching (host/infer/batcher.c), the queue behind clmnist serve's
 * /api/predict under load:
 *  - a real model on the host backend: 16 threads classify 256 distinct random images through the
 *    batcher at once; each gets the class and probabilities that an unbatched predictor gives
 *    that image alone, one at a time (the reference), and batches of several images did form;
 *  - errors stay per request: a forward pass that fails on "poisoned" images fails those
 *    requests only, and every other request of the same batches gets its own answer;
 *  - shutdown drains: requests still queued (with a wait of a second) are answered by
 *    batcher_destroy, which returns after their callers have left;
 *  - options out of range are refused with a message. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <math.h>

#include <cmocka.h>

#include "batcher.h"
#include "model.h"
#include "model_io.h"
#include "predictor.h"
#include "rng.h"

#define DIM 784
#define CLASSES 10
#define THREADS 16
#define PER_THREAD 16

static char dir[64], model_path[128];

static void sleep_ms(int ms) {
    struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static int group_setup(void **state) {
    snprintf(dir, sizeof dir, "/tmp/clmnist-test-batcher-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(model_path, sizeof model_path, "%s/cnn.safetensors", dir);
    cm_layer layers[CM_MAX_LAYERS];
    int n;
    cm_layout L;
    cm_model m;
    cm_meta meta = {0};
    if (model_parse_arch("conv4k5-relu-pool2-flatten-fc32-relu-fc10", layers, &n) != CM_OK) return -1;
    if (model_layout(&L, layers, n, (cm_shape){1, 28, 28, 0}, CLASSES, CM_PARAM_ALIGN_BYTES) != CM_OK) return -1;
    if (model_init(&m, &L, 11) != CM_OK) return -1;
    cm_status st = model_file_save(model_path, &L, m.params, 0, NULL, NULL, &meta);
    model_free(&m);
    return st == CM_OK ? 0 : -1;
}

static int group_teardown(void **state) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static pthread_barrier_t start; /* the callers of a test start together */

typedef struct {
    cm_batcher *b;
    const uint8_t *images; /* PER_THREAD of this thread's */
    int32_t cls[PER_THREAD];
    float probs[PER_THREAD * CLASSES];
    cm_status st[PER_THREAD];
    char error[PER_THREAD][64];
} caller;

static void *call(void *arg) {
    caller *c = arg;
    pthread_barrier_wait(&start);
    for (int i = 0; i < PER_THREAD; i++) {
        c->st[i] = batcher_classify(c->b, c->images + (size_t)i * DIM, &c->cls[i], c->probs + i * CLASSES);
        snprintf(c->error[i], sizeof c->error[i], "%s", c->st[i] ? cm_last_error() : "");
    }
    return NULL;
}

static void run_callers(cm_batcher *b, const uint8_t *images, caller *c) {
    pthread_t t[THREADS];
    pthread_barrier_init(&start, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) {
        c[i] = (caller){.b = b, .images = images + (size_t)i * PER_THREAD * DIM};
        assert_int_equal(pthread_create(&t[i], NULL, call, &c[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
}

/* The forward passes of a test wait until every caller is in the batcher: the others then
 * queue up behind the first, so that batches of several form however the threads are scheduled (a
 * lone request runs at once, and on a busy machine the callers might never overlap). */
static void hold_first(cm_batcher *b, int *open) {
    int64_t requests, batches;
    int waiting = 0;
    /* every pass waits until the gate opens: none ends before, so no caller leaves before all came */
    for (int i = 0; i < 60000 && !__atomic_load_n(open, __ATOMIC_ACQUIRE) && waiting < THREADS; i++, sleep_ms(1))
        batcher_counts(b, &requests, &batches, &waiting);
    __atomic_store_n(open, 1, __ATOMIC_RELEASE);
}

typedef struct {
    cm_predictor *p;
    cm_batcher *b;
    int first;
} gated;

static cm_status gated_run(void *ctx, const cm_split *s, int32_t *cls, float *probs) {
    gated *g = ctx;
    hold_first(g->b, &g->first);
    return predictor_run(g->p, s, cls, probs, NULL);
}

static uint8_t *random_images(int count, uint64_t seed) {
    uint8_t *im = malloc((size_t)count * DIM);
    cm_rng rng;
    rng_seed(&rng, seed, 1);
    for (size_t i = 0; im && i < (size_t)count * DIM; i++)
        im[i] = (uint8_t)(rng_uniform(&rng) * 256.0f);
    return im;
}

static void test_real_model_matches_unbatched(void **state) {
    const int total = THREADS * PER_THREAD;
    uint8_t *images = random_images(total, 3);
    caller *c = calloc(THREADS, sizeof *c);
    int32_t *ref_cls = malloc(sizeof(int32_t) * total);
    float *ref_probs = malloc(sizeof(float) * total * CLASSES);
    assert_non_null(images && c && ref_cls && ref_probs ? images : NULL);
    cm_predictor *ref, *p;
    cm_predictor_options one = {.backend = "host", .contexts = 1, .threads = 1, .batch = 1};
    assert_int_equal(predictor_open(model_path, &one, &ref), CM_OK);
    for (int i = 0; i < total; i++) /* the reference: each image alone */
        assert_int_equal(predictor_classify(ref, images + (size_t)i * DIM, &ref_cls[i], ref_probs + i * CLASSES),
                         CM_OK);
    predictor_close(ref);
    cm_predictor_options batched = {.backend = "host", .contexts = 2, .threads = 1, .batch = 16};
    assert_int_equal(predictor_open(model_path, &batched, &p), CM_OK);
    gated g = {.p = p};
    cm_batcher_options o = {.max_batch = 16,
                            .wait_ms = 50.0,
                            .threads = 2,
                            .max_callers = THREADS,
                            .rows = 28,
                            .cols = 28,
                            .classes = CLASSES,
                            .run = gated_run,
                            .run_ctx = &g};
    cm_batcher *b;
    assert_int_equal(batcher_create(&o, &b), CM_OK);
    g.b = b;
    run_callers(b, images, c);
    int64_t requests, batches;
    int waiting;
    batcher_counts(b, &requests, &batches, &waiting);
    batcher_destroy(b);
    predictor_close(p);
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < PER_THREAD; i++) {
            int k = t * PER_THREAD + i;
            assert_int_equal(c[t].st[i], CM_OK);
            assert_int_equal(c[t].cls[i], ref_cls[k]);
            for (int j = 0; j < CLASSES; j++) /* a batched GEMM may sum in another order */
                if (fabsf(c[t].probs[i * CLASSES + j] - ref_probs[k * CLASSES + j]) > 1e-5f)
                    fail_msg("image %d class %d: %g batched, %g alone", k, j, c[t].probs[i * CLASSES + j],
                             ref_probs[k * CLASSES + j]);
        }
    assert_int_equal(requests, total);
    printf("  %lld requests in %lld forward passes\n", (long long)requests, (long long)batches);
    assert_true(batches < requests); /* batches of several images formed */
    free(images), free(c), free(ref_cls), free(ref_probs);
}

/* A stand-in forward pass: image[0] is the class, image[1] scales the probabilities; a batch with
 * an image whose image[2] is 255 fails. Counts its batches and their images. */
typedef struct {
    int batches, images, largest;
    int held;        /* while set, a batch waits (atomic) */
    cm_batcher *b;   /* with hold: the passes wait until every caller is in (hold_first) */
    int hold, first; /* first: the gate is open */
} fake;

static cm_status fake_run(void *ctx, const cm_split *s, int32_t *cls, float *probs) {
    fake *f = ctx;
    while (__atomic_load_n(&f->held, __ATOMIC_ACQUIRE))
        sleep_ms(1);
    if (f->hold) hold_first(f->b, &f->first);
    __atomic_fetch_add(&f->batches, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&f->images, s->count, __ATOMIC_RELAXED);
    for (int old = f->largest; s->count > old;)
        if (__atomic_compare_exchange_n(&f->largest, &old, s->count, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) break;
    for (int i = 0; i < s->count; i++)
        if (s->images[(size_t)i * s->dim + 2] == 255) return cm_fail(CM_ERR_NUMERIC, "poisoned image in the batch");
    for (int i = 0; i < s->count; i++) {
        const uint8_t *im = s->images + (size_t)i * s->dim;
        cls[i] = im[0] % CLASSES;
        for (int k = 0; k < CLASSES; k++)
            probs[i * CLASSES + k] = (float)im[1] * (float)(k + 1);
    }
    return CM_OK;
}

static cm_batcher_options fake_options(fake *f, double wait_ms, int max_batch) {
    return (cm_batcher_options){.max_batch = max_batch,
                                .wait_ms = wait_ms,
                                .threads = 2,
                                .max_callers = THREADS,
                                .rows = 28,
                                .cols = 28,
                                .classes = CLASSES,
                                .run = fake_run,
                                .run_ctx = f};
}

/* Image k of the fake tests: class k % 10, scale k % 200, poisoned when k % 7 == 3. */
static uint8_t *fake_images(int total, int poison) {
    uint8_t *im = calloc((size_t)total, DIM);
    for (int k = 0; im && k < total; k++) {
        im[(size_t)k * DIM] = (uint8_t)(k % 250);
        im[(size_t)k * DIM + 1] = (uint8_t)(k % 200);
        im[(size_t)k * DIM + 2] = poison && k % 7 == 3 ? 255 : 0;
    }
    return im;
}

static void test_errors_stay_with_their_request(void **state) {
    const int total = THREADS * PER_THREAD;
    uint8_t *images = fake_images(total, 1);
    caller *c = calloc(THREADS, sizeof *c);
    assert_non_null(images && c ? c : NULL);
    fake f = {.hold = 1};
    cm_batcher_options o = fake_options(&f, 50.0, 8);
    cm_batcher *b;
    assert_int_equal(batcher_create(&o, &b), CM_OK);
    f.b = b;
    run_callers(b, images, c);
    batcher_destroy(b);
    int failed = 0;
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < PER_THREAD; i++) {
            int k = t * PER_THREAD + i;
            if (k % 7 == 3) {
                assert_int_equal(c[t].st[i], CM_ERR_NUMERIC);
                assert_string_equal(c[t].error[i], "poisoned image in the batch");
                failed++;
                continue;
            }
            assert_int_equal(c[t].st[i], CM_OK);
            assert_int_equal(c[t].cls[i], (k % 250) % CLASSES);
            for (int j = 0; j < CLASSES; j++)
                assert_true(c[t].probs[i * CLASSES + j] == (float)(k % 200) * (float)(j + 1));
        }
    assert_int_equal(failed, (total + 3) / 7);
    assert_true(f.largest > 1); /* the poisoned requests shared batches with good ones */
    free(images), free(c);
}

static void *call_once(void *arg) {
    caller *c = arg;
    c->st[0] = batcher_classify(c->b, c->images, &c->cls[0], c->probs);
    return NULL;
}

static void test_shutdown_drains(void **state) {
    uint8_t *images = fake_images(THREADS, 0);
    caller *c = calloc(THREADS, sizeof *c);
    pthread_t t[THREADS];
    fake f = {.held = 1};
    /* one batching thread, held in its first batch while the others queue up behind it; a
     * second's wait, room for every request in one batch, callers unknown: only the deadline or
     * closing sends the queue off */
    cm_batcher_options o = fake_options(&f, 1000.0, 4096);
    o.max_callers = 0;
    o.threads = 1;
    cm_batcher *b;
    assert_int_equal(batcher_create(&o, &b), CM_OK);
    for (int i = 0; i < THREADS; i++) {
        c[i] = (caller){.b = b, .images = images + (size_t)i * DIM};
        assert_int_equal(pthread_create(&t[i], NULL, call_once, &c[i]), 0);
    }
    int64_t requests, batches;
    int waiting = 0;
    for (int i = 0; i < 60000 && waiting < THREADS; i++, sleep_ms(1))
        batcher_counts(b, &requests, &batches, &waiting);
    assert_int_equal(waiting, THREADS);
    assert_int_equal(requests, 0);
    __atomic_store_n(&f.held, 0, __ATOMIC_RELEASE);
    batcher_destroy(b); /* answers the queued requests, and returns once their callers left */
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(c[i].st[0], CM_OK);
        assert_int_equal(c[i].cls[0], i % CLASSES);
        assert_true(c[i].probs[CLASSES - 1] == (float)i * CLASSES);
    }
    assert_int_equal(f.images, THREADS);
    free(images), free(c);
}

static void test_bad_options(void **state) {
    fake f = {0};
    cm_batcher *b = NULL;
    cm_batcher_options o = fake_options(&f, 2.0, 1);
    assert_int_equal(batcher_create(&o, &b), CM_ERR_USAGE);
    assert_non_null(strstr(cm_last_error(), "max batch 1"));
    o = fake_options(&f, 0.0, 8);
    assert_int_equal(batcher_create(&o, &b), CM_ERR_USAGE);
    o = fake_options(&f, 2.0, 8);
    o.threads = 0;
    assert_int_equal(batcher_create(&o, &b), CM_ERR_USAGE);
    assert_null(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_model_matches_unbatched),
        cmocka_unit_test(test_errors_stay_with_their_request),
        cmocka_unit_test(test_shutdown_drains),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
