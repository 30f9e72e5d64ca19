/* tar.h - the deterministic tar of a tree (internal to layers/).
 *
 * The only place besides builder/deb.c that sees libarchive.  Writing
 * knows nothing of compression or files: it feeds a compress_stream.
 * layer_extract, the reverse, is defined in tar.c as well.
 */
#ifndef PGIMG_LAYERS_TAR_H
#define PGIMG_LAYERS_TAR_H

#include "common/error.h"
#include "layers/compress.h"
#include "layers/layer.h"

/* Write root_dir as a pax tar into out, following opts (see layer.h).
 * Does not finish out.  Errors name the path concerned. */
int tar_write_tree (const char *root_dir, const struct layer_opts *opts,
                    struct compress_stream *out, pgimg_error_t *err);

#endif
