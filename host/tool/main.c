/* main.c: the clmnist command-line tool: dispatches to a subcommand and prints its error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic_file.h"
#include "dist.h"
#include "clmnist_version.h"
#include "commands.h"
#include "options.h"

typedef struct {
    const char *name;
    cm_status (*run)(int, char **);
    const char *help;
    int ranks; /* 1: runs under mpirun with several ranks (dist.h) */
} command;

static const command commands[] = {
    {"devices", cmd_devices, "list OpenCL platforms and devices", 1},
    {"train", cmd_train, "train a classifier on IDX, CSV or an image folder (MNIST by default)", 1},
    {"eval", cmd_eval, "evaluate a saved model: accuracy, confusion matrix, precision/recall", 0},
    {"predict", cmd_predict, "classify your own images (PNG, JPEG, PGM/PPM) with a saved model", 0},
    {"compare", cmd_compare, "train on host and device in lockstep and compare every parameter", 0},
    {"bench", cmd_bench, "measure images/s, GEMM GFLOP/s, time to accuracy and memory per backend", 1},
    {"tune", cmd_tune, "tune CLBlast's GEMM for this device and model; train and bench use the result", 0},
    {"serve", cmd_serve, "serve a model: a web page to draw digits and a JSON API (POST /api/predict)", 0},
    {"sweep", cmd_sweep, "search train flags: random trials, successive halving on --val, the best model", 0},
    {"import", cmd_import, "write an image folder, CSV or EMNIST/KMNIST data as IDX files (+ classes.txt)", 0},
    {"export", cmd_export, "write a saved model as ONNX (ONNX Runtime, OpenCV, TensorRT, Netron)", 0},
    {"doctor", cmd_doctor, "check this machine (OpenCL, kernels, CLBlast, memory, threads, data) and say what to fix",
     0},
};

static void usage(FILE *out) {
    fprintf(out, "clmnist %s: GPU-accelerated training of image classifiers (MLPs and CNNs) with OpenCL\n\n",
            CLMNIST_VERSION);
    fprintf(out, "usage: clmnist <command> [options]   (clmnist help <command> for its options)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].help);
}

/* The host backend's threads wait passively between parallel loops unless the user chose
 * otherwise: libgomp's default spin-wait starves every other thread of a small or shared machine
 * (up to 20x slower steps on 2 busy cores, docs/BENCHMARKS.md). libgomp reads OMP_WAIT_POLICY
 * once, when it loads, so the tool sets it and runs itself again; if that fails, it goes on. */
static void prefer_passive_openmp(char **argv) {
    if (getenv("OMP_WAIT_POLICY") || setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
    execv("/proc/self/exe", argv);
}

/* A model or checkpoint write found what a killed writer left (atomic_file.h) and removed it. */
static void stale_notice(const char *removed) {
    fflush(stdout);
    fprintf(stderr, "clmnist: note: removed a stale temporary file %s from an interrupted write\n", removed);
}

int main(int argc, char **argv) {
    prefer_passive_openmp(argv);
    /* Line by line even into a file or a pipe: a log of a long `train` or `tune` is current. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    atomic_file_on_stale(stale_notice);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    char *help_argv[] = {argv[0], argc > 2 ? argv[2] : NULL, "--help", NULL};
    if (!strcmp(argv[1], "help") && argc == 3) { /* clmnist help CMD: clmnist CMD --help */
        argc = 3;
        argv = help_argv;
    } else if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("clmnist %s\n", CLMNIST_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            cm_status st = dist_init(&argc, &argv);
            if (st == CM_OK && dist_world()->size > 1 && !commands[i].ranks)
                st = cm_fail(CM_ERR_USAGE, "clmnist %s runs in one process: start it without mpirun (%d ranks here)",
                             commands[i].name, dist_world()->size);
            if (st == CM_OK) st = commands[i].run(argc - 1, argv + 1);
            return dist_exit(st, cm_last_error()); /* under mpirun: names the rank, ends the job */
        }
    }
    const char *near = NULL;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (opt_distance(argv[1], commands[i].name) <= 2) near = commands[i].name;
    if (near)
        fprintf(stderr, "clmnist: error: unknown command '%s' (did you mean '%s'?)\n", argv[1], near);
    else
        fprintf(stderr, "clmnist: error: unknown command '%s' (see 'clmnist --help')\n", argv[1]);
    return 2;
}
