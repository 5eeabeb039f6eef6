/* fuzz_onnx.c: libFuzzer target for ONNX model files: onnx_model_parse, the code model_file_load
 * runs on a file named *.onnx or that starts as one (the nesting check, protobuf-c's unpacking
 * under a memory budget, the graph's frame, every node's attributes and constant tensors, the
 * layout, the tensors' sizes against it, the metadata and the pipeline). A model that loads must
 * hold layout.total floats. */
#include <stdint.h>

#include "model_io.h"
#include "onnx_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cm_model_file f;
    if (onnx_model_parse(data, size, "fuzz.onnx", CM_PARAM_ALIGN_BYTES, &f) == CM_OK) {
        volatile float first = f.model.params[0], last = f.model.params[f.model.layout.total - 1];
        (void)first;
        (void)last;
        model_file_free(&f);
    }
    cm_clear_error();
    return 0;
}
