/* fuzz_idx.c: libFuzzer target for the IDX reader: dataset_parse_idx, the code dataset_read_idx
 * runs on a file's bytes (raw, or gzip by its first bytes), as a label file (1 dimension) and as
 * an image file (3 dimensions). A payload it returns must hold every byte its dimensions say. */
#include <stdint.h>
#include <stdlib.h>

#include "dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse(const uint8_t *data, size_t size, int ndims) {
    uint32_t dims[3];
    uint8_t *payload = NULL;
    if (dataset_parse_idx(data, size, "fuzz", ndims, dims, &payload) != CM_OK) return;
    size_t n = 1;
    for (int i = 0; i < ndims; i++)
        n *= dims[i];
    volatile uint8_t first = payload[0], last = payload[n - 1]; /* ASan checks both ends */
    (void)first;
    (void)last;
    free(payload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    parse(data, size, 1);
    parse(data, size, 3);
    cm_clear_error();
    return 0;
}
