/* http_listen.c: the listening socket (bound before the work that precedes serving), the
 * loopback tests, random secrets and the TLS files (http_server.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_server.h"

/* The listening address: numeric IPv4 or IPv6 only (no name lookup). */
typedef union {
    struct sockaddr sa;
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
} sock_addr;

static cm_status parse_bind(const char *bind, int port, sock_addr *a, int *v6) {
    memset(a, 0, sizeof *a);
    *v6 = 0;
    if (inet_pton(AF_INET, bind, &a->v4.sin_addr) == 1) {
        a->v4.sin_family = AF_INET;
        a->v4.sin_port = htons((uint16_t)port);
        return CM_OK;
    }
    if (inet_pton(AF_INET6, bind, &a->v6.sin6_addr) == 1) {
        a->v6.sin6_family = AF_INET6;
        a->v6.sin6_port = htons((uint16_t)port);
        *v6 = 1;
        return CM_OK;
    }
    return cm_fail(CM_ERR_USAGE, "--bind '%s': expected a numeric IPv4 or IPv6 address (127.0.0.1, 0.0.0.0, ::1)",
                   bind);
}

int http_bind_is_loopback(const char *bind) {
    sock_addr a;
    int v6;
    if (!bind) return 1;
    if (parse_bind(bind, 0, &a, &v6) != CM_OK) {
        cm_clear_error();
        return 0;
    }
    if (v6) return IN6_IS_ADDR_LOOPBACK(&a.v6.sin6_addr);
    return (ntohl(a.v4.sin_addr.s_addr) >> 24) == 127;
}

cm_status http_random_secret(char out[65]) {
    unsigned char b[32];
    if (RAND_bytes(b, sizeof b) != 1) return cm_fail(CM_ERR_IO, "no random bytes for a secret (RAND_bytes failed)");
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    return CM_OK;
}

static int bind_socket(int fd, const struct sockaddr *sa, socklen_t len) {
    return bind(fd, sa, len);
}

struct cm_http_listener {
    int fd, port, v6;
};

cm_status http_listen(const char *bind, int port, cm_http_listener **out) {
    *out = NULL;
    if (!bind) bind = "127.0.0.1";
    if (port < 0 || port > 65535) return cm_fail(CM_ERR_USAGE, "--port %d: expected 0 to 65535", port);
    sock_addr addr;
    int v6, one = 1;
    CM_TRY(parse_bind(bind, port, &addr, &v6));
    cm_http_listener *l = calloc(1, sizeof *l);
    if (!l) return cm_fail(CM_ERR_MEMORY, "out of memory");
    l->v6 = v6;
    l->fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (l->fd >= 0) setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (l->fd >= 0 && v6) setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    socklen_t len = v6 ? sizeof addr.v6 : sizeof addr.v4;
    if (l->fd < 0 || bind_socket(l->fd, &addr.sa, len) != 0 || listen(l->fd, SOMAXCONN) != 0 ||
        getsockname(l->fd, &addr.sa, &len) != 0) {
        int e = errno;
        http_listener_close(l);
        return e == EADDRINUSE ? cm_fail(CM_ERR_IO,
                                         "cannot listen on %s port %d: the port is in use by another program; "
                                         "choose another port (0: any free one)",
                                         bind, port)
                               : cm_fail(CM_ERR_IO, "cannot listen on %s port %d: %s", bind, port, strerror(e));
    }
    l->port = ntohs(v6 ? addr.v6.sin6_port : addr.v4.sin_port);
    *out = l;
    return CM_OK;
}

int http_listener_port(const cm_http_listener *l) {
    return l->port;
}

int http_listener_fd(const cm_http_listener *l) {
    return l->fd;
}

int http_listener_v6(const cm_http_listener *l) {
    return l->v6;
}

void http_listener_close(cm_http_listener *l) {
    if (!l) return;
    if (l->fd >= 0) close(l->fd);
    free(l);
}

cm_status http_pick_token(const char *bind, const char *given, char out[65], const char **token, int *generated) {
    *token = NULL;
    *generated = 0;
    const char *env = getenv("CLMNIST_TOKEN");
    const char *t = given ? given : env && env[0] ? env : NULL;
    if (t) {
        if (strlen(t) < 16 || strlen(t) > 256)
            return cm_fail(CM_ERR_USAGE, "%s: the token has %zu characters; give 16 to 256 (or none: a random one)",
                           given ? "--token" : "CLMNIST_TOKEN", strlen(t));
        for (const char *p = t; *p; p++)
            if (*p <= ' ' || *p > '~')
                return cm_fail(CM_ERR_USAGE, "%s: the token must be printable ASCII without spaces",
                               given ? "--token" : "CLMNIST_TOKEN");
        *token = t;
        return CM_OK;
    }
    if (http_bind_is_loopback(bind)) return CM_OK;
    CM_TRY(http_random_secret(out));
    *token = out;
    *generated = 1;
    return CM_OK;
}

int http_host_is_local(const char *h) {
    if (!h) return 1; /* HTTP/1.0 */
    char name[256];
    size_t n = h[0] == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":");
    if (n >= sizeof name) return 0;
    memcpy(name, h, n);
    name[n] = 0;
    return !strcasecmp(name, "localhost") || !strcmp(name, "[::1]") || http_bind_is_loopback(name);
}

cm_status http_read_pem(const char *flag, const char *path, char **out) {
    FILE *f = fopen(path, "rb");
    if (!f) return cm_fail(CM_ERR_IO, "%s %s: %s", flag, path, strerror(errno));
    char *text = malloc((1u << 20) + 1);
    size_t n = text ? fread(text, 1, 1u << 20, f) : 0;
    int bad = ferror(f) || !feof(f);
    fclose(f);
    if (!text) return cm_fail(CM_ERR_MEMORY, "out of memory");
    if (bad || n == 0 || !memchr(text, '-', n)) {
        free(text);
        return cm_fail(CM_ERR_FORMAT, "%s %s: not a PEM file (empty, unreadable or over 1 MiB)", flag, path);
    }
    text[n] = 0;
    *out = text;
    return CM_OK;
}
