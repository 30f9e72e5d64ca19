/* engine.c - what the engines share: the calls through the interface. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "runner/engine.h"

int
engine_exec (struct engine *e, const char *const *argv, const char *stdin_path, struct buf *out,
             struct buf *errout, int *status, pgimg_error_t *err)
{
        if (e->ops == NULL)
                return pgimg_make_error (err, EINVAL, "container: not started");
        return e->ops->exec (e, argv, stdin_path, out, errout, status, err);
}

int
engine_stop (struct engine *e, pgimg_error_t *err)
{
        if (e->ops == NULL || e->impl == NULL)
                return 0;
        return e->ops->stop (e, err);
}

void
engine_free (struct engine *e)
{
        if (e->ops != NULL && e->impl != NULL)
                e->ops->free (e);
        e->ops = NULL;
        e->impl = NULL;
}

int
engine_random_password (char out[25], pgimg_error_t *err)
{
        unsigned char raw[12];
        cleanup_fd int fd = open ("/dev/urandom", O_RDONLY | O_CLOEXEC);

        if (fd < 0 || read (fd, raw, sizeof (raw)) != (ssize_t) sizeof (raw))
                return pgimg_make_error_errno (err, errno, "read /dev/urandom");
        for (size_t i = 0; i < sizeof (raw); i++)
                snprintf (out + 2 * i, 3, "%02x", raw[i]);
        return 0;
}
