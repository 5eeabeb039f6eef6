/* ref_mlp.h: an independent float64 implementation of the MLP's training loss, for gradient
 * checks by central differences. Header-only (static functions). */
#ifndef CLMNIST_TEST_REF_MLP_H
#define CLMNIST_TEST_REF_MLP_H
#include <math.h>
#include <stdint.h>

#include "dataset.h"
#include "model.h"
#include "philox.h"

/* Mean cross-entropy over the examples of `sp` (x = pixel / 255) in the order perm (NULL: in
 * order), for the MLP layer lists of model_mlp_layers (Flatten, then Linear, ReLU [, Dropout]).
 * A Dropout layer at index d applies inverted dropout with the mask net.c documents for global
 * step 0: Philox(key (seed, TAG_DROPOUT), counter (i / 4, d, 0, 0)) word i % 4, i = row * units +
 * unit, row the position in the batch. p_drop must equal the layers' p. */
static __attribute__((unused)) double ref_mlp_loss(const cm_layout *L, const double *p, const cm_split *sp,
                                                   const int32_t *perm, double p_drop, uint64_t seed) {
    double total = 0.0, a[2][1024];
    for (int k = 0; k < sp->count; k++) {
        int e = perm ? perm[k] : k;
        for (int i = 0; i < sp->dim; i++)
            a[0][i] = sp->images[(size_t)e * sp->dim + i] / 255.0;
        int cur = 0;
        for (int l = 0; l < L->nlayers; l++) {
            const cm_layer *ly = &L->layers[l];
            if (ly->type != CM_LAYER_LINEAR) continue;
            int in = (int)shape_numel(ly->in), out = ly->out, hidden = l + 1 < L->nlayers;
            int drop = l + 2 < L->nlayers && L->layers[l + 2].type == CM_LAYER_DROPOUT ? l + 2 : -1;
            for (int o = 0; o < out; o++) {
                double s = p[ly->bias + o];
                for (int i = 0; i < in; i++)
                    s += p[ly->weight + (size_t)o * in + i] * a[cur][i];
                if (hidden && s < 0.0) s = 0.0;
                if (hidden && p_drop > 0.0 && drop >= 0) {
                    uint32_t el = (uint32_t)(k * out + o), u[4];
                    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32) ^ CM_PHILOX_TAG_DROPOUT};
                    const uint32_t ctr[4] = {el / 4, (uint32_t)drop, 0, 0};
                    philox4x32_10(ctr, key, u);
                    s = philox_unit(u[el % 4]) >= (float)p_drop ? s / (1.0 - p_drop) : 0.0;
                }
                a[1 - cur][o] = s;
            }
            cur = 1 - cur;
        }
        int classes = L->classes;
        double mx = a[cur][0], sum = 0.0;
        for (int c = 1; c < classes; c++)
            mx = a[cur][c] > mx ? a[cur][c] : mx;
        for (int c = 0; c < classes; c++)
            sum += exp(a[cur][c] - mx);
        total += log(sum) - (a[cur][sp->labels[e]] - mx);
    }
    return total / sp->count;
}

/* Central differences of ref_mlp_loss with step h for every weight and bias (padding stays 0). */
static __attribute__((unused)) void ref_mlp_fd_grad(const cm_layout *L, double *p, const cm_split *sp,
                                                    const int32_t *perm, double p_drop, uint64_t seed, double h,
                                                    float *fd) {
    for (int l = 0; l < L->nlayers; l++) {
        const cm_layer *ly = &L->layers[l];
        if (ly->type != CM_LAYER_LINEAR) continue;
        size_t ranges[2][2] = {{ly->weight, shape_numel(ly->in) * (size_t)ly->out}, {ly->bias, (size_t)ly->out}};
        for (int r = 0; r < 2; r++)
            for (size_t i = ranges[r][0]; i < ranges[r][0] + ranges[r][1]; i++) {
                double keep = p[i];
                p[i] = keep + h;
                double up = ref_mlp_loss(L, p, sp, perm, p_drop, seed);
                p[i] = keep - h;
                double down = ref_mlp_loss(L, p, sp, perm, p_drop, seed);
                p[i] = keep;
                fd[i] = (float)((up - down) / (2 * h));
            }
    }
}

#endif
