/* gradcheck.c: backwards against float64 central differences. For an operation f with parameters
 * theta (inputs, weights, biases, concatenated), the loss L = sum_i r_i f(theta)_i with a seeded
 * random r is evaluated by a float64 oracle written from the definitions in backend.h; the
 * backend's backward, run with dy = r, must match dL/dtheta = (L(theta + h) - L(theta - h)) / 2h.
 * In float64 h = 1e-6 leaves differences accurate to ~1e-9, so the tolerances are those of the
 * backend's float32 arithmetic. The forward outputs are checked against the oracle as well. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bops.h"

#define FD_H 1e-6

void bo_central_diff(bo_loss_fn f, const void *model, double *theta, size_t n, double h, double *grad) {
    for (size_t i = 0; i < n; i++) {
        double keep = theta[i];
        theta[i] = keep + h;
        double up = f(model, theta);
        theta[i] = keep - h;
        double down = f(model, theta);
        theta[i] = keep;
        grad[i] = (up - down) / (2 * h);
    }
}

/* ---- ReLU and bias + ReLU ---- */
typedef struct {
    size_t rows, cols;
    int relu, bias; /* bias: theta holds x (rows, cols) then bias (cols) */
    const double *r;
    double *y; /* the forward's output, when not NULL */
} act_model;

static double act_loss(const void *m, const double *t) {
    const act_model *a = m;
    double s = 0.0;
    for (size_t i = 0; i < a->rows * a->cols; i++) {
        double v = t[i] + (a->bias ? t[a->rows * a->cols + i % a->cols] : 0.0);
        if (a->relu) v = v > 0.0 ? v : 0.0;
        if (a->y) a->y[i] = v;
        s += a->r[i] * v;
    }
    return s;
}

/* relu case p = {n}: relu forward, relu_backward with dy = r; theta = x (|x| >= 0.02, no kink) */
void bo_grad_relu(bo_ctx *c, const bo_case *k) {
    size_t n = (size_t)k->p[0];
    float *x = bo_uniform(c, n, 21);
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] < 0.0f ? x[i] - 0.02f : x[i] + 0.02f;
    float *r = bo_uniform(c, n, 22);
    cm_buf *Y = bo_in(c, x, 4 * n), *D = bo_in(c, r, 4 * n);
    BO_OK(c, backend_relu(c->b, Y, n));
    BO_OK(c, backend_relu_backward(c->b, D, Y, n, 1.0f));
    act_model m = {1, n, 1, 0, bo_to_double(c, r, n), bo_tmp(c, sizeof(double) * n)};
    double *theta = bo_to_double(c, x, n), *g = bo_tmp(c, sizeof(double) * n);
    act_loss(&m, theta);
    bo_check64(c, "relu forward vs float64", bo_download_f(c, Y, n), m.y, n, 0, 0);
    m.y = NULL;
    bo_central_diff(act_loss, &m, theta, n, FD_H, g);
    bo_check64(c, "relu backward vs central differences", bo_download_f(c, D, n), g, n, 1e-6, 1e-5);
}

/* bias_act case p = {rows, cols, relu}: theta = (x, bias); backward = bias_grad with the fused
 * ReLU mask (dx = masked dy, db = its column sums) */
void bo_grad_bias_act(bo_ctx *c, const bo_case *k) {
    size_t rows = (size_t)k->p[0], cols = (size_t)k->p[1], n = rows * cols;
    float *x = bo_uniform(c, n, 23), *b = bo_uniform(c, cols, 24), *r = bo_uniform(c, n, 25);
    cm_buf *Y = bo_in(c, x, 4 * n), *B = bo_in(c, b, 4 * cols), *D = bo_in(c, r, 4 * n), *DB = bo_out(c, cols, 7.25f);
    BO_OK(c, backend_bias_act(c->b, Y, B, (int)rows, (int)cols, k->p[2]));
    BO_OK(c, backend_bias_grad(c->b, D, k->p[2] ? Y : NULL, DB, (int)rows, (int)cols));
    act_model m = {rows, cols, k->p[2], 1, bo_to_double(c, r, n), bo_tmp(c, sizeof(double) * n)};
    double *theta = bo_tmp(c, sizeof(double) * (n + cols)), *g = bo_tmp(c, sizeof(double) * (n + cols));
    for (size_t i = 0; i < n + cols; i++)
        theta[i] = i < n ? x[i] : b[i - n];
    act_loss(&m, theta);
    bo_check64(c, "bias_act forward vs float64", bo_download_f(c, Y, n), m.y, n, 1e-7, 1e-6);
    m.y = NULL;
    bo_central_diff(act_loss, &m, theta, n + cols, FD_H, g);
    bo_check64(c, "bias_act dx vs central differences", bo_download_f(c, D, n), g, n, 1e-6, 1e-5);
    bo_check64(c, "bias_act dbias vs central differences", bo_download_f(c, DB, cols), g + n, cols, 1e-5 * (double)rows,
               1e-5);
}

/* ---- softmax cross-entropy: L = mean over rows of -log softmax(z)[y] ---- */
typedef struct {
    int rows, classes;
    const int32_t *y;
    double *loss; /* per row, when not NULL */
} xent_model;

static double xent_loss(const void *m, const double *z) {
    const xent_model *x = m;
    double total = 0.0;
    for (int r = 0; r < x->rows; r++) {
        const double *row = z + (size_t)r * x->classes;
        double mx = row[0], s = 0.0;
        for (int j = 1; j < x->classes; j++)
            mx = fmax(mx, row[j]);
        for (int j = 0; j < x->classes; j++)
            s += exp(row[j] - mx);
        double l = log(s) - (row[x->y[r]] - mx);
        if (x->loss) x->loss[r] = l;
        total += l;
    }
    return total / x->rows;
}

/* softmax_xent case p = {rows, classes}: loss per row and dlogits */
void bo_grad_softmax_xent(bo_ctx *c, const bo_case *k) {
    int rows = k->p[0], classes = k->p[1];
    size_t n = (size_t)rows * classes;
    float *z = bo_uniform(c, n, 26);
    for (size_t i = 0; i < n; i++)
        z[i] *= 4.0f;
    int32_t *y = bo_labels(c, rows, classes, 27);
    cm_buf *Z = bo_in(c, z, 4 * n), *Y = bo_in(c, y, 4 * (size_t)rows), *D = bo_out(c, n, 7.25f);
    cm_buf *L = bo_out(c, rows, 0.0f), *A = bo_out(c, rows, 0.0f);
    BO_OK(c, backend_softmax_xent(c->b, Z, Y, D, L, A, rows, classes));
    xent_model m = {rows, classes, y, bo_tmp(c, sizeof(double) * (size_t)rows)};
    double *theta = bo_to_double(c, z, n), *g = bo_tmp(c, sizeof(double) * n);
    xent_loss(&m, theta);
    bo_check64(c, "softmax_xent loss vs float64", bo_download_f(c, L, rows), m.loss, rows, 1e-5, 1e-5);
    m.loss = NULL;
    bo_central_diff(xent_loss, &m, theta, n, FD_H, g);
    bo_check64(c, "softmax_xent dlogits vs central differences", bo_download_f(c, D, n), g, n, 1e-7, 1e-4);
}
