#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/proc.h"
#include "runner/engine.h"

/* engine_docker.c - the Docker Engine as an engine: docker load, run,
 * exec, stop, rm, rmi. */

struct docker_engine {
        char *image_ref;        /* what the engine knows the image as */
        char *container;        /* its container's name */
        char *password;         /* POSTGRES_PASSWORD, random, never printed */
        int loaded;
};

static int
oom (pgimg_error_t *err)
{
        return pgimg_make_error_errno (err, ENOMEM, "container");
}

/* argv of docker (NULL-terminated), run; output kept in out/errout. */
static int
docker (char *const argv[], const char *stdin_path, struct buf *out, struct buf *errout,
        int *status, pgimg_error_t *err)
{
        if (proc_run (argv, stdin_path, out, errout, status, err) < 0)
                return pgimg_error_wrap (err, "the Docker Engine (is `docker` installed and the daemon running?)");
        return 0;
}

static int
exited_ok (int status)
{
        return WIFEXITED (status) && WEXITSTATUS (status) == 0;
}

/* The last line of a command's stderr, for a one-line error. */
static const char *
last_line (struct buf *b)
{
        char *p;

        if (b->data == NULL || b->len == 0)
                return "no output";
        while (b->len > 0 && (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == '\r'))
                b->data[--b->len] = '\0';
        p = strrchr (b->data, '\n');
        return p ? p + 1 : b->data;
}

static int
wait_ready (struct docker_engine *e, int timeout_s, pgimg_error_t *err)
{
        char *const ready[] = { (char *) "docker", (char *) "exec", e->container, (char *) "pg_isready",
                                (char *) "-q", (char *) "-h", (char *) "127.0.0.1", NULL };
        char *const running[] = { (char *) "docker", (char *) "inspect", (char *) "-f",
                                  (char *) "{{.State.Running}}", e->container, NULL };
        struct timespec start, now, tick = { 0, 100 * 1000 * 1000 };

        clock_gettime (CLOCK_MONOTONIC, &start);
        for (;;) {
                cleanup_buf struct buf out = BUF_INIT_MAX (4096);
                int status;

                if (docker (ready, NULL, NULL, NULL, &status, err) < 0)
                        return -1;
                if (exited_ok (status))
                        return 0;
                if (docker (running, NULL, &out, NULL, &status, err) < 0)
                        return -1;
                if (!exited_ok (status) || out.data == NULL || strncmp (out.data, "true", 4) != 0)
                        break;
                clock_gettime (CLOCK_MONOTONIC, &now);
                if (now.tv_sec - start.tv_sec > timeout_s)
                        return pgimg_make_error (err, ETIMEDOUT,
                                                 "container `%s`: the server did not accept connections within %d s (see `docker logs %s`)",
                                                 e->container, timeout_s, e->container);
                nanosleep (&tick, NULL);
        }
        {
                char *const logs[] = { (char *) "docker", (char *) "logs", (char *) "--tail", (char *) "5",
                                       e->container, NULL };
                cleanup_buf struct buf out = BUF_INIT_MAX (1 << 16);
                cleanup_buf struct buf errout = BUF_INIT_MAX (1 << 16);
                int status;
                if (docker (logs, NULL, &out, &errout, &status, err) < 0)
                        return -1;
                return pgimg_make_error (err, EIO, "container `%s` stopped before the server was ready: %s",
                                         e->container, last_line (&errout));
        }
}

static int docker_exec (struct engine *eng, const char *const *argv, const char *stdin_path,
                        struct buf *out, struct buf *errout, int *status, pgimg_error_t *err);
static int docker_stop (struct engine *eng, pgimg_error_t *err);
static void docker_free (struct engine *eng);

static const struct engine_ops docker_ops = { docker_exec, docker_stop, docker_free };

int
engine_docker_start (struct engine *eng, const char *tarball, const char *ref, const char *arch,
                     const char *const *server_args, int timeout_s, pgimg_error_t *err)
{
        struct docker_engine *e = calloc (1, sizeof (*e));
        char pw[25];
        cleanup_free char *env_pw = NULL;
        cleanup_free char *platform = NULL;
        cleanup_buf struct buf errout = BUF_INIT_MAX (1 << 16);
        char *argv[64];
        size_t n = 0;
        int status;

        if (e == NULL)
                return oom (err);
        eng->ops = &docker_ops;
        eng->impl = e;
        if (engine_random_password (pw, err) < 0)
                return -1;
        e->password = strdup (pw);
        e->image_ref = strdup (ref);
        if (e->password == NULL || e->image_ref == NULL
            || asprintf (&e->container, "pgimg-test-%ld", (long) getpid ()) < 0
            || asprintf (&env_pw, "POSTGRES_PASSWORD=%s", pw) < 0
            || asprintf (&platform, "linux/%s", arch ? arch : "amd64") < 0) {
                e->container = NULL;
                return oom (err);
        }
        {
                char *const load[] = { (char *) "docker", (char *) "load", (char *) "-q", (char *) "-i",
                                       (char *) tarball, NULL };
                if (docker (load, NULL, NULL, &errout, &status, err) < 0)
                        return -1;
                if (!exited_ok (status))
                        return pgimg_make_error (err, EIO, "docker load `%s`: %s", tarball, last_line (&errout));
                e->loaded = 1;
        }
        argv[n++] = (char *) "docker";
        argv[n++] = (char *) "run";
        argv[n++] = (char *) "-d";
        argv[n++] = (char *) "--name";
        argv[n++] = e->container;
        argv[n++] = (char *) "-e";
        argv[n++] = env_pw;
        if (arch != NULL && strcmp (arch, "amd64") != 0) {
                argv[n++] = (char *) "--platform";
                argv[n++] = platform;
        }
        argv[n++] = e->image_ref;
        argv[n++] = (char *) "postgres";
        for (size_t i = 0; server_args && server_args[i] && n < 62; i++)
                argv[n++] = (char *) server_args[i];
        argv[n] = NULL;
        buf_release (&errout);
        if (docker (argv, NULL, NULL, &errout, &status, err) < 0)
                return -1;
        if (!exited_ok (status))
                return pgimg_make_error (err, EIO, "docker run `%s`: %s", ref, last_line (&errout));
        return wait_ready (e, timeout_s, err);
}

static int
docker_exec (struct engine *eng, const char *const *argv, const char *stdin_path, struct buf *out,
             struct buf *errout, int *status, pgimg_error_t *err)
{
        struct docker_engine *e = eng->impl;
        char *full[64];
        size_t n = 0;

        full[n++] = (char *) "docker";
        full[n++] = (char *) "exec";
        /* The image starts as root (its entrypoint steps down); the
         * client runs as the image's postgres user, as the server does. */
        full[n++] = (char *) "--user";
        full[n++] = (char *) "postgres";
        if (stdin_path)
                full[n++] = (char *) "-i";
        full[n++] = e->container;
        for (size_t i = 0; argv[i]; i++) {
                if (n >= 63)
                        return pgimg_make_error (err, E2BIG, "container: too many arguments");
                full[n++] = (char *) argv[i];
        }
        full[n] = NULL;
        return docker (full, stdin_path, out, errout, status, err);
}

static int
docker_stop (struct engine *eng, pgimg_error_t *err)
{
        struct docker_engine *e = eng->impl;
        int status, rc = 0;

        if (e->container) {
                /* SIGINT: PostgreSQL's fast shutdown, the image's StopSignal. */
                char *const stop[] = { (char *) "docker", (char *) "stop", (char *) "-t", (char *) "30",
                                       e->container, NULL };
                char *const rm[] = { (char *) "docker", (char *) "rm", (char *) "-f", e->container, NULL };
                rc = docker (stop, NULL, NULL, NULL, &status, err);
                if (rc == 0)
                        rc = docker (rm, NULL, NULL, NULL, &status, err);
        }
        if (rc == 0 && e->loaded) {
                char *const rmi[] = { (char *) "docker", (char *) "rmi", e->image_ref, NULL };
                rc = docker (rmi, NULL, NULL, NULL, &status, err);
                e->loaded = 0;
        }
        return rc;
}

static void
docker_free (struct engine *eng)
{
        struct docker_engine *e = eng->impl;

        free (e->image_ref);
        free (e->container);
        if (e->password) {
                explicit_bzero (e->password, strlen (e->password));
                free (e->password);
        }
        free (e);
}
