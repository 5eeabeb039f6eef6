/* cmd_serve.c: `clmnist serve`: a saved model behind a web page (draw a digit, see the answer)
 * and a JSON API, until SIGINT or SIGTERM. The server itself is host/serve/; the model is loaded
 * through the public API (include/clmnist/clmnist.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api_internal.h"
#include "cli.h"
#include "commands.h"
#include "http_server.h"
#include "pipeline.h"
#include "predictor.h"
#include "preflight.h"
#include "serve_api.h"
#include "serve_assets.h"

#define MAX_CLASSES 1024

typedef struct {
    const char *model, *bind, *backend, *device, *data;
    const char *token, *tls_cert, *tls_key, *cors;
    int port, workers, contexts, threads, max_connections, timeout_s, per_client, deadline_s;
    long max_body;
    const char *token_used; /* --token, CLMNIST_TOKEN, a random one (beyond loopback) or NULL */
    int token_fresh;        /* token_used is random: print it */
    char token_buf[65];
    int max_batch;  /* images per forward pass under load; 1: no batching */
    double wait_ms; /* how long a request waits for others to batch with; 0: no batching */
} serve_args;

static const cm_extra_option serve_extra[] = {
    {"model", 1, "  --model FILE      a model saved by 'clmnist train' (grey or colour input), or an ONNX model\n"},
    {"port", 1, "  --port N          TCP port (default 8080; 0: any free port, printed)\n"},
    {"bind", 1,
     "  --bind ADDR       numeric address to listen on (default 127.0.0.1: this machine only;\n"
     "                    0.0.0.0 or :: for every interface)\n"},
    {"workers", 1, "  --workers N       HTTP worker threads (default 4)\n"},
    {"contexts", 1,
     "  --contexts N      inference contexts, each with its own backend (default: --workers for\n"
     "                    the host backend, 1 for the device)\n"},
    {"max-connections", 1,
     "  --max-connections N  open connections at most (default 256); beyond, 503 with Retry-After\n"},
    {"timeout", 1, "  --timeout S       close a connection idle for S seconds (default 10)\n"},
    {"max-body", 1, "  --max-body BYTES  largest request body (default 4194304: 4 MiB); larger: 413\n"},
    {"token", 1, CM_HTTP_HELP_TOKEN},
    {"tls-cert", 1, CM_HTTP_HELP_TLS_CERT},
    {"tls-key", 1, CM_HTTP_HELP_TLS_KEY},
    {"cors", 1, CM_HTTP_HELP_CORS},
    {"per-client", 1, "  --per-client N    open connections from one address at most (default 16)\n"},
    {"deadline", 1,
     "  --deadline S      a request's headers, and then its body, must arrive within S seconds each\n"
     "                    (default 20)\n"},
    {"max-batch", 1,
     "  --max-batch N     concurrent predictions gathered into one forward pass, at most N (default\n"
     "                    32; 1: no batching)\n"},
    {"batch-wait-ms", 1,
     "  --batch-wait-ms MS  how long a prediction waits for others to batch with (default 2;\n"
     "                    0: no batching)\n"},
    {NULL, 0, NULL}};

static cm_status parse_int_opt(const char *flag, const char *text, long lo, long hi, int *out) {
    long v;
    CM_TRY(cm_parse_int(flag, text, lo, hi, &v));
    *out = (int)v;
    return CM_OK;
}

static cm_status on_extra(void *ctx, int index, const char *v) {
    serve_args *a = ctx;
    switch (index) {
    case 0: a->model = v; return CM_OK;
    case 1: return parse_int_opt("--port", v, 0, 65535, &a->port);
    case 2: a->bind = v; return CM_OK;
    case 3: return parse_int_opt("--workers", v, 1, 256, &a->workers);
    case 4: return parse_int_opt("--contexts", v, 1, 256, &a->contexts);
    case 5: return parse_int_opt("--max-connections", v, 1, 65536, &a->max_connections);
    case 6: return parse_int_opt("--timeout", v, 1, 3600, &a->timeout_s);
    case 7: return cm_parse_int("--max-body", v, 1024, 1L << 30, &a->max_body);
    case 8: a->token = v; return CM_OK;
    case 9: a->tls_cert = v; return CM_OK;
    case 10: a->tls_key = v; return CM_OK;
    case 11: a->cors = v; return CM_OK;
    case 12: return parse_int_opt("--per-client", v, 1, 65536, &a->per_client);
    case 13: return parse_int_opt("--deadline", v, 1, 3600, &a->deadline_s);
    case 14: return parse_int_opt("--max-batch", v, 1, 4096, &a->max_batch);
    case 15: return cm_parse_float("--batch-wait-ms", v, 0.0, 1000.0, &a->wait_ms);
    default: return cm_fail(CM_ERR_USAGE, "internal: option %d", index);
    }
}

static cm_status parse(int argc, char **argv, serve_args *a, int *help) {
    *a = (serve_args){.bind = "127.0.0.1",
                      .port = 8080,
                      .workers = 4,
                      .max_connections = 256,
                      .timeout_s = 10,
                      .per_client = 16,
                      .deadline_s = 20,
                      .max_body = 4L << 20,
                      .max_batch = 32,
                      .wait_ms = 2.0};
    const cm_command_info info = {
        "serve",
        CM_CMD_SERVE,
        "serve --model FILE [options]",
        "Serves a saved model: a web page to draw a digit or upload an image (a colour model takes\n"
        "uploads only) and see what the model answers, a JSON API (POST /api/predict, GET /api/model,\n"
        "/api/health, /api/random, /api/openapi.json) and Prometheus metrics (GET /metrics). Stops\n"
        "cleanly on Ctrl-C (SIGINT) or SIGTERM. Security: docs/serve.md.",
        serve_extra,
        on_extra,
        a,
        1};
    cm_train_args t;
    CM_TRY(cli_parse(argc, argv, &info, &t, help, NULL));
    if (*help) return CM_OK;
    a->backend = t.backend;
    a->device = t.device;
    a->data = run_option_given(&t, "data") ? t.data_dir : NULL; /* no test images unless asked for */
    a->threads = t.threads ? t.threads : 1;                     /* per request */
    if (!a->model) return cm_fail(CM_ERR_USAGE, "clmnist serve: --model FILE is required");
    if (!a->tls_cert != !a->tls_key)
        return cm_fail(CM_ERR_USAGE, "--tls-cert and --tls-key: give both (the certificate and its private key)");
    return http_pick_token(a->bind, a->token, a->token_buf, &a->token_used, &a->token_fresh);
}

static cm_status check_model(const char *path, const cm_layout *L) {
    if ((L->input.c != 1 && L->input.c != 3) || L->input.h > 1024 || L->input.w > 1024)
        return cm_fail(CM_ERR_USAGE,
                       "%s: the model takes %dx%dx%d inputs; serve takes grey (1) or colour (3) images "
                       "of at most 1024x1024",
                       path, L->input.c, L->input.h, L->input.w);
    if (L->classes > MAX_CLASSES)
        return cm_fail(CM_ERR_USAGE, "%s: %d classes; serve handles at most %d", path, L->classes, MAX_CLASSES);
    return CM_OK;
}

/* --data's test images must be the model's input, byte for byte in size (/api/random sends them). */
static cm_status check_test_images(const serve_args *a, const cm_layout *L, const cm_split *test) {
    int32_t want = L->input.c * L->input.h * L->input.w;
    if (test->count < 1) return cm_fail(CM_ERR_FORMAT, "--data %s: no test images for /api/random", a->data);
    if (test->dim != want)
        return cm_fail(CM_ERR_FORMAT, "--data %s: test images of %d values; the model %s takes %dx%dx%d = %d", a->data,
                       test->dim, a->model, L->input.c, L->input.h, L->input.w, want);
    return CM_OK;
}

static void print_model(const serve_args *a, const cm_predictor *p, const char *why) {
    const cm_model_file *f = predictor_file(p);
    char arch[CM_ARCH_TEXT];
    model_describe(&f->model.layout, arch, sizeof arch);
    const char *ds = meta_get(&f->meta, "dataset"), *acc = meta_get(&f->meta, "test_accuracy");
    printf("serve: %s: %s, trained on %s", a->model, arch, ds ? ds : "(unknown data)");
    if (acc) printf(", test accuracy %.2f%%", 100.0 * atof(acc));
    printf("\nserve: %d inference context%s on %s%s%s%s\n", predictor_contexts(p),
           predictor_contexts(p) == 1 ? "" : "s", predictor_device_name(p), why[0] ? " (" : "", why, why[0] ? ")" : "");
    if (a->max_batch > 1 && a->wait_ms > 0) /* at most one prediction per HTTP worker waits at a time */
        printf("serve: batching up to %d concurrent predictions per forward pass (waiting up to %g ms)\n",
               a->max_batch < a->workers ? a->max_batch : a->workers, a->wait_ms);
}

/* Answers what is still queued, says how many forward passes the predictions took, and frees. */
static void stop_batcher(cm_batcher *b) {
    if (!b) return;
    int64_t n, batches;
    int waiting;
    batcher_counts(b, &n, &batches, &waiting);
    printf("serve: %lld predictions in %lld forward passes\n", (long long)n, (long long)batches);
    batcher_destroy(b);
}

/* SIGINT and SIGTERM write their number into a pipe that the main thread waits on: whichever
 * thread the kernel picks (OpenBLAS starts threads of its own before main), the handler runs and
 * the main thread stops the server. */
static int stop_pipe[2] = {-1, -1};

static void on_stop_signal(int sig) {
    unsigned char b = (unsigned char)sig;
    ssize_t n = write(stop_pipe[1], &b, 1);
    (void)n;
}

static cm_status catch_stop_signals(void) {
    if (stop_pipe[0] < 0 && pipe(stop_pipe) != 0) return cm_fail(CM_ERR_IO, "pipe: %s", strerror(errno));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return cm_fail(CM_ERR_IO, "sigaction: %s", strerror(errno));
    return CM_OK;
}

static int wait_for_stop_signal(void) {
    unsigned char b = 0;
    while (read(stop_pipe[0], &b, 1) < 0 && errno == EINTR)
        ;
    return b;
}

/* Before loading anything: the backend (auto decided; contexts follow it) and the port, bound now
 * and kept. */
static cm_status preflight(serve_args *a, cm_backend_choice *c, cm_http_listener **listener) {
    CM_TRY(preflight_backend(a->backend, a->device, 0, c));
    a->backend = c->kind;
    if (!a->contexts) a->contexts = strcmp(a->backend, "host") ? 1 : a->workers;
    return http_listen(a->bind, a->port, listener);
}

/* Serves until SIGINT or SIGTERM. */
static cm_status run(const serve_args *a, cm_serve_api *api, cm_http_listener *listener) {
    cm_http_route routes[CM_SERVE_ROUTES];
    serve_api_routes(api, routes);
    cm_http_asset assets[64]; /* the page's files; the training dashboard's are train --serve's */
    int nassets = 0;
    for (int i = 0; i < cm_serve_asset_count && nassets < 64; i++)
        if (strncmp(cm_serve_assets[i].path, "/dashboard", 10) != 0 && strcmp(cm_serve_assets[i].path, "/openapi.json"))
            assets[nassets++] = cm_serve_assets[i];
    const char *token = a->token_used;
    int fresh = a->token_fresh;
    cm_http_config cfg = {.bind = a->bind,
                          .port = a->port,
                          .threads = a->workers,
                          .max_connections = a->max_connections,
                          .timeout_s = a->timeout_s,
                          .max_body = (size_t)a->max_body,
                          .routes = routes,
                          .nroutes = CM_SERVE_ROUTES,
                          .assets = assets,
                          .nassets = nassets,
                          .listener = listener,
                          .token = token,
                          .cors_origin = a->cors,
                          .tls_cert = a->tls_cert,
                          .tls_key = a->tls_key,
                          .per_client = a->per_client,
                          .deadline_s = a->deadline_s,
                          .metrics = 1,
                          .metrics_extra = serve_api_metrics,
                          .metrics_ctx = api};
    cm_http_server *srv;
    CM_TRY(http_server_start(&cfg, &srv));
    const char *shown = !strcmp(a->bind, "0.0.0.0") || !strcmp(a->bind, "::") ? "localhost" : a->bind;
    int v6 = strchr(shown, ':') != NULL;
    printf("serve: listening on http%s://%s%s%s:%d/ (%d workers, Ctrl-C stops)\n", a->tls_cert ? "s" : "",
           v6 ? "[" : "", shown, v6 ? "]" : "", http_server_port(srv), a->workers);
    if (fresh)
        printf("serve: %s is not loopback: the API needs this token (printed once; set CLMNIST_TOKEN or --token to "
               "choose one):\nserve: token %s\nserve: the page: http%s://HOST:%d/?token=%s\n",
               a->bind, token, a->tls_cert ? "s" : "", http_server_port(srv), token);
    else if (token)
        printf("serve: the API needs the bearer token (Authorization: Bearer ...)\n");
    fflush(stdout);
    int sig = wait_for_stop_signal();
    printf("serve: %s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    http_server_stop(srv);
    return CM_OK;
}

cm_status cmd_serve(int argc, char **argv) {
    serve_args a;
    int help;
    CM_TRY(parse(argc, argv, &a, &help));
    if (help) return CM_OK;
    CM_TRY(catch_stop_signals());
    cm_backend_choice choice;
    cm_http_listener *listener = NULL;
    cm_dataset ds = {0};
    clmnist_ctx *ctx = NULL;
    clmnist_model *m = NULL;
    cm_status st = preflight(&a, &choice, &listener);
    /* the model through the public API; the HTTP API (serve_api.h) works on its predictor */
    char opts[640];
    int batching = a.max_batch > 1 && a.wait_ms > 0;
    snprintf(opts, sizeof opts, "backend=%s,contexts=%d,threads=%d,batch=%d%s%s", a.backend, a.contexts, a.threads,
             batching ? a.max_batch : 1, a.device ? ",device=" : "", a.device ? a.device : "");
    if (st == CM_OK) st = clmnist_open(opts, &ctx);
    if (st == CM_OK) st = clmnist_model_load(ctx, a.model, &m);
    cm_predictor *p = st == CM_OK ? api_model_predictor(m) : NULL;
    if (st == CM_OK) st = check_model(a.model, &predictor_file(p)->model.layout);
    if (st == CM_OK && a.data) /* its test split, read as the model's data was (pipeline.h) */
        st = pipeline_load_test(&predictor_file(p)->meta, a.model, &predictor_file(p)->model.layout, a.data, &ds);
    if (st == CM_OK && a.data) st = check_test_images(&a, &predictor_file(p)->model.layout, &ds.test);
    int classes = st == CM_OK ? clmnist_model_classes(m) : 0;
    const char **names = calloc((size_t)classes + 1, sizeof *names);
    for (int c = 0; names && c < classes; c++)
        names[c] = clmnist_model_class_name(m, c);
    if (st == CM_OK && !names) st = cm_fail(CM_ERR_MEMORY, "out of host memory");
    cm_batcher *batcher = NULL; /* a batching thread per context; callers: the HTTP workers */
    if (st == CM_OK && batching) st = batcher_for_predictor(p, a.max_batch, a.wait_ms, a.workers, &batcher);
    if (st == CM_OK) {
        print_model(&a, p, choice.why);
        if (a.data) printf("serve: random test images from %s (%d of them)\n", a.data, ds.test.count);
        cm_serve_api api = {.pred = p,
                            .batcher = batcher,
                            .model_path = a.model,
                            .backend = a.backend,
                            .test = a.data ? &ds.test : NULL,
                            .data_dir = a.data,
                            .class_names = names,
                            .seed = (uint64_t)time(NULL)};
        st = run(&a, &api, listener);
        listener = NULL;
    }
    stop_batcher(batcher);
    free(names);
    clmnist_model_free(m);
    clmnist_close(ctx);
    http_listener_close(listener);
    dataset_free(&ds);
    return st;
}
