/* file_layout.h: the layout a model file's header describes (file_layout.c). */
#ifndef CLMNIST_FILE_LAYOUT_H
#define CLMNIST_FILE_LAYOUT_H
#include <cjson/cJSON.h>

#include "model.h"
#include "model_io.h"

/* The layers of the file at `path` (header `root`, metadata `meta`, "modules" text or NULL),
 * laid out with align_bytes; *legacy = 1 for a format-1 file, whose tensor indices are one lower
 * (it has no leading Flatten). Errors name the file. */
cm_status file_layout(const char *path, const cJSON *root, const cm_meta *meta, const char *modules, size_t align_bytes,
                      cm_layout *L, int *legacy);

#endif
