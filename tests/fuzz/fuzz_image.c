/* fuzz_image.c - an image tarball (docker-archive and OCI layout at
 * once, as `pgimg build` writes and run, test, migration-test and push
 * read): oci_read_image into a scratch blob store, emptied after each
 * input.
 *
 *   tools/fuzz.sh 60 fuzz_image
 *   make build/tests/fuzz/fuzz_image && build/tests/fuzz/fuzz_image crash-file
 * tests/fuzz/seed-image.py makes the seeds in corpus/fuzz_image/.
 */
#include <stdint.h>
#include <stdlib.h>

#include "oci/read.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        char *path = fuzz_file ("image.tar", data, size);
        char *store = fuzz_path ("store");
        pgimg_error_t err = NULL;
        struct oci_read r;

        if (mkdir (store, 0755) < 0)
                abort ();
        if (oci_read_image (path, store, &r, &err) == 0 && (r.n_layers == 0 || r.env == NULL))
                abort ();
        oci_read_free (&r);
        pgimg_error_free (&err);
        fuzz_rm (store);
        free (store);
        free (path);
        return 0;
}

#include "tests/fuzz/replay.h"
