/* run_data_check.c: the dataset's sanity warnings (dataset_sanity.h), printed once per run. */
#include <stdio.h>

#include "run_options.h"
#include "dataset_sanity.h"

enum { MAX_WARNINGS = 8 };

static void print_warnings(const char *dir, const cm_sanity_report *r) {
    char lines[MAX_WARNINGS][CM_SANITY_LINE];
    int n = dataset_sanity_warnings(r, lines, MAX_WARNINGS);
    if (n) fflush(stdout); /* after the lines already printed */
    for (int i = 0; i < n; i++)
        fprintf(stderr, "clmnist: warning: %s: %s\n", dir, lines[i]);
}

cm_status run_warn_data(const char *dir, const cm_dataset *ds) {
    cm_sanity_report r;
    CM_TRY(dataset_sanity(ds, &r));
    print_warnings(dir, &r);
    return CM_OK;
}

void run_warn_test_data(const char *dir, const cm_split *test) {
    cm_sanity_report r = {.test_count = test->count, .blank_test = dataset_blank_images(test)};
    print_warnings(dir, &r);
}
