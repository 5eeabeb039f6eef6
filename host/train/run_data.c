/* run_data.c: eval's test split of data that is not IDX (the options that say how --data is
 * read are in the option table, options_table.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_options.h"

cm_status run_load_other_test(const char *path, cm_dataset *ds) {
    cm_data_options o;
    dataset_default_options(&o);
    o.notes = stderr;
    CM_TRY(dataset_open(path, &o, ds));
    dataset_free_split(&ds->train);
    ds->train = ds->test;
    ds->train.borrowed = 1;
    return CM_OK;
}
