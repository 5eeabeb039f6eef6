/* doctor.h: the checks of `clmnist doctor`: the OpenCL platforms and ICD files, the kernels on
 * every device, CLBlast's GEMM against the host GEMM, the GEMM tuning cache, memory for the
 * default model, host BLAS and threads, the data, and a smoke train on host and device that must
 * agree. Each check's result goes to a callback; the tool prints them (lines or JSON). */
#ifndef CLMNIST_DOCTOR_H
#define CLMNIST_DOCTOR_H
#include "run_options.h"

#define DOCTOR_SMOKE_STEPS 50 /* the smoke train's steps */

typedef enum { DOCTOR_OK, DOCTOR_WARN, DOCTOR_FAIL } doctor_level;

/* One check's result: its name ("opencl", "device #0", "smoke train"), what it found, the fix
 * when not ok (or NULL), and an OpenCL build log (or NULL). */
typedef struct {
    doctor_level level;
    const char *name, *detail, *fix, *log;
} doctor_check;

typedef struct {
    const char *device;   /* --device: the device the device checks use (NULL: the default) */
    const char *data_dir; /* the data the checks load (a synthetic stand-in when it does not load) */
    void (*report)(void *ctx, const doctor_check *c);
    void *ctx;
} doctor_options;

/* Runs every check in order with a's recipe (the fast preset, as `train` with no flags),
 * reporting each. An error is returned only when the checks cannot go on (no memory for the
 * data); a failed check is a report, not an error. */
cm_status diag_doctor_run(const doctor_options *o, const cm_train_args *a);

#endif
