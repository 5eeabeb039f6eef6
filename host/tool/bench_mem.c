/* bench_mem.c: `bench`'s memory table: per backend, a few short epochs of training with an
 * evaluation after each, the process's resident memory after every epoch (it must not grow) and
 * its peak while that backend trained (VmRSS and VmHWM of /proc/self/status). */
#include "bench_mem.h"

#include <stdio.h>
#include <string.h>

/* AddressSanitizer keeps freed memory in its quarantine (up to 256 MiB), so resident memory grows
 * under it whatever the code does: a sanitized build reports the growth without failing on it
 * (LeakSanitizer checks for leaks there). */
#if defined(__SANITIZE_ADDRESS__)
#define BENCH_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BENCH_SANITIZED 1
#endif
#endif
#ifndef BENCH_SANITIZED
#define BENCH_SANITIZED 0
#endif

/* A field of /proc/self/status in KiB ("VmRSS", "VmHWM"); -1 where it cannot be read. */
static long status_kib(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (v < 0 && fgets(line, sizeof line, f))
        if (!strncmp(line, field, n) && line[n] == ':') sscanf(line + n + 1, "%ld", &v);
    fclose(f);
    return v;
}

double bench_rss_mib(void) {
    long k = status_kib("VmRSS");
    return k < 0 ? -1.0 : (double)k / 1024.0;
}

double bench_hwm_mib(void) {
    long k = status_kib("VmHWM");
    return k < 0 ? -1.0 : (double)k / 1024.0;
}

/* Resets VmHWM to the current RSS (Linux >= 4.0: "5" into clear_refs); 0 where it cannot. */
static int reset_hwm(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return 0;
    int ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

/* One epoch over the small training split, then an evaluation of the small test split. */
static cm_status epoch(cm_trainer *t, const cm_split *test, int e) {
    int steps = trainer_steps_per_epoch(t);
    CM_TRY(trainer_begin_epoch(t, e));
    for (int s = 0; s < steps; s++)
        CM_TRY(trainer_step(t));
    cm_stats st, ev;
    CM_TRY(trainer_end_epoch(t, &st));
    return trainer_evaluate(t, test, &ev);
}

cm_status bench_memory_run(cm_backend *b, const cm_dataset *ds, const cm_model *model, const cm_train_config *cfg,
                           bench_mem *r) {
    /* A view of the data small enough that an epoch takes a moment: BENCH_MEM_STEPS batches. */
    cm_dataset small = *ds;
    int cap = BENCH_MEM_STEPS * cfg->batch;
    if (small.train.count > cap) small.train.count = cap;
    if (small.test.count > 1000) small.test.count = 1000;
    small.train.borrowed = small.test.borrowed = 1;
    memset(r, 0, sizeof *r);
    r->hwm_reset = reset_hwm();
    cm_trainer *t;
    CM_TRY(trainer_create(b, &small, model, cfg, &t));
    cm_status st = CM_OK;
    for (int e = 0; st == CM_OK && e < BENCH_MEM_EPOCHS; e++) {
        st = epoch(t, &small.test, e);
        r->rss_mib[e] = bench_rss_mib();
    }
    trainer_destroy(t);
    CM_TRY(st);
    r->peak_mib = bench_hwm_mib();
    /* Growth from the end of the second epoch (the first may still fill pools and caches). */
    r->growth_mib = r->rss_mib[BENCH_MEM_EPOCHS - 1] - r->rss_mib[1];
    if (r->rss_mib[1] >= 0.0 && r->growth_mib > BENCH_MEM_SLACK_MIB && !BENCH_SANITIZED)
        return cm_fail(CM_ERR_MEMORY,
                       "bench: %s backend: resident memory grew by %.1f MiB over %d epochs (%.1f -> %.1f MiB): a leak",
                       b->kind, r->growth_mib, BENCH_MEM_EPOCHS - 2, r->rss_mib[1], r->rss_mib[BENCH_MEM_EPOCHS - 1]);
    return CM_OK;
}

/* Each backend's peak buffers and setup time, and its memory run (bench_mem.h): resident memory
 * after each short epoch, which must not grow, and its peak (json "backends"). proc_peak: the
 * process's peak RSS before the memory runs (they reset the kernel's high-water mark). */
cm_status bench_memory_table(cm_backend **bk, cm_model *models, const cm_dataset *ds, const cm_train_args *a, int nbk,
                             int run, const double *setup_s, double proc_peak, FILE *out, cJSON *jb) {
    fprintf(out, "memory: peak host RSS %.1f MiB so far", proc_peak);
    if (run) fprintf(out, "; per backend, %d epochs of %d batches, each evaluated", BENCH_MEM_EPOCHS, BENCH_MEM_STEPS);
    fprintf(out, ":\n");
    cm_train_config cfg = run_train_config(a);
    for (int i = 0; i < nbk; i++) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddItemToArray(jb, j);
        cJSON_AddStringToObject(j, "backend", bk[i]->kind);
        cJSON_AddStringToObject(j, "device", bk[i]->device_name);
        cJSON_AddNumberToObject(j, "setup_s", setup_s[i]);
        cJSON_AddNumberToObject(j, "peak_buffer_bytes", (double)bk[i]->bytes_peak);
        fprintf(out, "  %-7s %s: ", bk[i]->kind, bk[i]->device_name);
        if (run) {
            bench_mem m;
            CM_TRY(bench_memory_run(bk[i], ds, &models[i], &cfg, &m));
            fprintf(out,
                    "RSS %.1f MiB after epoch 2, %.1f after epoch %d (growth %+.1f MiB, limit %.0f%s), peak RSS %.1f "
                    "MiB%s; ",
                    m.rss_mib[1], m.rss_mib[BENCH_MEM_EPOCHS - 1], BENCH_MEM_EPOCHS, m.growth_mib, BENCH_MEM_SLACK_MIB,
                    BENCH_SANITIZED ? ", not enforced under AddressSanitizer" : "", m.peak_mib,
                    m.hwm_reset ? "" : " (of the process so far)");
            cJSON_AddItemToObject(j, "rss_mib_per_epoch", cJSON_CreateDoubleArray(m.rss_mib, BENCH_MEM_EPOCHS));
            cJSON_AddNumberToObject(j, "rss_growth_mib", m.growth_mib);
            cJSON_AddNumberToObject(j, "peak_rss_mib", m.peak_mib);
        }
        fprintf(out, "peak backend buffers %.1f MiB; setup (incl. kernel build) %.2f s\n",
                (double)bk[i]->bytes_peak / 1048576.0, setup_s[i]);
    }
    return CM_OK;
}
