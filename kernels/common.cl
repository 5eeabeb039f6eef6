/* common.cl: helpers shared by every kernel family. Passed first to clCreateProgramWithSource,
 * so the other files may use these definitions. All tensors are row-major float32 unless a
 * kernel says otherwise; every kernel bounds-checks its global id, so global sizes may be
 * rounded up to any multiple of the work-group size. */

/* Index of the first maximum of z[0..n): the same tie rule as the host reference. */
inline int cm_argmax_row(const __global float *z, int n) {
    int best = 0;
    for (int c = 1; c < n; c++)
        if (z[c] > z[best]) best = c;
    return best;
}
