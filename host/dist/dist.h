/* dist.h: data-parallel training over MPI (host/dist/): which process this is among the job's
 * ranks, the sums and the broadcast the trainer needs, rank-0-only output and the job-wide exit
 * on an error. Nothing here names an MPI type. In a build without MPI (CLMNIST_MPI=OFF), or in a
 * process that no MPI launcher started, there is one rank and every call is a no-op.
 *
 * Errors: until dist_begin_work, a failure is the job's (the arguments, the same on every rank):
 * the lowest failing rank prints it and every rank exits with its code. After it, a failing rank
 * prints one line naming itself and its error and ends the whole job (MPI_Abort): nothing hangs. */
#ifndef CLMNIST_DIST_H
#define CLMNIST_DIST_H
#include <stddef.h>

#include "status.h"

typedef struct cm_dist {
    int rank, size;             /* this process among the job's: 0 of 1 alone */
    int local_rank, local_size; /* among the job's processes on this node (MPI_COMM_TYPE_SHARED) */
    double comm_seconds;        /* wall time spent in dist_sum_floats so far */
    long comm_calls;            /* its calls */
} cm_dist;

/* 1 when this build has MPI. */
int dist_built(void);
/* Starts MPI when an MPI launcher (mpirun, srun) started this process; before anything else.
 * Ranks other than 0 then write nothing to stdout or stderr (dist_exit's line excepted). */
cm_status dist_init(int *argc, char ***argv);
/* This process's place in the job; never NULL (one rank before dist_init or without MPI). */
cm_dist *dist_world(void);
/* Sums buf (n floats) over the ranks in place, on every rank (one MPI_Allreduce). Timed. */
cm_status dist_sum_floats(cm_dist *d, float *buf, size_t n);
/* The same for doubles (statistics). */
cm_status dist_sum_doubles(cm_dist *d, double *buf, int n);
/* Rank 0's bytes to every rank. */
cm_status dist_broadcast(cm_dist *d, void *buf, size_t bytes);
/* Rank 0 gets every rank's text (len bytes each, rank order) in all (size * len bytes). */
cm_status dist_gather_text(cm_dist *d, const char *text, char *all, size_t len);
/* The arguments are accepted on every rank (a collective: fails quietly when another rank
 * refused them); per-rank work begins. */
cm_status dist_begin_work(cm_dist *d);
/* The end of a command: status st with message msg. Returns the exit code (0 on success) after
 * printing the error as described above and leaving MPI; a rank failing after dist_begin_work
 * does not return. */
int dist_exit(cm_status st, const char *msg);

#endif
