/* cmd_export.c: clmnist export MODEL OUT.onnx: a saved model (or an ONNX model) written as an
 * ONNX file for ONNX Runtime, OpenCV, TensorRT or Netron (host/io/onnx_model.h does the work). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "model_io.h"
#include "onnx_model.h"

static const char usage[] =
    "usage: clmnist export MODEL OUT.onnx\n\n"
    "Writes MODEL (a model saved by 'clmnist train', or an ONNX model) as an ONNX file, opset 13:\n"
    "input 'input' (N, C, H, W) float32, pixels / 255 in [0, 1] (the model's normalisation is part\n"
    "of the graph); outputs 'logits' (N, classes) and 'probabilities' (Softmax). metadata_props\n"
    "carry class_names, the input pipeline and clmnist.version. See docs/models.md.\n";

cm_status cmd_export(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return CM_OK;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cm_fail(CM_ERR_USAGE, "clmnist export: unknown option '%s' (see 'clmnist export --help')", argv[i]);
        }
    if (!onnx_available()) return onnx_export("clmnist export", NULL, NULL); /* says what to install */
    if (argc != 3)
        return cm_fail(CM_ERR_USAGE, "clmnist export: expected MODEL and OUT.onnx (see 'clmnist export --help')");
    cm_model_file f;
    CM_TRY(model_file_load(argv[1], CM_PARAM_ALIGN_BYTES, &f));
    cm_status st = onnx_export(argv[2], argv[1], &f);
    if (st == CM_OK) {
        char arch[CM_ARCH_TEXT];
        model_describe(&f.model.layout, arch, sizeof arch);
        printf("export: %s -> %s: %s, ONNX opset %d, input (N, %d, %d, %d) in [0, 1], outputs logits and "
               "probabilities\n",
               argv[1], argv[2], arch, CM_ONNX_OPSET, f.model.layout.input.c, f.model.layout.input.h,
               f.model.layout.input.w);
    }
    model_file_free(&f);
    return st;
}
