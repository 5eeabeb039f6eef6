/* dist_none.c: dist.h in a build without MPI: one rank, every call a no-op. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"

static cm_dist world = {.rank = 0, .size = 1, .local_rank = 0, .local_size = 1};

int dist_built(void) {
    return 0;
}

cm_dist *dist_world(void) {
    return &world;
}

cm_status dist_init(int *argc, char ***argv) {
    const char *n = getenv("OMPI_COMM_WORLD_SIZE");
    if (!n) n = getenv("PMI_SIZE");
    if (n && strtol(n, NULL, 10) > 1)
        fprintf(stderr,
                "clmnist: note: this build has no MPI (-DCLMNIST_MPI=OFF or MPI not found): each of the %s "
                "processes runs alone\n",
                n);
    return CM_OK;
}

cm_status dist_sum_floats(cm_dist *d, float *buf, size_t n) {
    return CM_OK;
}

cm_status dist_sum_doubles(cm_dist *d, double *buf, int n) {
    return CM_OK;
}

cm_status dist_broadcast(cm_dist *d, void *buf, size_t bytes) {
    return CM_OK;
}

cm_status dist_gather_text(cm_dist *d, const char *text, char *all, size_t len) {
    memcpy(all, text, len);
    return CM_OK;
}

cm_status dist_begin_work(cm_dist *d) {
    return CM_OK;
}

int dist_exit(cm_status st, const char *msg) {
    if (st == CM_OK) return 0;
    fflush(stdout);
    fprintf(stderr, "clmnist: error: %s\n", msg);
    return st == CM_ERR_USAGE ? 2 : 1;
}
