/* predictor.c: a pool of inference contexts guarded by one mutex and a condition variable. */
#include "predictor.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "backend.h"

typedef struct {
    cm_backend *b;
    cm_infer *c;
} slot;

struct cm_predictor {
    cm_model_file file;
    int loaded;
    int threads; /* host backend: OpenMP threads of the thread that classifies */
    int nslots;
    slot *slots;
    int *idle_slots; /* indices of the slots nobody holds, nidle of them */
    int nidle;
    pthread_mutex_t lock;
    pthread_cond_t freed;
};

/* The model's input as a split of `count` borrowed images. */
static cm_split input_split(const cm_layout *L, const uint8_t *images, uint8_t *labels, int32_t count) {
    return (cm_split){.count = count,
                      .rows = L->input.h,
                      .cols = L->input.w,
                      .dim = (int32_t)shape_numel(L->input),
                      .images = (uint8_t *)images,
                      .labels = labels,
                      .borrowed = 1};
}

/* One classification of a blank image on context i: whatever is compiled on first use (CLBlast
 * builds its GEMM kernels then, seconds on PoCL) is ready before the first request. */
static cm_status warm_up(cm_predictor *p, int i) {
    const cm_layout *L = &p->file.model.layout;
    uint8_t *blank = calloc(shape_numel(L->input) + 1, 1), label = 0;
    float *probs = malloc(sizeof(float) * (size_t)L->classes);
    int32_t cls;
    cm_split one = input_split(L, blank, &label, 1);
    cm_status st = blank && probs ? infer_run(p->slots[i].c, &one, &cls, probs, NULL)
                                  : cm_fail(CM_ERR_MEMORY, "out of host memory");
    free(blank);
    free(probs);
    return st;
}

/* Context i: its backend (the first also loads the file, aligned for that backend) and its net. */
static cm_status open_slot(const char *model_path, const cm_predictor_options *o, cm_predictor *p, int i) {
    cm_backend_options bo = {.device = o->device, .threads = o->threads};
    CM_TRY(backend_create(o->backend, &bo, &p->slots[i].b));
    cm_backend *b = p->slots[i].b;
    size_t align = b->align_bytes > CM_PARAM_ALIGN_BYTES ? b->align_bytes : CM_PARAM_ALIGN_BYTES;
    if (!p->loaded) {
        CM_TRY(model_file_load(model_path, align, &p->file));
        p->loaded = 1;
    }
    if (p->file.model.layout.align_bytes % b->align_bytes != 0)
        return cm_fail(CM_ERR_DEVICE, "%s: the model's tensors are aligned to %zu bytes; the device wants %zu",
                       b->device_name, p->file.model.layout.align_bytes, b->align_bytes);
    CM_TRY(infer_create(b, &p->file.model, o->batch > 0 ? o->batch : 1, &p->slots[i].c));
    p->idle_slots[p->nidle++] = i;
    return warm_up(p, i);
}

/* The pool without its contexts; file: the model already in memory, or NULL. */
static cm_status pool_new(const cm_predictor_options *o, cm_model_file *file, cm_predictor **out) {
    *out = NULL;
    if (o->contexts < 1 || o->contexts > 256)
        return cm_fail(CM_ERR_USAGE, "--contexts %d: expected 1 to 256", o->contexts);
    cm_predictor *p = calloc(1, sizeof *p);
    if (!p) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    p->slots = calloc((size_t)o->contexts, sizeof *p->slots);
    p->idle_slots = calloc((size_t)o->contexts, sizeof *p->idle_slots);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->freed, NULL);
    p->nslots = o->contexts;
    p->threads = o->threads;
    if (file) p->file = *file, p->loaded = 1;
    *out = p;
    if (p->slots && p->idle_slots) return CM_OK;
    return cm_fail(CM_ERR_MEMORY, "out of host memory");
}

static cm_status open_pool(const char *model_path, cm_model_file *file, const cm_predictor_options *o,
                           cm_predictor **out) {
    cm_predictor *p;
    cm_status st = pool_new(o, file, &p);
    for (int i = 0; st == CM_OK && i < o->contexts; i++)
        st = open_slot(model_path, o, p, i);
    if (st != CM_OK) {
        if (p && file) p->loaded = 0; /* the file stays the caller's */
        predictor_close(p);
        return st;
    }
    if (file) memset(file, 0, sizeof *file);
    *out = p;
    return CM_OK;
}

cm_status predictor_open(const char *model_path, const cm_predictor_options *o, cm_predictor **out) {
    *out = NULL;
    return open_pool(model_path, NULL, o, out);
}

cm_status predictor_open_file(cm_model_file *file, const cm_predictor_options *o, cm_predictor **out) {
    *out = NULL;
    return open_pool(NULL, file, o, out);
}

void predictor_close(cm_predictor *p) {
    if (!p) return;
    for (int i = 0; p->slots && i < p->nslots; i++) {
        infer_destroy(p->slots[i].c);
        backend_destroy(p->slots[i].b);
    }
    if (p->loaded) model_file_free(&p->file);
    pthread_cond_destroy(&p->freed);
    pthread_mutex_destroy(&p->lock);
    free(p->slots);
    free(p->idle_slots);
    free(p);
}

const cm_model_file *predictor_file(const cm_predictor *p) {
    return &p->file;
}

cm_meta *predictor_meta(cm_predictor *p) {
    return &p->file.meta;
}

const char *predictor_device_name(const cm_predictor *p) {
    return p->slots[0].b->device_name;
}

const char *predictor_backend_kind(const cm_predictor *p) {
    return p->slots[0].b->kind;
}

int predictor_contexts(const cm_predictor *p) {
    return p->nslots;
}

static int borrow(cm_predictor *p) {
    pthread_mutex_lock(&p->lock);
    while (p->nidle == 0)
        pthread_cond_wait(&p->freed, &p->lock);
    int i = p->idle_slots[--p->nidle];
    pthread_mutex_unlock(&p->lock);
    return i;
}

static void give_back(cm_predictor *p, int i) {
    pthread_mutex_lock(&p->lock);
    p->idle_slots[p->nidle++] = i;
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->lock);
}

cm_status predictor_run(cm_predictor *p, const cm_split *split, int32_t *pred, float *probs, cm_stats *stats) {
#ifdef _OPENMP
    /* a worker thread's own setting: omp_set_num_threads acts on the calling thread only */
    if (p->threads > 0 && omp_get_max_threads() != p->threads) omp_set_num_threads(p->threads);
#endif
    int i = borrow(p);
    cm_status st = infer_run(p->slots[i].c, split, pred, probs, stats);
    give_back(p, i);
    return st;
}

cm_status predictor_classify(cm_predictor *p, const uint8_t *image, int32_t *cls, float *probs) {
    uint8_t label = 0;
    cm_split one = input_split(&p->file.model.layout, image, &label, 1);
    return predictor_run(p, &one, cls, probs, NULL);
}
