/* http_metrics.c: the HTTP server's request counters (http_metrics.h). */
#include "http_metrics.h"

#include <stdlib.h>

/* The status codes counted one by one; any other is counted under its class ("2xx" ...). */
static const int codes[] = {200, 204, 400, 401, 403, 404, 405, 409, 413, 415, 500, 503};
#define NCODES (int)(sizeof codes / sizeof codes[0])
#define NSLOTS (NCODES + 5) /* + 1xx..5xx */
static const double bounds[HM_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};

int metrics_init(http_metrics *m, const cm_http_route *routes, int nroutes) {
    *m = (http_metrics){.routes = routes, .nroutes = nroutes};
    m->counts = calloc((size_t)(nroutes + 3) * NSLOTS, sizeof *m->counts);
    return m->counts ? 0 : -1;
}

void metrics_free(http_metrics *m) {
    free(m->counts);
    m->counts = NULL;
}

static int slot(int status) {
    for (int i = 0; i < NCODES; i++)
        if (codes[i] == status) return i;
    int cls = status / 100;
    return NCODES + (cls >= 1 && cls <= 5 ? cls - 1 : 4);
}

void metrics_record(http_metrics *m, int label, int status, double seconds) {
    if (!m->counts || label < 0 || label > m->nroutes + 2) return;
    __atomic_fetch_add(&m->counts[label * NSLOTS + slot(status)], 1, __ATOMIC_RELAXED);
    int b = 0;
    while (b < HM_BUCKETS && seconds > bounds[b])
        b++;
    __atomic_fetch_add(&m->buckets[b], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&m->sum_us, (uint64_t)(seconds * 1e6), __ATOMIC_RELAXED);
    __atomic_fetch_add(&m->count, 1, __ATOMIC_RELAXED);
}

void metrics_label(FILE *out, const char *v) {
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            fprintf(out, "\\%c", *v);
        else if (*v == '\n')
            fputs("\\n", out);
        else
            fputc(*v, out);
    }
}

static void code_text(int s, char out[8]) {
    if (s < NCODES)
        snprintf(out, 8, "%d", codes[s]);
    else
        snprintf(out, 8, "%dxx", s - NCODES + 1);
}

void metrics_write(FILE *out, const http_metrics *m) {
    fputs("# HELP clmnist_http_requests_total HTTP requests answered, by route and status code.\n"
          "# TYPE clmnist_http_requests_total counter\n",
          out);
    for (int l = 0; m->counts && l < m->nroutes + 3; l++)
        for (int s = 0; s < NSLOTS; s++) {
            uint64_t n = __atomic_load_n(&m->counts[l * NSLOTS + s], __ATOMIC_RELAXED);
            if (!n) continue;
            char code[8];
            code_text(s, code);
            fputs("clmnist_http_requests_total{method=\"", out);
            metrics_label(out, l < m->nroutes ? m->routes[l].method : l < m->nroutes + 2 ? "GET" : "any");
            fputs("\",route=\"", out);
            metrics_label(out, l < m->nroutes        ? m->routes[l].path
                               : l == m->nroutes     ? "page"
                               : l == m->nroutes + 1 ? "/metrics"
                                                     : "other");
            fprintf(out, "\",code=\"%s\"} %llu\n", code, (unsigned long long)n);
        }
    fputs("# HELP clmnist_http_request_duration_seconds Time from a request's headers to its answer.\n"
          "# TYPE clmnist_http_request_duration_seconds histogram\n",
          out);
    uint64_t cum = 0;
    for (int b = 0; b <= HM_BUCKETS; b++) {
        cum += __atomic_load_n(&m->buckets[b], __ATOMIC_RELAXED);
        if (b < HM_BUCKETS)
            fprintf(out, "clmnist_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n", bounds[b],
                    (unsigned long long)cum);
        else
            fprintf(out, "clmnist_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    fprintf(out, "clmnist_http_request_duration_seconds_sum %.6f\n",
            (double)__atomic_load_n(&m->sum_us, __ATOMIC_RELAXED) * 1e-6);
    fprintf(out, "clmnist_http_request_duration_seconds_count %llu\n", (unsigned long long)cum);
}
