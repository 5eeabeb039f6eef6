/* http_server.h: a small HTTP/1.1 server for clmnist's web pages and JSON APIs, on libmicrohttpd:
 * its own pool of worker threads (each an event loop over its connections), a connection limit
 * (beyond it a fast 503 with Retry-After), a limit per client address, an idle timeout per
 * connection, deadlines for a request's headers and body (http_guard.h), a request-body limit
 * (413, chunked bodies included), bearer-token authentication, optional TLS and CORS, and
 * Prometheus metrics (GET /metrics). It knows routes (method + exact path ->
 * handler) and embedded assets (path -> bytes compiled into the binary); nothing maps a URL to the
 * file system. Every error is answered here in JSON, {"error": "..."}: 404 for an unknown path,
 * 405 (with Allow) for a known path and another method, 413 for a body over the limit. Used by
 * `clmnist serve`; independent of it (nothing here knows about models). */
#ifndef CLMNIST_HTTP_SERVER_H
#define CLMNIST_HTTP_SERVER_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "status.h"

typedef struct cm_http_server cm_http_server;
/* A socket bound and listening before the server starts (http_listen). */
typedef struct cm_http_listener cm_http_listener;

typedef struct {
    const char *method, *path;
    const char *content_type; /* the request's Content-Type, or NULL */
    const uint8_t *body;      /* the whole body (NUL-terminated after body_len), or NULL */
    size_t body_len;
    void *conn; /* libmicrohttpd's connection, for http_request_query */
} cm_http_request;

/* What a handler answers. The body is malloc'd and freed by the server. */
typedef struct {
    int status;
    const char *content_type; /* "application/json" when NULL */
    char *body;
    size_t len;
    /* Or a body of unknown length (Server-Sent Events), when `read` is set: the server calls
     * read(stream, buf, max) for the next bytes (> 0; -1 ends the body); it may wait for them, on
     * a server with a thread per connection. free_stream(stream) when the connection ends. */
    long (*read)(void *stream, char *buf, size_t max);
    void (*free_stream)(void *stream);
    void *stream;
} cm_http_reply;

/* Handlers run on the server's worker threads, several at once: they must be thread-safe. */
typedef void (*cm_http_handler)(void *ctx, const cm_http_request *req, cm_http_reply *rep);

/* Who may call a route. With a token (cm_http_config.token), a route under /api/ or /metrics needs
 * "Authorization: Bearer TOKEN" unless it is PUBLIC; a SECRET route always needs a secret (the
 * token, else cm_http_config.stop_secret); a STREAM route (Server-Sent Events, whose browser API
 * cannot set headers) also takes the token as the query parameter access_token. */
enum { CM_ROUTE_API = 0, CM_ROUTE_PUBLIC, CM_ROUTE_SECRET, CM_ROUTE_STREAM };

typedef struct {
    const char *method; /* "GET" (HEAD is answered too) or "POST" */
    const char *path;   /* exact, without the query: "/api/predict" */
    cm_http_handler handler;
    void *ctx;
    int access; /* CM_ROUTE_*; 0: CM_ROUTE_API */
} cm_http_route;

typedef struct {
    const char *path; /* "/index.html"; "/" serves "/index.html" */
    const char *content_type;
    const unsigned char *data;
    size_t len;
} cm_http_asset;

typedef struct {
    const char *bind;          /* a numeric IPv4 or IPv6 address; NULL: 127.0.0.1 */
    int port;                  /* 0: any free port (http_server_port tells which) */
    int threads;               /* worker threads */
    int max_connections;       /* beyond it new connections are refused */
    int timeout_s;             /* a connection idle this long is closed */
    size_t max_body;           /* request bodies larger than this: 413 */
    int thread_per_connection; /* a thread per connection (handlers and streams may block) instead of
                                  `threads` event loops */
    const cm_http_route *routes;
    int nroutes;
    const cm_http_asset *assets;
    int nassets;
    cm_http_listener *listener;     /* from http_listen (bind and port then unused), taken over even on
                                       failure; NULL: bind here */
    const char *token;              /* the bearer token of the API and /metrics; NULL: none */
    const char *stop_secret;        /* SECRET routes' secret when there is no token */
    const char *cors_origin;        /* the one origin CORS answers; NULL: no CORS */
    const char *tls_cert, *tls_key; /* PEM files: HTTPS (both, or neither) */
    int per_client;                 /* connections from one address at most (0: 16) */
    int deadline_s;                 /* the headers, then the body, within this (0: 20) */
    int metrics;                    /* serve GET /metrics */
    /* More lines for /metrics (the application's gauges), or NULL. */
    void (*metrics_extra)(void *ctx, FILE *out);
    void *metrics_ctx;
} cm_http_config;

/* Binds bind:port (bind NULL: 127.0.0.1; port 0: any free port) and listens now, so that a port
 * in use fails before the work that precedes serving; http_server_start takes it over. */
cm_status http_listen(const char *bind, int port, cm_http_listener **out);
/* The port bound. */
int http_listener_port(const cm_http_listener *l);
/* Closes a listener no server took over (NULL: nothing). */
void http_listener_close(cm_http_listener *l);
/* The listener's socket (for http_server.c). */
int http_listener_fd(const cm_http_listener *l);
int http_listener_v6(const cm_http_listener *l);
/* 1 when bind (NULL: 127.0.0.1) is a loopback address: 127.0.0.0/8 or ::1. */
int http_bind_is_loopback(const char *bind);
/* The bearer token of a server on bind: `given` (--token), else $CLMNIST_TOKEN, else, when bind is
 * not loopback, a random one written to out (*generated = 1); NULL on loopback without either. */
cm_status http_pick_token(const char *bind, const char *given, char out[65], const char **token, int *generated);
/* The help lines of the flags serve and train --serve share. */
#define CM_HTTP_HELP_TOKEN                                                                                             \
    "  --token T         the API's bearer token (16 to 256 characters; or set CLMNIST_TOKEN, which ps\n"               \
    "                    does not show); beyond loopback without one, a random one is printed at start\n"
#define CM_HTTP_HELP_TLS_CERT "  --tls-cert FILE   serve HTTPS with this PEM certificate (and --tls-key)\n"
#define CM_HTTP_HELP_TLS_KEY "  --tls-key FILE    the certificate's PEM private key\n"
#define CM_HTTP_HELP_CORS                                                                                              \
    "  --cors ORIGIN     let the pages of this one origin (https://example.org) call the API (default: none)\n"

/* Whether a Host header ("name:port", "[v6]:port"; NULL: none, HTTP/1.0) names this machine:
 * localhost, 127.x.y.z or [::1]. A server bound to loopback answers only those (DNS rebinding:
 * another site's name pointed at 127.0.0.1 would make its pages same-origin with this server). */
int http_host_is_local(const char *host);
/* A PEM file's text (at most 1 MiB, NUL-terminated, malloc'd) for --tls-cert and --tls-key. */
cm_status http_read_pem(const char *flag, const char *path, char **out);
/* A secret of 32 random bytes from the system's CSPRNG (OpenSSL's RAND_bytes), as 64 hex digits. */
cm_status http_random_secret(char out[65]);

/* Binds and starts the worker threads. The tables in cfg must outlive the server. */
cm_status http_server_start(const cm_http_config *cfg, cm_http_server **out);
/* The port bound (the one chosen when cfg->port was 0). */
int http_server_port(const cm_http_server *s);
/* Stops accepting, closes every connection, joins the threads and frees the server. */
void http_server_stop(cm_http_server *s);

/* The value of a request header, or NULL. */
const char *http_request_header(const cm_http_request *req, const char *name);
/* The value of a query parameter ("?input=1"), or NULL. */
const char *http_request_query(const cm_http_request *req, const char *key);

/* Replies with an object (which it frees) printed as JSON; 500 when out of memory. */
struct cJSON;
void http_reply_json(cm_http_reply *rep, int status, struct cJSON *obj);
/* Replies {"error": "<message>"} with a printf-formatted message. */
void http_reply_error(cm_http_reply *rep, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
