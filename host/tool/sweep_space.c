/* sweep_space.c: parsing --space and drawing trials from it (sweep_space.h). */
#include "sweep_space.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rng.h"

static char *trim(char *s) {
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* The flag's type (options.h: CM_OPT_SWEEP options; integers, floats, or text), or an error
 * naming the assignment; p->name becomes the option's own name (for an alias). */
static cm_status flag_type(sweep_param *p, const char *token) {
    const cm_option *o = opt_find(p->name, CM_CMD_SWEEP);
    if (o && (o->flags & CM_OPT_SWEEP)) {
        snprintf(p->name, sizeof p->name, "%s", o->name);
        p->type = o->type == CM_OPT_INT ? SWEEP_INT : o->type == CM_OPT_FLOAT ? SWEEP_FLOAT : SWEEP_TEXT;
        return CM_OK;
    }
    if (o)
        return cm_fail(CM_ERR_USAGE, "--space '%s': '%s' cannot be searched: %s", token, p->name,
                       o->fixed ? o->fixed : "give it as a flag");
    char list[512];
    size_t n = 0;
    for (o = cm_options; o->name && n < sizeof list; o++)
        if ((o->commands & CM_CMD_SWEEP) && (o->flags & CM_OPT_SWEEP))
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "", o->name);
    return cm_fail(CM_ERR_USAGE, "--space '%s': unknown train flag '%s' (searchable: %s)", token, p->name, list);
}

/* A value through the train flag's own checks. */
static cm_status check_value(const sweep_param *p, const char *token, const char *value) {
    cm_train_args a;
    memset(&a, 0, sizeof a);
    if (run_set_option(&a, p->name, value) != CM_OK)
        return cm_fail(CM_ERR_USAGE, "--space '%s': %s", token, cm_last_error());
    return CM_OK;
}

static cm_status parse_number(const sweep_param *p, const char *token, const char *text, double *out) {
    char *end;
    *out = strtod(text, &end);
    if (end == text || *end || !isfinite(*out))
        return cm_fail(CM_ERR_USAGE, "--space '%s': '%s' is not a number", token, text);
    if (p->type == SWEEP_INT && *out != floor(*out))
        return cm_fail(CM_ERR_USAGE, "--space '%s': '%s' is not an integer (--%s takes integers)", token, text,
                       p->name);
    return CM_OK;
}

/* LO and HI of "log(LO,HI)" or "LO..HI" (body: the text between), checked. */
static cm_status parse_ends(sweep_param *p, const char *token, char *lo, char *hi) {
    if (p->type == SWEEP_TEXT)
        return cm_fail(CM_ERR_USAGE, "--space '%s': --%s takes a list of values (%s=A,B), not a range", token, p->name,
                       p->name);
    CM_TRY(parse_number(p, token, trim(lo), &p->lo));
    CM_TRY(parse_number(p, token, trim(hi), &p->hi));
    if (p->lo > p->hi)
        return cm_fail(CM_ERR_USAGE, "--space '%s': the low end %s is above the high end %s", token, trim(lo),
                       trim(hi));
    if (p->kind == SWEEP_LOG && p->lo <= 0.0)
        return cm_fail(CM_ERR_USAGE, "--space '%s': log() needs ends above 0", token);
    CM_TRY(check_value(p, token, trim(lo)));
    return check_value(p, token, trim(hi));
}

static cm_status parse_choices(sweep_param *p, const char *token, char *list) {
    char sep = strchr(list, '|') ? '|' : ',';
    p->nchoices = 0;
    for (char *item = list, *next; item; item = next) {
        next = strchr(item, sep);
        if (next) *next++ = '\0';
        item = trim(item);
        if (p->nchoices == SWEEP_MAX_CHOICES)
            return cm_fail(CM_ERR_USAGE, "--space '%s': more than %d values", token, SWEEP_MAX_CHOICES);
        if (!*item || strlen(item) >= SWEEP_VALUE)
            return cm_fail(CM_ERR_USAGE, "--space '%s': an empty or overlong value", token);
        CM_TRY(check_value(p, token, item));
        snprintf(p->choice[p->nchoices++], SWEEP_VALUE, "%s", item);
    }
    return CM_OK;
}

/* One assignment, NAME=DOMAIN (token: its text, named in errors). */
static cm_status parse_param(char *text, const char *token, sweep_param *p) {
    char *eq = strchr(text, '=');
    memset(p, 0, sizeof *p);
    if (!eq)
        return cm_fail(CM_ERR_USAGE,
                       "--space '%s': expected NAME=log(LO,HI), NAME=LO..HI or NAME=A,B,C (e.g. lr=log(0.01,0.3))",
                       token);
    *eq = '\0';
    char *name = trim(text), *dom = trim(eq + 1);
    if (!strncmp(name, "--", 2)) name += 2;
    if (!*name || strlen(name) >= sizeof p->name) return cm_fail(CM_ERR_USAGE, "--space '%s': no flag name", token);
    snprintf(p->name, sizeof p->name, "%s", name);
    CM_TRY(flag_type(p, token));
    size_t n = strlen(dom);
    char *dots = strstr(dom, "..");
    if (!strncmp(dom, "log(", 4)) {
        char *comma = strchr(dom, ',');
        if (!comma || n < 6 || dom[n - 1] != ')' || strchr(comma + 1, ','))
            return cm_fail(CM_ERR_USAGE, "--space '%s': expected log(LO,HI)", token);
        dom[n - 1] = *comma = '\0';
        p->kind = SWEEP_LOG;
        return parse_ends(p, token, dom + 4, comma + 1);
    }
    if (dots) {
        *dots = '\0';
        p->kind = SWEEP_RANGE;
        return parse_ends(p, token, dom, dots + 2);
    }
    p->kind = SWEEP_CHOICE;
    return parse_choices(p, token, dom);
}

cm_status sweep_space_parse(const char *text, sweep_space *s) {
    memset(s, 0, sizeof *s);
    size_t len = strlen(text);
    char *buf = malloc(len + 1);
    if (!buf) return cm_fail(CM_ERR_MEMORY, "out of host memory");
    memcpy(buf, text, len + 1);
    cm_status st = CM_OK;
    char *save = NULL;
    for (char *v = buf; st == CM_OK; v = NULL) {
        char *tok = strtok_r(v, ";", &save), token[256];
        if (!tok) break;
        snprintf(token, sizeof token, "%s", trim(tok));
        if (!*token) continue;
        if (s->n == SWEEP_MAX_PARAMS) st = cm_fail(CM_ERR_USAGE, "--space: more than %d flags", SWEEP_MAX_PARAMS);
        if (st == CM_OK) st = parse_param(tok, token, &s->p[s->n]);
        for (int i = 0; st == CM_OK && i < s->n; i++)
            if (!strcmp(s->p[i].name, s->p[s->n].name))
                st = cm_fail(CM_ERR_USAGE, "--space '%s': --%s is given twice", token, s->p[i].name);
        if (st == CM_OK) s->n++;
    }
    free(buf);
    if (st == CM_OK && s->n == 0)
        st = cm_fail(CM_ERR_USAGE, "--space is empty: give e.g. --space 'lr=log(0.01,0.3);batch=64,128,256'");
    return st;
}

/* The shortest text that reads back as v: "0.01", not "0.010000000000000000208". */
static void shortest(char *buf, size_t size, double v) {
    for (int digits = 4; digits <= 17; digits++) {
        snprintf(buf, size, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) break;
    }
}

void sweep_space_format(const sweep_space *s, char *buf, size_t size) {
    size_t o = 0;
    buf[0] = '\0';
#define PUT(...) o += o < size ? (size_t)snprintf(buf + o, size - o, __VA_ARGS__) : 0
    for (int i = 0; i < s->n; i++) {
        const sweep_param *p = &s->p[i];
        PUT("%s%s=", i ? ";" : "", p->name);
        char lo[32], hi[32];
        shortest(lo, sizeof lo, p->lo);
        shortest(hi, sizeof hi, p->hi);
        if (p->kind == SWEEP_LOG) PUT("log(%s,%s)", lo, hi);
        if (p->kind == SWEEP_RANGE) PUT("%s..%s", lo, hi);
        for (int c = 0; p->kind == SWEEP_CHOICE && c < p->nchoices; c++)
            PUT("%s%s", c ? "|" : "", p->choice[c]);
    }
#undef PUT
}

/* Uniform in [0, 1) with 53 random bits. */
static double uniform01(cm_rng *r) {
    uint64_t a = rng_next_u32(r) >> 5, b = rng_next_u32(r) >> 6;
    return (double)((a << 26) | b) / 9007199254740992.0;
}

static void sample_param(const sweep_param *p, cm_rng *r, char *out) {
    if (p->kind == SWEEP_CHOICE) {
        snprintf(out, SWEEP_VALUE, "%s", p->choice[rng_bounded(r, (uint32_t)p->nchoices)]);
        return;
    }
    double u = uniform01(r), x;
    if (p->type == SWEEP_INT) {
        if (p->kind == SWEEP_LOG)
            x = floor(exp(log(p->lo) + u * (log(p->hi + 1.0) - log(p->lo))));
        else
            x = p->lo + (double)rng_bounded(r, (uint32_t)(p->hi - p->lo + 1.0));
        x = fmin(fmax(x, p->lo), p->hi);
        snprintf(out, SWEEP_VALUE, "%.0f", x);
        return;
    }
    x = p->kind == SWEEP_LOG ? exp(log(p->lo) + u * (log(p->hi) - log(p->lo))) : p->lo + u * (p->hi - p->lo);
    snprintf(out, SWEEP_VALUE, "%.4g", x);
    x = strtod(out, NULL); /* 4 significant digits, kept inside the ends */
    if (x < p->lo) shortest(out, SWEEP_VALUE, p->lo);
    if (x > p->hi) shortest(out, SWEEP_VALUE, p->hi);
}

void sweep_sample(const sweep_space *s, uint64_t seed, int trial, sweep_settings *out) {
    cm_rng r;
    rng_seed(&r, seed, SWEEP_STREAM + (uint64_t)trial);
    memset(out, 0, sizeof *out);
    for (int i = 0; i < s->n; i++)
        sample_param(&s->p[i], &r, out->value[i]);
}

void sweep_settings_format(const sweep_space *s, const sweep_settings *v, const char *sep, char *buf, size_t size) {
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->n && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%s=%s", i ? sep : "", s->p[i].name, v->value[i]);
}
