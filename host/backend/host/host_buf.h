/* host_buf.h: the host backend's buffer (plain malloc'd memory), shared by backend_host.c and
 * nn_ops.c, with the typed accessors and the bounds check every host operation uses. */
#ifndef CLMNIST_HOST_BUF_H
#define CLMNIST_HOST_BUF_H
#include <stddef.h>
#include <stdint.h>

#include "backend.h"

struct cm_buf {
    unsigned char *data;
    size_t bytes;
    int owned; /* 0 for a view into another buffer */
};

#define F(buf) ((float *)(void *)(buf)->data)
#define I32(buf) ((int32_t *)(void *)(buf)->data)

/* CM_ERR_USAGE when [offset, offset + bytes) does not lie inside buf. */
static inline cm_status check_range(const cm_buf *buf, size_t offset, size_t bytes, const char *op) {
    if (offset > buf->bytes || bytes > buf->bytes - offset)
        return cm_fail(CM_ERR_USAGE, "%s of %zu bytes at offset %zu overruns a %zu-byte buffer", op, bytes, offset,
                       buf->bytes);
    return CM_OK;
}

/* CM_ERR_USAGE when buf is missing or holds fewer than count floats; name says which in op. */
static inline cm_status check_floats(const cm_buf *buf, size_t count, const char *op, const char *name) {
    if (!buf) return cm_fail(CM_ERR_USAGE, "%s: buffer '%s' is missing", op, name);
    if (count > buf->bytes / sizeof(float))
        return cm_fail(CM_ERR_USAGE, "%s: '%s' needs %zu floats, its buffer holds %zu", op, name, count,
                       buf->bytes / sizeof(float));
    return CM_OK;
}

#endif
