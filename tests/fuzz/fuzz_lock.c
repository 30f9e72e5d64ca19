/* fuzz_lock.c - a lock file (lock/<suite>-<arch>.lock.json) through
 * lock_load, then what `pgimg build` asks of it: each set's digest and
 * the lookup of each package it names.  Any bytes give a lock or an
 * error, never a crash or a leak.
 *
 *   tools/fuzz.sh 60 fuzz_lock
 *   make build/tests/fuzz/fuzz_lock && build/tests/fuzz/fuzz_lock crash-file
 */
#include <stdint.h>
#include <stdlib.h>

#include "builder/lock.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        char *path = fuzz_file ("lock.json", data, size);
        struct lock lock = { 0 };
        pgimg_error_t err = NULL;

        if (lock_load (path, &lock, &err) == 0) {
                for (size_t i = 0; i < lock.n_sets; i++) {
                        char hex[SHA256_HEX_LEN + 1];
                        if (lock_set_digest (&lock, lock.sets[i].name, hex, &err) < 0)
                                pgimg_error_free (&err);
                        for (size_t j = 0; j < lock.sets[i].n; j++)
                                lock_find (&lock, lock.sets[i].packages[j]);
                }
        } else if (err == NULL || err->msg == NULL) {
                abort ();
        }
        pgimg_error_free (&err);
        lock_free (&lock);
        free (path);
        return 0;
}

#include "tests/fuzz/replay.h"
