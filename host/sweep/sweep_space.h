/* sweep_space.h: the search space of `clmnist sweep` and its seeded sampler.
 *
 * Grammar of --space: assignments separated by ';', each NAME=DOMAIN, NAME a train flag without
 * "--" (lr, weight-decay, dropout, batch, optimizer, layers, ...), DOMAIN one of
 *   log(LO,HI)   log-uniform in [LO, HI], LO > 0 (an integer flag draws integers)
 *   LO..HI       uniform in [LO, HI] (an integer flag draws each integer equally often)
 *   A,B,C        one of the listed values; A|B|C when the values hold commas (layers=512,256|1024)
 * Every end and every listed value goes through the train flag's own checks when parsed. Floats
 * are drawn to 4 significant digits (the text a trial is trained with is the value recorded).
 *
 * Trial i's values come from PCG32 seeded by (seed, stream SWEEP_STREAM + i): the same seed
 * and space give the same trials, and trial i does not depend on how many trials there are. */
#ifndef CLMNIST_SWEEP_SPACE_H
#define CLMNIST_SWEEP_SPACE_H
#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define SWEEP_MAX_PARAMS 12
#define SWEEP_MAX_CHOICES 16
#define SWEEP_VALUE 96
#define SWEEP_STREAM 0x5357454550ull /* "SWEEP" */

typedef enum { SWEEP_LOG, SWEEP_RANGE, SWEEP_CHOICE } sweep_kind;
typedef enum { SWEEP_FLOAT, SWEEP_INT, SWEEP_TEXT } sweep_type;

typedef struct {
    char name[32]; /* the train flag, without "--" */
    sweep_kind kind;
    sweep_type type;
    double lo, hi; /* log, range */
    int nchoices;  /* choice */
    char choice[SWEEP_MAX_CHOICES][SWEEP_VALUE];
} sweep_param;

typedef struct {
    int n;
    sweep_param p[SWEEP_MAX_PARAMS];
} sweep_space;

/* One trial's values, as text, in the space's order. */
typedef struct {
    char value[SWEEP_MAX_PARAMS][SWEEP_VALUE];
} sweep_settings;

/* Parses --space; errors name the assignment at fault (CM_ERR_USAGE). */
cm_status sweep_space_parse(const char *text, sweep_space *s);
/* The space in its canonical text form: what sweep.json records and a rerun must match. */
void sweep_space_format(const sweep_space *s, char *buf, size_t size);
/* Trial `trial`'s (0-based) values. */
void sweep_sample(const sweep_space *s, uint64_t seed, int trial, sweep_settings *out);
/* "lr=0.05 batch=128": the values as flags would read, separated by `sep`. */
void sweep_settings_format(const sweep_space *s, const sweep_settings *v, const char *sep, char *buf, size_t size);

#endif
