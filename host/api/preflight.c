/* preflight.c: the checks before the work, and the rescue file (preflight.h). */
#include "preflight.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "model_io.h"

cm_status preflight_file(const char *flag, const char *path) {
    if (!path) return CM_OK;
    if (!*path) return cm_fail(CM_ERR_USAGE, "%s: expected a file name", flag);
    int err = atomic_file_probe(path, 0);
    if (!err) return CM_OK;
    const char *slash = strrchr(path, '/');
    int dir_len = slash ? (slash == path ? 1 : (int)(slash - path)) : 1;
    const char *dir = slash ? path : ".";
    if (err == EISDIR) return cm_fail(CM_ERR_USAGE, "%s %s: is a directory; give a file name", flag, path);
    if (err == ENOENT || err == ENOTDIR)
        return cm_fail(CM_ERR_IO, "%s %s: '%.*s' %s (nothing was done)", flag, path, dir_len, dir,
                       err == ENOENT ? "does not exist" : "is not a directory");
    return cm_fail(CM_ERR_IO, "%s %s: cannot create files in '%.*s': %s (nothing was done)", flag, path, dir_len, dir,
                   strerror(err));
}

cm_status preflight_dir(const char *flag, const char *dir) {
    if (!dir) return CM_OK;
    if (!*dir) return cm_fail(CM_ERR_USAGE, "%s: expected a directory", flag);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return cm_fail(CM_ERR_IO, "%s %s: cannot create the directory: %s (nothing was done)", flag, dir,
                       strerror(errno));
    int err = atomic_file_probe(dir, 1);
    if (err)
        return cm_fail(CM_ERR_IO, "%s %s: cannot create files in it: %s (nothing was done)", flag, dir,
                       strerror(err == ENOENT ? ENOTDIR : err));
    return CM_OK;
}

cm_status preflight_dir_creatable(const char *flag, const char *dir) {
    struct stat sb;
    if (!dir || (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))) return dir ? preflight_dir(flag, dir) : CM_OK;
    return preflight_file(flag, dir); /* its parent takes new entries */
}

cm_status preflight_backend(const char *kind, const char *device, int slot, cm_backend_choice *choice) {
    cm_backend_options bo = {.device = device, .slot = slot};
    cm_backend_choice c;
    CM_TRY(backend_resolve(kind, &bo, choice ? choice : &c));
    return CM_OK;
}

cm_status preflight_rescue(cm_status failed, cm_status (*save)(const char *path, void *ctx), void *ctx) {
    char why[1024], path[4096], cwd[2048];
    snprintf(why, sizeof why, "%s", cm_last_error());
    const char *tmpdir = getenv("TMPDIR");
    const char *dirs[2] = {getcwd(cwd, sizeof cwd) ? cwd : ".", tmpdir && *tmpdir ? tmpdir : "/tmp"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/clmnist-rescue-%ld.safetensors", dirs[i], (long)getpid());
        if (save(path, ctx) == CM_OK)
            return cm_fail(failed, "%s; the model is saved to %s instead (move it where it belongs)", why, path);
    }
    return cm_fail(failed, "%s; saving it to %s and %s failed too (%s): the model is lost", why, dirs[0], dirs[1],
                   cm_last_error());
}

typedef struct {
    cm_trainer *t;
    const float *params;
    const cm_meta *meta;
} model_save;

static cm_status save_model(const char *path, void *ctx) {
    const model_save *m = ctx;
    return model_file_save(path, trainer_layout(m->t), m->params, 0, NULL, NULL, m->meta);
}

/* The trained model to `out`; when that fails (a full disk), to a rescue file the error names.
 * out NULL: the run failed writing a checkpoint (`failed`): the model goes to the rescue file. */
cm_status preflight_save_trained(const char *out, cm_status failed, cm_trainer *t, const cm_meta *meta) {
    char why[1024];
    snprintf(why, sizeof why, "%s", cm_last_error());
    float *params = malloc(sizeof(float) * trainer_layout(t)->total);
    cm_status st = params ? trainer_get_params(t, params) : cm_fail(CM_ERR_MEMORY, "out of host memory");
    model_save m = {t, params, meta};
    if (st == CM_OK) st = out ? save_model(out, &m) : cm_fail(failed, "%s", why);
    if (st != CM_OK && params) st = preflight_rescue(st, save_model, &m);
    free(params);
    return st;
}
