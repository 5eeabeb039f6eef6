/* dashboard_api.c: the dashboard's routes (dashboard.h): the event stream, the metrics, the
 * samples, health, stop, and serve's API once the model is saved. */
#include "dashboard_impl.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STREAM_POINTS 256 /* points per fill of an event stream */
#define PING_S 1          /* an idle stream sends a comment this often */

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
}

/* A float as JSON: NaN and infinities (a diverged loss) as null. */
static void sb_num(sbuf *b, const char *key, double v, const char *sep) {
    if (isfinite(v))
        sb_add(b, "\"%s\":%.6g%s", key, v, sep);
    else
        sb_add(b, "\"%s\":null%s", key, sep);
}

static void point_json(sbuf *b, const cm_dash_point *p) {
    sb_add(b, "{\"step\":%lld,", (long long)p->step);
    sb_num(b, "epoch", p->epoch, ",");
    sb_num(b, "loss", p->loss, ",");
    sb_num(b, "accuracy", p->acc, ",");
    sb_num(b, "lr", p->lr, ",");
    sb_num(b, "images_per_s", p->img_s, "}");
}

static void epoch_json(sbuf *b, const cm_dash_epoch *e) {
    sb_add(b, "{\"epoch\":%d,", e->epoch);
    sb_num(b, "train_loss", e->train_loss, ",");
    sb_num(b, "train_accuracy", e->train_acc, ",");
    sb_num(b, "eval_loss", e->eval_loss, ",");
    sb_num(b, "eval_accuracy", e->eval_acc, ",");
    sb_num(b, "lr", e->lr, ",");
    sb_num(b, "seconds", e->seconds, ",");
    sb_num(b, "images_per_s", e->img_s, "}");
}

static void status_json(sbuf *b, const cm_dashboard *d, const dash_snapshot *s) {
    const cm_dash_status *st = &s->status;
    const cm_dashboard_info *in = &d->info;
    sb_add(b, "{\"state\":\"%s\",\"epoch\":%d,\"epochs\":%d,\"step\":%d,\"steps\":%d,", st->state, st->epoch,
           st->epochs, st->step, st->steps);
    sb_num(b, "lr", st->lr, ",");
    sb_num(b, "images_per_s", st->img_s, ",");
    sb_num(b, "eta_s", st->eta_s, ",");
    sb_num(b, "elapsed_s", st->elapsed_s, ",");
    /* the strings come from the command line and the model: no quotes or control characters there
     * but in a path, which the page does not need */
    sb_add(b,
           "\"stop_requested\":%s,\"model_ready\":%s,\"device\":\"%s\",\"backend\":\"%s\",\"architecture\":\"%s\","
           "\"dataset\":\"%s\",\"eval_split\":\"%s\",\"classes\":%d}",
           st->stopped ? "true" : "false", s->model_ready ? "true" : "false", in->device, in->backend, in->arch,
           in->dataset, in->eval_name, in->classes);
}

/* The last evaluation: its confusion matrix and the grid's predicted classes. */
static void eval_json(sbuf *b, const cm_dashboard *d, const dash_snapshot *s) {
    int k = d->info.classes;
    sb_add(b, "{\"confusion\":");
    if (!s->has_confusion) sb_add(b, "null");
    for (int t = 0; s->has_confusion && t < k; t++) {
        sb_add(b, "%s[", t ? "," : "[");
        for (int p = 0; p < k; p++)
            sb_add(b, "%s%d", p ? "," : "", s->confusion[t * k + p]);
        sb_add(b, "]%s", t + 1 == k ? "]" : "");
    }
    sb_add(b, ",\"grid_predictions\":[");
    for (int i = 0; i < d->grid_n; i++)
        sb_add(b, "%s%d", i ? "," : "", s->grid_pred[i]);
    sb_add(b, "]}");
}

/* ---- GET /api/events ---------------------------------------------------------------------- */

typedef struct {
    cm_dashboard *d;
    uint64_t next_point, gen;
    int next_epoch, sent_eval, started;
    sbuf out;
    size_t off;
    dash_snapshot s;
    cm_dash_point pts[STREAM_POINTS];
    cm_dash_epoch eps[DASH_EPOCHS_MAX];
} event_stream;

/* The events of a snapshot newer than what the stream has sent. */
static void format_events(event_stream *es) {
    dash_snapshot *s = &es->s;
    sbuf *b = &es->out;
    sb_add(b, "event: status\ndata: ");
    status_json(b, es->d, s);
    sb_add(b, "\n\n");
    for (uint64_t i = s->first_point; i < s->npoints; i++) {
        sb_add(b, "event: point\ndata: ");
        point_json(b, &s->pts[i - s->first_point]);
        sb_add(b, "\n\n");
    }
    for (int e = s->first_epoch; e < s->nepochs; e++) {
        sb_add(b, "event: epoch\ndata: {\"epoch\":");
        epoch_json(b, &s->eps[e - s->first_epoch]);
        if (e + 1 == s->nepochs) {
            sb_add(b, ",\"evaluation\":");
            eval_json(b, es->d, s);
        }
        sb_add(b, "}\n\n");
    }
    es->next_point = s->npoints;
    es->next_epoch = s->nepochs;
    es->gen = s->gen;
}

/* Waits (at most PING_S) for a publication newer than the stream's; 1: one came, 0: none, -1:
 * the dashboard closes. Takes what is new. */
static int wait_news(event_stream *es) {
    cm_dashboard *d = es->d;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += PING_S;
    pthread_mutex_lock(&d->mu);
    int rc = 0;
    while (es->started && d->gen == es->gen && !d->closing && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&d->changed, &d->mu, &until);
    int news = d->closing ? -1 : d->gen != es->gen || !es->started;
    if (news > 0) {
        es->s.pts = es->pts;
        es->s.eps = es->eps;
        dash_copy(d, es->next_point, es->next_epoch, STREAM_POINTS, &es->s);
    }
    pthread_mutex_unlock(&d->mu);
    es->started = 1;
    return news;
}

static long stream_read(void *ctx, char *buf, size_t max) {
    event_stream *es = ctx;
    if (es->off == es->out.len) {
        es->off = es->out.len = 0;
        int news = wait_news(es);
        if (news < 0) return -1;
        if (news)
            format_events(es);
        else
            sb_add(&es->out, ": ping\n\n");
        if (es->out.oom) return -1;
    }
    size_t n = es->out.len - es->off < max ? es->out.len - es->off : max;
    memcpy(buf, es->out.p + es->off, n);
    es->off += n;
    return (long)n;
}

static void release_stream_slot(cm_dashboard *d) {
    pthread_mutex_lock(&d->mu);
    d->streams--;
    pthread_mutex_unlock(&d->mu);
}

static void stream_free(void *ctx) {
    event_stream *es = ctx;
    release_stream_slot(es->d);
    free(es->out.p);
    free(es);
}

static void on_events(void *ctx, const cm_http_request *req, cm_http_reply *rep) {
    cm_dashboard *d = ctx;
    pthread_mutex_lock(&d->mu);
    int full = d->streams >= CM_DASH_STREAMS;
    if (!full) d->streams++;
    pthread_mutex_unlock(&d->mu);
    if (full) {
        http_reply_error(rep, 503, "too many event streams (%d); close a dashboard tab", CM_DASH_STREAMS);
        return;
    }
    event_stream *es = calloc(1, sizeof *es);
    if (!es) {
        release_stream_slot(d);
        http_reply_error(rep, 500, "out of memory");
        return;
    }
    es->d = d;
    *rep = (cm_http_reply){.status = 200,
                           .content_type = "text/event-stream",
                           .read = stream_read,
                           .free_stream = stream_free,
                           .stream = es};
}

/* ---- GET /api/metrics, /api/samples, /api/health; POST /api/stop ------------------------------ */

static void reply_sbuf(cm_http_reply *rep, sbuf *b) {
    if (b->oom || !b->p) {
        free(b->p);
        http_reply_error(rep, 500, "out of memory");
        return;
    }
    *rep = (cm_http_reply){.status = 200, .content_type = "application/json", .body = b->p, .len = b->len};
}

static void on_metrics(void *ctx, const cm_http_request *req, cm_http_reply *rep) {
    cm_dashboard *d = ctx;
    dash_snapshot *s = malloc(sizeof *s);
    cm_dash_point *pts = malloc(sizeof *pts * CM_DASH_POINTS);
    cm_dash_epoch *eps = malloc(sizeof *eps * DASH_EPOCHS_MAX);
    sbuf b = {0};
    if (s && pts && eps) {
        *s = (dash_snapshot){.pts = pts, .eps = eps};
        pthread_mutex_lock(&d->mu);
        dash_copy(d, 0, 0, CM_DASH_POINTS, s);
        pthread_mutex_unlock(&d->mu);
        sb_add(&b, "{\"status\":");
        status_json(&b, d, s);
        sb_add(&b, ",\"points_total\":%llu,\"points\":[", (unsigned long long)s->npoints);
        for (uint64_t i = s->first_point; i < s->npoints; i++) {
            if (i > s->first_point) sb_add(&b, ",");
            point_json(&b, &pts[i - s->first_point]);
        }
        sb_add(&b, "],\"epochs\":[");
        for (int e = 0; e < s->nepochs; e++) {
            if (e) sb_add(&b, ",");
            epoch_json(&b, &eps[e]);
        }
        sb_add(&b, "],\"evaluation\":");
        eval_json(&b, d, s);
        sb_add(&b, "}");
    } else {
        b.oom = 1;
    }
    free(s);
    free(pts);
    free(eps);
    reply_sbuf(rep, &b);
}

static void on_samples(void *ctx, const cm_http_request *req, cm_http_reply *rep) {
    const cm_dashboard *d = ctx;
    const cm_split *ev = d->info.eval;
    sbuf b = {0};
    sb_add(&b, "{\"rows\":%d,\"cols\":%d,\"class_names\":[", ev ? ev->rows : 0, ev ? ev->cols : 0);
    for (int c = 0; c < d->info.classes; c++)
        sb_add(&b, "%s\"%s\"", c ? "," : "", d->info.class_names[c]);
    sb_add(&b, "],\"labels\":[");
    for (int i = 0; i < d->grid_n; i++)
        sb_add(&b, "%s%d", i ? "," : "", ev->labels[i]);
    sb_add(&b, "],\"images\":[");
    for (int i = 0; i < d->grid_n; i++) {
        const uint8_t *img = ev->images + (size_t)i * ev->dim;
        sb_add(&b, "%s[", i ? "," : "");
        for (int j = 0; j < ev->dim; j++)
            sb_add(&b, "%s%d", j ? "," : "", img[j]);
        sb_add(&b, "]");
    }
    sb_add(&b, "]}");
    reply_sbuf(rep, &b);
}

static void on_health(void *ctx, const cm_http_request *req, cm_http_reply *rep) {
    cm_dashboard *d = ctx;
    pthread_mutex_lock(&d->mu);
    const char *state = d->status.state;
    int ready = d->api != NULL;
    pthread_mutex_unlock(&d->mu);
    sbuf b = {0};
    int training = strcmp(state, "done") != 0 && strcmp(state, "failed") != 0;
    sb_add(&b, "{\"status\":\"ok\",\"state\":\"%s\",\"training\":%s,\"model_ready\":%s}", state,
           training ? "true" : "false", ready ? "true" : "false");
    reply_sbuf(rep, &b);
}

/* A request another site's page sent (its Origin is not this server): refused, so that a page
 * elsewhere cannot stop the run through the browser. */
static int same_origin(const cm_http_request *req) {
    const char *origin = http_request_header(req, "Origin"), *host = http_request_header(req, "Host");
    if (!origin) return 1;
    const char *p = strstr(origin, "://");
    return host && p && !strcmp(p + 3, host);
}

static void on_stop(void *ctx, const cm_http_request *req, cm_http_reply *rep) {
    cm_dashboard *d = ctx;
    if (!same_origin(req)) {
        http_reply_error(rep, 403, "POST /api/stop from another origin");
        return;
    }
    pthread_mutex_lock(&d->mu);
    const char *state = d->status.state;
    int over = !strcmp(state, "done") || !strcmp(state, "failed");
    pthread_mutex_unlock(&d->mu);
    if (over) {
        http_reply_error(rep, 409, "training has ended");
        return;
    }
    __atomic_store_n((sig_atomic_t *)d->info.stop, 1, __ATOMIC_RELAXED);
    sbuf b = {0};
    sb_add(&b, "{\"stopping\":true}");
    reply_sbuf(rep, &b);
}

/* ---- serve's API once the model is saved -------------------------------------------------- */

static void after_training(cm_dashboard *d, const cm_http_request *req, cm_http_reply *rep) {
    pthread_mutex_lock(&d->mu);
    cm_serve_api *api = d->api;
    pthread_mutex_unlock(&d->mu);
    if (!api) {
        http_reply_error(rep, 503, "%s: the model is still training", req->path);
        return;
    }
    cm_http_route routes[CM_SERVE_ROUTES];
    serve_api_routes(api, routes);
    for (int i = 0; i < CM_SERVE_ROUTES; i++)
        if (!strcmp(routes[i].path, req->path)) {
            routes[i].handler(routes[i].ctx, req, rep);
            return;
        }
    http_reply_error(rep, 404, "%s: not found", req->path);
}

static void on_served(void *ctx, const cm_http_request *req, cm_http_reply *rep) {
    after_training(ctx, req, rep);
}

/* ---- GET /metrics: the run's gauges, and the model's lines once it is saved ------------------- */

void dashboard_metrics(void *ctx, FILE *out) {
    cm_dashboard *d = ctx;
    pthread_mutex_lock(&d->mu);
    cm_dash_status st = d->status;
    cm_dash_point last = d->npoints ? d->ring[(d->npoints - 1) % CM_DASH_POINTS] : (cm_dash_point){0};
    cm_serve_api *api = d->api;
    pthread_mutex_unlock(&d->mu);
    static const char *const help[][2] = {
        {"clmnist_train_step", "Global training step of the last point published."},
        {"clmnist_train_epoch", "Fractional epoch of the last point (1.5: half of epoch 2)."},
        {"clmnist_train_loss", "Running mean training loss over the epoch so far."},
        {"clmnist_train_accuracy", "Running mean training accuracy over the epoch so far."},
        {"clmnist_train_images_per_second", "Training images per second in the epoch so far."}};
    double v[] = {(double)last.step, last.epoch, last.loss, last.acc, st.img_s};
    for (int i = 0; i < 5; i++)
        fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %.9g\n", help[i][0], help[i][1], help[i][0], help[i][0],
                isfinite(v[i]) ? v[i] : NAN);
    fprintf(out,
            "# HELP clmnist_train_running Whether the run is still training.\n# TYPE clmnist_train_running gauge\n"
            "clmnist_train_running %d\n",
            strcmp(st.state, "done") != 0 && strcmp(st.state, "failed") != 0);
    if (api) serve_api_metrics(api, out);
}

void dashboard_routes(cm_dashboard *d, cm_http_route *routes) {
    routes[0] = (cm_http_route){"GET", "/api/events", on_events, d, CM_ROUTE_STREAM};
    routes[1] = (cm_http_route){"GET", "/api/metrics", on_metrics, d, CM_ROUTE_API};
    routes[2] = (cm_http_route){"GET", "/api/samples", on_samples, d, CM_ROUTE_API};
    routes[3] = (cm_http_route){"GET", "/api/health", on_health, d, CM_ROUTE_PUBLIC};
    routes[4] = (cm_http_route){"POST", "/api/stop", on_stop, d, CM_ROUTE_SECRET};
    routes[5] = (cm_http_route){"POST", "/api/predict", on_served, d, CM_ROUTE_API};
    routes[6] = (cm_http_route){"GET", "/api/model", on_served, d, CM_ROUTE_API};
    routes[7] = (cm_http_route){"GET", "/api/random", on_served, d, CM_ROUTE_API};
    routes[8] = (cm_http_route){"GET", "/api/openapi.json", serve_api_openapi, d, CM_ROUTE_API};
}
