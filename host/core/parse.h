/* parse.h: integers and floats from text, refusing empty text, leading spaces, trailing bytes
 * and values outside [min, max]; the error names `what` (a flag or a metadata key) and the text. */
#ifndef CLMNIST_PARSE_H
#define CLMNIST_PARSE_H
#include "status.h"

cm_status cm_parse_int(const char *what, const char *text, long min, long max, long *out);
cm_status cm_parse_float(const char *what, const char *text, double min, double max, double *out);

#endif
