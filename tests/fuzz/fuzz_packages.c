/* fuzz_packages.c - Packages text into deb_index_add, then a resolution
 * over what was parsed, since the resolver re-parses the relation
 * fields.
 *
 *   make fuzz CC=clang && build-fuzz/fuzz/fuzz_packages corpus/
 *   cc ... -o replay tests/fuzz/fuzz_packages.c libpgimg.a && ./replay crash-file
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "builder/deb_index.h"
#include "builder/deb_resolve.h"
#include "common/fsutil.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        struct deb_index idx = DEB_INDEX_INIT;
        pgimg_error_t err = NULL;
        size_t *out = NULL, n = 0;

        deb_index_add (&idx, (const char *) data, size, "http://m", NULL, &err);
        pgimg_error_free (&err);
        if (idx.n > 0) {
                const char *root = idx.pkgs[0].name;
                deb_resolve (&idx, &root, 1, &out, &n, &err);
                pgimg_error_free (&err);
                free (out);
        }
        deb_index_free (&idx);
        return 0;
}

#include "tests/fuzz/replay.h"
