/* gemm_tune.h: CLBlast kernel-parameter tuning for GEMM shapes (gemm_time.h): the candidates the
 * search (gemm_search.h) tries, the per-device cache file it writes, and the loader the device backend calls at
 * start-up so that `train` and `bench` use the tuned parameters automatically. */
#ifndef CLMNIST_GEMM_TUNE_H
#define CLMNIST_GEMM_TUNE_H
#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "device_ext.h"

/* CLBlast's direct GEMM kernel parameters (XgemmDirect), in this order; its indirect GEMM
 * kernel's parameters (Xgemm, CLBlast's alphabetical order); and the size from which the
 * indirect kernel is used (GemmRoutine XGEMM_MIN_INDIRECT_SIZE: m*n*k >= size^3). */
#define GEMM_DIRECT_NPARAMS 10
#define GEMM_INDIRECT_NPARAMS 16
extern const char *const gemm_direct_names[GEMM_DIRECT_NPARAMS];
extern const char *const gemm_indirect_names[GEMM_INDIRECT_NPARAMS];
enum {
    XG_GEMMK,
    XG_KREG,
    XG_KWG,
    XG_KWI,
    XG_MDIMA,
    XG_MDIMC,
    XG_MWG,
    XG_NDIMB,
    XG_NDIMC,
    XG_NWG,
    XG_SA,
    XG_SB,
    XG_STRM,
    XG_STRN,
    XG_VWM,
    XG_VWN
};
typedef struct {
    int has_direct;                         /* 0: leave the direct kernel's parameters as they are */
    size_t direct[GEMM_DIRECT_NPARAMS];     /* WGD MDIMCD NDIMCD MDIMAD NDIMBD KWID VWMD VWND PADA PADB */
    int has_indirect;                       /* 0: leave the indirect kernel's parameters as they are */
    size_t indirect[GEMM_INDIRECT_NPARAMS]; /* indexed by XG_* */
    size_t min_indirect;
    char tuned_for[256]; /* the cache's "tuned_for": "ARCH, batch N" of the tuned model ("" if absent) */
} gemm_params;

/* Applies p to b's device (every later GEMM uses it). */
cm_status gemm_params_apply(cm_backend *b, const gemm_params *p);
/* The cache file for b's device: $CLMNIST_CACHE_DIR, else $XDG_CACHE_HOME/clmnist, else
 * ~/.cache/clmnist, then gemm-<vendor>-<device>-<driver>.json (sanitised). */
cm_status gemm_cache_path(const cm_backend *b, char *buf, size_t size);
cm_status gemm_cache_save(const cm_backend *b, const char *path, const gemm_params *p, const char *tuned_for,
                          double gflops_before, double gflops_after);
/* Loads b's cache file if there is one (unless CLMNIST_NO_TUNING is set) and applies it; sets
 * b->tuning to a description. A malformed file gets a one-line warning and is ignored. */
void gemm_cache_load(cm_backend *b);

/* The parameters in b's cache file (its path into path), not applied. *found is 0 when b has no
 * cache (CM_OK, *p untouched); a cache that cannot be read, is malformed or is for another device
 * or driver is found, with an error. */
cm_status gemm_cache_read(const cm_backend *b, char *path, size_t size, gemm_params *p, int *found);

/* Whether CLMNIST_NO_TUNING is set (non-empty, not "0"): CLBlast's defaults, no cache. */
int gemm_tuning_disabled(void);

/* Every candidate `tune` tries for the direct kernel on a device allowing max_wg work-items
 * per group and local_mem bytes of local memory; returns the count (<= max). */
int gemm_direct_candidates(size_t max_wg, size_t local_mem, gemm_params *out, int max);
/* The same for the indirect kernel (GEMMK 0), in a fixed pseudo-random order so that a search
 * cut short by its time budget still samples all kinds; cpu: register-tiled ones first. */
int gemm_indirect_candidates(size_t max_wg, size_t local_mem, int cpu, gemm_params *out, int max);
/* Moves the cached configuration of one kernel (`direct`, else the indirect one) to the front of
 * cand[0..*nc) (at most max), inserting it when the list lacks it: `tune` times it first, so a
 * tune that runs again (a longer budget, a noisier moment) ends no slower than the cache it
 * replaces. Nothing changes when `cached` has no parameters for that kernel. */
void gemm_candidates_put_first(gemm_params *cand, int *nc, int max, const gemm_params *cached, int direct);
/* How many of the searched indirect-kernel parameters differ between a and b (1: neighbours). */
int gemm_indirect_distance(const gemm_params *a, const gemm_params *b);

#endif
