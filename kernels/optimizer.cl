/* optimizer.cl: parameter updates over the whole flat parameter array (one launch per step).
 *
 * kernel_sgd_update  w (n) -= lr * g (n). */

__kernel void kernel_sgd_update(__global float *w, const __global float *g, const uint n, const float lr) {
    const uint i = (uint)get_global_id(0);
    if (i >= n) return;
    w[i] -= lr * g[i];
}
