/* bench_mem.h: `bench`'s memory check (bench_mem.c). */
#ifndef CLMNIST_BENCH_MEM_H
#define CLMNIST_BENCH_MEM_H
#include <cjson/cJSON.h>
#include <stdio.h>

#include "run_options.h"
#include "trainer.h"

#define BENCH_MEM_EPOCHS 6      /* short epochs per backend */
#define BENCH_MEM_STEPS 24      /* batches in each */
#define BENCH_MEM_SLACK_MIB 4.0 /* allowed RSS growth from the 2nd epoch's end to the last's */

typedef struct {
    double rss_mib[BENCH_MEM_EPOCHS]; /* VmRSS after each epoch (and its evaluation) */
    double peak_mib;                  /* VmHWM after the run */
    double growth_mib;                /* rss after the last epoch minus after the second */
    int hwm_reset;                    /* 1: VmHWM was reset before the run (peak is this backend's) */
} bench_mem;

/* The process's resident memory now and at its peak (MiB), -1 where /proc cannot say. */
double bench_rss_mib(void);
double bench_hwm_mib(void);

/* Trains BENCH_MEM_EPOCHS epochs of BENCH_MEM_STEPS batches on b (each followed by an evaluation
 * of at most 1,000 test images) and fails with CM_ERR_MEMORY when the RSS grew by more than
 * BENCH_MEM_SLACK_MIB from the second epoch's end to the last's. */
cm_status bench_memory_run(cm_backend *b, const cm_dataset *ds, const cm_model *model, const cm_train_config *cfg,
                           bench_mem *r);

/* Prints each of the nbk backends' peak buffers and setup time and, with run, its memory run
 * (bench_memory_run: models[i] on bk[i], the training options of a): RSS per epoch, growth, peak
 * RSS (json array jb, one object per backend); proc_peak: the process's peak RSS before. */
cm_status bench_memory_table(cm_backend **bk, cm_model *models, const cm_dataset *ds, const cm_train_args *a, int nbk,
                             int run, const double *setup_s, double proc_peak, FILE *out, cJSON *jb);
#endif
