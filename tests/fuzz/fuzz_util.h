/* fuzz_util.h - for targets whose parser takes a path rather than
 * bytes: a scratch directory (made once per process, removed at exit)
 * where the input is written as a file, and where a parser may unpack.
 * Include it before replay.h. */
#ifndef PGIMG_FUZZ_UTIL_H
#define PGIMG_FUZZ_UTIL_H

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"

static char fuzz_scratch_dir[4096];

static int
fuzz_make_writable (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        (void) ftw;
        if (type == FTW_D || type == FTW_DNR)
                chmod (path, (st->st_mode & 07777) | S_IRWXU);
        return 0;
}

/* Remove path, also when the input made directories without write or
 * search permission (as root that does not matter; fuzz.sh runs the
 * targets as nobody). */
static void
fuzz_rm (const char *path)
{
        pgimg_error_t err = NULL;
        struct stat st;

        if (lstat (path, &st) < 0)
                return;
        /* A directory that could not be read is made readable but not
         * entered: each pass opens one more level. */
        for (int pass = 0; fs_rm_rf (path, &err) < 0 && pass < 16 && S_ISDIR (st.st_mode); pass++) {
                pgimg_error_free (&err);
                chmod (path, 0700);
                nftw (path, fuzz_make_writable, 16, FTW_PHYS);
        }
        pgimg_error_free (&err);
}

static void
fuzz_scratch_remove (void)
{
        fuzz_rm (fuzz_scratch_dir);
}

/* "<scratch>/<name>", malloc'ed; aborts when the scratch cannot be made. */
static char *
fuzz_path (const char *name)
{
        char *path = NULL;

        if (fuzz_scratch_dir[0] == '\0') {
                const char *tmp = getenv ("TMPDIR") ? getenv ("TMPDIR") : "/tmp";
                snprintf (fuzz_scratch_dir, sizeof (fuzz_scratch_dir), "%s/pgimg-fuzz-XXXXXX", tmp);
                if (mkdtemp (fuzz_scratch_dir) == NULL) {
                        perror (fuzz_scratch_dir);
                        abort ();
                }
                atexit (fuzz_scratch_remove);
        }
        if (asprintf (&path, "%s/%s", fuzz_scratch_dir, name) < 0)
                abort ();
        return path;
}

/* The input as the file <scratch>/<name>; its path, malloc'ed. */
static char *
fuzz_file (const char *name, const uint8_t *data, size_t size)
{
        char *path = fuzz_path (name);
        int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd < 0 || fs_write_all (fd, data, size) < 0 || close (fd) < 0) {
                perror (path);
                abort ();
        }
        return path;
}

#endif
