/* cli.c: the command line of every subcommand (cli.h): the shared options of the table
 * (options.h) and a command's own, resolved by name, alias, '_' for '-' or a unique prefix;
 * the nearest name for an unknown one; --help generated from both. */
#include "cli.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_usage(FILE *out, const cm_command_info *info) {
    if (info->usage)
        fprintf(out, "usage: clmnist %s\n", info->usage);
    else
        fprintf(out, "usage: clmnist %s [options]\n", info->name);
    if (info->summary && *info->summary) fprintf(out, "\n%s\n", info->summary);
    fprintf(out, "\noptions:\n");
    int extras_at = info->extra_first ? 0 : 1;
    for (int pass = 0; pass < 2; pass++) {
        if (pass != extras_at) opt_help(out, info->command);
        for (const cm_extra_option *e = info->extra; pass == extras_at && e && e->name; e++)
            fprintf(out, "%s", e->help);
    }
    fprintf(out, "  -h, --help        show this help\n");
    char note[512];
    opt_alias_note(info->command, note, sizeof note);
    fprintf(out, "\nalso accepted: '_' for '-' in option names%s%s\n", *note ? ", and\n  " : "", note);
}

/* One word of the command line, resolved. */
typedef enum { W_OPTION, W_EXTRA, W_HELP, W_ARG } word_kind;
typedef struct {
    word_kind kind;
    const cm_option *opt; /* W_OPTION */
    int extra;            /* W_EXTRA: index into info->extra */
    const char *value;
} word;

/* The names of the command's own options, NULL-terminated (at most 63). */
static void extra_names(const cm_command_info *info, const char **names) {
    int n = 0;
    for (const cm_extra_option *e = info->extra; e && e->name && n < 63; e++)
        names[n++] = e->name;
    names[n] = NULL;
}

/* The error for an option the command does not take (typed: as given, name: without dashes). */
static cm_status unknown(const cm_command_info *info, const char *typed, const char *name) {
    const char *more[64];
    char near[64], norm[64];
    extra_names(info, more);
    int have = opt_suggest(name, info->command, more, near, sizeof near);
    opt_normalize(name, norm, sizeof norm);
    if (have && strcmp(near, norm) == 0) /* -lr for --lr */
        return cm_fail(CM_ERR_USAGE, "clmnist %s: unknown option '%s' (did you mean --%s?)", info->name, typed, near);
    if (opt_find(name, 0) && !have)
        return cm_fail(CM_ERR_USAGE, "clmnist %s: --%s is not an option here (see 'clmnist %s --help')", info->name,
                       norm, info->name);
    if (opt_find(name, 0))
        return cm_fail(CM_ERR_USAGE, "clmnist %s: --%s is not an option here (did you mean --%s?)", info->name, norm,
                       near);
    if (have)
        return cm_fail(CM_ERR_USAGE, "clmnist %s: unknown option '%s' (did you mean --%s?)", info->name, typed, near);
    return cm_fail(CM_ERR_USAGE, "clmnist %s: unknown option '%s' (see 'clmnist %s --help')", info->name, typed,
                   info->name);
}

/* The error for a prefix of several options: it names them. */
static cm_status ambiguous(const cm_command_info *info, const char *typed, const char *prefix) {
    char list[512];
    size_t n = 0, len = strlen(prefix);
    for (int i = 0; info->extra && info->extra[i].name; i++)
        if (!strncmp(info->extra[i].name, prefix, len) && n < sizeof list)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s--%s", n ? ", " : "", info->extra[i].name);
    for (const cm_option *o = cm_options; o->name; o++)
        if ((o->commands & info->command) && !strncmp(o->name, prefix, len) && n < sizeof list)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s--%s", n ? ", " : "", o->name);
    return cm_fail(CM_ERR_USAGE, "clmnist %s: '%s' is ambiguous: %s", info->name, typed, list);
}

/* Finds `name` (without dashes) among the command's options: exact (after '_' and aliases), then
 * a unique prefix, as getopt_long would. */
static cm_status lookup(const cm_command_info *info, const char *typed, const char *name, word *w) {
    char norm[64];
    opt_normalize(name, norm, sizeof norm);
    size_t len = strlen(norm);
    const cm_option *hit = NULL;
    int extra = -1, matches = 0;
    for (int exact = 1; exact >= 0 && !matches; exact--) {
        for (int i = 0; info->extra && info->extra[i].name; i++)
            if (exact ? !strcmp(info->extra[i].name, norm) : !strncmp(info->extra[i].name, norm, len))
                extra = i, matches++;
        for (const cm_option *o = cm_options; o->name; o++)
            if ((o->commands & info->command) && (exact ? !strcmp(o->name, norm) : !strncmp(o->name, norm, len)))
                hit = o, matches++;
    }
    if (matches > 1) return ambiguous(info, typed, norm);
    if (!matches) return unknown(info, typed, name);
    w->kind = extra >= 0 ? W_EXTRA : W_OPTION;
    w->opt = hit;
    w->extra = extra;
    return CM_OK;
}

/* Resolves argv[*i] (and its value, which may be the next word) into w. */
static cm_status resolve(int argc, char **argv, int *i, const cm_command_info *info, word *w) {
    const char *s = argv[*i];
    memset(w, 0, sizeof *w);
    if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
        w->kind = W_HELP;
        return CM_OK;
    }
    if (s[1] != '-') return unknown(info, s, s + 1); /* -lr: single dash */
    char name[64];
    const char *eq = strchr(s, '=');
    snprintf(name, sizeof name, "%.*s", (int)(eq ? eq - s - 2 : (long)strlen(s + 2)), s + 2);
    CM_TRY(lookup(info, s, name, w));
    int has_arg = w->kind == W_EXTRA ? info->extra[w->extra].has_arg : w->opt->type != CM_OPT_FLAG;
    const char *flag = w->kind == W_EXTRA ? info->extra[w->extra].name : w->opt->name;
    if (eq && !has_arg) return cm_fail(CM_ERR_USAGE, "clmnist %s: --%s takes no value", info->name, flag);
    if (eq)
        w->value = eq + 1;
    else if (has_arg == 1 && *i + 1 < argc)
        w->value = argv[++*i];
    else if (has_arg == 1)
        return cm_fail(CM_ERR_USAGE, "clmnist %s: %s needs a value", info->name, s);
    else if (has_arg == 2 && *i + 1 < argc && isdigit((unsigned char)argv[*i + 1][0]))
        w->value = argv[++*i];
    return CM_OK;
}

/* Resolves every word into w[] (*n of them) until the first error, which it returns; then moves
 * the arguments (not options) to the end of argv, *nargs of them. */
static cm_status scan(int argc, char **argv, const cm_command_info *info, word *w, int *n, int *nargs) {
    char **sorted = malloc(sizeof(char *) * (size_t)argc * 2), **args = sorted + argc;
    if (!sorted) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    int na = 0, no = 0, rest = 0;
    cm_status st = CM_OK;
    *n = 0;
    for (int i = 1; i < argc && st == CM_OK; i++) {
        int from = i;
        if (rest || argv[i][0] != '-' || !argv[i][1]) {
            args[na++] = argv[i];
            continue;
        }
        if (!strcmp(argv[i], "--")) rest = 1;
        if (!rest) st = resolve(argc, argv, &i, info, &w[*n]);
        if (!rest && st == CM_OK) (*n)++;
        for (int k = from; k <= i; k++)
            sorted[no++] = argv[k];
    }
    if (st == CM_OK) {
        memcpy(argv + 1, sorted, sizeof(char *) * (size_t)no);
        memcpy(argv + 1 + no, args, sizeof(char *) * (size_t)na);
    }
    *nargs = na;
    free(sorted);
    return st;
}

/* Applies the words: first the options applied first (--preset: the last one given, else its
 * default, also for the commands that do not take it), then the rest in order. */
static cm_status apply(const word *w, int n, const cm_command_info *info, cm_train_args *a, int *help) {
    for (const cm_option *o = cm_options; o->name; o++) {
        if (!(o->flags & CM_OPT_FIRST)) continue;
        int last = n - 1;
        while (last >= 0 && !(w[last].kind == W_OPTION && w[last].opt == o))
            last--;
        CM_TRY(opt_set(a, o, last >= 0 ? w[last].value : o->def));
        if (last >= 0) run_mark_given(a, o);
    }
    for (int i = 0; i < n; i++) {
        if (w[i].kind == W_HELP) {
            cli_usage(stdout, info);
            *help = 1;
            return CM_OK;
        }
        if (w[i].kind == W_EXTRA) CM_TRY(info->on_extra(info->ctx, w[i].extra, w[i].value));
        if (w[i].kind != W_OPTION || (w[i].opt->flags & CM_OPT_FIRST)) continue;
        CM_TRY(opt_set(a, w[i].opt, w[i].value));
        run_mark_given(a, w[i].opt);
    }
    return CM_OK;
}

cm_status cli_parse(int argc, char **argv, const cm_command_info *info, cm_train_args *a, int *help, int *nargs) {
    *help = 0;
    run_defaults(a);
    word *w = malloc(sizeof *w * (size_t)(argc + 1));
    if (!w) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    int n, na = 0;
    cm_status scanned = scan(argc, argv, info, w, &n, &na);
    char why[512];
    snprintf(why, sizeof why, "%s", cm_last_error());
    cm_status st = apply(w, n, info, a, help);
    free(w);
    CM_TRY(st);
    if (*help) return CM_OK;
    if (scanned != CM_OK) return cm_fail(scanned, "%s", why);
    if (!nargs && na)
        return cm_fail(CM_ERR_USAGE, "clmnist %s: unexpected argument '%s' (see 'clmnist %s --help')", info->name,
                       argv[argc - na], info->name);
    if (nargs) *nargs = na;
    return run_finish(a);
}
