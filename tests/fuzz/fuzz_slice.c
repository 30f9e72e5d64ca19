/* fuzz_slice.c - what `pgimg list --extensions --slice` reads: the
 * first byte picks one, the rest is its input.
 *   0: the I/N of --slice; what it accepts must be 1 <= I <= N <= 1024,
 *      and the slices of a few items must then cover each once
 *   1: a build-time record of the cache (builder/ext_times.h)
 *
 *   make fuzz CC=clang && build-fuzz/fuzz/fuzz_slice tests/fuzz/corpus/fuzz_slice/
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/ext_times.h"
#include "common/slice.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_slice (const char *s)
{
        static const char *const names[] = { "a", "b", "c", "d", "e" };
        static const double weights[] = { 3, 1, 4, 1, 5 };
        struct slice_spec spec;
        pgimg_error_t err = NULL;
        unsigned of[5];

        if (slice_parse (s, &spec, &err) < 0) {
                if (err == NULL || err->msg == NULL || strchr (err->msg, '\n'))
                        abort ();
                pgimg_error_free (&err);
                return;
        }
        if (spec.index < 1 || spec.index > spec.count || spec.count > SLICE_MAX)
                abort ();
        if (slice_assign (names, weights, 5, spec.count, of, &err) < 0)
                abort ();
        for (size_t i = 0; i < 5; i++)
                if (of[i] >= spec.count)
                        abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        double seconds;

        if (size < 1)
                return 0;
        if (data[0] % 2 == 1) {
                /* A record is bytes from a file: NULs included. */
                if (ext_times_parse ((const char *) data + 1, size - 1, &seconds) == 0
                    && (seconds < 0 || seconds > 7 * 24 * 3600))
                        abort ();
                return 0;
        }
        /* An argument is a C string: up to its first NUL. */
        char *s = strndup ((const char *) data + 1, size - 1);
        if (s != NULL)
                check_slice (s);
        free (s);
        return 0;
}

#include "tests/fuzz/replay.h"
