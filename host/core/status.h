/* status.h: the one error path. Functions return cm_status; on failure the message
 * (naming the file, flag, device or call at fault) is kept per thread and main prints it. */
#ifndef CLMNIST_STATUS_H
#define CLMNIST_STATUS_H

typedef enum {
    CM_OK = 0,
    CM_ERR_USAGE,   /* bad flag or argument */
    CM_ERR_IO,      /* a file could not be read or written */
    CM_ERR_FORMAT,  /* a file is malformed */
    CM_ERR_MEMORY,  /* host or device memory exhausted */
    CM_ERR_DEVICE,  /* OpenCL / CLBlast failure, or no device */
    CM_ERR_NUMERIC, /* NaN/Inf during training */
} cm_status;

/* Records a printf-style message for the calling thread and returns `code`; the message may wrap
   the previous one (cm_last_error() as an argument). */
cm_status cm_fail(cm_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The message recorded by the last cm_fail on this thread ("" if none). */
const char *cm_last_error(void);
/* Forget the last message. */
void cm_clear_error(void);

/* Propagate a failed status unchanged. */
#define CM_TRY(expr)                                                                                                   \
    do {                                                                                                               \
        cm_status cm_try_status_ = (expr);                                                                             \
        if (cm_try_status_ != CM_OK) return cm_try_status_;                                                            \
    } while (0)

#endif
