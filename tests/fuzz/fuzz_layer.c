/* fuzz_layer.c - a layer blob (a tar, plain or compressed with gzip or
 * zstd), unpacked by layer_extract_fd into a scratch root as the runtime
 * unpacks an image's layers; the root is emptied after each input.  An
 * image's layers are checked against their digests before they are
 * unpacked, so fuzz_image never gets this far with a mutated layer.
 *
 *   tools/fuzz.sh 60 fuzz_layer
 *   make build/tests/fuzz/fuzz_layer && build/tests/fuzz/fuzz_layer crash-file
 * tests/fuzz/seed-image.py makes the seeds in corpus/fuzz_layer/.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "layers/layer.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        char *path = fuzz_file ("layer", data, size);
        char *root = fuzz_path ("root");
        pgimg_error_t err = NULL;
        int fd = open (path, O_RDONLY | O_CLOEXEC);

        if (fd < 0 || mkdir (root, 0755) < 0)
                abort ();
        layer_extract_fd (fd, "layer", NULL, root, NULL, &err);
        pgimg_error_free (&err);
        close (fd);
        fuzz_rm (root);
        free (root);
        free (path);
        return 0;
}

#include "tests/fuzz/replay.h"
