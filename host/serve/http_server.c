/* http_server.c: routes, embedded assets and limits on top of libmicrohttpd (see http_server.h).
 *
 * libmicrohttpd calls on_access several times per request: once when the headers are in (the
 * target is resolved and the declared body size checked here, so a 404, 405 or 413 goes out
 * before a byte of the body is read), once per piece of the body, and once more when the body is
 * complete (the handler runs then). */
#include "http_server.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct cm_http_server {
    struct MHD_Daemon *daemon;
    cm_http_config cfg;
    int port;
    int starting; /* libmicrohttpd's messages go to start_log, for one error line */
    char start_log[256];
};

/* One request in progress. */
typedef struct {
    const cm_http_route *route; /* the handler to run, or */
    const cm_http_asset *asset; /* the asset to send */
    int answered;               /* an error went out at the first call */
    uint8_t *body;
    size_t len, cap;
} request;

static int is_get(const char *method) {
    return !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);
}

static enum MHD_Result send_reply(struct MHD_Connection *c, int status, const char *type, char *body, size_t len,
                                  const char *allow) {
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type ? type : "application/json");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (allow) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *allow, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *allow, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cm_http_reply rep = {0};
    http_reply_error(&rep, status, "%s", msg);
    return send_reply(c, rep.status, rep.content_type, rep.body, rep.len, allow);
}

/* The page itself: scripts, styles and images only from this server, no framing. */
static enum MHD_Result send_asset(struct MHD_Connection *c, const cm_http_asset *a) {
    struct MHD_Response *r = MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a->content_type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data: blob:; frame-ancestors 'none'");
    enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
}

static const cm_http_asset *find_asset(const cm_http_server *s, const char *url) {
    if (!strcmp(url, "/")) url = "/index.html";
    for (int i = 0; i < s->cfg.nassets; i++)
        if (!strcmp(s->cfg.assets[i].path, url)) return &s->cfg.assets[i];
    return NULL;
}

/* Sets r's target; else answers 404 or 405 (with the methods the path has) and returns 0. */
static int resolve(const cm_http_server *s, struct MHD_Connection *c, const char *url, const char *method, request *r) {
    char allow[64] = "";
    for (int i = 0; i < s->cfg.nroutes; i++) {
        const cm_http_route *rt = &s->cfg.routes[i];
        if (strcmp(rt->path, url) != 0) continue;
        if (!strcmp(rt->method, method) || (!strcmp(rt->method, "GET") && is_get(method))) {
            r->route = rt;
            return 1;
        }
        size_t n = strlen(allow);
        snprintf(allow + n, sizeof allow - n, "%s%s%s", n ? ", " : "", rt->method,
                 strcmp(rt->method, "GET") ? "" : ", HEAD");
    }
    if (!allow[0] && (r->asset = find_asset(s, url)) != NULL) {
        if (is_get(method)) return 1;
        snprintf(allow, sizeof allow, "GET, HEAD");
    }
    if (allow[0])
        send_error(c, 405, allow, "%s %s: method not allowed (allowed: %s)", method, url, allow);
    else
        send_error(c, 404, NULL, "%s: not found", url);
    return 0;
}

/* The first call of a request: its target, and a body declared larger than the limit refused. */
static enum MHD_Result first_call(cm_http_server *s, struct MHD_Connection *c, const char *url, const char *method,
                                  void **con_cls) {
    request *r = calloc(1, sizeof *r);
    if (!r) return MHD_NO;
    *con_cls = r;
    if (!resolve(s, c, url, method, r)) {
        r->answered = 1;
        return MHD_YES;
    }
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno || end == cl || n > s->cfg.max_body) {
            r->answered = 1;
            return send_error(c, 413, NULL, "the request body (%s bytes) is larger than the limit of %zu bytes", cl,
                              s->cfg.max_body);
        }
    }
    return MHD_YES;
}

/* A piece of the body. A body without Content-Length that outgrows the limit closes the
 * connection (libmicrohttpd cannot answer in the middle of a body). */
static enum MHD_Result take_body(const cm_http_server *s, request *r, const char *data, size_t *size) {
    size_t n = *size;
    *size = 0;
    if (r->answered) return MHD_YES; /* an error went out: drop the rest */
    if (n > s->cfg.max_body - r->len) return MHD_NO;
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + n + 1)
            cap *= 2;
        uint8_t *b = realloc(r->body, cap);
        if (!b) return MHD_NO;
        r->body = b;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = 0;
    return MHD_YES;
}

static ssize_t read_stream(void *cls, uint64_t pos, char *buf, size_t max) {
    const cm_http_reply *rep = cls;
    long n = rep->read(rep->stream, buf, max);
    return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
}

static void free_stream(void *cls) {
    cm_http_reply *rep = cls;
    if (rep->free_stream) rep->free_stream(rep->stream);
    free(rep);
}

/* A body of unknown length, read from the handler's stream as the connection can take it. */
static enum MHD_Result send_stream(struct MHD_Connection *c, const cm_http_reply *rep) {
    cm_http_reply *own = malloc(sizeof *own);
    struct MHD_Response *r =
        own ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, read_stream, own, free_stream) : NULL;
    if (!r) {
        if (rep->free_stream) rep->free_stream(rep->stream);
        free(own);
        return MHD_NO;
    }
    *own = *rep;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rep->content_type ? rep->content_type : "text/plain");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)(rep->status ? rep->status : 200), r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result dispatch(struct MHD_Connection *c, request *r, const char *url, const char *method) {
    if (r->asset) return send_asset(c, r->asset);
    cm_http_request req = {.method = method,
                           .path = url,
                           .content_type =
                               MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
                           .body = r->body,
                           .body_len = r->len,
                           .conn = c};
    cm_http_reply rep = {0};
    r->route->handler(r->route->ctx, &req, &rep);
    if (rep.read) return send_stream(c, &rep);
    if (!rep.body) return send_error(c, 500, NULL, "%s: the handler gave no answer", url);
    return send_reply(c, rep.status ? rep.status : 200, rep.content_type, rep.body, rep.len, NULL);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                 const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    cm_http_server *s = cls;
    request *r = *con_cls;
    if (!r) return first_call(s, c, url, method, con_cls);
    if (*upload_size) return take_body(s, r, upload, upload_size);
    if (r->answered) return MHD_YES;
    r->answered = 1;
    return dispatch(c, r, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode why) {
    request *r = *con_cls;
    if (!r) return;
    free(r->body);
    free(r);
    *con_cls = NULL;
}

static void on_log(void *cls, const char *fmt, va_list ap) {
    cm_http_server *s = cls;
    if (__atomic_load_n(&s->starting, __ATOMIC_ACQUIRE)) {
        vsnprintf(s->start_log, sizeof s->start_log, fmt, ap);
        s->start_log[strcspn(s->start_log, "\n")] = 0;
        return;
    }
    fprintf(stderr, "clmnist: http: ");
    vfprintf(stderr, fmt, ap);
}

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

void http_listener_close(cm_http_listener *l) {
    if (!l) return;
    if (l->fd >= 0) close(l->fd);
    free(l);
}

cm_status http_server_start(const cm_http_config *cfg, cm_http_server **out) {
    *out = NULL;
    cm_http_listener *l = cfg->listener;
    if (!l) CM_TRY(http_listen(cfg->bind, cfg->port, &l));
    cm_http_server *s = calloc(1, sizeof *s);
    if (!s) {
        http_listener_close(l);
        return cm_fail(CM_ERR_MEMORY, "out of memory");
    }
    s->cfg = *cfg;
    s->cfg.threads = cfg->threads > 0 ? cfg->threads : 1;
    s->cfg.max_connections = cfg->max_connections > 0 ? cfg->max_connections : 64;
    s->starting = 1;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG | (l->v6 ? MHD_USE_IPv6 : 0);
    if (cfg->thread_per_connection) flags |= MHD_USE_THREAD_PER_CONNECTION;
    unsigned pool = cfg->thread_per_connection ? 0 : (unsigned)s->cfg.threads; /* 0: no pool */
    s->port = l->port;
    s->daemon = MHD_start_daemon(flags, (uint16_t)l->port, NULL, NULL, on_access, s, MHD_OPTION_EXTERNAL_LOGGER, on_log,
                                 s, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)l->fd, MHD_OPTION_THREAD_POOL_SIZE, pool,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->cfg.max_connections,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(cfg->timeout_s > 0 ? cfg->timeout_s : 10),
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
    if (!s->daemon) {
        int e = errno;
        cm_fail(CM_ERR_IO, "cannot serve on %s port %d: %s", cfg->bind ? cfg->bind : "127.0.0.1", l->port,
                e                 ? strerror(e)
                : s->start_log[0] ? s->start_log
                                  : "libmicrohttpd refused to start");
        http_listener_close(l);
        free(s);
        return CM_ERR_IO;
    }
    free(l); /* its socket is the daemon's now: MHD_stop_daemon closes it */
    __atomic_store_n(&s->starting, 0, __ATOMIC_RELEASE);
    *out = s;
    return CM_OK;
}

int http_server_port(const cm_http_server *s) {
    return s->port;
}

void http_server_stop(cm_http_server *s) {
    if (!s) return;
    MHD_stop_daemon(s->daemon);
    free(s);
}

const char *http_request_header(const cm_http_request *req, const char *name) {
    return MHD_lookup_connection_value((struct MHD_Connection *)req->conn, MHD_HEADER_KIND, name);
}

const char *http_request_query(const cm_http_request *req, const char *key) {
    return MHD_lookup_connection_value((struct MHD_Connection *)req->conn, MHD_GET_ARGUMENT_KIND, key);
}

void http_reply_json(cm_http_reply *rep, int status, cJSON *obj) {
    char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    if (!text) {
        static const char oom[] = "{\"error\":\"out of memory\"}";
        text = malloc(sizeof oom);
        if (text) memcpy(text, oom, sizeof oom);
        status = 500;
    }
    rep->status = status;
    rep->content_type = "application/json";
    rep->body = text;
    rep->len = text ? strlen(text) : 0;
}

void http_reply_error(cm_http_reply *rep, int status, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    if (o && !cJSON_AddStringToObject(o, "error", msg)) {
        cJSON_Delete(o);
        o = NULL;
    }
    http_reply_json(rep, status, o);
}
