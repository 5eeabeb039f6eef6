/* cl_util.h: OpenCL/CLBlast status names, the CL_CHECK macro, and device enumeration. */
#ifndef CLMNIST_CL_UTIL_H
#define CLMNIST_CL_UTIL_H
#include <CL/cl.h>
#include <clblast_c.h>
#include <stddef.h>

#include "status.h"

const char *cl_status_name(cl_int status);
const char *clblast_status_name(CLBlastStatusCode status);

/* Records "<call> failed: <NAME> (<code>) at file:line" and returns the matching cm_status
 * (CM_ERR_MEMORY for the out-of-memory codes, CM_ERR_DEVICE otherwise). */
cm_status cl_fail_call(cl_int status, const char *call, const char *file, int line);
cm_status clblast_fail_call(CLBlastStatusCode status, const char *call, const char *file, int line);

#define CL_CHECK(call)                                                                                                 \
    do {                                                                                                               \
        cl_int cl_check_status_ = (call);                                                                              \
        if (cl_check_status_ != CL_SUCCESS) return cl_fail_call(cl_check_status_, #call, __FILE__, __LINE__);          \
    } while (0)

#define CLBLAST_CHECK(call)                                                                                            \
    do {                                                                                                               \
        CLBlastStatusCode clblast_check_status_ = (call);                                                              \
        if (clblast_check_status_ != CLBlastSuccess)                                                                   \
            return clblast_fail_call(clblast_check_status_, #call, __FILE__, __LINE__);                                \
    } while (0)

typedef struct {
    int index;
    cl_platform_id platform;
    cl_device_id device;
    cl_device_type type;
    char platform_name[128];
    char device_name[256];
    char vendor[128];
    char driver_version[64];
    char c_version[64];
    cl_uint compute_units;
    cl_ulong global_mem;
    cl_ulong max_alloc;
    size_t max_work_group;
} cl_device_desc;

/* All devices of all platforms, numbered in order. Fails with advice when there are none. */
cm_status cl_list_devices(cl_device_desc **out, int *count);
/* selector: NULL (then $CLMNIST_DEVICE, else GPU number `slot` modulo the GPUs' count (slot 0:
 * the first GPU; under MPI, the rank's place on its node), else device 0), an index, or a
 * case-insensitive substring of "platform device". */
cm_status cl_select_device(const char *selector, int slot, cl_device_desc *out);
const char *cl_device_type_name(cl_device_type type);

/* What every kernel program is built with. */
#define CL_BUILD_OPTIONS "-cl-std=CL1.2"

/* Builds `count` sources (concatenated in order) for one device. On a build failure the full
 * build log goes to stderr and the error names the device; *out is NULL then. */
cm_status cl_build_program(cl_context ctx, cl_device_id dev, const char *device_name, const char **sources,
                           const size_t *lengths, cl_uint count, const char *options, cl_program *out);

#endif
