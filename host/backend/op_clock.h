/* op_clock.h: wall time per operation of a synchronous backend (the host's), summed under a
 * label, for `bench --profile`: what OpenCL event profiling gives the device backend. */
#ifndef CLMNIST_OP_CLOCK_H
#define CLMNIST_OP_CLOCK_H
#include "backend.h"

typedef struct cm_op_clock cm_op_clock;

cm_op_clock *op_clock_create(void);
void op_clock_destroy(cm_op_clock *c);
void op_clock_reset(cm_op_clock *c);
/* Adds one call of `seconds` under `label` (copied; labels beyond the table's 64 go under "other"). */
void op_clock_add(cm_op_clock *c, const char *label, double seconds);
/* The totals per label, in order of first use. */
void op_clock_read(const cm_op_clock *c, cm_profile_entry *out, int max, int *n);

#endif
