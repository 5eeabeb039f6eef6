/* http_guard.h: what keeps one client from starving the HTTP server (http_server.c): a record of
 * every open connection with the phase it is in, and a thread that ends a connection whose request
 * headers, or then whose body, take longer than the deadline (slowloris: a byte every few seconds
 * keeps libmicrohttpd's idle timeout from firing). It ends one with shutdown(2) on its socket, so
 * that libmicrohttpd sees the end of the stream and closes it itself (no descriptor is closed
 * under its feet). Also the bearer-token comparison. */
#ifndef CLMNIST_HTTP_GUARD_H
#define CLMNIST_HTTP_GUARD_H
#include <pthread.h>
#include <stddef.h>

enum { GUARD_HEADERS, GUARD_BODY, GUARD_BUSY, GUARD_ENDED };

typedef struct guard_conn {
    int fd;
    int phase;
    double since; /* when the phase began (CLOCK_MONOTONIC seconds) */
    struct guard_conn *prev, *next;
} guard_conn;

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_t thread;
    int running, stopping;
    int deadline_s;  /* headers, and then the body, within this */
    int active;      /* open connections */
    guard_conn head; /* a ring of them */
} http_guard;

/* Starts the deadline thread; 0 or an errno. */
int guard_start(http_guard *g, int deadline_s);
void guard_stop(http_guard *g);
/* A connection opened (NULL when out of memory: it is then not watched). */
guard_conn *guard_add(http_guard *g, int fd);
void guard_remove(http_guard *g, guard_conn *c);
/* The connection enters a phase (its deadline starts now). */
void guard_phase(http_guard *g, guard_conn *c, int phase);
int guard_active(http_guard *g);

double guard_now(void);

/* 1 when the text equals the secret, compared in constant time (SHA-256 of both, then
 * CRYPTO_memcmp): neither the time nor the answer says how close a guess was, nor its length. */
int guard_secret_equal(const char *text, size_t len, const char *secret);

/* A log that a flood cannot fill: a message repeated within GUARD_LOG_EVERY_S is counted, not
 * written, and the count comes with the next different line (or at the end). */
#define GUARD_LOG_EVERY_S 10.0
typedef struct {
    pthread_mutex_t mu;
    char last[256];
    double at;
    long repeats;
} guard_log;
void guard_log_init(guard_log *l);
/* One line (without its newline) to stderr as "clmnist: http: MSG", unless it repeats. */
void guard_log_line(guard_log *l, const char *msg);
/* Writes the count held back, if any, and frees. */
void guard_log_end(guard_log *l);

/* The token of an Authorization header's "Bearer TOKEN" (spaces around it trimmed: *len), or
 * NULL for another scheme or none. */
const char *guard_bearer(const char *authorization, size_t *len);

#endif
