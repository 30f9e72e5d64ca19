/* fuzz_lease.c - a lease on a layer key, as another builder (or anyone
 * who can push to the cache's repository) wrote it: what the parser
 * accepts must fit the fields a lease is written back with.
 *
 *   make fuzz CC=clang && build-fuzz/fuzz/fuzz_lease tests/fuzz/corpus/fuzz_lease/
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/sha256.h"
#include "registry/registry.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        struct registry_lease l;
        pgimg_error_t err = NULL;

        if (registry_lease_parse ((const char *) data, size, &l, &err) == 0) {
                if (!sha256_hex_valid (l.key) || l.holder[0] == '\0' || l.cache[0] == '\0'
                    || strlen (l.holder) >= sizeof (l.holder) || strlen (l.cache) >= sizeof (l.cache)
                    || strchr (l.cache, ' ') || l.expires < 0)
                        abort ();
        }
        pgimg_error_free (&err);
        return 0;
}

#include "tests/fuzz/replay.h"
