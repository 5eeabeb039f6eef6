/* serve_load.c: a load generator for clmnist serve: `requests` POSTs of one body to /api/predict
 * from `clients` threads, each over its own keep-alive connection (reopened when the server
 * closes it). Every answer must be 200 with the expected "class"; prints requests/s and the
 * 50th and 99th percentile latencies, and exits 1 on any error.
 * Usage: serve_load PORT REQUESTS CLIENTS BODY_FILE CONTENT_TYPE EXPECTED_CLASS */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int port, requests, expected;
    const char *type;
    char *body;
    size_t body_len;
    int next;      /* the next request to send (atomic) */
    int errors;    /* atomic */
    double *lat_s; /* (requests) latency of each */
} load;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {.tv_sec = 120};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) return fd;
    if (fd >= 0) close(fd);
    return -1;
}

static int send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Reads one response: its status, its body (NUL-terminated) into buf. */
static int read_response(int fd, char *buf, size_t cap, int *status, int *keep_alive) {
    size_t have = 0;
    char *end = NULL;
    while (!(end = strstr(buf, "\r\n\r\n"))) {
        if (have + 1 >= cap) return -1;
        ssize_t k = recv(fd, buf + have, cap - 1 - have, 0);
        if (k <= 0) return -1;
        have += (size_t)k;
        buf[have] = 0;
    }
    const char *cl = strstr(buf, "Content-Length:");
    if (!cl || cl > end || sscanf(buf, "HTTP/1.1 %d", status) != 1) return -1;
    *keep_alive = !strstr(buf, "Connection: close");
    size_t head = (size_t)(end + 4 - buf), len = strtoul(cl + 15, NULL, 10);
    if (head + len + 1 > cap) return -1;
    while (have < head + len) {
        ssize_t k = recv(fd, buf + have, head + len - have, 0);
        if (k <= 0) return -1;
        have += (size_t)k;
    }
    buf[have] = 0;
    memmove(buf, buf + head, len + 1);
    return 0;
}

/* One request on *fd (opened or reopened as needed); 0 when it got the expected answer. */
static int one_request(load *L, int *fd, const char *head, char *buf, size_t cap) {
    if (*fd < 0 && (*fd = connect_to(L->port)) < 0) return -1;
    int status = 0, keep = 0;
    memset(buf, 0, 8);
    if (send_all(*fd, head, strlen(head)) || send_all(*fd, L->body, L->body_len) ||
        read_response(*fd, buf, cap, &status, &keep)) {
        close(*fd);
        *fd = -1;
        return -1;
    }
    if (!keep) {
        close(*fd);
        *fd = -1;
    }
    char want[32];
    snprintf(want, sizeof want, "\"class\":%d,", L->expected);
    return status == 200 && strstr(buf, want) ? 0 : -1;
}

static void *client(void *arg) {
    load *L = arg;
    char head[256], *buf = malloc(1 << 16);
    snprintf(head, sizeof head,
             "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
             L->type, L->body_len);
    int fd = -1;
    for (;;) {
        int i = __atomic_fetch_add(&L->next, 1, __ATOMIC_RELAXED);
        if (i >= L->requests) break;
        double t0 = now();
        if (!buf || one_request(L, &fd, head, buf, 1 << 16)) {
            if (__atomic_fetch_add(&L->errors, 1, __ATOMIC_RELAXED) < 5)
                fprintf(stderr, "serve_load: request %d failed: %.200s\n", i, buf ? buf : "out of memory");
        }
        L->lat_s[i] = now() - t0;
    }
    if (fd >= 0) close(fd);
    free(buf);
    return NULL;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *b = malloc(1 << 22);
    *len = b ? fread(b, 1, 1 << 22, f) : 0;
    fclose(f);
    return b;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: serve_load PORT REQUESTS CLIENTS BODY_FILE CONTENT_TYPE EXPECTED_CLASS\n");
        return 2;
    }
    load L = {.port = atoi(argv[1]), .requests = atoi(argv[2]), .type = argv[5], .expected = atoi(argv[6])};
    int clients = atoi(argv[3]);
    L.body = read_file(argv[4], &L.body_len);
    L.lat_s = calloc((size_t)L.requests + 1, sizeof(double));
    if (!L.body || !L.lat_s || L.requests < 1 || clients < 1 || clients > 1024) {
        fprintf(stderr, "serve_load: bad arguments or unreadable %s\n", argv[4]);
        return 2;
    }
    pthread_t *t = calloc((size_t)clients, sizeof *t);
    double t0 = now();
    for (int i = 0; i < clients; i++)
        pthread_create(&t[i], NULL, client, &L);
    for (int i = 0; i < clients; i++)
        pthread_join(t[i], NULL);
    double secs = now() - t0;
    qsort(L.lat_s, (size_t)L.requests, sizeof(double), cmp_double);
    double p50 = L.lat_s[(L.requests - 1) / 2], p99 = L.lat_s[(int)(0.99 * (L.requests - 1))];
    printf("serve_load: %d requests from %d clients in %.2f s: %.0f requests/s, p50 %.2f ms, p99 %.2f ms, "
           "max %.2f ms, %d errors\n",
           L.requests, clients, secs, L.requests / secs, 1e3 * p50, 1e3 * p99, 1e3 * L.lat_s[L.requests - 1], L.errors);
    free(t);
    free(L.body);
    free(L.lat_s);
    return L.errors ? 1 : 0;
}
