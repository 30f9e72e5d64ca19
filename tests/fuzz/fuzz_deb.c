/* fuzz_deb.c - a .deb (an ar archive holding control.tar.* and
 * data.tar.*, as a mirror or an extension recipe's URL serves it):
 * its control file read, then its data unpacked into a scratch root,
 * which is emptied after each input.  Nothing may land outside that
 * root; this target checks only that no input crashes or leaks.
 *
 *   tools/fuzz.sh 60 fuzz_deb
 *   make build/tests/fuzz/fuzz_deb && build/tests/fuzz/fuzz_deb crash-file
 */
#include <stdint.h>
#include <stdlib.h>

#include "builder/deb.h"
#include "common/buf.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        char *path = fuzz_file ("in.deb", data, size);
        char *root = fuzz_path ("root");
        struct buf control = BUF_INIT;
        pgimg_error_t err = NULL;
        /* As an image's layer unpacks it: its dpkg status file too. */
        const struct deb_unpack_opts opts = { NULL, NULL, NULL, 1 };

        if (deb_read_control (path, &control, &err) < 0)
                pgimg_error_free (&err);
        if (mkdir (root, 0755) == 0 && deb_unpack (path, root, &opts, &err) < 0)
                pgimg_error_free (&err);
        fuzz_rm (root);
        buf_release (&control);
        free (root);
        free (path);
        return 0;
}

#include "tests/fuzz/replay.h"
