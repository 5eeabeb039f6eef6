/* parse.c: numbers from text (flags, metadata) with range checks and one-line errors. */
#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

cm_status cm_parse_int(const char *flag, const char *text, long min, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end || errno || isspace((unsigned char)text[0]) || v < min || v > max)
        return cm_fail(CM_ERR_USAGE, "%s '%s': expected an integer between %ld and %ld", flag, text, min, max);
    *out = v;
    return CM_OK;
}

cm_status cm_parse_float(const char *flag, const char *text, double min, double max, double *out) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end || errno || isspace((unsigned char)text[0]) || !isfinite(v) || v < min || v > max)
        return cm_fail(CM_ERR_USAGE, "%s '%s': expected a number between %g and %g", flag, text, min, max);
    *out = v;
    return CM_OK;
}
