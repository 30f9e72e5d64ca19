/* cleanup.h - scope-bound release of resources (bubblewrap, crun).
 *
 *   cleanup_free char *path = NULL;
 *   cleanup_fd int fd = -1;
 *   return steal_pointer (&path);     hands ownership out
 *
 * Helpers for library types live with that library's error converter in
 * common/libjson.h, libarchive.h, libssl.h and libcurl.h, which only the
 * modules that use the library include.
 */
#ifndef PGIMG_CLEANUP_H
#define PGIMG_CLEANUP_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dirent.h>

static inline void
cleanup_freep (void *p)
{
        void **pp = (void **) p;
        free (*pp);
}

static inline void
cleanup_fdp (int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                close (*fd);
                errno = saved;
        }
}

static inline void
cleanup_filep (FILE **f)
{
        if (*f != NULL)
                fclose (*f);
}

static inline void
cleanup_dirp (DIR **d)
{
        if (*d != NULL)
                closedir (*d);
}

/* A child that is still running when its pid goes out of scope is killed
 * and reaped: nothing pgimg starts can outlive its caller. */
static inline void
cleanup_pidp (pid_t *pid)
{
        if (*pid > 0) {
                int saved = errno;
                kill (*pid, SIGKILL);
                while (waitpid (*pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                errno = saved;
        }
}

/* Free a NULL-terminated array of strings and the strings. */
static inline void
strv_free (char **v)
{
        if (v == NULL)
                return;
        for (char **p = v; *p; p++)
                free (*p);
        free (v);
}

static inline void
cleanup_strvp (char ***v)
{
        strv_free (*v);
}

#define cleanup_free __attribute__ ((cleanup (cleanup_freep)))
#define cleanup_fd __attribute__ ((cleanup (cleanup_fdp)))
#define cleanup_file __attribute__ ((cleanup (cleanup_filep)))
#define cleanup_dir __attribute__ ((cleanup (cleanup_dirp)))
#define cleanup_pid __attribute__ ((cleanup (cleanup_pidp)))
#define cleanup_strv __attribute__ ((cleanup (cleanup_strvp)))

static inline void *
steal_pointer_ (void *pp)
{
        void **p = (void **) pp;
        void *r = *p;
        *p = NULL;
        return r;
}
#define steal_pointer(pp) steal_pointer_ (pp)

static inline int
steal_fd (int *fd)
{
        int r = *fd;
        *fd = -1;
        return r;
}

#endif
