/* cmd_sweep.c: `clmnist sweep`: hyperparameter search over train flags (sweep.h): parses the
 * options, opens DIR, and runs the sweep in this process. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "preflight.h"
#include "sweep.h"

typedef struct {
    const char *space, *dir, *out;
    long trials, max_epochs, min_epochs, eta;
    double time_budget;
} sweep_flags;

enum { S_SPACE, S_TRIALS, S_MAX_EPOCHS, S_MIN_EPOCHS, S_ETA, S_TIME_BUDGET, S_DIR, S_OUT };
static const cm_extra_option sweep_extra[] = {
    {"space", 1,
     "  --space SPEC      the flags to search, ';'-separated: NAME=log(LO,HI) (log-uniform), NAME=LO..HI\n"
     "                    (uniform; integers for integer flags), NAME=A,B,C or A|B|C (one of), e.g.\n"
     "                    'lr=log(0.01,0.3);weight-decay=log(1e-6,1e-3);dropout=0..0.5;batch=64,128,256'\n"},
    {"trials", 1, "  --trials N        trials drawn from the space (default 20)\n"},
    {"max-epochs", 1,
     "  --max-epochs E    the top rung: epochs of a trial that is never stopped, and every trial's\n"
     "                    schedule length (default: --epochs, 5 with the fast preset)\n"},
    {"min-epochs", 1, "  --min-epochs E    the first rung's epochs (default 1)\n"},
    {"eta", 1,
     "  --eta N           successive halving: each rung has eta times the epochs of the one before and\n"
     "                    continues the best 1/eta of its trials (default 3)\n"},
    {"time-budget", 1,
     "  --time-budget T   seconds (or 30m, 2h) of trials after which no new rung of a trial starts; the\n"
     "                    best trial so far is then continued to the top rung\n"},
    {"dir", 1,
     "  --dir DIR         the sweep's state (default sweep): sweep.json, trials.jsonl, trials.csv,\n"
     "                    sweep.html, checkpoints; the same command with the same DIR continues it\n"},
    {"out", 1, "  --out FILE        the best trial's model (default DIR/best.safetensors)\n"},
    {NULL, 0, NULL}};

static cm_status parse_budget(const char *v, double *out) {
    char num[64];
    size_t n = strlen(v);
    double unit = 1.0;
    if (n && n < sizeof num && strchr("smh", v[n - 1])) {
        unit = v[n - 1] == 'h' ? 3600.0 : v[n - 1] == 'm' ? 60.0 : 1.0;
        n--;
    }
    snprintf(num, sizeof num, "%.*s", (int)n, v);
    CM_TRY(cm_parse_float("--time-budget", num, 1e-3, 1e9, out));
    *out *= unit;
    return CM_OK;
}

static cm_status on_extra(void *ctx, int index, const char *v) {
    sweep_flags *f = ctx;
    switch (index) {
    case S_SPACE: f->space = v; break;
    case S_TRIALS: return cm_parse_int("--trials", v, 1, SWEEP_MAX_TRIALS, &f->trials);
    case S_MAX_EPOCHS: return cm_parse_int("--max-epochs", v, 1, 100000, &f->max_epochs);
    case S_MIN_EPOCHS: return cm_parse_int("--min-epochs", v, 1, 100000, &f->min_epochs);
    case S_ETA: return cm_parse_int("--eta", v, 2, 100, &f->eta);
    case S_TIME_BUDGET: return parse_budget(v, &f->time_budget);
    case S_DIR: f->dir = v; break;
    case S_OUT: f->out = v; break;
    default: break;
    }
    return CM_OK;
}

/* The recipe every trial starts from, for sweep.json: the run options the space does not set. */
static void describe_base(const cm_train_args *a, const sweep_space *sp, char *buf, size_t size) {
    size_t o = (size_t)snprintf(buf, size, "data=%s", a->data_dir);
    for (const cm_option *opt = cm_options; opt->name && o < size; opt++) {
        if (!(opt->flags & CM_OPT_SAVED)) continue;
        int searched = !strcmp(opt->name, "epochs");
        for (int i = 0; i < sp->n; i++)
            searched |= !strcmp(opt->name, sp->p[i].name);
        char v[256];
        opt_format(a, opt, v, sizeof v);
        if (!searched) o += (size_t)snprintf(buf + o, size - o, " %s=%s", opt->name, v);
    }
}

static cm_status check_flags(const cm_train_args *a, sweep_flags *f) {
    if (!f->space)
        return cm_fail(CM_ERR_USAGE,
                       "clmnist sweep: --space is required, e.g. --space 'lr=log(0.01,0.3);batch=64,128'");
    if (!a->val)
        return cm_fail(CM_ERR_USAGE, "clmnist sweep: trials are compared on a validation split: add --val N (e.g. "
                                     "--val 5000); the test set is used once, for the best trial");
    if (!f->max_epochs) f->max_epochs = a->epochs;
    if (f->min_epochs > f->max_epochs)
        return cm_fail(CM_ERR_USAGE, "--min-epochs %ld is above --max-epochs %ld", f->min_epochs, f->max_epochs);
    return CM_OK;
}

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
    if (stop_requested) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    stop_requested = 1;
    static const char msg[] = "\nclmnist: stopping the sweep after this step (Ctrl-C again exits at once)\n";
    ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)n;
}

static cm_status catch_sigint(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGINT, &sa, NULL) != 0) return cm_fail(CM_ERR_IO, "sigaction: %s", strerror(errno));
    return CM_OK;
}

cm_status cmd_sweep(int argc, char **argv) {
    sweep_flags f = {.dir = "sweep", .trials = 20, .min_epochs = 1, .eta = 3};
    cm_command_info info = {
        "sweep",
        CM_CMD_SWEEP,
        NULL,
        "Searches train flags: random trials drawn from --space, successive halving on the --val\n"
        "split (the best 1/eta of each rung continue from their checkpoints), then the best trial's\n"
        "test accuracy and model. The train options below form every trial's base (--seed also\n"
        "draws the trials); the sweep's own options come at the end.",
        sweep_extra,
        on_extra,
        &f,
        0};
    cm_train_args base, a; /* the options as given (every trial's base), and finished */
    int help;
    CM_TRY(cli_parse_options(argc, argv, &info, &base, &help, NULL));
    if (help) return CM_OK;
    a = base;
    CM_TRY(run_finish(&a));
    CM_TRY(check_flags(&a, &f));
    char out[4096];
    snprintf(out, sizeof out, "%s/best.safetensors", f.dir);
    CM_TRY(preflight_dir_creatable("--dir", f.dir)); /* before the work: where it writes, what it runs on */
    CM_TRY(preflight_file("--out", f.out));
    CM_TRY(preflight_backend(a.backend, a.device, 0, NULL));
    sweep_state s = {.dir = f.dir,
                     .space_text = f.space,
                     .trials = (int)f.trials,
                     .eta = (int)f.eta,
                     .min_epochs = (int)f.min_epochs,
                     .max_epochs = (int)f.max_epochs,
                     .time_budget = f.time_budget,
                     .seed = a.seed};
    CM_TRY(sweep_space_parse(f.space, &s.space));
    describe_base(&a, &s.space, s.base, sizeof s.base);
    CM_TRY(catch_sigint());
    sweep_run_options o = {f.out ? f.out : out, &stop_requested};
    cm_status st = sweep_plan(&s);
    if (st == CM_OK) st = sweep_run(&s, &base, &o);
    sweep_state_free(&s);
    return st;
}
