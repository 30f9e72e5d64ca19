/* fuzz_packages.c - Packages text into deb_index_add, then a resolution
 * over what was parsed, since the resolver re-parses the relation
 * fields.  An input that starts like xz, gzip or zstd goes through
 * deb_index_add_file instead, as a mirror's Packages.xz does.  Debian
 * control files (a .deb's control) are stanzas of the same grammar.
 *
 *   make fuzz CC=clang && build-fuzz/fuzz/fuzz_packages corpus/
 *   cc ... -o replay tests/fuzz/fuzz_packages.c libpgimg.a && ./replay crash-file
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/deb_index.h"
#include "builder/deb_resolve.h"
#include "common/fsutil.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
compressed (const uint8_t *data, size_t size)
{
        return (size >= 6 && memcmp (data, "\xfd" "7zXZ\0", 6) == 0) || (size >= 2 && memcmp (data, "\x1f\x8b", 2) == 0)
               || (size >= 4 && memcmp (data, "\x28\xb5\x2f\xfd", 4) == 0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        struct deb_index idx = DEB_INDEX_INIT;
        pgimg_error_t err = NULL;
        size_t *out = NULL, n = 0;

        if (compressed (data, size)) {
                char *path = fuzz_file ("Packages.xz", data, size);
                deb_index_add_file (&idx, path, "http://m", "http://snapshot", &err);
                free (path);
        } else {
                deb_index_add (&idx, (const char *) data, size, "http://m", NULL, &err);
        }
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
