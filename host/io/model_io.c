/* model_io.c: safetensors writer and defensive reader for models and checkpoints: format 2
 * (a "modules" layer list) and format 1 (MLPs, tensors named after their Linear layers). */
#include "model_io.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic_file.h"
#include "file_layout.h"
#include "modules.h"
#include "onnx_model.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "model_io.c writes float32 as stored in memory: a little-endian host is required"
#endif

/* The state arrays a checkpoint may hold, and the group their tensor names start with: the
 * optimizer's (PyTorch's names) and early stopping's best weights so far. */
static const char *const known_states[] = {"momentum", "exp_avg", "exp_avg_sq", "best"};
static const char *const state_groups[] = {"optimizer.", "optimizer.", "optimizer.", "early_stopping."};
enum { NKNOWN = sizeof known_states / sizeof known_states[0] };

const float *model_file_state(const cm_model_file *f, const char *name) {
    for (int i = 0; i < f->nstate; i++)
        if (!strcmp(f->state_name[i], name)) return f->state[i];
    return NULL;
}

/* ---- metadata -------------------------------------------------------------------------------- */

cm_status meta_set(cm_meta *m, const char *key, const char *fmt, ...) {
    int i = 0;
    while (i < m->count && strcmp(m->key[i], key) != 0)
        i++;
    if (i == m->count) {
        if (m->count == CM_META_MAX) return cm_fail(CM_ERR_USAGE, "model metadata: more than %d entries", CM_META_MAX);
        if (strlen(key) >= CM_META_KEY) return cm_fail(CM_ERR_USAGE, "model metadata: key '%s' too long", key);
        snprintf(m->key[i], CM_META_KEY, "%s", key);
        m->count++;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(m->value[i], CM_META_VALUE, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= CM_META_VALUE) {
        m->value[i][0] = '\0';
        return cm_fail(CM_ERR_USAGE, "model metadata: the value of '%s' is longer than %d bytes", key,
                       CM_META_VALUE - 1);
    }
    return CM_OK;
}

const char *meta_get(const cm_meta *m, const char *key) {
    for (int i = 0; i < m->count; i++)
        if (!strcmp(m->key[i], key)) return m->value[i];
    return NULL;
}

/* ---- writing --------------------------------------------------------------------------------- */

/* Optimizer state covers the trainable tensors; early stopping's best weights every tensor
 * (BatchNorm's running statistics belong to the weights they were gathered with). */
static int state_covers(const char *state, const cm_tensor *t) {
    return t->trainable || (state && !strcmp(state, "best"));
}

/* "{prefix}layers.{i}.{name}"; i is the layer's index in the file's module list (format 1
 * files have no Flatten in front, so their indices are one lower). */
static void tensor_name(char *buf, size_t size, const char *prefix, const cm_tensor *t, int legacy) {
    snprintf(buf, size, "%slayers.%d.%s", prefix, t->layer - (legacy ? 1 : 0), t->name);
}

static cJSON *tensor_entry(const cm_tensor *t, size_t *offset) {
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "dtype", "F32");
    cJSON *shape = cJSON_AddArrayToObject(e, "shape");
    for (int d = 0; d < t->rank; d++)
        cJSON_AddItemToArray(shape, cJSON_CreateNumber(t->dims[d]));
    size_t bytes = t->numel * sizeof(float);
    cJSON *off = cJSON_AddArrayToObject(e, "data_offsets");
    cJSON_AddItemToArray(off, cJSON_CreateNumber((double)*offset));
    cJSON_AddItemToArray(off, cJSON_CreateNumber((double)(*offset + bytes)));
    *offset += bytes;
    return e;
}

/* "optimizer.momentum." for state "momentum": the prefix of its tensors' names. */
static void state_prefix(char *buf, size_t size, const char *state) {
    buf[0] = '\0';
    if (!state) return;
    for (int k = 0; k < NKNOWN; k++)
        if (!strcmp(state, known_states[k])) {
            snprintf(buf, size, "%s%s.", state_groups[k], state);
            return;
        }
}

/* The JSON header, padded with spaces to a multiple of 8 bytes as the format recommends. The
 * "modules" and "input_shape" metadata come from the layout itself, so they always match the
 * tensors (and the file loads whatever metadata the caller gave). */
static char *build_header(const cm_layout *L, int nstate, const char *const *state_names, const cm_meta *meta,
                          size_t *len) {
    cJSON *root = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(root, "__metadata__");
    for (int i = 0; i < meta->count; i++)
        if (strcmp(meta->key[i], "modules") != 0 && strcmp(meta->key[i], "input_shape") != 0)
            cJSON_AddStringToObject(md, meta->key[i], meta->value[i]);
    char shape[64];
    snprintf(shape, sizeof shape, "%dx%dx%d", L->input.c, L->input.h, L->input.w);
    cJSON_AddStringToObject(md, "input_shape", shape);
    char *modules = modules_to_json(L);
    if (modules) cJSON_AddStringToObject(md, "modules", modules);
    free(modules);
    cm_tensor tensors[CM_MAX_TENSORS];
    int nt = model_tensors(L, tensors);
    size_t offset = 0;
    char name[128], prefix[64];
    for (int pass = 0; pass < 1 + nstate; pass++) {
        const char *state = pass ? state_names[pass - 1] : NULL;
        state_prefix(prefix, sizeof prefix, state);
        for (int i = 0; i < nt; i++) {
            if (pass && !state_covers(state, &tensors[i])) continue;
            tensor_name(name, sizeof name, prefix, &tensors[i], 0);
            cJSON_AddItemToObject(root, name, tensor_entry(&tensors[i], &offset));
        }
    }
    char *json = modules ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!json) return NULL;
    size_t n = strlen(json), padded = (n + 7) / 8 * 8;
    char *out = realloc(json, padded + 1);
    if (!out) {
        free(json);
        return NULL;
    }
    memset(out + n, ' ', padded - n);
    out[padded] = '\0';
    *len = padded;
    return out;
}

static int write_all(FILE *f, const void *p, size_t n) {
    return fwrite(p, 1, n, f) == n;
}

static int write_tensors(FILE *f, const cm_layout *L, const float *v, const char *state) {
    cm_tensor tensors[CM_MAX_TENSORS];
    int nt = model_tensors(L, tensors);
    for (int i = 0; i < nt; i++)
        if ((!state || state_covers(state, &tensors[i])) &&
            !write_all(f, v + tensors[i].offset, tensors[i].numel * sizeof(float)))
            return 0;
    return 1;
}

cm_status model_file_save(const char *path, const cm_layout *L, const float *params, int nstate,
                          const char *const *state_names, const float *const *state, const cm_meta *meta) {
    if (nstate < 0 || nstate > CM_FILE_STATE_MAX) return cm_fail(CM_ERR_USAGE, "%s: %d state arrays", path, nstate);
    for (int i = 0; i < nstate; i++) {
        int known = 0;
        for (int k = 0; k < NKNOWN; k++)
            known |= !strcmp(state_names[i], known_states[k]);
        if (!known) return cm_fail(CM_ERR_USAGE, "%s: unknown state array '%s'", path, state_names[i]);
    }
    size_t hlen = 0;
    char *header = build_header(L, nstate, state_names, meta, &hlen);
    if (!header) return cm_fail(CM_ERR_MEMORY, "%s: out of memory building the header", path);
    cm_atomic_file af;
    cm_status st = atomic_file_open(path, &af);
    if (st != CM_OK) {
        free(header);
        return st;
    }
    uint8_t len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    int ok = write_all(af.f, len8, 8) && write_all(af.f, header, hlen) && write_tensors(af.f, L, params, NULL);
    for (int i = 0; i < nstate && ok; i++)
        ok = write_tensors(af.f, L, state[i], state_names[i]);
    int err = errno;
    free(header);
    return ok ? atomic_file_commit(&af) : atomic_file_abort(&af, err);
}

/* ---- reading --------------------------------------------------------------------------------- */

typedef struct {
    const char *path;
    const uint8_t *data; /* the byte buffer after the header */
    size_t data_len;
    cJSON *root;
} st_file;

typedef struct {
    size_t begin, end;
    const char *name;
} span;

static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    return (x->begin > y->begin) - (x->begin < y->begin);
}

/* A JSON number that is a non-negative integer no larger than max. */
static int json_size(const cJSON *n, double max, size_t *out) {
    if (!cJSON_IsNumber(n)) return 0;
    double v = n->valuedouble;
    if (!(v >= 0.0) || v > max || v != (double)(size_t)v) return 0;
    *out = (size_t)v;
    return 1;
}

/* Checks one tensor entry: F32, shape, offsets in bounds and matching the shape. */
static cm_status check_entry(const st_file *f, const cJSON *e, span *sp, size_t *dims, int *ndims) {
    const char *name = e->string;
    if (!cJSON_IsObject(e)) return cm_fail(CM_ERR_FORMAT, "%s: tensor '%s' is not a JSON object", f->path, name);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dtype) || !cJSON_IsArray(shape) || !cJSON_IsArray(offs))
        return cm_fail(CM_ERR_FORMAT, "%s: tensor '%s' lacks dtype, shape or data_offsets", f->path, name);
    if (strcmp(dtype->valuestring, "F32") != 0)
        return cm_fail(CM_ERR_FORMAT, "%s: tensor '%s' has dtype %s; clmnist reads F32 only", f->path, name,
                       dtype->valuestring);
    int nd = cJSON_GetArraySize(shape);
    if (nd < 1 || nd > 4)
        return cm_fail(CM_ERR_FORMAT, "%s: tensor '%s' has %d dimensions; expected 1 to 4", f->path, name, nd);
    size_t count = 1;
    for (int i = 0; i < nd; i++) {
        if (!json_size(cJSON_GetArrayItem(shape, i), 1 << 30, &dims[i]) || dims[i] == 0 ||
            count * dims[i] > ((size_t)1 << 32))
            return cm_fail(CM_ERR_FORMAT, "%s: tensor '%s' has an invalid shape", f->path, name);
        count *= dims[i];
    }
    size_t b, en;
    if (cJSON_GetArraySize(offs) != 2 || !json_size(cJSON_GetArrayItem(offs, 0), 9.0e15, &b) ||
        !json_size(cJSON_GetArrayItem(offs, 1), 9.0e15, &en) || b > en)
        return cm_fail(CM_ERR_FORMAT, "%s: tensor '%s' has invalid data_offsets", f->path, name);
    if (en > f->data_len)
        return cm_fail(CM_ERR_FORMAT, "%s: tensor '%s' ends at byte %zu of a %zu-byte data section (truncated?)",
                       f->path, name, en, f->data_len);
    if (count > SIZE_MAX / sizeof(float) || en - b != count * sizeof(float))
        return cm_fail(CM_ERR_FORMAT, "%s: tensor '%s' holds %zu bytes but its shape needs %zu", f->path, name, en - b,
                       count * sizeof(float));
    sp->begin = b;
    sp->end = en;
    sp->name = name;
    *ndims = nd;
    return CM_OK;
}

/* Records the state array a tensor name belongs to ("optimizer.{state}.layers..." or
 * "early_stopping.best.layers..."). */
static cm_status note_state(const st_file *f, const char *name, cm_model_file *out) {
    char prefix[64];
    for (int k = 0; k < NKNOWN; k++) {
        state_prefix(prefix, sizeof prefix, known_states[k]);
        if (strncmp(name, prefix, strlen(prefix)) != 0) continue;
        for (int i = 0; i < out->nstate; i++)
            if (!strcmp(out->state_name[i], known_states[k])) return CM_OK;
        if (out->nstate == CM_FILE_STATE_MAX)
            return cm_fail(CM_ERR_FORMAT, "%s: more than %d state arrays", f->path, CM_FILE_STATE_MAX);
        snprintf(out->state_name[out->nstate++], sizeof out->state_name[0], "%s", known_states[k]);
        return CM_OK;
    }
    if (!strncmp(name, "optimizer.", strlen("optimizer.")) ||
        !strncmp(name, "early_stopping.", strlen("early_stopping.")))
        return cm_fail(CM_ERR_FORMAT, "%s: unexpected tensor '%s' (unknown state array)", f->path, name);
    return CM_OK;
}

static cm_status read_whole(const char *path, uint8_t **buf, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return cm_fail(CM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return cm_fail(CM_ERR_IO, "%s: not a regular file", path);
    }
    size_t n = (size_t)sb.st_size;
    *buf = malloc(n ? n : 1);
    if (!*buf) {
        fclose(f);
        return cm_fail(CM_ERR_MEMORY, "%s: out of memory reading %zu bytes", path, n);
    }
    size_t got = fread(*buf, 1, n, f);
    fclose(f);
    if (got != n) {
        free(*buf);
        *buf = NULL;
        return cm_fail(CM_ERR_IO, "%s: read %zu of %zu bytes", path, got, n);
    }
    *len = n;
    return CM_OK;
}

/* Whether tensor `name` of the header has t's shape. */
static int shape_matches(const st_file *f, const char *name, const cm_tensor *t) {
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(f->root, name), "shape");
    if (!shape || cJSON_GetArraySize(shape) != t->rank) return 0;
    for (int d = 0; d < t->rank; d++)
        if (cJSON_GetArrayItem(shape, d)->valuedouble != (double)t->dims[d]) return 0;
    return 1;
}

/* The first tensor of the file that read_tensors did not take (found[0..nfound)), named in the
 * error: one no layer has, or a name that appears twice in the header. */
static cm_status unexpected_tensor(const st_file *f, const cJSON *const *found, int nfound) {
    for (const cJSON *e = f->root->child; e; e = e->next) {
        if (!strcmp(e->string, "__metadata__")) continue;
        int taken = 0, twice = 0;
        for (int i = 0; i < nfound && !taken; i++) {
            taken = found[i] == e;
            twice |= !strcmp(found[i]->string, e->string);
        }
        if (!taken)
            return cm_fail(CM_ERR_FORMAT, "%s: unexpected tensor '%s' (%s)", f->path, e->string,
                           twice ? "its name appears twice" : "none of the file's layers has it");
    }
    return cm_fail(CM_ERR_FORMAT, "%s: tensor count does not match its layers", f->path);
}

static cm_status shape_error(const st_file *f, const char *name, const cm_tensor *t) {
    char want[64];
    int n = snprintf(want, sizeof want, "%d", t->dims[0]);
    for (int d = 1; d < t->rank && n > 0 && (size_t)n < sizeof want; d++)
        n += snprintf(want + n, sizeof want - (size_t)n, ", %d", t->dims[d]);
    return cm_fail(CM_ERR_FORMAT, "%s: '%s' must have shape [%s] for the layers the file describes", f->path, name,
                   want);
}

/* Every tensor the layout (and the file's state arrays) needs is there with its shape, and
 * nothing else is; found[] gets their entries in the order read_tensors copies them. */
static cm_status find_tensors(const st_file *f, const cm_layout *L, int legacy, int ntensors, const cm_model_file *out,
                              const cJSON **found) {
    cm_tensor tensors[CM_MAX_TENSORS];
    int nt = model_tensors(L, tensors), expected = 0;
    char name[128], prefix[64];
    for (int pass = 0; pass < 1 + out->nstate; pass++) {
        const char *state = pass ? out->state_name[pass - 1] : NULL;
        state_prefix(prefix, sizeof prefix, state);
        for (int i = 0; i < nt; i++) {
            const cm_tensor *t = &tensors[i];
            if (pass && !state_covers(state, t)) continue;
            tensor_name(name, sizeof name, prefix, t, legacy);
            const cJSON *e = cJSON_GetObjectItemCaseSensitive(f->root, name);
            if (!e) return cm_fail(CM_ERR_FORMAT, "%s: tensor '%s' is missing", f->path, name);
            if (!shape_matches(f, name, t)) return shape_error(f, name, t);
            found[expected++] = e;
        }
    }
    if (ntensors != expected) return unexpected_tensor(f, found, expected);
    return CM_OK;
}

/* Each array copied into a fresh buffer laid out by L, once find_tensors has found every tensor
 * in the file: the arrays are then no larger than the file's data (plus alignment), however
 * large the layers its header describes. */
static cm_status read_tensors(const st_file *f, const cm_layout *L, int legacy, int ntensors, cm_model_file *out) {
    const cJSON *found[CM_MAX_TENSORS * (1 + CM_FILE_STATE_MAX)];
    CM_TRY(find_tensors(f, L, legacy, ntensors, out, found));
    cm_tensor tensors[CM_MAX_TENSORS];
    int nt = model_tensors(L, tensors), k = 0;
    for (int pass = 0; pass < 1 + out->nstate; pass++) {
        const char *state = pass ? out->state_name[pass - 1] : NULL;
        float *v = calloc(L->total ? L->total : 1, sizeof(float));
        if (!v) return cm_fail(CM_ERR_MEMORY, "%s: out of memory", f->path);
        if (pass)
            out->state[pass - 1] = v;
        else
            out->model.params = v;
        for (int i = 0; i < nt; i++) {
            const cm_tensor *t = &tensors[i];
            if (pass && !state_covers(state, t)) continue;
            const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(found[k++], "data_offsets");
            size_t b = (size_t)cJSON_GetArrayItem(offsets, 0)->valuedouble;
            memcpy(v + t->offset, f->data + b, t->numel * sizeof(float));
        }
    }
    return CM_OK;
}

static cm_status parse_and_check(st_file *f, size_t align_bytes, cm_model_file *out) {
    const char *modules_text = NULL, **modules = &modules_text;
    if (!cJSON_IsObject(f->root)) return cm_fail(CM_ERR_FORMAT, "%s: the header is not a JSON object", f->path);
    /* metadata */
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(f->root, "__metadata__");
    if (md) {
        if (!cJSON_IsObject(md)) return cm_fail(CM_ERR_FORMAT, "%s: __metadata__ is not an object", f->path);
        for (const cJSON *e = md->child; e; e = e->next) {
            if (!cJSON_IsString(e))
                return cm_fail(CM_ERR_FORMAT, "%s: metadata '%s' is not a string", f->path, e->string);
            if (!strcmp(e->string, "modules")) {
                *modules = e->valuestring;
                continue;
            }
            if (meta_set(&out->meta, e->string, "%s", e->valuestring) != CM_OK)
                return cm_fail(CM_ERR_FORMAT, "%s: metadata: %s", f->path, cm_last_error());
        }
    }
    /* every tensor entry well-formed, spans disjoint */
    int ntensors = 0;
    for (const cJSON *e = f->root->child; e; e = e->next)
        if (strcmp(e->string, "__metadata__") != 0) ntensors++;
    span *spans = calloc((size_t)ntensors + 1, sizeof *spans);
    if (!spans) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    int k = 0;
    cm_status st = CM_OK;
    for (const cJSON *e = f->root->child; e && st == CM_OK; e = e->next) {
        if (!strcmp(e->string, "__metadata__")) continue;
        size_t dims[4];
        int nd;
        st = check_entry(f, e, &spans[k++], dims, &nd);
        if (st == CM_OK) st = note_state(f, e->string, out);
    }
    if (st == CM_OK) {
        qsort(spans, (size_t)k, sizeof *spans, cmp_span);
        for (int i = 1; i < k && st == CM_OK; i++)
            if (spans[i].begin < spans[i - 1].end)
                st = cm_fail(CM_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap in the data section", f->path,
                             spans[i - 1].name, spans[i].name);
    }
    free(spans);
    CM_TRY(st);

    /* the architecture, then every tensor it implies */
    cm_layout L;
    int legacy = 0;
    CM_TRY(file_layout(f->path, f->root, &out->meta, modules_text, align_bytes, &L, &legacy));
    out->model.layout = L;
    return read_tensors(f, &L, legacy, ntensors, out);
}

/* A comma-separated list of up to 4 finite numbers into v; their count, or -1 when malformed. */
static int number_list(const char *text, float v[4]) {
    int n = 0;
    for (const char *p = text; *p && n <= 4;) {
        char *end;
        double x = strtod(p, &end);
        if (end == p || !isfinite(x) || n == 4) return -1;
        v[n++] = (float)x;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return -1;
    }
    return n;
}

/* The input normalisation of the metadata (input_mean, input_std: one number, or one per channel)
 * into the layout; mean 0 and std 1 (every model before colour) is none. */
static cm_status read_normalisation(const cm_meta *m, const char *path, cm_layout *L) {
    const char *mt = meta_get(m, "input_mean"), *st = meta_get(m, "input_std");
    if (!mt || !st) return CM_OK;
    float mean[4], std[4];
    int nm = number_list(mt, mean), ns = number_list(st, std), C = L->input.c;
    if (nm < 1 || nm != ns || (nm != 1 && nm != C) || C > 4)
        return cm_fail(CM_ERR_FORMAT,
                       "%s: input_mean '%s' / input_std '%s': expected one number or one per channel (%d)", path, mt,
                       st, C);
    for (int c = 0; c < C; c++) {
        L->in_mean[c] = mean[nm == 1 ? 0 : c], L->in_std[c] = std[nm == 1 ? 0 : c];
        if (!(L->in_std[c] > 0.0f)) return cm_fail(CM_ERR_FORMAT, "%s: input_std '%s' must be above 0", path, st);
        if (L->in_mean[c] != 0.0f || L->in_std[c] != 1.0f) L->normalized = 1;
    }
    return CM_OK;
}

cm_status model_file_parse(const uint8_t *buf, size_t len, const char *path, size_t align_bytes, cm_model_file *out) {
    memset(out, 0, sizeof *out);
    cm_status st = CM_OK;
    uint64_t hlen = 0;
    if (len < 8) {
        st = cm_fail(CM_ERR_FORMAT, "%s: %zu bytes is too short for a safetensors file (truncated?)", path, len);
    } else {
        for (int i = 7; i >= 0; i--)
            hlen = (hlen << 8) | buf[i];
        if (hlen > len - 8)
            st = cm_fail(CM_ERR_FORMAT, "%s: header length %llu runs past the end of the %zu-byte file (truncated?)",
                         path, (unsigned long long)hlen, len);
        else if (hlen > CM_SAFETENSORS_MAX_HEADER || hlen < 2)
            st = cm_fail(CM_ERR_FORMAT, "%s: header length %llu is not plausible for a safetensors file", path,
                         (unsigned long long)hlen);
    }
    st_file f = {path, NULL, 0, NULL};
    if (st == CM_OK) {
        const char *json = (const char *)buf + 8, *end = NULL;
        f.root = cJSON_ParseWithLengthOpts(json, (size_t)hlen, &end, 0);
        while (f.root && end < json + hlen && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
            end++; /* the padding */
        if (!f.root || end != json + hlen) st = cm_fail(CM_ERR_FORMAT, "%s: the JSON header is malformed", path);
        f.data = buf + 8 + hlen;
        f.data_len = len - 8 - (size_t)hlen;
    }
    if (st == CM_OK) st = parse_and_check(&f, align_bytes, out);
    if (st == CM_OK) st = read_normalisation(&out->meta, path, &out->model.layout);
    cJSON_Delete(f.root);
    if (st != CM_OK) model_file_free(out);
    return st;
}

cm_status model_file_load(const char *path, size_t align_bytes, cm_model_file *out) {
    memset(out, 0, sizeof *out);
    uint8_t *buf = NULL;
    size_t len = 0;
    CM_TRY(read_whole(path, &buf, &len));
    /* an ONNX model (onnx_model.h) loads as the same layers and tensors */
    cm_status st = onnx_is_onnx(path, buf, len) ? onnx_model_parse(buf, len, path, align_bytes, out)
                                                : model_file_parse(buf, len, path, align_bytes, out);
    free(buf);
    return st;
}

void model_file_free(cm_model_file *f) {
    model_free(&f->model);
    for (int i = 0; i < CM_FILE_STATE_MAX; i++) {
        free(f->state[i]);
        f->state[i] = NULL;
    }
    f->nstate = 0;
}
