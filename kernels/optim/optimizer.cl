/* optimizer.cl: parameter updates over the whole flat parameter array (one launch per step),
 * with PyTorch's rules (torch.optim.SGD, Adam, AdamW). All arrays (n); m, v the state.
 *
 * kernel_opt_update  kind 0 SGD:      g' = g + wd w; if use_m: m = momentum m + g', g' = m; w -= lr g'
 *                    kind 1 Nesterov: g' = g + wd w; m = momentum m + g'; w -= lr (g' + momentum m)
 *                    kind 2 Adam:     g' = g + wd w; m = b1 m + (1 - b1) g'; v = b2 v + (1 - b2) g'^2;
 *                                     w -= step_size m / (sqrt(v) / bc2_sqrt + eps)
 *                    kind 3 AdamW:    w *= 1 - lr wd; then Adam with g' = g
 *   step_size = lr / (1 - b1^t) and bc2_sqrt = sqrt(1 - b2^t) come from the host. */

__kernel void kernel_opt_update(__global float *w, const __global float *g, __global float *m, __global float *v,
                                const int use_m, const uint n, const int kind, const float lr, const float momentum,
                                const float wd, const float beta1, const float beta2, const float eps,
                                const float step_size, const float bc2_sqrt) {
    const uint i = (uint)get_global_id(0);
    if (i >= n) return;
    float wi = w[i], gi = g[i];
    if (kind <= 1) {
        if (wd != 0.0f) gi += wd * wi;
        if (use_m) {
            const float mi = momentum * m[i] + gi;
            m[i] = mi;
            gi = kind == 1 ? gi + momentum * mi : mi;
        }
        wi -= lr * gi;
    } else {
        if (kind == 3) wi *= 1.0f - lr * wd;
        else if (wd != 0.0f) gi += wd * wi;
        const float mi = beta1 * m[i] + (1.0f - beta1) * gi;
        const float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        wi -= step_size * (mi / (sqrt(vi) / bc2_sqrt + eps));
    }
    w[i] = wi;
}
