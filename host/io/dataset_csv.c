/* dataset_csv.c: CSV in Kaggle's digit-recognizer layout: a header (label,pixel0,...,pixelN-1),
 * then one image per row, pixels 0..255 row-major; a file without the label column (Kaggle's
 * test.csv) loads with labels 0 and *labelled = 0. Every bad cell is an error naming the file, the
 * line and the column. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dataset_formats.h"

#define MAX_COLUMNS 65537 /* 256x256 pixels and a label */

/* Splits line in place at commas into cells (trimmed of spaces); returns the count. */
static int split_cells(char *line, char **cells, int max) {
    int n = 0;
    for (char *p = line;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        char *end = p + strlen(p);
        while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
            *--end = '\0';
        if (n < max) cells[n] = p;
        n++;
        if (!comma) return n;
        p = comma + 1;
    }
}

static int is_number(const char *s) {
    if (*s == '-' || *s == '+') s++;
    if (!isdigit((unsigned char)*s)) return 0;
    while (isdigit((unsigned char)*s))
        s++;
    return *s == '\0';
}

/* One cell as a byte: digits only, 0..255. */
static cm_status cell_byte(const char *path, long line, int col, const char *header, const char *cell, uint8_t *out) {
    if (!is_number(cell))
        return cm_fail(CM_ERR_FORMAT, "%s:%ld: column %d (%s): '%.40s' is not a whole number", path, line, col + 1,
                       header, cell);
    errno = 0;
    long v = strtol(cell, NULL, 10);
    if (errno || v < 0 || v > 255)
        return cm_fail(CM_ERR_FORMAT, "%s:%ld: column %d (%s): %.40s is outside 0..255", path, line, col + 1, header,
                       cell);
    *out = (uint8_t)v;
    return CM_OK;
}

typedef struct {
    const char *path;
    int ncols, labelled, side, channels;
} csv_shape;

/* Reads the first line: the header, or (all numbers) the first row of a labelled file. */
static cm_status read_header(char *line, csv_shape *sh, char **cells, int *is_header) {
    int n = split_cells(line, cells, MAX_COLUMNS);
    if (n > MAX_COLUMNS) return cm_fail(CM_ERR_FORMAT, "%s:1: %d columns, more than %d", sh->path, n, MAX_COLUMNS);
    *is_header = !is_number(cells[0]);
    sh->labelled = !*is_header || !strcasecmp(cells[0], "label");
    sh->ncols = n;
    int pixels = n - sh->labelled;
    sh->side = (int)lround(sqrt((double)pixels));
    sh->channels = 1;
    if (pixels >= 3 && pixels % 3 == 0 && sh->side * sh->side != pixels) { /* colour: 3 planes (never also a square) */
        sh->side = (int)lround(sqrt((double)(pixels / 3)));
        sh->channels = 3;
    }
    if (pixels < 1 || sh->channels * sh->side * sh->side != pixels)
        return cm_fail(CM_ERR_FORMAT,
                       "%s:1: %d pixel columns%s: not a square image, grey or 3 colour planes (expected "
                       "label,pixel0,...,pixel783 for 28x28 grey, 3072 pixels for 3x32x32 colour)",
                       sh->path, pixels, sh->labelled ? " after the label" : "");
    return CM_OK;
}

static cm_status parse_row(const csv_shape *sh, long line, char **cells, int n, uint8_t *img, uint8_t *label) {
    if (n != sh->ncols)
        return cm_fail(CM_ERR_FORMAT, "%s:%ld: %d cells, but the first line has %d (a ragged row)", sh->path, line, n,
                       sh->ncols);
    *label = 0;
    if (sh->labelled) CM_TRY(cell_byte(sh->path, line, 0, "label", cells[0], label));
    for (int i = sh->labelled; i < n; i++) {
        char header[32];
        snprintf(header, sizeof header, "pixel%d", i - sh->labelled);
        CM_TRY(cell_byte(sh->path, line, i, header, cells[i], &img[i - sh->labelled]));
    }
    return CM_OK;
}

/* Reads the rows after the first line into b. */
static cm_status read_rows(FILE *f, const csv_shape *sh, char **cells, uint8_t *img, split_builder *b) {
    char *line = NULL;
    size_t cap = 0;
    long lineno = 1, blank = 0;
    cm_status st = CM_OK;
    uint8_t label;
    while (st == CM_OK && getline(&line, &cap, f) >= 0) {
        lineno++;
        if (line[strspn(line, " \t\r\n")] == '\0') {
            blank = blank ? blank : lineno;
            continue;
        }
        if (blank) {
            st = cm_fail(CM_ERR_FORMAT, "%s:%ld: an empty line inside the data", sh->path, blank);
            break;
        }
        int n = split_cells(line, cells, MAX_COLUMNS);
        st = parse_row(sh, lineno, cells, n, img, &label);
        if (st == CM_OK) st = builder_push(b, img, label);
    }
    free(line);
    if (st == CM_OK && ferror(f)) st = cm_fail(CM_ERR_IO, "%s: read error", sh->path);
    return st;
}

cm_status csv_load(const char *path, const cm_data_options *o, cm_split *out, int *labelled) {
    (void)o;
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f) return cm_fail(CM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char **cells = malloc(sizeof *cells * MAX_COLUMNS);
    char *first = NULL;
    size_t cap = 0;
    uint8_t *img = NULL;
    csv_shape sh = {.path = path};
    split_builder b = {0};
    int is_header = 0;
    cm_status st = cells ? CM_OK : cm_fail(CM_ERR_MEMORY, "out of host memory");
    if (st == CM_OK && getline(&first, &cap, f) < 0) st = cm_fail(CM_ERR_FORMAT, "%s: empty file", path);
    if (st == CM_OK) st = read_header(first, &sh, cells, &is_header);
    if (st == CM_OK) {
        b.s = (cm_split){
            .rows = sh.side, .cols = sh.side, .dim = sh.channels * sh.side * sh.side, .channels = sh.channels};
        img = malloc((size_t)b.s.dim);
        if (!img) st = cm_fail(CM_ERR_MEMORY, "out of host memory");
    }
    uint8_t label;
    if (st == CM_OK && !is_header) st = parse_row(&sh, 1, cells, sh.ncols, img, &label);
    if (st == CM_OK && !is_header) st = builder_push(&b, img, label);
    if (st == CM_OK) st = read_rows(f, &sh, cells, img, &b);
    if (st == CM_OK && b.s.count == 0) st = cm_fail(CM_ERR_FORMAT, "%s: a header but no rows", path);
    fclose(f);
    free(first), free(cells), free(img);
    if (st != CM_OK) {
        dataset_free_split(&b.s);
        return st;
    }
    *out = b.s;
    *labelled = sh.labelled;
    return CM_OK;
}
