/* gemm_search.h: the search behind `clmnist tune`: CLBlast's direct- and indirect-GEMM kernel
 * parameters and the direct/indirect switch-over size for a list of GEMM shapes (gemm_time.h),
 * every candidate validated against the host backend's product, the fastest kept. It prints
 * nothing: a progress callback reports what it does, and the caller prints the result and writes
 * the cache (gemm_tune.h). */
#ifndef CLMNIST_GEMM_SEARCH_H
#define CLMNIST_GEMM_SEARCH_H
#include "gemm_time.h"
#include "gemm_tune.h"

#define GEMM_SEARCH_MAX_CASES 192 /* 3 GEMMs per layer of the largest network (3 * CM_MAX_LAYERS) */
#define GEMM_SEARCH_MAX_CANDIDATES 4096

typedef enum {
    GEMM_SEARCH_NOTE,  /* a line of information (text) */
    GEMM_SEARCH_BEGIN, /* a kernel's search starts (text: its label, total: its candidates) */
    GEMM_SEARCH_STEP,  /* one more candidate tried (tried of total; best_gflops so far) */
    GEMM_SEARCH_END    /* that kernel's search is over */
} gemm_search_event;

typedef void (*gemm_search_progress)(void *ctx, gemm_search_event ev, const char *text, int tried, int total,
                                     double best_gflops);

typedef struct {
    int max_candidates; /* of each kernel; 0: all */
    double seconds;     /* timing per shape and candidate */
    double budget;      /* seconds for the whole search */
    gemm_search_progress progress;
    void *ctx;
} gemm_search_options;

/* What one kernel's search did with its candidates. */
typedef struct {
    int tried, total, rejected, failed, pruned;
    double seconds;
} gemm_search_counts;

typedef struct {
    gemm_params best;                     /* applied to the device when the search returns */
    gemm_search_counts direct, indirect;  /* per kernel */
    double before[GEMM_SEARCH_MAX_CASES]; /* seconds per shape, CLBlast as it comes */
    double after[GEMM_SEARCH_MAX_CASES];  /* seconds per shape, with best */
    double t_before, t_after, flops;      /* per step: the shapes' sums; flops of one pass */
} gemm_search_result;

/* Searches dev's GEMM parameters for cases[0..n) (n <= GEMM_SEARCH_MAX_CASES), host computing
 * the reference products. Start it with CLMNIST_NO_TUNING set (CLBlast as it comes); it starts
 * from the configuration in dev's cache, when there is one. */
cm_status gemm_search(cm_backend *dev, cm_backend *host, const gemm_case *cases, int n, const gemm_search_options *o,
                      gemm_search_result *r);
/* Whether shape g takes the indirect kernel under min_indirect (m*n*k >= min_indirect^3). */
int gemm_takes_indirect(const gemm_case *g, size_t min_indirect);

#endif
