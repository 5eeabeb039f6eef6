/* atomic_file.h: files replaced all at once. A writer writes `<path>.tmp.XXXXXX` next to the
 * target (XXXXXX: mkstemp's six letters or digits), flushes and fsyncs it, renames it over the
 * target and fsyncs the directory: a reader, or a run killed at any instant, sees the previous
 * file or the new one, never a torn one. A writer killed before its rename leaves its temporary
 * file behind; the next write of the same path (and `clmnist train` at start) removes it.
 *
 * A writer holds an flock(2) on its temporary file until the rename, and a stale file is one
 * nobody holds: a live writer's file (another process writing the same path) is left alone. */
#ifndef CLMNIST_ATOMIC_FILE_H
#define CLMNIST_ATOMIC_FILE_H
#include <stdio.h>

#include "status.h"

/* TEST ONLY: milliseconds a writer sleeps between its complete, fsynced temporary file and the
 * rename, so that a test killing the process at random instants often lands in that window
 * (tests/crash_kill.sh). Unset or 0 in normal use. */
#define CM_TEST_WRITE_DELAY_ENV "CLMNIST_TEST_WRITE_DELAY_MS"

typedef struct {
    char *path; /* the target */
    char *tmp;  /* the temporary file next to it */
    int fd;     /* the temporary file, holding its lock until the rename */
    FILE *f;    /* what to write to */
} cm_atomic_file;

/* Removes the stale temporary files of `path` (exactly `<path>.tmp.XXXXXX`, regular, ours, not
 * locked by a live writer) and creates a fresh one to write to. */
cm_status atomic_file_open(const char *path, cm_atomic_file *af);
/* Flushes, fsyncs and closes the temporary file, renames it over the target and fsyncs the
 * directory. On failure the temporary file is removed and the target is unchanged. */
cm_status atomic_file_commit(cm_atomic_file *af);
/* Gives up: removes the temporary file; the target is unchanged. err (an errno value) is named
 * in the returned error. */
cm_status atomic_file_abort(cm_atomic_file *af, int err);

/* Whether `path` can be written as atomic_file_open and _commit would: it is not a directory,
 * and a probe file can be created (and is removed at once) in its directory. 0, or an errno value
 * (ENOENT: the directory does not exist; EISDIR: path is a directory). dir_only: path is the
 * directory itself. */
int atomic_file_probe(const char *path, int dir_only);

/* Removes the stale temporary files of `path` (as atomic_file_open does); returns how many. */
int atomic_file_remove_stale(const char *path);
/* Called with the name of each stale file removed (NULL: say nothing); process-wide. */
void atomic_file_on_stale(void (*notice)(const char *removed));

#endif
