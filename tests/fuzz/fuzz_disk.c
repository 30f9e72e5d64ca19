/* fuzz_disk.c - the command line's disk options: the first byte picks
 * one, the rest is its input.
 *   0: --disk-size; what it accepts is a whole number of MiB, above 0
 *      and at most 64 TiB, and the error is one line
 *   1: --disk-format; what it accepts has a name that parses back to it
 *
 *   make fuzz CC=clang && build-fuzz/fuzz/fuzz_disk tests/fuzz/corpus/fuzz_disk/
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/disk.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        pgimg_error_t err = NULL;
        enum disk_format f, back;
        uint64_t mib = 0;
        char *s;

        if (size < 1 || (s = malloc (size)) == NULL)
                return 0;
        memcpy (s, data + 1, size - 1);
        s[size - 1] = '\0';
        if (data[0] % 2 == 0) {
                if (disk_size_parse (s, &mib, &err) == 0 && (mib == 0 || mib > (64ull << 20)))
                        abort ();
        } else if (disk_format_parse (s, &f, &err) == 0
                   && (disk_format_parse (disk_format_name (f), &back, &err) < 0 || back != f))
                abort ();
        if (err != NULL && strchr (err->msg, '\n') != NULL)
                abort ();
        pgimg_error_free (&err);
        free (s);
        return 0;
}

#include "tests/fuzz/replay.h"
