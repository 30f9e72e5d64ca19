/* scan.h - reading a few files out of a layer blob without unpacking
 * it: what the SBOM learns of an image's packages (their status files
 * and copyright files).  Nothing is written to disk; names are as in
 * the tar, without a leading "./".
 */
#ifndef PGIMG_LAYERS_SCAN_H
#define PGIMG_LAYERS_SCAN_H

#include <stddef.h>

#include "common/error.h"

struct layer_scan {
        /* 1 when the entry `name` is wanted: a regular file's content
         * (up to max_bytes; a longer file is an error), a symbolic or
         * hard link's target. */
        int (*want) (void *ctx, const char *name);
        /* Called for each wanted entry, in the tar's order: data and len
         * for a file (NUL-terminated), link for a link (symlink is 1 for
         * a symbolic link, 0 for a hard link).  <0 stops the scan. */
        int (*found) (void *ctx, const char *name, const char *data, size_t len, const char *link,
                      int symlink, pgimg_error_t *err);
        void *ctx;
        size_t max_bytes;
};

/* Scan the layer blob open on fd (any compression; read from its
 * offset, not closed; `what` names it in messages). */
int layer_scan_fd (int fd, const char *what, const struct layer_scan *s, pgimg_error_t *err);

#endif
