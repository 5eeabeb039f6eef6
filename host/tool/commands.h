/* commands.h: the subcommands of the clmnist tool. Each returns a status; main prints errors. */
#ifndef CLMNIST_COMMANDS_H
#define CLMNIST_COMMANDS_H
#include "status.h"

cm_status cmd_devices(int argc, char **argv);
cm_status cmd_train(int argc, char **argv);
cm_status cmd_compare(int argc, char **argv);
cm_status cmd_bench(int argc, char **argv);
cm_status cmd_eval(int argc, char **argv);
cm_status cmd_predict(int argc, char **argv);
cm_status cmd_tune(int argc, char **argv);
cm_status cmd_doctor(int argc, char **argv);
cm_status cmd_serve(int argc, char **argv);
cm_status cmd_import(int argc, char **argv);
cm_status cmd_export(int argc, char **argv);
cm_status cmd_sweep(int argc, char **argv);

#endif
