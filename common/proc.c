#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/proc.h"

extern char **environ;

int
proc_run (char *const argv[], const char *stdin_path, struct buf *out, struct buf *errout,
          int *status, pgimg_error_t *err)
{
        cleanup_fd int out_r = -1, out_w = -1, err_r = -1, err_w = -1;
        cleanup_pid pid_t pid = -1;
        posix_spawn_file_actions_t fa;
        int pipes[2], r;

        if (pipe2 (pipes, O_CLOEXEC) < 0)
                return pgimg_make_error_errno (err, errno, "pipe");
        out_r = pipes[0], out_w = pipes[1];
        if (pipe2 (pipes, O_CLOEXEC) < 0)
                return pgimg_make_error_errno (err, errno, "pipe");
        err_r = pipes[0], err_w = pipes[1];
        if ((r = posix_spawn_file_actions_init (&fa)) != 0)
                return pgimg_make_error_errno (err, r, "run %s", argv[0]);
        posix_spawn_file_actions_addopen (&fa, 0, stdin_path ? stdin_path : "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2 (&fa, out_w, 1);
        posix_spawn_file_actions_adddup2 (&fa, err_w, 2);
        r = posix_spawnp (&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy (&fa);
        if (r != 0) {
                pid = -1;
                return pgimg_make_error_errno (err, r, "run %s", argv[0]);
        }
        close (steal_fd (&out_w));
        close (steal_fd (&err_w));

        /* Both pipes at once: a child blocked on a full stderr would
         * never finish its stdout. */
        struct pollfd pfd[2] = { { out_r, POLLIN, 0 }, { err_r, POLLIN, 0 } };
        struct buf *dest[2] = { out, errout };
        int open_fds = 2;
        while (open_fds > 0) {
                char block[16384];
                if (poll (pfd, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return pgimg_make_error_errno (err, errno, "run %s: poll", argv[0]);
                }
                for (int i = 0; i < 2; i++) {
                        if (pfd[i].fd < 0 || pfd[i].revents == 0)
                                continue;
                        ssize_t n = read (pfd[i].fd, block, sizeof (block));
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                return pgimg_make_error_errno (err, errno, "run %s: read", argv[0]);
                        if (n == 0) {
                                pfd[i].fd = -1;
                                open_fds--;
                                continue;
                        }
                        if (dest[i] != NULL && buf_add (dest[i], block, (size_t) n) < 0)
                                return pgimg_make_error_errno (err, errno, "run %s: output", argv[0]);
                }
        }
        while (waitpid (pid, status, 0) < 0)
                if (errno != EINTR)
                        return pgimg_make_error_errno (err, errno, "run %s: wait", argv[0]);
        pid = -1;
        return 0;
}

