/* gemm_tune.c: CLBlast GEMM kernel candidates; the
 * per-device tuning cache (JSON) and its loader. The search itself is in cmd_tune.c. */
#include "gemm_tune.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rng.h"
#include "clmnist_version.h"
#include "timer.h"

const char *const gemm_direct_names[GEMM_DIRECT_NPARAMS] = {"WGD",  "MDIMCD", "NDIMCD", "MDIMAD", "NDIMBD",
                                                            "KWID", "VWMD",   "VWND",   "PADA",   "PADB"};
const char *const gemm_indirect_names[GEMM_INDIRECT_NPARAMS] = {"GEMMK", "KREG",  "KWG",   "KWI", "MDIMA", "MDIMC",
                                                                "MWG",   "NDIMB", "NDIMC", "NWG", "SA",    "SB",
                                                                "STRM",  "STRN",  "VWM",   "VWN"};


cm_status gemm_params_apply(cm_backend *b, const gemm_params *p) {
    if (p->has_direct)
        CM_TRY(backend_device_override(b, "XgemmDirect", GEMM_DIRECT_NPARAMS, gemm_direct_names, p->direct));
    if (p->has_indirect)
        CM_TRY(backend_device_override(b, "Xgemm", GEMM_INDIRECT_NPARAMS, gemm_indirect_names, p->indirect));
    const char *routine[1] = {"XGEMM_MIN_INDIRECT_SIZE"};
    return backend_device_override(b, "GemmRoutine", 1, routine, &p->min_indirect);
}

/* The constraints of CLBlast's direct kernel (its tuner's), with MDIMAD = MDIMCD and NDIMBD =
 * NDIMCD, KWID 2 and padded local memory. */
int gemm_direct_candidates(size_t max_wg, size_t local_mem, gemm_params *out, int max) {
    const size_t wgd[] = {8, 16, 32, 64}, dim[] = {8, 16, 32}, vw[] = {1, 2, 4, 8};
    int n = 0;
    for (size_t a = 0; a < 4; a++)
        for (size_t mc = 0; mc < 3; mc++)
            for (size_t nc = 0; nc < 3; nc++)
                for (size_t vm = 0; vm < 4; vm++)
                    for (size_t vn = 0; vn < 4; vn++) {
                        size_t W = wgd[a], M = dim[mc], N = dim[nc], VM = vw[vm], VN = vw[vn];
                        if (W % 2 || W % (M * VM) || W % (N * VN) || W % N || W % M) continue;
                        if (M * N > max_wg || sizeof(float) * 2 * W * (W + 1) > local_mem) continue;
                        if (n < max) out[n] = (gemm_params){1, {W, M, N, M, N, 2, VM, VN, 1, 1}, 0, {0}, 0, ""};
                        n++;
                    }
    return n < max ? n : max;
}

static int multiple(size_t v, size_t of) {
    return of && v % of == 0;
}

/* 1 when an indirect-kernel configuration meets the constraints of CLBlast's Xgemm tuner for
 * kernel 0 (integer work per work-item, KWG a multiple of the re-shaped tile heights, local
 * memory and work-group size within the device's limits). */
static int indirect_valid(const size_t *x, size_t max_wg, size_t local_mem) {
    size_t wg = x[XG_MDIMC] * x[XG_NDIMC];
    if (wg > max_wg || !multiple(x[XG_KWG], x[XG_KWI])) return 0;
    if (!multiple(x[XG_MWG], x[XG_MDIMC] * x[XG_VWM]) || !multiple(x[XG_NWG], x[XG_NDIMC] * x[XG_VWN])) return 0;
    if (!multiple(x[XG_MWG], x[XG_MDIMA] * x[XG_VWM]) || !multiple(x[XG_NWG], x[XG_NDIMB] * x[XG_VWN])) return 0;
    if (x[XG_GEMMK] != 0 || x[XG_KREG] != 1) return 0; /* kernel 1: see gemm_indirect_candidates */
    if (!multiple(x[XG_KWG], wg / x[XG_MDIMA]) || !multiple(x[XG_KWG], wg / x[XG_NDIMB])) return 0;
    return sizeof(float) * (x[XG_SA] * x[XG_KWG] * x[XG_MWG] + x[XG_SB] * x[XG_KWG] * x[XG_NWG]) <= local_mem;
}

/* Kernel 0 (GEMMK 0, local-memory tiles): the value sets of CLBlast's tuner with MDIMA = MDIMC,
 * NDIMB = NDIMC, SA = SB and no strided access, shuffled with a fixed seed. On a CPU device the
 * configurations that keep their tiles in registers come first (no local memory, 64 to 128
 * results per work-item): a CPU has no on-chip local memory for SA/SB to use, and the winners of
 * the first full searches on PoCL all had that shape. Kernel 1 (GEMMK 1,
 * 2-D register tiling) is not searched: with CLBlast 1.5.3 on PoCL its configurations wrote past
 * their buffers and corrupted the heap (heap corruption within four candidates, every time). */
int gemm_indirect_candidates(size_t max_wg, size_t local_mem, int cpu, gemm_params *out, int max) {
    static const size_t wg[] = {16, 32, 64, 128}, dim[] = {8, 16, 32}, vw[] = {1, 2, 4, 8}, kwg[] = {16, 32};
    int n = 0;
    for (int code = 0; code < 4 * 4 * 4 * 4 * 2 * 3 * 3 * 2 && n < max; code++) {
        int c = code; /* mixed-radix digits, fastest first: SA NDIMC MDIMC KWG VWN VWM NWG MWG */
        size_t x[GEMM_INDIRECT_NPARAMS] = {0};
        x[XG_SA] = x[XG_SB] = (size_t)(c % 2), c /= 2;
        x[XG_NDIMB] = x[XG_NDIMC] = dim[c % 3], c /= 3;
        x[XG_MDIMA] = x[XG_MDIMC] = dim[c % 3], c /= 3;
        x[XG_KWG] = kwg[c % 2], c /= 2;
        x[XG_VWN] = vw[c % 4], c /= 4;
        x[XG_VWM] = vw[c % 4], c /= 4;
        x[XG_NWG] = wg[c % 4], c /= 4;
        x[XG_MWG] = wg[c];
        x[XG_KWI] = 2, x[XG_KREG] = 1;
        if (!indirect_valid(x, max_wg, local_mem)) continue;
        out[n] = (gemm_params){0};
        out[n].has_indirect = 1;
        memcpy(out[n++].indirect, x, sizeof x);
    }
    cm_rng rng;
    rng_seed(&rng, 2024, 5);
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_bounded(&rng, (uint32_t)i + 1);
        gemm_params t = out[i];
        out[i] = out[j];
        out[j] = t;
    }
    if (cpu) { /* stable partition: register-tiled configurations first */
        gemm_params *tmp = malloc(sizeof *tmp * (size_t)(n ? n : 1));
        if (tmp) {
            int k = 0;
            for (int pass = 0; pass < 2; pass++)
                for (int i = 0; i < n; i++) {
                    const size_t *x = out[i].indirect;
                    size_t tile = (x[XG_MWG] / x[XG_MDIMC]) * (x[XG_NWG] / x[XG_NDIMC]);
                    int preferred = x[XG_SA] == 0 && tile >= 64 && tile <= 128;
                    if (preferred == (pass == 0)) tmp[k++] = out[i];
                }
            memcpy(out, tmp, sizeof *tmp * (size_t)n);
            free(tmp);
        }
    }
    return n;
}

void gemm_candidates_put_first(gemm_params *cand, int *nc, int max, const gemm_params *cached, int direct) {
    if (max < 1 || !(direct ? cached->has_direct : cached->has_indirect)) return;
    gemm_params c = {0};
    if (direct) {
        c.has_direct = 1;
        memcpy(c.direct, cached->direct, sizeof c.direct);
    } else {
        c.has_indirect = 1;
        memcpy(c.indirect, cached->indirect, sizeof c.indirect);
    }
    int i = 0;
    while (i < *nc && (direct ? memcmp(cand[i].direct, c.direct, sizeof c.direct)
                              : memcmp(cand[i].indirect, c.indirect, sizeof c.indirect)) != 0)
        i++;
    if (i == *nc && *nc < max) (*nc)++;
    if (i == max) i--; /* a full list: the cached one replaces the last */
    memmove(cand + 1, cand, sizeof *cand * (size_t)i);
    cand[0] = c;
}

int gemm_indirect_distance(const gemm_params *a, const gemm_params *b) {
    /* MDIMA, NDIMB and SB move with MDIMC, NDIMC and SA in the searched space */
    static const int knobs[] = {XG_KWG, XG_MDIMC, XG_MWG, XG_NDIMC, XG_NWG, XG_SA, XG_VWM, XG_VWN, XG_KWI, XG_GEMMK};
    int d = 0;
    for (size_t i = 0; i < sizeof knobs / sizeof knobs[0]; i++)
        d += a->indirect[knobs[i]] != b->indirect[knobs[i]];
    return d;
}

static void sanitise(char *dst, size_t size, const char *src) {
    size_t o = 0;
    for (; *src && o + 1 < size; src++) {
        char c = *src;
        if (isalnum((unsigned char)c) || c == '.')
            dst[o++] = c;
        else if (o && dst[o - 1] != '_')
            dst[o++] = '_';
    }
    dst[o] = '\0';
}

cm_status gemm_cache_path(const cm_backend *b, char *buf, size_t size) {
    const char *vendor, *device, *driver;
    size_t wg, lm;
    backend_device_identity(b, &vendor, &device, &driver, &wg, &lm);
    char dir[1024];
    const char *env = getenv("CLMNIST_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (env && *env)
        snprintf(dir, sizeof dir, "%s", env);
    else if (xdg && *xdg)
        snprintf(dir, sizeof dir, "%s/clmnist", xdg);
    else if (home && *home)
        snprintf(dir, sizeof dir, "%s/.cache/clmnist", home);
    else
        return cm_fail(CM_ERR_IO, "no cache directory: set CLMNIST_CACHE_DIR");
    char name[512], raw[600];
    snprintf(raw, sizeof raw, "%s-%s-%s", vendor, device, driver);
    sanitise(name, sizeof name, raw);
    if ((size_t)snprintf(buf, size, "%s/gemm-%s.json", dir, name) >= size)
        return cm_fail(CM_ERR_IO, "cache path too long under %s", dir);
    return CM_OK;
}

static cm_status make_dirs(const char *path) {
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    char *slash = strrchr(tmp, '/');
    if (!slash) return CM_OK;
    *slash = '\0';
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return cm_fail(CM_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
            *p = '/';
        }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return cm_fail(CM_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    return CM_OK;
}

cm_status gemm_cache_save(const cm_backend *b, const char *path, const gemm_params *p, const char *tuned_for,
                          double gflops_before, double gflops_after) {
    const char *vendor, *device, *driver;
    size_t wg, lm;
    backend_device_identity(b, &vendor, &device, &driver, &wg, &lm);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "clmnist_gemm_tuning", 1);
    cJSON_AddStringToObject(root, "clmnist_version", CLMNIST_VERSION);
    cJSON_AddStringToObject(root, "vendor", vendor);
    cJSON_AddStringToObject(root, "device", device);
    cJSON_AddStringToObject(root, "driver", driver);
    cJSON_AddStringToObject(root, "tuned_for", tuned_for);
    cJSON_AddNumberToObject(root, "gflops_untuned", gflops_before);
    cJSON_AddNumberToObject(root, "gflops_tuned", gflops_after);
    if (p->has_direct) {
        cJSON *d = cJSON_AddObjectToObject(root, "XgemmDirect");
        for (int i = 0; i < GEMM_DIRECT_NPARAMS; i++)
            cJSON_AddNumberToObject(d, gemm_direct_names[i], (double)p->direct[i]);
    }
    if (p->has_indirect) {
        cJSON *d = cJSON_AddObjectToObject(root, "Xgemm");
        for (int i = 0; i < GEMM_INDIRECT_NPARAMS; i++)
            cJSON_AddNumberToObject(d, gemm_indirect_names[i], (double)p->indirect[i]);
    }
    cJSON *r = cJSON_AddObjectToObject(root, "GemmRoutine");
    cJSON_AddNumberToObject(r, "XGEMM_MIN_INDIRECT_SIZE", (double)p->min_indirect);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    cm_status st = make_dirs(path);
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = st == CM_OK ? fopen(tmp, "w") : NULL;
    if (st == CM_OK && !f) st = cm_fail(CM_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
    if (f) {
        int ok = fprintf(f, "%s\n", text) > 0;
        ok = fclose(f) == 0 && ok;
        if (!ok || rename(tmp, path) != 0) {
            st = cm_fail(CM_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
            remove(tmp);
        }
    }
    free(text);
    return st;
}

/* Reads the integer field `name` of obj (lo..65536) into *v and returns 1; 0 when it is absent,
 * not an integer or out of range. */
static int get_size(const cJSON *obj, const char *name, double lo, size_t *v) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsNumber(x) || x->valuedouble < lo || x->valuedouble > 65536 || x->valuedouble != (size_t)x->valuedouble)
        return 0;
    *v = (size_t)x->valuedouble;
    return 1;
}

/* Every field of a kernel's parameter object; the flags and GEMMK may be 0. */
static cm_status get_kernel_params(const char *path, const cJSON *obj, const char *kernel, const char *const *names,
                                   int n, size_t *out) {
    for (int i = 0; i < n; i++) {
        int zero_ok = !strncmp(names[i], "PAD", 3) || !strcmp(names[i], "SA") || !strcmp(names[i], "SB") ||
                      !strncmp(names[i], "STR", 3) || !strcmp(names[i], "GEMMK");
        if (!get_size(obj, names[i], zero_ok ? 0 : 1, &out[i]))
            return cm_fail(CM_ERR_FORMAT, "%s: %s.%s missing or out of range", path, kernel, names[i]);
    }
    return CM_OK;
}

static cm_status parse_cache(const cm_backend *b, const char *path, gemm_params *p) {
    FILE *f = fopen(path, "r");
    if (!f) return cm_fail(CM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *root = cJSON_Parse(buf);
    cm_status st = CM_OK;
    const char *vendor, *device, *driver;
    size_t wg, lm;
    backend_device_identity(b, &vendor, &device, &driver, &wg, &lm);
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(root, "device");
    const cJSON *drv = cJSON_GetObjectItemCaseSensitive(root, "driver");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "XgemmDirect");
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(root, "Xgemm");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "GemmRoutine");
    const cJSON *tf = cJSON_GetObjectItemCaseSensitive(root, "tuned_for");
    memset(p, 0, sizeof *p);
    if (cJSON_IsString(tf)) snprintf(p->tuned_for, sizeof p->tuned_for, "%s", tf->valuestring);
    if (!cJSON_IsObject(root))
        st = cm_fail(CM_ERR_FORMAT, "%s: not a JSON object", path);
    else if (!cJSON_IsString(dev) || strcmp(dev->valuestring, device) != 0 || !cJSON_IsString(drv) ||
             strcmp(drv->valuestring, driver) != 0)
        st = cm_fail(CM_ERR_FORMAT, "%s: written for another device or driver", path);
    else if (!get_size(r, "XGEMM_MIN_INDIRECT_SIZE", 1, &p->min_indirect))
        st = cm_fail(CM_ERR_FORMAT, "%s: GemmRoutine.XGEMM_MIN_INDIRECT_SIZE missing or out of range", path);
    if (st == CM_OK && d) {
        p->has_direct = 1;
        st = get_kernel_params(path, d, "XgemmDirect", gemm_direct_names, GEMM_DIRECT_NPARAMS, p->direct);
    }
    if (st == CM_OK && x) {
        p->has_indirect = 1;
        st = get_kernel_params(path, x, "Xgemm", gemm_indirect_names, GEMM_INDIRECT_NPARAMS, p->indirect);
        if (st == CM_OK && !indirect_valid(p->indirect, wg, lm))
            st = cm_fail(CM_ERR_FORMAT, "%s: Xgemm parameters break CLBlast's constraints for this device", path);
    }
    cJSON_Delete(root);
    return st;
}

int gemm_tuning_disabled(void) {
    const char *off = getenv("CLMNIST_NO_TUNING");
    return off && *off && strcmp(off, "0") != 0;
}

cm_status gemm_cache_read(const cm_backend *b, char *path, size_t size, gemm_params *p, int *found) {
    *found = 0;
    if (gemm_cache_path(b, path, size) != CM_OK) return CM_OK; /* nowhere to keep one: not tuned */
    struct stat sb;
    if (stat(path, &sb) != 0) return CM_OK; /* not tuned */
    *found = 1;
    return parse_cache(b, path, p);
}

void gemm_cache_load(cm_backend *b) {
    b->tuning[0] = b->tuned_for[0] = '\0';
    if (gemm_tuning_disabled()) return;
    char path[1024];
    gemm_params p = {0};
    int found;
    cm_status st = gemm_cache_read(b, path, sizeof path, &p, &found);
    if (!found) return; /* not tuned: CLBlast's defaults */
    if (st == CM_OK) st = gemm_params_apply(b, &p);
    if (st != CM_OK) {
        fprintf(stderr, "warning: ignoring the GEMM tuning cache: %s (run 'clmnist tune' again)\n", cm_last_error());
        return;
    }
    snprintf(b->tuning, sizeof b->tuning, "%s", path);
    snprintf(b->tuned_for, sizeof b->tuned_for, "%s", p.tuned_for);
}
