/* classify.c: classify image files with a saved clmnist model.
 *
 *   classify MODEL IMAGE...        prints "IMAGE: CLASS NAME PROBABILITY" per image
 *
 * $CLMNIST_OPTIONS, if set, goes to clmnist_open (e.g. "backend=host,threads=2").
 * Build against an installed libclmnist:
 *   cc classify.c -o classify $(pkg-config --cflags --libs clmnist) */
#include <clmnist/clmnist.h>
#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what) {
    fprintf(stderr, "classify: %s: %s\n", what, clmnist_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: classify MODEL IMAGE...\n");
        return 2;
    }
    clmnist_ctx *ctx;
    clmnist_model *model;
    if (clmnist_open(getenv("CLMNIST_OPTIONS"), &ctx) != CLMNIST_OK) return fail("clmnist_open");
    if (clmnist_model_load(ctx, argv[1], &model) != CLMNIST_OK) return fail(argv[1]);

    int n = argc - 2, classes = clmnist_model_classes(model);
    int *cls = malloc(sizeof(int) * (size_t)n);
    float *probs = malloc(sizeof(float) * (size_t)n * (size_t)classes);
    if (!cls || !probs) return 1;
    /* an unreadable file gets class -1; the others are still classified */
    int status = clmnist_predict_files(model, (const char *const *)argv + 2, n, cls, probs);
    for (int i = 0; i < n; i++) {
        if (cls[i] < 0) continue;
        printf("%s: %d %s %.4f\n", argv[i + 2], cls[i], clmnist_model_class_name(model, cls[i]),
               probs[(size_t)i * classes + cls[i]]);
    }
    if (status != CLMNIST_OK) fail("predict");

    free(cls);
    free(probs);
    clmnist_model_free(model);
    clmnist_close(ctx);
    return status == CLMNIST_OK ? 0 : 1;
}
