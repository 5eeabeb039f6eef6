/* cl_profile.c: sums OpenCL event times per label (see cl_profile.h). Events are kept until
 * 1024 are pending, then folded into the totals, so a long profile holds little memory. */
#include "cl_profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_util.h"

#define MAX_LABELS 64
#define MAX_PENDING 1024

typedef struct {
    int label;
    cl_event start, end;
} pending;

struct cl_profile {
    cm_profile_entry totals[MAX_LABELS];
    int nlabels;
    pending pend[MAX_PENDING];
    int npend;
};

cm_status cl_profile_create(cl_profile **out) {
    *out = calloc(1, sizeof **out);
    return *out ? CM_OK : cm_fail(CM_ERR_MEMORY, "out of host memory");
}

static void release_pending(cl_profile *p) {
    for (int i = 0; i < p->npend; i++) {
        if (p->pend[i].start) clReleaseEvent(p->pend[i].start);
        clReleaseEvent(p->pend[i].end);
    }
    p->npend = 0;
}

void cl_profile_reset(cl_profile *p) {
    release_pending(p);
    p->nlabels = 0;
}

void cl_profile_destroy(cl_profile *p) {
    if (!p) return;
    release_pending(p);
    free(p);
}

static cl_ulong event_time(cl_event e, cl_profiling_info what, cl_int *err) {
    cl_ulong t = 0;
    if (*err == CL_SUCCESS) *err = clGetEventProfilingInfo(e, what, sizeof t, &t, NULL);
    return t;
}

/* Waits for every pending event and adds its time to its label. */
static cm_status fold(cl_profile *p) {
    cl_int err = CL_SUCCESS;
    for (int i = 0; i < p->npend && err == CL_SUCCESS; i++) {
        pending *q = &p->pend[i];
        err = clWaitForEvents(1, &q->end);
        cl_ulong t1 = event_time(q->end, CL_PROFILING_COMMAND_END, &err);
        cl_ulong t0 = q->start ? event_time(q->start, CL_PROFILING_COMMAND_END, &err)
                               : event_time(q->end, CL_PROFILING_COMMAND_START, &err);
        if (err == CL_SUCCESS) {
            p->totals[q->label].calls++;
            p->totals[q->label].seconds += t1 > t0 ? (double)(t1 - t0) * 1e-9 : 0.0;
        }
    }
    release_pending(p);
    if (err != CL_SUCCESS)
        return cl_fail_call(err, "clGetEventProfilingInfo (was the queue created with profiling?)", __FILE__, __LINE__);
    return CM_OK;
}

/* The label's index, added if new; -1 when the table is full. */
static int label_index(cl_profile *p, const char *label) {
    for (int l = 0; l < p->nlabels; l++)
        if (!strcmp(p->totals[l].name, label)) return l;
    if (p->nlabels == MAX_LABELS) return -1;
    cm_profile_entry *e = &p->totals[p->nlabels];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", label);
    return p->nlabels++;
}

cm_status cl_profile_add(cl_profile *p, const char *label, cl_event start, cl_event end) {
    int l = p->nlabels < MAX_LABELS - 1 ? label_index(p, label) : -1;
    if (l < 0) l = label_index(p, "(other labels)"); /* the last slot lumps any surplus */
    if (p->npend == MAX_PENDING) {
        cm_status st = fold(p);
        if (st != CM_OK) {
            if (start) clReleaseEvent(start);
            clReleaseEvent(end);
            return st;
        }
    }
    p->pend[p->npend++] = (pending){l, start, end};
    return CM_OK;
}

void cl_profile_add_host(cl_profile *p, const char *label, double seconds) {
    int l = p->nlabels < MAX_LABELS - 1 ? label_index(p, label) : -1;
    if (l < 0) l = label_index(p, "(other labels)");
    p->totals[l].calls++;
    p->totals[l].seconds += seconds;
}

cm_status cl_profile_read(cl_profile *p, cm_profile_entry *out, int max, int *n) {
    CM_TRY(fold(p));
    *n = p->nlabels < max ? p->nlabels : max;
    memcpy(out, p->totals, sizeof *out * (size_t)*n);
    return CM_OK;
}
