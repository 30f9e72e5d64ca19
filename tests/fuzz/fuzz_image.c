/* fuzz_image.c - an image tarball (docker-archive and OCI layout at
 * once, as `pgimg build` writes and `pgimg run IMAGE.tar` reads):
 * unpacked with layer_extract into a scratch directory, then read with
 * oci_read_layout, as cli_image_from_path does.  The scratch directory
 * is emptied after each input.
 *
 *   tools/fuzz.sh 60 fuzz_image
 *   make build/tests/fuzz/fuzz_image && build/tests/fuzz/fuzz_image crash-file
 * tests/fuzz/seed-image.py makes the seeds in corpus/fuzz_image/.
 */
#include <stdint.h>
#include <stdlib.h>

#include "layers/layer.h"
#include "oci/read.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        char *path = fuzz_file ("image.tar", data, size);
        char *root = fuzz_path ("image");
        pgimg_error_t err = NULL;
        struct oci_read r;

        if (mkdir (root, 0755) == 0 && layer_extract (path, root, NULL, &err) == 0) {
                oci_read_layout (root, &r, &err);
                oci_read_free (&r);
        }
        pgimg_error_free (&err);
        fuzz_rm (root);
        free (root);
        free (path);
        return 0;
}

#include "tests/fuzz/replay.h"
