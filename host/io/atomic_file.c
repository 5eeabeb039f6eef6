/* atomic_file.c: temporary file, fsync, rename; stale temporary files of dead writers
 * (atomic_file.h). */
#define _GNU_SOURCE /* mkostemp */
#include "atomic_file.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TMP_INFIX ".tmp."
#define TMP_RANDOM 6 /* mkstemp's XXXXXX */

static void (*stale_notice)(const char *removed);

void atomic_file_on_stale(void (*notice)(const char *removed)) {
    stale_notice = notice;
}

/* `<base>.tmp.` and exactly six letters or digits. */
static int is_tmp_name(const char *name, const char *base, size_t base_len) {
    if (strncmp(name, base, base_len) != 0 || strncmp(name + base_len, TMP_INFIX, strlen(TMP_INFIX)) != 0) return 0;
    const char *r = name + base_len + strlen(TMP_INFIX);
    for (int i = 0; i < TMP_RANDOM; i++)
        if (!isalnum((unsigned char)r[i])) return 0;
    return r[TMP_RANDOM] == '\0';
}

/* Removes dir's entry `name` if it is a regular file of ours that no writer holds locked. */
static int remove_if_stale(DIR *d, const char *name) {
    int fd = openat(dirfd(d), name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return 0;
    struct stat sb;
    int stale =
        fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_uid == geteuid() && flock(fd, LOCK_EX | LOCK_NB) == 0;
    int removed = stale && unlinkat(dirfd(d), name, 0) == 0;
    close(fd);
    return removed;
}

int atomic_file_remove_stale(const char *path) {
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0; /* with the slash */
    const char *base = path + dir_len;
    char *dir = strndup(path, dir_len);
    if (!dir || !*base) {
        free(dir);
        return 0;
    }
    DIR *d = opendir(dir_len ? dir : ".");
    int removed = 0;
    for (struct dirent *e = d ? readdir(d) : NULL; e; e = readdir(d)) {
        if (!is_tmp_name(e->d_name, base, strlen(base)) || !remove_if_stale(d, e->d_name)) continue;
        removed++;
        if (!stale_notice) continue;
        size_t n = dir_len + strlen(e->d_name) + 1;
        char *full = malloc(n);
        if (full) {
            snprintf(full, n, "%s%s", dir, e->d_name);
            stale_notice(full);
        }
        free(full);
    }
    if (d) closedir(d);
    free(dir);
    return removed;
}

int atomic_file_probe(const char *path, int dir_only) {
    struct stat sb;
    if (!dir_only && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return EISDIR;
    const char *slash = dir_only ? NULL : strrchr(path, '/');
    size_t dir_len = dir_only ? strlen(path) : slash ? (size_t)(slash - path) : 0;
    if (!dir_only && slash == path) dir_len = 1; /* "/file": the root */
    char *probe = malloc(dir_len + 32);
    if (!probe) return ENOMEM;
    snprintf(probe, dir_len + 32, "%.*s%s.clmnist-probe.XXXXXX", (int)dir_len, dir_len ? path : "",
             dir_len && path[dir_len - 1] != '/' ? "/" : "");
    int fd = mkostemp(probe, O_CLOEXEC);
    int err = fd < 0 ? errno : 0;
    if (fd >= 0) {
        close(fd);
        unlink(probe);
    }
    free(probe);
    return err;
}

cm_status atomic_file_open(const char *path, cm_atomic_file *af) {
    *af = (cm_atomic_file){.fd = -1};
    atomic_file_remove_stale(path);
    size_t n = strlen(path) + strlen(TMP_INFIX) + TMP_RANDOM + 1;
    af->path = strdup(path);
    af->tmp = malloc(n);
    if (!af->path || !af->tmp) {
        free(af->path);
        free(af->tmp);
        return cm_fail(CM_ERR_MEMORY, "out of host memory");
    }
    snprintf(af->tmp, n, "%s" TMP_INFIX "XXXXXX", path);
    af->fd = mkostemp(af->tmp, O_CLOEXEC);
    /* Held on the open file description until the rename: not stale while we write. */
    if (af->fd >= 0) flock(af->fd, LOCK_EX | LOCK_NB);
    int dup_fd = af->fd >= 0 ? fcntl(af->fd, F_DUPFD_CLOEXEC, 0) : -1;
    af->f = dup_fd >= 0 ? fdopen(dup_fd, "wb") : NULL;
    if (!af->f) {
        int err = errno;
        if (dup_fd >= 0) close(dup_fd);
        if (af->fd >= 0) unlink(af->tmp);
        cm_status st = cm_fail(CM_ERR_IO, "%s: cannot create a temporary file next to it: %s", path, strerror(err));
        if (af->fd >= 0) close(af->fd);
        free(af->path);
        free(af->tmp);
        *af = (cm_atomic_file){.fd = -1};
        return st;
    }
    fchmod(af->fd, 0644);
    return CM_OK;
}

static void release(cm_atomic_file *af) {
    if (af->f) fclose(af->f);
    if (af->fd >= 0) close(af->fd);
    free(af->path);
    free(af->tmp);
    *af = (cm_atomic_file){.fd = -1};
}

cm_status atomic_file_abort(cm_atomic_file *af, int err) {
    cm_status st = cm_fail(CM_ERR_IO, "%s: write failed: %s (the previous file, if any, is unchanged)", af->path,
                           strerror(err ? err : EIO));
    unlink(af->tmp);
    release(af);
    return st;
}

/* TEST ONLY (CM_TEST_WRITE_DELAY_ENV): widens the window between a complete temporary file and
 * its rename. */
static void test_write_delay(void) {
    const char *v = getenv(CM_TEST_WRITE_DELAY_ENV);
    long ms = v ? strtol(v, NULL, 10) : 0;
    if (ms <= 0 || ms > 60000) return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Makes the rename itself durable. */
static void sync_dir(const char *path) {
    char *copy = strdup(path);
    if (!copy) return;
    char *slash = strrchr(copy, '/');
    const char *dir = ".";
    if (slash) {
        slash[1] = '\0';
        dir = copy;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(copy);
}

cm_status atomic_file_commit(cm_atomic_file *af) {
    FILE *f = af->f;
    af->f = NULL;
    int ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    int err = errno;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        err = errno;
    }
    if (ok) test_write_delay();
    if (ok && rename(af->tmp, af->path) != 0) {
        ok = 0;
        err = errno;
    }
    if (!ok) return atomic_file_abort(af, err);
    sync_dir(af->path);
    release(af); /* and with it the lock */
    return CM_OK;
}
