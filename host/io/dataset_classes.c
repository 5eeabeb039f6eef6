/* dataset_classes.c: class names: classes.txt (one per line, written by `clmnist import`),
 * EMNIST's PREFIX-mapping.txt ("label code [code]" per line: the characters) and KMNIST's ten. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dataset_formats.h"

#define MAX_CLASSES 256

/* Romanised hiragana of KMNIST's ten classes (its kmnist_classmap.csv, in label order). */
static const char *const kmnist_names[10] = {"o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"};
static const char *const digit_names[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
static const char *const fashion_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

const char *const *dataset_known_class_names(const char *name, int classes) {
    if (classes != 10 || !name) return NULL;
    if (strstr(name, "fashion")) return fashion_names;
    if (strstr(name, "kmnist")) return kmnist_names;
    if (!strcmp(name, "mnist") || !strncmp(name, "mnist", 5)) return digit_names;
    return NULL;
}

void dataset_free_names(char **names, int n) {
    for (int i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

static cm_status names_alloc(char ***names, int n) {
    *names = calloc((size_t)n, sizeof **names);
    return *names ? CM_OK : cm_fail(CM_ERR_MEMORY, "out of host memory");
}

/* Strips the line end; 1 if the rest is empty. */
static int chomp(char *line) {
    line[strcspn(line, "\r\n")] = '\0';
    return line[0] == '\0';
}

cm_status dataset_read_class_names(const char *dir, char ***names, int *n) {
    *names = NULL;
    *n = 0;
    char path[4096], line[1024];
    snprintf(path, sizeof path, "%s/classes.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) return errno == ENOENT ? CM_OK : cm_fail(CM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    cm_status st = names_alloc(names, MAX_CLASSES);
    int blank = 0;
    while (st == CM_OK && fgets(line, sizeof line, f)) {
        if (chomp(line)) {
            blank = blank ? blank : *n + 1;
            continue;
        }
        if (blank)
            st = cm_fail(CM_ERR_FORMAT, "%s:%d: an empty class name", path, blank);
        else if (*n == MAX_CLASSES)
            st = cm_fail(CM_ERR_FORMAT, "%s: more than %d class names", path, MAX_CLASSES);
        else if (!((*names)[*n] = strdup(line)))
            st = cm_fail(CM_ERR_MEMORY, "out of host memory");
        else
            (*n)++;
    }
    fclose(f);
    if (st == CM_OK && *n == 0) st = cm_fail(CM_ERR_FORMAT, "%s: no class names", path);
    if (st != CM_OK) {
        dataset_free_names(*names, *n);
        *names = NULL;
        *n = 0;
    }
    return st;
}

/* UTF-8 of code point c into out (5 bytes). */
static void utf8(unsigned long c, char *out) {
    if (c < 0x80) {
        *out++ = (char)c;
    } else if (c < 0x800) {
        *out++ = (char)(0xC0 | c >> 6), *out++ = (char)(0x80 | (c & 63));
    } else if (c < 0x10000) {
        *out++ = (char)(0xE0 | c >> 12), *out++ = (char)(0x80 | (c >> 6 & 63)), *out++ = (char)(0x80 | (c & 63));
    } else {
        *out++ = (char)(0xF0 | c >> 18), *out++ = (char)(0x80 | (c >> 12 & 63));
        *out++ = (char)(0x80 | (c >> 6 & 63)), *out++ = (char)(0x80 | (c & 63));
    }
    *out = '\0';
}

/* One mapping line: "label code" or "label upper lower" (EMNIST letters) -> "A" or "A/a". */
static cm_status mapping_line(const char *path, int lineno, const char *line, int *label, char name[16]) {
    unsigned long l, c1, c2;
    int k = sscanf(line, "%lu %lu %lu", &l, &c1, &c2);
    if (k < 2 || l >= MAX_CLASSES || c1 < 32 || c1 > 0x10FFFF || (k == 3 && (c2 < 32 || c2 > 0x10FFFF)))
        return cm_fail(CM_ERR_FORMAT, "%s:%d: expected 'label code' (a label 0-255, a character code), got '%.40s'",
                       path, lineno, line);
    *label = (int)l;
    utf8(c1, name);
    if (k == 3 && c2 != c1) {
        strcat(name, "/");
        utf8(c2, name + strlen(name));
    }
    return CM_OK;
}

static cm_status read_mapping(const char *path, FILE *f, char ***names, int *n) {
    char line[256], name[16];
    int lineno = 0, label = 0;
    CM_TRY(names_alloc(names, MAX_CLASSES));
    cm_status st = CM_OK;
    while (st == CM_OK && fgets(line, sizeof line, f)) {
        lineno++;
        if (chomp(line)) continue;
        st = mapping_line(path, lineno, line, &label, name);
        if (st == CM_OK && (*names)[label]) st = cm_fail(CM_ERR_FORMAT, "%s:%d: label %d again", path, lineno, label);
        if (st == CM_OK && !((*names)[label] = strdup(name))) st = cm_fail(CM_ERR_MEMORY, "out of host memory");
        if (st == CM_OK && label + 1 > *n) *n = label + 1;
    }
    for (int c = 0; st == CM_OK && c < *n; c++) { /* labels the file leaves out keep their number */
        snprintf(name, sizeof name, "%d", c);
        if (!(*names)[c] && !((*names)[c] = strdup(name))) st = cm_fail(CM_ERR_MEMORY, "out of host memory");
    }
    if (st != CM_OK) {
        dataset_free_names(*names, MAX_CLASSES);
        *names = NULL;
        *n = 0;
    }
    return st;
}

cm_status dataset_known_names(const char *dir, const char *prefix, char ***names, int *n) {
    *names = NULL;
    *n = 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/%smapping.txt", dir, prefix);
    FILE *f = prefix[0] ? fopen(path, "r") : NULL;
    if (f) {
        cm_status st = read_mapping(path, f, names, n);
        fclose(f);
        return st;
    }
    const char *base = strrchr(dir, '/');
    base = base && base[1] ? base + 1 : dir;
    if (strncasecmp(prefix, "kmnist", 6) != 0 && !strstr(base, "kmnist")) return CM_OK;
    CM_TRY(names_alloc(names, 10));
    for (int c = 0; c < 10; c++)
        if (!((*names)[c] = strdup(kmnist_names[c]))) {
            dataset_free_names(*names, 10);
            *names = NULL;
            return cm_fail(CM_ERR_MEMORY, "out of host memory");
        }
    *n = 10;
    return CM_OK;
}
