/* cmd_doctor.c: `clmnist doctor`: checks this machine for clmnist and says what to fix. One line
 * per check (ok, warn or fail, and a fix when not ok), or one JSON object with --json; exit
 * status 1 when any check fails. The checks are the library's (host/diag/doctor.c); this file
 * parses the options and prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "clmnist_version.h"
#include "commands.h"
#include "doctor.h"

enum { OK = DOCTOR_OK, WARN = DOCTOR_WARN, FAIL = DOCTOR_FAIL };
static const char *const level_names[] = {"ok", "warn", "fail"};

typedef struct {
    int json;
    const char *device, *data_dir;
    cJSON *checks; /* --json: the array of checks */
    int count[3];
} doctor;

/* One check's result: a line now, or an object in the JSON array; log (a build log) goes to
 * stderr in text mode. */
static void report(void *ctx, const doctor_check *ck) {
    doctor *d = ctx;
    int lv = (int)ck->level;
    const char *name = ck->name, *detail = ck->detail, *fix = ck->fix, *log = ck->log;
    d->count[lv]++;
    if (!d->json) {
        if (log && *log) fprintf(stderr, "---- OpenCL build log ----\n%s\n---- end of build log ----\n", log);
        printf("%-4s  %-14s %s%s%s\n", level_names[lv], name, detail, fix && lv != OK ? "; fix: " : "",
               fix && lv != OK ? fix : "");
        return;
    }
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "name", name);
    cJSON_AddStringToObject(c, "status", level_names[lv]);
    cJSON_AddStringToObject(c, "detail", detail);
    if (fix && lv != OK) cJSON_AddStringToObject(c, "fix", fix);
    if (log && *log) cJSON_AddStringToObject(c, "log", log);
    cJSON_AddItemToArray(d->checks, c);
}

static const cm_extra_option doctor_extra[] = {
    {"json", 0,
     "  --json            print one JSON object: {\"ok\": bool, \"counts\": {ok, warn, fail},\n"
     "                    \"checks\": [{name, status, detail, fix (when not ok), log}]}\n"},
    {NULL, 0, NULL}};

static cm_status on_extra(void *ctx, int index, const char *value) {
    ((doctor *)ctx)->json = 1; /* --json */
    return CM_OK;
}

#define STR_(x) #x
#define STR(x) STR_(x)

static cm_status finish(doctor *d) {
    if (d->json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "clmnist_version", CLMNIST_VERSION);
        cJSON_AddBoolToObject(root, "ok", d->count[FAIL] == 0);
        cJSON *counts = cJSON_AddObjectToObject(root, "counts");
        for (int i = 0; i < 3; i++)
            cJSON_AddNumberToObject(counts, level_names[i], d->count[i]);
        cJSON_AddItemToObject(root, "checks", d->checks);
        char *text = cJSON_Print(root);
        if (text) printf("%s\n", text);
        free(text);
        cJSON_Delete(root);
    } else {
        printf("summary: %d ok, %d warn, %d fail\n", d->count[OK], d->count[WARN], d->count[FAIL]);
    }
    if (d->count[FAIL])
        return cm_fail(CM_ERR_DEVICE, "doctor: %d check%s failed (the fix is on %s line)", d->count[FAIL],
                       d->count[FAIL] == 1 ? "" : "s", d->count[FAIL] == 1 ? "its" : "each");
    return CM_OK;
}

cm_status cmd_doctor(int argc, char **argv) {
    doctor d = {0};
    const cm_command_info info = {
        "doctor",
        CM_CMD_DOCTOR,
        NULL,
        "Checks this machine for clmnist and says what to fix, one line per check (ok, warn or fail):\n"
        "OpenCL platforms and ICD files, the kernels on every device, CLBlast's GEMM against the host\n"
        "GEMM, the GEMM tuning cache, memory for the default model, host BLAS and threads, the data,\n"
        "and a " STR(DOCTOR_SMOKE_STEPS) "-step smoke train on host and device that must agree. Exit status 1 if any "
                                         "fails.",
        doctor_extra,
        on_extra,
        &d,
        0};
    cm_train_args a; /* the fast preset, as `train` with no flags, and --data, --device */
    int help = 0;
    CM_TRY(cli_parse(argc, argv, &info, &a, &help, NULL));
    if (help) return CM_OK;
    d.device = a.device;
    d.data_dir = a.data_dir;
    if (d.json && !(d.checks = cJSON_CreateArray())) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    if (!d.json) printf("clmnist %s doctor\n", CLMNIST_VERSION);
    doctor_options o = {d.device, d.data_dir, report, &d};
    cm_status st = diag_doctor_run(&o, &a);
    if (st != CM_OK) {
        cJSON_Delete(d.checks);
        return st;
    }
    return finish(&d);
}
