/* fuzz_ext_image.c - an extension's control or SQL file, as
 * `pgimg build extension` rewrites and reads it: `$libdir/` taken out
 * (the result is exactly that much shorter), then the control file's
 * default_version (one quoted value: no quote or newline in it).
 *
 *   make fuzz CC=clang && build-fuzz/fuzz/fuzz_ext_image tests/fuzz/corpus/fuzz_ext_image/
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/ext_image.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        struct buf out = BUF_INIT;
        char *version = NULL;
        int n = ext_image_strip_libdir ((const char *) data, size, &out);

        if (n >= 0 && out.len != size - 8 * (size_t) n)
                abort ();
        if (ext_image_control_version ((const char *) data, size, &version) == 0 && version
            && (strchr (version, '\'') || strchr (version, '\n')))
                abort ();
        free (version);
        buf_release (&out);
        return 0;
}

#include "tests/fuzz/replay.h"
