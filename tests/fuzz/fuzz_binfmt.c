/* fuzz_binfmt.c - a binfmt_misc entry's text, which pgimg reads to tell
 * whether this machine runs linux/arm64 images through qemu-user
 * (platform_binfmt_usable): any bytes, NULs and unended lines among
 * them, give an answer of 0 or 1, and one that says usable has the
 * line "enabled" and a flags line with F.
 *
 *   make fuzz CC=clang && build-fuzz/fuzz/fuzz_binfmt tests/fuzz/corpus/fuzz_binfmt/
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runner/platform.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        /* A copy of exactly size bytes: a read past it is caught. */
        char *s = malloc (size ? size : 1);
        int r;

        if (s == NULL)
                return 0;
        memcpy (s, data, size);
        r = platform_binfmt_usable (s, size);
        if (r != 0 && r != 1)
                abort ();
        if (r == 1 && (size < 7 || memmem (s, size, "enabled", 7) == NULL || memmem (s, size, "flags:", 6) == NULL))
                abort ();
        free (s);
        return 0;
}

#include "tests/fuzz/replay.h"
