/* op_clock.c: wall time per operation label (see op_clock.h). */
#include "op_clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OP_CLOCK_LABELS = 64 };

struct cm_op_clock {
    cm_profile_entry e[OP_CLOCK_LABELS];
    int n;
};

cm_op_clock *op_clock_create(void) {
    return calloc(1, sizeof(cm_op_clock));
}
void op_clock_destroy(cm_op_clock *c) {
    free(c);
}
void op_clock_reset(cm_op_clock *c) {
    c->n = 0;
}

void op_clock_add(cm_op_clock *c, const char *label, double seconds) {
    int i = 0;
    while (i < c->n && strcmp(c->e[i].name, label) != 0)
        i++;
    if (i == c->n) {
        if (c->n == OP_CLOCK_LABELS) {
            i = OP_CLOCK_LABELS - 1;
            snprintf(c->e[i].name, sizeof c->e[i].name, "other");
        } else {
            c->n++;
            snprintf(c->e[i].name, sizeof c->e[i].name, "%s", label);
            c->e[i].calls = 0;
            c->e[i].seconds = 0.0;
        }
    }
    c->e[i].calls++;
    c->e[i].seconds += seconds;
}

void op_clock_read(const cm_op_clock *c, cm_profile_entry *out, int max, int *n) {
    *n = c->n < max ? c->n : max;
    memcpy(out, c->e, sizeof out[0] * (size_t)*n);
}
