/* modules.h: a layer list as the "modules" JSON of a model file, and back (see modules.c). */
#ifndef CLMNIST_MODULES_H
#define CLMNIST_MODULES_H
#include <cjson/cJSON.h>

#include "model.h"

/* The JSON text of L's layers (malloc'd; NULL when out of memory). */
char *modules_to_json(const cm_layout *L);
/* Layer descriptors from `text`; expect_in[i] is the in_features / in_channels / num_features
 * the file states for layer i (-1 where the type has none), for modules_check_inputs once the
 * layout has inferred the real ones. Errors name path and the module. */
cm_status modules_from_json(const char *path, const char *text, cm_layer *layers, int *nlayers, int *expect_in);
cm_status modules_check_inputs(const char *path, const cm_layout *L, const int *expect_in);

#endif
