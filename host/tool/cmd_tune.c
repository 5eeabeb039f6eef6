/* cmd_tune.c: `clmnist tune`: searches CLBlast's direct- and indirect-GEMM kernel parameters
 * and the direct/indirect switch-over size for the exact GEMM shapes of a training step,
 * validates every candidate's result against the host reference, keeps the fastest, and writes
 * the per-device cache that the device backend loads at start-up. Before/after GFLOP/s are
 * measured in the same run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rng.h"
#include "commands.h"
#include "gemm_tune.h"
#include "progress.h"
#include "preflight.h"
#include "timer.h"

#define MAX_CASES (3 * CM_MAX_LAYERS)
#define MAX_CANDIDATES 4096
#define ALL_DIRECT 65536 /* XGEMM_MIN_INDIRECT_SIZE so large that every shape takes the direct kernel */

typedef struct {
    const char *out;
    int max_candidates;
    double seconds; /* timing per shape and candidate */
    double budget;  /* seconds for the whole search */
} tune_opts;

enum { X_OUT, X_MAX, X_SECONDS, X_BUDGET };
static const cm_extra_option tune_extra[] = {
    {"out", 1,
     "  --out FILE        where to write the tuning (default: the per-device cache file,\n"
     "                    which train and bench load automatically)\n"},
    {"max-candidates", 1, "  --max-candidates N  try at most N configurations of each GEMM kernel (default all)\n"},
    {"seconds", 1, "  --seconds F       timing per shape and candidate (default 0.05)\n"},
    {"budget", 1, "  --budget S        stop trying candidates after S seconds (default 600)\n"},
    {NULL, 0, NULL}};

static cm_status on_extra(void *ctx, int index, const char *value) {
    tune_opts *o = ctx;
    long v;
    double d;
    switch (index) {
    case X_OUT: o->out = value; break;
    case X_MAX:
        CM_TRY(cm_parse_int("--max-candidates", value, 1, MAX_CANDIDATES, &v));
        o->max_candidates = (int)v;
        break;
    case X_SECONDS:
        CM_TRY(cm_parse_float("--seconds", value, 0.001, 60.0, &d));
        o->seconds = d;
        break;
    case X_BUDGET:
        CM_TRY(cm_parse_float("--budget", value, 1.0, 1e6, &d));
        o->budget = d;
        break;
    default: break;
    }
    return CM_OK;
}

/* One shape's operands on the device and its reference result from the host backend. */
typedef struct {
    gemm_case g;
    cm_buf *A, *B, *C;
    float *ref, *got;
    size_t lda, ldb, nc;
} tune_case;

static cm_status random_matrix(cm_backend *b, float *h, size_t n, cm_rng *rng, cm_buf **out) {
    for (size_t i = 0; i < n; i++)
        h[i] = 2.0f * rng_uniform(rng) - 1.0f;
    CM_TRY(backend_alloc(b, n * sizeof(float), 0, "tuning matrix", out));
    return backend_upload(b, *out, 0, h, n * sizeof(float));
}

static cm_status case_setup(cm_backend *dev, cm_backend *host, tune_case *c, uint64_t seed) {
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

static void case_free(cm_backend *dev, tune_case *c) {
    backend_release(dev, c->A), backend_release(dev, c->B), backend_release(dev, c->C);
    free(c->ref), free(c->got);
}

/* Runs the shape once with the current parameters; 1 when it matches the host reference within
 * |got - ref| <= 1e-5 sqrt(k) + 1e-4 |ref| (the device tests' tolerance). */
static cm_status case_validate(cm_backend *dev, tune_case *c, int *ok) {
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
static cm_status time_all(cm_backend *dev, tune_case *cs, int n, double seconds, double cutoff, double *per_case,
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

static double step_flops(const tune_case *cs, int n) {
    double f = 0.0;
    for (int i = 0; i < n; i++)
        f += 2.0 * cs[i].g.m * cs[i].g.n * cs[i].g.k;
    return f;
}

static double mnk(const gemm_case *g) {
    return (double)g->m * g->n * g->k;
}

/* CLBlast's routing: g takes the indirect kernel when m*n*k >= min_indirect^3. */
static int takes_indirect(const gemm_case *g, size_t min_indirect) {
    double t = (double)min_indirect;
    return mnk(g) >= t * t * t;
}

/* What one search did with its candidates. */
typedef struct {
    int tried, total, rejected, failed, pruned;
    double seconds;
} search_counts;

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

/* Tries candidates cand[0..nc) of one kernel, every shape routed to that kernel (`route` is the
 * XGEMM_MIN_INDIRECT_SIZE that does it), until `budget` seconds have passed: validates each
 * against the host reference, times it (stopping once slower than the best so far), and keeps
 * the fastest in *best, best_times (per shape) and *best_total. */
static cm_status search(cm_backend *dev, tune_case *cs, int n, gemm_params *cand, int nc, size_t route, double budget,
                        const char *label, double flops, gemm_params *best, double *best_times, double *best_total,
                        search_counts *cnt, double seconds) {
    double times[MAX_CASES];
    *cnt = (search_counts){0, nc, 0, 0, 0, 0};
    char *tried = calloc((size_t)nc + 1, 1);
    if (!tried) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    int cursor = 0;
    cm_progress bar;
    progress_begin(&bar, stdout, label);
    double t_start = timer_now();
    while (timer_now() - t_start < budget) {
        int c = next_candidate(cand, nc, tried, &cursor, best, timer_now() - t_start > budget / 2);
        if (c < 0) break;
        tried[c] = 1;
        cnt->tried++;
        cand[c].min_indirect = route;
        cm_status cst = gemm_params_apply(dev, &cand[c]);
        int ok = cst == CM_OK;
        for (int i = 0; i < n && ok && cst == CM_OK; i++)
            cst = case_validate(dev, &cs[i], &ok);
        double total = 0;
        if (cst == CM_OK && ok) cst = time_all(dev, cs, n, seconds, *best_total, times, &total);
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
        char extra[96];
        snprintf(extra, sizeof extra, "best %.1f GFLOP/s", isfinite(*best_total) ? flops / *best_total / 1e9 : 0.0);
        progress_update(&bar, cnt->tried, nc, extra);
        if (!bar.enabled && cnt->tried % 5 == 0) printf("%s: %d of %d candidates, %s\n", label, cnt->tried, nc, extra);
    }
    progress_end(&bar);
    free(tried);
    cnt->seconds = timer_now() - t_start;
    return CM_OK;
}

static void print_counts(const char *kernel, const search_counts *c) {
    printf("%s: tried %d of %d configurations in %.0f s (%d gave wrong results, %d did not build or run, %d stopped "
           "once slower than the best)\n",
           kernel, c->tried, c->total, c->seconds, c->rejected, c->failed, c->pruned);
}

static cm_status tune(cm_backend *dev, cm_backend *host, const cm_train_args *a, const cm_dataset *ds,
                      const tune_opts *o) {
    cm_layout L;
    CM_TRY(run_layout(a, ds, CM_PARAM_ALIGN_BYTES, &L));
    char arch[CM_ARCH_TEXT], tuned_for[CM_ARCH_TEXT + 64];
    model_describe(&L, arch, sizeof arch);
    snprintf(tuned_for, sizeof tuned_for, "%s, batch %d", arch, a->batch);
    gemm_case gc[MAX_CASES];
    int n = gemm_model_cases(&L, a->batch, gc);
    tune_case cs[MAX_CASES];
    memset(cs, 0, sizeof cs);
    cm_status st = CM_OK;
    for (int i = 0; i < n && st == CM_OK; i++) {
        cs[i].g = gc[i];
        st = case_setup(dev, host, &cs[i], 100 + (uint64_t)i);
    }
    double before[MAX_CASES], best_ind[MAX_CASES], best_dir[MAX_CASES], after[MAX_CASES];
    double t_before = 0, t_ind = 0, t_after = 0, dir_total = INFINITY, flops = step_flops(cs, n);
    gemm_params best_d = {0}, best_i = {0}, best = {0};
    printf("tune: %s on %s\n", tuned_for, dev->device_name);
    /* 1. CLBlast as it comes */
    if (st == CM_OK) st = time_all(dev, cs, n, 10 * o->seconds, INFINITY, before, &t_before);
    if (st == CM_OK)
        printf("untuned: %.2f ms of GEMM per step, %.1f GFLOP/s\n", 1e3 * t_before, flops / t_before / 1e9);
    /* 2. every shape through the indirect kernel with CLBlast's parameters: the indirect
     *    search's starting point (before any override, which cannot be undone) */
    best_i.min_indirect = 1;
    if (st == CM_OK) st = gemm_params_apply(dev, &best_i);
    if (st == CM_OK) st = time_all(dev, cs, n, o->seconds, INFINITY, best_ind, &t_ind);
    /* 3. the direct kernel's candidates (a fifth of the budget), then the indirect kernel's */
    const char *vendor, *device, *driver;
    size_t max_wg, local_mem;
    backend_device_identity(dev, &vendor, &device, &driver, &max_wg, &local_mem);
    gemm_params *cand = malloc(sizeof *cand * MAX_CANDIDATES);
    if (!cand && st == CM_OK) st = cm_fail(CM_ERR_MEMORY, "out of host memory");
    search_counts cd = {0}, ci = {0};
    gemm_params cached = {0};
    char cache_file[1024];
    int found;
    if (gemm_cache_read(dev, cache_file, sizeof cache_file, &cached, &found) != CM_OK) {
        printf("not starting from the cache: %s\n", cm_last_error()); /* the search replaces it */
        cached = (gemm_params){0};
        cm_clear_error();
    } else if (found)
        printf("starting from the configuration in %s\n", cache_file);
    double t0 = timer_now();
    if (st == CM_OK) {
        int nc = gemm_direct_candidates(max_wg, local_mem, cand, MAX_CANDIDATES);
        gemm_candidates_put_first(cand, &nc, MAX_CANDIDATES, &cached, 1);
        if (o->max_candidates && nc > o->max_candidates) nc = o->max_candidates;
        st = search(dev, cs, n, cand, nc, ALL_DIRECT, o->budget / 5, "direct", flops, &best_d, best_dir, &dir_total,
                    &cd, o->seconds);
    }
    if (st == CM_OK && !isfinite(dir_total))
        st = cm_fail(CM_ERR_DEVICE, "tune: none of %d direct-kernel configurations ran correctly on '%s'", cd.total,
                     dev->device_name);
    if (st == CM_OK) {
        int nc = gemm_indirect_candidates(max_wg, local_mem, backend_device_is_cpu(dev), cand, MAX_CANDIDATES);
        gemm_candidates_put_first(cand, &nc, MAX_CANDIDATES, &cached, 0);
        if (o->max_candidates && nc > o->max_candidates) nc = o->max_candidates;
        double left = o->budget - (timer_now() - t0);
        st = search(dev, cs, n, cand, nc, 1, left > 0 ? left : 0, "indirect", flops, &best_i, best_ind, &t_ind, &ci,
                    o->seconds);
    }
    free(cand);
    /* 4. per shape the faster kernel, through the switch-over size: shapes below it take the
     *    tuned direct kernel, the others the tuned indirect one */
    if (st == CM_OK) {
        best = best_d;
        best.has_indirect = best_i.has_indirect;
        memcpy(best.indirect, best_i.indirect, sizeof best.indirect);
        size_t thresholds[MAX_CASES + 2];
        int nt = 0;
        thresholds[nt++] = 1;
        thresholds[nt++] = ALL_DIRECT;
        for (int i = 0; i < n; i++)
            thresholds[nt++] = (size_t)floor(cbrt(mnk(&cs[i].g))) + 1;
        double best_mix = INFINITY;
        for (int t = 0; t < nt; t++) {
            double total = 0;
            for (int i = 0; i < n; i++)
                total += takes_indirect(&cs[i].g, thresholds[t]) ? best_ind[i] : best_dir[i];
            if (total < best_mix) best_mix = total, best.min_indirect = thresholds[t];
        }
    }
    /* 5. the result, validated and timed as the baseline was. When no indirect candidate beat
     *    CLBlast's own parameters, the last candidate's override is still in place in this
     *    process, so those shapes keep their timing from step 2 (the cache does not override). */
    int stale = st == CM_OK && !best.has_indirect && ci.tried > 0;
    if (st == CM_OK) st = gemm_params_apply(dev, &best);
    int all_ok = 1;
    for (int i = 0; i < n && st == CM_OK; i++) {
        int ok = 1, indirect = takes_indirect(&cs[i].g, best.min_indirect);
        if (!(stale && indirect)) st = case_validate(dev, &cs[i], &ok);
        all_ok &= ok;
    }
    if (st == CM_OK && !all_ok) st = cm_fail(CM_ERR_DEVICE, "tune: the chosen parameters failed validation");
    if (st == CM_OK) st = time_all(dev, cs, n, 10 * o->seconds, INFINITY, after, &t_after);
    if (st == CM_OK && stale) {
        t_after = 0;
        for (int i = 0; i < n; i++) {
            if (takes_indirect(&cs[i].g, best.min_indirect)) after[i] = best_ind[i];
            t_after += after[i];
        }
    }
    if (st == CM_OK) {
        print_counts("direct kernel (XgemmDirect)", &cd);
        print_counts("indirect kernel (Xgemm)", &ci);
        printf("chosen: XgemmDirect");
        for (int i = 0; i < GEMM_DIRECT_NPARAMS; i++)
            printf(" %s=%zu", gemm_direct_names[i], best.direct[i]);
        if (best.has_indirect) {
            printf("; Xgemm");
            for (int i = 0; i < GEMM_INDIRECT_NPARAMS; i++)
                printf(" %s=%zu", gemm_indirect_names[i], best.indirect[i]);
        } else {
            printf("; Xgemm as CLBlast has it");
        }
        printf("; indirect kernel from m*n*k >= %zu^3\n", best.min_indirect);
        printf("\n  %-28s %6s %6s %6s %10s %10s %7s %s\n", "GEMM (GFLOP/s)", "m", "n", "k", "untuned", "tuned", "ratio",
               "kernel");
        for (int i = 0; i < n; i++) {
            double f = 2.0 * mnk(&cs[i].g) / 1e9;
            printf("  %-28s %6d %6d %6d %10.1f %10.1f %6.2fx %s\n", cs[i].g.what, cs[i].g.m, cs[i].g.n, cs[i].g.k,
                   f / before[i], f / after[i], before[i] / after[i],
                   takes_indirect(&cs[i].g, best.min_indirect) ? "indirect" : "direct");
        }
        printf("  %-28s %20s %10.1f %10.1f %6.2fx\n\n", "whole step", "", flops / t_before / 1e9, flops / t_after / 1e9,
               t_before / t_after);
        char path[1024];
        if (o->out)
            snprintf(path, sizeof path, "%s", o->out);
        else
            st = gemm_cache_path(dev, path, sizeof path);
        if (st == CM_OK)
            st = gemm_cache_save(dev, path, &best, tuned_for, flops / t_before / 1e9, flops / t_after / 1e9);
        if (st == CM_OK)
            printf("saved: %s%s\n", path,
                   o->out ? " (not loaded automatically: only the per-device cache path is)"
                          : " (train and bench load it automatically; CLMNIST_NO_TUNING=1 turns it off)");
    }
    for (int i = 0; i < n; i++)
        case_free(dev, &cs[i]);
    return st;
}

cm_status cmd_tune(int argc, char **argv) {
    tune_opts o = {.seconds = 0.05, .budget = 600};
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines appear as they come, also in a log file */
    cm_command_info info = {"tune",
                            CM_CMD_TUNE,
                            NULL,
                            "Tunes CLBlast's GEMM for this device and the model's exact shapes (its --data, --layers "
                            "or --arch\nand --batch), validates every candidate against the host reference, and "
                            "caches the fastest\nfor train and bench.",
                            tune_extra,
                            on_extra,
                            &o,
                            0};
    cm_train_args a;
    int help;
    CM_TRY(cli_parse(argc, argv, &info, &a, &help, NULL));
    if (help) return CM_OK;
    CM_TRY(preflight_file("--out", o.out)); /* before the work (the default cache's folder is created) */
    CM_TRY(preflight_backend("device", a.device, 0, NULL));
    cm_dataset ds = {0};
    CM_TRY(run_load_data(&a, &ds));
    setenv("CLMNIST_NO_TUNING", "1", 1); /* measure CLBlast as it comes, not an earlier tuning */
    cm_backend_options bo = {.device = a.device, .threads = a.threads};
    cm_backend *dev = NULL, *host = NULL;
    cm_status st = backend_create("device", &bo, &dev);
    if (st == CM_OK) st = backend_create("host", &bo, &host);
    if (st == CM_OK) st = tune(dev, host, &a, &ds, &o);
    backend_destroy(host);
    backend_destroy(dev);
    dataset_free(&ds);
    return st;
}
