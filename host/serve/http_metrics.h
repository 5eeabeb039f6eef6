/* http_metrics.h: the HTTP server's own counters for GET /metrics (Prometheus text format 0.0.4):
 * requests by route and status code, and a histogram of the time to answer. Counted with atomic
 * adds from every worker thread. */
#ifndef CLMNIST_HTTP_METRICS_H
#define CLMNIST_HTTP_METRICS_H
#include <stdint.h>
#include <stdio.h>

#include "http_server.h"

#define HM_BUCKETS 12

typedef struct {
    const cm_http_route *routes; /* label i < nroutes: routes[i]; nroutes: "page" (the assets);
                                    nroutes + 1: "/metrics"; nroutes + 2: "other" (unknown paths) */
    int nroutes;
    uint64_t *counts; /* [label][code index] */
    uint64_t buckets[HM_BUCKETS + 1], sum_us, count;
} http_metrics;

/* 0, or -1 when out of memory. */
int metrics_init(http_metrics *m, const cm_http_route *routes, int nroutes);
void metrics_free(http_metrics *m);
/* One answer: label as above, its status, the seconds from the request's headers to the answer. */
void metrics_record(http_metrics *m, int label, int status, double seconds);
/* The counters as Prometheus text. */
void metrics_write(FILE *out, const http_metrics *m);
/* A label value with \, " and newlines escaped, as the text format wants. */
void metrics_label(FILE *out, const char *value);

#endif
