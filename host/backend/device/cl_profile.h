/* cl_profile.h: OpenCL event profiling for `bench --profile`: records the events of enqueued
 * commands under a label (a kernel name, a GEMM shape, a transfer) and sums their device time
 * per label. The queues must have been created with CL_QUEUE_PROFILING_ENABLE. */
#ifndef CLMNIST_CL_PROFILE_H
#define CLMNIST_CL_PROFILE_H
#include <CL/cl.h>

#include "backend.h"

typedef struct cl_profile cl_profile;

cm_status cl_profile_create(cl_profile **out);
void cl_profile_destroy(cl_profile *p);
/* Drops everything recorded so far (pending events are released). */
void cl_profile_reset(cl_profile *p);
/* Records one command and takes over the reference to its event(s). Its time is end's
 * CL_PROFILING_COMMAND_START..END, or, when `start` is given (a marker enqueued just before a
 * library call that launches several kernels), start's END..end's END. */
cm_status cl_profile_add(cl_profile *p, const char *label, cl_event start, cl_event end);
/* Records one host-side stretch of `seconds` (a blocking call), with no event. */
void cl_profile_add_host(cl_profile *p, const char *label, double seconds);
/* Waits for the pending events and reports the totals per label, in order of first use. */
cm_status cl_profile_read(cl_profile *p, cm_profile_entry *out, int max, int *n);

#endif
