/* options.c: finding, setting, formatting and describing the options of the table (options.h). */
#include "options.h"

#include <stdlib.h>
#include <string.h>

#include "run_options.h"

#define FIELD(a, o, type) ((type *)((char *)(a) + (o)->offset))
#define CFIELD(a, o, type) ((const type *)((const char *)(a) + (o)->offset))

int opt_index(const cm_option *o) {
    return (int)(o - cm_options);
}

/* Whether `name` is one of the comma-separated `list`. */
static int in_list(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !strncmp(p, name, n)) return 1;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

const char *opt_normalize(const char *name, char *buf, size_t size) {
    snprintf(buf, size, "%s", name);
    for (char *p = buf; *p; p++)
        if (*p == '_') *p = '-';
    for (const cm_option *o = cm_options; o->name; o++)
        if (in_list(o->aliases, buf)) snprintf(buf, size, "%s", o->name);
    return buf;
}

const cm_option *opt_find(const char *name, unsigned commands) {
    char buf[64];
    opt_normalize(name, buf, sizeof buf);
    for (const cm_option *o = cm_options; o->name; o++)
        if (!strcmp(o->name, buf) && (!commands || (o->commands & commands))) return o;
    return NULL;
}

/* "a, b or c" of a NULL-terminated list. */
static void join_choices(const char *const *c, char *buf, size_t size) {
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; c[i] && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%s", i == 0 ? "" : c[i + 1] ? ", " : " or ", c[i]);
}

static cm_status set_choice(cm_train_args *a, const cm_option *o, const char *v) {
    for (int i = 0; o->choices[i]; i++) {
        if (strcmp(v, o->choices[i]) != 0) continue;
        if (o->type == CM_OPT_NAME)
            *FIELD(a, o, const char *) = o->choices[i];
        else
            *FIELD(a, o, int) = o->values ? o->values[i] : i;
        return CM_OK;
    }
    char list[256];
    join_choices(o->choices, list, sizeof list);
    return cm_fail(CM_ERR_USAGE, "--%s '%s': expected %s", o->name, v, list);
}

cm_status opt_set(cm_train_args *a, const cm_option *o, const char *v) {
    char flag[64];
    snprintf(flag, sizeof flag, "--%s", o->name);
    long n;
    double d;
    switch (o->type) {
    case CM_OPT_INT:
        CM_TRY(cm_parse_int(flag, v, (long)o->lo, (long)o->hi, &n));
        *FIELD(a, o, int) = (int)n;
        break;
    case CM_OPT_U64:
        CM_TRY(cm_parse_int(flag, v, (long)o->lo, (long)o->hi, &n));
        *FIELD(a, o, uint64_t) = (uint64_t)n;
        break;
    case CM_OPT_FLOAT:
        CM_TRY(cm_parse_float(flag, v, o->lo, o->hi, &d));
        *FIELD(a, o, float) = (float)d;
        break;
    case CM_OPT_DOUBLE:
        CM_TRY(cm_parse_float(flag, v, o->lo, o->hi, &d));
        *FIELD(a, o, double) = d;
        break;
    case CM_OPT_ENUM:
    case CM_OPT_NAME: return set_choice(a, o, v);
    case CM_OPT_TEXT: *FIELD(a, o, const char *) = v; break;
    case CM_OPT_FLAG: *FIELD(a, o, int) = (int)o->lo; break;
    case CM_OPT_CUSTOM: return o->set(a, v);
    }
    return CM_OK;
}

/* The shortest decimal text that reads back as the same float: "0.1", not "0.100000001". */
static void float_text(char *buf, size_t size, float v) {
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(buf, size, "%.*g", digits, (double)v);
        if (strtof(buf, NULL) == v) break;
    }
}

static void format_choice(const cm_train_args *a, const cm_option *o, char *buf, size_t size) {
    if (o->type == CM_OPT_NAME) {
        const char *s = *CFIELD(a, o, char *const);
        snprintf(buf, size, "%s", s ? s : "");
        return;
    }
    int v = *CFIELD(a, o, int);
    for (int i = 0; o->choices[i]; i++)
        if ((o->values ? o->values[i] : i) == v) snprintf(buf, size, "%s", o->choices[i]);
}

void opt_format(const cm_train_args *a, const cm_option *o, char *buf, size_t size) {
    buf[0] = '\0';
    switch (o->type) {
    case CM_OPT_INT:
        if (*CFIELD(a, o, int) || !(o->flags & CM_OPT_ZERO_EMPTY)) snprintf(buf, size, "%d", *CFIELD(a, o, int));
        break;
    case CM_OPT_U64: snprintf(buf, size, "%llu", (unsigned long long)*CFIELD(a, o, uint64_t)); break;
    case CM_OPT_FLOAT: float_text(buf, size, *CFIELD(a, o, float)); break;
    case CM_OPT_DOUBLE: snprintf(buf, size, "%.17g", *CFIELD(a, o, double)); break;
    case CM_OPT_ENUM:
    case CM_OPT_NAME: format_choice(a, o, buf, size); break;
    case CM_OPT_TEXT: snprintf(buf, size, "%s", *CFIELD(a, o, char *const) ? *CFIELD(a, o, char *const) : ""); break;
    case CM_OPT_FLAG: break;
    case CM_OPT_CUSTOM: o->format(a, buf, size); break;
    }
}

/* The option's help text for `command`: its own, or the one given for that command. */
static const char *help_text(const cm_option *o, unsigned command) {
    for (const cm_opt_help_for *h = o->help_for; h && h->help; h++)
        if (h->commands & command) return h->help;
    return o->help;
}

enum { HELP_COLUMN = 20 };

void opt_help(FILE *out, unsigned command) {
    for (const cm_option *o = cm_options; o->name; o++) {
        if (!(o->commands & command)) continue;
        char head[64];
        int n = snprintf(head, sizeof head, "  --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(out, "%s%*s", head, n < HELP_COLUMN ? HELP_COLUMN - n : 2, "");
        const char *text = help_text(o, command);
        for (const char *p = text; *p; p++) {
            fputc(*p, out);
            if (*p == '\n') fprintf(out, "%*s", HELP_COLUMN, "");
        }
        if (o->def && text == o->help) fprintf(out, " (default %s)", o->def); /* a command's own text says its own */
        fputc('\n', out);
        if (o->help_more) o->help_more(out);
    }
}

void opt_alias_note(unsigned command, char *buf, size_t size) {
    size_t n = 0;
    buf[0] = '\0';
#define PUT(...) n += n < size ? (size_t)snprintf(buf + n, size - n, __VA_ARGS__) : 0
    for (const cm_option *o = cm_options; o->name; o++) {
        if (!(o->commands & command) || !o->aliases) continue;
        PUT("%s--", n ? ", " : "");
        for (const char *p = o->aliases; *p; p++)
            if (*p == ',')
                PUT("/--");
            else
                PUT("%c", *p);
        PUT(" for --%s", o->name);
    }
#undef PUT
}

int opt_distance(const char *a, const char *b) {
    enum { MAX = 64 };
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la >= MAX || lb >= MAX) return MAX;
    int d[MAX][MAX];
    for (int i = 0; i <= la; i++)
        d[i][0] = i;
    for (int j = 0; j <= lb; j++)
        d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int v = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < v) v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb];
}

/* Keeps `name` (suggested as `target`) in *best when it is nearer to typed than what it holds. */
static void consider(const char *typed, const char *name, size_t len, const char *target, int *best, const char **out) {
    char cand[64];
    snprintf(cand, sizeof cand, "%.*s", (int)len, name);
    int d = opt_distance(typed, cand);
    /* near: at most 1 edit in names of up to 4 letters, 2 up to 8, 3 beyond */
    int limit = strlen(cand) <= 4 ? 1 : strlen(cand) <= 8 ? 2 : 3;
    if (d <= limit && d < *best) {
        *best = d;
        *out = target;
    }
}

int opt_suggest(const char *typed, unsigned command, const char *const *more, char *buf, size_t size) {
    char norm[64];
    snprintf(norm, sizeof norm, "%s", typed);
    for (char *p = norm; *p; p++)
        if (*p == '_') *p = '-';
    int best = 1 << 20;
    const char *found = NULL;
    for (const cm_option *o = cm_options; o->name; o++) {
        if (!(o->commands & command)) continue;
        consider(norm, o->name, strlen(o->name), o->name, &best, &found);
        for (const char *p = o->aliases; p && *p;) {
            const char *end = strchr(p, ',');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            consider(norm, p, len, o->name, &best, &found);
            p = end ? end + 1 : p + len;
        }
    }
    for (const char *const *m = more; m && *m; m++)
        consider(norm, *m, strlen(*m), *m, &best, &found);
    if (!found) return 0;
    snprintf(buf, size, "%s", found);
    return 1;
}
