/* status.c: per-thread storage of the last error message. */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[1024];

cm_status cm_fail(cm_status code, const char *fmt, ...) {
    /* Formatted apart first: a message may wrap the previous one (an argument of cm_last_error()). */
    char msg[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(last_error, msg, sizeof msg);
    return code;
}

const char *cm_last_error(void) {
    return last_error;
}

void cm_clear_error(void) {
    last_error[0] = '\0';
}
