/* batcher.h: dynamic batching of single classifications (clmnist serve's /api/predict under load).
 *
 * Callers on many threads each hand one image to batcher_classify, which blocks until that image's
 * answer is back. The images wait in one queue; each batching thread (one per inference context)
 * takes the queue's oldest requests as one batch, once max_batch of them are there, or the oldest
 * has waited wait_ms, or every caller that can be waiting (max_callers) is, and runs them through
 * one forward pass. Each caller gets exactly its own class and probabilities, as a forward pass of
 * its image alone gives them. A batch that fails is run again one image at a time, so that one
 * request's failure is its own and no other's. batcher_destroy answers everything still queued
 * (the queue drains) before the threads end.
 *
 * A lone request (nothing else in flight, and the last batch was a single one too) runs at once on
 * its caller's thread: a client alone pays neither a wait nor a hand-over between threads. Under
 * load a request waits up to wait_ms for company; when the contexts are all busy the queue fills
 * while they are, and the next free one takes it. */
#ifndef CLMNIST_BATCHER_H
#define CLMNIST_BATCHER_H
#include <stdint.h>

#include "dataset.h"
#include "predictor.h"
#include "status.h"

typedef struct cm_batcher cm_batcher;

/* Classifies every image of `images` (count of them, in order): cls[i] and probs[i * classes ...].
 * Called on the batching threads, one batch at a time per thread, and for a lone request on its
 * caller's thread: it must be thread-safe. */
typedef cm_status (*cm_batch_run)(void *ctx, const cm_split *images, int32_t *cls, float *probs);

typedef struct {
    int max_batch;    /* images per forward pass at most (>= 2) */
    double wait_ms;   /* how long the oldest request waits for more (> 0) */
    int threads;      /* batching threads (>= 1): one per inference context */
    int max_callers;  /* callers that can wait at once (the HTTP workers), 0: unknown */
    int rows, cols;   /* of an image */
    int classes;      /* probabilities per image */
    cm_batch_run run; /* the forward pass */
    void *run_ctx;
} cm_batcher_options;

cm_status batcher_create(const cm_batcher_options *o, cm_batcher **out);
/* A batcher over a predictor's contexts: a thread per context, each running predictor_run. The
 * contexts should be made for batches of max_batch (cm_predictor_options.batch). */
cm_status batcher_for_predictor(cm_predictor *p, int max_batch, double wait_ms, int max_callers, cm_batcher **out);
/* Answers what is queued (callers waiting in batcher_classify get their answers and leave), ends
 * the threads, frees. A call of batcher_classify that starts after it would be a use after free:
 * stop the HTTP server first. NULL: nothing. */
void batcher_destroy(cm_batcher *b);

/* One image (rows x cols uint8 pixels) through the next batch: *cls and probs (classes), or the
 * failure of its forward pass with its message (cm_last_error) on this thread. Thread-safe. */
cm_status batcher_classify(cm_batcher *b, const uint8_t *image, int32_t *cls, float *probs);

/* Counters, for tests and benchmarks: requests answered and batches run since creation, and
 * callers in batcher_classify now. */
void batcher_counts(cm_batcher *b, int64_t *requests, int64_t *batches, int *waiting);

#endif
