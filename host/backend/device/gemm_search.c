/* gemm_search.c: the tuning search (gemm_search.h): every shape's operands on the device and its
 * reference product from the host backend; CLBlast as it comes; the direct kernel's candidates,
 * then the indirect kernel's; per shape the faster kernel through the switch-over size; the
 * result validated and timed as the baseline was. */
#include "gemm_search.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "timer.h"

#define ALL_DIRECT 65536 /* XGEMM_MIN_INDIRECT_SIZE so large that every shape takes the direct kernel */

/* One shape's operands on the device and its reference result from the host backend. */
typedef struct {
    gemm_case g;
    cm_buf *A, *B, *C;
    float *ref, *got;
    size_t lda, ldb, nc;
} search_case;

static cm_status random_matrix(cm_backend *b, float *h, size_t n, cm_rng *rng, cm_buf **out) {
    for (size_t i = 0; i < n; i++)
        h[i] = 2.0f * rng_uniform(rng) - 1.0f;
    CM_TRY(backend_alloc(b, n * sizeof(float), 0, "tuning matrix", out));
    return backend_upload(b, *out, 0, h, n * sizeof(float));
}

static cm_status case_setup(cm_backend *dev, cm_backend *host, search_case *c, uint64_t seed) {
    gemm_case *g = &c->g;
    size_t na = (size_t)g->m * g->k, nb = (size_t)g->k * g->n;
    c->lda = g->ta ? (size_t)g->m : (size_t)g->k;
    c->ldb = g->tb ? (size_t)g->k : (size_t)g->n;
    c->nc = (size_t)g->m * g->n;
    float *ha = malloc(na * sizeof(float)), *hb = malloc(nb * sizeof(float));
    c->ref = malloc(c->nc * sizeof(float));
    c->got = malloc(c->nc * sizeof(float));
    if (!ha || !hb || !c->ref || !c->got) {
        free(ha), free(hb);
        return cm_fail(CM_ERR_MEMORY, "out of host memory");
    }
    cm_rng rng;
    rng_seed(&rng, seed, 11);
    cm_buf *HA = NULL, *HB = NULL, *HC = NULL;
    cm_status st = random_matrix(dev, ha, na, &rng, &c->A);
    if (st == CM_OK) st = random_matrix(dev, hb, nb, &rng, &c->B);
    if (st == CM_OK) st = backend_alloc(dev, c->nc * sizeof(float), 0, "tuning result", &c->C);
    /* the reference product on the host backend */
    if (st == CM_OK) st = backend_alloc(host, na * sizeof(float), 0, "a", &HA);
    if (st == CM_OK) st = backend_alloc(host, nb * sizeof(float), 0, "b", &HB);
    if (st == CM_OK) st = backend_alloc(host, c->nc * sizeof(float), 0, "c", &HC);
    if (st == CM_OK) st = backend_upload(host, HA, 0, ha, na * sizeof(float));
    if (st == CM_OK) st = backend_upload(host, HB, 0, hb, nb * sizeof(float));
    if (st == CM_OK)
        st = backend_gemm(host, g->ta, g->tb, g->m, g->n, g->k, 1.0f, HA, (int)c->lda, HB, (int)c->ldb, 0.0f, HC, g->n);
    if (st == CM_OK) st = backend_download(host, HC, 0, c->ref, c->nc * sizeof(float));
    backend_release(host, HA), backend_release(host, HB), backend_release(host, HC);
    free(ha), free(hb);
    return st;
}

static void case_free(cm_backend *dev, search_case *c) {
    backend_release(dev, c->A), backend_release(dev, c->B), backend_release(dev, c->C);
    free(c->ref), free(c->got);
}

/* Runs the shape once with the current parameters; 1 when it matches the host reference within
 * |got - ref| <= 1e-5 sqrt(k) + 1e-4 |ref| (the device tests' tolerance). */
static cm_status case_validate(cm_backend *dev, search_case *c, int *ok) {
    gemm_case *g = &c->g;
    CM_TRY(backend_fill(dev, c->C, NAN, c->nc)); /* a kernel that skips elements cannot pass */
    CM_TRY(backend_gemm(dev, g->ta, g->tb, g->m, g->n, g->k, 1.0f, c->A, (int)c->lda, c->B, (int)c->ldb, 0.0f, c->C,
                        g->n));
    CM_TRY(backend_download(dev, c->C, 0, c->got, c->nc * sizeof(float)));
    *ok = 1;
    double atol = 1e-5 * sqrt((double)g->k);
    for (size_t i = 0; i < c->nc && *ok; i++)
        if (!(fabs((double)c->got[i] - c->ref[i]) <= atol + 1e-4 * fabs((double)c->ref[i]))) *ok = 0;
    return CM_OK;
}

/* Times every shape; returns the step's total GEMM seconds (each shape runs once per step), or
 * INFINITY as soon as the total passes `cutoff` (a candidate already slower than the best). */
static cm_status time_all(cm_backend *dev, search_case *cs, int n, double seconds, double cutoff, double *per_case,
                          double *total) {
    *total = 0.0;
    for (int i = 0; i < n; i++) {
        CM_TRY(gemm_case_time(dev, &cs[i].g, seconds));
        per_case[i] = cs[i].g.seconds;
        *total += per_case[i];
        if (*total > cutoff) {
            *total = INFINITY;
            break;
        }
    }
    return CM_OK;
}

static double step_flops(const search_case *cs, int n) {
    double f = 0.0;
    for (int i = 0; i < n; i++)
        f += 2.0 * cs[i].g.m * cs[i].g.n * cs[i].g.k;
    return f;
}

static double mnk(const gemm_case *g) {
    return (double)g->m * g->n * g->k;
}

/* CLBlast's routing: g takes the indirect kernel when m*n*k >= min_indirect^3. */
int gemm_takes_indirect(const gemm_case *g, size_t min_indirect) {
    double t = (double)min_indirect;
    return mnk(g) >= t * t * t;
}

/* The next candidate to try: once half the budget is spent and a candidate has beaten the
 * default, an untried neighbour of the best (one parameter different), so the rest of the
 * budget refines what the random sample found; otherwise the next untried one in order. */
static int next_candidate(const gemm_params *cand, int nc, const char *tried, int *cursor, const gemm_params *best,
                          int refine) {
    if (refine && best->has_indirect)
        for (int i = 0; i < nc; i++)
            if (!tried[i] && gemm_indirect_distance(&cand[i], best) == 1) return i;
    while (*cursor < nc && tried[*cursor])
        (*cursor)++;
    return *cursor < nc ? *cursor : -1;
}

typedef struct {
    cm_backend *dev;
    search_case *cs;
    int n;
    const gemm_search_options *o;
} search_ctx;

static void note(const search_ctx *c, gemm_search_event ev, const char *text, int tried, int total, double gflops) {
    if (c->o->progress) c->o->progress(c->o->ctx, ev, text, tried, total, gflops);
}

/* Tries candidates cand[0..nc) of one kernel, every shape routed to that kernel (`route` is the
 * XGEMM_MIN_INDIRECT_SIZE that does it), until `budget` seconds have passed: validates each
 * against the host reference, times it (stopping once slower than the best so far), and keeps
 * the fastest in *best, best_times (per shape) and *best_total. */
static cm_status search(const search_ctx *x, gemm_params *cand, int nc, size_t route, double budget, const char *label,
                        double flops, gemm_params *best, double *best_times, double *best_total,
                        gemm_search_counts *cnt) {
    double times[GEMM_SEARCH_MAX_CASES];
    *cnt = (gemm_search_counts){0, nc, 0, 0, 0, 0};
    char *tried = calloc((size_t)nc + 1, 1);
    if (!tried) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    int cursor = 0;
    note(x, GEMM_SEARCH_BEGIN, label, 0, nc, 0.0);
    double t_start = timer_now();
    while (timer_now() - t_start < budget) {
        int c = next_candidate(cand, nc, tried, &cursor, best, timer_now() - t_start > budget / 2);
        if (c < 0) break;
        tried[c] = 1;
        cnt->tried++;
        cand[c].min_indirect = route;
        cm_status cst = gemm_params_apply(x->dev, &cand[c]);
        int ok = cst == CM_OK;
        for (int i = 0; i < x->n && ok && cst == CM_OK; i++)
            cst = case_validate(x->dev, &x->cs[i], &ok);
        double total = 0;
        if (cst == CM_OK && ok) cst = time_all(x->dev, x->cs, x->n, x->o->seconds, *best_total, times, &total);
        if (cst != CM_OK) { /* a configuration this device cannot build or run: skip it */
            cnt->failed++;
        } else if (!ok) {
            cnt->rejected++;
        } else if (!isfinite(total)) {
            cnt->pruned++;
        } else if (total < *best_total) {
            *best_total = total;
            *best = cand[c];
            memcpy(best_times, times, sizeof times);
        }
        note(x, GEMM_SEARCH_STEP, label, cnt->tried, nc, isfinite(*best_total) ? flops / *best_total / 1e9 : 0.0);
    }
    note(x, GEMM_SEARCH_END, label, cnt->tried, nc, 0.0);
    free(tried);
    cnt->seconds = timer_now() - t_start;
    return CM_OK;
}

/* The cached configuration the candidates start from (none when the cache cannot be read). */
static gemm_params cached_params(const search_ctx *x) {
    gemm_params cached = {0};
    char cache_file[1024], line[1200];
    int found;
    if (gemm_cache_read(x->dev, cache_file, sizeof cache_file, &cached, &found) != CM_OK) {
        snprintf(line, sizeof line, "not starting from the cache: %s", cm_last_error()); /* the search replaces it */
        note(x, GEMM_SEARCH_NOTE, line, 0, 0, 0.0);
        cached = (gemm_params){0};
        cm_clear_error();
    } else if (found) {
        snprintf(line, sizeof line, "starting from the configuration in %s", cache_file);
        note(x, GEMM_SEARCH_NOTE, line, 0, 0, 0.0);
    }
    return cached;
}

/* Both kernels' searches: the direct kernel's candidates (a fifth of the budget), then the
 * indirect kernel's; their best parameters and times per shape. */
static cm_status search_kernels(const search_ctx *x, gemm_search_result *r, gemm_params *best_d, double *best_dir,
                                gemm_params *best_i, double *best_ind, double *t_ind) {
    const gemm_search_options *o = x->o;
    const char *vendor, *device, *driver;
    size_t max_wg, local_mem;
    double dir_total = INFINITY;
    backend_device_identity(x->dev, &vendor, &device, &driver, &max_wg, &local_mem);
    gemm_params *cand = malloc(sizeof *cand * GEMM_SEARCH_MAX_CANDIDATES);
    if (!cand) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    gemm_params cached = cached_params(x);
    double t0 = timer_now();
    int nc = gemm_direct_candidates(max_wg, local_mem, cand, GEMM_SEARCH_MAX_CANDIDATES);
    gemm_candidates_put_first(cand, &nc, GEMM_SEARCH_MAX_CANDIDATES, &cached, 1);
    if (o->max_candidates && nc > o->max_candidates) nc = o->max_candidates;
    cm_status st =
        search(x, cand, nc, ALL_DIRECT, o->budget / 5, "direct", r->flops, best_d, best_dir, &dir_total, &r->direct);
    if (st == CM_OK && !isfinite(dir_total))
        st = cm_fail(CM_ERR_DEVICE, "tune: none of %d direct-kernel configurations ran correctly on '%s'",
                     r->direct.total, x->dev->device_name);
    if (st == CM_OK) {
        nc = gemm_indirect_candidates(max_wg, local_mem, backend_device_is_cpu(x->dev), cand,
                                      GEMM_SEARCH_MAX_CANDIDATES);
        gemm_candidates_put_first(cand, &nc, GEMM_SEARCH_MAX_CANDIDATES, &cached, 0);
        if (o->max_candidates && nc > o->max_candidates) nc = o->max_candidates;
        double left = o->budget - (timer_now() - t0);
        st = search(x, cand, nc, 1, left > 0 ? left : 0, "indirect", r->flops, best_i, best_ind, t_ind, &r->indirect);
    }
    free(cand);
    return st;
}

/* Per shape the faster kernel, through the switch-over size: shapes below it take the tuned
 * direct kernel, the others the tuned indirect one. */
static gemm_params choose(const search_ctx *x, const gemm_params *best_d, const double *best_dir,
                          const gemm_params *best_i, const double *best_ind) {
    gemm_params best = *best_d;
    best.has_indirect = best_i->has_indirect;
    memcpy(best.indirect, best_i->indirect, sizeof best.indirect);
    size_t thresholds[GEMM_SEARCH_MAX_CASES + 2];
    int nt = 0;
    thresholds[nt++] = 1;
    thresholds[nt++] = ALL_DIRECT;
    for (int i = 0; i < x->n; i++)
        thresholds[nt++] = (size_t)floor(cbrt(mnk(&x->cs[i].g))) + 1;
    double best_mix = INFINITY;
    for (int t = 0; t < nt; t++) {
        double total = 0;
        for (int i = 0; i < x->n; i++)
            total += gemm_takes_indirect(&x->cs[i].g, thresholds[t]) ? best_ind[i] : best_dir[i];
        if (total < best_mix) best_mix = total, best.min_indirect = thresholds[t];
    }
    return best;
}

/* The result, validated and timed as the baseline was. When no indirect candidate beat CLBlast's
 * own parameters, the last candidate's override is still in place in this process, so those
 * shapes keep their timing from the start (best_ind; the cache does not override). */
static cm_status check_result(const search_ctx *x, gemm_search_result *r, const double *best_ind) {
    const gemm_params *best = &r->best;
    int stale = !best->has_indirect && r->indirect.tried > 0;
    CM_TRY(gemm_params_apply(x->dev, best));
    int all_ok = 1;
    for (int i = 0; i < x->n; i++) {
        int ok = 1, indirect = gemm_takes_indirect(&x->cs[i].g, best->min_indirect);
        if (!(stale && indirect)) CM_TRY(case_validate(x->dev, &x->cs[i], &ok));
        all_ok &= ok;
    }
    if (!all_ok) return cm_fail(CM_ERR_DEVICE, "tune: the chosen parameters failed validation");
    CM_TRY(time_all(x->dev, x->cs, x->n, 10 * x->o->seconds, INFINITY, r->after, &r->t_after));
    if (stale) {
        r->t_after = 0;
        for (int i = 0; i < x->n; i++) {
            if (gemm_takes_indirect(&x->cs[i].g, best->min_indirect)) r->after[i] = best_ind[i];
            r->t_after += r->after[i];
        }
    }
    return CM_OK;
}

/* The steps after the operands are set up. */
static cm_status run_search(const search_ctx *x, gemm_search_result *r) {
    const gemm_search_options *o = x->o;
    double best_ind[GEMM_SEARCH_MAX_CASES], best_dir[GEMM_SEARCH_MAX_CASES], t_ind = 0;
    gemm_params best_d = {0}, best_i = {0};
    char line[160];
    /* 1. CLBlast as it comes */
    CM_TRY(time_all(x->dev, x->cs, x->n, 10 * o->seconds, INFINITY, r->before, &r->t_before));
    snprintf(line, sizeof line, "untuned: %.2f ms of GEMM per step, %.1f GFLOP/s", 1e3 * r->t_before,
             r->flops / r->t_before / 1e9);
    note(x, GEMM_SEARCH_NOTE, line, 0, 0, 0.0);
    /* 2. every shape through the indirect kernel with CLBlast's parameters: the indirect
     *    search's starting point (before any override, which cannot be undone) */
    best_i.min_indirect = 1;
    CM_TRY(gemm_params_apply(x->dev, &best_i));
    CM_TRY(time_all(x->dev, x->cs, x->n, o->seconds, INFINITY, best_ind, &t_ind));
    /* 3. the direct kernel's candidates, then the indirect kernel's */
    CM_TRY(search_kernels(x, r, &best_d, best_dir, &best_i, best_ind, &t_ind));
    /* 4. per shape the faster kernel; 5. the result checked */
    r->best = choose(x, &best_d, best_dir, &best_i, best_ind);
    return check_result(x, r, best_ind);
}

cm_status gemm_search(cm_backend *dev, cm_backend *host, const gemm_case *cases, int n, const gemm_search_options *o,
                      gemm_search_result *r) {
    if (n < 0 || n > GEMM_SEARCH_MAX_CASES)
        return cm_fail(CM_ERR_USAGE, "gemm_search: %d shapes (at most %d)", n, GEMM_SEARCH_MAX_CASES);
    memset(r, 0, sizeof *r);
    search_case *cs = calloc((size_t)n + 1, sizeof *cs);
    if (!cs) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    cm_status st = CM_OK;
    for (int i = 0; i < n && st == CM_OK; i++) {
        cs[i].g = cases[i];
        st = case_setup(dev, host, &cs[i], 100 + (uint64_t)i);
    }
    r->flops = step_flops(cs, n);
    search_ctx x = {dev, cs, n, o};
    if (st == CM_OK) st = run_search(&x, r);
    for (int i = 0; i < n; i++)
        case_free(dev, &cs[i]);
    free(cs);
    return st;
}
