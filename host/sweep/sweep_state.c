/* sweep_state.c: the plan of a sweep (rungs, promotions, the best trial) and what DIR records of
 * it: sweep.json, trials.jsonl and trials.csv (sweep.h). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic_file.h"
#include "sweep.h"

cm_status sweep_plan(sweep_state *s) {
    s->nrungs = 0;
    for (long e = s->min_epochs; e < s->max_epochs && s->nrungs < SWEEP_MAX_RUNGS - 1; e *= s->eta)
        s->rung_epochs[s->nrungs++] = (int)e;
    s->rung_epochs[s->nrungs++] = s->max_epochs;
    s->rung_size[0] = s->trials;
    for (int k = 1; k < s->nrungs; k++)
        s->rung_size[k] = s->rung_size[k - 1] / s->eta > 0 ? s->rung_size[k - 1] / s->eta : 1;
    s->trial = calloc((size_t)s->trials, sizeof *s->trial);
    if (!s->trial) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    for (int i = 0; i < s->trials; i++)
        sweep_sample(&s->space, s->seed, i, &s->trial[i].settings);
    return CM_OK;
}

void sweep_state_free(sweep_state *s) {
    free(s->trial);
    s->trial = NULL;
}

double sweep_rank_key(const sweep_state *s, int trial, int k) {
    const sweep_result *r = &s->trial[trial].rung[k];
    return r->done && isfinite(r->accuracy) ? r->accuracy : -1.0;
}

/* Sorts ids (n) by rung k's accuracy, best first; ties: the lower trial number first. */
static void rank(const sweep_state *s, int k, int *ids, int n) {
    for (int i = 1; i < n; i++) { /* insertion sort: stable and small */
        int id = ids[i], j = i;
        double key = sweep_rank_key(s, id, k);
        while (j > 0 && (sweep_rank_key(s, ids[j - 1], k) < key ||
                         (sweep_rank_key(s, ids[j - 1], k) == key && ids[j - 1] > id))) {
            ids[j] = ids[j - 1];
            j--;
        }
        ids[j] = id;
    }
}

static int cmp_int(const void *a, const void *b) {
    return *(const int *)a - *(const int *)b;
}

void sweep_rung_members(const sweep_state *s, int k, int *ids) {
    int n = s->rung_size[0];
    for (int i = 0; i < n; i++)
        ids[i] = i;
    for (int r = 1; r <= k; r++) {
        rank(s, r - 1, ids, n); /* the best of rung r - 1 go on */
        n = s->rung_size[r];
        qsort(ids, (size_t)n, sizeof *ids, cmp_int);
    }
}

int sweep_last_rung(const sweep_state *s, int trial) {
    int last = -1;
    for (int k = 0; k < s->nrungs; k++)
        if (s->trial[trial].rung[k].done) last = k;
    return last;
}

static int diverged(const sweep_state *s, int trial) {
    int k = sweep_last_rung(s, trial);
    return k >= 0 && !isfinite(s->trial[trial].rung[k].accuracy);
}

int sweep_best(const sweep_state *s) {
    int best = -1, best_rung = -1;
    for (int i = 0; i < s->trials; i++) {
        int k = sweep_last_rung(s, i);
        if (k < 0 || diverged(s, i)) continue;
        if (k > best_rung || (k == best_rung && sweep_rank_key(s, i, k) > sweep_rank_key(s, best, k))) {
            best = i;
            best_rung = k;
        }
    }
    return best;
}

double sweep_seconds(const sweep_state *s) {
    double sum = 0.0;
    for (int i = 0; i < s->trials; i++)
        for (int k = 0; k < s->nrungs; k++)
            sum += s->trial[i].rung[k].done ? s->trial[i].rung[k].seconds : 0.0;
    return sum;
}

/* Whether every trial of rung k is recorded there (and so rung k + 1's members are known). */
static int rung_complete(const sweep_state *s, int k, int *ids) {
    for (int r = 0; r <= k; r++) {
        sweep_rung_members(s, r, ids);
        for (int i = 0; i < s->rung_size[r]; i++)
            if (!s->trial[ids[i]].rung[r].done) return 0;
    }
    return 1;
}

const char *sweep_status(const sweep_state *s, int trial, int best) {
    static char text[48];
    int k = sweep_last_rung(s, trial);
    if (k < 0) return "not run";
    if (diverged(s, trial)) return "diverged";
    if (trial == best) return "best";
    if (k == s->nrungs - 1) return "top rung";
    int *ids = malloc(sizeof(int) * (size_t)s->trials);
    const char *st = "waiting";
    if (ids && rung_complete(s, k, ids)) {
        sweep_rung_members(s, k + 1, ids);
        st = "stopped";
        for (int i = 0; i < s->rung_size[k + 1]; i++)
            if (ids[i] == trial) st = "promoted";
    }
    free(ids);
    if (!strcmp(st, "stopped")) {
        snprintf(text, sizeof text, "stopped at %d ep", s->rung_epochs[k]);
        return text;
    }
    return st;
}

/* ---- sweep.json: what the sweep is ---------------------------------------------------------- */

static cJSON *identity(const sweep_state *s) {
    char space[4096];
    sweep_space_format(&s->space, space, sizeof space);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "space", space);
    cJSON_AddNumberToObject(o, "seed", (double)s->seed);
    cJSON_AddNumberToObject(o, "trials", s->trials);
    cJSON_AddNumberToObject(o, "eta", s->eta);
    cJSON_AddNumberToObject(o, "min_epochs", s->min_epochs);
    cJSON_AddNumberToObject(o, "max_epochs", s->max_epochs);
    cJSON_AddStringToObject(o, "base", s->base);
    return o;
}

static cm_status write_text(const char *path, const char *text) {
    cm_atomic_file af;
    CM_TRY(atomic_file_open(path, &af));
    if (fputs(text, af.f) < 0) return atomic_file_abort(&af, errno);
    return atomic_file_commit(&af);
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *g = cap < ((size_t)256 << 20) ? realloc(buf, cap *= 2) : NULL;
            if (!g) free(buf);
            buf = g;
        }
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    return buf;
}

/* The first setting in which `have` (sweep.json) and `want` (this command) differ, or NULL. */
static const char *differs(const cJSON *have, const cJSON *want) {
    static const char *const keys[] = {"space", "seed", "trials", "eta", "min_epochs", "max_epochs", "base"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!cJSON_Compare(cJSON_GetObjectItemCaseSensitive(have, keys[i]),
                           cJSON_GetObjectItemCaseSensitive(want, keys[i]), 1))
            return keys[i];
    return NULL;
}

static cm_status check_identity(const sweep_state *s, const char *path) {
    cJSON *want = identity(s);
    char *text = read_text(path), *out = NULL;
    cm_status st = CM_OK;
    if (!text) {
        out = cJSON_Print(want);
        st = out ? write_text(path, out) : cm_fail(CM_ERR_MEMORY, "out of host memory");
    } else {
        cJSON *have = cJSON_Parse(text);
        const char *key = have ? differs(have, want) : NULL;
        if (!have)
            st = cm_fail(CM_ERR_FORMAT, "%s: not JSON; remove it or use another --dir", path);
        else if (key) {
            char *a = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(have, key));
            char *b = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(want, key));
            st = cm_fail(CM_ERR_USAGE,
                         "%s holds another sweep (%s %s there, %s here): use another --dir, or the same settings to "
                         "continue it",
                         s->dir, !strcmp(key, "base") ? "train flags" : key, a ? a : "?", b ? b : "?");
            free(a);
            free(b);
        }
        cJSON_Delete(have);
    }
    free(text);
    free(out);
    cJSON_Delete(want);
    return st;
}

/* ---- trials.jsonl ---------------------------------------------------------------------------- */

static cJSON *trial_json(const sweep_state *s, int t, int best) {
    const sweep_trial *tr = &s->trial[t];
    cJSON *o = cJSON_CreateObject(), *set = cJSON_CreateObject(), *rungs = cJSON_CreateArray();
    cJSON_AddNumberToObject(o, "trial", t + 1);
    for (int i = 0; i < s->space.n; i++) {
        if (s->space.p[i].type == SWEEP_TEXT)
            cJSON_AddStringToObject(set, s->space.p[i].name, tr->settings.value[i]);
        else
            cJSON_AddNumberToObject(set, s->space.p[i].name, strtod(tr->settings.value[i], NULL));
    }
    cJSON_AddItemToObject(o, "settings", set);
    for (int k = 0; k < s->nrungs; k++) {
        const sweep_result *r = &tr->rung[k];
        if (!r->done) continue;
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "rung", k + 1);
        cJSON_AddNumberToObject(x, "epochs", s->rung_epochs[k]);
        cJSON_AddItemToObject(x, "val_accuracy",
                              isfinite(r->accuracy) ? cJSON_CreateNumber(r->accuracy) : cJSON_CreateNull());
        cJSON_AddItemToObject(x, "val_loss", isfinite(r->loss) ? cJSON_CreateNumber(r->loss) : cJSON_CreateNull());
        cJSON_AddNumberToObject(x, "seconds", r->seconds);
        cJSON_AddItemToArray(rungs, x);
    }
    cJSON_AddItemToObject(o, "rungs", rungs);
    cJSON_AddStringToObject(o, "status", sweep_status(s, t, best));
    return o;
}

/* The settings of a line must be the ones the seed draws for its trial. */
static int same_settings(const sweep_state *s, int t, const cJSON *set) {
    for (int i = 0; i < s->space.n; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(set, s->space.p[i].name);
        const char *want = s->trial[t].settings.value[i];
        if (cJSON_IsString(v) ? strcmp(v->valuestring, want) != 0
                              : !cJSON_IsNumber(v) || v->valuedouble != strtod(want, NULL))
            return 0;
    }
    return 1;
}

static cm_status load_line(sweep_state *s, const cJSON *o, const char *path, int lineno) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "trial");
    const cJSON *rungs = cJSON_GetObjectItemCaseSensitive(o, "rungs");
    if (!cJSON_IsNumber(id) || id->valueint < 1 || id->valueint > s->trials || !cJSON_IsArray(rungs))
        return cm_fail(CM_ERR_FORMAT, "%s:%d: not a trial of this sweep", path, lineno);
    int t = id->valueint - 1;
    if (!same_settings(s, t, cJSON_GetObjectItemCaseSensitive(o, "settings")))
        return cm_fail(CM_ERR_FORMAT, "%s:%d: trial %d's settings are not what --seed %llu draws", path, lineno, t + 1,
                       (unsigned long long)s->seed);
    const cJSON *x;
    cJSON_ArrayForEach(x, rungs) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(x, "rung");
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(x, "epochs");
        const cJSON *acc = cJSON_GetObjectItemCaseSensitive(x, "val_accuracy");
        const cJSON *loss = cJSON_GetObjectItemCaseSensitive(x, "val_loss");
        const cJSON *sec = cJSON_GetObjectItemCaseSensitive(x, "seconds");
        if (!cJSON_IsNumber(k) || k->valueint < 1 || k->valueint > s->nrungs || !cJSON_IsNumber(e) ||
            e->valueint != s->rung_epochs[k->valueint - 1] || !cJSON_IsNumber(sec))
            return cm_fail(CM_ERR_FORMAT, "%s:%d: a rung that is not one of this sweep's", path, lineno);
        sweep_result *r = &s->trial[t].rung[k->valueint - 1];
        *r = (sweep_result){1, cJSON_IsNumber(acc) ? acc->valuedouble : NAN,
                            cJSON_IsNumber(loss) ? loss->valuedouble : NAN, sec->valuedouble};
    }
    return CM_OK;
}

static cm_status load_trials(sweep_state *s, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return CM_OK; /* nothing recorded yet */
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;
    cm_status st = CM_OK;
    while (st == CM_OK && getline(&line, &cap, f) != -1) {
        cJSON *o = cJSON_Parse(line);
        lineno++;
        st = cJSON_IsObject(o) ? load_line(s, o, path, lineno)
                               : cm_fail(CM_ERR_FORMAT, "%s:%d: not a JSON object", path, lineno);
        cJSON_Delete(o);
    }
    free(line);
    fclose(f);
    return st;
}

cm_status sweep_state_open(sweep_state *s) {
    char path[4096];
    if (mkdir(s->dir, 0755) != 0 && errno != EEXIST)
        return cm_fail(CM_ERR_IO, "--dir %s: cannot create the directory: %s", s->dir, strerror(errno));
    snprintf(path, sizeof path, "%s/ckpt", s->dir);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return cm_fail(CM_ERR_IO, "%s: cannot create the directory: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/sweep.json", s->dir);
    CM_TRY(check_identity(s, path));
    snprintf(path, sizeof path, "%s/trials.jsonl", s->dir);
    return load_trials(s, path);
}

/* ---- trials.csv and the table ------------------------------------------------------------------ */

static void csv_field(FILE *f, const char *v) {
    if (!strpbrk(v, ",\"\n")) {
        fputs(v, f);
        return;
    }
    fputc('"', f);
    for (; *v; v++) {
        if (*v == '"') fputc('"', f);
        fputc(*v, f);
    }
    fputc('"', f);
}

static void write_csv(const sweep_state *s, FILE *f, int best) {
    fputs("trial", f);
    for (int i = 0; i < s->space.n; i++)
        fprintf(f, ",%s", s->space.p[i].name);
    for (int k = 0; k < s->nrungs; k++)
        fprintf(f, ",val_acc_%dep", s->rung_epochs[k]);
    fputs(",seconds,status\n", f);
    for (int t = 0; t < s->trials; t++) {
        if (sweep_last_rung(s, t) < 0) continue;
        fprintf(f, "%d", t + 1);
        for (int i = 0; i < s->space.n; i++) {
            fputc(',', f);
            csv_field(f, s->trial[t].settings.value[i]);
        }
        double sec = 0.0;
        for (int k = 0; k < s->nrungs; k++) {
            const sweep_result *r = &s->trial[t].rung[k];
            if (r->done && isfinite(r->accuracy))
                fprintf(f, ",%.6f", r->accuracy);
            else
                fputs(r->done ? ",nan" : ",", f);
            sec += r->done ? r->seconds : 0.0;
        }
        fprintf(f, ",%.2f,%s\n", sec, sweep_status(s, t, best));
    }
}

static cm_status save_file(const sweep_state *s, const char *name, int csv) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", s->dir, name);
    cm_atomic_file af;
    CM_TRY(atomic_file_open(path, &af));
    int best = sweep_best(s);
    if (csv) write_csv(s, af.f, best);
    for (int t = 0; !csv && t < s->trials; t++) {
        if (sweep_last_rung(s, t) < 0) continue;
        cJSON *o = trial_json(s, t, best);
        char *line = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        int ok = line && fprintf(af.f, "%s\n", line) > 0;
        free(line);
        if (!ok) return atomic_file_abort(&af, errno ? errno : ENOMEM);
    }
    if (ferror(af.f)) return atomic_file_abort(&af, errno);
    return atomic_file_commit(&af);
}

cm_status sweep_state_save(const sweep_state *s) {
    CM_TRY(save_file(s, "trials.jsonl", 0));
    return save_file(s, "trials.csv", 1);
}

void sweep_print_table(const sweep_state *s, FILE *f) {
    int width[SWEEP_MAX_PARAMS] = {0}, best = sweep_best(s);
    for (int i = 0; i < s->space.n; i++) {
        width[i] = (int)strlen(s->space.p[i].name);
        for (int t = 0; t < s->trials; t++) {
            int w = (int)strlen(s->trial[t].settings.value[i]);
            width[i] = w > width[i] ? w : width[i];
        }
    }
    fprintf(f, "trial");
    for (int i = 0; i < s->space.n; i++)
        fprintf(f, "  %-*s", width[i], s->space.p[i].name);
    for (int k = 0; k < s->nrungs; k++) {
        char h[16];
        snprintf(h, sizeof h, "val@%dep", s->rung_epochs[k]);
        fprintf(f, "  %8s", h);
    }
    fprintf(f, "  %8s  status\n", "time");
    for (int t = 0; t < s->trials; t++) {
        if (sweep_last_rung(s, t) < 0) continue;
        fprintf(f, "%5d", t + 1);
        for (int i = 0; i < s->space.n; i++)
            fprintf(f, "  %-*s", width[i], s->trial[t].settings.value[i]);
        double sec = 0.0;
        for (int k = 0; k < s->nrungs; k++) {
            const sweep_result *r = &s->trial[t].rung[k];
            if (r->done && isfinite(r->accuracy))
                fprintf(f, "  %7.2f%%", 100.0 * r->accuracy);
            else
                fprintf(f, "  %8s", r->done ? "nan" : "-");
            sec += r->done ? r->seconds : 0.0;
        }
        fprintf(f, "  %6.1f s  %s\n", sec, sweep_status(s, t, best));
    }
}
