/* cl_runtime.c: enumerate OpenCL platforms and devices, and pick one by index or name. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_util.h"

#define NO_DEVICE_ADVICE                                                                                               \
    "install the OpenCL loader and a driver (Debian: 'apt-get install ocl-icd-libopencl1 pocl-opencl-icd' for the "    \
    "CPU, or ocl-icd-libopencl1 and your GPU vendor's OpenCL driver); --backend host works without OpenCL"

const char *cl_device_type_name(cl_device_type type) {
    if (type & CL_DEVICE_TYPE_GPU) return "GPU";
    if (type & CL_DEVICE_TYPE_CPU) return "CPU";
    if (type & CL_DEVICE_TYPE_ACCELERATOR) return "accelerator";
    return "other";
}

static void trim(char *s) {
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    size_t lead = strspn(s, " \t");
    if (lead) memmove(s, s + lead, n - lead + 1);
}

static cm_status describe(cl_platform_id p, cl_device_id d, int index, cl_device_desc *o) {
    memset(o, 0, sizeof *o);
    o->index = index;
    o->platform = p;
    o->device = d;
    CL_CHECK(clGetPlatformInfo(p, CL_PLATFORM_NAME, sizeof o->platform_name - 1, o->platform_name, NULL));
    CL_CHECK(clGetDeviceInfo(d, CL_DEVICE_NAME, sizeof o->device_name - 1, o->device_name, NULL));
    CL_CHECK(clGetDeviceInfo(d, CL_DEVICE_VENDOR, sizeof o->vendor - 1, o->vendor, NULL));
    CL_CHECK(clGetDeviceInfo(d, CL_DRIVER_VERSION, sizeof o->driver_version - 1, o->driver_version, NULL));
    CL_CHECK(clGetDeviceInfo(d, CL_DEVICE_OPENCL_C_VERSION, sizeof o->c_version - 1, o->c_version, NULL));
    CL_CHECK(clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof o->type, &o->type, NULL));
    CL_CHECK(clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof o->compute_units, &o->compute_units, NULL));
    CL_CHECK(clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof o->global_mem, &o->global_mem, NULL));
    CL_CHECK(clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof o->max_alloc, &o->max_alloc, NULL));
    CL_CHECK(clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof o->max_work_group, &o->max_work_group, NULL));
    trim(o->platform_name);
    trim(o->device_name);
    return CM_OK;
}

cm_status cl_list_devices(cl_device_desc **out, int *count) {
    *out = NULL;
    *count = 0;
    cl_uint np = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &np);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || (err == CL_SUCCESS && np == 0))
        return cm_fail(CM_ERR_DEVICE, "no OpenCL platform found: " NO_DEVICE_ADVICE);
    CL_CHECK(err);
    cl_platform_id *plats = calloc(np, sizeof *plats);
    if (!plats) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    cm_status st = CM_OK;
    cl_device_desc *list = NULL;
    int n = 0;
    err = clGetPlatformIDs(np, plats, NULL);
    if (err != CL_SUCCESS) {
        st = cl_fail_call(err, "clGetPlatformIDs", __FILE__, __LINE__);
        goto done;
    }
    for (cl_uint p = 0; p < np; p++) {
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS || nd == 0) continue;
        cl_device_id *devs = calloc(nd, sizeof *devs);
        cl_device_desc *grown = realloc(list, sizeof *list * (size_t)(n + (int)nd));
        if (!devs || !grown) {
            free(devs);
            if (grown) list = grown;
            st = cm_fail(CM_ERR_MEMORY, "out of host memory");
            goto done;
        }
        list = grown;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, nd, devs, NULL) == CL_SUCCESS) {
            for (cl_uint d = 0; d < nd && st == CM_OK; d++) {
                st = describe(plats[p], devs[d], n, &list[n]);
                if (st == CM_OK) n++;
            }
        }
        free(devs);
        if (st != CM_OK) goto done;
    }
    if (n == 0) st = cm_fail(CM_ERR_DEVICE, "OpenCL platforms found but no devices: " NO_DEVICE_ADVICE);
done:
    free(plats);
    if (st != CM_OK) {
        free(list);
        return st;
    }
    *out = list;
    *count = n;
    return CM_OK;
}

static int contains_ci(const char *hay, const char *needle) {
    size_t hn = strlen(hay), nn = strlen(needle);
    for (size_t i = 0; i + nn <= hn; i++) {
        size_t j = 0;
        while (j < nn && tolower((unsigned char)hay[i + j]) == tolower((unsigned char)needle[j]))
            j++;
        if (j == nn) return 1;
    }
    return 0;
}

cm_status cl_select_device(const char *selector, int slot, cl_device_desc *out) {
    const char *source = "--device";
    if (!selector || !*selector) {
        selector = getenv("CLMNIST_DEVICE");
        source = "CLMNIST_DEVICE";
        if (selector && !*selector) selector = NULL;
    }
    cl_device_desc *list;
    int n;
    CM_TRY(cl_list_devices(&list, &n));
    int pick = -1;
    if (!selector) {
        int gpus = 0;
        for (int i = 0; i < n; i++)
            gpus += (list[i].type & CL_DEVICE_TYPE_GPU) != 0;
        for (int i = 0, g = 0; i < n && pick < 0; i++)
            if ((list[i].type & CL_DEVICE_TYPE_GPU) && g++ == (slot > 0 ? slot : 0) % (gpus ? gpus : 1)) pick = i;
        if (pick < 0) pick = 0;
    } else {
        char *end;
        long v = strtol(selector, &end, 10);
        if (*selector && *end == '\0') {
            if (v < 0 || v >= n) {
                free(list);
                return cm_fail(CM_ERR_DEVICE, "%s %s: no such device (%d device%s; see 'clmnist devices')", source,
                               selector, n, n == 1 ? "" : "s");
            }
            pick = (int)v;
        } else {
            for (int i = 0; i < n && pick < 0; i++) {
                char full[400];
                snprintf(full, sizeof full, "%s %s", list[i].platform_name, list[i].device_name);
                if (contains_ci(full, selector)) pick = i;
            }
            if (pick < 0) {
                free(list);
                return cm_fail(CM_ERR_DEVICE, "%s '%s': no OpenCL device matches (see 'clmnist devices' for the list)",
                               source, selector);
            }
        }
    }
    *out = list[pick];
    free(list);
    return CM_OK;
}
