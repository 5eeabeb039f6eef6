/* softmax_xent.cl: fused, numerically stable softmax + cross-entropy and its logit gradient.
 *
 * kernel_softmax_xent  one work-item per row r of logits (rows, classes), labels (rows) int32:
 *   m = max_c z[r,c]; s = sum_c exp(z[r,c] - m)
 *   acc_loss[r]    += log(s) - (z[r,y] - m)          (= -log softmax(z)[y])
 *   acc_correct[r] += (argmax_c z[r,c] == y)
 *   if want_grad: dlogits[r,c] = (exp(z[r,c] - m) / s - [c == y]) / rows   (d mean loss / dz)
 * The accumulators stay on the device and are read back once per reporting interval. */

__kernel void kernel_softmax_xent(const __global float *logits, const __global int *labels, __global float *dlogits,
                                  const int want_grad, __global float *acc_loss, __global float *acc_correct,
                                  const int rows, const int classes) {
    const int r = (int)get_global_id(0);
    if (r >= rows) return;
    const __global float *z = logits + (size_t)r * classes;
    const int best = cm_argmax_row(z, classes);
    const float m = z[best];
    float s = 0.0f;
    for (int c = 0; c < classes; c++) s += exp(z[c] - m);
    const int y = labels[r];
    acc_loss[r] += log(s) - (z[y] - m);
    acc_correct[r] += best == y ? 1.0f : 0.0f;
    if (want_grad) {
        __global float *d = dlogits + (size_t)r * classes;
        const float inv_s = 1.0f / s, inv_rows = 1.0f / (float)rows;
        for (int c = 0; c < classes; c++) d[c] = (exp(z[c] - m) * inv_s - (c == y ? 1.0f : 0.0f)) * inv_rows;
    }
}
