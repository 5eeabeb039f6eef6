/* digest.h: SHA-256 of files (OpenSSL's libcrypto) and base64 for embedding bytes in HTML. */
#ifndef CLMNIST_DIGEST_H
#define CLMNIST_DIGEST_H
#include <stddef.h>

#include "status.h"

/* hex: 65 bytes, lower-case. */
cm_status digest_file_sha256(const char *path, char hex[65]);
/* Returns a malloc'd NUL-terminated base64 string, or NULL when out of memory. */
char *digest_base64(const unsigned char *data, size_t n);

#endif
