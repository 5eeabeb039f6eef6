/* fuzz_arch.c: libFuzzer target for the --arch grammar (model_parse_arch) and shape inference
 * (model_layout) on MNIST's 1x28x28 input with 10 classes and on a 3x32x32 input with any
 * number. The input is the spec's text (the tool takes up to CM_ARCH_TEXT - 1 characters). A
 * spec that lays out must survive the two ways a layout is written down: its description
 * (model_describe, the "layers" metadata) parses back to a layout described the same way, and
 * its "modules" JSON (modules.c) reads back to one described the same way; anything else aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "modules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *have, const char *want) {
    fprintf(stderr, "fuzz_arch: %s: '%s' against '%s' (%s)\n", what, have, want, cm_last_error());
    abort();
}

/* The layout of layers on L's input and classes into *again, which must be described as L is. */
static void relayout(const cm_layout *L, const cm_layer *layers, int n, const char *what, cm_layout *again) {
    char want[CM_ARCH_TEXT], have[CM_ARCH_TEXT];
    model_describe(L, want, sizeof want);
    if (model_layout(again, layers, n, L->input, L->classes, L->align_bytes) != CM_OK) fail(what, "", want);
    model_describe(again, have, sizeof have);
    if (strcmp(have, want) != 0 || again->total != L->total) fail(what, have, want);
}

static void round_trips(const cm_layout *L) {
    char text[CM_ARCH_TEXT];
    cm_layout back;
    model_describe(L, text, sizeof text);
    if (strlen(text) + 1 >= sizeof text) fail("the description fills its buffer", text, "");
    cm_layer layers[CM_MAX_LAYERS];
    int n = 0, expect_in[CM_MAX_LAYERS];
    if (model_parse_arch(text, layers, &n) != CM_OK) fail("the description does not parse", text, "");
    relayout(L, layers, n, "the description lays out otherwise", &back);
    char *json = modules_to_json(L);
    if (!json) abort();
    if (modules_from_json("fuzz", json, layers, &n, expect_in) != CM_OK) fail("modules do not read back", json, text);
    relayout(L, layers, n, "modules lay out otherwise", &back);
    if (modules_check_inputs("fuzz", &back, expect_in) != CM_OK) fail("modules' input sizes differ", json, text);
    free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size >= CM_ARCH_TEXT) return 0;
    char *spec = malloc(size + 1);
    if (!spec) return 0;
    memcpy(spec, data, size);
    spec[size] = '\0';
    cm_layer layers[CM_MAX_LAYERS];
    int n = 0;
    if (model_parse_arch(spec, layers, &n) == CM_OK) {
        static const struct {
            cm_shape input;
            int classes;
        } cases[] = {{{1, 28, 28, 0}, 10}, {{3, 32, 32, 0}, 0}};
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            cm_layout L;
            if (model_layout(&L, layers, n, cases[k].input, cases[k].classes, CM_PARAM_ALIGN_BYTES) == CM_OK)
                round_trips(&L);
        }
    }
    free(spec);
    cm_clear_error();
    return 0;
}
