/* optimizer.cl: parameter updates over the whole flat parameter array (one launch per step).
 *
 * kernel_sgd_update  SGD with heavy-ball momentum, PyTorch semantics, all arrays (n):
 *   use_v: v = momentum * v + g; w -= lr * v
 *   else:  w -= lr * g */

__kernel void kernel_sgd_update(__global float *w, const __global float *g, __global float *v, const int use_v,
                                const uint n, const float lr, const float momentum) {
    const uint i = (uint)get_global_id(0);
    if (i >= n) return;
    if (use_v) {
        const float vi = momentum * v[i] + g[i];
        v[i] = vi;
        w[i] -= lr * vi;
    } else {
        w[i] -= lr * g[i];
    }
}
