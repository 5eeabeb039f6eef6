/* predictor.c: a pool of inference contexts guarded by one mutex and a condition variable. */
#include "predictor.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "backend.h"
#include "dataset.h"
#include "infer.h"

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

/* One classification of a blank image on context i: whatever is compiled on first use (CLBlast
 * builds its GEMM kernels then, seconds on PoCL) is ready before the first request. */
static cm_status warm_up(cm_predictor *p, int i) {
    const cm_layout *L = &p->file.model.layout;
    size_t dim = shape_numel(L->input);
    uint8_t *blank = calloc(dim + 1, 1), label = 0;
    float *probs = malloc(sizeof(float) * (size_t)L->classes);
    int32_t cls;
    cm_split one = {.count = 1,
                    .rows = L->input.h,
                    .cols = L->input.w,
                    .dim = (int32_t)dim,
                    .images = blank,
                    .labels = &label,
                    .borrowed = 1};
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
    if (!p->loaded) {
        size_t align = b->align_bytes > CM_PARAM_ALIGN_BYTES ? b->align_bytes : CM_PARAM_ALIGN_BYTES;
        CM_TRY(model_file_load(model_path, align, &p->file));
        p->loaded = 1;
    }
    CM_TRY(infer_create(b, &p->file.model, 1, &p->slots[i].c));
    p->idle_slots[p->nidle++] = i;
    return warm_up(p, i);
}

cm_status predictor_open(const char *model_path, const cm_predictor_options *o, cm_predictor **out) {
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
    cm_status st = p->slots && p->idle_slots ? CM_OK : cm_fail(CM_ERR_MEMORY, "out of host memory");
    for (int i = 0; st == CM_OK && i < o->contexts; i++)
        st = open_slot(model_path, o, p, i);
    if (st != CM_OK) {
        predictor_close(p);
        return st;
    }
    *out = p;
    return CM_OK;
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

const char *predictor_device_name(const cm_predictor *p) {
    return p->slots[0].b->device_name;
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

cm_status predictor_classify(cm_predictor *p, const uint8_t *image, int32_t *cls, float *probs) {
    const cm_layout *L = &p->file.model.layout;
    uint8_t label = 0;
    cm_split one = {.count = 1,
                    .rows = L->input.h,
                    .cols = L->input.w,
                    .dim = (int32_t)shape_numel(L->input),
                    .images = (uint8_t *)image,
                    .labels = &label,
                    .borrowed = 1};
#ifdef _OPENMP
    /* a worker thread's own setting: omp_set_num_threads acts on the calling thread only */
    if (p->threads > 0 && omp_get_max_threads() != p->threads) omp_set_num_threads(p->threads);
#endif
    int i = borrow(p);
    cm_status st = infer_run(p->slots[i].c, &one, cls, probs, NULL);
    give_back(p, i);
    return st;
}
