/* http_guard.c: connection deadlines and the token comparison (http_guard.h). */
#include "http_guard.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

double guard_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Ends every connection past its deadline; with the mutex held. */
static void sweep(http_guard *g) {
    double now = guard_now();
    for (guard_conn *c = g->head.next; c != &g->head; c = c->next)
        if ((c->phase == GUARD_HEADERS || c->phase == GUARD_BODY) && now - c->since > g->deadline_s) {
            shutdown(c->fd, SHUT_RDWR);
            c->phase = GUARD_ENDED;
        }
}

static void *guard_main(void *arg) {
    http_guard *g = arg;
    pthread_mutex_lock(&g->mu);
    while (!g->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 250000000L; /* four sweeps a second */
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->wake, &g->mu, &until);
        sweep(g);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

int guard_start(http_guard *g, int deadline_s) {
    memset(g, 0, sizeof *g);
    g->deadline_s = deadline_s;
    g->head.next = g->head.prev = &g->head;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->wake, NULL);
    int e = pthread_create(&g->thread, NULL, guard_main, g);
    g->running = e == 0;
    return e;
}

void guard_stop(http_guard *g) {
    if (g->running) {
        pthread_mutex_lock(&g->mu);
        g->stopping = 1;
        pthread_cond_signal(&g->wake);
        pthread_mutex_unlock(&g->mu);
        pthread_join(g->thread, NULL);
        g->running = 0;
    }
    while (g->head.next != &g->head) /* the daemon has closed them all: nothing left but its records */
        guard_remove(g, g->head.next);
    pthread_cond_destroy(&g->wake);
    pthread_mutex_destroy(&g->mu);
}

guard_conn *guard_add(http_guard *g, int fd) {
    guard_conn *c = calloc(1, sizeof *c);
    pthread_mutex_lock(&g->mu);
    g->active++;
    if (c) {
        *c = (guard_conn){
            .fd = fd, .phase = GUARD_HEADERS, .since = guard_now(), .prev = &g->head, .next = g->head.next};
        g->head.next->prev = c;
        g->head.next = c;
    }
    pthread_mutex_unlock(&g->mu);
    return c;
}

void guard_remove(http_guard *g, guard_conn *c) {
    pthread_mutex_lock(&g->mu);
    g->active--;
    if (c) {
        c->prev->next = c->next;
        c->next->prev = c->prev;
    }
    pthread_mutex_unlock(&g->mu);
    free(c);
}

void guard_phase(http_guard *g, guard_conn *c, int phase) {
    if (!c) return;
    pthread_mutex_lock(&g->mu);
    if (c->phase != GUARD_ENDED) {
        c->phase = phase;
        c->since = guard_now();
    }
    pthread_mutex_unlock(&g->mu);
}

int guard_active(http_guard *g) {
    pthread_mutex_lock(&g->mu);
    int n = g->active;
    pthread_mutex_unlock(&g->mu);
    return n;
}

int guard_secret_equal(const char *text, size_t len, const char *secret) {
    unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
    if (!text || !secret || !secret[0]) return 0;
    SHA256((const unsigned char *)text, len, a);
    SHA256((const unsigned char *)secret, strlen(secret), b);
    return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

const char *guard_bearer(const char *h, size_t *len) {
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    size_t n = strlen(h);
    while (n && h[n - 1] == ' ')
        n--;
    *len = n;
    return h;
}

void guard_log_init(guard_log *l) {
    memset(l, 0, sizeof *l);
    pthread_mutex_init(&l->mu, NULL);
}

static void held_back(guard_log *l) {
    if (l->repeats) fprintf(stderr, "clmnist: http: (%ld more like the last)\n", l->repeats);
    l->repeats = 0;
}

void guard_log_line(guard_log *l, const char *msg) {
    pthread_mutex_lock(&l->mu);
    double now = guard_now();
    if (!strcmp(msg, l->last) && now - l->at < GUARD_LOG_EVERY_S) {
        l->repeats++;
    } else {
        held_back(l);
        fprintf(stderr, "clmnist: http: %s\n", msg);
        snprintf(l->last, sizeof l->last, "%s", msg);
        l->at = now;
    }
    pthread_mutex_unlock(&l->mu);
}

void guard_log_end(guard_log *l) {
    held_back(l);
    pthread_mutex_destroy(&l->mu);
}
