/* fuzz_left_out.c - what `pgimg matrix` reads from extensions/left-out.tsv.
 * An error is one line; on success every package is a Debian source
 * name, named once, in order, and no reason can break the Markdown
 * table it is written into (no '|', tab or newline).
 *
 *   make fuzz CC=clang && build-fuzz/fuzz/fuzz_left_out tests/fuzz/corpus/fuzz_left_out/
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runner/left_out.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        struct left_out *lo = NULL;
        pgimg_error_t err = NULL;
        size_t n = 0;

        if (left_out_parse ((const char *) data, size, "left-out.tsv", &lo, &n, &err) < 0) {
                if (err == NULL || err->msg == NULL || strchr (err->msg, '\n') || lo != NULL)
                        abort ();
                pgimg_error_free (&err);
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                if (lo[i].package[0] == '\0' || strspn (lo[i].package, "abcdefghijklmnopqrstuvwxyz0123456789+-.")
                                                        != strlen (lo[i].package))
                        abort ();
                if (lo[i].reason[0] == '\0' || strpbrk (lo[i].reason, "|\t\r\n"))
                        abort ();
                if (i > 0 && strcmp (lo[i - 1].package, lo[i].package) >= 0)
                        abort ();
        }
        left_out_free (lo, n);
        return 0;
}

#include "tests/fuzz/replay.h"
