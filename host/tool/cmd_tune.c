/* cmd_tune.c: `clmnist tune`: searches CLBlast's direct- and indirect-GEMM kernel parameters
 * and the direct/indirect switch-over size for the exact GEMM shapes of a training step
 * (the search: host/backend/device/gemm_search.c), prints the chosen parameters and the
 * before/after GFLOP/s measured in the same run, and writes the per-device cache that the device
 * backend loads at start-up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "gemm_cases.h"
#include "gemm_search.h"
#include "progress.h"
#include "preflight.h"

#define MAX_CASES (3 * CM_MAX_LAYERS)
#define MAX_CANDIDATES GEMM_SEARCH_MAX_CANDIDATES
_Static_assert(MAX_CASES <= GEMM_SEARCH_MAX_CASES, "gemm_search.h: GEMM_SEARCH_MAX_CASES below a network's GEMMs");

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

/* The search's progress: a bar per kernel (a line every 5 candidates when the bar is off), and
 * its notes as lines. */
typedef struct {
    cm_progress bar;
} tune_view;

static void on_progress(void *ctx, gemm_search_event ev, const char *text, int tried, int total, double gflops) {
    tune_view *v = ctx;
    char extra[96];
    switch (ev) {
    case GEMM_SEARCH_NOTE: printf("%s\n", text); break;
    case GEMM_SEARCH_BEGIN: progress_begin(&v->bar, stdout, text); break;
    case GEMM_SEARCH_STEP:
        snprintf(extra, sizeof extra, "best %.1f GFLOP/s", gflops);
        progress_update(&v->bar, tried, total, extra);
        if (!v->bar.enabled && tried % 5 == 0) printf("%s: %d of %d candidates, %s\n", text, tried, total, extra);
        break;
    case GEMM_SEARCH_END: progress_end(&v->bar); break;
    }
}

static void print_counts(const char *kernel, const gemm_search_counts *c) {
    printf("%s: tried %d of %d configurations in %.0f s (%d gave wrong results, %d did not build or run, %d stopped "
           "once slower than the best)\n",
           kernel, c->tried, c->total, c->seconds, c->rejected, c->failed, c->pruned);
}

/* The chosen parameters and the table of GFLOP/s per shape, untuned and tuned. */
static void print_result(const gemm_case *cs, int n, const gemm_search_result *r) {
    const gemm_params *best = &r->best;
    print_counts("direct kernel (XgemmDirect)", &r->direct);
    print_counts("indirect kernel (Xgemm)", &r->indirect);
    printf("chosen: XgemmDirect");
    for (int i = 0; i < GEMM_DIRECT_NPARAMS; i++)
        printf(" %s=%zu", gemm_direct_names[i], best->direct[i]);
    if (best->has_indirect) {
        printf("; Xgemm");
        for (int i = 0; i < GEMM_INDIRECT_NPARAMS; i++)
            printf(" %s=%zu", gemm_indirect_names[i], best->indirect[i]);
    } else {
        printf("; Xgemm as CLBlast has it");
    }
    printf("; indirect kernel from m*n*k >= %zu^3\n", best->min_indirect);
    printf("\n  %-28s %6s %6s %6s %10s %10s %7s %s\n", "GEMM (GFLOP/s)", "m", "n", "k", "untuned", "tuned", "ratio",
           "kernel");
    for (int i = 0; i < n; i++) {
        double f = 2.0 * cs[i].m * cs[i].n * cs[i].k / 1e9;
        printf("  %-28s %6d %6d %6d %10.1f %10.1f %6.2fx %s\n", cs[i].what, cs[i].m, cs[i].n, cs[i].k, f / r->before[i],
               f / r->after[i], r->before[i] / r->after[i],
               gemm_takes_indirect(&cs[i], best->min_indirect) ? "indirect" : "direct");
    }
    printf("  %-28s %20s %10.1f %10.1f %6.2fx\n\n", "whole step", "", r->flops / r->t_before / 1e9,
           r->flops / r->t_after / 1e9, r->t_before / r->t_after);
}

static cm_status tune(cm_backend *dev, cm_backend *host, const cm_train_args *a, const cm_dataset *ds,
                      const tune_opts *o) {
    cm_layout L;
    CM_TRY(run_layout(a, ds, CM_PARAM_ALIGN_BYTES, &L));
    char arch[CM_ARCH_TEXT], tuned_for[CM_ARCH_TEXT + 64];
    model_describe(&L, arch, sizeof arch);
    snprintf(tuned_for, sizeof tuned_for, "%s, batch %d", arch, a->batch);
    gemm_case gc[MAX_CASES];
    int n = diag_gemm_cases(&L, a->batch, gc);
    printf("tune: %s on %s\n", tuned_for, dev->device_name);
    tune_view view = {0};
    gemm_search_options so = {o->max_candidates, o->seconds, o->budget, on_progress, &view};
    gemm_search_result *r = malloc(sizeof *r);
    if (!r) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    cm_status st = gemm_search(dev, host, gc, n, &so, r);
    char path[1024];
    if (st == CM_OK) print_result(gc, n, r);
    if (st == CM_OK && o->out)
        snprintf(path, sizeof path, "%s", o->out);
    else if (st == CM_OK)
        st = gemm_cache_path(dev, path, sizeof path);
    if (st == CM_OK)
        st = gemm_cache_save(dev, path, &r->best, tuned_for, r->flops / r->t_before / 1e9, r->flops / r->t_after / 1e9);
    if (st == CM_OK)
        printf("saved: %s%s\n", path,
               o->out ? " (not loaded automatically: only the per-device cache path is)"
                      : " (train and bench load it automatically; CLMNIST_NO_TUNING=1 turns it off)");
    free(r);
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
