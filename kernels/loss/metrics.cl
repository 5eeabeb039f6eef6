/* metrics.cl: predictions and the correct count.
 *
 * kernel_argmax  one work-item per row of logits (rows, classes):
 *   pred[r] = first argmax (if want_pred); acc_correct[r] += (pred == labels[r]) (if count). */

__kernel void kernel_argmax(const __global float *logits, const __global int *labels, __global int *pred,
                            const int want_pred, __global float *acc_correct, const int count, const int rows,
                            const int classes) {
    const int r = (int)get_global_id(0);
    if (r >= rows) return;
    const int best = cm_argmax_row(logits + (size_t)r * classes, classes);
    if (want_pred) pred[r] = best;
    if (count) acc_correct[r] += best == labels[r] ? 1.0f : 0.0f;
}
