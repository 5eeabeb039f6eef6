/* dist_mpi.c: dist.h over MPI (OpenMPI, MPICH): the only file that includes mpi.h. */
#include <fcntl.h>
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dist.h"
#include "timer.h"

static cm_dist world = {.rank = 0, .size = 1, .local_rank = 0, .local_size = 1};
static int started;     /* MPI_Init was called */
static int begun;       /* dist_begin_work succeeded: a failure now ends the job */
static int quiet_fail;  /* dist_begin_work failed because another rank did: it printed; */
static int agreed_code; /* its exit code */
static int err_fd = 2;  /* where this rank's error line goes (stderr before it was silenced) */

int dist_built(void) {
    return 1;
}

cm_dist *dist_world(void) {
    return &world;
}

static int launched_by_mpi(void) {
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK", "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

static cm_status mpi_fail(int rc, const char *what) {
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(rc, text, &len);
    return cm_fail(CM_ERR_IO, "%s failed on rank %d: %s", what, world.rank, text);
}

/* Ranks other than 0 print nothing: stdout and stderr go to /dev/null; errors keep a copy. */
static void silence_others(void) {
    if (world.rank == 0) return;
    fflush(stdout);
    fflush(stderr);
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull < 0) return;
    err_fd = dup(2);
    if (err_fd < 0) err_fd = 2;
    dup2(devnull, 1);
    dup2(devnull, 2);
    close(devnull);
}

cm_status dist_init(int *argc, char ***argv) {
    if (!launched_by_mpi()) return CM_OK;
    int rc = MPI_Init(argc, argv);
    if (rc != MPI_SUCCESS) return cm_fail(CM_ERR_IO, "MPI_Init failed (code %d)", rc);
    started = 1;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &world.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world.size);
    MPI_Comm node;
    rc = MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, world.rank, MPI_INFO_NULL, &node);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Comm_split_type");
    MPI_Comm_rank(node, &world.local_rank);
    MPI_Comm_size(node, &world.local_size);
    MPI_Comm_free(&node);
    silence_others();
    return CM_OK;
}

/* TEST ONLY: CLMNIST_TEST_RANK_FAIL="R:K" makes rank R's K-th gradient sum fail, as a rank's
 * device or network failing in the middle of a run would (tests/mpi_cli.sh). */
static cm_status test_hook(const cm_dist *d) {
    const char *v = getenv("CLMNIST_TEST_RANK_FAIL");
    char *end;
    if (!v) return CM_OK;
    long r = strtol(v, &end, 10);
    long k = *end == ':' ? strtol(end + 1, &end, 10) : -1;
    if (r == d->rank && k == d->comm_calls + 1)
        return cm_fail(CM_ERR_IO, "CLMNIST_TEST_RANK_FAIL: rank %ld fails its gradient sum %ld on purpose", r, k);
    return CM_OK;
}

cm_status dist_sum_floats(cm_dist *d, float *buf, size_t n) {
    if (!started || d->size < 2) return CM_OK;
    CM_TRY(test_hook(d));
    if (n > INT_MAX) return cm_fail(CM_ERR_USAGE, "dist_sum_floats: %zu floats (at most %d in one call)", n, INT_MAX);
    double t0 = timer_now();
    int rc = MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    d->comm_seconds += timer_now() - t0;
    d->comm_calls++;
    return rc == MPI_SUCCESS ? CM_OK : mpi_fail(rc, "MPI_Allreduce of the gradients");
}

cm_status dist_sum_doubles(cm_dist *d, double *buf, int n) {
    if (!started || d->size < 2) return CM_OK;
    int rc = MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? CM_OK : mpi_fail(rc, "MPI_Allreduce of the statistics");
}

cm_status dist_broadcast(cm_dist *d, void *buf, size_t bytes) {
    if (!started || d->size < 2) return CM_OK;
    for (size_t off = 0; off < bytes; off += INT_MAX) { /* MPI counts are ints */
        size_t chunk = bytes - off < INT_MAX ? bytes - off : INT_MAX;
        int rc = MPI_Bcast((char *)buf + off, (int)chunk, MPI_BYTE, 0, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail(rc, "MPI_Bcast");
    }
    return CM_OK;
}

cm_status dist_gather_text(cm_dist *d, const char *text, char *all, size_t len) {
    if (!started || d->size < 2) {
        memcpy(all, text, len);
        return CM_OK;
    }
    if (len > INT_MAX) return cm_fail(CM_ERR_USAGE, "dist_gather_text: %zu bytes", len);
    int rc = MPI_Gather(text, (int)len, MPI_CHAR, all, (int)len, MPI_CHAR, 0, MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? CM_OK : mpi_fail(rc, "MPI_Gather");
}

/* Until the work begins, every rank meets here once: from dist_begin_work with {1, INT_MAX, 0},
 * or from a failure with {0, rank, -code}. out: {everyone ok, the lowest failing rank, minus the
 * highest exit code}. */
static cm_status agree(int ok, int code, int out[3]) {
    int in[3] = {ok, ok ? INT_MAX : world.rank, -code};
    int rc = MPI_Allreduce(in, out, 3, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? CM_OK : mpi_fail(rc, "MPI_Allreduce (the ranks' agreement)");
}

cm_status dist_begin_work(cm_dist *d) {
    if (!started || d->size < 2 || begun) return CM_OK;
    int out[3];
    CM_TRY(agree(1, 0, out));
    if (!out[0]) {
        quiet_fail = 1;
        agreed_code = -out[2];
        return cm_fail(CM_ERR_USAGE, "rank %d failed before the training began", out[1]); /* it says why */
    }
    begun = 1;
    return CM_OK;
}

int dist_exit(cm_status st, const char *msg) {
    int code = st == CM_OK ? 0 : st == CM_ERR_USAGE ? 2 : 1;
    fflush(stdout);
    if (!started || world.size < 2) {
        if (st != CM_OK) fprintf(stderr, "clmnist: error: %s\n", msg);
        if (started) MPI_Finalize();
        return code;
    }
    if (st != CM_OK && begun) { /* this rank's own failure: end the job, no rank waits forever */
        dprintf(err_fd, "clmnist: error: rank %d of %d: %s\n", world.rank, world.size, msg);
        MPI_Abort(MPI_COMM_WORLD, code);
        _exit(code);
    }
    if (st != CM_OK && !quiet_fail) { /* before the work: the same arguments on every rank */
        int out[3] = {0, world.rank, -code};
        if (agree(0, code, out) == CM_OK && out[1] == world.rank) {
            if (world.rank == 0)
                dprintf(err_fd, "clmnist: error: %s\n", msg);
            else
                dprintf(err_fd, "clmnist: error: rank %d of %d: %s\n", world.rank, world.size, msg);
        }
    }
    MPI_Finalize();
    return quiet_fail ? agreed_code : code;
}
