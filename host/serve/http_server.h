/* http_server.h: a small HTTP/1.1 server for clmnist's web pages and JSON APIs, on libmicrohttpd:
 * its own pool of worker threads (each an event loop over its connections), a connection limit,
 * an idle timeout per connection and a request-body limit. It knows routes (method + exact path ->
 * handler) and embedded assets (path -> bytes compiled into the binary); nothing maps a URL to the
 * file system. Every error is answered here in JSON, {"error": "..."}: 404 for an unknown path,
 * 405 (with Allow) for a known path and another method, 413 for a body over the limit. Used by
 * `clmnist serve`; independent of it (nothing here knows about models). */
#ifndef CLMNIST_HTTP_SERVER_H
#define CLMNIST_HTTP_SERVER_H
#include <stddef.h>
#include <stdint.h>

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

typedef struct {
    const char *method; /* "GET" (HEAD is answered too) or "POST" */
    const char *path;   /* exact, without the query: "/api/predict" */
    cm_http_handler handler;
    void *ctx;
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
    cm_http_listener *listener; /* from http_listen (bind and port then unused), taken over even on
                                   failure; NULL: bind here */
} cm_http_config;

/* Binds bind:port (bind NULL: 127.0.0.1; port 0: any free port) and listens now, so that a port
 * in use fails before the work that precedes serving; http_server_start takes it over. */
cm_status http_listen(const char *bind, int port, cm_http_listener **out);
/* The port bound. */
int http_listener_port(const cm_http_listener *l);
/* Closes a listener no server took over (NULL: nothing). */
void http_listener_close(cm_http_listener *l);

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
