/* cmd_serve.c: `clmnist serve`: a saved model behind a web page (draw a digit, see the answer)
 * and a JSON API, until SIGINT or SIGTERM. The server itself is host/serve/. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "http_server.h"
#include "pipeline.h"
#include "predictor.h"
#include "serve_api.h"
#include "serve_assets.h"

#define MAX_CLASSES 1024

typedef struct {
    const char *model, *bind, *backend, *device, *data;
    int port, workers, contexts, threads, max_connections, timeout_s;
    long max_body;
} serve_args;

static void serve_usage(void) {
    printf("usage: clmnist serve --model FILE [options]\n\n"
           "Serves a saved model: a web page to draw a digit (or upload an image) and see what the model\n"
           "answers, and a JSON API (POST /api/predict, GET /api/model, /api/health, /api/random). Stops\n"
           "cleanly on Ctrl-C (SIGINT) or SIGTERM.\n\noptions:\n");
    printf("  --model FILE          a model saved by 'clmnist train' (1x28x28 input)\n");
    printf("  --port N              TCP port (default 8080; 0: any free port, printed)\n");
    printf("  --bind ADDR           numeric address to listen on (default 127.0.0.1: this machine only;\n"
           "                        0.0.0.0 or :: for every interface)\n");
    printf("  --data DIR            IDX dataset whose test images the 'random test digit' button shows\n");
    printf("  --backend B           'device' (OpenCL, default) or 'host' (C reference backend, OpenBLAS GEMM)\n");
    printf("  --device SEL          OpenCL device: index or name substring from 'clmnist devices'\n");
    printf("  --workers N           HTTP worker threads (default 4)\n");
    printf("  --contexts N          inference contexts, each with its own backend (default: --workers for\n"
           "                        the host backend, 1 for the device)\n");
    printf("  --threads N           host backend: threads per request (default 1)\n");
    printf("  --max-connections N   open connections at most (default 64)\n");
    printf("  --timeout S           close a connection idle for S seconds (default 10)\n");
    printf("  --max-body BYTES      largest request body (default 4194304: 4 MiB); larger: 413\n");
    printf("  -h, --help            show this help\n");
}

static cm_status parse_int_opt(const char *flag, const char *text, long lo, long hi, int *out) {
    long v;
    CM_TRY(cm_parse_int(flag, text, lo, hi, &v));
    *out = (int)v;
    return CM_OK;
}

static cm_status parse_opt(int c, serve_args *a) {
    switch (c) {
    case 'm': a->model = optarg; return CM_OK;
    case 'b': a->bind = optarg; return CM_OK;
    case 'B':
        if (strcmp(optarg, "host") && strcmp(optarg, "device"))
            return cm_fail(CM_ERR_USAGE, "--backend '%s': expected 'host' or 'device'", optarg);
        a->backend = optarg;
        return CM_OK;
    case 'd': a->device = optarg; return CM_OK;
    case 'D': a->data = optarg; return CM_OK;
    case 'p': return parse_int_opt("--port", optarg, 0, 65535, &a->port);
    case 'w': return parse_int_opt("--workers", optarg, 1, 256, &a->workers);
    case 'c': return parse_int_opt("--contexts", optarg, 1, 256, &a->contexts);
    case 't': return parse_int_opt("--threads", optarg, 1, 1024, &a->threads);
    case 'C': return parse_int_opt("--max-connections", optarg, 1, 65536, &a->max_connections);
    case 'T': return parse_int_opt("--timeout", optarg, 1, 3600, &a->timeout_s);
    case 'x': return cm_parse_int("--max-body", optarg, 1024, 1L << 30, &a->max_body);
    default: return cm_fail(CM_ERR_USAGE, "internal: option %d", c);
    }
}

static cm_status parse(int argc, char **argv, serve_args *a, int *help) {
    *a = (serve_args){.bind = "127.0.0.1",
                      .backend = "device",
                      .port = 8080,
                      .workers = 4,
                      .threads = 1,
                      .max_connections = 64,
                      .timeout_s = 10,
                      .max_body = 4L << 20};
    *help = 0;
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},   {"bind", required_argument, NULL, 'b'},
        {"backend", required_argument, NULL, 'B'}, {"device", required_argument, NULL, 'd'},
        {"data", required_argument, NULL, 'D'},    {"port", required_argument, NULL, 'p'},
        {"workers", required_argument, NULL, 'w'}, {"contexts", required_argument, NULL, 'c'},
        {"threads", required_argument, NULL, 't'}, {"max-connections", required_argument, NULL, 'C'},
        {"timeout", required_argument, NULL, 'T'}, {"max-body", required_argument, NULL, 'x'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == 'h') {
            serve_usage();
            *help = 1;
            return CM_OK;
        }
        if (c == ':') return cm_fail(CM_ERR_USAGE, "clmnist serve: %s needs a value", argv[optind - 1]);
        if (c == '?')
            return cm_fail(CM_ERR_USAGE, "clmnist serve: unknown option '%s' (see 'clmnist serve --help')",
                           argv[optind - 1]);
        CM_TRY(parse_opt(c, a));
    }
    if (optind < argc) return cm_fail(CM_ERR_USAGE, "clmnist serve: unexpected argument '%s'", argv[optind]);
    if (!a->model) return cm_fail(CM_ERR_USAGE, "clmnist serve: --model FILE is required");
    if (!a->contexts) a->contexts = strcmp(a->backend, "host") ? 1 : a->workers;
    return CM_OK;
}

/* One name per class: the model's class_names, else the known names of its dataset (Fashion-MNIST's
 * when it says fashion), else the class numbers. */
static const char **class_names(const cm_meta *meta, int classes, char (*store)[32]) {
    const char **names = calloc((size_t)classes, sizeof *names);
    if (!names) return NULL;
    if (classes <= 64 && run_meta_class_names(meta, classes, store, names)) return names;
    const char *const *known = run_known_class_names(meta_get(meta, "dataset"), classes);
    for (int c = 0; c < classes; c++) {
        if (known) {
            names[c] = known[c];
        } else {
            snprintf(store[c], 32, "%d", c);
            names[c] = store[c];
        }
    }
    return names;
}

static cm_status check_model(const char *path, const cm_layout *L) {
    if (L->input.c != 1 || L->input.h != 28 || L->input.w != 28)
        return cm_fail(CM_ERR_USAGE, "%s: the model takes %dx%dx%d inputs; serve needs 1x28x28 (MNIST-sized) images",
                       path, L->input.c, L->input.h, L->input.w);
    if (L->classes > MAX_CLASSES)
        return cm_fail(CM_ERR_USAGE, "%s: %d classes; serve handles at most %d", path, L->classes, MAX_CLASSES);
    return CM_OK;
}

static void print_model(const serve_args *a, const cm_predictor *p) {
    const cm_model_file *f = predictor_file(p);
    char arch[CM_ARCH_TEXT];
    model_describe(&f->model.layout, arch, sizeof arch);
    const char *ds = meta_get(&f->meta, "dataset"), *acc = meta_get(&f->meta, "test_accuracy");
    printf("serve: %s: %s, trained on %s", a->model, arch, ds ? ds : "(unknown data)");
    if (acc) printf(", test accuracy %.2f%%", 100.0 * atof(acc));
    printf("\nserve: %d inference context%s on %s\n", predictor_contexts(p), predictor_contexts(p) == 1 ? "" : "s",
           predictor_device_name(p));
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

/* Serves until SIGINT or SIGTERM. */
static cm_status run(const serve_args *a, cm_serve_api *api) {
    cm_http_route routes[CM_SERVE_ROUTES];
    serve_api_routes(api, routes);
    cm_http_asset assets[64]; /* the page's files; the training dashboard's are train --serve's */
    int nassets = 0;
    for (int i = 0; i < cm_serve_asset_count && nassets < 64; i++)
        if (strncmp(cm_serve_assets[i].path, "/dashboard", 10) != 0) assets[nassets++] = cm_serve_assets[i];
    cm_http_config cfg = {.bind = a->bind,
                          .port = a->port,
                          .threads = a->workers,
                          .max_connections = a->max_connections,
                          .timeout_s = a->timeout_s,
                          .max_body = (size_t)a->max_body,
                          .routes = routes,
                          .nroutes = CM_SERVE_ROUTES,
                          .assets = assets,
                          .nassets = nassets};
    cm_http_server *srv;
    CM_TRY(http_server_start(&cfg, &srv));
    const char *shown = !strcmp(a->bind, "0.0.0.0") || !strcmp(a->bind, "::") ? "localhost" : a->bind;
    int v6 = strchr(shown, ':') != NULL;
    printf("serve: listening on http://%s%s%s:%d/ (%d workers, Ctrl-C stops)\n", v6 ? "[" : "", shown, v6 ? "]" : "",
           http_server_port(srv), a->workers);
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
    cm_dataset ds = {0};
    cm_predictor_options po = {.backend = a.backend, .device = a.device, .contexts = a.contexts, .threads = a.threads};
    cm_predictor *p = NULL;
    cm_status st = predictor_open(a.model, &po, &p);
    if (st == CM_OK) st = check_model(a.model, &predictor_file(p)->model.layout);
    if (st == CM_OK && a.data) /* its test split, read as the model's data was (pipeline.h) */
        st = pipeline_load_test(&predictor_file(p)->meta, a.model, &predictor_file(p)->model.layout, a.data, &ds);
    int classes = st == CM_OK ? predictor_file(p)->model.layout.classes : 0;
    char(*store)[32] = calloc((size_t)classes + 1, 32);
    const char **names = st == CM_OK && store ? class_names(&predictor_file(p)->meta, classes, store) : NULL;
    if (st == CM_OK && !names) st = cm_fail(CM_ERR_MEMORY, "out of host memory");
    if (st == CM_OK) {
        print_model(&a, p);
        if (a.data) printf("serve: random test digits from %s (%d images)\n", a.data, ds.test.count);
        cm_serve_api api = {.pred = p,
                            .model_path = a.model,
                            .backend = a.backend,
                            .test = a.data ? &ds.test : NULL,
                            .data_dir = a.data,
                            .class_names = names,
                            .seed = (uint64_t)time(NULL)};
        st = run(&a, &api);
    }
    free(names);
    free(store);
    predictor_close(p);
    dataset_free(&ds);
    return st;
}
