/* engine_pgimg.c - pgimg's own runtime as an engine: the server in the
 * sandbox (runtime.h) on a free port of 127.0.0.1, each command in a
 * second sandbox over the same root, joined to the server's socket
 * directory, which only the caller can enter (TCP needs the random
 * password).  No Docker Engine is needed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "runner/engine.h"
#include "runner/runtime.h"

struct pgimg_engine {
        struct sandbox *server;
        char *rootfs;
        char *work_dir;
        char *socket_dir;
        char *hba;
        char *log;
        char **env;             /* the server's: the image's Env and the password */
        char **image_env;       /* the commands': the image's Env only */
        int port;
};

static int
oom (pgimg_error_t *err)
{
        return pgimg_make_error_errno (err, ENOMEM, "pgimg runtime");
}

/* A port nobody listens on now; the server takes it a moment later. */
static int
free_port (int *port, pgimg_error_t *err)
{
        struct sockaddr_in a = { .sin_family = AF_INET };
        socklen_t len = sizeof (a);
        cleanup_fd int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
        if (fd < 0 || bind (fd, (struct sockaddr *) &a, sizeof (a)) < 0
            || getsockname (fd, (struct sockaddr *) &a, &len) < 0)
                return pgimg_make_error_errno (err, errno, "find a free port on 127.0.0.1");
        *port = ntohs (a.sin_port);
        return 0;
}

/* The last non-empty line of the server's log, for a one-line error. */
static void
last_log_line (const char *log, char *out, size_t size)
{
        cleanup_buf struct buf b = BUF_INIT;
        pgimg_error_t ignored = NULL;
        char *p;

        snprintf (out, size, "no output");
        if (fs_read_file (log, 1 << 20, &b, &ignored) < 0 || b.data == NULL) {
                pgimg_error_free (&ignored);
                return;
        }
        while (b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == ' '))
                b.data[--b.len] = '\0';
        p = strrchr (b.data, '\n');
        snprintf (out, size, "%s", p ? p + 1 : b.data);
}

static int pgimg_exec (struct engine *eng, const char *const *argv, const char *stdin_path,
                       struct buf *out, struct buf *errout, int *status, pgimg_error_t *err);
static int pgimg_stop (struct engine *eng, pgimg_error_t *err);
static void pgimg_free (struct engine *eng);

static const struct engine_ops pgimg_ops = { pgimg_exec, pgimg_stop, pgimg_free };

int
engine_pgimg_start (struct engine *eng, const struct engine_pgimg_image *img,
                    const char *const *server_args, int timeout_s, pgimg_error_t *err)
{
        struct pgimg_engine *e = calloc (1, sizeof (*e));
        cleanup_free char *data = NULL;
        cleanup_free char *pw = NULL;
        cleanup_fd int log_fd = -1;
        char hex[25], line[256];
        const char *over[2] = { NULL, NULL };
        int code;

        if (e == NULL)
                return oom (err);
        eng->ops = &pgimg_ops;
        eng->impl = e;
        if ((e->work_dir = strdup (img->work_dir)) == NULL || asprintf (&data, "%s/data", img->work_dir) < 0
            || asprintf (&e->socket_dir, "%s/socket", img->work_dir) < 0
            || asprintf (&e->hba, "%s/pg_hba.conf", img->work_dir) < 0
            || asprintf (&e->log, "%s/server.log", img->work_dir) < 0)
                return oom (err);
        if (runtime_rootfs (img->cache_dir, img->blob_dir, img->layers, img->n_layers, &e->rootfs, err) < 0)
                return -1;
        if (engine_random_password (hex, err) < 0 || asprintf (&pw, "POSTGRES_PASSWORD=%s", hex) < 0)
                return pw ? -1 : oom (err);
        explicit_bzero (hex, sizeof (hex));
        over[0] = pw;
        if (runtime_env_merge (img->env, over, &e->env, err) < 0
            || runtime_env_merge (img->env, NULL, &e->image_env, err) < 0)
                return -1;
        if (free_port (&e->port, err) < 0)
                return -1;
        log_fd = open (e->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (log_fd < 0)
                return pgimg_make_error_errno (err, errno, "create %s", e->log);
        {
                struct runtime_server srv = {
                        .rootfs = e->rootfs,
                        .volume = img->volume,
                        .data_dir = data,
                        .socket_dir = e->socket_dir,
                        .hba_file = e->hba,
                        .port = e->port,
                        .env = (const char *const *) e->env,
                        .args = server_args,
                        .stdout_fd = log_fd,
                        .stderr_fd = log_fd,
                };
                if (runtime_server_start (&srv, &e->server, err) < 0)
                        return -1;
        }
        if (runtime_wait_ready (e->server, e->port, timeout_s * 1000, &code, err) < 0) {
                last_log_line (e->log, line, sizeof (line));
                return pgimg_error_wrap (err, "pgimg runtime (%s: %s)", e->log, line);
        }
        /* The entrypoint has set it to 03775 (runtime.h). */
        return runtime_private_dir (e->socket_dir, err);
}

/* A file of work_dir that nobody else sees, for a command's output. */
static int
temp_output (const char *dir, pgimg_error_t *err)
{
        int fd = open (dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

        if (fd < 0)
                return pgimg_make_error_errno (err, errno, "temporary file in %s", dir);
        return fd;
}

static int
add_output (void *ctx, const void *data, size_t len, pgimg_error_t *err)
{
        if (buf_add (ctx, data, len) < 0)
                return pgimg_make_error_errno (err, errno, "command output");
        return 0;
}

static int
read_back (int fd, struct buf *into, pgimg_error_t *err)
{
        char chunk[65536];

        if (into == NULL)
                return 0;
        if (lseek (fd, 0, SEEK_SET) < 0)
                return pgimg_make_error_errno (err, errno, "command output");
        return fs_read_chunks (fd, chunk, sizeof (chunk), add_output, into, err, "command output");
}

static int
pgimg_exec (struct engine *eng, const char *const *argv, const char *stdin_path, struct buf *out,
            struct buf *errout, int *status, pgimg_error_t *err)
{
        struct pgimg_engine *e = eng->impl;
        cleanup_fd int in_fd = -1;
        cleanup_fd int out_fd = -1;
        cleanup_fd int err_fd = -1;
        int code;

        if (stdin_path && (in_fd = open (stdin_path, O_RDONLY | O_CLOEXEC)) < 0)
                return pgimg_make_error_errno (err, errno, "open %s", stdin_path);
        if ((out_fd = temp_output (e->work_dir, err)) < 0 || (err_fd = temp_output (e->work_dir, err)) < 0)
                return -1;
        {
                struct runtime_exec x = {
                        .rootfs = e->rootfs,
                        .socket_dir = e->socket_dir,
                        .port = e->port,
                        .env = (const char *const *) e->image_env,
                        .argv = argv,
                        .stdin_fd = in_fd,
                        .stdout_fd = out_fd,
                        .stderr_fd = err_fd,
                };
                if (runtime_exec (&x, &code, err) < 0)
                        return -1;
        }
        if (read_back (out_fd, out, err) < 0 || read_back (err_fd, errout, err) < 0)
                return -1;
        /* As waitpid would say it; the callers only read WEXITSTATUS. */
        *status = (code & 0xff) << 8;
        return 0;
}

static int
pgimg_stop (struct engine *eng, pgimg_error_t *err)
{
        struct pgimg_engine *e = eng->impl;
        int code;

        if (e->server == NULL || sandbox_pid (e->server) == 0)
                return 0;
        if (runtime_server_stop (e->server, &code, err) < 0)
                return -1;
        if (code != 0)
                return pgimg_make_error (err, EIO, "pgimg runtime: the server exited %d on shutdown (see %s)",
                                         code, e->log);
        return 0;
}

static void
pgimg_free (struct engine *eng)
{
        struct pgimg_engine *e = eng->impl;

        sandbox_free (e->server);
        free (e->rootfs);
        free (e->work_dir);
        free (e->socket_dir);
        free (e->hba);
        free (e->log);
        if (e->env)
                for (char **p = e->env; *p; p++)
                        explicit_bzero (*p, strlen (*p));
        strv_free (e->env);
        strv_free (e->image_env);
        free (e);
}
