/* cl_check.c: the ICD files the OpenCL loader reads, and the embedded kernels built on one
 * device as the device backend builds them, naming the file at fault (cl_check.h). */
#include "cl_check.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "device_internal.h"

/* "name (library)": an ICD file names the vendor library on its first line. */
static void describe_icd(const char *path, const char *name, char *out, size_t size) {
    char lib[256] = "";
    FILE *f = fopen(path, "r");
    if (f && fgets(lib, sizeof lib, f)) lib[strcspn(lib, "\r\n")] = '\0';
    if (f) fclose(f);
    snprintf(out, size, "%s (%s)", name, lib[0] ? lib : "unreadable");
}

static int by_name(const void *a, const void *b) {
    return strcmp((const char *)a, (const char *)b);
}

int cl_icd_files(char *where, size_t where_size, char (*names)[300], int max) {
    const char *env = getenv("OCL_ICD_VENDORS");
    int from_env = env && *env;
    const char *dir = from_env ? env : CL_ICD_DEFAULT_DIR;
    snprintf(where, where_size, "%s%s", dir, from_env ? " ($OCL_ICD_VENDORS)" : "");
    struct stat sb;
    if (stat(dir, &sb) != 0) return -1;
    if (!S_ISDIR(sb.st_mode)) { /* OCL_ICD_VENDORS may name one ICD file */
        const char *base = strrchr(dir, '/');
        if (max > 0) describe_icd(dir, base ? base + 1 : dir, names[0], sizeof names[0]);
        return 1;
    }
    DIR *dp = opendir(dir);
    if (!dp) return -1;
    int n = 0;
    for (struct dirent *e = readdir(dp); e; e = readdir(dp)) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".icd") != 0) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (n < max) describe_icd(path, e->d_name, names[n], sizeof names[n]);
        n++;
    }
    closedir(dp);
    qsort(names, (size_t)(n < max ? n : max), sizeof names[0], by_name);
    return n;
}

cm_status cl_platform_count(unsigned *count) {
    cl_uint n = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &n);
    *count = 0;
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR: no ICD loads */) return CM_OK;
    CL_CHECK(err);
    *count = n;
    return CM_OK;
}

static char *build_log(cl_program prog, cl_device_id dev) {
    size_t len = 0;
    if (clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &len) != CL_SUCCESS) return NULL;
    char *log = malloc(len + 1);
    if (log && clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, len, log, NULL) != CL_SUCCESS) len = 0;
    if (log) log[len] = '\0';
    return log;
}

/* Builds n sources quietly: *err gets clBuildProgram's status (CL_SUCCESS when the program could
 * not even be created), *log (replacing what it held) its log on a failure; *out the program. */
static cm_status build(cl_context ctx, cl_device_id dev, const char **srcs, const size_t *lens, cl_uint n,
                       cl_program *out, cl_int *err, char **log) {
    *out = NULL;
    *err = CL_SUCCESS;
    cl_int created;
    cl_program prog = clCreateProgramWithSource(ctx, n, srcs, lens, &created);
    CL_CHECK(created);
    *err = clBuildProgram(prog, 1, &dev, CL_BUILD_OPTIONS, NULL, NULL);
    if (*err == CL_SUCCESS) {
        *out = prog;
        return CM_OK;
    }
    free(*log);
    *log = build_log(prog, dev);
    clReleaseProgram(prog);
    return CM_ERR_DEVICE;
}

/* After the whole program failed: the first source that fails with sources[0] alone (or
 * sources[0] itself). */
static cm_status find_culprit(cl_context ctx, const cl_device_desc *d, const cm_kernel_source *s, size_t count,
                              cl_int whole, char **log) {
    for (size_t i = 0; i < count; i++) {
        const char *srcs[2] = {s[0].text, s[i].text};
        size_t lens[2] = {s[0].length, s[i].length};
        cl_program prog;
        cl_int err;
        char *own = NULL;
        cm_status st = build(ctx, d->device, srcs, lens, i ? 2 : 1, &prog, &err, &own);
        if (prog) clReleaseProgram(prog);
        if (st == CM_OK) continue;
        free(*log);
        *log = own;
        if (err == CL_SUCCESS) return st; /* clCreateProgramWithSource failed: its message stands */
        return cm_fail(CM_ERR_DEVICE, "kernels/%s does not build for '%s': %s", s[i].name, d->device_name,
                       cl_status_name(err));
    }
    return cm_fail(CM_ERR_DEVICE, "the kernels build one file at a time but not together for '%s': %s", d->device_name,
                   cl_status_name(whole));
}

cm_status cl_check_program(const cl_device_desc *d, const cm_kernel_source *sources, size_t count,
                           const char *const *kernels, int nkernels, int *created, char **log) {
    *created = 0;
    *log = NULL;
    const char *srcs[64];
    size_t lens[64];
    if (count == 0 || count > 64) return cm_fail(CM_ERR_USAGE, "%zu kernel sources: expected 1 to 64", count);
    for (size_t i = 0; i < count; i++) {
        srcs[i] = sources[i].text;
        lens[i] = sources[i].length;
    }
    cl_int err;
    cl_context ctx = clCreateContext(NULL, 1, &d->device, NULL, NULL, &err);
    CL_CHECK(err);
    cl_program prog = NULL;
    cm_status st = build(ctx, d->device, srcs, lens, (cl_uint)count, &prog, &err, log);
    if (st != CM_OK && err != CL_SUCCESS) st = find_culprit(ctx, d, sources, count, err, log);
    for (int i = 0; st == CM_OK && i < nkernels; i++) {
        cl_kernel k = clCreateKernel(prog, kernels[i], &err);
        if (err != CL_SUCCESS)
            st = cm_fail(CM_ERR_DEVICE, "kernel '%s' is missing from the program built for '%s': %s", kernels[i],
                         d->device_name, cl_status_name(err));
        else
            clReleaseKernel(k);
        *created += err == CL_SUCCESS;
    }
    if (prog) clReleaseProgram(prog);
    clReleaseContext(ctx);
    return st;
}

cm_status cl_check_kernels(const cl_device_desc *d, int *created, char **log) {
    return cl_check_program(d, cm_kernel_sources, cm_kernel_source_count, device_kernel_names, K_COUNT, created, log);
}
