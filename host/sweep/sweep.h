/* sweep.h: `clmnist sweep`: random search with synchronous successive halving over train flags.
 *
 * The rungs: epochs min_epochs, min_epochs*eta, min_epochs*eta^2, ... below max_epochs, then
 * max_epochs. Every trial is planned for max_epochs (its --epochs: the schedule's length) and a
 * rung is a point of that one run: rung 0 trains every trial to the first rung's epochs; each
 * later rung continues, from its checkpoint, the best floor(n/eta) (at least 1) of the n trials of
 * the rung before, ranked by validation accuracy (ties: the lower trial number). The validation
 * split is --val's; the test set is evaluated once, for the best trial, at the end.
 *
 * DIR holds sweep.json (what the sweep is: a rerun with other settings is refused), trials.jsonl
 * and trials.csv (one row per trial, rewritten atomically after every rung of every trial),
 * sweep.html, ckpt/trial-NNN.safetensors (the checkpoints of the trials still in the race) and
 * the best model. A rerun with the same DIR takes the recorded rungs as they are and trains only
 * what is missing. */
#ifndef CLMNIST_SWEEP_H
#define CLMNIST_SWEEP_H
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "run_options.h"
#include "sweep_space.h"

#define SWEEP_MAX_TRIALS 10000
#define SWEEP_MAX_RUNGS 16

typedef struct {
    int done;        /* recorded */
    double accuracy; /* validation accuracy after the rung's epochs; NaN: the loss diverged */
    double loss;
    double seconds; /* wall time of this rung's training and evaluation */
} sweep_result;

typedef struct {
    sweep_settings settings;
    sweep_result rung[SWEEP_MAX_RUNGS];
} sweep_trial;

typedef struct {
    const char *dir;
    const char *space_text; /* --space as given */
    sweep_space space;
    int trials, eta, min_epochs, max_epochs;
    double time_budget; /* seconds of recorded trial time after which no new rung starts; 0: none */
    uint64_t seed;
    char base[2048]; /* the base recipe: every trial's flags before the space's ("lr=0.1 batch=128 ...") */
    int nrungs;
    int rung_epochs[SWEEP_MAX_RUNGS]; /* epochs done at the end of each rung */
    int rung_size[SWEEP_MAX_RUNGS];   /* trials in each rung */
    sweep_trial *trial;               /* (trials) */
} sweep_state;

/* Fills the rungs from min_epochs, eta, max_epochs and trials; draws every trial's settings. */
cm_status sweep_plan(sweep_state *s);
/* Rung k's trials (s->rung_size[k] of them, in trial order) into ids: every trial for rung 0, the
 * best of rung k - 1 after. Needs rung k - 1 recorded for every one of its trials. */
void sweep_rung_members(const sweep_state *s, int k, int *ids);
/* The trial's validation accuracy at rung k as a ranking key: -1 for a diverged or missing one. */
double sweep_rank_key(const sweep_state *s, int trial, int k);
/* The highest recorded rung of a trial (-1: none). */
int sweep_last_rung(const sweep_state *s, int trial);
/* The best trial: the highest rung reached, then the highest accuracy there (-1: none recorded). */
int sweep_best(const sweep_state *s);
/* The recorded seconds of every trial. */
double sweep_seconds(const sweep_state *s);
void sweep_state_free(sweep_state *s);

/* sweep_state.c: DIR/sweep.json (written the first time; afterwards the settings must match it),
 * and the trials recorded in DIR/trials.jsonl. */
cm_status sweep_state_open(sweep_state *s);
/* Rewrites DIR/trials.jsonl and DIR/trials.csv (atomic_file.h) from s. */
cm_status sweep_state_save(const sweep_state *s);
/* The table: a header and one line per trial that has run, to f (stdout). */
void sweep_print_table(const sweep_state *s, FILE *f);
/* The trial's status word: "best", "top rung", "stopped at N", "diverged", "not run". */
const char *sweep_status(const sweep_state *s, int trial, int best);

/* sweep_html.c: DIR/sweep.html: a parallel-coordinates plot of the trials and the table. */
cm_status sweep_write_html(const sweep_state *s);

/* sweep_run.c: checks that every trial's options are valid, opens DIR (sweep_state_open), runs
 * the sweep (training in this process, on data loaded once) and finishes it: the best trial
 * continued to the top rung, evaluated once on the test set and saved to `out`.
 * base: the command line's train options as parsed, before run_finish (cli_parse_options); each
 * trial applies --epochs max_epochs and its values to a copy with run_set_option, then
 * run_finish, as the command line would with those flags appended. */
typedef struct {
    const char *out;                   /* the best model */
    const volatile sig_atomic_t *stop; /* set by Ctrl-C: stop after the current step */
} sweep_run_options;
cm_status sweep_run(sweep_state *s, const cm_train_args *base, const sweep_run_options *o);

#endif
