/* http_server.c: routes, embedded assets, limits, authentication and metrics on top of
 * libmicrohttpd (see http_server.h).
 *
 * libmicrohttpd calls on_access several times per request: once when the headers are in (the
 * target is resolved, the token checked and the declared body size checked here, so a 401, 404,
 * 405, 413 or 503 goes out before a byte of the body is read), once per piece of the body, and
 * once more when the body is complete (the handler runs then). A body that outgrows the limit
 * without declaring its size (chunked) is read to its end and dropped, within the body deadline,
 * and answered 413 then: libmicrohttpd 0.9.75 cannot answer in the middle of a body. */
#include "http_server.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_guard.h"
#include "http_metrics.h"

struct cm_http_server {
    struct MHD_Daemon *daemon;
    cm_http_config cfg;
    int port;
    int starting; /* libmicrohttpd's messages go to start_log, for one error line */
    char start_log[256];
    http_guard guard;
    http_metrics metrics;
    char *tls_cert, *tls_key; /* the PEM files' text */
    int loopback;             /* bound to loopback: the Host header must name this machine */
    guard_log log;            /* libmicrohttpd's messages once it runs, repeats held back */
};

/* One request in progress. */
typedef struct {
    const cm_http_route *route; /* the handler to run, or */
    const cm_http_asset *asset; /* the asset to send, or */
    int metrics;                /* GET /metrics */
    int label;                  /* its metrics label (http_metrics.h) */
    int answered;               /* an answer went out at the first call */
    int too_big;                /* the body outgrew the limit: dropped, 413 at its end */
    double t0;                  /* when the headers were in */
    uint8_t *body;
    size_t len, cap;
} request;

static int is_get(const char *method) {
    return !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);
}

static guard_conn *conn_guard(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

/* CORS headers for the one allowed origin (--cors); none else. */
static void add_cors(const cm_http_server *s, struct MHD_Connection *c, struct MHD_Response *resp) {
    if (!s->cfg.cors_origin) return;
    const char *o = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if (o && !strcmp(o, s->cfg.cors_origin)) MHD_add_response_header(resp, "Access-Control-Allow-Origin", o);
    MHD_add_response_header(resp, "Vary", "Origin");
}

/* Every answer goes out here: CORS, the count and time for /metrics, and the connection closed
 * after a refusal that may leave bytes unread. */
static enum MHD_Result queue(cm_http_server *s, struct MHD_Connection *c, request *r, int status,
                             struct MHD_Response *resp) {
    add_cors(s, c, resp);
    if (status == 413 || status == 503 || status == 401 || (r && r->too_big))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    if (r) metrics_record(&s->metrics, r->label, status, guard_now() - r->t0);
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* extra: one more header ("Allow", "Retry-After", "WWW-Authenticate"), or NULL. */
static enum MHD_Result send_reply(cm_http_server *s, struct MHD_Connection *c, request *r, int status, const char *type,
                                  char *body, size_t len, const char *extra, const char *value) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type ? type : "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (extra) MHD_add_response_header(resp, extra, value);
    return queue(s, c, r, status, resp);
}

static enum MHD_Result send_error(cm_http_server *s, struct MHD_Connection *c, request *r, int status,
                                  const char *extra, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static enum MHD_Result send_error(cm_http_server *s, struct MHD_Connection *c, request *r, int status,
                                  const char *extra, const char *value, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cm_http_reply rep = {0};
    http_reply_error(&rep, status, "%s", msg);
    return send_reply(s, c, r, rep.status, rep.content_type, rep.body, rep.len, extra, value);
}

/* The page itself: scripts, styles and images only from this server, no framing. */
static enum MHD_Result send_asset(cm_http_server *s, struct MHD_Connection *c, request *r, const cm_http_asset *a) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, a->content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data: blob:; frame-ancestors 'none'");
    return queue(s, c, r, MHD_HTTP_OK, resp);
}

static const cm_http_asset *find_asset(const cm_http_server *s, const char *url) {
    if (!strcmp(url, "/")) url = "/index.html";
    for (int i = 0; i < s->cfg.nassets; i++)
        if (!strcmp(s->cfg.assets[i].path, url)) return &s->cfg.assets[i];
    return NULL;
}

/* Sets r's target; else answers 404 or 405 (with the methods the path has) and returns 0. */
static int resolve(cm_http_server *s, struct MHD_Connection *c, const char *url, const char *method, request *r) {
    char allow[64] = "";
    for (int i = 0; i < s->cfg.nroutes; i++) {
        const cm_http_route *rt = &s->cfg.routes[i];
        if (strcmp(rt->path, url) != 0) continue;
        if (!strcmp(rt->method, method) || (!strcmp(rt->method, "GET") && is_get(method))) {
            r->route = rt;
            r->label = i;
            return 1;
        }
        size_t n = strlen(allow);
        snprintf(allow + n, sizeof allow - n, "%s%s%s", n ? ", " : "", rt->method,
                 strcmp(rt->method, "GET") ? "" : ", HEAD");
    }
    if (!allow[0] && s->cfg.metrics && !strcmp(url, "/metrics")) {
        r->metrics = 1;
        r->label = s->cfg.nroutes + 1; /* "/metrics" */
        if (is_get(method)) return 1;
        snprintf(allow, sizeof allow, "GET, HEAD");
    }
    if (!allow[0] && (r->asset = find_asset(s, url)) != NULL) {
        r->label = s->cfg.nroutes;
        if (is_get(method)) return 1;
        snprintf(allow, sizeof allow, "GET, HEAD");
    }
    if (allow[0])
        send_error(s, c, r, 405, MHD_HTTP_HEADER_ALLOW, allow, "%s %s: method not allowed (allowed: %s)", method, url,
                   allow);
    else
        send_error(s, c, r, 404, NULL, NULL, "%s: not found", url);
    return 0;
}

/* Whether the request may reach its target (http_server.h: CM_ROUTE_*). */
static int authorized(const cm_http_server *s, struct MHD_Connection *c, const request *r, const char *url) {
    int access = r->route ? r->route->access : CM_ROUTE_API;
    int guarded = !strncmp(url, "/api/", 5) || !strcmp(url, "/metrics");
    if (access == CM_ROUTE_PUBLIC || (access != CM_ROUTE_SECRET && !guarded)) return 1;
    const char *secret = s->cfg.token ? s->cfg.token : access == CM_ROUTE_SECRET ? s->cfg.stop_secret : NULL;
    if (!secret) return access != CM_ROUTE_SECRET; /* no token: open; a secret route without one: shut */
    size_t n;
    const char *b = guard_bearer(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION), &n);
    if (b && guard_secret_equal(b, n, secret)) return 1;
    const char *q =
        access == CM_ROUTE_STREAM ? MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "access_token") : NULL;
    return q && guard_secret_equal(q, strlen(q), secret);
}

/* OPTIONS with --cors: the preflight of a cross-origin call (any path: it grants nothing by itself). */
static int preflight(cm_http_server *s, struct MHD_Connection *c, const char *url, const char *method, request *r) {
    if (!s->cfg.cors_origin || strcmp(method, MHD_HTTP_METHOD_OPTIONS) != 0) return 0;
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    if (!resp) return 0;
    MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, POST");
    MHD_add_response_header(resp, "Access-Control-Allow-Headers", "Authorization, Content-Type");
    MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
    queue(s, c, r, 204, resp);
    return 1;
}

/* The first call of a request: refused when the server is full, else its target, its token and
 * a body declared larger than the limit. Returns 1 when an answer went out. */
static int screen(cm_http_server *s, struct MHD_Connection *c, const char *url, const char *method, request *r) {
    if (guard_active(&s->guard) > s->cfg.max_connections) {
        send_error(s, c, r, 503, "Retry-After", "1", "the server is busy (%d connections); try again",
                   s->cfg.max_connections);
        return 1;
    }
    if (s->loopback && !http_host_is_local(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST))) {
        send_error(s, c, r, 421, NULL, NULL, "this server answers only to localhost, 127.0.0.1 or [::1]");
        return 1;
    }
    if (preflight(s, c, url, method, r) || !resolve(s, c, url, method, r)) return 1;
    if (!authorized(s, c, r, url)) {
        send_error(s, c, r, 401, "WWW-Authenticate", "Bearer", "unauthorized");
        return 1;
    }
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno || end == cl || n > s->cfg.max_body) {
            send_error(s, c, r, 413, NULL, NULL, "the request body (%s bytes) is larger than the limit of %zu bytes",
                       cl, s->cfg.max_body);
            return 1;
        }
    }
    return 0;
}

static enum MHD_Result first_call(cm_http_server *s, struct MHD_Connection *c, const char *url, const char *method,
                                  void **con_cls) {
    request *r = calloc(1, sizeof *r);
    if (!r) return MHD_NO;
    *con_cls = r;
    r->t0 = guard_now();
    r->label = s->cfg.nroutes + 2; /* "other" until resolved */
    guard_phase(&s->guard, conn_guard(c), GUARD_BODY);
    r->answered = screen(s, c, url, method, r);
    return MHD_YES;
}

/* A piece of the body: kept, or dropped once the answer is known or the body is too big. */
static enum MHD_Result take_body(const cm_http_server *s, request *r, const char *data, size_t *size) {
    size_t n = *size;
    *size = 0;
    if (r->answered || r->too_big) return MHD_YES;
    if (n > s->cfg.max_body - r->len) {
        r->too_big = 1;
        free(r->body);
        r->body = NULL;
        r->len = r->cap = 0;
        return MHD_YES;
    }
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
static enum MHD_Result send_stream(cm_http_server *s, struct MHD_Connection *c, request *r, const cm_http_reply *rep) {
    cm_http_reply *own = malloc(sizeof *own);
    struct MHD_Response *resp =
        own ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, read_stream, own, free_stream) : NULL;
    if (!resp) {
        if (rep->free_stream) rep->free_stream(rep->stream);
        free(own);
        return MHD_NO;
    }
    *own = *rep;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rep->content_type ? rep->content_type : "text/plain");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    return queue(s, c, r, rep->status ? rep->status : 200, resp);
}

/* GET /metrics: the server's counters, then the application's lines. */
static enum MHD_Result send_metrics(cm_http_server *s, struct MHD_Connection *c, request *r) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return send_error(s, c, r, 500, NULL, NULL, "out of memory");
    metrics_write(f, &s->metrics);
    if (s->cfg.metrics_extra) s->cfg.metrics_extra(s->cfg.metrics_ctx, f);
    if (fclose(f) != 0 || !text) {
        free(text);
        return send_error(s, c, r, 500, NULL, NULL, "out of memory");
    }
    return send_reply(s, c, r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, NULL, NULL);
}

static enum MHD_Result dispatch(cm_http_server *s, struct MHD_Connection *c, request *r, const char *url,
                                const char *method) {
    if (r->too_big)
        return send_error(s, c, r, 413, NULL, NULL, "the request body is larger than the limit of %zu bytes",
                          s->cfg.max_body);
    if (r->asset) return send_asset(s, c, r, r->asset);
    if (r->metrics) return send_metrics(s, c, r);
    cm_http_request req = {.method = method,
                           .path = url,
                           .content_type =
                               MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
                           .body = r->body,
                           .body_len = r->len,
                           .conn = c};
    cm_http_reply rep = {0};
    r->route->handler(r->route->ctx, &req, &rep);
    if (rep.read) return send_stream(s, c, r, &rep);
    if (!rep.body) return send_error(s, c, r, 500, NULL, NULL, "%s: the handler gave no answer", url);
    return send_reply(s, c, r, rep.status ? rep.status : 200, rep.content_type, rep.body, rep.len, NULL, NULL);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                 const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    cm_http_server *s = cls;
    request *r = *con_cls;
    if (!r) return first_call(s, c, url, method, con_cls);
    if (*upload_size) return take_body(s, r, upload, upload_size);
    if (r->answered) return MHD_YES;
    r->answered = 1;
    guard_phase(&s->guard, conn_guard(c), GUARD_BUSY);
    return dispatch(s, c, r, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode why) {
    cm_http_server *s = cls;
    request *r = *con_cls;
    if (!r) return;
    free(r->body);
    free(r);
    *con_cls = NULL;
    guard_phase(&s->guard, conn_guard(c), GUARD_HEADERS); /* the next request's headers, on a kept connection */
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
    cm_http_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = guard_add(&s->guard, i ? (int)i->connect_fd : -1);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        guard_remove(&s->guard, *socket_context);
        *socket_context = NULL;
    }
}

static void on_log(void *cls, const char *fmt, va_list ap) {
    cm_http_server *s = cls;
    if (__atomic_load_n(&s->starting, __ATOMIC_ACQUIRE)) {
        vsnprintf(s->start_log, sizeof s->start_log, fmt, ap);
        s->start_log[strcspn(s->start_log, "\n")] = 0;
        return;
    }
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = 0;
    guard_log_line(&s->log, msg);
}

static cm_status load_tls(cm_http_server *s) {
    const cm_http_config *cfg = &s->cfg;
    if (!cfg->tls_cert && !cfg->tls_key) return CM_OK;
    if (!cfg->tls_cert || !cfg->tls_key)
        return cm_fail(CM_ERR_USAGE, "--tls-cert and --tls-key: give both (the certificate and its private key)");
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return cm_fail(CM_ERR_USAGE, "--tls-cert: this libmicrohttpd was built without TLS (GnuTLS) support");
    CM_TRY(http_read_pem("--tls-cert", cfg->tls_cert, &s->tls_cert));
    return http_read_pem("--tls-key", cfg->tls_key, &s->tls_key);
}

static void free_server(cm_http_server *s) {
    guard_log_end(&s->log);
    metrics_free(&s->metrics);
    free(s->tls_cert);
    free(s->tls_key);
    free(s);
}

static struct MHD_Daemon *start_daemon(cm_http_server *s, const cm_http_listener *l) {
    const cm_http_config *cfg = &s->cfg;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG | (http_listener_v6(l) ? MHD_USE_IPv6 : 0);
    if (cfg->thread_per_connection) flags |= MHD_USE_THREAD_PER_CONNECTION;
    if (s->tls_cert) flags |= MHD_USE_TLS;
    unsigned pool = cfg->thread_per_connection ? 0 : (unsigned)cfg->threads; /* 0: no pool */
    /* room above max_connections for the fast 503 (screen) rather than a refused connection */
    unsigned limit = (unsigned)cfg->max_connections + (unsigned)cfg->max_connections / 4 + 4;
    struct MHD_OptionItem tls[3] = {{MHD_OPTION_END, 0, NULL}, {MHD_OPTION_END, 0, NULL}, {MHD_OPTION_END, 0, NULL}};
    if (s->tls_cert) {
        tls[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key};
        tls[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert};
    }
    return MHD_start_daemon(flags, (uint16_t)s->port, NULL, NULL, on_access, s, MHD_OPTION_EXTERNAL_LOGGER, on_log, s,
                            MHD_OPTION_LISTEN_SOCKET, (MHD_socket)http_listener_fd(l), MHD_OPTION_THREAD_POOL_SIZE,
                            pool, MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                            (unsigned)cfg->per_client, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->timeout_s,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
                            s, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
}

cm_status http_server_start(const cm_http_config *cfg, cm_http_server **out) {
    *out = NULL;
    cm_http_listener *l = cfg->listener;
    if (!l) CM_TRY(http_listen(cfg->bind, cfg->port, &l));
    cm_http_server *s = calloc(1, sizeof *s);
    cm_status st = s ? CM_OK : cm_fail(CM_ERR_MEMORY, "out of memory");
    if (s) guard_log_init(&s->log);
    if (st == CM_OK) {
        s->cfg = *cfg;
        s->cfg.threads = cfg->threads > 0 ? cfg->threads : 1;
        s->cfg.max_connections = cfg->max_connections > 0 ? cfg->max_connections : 64;
        s->cfg.per_client = cfg->per_client > 0 ? cfg->per_client : 16;
        s->cfg.deadline_s = cfg->deadline_s > 0 ? cfg->deadline_s : 20;
        s->cfg.timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : 10;
        s->starting = 1;
        s->port = http_listener_port(l);
        s->loopback = http_bind_is_loopback(cfg->bind);
        st = load_tls(s);
    }
    if (st == CM_OK && metrics_init(&s->metrics, cfg->routes, cfg->nroutes) != 0)
        st = cm_fail(CM_ERR_MEMORY, "out of memory");
    int e = st == CM_OK ? guard_start(&s->guard, s->cfg.deadline_s) : 0;
    if (e) st = cm_fail(CM_ERR_IO, "cannot start the HTTP server's deadline thread: %s", strerror(e));
    if (st == CM_OK && !(s->daemon = start_daemon(s, l))) {
        e = errno;
        st = cm_fail(CM_ERR_IO, "cannot serve on %s port %d: %s", cfg->bind ? cfg->bind : "127.0.0.1", s->port,
                     e                 ? strerror(e)
                     : s->start_log[0] ? s->start_log
                                       : "libmicrohttpd refused to start");
    }
    if (st != CM_OK) {
        if (s && s->guard.running) guard_stop(&s->guard);
        http_listener_close(l);
        if (s) free_server(s);
        return st;
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
    guard_stop(&s->guard);
    free_server(s);
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
