/* preflight.h: what a command checks before its work (loading data, training), so that a run
 * fails in its first second rather than after the hours it took: its output files can be
 * written, its backend and device exist (its port is bound: http_listen). And when a model's
 * final save fails anyway (a full disk), the rescue file that keeps it. */
#ifndef CLMNIST_PREFLIGHT_H
#define CLMNIST_PREFLIGHT_H
#include "backend.h"
#include "status.h"
#include "model_io.h"
#include "trainer.h"

/* An output file (flag: "--out", named in the error): its directory exists and takes new files,
 * and path is not a directory. NULL path: nothing to check. */
cm_status preflight_file(const char *flag, const char *path);
/* An output directory: created when missing (one level, as the writers do), and takes files. */
cm_status preflight_dir(const char *flag, const char *dir);
/* The same without creating it: an existing dir takes files, or its parent can create it. */
cm_status preflight_dir_creatable(const char *flag, const char *dir);
/* The backend --backend and --device select (backend_resolve): a --device that matches nothing,
 * or --backend device without OpenCL, fails here. choice may be NULL. */
cm_status preflight_backend(const char *kind, const char *device, int slot, cm_backend_choice *choice);

/* After a write failed (`failed`, its error recorded: the model's own file, or a checkpoint):
 * save(path, ctx) to <cwd>/clmnist-rescue-<pid>.safetensors, else to $TMPDIR (or /tmp), and
 * returns the failure with the rescue file named in its message. */
cm_status preflight_rescue(cm_status failed, cm_status (*save)(const char *path, void *ctx), void *ctx);
/* t's model (with meta) to `out`, through preflight_rescue when that fails. out NULL: the run
 * failed writing a checkpoint (`failed`, its error recorded): the model goes to the rescue file. */
cm_status preflight_save_trained(const char *out, cm_status failed, cm_trainer *t, const cm_meta *meta);

#endif
