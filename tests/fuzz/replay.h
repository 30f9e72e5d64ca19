/* replay.h - the main of a fuzz target built without libFuzzer: feed
 * each file named on the command line to LLVMFuzzerTestOneInput once, so
 * that a saved crash can be replayed under ASan with any compiler.
 * Include it last in a fuzz target; libFuzzer brings its own main. */
#ifndef PGIMG_FUZZ_REPLAY_H
#define PGIMG_FUZZ_REPLAY_H
#ifndef PGIMG_LIBFUZZER

#include <stdint.h>
#include <stdio.h>

#include "common/buf.h"
#include "common/fsutil.h"

int
main (int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                struct buf b = BUF_INIT;
                pgimg_error_t err = NULL;

                if (fs_read_file (argv[i], 0, &b, &err) < 0) {
                        fprintf (stderr, "%s: %s\n", argv[0], err->msg);
                        pgimg_error_free (&err);
                        return 1;
                }
                LLVMFuzzerTestOneInput ((const uint8_t *) (b.data ? b.data : ""), b.len);
                buf_release (&b);
                fprintf (stderr, "replayed %s\n", argv[i]);
        }
        return 0;
}

#endif
#endif
