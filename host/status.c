/* status.c: per-thread storage of the last error message. */
#include "clmnist/status.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[1024];

cm_status cm_fail(cm_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return code;
}

const char *cm_last_error(void) {
    return last_error;
}

void cm_clear_error(void) {
    last_error[0] = '\0';
}
