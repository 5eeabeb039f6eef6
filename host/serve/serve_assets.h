/* serve_assets.h: the web page's files, compiled into the binary by cmake/EmbedAssets.cmake from
 * host/serve/assets/ (the generated serve_assets.c). */
#ifndef CLMNIST_SERVE_ASSETS_H
#define CLMNIST_SERVE_ASSETS_H
#include "http_server.h"

extern const cm_http_asset cm_serve_assets[];
extern const int cm_serve_asset_count;

#endif
