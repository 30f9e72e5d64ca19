/* cmd_run.c - `pgimg run`, `pgimg stop` and `pgimg psql`: a PostgreSQL
 * image in pgimg's own rootless runtime (runner/runtime.h), no Docker
 * Engine needed.
 *
 * A run has a name and a directory, <cache>/run/NAME, mode 0700: data/
 * (the image's volume, unless --data), socket/ (bound at /run/postgresql,
 * mode 0700: only the caller reaches the socket), pg_hba.conf (pgimg's,
 * see runtime.h), state (the port and the root, for psql), log (a
 * detached server's output), pid (the supervising pgimg of a detached
 * server) and exit (its status).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "builder/build.h"
#include "builder/fetch.h"
#include "builder/pipeline.h"
#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/number.h"
#include "common/progress.h"
#include "oci/read.h"
#include "runner/runtime.h"

#define READY_TIMEOUT_MS (120 * 1000)

static void
help_run (void)
{
        printf ("usage: pgimg run [OPTIONS] postgres-MAJOR[.MINOR]|IMAGE.tar|OCI-DIR [-- POSTGRES-ARGS]\n"
                "\n"
                "Build the image (or take its layers from the cache), or read one that\n"
                "`pgimg build` wrote (a tarball or an OCI layout directory), and start it in\n"
                "pgimg's rootless namespaces: the server runs as the image's postgres user,\n"
                "listens on 127.0.0.1:PORT, keeps its data in <cache>/run/NAME/data (or\n"
                "--data), and its socket in <cache>/run/NAME/socket.  Only you can use the\n"
                "socket (no password); TCP always needs the password, whatever\n"
                "POSTGRES_HOST_AUTH_METHOD says.  In the foreground, Ctrl-C or SIGTERM\n"
                "shuts it down cleanly; -d returns once it is ready.\n"
                "\n"
                "  -d, --detach              run in the background; stop with `pgimg stop NAME`\n"
                "      --data DIR            the data directory (bound at the image's volume)\n"
                "  -e, --env KEY=VALUE       set an environment variable; repeatable\n"
                "      --name NAME           the run's name (default: the image, postgres-18, or\n"
                "                            the file's name without .tar)\n"
                "  -p, --port PORT           the port on 127.0.0.1 (default 5432)\n"
                "      --with EXT[@VER],...  add extensions; repeatable\n"
                "      --set NAME            add the extensions of images/NAME.json\n"
                "  -j, --jobs N              parallel make jobs for layers that must be built\n"
                "  -h, --help                this text\n"
                "\n"
                "Example:\n"
                "  pgimg run -d -e POSTGRES_PASSWORD=secret --port 5433 postgres-18\n"
                "  pgimg psql postgres-18 -- -c 'select version()'\n"
                "  pgimg stop postgres-18\n");
}

struct run_paths {
        char *dir, *data, *socket, *hba, *state, *log, *pid, *exit;
};

static void
run_paths_free (struct run_paths *p)
{
        free (p->dir);
        free (p->data);
        free (p->socket);
        free (p->hba);
        free (p->state);
        free (p->log);
        free (p->pid);
        free (p->exit);
}

static int
valid_name (const char *name)
{
        if (name[0] == '\0' || name[0] == '.' || strlen (name) > 64)
                return 0;
        for (const char *p = name; *p; p++)
                if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') && !(*p >= '0' && *p <= '9')
                    && *p != '-' && *p != '_' && *p != '.')
                        return 0;
        return 1;
}

static int
run_paths_init (const struct pgimg_ctx *ctx, const char *cmd, const char *name, const char *data,
                struct run_paths *p, pgimg_error_t *err)
{
        memset (p, 0, sizeof (*p));
        if (!valid_name (name))
                return cli_usage_error (err, cmd, "`%s` is not a run name (letters, digits, `-_.`)", name);
        /* --data is made now, so that its absolute path can be kept. */
        if (data != NULL) {
                if (fs_mkdir_p (data, 0700, err) < 0)
                        return pgimg_error_wrap (err, "%s: --data", cmd);
                if ((p->data = realpath (data, NULL)) == NULL)
                        return pgimg_make_error_errno (err, errno, "%s: --data %s", cmd, data);
        }
        if (asprintf (&p->dir, "%s/run/%s", ctx->cache_dir, name) < 0
            || (data == NULL && asprintf (&p->data, "%s/data", p->dir) < 0)
            || asprintf (&p->socket, "%s/socket", p->dir) < 0 || asprintf (&p->hba, "%s/pg_hba.conf", p->dir) < 0
            || asprintf (&p->state, "%s/state", p->dir) < 0
            || asprintf (&p->log, "%s/log", p->dir) < 0 || asprintf (&p->pid, "%s/pid", p->dir) < 0
            || asprintf (&p->exit, "%s/exit", p->dir) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "%s", cmd);
        return 0;
}

/* The number write_number put in path ("%ld\n"), from min to max;
 * -EINVAL when the file holds anything else, with *err unset. */
static int
read_number (const char *path, long min, long max, long *out, pgimg_error_t *err)
{
        cleanup_buf struct buf b = BUF_INIT;

        if (fs_read_file (path, 64, &b, err) < 0)
                return -1;
        if (b.len == 0 || b.data[b.len - 1] != '\n')
                return -EINVAL;
        b.data[b.len - 1] = '\0';
        return number_parse_long (b.data, min, max, out) < 0 ? -EINVAL : 0;
}

/* The pid in a pid file, when that process still runs; else 0.  A file
 * that holds anything but a pid counts as no process: "4x" is not 4. */
static pid_t
running_pid (const char *pid_path)
{
        pgimg_error_t ignored = NULL;
        long pid;

        if (read_number (pid_path, 1, INT_MAX, &pid, &ignored) < 0) {
                pgimg_error_free (&ignored);
                return 0;
        }
        if (kill ((pid_t) pid, 0) < 0 && errno == ESRCH)
                return 0;
        return (pid_t) pid;
}

static int
write_number (const char *path, long v, pgimg_error_t *err)
{
        char text[32];
        int n = snprintf (text, sizeof (text), "%ld\n", v);
        return fs_write_file_atomic (path, text, (size_t) n, 0644, err);
}

static void
block_stop_signals (sigset_t *old)
{
        sigset_t set;

        sigemptyset (&set);
        sigaddset (&set, SIGINT);
        sigaddset (&set, SIGTERM);
        sigaddset (&set, SIGHUP);
        sigaddset (&set, SIGCHLD);
        sigprocmask (SIG_BLOCK, &set, old);
}

/* Once the server is ready, its socket directory is made private again:
 * the entrypoint sets it to 03775 on every start (runtime.h). */
static int
seal_when_ready (const struct runtime_server *srv, pgimg_error_t *err)
{
        if (!runtime_probe (srv->port))
                return 0;
        if (runtime_private_dir (srv->socket_dir, err) < 0)
                return -1;
        return 1;
}

/* Wait for the server, passing SIGINT, SIGTERM and SIGHUP on to it as
 * SIGINT (fast shutdown; a second one: SIGQUIT, immediate); the signals
 * must be blocked by the caller.  When srv is not NULL, its socket
 * directory is sealed once it is ready. */
static int
supervise (struct sandbox *sb, const struct runtime_server *srv, int *exit_code, pgimg_error_t *err)
{
        sigset_t set;
        int stopping = 0, sealed = srv == NULL;

        sigemptyset (&set);
        sigaddset (&set, SIGINT);
        sigaddset (&set, SIGTERM);
        sigaddset (&set, SIGHUP);
        sigaddset (&set, SIGCHLD);
        for (;;) {
                siginfo_t si = { 0 };
                struct timespec tick = { 1, 0 };
                int sig;

                if (waitid (P_PID, (id_t) sandbox_pid (sb), &si, WEXITED | WNOHANG | WNOWAIT) < 0)
                        return pgimg_make_error_errno (err, errno, "wait for the server");
                if (si.si_pid != 0)
                        return sandbox_wait (sb, exit_code, err);
                if (!sealed && (sealed = seal_when_ready (srv, err)) < 0) {
                        pgimg_error_t ignored = NULL;
                        sandbox_kill (sb, SIGINT, &ignored);
                        pgimg_error_free (&ignored);
                        sandbox_wait (sb, exit_code, &ignored);
                        pgimg_error_free (&ignored);
                        return -1;
                }
                sig = sigtimedwait (&set, NULL, &tick);
                if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
                        pgimg_error_t ignored = NULL;
                        sandbox_kill (sb, stopping++ ? SIGQUIT : SIGINT, &ignored);
                        pgimg_error_free (&ignored);
                }
        }
}

/* The detached supervisor: its own session, output to the log, the
 * server's status in exit when it ends.  Never returns. */
static _Noreturn void
detached_child (struct runtime_server *srv, const struct run_paths *p)
{
        cleanup_sandbox struct sandbox *sb = NULL;
        pgimg_error_t err = NULL;
        int log_fd, null_fd, code = 1;
        sigset_t old;

        /* Blocked before anything else: unblocked, the stop signals run
         * pgimg's cleanup handler, which dies, and the server with it. */
        block_stop_signals (&old);
        setsid ();
        log_fd = open (p->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        null_fd = open ("/dev/null", O_RDWR | O_CLOEXEC);
        if (log_fd < 0 || null_fd < 0 || dup2 (null_fd, 0) < 0 || dup2 (log_fd, 1) < 0 || dup2 (log_fd, 2) < 0)
                _exit (1);
        srv->stdout_fd = 1;
        srv->stderr_fd = 2;
        if (write_number (p->pid, (long) getpid (), &err) < 0
            || runtime_server_start (srv, &sb, &err) < 0 || supervise (sb, NULL, &code, &err) < 0) {
                fprintf (stderr, "pgimg: %s\n", err->msg);
                pgimg_error_free (&err);
                code = 1;
        }
        write_number (p->exit, code, &err);
        pgimg_error_free (&err);
        unlink (p->pid);
        sandbox_free (sb);
        sb = NULL;
        _exit (code == 0 ? 0 : 1);
}

/* -d: fork the supervisor and wait until the server is ready. */
static int
run_detached (struct runtime_server *srv, const struct run_paths *p, const char *name, pgimg_error_t *err)
{
        struct timespec start, now, tick = { 0, 20 * 1000 * 1000 };
        pid_t child;

        unlink (p->exit);
        fflush (NULL);
        child = fork ();
        if (child < 0)
                return pgimg_make_error_errno (err, errno, "fork");
        if (child == 0)
                detached_child (srv, p);
        clock_gettime (CLOCK_MONOTONIC, &start);
        for (;;) {
                int status;
                pid_t r = waitpid (child, &status, WNOHANG);
                if (r == child) {
                        cli_print_failed_log (p->log);
                        return pgimg_make_error (err, EIO, "the server of `%s` stopped before it was ready (see %s)",
                                                 name, p->log);
                }
                if (runtime_probe (srv->port)) {
                        /* The supervisor holds the server; the entrypoint is done. */
                        if (runtime_private_dir (srv->socket_dir, err) < 0) {
                                kill (child, SIGTERM);
                                return pgimg_error_wrap (err, "socket directory of `%s`", name);
                        }
                        break;
                }
                clock_gettime (CLOCK_MONOTONIC, &now);
                if (now.tv_sec - start.tv_sec > READY_TIMEOUT_MS / 1000) {
                        kill (child, SIGTERM);
                        return pgimg_make_error (err, ETIMEDOUT, "the server of `%s` was not ready within %d s (see %s)",
                                                 name, READY_TIMEOUT_MS / 1000, p->log);
                }
                nanosleep (&tick, NULL);
        }
        progress_note ("%s is ready on 127.0.0.1:%d (pid %ld; `pgimg stop %s`)", name, srv->port,
                       (long) child, name);
        return 0;
}

static int
run_foreground (struct runtime_server *srv, pgimg_error_t *err)
{
        cleanup_sandbox struct sandbox *sb = NULL;
        sigset_t old;
        int code, r;

        srv->stdout_fd = 1;
        srv->stderr_fd = 2;
        block_stop_signals (&old);
        r = runtime_server_start (srv, &sb, err);
        if (r == 0)
                r = supervise (sb, srv, &code, err);
        sigprocmask (SIG_SETMASK, &old, NULL);
        if (r < 0)
                return -1;
        return code;
}

/* A run's default name: the image's, "postgres-18" or the file's name
 * without ".tar". */
static char *
default_name (const char *image)
{
        const char *base = strrchr (image, '/');
        size_t n;

        base = base && base[1] ? base + 1 : image;
        n = strlen (base);
        if (n > 4 && strcmp (base + n - 4, ".tar") == 0)
                n -= 4;
        return strndup (base, n);
}

static int
parse_port (const char *s, int *port)
{
        long v;

        if (number_parse_long (s, 1, 65535, &v) < 0)
                return -1;
        *port = (int) v;
        return 0;
}

static const struct option run_opts[] = {
        { "data", required_argument, NULL, 'D' },
        { "detach", no_argument, NULL, 'd' },
        { "env", required_argument, NULL, 'e' },
        { "help", no_argument, NULL, 'h' },
        { "jobs", required_argument, NULL, 'j' },
        { "name", required_argument, NULL, 'n' },
        { "port", required_argument, NULL, 'p' },
        { "set", required_argument, NULL, 'S' },
        { "with", required_argument, NULL, 'w' },
        { NULL, 0, NULL, 0 },
};

/* What `pgimg run` was asked for. */
struct run_args {
        struct cli_image_opts *io;
        char **overrides;       /* -e K=V, NULL-terminated, owned */
        size_t n_over;
        const char *spec, *name, *data;
        int detach, port, from_path;
};

static int
add_override (struct run_args *a, const char *kv, pgimg_error_t *err)
{
        char **v = realloc (a->overrides, (a->n_over + 2) * sizeof (char *));

        if (v == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "run");
        a->overrides = v;
        if ((v[a->n_over] = strdup (kv)) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "run");
        v[++a->n_over] = NULL;
        return 0;
}

/* The options and the image; optind is left at postgres's arguments.
 * 1 when --help was printed. */
static int
parse_run_args (struct pgimg_ctx *ctx, int argc, char **argv, struct run_args *a, pgimg_error_t *err)
{
        int c, r;

        /* '+': the arguments after the image are postgres's. */
        while ((c = cli_getopt (ctx, argc, argv, "+de:hj:p:", run_opts)) != -1) {
                if ((r = cli_image_option ("run", c, optarg, a->io, err)) != 0) {
                        if (r < 0)
                                return r;
                        continue;
                }
                switch (c) {
                case 'D':
                        a->data = optarg;
                        break;
                case 'd':
                        a->detach = 1;
                        break;
                case 'e':
                        if (add_override (a, optarg, err) < 0)
                                return -1;
                        break;
                case 'h':
                        help_run ();
                        return 1;
                case 'n':
                        a->name = optarg;
                        break;
                case 'p':
                        if (parse_port (optarg, &a->port) < 0)
                                return cli_usage_error (err, "run", "--port takes a port number, not `%s`", optarg);
                        break;
                default:
                        return cli_option_error (err, "run");
                }
        }
        if (optind >= argc)
                return cli_usage_error (err, "run", "expected an image to run, like postgres-18");
        a->spec = argv[optind++];
        if (optind < argc && strcmp (argv[optind], "--") == 0)
                optind++;
        a->from_path = strchr (a->spec, '/') != NULL || fs_exists (a->spec);
        if (!a->from_path && strncmp (a->spec, "postgres-", 9) != 0)
                return cli_usage_error (err, "run", "`%s` is neither postgres-MAJOR[.MINOR] nor an image file or directory",
                                        a->spec);
        return 0;
}

/* The image's root, Env and volume: built, or read from a file. */
struct run_image {
        char *rootfs;
        char **env;
        char *volume;
};

/* Start the server of img in the run's directory, with postgres's args. */
static int
start_server (struct run_args *a, const struct run_paths *paths, const char *name,
              const struct run_image *img, char **args, pgimg_error_t *err)
{
        cleanup_strv char **env = NULL;
        cleanup_buf struct buf state = BUF_INIT;
        struct runtime_state st = { a->port, img->rootfs, img->env };
        const char *auth;

        if (runtime_env_merge ((const char *const *) img->env, (const char *const *) a->overrides, &env, err) < 0)
                return -1;
        /* Not needed past the merge, and they may hold a password: gone
         * before the detached supervisor forks, which never returns. */
        strv_free (a->overrides);
        a->overrides = NULL;
        if (fs_mkdir_p (paths->dir, 0700, err) < 0
            /* Runs of older pgimg versions made it 0755. */
            || runtime_private_dir (paths->dir, err) < 0)
                return -1;
        if ((auth = runtime_host_auth_ignored ((const char *const *) env)) != NULL)
                fprintf (stderr,
                         "pgimg: warning: POSTGRES_HOST_AUTH_METHOD=%s is not used by pgimg run: only the run's "
                         "own socket (`pgimg psql %s`) needs no password; 127.0.0.1:%d always does\n",
                         auth, name, a->port);
        if (runtime_state_format (&st, &state, err) < 0
            || fs_write_file_atomic (paths->state, state.data, state.len, 0644, err) < 0)
                return -1;
        struct runtime_server srv = {
                .rootfs = img->rootfs,
                .volume = img->volume,
                .data_dir = paths->data,
                .socket_dir = paths->socket,
                .hba_file = paths->hba,
                .port = a->port,
                .env = (const char *const *) env,
                .args = (const char *const *) args,
        };
        return a->detach ? run_detached (&srv, paths, name, err) : run_foreground (&srv, err);
}

int
cmd_run (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err)
{
        cleanup_image_opts struct cli_image_opts io = CLI_IMAGE_OPTS_INIT;
        cleanup_free char *owned_name = NULL;
        struct run_args a = { .io = &io, .port = 5432 };
        struct run_image img = { NULL, NULL, NULL };
        struct run_paths paths = { 0 };
        struct pipeline_opts po;
        const char *name;
        int r;

        r = parse_run_args (ctx, argc, argv, &a, err);
        if (r == 0 && (name = a.name) == NULL && (name = owned_name = default_name (a.spec)) == NULL)
                r = pgimg_make_error_errno (err, ENOMEM, "run");
        if (r != 0) {
                strv_free (a.overrides);
                return r < 0 ? r : 0;
        }
        if (run_paths_init (ctx, "run", name, a.data, &paths, err) < 0) {
                run_paths_free (&paths);
                strv_free (a.overrides);
                return -1;
        }
        progress_set_quiet (ctx->quiet);
        fetch_set_quiet (ctx->quiet);
        cli_pipeline_opts (ctx, a.spec, &io, &po);

        if (running_pid (paths.pid) > 0)
                r = pgimg_make_error (err, EEXIST, "`%s` is running already (`pgimg stop %s`)", name, name);
        if (r == 0)
                r = a.from_path ? cli_image_from_path (ctx, a.spec, &img.rootfs, &img.env, &img.volume, NULL, err)
                                : cli_image_from_spec (ctx, &po, &img.rootfs, &img.env, &img.volume, err);
        if (r == 0)
                r = start_server (&a, &paths, name, &img, argv + optind, err);
        run_paths_free (&paths);
        strv_free (a.overrides);
        strv_free (img.env);
        free (img.rootfs);
        free (img.volume);
        if (r < 0)
                return pgimg_error_wrap (err, "run %s", name);
        /* Foreground: the server's own status (0 after a clean shutdown). */
        return r;
}

static void
help_stop (void)
{
        printf ("usage: pgimg stop NAME\n"
                "\n"
                "Shut down the detached server of `pgimg run -d --name NAME` cleanly (SIGINT:\n"
                "PostgreSQL's fast shutdown) and wait for it; exits with its status.\n"
                "\n"
                "  -t, --timeout SECONDS     wait this long, then shut it down at once (default 60)\n"
                "  -h, --help                this text\n"
                "\n"
                "Example:\n"
                "  pgimg stop postgres-18\n");
}

int
cmd_stop (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err)
{
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "timeout", required_argument, NULL, 't' },
                { NULL, 0, NULL, 0 },
        };
        struct run_paths paths = { 0 };
        struct timespec start, now, tick = { 0, 50 * 1000 * 1000 };
        long code;
        int c, timeout_s = 60, sent_quit = 0, r = 0;
        pid_t pid;

        while ((c = cli_getopt (ctx, argc, argv, "ht:", opts)) != -1) {
                switch (c) {
                case 'h':
                        help_stop ();
                        return 0;
                case 't':
                        if (cli_parse_int (err, "stop", "--timeout", optarg, 1, 86400, &timeout_s) < 0)
                                return -1;
                        break;
                default:
                        return cli_option_error (err, "stop");
                }
        }
        if (argc - optind != 1)
                return cli_usage_error (err, "stop", "expected the name of a run");
        progress_set_quiet (ctx->quiet);
        if (run_paths_init (ctx, "stop", argv[optind], NULL, &paths, err) < 0)
                goto out;
        pid = running_pid (paths.pid);
        if (pid == 0) {
                r = pgimg_make_error (err, ESRCH, "stop %s: not running", argv[optind]);
                goto out;
        }
        if (kill (pid, SIGTERM) < 0) {
                r = pgimg_make_error_errno (err, errno, "stop %s: kill %ld", argv[optind], (long) pid);
                goto out;
        }
        clock_gettime (CLOCK_MONOTONIC, &start);
        while (kill (pid, 0) == 0) {
                clock_gettime (CLOCK_MONOTONIC, &now);
                if (!sent_quit && now.tv_sec - start.tv_sec >= timeout_s) {
                        kill (pid, SIGTERM); /* the second: immediate shutdown */
                        sent_quit = 1;
                }
                nanosleep (&tick, NULL);
        }
        r = read_number (paths.exit, 0, 255, &code, err);
        if (r == -EINVAL) {
                r = pgimg_make_error (err, EINVAL, "stop %s: %s holds no exit status (a number from 0 to 255); "
                                      "the server was stopped", argv[optind], paths.exit);
                goto out;
        }
        if (r < 0) {
                r = pgimg_error_wrap (err, "stop %s: the server's status", argv[optind]);
                goto out;
        }
        r = (int) code;
        progress_note ("%s stopped (exit %d)", argv[optind], r);
out:
        run_paths_free (&paths);
        return r;
}

static void
help_psql (void)
{
        printf ("usage: pgimg psql NAME [-- PSQL-ARGS]\n"
                "\n"
                "Run the image's own psql beside the server of `pgimg run --name NAME`, as\n"
                "postgres, over its Unix socket, with the terminal attached.  Exits with\n"
                "psql's status.\n"
                "\n"
                "  -h, --help                this text\n"
                "\n"
                "Example:\n"
                "  pgimg psql postgres-18 -- -c 'select 1'\n");
}

int
cmd_psql (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err)
{
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        struct run_paths paths = { 0 };
        struct runtime_state st = { 0 };
        cleanup_buf struct buf text = BUF_INIT;
        cleanup_free const char **args = NULL;
        const char *name;
        int c, code = 0, r = 0;
        size_t n = 0;

        while ((c = cli_getopt (ctx, argc, argv, "+h", opts)) != -1) {
                switch (c) {
                case 'h':
                        help_psql ();
                        return 0;
                default:
                        return cli_option_error (err, "psql");
                }
        }
        if (optind >= argc)
                return cli_usage_error (err, "psql", "expected the name of a run");
        name = argv[optind++];
        if (optind < argc && strcmp (argv[optind], "--") == 0)
                optind++;
        if ((args = calloc ((size_t) (argc - optind) + 2, sizeof (char *))) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "psql");
        args[n++] = "psql";
        while (optind < argc)
                args[n++] = argv[optind++];
        if (run_paths_init (ctx, "psql", name, NULL, &paths, err) < 0)
                goto out;
        if (fs_read_file (paths.state, 1 << 16, &text, err) < 0) {
                r = pgimg_error_wrap (err, "psql %s: no such run (start it with `pgimg run --name %s`)", name, name);
                goto out;
        }
        if (runtime_state_parse (text.data, text.len, &st, err) < 0) {
                r = pgimg_error_wrap (err, "psql %s: %s", name, paths.state);
                goto out;
        }
        {
                struct runtime_exec x = {
                        .rootfs = st.rootfs,
                        .socket_dir = paths.socket,
                        .port = st.port,
                        .env = (const char *const *) st.env,
                        .argv = args,
                        .stdin_fd = 0,
                        .stdout_fd = 1,
                        .stderr_fd = 2,
                };
                if (runtime_exec (&x, &code, err) < 0)
                        r = pgimg_error_wrap (err, "psql %s", name);
                else
                        r = code;
        }
out:
        runtime_state_free (&st);
        run_paths_free (&paths);
        return r;
}
