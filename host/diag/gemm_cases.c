/* gemm_cases.c: the GEMMs of a network's training step (their timing: gemm_time.c). */
#include "gemm_cases.h"

#include <stdio.h>

static int add_case(gemm_case *out, int n, const char *what, int layer, bool ta, bool tb, int m, int nn, int k) {
    static char names[3 * CM_MAX_LAYERS][48];
    snprintf(names[n], sizeof names[n], "layer %d %s", layer + 1, what);
    out[n] = (gemm_case){names[n], ta, tb, m, nn, k, 0, 0};
    return n + 1;
}

int diag_gemm_cases(const cm_layout *L, int B, gemm_case *out) {
    int n = 0, seen_params = 0;
    for (int i = 0; i < L->nlayers; i++) {
        const cm_layer *l = &L->layers[i];
        if (l->type == CM_LAYER_LINEAR) {
            int in = (int)shape_numel(l->in), o = l->out;
            n = add_case(out, n, "forward  Y=X.W^T", i, false, true, B, o, in);
            n = add_case(out, n, "weight   dW=dY^T.X", i, true, false, o, in, B);
            if (seen_params) n = add_case(out, n, "input    dX=dY.W", i, false, false, B, in, o);
        } else if (l->type == CM_LAYER_CONV2D) {
            int ckk = l->in.c * l->kernel * l->kernel, cols = B * l->out_shape.h * l->out_shape.w, o = l->out;
            n = add_case(out, n, "forward  Y=W.col", i, false, false, o, cols, ckk);
            n = add_case(out, n, "weight   dW=dY.col^T", i, false, true, o, ckk, cols);
            if (seen_params) n = add_case(out, n, "input    dcol=W^T.dY", i, true, false, ckk, cols, o);
        }
        seen_params |= l->weight != CM_NO_TENSOR;
    }
    return n;
}
