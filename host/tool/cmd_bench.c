/* cmd_bench.c: `clmnist bench`: training throughput (median of interleaved runs), GFLOP/s of
 * every GEMM shape the model uses, time to a target test accuracy, and peak memory, for each
 * backend; a table for people and --json for scripts. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_dist.h"
#include "bench_mem.h"
#include "bench_tables.h"
#include "cli.h"
#include "dist.h"
#include "rng.h"
#include "commands.h"
#include "gemm_tune.h"
#include "progress.h"
#include "preflight.h"
#include "timer.h"

#define MAX_ITEMS 8

typedef struct {
    const char *backends[MAX_ITEMS];
    int nbackends;
    int batches[MAX_ITEMS];
    int nbatches;
    cm_feed_mode feeds[MAX_ITEMS];
    int nfeeds;
    int steps, warmup, runs;
    int gemm;           /* measure GEMM shapes */
    int memory;         /* the memory run per backend (bench_mem.h) */
    double to_accuracy; /* 0: skip */
    int eval_every;     /* steps between evaluations in the to-accuracy run (0: 4 per epoch) */
    int json;
    int profile;             /* per-kernel device time of a training step */
    int syn_c, syn_h, syn_w; /* --synthetic CxHxW: random data of that shape instead of --data (0: off) */
    char lists[3][256];      /* storage for the parsed lists */
} bench_opts;

enum {
    X_BACKENDS,
    X_BATCHES,
    X_FEEDS,
    X_STEPS,
    X_WARMUP,
    X_RUNS,
    X_NO_GEMM,
    X_NO_MEMORY,
    X_TO_ACC,
    X_EVAL_EVERY,
    X_JSON,
    X_PROFILE,
    X_SYNTHETIC
};
static const cm_extra_option bench_extra[] = {
    {"backends", 1, "  --backends LIST   backends to measure, comma-separated (default device,host)\n"},
    {"batches", 1, "  --batches LIST    batch sizes for the throughput table (default 128,512)\n"},
    {"feeds", 1,
     "  --feeds LIST      device data feeds to compare: resident,streamed (default both;\n"
     "                    the host backend always uses its default)\n"},
    {"steps", 1, "  --steps N         timed training steps per run (default 50)\n"},
    {"warmup", 1, "  --warmup N        untimed steps before each run (default 5)\n"},
    {"runs", 1, "  --runs N          runs per configuration, interleaved; the median is reported (default 5)\n"},
    {"no-gemm", 0, "  --no-gemm         skip the per-shape GEMM GFLOP/s table\n"},
    {"no-memory", 0, "  --no-memory       skip the memory run (RSS across 6 short epochs per backend)\n"},
    {"to-accuracy", 1,
     "  --to-accuracy F   also train with the options above until the test accuracy reaches F\n"
     "                    (0.99 or 99.0 alike) and report load, setup and training time\n"},
    {"eval-every", 1, "  --eval-every N    steps between test evaluations for --to-accuracy (default 4 per epoch)\n"},
    {"json", 0, "  --json            print the results as one JSON object\n"},
    {"profile", 0,
     "  --profile         also profile --steps training steps at the first batch size on each\n"
     "                    backend: time per kernel and GEMM (device: OpenCL event profiling;\n"
     "                    host: wall time of each operation); under mpirun, the only measurement:\n"
     "                    the data-parallel step on the first backend and batch (global), with\n"
     "                    the gradient sum's time\n"},
    {"synthetic", 1,
     "  --synthetic CxHxW synthetic data of that shape (e.g. 3x32x32 for the cifar preset: 50000\n"
     "                    training and 10000 test images of 10 classes) instead of --data\n"},
    {NULL, 0, NULL}};

static cm_status split_list(const char *flag, const char *text, char *store, size_t cap, const char **items, int *n) {
    if (strlen(text) >= cap) return cm_fail(CM_ERR_USAGE, "%s: list too long", flag);
    strcpy(store, text);
    *n = 0;
    for (char *save = NULL, *tok = strtok_r(store, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*n == MAX_ITEMS) return cm_fail(CM_ERR_USAGE, "%s: at most %d items", flag, MAX_ITEMS);
        items[(*n)++] = tok;
    }
    if (*n == 0) return cm_fail(CM_ERR_USAGE, "%s '%s': empty list", flag, text);
    return CM_OK;
}

static cm_status on_extra(void *ctx, int index, const char *value) {
    bench_opts *o = ctx;
    const char *items[MAX_ITEMS];
    int n;
    long v;
    double d;
    switch (index) {
    case X_BACKENDS:
        CM_TRY(split_list("--backends", value, o->lists[0], sizeof o->lists[0], o->backends, &o->nbackends));
        for (int i = 0; i < o->nbackends; i++)
            if (!backend_kind_valid(o->backends[i]))
                return cm_fail(CM_ERR_USAGE, "--backends: '%s' is not auto, host or device", o->backends[i]);
        break;
    case X_BATCHES:
        CM_TRY(split_list("--batches", value, o->lists[1], sizeof o->lists[1], items, &n));
        for (int i = 0; i < n; i++) {
            CM_TRY(cm_parse_int("--batches", items[i], 1, 1 << 16, &v));
            o->batches[i] = (int)v;
        }
        o->nbatches = n;
        break;
    case X_FEEDS:
        CM_TRY(split_list("--feeds", value, o->lists[2], sizeof o->lists[2], items, &n));
        for (int i = 0; i < n; i++) {
            if (!strcmp(items[i], "resident"))
                o->feeds[i] = CM_FEED_RESIDENT;
            else if (!strcmp(items[i], "streamed"))
                o->feeds[i] = CM_FEED_STREAMED;
            else if (!strcmp(items[i], "auto"))
                o->feeds[i] = CM_FEED_AUTO;
            else
                return cm_fail(CM_ERR_USAGE, "--feeds: '%s' is not 'resident', 'streamed' or 'auto'", items[i]);
        }
        o->nfeeds = n;
        break;
    case X_STEPS:
        CM_TRY(cm_parse_int("--steps", value, 1, 1000000, &v));
        o->steps = (int)v;
        break;
    case X_WARMUP:
        CM_TRY(cm_parse_int("--warmup", value, 0, 1000000, &v));
        o->warmup = (int)v;
        break;
    case X_RUNS:
        CM_TRY(cm_parse_int("--runs", value, 1, 1000, &v));
        o->runs = (int)v;
        break;
    case X_NO_GEMM: o->gemm = 0; break;
    case X_NO_MEMORY: o->memory = 0; break;
    case X_TO_ACC:
        CM_TRY(cm_parse_float("--to-accuracy", value, 0.0, 100.0, &d));
        o->to_accuracy = d > 1.0 ? d / 100.0 : d; /* 0.99 or 99.0 */
        break;
    case X_EVAL_EVERY:
        CM_TRY(cm_parse_int("--eval-every", value, 1, 1000000, &v));
        o->eval_every = (int)v;
        break;
    case X_JSON: o->json = 1; break;
    case X_PROFILE: o->profile = 1; break;
    case X_SYNTHETIC: {
        char tail;
        if (sscanf(value, "%dx%dx%d%c", &o->syn_c, &o->syn_h, &o->syn_w, &tail) != 3 ||
            (o->syn_c != 1 && o->syn_c != 3) || o->syn_h < 1 || o->syn_h > 256 || o->syn_w < 1 || o->syn_w > 256)
            return cm_fail(CM_ERR_USAGE, "--synthetic '%s': expected CxHxW with C 1 or 3, H and W 1 to 256", value);
        break;
    }
    default: break;
    }
    return CM_OK;
}

static const char *feed_name(cm_feed_mode f) {
    return f == CM_FEED_RESIDENT ? "resident" : f == CM_FEED_STREAMED ? "streamed" : "auto";
}

/* ---- throughput -------------------------------------------------------------------------- */

typedef struct {
    int backend; /* index into the backends */
    int batch;
    cm_feed_mode feed;
    const char *feed_used; /* what the trainer chose */
    double ips[1000];      /* images/s of each run */
    int nruns;
    double median, min, max;
} tp_config;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Trains `warmup` untimed steps from epoch 0, then `steps` timed ones (starting new epochs as
 * needed), with the backend drained before and after the timed part; with `profile`, the drain
 * also clears the backend's profile so that it holds the timed steps only. */
static cm_status timed_steps(cm_trainer *t, cm_backend *b, int warmup, int steps, int profile, double *secs) {
    int per_epoch = trainer_steps_per_epoch(t), done = 0, epoch = 0;
    cm_status st = trainer_begin_epoch(t, epoch);
    double t0 = timer_now();
    for (int s = 0; st == CM_OK && s < warmup + steps; s++) {
        if (s == warmup) {
            st = profile ? backend_profile_reset(b) : backend_finish(b);
            t0 = timer_now();
        }
        if (st == CM_OK && done == per_epoch) {
            st = trainer_begin_epoch(t, ++epoch);
            done = 0;
        }
        if (st == CM_OK) st = trainer_step(t);
        done++;
    }
    if (st == CM_OK) st = backend_finish(b);
    *secs = timer_now() - t0;
    return st;
}

/* One timed run: a fresh trainer from the same initial weights, `warmup` untimed steps, then
 * `steps` timed ones, with the backend drained before and after the timed part. */
static cm_status throughput_run(cm_backend *b, const cm_dataset *ds, const cm_model *model, const cm_train_args *a,
                                const bench_opts *o, tp_config *c) {
    cm_train_config cfg = run_train_config(a);
    cfg.batch = c->batch;
    cfg.feed = c->feed;
    cm_trainer *t;
    CM_TRY(trainer_create(b, ds, model, &cfg, &t));
    c->feed_used = trainer_is_resident(t) ? "resident" : "streamed";
    double secs = 0.0;
    cm_status st = timed_steps(t, b, o->warmup, o->steps, 0, &secs);
    if (st == CM_OK) {
        cm_stats stats; /* the loss must still be finite: a diverged run would time garbage */
        st = trainer_train_stats(t, &stats);
    }
    trainer_destroy(t);
    CM_TRY(st);
    /* Every timed step is a full batch unless it was an epoch's last: close enough for a rate. */
    c->ips[c->nruns++] = (double)o->steps * c->batch / secs;
    return CM_OK;
}

/* ---- time to accuracy ---------------------------------------------------------------------- */

typedef struct {
    int reached;
    double accuracy, train_s, eval_s, epochs;
} tta_result;

static cm_status time_to_accuracy(cm_backend *b, const cm_dataset *ds, const cm_model *model, const cm_train_args *a,
                                  const bench_opts *o, tta_result *r) {
    cm_train_config cfg = run_train_config(a);
    cm_trainer *t;
    CM_TRY(trainer_create(b, ds, model, &cfg, &t));
    int per_epoch = trainer_steps_per_epoch(t);
    int every = o->eval_every ? o->eval_every : (per_epoch + 3) / 4;
    memset(r, 0, sizeof *r);
    cm_status st = CM_OK;
    cm_progress bar;
    progress_begin(&bar, stderr, "to accuracy");
    for (int e = 0; st == CM_OK && e < a->epochs && !r->reached; e++) {
        double t0 = timer_now();
        st = trainer_begin_epoch(t, e);
        for (int s = 0; st == CM_OK && s < per_epoch && !r->reached; s++) {
            st = trainer_step(t);
            if (st == CM_OK && ((s + 1) % every == 0 || s + 1 == per_epoch)) {
                st = backend_finish(b);
                double t1 = timer_now();
                r->train_s += t1 - t0;
                cm_stats ev = {0};
                if (st == CM_OK) st = trainer_evaluate(t, &ds->test, &ev);
                t0 = timer_now();
                r->eval_s += t0 - t1;
                r->accuracy = ev.accuracy;
                r->epochs = e + (s + 1.0) / per_epoch;
                r->reached = ev.accuracy >= o->to_accuracy;
            }
            char extra[64];
            snprintf(extra, sizeof extra, "test acc %.2f%%", 100.0 * r->accuracy);
            progress_update(&bar, (long)e * per_epoch + s + 1, (long)a->epochs * per_epoch, extra);
        }
    }
    progress_end(&bar);
    trainer_destroy(t);
    return st;
}

/* ---- per-kernel profile ------------------------------------------------------------------------ */

/* Trains `steps` steps (after `warmup`) on a backend of `kind` opened with profiling, and prints
 * where a step's time goes. A separate backend, so that profiling never slows the throughput runs. */
static cm_status profile_steps(const char *kind, const cm_train_args *a, const bench_opts *o, const cm_dataset *ds,
                               FILE *out, cJSON *jarr) {
    cm_backend_options bo = {.device = a->device, .threads = a->threads, .profile = true};
    cm_backend *b = NULL;
    cm_model model = {0};
    cm_trainer *t = NULL;
    cm_status st = backend_create(kind, &bo, &b);
    if (st == CM_OK) {
        size_t align = b->align_bytes > CM_PARAM_ALIGN_BYTES ? b->align_bytes : CM_PARAM_ALIGN_BYTES;
        st = run_init_model(a, ds, align, b, &model);
    }
    cm_train_config cfg = run_train_config(a);
    cfg.batch = o->batches[0];
    if (st == CM_OK) st = trainer_create(b, ds, &model, &cfg, &t);
    double wall = 0.0;
    if (st == CM_OK) st = timed_steps(t, b, o->warmup, o->steps, 1, &wall);
    cm_profile_entry e[64];
    int n = 0;
    if (st == CM_OK) st = backend_profile_read(b, e, 64, &n);
    if (st == CM_OK) bench_print_profile(b, e, n, o->steps, cfg.batch, wall, out, jarr);
    trainer_destroy(t);
    model_free(&model);
    backend_destroy(b);
    return st;
}

/* ---- the command --------------------------------------------------------------------------- */

/* Trains each backend until the test accuracy reaches o->to_accuracy (json "to_accuracy"). */
static cm_status tta_table(cm_backend **bk, cm_model *models, const cm_dataset *ds, const cm_train_args *a,
                           const bench_opts *o, double load_s, const double *setup_s, FILE *out, cJSON *jt) {
    fprintf(out, "time to %.2f%% test accuracy (batch %d, %d epochs planned):\n", 100.0 * o->to_accuracy, a->batch,
            a->epochs);
    for (int i = 0; i < o->nbackends; i++) {
        tta_result r;
        CM_TRY(time_to_accuracy(bk[i], ds, &models[i], a, o, &r));
        fprintf(out,
                "  %-7s %s after %.2f epochs: %.2f%%; data load %.2f s, backend setup %.2f s, training %.2f s "
                "(evaluation %.2f s not counted)\n",
                bk[i]->kind, r.reached ? "reached" : "NOT reached", r.epochs, 100.0 * r.accuracy, load_s, setup_s[i],
                r.train_s, r.eval_s);
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "backend", bk[i]->kind);
        cJSON_AddNumberToObject(j, "target", o->to_accuracy);
        cJSON_AddBoolToObject(j, "reached", r.reached);
        cJSON_AddNumberToObject(j, "accuracy", r.accuracy);
        cJSON_AddNumberToObject(j, "epochs", r.epochs);
        cJSON_AddNumberToObject(j, "data_load_s", load_s);
        cJSON_AddNumberToObject(j, "setup_s", setup_s[i]);
        cJSON_AddNumberToObject(j, "train_s", r.train_s);
        cJSON_AddNumberToObject(j, "eval_s", r.eval_s);
        cJSON_AddItemToArray(jt, j);
    }
    return CM_OK;
}

/* The throughput table of the finished runs (json "throughput"): median, min and max images/s of
 * each configuration; first_ips gets each backend's median at the first batch size. */
static void print_throughput(tp_config *cfgs, int ncfg, cm_backend **bk, const bench_opts *o, FILE *out, cJSON *root,
                             double *first_ips) {
    cJSON *jtp = cJSON_AddArrayToObject(root, "throughput");
    fprintf(out, "  %-7s %-9s %6s %10s %10s %10s  %s\n", "backend", "feed", "batch", "median", "min", "max",
            "images/s; device");
    for (int c = 0; c < ncfg; c++) {
        tp_config *k = &cfgs[c];
        qsort(k->ips, (size_t)k->nruns, sizeof(double), cmp_double);
        k->median = k->nruns % 2 ? k->ips[k->nruns / 2] : 0.5 * (k->ips[k->nruns / 2 - 1] + k->ips[k->nruns / 2]);
        k->min = k->ips[0];
        k->max = k->ips[k->nruns - 1];
        cm_backend *b = bk[k->backend];
        if (k->batch == o->batches[0] && first_ips[k->backend] == 0.0) first_ips[k->backend] = k->median;
        fprintf(out, "  %-7s %-9s %6d %10.0f %10.0f %10.0f  %s\n", b->kind, k->feed_used, k->batch, k->median, k->min,
                k->max, b->device_name);
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "backend", b->kind);
        cJSON_AddStringToObject(j, "device", b->device_name);
        cJSON_AddStringToObject(j, "feed", k->feed_used);
        cJSON_AddStringToObject(j, "feed_requested", feed_name(k->feed));
        cJSON_AddNumberToObject(j, "batch", k->batch);
        cJSON_AddNumberToObject(j, "images_per_s_median", k->median);
        cJSON_AddNumberToObject(j, "images_per_s_min", k->min);
        cJSON_AddNumberToObject(j, "images_per_s_max", k->max);
        cJSON_AddItemToObject(j, "images_per_s_runs", cJSON_CreateDoubleArray(k->ips, k->nruns));
        cJSON_AddItemToArray(jtp, j);
    }
}

/* Throughput: every configuration once per round, rounds repeated, so drift in a shared
 * machine's speed hits every configuration alike; prints the table (json "throughput") and gives
 * each backend's median images/s at the first batch size in first_ips. */
static cm_status throughput_table(cm_backend **bk, cm_model *models, const cm_dataset *ds, const cm_train_args *a,
                                  const bench_opts *o, const char *arch, FILE *out, cJSON *root, double *first_ips) {
    tp_config *cfgs = calloc(MAX_ITEMS * MAX_ITEMS * MAX_ITEMS, sizeof *cfgs);
    int ncfg = 0;
    cm_status st = cfgs ? CM_OK : cm_fail(CM_ERR_MEMORY, "out of host memory");
    for (int i = 0; st == CM_OK && i < o->nbackends; i++)
        for (int j = 0; j < o->nbatches; j++) {
            int is_host = !strcmp(bk[i]->kind, "host");
            for (int f = 0; f < (is_host ? 1 : o->nfeeds); f++)
                cfgs[ncfg++] =
                    (tp_config){.backend = i, .batch = o->batches[j], .feed = is_host ? CM_FEED_AUTO : o->feeds[f]};
        }
    if (st == CM_OK) {
        fprintf(out, "throughput: %s, %d runs of %d steps after %d warm-up steps, interleaved\n", arch, o->runs,
                o->steps, o->warmup);
        cm_progress bar;
        progress_begin(&bar, stderr, "throughput");
        for (int r = 0; st == CM_OK && r < o->runs; r++)
            for (int c = 0; st == CM_OK && c < ncfg; c++) {
                st = throughput_run(bk[cfgs[c].backend], ds, &models[cfgs[c].backend], a, o, &cfgs[c]);
                progress_update(&bar, (long)r * ncfg + c + 1, (long)o->runs * ncfg, "");
            }
        progress_end(&bar);
    }
    if (st == CM_OK)
        print_throughput(cfgs, ncfg, bk, o, out, root, first_ips);
    else
        cJSON_AddArrayToObject(root, "throughput");
    free(cfgs);

    return st;
}

static cm_status bench(const cm_train_args *a, const bench_opts *o, cJSON *root) {
    cm_dataset ds;
    double t0 = timer_now();
    if (o->syn_c) { /* CIFAR-10's sizes; colour as three copies of the grey pattern (speed, not accuracy) */
        CM_TRY(dataset_synthetic(&ds, 50000, 10000, o->syn_h, o->syn_w, 10, a->seed));
        cm_status st = o->syn_c == 3 ? dataset_set_channels(&ds, 3) : CM_OK;
        if (st != CM_OK) dataset_free(&ds);
        CM_TRY(st);
    } else {
        CM_TRY(run_load_data(a, &ds));
    }
    double load_s = timer_now() - t0;
    cJSON_AddNumberToObject(root, "data_load_s", load_s);

    cm_backend *bk[MAX_ITEMS] = {0};
    cm_model models[MAX_ITEMS];
    double setup_s[MAX_ITEMS];
    memset(models, 0, sizeof models);
    cm_status st = CM_OK;
    for (int i = 0; st == CM_OK && i < o->nbackends; i++) {
        cm_backend_options bo = {.device = a->device, .threads = a->threads};
        t0 = timer_now();
        st = backend_create(o->backends[i], &bo, &bk[i]);
        setup_s[i] = timer_now() - t0;
        if (st == CM_OK && !strcmp(bk[i]->kind, "device"))
            fprintf(o->json ? stderr : stdout, "device GEMM: %s%s\n", bk[i]->tuning[0] ? "tuned parameters from " : "",
                    bk[i]->tuning[0] ? bk[i]->tuning : "CLBlast's default parameters (run 'clmnist tune')");
        if (st == CM_OK) {
            size_t align = bk[i]->align_bytes > CM_PARAM_ALIGN_BYTES ? bk[i]->align_bytes : CM_PARAM_ALIGN_BYTES;
            st = run_init_model(a, &ds, align, bk[i], &models[i]);
        }
    }
    FILE *out = o->json ? stderr : stdout;
    char arch[CM_ARCH_TEXT] = "";
    if (st == CM_OK) model_describe(&models[0].layout, arch, sizeof arch);
    cJSON_AddStringToObject(root, "model", arch);

    double first_ips[MAX_ITEMS] = {0}; /* per backend: median images/s at the first batch size */
    if (st == CM_OK)
        st = throughput_table(bk, models, &ds, a, o, arch, out, root, first_ips);
    else
        cJSON_AddArrayToObject(root, "throughput");

    /* GEMM GFLOP/s of the model's shapes at the first batch size, and the limit they set. */
    cJSON *jg = cJSON_AddArrayToObject(root, "gemm");
    if (st == CM_OK && o->gemm)
        st = bench_gemm_table(bk, o->nbackends, o->batches[0], &models[0].layout, first_ips, out, jg, root);

    cJSON *jprof = o->profile ? cJSON_AddArrayToObject(root, "profile") : NULL;
    for (int i = 0; st == CM_OK && o->profile && i < o->nbackends; i++)
        st = profile_steps(o->backends[i], a, o, &ds, out, jprof);

    /* Time to accuracy with the training options as given. */
    cJSON *jt = cJSON_AddArrayToObject(root, "to_accuracy");
    if (st == CM_OK && o->to_accuracy > 0.0) st = tta_table(bk, models, &ds, a, o, load_s, setup_s, out, jt);

    /* Memory and setup. */
    double proc_peak = bench_hwm_mib();
    cJSON_AddNumberToObject(root, "peak_host_rss_mib", proc_peak);
    cJSON *jb = cJSON_AddArrayToObject(root, "backends");
    if (st == CM_OK) st = bench_memory_table(bk, models, &ds, a, o->nbackends, o->memory, setup_s, proc_peak, out, jb);
    for (int i = 0; i < o->nbackends; i++) {
        model_free(&models[i]);
        backend_destroy(bk[i]);
    }
    dataset_free(&ds);
    return st;
}

cm_status cmd_bench(int argc, char **argv) {
    bench_opts o = {.steps = 50, .warmup = 5, .runs = 5, .gemm = 1, .memory = 1};
    o.backends[0] = "device";
    o.backends[1] = "host";
    o.nbackends = 2;
    o.batches[0] = 128;
    o.batches[1] = 512;
    o.nbatches = 2;
    o.feeds[0] = CM_FEED_RESIDENT;
    o.feeds[1] = CM_FEED_STREAMED;
    o.nfeeds = 2;
    cm_command_info info = {
        "bench",     CM_CMD_BENCH,
        NULL,        "Measures training throughput, GEMM GFLOP/s, time to accuracy and memory for each backend.",
        bench_extra, on_extra,
        &o,          0};
    cm_train_args a;
    int help;
    CM_TRY(cli_parse(argc, argv, &info, &a, &help, NULL));
    if (help) return CM_OK;
    if (dist_world()->size > 1) /* under mpirun: the data-parallel step's profile alone */
        return bench_dist_profile(&a, o.backends[0], o.batches[0], o.warmup, o.steps, o.profile);
    if (o.json) a.info = stderr;
    for (int i = 0; i < o.nbackends; i++) /* before the data: a backend that cannot open */
        CM_TRY(preflight_backend(o.backends[i], a.device, 0, NULL));
    cJSON *root = cJSON_CreateObject();
    if (!root) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    cm_status st = bench(&a, &o, root);
    if (st == CM_OK && o.json) {
        char *text = cJSON_Print(root);
        if (text) printf("%s\n", text);
        free(text);
    }
    cJSON_Delete(root);
    return st;
}
