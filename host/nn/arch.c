/* arch.c: the --arch grammar and the --layers shorthand, into layer descriptors.
 *
 *   spec   := token ('-' token)*
 *   token  := 'conv' C 'k' K ['s' S] ['p' P]   Conv2d(out_channels=C, kernel_size=K, stride=S (1), padding=P (0))
 *           | 'pool' K ['s' S]                  MaxPool2d(kernel_size=K, stride=S (K))
 *           | 'bn'                              BatchNorm2d on images, BatchNorm1d on vectors
 *                                               (a Conv2d right before it has bias=False)
 *           | 'relu' | 'flatten'
 *           | 'drop' P                          Dropout(p=P), 0 <= P < 1
 *           | 'fc' N                            Linear(out_features=N)
 *           | 'gap'                             global average pooling: AdaptiveAvgPool2d(1), then
 *                                               Flatten (two layers of the modules list)
 * Input sizes (in_channels, in_features, num_features) follow from the data's shape. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* Reads an integer in [1, max] at *p, advancing it; 0 when there is none. */
static int read_int(const char **p, int min, int max, int *out) {
    if (**p < '0' || **p > '9') return 0;
    char *end;
    errno = 0;
    long v = strtol(*p, &end, 10);
    if (errno || v < min || v > max) return 0;
    *out = (int)v;
    *p = end;
    return 1;
}

/* Optional suffix letter + integer ("s2"); absent leaves *out alone. */
static int read_opt(const char **p, char letter, int min, int *out) {
    if (**p != letter) return 1;
    (*p)++;
    return read_int(p, min, 4096, out);
}

static cm_status parse_token(const char *tok, cm_layer *l) {
    const char *p = tok;
    int ok = 1;
    if (strcmp(tok, "relu") == 0) {
        *l = layer_default(CM_LAYER_RELU);
    } else if (strcmp(tok, "flatten") == 0) {
        *l = layer_default(CM_LAYER_FLATTEN);
    } else if (strcmp(tok, "gap") == 0) {
        *l = layer_default(CM_LAYER_GAP); /* its Flatten: model_parse_arch */
    } else if (strcmp(tok, "bn") == 0) {
        *l = layer_default(CM_LAYER_BATCHNORM2D); /* 1d or 2d: decided by the input, below */
    } else if (strncmp(tok, "conv", 4) == 0) {
        *l = layer_default(CM_LAYER_CONV2D);
        p += 4;
        ok = read_int(&p, 1, 65536, &l->out) && *p++ == 'k' && read_int(&p, 1, 4096, &l->kernel) &&
             read_opt(&p, 's', 1, &l->stride) && read_opt(&p, 'p', 0, &l->pad) && *p == '\0';
    } else if (strncmp(tok, "pool", 4) == 0) {
        *l = layer_default(CM_LAYER_MAXPOOL2D);
        p += 4;
        ok = read_int(&p, 1, 4096, &l->kernel);
        l->stride = l->kernel;
        ok = ok && read_opt(&p, 's', 1, &l->stride) && *p == '\0';
    } else if (strncmp(tok, "fc", 2) == 0) {
        *l = layer_default(CM_LAYER_LINEAR);
        p += 2;
        ok = read_int(&p, 1, 1 << 24, &l->out) && *p == '\0';
    } else if (strncmp(tok, "drop", 4) == 0) {
        *l = layer_default(CM_LAYER_DROPOUT);
        char *end;
        errno = 0;
        double v = strtod(tok + 4, &end);
        ok = tok[4] >= '0' && tok[4] <= '9' && !errno && *end == '\0' && v >= 0.0 && v < 1.0;
        l->p = (float)v;
    } else {
        return cm_fail(CM_ERR_USAGE, "unknown layer; expected conv<C>k<K>[s<S>][p<P>], pool<K>[s<S>], bn, relu, "
                                     "drop<P>, flatten, gap or fc<N>");
    }
    if (!ok) {
        switch (l->type) {
        case CM_LAYER_CONV2D:
            return cm_fail(CM_ERR_USAGE,
                           "expected conv<C>k<K>[s<S>][p<P>] (e.g. conv32k5p2), C 1-65536, K and S 1-4096");
        case CM_LAYER_MAXPOOL2D: return cm_fail(CM_ERR_USAGE, "expected pool<K>[s<S>] (e.g. pool2 or pool3s2)");
        case CM_LAYER_LINEAR: return cm_fail(CM_ERR_USAGE, "expected fc<N> (e.g. fc10), N 1-16777216");
        default: return cm_fail(CM_ERR_USAGE, "expected drop<P> with 0 <= P < 1 (e.g. drop0.3)");
        }
    }
    return CM_OK;
}

cm_status model_parse_arch(const char *spec, cm_layer *layers, int *nlayers) {
    *nlayers = 0;
    if (!spec || !*spec) return cm_fail(CM_ERR_USAGE, "--arch: empty spec");
    const char *p = spec;
    int flat = 0;                       /* BatchNorm's dimensionality follows the layers before it */
    for (int i = 0, t = 0;; i++, t++) { /* layer i from token t ('gap' gives two layers) */
        const char *dash = strchr(p, '-');
        size_t len = dash ? (size_t)(dash - p) : strlen(p);
        char tok[64];
        if (len == 0 || len >= sizeof tok)
            return cm_fail(CM_ERR_USAGE, "--arch '%s': token %d is %s", spec, t + 1, len ? "too long" : "empty");
        if (i >= CM_MAX_LAYERS) return cm_fail(CM_ERR_USAGE, "--arch '%s': more than %d layers", spec, CM_MAX_LAYERS);
        memcpy(tok, p, len);
        tok[len] = '\0';
        cm_status st = parse_token(tok, &layers[i]);
        if (st != CM_OK) {
            char why[256];
            snprintf(why, sizeof why, "%s", cm_last_error());
            return cm_fail(st, "--arch '%s': token %d '%s': %s", spec, t + 1, tok, why);
        }
        if (layers[i].type == CM_LAYER_GAP) {
            if (i + 1 >= CM_MAX_LAYERS)
                return cm_fail(CM_ERR_USAGE, "--arch '%s': more than %d layers", spec, CM_MAX_LAYERS);
            layers[++i] = layer_default(CM_LAYER_FLATTEN);
        }
        if (layers[i].type == CM_LAYER_FLATTEN || layers[i].type == CM_LAYER_LINEAR) flat = 1;
        if (layers[i].type == CM_LAYER_BATCHNORM2D && flat) layers[i].type = CM_LAYER_BATCHNORM1D;
        if (i > 0 && layers[i - 1].type == CM_LAYER_CONV2D && layers[i].type == CM_LAYER_BATCHNORM2D)
            layers[i - 1].no_bias = 1; /* as PyTorch recipes write it: the normalisation removes a bias */
        *nlayers = i + 1;
        if (!dash) return CM_OK;
        p = dash + 1;
    }
}

cm_status model_parse_layers(const char *spec, int *hidden, int *nhidden) {
    *nhidden = 0;
    if (!spec || !*spec) return CM_OK;
    const char *p = spec;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 1 || v > 65536 || (*end != ',' && *end != '\0'))
            return cm_fail(CM_ERR_USAGE, "--layers '%s': expected comma-separated sizes between 1 and 65536", spec);
        if (*nhidden >= (CM_MAX_LAYERS - 2) / 3)
            return cm_fail(CM_ERR_USAGE, "--layers '%s': at most %d hidden layers", spec, (CM_MAX_LAYERS - 2) / 3);
        hidden[(*nhidden)++] = (int)v;
        p = *end == ',' ? end + 1 : end;
        if (*end == ',' && !*p) return cm_fail(CM_ERR_USAGE, "--layers '%s': trailing comma", spec);
    }
    return CM_OK;
}

cm_status model_mlp_layers(const int *hidden, int nhidden, int classes, float dropout, cm_layer *layers, int *nlayers) {
    int n = 0;
    if (nhidden < 0 || nhidden > (CM_MAX_LAYERS - 2) / 3)
        return cm_fail(CM_ERR_USAGE, "at most %d hidden layers", (CM_MAX_LAYERS - 2) / 3);
    layers[n++] = layer_default(CM_LAYER_FLATTEN);
    for (int i = 0; i <= nhidden; i++) {
        layers[n] = layer_default(CM_LAYER_LINEAR);
        layers[n++].out = i < nhidden ? hidden[i] : classes;
        if (i == nhidden) break;
        layers[n++] = layer_default(CM_LAYER_RELU);
        if (dropout > 0.0f) {
            layers[n] = layer_default(CM_LAYER_DROPOUT);
            layers[n++].p = dropout;
        }
    }
    *nlayers = n;
    return CM_OK;
}

/* One item of a --freeze spec: "N" or "N-M", indices of nlayers layers. */
static cm_status freeze_item(const char *what, const char *item, int nlayers, int *lo, int *hi) {
    const char *p = item;
    int ok = read_int(&p, 0, 1000000, lo);
    *hi = *lo;
    if (ok && *p == '-') {
        p++;
        ok = read_int(&p, 0, 1000000, hi);
    }
    if (!ok || *p) return cm_fail(CM_ERR_USAGE, "%s: '%s' is not a layer index or range (e.g. 3 or 0-5)", what, item);
    if (*lo > *hi) return cm_fail(CM_ERR_USAGE, "%s: range '%s' runs backwards", what, item);
    if (*hi >= nlayers)
        return cm_fail(CM_ERR_USAGE, "%s: layer %d: the model has %d layers (0-%d)", what, *hi, nlayers, nlayers - 1);
    return CM_OK;
}

cm_status model_parse_freeze(const char *what, const char *spec, cm_layer *layers, int nlayers) {
    char buf[CM_ARCH_TEXT];
    if (!*spec) return cm_fail(CM_ERR_USAGE, "%s: empty; give layer indices or ranges (e.g. 0-5)", what);
    if (strlen(spec) >= sizeof buf) return cm_fail(CM_ERR_USAGE, "%s: longer than %zu bytes", what, sizeof buf - 1);
    strcpy(buf, spec);
    int frozen[CM_MAX_LAYERS] = {0};
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        int lo, hi;
        CM_TRY(freeze_item(what, item, nlayers, &lo, &hi));
        for (int i = lo; i <= hi; i++)
            frozen[i] = 1;
    }
    if (spec[strlen(spec) - 1] == ',' || spec[0] == ',' || strstr(spec, ",,"))
        return cm_fail(CM_ERR_USAGE, "%s: '%s' has an empty item", what, spec);
    for (int i = 0; i < nlayers; i++)
        layers[i].frozen = frozen[i];
    return CM_OK;
}

void model_describe_frozen(const cm_layout *L, char *buf, size_t size) {
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < L->nlayers && n + 1 < size; i++) {
        if (!L->layers[i].frozen || (i > 0 && L->layers[i - 1].frozen)) continue;
        int j = i;
        while (j + 1 < L->nlayers && L->layers[j + 1].frozen)
            j++;
        n += (size_t)(j > i ? snprintf(buf + n, size - n, "%s%d-%d", n ? "," : "", i, j)
                            : snprintf(buf + n, size - n, "%s%d", n ? "," : "", i));
    }
}
