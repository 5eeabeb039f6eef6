/* clmnist.c: the public API's version, error and context calls (include/clmnist/clmnist.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_internal.h"
#include "dist.h"
#include "parse.h"

_Static_assert(CLMNIST_ERR_USAGE == CM_ERR_USAGE && CLMNIST_ERR_IO == CM_ERR_IO &&
                   CLMNIST_ERR_FORMAT == CM_ERR_FORMAT && CLMNIST_ERR_MEMORY == CM_ERR_MEMORY &&
                   CLMNIST_ERR_DEVICE == CM_ERR_DEVICE && CLMNIST_ERR_NUMERIC == CM_ERR_NUMERIC && CLMNIST_OK == CM_OK,
               "clmnist.h's status codes mirror cm_status");

const char *clmnist_version(void) {
    return CLMNIST_VERSION;
}

const char *clmnist_last_error(void) {
    return cm_last_error();
}

cm_status api_null(const char *fn, const char *arg) {
    return cm_fail(CM_ERR_USAGE, "%s: %s is NULL", fn, arg);
}

/* text[0, n) without its leading and trailing spaces into out (size bytes); 0 when it does not fit. */
static int copy_trimmed(const char *text, size_t n, char *out, size_t size) {
    while (n && isspace((unsigned char)*text))
        text++, n--;
    while (n && isspace((unsigned char)text[n - 1]))
        n--;
    if (n >= size) return 0;
    memcpy(out, text, n);
    out[n] = '\0';
    return 1;
}

cm_status api_each_pair(const char *fn, const char *text,
                        cm_status (*set)(void *obj, const char *key, const char *value), void *obj) {
    for (const char *p = text; p && *p;) {
        size_t n = strcspn(p, ",;");
        const char *eq = memchr(p, '=', n);
        char key[64], value[API_TEXT];
        if (!eq && strspn(p, " \t") == n) { /* an empty item: "a=1,,b=2" or a trailing ',' */
            p += n + (p[n] != '\0');
            continue;
        }
        if (!eq) return cm_fail(CM_ERR_USAGE, "%s: '%.*s': expected key=value", fn, (int)n, p);
        if (!copy_trimmed(p, (size_t)(eq - p), key, sizeof key) ||
            !copy_trimmed(eq + 1, n - (size_t)(eq - p) - 1, value, sizeof value))
            return cm_fail(CM_ERR_USAGE, "%s: '%.*s': too long", fn, (int)n, p);
        CM_TRY(set(obj, key, value));
        p += n + (p[n] != '\0');
    }
    return CM_OK;
}

static cm_status set_count(const char *key, const char *value, long max, int *out) {
    long v;
    char what[80];
    snprintf(what, sizeof what, "clmnist_open: %s", key);
    CM_TRY(cm_parse_int(what, value, 1, max, &v));
    *out = (int)v;
    return CM_OK;
}

static cm_status set_ctx_option(void *obj, const char *key, const char *value) {
    clmnist_ctx *c = obj;
    if (!strcmp(key, "backend")) {
        if (strcmp(value, "auto") && strcmp(value, "host") && strcmp(value, "device"))
            return cm_fail(CM_ERR_USAGE, "clmnist_open: backend '%s': expected auto, host or device", value);
        snprintf(c->backend, sizeof c->backend, "%s", value);
    } else if (!strcmp(key, "device")) {
        snprintf(c->device, sizeof c->device, "%s", value);
    } else if (!strcmp(key, "threads")) {
        return set_count(key, value, 1024, &c->threads);
    } else if (!strcmp(key, "contexts")) {
        return set_count(key, value, 256, &c->contexts);
    } else if (!strcmp(key, "batch")) {
        return set_count(key, value, 1 << 16, &c->batch);
    } else {
        return cm_fail(CM_ERR_USAGE,
                       "clmnist_open: unknown option '%s' (expected backend, device, threads, contexts or batch)", key);
    }
    return CM_OK;
}

/* The backend options of ctx; under mpirun (dist.h) each rank of a node its own device (by its
 * place on the node) and its share of the node's cores. */
static cm_backend_options backend_options(const clmnist_ctx *c) {
    const cm_dist *d = dist_world();
    cm_backend_options bo = {.device = c->device[0] ? c->device : NULL, .threads = c->threads, .slot = d->local_rank};
    if (d->local_size > 1 && !c->threads) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        bo.threads = cores / d->local_size > 1 ? (int)(cores / d->local_size) : 1;
    }
    return bo;
}

int clmnist_open(const char *options, clmnist_ctx **out) {
    if (!out) return api_null("clmnist_open", "out");
    *out = NULL;
    clmnist_ctx *c = calloc(1, sizeof *c);
    if (!c) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    snprintf(c->backend, sizeof c->backend, "auto");
    c->contexts = 1;
    cm_status st = api_each_pair("clmnist_open", options, set_ctx_option, c);
    if (st != CM_OK) {
        free(c);
        return st;
    }
    cm_backend_options bo = backend_options(c);
    cm_backend_choice choice; /* auto decided once, for every model and run of this context */
    st = backend_resolve(c->backend, &bo, &choice);
    if (st != CM_OK) {
        free(c);
        return st;
    }
    const char *kind = !strcmp(choice.kind, "host") ? "host" : "device"; /* choice.kind may be c->backend */
    snprintf(c->backend, sizeof c->backend, "%s", kind);
    snprintf(c->why, sizeof c->why, "%s", choice.why);
    *out = c;
    return CM_OK;
}

void clmnist_close(clmnist_ctx *ctx) {
    if (!ctx) return;
    backend_destroy(ctx->b);
    free(ctx);
}

cm_status api_ctx_backend(clmnist_ctx *ctx, cm_backend **out) {
    if (!ctx->b) {
        cm_backend_options bo = backend_options(ctx);
        CM_TRY(backend_create(ctx->backend, &bo, &ctx->b));
        snprintf(ctx->b->chosen, sizeof ctx->b->chosen, "%s", ctx->why); /* the backend line says why */
    }
    *out = ctx->b;
    return CM_OK;
}

const char *clmnist_backend(const clmnist_ctx *ctx) {
    return ctx ? ctx->backend : NULL;
}

const char *clmnist_device_name(clmnist_ctx *ctx) {
    cm_backend *b;
    if (!ctx) return NULL;
    return api_ctx_backend(ctx, &b) == CM_OK ? b->device_name : NULL;
}
