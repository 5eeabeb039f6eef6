/* batcher.c: one queue of waiting requests, guarded by a mutex; batching threads take batches off
 * its head (batcher.h). Each request lives on its caller's stack, with a condition variable of its
 * own that its batch signals when the answer is in place. */
#include "batcher.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct request {
    const uint8_t *image;
    int32_t *cls;
    float *probs;
    double arrived; /* CLOCK_MONOTONIC seconds */
    cm_status st;
    char error[512];
    int done;
    pthread_cond_t answered;
    struct request *next;
} request;

struct cm_batcher {
    cm_batcher_options o;
    int dim;
    pthread_mutex_t mu;
    pthread_cond_t queued; /* broadcast when a request joins the queue, or on closing */
    request *head, *tail;  /* the queue, oldest first */
    int nqueued;
    int inflight; /* queued or in a batch */
    int closing;
    int last_batch;      /* the size of the batch run last */
    int callers;         /* in batcher_classify */
    pthread_cond_t left; /* signalled when the last caller leaves a closing batcher */
    int64_t requests, batches;
    int nthreads; /* started */
    pthread_t *threads;
};

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static struct timespec at(double s) {
    struct timespec t = {.tv_sec = (time_t)s};
    t.tv_nsec = (long)((s - (double)t.tv_sec) * 1e9);
    if (t.tv_nsec >= 1000000000L) t.tv_sec++, t.tv_nsec -= 1000000000L;
    return t;
}

/* Whether the queue's head should go now (called with the mutex held, the queue not empty). */
static int batch_ready(const cm_batcher *b) {
    if (b->closing || b->nqueued >= b->o.max_batch) return 1;
    if (b->o.max_callers > 0 && b->inflight >= b->o.max_callers) return 1; /* nobody else can come */
    if (b->inflight == 1 && b->last_batch <= 1) return 1;                  /* a lone client: no company to wait for */
    return now_s() >= b->head->arrived + 1e-3 * b->o.wait_ms;
}

/* Takes the next batch off the queue into batch[] (called with the mutex held); returns its size,
 * 0 when the batcher is closing and the queue is empty. */
static int next_batch(cm_batcher *b, request **batch) {
    for (;;) {
        while (!b->nqueued && !b->closing)
            pthread_cond_wait(&b->queued, &b->mu);
        if (!b->nqueued) return 0;
        if (batch_ready(b)) break;
        struct timespec deadline = at(b->head->arrived + 1e-3 * b->o.wait_ms);
        pthread_cond_timedwait(&b->queued, &b->mu, &deadline); /* more came, or time is up */
    }
    int n = 0;
    while (b->head && n < b->o.max_batch) {
        batch[n++] = b->head;
        b->head = b->head->next;
    }
    if (!b->head) b->tail = NULL;
    b->nqueued -= n;
    return n;
}

typedef struct {
    uint8_t *images, *labels;
    int32_t *cls;
    float *probs;
    request **batch;
} scratch;

static cm_status run_images(cm_batcher *b, scratch *s, int n) {
    cm_split split = {.count = n,
                      .rows = b->o.rows,
                      .cols = b->o.cols,
                      .dim = b->dim,
                      .images = s->images,
                      .labels = s->labels,
                      .borrowed = 1};
    return b->o.run(b->o.run_ctx, &split, s->cls, s->probs);
}

static void keep_answer(cm_batcher *b, const scratch *s, int i, int from, cm_status st) {
    request *r = s->batch[i];
    r->st = st;
    if (st != CM_OK) {
        snprintf(r->error, sizeof r->error, "%s", cm_last_error());
        return;
    }
    *r->cls = s->cls[from];
    memcpy(r->probs, s->probs + (size_t)from * b->o.classes, sizeof(float) * (size_t)b->o.classes);
}

/* Runs a batch; when it fails, each of its images alone, so that a failure is only its own. */
static void run_batch(cm_batcher *b, scratch *s, int n) {
    for (int i = 0; i < n; i++)
        memcpy(s->images + (size_t)i * b->dim, s->batch[i]->image, (size_t)b->dim);
    cm_status st = run_images(b, s, n);
    for (int i = 0; i < n && st == CM_OK; i++)
        keep_answer(b, s, i, i, CM_OK);
    for (int i = 0; i < n && st != CM_OK && n > 1; i++) {
        memcpy(s->images, s->batch[i]->image, (size_t)b->dim);
        keep_answer(b, s, i, 0, run_images(b, s, 1));
    }
    if (st != CM_OK && n == 1) keep_answer(b, s, 0, 0, st);
    cm_clear_error();
}

static void *batch_thread(void *arg) {
    cm_batcher *b = arg;
    pthread_mutex_lock(&b->mu);
    size_t B = (size_t)b->o.max_batch;
    scratch s = {malloc(B * (size_t)b->dim), calloc(B, 1), malloc(B * sizeof(int32_t)),
                 malloc(B * (size_t)b->o.classes * sizeof(float)), malloc(B * sizeof(request *))};
    int ok = s.images && s.labels && s.cls && s.probs && s.batch;
    int n;
    while ((n = next_batch(b, s.batch)) > 0) {
        pthread_mutex_unlock(&b->mu);
        if (ok)
            run_batch(b, &s, n);
        else
            for (int i = 0; i < n; i++)
                s.batch[i]->st = CM_ERR_MEMORY, snprintf(s.batch[i]->error, 64, "out of host memory");
        pthread_mutex_lock(&b->mu);
        b->batches++;
        b->last_batch = n;
        b->requests += n;
        b->inflight -= n;
        for (int i = 0; i < n; i++) { /* the caller may return (and its request vanish) once done is set */
            s.batch[i]->done = 1;
            pthread_cond_signal(&s.batch[i]->answered);
        }
    }
    pthread_mutex_unlock(&b->mu);
    free(s.images), free(s.labels), free(s.cls), free(s.probs), free(s.batch);
    return NULL;
}

cm_status batcher_create(const cm_batcher_options *o, cm_batcher **out) {
    *out = NULL;
    if (o->max_batch < 2 || o->max_batch > 4096 || !(o->wait_ms > 0) || o->wait_ms > 1000 || o->threads < 1 ||
        o->threads > 256 || o->rows < 1 || o->cols < 1 || o->classes < 1 || !o->run)
        return cm_fail(CM_ERR_USAGE, "batcher: max batch %d (2 to 4096), wait %g ms (0 to 1000], %d threads",
                       o->max_batch, o->wait_ms, o->threads);
    cm_batcher *b = calloc(1, sizeof *b);
    if (!b) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    b->o = *o;
    b->dim = o->rows * o->cols;
    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->queued, &ca);
    pthread_cond_init(&b->left, NULL);
    pthread_condattr_destroy(&ca);
    b->threads = calloc((size_t)o->threads, sizeof *b->threads);
    for (; b->threads && b->nthreads < o->threads; b->nthreads++)
        if (pthread_create(&b->threads[b->nthreads], NULL, batch_thread, b) != 0) break;
    if (b->nthreads < o->threads) {
        int e = b->threads ? errno : ENOMEM;
        batcher_destroy(b);
        return cm_fail(CM_ERR_MEMORY, "batcher: cannot start %d threads: %s", o->threads, strerror(e));
    }
    *out = b;
    return CM_OK;
}

static cm_status predictor_batch(void *ctx, const cm_split *images, int32_t *cls, float *probs) {
    return predictor_run(ctx, images, cls, probs, NULL);
}

cm_status batcher_for_predictor(cm_predictor *p, int max_batch, double wait_ms, int max_callers, cm_batcher **out) {
    const cm_layout *L = &predictor_file(p)->model.layout;
    cm_batcher_options o = {.max_batch = max_batch,
                            .wait_ms = wait_ms,
                            .threads = predictor_contexts(p),
                            .max_callers = max_callers,
                            .rows = L->input.h,
                            .cols = L->input.w * L->input.c,
                            .classes = L->classes,
                            .run = predictor_batch,
                            .run_ctx = p};
    return batcher_create(&o, out);
}

void batcher_destroy(cm_batcher *b) {
    if (!b) return;
    pthread_mutex_lock(&b->mu);
    b->closing = 1;
    pthread_cond_broadcast(&b->queued);
    pthread_mutex_unlock(&b->mu);
    for (int i = 0; i < b->nthreads; i++)
        pthread_join(b->threads[i], NULL);
    pthread_mutex_lock(&b->mu); /* every request is answered: wait for its caller to leave */
    while (b->callers > 0)
        pthread_cond_wait(&b->left, &b->mu);
    pthread_mutex_unlock(&b->mu);
    pthread_cond_destroy(&b->left);
    pthread_cond_destroy(&b->queued);
    pthread_mutex_destroy(&b->mu);
    free(b->threads);
    free(b);
}

/* A lone request, run on its caller's thread: no hand-over to a batching thread and back (called
 * with the mutex held, which it releases). */
static cm_status run_alone(cm_batcher *b, const uint8_t *image, int32_t *cls, float *probs) {
    b->inflight++;
    b->callers++;
    pthread_mutex_unlock(&b->mu);
    uint8_t label = 0;
    cm_split one = {.count = 1,
                    .rows = b->o.rows,
                    .cols = b->o.cols,
                    .dim = b->dim,
                    .images = (uint8_t *)image,
                    .labels = &label,
                    .borrowed = 1};
    cm_status st = b->o.run(b->o.run_ctx, &one, cls, probs);
    pthread_mutex_lock(&b->mu);
    b->inflight--;
    b->requests++;
    b->batches++;
    b->last_batch = 1;
    if (b->nqueued) pthread_cond_broadcast(&b->queued); /* whoever queued behind it may be alone now */
    if (--b->callers == 0 && b->closing) pthread_cond_signal(&b->left);
    pthread_mutex_unlock(&b->mu);
    return st;
}

cm_status batcher_classify(cm_batcher *b, const uint8_t *image, int32_t *cls, float *probs) {
    pthread_mutex_lock(&b->mu);
    if (b->closing) {
        pthread_mutex_unlock(&b->mu);
        return cm_fail(CM_ERR_USAGE, "the server is stopping");
    }
    if (b->inflight == 0 && b->last_batch <= 1) return run_alone(b, image, cls, probs);
    request r = {.image = image, .cls = cls, .probs = probs, .arrived = now_s()};
    pthread_cond_init(&r.answered, NULL);
    if (b->tail)
        b->tail->next = &r;
    else
        b->head = &r;
    b->tail = &r;
    b->nqueued++;
    b->inflight++;
    b->callers++;
    pthread_cond_broadcast(&b->queued);
    while (!r.done)
        pthread_cond_wait(&r.answered, &b->mu);
    if (--b->callers == 0 && b->closing) pthread_cond_signal(&b->left);
    pthread_mutex_unlock(&b->mu);
    pthread_cond_destroy(&r.answered);
    return r.st == CM_OK ? CM_OK : cm_fail(r.st, "%s", r.error);
}

void batcher_counts(cm_batcher *b, int64_t *requests, int64_t *batches, int *waiting) {
    pthread_mutex_lock(&b->mu);
    *requests = b->requests;
    *batches = b->batches;
    *waiting = b->callers;
    pthread_mutex_unlock(&b->mu);
}
