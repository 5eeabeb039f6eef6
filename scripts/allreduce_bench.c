/* allreduce_bench.c: the time of one MPI_Allreduce (float sum, in place) of a gradient's size
 * between the ranks, without training around it: what the transport itself costs on this
 * machine. docs/BENCHMARKS.md quotes it.
 *   mpicc -O2 -o /tmp/allreduce_bench scripts/allreduce_bench.c
 *   mpirun -np 2 /tmp/allreduce_bench 535818 200     (floats, repetitions) */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    long n = argc > 1 ? atol(argv[1]) : 535818;
    int reps = argc > 2 ? atoi(argv[2]) : 200;
    float *buf = malloc(sizeof(float) * (size_t)n);
    for (long i = 0; i < n; i++)
        buf[i] = 1e-6f * (float)(i % 1000);
    MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); /* warm-up */
    double best = 1e30, sum = 0.0;
    for (int r = 0; r < reps; r++) {
        MPI_Barrier(MPI_COMM_WORLD); /* time the transfer, not a late rank */
        double t0 = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        double dt = MPI_Wtime() - t0;
        sum += dt;
        best = dt < best ? dt : best;
    }
    if (rank == 0)
        printf("%d ranks, %ld floats (%.2f MB): allreduce mean %.3f ms, best %.3f ms over %d (%.2f GB/s algorithm "
               "bandwidth at the best)\n",
               size, n, 4e-6 * (double)n, 1e3 * sum / reps, 1e3 * best, reps, 4e-9 * (double)n / best);
    free(buf);
    MPI_Finalize();
    return 0;
}
