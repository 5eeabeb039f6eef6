/* onnx_logits.c: test helper of tests/onnx.sh: a model (safetensors or ONNX) on the test split of
 * an IDX data set, on the host backend; writes every example's logits as raw float32 (count,
 * classes) to OUT, for comparison with ONNX Runtime's.
 * usage: onnx_logits MODEL DATA OUT */
#include <stdio.h>
#include <stdlib.h>

#include "backend.h"
#include "dataset_source.h"
#include "infer.h"
#include "model_io.h"

static int fail(void) {
    fprintf(stderr, "onnx_logits: %s\n", cm_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: onnx_logits MODEL DATA OUT\n");
        return 2;
    }
    cm_model_file f;
    cm_dataset ds;
    cm_data_options o;
    cm_backend *b = NULL;
    cm_infer *c = NULL;
    dataset_default_options(&o);
    cm_backend_options bo = {0};
    if (model_file_load(argv[1], CM_PARAM_ALIGN_BYTES, &f) != CM_OK || dataset_open(argv[2], &o, &ds) != CM_OK ||
        backend_create("host", &bo, &b) != CM_OK || infer_create(b, &f.model, 250, &c) != CM_OK)
        return fail();
    size_t n = (size_t)ds.test.count * (size_t)f.model.layout.classes;
    float *logits = malloc(n * sizeof(float));
    if (!logits || infer_logits(c, &ds.test, logits) != CM_OK) return fail();
    FILE *out = fopen(argv[3], "wb");
    if (!out || fwrite(logits, sizeof(float), n, out) != n || fclose(out) != 0) {
        fprintf(stderr, "onnx_logits: cannot write %s\n", argv[3]);
        return 1;
    }
    printf("onnx_logits: %d examples, %d classes\n", ds.test.count, f.model.layout.classes);
    free(logits);
    infer_destroy(c);
    backend_destroy(b);
    dataset_free(&ds);
    model_file_free(&f);
    return 0;
}
