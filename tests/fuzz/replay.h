/* replay.h - the main of a fuzz target built without libFuzzer: feed
 * each file named on the command line, and each file of each directory
 * named there (a corpus), to LLVMFuzzerTestOneInput once, so that saved
 * inputs and crashes replay under ASan with any compiler (make
 * fuzz-replay).  A crash aborts; otherwise one line says how many
 * inputs were replayed.  Include it last in a fuzz target; libFuzzer
 * brings its own main. */
#ifndef PGIMG_FUZZ_REPLAY_H
#define PGIMG_FUZZ_REPLAY_H
#ifndef PGIMG_LIBFUZZER

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/fsutil.h"

static int
replay_file (const char *prog, const char *path)
{
        struct buf b = BUF_INIT;
        pgimg_error_t err = NULL;

        if (fs_read_file (path, 0, &b, &err) < 0) {
                fprintf (stderr, "%s: %s\n", prog, err->msg);
                pgimg_error_free (&err);
                return -1;
        }
        if (getenv ("FUZZ_REPLAY_VERBOSE"))
                fprintf (stderr, "%s: %s\n", prog, path);
        LLVMFuzzerTestOneInput ((const uint8_t *) (b.data ? b.data : ""), b.len);
        buf_release (&b);
        return 0;
}

/* Every regular file of dir, in name order so that a run is repeatable. */
static int
replay_dir (const char *prog, const char *dir, size_t *n)
{
        struct dirent **list = NULL;
        int count = scandir (dir, &list, NULL, alphasort), ret = 0;

        if (count < 0) {
                perror (dir);
                return -1;
        }
        for (int i = 0; i < count; i++) {
                char *path = NULL;
                struct stat st;

                if (ret == 0 && list[i]->d_name[0] != '.'
                    && asprintf (&path, "%s/%s", dir, list[i]->d_name) >= 0
                    && stat (path, &st) == 0 && S_ISREG (st.st_mode)) {
                        ret = replay_file (prog, path);
                        (*n)++;
                }
                free (path);
                free (list[i]);
        }
        free (list);
        return ret;
}

int
main (int argc, char **argv)
{
        const char *prog = strrchr (argv[0], '/') ? strrchr (argv[0], '/') + 1 : argv[0];
        size_t n = 0;

        for (int i = 1; i < argc; i++) {
                struct stat st;
                int r;

                if (stat (argv[i], &st) == 0 && S_ISDIR (st.st_mode))
                        r = replay_dir (prog, argv[i], &n);
                else
                        r = replay_file (prog, argv[i]), n++;
                if (r < 0)
                        return 1;
        }
        fprintf (stderr, "  FUZZ    %s: %zu inputs replayed\n", prog, n);
        return 0;
}

#endif
#endif
