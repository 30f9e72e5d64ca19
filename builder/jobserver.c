/* jobserver.c - the token pool of concurrent build steps (jobserver.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/jobserver.h"
#include "common/fsutil.h"

/* A step's script is run as `sh -euc`; these functions shadow make and
 * cmake in it.  GNU make takes a -jN given on its command line over
 * MAKEFLAGS and then makes a pool of its own ("-jN forced in submake:
 * resetting jobserver mode"), so the -jN of the scripts, which stays
 * for a step run alone, goes.  `cmake --build` would pass its -j N to
 * make the same way; without it, make finds the pool in MAKEFLAGS. */
static const char prelude[] =
        "make () {\n"
        "  case ${1-} in -j*) shift ;; esac\n"
        "  command make \"$@\"\n"
        "}\n"
        "cmake () {\n"
        "  if [ \"${1-}\" = --build ] && [ $# -ge 2 ]; then\n"
        "    _pgimg_dir=$2; shift 2\n"
        "    case ${1-} in -j) shift; [ $# -gt 0 ] && shift ;; -j*) shift ;; esac\n"
        "    set -- --build \"$_pgimg_dir\" \"$@\"\n"
        "  fi\n"
        "  command cmake \"$@\"\n"
        "}\n";

const char *
jobserver_script_prelude (void)
{
        return prelude;
}

int
jobserver_open (const char *cache_dir, int tokens, struct jobserver *js, pgimg_error_t *err)
{
        char fill[256];

        *js = (struct jobserver) JOBSERVER_INIT;
        if (tokens < 1)
                tokens = 1;
        if (tokens > (int) sizeof (fill))
                tokens = (int) sizeof (fill);
        if (fs_work_dir (cache_dir, "jobserver", &js->dir, err) < 0)
                return -1;
        if (asprintf (&js->fifo, "%s/fifo", js->dir) < 0) {
                js->fifo = NULL;
                jobserver_close (js);
                return pgimg_make_error_errno (err, ENOMEM, "jobserver");
        }
        if (mkfifo (js->fifo, 0600) < 0) {
                int e = errno;
                jobserver_close (js);
                return pgimg_make_error_errno (err, e, "jobserver: mkfifo `%s`", js->fifo);
        }
        /* Read and write: opening does not wait for the other end, and
         * the pool lives as long as this descriptor. */
        js->fd = open (js->fifo, O_RDWR | O_CLOEXEC);
        if (js->fd < 0) {
                int e = errno;
                jobserver_close (js);
                return pgimg_make_error_errno (err, e, "jobserver: open `%s`", js->fifo);
        }
        memset (fill, '+', (size_t) tokens);
        if (fs_write_all (js->fd, fill, (size_t) tokens) < 0) {
                int e = errno;
                jobserver_close (js);
                return pgimg_make_error_errno (err, e, "jobserver: fill `%s`", js->fifo);
        }
        js->tokens = tokens;
        snprintf (js->makeflags, sizeof (js->makeflags), "MAKEFLAGS=-j%d --jobserver-auth=fifo:%s", tokens,
                  JOBSERVER_SANDBOX_PATH);
        return 0;
}

int
jobserver_take (const struct jobserver *js, char *token, pgimg_error_t *err)
{
        ssize_t n;

        while ((n = read (js->fd, token, 1)) != 1)
                if (n == 0 || errno != EINTR)
                        return pgimg_make_error_errno (err, n == 0 ? EPIPE : errno,
                                                       "jobserver: take a token from `%s`", js->fifo);
        return 0;
}

int
jobserver_give (const struct jobserver *js, char token, pgimg_error_t *err)
{
        if (fs_write_all (js->fd, &token, 1) < 0)
                return pgimg_make_error_errno (err, errno, "jobserver: give a token back to `%s`", js->fifo);
        return 0;
}

int
jobserver_free_tokens (const struct jobserver *js, pgimg_error_t *err)
{
        int n = 0;

        if (ioctl (js->fd, FIONREAD, &n) < 0)
                return pgimg_make_error_errno (err, errno, "jobserver: count the tokens of `%s`", js->fifo);
        return n;
}

void
jobserver_close (struct jobserver *js)
{
        if (js->fd >= 0)
                close (js->fd);
        if (js->dir)
                fs_drop_temp_dir (js->dir);
        free (js->dir);
        free (js->fifo);
        *js = (struct jobserver) JOBSERVER_INIT;
}
