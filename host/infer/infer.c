/* infer.c: batched forward passes of a model over a split, in eval mode. */
#include "infer.h"

#include <math.h>
#include <stdlib.h>

#define PIXEL_SCALE (1.0f / 255.0f)

struct cm_infer {
    cm_backend *b;
    const cm_layout *L;
    int batch;
    cm_layout own_layout;
    cm_buf *params;                        /* owned by a standalone context, else NULL */
    cm_net *net;                           /* owned when params is */
    cm_buf *stage_u8[2], *stage_labels[2]; /* (B, dim), (B): batches uploaded as uint8 */
    cm_buf *iota;                          /* (B) int32 0..B-1 */
    cm_buf *labels;                        /* (B) int32 */
    cm_buf *loss, *correct;                /* (B) per-slot sums */
    int32_t *iota_host;                    /* (B) */
};

static size_t fbytes(size_t n) {
    return n * sizeof(float);
}

static cm_status setup(cm_infer *c) {
    cm_backend *b = c->b;
    size_t B = (size_t)c->batch, dim = shape_numel(c->L->input);
    for (int s = 0; s < 2; s++) {
        CM_TRY(backend_alloc(b, B * dim, CM_BUF_STAGING, "staged batch images", &c->stage_u8[s]));
        CM_TRY(backend_alloc(b, B, CM_BUF_STAGING, "staged batch labels", &c->stage_labels[s]));
    }
    CM_TRY(backend_alloc(b, B * sizeof(int32_t), 0, "batch index", &c->iota));
    CM_TRY(backend_alloc(b, B * sizeof(int32_t), 0, "labels", &c->labels));
    CM_TRY(backend_alloc(b, fbytes(B), 0, "eval loss sums", &c->loss));
    CM_TRY(backend_alloc(b, fbytes(B), 0, "eval correct counts", &c->correct));
    c->iota_host = malloc(sizeof(int32_t) * B);
    if (!c->iota_host) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    for (size_t i = 0; i < B; i++)
        c->iota_host[i] = (int32_t)i;
    CM_TRY(backend_upload(b, c->iota, 0, c->iota_host, B * sizeof(int32_t)));
    return backend_finish(b);
}

/* Mirrors setup(). */
size_t infer_batch_bytes(const cm_layout *L, int batch) {
    size_t B = (size_t)batch, dim = shape_numel(L->input);
    return 2 * (B * dim + B) + 2 * B * sizeof(int32_t) + 2 * fbytes(B);
}

static cm_status create(cm_backend *b, int batch, cm_infer **out) {
    *out = NULL;
    if (batch < 1 || batch > (1 << 20)) return cm_fail(CM_ERR_USAGE, "batch %d: must be 1 to %d", batch, 1 << 20);
    cm_infer *c = calloc(1, sizeof *c);
    if (!c) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    c->b = b;
    c->batch = batch;
    *out = c;
    return CM_OK;
}

cm_status infer_create(cm_backend *b, const cm_model *model, int batch, cm_infer **out) {
    cm_infer *c;
    CM_TRY(create(b, batch, &c));
    c->own_layout = model->layout;
    c->L = &c->own_layout;
    cm_status st = backend_alloc(b, fbytes(c->L->total), 0, "parameters", &c->params);
    if (st == CM_OK) st = backend_upload(b, c->params, 0, model->params, fbytes(c->L->total));
    if (st == CM_OK) st = net_create(b, c->L, c->params, NULL, batch, &c->net);
    if (st == CM_OK) st = setup(c);
    if (st != CM_OK)
        infer_destroy(c);
    else
        *out = c;
    return st;
}

cm_status infer_create_shared(cm_backend *b, cm_net *net, const cm_layout *L, int batch, cm_infer **out) {
    cm_infer *c;
    CM_TRY(create(b, batch, &c));
    c->L = L;
    c->net = net;
    cm_status st = setup(c);
    if (st != CM_OK)
        infer_destroy(c);
    else
        *out = c;
    return st;
}

void infer_destroy(cm_infer *c) {
    if (!c) return;
    backend_finish(c->b);
    if (c->params) { /* standalone: the net is ours */
        net_destroy(c->net);
        backend_release(c->b, c->params);
    }
    cm_buf *bufs[] = {c->stage_u8[0], c->stage_u8[1], c->stage_labels[0], c->stage_labels[1], c->iota,
                      c->labels,      c->loss,        c->correct};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        backend_release(c->b, bufs[i]);
    free(c->iota_host);
    free(c);
}

const cm_layout *infer_layout(const cm_infer *c) {
    return c->L;
}

cm_status stats_from_sums(cm_backend *b, cm_buf *loss, cm_buf *correct, int slots, int64_t count, cm_stats *out) {
    size_t B = (size_t)slots;
    float *h = malloc(fbytes(2 * B));
    if (!h) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    cm_status st = backend_download(b, loss, 0, h, fbytes(B));
    if (st == CM_OK) st = backend_download(b, correct, 0, h + B, fbytes(B));
    double l = 0.0, c = 0.0;
    for (size_t i = 0; i < B; i++) {
        l += h[i];
        c += h[B + i];
    }
    free(h);
    CM_TRY(st);
    out->count = count;
    out->loss = count ? l / (double)count : 0.0;
    out->accuracy = count ? c / (double)count : 0.0;
    return CM_OK;
}

/* Rows [r0, r0 + rows) of a split: uploaded, gathered into the net's input, run forward. */
static cm_status forward_rows(cm_infer *c, const cm_split *split, int32_t r0, int rows, int slot) {
    int32_t *idx = malloc(sizeof(int32_t) * (size_t)rows);
    if (!idx) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    for (int r = 0; r < rows; r++)
        idx[r] = r0 + r;
    cm_status st = backend_stage_rows(c->b, c->stage_u8[slot], c->stage_labels[slot], split->images, split->labels, idx,
                                      rows, split->dim);
    free(idx);
    CM_TRY(st);
    CM_TRY(backend_gather(c->b, c->stage_u8[slot], c->stage_labels[slot], c->iota, 0, rows, split->dim, PIXEL_SCALE,
                          net_input(c->net), c->labels));
    CM_TRY(net_normalize_input(c->net, rows));
    cm_net_mode eval = {.training = false};
    return net_forward(c->net, rows, &eval);
}

/* Softmax in double of logits p (rows, classes) in place, with each row's first argmax. */
static void softmax_rows(float *p, int rows, int classes, int32_t *pred) {
    for (int r = 0; r < rows; r++, p += classes) {
        float mx = p[0];
        int best = 0;
        for (int k = 1; k < classes; k++)
            if (p[k] > mx) {
                mx = p[k];
                best = k;
            }
        pred[r] = best;
        double sum = 0.0;
        for (int k = 0; k < classes; k++)
            sum += exp((double)p[k] - mx);
        for (int k = 0; k < classes; k++)
            p[k] = (float)(exp((double)p[k] - mx) / sum);
    }
}

cm_status infer_run(cm_infer *c, const cm_split *split, int32_t *pred, float *probs, cm_stats *stats) {
    int B = c->batch, classes = c->L->classes;
    if ((size_t)split->dim != shape_numel(c->L->input))
        return cm_fail(CM_ERR_USAGE, "the images have %d pixels; the model expects %zu", split->dim,
                       shape_numel(c->L->input));
    if (stats) {
        CM_TRY(backend_fill(c->b, c->loss, 0.0f, (size_t)B));
        CM_TRY(backend_fill(c->b, c->correct, 0.0f, (size_t)B));
    }
    for (int32_t r0 = 0, i = 0; r0 < split->count; r0 += B, i++) {
        int rows = split->count - r0 < B ? split->count - r0 : B;
        CM_TRY(forward_rows(c, split, r0, rows, i & 1));
        if (stats)
            CM_TRY(backend_softmax_xent(c->b, net_logits(c->net), c->labels, NULL, c->loss, c->correct, rows, classes));
        if (pred) {
            float *p = probs + (size_t)r0 * classes;
            CM_TRY(backend_download(c->b, net_logits(c->net), 0, p, fbytes((size_t)rows * classes)));
            softmax_rows(p, rows, classes, pred + r0);
        }
    }
    return stats ? stats_from_sums(c->b, c->loss, c->correct, B, split->count, stats) : CM_OK;
}

cm_status infer_logits(cm_infer *c, const cm_split *split, float *logits) {
    int B = c->batch, classes = c->L->classes;
    if ((size_t)split->dim != shape_numel(c->L->input))
        return cm_fail(CM_ERR_USAGE, "the images have %d pixels; the model expects %zu", split->dim,
                       shape_numel(c->L->input));
    for (int32_t r0 = 0, i = 0; r0 < split->count; r0 += B, i++) {
        int rows = split->count - r0 < B ? split->count - r0 : B;
        CM_TRY(forward_rows(c, split, r0, rows, i & 1));
        CM_TRY(backend_download(c->b, net_logits(c->net), 0, logits + (size_t)r0 * classes,
                                fbytes((size_t)rows * classes)));
    }
    return CM_OK;
}
